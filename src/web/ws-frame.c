/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "sha1.h"
#include "ws-frame.h"

/* A message buffer larger than this is freed once its message is handed out, so an idle connection
 * does not keep the memory of the largest message it ever received. */
#define WS_MESSAGE_KEEP (64 * 1024)
#define WS_MESSAGE_ALLOC_MIN 1024

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Where an empty message points, so payload is never NULL. */
static const uint8_t empty_payload[1];

void ws_decoder_init(WsDecoder *d, size_t max_message) {
        assert(d);

        *d = (WsDecoder) {
                .max_message = max_message > 0 ? max_message : WS_MESSAGE_MAX,
                .header_need = 2,
        };
}

void ws_decoder_done(WsDecoder *d) {
        if (!d)
                return;
        free(d->message);
        d->message = NULL;
        d->message_size = d->message_alloc = 0;
        d->message_open = d->message_returned = false;
        d->finished = true;
}

static bool opcode_is_control(unsigned op) {
        return op & 0x8;
}

static bool opcode_is_known(unsigned op) {
        switch (op) {
        case WS_OP_CONTINUATION:
        case WS_OP_TEXT:
        case WS_OP_BINARY:
        case WS_OP_CLOSE:
        case WS_OP_PING:
        case WS_OP_PONG:
                return true;
        default:
                return false;
        }
}

/* RFC 6455 7.4: what may appear in a close frame. 1004-1006 and 1015 are reserved or only for local
 * reporting, 1012-2999 are not assigned to applications, 3000-4999 belong to libraries and apps. */
/* RFC 6455 7.4 plus the codes IANA registered since (1012 service restart, 1013 try again later,
 * 1014 bad gateway), which real peers send. */
static bool close_code_valid(uint16_t code) {
        return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
               (code >= 3000 && code <= 4999);
}

bool ws_utf8_valid(const uint8_t *s, size_t n) {
        size_t i = 0;

        if (!s)
                return n == 0;

        while (i < n) {
                uint8_t c = s[i], lo = 0x80, hi = 0xbf;
                size_t len;

                if (c < 0x80) {
                        i++;
                        continue;
                }

                /* The second byte's range is what rules out overlong forms (E0, F0), surrogates (ED)
                 * and code points above U+10FFFF (F4); C0, C1 and F5-FF never start a valid sequence. */
                if (c >= 0xc2 && c <= 0xdf)
                        len = 2;
                else if (c >= 0xe0 && c <= 0xef) {
                        len = 3;
                        if (c == 0xe0)
                                lo = 0xa0;
                        else if (c == 0xed)
                                hi = 0x9f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        len = 4;
                        if (c == 0xf0)
                                lo = 0x90;
                        else if (c == 0xf4)
                                hi = 0x8f;
                } else
                        return false;

                if (n - i < len)
                        return false;
                if (s[i + 1] < lo || s[i + 1] > hi)
                        return false;
                for (size_t k = 2; k < len; k++)
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                i += len;
        }

        return true;
}

/* Drops the message handed out by the previous call; its pointer was only good until now. */
static void release_message(WsDecoder *d) {
        if (!d->message_returned)
                return;

        d->message_returned = false;
        d->message_open = false;
        d->message_size = 0;
        if (d->message_alloc > WS_MESSAGE_KEEP) {
                free(d->message);
                d->message = NULL;
                d->message_alloc = 0;
        }
}

/* Room for n more bytes. The header check already made sure message_size + n <= max_message, so the
 * buffer never grows beyond that, and it grows only with bytes actually received. */
static int message_reserve(WsDecoder *d, size_t n) {
        size_t need = d->message_size + n, alloc;
        uint8_t *p;

        if (need <= d->message_alloc)
                return 0;

        alloc = MAX(d->message_alloc > d->max_message / 2 ? d->max_message : d->message_alloc * 2,
                    (size_t) WS_MESSAGE_ALLOC_MIN);
        alloc = MIN(MAX(alloc, need), d->max_message);

        p = realloc(d->message, alloc);
        if (!p)
                return -ENOMEM;
        d->message = p;
        d->message_alloc = alloc;
        return 0;
}

static void frame_reset(WsDecoder *d) {
        d->header_size = 0;
        d->header_need = 2;
        d->payload_size = d->payload_done = 0;
}

/* Fills in an ERROR event and stops the decoder; returns false for the callers' convenience. */
static bool event_error(WsDecoder *d, uint16_t code, const char *reason, WsEvent *ev) {
        d->finished = true;
        *ev = (WsEvent) {
                .type = WS_EVENT_ERROR,
                .payload = empty_payload,
                .close_code = code,
                .reason = reason,
        };
        return false;
}

/* The first two bytes tell everything but the length and the mask key; refuse what they already
 * condemn, and work out how long the header is. Returns false with an error event filled in. */
static bool header_start(WsDecoder *d, WsEvent *ev) {
        uint8_t b0 = d->header[0], b1 = d->header[1], len7 = b1 & 0x7f;
        unsigned op = b0 & 0x0f;

        /* No extension is ever negotiated, so RSV1-3 have no meaning here (RFC 6455 5.2). */
        if (b0 & 0x70)
                return event_error(d, WS_CLOSE_PROTOCOL_ERROR, "reserved bits set", ev);
        if (!opcode_is_known(op))
                return event_error(d, WS_CLOSE_PROTOCOL_ERROR, "unknown opcode", ev);
        /* RFC 6455 5.1: the server must close on an unmasked client frame. */
        if (!(b1 & 0x80))
                return event_error(d, WS_CLOSE_PROTOCOL_ERROR, "unmasked client frame", ev);

        d->fin = b0 & 0x80;
        d->opcode = op;

        if (opcode_is_control(op)) {
                if (!d->fin)
                        return event_error(d, WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame", ev);
                if (len7 > WS_CONTROL_MAX)
                        return event_error(d, WS_CLOSE_PROTOCOL_ERROR, "control frame over 125 bytes", ev);
        } else if (op == WS_OP_CONTINUATION) {
                if (!d->message_open)
                        return event_error(d, WS_CLOSE_PROTOCOL_ERROR, "continuation without a message", ev);
        } else if (d->message_open)
                return event_error(d, WS_CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one", ev);

        d->header_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
        return true;
}

/* The whole header is in: take the length, and refuse a message that would outgrow max_message now,
 * before a byte of it is stored. */
static bool header_finish(WsDecoder *d, WsEvent *ev) {
        uint8_t len7 = d->header[1] & 0x7f;
        uint64_t len = len7;

        /* Non-minimal encodings (a 16-bit length under 126, say) are tolerated, as most servers do. */
        if (len7 == 126)
                len = (uint64_t) d->header[2] << 8 | d->header[3];
        else if (len7 == 127) {
                len = 0;
                for (unsigned i = 0; i < 8; i++)
                        len = len << 8 | d->header[2 + i];
                if (len >> 63)
                        return event_error(d, WS_CLOSE_PROTOCOL_ERROR, "64-bit length with top bit set", ev);
        }

        if (!opcode_is_control(d->opcode) && len > (uint64_t) (d->max_message - d->message_size))
                return event_error(d, WS_CLOSE_TOO_BIG, "message too big", ev);

        d->payload_size = len;
        d->payload_done = 0;
        return true;
}

/* Copies n payload bytes to dst, unmasking; offset is where in the payload they start, which picks
 * the mask byte. */
static void unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[static 4],
                   uint64_t offset) {
        for (size_t i = 0; i < n; i++)
                dst[i] = src[i] ^ mask[(offset + i) & 3];
}

static void control_complete(WsDecoder *d, WsEvent *ev) {
        size_t n = (size_t) d->payload_size, off = n;
        uint16_t code = WS_CLOSE_NO_STATUS;

        if (d->opcode != WS_OP_CLOSE) {
                *ev = (WsEvent) {
                        .type = d->opcode == WS_OP_PING ? WS_EVENT_PING : WS_EVENT_PONG,
                        .opcode = d->opcode,
                        .payload = d->control,
                        .size = n,
                };
                return;
        }

        /* RFC 6455 5.5.1: no body, or a 2-byte code and a UTF-8 reason. */
        if (n == 1) {
                event_error(d, WS_CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte body", ev);
                return;
        }
        if (n >= 2) {
                code = (uint16_t) (d->control[0] << 8 | d->control[1]);
                if (!close_code_valid(code)) {
                        event_error(d, WS_CLOSE_PROTOCOL_ERROR, "invalid close code", ev);
                        return;
                }
                if (!ws_utf8_valid(d->control + 2, n - 2)) {
                        event_error(d, WS_CLOSE_INVALID_DATA, "close reason not UTF-8", ev);
                        return;
                }
                off = 2;
        }

        d->control[n] = 0;
        d->finished = true;
        *ev = (WsEvent) {
                .type = WS_EVENT_CLOSE,
                .opcode = WS_OP_CLOSE,
                .payload = d->control + off,
                .size = n - off,
                .close_code = code,
                .reason = (const char *) d->control + off,
        };
}

/* A data frame is fully stored. Returns true when it ended a message and ev is filled in. */
static bool data_complete(WsDecoder *d, WsEvent *ev) {
        if (d->opcode != WS_OP_CONTINUATION) {
                d->message_open = true;
                d->message_opcode = d->opcode;
        }
        if (!d->fin)
                return false;

        /* Checked once whole, since a character may straddle fragments. */
        if (d->message_opcode == WS_OP_TEXT && !ws_utf8_valid(d->message, d->message_size)) {
                event_error(d, WS_CLOSE_INVALID_DATA, "text message not UTF-8", ev);
                return true;
        }

        d->message_returned = true;
        *ev = (WsEvent) {
                .type = WS_EVENT_MESSAGE,
                .opcode = d->message_opcode,
                .payload = d->message_size > 0 ? d->message : empty_payload,
                .size = d->message_size,
        };
        return true;
}

bool ws_decoder_next_is_control(const WsDecoder *d, const uint8_t *data, size_t size) {
        assert(d);
        assert(data || size == 0);

        if (d->finished)
                return false;
        if (d->header_size > 0) /* inside a frame: its first byte is in */
                return opcode_is_control(d->header[0] & 0x0Fu);
        return size > 0 && opcode_is_control(data[0] & 0x0Fu);
}

int ws_decoder_feed(WsDecoder *d, const uint8_t *data, size_t size, size_t *ret_consumed, WsEvent *ret) {
        WsEvent ev = { .type = WS_EVENT_NEED_MORE };
        size_t i = 0;
        int r;

        if (!d || (!data && size > 0) || !ret_consumed || !ret)
                return -EINVAL;
        if (d->finished)
                return -ESHUTDOWN;

        release_message(d);

        for (;;) {
                const uint8_t *mask;
                size_t n;

                if (d->header_size < d->header_need) {
                        while (d->header_size < d->header_need && i < size) {
                                d->header[d->header_size++] = data[i++];
                                if (d->header_size == 2 && !header_start(d, &ev))
                                        goto done;
                        }
                        if (d->header_size < d->header_need)
                                break;
                        if (!header_finish(d, &ev))
                                goto done;
                }

                mask = d->header + d->header_need - 4;
                n = (size_t) MIN((uint64_t) (size - i), d->payload_size - d->payload_done);

                if (opcode_is_control(d->opcode))
                        unmask(d->control + d->payload_done, data + i, n, mask, d->payload_done);
                else if (n > 0) {
                        r = message_reserve(d, n);
                        if (r < 0) {
                                d->finished = true;
                                return r;
                        }
                        unmask(d->message + d->message_size, data + i, n, mask, d->payload_done);
                        d->message_size += n;
                }
                i += n;
                d->payload_done += n;

                if (d->payload_done < d->payload_size)
                        break;

                /* The frame is complete. */
                if (opcode_is_control(d->opcode)) {
                        control_complete(d, &ev);
                        frame_reset(d);
                        goto done;
                }
                frame_reset(d);
                if (data_complete(d, &ev))
                        goto done;
        }

        ev = (WsEvent) {
                .type = WS_EVENT_NEED_MORE,
                .payload = empty_payload,
        };
done:
        *ret_consumed = i;
        *ret = ev;
        return 0;
}

size_t ws_frame_header(WsOpcode op, bool fin, size_t size, uint8_t ret[static WS_HEADER_MAX]) {
        /* RFC 6455 5.2: the shortest length form; server frames carry no mask key. */
        ret[0] = (uint8_t) ((fin ? 0x80 : 0) | op);
        if (size <= 125) {
                ret[1] = (uint8_t) size;
                return 2;
        }
        if (size <= UINT16_MAX) {
                ret[1] = 126;
                ret[2] = (uint8_t) (size >> 8);
                ret[3] = (uint8_t) size;
                return 4;
        }
        ret[1] = 127;
        for (unsigned i = 0; i < 8; i++)
                ret[2 + i] = (uint8_t) ((uint64_t) size >> (56 - 8 * i));
        return 10;
}

int ws_frame_encode(WsOpcode op, const void *payload, size_t size, uint8_t **ret, size_t *ret_size) {
        uint8_t head[WS_HEADER_MAX];
        size_t header;
        uint8_t *buf;

        if ((!payload && size > 0) || !ret || !ret_size)
                return -EINVAL;

        switch (op) {
        case WS_OP_TEXT:
        case WS_OP_BINARY:
                break;
        case WS_OP_CLOSE:
        case WS_OP_PING:
        case WS_OP_PONG:
                if (size > WS_CONTROL_MAX)
                        return -EINVAL;
                break;
        default:
                return -EINVAL;
        }

        header = ws_frame_header(op, /* fin= */ true, size, head);
        if (size > SIZE_MAX - header)
                return -EMSGSIZE;

        buf = malloc(header + size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, head, header);
        if (size > 0)
                memcpy(buf + header, payload, size);

        *ret = buf;
        *ret_size = header + size;
        return 0;
}

int ws_frame_encode_close(uint16_t code, const char *reason, uint8_t **ret, size_t *ret_size) {
        uint8_t body[WS_CONTROL_MAX];
        size_t len = 0;

        if (!close_code_valid(code))
                return -EINVAL;

        if (reason) {
                size_t max = sizeof(body) - 2;

                len = strnlen(reason, max + 1);
                if (len > max) {
                        /* Cut, and never inside a character: a peer must close on a reason that is not
                         * UTF-8, so half a character would turn our close into its protocol error. */
                        len = max;
                        while (len > 0 && ((uint8_t) reason[len] & 0xc0) == 0x80)
                                len--;
                }
                memcpy(body + 2, reason, len);
        }

        body[0] = (uint8_t) (code >> 8);
        body[1] = (uint8_t) code;
        return ws_frame_encode(WS_OP_CLOSE, body, 2 + len, ret, ret_size);
}

static const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int base64_value(char c) {
        const char *p;

        if (c == 0)
                return -1;
        p = strchr(base64_alphabet, c);
        return p ? (int) (p - base64_alphabet) : -1;
}

int ws_accept_key(const char *client_key, char ret[static WS_ACCEPT_KEY_SIZE]) {
        uint8_t digest[SHA1_DIGEST_SIZE];
        char buf[24 + sizeof(WS_GUID) - 1];
        char out[WS_ACCEPT_KEY_SIZE];
        size_t o = 0;

        if (!client_key || strlen(client_key) != 24 || client_key[22] != '=' || client_key[23] != '=')
                return -EINVAL;
        for (size_t i = 0; i < 22; i++) {
                int v = base64_value(client_key[i]);

                if (v < 0)
                        return -EINVAL;
                /* 16 bytes end on 4 bits of the 22nd character; canonical base64 leaves the rest zero. */
                if (i == 21 && (v & 0x0f) != 0)
                        return -EINVAL;
        }

        /* RFC 6455 4.2.2: the key as sent, not decoded, goes into the hash. */
        memcpy(buf, client_key, 24);
        memcpy(buf + 24, WS_GUID, sizeof(WS_GUID) - 1);
        sha1(buf, sizeof(buf), digest);

        for (size_t i = 0; i < SHA1_DIGEST_SIZE; i += 3) {
                uint32_t v = (uint32_t) digest[i] << 16;
                size_t left = SHA1_DIGEST_SIZE - i;

                if (left > 1)
                        v |= (uint32_t) digest[i + 1] << 8;
                if (left > 2)
                        v |= digest[i + 2];
                out[o++] = base64_alphabet[(v >> 18) & 0x3f];
                out[o++] = base64_alphabet[(v >> 12) & 0x3f];
                out[o++] = left > 1 ? base64_alphabet[(v >> 6) & 0x3f] : '=';
                out[o++] = left > 2 ? base64_alphabet[v & 0x3f] : '=';
        }
        out[o] = 0;

        memcpy(ret, out, sizeof(out));
        return 0;
}
