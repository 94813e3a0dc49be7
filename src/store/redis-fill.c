/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "log.h"
#include "fleet-query.h"
#include "redis-event.h"
#include "redis-fill.h"
#include "redis-sink.h"
#include "time-util.h"

/* hiredis 0.14 has no timeouts of its own: a Redis that does not answer ends the fill, not the daemon. */
#define STEP_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define DEFAULT_PREFIX "cgroup_arch"

typedef enum FillState { FILL_READING, FILL_DONE, FILL_FAILED } FillState;

struct RedisFill {
        sd_event *event;
        char *address, *host, *prefix;
        char *key_prefix;              /* "<prefix>/account/" or "<prefix>/host/<node>/account/" */
        int port;
        char *keys;                    /* REDIS_FILL_BATCH_MAX keys of key_size bytes, for one MGET */
        size_t key_size;
        redisAsyncContext *ac;
        sd_event_source *timer; /* connect or reply timeout */

        uint64_t next_sec, last_sec;   /* the next second to ask for; the last one */
        size_t batch;                  /* seconds per MGET: fewer when the records are big */
        size_t in_flight;              /* seconds in the MGET (HGETs) in flight */
        uint64_t flight_first;
        bool hash;                     /* HostKeys=yes: each second a hash, its field "*" read by HGET */
        size_t answered, largest;      /* HGETs of the batch answered; the largest value among them */

        FillState state;
        char error[128];
        uint64_t seconds, read, filled, missing, present, skipped, not_kept;
        const char *skip_reason;
        usec_t start_usec, end_usec;

        RedisFillRecord on_record;
        RedisFillDone on_done;
        void *userdata;
};

static void timer_arm(RedisFill *f) {
        (void) sd_event_source_set_time_relative(f->timer, STEP_TIMEOUT_USEC);
        (void) sd_event_source_set_enabled(f->timer, SD_EVENT_ONESHOT);
}

/* Ends the fill; the context, when still ours, is closed once its replies are in (none are pending). */
static void fill_finish(RedisFill *f, FillState state, const char *error) {
        redisAsyncContext *ac;

        if (f->state != FILL_READING)
                return;
        ac = TAKE_PTR(f->ac);
        f->state = state;
        f->end_usec = now_usec(CLOCK_MONOTONIC);
        (void) sd_event_source_set_enabled(f->timer, SD_EVENT_OFF);
        if (error)
                snprintf(f->error, sizeof(f->error), "%s", error);
        if (ac)
                redisAsyncDisconnect(ac);
        if (state == FILL_DONE)
                log_info("Filled %" PRIu64 " of the last %" PRIu64 " seconds from Redis at %s in %" PRIu64
                         " ms (%" PRIu64 " missing, %" PRIu64 " already sampled, %" PRIu64 " skipped%s%s).",
                         f->filled, f->seconds, f->address, (f->end_usec - f->start_usec) / USEC_PER_MSEC,
                         f->missing, f->present, f->skipped, f->skip_reason ? ": " : "",
                         f->skip_reason ? f->skip_reason : "");
        else
                log_warning("Could not fill the window from Redis at %s: %s (%" PRIu64 " seconds filled).",
                            f->address, f->error, f->filled);
        if (f->on_done)
                f->on_done(f, f->userdata);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);
static void on_hget_reply(redisAsyncContext *ac, void *r, void *privdata);

static void fill_send(RedisFill *f) {
        const char *argv[1 + REDIS_FILL_BATCH_MAX];
        size_t argvlen[1 + REDIS_FILL_BATCH_MAX];
        size_t n = 0;

        if (f->next_sec > f->last_sec) {
                fill_finish(f, FILL_DONE, NULL);
                return;
        }
        argv[0] = "MGET";
        argvlen[0] = 4;
        f->flight_first = f->next_sec;
        while (n < f->batch && f->next_sec <= f->last_sec) {
                char *key = f->keys + n * f->key_size;
                int k = snprintf(key, f->key_size, "%s%" PRIu64, f->key_prefix, f->next_sec);

                argv[1 + n] = key;
                argvlen[1 + n] = (size_t) k;
                n++;
                f->next_sec++;
        }
        if (f->hash) {
                /* one HGET <key> * per second, pipelined: one round trip per batch as the MGET */
                f->answered = f->largest = 0;
                for (size_t i = 0; i < n; i++) {
                        const char *hget[] = { "HGET", argv[1 + i], FLEET_FIELD_WHOLE };
                        const size_t hget_len[] = { 4, argvlen[1 + i], strlen(FLEET_FIELD_WHOLE) };

                        if (redisAsyncCommandArgv(f->ac, on_hget_reply, f, 3, hget, hget_len) != REDIS_OK) {
                                fill_finish(f, FILL_FAILED, "cannot send HGET");
                                return;
                        }
                }
        } else if (redisAsyncCommandArgv(f->ac, on_reply, f, (int) (1 + n), argv, argvlen) != REDIS_OK) {
                fill_finish(f, FILL_FAILED, "cannot send MGET");
                return;
        }
        f->in_flight = n;
        timer_arm(f);
}

/* One second's value (a string, or nil: missing). */
static void fill_value(RedisFill *f, uint64_t sec, const redisReply *e, size_t *largest) {
        const char *reason = NULL;
        int k;

        f->read++;
        if (!e || e->type != REDIS_REPLY_STRING) {
                f->missing++;
                return;
        }
        *largest = MAX(*largest, e->len);
        k = f->on_record(f, sec, e->str, e->len, &reason, f->userdata);
        if (k >= 0)
                f->filled++;
        else if (k == -EEXIST)
                f->present++;
        else if (k == -EBADMSG) {
                f->skipped++;
                if (!f->skip_reason)
                        f->skip_reason = reason ? reason : "does not parse";
                log_debug("Redis fill: skipped the record of %" PRIu64 ": %s", sec, reason ? reason : "does not parse");
        } else
                f->not_kept++;
}

/* The batch in flight is answered: the next one. */
static void fill_batch_done(RedisFill *f, size_t largest) {
        f->in_flight = 0;
        /* As many as make about REDIS_FILL_BATCH_BYTES of the largest record seen in this reply (at least
         * one); a reply of missing keys only says nothing of their size: twice as many next time. */
        if (largest > 0)
                f->batch = MAX((size_t) 1, MIN((size_t) REDIS_FILL_BATCH_MAX, REDIS_FILL_BATCH_BYTES / largest));
        else
                f->batch = MIN((size_t) REDIS_FILL_BATCH_MAX, f->batch * 2);
        fill_send(f);
}

/* Whether a reply is for the live connection and is one: a reply of a connection dropped meanwhile is
 * ignored; none at all means hiredis is freeing the connection, and the fill has failed. */
static bool fill_reply_live(RedisFill *f, redisAsyncContext *ac, const redisReply *reply) {
        if (ac != f->ac)
                return false;
        if (!reply) {
                f->ac = NULL; /* hiredis is freeing it */
                fill_finish(f, FILL_FAILED, redis_event_error(ac));
                return false;
        }
        return true;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata) {
        RedisFill *f = privdata;
        redisReply *reply = r;
        size_t largest = 0;

        if (!fill_reply_live(f, ac, reply))
                return;
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != f->in_flight) {
                char e[128];

                snprintf(e, sizeof(e), "MGET answered %s%.*s",
                         reply->type == REDIS_REPLY_ERROR ? "" : "not one value per key",
                         reply->type == REDIS_REPLY_ERROR ? (int) MIN(reply->len, (size_t) 100) : 0,
                         reply->type == REDIS_REPLY_ERROR && reply->str ? reply->str : "");
                fill_finish(f, FILL_FAILED, e);
                return;
        }
        for (size_t i = 0; i < reply->elements; i++)
                fill_value(f, f->flight_first + i, reply->element[i], &largest);
        fill_batch_done(f, largest);
}

/* HostKeys=yes: one HGET's answer, in the order sent. */
static void on_hget_reply(redisAsyncContext *ac, void *r, void *privdata) {
        RedisFill *f = privdata;
        redisReply *reply = r;

        if (!fill_reply_live(f, ac, reply))
                return;
        if (f->answered >= f->in_flight)
                return; /* one callback per HGET sent: cannot happen */
        if (reply->type == REDIS_REPLY_ERROR && !(reply->str && strncmp(reply->str, "WRONGTYPE", 9) == 0)) {
                char e[128];

                snprintf(e, sizeof(e), "HGET answered %.*s", (int) MIN(reply->len, (size_t) 100),
                         reply->str ? reply->str : "");
                fill_finish(f, FILL_FAILED, e);
                return;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
                /* a string, as host keys were before they were hashes: not read (it expires) */
                f->read++;
                f->skipped++;
                if (!f->skip_reason)
                        f->skip_reason = "not a hash";
        } else
                fill_value(f, f->flight_first + f->answered, reply, &f->largest);
        if (++f->answered == f->in_flight)
                fill_batch_done(f, f->largest);
}

static void on_connect(const redisAsyncContext *ac, int status) {
        RedisFill *f = ac->data;

        if (!f || ac != f->ac)
                return;
        if (status != REDIS_OK) {
                f->ac = NULL; /* hiredis frees it when we return */
                fill_finish(f, FILL_FAILED, redis_event_error(ac));
                return;
        }
        fill_send(f);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
        RedisFill *f = ac->data;

        if (!f || ac != f->ac)
                return;
        f->ac = NULL;
        fill_finish(f, FILL_FAILED, status == REDIS_OK ? "connection closed" : redis_event_error(ac));
}

static int on_timer(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        RedisFill *f = userdata;
        redisAsyncContext *ac = TAKE_PTR(f->ac);

        if (ac)
                redisAsyncFree(ac); /* outside hiredis's callbacks; they see a stale context */
        fill_finish(f, FILL_FAILED, "no answer within 5 s");
        return 0;
}

int redis_fill_new(sd_event *event, const RedisFillConfig *c, RedisFill **ret) {
        _cleanup_(redis_fill_freep) RedisFill *f = NULL;
        char error[256];
        Address a;
        int r;

        if (!event || !c || !c->on_record || !ret || c->first_sec > c->last_sec)
                return -EINVAL;
        r = address_parse(c->address, ADDRESS_ALLOW_UNIX, &a, /* error= */ NULL, 0);
        if (r < 0)
                return r;
        f = calloc(1, sizeof(RedisFill));
        if (!f)
                return -ENOMEM;
        f->event = sd_event_ref(event);
        f->host = strdup(a.host);
        f->port = a.port;
        f->address = strdup(c->address);
        f->prefix = strdup(c->prefix ? c->prefix : DEFAULT_PREFIX);
        if (!f->host || !f->address || !f->prefix)
                return -ENOMEM;
        f->hash = c->node != NULL;
        r = redis_account_key_prefix(f->prefix, c->node, &f->key_prefix, 0);
        if (r < 0)
                return r;
        f->key_size = strlen(f->key_prefix) + 21;
        f->keys = calloc(REDIS_FILL_BATCH_MAX, f->key_size);
        if (!f->keys)
                return -ENOMEM;
        f->next_sec = c->first_sec;
        f->last_sec = c->last_sec;
        f->seconds = c->last_sec - c->first_sec + 1;
        f->batch = 1; /* until the size of a record is known: the first answer holds one at most */
        f->on_record = c->on_record;
        f->on_done = c->on_done;
        f->userdata = c->userdata;
        f->start_usec = now_usec(CLOCK_MONOTONIC);

        r = sd_event_add_time_relative(event, &f->timer, CLOCK_MONOTONIC, STEP_TIMEOUT_USEC, 10 * USEC_PER_MSEC,
                                       on_timer, f);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(f->timer, "redis-fill-timer");

        r = redis_event_connect(event, f->host, f->port, f, on_connect, on_disconnect, &f->ac, error, sizeof(error));
        if (r == -ECONNREFUSED)
                fill_finish(f, FILL_FAILED, error);
        else if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

RedisFill *redis_fill_free(RedisFill *f) {
        if (!f)
                return NULL;
        if (f->ac)
                redisAsyncFree(TAKE_PTR(f->ac));
        f->timer = sd_event_source_disable_unref(f->timer);
        sd_event_unref(f->event);
        free(f->address);
        free(f->host);
        free(f->prefix);
        free(f->key_prefix);
        free(f->keys);
        free(f);
        return NULL;
}

bool redis_fill_done(const RedisFill *f) {
        return !f || f->state != FILL_READING;
}

json_t *redis_fill_status_json(const RedisFill *f) {
        static const char *const states[] = { "reading", "done", "failed" };
        usec_t end = f->state == FILL_READING ? now_usec(CLOCK_MONOTONIC) : f->end_usec;
        json_t *o;

        assert(f);

        o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "state", states[f->state],
                      "account_key", f->key_prefix,
                      "seconds", (json_int_t) f->seconds, "read", (json_int_t) f->read,
                      "filled", (json_int_t) f->filled, "missing", (json_int_t) f->missing,
                      "present", (json_int_t) f->present, "skipped", (json_int_t) f->skipped,
                      "not_kept", (json_int_t) f->not_kept,
                      "duration_ms", (json_int_t) ((end - f->start_usec) / USEC_PER_MSEC));
        if (o && f->state == FILL_FAILED)
                json_object_set_new(o, "error", json_string(f->error));
        if (o && f->skip_reason)
                json_object_set_new(o, "skip_reason", json_string(f->skip_reason));
        return o;
}
