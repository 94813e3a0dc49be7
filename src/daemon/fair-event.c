/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fair-event.h"
#include "macro.h"

static uint64_t splitmix64(uint64_t x) {
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

void fair_event_throttle_id(uint64_t id, const uint8_t salt[EVENT_ID_LEN], char ret[EVENT_ID_LEN + 1]) {
        uint64_t s[2] = { 0, 0 }, h[2];
        uint8_t bytes[EVENT_ID_LEN];

        memcpy(s, salt, sizeof(s));
        /* a bijection of id for each half: two ids never give the same 128 bits */
        h[0] = splitmix64(id ^ s[0]);
        h[1] = splitmix64(id ^ s[1]);
        memcpy(bytes, h, sizeof(bytes));
        event_id_from_bytes(bytes, ret);
}

double fair_event_cpu_pct(uint64_t cpu_usec_per_sec, double cores) {
        if (!(cores > 0))
                return 0;
        return (double) cpu_usec_per_sec / (cores * 1e6) * 100.0;
}

static json_t *time_or_null(usec_t wall) {
        char buf[32];

        if (wall == 0 || wall == USEC_INFINITY)
                return json_null();
        event_format_time(wall, buf);
        return json_string(buf);
}

static int convert_throttle(const FairEvent *fe, const char *node, const uint8_t salt[EVENT_ID_LEN],
                            FairEventOut *o) {
        const FairShareEvent *t = fe->throttle;
        bool end = fe->kind == FAIR_EVENT_THROTTLE_END;
        double pct = fair_event_cpu_pct(t->cpu, fe->cores);
        int r;

        fair_event_throttle_id(t->id, salt, o->id);
        o->fields = json_pack("{s:s, s:I, s:I, s:f, s:f, s:o, s:o}", "id", o->id,
                              "cpu_usec", (json_int_t) MIN(t->cpu, (uint64_t) INT64_MAX),
                              "cap_usec", (json_int_t) MIN(t->cap, (uint64_t) INT64_MAX),
                              "cpu_pct", pct, "cores", fe->cores, "start", time_or_null(t->start_wall),
                              "end", end ? time_or_null(t->end_wall) : json_null());
        if (!o->fields)
                return -ENOMEM;
        if (end && json_object_set_new(o->fields, "user_left", json_boolean(t->user_left)) < 0)
                return -ENOMEM;
        if (!end)
                r = asprintf(&o->message, "User %s (%" PRIu32 ") throttled: using %.2f of a %.2f-core cap (%s).",
                             o->event.user ? o->event.user : o->user, fe->uid, (double) t->cpu / 1e6,
                             (double) t->cap / 1e6, fe->slice);
        else
                r = asprintf(&o->message, "User %s (%" PRIu32 ") no longer throttled%s: %.2f core on average "
                             "over %.0f s (%s).", o->event.user ? o->event.user : o->user, fe->uid,
                             t->user_left ? " (the user slice went away)" : "", (double) t->cpu / 1e6,
                             t->end_wall > t->start_wall ? (double) (t->end_wall - t->start_wall) / 1e6 : 0.0,
                             fe->slice);
        if (r < 0) {
                o->message = NULL;
                return -ENOMEM;
        }
        /* DESIGN.md: every throttle event is one line in the event log, written when it ends (with its
         * START_TIME, END_TIME and the mean CPU); its start goes to the journal and the websocket only */
        if (!end)
                return 0;
        return event_line_throttle(&(ThrottleEventLine) {
                .id = o->id,
                .cgroup = fe->slice,
                .username = o->event.user ? o->event.user : o->user,
                .start = (time_t) (t->start_wall / USEC_PER_SEC),
                .ended = end,
                .end = (time_t) (t->end_wall / USEC_PER_SEC),
                .cpu_pct = pct,
                .node = node,
        }, &o->log_line);
}

static int convert_user(const FairEvent *fe, const char *node, const uint8_t random[EVENT_ID_LEN],
                        FairEventOut *o) {
        bool penalty = fe->kind == FAIR_EVENT_PENALTY;
        const char *mode = penalty && fe->penalty ? user_penalty_mode_to_string(fe->penalty->mode) : NULL;
        double cpu = !penalty && fe->limit ? fe->limit->cpu_cores : 0;
        uint64_t memory = penalty ? (fe->penalty ? fe->penalty->memory_bytes : 0) :
                                    (fe->limit ? fe->limit->memory_bytes : 0);
        usec_t until = penalty ? (fe->penalty ? fe->penalty->until_usec : USEC_INFINITY) :
                                 (fe->limit ? fe->limit->until_usec : USEC_INFINITY);
        bool has_until = until != 0 && until != USEC_INFINITY;
        const char *action = fe->action ? fe->action : "?";
        char until_text[48] = "", when[32];
        int r;

        static const char *const fleet_journal[] = { "SLICEKEEPER_SOURCE=fleet" };

        event_id_from_bytes(random, o->id);
        o->fields = json_pack("{s:s, s:s, s:s?, s:o, s:o, s:o, s:s}", "id", o->id, "action", action, "mode", mode,
                              "cpu_cores", cpu > 0 ? json_real(cpu) : json_null(),
                              "memory_bytes", memory > 0 ? json_integer((json_int_t) MIN(memory, (uint64_t) INT64_MAX))
                                                         : json_null(),
                              "until", has_until ? time_or_null(until) : json_null(),
                              "source", fe->fleet ? "fleet" : "local");
        if (!o->fields)
                return -ENOMEM;
        if (has_until) {
                event_format_time(until, when);
                snprintf(until_text, sizeof(until_text), " until %s", when);
        }
        r = asprintf(&o->message, "User %s (%" PRIu32 "): %s%s %s%s%s%s (%s).",
                     o->event.user ? o->event.user : o->user, fe->uid, fe->fleet ? "fleet " : "",
                     penalty ? "penalty box" : "limit", action, mode ? ", mode " : "", mode ?: "", until_text,
                     fe->slice);
        if (r < 0) {
                o->message = NULL;
                return -ENOMEM;
        }
        if (fe->fleet) {
                o->event.journal_fields = fleet_journal;
                o->event.n_journal_fields = ELEMENTSOF(fleet_journal);
        }
        return event_line_user(&(UserEventLine) {
                .kind = penalty ? USER_EVENT_PENALTY : USER_EVENT_LIMIT,
                .id = o->id,
                .timestamp = (time_t) (fe->wall / USEC_PER_SEC),
                .uid = fe->uid,
                .uname = o->event.user ? o->event.user : o->user,
                .node = node,
                .action = action,
                .mode = mode,
                .cpu_cores = cpu,
                .memory_bytes = memory,
                .has_until = has_until,
                .until = (time_t) (until / USEC_PER_SEC),
                .source = fe->fleet ? "fleet" : NULL,
        }, &o->log_line);
}

int fair_event_convert(const FairEvent *fe, const char *node, const uint8_t salt[EVENT_ID_LEN],
                       const uint8_t random[EVENT_ID_LEN], FairEventOut *ret) {
        static const EventKind kinds[_FAIR_EVENT_KIND_MAX] = {
                [FAIR_EVENT_THROTTLE_START] = EVENT_THROTTLE_START,
                [FAIR_EVENT_THROTTLE_END] = EVENT_THROTTLE_END,
                [FAIR_EVENT_PENALTY] = EVENT_PENALTY,
                [FAIR_EVENT_LIMIT] = EVENT_LIMIT,
        };
        FairEventOut o = { 0 };
        int r;

        assert(fe);
        assert(node);
        assert(ret);

        if (fe->kind < 0 || fe->kind >= _FAIR_EVENT_KIND_MAX || !fe->slice)
                return -EINVAL;
        if ((fe->kind == FAIR_EVENT_THROTTLE_START || fe->kind == FAIR_EVENT_THROTTLE_END) && !fe->throttle)
                return -EINVAL;
        snprintf(o.user, sizeof(o.user), "%" PRIu32, fe->uid);
        o.event = (Event) {
                .kind = kinds[fe->kind],
                .wall = fe->wall,
                .has_uid = true,
                .uid = fe->uid,
                .user = fe->username,
                .slice = fe->slice,
        };
        if (o.event.kind == EVENT_THROTTLE_START || o.event.kind == EVENT_THROTTLE_END)
                r = convert_throttle(fe, node, salt, &o);
        else
                r = convert_user(fe, node, random, &o);
        if (r < 0) {
                fair_event_out_done(&o);
                return r;
        }
        o.event.message = o.message;
        o.event.fields = o.fields;
        o.event.log_line = o.log_line;
        *ret = o;
        return 0;
}

void fair_event_out_done(FairEventOut *o) {
        if (!o)
                return;
        free(o->message);
        json_decref(o->fields);
        free(o->log_line);
        *o = (FairEventOut) { 0 };
}
