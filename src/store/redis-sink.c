/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "fleet-query.h"
#include "backoff.h"
#include "log.h"
#include "outage.h"
#include "parse-util.h"
#include "redis-event.h"
#include "redis-sink.h"
#include "second-queue.h"
#include "time-util.h"

#define CONNECT_TIMEOUT_USEC (2 * USEC_PER_SEC)
/* hiredis 0.14 has no command timeout: a host that vanished without a RST would hold the pipeline for
 * TCP's retransmission timeout (~15 min). */
#define REPLY_TIMEOUT_USEC (15 * USEC_PER_SEC)
/* Text per pipeline: a bigger backlog leaves in consecutive pipelines, one round trip each. */
#define PIPELINE_MAX_BYTES ((size_t) 4 * 1024 * 1024)
#define BACKOFF_MIN_USEC (250 * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (10 * USEC_PER_SEC)
#define DEFAULT_PREFIX "cgroup_arch"
#define DEFAULT_EXPIRE_SEC 300U
/* An event waits this long at most for a pipeline to ride with (the tick's SET, once a second). */
#define EVENT_WAIT_USEC (200 * USEC_PER_MSEC)
#define EVENTS_MAX_TEXT "1000" /* REDIS_SINK_EVENTS_MAX, for the log */
/* HostKeys=yes: hosts whose heartbeat is older than this leave <prefix>/hosts, in the heartbeat's own command. */
#define HOSTS_PRUNE_AGE_SEC 86400U

/* HostKeys=yes: the heartbeat, one command: ZADD GT (done by hand: it runs before 6.2 too) and the prune of the
 * hosts silent for a day, each tick (ZREMRANGEBYSCORE that finds nothing is O(log N)). KEYS[1] <prefix>/hosts,
 * ARGV newest second, node, "(" oldest second kept. Answers the hosts pruned. */
static const char heartbeat_script[] =
        "local s = redis.call('ZSCORE', KEYS[1], ARGV[2])\n"
        "if not s or tonumber(s) < tonumber(ARGV[1]) then redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) end\n"
        "return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])\n";

/* How the heartbeat goes: the script; when Redis refuses scripts (an ACL, a proxy), ZADD GT without the prune;
 * when it refuses GT too (before 6.2), a plain ZADD. Each first "ERR"/"NOPERM" answer moves down, for good. */
typedef enum HeartbeatMode {
        HEARTBEAT_SCRIPT,
        HEARTBEAT_ZADD_GT,
        HEARTBEAT_ZADD,
} HeartbeatMode;

/* One event's JSON, copied: sent by XADD, oldest first. */
typedef struct QueuedEvent {
        char *text;
        size_t size;
} QueuedEvent;

struct RedisSink {
        sd_event *event;
        char *address;         /* as configured: status and logs */
        char *host;            /* TCP host, or the unix socket path when port == 0 */
        int port;
        char *prefix;
        char *key;             /* "<prefix>/account/" with room for a number, reused per SET */
        size_t key_prefix_len;
        /* HostKeys=yes: the node, "<prefix>/hosts", how the heartbeat goes. NULL node: HostKeys=no, no
         * heartbeat. */
        char *node, *hosts_key;
        HeartbeatMode hb_mode;
        size_t n_hb_flight;    /* heartbeat commands of the pipeline in flight (one) */
        size_t n_exp_flight;   /* EXPIREs of the pipeline in flight (HostKeys=yes: one per second) */
        uint64_t heartbeats, heartbeat_errors, hosts_pruned;
        FleetSplit split;      /* HostKeys=yes: the second being sent, cut per top-level group */
        uint64_t split_seconds, whole_seconds; /* sent with per-group fields, with only the whole record */
        /* Commands (SET or HSET and EXPIRE, the heartbeat; XADDs apart) per pipeline: the most in one that
         * carried one second (a tick), the most in any (a backlog), and the totals since start. */
        size_t tick_commands_max, pipeline_commands_max;
        uint64_t pipelines, commands;
        unsigned expire_sec;
        size_t backlog_max;

        /* The live context. Callbacks of any other context (one we are freeing) are stale and ignored. */
        redisAsyncContext *ac;
        bool connected;
        bool reset_requested;  /* a reply callback wants the context dropped: done by the defer source */
        bool pipeline_clean;   /* no error reply in the pipeline in flight so far */
        Backoff backoff;       /* attempt: failures since the last clean pipeline */
        uint64_t n_connects;

        SecondQueue queue;     /* handed over, not sent yet, oldest first (backlog_max at most) */
        QueuedSecond *flight;  /* the pipeline in flight (backlog_max at most), oldest first; [0, n_answered)
                                * are answered */
        size_t n_flight, n_answered;
        size_t flight_bytes;   /* its text (in hiredis's output buffer until written), until answered */
        usec_t flight_sent_usec;
        Buf text;              /* one unsent second rendered, until hiredis copies it; freed once all are */
        bool rendering;        /* render was called since the last render_done */

        sd_event_source *timer; /* by state: reconnect backoff, connect timeout, reply timeout */
        sd_event_source *defer; /* sends pipelines and frees contexts, outside hiredis callbacks */

        uint64_t dropped, written, errors, reconnects;

        /* Events not yet answered, oldest first, in a ring of REDIS_SINK_EVENTS_MAX: the first n_ev_flight
         * are in the pipeline in flight (each leaves the ring when answered), the others wait. */
        char *events_key;      /* "<prefix>/events" */
        QueuedEvent *events;
        size_t ev_start, ev_len, n_ev_flight, ev_bytes;
        uint64_t ev_written, ev_dropped, ev_errors;
        sd_event_source *event_timer; /* an event waits for the tick's pipeline at most EVENT_WAIT_USEC */
        bool logged_ev_drop;
        /* Up once a pipeline is answered without an error; down from a failed connect, a lost connection, a
         * timeout or a refused SET until then. */
        Outage outage;
        char *name;            /* "Redis at ADDRESS", for the journal */
        RedisSinkNotify on_change;
        RedisSinkRender render;
        RedisSinkRenderDone render_done;
        void *userdata;
        bool logged_drop;
};

/* ---- the backlog ---- */

static void note_dropped(RedisSink *s, size_t n, bool by_age) {
        if (n == 0)
                return;
        s->dropped += n;
        if (s->logged_drop)
                return;
        s->logged_drop = true;
        if (by_age)
                log_warning("Redis at %s: records waited %u s (ExpireSec) and would have expired; dropping them.",
                            s->address, s->expire_sec);
        else
                log_warning("Redis at %s: backlog full (%zu records); dropping the oldest until Redis takes them "
                            "again.", s->address, s->backlog_max);
}

static void queue_drop_expired(RedisSink *s, usec_t now) {
        note_dropped(s, second_queue_drop_aged(&s->queue, now, (usec_t) s->expire_sec * USEC_PER_SEC),
                     /* by_age= */ true);
}

/* Nothing is being rendered now (the backlog is sent, or waits for Redis): the buffer and the owner's reading
 * state go, so that the memory a flush took comes back. */
static void render_release(RedisSink *s) {
        buf_done(&s->text);
        if (!s->rendering)
                return;
        s->rendering = false;
        if (s->render_done)
                s->render_done(s, s->userdata);
        /* glibc raises its mmap threshold to the size of each large block freed (hiredis's output buffer of
         * a ~4 MiB pipeline), so the next ones come from the heap and stay there once freed (3.6 MiB after a
         * 300 s backlog at 1000 groups in bench/redis-outage.py): hand the free pages back, once per backlog
         * sent. */
        (void) malloc_trim(0);
}

/* The unanswered part of the pipeline goes back in front of the queue (SET is idempotent); when the queue
 * has no room for all of it, the oldest seconds are the ones dropped. */
static void flight_requeue(RedisSink *s) {
        for (size_t i = s->n_flight; i > s->n_answered; i--)
                if (second_queue_push_front(&s->queue, s->flight[i - 1]) > 0)
                        note_dropped(s, 1, /* by_age= */ false);
        s->n_flight = s->n_answered = 0;
        s->flight_bytes = 0;
        /* the next pipeline carries a heartbeat with its own newest second */
        s->n_hb_flight = 0;
        s->n_exp_flight = 0;
        /* XADD is not idempotent: an event Redis took but did not answer before the connection went is sent
         * again (at least once, never lost while kept). */
        s->n_ev_flight = 0;
        /* Rendering resumes (from the window) only once Redis is back. */
        render_release(s);
}

/* ---- the events ---- */

static QueuedEvent *event_at(RedisSink *s, size_t i) {
        return &s->events[(s->ev_start + i) % REDIS_SINK_EVENTS_MAX];
}

static void event_pop_front(RedisSink *s) {
        QueuedEvent *e = event_at(s, 0);

        assert(s->ev_len > 0);
        s->ev_bytes -= e->size;
        free(e->text);
        *e = (QueuedEvent) { 0 };
        s->ev_start = (s->ev_start + 1) % REDIS_SINK_EVENTS_MAX;
        s->ev_len--;
}

/* The queue is full: the oldest waiting event goes (the ones in flight wait for their answer). */
static bool event_drop_oldest_waiting(RedisSink *s) {
        QueuedEvent gone;

        if (s->n_ev_flight >= s->ev_len)
                return false;
        gone = *event_at(s, s->n_ev_flight);
        /* the in-flight prefix moves up by one, into the hole */
        for (size_t i = s->n_ev_flight; i > 0; i--)
                *event_at(s, i) = *event_at(s, i - 1);
        *event_at(s, 0) = (QueuedEvent) { 0 };
        s->ev_start = (s->ev_start + 1) % REDIS_SINK_EVENTS_MAX;
        s->ev_len--;
        s->ev_bytes -= gone.size;
        free(gone.text);
        return true;
}

static void note_event_dropped(RedisSink *s, const char *why) {
        s->ev_dropped++;
        if (s->logged_ev_drop)
                return;
        s->logged_ev_drop = true;
        log_warning("Redis at %s: %s; events are dropped (counted in status) until Redis takes them again.",
                    s->address, why);
}

static void events_done(RedisSink *s) {
        while (s->ev_len > 0)
                event_pop_front(s);
        free(s->events);
        s->events = NULL;
}

/* ---- state, logging, timers ---- */

#define RETRYING "reconnecting with backoff, records kept in RAM"

/* The journal line and the owner's callback for a change of the outage state: one line on the way in, one on
 * the way out, whatever the number of attempts in between. */
static void sink_outage_changed(RedisSink *s, OutageChange change, const char *then) {
        char msg[600];

        if (change == OUTAGE_UNCHANGED)
                return;
        outage_message(&s->outage, change, s->name, then, msg, sizeof(msg));
        log_internal(outage_log_level(change), 0, NULL, "%s", msg);
        if (s->on_change)
                s->on_change(s, s->userdata);
}

/* A failure: Redis is down (or stays down) for this cause. */
_printf_(3, 4) static void sink_error(RedisSink *s, const char *then, const char *format, ...) {
        char cause[OUTAGE_CAUSE_MAX];
        va_list ap;

        va_start(ap, format);
        vsnprintf(cause, sizeof(cause), format, ap);
        va_end(ap);
        sink_outage_changed(s, outage_down(&s->outage, now_usec(CLOCK_REALTIME), cause), then);
}

static usec_t sink_now(RedisSink *s) {
        uint64_t now;

        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
                now = now_usec(CLOCK_MONOTONIC);
        return now;
}

static void timer_arm(RedisSink *s, usec_t delay) {
        (void) sd_event_source_set_time(s->timer, sink_now(s) + delay);
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static void timer_disarm(RedisSink *s) {
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
}

static void sink_kick(RedisSink *s) {
        (void) sd_event_source_set_enabled(s->defer, SD_EVENT_ONESHOT);
}

static void sink_schedule_reconnect(RedisSink *s) {
        usec_t delay = backoff_next_usec(&s->backoff);

        log_debug("Redis: reconnecting to %s in %" PRIu64 " ms.", s->address, delay / USEC_PER_MSEC);
        timer_arm(s, delay);
}

/* Drops the live context ourselves. Never from inside a hiredis callback: from the timer, the defer
 * source, or redis_sink_free(). */
static void sink_disconnect(RedisSink *s) {
        redisAsyncContext *ac = TAKE_PTR(s->ac);

        s->connected = false;
        s->reset_requested = false;
        timer_disarm(s);
        /* Runs the pending reply callbacks with NULL, then the disconnect callback: all see a stale context. */
        if (ac)
                redisAsyncFree(ac);
        flight_requeue(s);
}

/* hiredis is freeing the live context itself (connection failed or lost); inside its callbacks. */
static void sink_context_gone(RedisSink *s, const char *why) {
        s->ac = NULL;
        s->connected = false;
        s->reset_requested = false;
        flight_requeue(s);
        sink_error(s, RETRYING, "connection lost: %s", why);
        sink_schedule_reconnect(s);
}

/* ---- hiredis callbacks ---- */

static void on_connect(const redisAsyncContext *ac, int status) {
        RedisSink *s = ac->data;

        if (!s || ac != s->ac)
                return;
        if (status != REDIS_OK) {
                /* hiredis frees the context when we return. */
                s->ac = NULL;
                s->connected = false;
                sink_error(s, RETRYING, "cannot connect: %s", redis_event_error(ac));
                sink_schedule_reconnect(s);
                return;
        }
        s->connected = true;
        timer_disarm(s);
        log_debug("Redis: connected to %s, %zu seconds unsent.", s->address, s->queue.len);
        sink_kick(s);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
        RedisSink *s = ac->data;

        if (!s || ac != s->ac)
                return;
        sink_context_gone(s, status == REDIS_OK ? "closed" : redis_event_error(ac));
}

static bool flight_pending(const RedisSink *s) {
        return s->n_answered < s->n_flight || s->n_ev_flight > 0 || s->n_hb_flight > 0 || s->n_exp_flight > 0;
}

static void pipeline_done(RedisSink *s) {
        usec_t now = sink_now(s);
        size_t n = s->n_flight;

        log_debug("Redis: pipeline of %zu SETs and its events answered in %" PRIu64 " µs.", n,
                  now - MIN(now, s->flight_sent_usec));
        s->n_flight = s->n_answered = 0;
        s->flight_bytes = 0;
        timer_disarm(s);
        if (!s->pipeline_clean) {
                /* A new connection may help (a failover made this one a replica, OOM, LOADING); the
                 * backoff keeps a refusing server from being hammered. */
                s->reset_requested = true;
                sink_kick(s);
                return;
        }
        backoff_reset(&s->backoff);
        s->logged_drop = s->logged_ev_drop = false;
        sink_outage_changed(s, outage_up(&s->outage, now_usec(CLOCK_REALTIME)), NULL);
        /* events that came meanwhile leave now: they waited for this answer already */
        if (s->queue.len > 0 || s->ev_len > 0)
                sink_kick(s);
        else
                /* hiredis freed the pipeline's output buffer once written: all of it comes back now. */
                render_release(s);
}

/* A reply of the live context, or NULL: one of a stale context (ignored), or none because hiredis is failing
 * the context (every pending reply gets NULL, then it is freed). */
static redisReply *reply_of_live(RedisSink *s, redisAsyncContext *ac, void *r) {
        if (ac != s->ac)
                return NULL;
        if (!r)
                sink_context_gone(s, redis_event_error(ac));
        return r;
}

/* How much of an error reply's text to log: at most 200 bytes, without the trailing dots. */
static int reply_error_len(const redisReply *reply) {
        size_t n = reply->str ? MIN(reply->len, (size_t) 200) : 0;

        while (n > 0 && reply->str[n - 1] == '.')
                n--;
        return (int) n;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata) {
        RedisSink *s = privdata;
        redisReply *reply = reply_of_live(s, ac, r);

        if (!reply)
                return;
        if (s->n_answered >= s->n_flight)
                return; /* one callback per SET sent: cannot happen */
        s->n_answered++;
        if (reply->type == REDIS_REPLY_ERROR) {
                int n = reply_error_len(reply);

                s->errors++;
                s->pipeline_clean = false;
                sink_error(s, "record dropped, reconnecting", "SET refused: %.*s", n,
                           reply->str ? reply->str : "");
        } else
                s->written++;
        if (!flight_pending(s))
                pipeline_done(s);
}

/* HostKeys=yes: EXPIRE's answer (1, or 0 when the key is gone already: expired meanwhile). */
static void on_expire_reply(redisAsyncContext *ac, void *r, void *privdata) {
        RedisSink *s = privdata;
        redisReply *reply = reply_of_live(s, ac, r);

        if (!reply)
                return;
        if (s->n_exp_flight == 0)
                return; /* one callback per command sent: cannot happen */
        s->n_exp_flight--;
        if (reply->type == REDIS_REPLY_ERROR) {
                int n = reply_error_len(reply);

                s->pipeline_clean = false;
                sink_error(s, "reconnecting", "EXPIRE refused: %.*s", n, reply->str ? reply->str : "");
        }
        if (!flight_pending(s))
                pipeline_done(s);
}

/* The heartbeat's answer: the script's (the hosts pruned) or ZADD's (an integer). */
static void on_heartbeat_reply(redisAsyncContext *ac, void *r, void *privdata) {
        RedisSink *s = privdata;
        redisReply *reply = reply_of_live(s, ac, r);

        if (!reply)
                return;
        if (s->n_hb_flight == 0)
                return; /* one callback per command sent: cannot happen */
        s->n_hb_flight--;
        if (reply->type == REDIS_REPLY_ERROR) {
                int n = reply_error_len(reply);

                s->heartbeat_errors++;
                if (s->hb_mode != HEARTBEAT_ZADD && n >= 3 &&
                    (strncmp(reply->str, "ERR", 3) == 0 || (n >= 6 && strncmp(reply->str, "NOPERM", 6) == 0))) {
                        if (s->hb_mode == HEARTBEAT_SCRIPT)
                                /* no scripts here: ZADD GT from the next tick on, and no prune */
                                log_warning("Redis at %s does not run the heartbeat's script (%.*s): the heartbeat "
                                            "in %s is set with ZADD GT, and hosts silent for a day are not removed "
                                            "from it.", s->address, n, reply->str, s->hosts_key);
                        else
                                /* Before 6.2 ZADD has no GT: a plain ZADD from the next tick on (the seconds go
                                 * oldest first, so only a clock stepped back moves the heartbeat back). */
                                log_warning("Redis at %s does not take ZADD GT (%.*s): the heartbeat in %s is set "
                                            "with a plain ZADD.", s->address, n, reply->str, s->hosts_key);
                        s->hb_mode++;
                } else {
                        s->pipeline_clean = false;
                        sink_error(s, "reconnecting", "heartbeat refused: %.*s", n,
                                   reply->str ? reply->str : "");
                }
        } else if (reply->type == REDIS_REPLY_INTEGER) {
                s->heartbeats++;
                if (s->hb_mode == HEARTBEAT_SCRIPT && reply->integer > 0) {
                        s->hosts_pruned += (uint64_t) reply->integer;
                        log_info("Redis: %lld hosts silent for more than %u s left %s.", reply->integer,
                                 HOSTS_PRUNE_AGE_SEC, s->hosts_key);
                }
        }
        if (!flight_pending(s))
                pipeline_done(s);
}

static void on_event_reply(redisAsyncContext *ac, void *r, void *privdata) {
        RedisSink *s = privdata;
        redisReply *reply = reply_of_live(s, ac, r);

        if (!reply)
                return;
        if (s->n_ev_flight == 0)
                return; /* one callback per XADD sent: cannot happen */
        /* answered: it leaves the queue, taken or refused (a refusal would repeat: the key is not a stream) */
        event_pop_front(s);
        s->n_ev_flight--;
        if (reply->type == REDIS_REPLY_ERROR) {
                int n = reply_error_len(reply);

                s->ev_errors++;
                s->ev_dropped++;
                s->pipeline_clean = false;
                sink_error(s, "event dropped, reconnecting", "XADD refused: %.*s", n,
                           reply->str ? reply->str : "");
        } else
                s->ev_written++;
        if (!flight_pending(s))
                pipeline_done(s);
}

/* ---- sending ---- */

/* HostKeys=yes: `HSET <key> * <record> /groups <n or *> <group> <cut>...` and `EXPIRE <key> <ex>`: the record
 * whole and cut per top-level group (fleet_record_split(), one pass), so that a fleet query for a group reads
 * that group's part only. */
static int sink_send_hash(RedisSink *s, const char *json, size_t size, size_t key_len, const char *ex,
                          size_t ex_len) {
        const char *argv[6 + 2 * FLEET_SPLIT_GROUPS_MAX];
        size_t argvlen[6 + 2 * FLEET_SPLIT_GROUPS_MAX];
        char groups[8];
        int argc = 0, r;

        r = fleet_record_split(json ? json : "", size, &s->split);
        if (r > 0) {
                snprintf(groups, sizeof(groups), "%zu", s->split.n_groups);
                s->split_seconds++;
        } else {
                /* more groups than FLEET_SPLIT_GROUPS_MAX, or not a record we can cut: readers cut it */
                s->split.n_groups = 0;
                snprintf(groups, sizeof(groups), "%s", FLEET_FIELD_WHOLE);
                s->whole_seconds++;
        }
#define ARG(p, n) (argv[argc] = (p), argvlen[argc++] = (n))
        ARG("HSET", 4);
        ARG(s->key, key_len);
        ARG(FLEET_FIELD_WHOLE, strlen(FLEET_FIELD_WHOLE));
        ARG(json ? json : "", size);
        ARG(FLEET_FIELD_GROUPS, strlen(FLEET_FIELD_GROUPS));
        ARG(groups, strlen(groups));
        for (size_t i = 0; i < s->split.n_groups; i++) {
                const FleetSplitGroup *g = &s->split.groups[i];

                ARG((const char *) s->split.text.data + g->name, g->name_len);
                ARG((const char *) s->split.text.data + g->cut, g->cut_len);
        }
#undef ARG
        if (redisAsyncCommandArgv(s->ac, on_reply, s, argc, argv, argvlen) != REDIS_OK)
                return -EIO;

        const char *exp[] = { "EXPIRE", s->key, ex };
        const size_t exp_len[] = { 6, key_len, ex_len };

        if (redisAsyncCommandArgv(s->ac, on_expire_reply, s, (int) ELEMENTSOF(exp), exp, exp_len) != REDIS_OK)
                return -EIO;
        s->n_exp_flight++;
        return 0;
}

static int sink_send(RedisSink *s, const QueuedSecond *q, const char *json, size_t size, usec_t now) {
        char ex[24];
        unsigned waited_sec = (unsigned) ((now - MIN(now, q->queued_usec)) / USEC_PER_SEC);
        int key_len, ex_len;

        key_len = snprintf(s->key + s->key_prefix_len, 24, "%" PRIu64, q->unix_sec);
        /* Older ones were dropped, so at least 1 s remains. */
        ex_len = snprintf(ex, sizeof(ex), "%u", s->expire_sec - MIN(waited_sec, s->expire_sec - 1));
        if (key_len < 0 || ex_len < 0)
                return -EINVAL;
        if (s->node)
                return sink_send_hash(s, json, size, s->key_prefix_len + (size_t) key_len, ex, (size_t) ex_len);

        const char *argv[] = { "SET", s->key, json ? json : "", "EX", ex };
        const size_t argvlen[] = { 3, s->key_prefix_len + (size_t) key_len, size, 2, (size_t) ex_len };

        /* Appends to the output buffer only: all of a pipeline leaves in the next writes. */
        if (redisAsyncCommandArgv(s->ac, on_reply, s, (int) ELEMENTSOF(argv), argv, argvlen) != REDIS_OK)
                return -EIO;
        return 0;
}

static bool sink_can_send(const RedisSink *s) {
        return s->ac && s->connected && !s->reset_requested && s->n_flight == 0 && s->n_ev_flight == 0 &&
               s->n_hb_flight == 0 && s->n_exp_flight == 0;
}

static void pipeline_begin(RedisSink *s) {
        s->n_flight = s->n_answered = 0;
        s->flight_bytes = 0;
        s->pipeline_clean = true;
        /* Not the loop iteration's time: in the sampler's callback, that is before the sweep. */
        s->flight_sent_usec = now_usec(CLOCK_MONOTONIC);
}

/* One SET more in the pipeline. On failure the connection is dropped (the pipeline goes back to the
 * queue, this second included) and a reconnect scheduled. */
static int pipeline_add(RedisSink *s, const QueuedSecond *q, const char *json, size_t size, usec_t now) {
        assert(s->n_flight < s->backlog_max);

        s->flight[s->n_flight++] = *q;
        if (sink_send(s, q, json, size, now) < 0) {
                sink_error(s, RETRYING, "cannot queue a command: %s", redis_event_error(s->ac));
                sink_disconnect(s);
                sink_schedule_reconnect(s);
                return -EIO;
        }
        s->flight_bytes += size;
        return 0;
}

/* The waiting events join the pipeline, all of them (at most REDIS_SINK_EVENTS_MAX of EVENT_TEXT_MAX-sized
 * texts): `XADD <prefix>/events MAXLEN ~ N * event <json>`. On failure as pipeline_add(). */
static int pipeline_add_events(RedisSink *s) {
        char maxlen[24];
        int maxlen_len = snprintf(maxlen, sizeof(maxlen), "%u", REDIS_SINK_EVENTS_STREAM_MAX);

        (void) sd_event_source_set_enabled(s->event_timer, SD_EVENT_OFF);
        while (s->n_ev_flight < s->ev_len) {
                const QueuedEvent *e = event_at(s, s->n_ev_flight);
                const char *argv[] = { "XADD", s->events_key, "MAXLEN", "~", maxlen, "*", "event", e->text };
                const size_t argvlen[] = { 4, strlen(s->events_key), 6, 1, (size_t) maxlen_len, 1, 5, e->size };

                if (redisAsyncCommandArgv(s->ac, on_event_reply, s, (int) ELEMENTSOF(argv), argv, argvlen) !=
                    REDIS_OK) {
                        sink_error(s, RETRYING, "cannot queue a command: %s", redis_event_error(s->ac));
                        sink_disconnect(s);
                        sink_schedule_reconnect(s);
                        return -EIO;
                }
                s->n_ev_flight++;
        }
        return 0;
}

/* HostKeys=yes: after the pipeline's seconds, one heartbeat command whatever their number, with the newest
 * second: `EVAL heartbeat_script 1 <prefix>/hosts <newest> <node> (<newest - a day>` (ZADD GT and the prune),
 * or as hb_mode fell back `ZADD <prefix>/hosts [GT] <newest> <node>`. On failure as pipeline_add(). */
static int pipeline_add_heartbeat(RedisSink *s) {
        char score[24], oldest[24];
        uint64_t newest = 0;
        int score_len, oldest_len, r;

        if (!s->node || s->n_flight == 0)
                return 0;
        for (size_t i = 0; i < s->n_flight; i++)
                newest = MAX(newest, s->flight[i].unix_sec);
        score_len = snprintf(score, sizeof(score), "%" PRIu64, newest);
        oldest_len = snprintf(oldest, sizeof(oldest), "(%" PRIu64, newest - MIN(newest, HOSTS_PRUNE_AGE_SEC));

        const char *eval[] = { "EVAL", heartbeat_script, "1", s->hosts_key, score, s->node, oldest };
        const size_t eval_len[] = { 4, strlen(heartbeat_script), 1, strlen(s->hosts_key), (size_t) score_len,
                                    strlen(s->node), (size_t) oldest_len };
        const char *zadd[] = { "ZADD", s->hosts_key, "GT", score, s->node };
        const size_t zadd_len[] = { 4, strlen(s->hosts_key), 2, (size_t) score_len, strlen(s->node) };
        const char *zadd_plain[] = { "ZADD", s->hosts_key, score, s->node };
        const size_t zadd_plain_len[] = { 4, strlen(s->hosts_key), (size_t) score_len, strlen(s->node) };

        switch (s->hb_mode) {
        case HEARTBEAT_SCRIPT:
                r = redisAsyncCommandArgv(s->ac, on_heartbeat_reply, s, (int) ELEMENTSOF(eval), eval, eval_len);
                break;
        case HEARTBEAT_ZADD_GT:
                r = redisAsyncCommandArgv(s->ac, on_heartbeat_reply, s, (int) ELEMENTSOF(zadd), zadd, zadd_len);
                break;
        default:
                r = redisAsyncCommandArgv(s->ac, on_heartbeat_reply, s, (int) ELEMENTSOF(zadd_plain), zadd_plain,
                                          zadd_plain_len);
        }
        if (r != REDIS_OK) {
                sink_error(s, RETRYING, "cannot queue a command: %s", redis_event_error(s->ac));
                sink_disconnect(s);
                sink_schedule_reconnect(s);
                return -EIO;
        }
        s->n_hb_flight++;
        return 0;
}

static void pipeline_sent(RedisSink *s) {
        size_t n_commands = s->n_flight + s->n_exp_flight + s->n_hb_flight;

        if (!flight_pending(s))
                return;
        s->pipelines++;
        s->commands += n_commands;
        s->pipeline_commands_max = MAX(s->pipeline_commands_max, n_commands);
        if (s->n_flight == 1)
                s->tick_commands_max = MAX(s->tick_commands_max, n_commands);
        log_debug("Redis: sent a pipeline of %zu SETs (%zu bytes), %zu heartbeat commands and %zu events to %s "
                  "(made in %" PRIu64 " µs).",
                  s->n_flight, s->flight_bytes, s->n_hb_flight, s->n_ev_flight, s->address,
                  now_usec(CLOCK_MONOTONIC) - s->flight_sent_usec);
        timer_arm(s, REPLY_TIMEOUT_USEC);
}

/* The unsent seconds, oldest first, rendered one at a time into the same buffer: hiredis copies each. */
static void sink_flush(RedisSink *s) {
        usec_t now = sink_now(s);
        QueuedSecond q;
        int r;

        if (!sink_can_send(s))
                return;
        queue_drop_expired(s, now);
        if (s->queue.len == 0)
                render_release(s);
        if (s->queue.len == 0 && s->ev_len == 0)
                return;

        /* Bounded per pipeline: hiredis 0.14 grows its output buffer 1 MiB per realloc (quadratic copying
         * for big pipelines) and formats everything here, inside one loop iteration. */
        pipeline_begin(s);
        while (s->flight_bytes < PIPELINE_MAX_BYTES && second_queue_pop_front(&s->queue, &q)) {
                s->text.size = 0;
                s->rendering = true;
                r = s->render(s, q.unix_sec, &s->text, s->userdata);
                if (r >= 0 && s->text.size > REDIS_SINK_RECORD_MAX_BYTES)
                        r = -EFBIG;
                if (r < 0) {
                        /* -ENOENT: it left the window, as old as one that would have expired. */
                        if (r != -ENOENT)
                                log_debug_errno(r, "Redis: cannot render the record of %" PRIu64 ": %m",
                                                q.unix_sec);
                        note_dropped(s, 1, /* by_age= */ true);
                        continue;
                }
                if (pipeline_add(s, &q, (const char *) s->text.data, s->text.size, now) < 0)
                        return;
        }
        if (pipeline_add_heartbeat(s) < 0 || pipeline_add_events(s) < 0)
                return;
        pipeline_sent(s);
}

static void sink_connect(RedisSink *s) {
        redisAsyncContext *ac;
        char error[256];
        int r;

        if (s->n_connects++ > 0)
                s->reconnects++;
        r = redis_event_connect(s->event, s->host, s->port, s, on_connect, on_disconnect, &ac, error, sizeof(error));
        if (r < 0) {
                /* a unix socket connect() fails at once; TCP fails here on resolution or no route */
                if (r == -ECONNREFUSED)
                        sink_error(s, RETRYING, "cannot connect: %s", error);
                else
                        sink_error(s, RETRYING, "cannot watch the connection: %s", STRERROR(r));
                sink_schedule_reconnect(s);
                return;
        }
        s->ac = ac;
        s->connected = false;
        timer_arm(s, CONNECT_TIMEOUT_USEC);
}

/* ---- sd-event callbacks ---- */

static int on_timer(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        RedisSink *s = userdata;

        if (!s->ac)
                sink_connect(s);
        else if (!s->connected) {
                sink_error(s, RETRYING, "no connection within %" PRIu64 " s",
                           CONNECT_TIMEOUT_USEC / USEC_PER_SEC);
                sink_disconnect(s);
                sink_schedule_reconnect(s);
        } else if (flight_pending(s)) {
                sink_error(s, RETRYING, "no answer to %zu SETs and %zu events within %" PRIu64 " s",
                           s->n_flight - s->n_answered, s->n_ev_flight, REPLY_TIMEOUT_USEC / USEC_PER_SEC);
                sink_disconnect(s);
                sink_schedule_reconnect(s);
        }
        return 0;
}

/* Events waited EVENT_WAIT_USEC and no tick came to take them: they leave alone. */
static int on_event_timer(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        RedisSink *s = userdata;

        sink_flush(s);
        return 0;
}

static int on_defer(sd_event_source *es _unused_, void *userdata) {
        RedisSink *s = userdata;

        if (s->reset_requested) {
                sink_disconnect(s);
                sink_schedule_reconnect(s);
                return 0;
        }
        sink_flush(s);
        return 0;
}

/* ---- lifecycle ---- */

/* "host:port", "[v6]:port" or "/path" (address_parse): hiredis resolves a name when it connects. */
static int parse_address(const char *address, char **ret_host, int *ret_port) {
        Address a;
        char *host;
        int r;

        r = address_parse(address, ADDRESS_ALLOW_UNIX, &a, /* error= */ NULL, 0);
        if (r < 0)
                return r;
        host = strdup(a.host);
        if (!host)
                return -ENOMEM;
        *ret_host = host;
        *ret_port = a.port;
        return 0;
}

bool redis_node_is_valid(const char *node) {
        size_t n = node ? strlen(node) : 0;

        if (n < 1 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", node[i]))
                        return false;
        return true;
}

int redis_account_key_prefix(const char *prefix, const char *node, char **ret, size_t room) {
        char *key;
        size_t size;

        if (!ret || (node && !redis_node_is_valid(node)))
                return -EINVAL;
        if (!prefix)
                prefix = DEFAULT_PREFIX;
        size = strlen(prefix) + (node ? strlen("/host/") + strlen(node) : 0) + strlen("/account/") + 1 + room;
        key = malloc(size);
        if (!key)
                return -ENOMEM;
        if (node)
                snprintf(key, size, "%s/host/%s/account/", prefix, node);
        else
                snprintf(key, size, "%s/account/", prefix);
        *ret = key;
        return 0;
}

int redis_sink_new(sd_event *event, const RedisSinkConfig *c, RedisSink **ret) {
        _cleanup_(redis_sink_freep) RedisSink *s = NULL;
        int r;

        if (!event || !c || !c->render || !ret)
                return -EINVAL;
        s = calloc(1, sizeof(RedisSink));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        outage_init(&s->outage);
        backoff_init(&s->backoff, BACKOFF_MIN_USEC, BACKOFF_MAX_USEC);
        s->on_change = c->on_change;
        s->render = c->render;
        s->render_done = c->render_done;
        s->userdata = c->userdata;
        s->expire_sec = c->expire_sec > 0 ? c->expire_sec : DEFAULT_EXPIRE_SEC;
        s->backlog_max = c->backlog_max > 0 ? c->backlog_max : s->expire_sec;

        r = parse_address(c->address, &s->host, &s->port);
        if (r < 0)
                return r;
        s->address = strdup(c->address);
        s->prefix = strdup(c->prefix ? c->prefix : DEFAULT_PREFIX);
        if (!s->address || !s->prefix || asprintf(&s->name, "Redis at %s", c->address) < 0)
                return -ENOMEM;
        if (c->node) {
                if (!redis_node_is_valid(c->node))
                        return -EINVAL;
                s->node = strdup(c->node);
                if (!s->node || asprintf(&s->hosts_key, "%s/hosts", s->prefix) < 0)
                        return -ENOMEM;
                s->hb_mode = HEARTBEAT_SCRIPT;
        }
        r = redis_account_key_prefix(s->prefix, s->node, &s->key, 24);
        if (r < 0)
                return r;
        s->key_prefix_len = strlen(s->key);
        s->flight = calloc(s->backlog_max, sizeof(QueuedSecond));
        s->events = calloc(REDIS_SINK_EVENTS_MAX, sizeof(QueuedEvent));
        if (!s->flight || !s->events || second_queue_init(&s->queue, s->backlog_max) < 0 ||
            asprintf(&s->events_key, "%s/events", s->prefix) < 0)
                return -ENOMEM;

        r = sd_event_add_time(event, &s->timer, CLOCK_MONOTONIC, 0, 10 * USEC_PER_MSEC, on_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->timer, "redis-timer");
        r = sd_event_add_defer(event, &s->defer, on_defer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->defer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->defer, "redis-defer");
        r = sd_event_add_time(event, &s->event_timer, CLOCK_MONOTONIC, 0, 10 * USEC_PER_MSEC, on_event_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->event_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->event_timer, "redis-event-wait");

        sink_connect(s);
        *ret = TAKE_PTR(s);
        return 0;
}

RedisSink *redis_sink_free(RedisSink *s) {
        if (!s)
                return NULL;
        if (s->ac)
                /* The pending reply callbacks run with NULL and see a stale context. */
                redisAsyncFree(TAKE_PTR(s->ac));
        s->timer = sd_event_source_disable_unref(s->timer);
        s->defer = sd_event_source_disable_unref(s->defer);
        s->event_timer = sd_event_source_disable_unref(s->event_timer);
        second_queue_done(&s->queue);
        if (s->events)
                events_done(s);
        free(s->events_key);
        free(s->flight);
        buf_done(&s->text);
        sd_event_unref(s->event);
        free(s->address);
        free(s->host);
        free(s->prefix);
        free(s->key);
        free(s->node);
        free(s->hosts_key);
        fleet_split_done(&s->split);
        free(s->name);
        free(s);
        return NULL;
}

int redis_sink_push(RedisSink *s, uint64_t unix_sec, const char *json, size_t size) {
        QueuedSecond q;

        if (!s || (!json && size > 0))
                return -EINVAL;
        if (size > REDIS_SINK_RECORD_MAX_BYTES)
                return -EFBIG;
        q = (QueuedSecond) { .unix_sec = unix_sec, .queued_usec = sink_now(s) };

        queue_drop_expired(s, q.queued_usec);
        if (sink_can_send(s) && s->queue.len == 0) {
                /* The usual case: the caller's text, sent as it is, and the events that came since. */
                pipeline_begin(s);
                if (pipeline_add(s, &q, json, size, q.queued_usec) >= 0 && pipeline_add_heartbeat(s) >= 0 &&
                    pipeline_add_events(s) >= 0)
                        pipeline_sent(s);
                return 0;
        }
        /* Only which second: its text is rendered again when it can be sent. */
        if (second_queue_push_back(&s->queue, q) > 0)
                note_dropped(s, 1, /* by_age= */ false);
        if (sink_can_send(s))
                sink_kick(s);
        return 0;
}

int redis_sink_push_event(RedisSink *s, const char *text, size_t size) {
        QueuedEvent *e;
        char *copy;
        int enabled;

        if (!s || !text)
                return -EINVAL;
        if (size > REDIS_SINK_EVENT_MAX_BYTES)
                return -EFBIG;
        if (s->ev_len >= REDIS_SINK_EVENTS_MAX) {
                /* The oldest waiting one goes; when all kept are in flight, this one has no room. */
                bool room = event_drop_oldest_waiting(s);

                note_event_dropped(s, "the event queue is full (" EVENTS_MAX_TEXT " events)");
                if (!room)
                        return 0;
        }
        copy = malloc(size + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, text, size);
        copy[size] = 0;
        e = event_at(s, s->ev_len++);
        *e = (QueuedEvent) { .text = copy, .size = size };
        s->ev_bytes += size;

        /* Never sent from here: the caller may be inside one of our callbacks (an outage event). */
        if (!sink_can_send(s))
                return 0; /* the answer to the pipeline in flight, or the connection, sends it */
        if (s->queue.len > 0)
                sink_kick(s);
        else if (sd_event_source_get_enabled(s->event_timer, &enabled) == 0) {
                (void) sd_event_source_set_time(s->event_timer, sink_now(s) + EVENT_WAIT_USEC);
                (void) sd_event_source_set_enabled(s->event_timer, SD_EVENT_ONESHOT);
        }
        return 0;
}

size_t redis_sink_backlog_bytes(const RedisSink *s) {
        assert(s);

        return second_queue_bytes(&s->queue) + s->backlog_max * sizeof(QueuedSecond) + s->text.alloc +
               s->flight_bytes;
}

json_t *redis_sink_status_json(const RedisSink *s) {
        json_t *o;

        assert(s);

        o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I}",
                      "address", s->address,
                      "connected", s->connected,
                      "backlog", (json_int_t) (s->queue.len + s->n_flight - s->n_answered),
                      "in_flight", (json_int_t) (s->n_flight - s->n_answered),
                      "backlog_bytes", (json_int_t) redis_sink_backlog_bytes(s),
                      "dropped", (json_int_t) s->dropped,
                      "written", (json_int_t) s->written,
                      "errors", (json_int_t) s->errors,
                      "reconnects", (json_int_t) s->reconnects,
                      "events_key", s->events_key,
                      "events_queued", (json_int_t) s->ev_len,
                      "events_bytes", (json_int_t) s->ev_bytes,
                      "events_written", (json_int_t) s->ev_written,
                      "events_dropped", (json_int_t) s->ev_dropped,
                      "events_errors", (json_int_t) s->ev_errors);
        if (o && json_object_update_new(o, json_pack("{s:b, s:s#, s:I, s:I, s:I, s:I}",
                                                      "host_keys", s->node != NULL,
                                                      "account_key", s->key, s->key_prefix_len,
                                                      "pipelines", (json_int_t) s->pipelines,
                                                      "commands", (json_int_t) s->commands,
                                                      "commands_per_tick_max", (json_int_t) s->tick_commands_max,
                                                      "pipeline_commands_max",
                                                      (json_int_t) s->pipeline_commands_max)) < 0)
                o = (json_decref(o), NULL);
        if (o && s->node &&
            json_object_update_new(o, json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "node",
                                                s->node, "hosts_key", s->hosts_key, "heartbeat",
                                                s->hb_mode == HEARTBEAT_SCRIPT ? "script" :
                                                s->hb_mode == HEARTBEAT_ZADD_GT ? "zadd-gt" : "zadd",
                                                "zadd_gt", s->hb_mode != HEARTBEAT_ZADD,
                                                "heartbeats", (json_int_t) s->heartbeats,
                                                "heartbeat_errors", (json_int_t) s->heartbeat_errors,
                                                "hosts_pruned", (json_int_t) s->hosts_pruned,
                                                "group_fields_max", (json_int_t) FLEET_SPLIT_GROUPS_MAX,
                                                "split_seconds", (json_int_t) s->split_seconds,
                                                "whole_seconds", (json_int_t) s->whole_seconds)) < 0)
                o = (json_decref(o), NULL);
        if (o && outage_to_json(&s->outage, o) < 0)
                o = (json_decref(o), NULL);
        return o;
}

void redis_sink_counters(const RedisSink *s, uint64_t *ret_written, uint64_t *ret_dropped) {
        assert(s);
        assert(ret_written);
        assert(ret_dropped);

        *ret_written = s->written;
        *ret_dropped = s->dropped;
}

const Outage *redis_sink_outage(const RedisSink *s) {
        assert(s);

        return &s->outage;
}
