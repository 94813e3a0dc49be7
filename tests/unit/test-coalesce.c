/* SPDX-License-Identifier: MIT */
/* The coalescer: a quiet change waits only for the settle time, a stream of changes is acted on at least
 * every bound and at most every minimum interval, and no change waits longer than the bound. */
#include "coalesce.h"
#include "macro.h"
#include "tests.h"

#define MS USEC_PER_MSEC

TEST(test_nothing_pending) {
        Coalescer c;

        coalescer_init(&c, 50 * MS, 200 * MS, 200 * MS);
        ASSERT_EQ_U64(coalescer_due(&c), USEC_INFINITY);
        coalescer_change(&c, 1000 * MS);
        coalescer_acted(&c, 1050 * MS);
        ASSERT_EQ_U64(coalescer_due(&c), USEC_INFINITY);
        ASSERT_EQ_U64(c.n_changes, 1);
        ASSERT_EQ_U64(c.n_actions, 1);
}

/* A single change after a quiet time: the file waits for the writer to finish, a pass starts at once. */
TEST(test_single_change) {
        Coalescer file, pass;

        coalescer_init(&file, 50 * MS, 200 * MS, 200 * MS);
        coalescer_change(&file, 1000 * MS);
        ASSERT_EQ_U64(coalescer_due(&file), 1050 * MS);

        coalescer_init(&pass, 0, 200 * MS, 200 * MS);
        coalescer_change(&pass, 1000 * MS);
        ASSERT_EQ_U64(coalescer_due(&pass), 1000 * MS);
        coalescer_acted(&pass, 1000 * MS);
        /* The next change within the interval waits for its end; one after it does not wait. */
        coalescer_change(&pass, 1010 * MS);
        ASSERT_EQ_U64(coalescer_due(&pass), 1200 * MS);
        coalescer_acted(&pass, 1200 * MS);
        coalescer_change(&pass, 2000 * MS);
        ASSERT_EQ_U64(coalescer_due(&pass), 2000 * MS);
}

/* Each change re-arms the settle time, but not beyond the bound from the first pending change. */
TEST(test_settle_is_bounded) {
        Coalescer c;

        coalescer_init(&c, 50 * MS, 200 * MS, 0);
        for (usec_t t = 1000 * MS; t < 1180 * MS; t += 5 * MS) {
                coalescer_change(&c, t);
                ASSERT_EQ_U64(coalescer_due(&c), MIN(t + 50 * MS, 1200 * MS));
        }
        coalescer_change(&c, 1190 * MS);
        ASSERT_EQ_U64(coalescer_due(&c), 1200 * MS);
}

/* Drives a coalescer as an event loop would: a change every `period` for `duration`, the action taken
 * when due. Returns the number of actions; the longest wait of a change goes to *ret_max_wait. */
static uint64_t simulate_echo(Coalescer *c, usec_t period, usec_t duration, bool echo, usec_t *ret_max_wait) {
        usec_t oldest = USEC_INFINITY, max_wait = 0, end = 1000 * MS + duration;

        for (usec_t now = 1000 * MS; now < end + 1000 * MS; now += MS) {
                if (now < end && (now - 1000 * MS) % period == 0) {
                        coalescer_change(c, now);
                        if (oldest == USEC_INFINITY)
                                oldest = now;
                }
                if (coalescer_due(c) <= now) {
                        bool changed = oldest != USEC_INFINITY;

                        if (changed)
                                max_wait = MAX(max_wait, now - oldest);
                        coalescer_acted(c, now);
                        oldest = USEC_INFINITY;
                        /* What an action that changed something caused comes back a moment later (an action
                         * on the echo alone changes nothing, so it has none). */
                        if (echo && changed)
                                coalescer_change_lazy(c, now + MS, COALESCE_LAZY_USEC);
                }
        }
        ASSERT_TRUE(!c->pending); /* the last change was acted on */
        *ret_max_wait = max_wait;
        return c->n_actions;
}

static uint64_t simulate(Coalescer *c, usec_t period, usec_t duration, usec_t *ret_max_wait) {
        return simulate_echo(c, period, duration, false, ret_max_wait);
}

/* The cases: a file rewritten every 5 ms, a ZooKeeper node set every 20 ms, for 5 s each. */
TEST(test_burst_is_bounded) {
        Coalescer file, zk, slow;
        usec_t wait;
        uint64_t n;

        coalescer_init(&file, 50 * MS, COALESCE_BOUND_USEC, COALESCE_BOUND_USEC);
        n = simulate(&file, 5 * MS, 5000 * MS, &wait);
        ASSERT_TRUE(wait <= COALESCE_BOUND_USEC);
        ASSERT_TRUE(n >= 5000 / 205 && n <= 5000 / 200 + 2);

        coalescer_init(&zk, 0, COALESCE_BOUND_USEC, COALESCE_BOUND_USEC);
        n = simulate(&zk, 20 * MS, 5000 * MS, &wait);
        ASSERT_TRUE(wait <= COALESCE_BOUND_USEC);
        ASSERT_TRUE(n >= 5000 / 220 && n <= 5000 / 200 + 2);

        /* Changes further apart than the interval: each one is acted on, and at once. */
        coalescer_init(&slow, 0, COALESCE_BOUND_USEC, COALESCE_BOUND_USEC);
        n = simulate(&slow, 300 * MS, 3000 * MS, &wait);
        ASSERT_EQ_U64(n, 10);
        ASSERT_EQ_U64(wait, 0);
}

/* A lazy change waits up to its own bound, is taken care of by any action meanwhile, and never delays an
 * urgent change. */
TEST(test_lazy_change) {
        Coalescer c;

        coalescer_init(&c, 0, 200 * MS, 200 * MS);
        coalescer_change_lazy(&c, 1000 * MS, 400 * MS);
        ASSERT_EQ_U64(coalescer_due(&c), 1400 * MS);
        coalescer_change(&c, 1100 * MS);
        ASSERT_EQ_U64(coalescer_due(&c), 1100 * MS);
        coalescer_acted(&c, 1100 * MS);
        ASSERT_EQ_U64(coalescer_due(&c), USEC_INFINITY);
        /* Right after an action: the lazy change waits its bound, not the interval. */
        coalescer_change_lazy(&c, 1101 * MS, 400 * MS);
        ASSERT_EQ_U64(coalescer_due(&c), 1501 * MS);
        coalescer_change(&c, 1150 * MS);
        ASSERT_EQ_U64(coalescer_due(&c), 1300 * MS);
}

/* A burst where each action echoes back as a lazy change (our own SetUnitProperties seen as a drop-in):
 * no more actions and no longer waits than without the echoes; one more action at the end. */
TEST(test_burst_with_echoes) {
        Coalescer plain, echoed;
        usec_t wait_plain, wait_echoed;
        uint64_t n_plain, n_echoed;

        coalescer_init(&plain, 0, COALESCE_BOUND_USEC, COALESCE_BOUND_USEC);
        coalescer_init(&echoed, 0, COALESCE_BOUND_USEC, COALESCE_BOUND_USEC);
        n_plain = simulate_echo(&plain, 20 * MS, 5000 * MS, false, &wait_plain);
        n_echoed = simulate_echo(&echoed, 20 * MS, 5000 * MS, true, &wait_echoed);
        ASSERT_TRUE(n_echoed <= n_plain + 1);
        ASSERT_TRUE(wait_echoed <= COALESCE_BOUND_USEC);
}

int main(void) {
        RUN(test_nothing_pending);
        RUN(test_single_change);
        RUN(test_settle_is_bounded);
        RUN(test_burst_is_bounded);
        RUN(test_lazy_change);
        RUN(test_burst_with_echoes);
        return 0;
}
