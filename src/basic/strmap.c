/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strmap.h"

static uint64_t hash(const char *s) {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 1099511628211ULL;
        return h;
}

static void free_table(StrMap *m) {
        free(m->keys);
        free(m->values);
        *m = (StrMap) { .owns_keys = m->owns_keys };
}

void strmap_done(StrMap *m) {
        assert(m);

        if (m->owns_keys)
                for (size_t i = 0; i < m->cap; i++)
                        free((char *) m->keys[i]);
        free_table(m);
}

static size_t slot_of(const StrMap *m, const char *key) {
        size_t i = hash(key) & (m->cap - 1);

        while (m->keys[i] && !streq(m->keys[i], key))
                i = (i + 1) & (m->cap - 1);
        return i;
}

int strmap_put(StrMap *m, const char *key, void *value) {
        size_t i;

        assert(m);
        assert(key);

        if ((m->n + 1) * 2 > m->cap) {
                StrMap bigger = { .cap = m->cap ? m->cap * 2 : 16, .owns_keys = m->owns_keys };

                bigger.keys = calloc(bigger.cap, sizeof(char *));
                bigger.values = calloc(bigger.cap, sizeof(void *));
                if (!bigger.keys || !bigger.values) {
                        free_table(&bigger);
                        return -ENOMEM;
                }
                for (size_t j = 0; j < m->cap; j++)
                        if (m->keys[j]) {
                                size_t k = slot_of(&bigger, m->keys[j]);
                                bigger.keys[k] = m->keys[j];
                                bigger.values[k] = m->values[j];
                        }
                bigger.n = m->n;
                free_table(m); /* the keys moved to bigger */
                *m = bigger;
        }
        i = slot_of(m, key);
        if (m->keys[i])
                return -EEXIST;
        if (m->owns_keys) {
                key = strdup(key);
                if (!key)
                        return -ENOMEM;
        }
        m->keys[i] = key;
        m->values[i] = value;
        m->n++;
        return 0;
}

void *strmap_get(const StrMap *m, const char *key) {
        size_t i;

        assert(m);
        assert(key);

        if (m->cap == 0)
                return NULL;
        i = slot_of(m, key);
        return m->keys[i] ? m->values[i] : NULL;
}

const char *strmap_get_key(const StrMap *m, const char *key) {
        assert(m);
        assert(key);

        return m->cap > 0 ? m->keys[slot_of(m, key)] : NULL;
}

void *strmap_remove(StrMap *m, const char *key) {
        const char *stored;
        size_t i, j;
        void *v;

        assert(m);
        assert(key);

        if (m->cap == 0)
                return NULL;
        i = slot_of(m, key);
        if (!m->keys[i])
                return NULL;
        stored = m->keys[i];
        v = m->values[i];
        m->keys[i] = NULL;
        m->n--;
        /* Backward-shift deletion: move later entries of the probe run into the hole. */
        j = i;
        for (;;) {
                size_t home;

                j = (j + 1) & (m->cap - 1);
                if (!m->keys[j])
                        break;
                home = hash(m->keys[j]) & (m->cap - 1);
                /* Entry j may fill hole i only if its home slot is not within (i, j]. */
                if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
                        m->keys[i] = m->keys[j];
                        m->values[i] = m->values[j];
                        m->keys[j] = NULL;
                        i = j;
                }
        }
        if (m->owns_keys)
                free((char *) stored); /* last: `key` may be this very string */
        return v;
}
