/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "macro.h"

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
