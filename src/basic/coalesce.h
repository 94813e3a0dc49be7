/* SPDX-License-Identifier: MIT */
/* When to act on a stream of change notifications (re-read the tree, run a pass): wait for a quiet moment,
 * but never postpone a change longer than a bound, and never act more often than a minimum interval.
 * Pure: the caller passes the time in and arms its own timer for coalescer_due(). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "time-util.h"

/* The daemon's one bound: a change is acted on at most this long after it happened, however often
 * changes keep coming, and a burst of changes costs about one action per this interval. */
#define COALESCE_BOUND_USEC (200 * USEC_PER_MSEC)

/* A change the daemon may have caused itself (systemd writing the drop-in of our own SetUnitProperties) is
 * looked at within this, so it joins the next pass of a burst instead of adding one. */
#define COALESCE_LAZY_USEC (2 * COALESCE_BOUND_USEC)

typedef struct Coalescer {
        usec_t settle_usec;       /* act once no change came for this long ... */
        usec_t max_delay_usec;    /* ... but at most this long after the first change not acted on */
        usec_t min_interval_usec; /* and never sooner than this after the previous action */
        bool pending, urgent, acted;
        usec_t last_usec;         /* the latest pending change (not a lazy one) */
        usec_t deadline_usec;     /* the earliest time a pending change must be acted on by */
        usec_t acted_usec;        /* the previous action */
        uint64_t n_changes, n_actions;
} Coalescer;

void coalescer_init(Coalescer *c, usec_t settle_usec, usec_t max_delay_usec, usec_t min_interval_usec);
/* A change happened at `now`. */
void coalescer_change(Coalescer *c, usec_t now);
/* A change that can wait up to `within` (no settling): an action meanwhile takes care of it. */
void coalescer_change_lazy(Coalescer *c, usec_t now, usec_t within);
/* When to act on the pending changes (may be in the past: at once); USEC_INFINITY when none is pending.
 * At most max(max_delay, min_interval) after the first pending change. */
usec_t coalescer_due(const Coalescer *c);
/* The caller acted at `now` (read, pass started): what was pending is taken care of. */
void coalescer_acted(Coalescer *c, usec_t now);
/* Whether only lazy changes are pending (the action they ask for would be for possible echoes alone). */
bool coalescer_lazy_only(const Coalescer *c);

/* Echoes of our own writes (systemd writing the drop-ins of our SetUnitProperties) ask for a lazy pass, in
 * case a hand change hides among them. A property systemd keeps differently from how it was sent is sent
 * again by that pass, whose echo would ask for another one, forever: an echo-only pass that re-sends what
 * the pass before it sent lets its own echoes wait twice as long as the previous one, up to a maximum (the
 * periodic interval). Anything else sent, or nothing sent, starts over. */
typedef struct EchoGuard {
        unsigned repeats; /* echo-only passes in a row that re-sent the same properties */
} EchoGuard;

/* A pass ended: `echo_only` whether only possible echoes asked for it (coalescer_lazy_only() when it
 * started), `sent` whether it sent properties, `same` whether exactly those the pass before it sent. */
void echo_guard_pass_done(EchoGuard *g, bool echo_only, bool sent, bool same);
/* How long an echo of the latest pass may wait: `lazy`, doubled for each repeat, at most max(lazy, max). */
usec_t echo_guard_delay(const EchoGuard *g, usec_t lazy, usec_t max);
