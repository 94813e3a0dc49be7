/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "macro.h"

static char *error_text(const char *message) {
        json_t *o = json_pack("{s:s}", "error", message);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;

        json_decref(o);
        return t;
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

static char *show_account(const ApiContext *ctx, const json_t *args, AccountStream **ret_stream) {
        uint64_t end, nr, start;
        char error[128];

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
        /* Nothing is built here: the stream reads each second when the client has room for it. */
        if (account_stream_new(start, end, ret_stream) < 0)
                return error_text("out of memory");
        return NULL;
}

/* {"since": SEQ, "last": N, "kinds": ["throttle_start", ...], "uid": UID, "slice": "user-1001.slice"},
 * each optional: the filter and the kept events to send first. */
static char *events(const ApiContext *ctx, const json_t *args, EventFilter *ret_filter, bool *ret_ok) {
        EventFilter f = { 0 };
        const json_t *kinds = json_object_get(args, "kinds"), *slice = json_object_get(args, "slice"), *v;
        uint64_t since, last, uid;
        bool has_since = json_object_get(args, "since") && !json_is_null(json_object_get(args, "since"));
        _cleanup_(buf_done) Buf out = { 0 };
        EventRing empty = { .next_seq = 1 };
        const EventRing *ring = ctx->events ? ctx->events : &empty;
        uint64_t lost;
        char error[128], head[128], *answer;
        size_t i;
        int n;

        *ret_ok = false;
        if (arg_u64(args, "since", 0, &since, error, sizeof(error)) < 0 ||
            arg_u64(args, "last", API_EVENTS_LAST_DEFAULT, &last, error, sizeof(error)) < 0 ||
            arg_u64(args, "uid", UINT64_MAX, &uid, error, sizeof(error)) < 0)
                return error_text(error);
        if (last > EVENT_RING_MAX) {
                snprintf(error, sizeof(error), "args.last must be at most %u", EVENT_RING_MAX);
                return error_text(error);
        }
        if (uid != UINT64_MAX) {
                if (uid > UINT32_MAX)
                        return error_text("args.uid is not a UID");
                f.has_uid = true;
                f.uid = (uint32_t) uid;
        }
        if (kinds && !json_is_null(kinds)) {
                if (!json_is_array(kinds) || json_array_size(kinds) == 0)
                        return error_text("args.kinds must be a non-empty array of event kinds");
                json_array_foreach(kinds, i, v) {
                        EventKind k = event_kind_from_string(json_string_value(v));

                        if (k < 0)
                                return error_text("args.kinds: unknown kind (throttle_start, throttle_end, penalty, "
                                                  "limit, oom, tree_applied, tree_rejected, zookeeper, redis)");
                        f.kinds |= 1u << k;
                }
        }
        if (slice && !json_is_null(slice)) {
                const char *name = json_string_value(slice);

                if (!name || !*name || strlen(name) >= sizeof(f.slice) || json_string_length(slice) != strlen(name))
                        return error_text("args.slice must be a unit name");
                strcpy(f.slice, name);
        }
        n = event_ring_backlog(ring, &f, has_since, since, (size_t) last, &out, &lost);
        if (n < 0)
                return NULL;
        snprintf(head, sizeof(head), "{\"events_subscribed\":true,\"last_seq\":%" PRIu64 ",\"lost\":%" PRIu64
                 ",\"events\":", event_ring_next_seq(ring) - 1, lost);
        if (buf_put(&out, "}", 2) < 0 || asprintf(&answer, "%s%s", head, (const char *) out.data) < 0)
                return NULL;
        *ret_filter = f;
        *ret_ok = true;
        return answer;
}

char *api_handle(const ApiContext *ctx, const char *text, size_t size, ApiAction *ret_action,
                 AccountStream **ret_stream, EventFilter *ret_filter) {
        json_t *req, *args;
        json_error_t jerr;
        const char *cmd;
        char *answer = NULL;

        assert(ctx);
        assert(text || size == 0);
        assert(ret_action);
        assert(ret_stream);
        assert(ret_filter);

        *ret_action = API_ACTION_NONE;
        *ret_stream = NULL;
        req = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!req)
                return error_text("request is not valid JSON");
        cmd = json_string_value(json_object_get(req, "cmd"));
        args = json_object_get(req, "args");
        if (!json_is_object(req) || !cmd)
                answer = error_text("request must be an object with a string \"cmd\"");
        else if (args && !json_is_object(args))
                answer = error_text("args must be an object");
        else if (streq(cmd, "show_account")) {
                answer = show_account(ctx, args, ret_stream);
                if (*ret_stream) {
                        json_decref(req);
                        return NULL;
                }
        }
        else if (streq(cmd, "fleet_account")) {
                /* every host's seconds from Redis: answered later, by the caller (fleet-account.h) */
                *ret_action = API_ACTION_FLEET_ACCOUNT;
                json_decref(req);
                return NULL;
        }
        else if (streq(cmd, "get_conf")) {
                json_t *o = json_pack("{s:I, s:O, s:O*}", "version", (json_int_t) ctx->conf_version, "value",
                                      ctx->conf ? (json_t *) ctx->conf : json_null(), "versions",
                                      (json_t *) ctx->conf_versions);
                answer = o ? json_dumps(o, JSON_COMPACT) : NULL;
                json_decref(o);
        } else if (streq(cmd, "subscribe") || streq(cmd, "unsubscribe")) {
                bool on = streq(cmd, "subscribe");
                *ret_action = on ? API_ACTION_SUBSCRIBE : API_ACTION_UNSUBSCRIBE;
                answer = strdup(on ? "{\"subscribed\":true}" : "{\"subscribed\":false}");
        } else if (streq(cmd, "events")) {
                /* the arguments in "args", as for the others, or beside "cmd" */
                bool ok;

                answer = events(ctx, args ? args : req, ret_filter, &ok);
                if (ok)
                        *ret_action = API_ACTION_EVENTS;
        } else if (streq(cmd, "unsubscribe_events")) {
                *ret_action = API_ACTION_UNSUBSCRIBE_EVENTS;
                answer = strdup("{\"events_subscribed\":false}");
        } else if (streq(cmd, "status")) {
                /* the caller streams it: a 10 000-slice status is megabytes */
                *ret_action = API_ACTION_STATUS;
                json_decref(req);
                return NULL;
        } else
                answer = error_text("unknown cmd (show_account, get_conf, subscribe, unsubscribe, events, "
                                    "unsubscribe_events, status, fleet_account)");
        json_decref(req);
        return answer ? answer : error_text("out of memory");
}
