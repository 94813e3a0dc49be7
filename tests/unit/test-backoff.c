/* SPDX-License-Identifier: MIT */
/* Backoff: each user's sequence (ZooKeeper and Redis 0.25 s doubling to 10 s, the realizer's failed passes 1 s
 * doubling to 30 s), a reset starts over, the doubling saturates instead of wrapping for any cap, and the
 * jitter stays within ±1/div of the delay, reaches both ends and leaves what it cannot spread alone. */
#include <inttypes.h>

#include "backoff.h"
#include "macro.h"
#include "tests.h"

#define MS USEC_PER_MSEC
#define SEC USEC_PER_SEC

/* The parameters of the users (zk-machine.c and redis-sink.c; realizer.c). */
#define CONN_MIN (250 * MS)
#define CONN_MAX (10 * SEC)
#define PASS_MIN (1 * SEC)
#define PASS_MAX (30 * SEC)

static void expect_sequence(Backoff *b, const usec_t *expected, size_t n) {
        for (size_t i = 0; i < n; i++) {
                ASSERT_EQ_U64(backoff_next_usec(b), expected[i]);
                ASSERT_EQ_U64(b->delay_usec, expected[i]);
        }
}

TEST(test_connection_sequence) {
        static const usec_t expected[] = { 250 * MS, 500 * MS, 1 * SEC, 2 * SEC, 4 * SEC, 8 * SEC, 10 * SEC, 10 * SEC };
        Backoff b;

        backoff_init(&b, CONN_MIN, CONN_MAX);
        ASSERT_EQ_INT(b.attempt, 0);
        ASSERT_EQ_U64(b.delay_usec, 0);
        expect_sequence(&b, expected, ELEMENTSOF(expected));
        ASSERT_EQ_INT(b.attempt, ELEMENTSOF(expected));
        /* A success: the next failure waits the minimum again, and doubles from there. */
        backoff_reset(&b);
        ASSERT_EQ_INT(b.attempt, 0);
        ASSERT_EQ_U64(b.delay_usec, 0);
        expect_sequence(&b, expected, 3);
}

TEST(test_failed_pass_sequence) {
        /* What the realizer did by hand: CLAMP(previous × 2, 1 s, 30 s) from 0. */
        static const usec_t expected[] = { 1 * SEC, 2 * SEC, 4 * SEC, 8 * SEC, 16 * SEC, 30 * SEC, 30 * SEC };
        usec_t by_hand = 0;
        Backoff b;

        backoff_init(&b, PASS_MIN, PASS_MAX);
        expect_sequence(&b, expected, ELEMENTSOF(expected));
        backoff_reset(&b);
        for (unsigned i = 0; i < 100; i++) {
                by_hand = CLAMP(by_hand * 2, PASS_MIN, PASS_MAX);
                ASSERT_EQ_U64(backoff_next_usec(&b), by_hand);
        }
}

/* Failures without end: the count stops at BACKOFF_ATTEMPT_MAX, the delay stays at the cap. */
TEST(test_endless_failures) {
        Backoff b;

        backoff_init(&b, CONN_MIN, CONN_MAX);
        for (unsigned i = 0; i < 100000; i++)
                (void) backoff_next_usec(&b);
        ASSERT_EQ_INT(b.attempt, BACKOFF_ATTEMPT_MAX);
        ASSERT_EQ_U64(backoff_next_usec(&b), CONN_MAX);
        backoff_init(&b, 1, USEC_INFINITY);
        for (unsigned i = 0; i < 100000; i++)
                (void) backoff_next_usec(&b);
        ASSERT_EQ_U64(backoff_next_usec(&b), USEC_INFINITY);
}

TEST(test_exponential) {
        ASSERT_EQ_U64(backoff_exponential_usec(0, CONN_MIN, CONN_MAX), 250 * MS);
        ASSERT_EQ_U64(backoff_exponential_usec(1, CONN_MIN, CONN_MAX), 500 * MS);
        ASSERT_EQ_U64(backoff_exponential_usec(2, CONN_MIN, CONN_MAX), 1 * SEC);
        ASSERT_EQ_U64(backoff_exponential_usec(5, CONN_MIN, CONN_MAX), 8 * SEC);
        ASSERT_EQ_U64(backoff_exponential_usec(6, CONN_MIN, CONN_MAX), 10 * SEC);
        /* Attempts beyond what a shift could take, and the largest there is: no overflow, no wrap. */
        ASSERT_EQ_U64(backoff_exponential_usec(63, CONN_MIN, CONN_MAX), CONN_MAX);
        ASSERT_EQ_U64(backoff_exponential_usec(64, CONN_MIN, CONN_MAX), CONN_MAX);
        ASSERT_EQ_U64(backoff_exponential_usec(65, CONN_MIN, CONN_MAX), CONN_MAX);
        ASSERT_EQ_U64(backoff_exponential_usec(1000000, CONN_MIN, CONN_MAX), CONN_MAX);
        ASSERT_EQ_U64(backoff_exponential_usec(UINT32_MAX, CONN_MIN, CONN_MAX), CONN_MAX);
        /* Non-decreasing, between min and max, for every attempt up to well past the cap. */
        for (unsigned a = 0; a < 200; a++) {
                usec_t d = backoff_exponential_usec(a, CONN_MIN, CONN_MAX);

                ASSERT_TRUE(d >= CONN_MIN && d <= CONN_MAX);
                ASSERT_TRUE(a == 0 || d >= backoff_exponential_usec(a - 1, CONN_MIN, CONN_MAX));
        }
        /* min == max: constant. A cap that is not a power-of-two multiple of min is reached exactly. */
        ASSERT_EQ_U64(backoff_exponential_usec(0, SEC, SEC), SEC);
        ASSERT_EQ_U64(backoff_exponential_usec(UINT32_MAX, SEC, SEC), SEC);
        ASSERT_EQ_U64(backoff_exponential_usec(1, 3, 5), 5);
        ASSERT_EQ_U64(backoff_exponential_usec(UINT32_MAX, 3, 5), 5);
        /* min above max: max. A min of 0 stays 0. */
        ASSERT_EQ_U64(backoff_exponential_usec(0, 7, 5), 5);
        ASSERT_EQ_U64(backoff_exponential_usec(10, 0, 5), 0);
        /* A huge min stops at the cap (the loop ends before the doubling could wrap). */
        ASSERT_EQ_U64(backoff_exponential_usec(UINT32_MAX, UINT64_MAX / 2, UINT64_MAX / 2), UINT64_MAX / 2);
}

/* "min × 2^attempt, at most max" for any max, including USEC_INFINITY (no cap): the doubling must saturate,
 * not wrap around 2^64 (250ms × 2^47 does, to a smaller delay, and 1 × 2^64 to 0). */
TEST(test_exponential_uncapped_does_not_wrap) {
        ASSERT_EQ_U64(backoff_exponential_usec(63, 1, USEC_INFINITY), UINT64_C(1) << 63);
        for (unsigned a = 1; a < 200; a++) {
                usec_t d = backoff_exponential_usec(a, CONN_MIN, USEC_INFINITY);

                if (d < backoff_exponential_usec(a - 1, CONN_MIN, USEC_INFINITY))
                        fprintf(stderr, "backoff_exponential_usec(%u, 250ms, infinity) == %" PRIu64
                                ", less than for %u\n", a, d, a - 1);
                ASSERT_TRUE(d >= backoff_exponential_usec(a - 1, CONN_MIN, USEC_INFINITY));
                ASSERT_TRUE(d >= CONN_MIN);
        }
        ASSERT_EQ_U64(backoff_exponential_usec(64, 1, USEC_INFINITY), USEC_INFINITY);
}

/* xorshift64*: the same sequence on every libc */
static uint64_t rng_next(uint64_t *state) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        return *state * UINT64_C(2685821657736338717);
}

TEST(test_jitter_bounds) {
        /* ±12.5 % of 10 s: [8.75 s, 11.25 s], both ends reachable. */
        ASSERT_EQ_U64(backoff_jitter_usec(10 * SEC, 8, 0), 8750 * MS);
        ASSERT_EQ_U64(backoff_jitter_usec(10 * SEC, 8, 2500 * MS), 11250 * MS);
        ASSERT_EQ_U64(backoff_jitter_usec(10 * SEC, 8, 2500 * MS + 1), 8750 * MS); /* wraps inside the range */
        ASSERT_EQ_U64(backoff_jitter_usec(10 * SEC, 8, 1250 * MS), 10 * SEC);
        ASSERT_EQ_U64(backoff_jitter_usec(250 * MS, 8, 0), 218750);
        ASSERT_EQ_U64(backoff_jitter_usec(250 * MS, 8, UINT64_MAX), 250 * MS - 31250 + UINT64_MAX % 62501);
        /* Random bits of every kind stay in range; a quarter of the draws below the delay, one above. */
        for (usec_t delay = 8; delay < 40 * SEC; delay = delay * 3 + 1) {
                uint64_t rng = delay, below = 0, above = 0;

                for (unsigned i = 0; i < 4000; i++) {
                        usec_t d = backoff_jitter_usec(delay, 8, rng_next(&rng));

                        ASSERT_TRUE(d >= delay - delay / 8 && d <= delay - delay / 8 + delay / 4);
                        below += d < delay;
                        above += d > delay;
                }
                if (delay >= 1000) {
                        ASSERT_TRUE(below > 1500 && below < 2500);
                        ASSERT_TRUE(above > 1500 && above < 2500);
                }
        }
        /* What ZooKeeper's glue did by hand: delay - delay/8 + random % (delay/4 + 1). */
        for (uint64_t rng = 1, i = 0; i < 10000; i++) {
                uint64_t r = rng_next(&rng);
                usec_t delay = r % (60 * SEC) + 8;

                ASSERT_EQ_U64(backoff_jitter_usec(delay, 8, r), delay - delay / 8 + r % (delay / 4 + 1));
        }
}

TEST(test_jitter_nothing_to_spread) {
        /* No jitter asked for, too short to spread, or no real wait: as it is. */
        ASSERT_EQ_U64(backoff_jitter_usec(10 * SEC, 0, 12345), 10 * SEC);
        for (usec_t d = 0; d < 8; d++)
                ASSERT_EQ_U64(backoff_jitter_usec(d, 8, 5), d);
        ASSERT_EQ_U64(backoff_jitter_usec(USEC_INFINITY, 8, 12345), USEC_INFINITY);
        ASSERT_EQ_U64(backoff_jitter_usec(USEC_INFINITY / 4, 8, 12345), USEC_INFINITY / 4);
        /* The largest delay spread: ±100 % of it, [0, 2·delay], computed without overflow. */
        ASSERT_EQ_U64(backoff_jitter_usec(USEC_INFINITY / 4 - 1, 1, UINT64_MAX),
                      UINT64_MAX % (2 * (USEC_INFINITY / 4 - 1) + 1));
        ASSERT_EQ_U64(backoff_jitter_usec(USEC_INFINITY / 4 - 1, 1, 2 * (USEC_INFINITY / 4 - 1)),
                      2 * (USEC_INFINITY / 4 - 1));
}

int main(void) {
        RUN(test_connection_sequence);
        RUN(test_failed_pass_sequence);
        RUN(test_endless_failures);
        RUN(test_exponential);
        RUN(test_exponential_uncapped_does_not_wrap);
        RUN(test_jitter_bounds);
        RUN(test_jitter_nothing_to_spread);
        return 0;
}
