/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "macro.h"
#include "ws-client.h"

static bool client_streaming(const WsClient *c) {
        return c->stream.next != NULL;
}

static void client_stream_end(WsClient *c) {
        if (c->stream.free)
                c->stream.free(c->stream.state);
        c->stream = (WebStream) { 0 };
        c->stream_started = false;
        c->stream_waiting = false;
}

static size_t client_unsent(const WsClient *c) {
        return c->out.size - c->out_done;
}

void ws_client_init(WsClient *c, const WsClientHandlers *handlers, usec_t now) {
        assert(c);
        assert(handlers);
        assert(handlers->message);

        *c = (WsClient) { .handlers = *handlers, .progress_usec = now, .heard_usec = now };
        ws_decoder_init(&c->decoder, WS_MESSAGE_MAX);
}

void ws_client_done(WsClient *c) {
        assert(c);

        ws_decoder_done(&c->decoder);
        client_stream_end(c);
        buf_done(&c->out);
        c->out_done = 0;
        buf_done(&c->pending);
        buf_done(&c->fragment);
        free(c->inbox);
        c->inbox = NULL;
        c->inbox_size = 0;
}

size_t ws_client_read_max(const WsClient *c) {
        assert(c);

        if (!client_streaming(c))
                return SIZE_MAX;
        return WEB_INBOX_MAX - MIN(c->inbox_size, (size_t) WEB_INBOX_MAX);
}

bool ws_client_wants_write(const WsClient *c) {
        assert(c);

        /* While a stream goes, the socket being writable is what makes the next fragment (unless the stream
         * waits for its answer: then ws_client_wake() is). */
        return (client_streaming(c) && !c->stream_waiting) || client_unsent(c) > 0;
}

/* Appends to one of the client's queues. A client that lets more than WEB_SEND_QUEUE_MAX pile up is too
 * slow: -ENOBUFS. */
static int client_queue_iov(WsClient *c, Buf *q, const struct iovec *iov, size_t n_iov) {
        size_t size = 0;
        int r;

        for (size_t i = 0; i < n_iov; i++)
                size += iov[i].iov_len;
        if (client_unsent(c) + c->pending.size + size > WEB_SEND_QUEUE_MAX)
                return -ENOBUFS;
        if (q == &c->out && c->out_done > 0) {
                memmove(c->out.data, c->out.data + c->out_done, client_unsent(c));
                c->out.size -= c->out_done;
                c->out_done = 0;
        }
        r = buf_reserve(q, size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_iov; i++)
                buf_put_unchecked(q, iov[i].iov_base, iov[i].iov_len);
        return 0;
}

/* Where a whole message goes: behind a streamed one, if any (its fragments are one message). Control
 * frames may go between fragments (RFC 6455 5.4). */
static Buf *client_message_queue(WsClient *c) {
        return client_streaming(c) ? &c->pending : &c->out;
}

static int client_send_frame(WsClient *c, Buf *q, WsOpcode op, bool fin, const void *payload, size_t size) {
        uint8_t header[WS_HEADER_MAX];
        struct iovec iov[2] = {
                { .iov_base = header, .iov_len = ws_frame_header(op, fin, size, header) },
                { .iov_base = (void *) payload, .iov_len = size },
        };

        if (c->closing)
                return 0;
        return client_queue_iov(c, q, iov, 2);
}

static int client_send(WsClient *c, WsOpcode op, const void *payload, size_t size) {
        return client_send_frame(c, op == WS_OP_TEXT ? client_message_queue(c) : &c->out, op, /* fin= */ true,
                                 payload, size);
}

/* Queues a close frame; whatever is queued ahead of it still goes. Once it is written the client is done. */
static int client_close(WsClient *c, uint16_t code, const char *reason) {
        _cleanup_(freep) uint8_t *frame = NULL;
        size_t frame_size;
        int r;

        client_stream_end(c);
        r = ws_frame_encode_close(code, reason, &frame, &frame_size);
        if (r >= 0) {
                struct iovec iov = { .iov_base = frame, .iov_len = frame_size };
                r = client_queue_iov(c, &c->out, &iov, 1);
        }
        c->closing = true;
        return r;
}

static int client_answer(WsClient *c, const WsEvent *e) {
        WebReply reply = { 0 };
        int r;

        if (e->opcode != WS_OP_TEXT) {
                static const char answer[] = "{\"error\":\"binary messages are not supported\"}";
                return client_send(c, WS_OP_TEXT, answer, sizeof(answer) - 1);
        }
        c->handlers.message(c->handlers.userdata, (const char *) e->payload, e->size, &reply);
        if (reply.stream.next) {
                free(reply.text);
                c->stream = reply.stream;
                c->stream_started = false;
                return 0;
        }
        r = reply.text ? client_send(c, WS_OP_TEXT, reply.text, strlen(reply.text)) : 0;
        free(reply.text);
        return r;
}

/* Acts on one decoded event; returns < 0 when the client is to be dropped now. */
static int client_handle_event(WsClient *c, const WsEvent *e) {
        switch (e->type) {
        case WS_EVENT_NEED_MORE:
        case WS_EVENT_PONG:
                return 0;
        case WS_EVENT_MESSAGE:
                c->n_heard++;
                return client_answer(c, e);
        case WS_EVENT_PING:
                c->n_heard++;
                /* Into the frame queue, even while a message streams: between two of its fragments. */
                return client_send(c, WS_OP_PONG, e->payload, e->size);
        case WS_EVENT_CLOSE:
                /* Echo the peer's code, as RFC 6455 asks; 1005 means "none given". */
                return client_close(c, e->close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : e->close_code,
                                    NULL) < 0 ? -EIO : 0;
        case WS_EVENT_ERROR:
                if (c->handlers.protocol_error)
                        c->handlers.protocol_error(c->handlers.userdata, e->reason, e->close_code);
                return client_close(c, e->close_code, e->reason) < 0 ? -EIO : 0;
        }
        return 0;
}

/* Decodes up to one event from data and acts on it; adds the bytes read to *done. */
static int client_decode_one(WsClient *c, const uint8_t *data, size_t size, size_t *done) {
        WsEvent e;
        size_t used = 0;
        int r;

        r = ws_decoder_feed(&c->decoder, data, size, &used, &e);
        if (r < 0)
                return r;
        *done += used;
        return client_handle_event(c, &e);
}

/* While a message streams, input waits in the inbox (at most WEB_INBOX_MAX: then the socket is not
 * read). Control frames at its head are handled at once — a ping gets its pong, a close ends the
 * stream — and everything from the first data frame on waits for the stream's end. */
static int client_inbox_add(WsClient *c, const uint8_t *data, size_t size) {
        size_t done = 0;
        uint8_t *p;

        if (size > WEB_INBOX_MAX - MIN(c->inbox_size, (size_t) WEB_INBOX_MAX))
                return -ENOBUFS;
        p = realloc(c->inbox, c->inbox_size + size);
        if (!p)
                return -ENOMEM;
        memcpy(p + c->inbox_size, data, size);
        c->inbox = p;
        c->inbox_size += size;

        while (client_streaming(c) && !c->closing && done < c->inbox_size &&
               ws_decoder_next_is_control(&c->decoder, c->inbox + done, c->inbox_size - done)) {
                int r = client_decode_one(c, c->inbox + done, c->inbox_size - done, &done);
                if (r < 0)
                        return r;
        }
        memmove(c->inbox, c->inbox + done, c->inbox_size - done);
        c->inbox_size -= done;
        return 0;
}

/* Input behind a request whose answer is streamed waits in the inbox. */
int ws_client_feed(WsClient *c, const uint8_t *data, size_t size) {
        size_t done = 0;

        assert(c);
        assert(data || size == 0);

        while (done < size && !c->closing) {
                int r;

                if (client_streaming(c))
                        return client_inbox_add(c, data + done, size - done);
                r = client_decode_one(c, data + done, size - done, &done);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The stream's message is out: what waited behind it follows. */
static int client_stream_done(WsClient *c) {
        _cleanup_(freep) uint8_t *in = TAKE_PTR(c->inbox);
        size_t in_size = c->inbox_size;
        struct iovec iov = { .iov_base = c->pending.data, .iov_len = c->pending.size };
        int r;

        client_stream_end(c);
        c->inbox_size = 0;
        c->pending.size = 0; /* moved, not counted twice against the limit; the bytes stay until reused */
        r = iov.iov_len > 0 ? client_queue_iov(c, &c->out, &iov, 1) : 0;
        if (c->pending.alloc > WEB_QUEUE_KEEP)
                buf_done(&c->pending);
        if (r >= 0 && in)
                r = ws_client_feed(c, in, in_size);
        return r;
}

int ws_client_pump(WsClient *c) {
        int more, r;

        assert(c);

        if (!client_streaming(c) || c->stream_waiting || c->closing || client_unsent(c) >= WEB_STREAM_LOW_WATER) {
                /* A big fragment buffer is not kept for an idle client. */
                if (!client_streaming(c) && c->fragment.alloc > 0)
                        buf_done(&c->fragment);
                return 0;
        }
        c->fragment.size = 0;
        more = c->stream.next(c->stream.state, &c->fragment, WEB_STREAM_FRAGMENT);
        if (more == -EAGAIN && c->fragment.size == 0) {
                c->stream_waiting = true;
                return 0;
        }
        if (more < 0) {
                if (c->handlers.stream_error)
                        c->handlers.stream_error(c->handlers.userdata, more);
                return client_close(c, WS_CLOSE_INTERNAL_ERROR, "internal error") < 0 ? -EIO : 1;
        }
        r = client_send_frame(c, &c->out, c->stream_started ? WS_OP_CONTINUATION : WS_OP_TEXT, more == 0,
                              c->fragment.data, c->fragment.size);
        if (r < 0)
                return r;
        c->stream_started = true;
        if (more == 0) {
                r = client_stream_done(c);
                if (r < 0)
                        return r;
        }
        if (!client_streaming(c))
                buf_done(&c->fragment);
        return 1;
}

void ws_client_wake(WsClient *c) {
        assert(c);

        c->stream_waiting = false;
}

void ws_client_output(const WsClient *c, const uint8_t **ret_data, size_t *ret_size) {
        assert(c);
        assert(ret_data);
        assert(ret_size);

        *ret_data = c->out.data ? c->out.data + c->out_done : NULL;
        *ret_size = client_unsent(c);
}

int ws_client_sent(WsClient *c, size_t n, usec_t now) {
        assert(c);
        assert(n <= client_unsent(c));

        c->out_done += n;
        if (n > 0)
                c->progress_usec = now;
        if (c->out_done == c->out.size) {
                c->out_done = c->out.size = 0;
                if (c->out.alloc > WEB_QUEUE_KEEP)
                        buf_done(&c->out); /* a burst's megabytes are not kept per idle client */
                if (c->closing)
                        return -ECONNRESET; /* our close frame is out: done */
        }
        return 0;
}

static int client_push(WsClient *c, bool wanted, const uint8_t *header, size_t header_size, const void *payload,
                       size_t size) {
        struct iovec iov[2] = {
                { .iov_base = (void *) header, .iov_len = header_size },
                { .iov_base = (void *) payload, .iov_len = size },
        };
        int r;

        assert(c);
        assert(header);
        assert(payload || size == 0);

        if (!wanted || c->closing)
                return 0;
        r = client_queue_iov(c, client_message_queue(c), iov, 2);
        return r < 0 ? r : 1;
}

int ws_client_push(WsClient *c, const uint8_t *header, size_t header_size, const void *payload, size_t size) {
        assert(c);
        return client_push(c, c->subscribed, header, header_size, payload, size);
}

int ws_client_push_event(WsClient *c, const uint8_t *header, size_t header_size, const void *payload, size_t size) {
        assert(c);
        return client_push(c, c->events, header, header_size, payload, size);
}

void ws_client_set_events(WsClient *c, bool events) {
        assert(c);
        c->events = events;
}

void ws_client_set_subscribed(WsClient *c, bool subscribed) {
        assert(c);
        c->subscribed = subscribed;
}

bool ws_client_stalled(WsClient *c, usec_t now, usec_t stall_usec, size_t kernel_unsent) {
        assert(c);

        /* What the kernel still holds counts too: a whole answer can sit in a socket buffer of megabytes. */
        if (kernel_unsent < c->kernel_unsent)
                c->progress_usec = now;
        c->kernel_unsent = kernel_unsent;
        /* a stream waiting for its answer waits for us, not for the client */
        if (client_unsent(c) == 0 && (!client_streaming(c) || c->stream_waiting) && kernel_unsent == 0) {
                c->progress_usec = now;
                return false;
        }
        return now > c->progress_usec + stall_usec;
}

size_t ws_client_queued(const WsClient *c) {
        assert(c);

        return client_unsent(c) + c->pending.size;
}

size_t ws_client_held(const WsClient *c) {
        assert(c);

        return c->out.alloc + c->pending.alloc + c->fragment.alloc;
}

bool ws_client_slower(const WsClient *a, const WsClient *b) {
        size_t qa, qb;

        assert(a);
        assert(b);

        qa = ws_client_queued(a);
        qb = ws_client_queued(b);
        if (qa != qb)
                return qa > qb;
        return a->progress_usec < b->progress_usec;
}

bool ws_client_idle(WsClient *c, usec_t now, usec_t idle_usec) {
        assert(c);

        if (c->subscribed || c->events || c->n_heard != c->heard_seen || ws_client_wants_write(c) ||
            client_streaming(c)) {
                c->heard_seen = c->n_heard;
                c->heard_usec = now;
                return false;
        }
        return now > c->heard_usec + idle_usec;
}

int ws_client_goodbye(WsClient *c, uint16_t code, const char *reason) {
        int r;

        assert(c);

        if (c->closing || client_unsent(c) > 0) /* a control frame may go between fragments */
                return 0;
        r = client_close(c, code, reason);
        return r < 0 ? r : 1;
}
