/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "event.h"
#include "macro.h"
#include "strv.h"

/* Made once (random), never changed: journalctl MESSAGE_ID=... finds every event of a kind across versions. */
static const char *const message_ids[_EVENT_KIND_MAX] = {
        [EVENT_THROTTLE_START] = "6a6b4a0ca5674399832c683b2e108cb0",
        [EVENT_THROTTLE_END] = "c9216fc9e68c4c3f8ceafb04a9ee3b0b",
        [EVENT_PENALTY] = "18e406a84c9c4042b6e71ba96c325eff",
        [EVENT_LIMIT] = "d97615d630d049758ce3cf0badf949c1",
        [EVENT_OOM] = "f5125d3f72a845c98a444047da0db302",
        [EVENT_TREE_APPLIED] = "b5cbcfe73b314de380802f7434b3d16b",
        [EVENT_TREE_REJECTED] = "6dea41da60994903bce45c4a2b239c9a",
        [EVENT_ZOOKEEPER] = "0d26d3dacefd41228d9e2302a5fd5fe9",
        [EVENT_REDIS] = "e7566284fdf341319048aa01807e7ccb",
};

const char *event_kind_log_type(EventKind k) {
        static const char *const types[_EVENT_KIND_MAX] = {
                [EVENT_THROTTLE_START] = "throttleCPU",
                [EVENT_THROTTLE_END] = "throttleCPU",
                [EVENT_PENALTY] = "penaltyBox",
                [EVENT_LIMIT] = "limit",
                [EVENT_OOM] = "OOM",
                [EVENT_TREE_APPLIED] = "treeApplied",
                [EVENT_TREE_REJECTED] = "treeRejected",
                [EVENT_ZOOKEEPER] = "zookeeper",
                [EVENT_REDIS] = "redis",
        };

        return k >= 0 && k < _EVENT_KIND_MAX ? types[k] : NULL;
}

const char *event_kind_message_id(EventKind k) {
        return k >= 0 && k < _EVENT_KIND_MAX ? message_ids[k] : NULL;
}

void event_format_time(usec_t wall, char buf[static 32]) {
        time_t sec = (time_t) (wall / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&sec, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
                strcpy(buf, "1970-01-01T00:00:00.000000Z");
                return;
        }
        snprintf(buf + strlen(buf), 32 - strlen(buf), ".%06" PRIu64 "Z", wall % USEC_PER_SEC);
}

int event_to_json(const Event *e, uint64_t seq, const char *node, char **ret) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        const char *kind = event_kind_to_string(e->kind), *key;
        char time[32];
        json_t *v;
        char *text;
        int r = 0;

        assert(e);
        assert(ret);

        if (!kind)
                return -EINVAL;
        event_format_time(e->wall, time);
        o = json_pack("{s:I, s:s, s:s, s:I, s:s?}", "seq", (json_int_t) seq, "kind", kind, "time", time, "wall_usec",
                      (json_int_t) MIN(e->wall, (usec_t) INT64_MAX), "node", node);
        if (!o)
                return -ENOMEM;
        if (e->has_uid) {
                r |= json_object_set_new(o, "uid", json_integer(e->uid));
                r |= json_object_set_new(o, "user", e->user ? json_string(e->user) : json_null());
        }
        if (e->slice)
                r |= json_object_set_new(o, "slice", json_string(e->slice));
        json_object_foreach((json_t *) e->fields, key, v)
                if (!json_object_get(o, key))
                        r |= json_object_set(o, key, v);
        if (r != 0)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!text)
                return -ENOMEM; /* also a string that is not UTF-8: jansson refuses to make it */
        if (strlen(text) > EVENT_TEXT_MAX) {
                free(text);
                return -E2BIG;
        }
        *ret = text;
        return 0;
}

/* The names event_journal_fields() sets itself: an extra field cannot replace or repeat them. */
static const char *const own_fields[] = {
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "SLICEKEEPER_EVENT", "SLICEKEEPER_EVENT_SEQ", "SLICE", "USER_ID",
        "USER_NAME",
};

static bool journal_field_ok(const char *f) {
        const char *eq = f ? strchr(f, '=') : NULL;
        size_t n;

        if (!eq)
                return false;
        n = (size_t) (eq - f);
        /* journald's rules (a leading _ is for its trusted fields) */
        if (n == 0 || n > 64 || f[0] == '_' || (f[0] >= '0' && f[0] <= '9'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((f[i] >= 'A' && f[i] <= 'Z') || (f[i] >= '0' && f[i] <= '9') || f[i] == '_'))
                        return false;
        for (size_t i = 0; i < ELEMENTSOF(own_fields); i++)
                if (strlen(own_fields[i]) == n && strncmp(own_fields[i], f, n) == 0)
                        return false;
        return true;
}

_printf_(3, 4) static int add_field(char **l, size_t *n, const char *format, ...) {
        va_list ap;
        char *f;
        int k;

        va_start(ap, format);
        k = vasprintf(&f, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        l[(*n)++] = f;
        return 0;
}

int event_journal_fields(const Event *e, uint64_t seq, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        const char *kind;
        size_t n = 0;
        int r;

        assert(e);
        assert(ret);

        kind = event_kind_to_string(e->kind);
        if (!kind)
                return -EINVAL;
        l = calloc(EVENT_JOURNAL_FIELDS_MAX + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        r = add_field(l, &n, "MESSAGE=%s", e->message ? e->message : kind);
        r = r < 0 ? r : add_field(l, &n, "MESSAGE_ID=%s", event_kind_message_id(e->kind));
        r = r < 0 ? r : add_field(l, &n, "PRIORITY=%d", e->priority > 0 ? e->priority :
                                                         e->kind == EVENT_THROTTLE_END ? LOG_INFO : LOG_NOTICE);
        r = r < 0 ? r : add_field(l, &n, "SLICEKEEPER_EVENT=%s", kind);
        r = r < 0 ? r : add_field(l, &n, "SLICEKEEPER_EVENT_SEQ=%" PRIu64, seq);
        if (e->slice)
                r = r < 0 ? r : add_field(l, &n, "SLICE=%s", e->slice);
        if (e->has_uid) {
                r = r < 0 ? r : add_field(l, &n, "USER_ID=%" PRIu32, e->uid);
                if (e->user)
                        r = r < 0 ? r : add_field(l, &n, "USER_NAME=%s", e->user);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < e->n_journal_fields && n < EVENT_JOURNAL_FIELDS_MAX; i++) {
                if (!journal_field_ok(e->journal_fields[i]))
                        continue;
                l[n] = strdup(e->journal_fields[i]);
                if (!l[n])
                        return -ENOMEM;
                n++;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
