/* SPDX-License-Identifier: MIT */
/* The tree JSON (src/tree/tree-parse.c, both schemas) and the diff of what it parses to (tree-diff.c)
 * against a fixed tree and against nothing. A rejected tree has a message; an accepted one keeps the
 * limits, and every plan is what its trees say: nothing against itself or the same text parsed again,
 * creations parents first, stops children first, each group in the plan exactly where it belongs. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "tree-diff.h"
#include "tree-parse.h"
#include "unit-name.h"

/* Overlaps the seeds (tests/data/cgrouparch-example.json, tests/fuzz/corpus/tree/) by path and
 * property, so diffs find changes as well as creations and stops. */
static const char fixed_json[] =
        "{\"slices\": {\"test_cgroup_a\": {\"cpu_weight\": 100},"
        "              \"test_cgroup_b\": {\"cpu_weight\": 10, \"memory_max\": \"1G\","
        "                                  \"children\": {\"test_cgroup_b_sub1\": {\"tasks_max\": 50}}},"
        "              \"web\": {\"cpu_quota\": \"150%\", \"allowed_cpus\": \"0-3\", \"io_weight\": 300,"
        "                        \"children\": {\"static\": {\"cpu_weight\": 50}}}}}";
static Tree *fixed;

/* same: the trees hold the same groups and settings, so the plan is empty. */
static void check_plan(Tree *old, Tree *new, bool same) {
        Plan *plan = NULL;
        size_t n_create = 0, n_stop = 0;

        FUZZ_CHECK(tree_diff(old, new, &plan) == 0);
        for (size_t i = 0; i < plan->n_items; i++) {
                const PlanItem *it = &plan->items[i], *prev = i > 0 ? &plan->items[i - 1] : NULL;

                FUZZ_CHECK(!prev || prev->op <= it->op);
                switch (it->op) {
                case PLAN_CREATE:
                        FUZZ_CHECK(new && tree_find(new, it->node->path) == it->node);
                        FUZZ_CHECK(!old || !tree_find(old, it->node->path));
                        FUZZ_CHECK(!prev || prev->op != PLAN_CREATE || prev->node->depth <= it->node->depth);
                        n_create++;
                        break;
                case PLAN_CHANGE:
                        FUZZ_CHECK(new && tree_find(new, it->node->path) == it->node);
                        FUZZ_CHECK(old && tree_find(old, it->node->path) == it->old);
                        FUZZ_CHECK(it->changed != 0 &&
                                   it->changed == tree_settings_diff(&it->old->settings, &it->node->settings));
                        break;
                case PLAN_STOP:
                        FUZZ_CHECK(old && tree_find(old, it->node->path) == it->node);
                        FUZZ_CHECK(!new || !tree_find(new, it->node->path));
                        FUZZ_CHECK(!prev || prev->op != PLAN_STOP || prev->node->depth >= it->node->depth);
                        n_stop++;
                        break;
                default:
                        FUZZ_CHECK(!"unknown plan op");
                }
        }
        if (!old)
                FUZZ_CHECK(n_create == new->n_nodes && plan->n_items == n_create);
        if (!new)
                FUZZ_CHECK(n_stop == old->n_nodes && plan->n_items == n_stop);
        if (same)
                FUZZ_CHECK(plan->n_items == 0);
        plan_free(plan);
}

static void check_tree(const Tree *t) {
        FUZZ_CHECK(t->n_nodes <= TREE_GROUPS_MAX);
        for (size_t i = 0; i < t->n_nodes; i++) {
                const TreeNode *n = t->nodes[i];
                char *unit = NULL;

                FUZZ_CHECK(tree_find(t, n->path) == n);
                FUZZ_CHECK(n->depth >= 1 && n->depth <= TREE_DEPTH_MAX && n->depth == tree_path_depth(n->path));
                FUZZ_CHECK(n->name[0] && strlen(n->name) <= TREE_NAME_MAX && !strchr(n->name, '/'));
                /* parents before children */
                FUZZ_CHECK(n->depth == 1 ? !n->parent : n->parent && n->parent->depth == n->depth - 1);
                /* the realizer names the slice; whether every valid tree can be named is tree-parse's
                 * business, here it must only not crash */
                (void) unit_name_from_path(NULL, n->path, &unit);
                free(unit);
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        TreeError err;

        FUZZ_CHECK(tree_parse_json(fixed_json, sizeof(fixed_json) - 1, &fixed, &err) == 0);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TreeError err = { .message = "untouched" };
        Tree *t = NULL, *again = NULL;
        int r;

        r = tree_parse_json((const char *) data, size, &t, &err);
        if (r < 0) {
                FUZZ_CHECK(r == -EFBIG || r == -EBADMSG || r == -EINVAL || r == -E2BIG || r == -ELOOP);
                FUZZ_CHECK(!t);
                FUZZ_CHECK(err.message[0] && strcmp(err.message, "untouched") != 0);
                FUZZ_CHECK(strnlen(err.message, sizeof(err.message)) < sizeof(err.message));
                return 0;
        }
        FUZZ_CHECK(r == 0 && t);
        check_tree(t);
        check_plan(t, t, true);
        /* the same text parses to the same tree: no change between the two */
        FUZZ_CHECK(tree_parse_json((const char *) data, size, &again, &err) == 0);
        FUZZ_CHECK(again->n_nodes == t->n_nodes && again->schema == t->schema);
        check_plan(t, again, true);
        tree_unref(again);
        check_plan(fixed, t, false);
        check_plan(t, fixed, false);
        check_plan(NULL, t, false);
        check_plan(t, NULL, false);
        tree_unref(t);
        return 0;
}
