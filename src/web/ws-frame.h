/* SPDX-License-Identifier: MIT */
/* RFC 6455 server side, pure: client bytes → events (decoder), server frames → bytes (encoder), and the
 * handshake's accept key. No I/O; the caller owns the socket and closes with the code an event names. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default cap on a reassembled message; a larger one is refused with 1009 before it is buffered. */
#define WS_MESSAGE_MAX (1024 * 1024)
/* RFC 6455 5.5: control frames carry at most 125 bytes. */
#define WS_CONTROL_MAX 125
/* Largest frame header: 2 bytes, 8 of extended length, 4 of mask key. */
#define WS_HEADER_MAX 14
/* "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" plus NUL. */
#define WS_ACCEPT_KEY_SIZE 29

typedef enum WsOpcode {
        WS_OP_CONTINUATION = 0x0,
        WS_OP_TEXT = 0x1,
        WS_OP_BINARY = 0x2,
        WS_OP_CLOSE = 0x8,
        WS_OP_PING = 0x9,
        WS_OP_PONG = 0xA,
} WsOpcode;

/* Close codes we send (RFC 6455 7.4.1). */
enum {
        WS_CLOSE_NORMAL = 1000,
        WS_CLOSE_GOING_AWAY = 1001,
        WS_CLOSE_PROTOCOL_ERROR = 1002,
        WS_CLOSE_NO_STATUS = 1005, /* reported for a close frame without a code; never sent */
        WS_CLOSE_INVALID_DATA = 1007,
        WS_CLOSE_TOO_BIG = 1009,
        WS_CLOSE_INTERNAL_ERROR = 1011,
};

typedef enum WsEventType {
        WS_EVENT_NEED_MORE, /* the input is used up inside a frame or a fragmented message */
        WS_EVENT_MESSAGE,   /* a complete TEXT (valid UTF-8) or BINARY message */
        WS_EVENT_PING,      /* answer with a PONG carrying the same payload */
        WS_EVENT_PONG,
        WS_EVENT_CLOSE,     /* the peer closes: echo the code (or 1000 for 1005) and close */
        WS_EVENT_ERROR,     /* the peer broke the protocol: close with close_code */
} WsEventType;

typedef struct WsEvent {
        WsEventType type;
        WsOpcode opcode;        /* MESSAGE: TEXT or BINARY; PING/PONG/CLOSE: their opcode */
        const uint8_t *payload; /* MESSAGE/PING/PONG: the data, CLOSE: the reason bytes; never NULL.
                                 * Valid until the next ws_decoder_* call. */
        size_t size;
        uint16_t close_code;    /* CLOSE: the peer's code (1005 when absent);
                                 * ERROR: the code to close with (1002, 1007 or 1009) */
        const char *reason;     /* CLOSE: the peer's reason, NUL-terminated (same lifetime as payload);
                                 * ERROR: a short static description for logs */
} WsEvent;

/* Embedded in the connection. Holds at most one frame header, 125 bytes of control payload and
 * max_message bytes of the message being reassembled; message memory grows as bytes arrive, never on a
 * length the peer merely declares. The fields are private. */
typedef struct WsDecoder {
        size_t max_message;

        /* The frame being read. */
        uint8_t header[WS_HEADER_MAX];
        size_t header_size;     /* bytes of header[] filled */
        size_t header_need;     /* its full size, known once the second byte is in */
        bool fin;
        WsOpcode opcode;
        uint64_t payload_size;
        uint64_t payload_done;

        /* The message being reassembled, unmasked. */
        bool message_open;      /* a TEXT/BINARY frame without FIN was seen */
        WsOpcode message_opcode;
        uint8_t *message;
        size_t message_size, message_alloc;
        bool message_returned;  /* handed out in the last event: drop it on the next call */

        uint8_t control[WS_CONTROL_MAX + 1]; /* unmasked control payload, +1 for a NUL after a reason */

        bool finished;          /* CLOSE or ERROR was returned */
} WsDecoder;

/* max_message 0 means WS_MESSAGE_MAX. */
void ws_decoder_init(WsDecoder *d, size_t max_message);
void ws_decoder_done(WsDecoder *d);

/* Reads from data until one event is complete or the input is used up (NEED_MORE), and sets
 * *ret_consumed to the bytes read; the caller handles the event and calls again with the rest while
 * *ret_consumed < size. Protocol violations are ERROR events, not failures. Returns 0, -ENOMEM (the
 * decoder is then unusable), -EINVAL, or -ESHUTDOWN once CLOSE or ERROR has been returned: after those
 * the decoder reads nothing more. */
int ws_decoder_feed(WsDecoder *d, const uint8_t *data, size_t size, size_t *ret_consumed, WsEvent *ret);

/* Whether the next frame ws_decoder_feed() would read from data (or the one it is in the middle of) is a
 * control frame: a server busy sending a fragmented message can still answer pings and closes, and
 * leave data frames for later. Feeding exactly while this holds never consumes a data frame. */
bool ws_decoder_next_is_control(const WsDecoder *d, const uint8_t *data, size_t size);
/* One unmasked frame with FIN set, in a new buffer the caller frees. CONTINUATION is refused (fragments
 * are sent with ws_frame_header()), as is a control payload over 125 bytes (-EINVAL). The caller makes
 * sure TEXT is UTF-8. */
int ws_frame_encode(WsOpcode op, const void *payload, size_t size, uint8_t **ret, size_t *ret_size);

/* The header of an unmasked frame of size payload bytes, into ret; returns its length. For a message
 * sent in fragments (RFC 6455 5.4): the first frame TEXT or BINARY without fin, then CONTINUATION frames,
 * the last with fin. No checks: the caller knows what it sends. */
size_t ws_frame_header(WsOpcode op, bool fin, size_t size, uint8_t ret[static WS_HEADER_MAX]);

/* A close frame. code must be one a peer may send (1000-1003, 1007-1014, 3000-4999), else -EINVAL.
 * reason may be NULL; it is cut to the 123 bytes that fit, at a UTF-8 character boundary. */
int ws_frame_encode_close(uint16_t code, const char *reason, uint8_t **ret, size_t *ret_size);

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
bool ws_utf8_valid(const uint8_t *s, size_t n);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455's GUID)). The key must be
 * the canonical base64 form of 16 bytes (24 characters ending in "=="), else -EINVAL. */
int ws_accept_key(const char *client_key, char ret[static WS_ACCEPT_KEY_SIZE]);
