/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-stat.h"
#include "fileio.h"
#include "log.h"
#include "migrate-plan.h"
#include "migrator.h"
#include "parse-util.h"
#include "strmap.h"
#include "unit-name.h"
#include "unit-op.h"

typedef enum Phase {
        PHASE_SCAN,
        PHASE_MOVE,
        PHASE_FINISH,
        PHASE_DONE,
} Phase;

typedef struct MoveState {
        char *slice, *scope, *scope_cgroup; /* scope_cgroup: "/a.slice/a-b.slice/a-b.scope" */
        bool done, ok;
        char *error;
} MoveState;

typedef struct DirResult {
        const char *result; /* static */
        char *reason;       /* NULL: the plan's */
        size_t moved;
} DirResult;

struct Migrator {
        sd_event *event;
        sd_bus *bus;
        JobWatch *jobs;
        MigratorMode mode;
        char *root;
        Tree *tree;
        AttacherSliceReady slice_ready;
        MigratorDone done;
        void *userdata;
        Phase phase;
        sd_event_source *step;

        CgroupLayout layout;
        MigrateDir *dirs;
        size_t n_dirs;
        size_t next_root;    /* hierarchies listed so far */
        size_t next_read;    /* directories whose cgroup.procs was read (if a tree group's) so far */
        size_t next_descend; /* directories looked into so far */
        bool truncated;      /* MIGRATE_DIRS_MAX reached: the rest was not looked at */

        MigratePlan plan;
        MoveState *moves;    /* per plan move */
        size_t next_move;
        bool fallback;       /* the request in flight is StartTransientUnit, after AttachProcessesToUnit failed */
        UnitOp *op;
        DirResult *results;  /* per plan item */
        size_t *dir_move;    /* per directory: its group's move + 1, 0 for none */
        usec_t started_usec, finished_usec; /* CLOCK_MONOTONIC */
        usec_t max_step_usec; /* the longest of its loop iterations */
        uint64_t steps;
        size_t next_item;
};

static void dirs_free(MigrateDir *dirs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(dirs[i].path);
                free(dirs[i].pids);
        }
        free(dirs);
}

/* cgroup.procs into a pid list: -EFBIG beyond MIGRATE_PIDS_MAX. */
static int read_procs(const char *dir, pid_t **ret, size_t *ret_n) {
        _cleanup_(freep) char *file = NULL, *data = NULL;
        _cleanup_(freep) pid_t *pids = NULL;
        size_t n = 0, lines = 0;
        int r;

        if (asprintf(&file, "%s/cgroup.procs", dir) < 0)
                return -ENOMEM;
        r = read_file_bounded(file, MIGRATE_PROCS_BYTES_MAX, &data, NULL);
        if (r < 0)
                return r;
        for (const char *c = data; *c; c++)
                lines += *c == '\n';
        if (lines > MIGRATE_PIDS_MAX)
                return -EFBIG;
        pids = malloc((lines + 1) * sizeof(pid_t));
        if (!pids)
                return -ENOMEM;
        for (char *line = data, *end; *line; line = end) {
                uint64_t v;

                end = line + strcspn(line, "\n");
                if (*end)
                        *end++ = 0;
                if (safe_atou64(line, &v) < 0 || v > INT32_MAX)
                        return -EBADMSG;
                if (n >= MIGRATE_PIDS_MAX)
                        return -EFBIG;
                pids[n++] = (pid_t) v;
        }
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

static char *dir_full_path(const Migrator *m, const MigrateDir *d) {
        char *p;

        if (asprintf(&p, "%s/%s", m->layout.hierarchies[d->hierarchy], d->path) < 0)
                return NULL;
        return p;
}

/* ---- scan ---- */

static int record_dir(Migrator *m, size_t hierarchy, const char *rel, const char *name, unsigned depth) {
        _cleanup_(freep) char *path = NULL;
        MigrateDir *grown, *d;
        bool top = isempty(rel);

        if (top && migrate_name_is_systemd(name))
                return 0; /* systemd's own units: not ours, not worth listing */
        if (m->n_dirs >= MIGRATE_DIRS_MAX) {
                m->truncated = true;
                return 0;
        }
        if (top ? !(path = strdup(name)) : asprintf(&path, "%s/%s", rel, name) < 0)
                return -ENOMEM;
        grown = realloc(m->dirs, (m->n_dirs + 1) * sizeof(MigrateDir));
        if (!grown)
                return -ENOMEM;
        m->dirs = grown;
        d = &m->dirs[m->n_dirs++];
        *d = (MigrateDir) { .hierarchy = hierarchy, .path = TAKE_PTR(path), .depth = depth };
        return 0;
}

/* Only a tree group's directory is read (and later looked into): anything else is left alone. */
static int read_dir(Migrator *m, MigrateDir *d) {
        _cleanup_(freep) char *full = NULL;
        const char *name = strrchr(d->path, '/');
        int r;

        if (migrate_name_is_systemd(name ? name + 1 : d->path) || !tree_find(m->tree, d->path))
                return 0;
        full = dir_full_path(m, d);
        if (!full)
                return -ENOMEM;
        r = read_procs(full, &d->pids, &d->n_pids);
        if (r == -ENOMEM)
                return r;
        d->procs_read = r >= 0;
        if (r < 0)
                log_warning_errno(r, "Cannot read %s/cgroup.procs: %m", full);
        return 1;
}

/* Lists one directory's subdirectories. A directory that vanished meanwhile has none. */
static int list_dir(Migrator *m, size_t hierarchy, const char *rel, unsigned depth) {
        _cleanup_(freep) char *full = NULL;
        DIR *dir;
        struct dirent *de;
        int r = 0;

        if (asprintf(&full, "%s%s%s", m->layout.hierarchies[hierarchy], isempty(rel) ? "" : "/", rel ? rel : "") < 0)
                return -ENOMEM;
        dir = opendir(full);
        if (!dir)
                return 0;
        while (r >= 0 && !m->truncated && (de = readdir(dir))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (de->d_type == DT_UNKNOWN) {
                        struct stat st;

                        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                                continue;
                } else if (de->d_type != DT_DIR)
                        continue;
                r = record_dir(m, hierarchy, rel, de->d_name, depth + 1);
        }
        closedir(dir);
        return r;
}

/* A step's work is bounded in reads of cgroup.procs (~0.2 ms each on v1) and listings, not in directories
 * listed: the top of a hierarchy may hold every group's directory. Returns 1 when the scan is complete. */
static int scan_step(Migrator *m) {
        for (unsigned budget = MIGRATOR_SCAN_STEP; budget > 0; budget--) {
                int r = 0;

                /* Reads first, so that every directory recorded was read before it is looked into. */
                while (m->next_read < m->n_dirs) {
                        r = read_dir(m, &m->dirs[m->next_read++]);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                break;
                }
                if (r > 0)
                        continue;
                if (m->truncated)
                        return 1;
                if (m->next_root < m->layout.n_hierarchies) {
                        r = list_dir(m, m->next_root++, NULL, 0);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* Into the tree groups' directories only, and no deeper than a tree goes. */
                while (m->next_descend < m->n_dirs &&
                       (!m->dirs[m->next_descend].procs_read || m->dirs[m->next_descend].depth >= TREE_DEPTH_MAX))
                        m->next_descend++;
                if (m->next_descend >= m->n_dirs)
                        return 1;
                {
                        MigrateDir *d = &m->dirs[m->next_descend++];
                        _cleanup_(freep) char *rel = strdup(d->path); /* m->dirs may move */

                        if (!rel)
                                return -ENOMEM;
                        r = list_dir(m, d->hierarchy, rel, d->depth);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- moves: one group at a time, as the attacher moves a group (attach, or start the scope) ---- */

static void move_next(Migrator *m);
static void on_move_done(UnitOp *op, const UnitOpResult *res, void *userdata);

static int append_scope(sd_bus_message *msg, void *userdata) {
        Migrator *m = userdata;
        const MigrateMove *mv = &m->plan.moves[m->next_move];

        return attacher_append_scope(msg, mv->group, m->moves[m->next_move].slice, mv->pids, mv->n_pids);
}

static int move_send(Migrator *m, bool start) {
        const MigrateMove *mv = &m->plan.moves[m->next_move];
        UnitOpRequest req = {
                .kind = start ? UNIT_OP_START_TRANSIENT : UNIT_OP_ATTACH,
                .unit = m->moves[m->next_move].scope,
                .append = append_scope,
                .pids = mv->pids,
                .n_pids = mv->n_pids,
        };

        assert(!m->op);
        m->fallback = start;
        return unit_op_send(m->bus, m->jobs, &req, on_move_done, m, &m->op);
}

static void move_end(Migrator *m, bool ok, const char *error) {
        MoveState *s = &m->moves[m->next_move];
        const MigrateMove *mv = &m->plan.moves[m->next_move];

        s->done = true;
        s->ok = ok;
        if (ok)
                log_slice(LOG_INFO, 0, s->scope, "migrate: moved %zu process(es) of group %s into %s.", mv->n_pids,
                          mv->group, s->scope);
        else {
                s->error = strdup(error ? error : "failed");
                log_slice(LOG_ERR, 0, s->scope, "migrate: cannot move %zu process(es) of group %s into %s: %s",
                          mv->n_pids, mv->group, s->scope, error ? error : "failed");
        }
        m->next_move++;
}

static void on_move_done(UnitOp *op _unused_, const UnitOpResult *res, void *userdata) {
        Migrator *m = userdata;

        m->op = unit_op_free(m->op);
        if (res->outcome != UNIT_OP_DONE && res->error_name && !m->fallback && move_send(m, /* start= */ true) >= 0)
                return; /* no such scope yet (or it went away): start it with the processes */
        move_end(m, res->outcome == UNIT_OP_DONE,
                 res->error_message ? res->error_message : res->message ? res->message : res->job_result);
        move_next(m);
}

static void move_next(Migrator *m) {
        while (m->next_move < m->plan.n_moves) {
                MoveState *s = &m->moves[m->next_move];
                MigrateMove *mv = &m->plan.moves[m->next_move];
                size_t k = 0;

                if (m->slice_ready && !m->slice_ready(s->slice, m->userdata)) {
                        move_end(m, false, "the group's slice is not up (yet)");
                        continue;
                }
                /* One process gone since the scan would fail the whole request. */
                for (size_t i = 0; i < mv->n_pids; i++)
                        if (kill(mv->pids[i], 0) >= 0 || errno != ESRCH)
                                mv->pids[k++] = mv->pids[i];
                mv->n_pids = k;
                if (k == 0) {
                        move_end(m, true, NULL);
                        continue;
                }
                if (move_send(m, /* start= */ false) >= 0)
                        return;
                move_end(m, false, "cannot send the request");
        }
        m->phase = PHASE_FINISH;
        (void) sd_event_source_set_enabled(m->step, SD_EVENT_ON);
}

static int moves_prepare(Migrator *m) {
        _cleanup_(strmap_done) StrMap by_group = { 0 }; /* the tree's path → its move + 1 */
        int r;

        m->moves = calloc(MAX(m->plan.n_moves, (size_t) 1), sizeof(MoveState));
        m->dir_move = calloc(MAX(m->n_dirs, (size_t) 1), sizeof(size_t));
        if (!m->moves || !m->dir_move)
                return -ENOMEM;
        for (size_t i = 0; i < m->plan.n_moves; i++) {
                r = strmap_put(&by_group, m->plan.moves[i].group, (void *) (i + 1));
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < m->n_dirs; i++) {
                const TreeNode *n = tree_find(m->tree, m->dirs[i].path);

                m->dir_move[i] = n ? (size_t) strmap_get(&by_group, n->path) : 0;
        }
        for (size_t i = 0; i < m->plan.n_moves; i++) {
                MoveState *s = &m->moves[i];
                _cleanup_(freep) char *slice_path = NULL;

                r = unit_name_from_path(m->root, m->plan.moves[i].group, &s->slice);
                if (r >= 0)
                        r = unit_name_group_scope(s->slice, &s->scope);
                if (r >= 0)
                        r = unit_name_slice_cgroup_path(s->slice, &slice_path);
                if (r < 0)
                        return r;
                if (asprintf(&s->scope_cgroup, "%s/%s", slice_path, s->scope) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static const MoveState *move_of_dir(const Migrator *m, size_t dir) {
        return m->dir_move[dir] > 0 ? &m->moves[m->dir_move[dir] - 1] : NULL;
}

/* ---- finish: what systemd did not move, then the removals, deepest first ---- */

static bool pid_listed(const pid_t *l, size_t n, pid_t p) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == p)
                        return true;
        return false;
}

static int pid_cmp(const void *x, const void *y) {
        pid_t a = *(const pid_t *) x, b = *(const pid_t *) y;

        return a < b ? -1 : a > b;
}

/* systemd moves a process in the hierarchies it manages for the unit; in any other one (a separately mounted
 * cpuacct, blkio without IOAccounting=) the process stays where it was. There it goes where systemd would
 * have put it: the scope's directory in that hierarchy, or its nearest existing ancestor (the top). */
static void move_rest(const Migrator *m, const MigrateDir *d, const MoveState *s, const pid_t *left, size_t n_left,
                      const MigrateMove *mv) {
        _cleanup_(freep) char *target = NULL;
        const char *mount = m->layout.hierarchies[d->hierarchy];
        char *slash;

        if (asprintf(&target, "%s%s", mount, s->scope_cgroup) < 0)
                return;
        while (access(target, F_OK) < 0 && (slash = strrchr(target, '/')) && (size_t) (slash - target) >= strlen(mount))
                *slash = 0;
        for (size_t i = 0; i < n_left; i++) {
                _cleanup_(freep) char *file = NULL;
                char pid[32];
                int fd;

                if (mv->n_pids == 0 || !bsearch(&left[i], mv->pids, mv->n_pids, sizeof(pid_t), pid_cmp) ||
                    asprintf(&file, "%s/cgroup.procs", target) < 0)
                        continue;
                fd = open(file, O_WRONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                snprintf(pid, sizeof(pid), "%d", (int) left[i]);
                if (write(fd, pid, strlen(pid)) < 0)
                        log_debug_errno(-errno, "migrate: cannot move pid %s into %s: %m", pid, target);
                close(fd);
        }
}

static void finish_item(Migrator *m, size_t i) {
        const MigrateItem *it = &m->plan.items[i];
        const MigrateDir *d = &m->dirs[it->dir];
        DirResult *res = &m->results[i];
        _cleanup_(freep) char *full = NULL;
        _cleanup_(freep) pid_t *left = NULL;
        const MoveState *s;
        size_t n_left = 0;
        int r;

        if (it->verdict == MIGRATE_LEAVE) {
                res->result = "left alone";
                return;
        }
        s = move_of_dir(m, it->dir);
        full = dir_full_path(m, d);
        if (!full) {
                res->result = "kept";
                res->reason = strdup("out of memory");
                return;
        }
        if (s && !s->ok) {
                res->result = "kept";
                (void) asprintf(&res->reason, "moving its processes failed: %s", s->error ? s->error : "failed");
                return;
        }
        r = read_procs(full, &left, &n_left);
        if (r >= 0 && n_left > 0 && s) {
                move_rest(m, d, s, left, n_left, &m->plan.moves[s - m->moves]);
                free(left);
                left = NULL;
                n_left = 0;
                r = read_procs(full, &left, &n_left);
        }
        for (size_t k = 0; k < d->n_pids; k++)
                if (r >= 0 && !pid_listed(left, n_left, d->pids[k]))
                        res->moved++;
        if (r < 0) {
                res->result = "kept";
                (void) asprintf(&res->reason, "cannot read its cgroup.procs after the move: %s", strerror(-r));
                return;
        }
        if (it->verdict == MIGRATE_KEEP) {
                res->result = "kept";
                return;
        }
        if (n_left > 0) {
                res->result = "kept";
                (void) asprintf(&res->reason, "not empty after the move (%zu process(es))", n_left);
                return;
        }
        if (rmdir(full) < 0) {
                res->result = "kept";
                (void) asprintf(&res->reason, "rmdir failed: %s", strerror(errno));
                return;
        }
        res->result = "removed";
        log_info("migrate: removed %s.", full);
}

/* ---- steps ---- */

static void finished(Migrator *m) {
        m->phase = PHASE_DONE;
        m->finished_usec = now_usec(CLOCK_MONOTONIC);
        log_debug("migrate: %zu directories looked at in %" PRIu64 " us, %" PRIu64 " steps, the longest %" PRIu64
                  " us.", m->n_dirs, m->finished_usec - m->started_usec, m->steps, m->max_step_usec);
        (void) sd_event_source_set_enabled(m->step, SD_EVENT_OFF);
        if (m->done)
                m->done(m, m->userdata);
}

static int on_step_phase(Migrator *m);

/* Each step is bounded; how long the longest took is in the report (nothing may hold the loop long). */
static int on_step(sd_event_source *es _unused_, void *userdata) {
        Migrator *m = userdata;
        usec_t start = now_usec(CLOCK_MONOTONIC), took;
        Phase phase = m->phase;
        size_t dirs = m->n_dirs, item = m->next_item;

        m->steps++;
        (void) on_step_phase(m);
        took = now_usec(CLOCK_MONOTONIC) - start;
        if (took > 20 * USEC_PER_MSEC)
                log_debug("migrate: a step took %" PRIu64 " us (phase %d, %zu → %zu directories, items %zu → %zu).",
                          took, (int) phase, dirs, m->n_dirs, item, m->next_item);
        m->max_step_usec = MAX(m->max_step_usec, took);
        return 0;
}

static int on_step_phase(Migrator *m) {
        int r;

        switch (m->phase) {
        case PHASE_SCAN:
                r = scan_step(m);
                if (r == 0)
                        return 0;
                if (r > 0)
                        r = migrate_plan_build(m->dirs, m->n_dirs, m->tree, getpid(), &m->plan);
                if (r >= 0) {
                        m->results = calloc(MAX(m->plan.n_items, (size_t) 1), sizeof(DirResult));
                        r = m->results ? moves_prepare(m) : -ENOMEM;
                }
                if (r < 0) {
                        log_error_errno(r, "migrate: cannot look at the cgroup hierarchies: %m");
                        finished(m);
                        return 0;
                }
                if (m->mode != MIGRATOR_RUN) {
                        finished(m);
                        return 0;
                }
                m->phase = PHASE_MOVE;
                (void) sd_event_source_set_enabled(m->step, SD_EVENT_OFF);
                move_next(m);
                return 0;
        case PHASE_FINISH:
                for (size_t k = 0; k < MIGRATOR_FINISH_STEP && m->next_item < m->plan.n_items; k++)
                        finish_item(m, m->next_item++);
                if (m->next_item >= m->plan.n_items)
                        finished(m);
                return 0;
        default:
                (void) sd_event_source_set_enabled(m->step, SD_EVENT_OFF);
                return 0;
        }
}

int migrator_new(sd_event *event, sd_bus *bus, const MigratorConfig *config, Migrator **ret) {
        _cleanup_(migrator_freep) Migrator *m = NULL;
        int r;

        assert(event);
        assert(config);
        assert(config->tree);
        assert(ret);
        assert(bus || config->mode != MIGRATOR_RUN);

        m = calloc(1, sizeof(Migrator));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->started_usec = now_usec(CLOCK_MONOTONIC);
        m->bus = bus ? sd_bus_ref(bus) : NULL;
        m->jobs = config->jobs;
        m->mode = config->mode;
        m->tree = tree_ref(config->tree);
        m->slice_ready = config->slice_ready;
        m->done = config->done;
        m->userdata = config->userdata;
        if (config->root && !(m->root = strdup(config->root)))
                return -ENOMEM;
        r = cgroup_layout_load(&m->layout);
        if (r < 0)
                return r;
        r = sd_event_add_defer(event, &m->step, on_step, m);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(m->step, SD_EVENT_ON);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Migrator *migrator_free(Migrator *m) {
        if (!m)
                return NULL;
        unit_op_free(m->op);
        sd_event_source_disable_unref(m->step);
        for (size_t i = 0; m->moves && i < m->plan.n_moves; i++) {
                free(m->moves[i].slice);
                free(m->moves[i].scope);
                free(m->moves[i].scope_cgroup);
                free(m->moves[i].error);
        }
        free(m->moves);
        for (size_t i = 0; m->results && i < m->plan.n_items; i++)
                free(m->results[i].reason);
        free(m->results);
        free(m->dir_move);
        migrate_plan_done(&m->plan);
        dirs_free(m->dirs, m->n_dirs);
        cgroup_layout_done(&m->layout);
        tree_unref(m->tree);
        free(m->root);
        sd_bus_unref(m->bus);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

bool migrator_finished(const Migrator *m) {
        return m && m->phase == PHASE_DONE;
}

/* ---- reports ---- */

static const char *dry_result(MigrateVerdict v) {
        return v == MIGRATE_REMOVE ? "would remove" : v == MIGRATE_KEEP ? "would keep" : "left alone";
}

json_t *migrator_report_json(const Migrator *m) {
        json_t *o, *dirs = json_array(), *moves = json_array(), *hier = json_array();
        size_t removed = 0, moved = 0, kept = 0, left = 0;

        assert(m);
        for (size_t i = 0; i < m->layout.n_hierarchies; i++)
                json_array_append_new(hier, json_string(m->layout.hierarchies[i]));
        for (size_t i = 0; m->phase == PHASE_DONE && i < m->plan.n_items; i++) {
                const MigrateItem *it = &m->plan.items[i];
                const MigrateDir *d = &m->dirs[it->dir];
                const DirResult *res = m->results ? &m->results[i] : NULL;
                const char *result = m->mode == MIGRATOR_RUN && res && res->result ? res->result
                                                                                   : dry_result(it->verdict);
                const char *reason = res && res->reason ? res->reason : it->reason;
                const TreeNode *n = it->verdict != MIGRATE_LEAVE ? tree_find(m->tree, d->path) : NULL;
                _cleanup_(freep) char *full = dir_full_path(m, d);

                removed += streq(result, "removed");
                left += it->verdict == MIGRATE_LEAVE;
                kept += it->verdict != MIGRATE_LEAVE && !streq(result, "removed") && !streq(result, "would remove");
                json_array_append_new(dirs, json_pack("{s:s?, s:s?, s:o, s:I, s:s?, s:s, s:s?}", "path", full,
                                                      "group", n ? n->path : NULL, "processes",
                                                      d->procs_read ? json_integer((json_int_t) d->n_pids) : json_null(),
                                                      "moved", (json_int_t) (res ? res->moved : 0), "action",
                                                      migrate_verdict_to_string(it->verdict), "result", result,
                                                      "reason", reason));
        }
        for (size_t i = 0; m->phase == PHASE_DONE && m->moves && i < m->plan.n_moves; i++) {
                const MoveState *s = &m->moves[i];
                const char *result = m->mode != MIGRATOR_RUN ? "would move" : s->ok ? "moved" : "failed";

                moved += m->mode == MIGRATOR_RUN && s->ok ? m->plan.moves[i].n_pids : 0;
                json_array_append_new(moves, json_pack("{s:s, s:s?, s:I, s:s, s:s?}", "group",
                                                       m->plan.moves[i].group, "scope", s->scope, "processes",
                                                       (json_int_t) m->plan.moves[i].n_pids, "result", result,
                                                       "error", s->error));
        }
        o = json_pack("{s:b, s:b, s:b, s:o, s:o, s:o}", "dry_run", m->mode != MIGRATOR_RUN, "finished",
                      m->phase == PHASE_DONE, "truncated", m->truncated, "hierarchies", hier, "directories", dirs,
                      "moves", moves);
        json_object_set_new(o, "removed", json_integer((json_int_t) removed));
        json_object_set_new(o, "moved", json_integer((json_int_t) moved));
        json_object_set_new(o, "kept", json_integer((json_int_t) kept));
        json_object_set_new(o, "left_alone", json_integer((json_int_t) left));
        json_object_set_new(o, "refused", json_integer((json_int_t) m->plan.n_refused));
        json_object_set_new(o, "loop", json_pack("{s:I, s:I, s:I}", "usec",
                                                 (json_int_t) (m->finished_usec - m->started_usec), "steps",
                                                 (json_int_t) m->steps, "max_step_usec",
                                                 (json_int_t) m->max_step_usec));
        return o;
}

json_t *migrator_leftover_json(const Migrator *m) {
        json_t *paths;
        size_t n = 0;

        if (!m || m->phase != PHASE_DONE)
                return NULL;
        paths = json_array();
        for (size_t i = 0; i < m->plan.n_items; i++) {
                const MigrateItem *it = &m->plan.items[i];
                _cleanup_(freep) char *full = NULL;

                if (it->verdict == MIGRATE_LEAVE)
                        continue;
                if (n++ < MIGRATOR_LEFTOVER_PATHS && (full = dir_full_path(m, &m->dirs[it->dir])))
                        json_array_append_new(paths, json_string(full));
        }
        return json_pack("{s:I, s:o, s:b}", "directories", (json_int_t) n, "paths", paths, "truncated",
                         m->truncated);
}
