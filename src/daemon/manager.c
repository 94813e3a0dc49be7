/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "api.h"
#include "attacher.h"
#include "migrator.h"
#include "http-server.h"
#include "fleet-account.h"
#include "metrics.h"
#include "record.h"
#include "record-parse.h"
#include "redis-fill.h"
#include "redis-sink.h"
#include "ring.h"
#include "sampler.h"
#include "control.h"
#include "daemon-event.h"
#include "enforce-report.h"
#include "event-hub.h"
#include "file-source.h"
#include "log-once.h"
#include "log.h"
#include "json-stream.h"
#include "manager.h"
#include "oom-event.h"
#include "oom-watch.h"
#include "paths.h"
#include "realizer.h"
#include "strv.h"
#include "tree-intake.h"
#include "tree-overlay.h"
#include "fleet-users.h"
#include "tree-parse.h"
#include "unit-name.h"
#include "fair.h"
#include "users.h"
#include "zk-source.h"
#include "zk-util.h"

/* A tree node in ZooKeeper: the shared one or this host's overlay, as last read. */
typedef struct ZkTreeNode {
        char *path;
        bool read;    /* a read came: bytes, or "no such node" */
        bool present;
        json_t *json; /* the last bytes read that were JSON (NULL: missing) */
        uint64_t hash; /* ... of those bytes */
        int64_t version;
        char *error;  /* the last read failed (unreadable, not JSON): why; no merge until a good read */
} ZkTreeNode;

struct Manager {
        const Config *config;
        char *node;           /* [Node] Name= or the host name: events, ZooKeeper overlay, Redis host keys */
        bool dry_run, dry_run_json;
        int exit_status;
        sd_event *event;
        sd_bus *bus;
        FileSource *file;
        ZkSource *zk;
        /* [ZooKeeper] HostOverlay= (issue 17): the shared tree and this host's overlay, each as last read;
         * the merged tree goes through the intake as one read would. */
        bool overlay_on;
        ZkTreeNode zk_shared, zk_overlay;
        char *zk_users_path;       /* <Prefix>/users, with [FairShare] Enable= and FleetUsers=; else NULL */
        int64_t overlay_version;   /* of the overlay in the tree applied; -1: none */
        int64_t pending_overlay_version; /* ... in the tree on its way in */
        bool pending_has_overlay;
        char *error_node;          /* the node (or file) the last rejected update is blamed on */
        uint64_t n_fleet_user_reads, n_fleet_user_rejected;
        JobWatch *jobs;
        Realizer *realizer;
        Attacher *attacher;
        Migrator *migration;     /* the last `slicekeeper migrate`, kept for its report */
        uint64_t migration_id;
        Migrator *leftover_scan; /* cgrouparch's directories for `status`: on a tree change and after a migrate */
        json_t *leftover;        /* its last finding */
        char **pid_files;     /* [Tasks] PidFiles= and the drop-ins */
        Sampler *sampler;
        bool users_enabled;   /* [FairShare] Enable=: the users are found and sampled */
        Users *users;         /* ... then: the user slices systemd has */
        Fair *fair;           /* ... and their caps (fair share's glue) */
        EventHub *events;     /* the one event stream: journal, event log, websocket `events`, Redis */
        OutageState zk_seen, redis_seen; /* as last published (daemon_event_connection()) */
        OomWatch *oom;        /* OOM kills in the sampled slices (groups and users), into the event stream */
        SliceSet *oom_set;    /* the sampler's set the OOM watch follows (a reference) */
        unsigned throttled_shown; /* users throttled, as STATUS= last said */
        bool stopping;        /* SIGTERM/SIGINT came: the caps are being lifted */
        Ring ring;            /* the window: the last [Redis] ExpireSec= seconds the sampler handed over */
        RedisSink *redis;
        RingReader redis_reader;     /* the unsent second Redis gets next, while a backlog is rendered */
        RecordLayout *redis_layout;  /* ... of its set */
        RedisFill *redis_fill;       /* the window read back from Redis at start (kept for status) */
        unsigned web_controllers, redis_controllers; /* what records carry (RECORD_*), for the tree applied */
        RecordParser fill_parser;    /* reads the records back: consecutive seconds share one set */
        WebServer *web;
        RecordLayout *record_layout; /* of the sampler's current set, for the record of each second */
        Buf record;                  /* {"<sec>":record}: subscribers get it all, Redis the record */
        json_t *tree_json;    /* the last good tree as JSON, for get_conf */
        TreeIntake intake;    /* a new tree on its way in, one step per loop iteration */
        sd_event_source *intake_step; /* runs the intake's next step */
        ControlServer *control;
        sd_event_source *sigterm, *sigint, *sighup;
        sd_event_source *watchdog; /* WATCHDOG=1 over notify_fd (manager_setup_watchdog()) */
        int notify_fd;
        uint64_t watchdog_usec;
        uint64_t watchdog_pings_failed;
        Tree *tree;           /* the last good tree, applied */
        int64_t version;      /* ZooKeeper: the node's stat.version; file: bumped on every accepted change */
        uint64_t tree_hash;   /* of the bytes of the last good tree, to ignore rewrites without change */
        usec_t tree_loaded_usec;
        uint64_t n_tree_reads;   /* reads of the tree handed over by the source (bytes or an error) */
        uint64_t n_tree_changes; /* ... of which were a new valid tree, applied */
        usec_t loop_max_iteration_usec; /* the longest dispatch of one event source (manager_run()) */
        uint64_t loop_slow_iterations;  /* dispatches over LOOP_ITERATION_TARGET_USEC */
        usec_t loop_recent_max[2];      /* the longest dispatch in this 10 s period of the monotonic clock, and
                                         * in the one before */
        uint64_t loop_recent_period;
        LogOnce tree_error;   /* the last tree update rejected (its cause: logged once, shown by status) */
        EnforceReport enforce; /* what the cgroup layout leaves unenforced: status, plan, journal */
        usec_t last_error_usec;
        bool have_read;
};

#define LOOP_ITERATION_TARGET_USEC (100 * USEC_PER_MSEC)
/* How long a clean stop waits for systemd to answer the lifts of the users' caps. */
#define FAIR_STOP_TIMEOUT_USEC (2 * USEC_PER_SEC)

static uint64_t hash_bytes(const char *data, size_t size) {
        uint64_t h = 1469598103934665603ULL;

        for (size_t i = 0; i < size; i++)
                h = (h ^ (uint8_t) data[i]) * 1099511628211ULL;
        return h ^ size;
}

/* STATUS=: the slices and the tree, then each connection that is down, with since-when and why. Called when
 * one of these changes (a pass, a tree read, a connection going down or coming back, the count of throttled
 * users), not per tick. */
static void manager_update_status(Manager *m) {
        char zk[OUTAGE_CAUSE_MAX + 64] = "", redis[OUTAGE_CAUSE_MAX + 64] = "", fds[128] = "", users[64] = "";
        const char *error = m->tree_error.cause;
        size_t slices = 0, failed = 0;

        if (m->dry_run)
                return;
        if (m->realizer)
                realizer_counts(m->realizer, &slices, &failed);
        if (m->zk)
                outage_status_text(zk_source_outage(m->zk), "ZooKeeper", zk, sizeof(zk));
        if (m->redis)
                outage_status_text(redis_sink_outage(m->redis), "Redis", redis, sizeof(redis));
        if (m->sampler) {
                const FdBudget *b = sampler_fd_budget(m->sampler);

                if (b->level < FD_BUDGET_LEVEL_ALL || b->n_sampled < b->n_slices)
                        snprintf(fds, sizeof(fds), "; descriptor limit %" PRIu64 ": %s%zu slices not sampled",
                                 b->limit, b->level < FD_BUDGET_LEVEL_ALL ? "some files not read, " : "",
                                 b->n_slices - b->n_sampled);
        }
        if (m->fair)
                m->throttled_shown = fair_throttled(m->fair);
        if (m->users && m->fair) /* "12 slices, 5 users, 2 throttled" */
                snprintf(users, sizeof(users), ", %zu users, %u throttled", users_table(m->users)->n,
                         m->throttled_shown);
        else if (m->users)
                snprintf(users, sizeof(users), ", %zu users", users_table(m->users)->n);
        if (!m->tree)
                sd_notifyf(false, "STATUS=%s%s%.200s%s%s%s%s", m->zk ? "Waiting for ZooKeeper" : "Waiting for a valid tree",
                           error ? ": " : "", error ? error : "", zk[0] ? "; " : "", zk,
                           redis[0] ? "; " : "", redis);
        else
                sd_notifyf(false, "STATUS=%zu slices%s, tree version %" PRIi64 "%s%s%s%s%s%s%s", slices, users,
                           m->version, failed ? ", some changes failed" : "", error ? ", last tree update rejected" : "",
                           zk[0] ? "; " : "", zk, redis[0] ? "; " : "", redis, fds);
}

/* One of the daemon's own events (daemon-event.h) to the stream: r is what made it said (1: made, 0: nothing
 * to say, <0: not made). True when published (its journal entry is written). */
static bool manager_publish(Manager *m, int r, DaemonEventOut *o) {
        bool published = false;

        if (r <= 0)
                return false;
        if (m->events)
                published = event_hub_publish(m->events, &o->event) >= 0;
        daemon_event_out_done(o);
        return published;
}

static void manager_connection_event(Manager *m, EventKind kind, const char *what, const char *address,
                                     const Outage *o, OutageState *seen) {
        _cleanup_(freep) char *name = NULL;
        DaemonEventOut e;

        if (!m->events || asprintf(&name, "%s at %s", what, address) < 0)
                return;
        manager_publish(m, daemon_event_connection(kind, name, o, seen, now_usec(CLOCK_REALTIME), &e), &e);
}

static void on_redis_outage(RedisSink *s, void *userdata) {
        Manager *m = userdata;

        manager_update_status(m);
        manager_connection_event(m, EVENT_REDIS, "Redis", m->config->redis_address, redis_sink_outage(s),
                                 &m->redis_seen);
}

static void on_zk_outage(ZkSource *s, void *userdata) {
        Manager *m = userdata;

        manager_update_status(m);
        manager_connection_event(m, EVENT_ZOOKEEPER, "ZooKeeper", m->config->zk_hosts, zk_source_outage(s),
                                 &m->zk_seen);
}

/* Logs a tree error once per distinct cause (and publishes it as an event once) and keeps it for `status`.
 * origin: where the tree came from, NULL: not known. */
static void manager_set_error(Manager *m, int error, const char *message, const char *origin) {
        DaemonEventOut e;

        if (!message)
                message = "unknown error";
        free(m->error_node);
        m->error_node = origin ? strdup(origin) : NULL;
        /* The event's journal entry is the log line (dry run: no events) */
        if (log_once_should(&m->tree_error, message) &&
            !manager_publish(m, daemon_event_tree_rejected(message, origin, now_usec(CLOCK_REALTIME), &e), &e))
                log_internal(LOG_ERR, error, NULL, "Tree not applied, keeping the last good one: %s", message);
        m->last_error_usec = now_usec(CLOCK_REALTIME);
        if (m->dry_run) {
                fprintf(stderr, "Tree rejected: %s\n", message);
                m->exit_status = EXIT_FAILURE;
                sd_event_exit(m->event, EXIT_FAILURE);
        }
        manager_update_status(m);
}

/* A tree's intake takes one step per loop iteration, so that the largest tree does not block the loop for
 * its whole load, check, apply and free (issue 12): the read loads the JSON; then, each in an iteration of
 * its own, the checks, the apply, and the freeing of what it replaced. */
static void manager_intake_schedule(Manager *m) {
        if (m->intake_step && tree_intake_next(&m->intake) != TREE_INTAKE_IDLE)
                (void) sd_event_source_set_enabled(m->intake_step, SD_EVENT_ONESHOT);
}

static void on_leftover_scan_done(Migrator *scan, void *userdata) {
        Manager *m = userdata;

        json_decref(m->leftover);
        m->leftover = migrator_leftover_json(scan);
}

/* Looks again for directories of tree groups outside systemd's units (cheap: the hierarchies' tops, and
 * only such directories below), for `status`. */
static void manager_scan_leftovers(Manager *m) {
        MigratorConfig mc = {
                .mode = MIGRATOR_SCAN,
                .root = m->config->root,
                .tree = m->tree,
                .done = on_leftover_scan_done,
                .userdata = m,
        };
        int r;

        if (!m->tree || !m->attacher)
                return;
        m->leftover_scan = migrator_free(m->leftover_scan);
        r = migrator_new(m->event, NULL, &mc, &m->leftover_scan);
        if (r < 0)
                log_warning_errno(r, "Cannot look for directories cgrouparch left: %m");
}

/* [Web]/[Redis] Controllers= for the tree at hand ("tree": the controllers it names). */
static void manager_resolve_controllers(Manager *m) {
        bool arch = m->tree && m->tree->schema == TREE_SCHEMA_CGROUPARCH;

        m->web_controllers = record_controllers_resolve(m->config->web_controllers, m->tree_json, arch);
        m->redis_controllers = record_controllers_resolve(m->config->redis_controllers, m->tree_json, arch);
}

/* The last step: the validated tree replaces the last good one; what it replaced is freed later. */
static void manager_tree_apply(Manager *m) {
        TreeIntakeItem item;
        DaemonEventOut e;
        Tree *old;

        tree_intake_take(&m->intake, &item);
        for (size_t i = 0; i < item.tree->n_nodes; i++) {
                _cleanup_(freep) char *unit = NULL;

                if (unit_name_from_path(m->config->root, item.tree->nodes[i]->path, &unit) >= 0 &&
                    realizer_is_protected(m->realizer, unit, item.tree->nodes[i]->path))
                        log_notice("Group %s maps to protected unit %s: it is left alone.", item.tree->nodes[i]->path,
                                   unit);
        }

        /* Our reference to the old tree is retired, so dropping the others' frees nothing here. */
        old = m->tree;
        tree_intake_retire(&m->intake, m->tree_json, /* tree= */ NULL);
        m->tree = item.tree;
        m->tree_hash = item.hash;
        m->n_tree_changes++;
        m->tree_json = item.json;
        manager_resolve_controllers(m);
        if (m->sampler && sampler_set_tree(m->sampler, m->tree) < 0)
                log_oom();
        m->version = item.version >= 0 ? item.version : m->version + 1;
        m->overlay_version = m->pending_has_overlay ? m->pending_overlay_version : -1;
        m->tree_loaded_usec = now_usec(CLOCK_REALTIME);
        log_once_reset(&m->tree_error);
        if (!manager_publish(m, daemon_event_tree_applied(m->version, item.origin, m->tree->n_nodes,
                                                          tree_schema_to_string(m->tree->schema),
                                                          now_usec(CLOCK_REALTIME), &e), &e))
                log_info("Tree version %" PRIi64 " loaded from %s: %zu groups (%s schema).", m->version,
                         item.origin, m->tree->n_nodes, tree_schema_to_string(m->tree->schema));
        free(item.origin);
        realizer_set_tree(m->realizer, m->tree);
        if (m->attacher && attacher_set_groups(m->attacher, m->tree, m->pid_files) < 0)
                log_oom();
        manager_scan_leftovers(m);
        tree_intake_retire(&m->intake, /* json= */ NULL, old);
        manager_update_status(m);
}

/* The merge of the shared tree and the overlay failed its checks: the shared tree alone says which node is
 * wrong (it was good on its own: the overlay). Only on an error, so the extra check costs nothing otherwise. */
static void manager_blame_node(Manager *m, int error, const TreeError *merged) {
        _cleanup_(tree_unrefp) Tree *alone = NULL;
        _cleanup_(freep) char *msg = NULL;
        TreeError err;
        int r;

        r = m->zk_shared.json ? tree_parse_json_value(m->zk_shared.json, m->config->root, &alone, &err) : -ENOENT;
        if (r == -ENOMEM) {
                log_oom();
                return;
        }
        if (r < 0 && r != -ENOENT) {
                if (asprintf(&msg, "shared tree %s: %s", m->zk_shared.path, err.message) < 0) {
                        log_oom();
                        return;
                }
                manager_set_error(m, r, msg, m->zk_shared.path);
                return;
        }
        if (asprintf(&msg, "host overlay %s: %s", m->zk_overlay.path, merged->message) < 0) {
                log_oom();
                return;
        }
        manager_set_error(m, error, msg, m->zk_overlay.path);
}

static int on_intake_step(sd_event_source *s _unused_, void *userdata) {
        _cleanup_(freep) char *origin = NULL;
        Manager *m = userdata;
        TreeError err;
        int r;

        switch (tree_intake_next(&m->intake)) {
        case TREE_INTAKE_RETIRE:
                tree_intake_retire_one(&m->intake);
                break;
        case TREE_INTAKE_VALIDATE:
                /* Validated against the names this daemon will use (its root): a tree systemd or the daemon
                 * cannot take is refused here, before anything changes. A refused one takes its origin along. */
                origin = strdup(m->intake.item.origin ? m->intake.item.origin : "");
                r = tree_intake_validate(&m->intake, m->config->root, &err);
                if (r == -ENOMEM)
                        log_oom();
                else if (r < 0 && m->overlay_on && m->pending_has_overlay)
                        manager_blame_node(m, r, &err);
                else if (r < 0)
                        manager_set_error(m, r, err.message, isempty(origin) ? NULL : origin);
                break;
        case TREE_INTAKE_APPLY:
                manager_tree_apply(m);
                break;
        case TREE_INTAKE_IDLE:
                break;
        }
        manager_intake_schedule(m);
        return 0;
}

/* A read of the tree from either source: bytes and the source's version (-1: count changes ourselves),
 * or an error. Only a valid tree replaces the last good one; the newest read replaces one still on its
 * way in. */
static void manager_tree_input(Manager *m, const char *origin, int error, const char *message, const char *data,
                               size_t size, int64_t version) {
        _cleanup_(json_decrefp) json_t *json = NULL;
        TreeError err;
        char *o;
        uint64_t h;
        int r;

        m->n_tree_reads++;
        if (error < 0) {
                tree_intake_drop(&m->intake);
                manager_intake_schedule(m);
                manager_set_error(m, error, message ? message : STRERROR(error), origin);
                return;
        }
        h = hash_bytes(data, size);
        if (m->tree && h == m->tree_hash) {
                /* The same bytes again: nothing to apply, but keep the source's version and drop a stale
                 * error (the source is readable again). */
                tree_intake_drop(&m->intake);
                manager_intake_schedule(m);
                if (version >= 0)
                        m->version = version;
                log_once_reset(&m->tree_error);
                manager_update_status(m);
                return;
        }
        r = tree_json_load(data, size, &json, &err);
        if (r < 0) {
                tree_intake_drop(&m->intake);
                manager_intake_schedule(m);
                manager_set_error(m, r, err.message, origin);
                return;
        }
        o = strdup(origin);
        if (!o) {
                log_oom();
                return;
        }
        tree_intake_offer(&m->intake, TAKE_PTR(json), h, version, o);
        manager_intake_schedule(m);
}

static void on_tree_file(FileSource *s, int error, const char *data, size_t size, void *userdata) {
        Manager *m = userdata;
        char msg[1100];

        if (error == -EFBIG)
                snprintf(msg, sizeof(msg), "tree file %s is larger than the limit of %u bytes", file_source_path(s),
                         TREE_JSON_MAX);
        else if (error < 0)
                snprintf(msg, sizeof(msg), "cannot read tree file %s: %s", file_source_path(s), STRERROR(error));
        manager_tree_input(m, file_source_path(s), error, error < 0 ? msg : NULL, data, size, -1);
}

static char *mfree_str(char *s) {
        free(s);
        return NULL;
}

static void zk_tree_node_forget(ZkTreeNode *n) {
        n->present = false;
        json_decref(n->json);
        n->json = NULL;
        n->hash = 0;
        n->version = -1;
}

/* With both nodes read: the overlay merged over the shared tree, on its way in as one read. A missing shared
 * tree is an error as without overlays (the last good tree stays): an overlay never stands alone, so a
 * shared node deleted by mistake does not turn every host with an overlay into its overlay's few groups. */
static void manager_tree_merge(Manager *m) {
        _cleanup_(json_decrefp) json_t *merged = NULL;
        const ZkTreeNode *sh = &m->zk_shared, *ov = &m->zk_overlay;
        _cleanup_(freep) char *origin = NULL, *msg = NULL;
        TreeError err;
        uint64_t h;
        int r;

        if (!sh->read || !ov->read || !sh->present)
                return; /* the first reads of both are awaited, so that no host starts without its overlay */
        /* A node whose last read failed keeps the last good tree: merging what was read of it before would
         * apply a tree nobody wrote (and clear the error while the node is still bad). */
        if (sh->error || ov->error) {
                const ZkTreeNode *bad = sh->error ? sh : ov;

                tree_intake_drop(&m->intake);
                manager_intake_schedule(m);
                manager_set_error(m, -EINVAL, bad->error, bad->path);
                return;
        }
        /* Both nodes' bytes in one hash: the same pair again applies nothing. */
        h = sh->hash ^ (ov->present ? (ov->hash * 0x9e3779b97f4a7c15ULL) + 1 : 0);
        if (m->tree && h == m->tree_hash) {
                tree_intake_drop(&m->intake);
                manager_intake_schedule(m);
                m->version = sh->version;
                m->overlay_version = ov->present ? ov->version : -1;
                log_once_reset(&m->tree_error);
                manager_update_status(m);
                return;
        }
        r = tree_overlay_merge(sh->json, ov->present ? ov->json : NULL, &merged, &err);
        if (r == -ENOMEM) {
                log_oom();
                return;
        }
        if (r < 0) {
                tree_intake_drop(&m->intake);
                manager_intake_schedule(m);
                if (asprintf(&msg, "host overlay %s: %s", ov->path, err.message) < 0) {
                        log_oom();
                        return;
                }
                manager_set_error(m, r, msg, ov->path);
                return;
        }
        if ((ov->present ? asprintf(&origin, "ZooKeeper node %s with host overlay %s", sh->path, ov->path)
                         : asprintf(&origin, "ZooKeeper node %s", sh->path)) < 0) {
                log_oom();
                return;
        }
        m->pending_has_overlay = ov->present;
        m->pending_overlay_version = ov->present ? ov->version : -1;
        tree_intake_offer(&m->intake, TAKE_PTR(merged), h, sh->version, TAKE_PTR(origin));
        manager_intake_schedule(m);
}

/* A read of the shared tree or of the overlay: kept, then both merged. A node that cannot be read (or is not
 * JSON) keeps what was last read of it, and the last good tree stays. */
static void manager_tree_node_input(Manager *m, ZkTreeNode *n, int error, const char *message, const char *data,
                                    size_t size, int64_t version) {
        _cleanup_(json_decrefp) json_t *json = NULL;
        _cleanup_(freep) char *msg = NULL;
        bool shared = n == &m->zk_shared;
        TreeError err;
        uint64_t h;
        int r;

        m->n_tree_reads++;
        n->error = mfree_str(n->error);
        if (error == -ENOENT) {
                n->read = true;
                zk_tree_node_forget(n);
                if (shared) {
                        tree_intake_drop(&m->intake);
                        manager_intake_schedule(m);
                        manager_set_error(m, error, message, n->path);
                        return;
                }
                manager_tree_merge(m);
                return;
        }
        if (error < 0) {
                tree_intake_drop(&m->intake);
                manager_intake_schedule(m);
                n->error = strdup(message ? message : STRERROR(error));
                manager_set_error(m, error, message ? message : STRERROR(error), n->path);
                return;
        }
        h = hash_bytes(data, size);
        if (!(n->read && n->present && n->hash == h)) {
                r = tree_json_load(data, size, &json, &err);
                if (r < 0) {
                        tree_intake_drop(&m->intake);
                        manager_intake_schedule(m);
                        if (asprintf(&msg, "%s %s: %s", shared ? "shared tree" : "host overlay", n->path,
                                     err.message) < 0) {
                                log_oom();
                                return;
                        }
                        n->read = true;
                        n->error = strdup(msg);
                        manager_set_error(m, r, msg, n->path);
                        return;
                }
                json_decref(n->json);
                n->json = TAKE_PTR(json);
                n->hash = h;
                n->present = true;
        }
        n->read = true;
        n->version = version;
        manager_tree_merge(m);
}

/* <Prefix>/users/<name>: a fleet user's penalty or limit for fair share; <Prefix>/users itself only says
 * whether it is there. What cannot be read or parsed keeps the entry as it was. */
static void manager_fleet_user_input(Manager *m, const char *node, int error, const char *message, const char *data,
                                     size_t size) {
        const char *name = node + strlen(m->zk_users_path);
        char err[1024] = "";
        int r;

        if (*name != '/') {
                if (error < 0 && error != -ENOENT)
                        log_warning("Fleet users: %s", message ? message : STRERROR(error));
                return;
        }
        name++;
        m->n_fleet_user_reads++;
        if (!m->fair)
                return;
        if (error < 0 && error != -ENOENT) {
                m->n_fleet_user_rejected++;
                log_warning("Fleet user %s kept as it was: %s", node, message ? message : STRERROR(error));
                return;
        }
        /* fair logs what it refuses, naming the node and the key */
        r = fair_set_fleet_user(m->fair, name, error == -ENOENT ? NULL : data, size, err, sizeof(err));
        if (r == -ENOMEM)
                log_oom();
        else if (r < 0)
                m->n_fleet_user_rejected++;
}

static void manager_zk_input(Manager *m, const char *node, int error, const char *message, const char *data,
                             size_t size, int64_t version) {
        size_t users_len = m->zk_users_path ? strlen(m->zk_users_path) : 0;
        char origin[1100];

        if (m->zk_users_path && strncmp(node, m->zk_users_path, users_len) == 0 &&
            (node[users_len] == '/' || node[users_len] == 0)) {
                manager_fleet_user_input(m, node, error, message, data, size);
                return;
        }
        if (m->overlay_on) {
                if (streq(node, m->zk_shared.path))
                        manager_tree_node_input(m, &m->zk_shared, error, message, data, size, version);
                else if (streq(node, m->zk_overlay.path))
                        manager_tree_node_input(m, &m->zk_overlay, error, message, data, size, version);
                return;
        }
        if (!streq(node, m->zk_shared.path))
                return;
        snprintf(origin, sizeof(origin), "ZooKeeper node %s", node);
        manager_tree_input(m, origin, error, message, data, size, version);
}

static void on_tree_zk(ZkSource *s _unused_, const char *node, int error, const char *message, const char *data,
                       size_t size, int64_t version, void *userdata) {
        manager_zk_input(userdata, node, error, message, data, size, version);
}

static void on_pass_done(Realizer *r, void *userdata) {
        Manager *m = userdata;

        if (m->dry_run) {
                json_t *plan = realizer_plan_json(r, true);
                size_t n = json_array_size(plan), i;
                json_t *item;

                json_t *unenforced = enforce_report_plan_json(&m->enforce, m->tree, r, m->config->root);

                if (m->dry_run_json) {
                        char *text = json_dumps(plan, JSON_INDENT(2));
                        if (text)
                                printf("%s\n", text);
                        free(text);
                } else if (n == 0)
                        printf("Nothing to do: systemd matches the tree%s\n",
                               json_array_size(unenforced) ? "; but this host does not enforce:" : ".");
                else
                        json_array_foreach(plan, i, item) {
                                const char *note = json_string_value(json_object_get(item, "error"));
                                char *props = json_dumps(json_object_get(item, "properties"), JSON_COMPACT);

                                printf("%-7s %-40s %s%s%s%s\n", json_string_value(json_object_get(item, "op")),
                                       json_string_value(json_object_get(item, "unit")), props ? props : "",
                                       note ? " (skipped: " : "", note ? note : "", note ? ")" : "");
                                free(props);
                        }
                if (!m->dry_run_json)
                        json_array_foreach(unenforced, i, item)
                                printf("%-7s %-40s %s=%s: %s\n", "-", json_string_value(json_object_get(item, "unit")),
                                       json_string_value(json_object_get(item, "property")),
                                       json_string_value(json_object_get(item, "value")),
                                       json_string_value(json_object_get(item, "reason")));
                json_decref(unenforced);
                json_decref(plan);
                fflush(stdout);
                sd_event_exit(m->event, EXIT_SUCCESS);
                return;
        }
        enforce_report_pass(&m->enforce, m->tree, r, m->config->root);
        /* Slices may have just come up: their processes can move now, their files can be sampled. */
        if (m->attacher)
                attacher_request_pass(m->attacher);
        if (m->sampler)
                sampler_rescan(m->sampler);
        oom_watch_rescan(m->oom);
        manager_update_status(m);
}

/* The descriptors open now; -1 when they cannot be counted (counting takes one). */
static json_int_t count_open_fds(void) {
        _cleanup_(closedirp) DIR *d = opendir("/proc/self/fd");
        json_int_t n = 0;

        if (!d)
                return -1;
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        return n - 1; /* not the directory's own */
}

/* {"limit", "reserve", "in_use", "sampler_files", "sampler_budget", "left_out", "watchdog_pings_failed"}:
 * the budget of sampler_fd_budget(), what is open, how many slices it leaves unsampled, and how often the
 * watchdog's own socket failed (manager_watchdog_ping()). */
static json_t *manager_fds_json(const Manager *m) {
        const FdBudget *b = sampler_fd_budget(m->sampler);
        json_int_t in_use = count_open_fds();

        return json_pack("{s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I}", "oom_watch", (json_int_t) oom_watch_fds(m->oom),
                         "limit",
                         (json_int_t) MIN(b->limit, (uint64_t) INT64_MAX), "reserve", (json_int_t) b->reserve,
                         "in_use", in_use >= 0 ? json_integer(in_use) : json_null(), "sampler_files",
                         (json_int_t) sampler_open_files(m->sampler), "sampler_budget",
                         (json_int_t) MIN(b->files, (uint64_t) INT64_MAX), "left_out",
                         (json_int_t) (b->n_slices - b->n_sampled), "watchdog_pings_failed",
                         (json_int_t) m->watchdog_pings_failed);
}

#define LOOP_RECENT_PERIOD_USEC (10 * USEC_PER_SEC)

/* Moves the recent maxima on to now's period. */
static void manager_loop_recent_advance(Manager *m, usec_t now) {
        uint64_t period = now / LOOP_RECENT_PERIOD_USEC;

        if (period == m->loop_recent_period)
                return;
        m->loop_recent_max[1] = period == m->loop_recent_period + 1 ? m->loop_recent_max[0] : 0;
        m->loop_recent_max[0] = 0;
        m->loop_recent_period = period;
}

/* The longest dispatch in the last 10 to 20 s. */
static usec_t manager_loop_recent_max(Manager *m, usec_t now) {
        manager_loop_recent_advance(m, now);
        return MAX(m->loop_recent_max[0], m->loop_recent_max[1]);
}

/* {"shared": n, "overlay": m}: the versions of the nodes the applied tree was made of (null: none; without
 * overlays "overlay" is null and "shared" is the tree's version, as "version"). */
static json_t *manager_versions_json(const Manager *m) {
        return json_pack("{s:o, s:o}", "shared", m->tree ? json_integer((json_int_t) m->version) : json_null(),
                         "overlay", m->tree && m->overlay_version >= 0 ? json_integer((json_int_t) m->overlay_version)
                                                                       : json_null());
}

/* Status without its long lists (slices, the attacher's groups): those are written an item at a time. */
static json_t *manager_status_head_json(Manager *m) {
        json_t *o = json_object(), *counters;

        if (!o)
                return NULL;
        json_object_set_new(o, "version", m->tree ? json_integer((json_int_t) m->version) : json_null());
        json_object_set_new(o, "versions", manager_versions_json(m));
        json_object_set_new(o, "node", json_string(m->node));
        if (m->zk) {
                json_t *zk = zk_source_status_json(m->zk);
                json_object_set_new(zk, "type", json_string("zookeeper"));
                json_object_set_new(zk, "overlay", m->overlay_on ? json_pack("{s:s, s:b, s:o}", "node",
                                                       m->zk_overlay.path, "present", m->zk_overlay.present,
                                                       "version", m->zk_overlay.present ? json_integer(
                                                               (json_int_t) m->zk_overlay.version) : json_null())
                                                                  : json_null());
                json_object_set_new(zk, "fleet_users", m->zk_users_path ? json_pack("{s:s, s:I, s:I}", "node",
                                                       m->zk_users_path, "reads", (json_int_t) m->n_fleet_user_reads,
                                                       "rejected", (json_int_t) m->n_fleet_user_rejected)
                                                                        : json_null());
                json_object_set_new(o, "source", zk);
        } else
                json_object_set_new(o, "source", json_pack("{s:s, s:s}", "type", "file", "path",
                                                           m->config->source_file ? m->config->source_file : ""));
        json_object_set_new(o, "schema", m->tree ? json_string(tree_schema_to_string(m->tree->schema)) : json_null());
        json_object_set_new(o, "groups", json_integer(m->tree ? (json_int_t) m->tree->n_nodes : 0));
        json_object_set_new(o, "root", m->config->root ? json_string(m->config->root) : json_null());
        json_object_set_new(o, "tree_loaded_usec", json_integer((json_int_t) m->tree_loaded_usec));
        json_object_set_new(o, "last_error",
                            m->tree_error.cause ? json_pack("{s:s, s:I, s:s?}", "message", m->tree_error.cause, "usec",
                                                            (json_int_t) m->last_error_usec, "node", m->error_node)
                                                : json_null());
        json_object_set_new(o, "not_enforced", json_integer((json_int_t) enforce_report_count(
                                                       &m->enforce, m->tree, m->realizer, m->config->root)));
        json_object_set_new(o, "dropin_watch_error", realizer_dropin_watch_error(m->realizer)
                                                             ? json_string(realizer_dropin_watch_error(m->realizer))
                                                             : json_null());
        counters = realizer_counters_json(m->realizer);
        json_object_set_new(counters, "tree_reads", json_integer((json_int_t) m->n_tree_reads));
        json_object_set_new(counters, "tree_changes", json_integer((json_int_t) m->n_tree_changes));
        json_object_set_new(counters, "tree_superseded", json_integer((json_int_t) m->intake.n_superseded));
        json_object_set_new(o, "counters", counters);
        json_object_set_new(o, "loop", json_pack("{s:I, s:I}", "max_iteration_usec",
                                                 (json_int_t) m->loop_max_iteration_usec, "slow_iterations",
                                                 (json_int_t) m->loop_slow_iterations));
        json_object_set_new(json_object_get(o, "loop"), "recent_max_iteration_usec",
                            json_integer((json_int_t) manager_loop_recent_max(m, now_usec(CLOCK_MONOTONIC))));
        if (m->attacher)
                json_object_set_new(o, "tasks", attacher_status_json(m->attacher));
        json_object_set(o, "leftover", m->leftover ? m->leftover : json_null()); /* cgrouparch's directories */
        if (m->control)
                json_object_set_new(o, "control", control_server_status_json(m->control));
        if (m->sampler) {
                json_object_set_new(o, "sampler", sampler_status_json(m->sampler));
                json_object_set_new(o, "fds", manager_fds_json(m));
        }
        if (m->users)
                json_object_set_new(o, "users", users_status_json(m->users)); /* its "list" is streamed */
        if (m->fair)
                json_object_set_new(o, "fair_share", fair_status_json(m->fair));
        if (m->redis) {
                json_t *redis = redis_sink_status_json(m->redis);

                if (redis && m->redis_fill)
                        json_object_set_new(redis, "fill", redis_fill_status_json(m->redis_fill));
                json_object_set_new(o, "redis", redis);
        }
        if (m->web)
                json_object_set_new(o, "web", web_server_status_json(m->web));
        if (m->events)
                json_object_set_new(o, "events", event_hub_status_json(m->events, m->web ?
                                                                       web_server_event_subscribers(m->web) : 0));
        if (m->oom)
                json_object_set_new(o, "oom", oom_watch_status_json(m->oom));
        return o;
}

static json_t *on_status_slice(void *userdata, size_t index, const char **ret_key _unused_) {
        Manager *m = userdata;
        json_t *slice = m->realizer ? realizer_slice_status_json(m->realizer, index) : NULL;

        if (slice)
                enforce_report_slice(&m->enforce, m->tree, slice);
        return slice;
}

static json_t *on_status_group(void *userdata, size_t index, const char **ret_key) {
        Manager *m = userdata;
        return m->attacher ? attacher_group_status_json(m->attacher, index, ret_key) : NULL;
}

static json_t *on_status_user(void *userdata, size_t index, const char **ret_key _unused_) {
        Manager *m = userdata;
        return m->users ? users_user_json(m->users, index) : NULL;
}

/* The status answer, made as the client takes it (a 10 000-slice status is ~6 MB of text). The stream
 * reads the manager when each part is made; clients are freed before the manager. */
static int manager_status_stream(Manager *m, PartStream *ret) {
        JsonList lists[3] = {
                { .key = "slices", .item = on_status_slice, .userdata = m },
        };
        size_t n = 1;
        JsonStream *s;
        int r;

        if (m->attacher)
                lists[n++] = (JsonList) { .key = "groups", .outer = "tasks", .object = true, .item = on_status_group,
                                          .userdata = m };
        if (m->users)
                lists[n++] = (JsonList) { .key = "list", .outer = "users", .item = on_status_user, .userdata = m };
        r = json_stream_new(manager_status_head_json(m), lists, n, &s);
        if (r < 0)
                return r;
        *ret = json_stream_part_stream(s);
        return 0;
}

/* A streamed show_account reads the ring as it is when each part is made. */
typedef struct ManagerStream {
        Manager *manager;
        AccountStream *stream;
} ManagerStream;

static int on_stream_next(void *state, Buf *out, size_t want) {
        ManagerStream *ms = state;

        return account_stream_next(ms->stream, &ms->manager->ring, out, want);
}

static void on_stream_free(void *state) {
        ManagerStream *ms = state;

        account_stream_free(ms->stream);
        free(ms);
}

static void on_ws_message(WebClient *c, const char *text, size_t size, void *userdata, WebReply *ret) {
        Manager *m = userdata;
        /* get_conf: cgrouparch's {"version", "value"}, and "versions" only where there are two nodes */
        _cleanup_(json_decrefp) json_t *versions = m->overlay_on ? manager_versions_json(m) : NULL;
        ApiContext ctx = {
                .ring = &m->ring,
                .now_sec = now_usec(CLOCK_REALTIME) / USEC_PER_SEC,
                .conf = m->tree_json,
                .conf_version = m->tree ? m->version : -1,
                .conf_versions = versions,
                .events = m->events ? event_hub_ring(m->events) : NULL,
        };
        ApiAction action;
        AccountStream *stream = NULL;
        ManagerStream *ms;
        EventFilter filter;

        ret->text = api_handle(&ctx, text, size, &action, &stream, &filter);
        if (action == API_ACTION_FLEET_ACCOUNT) {
                fleet_account_reply(m->event, c,
                                    &(FleetAccountConfig) { .address = m->config->redis_address,
                                                            .prefix = m->config->redis_prefix },
                                    text, size, ret);
                return;
        }
        if (action == API_ACTION_STATUS) {
                if (manager_status_stream(m, &ret->stream) < 0)
                        ret->text = strdup("{\"error\":\"out of memory\"}");
                return;
        }
        if (action == API_ACTION_EVENTS || action == API_ACTION_UNSUBSCRIBE_EVENTS)
                web_client_set_events(c, action == API_ACTION_EVENTS ? &filter : NULL);
        else if (action != API_ACTION_NONE)
                web_client_set_subscribed(c, action == API_ACTION_SUBSCRIBE);
        if (!stream)
                return;
        ms = malloc(sizeof(ManagerStream));
        if (!ms) {
                account_stream_free(stream);
                ret->text = strdup("{\"error\":\"out of memory\"}");
                return;
        }
        account_stream_set_controllers(stream, m->web_controllers);
        *ms = (ManagerStream) { .manager = m, .stream = stream };
        ret->stream = (WebStream) { .next = on_stream_next, .free = on_stream_free, .state = ms };
}

static char *on_metrics(void *userdata) {
        Manager *m = userdata;
        MetricsExtra x = {
                .sweep_cpu_usec_total = sampler_sweep_cpu_usec_total(m->sampler),
                .sweep_cpu_usec_last = sampler_sweep_cpu_usec_last(m->sampler),
                .ticks = sampler_ticks(m->sampler),
                .websocket_clients = m->web ? web_server_clients(m->web) : 0,
                .io = sampler_io_coverage(m->sampler),
                .events_total = m->events ? event_hub_published_by_kind(m->events) : NULL,
        };
        size_t n = oom_watch_n_slices(m->oom);
        _cleanup_(freep) MetricsOom *oom = calloc(MAX(n, (size_t) 1), sizeof(MetricsOom));

        if (!oom)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                uint64_t kills = 0;
                const OomWatchSlice *s = oom_watch_slice(m->oom, i, &kills);

                oom[i] = (MetricsOom) { .slice = s->unit, .is_user = s->is_user, .uid = s->uid, .user = s->user,
                                        .kills = kills };
        }
        x.oom = oom;
        x.n_oom = n;
        if (m->redis)
                redis_sink_counters(m->redis, &x.redis_written, &x.redis_dropped);
        return metrics_render(ring_last(&m->ring), &x, m->config->web_metrics_node_label ? m->node : NULL);
}

/* {"<sec>":record} of the second just put, with the controllers in mask, into m->record. */
static int manager_write_record(Manager *m, const RingReader *last, unsigned mask, size_t *ret_from,
                                size_t *ret_size) {
        int r;

        m->record.size = 0;
        r = record_write_second_controllers(&m->record_layout, mask, last->unix_sec, last->set, last->values,
                                            &m->record, ret_from, ret_size);
        if (r < 0)
                log_debug_errno(r, "Cannot write the record of %" PRIu64 ": %m", last->unix_sec);
        return r;
}

/* Every second: the record goes to Redis and to websocket subscribers, written once for both (twice when
 * their Controllers= differ). */
/* The OOM watch follows the sampled slices: the tree's groups and the users' slices. */
static void manager_oom_follow(Manager *m, SliceSet *set) {
        _cleanup_(freep) OomWatchSlice *slices = NULL;
        int r;

        if (!m->oom || set == m->oom_set)
                return;
        slices = calloc(MAX(set->n, (size_t) 1), sizeof(OomWatchSlice));
        if (!slices) {
                log_oom();
                return;
        }
        for (size_t i = 0; i < set->n; i++) {
                bool user = i >= set->n_groups;

                slices[i] = (OomWatchSlice) {
                        .unit = set->units ? set->units[i] : NULL,
                        .is_user = user,
                        .uid = user ? (uint32_t) strtoul(set->paths[i], NULL, 10) : 0,
                        .user = set->user_names ? set->user_names[i] : NULL,
                };
        }
        r = oom_watch_set_slices(m->oom, slices, set->n);
        if (r < 0) {
                log_warning_errno(r, "Cannot follow the slices for OOM kills: %m");
                return;
        }
        slice_set_unref(m->oom_set);
        m->oom_set = slice_set_ref(set);
}

static void on_sample(Sampler *sampler, uint64_t unix_sec, SliceSet *set, SampleValues *values, void *userdata) {
        Manager *m = userdata;
        const RingReader *last;
        const RingSlot *slot;
        size_t record_from, record_size;
        int r;

        manager_oom_follow(m, set);

        if (m->fair) {
                fair_sample(m->fair, set, values);
                if (fair_throttled(m->fair) != m->throttled_shown)
                        manager_update_status(m);
        }
        r = ring_put(&m->ring, unix_sec, set, values);
        if (r < 0) {
                /* Still ours, io arrays included; the second is missing from the window, as when late. */
                log_warning_errno(r, "Could not keep the samples of %" PRIu64 " in the window: %m", unix_sec);
                sample_values_free_array(values, set->n);
                return;
        }
        slot = ring_get(&m->ring, unix_sec);
        last = ring_last(&m->ring);
        if (!slot)
                return;
        if (!m->redis && !(m->web && web_server_clients(m->web) > 0))
                return;
        if (!last || last->seq != slot->seq)
                return; /* the sampler hands over the second it just put */
        if (m->redis) {
                r = manager_write_record(m, last, m->redis_controllers, &record_from, &record_size);
                if (r < 0)
                        return;
                /* Redis gets the record alone */
                r = redis_sink_push(m->redis, slot->unix_sec, (const char *) m->record.data + record_from,
                                    record_size);
                if (r < 0)
                        log_debug_errno(r, "Cannot queue the record for Redis: %m");
        }
        /* Subscribers get show_account's shape for the one second: the same text unless [Web] and [Redis]
         * Controllers= differ. */
        if (!m->web || web_server_clients(m->web) == 0)
                return;
        if (!m->redis || m->web_controllers != m->redis_controllers) {
                r = manager_write_record(m, last, m->web_controllers, &record_from, &record_size);
                if (r < 0)
                        return;
        }
        web_server_broadcast(m->web, (const char *) m->record.data, m->record.size);
}

/* GROUP is a path or a unique name, as in PidFiles=. */
static const TreeNode *manager_find_group(const Manager *m, const char *group, const char **ret_error) {
        TreeNode *found = NULL;
        int r;

        if (!m->tree) {
                *ret_error = "no tree applied yet";
                return NULL;
        }
        r = tree_resolve_group(m->tree, group, &found);
        if (r < 0) {
                *ret_error = r == -ENOTUNIQ ? "ambiguous group name: give its path" : "no such group in the tree";
                return NULL;
        }
        *ret_error = NULL;
        return found;
}

/* {"NAME": "--slice=UNIT"} or {"NAME": {"error": "..."}} per name: what to pass to systemd-run. The names
 * were checked by control_request_parse(). */
static json_t *manager_exec_args(const Manager *m, const json_t *names) {
        json_t *o, *v;
        size_t i;

        o = json_object();
        json_array_foreach(names, i, v) {
                const char *name = json_string_value(v), *error = NULL;
                _cleanup_(freep) char *unit = NULL, *arg = NULL;
                const TreeNode *n;

                n = manager_find_group(m, name, &error);
                if (n && unit_name_from_path(m->config->root, n->path, &unit) >= 0 &&
                    asprintf(&arg, "--slice=%s", unit) >= 0)
                        json_object_set_new(o, name, json_string(arg));
                else
                        json_object_set_new(o, name, json_pack("{s:s}", "error", error ? error : "out of memory"));
        }
        return o;
}

static bool manager_slice_ready(const char *slice, void *userdata) {
        Manager *m = userdata;
        return realizer_unit_active(m->realizer, slice);
}

static void on_migration_done(Migrator *migration _unused_, void *userdata) {
        manager_scan_leftovers(userdata);
}

/* `slicekeeper migrate`: one at a time; answers the id its report is asked for with (migrate_result). */
static json_t *manager_migrate(Manager *m, bool dry_run) {
        MigratorConfig mc = {
                .mode = dry_run ? MIGRATOR_DRY_RUN : MIGRATOR_RUN,
                .root = m->config->root,
                .tree = m->tree,
                .slice_ready = manager_slice_ready,
                .userdata = m,
                .done = on_migration_done,
                .jobs = m->jobs,
        };
        int r;

        if (!m->tree || !m->attacher)
                return json_pack("{s:s}", "error", "no tree applied yet: nothing to migrate into");
        if (m->migration && !migrator_finished(m->migration))
                return json_pack("{s:s, s:I}", "error", "a migration is running; ask for its result", "id",
                                 (json_int_t) m->migration_id);
        m->migration = migrator_free(m->migration);
        r = migrator_new(m->event, m->bus, &mc, &m->migration);
        if (r < 0)
                return json_pack("{s:s}", "error", "cannot start the migration (see the journal)");
        log_info("migrate%s: looking for directories cgrouparch left.", dry_run ? " --dry-run" : "");
        return json_pack("{s:I}", "id", (json_int_t) ++m->migration_id);
}

static json_t *manager_migrate_result(Manager *m, uint64_t id) {
        json_t *o;

        if (!m->migration || id != m->migration_id)
                return json_pack("{s:s}", "error", "no such migration (only the last one is kept)");
        if (!migrator_finished(m->migration))
                return json_pack("{s:I, s:b}", "id", (json_int_t) id, "finished", 0);
        o = migrator_report_json(m->migration);
        json_object_set_new(o, "id", json_integer((json_int_t) id));
        return o;
}

/* `slicekeeper top`: the window's last seconds as show_account gives them, every controller (top shows them
 * all), streamed as the websocket's show_account is. Only the window is read, never cgroupfs. Returns an
 * error answer, or NULL with *ret_stream set (nothing set: out of memory). */
static json_t *manager_account(Manager *m, uint64_t seconds, PartStream *ret_stream) {
        const RingSlot *last = ring_latest(&m->ring);
        AccountStream *stream = NULL;
        ManagerStream *ms;

        if (!last)
                return json_pack("{s:s}", "error", "no samples yet (the window is empty); try again in a second");
        if (account_stream_new(last->unix_sec - MIN(seconds - 1, last->unix_sec), last->unix_sec, &stream) < 0)
                return NULL;
        ms = malloc(sizeof(ManagerStream));
        if (!ms) {
                account_stream_free(stream);
                return NULL;
        }
        *ms = (ManagerStream) { .manager = m, .stream = stream };
        *ret_stream = (PartStream) { .next = on_stream_next, .free = on_stream_free, .state = ms };
        return NULL;
}

static void on_control(const ControlRequest *request, void *userdata, ControlAnswer *ret) {
        Manager *m = userdata;
        json_t *o;

        switch (request->cmd) {
        case CONTROL_CMD_STATUS:
                (void) manager_status_stream(m, &ret->stream); /* failing, nothing is set: out of memory */
                return;
        case CONTROL_CMD_EXEC_ARGS:
                ret->json = manager_exec_args(m, request->names);
                return;
        case CONTROL_CMD_MIGRATE:
                ret->json = manager_migrate(m, request->dry_run);
                return;
        case CONTROL_CMD_MIGRATE_RESULT:
                ret->json = manager_migrate_result(m, request->id);
                return;
        case CONTROL_CMD_PENALTY:
        case CONTROL_CMD_LIMIT:
        case CONTROL_CMD_USERS:
                if (!m->fair)
                        ret->json = json_pack("{s:s}", "error", "fair share is off ([FairShare] Enable=no)");
                else if (request->cmd == CONTROL_CMD_PENALTY)
                        ret->json = fair_control_penalty(m->fair, request);
                else if (request->cmd == CONTROL_CMD_LIMIT)
                        ret->json = fair_control_limit(m->fair, request);
                else
                        /* a user (not root) is answered about themselves only */
                        ret->json = fair_users_json(m->fair, request->me || request->peer_uid != 0,
                                                    request->peer_uid);
                return;
        case CONTROL_CMD_ACCOUNT:
                ret->json = manager_account(m, request->seconds, &ret->stream);
                return;
        case CONTROL_CMD_PLAN:
                o = json_object();
                json_object_set_new(o, "version", m->tree ? json_integer((json_int_t) m->version) : json_null());
                json_object_set_new(o, "items", realizer_plan_json(m->realizer, false));
                json_object_set_new(o, "not_enforced",
                                    enforce_report_plan_json(&m->enforce, m->tree, m->realizer, m->config->root));
                ret->json = o;
                return;
        default:
                ret->json = json_pack("{s:s}", "error", "unknown cmd");
        }
}

/* A published event, live to the websocket's `events` subscribers, and to the Redis stream. */
static void on_event_push(const EventRecord *record, const char *text, size_t size, void *userdata) {
        Manager *m = userdata;
        int r;

        if (m->web)
                web_server_broadcast_event(m->web, record, text, size);
        if (m->redis) {
                r = redis_sink_push_event(m->redis, record->text, record->text_size);
                if (r < 0)
                        log_debug_errno(r, "Cannot queue event %" PRIu64 " for Redis: %m", record->seq);
        }
}

static void on_fair_event(Fair *f _unused_, const FairEvent *e, void *userdata) {
        Manager *m = userdata;

        (void) event_hub_publish_fair(m->events, e);
}

static void on_oom_kill(OomWatch *w _unused_, const OomKill *k, void *userdata) {
        _cleanup_(oom_event_out_done) OomEventOut o = { 0 };
        Manager *m = userdata;
        uint8_t random[EVENT_ID_LEN] = { 0 };
        int r;

        if (!m->events)
                return;
        (void) getrandom(random, sizeof(random), GRND_NONBLOCK); /* distinct, not secret: zeros will do */
        r = oom_event_convert(k, event_hub_node(m->events), random, &o);
        if (r < 0) {
                log_warning_errno(r, "Cannot make the event of an OOM kill in %s: %m", k->slice->unit);
                return;
        }
        o.event.journal_fields = o.journal;
        o.event.n_journal_fields = o.n_journal;
        (void) event_hub_publish(m->events, &o.event);
}

static void on_fair_stopped(Fair *f _unused_, void *userdata) {
        Manager *m = userdata;

        sd_event_exit(m->event, EXIT_SUCCESS);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                log_info("SIGHUP: re-reading the tree and re-checking every slice.");
                sd_notify(false, "RELOADING=1");
                if (m->file)
                        file_source_read(m->file);
                if (m->zk)
                        zk_source_reread(m->zk);
                realizer_request_pass(m->realizer);
                if (m->events)
                        event_hub_reopen(m->events); /* logrotate moved it away */
                if (m->fair)
                        (void) fair_reload(m->fair); /* users.d, and the users' names and groups */
                sd_notify(false, "READY=1");
                manager_update_status(m);
                return 0;
        }
        log_info("Received %s, exiting. Slices stay: they are the desired state.", strsignal((int) si->ssi_signo));
        sd_notify(false, "STOPPING=1");
        /* The users' caps are lifted first (bounded wait); a second signal does not wait. */
        if (!m->stopping && m->fair) {
                m->stopping = true;
                if (fair_stop(m->fair, FAIR_STOP_TIMEOUT_USEC, on_fair_stopped, m) > 0)
                        return 0;
        }
        return sd_event_exit(sd_event_source_get_event(s), EXIT_SUCCESS);
}

/* Exactly one tree source, and a ZooKeeper one with its node. */
static int manager_check_source(const Config *c) {
        if (isempty(c->source_file) && isempty(c->zk_hosts)) {
                log_error("No tree source: set [ZooKeeper] Hosts= and Prefix=, or [Source] File= (--tree-file=PATH).");
                return -EINVAL;
        }
        if (!isempty(c->source_file) && !isempty(c->zk_hosts)) {
                log_error("Both [Source] File= and [ZooKeeper] Hosts= are set: choose one tree source.");
                return -EINVAL;
        }
        if (!isempty(c->zk_hosts) && isempty(c->zk_prefix)) {
                log_error("[ZooKeeper] Hosts= needs Prefix= (the tree is <Prefix>/arch_conf).");
                return -EINVAL;
        }
        return 0;
}

static int manager_connect_bus(Manager *m) {
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create event loop: %m");
        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        return 0;
}

/* SIGTERM and SIGINT stop the loop; SIGHUP re-reads (not in a dry run, which runs once). */
static int manager_setup_signals(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if ((r = sd_event_add_signal(m->event, &m->sigterm, SIGTERM, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sigint, SIGINT, on_signal, m)) < 0 ||
            (!m->dry_run && (r = sd_event_add_signal(m->event, &m->sighup, SIGHUP, on_signal, m)) < 0))
                return log_error_errno(r, "Cannot watch signals: %m");
        return 0;
}

/* $NOTIFY_SOCKET, a path or an abstract name, as the peer of fd. */
static int notify_connect(int fd) {
        const char *e = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n;

        if (isempty(e) || (e[0] != '/' && e[0] != '@'))
                return -EAFNOSUPPORT; /* vsock and the like: sd_notify() knows them */
        n = strlen(e);
        if (n >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, e, n);
        if (e[0] == '@')
                sa.sun_path[0] = 0; /* abstract */
        if (connect(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n)) < 0)
                return -errno;
        return 0;
}

/* sd_notify() opens a socket per message: with descriptors used up, the loop would run on and systemd would
 * still kill the daemon for a missed ping. WATCHDOG=1 goes over a socket connected once, at start. */
static int manager_watchdog_ping(Manager *m) {
        static const char ping[] = "WATCHDOG=1";

        if (send(m->notify_fd, ping, strlen(ping), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
                return 0;
        /* The socket was bound anew, or systemd's queue is full: connect again (no new descriptor) and try
         * once more, then the usual way. */
        m->watchdog_pings_failed++;
        if (notify_connect(m->notify_fd) >= 0 &&
            send(m->notify_fd, ping, strlen(ping), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
                return 0;
        return sd_notify(false, ping);
}

static int on_watchdog(sd_event_source *es, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        (void) manager_watchdog_ping(m);
        sd_event_source_set_time(es, usec + MAX(m->watchdog_usec / 4, USEC_PER_MSEC));
        sd_event_source_set_enabled(es, SD_EVENT_ON);
        return 0;
}

/* With WatchdogSec=: a ping every quarter of it from the loop (a stuck loop still misses it), at the
 * highest priority so that no busy source delays it. */
static int manager_setup_watchdog(Manager *m) {
        _cleanup_(closep) int fd = -EBADF;
        uint64_t interval;
        int r;

        r = sd_watchdog_enabled(false, &interval);
        if (r <= 0)
                return r < 0 ? log_error_errno(r, "Cannot read the watchdog settings: %m") : 0;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(errno, "Cannot open a socket for the watchdog: %m");
        r = notify_connect(fd);
        if (r < 0) {
                log_debug_errno(r, "Cannot connect to $NOTIFY_SOCKET, the loop pings the watchdog: %m");
                r = sd_event_set_watchdog(m->event, true);
                return r < 0 ? log_error_errno(r, "Cannot enable the watchdog: %m") : 0;
        }
        m->notify_fd = TAKE_FD(fd);
        m->watchdog_usec = interval;
        r = sd_event_add_time_relative(m->event, &m->watchdog, CLOCK_MONOTONIC, 0, /* accuracy= */ interval / 16,
                                       on_watchdog, m);
        if (r >= 0)
                r = sd_event_source_set_priority(m->watchdog, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the watchdog timer: %m");
        return 0;
}

static int manager_setup_realizer(Manager *m, const ManagerOptions *options) {
        const Config *c = m->config;
        RealizerConfig rc = {
                .root = c->root,
                .protected = c->protected,
                .runtime_dir = options->runtime_dir,
                .repair_interval_usec = c->tasks_interval_usec,
                .dry_run = m->dry_run,
        };
        int r;

        /* The JobRemoved match goes out before any job is started, so none is missed. */
        r = job_watch_new(m->bus, &m->jobs);
        if (r < 0)
                return log_error_errno(r, "Cannot watch systemd jobs: %m");
        rc.jobs = m->jobs;
        /* realizer_new() logs the failures it has more to say about (records, signals, drop-in watch). */
        return realizer_new(m->event, m->bus, &rc, on_pass_done, m, &m->realizer);
}

/* The tree from ZooKeeper or from a file (manager_check_source() made sure it is one of them). */
static int manager_setup_source(Manager *m) {
        const Config *c = m->config;
        int r;

        r = sd_event_add_defer(m->event, &m->intake_step, on_intake_step, m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the tree intake: %m");
        (void) sd_event_source_set_enabled(m->intake_step, SD_EVENT_OFF);
        (void) sd_event_source_set_description(m->intake_step, "tree-intake");
        if (!isempty(c->zk_hosts)) {
                char *nodes[3] = {};
                ZkSourceConfig zc = {
                        .hosts = c->zk_hosts,
                        .nodes = nodes,
                        .max_children = FLEET_USERS_MAX,
                        .auth = c->zk_auth,
                        .session_timeout_usec = c->zk_session_timeout_usec,
                        .max_bytes = TREE_JSON_MAX,
                        .on_change = on_zk_outage,
                };

                /* <Prefix>/arch_conf; <Prefix>/hosts/<node>/arch_conf; <Prefix>/users/<name> */
                r = zk_node_path(c->zk_prefix, &m->zk_shared.path);
                if (r < 0)
                        return log_error_errno(r, "Bad [ZooKeeper] Prefix=%s: %m", c->zk_prefix);
                m->overlay_on = c->zk_host_overlay;
                m->overlay_version = -1;
                nodes[0] = m->zk_shared.path;
                if (m->overlay_on) {
                        const char *p = streq(c->zk_prefix, "/") ? "" : c->zk_prefix;

                        if (asprintf(&m->zk_overlay.path, "%s/hosts/%s/" ZK_TREE_NODE, p, m->node) < 0)
                                return log_oom();
                        nodes[1] = m->zk_overlay.path;
                }
                if (c->fair_share.enable && c->zk_fleet_users) {
                        if (asprintf(&m->zk_users_path, "%s/users", streq(c->zk_prefix, "/") ? "" : c->zk_prefix) < 0)
                                return log_oom();
                        zc.children_of = m->zk_users_path;
                }
                r = zk_source_new(m->event, &zc, on_tree_zk, m, &m->zk);
                if (r < 0)
                        return log_error_errno(r, "Cannot set up the ZooKeeper source: %m");
                return 0;
        }
        r = file_source_new(m->event, c->source_file, TREE_JSON_MAX, on_tree_file, m, &m->file);
        if (r < 0)
                return log_error_errno(r, "Cannot watch tree file %s: %m", c->source_file);
        return 0;
}

/* [Tasks] PidFiles= and the drop-ins in the pidfiles directory. */
static int manager_setup_attacher(Manager *m, const ManagerOptions *options) {
        const Config *c = m->config;
        char error[1024] = "";
        AttacherConfig ac = {
                .root = c->root,
                .interval_usec = c->tasks_interval_usec,
                .allow_non_root_files = c->allow_non_root_pid_files,
                .proc_root = "/proc",
                .slice_ready = manager_slice_ready,
                .userdata = m,
                .jobs = m->jobs,
        };
        int r;

        for (size_t i = 0; c->pid_files && c->pid_files[i]; i++)
                if (strv_extend(&m->pid_files, c->pid_files[i]) < 0)
                        return log_oom();
        r = config_load_pid_file_dropins(options->pidfiles_dir ? options->pidfiles_dir : SLICEKEEPER_PIDFILES_DIR,
                                         &m->pid_files, error, sizeof(error));
        if (r < 0)
                return log_error_errno(r, "Configuration error: %s", error[0] ? error : STRERROR(r));
        r = attacher_new(m->event, m->bus, &ac, &m->attacher);
        if (r < 0)
                return log_error_errno(r, "Cannot set up pid file attachment: %m");
        return 0;
}

/* The window ([Redis] ExpireSec= seconds, at least one) and the sampler that fills it. */
static int manager_setup_sampling(Manager *m) {
        const Config *c = m->config;
        SamplerConfig sc = {
                .interval_usec = c->sample_interval_usec,
                .root = c->root,
                /* room for every connection the daemon allows: the web server's websockets, its HTTP
                 * reserve (http-server.h), and 16 for its listen socket, epoll fd and closing sockets */
                .fd_reserve = FD_RESERVE_BASE + (isempty(c->control_socket) ? 0 : CONTROL_CLIENTS_MAX + 1) +
                              (isempty(c->web_listen) ? 0 : WEB_CLIENTS_MAX + WEB_HTTP_RESERVE + 16),
        };
        int r;

        r = ring_init(&m->ring, (size_t) MAX(c->redis_expire_sec, (uint64_t) 1));
        if (r < 0)
                return log_oom();
        r = sampler_new(m->event, &sc, on_sample, m, &m->sampler);
        if (r < 0)
                return log_error_errno(r, "Cannot set up sampling: %m");
        return 0;
}

/* The users changed (one came or went, or a name was found): their slices are sampled from the next
 * second on. */
static void on_users_changed(Users *u, void *userdata) {
        Manager *m = userdata;
        const UserTable *t = users_table(u);
        _cleanup_(freep) SampleUser *list = calloc(MAX(t->n, (size_t) 1), sizeof(SampleUser));

        if (!list) {
                log_oom();
                return;
        }
        for (size_t i = 0; i < t->n; i++)
                list[i] = (SampleUser) { .uid = t->users[i].uid, .name = t->users[i].name };
        if (sampler_set_users(m->sampler, list, t->n) < 0)
                log_oom();
        manager_update_status(m);
}

/* With [FairShare] Enable=: the user slices, found over D-Bus, sampled with the groups. */
static int manager_setup_users(Manager *m) {
        const Config *c = m->config;
        UsersConfig uc = {
                .min_uid = c->fair_share.min_uid,
                .changed = on_users_changed,
                .userdata = m,
        };
        int r;

        if (!m->users_enabled)
                return 0;
        r = users_new(m->event, m->bus, &uc, &m->users);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the user slices: %m");
        r = fair_new(m->event, m->bus, m->jobs, &c->fair_share, sampler_layout(m->sampler), &m->fair);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the users' fair share: %m");
        fair_set_fd_budget(m->fair, sampler_fd_budget(m->sampler));
        fair_set_event_fn(m->fair, on_fair_event, m);
        if (m->zk_users_path)
                fair_set_fleet_node_prefix(m->fair, m->zk_users_path);
        return 0;
}

/* The event stream: the ring, the journal, the event log (opened at its first line). */
static int manager_setup_events(Manager *m) {
        int r;

        r = event_hub_new(m->config->fair_share.event_log, m->node, &m->events);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the event stream: %m");
        event_hub_set_push(m->events, on_event_push, m);
        return 0;
}

/* OOM kills in every sampled slice, into the event stream. */
static int manager_setup_oom(Manager *m) {
        int r;

        if (!m->config->oom_watch)
                return 0;
        r = oom_watch_new(m->event, sampler_layout(m->sampler), m->config->oom_kmsg_path, on_oom_kill, m, &m->oom);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the OOM watch: %m");
        /* v1: an eventfd per watched slice, out of the sampler's share of the descriptors. */
        sampler_set_fd_per_slice_other(m->sampler, oom_watch_fds_per_slice(m->oom));
        return 0;
}

/* A second Redis could not take when it came (away, or slow), now from the window; read oldest first, so
 * ring_read() goes one delta step per second. */
static int on_redis_render(RedisSink *s _unused_, uint64_t unix_sec, Buf *out, void *userdata) {
        Manager *m = userdata;
        int r;

        r = ring_read(&m->ring, unix_sec, &m->redis_reader);
        if (r >= 0)
                r = record_layout_update(&m->redis_layout, m->redis_reader.set);
        if (r >= 0)
                r = record_write_controllers(m->redis_layout, m->redis_controllers, m->redis_reader.values, out);
        return r;
}

static void on_redis_render_done(RedisSink *s _unused_, void *userdata) {
        Manager *m = userdata;

        ring_reader_done(&m->redis_reader);
        m->redis_layout = record_layout_free(m->redis_layout);
}

/* A record Redis held from before the restart, into the window where it has room. */
static int on_fill_record(RedisFill *f _unused_, uint64_t unix_sec, const char *text, size_t size,
                          const char **reason, void *userdata) {
        Manager *m = userdata;
        SampleValues *values = NULL;
        SliceSet *set = NULL;
        unsigned controllers;
        int r;

        r = record_parse(&m->fill_parser, text, size, &set, &values, &controllers, reason);
        if (r == -EFBIG) {
                *reason = "larger than a record can be";
                r = -EBADMSG;
        }
        if (r < 0)
                return r;
        r = ring_fill(&m->ring, unix_sec, set, values);
        if (r < 0)
                sample_values_free_array(values, set->n);
        slice_set_unref(set);
        return r;
}

static void on_fill_done(RedisFill *f _unused_, void *userdata) {
        Manager *m = userdata;

        record_parser_done(&m->fill_parser);
}

/* The seconds Redis still holds, read back in the background: the sampler starts meanwhile. */
static int manager_setup_redis_fill(Manager *m) {
        const Config *c = m->config;
        uint64_t now = now_usec(CLOCK_REALTIME) / USEC_PER_SEC, window = MAX(c->redis_expire_sec, (uint64_t) 1);
        RedisFillConfig fc = {
                .address = c->redis_address,
                .prefix = c->redis_prefix,
                .node = c->redis_host_keys ? m->node : NULL,
                .first_sec = now >= window ? now - window + 1 : 1,
                .last_sec = now,
                .on_record = on_fill_record,
                .on_done = on_fill_done,
                .userdata = m,
        };
        int r;

        r = redis_fill_new(m->event, &fc, &m->redis_fill);
        if (r < 0)
                log_warning_errno(r, "Cannot read the window back from Redis at %s: %m", c->redis_address);
        return 0;
}

/* With [Redis] Address=. */
static int manager_setup_redis(Manager *m) {
        const Config *c = m->config;
        RedisSinkConfig rc = {
                .address = c->redis_address,
                .prefix = c->redis_prefix,
                .node = c->redis_host_keys ? m->node : NULL, /* the events' stream stays shared: they name NODE */
                .expire_sec = (unsigned) c->redis_expire_sec,
                .on_change = on_redis_outage,
                .render = on_redis_render,
                .render_done = on_redis_render_done,
                .userdata = m,
        };
        int r;

        if (isempty(c->redis_address))
                return 0;
        r = redis_sink_new(m->event, &rc, &m->redis);
        if (r < 0)
                return log_error_errno(r, "Cannot set up Redis at %s: %m", c->redis_address);
        return manager_setup_redis_fill(m);
}

/* With [Web] Listen=. */
static int manager_setup_web(Manager *m) {
        const Config *c = m->config;
        WebHandlers wh = { .message = on_ws_message, .metrics = on_metrics, .userdata = m };
        int r;

        if (isempty(c->web_listen))
                return 0;
        r = web_server_new(m->event,
                           &(WebServerConfig) { .listen = c->web_listen, .stall_usec = c->web_stall_timeout_usec,
                                                .idle_usec = c->web_idle_timeout_usec,
                                                .handshake_usec = c->web_handshake_timeout_usec,
                                                .per_address_max = c->web_max_connections_per_address,
                                                .output_budget_bytes = c->web_output_budget_mib << 20,
                                                .page_dir = c->web_page_dir,
                                                .javascript_dir = c->web_javascript_dir },
                           &wh, &m->web);
        if (r < 0)
                return log_error_errno(r, "Cannot listen on %s: %m", c->web_listen);
        return 0;
}

/* With [Control] Socket=. */
static int manager_setup_control(Manager *m) {
        const Config *c = m->config;
        int r;

        if (isempty(c->control_socket))
                return 0;
        r = control_server_new(m->event, c->control_socket, c->control_request_timeout_usec, on_control, m,
                               &m->control);
        if (r < 0)
                return log_error_errno(r, "Cannot listen on control socket %s: %m", c->control_socket);
        return 0;
}

int manager_new(const ManagerOptions *options, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        assert(options);
        assert(options->config);
        assert(ret);

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->config = options->config;
        manager_resolve_controllers(m);
        m->notify_fd = -EBADF;
        m->overlay_version = -1;
        m->dry_run = options->dry_run;
        m->dry_run_json = options->dry_run_json;
        /* The lead connects this to the [FairShare] section as fsconfig makes it. */
        m->users_enabled = m->config->fair_share.enable;

        enforce_report_init(&m->enforce);
        {
                char error[256];

                r = config_node_name(m->config, &m->node, error, sizeof(error));
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "%s", error);
        }
        r = manager_check_source(m->config);
        if (r < 0)
                return r;
        if (m->config->fair_share.enable)
                log_info("[FairShare] Enable=yes: users' CPU caps and memory limits are set (Mode=%s).",
                         config_fair_share_mode_to_string(m->config->fair_share.mode));
        r = manager_connect_bus(m);
        if (r < 0)
                return r;
        r = manager_setup_signals(m);
        if (r < 0)
                return r;
        r = manager_setup_watchdog(m);
        if (r < 0)
                return r;
        r = manager_setup_realizer(m, options);
        if (r < 0)
                return r;
        r = manager_setup_source(m);
        if (r < 0)
                return r;
        /* A dry run prints the plan of one pass: it attaches, samples and listens for nothing. */
        if (!m->dry_run) {
                r = manager_setup_attacher(m, options);
                if (r < 0)
                        return r;
                r = manager_setup_sampling(m);
                if (r < 0)
                        return r;
                r = manager_setup_events(m);
                if (r < 0)
                        return r;
                r = manager_setup_oom(m);
                if (r < 0)
                        return r;
                r = manager_setup_users(m);
                if (r < 0)
                        return r;
                r = manager_setup_redis(m);
                if (r < 0)
                        return r;
                r = manager_setup_web(m);
                if (r < 0)
                        return r;
                r = manager_setup_control(m);
                if (r < 0)
                        return r;
        }
        /* A connection that failed while being set up (a Redis socket path that is down fails at once) called
         * on_*_outage before m->redis or m->zk was set; its later attempts change nothing, so say it now. */
        manager_update_status(m);
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        control_server_free(m->control);
        web_server_free(m->web);
        record_layout_free(m->record_layout);
        buf_done(&m->record);
        redis_sink_free(m->redis);
        redis_fill_free(m->redis_fill);
        record_parser_done(&m->fill_parser);
        ring_reader_done(&m->redis_reader);
        record_layout_free(m->redis_layout);
        fair_free(m->fair);
        free(m->node);
        free(m->zk_shared.path);
        json_decref(m->zk_shared.json);
        free(m->zk_shared.error);
        free(m->zk_overlay.path);
        json_decref(m->zk_overlay.json);
        free(m->zk_overlay.error);
        free(m->zk_users_path);
        free(m->error_node);
        oom_watch_free(m->oom);
        slice_set_unref(m->oom_set);
        event_hub_free(m->events);
        users_free(m->users);
        sampler_free(m->sampler);
        ring_done(&m->ring);
        json_decref(m->tree_json);
        sd_event_source_disable_unref(m->intake_step);
        tree_intake_done(&m->intake);
        migrator_free(m->migration);
        migrator_free(m->leftover_scan);
        json_decref(m->leftover);
        attacher_free(m->attacher);
        strv_free(m->pid_files);
        file_source_free(m->file);
        zk_source_free(m->zk);
        realizer_free(m->realizer);
        job_watch_free(m->jobs);
        sd_event_source_disable_unref(m->sigterm);
        sd_event_source_disable_unref(m->sigint);
        sd_event_source_disable_unref(m->sighup);
        sd_event_source_disable_unref(m->watchdog);
        if (m->notify_fd >= 0)
                close(m->notify_fd);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        tree_unref(m->tree);
        log_once_reset(&m->tree_error);
        enforce_report_done(&m->enforce);
        free(m);
        return NULL;
}

/* sd_event_loop(), with the time each dispatch takes (one event source's handler) kept for `status`: how
 * long input or anything else blocked the loop (issue 12's target: LOOP_ITERATION_TARGET_USEC). */
static int manager_loop(Manager *m) {
        int r, code = 0;

        while (sd_event_get_state(m->event) != SD_EVENT_FINISHED) {
                r = sd_event_prepare(m->event);
                if (r == 0)
                        r = sd_event_wait(m->event, UINT64_MAX);
                if (r > 0) {
                        usec_t start = now_usec(CLOCK_MONOTONIC), took;

                        r = sd_event_dispatch(m->event);
                        took = now_usec(CLOCK_MONOTONIC) - start;
                        m->loop_max_iteration_usec = MAX(m->loop_max_iteration_usec, took);
                        manager_loop_recent_advance(m, start);
                        m->loop_recent_max[0] = MAX(m->loop_recent_max[0], took);
                        if (took > LOOP_ITERATION_TARGET_USEC)
                                m->loop_slow_iterations++;
                }
                if (r < 0)
                        return r;
        }
        r = sd_event_get_exit_code(m->event, &code);
        return r < 0 ? r : code;
}

int manager_run(Manager *m) {
        int r;

        assert(m);

        if (m->file)
                file_source_read(m->file);
        else
                zk_source_start(m->zk);
        if (!m->dry_run) {
                /* Without a valid tree no pass runs: an unreadable tree must never read as "remove all". */
                sd_notify(false, "READY=1");
                manager_update_status(m);
        }
        r = manager_loop(m);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return m->exit_status ? m->exit_status : r;
}
