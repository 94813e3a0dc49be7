/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control-request.h"
#include "macro.h"

static int refuse(char *error, size_t error_size, const char *message) {
        snprintf(error, error_size, "%s", message);
        return -EINVAL;
}

/* exec_args: a malformed request is refused whole, before anything is built. */
static int check_names(const json_t *names, char *error, size_t error_size) {
        const json_t *v;
        size_t i;

        if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > CONTROL_NAMES_MAX)
                return refuse(error, error_size, "args.names must be an array of 1..1024 group names");
        json_array_foreach(names, i, v) {
                if (!json_is_string(v)) {
                        snprintf(error, error_size, "args.names[%zu] must be a string", i);
                        return -EINVAL;
                }
                if (json_string_length(v) > CONTROL_NAME_LENGTH_MAX) {
                        snprintf(error, error_size, "args.names[%zu] is %zu bytes long, more than 4096", i,
                                 json_string_length(v));
                        return -EINVAL;
                }
        }
        return 0;
}

int control_request_parse(const char *data, size_t size, ControlRequest *ret, char *error, size_t error_size) {
        static const char *const cmds[_CONTROL_CMD_MAX] = {
                [CONTROL_CMD_STATUS] = "status",
                [CONTROL_CMD_PLAN] = "plan",
                [CONTROL_CMD_EXEC_ARGS] = "exec_args",
                [CONTROL_CMD_MIGRATE] = "migrate",
                [CONTROL_CMD_MIGRATE_RESULT] = "migrate_result",
        };
        json_error_t jerr;
        json_t *req, *names = NULL, *v;
        bool dry_run = false;
        uint64_t id = 0;
        const char *cmd;
        int r = 0;
        ControlCmd c;

        assert(data || size == 0);
        assert(ret);
        assert(error || error_size == 0);

        req = json_loadb(data, size, JSON_DECODE_ANY, &jerr);
        if (!req)
                return refuse(error, error_size, "request is not valid JSON");
        cmd = json_string_value(json_object_get(req, "cmd"));
        if (!json_is_object(req) || !cmd) {
                json_decref(req);
                return refuse(error, error_size, "request must be an object with a string \"cmd\"");
        }
        for (c = 0; c < _CONTROL_CMD_MAX; c++)
                if (streq(cmd, cmds[c]))
                        break;
        if (c == _CONTROL_CMD_MAX)
                r = refuse(error, error_size,
                           "unknown cmd (expected \"status\", \"plan\", \"exec_args\", \"migrate\" or "
                           "\"migrate_result\")");
        else if (c == CONTROL_CMD_EXEC_ARGS) {
                names = json_object_get(json_object_get(req, "args"), "names");
                r = check_names(names, error, error_size);
        } else if (c == CONTROL_CMD_MIGRATE) {
                v = json_object_get(json_object_get(req, "args"), "dry_run");
                if (v && !json_is_boolean(v))
                        r = refuse(error, error_size, "args.dry_run must be true or false");
                dry_run = json_is_true(v);
        } else if (c == CONTROL_CMD_MIGRATE_RESULT) {
                v = json_object_get(json_object_get(req, "args"), "id");
                if (!json_is_integer(v) || json_integer_value(v) < 1)
                        r = refuse(error, error_size, "args.id must be a migration's id (an integer from 1)");
                else
                        id = (uint64_t) json_integer_value(v);
        }
        if (r >= 0)
                *ret = (ControlRequest) { .cmd = c, .names = json_incref(names), .dry_run = dry_run, .id = id };
        json_decref(req);
        return r;
}

void control_request_done(ControlRequest *r) {
        assert(r);

        json_decref(r->names);
        *r = (ControlRequest) { 0 };
}
