/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fair.h"
#include "fileio.h"
#include "fleet-users.h"
#include "log.h"
#include "strv.h"
#include "unit-name.h"
#include "unit-op.h"
#include "user-slice.h"
#include "users.h"

/* A kernel file holding a cap or a limit is a short number or two. */
#define CAP_FILE_MAX 64u
/* v1 writes "no memory limit" as the page counter's maximum in bytes (0x7FFFFFFFFFFFF000 on 4 KiB pages). */
#define V1_MEMORY_UNLIMITED (UINT64_C(1) << 62)
/* The cap files of this many users are re-read in one batch (pread_batch_run(): one io_uring submission). */
#define FAIR_BATCH_USERS 32u

/* The kernel files a user's caps are read back from; each kept open (within the descriptor budget) and
 * re-read at offset 0 every tick. */
typedef enum CapFile {
        CAP_CPU,          /* cpu.cfs_quota_us (v1), cpu.max (v2) */
        CAP_CPU_PERIOD,   /* cpu.cfs_period_us (v1 only) */
        CAP_MEMORY_MAX,   /* memory.limit_in_bytes (v1), memory.max (v2) */
        CAP_MEMORY_HIGH,  /* memory.high (v2 only) */
        _CAP_FILE_MAX,
} CapFile;

#define FAIR_BATCH_REQUESTS (FAIR_BATCH_USERS * _CAP_FILE_MAX)

typedef struct FairUser FairUser;

/* One SetUnitProperties call: what it carries. */
typedef struct FairSend {
        bool cpu;                 /* CPUQuotaPerSecUSec= */
        uint64_t cpu_quota;       /* usec/s, UINT64_MAX infinity */
        uint64_t cpu_weight;      /* CPUWeight=, 0: not sent, UINT64_MAX: unset (systemd's default) */
        bool memory;              /* MemoryMax= (and MemoryHigh= when high_too) */
        uint64_t memory_max, memory_high;
        bool high_too;
} FairSend;

struct FairUser {
        Fair *fair;
        uint32_t uid;
        char unit[32];            /* "user-UID.slice" */
        char *cgroup;             /* "/user.slice/user-UID.slice" */
        size_t set_index;         /* where its values are in this tick's set */
        bool kept;                /* while the users are made again */
        UnitOp *op;               /* the call in flight, or NULL */
        FairSend send;            /* what it carries */
        bool lift;                /* it is a lift (fair_stop()) */
        bool touched;             /* something was sent: lifted on stop */
        bool is_user_slice;       /* user.slice itself, not a user */
        bool weight_sent;         /* Mode=weight's CPUWeight= went out for this slice (it is not read back:
                                   * sent once per user slice seen, with whatever else goes) */
        uint64_t kernel_cpu_quota; /* read back this tick, FAIRSHARE_UNSET unknown */
        int fd[_CAP_FILE_MAX];    /* kept cap files, -EBADF none */
        int req[_CAP_FILE_MAX];   /* the request of this batch that read it, -1 none */
        bool have_decision;
        FairShareDecision d;      /* the last tick's */
        /* the admin's controls: names from NSS (once when the user appears, again after SIGHUP), the
         * users.d sections that apply, the sampled values `users` shows */
        char *name;               /* NULL: not known */
        char **groups;            /* group names, NULL: none known */
        bool looked_up, resolved;
        UserOverrideResult ov;    /* pointers into Fair.overrides */
        /* the fleet's penalty and limit that apply to this user (by name), as the last events said (set
         * false: none); a local one of the same part hides the fleet's */
        UserPenalty fleet_penalty;
        UserLimit fleet_limit;
        uint64_t pids, memory_bytes; /* FAIRSHARE_UNSET: not sampled */
};

struct Fair {
        sd_event *event;
        sd_bus *bus;
        JobWatch *jobs;
        const CgroupLayout *layout;
        FairShareConfig policy_config;
        usec_t interval_usec;
        FairShare *policy;
        FairUser **users;          /* sorted by uid */
        size_t n_users;
        /* users who left holding a cap of ours: their runtime drop-in stays for their next login, so a
         * stop lifts it too */
        uint32_t *gone;
        size_t n_gone, gone_allocated;
        FairShareUserInput *inputs;
        size_t inputs_allocated;
        /* user.slice: its cap in Mode=weight (its uid is unused) */
        FairUser *user_slice;
        uint64_t user_slice_kernel_quota;
        /* the kept cap files: within what the sampler's descriptor budget leaves (fair_set_fd_budget()) */
        const FdBudget *budget;
        size_t n_open, fd_room;
        uint64_t reopened, unkept_reads;
        PreadBatch *batch;
        PreadRequest reqs[FAIR_BATCH_REQUESTS];
        char slots[FAIR_BATCH_REQUESTS][CAP_FILE_MAX];
        usec_t last_tick;
        unsigned n_active, n_throttled;
        /* counters */
        uint64_t ticks, sends, send_failures, deferred, read_errors, tick_errors;
        usec_t tick_cpu_last, tick_cpu_max, tick_cpu_total; /* CPU time of a tick: read-backs, policy, sends */
        unsigned in_flight;
        /* stopping */
        bool stopping;
        size_t lift_next;          /* the next user to lift */
        unsigned lifts_in_flight;
        uint64_t lifts_sent, lifts_failed;
        bool lifts_timed_out;
        sd_event_source *stop_timer;
        FairStopped stopped;
        void *stopped_userdata;
        FairEventFn event_fn;
        void *event_userdata;
        /* the admin's controls: users.d, the penalty box and runtime limits (users.json) */
        uint32_t min_uid;
        uint64_t ram_bytes;
        usec_t penalty_timeout_usec;
        UserPenaltyMode penalty_mode;
        char *users_dir, *state_dir;
        UserOverrides overrides;
        char *overrides_error;     /* the last load's "FILE:LINE: ...", NULL: it loaded */
        uint64_t overrides_loads, overrides_failures;
        UserState state;
        char *state_error;         /* the start's load or the last save's, NULL: none */
        uint64_t state_saves, state_save_failures, state_expired;
        sd_event_source *expiry_timer;
        sd_event_source *lookup;   /* NSS lookups of new users, at idle priority */
        uint64_t nss_lookups, nss_unknown;
        /* the fleet's penalties and limits by user name (ZooKeeper <Prefix>/users/<name>), never in users.json */
        FleetUsers fleet;
        char *fleet_node_prefix;   /* "<Prefix>/users": the nodes' path in messages */
        uint64_t fleet_rejected, fleet_expired;
        char *fleet_error;         /* the last refusal, until that node is good again or gone */
        char *fleet_error_name;    /* whose node it was */
};

static FairUser *find_user(Fair *f, uint32_t uid);

void fair_set_event_fn(Fair *f, FairEventFn fn, void *userdata) {
        f->event_fn = fn;
        f->event_userdata = userdata;
}

/* The policy's throttle events of this tick, to whoever listens. */
static void fair_emit_throttle_events(Fair *f, const FairShareResult *res, usec_t wall) {
        if (!f->event_fn)
                return;
        for (size_t i = 0; i < res->n_events; i++) {
                const FairShareEvent *e = &res->events[i];
                const FairUser *u;
                char slice[32];

                if (e->type != FAIRSHARE_EVENT_THROTTLE_START && e->type != FAIRSHARE_EVENT_THROTTLE_END)
                        continue;
                snprintf(slice, sizeof(slice), "user-%" PRIu32 ".slice", e->uid);
                u = find_user(f, e->uid);
                f->event_fn(f, &(FairEvent) {
                        .kind = e->type == FAIRSHARE_EVENT_THROTTLE_START ? FAIR_EVENT_THROTTLE_START :
                                                                            FAIR_EVENT_THROTTLE_END,
                        .uid = e->uid,
                        .username = u ? u->name : NULL,
                        .slice = slice,
                        .wall = wall,
                        .cores = f->policy_config.cores,
                        .throttle = e,
                }, f->event_userdata);
        }
}

static FairShareMode policy_mode(ConfigFairShareMode m) {
        switch (m) {
        case CONFIG_FAIR_SHARE_HARD_CAP:
                return FAIRSHARE_HARD_CAP;
        case CONFIG_FAIR_SHARE_WEIGHT:
                return FAIRSHARE_WEIGHT_MODE;
        default:
                return FAIRSHARE_EVEN_ACTIVE;
        }
}

static uint64_t memory_amount_bytes(const MemoryAmount *a, uint64_t ram_bytes, uint64_t none) {
        if (a->bytes > 0)
                return a->bytes;
        if (a->percent_of_ram > 0 && ram_bytes > 0)
                return ram_bytes <= UINT64_MAX / 100 ? ram_bytes * a->percent_of_ram / 100 :
                                                       ram_bytes / 100 * a->percent_of_ram;
        return none;
}

void fair_policy_config(const ConfigFairShare *c, double cores, uint64_t ram_bytes, bool memory_v2,
                        FairShareConfig *ret) {
        fairshare_config_init(ret, cores, ram_bytes);
        ret->mode = policy_mode(c->mode);
        ret->cpu_pct_max = c->cpu_pct_max;
        ret->activity_threshold = c->activity_threshold;
        ret->activity_window_usec = c->activity_window_usec;
        ret->min_change_pct = c->min_change_pct / 100.0;
        ret->upper_throttle = c->upper_throttle;
        ret->lower_throttle = c->lower_throttle;
        ret->hard_cap_cores = c->hard_cap_cores > 0 ? c->hard_cap_cores : cores;
        ret->memory_limit_bytes = memory_amount_bytes(&c->memory_limit, ram_bytes, FAIRSHARE_INFINITY);
        ret->memory_high_pct = memory_v2 ? c->memory_high_pct / 100.0 : 0.0;
        ret->penalty_cpu_pct = c->penalty_cpu_pct;
        ret->penalty_memory_bytes = memory_amount_bytes(&c->penalty_memory, ram_bytes, FAIRSHARE_INFINITY);
}

static int fair_user_new(Fair *f, uint32_t uid, const char *unit, FairUser **ret);

static void cap_file_close(FairUser *u, CapFile c) {
        if (u->fd[c] < 0)
                return;
        close(u->fd[c]);
        u->fd[c] = -EBADF;
        u->fair->n_open--;
}

static FairUser *fair_user_free(FairUser *u) {
        if (!u)
                return NULL;
        for (CapFile c = 0; c < _CAP_FILE_MAX; c++)
                cap_file_close(u, c);
        if (u->op) {
                unit_op_free(u->op); /* cancelled: no callback */
                if (u->lift)
                        u->fair->lifts_in_flight--;
                else
                        u->fair->in_flight--;
        }
        free(u->cgroup);
        free(u->name);
        strv_free(u->groups);
        free(u);
        return NULL;
}

Fair *fair_free(Fair *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_users; i++)
                fair_user_free(f->users[i]);
        free(f->users);
        fair_user_free(f->user_slice);
        free(f->gone);
        free(f->inputs);
        pread_batch_free(f->batch);
        fairshare_free(f->policy);
        sd_event_source_disable_unref(f->stop_timer);
        sd_event_source_disable_unref(f->expiry_timer);
        sd_event_source_disable_unref(f->lookup);
        user_overrides_done(&f->overrides);
        user_state_done(&f->state);
        fleet_users_done(&f->fleet);
        free(f->fleet_node_prefix);
        free(f->fleet_error);
        free(f->fleet_error_name);
        free(f->overrides_error);
        free(f->state_error);
        free(f->users_dir);
        free(f->state_dir);
        sd_event_unref(f->event);
        sd_bus_unref(f->bus);
        free(f);
        return NULL;
}

static int fair_admin_setup(Fair *f, const ConfigFairShare *config, uint64_t ram_bytes);

int fair_new(sd_event *event, sd_bus *bus, JobWatch *jobs, const ConfigFairShare *config,
             const CgroupLayout *layout, Fair **ret) {
        _cleanup_(fair_freep) Fair *f = NULL;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        int r;

        f = calloc(1, sizeof(Fair));
        if (!f)
                return -ENOMEM;
        f->fleet = FLEET_USERS_INIT;
        f->event = sd_event_ref(event);
        f->bus = sd_bus_ref(bus);
        f->jobs = jobs;
        f->layout = layout;
        f->interval_usec = config->interval_usec;
        fair_policy_config(config, cpus > 0 ? (double) cpus : 1.0,
                           pages > 0 && page > 0 ? (uint64_t) pages * (uint64_t) page : 0,
                           !layout->v1[CG_MEMORY] && layout->unified, &f->policy_config);
        /* event ids unique across restarts: the wall clock's microseconds at start */
        r = fairshare_new(&f->policy_config, now_usec(CLOCK_REALTIME), &f->policy);
        if (r < 0)
                return r;
        r = pread_batch_new(FAIR_BATCH_REQUESTS, &f->batch);
        if (r < 0)
                return r;
        r = fair_user_new(f, 0, "user.slice", &f->user_slice);
        if (r < 0)
                return r;
        f->user_slice->is_user_slice = true;
        f->user_slice_kernel_quota = FAIRSHARE_UNSET;
        r = fair_admin_setup(f, config, pages > 0 && page > 0 ? (uint64_t) pages * (uint64_t) page : 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

/* ---- reading the caps back ---- */

void fair_set_fd_budget(Fair *f, const FdBudget *budget) {
        f->budget = budget;
}

/* Descriptors the cap files may keep: what the sampler's budget leaves when it keeps every file of every
 * slice; none when it is short itself (then each file is opened, read and closed). */
static size_t fair_fd_room(const Fair *f) {
        const FdBudget *b = f->budget;

        if (!b)
                return 0;
        return (size_t) MIN(fd_budget_spare(b, fd_budget_slice_cost(f->layout, fd_budget_level_files(b->level))),
                            (uint64_t) SIZE_MAX);
}

/* Where the file is (its mount, and its name in ret_name); NULL where the layout has no such file. */
static const char *cap_file_where(const CgroupLayout *l, CapFile c, const char **ret_name) {
        switch (c) {
        case CAP_CPU:
                *ret_name = l->v1[CG_CPU] ? "cpu.cfs_quota_us" : "cpu.max";
                return l->v1[CG_CPU] ?: l->unified;
        case CAP_CPU_PERIOD:
                *ret_name = "cpu.cfs_period_us";
                return l->v1[CG_CPU];
        case CAP_MEMORY_MAX:
                *ret_name = l->v1[CG_MEMORY] ? "memory.limit_in_bytes" : "memory.max";
                return l->v1[CG_MEMORY] ?: l->unified;
        case CAP_MEMORY_HIGH:
                *ret_name = "memory.high";
                return l->v1[CG_MEMORY] ? NULL : l->unified;
        default:
                return NULL;
        }
}

/* Ends the read: NUL-terminated in buf, or -EFBIG when it may have been cut. */
static int cap_read_end(ssize_t n, char *buf, size_t *ret_size) {
        if (n < 0)
                return (int) n;
        if ((size_t) n >= CAP_FILE_MAX - 1)
                return -EFBIG;
        buf[n] = 0;
        *ret_size = (size_t) n;
        return 0;
}

/* The file's bytes (NUL-terminated, in buf or in the batch's slot: *ret_data), or -errno. Read ahead in the
 * batch, else from its kept descriptor (pread at offset 0), else opened and read, and kept while there is
 * room in the budget. A kept descriptor that fails (ENODEV: the directory was removed, the slice may be back
 * in a new one) is closed and the file opened again at once. */
static int cap_file_read(Fair *f, FairUser *u, CapFile c, char buf[static CAP_FILE_MAX], const char **ret_data,
                         size_t *ret_size) {
        const char *name, *mount = cap_file_where(f->layout, c, &name);
        char path[PATH_MAX];
        ssize_t n;
        int fd;

        if (!mount)
                return -ENOENT;
        if (u->req[c] >= 0) {
                PreadRequest *q = &f->reqs[u->req[c]];

                u->req[c] = -1;
                if (q->fd == u->fd[c] && q->result >= 0) {
                        *ret_data = q->buf;
                        return cap_read_end(q->result, q->buf, ret_size);
                }
        } else if (u->fd[c] >= 0) {
                n = pread(u->fd[c], buf, CAP_FILE_MAX - 1, 0);
                if (n >= 0) {
                        *ret_data = buf;
                        return cap_read_end(n, buf, ret_size);
                }
        }
        if (u->fd[c] >= 0) {
                cap_file_close(u, c);
                f->reopened++;
        }
        if (snprintf(path, sizeof(path), "%s%s/%s", mount, u->cgroup, name) >= (int) sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = pread(fd, buf, CAP_FILE_MAX - 1, 0);
        if (n < 0)
                n = -errno;
        if (n >= 0 && f->n_open < f->fd_room) {
                u->fd[c] = fd;
                f->n_open++;
        } else {
                close(fd);
                f->unkept_reads++;
        }
        *ret_data = buf;
        return cap_read_end(n, buf, ret_size);
}

/* Closes kept files beyond the room the budget leaves now (it may have shrunk: more slices, a lower limit),
 * the last users' first. */
static void cap_files_trim(Fair *f) {
        f->fd_room = fair_fd_room(f);
        for (size_t i = f->n_users; i > 0 && f->n_open > f->fd_room; i--)
                for (CapFile c = 0; c < _CAP_FILE_MAX; c++)
                        cap_file_close(f->users[i - 1], c);
        for (CapFile c = 0; f->n_open > f->fd_room && c < _CAP_FILE_MAX; c++)
                cap_file_close(f->user_slice, c);
}

/* Re-reads the kept cap files of users [from, to) in one batch; cap_file_read() then takes the results. */
static void cap_files_read_ahead(Fair *f, size_t from, size_t to) {
        size_t n = 0;

        for (size_t i = from; i < to; i++) {
                FairUser *u = f->users[i];

                for (CapFile c = 0; c < _CAP_FILE_MAX; c++) {
                        u->req[c] = -1;
                        if (u->fd[c] < 0 || n >= FAIR_BATCH_REQUESTS)
                                continue;
                        f->reqs[n] = (PreadRequest) { .fd = u->fd[c], .buf = f->slots[n], .size = CAP_FILE_MAX - 1 };
                        u->req[c] = (int) n++;
                }
        }
        if (n > 0)
                (void) pread_batch_run(f->batch, f->reqs, n);
}

/* CPUQuotaPerSecUSec as the kernel holds it: FAIRSHARE_INFINITY none, FAIRSHARE_UNSET not known. */
static uint64_t read_cpu_quota(Fair *f, FairUser *u) {
        char buf[CAP_FILE_MAX];
        const char *data;
        uint64_t quota, period;
        size_t n;
        int r;

        if (f->layout->v1[CG_CPU]) {
                r = cap_file_read(f, u, CAP_CPU, buf, &data, &n);
                if (r >= 0)
                        r = cg_parse_cfs_quota(data, n, &quota);
                if (r >= 0 && quota == UINT64_MAX) {
                        u->req[CAP_CPU_PERIOD] = -1;
                        return FAIRSHARE_INFINITY;
                }
                if (r >= 0)
                        r = cap_file_read(f, u, CAP_CPU_PERIOD, buf, &data, &n);
                if (r >= 0)
                        r = cg_parse_u64(data, n, &period);
        } else if (f->layout->unified) {
                r = cap_file_read(f, u, CAP_CPU, buf, &data, &n);
                if (r >= 0)
                        r = cg_parse_cpu_max(data, n, &quota, &period);
        } else
                return FAIRSHARE_UNSET;
        if (r == -ENOENT)
                return FAIRSHARE_INFINITY; /* v1: systemd made no directory there, no cap asked for */
        if (r < 0) {
                f->read_errors++;
                return FAIRSHARE_UNSET;
        }
        quota = cg_quota_per_sec(quota, period);
        return quota == UINT64_MAX ? FAIRSHARE_INFINITY : quota;
}

/* MemoryMax (v1: memory.limit_in_bytes) or MemoryHigh (v2 only) as the kernel holds it. */
static uint64_t read_memory(Fair *f, FairUser *u, bool high) {
        char buf[CAP_FILE_MAX];
        const char *data;
        uint64_t v;
        size_t n;
        int r;

        if (!f->layout->v1[CG_MEMORY] && !f->layout->unified)
                return FAIRSHARE_UNSET;
        if (high && f->layout->v1[CG_MEMORY])
                return FAIRSHARE_UNSET;
        r = cap_file_read(f, u, high ? CAP_MEMORY_HIGH : CAP_MEMORY_MAX, buf, &data, &n);
        if (r >= 0)
                r = cg_parse_u64(data, n, &v);
        if (r == -ENOENT)
                return FAIRSHARE_INFINITY;
        if (r < 0) {
                f->read_errors++;
                return FAIRSHARE_UNSET;
        }
        if (v == UINT64_MAX || (f->layout->v1[CG_MEMORY] && v >= V1_MEMORY_UNLIMITED))
                return FAIRSHARE_INFINITY;
        return v;
}

/* ---- sending ---- */

static uint64_t bus_value(uint64_t v) {
        return v >= FAIRSHARE_UNSET ? UINT64_MAX : v; /* "infinity" on the bus */
}

static int append_send(sd_bus_message *m, void *userdata) {
        const FairSend *s = &((FairUser *) userdata)->send;
        int r = 0;

        if (s->cpu)
                r = sd_bus_message_append(m, "(sv)", "CPUQuotaPerSecUSec", "t", bus_value(s->cpu_quota));
        if (r >= 0 && s->cpu_weight > 0)
                r = sd_bus_message_append(m, "(sv)", "CPUWeight", "t", s->cpu_weight);
        if (r >= 0 && s->memory)
                r = sd_bus_message_append(m, "(sv)", "MemoryMax", "t", bus_value(s->memory_max));
        if (r >= 0 && s->memory && s->high_too)
                r = sd_bus_message_append(m, "(sv)", "MemoryHigh", "t", bus_value(s->memory_high));
        return r;
}

static void fair_lift_more(Fair *f);
static void fair_stop_done(Fair *f);

static void on_send_done(UnitOp *op, const UnitOpResult *result, void *userdata) {
        FairUser *u = userdata;
        Fair *f = u->fair;

        unit_op_free(op);
        u->op = NULL;
        if (u->lift) {
                f->lifts_in_flight--;
                if (result->outcome != UNIT_OP_DONE) {
                        f->lifts_failed++;
                        log_warning("Could not lift the caps of %s: %s", u->unit, result->message);
                }
                fair_lift_more(f);
                return;
        }
        f->in_flight--;
        if (result->outcome == UNIT_OP_DONE)
                return;
        f->send_failures++;
        log_debug("SetUnitProperties on %s failed: %s", u->unit, result->message);
        /* user.slice's cap: sent again when the read-back shows the kernel does not hold it */
        if (!u->is_user_slice)
                fairshare_send_failed(f->policy, u->uid);
        if (u->send.cpu_weight > 0)
                u->weight_sent = false;
}

static int fair_user_send(FairUser *u) {
        UnitOpRequest req = { .kind = UNIT_OP_SET_PROPERTIES, .unit = u->unit, .append = append_send };
        int r;

        r = unit_op_send(u->fair->bus, u->fair->jobs, &req, on_send_done, u, &u->op);
        if (r < 0)
                return r;
        u->fair->sends++;
        u->touched = true;
        return 0;
}

static void fair_send_decision(Fair *f, FairUser *u, const FairShareDecision *d) {
        if (u->op || f->in_flight >= FAIR_IN_FLIGHT_MAX) {
                f->deferred++;
                fairshare_send_failed(f->policy, u->uid);
                return;
        }
        u->lift = false;
        u->send = (FairSend) {
                .cpu = d->send_cpu,
                .cpu_quota = d->cpu_quota,
                .cpu_weight = d->send_cpu || !u->weight_sent ? d->cpu_weight : 0,
                .memory = d->send_memory,
                .memory_max = d->memory_max,
                .memory_high = d->memory_high,
                .high_too = f->policy_config.memory_high_pct > 0,
        };
        if (fair_user_send(u) < 0) {
                f->send_failures++;
                fairshare_send_failed(f->policy, u->uid);
                return;
        }
        f->in_flight++;
        u->weight_sent = u->weight_sent || u->send.cpu_weight > 0;
        if (log_get_max_level() >= LOG_DEBUG) {
                char reason[256];

                (void) fairshare_reason_format(d, &f->policy_config, reason, sizeof(reason));
                log_debug("SetUnitProperties %s:%s%s (use %" PRIu64 " usec/s, kernel cap %" PRIu64 "): %s", u->unit,
                          d->send_cpu ? " CPUQuotaPerSecUSec" : "", d->send_memory ? " MemoryMax" : "", d->rate,
                          u->kernel_cpu_quota, reason);
        }
}

/* Mode=weight's cap on user.slice (infinity: lifted). Not sent while the last one is in flight: the
 * read-back shows next tick whether the kernel holds it, and it is sent again if not. */
static void fair_send_user_slice(Fair *f, uint64_t quota) {
        FairUser *u = f->user_slice;

        if (u->op || f->in_flight >= FAIR_IN_FLIGHT_MAX) {
                f->deferred++;
                return;
        }
        u->lift = false;
        u->send = (FairSend) { .cpu = true, .cpu_quota = quota };
        if (fair_user_send(u) < 0) {
                f->send_failures++;
                return;
        }
        f->in_flight++;
        log_debug("SetUnitProperties %s: CPUQuotaPerSecUSec %" PRIu64 " (kernel cap %" PRIu64 ")", u->unit, quota,
                  f->user_slice_kernel_quota);
}

/* ---- the users of the tick ---- */

static int cmp_user(const void *a, const void *b) {
        const FairUser *x = *(FairUser *const *) a, *y = *(FairUser *const *) b;
        return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static FairUser *find_user(Fair *f, uint32_t uid) {
        FairUser key = { .uid = uid }, *k = &key, **found;

        if (f->n_users == 0)
                return NULL; /* bsearch() wants a base even for none */
        found = bsearch(&k, f->users, f->n_users, sizeof(FairUser *), cmp_user);
        return found ? *found : NULL;
}

static int fair_user_new(Fair *f, uint32_t uid, const char *unit, FairUser **ret) {
        FairUser *u;
        int r;

        if (strlen(unit) >= sizeof(u->unit))
                return -EINVAL;
        u = calloc(1, sizeof(FairUser));
        if (!u)
                return -ENOMEM;
        u->fair = f;
        u->uid = uid;
        u->kernel_cpu_quota = FAIRSHARE_UNSET;
        u->pids = u->memory_bytes = FAIRSHARE_UNSET;
        for (CapFile c = 0; c < _CAP_FILE_MAX; c++) {
                u->fd[c] = -EBADF;
                u->req[c] = -1;
        }
        strcpy(u->unit, unit);
        r = unit_name_slice_cgroup_path(u->unit, &u->cgroup);
        if (r < 0) {
                free(u);
                return r;
        }
        *ret = u;
        return 0;
}

static void gone_remove(Fair *f, uint32_t uid) {
        for (size_t i = 0; i < f->n_gone; i++)
                if (f->gone[i] == uid) {
                        f->gone[i] = f->gone[--f->n_gone];
                        return;
                }
}

/* Kept only while there is memory: a user not kept keeps their drop-in until the next login's tick. */
static void gone_add(Fair *f, uint32_t uid) {
        if (f->n_gone >= f->gone_allocated) {
                size_t n = MAX(f->gone_allocated * 2, (size_t) 16);
                uint32_t *a = n <= FAIRSHARE_USERS_MAX ? reallocarray(f->gone, n, sizeof(uint32_t)) : NULL;

                if (!a)
                        return;
                f->gone = a;
                f->gone_allocated = n;
        }
        f->gone[f->n_gone++] = uid;
}

/* The users of the set (its user slices), sorted by uid, each with its index in the set: those known kept
 * (with their call in flight), the new ones made, those gone freed. */
static int fair_update_users(Fair *f, const SliceSet *set) {
        size_t n = set->n - set->n_groups, k = 0;
        _cleanup_(freep) FairUser **users = NULL;
        int r = 0;

        users = calloc(MAX(n, (size_t) 1), sizeof(FairUser *));
        if (!users)
                return -ENOMEM;
        for (size_t i = set->n_groups; i < set->n && r >= 0; i++) {
                uint32_t uid;
                FairUser *u;

                if (!set->units || !set->units[i] || user_slice_parse(set->units[i], &uid) < 0)
                        continue;
                u = find_user(f, uid);
                if (!u) {
                        r = fair_user_new(f, uid, set->units[i], &u);
                        if (r >= 0 && f->n_gone > 0) {
                                /* back (a new login): the drop-in we left is still there */
                                size_t before = f->n_gone;

                                gone_remove(f, uid);
                                u->touched = f->n_gone < before;
                        }
                }
                if (r >= 0 && !u->kept) {
                        u->kept = true;
                        u->set_index = i;
                        users[k++] = u;
                }
        }
        if (r < 0) {
                for (size_t j = 0; j < k; j++)
                        if (!find_user(f, users[j]->uid))
                                fair_user_free(users[j]);
                for (size_t j = 0; j < f->n_users; j++)
                        f->users[j]->kept = false;
                return r;
        }
        for (size_t i = 0; i < f->n_users; i++)
                if (!f->users[i]->kept) {
                        if (f->users[i]->touched)
                                gone_add(f, f->users[i]->uid);
                        fair_user_free(f->users[i]);
                }
        for (size_t i = 0; i < k; i++)
                users[i]->kept = false;
        qsort(users, k, sizeof(FairUser *), cmp_user);
        free(f->users);
        f->users = TAKE_PTR(users);
        f->n_users = k;
        return 0;
}

/* ---- the admin's controls: users.d, the penalty box and runtime limits (users.json), names ---- */

/* NSS lookups a loop iteration at most (or this long), at idle priority: a user not looked up yet gets
 * users.d's [UID] sections only. */
#define FAIR_NSS_BATCH 16u
#define FAIR_NSS_BATCH_USEC (10 * USEC_PER_MSEC)

static uint64_t cores_usec(double cores) {
        return (uint64_t) (cores * (double) FAIRSHARE_CORE + 0.5);
}

static void fair_user_resolve(Fair *f, FairUser *u) {
        user_overrides_resolve(&f->overrides, u->uid, u->name, u->groups, &u->ov);
        u->resolved = true;
}

/* The user's name and groups from NSS. Blocks as long as NSS takes: once per user and SIGHUP. */
static void fair_user_lookup(Fair *f, FairUser *u) {
        _cleanup_(freep) char *name = NULL;
        char **groups = NULL;
        uint32_t gid = 0;
        int r;

        u->looked_up = true;
        f->nss_lookups++;
        r = user_lookup(u->uid, &name, &gid);
        if (r >= 0 && name)
                r = user_lookup_groups(name, gid, &groups);
        if (r < 0)
                log_debug_errno(r, "Fair share: cannot look up UID %" PRIu32 " and its groups: %m", u->uid);
        f->nss_unknown += !name;
        if (r < 0 && !name)
                return; /* keeps what it had (a SIGHUP's lookup that failed) */
        free(u->name);
        u->name = TAKE_PTR(name);
        strv_free(u->groups);
        u->groups = groups;
        fair_user_resolve(f, u);
}

static void fair_emit_admin(Fair *f, uint32_t uid, const char *name, FairEventKind kind, const char *action,
                            const UserPenalty *penalty, const UserLimit *limit, bool fleet, usec_t wall) {
        const FairUser *u = find_user(f, uid);
        char slice[32];

        if (!f->event_fn)
                return;
        snprintf(slice, sizeof(slice), "user-%" PRIu32 ".slice", uid);
        f->event_fn(f, &(FairEvent) {
                .kind = kind,
                .uid = uid,
                .username = u && u->name ? u->name : name,
                .slice = slice,
                .wall = wall,
                .cores = f->policy_config.cores,
                .action = action,
                .penalty = penalty,
                .limit = limit,
                .fleet = fleet,
        }, f->event_userdata);
}

static int on_expiry_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* The timer at the next end of a penalty or limit, local or the fleet's (CLOCK_REALTIME: users.json's times
 * are wall times, as the fleet's). */
static void fair_state_arm(Fair *f) {
        usec_t next = MIN(user_state_next_expiry(&f->state), fleet_users_next_expiry(&f->fleet));
        int r;

        if (next == USEC_INFINITY) {
                if (f->expiry_timer)
                        (void) sd_event_source_set_enabled(f->expiry_timer, SD_EVENT_OFF);
                return;
        }
        if (!f->expiry_timer)
                r = sd_event_add_time(f->event, &f->expiry_timer, CLOCK_REALTIME, next, USEC_PER_SEC / 10,
                                      on_expiry_timer, f);
        else {
                r = sd_event_source_set_time(f->expiry_timer, next);
                if (r >= 0)
                        r = sd_event_source_set_enabled(f->expiry_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_warning_errno(r, "Fair share: cannot arm the timer of penalty and limit ends (the ticks end "
                                     "them): %m");
}

/* users.json written again after a change; -errno (logged) when it could not be. */
static int fair_state_save(Fair *f) {
        int r;

        r = user_state_save(f->state_dir, &f->state);
        if (r < 0) {
                f->state_save_failures++;
                free(f->state_error);
                if (asprintf(&f->state_error, "cannot write %s/" USER_STATE_FILE_NAME ": %s", f->state_dir,
                             strerror(-r)) < 0)
                        f->state_error = NULL;
                return log_error_errno(r, "Fair share: cannot write %s/" USER_STATE_FILE_NAME ": %m",
                                       f->state_dir);
        }
        f->state_saves++;
        return 0;
}

/* Penalties and limits that ended at or before wall: an event each, then gone from users.json. */
static void fair_state_expire(Fair *f, usec_t wall) {
        usec_t next = user_state_next_expiry(&f->state);
        size_t n;

        if (next == USEC_INFINITY || next > wall)
                return;
        for (size_t i = 0; i < f->state.n; i++) {
                const UserStateEntry *e = &f->state.entries[i];

                if (e->penalty.set && e->penalty.until_usec <= wall) {
                        log_info("Fair share: the penalty of UID %" PRIu32 " ended.", e->uid);
                        fair_emit_admin(f, e->uid, NULL, FAIR_EVENT_PENALTY, "expired", &e->penalty, NULL,
                                        /* fleet= */ false, wall);
                }
                if (e->limit.set && e->limit.until_usec <= wall) {
                        log_info("Fair share: the limit of UID %" PRIu32 " ended.", e->uid);
                        fair_emit_admin(f, e->uid, NULL, FAIR_EVENT_LIMIT, "expired", NULL, &e->limit,
                                        /* fleet= */ false, wall);
                }
        }
        n = user_state_expire(&f->state, wall);
        f->state_expired += n;
        (void) fair_state_save(f);
        fair_state_arm(f);
}

static void fair_fleet_update(Fair *f, usec_t wall);

static int on_expiry_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        Fair *f = userdata;
        usec_t wall = now_usec(CLOCK_REALTIME);

        fair_state_expire(f, wall);
        /* a local part that ended may uncover the fleet's; a fleet part that ended goes */
        fair_fleet_update(f, wall);
        fair_state_arm(f);
        return 0;
}

static int fair_admin_setup(Fair *f, const ConfigFairShare *config, uint64_t ram_bytes) {
        char error[512] = "";
        size_t n_expired = 0;
        int r;

        f->min_uid = config->min_uid;
        f->ram_bytes = ram_bytes;
        f->penalty_timeout_usec = config->penalty_timeout_usec;
        f->penalty_mode = config->penalty_mode;
        f->users_dir = strdup(config->users_dir ? config->users_dir : "");
        f->state_dir = strdup(config->state_dir ? config->state_dir : "");
        if (!f->users_dir || !f->state_dir)
                return -ENOMEM;
        if (!isempty(f->users_dir))
                (void) fair_reload(f);
        if (isempty(f->state_dir))
                return 0;
        r = mkdir_p(f->state_dir, 0755);
        if (r < 0)
                log_warning_errno(r, "Fair share: cannot create StateDir=%s (penalties and limits will not be "
                                     "kept): %m", f->state_dir);
        r = user_state_load(f->state_dir, now_usec(CLOCK_REALTIME), &f->state, &n_expired, error, sizeof(error));
        if (r < 0) {
                log_error("Fair share: %s", error);
                f->state_error = strdup(error);
        } else if (f->state.n > 0)
                log_info("Fair share: %zu users with a penalty or limit from %s/" USER_STATE_FILE_NAME
                         " (%zu ended while the daemon was away).", f->state.n, f->state_dir, n_expired);
        if (n_expired > 0)
                (void) fair_state_save(f);
        fair_state_arm(f);
        return 0;
}

static void fair_lookup_start(Fair *f);

int fair_reload(Fair *f) {
        UserOverrides o = {};
        char error[512] = "";
        int r;

        f->overrides_loads++;
        r = user_overrides_load_dir(f->users_dir, &o, error, sizeof(error));
        if (r < 0) {
                f->overrides_failures++;
                free(f->overrides_error);
                f->overrides_error = strdup(error);
                log_error("Fair share: users.d: %s; keeping the %zu sections loaded before.", error,
                          f->overrides.n);
        } else {
                user_overrides_done(&f->overrides);
                f->overrides = o;
                free(f->overrides_error);
                f->overrides_error = NULL;
                log_info("Fair share: %zu users.d sections from %s.", f->overrides.n, f->users_dir);
        }
        /* names and groups again (a changed group membership), in batches; what applies now at once */
        for (size_t i = 0; i < f->n_users; i++) {
                f->users[i]->looked_up = false;
                fair_user_resolve(f, f->users[i]);
        }
        if (f->n_users > 0)
                fair_lookup_start(f);
        return r;
}

/* Names and groups of users not looked up yet, a batch per loop iteration at idle priority: never inside a
 * tick. Each lookup blocks the loop as long as NSS takes. */
static int on_lookup(sd_event_source *es, void *userdata) {
        Fair *f = userdata;
        usec_t start = now_usec(CLOCK_MONOTONIC);
        unsigned done = 0;
        bool more = false;

        for (size_t i = 0; i < f->n_users; i++) {
                FairUser *u = f->users[i];

                if (u->looked_up)
                        continue;
                if (done >= FAIR_NSS_BATCH || now_usec(CLOCK_MONOTONIC) - start >= FAIR_NSS_BATCH_USEC) {
                        more = true;
                        break;
                }
                fair_user_lookup(f, u);
                done++;
        }
        if (!more)
                (void) sd_event_source_set_enabled(es, SD_EVENT_OFF);
        return 0;
}

static void fair_lookup_start(Fair *f) {
        int r = 0;

        if (!f->lookup) {
                r = sd_event_add_defer(f->event, &f->lookup, on_lookup, f);
                if (r >= 0)
                        r = sd_event_source_set_priority(f->lookup, SD_EVENT_PRIORITY_IDLE);
        }
        if (r >= 0)
                r = sd_event_source_set_enabled(f->lookup, SD_EVENT_ON);
        if (r < 0)
                log_warning_errno(r, "Fair share: cannot look up the users' names (users.d's [name] and [@group] "
                                     "sections will not apply): %m");
}

/* Before a tick's inputs: what ended ends; new users get users.d's [UID] sections now, names soon after;
 * the fleet's entries apply to the users whose names are known. */
static void fair_admin_tick(Fair *f, usec_t wall) {
        bool pending = false;

        fair_state_expire(f, wall);
        for (size_t i = 0; i < f->n_users; i++) {
                FairUser *u = f->users[i];

                if (!u->resolved)
                        fair_user_resolve(f, u);
                pending = pending || !u->looked_up;
        }
        if (pending)
                fair_lookup_start(f);
        fair_fleet_update(f, wall);
}

/* ---- the fleet's penalties and limits (ZooKeeper <Prefix>/users/<name>) ---- */

/* What applies to u now, part by part: a local penalty or limit that has not ended, else the fleet's (as
 * fair_user_fleet_sync() last took it). */
static void fair_user_applied(const Fair *f, const FairUser *u, usec_t wall, UserApplied *ret) {
        UserStateEntry fleet = { .penalty = u->fleet_penalty, .limit = u->fleet_limit };

        fleet_user_applied(user_state_find(&f->state, u->uid), &fleet, wall, ret);
}

/* The fleet's parts that apply to u now (by its name: none while NSS has not named it); an event for each
 * that starts, changes or ends. */
static void fair_user_fleet_sync(Fair *f, FairUser *u, usec_t wall) {
        const UserStateEntry *fleet = u->name ? fleet_users_find(&f->fleet, u->name) : NULL;
        UserPenalty penalty = {};
        UserLimit limit = {};
        const char *action;
        UserApplied a;

        if (!fleet && !u->fleet_penalty.set && !u->fleet_limit.set)
                return;
        fleet_user_applied(user_state_find(&f->state, u->uid), fleet, wall, &a);
        if (a.penalty_source == USER_SOURCE_FLEET)
                penalty = a.penalty;
        if (a.limit_source == USER_SOURCE_FLEET)
                limit = a.limit;
        action = fleet_user_penalty_action(&u->fleet_penalty, &penalty, wall);
        if (action) {
                UserPenalty before = u->fleet_penalty;

                log_info("Fair share: fleet penalty %s for %s (UID %" PRIu32 ").", action, u->name, u->uid);
                u->fleet_penalty = penalty;
                fair_emit_admin(f, u->uid, u->name, FAIR_EVENT_PENALTY, action, penalty.set ? &penalty : &before,
                                NULL, /* fleet= */ true, wall);
        }
        action = fleet_user_limit_action(&u->fleet_limit, &limit, wall);
        if (action) {
                UserLimit before = u->fleet_limit;

                log_info("Fair share: fleet limit %s for %s (UID %" PRIu32 ").", action, u->name, u->uid);
                u->fleet_limit = limit;
                fair_emit_admin(f, u->uid, u->name, FAIR_EVENT_LIMIT, action, NULL, limit.set ? &limit : &before,
                                /* fleet= */ true, wall);
        }
        /* the same part again (a node rewritten, a since kept): nothing to say, the values are taken */
        u->fleet_penalty = penalty;
        u->fleet_limit = limit;
}

/* Every user's fleet parts as they apply now; the fleet's parts that ended dropped (after their events). */
static void fair_fleet_update(Fair *f, usec_t wall) {
        /* stopping: no more events, but what ended still goes (or the timer would fire for it again) */
        for (size_t i = 0; !f->stopping && i < f->n_users; i++)
                fair_user_fleet_sync(f, f->users[i], wall);
        if (fleet_users_next_expiry(&f->fleet) <= wall) {
                f->fleet_expired += fleet_users_expire(&f->fleet, wall);
                fair_state_arm(f);
        }
}

void fair_set_fleet_node_prefix(Fair *f, const char *path) {
        char *p = strdup(path ? path : "");

        if (!p)
                return; /* the messages keep the old prefix */
        free(f->fleet_node_prefix);
        f->fleet_node_prefix = p;
}

static void fair_fleet_error_clear(Fair *f, const char *name) {
        if (!f->fleet_error_name || !streq(f->fleet_error_name, name))
                return;
        free(f->fleet_error);
        free(f->fleet_error_name);
        f->fleet_error = f->fleet_error_name = NULL;
}

static int fair_fleet_refuse(Fair *f, const char *name, int r, const char *why, char *error, size_t error_size) {
        f->fleet_rejected++;
        free(f->fleet_error);
        free(f->fleet_error_name);
        f->fleet_error = strdup(why);
        f->fleet_error_name = strdup(name);
        log_warning("Fair share: %s; the fleet entry of that user is kept as it was.", why);
        if (error_size > 0)
                snprintf(error, error_size, "%s", why);
        return r;
}

int fair_set_fleet_user(Fair *f, const char *name, const char *data, size_t size, char *error, size_t error_size) {
        const char *prefix = f->fleet_node_prefix ? f->fleet_node_prefix : "users";
        usec_t wall = now_usec(CLOCK_REALTIME);
        char node[512], why[1024];
        UserStateEntry e;
        bool removed;
        int r;

        assert(f);
        assert(error || error_size == 0);

        if (error_size > 0)
                error[0] = 0;
        if (!name)
                return -EINVAL;
        snprintf(node, sizeof(node), "%s/%s", prefix, name);
        if (!data) {
                fair_fleet_error_clear(f, name);
                removed = fleet_users_remove(&f->fleet, name);
                if (removed)
                        log_debug("Fair share: the fleet entry of %s is gone (%s).", name, node);
        } else {
                if (!fleet_user_name_is_valid(name)) {
                        snprintf(why, sizeof(why), "%s: not a user name (1 to %d of A-Z a-z 0-9 . _ - @ $, not "
                                 "starting with - or ., not only digits)", node, FLEET_USER_NAME_MAX);
                        return fair_fleet_refuse(f, name, -EINVAL, why, error, error_size);
                }
                r = fleet_user_parse(node, data, size, wall, f->penalty_mode, &e, why, sizeof(why));
                if (r < 0)
                        return fair_fleet_refuse(f, name, r, why, error, error_size);
                r = fleet_users_set(&f->fleet, name, &e, wall);
                if (r == -E2BIG) {
                        snprintf(why, sizeof(why), "%s: more than %d fleet users", node, FLEET_USERS_MAX);
                        return fair_fleet_refuse(f, name, r, why, error, error_size);
                }
                if (r < 0) {
                        snprintf(why, sizeof(why), "%s: cannot keep it: %s", node, strerror(-r));
                        return fair_fleet_refuse(f, name, r, why, error, error_size);
                }
                fair_fleet_error_clear(f, name);
                log_debug("Fair share: the fleet entry of %s from %s:%s%s.", name, node,
                          e.penalty.set ? " a penalty" : "", e.limit.set ? " a limit" : "");
        }
        /* those here under that name get (or lose) it now; the caps follow at the next tick */
        for (size_t i = 0; !f->stopping && i < f->n_users; i++)
                if (f->users[i]->name && streq(f->users[i]->name, name))
                        fair_user_fleet_sync(f, f->users[i], wall);
        fair_state_arm(f);
        return 0;
}

/* One user's input from users.d, users.json (or the fleet's) and the sampled values kept for `users`. */
static void fair_admin_input(Fair *f, FairUser *u, const SampleValues *v, FairShareUserInput *in, usec_t wall) {
        UserApplied a;

        u->pids = v && (v->have & SAMPLE_HAVE_PIDS) ? v->pids : FAIRSHARE_UNSET;
        u->memory_bytes = v && (v->have & SAMPLE_HAVE_MEMORY) ? v->memory_bytes : FAIRSHARE_UNSET;
        if (u->ov.exempt)
                in->exempt = u->ov.exempt->exempt;
        if (u->ov.cpu)
                in->override_cpu = cores_usec(u->ov.cpu->cpu_cores);
        if (u->ov.memory)
                in->override_memory_bytes = memory_amount_bytes(&u->ov.memory->memory, f->ram_bytes,
                                                                FAIRSHARE_INFINITY);
        fair_user_applied(f, u, wall, &a);
        if (a.penalty.set) {
                in->penalty = a.penalty.mode == USER_PENALTY_LOCKED ? FAIRSHARE_PENALTY_LOCKED :
                                                                       FAIRSHARE_PENALTY_ACTIVE;
                if (a.penalty.memory_bytes > 0)
                        in->penalty_memory_bytes = a.penalty.memory_bytes;
                in->penalty_until = a.penalty.until_usec == USEC_INFINITY ? 0 : a.penalty.until_usec;
                in->penalty_fleet = a.penalty_source == USER_SOURCE_FLEET;
        }
        if (a.limit.set) {
                if (a.limit.cpu_cores > 0)
                        in->limit_cpu = cores_usec(a.limit.cpu_cores);
                if (a.limit.memory_bytes > 0)
                        in->limit_memory_bytes = a.limit.memory_bytes; /* UINT64_MAX: infinity */
                in->limit_until = a.limit.until_usec == USEC_INFINITY ? 0 : a.limit.until_usec;
                in->limit_fleet = a.limit_source == USER_SOURCE_FLEET;
        }
}

/* ---- the control verbs ---- */

static json_t *fail(const char *format, ...) _printf_(1, 2);
static json_t *fail(const char *format, ...) {
        char message[512];
        va_list ap;

        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        return json_pack("{s:s}", "error", message);
}

static json_t *json_sec(usec_t t) {
        return t == USEC_INFINITY ? json_null() : json_integer((json_int_t) (t / USEC_PER_SEC));
}

/* A fleet part's "since": when this host took it; its "until" null: while its node says so. */
static json_t *penalty_json(const UserPenalty *p) {
        if (!p || !p->set)
                return json_null();
        return json_pack("{s:s, s:o, s:o, s:o}", "mode", user_penalty_mode_to_string(p->mode),
                         "since", json_sec(p->since_usec), "until", json_sec(p->until_usec),
                         "memory", p->memory_bytes > 0 ? json_integer((json_int_t) p->memory_bytes) : json_null());
}

static json_t *limit_json(const UserLimit *l) {
        json_t *memory;

        if (!l || !l->set)
                return json_null();
        memory = l->memory_bytes == 0 ? json_null() :
                 l->memory_bytes == UINT64_MAX ? json_string("infinity") :
                                                 json_integer((json_int_t) l->memory_bytes);
        return json_pack("{s:o, s:o, s:o, s:o}",
                         "cpu_pct", l->cpu_cores > 0 ? json_integer((json_int_t) (l->cpu_cores * 100 + 0.5)) : json_null(),
                         "memory", memory, "since", json_sec(l->since_usec), "until", json_sec(l->until_usec));
}

/* A user line's "penalty" and "limit" (what applies), and where each comes from: "penalty_source" and
 * "limit_source", "local" (users.json) or "fleet" (ZooKeeper), null: none. */
static void applied_json(const UserApplied *a, json_t *line) {
        const char *ps = user_source_to_string(a->penalty_source), *ls = user_source_to_string(a->limit_source);

        json_object_set_new(line, "penalty", penalty_json(&a->penalty));
        json_object_set_new(line, "limit", limit_json(&a->limit));
        json_object_set_new(line, "penalty_source", ps ? json_string(ps) : json_null());
        json_object_set_new(line, "limit_source", ls ? json_string(ls) : json_null());
}

static void fair_user_fleet_sync(Fair *f, FairUser *u, usec_t wall);

/* After a local change: the fleet's part of that user, hidden or uncovered, says so at once. */
static void fair_control_fleet_sync(Fair *f, uint32_t uid, usec_t wall) {
        FairUser *u = find_user(f, uid);

        if (u)
                fair_user_fleet_sync(f, u, wall);
}

/* "alice (UID 1001)" or "UID 1001". */
static void who(const Fair *f, const ControlRequest *r, char *buf, size_t size) {
        const FairUser *u = find_user((Fair *) f, r->uid);
        const char *name = u && u->name ? u->name : r->user;

        if (name)
                snprintf(buf, size, "%s (UID %" PRIu32 ")", name, r->uid);
        else
                snprintf(buf, size, "UID %" PRIu32, r->uid);
}

static json_t *fair_check_request(const Fair *f, const ControlRequest *r) {
        if (f->stopping)
                return fail("the daemon is stopping");
        if (r->uid < f->min_uid)
                return fail("UID %" PRIu32 " is below MinUID=%" PRIu32 ": fair share leaves it alone", r->uid,
                            f->min_uid);
        if (isempty(f->state_dir))
                return fail("no [FairShare] StateDir=: penalties and limits cannot be kept");
        return NULL;
}

json_t *fair_control_penalty(Fair *f, const ControlRequest *r) {
        const UserStateEntry *e = user_state_find(&f->state, r->uid);
        UserPenalty before = e ? e->penalty : (UserPenalty) {}, p;
        usec_t wall = now_usec(CLOCK_REALTIME);
        json_t *error = fair_check_request(f, r);
        char name[300];
        int q;

        if (error)
                return error;
        who(f, r, name, sizeof(name));
        if (!r->on) {
                const FairUser *u = find_user(f, r->uid);

                if (!before.set && u && u->fleet_penalty.set)
                        return fail("%s has no penalty of this host; the fleet's is changed in ZooKeeper (%s/%s)",
                                    name, f->fleet_node_prefix ?: "users", u->name);
                if (!before.set)
                        return fail("%s has no penalty", name);
                user_state_clear_penalty(&f->state, r->uid);
                if (fair_state_save(f) < 0) {
                        (void) user_state_set_penalty(&f->state, r->uid, &before);
                        return fail("cannot write %s/" USER_STATE_FILE_NAME " (see the journal); the penalty of %s "
                                    "stays", f->state_dir, name);
                }
                log_info("Fair share: penalty off for %s.", name);
                fair_emit_admin(f, r->uid, r->user, FAIR_EVENT_PENALTY, "off", &before, NULL, /* fleet= */ false, wall);
                fair_control_fleet_sync(f, r->uid, wall);
                fair_state_arm(f);
                return json_pack("{s:I, s:s, s:o}", "uid", (json_int_t) r->uid, "action", "off", "penalty",
                                 penalty_json(&before));
        }
        p = (UserPenalty) {
                .set = true,
                .mode = r->has_mode ? (r->locked ? USER_PENALTY_LOCKED : USER_PENALTY_ACTIVE) : f->penalty_mode,
                .since_usec = wall / USEC_PER_SEC * USEC_PER_SEC, /* the file keeps whole seconds */
                .memory_bytes = r->memory_bytes,
        };
        p.until_usec = p.since_usec + (r->for_sec > 0 ? r->for_sec * USEC_PER_SEC : f->penalty_timeout_usec);
        q = user_state_set_penalty(&f->state, r->uid, &p);
        if (q == -E2BIG)
                return fail("too many users hold a penalty or limit (at most %d)", USER_STATE_MAX_ENTRIES);
        if (q < 0)
                return fail("cannot set the penalty of %s: %s", name, strerror(-q));
        if (fair_state_save(f) < 0) {
                if (before.set)
                        (void) user_state_set_penalty(&f->state, r->uid, &before);
                else
                        user_state_clear_penalty(&f->state, r->uid);
                return fail("cannot write %s/" USER_STATE_FILE_NAME " (see the journal); nothing changed",
                            f->state_dir);
        }
        log_info("Fair share: penalty on for %s (%s, %" PRIu64 " s).", name, user_penalty_mode_to_string(p.mode),
                 (p.until_usec - p.since_usec) / USEC_PER_SEC);
        fair_emit_admin(f, r->uid, r->user, FAIR_EVENT_PENALTY, "on", &p, NULL, /* fleet= */ false, wall);
        fair_control_fleet_sync(f, r->uid, wall);
        fair_state_arm(f);
        return json_pack("{s:I, s:s, s:o, s:b}", "uid", (json_int_t) r->uid, "action", "on", "penalty",
                         penalty_json(&p), "replaced", before.set);
}

json_t *fair_control_limit(Fair *f, const ControlRequest *r) {
        const UserStateEntry *e = user_state_find(&f->state, r->uid);
        UserLimit before = e ? e->limit : (UserLimit) {}, l;
        usec_t wall = now_usec(CLOCK_REALTIME);
        json_t *error = fair_check_request(f, r);
        char name[300];
        int q;

        if (error)
                return error;
        who(f, r, name, sizeof(name));
        if (r->clear) {
                const FairUser *u = find_user(f, r->uid);

                if (!before.set && u && u->fleet_limit.set)
                        return fail("%s has no limit of this host; the fleet's is changed in ZooKeeper (%s/%s)",
                                    name, f->fleet_node_prefix ?: "users", u->name);
                if (!before.set)
                        return fail("%s has no limit", name);
                user_state_clear_limit(&f->state, r->uid);
                if (fair_state_save(f) < 0) {
                        (void) user_state_set_limit(&f->state, r->uid, &before);
                        return fail("cannot write %s/" USER_STATE_FILE_NAME " (see the journal); the limit of %s "
                                    "stays", f->state_dir, name);
                }
                log_info("Fair share: limit cleared for %s.", name);
                fair_emit_admin(f, r->uid, r->user, FAIR_EVENT_LIMIT, "clear", NULL, &before, /* fleet= */ false, wall);
                fair_control_fleet_sync(f, r->uid, wall);
                fair_state_arm(f);
                return json_pack("{s:I, s:s, s:o}", "uid", (json_int_t) r->uid, "action", "clear", "limit",
                                 limit_json(&before));
        }
        l = (UserLimit) {
                .set = true,
                .cpu_cores = (double) r->cpu_pct / 100.0,
                .memory_bytes = r->memory_bytes,
                .since_usec = wall / USEC_PER_SEC * USEC_PER_SEC,
                .until_usec = USEC_INFINITY,
        };
        if (r->for_sec > 0)
                l.until_usec = l.since_usec + r->for_sec * USEC_PER_SEC;
        q = user_state_set_limit(&f->state, r->uid, &l);
        if (q == -E2BIG)
                return fail("too many users hold a penalty or limit (at most %d)", USER_STATE_MAX_ENTRIES);
        if (q < 0)
                return fail("cannot set the limit of %s: %s", name, strerror(-q));
        if (fair_state_save(f) < 0) {
                if (before.set)
                        (void) user_state_set_limit(&f->state, r->uid, &before);
                else
                        user_state_clear_limit(&f->state, r->uid);
                return fail("cannot write %s/" USER_STATE_FILE_NAME " (see the journal); nothing changed",
                            f->state_dir);
        }
        log_info("Fair share: limit set for %s.", name);
        fair_emit_admin(f, r->uid, r->user, FAIR_EVENT_LIMIT, "set", NULL, &l, /* fleet= */ false, wall);
        fair_control_fleet_sync(f, r->uid, wall);
        fair_state_arm(f);
        return json_pack("{s:I, s:s, s:o, s:b}", "uid", (json_int_t) r->uid, "action", "set", "limit",
                         limit_json(&l), "replaced", before.set);
}

static json_t *override_json(const UserOverrideResult *ov) {
        const UserOverride *parts[] = { ov->cpu, ov->memory, ov->exempt };
        const char *keys[] = { "cpu", "memory", "exempt" };
        json_t *o;

        if (!ov->cpu && !ov->memory && !ov->exempt)
                return json_null();
        o = json_object();
        for (size_t i = 0; o && i < ELEMENTSOF(parts); i++) {
                char text[USER_OVERRIDES_NAME_MAX + PATH_MAX + 32];

                if (!parts[i])
                        continue;
                (void) user_override_describe(parts[i], text, sizeof(text));
                json_object_set_new(o, keys[i], json_string(text));
        }
        return o;
}

static json_t *unset_or_integer(uint64_t v) {
        return v >= FAIRSHARE_UNSET ? json_null() : json_integer((json_int_t) v);
}

/* One user's line of `slicekeeper users`: cgroup_py's list fields, then ours. */
static json_t *fair_user_line(const Fair *f, const FairUser *u) {
        const FairShareDecision *d = &u->d;
        char reason[256] = "", ident[32];
        bool decided = u->have_decision;
        UserApplied a;
        json_t *o;

        fair_user_applied(f, u, now_usec(CLOCK_REALTIME), &a);
        if (decided)
                (void) fairshare_reason_format(d, &f->policy_config, reason, sizeof(reason));
        snprintf(ident, sizeof(ident), "%" PRIu32, u->uid);
        o = json_pack("{s:s, s:o, s:o, s:b, s:b, s:b, s:I, s:o, s:b}",
                      "ident", u->name ? u->name : ident,
                      "numtasks", unset_or_integer(u->pids),
                      "cpupct", decided && d->rate_valid ? json_real((double) d->rate / 1e4) : json_null(),
                      "throttled", decided && d->throttled,
                      "penaltyboxed", decided ? d->penalized : a.penalty.set,
                      "fixedcpu", decided && (d->reason.kind == FAIRSHARE_REASON_OVERRIDE ||
                                              d->reason.kind == FAIRSHARE_REASON_LIMIT),
                      /* as cgroup_py wrote cpu.cfs_quota_us: a 100 ms period, -1 none */
                      "cpuquotausecs", decided && d->cpu_quota < FAIRSHARE_UNSET ? (json_int_t) (d->cpu_quota / 10) : -1,
                      "memused", unset_or_integer(u->memory_bytes),
                      "isuser", true);
        if (!o)
                return NULL;
        json_object_set_new(o, "uid", json_integer((json_int_t) u->uid));
        json_object_set_new(o, "user", u->name ? json_string(u->name) : json_null());
        json_object_set_new(o, "slice", json_string(u->unit));
        json_object_set_new(o, "active", json_boolean(decided && d->active));
        json_object_set_new(o, "exempt", json_boolean(decided && d->exempt));
        json_object_set_new(o, "cap_usec", decided ? unset_or_integer(d->cpu_quota) : json_null());
        json_object_set_new(o, "kernel_cap_usec", unset_or_integer(u->kernel_cpu_quota));
        json_object_set_new(o, "memory_max", decided ? unset_or_integer(d->memory_max) : json_null());
        json_object_set_new(o, "reason", decided ? json_string(reason) : json_null());
        applied_json(&a, o);
        json_object_set_new(o, "override", override_json(&u->ov));
        return o;
}

json_t *fair_users_json(const Fair *f, bool only_one, uint32_t uid) {
        json_t *list = json_array(), *absent = json_array(), *o;

        for (size_t i = 0; list && i < f->n_users; i++)
                if (!only_one || f->users[i]->uid == uid)
                        json_array_append_new(list, fair_user_line(f, f->users[i]));
        /* penalties and limits of users not logged in: they apply when the user comes */
        for (size_t i = 0; absent && i < f->state.n; i++) {
                const UserStateEntry *e = &f->state.entries[i];

                if ((only_one && e->uid != uid) || find_user((Fair *) f, e->uid))
                        continue;
                json_array_append_new(absent, json_pack("{s:I, s:o, s:o}", "uid", (json_int_t) e->uid,
                                                        "penalty", penalty_json(&e->penalty),
                                                        "limit", limit_json(&e->limit)));
        }
        o = json_pack("{s:o, s:o, s:I, s:f}", "list", list, "absent", absent, "min_uid", (json_int_t) f->min_uid,
                      "cores", f->policy_config.cores);
        if (o && !only_one)
                json_object_set_new(o, "admin", fair_admin_status_json(f));
        return o;
}

/* status's user line: the name and the users.d sections that apply, penalty and limit. */
static void fair_user_admin_status(const Fair *f, const FairUser *u, json_t *line) {
        UserApplied a;

        if (!line)
                return;
        fair_user_applied(f, u, now_usec(CLOCK_REALTIME), &a);
        json_object_set_new(line, "user", u->name ? json_string(u->name) : json_null());
        json_object_set_new(line, "override", override_json(&u->ov));
        applied_json(&a, line);
}

json_t *fair_admin_status_json(const Fair *f) {
        size_t applied = 0;
        json_t *o;

        for (size_t i = 0; i < f->n_users; i++)
                applied += f->users[i]->fleet_penalty.set || f->users[i]->fleet_limit.set;
        o = json_pack("{s:{s:s, s:I, s:o, s:I, s:I}, s:{s:s, s:I, s:o, s:I, s:I, s:I}, s:{s:I, s:I}}",
                         "users_d", "dir", f->users_dir, "sections", (json_int_t) f->overrides.n,
                         "error", f->overrides_error ? json_string(f->overrides_error) : json_null(),
                         "loads", (json_int_t) f->overrides_loads, "load_failures", (json_int_t) f->overrides_failures,
                         "state", "dir", f->state_dir, "users", (json_int_t) f->state.n,
                         "error", f->state_error ? json_string(f->state_error) : json_null(),
                         "saves", (json_int_t) f->state_saves, "save_failures", (json_int_t) f->state_save_failures,
                         "expired", (json_int_t) f->state_expired,
                         "nss", "lookups", (json_int_t) f->nss_lookups, "unknown", (json_int_t) f->nss_unknown);
        if (o)
                json_object_set_new(o, "fleet_users", json_pack(
                        "{s:I, s:I, s:o, s:I, s:I}", "entries", (json_int_t) fleet_users_count(&f->fleet),
                        "rejected", (json_int_t) f->fleet_rejected,
                        "last_error", f->fleet_error ? json_string(f->fleet_error) : json_null(),
                        "applied", (json_int_t) applied, "expired", (json_int_t) f->fleet_expired));
        return o;
}

static void fair_tick(Fair *f, const SliceSet *set, const SampleValues *values, usec_t now);

void fair_sample(Fair *f, const SliceSet *set, const SampleValues *values) {
        usec_t now = now_usec(CLOCK_MONOTONIC), cpu;

        if (f->stopping)
                return;
        /* IntervalSec= whole seconds on a sampler of whole seconds: a sweep a little early still counts */
        if (f->last_tick > 0 && now + USEC_PER_SEC / 4 < f->last_tick + f->interval_usec)
                return;
        cpu = now_usec(CLOCK_THREAD_CPUTIME_ID);
        fair_tick(f, set, values, now);
        cpu = now_usec(CLOCK_THREAD_CPUTIME_ID) - cpu;
        f->tick_cpu_last = cpu;
        f->tick_cpu_max = MAX(f->tick_cpu_max, cpu);
        f->tick_cpu_total += cpu;
}

static void fair_tick(Fair *f, const SliceSet *set, const SampleValues *values, usec_t now) {
        const FairShareResult *res;
        usec_t wall;
        int r;

        r = fair_update_users(f, set);
        if (r < 0) {
                f->tick_errors++;
                log_warning_errno(r, "Fair share: cannot take this tick's users: %m");
                return;
        }
        wall = now_usec(CLOCK_REALTIME);
        fair_admin_tick(f, wall);
        if (f->inputs_allocated < f->n_users) {
                FairShareUserInput *a = reallocarray(f->inputs, f->n_users, sizeof(FairShareUserInput));
                if (!a) {
                        f->tick_errors++;
                        return;
                }
                f->inputs = a;
                f->inputs_allocated = f->n_users;
        }
        cap_files_trim(f);
        for (size_t i = 0; i < f->n_users; i++) {
                FairUser *u = f->users[i];
                FairShareUserInput *in = &f->inputs[i];
                const SampleValues *v = &values[u->set_index];

                if (i % FAIR_BATCH_USERS == 0)
                        cap_files_read_ahead(f, i, MIN(i + FAIR_BATCH_USERS, f->n_users));
                fairshare_user_input_init(in, u->uid);
                if (v && (v->have & SAMPLE_HAVE_CPU))
                        in->cpu_usage_usec = v->cpu_usage_nsec / 1000;
                if (v && (v->have & SAMPLE_HAVE_MEMORY))
                        in->memory_bytes = v->memory_bytes;
                in->kernel_cpu_quota = u->kernel_cpu_quota = read_cpu_quota(f, u);
                in->kernel_memory_max = read_memory(f, u, false);
                if (f->policy_config.memory_high_pct > 0)
                        in->kernel_memory_high = read_memory(f, u, true);
                fair_admin_input(f, u, v, in, wall);
        }
        /* user.slice's cap matters only in Mode=weight (the mode is fixed for the daemon's life) */
        f->user_slice_kernel_quota = f->policy_config.mode == FAIRSHARE_WEIGHT_MODE ?
                                             read_cpu_quota(f, f->user_slice) : FAIRSHARE_UNSET;
        wall = now_usec(CLOCK_REALTIME);
        r = fairshare_tick(f->policy, now, wall, f->inputs, f->n_users, f->user_slice_kernel_quota, &res);
        if (r < 0) {
                f->tick_errors++;
                log_warning_errno(r, "Fair share: the policy refused this tick: %m");
                return;
        }
        f->last_tick = now;
        f->ticks++;
        f->n_active = res->n_active;
        f->n_throttled = res->n_throttled;
        for (size_t i = 0; i < res->n_decisions && i < f->n_users; i++) {
                FairUser *u = f->users[i];
                const FairShareDecision *d = &res->decisions[i];

                u->d = *d;
                u->have_decision = true;
                /* a cap held, sent by us or adopted from our drop-in of a run before: lifted on stop */
                u->touched = u->touched || d->cpu_quota < FAIRSHARE_UNSET || d->memory_max < FAIRSHARE_UNSET ||
                             u->weight_sent;
                if (d->send_cpu || d->send_memory || (d->cpu_weight > 0 && !u->weight_sent))
                        fair_send_decision(f, u, d);
        }
        f->user_slice->touched = f->user_slice->touched || res->user_slice_quota < FAIRSHARE_UNSET;
        if (res->send_user_slice)
                fair_send_user_slice(f, res->user_slice_quota);
        fair_emit_throttle_events(f, res, wall);
}

/* ---- stopping ---- */

static void fair_stop_done(Fair *f) {
        FairStopped cb = f->stopped;

        f->stop_timer = sd_event_source_disable_unref(f->stop_timer);
        f->stopped = NULL;
        if (cb)
                cb(f, f->stopped_userdata);
}

/* Sends lifts while there is room; calls back when the last one was answered. */
static void fair_lift_more(Fair *f) {
        while (f->lift_next < f->n_users && f->lifts_in_flight < FAIR_IN_FLIGHT_MAX) {
                FairUser *u = f->users[f->lift_next++];

                if (!u->touched)
                        continue;
                if (u->op) {
                        /* a cap still on its way: the lift replaces it (answers come in order) */
                        u->op = unit_op_free(u->op);
                        f->in_flight--;
                }
                u->lift = true;
                u->send = (FairSend) {
                        .cpu = true, .cpu_quota = UINT64_MAX,
                        /* user.slice: only Mode=weight's CPU cap is ours */
                        .memory = !u->is_user_slice, .memory_max = UINT64_MAX, .memory_high = UINT64_MAX,
                        .high_too = f->policy_config.memory_high_pct > 0,
                        /* Mode=weight's CPUWeight= back to systemd's default */
                        .cpu_weight = u->weight_sent ? UINT64_MAX : 0,
                };
                if (fair_user_send(u) < 0) {
                        f->lifts_failed++;
                        log_warning("Could not ask systemd to lift the caps of %s.", u->unit);
                        continue;
                }
                f->lifts_sent++;
                f->lifts_in_flight++;
        }
        if (f->lift_next >= f->n_users && f->lifts_in_flight == 0)
                fair_stop_done(f);
}

static int on_stop_timeout(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        Fair *f = userdata;

        f->lifts_timed_out = true;
        log_warning("Fair share: %u cap lifts not answered in time; stopping anyway.", f->lifts_in_flight);
        fair_stop_done(f);
        return 0;
}

int fair_stop(Fair *f, usec_t timeout_usec, FairStopped done, void *userdata) {
        size_t touched = 0, users = 0;
        int r;

        if (f->stopping)
                return 0;
        f->stopping = true;
        fairshare_forget_sent(f->policy);
        /* those who left are lifted too, and user.slice (no more ticks: the list need not stay sorted) */
        if (f->n_gone > 0 || f->user_slice->touched) {
                FairUser **a = reallocarray(f->users, f->n_users + f->n_gone + 1, sizeof(FairUser *));

                if (a) {
                        f->users = a;
                        if (f->user_slice->touched) {
                                f->users[f->n_users++] = TAKE_PTR(f->user_slice);
                                log_info("Fair share: lifting the cap of user.slice.");
                        }
                        for (size_t i = 0; i < f->n_gone; i++) {
                                char unit[32];
                                FairUser *u;

                                snprintf(unit, sizeof(unit), "user-%" PRIu32 ".slice", f->gone[i]);
                                if (fair_user_new(f, f->gone[i], unit, &u) < 0)
                                        continue;
                                u->touched = true;
                                f->users[f->n_users++] = u;
                        }
                }
                f->n_gone = 0;
        }
        for (size_t i = 0; i < f->n_users; i++) {
                touched += f->users[i]->touched;
                users += f->users[i]->touched && !f->users[i]->is_user_slice;
        }
        if (touched == 0)
                return 0;
        if (users > 0)
                log_info("Fair share: lifting the caps of %zu users.", users);
        r = sd_event_add_time_relative(f->event, &f->stop_timer, CLOCK_MONOTONIC, timeout_usec, 0,
                                       on_stop_timeout, f);
        if (r < 0)
                log_warning_errno(r, "Cannot arm the timer of the cap lifts (stopping without one): %m");
        f->stopped = done;
        f->stopped_userdata = userdata;
        f->lift_next = 0;
        fair_lift_more(f);
        /* all sends may have failed at once: fair_lift_more() called back already */
        return 1;
}

/* ---- status ---- */

static json_t *json_usec_or_null(uint64_t v) {
        return v >= FAIRSHARE_UNSET ? json_null() : json_integer((json_int_t) v);
}

json_t *fair_status_json(const Fair *f) {
        json_t *o, *list, *cpu;

        list = json_array();
        for (size_t i = 0; i < f->n_users; i++) {
                const FairUser *u = f->users[i];
                const FairShareDecision *d = &u->d;
                char reason[256] = "";

                if (!u->have_decision)
                        continue;
                (void) fairshare_reason_format(d, &f->policy_config, reason, sizeof(reason));
                json_array_append_new(list, json_pack(
                        "{s:I, s:s, s:o, s:o, s:o, s:b, s:b, s:o, s:b, s:s}",
                        "uid", (json_int_t) u->uid, "slice", u->unit,
                        "cap_usec", json_usec_or_null(d->cpu_quota),
                        "kernel_cap_usec", json_usec_or_null(u->kernel_cpu_quota),
                        "usage_usec", d->rate_valid ? json_integer((json_int_t) d->rate) : json_null(),
                        "active", d->active, "throttled", d->throttled,
                        "memory_max", json_usec_or_null(d->memory_max),
                        "conflict", d->conflict, "reason", reason));
                fair_user_admin_status(f, u, json_array_get(list, json_array_size(list) - 1));
        }
        o = json_pack("{s:s, s:f, s:I, s:I, s:I, s:I, s:i, s:I, s:i, s:i, s:{s:I, s:I, s:b}}",
                      "mode", fairshare_mode_to_string(f->policy_config.mode),
                      "cores", f->policy_config.cores,
                      "ticks", (json_int_t) f->ticks,
                      "set_unit_properties", (json_int_t) f->sends,
                      "send_failures", (json_int_t) f->send_failures,
                      "deferred", (json_int_t) f->deferred,
                      "in_flight", (int) f->in_flight,
                      "read_errors", (json_int_t) f->read_errors,
                      "active", (int) f->n_active,
                      "throttled", (int) f->n_throttled,
                      "lifts", "sent", (json_int_t) f->lifts_sent, "failed", (json_int_t) f->lifts_failed,
                      "timed_out", f->lifts_timed_out);
        if (o)
                json_object_set_new(o, "user_slice_cap_usec", json_usec_or_null(f->user_slice_kernel_quota));
        if (o)
                json_object_set_new(o, "files", json_pack("{s:I, s:I, s:I, s:I}", "open", (json_int_t) f->n_open,
                                                          "room", (json_int_t) f->fd_room,
                                                          "reopened", (json_int_t) f->reopened,
                                                          "unkept_reads", (json_int_t) f->unkept_reads));
        cpu = json_pack("{s:I, s:I, s:I}", "last", (json_int_t) f->tick_cpu_last, "max", (json_int_t) f->tick_cpu_max,
                        "total", (json_int_t) f->tick_cpu_total);
        if (o && cpu)
                json_object_set_new(o, "tick_cpu_usec", cpu);
        else
                json_decref(cpu);
        if (o) {
                json_object_set_new(o, "list", list);
                json_object_set_new(o, "admin", fair_admin_status_json(f));
        } else
                json_decref(list);
        return o;
}

uint64_t fair_set_unit_properties(const Fair *f) {
        return f->sends;
}

unsigned fair_throttled(const Fair *f) {
        return f->n_throttled;
}
