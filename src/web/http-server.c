/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "address.h"
#include "http-server.h"
#include "log.h"
#include "time-util.h"
#include "ws-frame.h"

struct WebClient {
        WebServer *server;
        WebClient *next;
        int fd;
        struct MHD_UpgradeResponseHandle *urh;
        sd_event_source *io;
        WsDecoder decoder;
        Buf out;               /* frames waiting to be written, from out_done on */
        size_t out_done;
        Buf pending;           /* whole frames that must wait until the streamed message is out */
        WebStream stream;      /* the answer being streamed, when stream.next is set */
        bool stream_started;   /* its first fragment is out */
        Buf fragment;
        uint8_t *inbox;        /* input that arrived behind the request being streamed */
        size_t inbox_size;
        bool subscribed;
        bool closing;          /* a close frame is queued: finish once it is written */
        usec_t progress_usec;  /* CLOCK_MONOTONIC: last time nothing waited for it, or it took some */
        int kernel_unsent;     /* SIOCOUTQ at the last stall check */
};

struct WebServer {
        sd_event *event;
        struct MHD_Daemon *mhd;
        sd_event_source *mhd_io, *mhd_timer, *stall_timer;
        WebClient *clients;
        size_t n_clients, dropped;
        WebHandlers handlers;
        usec_t stall_usec, stall_check_usec;
};

static void mhd_update_timer(WebServer *s);

/* ---- websocket clients ---- */

static bool client_streaming(const WebClient *c) {
        return c->stream.next != NULL;
}

static void client_stream_end(WebClient *c) {
        if (c->stream.free)
                c->stream.free(c->stream.state);
        c->stream = (WebStream) { 0 };
        c->stream_started = false;
}

static void client_free(WebClient *c) {
        WebServer *s = c->server;

        for (WebClient **p = &s->clients; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        s->n_clients--;
        sd_event_source_disable_unref(c->io);
        ws_decoder_done(&c->decoder);
        client_stream_end(c);
        buf_done(&c->out);
        buf_done(&c->pending);
        buf_done(&c->fragment);
        free(c->inbox);
        /* The socket belongs to libmicrohttpd: it closes it. */
        if (c->urh)
                MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
        free(c);
}

static size_t client_unsent(const WebClient *c) {
        return c->out.size - c->out_done;
}

/* A client that cannot keep up (-ENOBUFS from its queues) or took nothing for stall_usec (stalled):
 * logged and counted in `dropped`. */
static void client_drop_slow(WebClient *c, bool stalled) {
        if (stalled)
                log_warning("Dropping a websocket client that took none of its output for %g s.",
                            (double) c->server->stall_usec / USEC_PER_SEC);
        else
                log_warning("Dropping a websocket client that is more than %u bytes behind.", WEB_SEND_QUEUE_MAX);
        c->server->dropped++;
        client_free(c);
}

static void client_drop(WebClient *c, int r) {
        if (r == -ENOBUFS)
                client_drop_slow(c, /* stalled= */ false);
        else
                client_free(c);
}

/* Input is read unless a streaming answer's inbox is full. */
static bool client_reads(const WebClient *c) {
        return !client_streaming(c) || c->inbox_size < WEB_INBOX_MAX;
}

static int client_flush(WebClient *c) {
        size_t done_before = c->out_done;

        while (c->out_done < c->out.size) {
                ssize_t n = send(c->fd, c->out.data + c->out_done, c->out.size - c->out_done,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        return -errno;
                }
                c->out_done += (size_t) n;
        }
        if (c->out_done > done_before)
                c->progress_usec = now_usec(CLOCK_MONOTONIC);
        if (c->out_done == c->out.size) {
                c->out_done = c->out.size = 0;
                if (c->out.alloc > WEB_QUEUE_KEEP)
                        buf_done(&c->out); /* a burst's megabytes are not kept per idle client */
                if (c->closing)
                        return -ECONNRESET; /* our close frame is out: done */
        }
        /* While a stream goes, requests wait (they are answered in order) and the socket being writable is
         * what makes the next fragment. */
        return sd_event_source_set_io_events(c->io, (client_streaming(c) ? EPOLLOUT : 0) |
                                                    (client_unsent(c) > 0 ? EPOLLOUT : 0) |
                                                    (client_reads(c) ? EPOLLIN : 0));
}

/* Appends to one of the client's queues. A client that lets more than WEB_SEND_QUEUE_MAX pile up is too
 * slow: -ENOBUFS. */
static int client_queue_iov(WebClient *c, Buf *q, const struct iovec *iov, size_t n_iov) {
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
static Buf *client_message_queue(WebClient *c) {
        return client_streaming(c) ? &c->pending : &c->out;
}

/* One frame into q. With nothing queued ahead of it, as much as the socket takes is written at once,
 * uncopied. */
static int client_send_frame(WebClient *c, Buf *q, WsOpcode op, bool fin, const void *payload, size_t size) {
        uint8_t header[WS_HEADER_MAX];
        struct iovec iov[2] = {
                { .iov_base = header, .iov_len = ws_frame_header(op, fin, size, header) },
                { .iov_base = (void *) payload, .iov_len = size },
        };

        if (c->closing)
                return 0;
        if (q == &c->out && client_unsent(c) == 0) {
                struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
                ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
                for (size_t i = 0, left = n > 0 ? (size_t) n : 0; i < 2; i++) {
                        size_t k = MIN(left, iov[i].iov_len);

                        iov[i].iov_base = (uint8_t *) iov[i].iov_base + k;
                        iov[i].iov_len -= k;
                        left -= k;
                }
        }
        return client_queue_iov(c, q, iov, 2);
}

static int client_send(WebClient *c, WsOpcode op, const void *payload, size_t size) {
        return client_send_frame(c, op == WS_OP_TEXT ? client_message_queue(c) : &c->out, op, /* fin= */ true,
                                 payload, size);
}

static int client_close(WebClient *c, uint16_t code, const char *reason) {
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

static int client_answer(WebClient *c, const WsEvent *e) {
        WebServer *s = c->server;
        WebReply reply = { 0 };
        int r;

        if (e->opcode != WS_OP_TEXT) {
                static const char answer[] = "{\"error\":\"binary messages are not supported\"}";
                return client_send(c, WS_OP_TEXT, answer, sizeof(answer) - 1);
        }
        s->handlers.message(c, (const char *) e->payload, e->size, s->handlers.userdata, &reply);
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
static int client_handle_event(WebClient *c, const WsEvent *e) {
        switch (e->type) {
        case WS_EVENT_NEED_MORE:
        case WS_EVENT_PONG:
                return 0;
        case WS_EVENT_MESSAGE:
                return client_answer(c, e);
        case WS_EVENT_PING:
                /* Into the frame queue, even while a message streams: between two of its fragments. */
                return client_send(c, WS_OP_PONG, e->payload, e->size);
        case WS_EVENT_CLOSE:
                /* Echo the peer's code, as RFC 6455 asks; 1005 means "none given". */
                return client_close(c, e->close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : e->close_code,
                                    NULL) < 0 ? -EIO : 0;
        case WS_EVENT_ERROR:
                log_debug("Websocket client broke the protocol (%s): closing with %u.", e->reason,
                          (unsigned) e->close_code);
                return client_close(c, e->close_code, e->reason) < 0 ? -EIO : 0;
        }
        return 0;
}

/* Decodes up to one event from data and acts on it; adds the bytes read to *done. */
static int client_decode_one(WebClient *c, const uint8_t *data, size_t size, size_t *done) {
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
static int client_inbox_add(WebClient *c, const uint8_t *data, size_t size) {
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

/* Handles what arrived; returns < 0 when the client is to be dropped now. Input behind a request whose
 * answer is streamed waits in the inbox. */
static int client_consume(WebClient *c, const uint8_t *data, size_t size) {
        size_t done = 0;

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
static int client_stream_done(WebClient *c) {
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
                r = client_consume(c, in, in_size);
        return r;
}

/* Makes the next fragments of a streamed answer while the client keeps up. */
static int client_pump(WebClient *c) {
        for (unsigned i = 0; client_streaming(c) && !c->closing && i < WEB_STREAM_FRAGMENTS_PER_WAKEUP &&
                             client_unsent(c) < WEB_STREAM_LOW_WATER; i++) {
                int more, r;

                c->fragment.size = 0;
                more = c->stream.next(c->stream.state, &c->fragment, WEB_STREAM_FRAGMENT);
                if (more < 0) {
                        log_warning("Cannot make the rest of an answer: %s", STRERROR(more));
                        return client_close(c, WS_CLOSE_INTERNAL_ERROR, "internal error") < 0 ? -EIO : 0;
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
        }
        /* A big fragment buffer is not kept for an idle client. */
        if (!client_streaming(c) && c->fragment.alloc > 0)
                buf_done(&c->fragment);
        return 0;
}

/* After input was handled (r: how that went): make what a streamed answer needs next, write what the
 * socket takes, or drop the client. */
static void client_run(WebClient *c, int r) {
        if (r >= 0)
                r = client_pump(c);
        if (r >= 0)
                r = client_flush(c);
        if (r < 0)
                client_drop(c, r);
}

static int on_client_io(sd_event_source *es _unused_, int fd, uint32_t revents, void *userdata) {
        WebClient *c = userdata;
        uint8_t buf[16384];
        int r = 0;

        if (!client_reads(c) && (revents & (EPOLLHUP | EPOLLERR))) {
                client_free(c);
                return 0;
        }
        if (client_reads(c) && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                size_t room = client_streaming(c) ? WEB_INBOX_MAX - c->inbox_size : sizeof(buf);
                ssize_t n = recv(fd, buf, MIN(room, sizeof(buf)), MSG_DONTWAIT);

                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                        client_free(c);
                        return 0;
                }
                if (n > 0)
                        r = client_consume(c, buf, (size_t) n);
        }
        client_run(c, r);
        return 0;
}

static int on_stall_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        WebServer *s = userdata;
        WebClient *next;

        for (WebClient *c = s->clients; c; c = next) {
                int kernel_unsent = 0;

                next = c->next;
                /* What the kernel still holds counts too: a whole answer can sit in a socket buffer of
                 * megabytes. It shrinking is the client taking some. */
                if (ioctl(c->fd, SIOCOUTQ, &kernel_unsent) < 0)
                        kernel_unsent = 0;
                if (kernel_unsent < c->kernel_unsent)
                        c->progress_usec = usec;
                c->kernel_unsent = kernel_unsent;
                if (client_unsent(c) == 0 && !client_streaming(c) && kernel_unsent == 0)
                        c->progress_usec = usec;
                else if (usec > c->progress_usec + s->stall_usec)
                        client_drop_slow(c, /* stalled= */ true);
        }
        sd_event_source_set_time(es, usec + s->stall_check_usec);
        sd_event_source_set_enabled(es, SD_EVENT_ON);
        return 0;
}

static void on_upgrade(void *cls, struct MHD_Connection *connection _unused_, void *con_cls _unused_,
                       const char *extra_in, size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh) {
        WebServer *s = cls;
        WebClient *c = calloc(1, sizeof(WebClient));
        int flags;

        if (!c) {
                MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
                return;
        }
        c->server = s;
        c->fd = sock;
        c->urh = urh;
        c->progress_usec = now_usec(CLOCK_MONOTONIC);
        ws_decoder_init(&c->decoder, WS_MESSAGE_MAX);
        c->next = s->clients;
        s->clients = c;
        s->n_clients++;
        flags = fcntl(sock, F_GETFL);
        if (flags < 0 || fcntl(sock, F_SETFL, flags | O_NONBLOCK) < 0 ||
            sd_event_add_io(s->event, &c->io, sock, EPOLLIN, on_client_io, c) < 0) {
                client_free(c);
                return;
        }
        client_run(c, extra_in_size > 0 ? client_consume(c, (const uint8_t *) extra_in, extra_in_size) : 0);
}

void web_client_set_subscribed(WebClient *c, bool subscribed) {
        c->subscribed = subscribed;
}

void web_server_broadcast(WebServer *s, const char *text, size_t size) {
        uint8_t header[WS_HEADER_MAX];
        struct iovec iov[2] = {
                { .iov_base = header, .iov_len = ws_frame_header(WS_OP_TEXT, /* fin= */ true, size, header) },
                { .iov_base = (void *) text, .iov_len = size },
        };
        WebClient *next;

        for (WebClient *c = s->clients; c; c = next) {
                int r;

                next = c->next;
                if (!c->subscribed || c->closing)
                        continue;
                /* Behind a streamed answer the push waits: its fragments are one message. */
                r = client_queue_iov(c, client_message_queue(c), iov, 2);
                if (r >= 0)
                        r = client_flush(c);
                if (r < 0)
                        client_drop(c, r);
        }
}

size_t web_server_clients(const WebServer *s) {
        return s->n_clients;
}

size_t web_server_dropped(const WebServer *s) {
        return s->dropped;
}

/* ---- HTTP ---- */

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, char *body) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        if (!body)
                return MHD_NO;
        resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", type);
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static bool header_has_token(struct MHD_Connection *conn, const char *header, const char *token) {
        const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, header);
        size_t len = strlen(token);

        for (const char *p = v; p && *p;) {
                p += strspn(p, " \t,");
                if (strncasecmp(p, token, len) == 0 && (p[len] == 0 || p[len] == ',' || p[len] == ' '))
                        return true;
                p += strcspn(p, ",");
        }
        return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version _unused_, const char *upload_data _unused_,
                                  size_t *upload_data_size, void **con_cls) {
        WebServer *s = cls;
        const char *key, *wsversion;
        char accept[WS_ACCEPT_KEY_SIZE];
        struct MHD_Response *resp;
        enum MHD_Result ret;

        if (*upload_data_size > 0)
                return respond(conn, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain", strdup("no bodies here\n"));
        if (!*con_cls) {
                static int first_call;
                *con_cls = &first_call; /* answer on the second call, once headers are complete */
                return MHD_YES;
        }
        if (!streq(method, "GET"))
                return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", strdup("only GET\n"));
        if (streq(url, "/metrics"))
                return respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                               s->handlers.metrics(s->handlers.userdata));
        if (streq(url, "/healthz"))
                return respond(conn, MHD_HTTP_OK, "text/plain", strdup("ok\n"));
        if (!streq(url, "/"))
                return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", strdup("not found\n"));
        if (!header_has_token(conn, "Upgrade", "websocket") || !header_has_token(conn, "Connection", "upgrade"))
                return respond(conn, 426 /* Upgrade Required */, "text/plain",
                               strdup("slicekeeper: connect with a websocket client (cmd: show_account, get_conf, "
                                      "subscribe, unsubscribe, status)\n"));
        key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
        wsversion = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Version");
        if (!wsversion || !streq(wsversion, "13") || !key ||
            ws_accept_key(key, accept) < 0)
                return respond(conn, MHD_HTTP_BAD_REQUEST, "text/plain", strdup("bad websocket handshake\n"));
        if (s->n_clients >= WEB_CLIENTS_MAX)
                return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", strdup("too many clients\n"));

        resp = MHD_create_response_for_upgrade(on_upgrade, s);
        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, "Upgrade", "websocket");
        MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
        ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
        MHD_destroy_response(resp);
        return ret;
}

static void mhd_update_timer(WebServer *s) {
        MHD_UNSIGNED_LONG_LONG ms;
        uint64_t now;

        if (MHD_get_timeout(s->mhd, &ms) != MHD_YES) {
                sd_event_source_set_enabled(s->mhd_timer, SD_EVENT_OFF);
                return;
        }
        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(s->mhd_timer, now + MIN((usec_t) ms, (usec_t) 60000) * USEC_PER_MSEC);
        sd_event_source_set_enabled(s->mhd_timer, SD_EVENT_ONESHOT);
}

static int on_mhd_io(sd_event_source *es _unused_, int fd _unused_, uint32_t revents _unused_, void *userdata) {
        WebServer *s = userdata;

        MHD_run(s->mhd);
        mhd_update_timer(s);
        return 0;
}

static int on_mhd_timer(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        return on_mhd_io(NULL, -1, 0, userdata);
}

/* An IPv4 or IPv6 literal and a port: MHD binds to it, nothing resolves a name here. */
static int parse_listen(const char *listen, struct sockaddr_storage *ret) {
        Address a;
        int r;

        r = address_parse(listen, /* flags= */ 0, &a, /* error= */ NULL, 0);
        if (r < 0)
                return r;
        r = address_to_sockaddr(&a, ret, /* ret_len= */ NULL);
        return r == -EAFNOSUPPORT ? -EINVAL : r;
}

int web_server_new(sd_event *event, const char *listen, usec_t stall_usec, const WebHandlers *handlers,
                   WebServer **ret) {
        _cleanup_(web_server_freep) WebServer *s = NULL;
        struct sockaddr_storage addr;
        const union MHD_DaemonInfo *info;
        int r;

        r = parse_listen(listen, &addr);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(WebServer));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->handlers = *handlers;
        s->stall_usec = stall_usec;
        s->stall_check_usec = MIN(WEB_STALL_CHECK_USEC, stall_usec / 4);
        s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_UPGRADE | (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                                  0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned) (WEB_CLIENTS_MAX + 16),
                                  MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
        if (!s->mhd)
                return errno > 0 ? -errno : -EADDRINUSE;
        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return -EIO;
        r = sd_event_add_io(event, &s->mhd_io, info->epoll_fd, EPOLLIN, on_mhd_io, s);
        if (r >= 0)
                r = sd_event_add_time(event, &s->mhd_timer, CLOCK_MONOTONIC, 0, 0, on_mhd_timer, s);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &s->stall_timer, CLOCK_MONOTONIC, s->stall_check_usec,
                                               MIN(USEC_PER_SEC, s->stall_check_usec), on_stall_timer, s);
        if (r < 0)
                return r;
        mhd_update_timer(s);
        *ret = TAKE_PTR(s);
        return 0;
}

WebServer *web_server_free(WebServer *s) {
        if (!s)
                return NULL;
        while (s->clients)
                client_free(s->clients);
        sd_event_source_disable_unref(s->mhd_io);
        sd_event_source_disable_unref(s->mhd_timer);
        sd_event_source_disable_unref(s->stall_timer);
        if (s->mhd)
                MHD_stop_daemon(s->mhd);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
