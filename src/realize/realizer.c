/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "bus-props.h"
#include "coalesce.h"
#include "dropin-watch.h"
#include "job-watch.h"
#include "log-once.h"
#include "log.h"
#include "ownership.h"
#include "planner.h"
#include "realizer.h"
#include "strv.h"
#include "tree-diff.h"
#include "unit-name.h"
#include "unit-op.h"

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
/* dbus-daemon allows 128 pending replies per connection on the system bus; the attacher shares it. */
#define MAX_IN_FLIGHT 64
#define FAIL_BACKOFF_MIN_USEC USEC_PER_SEC
#define FAIL_BACKOFF_MAX_USEC (30 * USEC_PER_SEC)

/* Where systemd 252 (system manager) keeps the drop-ins SetUnitProperties writes: transient units' and
 * other units' (--runtime and persistent). */
static const char *const dropin_dirs[] = {
        "/run/systemd/transient", "/run/systemd/system.control", "/etc/systemd/system.control", NULL,
};

typedef enum OpState {
        OP_PENDING,
        OP_RUNNING,
        OP_DONE,
        OP_FAILED,
        OP_SKIPPED,
        _OP_STATE_MAX,
} OpState;

typedef struct Pass Pass;

typedef struct Op {
        Pass *pass;
        PlanOp kind;
        char *unit, *path;
        const TreeNode *node; /* desired node (create/change) or NULL */
        unsigned depth;
        uint32_t mask;
        bool accounting;
        OpState state;
        char *error;
        bool wrote_record;
        bool fallback;
        UnitOp *uop; /* the request in flight */
} Op;

/* What a pass learnt about one slice it looked at: a desired one or one we own. */
typedef struct Candidate {
        Pass *pass;
        char *unit, *path, *object;
        bool desired, owned, exists;
        char active_state[32];
        uint64_t tasks_current;
        bool accounting_on, have_props;
        bool sent; /* this pass sends it properties: systemd writes its drop-ins, which come back as events */
        TreeSettings settings;
        sd_bus_slot *slot;
} Candidate;

struct Pass {
        Realizer *realizer;
        Tree *desired;
        Candidate *cands;
        size_t n_cands;
        StrMap cand_by_unit;
        size_t n_get_pending, next_get;
        /* Each op is allocated on its own: its requests, job watch and timer carry the Op * as userdata,
         * while the array of pointers grows during planning and is sorted. The candidates' array instead
         * is allocated once at its final size before any request is sent (cands_add never grows it). */
        Op **ops;
        size_t n_ops, next, stage_end, in_flight, n_finished;
        StrMap op_by_unit; /* unit (the op's own string) → its first op: status asks per slice */
        sd_bus_slot *list_slot;
        usec_t started_usec, finished_usec;
        bool finished;
        bool echo_only; /* only possible echoes of our own writes asked for it */
        bool plan_failed;
        char **stale; /* records the plan found stale: forgotten once the plan has run */
};

struct Realizer {
        sd_event *event;
        sd_bus *bus;
        char *root;
        char **protected;
        usec_t repair_interval_usec, job_timeout_usec;
        bool dry_run;
        Ownership own;
        Tree *desired;
        StrMap desired_by_unit; /* unit name (owned) → desired group */
        Pass *current, *last;
        Coalescer passes;         /* requests → passes: at most one per COALESCE_BOUND_USEC, none later */
        usec_t finished_usec;     /* CLOCK_MONOTONIC, the latest pass's end */
        Backoff fail_backoff;     /* while passes keep failing, the next waits its delay_usec after it */
        uint64_t n_drift_events;  /* drop-in changes of our slices noticed */
        DropinWatch *dropins;
        EchoGuard echoes;         /* how long echoes of our own writes may wait for their pass */
        uint64_t sent_hash;       /* what the latest pass sent (0: nothing) */
        bool echo_in_pass;        /* a possible echo came while a pass ran: asked for when it ends */
        sd_event_source *pass_timer, *repair_timer;
        JobWatch *jobs; /* shared with the attacher; not owned */
        sd_bus_slot *unit_removed_slot, *reloading_slot;
        StrMap unit_errors; /* unit → UnitError, so a failing unit logs once per cause */
        RealizerPassDone on_pass_done;
        void *userdata;
};

static const char *const op_state_table[_OP_STATE_MAX] = {
        [OP_PENDING] = "pending", [OP_RUNNING] = "running", [OP_DONE] = "done",
        [OP_FAILED] = "failed",   [OP_SKIPPED] = "skipped",
};

static void pass_step(Pass *p);
static int op_start(Op *op);
static void realizer_schedule_pass(Realizer *r);
static void ask_for_echo_pass(Realizer *r);
static json_t *settings_json(const TreeSettings *s, uint32_t mask);

/* ---- helpers ---- */

/* The last error logged for a unit; the entry holds its own key. */
typedef struct UnitError {
        LogOnce log;
        char unit[];
} UnitError;

static void log_unit_error_once(Realizer *r, const char *unit, int error, const char *message) {
        UnitError *e;

        if (!unit || !message)
                return;
        e = strmap_get(&r->unit_errors, unit);
        if (!e) {
                /* Out of memory the error is logged, and is again next time. */
                e = calloc(1, sizeof(UnitError) + strlen(unit) + 1);
                if (e) {
                        strcpy(e->unit, unit);
                        if (strmap_put(&r->unit_errors, e->unit, e) < 0) {
                                free(e);
                                e = NULL;
                        }
                }
        }
        if (e && !log_once_should(&e->log, message))
                return;
        log_slice(LOG_ERR, error, unit, "%s: %s", unit, message);
}

static void unit_error_free(UnitError *e) {
        if (!e)
                return;
        log_once_reset(&e->log);
        free(e);
}

static void forget_unit_error(Realizer *r, const char *unit) {
        unit_error_free(strmap_remove(&r->unit_errors, unit));
}

bool realizer_is_protected(const Realizer *r, const char *unit, const char *path) {
        assert(r);
        assert(unit);
        return planner_is_protected(r->protected, unit, path);
}

/* Records the outcome of an op without moving the pass on. */
static void op_set_result(Op *op, OpState state, int error, const char *message) {
        Pass *p = op->pass;
        Realizer *r = p->realizer;

        op->uop = unit_op_free(op->uop);
        op->state = state;
        free(op->error);
        op->error = message ? strdup(message) : NULL;
        if (state == OP_FAILED && message)
                log_unit_error_once(r, op->unit, error, message);
        else if (state == OP_DONE) {
                forget_unit_error(r, op->unit);
                log_slice(LOG_INFO, 0, op->unit, "%s %s (group %s).",
                          op->kind == PLAN_CREATE ? "Created" : op->kind == PLAN_CHANGE ? "Updated" : "Stopped",
                          op->unit, op->path);
        }
        p->in_flight--;
        p->n_finished++;
}

static void op_finish(Op *op, OpState state, int error, const char *message) {
        op_set_result(op, state, error, message);
        pass_step(op->pass);
}

static void op_fail_send(Op *op, int error, const char *what) {
        char msg[256];

        snprintf(msg, sizeof(msg), "%s failed: %s", what, STRERROR(error));
        op_finish(op, OP_FAILED, error, msg);
}

/* ---- unit operations ---- */

static int op_append_properties(sd_bus_message *m, void *userdata) {
        Op *op = userdata;
        const uint32_t all = (1u << _TREE_PROP_MAX) - 1;
        char desc[512];
        int k;

        if (op->kind == PLAN_CREATE && !op->fallback) {
                snprintf(desc, sizeof(desc), "slicekeeper group %s", op->path);
                k = sd_bus_message_append(m, "(sv)", "Description", "s", desc);
                if (k < 0)
                        return k;
                return bus_props_append(m, &op->node->settings, all, /* accounting= */ true);
        }
        return bus_props_append(m, &op->node->settings, op->fallback ? all : op->mask,
                                op->fallback || op->accounting);
}

static int op_send(Op *op, UnitOpKind kind, UnitOpDone done) {
        Realizer *r = op->pass->realizer;
        UnitOpRequest req = {
                .kind = kind, .unit = op->unit, .append = op_append_properties, .timeout_usec = r->job_timeout_usec,
        };

        assert(!op->uop);
        return unit_op_send(r->bus, r->jobs, &req, done, op, &op->uop);
}

static void on_op_job_done(UnitOp *u _unused_, const UnitOpResult *res, void *userdata) {
        Op *op = userdata;
        Realizer *r = op->pass->realizer;
        int k;

        op->uop = unit_op_free(op->uop);
        if (res->outcome == UNIT_OP_DONE) {
                if (op->kind == PLAN_STOP) {
                        k = ownership_remove(&r->own, op->unit);
                        if (k < 0)
                                log_warning_errno(k, "Failed to remove ownership record of %s: %m", op->unit);
                }
                op_finish(op, OP_DONE, 0, NULL);
                return;
        }
        if (op->kind == PLAN_CREATE && !op->fallback && res->error_name &&
            streq(res->error_name, "org.freedesktop.systemd1.UnitExists")) {
                /* Loaded but not running (or created meanwhile): set properties, then start it. */
                if (op->wrote_record) {
                        ownership_remove(&r->own, op->unit);
                        op->wrote_record = false;
                }
                op->fallback = true;
                k = op_start(op);
                if (k < 0)
                        op_fail_send(op, k, "SetUnitProperties");
                return;
        }
        op_finish(op, OP_FAILED, res->error, res->message);
}

static void on_op_set_done(UnitOp *u _unused_, const UnitOpResult *res, void *userdata) {
        Op *op = userdata;
        int k;

        op->uop = unit_op_free(op->uop);
        if (res->outcome != UNIT_OP_DONE) {
                op_finish(op, OP_FAILED, res->error, res->message);
                return;
        }
        if (op->kind == PLAN_CHANGE) {
                op_finish(op, OP_DONE, 0, NULL);
                return;
        }
        /* Fallback creation: properties are set, now start the unit. */
        k = op_send(op, UNIT_OP_START, on_op_job_done);
        if (k < 0)
                op_fail_send(op, k, "StartUnit");
}

static int op_start(Op *op) {
        Realizer *r = op->pass->realizer;
        int k;

        if (op->kind == PLAN_STOP)
                return op_send(op, UNIT_OP_STOP, on_op_job_done);
        if (op->kind == PLAN_CHANGE || op->fallback)
                return op_send(op, UNIT_OP_SET_PROPERTIES, on_op_set_done);

        /* Record ownership before creating, so a crash right after the call cannot leave an unrecorded
         * unit of ours behind. */
        if (!ownership_get(&r->own, op->unit)) {
                k = ownership_add(&r->own, op->unit, op->path);
                if (k < 0)
                        return k;
                op->wrote_record = true;
        }
        return op_send(op, UNIT_OP_START_TRANSIENT, on_op_job_done);
}

/* ---- pass ---- */

/* Drops the op's request with it: none of its callbacks can run afterwards. */
static Op *op_free(Op *op) {
        if (!op)
                return NULL;
        unit_op_free(op->uop);
        free(op->unit);
        free(op->path);
        free(op->error);
        free(op);
        return NULL;
}

static void pass_free(Pass *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_ops; i++)
                op_free(p->ops[i]);
        free(p->ops);
        strmap_done(&p->op_by_unit);
        for (size_t i = 0; i < p->n_cands; i++) {
                sd_bus_slot_unref(p->cands[i].slot);
                free(p->cands[i].unit);
                free(p->cands[i].path);
                free(p->cands[i].object);
                tree_settings_done(&p->cands[i].settings);
        }
        free(p->cands);
        strmap_done(&p->cand_by_unit);
        strv_free(p->stale);
        sd_bus_slot_unref(p->list_slot);
        tree_unref(p->desired);
        free(p);
}

/* FNV-1a over what the pass sent (unit, kind and values of each op that went out, in plan order); 0 for
 * nothing. Two passes that sent the same have the same hash. */
static uint64_t pass_sent_hash(const Pass *p) {
        uint64_t h = 0xcbf29ce484222325ULL;
        bool any = false;

        for (size_t i = 0; i < p->n_ops; i++) {
                const Op *op = p->ops[i];
                _cleanup_(freep) char *v = NULL;
                json_t *props;

                if (op->kind == PLAN_STOP || op->state == OP_SKIPPED || op->state == OP_PENDING || !op->node)
                        continue;
                props = settings_json(&op->node->settings, op->mask | (op->kind == PLAN_CREATE ? ~0u : 0));
                v = props ? json_dumps(props, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
                json_decref(props);
                for (const char *s = op->unit; *s; s++)
                        h = (h ^ (uint8_t) *s) * 0x100000001b3ULL;
                h = (h ^ (uint8_t) (op->kind + 1)) * 0x100000001b3ULL;
                for (const char *s = v ? v : ""; *s; s++)
                        h = (h ^ (uint8_t) *s) * 0x100000001b3ULL;
                any = true;
        }
        return any ? (h ? h : 1) : 0;
}

/* The records the plan found stale are forgotten once it has run, so records do not pile up; a dry run or
 * a plan that failed keeps them. */
static void pass_forget_stale(Pass *p) {
        for (size_t i = 0; p->stale && p->stale[i]; i++) {
                int k = ownership_remove(&p->realizer->own, p->stale[i]);

                if (k < 0)
                        log_warning_errno(k, "Cannot remove stale ownership record of %s: %m", p->stale[i]);
                else
                        log_info("Forgot %s: it is gone and no longer in the tree.", p->stale[i]);
        }
        p->stale = strv_free(p->stale);
}

static void pass_complete(Pass *p) {
        Realizer *r = p->realizer;
        size_t counts[_OP_STATE_MAX] = { 0 }, kinds[_PLAN_OP_MAX] = { 0 };
        uint64_t sent;

        p->finished = true;
        p->finished_usec = now_usec(CLOCK_REALTIME);
        for (size_t i = 0; i < p->n_ops; i++) {
                counts[p->ops[i]->state]++;
                if (p->ops[i]->state == OP_DONE)
                        kinds[p->ops[i]->kind]++;
        }
        if (!r->dry_run && (counts[OP_DONE] || counts[OP_FAILED]))
                log_info("Pass finished: %zu created, %zu updated, %zu stopped, %zu failed, %zu skipped.",
                         kinds[PLAN_CREATE], kinds[PLAN_CHANGE], kinds[PLAN_STOP], counts[OP_FAILED],
                         counts[OP_SKIPPED]);
        if (!r->dry_run)
                pass_forget_stale(p);
        /* A pass with failures is not repeated at once (signals about the failed units would do that):
         * the next one waits, longer while failures go on. */
        if (counts[OP_FAILED] > 0 || p->plan_failed)
                (void) backoff_next_usec(&r->fail_backoff);
        else
                backoff_reset(&r->fail_backoff);
        pass_free(r->last);
        r->last = p;
        r->current = NULL;
        sd_event_now(r->event, CLOCK_MONOTONIC, &r->finished_usec);
        sent = pass_sent_hash(p);
        echo_guard_pass_done(&r->echoes, p->echo_only, sent != 0, sent == r->sent_hash);
        r->sent_hash = sent;
        if (r->echo_in_pass) {
                r->echo_in_pass = false;
                ask_for_echo_pass(r);
        }
        /* Slices may have come up with drop-in directories: watch those of our units, no longer those of
         * units gone. */
        if (r->dropins)
                dropin_watch_sync(r->dropins, (r->desired ? r->desired->n_nodes : 0) + r->own.n);
        if (r->on_pass_done)
                r->on_pass_done(r, r->userdata);
        if (!r->dry_run)
                realizer_schedule_pass(r); /* for what was requested meanwhile */
}

static bool same_stage(const Op *a, const Op *b) {
        return a->kind == b->kind && (a->kind == PLAN_CHANGE || a->depth == b->depth);
}

static void pass_step(Pass *p) {
        if (p->finished)
                return;
        for (;;) {
                /* Start what the current stage still has, up to the in-flight cap. */
                while (p->next < p->stage_end && p->in_flight < MAX_IN_FLIGHT) {
                        Op *op = p->ops[p->next++];
                        int k;

                        if (op->state != OP_PENDING) {
                                p->n_finished++;
                                continue;
                        }
                        op->state = OP_RUNNING;
                        p->in_flight++;
                        k = op_start(op);
                        if (k < 0) {
                                char msg[256];
                                snprintf(msg, sizeof(msg), "cannot send request: %s", strerror(-k));
                                op_set_result(op, OP_FAILED, k, msg);
                        }
                }
                if (p->in_flight > 0)
                        return;
                if (p->next < p->n_ops && p->next >= p->stage_end) {
                        /* The stage is done: children wait for their parents, parents for their children. */
                        size_t end = p->next + 1;

                        while (end < p->n_ops && same_stage(p->ops[p->next], p->ops[end]))
                                end++;
                        p->stage_end = end;
                        continue;
                }
                if (p->next >= p->n_ops) {
                        pass_complete(p);
                        return;
                }
                return;
        }
}

/* Takes over the planned op's strings: the op it returns is the pass's. */
static Op *op_new(Pass *p, PlannerOp *po) {
        Op *op = malloc(sizeof(Op));

        if (!op)
                return NULL;
        *op = (Op) {
                .pass = p, .kind = po->kind, .unit = TAKE_PTR(po->unit), .path = TAKE_PTR(po->path),
                .node = po->node, .depth = po->depth, .mask = po->mask, .accounting = po->accounting,
                .state = po->skip == PLANNER_RUN ? OP_PENDING : OP_SKIPPED, .error = TAKE_PTR(po->reason),
        };
        return op;
}

/* Plans the pass from what it observed (planner.c, which changes nothing) and turns the plan into ops. */
static int pass_plan(Pass *p) {
        Realizer *r = p->realizer;
        _cleanup_(planner_result_freep) PlannerResult *plan = NULL;
        _cleanup_(freep) PlannerCandidate *cands = NULL;
        int k;

        assert(p->next == 0 && p->in_flight == 0 && p->n_ops == 0); /* planning: no op has been started */
        cands = calloc(MAX(p->n_cands, (size_t) 1), sizeof(PlannerCandidate));
        if (!cands)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_cands; i++) {
                const Candidate *c = &p->cands[i];

                cands[i] = (PlannerCandidate) {
                        .unit = c->unit, .path = c->path, .desired = c->desired, .owned = c->owned,
                        .exists = c->exists, .have_props = c->have_props, .accounting_on = c->accounting_on,
                        .tasks_current = c->tasks_current, .settings = c->settings,
                };
        }
        k = planner_plan(&(PlannerInput) {
                                 .candidates = cands, .n_candidates = p->n_cands, .desired = p->desired,
                                 .records = &r->own.units, .protected = r->protected, .root = r->root,
                         }, &plan);
        if (k < 0)
                return k;

        p->ops = calloc(MAX(plan->n_ops, (size_t) 1), sizeof(Op *));
        if (!p->ops)
                return -ENOMEM;
        for (size_t i = 0; i < plan->n_ops; i++) {
                Op *op = op_new(p, &plan->ops[i]);
                Candidate *c;

                if (!op)
                        return -ENOMEM;
                p->ops[p->n_ops++] = op;
                k = strmap_put(&p->op_by_unit, op->unit, op);
                if (k < 0 && k != -EEXIST)
                        return k;
                if (plan->ops[i].skip == PLANNER_SKIP_BUSY)
                        log_unit_error_once(r, op->unit, 0, op->error);
                c = strmap_get(&p->cand_by_unit, op->unit);
                if (c && op->kind != PLAN_STOP && op->state == OP_PENDING)
                        c->sent = true;
        }
        p->stale = TAKE_PTR(plan->stale);
        return 0;
}

static void pass_observed(Pass *p) {
        int k;

        k = pass_plan(p);
        if (k < 0) {
                log_error_errno(k, "Cannot compute plan: %m");
                p->plan_failed = true;
                for (size_t i = 0; i < p->n_ops; i++)
                        p->ops[i]->state = OP_FAILED;
        }
        if (p->realizer->dry_run) {
                pass_complete(p);
                return;
        }
        p->stage_end = 0;
        pass_step(p);
}

static void pass_issue_gets(Pass *p);

static int on_get_all(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        Candidate *c = userdata;
        Pass *p = c->pass;
        int k;

        c->slot = sd_bus_slot_unref(c->slot);
        if (sd_bus_message_is_method_error(m, NULL))
                log_debug("Cannot read properties of %s: %s", c->unit, sd_bus_message_get_error(m)->message);
        else {
                k = bus_props_read(m, &c->settings, &c->tasks_current, &c->accounting_on);
                if (k < 0)
                        log_warning_errno(k, "Cannot parse properties of %s: %m", c->unit);
                else
                        c->have_props = true;
        }
        p->n_get_pending--;
        pass_issue_gets(p);
        return 0;
}

/* Reads the properties of the running candidates, MAX_IN_FLIGHT at a time; plans once all are in. */
static void pass_issue_gets(Pass *p) {
        Realizer *r = p->realizer;

        while (p->next_get < p->n_cands && p->n_get_pending < MAX_IN_FLIGHT) {
                Candidate *c = &p->cands[p->next_get++];
                int k;

                if (!c->exists || !c->object ||
                    !(streq(c->active_state, "active") || streq(c->active_state, "activating") ||
                      streq(c->active_state, "reloading")))
                        continue;
                k = sd_bus_call_method_async(r->bus, &c->slot, SYSTEMD_DEST, c->object,
                                             "org.freedesktop.DBus.Properties", "GetAll", on_get_all, c, "s",
                                             "org.freedesktop.systemd1.Slice");
                if (k < 0) {
                        log_warning_errno(k, "Cannot ask for properties of %s: %m", c->unit);
                        continue;
                }
                p->n_get_pending++;
        }
        if (p->n_get_pending == 0 && p->next_get >= p->n_cands)
                pass_observed(p);
}

static int cands_add(Pass *p, size_t *cap, const char *unit, const char *path, bool desired, bool owned) {
        Candidate *c = strmap_get(&p->cand_by_unit, unit);

        if (c) {
                c->desired |= desired;
                c->owned |= owned;
                return 0;
        }
        assert(p->next_get == 0 && p->n_get_pending == 0); /* no GetAll holds a Candidate * yet */
        if (p->n_cands == *cap)
                return -ENOBUFS; /* sized up front: the array never moves */
        c = &p->cands[p->n_cands];
        *c = (Candidate) { .pass = p, .desired = desired, .owned = owned, .tasks_current = UINT64_MAX };
        c->unit = strdup(unit);
        c->path = strdup(path);
        if (!c->unit || !c->path) {
                free(c->unit);
                free(c->path);
                return -ENOMEM;
        }
        p->n_cands++;
        return strmap_put(&p->cand_by_unit, c->unit, c);
}

static int on_list_units(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        Pass *p = userdata;
        const char *name, *desc, *load, *active, *sub, *following, *object, *jobtype, *jobpath;
        uint32_t jobid;
        int k;

        p->list_slot = sd_bus_slot_unref(p->list_slot);
        if (sd_bus_message_is_method_error(m, NULL)) {
                log_error("Cannot list units: %s", sd_bus_message_get_error(m)->message);
                pass_complete(p);
                return 0;
        }
        k = sd_bus_message_enter_container(m, 'a', "(ssssssouso)");
        while (k >= 0 && (k = sd_bus_message_read(m, "(ssssssouso)", &name, &desc, &load, &active, &sub, &following,
                                                    &object, &jobid, &jobtype, &jobpath)) > 0) {
                Candidate *c = strmap_get(&p->cand_by_unit, name);

                if (!c)
                        continue;
                c->exists = true;
                snprintf(c->active_state, sizeof(c->active_state), "%s", active);
                c->object = strdup(object);
        }
        if (k < 0) {
                log_error_errno(k, "Cannot parse unit list: %m");
                pass_complete(p);
                return 0;
        }

        p->next_get = 0;
        pass_issue_gets(p);
        return 0;
}

static int pass_start(Realizer *r) {
        Pass *p;
        size_t cap;
        int k;

        p = calloc(1, sizeof(Pass));
        if (!p)
                return -ENOMEM;
        p->realizer = r;
        p->desired = tree_ref(r->desired);
        p->started_usec = now_usec(CLOCK_REALTIME);
        cap = (p->desired ? p->desired->n_nodes : 0) + r->own.n + 1;
        p->cands = calloc(cap, sizeof(Candidate));
        if (!p->cands) {
                pass_free(p);
                return -ENOMEM;
        }
        r->current = p;

        for (size_t i = 0; p->desired && i < p->desired->n_nodes; i++) {
                _cleanup_(freep) char *unit = NULL;

                k = unit_name_from_path(r->root, p->desired->nodes[i]->path, &unit);
                if (k >= 0)
                        k = cands_add(p, &cap, unit, p->desired->nodes[i]->path, true, false);
                if (k < 0)
                        goto fail;
        }
        for (size_t i = 0; i < r->own.n; i++) {
                k = cands_add(p, &cap, r->own.names[i], r->own.paths[i], false, true);
                if (k < 0)
                        goto fail;
        }
        k = sd_bus_call_method_async(r->bus, &p->list_slot, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                     "ListUnitsByPatterns", on_list_units, p, "asas", 0, 1, "*.slice");
        if (k < 0)
                goto fail;
        return 0;
fail:
        r->current = NULL;
        pass_free(p);
        return k;
}

static int on_pass_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        Realizer *r = userdata;
        uint64_t now;
        bool echo_only;
        int k;

        sd_event_source_set_enabled(r->pass_timer, SD_EVENT_OFF);
        if (!r->desired || r->current)
                return 0; /* no tree yet (never read that as "remove everything"), or a pass runs: its end
                           * schedules the next */
        sd_event_now(r->event, CLOCK_MONOTONIC, &now);
        echo_only = coalescer_lazy_only(&r->passes);
        coalescer_acted(&r->passes, now); /* the pass reads systemd's state from now on */
        k = pass_start(r);
        if (k < 0)
                log_error_errno(k, "Cannot start a pass: %m");
        else if (r->current)
                r->current->echo_only = echo_only;
        return 0;
}

/* Arms the pass timer for the pending requests: coalesced, and after a failed pass not before its backoff. */
static void realizer_schedule_pass(Realizer *r) {
        usec_t due = coalescer_due(&r->passes);

        if (r->current)
                return;
        if (due == USEC_INFINITY) {
                sd_event_source_set_enabled(r->pass_timer, SD_EVENT_OFF);
                return;
        }
        if (r->fail_backoff.delay_usec > 0)
                due = MAX(due, r->finished_usec + r->fail_backoff.delay_usec);
        sd_event_source_set_time(r->pass_timer, due);
        sd_event_source_set_enabled(r->pass_timer, SD_EVENT_ONESHOT);
}

void realizer_request_pass(Realizer *r) {
        uint64_t now;

        assert(r);
        sd_event_now(r->event, CLOCK_MONOTONIC, &now);
        coalescer_change(&r->passes, now);
        realizer_schedule_pass(r);
}

void realizer_set_tree(Realizer *r, Tree *desired) {
        size_t n = desired ? desired->n_nodes : 0;

        assert(r);
        backoff_reset(&r->fail_backoff); /* a new tree is worth trying at once (within the coalescing bound) */

        tree_unref(r->desired);
        r->desired = tree_ref(desired);
        strmap_done(&r->desired_by_unit);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *unit = NULL;

                if (unit_name_from_path(r->root, desired->nodes[i]->path, &unit) < 0 ||
                    strmap_put(&r->desired_by_unit, unit, desired->nodes[i]) < 0)
                        break; /* only the drift trigger uses this map; a pass still sees every unit */
        }
        realizer_request_pass(r);
}

/* ---- triggers: drift repair ---- */

static int on_repair_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Realizer *r = userdata;

        realizer_request_pass(r);
        sd_event_source_set_time(s, usec + r->repair_interval_usec);
        sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static bool is_candidate(Realizer *r, const char *unit) {
        return ownership_get(&r->own, unit) || strmap_get(&r->desired_by_unit, unit);
}

static int on_unit_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        Realizer *r = userdata;
        const char *unit, *object;

        /* A slice of ours vanished (stopped by hand, or by us): look again. */
        if (sd_bus_message_read(m, "so", &unit, &object) >= 0 && is_candidate(r, unit))
                realizer_request_pass(r);
        return 0;
}

/* Whether the unit's drop-ins may have been written by us: the running pass sends it properties, or the
 * latest one did and ended a moment ago. */
static bool maybe_our_echo(const Realizer *r, const char *unit) {
        const Candidate *c;
        uint64_t now;

        if (!unit)
                return true; /* events lost: look, but without hurry */
        c = r->current ? strmap_get(&r->current->cand_by_unit, unit) : NULL;
        if (c && c->sent)
                return true;
        c = r->last ? strmap_get(&r->last->cand_by_unit, unit) : NULL;
        sd_event_now(r->event, CLOCK_MONOTONIC, &now);
        return c && c->sent && now < r->finished_usec + COALESCE_BOUND_USEC;
}

/* A drop-in of one of our slices was written or removed: a property was set by hand, or by our own pass.
 * A hand change asks for a pass at once. What may be the echo of our own SetUnitProperties (or a hand change
 * at the same moment) may wait COALESCE_LAZY_USEC: in a burst of tree changes it joins the next pass instead
 * of delaying it, and alone it costs one pass that finds nothing to do. */
static bool on_dropin_wanted(const char *unit, void *userdata) {
        return is_candidate(userdata, unit);
}

/* A possible echo asks for a pass within COALESCE_LAZY_USEC, or longer while echo-only passes keep
 * re-sending the same properties (one systemd keeps differently): at most the periodic interval. */
static void ask_for_echo_pass(Realizer *r) {
        usec_t max = r->repair_interval_usec > 0 ? r->repair_interval_usec : FAIL_BACKOFF_MAX_USEC;
        uint64_t now;

        sd_event_now(r->event, CLOCK_MONOTONIC, &now);
        coalescer_change_lazy(&r->passes, now, echo_guard_delay(&r->echoes, COALESCE_LAZY_USEC, max));
        realizer_schedule_pass(r);
}

static void on_dropin_changed(DropinWatch *w _unused_, const char *unit, void *userdata) {
        Realizer *r = userdata;

        r->n_drift_events++;
        log_debug("Drop-ins of %s changed: checking for drift.", unit ? unit : "some unit (events lost)");
        if (!maybe_our_echo(r, unit))
                realizer_request_pass(r);
        else if (r->current)
                r->echo_in_pass = true; /* how long it may wait depends on what the running pass sends */
        else
                ask_for_echo_pass(r);
}

static int on_reloading(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        Realizer *r = userdata;
        int active;

        if (sd_bus_message_read(m, "b", &active) >= 0 && !active) {
                log_info("systemd reloaded: checking for drift.");
                realizer_request_pass(r);
        }
        return 0;
}

/* ---- lifecycle ---- */

int realizer_new(sd_event *event, sd_bus *bus, const RealizerConfig *config, RealizerPassDone on_pass_done,
                 void *userdata, Realizer **ret) {
        _cleanup_(realizer_freep) Realizer *r = NULL;
        _cleanup_(freep) char *units_dir = NULL;
        int k;

        assert(event);
        assert(bus);
        assert(config);
        assert(ret);
        r = calloc(1, sizeof(Realizer));
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(event);
        r->bus = sd_bus_ref(bus);
        r->dry_run = config->dry_run;
        r->on_pass_done = on_pass_done;
        r->userdata = userdata;
        r->desired_by_unit = STRMAP_OWNING;
        r->repair_interval_usec = config->repair_interval_usec;
        coalescer_init(&r->passes, /* settle_usec= */ 0, COALESCE_BOUND_USEC, COALESCE_BOUND_USEC);
        backoff_init(&r->fail_backoff, FAIL_BACKOFF_MIN_USEC, FAIL_BACKOFF_MAX_USEC);
        r->job_timeout_usec = config->job_timeout_usec;
        if (config->root) {
                r->root = strdup(config->root);
                if (!r->root)
                        return -ENOMEM;
        }
        for (size_t i = 0; config->protected && config->protected[i]; i++)
                if (strv_extend(&r->protected, config->protected[i]) < 0)
                        return -ENOMEM;

        if (asprintf(&units_dir, "%s/units", config->runtime_dir) < 0)
                return -ENOMEM;
        k = ownership_load(&r->own, units_dir);
        if (k < 0)
                return log_error_errno(k, "Cannot load ownership records from %s: %m", units_dir);
        if (r->own.n > 0)
                log_info("Adopting %zu slice(s) recorded in %s.", r->own.n, units_dir);

        k = sd_event_add_time(event, &r->pass_timer, CLOCK_MONOTONIC, 0, 0, on_pass_timer, r);
        if (k < 0)
                return k;
        sd_event_source_set_enabled(r->pass_timer, SD_EVENT_OFF);

        /* The JobRemoved match (config->jobs) went out before this: no job of ours can be missed. */
        r->jobs = config->jobs;
        k = 0;
        if (!r->dry_run)
                k = sd_bus_match_signal_async(bus, &r->unit_removed_slot, SYSTEMD_DEST, SYSTEMD_PATH,
                                              SYSTEMD_MANAGER, "UnitRemoved", on_unit_removed, NULL, r);
        if (k >= 0 && !r->dry_run)
                k = sd_bus_match_signal_async(bus, &r->reloading_slot, SYSTEMD_DEST, SYSTEMD_PATH,
                                              SYSTEMD_MANAGER, "Reloading", on_reloading, NULL, r);
        if (k >= 0)
                /* systemd only emits JobRemoved/UnitRemoved to subscribed clients. */
                k = sd_bus_call_method_async(bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "Subscribe",
                                             NULL, NULL, "");
        if (k < 0)
                return log_error_errno(k, "Cannot subscribe to systemd signals: %m");

        if (!r->dry_run) {
                k = dropin_watch_new(event, dropin_dirs, on_dropin_wanted, on_dropin_changed, r, &r->dropins);
                if (k < 0)
                        return log_error_errno(k, "Cannot watch systemd's drop-in directories: %m");
        }
        if (r->repair_interval_usec > 0 && !r->dry_run) {
                k = sd_event_add_time_relative(event, &r->repair_timer, CLOCK_MONOTONIC, r->repair_interval_usec,
                                               USEC_PER_SEC / 10, on_repair_timer, r);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

Realizer *realizer_free(Realizer *r) {
        if (!r)
                return NULL;
        pass_free(r->current);
        pass_free(r->last);
        sd_event_source_disable_unref(r->pass_timer);
        sd_event_source_disable_unref(r->repair_timer);
        dropin_watch_free(r->dropins);
        sd_bus_slot_unref(r->unit_removed_slot);
        sd_bus_slot_unref(r->reloading_slot);
        for (size_t i = 0; i < r->unit_errors.cap; i++)
                if (r->unit_errors.keys[i])
                        unit_error_free(r->unit_errors.values[i]);
        strmap_done(&r->unit_errors);
        ownership_done(&r->own);
        strmap_done(&r->desired_by_unit);
        tree_unref(r->desired);
        strv_free(r->protected);
        free(r->root);
        sd_bus_unref(r->bus);
        sd_event_unref(r->event);
        free(r);
        return NULL;
}

/* ---- status ---- */

static json_t *settings_json(const TreeSettings *s, uint32_t mask) {
        json_t *o = json_object();

        for (TreeProp p = 0; o && p < _TREE_PROP_MAX; p++) {
                _cleanup_(freep) char *v = NULL;

                if (!(mask & (1u << p)) || !(s->set_mask & (1u << p)))
                        continue;
                v = prop_value_to_string(p, s->value[p], s->cpus, s->n_cpus);
                if (v)
                        json_object_set_new(o, prop_info(p)->dbus_name, json_string(v));
        }
        return o;
}

/* The pass's first op on `unit` (a map: status and the attacher ask once per slice, 10 000 of them). */
static const Op *find_op(const Pass *p, const char *unit) {
        return p ? strmap_get(&p->op_by_unit, unit) : NULL;
}

static json_t *op_json(const Op *op) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "op", plan_op_to_string(op->kind), "unit", op->unit, "group",
                              op->path, "state", op_state_table[op->state]);

        if (!o)
                return NULL;
        if (op->node)
                json_object_set_new(o, "properties", settings_json(&op->node->settings,
                                                                   op->kind == PLAN_CREATE ? ~0u : op->mask));
        if (op->accounting && op->kind == PLAN_CHANGE)
                json_object_set_new(o, "accounting", json_true());
        json_object_set_new(o, "error", op->error ? json_string(op->error) : json_null());
        return o;
}

json_t *realizer_slice_status_json(const Realizer *r, size_t index) {
        const Pass *p = r->last;
        const Candidate *c;
        const Op *op;
        const TreeNode *n;
        json_t *o;

        assert(r);
        if (!p || index >= p->n_cands)
                return NULL;
        c = &p->cands[index];
        op = find_op(r->current, c->unit);
        n = r->desired ? tree_find(r->desired, c->path) : NULL;
        if (!op)
                op = find_op(p, c->unit);
        o = json_pack("{s:s, s:s, s:b, s:b, s:b, s:s}", "unit", c->unit, "group", c->path, "desired", c->desired,
                      "owned", ownership_get(&r->own, c->unit) != NULL, "protected",
                      realizer_is_protected(r, c->unit, c->path), "active_state",
                      op && op->kind == PLAN_STOP && op->state == OP_DONE ? "inactive" :
                      op && op->kind == PLAN_CREATE && op->state == OP_DONE ? "active" :
                      c->exists ? c->active_state : "inactive");
        if (!o)
                return json_null(); /* out of memory: the list goes on */
        if (n)
                json_object_set_new(o, "properties", settings_json(&n->settings, ~0u));
        json_object_set_new(o, "last_op", op ? op_json(op) : json_null());
        return o;
}

json_t *realizer_plan_json(const Realizer *r, bool include_done) {
        const Pass *p = r->current ? r->current : r->last;
        json_t *a = json_array();

        assert(r);
        for (size_t i = 0; a && p && i < p->n_ops; i++)
                if (include_done || p->ops[i]->state != OP_DONE)
                        json_array_append_new(a, op_json(p->ops[i]));
        return a;
}

json_t *realizer_counters_json(const Realizer *r) {
        assert(r);
        return json_pack("{s:I, s:I, s:I, s:I, s:I}", "passes", (json_int_t) r->passes.n_actions, "pass_requests",
                         (json_int_t) r->passes.n_changes, "drift_events", (json_int_t) r->n_drift_events,
                         "dropin_watches", (json_int_t) (r->dropins ? dropin_watch_count(r->dropins) : 0),
                         "echo_repeats", (json_int_t) r->echoes.repeats);
}

const char *realizer_dropin_watch_error(const Realizer *r) {
        assert(r);
        return r->dropins ? dropin_watch_error(r->dropins) : NULL;
}

void realizer_counts(const Realizer *r, size_t *ret_slices, size_t *ret_failed) {
        size_t failed = 0;

        assert(r);
        for (size_t i = 0; r->last && i < r->last->n_ops; i++)
                failed += r->last->ops[i]->state == OP_FAILED;
        *ret_slices = r->desired ? r->desired->n_nodes : 0;
        *ret_failed = failed;
}

bool realizer_unit_active(const Realizer *r, const char *unit) {
        const Pass *p = r->last;
        const Op *op = find_op(p, unit);
        const Candidate *c;

        assert(r);
        assert(unit);
        if (op && op->state == OP_DONE)
                return op->kind != PLAN_STOP;
        if (op && op->state == OP_FAILED)
                return false;
        c = p ? strmap_get(&p->cand_by_unit, unit) : NULL;
        return c && c->exists && streq(c->active_state, "active");
}
