/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dropin-watch.h"
#include "inotify-watch.h"
#include "log.h"
#include "strmap.h"
#include "unit-name.h"

#define MAX_BASES 4
/* inotify watches are a per-user kernel resource, shared by root with systemd and udev: at most this many
 * drop-in directories (3 directories for each of the 10 000 groups a tree may hold, and some slack) ... */
#define MAX_WATCHES 32768
/* ... and never more than this fraction of fs.inotify.max_user_watches. */
#define WATCH_SHARE_DIVISOR 4
#define BASE_MASK (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)
#define DIR_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR)

typedef struct Watched {
        int wd;
        const char *path; /* by_path's key */
        char *unit;
} Watched;

struct DropinWatch {
        sd_event *event;
        InotifyWatch *inotify;
        char *bases[MAX_BASES];
        int base_wd[MAX_BASES];
        size_t n_bases;
        StrMap by_wd, by_path; /* owning: the watch descriptor in decimal, the directory → Watched */
        size_t n_watched, limit;
        long max_user_watches; /* read once at start; <= 0 when unknown */
        bool logged_full, full, logged_bases;
        char base_error[256]; /* why no base directory is watched; empty while one is */
        DropinWanted wanted;
        DropinChanged changed;
        void *userdata;
};

/* "a-b.slice.d" → "a-b.slice"; NULL for anything else. */
static char *dropin_dir_unit(const char *name) {
        size_t n = strlen(name);

        if (n < 3 || n > UNIT_NAME_MAX + 2 || !streq(name + n - 2, ".d"))
                return NULL;
        return strndup(name, n - 2);
}

static void watched_free(Watched *x) {
        if (!x)
                return;
        free(x->unit);
        free(x);
}

static void wd_key(int wd, char key[static 16]) {
        snprintf(key, 16, "%d", wd);
}

static void forget(DropinWatch *w, Watched *x) {
        char key[16];

        wd_key(x->wd, key);
        strmap_remove(&w->by_wd, key);
        strmap_remove(&w->by_path, x->path);
        w->n_watched--;
        watched_free(x);
}

static void watch_dir(DropinWatch *w, const char *base, const char *unit) {
        _cleanup_(freep) char *path = NULL;
        Watched *x;
        char key[16];
        int wd;

        if (asprintf(&path, "%s/%s.d", base, unit) < 0 || strmap_get(&w->by_path, path))
                return;
        if (w->n_watched >= w->limit) {
                if (!w->logged_full)
                        log_warning("Watching %zu drop-in directories already (the limit): changes by hand to "
                                    "further slices are repaired at the next periodic pass.", w->limit);
                w->logged_full = w->full = true;
                return;
        }
        wd = inotify_watch_add(w->inotify, path, DIR_MASK);
        if (wd < 0) {
                int e = -wd;

                if (e == ENOSPC && !w->logged_full)
                        log_warning("Cannot watch %s: the inotify watch limit (fs.inotify.max_user_watches) is "
                                    "reached; changes by hand are repaired at the next periodic pass.", path);
                else if (e != ENOENT && e != ENOTDIR && e != ENOSPC)
                        log_debug_errno(-e, "Cannot watch %s: %m", path);
                w->logged_full |= e == ENOSPC;
                w->full |= e == ENOSPC;
                return;
        }
        wd_key(wd, key);
        if (strmap_get(&w->by_wd, key))
                return; /* the same directory under another name */
        x = calloc(1, sizeof(Watched));
        if (!x)
                return;
        x->wd = wd;
        x->unit = strdup(unit);
        if (!x->unit || strmap_put(&w->by_wd, key, x) < 0) {
                watched_free(x);
                return;
        }
        if (strmap_put(&w->by_path, path, x) < 0) {
                strmap_remove(&w->by_wd, key);
                watched_free(x);
                return;
        }
        x->path = strmap_get_key(&w->by_path, path);
        w->n_watched++;
}

size_t dropin_watch_limit(size_t n_bases, size_t n_units, long max_user_watches) {
        size_t limit = MIN((size_t) MAX_WATCHES, n_bases * n_units);

        if (max_user_watches > 0)
                limit = MIN(limit, (size_t) max_user_watches / WATCH_SHARE_DIVISOR);
        return limit;
}

/* A base directory that does not exist yet is tried again at the next sync; one that cannot be watched for
 * another reason is reported (logged once, and in status) as long as none is watched. */
static void watch_bases(DropinWatch *w) {
        char why[sizeof(w->base_error)] = "";
        size_t n_ok = 0;

        for (size_t i = 0; i < w->n_bases; i++) {
                if (w->base_wd[i] < 0) {
                        int wd = inotify_watch_add(w->inotify, w->bases[i], BASE_MASK);

                        /* -EBADF: no inotify instance until the retry, whose rewatch comes here again */
                        if (wd < 0 && wd != -ENOENT && wd != -EBADF && !why[0])
                                snprintf(why, sizeof(why), "cannot watch %s: %s", w->bases[i], STRERROR(wd));
                        w->base_wd[i] = MAX(wd, -1);
                }
                n_ok += w->base_wd[i] >= 0;
        }
        if (n_ok > 0 || !why[0]) {
                w->base_error[0] = '\0';
                w->logged_bases = false;
                return;
        }
        memcpy(w->base_error, why, sizeof(why));
        if (!w->logged_bases)
                log_warning("No drop-in directory of systemd can be watched (%s): changes by hand are repaired "
                            "only at the next periodic pass.", why);
        w->logged_bases = true;
}

/* Forgets the watches of units no longer wanted (a control directory outlives its unit). */
static void sweep(DropinWatch *w) {
        _cleanup_(freep) Watched **gone = NULL;
        size_t n = 0;

        if (w->n_watched == 0)
                return;
        gone = calloc(w->n_watched, sizeof(Watched *));
        if (!gone)
                return; /* tried again at the next sync */
        for (size_t i = 0; i < w->by_wd.cap && n < w->n_watched; i++) {
                Watched *x = w->by_wd.keys && w->by_wd.keys[i] ? w->by_wd.values[i] : NULL;

                if (x && !w->wanted(x->unit, w->userdata))
                        gone[n++] = x;
        }
        for (size_t i = 0; i < n; i++) {
                (void) inotify_watch_rm(w->inotify, gone[i]->wd); /* its IN_IGNORED finds no entry */
                forget(w, gone[i]);
        }
}

void dropin_watch_sync(DropinWatch *w, size_t n_units) {
        assert(w);

        w->limit = dropin_watch_limit(w->n_bases, n_units, w->max_user_watches);
        w->full = false;
        if (w->n_watched < w->limit)
                w->logged_full = false; /* a new shortage is logged again */
        sweep(w);
        watch_bases(w);
        for (size_t i = 0; i < w->n_bases; i++) {
                _cleanup_(closedirp) DIR *d = NULL;
                struct dirent *de;

                if (w->base_wd[i] < 0 || !(d = opendir(w->bases[i])))
                        continue;
                while ((de = readdir(d))) {
                        _cleanup_(freep) char *unit = NULL;

                        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                                continue;
                        unit = dropin_dir_unit(de->d_name);
                        if (unit && w->wanted(unit, w->userdata))
                                watch_dir(w, w->bases[i], unit);
                }
        }
}

static int base_index(const DropinWatch *w, int wd) {
        for (size_t i = 0; i < w->n_bases; i++)
                if (w->base_wd[i] == wd)
                        return (int) i;
        return -1;
}

static void on_event(InotifyWatch *iw _unused_, const struct inotify_event *e, void *userdata) {
        DropinWatch *w = userdata;
        char key[16];
        Watched *x;
        int b;

        if (!e) {
                w->changed(w, NULL, w->userdata); /* events lost */
                return;
        }
        b = base_index(w, e->wd);
        if (b >= 0) {
                _cleanup_(freep) char *unit = NULL;

                if (e->mask & IN_IGNORED) {
                        w->base_wd[b] = -1; /* removed: tried again at the next sync */
                        return;
                }
                /* A new `<unit>.d/`: the unit's first drop-in is being written. */
                unit = e->len > 0 && (e->mask & IN_ISDIR) ? dropin_dir_unit(e->name) : NULL;
                if (!unit || !w->wanted(unit, w->userdata))
                        return;
                watch_dir(w, w->bases[b], unit);
                w->changed(w, unit, w->userdata);
                return;
        }
        wd_key(e->wd, key);
        x = strmap_get(&w->by_wd, key);
        if (!x)
                return;
        if (e->mask & IN_IGNORED) {
                forget(w, x);
                return;
        }
        /* Only drop-ins count (systemd writes a temporary ".#…" file first and renames it). */
        if (e->len > 0 && strlen(e->name) > 5 && streq(e->name + strlen(e->name) - 5, ".conf") &&
            w->wanted(x->unit, w->userdata))
                w->changed(w, x->unit, w->userdata);
}

static void forget_all(DropinWatch *w) {
        for (size_t i = 0; i < w->by_wd.cap; i++)
                if (w->by_wd.keys && w->by_wd.keys[i])
                        watched_free(w->by_wd.values[i]);
        strmap_done(&w->by_wd);
        strmap_done(&w->by_path);
        w->n_watched = 0;
}

/* The inotify instance was re-created: every watch is gone. The base directories are watched again now,
 * the units' directories by the sync of the pass that the lost events ask for. */
static int rewatch(InotifyWatch *iw _unused_, void *userdata) {
        DropinWatch *w = userdata;

        forget_all(w);
        for (size_t i = 0; i < w->n_bases; i++)
                w->base_wd[i] = -1;
        watch_bases(w);
        return 0;
}

static long read_max_user_watches(void) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");
        long v = -1;

        if (!f || fscanf(f, "%ld", &v) != 1)
                return -1;
        return v;
}

int dropin_watch_new(sd_event *event, const char *const *dirs, DropinWanted wanted, DropinChanged changed,
                     void *userdata, DropinWatch **ret) {
        _cleanup_(dropin_watch_freep) DropinWatch *w = NULL;
        int r;

        assert(event);
        assert(wanted);
        assert(changed);
        assert(ret);

        w = calloc(1, sizeof(DropinWatch));
        if (!w)
                return -ENOMEM;
        w->by_wd = w->by_path = STRMAP_OWNING;
        w->event = sd_event_ref(event);
        w->wanted = wanted;
        w->changed = changed;
        w->userdata = userdata;
        for (size_t i = 0; dirs && dirs[i]; i++) {
                if (w->n_bases == MAX_BASES)
                        return -E2BIG;
                w->bases[w->n_bases] = strdup(dirs[i]);
                if (!w->bases[w->n_bases])
                        return -ENOMEM;
                w->base_wd[w->n_bases++] = -1;
        }
        r = inotify_watch_new(event, "systemd's drop-in directories", on_event, rewatch, w, &w->inotify);
        if (r < 0)
                return r;
        w->max_user_watches = read_max_user_watches();
        w->limit = dropin_watch_limit(w->n_bases, MAX_WATCHES, w->max_user_watches); /* until the first sync */
        watch_bases(w);
        *ret = TAKE_PTR(w);
        return 0;
}

DropinWatch *dropin_watch_free(DropinWatch *w) {
        if (!w)
                return NULL;
        forget_all(w);
        inotify_watch_free(w->inotify);
        for (size_t i = 0; i < w->n_bases; i++)
                free(w->bases[i]);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

size_t dropin_watch_count(const DropinWatch *w) {
        assert(w);

        return w->n_watched;
}

const char *dropin_watch_error(const DropinWatch *w) {
        assert(w);

        if (w->base_error[0])
                return w->base_error;
        if (w->full)
                return "drop-in watch limit reached: changes by hand to some slices are repaired only at the next "
                       "periodic pass";
        return NULL;
}

InotifyWatch *dropin_watch_inotify(DropinWatch *w) {
        assert(w);

        return w->inotify;
}
