/* SPDX-License-Identifier: MIT */
/* A tree's intake, one step at a time: a delivery is validated, then applied; a newer one replaces a pending
 * one (counted as superseded) at either stage; an invalid one is dropped with the parser's message; what is
 * replaced is freed by later steps, first, and never more than a few at a time wait to be freed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "tests.h"
#include "tree-intake.h"

static json_t *load(const char *text) {
        json_t *j = json_loads(text, 0, NULL);

        ASSERT_TRUE(j);
        return j;
}

static void offer(TreeIntake *ti, const char *text, uint64_t hash) {
        char *origin = strdup("test");

        ASSERT_TRUE(origin);
        tree_intake_offer(ti, load(text), hash, /* version= */ (int64_t) hash, origin);
}

/* Exactly `n` steps free something, then `then` is next. */
static void assert_retires(TreeIntake *ti, size_t n, TreeIntakeStep then) {
        for (size_t i = 0; i < n; i++) {
                ASSERT_EQ_INT(tree_intake_next(ti), TREE_INTAKE_RETIRE);
                tree_intake_retire_one(ti);
        }
        ASSERT_EQ_INT(tree_intake_next(ti), then);
}

TEST(test_idle) {
        TreeIntake ti = { 0 };

        ASSERT_EQ_INT(tree_intake_next(&ti), TREE_INTAKE_IDLE);
        ASSERT_TRUE(!tree_intake_drop(&ti));
        ASSERT_EQ_U64(ti.n_superseded, 0);
        tree_intake_done(&ti);
}

TEST(test_validate_then_apply) {
        TreeIntake ti = { 0 };
        TreeIntakeItem item;
        TreeError err;

        offer(&ti, "{\"slices\": {\"a\": {\"cpu_weight\": 100}}}", 7);
        ASSERT_EQ_INT(tree_intake_next(&ti), TREE_INTAKE_VALIDATE);
        ASSERT_EQ_INT(tree_intake_validate(&ti, NULL, &err), 0);
        ASSERT_EQ_INT(tree_intake_next(&ti), TREE_INTAKE_APPLY);
        tree_intake_take(&ti, &item);
        ASSERT_EQ_INT(tree_intake_next(&ti), TREE_INTAKE_IDLE);
        ASSERT_TRUE(item.json && item.tree);
        ASSERT_EQ_U64(item.tree->n_nodes, 1);
        ASSERT_STREQ(item.tree->nodes[0]->path, "a");
        ASSERT_EQ_U64(item.hash, 7);
        ASSERT_EQ_INT(item.version, 7);
        ASSERT_STREQ(item.origin, "test");
        ASSERT_EQ_U64(ti.n_superseded, 0);
        /* What the next one replaces: freed one per step, before anything else. */
        offer(&ti, "{\"slices\": {}}", 8);
        tree_intake_retire(&ti, item.json, item.tree);
        free(item.origin);
        assert_retires(&ti, 2, TREE_INTAKE_VALIDATE);
        tree_intake_done(&ti);
        ASSERT_EQ_INT(tree_intake_next(&ti), TREE_INTAKE_IDLE);
}

TEST(test_newest_wins_while_loaded) {
        TreeIntake ti = { 0 };
        TreeIntakeItem item;
        TreeError err;

        offer(&ti, "{\"slices\": {\"old\": {}}}", 1);
        offer(&ti, "{\"slices\": {\"new\": {}}}", 2);
        ASSERT_EQ_U64(ti.n_superseded, 1);
        assert_retires(&ti, 1, TREE_INTAKE_VALIDATE); /* the old JSON */
        ASSERT_EQ_INT(tree_intake_validate(&ti, NULL, &err), 0);
        tree_intake_take(&ti, &item);
        ASSERT_STREQ(item.tree->nodes[0]->path, "new");
        ASSERT_EQ_U64(item.hash, 2);
        json_decref(item.json);
        tree_unref(item.tree);
        free(item.origin);
        tree_intake_done(&ti);
}

TEST(test_newest_wins_while_validated) {
        TreeIntake ti = { 0 };
        TreeError err;

        offer(&ti, "{\"slices\": {\"old\": {}}}", 1);
        ASSERT_EQ_INT(tree_intake_validate(&ti, NULL, &err), 0);
        ASSERT_EQ_INT(tree_intake_next(&ti), TREE_INTAKE_APPLY);
        offer(&ti, "{\"slices\": {\"new\": {}}}", 2);
        ASSERT_EQ_U64(ti.n_superseded, 1);
        /* the old JSON and the old tree, then the new one */
        assert_retires(&ti, 2, TREE_INTAKE_VALIDATE);
        tree_intake_done(&ti);
}

TEST(test_drop_supersedes) {
        TreeIntake ti = { 0 };

        offer(&ti, "{\"slices\": {}}", 1);
        ASSERT_TRUE(tree_intake_drop(&ti));
        ASSERT_EQ_U64(ti.n_superseded, 1);
        ASSERT_TRUE(!tree_intake_drop(&ti));
        ASSERT_EQ_U64(ti.n_superseded, 1);
        assert_retires(&ti, 1, TREE_INTAKE_IDLE);
        tree_intake_done(&ti);
}

TEST(test_invalid_dropped_with_the_parser_message) {
        static const char text[] = "{\"slices\": {\"a\": {\"cpu_weight\": -1}}}";
        TreeIntake ti = { 0 };
        Tree *t = NULL;
        TreeError err, direct;

        offer(&ti, text, 1);
        ASSERT_EQ_INT(tree_intake_validate(&ti, NULL, &err), -EINVAL);
        ASSERT_EQ_INT(tree_parse_json(text, strlen(text), &t, &direct), -EINVAL);
        ASSERT_STREQ(err.message, direct.message);
        ASSERT_CONTAINS(err.message, "$.slices.a.cpu_weight");
        ASSERT_EQ_U64(ti.n_superseded, 0); /* refused, not superseded */
        assert_retires(&ti, 1, TREE_INTAKE_IDLE);
        tree_intake_done(&ti);
}

TEST(test_retired_bounded) {
        TreeIntake ti = { 0 };
        json_t *j[TREE_INTAKE_RETIRED_MAX + 2];

        for (size_t i = 0; i < ELEMENTSOF(j); i++) {
                j[i] = load("{\"slices\": {}}");
                json_incref(j[i]); /* ours, to see when the intake lets go */
                tree_intake_retire(&ti, j[i], /* tree= */ NULL);
        }
        /* past the bound freed at once, the rest one per step */
        for (size_t i = 0; i < ELEMENTSOF(j); i++)
                ASSERT_EQ_U64(j[i]->refcount, i < TREE_INTAKE_RETIRED_MAX ? 2 : 1);
        assert_retires(&ti, TREE_INTAKE_RETIRED_MAX, TREE_INTAKE_IDLE);
        for (size_t i = 0; i < ELEMENTSOF(j); i++) {
                ASSERT_EQ_U64(j[i]->refcount, 1);
                json_decref(j[i]);
        }
        tree_intake_done(&ti);
}

int main(void) {
        RUN(test_idle);
        RUN(test_validate_then_apply);
        RUN(test_newest_wins_while_loaded);
        RUN(test_newest_wins_while_validated);
        RUN(test_drop_supersedes);
        RUN(test_invalid_dropped_with_the_parser_message);
        RUN(test_retired_bounded);
        return 0;
}
