/* SPDX-License-Identifier: MIT */
#include <assert.h>

#include "backoff.h"
#include "coalesce.h"
#include "macro.h"

void coalescer_init(Coalescer *c, usec_t settle_usec, usec_t max_delay_usec, usec_t min_interval_usec) {
        assert(c);

        *c = (Coalescer) {
                .settle_usec = settle_usec,
                .max_delay_usec = max_delay_usec,
                .min_interval_usec = min_interval_usec,
                .deadline_usec = USEC_INFINITY,
        };
}

static void change(Coalescer *c, usec_t deadline) {
        c->pending = true;
        c->deadline_usec = MIN(c->deadline_usec, deadline);
        c->n_changes++;
}

void coalescer_change(Coalescer *c, usec_t now) {
        assert(c);

        change(c, now + c->max_delay_usec);
        c->urgent = true;
        c->last_usec = MAX(c->last_usec, now);
}

void coalescer_change_lazy(Coalescer *c, usec_t now, usec_t within) {
        assert(c);

        change(c, now + within);
}

usec_t coalescer_due(const Coalescer *c) {
        usec_t due;

        assert(c);

        if (!c->pending)
                return USEC_INFINITY;
        due = c->deadline_usec;
        if (c->urgent)
                due = MIN(due, c->last_usec + c->settle_usec);
        if (c->acted)
                due = MAX(due, c->acted_usec + c->min_interval_usec);
        return due;
}

void coalescer_acted(Coalescer *c, usec_t now) {
        assert(c);

        c->pending = c->urgent = false;
        c->deadline_usec = USEC_INFINITY;
        c->acted = true;
        c->acted_usec = now;
        c->n_actions++;
}

bool coalescer_lazy_only(const Coalescer *c) {
        assert(c);

        return c->pending && !c->urgent;
}

void echo_guard_pass_done(EchoGuard *g, bool echo_only, bool sent, bool same) {
        assert(g);

        if (!sent || !same)
                g->repeats = 0;
        else if (echo_only && g->repeats < 63)
                g->repeats++;
        /* else: an asked-for pass re-sent the same (the periodic one): the echoes keep waiting as long */
}

usec_t echo_guard_delay(const EchoGuard *g, usec_t lazy, usec_t max) {
        assert(g);

        return backoff_exponential_usec(g->repeats, lazy, MAX(lazy, max));
}
