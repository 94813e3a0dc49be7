/* SPDX-License-Identifier: MIT */
/* The OOM watcher's glue (issue 15): an inotify watch on memory.events (v2) or an eventfd on memory.oom_control
 * (v1) per watched slice, /dev/kmsg read from its end for the victims, the matching (policy/oom-match.h) and
 * one callback per kill. No timer runs while nothing happens. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cgroup-stat.h"
#include "macro.h"
#include "oom-match.h"

typedef struct OomWatch OomWatch;

/* A slice to watch. */
typedef struct OomWatchSlice {
        const char *unit;      /* "sk-a.slice", "user-1000.slice" */
        bool is_user;
        uint32_t uid;
        const char *user;      /* NULL: no name known */
} OomWatchSlice;

/* One kill, as the callback gets it (valid during the call). */
typedef struct OomKill {
        const OomWatchSlice *slice;
        const char *cgroup;    /* the slice's cgroup path */
        const OomReport *report;
        bool v2;
        uint64_t memory_max;   /* the slice's limit (UINT64_MAX: none) and use when the kill was reported; */
        uint64_t memory_current; /* UINT64_MAX: not read */
        usec_t kill_wall_usec; /* CLOCK_REALTIME of the kernel's line; else when it was detected */
        usec_t latency_usec;   /* from the kernel's line to now; USEC_INFINITY: no line */
} OomKill;

typedef void (*OomWatchKillFn)(OomWatch *w, const OomKill *k, void *userdata);

/* The controller's place comes from the layout (v1 memory hierarchy, else cgroup2). `kmsg_path`: NULL for
 * /dev/kmsg. Nothing is watched before oom_watch_set_slices(). */
int oom_watch_new(sd_event *event, const CgroupLayout *layout, const char *kmsg_path, OomWatchKillFn fn,
                  void *userdata, OomWatch **ret);
OomWatch *oom_watch_free(OomWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(OomWatch *, oom_watch_free)

/* The slices to watch now (copied). Slices kept keep their watch and counts. */
int oom_watch_set_slices(OomWatch *w, const OomWatchSlice *slices, size_t n);
/* Try again to watch slices whose cgroup was not there (just created by the realizer or systemd). */
void oom_watch_rescan(OomWatch *w);

/* Descriptors the watch holds per watched slice: 1 on v1 (its eventfd), 0 on v2 (inotify watches). On v1 it
 * holds at most a quarter of RLIMIT_NOFILE (the sampler keeps that much out of its budget): slices past it
 * are not watched (status "not_watched", said once in the journal). */
unsigned oom_watch_fds_per_slice(const OomWatch *w);
/* The eventfds held now. */
size_t oom_watch_fds(const OomWatch *w);

/* Per watched slice: its unit and kills reported (for /metrics). i < oom_watch_n_slices(). */
size_t oom_watch_n_slices(const OomWatch *w);
const OomWatchSlice *oom_watch_slice(const OomWatch *w, size_t i, uint64_t *ret_kills);

/* {"mode": "v2"|"v1"|"off", "slices", "watched", "not_watched", "kills", "kmsg": {"readable", "error", "records",
 *  "lost", "oom_lines"}, "wakeups", "reported", "without_victim", "from_log_only", "victims_unwatched",
 *  "waiting", "latency_usec": {"last", "max"}} */
json_t *oom_watch_status_json(const OomWatch *w);
