/* SPDX-License-Identifier: MIT */
/* The per-second writer to Redis: one `SET <prefix>/account/<unix_sec> <json> EX <n>` per record (HostKeys=yes:
 * the hash `<prefix>/host/<node>/account/<unix_sec>`, `HSET <key> * <json> /groups <n> <group> <cut>...` (the record
 * whole and cut per top-level group by fleet_record_split(), up to FLEET_SPLIT_GROUPS_MAX groups) and
 * `EXPIRE <key> <n>`, and one heartbeat per pipeline: `EVAL` of a script that does ZADD GT <newest> <node> on
 * <prefix>/hosts and drops the hosts silent for a day), at most one pipeline in flight. Owns the async connection, its
 * reconnects with capped backoff, and a bounded backlog
 * kept while Redis is away or slow: which seconds are unsent, not their text (the owner renders a second
 * again when it is sent; the window in RAM holds its values). Never blocks the loop. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "buf.h"
#include "macro.h"
#include "outage.h"

/* Events kept for Redis (waiting or in flight) while it is away or slow; more drop the oldest waiting. */
#define REDIS_SINK_EVENTS_MAX 1000u
/* The stream's cap: `XADD <prefix>/events MAXLEN ~ 10000` (Redis trims whole nodes: a little more stays). */
#define REDIS_SINK_EVENTS_STREAM_MAX 10000u
/* An event's text larger than this is refused with -EFBIG (the hub's are at most EVENT_TEXT_MAX). */
#define REDIS_SINK_EVENT_MAX_BYTES ((size_t) 64 * 1024)

/* A record larger than this is refused with -EFBIG. */
#define REDIS_SINK_RECORD_MAX_BYTES ((size_t) 16 * 1024 * 1024)

typedef struct RedisSink RedisSink;

/* Called when the outage state changes (down, cause changed, back up): not per attempt. It may read the sink
 * but must not free it. */
typedef void (*RedisSinkNotify)(RedisSink *s, void *userdata);
/* Appends the record of second unix_sec to out: the text redis_sink_push() was given for it. -ENOENT when the
 * owner no longer has that second (counted as dropped, as one that waited too long). It must not free the
 * sink. */
typedef int (*RedisSinkRender)(RedisSink *s, uint64_t unix_sec, Buf *out, void *userdata);
/* The backlog is sent (or gone): the owner may free what it keeps for render calls. */
typedef void (*RedisSinkRenderDone)(RedisSink *s, void *userdata);

typedef struct RedisSinkConfig {
        const char *address; /* "host:port", "[v6addr]:port", or an absolute unix socket path */
        const char *prefix;  /* NULL: "cgroup_arch" */
        /* [Redis] HostKeys=yes: the node's name (redis_node_is_valid()); NULL: HostKeys=no, cgrouparch's
         * unqualified keys and no heartbeat. */
        const char *node;
        unsigned expire_sec; /* 0: 300 */
        size_t backlog_max;  /* unsent seconds kept while Redis is away; 0: expire_sec */
        RedisSinkNotify on_change; /* may be NULL */
        RedisSinkRender render;    /* required */
        RedisSinkRenderDone render_done; /* may be NULL */
        void *userdata;
} RedisSinkConfig;

/* A node name fit for a key: 1..64 of [A-Za-z0-9._-] ([Node] Name= is checked more strictly). */
bool redis_node_is_valid(const char *node);
/* The key of a second without the second: "<prefix>/account/", or with a node "<prefix>/host/<node>/account/"
 * (prefix NULL: "cgroup_arch"), allocated with room for `room` characters more. -EINVAL for a bad node. */
int redis_account_key_prefix(const char *prefix, const char *node, char **ret, size_t room);

/* Connects at once, asynchronously; a failed connect only schedules a retry. -EINVAL for a bad address, a bad
 * node or no render callback.
 * A host name (not a numeric address) is resolved by hiredis with a blocking getaddrinfo() per connect. */
int redis_sink_new(sd_event *event, const RedisSinkConfig *c, RedisSink **ret);
/* Drops the connection (and an in-flight pipeline) and every unsent second. Safe from any of the caller's
 * callbacks except on_change, render and render_done. */
RedisSink *redis_sink_free(RedisSink *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(RedisSink *, redis_sink_free)

/* Hands over the record of second unix_sec. Connected, with nothing in flight and nothing unsent, it leaves
 * at once as a pipeline of one SET (HostKeys=yes: HSET, EXPIRE and the heartbeat's EVAL, which also drops the
 * hosts silent for a day: 3 commands; a Redis that refuses scripts gets ZADD GT, or a plain ZADD before 6.2,
 * without the prune) (the text is copied into the connection's output only). Else only the
 * second is kept, not its text: the unsent seconds go out oldest first, rendered by the render callback, as
 * ONE pipeline when connected and no previous pipeline is still in flight (with one heartbeat, the newest second
 * of the pipeline) (a backlog over 4 MiB of text
 * leaves in consecutive pipelines, so no loop iteration formats much more than that). Beyond backlog_max the
 * oldest seconds are dropped (and counted); seconds kept for expire_sec or longer are dropped too (Redis
 * would have expired them), and a second sent late gets EX reduced by the time it waited, so its key expires
 * when it would have. Never blocks. 0, or -EFBIG (size > REDIS_SINK_RECORD_MAX_BYTES), -EINVAL. */
int redis_sink_push(RedisSink *s, uint64_t unix_sec, const char *json, size_t size);

/* Hands over one event of the stream (its JSON, copied) for `XADD <prefix>/events MAXLEN ~ 10000 * event
 * <text>`. It rides with the next pipeline: the tick's SET (redis_sink_push()), the backlog's, or, when none
 * comes within 200 ms, one of its own; while Redis is away it waits and leaves oldest first once Redis is
 * back. At most REDIS_SINK_EVENTS_MAX are kept: past that the oldest waiting one is dropped (counted). An
 * event whose XADD Redis took but did not answer before the connection went is sent again (at least once).
 * Never sends from inside: safe from the sink's own callbacks (on_change). 0, -EFBIG, -EINVAL, -ENOMEM. */
int redis_sink_push_event(RedisSink *s, const char *text, size_t size);

/* {"address", "connected", "backlog" (seconds unsent + in flight), "in_flight", "backlog_bytes" (memory held
 *  for them: the tables of unsent and in-flight seconds, the rendering buffer, the text of the pipeline in
 *  flight), "dropped" (backlog cap, age, or no longer in the window),
 *  "written" (SETs answered OK), "errors" (SETs answered with an error), "reconnects" (connection attempts
 *  after the first), the events' "events_key" (the stream), "events_queued" (kept: waiting or in flight),
 *  "events_bytes" (their text), "events_written" (XADDs answered with an ID), "events_dropped" (the queue's
 *  cap, or refused), "events_errors" (XADDs answered with an error), "host_keys" (HostKeys=yes), "account_key" (the key
 * of a
 *  second without the number), "pipelines" (sent: one round trip each), "commands" (SET, or HSET and
 *  EXPIRE, and the heartbeat sent, XADDs apart), "commands_per_tick_max" (the most commands in a pipeline of one
 *  second), "pipeline_commands_max" (in any pipeline: a backlog's seconds and one heartbeat); HostKeys=yes also
 *  "node", "hosts_key", "heartbeat" ("script", "zadd-gt" or "zadd": how it goes), "zadd_gt" (false once Redis
 *  refused GT), "heartbeats" (answered), "heartbeat_errors", "hosts_pruned" (hosts removed from hosts_key as
 *  silent for a day), "group_fields_max" (FLEET_SPLIT_GROUPS_MAX), "split_seconds" and "whole_seconds" (sent
 *  with per-group fields, with only the whole record); and
 *  outage_to_json()'s "state", "outage", "last_outage", "outages"} */
json_t *redis_sink_status_json(const RedisSink *s);
/* status's "backlog_bytes". */
size_t redis_sink_backlog_bytes(const RedisSink *s);
/* SETs answered OK, and records dropped (backlog cap or age), since start: what /metrics counts. */
void redis_sink_counters(const RedisSink *s, uint64_t *ret_written, uint64_t *ret_dropped);
/* Up (a pipeline answered without error), down (since when, why), or connecting (neither yet). */
const Outage *redis_sink_outage(const RedisSink *s);
