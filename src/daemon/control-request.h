/* SPDX-License-Identifier: MIT */
/* The control socket's request line, parsed and checked before anything answers it. Pure: bytes in, a
 * command and its checked arguments (or the error to answer) out. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#define CONTROL_NAMES_MAX 1024    /* group names in one exec_args request */
#define CONTROL_NAME_LENGTH_MAX 4096

typedef enum ControlCmd {
        CONTROL_CMD_STATUS,
        CONTROL_CMD_PLAN,
        CONTROL_CMD_EXEC_ARGS,
        _CONTROL_CMD_MAX,
} ControlCmd;

typedef struct ControlRequest {
        ControlCmd cmd;
        json_t *names; /* exec_args: 1..CONTROL_NAMES_MAX strings of at most CONTROL_NAME_LENGTH_MAX bytes */
} ControlRequest;

/* One request ({"cmd": "status"|"plan"|"exec_args", "args": {"names": [...]}}), the line's bytes without
 * its newline. Returns 0 with *ret filled (free with control_request_done()), or -EINVAL with the answer's
 * "error" text in error (*ret untouched). Keys other than cmd and args.names are ignored. */
int control_request_parse(const char *data, size_t size, ControlRequest *ret, char *error, size_t error_size);
void control_request_done(ControlRequest *r);
