/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event-ring.h"
#include "macro.h"

static const char *const kind_names[_EVENT_KIND_MAX] = {
        [EVENT_THROTTLE_START] = "throttle_start",
        [EVENT_THROTTLE_END] = "throttle_end",
        [EVENT_PENALTY] = "penalty",
        [EVENT_LIMIT] = "limit",
        [EVENT_OOM] = "oom",
        [EVENT_TREE_APPLIED] = "tree_applied",
        [EVENT_TREE_REJECTED] = "tree_rejected",
        [EVENT_ZOOKEEPER] = "zookeeper",
        [EVENT_REDIS] = "redis",
};

const char *event_kind_to_string(EventKind k) {
        return k >= 0 && k < _EVENT_KIND_MAX ? kind_names[k] : NULL;
}

EventKind event_kind_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (int k = 0; k < _EVENT_KIND_MAX; k++)
                if (streq(kind_names[k], s))
                        return (EventKind) k;
        return -EINVAL;
}

int event_ring_init(EventRing *r, size_t capacity) {
        assert(r);
        assert(capacity > 0);

        *r = (EventRing) { .capacity = capacity, .next_seq = 1 };
        r->items = calloc(capacity, sizeof(EventRecord));
        return r->items ? 0 : -ENOMEM;
}

static void record_done(EventRecord *e) {
        free(e->slice);
        free(e->text);
        *e = (EventRecord) { 0 };
}

void event_ring_done(EventRing *r) {
        assert(r);

        for (size_t i = 0; r->items && i < r->n; i++)
                record_done(&r->items[(r->start + i) % r->capacity]);
        free(r->items);
        *r = (EventRing) { 0 };
}

uint64_t event_ring_next_seq(const EventRing *r) {
        assert(r);
        return r->next_seq;
}

int event_ring_push(EventRing *r, EventKind kind, bool has_uid, uint32_t uid, const char *slice, const char *text,
                    size_t text_size) {
        EventRecord e = { .seq = r->next_seq, .kind = kind, .has_uid = has_uid, .uid = has_uid ? uid : 0,
                          .text_size = text_size };
        size_t at;

        assert(r);
        assert(r->items);
        assert(text);

        e.text = strndup(text, text_size);
        e.slice = slice ? strdup(slice) : NULL;
        if (!e.text || (slice && !e.slice)) {
                record_done(&e);
                return -ENOMEM;
        }
        if (r->n == r->capacity) {
                r->bytes -= r->items[r->start].text_size;
                record_done(&r->items[r->start]);
                r->start = (r->start + 1) % r->capacity;
                r->n--;
        }
        at = (r->start + r->n) % r->capacity;
        r->items[at] = e;
        r->n++;
        r->bytes += text_size;
        r->next_seq++;
        return 0;
}

const EventRecord *event_ring_get(const EventRing *r, size_t i) {
        assert(r);
        return i < r->n ? &r->items[(r->start + i) % r->capacity] : NULL;
}

bool event_filter_match(const EventFilter *f, EventKind kind, bool has_uid, uint32_t uid, const char *slice) {
        assert(f);

        if (f->kinds != 0 && (kind < 0 || kind >= _EVENT_KIND_MAX || !(f->kinds & (1u << kind))))
                return false;
        if (f->has_uid && (!has_uid || uid != f->uid))
                return false;
        if (f->slice[0] && (!slice || !streq(slice, f->slice)))
                return false;
        return true;
}

static bool record_match(const EventFilter *f, const EventRecord *e) {
        return event_filter_match(f, e->kind, e->has_uid, e->uid, e->slice);
}

int event_ring_backlog(const EventRing *r, const EventFilter *f, bool has_since, uint64_t since, size_t last,
                       Buf *out, uint64_t *ret_lost) {
        size_t from = 0, n = 0;
        uint64_t lost = 0, oldest = r->n > 0 ? r->items[r->start].seq : r->next_seq;

        assert(r);
        assert(f);
        assert(out);
        assert(ret_lost);

        if (has_since) {
                /* Events since..oldest-1 went; since >= next_seq - 1 (or from the future): none missed. */
                if (since >= r->next_seq - 1)
                        from = r->n;
                else if (since + 1 < oldest)
                        lost = oldest - since - 1;
                else
                        from = (size_t) (since + 1 - oldest);
        } else {
                /* the last `last` matching ones: walk back to find where they start */
                size_t found = 0;

                from = r->n;
                while (from > 0 && found < last) {
                        from--;
                        if (record_match(f, event_ring_get(r, from)))
                                found++;
                }
                if (found < last)
                        from = 0;
        }
        if (buf_put(out, "[", 1) < 0)
                return -ENOMEM;
        for (size_t i = from; i < r->n; i++) {
                const EventRecord *e = event_ring_get(r, i);

                if (!record_match(f, e))
                        continue;
                if ((n > 0 && buf_put(out, ",", 1) < 0) || buf_put(out, e->text, e->text_size) < 0)
                        return -ENOMEM;
                n++;
        }
        if (buf_put(out, "]", 1) < 0)
                return -ENOMEM;
        *ret_lost = lost;
        return (int) n;
}
