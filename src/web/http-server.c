/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http-server.h"
#include "log.h"
#include "parse-util.h"
#include "time-util.h"
#include "ws-frame.h"

struct WebClient {
        WebServer *server;
        WebClient *next;
        int fd;
        struct MHD_UpgradeResponseHandle *urh;
        sd_event_source *io;
        WsDecoder decoder;
        uint8_t *out;          /* frames waiting to be written */
        size_t out_size, out_done, out_alloc;
        bool subscribed;
        bool closing;          /* a close frame is queued: finish once it is written */
};

struct WebServer {
        sd_event *event;
        struct MHD_Daemon *mhd;
        sd_event_source *mhd_io, *mhd_timer;
        WebClient *clients;
        size_t n_clients, dropped;
        WebHandlers handlers;
};

static void mhd_update_timer(WebServer *s);

/* ---- websocket clients ---- */

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
        free(c->out);
        /* The socket belongs to libmicrohttpd: it closes it. */
        if (c->urh)
                MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
        free(c);
}

static int client_flush(WebClient *c) {
        while (c->out_done < c->out_size) {
                ssize_t n = send(c->fd, c->out + c->out_done, c->out_size - c->out_done, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        return -errno;
                }
                c->out_done += (size_t) n;
        }
        if (c->out_done == c->out_size) {
                c->out_done = c->out_size = 0;
                if (c->closing)
                        return -ECONNRESET; /* our close frame is out: done */
        }
        return sd_event_source_set_io_events(c->io, EPOLLIN | (c->out_size > 0 ? EPOLLOUT : 0));
}

/* Queues a frame. A client that lets more than WEB_SEND_QUEUE_MAX pile up is too slow: -ENOBUFS. */
static int client_queue(WebClient *c, const uint8_t *frame, size_t size) {
        if (c->closing)
                return 0;
        if (c->out_size - c->out_done + size > WEB_SEND_QUEUE_MAX)
                return -ENOBUFS;
        if (c->out_done > 0) {
                memmove(c->out, c->out + c->out_done, c->out_size - c->out_done);
                c->out_size -= c->out_done;
                c->out_done = 0;
        }
        if (c->out_size + size > c->out_alloc) {
                size_t n = MAX(c->out_alloc * 2, c->out_size + size);
                uint8_t *b = realloc(c->out, n);

                if (!b)
                        return -ENOMEM;
                c->out = b;
                c->out_alloc = n;
        }
        memcpy(c->out + c->out_size, frame, size);
        c->out_size += size;
        return 0;
}

static int client_send(WebClient *c, WsOpcode op, const void *payload, size_t size) {
        _cleanup_(freep) uint8_t *frame = NULL;
        size_t frame_size;
        int r;

        r = ws_frame_encode(op, payload, size, &frame, &frame_size);
        if (r < 0)
                return r;
        return client_queue(c, frame, frame_size);
}

static int client_close(WebClient *c, uint16_t code, const char *reason) {
        _cleanup_(freep) uint8_t *frame = NULL;
        size_t frame_size;
        int r;

        r = ws_frame_encode_close(code, reason, &frame, &frame_size);
        if (r >= 0)
                r = client_queue(c, frame, frame_size);
        c->closing = true;
        return r;
}

/* Handles what arrived; returns < 0 when the client is to be dropped now. */
static int client_consume(WebClient *c, const uint8_t *data, size_t size) {
        WebServer *s = c->server;
        size_t done = 0;

        while (done < size && !c->closing) {
                WsEvent e;
                size_t used = 0;
                int r = ws_decoder_feed(&c->decoder, data + done, size - done, &used, &e);

                if (r < 0)
                        return r;
                done += used;
                switch (e.type) {
                case WS_EVENT_NEED_MORE:
                        break;
                case WS_EVENT_MESSAGE:
                        if (e.opcode != WS_OP_TEXT) {
                                static const char answer[] = "{\"error\":\"binary messages are not supported\"}";
                                r = client_send(c, WS_OP_TEXT, answer, sizeof(answer) - 1);
                        } else {
                                _cleanup_(freep) char *reply =
                                        s->handlers.message(c, (const char *) e.payload, e.size, s->handlers.userdata);
                                size_t n = reply ? strlen(reply) : 0;

                                if (n > WEB_ANSWER_MAX) {
                                        /* An answer must fit what a client may have queued: say so instead
                                         * of dropping the client. */
                                        char error[200];
                                        snprintf(error, sizeof(error),
                                                 "{\"error\":\"the answer is %zu bytes, more than the %u a client is sent "
                                                 "at once; ask for fewer slots\"}", n, WEB_ANSWER_MAX);
                                        r = client_send(c, WS_OP_TEXT, error, strlen(error));
                                } else
                                        r = reply ? client_send(c, WS_OP_TEXT, reply, n) : 0;
                        }
                        if (r < 0)
                                return r;
                        break;
                case WS_EVENT_PING:
                        r = client_send(c, WS_OP_PONG, e.payload, e.size);
                        if (r < 0)
                                return r;
                        break;
                case WS_EVENT_PONG:
                        break;
                case WS_EVENT_CLOSE:
                        /* Echo the peer's code, as RFC 6455 asks; 1005 means "none given". */
                        return client_close(c, e.close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : e.close_code,
                                            NULL) < 0 ? -EIO : 0;
                case WS_EVENT_ERROR:
                        log_debug("Websocket client broke the protocol (%s): closing with %u.", e.reason,
                                  (unsigned) e.close_code);
                        return client_close(c, e.close_code, e.reason) < 0 ? -EIO : 0;
                }
        }
        return 0;
}

static int on_client_io(sd_event_source *es _unused_, int fd, uint32_t revents, void *userdata) {
        WebClient *c = userdata;
        uint8_t buf[16384];
        int r = 0;

        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                        client_free(c);
                        return 0;
                }
                if (n > 0)
                        r = client_consume(c, buf, (size_t) n);
        }
        if (r >= 0)
                r = client_flush(c);
        if (r < 0)
                client_free(c);
        return 0;
}

static void on_upgrade(void *cls, struct MHD_Connection *connection _unused_, void *con_cls _unused_,
                       const char *extra_in, size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh) {
        WebServer *s = cls;
        WebClient *c = calloc(1, sizeof(WebClient));
        int flags, r;

        if (!c) {
                MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
                return;
        }
        c->server = s;
        c->fd = sock;
        c->urh = urh;
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
        r = extra_in_size > 0 ? client_consume(c, (const uint8_t *) extra_in, extra_in_size) : 0;
        if (r >= 0)
                r = client_flush(c);
        if (r < 0)
                client_free(c);
}

void web_client_set_subscribed(WebClient *c, bool subscribed) {
        c->subscribed = subscribed;
}

void web_server_broadcast(WebServer *s, const char *text, size_t size) {
        _cleanup_(freep) uint8_t *frame = NULL;
        size_t frame_size;
        WebClient *next;

        if (ws_frame_encode(WS_OP_TEXT, text, size, &frame, &frame_size) < 0)
                return;
        for (WebClient *c = s->clients; c; c = next) {
                next = c->next;
                if (!c->subscribed)
                        continue;
                if (client_queue(c, frame, frame_size) == -ENOBUFS) {
                        log_warning("Dropping a websocket client that is %u bytes behind.", WEB_SEND_QUEUE_MAX);
                        s->dropped++;
                        client_free(c);
                        continue;
                }
                if (client_flush(c) < 0)
                        client_free(c);
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

static int parse_listen(const char *listen, struct sockaddr_storage *ret) {
        char host[256];
        const char *colon = strrchr(listen, ':');
        uint64_t port;
        size_t len;

        if (!colon || colon == listen || safe_atou64(colon + 1, &port) < 0 || port == 0 || port > 65535)
                return -EINVAL;
        len = (size_t) (colon - listen);
        if (listen[0] == '[') {
                if (len < 3 || listen[len - 1] != ']')
                        return -EINVAL;
                listen++;
                len -= 2;
        }
        if (len >= sizeof(host))
                return -EINVAL;
        memcpy(host, listen, len);
        host[len] = 0;
        memset(ret, 0, sizeof(*ret));
        if (inet_pton(AF_INET, host, &((struct sockaddr_in *) ret)->sin_addr) == 1) {
                ((struct sockaddr_in *) ret)->sin_family = AF_INET;
                ((struct sockaddr_in *) ret)->sin_port = htons((uint16_t) port);
                return 0;
        }
        if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *) ret)->sin6_addr) == 1) {
                ((struct sockaddr_in6 *) ret)->sin6_family = AF_INET6;
                ((struct sockaddr_in6 *) ret)->sin6_port = htons((uint16_t) port);
                return 0;
        }
        return -EINVAL;
}

int web_server_new(sd_event *event, const char *listen, const WebHandlers *handlers, WebServer **ret) {
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
        if (s->mhd)
                MHD_stop_daemon(s->mhd);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
