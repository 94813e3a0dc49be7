/* SPDX-License-Identifier: MIT */
/* One operation on a systemd unit (start a transient unit, start, stop, set properties, attach processes):
 * sends the method call, waits for its reply and, where it makes one, for its job, and calls back once. The
 * decision what happened is a pure function (unit_op_decide), so the policy is tested without a bus. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "job-watch.h"
#include "macro.h"
#include "time-util.h"

/* The timeout policy, for every caller:
 * - A method call is bounded by sd-bus's method call timeout; an error reply (that one included) is a
 *   failure, with the error's name and text, except NoSuchUnit for a stop, which is done (nothing runs).
 * - A call that makes a job waits for the job's JobRemoved: result "done" is done, any other result a
 *   failure. The wait is bounded by the timeout (UNIT_OP_TIMEOUT_USEC unless the caller sets one), counted
 *   from the reply.
 * - When the job has not been removed by then, the unit's ActiveState is read once: the state the operation
 *   aims at ("active" for a start, "inactive" for a stop) counts as done, as the job's effect is there; any
 *   other state, or no answer, is a timeout. The job is left to systemd; the caller tries again later.
 * SetUnitProperties and AttachProcessesToUnit make no job: their reply is the result. */
#define UNIT_OP_TIMEOUT_USEC (30 * USEC_PER_SEC)

typedef enum UnitOpKind {
        UNIT_OP_START_TRANSIENT, /* StartTransientUnit(unit, "fail", properties, no aux units) */
        UNIT_OP_START,           /* StartUnit(unit, "fail") */
        UNIT_OP_STOP,            /* StopUnit(unit, "replace") */
        UNIT_OP_SET_PROPERTIES,  /* SetUnitProperties(unit, runtime, properties) */
        UNIT_OP_ATTACH,          /* AttachProcessesToUnit(unit, "", pids) */
        _UNIT_OP_KIND_MAX,
} UnitOpKind;

typedef enum UnitOpOutcome {
        UNIT_OP_PENDING,    /* waiting for the reply or the job */
        UNIT_OP_READ_STATE, /* the job did not finish in time: read ActiveState */
        UNIT_OP_DONE,
        UNIT_OP_FAILED,
        UNIT_OP_TIMED_OUT,
        _UNIT_OP_OUTCOME_MAX,
} UnitOpOutcome;

/* What an operation has learnt so far; the strings are borrowed. */
typedef struct UnitOpFacts {
        UnitOpKind kind;
        bool replied;
        int reply_error;            /* negative errno when the call failed (or its reply did not parse), else 0 */
        const char *error_name;     /* the D-Bus error's name, NULL if none */
        const char *error_message;  /* its text, NULL for strerror(reply_error) */
        const char *job_result;     /* JobRemoved's result, NULL while the job runs */
        bool timed_out;             /* the timeout passed before the job was removed */
        bool state_read;            /* the ActiveState read after the timeout came back */
        int state_error;            /* negative errno when that read failed */
        const char *state_error_message; /* its text, NULL for strerror(state_error) */
        const char *active_state;
        int wait_error;             /* negative errno when the job could not be waited for (timer, memory) */
} UnitOpFacts;

/* What to do next, or how the operation ended. For a failure or a timeout, `message` (size > 0) gets the
 * cause and *ret_error a negative errno; for the rest they are "" and 0. Pure. */
UnitOpOutcome unit_op_decide(const UnitOpFacts *f, char *message, size_t size, int *ret_error);

const char *unit_op_kind_method(UnitOpKind kind);
bool unit_op_kind_has_job(UnitOpKind kind);

typedef struct UnitOp UnitOp;

typedef struct UnitOpResult {
        UnitOpOutcome outcome;     /* UNIT_OP_DONE, UNIT_OP_FAILED or UNIT_OP_TIMED_OUT */
        int error;                 /* negative errno, 0 when done */
        const char *message;       /* the cause ("StopUnit failed: ...", "start job finished with result ..."),
                                    * NULL when done */
        const char *error_name;    /* the failed call's D-Bus error name, or NULL */
        const char *error_message; /* its text (or strerror), or NULL */
        const char *job_result;    /* or NULL */
        const char *active_state;  /* read after a timeout, or NULL */
} UnitOpResult;

/* Called once, when the operation ended; never from within unit_op_send(). The result is valid during the
 * call. The callback may free the operation. */
typedef void (*UnitOpDone)(UnitOp *op, const UnitOpResult *result, void *userdata);
/* Appends (sv) items to the open a(sv) of the properties; called within unit_op_send(). */
typedef int (*UnitOpAppend)(sd_bus_message *m, void *userdata);

typedef struct UnitOpRequest {
        UnitOpKind kind;
        const char *unit;
        UnitOpAppend append;     /* START_TRANSIENT, SET_PROPERTIES; may be NULL */
        const pid_t *pids;       /* ATTACH */
        size_t n_pids;
        usec_t timeout_usec;     /* for the job; 0: UNIT_OP_TIMEOUT_USEC */
} UnitOpRequest;

/* Sends the request on `bus` (attached to an sd-event loop: the timer runs there). `jobs` is the bus's
 * JobWatch, installed before any job is started. `append` and `done` get `userdata`. On failure nothing was
 * sent and nothing will be called. */
int unit_op_send(sd_bus *bus, JobWatch *jobs, const UnitOpRequest *req, UnitOpDone done, void *userdata,
                 UnitOp **ret);
/* Cancels the operation if it still runs (the reply is ignored, the job left to systemd; no callback
 * afterwards). Takes NULL. */
UnitOp *unit_op_free(UnitOp *op);
DEFINE_TRIVIAL_CLEANUP_FUNC(UnitOp *, unit_op_free)
