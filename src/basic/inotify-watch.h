/* SPDX-License-Identifier: MIT */
/* One inotify instance on sd-event: reads what is queued (bounded per wakeup) and hands the events over one
 * by one; a queue overflow or a read error is "events were lost", and after a read error the instance is
 * re-created after a short backoff. What an event means and when to act on it (settle) stay with the user. */
#pragma once

#include <stdint.h>
#include <sys/inotify.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"

/* The first retry after a read error, doubled while re-creating fails or the new instance fails again
 * before it read anything, up to the maximum. */
#define INOTIFY_WATCH_RETRY_USEC (100 * USEC_PER_MSEC)
#define INOTIFY_WATCH_RETRY_MAX_USEC (10 * USEC_PER_SEC)

typedef struct InotifyWatch InotifyWatch;

/* An event (never IN_Q_OVERFLOW), or NULL: events may have been lost (the queue overflowed, a read failed,
 * the instance was re-created): look at everything watched again. Must not free the watch. */
typedef void (*InotifyWatchEvent)(InotifyWatch *w, const struct inotify_event *e, void *userdata);
/* The instance was re-created: every watch descriptor handed out before is gone; add the watches again
 * with inotify_watch_add(). A negative return: logged, and tried again after the backoff. */
typedef int (*InotifyWatchRewatch)(InotifyWatch *w, void *userdata);
/* read(2); replaceable so unit tests can inject a failure. */
typedef ssize_t (*InotifyWatchRead)(int fd, void *buf, size_t size);

/* `what` names the watched things in log lines ("tree file /etc/x.json"). No watch is added: the caller
 * adds its first ones itself (typically with the same function it passes as `rewatch`). */
int inotify_watch_new(sd_event *event, const char *what, InotifyWatchEvent on_event, InotifyWatchRewatch rewatch,
                      void *userdata, InotifyWatch **ret);
InotifyWatch *inotify_watch_free(InotifyWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(InotifyWatch *, inotify_watch_free)

/* inotify_add_watch(2) on the current instance: the watch descriptor, or -errno. */
int inotify_watch_add(InotifyWatch *w, const char *path, uint32_t mask);
/* inotify_rm_watch(2): 0 or -errno. */
int inotify_watch_rm(InotifyWatch *w, int wd);

/* For tests: read events with `read_fn` instead of read(2) (NULL: read(2) again). */
void inotify_watch_set_read(InotifyWatch *w, InotifyWatchRead read_fn);
/* Read errors since start, and how often the instance was re-created. */
uint64_t inotify_watch_n_errors(const InotifyWatch *w);
uint64_t inotify_watch_n_restarts(const InotifyWatch *w);
