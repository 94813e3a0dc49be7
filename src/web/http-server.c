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

#include "address.h"
#include "http-server.h"
#include "log.h"
#include "time-util.h"
#include "ws-client.h"
#include "ws-frame.h"

struct WebClient {
        WebServer *server;
        WebClient *next;
        int fd;
        struct MHD_UpgradeResponseHandle *urh;
        sd_event_source *io;
        WsClient ws;
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

/* ---- websocket clients: the socket and the loop; what goes over it is ws-client.c's ---- */

static void client_free(WebClient *c) {
        WebServer *s = c->server;

        for (WebClient **p = &s->clients; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        s->n_clients--;
        sd_event_source_disable_unref(c->io);
        ws_client_done(&c->ws);
        /* The socket belongs to libmicrohttpd: it closes it. */
        if (c->urh)
                MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
        free(c);
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

/* Writes what the socket takes of the client's output. */
static int client_write(WebClient *c) {
        const uint8_t *data;
        size_t size, done = 0;

        ws_client_output(&c->ws, &data, &size);
        while (done < size) {
                ssize_t n = send(c->fd, data + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        return -errno;
                }
                done += (size_t) n;
        }
        return ws_client_sent(&c->ws, done, done > 0 ? now_usec(CLOCK_MONOTONIC) : 0);
}

/* Input is read unless a streaming answer's inbox is full; while a stream goes, requests wait (they are
 * answered in order) and the socket being writable is what makes the next fragment. */
static int client_update_events(WebClient *c) {
        return sd_event_source_set_io_events(c->io, (ws_client_wants_write(&c->ws) ? EPOLLOUT : 0) |
                                                    (ws_client_read_max(&c->ws) > 0 ? EPOLLIN : 0));
}

static int client_flush(WebClient *c) {
        int r = client_write(c);

        return r < 0 ? r : client_update_events(c);
}

/* After input was handled (r: how that went): make what a streamed answer needs next, write what the
 * socket takes, or drop the client. Each fragment is written before the next is made, at most
 * WEB_STREAM_FRAGMENTS_PER_WAKEUP of them. */
static void client_run(WebClient *c, int r) {
        for (unsigned i = 0; r >= 0; i++) {
                r = client_write(c);
                if (r < 0 || i == WEB_STREAM_FRAGMENTS_PER_WAKEUP)
                        break;
                r = ws_client_pump(&c->ws);
                if (r == 0)
                        break;
        }
        if (r >= 0)
                r = client_update_events(c);
        if (r < 0)
                client_drop(c, r);
}

static void on_client_message(void *userdata, const char *text, size_t size, WebReply *ret) {
        WebClient *c = userdata;
        WebServer *s = c->server;

        s->handlers.message(c, text, size, s->handlers.userdata, ret);
}

static void on_client_protocol_error(void *userdata _unused_, const char *reason, uint16_t code) {
        log_debug("Websocket client broke the protocol (%s): closing with %u.", reason, (unsigned) code);
}

static void on_client_stream_error(void *userdata _unused_, int error) {
        log_warning("Cannot make the rest of an answer: %s", STRERROR(error));
}

static int on_client_io(sd_event_source *es _unused_, int fd, uint32_t revents, void *userdata) {
        WebClient *c = userdata;
        uint8_t buf[16384];
        size_t room = ws_client_read_max(&c->ws);
        int r = 0;

        if (room == 0 && (revents & (EPOLLHUP | EPOLLERR))) {
                client_free(c);
                return 0;
        }
        if (room > 0 && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                ssize_t n = recv(fd, buf, MIN(room, sizeof(buf)), MSG_DONTWAIT);

                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                        client_free(c);
                        return 0;
                }
                if (n > 0)
                        r = ws_client_feed(&c->ws, buf, (size_t) n);
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
                if (ioctl(c->fd, SIOCOUTQ, &kernel_unsent) < 0 || kernel_unsent < 0)
                        kernel_unsent = 0;
                if (ws_client_stalled(&c->ws, usec, s->stall_usec, (size_t) kernel_unsent))
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
        ws_client_init(&c->ws,
                       &(WsClientHandlers) {
                               .message = on_client_message,
                               .protocol_error = on_client_protocol_error,
                               .stream_error = on_client_stream_error,
                               .userdata = c,
                       },
                       now_usec(CLOCK_MONOTONIC));
        c->next = s->clients;
        s->clients = c;
        s->n_clients++;
        flags = fcntl(sock, F_GETFL);
        if (flags < 0 || fcntl(sock, F_SETFL, flags | O_NONBLOCK) < 0 ||
            sd_event_add_io(s->event, &c->io, sock, EPOLLIN, on_client_io, c) < 0) {
                client_free(c);
                return;
        }
        client_run(c, extra_in_size > 0 ? ws_client_feed(&c->ws, (const uint8_t *) extra_in, extra_in_size) : 0);
}

void web_client_set_subscribed(WebClient *c, bool subscribed) {
        ws_client_set_subscribed(&c->ws, subscribed);
}

void web_server_broadcast(WebServer *s, const char *text, size_t size) {
        uint8_t header[WS_HEADER_MAX];
        size_t header_size = ws_frame_header(WS_OP_TEXT, /* fin= */ true, size, header);
        WebClient *next;

        for (WebClient *c = s->clients; c; c = next) {
                int r;

                next = c->next;
                r = ws_client_push(&c->ws, header, header_size, text, size);
                if (r > 0)
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
