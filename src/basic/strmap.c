/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/types.h>

#include "macro.h"
#include "strmap.h"

/* SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) with 2 compression and 4
 * finalization rounds, written from the paper's description. */
#define ROTL64(x, b) (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4]) {
        v[0] += v[1];
        v[1] = ROTL64(v[1], 13);
        v[1] ^= v[0];
        v[0] = ROTL64(v[0], 32);
        v[2] += v[3];
        v[3] = ROTL64(v[3], 16);
        v[3] ^= v[2];
        v[0] += v[3];
        v[3] = ROTL64(v[3], 21);
        v[3] ^= v[0];
        v[2] += v[1];
        v[1] = ROTL64(v[1], 17);
        v[1] ^= v[2];
        v[2] = ROTL64(v[2], 32);
}

static uint64_t load_le64(const uint8_t *p, size_t n) {
        uint64_t x = 0;

        for (size_t i = 0; i < n; i++)
                x |= (uint64_t) p[i] << (8 * i);
        return x;
}

static void sip_compress(uint64_t v[4], uint64_t m) {
        v[3] ^= m;
        sip_round(v);
        sip_round(v);
        v[0] ^= m;
}

uint64_t strmap_siphash24(const void *data, size_t len, const uint8_t key[static 16]) {
        const uint8_t *p = data;
        uint64_t k0 = load_le64(key, 8), k1 = load_le64(key + 8, 8);
        uint64_t v[4] = {
                k0 ^ 0x736f6d6570736575ULL,
                k1 ^ 0x646f72616e646f6dULL,
                k0 ^ 0x6c7967656e657261ULL,
                k1 ^ 0x7465646279746573ULL,
        };
        size_t left = len;

        assert(data || len == 0);

        for (; left >= 8; p += 8, left -= 8)
                sip_compress(v, load_le64(p, 8));
        /* the last word: the remaining bytes, and the length modulo 256 in the top byte */
        sip_compress(v, load_le64(p, left) | ((uint64_t) (len & 0xff) << 56));
        v[2] ^= 0xff;
        for (int i = 0; i < 4; i++)
                sip_round(v);
        return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* One key per process, from the kernel's random pool at the first hash: the slot a name lands in cannot be
 * known outside, so no input can make names collide on purpose. */
static uint8_t hash_key[16];
static bool hash_key_set;
static uint64_t probes;

static void hash_key_init(void) {
        const uint8_t *aux;
        ssize_t n;

        /* GRND_INSECURE does not wait for the pool at early boot; kernels before 5.6 refuse it, so then
         * GRND_NONBLOCK; failing both, the 16 random bytes the kernel hands every process at exec. */
        n = getrandom(hash_key, sizeof(hash_key), GRND_INSECURE);
        if (n != (ssize_t) sizeof(hash_key))
                n = getrandom(hash_key, sizeof(hash_key), GRND_NONBLOCK);
        if (n != (ssize_t) sizeof(hash_key)) {
                aux = (const uint8_t *) getauxval(AT_RANDOM);
                for (size_t i = 0; aux && i < sizeof(hash_key); i++)
                        hash_key[i] ^= aux[i];
        }
        hash_key_set = true;
}

static uint64_t hash(const char *s) {
        if (!hash_key_set)
                hash_key_init();
        return strmap_siphash24(s, strlen(s), hash_key);
}

uint64_t strmap_probes(void) {
        return probes;
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

        probes++;
        while (m->keys[i] && !streq(m->keys[i], key)) {
                i = (i + 1) & (m->cap - 1);
                probes++;
        }
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
