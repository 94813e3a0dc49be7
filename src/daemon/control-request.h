/* SPDX-License-Identifier: MIT */
/* The control socket's request line, parsed and checked before anything answers it. Pure: bytes in, a
 * command and its checked arguments (or the error to answer) out. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define CONTROL_NAMES_MAX 1024    /* group names in one exec_args request */
#define CONTROL_NAME_LENGTH_MAX 4096
#define CONTROL_USER_NAME_MAX 256              /* args.user: a user name, for messages and events */
#define CONTROL_FOR_SEC_MAX (366u * 86400u)    /* args.for_sec: a penalty or limit lasts at most a year */
#define CONTROL_CPU_PCT_MAX 819200u            /* args.cpu_pct: systemd's CPUQuota= limit, 8192 cores */
#define CONTROL_MEMORY_MIN (1024u * 1024u)     /* args.memory: at least 1 MiB (smaller only OOM-kills) */
#define CONTROL_MEMORY_MAX (UINT64_C(1) << 53) /* ... and at most 8 PiB (a JSON number stays exact) */
#define CONTROL_ACCOUNT_SECONDS_MAX 10u        /* args.seconds of account: the answer stays small */
#define CONTROL_ACCOUNT_SECONDS_DEFAULT 2u     /* two seconds give a rate */

typedef enum ControlCmd {
        CONTROL_CMD_STATUS,
        CONTROL_CMD_PLAN,
        CONTROL_CMD_EXEC_ARGS,
        CONTROL_CMD_MIGRATE,        /* starts a migration: args.dry_run (boolean, default false) */
        CONTROL_CMD_MIGRATE_RESULT, /* its report, once finished: args.id (what migrate answered) */
        CONTROL_CMD_PENALTY,        /* the penalty box on or off for one user */
        CONTROL_CMD_LIMIT,          /* a fixed limit for one user, or --clear */
        CONTROL_CMD_USERS,          /* the fair-share users (args.me: only the asking peer's) */
        CONTROL_CMD_ACCOUNT,        /* the window's last args.seconds records (any peer: `slicekeeper top`) */
        _CONTROL_CMD_MAX,
} ControlCmd;

typedef struct ControlRequest {
        ControlCmd cmd;
        json_t *names; /* exec_args: 1..CONTROL_NAMES_MAX strings of at most CONTROL_NAME_LENGTH_MAX bytes */
        bool dry_run;  /* migrate */
        uint64_t id;   /* migrate_result: 1.. */
        /* penalty, limit */
        uint32_t uid;            /* args.uid: 0..4294967294 */
        char *user;              /* args.user: the name the CLI resolved, or NULL */
        bool on;                 /* penalty: args.on */
        bool has_mode, locked;   /* penalty on: args.mode "active" or "locked" */
        uint64_t for_sec;        /* penalty on, limit: args.for_sec, 0 when not given */
        uint64_t memory_bytes;   /* penalty on, limit: args.memory, 0 when not given; limit: UINT64_MAX for
                                  * "infinity" */
        uint64_t cpu_pct;        /* limit: args.cpu_pct (150 = 1.5 cores), 0 when not given */
        bool clear;              /* limit: args.clear */
        bool me;                 /* users: args.me */
        uint64_t seconds;        /* account: args.seconds, 1..CONTROL_ACCOUNT_SECONDS_MAX (default 2) */
        /* set by the server, not parsed: the peer's uid (SO_PEERCRED) */
        uint32_t peer_uid;
} ControlRequest;

/* One request ({"cmd": "status"|"plan"|"exec_args", "args": {"names": [...]}}, {"cmd": "migrate", "args":
 * {"dry_run": bool}}, {"cmd": "migrate_result", "args": {"id": n}}, {"cmd": "penalty", "args": {"uid": n,
 * "user": name, "on": true, "for_sec": n, "mode": "active"|"locked", "memory": bytes}} or {... "on": false},
 * {"cmd": "limit", "args": {"uid": n, "user": name, "cpu_pct": n, "memory": bytes|"infinity", "for_sec": n}}
 * or {... "clear": true}, {"cmd": "users", "args": {"me": bool}}, {"cmd": "account", "args": {"seconds": n}}),
 * the line's bytes without
 * its newline. Returns 0 with *ret filled (free with control_request_done()), or -EINVAL with the answer's
 * "error" text in error (*ret untouched). Keys other than cmd and those args are ignored. */
int control_request_parse(const char *data, size_t size, ControlRequest *ret, char *error, size_t error_size);
void control_request_done(ControlRequest *r);
