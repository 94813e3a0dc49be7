/* SPDX-License-Identifier: MIT */
/* The websocket commands: request text in, answer text out (or, for show_account, a stream that makes the
 * answer part by part). Pure: the window, the clock and the tree are given. show_account keeps
 * cgrouparch's arguments and answer shape. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "event-ring.h"
#include "ring.h"
#include "show-account.h"

#define API_SLOTS_MAX 3600 /* one show_account answers at most this many seconds */
#define API_EVENTS_LAST_DEFAULT 100 /* events: kept events sent first when no "since" is given */

typedef enum ApiAction {
        API_ACTION_NONE,
        API_ACTION_SUBSCRIBE,
        API_ACTION_UNSUBSCRIBE,
        API_ACTION_STATUS, /* answer with the daemon's status (NULL is returned): the caller makes it */
        API_ACTION_EVENTS, /* subscribe the client to the event stream with the filter returned */
        API_ACTION_UNSUBSCRIBE_EVENTS,
        API_ACTION_FLEET_ACCOUNT, /* answer fleet_account (NULL is returned): the caller reads Redis (fleet-account.h) */
} ApiAction;

typedef struct ApiContext {
        const Ring *ring;
        uint64_t now_sec;
        const json_t *conf;      /* the last good tree, or NULL */
        int64_t conf_version;
        const json_t *conf_versions; /* {"shared": n, "overlay": m} (issue 17), or NULL */
        const EventRing *events; /* the kept events, or NULL */
} ApiContext;

/* The answer to one request (a new string; errors are {"error": "..."}), and what the connection is to do.
 * A valid show_account answers NULL and sets *ret_stream instead: the answer is read from the ring as it
 * is sent (show-account.h). A valid `events` answers {"events_subscribed": true, "last_seq", "lost",
 * "events": [the kept events it asked for]} and sets *ret_filter (API_ACTION_EVENTS). */
char *api_handle(const ApiContext *ctx, const char *text, size_t size, ApiAction *ret_action,
                 AccountStream **ret_stream, EventFilter *ret_filter);
