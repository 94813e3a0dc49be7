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

/* The echo guard by itself: each echo-only pass that re-sent the same doubles the wait, up to the maximum;
 * anything else sent or nothing sent starts over; an asked-for pass re-sending the same changes nothing. */
TEST(test_echo_guard) {
        EchoGuard g = { 0 };

        ASSERT_EQ_U64(echo_guard_delay(&g, 400 * MS, 30000 * MS), 400 * MS);
        echo_guard_pass_done(&g, /* echo_only= */ false, /* sent= */ true, /* same= */ false); /* a repair */
        ASSERT_EQ_U64(echo_guard_delay(&g, 400 * MS, 30000 * MS), 400 * MS);
        echo_guard_pass_done(&g, true, false, false); /* its echo's pass: all equal, nothing sent */
        ASSERT_EQ_U64(echo_guard_delay(&g, 400 * MS, 30000 * MS), 400 * MS);
        echo_guard_pass_done(&g, false, true, false);
        echo_guard_pass_done(&g, true, true, true); /* its echo's pass re-sent it all */
        ASSERT_EQ_U64(echo_guard_delay(&g, 400 * MS, 30000 * MS), 800 * MS);
        echo_guard_pass_done(&g, true, true, true);
        ASSERT_EQ_U64(echo_guard_delay(&g, 400 * MS, 30000 * MS), 1600 * MS);
        echo_guard_pass_done(&g, false, true, true); /* the periodic pass re-sent it too */
        ASSERT_EQ_U64(echo_guard_delay(&g, 400 * MS, 30000 * MS), 1600 * MS);
        for (int i = 0; i < 100; i++)
                echo_guard_pass_done(&g, true, true, true);
        ASSERT_EQ_U64(echo_guard_delay(&g, 400 * MS, 30000 * MS), 30000 * MS);
        ASSERT_EQ_U64(echo_guard_delay(&g, 400 * MS, 0), 400 * MS); /* never below the lazy wait */
        echo_guard_pass_done(&g, true, true, false); /* something else sent: starts over */
        ASSERT_EQ_U64(echo_guard_delay(&g, 400 * MS, 30000 * MS), 400 * MS);
}

/* Drives the realizer's passes as its event loop does, for `duration`, when every pass re-sends a property
 * systemd never reads back equal (its echo comes 5 ms into the pass, which takes 20 ms), with a periodic
 * pass every 30 s and a hand change at `hand` (0: none). Returns the passes; the hand change's wait for
 * its pass goes to *ret_hand_wait. */
static uint64_t simulate_always_differs(usec_t max_delay, usec_t duration, usec_t hand, usec_t *ret_hand_wait) {
        const usec_t start = 1000 * MS, periodic = 30000 * MS, pass_time = 20 * MS;
        Coalescer c;
        EchoGuard g = { 0 };
        usec_t pass_end = USEC_INFINITY, hand_wait = USEC_INFINITY;
        bool echo_only = false, echo_in_pass = false, first = true;

        coalescer_init(&c, 0, COALESCE_BOUND_USEC, COALESCE_BOUND_USEC);
        coalescer_change(&c, start); /* the first tree */
        for (usec_t now = start; now < start + duration; now += MS) {
                if ((now - start) % periodic == 0 && now > start)
                        coalescer_change(&c, now);
                if (hand > 0 && now == start + hand)
                        coalescer_change(&c, now); /* not while our own pass runs, so not an echo */
                if (pass_end != USEC_INFINITY && now == pass_end - pass_time + 5 * MS)
                        echo_in_pass = true;
                if (now == pass_end) {
                        echo_guard_pass_done(&g, echo_only, /* sent= */ true, /* same= */ !first);
                        first = false;
                        pass_end = USEC_INFINITY;
                        if (echo_in_pass)
                                coalescer_change_lazy(&c, now, echo_guard_delay(&g, COALESCE_LAZY_USEC, max_delay));
                        echo_in_pass = false;
                }
                if (pass_end == USEC_INFINITY && coalescer_due(&c) <= now) {
                        if (hand > 0 && now >= start + hand && hand_wait == USEC_INFINITY)
                                hand_wait = now - (start + hand);
                        echo_only = coalescer_lazy_only(&c);
                        coalescer_acted(&c, now);
                        pass_end = now + pass_time;
                }
        }
        if (ret_hand_wait)
                *ret_hand_wait = hand_wait;
        return c.n_actions;
}

/* A property that never compares equal on read-back: the echoes of the passes re-sending it back off to
 * the periodic interval instead of asking for a pass every 0.4 s; a hand change still gets its pass at once. */
TEST(test_echo_loop_backs_off) {
        usec_t wait;
        uint64_t looping, guarded;

        /* Without the back-off (its maximum is the lazy wait itself): a pass every ~0.4 s, forever. */
        looping = simulate_always_differs(COALESCE_LAZY_USEC, 120 * USEC_PER_SEC, 0, NULL);
        ASSERT_TRUE(looping > 120 * USEC_PER_SEC / (COALESCE_LAZY_USEC + 50 * MS));
        /* With it: the first pass, 0.4 s + 0.8 s + ... up to 30 s (8 echo-only passes), then about two per
         * periodic interval (the periodic pass, then its echo's after 30 s). */
        guarded = simulate_always_differs(30 * USEC_PER_SEC, 120 * USEC_PER_SEC, 0, NULL);
        ASSERT_TRUE(guarded <= 1 + 8 + 2 * 4);
        ASSERT_TRUE(guarded * 10 < looping);
        fprintf(stderr, "a property that always differs, 120 s: %" PRIu64 " passes looping, %" PRIu64 " backed off\n",
                looping, guarded);
        /* A hand change in the middle of it waits no longer than the coalescing bound. */
        guarded = simulate_always_differs(30 * USEC_PER_SEC, 120 * USEC_PER_SEC, 50 * USEC_PER_SEC + 7 * MS, &wait);
        ASSERT_TRUE(wait <= COALESCE_BOUND_USEC);
        ASSERT_TRUE(guarded <= 1 + 8 + 2 * 4 + 1);
}

int main(void) {
        RUN(test_nothing_pending);
        RUN(test_single_change);
        RUN(test_settle_is_bounded);
        RUN(test_burst_is_bounded);
        RUN(test_lazy_change);
        RUN(test_burst_with_echoes);
        RUN(test_echo_guard);
        RUN(test_echo_loop_backs_off);
        return 0;
}
