/* SPDX-License-Identifier: MIT */
/* The websocket's fleet_account (issue 17): every host's seconds as `slicekeeper fleet --json` gives them, read
 * from Redis by a query on a connection of its own (redis-query.h) while the loop goes on, and answered to the
 * client when Redis has answered (a deferred streamed reply, ws-client.h); the client may be gone by then. */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

#include "http-server.h"

#define FLEET_ACCOUNT_RUNNING_MAX 4 /* fleet queries at once in the daemon; more are answered "busy" */

typedef struct FleetAccountConfig {
        const char *address; /* [Redis] Address=; NULL or empty: answered with an error */
        const char *prefix;  /* [Redis] Prefix= */
} FleetAccountConfig;

/* {"cmd": "fleet_account", "args": {"group": "a/b" (or null, absent: whole records), "seconds": 1..300
 * (default 10)}}: *ret_group NULL or the group as given, *ret_seconds. -EINVAL with why in error. Pure. */
int fleet_account_parse(const char *text, size_t size, char **ret_group, unsigned *ret_seconds, char *error,
                        size_t error_size);

/* The reply to a fleet_account request: an error text at once (bad arguments, no Redis, too many queries
 * running), or a stream that waits for Redis and then sends the answer (or {"error": "..."}) in fragments. */
void fleet_account_reply(sd_event *event, WebClient *client, const FleetAccountConfig *config, const char *text,
                         size_t size, WebReply *ret);
