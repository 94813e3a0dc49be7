/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"
#include "file-source.h"
#include "fileio.h"
#include "inotify-watch.h"
#include "log.h"
#include "time-util.h"

/* Editors and `cp` write in several steps: wait this long after the last event before reading, but a file
 * rewritten without pause is still read at least every COALESCE_BOUND_USEC (and at most that often). */
#define SETTLE_USEC (50 * USEC_PER_MSEC)

struct FileSource {
        sd_event *event;
        char *path, *dir, *base;
        size_t max_bytes;
        InotifyWatch *watch;
        sd_event_source *settle;
        Coalescer coalescer;
        FileSourceHandler handler;
        void *userdata;
};

void file_source_read(FileSource *s) {
        _cleanup_(freep) char *data = NULL;
        size_t size = 0;
        int r;

        assert(s);

        r = read_file_bounded(s->path, s->max_bytes, &data, &size);
        if (r < 0)
                s->handler(s, r, NULL, 0, s->userdata);
        else
                s->handler(s, 0, data, size, s->userdata);
}

static int on_settle(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        FileSource *s = userdata;
        uint64_t now;

        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        coalescer_acted(&s->coalescer, now);
        file_source_read(s);
        return 0;
}

/* Read or replaced (a file renamed over it, or gone), or events lost: read it when the coalescer says. */
static void on_inotify(InotifyWatch *w _unused_, const struct inotify_event *e, void *userdata) {
        FileSource *s = userdata;
        uint64_t now;

        if (e && (e->len == 0 || !streq(e->name, s->base)))
                return;
        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        coalescer_change(&s->coalescer, now);
        sd_event_source_set_time(s->settle, coalescer_due(&s->coalescer));
        sd_event_source_set_enabled(s->settle, SD_EVENT_ONESHOT);
}

static int add_watch(InotifyWatch *w, void *userdata) {
        FileSource *s = userdata;
        int wd;

        wd = inotify_watch_add(w, s->dir,
                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB);
        return MIN(wd, 0);
}

int file_source_new(sd_event *event, const char *path, size_t max_bytes, FileSourceHandler handler, void *userdata,
                    FileSource **ret) {
        _cleanup_(file_source_freep) FileSource *s = NULL;
        _cleanup_(freep) char *d = NULL, *b = NULL, *what = NULL;
        int r;

        assert(event);
        assert(handler);
        assert(ret);

        if (isempty(path) || path[0] != '/')
                return -EINVAL;
        s = calloc(1, sizeof(FileSource));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->handler = handler;
        s->userdata = userdata;
        s->max_bytes = max_bytes;
        coalescer_init(&s->coalescer, SETTLE_USEC, COALESCE_BOUND_USEC, COALESCE_BOUND_USEC);
        s->path = strdup(path);
        d = strdup(path);
        b = strdup(path);
        if (!s->path || !d || !b)
                return -ENOMEM;
        s->dir = strdup(dirname(d));
        s->base = strdup(basename(b));
        if (!s->dir || !s->base)
                return -ENOMEM;

        if (asprintf(&what, "tree file %s", s->path) < 0)
                return -ENOMEM;
        r = inotify_watch_new(event, what, on_inotify, add_watch, s, &s->watch);
        if (r < 0)
                return r;
        r = add_watch(s->watch, s);
        if (r < 0)
                return r;
        r = sd_event_add_time(event, &s->settle, CLOCK_MONOTONIC, 0, 0, on_settle, s);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(s->settle, SD_EVENT_OFF);
        *ret = TAKE_PTR(s);
        return 0;
}

FileSource *file_source_free(FileSource *s) {
        if (!s)
                return NULL;
        inotify_watch_free(s->watch);
        sd_event_source_disable_unref(s->settle);
        sd_event_unref(s->event);
        free(s->path);
        free(s->dir);
        free(s->base);
        free(s);
        return NULL;
}

const char *file_source_path(const FileSource *s) {
        assert(s);

        return s->path;
}

InotifyWatch *file_source_watch(FileSource *s) {
        assert(s);

        return s->watch;
}
