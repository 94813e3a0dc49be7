/* SPDX-License-Identifier: MIT */
/* The websocket connection's message state (src/web/ws-frame.c: fragmentation, continuation, control frames
 * between fragments, the message cap, close handshake) against a model. The input is a script of client
 * frames; they are encoded as a client would (masked, any length form), the model says which events the
 * server must see, and the bytes are fed in arbitrary reads, sometimes the way http-server.c feeds a client
 * whose answer is still streaming (only while the next frame is a control frame). Every event must be the
 * model's, in order, with the same payload. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "ws-frame.h"

#define STREAM_MAX (64 * 1024)
#define EVENTS_MAX 512

typedef struct Expected {
        WsEventType type;
        WsOpcode opcode;
        uint16_t close_code;
        size_t offset, size; /* payload in the arena */
} Expected;

typedef struct Script {
        uint8_t stream[STREAM_MAX + 32];
        size_t stream_size;
        bool full;

        /* the model */
        size_t max_message;
        bool open, finished;
        WsOpcode message_opcode;
        uint8_t message[4096];
        size_t message_size;
        Expected events[EVENTS_MAX];
        size_t n_events;
        uint8_t arena[EVENTS_MAX * 128 + 4096 * 16];
        size_t arena_size;
} Script;

static bool close_code_valid(uint16_t code) {
        return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

static void expect(Script *s, WsEventType type, WsOpcode op, uint16_t code, const uint8_t *payload, size_t size) {
        Expected *e;

        if (s->n_events >= EVENTS_MAX || size > sizeof(s->arena) - s->arena_size) {
                s->full = true;
                return;
        }
        e = &s->events[s->n_events++];
        *e = (Expected) { type, op, code, s->arena_size, size };
        if (size > 0)
                memcpy(s->arena + s->arena_size, payload, size);
        s->arena_size += size;
        if (type == WS_EVENT_CLOSE || type == WS_EVENT_ERROR)
                s->finished = true;
}

/* Appends a client frame: header in the chosen length form (0: shortest, 1: 16-bit, 2: 64-bit), mask key,
 * masked payload. declared is the length the header states (payload may be shorter for the last frame). */
static void put_frame(Script *s, uint8_t b0, unsigned form, uint64_t declared, const uint8_t mask[4],
                      const uint8_t *payload, size_t n) {
        uint8_t *p = s->stream + s->stream_size;

        *p++ = b0;
        if (form == 0 && declared <= 125)
                *p++ = (uint8_t) (0x80 | declared);
        else if (form <= 1 && declared <= UINT16_MAX) {
                *p++ = 0x80 | 126;
                *p++ = (uint8_t) (declared >> 8);
                *p++ = (uint8_t) declared;
        } else {
                *p++ = 0x80 | 127;
                for (unsigned i = 0; i < 8; i++)
                        *p++ = (uint8_t) (declared >> (56 - 8 * i));
        }
        memcpy(p, mask, 4);
        p += 4;
        for (size_t i = 0; i < n; i++)
                *p++ = payload[i] ^ mask[i & 3];
        s->stream_size = (size_t) (p - s->stream);
}

/* The close code a data frame's header earns, or 0 when it is fine. */
static uint16_t data_header_error(const Script *s, WsOpcode op, uint64_t declared) {
        if ((op == WS_OP_CONTINUATION) != s->open)
                return WS_CLOSE_PROTOCOL_ERROR; /* a continuation without a message, or a new one inside */
        if (declared >> 63)
                return WS_CLOSE_PROTOCOL_ERROR;
        if (declared > s->max_message - s->message_size)
                return WS_CLOSE_TOO_BIG;
        return 0;
}

/* A data frame (TEXT, BINARY or CONTINUATION) as the decoder must take it. */
static void model_data(Script *s, WsOpcode op, bool fin, uint64_t declared, size_t n, const uint8_t *payload) {
        uint16_t code = data_header_error(s, op, declared);

        if (code != 0 || declared > n) { /* cut short: the decoder waits for the rest */
                if (code != 0)
                        expect(s, WS_EVENT_ERROR, 0, code, NULL, 0);
                return;
        }
        memcpy(s->message + s->message_size, payload, n);
        s->message_size += n;
        if (op != WS_OP_CONTINUATION) {
                s->open = true;
                s->message_opcode = op;
        }
        if (!fin)
                return;
        if (s->message_opcode == WS_OP_TEXT && !ws_utf8_valid(s->message, s->message_size))
                expect(s, WS_EVENT_ERROR, 0, WS_CLOSE_INVALID_DATA, NULL, 0);
        else
                expect(s, WS_EVENT_MESSAGE, s->message_opcode, 0, s->message, s->message_size);
        s->open = false;
        s->message_size = 0;
}

/* The close code a close frame's body earns, or 0 when it is fine. */
static uint16_t close_body_error(const uint8_t *body, size_t n) {
        if (n == 0)
                return 0;
        if (n == 1 || !close_code_valid((uint16_t) (body[0] << 8 | body[1])))
                return WS_CLOSE_PROTOCOL_ERROR;
        return ws_utf8_valid(body + 2, n - 2) ? 0 : WS_CLOSE_INVALID_DATA;
}

static void model_close(Script *s, const uint8_t *body, size_t n) {
        uint16_t code = close_body_error(body, n);

        if (code != 0)
                expect(s, WS_EVENT_ERROR, 0, code, NULL, 0);
        else if (n == 0)
                expect(s, WS_EVENT_CLOSE, WS_OP_CLOSE, WS_CLOSE_NO_STATUS, NULL, 0);
        else
                expect(s, WS_EVENT_CLOSE, WS_OP_CLOSE, (uint16_t) (body[0] << 8 | body[1]), body + 2, n - 2);
}

static void script_build(Script *s, FuzzInput *in) {
        static const WsOpcode data_ops[4] = { WS_OP_CONTINUATION, WS_OP_TEXT, WS_OP_BINARY, WS_OP_CONTINUATION };

        while (in->n > 0 && !s->finished && !s->full && s->stream_size < STREAM_MAX - 300) {
                uint8_t a = fuzz_u8(in), mask[4];
                WsOpcode op = data_ops[(a >> 3) & 3];
                bool fin = a & 0x20;
                unsigned form = a >> 6;
                const uint8_t *payload;
                uint64_t declared;
                size_t n;

                for (unsigned i = 0; i < 4; i++)
                        mask[i] = fuzz_u8(in);
                switch (a & 7) {
                case 0:
                case 1:
                case 2: /* a data frame */
                        n = fuzz_bytes(in, fuzz_u8(in), &payload);
                        put_frame(s, (uint8_t) ((fin ? 0x80 : 0) | op), form, n, mask, payload, n);
                        model_data(s, op, fin, n, n, payload);
                        break;
                case 3: /* ping */
                case 4: /* pong */
                        n = fuzz_bytes(in, fuzz_u8(in) % (WS_CONTROL_MAX + 1), &payload);
                        put_frame(s, (uint8_t) (0x80 | ((a & 7) == 3 ? WS_OP_PING : WS_OP_PONG)), 0, n, mask, payload,
                                  n);
                        expect(s, (a & 7) == 3 ? WS_EVENT_PING : WS_EVENT_PONG, (a & 7) == 3 ? WS_OP_PING : WS_OP_PONG,
                               0, payload, n);
                        break;
                case 5: /* close, with whatever body */
                        n = fuzz_bytes(in, fuzz_u8(in) % (WS_CONTROL_MAX + 1), &payload);
                        put_frame(s, 0x80 | WS_OP_CLOSE, 0, n, mask, payload, n);
                        model_close(s, payload, n);
                        break;
                case 6: /* a control frame that breaks the rules: fragmented, or over 125 bytes */
                        n = fuzz_bytes(in, fuzz_u8(in) % (WS_CONTROL_MAX + 1), &payload);
                        if (fin)
                                put_frame(s, 0x80 | WS_OP_PING, 1, n, mask, payload, n); /* len7 126 */
                        else
                                put_frame(s, WS_OP_PING, 0, n, mask, payload, n);
                        expect(s, WS_EVENT_ERROR, 0, WS_CLOSE_PROTOCOL_ERROR, NULL, 0);
                        break;
                default: /* a data frame that declares more than follows: the last one */
                        declared = fuzz_uint(in, 8);
                        n = fuzz_bytes(in, fuzz_u8(in), &payload);
                        if (declared <= n)
                                declared = n + 1;
                        put_frame(s, (uint8_t) ((fin ? 0x80 : 0) | op), 2, declared, mask, payload, n);
                        model_data(s, op, fin, declared, n, payload);
                        return;
                }
        }
}

static void check_event(const Script *s, size_t *k, const WsEvent *e) {
        const Expected *x;

        if (e->type == WS_EVENT_NEED_MORE)
                return;
        FUZZ_CHECK(*k < s->n_events);
        x = &s->events[(*k)++];
        if (e->type != x->type)
                fprintf(stderr, "event %zu: type %d, model %d (%s)\n", *k - 1, e->type, x->type,
                        e->type == WS_EVENT_ERROR ? e->reason : "");
        FUZZ_CHECK(e->type == x->type);
        switch (e->type) {
        case WS_EVENT_ERROR:
                FUZZ_CHECK(e->close_code == x->close_code);
                break;
        case WS_EVENT_CLOSE:
                FUZZ_CHECK(e->close_code == x->close_code);
                FUZZ_CHECK(e->reason[e->size] == 0);
                /* fall through */
        default:
                FUZZ_CHECK(e->opcode == x->opcode);
                FUZZ_CHECK(e->size == x->size);
                FUZZ_CHECK(e->size == 0 || memcmp(e->payload, s->arena + x->offset, e->size) == 0);
        }
}

static Script script;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        Script *s = &script;
        uint8_t options = fuzz_u8(&in);
        uint32_t seed = (uint32_t) fuzz_u8(&in) * 2246822519u | 1;
        size_t avail = 0, done = 0, k = 0;
        bool finished = false;
        WsDecoder d;

        s->stream_size = s->message_size = s->n_events = s->arena_size = 0;
        s->full = s->open = s->finished = false;
        s->max_message = (size_t) (options & 0x3f) * 64 + 1;
        script_build(s, &in);
        if (s->full)
                return 0;

        ws_decoder_init(&d, s->max_message);
        for (unsigned step = 0; done < s->stream_size && !finished; step++) {
                uint32_t pick = fuzz_rand(&seed);
                /* busy: an answer is streaming to this client, so only control frames are read */
                bool busy = pick % 3 == 0 && step % 8 != 7;
                size_t chunk = pick & 0x100 ? s->stream_size : 1 + (pick >> 9) % 23;

                avail += chunk < s->stream_size - avail ? chunk : s->stream_size - avail;
                while (done < avail && !finished) {
                        bool control_next = ws_decoder_next_is_control(&d, s->stream + done, avail - done);
                        size_t used = 0;
                        WsEvent e;

                        if (busy && !control_next)
                                break;
                        FUZZ_CHECK(ws_decoder_feed(&d, s->stream + done, avail - done, &used, &e) == 0);
                        FUZZ_CHECK(used > 0 && used <= avail - done);
                        if (control_next)
                                FUZZ_CHECK(e.type != WS_EVENT_MESSAGE);
                        check_event(s, &k, &e);
                        done += used;
                        finished = e.type == WS_EVENT_CLOSE || e.type == WS_EVENT_ERROR;
                }
        }
        /* Everything the model expects arrived, and the decoder stopped exactly where the model did. */
        FUZZ_CHECK(k == s->n_events);
        FUZZ_CHECK(finished == s->finished);
        if (finished)
                FUZZ_CHECK(ws_decoder_feed(&d, s->stream, 1, &done, &(WsEvent) { 0 }) == -ESHUTDOWN);
        ws_decoder_done(&d);
        return 0;
}
