/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "ownership.h"
#include "unit-name.h"

static int append(Ownership *o, const char *unit, const char *path) {
        char *p;
        int r;

        if (o->n >= OWNERSHIP_MAX_UNITS)
                return -E2BIG;
        if (o->n == o->cap) {
                size_t ncap = MAX(o->cap * 2, (size_t) 16);
                char **nn = realloc(o->names, ncap * sizeof(char *)), **np;

                if (!nn)
                        return -ENOMEM;
                o->names = nn;
                np = realloc(o->paths, ncap * sizeof(char *));
                if (!np)
                        return -ENOMEM;
                o->paths = np;
                o->cap = ncap;
        }
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        r = strmap_put(&o->units, unit, p);
        if (r < 0) {
                free(p);
                return r;
        }
        o->names[o->n] = (char *) strmap_get_key(&o->units, unit);
        o->paths[o->n] = p;
        o->n++;
        return 0;
}

int ownership_load(Ownership *o, const char *dir) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        assert(o);
        assert(dir);

        *o = (Ownership) { .units = STRMAP_OWNING };
        o->dir = strdup(dir);
        if (!o->dir)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_(freep) char *file = NULL, *data = NULL;
                size_t len = strlen(de->d_name);

                if (strncmp(de->d_name, WRITE_FILE_ATOMIC_TMP_PREFIX, strlen(WRITE_FILE_ATOMIC_TMP_PREFIX)) == 0) {
                        /* Half a record from a crash: its unit was never created (the record comes first). */
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (de->d_name[0] == '.' || len < 7 || !streq(de->d_name + len - 6, ".slice"))
                        continue;
                if (asprintf(&file, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                r = read_file_bounded(file, 4096, &data, NULL);
                if (r < 0) {
                        log_warning_errno(r, "Ignoring ownership record %s: %m", file);
                        continue;
                }
                data[strcspn(data, "\n")] = 0;
                if (isempty(data)) {
                        log_warning("Ignoring empty ownership record %s.", file);
                        continue;
                }
                r = append(o, de->d_name, data);
                if (r < 0)
                        return r;
        }
        return 0;
}

void ownership_done(Ownership *o) {
        assert(o);

        for (size_t i = 0; i < o->n; i++)
                free(o->paths[i]);
        free(o->names);
        free(o->paths);
        strmap_done(&o->units);
        free(o->dir);
        *o = (Ownership) { 0 };
}

const char *ownership_get(const Ownership *o, const char *unit) {
        assert(o);
        assert(unit);

        return strmap_get(&o->units, unit);
}

int ownership_add(Ownership *o, const char *unit, const char *path) {
        _cleanup_(freep) char *file = NULL, *content = NULL;
        int r;

        assert(o);
        assert(unit);
        assert(path);

        if (ownership_get(o, unit))
                return 0;
        if (asprintf(&file, "%s/%s", o->dir, unit) < 0 || asprintf(&content, "%s\n", path) < 0)
                return -ENOMEM;
        r = write_file_atomic(file, content);
        if (r < 0)
                return r;
        return append(o, unit, path);
}

int ownership_remove(Ownership *o, const char *unit) {
        _cleanup_(freep) char *file = NULL;

        assert(o);
        assert(unit);

        if (asprintf(&file, "%s/%s", o->dir, unit) < 0)
                return -ENOMEM;
        if (unlink(file) < 0 && errno != ENOENT)
                return -errno;
        for (size_t i = 0; i < o->n; i++)
                if (streq(o->names[i], unit)) {
                        strmap_remove(&o->units, o->names[i]); /* frees the name */
                        free(o->paths[i]);
                        o->names[i] = o->names[o->n - 1];
                        o->paths[i] = o->paths[o->n - 1];
                        o->n--;
                        break;
                }
        return 0;
}
