/* SPDX-License-Identifier: MIT */
/* The websocket client's state (src/web/ws-client.c), byte in / byte out: client frames are fed as a
 * socket would deliver them, and the server's output is parsed back into frames. Time is given. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "macro.h"
#include "tests.h"
#include "ws-client.h"

#define FIN 0x80
#define RSV1 0x40
#define MIB (1024u * 1024u)
#define STALL_USEC (30 * USEC_PER_SEC)

static const uint8_t mask_key[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* ---- client frames in ---- */

static void frame_add(Buf *b, uint8_t b0, const void *payload, size_t size, bool masked) {
        uint8_t head[14];
        size_t h = 0;

        head[h++] = b0;
        if (size <= 125)
                head[h++] = (masked ? 0x80 : 0) | (uint8_t) size;
        else if (size <= 0xffff) {
                head[h++] = (masked ? 0x80 : 0) | 126;
                head[h++] = (uint8_t) (size >> 8);
                head[h++] = (uint8_t) size;
        } else {
                head[h++] = (masked ? 0x80 : 0) | 127;
                for (int i = 7; i >= 0; i--)
                        head[h++] = (uint8_t) ((uint64_t) size >> (8 * i));
        }
        if (masked) {
                memcpy(head + h, mask_key, 4);
                h += 4;
        }
        ASSERT_EQ_INT(buf_put(b, head, h), 0);
        ASSERT_EQ_INT(buf_reserve(b, size), 0);
        for (size_t i = 0; i < size; i++)
                b->data[b->size + i] = ((const uint8_t *) payload)[i] ^ (masked ? mask_key[i % 4] : 0);
        b->size += size;
}

static void feed_frame(WsClient *c, uint8_t b0, const void *payload, size_t size, int expect) {
        Buf b = { 0 };

        frame_add(&b, b0, payload, size, /* masked= */ true);
        ASSERT_EQ_INT(ws_client_feed(c, b.data, b.size), expect);
        buf_done(&b);
}

static void feed_text(WsClient *c, const char *text) {
        feed_frame(c, FIN | WS_OP_TEXT, text, strlen(text), 0);
}

/* ---- server frames out ---- */

typedef struct Frame {
        uint8_t opcode;
        bool fin;
        const uint8_t *payload;
        size_t size;
} Frame;

/* What the client was sent, as the glue writes it: all of the output, or at most max bytes. */
typedef struct Out {
        Buf bytes;
        size_t read;
} Out;

static size_t take(WsClient *c, Out *o, size_t max, usec_t now, int expect) {
        const uint8_t *data;
        size_t size;

        ws_client_output(c, &data, &size);
        size = MIN(size, max);
        ASSERT_EQ_INT(buf_put(&o->bytes, data, size), 0);
        ASSERT_EQ_INT(ws_client_sent(c, size, now), expect);
        return size;
}

static size_t take_all(WsClient *c, Out *o) {
        return take(c, o, SIZE_MAX, 0, 0);
}

static size_t unsent(const WsClient *c) {
        const uint8_t *data;
        size_t size;

        ws_client_output(c, &data, &size);
        return size;
}

/* The next whole frame the client got; false when none is complete. Server frames are never masked. */
static bool next_frame(Out *o, Frame *f) {
        const uint8_t *p = o->bytes.data + o->read;
        size_t n = o->bytes.size - o->read, h = 2;
        uint64_t size;

        if (n < 2)
                return false;
        ASSERT_EQ_INT(p[0] & 0x70, 0);
        ASSERT_EQ_INT(p[1] & 0x80, 0);
        size = p[1] & 0x7f;
        if (size == 126) {
                ASSERT_TRUE(n >= 4);
                size = (uint64_t) p[2] << 8 | p[3];
                h = 4;
        } else if (size == 127) {
                ASSERT_TRUE(n >= 10);
                size = 0;
                for (int i = 0; i < 8; i++)
                        size = size << 8 | p[2 + i];
                h = 10;
        }
        if (n - h < size)
                return false;
        *f = (Frame) { .opcode = p[0] & 0x0f, .fin = p[0] & 0x80, .payload = p + h, .size = size };
        o->read += h + size;
        return true;
}

static void expect_frame(Out *o, uint8_t opcode, bool fin, const char *payload) {
        Frame f;

        ASSERT_TRUE(next_frame(o, &f));
        ASSERT_EQ_INT(f.opcode, opcode);
        ASSERT_EQ_INT(f.fin, fin);
        if (payload) {
                ASSERT_EQ_INT(f.size, strlen(payload));
                ASSERT_TRUE(memcmp(f.payload, payload, f.size) == 0);
        }
}

static void expect_close(Out *o, uint16_t code, const char *reason) {
        Frame f;

        ASSERT_TRUE(next_frame(o, &f));
        ASSERT_EQ_INT(f.opcode, WS_OP_CLOSE);
        ASSERT_TRUE(f.fin);
        ASSERT_TRUE(f.size >= 2);
        ASSERT_EQ_INT(f.payload[0] << 8 | f.payload[1], code);
        if (reason) {
                ASSERT_EQ_INT(f.size - 2, strlen(reason));
                ASSERT_TRUE(memcmp(f.payload + 2, reason, f.size - 2) == 0);
        }
}

/* A streamed message of this many 'x' bytes, its fragments in order. */
static void expect_stream_fragment(Out *o, bool first, bool fin, size_t size) {
        Frame f;

        ASSERT_TRUE(next_frame(o, &f));
        ASSERT_EQ_INT(f.opcode, first ? WS_OP_TEXT : WS_OP_CONTINUATION);
        ASSERT_EQ_INT(f.fin, fin);
        ASSERT_EQ_INT(f.size, size);
        for (size_t i = 0; i < size; i++)
                ASSERT_TRUE(f.payload[i] == 'x');
}

static void expect_nothing_more(Out *o) {
        ASSERT_EQ_INT(o->bytes.size - o->read, 0);
}

/* ---- the api, faked ---- */

typedef struct Fake {
        WsClient *client;
        char messages[32][128];
        size_t n_messages;
        size_t stream_size;   /* "stream" is answered with a stream of this many bytes */
        unsigned stream_fail; /* its next() fails on this call (0: never) */
        bool later_ready;     /* "later" is answered with a stream that is not ready until this is set */
        unsigned streams_freed;
        unsigned n_protocol_errors;
        uint16_t protocol_error_code;
        int stream_error;
} Fake;

typedef struct FakeStream {
        Fake *fake;
        size_t left;
        unsigned calls;
} FakeStream;

static int fake_stream_next(void *state, Buf *out, size_t want) {
        FakeStream *s = state;
        size_t n = MIN(want, s->left);

        if (s->fake->stream_fail && ++s->calls >= s->fake->stream_fail)
                return -EIO;
        ASSERT_EQ_INT(buf_reserve(out, n), 0);
        memset(buf_tail(out), 'x', n);
        out->size += n;
        s->left -= n;
        return s->left > 0;
}

/* A deferred answer (fleet_account's): -EAGAIN until the fake says it is ready, then "done". */
static int later_stream_next(void *state, Buf *out, size_t want _unused_) {
        FakeStream *s = state;

        s->calls++;
        if (!s->fake->later_ready)
                return -EAGAIN;
        ASSERT_EQ_INT(buf_put(out, "done", 4), 0);
        return 0;
}

static void fake_stream_free(void *state) {
        FakeStream *s = state;

        s->fake->streams_freed++;
        free(s);
}

static void on_message(void *userdata, const char *text, size_t size, WebReply *ret) {
        Fake *f = userdata;
        char *answer;

        ASSERT_TRUE(f->n_messages < ELEMENTSOF(f->messages));
        ASSERT_TRUE(size < sizeof(f->messages[0]));
        memcpy(f->messages[f->n_messages], text, size);
        f->messages[f->n_messages++][size] = 0;

        if (size == 6 && memcmp(text, "stream", 6) == 0) {
                FakeStream *s = calloc(1, sizeof(FakeStream));

                ASSERT_TRUE(s);
                *s = (FakeStream) { .fake = f, .left = f->stream_size };
                ret->stream = (WebStream) { .next = fake_stream_next, .free = fake_stream_free, .state = s };
                return;
        }
        if (size == 5 && memcmp(text, "later", 5) == 0) {
                FakeStream *s = calloc(1, sizeof(FakeStream));

                ASSERT_TRUE(s);
                *s = (FakeStream) { .fake = f };
                ret->stream = (WebStream) { .next = later_stream_next, .free = fake_stream_free, .state = s };
                return;
        }
        if (size == 9 && memcmp(text, "subscribe", 9) == 0)
                ws_client_set_subscribed(f->client, true);
        if (size == 5 && memcmp(text, "quiet", 5) == 0)
                return; /* no answer */
        ASSERT_TRUE(asprintf(&answer, "re:%.*s", (int) size, text) > 0);
        ret->text = answer;
}

static void on_protocol_error(void *userdata, const char *reason, uint16_t code) {
        Fake *f = userdata;

        ASSERT_TRUE(reason);
        f->n_protocol_errors++;
        f->protocol_error_code = code;
}

static void on_stream_error(void *userdata, int error) {
        Fake *f = userdata;

        f->stream_error = error;
}

/* A client, the api it talks to, and what it was sent. */
typedef struct Test {
        WsClient c;
        Fake f;
        Out o;
} Test;

/* A new client on t (what it was sent so far is kept). */
static void setup(Test *t, usec_t now) {
        t->f = (Fake) { .client = &t->c, .stream_size = 3 * WEB_STREAM_FRAGMENT - 1000 };
        ws_client_init(&t->c,
                       &(WsClientHandlers) {
                               .message = on_message,
                               .protocol_error = on_protocol_error,
                               .stream_error = on_stream_error,
                               .userdata = &t->f,
                       },
                       now);
}

static void teardown(Test *t) {
        ws_client_done(&t->c);
        buf_done(&t->o.bytes);
}

/* ---- tests ---- */

TEST(test_text_message_answered) {
        Test t = { 0 };

        setup(&t, 0);
        ASSERT_EQ_INT(ws_client_read_max(&t.c), SIZE_MAX);
        ASSERT_TRUE(!ws_client_wants_write(&t.c));
        feed_text(&t.c, "{\"cmd\":\"status\"}");
        ASSERT_EQ_INT(t.f.n_messages, 1);
        ASSERT_STREQ(t.f.messages[0], "{\"cmd\":\"status\"}");
        ASSERT_TRUE(ws_client_wants_write(&t.c));
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_TEXT, true, "re:{\"cmd\":\"status\"}");
        expect_nothing_more(&t.o);
        ASSERT_TRUE(!ws_client_wants_write(&t.c));

        /* Two requests in one read, the second cut in the middle: answered in order, once complete. */
        {
                Buf b = { 0 };

                frame_add(&b, FIN | WS_OP_TEXT, "one", 3, true);
                frame_add(&b, FIN | WS_OP_TEXT, "two", 3, true);
                ASSERT_EQ_INT(ws_client_feed(&t.c, b.data, b.size - 2), 0);
                ASSERT_EQ_INT(t.f.n_messages, 2);
                ASSERT_EQ_INT(ws_client_feed(&t.c, b.data + b.size - 2, 2), 0);
                ASSERT_EQ_INT(t.f.n_messages, 3);
                buf_done(&b);
        }
        /* A partial write leaves the rest, and the rest follows. */
        ASSERT_EQ_INT(take(&t.c, &t.o, 3, 0, 0), 3);
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_TEXT, true, "re:one");
        expect_frame(&t.o, WS_OP_TEXT, true, "re:two");
        expect_nothing_more(&t.o);

        /* No answer, no output; a binary message gets the error answer without reaching the api. */
        feed_text(&t.c, "quiet");
        ASSERT_EQ_INT(unsent(&t.c), 0);
        feed_frame(&t.c, FIN | WS_OP_BINARY, "\x01\x02", 2, 0);
        ASSERT_EQ_INT(t.f.n_messages, 4);
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_TEXT, true, "{\"error\":\"binary messages are not supported\"}");
        expect_nothing_more(&t.o);

        teardown(&t);
}

TEST(test_ping_pong_and_close) {
        Test t = { 0 };

        setup(&t, 0);
        feed_frame(&t.c, FIN | WS_OP_PING, "hb", 2, 0);
        feed_frame(&t.c, FIN | WS_OP_PONG, "ignored", 7, 0);
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_PONG, true, "hb");
        expect_nothing_more(&t.o);

        /* Close: echoed, then done once the close frame is written; nothing read after it. */
        feed_frame(&t.c, FIN | WS_OP_CLOSE, "\x0f\xa0" "bye", 5, 0); /* 4000 */
        feed_text(&t.c, "after");
        ASSERT_EQ_INT(t.f.n_messages, 0);
        ASSERT_EQ_INT(take(&t.c, &t.o, 2, 0, 0), 2);
        take(&t.c, &t.o, SIZE_MAX, 0, -ECONNRESET);
        expect_close(&t.o, 4000, "");
        expect_nothing_more(&t.o);
        /* No pushes to a closing client. */
        ws_client_set_subscribed(&t.c, true);
        ASSERT_EQ_INT(ws_client_push(&t.c, (const uint8_t *) "\x81\x01", 2, "p", 1), 0);
        ws_client_done(&t.c);

        /* A close without a code is answered with 1000. */
        setup(&t, 0);
        feed_frame(&t.c, FIN | WS_OP_CLOSE, "", 0, 0);
        take(&t.c, &t.o, SIZE_MAX, 0, -ECONNRESET);
        expect_close(&t.o, WS_CLOSE_NORMAL, "");
        ws_client_done(&t.c);

        /* What was queued before the close still goes first. */
        setup(&t, 0);
        feed_text(&t.c, "a");
        feed_frame(&t.c, FIN | WS_OP_CLOSE, "\x03\xe8", 2, 0);
        take(&t.c, &t.o, SIZE_MAX, 0, -ECONNRESET);
        expect_frame(&t.o, WS_OP_TEXT, true, "re:a");
        expect_close(&t.o, WS_CLOSE_NORMAL, "");
        expect_nothing_more(&t.o);
        teardown(&t);
}

TEST(test_fragmented_input) {
        Test t = { 0 };
        uint8_t *big = malloc(MIB);

        ASSERT_TRUE(big);
        memset(big, 'a', MIB);
        setup(&t, 0);
        feed_frame(&t.c, WS_OP_TEXT, "{\"cmd\":", 7, 0);
        feed_frame(&t.c, FIN | WS_OP_PING, "p", 1, 0); /* a control frame between fragments */
        feed_frame(&t.c, WS_OP_CONTINUATION, "\"st", 3, 0);
        ASSERT_EQ_INT(t.f.n_messages, 0);
        feed_frame(&t.c, FIN | WS_OP_CONTINUATION, "atus\"}", 6, 0);
        ASSERT_EQ_INT(t.f.n_messages, 1);
        ASSERT_STREQ(t.f.messages[0], "{\"cmd\":\"status\"}");
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_PONG, true, "p");
        expect_frame(&t.o, WS_OP_TEXT, true, "re:{\"cmd\":\"status\"}");
        expect_nothing_more(&t.o);

        /* A message over WS_MESSAGE_MAX (one byte more than test_message_max's) is refused with 1009 before
         * it is buffered. */
        ws_client_done(&t.c);
        setup(&t, 0);
        feed_frame(&t.c, WS_OP_TEXT, "x", 1, 0);
        feed_frame(&t.c, FIN | WS_OP_CONTINUATION, big, MIB, 0);
        ASSERT_EQ_INT(t.f.n_messages, 0);
        ASSERT_EQ_INT(t.f.n_protocol_errors, 1);
        ASSERT_EQ_INT(t.f.protocol_error_code, WS_CLOSE_TOO_BIG);
        take(&t.c, &t.o, SIZE_MAX, 0, -ECONNRESET);
        expect_close(&t.o, WS_CLOSE_TOO_BIG, NULL);
        expect_nothing_more(&t.o);
        ws_client_done(&t.c);
        free(big);
        buf_done(&t.o.bytes);
}

/* A message of exactly WS_MESSAGE_MAX reaches the api (checked by size, the fake only records short ones). */
static size_t big_size;

static void on_message_size(void *userdata, const char *text _unused_, size_t size, WebReply *ret _unused_) {
        (*(unsigned *) userdata)++;
        big_size = size;
}

TEST(test_message_max) {
        WsClient c;
        unsigned n = 0;
        uint8_t *big = calloc(1, WS_MESSAGE_MAX);

        ASSERT_TRUE(big);
        ws_client_init(&c, &(WsClientHandlers) { .message = on_message_size, .userdata = &n }, 0);
        feed_frame(&c, WS_OP_TEXT, big, WS_MESSAGE_MAX / 2, 0);
        feed_frame(&c, FIN | WS_OP_CONTINUATION, big, WS_MESSAGE_MAX / 2, 0);
        ASSERT_EQ_INT(n, 1);
        ASSERT_EQ_INT(big_size, WS_MESSAGE_MAX);
        ASSERT_EQ_INT(unsent(&c), 0);
        ws_client_done(&c);
        free(big);
}

TEST(test_bad_frames) {
        static const struct {
                uint8_t b0;
                bool masked;
                const char *payload;
                size_t size;
                uint16_t code;
        } cases[] = {
                { FIN | WS_OP_TEXT, false, "hi", 2, WS_CLOSE_PROTOCOL_ERROR },          /* unmasked */
                { FIN | RSV1 | WS_OP_TEXT, true, "hi", 2, WS_CLOSE_PROTOCOL_ERROR },    /* reserved bit */
                { FIN | 0x3, true, "hi", 2, WS_CLOSE_PROTOCOL_ERROR },                  /* reserved opcode */
                { WS_OP_PING, true, "hi", 2, WS_CLOSE_PROTOCOL_ERROR },                 /* fragmented control */
                { FIN | WS_OP_CONTINUATION, true, "hi", 2, WS_CLOSE_PROTOCOL_ERROR },   /* nothing to continue */
                { FIN | WS_OP_TEXT, true, "\xc3\x28", 2, WS_CLOSE_INVALID_DATA },       /* not UTF-8 */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Test t = { 0 };
                Buf b = { 0 };

                setup(&t, 0);
                frame_add(&b, cases[i].b0, cases[i].payload, cases[i].size, cases[i].masked);
                frame_add(&b, FIN | WS_OP_TEXT, "later", 5, true);
                ASSERT_EQ_INT(ws_client_feed(&t.c, b.data, b.size), 0);
                ASSERT_EQ_INT(t.f.n_messages, 0);
                ASSERT_EQ_INT(t.f.n_protocol_errors, 1);
                ASSERT_EQ_INT(t.f.protocol_error_code, cases[i].code);
                take(&t.c, &t.o, SIZE_MAX, 0, -ECONNRESET);
                expect_close(&t.o, cases[i].code, NULL);
                expect_nothing_more(&t.o);
                teardown(&t);
                buf_done(&b);
        }

        /* A declared length over the cap: 1009 on the header alone. */
        {
                Test t = { 0 };
                static const uint8_t head[] = { FIN | WS_OP_TEXT, 0x80 | 127, 0, 0, 0, 0, 0, 0x20, 0, 0,
                                                0x37, 0xfa, 0x21, 0x3d };

                setup(&t, 0);
                ASSERT_EQ_INT(ws_client_feed(&t.c, head, sizeof(head)), 0);
                ASSERT_EQ_INT(t.f.protocol_error_code, WS_CLOSE_TOO_BIG);
                take(&t.c, &t.o, SIZE_MAX, 0, -ECONNRESET);
                expect_close(&t.o, WS_CLOSE_TOO_BIG, NULL);
                teardown(&t);
        }
}

/* Streams the answer to the last request by pumping and writing everything, as an idle socket would take. */
static unsigned pump_all(WsClient *c, Out *o) {
        unsigned n = 0;

        while (ws_client_pump(c) > 0) {
                take_all(c, o);
                n++;
        }
        take_all(c, o);
        return n;
}

TEST(test_streamed_answer) {
        Test t = { 0 };
        static const uint8_t push_header[] = { FIN | WS_OP_TEXT, 4 };
        size_t total;

        setup(&t, 0);
        total = t.f.stream_size;
        feed_text(&t.c, "subscribe");
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_TEXT, true, "re:subscribe");

        feed_text(&t.c, "stream");
        ASSERT_EQ_INT(unsent(&t.c), 0);
        ASSERT_TRUE(ws_client_wants_write(&t.c)); /* writable socket: the next fragment */
        ASSERT_EQ_INT(ws_client_read_max(&t.c), WEB_INBOX_MAX);

        ASSERT_EQ_INT(ws_client_pump(&t.c), 1);
        /* The fragment is due only once the client took all but the low water mark. */
        ASSERT_EQ_INT(ws_client_pump(&t.c), 0);
        take_all(&t.c, &t.o);
        expect_stream_fragment(&t.o, true, false, WEB_STREAM_FRAGMENT);

        /* A push waits behind the streamed message; a ping, a request behind it, and a ping behind that. */
        ASSERT_EQ_INT(ws_client_push(&t.c, push_header, sizeof(push_header), "tick", 4), 1);
        feed_frame(&t.c, FIN | WS_OP_PING, "p1", 2, 0);
        feed_text(&t.c, "next");
        feed_frame(&t.c, FIN | WS_OP_PING, "p2", 2, 0);
        ASSERT_EQ_INT(t.f.n_messages, 2);
        ASSERT_EQ_INT(ws_client_read_max(&t.c), WEB_INBOX_MAX - (2 + 4 + 4) - (2 + 4 + 2));
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_PONG, true, "p1"); /* between two fragments */
        expect_nothing_more(&t.o);

        ASSERT_EQ_INT(pump_all(&t.c, &t.o), 2);
        expect_stream_fragment(&t.o, false, false, WEB_STREAM_FRAGMENT);
        expect_stream_fragment(&t.o, false, true, total - 2 * WEB_STREAM_FRAGMENT);
        /* Then, in order: the push, the waiting request's answer, the pong behind it. */
        expect_frame(&t.o, WS_OP_TEXT, true, "tick");
        expect_frame(&t.o, WS_OP_TEXT, true, "re:next");
        expect_frame(&t.o, WS_OP_PONG, true, "p2");
        expect_nothing_more(&t.o);
        ASSERT_EQ_INT(t.f.n_messages, 3);
        ASSERT_EQ_INT(t.f.streams_freed, 1);
        ASSERT_TRUE(!ws_client_wants_write(&t.c));
        ASSERT_EQ_INT(ws_client_read_max(&t.c), SIZE_MAX);
        /* The stream's buffers are given back. */
        ASSERT_TRUE(t.c.fragment.alloc == 0 && t.c.inbox == NULL && t.c.out.alloc == 0);

        /* Two streamed requests in one read: the second streams after the first. */
        t.f.stream_size = 10;
        {
                Buf b = { 0 };

                frame_add(&b, FIN | WS_OP_TEXT, "stream", 6, true);
                frame_add(&b, FIN | WS_OP_TEXT, "stream", 6, true);
                ASSERT_EQ_INT(ws_client_feed(&t.c, b.data, b.size), 0);
                buf_done(&b);
        }
        ASSERT_EQ_INT(t.f.n_messages, 4);
        ASSERT_EQ_INT(pump_all(&t.c, &t.o), 2);
        ASSERT_EQ_INT(t.f.n_messages, 5);
        expect_stream_fragment(&t.o, true, true, 10);
        expect_stream_fragment(&t.o, true, true, 10);
        expect_nothing_more(&t.o);
        ASSERT_EQ_INT(t.f.streams_freed, 3);
        teardown(&t);
}

TEST(test_stream_slow_client) {
        Test t = { 0 };
        Buf b = { 0 };

        setup(&t, 0);
        feed_text(&t.c, "stream");
        ASSERT_EQ_INT(ws_client_pump(&t.c), 1);
        /* The client takes some, but not down to the low water mark: no new fragment. */
        take(&t.c, &t.o, 5, 0, 0);
        ASSERT_EQ_INT(ws_client_pump(&t.c), 0);
        /* A close ends the stream at once: the close frame follows what was queued. */
        feed_frame(&t.c, FIN | WS_OP_CLOSE, "\x03\xe8", 2, 0);
        ASSERT_EQ_INT(t.f.streams_freed, 1);
        ASSERT_EQ_INT(ws_client_pump(&t.c), 0);
        take(&t.c, &t.o, SIZE_MAX, 0, -ECONNRESET);
        expect_stream_fragment(&t.o, true, false, WEB_STREAM_FRAGMENT);
        expect_close(&t.o, WS_CLOSE_NORMAL, NULL);
        expect_nothing_more(&t.o);
        ws_client_done(&t.c);

        /* Input behind a streamed answer: at most WEB_INBOX_MAX waits, then the client is too slow. */
        setup(&t, 0);
        feed_text(&t.c, "stream");
        frame_add(&b, FIN | WS_OP_TEXT, "", 0, true);
        ASSERT_EQ_INT(buf_reserve(&b, WEB_INBOX_MAX), 0);
        memset(b.data + b.size, 0, WEB_INBOX_MAX - b.size);
        ASSERT_EQ_INT(ws_client_feed(&t.c, b.data, WEB_INBOX_MAX), 0);
        ASSERT_EQ_INT(ws_client_read_max(&t.c), 0);
        ASSERT_EQ_INT(ws_client_feed(&t.c, b.data, 1), -ENOBUFS);
        ws_client_done(&t.c);
        ASSERT_EQ_INT(t.f.streams_freed, 1);

        /* The stream fails: the client is closed with 1011. */
        setup(&t, 0);
        t.f.stream_fail = 2;
        feed_text(&t.c, "stream");
        ASSERT_EQ_INT(ws_client_pump(&t.c), 1);
        ASSERT_EQ_INT(t.f.stream_error, 0);
        take_all(&t.c, &t.o);
        ASSERT_EQ_INT(ws_client_pump(&t.c), 1);
        ASSERT_EQ_INT(t.f.stream_error, -EIO);
        ASSERT_EQ_INT(t.f.streams_freed, 1);
        ASSERT_EQ_INT(ws_client_pump(&t.c), 0);
        take(&t.c, &t.o, SIZE_MAX, 0, -ECONNRESET);
        expect_stream_fragment(&t.o, true, false, WEB_STREAM_FRAGMENT);
        expect_close(&t.o, WS_CLOSE_INTERNAL_ERROR, "internal error");
        expect_nothing_more(&t.o);
        ws_client_done(&t.c);
        buf_done(&b);
        buf_done(&t.o.bytes);
}

TEST(test_pushes_slow_client) {
        static uint8_t payload[64 * 1024];
        uint8_t header[WS_HEADER_MAX];
        size_t header_size = ws_frame_header(WS_OP_TEXT, true, sizeof(payload), header);
        size_t frame_size = header_size + sizeof(payload), n = 0;
        Test t = { 0 };
        int r;

        setup(&t, 0);
        /* Not subscribed: no pushes. */
        ASSERT_EQ_INT(ws_client_push(&t.c, header, header_size, payload, sizeof(payload)), 0);
        ASSERT_EQ_INT(unsent(&t.c), 0);
        ws_client_set_subscribed(&t.c, true);

        /* Pushes are never coalesced or skipped: each is queued whole until WEB_SEND_QUEUE_MAX, and the one
         * that would go past it means the client is too slow to keep. */
        while ((r = ws_client_push(&t.c, header, header_size, payload, sizeof(payload))) > 0)
                n++;
        ASSERT_EQ_INT(r, -ENOBUFS);
        ASSERT_EQ_INT(n, WEB_SEND_QUEUE_MAX / frame_size);
        ASSERT_EQ_INT(unsent(&t.c), n * frame_size);

        /* Once it takes some, there is room again. */
        take(&t.c, &t.o, frame_size, 0, 0);
        ASSERT_EQ_INT(ws_client_push(&t.c, header, header_size, payload, sizeof(payload)), 1);
        ASSERT_EQ_INT(unsent(&t.c), n * frame_size);

        /* Unsubscribed: no more. */
        ws_client_set_subscribed(&t.c, false);
        ASSERT_EQ_INT(ws_client_push(&t.c, header, header_size, payload, sizeof(payload)), 0);
        ws_client_done(&t.c);

        /* Pushes behind a streamed answer count against the same limit. */
        setup(&t, 0);
        ws_client_set_subscribed(&t.c, true);
        feed_text(&t.c, "stream");
        ASSERT_EQ_INT(ws_client_pump(&t.c), 1);
        n = 0;
        while ((r = ws_client_push(&t.c, header, header_size, payload, sizeof(payload))) > 0)
                n++;
        ASSERT_EQ_INT(r, -ENOBUFS);
        ASSERT_EQ_INT(n, (WEB_SEND_QUEUE_MAX - unsent(&t.c)) / frame_size);
        teardown(&t);
}

TEST(test_stall) {
        Test t = { 0 };
        usec_t now = 1000 * USEC_PER_SEC;

        setup(&t, now);
        /* Nothing waiting: never stalled, however long. */
        ASSERT_TRUE(!ws_client_stalled(&t.c, now + 100 * STALL_USEC, STALL_USEC, 0));
        now += 100 * STALL_USEC;

        /* An answer it does not take: stalled once more than STALL_USEC passed since the last progress. */
        feed_text(&t.c, "a");
        ASSERT_TRUE(!ws_client_stalled(&t.c, now + STALL_USEC, STALL_USEC, 0));
        ASSERT_TRUE(ws_client_stalled(&t.c, now + STALL_USEC + 1, STALL_USEC, 0));

        /* Taking some is progress... */
        now += STALL_USEC + 1;
        take(&t.c, &t.o, 1, now, 0);
        ASSERT_TRUE(!ws_client_stalled(&t.c, now + STALL_USEC, STALL_USEC, 0));
        ASSERT_TRUE(ws_client_stalled(&t.c, now + STALL_USEC + 1, STALL_USEC, 0));
        /* ... and so is taking the rest; a write of nothing is not. */
        now += 10;
        take(&t.c, &t.o, 0, now + 5, 0);
        take_all(&t.c, &t.o);
        ASSERT_TRUE(!ws_client_stalled(&t.c, now + 10 * STALL_USEC, STALL_USEC, 0));
        now += 10 * STALL_USEC;

        /* Bytes in the socket's send buffer count as waiting; their shrinking is progress. */
        ASSERT_TRUE(!ws_client_stalled(&t.c, now + 1, STALL_USEC, 5000));
        ASSERT_TRUE(!ws_client_stalled(&t.c, now + STALL_USEC, STALL_USEC, 5000));
        ASSERT_TRUE(ws_client_stalled(&t.c, now + STALL_USEC + 1, STALL_USEC, 5000));
        ASSERT_TRUE(!ws_client_stalled(&t.c, now + STALL_USEC + 2, STALL_USEC, 4000));
        ASSERT_TRUE(!ws_client_stalled(&t.c, now + 2 * STALL_USEC + 2, STALL_USEC, 4000));
        ASSERT_TRUE(ws_client_stalled(&t.c, now + 2 * STALL_USEC + 3, STALL_USEC, 4000));
        now += 3 * STALL_USEC;
        ASSERT_TRUE(!ws_client_stalled(&t.c, now, STALL_USEC, 0));

        /* A streamed answer not yet done counts as waiting, even with the queues empty. */
        feed_text(&t.c, "stream");
        ASSERT_EQ_INT(unsent(&t.c), 0);
        ASSERT_TRUE(ws_client_stalled(&t.c, now + STALL_USEC + 1, STALL_USEC, 0));
        teardown(&t);
}

#define IDLE_USEC (120 * USEC_PER_SEC)

/* A streamed answer that is not ready: nothing goes out and the socket is not watched for writing, the client
 * is neither stalled nor idle, what it asks next and pushes to it wait; once woken it goes out, then the rest. */
TEST(test_deferred_answer) {
        static const uint8_t push_header[] = { FIN | WS_OP_TEXT, 4 };
        Test t = { 0 };
        usec_t now = 1000 * USEC_PER_SEC;

        setup(&t, now);
        feed_text(&t.c, "subscribe");
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_TEXT, true, "re:subscribe");
        feed_text(&t.c, "later");
        ASSERT_EQ_INT(ws_client_pump(&t.c), 0);
        ASSERT_EQ_INT(ws_client_pump(&t.c), 0); /* not asked again until woken */
        ASSERT_EQ_INT(unsent(&t.c), 0);
        ASSERT_TRUE(!ws_client_wants_write(&t.c));
        ASSERT_TRUE(!ws_client_stalled(&t.c, now + 10 * STALL_USEC, STALL_USEC, 0));
        ASSERT_TRUE(!ws_client_idle(&t.c, now + 10 * IDLE_USEC, IDLE_USEC));
        ASSERT_TRUE(!ws_client_idle(&t.c, now + 20 * IDLE_USEC, IDLE_USEC));
        feed_text(&t.c, "next");
        ASSERT_EQ_INT(ws_client_push(&t.c, push_header, sizeof(push_header), "push", 4), 1);
        ASSERT_EQ_INT(unsent(&t.c), 0);
        ASSERT_EQ_INT(t.f.n_messages, 2); /* "next" waits in the inbox */

        /* woken but still not ready: waits again */
        ws_client_wake(&t.c);
        ASSERT_TRUE(ws_client_wants_write(&t.c));
        ASSERT_EQ_INT(ws_client_pump(&t.c), 0);
        ASSERT_TRUE(!ws_client_wants_write(&t.c));

        t.f.later_ready = true;
        ws_client_wake(&t.c);
        pump_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_TEXT, true, "done");
        expect_frame(&t.o, WS_OP_TEXT, true, "push");
        expect_frame(&t.o, WS_OP_TEXT, true, "re:next");
        expect_nothing_more(&t.o);
        ASSERT_EQ_INT(t.f.streams_freed, 1);

        /* a client that goes while its answer is not ready frees the stream */
        feed_text(&t.c, "later");
        t.f.later_ready = false;
        ASSERT_EQ_INT(ws_client_pump(&t.c), 0);
        teardown(&t);
        ASSERT_EQ_INT(t.f.streams_freed, 2);
}

TEST(test_idle) {
        Test t = { 0 };
        usec_t now = 1000 * USEC_PER_SEC;

        /* Silent from the start: idle once more than IDLE_USEC passed since it connected. */
        setup(&t, now);
        ASSERT_TRUE(!ws_client_idle(&t.c, now + IDLE_USEC, IDLE_USEC));
        ASSERT_TRUE(ws_client_idle(&t.c, now + IDLE_USEC + 1, IDLE_USEC));

        /* A request counts from the first check that sees it (the glue checks every quarter timeout). */
        now += IDLE_USEC + 1;
        feed_text(&t.c, "quiet");
        ASSERT_TRUE(!ws_client_idle(&t.c, now, IDLE_USEC));
        ASSERT_TRUE(!ws_client_idle(&t.c, now + IDLE_USEC, IDLE_USEC));
        ASSERT_TRUE(ws_client_idle(&t.c, now + IDLE_USEC + 1, IDLE_USEC));

        /* So does a ping; its pong waiting makes the client busy, not idle, until it is taken. */
        now += IDLE_USEC + 1;
        feed_frame(&t.c, FIN | WS_OP_PING, "p", 1, 0);
        ASSERT_TRUE(!ws_client_idle(&t.c, now + 10 * IDLE_USEC, IDLE_USEC));
        now += 10 * IDLE_USEC;
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_PONG, true, "p");
        ASSERT_TRUE(!ws_client_idle(&t.c, now, IDLE_USEC));
        ASSERT_TRUE(ws_client_idle(&t.c, now + IDLE_USEC + 1, IDLE_USEC));

        /* A pong (an answer to nothing we asked) is not a request. */
        now += IDLE_USEC + 1;
        feed_frame(&t.c, FIN | WS_OP_PONG, "x", 1, 0);
        ASSERT_TRUE(ws_client_idle(&t.c, now, IDLE_USEC));

        /* A subscriber is never idle, however quiet; once it unsubscribes the timeout starts again. */
        feed_text(&t.c, "subscribe");
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_TEXT, true, "re:subscribe");
        ASSERT_TRUE(!ws_client_idle(&t.c, now + 100 * IDLE_USEC, IDLE_USEC));
        now += 100 * IDLE_USEC;
        ws_client_set_subscribed(&t.c, false);
        ASSERT_TRUE(!ws_client_idle(&t.c, now + IDLE_USEC, IDLE_USEC));
        ASSERT_TRUE(ws_client_idle(&t.c, now + IDLE_USEC + 1, IDLE_USEC));
        expect_nothing_more(&t.o);
        teardown(&t);
}

/* The event stream is a subscription of its own: its pushes go only to clients subscribed to events,
 * sample pushes only to the others, both in order behind earlier output, and an events subscriber is not
 * idle. */
TEST(test_event_pushes_apart_from_samples) {
        uint8_t header[WS_HEADER_MAX];
        size_t header_size = ws_frame_header(WS_OP_TEXT, true, 2, header);
        usec_t now = 1000 * USEC_PER_SEC;
        Test t = { 0 };

        setup(&t, now);
        ASSERT_EQ_INT(ws_client_push_event(&t.c, header, header_size, "e1", 2), 0);
        ws_client_set_events(&t.c, true);
        ASSERT_EQ_INT(ws_client_push(&t.c, header, header_size, "s1", 2), 0); /* not to samples */
        feed_text(&t.c, "backlog");
        ASSERT_EQ_INT(ws_client_push_event(&t.c, header, header_size, "e2", 2), 1);
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_TEXT, true, "re:backlog");
        expect_frame(&t.o, WS_OP_TEXT, true, "e2");
        ASSERT_TRUE(!ws_client_idle(&t.c, now + 100 * IDLE_USEC, IDLE_USEC));
        now += 100 * IDLE_USEC;
        ws_client_set_subscribed(&t.c, true);
        ws_client_set_events(&t.c, false);
        ASSERT_EQ_INT(ws_client_push_event(&t.c, header, header_size, "e3", 2), 0);
        ASSERT_EQ_INT(ws_client_push(&t.c, header, header_size, "s2", 2), 1);
        take_all(&t.c, &t.o);
        expect_frame(&t.o, WS_OP_TEXT, true, "s2");
        ws_client_set_subscribed(&t.c, false);
        ASSERT_TRUE(!ws_client_idle(&t.c, now + IDLE_USEC, IDLE_USEC));
        ASSERT_TRUE(ws_client_idle(&t.c, now + IDLE_USEC + 1, IDLE_USEC));
        expect_nothing_more(&t.o);
        teardown(&t);
}

TEST(test_goodbye) {
        Test t = { 0 };

        /* Nothing queued: the close frame goes, and once it is written the client is done. */
        setup(&t, 0);
        ASSERT_EQ_INT(ws_client_goodbye(&t.c, WS_CLOSE_GOING_AWAY, "idle"), 1);
        take(&t.c, &t.o, SIZE_MAX, 0, -ECONNRESET);
        expect_close(&t.o, WS_CLOSE_GOING_AWAY, "idle");
        expect_nothing_more(&t.o);
        /* Once: a second goodbye, or pushes and answers after it, queue nothing. */
        ASSERT_EQ_INT(ws_client_goodbye(&t.c, WS_CLOSE_GOING_AWAY, "idle"), 0);
        teardown(&t);

        /* Output still queued (part of a frame may be out): no close frame could go whole and next. */
        t = (Test) { 0 };
        setup(&t, 0);
        feed_text(&t.c, "a");
        take(&t.c, &t.o, 2, 0, 0);
        ASSERT_EQ_INT(ws_client_goodbye(&t.c, WS_CLOSE_GOING_AWAY, "stalled"), 0);
        teardown(&t);

        /* Between two fragments of a streamed answer it may go, and ends the stream. */
        t = (Test) { 0 };
        setup(&t, 0);
        feed_text(&t.c, "stream");
        ASSERT_EQ_INT(ws_client_pump(&t.c), 1);
        take_all(&t.c, &t.o);
        expect_stream_fragment(&t.o, /* first= */ true, /* fin= */ false, WEB_STREAM_FRAGMENT);
        ASSERT_EQ_INT(ws_client_goodbye(&t.c, WS_CLOSE_GOING_AWAY, "idle"), 1);
        ASSERT_EQ_INT(t.f.streams_freed, 1);
        ASSERT_EQ_INT(ws_client_pump(&t.c), 0);
        take(&t.c, &t.o, SIZE_MAX, 0, -ECONNRESET);
        expect_close(&t.o, WS_CLOSE_GOING_AWAY, "idle");
        expect_nothing_more(&t.o);
        teardown(&t);
}

TEST(test_memory_given_back) {
        static uint8_t payload[WEB_QUEUE_KEEP];
        uint8_t header[WS_HEADER_MAX];
        size_t header_size;
        Test t = { 0 };

        setup(&t, 0);
        ws_client_set_subscribed(&t.c, true);
        /* A small queue is kept for the next answer... */
        feed_text(&t.c, "a");
        take_all(&t.c, &t.o);
        ASSERT_TRUE(t.c.out.alloc > 0 && t.c.out.alloc <= WEB_QUEUE_KEEP);
        /* ... a big one is given back once it is written, not before. */
        header_size = ws_frame_header(WS_OP_TEXT, true, sizeof(payload), header);
        ASSERT_EQ_INT(ws_client_push(&t.c, header, header_size, payload, sizeof(payload)), 1);
        ASSERT_TRUE(t.c.out.alloc > WEB_QUEUE_KEEP);
        take(&t.c, &t.o, 1000, 0, 0);
        ASSERT_TRUE(t.c.out.alloc > WEB_QUEUE_KEEP);
        take_all(&t.c, &t.o);
        ASSERT_EQ_INT(t.c.out.alloc, 0);
        ASSERT_EQ_INT(t.c.out.size, 0);

        /* Pushes held behind a stream: their queue is given back when it is big, at the stream's end. */
        t.f.stream_size = 10;
        feed_text(&t.c, "stream");
        ASSERT_EQ_INT(ws_client_push(&t.c, header, header_size, payload, sizeof(payload)), 1);
        ASSERT_TRUE(t.c.pending.alloc > WEB_QUEUE_KEEP);
        ASSERT_EQ_INT(pump_all(&t.c, &t.o), 1);
        ASSERT_EQ_INT(t.c.pending.alloc, 0);
        ASSERT_EQ_INT(t.c.fragment.alloc, 0);
        ASSERT_EQ_INT(t.c.out.alloc, 0);
        /* ... and kept when small. */
        feed_text(&t.c, "stream");
        ASSERT_EQ_INT(ws_client_push(&t.c, (const uint8_t *) "\x81\x01", 2, "p", 1), 1);
        ASSERT_EQ_INT(pump_all(&t.c, &t.o), 1);
        ASSERT_TRUE(t.c.pending.alloc > 0);
        ASSERT_EQ_INT(t.c.pending.size, 0);
        teardown(&t);
}

/* The output budget's measures and order: what waits in a client's queues (not what was taken), pushes
 * behind a streamed answer included, and the memory they hold; the client with more waiting goes first, of
 * two with as much the one that took some less recently. */
TEST(test_budget_order) {
        static uint8_t payload[1000];
        uint8_t header[WS_HEADER_MAX];
        size_t header_size = ws_frame_header(WS_OP_TEXT, true, sizeof(payload), header);
        size_t frame_size = header_size + sizeof(payload);
        usec_t now = 1000 * USEC_PER_SEC;
        Test a = { 0 }, b = { 0 };

        setup(&a, now);
        setup(&b, now);
        ASSERT_EQ_INT(ws_client_queued(&a.c), 0);
        ASSERT_TRUE(!ws_client_slower(&a.c, &b.c) && !ws_client_slower(&b.c, &a.c));
        ws_client_set_subscribed(&a.c, true);
        ws_client_set_subscribed(&b.c, true);
        for (int i = 0; i < 3; i++) {
                ASSERT_EQ_INT(ws_client_push(&a.c, header, header_size, payload, sizeof(payload)), 1);
                ASSERT_EQ_INT(ws_client_push(&b.c, header, header_size, payload, sizeof(payload)), 1);
        }
        ASSERT_EQ_INT(ws_client_queued(&a.c), 3 * frame_size);
        ASSERT_TRUE(ws_client_held(&a.c) >= 3 * frame_size);

        /* b takes a byte: less waits for it, a is the slower. */
        take(&b.c, &b.o, 1, now + 1, 0);
        ASSERT_EQ_INT(ws_client_queued(&b.c), 3 * frame_size - 1);
        ASSERT_TRUE(ws_client_slower(&a.c, &b.c));
        ASSERT_TRUE(!ws_client_slower(&b.c, &a.c));

        /* As much waiting for both: the one that took some longer ago is the slower. */
        take(&a.c, &a.o, 1, now + 2, 0);
        ASSERT_EQ_INT(ws_client_queued(&a.c), ws_client_queued(&b.c));
        ASSERT_TRUE(ws_client_slower(&b.c, &a.c));
        ASSERT_TRUE(!ws_client_slower(&a.c, &b.c));
        take_all(&a.c, &a.o);
        ASSERT_EQ_INT(ws_client_queued(&a.c), 0);
        ASSERT_TRUE(ws_client_slower(&b.c, &a.c));

        /* Pushes waiting behind a streamed answer count, as does its fragment not yet taken. */
        feed_text(&a.c, "stream");
        ASSERT_EQ_INT(ws_client_pump(&a.c), 1);
        ASSERT_EQ_INT(ws_client_queued(&a.c), unsent(&a.c));
        ASSERT_TRUE(ws_client_queued(&a.c) > WEB_STREAM_FRAGMENT);
        ASSERT_EQ_INT(ws_client_push(&a.c, header, header_size, payload, sizeof(payload)), 1);
        ASSERT_EQ_INT(ws_client_queued(&a.c), unsent(&a.c) + frame_size);
        ASSERT_TRUE(ws_client_slower(&a.c, &b.c));

        ASSERT_TRUE(ws_client_held(&a.c) >= ws_client_queued(&a.c) + WEB_STREAM_FRAGMENT);

        /* What was taken is still held until the queue is compacted or emptied. */
        take(&b.c, &b.o, 2 * frame_size, now + 3, 0);
        ASSERT_EQ_INT(ws_client_queued(&b.c), frame_size - 1);
        ASSERT_TRUE(ws_client_held(&b.c) >= 3 * frame_size);

        /* Done: nothing waits or is held, whatever was half taken. */
        ws_client_done(&b.c);
        ASSERT_EQ_INT(ws_client_queued(&b.c), 0);
        ASSERT_EQ_INT(ws_client_held(&b.c), 0);
        teardown(&a);
        teardown(&b);
}

int main(void) {
        RUN(test_event_pushes_apart_from_samples);
        RUN(test_text_message_answered);
        RUN(test_ping_pong_and_close);
        RUN(test_fragmented_input);
        RUN(test_message_max);
        RUN(test_bad_frames);
        RUN(test_streamed_answer);
        RUN(test_stream_slow_client);
        RUN(test_pushes_slow_client);
        RUN(test_stall);
        RUN(test_idle);
        RUN(test_deferred_answer);
        RUN(test_goodbye);
        RUN(test_memory_given_back);
        RUN(test_budget_order);
        return 0;
}
