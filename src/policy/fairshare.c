/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fairshare.h"
#include "macro.h"

/* A read-back this close to what was sent is what was sent (the kernel rounds a quota to its period, a
 * memory limit to pages). */
#define CPU_TOLERANCE (FAIRSHARE_CORE / 100)
#define MEMORY_TOLERANCE ((uint64_t) 1 << 20)
/* A value re-sent this many times in a row without sticking is held from elsewhere: not fought over. */
#define DRIFT_RESENDS_MAX 3u

#define CPU_MAX ((uint64_t) FAIRSHARE_CORES_MAX * FAIRSHARE_CORE)

typedef struct WindowSample {
        usec_t t;
        uint64_t usage;
} WindowSample;

/* What was sent for one value, and whether it sticks. */
typedef struct SendState {
        uint64_t sent;      /* FAIRSHARE_UNSET: nothing sent (or a send failed) */
        unsigned drifts;    /* re-sends in a row for a read-back that differed */
        bool conflict;
} SendState;

typedef struct UserState {
        uint32_t uid;
        WindowSample window[FAIRSHARE_WINDOW_SAMPLES];
        unsigned window_first, window_n;
        bool have_last;
        usec_t last_now;
        uint64_t last_usage;
        uint64_t rate, window_rate; /* held when a tick gives none */
        bool saturated;             /* its use reached UpperThrottle × its cap (held too) */
        bool measured;              /* a rate was computed once */
        SendState cpu, memory_max, memory_high;
        bool throttled;
        uint64_t throttle_id, throttle_cap;
        usec_t throttle_start_wall;
        unsigned calm;
        double throttle_sum;
        uint64_t throttle_n;
        usec_t penalty_reported, limit_reported; /* the expiry an event was given for */
} UserState;

typedef struct UidIndex {
        uint32_t uid, index;
} UidIndex;

/* Per user, between the passes of a tick. */
typedef enum Kind {
        KIND_EXEMPT,
        KIND_FIXED,
        KIND_DYNAMIC,
} Kind;

typedef struct Work {
        Kind kind;
        uint64_t fixed;     /* KIND_FIXED: the cap */
        bool from_limit;
        FairSharePenalty penalty;
        bool rate_valid;
        double demand;      /* water-filling: usec/s, INFINITY when it wants more than it got */
} Work;

typedef struct Demand {
        double demand;
        uint32_t index;
} Demand;

struct FairShare {
        FairShareConfig config;
        uint64_t next_event_id;
        bool have_now;
        usec_t last_now;
        SendState user_slice;

        UserState *states, *states_next; /* states[i] belongs to the last tick's input i */
        UidIndex *order, *order_next;    /* sorted by uid */
        size_t n_states, cap_states;
        bool *matched;
        size_t cap_matched;
        Work *work;
        Demand *demands;
        FairShareDecision *decisions;
        FairShareEvent *events;
        size_t cap_users, cap_events;

        FairShareResult result;
};

static const char *const mode_names[_FAIRSHARE_MODE_MAX] = {
        [FAIRSHARE_EVEN_ACTIVE] = "even_active",
        [FAIRSHARE_HARD_CAP] = "hard_cap",
        [FAIRSHARE_WEIGHT_MODE] = "weight",
};

static const char *const penalty_names[_FAIRSHARE_PENALTY_MAX] = {
        [FAIRSHARE_PENALTY_NONE] = "none",
        [FAIRSHARE_PENALTY_ACTIVE] = "active",
        [FAIRSHARE_PENALTY_LOCKED] = "locked",
};

static const char *const event_names[_FAIRSHARE_EVENT_MAX] = {
        [FAIRSHARE_EVENT_THROTTLE_START] = "throttle-start",
        [FAIRSHARE_EVENT_THROTTLE_END] = "throttle-end",
        [FAIRSHARE_EVENT_PENALTY_EXPIRED] = "penalty-expired",
        [FAIRSHARE_EVENT_LIMIT_EXPIRED] = "limit-expired",
};

const char *fairshare_mode_to_string(FairShareMode m) {
        return (unsigned) m < _FAIRSHARE_MODE_MAX ? mode_names[m] : NULL;
}

const char *fairshare_penalty_to_string(FairSharePenalty p) {
        return (unsigned) p < _FAIRSHARE_PENALTY_MAX ? penalty_names[p] : NULL;
}

const char *fairshare_event_type_to_string(FairShareEventType t) {
        return (unsigned) t < _FAIRSHARE_EVENT_MAX ? event_names[t] : NULL;
}

static int lookup(const char *const *names, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (names[i] && streq(names[i], s))
                        return (int) i;
        return -EINVAL;
}

int fairshare_mode_from_string(const char *s) {
        return lookup(mode_names, ELEMENTSOF(mode_names), s);
}

int fairshare_penalty_from_string(const char *s) {
        return lookup(penalty_names, ELEMENTSOF(penalty_names), s);
}

void fairshare_config_init(FairShareConfig *c, double cores, uint64_t ram_bytes) {
        assert(c);

        *c = (FairShareConfig) {
                .mode = FAIRSHARE_EVEN_ACTIVE,
                .cpu_pct_max = 0.90,
                .cores = cores,
                .activity_threshold = 0.15,
                .activity_window_usec = 5 * USEC_PER_SEC,
                .min_change_pct = 0.05,
                .upper_throttle = 0.95,
                .lower_throttle = 0.85,
                .throttle_end_intervals = 4,
                .hard_cap_cores = 1.0,
                .memory_limit_bytes = ram_bytes > 0 ? ram_bytes / 4 : FAIRSHARE_INFINITY,
                .memory_high_pct = 0.90,
                .memory_buffer_bytes = (uint64_t) 64 << 20,
                .memory_min_change_bytes = (uint64_t) 16 << 20,
                .penalty_cpu_pct = 0.30,
                .penalty_memory_bytes = FAIRSHARE_INFINITY,
                .max_gap_usec = 30 * USEC_PER_SEC,
        };
}

static bool in_range(double v, double lo, double hi) {
        return isfinite(v) && v >= lo && v <= hi; /* NaN fails every comparison */
}

int fairshare_config_check(const FairShareConfig *c) {
        if (!c)
                return -EINVAL;
        if ((unsigned) c->mode >= _FAIRSHARE_MODE_MAX)
                return -EINVAL;
        if (!in_range(c->cores, 0.01, FAIRSHARE_CORES_MAX) || !in_range(c->cpu_pct_max, 0.01, 1.0) ||
            !in_range(c->activity_threshold, 0.0, FAIRSHARE_CORES_MAX) ||
            !in_range(c->min_change_pct, 0.0, FAIRSHARE_CORES_MAX) ||
            !in_range(c->upper_throttle, 0.01, 1.0) ||
            !in_range(c->lower_throttle, 0.0, c->upper_throttle) ||
            !in_range(c->hard_cap_cores, 0.01, FAIRSHARE_CORES_MAX) ||
            !in_range(c->memory_high_pct, 0.0, 1.0) || !in_range(c->penalty_cpu_pct, 0.01, 1.0))
                return -EINVAL;
        if (c->activity_window_usec == 0 || c->activity_window_usec > 24 * 3600 * USEC_PER_SEC)
                return -EINVAL;
        if (c->throttle_end_intervals == 0 || c->throttle_end_intervals > 1000000)
                return -EINVAL;
        if (c->max_gap_usec == 0 || c->memory_limit_bytes == 0 || c->penalty_memory_bytes == 0)
                return -EINVAL;
        return 0;
}

void fairshare_user_input_init(FairShareUserInput *u, uint32_t uid) {
        assert(u);

        *u = (FairShareUserInput) {
                .uid = uid,
                .cpu_usage_usec = FAIRSHARE_UNSET,
                .memory_bytes = FAIRSHARE_UNSET,
                .kernel_cpu_quota = FAIRSHARE_UNSET,
                .kernel_memory_max = FAIRSHARE_UNSET,
                .kernel_memory_high = FAIRSHARE_UNSET,
                .override_cpu = FAIRSHARE_UNSET,
                .override_memory_bytes = FAIRSHARE_UNSET,
                .penalty_memory_bytes = FAIRSHARE_UNSET,
                .limit_cpu = FAIRSHARE_UNSET,
                .limit_memory_bytes = FAIRSHARE_UNSET,
        };
}

static void send_state_reset(SendState *s) {
        *s = (SendState) { .sent = FAIRSHARE_UNSET };
}

int fairshare_new(const FairShareConfig *config, uint64_t first_event_id, FairShare **ret) {
        _cleanup_(fairshare_freep) FairShare *fs = NULL;

        assert(ret);

        if (fairshare_config_check(config) < 0)
                return -EINVAL;
        fs = calloc(1, sizeof(*fs));
        if (!fs)
                return -ENOMEM;
        fs->config = *config;
        fs->next_event_id = first_event_id;
        send_state_reset(&fs->user_slice);
        fs->result.user_slice_quota = FAIRSHARE_INFINITY;
        *ret = TAKE_PTR(fs);
        return 0;
}

FairShare *fairshare_free(FairShare *fs) {
        if (!fs)
                return NULL;
        free(fs->states);
        free(fs->states_next);
        free(fs->order);
        free(fs->order_next);
        free(fs->matched);
        free(fs->work);
        free(fs->demands);
        free(fs->decisions);
        free(fs->events);
        free(fs);
        return NULL;
}

int fairshare_set_config(FairShare *fs, const FairShareConfig *config) {
        assert(fs);

        if (fairshare_config_check(config) < 0)
                return -EINVAL;
        fs->config = *config;
        return 0;
}

/* Grows *p to hold n elements of `size` bytes (keeping its contents); -ENOMEM leaves it as it was. */
static int grow(void **p, size_t *cap, size_t n, size_t size) {
        size_t want;
        void *q;

        if (n <= *cap)
                return 0;
        want = MAX(n, MAX(*cap * 2, (size_t) 16));
        q = reallocarray(*p, want, size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = want;
        return 0;
}

static int reserve(FairShare *fs, size_t n_users) {
        size_t n_events = 3 * n_users + fs->n_states, cap;
        int r;

        /* every array of users shares cap_users: grow each, then record */
        if (n_users > fs->cap_users) {
                size_t want = MAX(n_users, MAX(fs->cap_users * 2, (size_t) 16));

                cap = fs->cap_users;
                r = grow((void **) &fs->work, &cap, want, sizeof(Work));
                if (r >= 0)
                        cap = fs->cap_users, r = grow((void **) &fs->demands, &cap, want, sizeof(Demand));
                if (r >= 0)
                        cap = fs->cap_users,
                        r = grow((void **) &fs->decisions, &cap, want, sizeof(FairShareDecision));
                if (r >= 0)
                        cap = fs->cap_users,
                        r = grow((void **) &fs->order_next, &cap, want, sizeof(UidIndex));
                if (r >= 0)
                        cap = fs->cap_users,
                        r = grow((void **) &fs->states_next, &cap, want, sizeof(UserState));
                if (r >= 0)
                        cap = fs->cap_users, r = grow((void **) &fs->order, &cap, want, sizeof(UidIndex));
                if (r >= 0)
                        cap = fs->cap_users, r = grow((void **) &fs->states, &cap, want, sizeof(UserState));
                if (r < 0)
                        return r;
                fs->cap_users = want;
        }
        r = grow((void **) &fs->events, &fs->cap_events, n_events, sizeof(FairShareEvent));
        if (r < 0)
                return r;
        return grow((void **) &fs->matched, &fs->cap_matched, MAX(fs->n_states, (size_t) 1), sizeof(bool));
}

static int uid_index_compare(const void *a, const void *b) {
        const UidIndex *x = a, *y = b;

        return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int demand_compare(const void *a, const void *b) {
        const Demand *x = a, *y = b;

        if (x->demand != y->demand)
                return x->demand < y->demand ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index; /* the same order every time */
}

static const UidIndex *find(const UidIndex *order, size_t n, uint32_t uid) {
        UidIndex key = { .uid = uid };

        return n > 0 ? bsearch(&key, order, n, sizeof(UidIndex), uid_index_compare) : NULL;
}

/* usec/s from a double: NaN and negatives are 0, the rest bounded by CPU_MAX. */
static uint64_t to_cpu(double v) {
        if (!(v > 0))
                return 0;
        if (v >= (double) CPU_MAX)
                return CPU_MAX;
        return (uint64_t) (v + 0.5); /* v < CPU_MAX: in range */
}

static uint64_t cpu_input(uint64_t v) {
        if (v == FAIRSHARE_INFINITY || v == FAIRSHARE_UNSET)
                return v;
        return CLAMP(v, FAIRSHARE_QUOTA_MIN, CPU_MAX);
}

static uint64_t cap_floor(uint64_t v) {
        return v == FAIRSHARE_INFINITY ? v : MAX(v, FAIRSHARE_QUOTA_MIN);
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return b >= FAIRSHARE_UNSET - 1 || a > FAIRSHARE_UNSET - 1 - b ? FAIRSHARE_UNSET - 1 : a + b;
}

static bool close_to(uint64_t a, uint64_t b, uint64_t tolerance) {
        if (a == b)
                return true;
        if (a >= FAIRSHARE_UNSET || b >= FAIRSHARE_UNSET) /* infinity against a number */
                return false;
        return (a > b ? a - b : b - a) <= tolerance;
}

/* Whether to send `desired` now: nothing sent yet (unless the kernel already holds it), a change of at
 * least `min_change` (or to or from infinity), or a read-back that drifted from what was sent. */
static bool decide_send(SendState *s, uint64_t desired, uint64_t kernel, uint64_t min_change,
                        uint64_t tolerance) {
        if (s->sent == FAIRSHARE_UNSET) {
                s->sent = desired;
                s->drifts = 0;
                s->conflict = false;
                /* after a restart the runtime drop-in is still there: adopt it, no burst of sends */
                return !(kernel != FAIRSHARE_UNSET && close_to(kernel, desired, tolerance));
        }
        if (desired != s->sent && !close_to(desired, s->sent, min_change > 0 ? min_change - 1 : 0)) {
                s->sent = desired;
                s->drifts = 0;
                s->conflict = false;
                return true;
        }
        if (kernel == FAIRSHARE_UNSET || close_to(kernel, s->sent, tolerance)) {
                s->drifts = 0;
                s->conflict = false;
                return false;
        }
        if (s->drifts >= DRIFT_RESENDS_MAX) {
                s->conflict = true;
                return false;
        }
        s->drifts++;
        return true;
}

/* MinChangePct of a core, but at most an eighth of the smaller cap: with hundreds of users on a few cores a
 * share is near 5 % of a core, and a fixed step would hold every cap where it was first set (at 500 users
 * on 32 cores a quarter left 3-7 % of the pool idle, an eighth 1.4-2 % for ~6 sends a second; bench/). */
static uint64_t cap_min_change(uint64_t min_change, uint64_t sent, uint64_t desired) {
        uint64_t smaller = MIN(sent, desired);

        if (smaller >= FAIRSHARE_UNSET)
                return min_change;
        return MAX(MIN(min_change, smaller / 8), CPU_TOLERANCE);
}

static void window_reset(UserState *s, usec_t now, uint64_t usage) {
        s->window[0] = (WindowSample) { .t = now, .usage = usage };
        s->window_first = 0;
        s->window_n = 1;
}

static WindowSample *window_at(UserState *s, unsigned i) {
        return &s->window[(s->window_first + i) % FAIRSHARE_WINDOW_SAMPLES];
}

/* Adds a sample and returns the use over the window (or the one interval if that is all there is). */
static uint64_t window_push(UserState *s, usec_t now, uint64_t usage, usec_t window, double limit) {
        const WindowSample *base;
        usec_t since = now > window ? now - window : 0;

        if (s->window_n == FAIRSHARE_WINDOW_SAMPLES) {
                s->window_first = (s->window_first + 1) % FAIRSHARE_WINDOW_SAMPLES;
                s->window_n--;
        }
        *window_at(s, s->window_n++) = (WindowSample) { .t = now, .usage = usage };
        /* the base: the newest sample at or before the window's start, or the oldest there is */
        while (s->window_n > 2 && window_at(s, 1)->t <= since) {
                s->window_first = (s->window_first + 1) % FAIRSHARE_WINDOW_SAMPLES;
                s->window_n--;
        }
        base = window_at(s, 0);
        if (base->t >= now || base->usage > usage)
                return s->window_rate;
        return to_cpu(MIN((double) (usage - base->usage) * (double) USEC_PER_SEC / (double) (now - base->t),
                          limit));
}

/* New rates from this tick's sample; false (rates held, window restarted) when it gives none: the first
 * sample, none this tick, a counter that went back (slice re-created), a clock that jumped. */
static bool update_rates(UserState *s, const FairShareUserInput *u, usec_t now, bool clock_jump,
                         const FairShareConfig *c) {
        double limit = c->cores * (double) FAIRSHARE_CORE;
        uint64_t usage = u->cpu_usage_usec;

        if (usage >= FAIRSHARE_UNSET)
                return false;
        if (!s->have_last || clock_jump || now <= s->last_now || now - s->last_now > c->max_gap_usec ||
            usage < s->last_usage) {
                s->have_last = true;
                s->last_now = now;
                s->last_usage = usage;
                window_reset(s, now, usage);
                return false;
        }
        /* a use above every core is a sampling artefact: bounded by the cores */
        s->rate = to_cpu(MIN((double) (usage - s->last_usage) * (double) USEC_PER_SEC /
                                     (double) (now - s->last_now),
                             limit));
        s->window_rate = window_push(s, now, usage, c->activity_window_usec, limit);
        s->measured = true;
        s->last_now = now;
        s->last_usage = usage;
        return true;
}

static void event_add(FairShare *fs, FairShareEventType type, const UserState *s, usec_t start, usec_t end,
                      uint64_t cpu, uint64_t cap, bool left) {
        assert(fs->result.n_events < fs->cap_events);
        fs->events[fs->result.n_events++] = (FairShareEvent) {
                .type = type,
                .uid = s->uid,
                .id = s->throttle_id,
                .start_wall = start,
                .end_wall = end,
                .cpu = cpu,
                .cap = cap,
                .user_left = left,
        };
}

static void throttle_end(FairShare *fs, UserState *s, usec_t wall, bool left) {
        uint64_t mean = s->throttle_n > 0 ? to_cpu(s->throttle_sum / (double) s->throttle_n) : 0;

        event_add(fs, FAIRSHARE_EVENT_THROTTLE_END, s, s->throttle_start_wall,
                  MAX(wall, s->throttle_start_wall), mean, s->throttle_cap, left);
        s->throttled = false;
        s->calm = 0;
}

/* cgroup_py's rule: throttled once the use reaches UpperThrottle × the cap; over after
 * throttle_end_intervals intervals in a row at or below LowerThrottle × the cap (or with no cap). */
static void update_throttle(FairShare *fs, UserState *s, uint64_t cap, usec_t wall) {
        const FairShareConfig *c = &fs->config;
        bool finite = cap < FAIRSHARE_UNSET;

        if (!s->throttled) {
                if (finite && (double) s->rate >= c->upper_throttle * (double) cap) {
                        s->throttled = true;
                        s->throttle_id = fs->next_event_id++;
                        s->throttle_cap = cap;
                        s->throttle_start_wall = wall;
                        s->throttle_sum = (double) s->rate;
                        s->throttle_n = 1;
                        s->calm = 0;
                        event_add(fs, FAIRSHARE_EVENT_THROTTLE_START, s, wall, 0, s->rate, cap, false);
                }
                return;
        }
        s->throttle_sum += (double) s->rate;
        s->throttle_n++;
        if (finite)
                s->throttle_cap = cap;
        if (!finite || (double) s->rate <= c->lower_throttle * (double) cap)
                s->calm++;
        else
                s->calm = 0;
        if (s->calm >= c->throttle_end_intervals)
                throttle_end(fs, s, wall, false);
}

static bool expired(usec_t until, usec_t wall) {
        return until > 0 && wall >= until;
}

/* The memory limits to hold: the desired limit, but never below the use plus the buffer; a limit raised so
 * follows the use down, never up. */
static void decide_memory(const FairShareConfig *c, UserState *s, const FairShareUserInput *u, const Work *w,
                          bool limit_on, FairShareDecision *d) {
        uint64_t desired, target, high;
        bool send;

        if (limit_on && u->limit_memory_bytes != FAIRSHARE_UNSET)
                desired = u->limit_memory_bytes;
        else if (u->override_memory_bytes != FAIRSHARE_UNSET)
                desired = u->override_memory_bytes;
        else if (w->kind == KIND_EXEMPT)
                desired = FAIRSHARE_INFINITY;
        else
                desired = c->memory_limit_bytes;
        if (w->penalty != FAIRSHARE_PENALTY_NONE) {
                uint64_t lower = u->penalty_memory_bytes != FAIRSHARE_UNSET ? u->penalty_memory_bytes :
                                                                              c->penalty_memory_bytes;

                if (lower != FAIRSHARE_INFINITY)
                        desired = MIN(desired, lower);
        }
        if (desired == FAIRSHARE_UNSET)
                desired = FAIRSHARE_INFINITY;

        if (u->memory_bytes == FAIRSHARE_UNSET && desired != FAIRSHARE_INFINITY) {
                /* no use known: no safe limit to compute; hold what was sent */
                d->memory_max = s->memory_max.sent == FAIRSHARE_UNSET ? FAIRSHARE_INFINITY :
                                                                        s->memory_max.sent;
                d->memory_high = s->memory_high.sent == FAIRSHARE_UNSET ? FAIRSHARE_INFINITY :
                                                                          s->memory_high.sent;
                d->send_memory = false;
                return;
        }
        target = desired;
        if (desired != FAIRSHARE_INFINITY) {
                uint64_t floor = add_sat(u->memory_bytes, c->memory_buffer_bytes);
                uint64_t prev = s->memory_max.sent >= FAIRSHARE_UNSET ? floor : s->memory_max.sent;

                target = MAX(desired, MIN(prev, floor));
                d->reason.memory_clamped = target > desired;
        }
        high = FAIRSHARE_INFINITY;
        if (target != FAIRSHARE_INFINITY && c->memory_high_pct > 0) {
                double h = (double) target * c->memory_high_pct;

                high = h >= (double) target ? target : (uint64_t) h;
        }
        send = decide_send(&s->memory_max, target, u->kernel_memory_max, c->memory_min_change_bytes,
                           MEMORY_TOLERANCE);
        if (c->memory_high_pct > 0) {
                /* sent together with MemoryMax: a MemoryMax send carries it */
                bool send_high = decide_send(&s->memory_high, high, u->kernel_memory_high,
                                             c->memory_min_change_bytes, MEMORY_TOLERANCE);
                if (send)
                        s->memory_high.sent = high;
                send = send || send_high;
                if (send)
                        s->memory_max.sent = target;
        }
        d->memory_max = s->memory_max.sent;
        d->memory_high = c->memory_high_pct > 0 ? s->memory_high.sent : FAIRSHARE_INFINITY;
        d->send_memory = send;
        d->conflict = d->conflict || s->memory_max.conflict || s->memory_high.conflict;
}

/* What one tick shares out: cgroup_py's pool and share, and the water level over it. */
typedef struct Shares {
        double threshold;      /* usec/s over the window that makes a user active */
        double idle_use;       /* usec/s used by everyone not sharing the pool */
        unsigned n_active;     /* active users sharing the pool */
        double pool;           /* CPUPctMax × (cores − idle use) */
        double share;          /* pool / active users */
        double inactive_share; /* what an inactive user would get by becoming active */
        double level;          /* water level for those who want more, INFINITY when all are content ... */
        double slack;          /* ... and what they leave unused then */
        unsigned n_lighter;    /* active users using less than the share */
        uint64_t min_change;
} Shares;

/* Expiry of a penalty or a runtime limit: one event per `until`, however long the input keeps it. */
static bool still_on(FairShare *fs, UserState *s, FairShareEventType type, usec_t until, usec_t *reported,
                     usec_t wall) {
        if (!expired(until, wall))
                return true;
        if (*reported != until) {
                *reported = until;
                event_add(fs, type, s, 0, until, 0, 0, false);
                fs->events[fs->result.n_events - 1].id = 0;
        }
        return false;
}

/* Pass 1, a user: its state, rates, activity, expiries, what kind of cap, the memory limits. */
static void measure_user(FairShare *fs, size_t i, const FairShareUserInput *u, usec_t now, usec_t wall,
                         Shares *sh) {
        const FairShareConfig *c = &fs->config;
        const UidIndex *old = find(fs->order, fs->n_states, u->uid);
        UserState *s = &fs->states_next[i];
        FairShareDecision *d = &fs->decisions[i];
        Work *w = &fs->work[i];
        bool penalty_on, limit_on;

        if (old) {
                *s = fs->states[old->index];
                fs->matched[old->index] = true;
        } else {
                *s = (UserState) { .uid = u->uid };
                send_state_reset(&s->cpu);
                send_state_reset(&s->memory_max);
                send_state_reset(&s->memory_high);
        }
        *w = (Work) { .rate_valid = update_rates(s, u, now, fs->result.clock_jump, c) };

        penalty_on = (unsigned) u->penalty < _FAIRSHARE_PENALTY_MAX &&
                     u->penalty != FAIRSHARE_PENALTY_NONE &&
                     still_on(fs, s, FAIRSHARE_EVENT_PENALTY_EXPIRED, u->penalty_until, &s->penalty_reported,
                              wall);
        limit_on = (u->limit_cpu != FAIRSHARE_UNSET || u->limit_memory_bytes != FAIRSHARE_UNSET) &&
                   still_on(fs, s, FAIRSHARE_EVENT_LIMIT_EXPIRED, u->limit_until, &s->limit_reported, wall);
        w->penalty = penalty_on ? u->penalty : FAIRSHARE_PENALTY_NONE;
        /* a runtime limit over users.d, users.d's exemption over its fixed cap */
        if (limit_on && u->limit_cpu != FAIRSHARE_UNSET) {
                w->kind = KIND_FIXED;
                w->fixed = cpu_input(u->limit_cpu);
                w->from_limit = true;
        } else if (u->exempt)
                w->kind = KIND_EXEMPT;
        else if (u->override_cpu != FAIRSHARE_UNSET) {
                w->kind = KIND_FIXED;
                w->fixed = cpu_input(u->override_cpu);
        } else
                w->kind = KIND_DYNAMIC;

        *d = (FairShareDecision) {
                .uid = u->uid,
                .active = s->have_last && (double) s->window_rate >= sh->threshold,
                .exempt = w->kind == KIND_EXEMPT,
                .penalized = penalty_on,
                .rate_valid = w->rate_valid,
                .rate = s->rate,
                .window_rate = s->window_rate,
        };
        d->reason.penalty = w->penalty;
        d->reason.penalty_fleet = penalty_on && u->penalty_fleet;
        d->reason.limit_fleet = w->from_limit && u->limit_fleet;
        if (w->kind == KIND_DYNAMIC && d->active)
                sh->n_active++;
        else
                sh->idle_use += (double) s->rate;
        if (d->active)
                fs->result.n_active++;
        decide_memory(c, s, u, w, limit_on, d);
}

/* Pass 2: cgroup_py's share, CPUPctMax × (cores − what the others use) / active users, and the water
 * level: what an active user leaves unused below the share goes to those who want more. A user wants
 * more when its use reached UpperThrottle × the cap it had; a penalized user never gets more than its
 * penalty. */
static void water_fill(FairShare *fs, const FairShareUserInput *users, size_t n_users, Shares *sh) {
        const FairShareConfig *c = &fs->config;
        double remaining;
        size_t n = 0;

        sh->pool = c->cpu_pct_max * MAX(c->cores * (double) FAIRSHARE_CORE - sh->idle_use, 0.0);
        sh->share = sh->pool / (double) MAX(sh->n_active, 1u);
        sh->inactive_share = sh->pool / (double) (sh->n_active + 1);
        sh->level = INFINITY;
        sh->slack = 0;
        if (c->mode != FAIRSHARE_EVEN_ACTIVE)
                return;

        for (size_t i = 0; i < n_users; i++) {
                UserState *s = &fs->states_next[i];
                Work *w = &fs->work[i];
                uint64_t cap_had = users[i].kernel_cpu_quota != FAIRSHARE_UNSET ? users[i].kernel_cpu_quota :
                                   s->cpu.sent;

                if (w->kind != KIND_DYNAMIC || !fs->decisions[i].active)
                        continue;
                if (w->rate_valid) /* else held from the tick before */
                        s->saturated = cap_had < FAIRSHARE_UNSET &&
                                       (double) s->rate >= c->upper_throttle * (double) cap_had;
                w->demand = s->saturated ? INFINITY : (double) s->rate;
                if (w->penalty == FAIRSHARE_PENALTY_ACTIVE)
                        w->demand = MIN(w->demand, c->penalty_cpu_pct * sh->share);
                else if (w->penalty == FAIRSHARE_PENALTY_LOCKED)
                        w->demand = MIN(w->demand,
                                        MIN(sh->share, c->penalty_cpu_pct * (double) FAIRSHARE_CORE));
                fs->demands[n++] = (Demand) { .demand = w->demand, .index = (uint32_t) i };
        }
        if (n > 0) /* none allocated before the first user */
                qsort(fs->demands, n, sizeof(Demand), demand_compare);
        remaining = sh->pool;
        for (size_t j = 0; j < n; j++) {
                double even = remaining / (double) (n - j);

                if (fs->demands[j].demand > even) {
                        sh->level = even;
                        break;
                }
                remaining -= fs->demands[j].demand;
                if (fs->demands[j].demand < sh->share)
                        sh->n_lighter++;
        }
        if (isinf(sh->level))
                sh->slack = MAX(remaining, 0.0);
}

/* Pass 3, a user: the cap, the penalty on top, throttle events, whether to send. */
static void decide_cpu(FairShare *fs, size_t i, const FairShareUserInput *u, usec_t wall, const Shares *sh) {
        const FairShareConfig *c = &fs->config;
        FairShareDecision *d = &fs->decisions[i];
        UserState *s = &fs->states_next[i];
        Work *w = &fs->work[i];
        uint64_t cap = FAIRSHARE_INFINITY, cap_had, base;
        double raw;

        d->reason.n_active = sh->n_active;
        d->reason.idle_use = to_cpu(sh->idle_use);
        d->reason.share = to_cpu(d->active ? sh->share : sh->inactive_share);
        if (w->kind == KIND_EXEMPT)
                d->reason.kind = FAIRSHARE_REASON_EXEMPT;
        else if (w->kind == KIND_FIXED) {
                d->reason.kind = w->from_limit ? FAIRSHARE_REASON_LIMIT : FAIRSHARE_REASON_OVERRIDE;
                cap = d->reason.share = w->fixed;
        } else if (c->mode == FAIRSHARE_HARD_CAP) {
                d->reason.kind = FAIRSHARE_REASON_HARD_CAP;
                cap = d->reason.share = to_cpu(c->cpu_pct_max * c->hard_cap_cores * (double) FAIRSHARE_CORE);
        } else if (c->mode == FAIRSHARE_WEIGHT_MODE) {
                d->reason.kind = FAIRSHARE_REASON_WEIGHT;
                d->cpu_weight = FAIRSHARE_WEIGHT;
        } else if (!s->measured && u->kernel_cpu_quota != FAIRSHARE_UNSET) {
                /* not measured yet (a daemon restart, a new slice): what the kernel holds is kept, no cap
                 * raised for a tick and lowered again */
                d->reason.kind = FAIRSHARE_REASON_PENDING;
                cap = cpu_input(u->kernel_cpu_quota);
        } else if (!d->active) {
                d->reason.kind = FAIRSHARE_REASON_INACTIVE;
                cap = to_cpu(sh->inactive_share);
        } else {
                d->reason.kind = FAIRSHARE_REASON_ACTIVE;
                d->reason.n_lighter = sh->n_lighter;
                if (isfinite(sh->level) && w->demand >= sh->level)
                        raw = MAX(sh->share, sh->level);
                else if (isfinite(sh->level)) /* room to grow without counting as throttled */
                        raw = MAX(sh->share, MIN(sh->level, w->demand / MAX(c->lower_throttle, 0.01)));
                else
                        raw = MAX(sh->share, w->demand + sh->slack);
                cap = to_cpu(raw);
                if (raw > sh->share + 0.5)
                        d->reason.lent = cap;
        }

        /* the penalty box: on top of whatever the cap is, never raising it */
        if (w->penalty == FAIRSHARE_PENALTY_ACTIVE) {
                if (w->kind == KIND_DYNAMIC && c->mode == FAIRSHARE_EVEN_ACTIVE)
                        base = d->reason.share;
                else
                        base = cap != FAIRSHARE_INFINITY ? cap : to_cpu(sh->share);
                cap = to_cpu(c->penalty_cpu_pct * (double) base);
                d->reason.lent = 0;
        } else if (w->penalty == FAIRSHARE_PENALTY_LOCKED) {
                cap = MIN(cap, to_cpu(c->penalty_cpu_pct * (double) FAIRSHARE_CORE));
                d->reason.lent = 0;
        }
        cap = cap_floor(cap);
        d->cpu_desired = cap;

        /* throttle events against the cap the last interval ran under */
        cap_had = u->kernel_cpu_quota != FAIRSHARE_UNSET ? u->kernel_cpu_quota : s->cpu.sent;
        if (cap_had == FAIRSHARE_UNSET || w->kind == KIND_EXEMPT)
                cap_had = FAIRSHARE_INFINITY;
        if (w->rate_valid)
                update_throttle(fs, s, cap_had, wall);
        d->throttled = s->throttled;
        if (s->throttled)
                fs->result.n_throttled++;

        d->send_cpu = decide_send(&s->cpu, cap, u->kernel_cpu_quota,
                                  cap_min_change(sh->min_change, s->cpu.sent, cap), CPU_TOLERANCE);
        d->cpu_quota = s->cpu.sent;
        d->conflict = d->conflict || s->cpu.conflict;
        fs->result.n_sends += d->send_cpu + d->send_memory;
}

/* `weight` mode: the one cap is on user.slice; lifted when leaving it (by this daemon or the one before). */
static void decide_user_slice(FairShare *fs, uint64_t kernel, const Shares *sh) {
        const FairShareConfig *c = &fs->config;
        FairShareResult *r = &fs->result;

        uint64_t cap = cap_floor(to_cpu(c->cpu_pct_max * c->cores * (double) FAIRSHARE_CORE));
        bool ours = fs->user_slice.sent < FAIRSHARE_UNSET, unknown = fs->user_slice.sent == FAIRSHARE_UNSET;

        if (c->mode == FAIRSHARE_WEIGHT_MODE)
                r->send_user_slice = decide_send(&fs->user_slice, cap, kernel, sh->min_change,
                                                 CPU_TOLERANCE);
        else if (ours || (unknown && kernel < FAIRSHARE_UNSET))
                r->send_user_slice = decide_send(&fs->user_slice, FAIRSHARE_INFINITY, kernel, sh->min_change,
                                                 CPU_TOLERANCE);
        r->user_slice_quota = fs->user_slice.sent == FAIRSHARE_UNSET ? FAIRSHARE_INFINITY :
                                                                       fs->user_slice.sent;
        r->n_sends += r->send_user_slice;
}

int fairshare_tick(FairShare *fs, usec_t now, usec_t wall, const FairShareUserInput *users, size_t n_users,
                   uint64_t user_slice_kernel_quota, const FairShareResult **ret) {
        const FairShareConfig *c;
        Shares sh;
        UserState *states;
        UidIndex *order;
        int r;

        assert(fs);
        assert(ret);

        c = &fs->config;
        if (n_users > FAIRSHARE_USERS_MAX || (n_users > 0 && !users))
                return -EINVAL;
        r = reserve(fs, n_users);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_users; i++)
                fs->order_next[i] = (UidIndex) { .uid = users[i].uid, .index = (uint32_t) i };
        if (n_users > 0) /* none allocated before the first user */
                qsort(fs->order_next, n_users, sizeof(UidIndex), uid_index_compare);
        for (size_t i = 1; i < n_users; i++)
                if (fs->order_next[i].uid == fs->order_next[i - 1].uid)
                        return -EINVAL;
        /* From here on nothing fails. */

        fs->result = (FairShareResult) {
                .decisions = fs->decisions,
                .n_decisions = n_users,
                .events = fs->events,
                .clock_jump = fs->have_now && (now <= fs->last_now || now - fs->last_now > c->max_gap_usec),
                .user_slice_quota = FAIRSHARE_INFINITY,
        };
        fs->have_now = true;
        fs->last_now = now;
        sh = (Shares) {
                .threshold = c->activity_threshold * (double) FAIRSHARE_CORE,
                .min_change = to_cpu(c->min_change_pct * (double) FAIRSHARE_CORE),
        };
        if (n_users > 3) /* cgroup_py: the more users, the smaller a share, the lower the bar */
                sh.threshold = sh.threshold * 3.0 / (double) n_users;

        memset(fs->matched, 0, MAX(fs->n_states, (size_t) 1) * sizeof(bool));
        for (size_t i = 0; i < n_users; i++)
                measure_user(fs, i, &users[i], now, wall, &sh);
        water_fill(fs, users, n_users, &sh);
        for (size_t i = 0; i < n_users; i++)
                decide_cpu(fs, i, &users[i], wall, &sh);
        decide_user_slice(fs, user_slice_kernel_quota, &sh);

        /* Users gone: an open throttle event ends. */
        for (size_t j = 0; j < fs->n_states; j++)
                if (!fs->matched[j] && fs->states[j].throttled)
                        throttle_end(fs, &fs->states[j], wall, true);

        /* The new state becomes the state. */
        states = fs->states;
        fs->states = fs->states_next;
        fs->states_next = states;
        order = fs->order;
        fs->order = fs->order_next;
        fs->order_next = order;
        fs->n_states = n_users;
        *ret = &fs->result;
        return 0;
}

void fairshare_send_failed(FairShare *fs, uint32_t uid) {
        const UidIndex *i;

        assert(fs);

        i = find(fs->order, fs->n_states, uid);
        if (!i)
                return;
        send_state_reset(&fs->states[i->index].cpu);
        send_state_reset(&fs->states[i->index].memory_max);
        send_state_reset(&fs->states[i->index].memory_high);
}

void fairshare_forget_sent(FairShare *fs) {
        assert(fs);

        for (size_t i = 0; i < fs->n_states; i++) {
                send_state_reset(&fs->states[i].cpu);
                send_state_reset(&fs->states[i].memory_max);
                send_state_reset(&fs->states[i].memory_high);
        }
        send_state_reset(&fs->user_slice);
}

static double cores_of(uint64_t v) {
        return (double) v / (double) FAIRSHARE_CORE;
}

int fairshare_reason_format(const FairShareDecision *d, const FairShareConfig *c, char *buf, size_t size) {
        const FairShareReason *r;
        const char *plural;
        int n = 0, k;

        assert(d);
        assert(c);
        assert(buf || size == 0);

        r = &d->reason;
        plural = c->cores == 1.0 ? "" : "s";
#define APPEND(...)                                                                             \
        do {                                                                                    \
                k = snprintf(size > (size_t) n ? buf + n : NULL, size > (size_t) n ? size - (size_t) n : 0, \
                             __VA_ARGS__);                                                      \
                if (k < 0)                                                                      \
                        return -EINVAL;                                                         \
                n += k;                                                                         \
        } while (0)
        switch (r->kind) {
        case FAIRSHARE_REASON_EXEMPT:
                APPEND("exempt (users.d): no cap");
                break;
        case FAIRSHARE_REASON_PENDING:
                APPEND("not measured yet: the cap in the kernel kept");
                break;
        case FAIRSHARE_REASON_OVERRIDE:
        case FAIRSHARE_REASON_LIMIT:
                APPEND("%s: fixed cap ",
                       r->kind == FAIRSHARE_REASON_OVERRIDE ? "users.d" :
                       r->limit_fleet                       ? "fleet limit" : "slicekeeper limit");
                if (r->share == FAIRSHARE_INFINITY)
                        APPEND("none");
                else
                        APPEND("%.2f core", cores_of(r->share));
                break;
        case FAIRSHARE_REASON_ACTIVE:
        case FAIRSHARE_REASON_INACTIVE:
                if (r->kind == FAIRSHARE_REASON_INACTIVE)
                        APPEND("inactive (%.2f core used), the share if active: %u active user%s + 1: ",
                               cores_of(d->window_rate), r->n_active, r->n_active == 1 ? "" : "s");
                else
                        APPEND("%u active user%s: ", r->n_active, r->n_active == 1 ? "" : "s");
                APPEND("%.2f × (%g core%s − %.2f idle use) / %u = %.2f core", c->cpu_pct_max, c->cores,
                       plural, cores_of(r->idle_use),
                       r->kind == FAIRSHARE_REASON_INACTIVE ? r->n_active + 1 : MAX(r->n_active, 1u),
                       cores_of(r->share));
                if (r->lent > 0)
                        APPEND(", raised to %.2f core: %u lighter user%s leave%s CPU unused",
                               cores_of(r->lent), r->n_lighter, r->n_lighter == 1 ? "" : "s",
                               r->n_lighter == 1 ? "s" : "");
                break;
        case FAIRSHARE_REASON_HARD_CAP:
                APPEND("hard cap: %.2f × %g core%s = %.2f core", c->cpu_pct_max, c->hard_cap_cores,
                       c->hard_cap_cores == 1.0 ? "" : "s", cores_of(r->share));
                break;
        case FAIRSHARE_REASON_WEIGHT:
                APPEND("weight mode: equal CPUWeight, user.slice capped at %.2f × %g core%s; "
                       "no cap of its own",
                       c->cpu_pct_max, c->cores, plural);
                break;
        }
        if (r->penalty == FAIRSHARE_PENALTY_ACTIVE)
                APPEND("; %spenalty box (active): %.2f × that = %.2f core", r->penalty_fleet ? "fleet " : "",
                       c->penalty_cpu_pct, cores_of(d->cpu_desired));
        else if (r->penalty == FAIRSHARE_PENALTY_LOCKED)
                APPEND("; %spenalty box (locked): %.2f core", r->penalty_fleet ? "fleet " : "",
                       cores_of(d->cpu_desired));
        if (r->memory_clamped)
                APPEND("; MemoryMax above the limit: in use now");
#undef APPEND
        return n;
}
