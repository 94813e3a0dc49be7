/* SPDX-License-Identifier: MIT */
/* One websocket client's state, pure: the bytes it sent in, the bytes to write to it out. Owns its queues
 * (answers, pushes, a streamed answer's fragments and the control frames between them), what waits behind
 * a streamed answer, the send limits, and the stall rule. No I/O, no clock: the glue reads and writes the
 * socket and passes the time in. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "part-stream.h"
#include "time-util.h"
#include "ws-frame.h"

#define WEB_SEND_QUEUE_MAX (16u * 1024u * 1024u) /* a client further behind than this is dropped */
#define WEB_INBOX_MAX (64u * 1024u) /* input held while an answer streams; then the socket is not read */
#define WEB_QUEUE_KEEP (64u * 1024u) /* an emptied send queue bigger than this gives its memory back */
/* A streamed message goes out in fragments of about this size, each made once the client has taken all
 * but WEB_STREAM_LOW_WATER bytes of what it was sent (at most WEB_STREAM_FRAGMENTS_PER_WAKEUP per loop
 * iteration, http-server.h). */
#define WEB_STREAM_FRAGMENT (256u * 1024u)
#define WEB_STREAM_LOW_WATER (256u * 1024u)

/* A message made part by part, as the client takes it (RFC 6455 fragments); a failing next() closes the
 * client with 1011. next() returning -EAGAIN with nothing appended is an answer that is not ready yet (a
 * deferred one, fleet_account's): nothing goes out, the client's later requests and pushes wait, and its
 * socket is not watched for writing until ws_client_wake(). */
typedef PartStream WebStream;

typedef struct WebReply {
        char *text;       /* a whole answer (malloc'd), or NULL */
        WebStream stream; /* or, when stream.next is set, an answer made part by part. Until it is sent the
                           * client's further requests wait, and pushes to it queue behind it. */
} WebReply;

typedef struct WsClientHandlers {
        /* A complete text message; sets the answer, if any. Called from ws_client_feed() and
         * ws_client_pump() (requests that waited behind a streamed answer). */
        void (*message)(void *userdata, const char *text, size_t size, WebReply *ret);
        /* For the glue's log, may be NULL: the peer broke the protocol and is being closed with code; a
         * streamed answer failed (error) and the client is being closed with 1011. */
        void (*protocol_error)(void *userdata, const char *reason, uint16_t code);
        void (*stream_error)(void *userdata, int error);
        void *userdata;
} WsClientHandlers;

/* Embedded in the connection; the fields are private. */
typedef struct WsClient {
        WsClientHandlers handlers;
        WsDecoder decoder;
        Buf out;               /* frames waiting to be written, from out_done on */
        size_t out_done;
        Buf pending;           /* whole frames that must wait until the streamed message is out */
        WebStream stream;      /* the answer being streamed, when stream.next is set */
        bool stream_started;   /* its first fragment is out */
        bool stream_waiting;   /* its next() said -EAGAIN: not ready until ws_client_wake() */
        Buf fragment;
        uint8_t *inbox;        /* input that arrived behind the request being streamed */
        size_t inbox_size;
        bool subscribed;       /* to the samples of each second */
        bool events;           /* to the event stream */
        bool closing;          /* a close frame is queued: finish once it is written */
        usec_t progress_usec;  /* last time nothing waited for it, or it took some */
        size_t kernel_unsent;  /* what its socket held at the last stall check */
        uint64_t n_heard;      /* messages and pings it sent */
        uint64_t heard_seen;   /* n_heard at the last idle check */
        usec_t heard_usec;     /* last idle check that found it subscribed, busy or heard from */
} WsClient;

/* now: CLOCK_MONOTONIC, the same clock every later `now` is on. */
void ws_client_init(WsClient *c, const WsClientHandlers *handlers, usec_t now);
void ws_client_done(WsClient *c);

/* The functions returning int return a negative errno when the client is to be dropped now: -ENOBUFS for
 * one that cannot keep up (more than WEB_SEND_QUEUE_MAX behind, or more than WEB_INBOX_MAX of input behind
 * a streamed answer), -ECONNRESET once its close is complete, others (-ENOMEM, -EIO) on failure. */

/* Handles bytes read from the socket, at most ws_client_read_max() of them: answers pings and closes,
 * hands complete messages to handlers.message and queues the answers. */
int ws_client_feed(WsClient *c, const uint8_t *data, size_t size);
/* How much input may be read now: 0 while a streamed answer's inbox is full, SIZE_MAX when unbounded. */
size_t ws_client_read_max(const WsClient *c);

/* Makes the next fragment of a streamed answer, if one is due (the client has taken all but
 * WEB_STREAM_LOW_WATER of its output). Returns > 0 when it queued something (write it, then call again),
 * 0 when nothing is due. */
int ws_client_pump(WsClient *c);
/* A streamed answer that was not ready (next() said -EAGAIN) may be: the next ws_client_pump() asks again. */
void ws_client_wake(WsClient *c);

/* The bytes to write next (ret_size 0: none), valid until the next ws_client_* call; after writing, say
 * how many went with ws_client_sent(). */
void ws_client_output(const WsClient *c, const uint8_t **ret_data, size_t *ret_size);
int ws_client_sent(WsClient *c, size_t n, usec_t now);
/* Whether the socket's writability is of interest: output is queued, or a streamed answer is not done. */
bool ws_client_wants_write(const WsClient *c);

/* A push (one TEXT frame: header and payload, encoded once for all clients) to a subscribed client that is
 * not closing; behind a streamed answer it waits, as its fragments are one message. Returns > 0 when
 * queued, 0 when the client takes no pushes. */
int ws_client_push(WsClient *c, const uint8_t *header, size_t header_size, const void *payload, size_t size);
void ws_client_set_subscribed(WsClient *c, bool subscribed);
/* The same for the event stream (`events`): a push to a client subscribed to events. */
int ws_client_push_event(WsClient *c, const uint8_t *header, size_t header_size, const void *payload, size_t size);
void ws_client_set_events(WsClient *c, bool events);

/* The stall rule: a client that has output waiting (in its queues, an answer streaming, or kernel_unsent
 * bytes in its socket's send buffer) and takes none of it for more than stall_usec is to be dropped: it
 * may never read again. kernel_unsent shrinking since the last check is the client taking some. */
bool ws_client_stalled(WsClient *c, usec_t now, usec_t stall_usec, size_t kernel_unsent);

/* Bytes of output waiting in the client's queues: answers and pushes, a streamed answer's fragment (not
 * what its socket holds, which is the kernel's memory and bounded per socket by net.ipv4.tcp_wmem). */
size_t ws_client_queued(const WsClient *c);
/* The memory its output queues hold (their allocations: what waits, what was sent since they were last
 * compacted, room to grow): what the server's output budget sums up, as it is what RSS sees. */
size_t ws_client_held(const WsClient *c);
/* Which of two clients the output budget drops first: a is slower than b when more of its output waits, or
 * as much and it took some (or had nothing waiting) less recently. */
bool ws_client_slower(const WsClient *a, const WsClient *b);

/* The idle rule: a client that is not subscribed (to samples or events), has nothing waiting for it and sent no message or ping
 * for more than idle_usec is to be dropped: it holds one of the places and asks for nothing. A message or
 * ping counts from the first check that sees it. */
bool ws_client_idle(WsClient *c, usec_t now, usec_t idle_usec);

/* A goodbye before the glue drops the client: queues a close frame with code and reason when it can go
 * out whole and next (nothing else is queued, no close was sent; a streamed answer is cut short). Returns 1
 * when queued (write it once, as far as the socket takes it), 0 when not, < 0 on failure. */
int ws_client_goodbye(WsClient *c, uint16_t code, const char *reason);
