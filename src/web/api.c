/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "macro.h"
#include "record.h"

static char *error_text(const char *message) {
        json_t *o = json_pack("{s:s}", "error", message);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;

        json_decref(o);
        return t;
}

json_t *api_show_account(const Ring *ring, uint64_t start, uint64_t end) {
        json_t *answer = json_object();

        for (uint64_t sec = start; answer && sec <= end; sec++) {
                const RingSlot *slot = ring_get(ring, sec);
                char key[32];

                if (slot) { /* cgrouparch left out missing slots too */
                        snprintf(key, sizeof(key), "%" PRIu64, sec);
                        json_object_set_new(answer, key, record_to_json(slot));
                }
                if (sec == end)
                        break; /* end may be UINT64_MAX: never wrap */
        }
        return answer;
}

/* A non-negative integer argument, or the default when absent. */
static int arg_u64(const json_t *args, const char *name, uint64_t def, uint64_t *ret, char *error, size_t size) {
        const json_t *v = json_object_get(args, name);

        if (!v || json_is_null(v)) {
                *ret = def;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
                snprintf(error, size, "args.%s must be a non-negative integer", name);
                return -EINVAL;
        }
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static char *show_account(const ApiContext *ctx, const json_t *args) {
        uint64_t end, nr, start;
        char error[128];
        json_t *answer;
        char *text;

        if (arg_u64(args, "end_slot", ctx->now_sec, &end, error, sizeof(error)) < 0 ||
            arg_u64(args, "nr_slot", 10, &nr, error, sizeof(error)) < 0)
                return error_text(error);
        if (nr < 1 || nr > API_SLOTS_MAX) {
                snprintf(error, sizeof(error), "args.nr_slot must be between 1 and %d", API_SLOTS_MAX);
                return error_text(error);
        }
        if (arg_u64(args, "start_slot", end >= nr - 1 ? end - (nr - 1) : 0, &start, error, sizeof(error)) < 0)
                return error_text(error);
        if (start > end)
                return error_text("args.start_slot is after args.end_slot");
        if (end - start >= API_SLOTS_MAX) {
                snprintf(error, sizeof(error), "at most %d slots per request", API_SLOTS_MAX);
                return error_text(error);
        }
        if (ctx->answer_max > 0) {
                /* Building the answer blocks the loop: refuse one that could not be sent anyway before
                 * spending seconds on it. */
                size_t estimate = 0;

                for (uint64_t sec = start; sec <= end; sec++) {
                        const RingSlot *slot = ring_get(ctx->ring, sec);

                        if (slot)
                                estimate += slot->set->n * API_RECORD_BYTES_PER_SLICE;
                        if (sec == end)
                                break;
                }
                if (estimate > ctx->answer_max) {
                        snprintf(error, sizeof(error), "the answer would be about %zu MB, more than %zu MB: ask for "
                                 "fewer slots (args.nr_slot)", estimate >> 20, ctx->answer_max >> 20);
                        return error_text(error);
                }
        }
        answer = api_show_account(ctx->ring, start, end);
        text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
        json_decref(answer);
        return text;
}

char *api_handle(const ApiContext *ctx, const char *text, size_t size, ApiAction *ret_action) {
        json_t *req, *args;
        json_error_t jerr;
        const char *cmd;
        char *answer = NULL;

        *ret_action = API_ACTION_NONE;
        req = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!req)
                return error_text("request is not valid JSON");
        cmd = json_string_value(json_object_get(req, "cmd"));
        args = json_object_get(req, "args");
        if (!json_is_object(req) || !cmd)
                answer = error_text("request must be an object with a string \"cmd\"");
        else if (args && !json_is_object(args))
                answer = error_text("args must be an object");
        else if (streq(cmd, "show_account"))
                answer = show_account(ctx, args);
        else if (streq(cmd, "get_conf")) {
                json_t *o = json_pack("{s:I, s:O}", "version", (json_int_t) ctx->conf_version, "value",
                                      ctx->conf ? (json_t *) ctx->conf : json_null());
                answer = o ? json_dumps(o, JSON_COMPACT) : NULL;
                json_decref(o);
        } else if (streq(cmd, "subscribe") || streq(cmd, "unsubscribe")) {
                bool on = streq(cmd, "subscribe");
                *ret_action = on ? API_ACTION_SUBSCRIBE : API_ACTION_UNSUBSCRIBE;
                answer = strdup(on ? "{\"subscribed\":true}" : "{\"subscribed\":false}");
        } else if (streq(cmd, "status")) {
                json_t *o = ctx->status ? ctx->status(ctx->userdata) : json_object();
                answer = o ? json_dumps(o, JSON_COMPACT) : NULL;
                json_decref(o);
        } else
                answer = error_text("unknown cmd (show_account, get_conf, subscribe, unsubscribe, status)");
        json_decref(req);
        return answer ? answer : error_text("out of memory");
}
