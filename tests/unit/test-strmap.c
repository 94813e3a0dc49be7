/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv-collide.h"
#include "macro.h"
#include "strmap.h"
#include "tests.h"

#define N_KEYS 20000

/* Deterministic xorshift PRNG so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

/* Values are the key's index + 1 so that no value is NULL. */
static void *value_of(size_t i) {
        return (void *) (uintptr_t) (i + 1);
}

static char (*make_keys(size_t n))[16] {
        char (*keys)[16] = calloc(n, sizeof(*keys));

        ASSERT_TRUE(keys != NULL);
        for (size_t i = 0; i < n; i++)
                snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
        return keys;
}

TEST(test_empty_map) {
        StrMap m = { 0 };

        ASSERT_TRUE(strmap_get(&m, "a") == NULL);
        ASSERT_TRUE(strmap_remove(&m, "a") == NULL);
        ASSERT_EQ_INT(m.n, 0);
        strmap_done(&m);
}

TEST(test_put_get_remove_one) {
        StrMap m = { 0 };
        int x = 1;

        ASSERT_EQ_INT(strmap_put(&m, "a", &x), 0);
        ASSERT_EQ_INT(m.n, 1);
        ASSERT_TRUE(strmap_get(&m, "a") == &x);
        ASSERT_TRUE(strmap_get(&m, "b") == NULL);
        ASSERT_TRUE(strmap_remove(&m, "b") == NULL);
        ASSERT_TRUE(strmap_remove(&m, "a") == &x);
        ASSERT_EQ_INT(m.n, 0);
        ASSERT_TRUE(strmap_get(&m, "a") == NULL);
        ASSERT_TRUE(strmap_remove(&m, "a") == NULL);
        strmap_done(&m);
        ASSERT_EQ_INT(m.cap, 0);
}

TEST(test_lookup_compares_contents) {
        StrMap m = { 0 };
        char other[] = "same";
        int x = 1;

        ASSERT_EQ_INT(strmap_put(&m, "same", &x), 0);
        ASSERT_TRUE(strmap_get(&m, other) == &x); /* a different pointer to equal bytes */
        strmap_done(&m);
}

TEST(test_duplicate_is_eexist) {
        StrMap m = { 0 };
        char dup[] = "a";
        int x = 1, y = 2;

        ASSERT_EQ_INT(strmap_put(&m, "a", &x), 0);
        ASSERT_EQ_INT(strmap_put(&m, dup, &y), -EEXIST);
        ASSERT_EQ_INT(m.n, 1);
        ASSERT_TRUE(strmap_get(&m, "a") == &x); /* the first value stays */
        strmap_done(&m);
}

TEST(test_many_keys) {
        _cleanup_(freep) char (*keys)[16] = make_keys(N_KEYS);
        StrMap m = { 0 };

        for (size_t i = 0; i < N_KEYS; i++)
                ASSERT_EQ_INT(strmap_put(&m, keys[i], value_of(i)), 0);
        ASSERT_EQ_INT(m.n, N_KEYS);
        ASSERT_TRUE(m.cap >= 2 * m.n); /* load factor at most 1/2 */
        for (size_t i = 0; i < N_KEYS; i++)
                ASSERT_TRUE(strmap_get(&m, keys[i]) == value_of(i));
        for (size_t i = 0; i < N_KEYS; i++)
                ASSERT_EQ_INT(strmap_put(&m, keys[i], NULL), -EEXIST);
        ASSERT_TRUE(strmap_get(&m, "key-20000") == NULL);
        ASSERT_TRUE(strmap_get(&m, "") == NULL);
        strmap_done(&m);
}

/* Removes every key in random order; after each batch every remaining key must still be found and every
 * removed one must be gone. Backward-shift deletion moves entries, so a wrong shift loses keys. */
TEST(test_remove_random_order_keeps_others) {
        _cleanup_(freep) char (*keys)[16] = make_keys(N_KEYS);
        _cleanup_(freep) size_t *order = calloc(N_KEYS, sizeof(size_t));
        _cleanup_(freep) bool *present = calloc(N_KEYS, sizeof(bool));
        StrMap m = { 0 };
        const size_t batch = 500;

        ASSERT_TRUE(order && present);
        for (size_t i = 0; i < N_KEYS; i++) {
                ASSERT_EQ_INT(strmap_put(&m, keys[i], value_of(i)), 0);
                present[i] = true;
                order[i] = i;
        }
        for (size_t i = N_KEYS - 1; i > 0; i--) { /* Fisher-Yates */
                size_t j = rng() % (i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
        }

        for (size_t done = 0; done < N_KEYS; done += batch) {
                for (size_t i = done; i < done + batch && i < N_KEYS; i++) {
                        ASSERT_TRUE(strmap_remove(&m, keys[order[i]]) == value_of(order[i]));
                        present[order[i]] = false;
                }
                ASSERT_EQ_INT(m.n, N_KEYS - MIN(done + batch, (size_t) N_KEYS));
                for (size_t i = 0; i < N_KEYS; i++)
                        ASSERT_TRUE(strmap_get(&m, keys[i]) == (present[i] ? value_of(i) : NULL));
        }
        ASSERT_EQ_INT(m.n, 0);
        strmap_done(&m);
}

/* Remove then put again: freed slots are reusable and nothing is found twice. */
TEST(test_remove_then_reinsert) {
        _cleanup_(freep) char (*keys)[16] = make_keys(1000);
        StrMap m = { 0 };

        for (size_t i = 0; i < 1000; i++)
                ASSERT_EQ_INT(strmap_put(&m, keys[i], value_of(i)), 0);
        for (size_t i = 0; i < 1000; i += 2)
                ASSERT_TRUE(strmap_remove(&m, keys[i]) == value_of(i));
        for (size_t i = 0; i < 1000; i += 2)
                ASSERT_EQ_INT(strmap_put(&m, keys[i], value_of(i)), 0);
        ASSERT_EQ_INT(m.n, 1000);
        for (size_t i = 0; i < 1000; i++)
                ASSERT_TRUE(strmap_get(&m, keys[i]) == value_of(i));
        strmap_done(&m);
}

/* Small tables (16 slots, at most 8 keys) under random puts and removes, checked against a plain array
 * after every operation. Many different key sets give many collision patterns, including probe runs
 * that wrap around the end of the table. */
TEST(test_small_table_model) {
        enum { SETS = 2000, PER_SET = 8 };
        _cleanup_(freep) char (*keys)[16] = calloc(SETS * PER_SET, sizeof(*keys));

        ASSERT_TRUE(keys != NULL);
        for (size_t i = 0; i < SETS * PER_SET; i++) /* random names: more varied home slots than "key-N" */
                snprintf(keys[i], sizeof(keys[i]), "%" PRIx64, rng());

        for (size_t set = 0; set < SETS; set++) {
                char (*k)[16] = keys + set * PER_SET;
                bool present[PER_SET] = { false };
                StrMap m = { 0 };

                for (int op = 0; op < 200; op++) {
                        size_t x = rng() % PER_SET;

                        if (present[x]) {
                                ASSERT_TRUE(strmap_remove(&m, k[x]) == value_of(x));
                                present[x] = false;
                        } else {
                                ASSERT_EQ_INT(strmap_put(&m, k[x], value_of(x)), 0);
                                present[x] = true;
                        }
                        ASSERT_EQ_INT(m.cap, 16);
                        for (size_t i = 0; i < PER_SET; i++)
                                ASSERT_TRUE(strmap_get(&m, k[i]) == (present[i] ? value_of(i) : NULL));
                }
                strmap_done(&m);
        }
}

/* The same with a bigger universe of keys and tables that grow. */
TEST(test_medium_table_model) {
        enum { U = 300 };
        _cleanup_(freep) char (*keys)[16] = make_keys(U);
        bool present[U] = { false };
        StrMap m = { 0 };
        size_t n = 0;

        for (int op = 0; op < 30000; op++) {
                size_t k = rng() % U;

                if (present[k]) {
                        ASSERT_TRUE(strmap_remove(&m, keys[k]) == value_of(k));
                        present[k] = false;
                        n--;
                } else {
                        ASSERT_EQ_INT(strmap_put(&m, keys[k], value_of(k)), 0);
                        present[k] = true;
                        n++;
                }
                ASSERT_EQ_INT(m.n, n);
                if (op % 10 == 0)
                        for (size_t i = 0; i < U; i++)
                                ASSERT_TRUE(strmap_get(&m, keys[i]) == (present[i] ? value_of(i) : NULL));
        }
        strmap_done(&m);
}

TEST(test_borrowed_key_is_callers) {
        StrMap m = { 0 };
        const char *key = "borrowed";
        char other[] = "borrowed";
        int x = 1;

        ASSERT_TRUE(strmap_get_key(&m, key) == NULL);
        ASSERT_EQ_INT(strmap_put(&m, key, &x), 0);
        ASSERT_TRUE(strmap_get_key(&m, other) == key); /* no copy */
        ASSERT_TRUE(strmap_get_key(&m, "absent") == NULL);
        strmap_done(&m);
}

/* An owning map keeps its own copy: the caller's buffer may change or go away after the put. */
TEST(test_owning_copies_key) {
        StrMap m = STRMAP_OWNING;
        char buf[16] = "first";
        int x = 1, y = 2;
        const char *stored;

        ASSERT_EQ_INT(strmap_put(&m, buf, &x), 0);
        stored = strmap_get_key(&m, "first");
        ASSERT_TRUE(stored != NULL && stored != buf);
        ASSERT_STREQ(stored, "first");
        snprintf(buf, sizeof(buf), "second");
        ASSERT_EQ_INT(strmap_put(&m, buf, &y), 0);
        ASSERT_TRUE(strmap_get(&m, "first") == &x);
        ASSERT_TRUE(strmap_get(&m, "second") == &y);
        ASSERT_EQ_INT(strmap_put(&m, "first", &y), -EEXIST); /* no copy made, none leaked */
        ASSERT_TRUE(strmap_get(&m, "first") == &x);
        ASSERT_EQ_INT(m.n, 2);
        strmap_done(&m); /* frees both copies: ASan reports a leak otherwise */
}

/* Remove frees the copy; the argument may be that copy itself (an entry's only reference to its key). */
TEST(test_owning_remove_frees) {
        StrMap m = STRMAP_OWNING;
        int x = 1, y = 2;

        ASSERT_EQ_INT(strmap_put(&m, "a", &x), 0);
        ASSERT_EQ_INT(strmap_put(&m, "b", &y), 0);
        ASSERT_TRUE(strmap_remove(&m, strmap_get_key(&m, "a")) == &x);
        ASSERT_TRUE(strmap_get_key(&m, "a") == NULL);
        ASSERT_TRUE(strmap_remove(&m, "b") == &y);
        ASSERT_EQ_INT(m.n, 0);
        ASSERT_TRUE(strmap_remove(&m, "b") == NULL);
        ASSERT_EQ_INT(strmap_put(&m, "a", &y), 0); /* put again after remove: a fresh copy */
        ASSERT_TRUE(strmap_get(&m, "a") == &y);
        strmap_done(&m);
}

/* Growing the table moves the key pointers, not the strings: a stored key stays where it was. */
TEST(test_owning_rehash_keeps_keys) {
        enum { K = 5000 };
        _cleanup_(freep) const char **stored = calloc(K, sizeof(char *));
        StrMap m = STRMAP_OWNING;
        char buf[16];

        ASSERT_TRUE(stored != NULL);
        for (size_t i = 0; i < K; i++) {
                snprintf(buf, sizeof(buf), "key-%zu", i); /* one buffer, rewritten: only copies survive */
                ASSERT_EQ_INT(strmap_put(&m, buf, value_of(i)), 0);
                stored[i] = strmap_get_key(&m, buf);
                ASSERT_TRUE(stored[i] != NULL && stored[i] != buf);
        }
        ASSERT_TRUE(m.cap > 16); /* it grew */
        for (size_t i = 0; i < K; i++) {
                snprintf(buf, sizeof(buf), "key-%zu", i);
                ASSERT_TRUE(strmap_get_key(&m, buf) == stored[i]);
                ASSERT_STREQ(stored[i], buf);
                ASSERT_TRUE(strmap_get(&m, buf) == value_of(i));
        }
        /* removing every other key shifts entries back; the strings stay put */
        for (size_t i = 0; i < K; i += 2)
                ASSERT_TRUE(strmap_remove(&m, stored[i]) == value_of(i));
        for (size_t i = 1; i < K; i += 2) {
                ASSERT_TRUE(strmap_get_key(&m, stored[i]) == stored[i]);
                ASSERT_TRUE(strmap_get(&m, stored[i]) == value_of(i));
        }
        ASSERT_EQ_INT(m.n, K / 2);
        strmap_done(&m);
}

/* strmap_done() empties the map but keeps its mode, so a map reused after done still copies. */
TEST(test_owning_survives_done) {
        StrMap m = STRMAP_OWNING;
        char buf[16] = "k";
        int x = 1;

        ASSERT_EQ_INT(strmap_put(&m, "k", &x), 0);
        strmap_done(&m);
        ASSERT_TRUE(m.owns_keys);
        ASSERT_EQ_INT(m.n, 0);
        ASSERT_TRUE(strmap_get(&m, "k") == NULL);
        ASSERT_EQ_INT(strmap_put(&m, buf, &x), 0);
        ASSERT_TRUE(strmap_get_key(&m, "k") != buf);
        strmap_done(&m);
}

/* The random model of test_medium_table_model on an owning map, keys from a scratch buffer. */
TEST(test_owning_model) {
        enum { U = 300 };
        bool present[U] = { false };
        StrMap m = STRMAP_OWNING;
        char buf[16];

        for (int op = 0; op < 30000; op++) {
                size_t k = rng() % U;

                snprintf(buf, sizeof(buf), "key-%zu", k);
                if (present[k])
                        ASSERT_TRUE(strmap_remove(&m, buf) == value_of(k));
                else
                        ASSERT_EQ_INT(strmap_put(&m, buf, value_of(k)), 0);
                present[k] = !present[k];
                memset(buf, 'x', sizeof(buf) - 1);
                if (op % 100 == 0)
                        for (size_t i = 0; i < U; i++) {
                                snprintf(buf, sizeof(buf), "key-%zu", i);
                                ASSERT_TRUE(strmap_get(&m, buf) == (present[i] ? value_of(i) : NULL));
                        }
        }
        strmap_done(&m);
}

/* The test vectors of the SipHash paper (appendix A: key 00..0f, message 00..0e) and of its reference code
 * (the empty message and 00..07, same key). */
TEST(test_siphash24_vectors) {
        uint8_t key[16], msg[15];

        for (size_t i = 0; i < sizeof(key); i++)
                key[i] = (uint8_t) i;
        for (size_t i = 0; i < sizeof(msg); i++)
                msg[i] = (uint8_t) i;
        ASSERT_EQ_U64(strmap_siphash24(msg, 15, key), 0xa129ca6149be45e5ULL);
        ASSERT_EQ_U64(strmap_siphash24(msg, 0, key), 0x726fdb47dd0e0e31ULL);
        ASSERT_EQ_U64(strmap_siphash24(msg, 8, key), 0x93f5f5799a932462ULL);
        key[0] ^= 1; /* the key matters */
        ASSERT_TRUE(strmap_siphash24(msg, 15, key) != 0xa129ca6149be45e5ULL);
}

/* 10 000 names that share one home slot under the old unseeded FNV-1a (issue 12: parsing them took 45
 * times as long) cost a few probes each, as any names do. Counted in probes, not time, so a slow machine
 * or a sanitizer does not change the verdict: the old hash needs ~n^2/2 = 5e7 for the puts alone. */
TEST(test_fnv1a_collisions_stay_cheap) {
        enum { N = 10000 };
        _cleanup_(freep) char (*names)[FNV_COLLIDE_NAME_MAX] = fnv_colliding_names(N);
        StrMap m = STRMAP_OWNING;
        uint64_t before;

        ASSERT_TRUE(names != NULL);
        for (size_t i = 0; i < N; i++) /* they do collide in the old function */
                ASSERT_EQ_U64(fnv1a_old(names[i]) & FNV_COLLIDE_MASK, FNV_COLLIDE_TARGET);
        before = strmap_probes();
        for (size_t i = 0; i < N; i++)
                ASSERT_EQ_INT(strmap_put(&m, names[i], value_of(i)), 0);
        for (size_t i = 0; i < N; i++)
                ASSERT_TRUE(strmap_get(&m, names[i]) == value_of(i));
        for (size_t i = 0; i < N; i += 2)
                ASSERT_TRUE(strmap_remove(&m, names[i]) == value_of(i));
        for (size_t i = 0; i < N; i++)
                ASSERT_TRUE(strmap_get(&m, names[i]) == (i % 2 ? value_of(i) : NULL));
        /* 3.5 N operations plus the rehashes (< 2 N moves): a handful of probes each on average */
        ASSERT_TRUE(strmap_probes() - before < 10 * 6 * (uint64_t) N);
        ASSERT_EQ_INT(m.n, N / 2);
        strmap_done(&m);
}

/* The counter counts: a lookup in a non-empty map visits at least one slot. */
TEST(test_probes_count) {
        StrMap m = { 0 };
        uint64_t before;
        int x = 1;

        ASSERT_EQ_INT(strmap_put(&m, "a", &x), 0);
        before = strmap_probes();
        ASSERT_TRUE(strmap_get(&m, "a") == &x);
        ASSERT_TRUE(strmap_probes() > before);
        strmap_done(&m);
}

int main(void) {
        RUN(test_empty_map);
        RUN(test_put_get_remove_one);
        RUN(test_lookup_compares_contents);
        RUN(test_duplicate_is_eexist);
        RUN(test_many_keys);
        RUN(test_remove_random_order_keeps_others);
        RUN(test_remove_then_reinsert);
        RUN(test_small_table_model);
        RUN(test_medium_table_model);
        RUN(test_borrowed_key_is_callers);
        RUN(test_owning_copies_key);
        RUN(test_owning_remove_frees);
        RUN(test_owning_rehash_keeps_keys);
        RUN(test_owning_survives_done);
        RUN(test_owning_model);
        RUN(test_siphash24_vectors);
        RUN(test_fnv1a_collisions_stay_cheap);
        RUN(test_probes_count);
        return 0;
}
