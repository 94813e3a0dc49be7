/* SPDX-License-Identifier: MIT */
/* Makes systemd match the desired tree: a pass observes the candidate slices over sd-bus, diffs them
 * against the tree and applies the plan asynchronously (StartTransientUnit, SetUnitProperties, StopUnit),
 * stopping only units it recorded as its own and never a protected one. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "job-watch.h"
#include "time-util.h"
#include "tree.h"

typedef struct Realizer Realizer;

typedef struct RealizerConfig {
        const char *root;         /* slice prefix, NULL for top level */
        char *const *protected;   /* unit names, group names or group paths never touched */
        const char *runtime_dir;  /* ownership records live in <runtime_dir>/units */
        usec_t repair_interval_usec; /* a drift-repair pass this often (0: only on events) */
        usec_t job_timeout_usec;  /* a job not done by then: see unit-op.h (0: UNIT_OP_TIMEOUT_USEC) */
        bool dry_run;             /* compute one plan, call on_pass_done, change nothing */
        JobWatch *jobs;           /* JobRemoved for this bus; outlives the realizer */
} RealizerConfig;

typedef void (*RealizerPassDone)(Realizer *r, void *userdata);

int realizer_new(sd_event *event, sd_bus *bus, const RealizerConfig *config, RealizerPassDone on_pass_done,
                 void *userdata, Realizer **ret);
Realizer *realizer_free(Realizer *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Realizer *, realizer_free)

/* Takes a reference on the tree and schedules a pass. */
void realizer_set_tree(Realizer *r, Tree *desired);
/* Schedules a pass. Requests are coalesced: passes start at most once per COALESCE_BOUND_USEC, and a pass
 * starts at most COALESCE_BOUND_USEC after the request, with two exceptions: while a pass runs, the next
 * starts only once it is done (then within the bound), and after a pass with failures the next waits for
 * the failure backoff (1 s, doubling while failures go on, up to 30 s; a new tree resets it). */
void realizer_request_pass(Realizer *r);

/* Whether the unit for `path` would be left alone because it is protected. */
bool realizer_is_protected(const Realizer *r, const char *unit, const char *path);

/* {"unit", "group", "desired", "owned", "protected", "active_state", "properties": {...}, "last_op"} of
 * slice `index` of those the daemon manages or has recorded (as of the last pass), or NULL past the last:
 * status lists them one at a time (json-stream.h). */
json_t *realizer_slice_status_json(const Realizer *r, size_t index);
/* The items of the latest pass that are not done: [{"op", "unit", "group", "properties", "state", "error"}]. */
json_t *realizer_plan_json(const Realizer *r, bool include_done);
/* Whether the latest finished pass left `unit` running (created, updated or found active). */
bool realizer_unit_active(const Realizer *r, const char *unit);

/* {"passes", "pass_requests", "drift_events", "dropin_watches"}: since start; "echo_repeats": echo-only
 * passes in a row that re-sent the same properties (their echoes wait longer, see EchoGuard). */
json_t *realizer_counters_json(const Realizer *r);
/* Why a change by hand may go unnoticed until the periodic pass (drop-in directories not watched), or NULL. */
const char *realizer_dropin_watch_error(const Realizer *r);

/* Counters of the latest finished pass. */
void realizer_counts(const Realizer *r, size_t *ret_slices, size_t *ret_failed);
