/* SPDX-License-Identifier: MIT */
/* The RFC 6455 decoder (src/web/ws-frame.c) on arbitrary client bytes, cut into arbitrary reads, plus the
 * handshake's accept key. Checks each event against the header's contract and that the server's answers
 * (pong, close echo) can always be made. Input: a byte of options (message cap, chunking seed), then the
 * byte stream. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "ws-frame.h"

static void check_close_code(uint16_t code) {
        FUZZ_CHECK((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                   (code >= 3000 && code <= 4999) || code == WS_CLOSE_NO_STATUS);
}

/* What the server sends back for an event; it must always be possible. */
static void answer(const WsEvent *e) {
        uint8_t *frame = NULL;
        size_t size = 0;

        switch (e->type) {
        case WS_EVENT_PING:
                FUZZ_CHECK(ws_frame_encode(WS_OP_PONG, e->payload, e->size, &frame, &size) == 0);
                FUZZ_CHECK(size == 2 + e->size);
                break;
        case WS_EVENT_CLOSE:
                FUZZ_CHECK(ws_frame_encode_close(e->close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : e->close_code,
                                                 NULL, &frame, &size) == 0);
                break;
        case WS_EVENT_ERROR:
                FUZZ_CHECK(ws_frame_encode_close(e->close_code, e->reason, &frame, &size) == 0);
                FUZZ_CHECK(size <= 2 + WS_CONTROL_MAX);
                break;
        default:
                break;
        }
        free(frame);
}

static void check_event(const WsDecoder *d, const WsEvent *e, bool control_next) {
        FUZZ_CHECK(e->payload != NULL);
        switch (e->type) {
        case WS_EVENT_NEED_MORE:
                break;
        case WS_EVENT_MESSAGE:
                /* Feeding while the next frame is a control frame never hands out a data message. */
                FUZZ_CHECK(!control_next);
                FUZZ_CHECK(e->opcode == WS_OP_TEXT || e->opcode == WS_OP_BINARY);
                FUZZ_CHECK(e->size <= d->max_message);
                if (e->opcode == WS_OP_TEXT)
                        FUZZ_CHECK(ws_utf8_valid(e->payload, e->size));
                break;
        case WS_EVENT_PING:
        case WS_EVENT_PONG:
                FUZZ_CHECK(e->size <= WS_CONTROL_MAX);
                break;
        case WS_EVENT_CLOSE:
                check_close_code(e->close_code);
                FUZZ_CHECK(e->size <= WS_CONTROL_MAX - 2);
                FUZZ_CHECK(e->reason && strlen(e->reason) <= e->size);
                FUZZ_CHECK(ws_utf8_valid(e->payload, e->size));
                break;
        case WS_EVENT_ERROR:
                FUZZ_CHECK(e->close_code == WS_CLOSE_PROTOCOL_ERROR || e->close_code == WS_CLOSE_INVALID_DATA ||
                           e->close_code == WS_CLOSE_TOO_BIG);
                FUZZ_CHECK(e->reason && e->reason[0]);
                break;
        default:
                FUZZ_CHECK(!"unknown event type");
        }
}

static void fuzz_accept_key(const uint8_t *data, size_t size) {
        char key[32], accept[WS_ACCEPT_KEY_SIZE];
        size_t n = size < sizeof(key) - 1 ? size : sizeof(key) - 1;

        memcpy(key, data, n);
        key[n] = 0;
        if (ws_accept_key(key, accept) == 0) {
                FUZZ_CHECK(strlen(key) == 24);
                FUZZ_CHECK(strlen(accept) == WS_ACCEPT_KEY_SIZE - 1);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        uint8_t options = fuzz_u8(&in);
        /* A small cap now and then, so 1009 is reached without megabytes of input. */
        size_t max_message = options & 0x80 ? (size_t) (options & 0x7f) * 37 + 1 : 0;
        uint32_t seed = (uint32_t) options * 2654435761u | 1;
        WsDecoder d;
        size_t off = 0;

        fuzz_accept_key(in.p, in.n);

        ws_decoder_init(&d, max_message);
        while (off < in.n) {
                /* Reads as a socket returns them: one byte, a few, or all that is there. */
                uint32_t pick = fuzz_rand(&seed);
                size_t chunk = pick % 4 == 0 ? in.n - off : 1 + pick % 17;
                size_t end = off + (chunk < in.n - off ? chunk : in.n - off);

                while (off < end) {
                        bool control_next = ws_decoder_next_is_control(&d, in.p + off, end - off);
                        size_t used = SIZE_MAX;
                        WsEvent e;
                        int r;

                        r = ws_decoder_feed(&d, in.p + off, end - off, &used, &e);
                        if (r == -ESHUTDOWN)
                                goto done;
                        FUZZ_CHECK(r == 0);
                        FUZZ_CHECK(used <= end - off);
                        /* Every call makes progress, or a caller looping until its input is used would spin. */
                        FUZZ_CHECK(used > 0);
                        if (e.type == WS_EVENT_NEED_MORE)
                                FUZZ_CHECK(used == end - off);
                        check_event(&d, &e, control_next);
                        answer(&e);
                        off += used;
                        if (e.type == WS_EVENT_CLOSE || e.type == WS_EVENT_ERROR) {
                                size_t more = SIZE_MAX;

                                /* Nothing is read after the end. */
                                FUZZ_CHECK(ws_decoder_feed(&d, data, size, &more, &e) == -ESHUTDOWN);
                                goto done;
                        }
                }
        }
done:
        ws_decoder_done(&d);
        return 0;
}
