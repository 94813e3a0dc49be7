/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "inotify-watch.h"
#include "log-once.h"
#include "log.h"

/* Reads per wakeup: what is queued now, in bounded work; the rest comes with the next wakeup. */
#define READS_MAX 64

struct InotifyWatch {
        sd_event *event;
        char *what;
        int fd;
        sd_event_source *io, *retry;
        Backoff retry_backoff;
        LogOnce log;        /* the cause logged last; reset once the watch reads events again */
        uint64_t n_errors, n_restarts;
        InotifyWatchEvent on_event;
        InotifyWatchRewatch rewatch;
        InotifyWatchRead read_fn;
        void *userdata;
};

static ssize_t read_events(int fd, void *buf, size_t size) {
        return read(fd, buf, size);
}

static void instance_close(InotifyWatch *w) {
        w->io = sd_event_source_disable_unref(w->io);
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -EBADF;
}

static int on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata);

static int instance_open(InotifyWatch *w) {
        int r;

        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0)
                return negative_errno();
        r = sd_event_add_io(w->event, &w->io, w->fd, EPOLLIN, on_io, w);
        if (r < 0)
                instance_close(w);
        return r;
}

/* The instance cannot be trusted (a read failed) or could not be set up again: drop it and try again
 * after the backoff. Logged once per cause, until the watch reads events again. */
static void fail(InotifyWatch *w, int error, const char *doing) {
        usec_t now, delay = backoff_next_usec(&w->retry_backoff);
        char cause[256];

        instance_close(w);
        snprintf(cause, sizeof(cause), "cannot %s: %s", doing, STRERROR(error));
        if (log_once_should(&w->log, cause))
                log_warning_errno(error, "Watching %s: %s; trying again in %" PRIu64 " ms.", w->what, cause,
                                  delay / USEC_PER_MSEC);
        sd_event_now(w->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(w->retry, now + delay);
        sd_event_source_set_enabled(w->retry, SD_EVENT_ONESHOT);
}

static int on_retry(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        InotifyWatch *w = userdata;
        int r;

        r = instance_open(w);
        if (r >= 0 && w->rewatch)
                r = w->rewatch(w, w->userdata);
        if (r < 0) {
                fail(w, r, "set up inotify again");
                return 0;
        }
        w->n_restarts++;
        /* Whatever changed since the failed read was not seen: look again, now that the new watches exist. */
        w->on_event(w, NULL, w->userdata);
        return 0;
}

/* An sd-event io handler must not return an error: sd-event would switch the source off for good. */
static int on_io(sd_event_source *es _unused_, int fd, uint32_t revents _unused_, void *userdata) {
        InotifyWatch *w = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        for (unsigned round = 0; round < READS_MAX; round++) {
                ssize_t n = w->read_fn(fd, buf, sizeof(buf));

                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        break;
                if (n < 0) {
                        w->n_errors++;
                        fail(w, negative_errno(), "read inotify events");
                        w->on_event(w, NULL, w->userdata); /* events may have been lost: look now, too */
                        return 0;
                }
                if (n == 0)
                        break;
                if (w->log.cause)
                        log_info("Watching %s works again.", w->what);
                log_once_reset(&w->log);
                backoff_reset(&w->retry_backoff);
                for (size_t off = 0; (size_t) n - off >= sizeof(struct inotify_event);) {
                        const struct inotify_event *e = (const struct inotify_event *) (buf + off);

                        if ((size_t) n - off - sizeof(struct inotify_event) < e->len)
                                break; /* the kernel hands out whole events only */
                        off += sizeof(struct inotify_event) + e->len;
                        w->on_event(w, e->mask & IN_Q_OVERFLOW ? NULL : e, w->userdata);
                }
        }
        return 0;
}

int inotify_watch_new(sd_event *event, const char *what, InotifyWatchEvent on_event, InotifyWatchRewatch rewatch,
                      void *userdata, InotifyWatch **ret) {
        _cleanup_(inotify_watch_freep) InotifyWatch *w = NULL;
        int r;

        assert(event);
        assert(what);
        assert(on_event);
        assert(ret);
        w = calloc(1, sizeof(InotifyWatch));
        if (!w)
                return -ENOMEM;
        w->fd = -EBADF;
        w->event = sd_event_ref(event);
        w->on_event = on_event;
        w->rewatch = rewatch;
        w->userdata = userdata;
        w->read_fn = read_events;
        backoff_init(&w->retry_backoff, INOTIFY_WATCH_RETRY_USEC, INOTIFY_WATCH_RETRY_MAX_USEC);
        w->what = strdup(what);
        if (!w->what)
                return -ENOMEM;
        r = sd_event_add_time(event, &w->retry, CLOCK_MONOTONIC, 0, 0, on_retry, w);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(w->retry, SD_EVENT_OFF);
        r = instance_open(w);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

InotifyWatch *inotify_watch_free(InotifyWatch *w) {
        if (!w)
                return NULL;
        instance_close(w);
        sd_event_source_disable_unref(w->retry);
        sd_event_unref(w->event);
        log_once_reset(&w->log);
        free(w->what);
        free(w);
        return NULL;
}

int inotify_watch_add(InotifyWatch *w, const char *path, uint32_t mask) {
        int wd;

        assert(w);
        assert(path);
        if (w->fd < 0)
                return -EBADF; /* between a failure and the retry: the retry's rewatch adds it */
        wd = inotify_add_watch(w->fd, path, mask);
        return wd < 0 ? negative_errno() : wd;
}

int inotify_watch_rm(InotifyWatch *w, int wd) {
        assert(w);
        if (w->fd < 0)
                return -EBADF;
        return inotify_rm_watch(w->fd, wd) < 0 ? negative_errno() : 0;
}

void inotify_watch_set_read(InotifyWatch *w, InotifyWatchRead read_fn) {
        assert(w);
        w->read_fn = read_fn ? read_fn : read_events;
}

uint64_t inotify_watch_n_errors(const InotifyWatch *w) {
        assert(w);
        return w->n_errors;
}

uint64_t inotify_watch_n_restarts(const InotifyWatch *w) {
        assert(w);
        return w->n_restarts;
}
