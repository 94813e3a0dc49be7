/* SPDX-License-Identifier: MIT */
/* What a realizer pass does, decided from plain data: the candidate slices systemd reported, the desired
 * tree, the ownership records, the protected list and the root → ordered ops, each to run or skipped with
 * its reason, and the ownership records gone stale. Pure: no I/O, no logging, the inputs stay unchanged. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "strmap.h"
#include "tree-diff.h"

/* A slice the pass looked at: one the desired tree names, or one an ownership record names. */
typedef struct PlannerCandidate {
        const char *unit, *path;
        bool desired;           /* the desired tree names it (under the current root) */
        bool owned;             /* an ownership record names it */
        bool exists;            /* systemd listed it */
        bool have_props;        /* it runs and its properties were read: the three fields below */
        bool accounting_on;     /* CPU, memory, I/O and tasks accounting are all on */
        uint64_t tasks_current; /* UINT64_MAX: unknown */
        TreeSettings settings;  /* borrowed: the planner copies what it keeps */
} PlannerCandidate;

typedef struct PlannerInput {
        const PlannerCandidate *candidates; /* one per unit */
        size_t n_candidates;
        Tree *desired;                      /* NULL: nothing is desired */
        const StrMap *records;              /* unit → group path of the ownership records */
        char *const *protected;             /* unit names, group names or group paths never touched */
        const char *root;                   /* slice prefix, NULL for top level */
} PlannerInput;

typedef enum PlannerSkip {
        PLANNER_RUN,            /* to be sent */
        PLANNER_SKIP_PROTECTED, /* protected (or systemd's own) unit */
        PLANNER_SKIP_FOREIGN,   /* a stop of a unit slicekeeper has no record of */
        PLANNER_SKIP_BUSY,      /* a stop of a slice that still holds tasks: it would kill them */
        _PLANNER_SKIP_MAX,
} PlannerSkip;

typedef struct PlannerOp {
        PlanOp kind;
        char *unit, *path;
        const TreeNode *node; /* in the desired tree for create/change, NULL for stop */
        unsigned depth;       /* of path: ops of one kind and depth form a stage (changes: one stage) */
        uint32_t mask;        /* TreeProp bits to set: every one for a create, the changed ones for a change */
        bool accounting;      /* a change also switches accounting on */
        PlannerSkip skip;
        char *reason;         /* why it is skipped (as status shows it), NULL when it runs */
} PlannerOp;

typedef struct PlannerResult {
        Tree *desired; /* referenced: the ops' nodes point into it */
        PlannerOp *ops; /* in running order: creates parents first, changes, stops children first */
        size_t n_ops;
        /* Units recorded as ours that are gone and no longer desired: nothing is left to stop, so the
         * caller forgets their records once it has run the plan (not when it only shows it). */
        char **stale;
        size_t n_stale;
} PlannerResult;

int planner_plan(const PlannerInput *in, PlannerResult **ret);
PlannerResult *planner_result_free(PlannerResult *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(PlannerResult *, planner_result_free)

/* Whether a unit (its group at `path`, or NULL) is left alone: systemd's own, or named on the protected
 * list by unit name, group path or group name. */
bool planner_is_protected(char *const *protected, const char *unit, const char *path);
