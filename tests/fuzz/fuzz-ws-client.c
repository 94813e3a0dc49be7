/* SPDX-License-Identifier: MIT */
/* One websocket client's state (src/web/ws-client.c) driven as the glue drives it: a script of reads of
 * arbitrary client bytes, writes of arbitrary sizes, fragments made, pushes, subscription changes and stall
 * checks at arbitrary times. Every byte written must parse as a server's frame stream (unmasked, no
 * reserved bits, control frames whole and short, a fragmented message's frames contiguous except for
 * control frames, nothing after the close frame), the queues stay within their caps, and the client is
 * done (-ECONNRESET) only once its close frame is out. Input: a byte of script, its arguments, ... */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "macro.h"
#include "ws-client.h"

typedef struct Checker {
        Buf got;              /* written bytes not yet parsed into a whole frame */
        bool in_message;      /* a TEXT frame without FIN was seen */
        bool closed;          /* the close frame went */
} Checker;

typedef struct Harness {
        WsClient client;
        Checker check;
        size_t stream_unit;   /* how long streamed answers are, per byte of request */
        unsigned streams_open;
} Harness;

typedef struct Stream {
        Harness *h;
        size_t left;
        bool fail;
} Stream;

static void check_output(Checker *k, const uint8_t *data, size_t size) {
        size_t at = 0;

        FUZZ_CHECK(!k->closed || size == 0);
        if (size == 0)
                return;
        FUZZ_CHECK(buf_put(&k->got, data, size) == 0);
        for (;;) {
                const uint8_t *p = k->got.data + at;
                size_t n = k->got.size - at, h = 2;
                uint64_t len;
                uint8_t op;
                bool fin;

                if (n < 2)
                        break;
                FUZZ_CHECK((p[0] & 0x70) == 0 && (p[1] & 0x80) == 0);
                len = p[1] & 0x7f;
                if (len == 126) {
                        if (n < 4)
                                break;
                        len = (uint64_t) p[2] << 8 | p[3];
                        FUZZ_CHECK(len > 125);
                        h = 4;
                } else if (len == 127) {
                        if (n < 10)
                                break;
                        len = 0;
                        for (int i = 0; i < 8; i++)
                                len = len << 8 | p[2 + i];
                        FUZZ_CHECK(len > 0xffff);
                        h = 10;
                }
                if (n - h < len)
                        break;
                op = p[0] & 0x0f;
                fin = p[0] & 0x80;
                FUZZ_CHECK(!k->closed);
                switch (op) {
                case WS_OP_CLOSE:
                case WS_OP_PING:
                case WS_OP_PONG:
                        FUZZ_CHECK(fin && len <= WS_CONTROL_MAX);
                        if (op == WS_OP_CLOSE) {
                                FUZZ_CHECK(len >= 2);
                                k->closed = true;
                        }
                        break;
                case WS_OP_TEXT:
                        FUZZ_CHECK(!k->in_message);
                        k->in_message = !fin;
                        break;
                case WS_OP_CONTINUATION:
                        FUZZ_CHECK(k->in_message);
                        k->in_message = !fin;
                        break;
                default:
                        FUZZ_CHECK(false);
                }
                at += h + len;
        }
        memmove(k->got.data, k->got.data + at, k->got.size - at);
        k->got.size -= at;
}

static int stream_next(void *state, Buf *out, size_t want) {
        Stream *s = state;
        size_t n = MIN(want, s->left);

        FUZZ_CHECK(want == WEB_STREAM_FRAGMENT);
        if (s->fail)
                return -EIO;
        if (buf_reserve(out, n) < 0)
                return -ENOMEM;
        memset(buf_tail(out), 'x', n);
        out->size += n;
        s->left -= n;
        return s->left > 0;
}

static void stream_free(void *state) {
        Stream *s = state;

        s->h->streams_open--;
        free(s);
}

/* The api, faked by the request's first byte: 's' streams, 'f' streams and fails, 'u'/'n' subscribe and
 * unsubscribe, 'q' gets no answer, anything else is echoed. */
static void on_message(void *userdata, const char *text, size_t size, WebReply *ret) {
        Harness *h = userdata;
        char c = size > 0 ? text[0] : 0;

        FUZZ_CHECK(size <= WS_MESSAGE_MAX);
        if (c == 's' || c == 'f') {
                Stream *s = malloc(sizeof(Stream));

                if (!s)
                        return;
                /* At most four fragments, so that an input stays fast. */
                *s = (Stream) { .h = h, .left = MIN(size * h->stream_unit, 3 * WEB_STREAM_FRAGMENT + 100),
                                .fail = c == 'f' };
                h->streams_open++;
                ret->stream = (WebStream) { .next = stream_next, .free = stream_free, .state = s };
                return;
        }
        if (c == 'u' || c == 'n')
                ws_client_set_subscribed(&h->client, c == 'u');
        if (c == 'q')
                return;
        ret->text = strndup(text, MIN(size, (size_t) 200));
        if (ret->text && !ws_utf8_valid((const uint8_t *) ret->text, strlen(ret->text))) {
                free(ret->text);
                ret->text = strdup("{}");
        }
}

static void on_protocol_error(void *userdata _unused_, const char *reason, uint16_t code) {
        FUZZ_CHECK(reason);
        FUZZ_CHECK(code == WS_CLOSE_PROTOCOL_ERROR || code == WS_CLOSE_INVALID_DATA || code == WS_CLOSE_TOO_BIG);
}

static void on_stream_error(void *userdata _unused_, int error) {
        FUZZ_CHECK(error < 0);
}

static void check_state(const WsClient *c) {
        FUZZ_CHECK(c->out.size - c->out_done + c->pending.size <= WEB_SEND_QUEUE_MAX);
        FUZZ_CHECK(ws_client_queued(c) == c->out.size - c->out_done + c->pending.size);
        FUZZ_CHECK(ws_client_held(c) >= ws_client_queued(c)); /* the budget never counts less than waits */
        FUZZ_CHECK(c->inbox_size <= WEB_INBOX_MAX);
        if (!c->stream.next) {
                FUZZ_CHECK(c->closing || c->pending.size == 0); /* a close drops what waited */
                FUZZ_CHECK(ws_client_read_max(c) == SIZE_MAX);
        }
}

/* Writes up to max bytes of the client's output; returns what ws_client_sent() returned. */
static int write_out(Harness *h, size_t max, usec_t now) {
        const uint8_t *data;
        size_t size;
        int r;

        ws_client_output(&h->client, &data, &size);
        size = MIN(size, max);
        check_output(&h->check, data, size);
        r = ws_client_sent(&h->client, size, now);
        FUZZ_CHECK(r == 0 || r == -ECONNRESET);
        if (r == -ECONNRESET)
                FUZZ_CHECK(h->check.closed && h->check.got.size == 0);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint8_t push_payload[300] = { 'p' };
        FuzzInput in = { data, size };
        Harness h = { .stream_unit = 1 + fuzz_u8(&in) * 16 };
        usec_t now = 1000;
        int r = 0;

        ws_client_init(&h.client,
                       &(WsClientHandlers) {
                               .message = on_message,
                               .protocol_error = on_protocol_error,
                               .stream_error = on_stream_error,
                               .userdata = &h,
                       },
                       now);
        while (in.n > 0 && r >= 0) {
                uint8_t op = fuzz_u8(&in);

                switch (op % 7) {
                case 0: { /* a read: up to 255 bytes, as much as the client takes */
                        size_t n = fuzz_u8(&in);

                        n = MIN(MIN(n, in.n), ws_client_read_max(&h.client));

                        r = ws_client_feed(&h.client, in.p, n);
                        in.p += n;
                        in.n -= n;
                        break;
                }
                case 1: /* a partial write */
                        r = write_out(&h, (size_t) fuzz_uint(&in, 2) << (op >> 5), now);
                        break;
                case 2:
                        r = ws_client_pump(&h.client);
                        FUZZ_CHECK(r >= 0 || r == -ENOBUFS || r == -ENOMEM || r == -EIO);
                        break;
                case 3: { /* a push */
                        size_t n = fuzz_u8(&in);
                        uint8_t header[WS_HEADER_MAX];
                        size_t header_size = ws_frame_header(WS_OP_TEXT, /* fin= */ true, n, header);

                        r = ws_client_push(&h.client, header, header_size, push_payload, n);
                        break;
                }
                case 4: { /* a stall check: only a client with something waiting can stall */
                        size_t kernel_unsent = fuzz_u8(&in) * 1000;

                        now += fuzz_uint(&in, 2) * USEC_PER_MSEC;
                        if (ws_client_stalled(&h.client, now, 30 * USEC_PER_SEC, kernel_unsent))
                                FUZZ_CHECK(ws_client_wants_write(&h.client) || kernel_unsent > 0);
                        break;
                }
                case 5:
                        ws_client_set_subscribed(&h.client, op & 0x80);
                        break;
                case 6: /* the glue's turn after a read: write all, make fragments, at most 4 */
                        for (unsigned i = 0; r >= 0; i++) {
                                r = write_out(&h, SIZE_MAX, now);
                                if (r < 0 || i == 4)
                                        break;
                                r = ws_client_pump(&h.client);
                                if (r == 0)
                                        break;
                        }
                        break;
                }
                if (r >= 0)
                        check_state(&h.client);
        }
        ws_client_done(&h.client);
        FUZZ_CHECK(ws_client_queued(&h.client) == 0 && ws_client_held(&h.client) == 0);
        FUZZ_CHECK(h.streams_open == 0);
        buf_done(&h.check.got);
        return 0;
}
