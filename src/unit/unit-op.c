/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "unit-op.h"

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"

static const char *const kind_method[_UNIT_OP_KIND_MAX] = {
        [UNIT_OP_START_TRANSIENT] = "StartTransientUnit", [UNIT_OP_START] = "StartUnit",
        [UNIT_OP_STOP] = "StopUnit",                      [UNIT_OP_SET_PROPERTIES] = "SetUnitProperties",
        [UNIT_OP_ATTACH] = "AttachProcessesToUnit",
};

const char *unit_op_kind_method(UnitOpKind kind) {
        return (unsigned) kind < _UNIT_OP_KIND_MAX ? kind_method[kind] : NULL;
}

bool unit_op_kind_has_job(UnitOpKind kind) {
        return kind == UNIT_OP_START_TRANSIENT || kind == UNIT_OP_START || kind == UNIT_OP_STOP;
}

/* ---- the policy (pure) ---- */

static UnitOpOutcome fail(UnitOpOutcome outcome, int error, int *ret_error) {
        *ret_error = error < 0 ? error : -EIO;
        return outcome;
}

UnitOpOutcome unit_op_decide(const UnitOpFacts *f, char *message, size_t size, int *ret_error) {
        const char *method;

        assert(f);
        assert(message && size > 0);
        assert(ret_error);

        message[0] = 0;
        *ret_error = 0;
        method = unit_op_kind_method(f->kind);
        assert(method);
        if (f->replied && f->reply_error < 0) {
                /* Nothing to stop: the unit is as a stop would leave it. */
                if (f->kind == UNIT_OP_STOP && f->error_name &&
                    streq(f->error_name, "org.freedesktop.systemd1.NoSuchUnit"))
                        return UNIT_OP_DONE;
                snprintf(message, size, "%s failed: %s", method,
                         f->error_message ? f->error_message : STRERROR(f->reply_error));
                return fail(UNIT_OP_FAILED, f->reply_error, ret_error);
        }
        if (f->wait_error < 0) {
                snprintf(message, size, "cannot wait for the %s job: %s", method, STRERROR(f->wait_error));
                return fail(UNIT_OP_FAILED, f->wait_error, ret_error);
        }
        if (!f->replied)
                return UNIT_OP_PENDING;
        if (!unit_op_kind_has_job(f->kind))
                return UNIT_OP_DONE;
        if (f->job_result) {
                if (streq(f->job_result, "done"))
                        return UNIT_OP_DONE;
                snprintf(message, size, "%s job finished with result \"%s\"", f->kind == UNIT_OP_STOP ? "stop" : "start",
                         f->job_result);
                return fail(UNIT_OP_FAILED, -EIO, ret_error);
        }
        if (!f->timed_out)
                return UNIT_OP_PENDING;
        if (!f->state_read)
                return UNIT_OP_READ_STATE;
        if (f->state_error < 0 || !f->active_state) {
                int e = f->state_error < 0 ? f->state_error : -EBADMSG;

                snprintf(message, size, "job timed out; reading ActiveState failed: %s",
                         f->state_error_message ? f->state_error_message : STRERROR(e));
                return fail(UNIT_OP_TIMED_OUT, -ETIMEDOUT, ret_error);
        }
        /* The job's effect is there, whatever became of the job. */
        if (streq(f->active_state, f->kind == UNIT_OP_STOP ? "inactive" : "active"))
                return UNIT_OP_DONE;
        snprintf(message, size, "job timed out, unit is %s", f->active_state);
        return fail(UNIT_OP_TIMED_OUT, -ETIMEDOUT, ret_error);
}

/* ---- the operation (glue) ---- */

struct UnitOp {
        sd_bus *bus;
        JobWatch *jobs;
        char *unit;
        usec_t timeout_usec;
        UnitOpDone done;
        void *userdata;
        sd_bus_slot *slot;
        sd_event_source *timer;
        bool job_waiting, finished;
        /* Every fact that ends the operation arrives with its strings, and is decided at once: the strings
         * are borrowed for that long. */
        UnitOpFacts facts;
};

static void unit_op_drop(UnitOp *op) {
        op->slot = sd_bus_slot_unref(op->slot);
        op->timer = sd_event_source_disable_unref(op->timer);
        if (op->job_waiting)
                job_watch_cancel(op->jobs, op);
        op->job_waiting = false;
}

static int on_active_state(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_);

/* An error reply's errno, negative; -EIO for a name systemd has none for. */
static int reply_errno(sd_bus_message *m) {
        int k = sd_bus_message_get_errno(m);

        return k > 0 ? -k : -EIO;
}

/* Acts on what is known. Calls back last: the callback may free the operation. */
static void unit_op_advance(UnitOp *op) {
        _cleanup_(freep) char *object = NULL;
        char message[512];
        UnitOpOutcome o;
        UnitOpResult result;
        int error, k;

        if (op->finished)
                return;
        o = unit_op_decide(&op->facts, message, sizeof(message), &error);
        if (o == UNIT_OP_PENDING)
                return;
        if (o == UNIT_OP_READ_STATE) {
                unit_op_drop(op);
                k = sd_bus_path_encode(SYSTEMD_PATH "/unit", op->unit, &object);
                if (k >= 0)
                        k = sd_bus_call_method_async(op->bus, &op->slot, SYSTEMD_DEST, object,
                                                     "org.freedesktop.DBus.Properties", "Get", on_active_state, op,
                                                     "ss", "org.freedesktop.systemd1.Unit", "ActiveState");
                if (k >= 0)
                        return;
                op->facts.state_read = true;
                op->facts.state_error = k;
                o = unit_op_decide(&op->facts, message, sizeof(message), &error);
        }
        result = (UnitOpResult) {
                .outcome = o,
                .error = error,
                .message = o == UNIT_OP_DONE ? NULL : message,
                .error_name = op->facts.error_name,
                .error_message = op->facts.reply_error < 0 ?
                        (op->facts.error_message ? op->facts.error_message : STRERROR(op->facts.reply_error)) : NULL,
                .job_result = op->facts.job_result,
                .active_state = op->facts.active_state,
        };
        unit_op_drop(op);
        op->finished = true;
        op->facts.error_name = op->facts.error_message = op->facts.job_result = NULL;
        op->facts.active_state = op->facts.state_error_message = NULL;
        op->done(op, &result, op->userdata);
}

static int on_active_state(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        UnitOp *op = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        int k;

        op->slot = sd_bus_slot_unref(op->slot);
        op->facts.state_read = true;
        if (e) {
                op->facts.state_error = reply_errno(m);
                op->facts.state_error_message = e->message;
        } else {
                k = sd_bus_message_read(m, "v", "s", &op->facts.active_state);
                if (k < 0)
                        op->facts.state_error = k;
        }
        unit_op_advance(op);
        return 0;
}

static void on_job_removed(const char *result, void *userdata) {
        UnitOp *op = userdata;

        op->job_waiting = false; /* the watch forgot it */
        op->facts.job_result = result ? result : "failed";
        unit_op_advance(op);
}

static int on_timeout(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        UnitOp *op = userdata;

        op->timer = sd_event_source_disable_unref(op->timer);
        op->facts.timed_out = true;
        unit_op_advance(op);
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        UnitOp *op = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *job;
        int k;

        op->slot = sd_bus_slot_unref(op->slot);
        op->facts.replied = true;
        if (e) {
                op->facts.reply_error = reply_errno(m);
                op->facts.error_name = e->name;
                op->facts.error_message = e->message;
        } else if (unit_op_kind_has_job(op->facts.kind)) {
                k = sd_bus_message_read(m, "o", &job);
                if (k < 0) {
                        op->facts.reply_error = k;
                        unit_op_advance(op);
                        return 0;
                }
                k = sd_event_add_time_relative(sd_bus_get_event(op->bus), &op->timer, CLOCK_MONOTONIC,
                                               op->timeout_usec, 0, on_timeout, op);
                if (k >= 0) {
                        /* Last: it calls back at once when the job is gone already. */
                        op->job_waiting = true;
                        k = job_watch_add(op->jobs, job, on_job_removed, op);
                        if (k >= 0)
                                return 0;
                        op->job_waiting = false;
                }
                op->facts.wait_error = k;
        }
        unit_op_advance(op);
        return 0;
}

static int append_properties(sd_bus_message *m, const UnitOpRequest *req, void *userdata) {
        int k;

        k = sd_bus_message_open_container(m, 'a', "(sv)");
        if (k >= 0 && req->append)
                k = req->append(m, userdata);
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        return k;
}

int unit_op_send(sd_bus *bus, JobWatch *jobs, const UnitOpRequest *req, UnitOpDone done, void *userdata,
                 UnitOp **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(unit_op_freep) UnitOp *op = NULL;
        const char *method;
        int k;

        assert(bus);
        assert(jobs);
        assert(req);
        assert(req->unit);
        assert(done);
        assert(ret);

        method = unit_op_kind_method(req->kind);
        if (!method)
                return -EINVAL;
        if (unit_op_kind_has_job(req->kind) && !sd_bus_get_event(bus))
                return -ENXIO; /* the job's timer needs the loop */
        op = calloc(1, sizeof(UnitOp));
        if (!op)
                return -ENOMEM;
        op->unit = strdup(req->unit);
        if (!op->unit)
                return -ENOMEM;
        op->bus = sd_bus_ref(bus);
        op->jobs = jobs;
        op->timeout_usec = req->timeout_usec > 0 ? req->timeout_usec : UNIT_OP_TIMEOUT_USEC;
        op->done = done;
        op->userdata = userdata;
        op->facts.kind = req->kind;

        k = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, method);
        if (k < 0)
                return k;
        switch (req->kind) {
        case UNIT_OP_START_TRANSIENT:
                k = sd_bus_message_append(m, "ss", req->unit, "fail");
                if (k >= 0)
                        k = append_properties(m, req, userdata);
                if (k >= 0)
                        k = sd_bus_message_append(m, "a(sa(sv))", 0);
                break;
        case UNIT_OP_START:
                k = sd_bus_message_append(m, "ss", req->unit, "fail");
                break;
        case UNIT_OP_STOP:
                k = sd_bus_message_append(m, "ss", req->unit, "replace");
                break;
        case UNIT_OP_SET_PROPERTIES:
                k = sd_bus_message_append(m, "sb", req->unit, 1);
                if (k >= 0)
                        k = append_properties(m, req, userdata);
                break;
        case UNIT_OP_ATTACH:
                k = sd_bus_message_append(m, "ss", req->unit, "");
                if (k >= 0)
                        k = sd_bus_message_append_array(m, 'u', req->pids, req->n_pids * sizeof(pid_t));
                break;
        default:
                return -EINVAL;
        }
        if (k < 0)
                return k;
        k = sd_bus_call_async(bus, &op->slot, m, on_reply, op, 0);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(op);
        return 0;
}

UnitOp *unit_op_free(UnitOp *op) {
        if (!op)
                return NULL;
        unit_op_drop(op);
        sd_bus_unref(op->bus);
        free(op->unit);
        free(op);
        return NULL;
}
