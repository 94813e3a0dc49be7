/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "tests.h"
#include "tree-diff.h"
#include "tree-fixtures.h"

#define BIT(p) (1u << (p))
#define ALL_PROPS (BIT(_TREE_PROP_MAX) - 1)

static Tree *parse(const char *json) {
        return tree_fixture_parse(json);
}

static Plan *diff(Tree *old, Tree *new) {
        Plan *p = NULL;

        ASSERT_EQ_INT(tree_diff(old, new, &p), 0);
        ASSERT_TRUE(p != NULL);
        return p;
}

static const PlanItem *item_for(const Plan *p, PlanOp op, const char *path) {
        for (size_t i = 0; i < p->n_items; i++)
                if (p->items[i].op == op && streq(p->items[i].node->path, path))
                        return &p->items[i];
        return NULL;
}

static size_t count_op(const Plan *p, PlanOp op) {
        size_t n = 0;

        for (size_t i = 0; i < p->n_items; i++)
                n += p->items[i].op == op;
        return n;
}

/* Every create precedes every change, every change every stop; creates go by ascending depth, stops by
 * descending depth. */
static void assert_plan_order(const Plan *p) {
        for (size_t i = 1; i < p->n_items; i++) {
                const PlanItem *a = &p->items[i - 1], *b = &p->items[i];

                ASSERT_TRUE(a->op <= b->op);
                if (a->op == b->op && a->op == PLAN_CREATE)
                        ASSERT_TRUE(a->node->depth <= b->node->depth);
                if (a->op == b->op && a->op == PLAN_STOP)
                        ASSERT_TRUE(a->node->depth >= b->node->depth);
        }
}

static const char *const three_levels =
        "{\"slices\": {\"a\": {\"cpu_weight\": 100, \"children\": {\"b\": {\"children\": {\"c\": {}}}}},"
        "              \"x\": {\"children\": {\"y\": {}}}}}";

TEST(test_null_old_creates_everything) {
        _cleanup_(tree_unrefp) Tree *new = parse(three_levels);
        _cleanup_(plan_freep) Plan *p = diff(NULL, new);

        ASSERT_EQ_INT(p->n_items, 5);
        ASSERT_EQ_INT(count_op(p, PLAN_CREATE), 5);
        for (size_t i = 0; i < p->n_items; i++) {
                ASSERT_EQ_INT(p->items[i].changed, ALL_PROPS);
                ASSERT_TRUE(p->items[i].old == NULL);
        }
        ASSERT_TRUE(p->items[0].node == tree_find(new, p->items[0].node->path)); /* points into new */
        assert_plan_order(p);
}

TEST(test_creates_parents_first) {
        /* Children listed before their parents' siblings: the plan must still go level by level. */
        _cleanup_(tree_unrefp) Tree *new = parse(three_levels);
        _cleanup_(plan_freep) Plan *p = diff(NULL, new);

        ASSERT_EQ_INT(p->items[0].node->depth, 1);
        ASSERT_EQ_INT(p->items[1].node->depth, 1);
        ASSERT_EQ_INT(p->items[2].node->depth, 2);
        ASSERT_EQ_INT(p->items[3].node->depth, 2);
        ASSERT_STREQ(p->items[4].node->path, "a/b/c");
        /* Same depth keeps tree order (stable). */
        ASSERT_STREQ(p->items[0].node->path, "a");
        ASSERT_STREQ(p->items[1].node->path, "x");
        ASSERT_STREQ(p->items[2].node->path, "a/b");
        ASSERT_STREQ(p->items[3].node->path, "x/y");
}

TEST(test_creates_under_existing_parent) {
        _cleanup_(tree_unrefp) Tree *old = parse("{\"slices\": {\"a\": {}}}");
        _cleanup_(tree_unrefp) Tree *new =
                parse("{\"slices\": {\"a\": {\"children\": {\"b\": {\"children\": {\"c\": {}}}}}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 2);
        ASSERT_STREQ(p->items[0].node->path, "a/b");
        ASSERT_STREQ(p->items[1].node->path, "a/b/c");
        ASSERT_EQ_INT(count_op(p, PLAN_CREATE), 2);
}

TEST(test_empty_new_stops_everything) {
        _cleanup_(tree_unrefp) Tree *old = parse(three_levels);
        _cleanup_(tree_unrefp) Tree *new = parse("{\"slices\": {}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 5);
        ASSERT_EQ_INT(count_op(p, PLAN_STOP), 5);
        for (size_t i = 0; i < p->n_items; i++) {
                ASSERT_TRUE(p->items[i].node == tree_find(old, p->items[i].node->path)); /* points into old */
                ASSERT_TRUE(p->items[i].old == NULL);
        }
        assert_plan_order(p);
}

TEST(test_stops_children_first) {
        _cleanup_(tree_unrefp) Tree *old = parse(three_levels);
        _cleanup_(tree_unrefp) Tree *new = parse("{}"); /* an empty tree of the other schema */
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 5);
        ASSERT_STREQ(p->items[0].node->path, "a/b/c");
        ASSERT_EQ_INT(p->items[1].node->depth, 2);
        ASSERT_EQ_INT(p->items[2].node->depth, 2);
        ASSERT_EQ_INT(p->items[3].node->depth, 1);
        ASSERT_EQ_INT(p->items[4].node->depth, 1);
}

TEST(test_null_new_stops_everything) {
        _cleanup_(tree_unrefp) Tree *old = parse(three_levels);
        _cleanup_(plan_freep) Plan *p = diff(old, NULL);

        ASSERT_EQ_INT(p->n_items, 5);
        ASSERT_EQ_INT(count_op(p, PLAN_STOP), 5);
        assert_plan_order(p);
}

TEST(test_both_null_is_empty_plan) {
        _cleanup_(plan_freep) Plan *p = diff(NULL, NULL);

        ASSERT_EQ_INT(p->n_items, 0);
}

TEST(test_unchanged_gives_no_items) {
        _cleanup_(tree_unrefp) Tree *old = parse(three_levels);
        _cleanup_(tree_unrefp) Tree *new = parse(three_levels);
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 0);
}

TEST(test_same_tree_gives_no_items) {
        _cleanup_(tree_unrefp) Tree *t = parse(three_levels);
        _cleanup_(plan_freep) Plan *p = diff(t, t);

        ASSERT_EQ_INT(p->n_items, 0);
}

TEST(test_schema_change_same_values_gives_no_items) {
        /* cgrouparch share 1024 is CPUWeight 100: the same slice as native cpu_weight 100. */
        _cleanup_(tree_unrefp) Tree *old = parse("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1024}}}}}");
        _cleanup_(tree_unrefp) Tree *new = parse("{\"slices\": {\"a\": {\"cpu_weight\": 100}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 0);
}

TEST(test_change_carries_exactly_changed_bits) {
        _cleanup_(tree_unrefp) Tree *old =
                parse("{\"slices\": {\"a\": {\"cpu_weight\": 100, \"memory_max\": \"1G\", \"tasks_max\": 10},"
                      "              \"b\": {\"io_weight\": 100}}}");
        _cleanup_(tree_unrefp) Tree *new =
                parse("{\"slices\": {\"a\": {\"cpu_weight\": 200, \"memory_max\": \"1G\", \"tasks_max\": 20},"
                      "              \"b\": {\"io_weight\": 100}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);
        const PlanItem *it;

        ASSERT_EQ_INT(p->n_items, 1);
        it = item_for(p, PLAN_CHANGE, "a");
        ASSERT_TRUE(it != NULL);
        ASSERT_EQ_INT(it->changed, BIT(TREE_PROP_CPU_WEIGHT) | BIT(TREE_PROP_TASKS_MAX));
        ASSERT_TRUE(it->node == tree_find(new, "a"));
        ASSERT_TRUE(it->old == tree_find(old, "a"));
}

TEST(test_property_added_is_a_change) {
        _cleanup_(tree_unrefp) Tree *old = parse("{\"slices\": {\"a\": {}}}");
        _cleanup_(tree_unrefp) Tree *new = parse("{\"slices\": {\"a\": {\"memory_high\": \"512M\"}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 1);
        ASSERT_EQ_INT(p->items[0].op, PLAN_CHANGE);
        ASSERT_EQ_INT(p->items[0].changed, BIT(TREE_PROP_MEMORY_HIGH));
}

TEST(test_property_removed_is_a_change_to_default) {
        _cleanup_(tree_unrefp) Tree *old = parse("{\"slices\": {\"a\": {\"memory_max\": \"1G\", \"cpu_weight\": 5}}}");
        _cleanup_(tree_unrefp) Tree *new = parse("{\"slices\": {\"a\": {\"cpu_weight\": 5}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);
        const PlanItem *it;

        ASSERT_EQ_INT(p->n_items, 1);
        it = &p->items[0];
        ASSERT_EQ_INT(it->op, PLAN_CHANGE);
        ASSERT_EQ_INT(it->changed, BIT(TREE_PROP_MEMORY_MAX));
        /* What the realizer sends: the default, not a stale value. */
        ASSERT_EQ_U64(tree_settings_effective(&it->node->settings, TREE_PROP_MEMORY_MAX), UINT64_MAX);
        ASSERT_EQ_U64(tree_settings_effective(&it->old->settings, TREE_PROP_MEMORY_MAX), 1ULL << 30);
}

TEST(test_explicit_default_equals_unset) {
        /* memory_max "infinity" and memory_low 0 are systemd's defaults: nothing to change. */
        _cleanup_(tree_unrefp) Tree *old = parse("{\"slices\": {\"a\": {}}}");
        _cleanup_(tree_unrefp) Tree *new =
                parse("{\"slices\": {\"a\": {\"memory_max\": \"infinity\", \"memory_low\": 0, \"tasks_max\": \"infinity\"}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 0);
}

TEST(test_mixed_plan_order) {
        _cleanup_(tree_unrefp) Tree *old =
                parse("{\"slices\": {\"keep\": {\"cpu_weight\": 1}, \"gone\": {\"children\": {\"deep\": {}}}}}");
        _cleanup_(tree_unrefp) Tree *new =
                parse("{\"slices\": {\"keep\": {\"cpu_weight\": 2}, \"fresh\": {\"children\": {\"sub\": {}}}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 5);
        ASSERT_EQ_INT(p->items[0].op, PLAN_CREATE);
        ASSERT_STREQ(p->items[0].node->path, "fresh");
        ASSERT_EQ_INT(p->items[1].op, PLAN_CREATE);
        ASSERT_STREQ(p->items[1].node->path, "fresh/sub");
        ASSERT_EQ_INT(p->items[2].op, PLAN_CHANGE);
        ASSERT_STREQ(p->items[2].node->path, "keep");
        ASSERT_EQ_INT(p->items[2].changed, BIT(TREE_PROP_CPU_WEIGHT));
        ASSERT_EQ_INT(p->items[3].op, PLAN_STOP);
        ASSERT_STREQ(p->items[3].node->path, "gone/deep");
        ASSERT_EQ_INT(p->items[4].op, PLAN_STOP);
        ASSERT_STREQ(p->items[4].node->path, "gone");
}

TEST(test_moved_group_is_stop_and_create) {
        /* Identity is the path: a group moved elsewhere is a new slice. */
        _cleanup_(tree_unrefp) Tree *old = parse("{\"slices\": {\"a\": {\"children\": {\"b\": {}}}}}");
        _cleanup_(tree_unrefp) Tree *new = parse("{\"slices\": {\"a\": {}, \"b\": {}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 2);
        ASSERT_TRUE(item_for(p, PLAN_CREATE, "b") != NULL);
        ASSERT_TRUE(item_for(p, PLAN_STOP, "a/b") != NULL);
}

TEST(test_plan_keeps_trees_alive) {
        Tree *old = parse("{\"slices\": {\"a\": {}}}"), *new = parse("{\"slices\": {\"b\": {}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_TRUE(p->old == old);
        ASSERT_TRUE(p->new == new);
        ASSERT_EQ_INT(old->n_ref, 2);
        ASSERT_EQ_INT(new->n_ref, 2);
        tree_unref(old);
        tree_unref(new);
        /* The items still point at live nodes. */
        ASSERT_STREQ(item_for(p, PLAN_CREATE, "b")->node->name, "b");
        ASSERT_STREQ(item_for(p, PLAN_STOP, "a")->node->name, "a");
}

TEST(test_plan_free_null) {
        ASSERT_TRUE(plan_free(NULL) == NULL);
}

TEST(test_allowed_cpus_change) {
        _cleanup_(tree_unrefp) Tree *old = parse("{\"slices\": {\"a\": {\"allowed_cpus\": \"0-1\"}, \"b\": {\"allowed_cpus\": \"2\"}}}");
        _cleanup_(tree_unrefp) Tree *new = parse("{\"slices\": {\"a\": {\"allowed_cpus\": \"0-2\"}, \"b\": {\"allowed_cpus\": \"2\"}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 1);
        ASSERT_STREQ(p->items[0].node->path, "a");
        ASSERT_EQ_INT(p->items[0].changed, BIT(TREE_PROP_ALLOWED_CPUS));
}

TEST(test_allowed_cpus_same_set_written_differently) {
        _cleanup_(tree_unrefp) Tree *old = parse("{\"slices\": {\"a\": {\"allowed_cpus\": \"0-3,6\"}}}");
        _cleanup_(tree_unrefp) Tree *new = parse("{\"slices\": {\"a\": {\"allowed_cpus\": \"6,0,1-3\"}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 0);
}

TEST(test_allowed_cpus_removed_is_a_change) {
        _cleanup_(tree_unrefp) Tree *old = parse("{\"slices\": {\"a\": {\"allowed_cpus\": \"9\"}}}");
        _cleanup_(tree_unrefp) Tree *new = parse("{\"slices\": {\"a\": {}}}");
        _cleanup_(plan_freep) Plan *p = diff(old, new);

        ASSERT_EQ_INT(p->n_items, 1);
        ASSERT_EQ_INT(p->items[0].changed, BIT(TREE_PROP_ALLOWED_CPUS));
}

TEST(test_plan_op_to_string) {
        ASSERT_STREQ(plan_op_to_string(PLAN_CREATE), "create");
        ASSERT_STREQ(plan_op_to_string(PLAN_CHANGE), "change");
        ASSERT_STREQ(plan_op_to_string(PLAN_STOP), "stop");
        ASSERT_TRUE(plan_op_to_string(_PLAN_OP_MAX) == NULL);
}

TEST(test_large_plan_order) {
        /* 200 chains of depth 4 created, then all stopped: the order holds across many items. */
        char *json = malloc(200 * 128 + 64);
        size_t len = 0;
        _cleanup_(tree_unrefp) Tree *t = NULL, *empty = NULL;
        _cleanup_(plan_freep) Plan *create = NULL, *stop = NULL;

        ASSERT_TRUE(json != NULL);
        len += (size_t) sprintf(json + len, "{\"slices\": {");
        for (int i = 0; i < 200; i++)
                len += (size_t) sprintf(json + len, "%s\"g%d\": {\"children\": {\"a\": {\"children\": {\"b\": "
                                        "{\"children\": {\"c\": {}}}}}}}", i > 0 ? ", " : "", i);
        sprintf(json + len, "}}");
        t = parse(json);
        free(json);
        empty = parse("{\"slices\": {}}");
        ASSERT_EQ_INT(t->n_nodes, 800);

        create = diff(NULL, t);
        ASSERT_EQ_INT(create->n_items, 800);
        assert_plan_order(create);
        ASSERT_EQ_INT(create->items[0].node->depth, 1);
        ASSERT_EQ_INT(create->items[799].node->depth, 4);

        stop = diff(t, empty);
        ASSERT_EQ_INT(stop->n_items, 800);
        assert_plan_order(stop);
        ASSERT_EQ_INT(stop->items[0].node->depth, 4);
        ASSERT_EQ_INT(stop->items[799].node->depth, 1);
}

int main(void) {
        RUN(test_null_old_creates_everything);
        RUN(test_creates_parents_first);
        RUN(test_creates_under_existing_parent);
        RUN(test_empty_new_stops_everything);
        RUN(test_stops_children_first);
        RUN(test_null_new_stops_everything);
        RUN(test_both_null_is_empty_plan);
        RUN(test_unchanged_gives_no_items);
        RUN(test_same_tree_gives_no_items);
        RUN(test_schema_change_same_values_gives_no_items);
        RUN(test_change_carries_exactly_changed_bits);
        RUN(test_property_added_is_a_change);
        RUN(test_property_removed_is_a_change_to_default);
        RUN(test_explicit_default_equals_unset);
        RUN(test_mixed_plan_order);
        RUN(test_moved_group_is_stop_and_create);
        RUN(test_plan_keeps_trees_alive);
        RUN(test_plan_free_null);
        RUN(test_allowed_cpus_change);
        RUN(test_allowed_cpus_same_set_written_differently);
        RUN(test_allowed_cpus_removed_is_a_change);
        RUN(test_plan_op_to_string);
        RUN(test_large_plan_order);
        return 0;
}
