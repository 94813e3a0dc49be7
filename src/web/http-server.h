/* SPDX-License-Identifier: MIT */
/* The HTTP server: libmicrohttpd in external-epoll mode (its epoll fd an sd-event source), GET /metrics,
 * GET /healthz, and websocket upgrades on "/" whose sockets become sd-event sources of their own. */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"
#include "ws-client.h"

#define WEB_CLIENTS_MAX 256
/* A client that has output waiting (in our queues, an answer streaming, or in its socket's send buffer)
 * and takes none of it for stall_usec (web_server_new(); [Web] StallTimeoutSec=) is dropped: it may never
 * read again, and it holds one of the WEB_CLIENTS_MAX places (ws_client_stalled()). Checked every
 * WEB_STALL_CHECK_USEC, or a quarter of a shorter stall_usec: a client goes between stall_usec and
 * stall_usec + one check (+ ≤ 1 s) after it last took something. */
#define WEB_STALL_CHECK_USEC (5 * USEC_PER_SEC)
/* At most this many fragments of a streamed answer per loop iteration (ws-client.h), so that the sampler
 * and other clients keep their turns. */
#define WEB_STREAM_FRAGMENTS_PER_WAKEUP 4

typedef struct WebServer WebServer;
typedef struct WebClient WebClient;

typedef struct WebHandlers {
        /* A complete text message from a websocket client; sets the answer, if any. */
        void (*message)(WebClient *c, const char *text, size_t size, void *userdata, WebReply *ret);
        /* The body of GET /metrics (malloc'd text). */
        char *(*metrics)(void *userdata);
        void *userdata;
} WebHandlers;

/* listen: "127.0.0.1:43409", "[::1]:43409" or "0.0.0.0:43409". */
int web_server_new(sd_event *event, const char *listen, usec_t stall_usec, const WebHandlers *handlers,
                   WebServer **ret);
WebServer *web_server_free(WebServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(WebServer *, web_server_free)

/* Sends text to every subscribed client (one frame, encoded once). */
void web_server_broadcast(WebServer *s, const char *text, size_t size);
size_t web_server_clients(const WebServer *s);
size_t web_server_dropped(const WebServer *s);

void web_client_set_subscribed(WebClient *c, bool subscribed);
