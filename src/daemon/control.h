/* SPDX-License-Identifier: MIT */
/* The control socket: a root-only Unix stream socket; one JSON request line in, one JSON answer out. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "control-request.h"
#include "macro.h"
#include "time-util.h"

#define CONTROL_REQUEST_MAX (64 * 1024)
#define CONTROL_CLIENTS_MAX 64

typedef struct ControlServer ControlServer;

/* Returns the answer (a new reference) to a request that control_request_parse() accepted; the server
 * answers the others with their error itself. */
typedef json_t *(*ControlHandler)(const ControlRequest *request, void *userdata);

/* timeout_usec: a client gets this long to send its request line, and as long again to take its answer. */
int control_server_new(sd_event *event, const char *path, usec_t timeout_usec, ControlHandler handler,
                       void *userdata, ControlServer **ret);
ControlServer *control_server_free(ControlServer *s);
/* {"clients": now, "accepted", "refused_not_root", "refused_busy", "errors", "timed_out"}: since start. */
json_t *control_server_status_json(const ControlServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ControlServer *, control_server_free)
