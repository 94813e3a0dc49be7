/* SPDX-License-Identifier: MIT */
/* A tiny assertion harness for unit tests: a failed check prints where and exits non-zero. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

#define ASSERT_TRUE(expr)                                                                      \
        do {                                                                                   \
                if (!(expr)) {                                                                 \
                        fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #expr); \
                        abort();                                                               \
                }                                                                              \
        } while (0)

#define ASSERT_EQ_INT(a, b)                                                                   \
        do {                                                                                   \
                long long _a = (long long) (a), _b = (long long) (b);                          \
                if (_a != _b) {                                                                \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, _a, \
                                #b, _b);                                                       \
                        abort();                                                               \
                }                                                                              \
        } while (0)

#define ASSERT_EQ_U64(a, b)                                                                   \
        do {                                                                                   \
                uint64_t _a = (a), _b = (b);                                                   \
                if (_a != _b) {                                                                \
                        fprintf(stderr, "%s:%d: %s == %" PRIu64 ", expected %" PRIu64 "\n", __FILE__, __LINE__, #a, \
                                _a, _b);                                                       \
                        abort();                                                               \
                }                                                                              \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                    \
        do {                                                                                   \
                const char *_a = (a), *_b = (b);                                               \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                       \
                        fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
                                _a ? _a : "(null)", _b ? _b : "(null)");                       \
                        abort();                                                               \
                }                                                                              \
        } while (0)

#define ASSERT_CONTAINS(haystack, needle)                                                     \
        do {                                                                                   \
                const char *_h = (haystack), *_n = (needle);                                   \
                if (!_h || !strstr(_h, _n)) {                                                  \
                        fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
                                _h ? _h : "(null)", _n);                                       \
                        abort();                                                               \
                }                                                                              \
        } while (0)

#define TEST(name) static void name(void)
#define RUN(name)                                   \
        do {                                        \
                name();                             \
                printf("ok %s\n", #name);           \
        } while (0)

/* A fixture's bytes: tests run in tests/data (meson's workdir), fixtures live in a folder under it. */
static inline char *test_fixture(const char *dir, const char *name, size_t *ret_size) {
        char path[256], *data = NULL;
        size_t size = 0;

        ASSERT_TRUE((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path));
        ASSERT_EQ_INT(read_file_bounded(path, 1024 * 1024, &data, &size), 0);
        *ret_size = size;
        return data;
}
