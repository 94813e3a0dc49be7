/* SPDX-License-Identifier: MIT */
/* A new tree on its way in, one step per loop iteration (issue 12): loaded JSON, then a validated tree, then
 * handed over; what it replaces, or what a newer delivery superseded, is freed a step later. Pure: the glue
 * reads, applies and logs, and runs tree_intake_next()'s step once per iteration. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "tree-parse.h"
#include "tree.h"

/* Freed one per step; past this many waiting, one more is freed at once (bounded memory under a burst). */
#define TREE_INTAKE_RETIRED_MAX 4

typedef enum TreeIntakeStep {
        TREE_INTAKE_IDLE,     /* nothing to do */
        TREE_INTAKE_RETIRE,   /* free one retired JSON document or tree: tree_intake_retire_one() */
        TREE_INTAKE_VALIDATE, /* the loaded JSON to a tree: tree_intake_validate() */
        TREE_INTAKE_APPLY,    /* the validated tree to the daemon: tree_intake_take() */
} TreeIntakeStep;

/* A delivery: the JSON as loaded, and what the glue needs to apply it. */
typedef struct TreeIntakeItem {
        json_t *json;
        Tree *tree;      /* NULL until validated */
        uint64_t hash;   /* of the bytes */
        int64_t version; /* the source's, or -1 */
        char *origin;    /* for the log */
} TreeIntakeItem;

typedef struct TreeIntake {
        bool pending;
        TreeIntakeItem item;
        json_t *retired_json[TREE_INTAKE_RETIRED_MAX];
        Tree *retired_tree[TREE_INTAKE_RETIRED_MAX];
        size_t n_retired_json, n_retired_tree;
        uint64_t n_superseded; /* pending deliveries replaced by a newer one before they were applied */
} TreeIntake;

/* A loaded delivery (`json` and `origin` taken); one pending is superseded: counted, and retired. */
void tree_intake_offer(TreeIntake *ti, json_t *json, uint64_t hash, int64_t version, char *origin);
/* A newer delivery without a tree to apply (an error, or the bytes already applied) supersedes the pending
 * one all the same: the newest read wins. Returns true if one was pending. */
bool tree_intake_drop(TreeIntake *ti);
TreeIntakeStep tree_intake_next(const TreeIntake *ti);
void tree_intake_retire_one(TreeIntake *ti);
/* Validates the pending JSON against `root` (tree_parse_json_value()). On an error the delivery is dropped
 * (retired, not counted as superseded) and err says why (but for -ENOMEM). */
int tree_intake_validate(TreeIntake *ti, const char *root, TreeError *err);
/* Hands over the validated delivery; the intake is idle again but for what it still has to free. */
void tree_intake_take(TreeIntake *ti, TreeIntakeItem *ret);
/* What the applied delivery replaced (either may be NULL): freed by later steps (the tree: one reference). */
void tree_intake_retire(TreeIntake *ti, json_t *json, Tree *tree);
void tree_intake_done(TreeIntake *ti);
