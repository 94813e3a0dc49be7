/* SPDX-License-Identifier: MIT */
/* The ZooKeeper source's nodes, pure: which need a read, which are read in flight, watched or refused, the
 * children of one node diffed against the set, and per node the newest read waiting for delivery. The I/O
 * glue (zk-source.c) sends the reads and delivers; unit tests drive this without a server. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coalesce.h"
#include "pending-read.h"
#include "time-util.h"

#define ZK_CHILD_NAME_MAX 255
#define ZK_PATH_MAX 4096

typedef enum ZkNodeKind {
        ZK_NODE_DATA,  /* one of the configured data nodes */
        ZK_NODE_LIST,  /* children_of: its list of children is read and watched */
        ZK_NODE_CHILD, /* a child of children_of, read and watched as a data node */
        _ZK_NODE_KIND_MAX,
} ZkNodeKind;

typedef enum ZkNodeState {
        ZK_NODE_DIRTY,     /* to be read (with a watch) */
        ZK_NODE_IN_FLIGHT, /* a read (or the exists call after "no node") is sent */
        ZK_NODE_WATCHING,  /* read, or missing, and watched */
        ZK_NODE_FAILED,    /* the read was refused: read again after the read backoff */
        ZK_NODE_GONE,      /* a child that left children_of: its -ENOENT waits for delivery, then it is dropped */
        _ZK_NODE_STATE_MAX,
} ZkNodeState;

typedef struct ZkNode {
        char *path;
        ZkNodeKind kind;
        ZkNodeState state;
        uint64_t id;      /* unique in the set and never reused: a callback names its node by it */
        uint64_t serial;  /* of the latest read sent: a completion of an older one is ignored */
        int64_t version;  /* of the latest read (stat.version, cversion for the list); -1: none or missing */
        bool vanished;    /* a child whose read found it missing: the children list decides what it is */
        Coalescer changes; /* watches firing fast: read at most every COALESCE_BOUND_USEC */
        PendingRead delivery;
} ZkNode;

typedef struct ZkNodes {
        ZkNode **nodes;      /* the data nodes in configured order, then children_of, then its children */
        size_t n, allocated;
        size_t n_fixed;      /* data nodes plus children_of */
        ZkNode *list;        /* children_of, or NULL */
        size_t max_children;
        size_t n_children;   /* children in the set, not counting gone ones */
        uint64_t n_skipped;  /* names of the latest children read that were skipped (invalid) */
        uint64_t next_id;
        uint64_t n_taken, n_replaced; /* deliveries of nodes already dropped */
} ZkNodes;

/* What a read of the children changed. */
typedef struct ZkChildrenDiff {
        size_t added, removed, skipped;
        size_t wanted;      /* valid names in the list */
        bool too_many;      /* more than max_children: nothing was added */
} ZkChildrenDiff;

/* An absolute node path: "/" or "/a/b", at most ZK_PATH_MAX bytes, no empty, "." or ".." component, no
 * trailing '/', no control characters. */
bool zk_path_is_valid(const char *path);
/* A child's name as listed by the server: 1..255 bytes, no '/', not "." or "..". */
bool zk_child_name_is_valid(const char *name);

/* nodes: NULL-terminated, at least one, valid and distinct paths; children_of NULL or a valid path. -EINVAL
 * otherwise. Every node starts DIRTY. */
int zk_nodes_init(ZkNodes *z, char *const *nodes, const char *children_of, size_t max_children);
void zk_nodes_done(ZkNodes *z);

ZkNode *zk_nodes_get(const ZkNodes *z, uint64_t id);
/* The first node of that path that is not gone, starting at index *i (advanced past it): for a loop over the
 * nodes a watch on path concerns. */
ZkNode *zk_nodes_next_at_path(const ZkNodes *z, const char *path, size_t *i);
size_t zk_nodes_count(const ZkNodes *z, ZkNodeState state);

/* A new session, a reread: every node that is not gone is read again. */
void zk_nodes_mark_all_dirty(ZkNodes *z);
/* The read backoff elapsed: the refused nodes are read again. */
void zk_nodes_retry_failed(ZkNodes *z);

/* A watch fired on path at now: true when some node of it is to be read now (DIRTY); else it waits for
 * zk_nodes_due(). */
bool zk_nodes_changed(ZkNodes *z, const char *path, usec_t now);
/* A node is to be read again at once (created between its read and its exists call). */
void zk_node_mark_dirty(ZkNode *node);
/* The earliest time a postponed change of a node not DIRTY already is due, USEC_INFINITY when none (a node
 * waiting for its read, say for a session, needs no timer). */
usec_t zk_nodes_due(const ZkNodes *z);
/* Postponed changes due by now become DIRTY: true when any did (not again for a node DIRTY already). */
bool zk_nodes_take_due(ZkNodes *z, usec_t now);

/* A read of the node is sent at now: IN_FLIGHT; returns the serial its completion must carry. */
uint64_t zk_node_sent(ZkNode *node, usec_t now);
/* The node of a completion if it is still in the set and that read is the latest and in flight, else NULL. */
ZkNode *zk_nodes_completed(const ZkNodes *z, uint64_t id, uint64_t serial);
/* The read completed: watched (ok) or refused (FAILED). */
void zk_node_done(ZkNode *node, bool ok);

/* Records the newest read of node for delivery (see pending_read_put()). */
int zk_node_put(ZkNode *node, int error, const char *message, const char *data, size_t size, int64_t version);
/* The next node with a read waiting for delivery, in set order; NULL when none. */
ZkNode *zk_nodes_next_delivery(const ZkNodes *z);
/* After the delivery of node: a gone child is dropped from the set (node is freed then). */
void zk_nodes_delivered(ZkNodes *z, ZkNode *node);
/* Deliveries made and replaced before being made, over all nodes ever in the set. */
uint64_t zk_nodes_taken(const ZkNodes *z);
uint64_t zk_nodes_replaced(const ZkNodes *z);

/* A read of children_of listed names (the server's strings, n of them): invalid names are skipped and
 * counted; children not listed any more become GONE with an -ENOENT for delivery; new ones join DIRTY unless
 * the valid names are more than max_children (then none joins, too_many, the caller reports -E2BIG). A child
 * listed again after its read found it missing is read again. */
void zk_nodes_children(ZkNodes *z, char *const *names, size_t n, ZkChildrenDiff *ret);
/* children_of does not exist: every child is gone (an -ENOENT each). Returns how many. */
size_t zk_nodes_children_missing(ZkNodes *z);

const char *zk_node_state_to_string(ZkNodeState s);
