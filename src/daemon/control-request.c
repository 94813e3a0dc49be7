/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
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

/* args.KEY: absent (0), or an integer in [min, max] (1, *ret set); -EINVAL with the error otherwise. */
static int get_integer(const json_t *args, const char *key, uint64_t min, uint64_t max, uint64_t *ret,
                       char *error, size_t error_size) {
        const json_t *v = json_object_get(args, key);

        if (!v)
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t) json_integer_value(v) < min ||
            (uint64_t) json_integer_value(v) > max) {
                snprintf(error, error_size, "args.%s must be an integer from %" PRIu64 " to %" PRIu64, key, min,
                         max);
                return -EINVAL;
        }
        *ret = (uint64_t) json_integer_value(v);
        return 1;
}

static int get_boolean(const json_t *args, const char *key, bool *ret, char *error, size_t error_size) {
        const json_t *v = json_object_get(args, key);

        if (!v)
                return 0;
        if (!json_is_boolean(v)) {
                snprintf(error, error_size, "args.%s must be true or false", key);
                return -EINVAL;
        }
        *ret = json_is_true(v);
        return 1;
}

/* Which of args' keys are there, of those named. */
static bool has_any(const json_t *args, const char *const *keys) {
        for (; *keys; keys++)
                if (json_object_get(args, *keys))
                        return true;
        return false;
}

/* penalty and limit: who (args.uid, args.user). */
static int parse_who(const json_t *args, ControlRequest *out, char *error, size_t error_size) {
        const json_t *user = json_object_get(args, "user");
        uint64_t uid;
        int r;

        if (!json_is_object(args))
                return refuse(error, error_size, "args must be an object with the user's \"uid\"");
        r = get_integer(args, "uid", 0, UINT32_MAX - 1, &uid, error, error_size);
        if (r == 0)
                r = refuse(error, error_size, "args.uid is missing (the user's UID)");
        if (r < 0)
                return r;
        out->uid = (uint32_t) uid;
        if (user) {
                const char *s = json_string_value(user);

                if (!s || json_string_length(user) == 0 || json_string_length(user) > CONTROL_USER_NAME_MAX ||
                    strlen(s) != json_string_length(user))
                        return refuse(error, error_size, "args.user must be a user name of 1 to 256 bytes");
                for (const char *p = s; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f || *p == '/')
                                return refuse(error, error_size,
                                              "args.user must be a user name (no control characters or '/')");
                out->user = strdup(s);
                if (!out->user)
                        return refuse(error, error_size, "out of memory");
        }
        return 0;
}

static int parse_penalty(const json_t *args, ControlRequest *out, char *error, size_t error_size) {
        static const char *const on_only[] = { "for_sec", "mode", "memory", NULL };
        const json_t *mode;
        int r;

        r = parse_who(args, out, error, error_size);
        if (r < 0)
                return r;
        r = get_boolean(args, "on", &out->on, error, error_size);
        if (r == 0)
                r = refuse(error, error_size, "args.on is missing (true: penalty on, false: off)");
        if (r < 0)
                return r;
        if (!out->on)
                return has_any(args, on_only) ?
                        refuse(error, error_size, "penalty off takes no for_sec, mode or memory") : 0;
        r = get_integer(args, "for_sec", 1, CONTROL_FOR_SEC_MAX, &out->for_sec, error, error_size);
        if (r >= 0)
                r = get_integer(args, "memory", CONTROL_MEMORY_MIN, CONTROL_MEMORY_MAX, &out->memory_bytes,
                                error, error_size);
        if (r < 0)
                return r;
        mode = json_object_get(args, "mode");
        if (mode) {
                const char *s = json_string_value(mode);

                if (!s || (!streq(s, "active") && !streq(s, "locked")))
                        return refuse(error, error_size, "args.mode must be \"active\" or \"locked\"");
                out->has_mode = true;
                out->locked = streq(s, "locked");
        }
        return 0;
}

static int parse_limit(const json_t *args, ControlRequest *out, char *error, size_t error_size) {
        static const char *const set_only[] = { "for_sec", "cpu_pct", "memory", NULL };
        const json_t *memory;
        int r;

        r = parse_who(args, out, error, error_size);
        if (r >= 0)
                r = get_boolean(args, "clear", &out->clear, error, error_size);
        if (r < 0)
                return r;
        if (out->clear)
                return has_any(args, set_only) ?
                        refuse(error, error_size, "limit --clear takes no cpu_pct, memory or for_sec") : 0;
        r = get_integer(args, "cpu_pct", 1, CONTROL_CPU_PCT_MAX, &out->cpu_pct, error, error_size);
        if (r >= 0)
                r = get_integer(args, "for_sec", 1, CONTROL_FOR_SEC_MAX, &out->for_sec, error, error_size);
        if (r < 0)
                return r;
        memory = json_object_get(args, "memory");
        if (json_is_string(memory) && streq(json_string_value(memory), "infinity"))
                out->memory_bytes = UINT64_MAX;
        else if (memory) {
                r = get_integer(args, "memory", CONTROL_MEMORY_MIN, CONTROL_MEMORY_MAX, &out->memory_bytes, error,
                                error_size);
                if (r < 0)
                        return refuse(error, error_size,
                                      "args.memory must be bytes from 1048576 to 9007199254740992 or \"infinity\"");
        }
        if (out->cpu_pct == 0 && out->memory_bytes == 0)
                return refuse(error, error_size, "limit needs cpu_pct or memory (or clear)");
        return 0;
}

int control_request_parse(const char *data, size_t size, ControlRequest *ret, char *error, size_t error_size) {
        static const char *const cmds[_CONTROL_CMD_MAX] = {
                [CONTROL_CMD_STATUS] = "status",
                [CONTROL_CMD_PLAN] = "plan",
                [CONTROL_CMD_EXEC_ARGS] = "exec_args",
                [CONTROL_CMD_MIGRATE] = "migrate",
                [CONTROL_CMD_MIGRATE_RESULT] = "migrate_result",
                [CONTROL_CMD_PENALTY] = "penalty",
                [CONTROL_CMD_LIMIT] = "limit",
                [CONTROL_CMD_USERS] = "users",
                [CONTROL_CMD_ACCOUNT] = "account",
        };
        ControlRequest out = {};
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
                           "unknown cmd (expected \"status\", \"plan\", \"exec_args\", \"migrate\", "
                           "\"migrate_result\", \"penalty\", \"limit\", \"users\" or \"account\")");
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
        } else if (c == CONTROL_CMD_PENALTY)
                r = parse_penalty(json_object_get(req, "args"), &out, error, error_size);
        else if (c == CONTROL_CMD_LIMIT)
                r = parse_limit(json_object_get(req, "args"), &out, error, error_size);
        else if (c == CONTROL_CMD_USERS) {
                v = json_object_get(req, "args");
                r = v && !json_is_object(v) ? refuse(error, error_size, "args must be an object") :
                                              get_boolean(v, "me", &out.me, error, error_size);
        } else if (c == CONTROL_CMD_ACCOUNT) {
                v = json_object_get(req, "args");
                out.seconds = CONTROL_ACCOUNT_SECONDS_DEFAULT;
                r = v && !json_is_object(v) ? refuse(error, error_size, "args must be an object") :
                                              get_integer(v, "seconds", 1, CONTROL_ACCOUNT_SECONDS_MAX,
                                                          &out.seconds, error, error_size);
        }
        if (r >= 0) {
                out.cmd = c;
                out.names = json_incref(names);
                out.dry_run = dry_run;
                out.id = id;
                *ret = out;
        } else
                free(out.user);
        json_decref(req);
        return r < 0 ? r : 0;
}

void control_request_done(ControlRequest *r) {
        assert(r);

        json_decref(r->names);
        free(r->user);
        *r = (ControlRequest) { 0 };
}
