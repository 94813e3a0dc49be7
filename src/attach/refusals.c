/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "refusals.h"

static ssize_t refusal_find(const Refusal *items, size_t n, const char *file) {
        for (size_t i = 0; i < n; i++)
                if (streq(items[i].file, file))
                        return (ssize_t) i;
        return -1;
}

/* Takes items[i] out: its strings go to `ret` when given, else are freed. */
static void refusal_take(Refusal *items, size_t *n, size_t i, Refusal *ret) {
        if (ret)
                *ret = items[i];
        else {
                free(items[i].file);
                free(items[i].reason);
        }
        memmove(&items[i], &items[i + 1], (*n - i - 1) * sizeof(Refusal));
        (*n)--;
}

static void refusals_free(Refusal **items, size_t *n) {
        while (*n > 0)
                refusal_take(*items, n, *n - 1, NULL);
        free(*items);
        *items = NULL;
}

/* Adds `file` to this pass's records: the last pass's record when there is one, else a new one within
 * the bounds (the group's last-pass records, about to go, do not count against the global one).
 * Returns its index, or -1 when over a bound or out of memory. */
static ssize_t refusal_add(RefusalList *l, size_t *total, const char *file, const char *reason, usec_t now,
                           bool *ret_created) {
        ssize_t p = refusal_find(l->prev, l->n_prev, file);
        Refusal r;

        if (p < 0 && (l->n >= REFUSALS_GROUP_MAX || *total - l->n_prev >= REFUSALS_TOTAL_MAX))
                return -1;
        Refusal *items = realloc(l->items, (l->n + 1) * sizeof(Refusal));
        if (!items)
                return -1;
        l->items = items;
        if (p >= 0)
                refusal_take(l->prev, &l->n_prev, (size_t) p, &r); /* in `total` already */
        else {
                r = (Refusal) { .file = strdup(file), .reason = strdup(reason), .usec = now };
                if (!r.file || !r.reason) {
                        free(r.file);
                        free(r.reason);
                        return -1;
                }
                (*total)++;
        }
        l->items[l->n] = r;
        *ret_created = p < 0;
        return (ssize_t) l->n++;
}

RefusalNote refusal_list_note(RefusalList *l, size_t *total, const char *file, const char *reason, usec_t now) {
        ssize_t i = refusal_find(l->items, l->n, file); /* twice in one pass when two patterns match it */
        Refusal *r;
        char *copy;

        assert(l);
        assert(total);
        assert(file);
        assert(reason);

        if (i < 0) {
                bool created = false;

                i = refusal_add(l, total, file, reason, now, &created);
                if (i < 0) {
                        l->unlisted++;
                        return REFUSAL_UNLISTED;
                }
                l->last = i;
                if (created)
                        return REFUSAL_NEW;
        }
        r = &l->items[i];
        l->last = i;
        if (streq(r->reason, reason))
                return REFUSAL_KNOWN;
        copy = strdup(reason);
        if (!copy)
                return REFUSAL_KNOWN; /* the old cause stays listed */
        free(r->reason);
        r->reason = copy;
        r->usec = now;
        return REFUSAL_NEW;
}

bool refusal_list_accept(RefusalList *l, size_t *total, const char *file) {
        ssize_t i = refusal_find(l->prev, l->n_prev, file);

        assert(l);
        assert(total);
        assert(file);

        if (i >= 0) {
                refusal_take(l->prev, &l->n_prev, (size_t) i, NULL);
                (*total)--;
                return true;
        }
        i = refusal_find(l->items, l->n, file);
        if (i < 0)
                return false;
        refusal_take(l->items, &l->n, (size_t) i, NULL);
        (*total)--;
        if (l->last == i)
                l->last = -1;
        else if (l->last > i)
                l->last--;
        return true;
}

static void refusal_list_drop_prev(RefusalList *l, size_t *total) {
        *total -= l->n_prev;
        refusals_free(&l->prev, &l->n_prev);
}

void refusal_list_pass_begin(RefusalList *l, size_t *total) {
        assert(l);
        assert(total);

        refusal_list_drop_prev(l, total); /* nothing unless a pass was left unfinished */
        l->prev = l->items;
        l->n_prev = l->n;
        l->items = NULL;
        l->n = 0;
        l->last = -1;
        l->unlisted = 0;
}

int refusal_list_pass_end(RefusalList *l, size_t *total) {
        size_t before = l->last_unlisted;

        assert(l);
        assert(total);

        refusal_list_drop_prev(l, total);
        l->last_unlisted = l->unlisted;
        if (l->unlisted > 0 && before == 0)
                return 1;
        if (l->unlisted == 0 && before > 0)
                return -1;
        return 0;
}

void refusal_list_done(RefusalList *l, size_t *total) {
        assert(l);
        assert(total);

        refusal_list_drop_prev(l, total);
        *total -= l->n;
        refusals_free(&l->items, &l->n);
        *l = REFUSAL_LIST_INIT;
}
