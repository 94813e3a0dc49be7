/* SPDX-License-Identifier: MIT */
/* A string-keyed hash map (open addressing, keyed SipHash-2-4 with a random key per process, so names
 * cannot be chosen to collide). A map either borrows its keys (they must outlive their entries) or owns
 * them: then strmap_put() stores a copy and the map frees it on remove and done. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct StrMap {
        const char **keys;
        void **values;
        size_t n, cap;
        bool owns_keys; /* set before the first put, e.g. StrMap m = STRMAP_OWNING; kept by strmap_done() */
} StrMap;

/* An empty map that copies its keys. A zeroed map (`StrMap m = { 0 }`) borrows them. */
#define STRMAP_OWNING ((StrMap) { .owns_keys = true })

/* Frees the table (and, in an owning map, the keys; values are the caller's). The map stays usable. */
void strmap_done(StrMap *m);
/* -EEXIST when the key is present already; -ENOMEM. An owning map copies the key. */
int strmap_put(StrMap *m, const char *key, void *value);
void *strmap_get(const StrMap *m, const char *key);
/* The stored key equal to `key` (in an owning map, its copy: valid until the entry is removed), NULL when
 * absent. */
const char *strmap_get_key(const StrMap *m, const char *key);
/* Returns the removed value, or NULL when absent. `key` may be the stored key itself. */
void *strmap_remove(StrMap *m, const char *key);

/* SipHash-2-4 of `len` bytes under a 16-byte key (the map's hash function; exposed for its test vectors). */
uint64_t strmap_siphash24(const void *data, size_t len, const uint8_t key[static 16]);
/* Slots visited by lookups in every map of the process since it started: a work counter for tests and
 * benchmarks (each put, get and remove visits at least one). */
uint64_t strmap_probes(void);
