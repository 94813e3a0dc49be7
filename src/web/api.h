/* SPDX-License-Identifier: MIT */
/* The websocket commands: request text in, answer text out. Pure: the window, the clock and the tree are
 * given. show_account keeps cgrouparch's arguments and answer shape. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"

#define API_SLOTS_MAX 3600 /* one show_account answers at most this many seconds */

typedef enum ApiAction {
        API_ACTION_NONE,
        API_ACTION_SUBSCRIBE,
        API_ACTION_UNSUBSCRIBE,
} ApiAction;

typedef struct ApiContext {
        const Ring *ring;
        uint64_t now_sec;
        const json_t *conf;      /* the last good tree, or NULL */
        int64_t conf_version;
        size_t answer_max;       /* refuse a show_account whose answer would be larger (0: no limit) */
        json_t *(*status)(void *userdata); /* a new reference */
        void *userdata;
} ApiContext;

/* The answer to one request (a new string; errors are {"error": "..."}), and what the connection is to do. */
char *api_handle(const ApiContext *ctx, const char *text, size_t size, ApiAction *ret_action);

/* About how many bytes a record takes per slice in show_account's answer (all five controllers). */
#define API_RECORD_BYTES_PER_SLICE 300

/* {"<sec>": record, ...} for start..end, leaving out seconds not in the window. */
json_t *api_show_account(const Ring *ring, uint64_t start, uint64_t end);
