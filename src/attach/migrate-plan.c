/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "migrate-plan.h"
#include "strmap.h"

bool migrate_name_is_systemd(const char *name) {
        static const char *const suffixes[] = {
                ".slice", ".scope", ".service", ".socket", ".mount", ".swap", ".device", ".target", ".timer",
                ".path", ".automount",
        };
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t k = strlen(suffixes[i]);

                if (n > k && streq(name + n - k, suffixes[i]))
                        return true;
        }
        return false;
}

const char *migrate_verdict_to_string(MigrateVerdict v) {
        static const char *const names[_MIGRATE_VERDICT_MAX] = {
                [MIGRATE_REMOVE] = "remove",
                [MIGRATE_KEEP] = "keep",
                [MIGRATE_LEAVE] = "leave",
        };

        return v >= 0 && v < _MIGRATE_VERDICT_MAX ? names[v] : NULL;
}

/* "<hierarchy>\n<path>": a directory's key, unique over hierarchies. */
static char *dir_key(size_t hierarchy, const char *path, size_t path_len) {
        char *k;

        if (asprintf(&k, "%zu\n%.*s", hierarchy, (int) path_len, path) < 0)
                return NULL;
        return k;
}

typedef struct Order {
        unsigned depth;
        size_t index;
} Order;

static int order_cmp(const void *x, const void *y) {
        const Order *a = x, *b = y;

        if (a->depth != b->depth)
                return a->depth > b->depth ? -1 : 1;
        return a->index < b->index ? -1 : a->index > b->index;
}

static int pid_cmp(const void *x, const void *y) {
        pid_t a = *(const pid_t *) x, b = *(const pid_t *) y;

        return a < b ? -1 : a > b;
}

static const char *first_verdict(const MigrateDir *d, const Tree *tree, pid_t self, MigrateVerdict *ret) {
        const char *name = strrchr(d->path, '/');

        name = name ? name + 1 : d->path;
        *ret = MIGRATE_LEAVE;
        if (migrate_name_is_systemd(name))
                return "a systemd unit's directory";
        if (!tree_find(tree, d->path))
                return "not a tree group";
        if (!d->procs_read)
                return "its cgroup.procs could not be read whole";
        for (size_t i = 0; i < d->n_pids; i++)
                if (d->pids[i] <= 1 || d->pids[i] == self) {
                        *ret = MIGRATE_KEEP;
                        /* 0: a process of another pid namespace, which the kernel shows as 0 */
                        return "holds PID 1, slicekeeperd or a process outside our pid namespace, which never move";
                }
        *ret = MIGRATE_REMOVE;
        return NULL;
}

static int move_add(MigratePlan *p, StrMap *by_group, const char *group, const MigrateDir *d, pid_t self) {
        MigrateMove *mv = strmap_get(by_group, group);
        size_t idx;
        pid_t *grown;
        int r;

        if (!mv) {
                MigrateMove *moves = realloc(p->moves, (p->n_moves + 1) * sizeof(MigrateMove));

                if (!moves)
                        return -ENOMEM;
                p->moves = moves;
                idx = p->n_moves++;
                p->moves[idx] = (MigrateMove) { .group = group };
                /* The map holds the index + 1: the array moves when it grows. */
                r = strmap_put(by_group, group, (void *) (idx + 1));
                if (r < 0)
                        return r;
        } else
                idx = (size_t) mv - 1;
        mv = &p->moves[idx];
        if (d->n_pids == 0)
                return 0;
        grown = realloc(mv->pids, (mv->n_pids + d->n_pids) * sizeof(pid_t));
        if (!grown)
                return -ENOMEM;
        mv->pids = grown;
        for (size_t i = 0; i < d->n_pids; i++)
                if (d->pids[i] > 1 && d->pids[i] != self)
                        mv->pids[mv->n_pids++] = d->pids[i];
                else
                        p->n_refused++;
        return 0;
}

int migrate_plan_build(const MigrateDir *dirs, size_t n_dirs, const Tree *tree, pid_t self, MigratePlan *ret) {
        _cleanup_(strmap_done) StrMap by_key = STRMAP_OWNING, by_group = { 0 };
        _cleanup_(migrate_plan_done) MigratePlan p = { 0 };
        _cleanup_(freep) Order *order = NULL;
        _cleanup_(freep) size_t *parent = NULL, *pos = NULL; /* per directory: its parent's index + 1; its item */
        int r;

        if ((!dirs && n_dirs > 0) || !tree || !ret)
                return -EINVAL;
        p.items = calloc(MAX(n_dirs, (size_t) 1), sizeof(MigrateItem));
        order = calloc(MAX(n_dirs, (size_t) 1), sizeof(Order));
        parent = calloc(MAX(n_dirs, (size_t) 1), sizeof(size_t));
        pos = calloc(MAX(n_dirs, (size_t) 1), sizeof(size_t));
        if (!p.items || !order || !parent || !pos)
                return -ENOMEM;
        for (size_t i = 0; i < n_dirs; i++) {
                _cleanup_(freep) char *key = NULL;

                if (!dirs[i].path || (!dirs[i].pids && dirs[i].n_pids > 0))
                        return -EINVAL;
                key = dir_key(dirs[i].hierarchy, dirs[i].path, strlen(dirs[i].path));
                if (!key)
                        return -ENOMEM;
                r = strmap_put(&by_key, key, (void *) (i + 1));
                if (r < 0 && r != -EEXIST)
                        return r;
                order[i] = (Order) { dirs[i].depth, i };
        }
        for (size_t i = 0; i < n_dirs; i++) {
                const char *slash = strrchr(dirs[i].path, '/');
                _cleanup_(freep) char *key = NULL;

                if (!slash)
                        continue;
                key = dir_key(dirs[i].hierarchy, dirs[i].path, (size_t) (slash - dirs[i].path));
                if (!key)
                        return -ENOMEM;
                parent[i] = (size_t) strmap_get(&by_key, key);
        }
        if (n_dirs > 1)
                qsort(order, n_dirs, sizeof(Order), order_cmp);

        for (size_t o = 0; o < n_dirs; o++) {
                MigrateItem *it = &p.items[o];

                it->dir = order[o].index;
                it->reason = first_verdict(&dirs[it->dir], tree, self, &it->verdict);
                pos[it->dir] = o;
                p.n_items++;
        }
        /* Deepest first, so a child's final verdict is known when its parent's is changed: whatever stays
         * keeps every directory above it (rmdir would fail on it anyway). */
        for (size_t o = 0; o < n_dirs; o++) {
                const MigrateItem *it = &p.items[o];
                MigrateItem *up;

                if (it->verdict == MIGRATE_REMOVE || parent[it->dir] == 0)
                        continue;
                up = &p.items[pos[parent[it->dir] - 1]];
                if (up->verdict == MIGRATE_REMOVE) {
                        up->verdict = MIGRATE_KEEP;
                        up->reason = "holds a directory that stays";
                }
        }
        /* Every tree group's directory that was read gives its processes to the group's scope, in the order of
         * the directories given (a parent's and its child's are different groups). */
        for (size_t i = 0; i < n_dirs; i++) {
                const MigrateItem *it = &p.items[pos[i]];
                const TreeNode *n;

                if (it->verdict == MIGRATE_LEAVE)
                        continue;
                n = tree_find(tree, dirs[i].path);
                r = move_add(&p, &by_group, n->path, &dirs[i], self);
                if (r < 0)
                        return r;
        }
        {
                size_t kept = 0;

                for (size_t m = 0; m < p.n_moves; m++) {
                        MigrateMove mv = p.moves[m];
                        size_t k = 0;

                        if (mv.n_pids > 1)
                                qsort(mv.pids, mv.n_pids, sizeof(pid_t), pid_cmp);
                        for (size_t i = 0; i < mv.n_pids; i++)
                                if (k == 0 || mv.pids[k - 1] != mv.pids[i])
                                        mv.pids[k++] = mv.pids[i];
                        mv.n_pids = k;
                        if (k == 0) { /* empty directories only: nothing to send */
                                free(mv.pids);
                                continue;
                        }
                        p.moves[kept++] = mv;
                }
                p.n_moves = kept; /* nothing can fail from here on */
        }
        *ret = p;
        p = (MigratePlan) { 0 };
        return 0;
}

void migrate_plan_done(MigratePlan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_moves; i++)
                free(p->moves[i].pids);
        free(p->moves);
        free(p->items);
        *p = (MigratePlan) { 0 };
}
