/* SPDX-License-Identifier: MIT */
/* The ZooKeeper source without a server: its state machine (events in, action bits out) and the pure
 * helpers (error translation, Hosts= and Prefix= validation, Auth= parsing). The requirement: on
 * connection loss and session expiry change nothing, reconnect with capped exponential backoff across
 * the host list, then re-read and re-watch; never give up; a missing node, a refused auth or a refused
 * read is retried. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "macro.h"
#include "tests.h"
#include "zk-machine.h"
#include "zk-util.h"

#define CONNECT_TIMEOUT (3 * USEC_PER_SEC)      /* shorter than the backoff cap */
#define LONG_CONNECT_TIMEOUT (30 * USEC_PER_SEC) /* longer than the backoff cap */
#define BACKOFF_MIN (250 * USEC_PER_MSEC)
#define BACKOFF_MAX (10 * USEC_PER_SEC)

#define O ZK_ACTION_OPEN
#define C ZK_ACTION_CLOSE
#define F ZK_ACTION_FORGET_SESSION
#define A ZK_ACTION_AUTH
#define R ZK_ACTION_READ
#define T ZK_ACTION_ARM_TIMER
#define D ZK_ACTION_DISARM_TIMER
#define ALL_ACTIONS (O | C | F | A | R | T | D)

static ZkMachine machine(bool have_auth, usec_t connect_timeout) {
        ZkMachine m;

        zk_machine_init(&m, have_auth, connect_timeout);
        return m;
}

/* Steps and checks the action bits and the phase reached; a failure names the caller's line. */
#define step_expect(m, e, actions, phase) step_expect_at(__LINE__, m, e, actions, phase)
static void step_expect_at(int line, ZkMachine *m, ZkEvent e, unsigned actions, ZkPhase phase) {
        ZkPhase before = m->phase;
        unsigned a = zk_machine_step(m, e);

        if (a != actions || m->phase != phase)
                fprintf(stderr, "line %d: %s + %s: got actions 0x%x phase %s, expected actions 0x%x phase %s\n", line,
                        zk_phase_to_string(before), zk_event_to_string(e), a, zk_phase_to_string(m->phase), actions,
                        zk_phase_to_string(phase));
        ASSERT_EQ_INT(a, actions);
        ASSERT_EQ_INT(m->phase, phase);
}

static void assert_same_machine(const ZkMachine *a, const ZkMachine *b) {
        ASSERT_EQ_INT(a->phase, b->phase);
        ASSERT_EQ_INT(a->have_auth, b->have_auth);
        ASSERT_EQ_INT(a->backoff.attempt, b->backoff.attempt);
        ASSERT_EQ_U64(a->connect_timeout_usec, b->connect_timeout_usec);
        ASSERT_EQ_U64(a->backoff.min_usec, b->backoff.min_usec);
        ASSERT_EQ_U64(a->backoff.max_usec, b->backoff.max_usec);
        ASSERT_EQ_U64(a->backoff.delay_usec, b->backoff.delay_usec);
        ASSERT_EQ_U64(a->timer_usec, b->timer_usec);
        ASSERT_EQ_INT(a->reconnects, b->reconnects);
}

/* From a fresh machine to WATCHING: start, session, (auth), read. */
static ZkMachine watching(bool have_auth) {
        ZkMachine m = machine(have_auth, CONNECT_TIMEOUT);

        step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
        if (have_auth) {
                step_expect(&m, ZK_EVENT_CONNECTED, D | A, ZK_PHASE_AUTHENTICATING);
                step_expect(&m, ZK_EVENT_AUTH_DONE, R, ZK_PHASE_READING);
        } else
                step_expect(&m, ZK_EVENT_CONNECTED, D | R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_WATCHING);
        return m;
}

/* ---- single transitions ---- */

TEST(test_init) {
        ZkMachine m = machine(true, CONNECT_TIMEOUT);

        ASSERT_EQ_INT(m.phase, ZK_PHASE_IDLE);
        ASSERT_TRUE(m.have_auth);
        ASSERT_EQ_INT(m.backoff.attempt, 0);
        ASSERT_EQ_INT(m.reconnects, 0);
        ASSERT_EQ_U64(m.connect_timeout_usec, CONNECT_TIMEOUT);
        ASSERT_EQ_U64(m.backoff.min_usec, BACKOFF_MIN);
        ASSERT_EQ_U64(m.backoff.max_usec, BACKOFF_MAX);
}

TEST(test_start_opens_and_arms_connect_timeout) {
        ZkMachine m = machine(false, CONNECT_TIMEOUT), before;

        step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
        ASSERT_EQ_U64(m.timer_usec, CONNECT_TIMEOUT);
        ASSERT_EQ_INT(m.reconnects, 0); /* the first handle is not a reconnect */

        /* START again, in any later phase, does nothing. */
        before = m;
        step_expect(&m, ZK_EVENT_START, 0, ZK_PHASE_CONNECTING);
        assert_same_machine(&m, &before);

        m = watching(false);
        before = m;
        step_expect(&m, ZK_EVENT_START, 0, ZK_PHASE_WATCHING);
        assert_same_machine(&m, &before);
}

TEST(test_connected_without_auth_reads) {
        ZkMachine m = machine(false, CONNECT_TIMEOUT);

        step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_CONNECTED, R | D, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_WATCHING);
        ASSERT_EQ_INT(m.backoff.attempt, 0);
}

TEST(test_connected_with_auth_authenticates_then_reads) {
        ZkMachine m = machine(true, CONNECT_TIMEOUT);

        step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_CONNECTED, A | D, ZK_PHASE_AUTHENTICATING);
        /* Nothing is read before the credentials are accepted. */
        step_expect(&m, ZK_EVENT_NODE_CHANGED, 0, ZK_PHASE_AUTHENTICATING);
        step_expect(&m, ZK_EVENT_REREAD, 0, ZK_PHASE_AUTHENTICATING);
        step_expect(&m, ZK_EVENT_AUTH_DONE, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_WATCHING);
}

TEST(test_read_done_resets_attempt) {
        ZkMachine m = machine(false, CONNECT_TIMEOUT);

        step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_CONNECTED, R | D, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_FAILED, T, ZK_PHASE_READ_BACKOFF);
        step_expect(&m, ZK_EVENT_TIMER, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_FAILED, T, ZK_PHASE_READ_BACKOFF);
        ASSERT_EQ_INT(m.backoff.attempt, 2);
        step_expect(&m, ZK_EVENT_TIMER, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_WATCHING);
        ASSERT_EQ_INT(m.backoff.attempt, 0);
}

TEST(test_node_changed_and_reread_read_again) {
        ZkMachine m = watching(false);

        step_expect(&m, ZK_EVENT_NODE_CHANGED, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_WATCHING);
        step_expect(&m, ZK_EVENT_REREAD, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_WATCHING);
        /* A change while a read is in flight reads again, so the newest data is what ends up watched. */
        step_expect(&m, ZK_EVENT_NODE_CHANGED, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_NODE_CHANGED, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_WATCHING);
}

TEST(test_node_changed_and_reread_ignored_without_session) {
        ZkMachine m = machine(false, CONNECT_TIMEOUT), before;

        step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
        before = m;
        step_expect(&m, ZK_EVENT_NODE_CHANGED, 0, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_REREAD, 0, ZK_PHASE_CONNECTING);
        assert_same_machine(&m, &before);

        step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF);
        before = m;
        step_expect(&m, ZK_EVENT_NODE_CHANGED, 0, ZK_PHASE_BACKOFF);
        step_expect(&m, ZK_EVENT_REREAD, 0, ZK_PHASE_BACKOFF);
        assert_same_machine(&m, &before);

        /* Before START too. */
        m = machine(false, CONNECT_TIMEOUT);
        step_expect(&m, ZK_EVENT_REREAD, 0, ZK_PHASE_IDLE);
        step_expect(&m, ZK_EVENT_NODE_CHANGED, 0, ZK_PHASE_IDLE);
}

TEST(test_connection_lost_keeps_handle_and_waits) {
        ZkMachine m = watching(false);

        /* No CLOSE: the client library reconnects by itself, across the host list, within the session. */
        step_expect(&m, ZK_EVENT_CONNECTION_LOST, T, ZK_PHASE_CONNECTING);
        ASSERT_EQ_U64(m.timer_usec, CONNECT_TIMEOUT);
        /* Losing it again while connecting changes nothing, in particular not the deadline. */
        step_expect(&m, ZK_EVENT_CONNECTION_LOST, 0, ZK_PHASE_CONNECTING);
        ASSERT_EQ_INT(m.reconnects, 0);
}

TEST(test_connection_lost_then_connected_rereads) {
        ZkMachine m = watching(false);

        step_expect(&m, ZK_EVENT_CONNECTION_LOST, T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_CONNECTED, D | R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_WATCHING);
        ASSERT_EQ_INT(m.reconnects, 0); /* the same handle */

        /* Lost while reading or while backing off a read: the same. */
        step_expect(&m, ZK_EVENT_NODE_CHANGED, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_CONNECTION_LOST, T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_CONNECTED, D | R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_FAILED, T, ZK_PHASE_READ_BACKOFF);
        step_expect(&m, ZK_EVENT_CONNECTION_LOST, T, ZK_PHASE_CONNECTING);
        ASSERT_EQ_U64(m.timer_usec, CONNECT_TIMEOUT);
        step_expect(&m, ZK_EVENT_CONNECTED, D | R, ZK_PHASE_READING);
}

/* With Auth=, a reconnect within the session must not authenticate again: the client library keeps the
 * credentials of the handle and sends them again itself when it reconnects (zk-machine.c says so in its
 * CONNECTED case), and every zoo_add_auth() appends another entry to the handle's credential list. */
TEST(test_connection_lost_then_connected_with_auth_does_not_authenticate_again) {
        ZkMachine m = watching(true);

        step_expect(&m, ZK_EVENT_CONNECTION_LOST, T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_CONNECTED, D | R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_WATCHING);
}

/* A new handle, on the other hand, has no credentials: it authenticates again. */
TEST(test_new_handle_with_auth_authenticates_again) {
        ZkMachine m = watching(true);

        step_expect(&m, ZK_EVENT_EXPIRED, C | F | T, ZK_PHASE_BACKOFF);
        step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_CONNECTED, D | A, ZK_PHASE_AUTHENTICATING);
        step_expect(&m, ZK_EVENT_AUTH_DONE, R, ZK_PHASE_READING);

        m = watching(true);
        step_expect(&m, ZK_EVENT_CONNECTION_LOST, T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF); /* the handle is closed */
        step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_CONNECTED, D | A, ZK_PHASE_AUTHENTICATING);
}

TEST(test_connect_timeout_closes_but_keeps_session) {
        ZkMachine m = machine(false, CONNECT_TIMEOUT);

        step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
        /* No session within the connect timeout: close, back off, keep the session for a quick return. */
        step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, BACKOFF_MIN);
        ASSERT_EQ_INT(m.reconnects, 0);

        step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
        ASSERT_EQ_U64(m.timer_usec, CONNECT_TIMEOUT);
        ASSERT_EQ_INT(m.reconnects, 1);

        step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF);
        step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
        ASSERT_EQ_INT(m.reconnects, 2);

        /* After a lost connection too. */
        m = watching(false);
        step_expect(&m, ZK_EVENT_CONNECTION_LOST, T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF);
        step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
        ASSERT_EQ_INT(m.reconnects, 1);
}

TEST(test_expired_and_auth_failed_close_and_forget_session) {
        static const ZkEvent events[] = { ZK_EVENT_EXPIRED, ZK_EVENT_AUTH_FAILED };

        for (size_t i = 0; i < ELEMENTSOF(events); i++) {
                ZkMachine m;

                /* In WATCHING */
                m = watching(true);
                step_expect(&m, events[i], C | F | T, ZK_PHASE_BACKOFF);
                ASSERT_EQ_U64(m.timer_usec, BACKOFF_MIN);
                step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
                ASSERT_EQ_INT(m.reconnects, 1);

                /* In CONNECTING (e.g. resuming a session the server has expired meanwhile) */
                m = machine(true, CONNECT_TIMEOUT);
                step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
                step_expect(&m, events[i], C | F | T, ZK_PHASE_BACKOFF);

                /* In AUTHENTICATING (the credentials refused) */
                m = machine(true, CONNECT_TIMEOUT);
                step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
                step_expect(&m, ZK_EVENT_CONNECTED, D | A, ZK_PHASE_AUTHENTICATING);
                step_expect(&m, events[i], C | F | T, ZK_PHASE_BACKOFF);

                /* In READING and READ_BACKOFF */
                m = watching(false);
                step_expect(&m, ZK_EVENT_REREAD, R, ZK_PHASE_READING);
                step_expect(&m, events[i], C | F | T, ZK_PHASE_BACKOFF);
                m = watching(false);
                step_expect(&m, ZK_EVENT_REREAD, R, ZK_PHASE_READING);
                step_expect(&m, ZK_EVENT_READ_FAILED, T, ZK_PHASE_READ_BACKOFF);
                step_expect(&m, events[i], C | F | T, ZK_PHASE_BACKOFF);
        }
}

TEST(test_read_failed_backs_off_and_reads_again) {
        ZkMachine m = watching(false);

        step_expect(&m, ZK_EVENT_REREAD, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_FAILED, T, ZK_PHASE_READ_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, BACKOFF_MIN);
        /* The handle stays: no CLOSE, no OPEN; a node changing meanwhile is read (the refused ones wait
         * for the timer), the phase stays. */
        step_expect(&m, ZK_EVENT_NODE_CHANGED, R, ZK_PHASE_READ_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, BACKOFF_MIN);
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_READ_BACKOFF);
        step_expect(&m, ZK_EVENT_TIMER, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_FAILED, T, ZK_PHASE_READ_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, 2 * BACKOFF_MIN);
        step_expect(&m, ZK_EVENT_TIMER, R, ZK_PHASE_READING);
        ASSERT_EQ_INT(m.reconnects, 0);
}

/* ---- backoff ---- */

TEST(test_backoff_sequence_connect_timeouts) {
        static const usec_t expected[] = {
                250 * USEC_PER_MSEC, 500 * USEC_PER_MSEC, 1 * USEC_PER_SEC, 2 * USEC_PER_SEC,
                4 * USEC_PER_SEC,    8 * USEC_PER_SEC,    10 * USEC_PER_SEC, 10 * USEC_PER_SEC,
        };
        ZkMachine m = machine(false, CONNECT_TIMEOUT);

        step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF);
                ASSERT_EQ_U64(m.timer_usec, expected[i]);
                step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
                ASSERT_EQ_U64(m.timer_usec, CONNECT_TIMEOUT);
                ASSERT_EQ_INT(m.reconnects, i + 1);
        }
        /* And it stays at the cap. */
        for (unsigned i = 0; i < 1000; i++) {
                step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF);
                ASSERT_EQ_U64(m.timer_usec, BACKOFF_MAX);
                step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
        }
        ASSERT_EQ_INT(m.reconnects, ELEMENTSOF(expected) + 1000);

        /* A session resets it to the minimum. */
        step_expect(&m, ZK_EVENT_CONNECTED, D | R, ZK_PHASE_READING);
        ASSERT_EQ_INT(m.backoff.attempt, 0);
        step_expect(&m, ZK_EVENT_CONNECTION_LOST, T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, BACKOFF_MIN);
        step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, 2 * BACKOFF_MIN);
}

TEST(test_backoff_sequence_expiry) {
        /* A session that expires as soon as it is resumed (no CONNECTED in between) backs off too, and
         * the connect timeouts and expiries share one sequence. */
        ZkMachine m = watching(false);

        step_expect(&m, ZK_EVENT_EXPIRED, C | F | T, ZK_PHASE_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, 250 * USEC_PER_MSEC);
        step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_EXPIRED, C | F | T, ZK_PHASE_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, 500 * USEC_PER_MSEC);
        step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, 1 * USEC_PER_SEC);
        step_expect(&m, ZK_EVENT_TIMER, O | T, ZK_PHASE_CONNECTING);
        step_expect(&m, ZK_EVENT_AUTH_FAILED, C | F | T, ZK_PHASE_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, 2 * USEC_PER_SEC);
}

TEST(test_backoff_sequence_read_failures) {
        static const usec_t expected[] = {
                250 * USEC_PER_MSEC, 500 * USEC_PER_MSEC, 1 * USEC_PER_SEC, 2 * USEC_PER_SEC,
                4 * USEC_PER_SEC,    8 * USEC_PER_SEC,    10 * USEC_PER_SEC, 10 * USEC_PER_SEC,
        };
        ZkMachine m = watching(false);

        step_expect(&m, ZK_EVENT_NODE_CHANGED, R, ZK_PHASE_READING);
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                step_expect(&m, ZK_EVENT_READ_FAILED, T, ZK_PHASE_READ_BACKOFF);
                ASSERT_EQ_U64(m.timer_usec, expected[i]);
                step_expect(&m, ZK_EVENT_TIMER, R, ZK_PHASE_READING);
        }
        step_expect(&m, ZK_EVENT_READ_DONE, 0, ZK_PHASE_WATCHING);
        step_expect(&m, ZK_EVENT_NODE_CHANGED, R, ZK_PHASE_READING);
        step_expect(&m, ZK_EVENT_READ_FAILED, T, ZK_PHASE_READ_BACKOFF);
        ASSERT_EQ_U64(m.timer_usec, BACKOFF_MIN);
}

/* ---- stale events ---- */

TEST(test_events_from_closed_handle_ignored) {
        static const ZkEvent handle_events[] = {
                ZK_EVENT_CONNECTED, ZK_EVENT_CONNECTION_LOST, ZK_EVENT_EXPIRED,     ZK_EVENT_AUTH_FAILED,
                ZK_EVENT_AUTH_DONE, ZK_EVENT_READ_DONE,       ZK_EVENT_READ_FAILED, ZK_EVENT_NODE_CHANGED,
        };

        for (size_t i = 0; i < ELEMENTSOF(handle_events); i++) {
                ZkMachine m, before;

                /* BACKOFF: the handle was closed on a timeout, with the session kept */
                m = machine(true, CONNECT_TIMEOUT);
                step_expect(&m, ZK_EVENT_START, O | T, ZK_PHASE_CONNECTING);
                step_expect(&m, ZK_EVENT_TIMER, C | T, ZK_PHASE_BACKOFF);
                before = m;
                step_expect(&m, handle_events[i], 0, ZK_PHASE_BACKOFF);
                assert_same_machine(&m, &before);

                /* BACKOFF: the handle was closed on expiry, with the session forgotten */
                m = watching(true);
                step_expect(&m, ZK_EVENT_EXPIRED, C | F | T, ZK_PHASE_BACKOFF);
                before = m;
                step_expect(&m, handle_events[i], 0, ZK_PHASE_BACKOFF);
                assert_same_machine(&m, &before);

                /* IDLE: no handle yet */
                m = machine(true, CONNECT_TIMEOUT);
                before = m;
                step_expect(&m, handle_events[i], 0, ZK_PHASE_IDLE);
                assert_same_machine(&m, &before);
        }
}

/* ---- every (phase, event) pair ---- */

typedef struct Path {
        ZkPhase phase;
        bool have_auth;
        ZkEvent events[6];
        size_t n_events;
} Path;

/* Known ways to each phase from a fresh machine, with and without Auth=. */
static const Path paths[] = {
        { ZK_PHASE_IDLE, false, { 0 }, 0 },
        { ZK_PHASE_IDLE, true, { 0 }, 0 },
        { ZK_PHASE_CONNECTING, false, { ZK_EVENT_START }, 1 },
        { ZK_PHASE_CONNECTING, true, { ZK_EVENT_START }, 1 },
        { ZK_PHASE_CONNECTING, false,
          { ZK_EVENT_START, ZK_EVENT_CONNECTED, ZK_EVENT_READ_DONE, ZK_EVENT_CONNECTION_LOST }, 4 },
        { ZK_PHASE_CONNECTING, false, { ZK_EVENT_START, ZK_EVENT_TIMER, ZK_EVENT_TIMER }, 3 },
        { ZK_PHASE_AUTHENTICATING, true, { ZK_EVENT_START, ZK_EVENT_CONNECTED }, 2 },
        { ZK_PHASE_READING, false, { ZK_EVENT_START, ZK_EVENT_CONNECTED }, 2 },
        { ZK_PHASE_READING, true, { ZK_EVENT_START, ZK_EVENT_CONNECTED, ZK_EVENT_AUTH_DONE }, 3 },
        { ZK_PHASE_WATCHING, false, { ZK_EVENT_START, ZK_EVENT_CONNECTED, ZK_EVENT_READ_DONE }, 3 },
        { ZK_PHASE_WATCHING, true, { ZK_EVENT_START, ZK_EVENT_CONNECTED, ZK_EVENT_AUTH_DONE, ZK_EVENT_READ_DONE }, 4 },
        { ZK_PHASE_READ_BACKOFF, false, { ZK_EVENT_START, ZK_EVENT_CONNECTED, ZK_EVENT_READ_FAILED }, 3 },
        { ZK_PHASE_READ_BACKOFF, true,
          { ZK_EVENT_START, ZK_EVENT_CONNECTED, ZK_EVENT_AUTH_DONE, ZK_EVENT_READ_FAILED }, 4 },
        { ZK_PHASE_BACKOFF, false, { ZK_EVENT_START, ZK_EVENT_TIMER }, 2 },
        { ZK_PHASE_BACKOFF, true, { ZK_EVENT_START, ZK_EVENT_EXPIRED }, 2 },
        { ZK_PHASE_BACKOFF, true, { ZK_EVENT_START, ZK_EVENT_CONNECTED, ZK_EVENT_AUTH_FAILED }, 3 },
};

static ZkMachine follow(const Path *p) {
        ZkMachine m = machine(p->have_auth, CONNECT_TIMEOUT);

        for (size_t i = 0; i < p->n_events; i++)
                (void) zk_machine_step(&m, p->events[i]);
        ASSERT_EQ_INT(m.phase, p->phase);
        return m;
}

/* What must hold after every step. `started`: START was seen. */
static void check_step(ZkPhase before, ZkEvent e, const ZkMachine *m, unsigned a, bool started) {
        if ((a & ~ALL_ACTIONS) || ((a & O) && m->phase != ZK_PHASE_CONNECTING) ||
            ((a & R) && m->phase != ZK_PHASE_READING && m->phase != ZK_PHASE_READ_BACKOFF) || ((a & A) && m->phase != ZK_PHASE_AUTHENTICATING) ||
            (started && m->phase == ZK_PHASE_IDLE))
                fprintf(stderr, "%s + %s → %s with actions 0x%x\n", zk_phase_to_string(before), zk_event_to_string(e),
                        zk_phase_to_string(m->phase), a);
        ASSERT_EQ_INT(a & ~ALL_ACTIONS, 0);
        ASSERT_TRUE(!(a & O) || m->phase == ZK_PHASE_CONNECTING);
        /* In the read backoff, nodes that changed are read (the refused ones wait for the timer). */
        ASSERT_TRUE(!(a & R) || m->phase == ZK_PHASE_READING || m->phase == ZK_PHASE_READ_BACKOFF);
        ASSERT_TRUE(!(a & A) || m->phase == ZK_PHASE_AUTHENTICATING);
        ASSERT_TRUE(!(a & A) || m->have_auth);
        ASSERT_TRUE(!started || m->phase != ZK_PHASE_IDLE); /* never gives up */
        /* A handle is dropped only to back off; the session only forgotten along with its handle. */
        ASSERT_TRUE(!(a & C) || m->phase == ZK_PHASE_BACKOFF);
        ASSERT_TRUE(!(a & F) || (a & C));
        ASSERT_TRUE(!((a & C) && (a & O)));
        ASSERT_TRUE(!((a & T) && (a & D)));
        if (a & T) {
                ASSERT_TRUE(m->timer_usec > 0);
                ASSERT_TRUE(m->timer_usec <= MAX(m->connect_timeout_usec, m->backoff.max_usec));
        }
}

TEST(test_every_phase_and_event) {
        unsigned seen_phases = 0;

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                seen_phases |= 1u << paths[i].phase;
                for (ZkEvent e = 0; e < _ZK_EVENT_MAX; e++) {
                        ZkMachine m = follow(&paths[i]);
                        bool started = paths[i].n_events > 0;
                        unsigned a = zk_machine_step(&m, e);

                        check_step(paths[i].phase, e, &m, a, started || e == ZK_EVENT_START);
                        /* Events that do not apply change nothing. */
                        if (a == 0) {
                                ZkMachine again = follow(&paths[i]);

                                ASSERT_TRUE(m.phase == again.phase || e == ZK_EVENT_READ_DONE);
                                if (m.phase == again.phase)
                                        assert_same_machine(&m, &again);
                        }
                }
        }
        ASSERT_EQ_INT(seen_phases, (1u << _ZK_PHASE_MAX) - 1);
}

/* The whole table, for the canonical path to each phase. Auth= only matters for CONNECTED in CONNECTING
 * (tested above), so one row per phase. */
TEST(test_transition_table) {
        static const struct {
                ZkPhase phase;
                unsigned actions;
        } table[_ZK_PHASE_MAX][_ZK_EVENT_MAX] = {
#define I(a) { ZK_PHASE_IDLE, a }
#define CN(a) { ZK_PHASE_CONNECTING, a }
#define AU(a) { ZK_PHASE_AUTHENTICATING, a }
#define RD(a) { ZK_PHASE_READING, a }
#define W(a) { ZK_PHASE_WATCHING, a }
#define RB(a) { ZK_PHASE_READ_BACKOFF, a }
#define B(a) { ZK_PHASE_BACKOFF, a }
                /* A second CONNECTED while authenticating waits for the pending credentials (the client
                 * re-sends them itself); the table is without auth elsewhere.
                                      START      CONNECTED  LOST   EXPIRED      AUTH_FAILED  AUTH_DONE READ_DONE READ_FAILED NODE_CHANGED TIMER      REREAD */
                [ZK_PHASE_IDLE] =           { CN(O | T), I(0),      I(0),  I(0),        I(0),        I(0),     I(0),     I(0),       I(0),        I(0),      I(0) },
                [ZK_PHASE_CONNECTING] =     { CN(0),     RD(D | R), CN(0), B(C | F | T), B(C | F | T), CN(0),   CN(0),    CN(0),      CN(0),       B(C | T),  CN(0) },
                [ZK_PHASE_AUTHENTICATING] = { AU(0),     AU(D),     CN(T), B(C | F | T), B(C | F | T), RD(R),   AU(0),    AU(0),      AU(0),       AU(0),     AU(0) },
                [ZK_PHASE_READING] =        { RD(0),     RD(D | R), CN(T), B(C | F | T), B(C | F | T), RD(0),   W(0),     RB(T),      RD(R),       RD(0),     RD(R) },
                [ZK_PHASE_WATCHING] =       { W(0),      RD(D | R), CN(T), B(C | F | T), B(C | F | T), W(0),    W(0),     W(0),       RD(R),       W(0),      RD(R) },
                [ZK_PHASE_READ_BACKOFF] =   { RB(0),     RD(D | R), CN(T), B(C | F | T), B(C | F | T), RB(0),   RB(0),    RB(0),      RB(R),       RD(R),     RB(0) },
                [ZK_PHASE_BACKOFF] =        { B(0),      B(0),      B(0),  B(0),        B(0),        B(0),     B(0),     B(0),       B(0),        CN(O | T), B(0) },
#undef I
#undef CN
#undef AU
#undef RD
#undef W
#undef RB
#undef B
        };
        static const size_t canonical[_ZK_PHASE_MAX] = {
                [ZK_PHASE_IDLE] = 0,      [ZK_PHASE_CONNECTING] = 2, [ZK_PHASE_AUTHENTICATING] = 6,
                [ZK_PHASE_READING] = 7,   [ZK_PHASE_WATCHING] = 9,   [ZK_PHASE_READ_BACKOFF] = 11,
                [ZK_PHASE_BACKOFF] = 13,
        };

        for (ZkPhase p = 0; p < _ZK_PHASE_MAX; p++)
                for (ZkEvent e = 0; e < _ZK_EVENT_MAX; e++) {
                        ZkMachine m = follow(&paths[canonical[p]]);

                        ASSERT_EQ_INT(m.phase, p);
                        step_expect(&m, e, table[p][e].actions, table[p][e].phase);
                }
}

/* ---- a long random walk ---- */

static uint64_t rng_state;

static uint64_t rng_next(void) {
        /* xorshift64*: the same sequence on every libc */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(2685821657736338717);
}

static bool is_backoff_delay(usec_t d) {
        for (unsigned a = 0; a < 64; a++)
                if (d == backoff_exponential_usec(a, BACKOFF_MIN, BACKOFF_MAX))
                        return true;
        return false;
}

static void random_walk(bool have_auth, usec_t connect_timeout, uint64_t seed, unsigned n) {
        ZkMachine m = machine(have_auth, connect_timeout);
        unsigned visits[_ZK_PHASE_MAX] = { 0 }, opens = 0;
        bool started = false, handle = false, timer = false;

        rng_state = seed;
        for (unsigned i = 0; i < n; i++) {
                ZkEvent e = (ZkEvent) (rng_next() % _ZK_EVENT_MAX);
                ZkPhase before = m.phase;
                unsigned a = zk_machine_step(&m, e);

                started = started || e == ZK_EVENT_START;
                check_step(before, e, &m, a, started);

                /* A model of the handle: opened only when there is none, closed only when there is one,
                 * there is one exactly in the phases that talk to the server. */
                if (a & C) {
                        ASSERT_TRUE(handle);
                        handle = false;
                }
                if (a & O) {
                        ASSERT_TRUE(!handle);
                        handle = true;
                        opens++;
                }
                ASSERT_EQ_INT(handle, m.phase != ZK_PHASE_IDLE && m.phase != ZK_PHASE_BACKOFF);

                /* A model of the (one-shot) timer: a phase that only a timer leaves always has one armed,
                 * so the machine never stalls. */
                if (e == ZK_EVENT_TIMER || (a & D))
                        timer = false;
                if (a & T)
                        timer = true;
                if (m.phase == ZK_PHASE_CONNECTING || m.phase == ZK_PHASE_BACKOFF || m.phase == ZK_PHASE_READ_BACKOFF) {
                        if (!timer)
                                fprintf(stderr, "step %u: %s + %s → %s without a timer\n", i, zk_phase_to_string(before),
                                        zk_event_to_string(e), zk_phase_to_string(m.phase));
                        ASSERT_TRUE(timer);
                }

                /* The delays: the connect timeout for a handle, a backoff step otherwise. */
                if (a & T) {
                        if (m.phase == ZK_PHASE_CONNECTING)
                                ASSERT_EQ_U64(m.timer_usec, connect_timeout);
                        else {
                                ASSERT_TRUE(m.phase == ZK_PHASE_BACKOFF || m.phase == ZK_PHASE_READ_BACKOFF);
                                ASSERT_TRUE(is_backoff_delay(m.timer_usec));
                        }
                }

                ASSERT_EQ_INT(m.reconnects, opens > 0 ? opens - 1 : 0);
                visits[m.phase]++;
        }
        /* The walk went everywhere (IDLE is left for good at the first START). */
        for (ZkPhase p = ZK_PHASE_CONNECTING; p < _ZK_PHASE_MAX; p++) {
                if (p == ZK_PHASE_AUTHENTICATING && !have_auth)
                        continue;
                ASSERT_TRUE(visits[p] > 0);
        }
        ASSERT_TRUE(opens > 1);
}

TEST(test_random_events) {
        random_walk(false, CONNECT_TIMEOUT, UINT64_C(0x5eed5eed5eed5eed), 100000);
        random_walk(true, CONNECT_TIMEOUT, UINT64_C(0x0123456789abcdef), 100000);
        random_walk(true, LONG_CONNECT_TIMEOUT, UINT64_C(42), 100000);
}

/* ---- names ---- */

TEST(test_to_string) {
        for (ZkPhase p = 0; p < _ZK_PHASE_MAX; p++) {
                ASSERT_TRUE(zk_phase_to_string(p) != NULL);
                ASSERT_TRUE(!streq(zk_phase_to_string(p), "?"));
                for (ZkPhase q = 0; q < p; q++)
                        ASSERT_TRUE(!streq(zk_phase_to_string(p), zk_phase_to_string(q)));
        }
        for (ZkEvent e = 0; e < _ZK_EVENT_MAX; e++) {
                ASSERT_TRUE(zk_event_to_string(e) != NULL);
                ASSERT_TRUE(!streq(zk_event_to_string(e), "?"));
                for (ZkEvent f = 0; f < e; f++)
                        ASSERT_TRUE(!streq(zk_event_to_string(e), zk_event_to_string(f)));
        }
        ASSERT_STREQ(zk_phase_to_string(ZK_PHASE_WATCHING), "watching");
        ASSERT_STREQ(zk_phase_to_string(ZK_PHASE_READ_BACKOFF), "read-backoff");
        ASSERT_STREQ(zk_event_to_string(ZK_EVENT_CONNECTION_LOST), "connection-lost");
        ASSERT_STREQ(zk_phase_to_string(_ZK_PHASE_MAX), "?");
        ASSERT_STREQ(zk_phase_to_string((ZkPhase) -1), "?");
        ASSERT_STREQ(zk_event_to_string(_ZK_EVENT_MAX), "?");
        ASSERT_STREQ(zk_event_to_string((ZkEvent) -1), "?");
}

/* ---- zk-util ---- */

/* The client says why its socket failed only in its log; these are its lines (3.8, log callback). */
TEST(test_log_socket_errno) {
        static const struct {
                const char *line;
                int errnum;
        } cases[] = {
                { "2026-11-30 17:25:57,123:4242(0x7f00deadbeef):ZOO_ERROR@handle_socket_error_msg@1290: Socket "
                  "[127.0.0.1:2181] zk retcode=-4, errno=111(Connection refused): server refused to accept the client",
                  ECONNREFUSED },
                { "ZOO_ERROR@handle_socket_error_msg@1290: Socket [127.0.0.1:2181] zk retcode=-4, errno=112(Host is "
                  "down): failed while receiving a server response", EHOSTDOWN },
                { "ZOO_ERROR@handle_socket_error_msg@1290: Socket [10.0.0.1:2181] zk retcode=-7, errno=110(Connection "
                  "timed out): connection to [10.0.0.1:2181] timed out (exceeded timeout by 3ms)", ETIMEDOUT },
                { "ZOO_ERROR@handle_socket_error_msg@1290: Socket [127.0.0.1:2181] zk retcode=-4, errno=111(Connection "
                  "refused): connect() call failed", ECONNREFUSED },
                /* Not socket errors, or not that shape: no cause taken from them. */
                { "ZOO_WARN@zookeeper_interest@1111: Exceeded deadline by 13ms", 0 },
                { "ZOO_ERROR@something: errno=111(Connection refused) without the client's marker", 0 },
                { "Socket [x] zk retcode=-4, errno=(Connection refused): no number", 0 },
                { "Socket [x] zk retcode=-4, errno=99999(Big): too large", 0 },
                { "Socket [x] zk retcode=-4, errno=0(Success): zero", 0 },
                { "Socket [x] zk retcode=-4, errno=111", 0 },
                { "", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ASSERT_EQ_INT(zk_log_socket_errno(cases[i].line), cases[i].errnum);
        ASSERT_EQ_INT(zk_log_socket_errno(NULL), 0);
        /* recv() returning 0 is reported as EHOSTDOWN: the server closed the connection. */
        ASSERT_STREQ(zk_socket_errno_text(EHOSTDOWN), "connection closed by the server");
        ASSERT_STREQ(zk_socket_errno_text(ECONNREFUSED), "Connection refused");
}

TEST(test_error_to_errno) {
        ASSERT_EQ_INT(zk_error_to_errno(ZOK), 0);
        ASSERT_EQ_INT(zk_error_to_errno(ZNONODE), -ENOENT);
        ASSERT_EQ_INT(zk_error_to_errno(ZNOAUTH), -EACCES);
        ASSERT_EQ_INT(zk_error_to_errno(ZAUTHFAILED), -EPERM);
        ASSERT_EQ_INT(zk_error_to_errno(ZCONNECTIONLOSS), -ECONNRESET);
        ASSERT_EQ_INT(zk_error_to_errno(ZOPERATIONTIMEOUT), -ETIMEDOUT);
        ASSERT_EQ_INT(zk_error_to_errno(ZSESSIONEXPIRED), -ESTALE);
        ASSERT_EQ_INT(zk_error_to_errno(ZCLOSING), -ESHUTDOWN);
        ASSERT_EQ_INT(zk_error_to_errno(ZINVALIDSTATE), -ENOTCONN);
        ASSERT_EQ_INT(zk_error_to_errno(ZBADARGUMENTS), -EINVAL);
        ASSERT_EQ_INT(zk_error_to_errno(ZMARSHALLINGERROR), -EBADMSG);
        ASSERT_EQ_INT(zk_error_to_errno(ZNOTHING), -ENODATA);
        ASSERT_EQ_INT(zk_error_to_errno(ZNODEEXISTS), -EEXIST);
        ASSERT_EQ_INT(zk_error_to_errno(ZUNIMPLEMENTED), -EOPNOTSUPP);
        /* Anything else, including codes of the server and codes that do not exist */
        ASSERT_EQ_INT(zk_error_to_errno(ZSYSTEMERROR), -EIO);
        ASSERT_EQ_INT(zk_error_to_errno(ZAPIERROR), -EIO);
        ASSERT_EQ_INT(zk_error_to_errno(-12345), -EIO);
        ASSERT_EQ_INT(zk_error_to_errno(12345), -EIO);
        /* Every code of the library maps to a negative errno, and only ZOK to 0. */
        for (int zrc = -200; zrc <= 200; zrc++) {
                int r = zk_error_to_errno(zrc);

                ASSERT_TRUE(zrc == ZOK ? r == 0 : r < 0);
        }
}

static void assert_hosts_ok(const char *hosts) {
        char error[256] = "";
        int r = zk_hosts_validate(hosts, error, sizeof(error));

        if (r < 0)
                fprintf(stderr, "\"%s\" refused: %s\n", hosts, error);
        ASSERT_EQ_INT(r, 0);
}

static void assert_hosts_refused(const char *hosts, const char *in_error) {
        char error[256] = "";

        ASSERT_EQ_INT(zk_hosts_validate(hosts, error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, in_error);
}

/* n entries "h<i>:<port>" joined by commas */
static char *hosts_list(unsigned n) {
        char *s = malloc(n * 16 + 1), *p = s;

        ASSERT_TRUE(s);
        *p = 0;
        for (unsigned i = 0; i < n; i++)
                p += sprintf(p, "%sh%u:%u", i ? "," : "", i, 2181 + i);
        return s;
}

TEST(test_hosts_validate_accepts) {
        assert_hosts_ok("127.0.0.1:2181");
        assert_hosts_ok("a:1,b:65535");
        assert_hosts_ok("zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181");
        /* The port is the part after the last ':', the host everything before it (address_parse). So an
         * unbracketed IPv6 literal such as "::1:2181" passes as host "::1", port 2181, and so does
         * "[::1]:2181"; the entry goes to the client library as written. */
        assert_hosts_ok("::1:2181");
        assert_hosts_ok("[::1]:2181");
        /* Exactly the maximum number of entries */
        _cleanup_(freep) char *max = hosts_list(ZK_HOSTS_MAX);
        assert_hosts_ok(max);
}

TEST(test_hosts_validate_refuses) {
        char error[256] = "", long_host[300];

        ASSERT_EQ_INT(zk_hosts_validate(NULL, error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "empty");
        assert_hosts_refused("", "empty");
        /* Each message names the entry at fault. */
        assert_hosts_refused("host", "\"host\"");
        assert_hosts_refused(":2181", "\":2181\"");
        assert_hosts_refused("h:0", "\"h:0\"");
        assert_hosts_refused("h:65536", "\"h:65536\"");
        assert_hosts_refused("h:12x", "\"h:12x\"");
        assert_hosts_refused("h:", "\"h:\"");
        assert_hosts_refused("h:-1", "\"h:-1\"");
        assert_hosts_refused("h:99999999999999999999999", "\"h:99999999999999999999999\"");
        assert_hosts_refused("a:1,,b:2", "\"\"");
        assert_hosts_refused("a:1,", "\"\"");
        assert_hosts_refused(",a:1", "\"\"");
        assert_hosts_refused("a b:1", "\"a b\"");
        assert_hosts_refused("good:1,a/b:2", "\"a/b\"");
        assert_hosts_refused("good:1,bad:0,good2:2", "\"bad:0\"");
        assert_hosts_refused("good:1,bad", "\"bad\"");
        /* The entries are read by address_parse, as [Web] Listen= and [Redis] Address= are: brackets must
         * close around something, a ':' outside them belongs to an IPv6 literal, a host is at most 255 bytes. */
        assert_hosts_refused("good:1,[]:2", "Hosts= entry \"[]\" is not a host name or address");
        assert_hosts_refused("[::1:2181", "\"[::1\"");
        assert_hosts_refused("a:b:2181", "\"a:b\"");
        assert_hosts_refused("/run/zk.sock", "\"/run/zk.sock\" is not host:port");
        memset(long_host, 'h', 256);
        strcpy(long_host + 256, ":2181");
        assert_hosts_refused(long_host, "more than 255 bytes");

        _cleanup_(freep) char *over = hosts_list(ZK_HOSTS_MAX + 1);
        assert_hosts_refused(over, "more than 64 entries");

        char big[4098];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        memcpy(big + sizeof(big) - 6, ":2181", 5);
        assert_hosts_refused(big, "4096");
}

static void assert_node_path(const char *prefix, const char *expected) {
        _cleanup_(freep) char *path = NULL;

        ASSERT_EQ_INT(zk_node_path(prefix, &path), 0);
        ASSERT_STREQ(path, expected);
}

static void assert_node_path_refused(const char *prefix) {
        char *path = (char *) "untouched";
        int r = zk_node_path(prefix, &path);

        if (r != -EINVAL)
                fprintf(stderr, "prefix \"%s\" not refused\n", prefix);
        ASSERT_EQ_INT(r, -EINVAL);
        ASSERT_STREQ(path, "untouched");
}

TEST(test_node_path) {
        assert_node_path("/cluster_a/service_rank", "/cluster_a/service_rank/arch_conf");
        assert_node_path("/", "/arch_conf");
        assert_node_path("/a", "/a/arch_conf");
        /* Dots that are not whole components are names like any other. */
        assert_node_path("/a.b/...", "/a.b/.../arch_conf");
        assert_node_path("/.hidden/x..", "/.hidden/x../arch_conf");

        /* Exactly the maximum length, and one byte more */
        char p[ZK_PREFIX_MAX + 2];
        memset(p, 'x', sizeof(p));
        p[0] = '/';
        p[ZK_PREFIX_MAX] = 0;
        _cleanup_(freep) char *path = NULL;
        ASSERT_EQ_INT(zk_node_path(p, &path), 0);
        ASSERT_EQ_INT(strlen(path), ZK_PREFIX_MAX + strlen("/arch_conf"));
        p[ZK_PREFIX_MAX] = 'x';
        p[ZK_PREFIX_MAX + 1] = 0;
        assert_node_path_refused(p);
}

TEST(test_node_path_refuses) {
        assert_node_path_refused(NULL);
        assert_node_path_refused("");
        assert_node_path_refused("relative");
        assert_node_path_refused("relative/b");
        assert_node_path_refused("/a/");
        assert_node_path_refused("//");
        assert_node_path_refused("/a//b");
        assert_node_path_refused("/a/./b");
        assert_node_path_refused("/a/../b");
        assert_node_path_refused("/a/..");
        assert_node_path_refused("/a/.");
        assert_node_path_refused("/.");
        assert_node_path_refused("/..");
        assert_node_path_refused("/./a");
        assert_node_path_refused("/../a");
        assert_node_path_refused("/a\tb");
        assert_node_path_refused("/a\nb");
        assert_node_path_refused("/a\x01");
        assert_node_path_refused("/a\x1f");
        assert_node_path_refused("/a\x7f");
}

TEST(test_auth_credentials) {
        const char *auth = "digest:u:p";

        ASSERT_STREQ(zk_auth_credentials(auth), "u:p");
        ASSERT_TRUE(zk_auth_credentials(auth) == auth + 7); /* a pointer into the argument */
        ASSERT_STREQ(zk_auth_credentials("digest:user:pass:with:colons"), "user:pass:with:colons");
        ASSERT_TRUE(zk_auth_credentials("u:p") == NULL);
        ASSERT_TRUE(zk_auth_credentials("digest:") == NULL);
        ASSERT_TRUE(zk_auth_credentials("digest:u") == NULL);
        ASSERT_TRUE(zk_auth_credentials("digest::p") == NULL);
        ASSERT_TRUE(zk_auth_credentials("digest") == NULL);
        ASSERT_TRUE(zk_auth_credentials("sasl:u:p") == NULL);
        ASSERT_TRUE(zk_auth_credentials("Digest:u:p") == NULL);
        ASSERT_TRUE(zk_auth_credentials("") == NULL);
        ASSERT_TRUE(zk_auth_credentials(NULL) == NULL);
}

int main(void) {
        RUN(test_init);
        RUN(test_start_opens_and_arms_connect_timeout);
        RUN(test_connected_without_auth_reads);
        RUN(test_connected_with_auth_authenticates_then_reads);
        RUN(test_read_done_resets_attempt);
        RUN(test_node_changed_and_reread_read_again);
        RUN(test_node_changed_and_reread_ignored_without_session);
        RUN(test_connection_lost_keeps_handle_and_waits);
        RUN(test_connection_lost_then_connected_rereads);
        RUN(test_new_handle_with_auth_authenticates_again);
        RUN(test_connect_timeout_closes_but_keeps_session);
        RUN(test_expired_and_auth_failed_close_and_forget_session);
        RUN(test_read_failed_backs_off_and_reads_again);
        RUN(test_backoff_sequence_connect_timeouts);
        RUN(test_backoff_sequence_expiry);
        RUN(test_backoff_sequence_read_failures);
        RUN(test_events_from_closed_handle_ignored);
        RUN(test_every_phase_and_event);
        RUN(test_transition_table);
        RUN(test_random_events);
        RUN(test_to_string);
        RUN(test_error_to_errno);
        RUN(test_log_socket_errno);
        RUN(test_hosts_validate_accepts);
        RUN(test_hosts_validate_refuses);
        RUN(test_node_path);
        RUN(test_node_path_refuses);
        RUN(test_auth_credentials);
        /* Last: these fail on src/ bugs reported with the tests (see their comments). */
        RUN(test_connection_lost_then_connected_with_auth_does_not_authenticate_again);
        return 0;
}
