/* SPDX-License-Identifier: MIT */
/* Shared by the libFuzzer harnesses: typed values read off the fuzzer's input, and a check that stops the
 * run (abort: libFuzzer keeps the input as a crash artifact) when a parser breaks its contract. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(expr)                                                                              \
        do {                                                                                          \
                if (!(expr)) {                                                                        \
                        fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #expr);   \
                        abort();                                                                      \
                }                                                                                     \
        } while (0)

/* The input as a stream; reading past its end yields zeros, so every input means something. */
typedef struct FuzzInput {
        const uint8_t *p;
        size_t n;
} FuzzInput;

static inline uint8_t fuzz_u8(FuzzInput *in) {
        if (in->n == 0)
                return 0;
        in->n--;
        return *in->p++;
}

static inline uint64_t fuzz_uint(FuzzInput *in, unsigned bytes) {
        uint64_t v = 0;

        for (unsigned i = 0; i < bytes; i++)
                v = v << 8 | fuzz_u8(in);
        return v;
}

/* A counter as cgroups show them, and the ones that break careless code: zero, small, near 2^64, any. */
static inline uint64_t fuzz_value(FuzzInput *in) {
        switch (fuzz_u8(in) % 5) {
        case 0:
                return 0;
        case 1:
                return fuzz_u8(in);
        case 2:
                return fuzz_uint(in, 4);
        case 3:
                return UINT64_MAX - fuzz_u8(in);
        default:
                return fuzz_uint(in, 8);
        }
}

/* Up to max bytes of the input, as they are. */
static inline size_t fuzz_bytes(FuzzInput *in, size_t max, const uint8_t **ret) {
        size_t n = in->n < max ? in->n : max;

        *ret = in->p;
        in->p += n;
        in->n -= n;
        return n;
}

/* Deterministic choices that need not come from the input itself (chunk sizes), seeded by it. */
static inline uint32_t fuzz_rand(uint32_t *state) {
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        return *state;
}

/* A reference for the strict number parsers: decimal digits (any number of leading zeros) with at most one
 * trailing newline; -EINVAL for anything else, -ERANGE above max. */
static inline int fuzz_decimal_reference(const char *s, size_t n, uint64_t max, uint64_t *ret) {
        unsigned __int128 v = 0;

        if (n > 0 && s[n - 1] == '\n')
                n--;
        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                v = v * 10 + (unsigned) (s[i] - '0');
                if (v > max)
                        return -ERANGE;
        }
        *ret = (uint64_t) v;
        return 0;
}
