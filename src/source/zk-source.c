/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include "backoff.h"
#include "coalesce.h"
#include "log-once.h"
#include "log.h"
#include "outage.h"
#include "pending-read.h"
#include "strv.h"
#include "zk-machine.h"
#include "zk-nodes.h"
#include "zk-source.h"
#include "zk-util.h"

struct ZkSource {
        sd_event *event;
        char *hosts;
        ZkNodes nodes;       /* the data nodes, children_of and its children, each with its read for delivery */
        char **credentials;  /* "user:password" per Auth= line, or NULL */
        size_t auths_pending; /* zoo_add_auth() calls of this handle not answered yet */
        int session_timeout_ms;
        size_t max_bytes;
        ZkSourceHandler handler;
        void *userdata;

        ZkMachine machine;
        zhandle_t *zh;
        clientid_t session;  /* kept to resume the session on a new handle */
        bool have_session;
        bool connected;
        uint64_t generation; /* bumped per handle: callbacks of a closed handle are ignored */

        /* The client closes and reopens its socket on its own, and the number can meanwhile go to another
         * part of the daemon. So the socket sits in an epoll set of ours: a closed socket leaves it by
         * itself, and nothing of ours ever touches a number the client no longer owns in sd-event's set. */
        int epoll_fd;
        int fd;
        sd_event_source *io, *zk_timer, *machine_timer, *defer;
        unsigned pending;    /* ZkAction bits waiting for the defer source */
        /* A node set faster than COALESCE_BOUND_USEC is read at most that often (the watch is one-shot, so a
         * postponed read gets the latest version), and a change is never read later than that: a Coalescer per
         * node, one timer for the earliest due. */
        sd_event_source *read_timer;
        /* What reads brought, recorded per node inside zookeeper_process() and handed to the owner from a defer
         * source of its own: the owner swaps trees and reopens files, which must not happen inside the client. */
        sd_event_source *deliver;
        uint64_t children_skipped; /* invalid child names seen, over all reads of the children */
        LogOnce state_log;

        /* Up once a session is established (and authenticated, with Auth=); down from a failed connect, a lost
         * connection, an expired session or refused credentials until then. */
        Outage outage;
        char *name;          /* "ZooKeeper at HOSTS", for the journal */
        ZkSourceNotify on_change;
        char socket_error[128]; /* why the client's socket failed, from its log; "" once used */
};

/* The client's log callback has no context argument: the source calling into the client is kept here for
 * the duration of the call (one thread, and one client call at a time). */
static ZkSource *log_source;

static void zk_update_sources(ZkSource *s);

#define IN_SET_PHASE_UP(p) ((p) == ZK_PHASE_READING || (p) == ZK_PHASE_WATCHING || (p) == ZK_PHASE_READ_BACKOFF)

/* Callbacks carry the source, the handle generation they were issued for and, for reads, the node (its id, never
 * reused, and the serial of the read): a callback of a closed handle, of a read a newer one replaced or of a child
 * forgotten meanwhile finds nothing. */
typedef struct Token {
        ZkSource *source;
        uint64_t generation;
        uint64_t node_id, serial;
} Token;

static void *token_new(ZkSource *s, uint64_t node_id, uint64_t serial) {
        Token *t = malloc(sizeof(Token));

        if (t)
                *t = (Token) { s, s->generation, node_id, serial };
        return t;
}

/* Returns the source if the token's handle is still the live one, else NULL; frees the token when
 * `consume`. */
static ZkSource *token_source(const void *data, bool consume) {
        Token *t = (Token *) data;
        ZkSource *s;

        if (!t)
                return NULL;
        s = t->generation == t->source->generation && t->source->zh ? t->source : NULL;
        if (consume)
                free(t);
        return s;
}

/* The live source and the node of a read's token, if both are still what the read was sent for; frees the
 * token. */
static ZkSource *token_node(const void *data, ZkNode **ret) {
        const Token *t = data;
        uint64_t id = t ? t->node_id : 0, serial = t ? t->serial : 0;
        ZkSource *s = token_source(data, true);

        *ret = s ? zk_nodes_completed(&s->nodes, id, serial) : NULL;
        return *ret ? s : NULL;
}

/* From the client's callbacks: the owner gets the read from the loop, per node the newest one if several came
 * first. */
static void zk_deliver_later(ZkSource *s, ZkNode *node, int error, const char *message, const char *data,
                             size_t size, int64_t version) {
        if (zk_node_put(node, error, message, data, size, version) < 0)
                log_debug("ZooKeeper: out of memory keeping a read; the owner gets the error instead.");
        sd_event_source_set_enabled(s->deliver, SD_EVENT_ONESHOT);
}

static int on_deliver(sd_event_source *es _unused_, void *userdata) {
        ZkSource *s = userdata;
        ZkNode *node;

        /* The handler does not change the set (it may not free the source): each node's read once, in order. */
        while ((node = zk_nodes_next_delivery(&s->nodes))) {
                SourceRead read;

                if (!pending_read_take(&node->delivery, &read))
                        break;
                s->handler(s, node->path, read.error, read.message, read.data, read.size, read.version,
                           s->userdata);
                source_read_done(&read);
                zk_nodes_delivered(&s->nodes, node); /* a gone child is forgotten now */
        }
        return 0;
}

_printf_(3, 4) static void log_state(ZkSource *s, int level, const char *format, ...) {
        char msg[512];
        va_list ap;

        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);
        if (log_once_should(&s->state_log, msg)) /* once per distinct state */
                log_internal(level, 0, NULL, "%s", msg);
}

/* The journal line and the owner's callback for a change of the outage state: one line on the way in, one on
 * the way out, whatever the number of attempts in between. */
static void zk_outage_changed(ZkSource *s, OutageChange change) {
        char msg[600];

        if (change == OUTAGE_UNCHANGED)
                return;
        outage_message(&s->outage, change, s->name, "reconnecting with backoff, slices unchanged", msg, sizeof(msg));
        log_internal(outage_log_level(change), 0, NULL, "%s", msg);
        if (s->on_change)
                s->on_change(s, s->userdata);
}

_printf_(2, 3) static void zk_down(ZkSource *s, const char *format, ...) {
        char cause[OUTAGE_CAUSE_MAX];
        va_list ap;

        va_start(ap, format);
        vsnprintf(cause, sizeof(cause), format, ap);
        va_end(ap);
        zk_outage_changed(s, outage_down(&s->outage, now_usec(CLOCK_REALTIME), cause));
}

/* A socket error the client logged while no session is up is the cause of the outage (a failed connect);
 * one logged while up waits for the session event that follows it. */
static void zk_take_socket_error(ZkSource *s) {
        if (isempty(s->socket_error) || s->outage.state == OUTAGE_STATE_UP)
                return;
        zk_down(s, "cannot connect: %s", s->socket_error);
        s->socket_error[0] = 0;
}

static void machine_feed(ZkSource *s, ZkEvent event) {
        unsigned actions = zk_machine_step(&s->machine, event);

        log_debug("ZooKeeper: %s → %s.", zk_event_to_string(event), zk_phase_to_string(s->machine.phase));
        if (actions & ZK_ACTION_DISARM_TIMER)
                sd_event_source_set_enabled(s->machine_timer, SD_EVENT_OFF);
        if (actions & ZK_ACTION_ARM_TIMER) {
                uint64_t now, random = 0, delay = s->machine.timer_usec;

                /* ±12.5% jitter, so a fleet that lost its ensemble does not come back in lockstep. */
                if (getrandom(&random, sizeof(random), GRND_NONBLOCK) == sizeof(random))
                        delay = backoff_jitter_usec(delay, /* div= */ 8, random);
                sd_event_now(s->event, CLOCK_MONOTONIC, &now);
                sd_event_source_set_time(s->machine_timer, now + delay);
                sd_event_source_set_enabled(s->machine_timer, SD_EVENT_ONESHOT);
        }
        /* Handle operations run from a defer source: never close a handle inside zookeeper_process(). */
        s->pending |= actions & (ZK_ACTION_OPEN | ZK_ACTION_CLOSE | ZK_ACTION_FORGET_SESSION | ZK_ACTION_AUTH |
                                 ZK_ACTION_READ);
        if (s->pending)
                sd_event_source_set_enabled(s->defer, SD_EVENT_ONESHOT);
        /* A session, authenticated if Auth= is set, is what "up" means: the tree can be read. */
        if (s->connected && IN_SET_PHASE_UP(s->machine.phase))
                zk_outage_changed(s, outage_up(&s->outage, now_usec(CLOCK_REALTIME)));
}

/* The read timer for the earliest postponed change of any node. */
static void zk_arm_read_timer(ZkSource *s) {
        usec_t due = zk_nodes_due(&s->nodes);

        if (due == USEC_INFINITY) {
                sd_event_source_set_enabled(s->read_timer, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(s->read_timer, due);
        sd_event_source_set_enabled(s->read_timer, SD_EVENT_ONESHOT);
}

static void zk_node_changed(ZkSource *s, const char *path) {
        uint64_t now;

        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        if (zk_nodes_changed(&s->nodes, path, now))
                machine_feed(s, ZK_EVENT_NODE_CHANGED);
        zk_arm_read_timer(s);
}

static int on_read_timer(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        ZkSource *s = userdata;
        uint64_t now;

        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        if (zk_nodes_take_due(&s->nodes, now))
                machine_feed(s, ZK_EVENT_NODE_CHANGED);
        zk_arm_read_timer(s);
        return 0;
}

/* After a completion: what changed meanwhile is read next; with nothing in flight, the reads are done. */
static void zk_reads_settle(ZkSource *s) {
        if (zk_nodes_count(&s->nodes, ZK_NODE_DIRTY) > 0)
                machine_feed(s, ZK_EVENT_NODE_CHANGED);
        else if (zk_nodes_count(&s->nodes, ZK_NODE_IN_FLIGHT) == 0)
                machine_feed(s, ZK_EVENT_READ_DONE);
}

static void zk_read_failed(ZkSource *s, ZkNode *node) {
        zk_node_done(node, /* ok= */ false);
        machine_feed(s, ZK_EVENT_READ_FAILED);
}

/* ---- callbacks from the client library (inside zookeeper_process) ---- */

static void on_node_watch(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
        ZkSource *s = ctx;

        if (zh != s->zh || type == ZOO_SESSION_EVENT || type == ZOO_NOTWATCHING_EVENT || !path)
                return;
        log_debug("ZooKeeper: watch fired on %s (type %d).", path, type);
        /* Every node of that path (a data node and children_of may share it) is read again. */
        zk_node_changed(s, path);
}

static void on_session(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
        ZkSource *s = ctx;

        if (zh != s->zh || type != ZOO_SESSION_EVENT)
                return;
        if (state == ZOO_CONNECTED_STATE) {
                const clientid_t *id = zoo_client_id(zh);

                /* Whatever was in flight was answered with a connection loss: every node is read again. */
                zk_nodes_mark_all_dirty(&s->nodes);
                s->connected = true;
                s->socket_error[0] = 0;
                if (id) {
                        s->session = *id;
                        s->have_session = true;
                }
                log_debug("ZooKeeper: session with %s.", zoo_get_current_server(zh) ? zoo_get_current_server(zh) : s->hosts);
                machine_feed(s, ZK_EVENT_CONNECTED);
        } else if (state == ZOO_CONNECTING_STATE) {
                s->connected = false;
                zk_down(s, "connection lost: %s", isempty(s->socket_error) ? zerror(ZCONNECTIONLOSS) : s->socket_error);
                s->socket_error[0] = 0;
                machine_feed(s, ZK_EVENT_CONNECTION_LOST);
        } else if (state == ZOO_EXPIRED_SESSION_STATE) {
                s->connected = false;
                /* Not a retry: the session's watches are gone and a new one starts. */
                log_state(s, LOG_NOTICE, "ZooKeeper: session expired; opening a new one, slices unchanged.");
                zk_down(s, "session expired");
                machine_feed(s, ZK_EVENT_EXPIRED);
        } else if (state == ZOO_AUTH_FAILED_STATE) {
                s->connected = false;
                zk_down(s, "authentication failed");
                machine_feed(s, ZK_EVENT_AUTH_FAILED);
        }
}

static void on_auth(int rc, const void *data) {
        ZkSource *s = token_source(data, true);

        if (!s)
                return;
        if (rc == ZOK) {
                if (s->auths_pending > 0 && --s->auths_pending == 0)
                        machine_feed(s, ZK_EVENT_AUTH_DONE);
        } else if (rc == ZAUTHFAILED) {
                char msg[300];
                snprintf(msg, sizeof(msg), "ZooKeeper refused the credentials of [ZooKeeper] Auth= (%s)", zerror(rc));
                /* For the tree, as before: the first node. */
                zk_deliver_later(s, s->nodes.nodes[0], zk_error_to_errno(rc), msg, NULL, 0, -1);
                zk_down(s, "authentication failed: the server refused the credentials of Auth=");
                machine_feed(s, ZK_EVENT_AUTH_FAILED);
        }
        /* Connection loss and closing are reported by session events. */
}

static void report_error(ZkSource *s, ZkNode *node, int zrc, const char *what) {
        char msg[ZK_PATH_MAX + 512];

        snprintf(msg, sizeof(msg), "%s %s: %s", what, node->path, zerror(zrc));
        zk_deliver_later(s, node, zk_error_to_errno(zrc), msg, NULL, 0, -1);
}

static bool is_session_trouble(int rc) {
        /* The session events drive what happens next. */
        return rc == ZCONNECTIONLOSS || rc == ZCLOSING || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED;
}

static void on_exists(int rc, const struct Stat *stat, const void *data) {
        ZkNode *node;
        ZkSource *s = token_node(data, &node);

        if (!s)
                return;
        if (rc == ZOK)
                /* Created between our read and the exists call: the watch is set, read it now. */
                zk_node_mark_dirty(node);
        else if (rc == ZNONODE)
                zk_node_done(node, /* ok= */ true); /* watching for its creation */
        else if (!is_session_trouble(rc)) {
                report_error(s, node, rc, "cannot watch");
                zk_read_failed(s, node);
                return;
        } else
                return;
        zk_reads_settle(s);
}

/* "No node": the owner learns it, and an exists watch waits for its creation. A child that vanished is not
 * reported here: the children list says whether it left (then -ENOENT once) or came back. */
static void zk_node_missing(ZkSource *s, ZkNode *node) {
        char msg[ZK_PATH_MAX + 64];
        void *t;
        int r;

        if (node->kind == ZK_NODE_CHILD) {
                node->vanished = true;
                zk_node_done(node, /* ok= */ true);
                zk_node_changed(s, s->nodes.list->path);
                zk_reads_settle(s);
                return;
        }
        snprintf(msg, sizeof(msg), "node %s does not exist", node->path);
        zk_deliver_later(s, node, -ENOENT, msg, NULL, 0, -1);
        if (node->kind == ZK_NODE_LIST && zk_nodes_children_missing(&s->nodes) > 0)
                sd_event_source_set_enabled(s->deliver, SD_EVENT_ONESHOT);
        t = token_new(s, node->id, node->serial);
        r = t ? zoo_awexists(s->zh, node->path, on_node_watch, s, on_exists, t) : ZSYSTEMERROR;
        if (r != ZOK) {
                free(t);
                zk_read_failed(s, node);
        }
}

/* A read (of data, or the list of children) that did not succeed: a missing node is watched for; a refusal or a
 * server error is delivered and the node read again after a backoff; session trouble waits for the session's
 * events. what: "read", "list the children of". */
static void zk_read_refused(ZkSource *s, ZkNode *node, int rc, const char *what) {
        char msg[ZK_PATH_MAX + 256];

        if (rc == ZNONODE) {
                zk_node_missing(s, node);
                return;
        }
        if (is_session_trouble(rc))
                return;
        if (rc == ZNOAUTH) {
                snprintf(msg, sizeof(msg), "not allowed to %s %s: the node's ACL refuses our identity (check "
                                           "[ZooKeeper] Auth=)", what, node->path);
                zk_deliver_later(s, node, -EACCES, msg, NULL, 0, -1);
        } else {
                snprintf(msg, sizeof(msg), "cannot %s", what);
                report_error(s, node, rc, msg);
        }
        zk_read_failed(s, node);
}

static void on_data(int rc, const char *value, int value_len, const struct Stat *stat, const void *data) {
        ZkNode *node;
        ZkSource *s = token_node(data, &node);
        char msg[ZK_PATH_MAX + 256];

        if (!s)
                return;
        switch (rc) {
        case ZOK:
                node->vanished = false;
                if (value_len < 0 || (size_t) value_len > s->max_bytes) {
                        snprintf(msg, sizeof(msg), "node %s is %d bytes, larger than the limit of %zu bytes",
                                 node->path, value_len, s->max_bytes);
                        zk_deliver_later(s, node, -EFBIG, msg, NULL, 0, stat ? stat->version : -1);
                } else
                        zk_deliver_later(s, node, 0, NULL, value ? value : "", (size_t) value_len,
                                         stat ? stat->version : -1);
                zk_node_done(node, /* ok= */ true);
                zk_reads_settle(s);
                return;
        default:
                zk_read_refused(s, node, rc, "read");
        }
}

static void on_children(int rc, const struct String_vector *strings, const struct Stat *stat, const void *data) {
        ZkNode *node;
        ZkSource *s = token_node(data, &node);
        ZkChildrenDiff d;
        char msg[ZK_PATH_MAX + 256];

        if (!s)
                return;
        switch (rc) {
        case ZOK:
                zk_nodes_children(&s->nodes, strings ? strings->data : NULL,
                                  strings && strings->count > 0 ? (size_t) strings->count : 0, &d);
                s->children_skipped += d.skipped;
                if (d.skipped > 0)
                        log_debug("ZooKeeper: skipped %zu invalid child names of %s.", d.skipped, node->path);
                if (d.too_many) {
                        snprintf(msg, sizeof(msg), "node %s has %zu children, more than the limit of %zu: "
                                 "no new child is read", node->path, d.wanted, s->nodes.max_children);
                        zk_deliver_later(s, node, -E2BIG, msg, NULL, 0, stat ? stat->cversion : -1);
                } else
                        /* The list read: no bytes; its version is the children's version (cversion). */
                        zk_deliver_later(s, node, 0, NULL, NULL, 0, stat ? stat->cversion : -1);
                zk_node_done(node, /* ok= */ true);
                zk_reads_settle(s);
                return;
        default:
                zk_read_refused(s, node, rc, "list the children of");
        }
}

/* ---- actions ---- */

static void zk_close(ZkSource *s) {
        zhandle_t *zh = s->zh;

        if (!zh)
                return;
        /* Completions called by zookeeper_close() must see a dead generation. */
        s->generation++;
        s->zh = NULL;
        s->connected = false;
        s->fd = -EBADF;
        sd_event_source_set_enabled(s->zk_timer, SD_EVENT_OFF);
        zookeeper_close(zh);
}

static void on_zk_log(const char *message) {
        int e = zk_log_socket_errno(message);

        log_debug("zookeeper: %s", message);
        if (e > 0 && log_source)
                snprintf(log_source->socket_error, sizeof(log_source->socket_error), "%s", zk_socket_errno_text(e));
}

static void zk_open(ZkSource *s) {
        zk_close(s);
        s->generation++;
        zk_nodes_mark_all_dirty(&s->nodes); /* a new handle: nothing is in flight or watched */
        /* A numeric host list resolves without blocking; names go through getaddrinfo once per handle. */
        s->zh = zookeeper_init2(s->hosts, on_session, s->session_timeout_ms, s->have_session ? &s->session : NULL,
                                s, 0, on_zk_log);
        if (!s->zh) {
                zk_down(s, "cannot create a client: %s", STRERROR(errno));
                machine_feed(s, ZK_EVENT_EXPIRED); /* back off and try a fresh handle */
                return;
        }
        log_debug("ZooKeeper: opened a client for %s%s.", s->hosts, s->have_session ? ", resuming the session" : "");
}

/* Sends a read (with a watch) of every node to be read; with nothing in flight afterwards, the reads are done. */
static void zk_read(ZkSource *s) {
        uint64_t now;

        if (!s->zh)
                return;
        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        for (size_t i = 0; i < s->nodes.n; i++) {
                ZkNode *node = s->nodes.nodes[i];
                void *t;
                int rc;

                if (node->state != ZK_NODE_DIRTY)
                        continue;
                t = token_new(s, node->id, zk_node_sent(node, now));
                if (!t)
                        rc = ZSYSTEMERROR;
                else if (node->kind == ZK_NODE_LIST)
                        rc = zoo_awget_children2(s->zh, node->path, on_node_watch, s, on_children, t);
                else
                        rc = zoo_awget(s->zh, node->path, on_node_watch, s, on_data, t);
                if (rc != ZOK) {
                        free(t);
                        log_debug("ZooKeeper: cannot send read of %s: %s", node->path, zerror(rc));
                        zk_read_failed(s, node);
                }
        }
        zk_arm_read_timer(s);
        if (zk_nodes_count(&s->nodes, ZK_NODE_IN_FLIGHT) == 0)
                machine_feed(s, ZK_EVENT_READ_DONE);
}

/* Every Auth= line's credentials; the session counts as authenticated once the server took them all. */
static void zk_auth(ZkSource *s) {
        s->auths_pending = 0;
        for (size_t i = 0; s->zh && s->credentials && s->credentials[i]; i++) {
                void *t = token_new(s, 0, 0);
                int rc;

                if (!t)
                        return;
                rc = zoo_add_auth(s->zh, "digest", s->credentials[i], (int) strlen(s->credentials[i]), on_auth, t);
                if (rc != ZOK) {
                        free(t);
                        machine_feed(s, ZK_EVENT_AUTH_FAILED);
                        return;
                }
                s->auths_pending++;
        }
}

static int on_defer(sd_event_source *es _unused_, void *userdata) {
        ZkSource *s = userdata;

        while (s->pending) {
                unsigned a = s->pending;

                s->pending = 0;
                if (a & ZK_ACTION_CLOSE)
                        zk_close(s);
                if (a & ZK_ACTION_FORGET_SESSION)
                        s->have_session = false;
                if (a & ZK_ACTION_OPEN)
                        zk_open(s);
                if (a & ZK_ACTION_AUTH)
                        zk_auth(s);
                if (a & ZK_ACTION_READ)
                        zk_read(s);
        }
        zk_update_sources(s);
        return 0;
}

static int on_machine_timer(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        ZkSource *s = userdata;

        /* A more precise cause (a refused connect) is kept: this one is for a server that says nothing. */
        if (s->machine.phase == ZK_PHASE_CONNECTING && s->outage.state != OUTAGE_STATE_DOWN)
                zk_down(s, "no session within %d s", s->session_timeout_ms / 1000);
        /* The read backoff is over: every node that failed is read again (with those that changed). */
        if (s->machine.phase == ZK_PHASE_READ_BACKOFF)
                zk_nodes_retry_failed(&s->nodes);
        machine_feed(s, ZK_EVENT_TIMER);
        return 0;
}

/* ---- driving the client from sd-event ---- */

static void zk_process(ZkSource *s, int events) {
        int rc;

        if (!s->zh)
                return;
        log_source = s;
        rc = zookeeper_process(s->zh, events);
        log_source = NULL;
        zk_take_socket_error(s);
        if (rc != ZOK && rc != ZNOTHING)
                log_debug("ZooKeeper: process: %s", zerror(rc));
        if (s->zh && is_unrecoverable(s->zh) == ZINVALIDSTATE && s->machine.phase != ZK_PHASE_BACKOFF)
                machine_feed(s, ZK_EVENT_EXPIRED);
        zk_update_sources(s);
}

static int on_zk_io(sd_event_source *es _unused_, int fd _unused_, uint32_t revents _unused_, void *userdata) {
        ZkSource *s = userdata;
        struct epoll_event ev;
        int events = 0, n;

        n = epoll_wait(s->epoll_fd, &ev, 1, 0);
        if (n <= 0)
                return 0;
        if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                events |= ZOOKEEPER_READ;
        if (ev.events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                events |= ZOOKEEPER_WRITE;
        zk_process(s, events);
        return 0;
}

static int on_zk_timer(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        zk_process(userdata, 0);
        return 0;
}

/* Asks the client what it waits for (a socket, a direction, a deadline) and arms sources to match. */
static void zk_update_sources(ZkSource *s) {
        struct timeval tv = { 0 };
        int fd = -1, interest = 0, rc;
        uint64_t now, timeout_usec;

        if (!s->zh)
                return;
        log_source = s;
        rc = zookeeper_interest(s->zh, &fd, &interest, &tv);
        log_source = NULL;
        zk_take_socket_error(s);
        if (rc != ZOK && rc != ZNOTHING && rc != ZCONNECTIONLOSS && rc != ZOPERATIONTIMEOUT) {
                log_debug("ZooKeeper: interest: %s", zerror(rc));
                if (rc == ZINVALIDSTATE && s->machine.phase != ZK_PHASE_BACKOFF)
                        machine_feed(s, ZK_EVENT_EXPIRED);
        }
        if (fd >= 0) {
                struct epoll_event ev = {
                        .events = ((interest & ZOOKEEPER_READ) ? EPOLLIN : 0) |
                                  ((interest & ZOOKEEPER_WRITE) ? EPOLLOUT : 0),
                        .data.fd = fd,
                };

                /* MOD fails with ENOENT when the socket is new (the old one left the set when closed). */
                if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
                        (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
        }
        s->fd = fd;
        /* The client wants to be called again after tv even without I/O (pings, connect timeouts).
         * At least 1 ms, so a zero timeout cannot spin the loop. */
        timeout_usec = (uint64_t) tv.tv_sec * USEC_PER_SEC + (uint64_t) tv.tv_usec;
        timeout_usec = CLAMP(timeout_usec, USEC_PER_MSEC, 60 * USEC_PER_SEC);
        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(s->zk_timer, now + timeout_usec);
        sd_event_source_set_enabled(s->zk_timer, SD_EVENT_ONESHOT);
}

/* ---- lifecycle ---- */

int zk_source_new(sd_event *event, const ZkSourceConfig *config, ZkSourceHandler handler, void *userdata,
                  ZkSource **ret) {
        _cleanup_(zk_source_freep) ZkSource *s = NULL;
        int r;

        assert(event);
        assert(config);
        assert(config->hosts);
        assert(handler);
        assert(ret);

        s = calloc(1, sizeof(ZkSource));
        if (!s)
                return -ENOMEM;
        s->fd = s->epoll_fd = -EBADF;
        s->event = sd_event_ref(event);
        s->handler = handler;
        s->userdata = userdata;
        s->max_bytes = config->max_bytes;
        s->session_timeout_ms = (int) CLAMP(config->session_timeout_usec / USEC_PER_MSEC, (usec_t) 1000,
                                            (usec_t) 3600 * 1000);
        s->on_change = config->on_change;
        outage_init(&s->outage);
        s->hosts = strdup(config->hosts);
        if (!s->hosts || asprintf(&s->name, "ZooKeeper at %s", config->hosts) < 0)
                return -ENOMEM;
        r = zk_nodes_init(&s->nodes, config->nodes, config->children_of, config->max_children);
        if (r < 0)
                return r;
        for (size_t i = 0; config->auth && config->auth[i]; i++) {
                const char *cred = zk_auth_credentials(config->auth[i]);

                if (!cred)
                        return -EINVAL;
                r = strv_extend(&s->credentials, cred);
                if (r < 0)
                        return r;
        }
        zk_machine_init(&s->machine, s->credentials != NULL, (usec_t) s->session_timeout_ms * USEC_PER_MSEC);

        s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epoll_fd < 0)
                return -errno;
        r = sd_event_add_io(event, &s->io, s->epoll_fd, EPOLLIN, on_zk_io, s);
        if (r >= 0)
                r = sd_event_add_time(event, &s->zk_timer, CLOCK_MONOTONIC, 0, 0, on_zk_timer, s);
        if (r >= 0)
                r = sd_event_add_time(event, &s->machine_timer, CLOCK_MONOTONIC, 0, 0, on_machine_timer, s);
        if (r >= 0)
                r = sd_event_add_time(event, &s->read_timer, CLOCK_MONOTONIC, 0, 0, on_read_timer, s);
        if (r >= 0)
                r = sd_event_add_defer(event, &s->defer, on_defer, s);
        if (r >= 0)
                r = sd_event_add_defer(event, &s->deliver, on_deliver, s);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(s->zk_timer, SD_EVENT_OFF);
        sd_event_source_set_enabled(s->machine_timer, SD_EVENT_OFF);
        sd_event_source_set_enabled(s->read_timer, SD_EVENT_OFF);
        sd_event_source_set_enabled(s->defer, SD_EVENT_OFF);
        sd_event_source_set_enabled(s->deliver, SD_EVENT_OFF);

        /* The client's own log goes through ours at debug level instead of to stderr. */
        zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
        *ret = TAKE_PTR(s);
        return 0;
}

void zk_source_start(ZkSource *s) {
        assert(s);

        machine_feed(s, ZK_EVENT_START);
}

void zk_source_reread(ZkSource *s) {
        assert(s);

        zk_nodes_mark_all_dirty(&s->nodes);
        machine_feed(s, ZK_EVENT_REREAD);
}

ZkSource *zk_source_free(ZkSource *s) {
        if (!s)
                return NULL;
        zk_close(s);
        sd_event_source_disable_unref(s->io);
        if (s->epoll_fd >= 0)
                close(s->epoll_fd);
        sd_event_source_disable_unref(s->zk_timer);
        sd_event_source_disable_unref(s->machine_timer);
        sd_event_source_disable_unref(s->read_timer);
        sd_event_source_disable_unref(s->defer);
        sd_event_source_disable_unref(s->deliver);
        zk_nodes_done(&s->nodes);
        sd_event_unref(s->event);
        free(s->hosts);
        for (size_t i = 0; s->credentials && s->credentials[i]; i++)
                explicit_bzero(s->credentials[i], strlen(s->credentials[i]));
        strv_free(s->credentials);
        log_once_reset(&s->state_log);
        free(s->name);
        free(s);
        return NULL;
}

const char *zk_source_node(const ZkSource *s) {
        assert(s);

        return s->nodes.nodes[0]->path;
}

static json_t *zk_nodes_json(const ZkSource *s) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < s->nodes.n; i++) {
                const ZkNode *node = s->nodes.nodes[i];

                if (node->kind != ZK_NODE_DATA)
                        continue;
                if (json_array_append_new(a, json_pack("{s:s, s:I, s:s}", "path", node->path, "version",
                                                       (json_int_t) node->version, "state",
                                                       zk_node_state_to_string(node->state))) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

json_t *zk_source_status_json(const ZkSource *s) {
        char session[32];
        json_t *o, *connection;

        assert(s);

        snprintf(session, sizeof(session), "0x%" PRIx64, (uint64_t) s->session.client_id);
        o = json_pack("{s:s, s:s, s:s, s:b, s:s?, s:I, s:I, s:I, s:o}", "state", zk_phase_to_string(s->machine.phase),
                      "hosts", s->hosts, "node", zk_source_node(s), "connected", s->connected, "session_id",
                      s->have_session ? session : NULL, "reconnects", (json_int_t) s->machine.reconnects,
                      "reads_delivered", (json_int_t) zk_nodes_taken(&s->nodes), "reads_replaced",
                      (json_int_t) zk_nodes_replaced(&s->nodes), "nodes", zk_nodes_json(s));
        if (o && s->nodes.list) {
                const ZkNode *list = s->nodes.list;

                if (json_object_set_new(o, "children",
                                        json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:I}", "path", list->path,
                                                  "count", (json_int_t) s->nodes.n_children, "max",
                                                  (json_int_t) s->nodes.max_children, "skipped",
                                                  (json_int_t) s->nodes.n_skipped, "skipped_total",
                                                  (json_int_t) s->children_skipped, "state",
                                                  zk_node_state_to_string(list->state), "version",
                                                  (json_int_t) list->version)) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        /* "state" is the client's phase already: the outage fields go in their own object. */
        connection = json_object();
        if (!o || !connection || outage_to_json(&s->outage, connection) < 0 ||
            json_object_set_new(o, "connection", TAKE_PTR(connection)) < 0) {
                json_decref(connection);
                json_decref(o);
                return NULL;
        }
        return o;
}

const Outage *zk_source_outage(const ZkSource *s) {
        assert(s);

        return &s->outage;
}
