/* SPDX-License-Identifier: MIT */
/* One event-log line ([FairShare] EventLog=) in cgroup_py's throttle.log format, so the scripts that read
 * that file read ours: its field names, order and types, its time format (local time, "%Y-%m-%d %H:%M:%S")
 * and the look of Python's json.dumps (", " and ": " separators, non-ASCII as \uXXXX, floats as repr).
 * Pure; the glue appends the line (O_APPEND). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define EVENT_ID_LEN 16 /* cgroup_py's gen_EventID(): 16 of [A-Za-z0-9] */

/* An event id from 16 random bytes (the glue reads them with getrandom). */
void event_id_from_bytes(const uint8_t bytes[EVENT_ID_LEN], char ret[EVENT_ID_LEN + 1]);

/* {"TYPE": "throttleCPU", "ID", "CGROUP", "USERNAME", "START_TIME", "END_TIME", "CPU", "NODE"} */
typedef struct ThrottleEventLine {
        const char *id;
        const char *cgroup;   /* the user's slice, "user-1001.slice" (cgroup_py: its cgroup directory name) */
        const char *username; /* the UID in decimal when NSS knows no name */
        time_t start;
        bool ended;           /* false: END_TIME is "" (cgroup_py's value before the end) */
        time_t end;
        double cpu_pct;       /* mean use during the event, % of the whole machine (100: every CPU busy), as
                               * cgroup_py; a non-finite value is written as 0.0 */
        const char *node;
} ThrottleEventLine;

/* {"TYPE": "OOM", "ID", "TIMESTAMP", "UID" (a string, as cgroup_py), "UNAME", "NODE"}, then ours where
 * known: "CGROUP", "PID", "COMM", "SLICE", "TASK_MEMCG", "OOM_MEMCG", "OOM_KILL" (the slice's counter after
 * it), "KILLED" (a group kill's tasks), "MEMORY_MAX", "MEMORY_CURRENT" (bytes), "LATENCY_MS" (from the
 * kernel's line to the report). */
typedef struct OomEventLine {
        const char *id;
        time_t timestamp;
        uint32_t uid;
        const char *uname;
        const char *node;
        const char *cgroup;   /* NULL: left out */
        uint32_t pid;         /* 0: left out (the victim was not read from the kernel log) */
        const char *comm;     /* NULL: left out */
        const char *slice;    /* NULL: left out, as the next two */
        const char *task_memcg, *oom_memcg;
        bool has_oom_kill;
        uint64_t oom_kill;
        uint64_t killed;      /* 0: left out (a single kill) */
        uint64_t memory_max, memory_current; /* UINT64_MAX: left out (not read, or no limit) */
        bool has_memory;      /* false: both left out */
        bool has_latency;
        double latency_ms;
} OomEventLine;

/* Penalty box and runtime limit changes, ours, in the same shape as OOM's: {"TYPE": "penaltyBox" or
 * "limit", "ID", "TIMESTAMP", "UID", "UNAME", "NODE", "ACTION"}, then "MODE" (penalties), "CPU" (cores),
 * "MEMORY" (bytes), "UNTIL" and "SOURCE" (a fleet entry's: "fleet") where set. */
typedef enum UserEventKind {
        USER_EVENT_PENALTY,
        USER_EVENT_LIMIT,
} UserEventKind;

typedef struct UserEventLine {
        UserEventKind kind;
        const char *id;
        time_t timestamp;
        uint32_t uid;
        const char *uname;
        const char *node;
        const char *action;   /* "on", "off", "expired" (penalty); "set", "clear", "expired" (limit) */
        const char *mode;     /* NULL: left out */
        double cpu_cores;     /* 0: left out */
        uint64_t memory_bytes; /* 0: left out; UINT64_MAX (and anything from 2^63 - 1): "infinity" */
        bool has_until;
        time_t until;
        const char *source;   /* "fleet" (ZooKeeper's <Prefix>/users/); NULL: left out (this host's) */
} UserEventLine;

/* The line, newline included, in *ret (the caller frees it). -EINVAL for a missing field or a time that
 * has no calendar date. */
int event_line_throttle(const ThrottleEventLine *e, char **ret);
int event_line_oom(const OomEventLine *e, char **ret);
int event_line_user(const UserEventLine *e, char **ret);

/* The daemon's other events (tree applied or rejected, connections) in the same file, led by the fields
 * every line there starts with, so a reader that dispatches on TYPE skips them: {"TYPE": type, "TIMESTAMP",
 * "NODE", then the members of `object` (a JSON object's text, e.g. the event as subscribers get it)}.
 * -EINVAL for a missing field, a time with no calendar date, or `object` not "{...}". */
int event_line_json(const char *type, time_t timestamp, const char *node, const char *object, char **ret);

/* Python 2.7's repr() of a float, as json.dumps writes it: the shortest digits that read back the same,
 * "50.0" not "50", exponent form below 1e-4 and from 1e16 ("1e-05", "1e+16"). */
int event_line_format_float(double v, char *buf, size_t size);
