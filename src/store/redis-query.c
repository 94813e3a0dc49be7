/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "redis-event.h"
#include "redis-query.h"

struct RedisQuery {
        sd_event *event;
        redisAsyncContext *ac;
        sd_event_source *timer;   /* the whole query's timeout; also defers the end out of hiredis's callbacks */
        int argc;
        char **argv;
        size_t *argvlen;
        size_t chunks, answered;  /* commands of the later steps sent, answered */
        bool first_answered, finished;
        bool third;               /* more() was asked */
        int error;
        char message[256];
        RedisQueryOps ops;
        void *userdata;
};

/* Ends the query: the connection is let go at once (its callbacks see a query that is done), done() runs from
 * the timer, outside hiredis's callbacks, so that it may free the query. */
static void query_finish(RedisQuery *q, int error, const char *message) {
        redisAsyncContext *ac;

        if (q->finished)
                return;
        q->finished = true;
        q->error = error;
        snprintf(q->message, sizeof(q->message), "%s", message ? message : "");
        ac = TAKE_PTR(q->ac);
        if (ac) {
                /* freed, not disconnected (which waits for every reply due): inside a callback hiredis frees it
                 * once the callback returns, calling those still due with no reply, while q is still there */
                ac->data = NULL;
                redisAsyncFree(ac);
        }
        (void) sd_event_source_set_time_relative(q->timer, 0);
        (void) sd_event_source_set_enabled(q->timer, SD_EVENT_ONESHOT);
}

/* The query a reply is for, or NULL when there is nothing to do with it: a query done already, or no reply
 * (the connection is gone: the query ends). */
static RedisQuery *reply_query(redisAsyncContext *ac, void *r, void *privdata) {
        RedisQuery *q = privdata;

        if (!q || q->finished || ac != q->ac)
                return NULL;
        if (!r) {
                q->ac = NULL; /* hiredis is freeing it */
                query_finish(q, -EIO, redis_event_error(ac));
                return NULL;
        }
        return q;
}

static void on_values(redisAsyncContext *ac, void *r, void *privdata);

/* Every command sent now: one round trip whatever their number. */
static void send_commands(RedisQuery *q, redisAsyncContext *ac, const RedisQueryCommand *cmds, size_t n) {
        for (size_t c = 0; c < n; c++)
                if (redisAsyncCommandArgv(ac, on_values, q, cmds[c].argc, cmds[c].argv, NULL) != REDIS_OK) {
                        query_finish(q, -ENOMEM, "cannot send a command");
                        return;
                }
}

static void on_values(redisAsyncContext *ac, void *r, void *privdata) {
        RedisQuery *q = reply_query(ac, r, privdata);
        char error[256] = "";
        int k;

        if (!q)
                return;
        k = q->ops.values(r, error, sizeof(error), q->userdata);
        if (k < 0) {
                query_finish(q, k, error);
                return;
        }
        if (++q->answered < q->chunks)
                return;
        if (!q->third && q->ops.more) {
                const RedisQueryCommand *cmds = NULL;
                size_t n = 0;

                q->third = true;
                k = q->ops.more(&cmds, &n, error, sizeof(error), q->userdata);
                if (k < 0) {
                        query_finish(q, k, error);
                        return;
                }
                if (n > 0) {
                        q->chunks += n;
                        send_commands(q, ac, cmds, n);
                        return;
                }
        }
        query_finish(q, 0, NULL);
}

static void on_first(redisAsyncContext *ac, void *r, void *privdata) {
        RedisQuery *q = reply_query(ac, r, privdata);
        const RedisQueryCommand *cmds = NULL;
        char error[256] = "";
        size_t n = 0;
        int k;

        if (!q)
                return;
        q->first_answered = true;
        k = q->ops.first(r, &cmds, &n, error, sizeof(error), q->userdata);
        if (k < 0) {
                query_finish(q, k, error);
                return;
        }
        if (n == 0) {
                query_finish(q, 0, NULL);
                return;
        }
        q->chunks = n;
        send_commands(q, ac, cmds, n);
}

static void on_connect(const redisAsyncContext *ac, int status) {
        RedisQuery *q = ac->data;

        if (!q || ac != q->ac)
                return;
        if (status != REDIS_OK) {
                q->ac = NULL; /* hiredis frees it when we return */
                query_finish(q, -ECONNREFUSED, redis_event_error(ac));
        }
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
        RedisQuery *q = ac->data;

        if (!q || ac != q->ac)
                return;
        q->ac = NULL;
        query_finish(q, -EIO, status == REDIS_OK ? "connection closed" : redis_event_error(ac));
}

static int on_timer(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        RedisQuery *q = userdata;
        redisAsyncContext *ac;

        if (!q->finished) {
                ac = TAKE_PTR(q->ac);
                if (ac) {
                        ac->data = NULL;
                        redisAsyncFree(ac); /* outside hiredis's callbacks; they see a stale context */
                }
                query_finish(q, -ETIMEDOUT, "Redis did not answer within 10 s");
                return 0;
        }
        (void) sd_event_source_set_enabled(q->timer, SD_EVENT_OFF);
        if (q->ops.done)
                q->ops.done(q->error, q->message, q->userdata); /* may free q */
        return 0;
}

int redis_query_start(sd_event *event, const char *address, int argc, const char *const *argv,
                      const RedisQueryOps *ops, void *userdata, RedisQuery **ret) {
        _cleanup_(redis_query_freep) RedisQuery *q = NULL;
        char error[256];
        redisAsyncContext *ac;
        Address a;
        int r;

        if (!event || !address || argc < 1 || !argv || !ops || !ops->first || !ops->values || !ret)
                return -EINVAL;
        r = address_parse(address, ADDRESS_ALLOW_UNIX, &a, /* error= */ NULL, 0);
        if (r < 0)
                return r;
        q = calloc(1, sizeof(RedisQuery));
        if (!q)
                return -ENOMEM;
        q->event = sd_event_ref(event);
        q->ops = *ops;
        q->userdata = userdata;
        r = sd_event_add_time_relative(event, &q->timer, CLOCK_MONOTONIC, REDIS_QUERY_TIMEOUT_USEC,
                                       10 * USEC_PER_MSEC, on_timer, q);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(q->timer, "redis-query-timer");

        r = redis_event_connect(event, a.host, a.port, q, on_connect, on_disconnect, &q->ac, error, sizeof(error));
        if (r == -ECONNREFUSED) {
                query_finish(q, r, error);
                *ret = TAKE_PTR(q);
                return 0;
        }
        if (r < 0)
                return r;
        ac = q->ac;
        /* hiredis queues the command until the connection is up */
        if (redisAsyncCommandArgv(ac, on_first, q, argc, (const char **) argv, NULL) != REDIS_OK)
                query_finish(q, -ENOMEM, "cannot send the command");
        *ret = TAKE_PTR(q);
        return 0;
}

RedisQuery *redis_query_free(RedisQuery *q) {
        if (!q)
                return NULL;
        if (q->ac) {
                q->ac->data = NULL;
                redisAsyncFree(TAKE_PTR(q->ac));
        }
        q->timer = sd_event_source_disable_unref(q->timer);
        sd_event_unref(q->event);
        free(q);
        return NULL;
}
