/* SPDX-License-Identifier: MIT */
/* Group names that all collide in the string map's old hash (unseeded 64-bit FNV-1a, issue 12): the same low
 * 16 bits, so the same home slot in every table up to 65536 slots. Shared by the tests and bench/. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV_COLLIDE_MASK 0xffffu
#define FNV_COLLIDE_TARGET 0x5a5au
#define FNV_COLLIDE_NAME_MAX 32

static const uint64_t fnv_prime = 1099511628211ULL;

static inline uint64_t fnv1a_step(uint64_t h, uint8_t c) {
        return (h ^ c) * fnv_prime;
}

/* The hash the map used before issue 12. */
static inline uint64_t fnv1a_old(const char *s) {
        uint64_t h = 1469598103934665603ULL;

        for (; *s; s++)
                h = fnv1a_step(h, (uint8_t) *s);
        return h;
}

/* n distinct names "n<i>" followed by four characters of [a-z0-9]. The low 16 bits of a step depend only
 * on the low 16 bits of the state, and multiplying by the (odd) prime is invertible modulo 2^16: so the
 * states two characters before the target can be listed backwards, and two middle characters chosen
 * forwards to meet one of them. The caller frees; NULL without memory. */
static inline char (*fnv_colliding_names(size_t n))[FNV_COLLIDE_NAME_MAX] {
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        const size_t na = sizeof(alphabet) - 1;
        char (*names)[FNV_COLLIDE_NAME_MAX] = calloc(n ? n : 1, sizeof(*names));
        uint16_t *need = calloc(FNV_COLLIDE_MASK + 1, sizeof(uint16_t)); /* state → 1 + suffix index */
        uint64_t inv = fnv_prime;

        if (!names || !need) {
                free(names);
                free(need);
                return NULL;
        }
        for (int i = 0; i < 5; i++) /* Newton's iteration: the inverse modulo 2^64 */
                inv *= 2 - fnv_prime * inv;
        for (size_t a = 0; a < na; a++)
                for (size_t b = 0; b < na; b++) {
                        uint64_t s1 = (FNV_COLLIDE_TARGET * inv) ^ (uint8_t) alphabet[b];
                        uint64_t s0 = (s1 * inv) ^ (uint8_t) alphabet[a];

                        need[s0 & FNV_COLLIDE_MASK] = (uint16_t) (1 + a * na + b);
                }
        for (size_t i = 0; i < n; i++) {
                bool found = false;

                for (size_t c = 0; c < na && !found; c++)
                        for (size_t d = 0; d < na && !found; d++) {
                                char *name = names[i];
                                int len = snprintf(name, FNV_COLLIDE_NAME_MAX, "n%zu%c%c", i, alphabet[c],
                                                   alphabet[d]);
                                uint64_t h = 1469598103934665603ULL;
                                uint16_t suffix;

                                for (int k = 0; k < len; k++)
                                        h = fnv1a_step(h, (uint8_t) name[k]);
                                suffix = need[h & FNV_COLLIDE_MASK];
                                if (suffix == 0)
                                        continue;
                                name[len] = alphabet[(suffix - 1) / na];
                                name[len + 1] = alphabet[(suffix - 1) % na];
                                name[len + 2] = 0;
                                found = true;
                        }
                if (!found) { /* does not happen for any i tried; callers check every name anyway */
                        free(names);
                        free(need);
                        return NULL;
                }
        }
        free(need);
        return names;
}
