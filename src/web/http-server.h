/* SPDX-License-Identifier: MIT */
/* The HTTP server: libmicrohttpd in external-epoll mode (its epoll fd an sd-event source), GET /metrics,
 * GET /healthz, and websocket upgrades on "/" whose sockets become sd-event sources of their own. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "event-ring.h"
#include "macro.h"
#include "time-util.h"
#include "ws-client.h"

#define WEB_CLIENTS_MAX 256
/* HTTP connections beyond the websocket places (MHD's limit is the sum): a scrape of /metrics or /healthz
 * finds one while every websocket place is taken, as a connection that has not sent a whole request within
 * handshake_usec is closed. */
#define WEB_HTTP_RESERVE 16
/* A client that has output waiting (in our queues, an answer streaming, or in its socket's send buffer)
 * and takes none of it for stall_usec ([Web] StallTimeoutSec=) is dropped: it may never read again, and it
 * holds one of the WEB_CLIENTS_MAX places (ws_client_stalled()); so is one that is not subscribed and sent
 * nothing for idle_usec (IdleTimeoutSec=, ws_client_idle()), and a connection whose request head is not in
 * handshake_usec after it connected or its last answer went out (HandshakeTimeoutSec=; bytes do not extend
 * it).
 * Checked every WEB_CHECK_USEC, or a quarter of the shortest of them: a client goes between its timeout and
 * the timeout + one check (+ a quarter check) after it last took something or asked. */
#define WEB_CHECK_USEC (5 * USEC_PER_SEC)
/* Once our close frame is out, what the peer still sends is read and dropped for up to this long (or until
 * it closes), so that our close frame is not lost to a reset; checked as above. */
#define WEB_LINGER_USEC (2 * USEC_PER_SEC)
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

typedef struct WebServerConfig {
        const char *listen;     /* "127.0.0.1:43409", "[::1]:43409" or "0.0.0.0:43409" */
        usec_t stall_usec;      /* [Web] StallTimeoutSec= */
        usec_t idle_usec;       /* IdleTimeoutSec= */
        usec_t handshake_usec;  /* HandshakeTimeoutSec= */
        size_t per_address_max; /* MaxConnectionsPerAddress=; 0: no limit */
        /* OutputBudgetMiB=: the bound of the memory all clients' output queues hold together (not what their
         * sockets hold: the kernel's, at most net.ipv4.tcp_wmem each); past it the slowest is dropped. */
        size_t output_budget_bytes;
        /* GET / (a plain request), /page/app.js, /page/style.css: PageDir='s files; /lib/dygraph.min.js and
         * /lib/dygraph.min.css: JavaScriptDir='s dygraphs/ (libjs-dygraphs). NULL or empty: 404. */
        const char *page_dir, *javascript_dir;
} WebServerConfig;

int web_server_new(sd_event *event, const WebServerConfig *config, const WebHandlers *handlers, WebServer **ret);
WebServer *web_server_free(WebServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(WebServer *, web_server_free)

/* Sends text to every subscribed client (one frame, encoded once). */
void web_server_broadcast(WebServer *s, const char *text, size_t size);
size_t web_server_clients(const WebServer *s);
/* status: web: the clients and connections, the memory of their output queues and its budget, and a
 * counter for each kind of drop and refusal. */
json_t *web_server_status_json(const WebServer *s);

void web_client_set_subscribed(WebClient *c, bool subscribed);
/* The answer a client's streamed reply waited for is ready (its next() said -EAGAIN before): makes and writes
 * it now. The client may be dropped by this (a write that fails): its stream's free() runs then. */
void web_client_wake(WebClient *c);

/* The event stream: a client subscribes with its filter (copied; NULL: unsubscribed); an event goes to each
 * subscribed client whose filter it matches, behind whatever was queued to it before (so a backlog answered
 * with the subscription comes first). Slow clients are dropped by the same rules as for samples. */
void web_client_set_events(WebClient *c, const EventFilter *filter);
void web_server_broadcast_event(WebServer *s, const EventRecord *record, const char *text, size_t size);
size_t web_server_event_subscribers(const WebServer *s);
