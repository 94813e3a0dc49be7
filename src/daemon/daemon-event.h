/* SPDX-License-Identifier: MIT */
/* The daemon's own events of the stream (event.h): a tree applied or rejected (their journal entries are
 * the daemon's log lines for them), the ZooKeeper or Redis connection down or back (warning, info). Each with
 * its readable message, its fields and its journal fields; its JSON is its event-log line. Pure: the manager hands in what happened and publishes the result (event-hub.h). */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "event.h"
#include "outage.h"

typedef struct DaemonEventOut {
        Event event;           /* its strings point into this struct */
        char *message;
        json_t *fields;
        char *journal[3];      /* "TREE_VERSION=7", ... */
        const char *journal_ptrs[3];
} DaemonEventOut;

/* {"version", "origin", "groups", "schema"}; "Tree version 7 applied from ZooKeeper node /x/arch_conf: 12
 * groups." (origin: "ZooKeeper node …", or a file's path), at LOG_INFO. 1 (made), -ENOMEM (ret untouched). */
int daemon_event_tree_applied(int64_t version, const char *origin, size_t groups, const char *schema, usec_t wall,
                              DaemonEventOut *ret);
/* {"error", "origin" (null: not known)}; "Tree from file /etc/x.json not applied, keeping the last good one:
 * why" (the error's own end), at LOG_ERR. 1 (made), -ENOMEM (ret untouched). */
int daemon_event_tree_rejected(const char *error, const char *origin, usec_t wall, DaemonEventOut *ret);

/* The outage state o of connection `name` ("Redis at 127.0.0.1:6379") after a change, against *seen, the
 * state last looked at (updated): gone down (from up or connecting) gives {"state": "down", "cause", "since"},
 * back up after being down gives {"state": "up", "down_usec", "since", "cause" (the outage's)}; kind is
 * EVENT_ZOOKEEPER or EVENT_REDIS. Returns 1 with *ret filled, 0 when there is nothing to publish (first up,
 * another cause while down), -ENOMEM; ret is untouched but for 1. */
int daemon_event_connection(EventKind kind, const char *name, const Outage *o, OutageState *seen, usec_t wall,
                            DaemonEventOut *ret);

void daemon_event_out_done(DaemonEventOut *o);
