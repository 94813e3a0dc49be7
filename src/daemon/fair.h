/* SPDX-License-Identifier: MIT */
/* Per-user fair share, the glue (issue 14): each tick the users' sampled values and the caps read back from
 * the kernel files go into the policy (src/policy/fairshare.h); what it says to send goes out as
 * SetUnitProperties(runtime) on user-UID.slice (src/unit/unit-op.h), a bounded number at a time. On a clean
 * stop every cap and memory limit it set is lifted again. Reads, sends and logs; decides nothing. */
#pragma once

#include <jansson.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cgroup-stat.h"
#include "config.h"
#include "control-request.h"
#include "fairshare.h"
#include "fd-budget.h"
#include "job-watch.h"
#include "sample.h"
#include "user-state.h"

/* SetUnitProperties calls in flight at once; a decision that finds no room is sent again next tick. */
#define FAIR_IN_FLIGHT_MAX 32u

typedef struct Fair Fair;

/* The lifts of fair_stop() ended (all answered, or the timeout passed). */
typedef void (*FairStopped)(Fair *f, void *userdata);

/* What fair share has to tell: the manager publishes it (journal, event log, websocket). Borrowed for the
 * call. */
typedef enum FairEventKind {
        FAIR_EVENT_THROTTLE_START,
        FAIR_EVENT_THROTTLE_END,
        FAIR_EVENT_PENALTY,          /* action "on", "off", "expired" */
        FAIR_EVENT_LIMIT,            /* action "set", "clear", "expired" */
        _FAIR_EVENT_KIND_MAX,
} FairEventKind;

typedef struct FairEvent {
        FairEventKind kind;
        uint32_t uid;
        const char *username;        /* NSS's name; NULL: not known (write the UID) */
        const char *slice;           /* "user-UID.slice" */
        usec_t wall;                 /* CLOCK_REALTIME of the event */
        double cores;                /* the machine's, as the policy counts them (CPU % of the machine) */
        const FairShareEvent *throttle; /* THROTTLE_*: id, start/end, cpu (usec/s), cap, user_left */
        const char *action;          /* PENALTY / LIMIT */
        const UserPenalty *penalty;  /* PENALTY: what was set ("on"), lifted ("off") or ended ("expired") */
        const UserLimit *limit;      /* LIMIT: what was set ("set"), cleared ("clear") or ended ("expired") */
        bool fleet;                  /* PENALTY / LIMIT: the fleet's (ZooKeeper), not this host's */
} FairEvent;

typedef void (*FairEventFn)(Fair *f, const FairEvent *e, void *userdata);

/* The policy's configuration from [FairShare] for a machine of `cores` CPUs and `ram_bytes`; MemoryHigh only
 * on a v2 memory controller (`memory_v2`). Pure. */
void fair_policy_config(const ConfigFairShare *c, double cores, uint64_t ram_bytes, bool memory_v2,
                        FairShareConfig *ret);

/* `layout` is borrowed (the sampler's): where the user slices' cap files are. */
int fair_new(sd_event *event, sd_bus *bus, JobWatch *jobs, const ConfigFairShare *config,
             const CgroupLayout *layout, Fair **ret);
Fair *fair_free(Fair *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(Fair *, fair_free)

/* The sampler's descriptor budget (borrowed; it changes in place): the users' cap files are kept open in
 * what it leaves over when it keeps every file of every slice, else opened, read and closed each tick. */
void fair_set_fd_budget(Fair *f, const FdBudget *budget);

/* Where events go (NULL: nowhere). */
void fair_set_event_fn(Fair *f, FairEventFn fn, void *userdata);

/* A sweep's values (set and values borrowed for the call): the user slices (after set->n_groups) make a
 * tick of the policy when [FairShare] IntervalSec= has passed. Nothing happens once fair_stop() ran. */
void fair_sample(Fair *f, const SliceSet *set, const SampleValues *values);

/* Lifts every cap and memory limit sent (CPUQuotaPerSecUSec=infinity, MemoryMax=infinity, MemoryHigh=
 * infinity where set), a bounded number at a time, and stops ticking. Returns 0 when there was nothing to
 * lift (`done` is not called), 1 when `done` will be called once: when every lift was answered or after
 * `timeout_usec`. */
int fair_stop(Fair *f, usec_t timeout_usec, FairStopped done, void *userdata);

/* {"mode", "cores", "ticks", "set_unit_properties" (calls sent), "send_failures", "deferred" (no room in
 *  flight: sent next tick), "in_flight", "read_errors" (cap files that did not read or parse), "active",
 *  "throttled", "lifts": {"sent", "failed", "timed_out"}, "user_slice_cap_usec" (user.slice's cap read back
 *  in Mode=weight, null: none or not read), "files": {"open" (cap files kept open), "room" (descriptors the
 *  budget leaves them), "reopened" (kept files that failed and were opened again: a slice made anew),
 *  "unkept_reads" (files opened, read and closed: no room, or not there)}, "tick_cpu_usec": {"last", "max",
 *  "total"} (CPU time of the ticks: read-backs, the policy, sends),
 *  "list": [{"uid", "slice", "cap_usec" (CPUQuotaPerSecUSec held, null: none), "kernel_cap_usec" (read back,
 *  null: none or not read), "usage_usec" (CPU usec/s over the last tick, null: no rate yet), "active",
 *  "throttled", "memory_max" (null: none), "conflict", "reason", "user", "override", "penalty", "limit",
 *  "penalty_source", "limit_source"}],
 *  "admin": fair_admin_status_json()} */
json_t *fair_status_json(const Fair *f);

/* The admin's controls (users.d, the penalty box, runtime limits in <StateDir>/users.json): fair_new() loads
 * users.d and users.json (a corrupt one kept aside as users.json.corrupt and logged) and creates StateDir;
 * changes are saved at once, penalties and limits end by themselves (a timer), each change and end is an
 * event. Names and groups come from NSS once when a user appears (batches at idle priority) and again after
 * fair_reload(). */

/* SIGHUP: users.d again (a bad file keeps the previous set; status says FILE:LINE) and every user's names
 * and groups again. -errno when users.d did not load. */
int fair_reload(Fair *f);
/* `slicekeeper penalty` and `slicekeeper limit` (request already checked by control_request_parse()): the
 * answer, {"uid", "action", "penalty"|"limit", "replaced"} or {"error"} with nothing changed. */
json_t *fair_control_penalty(Fair *f, const ControlRequest *r);
json_t *fair_control_limit(Fair *f, const ControlRequest *r);
/* `slicekeeper users`: {"list": [{cgroup_py's "ident", "numtasks", "cpupct", "throttled", "penaltyboxed",
 * "fixedcpu", "cpuquotausecs" (per 100 ms period, -1 none), "memused", "isuser"; then "uid", "user",
 * "slice", "active", "exempt", "cap_usec", "kernel_cap_usec", "memory_max", "reason", "penalty", "limit"
 * (what applies), "override", "penalty_source", "limit_source" ("local", "fleet", null: none)}], "absent":
 * [{"uid", "penalty",
 * "limit"}] (local ones of users not logged in), "min_uid", "cores", "admin" (fair_admin_status_json(), not
 * with only_one)}; only_one: only uid's line. */
json_t *fair_users_json(const Fair *f, bool only_one, uint32_t uid);
/* {"users_d": {"dir", "sections", "error" (null: loaded), "loads", "load_failures"}, "state": {"dir",
 *  "users", "error", "saves", "save_failures", "expired"}, "nss": {"lookups", "unknown"}, "fleet_users":
 *  {"entries", "rejected" (nodes refused), "last_error" (the last refusal, null once that node is good again or
 *  gone), "applied" (users here a fleet part applies to), "expired" (fleet parts that ended)}} */
json_t *fair_admin_status_json(const Fair *f);

/* The fleet's penalties and limits (issue 17): ZooKeeper's <Prefix>/users/<name>, each node's value as
 * fleet_user_parse() reads it (src/policy/fleet-users.h). An entry applies to the user here whose UID NSS
 * names <name> (the name looked up when the user appeared; none while it is not known), part by part unless
 * a local penalty or limit (`slicekeeper penalty`/`limit`, users.json) holds that part; it is never written
 * to users.json, and a local change never touches it. A part that starts, changes or ends applying to a user
 * here is a penalty or limit event with "source": "fleet"; the caps follow at the next tick. */

/* A fleet user's node: data NULL = the node is gone (the entry dropped). 0, or a negative errno with error
 * set (entry kept as it was): -EINVAL not a user name, -EBADMSG a bad value, -E2BIG past FLEET_USERS_MAX
 * users, -ENOMEM. A refusal is logged here and counted in status (fleet_users), the caller need not log it. */
int fair_set_fleet_user(Fair *f, const char *name, const char *data, size_t size, char *error, size_t error_size);
/* The nodes' parent as messages name it ("/sk/users"; the default "users"). */
void fair_set_fleet_node_prefix(Fair *f, const char *path);

uint64_t fair_set_unit_properties(const Fair *f);
/* Users throttled after the last tick. */
unsigned fair_throttled(const Fair *f);
