/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "tree-diff.h"

Plan *plan_free(Plan *p) {
        if (!p)
                return NULL;
        tree_unref(p->old);
        tree_unref(p->new);
        free(p->items);
        free(p);
        return NULL;
}

static int item_order(const void *a, const void *b) {
        const PlanItem *x = a, *y = b;

        if (x->op != y->op)
                return (int) x->op - (int) y->op;
        /* Creations parents first, stops children first; the index keeps the sort stable. */
        if (x->node->depth != y->node->depth) {
                int d = x->node->depth < y->node->depth ? -1 : 1;
                return x->op == PLAN_STOP ? -d : d;
        }
        return 0;
}

typedef struct Ranked {
        PlanItem item;
        size_t rank;
} Ranked;

static int ranked_order(const void *a, const void *b) {
        const Ranked *x = a, *y = b;
        int c = item_order(&x->item, &y->item);

        if (c != 0)
                return c;
        return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static void push(Ranked *ranked, size_t *n, PlanItem item) {
        ranked[*n] = (Ranked) { item, *n };
        (*n)++;
}

int tree_diff(Tree *old, Tree *new, Plan **ret) {
        _cleanup_(freep) Ranked *ranked = NULL;
        _cleanup_(plan_freep) Plan *plan = NULL;
        size_t n = 0, cap;
        const uint32_t all = (1u << _TREE_PROP_MAX) - 1;

        assert(ret);

        cap = (old ? old->n_nodes : 0) + (new ? new->n_nodes : 0);
        ranked = calloc(MAX(cap, (size_t) 1), sizeof(Ranked));
        plan = calloc(1, sizeof(Plan));
        if (!ranked || !plan)
                return -ENOMEM;

        for (size_t i = 0; new && i < new->n_nodes; i++) {
                const TreeNode *nn = new->nodes[i], *on = old ? tree_find(old, nn->path) : NULL;

                if (!on)
                        push(ranked, &n, (PlanItem) { PLAN_CREATE, nn, NULL, all });
                else {
                        uint32_t changed = tree_settings_diff(&on->settings, &nn->settings);
                        if (changed)
                                push(ranked, &n, (PlanItem) { PLAN_CHANGE, nn, on, changed });
                }
        }
        for (size_t i = 0; old && i < old->n_nodes; i++) {
                const TreeNode *on = old->nodes[i];

                if (!new || !tree_find(new, on->path))
                        push(ranked, &n, (PlanItem) { PLAN_STOP, on, NULL, 0 });
        }
        if (n > 0)
                qsort(ranked, n, sizeof(Ranked), ranked_order);

        plan->items = calloc(MAX(n, (size_t) 1), sizeof(PlanItem));
        if (!plan->items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                plan->items[i] = ranked[i].item;
        plan->n_items = n;
        plan->old = tree_ref(old);
        plan->new = tree_ref(new);
        *ret = TAKE_PTR(plan);
        return 0;
}

const char *plan_op_to_string(PlanOp op) {
        static const char *const table[_PLAN_OP_MAX] = {
                [PLAN_CREATE] = "create",
                [PLAN_CHANGE] = "change",
                [PLAN_STOP] = "stop",
        };
        return op >= 0 && op < _PLAN_OP_MAX ? table[op] : NULL;
}
