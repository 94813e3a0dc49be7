/* SPDX-License-Identifier: MIT */
/* The ZooKeeper source's state machine, pure: events from the client library in, actions out. The I/O
 * glue (zk-source.c) performs the actions; unit tests drive this without a server. */
#pragma once

#include <stdbool.h>

#include "backoff.h"
#include "time-util.h"

typedef enum ZkPhase {
        ZK_PHASE_IDLE,
        ZK_PHASE_CONNECTING,     /* a handle is open, no session yet (or the connection was lost) */
        ZK_PHASE_AUTHENTICATING, /* session up, digest credentials sent */
        ZK_PHASE_READING,        /* reads (with watches) of nodes are in flight */
        ZK_PHASE_WATCHING,       /* nothing in flight: every node (or its absence) is read and watched */
        ZK_PHASE_READ_BACKOFF,   /* a node's read was refused (ACL, server error): read those again later; nodes
                                  * that change meanwhile are read */
        ZK_PHASE_BACKOFF,        /* no handle: open a new one later */
        _ZK_PHASE_MAX,
} ZkPhase;

typedef enum ZkEvent {
        ZK_EVENT_START,
        ZK_EVENT_CONNECTED,       /* session event: connected (first time or again) */
        ZK_EVENT_CONNECTION_LOST, /* session event: connecting again */
        ZK_EVENT_EXPIRED,         /* session event: the session is gone; the handle is dead */
        ZK_EVENT_AUTH_FAILED,     /* session event or add_auth completion */
        ZK_EVENT_AUTH_DONE,
        ZK_EVENT_READ_DONE,       /* nothing in flight any more: each node read (data, or "no node" with an exists
                                   * watch set) */
        ZK_EVENT_READ_FAILED,     /* a node's read refused (ACL) or failed on the server: retry later */
        ZK_EVENT_NODE_CHANGED,    /* a node is to be read (its watch fired) */
        ZK_EVENT_TIMER,           /* the armed timer elapsed */
        ZK_EVENT_REREAD,          /* SIGHUP */
        _ZK_EVENT_MAX,
} ZkEvent;

typedef enum ZkAction {
        ZK_ACTION_OPEN = 1 << 0,           /* zookeeper_init(), resuming the kept session if any */
        ZK_ACTION_CLOSE = 1 << 1,          /* zookeeper_close() */
        ZK_ACTION_FORGET_SESSION = 1 << 2, /* do not resume the session on the next OPEN */
        ZK_ACTION_AUTH = 1 << 3,           /* zoo_add_auth() */
        ZK_ACTION_READ = 1 << 4,           /* zoo_awget() of each node to be read (zoo_awexists() if missing),
                                            * zoo_awget_children2() of the children list */
        ZK_ACTION_ARM_TIMER = 1 << 5,      /* in timer_usec */
        ZK_ACTION_DISARM_TIMER = 1 << 6,
} ZkAction;

typedef struct ZkMachine {
        ZkPhase phase;
        bool have_auth;           /* digest credentials configured */
        bool auth_sent;           /* credentials handed to the current handle */
        bool authenticated;       /* ... and accepted */
        usec_t connect_timeout_usec; /* how long a handle may try before it is closed and reopened */
        Backoff backoff;          /* attempt: failures since the last good state */
        usec_t timer_usec;        /* with ZK_ACTION_ARM_TIMER: the delay */
        unsigned reconnects;      /* handles opened after the first */
} ZkMachine;

void zk_machine_init(ZkMachine *m, bool have_auth, usec_t connect_timeout_usec);
/* Applies an event; returns the ZkAction bits to perform, in the order OPEN/CLOSE bits are listed
 * (CLOSE before OPEN). Events that do not apply in the current phase return 0. */
unsigned zk_machine_step(ZkMachine *m, ZkEvent event);

const char *zk_phase_to_string(ZkPhase p);
const char *zk_event_to_string(ZkEvent e);
