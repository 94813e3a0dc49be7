/* SPDX-License-Identifier: MIT */
/* `slicekeeper top`'s rows: per group and user, rates from two seconds of show_account's records (CPU %, IO
 * bytes/s, pressure), their order (cgtop's keys, kept as a tree), the depth cut, the text and JSON. Pure. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum TopSort {
        TOP_SORT_CPU,
        TOP_SORT_MEMORY,
        TOP_SORT_IO,
        TOP_SORT_TASKS,
        _TOP_SORT_MAX,
} TopSort;

enum {
        TOP_HAVE_CPU = 1 << 0,
        TOP_HAVE_MEMORY = 1 << 1,
        TOP_HAVE_IO = 1 << 2,
        TOP_HAVE_TASKS = 1 << 3,
        TOP_HAVE_PSI_CPU = 1 << 4, /* pressure: bit TOP_HAVE_PSI_CPU << TopPressure */
        TOP_HAVE_PSI_MEMORY = 1 << 5,
        TOP_HAVE_PSI_IO = 1 << 6,
};

typedef enum TopPressure {
        TOP_PRESSURE_CPU,
        TOP_PRESSURE_MEMORY,
        TOP_PRESSURE_IO,
        _TOP_PRESSURE_MAX,
} TopPressure;

typedef struct TopRow {
        char *path;      /* a group's ("" the root, "a/b"); a user's UID in decimal */
        char *user_name; /* users: the name when the daemon knows it */
        bool user;
        unsigned depth;  /* groups: 0 the root, 1 its children, ...; users 0 */
        size_t parent;   /* groups: the index of the parent row as computed (SIZE_MAX for the root) */
        unsigned have;   /* TOP_HAVE_* */
        double cpu_pct;  /* 100 = one core, over the interval */
        uint64_t memory_bytes;
        double io_bytes_per_sec; /* read + write, every device */
        uint64_t tasks;
        double pressure_pct[_TOP_PRESSURE_MAX]; /* "some": % of the interval someone stalled */
} TopRow;

typedef struct TopTable {
        TopRow *rows; /* groups in tree order (a parent before its children), then users */
        size_t n, n_groups;
        uint64_t unix_sec;   /* the later second */
        double interval_sec; /* between the two seconds; 0 when the answer held one (no rates) */
} TopTable;

/* "cpu", "memory", "io", "tasks"; or cgtop's keys 'c', 'm', 'i', 't'. -EINVAL otherwise. */
int top_sort_from_string(const char *s, TopSort *ret);
int top_sort_from_key(int key, TopSort *ret);
const char *top_sort_to_string(TopSort s);

/* From an account answer ({"<unix_sec>": record, ...}): the rows of its latest second, the rates against
 * the second before it that the answer holds. -EINVAL when it holds no second or is not that shape. */
int top_table_from_account(const json_t *answer, TopTable *ret);
/* The same from two records interval_sec apart (prev may be NULL: no rates). */
int top_table_from_records(const json_t *prev, const json_t *cur, uint64_t unix_sec, double interval_sec,
                           TopTable *ret);
void top_table_done(TopTable *t);

/* The groups as a tree with each group's children by key, largest first (ties by name), the root first;
 * then the users by key. */
void top_table_sort(TopTable *t, TopSort key);
/* Drops the groups deeper than max_depth (0: the root alone); users stay. */
void top_table_cut_depth(TopTable *t, unsigned max_depth);

/* The header line and one row's line for a terminal width columns wide (at least TOP_COLUMNS_MIN), no
 * newline; the name column takes what the numbers leave. *buf_size should be columns + 1 or more. */
#define TOP_COLUMNS_MIN 60
void top_format_header(unsigned columns, TopSort key, char *buf, size_t size);
void top_format_row(const TopRow *row, unsigned columns, char *buf, size_t size);
/* The width at which no row's name is cut (for output that is not a terminal). */
unsigned top_table_columns(const TopTable *t);
/* "1.5G", "512.0K", "17B" (powers of 1024). */
void top_format_bytes(double bytes, char *buf, size_t size);

/* {"time": s, "interval_sec": x, "sort": key, "groups": [{"path", "depth", "cpu_pct", "memory_bytes",
 * "io_bytes_per_sec", "tasks", "pressure": {"cpu", "memory", "io"}}...], "users": [{"uid", "name", ...}]}, in
 * the table's order; null for what is unknown. */
json_t *top_table_json(const TopTable *t, TopSort key);
