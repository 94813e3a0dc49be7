/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "macro.h"
#include "parse-util.h"
#include "tests.h"

TEST(test_safe_atou64_valid) {
        uint64_t v = 1;

        ASSERT_EQ_INT(safe_atou64("0", &v), 0);
        ASSERT_EQ_U64(v, 0);
        ASSERT_EQ_INT(safe_atou64("42", &v), 0);
        ASSERT_EQ_U64(v, 42);
        ASSERT_EQ_INT(safe_atou64("007", &v), 0);
        ASSERT_EQ_U64(v, 7);
}

TEST(test_safe_atou64_max) {
        uint64_t v = 0;

        ASSERT_EQ_INT(safe_atou64("18446744073709551615", &v), 0);
        ASSERT_EQ_U64(v, UINT64_MAX);
}

TEST(test_safe_atou64_overflow) {
        uint64_t v = 7;

        ASSERT_EQ_INT(safe_atou64("18446744073709551616", &v), -ERANGE);
        ASSERT_EQ_INT(safe_atou64("99999999999999999999999", &v), -ERANGE);
        ASSERT_EQ_U64(v, 7); /* untouched on failure */
}

TEST(test_safe_atou64_garbage) {
        uint64_t v = 7;

        ASSERT_EQ_INT(safe_atou64("", &v), -EINVAL);
        ASSERT_EQ_INT(safe_atou64(NULL, &v), -EINVAL);
        ASSERT_EQ_INT(safe_atou64("abc", &v), -EINVAL);
        ASSERT_EQ_INT(safe_atou64("12abc", &v), -EINVAL);
        ASSERT_EQ_INT(safe_atou64("1.5", &v), -EINVAL);
        ASSERT_EQ_INT(safe_atou64(" 1", &v), -EINVAL);
        ASSERT_EQ_INT(safe_atou64("1 ", &v), -EINVAL);
        ASSERT_EQ_INT(safe_atou64("0x10", &v), -EINVAL);
        ASSERT_EQ_U64(v, 7);
}

TEST(test_safe_atou64_sign) {
        uint64_t v = 7;

        ASSERT_EQ_INT(safe_atou64("-1", &v), -EINVAL);
        ASSERT_EQ_INT(safe_atou64("+1", &v), -EINVAL);
        ASSERT_EQ_INT(safe_atou64("-0", &v), -EINVAL);
        ASSERT_EQ_U64(v, 7);
}

TEST(test_parse_size_suffixes) {
        uint64_t v = 0;

        ASSERT_EQ_INT(parse_size("512", &v), 0);
        ASSERT_EQ_U64(v, 512);
        ASSERT_EQ_INT(parse_size("0", &v), 0);
        ASSERT_EQ_U64(v, 0);
        ASSERT_EQ_INT(parse_size("512K", &v), 0);
        ASSERT_EQ_U64(v, 512ULL * 1024);
        ASSERT_EQ_INT(parse_size("512M", &v), 0);
        ASSERT_EQ_U64(v, 512ULL * 1024 * 1024);
        ASSERT_EQ_INT(parse_size("2G", &v), 0);
        ASSERT_EQ_U64(v, 2ULL * 1024 * 1024 * 1024);
        ASSERT_EQ_INT(parse_size("1T", &v), 0);
        ASSERT_EQ_U64(v, 1ULL << 40);
        ASSERT_EQ_INT(parse_size("15E", &v), 0);
        ASSERT_EQ_U64(v, 15ULL << 60);
}

TEST(test_parse_size_infinity) {
        uint64_t v = 0;

        ASSERT_EQ_INT(parse_size("infinity", &v), 0);
        ASSERT_EQ_U64(v, UINT64_MAX);
}

TEST(test_parse_size_overflow) {
        uint64_t v = 7;

        ASSERT_EQ_INT(parse_size("99999999999E", &v), -ERANGE);
        ASSERT_EQ_INT(parse_size("16E", &v), -ERANGE);
        ASSERT_EQ_INT(parse_size("18446744073709551616", &v), -ERANGE);
        ASSERT_EQ_U64(v, 7);
}

TEST(test_parse_size_junk) {
        uint64_t v = 7;

        ASSERT_EQ_INT(parse_size("12Q", &v), -EINVAL);
        ASSERT_EQ_INT(parse_size("", &v), -EINVAL);
        ASSERT_EQ_INT(parse_size(NULL, &v), -EINVAL);
        ASSERT_EQ_INT(parse_size("M", &v), -EINVAL);
        ASSERT_EQ_INT(parse_size("-1M", &v), -EINVAL);
        ASSERT_EQ_INT(parse_size("1.5G", &v), -EINVAL);
        ASSERT_EQ_INT(parse_size("Infinity ", &v), -EINVAL);
        ASSERT_EQ_U64(v, 7);
}

TEST(test_parse_percent) {
        uint64_t v = 0;

        ASSERT_EQ_INT(parse_percent("150%", &v), 0);
        ASSERT_EQ_U64(v, 150);
        ASSERT_EQ_INT(parse_percent("0%", &v), 0);
        ASSERT_EQ_U64(v, 0);
        ASSERT_EQ_INT(parse_percent("150", &v), -EINVAL); /* '%' required */
        ASSERT_EQ_INT(parse_percent("%", &v), -EINVAL);
        ASSERT_EQ_INT(parse_percent("", &v), -EINVAL);
        ASSERT_EQ_INT(parse_percent("-5%", &v), -EINVAL);
        ASSERT_EQ_INT(parse_percent("1.5%", &v), -EINVAL);
        ASSERT_EQ_INT(parse_percent("15%%", &v), -EINVAL);
        ASSERT_EQ_INT(parse_percent("18446744073709551616%", &v), -ERANGE);
}

TEST(test_parse_sec_plain_and_fraction) {
        usec_t u = 0;

        ASSERT_EQ_INT(parse_sec("30", &u), 0);
        ASSERT_EQ_U64(u, 30 * USEC_PER_SEC);
        ASSERT_EQ_INT(parse_sec("1.5", &u), 0);
        ASSERT_EQ_U64(u, 1500000);
        ASSERT_EQ_INT(parse_sec("0.000001", &u), 0);
        ASSERT_EQ_U64(u, 1);
}

TEST(test_parse_sec_units) {
        usec_t u = 0;

        ASSERT_EQ_INT(parse_sec("500ms", &u), 0);
        ASSERT_EQ_U64(u, 500 * USEC_PER_MSEC);
        ASSERT_EQ_INT(parse_sec("2s", &u), 0);
        ASSERT_EQ_U64(u, 2 * USEC_PER_SEC);
        ASSERT_EQ_INT(parse_sec("3min", &u), 0);
        ASSERT_EQ_U64(u, 180 * USEC_PER_SEC);
        ASSERT_EQ_INT(parse_sec("1.5s", &u), 0);
        ASSERT_EQ_U64(u, 1500000);
        ASSERT_EQ_INT(parse_sec("1.5ms", &u), 0);
        ASSERT_EQ_U64(u, 1500);
}

TEST(test_parse_sec_bad) {
        usec_t u = 7;

        ASSERT_EQ_INT(parse_sec("", &u), -EINVAL);
        ASSERT_EQ_INT(parse_sec(NULL, &u), -EINVAL);
        ASSERT_EQ_INT(parse_sec("abc", &u), -EINVAL);
        ASSERT_EQ_INT(parse_sec("5h", &u), -EINVAL);
        ASSERT_EQ_INT(parse_sec("s", &u), -EINVAL);
        ASSERT_EQ_INT(parse_sec("ms", &u), -EINVAL);
        ASSERT_EQ_INT(parse_sec("-1", &u), -EINVAL);
        ASSERT_EQ_INT(parse_sec("1.", &u), -EINVAL);
        ASSERT_EQ_INT(parse_sec(".5", &u), -EINVAL);
        ASSERT_EQ_INT(parse_sec("1.2.3", &u), -EINVAL);
        ASSERT_EQ_INT(parse_sec("1.1234567", &u), -EINVAL); /* more than microsecond precision */
        ASSERT_EQ_INT(parse_sec("2 s", &u), -EINVAL);
        ASSERT_EQ_U64(u, 7);
}

TEST(test_parse_sec_overflow) {
        usec_t u = 7;

        ASSERT_EQ_INT(parse_sec("18446744073709551615", &u), -ERANGE);
        ASSERT_EQ_INT(parse_sec("99999999999999min", &u), -ERANGE);
        ASSERT_EQ_U64(u, 7);
}

TEST(test_parse_cpu_set_bits) {
        _cleanup_(freep) uint8_t *bits = NULL;
        size_t n = 0;

        ASSERT_EQ_INT(parse_cpu_set("0-3,6", &bits, &n), 0);
        ASSERT_EQ_INT(n, 1);
        ASSERT_EQ_INT(bits[0], 0x4f); /* 0b01001111 */
}

TEST(test_parse_cpu_set_multi_byte) {
        _cleanup_(freep) uint8_t *bits = NULL;
        size_t n = 0;

        ASSERT_EQ_INT(parse_cpu_set("1,9,17", &bits, &n), 0);
        ASSERT_EQ_INT(n, 3);
        ASSERT_EQ_INT(bits[0], 0x02);
        ASSERT_EQ_INT(bits[1], 0x02);
        ASSERT_EQ_INT(bits[2], 0x02);
}

TEST(test_parse_cpu_set_highest) {
        _cleanup_(freep) uint8_t *bits = NULL;
        size_t n = 0;

        ASSERT_EQ_INT(parse_cpu_set("8191", &bits, &n), 0);
        ASSERT_EQ_INT(n, CPU_SET_MAX_CPUS / 8);
        ASSERT_EQ_INT(bits[n - 1], 0x80);
}

TEST(test_parse_cpu_set_round_trip) {
        static const char *const lists[] = { "0-3,6", "0", "1", "0-1", "7-8", "0,2,4", "5-7,9,100-200", "8191" };

        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
                _cleanup_(freep) uint8_t *bits = NULL;
                _cleanup_(freep) char *s = NULL;
                size_t n = 0;

                ASSERT_EQ_INT(parse_cpu_set(lists[i], &bits, &n), 0);
                s = cpu_set_to_string(bits, n);
                ASSERT_STREQ(s, lists[i]);
        }
}

TEST(test_parse_cpu_set_normalizes) {
        _cleanup_(freep) uint8_t *bits = NULL;
        _cleanup_(freep) char *s = NULL;
        size_t n = 0;

        /* Overlapping and unordered ranges come back as one canonical list. */
        ASSERT_EQ_INT(parse_cpu_set("6,0-2,1-3", &bits, &n), 0);
        s = cpu_set_to_string(bits, n);
        ASSERT_STREQ(s, "0-3,6");
}

/* Ranges set by whole bytes agree with a CPU-by-CPU model at every alignment: ranges within a byte, across
 * one boundary, and covering whole bytes with ragged ends, in random order and overlapping. */
TEST(test_parse_cpu_set_ranges_match_model) {
        uint64_t state = 0x2545f4914f6cdd1dULL;

        for (int round = 0; round < 2000; round++) {
                _cleanup_(freep) uint8_t *bits = NULL;
                uint8_t model[CPU_SET_MAX_CPUS / 8] = { 0 };
                char list[512];
                size_t len = 0, n = 0, model_n = 0;
                int entries = 1 + round % 8;

                for (int e = 0; e < entries; e++) {
                        size_t lo, hi;

                        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
                        lo = state % (round % 2 ? 64 : CPU_SET_MAX_CPUS);
                        hi = lo + (state >> 20) % (round % 3 ? 20 : 300);
                        hi = MIN(hi, (size_t) CPU_SET_MAX_CPUS - 1);
                        len += (size_t) snprintf(list + len, sizeof(list) - len, "%s%zu-%zu", e ? "," : "", lo, hi);
                        for (size_t c = lo; c <= hi; c++)
                                model[c / 8] |= (uint8_t) (1u << (c % 8));
                        model_n = MAX(model_n, hi / 8 + 1);
                }
                ASSERT_EQ_INT(parse_cpu_set(list, &bits, &n), 0);
                ASSERT_EQ_INT(n, model_n);
                ASSERT_TRUE(memcmp(bits, model, n) == 0);
        }
}

/* At most CPU_SET_MAX_ENTRIES entries: one per CPU passes, one more is -E2BIG, refused before parsing. */
TEST(test_parse_cpu_set_entry_limit) {
        size_t cap = CPU_SET_MAX_ENTRIES * 6 + 16, len = 0;
        _cleanup_(freep) char *list = malloc(cap);
        _cleanup_(freep) uint8_t *bits = NULL;
        uint8_t *none = NULL;
        size_t n = 0;

        ASSERT_TRUE(list != NULL);
        for (size_t c = 0; c < CPU_SET_MAX_ENTRIES; c++)
                len += (size_t) snprintf(list + len, cap - len, "%s%zu", c ? "," : "", c);
        ASSERT_EQ_INT(parse_cpu_set(list, &bits, &n), 0);
        ASSERT_EQ_INT(n, CPU_SET_MAX_CPUS / 8);
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ_INT(bits[i], 0xff);
        snprintf(list + len, cap - len, ",0");
        ASSERT_EQ_INT(parse_cpu_set(list, &none, &n), -E2BIG);
        ASSERT_TRUE(none == NULL);
        ASSERT_EQ_INT(parse_cpu_set("x,,,,", &none, &n), -EINVAL); /* few entries: the syntax decides */
}

TEST(test_parse_cpu_set_invalid) {
        uint8_t *bits = NULL;
        size_t n = 77;

        ASSERT_EQ_INT(parse_cpu_set("3-1", &bits, &n), -EINVAL);
        ASSERT_EQ_INT(parse_cpu_set("1,,2", &bits, &n), -EINVAL);
        ASSERT_EQ_INT(parse_cpu_set("", &bits, &n), -EINVAL);
        ASSERT_EQ_INT(parse_cpu_set(NULL, &bits, &n), -EINVAL);
        ASSERT_EQ_INT(parse_cpu_set("1,", &bits, &n), -EINVAL);
        ASSERT_EQ_INT(parse_cpu_set(",1", &bits, &n), -EINVAL);
        ASSERT_EQ_INT(parse_cpu_set("1-", &bits, &n), -EINVAL);
        ASSERT_EQ_INT(parse_cpu_set("-1", &bits, &n), -EINVAL);
        ASSERT_EQ_INT(parse_cpu_set("a", &bits, &n), -EINVAL);
        ASSERT_EQ_INT(parse_cpu_set("1 2", &bits, &n), -EINVAL);
        ASSERT_EQ_INT(parse_cpu_set("1-2-3", &bits, &n), -EINVAL);
        ASSERT_TRUE(bits == NULL);
        ASSERT_EQ_INT(n, 77);
}

TEST(test_parse_cpu_set_out_of_range) {
        uint8_t *bits = NULL;
        size_t n = 77;

        ASSERT_EQ_INT(parse_cpu_set("8192", &bits, &n), -ERANGE);
        ASSERT_EQ_INT(parse_cpu_set("0-8192", &bits, &n), -ERANGE);
        ASSERT_TRUE(parse_cpu_set("99999999999999999999", &bits, &n) < 0);
        ASSERT_TRUE(bits == NULL);
        ASSERT_EQ_INT(n, 77);
}

TEST(test_cpu_set_to_string_empty) {
        static const uint8_t zero[2] = { 0, 0 };
        _cleanup_(freep) char *a = cpu_set_to_string(zero, 2), *b = cpu_set_to_string(NULL, 0);

        ASSERT_STREQ(a, "");
        ASSERT_STREQ(b, "");
}

TEST(test_parse_boolean) {
        ASSERT_EQ_INT(parse_boolean("yes"), 1);
        ASSERT_EQ_INT(parse_boolean("true"), 1);
        ASSERT_EQ_INT(parse_boolean("1"), 1);
        ASSERT_EQ_INT(parse_boolean("on"), 1);
        ASSERT_EQ_INT(parse_boolean("YES"), 1);
        ASSERT_EQ_INT(parse_boolean("no"), 0);
        ASSERT_EQ_INT(parse_boolean("false"), 0);
        ASSERT_EQ_INT(parse_boolean("0"), 0);
        ASSERT_EQ_INT(parse_boolean("off"), 0);
        ASSERT_EQ_INT(parse_boolean("Off"), 0);
        ASSERT_EQ_INT(parse_boolean(""), -EINVAL);
        ASSERT_EQ_INT(parse_boolean(NULL), -EINVAL);
        ASSERT_EQ_INT(parse_boolean("maybe"), -EINVAL);
        ASSERT_EQ_INT(parse_boolean("2"), -EINVAL);
        ASSERT_EQ_INT(parse_boolean("yes "), -EINVAL);
}

static void duration_is(const char *s, uint64_t sec) {
        usec_t u = 0;

        ASSERT_EQ_INT(parse_duration(s, &u), 0);
        ASSERT_TRUE(u == sec * USEC_PER_SEC);
}

static void duration_fails(const char *s, int error) {
        usec_t u = 42;

        ASSERT_EQ_INT(parse_duration(s, &u), error);
        ASSERT_TRUE(u == 42);
}

TEST(test_parse_duration) {
        duration_is("90s", 90);
        duration_is("90", 90);
        duration_is("30m", 1800);
        duration_is("30min", 1800);
        duration_is("1h", 3600);
        duration_is("2h30m", 9000);
        duration_is("2h30min15s", 9015);
        duration_is("1d12h", 129600);
        duration_is("366d", 366 * 86400);
        duration_is("0h5m", 300);
        duration_fails("", -EINVAL);
        duration_fails("h", -EINVAL);
        duration_fails("1x", -EINVAL);
        duration_fails("1 h", -EINVAL);
        duration_fails(" 1h", -EINVAL);
        duration_fails("1h ", -EINVAL);
        duration_fails("-1h", -EINVAL);
        duration_fails("1.5h", -EINVAL);
        duration_fails("1h30", -EINVAL);   /* a bare number only on its own */
        duration_fails("30m1h", -EINVAL);  /* largest first */
        duration_fails("1h1h", -EINVAL);
        duration_fails("1m1min", -EINVAL); /* one unit twice */
        duration_fails("1mi", -EINVAL);
        duration_fails("1ms", -EINVAL);    /* not a unit here */
        duration_fails("1hours", -EINVAL);
        duration_fails("0", -ERANGE);
        duration_fails("0s", -ERANGE);
        duration_fails("367d", -ERANGE);
        duration_fails("99999999999s", -ERANGE);
        duration_fails("365d24h1s", -ERANGE);
}

int main(void) {
        RUN(test_safe_atou64_valid);
        RUN(test_safe_atou64_max);
        RUN(test_safe_atou64_overflow);
        RUN(test_safe_atou64_garbage);
        RUN(test_safe_atou64_sign);
        RUN(test_parse_size_suffixes);
        RUN(test_parse_size_infinity);
        RUN(test_parse_size_overflow);
        RUN(test_parse_size_junk);
        RUN(test_parse_percent);
        RUN(test_parse_sec_plain_and_fraction);
        RUN(test_parse_sec_units);
        RUN(test_parse_sec_bad);
        RUN(test_parse_sec_overflow);
        RUN(test_parse_duration);
        RUN(test_parse_cpu_set_bits);
        RUN(test_parse_cpu_set_multi_byte);
        RUN(test_parse_cpu_set_highest);
        RUN(test_parse_cpu_set_round_trip);
        RUN(test_parse_cpu_set_normalizes);
        RUN(test_parse_cpu_set_invalid);
        RUN(test_parse_cpu_set_ranges_match_model);
        RUN(test_parse_cpu_set_entry_limit);
        RUN(test_parse_cpu_set_out_of_range);
        RUN(test_cpu_set_to_string_empty);
        RUN(test_parse_boolean);
        return 0;
}
