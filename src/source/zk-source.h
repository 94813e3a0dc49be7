/* SPDX-License-Identifier: MIT */
/* The tree from ZooKeeper: the single-threaded client (zookeeper_st) driven from sd-event through
 * zookeeper_interest()/zookeeper_process(), a data watch on <Prefix>/arch_conf, digest auth, and
 * reconnects with capped exponential backoff. Never gives up, never exits. */
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
        const char *hosts;     /* "host:port,..." (validated) */
        const char *prefix;    /* the tree is <prefix>/arch_conf */
        char *const *auth;     /* "digest:user:password" each, NULL-terminated, or NULL: each is sent with
                                * zoo_add_auth(); the session is up once the server took all of them */
        usec_t session_timeout_usec;
        size_t max_bytes;      /* a node larger than this is refused */
        ZkSourceNotify on_change; /* may be NULL; gets zk_source_new()'s userdata */
} ZkSourceConfig;

/* A read of the node: error 0 with its bytes and stat.version, or error < 0 with a message
 * (-ENOENT: missing, -EACCES: not authorized, -EFBIG: too large, ...). Called from the event loop, never inside
 * the client library; reads that arrive before the loop gets to it are coalesced into the newest. */
typedef void (*ZkSourceHandler)(ZkSource *s, int error, const char *message, const char *data, size_t size,
                                int64_t version, void *userdata);

int zk_source_new(sd_event *event, const ZkSourceConfig *config, ZkSourceHandler handler, void *userdata,
                  ZkSource **ret);
ZkSource *zk_source_free(ZkSource *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ZkSource *, zk_source_free)

void zk_source_start(ZkSource *s);
/* Reads the node again (SIGHUP). */
void zk_source_reread(ZkSource *s);
const char *zk_source_node(const ZkSource *s);
/* {"state" (the client's phase), "hosts", "node", "session_id", "reconnects", "connected", "connection" (the
 * outage fields of outage_to_json(): "state" up/down/connecting, "outage", "last_outage", "outages"),
 * "reads_delivered" (handler calls), "reads_replaced" (reads a newer one replaced before delivery)} */
json_t *zk_source_status_json(const ZkSource *s);
/* Up (a session, authenticated with Auth=), down (since when, why), or connecting (neither yet). */
const Outage *zk_source_outage(const ZkSource *s);
