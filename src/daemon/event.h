/* SPDX-License-Identifier: MIT */
/* One event of the daemon's event stream (throttle starts and ends, penalties, limits; later OOM kills, the
 * tree applied or rejected, connections): what it is about, its fixed journal MESSAGE_ID, and its JSON as
 * websocket subscribers get it. Pure; the hub (event-hub.h) publishes it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "event-ring.h"
#include "time-util.h"

typedef struct Event {
        EventKind kind;
        usec_t wall;            /* CLOCK_REALTIME */
        bool has_uid;           /* about a user */
        uint32_t uid;
        const char *user;       /* NULL: no name known */
        const char *slice;      /* NULL: not about a slice */
        const char *message;    /* one readable sentence (the journal's MESSAGE=) */
        int priority;           /* the journal's PRIORITY= (LOG_ERR, ...); 0: notice (info for throttle_end) */
        const json_t *fields;   /* the kind's own fields (an object, or NULL) */
        const char *log_line;   /* the event-log line, newline included; NULL: see log_json */
        bool log_json;          /* without log_line: the event's JSON is its event-log line */
        /* More journal fields, each "NAME=value" ("OOM_VICTIM_PID=123"): NAME as the journal wants it (A-Z,
         * 0-9, _, at most 64, not starting with _ or a digit) and none of the hub's own. Others are left out. */
        const char *const *journal_fields;
        size_t n_journal_fields;
} Event;

/* The most journal fields an event sends: the hub's own and journal_fields (those past it are left out). */
#define EVENT_JOURNAL_FIELDS_MAX 24

/* A kind's TYPE in the event log, in cgroup_py's style: "throttleCPU", "penaltyBox", "limit", "OOM",
 * "treeApplied", "treeRejected", "zookeeper", "redis"; NULL out of range. */
const char *event_kind_log_type(EventKind k);

/* The journal MESSAGE_ID of each kind: 32 hex digits, fixed forever (slicekeeperd(8) lists them). */
const char *event_kind_message_id(EventKind k);

/* {"seq", "kind", "time" (UTC, ISO 8601 with microseconds), "wall_usec", "node", then "uid", "user" (null:
 * not known), "slice" where the event has them, then the kind's fields (a name already taken is left out)}
 * as compact text in *ret. -E2BIG for more than EVENT_TEXT_MAX bytes, -EINVAL for a kind out of range. */
int event_to_json(const Event *e, uint64_t seq, const char *node, char **ret);

/* The journal fields of event e with sequence number seq, in ret (NULL-terminated, each "NAME=value",
 * to be freed with strv_free()): MESSAGE=, MESSAGE_ID=, PRIORITY=, SLICEKEEPER_EVENT=, SLICEKEEPER_EVENT_SEQ=,
 * SLICE=, USER_ID=, USER_NAME= where the event has them, then its journal_fields that are well formed
 * (EVENT_JOURNAL_FIELDS_MAX in all). -EINVAL for a kind out of range, -ENOMEM. */
int event_journal_fields(const Event *e, uint64_t seq, char ***ret);

/* "2026-12-01T02:10:00.123456Z" */
void event_format_time(usec_t wall, char buf[static 32]);
