/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "planner.h"
#include "strv.h"
#include "tests.h"
#include "tree-fixtures.h"
#include "unit-name.h"

#define BIT(p) (1u << (p))
#define ALL_PROPS (BIT(_TREE_PROP_MAX) - 1)
#define MAX_CANDS 32

/* What a realizer pass would hand the planner: the candidates as pass_start() collects them (the desired
 * tree's units, then the recorded ones), what systemd reported about them, the records, the protected list. */
typedef struct Fixture {
        const char *root;
        Tree *desired;
        PlannerCandidate cands[MAX_CANDS];
        size_t n;
        StrMap records;
        char **protected;
        char *strings[MAX_CANDS]; /* unit names the candidates borrow */
        Tree *reported[MAX_CANDS]; /* the settings the candidates borrow */
        size_t n_strings, n_reported;
} Fixture;

static PlannerCandidate *cand(Fixture *f, const char *unit, const char *path) {
        for (size_t i = 0; i < f->n; i++)
                if (streq(f->cands[i].unit, unit))
                        return &f->cands[i];
        ASSERT_TRUE(f->n < MAX_CANDS);
        f->cands[f->n] = (PlannerCandidate) { .unit = unit, .path = path, .tasks_current = UINT64_MAX };
        return &f->cands[f->n++];
}

static void fixture_init(Fixture *f, const char *root, const char *desired_json) {
        *f = (Fixture) { .root = root };
        f->desired = desired_json ? tree_fixture_parse(desired_json) : NULL;
        for (size_t i = 0; f->desired && i < f->desired->n_nodes; i++) {
                char *unit = NULL;

                ASSERT_EQ_INT(unit_name_from_path(root, f->desired->nodes[i]->path, &unit), 0);
                f->strings[f->n_strings++] = unit;
                cand(f, unit, f->desired->nodes[i]->path)->desired = true;
        }
}

static void fixture_done(Fixture *f) {
        for (size_t i = 0; i < f->n_strings; i++)
                free(f->strings[i]);
        for (size_t i = 0; i < f->n_reported; i++)
                tree_unref(f->reported[i]);
        tree_unref(f->desired);
        strmap_done(&f->records);
        strv_free(f->protected);
}

/* An ownership record: unit → group path. */
static void record(Fixture *f, const char *unit, const char *path) {
        ASSERT_EQ_INT(strmap_put(&f->records, unit, (void *) path), 0);
        cand(f, unit, path)->owned = true;
}

static void protect(Fixture *f, const char *name) {
        ASSERT_EQ_INT(strv_extend(&f->protected, name), 0);
}

/* systemd lists the unit and it runs with these settings (a group's JSON object), tasks and accounting. */
static PlannerCandidate *running(Fixture *f, const char *unit, const char *settings_json, uint64_t tasks,
                                 bool accounting) {
        PlannerCandidate *c = cand(f, unit, NULL);
        char json[512];
        Tree *t;

        ASSERT_TRUE(c->path != NULL); /* desired or recorded first */
        ASSERT_TRUE((size_t) snprintf(json, sizeof(json), "{\"slices\": {\"g\": %s}}", settings_json) <
                    sizeof(json));
        t = tree_fixture_parse(json);
        ASSERT_TRUE(f->n_reported < MAX_CANDS);
        f->reported[f->n_reported++] = t;
        c->exists = c->have_props = true;
        c->settings = tree_find(t, "g")->settings;
        c->tasks_current = tasks;
        c->accounting_on = accounting;
        return c;
}

/* A slice of ours: recorded, and running. */
static PlannerCandidate *own(Fixture *f, const char *unit, const char *path, const char *settings_json,
                             uint64_t tasks, bool accounting) {
        record(f, unit, path);
        return running(f, unit, settings_json, tasks, accounting);
}

static PlannerResult *plan(const Fixture *f) {
        PlannerResult *res = NULL;

        ASSERT_EQ_INT(planner_plan(&(PlannerInput) {
                                           .candidates = f->cands, .n_candidates = f->n, .desired = f->desired,
                                           .records = &f->records, .protected = f->protected, .root = f->root,
                                   }, &res),
                      0);
        ASSERT_TRUE(res != NULL);
        return res;
}

static const PlannerOp *op_of(const PlannerResult *res, const char *unit) {
        const PlannerOp *found = NULL;

        for (size_t i = 0; i < res->n_ops; i++)
                if (streq(res->ops[i].unit, unit)) {
                        ASSERT_TRUE(!found); /* one op per unit */
                        found = &res->ops[i];
                }
        return found;
}

static void assert_op(const PlannerResult *res, size_t i, PlanOp kind, const char *unit, PlannerSkip skip) {
        ASSERT_TRUE(i < res->n_ops);
        if (res->ops[i].kind != kind || !streq(res->ops[i].unit, unit) || res->ops[i].skip != skip)
                fprintf(stderr, "op %zu is %s %s (skip %d), expected %s %s (skip %d)\n", i,
                        plan_op_to_string(res->ops[i].kind), res->ops[i].unit, res->ops[i].skip,
                        plan_op_to_string(kind), unit, skip);
        ASSERT_EQ_INT(res->ops[i].kind, kind);
        ASSERT_STREQ(res->ops[i].unit, unit);
        ASSERT_EQ_INT(res->ops[i].skip, skip);
        ASSERT_TRUE((res->ops[i].reason == NULL) == (skip == PLANNER_RUN));
        ASSERT_EQ_INT(res->ops[i].depth, tree_path_depth(res->ops[i].path));
}

TEST(test_creates_what_is_missing_parents_first) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {\"a\": {\"cpu_weight\": 100, \"children\": {\"b\": {\"children\":"
                               " {\"c\": {}}}}}, \"x\": {}}}");
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 4);
        assert_op(res, 0, PLAN_CREATE, "a.slice", PLANNER_RUN);
        assert_op(res, 1, PLAN_CREATE, "x.slice", PLANNER_RUN);
        assert_op(res, 2, PLAN_CREATE, "a-b.slice", PLANNER_RUN);
        assert_op(res, 3, PLAN_CREATE, "a-b-c.slice", PLANNER_RUN);
        for (size_t i = 0; i < res->n_ops; i++) {
                ASSERT_TRUE(res->ops[i].node == tree_find(f.desired, res->ops[i].path)); /* into the tree */
                ASSERT_EQ_INT(res->ops[i].mask, ALL_PROPS);
                ASSERT_TRUE(!res->ops[i].accounting);
        }
        ASSERT_STREQ(res->ops[2].path, "a/b");
        ASSERT_EQ_INT(res->ops[3].depth, 3);
        ASSERT_EQ_INT(res->n_stale, 0);
        ASSERT_TRUE(res->stale == NULL);
}

TEST(test_unit_names_carry_the_root) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, "sk", "{\"slices\": {\"a\": {\"children\": {\"b\": {}}}, \"c\": {}}}");
        own(&f, "sk-c.slice", "c", "{}", 0, true);
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 2); /* c runs as desired */
        assert_op(res, 0, PLAN_CREATE, "sk-a.slice", PLANNER_RUN);
        assert_op(res, 1, PLAN_CREATE, "sk-a-b.slice", PLANNER_RUN);
        ASSERT_STREQ(res->ops[1].path, "a/b");
}

TEST(test_running_as_desired_gives_no_ops) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {\"a\": {\"cpu_weight\": 100, \"memory_max\": \"1G\"}}}");
        own(&f, "a.slice", "a", "{\"memory_max\": \"1G\", \"cpu_weight\": 100}", 5, true);
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 0);
        ASSERT_EQ_INT(res->n_stale, 0);
}

TEST(test_changes_only_what_differs) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {\"a\": {\"cpu_weight\": 200, \"memory_max\": \"1G\"},"
                               " \"b\": {\"tasks_max\": 10}}}");
        running(&f, "a.slice", "{\"cpu_weight\": 100, \"memory_max\": \"1G\"}", 0, true);
        running(&f, "b.slice", "{\"tasks_max\": 10, \"io_weight\": 50}", 0, true); /* not ours: adopted */
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 2);
        assert_op(res, 0, PLAN_CHANGE, "a.slice", PLANNER_RUN);
        ASSERT_EQ_INT(res->ops[0].mask, BIT(TREE_PROP_CPU_WEIGHT));
        ASSERT_TRUE(res->ops[0].accounting);
        ASSERT_TRUE(res->ops[0].node == tree_find(f.desired, "a"));
        assert_op(res, 1, PLAN_CHANGE, "b.slice", PLANNER_RUN); /* back to systemd's default */
        ASSERT_EQ_INT(res->ops[1].mask, BIT(TREE_PROP_IO_WEIGHT));
}

/* The fallback for a slice that matches but whose accounting was switched off: a change of no property
 * that switches accounting back on; one op per unit when its properties differ as well. */
TEST(test_accounting_switched_off_gets_a_change_of_its_own) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {\"a\": {\"cpu_weight\": 100}, \"b\": {\"cpu_weight\": 7},"
                               " \"c\": {}}}");
        running(&f, "a.slice", "{\"cpu_weight\": 100}", 0, /* accounting= */ false);
        running(&f, "b.slice", "{\"cpu_weight\": 8}", 0, /* accounting= */ false);
        running(&f, "c.slice", "{}", 0, /* accounting= */ true);
        own(&f, "later.slice", "later", "{}", 0, /* accounting= */ false);
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 3);
        assert_op(res, 0, PLAN_CHANGE, "b.slice", PLANNER_RUN);
        ASSERT_EQ_INT(res->ops[0].mask, BIT(TREE_PROP_CPU_WEIGHT));
        assert_op(res, 1, PLAN_CHANGE, "a.slice", PLANNER_RUN);
        ASSERT_EQ_INT(res->ops[1].mask, 0);
        ASSERT_TRUE(res->ops[1].accounting);
        ASSERT_TRUE(res->ops[1].node == tree_find(f.desired, "a"));
        assert_op(res, 2, PLAN_STOP, "later.slice", PLANNER_RUN); /* only stopped, not fixed first */
}

TEST(test_stops_owned_units_gone_from_the_tree_children_first) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {\"a\": {}}}");
        own(&f, "a.slice", "a", "{}", 0, true);
        own(&f, "a-b.slice", "a/b", "{}", 0, true);
        own(&f, "a-b-c.slice", "a/b/c", "{}", 0, true);
        own(&f, "x.slice", "x", "{\"cpu_weight\": 3}", 0, false);
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 3);
        assert_op(res, 0, PLAN_STOP, "a-b-c.slice", PLANNER_RUN);
        assert_op(res, 1, PLAN_STOP, "a-b.slice", PLANNER_RUN);
        assert_op(res, 2, PLAN_STOP, "x.slice", PLANNER_RUN);
        for (size_t i = 0; i < res->n_ops; i++) {
                ASSERT_TRUE(res->ops[i].node == NULL);
                ASSERT_EQ_INT(res->ops[i].mask, 0);
                ASSERT_TRUE(!res->ops[i].accounting);
        }
        ASSERT_STREQ(res->ops[1].path, "a/b");
}

/* Creates (parents first), then changes (one stage, in planning order whatever their depth), then stops
 * (children first). */
TEST(test_mixed_plan_order) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {\"p\": {\"cpu_weight\": 10,"
                               " \"children\": {\"q\": {\"cpu_weight\": 20}}},"
                               " \"n\": {\"children\": {\"m\": {}}}, \"r\": {}}}");
        running(&f, "p.slice", "{\"cpu_weight\": 1}", 0, true);
        running(&f, "p-q.slice", "{\"cpu_weight\": 2}", 0, true);
        running(&f, "r.slice", "{}", 0, false);
        own(&f, "old.slice", "old", "{}", 0, true);
        own(&f, "old-kid.slice", "old/kid", "{}", 0, true);
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 7);
        assert_op(res, 0, PLAN_CREATE, "n.slice", PLANNER_RUN);
        assert_op(res, 1, PLAN_CREATE, "n-m.slice", PLANNER_RUN);
        assert_op(res, 2, PLAN_CHANGE, "p.slice", PLANNER_RUN);
        assert_op(res, 3, PLAN_CHANGE, "p-q.slice", PLANNER_RUN);
        assert_op(res, 4, PLAN_CHANGE, "r.slice", PLANNER_RUN); /* accounting only: planned after the diff */
        assert_op(res, 5, PLAN_STOP, "old-kid.slice", PLANNER_RUN);
        assert_op(res, 6, PLAN_STOP, "old.slice", PLANNER_RUN);
}

TEST(test_never_stops_what_it_does_not_own) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {\"b\": {\"cpu_weight\": 5}}}");
        running(&f, "b.slice", "{\"cpu_weight\": 6}", 0, true); /* someone else's, named by the tree */
        cand(&f, "foreign.slice", "foreign");
        running(&f, "foreign.slice", "{}", 0, true);
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 2);
        assert_op(res, 0, PLAN_CHANGE, "b.slice", PLANNER_RUN); /* adopted: its properties are ours to set */
        assert_op(res, 1, PLAN_STOP, "foreign.slice", PLANNER_SKIP_FOREIGN);
        ASSERT_STREQ(res->ops[1].reason, "not created by slicekeeper");
}

TEST(test_protected_units_are_never_touched) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {\"a\": {\"children\": {\"c\": {}, \"d\": {}}}, \"b\": {},"
                               " \"x\": {}, \"system\": {}, \"y\": {\"cpu_weight\": 9}}}");
        protect(&f, "b");        /* a group name */
        protect(&f, "x.slice");  /* a unit name */
        protect(&f, "a/c");      /* a group path */
        protect(&f, "z");
        protect(&f, "y");
        own(&f, "z.slice", "z", "{}", 4, true);
        running(&f, "y.slice", "{\"cpu_weight\": 1}", 0, true);
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 8);
        ASSERT_EQ_INT(op_of(res, "a.slice")->skip, PLANNER_RUN);
        ASSERT_EQ_INT(op_of(res, "a-d.slice")->skip, PLANNER_RUN);
        ASSERT_EQ_INT(op_of(res, "a-c.slice")->skip, PLANNER_SKIP_PROTECTED);
        ASSERT_EQ_INT(op_of(res, "b.slice")->skip, PLANNER_SKIP_PROTECTED);
        ASSERT_EQ_INT(op_of(res, "x.slice")->skip, PLANNER_SKIP_PROTECTED);
        ASSERT_EQ_INT(op_of(res, "system.slice")->skip, PLANNER_SKIP_PROTECTED); /* systemd's own */
        ASSERT_EQ_INT(op_of(res, "y.slice")->kind, PLAN_CHANGE);
        ASSERT_EQ_INT(op_of(res, "y.slice")->skip, PLANNER_SKIP_PROTECTED);
        /* Protection comes first: ours and holding tasks, yet the reason is that it is protected. */
        ASSERT_EQ_INT(op_of(res, "z.slice")->kind, PLAN_STOP);
        ASSERT_EQ_INT(op_of(res, "z.slice")->skip, PLANNER_SKIP_PROTECTED);
        ASSERT_STREQ(op_of(res, "z.slice")->reason, "protected");
}

TEST(test_a_slice_that_holds_tasks_is_not_stopped) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {}}");
        record(&f, "unknown.slice", "unknown");
        own(&f, "busy.slice", "busy", "{}", 3, true);
        own(&f, "empty.slice", "empty", "{}", 0, true);
        running(&f, "unknown.slice", "{}", UINT64_MAX, true); /* TasksCurrent not known: stopped */
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 3);
        ASSERT_EQ_INT(op_of(res, "busy.slice")->skip, PLANNER_SKIP_BUSY);
        ASSERT_STREQ(op_of(res, "busy.slice")->reason,
                     "removed from the tree but still holds 3 tasks; it is stopped once empty");
        ASSERT_EQ_INT(op_of(res, "empty.slice")->skip, PLANNER_RUN);
        ASSERT_EQ_INT(op_of(res, "unknown.slice")->skip, PLANNER_RUN);
}

/* Root= changed from "old" to none: the slices under the old names are stopped; the same groups' units
 * under the new names are not recorded as ours, so their stops (from the diff) are refused. */
TEST(test_a_root_change_stops_the_units_under_the_old_names) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {\"k\": {}}}");
        own(&f, "old-a.slice", "a", "{}", 0, true);
        own(&f, "old-k.slice", "k", "{}", 0, true);
        own(&f, "b.slice", "b", "{}", 0, true); /* under the current naming */
        running(&f, "k.slice", "{}", 0, true);
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 4);
        assert_op(res, 0, PLAN_STOP, "a.slice", PLANNER_SKIP_FOREIGN);
        assert_op(res, 1, PLAN_STOP, "b.slice", PLANNER_RUN); /* once: not again as an old name */
        assert_op(res, 2, PLAN_STOP, "old-a.slice", PLANNER_RUN);
        ASSERT_STREQ(res->ops[2].path, "a");
        assert_op(res, 3, PLAN_STOP, "old-k.slice", PLANNER_RUN); /* its group is still desired, not it */
}

TEST(test_stale_records_are_listed_not_removed) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {\"kept\": {}, \"back\": {}}}");
        record(&f, "back.slice", "back");       /* gone, but desired again: created, not stale */
        record(&f, "gone.slice", "gone");       /* gone and not desired: stale */
        record(&f, "gone-too.slice", "gone/too");
        record(&f, "loaded.slice", "loaded");   /* listed but inactive: nothing to stop, not stale either */
        own(&f, "kept.slice", "kept", "{}", 0, true);
        cand(&f, "loaded.slice", NULL)->exists = true;
        res = plan(&f);
        ASSERT_EQ_INT(res->n_ops, 1);
        assert_op(res, 0, PLAN_CREATE, "back.slice", PLANNER_RUN);
        ASSERT_EQ_INT(res->n_stale, 2);
        ASSERT_EQ_INT(strv_length(res->stale), 2);
        ASSERT_STREQ(res->stale[0], "gone.slice");
        ASSERT_STREQ(res->stale[1], "gone-too.slice");
        /* Listed for the caller; the record set is as it was. */
        ASSERT_EQ_INT(f.records.n, 5);
        ASSERT_STREQ(strmap_get(&f.records, "gone.slice"), "gone");
        ASSERT_STREQ(strmap_get(&f.records, "gone-too.slice"), "gone/too");
}

/* A stale record counts as forgotten already: its unit is not ours to stop, as when the planner removed it
 * first. The slice at its path runs under an old name (Root= changed), which is stopped. */
TEST(test_a_stale_record_does_not_make_its_unit_ours) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, "{\"slices\": {}}");
        record(&f, "a.slice", "a");
        own(&f, "old-a.slice", "a", "{}", 0, true);
        res = plan(&f);
        ASSERT_EQ_INT(res->n_stale, 1);
        ASSERT_STREQ(res->stale[0], "a.slice");
        ASSERT_EQ_INT(res->n_ops, 2);
        assert_op(res, 0, PLAN_STOP, "a.slice", PLANNER_SKIP_FOREIGN);
        assert_op(res, 1, PLAN_STOP, "old-a.slice", PLANNER_RUN);
}

TEST(test_no_desired_tree_stops_only_what_is_ours) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;

        fixture_init(&f, NULL, NULL);
        own(&f, "a.slice", "a", "{}", 0, true);
        own(&f, "a-b.slice", "a/b", "{}", 0, false);
        cand(&f, "c.slice", "c");
        running(&f, "c.slice", "{}", 0, false);
        res = plan(&f);
        ASSERT_TRUE(res->desired == NULL);
        ASSERT_EQ_INT(res->n_ops, 3);
        assert_op(res, 0, PLAN_STOP, "a-b.slice", PLANNER_RUN);
        assert_op(res, 1, PLAN_STOP, "a.slice", PLANNER_RUN);
        assert_op(res, 2, PLAN_STOP, "c.slice", PLANNER_SKIP_FOREIGN);
}

static void assert_same_result(const PlannerResult *a, const PlannerResult *b) {
        ASSERT_EQ_INT(a->n_ops, b->n_ops);
        for (size_t i = 0; i < a->n_ops; i++) {
                const PlannerOp *x = &a->ops[i], *y = &b->ops[i];

                ASSERT_EQ_INT(x->kind, y->kind);
                ASSERT_STREQ(x->unit, y->unit);
                ASSERT_STREQ(x->path, y->path);
                ASSERT_TRUE(x->node == y->node);
                ASSERT_EQ_INT(x->depth, y->depth);
                ASSERT_EQ_INT(x->mask, y->mask);
                ASSERT_EQ_INT(x->accounting, y->accounting);
                ASSERT_EQ_INT(x->skip, y->skip);
                ASSERT_TRUE((x->reason == NULL) == (y->reason == NULL));
                if (x->reason)
                        ASSERT_STREQ(x->reason, y->reason);
        }
        ASSERT_EQ_INT(a->n_stale, b->n_stale);
        for (size_t i = 0; i < a->n_stale; i++)
                ASSERT_STREQ(a->stale[i], b->stale[i]);
}

/* Planning has no side effects: a dry run (or a plan never run) leaves the records, the candidates and
 * the trees as they were, and planning again gives the same plan. */
TEST(test_planning_twice_gives_the_same_plan_and_changes_nothing) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(planner_result_freep) PlannerResult *first = NULL, *second = NULL;
        PlannerCandidate before[MAX_CANDS];
        const TreeNode *w;

        fixture_init(&f, "sk", "{\"slices\": {\"w\": {\"allowed_cpus\": \"0-3\", \"cpu_weight\": 50},"
                               " \"new\": {}, \"p\": {}}}");
        protect(&f, "p");
        record(&f, "sk-gone.slice", "gone");
        own(&f, "sk-w.slice", "w", "{\"allowed_cpus\": \"0-1\", \"cpu_weight\": 50}", 0, false);
        own(&f, "sk-busy.slice", "busy", "{}", 2, true);
        own(&f, "sk-idle.slice", "idle", "{\"allowed_cpus\": \"1\"}", 0, true);
        memcpy(before, f.cands, sizeof(before));

        first = plan(&f);
        second = plan(&f);
        assert_same_result(first, second);
        ASSERT_EQ_INT(first->n_ops, 5);
        assert_op(first, 0, PLAN_CREATE, "sk-new.slice", PLANNER_RUN);
        assert_op(first, 1, PLAN_CREATE, "sk-p.slice", PLANNER_SKIP_PROTECTED);
        assert_op(first, 2, PLAN_CHANGE, "sk-w.slice", PLANNER_RUN);
        ASSERT_EQ_INT(first->ops[2].mask, BIT(TREE_PROP_ALLOWED_CPUS));
        assert_op(first, 3, PLAN_STOP, "sk-busy.slice", PLANNER_SKIP_BUSY);
        assert_op(first, 4, PLAN_STOP, "sk-idle.slice", PLANNER_RUN);
        ASSERT_EQ_INT(first->n_stale, 1);
        ASSERT_STREQ(first->stale[0], "sk-gone.slice");

        /* Nothing it was given has changed: the records, the candidates (their settings are borrowed, not
         * taken over), the desired tree. */
        ASSERT_EQ_INT(f.records.n, 4);
        ASSERT_STREQ(strmap_get(&f.records, "sk-gone.slice"), "gone");
        ASSERT_TRUE(memcmp(before, f.cands, sizeof(before)) == 0);
        ASSERT_EQ_INT(f.cands[0].settings.n_cpus, 1);
        ASSERT_EQ_INT(f.cands[0].settings.cpus[0], 0x3);
        w = tree_find(f.desired, "w");
        ASSERT_EQ_INT(w->settings.cpus[0], 0xf);
        ASSERT_TRUE(first->desired == f.desired && f.desired->n_ref == 3); /* one reference per result */
}

TEST(test_a_name_too_long_fails_the_plan_without_a_result) {
        _cleanup_(fixture_done) Fixture f;
        char path[300];
        PlannerResult *res = (PlannerResult *) &f; /* untouched on failure */

        memset(path, 'a', sizeof(path) - 1);
        path[sizeof(path) - 1] = 0;
        fixture_init(&f, NULL, "{\"slices\": {}}");
        own(&f, "x.slice", path, "{}", 0, true);
        ASSERT_EQ_INT(planner_plan(&(PlannerInput) {
                                           .candidates = f.cands, .n_candidates = f.n, .desired = f.desired,
                                           .records = &f.records,
                                   }, &res),
                      -ENAMETOOLONG);
        ASSERT_TRUE(res == (PlannerResult *) &f);
}

TEST(test_is_protected) {
        _cleanup_(strv_freep) char **protected = NULL;

        ASSERT_EQ_INT(strv_extend(&protected, "db"), 0);
        ASSERT_EQ_INT(strv_extend(&protected, "web/api"), 0);
        ASSERT_EQ_INT(strv_extend(&protected, "batch.slice"), 0);
        ASSERT_TRUE(planner_is_protected(protected, "batch.slice", NULL));
        ASSERT_TRUE(planner_is_protected(protected, "x-db.slice", "x/db"));    /* by name, at any depth */
        ASSERT_TRUE(planner_is_protected(protected, "db.slice", "db"));
        ASSERT_TRUE(planner_is_protected(protected, "web-api.slice", "web/api")); /* by path */
        ASSERT_TRUE(!planner_is_protected(protected, "other-api.slice", "other/api"));
        ASSERT_TRUE(!planner_is_protected(protected, "web.slice", "web"));
        ASSERT_TRUE(!planner_is_protected(protected, "db.slice", NULL)); /* a path is needed for names */
        ASSERT_TRUE(planner_is_protected(NULL, "system.slice", "system")); /* systemd's own, always */
        ASSERT_TRUE(planner_is_protected(NULL, "-.slice", NULL));
        ASSERT_TRUE(!planner_is_protected(NULL, "a.slice", "a"));
}

TEST(test_result_free_null) {
        ASSERT_TRUE(planner_result_free(NULL) == NULL);
}

int main(void) {
        RUN(test_creates_what_is_missing_parents_first);
        RUN(test_unit_names_carry_the_root);
        RUN(test_running_as_desired_gives_no_ops);
        RUN(test_changes_only_what_differs);
        RUN(test_accounting_switched_off_gets_a_change_of_its_own);
        RUN(test_stops_owned_units_gone_from_the_tree_children_first);
        RUN(test_mixed_plan_order);
        RUN(test_never_stops_what_it_does_not_own);
        RUN(test_protected_units_are_never_touched);
        RUN(test_a_slice_that_holds_tasks_is_not_stopped);
        RUN(test_a_root_change_stops_the_units_under_the_old_names);
        RUN(test_stale_records_are_listed_not_removed);
        RUN(test_a_stale_record_does_not_make_its_unit_ours);
        RUN(test_no_desired_tree_stops_only_what_is_ours);
        RUN(test_planning_twice_gives_the_same_plan_and_changes_nothing);
        RUN(test_a_name_too_long_fails_the_plan_without_a_result);
        RUN(test_is_protected);
        RUN(test_result_free_null);
        return 0;
}
