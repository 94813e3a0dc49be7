/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon-event.h"
#include "macro.h"

void daemon_event_out_done(DaemonEventOut *o) {
        if (!o)
                return;
        free(o->message);
        json_decref(o->fields);
        for (size_t i = 0; i < ELEMENTSOF(o->journal); i++)
                free(o->journal[i]);
        *o = (DaemonEventOut) { 0 };
}

/* The event part, once message and fields are made; the JSON is the event-log line (no older format). */
static int finish(DaemonEventOut *o, EventKind kind, int priority, usec_t wall, size_t n_journal,
                  DaemonEventOut *ret) {
        if (!o->message || !o->fields)
                return daemon_event_out_done(o), -ENOMEM;
        for (size_t i = 0; i < n_journal; i++) {
                if (!o->journal[i])
                        return daemon_event_out_done(o), -ENOMEM;
                o->journal_ptrs[i] = o->journal[i];
        }
        *ret = *o;
        ret->event = (Event) {
                .kind = kind,
                .wall = wall,
                .message = ret->message,
                .priority = priority,
                .fields = ret->fields,
                .log_json = true,
                .journal_fields = ret->journal_ptrs,
                .n_journal_fields = n_journal,
        };
        /* the pointers into ret, not into the caller's o */
        for (size_t i = 0; i < n_journal; i++)
                ret->journal_ptrs[i] = ret->journal[i];
        return 0;
}

static char *format(const char *fmt, ...) _printf_(1, 2);
static char *format(const char *fmt, ...) {
        va_list ap;
        char *s;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        return k < 0 ? NULL : s;
}

/* "ZooKeeper node /x" as it is; a path is a file's */
static const char *origin_prefix(const char *origin) {
        return origin && origin[0] == '/' ? "file " : "";
}

int daemon_event_tree_applied(int64_t version, const char *origin, size_t groups, const char *schema, usec_t wall,
                              DaemonEventOut *ret) {
        DaemonEventOut o = { 0 };

        assert(ret);

        if (!origin)
                origin = "?";
        o.message = format("Tree version %" PRIi64 " applied from %s%s: %zu group%s.", version,
                           origin_prefix(origin), origin, groups, groups == 1 ? "" : "s");
        o.fields = json_pack("{s:I, s:s, s:I, s:s?}", "version", (json_int_t) version, "origin", origin, "groups",
                             (json_int_t) groups, "schema", schema);
        o.journal[0] = format("TREE_VERSION=%" PRIi64, version);
        o.journal[1] = format("TREE_ORIGIN=%s", origin);
        return finish(&o, EVENT_TREE_APPLIED, LOG_INFO, wall, 2, ret) < 0 ? -ENOMEM : 1;
}

int daemon_event_tree_rejected(const char *error, const char *origin, usec_t wall, DaemonEventOut *ret) {
        DaemonEventOut o = { 0 };

        assert(ret);

        if (!error)
                error = "unknown error";
        if (origin)
                o.message = format("Tree from %s%s not applied, keeping the last good one: %s",
                                   origin_prefix(origin), origin, error);
        else
                o.message = format("Tree not applied, keeping the last good one: %s", error);
        o.fields = json_pack("{s:s, s:s?}", "error", error, "origin", origin);
        if (o.fields && !origin && json_object_set_new(o.fields, "origin", json_null()) < 0)
                o.fields = (json_decref(o.fields), NULL);
        if (origin)
                o.journal[0] = format("TREE_ORIGIN=%s", origin);
        return finish(&o, EVENT_TREE_REJECTED, LOG_ERR, wall, origin ? 1 : 0, ret) < 0 ? -ENOMEM : 1;
}

int daemon_event_connection(EventKind kind, const char *name, const Outage *out, OutageState *seen, usec_t wall,
                            DaemonEventOut *ret) {
        DaemonEventOut o = { 0 };
        OutageState before;
        char msg[OUTAGE_CAUSE_MAX + 512], since[32], at[64], took[32];

        assert(name);
        assert(out);
        assert(seen);
        assert(ret);

        before = *seen;
        *seen = out->state;
        /* Worded apart from the connection's own journal lines (outage_message()), which say it once too. */
        if (out->state == OUTAGE_STATE_DOWN && before != OUTAGE_STATE_DOWN) {
                outage_format_time(out->since_usec, /* with_date= */ false, at, sizeof(at));
                snprintf(msg, sizeof(msg), "Connection to %s lost at %s: %s.", name, at, out->cause);
                event_format_time(out->since_usec, since);
                o.fields = json_pack("{s:s, s:s, s:s, s:s}", "connection", name, "state", "down", "cause", out->cause,
                                     "since", since);
        } else if (out->state == OUTAGE_STATE_UP && before == OUTAGE_STATE_DOWN && out->have_last) {
                usec_t span = out->last_until_usec - MIN(out->last_until_usec, out->last_since_usec);

                outage_format_time(out->last_since_usec, /* with_date= */ false, at, sizeof(at));
                outage_format_timespan(span, took, sizeof(took));
                snprintf(msg, sizeof(msg), "Connection to %s restored, %s after it was lost at %s: %s.", name, took,
                         at, out->last_cause);
                event_format_time(out->last_since_usec, since);
                o.fields = json_pack("{s:s, s:s, s:I, s:s, s:s}", "connection", name, "state", "up", "down_usec",
                                     (json_int_t) MIN(span, (usec_t) INT64_MAX), "since", since, "cause",
                                     out->last_cause);
        } else
                return 0;
        o.message = strdup(msg);
        o.journal[0] = format("CONNECTION_STATE=%s", out->state == OUTAGE_STATE_UP ? "up" : "down");
        if (finish(&o, kind, out->state == OUTAGE_STATE_UP ? LOG_INFO : LOG_WARNING, wall, 1, ret) < 0)
                return -ENOMEM;
        return 1;
}
