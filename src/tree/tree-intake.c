/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <stdlib.h>

#include "tree-intake.h"

static void retire_json(TreeIntake *ti, json_t *json) {
        if (!json)
                return;
        if (ti->n_retired_json >= TREE_INTAKE_RETIRED_MAX) {
                json_decref(json);
                return;
        }
        ti->retired_json[ti->n_retired_json++] = json;
}

static void retire_tree(TreeIntake *ti, Tree *tree) {
        if (!tree)
                return;
        if (ti->n_retired_tree >= TREE_INTAKE_RETIRED_MAX) {
                tree_unref(tree);
                return;
        }
        ti->retired_tree[ti->n_retired_tree++] = tree;
}

/* The pending delivery is dropped: its JSON and tree are freed by later steps. */
static void drop_pending(TreeIntake *ti) {
        retire_json(ti, ti->item.json);
        retire_tree(ti, ti->item.tree);
        free(ti->item.origin);
        ti->item = (TreeIntakeItem) { 0 };
        ti->pending = false;
}

bool tree_intake_drop(TreeIntake *ti) {
        assert(ti);
        if (!ti->pending)
                return false;
        drop_pending(ti);
        ti->n_superseded++;
        return true;
}

void tree_intake_offer(TreeIntake *ti, json_t *json, uint64_t hash, int64_t version, char *origin) {
        assert(ti);
        assert(json);
        tree_intake_drop(ti);
        ti->item = (TreeIntakeItem) { .json = json, .hash = hash, .version = version, .origin = origin };
        ti->pending = true;
}

TreeIntakeStep tree_intake_next(const TreeIntake *ti) {
        assert(ti);
        /* Freeing first keeps at most a few documents in memory under a burst of deliveries; each step is
         * one document's worth of work whatever it is. */
        if (ti->n_retired_json > 0 || ti->n_retired_tree > 0)
                return TREE_INTAKE_RETIRE;
        if (!ti->pending)
                return TREE_INTAKE_IDLE;
        return ti->item.tree ? TREE_INTAKE_APPLY : TREE_INTAKE_VALIDATE;
}

void tree_intake_retire_one(TreeIntake *ti) {
        assert(ti);
        if (ti->n_retired_json > 0)
                json_decref(ti->retired_json[--ti->n_retired_json]);
        else if (ti->n_retired_tree > 0)
                tree_unref(ti->retired_tree[--ti->n_retired_tree]);
}

int tree_intake_validate(TreeIntake *ti, const char *root, TreeError *err) {
        Tree *tree = NULL;
        int r;

        assert(ti);
        assert(ti->pending && !ti->item.tree);
        r = tree_parse_json_value(ti->item.json, root, &tree, err);
        if (r < 0) {
                drop_pending(ti);
                return r;
        }
        ti->item.tree = tree;
        return 0;
}

void tree_intake_take(TreeIntake *ti, TreeIntakeItem *ret) {
        assert(ti);
        assert(ret);
        assert(ti->pending && ti->item.tree);
        *ret = ti->item;
        ti->item = (TreeIntakeItem) { 0 };
        ti->pending = false;
}

void tree_intake_retire(TreeIntake *ti, json_t *json, Tree *tree) {
        assert(ti);
        retire_json(ti, json);
        retire_tree(ti, tree);
}

void tree_intake_done(TreeIntake *ti) {
        if (!ti)
                return;
        if (ti->pending)
                drop_pending(ti);
        while (tree_intake_next(ti) == TREE_INTAKE_RETIRE)
                tree_intake_retire_one(ti);
        *ti = (TreeIntake) { 0 };
}
