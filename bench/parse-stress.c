/* SPDX-License-Identifier: MIT */
/* How long the loop is blocked by a hostile or merely big tree (issue 12): tree parse plus the plan from an
 * empty tree (what applying a new tree computes before any D-Bus call), for the inputs of the issue and
 * the largest valid tree. Prints one markdown row per input: wall-clock min and median over RUNS runs, and
 * the median CPU time (the same on a busy machine, where wall-clock is not).
 * For the largest valid tree it then times each step the daemon takes in a loop iteration of its own
 * (src/tree/tree-intake.h), against the one iteration that did it all before.
 *   parse-stress [RUNS [INPUT]]   (RUNS default 5; INPUT 1..5 runs that one only; the target is 100 ms per
 *                                 input, and per loop iteration, on the release build) */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fnv-collide.h"
#include "macro.h"
#include "tree-diff.h"
#include "tree-parse.h"

#define TARGET_MSEC 100.0

typedef struct Text {
        char *data;
        size_t len, cap;
} Text;

__attribute__((format(printf, 2, 3))) static void text_printf(Text *t, const char *format, ...) {
        va_list ap;
        int n;

        for (;;) {
                va_start(ap, format);
                n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0, format, ap);
                va_end(ap);
                if (n < 0)
                        abort();
                if (t->data && t->len + (size_t) n < t->cap)
                        break;
                t->cap = t->cap * 2 > t->len + (size_t) n + 4096 ? t->cap * 2 : t->len + (size_t) n + 4096;
                t->data = realloc(t->data, t->cap);
                if (!t->data)
                        abort();
        }
        t->len += (size_t) n;
}

static void cpu_list(Text *t, size_t entries) {
        for (size_t i = 0; i < entries; i++)
                text_printf(t, "%s0-8191", i > 0 ? "," : "");
}

/* {"slices": {"g0": {"allowed_cpus": "0-8191,0-8191,..."}, ...}} */
static Text cpu_tree(size_t groups, size_t entries) {
        Text t = { 0 };

        text_printf(&t, "{\"slices\": {");
        for (size_t g = 0; g < groups; g++) {
                text_printf(&t, "%s\"g%zu\": {\"allowed_cpus\": \"", g > 0 ? ", " : "", g);
                cpu_list(&t, entries);
                text_printf(&t, "\"}");
        }
        text_printf(&t, "}}");
        return t;
}

/* 10 000 top-level groups whose names share one home slot under the string map's old FNV-1a. */
static Text colliding_tree(bool native) {
        char (*names)[FNV_COLLIDE_NAME_MAX] = fnv_colliding_names(TREE_GROUPS_MAX);
        Text t = { 0 };

        if (!names)
                abort();
        text_printf(&t, native ? "{\"slices\": {" : "{\"cpu\": {\"sub_cgroup\": {");
        for (size_t i = 0; i < TREE_GROUPS_MAX; i++)
                text_printf(&t, "%s\"%s\": {}", i > 0 ? ", " : "", names[i]);
        text_printf(&t, native ? "}}" : "}}}");
        free(names);
        return t;
}

/* The largest valid tree: 10 000 groups (100 top-level with 99 children each), 40-byte names, every
 * property and a pid file on each, and CPU lists of `entries` single CPUs filling the rest of 4 MiB. */
static Text big_tree(size_t entries) {
        Text t = { 0 };

        text_printf(&t, "{\"slices\": {");
        for (size_t p = 0; p < 100; p++) {
                text_printf(&t, "%s\"parent-%033zu\": {\"cpu_weight\": 200, \"children\": {", p ? ", " : "", p);
                for (size_t c = 0; c < 99; c++) {
                        text_printf(&t, "%s\"child-%034zu\": {\"cpu_weight\": 100, \"cpu_quota\": \"150%%\", "
                                    "\"memory_max\": \"2G\", \"memory_high\": \"1G\", \"memory_low\": \"512M\", "
                                    "\"io_weight\": 500, \"tasks_max\": 4096, "
                                    "\"pid_files\": [\"/run/bench/p%zu/c%zu/main.pid\"], \"allowed_cpus\": \"",
                                    c ? ", " : "", c, p, c);
                        for (size_t e = 0; e < entries; e++)
                                text_printf(&t, "%s%zu", e ? "," : "", 1000 + 2 * e);
                        text_printf(&t, "\"}");
                }
                text_printf(&t, "}}");
        }
        text_printf(&t, "}}");
        return t;
}

static double now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static double cpu_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

static int only; /* 0: every input */
static int seq;

static void run(const char *what, const Text *input, int runs) {
        double ms[64], cpu[64];
        char outcome[160] = "";

        if (only && ++seq != only)
                return;

        for (int i = 0; i < runs; i++) {
                Tree *t = NULL, *empty = NULL;
                Plan *plan = NULL;
                TreeError err;
                double start = now_msec(), start_cpu = cpu_msec();
                int r = tree_parse_json(input->data, input->len, &t, &err);

                if (r >= 0) {
                        empty = tree_new(t->schema);
                        if (!empty || tree_diff(empty, t, &plan) < 0)
                                abort();
                        snprintf(outcome, sizeof(outcome), "parsed, %zu groups, plan of %zu", t->n_nodes,
                                 plan->n_items);
                } else
                        snprintf(outcome, sizeof(outcome), "refused: %.100s", err.message);
                plan_free(plan);
                tree_unref(empty);
                tree_unref(t);
                ms[i] = now_msec() - start;
                cpu[i] = cpu_msec() - start_cpu;
        }
        qsort(ms, (size_t) runs, sizeof(double), cmp_double);
        qsort(cpu, (size_t) runs, sizeof(double), cmp_double);
        printf("| %s | %.2f MiB | %.1f | %.1f | %.1f | %s | %s |\n", what, (double) input->len / (1024 * 1024),
               ms[0], ms[runs / 2], cpu[runs / 2], ms[runs / 2] <= TARGET_MSEC ? "met" : "**missed**", outcome);
        fflush(stdout);
}

/* The daemon's steps for one new tree replacing one as big, each in a loop iteration of its own. */
enum {
        STEP_BEFORE,   /* the one iteration before: parse (load, check, free), load again, free the old */
        STEP_LOAD,     /* the read: tree_json_load() */
        STEP_VALIDATE, /* the next iteration: tree_parse_json_value() */
        STEP_PLAN,     /* the realizer's pass, later: a plan as big (from an empty tree), freed */
        STEP_FREE_JSON,
        STEP_FREE_TREE,
        _STEP_MAX,
};

static const char *const step_names[_STEP_MAX] = {
        [STEP_BEFORE] = "before: one iteration (`tree_parse_json_for_root()`, `json_loadb()` again, free the old JSON and tree)",
        [STEP_LOAD] = "1 read: `tree_json_load()`",
        [STEP_VALIDATE] = "2 validate: `tree_parse_json_value()`",
        [STEP_PLAN] = "pass (the realizer's, later): plan from an empty tree, freed",
        [STEP_FREE_JSON] = "4 free the replaced JSON",
        [STEP_FREE_TREE] = "4 free the replaced tree",
};

static void steps(const Text *input, int runs) {
        double ms[_STEP_MAX][64], cpu[_STEP_MAX][64];
        json_t *old_json = NULL;
        Tree *old_tree = NULL;

        /* the tree being replaced, as big as the new one */
        if (tree_json_load(input->data, input->len, &old_json, NULL) < 0 ||
            tree_parse_json_value(old_json, NULL, &old_tree, NULL) < 0)
                abort();
        for (int i = 0; i < runs; i++) {
                json_t *json = NULL, *again;
                Tree *tree = NULL, *empty;
                Plan *plan = NULL;
                double start, start_cpu;

#define STEP(k, code)                                           \
        do {                                                    \
                start = now_msec();                             \
                start_cpu = cpu_msec();                         \
                code;                                           \
                ms[k][i] = now_msec() - start;                  \
                cpu[k][i] = cpu_msec() - start_cpu;             \
        } while (0)

                STEP(STEP_BEFORE, {
                        if (tree_parse_json_for_root(input->data, input->len, NULL, &tree, NULL) < 0)
                                abort();
                        again = json_loadb(input->data, input->len, 0, NULL);
                        if (!again)
                                abort();
                        json_decref(old_json);
                        tree_unref(old_tree);
                });
                old_json = again;
                old_tree = tree;
                tree = NULL;
                STEP(STEP_LOAD, if (tree_json_load(input->data, input->len, &json, NULL) < 0) abort());
                STEP(STEP_VALIDATE, if (tree_parse_json_value(json, NULL, &tree, NULL) < 0) abort());
                STEP(STEP_PLAN, {
                        empty = tree_new(tree->schema);
                        if (!empty || tree_diff(empty, tree, &plan) < 0)
                                abort();
                        plan_free(plan);
                        tree_unref(empty);
                });
                STEP(STEP_FREE_JSON, json_decref(old_json));
                STEP(STEP_FREE_TREE, tree_unref(old_tree));
#undef STEP
                old_json = json;
                old_tree = tree;
        }
        json_decref(old_json);
        tree_unref(old_tree);

        printf("\n| step of the largest valid tree (each its own loop iteration) | min ms | median ms | median CPU ms | "
               "≤ %.0f ms |\n|---|---|---|---|---|\n", TARGET_MSEC);
        for (int k = 0; k < _STEP_MAX; k++) {
                qsort(ms[k], (size_t) runs, sizeof(double), cmp_double);
                qsort(cpu[k], (size_t) runs, sizeof(double), cmp_double);
                printf("| %s | %.1f | %.1f | %.1f | %s |\n", step_names[k], ms[k][0], ms[k][runs / 2],
                       cpu[k][runs / 2], ms[k][runs / 2] <= TARGET_MSEC ? "met" : "**missed**");
        }
        fflush(stdout);
}

int main(int argc, char **argv) {
        int runs = argc > 1 ? atoi(argv[1]) : 5;
        size_t entries = 0;
        Text t;

        only = argc > 2 ? atoi(argv[2]) : 0;
        if (runs < 1 || runs > 64 || only < 0 || only > 5) {
                fprintf(stderr, "usage: %s [RUNS (1..64) [INPUT (1..5)]]\n", argv[0]);
                return 2;
        }
        printf("| input | size | min ms | median ms | median CPU ms | ≤ %.0f ms | outcome |\n"
               "|---|---|---|---|---|---|---|\n",
               TARGET_MSEC);

        t = cpu_tree(1, 590000);
        run("one CPU list of 590 000 \"0-8191\" (issue 12)", &t, runs);
        free(t.data);

        t = cpu_tree(72, 8192);
        run("72 CPU lists of 8192 \"0-8191\" (the most the limits allow)", &t, runs);
        free(t.data);

        t = colliding_tree(/* native= */ true);
        run("10 000 names colliding in FNV-1a, native", &t, runs);
        free(t.data);

        t = colliding_tree(/* native= */ false);
        run("10 000 names colliding in FNV-1a, cgrouparch", &t, runs);
        free(t.data);

        /* as many CPUs per list as keep the tree within 4 MiB */
        t = big_tree(0);
        entries = (TREE_JSON_MAX - t.len) / (10000 * 5);
        free(t.data);
        t = big_tree(entries);
        run("largest valid tree: 10 000 groups, every setting, pid file, CPU lists", &t, runs);
        if (!only || only == 5)
                steps(&t, runs);
        free(t.data);
        return 0;
}
