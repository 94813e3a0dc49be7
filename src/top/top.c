/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "top.h"

/* The controllers of a record (src/sample/record.h), in its order. */
enum { CTL_CPU, CTL_BLKIO, CTL_MEMORY, CTL_PIDS, CTL_PRESSURE, _CTL_MAX };
static const char *const ctl_names[_CTL_MAX] = { "cpu", "blkio", "memory", "pids", "pressure" };
static const char *const pressure_names[_TOP_PRESSURE_MAX] = { "cpu", "memory", "io" };
static const char *const sort_names[_TOP_SORT_MAX] = { "cpu", "memory", "io", "tasks" };

int top_sort_from_string(const char *s, TopSort *ret) {
        assert(ret);

        for (TopSort k = 0; k < _TOP_SORT_MAX; k++)
                if (s && streq(s, sort_names[k])) {
                        *ret = k;
                        return 0;
                }
        return -EINVAL;
}

int top_sort_from_key(int key, TopSort *ret) {
        static const char keys[_TOP_SORT_MAX] = { 'c', 'm', 'i', 't' };

        assert(ret);

        for (TopSort k = 0; k < _TOP_SORT_MAX; k++)
                if (key == keys[k]) {
                        *ret = k;
                        return 0;
                }
        return -EINVAL;
}

const char *top_sort_to_string(TopSort s) {
        return s < _TOP_SORT_MAX ? sort_names[s] : NULL;
}

/* A counter of a value object: 1 with *ret set, 0 when missing (or not a non-negative integer). */
static int get_u64(const json_t *o, const char *key, uint64_t *ret) {
        const json_t *v = json_object_get(o, key);

        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return 0;
        *ret = (uint64_t) json_integer_value(v);
        return 1;
}

/* The increase of a cumulative counter, or -1 when either side lacks it or it went back (a recreated
 * group). */
static double counter_delta(const json_t *cur, const json_t *prev, const char *key) {
        uint64_t c, p;

        if (!get_u64(cur, key, &c) || !get_u64(prev, key, &p) || c < p)
                return -1;
        return (double) (c - p);
}

/* One row's numbers from the value objects of each controller (NULL where absent). */
static void row_compute(TopRow *row, const json_t *const cur[_CTL_MAX], const json_t *const prev[_CTL_MAX],
                        double interval_sec) {
        bool rates = interval_sec > 0;
        const char *dev;
        const json_t *v;
        double d;

        if (get_u64(cur[CTL_MEMORY], "usage", &row->memory_bytes))
                row->have |= TOP_HAVE_MEMORY;
        if (get_u64(cur[CTL_PIDS], "current", &row->tasks))
                row->have |= TOP_HAVE_TASKS;
        if (!rates)
                return;
        d = counter_delta(cur[CTL_CPU], prev[CTL_CPU], "usage");
        if (d >= 0) {
                row->cpu_pct = d / 1e9 / interval_sec * 100;
                row->have |= TOP_HAVE_CPU;
        }
        /* {} is what a group without IO lines has, as one without IO accounting: both count as none */
        if (json_is_object(cur[CTL_BLKIO]) && json_is_object(prev[CTL_BLKIO])) {
                double sum = 0;

                json_object_foreach((json_t *) cur[CTL_BLKIO], dev, v) {
                        const json_t *p = json_object_get(prev[CTL_BLKIO], dev);
                        double r = counter_delta(v, p, "Read"), w = counter_delta(v, p, "Write");

                        sum += MAX(r, 0.0) + MAX(w, 0.0);
                }
                row->io_bytes_per_sec = sum / interval_sec;
                row->have |= TOP_HAVE_IO;
        }
        for (TopPressure k = 0; k < _TOP_PRESSURE_MAX; k++) {
                d = counter_delta(json_object_get(cur[CTL_PRESSURE], pressure_names[k]),
                                  json_object_get(prev[CTL_PRESSURE], pressure_names[k]), "some");
                if (d >= 0) {
                        row->pressure_pct[k] = MIN(d / 1e6 / interval_sec * 100, 100.0);
                        row->have |= TOP_HAVE_PSI_CPU << k;
                }
        }
}

static int table_add(TopTable *t, TopRow **ret) {
        TopRow *rows = reallocarray(t->rows, t->n + 1, sizeof(TopRow));

        if (!rows)
                return -ENOMEM;
        t->rows = rows;
        *ret = &rows[t->n++];
        **ret = (TopRow) { .parent = SIZE_MAX };
        return 0;
}

#define TOP_DEPTH_MAX 64 /* deeper nesting than any tree we accept: a hostile answer cannot recurse far */

/* A group and its subgroups, in the record's order. node[k]: the group's node in controller k's tree. */
static int walk(TopTable *t, const json_t *const cur[_CTL_MAX], const json_t *const prev[_CTL_MAX],
                const char *path, unsigned depth, size_t parent, double interval_sec) {
        const json_t *cv[_CTL_MAX], *pv[_CTL_MAX], *shape = NULL, *child;
        const char *name;
        size_t self;
        TopRow *row;
        int r;

        if (depth > TOP_DEPTH_MAX)
                return -EINVAL;
        for (int k = 0; k < _CTL_MAX; k++) {
                cv[k] = json_object_get(cur[k], "value");
                pv[k] = json_object_get(prev[k], "value");
                if (!shape && json_is_object(cur[k]))
                        shape = json_object_get(cur[k], "sub_cgroup");
        }
        r = table_add(t, &row);
        if (r < 0)
                return r;
        row->path = strdup(path);
        if (!row->path)
                return -ENOMEM;
        row->depth = depth;
        row->parent = parent;
        row_compute(row, cv, pv, interval_sec);
        self = t->n - 1;
        json_object_foreach((json_t *) shape, name, child) {
                const json_t *cc[_CTL_MAX], *pc[_CTL_MAX];
                _cleanup_(freep) char *p = NULL;

                if (!json_is_object(child))
                        continue;
                for (int k = 0; k < _CTL_MAX; k++) {
                        cc[k] = json_object_get(json_object_get(cur[k], "sub_cgroup"), name);
                        pc[k] = json_object_get(json_object_get(prev[k], "sub_cgroup"), name);
                }
                if (asprintf(&p, "%s%s%s", path, *path ? "/" : "", name) < 0)
                        return -ENOMEM;
                r = walk(t, cc, pc, p, depth + 1, self, interval_sec);
                if (r < 0)
                        return r;
        }
        return 0;
}

int top_table_from_records(const json_t *prev, const json_t *cur, uint64_t unix_sec, double interval_sec,
                           TopTable *ret) {
        _cleanup_(top_table_done) TopTable t = { .unix_sec = unix_sec, .interval_sec = prev ? interval_sec : 0 };
        const json_t *cn[_CTL_MAX], *pn[_CTL_MAX], *u;
        const char *uid;
        int r;

        assert(ret);

        if (!json_is_object(cur))
                return -EINVAL;
        for (int k = 0; k < _CTL_MAX; k++) {
                cn[k] = json_object_get(cur, ctl_names[k]);
                pn[k] = json_object_get(prev, ctl_names[k]);
        }
        r = walk(&t, cn, pn, "", 0, SIZE_MAX, t.interval_sec);
        if (r < 0)
                return r;
        t.n_groups = t.n;
        json_object_foreach((json_t *) json_object_get(cur, "users"), uid, u) {
                const json_t *pu = json_object_get(json_object_get(prev, "users"), uid);
                const json_t *cv[_CTL_MAX], *pv[_CTL_MAX];
                const char *name = json_string_value(json_object_get(u, "name"));
                TopRow *row;

                if (!json_is_object(u))
                        continue;
                for (int k = 0; k < _CTL_MAX; k++) {
                        cv[k] = json_object_get(u, ctl_names[k]);
                        pv[k] = json_object_get(pu, ctl_names[k]);
                }
                r = table_add(&t, &row);
                if (r < 0)
                        return r;
                row->user = true;
                row->path = strdup(uid);
                row->user_name = name ? strdup(name) : NULL;
                if (!row->path || (name && !row->user_name))
                        return -ENOMEM;
                row_compute(row, cv, pv, t.interval_sec);
        }
        *ret = t;
        t = (TopTable) { 0 };
        return 0;
}

/* A key of the answer as a second, or 0. */
static uint64_t key_sec(const char *key) {
        uint64_t v = 0;

        if (!*key || strlen(key) > 19)
                return 0;
        for (const char *p = key; *p; p++) {
                if (*p < '0' || *p > '9')
                        return 0;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        return v;
}

int top_table_from_account(const json_t *answer, TopTable *ret) {
        const json_t *cur = NULL, *prev = NULL, *v;
        uint64_t cur_sec = 0, prev_sec = 0;
        const char *key;

        assert(ret);

        if (!json_is_object(answer))
                return -EINVAL;
        json_object_foreach((json_t *) answer, key, v) {
                uint64_t s = key_sec(key);

                if (s == 0 || !json_is_object(v))
                        continue;
                if (s > cur_sec) {
                        prev = cur, prev_sec = cur_sec;
                        cur = v, cur_sec = s;
                } else if (s > prev_sec && s < cur_sec)
                        prev = v, prev_sec = s;
        }
        if (!cur)
                return -EINVAL;
        return top_table_from_records(prev, cur, cur_sec, prev ? (double) (cur_sec - prev_sec) : 0, ret);
}

void top_table_done(TopTable *t) {
        assert(t);

        for (size_t i = 0; i < t->n; i++) {
                free(t->rows[i].path);
                free(t->rows[i].user_name);
        }
        free(t->rows);
        *t = (TopTable) { 0 };
}

/* The sort key: unknown below every known value. */
static double key_of(const TopRow *r, TopSort key) {
        switch (key) {
        case TOP_SORT_CPU:
                return r->have & TOP_HAVE_CPU ? r->cpu_pct : -1;
        case TOP_SORT_MEMORY:
                return r->have & TOP_HAVE_MEMORY ? (double) r->memory_bytes : -1;
        case TOP_SORT_IO:
                return r->have & TOP_HAVE_IO ? r->io_bytes_per_sec : -1;
        case TOP_SORT_TASKS:
                return r->have & TOP_HAVE_TASKS ? (double) r->tasks : -1;
        default:
                return -1;
        }
}

typedef struct SortContext {
        const TopRow *rows;
        TopSort key;
} SortContext;

static int compare_rows(const void *a, const void *b, void *userdata) {
        const SortContext *c = userdata;
        const TopRow *x = &c->rows[*(const size_t *) a], *y = &c->rows[*(const size_t *) b];
        double kx = key_of(x, c->key), ky = key_of(y, c->key);

        if (x->parent != y->parent)
                return x->parent < y->parent ? -1 : 1; /* SIZE_MAX (the root, users) last */
        if (kx != ky)
                return kx > ky ? -1 : 1;
        return strcmp(x->path, y->path);
}

/* Rows in the given order (indices into t->rows), the others freed, parents renumbered. */
static void table_reorder(TopTable *t, const size_t *order, size_t n, size_t n_groups) {
        _cleanup_(freep) size_t *new_index = malloc(MAX(t->n, (size_t) 1) * sizeof(size_t));
        _cleanup_(freep) TopRow *rows = malloc(MAX(n, (size_t) 1) * sizeof(TopRow));
        bool *kept = calloc(MAX(t->n, (size_t) 1), sizeof(bool));

        if (!new_index || !rows || !kept) {
                free(kept); /* out of memory: the table stays as it was */
                return;
        }
        for (size_t i = 0; i < n; i++) {
                new_index[order[i]] = i;
                kept[order[i]] = true;
                rows[i] = t->rows[order[i]];
        }
        for (size_t i = 0; i < n; i++)
                if (rows[i].parent != SIZE_MAX)
                        rows[i].parent = kept[rows[i].parent] ? new_index[rows[i].parent] : SIZE_MAX;
        for (size_t i = 0; i < t->n; i++)
                if (!kept[i]) {
                        free(t->rows[i].path);
                        free(t->rows[i].user_name);
                }
        free(kept);
        free(t->rows);
        t->rows = TAKE_PTR(rows);
        t->n = n;
        t->n_groups = n_groups;
}

void top_table_sort(TopTable *t, TopSort key) {
        SortContext c = { .rows = t->rows, .key = key };
        _cleanup_(freep) size_t *idx = malloc(MAX(t->n, (size_t) 1) * sizeof(size_t));
        _cleanup_(freep) size_t *order = malloc(MAX(t->n, (size_t) 1) * sizeof(size_t));
        _cleanup_(freep) size_t *first = malloc(MAX(t->n, (size_t) 1) * sizeof(size_t)); /* first child in idx */
        _cleanup_(freep) size_t *stack = malloc(MAX(t->n, (size_t) 1) * sizeof(size_t));
        size_t n = 0, depth = 0;

        assert(t);

        if (!idx || !order || !first || !stack || t->n == 0)
                return;
        for (size_t i = 0; i < t->n; i++)
                idx[i] = i;
        /* groups by parent, then by key: each group's children lie together, largest first */
        qsort_r(idx, t->n_groups, sizeof(size_t), compare_rows, &c);
        qsort_r(idx + t->n_groups, t->n - t->n_groups, sizeof(size_t), compare_rows, &c);
        for (size_t i = 0; i < t->n; i++)
                first[i] = SIZE_MAX;
        for (size_t i = t->n_groups; i > 0; i--)
                if (t->rows[idx[i - 1]].parent != SIZE_MAX)
                        first[t->rows[idx[i - 1]].parent] = i - 1;
        /* depth first from the roots (rows without a parent sort last among the groups) */
        for (size_t i = 0; i < t->n_groups; i++) {
                if (t->rows[idx[i]].parent != SIZE_MAX)
                        continue;
                stack[depth++] = i;
                while (depth > 0) {
                        size_t at = stack[--depth], row = idx[at], next = at + 1;

                        order[n++] = row;
                        /* the next sibling waits below this group's children */
                        if (t->rows[row].parent != SIZE_MAX && next < t->n_groups &&
                            t->rows[idx[next]].parent == t->rows[row].parent)
                                stack[depth++] = next;
                        if (first[row] != SIZE_MAX)
                                stack[depth++] = first[row];
                }
        }
        for (size_t i = t->n_groups; i < t->n; i++)
                order[n++] = idx[i];
        table_reorder(t, order, n, t->n_groups);
}

void top_table_cut_depth(TopTable *t, unsigned max_depth) {
        _cleanup_(freep) size_t *order = malloc(MAX(t->n, (size_t) 1) * sizeof(size_t));
        size_t n = 0, n_groups;

        assert(t);

        if (!order)
                return;
        for (size_t i = 0; i < t->n_groups; i++)
                if (t->rows[i].depth <= max_depth)
                        order[n++] = i;
        n_groups = n;
        for (size_t i = t->n_groups; i < t->n; i++)
                order[n++] = i;
        table_reorder(t, order, n, n_groups);
}

void top_format_bytes(double bytes, char *buf, size_t size) {
        static const char units[] = "BKMGTPE";
        size_t u = 0;

        while (bytes >= 1024 && u + 1 < sizeof(units) - 1) {
                bytes /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%.0fB", bytes);
        else
                snprintf(buf, size, "%.1f%c", bytes, units[u]);
}

/* The numbers' columns: tasks, %cpu, memory, io/s, and the three pressures, with a space before each. */
#define NUMBERS_WIDTH (8 + 7 + 9 + 9 + 3 * 7)

static unsigned name_width(unsigned columns) {
        return MAX(columns, (unsigned) TOP_COLUMNS_MIN) - NUMBERS_WIDTH;
}

/* s in width columns: cut with "..." when longer. */
static void put_cell(char *buf, size_t size, const char *s, unsigned width) {
        if (strlen(s) <= width)
                snprintf(buf, size, "%-*s", (int) width, s);
        else
                snprintf(buf, size, "%.*s...", (int) (width - 3), s);
}

/* The name of a row as the first column shows it. */
static void row_name(const TopRow *row, char *name, size_t size) {
        if (row->user)
                snprintf(name, size, "user %s%s%s%s", row->user_name ?: row->path, row->user_name ? " (" : "",
                         row->user_name ? row->path : "", row->user_name ? ")" : "");
        else if (row->depth == 0)
                snprintf(name, size, "/");
        else
                snprintf(name, size, "%*s%s", (int) MIN(row->depth * 2, 40u), "", row->path);
}

unsigned top_table_columns(const TopTable *t) {
        size_t width = strlen("Group (c)");
        char name[512];

        for (size_t i = 0; i < t->n; i++) {
                row_name(&t->rows[i], name, sizeof(name));
                width = MAX(width, strlen(name));
        }
        return MAX((unsigned) (width + NUMBERS_WIDTH), (unsigned) TOP_COLUMNS_MIN);
}

void top_format_header(unsigned columns, TopSort key, char *buf, size_t size) {
        char name[16];
        size_t at;

        assert(buf && size > 0);

        snprintf(name, sizeof(name), "Group (%c)", "cmit"[key < _TOP_SORT_MAX ? key : 0]);
        put_cell(buf, size, name, name_width(columns));
        at = strlen(buf);
        snprintf(buf + at, size - at, " %7s %6s %8s %8s %6s %6s %6s", "Tasks", "%CPU", "Memory", "IO/s", "PSIcpu",
                 "PSImem", "PSIio");
}

void top_format_row(const TopRow *row, unsigned columns, char *buf, size_t size) {
        char name[512], tasks[24] = "-", cpu[24] = "-", mem[24] = "-", io[24] = "-", psi[3][24];
        size_t at;

        assert(row && buf && size > 0);

        row_name(row, name, sizeof(name));
        if (row->have & TOP_HAVE_TASKS)
                snprintf(tasks, sizeof(tasks), "%" PRIu64, row->tasks);
        if (row->have & TOP_HAVE_CPU)
                snprintf(cpu, sizeof(cpu), "%.1f", row->cpu_pct);
        if (row->have & TOP_HAVE_MEMORY)
                top_format_bytes((double) row->memory_bytes, mem, sizeof(mem));
        if (row->have & TOP_HAVE_IO)
                top_format_bytes(row->io_bytes_per_sec, io, sizeof(io));
        for (TopPressure k = 0; k < _TOP_PRESSURE_MAX; k++) {
                if (row->have & (TOP_HAVE_PSI_CPU << k))
                        snprintf(psi[k], sizeof(psi[k]), "%.1f", row->pressure_pct[k]);
                else
                        snprintf(psi[k], sizeof(psi[k]), "-");
        }
        put_cell(buf, size, name, name_width(columns));
        at = strlen(buf);
        snprintf(buf + at, size - at, " %7s %6s %8s %8s %6s %6s %6s", tasks, cpu, mem, io, psi[0], psi[1], psi[2]);
}

static json_t *number_or_null(bool have, double v) {
        return have ? json_real(v) : json_null();
}

static json_t *row_json(const TopRow *r) {
        json_t *o = json_object(), *p = json_object();

        if (!o || !p) {
                json_decref(o);
                json_decref(p);
                return NULL;
        }
        if (r->user) {
                json_object_set_new(o, "uid", json_integer(strtoll(r->path, NULL, 10)));
                json_object_set_new(o, "name", r->user_name ? json_string(r->user_name) : json_null());
        } else {
                json_object_set_new(o, "path", json_string(r->path));
                json_object_set_new(o, "depth", json_integer(r->depth));
        }
        json_object_set_new(o, "cpu_pct", number_or_null(r->have & TOP_HAVE_CPU, r->cpu_pct));
        json_object_set_new(o, "memory_bytes", r->have & TOP_HAVE_MEMORY ?
                                                       json_integer((json_int_t) r->memory_bytes) : json_null());
        json_object_set_new(o, "io_bytes_per_sec", number_or_null(r->have & TOP_HAVE_IO, r->io_bytes_per_sec));
        json_object_set_new(o, "tasks", r->have & TOP_HAVE_TASKS ? json_integer((json_int_t) r->tasks) : json_null());
        for (TopPressure k = 0; k < _TOP_PRESSURE_MAX; k++)
                json_object_set_new(p, pressure_names[k],
                                    number_or_null(r->have & (TOP_HAVE_PSI_CPU << k), r->pressure_pct[k]));
        json_object_set_new(o, "pressure", p);
        return o;
}

json_t *top_table_json(const TopTable *t, TopSort key) {
        json_t *o, *groups = json_array(), *users = json_array();

        assert(t);

        for (size_t i = 0; i < t->n; i++)
                json_array_append_new(i < t->n_groups ? groups : users, row_json(&t->rows[i]));
        o = json_pack("{s:I, s:f, s:s, s:o, s:o}", "time", (json_int_t) t->unix_sec, "interval_sec", t->interval_sec,
                      "sort", top_sort_to_string(key) ?: "cpu", "groups", groups, "users", users);
        return o;
}
