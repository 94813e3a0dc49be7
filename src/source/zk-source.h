/* SPDX-License-Identifier: MIT */
/* The trees from ZooKeeper: the single-threaded client (zookeeper_st) driven from sd-event through
 * zookeeper_interest()/zookeeper_process(), on one session data watches on several nodes and a children watch
 * on one node whose children are each read and watched, digest auth, and reconnects with capped exponential
 * backoff. Never gives up, never exits. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "outage.h"
#include "time-util.h"

typedef struct ZkSource ZkSource;

/* Called when the outage state changes (down, cause changed, back up): not per attempt. It may read the source
 * but must not free it. */
typedef void (*ZkSourceNotify)(ZkSource *s, void *userdata);

typedef struct ZkSourceConfig {
        const char *hosts;       /* "host:port,..." (validated) */
        char *const *nodes;      /* absolute paths of data nodes, read and watched; NULL-terminated, at least one,
                                  * distinct. The first is zk_source_node() (the tree). */
        const char *children_of; /* NULL, or a node whose children are each read and watched as a data node
                                  * ("<children_of>/<child>"); child names that are not 1..255 bytes without '/',
                                  * or are "." or "..", are skipped (counted in the status) */
        size_t max_children;     /* at most this many children (more: an -E2BIG error delivered for children_of,
                                  * with a message; the children already watched are kept, none added; those
                                  * that left are still reported and forgotten) */
        char *const *auth;       /* "digest:user:password" each, NULL-terminated, or NULL: each is sent with
                                  * zoo_add_auth(); the session is up once the server took all of them */
        usec_t session_timeout_usec;
        size_t max_bytes;        /* per node: a node larger than this is refused (-EFBIG) */
        ZkSourceNotify on_change; /* may be NULL; gets zk_source_new()'s userdata */
} ZkSourceConfig;

/* A read of a node: error 0 with its bytes and stat.version, or error < 0 with a message (-ENOENT: missing,
 * -EACCES: not authorized, -EFBIG: too large, ...). node: the absolute path the read is of. Per node, the newest
 * read is kept until delivered (PendingRead per node). A missing node: -ENOENT (and a watch for its creation).
 * A child that left children_of: -ENOENT for its path, once, then it is forgotten. children_of itself missing:
 * -ENOENT for children_of, watched for creation (and each child -ENOENT once). A read of the children of
 * children_of is delivered for children_of too: error 0 with no bytes (size 0) and the children's
 * version (cversion), or -E2BIG when there are more than max_children, or -EACCES. Refused credentials are
 * delivered for the first node. Called from the event loop, never inside the client library, the nodes in
 * order: the data nodes as configured, children_of, its children. The handler may read the source but must not
 * free it. */
typedef void (*ZkSourceHandler)(ZkSource *s, const char *node, int error, const char *message,
                                const char *data, size_t size, int64_t version, void *userdata);

int zk_source_new(sd_event *event, const ZkSourceConfig *config, ZkSourceHandler handler, void *userdata,
                  ZkSource **ret);
ZkSource *zk_source_free(ZkSource *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ZkSource *, zk_source_free)

void zk_source_start(ZkSource *s);
/* Reads every node (and the children list) again (SIGHUP). */
void zk_source_reread(ZkSource *s);
const char *zk_source_node(const ZkSource *s);
/* The first node: the tree. */
/* {"state" (the client's phase), "hosts", "node" (the first node), "session_id", "reconnects", "connected",
 * "connection" (the outage fields of outage_to_json(): "state" up/down/connecting, "outage", "last_outage",
 * "outages"), "reads_delivered" (handler calls), "reads_replaced" (reads a newer one replaced before delivery),
 * "nodes": [{"path", "version" (-1: none yet, missing or refused), "state" (dirty, reading, watching,
 * failed)}] (the configured data nodes), and with children_of "children": {"path", "count", "max", "skipped" (by
 * the latest list read), "skipped_total", "state", "version" (cversion)}} */
json_t *zk_source_status_json(const ZkSource *s);
/* Up (a session, authenticated with Auth=), down (since when, why), or connecting (neither yet). */
const Outage *zk_source_outage(const ZkSource *s);
