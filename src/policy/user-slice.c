/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "user-slice.h"

#define UNIT_PATH_PREFIX "/org/freedesktop/systemd1/unit/"

/* Digits [s, end) as a UID: no leading zero (but "0"), at most 10 digits, not the two invalid UIDs. */
static int parse_uid(const char *s, const char *end, uint32_t *ret_uid) {
        uint64_t v = 0;

        if (end <= s || end - s > 10 || (s[0] == '0' && end - s > 1))
                return -EINVAL;
        for (const char *p = s; p < end; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (v >= UINT32_MAX || v == 65535)
                return -EINVAL;
        *ret_uid = (uint32_t) v;
        return 0;
}

static int parse_between(const char *s, const char *prefix, const char *suffix, uint32_t *ret_uid) {
        size_t len, lp = strlen(prefix), ls = strlen(suffix);

        if (!s)
                return -EINVAL;
        len = strlen(s);
        if (len < lp + ls || strncmp(s, prefix, lp) != 0 || strcmp(s + len - ls, suffix) != 0)
                return -EINVAL;
        return parse_uid(s + lp, s + len - ls, ret_uid);
}

int user_slice_parse(const char *unit, uint32_t *ret_uid) {
        return parse_between(unit, "user-", ".slice", ret_uid);
}

int user_slice_parse_object_path(const char *path, uint32_t *ret_uid) {
        /* systemd escapes every byte but [A-Za-z0-9] as _xx (lower case hex): '-' is _2d, '.' is _2e */
        return parse_between(path, UNIT_PATH_PREFIX "user_2d", "_2eslice", ret_uid);
}

bool user_slice_state_is_up(const char *active_state) {
        return active_state && strcmp(active_state, "inactive") != 0 && strcmp(active_state, "failed") != 0;
}

void user_table_done(UserTable *t) {
        assert(t);
        for (size_t i = 0; i < t->n; i++)
                free(t->users[i].name);
        free(t->users);
        *t = (UserTable) { 0 };
}

UserEntry *user_table_get(const UserTable *t, uint32_t uid) {
        size_t lo = 0, hi;

        assert(t);
        for (hi = t->n; lo < hi;) {
                size_t mid = lo + (hi - lo) / 2;

                if (t->users[mid].uid == uid)
                        return &t->users[mid];
                if (t->users[mid].uid < uid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static int cmp_uid(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return x < y ? -1 : x > y;
}

int user_table_sync(UserTable *t, const uint32_t *uids, size_t n, uint32_t min_uid, size_t *ret_below_min,
                    size_t *ret_over) {
        _cleanup_(freep) uint32_t *sorted = NULL;
        _cleanup_(freep) UserEntry *users = NULL;
        size_t n_unique = 0, below = 0, kept = 0, old = 0;
        bool changed;

        assert(t);
        assert(uids || n == 0);
        assert(ret_below_min);
        assert(ret_over);

        sorted = malloc(MAX(n, (size_t) 1) * sizeof(uint32_t));
        if (!sorted)
                return -ENOMEM;
        if (n > 0)
                memcpy(sorted, uids, n * sizeof(uint32_t));
        qsort(sorted, n, sizeof(uint32_t), cmp_uid);
        for (size_t i = 0; i < n; i++)
                if (i == 0 || sorted[i] != sorted[i - 1])
                        sorted[n_unique++] = sorted[i];
        while (below < n_unique && sorted[below] < min_uid)
                below++;
        kept = MIN(n_unique - below, (size_t) USER_TABLE_MAX);
        users = calloc(MAX(kept, (size_t) 1), sizeof(UserEntry));
        if (!users)
                return -ENOMEM;

        changed = kept != t->n;
        for (size_t i = 0; i < kept; i++) {
                uint32_t uid = sorted[below + i];

                /* both sorted: walk the old table along, freeing the names of users gone */
                while (old < t->n && t->users[old].uid < uid) {
                        free(t->users[old++].name);
                        changed = true;
                }
                users[i].uid = uid;
                if (old < t->n && t->users[old].uid == uid) {
                        users[i].looked_up = t->users[old].looked_up;
                        users[i].name = t->users[old].name;
                        old++;
                } else
                        changed = true;
        }
        for (; old < t->n; old++) {
                free(t->users[old].name);
                changed = true;
        }
        free(t->users);
        t->users = TAKE_PTR(users);
        t->n = kept;
        *ret_below_min = below;
        *ret_over = n_unique - below - kept;
        return changed;
}
