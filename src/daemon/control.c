/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "control.h"
#include "fileio.h"
#include "log.h"
#include "time-util.h"

typedef struct Client Client;
struct Client {
        ControlServer *server;
        Client *next;
        int fd;
        uint32_t uid;      /* the peer's (SO_PEERCRED) */
        char *in;
        size_t in_len;
        bool answering;    /* the answer is on its way: out, then the rest of stream */
        Buf out;           /* the answer's text, or its current part, from out_done on */
        size_t out_done;
        PartStream stream; /* the parts still to make */
        sd_event_source *io, *timeout;
};

struct ControlServer {
        sd_event *event;
        char *path;
        int fd;
        sd_event_source *io, *resume; /* resume: the listener paused after running out of descriptors */
        Client *clients;
        size_t n_clients;
        ControlHandler handler;
        void *userdata;
        usec_t timeout_usec; /* for a request line to be complete, and again for its answer to be taken */
        uint64_t accepted, refused_not_root, refused_busy, errors, timed_out, answer_parts;
};

/* Closing with unread input makes the kernel reset the connection, and the peer may then miss the answer
 * it was sent: read what is there first (bounded). */
static void drain_and_close(int fd) {
        char drain[4096];

        for (int i = 0; i < 16 && recv(fd, drain, sizeof(drain), MSG_DONTWAIT) > 0; i++)
                ;
        close(fd);
}

/* Refuses a connection that gets no client: the error line, then close. */
static void refuse_connection(int fd, const char *message) {
        _cleanup_(freep) char *line = NULL;
        json_t *o = json_pack("{s:s}", "error", message);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

        json_decref(o);
        if (text && asprintf(&line, "%s\n", text) >= 0)
                (void) !send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
        free(text);
        drain_and_close(fd);
}

static void client_free(Client *c) {
        ControlServer *s = c->server;

        for (Client **p = &s->clients; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        s->n_clients--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timeout);
        if (c->fd >= 0)
                drain_and_close(c->fd);
        free(c->in);
        buf_done(&c->out);
        part_stream_done(&c->stream);
        free(c);
}

/* From now on the client is written to, not read: the answer goes out, then the connection is closed. */
static int client_start_answer(Client *c) {
        c->answering = true;
        return sd_event_source_set_io_events(c->io, EPOLLOUT);
}

static int client_answer(Client *c, json_t *answer) {
        char *text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
        int r;

        if (!answer || json_object_get(answer, "error"))
                c->server->errors++;

        json_decref(answer);
        c->out.size = c->out_done = 0;
        r = buf_put(&c->out, text ? text : "{\"error\":\"out of memory\"}",
                    text ? strlen(text) : strlen("{\"error\":\"out of memory\"}"));
        free(text);
        if (r >= 0)
                r = buf_put(&c->out, "\n", 1);
        return r < 0 ? r : client_start_answer(c);
}

/* The next part of a streamed answer, once the last is taken; the time to take it starts again. */
static int client_next_part(Client *c) {
        int r;

        c->out.size = c->out_done = 0;
        r = c->stream.next(c->stream.state, &c->out, CONTROL_ANSWER_PART);
        if (r < 0)
                return r;
        c->server->answer_parts++;
        if (r == 0) {
                part_stream_done(&c->stream);
                r = buf_put(&c->out, "\n", 1);
                if (r < 0)
                        return r;
        }
        r = sd_event_source_set_time_relative(c->timeout, c->server->timeout_usec);
        return r < 0 ? r : sd_event_source_set_enabled(c->timeout, SD_EVENT_ONESHOT);
}

static void client_handle(Client *c) {
        ControlRequest req;
        char error[256];
        ControlAnswer answer = {};
        int r;

        if (control_request_parse(c->in, c->in_len, &req, error, sizeof(error)) < 0)
                answer.json = json_pack("{s:s}", "error", error);
        else if (c->uid != 0 && !(req.cmd == CONTROL_CMD_USERS && req.me) && req.cmd != CONTROL_CMD_ACCOUNT) {
                /* a user may ask about themselves only: `slicekeeper users --me`; and read the window
                 * (`slicekeeper top`), which shows no more than cgroupfs shows everyone */
                c->server->refused_not_root++;
                snprintf(error, sizeof(error),
                         "permission denied: this request is for root (peer uid %" PRIu32 "); as a user, ask "
                         "`slicekeeper users --me`", c->uid);
                answer.json = json_pack("{s:s}", "error", error);
                control_request_done(&req);
        } else {
                req.peer_uid = c->uid;
                c->server->handler(&req, c->server->userdata, &answer);
                control_request_done(&req);
        }
        if (answer.stream.next) {
                json_decref(answer.json);
                c->stream = answer.stream;
                r = client_start_answer(c); /* its first part is made when the socket takes it */
        } else
                r = client_answer(c, answer.json);
        if (r < 0)
                client_free(c);
}

static int on_client_io(sd_event_source *es _unused_, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;

        if (c->answering) {
                /* At most one part is made per wakeup: the loop goes round between parts. */
                for (bool made = false;;) {
                        while (c->out_done < c->out.size) {
                                ssize_t n = send(fd, c->out.data + c->out_done, c->out.size - c->out_done,
                                                 MSG_NOSIGNAL);
                                if (n < 0) {
                                        if (errno == EAGAIN)
                                                return 0;
                                        client_free(c);
                                        return 0;
                                }
                                c->out_done += (size_t) n;
                        }
                        if (!c->stream.next) {
                                client_free(c);
                                return 0;
                        }
                        if (made)
                                return 0;
                        if (client_next_part(c) < 0) {
                                /* part of the answer may be out: the client sees it cut short */
                                c->server->errors++;
                                client_free(c);
                                return 0;
                        }
                        made = true;
                }
        }
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                        ssize_t n;
                        char *nl;

                        if (c->in_len >= CONTROL_REQUEST_MAX) {
                                if (client_answer(c, json_pack("{s:s}", "error", "request larger than 64 KiB")) < 0)
                                        client_free(c);
                                return 0;
                        }
                        n = recv(fd, c->in + c->in_len, CONTROL_REQUEST_MAX - c->in_len, 0);
                        if (n < 0) {
                                if (errno == EAGAIN)
                                        return 0;
                                client_free(c);
                                return 0;
                        }
                        nl = n > 0 ? memchr(c->in + c->in_len, '\n', (size_t) n) : NULL;
                        c->in_len += (size_t) n;
                        if (n == 0 || nl) {
                                if (nl)
                                        c->in_len = (size_t) (nl - c->in);
                                client_handle(c);
                                return 0;
                        }
                }
        }
        return 0;
}

static int on_client_timeout(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        Client *c = userdata;
        char message[64];

        /* A request line still incomplete is answered; an answer still not taken is given up. */
        c->server->timed_out++;
        snprintf(message, sizeof(message), "no complete request line within %g s",
                 (double) c->server->timeout_usec / USEC_PER_SEC);
        if (c->answering || client_answer(c, json_pack("{s:s}", "error", message)) < 0 ||
            sd_event_source_set_time_relative(c->timeout, c->server->timeout_usec) < 0 ||
            sd_event_source_set_enabled(c->timeout, SD_EVENT_ONESHOT) < 0)
                client_free(c);
        return 0;
}

static int on_resume(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        ControlServer *s = userdata;

        return sd_event_source_set_enabled(s->io, SD_EVENT_ON);
}

static int on_accept(sd_event_source *es _unused_, int fd, uint32_t revents _unused_, void *userdata) {
        ControlServer *s = userdata;
        _cleanup_(closep) int cfd = -EBADF;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        Client *c;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* The connection stays queued and the socket readable: pause instead of spinning. */
                        log_warning("Control socket: cannot accept (%s); pausing it for 250 ms.", strerror(errno));
                        sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
                        sd_event_source_set_time_relative(s->resume, 250 * USEC_PER_MSEC);
                        sd_event_source_set_enabled(s->resume, SD_EVENT_ONESHOT);
                }
                return 0;
        }
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                cred.uid = (uid_t) -1; /* nobody: refused everything but users --me, which finds no line */
        if (s->n_clients >= CONTROL_CLIENTS_MAX) {
                char message[128];

                s->refused_busy++;
                snprintf(message, sizeof(message), "too many control clients (at most %d at once); try again",
                         CONTROL_CLIENTS_MAX);
                refuse_connection(TAKE_FD(cfd), message);
                return 0;
        }
        c = calloc(1, sizeof(Client));
        if (!c)
                return 0;
        s->accepted++;
        c->server = s;
        c->uid = (uint32_t) cred.uid;
        c->fd = -EBADF;
        c->next = s->clients;
        s->clients = c;
        s->n_clients++;
        c->in = malloc(CONTROL_REQUEST_MAX);
        if (!c->in) {
                client_free(c);
                return 0;
        }
        c->fd = TAKE_FD(cfd);
        r = sd_event_add_io(s->event, &c->io, c->fd, EPOLLIN, on_client_io, c);
        if (r >= 0)
                r = sd_event_add_time_relative(s->event, &c->timeout, CLOCK_MONOTONIC, s->timeout_usec, 0,
                                               on_client_timeout, c);
        if (r < 0)
                client_free(c);
        return 0;
}

int control_server_new(sd_event *event, const char *path, usec_t timeout_usec, ControlHandler handler,
                       void *userdata, ControlServer **ret) {
        _cleanup_(control_server_freep) ControlServer *s = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(freep) char *dir = NULL;
        char *slash;
        int r;

        assert(event);
        assert(handler);
        assert(ret);

        if (isempty(path) || path[0] != '/' || strlen(path) >= sizeof(sa.sun_path))
                return -EINVAL;
        s = calloc(1, sizeof(ControlServer));
        if (!s)
                return -ENOMEM;
        s->fd = -EBADF;
        s->event = sd_event_ref(event);
        s->handler = handler;
        s->userdata = userdata;
        s->timeout_usec = timeout_usec;
        s->path = strdup(path);
        dir = strdup(path);
        if (!s->path || !dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash != dir) {
                *slash = 0;
                r = mkdir_p(dir, 0755);
                if (r < 0)
                        return r;
        }
        strcpy(sa.sun_path, path);
        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0)
                return -errno;
        (void) unlink(path); /* a stale socket from a previous run */
        if (bind(s->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        /* anyone may connect: what a request may do is checked per request (root, or users --me) */
        if (chmod(path, 0666) < 0 || listen(s->fd, 16) < 0)
                return -errno;
        r = sd_event_add_io(event, &s->io, s->fd, EPOLLIN, on_accept, s);
        if (r >= 0)
                r = sd_event_add_time(event, &s->resume, CLOCK_MONOTONIC, 0, 0, on_resume, s);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(s->resume, SD_EVENT_OFF);
        *ret = TAKE_PTR(s);
        return 0;
}

ControlServer *control_server_free(ControlServer *s) {
        if (!s)
                return NULL;
        while (s->clients)
                client_free(s->clients);
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->resume);
        if (s->fd >= 0) {
                close(s->fd);
                unlink(s->path);
        }
        sd_event_unref(s->event);
        free(s->path);
        free(s);
        return NULL;
}

json_t *control_server_status_json(const ControlServer *s) {
        assert(s);

        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "clients", (json_int_t) s->n_clients, "accepted",
                         (json_int_t) s->accepted, "refused_not_root", (json_int_t) s->refused_not_root,
                         "refused_busy", (json_int_t) s->refused_busy, "errors", (json_int_t) s->errors,
                         "timed_out", (json_int_t) s->timed_out, "answer_parts", (json_int_t) s->answer_parts);
}
