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

typedef enum ControlCmd {
        CONTROL_CMD_STATUS,
        CONTROL_CMD_PLAN,
        CONTROL_CMD_EXEC_ARGS,
        CONTROL_CMD_MIGRATE,        /* starts a migration: args.dry_run (boolean, default false) */
        CONTROL_CMD_MIGRATE_RESULT, /* its report, once finished: args.id (what migrate answered) */
        _CONTROL_CMD_MAX,
} ControlCmd;

typedef struct ControlRequest {
        ControlCmd cmd;
        json_t *names; /* exec_args: 1..CONTROL_NAMES_MAX strings of at most CONTROL_NAME_LENGTH_MAX bytes */
        bool dry_run;  /* migrate */
        uint64_t id;   /* migrate_result: 1.. */
} ControlRequest;

/* One request ({"cmd": "status"|"plan"|"exec_args", "args": {"names": [...]}}, {"cmd": "migrate", "args":
 * {"dry_run": bool}}, {"cmd": "migrate_result", "args": {"id": n}}), the line's bytes without
 * its newline. Returns 0 with *ret filled (free with control_request_done()), or -EINVAL with the answer's
 * "error" text in error (*ret untouched). Keys other than cmd and those args are ignored. */
int control_request_parse(const char *data, size_t size, ControlRequest *ret, char *error, size_t error_size);
void control_request_done(ControlRequest *r);
