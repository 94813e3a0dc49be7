/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "log.h"
#include "macro.h"
#include "redis-event.h"

typedef struct RedisEvent {
        redisAsyncContext *ac;
        sd_event_source *io;
        uint32_t events;  /* EPOLLIN/EPOLLOUT hiredis asked for */
        bool dispatching; /* inside on_io(): hiredis may free the context (and call on_cleanup) under us */
        bool dead;        /* on_cleanup() ran while dispatching: on_io() frees us on the way out */
} RedisEvent;

static void redis_event_set(RedisEvent *e, uint32_t add, uint32_t remove) {
        uint32_t events = (e->events | add) & ~remove;
        int r;

        if (e->dead || !e->io || events == e->events)
                return;
        r = sd_event_source_set_io_events(e->io, events);
        if (r < 0) {
                /* The hooks return void: the owner's reply/connect timeout notices the stall. */
                log_debug_errno(r, "Redis: cannot change io events: %m");
                return;
        }
        e->events = events;
}

static void on_add_read(void *privdata) {
        redis_event_set(privdata, EPOLLIN, 0);
}

static void on_del_read(void *privdata) {
        redis_event_set(privdata, 0, EPOLLIN);
}

static void on_add_write(void *privdata) {
        redis_event_set(privdata, EPOLLOUT, 0);
}

static void on_del_write(void *privdata) {
        redis_event_set(privdata, 0, EPOLLOUT);
}

/* Called by hiredis while it frees the context: from redisAsyncFree(), or from inside
 * redisAsyncHandleRead/Write() when the connection failed. */
static void on_cleanup(void *privdata) {
        RedisEvent *e = privdata;

        if (!e)
                return;
        /* sd-event allows dropping a source from its own callback. */
        e->io = sd_event_source_disable_unref(e->io);
        e->ac->ev.data = NULL;
        e->ac = NULL;
        if (e->dispatching)
                e->dead = true;
        else
                free(e);
}

static int on_io(sd_event_source *es _unused_, int fd _unused_, uint32_t revents, void *userdata) {
        RedisEvent *e = userdata;

        e->dispatching = true;
        /* Errors and hang-ups go to the read side: hiredis then notices them (a failed connect through
         * SO_ERROR, a lost connection through read() returning 0 or an error) and frees the context. */
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                redisAsyncHandleRead(e->ac);
        /* The context may be gone now: hiredis frees it on errors, calling on_cleanup(). */
        if (!e->dead && (revents & EPOLLOUT))
                redisAsyncHandleWrite(e->ac);
        e->dispatching = false;
        if (e->dead)
                free(e);
        return 0;
}

int redis_event_attach(redisAsyncContext *ac, sd_event *event) {
        _cleanup_(freep) RedisEvent *e = NULL;
        int r;

        if (!ac || !event)
                return -EINVAL;
        if (ac->ev.data)
                return -EEXIST;
        if (ac->err)
                return -EIO;
        if (ac->c.fd < 0)
                return -EBADF;

        e = calloc(1, sizeof(RedisEvent));
        if (!e)
                return -ENOMEM;
        e->ac = ac;
        /* No events yet: hiredis asks for them through the hooks. EPOLLERR/EPOLLHUP arrive regardless. */
        r = sd_event_add_io(event, &e->io, ac->c.fd, 0, on_io, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(e->io, "redis-io");

        ac->ev.addRead = on_add_read;
        ac->ev.delRead = on_del_read;
        ac->ev.addWrite = on_add_write;
        ac->ev.delWrite = on_del_write;
        ac->ev.cleanup = on_cleanup;
        ac->ev.data = TAKE_PTR(e);
        return 0;
}

const char *redis_event_error(const redisAsyncContext *ac) {
        if (ac->c.err && !isempty(ac->c.errstr))
                return ac->c.errstr;
        if (ac->err && !isempty(ac->errstr))
                return ac->errstr;
        return "unknown error";
}

int redis_event_connect(sd_event *event, const char *host, int port, void *data, redisConnectCallback *on_connect,
                        redisDisconnectCallback *on_disconnect, redisAsyncContext **ret, char *error,
                        size_t error_size) {
        redisAsyncContext *ac;
        int r;

        assert(event && host && ret);

        ac = port > 0 ? redisAsyncConnect(host, port) : redisAsyncConnectUnix(host);
        if (!ac)
                return -ENOMEM;
        if (ac->err) {
                snprintf(error, error_size, "%s", redis_event_error(ac));
                redisAsyncFree(ac);
                return -ECONNREFUSED;
        }
        r = redis_event_attach(ac, event);
        if (r < 0) {
                redisAsyncFree(ac);
                return r;
        }
        ac->data = data;
        (void) redisAsyncSetConnectCallback(ac, on_connect);
        (void) redisAsyncSetDisconnectCallback(ac, on_disconnect);
        *ret = ac;
        return 0;
}
