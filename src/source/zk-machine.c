/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include "macro.h"
#include "zk-machine.h"

#define BACKOFF_MIN_USEC (250 * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (10 * USEC_PER_SEC)

void zk_machine_init(ZkMachine *m, bool have_auth, usec_t connect_timeout_usec) {
        assert(m);

        *m = (ZkMachine) {
                .phase = ZK_PHASE_IDLE,
                .have_auth = have_auth,
                .connect_timeout_usec = connect_timeout_usec,
        };
        backoff_init(&m->backoff, BACKOFF_MIN_USEC, BACKOFF_MAX_USEC);
}

static unsigned arm(ZkMachine *m, usec_t delay) {
        m->timer_usec = delay;
        return ZK_ACTION_ARM_TIMER;
}

static unsigned backoff(ZkMachine *m) {
        return arm(m, backoff_next_usec(&m->backoff));
}

/* Session up: authenticate first when configured and not done on this handle yet, then read. The
 * backoff resets only once credentials are accepted, so a server that refuses them keeps backing off. */
static unsigned session_up(ZkMachine *m) {
        if (m->have_auth && !m->authenticated) {
                m->phase = ZK_PHASE_AUTHENTICATING;
                if (m->auth_sent)
                        /* The client re-sends pending credentials on reconnect and completes them. */
                        return ZK_ACTION_DISARM_TIMER;
                m->auth_sent = true;
                return ZK_ACTION_DISARM_TIMER | ZK_ACTION_AUTH;
        }
        backoff_reset(&m->backoff);
        m->phase = ZK_PHASE_READING;
        return ZK_ACTION_DISARM_TIMER | ZK_ACTION_READ;
}

unsigned zk_machine_step(ZkMachine *m, ZkEvent event) {
        assert(m);

        switch (event) {
        case ZK_EVENT_START:
                if (m->phase != ZK_PHASE_IDLE)
                        return 0;
                m->phase = ZK_PHASE_CONNECTING;
                return ZK_ACTION_OPEN | arm(m, m->connect_timeout_usec);

        case ZK_EVENT_CONNECTED:
                if (m->phase == ZK_PHASE_IDLE || m->phase == ZK_PHASE_BACKOFF)
                        return 0; /* from a handle already closed */
                /* On the same handle after a connection loss, the client restores credentials and
                 * watches itself (session_up() skips AUTH); re-read anyway so nothing missed is lost. */
                return session_up(m);

        case ZK_EVENT_CONNECTION_LOST:
                if (m->phase == ZK_PHASE_IDLE || m->phase == ZK_PHASE_BACKOFF || m->phase == ZK_PHASE_CONNECTING)
                        return 0;
                /* The client tries the other hosts; give it until the connect timeout. */
                m->phase = ZK_PHASE_CONNECTING;
                return arm(m, m->connect_timeout_usec);

        case ZK_EVENT_EXPIRED:
        case ZK_EVENT_AUTH_FAILED:
                if (m->phase == ZK_PHASE_IDLE || m->phase == ZK_PHASE_BACKOFF)
                        return 0;
                /* The handle is unusable: drop it (and the session), open a fresh one later. */
                m->phase = ZK_PHASE_BACKOFF;
                m->authenticated = m->auth_sent = false;
                return ZK_ACTION_CLOSE | ZK_ACTION_FORGET_SESSION | backoff(m);

        case ZK_EVENT_AUTH_DONE:
                if (m->phase != ZK_PHASE_AUTHENTICATING)
                        return 0;
                m->authenticated = true;
                backoff_reset(&m->backoff);
                m->phase = ZK_PHASE_READING;
                return ZK_ACTION_READ;

        case ZK_EVENT_READ_DONE:
                if (m->phase != ZK_PHASE_READING)
                        return 0;
                m->phase = ZK_PHASE_WATCHING;
                backoff_reset(&m->backoff);
                return 0;

        case ZK_EVENT_READ_FAILED:
                if (m->phase != ZK_PHASE_READING)
                        return 0;
                m->phase = ZK_PHASE_READ_BACKOFF;
                return backoff(m);

        case ZK_EVENT_NODE_CHANGED:
                /* One node refused does not hold back the others: what changed is read, the refused ones
                 * wait for the timer. */
                if (m->phase == ZK_PHASE_READ_BACKOFF)
                        return ZK_ACTION_READ;
                if (m->phase != ZK_PHASE_WATCHING && m->phase != ZK_PHASE_READING)
                        return 0;
                m->phase = ZK_PHASE_READING;
                return ZK_ACTION_READ;

        case ZK_EVENT_REREAD:
                if (m->phase != ZK_PHASE_WATCHING && m->phase != ZK_PHASE_READING)
                        return 0;
                m->phase = ZK_PHASE_READING;
                return ZK_ACTION_READ;

        case ZK_EVENT_TIMER:
                switch (m->phase) {
                case ZK_PHASE_CONNECTING:
                        /* No session within the timeout: close this handle, back off, try again. The
                         * session is kept so a quick return can still resume it. */
                        m->phase = ZK_PHASE_BACKOFF;
                        m->authenticated = m->auth_sent = false; /* a new handle starts without credentials */
                        return ZK_ACTION_CLOSE | backoff(m);
                case ZK_PHASE_BACKOFF:
                        m->phase = ZK_PHASE_CONNECTING;
                        m->reconnects++;
                        return ZK_ACTION_OPEN | arm(m, m->connect_timeout_usec);
                case ZK_PHASE_READ_BACKOFF:
                        m->phase = ZK_PHASE_READING;
                        return ZK_ACTION_READ;
                default:
                        return 0;
                }

        default:
                return 0;
        }
}

const char *zk_phase_to_string(ZkPhase p) {
        static const char *const table[_ZK_PHASE_MAX] = {
                [ZK_PHASE_IDLE] = "idle",
                [ZK_PHASE_CONNECTING] = "connecting",
                [ZK_PHASE_AUTHENTICATING] = "authenticating",
                [ZK_PHASE_READING] = "reading",
                [ZK_PHASE_WATCHING] = "watching",
                [ZK_PHASE_READ_BACKOFF] = "read-backoff",
                [ZK_PHASE_BACKOFF] = "backoff",
        };
        return p >= 0 && p < _ZK_PHASE_MAX ? table[p] : "?";
}

const char *zk_event_to_string(ZkEvent e) {
        static const char *const table[_ZK_EVENT_MAX] = {
                [ZK_EVENT_START] = "start",
                [ZK_EVENT_CONNECTED] = "connected",
                [ZK_EVENT_CONNECTION_LOST] = "connection-lost",
                [ZK_EVENT_EXPIRED] = "expired",
                [ZK_EVENT_AUTH_FAILED] = "auth-failed",
                [ZK_EVENT_AUTH_DONE] = "auth-done",
                [ZK_EVENT_READ_DONE] = "read-done",
                [ZK_EVENT_READ_FAILED] = "read-failed",
                [ZK_EVENT_NODE_CHANGED] = "node-changed",
                [ZK_EVENT_TIMER] = "timer",
                [ZK_EVENT_REREAD] = "reread",
        };
        return e >= 0 && e < _ZK_EVENT_MAX ? table[e] : "?";
}
