/* SPDX-License-Identifier: MIT */
/* The HTTP server: libmicrohttpd in external-epoll mode (its epoll fd an sd-event source), GET /metrics,
 * GET /healthz, and websocket upgrades on "/" whose sockets become sd-event sources of their own. */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

#include "buf.h"
#include "macro.h"
#include "time-util.h"

#define WEB_CLIENTS_MAX 256
#define WEB_SEND_QUEUE_MAX (16u * 1024u * 1024u) /* a client further behind than this is dropped */
/* A client that has output waiting (in our queues, an answer streaming, or in its socket's send buffer)
 * and takes none of it for stall_usec (web_server_new(); [Web] StallTimeoutSec=) is dropped: it may never
 * read again, and it holds one of the WEB_CLIENTS_MAX places. Checked every WEB_STALL_CHECK_USEC, or a
 * quarter of a shorter stall_usec: a client goes between stall_usec and stall_usec + one check (+ ≤ 1 s)
 * after it last took something. */
#define WEB_INBOX_MAX (64u * 1024u) /* input held while an answer streams; then the socket is not read */
#define WEB_QUEUE_KEEP (64u * 1024u) /* an emptied send queue bigger than this gives its memory back */
#define WEB_STALL_CHECK_USEC (5 * USEC_PER_SEC)
/* A streamed message goes out in fragments of about this size, each made once the client has taken all
 * but WEB_STREAM_LOW_WATER bytes of what it was sent, at most WEB_STREAM_FRAGMENTS_PER_WAKEUP per loop
 * iteration so that the sampler and other clients keep their turns. */
#define WEB_STREAM_FRAGMENT (256u * 1024u)
#define WEB_STREAM_LOW_WATER (256u * 1024u)
#define WEB_STREAM_FRAGMENTS_PER_WAKEUP 4

typedef struct WebServer WebServer;
typedef struct WebClient WebClient;

/* A message made part by part, as the client takes it (RFC 6455 fragments). */
typedef struct WebStream {
        /* Appends about want more bytes of the message to out: > 0 while more follows, 0 once the message
         * is complete, a negative errno on failure (the client is then closed with 1011). */
        int (*next)(void *state, Buf *out, size_t want);
        void (*free)(void *state);
        void *state;
} WebStream;

typedef struct WebReply {
        char *text;       /* a whole answer (malloc'd), or NULL */
        WebStream stream; /* or, when stream.next is set, an answer made part by part. Until it is sent the
                           * client's further requests wait, and pushes to it queue behind it. */
} WebReply;

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
