/* SPDX-License-Identifier: MIT */
/* A string-keyed hash map (open addressing). Keys are borrowed: they must outlive the map. */
#pragma once

#include <stddef.h>

typedef struct StrMap {
        const char **keys;
        void **values;
        size_t n, cap;
} StrMap;

void strmap_done(StrMap *m);
/* -EEXIST when the key is present already. */
int strmap_put(StrMap *m, const char *key, void *value);
void *strmap_get(const StrMap *m, const char *key);
/* Returns the removed value, or NULL when absent. */
void *strmap_remove(StrMap *m, const char *key);
