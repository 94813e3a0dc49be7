/* SPDX-License-Identifier: MIT */
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

void strmap_done(StrMap *m) {
        free(m->keys);
        free(m->values);
        *m = (StrMap) { 0 };
}

static size_t slot_of(const StrMap *m, const char *key) {
        size_t i = hash(key) & (m->cap - 1);

        while (m->keys[i] && !streq(m->keys[i], key))
                i = (i + 1) & (m->cap - 1);
        return i;
}

int strmap_put(StrMap *m, const char *key, void *value) {
        size_t i;

        if ((m->n + 1) * 2 > m->cap) {
                StrMap bigger = { .cap = m->cap ? m->cap * 2 : 16 };

                bigger.keys = calloc(bigger.cap, sizeof(char *));
                bigger.values = calloc(bigger.cap, sizeof(void *));
                if (!bigger.keys || !bigger.values) {
                        strmap_done(&bigger);
                        return -ENOMEM;
                }
                for (size_t j = 0; j < m->cap; j++)
                        if (m->keys[j]) {
                                size_t k = slot_of(&bigger, m->keys[j]);
                                bigger.keys[k] = m->keys[j];
                                bigger.values[k] = m->values[j];
                        }
                bigger.n = m->n;
                strmap_done(m);
                *m = bigger;
        }
        i = slot_of(m, key);
        if (m->keys[i])
                return -EEXIST;
        m->keys[i] = key;
        m->values[i] = value;
        m->n++;
        return 0;
}

void *strmap_get(const StrMap *m, const char *key) {
        size_t i;

        if (m->cap == 0)
                return NULL;
        i = slot_of(m, key);
        return m->keys[i] ? m->values[i] : NULL;
}

void *strmap_remove(StrMap *m, const char *key) {
        size_t i, j;
        void *v;

        if (m->cap == 0)
                return NULL;
        i = slot_of(m, key);
        if (!m->keys[i])
                return NULL;
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
        return v;
}
