/* SPDX-License-Identifier: MIT */
/* The tree JSON (src/tree/tree-parse.c, both schemas) and the diff of what it parses to (tree-diff.c)
 * against a fixed tree and against nothing. A rejected tree has a message naming its JSON path ("$...");
 * an accepted one keeps the limits, and every plan is what its trees say: nothing against itself or the
 * same text parsed again, creations parents first, stops children first, each group in the plan exactly
 * where it belongs. The same text is also parsed for a root ([Slices] Root=: "sk", or one long enough that
 * unit name limits bite), and every accepted group must get the names the daemon derives (slice, scope,
 * ownership record, scope cgroup path) within systemd's limits, and a name D-Bus takes. Loaded and checked
 * in two halves (tree_json_load(), tree_parse_json_value(): the daemon's way) it gives the same answer. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
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

/* A valid root of 169 bytes: a group name of 80 bytes is too long under it (169 + 1 + 80 + 6 > 255). */
#define LONG_ROOT "sk-" "0123456789:_.abcdefghijklmnopqrstuvwxyzAB" "-0123456789:_.abcdefghijklmnopqrstuvwxyzAB" \
                  "-0123456789:_.abcdefghijklmnopqrstuvwxyzAB" "-0123456789:_.abcdefghijklmnopqrstuvwxyzA"

/* What the realizer derives for a group under root: its slice (unit_name_from_path), the delegated scope its
 * processes go to (unit_name_group_scope), the ownership record (a file named after the slice) and the
 * scope's cgroup path. Each must exist and fit; the name must pass systemd's UTF-8 check (D-Bus). */
static void check_names(const char *root, const TreeNode *n) {
        char *slice = NULL, *scope = NULL, *cgroup = NULL;
        uint32_t cp = 0;

        FUZZ_CHECK(tree_name_check_utf8(n->name, strlen(n->name), &cp) == 0);
        FUZZ_CHECK(unit_name_from_path(root, n->path, &slice) == 0);
        FUZZ_CHECK(strlen(slice) <= UNIT_NAME_MAX && strlen(slice) <= NAME_MAX && !strchr(slice, '/'));
        FUZZ_CHECK(strlen(slice) == unit_name_length_from_path(root, n->path));
        FUZZ_CHECK(unit_name_group_scope(slice, &scope) == 0);
        FUZZ_CHECK(strlen(scope) <= UNIT_NAME_MAX);
        /* A slice that is systemd's own (group "system" without a root) is accepted and skipped by the realizer
         * as protected. init.slice is an ordinary slice, but its scope init.scope is PID 1's: no pid files may
         * lead there (a host-local PidFiles= naming such a group is refused by the attacher). */
        FUZZ_CHECK(!(n->pid_files && n->pid_files[0]) || !unit_name_is_systemds_own(scope));
        FUZZ_CHECK(n->n_pids == 0 || !unit_name_is_systemds_own(scope));
        FUZZ_CHECK(unit_name_slice_cgroup_path(slice, &cgroup) == 0);
        FUZZ_CHECK(unit_name_scope_cgroup_path_length(slice) <= UNIT_CGROUP_PATH_MAX);
        free(cgroup);
        free(scope);
        free(slice);
}

static void check_tree(const Tree *t, const char *root) {
        size_t n_pids = 0;

        FUZZ_CHECK(t->n_nodes <= TREE_GROUPS_MAX);
        for (size_t i = 0; i < t->n_nodes; i++) {
                const TreeNode *n = t->nodes[i];

                /* conf.pids: cgrouparch's schema only, bounded, each a pid, no repeats */
                FUZZ_CHECK(n->n_pids == 0 || t->schema == TREE_SCHEMA_CGROUPARCH);
                FUZZ_CHECK(n->n_pids <= TREE_PIDS_MAX);
                n_pids += n->n_pids;
                for (size_t j = 0; j < n->n_pids; j++) {
                        FUZZ_CHECK(n->pids[j] >= 1 && n->pids[j] <= TREE_PID_LIMIT);
                        for (size_t k = 0; k < j; k++)
                                FUZZ_CHECK(n->pids[k] != n->pids[j]);
                }

                FUZZ_CHECK(tree_find(t, n->path) == n);
                FUZZ_CHECK(n->depth >= 1 && n->depth <= TREE_DEPTH_MAX && n->depth == tree_path_depth(n->path));
                FUZZ_CHECK(n->name[0] && strlen(n->name) <= TREE_NAME_MAX && !strchr(n->name, '/'));
                /* parents before children */
                FUZZ_CHECK(n->depth == 1 ? !n->parent : n->parent && n->parent->depth == n->depth - 1);
                check_names(root, n);
        }
        FUZZ_CHECK(n_pids <= TREE_PIDS_TOTAL_MAX);
}

static void check_refused(int r, const Tree *t, const TreeError *err) {
        FUZZ_CHECK(r == -EFBIG || r == -EBADMSG || r == -EINVAL || r == -E2BIG || r == -ELOOP);
        FUZZ_CHECK(!t);
        FUZZ_CHECK(err->message[0] == '$');
        FUZZ_CHECK(strnlen(err->message, sizeof(err->message)) < sizeof(err->message));
}

/* The text again under a root picked by its size; without one it was parsed already. */
static void check_root(const uint8_t *data, size_t size) {
        static const char *const roots[] = { "sk", "sk-demo", LONG_ROOT };
        const char *root = roots[size % 3];
        TreeError err = { .message = "untouched" };
        Tree *t = NULL;
        int r;

        r = tree_parse_json_for_root((const char *) data, size, root, &t, &err);
        if (r < 0) {
                check_refused(r, t, &err);
                return;
        }
        FUZZ_CHECK(r == 0 && t);
        check_tree(t, root);
        tree_unref(t);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        TreeError err;

        FUZZ_CHECK(tree_parse_json(fixed_json, sizeof(fixed_json) - 1, &fixed, &err) == 0);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TreeError err = { .message = "untouched" }, err_halves = { .message = "untouched" };
        Tree *t = NULL, *again = NULL;
        json_t *json = NULL;
        int r, r_halves;

        r = tree_parse_json((const char *) data, size, &t, &err);
        check_root(data, size);
        /* the daemon's way, a loop iteration each (load, then check): the same answer, message for message */
        r_halves = tree_json_load((const char *) data, size, &json, &err_halves);
        FUZZ_CHECK((r_halves >= 0) == (json != NULL));
        if (r_halves >= 0) {
                r_halves = tree_parse_json_value(json, /* root= */ NULL, &again, &err_halves);
                json_decref(json);
        }
        FUZZ_CHECK(r_halves == r);
        if (r < 0) {
                FUZZ_CHECK(!again && strcmp(err_halves.message, err.message) == 0);
                check_refused(r, t, &err);
                return 0;
        }
        FUZZ_CHECK(r == 0 && t);
        check_tree(t, NULL);
        check_plan(t, t, true);
        /* the same text parses to the same tree: no change between the two */
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
