/* SPDX-License-Identifier: MIT */
/* The daemon's one event stream, the part every component may see (pure): the kinds of event, the last
 * EVENT_RING_MAX events kept with their sequence numbers (as the JSON text each was published as), and a
 * subscriber's filter (kinds, uid, slice). The hub (src/daemon/event-hub.h) fills it; the websocket's
 * `events` command (src/web/api.c) reads it. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define EVENT_RING_MAX 1000u   /* events kept for `events` subscribers that come later ("since") */
#define EVENT_TEXT_MAX 4096u   /* one event's JSON; the encoder refuses a bigger one */
#define EVENT_SLICE_MAX 256u   /* a unit name (systemd's UNIT_NAME_MAX), NUL included */

typedef enum EventKind {
        EVENT_THROTTLE_START,
        EVENT_THROTTLE_END,
        EVENT_PENALTY,
        EVENT_LIMIT,
        EVENT_OOM,
        EVENT_TREE_APPLIED,
        EVENT_TREE_REJECTED,
        EVENT_ZOOKEEPER,       /* the ZooKeeper connection went down or came back */
        EVENT_REDIS,           /* the same for Redis */
        _EVENT_KIND_MAX,
        _EVENT_KIND_INVALID = -EINVAL,
} EventKind;

/* "throttle_start", ...; NULL out of range. */
const char *event_kind_to_string(EventKind k);
/* -EINVAL for an unknown name. */
EventKind event_kind_from_string(const char *s);

/* One event as kept: what a filter looks at, and its text. */
typedef struct EventRecord {
        uint64_t seq;
        EventKind kind;
        bool has_uid;
        uint32_t uid;
        char *slice;           /* NULL: not about a slice */
        char *text;            /* the event's JSON object, seq included (the encoder's) */
        size_t text_size;
} EventRecord;

/* The last `capacity` events, oldest first; sequence numbers start at 1 and have no gaps. */
typedef struct EventRing {
        EventRecord *items;
        size_t capacity, start, n;
        uint64_t next_seq;
        size_t bytes;          /* of the texts kept */
} EventRing;

int event_ring_init(EventRing *r, size_t capacity);
void event_ring_done(EventRing *r);
/* The number the next event gets (its text has it). */
uint64_t event_ring_next_seq(const EventRing *r);
/* Keeps a copy of the event (its seq must be event_ring_next_seq()), dropping the oldest when full. */
int event_ring_push(EventRing *r, EventKind kind, bool has_uid, uint32_t uid, const char *slice, const char *text,
                    size_t text_size);
/* i from 0 (oldest) to n - 1. */
const EventRecord *event_ring_get(const EventRing *r, size_t i);

/* What a subscriber wants: kinds (a bit per EventKind; 0: all), one uid, one slice. */
typedef struct EventFilter {
        uint32_t kinds;
        bool has_uid;
        uint32_t uid;
        char slice[EVENT_SLICE_MAX]; /* "": any */
} EventFilter;

bool event_filter_match(const EventFilter *f, EventKind kind, bool has_uid, uint32_t uid, const char *slice);

/* The kept events a new subscriber gets first, matching f: with `since` those after that sequence number,
 * else the last `last` of them; appended to out as a JSON array ("[...]"). *ret_lost: events after
 * `since` that are no longer kept (0 without since). Returns how many went in, or -ENOMEM. */
int event_ring_backlog(const EventRing *r, const EventFilter *f, bool has_since, uint64_t since, size_t last,
                       Buf *out, uint64_t *ret_lost);
