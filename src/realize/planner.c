/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "strv.h"
#include "unit-name.h"

PlannerResult *planner_result_free(PlannerResult *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_ops; i++) {
                free(r->ops[i].unit);
                free(r->ops[i].path);
                free(r->ops[i].reason);
        }
        free(r->ops);
        strv_free(r->stale);
        tree_unref(r->desired);
        free(r);
        return NULL;
}

bool planner_is_protected(char *const *protected, const char *unit, const char *path) {
        const char *name;

        assert(unit);
        if (unit_name_is_systemds_own(unit))
                return true;
        if (strv_contains(protected, unit))
                return true;
        if (!path)
                return false;
        name = strrchr(path, '/');
        name = name ? name + 1 : path;
        return strv_contains(protected, path) || strv_contains(protected, name);
}

static int settings_copy(TreeSettings *dst, const TreeSettings *src) {
        *dst = *src;
        dst->cpus = NULL;
        if (src->n_cpus > 0) {
                dst->cpus = malloc(src->n_cpus);
                if (!dst->cpus)
                        return -ENOMEM;
                memcpy(dst->cpus, src->cpus, src->n_cpus);
        }
        return 0;
}

/* A record of ours whose unit is gone and no longer wanted: nothing is left to stop. */
static bool candidate_is_stale(const PlannerCandidate *c) {
        return c && c->owned && !c->exists && !c->desired;
}

static int ops_add(PlannerResult *res, size_t *cap, PlanOp kind, const char *unit, const char *path,
                   const TreeNode *node, uint32_t mask, bool accounting) {
        PlannerOp *op;

        if (res->n_ops == *cap) {
                size_t ncap = MAX(*cap * 2, (size_t) 16);
                PlannerOp *n = realloc(res->ops, ncap * sizeof(PlannerOp));
                if (!n)
                        return -ENOMEM;
                res->ops = n;
                *cap = ncap;
        }
        op = &res->ops[res->n_ops];
        *op = (PlannerOp) {
                .kind = kind, .node = node, .depth = tree_path_depth(path), .mask = mask,
                .accounting = accounting,
        };
        op->unit = strdup(unit);
        op->path = strdup(path);
        if (!op->unit || !op->path) {
                free(op->unit);
                free(op->path);
                return -ENOMEM;
        }
        res->n_ops++;
        return 0;
}

/* Creates parents first, then changes, then stops children first; within a stage the planning order. The
 * ops being sorted are addresses into one array, so comparing them is comparing their planning order. */
static int op_order(const void *a, const void *b) {
        const PlannerOp *x = *(const PlannerOp *const *) a, *y = *(const PlannerOp *const *) b;

        if (x->kind != y->kind)
                return (int) x->kind - (int) y->kind;
        if (x->kind == PLAN_CHANGE || x->depth == y->depth)
                return x < y ? -1 : x > y;
        return (x->depth < y->depth ? -1 : 1) * (x->kind == PLAN_STOP ? -1 : 1);
}

static int ops_sort(PlannerResult *res) {
        _cleanup_(freep) const PlannerOp **order = NULL;
        _cleanup_(freep) PlannerOp *sorted = NULL;

        if (res->n_ops < 2)
                return 0;
        order = calloc(res->n_ops, sizeof(PlannerOp *));
        sorted = calloc(res->n_ops, sizeof(PlannerOp));
        if (!order || !sorted)
                return -ENOMEM;
        for (size_t i = 0; i < res->n_ops; i++)
                order[i] = &res->ops[i];
        qsort(order, res->n_ops, sizeof(PlannerOp *), op_order);
        for (size_t i = 0; i < res->n_ops; i++)
                sorted[i] = *order[i];
        free(res->ops);
        res->ops = TAKE_PTR(sorted);
        return 0;
}

/* The observed tree holds the running slices whose properties were read, by group path. */
static int observed_tree(const PlannerInput *in, Tree **ret) {
        _cleanup_(tree_unrefp) Tree *observed = tree_new(TREE_SCHEMA_NATIVE);
        int k;

        if (!observed)
                return -ENOMEM;
        for (size_t i = 0; i < in->n_candidates; i++) {
                const PlannerCandidate *c = &in->candidates[i];
                TreeNode *n;

                if (!c->have_props)
                        continue;
                k = tree_add(observed, c->path, &n);
                if (k == -EEXIST)
                        continue;
                if (k < 0)
                        return k;
                k = settings_copy(&n->settings, &c->settings);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(observed);
        return 0;
}

/* Only ours are stopped, protected units are never touched, a slice that still holds processes is not
 * stopped (that would kill them). A stale record counts as forgotten already. */
static int apply_rules(const PlannerInput *in, const StrMap *by_unit, PlannerResult *res) {
        for (size_t i = 0; i < res->n_ops; i++) {
                PlannerOp *op = &res->ops[i];
                const PlannerCandidate *c = strmap_get(by_unit, op->unit);
                bool ours = strmap_get(in->records, op->unit) && !candidate_is_stale(c);
                char msg[160];

                if (planner_is_protected(in->protected, op->unit, op->path)) {
                        op->skip = PLANNER_SKIP_PROTECTED;
                        op->reason = strdup("protected");
                } else if (op->kind == PLAN_STOP && !ours) {
                        op->skip = PLANNER_SKIP_FOREIGN;
                        op->reason = strdup("not created by slicekeeper");
                } else if (op->kind == PLAN_STOP && c && c->tasks_current != UINT64_MAX && c->tasks_current > 0) {
                        snprintf(msg, sizeof(msg), "removed from the tree but still holds %" PRIu64
                                 " tasks; it is stopped once empty", c->tasks_current);
                        op->skip = PLANNER_SKIP_BUSY;
                        op->reason = strdup(msg);
                } else
                        continue;
                if (!op->reason)
                        return -ENOMEM;
        }
        return 0;
}

int planner_plan(const PlannerInput *in, PlannerResult **ret) {
        _cleanup_(planner_result_freep) PlannerResult *res = NULL;
        _cleanup_(tree_unrefp) Tree *observed = NULL;
        _cleanup_(plan_freep) Plan *diff = NULL;
        _cleanup_(strmap_done) StrMap by_unit = { 0 };
        _cleanup_(strmap_done) StrMap planned = { 0 }; /* units with an op: keys are the ops' strings */
        size_t cap = 0;
        int k;

        assert(in);
        assert(in->candidates || in->n_candidates == 0);
        assert(in->records);
        assert(ret);

        res = calloc(1, sizeof(PlannerResult));
        if (!res)
                return -ENOMEM;
        res->desired = tree_ref(in->desired);
        for (size_t i = 0; i < in->n_candidates; i++) {
                k = strmap_put(&by_unit, in->candidates[i].unit, (void *) &in->candidates[i]);
                if (k < 0 && k != -EEXIST)
                        return k;
        }

        k = observed_tree(in, &observed);
        if (k < 0)
                return k;
        k = tree_diff(observed, in->desired, &diff);
        if (k < 0)
                return k;
        for (size_t i = 0; i < diff->n_items; i++) {
                const PlanItem *it = &diff->items[i];
                _cleanup_(freep) char *unit = NULL;

                k = unit_name_from_path(in->root, it->node->path, &unit);
                if (k < 0)
                        return k;
                k = ops_add(res, &cap, it->op, unit, it->node->path, it->op == PLAN_STOP ? NULL : it->node,
                            it->changed, /* accounting= */ it->op == PLAN_CHANGE);
                if (k < 0)
                        return k;
        }

        /* Slices whose properties match but whose accounting was switched off get it back. */
        for (size_t j = 0; j < res->n_ops; j++) {
                k = strmap_put(&planned, res->ops[j].unit, res);
                if (k < 0 && k != -EEXIST)
                        return k;
        }
        for (size_t i = 0; i < in->n_candidates; i++) {
                const PlannerCandidate *c = &in->candidates[i];
                const TreeNode *n = in->desired ? tree_find(in->desired, c->path) : NULL;

                if (!c->have_props || c->accounting_on || !n)
                        continue;
                if (!strmap_get(&planned, c->unit)) {
                        k = ops_add(res, &cap, PLAN_CHANGE, c->unit, c->path, n, /* mask= */ 0,
                                    /* accounting= */ true);
                        if (k < 0)
                                return k;
                }
        }

        for (size_t i = 0; i < in->n_candidates; i++)
                if (candidate_is_stale(&in->candidates[i])) {
                        k = strv_extend(&res->stale, in->candidates[i].unit);
                        if (k < 0)
                                return k;
                        res->n_stale++;
                }

        /* Owned units not under the current naming (Root= changed) are stopped as well. */
        for (size_t i = 0; i < in->n_candidates; i++) {
                const PlannerCandidate *c = &in->candidates[i];
                _cleanup_(freep) char *expected = NULL;

                if (!c->owned || !c->exists || c->desired)
                        continue;
                if (unit_name_from_path(in->root, c->path, &expected) >= 0 && streq(expected, c->unit))
                        continue;
                k = ops_add(res, &cap, PLAN_STOP, c->unit, c->path, NULL, /* mask= */ 0, /* accounting= */ false);
                if (k < 0)
                        return k;
        }

        k = apply_rules(in, &by_unit, res);
        if (k < 0)
                return k;
        k = ops_sort(res);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(res);
        return 0;
}
