/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <malloc.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "address.h"
#include "conn-limit.h"
#include "fileio.h"
#include "http-server.h"
#include "log.h"
#include "time-util.h"
#include "ws-client.h"
#include "ws-frame.h"

/* One connection MHD holds, from accept to close (MHD_OPTION_NOTIFY_CONNECTION): its peer, for the
 * per-address limit, and its request deadline until it becomes a websocket. */
typedef struct WebConn WebConn;
struct WebConn {
        WebConn *prev, *next;
        int fd;
        char address[INET6_ADDRSTRLEN]; /* "" when not counted */
        usec_t deadline_usec;           /* a whole request head by then; 0 while one is answered */
        unsigned requests;
        bool upgraded, timed_out;
};

struct WebClient {
        WebServer *server;
        WebClient *next;
        int fd;
        struct MHD_UpgradeResponseHandle *urh;
        sd_event_source *io;
        WsClient ws;
        size_t held;              /* the memory of its output queues, as last added to the server's sum */
        usec_t linger_until_usec; /* > 0: our close frame is out, what the peer still sends is dropped */
        EventFilter events;       /* the event stream's filter, while ws.events */
};

typedef enum WebDrop {
        WEB_DROP_BEHIND,  /* more than WEB_SEND_QUEUE_MAX behind (-ENOBUFS) */
        WEB_DROP_STALLED, /* took none of its output for stall_usec */
        WEB_DROP_IDLE,    /* not subscribed and silent for idle_usec */
        WEB_DROP_BUDGET,  /* the slowest, while all clients' output queues hold over output_budget_bytes */
} WebDrop;

struct WebServer {
        sd_event *event;
        struct MHD_Daemon *mhd;
        sd_event_source *mhd_io, *mhd_timer, *check_timer;
        WebClient *clients;
        WebConn *conns;
        ConnLimit limit;
        size_t n_clients, n_conns;
        size_t n_event_subscribers;
        size_t held, output_budget_bytes; /* the memory of all clients' output queues, and its bound */
        /* MHD_run() is due now, whatever its epoll fd and MHD_get_timeout() say: it closed connections
         * (at its connection limit it takes the listen socket out of its epoll set and puts it back only
         * at the start of a later run), or we handed an upgraded socket back (in external-poll mode
         * nothing wakes it to close that). */
        bool mhd_run_due;
        WebHandlers handlers;
        char *page_dir, *javascript_dir; /* NULL: none */
        usec_t stall_usec, idle_usec, handshake_usec, check_usec;
        struct {
                uint64_t dropped, dropped_idle, dropped_budget, handshake_timeouts, keepalive_timeouts,
                        refused_full, refused_per_address, refused_requests;
        } n;
};

static void mhd_update_timer(WebServer *s);

/* The next MHD_run() now (from the loop, not from inside a callback MHD may be running). */
static void mhd_run_soon(WebServer *s) {
        uint64_t now;

        s->mhd_run_due = true;
        if (!s->mhd_timer || sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        sd_event_source_set_time(s->mhd_timer, now);
        sd_event_source_set_enabled(s->mhd_timer, SD_EVENT_ONESHOT);
}

/* ---- websocket clients: the socket and the loop; what goes over it is ws-client.c's ---- */

static void client_free(WebClient *c) {
        WebServer *s = c->server;

        for (WebClient **p = &s->clients; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        s->n_clients--;
        if (c->ws.events)
                s->n_event_subscribers--;
        s->held -= c->held;
        sd_event_source_disable_unref(c->io);
        ws_client_done(&c->ws);
        /* The socket belongs to libmicrohttpd: it closes it, in its next run. */
        if (c->urh) {
                MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
                mhd_run_soon(s);
        }
        free(c);
}

static int client_write(WebClient *c);

/* The memory of the client's output queues, brought up to date in the server's sum: after anything that
 * queued or sent some (a lingering client has none). */
static void client_account(WebClient *c) {
        size_t held = c->linger_until_usec > 0 ? 0 : ws_client_held(&c->ws);

        c->server->held = c->server->held - c->held + held;
        c->held = held;
}

static void client_run(WebClient *c, int r);

/* A client dropped by a rule: logged, counted, and told — a close frame when one can go whole, the
 * connection then ends as any closed one (client_linger()). One that does not take its output gets no
 * close frame: its connection is reset at once, so the kernel does not keep what it would not read. */
static void client_drop(WebClient *c, WebDrop why) {
        WebServer *s = c->server;
        struct linger reset = { .l_onoff = 1, .l_linger = 0 };

        switch (why) {
        case WEB_DROP_BEHIND:
                log_warning("Dropping a websocket client that is more than %u bytes behind.", WEB_SEND_QUEUE_MAX);
                s->n.dropped++;
                break;
        case WEB_DROP_STALLED:
                log_warning("Dropping a websocket client that took none of its output for %g s.",
                            (double) s->stall_usec / USEC_PER_SEC);
                s->n.dropped++;
                break;
        case WEB_DROP_BUDGET:
                log_warning("Dropping the slowest websocket client (%zu bytes behind): all clients' output "
                            "queues hold more than the budget of %zu bytes.", ws_client_queued(&c->ws),
                            s->output_budget_bytes);
                s->n.dropped_budget++;
                break;
        case WEB_DROP_IDLE:
                log_info("Dropping a websocket client that asked for nothing for %g s.",
                         (double) s->idle_usec / USEC_PER_SEC);
                s->n.dropped_idle++;
                if (ws_client_goodbye(&c->ws, WS_CLOSE_GOING_AWAY, "idle") > 0) {
                        client_run(c, 0);
                        return;
                }
                break;
        }
        (void) setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        (void) shutdown(c->fd, SHUT_RDWR);
        client_free(c);
}

/* Our close frame is out: our side ends, and what the peer still sends is read and dropped until it
 * closes too, for at most WEB_LINGER_USEC (a socket closed with bytes unread resets the connection, and
 * the reset can take our close frame with it). The client's memory goes now. */
static void client_linger(WebClient *c) {
        if (shutdown(c->fd, SHUT_WR) < 0 || sd_event_source_set_io_events(c->io, EPOLLIN) < 0) {
                client_free(c);
                return;
        }
        ws_client_done(&c->ws);
        c->linger_until_usec = now_usec(CLOCK_MONOTONIC) + WEB_LINGER_USEC;
        client_account(c);
}

static void client_fail(WebClient *c, int r) {
        if (r == -ENOBUFS)
                client_drop(c, WEB_DROP_BEHIND);
        else if (r == -ECONNRESET)
                client_linger(c);
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

        client_account(c);
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
        client_account(c);
        if (r >= 0)
                r = client_update_events(c);
        if (r < 0)
                client_fail(c, r);
}

void web_client_wake(WebClient *c) {
        assert(c);

        if (c->linger_until_usec > 0)
                return; /* closing: its stream is gone */
        ws_client_wake(&c->ws);
        client_run(c, 0);
}

/* The client the output budget drops first (ws_client_slower()), or NULL when none has output waiting. */
static WebClient *server_slowest(WebServer *s) {
        WebClient *slowest = NULL;

        for (WebClient *c = s->clients; c; c = c->next)
                if (c->linger_until_usec == 0 && ws_client_queued(&c->ws) > 0 &&
                    (!slowest || ws_client_slower(&c->ws, &slowest->ws)))
                        slowest = c;
        return slowest;
}

/* One budget for the output queues of all clients together: while they hold more, the slowest client is
 * dropped (its connection reset, its memory freed). Called after each push or answer went out as far as
 * the socket took it, so the sum is over the budget by at most one message, and only until then. A caller
 * walking the client list passes its next client, kept valid. */
static void server_enforce_budget(WebServer *s, WebClient **next) {
        WebClient *c;

        while (s->held > s->output_budget_bytes && (c = server_slowest(s))) {
                if (next && c == *next)
                        *next = c->next;
                client_drop(c, WEB_DROP_BUDGET);
        }
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
        log_warning_errno(error, "Cannot make the rest of an answer: %m");
}

static int on_client_io(sd_event_source *es _unused_, int fd, uint32_t revents, void *userdata) {
        WebClient *c = userdata;
        WebServer *s = c->server;
        uint8_t buf[16384];
        size_t room;
        int r = 0;

        if (c->linger_until_usec > 0) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        client_free(c);
                return 0;
        }
        room = ws_client_read_max(&c->ws);
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
        server_enforce_budget(s, /* next= */ NULL);
        return 0;
}

/* Every check_usec: requests past their deadline are cut (the socket shut down: MHD sees the end in its
 * next run and closes it), stalled and idle websocket clients dropped. */
static int on_check_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        WebServer *s = userdata;
        WebClient *next;
        bool cut = false;

        for (WebConn *wc = s->conns; wc; wc = wc->next)
                if (!wc->upgraded && wc->deadline_usec > 0 && !wc->timed_out && usec >= wc->deadline_usec) {
                        log_debug("Closing a connection from %s that sent no whole request in %g s.",
                                  wc->address, (double) s->handshake_usec / USEC_PER_SEC);
                        (void) shutdown(wc->fd, SHUT_RDWR);
                        wc->timed_out = cut = true;
                        if (wc->requests == 0)
                                s->n.handshake_timeouts++;
                        else
                                s->n.keepalive_timeouts++;
                }
        if (cut)
                mhd_run_soon(s);
        for (WebClient *c = s->clients; c; c = next) {
                int kernel_unsent = 0;

                next = c->next;
                if (c->linger_until_usec > 0) {
                        if (usec >= c->linger_until_usec)
                                client_free(c);
                        continue;
                }
                if (ioctl(c->fd, SIOCOUTQ, &kernel_unsent) < 0 || kernel_unsent < 0)
                        kernel_unsent = 0;
                if (ws_client_stalled(&c->ws, usec, s->stall_usec, (size_t) kernel_unsent))
                        client_drop(c, WEB_DROP_STALLED);
                else if (ws_client_idle(&c->ws, usec, s->idle_usec))
                        client_drop(c, WEB_DROP_IDLE);
        }
        server_enforce_budget(s, /* next= */ NULL);
        sd_event_source_set_time(es, usec + s->check_usec);
        sd_event_source_set_enabled(es, SD_EVENT_ON);
        return 0;
}

static WebConn *connection_of(struct MHD_Connection *connection) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection,
                                                                       MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return info ? info->socket_context : NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *connection, void *con_cls _unused_,
                       const char *extra_in, size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh) {
        WebServer *s = cls;
        WebConn *wc = connection_of(connection);
        WebClient *c = calloc(1, sizeof(WebClient));
        int flags;

        if (wc) {
                wc->upgraded = true; /* the websocket rules take over */
                wc->deadline_usec = 0;
        }
        if (!c) {
                MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
                mhd_run_soon(s);
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
        server_enforce_budget(s, /* next= */ NULL);
}

void web_client_set_subscribed(WebClient *c, bool subscribed) {
        assert(c);
        ws_client_set_subscribed(&c->ws, subscribed);
}

void web_client_set_events(WebClient *c, const EventFilter *filter) {
        assert(c);

        if (c->ws.events)
                c->server->n_event_subscribers--;
        ws_client_set_events(&c->ws, filter != NULL);
        if (filter) {
                c->events = *filter;
                c->server->n_event_subscribers++;
        }
}

size_t web_server_event_subscribers(const WebServer *s) {
        assert(s);
        return s->n_event_subscribers;
}

/* Text to the clients push() takes it for (one frame, encoded once); a client that cannot keep up goes. */
static void server_push(WebServer *s, const char *text, size_t size, const EventRecord *event) {
        uint8_t header[WS_HEADER_MAX];
        size_t header_size = ws_frame_header(WS_OP_TEXT, /* fin= */ true, size, header);
        WebClient *next;

        assert(s);
        assert(text || size == 0);
        for (WebClient *c = s->clients; c; c = next) {
                int r;

                next = c->next;
                if (!event)
                        r = ws_client_push(&c->ws, header, header_size, text, size);
                else if (event_filter_match(&c->events, event->kind, event->has_uid, event->uid, event->slice))
                        r = ws_client_push_event(&c->ws, header, header_size, text, size);
                else
                        continue;
                if (r > 0)
                        r = client_flush(c);
                if (r < 0)
                        client_fail(c, r);
                else
                        server_enforce_budget(s, &next);
        }
}

void web_server_broadcast(WebServer *s, const char *text, size_t size) {
        server_push(s, text, size, /* event= */ NULL);
}

void web_server_broadcast_event(WebServer *s, const EventRecord *record, const char *text, size_t size) {
        assert(record);
        server_push(s, text, size, record);
}

size_t web_server_clients(const WebServer *s) {
        assert(s);
        return s->n_clients;
}

json_t *web_server_status_json(const WebServer *s) {
        assert(s);
        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                         "clients", (json_int_t) s->n_clients,
                         "connections", (json_int_t) s->n_conns,
                         "addresses", (json_int_t) conn_limit_addresses(&s->limit),
                         "output_bytes", (json_int_t) s->held,
                         "output_budget_bytes", (json_int_t) s->output_budget_bytes,
                         "dropped", (json_int_t) s->n.dropped,
                         "dropped_idle", (json_int_t) s->n.dropped_idle,
                         "dropped_budget", (json_int_t) s->n.dropped_budget,
                         "handshake_timeouts", (json_int_t) s->n.handshake_timeouts,
                         "keepalive_timeouts", (json_int_t) s->n.keepalive_timeouts,
                         "refused_full", (json_int_t) s->n.refused_full,
                         "refused_per_address", (json_int_t) s->n.refused_per_address,
                         "refused_requests", (json_int_t) s->n.refused_requests);
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

/* A request says it has a body (which nothing here takes). */
static bool request_has_body(struct MHD_Connection *conn) {
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

        return (length && strspn(length, "0 \t") != strlen(length)) ||
               MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
}

/* The dashboard's files: only these names, so nothing of a URL reaches the filesystem. Read at each request
 * (a few small local files: an upgraded package is served without a restart), bounded. */
#define WEB_FILE_MAX (512U << 10)
static const struct {
        const char *url, *name, *type;
        bool library; /* under JavaScriptDir=, else PageDir= */
} web_files[] = {
        { "/", "index.html", "text/html; charset=utf-8", false },
        { "/page/app.js", "app.js", "text/javascript; charset=utf-8", false },
        { "/page/style.css", "style.css", "text/css; charset=utf-8", false },
        { "/lib/dygraph.min.js", "dygraphs/dygraph.min.js", "text/javascript; charset=utf-8", true },
        { "/lib/dygraph.min.css", "dygraphs/dygraph.min.css", "text/css; charset=utf-8", true },
};

static enum MHD_Result respond_file(WebServer *s, struct MHD_Connection *conn, size_t i) {
        const char *dir = web_files[i].library ? s->javascript_dir : s->page_dir;
        _cleanup_(freep) char *path = NULL;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        char *data;
        size_t size;
        int r;

        if (!dir)
                return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                               strdup(web_files[i].library ? "not found: [Web] JavaScriptDir= is empty\n"
                                                           : "not found: [Web] PageDir= is empty\n"));
        if (asprintf(&path, "%s/%s", dir, web_files[i].name) < 0)
                return MHD_NO;
        r = read_file_bounded(path, WEB_FILE_MAX, &data, &size);
        if (r < 0) {
                char *body = NULL;

                log_debug_errno(r, "Cannot read %s: %m", path);
                if (asprintf(&body, "not found: %s (%s)\n", path, strerror(-r)) < 0)
                        return MHD_NO;
                return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", body);
        }
        resp = MHD_create_response_from_buffer(size, data, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(data);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", web_files[i].type);
        /* revalidated at each load: a new version shows at once */
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* Called once the request's head is complete, and again (no body being taken) when it is all in: a request
 * with a body or another method than GET is refused at the first call (MHD takes an answer then without
 * waiting for the body, and closes the connection after it), the others answered at the second (an early
 * answer would close the connection: keep-alive needs the request read to its end). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version _unused_, const char *upload_data _unused_,
                                  size_t *upload_data_size, void **con_cls) {
        static int head_seen;
        WebServer *s = cls;
        WebConn *wc;
        const char *key, *wsversion;
        char accept[WS_ACCEPT_KEY_SIZE];
        struct MHD_Response *resp;
        enum MHD_Result ret;

        if (!*con_cls) {
                *con_cls = &head_seen;
                wc = connection_of(conn);
                if (wc) {
                        /* Its head is in: no deadline while it is answered (MHD's own timeout, 30 s without
                         * progress, is there for a reader that stops). */
                        wc->requests++;
                        wc->deadline_usec = 0;
                }
                if (request_has_body(conn)) {
                        s->n.refused_requests++;
                        return respond(conn, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain", strdup("no bodies here\n"));
                }
                if (!streq(method, "GET")) {
                        s->n.refused_requests++;
                        return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", strdup("only GET\n"));
                }
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                *upload_data_size = 0; /* not expected after the checks above; dropped */
                return MHD_YES;
        }
        if (streq(url, "/metrics"))
                return respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                               s->handlers.metrics(s->handlers.userdata));
        if (streq(url, "/healthz"))
                return respond(conn, MHD_HTTP_OK, "text/plain", strdup("ok\n"));
        /* "/" with no Upgrade header is the page; with one, the websocket. */
        for (size_t i = 0; i < ELEMENTSOF(web_files); i++)
                if (streq(url, web_files[i].url) &&
                    (i > 0 || !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade")))
                        return respond_file(s, conn, i);
        if (!streq(url, "/"))
                return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", strdup("not found\n"));
        if (!header_has_token(conn, "Upgrade", "websocket") || !header_has_token(conn, "Connection", "upgrade"))
                return respond(conn, 426 /* Upgrade Required */, "text/plain",
                               strdup("slicekeeper: connect with a websocket client (cmd: show_account, get_conf, "
                                      "subscribe, unsubscribe, events, unsubscribe_events, status)\n"));
        key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
        wsversion = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Version");
        if (!wsversion || !streq(wsversion, "13") || !key ||
            ws_accept_key(key, accept) < 0)
                return respond(conn, MHD_HTTP_BAD_REQUEST, "text/plain", strdup("bad websocket handshake\n"));
        if (s->n_clients >= WEB_CLIENTS_MAX) {
                s->n.refused_full++;
                return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", strdup("too many clients\n"));
        }

        resp = MHD_create_response_for_upgrade(on_upgrade, s);
        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, "Upgrade", "websocket");
        MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
        ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* A request answered (or given up): the next on this connection has a deadline of its own. */
static void on_request_completed(void *cls, struct MHD_Connection *connection, void **con_cls _unused_,
                                 enum MHD_RequestTerminationCode code _unused_) {
        WebServer *s = cls;
        WebConn *wc = connection_of(connection);

        if (wc && !wc->upgraded)
                wc->deadline_usec = now_usec(CLOCK_MONOTONIC) + s->handshake_usec;
}

/* The peer's address as the per-address limit counts it. */
static void address_format(const struct sockaddr *sa, char ret[static INET6_ADDRSTRLEN]) {
        const void *a = sa->sa_family == AF_INET6
                                ? (const void *) &((const struct sockaddr_in6 *) sa)->sin6_addr
                                : (const void *) &((const struct sockaddr_in *) sa)->sin_addr;

        if (!inet_ntop(sa->sa_family, a, ret, INET6_ADDRSTRLEN))
                strcpy(ret, "?");
}

/* Before MHD takes a connection: one more from this address? */
static enum MHD_Result on_mhd_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen _unused_) {
        WebServer *s = cls;
        char address[INET6_ADDRSTRLEN];

        address_format(addr, address);
        if (!conn_limit_full(&s->limit, address))
                return MHD_YES;
        log_debug("Refusing a connection from %s, which holds %zu already.", address, s->limit.per_address_max);
        s->n.refused_per_address++;
        return MHD_NO;
}

/* Our record of a connection MHD has taken; NULL when it could not be made (the connection is then shut
 * down: without its deadline it could be held forever). */
static WebConn *conn_new(WebServer *s, struct MHD_Connection *connection) {
        const union MHD_ConnectionInfo *fd, *peer;
        WebConn *wc;

        fd = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        peer = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        wc = fd ? calloc(1, sizeof(WebConn)) : NULL;

        if (!wc) {
                if (fd)
                        (void) shutdown(fd->connect_fd, SHUT_RDWR);
                return NULL;
        }
        wc->fd = fd->connect_fd;
        wc->deadline_usec = now_usec(CLOCK_MONOTONIC) + s->handshake_usec;
        if (peer) {
                address_format(peer->client_addr, wc->address);
                if (conn_limit_add(&s->limit, wc->address) < 0)
                        wc->address[0] = 0;
        }
        wc->next = s->conns;
        if (wc->next)
                wc->next->prev = wc;
        s->conns = wc;
        s->n_conns++;
        return wc;
}

static void conn_free(WebServer *s, WebConn *wc) {
        if (!wc)
                return;
        if (wc->prev)
                wc->prev->next = wc->next;
        else
                s->conns = wc->next;
        if (wc->next)
                wc->next->prev = wc->prev;
        if (wc->address[0])
                conn_limit_remove(&s->limit, wc->address);
        s->n_conns--;
        free(wc);
}

static void on_mhd_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                              enum MHD_ConnectionNotificationCode code) {
        WebServer *s = cls;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                *socket_context = conn_new(s, connection);
                return;
        }
        conn_free(s, *socket_context);
        *socket_context = NULL;
        s->mhd_run_due = true; /* the listen socket may have to go back into MHD's epoll set */
}

/* Every state MHD can be in gets its next run: its epoll fd readable (on_mhd_io), the time
 * MHD_get_timeout() gives (0 while it has data in hand: pipelined requests), or at once when mhd_run_due. */
static void mhd_update_timer(WebServer *s) {
        MHD_UNSIGNED_LONG_LONG ms = 0;
        uint64_t now;

        if (!s->mhd_run_due && MHD_get_timeout(s->mhd, &ms) != MHD_YES) {
                sd_event_source_set_enabled(s->mhd_timer, SD_EVENT_OFF);
                return;
        }
        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(s->mhd_timer, now + MIN((usec_t) ms, (usec_t) 60000) * USEC_PER_MSEC);
        sd_event_source_set_enabled(s->mhd_timer, SD_EVENT_ONESHOT);
}

static int on_mhd_io(sd_event_source *es _unused_, int fd _unused_, uint32_t revents _unused_, void *userdata) {
        WebServer *s = userdata;

        s->mhd_run_due = false;
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

int web_server_new(sd_event *event, const WebServerConfig *config, const WebHandlers *handlers, WebServer **ret) {
        _cleanup_(web_server_freep) WebServer *s = NULL;
        struct sockaddr_storage addr;
        const union MHD_DaemonInfo *info;
        int r;

        assert(event);
        assert(config);
        assert(handlers);
        assert(ret);

        r = parse_listen(config->listen, &addr);
        if (r < 0)
                return r;
        /* The clients' queues are the biggest and most short-lived allocations of the process, hundreds of
         * KiB each: mmap'd (glibc's threshold fixed, not raised by each free), they grow by mremap and a
         * freed one goes back to the system at once, so the output budget is what RSS sees too. From the
         * heap, the holes they left kept RSS at twice the budget. */
        (void) mallopt(M_MMAP_THRESHOLD, WEB_QUEUE_KEEP);
        s = calloc(1, sizeof(WebServer));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->handlers = *handlers;
        s->stall_usec = config->stall_usec;
        s->idle_usec = config->idle_usec;
        s->handshake_usec = config->handshake_usec;
        s->output_budget_bytes = config->output_budget_bytes;
        if (!isempty(config->page_dir) && !(s->page_dir = strdup(config->page_dir)))
                return -ENOMEM;
        if (!isempty(config->javascript_dir) && !(s->javascript_dir = strdup(config->javascript_dir)))
                return -ENOMEM;
        s->check_usec = MIN(WEB_CHECK_USEC, MIN(s->stall_usec, MIN(s->idle_usec, s->handshake_usec)) / 4);
        conn_limit_init(&s->limit, config->per_address_max);
        s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_UPGRADE | (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                                  0, on_mhd_accept, s, on_request, s,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned) (WEB_CLIENTS_MAX + WEB_HTTP_RESERVE),
                                  MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                                  MHD_OPTION_NOTIFY_CONNECTION, on_mhd_connection, s,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_request_completed, s, MHD_OPTION_END);
        if (!s->mhd)
                return errno > 0 ? -errno : -EADDRINUSE;
        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return -EIO;
        r = sd_event_add_io(event, &s->mhd_io, info->epoll_fd, EPOLLIN, on_mhd_io, s);
        if (r >= 0)
                /* accuracy 1 µs: the default (250 ms) made each pipelined request wait its turn that long */
                r = sd_event_add_time(event, &s->mhd_timer, CLOCK_MONOTONIC, 0, 1, on_mhd_timer, s);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &s->check_timer, CLOCK_MONOTONIC, s->check_usec,
                                               MIN(USEC_PER_SEC, s->check_usec / 4), on_check_timer, s);
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
        s->mhd_timer = NULL;
        sd_event_source_disable_unref(s->check_timer);
        if (s->mhd)
                MHD_stop_daemon(s->mhd); /* its connections' close notices free our records of them */
        while (s->conns)
                conn_free(s, s->conns);
        conn_limit_done(&s->limit);
        sd_event_unref(s->event);
        free(s->page_dir);
        free(s->javascript_dir);
        free(s);
        return NULL;
}
