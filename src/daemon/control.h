/* SPDX-License-Identifier: MIT */
/* The control socket: a Unix stream socket (0666); one JSON request line in, one JSON answer out. Root may
 * send every request; another peer (SO_PEERCRED) only `users` with me=true, answered about their own UID,
 * and `account` (the window's last seconds, as world-readable cgroupfs shows them). */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "control-request.h"
#include "macro.h"
#include "part-stream.h"
#include "time-util.h"

#define CONTROL_REQUEST_MAX (64 * 1024)
#define CONTROL_CLIENTS_MAX 64

typedef struct ControlServer ControlServer;

/* An answer part by part (ControlAnswer.stream) goes out a part of about this size at a time, the next made
 * once the client has taken the last: a long answer never holds the loop. */
#define CONTROL_ANSWER_PART (64u * 1024u)

typedef struct ControlAnswer {
        json_t *json;      /* the whole answer (a new reference), or */
        PartStream stream; /* when stream.next is set, the answer's text made part by part */
} ControlAnswer;

/* Sets the answer to a request that control_request_parse() accepted (nothing set: out of memory); the
 * server answers the others with their error itself. */
typedef void (*ControlHandler)(const ControlRequest *request, void *userdata, ControlAnswer *ret);

/* timeout_usec: a client gets this long to send its request line, and as long again to take each part of
 * its answer. */
int control_server_new(sd_event *event, const char *path, usec_t timeout_usec, ControlHandler handler,
                       void *userdata, ControlServer **ret);
ControlServer *control_server_free(ControlServer *s);
/* {"clients": now, "accepted", "refused_not_root" (requests of non-root peers other than users --me), "refused_busy", "errors", "timed_out", "answer_parts"
 * (parts of streamed answers made)}: since start. */
json_t *control_server_status_json(const ControlServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ControlServer *, control_server_free)
