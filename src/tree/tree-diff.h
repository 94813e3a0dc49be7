/* SPDX-License-Identifier: MIT */
/* old tree + new tree → plan: groups to create (parents first), to change, to stop (children first).
 * Pure. Items point into the trees, which the plan keeps referenced. */
#pragma once

#include "tree.h"

typedef enum PlanOp {
        PLAN_CREATE,
        PLAN_CHANGE,
        PLAN_STOP,
        _PLAN_OP_MAX,
} PlanOp;

typedef struct PlanItem {
        PlanOp op;
        const TreeNode *node; /* in the new tree for create/change, in the old one for stop */
        const TreeNode *old;  /* in the old tree for change, else NULL */
        uint32_t changed;     /* change: TreeProp bits that differ; create: every property */
} PlanItem;

typedef struct Plan {
        Tree *old, *new;
        PlanItem *items;
        size_t n_items;
} Plan;

int tree_diff(Tree *old, Tree *new, Plan **ret);
Plan *plan_free(Plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Plan *, plan_free)

const char *plan_op_to_string(PlanOp op);
