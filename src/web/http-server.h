/* SPDX-License-Identifier: MIT */
/* The HTTP server: libmicrohttpd in external-epoll mode (its epoll fd an sd-event source), GET /metrics,
 * GET /healthz, and websocket upgrades on "/" whose sockets become sd-event sources of their own. */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define WEB_CLIENTS_MAX 256
#define WEB_SEND_QUEUE_MAX (16u * 1024u * 1024u) /* a client further behind than this is dropped */
#define WEB_ANSWER_MAX (12u * 1024u * 1024u)      /* a larger answer is refused with an error */

typedef struct WebServer WebServer;
typedef struct WebClient WebClient;

typedef struct WebHandlers {
        /* A complete text message from a websocket client; returns the answer text (malloc'd) or NULL. */
        char *(*message)(WebClient *c, const char *text, size_t size, void *userdata);
        /* The body of GET /metrics (malloc'd text). */
        char *(*metrics)(void *userdata);
        void *userdata;
} WebHandlers;

/* listen: "127.0.0.1:43409", "[::1]:43409" or "0.0.0.0:43409". */
int web_server_new(sd_event *event, const char *listen, const WebHandlers *handlers, WebServer **ret);
WebServer *web_server_free(WebServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(WebServer *, web_server_free)

/* Sends text to every subscribed client (one frame, encoded once). */
void web_server_broadcast(WebServer *s, const char *text, size_t size);
size_t web_server_clients(const WebServer *s);
size_t web_server_dropped(const WebServer *s);

void web_client_set_subscribed(WebClient *c, bool subscribed);
