/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "sha1.h"
#include "tests.h"
#include "ws-frame.h"

#define FIN 0x80
#define RSV1 0x40
#define RSV2 0x20
#define RSV3 0x10
#define MIB (1024 * 1024)

/* The masking key of RFC 6455 5.7's examples, so their bytes can be compared as printed there. */
static const uint8_t rfc_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* ---- SHA-1 ---- */

static const char *sha1_hex(const void *data, size_t size) {
        static char hex[2 * SHA1_DIGEST_SIZE + 1];
        uint8_t digest[SHA1_DIGEST_SIZE];

        sha1(data, size, digest);
        for (size_t i = 0; i < sizeof(digest); i++)
                sprintf(hex + 2 * i, "%02x", digest[i]);
        return hex;
}

/* ---- Building client frames ---- */

typedef struct Buf {
        uint8_t *data;
        size_t size, alloc;
} Buf;

static void buf_done(Buf *b) {
        free(b->data);
        b->data = NULL;
        b->size = b->alloc = 0;
}

/* Grows by doubling: frames are built a byte at a time, and under ASan every realloc() moves. */
static void buf_add(Buf *b, const void *p, size_t n) {
        if (b->size + n > b->alloc) {
                size_t alloc = MAX(b->size + n, 2 * b->alloc);
                uint8_t *d = realloc(b->data, alloc);

                ASSERT_TRUE(d);
                b->data = d;
                b->alloc = alloc;
        }
        if (n > 0)
                memcpy(b->data + b->size, p, n);
        b->size += n;
}

static void buf_add_byte(Buf *b, uint8_t c) {
        buf_add(b, &c, 1);
}

/* A masked client frame; b0 is FIN|RSV|opcode as it goes on the wire. len_bits picks the length form
 * (7, 16 or 64), 0 the shortest one, so non-minimal encodings can be produced too. */
static void add_frame_len(Buf *b, uint8_t b0, const void *payload, size_t n, unsigned len_bits) {
        const uint8_t *p = payload;

        if (len_bits == 0)
                len_bits = n <= 125 ? 7 : n <= UINT16_MAX ? 16 : 64;

        buf_add_byte(b, b0);
        if (len_bits == 7)
                buf_add_byte(b, (uint8_t) (0x80 | n));
        else if (len_bits == 16) {
                buf_add_byte(b, 0x80 | 126);
                buf_add_byte(b, (uint8_t) (n >> 8));
                buf_add_byte(b, (uint8_t) n);
        } else {
                buf_add_byte(b, 0x80 | 127);
                for (unsigned i = 0; i < 8; i++)
                        buf_add_byte(b, (uint8_t) ((uint64_t) n >> (56 - 8 * i)));
        }
        buf_add(b, rfc_mask, 4);
        for (size_t i = 0; i < n; i++)
                buf_add_byte(b, p[i] ^ rfc_mask[i & 3]);
}

static void add_frame(Buf *b, uint8_t b0, const void *payload, size_t n) {
        add_frame_len(b, b0, payload, n, 0);
}

static void add_text(Buf *b, uint8_t b0, const char *s) {
        add_frame(b, b0, s, strlen(s));
}

static void add_close(Buf *b, uint16_t code, const char *reason) {
        uint8_t body[2 + 125] = { (uint8_t) (code >> 8), (uint8_t) code };
        size_t n = strlen(reason);

        ASSERT_TRUE(n <= 123);
        memcpy(body + 2, reason, n);
        add_frame(b, FIN | WS_OP_CLOSE, body, 2 + n);
}

/* Turns a server frame into what a client would send with the same content: mask bit, key, masked
 * payload. Lets the encoder's output go through the decoder. */
static void mask_server_frame(const uint8_t *frame, size_t size, Buf *out) {
        size_t header;

        ASSERT_TRUE(size >= 2);
        ASSERT_TRUE(!(frame[1] & 0x80));
        header = (frame[1] & 0x7f) == 126 ? 4 : (frame[1] & 0x7f) == 127 ? 10 : 2;
        ASSERT_TRUE(size >= header);

        buf_add_byte(out, frame[0]);
        buf_add_byte(out, frame[1] | 0x80);
        buf_add(out, frame + 2, header - 2);
        buf_add(out, rfc_mask, 4);
        for (size_t i = header; i < size; i++)
                buf_add_byte(out, frame[i] ^ rfc_mask[(i - header) & 3]);
}

/* ---- Running the decoder ---- */

typedef struct Rec {
        WsEventType type;
        WsOpcode opcode;
        uint16_t code;
        uint8_t *payload;
        size_t size;
        char *reason;
} Rec;

typedef struct Events {
        Rec rec[32];
        size_t n;
        size_t consumed;        /* bytes the decoder took in all */
        size_t max_alloc;       /* the most message memory it held at any point */
} Events;

static void events_done(Events *e) {
        for (size_t i = 0; i < e->n; i++) {
                free(e->rec[i].payload);
                free(e->rec[i].reason);
        }
        e->n = 0;
}

static void record(Events *e, const WsEvent *ev) {
        Rec *r;

        ASSERT_TRUE(e->n < ELEMENTSOF(e->rec));
        r = &e->rec[e->n++];
        *r = (Rec) {
                .type = ev->type,
                .opcode = ev->opcode,
                .code = ev->close_code,
                .size = ev->size,
        };
        ASSERT_TRUE(ev->payload);
        r->payload = malloc(ev->size + 1);
        ASSERT_TRUE(r->payload);
        memcpy(r->payload, ev->payload, ev->size);
        r->payload[ev->size] = 0;
        if (ev->reason) {
                r->reason = strdup(ev->reason);
                ASSERT_TRUE(r->reason);
        }
}

/* Feeds data in pieces of `chunk` bytes, each piece handed over until the decoder has taken all of it,
 * the way a connection would, and records every event but NEED_MORE. */
static void feed_chunked(const uint8_t *data, size_t size, size_t chunk, size_t max_message, Events *e) {
        WsDecoder d;
        bool stopped = false;

        memset(e, 0, sizeof(*e));
        ws_decoder_init(&d, max_message);

        for (size_t off = 0; off < size && !stopped; off += chunk) {
                size_t len = MIN(chunk, size - off), pos = 0;

                while (pos < len) {
                        WsEvent ev;
                        size_t c = SIZE_MAX;

                        ASSERT_EQ_INT(ws_decoder_feed(&d, data + off + pos, len - pos, &c, &ev), 0);
                        ASSERT_TRUE(c <= len - pos);
                        pos += c;
                        ASSERT_TRUE(d.message_alloc <= d.max_message);
                        e->max_alloc = MAX(e->max_alloc, d.message_alloc);

                        if (ev.type == WS_EVENT_NEED_MORE) {
                                ASSERT_EQ_INT(pos, len);
                                break;
                        }
                        ASSERT_TRUE(c > 0);
                        record(e, &ev);
                        if (ev.type == WS_EVENT_CLOSE || ev.type == WS_EVENT_ERROR) {
                                /* Whatever follows is not read. */
                                ASSERT_EQ_INT(ws_decoder_feed(&d, data, size, &c, &ev), -ESHUTDOWN);
                                stopped = true;
                                break;
                        }
                }
                e->consumed += pos;
        }

        ws_decoder_done(&d);
}

static void assert_same_events(const Events *a, const Events *b) {
        ASSERT_EQ_INT(a->n, b->n);
        ASSERT_EQ_INT(a->consumed, b->consumed);
        for (size_t i = 0; i < a->n; i++) {
                const Rec *x = &a->rec[i], *y = &b->rec[i];

                ASSERT_EQ_INT(x->type, y->type);
                ASSERT_EQ_INT(x->opcode, y->opcode);
                ASSERT_EQ_INT(x->code, y->code);
                ASSERT_EQ_INT(x->size, y->size);
                ASSERT_TRUE(memcmp(x->payload, y->payload, x->size) == 0);
                ASSERT_TRUE((x->reason == NULL) == (y->reason == NULL));
                if (x->reason)
                        ASSERT_STREQ(x->reason, y->reason);
        }
}

/* Decodes data whole, and checks that every way of cutting it up (down to single bytes) gives the
 * same events: every test below goes through this. */
static void decode_max(const uint8_t *data, size_t size, size_t max_message, Events *e) {
        static const size_t chunks[] = { 1, 2, 3, 7, 64, 4096 };

        feed_chunked(data, size, MAX(size, (size_t) 1), max_message, e);
        for (size_t i = 0; i < ELEMENTSOF(chunks); i++) {
                Events other;

                if (chunks[i] >= size)
                        continue;
                feed_chunked(data, size, chunks[i], max_message, &other);
                assert_same_events(e, &other);
                events_done(&other);
        }
}

static void decode(const Buf *b, Events *e) {
        decode_max(b->data, b->size, 0, e);
}

static void assert_message(const Rec *r, WsOpcode op, const void *payload, size_t size) {
        ASSERT_EQ_INT(r->type, WS_EVENT_MESSAGE);
        ASSERT_EQ_INT(r->opcode, op);
        ASSERT_EQ_INT(r->size, size);
        ASSERT_TRUE(memcmp(r->payload, payload, size) == 0);
}

static void assert_text(const Rec *r, const char *s) {
        assert_message(r, WS_OP_TEXT, s, strlen(s));
}

static void assert_error(const Events *e, uint16_t code) {
        ASSERT_TRUE(e->n > 0);
        ASSERT_EQ_INT(e->rec[e->n - 1].type, WS_EVENT_ERROR);
        ASSERT_EQ_INT(e->rec[e->n - 1].code, code);
        ASSERT_TRUE(e->rec[e->n - 1].reason && *e->rec[e->n - 1].reason);
}

/* One frame alone must be refused with code. */
static void assert_frame_refused(uint8_t b0, const void *payload, size_t n, uint16_t code) {
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        add_frame(&b, b0, payload, n);
        decode(&b, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_error(&e, code);
        events_done(&e);
}

static void assert_text_refused(const char *s) {
        assert_frame_refused(FIN | WS_OP_TEXT, s, strlen(s), WS_CLOSE_INVALID_DATA);
}

/* ---- SHA-1 ---- */

TEST(test_sha1_abc) {
        ASSERT_STREQ(sha1_hex("abc", 3), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(test_sha1_empty) {
        ASSERT_STREQ(sha1_hex("", 0), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        ASSERT_STREQ(sha1_hex(NULL, 0), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(test_sha1_448_bits) {
        const char *s = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

        ASSERT_STREQ(sha1_hex(s, strlen(s)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST(test_sha1_896_bits) {
        const char *s = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                        "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

        ASSERT_STREQ(sha1_hex(s, strlen(s)), "a49b2446a02c645bf419f995b67091253a04a259");
}

TEST(test_sha1_million_a) {
        _cleanup_(freep) char *s = malloc(1000000);

        ASSERT_TRUE(s);
        memset(s, 'a', 1000000);
        ASSERT_STREQ(sha1_hex(s, 1000000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

/* Lengths around the block edges, where the padding spills into a second block. */
TEST(test_sha1_padding_edges) {
        static const struct {
                size_t n;
                const char *hex;
        } v[] = {
                { 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a" },
                { 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699" },
                { 63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5" },
                { 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d" },
                { 119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56" },
                { 120, "f34c1488385346a55709ba056ddd08280dd4c6d6" },
        };
        char a[120];

        memset(a, 'a', sizeof(a));
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                ASSERT_STREQ(sha1_hex(a, v[i].n), v[i].hex);
}

/* ---- Handshake key ---- */

TEST(test_accept_key_rfc_example) {
        char out[WS_ACCEPT_KEY_SIZE];

        ASSERT_EQ_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
        ASSERT_STREQ(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(test_accept_key_bad) {
        static const char *const bad[] = {
                "",
                "dGhlIHNhbXBsZSBub25jZQ=",   /* too short */
                "dGhlIHNhbXBsZSBub25jZQ===",  /* too long */
                "dGhlIHNhbXBsZSBub25jZQAA",   /* 18 bytes, no padding */
                "dGhlIHNhbXBsZSBub25jZ===",   /* padding too early */
                "dGhlIHNhbXBsZSBub25j*Q==",   /* not base64 */
                "dGhlIHNhbXBsZSBub25jZ-==",   /* base64url is not what RFC 6455 asks for */
                "dGhlIHNhbXBsZSBub25jZR==",   /* stray bits after the 16th byte */
                " dGhlIHNhbXBsZSBub25jZQ=",   /* whitespace */
        };
        char out[WS_ACCEPT_KEY_SIZE] = "untouched";

        ASSERT_EQ_INT(ws_accept_key(NULL, out), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_EQ_INT(ws_accept_key(bad[i], out), -EINVAL);
        ASSERT_STREQ(out, "untouched");

        /* Other 16-byte keys are fine: all zero, all ones. */
        ASSERT_EQ_INT(ws_accept_key("AAAAAAAAAAAAAAAAAAAAAA==", out), 0);
        ASSERT_EQ_INT(strlen(out), 28);
        ASSERT_EQ_INT(ws_accept_key("/////////////////////w==", out), 0);
        ASSERT_EQ_INT(strlen(out), 28);
}

/* ---- Decoding: what must work ---- */

TEST(test_rfc_masked_hello) {
        static const uint8_t frame[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        /* Our helper builds the very same bytes. */
        add_text(&b, FIN | WS_OP_TEXT, "Hello");
        ASSERT_EQ_INT(b.size, sizeof(frame));
        ASSERT_TRUE(memcmp(b.data, frame, sizeof(frame)) == 0);

        decode_max(frame, sizeof(frame), 0, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_text(&e.rec[0], "Hello");
        ASSERT_EQ_INT(e.consumed, sizeof(frame));
        events_done(&e);
}

TEST(test_rfc_masked_pong) {
        static const uint8_t frame[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
        Events e;

        decode_max(frame, sizeof(frame), 0, &e);
        ASSERT_EQ_INT(e.n, 1);
        ASSERT_EQ_INT(e.rec[0].type, WS_EVENT_PONG);
        ASSERT_EQ_INT(e.rec[0].opcode, WS_OP_PONG);
        ASSERT_STREQ((char *) e.rec[0].payload, "Hello");
        events_done(&e);
}

TEST(test_fragmented_with_ping_between) {
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        add_text(&b, WS_OP_TEXT, "Hel");
        add_text(&b, FIN | WS_OP_PING, "Hello");
        add_text(&b, FIN | WS_OP_CONTINUATION, "lo");
        decode(&b, &e);

        ASSERT_EQ_INT(e.n, 2);
        ASSERT_EQ_INT(e.rec[0].type, WS_EVENT_PING);
        ASSERT_EQ_INT(e.rec[0].size, 5);
        ASSERT_STREQ((char *) e.rec[0].payload, "Hello");
        assert_text(&e.rec[1], "Hello");
        events_done(&e);
}

TEST(test_fragmented_many_pieces) {
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        add_frame(&b, WS_OP_BINARY, "a", 1);
        add_frame(&b, WS_OP_CONTINUATION, NULL, 0);
        add_frame(&b, WS_OP_CONTINUATION, "bc", 2);
        add_text(&b, FIN | WS_OP_PONG, "");
        add_frame(&b, FIN | WS_OP_CONTINUATION, "def", 3);
        add_text(&b, FIN | WS_OP_TEXT, "next");
        decode(&b, &e);

        ASSERT_EQ_INT(e.n, 3);
        ASSERT_EQ_INT(e.rec[0].type, WS_EVENT_PONG);
        ASSERT_EQ_INT(e.rec[0].size, 0);
        assert_message(&e.rec[1], WS_OP_BINARY, "abcdef", 6);
        assert_text(&e.rec[2], "next");
        events_done(&e);
}

static void assert_binary_roundtrip(size_t n, unsigned len_bits, size_t header) {
        _cleanup_(buf_done) Buf b = { 0 };
        _cleanup_(freep) uint8_t *p = malloc(MAX(n, (size_t) 1));
        Events e;

        ASSERT_TRUE(p);
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (i * 7 + i / 251);
        add_frame_len(&b, FIN | WS_OP_BINARY, p, n, len_bits);
        ASSERT_EQ_INT(b.size, header + 4 + n);

        decode(&b, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_message(&e.rec[0], WS_OP_BINARY, p, n);
        events_done(&e);
}

TEST(test_length_16bit) {
        assert_binary_roundtrip(126, 0, 4);
        assert_binary_roundtrip(256, 0, 4);
        assert_binary_roundtrip(65535, 0, 4);
}

TEST(test_length_64bit) {
        assert_binary_roundtrip(65536, 0, 10);
        assert_binary_roundtrip(200000, 0, 10);
}

TEST(test_length_non_minimal_accepted) {
        assert_binary_roundtrip(0, 16, 4);
        assert_binary_roundtrip(5, 16, 4);
        assert_binary_roundtrip(5, 64, 10);
        assert_binary_roundtrip(300, 64, 10);
}

TEST(test_binary_message) {
        /* Not UTF-8, which binary need not be. */
        static const uint8_t bin[] = { 0x00, 0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x00 };
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        add_frame(&b, FIN | WS_OP_BINARY, bin, sizeof(bin));
        decode(&b, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_message(&e.rec[0], WS_OP_BINARY, bin, sizeof(bin));
        events_done(&e);
}

TEST(test_empty_frames) {
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        add_frame(&b, FIN | WS_OP_TEXT, NULL, 0);
        add_frame(&b, FIN | WS_OP_BINARY, NULL, 0);
        add_frame(&b, FIN | WS_OP_PING, NULL, 0);
        decode(&b, &e);
        ASSERT_EQ_INT(e.n, 3);
        assert_text(&e.rec[0], "");
        assert_message(&e.rec[1], WS_OP_BINARY, "", 0);
        ASSERT_EQ_INT(e.rec[2].type, WS_EVENT_PING);
        ASSERT_EQ_INT(e.rec[2].size, 0);
        events_done(&e);
}

/* Several frames in one read come out one event per call, each call reporting what it took. */
TEST(test_one_event_per_call) {
        _cleanup_(buf_done) Buf b = { 0 };
        WsDecoder d;
        WsEvent ev;
        size_t c, pos = 0;

        add_text(&b, FIN | WS_OP_TEXT, "one");
        add_text(&b, FIN | WS_OP_TEXT, "two");
        add_text(&b, FIN | WS_OP_TEXT, "th"); /* and half of a fourth frame */
        b.size -= 2;

        ws_decoder_init(&d, 0);
        ASSERT_EQ_INT(ws_decoder_feed(&d, b.data, b.size, &c, &ev), 0);
        ASSERT_EQ_INT(ev.type, WS_EVENT_MESSAGE);
        ASSERT_EQ_INT(c, 2 + 4 + 3);
        ASSERT_TRUE(ev.size == 3 && memcmp(ev.payload, "one", 3) == 0);
        pos += c;

        ASSERT_EQ_INT(ws_decoder_feed(&d, b.data + pos, b.size - pos, &c, &ev), 0);
        ASSERT_EQ_INT(ev.type, WS_EVENT_MESSAGE);
        ASSERT_TRUE(ev.size == 3 && memcmp(ev.payload, "two", 3) == 0);
        pos += c;

        ASSERT_EQ_INT(ws_decoder_feed(&d, b.data + pos, b.size - pos, &c, &ev), 0);
        ASSERT_EQ_INT(ev.type, WS_EVENT_NEED_MORE);
        ASSERT_EQ_INT(pos + c, b.size);

        ASSERT_EQ_INT(ws_decoder_feed(&d, NULL, 0, &c, &ev), 0);
        ASSERT_EQ_INT(ev.type, WS_EVENT_NEED_MORE);
        ASSERT_EQ_INT(c, 0);
        ws_decoder_done(&d);
}

/* Every valid case above in one stream, fed one byte at a time by decode(). */
TEST(test_byte_by_byte_stream) {
        static const uint8_t hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
        _cleanup_(buf_done) Buf b = { 0 };
        _cleanup_(freep) uint8_t *big = calloc(1, 70000);
        Events e, whole;

        ASSERT_TRUE(big);
        big[0] = 1;
        big[69999] = 2;
        buf_add(&b, hello, sizeof(hello));
        add_text(&b, WS_OP_TEXT, "Hel");
        add_text(&b, FIN | WS_OP_PING, "p");
        add_text(&b, FIN | WS_OP_CONTINUATION, "lo");
        add_frame(&b, FIN | WS_OP_BINARY, big, 300);
        add_frame(&b, FIN | WS_OP_BINARY, big, 70000);
        add_text(&b, WS_OP_TEXT, "\xce\xba\xcf");
        add_text(&b, FIN | WS_OP_CONTINUATION, "\x8c\xcf\x83\xce\xbc\xce\xb5");
        add_text(&b, FIN | WS_OP_PONG, "q");
        add_close(&b, 1000, "bye");

        feed_chunked(b.data, b.size, 1, 0, &e);
        feed_chunked(b.data, b.size, b.size, 0, &whole);
        assert_same_events(&e, &whole);

        ASSERT_EQ_INT(e.n, 8);
        ASSERT_EQ_INT(e.consumed, b.size);
        assert_text(&e.rec[0], "Hello");
        ASSERT_EQ_INT(e.rec[1].type, WS_EVENT_PING);
        assert_text(&e.rec[2], "Hello");
        assert_message(&e.rec[3], WS_OP_BINARY, big, 300);
        assert_message(&e.rec[4], WS_OP_BINARY, big, 70000);
        assert_text(&e.rec[5], "κόσμε");
        ASSERT_EQ_INT(e.rec[6].type, WS_EVENT_PONG);
        ASSERT_EQ_INT(e.rec[7].type, WS_EVENT_CLOSE);
        ASSERT_EQ_INT(e.rec[7].code, 1000);
        events_done(&e);
        events_done(&whole);
}

/* ---- Decoding: protocol errors ---- */

TEST(test_unmasked_refused) {
        static const uint8_t frame[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f }; /* RFC 6455 5.7 */
        Events e;

        decode_max(frame, sizeof(frame), 0, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_error(&e, WS_CLOSE_PROTOCOL_ERROR);
        ASSERT_EQ_INT(e.consumed, 2); /* the second byte already condemns it */
        events_done(&e);
}

TEST(test_unknown_opcodes_refused) {
        static const uint8_t ops[] = { 0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf };

        for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                assert_frame_refused(FIN | ops[i], "x", 1, WS_CLOSE_PROTOCOL_ERROR);
}

TEST(test_rsv_bits_refused) {
        assert_frame_refused(FIN | RSV1 | WS_OP_TEXT, "x", 1, WS_CLOSE_PROTOCOL_ERROR);
        assert_frame_refused(FIN | RSV2 | WS_OP_BINARY, "x", 1, WS_CLOSE_PROTOCOL_ERROR);
        assert_frame_refused(FIN | RSV3 | WS_OP_PING, "x", 1, WS_CLOSE_PROTOCOL_ERROR);
}

TEST(test_length_top_bit_refused) {
        static const uint8_t frame[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x37, 0xfa, 0x21, 0x3d };
        Events e;

        decode_max(frame, sizeof(frame), 0, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_error(&e, WS_CLOSE_PROTOCOL_ERROR);
        events_done(&e);
}

TEST(test_declared_length_over_max_not_allocated) {
        /* 2^40 bytes announced, 1 MiB allowed: refused on the header alone, nothing allocated. */
        static const uint8_t frame[] = { 0x82, 0xff, 0, 0, 0x01, 0, 0, 0, 0, 0, /* 2^40 */
                                         0x37, 0xfa, 0x21, 0x3d, 'x' };
        Events e;

        decode_max(frame, sizeof(frame), MIB, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_error(&e, WS_CLOSE_TOO_BIG);
        ASSERT_EQ_INT(e.consumed, 14);
        ASSERT_EQ_INT(e.max_alloc, 0);
        events_done(&e);
}

TEST(test_single_frame_over_max_refused) {
        _cleanup_(freep) uint8_t *p = calloc(1, 1001);
        _cleanup_(buf_done) Buf ok = { 0 }, big = { 0 };
        Events e;

        ASSERT_TRUE(p);
        add_frame(&ok, FIN | WS_OP_BINARY, p, 1000);
        decode_max(ok.data, ok.size, 1000, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_message(&e.rec[0], WS_OP_BINARY, p, 1000);
        ASSERT_TRUE(e.max_alloc <= 1000);
        events_done(&e);

        add_frame(&big, FIN | WS_OP_BINARY, p, 1001);
        decode_max(big.data, big.size, 1000, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_error(&e, WS_CLOSE_TOO_BIG);
        ASSERT_EQ_INT(e.max_alloc, 0);
        events_done(&e);
}

TEST(test_fragmented_over_max_refused) {
        _cleanup_(freep) uint8_t *p = calloc(1, 600);
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        ASSERT_TRUE(p);
        add_frame(&b, WS_OP_BINARY, p, 600);
        add_text(&b, FIN | WS_OP_PING, "still fine");
        add_frame(&b, WS_OP_CONTINUATION, p, 400); /* exactly at the limit */
        add_frame(&b, FIN | WS_OP_CONTINUATION, p, 1);
        decode_max(b.data, b.size, 1000, &e);

        ASSERT_EQ_INT(e.n, 2);
        ASSERT_EQ_INT(e.rec[0].type, WS_EVENT_PING);
        assert_error(&e, WS_CLOSE_TOO_BIG);
        ASSERT_TRUE(e.max_alloc <= 1000);
        events_done(&e);
}

/* A peer that announces a large frame and then trickles gets memory for what it sent, not for what it
 * announced. */
TEST(test_memory_follows_received_bytes) {
        static const uint8_t header[] = { 0x82, 0xff, 0, 0, 0, 0, 0, 0x0f, 0, 0, 0x37, 0xfa, 0x21, 0x3d };
        uint8_t chunk[100] = { 0 };
        WsDecoder d;
        WsEvent ev;
        size_t c;

        ws_decoder_init(&d, MIB);
        ASSERT_EQ_INT(ws_decoder_feed(&d, header, sizeof(header), &c, &ev), 0);
        ASSERT_EQ_INT(ev.type, WS_EVENT_NEED_MORE);
        ASSERT_EQ_INT(d.message_alloc, 0);
        ASSERT_EQ_INT(ws_decoder_feed(&d, chunk, sizeof(chunk), &c, &ev), 0);
        ASSERT_EQ_INT(ev.type, WS_EVENT_NEED_MORE);
        ASSERT_TRUE(d.message_alloc >= 100 && d.message_alloc < 64 * 1024);
        ws_decoder_done(&d);
}

/* After a big message the buffer goes, so an idle connection holds little. */
TEST(test_big_buffer_released_after_message) {
        _cleanup_(freep) uint8_t *p = calloc(1, 200000);
        _cleanup_(buf_done) Buf b = { 0 };
        WsDecoder d;
        WsEvent ev;
        size_t c;

        ASSERT_TRUE(p);
        add_frame(&b, FIN | WS_OP_BINARY, p, 200000);
        add_text(&b, FIN | WS_OP_PING, "");

        ws_decoder_init(&d, 0);
        ASSERT_EQ_INT(ws_decoder_feed(&d, b.data, b.size, &c, &ev), 0);
        ASSERT_EQ_INT(ev.type, WS_EVENT_MESSAGE);
        ASSERT_EQ_INT(ev.size, 200000);
        ASSERT_TRUE(d.message_alloc >= 200000);
        ASSERT_EQ_INT(ws_decoder_feed(&d, b.data + c, b.size - c, &c, &ev), 0);
        ASSERT_EQ_INT(ev.type, WS_EVENT_PING);
        ASSERT_EQ_INT(d.message_alloc, 0);
        ws_decoder_done(&d);
}

TEST(test_control_over_125_refused) {
        char p[126];

        memset(p, 'x', sizeof(p));
        assert_frame_refused(FIN | WS_OP_PING, p, 126, WS_CLOSE_PROTOCOL_ERROR);
        assert_frame_refused(FIN | WS_OP_PONG, p, 126, WS_CLOSE_PROTOCOL_ERROR);
        assert_frame_refused(FIN | WS_OP_CLOSE, p, 126, WS_CLOSE_PROTOCOL_ERROR);

        /* 125 is the most allowed. */
        {
                _cleanup_(buf_done) Buf b = { 0 };
                Events e;

                add_frame(&b, FIN | WS_OP_PING, p, 125);
                decode(&b, &e);
                ASSERT_EQ_INT(e.n, 1);
                ASSERT_EQ_INT(e.rec[0].type, WS_EVENT_PING);
                ASSERT_EQ_INT(e.rec[0].size, 125);
                events_done(&e);
        }
}

TEST(test_control_without_fin_refused) {
        assert_frame_refused(WS_OP_PING, "x", 1, WS_CLOSE_PROTOCOL_ERROR);
        assert_frame_refused(WS_OP_PONG, "", 0, WS_CLOSE_PROTOCOL_ERROR);
        assert_frame_refused(WS_OP_CLOSE, "\x03\xe8", 2, WS_CLOSE_PROTOCOL_ERROR);
}

TEST(test_continuation_without_start_refused) {
        assert_frame_refused(FIN | WS_OP_CONTINUATION, "lo", 2, WS_CLOSE_PROTOCOL_ERROR);
        assert_frame_refused(WS_OP_CONTINUATION, "lo", 2, WS_CLOSE_PROTOCOL_ERROR);

        /* Nor after a message has ended. */
        {
                _cleanup_(buf_done) Buf b = { 0 };
                Events e;

                add_text(&b, FIN | WS_OP_TEXT, "done");
                add_text(&b, FIN | WS_OP_CONTINUATION, "more");
                decode(&b, &e);
                ASSERT_EQ_INT(e.n, 2);
                assert_text(&e.rec[0], "done");
                assert_error(&e, WS_CLOSE_PROTOCOL_ERROR);
                events_done(&e);
        }
}

TEST(test_new_message_inside_fragmented_refused) {
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        add_text(&b, WS_OP_TEXT, "Hel");
        add_frame(&b, FIN | WS_OP_BINARY, "x", 1);
        decode(&b, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_error(&e, WS_CLOSE_PROTOCOL_ERROR);
        events_done(&e);
}

/* ---- UTF-8 ---- */

TEST(test_utf8_valid_function) {
        static const char *const good[] = {
                "", "plain ascii", "κόσμε", "\xf0\x9f\x98\x80" /* U+1F600 */,
                "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf" /* U+D7FF */,
                "\xee\x80\x80" /* U+E000 */, "\xef\xbf\xbf", "\xf0\x90\x80\x80",
                "\xf4\x8f\xbf\xbf" /* U+10FFFF */,
        };
        static const char *const bad[] = {
                "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf",    /* overlong */
                "\xed\xa0\x80", "\xed\xbf\xbf",                                /* surrogates */
                "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",                /* above U+10FFFF */
                "\xe2\x82", "\xf0\x9f\x98", "\xce",                            /* truncated */
                "\x80", "a\xbfz", "\xe2\x28\xa1", "\xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ASSERT_TRUE(ws_utf8_valid((const uint8_t *) good[i], strlen(good[i])));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_TRUE(!ws_utf8_valid((const uint8_t *) bad[i], strlen(bad[i])));

        ASSERT_TRUE(ws_utf8_valid((const uint8_t *) "a\0b", 3)); /* NUL is a character like any other */
        ASSERT_TRUE(ws_utf8_valid(NULL, 0));
}

TEST(test_invalid_utf8_text_refused) {
        assert_text_refused("\xc0\xaf");
        assert_text_refused("\xed\xa0\x80");
        assert_text_refused("\xf4\x90\x80\x80");
        assert_text_refused("\xe2\x82");
        assert_text_refused("Hello\xe2\x82");
}

TEST(test_valid_multibyte_text) {
        static const char *const texts[] = { "κόσμε", "\xf0\x9f\x98\x80", "a\xf4\x8f\xbf\xbfz", "€1" };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                _cleanup_(buf_done) Buf b = { 0 };
                Events e;

                add_text(&b, FIN | WS_OP_TEXT, texts[i]);
                decode(&b, &e);
                ASSERT_EQ_INT(e.n, 1);
                assert_text(&e.rec[0], texts[i]);
                events_done(&e);
        }
}

TEST(test_utf8_split_across_fragments) {
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        /* U+1F600 cut after each of its first three bytes. */
        add_text(&b, WS_OP_TEXT, "\xf0");
        add_text(&b, WS_OP_CONTINUATION, "\x9f");
        add_text(&b, FIN | WS_OP_PING, "");
        add_text(&b, FIN | WS_OP_CONTINUATION, "\x98\x80!");
        decode(&b, &e);
        ASSERT_EQ_INT(e.n, 2);
        ASSERT_EQ_INT(e.rec[0].type, WS_EVENT_PING);
        assert_text(&e.rec[1], "\xf0\x9f\x98\x80!");
        events_done(&e);
}

TEST(test_utf8_invalid_across_fragments_refused) {
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        add_text(&b, WS_OP_TEXT, "ok \xed");
        add_text(&b, FIN | WS_OP_CONTINUATION, "\xa0\x80"); /* a surrogate, in two halves */
        decode(&b, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_error(&e, WS_CLOSE_INVALID_DATA);
        events_done(&e);
}

/* ---- Close frames ---- */

TEST(test_close_with_code_and_reason) {
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        add_close(&b, 1001, "going away");
        add_text(&b, FIN | WS_OP_TEXT, "never read");
        decode(&b, &e);
        ASSERT_EQ_INT(e.n, 1);
        ASSERT_EQ_INT(e.rec[0].type, WS_EVENT_CLOSE);
        ASSERT_EQ_INT(e.rec[0].opcode, WS_OP_CLOSE);
        ASSERT_EQ_INT(e.rec[0].code, 1001);
        ASSERT_STREQ(e.rec[0].reason, "going away");
        ASSERT_EQ_INT(e.rec[0].size, strlen("going away"));
        ASSERT_EQ_INT(e.consumed, 2 + 4 + 2 + strlen("going away"));
        events_done(&e);
}

TEST(test_close_without_payload) {
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        add_frame(&b, FIN | WS_OP_CLOSE, NULL, 0);
        decode(&b, &e);
        ASSERT_EQ_INT(e.n, 1);
        ASSERT_EQ_INT(e.rec[0].type, WS_EVENT_CLOSE);
        ASSERT_EQ_INT(e.rec[0].code, WS_CLOSE_NO_STATUS);
        ASSERT_EQ_INT(e.rec[0].size, 0);
        ASSERT_STREQ(e.rec[0].reason, "");
        events_done(&e);
}

TEST(test_close_one_byte_refused) {
        assert_frame_refused(FIN | WS_OP_CLOSE, "\x03", 1, WS_CLOSE_PROTOCOL_ERROR);
}

TEST(test_close_codes) {
        static const uint16_t good[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                         1012, 1013, 1014, 3000, 3999, 4000, 4999 };
        static const uint16_t bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016,
                                        1100, 2000, 2999, 5000, 65535 };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_(buf_done) Buf b = { 0 };
                Events e;

                add_close(&b, good[i], "");
                decode(&b, &e);
                ASSERT_EQ_INT(e.n, 1);
                ASSERT_EQ_INT(e.rec[0].type, WS_EVENT_CLOSE);
                ASSERT_EQ_INT(e.rec[0].code, good[i]);
                events_done(&e);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                uint8_t body[2] = { (uint8_t) (bad[i] >> 8), (uint8_t) bad[i] };

                assert_frame_refused(FIN | WS_OP_CLOSE, body, 2, WS_CLOSE_PROTOCOL_ERROR);
        }
}

TEST(test_close_reason_not_utf8_refused) {
        assert_frame_refused(FIN | WS_OP_CLOSE, "\x03\xe8" "bye\xc0\xaf", 7, WS_CLOSE_INVALID_DATA);
}

TEST(test_nothing_read_after_error) {
        _cleanup_(buf_done) Buf b = { 0 };
        Events e;

        add_frame(&b, FIN | RSV1 | WS_OP_TEXT, "x", 1);
        add_text(&b, FIN | WS_OP_TEXT, "never read");
        decode(&b, &e);
        ASSERT_EQ_INT(e.n, 1);
        assert_error(&e, WS_CLOSE_PROTOCOL_ERROR);
        ASSERT_EQ_INT(e.consumed, 2);
        events_done(&e);
}

TEST(test_feed_bad_arguments) {
        WsDecoder d;
        WsEvent ev;
        size_t c;

        ws_decoder_init(&d, 0);
        ASSERT_EQ_INT(d.max_message, WS_MESSAGE_MAX);
        ASSERT_EQ_INT(ws_decoder_feed(&d, NULL, 1, &c, &ev), -EINVAL);
        ASSERT_EQ_INT(ws_decoder_feed(&d, (const uint8_t *) "", 0, NULL, &ev), -EINVAL);
        ws_decoder_done(&d);
        ws_decoder_done(&d);
        ws_decoder_done(NULL);
}

/* ---- Encoding ---- */

TEST(test_encode_lengths_roundtrip) {
        static const struct {
                size_t n;
                size_t header;
        } v[] = { { 0, 2 }, { 125, 2 }, { 126, 4 }, { 65535, 4 }, { 65536, 10 } };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                _cleanup_(freep) uint8_t *p = malloc(v[i].n + 1), *frame = NULL;
                _cleanup_(buf_done) Buf masked = { 0 };
                size_t size = 0;
                Events e;

                ASSERT_TRUE(p);
                for (size_t k = 0; k < v[i].n; k++)
                        p[k] = (uint8_t) (k ^ (k >> 8));
                ASSERT_EQ_INT(ws_frame_encode(WS_OP_BINARY, p, v[i].n, &frame, &size), 0);
                ASSERT_EQ_INT(size, v[i].header + v[i].n);
                ASSERT_EQ_INT(frame[0], FIN | WS_OP_BINARY);
                ASSERT_EQ_INT(frame[1] & 0x80, 0); /* never masked */
                ASSERT_EQ_INT(frame[1] & 0x7f, v[i].header == 2 ? v[i].n : v[i].header == 4 ? 126 : 127);
                ASSERT_TRUE(memcmp(frame + v[i].header, p, v[i].n) == 0);

                mask_server_frame(frame, size, &masked);
                decode(&masked, &e);
                ASSERT_EQ_INT(e.n, 1);
                assert_message(&e.rec[0], WS_OP_BINARY, p, v[i].n);
                events_done(&e);
        }
}

TEST(test_encode_text_and_controls) {
        static const uint8_t hello[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f }; /* RFC 6455 5.7 */
        static const uint8_t ping[] = { 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
        _cleanup_(freep) uint8_t *a = NULL, *b = NULL, *c = NULL;
        size_t n;

        ASSERT_EQ_INT(ws_frame_encode(WS_OP_TEXT, "Hello", 5, &a, &n), 0);
        ASSERT_EQ_INT(n, sizeof(hello));
        ASSERT_TRUE(memcmp(a, hello, n) == 0);
        ASSERT_EQ_INT(ws_frame_encode(WS_OP_PING, "Hello", 5, &b, &n), 0);
        ASSERT_EQ_INT(n, sizeof(ping));
        ASSERT_TRUE(memcmp(b, ping, n) == 0);
        ASSERT_EQ_INT(ws_frame_encode(WS_OP_PONG, NULL, 0, &c, &n), 0);
        ASSERT_EQ_INT(n, 2);
        ASSERT_EQ_INT(c[0], 0x8a);
        ASSERT_EQ_INT(c[1], 0);
}

TEST(test_encode_refuses) {
        char big[126] = { 0 };
        uint8_t *out = NULL;
        size_t n = 0;

        ASSERT_EQ_INT(ws_frame_encode(WS_OP_CONTINUATION, "x", 1, &out, &n), -EINVAL);
        ASSERT_EQ_INT(ws_frame_encode(WS_OP_PING, big, 126, &out, &n), -EINVAL);
        ASSERT_EQ_INT(ws_frame_encode(WS_OP_CLOSE, big, 126, &out, &n), -EINVAL);
        ASSERT_EQ_INT(ws_frame_encode((WsOpcode) 0x3, "x", 1, &out, &n), -EINVAL);
        ASSERT_EQ_INT(ws_frame_encode(WS_OP_TEXT, NULL, 1, &out, &n), -EINVAL);
        ASSERT_EQ_INT(ws_frame_encode_close(1005, NULL, &out, &n), -EINVAL);
        ASSERT_EQ_INT(ws_frame_encode_close(0, "x", &out, &n), -EINVAL);
        ASSERT_TRUE(out == NULL);
        ASSERT_EQ_INT(n, 0);
}

TEST(test_encode_close) {
        static const uint8_t expect[] = { 0x88, 0x05, 0x03, 0xf1, 'b', 'i', 'g' };
        _cleanup_(freep) uint8_t *a = NULL, *b = NULL;
        size_t n;

        ASSERT_EQ_INT(ws_frame_encode_close(WS_CLOSE_TOO_BIG, "big", &a, &n), 0);
        ASSERT_EQ_INT(n, sizeof(expect));
        ASSERT_TRUE(memcmp(a, expect, n) == 0);

        ASSERT_EQ_INT(ws_frame_encode_close(WS_CLOSE_NORMAL, NULL, &b, &n), 0);
        ASSERT_EQ_INT(n, 4);
        ASSERT_EQ_INT(b[1], 2);
        ASSERT_EQ_INT(b[2] << 8 | b[3], 1000);
}

static void assert_close_roundtrip(const char *reason, uint16_t code, size_t expect_len) {
        _cleanup_(freep) uint8_t *frame = NULL;
        _cleanup_(buf_done) Buf masked = { 0 };
        size_t n;
        Events e;

        ASSERT_EQ_INT(ws_frame_encode_close(code, reason, &frame, &n), 0);
        ASSERT_EQ_INT(n, 2 + 2 + expect_len);
        ASSERT_TRUE(memcmp(frame + 4, reason, expect_len) == 0);

        mask_server_frame(frame, n, &masked);
        decode(&masked, &e);
        ASSERT_EQ_INT(e.n, 1);
        ASSERT_EQ_INT(e.rec[0].type, WS_EVENT_CLOSE);
        ASSERT_EQ_INT(e.rec[0].code, code);
        ASSERT_EQ_INT(e.rec[0].size, expect_len);
        events_done(&e);
}

TEST(test_encode_close_truncates_reason) {
        char reason[300];

        memset(reason, 'r', sizeof(reason) - 1);
        reason[sizeof(reason) - 1] = 0;
        assert_close_roundtrip(reason, 1011, 123);

        reason[123] = 0;
        assert_close_roundtrip(reason, 1011, 123);
        reason[122] = 0;
        assert_close_roundtrip(reason, 1011, 122);

        /* 61 two-byte characters are 122 bytes; a 62nd would straddle the limit and is left out. */
        reason[0] = 0;
        for (size_t i = 0; i < 70; i++)
                strcat(reason, "κ");
        assert_close_roundtrip(reason, 4000, 122);
        /* Shifted by one, the cut falls after a full character. */
        memmove(reason + 1, reason, strlen(reason) + 1);
        reason[0] = 'x';
        assert_close_roundtrip(reason, 4000, 123);
}

/* A server streaming a fragmented answer feeds only control frames: whatever the chunking, pings and a
 * close behind it are decoded, and the data frame between them is never consumed. */
TEST(test_next_is_control_leaves_data_frames) {
        _cleanup_(buf_done) Buf b = { 0 };
        size_t ping_end, data_end;

        add_text(&b, FIN | WS_OP_PING, "p1");
        ping_end = b.size;
        add_text(&b, FIN | WS_OP_TEXT, "{\"cmd\":\"status\"}");
        data_end = b.size;
        add_text(&b, FIN | WS_OP_PING, "p2");

        for (size_t chunk = 1; chunk <= b.size; chunk++) {
                WsDecoder d;
                size_t done = 0, avail = 0, pings = 0;

                ws_decoder_init(&d, 0);
                /* Bytes arrive chunk by chunk; control frames at the head are fed as soon as they show. */
                while (avail < b.size) {
                        avail = MIN(avail + chunk, b.size);
                        while (done < avail && ws_decoder_next_is_control(&d, b.data + done, avail - done)) {
                                WsEvent e;
                                size_t used = 0;

                                ASSERT_EQ_INT(ws_decoder_feed(&d, b.data + done, avail - done, &used, &e), 0);
                                done += used;
                                pings += e.type == WS_EVENT_PING;
                                ASSERT_TRUE(e.type == WS_EVENT_PING || e.type == WS_EVENT_NEED_MORE);
                        }
                        ASSERT_TRUE(done <= ping_end || done == avail); /* stopped at the data frame */
                }
                ASSERT_EQ_INT(done, ping_end);
                ASSERT_EQ_INT(pings, 1);
                /* After the stream, normal feeding reads the message, then the second ping. */
                {
                        WsEvent e;
                        size_t used = 0;

                        ASSERT_EQ_INT(ws_decoder_feed(&d, b.data + done, b.size - done, &used, &e), 0);
                        ASSERT_EQ_INT(e.type, WS_EVENT_MESSAGE);
                        ASSERT_EQ_INT(done + used, data_end);
                        done += used;
                        ASSERT_TRUE(ws_decoder_next_is_control(&d, b.data + done, b.size - done));
                        ASSERT_EQ_INT(ws_decoder_feed(&d, b.data + done, b.size - done, &used, &e), 0);
                        ASSERT_EQ_INT(e.type, WS_EVENT_PING);
                }
                ws_decoder_done(&d);
        }
}

TEST(test_next_is_control_false_after_close) {
        _cleanup_(buf_done) Buf b = { 0 };
        WsDecoder d;
        WsEvent e;
        size_t used = 0;

        add_close(&b, 1000, "bye");
        add_text(&b, FIN | WS_OP_PING, "late");
        ws_decoder_init(&d, 0);
        ASSERT_TRUE(ws_decoder_next_is_control(&d, b.data, b.size));
        ASSERT_EQ_INT(ws_decoder_feed(&d, b.data, b.size, &used, &e), 0);
        ASSERT_EQ_INT(e.type, WS_EVENT_CLOSE);
        ASSERT_TRUE(!ws_decoder_next_is_control(&d, b.data + used, b.size - used)); /* the decoder is done */
        ASSERT_TRUE(!ws_decoder_next_is_control(&d, NULL, 0));
        ws_decoder_done(&d);
}

int main(void) {
        RUN(test_sha1_abc);
        RUN(test_sha1_empty);
        RUN(test_sha1_448_bits);
        RUN(test_sha1_896_bits);
        RUN(test_sha1_million_a);
        RUN(test_sha1_padding_edges);
        RUN(test_accept_key_rfc_example);
        RUN(test_accept_key_bad);
        RUN(test_rfc_masked_hello);
        RUN(test_rfc_masked_pong);
        RUN(test_fragmented_with_ping_between);
        RUN(test_fragmented_many_pieces);
        RUN(test_length_16bit);
        RUN(test_length_64bit);
        RUN(test_length_non_minimal_accepted);
        RUN(test_binary_message);
        RUN(test_empty_frames);
        RUN(test_one_event_per_call);
        RUN(test_byte_by_byte_stream);
        RUN(test_unmasked_refused);
        RUN(test_next_is_control_leaves_data_frames);
        RUN(test_next_is_control_false_after_close);
        RUN(test_unknown_opcodes_refused);
        RUN(test_rsv_bits_refused);
        RUN(test_length_top_bit_refused);
        RUN(test_declared_length_over_max_not_allocated);
        RUN(test_single_frame_over_max_refused);
        RUN(test_fragmented_over_max_refused);
        RUN(test_memory_follows_received_bytes);
        RUN(test_big_buffer_released_after_message);
        RUN(test_control_over_125_refused);
        RUN(test_control_without_fin_refused);
        RUN(test_continuation_without_start_refused);
        RUN(test_new_message_inside_fragmented_refused);
        RUN(test_utf8_valid_function);
        RUN(test_invalid_utf8_text_refused);
        RUN(test_valid_multibyte_text);
        RUN(test_utf8_split_across_fragments);
        RUN(test_utf8_invalid_across_fragments_refused);
        RUN(test_close_with_code_and_reason);
        RUN(test_close_without_payload);
        RUN(test_close_one_byte_refused);
        RUN(test_close_codes);
        RUN(test_close_reason_not_utf8_refused);
        RUN(test_nothing_read_after_error);
        RUN(test_feed_bad_arguments);
        RUN(test_encode_lengths_roundtrip);
        RUN(test_encode_text_and_controls);
        RUN(test_encode_refuses);
        RUN(test_encode_close);
        RUN(test_encode_close_truncates_reason);
        return 0;
}
