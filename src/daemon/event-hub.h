/* SPDX-License-Identifier: MIT */
/* The one event stream (issues 14 and 15): each event published goes to the journal (MESSAGE_ID= of its
 * kind, SLICE=, USER_ID=, USER_NAME=, the event's own fields), to the event log ([FairShare] EventLog=, one
 * line, appended), into the ring of the last EVENT_RING_MAX (websocket `events` subscribers that come later)
 * and to the push function (the live subscribers, Redis), and is counted per kind. Glue: writes and counts; the event and its text are made elsewhere
 * (event.h, fair-event.h). */
#pragma once

#include <jansson.h>

#include "event-ring.h"
#include "event.h"
#include "fair.h"
#include "macro.h"

/* An event-log line longer than this is dropped (and counted): the fields that make it are bounded, so
 * only a broken name would get there. */
#define EVENT_LOG_LINE_MAX 8192 /* the message in event-hub.c says so */

typedef struct EventHub EventHub;

/* A live event for the websocket: `text` is {"event": {...}}, one message; the record has what a filter
 * looks at. */
typedef void (*EventHubPush)(const EventRecord *record, const char *text, size_t size, void *userdata);

/* `log_path`: "" or NULL for no event log; it is opened at its first line (its directory made, 0755).
 * `node`: the name in the events (NULL: the host name). */
int event_hub_new(const char *log_path, const char *node, EventHub **ret);
EventHub *event_hub_free(EventHub *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(EventHub *, event_hub_free)

void event_hub_set_push(EventHub *h, EventHubPush push, void *userdata);

/* Publishes to every sink; a sink that fails is counted (and logged once per cause), the others still get
 * it. Returns the event's sequence number, or a negative errno when it could not be made (nothing sent). */
int64_t event_hub_publish(EventHub *h, const Event *e);
/* Fair share's event (fair_set_event_fn()'s callback hands it over). */
int64_t event_hub_publish_fair(EventHub *h, const FairEvent *e);

/* SIGHUP (logrotate): the event log is closed and opened again at its next line. */
void event_hub_reopen(EventHub *h);

const EventRing *event_hub_ring(const EventHub *h);
const char *event_hub_node(const EventHub *h);
/* Events published, per kind: _EVENT_KIND_MAX counters indexed by EventKind, since start. */
const uint64_t *event_hub_published_by_kind(const EventHub *h);

/* {"published", "kept", "last_seq", "subscribers", "journal_failed", "log": {"path" (null: off), "open",
 *  "written", "dropped", "reopened", "last_error" (null: none since the last success)}} */
json_t *event_hub_status_json(const EventHub *h, size_t subscribers);
