/* SPDX-License-Identifier: MIT */
/* How long to wait before trying again (pure): capped exponential backoff, and a ±jitter so a fleet that lost
 * a server together does not come back in lockstep. The caller passes the random bits in. */
#pragma once

#include <stdint.h>

#include "time-util.h"

/* Past this many failures in a row the delay is the cap anyway (for any min ≥ 1): the count stops there. */
#define BACKOFF_ATTEMPT_MAX 64U

typedef struct Backoff {
        usec_t min_usec, max_usec;
        unsigned attempt;  /* failures since the last reset: the exponent */
        usec_t delay_usec; /* the latest delay handed out; 0 after a reset */
} Backoff;

void backoff_init(Backoff *b, usec_t min_usec, usec_t max_usec);
/* A failure: the delay before the next try (min × 2^failures before it, at most max). */
usec_t backoff_next_usec(Backoff *b);
/* A success: the next failure waits min again. */
void backoff_reset(Backoff *b);

/* min × 2^attempt, at most max, for any max including USEC_INFINITY (saturates, never wraps). */
usec_t backoff_exponential_usec(unsigned attempt, usec_t min_usec, usec_t max_usec);
/* `delay` spread evenly over [delay - delay/div, delay - delay/div + 2·delay/div] by `random` (div 8: ±12.5 %).
 * div 0, a delay shorter than div, and one of USEC_INFINITY/4 or more are returned as they are. */
usec_t backoff_jitter_usec(usec_t delay, unsigned div, uint64_t random);
