/* SPDX-License-Identifier: MIT */
/* Per-user fair share, the decisions (issue 14): each tick's usage, read-backs, overrides, penalties and
 * time in; per user the CPU cap and memory limits to hold, whether to send them, why, and throttle and
 * expiry events out. Pure (no I/O, no clock, no logging): the glue reads, sends and logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

/* Users per tick (a big login node has far fewer); bounds the state, about 1 KiB a user. */
#define FAIRSHARE_USERS_MAX 65536u

/* CPU is counted in usec of CPU time per second of wall time: 1 core = 1 000 000 (CPUQuotaPerSecUSec). */
#define FAIRSHARE_CORE ((uint64_t) USEC_PER_SEC)
/* No cap / no memory limit ("infinity" to systemd, "max" in the kernel files). */
#define FAIRSHARE_INFINITY UINT64_MAX
/* A value not known this tick (not read back, not sampled) or not set (no override). */
#define FAIRSHARE_UNSET (UINT64_MAX - 1)
/* The smallest cap sent: the kernel's quota floor is 1 ms a 100 ms period, 1 % of a core. */
#define FAIRSHARE_QUOTA_MIN (FAIRSHARE_CORE / 100)
/* Caps above this many cores are never computed (keeps every product in range). */
#define FAIRSHARE_CORES_MAX 65536u
/* Activity windows hold this many samples: with IntervalSec=1 a window of up to 15 s is exact, shorter
 * intervals see a shorter window. */
#define FAIRSHARE_WINDOW_SAMPLES 16u
/* The CPUWeight every user slice gets in `weight` mode (systemd's default). */
#define FAIRSHARE_WEIGHT 100u

typedef enum FairShareMode {
        FAIRSHARE_EVEN_ACTIVE, /* cgroup_py's default, improved by water-filling */
        FAIRSHARE_HARD_CAP,    /* CPUPctMax × HardCapCores for everyone */
        FAIRSHARE_WEIGHT_MODE, /* equal CPUWeight, only user.slice capped */
        _FAIRSHARE_MODE_MAX,
} FairShareMode;

typedef enum FairSharePenalty {
        FAIRSHARE_PENALTY_NONE,
        FAIRSHARE_PENALTY_ACTIVE, /* PenaltyCPUPct × the user's current cap */
        FAIRSHARE_PENALTY_LOCKED, /* a fixed PenaltyCPUPct of a core */
        _FAIRSHARE_PENALTY_MAX,
} FairSharePenalty;

typedef struct FairShareConfig {
        FairShareMode mode;
        double cpu_pct_max;            /* CPUPctMax= 0.90 */
        double cores;                  /* online CPUs (may be fractional: a cpuset, a VM's quota) */
        double activity_threshold;     /* ActivityThreshold= 0.15 of a core (× 3/users above 3 users) */
        usec_t activity_window_usec;   /* ActivityWindowSec= 5 s */
        double min_change_pct;         /* MinChangePct= 0.05 of a core: smaller cap changes are not sent */
        double upper_throttle;         /* UpperThrottle= 0.95 of the cap: throttled */
        double lower_throttle;         /* LowerThrottle= 0.85 of the cap ... */
        unsigned throttle_end_intervals; /* ... for 4 intervals in a row: the event ends */
        double hard_cap_cores;         /* HardCapCores= 1 */
        uint64_t memory_limit_bytes;   /* MemoryLimit= RAM/4; FAIRSHARE_INFINITY none */
        double memory_high_pct;        /* MemoryHighPct= 0.90 of MemoryMax as MemoryHigh; 0 none (v1) */
        uint64_t memory_buffer_bytes;  /* a limit is never set below use + this (64 MiB) */
        uint64_t memory_min_change_bytes; /* smaller memory changes are not sent (16 MiB) */
        double penalty_cpu_pct;        /* PenaltyCPUPct= 0.30 */
        uint64_t penalty_memory_bytes; /* PenaltyMemory=; FAIRSHARE_INFINITY: no lower limit */
        usec_t max_gap_usec;           /* a tick further than this from the last (or before it) is a clock
                                        * jump: no rates from it (30 s) */
} FairShareConfig;

/* Defaults for a machine with `cores` CPUs and `ram_bytes` of memory. */
void fairshare_config_init(FairShareConfig *c, double cores, uint64_t ram_bytes);
/* -EINVAL (and nothing else) for values the policy cannot work with. */
int fairshare_config_check(const FairShareConfig *c);

/* One user slice as the glue saw it this tick. Borrowed for the call only.
 * Which CPU cap: a runtime limit, else users.d's exemption (none), else users.d's fixed cap, else the
 * mode's; a penalty on top of it, never raising it (and over an exemption: the admin asked for it).
 * Memory: a runtime limit, else users.d's, else none when exempt, else MemoryLimit=; PenaltyMemory= lowers
 * it while penalized. */
typedef struct FairShareUserInput {
        uint32_t uid;
        /* FAIRSHARE_UNSET: not sampled / not read back this tick; FAIRSHARE_INFINITY: no limit */
        uint64_t cpu_usage_usec;       /* cumulative */
        uint64_t memory_bytes;         /* current use; FAIRSHARE_UNSET: unknown */
        uint64_t kernel_cpu_quota;     /* usec/s read back (the same conventions) */
        uint64_t kernel_memory_max;    /* bytes read back, same conventions */
        uint64_t kernel_memory_high;
        /* users.d */
        bool exempt;                   /* no cap, still measured */
        uint64_t override_cpu;         /* usec/s; FAIRSHARE_UNSET none */
        uint64_t override_memory_bytes; /* FAIRSHARE_UNSET none */
        /* the penalty box (wall clock: it survives reboots); until 0 = no expiry */
        FairSharePenalty penalty;
        usec_t penalty_until;
        uint64_t penalty_memory_bytes; /* this penalty's lower memory limit; FAIRSHARE_UNSET: PenaltyMemory= */
        /* `slicekeeper limit`; until 0 = no expiry */
        uint64_t limit_cpu;            /* usec/s; FAIRSHARE_UNSET none */
        uint64_t limit_memory_bytes;   /* FAIRSHARE_UNSET none */
        usec_t limit_until;
        /* the penalty and the limit come from the fleet (ZooKeeper), not this host: said in the reason */
        bool penalty_fleet, limit_fleet;
} FairShareUserInput;

/* An input with nothing set, nothing read: fill in what is known. */
void fairshare_user_input_init(FairShareUserInput *u, uint32_t uid);

/* Why a user has the cap they have: enough to print it (fairshare_reason_format()). */
typedef enum FairShareReasonKind {
        FAIRSHARE_REASON_EXEMPT,
        FAIRSHARE_REASON_OVERRIDE,  /* users.d fixed CPU */
        FAIRSHARE_REASON_LIMIT,     /* slicekeeper limit --cpu */
        FAIRSHARE_REASON_ACTIVE,    /* even_active, an active user */
        FAIRSHARE_REASON_INACTIVE,  /* even_active, an inactive user: the share they would get */
        FAIRSHARE_REASON_HARD_CAP,
        FAIRSHARE_REASON_WEIGHT,
        FAIRSHARE_REASON_PENDING,   /* no rate yet: the cap the kernel holds is kept */
} FairShareReasonKind;

typedef struct FairShareReason {
        FairShareReasonKind kind;
        unsigned n_active;             /* active users (of those the formula shares among) */
        uint64_t idle_use;             /* usec/s used by the others (inactive, exempt, fixed) */
        uint64_t share;                /* the formula's result */
        uint64_t lent;                 /* raised above the share to this by water-filling, or 0 */
        unsigned n_lighter;            /* active users leaving part of their share unused */
        FairSharePenalty penalty;      /* applied on top */
        bool penalty_fleet, limit_fleet; /* the penalty, the limit (FAIRSHARE_REASON_LIMIT) are the fleet's */
        bool memory_clamped;           /* MemoryMax above the desired limit: the use is above it */
} FairShareReason;

typedef struct FairShareDecision {
        uint32_t uid;
        bool active, exempt, throttled, penalized;
        bool rate_valid;               /* rate comes from this tick (not after a join or a clock jump) */
        uint64_t rate;                 /* usec/s over the last interval */
        uint64_t window_rate;          /* usec/s over the activity window */
        uint64_t cpu_desired;          /* what the policy computes (usec/s or FAIRSHARE_INFINITY) */
        uint64_t cpu_quota;            /* what the kernel holds after this tick (the last one sent) */
        bool send_cpu;                 /* send cpu_quota as CPUQuotaPerSecUSec (and cpu_weight if not 0) */
        unsigned cpu_weight;           /* CPUWeight to hold, 0: leave alone */
        uint64_t memory_max, memory_high; /* bytes to hold, FAIRSHARE_INFINITY none */
        bool send_memory;              /* send both (MemoryMax; MemoryHigh when memory_high_pct > 0) */
        bool conflict;                 /* our cap does not stick (held from elsewhere): not fought over */
        FairShareReason reason;
} FairShareDecision;

typedef enum FairShareEventType {
        FAIRSHARE_EVENT_THROTTLE_START,
        FAIRSHARE_EVENT_THROTTLE_END,
        FAIRSHARE_EVENT_PENALTY_EXPIRED,
        FAIRSHARE_EVENT_LIMIT_EXPIRED,
        _FAIRSHARE_EVENT_MAX,
} FairShareEventType;

typedef struct FairShareEvent {
        FairShareEventType type;
        uint32_t uid;
        uint64_t id;                   /* a throttle event's start and end share it; 0 for the others */
        usec_t start_wall, end_wall;   /* end 0 at the start; an expiry's end is the `until` that passed */
        uint64_t cpu;                  /* usec/s: the use at the start; the mean over the event at its end */
        uint64_t cap;                  /* the cap it ran into */
        bool user_left;                /* an end because the user slice went away */
} FairShareEvent;

typedef struct FairShareResult {
        FairShareDecision *decisions;  /* one per input user, in input order */
        size_t n_decisions;
        FairShareEvent *events;        /* at most 3 a user and one a user who left */
        size_t n_events;
        bool clock_jump;               /* this tick gave no rates: caps held, no throttle changes */
        unsigned n_active, n_throttled, n_sends;
        /* `weight` mode: the cap on user.slice (else FAIRSHARE_INFINITY) and whether to send it */
        uint64_t user_slice_quota;
        bool send_user_slice;
} FairShareResult;

typedef struct FairShare FairShare;

/* `first_event_id`: where event ids start (the glue may seed it from the wall clock to keep them unique
 * across restarts). -EINVAL for a config fairshare_config_check() refuses. */
int fairshare_new(const FairShareConfig *config, uint64_t first_event_id, FairShare **ret);
FairShare *fairshare_free(FairShare *fs);
static inline void fairshare_freep(FairShare **fs) {
        if (*fs)
                fairshare_free(*fs);
}
/* A new config (SIGHUP): takes effect next tick; what was sent is kept (so only changes go out). */
int fairshare_set_config(FairShare *fs, const FairShareConfig *config);

/* One tick. `now` CLOCK_MONOTONIC (rates, windows), `wall` CLOCK_REALTIME (expiries, event times).
 * `user_slice_kernel_quota`: user.slice's cap read back (FAIRSHARE_UNSET: not read). Users missing from
 * `users` have left (a throttle event of theirs ends). The result stays valid until the next call.
 * Returns -EINVAL for more than FAIRSHARE_USERS_MAX users or a uid twice, -ENOMEM; nothing changed then. */
int fairshare_tick(FairShare *fs, usec_t now, usec_t wall, const FairShareUserInput *users, size_t n_users,
                   uint64_t user_slice_kernel_quota, const FairShareResult **ret);

/* A send the glue could not make: the next tick sends again, unless the kernel holds the value anyway. */
void fairshare_send_failed(FairShare *fs, uint32_t uid);
/* The daemon stops or the feature is switched off: forget what was sent (the glue lifts every cap). */
void fairshare_forget_sent(FairShare *fs);

/* "3 active users: 0.90 × (2 cores − 0.10 idle use) / 3 = 0.57 core". Returns snprintf()'s length. */
int fairshare_reason_format(const FairShareDecision *d, const FairShareConfig *c, char *buf, size_t size);

const char *fairshare_mode_to_string(FairShareMode m);
/* The mode or penalty mode named `s` (the config's words), -EINVAL for another word. */
int fairshare_mode_from_string(const char *s);
int fairshare_penalty_from_string(const char *s);
const char *fairshare_penalty_to_string(FairSharePenalty p);
const char *fairshare_event_type_to_string(FairShareEventType t);
