/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include "attacher.h"
#include "cgroup-stat.h"
#include "fileio.h"
#include "inotify-watch.h"
#include "log.h"
#include "parse-util.h"
#include "pid-select.h"
#include "pidfile.h"
#include "proc-table.h"
#include "refusals.h"
#include "strmap.h"
#include "strv.h"
#include "unit-name.h"
#include "unit-op.h"

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define SETTLE_USEC (20 * USEC_PER_MSEC)
/* Requests in flight at once: the system bus allows 128 pending replies per connection, shared with
 * the realizer. */
#define CALLS_MAX 32
#define PREPARE_BATCH 256 /* groups looked at per loop iteration: their pid files, ~10 ms */

typedef struct Watch {
        int wd;
        char *dir;
} Watch;

typedef struct Group {
        Attacher *attacher;
        char *path, *slice, *scope, *scope_cgroup;
        char **patterns;
        pid_t *listed;      /* the tree's conf.pids (cgrouparch): moved like the pids pid files name */
        size_t n_listed;
        size_t *left_out;   /* per pattern: files matched beyond ATTACHER_MATCHES_MAX in the last pass */
        pid_t *pids;        /* in the scope after the last pass */
        size_t n_pids;
        pid_t *sending;     /* being moved by the request in flight */
        size_t n_sending;
        RefusalList refusals;
        bool scope_known;   /* the scope existed at the last success */
        bool fallback;      /* the request in flight is the second way round */
        bool queued;        /* has processes to send, waiting for a free request slot */
        UnitOp *op;         /* the request in flight */
} Group;

struct Attacher {
        sd_event *event;
        sd_bus *bus;
        char *root, *proc_root;
        char *systemd_hierarchy; /* the cgroup mount where systemd tracks units, NULL if none found */
        bool allow_non_root_files;
        usec_t interval_usec;
        AttacherSliceReady slice_ready;
        void *userdata;
        JobWatch *jobs;
        pid_t pid_max;

        Group **groups;     /* each allocated on its own: its request carries the Group * */
        size_t n_groups, n_groups_alloc;
        StrMap group_by_path; /* path (the group's own string) → Group: 10 000 groups are set in one go */
        char **unresolved;
        size_t in_flight;   /* groups of this pass not finished (queued or sent), +1 while sending */
        size_t calls;       /* requests on the bus */
        size_t send_next;   /* where the queue scan goes on */
        size_t n_prepared;  /* groups of this pass looked at so far (on_prepare); only those are sent */
        ProcTable procs;    /* the pass's /proc snapshot, while groups are looked at */
        bool have_procs;
        sd_event_source *preparer; /* on_prepare: PREPARE_BATCH groups per loop iteration */
        bool running, again;
        uint64_t passes;
        uint64_t calls_sent;      /* D-Bus requests to move processes, since start */
        uint64_t calls_dropped;   /* of those, in flight when their groups were replaced (their replies ignored) */
        uint64_t moved_total;     /* processes moved, since start */
        uint64_t refusals_logged; /* refusal lines written to the journal, since start */
        size_t n_refusals;        /* records kept over all groups (bounded by REFUSALS_TOTAL_MAX) */
        usec_t pass_started_usec, last_pass_usec; /* CLOCK_MONOTONIC; the duration of the last full pass */
        size_t pass_moved, last_pass_moved;

        InotifyWatch *inotify;
        Watch *watches;     /* one per directory, however many patterns name it */
        size_t n_watches, n_watches_alloc;
        sd_event_source *settle, *interval;
};

static void pass_start(Attacher *a);

/* The last request of a pass came back (or none was needed). */
static void pass_end(Attacher *a) {
        a->running = false;
        a->last_pass_usec = now_usec(CLOCK_MONOTONIC) - a->pass_started_usec;
        a->last_pass_moved = a->pass_moved;
        if (a->pass_moved > 0)
                log_debug("Attach pass moved %zu process(es) in %" PRIu64 " us.", a->pass_moved, a->last_pass_usec);
        if (a->again) {
                a->again = false;
                pass_start(a);
        }
}

/* ---- groups ---- */

/* Drops the group's request with it: none of its callbacks can run afterwards. */
static Group *group_free(Group *g) {
        if (!g)
                return NULL;
        unit_op_free(g->op);
        free(g->path);
        free(g->slice);
        free(g->scope);
        free(g->scope_cgroup);
        strv_free(g->patterns);
        free(g->listed);
        free(g->left_out);
        free(g->pids);
        free(g->sending);
        refusal_list_done(&g->refusals, &g->attacher->n_refusals);
        free(g);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Group *, group_free)

static void groups_clear(Attacher *a) {
        a->calls_dropped += a->calls;
        for (size_t i = 0; i < a->n_groups; i++)
                group_free(a->groups[i]);
        free(a->groups);
        a->groups = NULL;
        a->n_groups = a->n_groups_alloc = 0;
        strmap_done(&a->group_by_path);
        /* Their requests are cancelled with their slots: no pass is in flight any more. */
        a->in_flight = a->calls = a->send_next = a->n_prepared = 0;
        if (a->have_procs)
                proc_table_done(&a->procs);
        a->have_procs = false;
        if (a->preparer)
                sd_event_source_set_enabled(a->preparer, SD_EVENT_OFF);
        a->running = a->again = false;
        a->unresolved = strv_free(a->unresolved);
}

static Group *group_find(Attacher *a, const char *path) {
        return strmap_get(&a->group_by_path, path);
}

/* The group at `path`, created on first use. */
static int group_get(Attacher *a, const char *path, Group **ret) {
        Group *g = group_find(a, path);
        int r;

        if (!g) {
                _cleanup_(group_freep) Group *created = NULL;
                Group **grown;
                char *full;

                created = calloc(1, sizeof(Group));
                if (!created)
                        return -ENOMEM;
                *created = (Group) { .attacher = a, .refusals = REFUSAL_LIST_INIT };
                created->path = strdup(path);
                if (!created->path)
                        return -ENOMEM;
                r = unit_name_from_path(a->root, path, &created->slice);
                if (r >= 0)
                        r = unit_name_group_scope(created->slice, &created->scope);
                if (r >= 0)
                        r = unit_name_slice_cgroup_path(created->slice, &created->scope_cgroup);
                if (r < 0)
                        return r;
                /* The scope's cgroup sits in its slice's. */
                if (asprintf(&full, "%s/%s", created->scope_cgroup, created->scope) < 0)
                        return -ENOMEM;
                free(created->scope_cgroup);
                created->scope_cgroup = full;
                if (a->n_groups == a->n_groups_alloc) {
                        size_t cap = MAX(a->n_groups_alloc * 2, (size_t) 16);

                        grown = realloc(a->groups, cap * sizeof(Group *));
                        if (!grown)
                                return -ENOMEM;
                        a->groups = grown;
                        a->n_groups_alloc = cap;
                }
                r = strmap_put(&a->group_by_path, created->path, created);
                if (r < 0)
                        return r;
                g = a->groups[a->n_groups++] = TAKE_PTR(created);
        }
        *ret = g;
        return 0;
}

static int group_add_pattern(Attacher *a, const char *path, const char *pattern) {
        Group *g;
        int r;

        r = group_get(a, path, &g);
        if (r < 0)
                return r;
        if (strv_contains(g->patterns, pattern))
                return 0;
        size_t n = strv_length(g->patterns);
        size_t *left_out = realloc(g->left_out, (n + 1) * sizeof(size_t));
        if (!left_out)
                return -ENOMEM;
        g->left_out = left_out;
        g->left_out[n] = 0;
        return strv_extend(&g->patterns, pattern);
}

static void watches_rebuild(Attacher *a);

int attacher_set_groups(Attacher *a, Tree *tree, char *const *local_entries) {
        int r;

        assert(a);
        /* Replies of the old groups must not land in the new ones. */
        groups_clear(a);
        for (size_t i = 0; tree && i < tree->n_nodes; i++) {
                const TreeNode *n = tree->nodes[i];

                for (size_t j = 0; n->pid_files && n->pid_files[j]; j++) {
                        r = group_add_pattern(a, n->path, n->pid_files[j]);
                        if (r < 0)
                                return r;
                }
                if (n->n_pids > 0) {
                        Group *g;

                        r = group_get(a, n->path, &g);
                        if (r < 0)
                                return r;
                        g->listed = malloc(n->n_pids * sizeof(pid_t));
                        if (!g->listed)
                                return -ENOMEM;
                        memcpy(g->listed, n->pids, n->n_pids * sizeof(pid_t));
                        g->n_listed = n->n_pids;
                }
        }
        for (size_t i = 0; local_entries && local_entries[i]; i++) {
                _cleanup_(freep) char *group = strdup(local_entries[i]);
                char *colon = group ? strchr(group, ':') : NULL;
                TreeNode *n = NULL;

                if (!colon)
                        return -ENOMEM; /* validated at config time: only allocation can fail here */
                *colon = 0;
                if (!tree || tree_resolve_group(tree, group, &n) < 0) {
                        log_warning("PidFiles=%s: no group \"%s\" in the tree (or the name is ambiguous); ignored "
                                    "until the tree has it.", local_entries[i], group);
                        r = strv_extend(&a->unresolved, local_entries[i]);
                } else
                        r = group_add_pattern(a, n->path, colon + 1);
                if (r < 0)
                        return r;
        }
        watches_rebuild(a);
        attacher_request_pass(a);
        return 0;
}

/* ---- refusals ---- */

/* What a refusal is about: a pid file (an absolute path), or a listed pid ("conf.pids:PID"). */
static const char *source_kind(const char *source) {
        return source[0] == '/' ? "pid file " : "";
}

static void refuse(Group *g, const char *file, const char *reason) {
        Attacher *a = g->attacher;

        if (refusal_list_note(&g->refusals, &a->n_refusals, file, reason, now_usec(CLOCK_REALTIME)) != REFUSAL_NEW)
                return; /* the same cause again (logged already), or over the bound (counted at the pass's end) */
        a->refusals_logged++;
        log_slice(LOG_WARNING, 0, g->slice, "Not moving anything for %s%s (group %s): it %s.", source_kind(file),
                  file, g->path, reason);
}

static void accept_file(Group *g, const char *file) {
        if (refusal_list_accept(&g->refusals, &g->attacher->n_refusals, file))
                log_slice(LOG_INFO, 0, g->slice, "%s%s (group %s) is usable again.",
                          file[0] == '/' ? "Pid file " : "", file, g->path);
}

/* ---- one pass ---- */

static bool pid_in_list(const pid_t *l, size_t n, pid_t p) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == p)
                        return true;
        return false;
}

static int pid_push(pid_t **l, size_t *n, pid_t p) {
        pid_t *nl;

        if (pid_in_list(*l, *n, p))
                return 0;
        nl = realloc(*l, (*n + 1) * sizeof(pid_t));
        if (!nl)
                return -ENOMEM;
        nl[(*n)++] = p;
        *l = nl;
        return 0;
}

/* The processes in the group's scope now: one read of its cgroup.procs in systemd's own hierarchy (where
 * it tracks units), instead of one /proc/PID/cgroup per process. Empty when the scope does not exist. */
static int scope_members(Attacher *a, const Group *g, pid_t **ret, size_t *ret_n) {
        _cleanup_(freep) char *file = NULL, *data = NULL;
        pid_t *pids = NULL;
        size_t n = 0;

        *ret = NULL;
        *ret_n = 0;
        if (!a->systemd_hierarchy)
                return 0;
        if (asprintf(&file, "%s%s/cgroup.procs", a->systemd_hierarchy, g->scope_cgroup) < 0)
                return -ENOMEM;
        if (read_file_bounded(file, 16 * 1024 * 1024, &data, NULL) < 0)
                return 0;
        for (char *line = data, *end; *line; line = end) {
                uint64_t v;

                end = line + strcspn(line, "\n");
                if (*end)
                        *end++ = 0;
                if (safe_atou64(line, &v) >= 0 && v > 0 && v <= INT32_MAX && pid_push(&pids, &n, (pid_t) v) < 0) {
                        free(pids);
                        return -ENOMEM;
                }
        }
        *ret = pids;
        *ret_n = n;
        return 0;
}

/* If `pid` (named by `source`: a pid file, or the tree's conf.pids) passes every check, adds its process and
 * descendants to `out`. */
static void consider_pid(Attacher *a, Group *g, const ProcTable *procs, const char *source, pid_t pid,
                         pid_t **out, size_t *n_out) {
        _cleanup_(freep) pid_t *tree = NULL;
        char reason[256];
        size_t n_tree = 0;
        pid_t tgid = 0;

        if (!proc_table_find(procs, pid))
                (void) proc_thread_group(a->proc_root, pid, &tgid); /* a thread id is not listed, but there */
        if (pid_select_check(procs, pid, tgid, getpid(), reason, sizeof(reason)) < 0) {
                refuse(g, source, reason);
                return;
        }
        accept_file(g, source);
        if (pid_select_subtree(procs, pid, getpid(), &tree, &n_tree) < 0)
                return;
        for (size_t i = 0; i < n_tree; i++)
                (void) pid_push(out, n_out, tree[i]);
}

/* Reads one pid file and, if it passes every check, adds its process and descendants to `out`. */
static void consider_file(Attacher *a, Group *g, const ProcTable *procs, const char *file, pid_t **out,
                          size_t *n_out) {
        PidFileOptions o = { .require_root_owner = !a->allow_non_root_files, .pid_max = a->pid_max };
        char reason[256];
        pid_t pid;
        int r;

        r = pidfile_read(file, &o, &pid, reason, sizeof(reason));
        if (r == -ENOENT) {
                refuse(g, file, "does not exist");
                return;
        }
        if (r < 0) {
                refuse(g, file, reason);
                return;
        }
        consider_pid(a, g, procs, file, pid, out, n_out);
}

static void send_queued(Attacher *a);

static void group_finish(Group *g, bool ok) {
        Attacher *a = g->attacher;

        g->op = unit_op_free(g->op);
        if (ok) {
                g->scope_known = true;
                for (size_t i = 0; i < g->n_sending; i++)
                        (void) pid_push(&g->pids, &g->n_pids, g->sending[i]);
                log_slice(LOG_INFO, 0, g->scope, "Moved %zu process(es) into %s (group %s).", g->n_sending, g->scope,
                          g->path);
                a->pass_moved += g->n_sending;
                a->moved_total += g->n_sending;
        }
        free(g->sending);
        g->sending = NULL;
        g->n_sending = 0;
        a->calls--;
        send_queued(a);
        if (--a->in_flight == 0)
                pass_end(a);
}

static int group_send(Group *g, bool attach);

/* Sends queued groups while request slots are free. */
static void send_queued(Attacher *a) {
        for (; a->send_next < a->n_prepared && a->calls < CALLS_MAX; a->send_next++) {
                Group *g = a->groups[a->send_next];

                if (!g->queued)
                        continue;
                g->queued = false;
                g->fallback = false;
                if (group_send(g, g->scope_known) < 0) {
                        log_slice(LOG_ERR, 0, g->scope, "Cannot send the request for %s.", g->scope);
                        free(g->sending);
                        g->sending = NULL;
                        g->n_sending = 0;
                        a->in_flight--;
                        continue;
                }
                a->calls++;
                a->calls_sent++;
        }
}

static void on_group_op_done(UnitOp *u _unused_, const UnitOpResult *res, void *userdata) {
        Group *g = userdata;
        bool was_attach = g->scope_known != g->fallback;

        g->op = unit_op_free(g->op);
        if (res->outcome == UNIT_OP_DONE) {
                /* AttachProcessesToUnit moves the processes before it replies; a scope takes its PIDs when
                 * its start job runs. */
                group_finish(g, true);
                return;
        }
        if (res->error_name && !g->fallback) {
                /* The scope was not what we thought: gone (attach failed) or there (start failed). */
                g->fallback = true;
                if (group_send(g, !was_attach) >= 0)
                        return;
        }
        g->scope_known = false;
        if (res->outcome == UNIT_OP_TIMED_OUT) {
                log_slice(LOG_ERR, res->error, g->scope, "Starting %s did not finish (%s); trying again on the next "
                          "pass.", g->scope, res->message);
                group_finish(g, false);
                return;
        }
        if (res->job_result) {
                log_slice(LOG_ERR, 0, g->scope, "Starting %s failed: job result \"%s\".", g->scope, res->job_result);
                group_finish(g, false);
                return;
        }
        log_slice(LOG_ERR, res->error, g->scope, "Cannot move processes into %s: %s", g->scope,
                  res->error_message ? res->error_message : res->message);
        group_finish(g, false);
}

int attacher_append_scope(sd_bus_message *m, const char *group_path, const char *slice, const pid_t *pids,
                          size_t n_pids) {
        char desc[512];
        int r;

        snprintf(desc, sizeof(desc), "slicekeeper processes of group %s", group_path);
        r = sd_bus_message_append(m, "(sv)(sv)(sv)", "Slice", "s", slice, "Delegate", "b", 1, "Description", "s",
                                  desc);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "PIDs");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "au");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'u', pids, n_pids * sizeof(pid_t));
        for (int i = 0; r >= 0 && i < 2; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

static int group_append_scope(sd_bus_message *m, void *userdata) {
        Group *g = userdata;

        return attacher_append_scope(m, g->path, g->slice, g->sending, g->n_sending);
}

static int group_send(Group *g, bool attach) {
        Attacher *a = g->attacher;
        UnitOpRequest req = {
                .kind = attach ? UNIT_OP_ATTACH : UNIT_OP_START_TRANSIENT,
                .unit = g->scope,
                .append = group_append_scope,
                .pids = g->sending,
                .n_pids = g->n_sending,
        };

        assert(!g->op);
        return unit_op_send(a->bus, a->jobs, &req, on_group_op_done, g, &g->op);
}

static int pid_cmp(const void *x, const void *y) {
        pid_t a = *(const pid_t *) x, b = *(const pid_t *) y;
        return a < b ? -1 : a > b;
}

static bool pid_in_sorted(const pid_t *l, size_t n, pid_t p) {
        return n > 0 && bsearch(&p, l, n, sizeof(pid_t), pid_cmp);
}

static void group_pass(Attacher *a, Group *g, const ProcTable *procs) {
        _cleanup_(freep) pid_t *found = NULL, *members = NULL;
        size_t n_found = 0, n_members = 0;

        refusal_list_pass_begin(&g->refusals, &a->n_refusals);
        for (size_t p = 0; g->patterns && g->patterns[p]; p++) {
                glob_t gl = { 0 };
                int r;
                size_t matched;

                /* The tree refuses pid_files for such a group, but a host-local PidFiles= can still name it. */
                if (unit_name_is_systemds_own(g->scope)) {
                        char reason[256];

                        snprintf(reason, sizeof(reason), "names a group whose scope would be %s, systemd's own "
                                 "(rename the group or set [Slices] Root=)", g->scope);
                        refuse(g, g->patterns[p], reason);
                        continue;
                }
                r = glob(g->patterns[p], GLOB_NOESCAPE, NULL, &gl); /* sorted: the same files are read every pass */
                matched = r == 0 ? gl.gl_pathc : 0;

                if (r == GLOB_NOMATCH) {
                        if (!strpbrk(g->patterns[p], "*?["))
                                refuse(g, g->patterns[p], "does not exist");
                } else if (r == 0)
                        for (size_t i = 0; i < gl.gl_pathc && i < ATTACHER_MATCHES_MAX; i++)
                                consider_file(a, g, procs, gl.gl_pathv[i], &found, &n_found);
                globfree(&gl);
                switch (pid_select_glob_cut(matched, ATTACHER_MATCHES_MAX, &g->left_out[p])) {
                case 1:
                        log_slice(LOG_WARNING, 0, g->slice, "Pid files %s (group %s) match %zu files; only %d are "
                                  "read, %zu are left out.", g->patterns[p], g->path, matched, ATTACHER_MATCHES_MAX,
                                  g->left_out[p]);
                        break;
                case -1:
                        log_slice(LOG_INFO, 0, g->slice, "Pid files %s (group %s): every match is read again.",
                                  g->patterns[p], g->path);
                        break;
                }
        }
        for (size_t i = 0; i < g->n_listed; i++) {
                char source[32];

                snprintf(source, sizeof(source), "conf.pids:%d", (int) g->listed[i]);
                consider_pid(a, g, procs, source, g->listed[i], &found, &n_found);
        }
        switch (refusal_list_pass_end(&g->refusals, &a->n_refusals)) {
        case 1:
                log_slice(LOG_WARNING, 0, g->slice, "Group %s: %zu more pid files refused than are listed; at most %d "
                          "per group and %d in all are kept and logged, the rest only counted in the status.", g->path,
                          g->refusals.last_unlisted, REFUSALS_GROUP_MAX, REFUSALS_TOTAL_MAX);
                break;
        case -1:
                log_slice(LOG_INFO, 0, g->slice, "Group %s: every refused pid file is listed again.", g->path);
                break;
        }

        /* Keep what is in the scope; send only what is not there yet. */
        free(g->pids);
        g->pids = NULL;
        g->n_pids = 0;
        if (n_found > 0 && scope_members(a, g, &members, &n_members) < 0)
                return;
        if (n_members > 1)
                qsort(members, n_members, sizeof(pid_t), pid_cmp);
        for (size_t i = 0; i < n_found; i++) {
                if (pid_in_sorted(members, n_members, found[i]))
                        (void) pid_push(&g->pids, &g->n_pids, found[i]);
                else
                        (void) pid_push(&g->sending, &g->n_sending, found[i]);
        }
        if (g->n_sending == 0)
                return;
        if (a->slice_ready && !a->slice_ready(g->slice, a->userdata)) {
                log_debug("Group %s: slice %s is not up yet; moving its processes on a later pass.", g->path, g->slice);
                free(g->sending);
                g->sending = NULL;
                g->n_sending = 0;
                return;
        }
        g->queued = true;
        a->in_flight++;
}

/* Looks at the next PREPARE_BATCH groups of the pass (their pid files against the pass's /proc snapshot) and
 * sends what is queued; one batch per loop iteration, so 10 000 groups do not hold the loop. */
static int on_prepare(sd_event_source *es, void *userdata) {
        Attacher *a = userdata;
        size_t end = MIN(a->n_prepared + PREPARE_BATCH, a->n_groups);

        for (; a->n_prepared < end; a->n_prepared++)
                group_pass(a, a->groups[a->n_prepared], &a->procs);
        send_queued(a);
        if (a->n_prepared < a->n_groups)
                return 0;
        sd_event_source_set_enabled(es, SD_EVENT_OFF);
        proc_table_done(&a->procs);
        a->have_procs = false;
        log_debug("Attach pass prepared in %" PRIu64 " us.", now_usec(CLOCK_MONOTONIC) - a->pass_started_usec);
        if (--a->in_flight == 0)
                pass_end(a);
        return 0;
}

static void pass_start(Attacher *a) {
        int r;

        if (a->running) {
                a->again = true;
                return;
        }
        if (a->n_groups == 0)
                return;
        r = proc_table_load(a->proc_root, &a->procs);
        if (r < 0) {
                log_error_errno(r, "Cannot read %s: %m", a->proc_root);
                return;
        }
        a->passes++;
        a->running = true;
        a->pass_started_usec = now_usec(CLOCK_MONOTONIC);
        a->pass_moved = 0;
        a->in_flight = 1; /* held until every group was looked at (on_prepare) */
        a->have_procs = true;
        a->n_prepared = a->send_next = 0;
        if (sd_event_source_set_enabled(a->preparer, SD_EVENT_ON) < 0)
                while (a->have_procs) /* cannot happen with a valid source: the whole pass at once */
                        (void) on_prepare(a->preparer, a);
}

/* ---- triggers ---- */

static int on_settle(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        pass_start(userdata);
        return 0;
}

void attacher_request_pass(Attacher *a) {
        uint64_t now;

        assert(a);
        sd_event_now(a->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(a->settle, now + SETTLE_USEC);
        sd_event_source_set_enabled(a->settle, SD_EVENT_ONESHOT);
}

static int on_interval(sd_event_source *s, uint64_t usec, void *userdata) {
        Attacher *a = userdata;

        pass_start(a);
        sd_event_source_set_time(s, usec + a->interval_usec);
        sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static bool name_matches(const Attacher *a, const char *dir, const char *name) {
        char full[PATH_MAX];

        snprintf(full, sizeof(full), "%s/%s", dir, name);
        for (size_t i = 0; i < a->n_groups; i++)
                for (size_t p = 0; a->groups[i]->patterns && a->groups[i]->patterns[p]; p++)
                        if (fnmatch(a->groups[i]->patterns[p], full, FNM_PATHNAME | FNM_NOESCAPE) == 0)
                                return true;
        return false;
}

/* A pid file written or replaced (or events lost): a pass after the settle time. */
static void on_inotify(InotifyWatch *w _unused_, const struct inotify_event *e, void *userdata) {
        Attacher *a = userdata;

        for (size_t i = 0; e && e->len > 0 && i < a->n_watches; i++)
                if (a->watches[i].wd == e->wd && name_matches(a, a->watches[i].dir, e->name)) {
                        attacher_request_pass(a);
                        return;
                }
        if (!e)
                attacher_request_pass(a);
}

static void watches_forget(Attacher *a) {
        for (size_t i = 0; i < a->n_watches; i++)
                free(a->watches[i].dir);
        free(a->watches);
        a->watches = NULL;
        a->n_watches = a->n_watches_alloc = 0;
}

/* Watches the directory of every pattern (up to its first wildcard), so a pid file written or replaced
 * is seen at once. Patterns with wildcards in directories are still read on every interval. Also what the
 * watch calls when it was re-created. */
static int watches_add(InotifyWatch *w, void *userdata) {
        _cleanup_(strmap_done) StrMap seen = STRMAP_OWNING; /* directories watched already */
        Attacher *a = userdata;

        watches_forget(a);
        for (size_t i = 0; i < a->n_groups; i++)
                for (size_t p = 0; a->groups[i]->patterns && a->groups[i]->patterns[p]; p++) {
                        _cleanup_(freep) char *dir = strdup(a->groups[i]->patterns[p]);
                        char *slash, *wild;
                        int wd;

                        if (!dir)
                                continue;
                        wild = strpbrk(dir, "*?[");
                        if (wild)
                                *wild = 0;
                        slash = strrchr(dir, '/');
                        if (!slash)
                                continue;
                        *(slash == dir ? slash + 1 : slash) = 0;
                        if (strmap_get(&seen, dir))
                                continue; /* pid files of many groups in one directory: one watch */
                        (void) strmap_put(&seen, dir, a); /* without it, a second watch entry at worst */
                        wd = inotify_watch_add(w, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB);
                        if (wd < 0) {
                                log_debug_errno(wd, "Cannot watch %s: %m", dir);
                                continue;
                        }
                        if (a->n_watches == a->n_watches_alloc) {
                                size_t cap = MAX(a->n_watches_alloc * 2, (size_t) 16);
                                Watch *nw = realloc(a->watches, cap * sizeof(Watch));

                                if (!nw)
                                        continue;
                                a->watches = nw;
                                a->n_watches_alloc = cap;
                        }
                        a->watches[a->n_watches++] = (Watch) { wd, TAKE_PTR(dir) };
                }
        return 0;
}

static void watches_clear(Attacher *a) {
        watches_forget(a);
        a->inotify = inotify_watch_free(a->inotify);
}

/* A fresh inotify instance, so the watches of patterns gone go with the old one. */
static void watches_rebuild(Attacher *a) {
        int r;

        watches_clear(a);
        r = inotify_watch_new(a->event, "pid files", on_inotify, watches_add, a, &a->inotify);
        if (r < 0) {
                log_warning_errno(r, "Cannot watch pid files (inotify): %m; reading them every interval only.");
                return;
        }
        (void) watches_add(a->inotify, a);
}

/* ---- lifecycle ---- */

static pid_t read_pid_max(const char *proc_root) {
        _cleanup_(freep) char *path = NULL, *data = NULL;
        uint64_t v;

        if (asprintf(&path, "%s/sys/kernel/pid_max", proc_root) < 0 || read_file_bounded(path, 64, &data, NULL) < 0)
                return 4194304;
        data[strcspn(data, "\n")] = 0;
        if (safe_atou64(data, &v) < 0 || v < 2 || v > 4194304)
                return 4194304;
        return (pid_t) v;
}

int attacher_new(sd_event *event, sd_bus *bus, const AttacherConfig *config, Attacher **ret) {
        _cleanup_(attacher_freep) Attacher *a = NULL;
        int r;

        assert(event);
        assert(bus);
        assert(config);
        assert(ret);
        a = calloc(1, sizeof(Attacher));
        if (!a)
                return -ENOMEM;
        a->event = sd_event_ref(event);
        a->bus = sd_bus_ref(bus);
        a->allow_non_root_files = config->allow_non_root_files;
        a->interval_usec = config->interval_usec;
        a->slice_ready = config->slice_ready;
        a->userdata = config->userdata;
        a->jobs = config->jobs;
        a->proc_root = strdup(config->proc_root ? config->proc_root : "/proc");
        if (!a->proc_root || (config->root && !(a->root = strdup(config->root))))
                return -ENOMEM;
        a->pid_max = read_pid_max(a->proc_root);
        {
                CgroupLayout layout;

                r = cgroup_layout_load(&layout);
                if (r >= 0) {
                        const char *h = cgroup_layout_systemd_hierarchy(&layout);

                        a->systemd_hierarchy = h ? strdup(h) : NULL;
                        if (!h)
                                r = -ENOENT;
                        cgroup_layout_done(&layout);
                }
        }
        if (r < 0)
                log_warning_errno(r, "Cannot find systemd's cgroup hierarchy: %m; every pass will ask systemd to "
                                  "move processes even when they are in place.");

        r = sd_event_add_time(event, &a->settle, CLOCK_MONOTONIC, 0, 0, on_settle, a);
        if (r >= 0)
                r = sd_event_add_defer(event, &a->preparer, on_prepare, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->preparer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &a->interval, CLOCK_MONOTONIC, a->interval_usec,
                                               USEC_PER_SEC / 10, on_interval, a);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(a->settle, SD_EVENT_OFF);
        *ret = TAKE_PTR(a);
        return 0;
}

Attacher *attacher_free(Attacher *a) {
        if (!a)
                return NULL;
        groups_clear(a);
        watches_clear(a);
        sd_event_source_disable_unref(a->preparer);
        sd_event_source_disable_unref(a->settle);
        sd_event_source_disable_unref(a->interval);
        sd_bus_unref(a->bus);
        sd_event_unref(a->event);
        free(a->root);
        free(a->proc_root);
        free(a->systemd_hierarchy);
        free(a);
        return NULL;
}

static json_t *group_status_json(const Group *g) {
        json_t *pids = json_array(), *files = json_array(), *refusals = json_array(),
               *left_out = json_object(), *listed = json_array();
        const RefusalList *l = &g->refusals;

        for (size_t j = 0; j < g->n_pids; j++)
                json_array_append_new(pids, json_integer(g->pids[j]));
        for (size_t j = 0; g->patterns && g->patterns[j]; j++) {
                json_array_append_new(files, json_string(g->patterns[j]));
                if (g->left_out[j] > 0)
                        json_object_set_new(left_out, g->patterns[j], json_integer((json_int_t) g->left_out[j]));
        }
        for (size_t j = 0; j < g->n_listed; j++)
                json_array_append_new(listed, json_integer(g->listed[j]));
        for (size_t j = 0; j < l->n; j++)
                json_array_append_new(refusals, json_pack("{s:s, s:s, s:I}", "file", l->items[j].file, "reason",
                                                          l->items[j].reason, "usec", (json_int_t) l->items[j].usec));
        return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:o}", "slice", g->slice, "scope",
                         g->scope, "pid_files", files, "listed_pids", listed, "pids", pids, "refusals", refusals,
                         "last_refusal",
                         l->last >= 0 ? json_pack("{s:s, s:s}", "file", l->items[l->last].file, "reason",
                                                  l->items[l->last].reason) : json_null(),
                         "refusals_unlisted", (json_int_t) l->last_unlisted, "left_out", left_out);
}

json_t *attacher_group_status_json(const Attacher *a, size_t index, const char **ret_path) {
        json_t *o;

        assert(a);
        assert(ret_path);
        if (index >= a->n_groups)
                return NULL;
        o = group_status_json(a->groups[index]);
        *ret_path = a->groups[index]->path;
        return o ? o : json_null(); /* out of memory: the list goes on */
}

json_t *attacher_status_json(const Attacher *a) {
        json_t *o;

        assert(a);
        o = json_pack("{s:o, s:I, s:{s:I, s:I}, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}}", "unresolved", json_array(), "passes", (json_int_t) a->passes,
                      "last_pass", "usec", (json_int_t) a->last_pass_usec, "moved", (json_int_t) a->last_pass_moved,
                      "moved_total", (json_int_t) a->moved_total, "calls", (json_int_t) a->calls_sent,
                      "calls_dropped", (json_int_t) a->calls_dropped,
                      "refusal_records", "kept", (json_int_t) a->n_refusals, "max", (json_int_t) REFUSALS_TOTAL_MAX,
                      "per_group_max", (json_int_t) REFUSALS_GROUP_MAX, "logged", (json_int_t) a->refusals_logged);
        for (size_t i = 0; o && a->unresolved && a->unresolved[i]; i++)
                json_array_append_new(json_object_get(o, "unresolved"), json_string(a->unresolved[i]));
        return o;
}
