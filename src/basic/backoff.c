/* SPDX-License-Identifier: MIT */
#include <assert.h>

#include "backoff.h"
#include "macro.h"

void backoff_init(Backoff *b, usec_t min_usec, usec_t max_usec) {
        assert(b);
        *b = (Backoff) { .min_usec = min_usec, .max_usec = max_usec };
}

usec_t backoff_next_usec(Backoff *b) {
        assert(b);
        b->delay_usec = backoff_exponential_usec(b->attempt, b->min_usec, b->max_usec);
        if (b->attempt < BACKOFF_ATTEMPT_MAX)
                b->attempt++;
        return b->delay_usec;
}

void backoff_reset(Backoff *b) {
        assert(b);
        b->attempt = 0;
        b->delay_usec = 0;
}

usec_t backoff_exponential_usec(unsigned attempt, usec_t min_usec, usec_t max_usec) {
        usec_t d = min_usec;

        for (unsigned i = 0; i < attempt && d < max_usec; i++)
                d = d > max_usec / 2 ? max_usec : d * 2; /* saturate instead of wrapping */
        return MIN(d, max_usec);
}

usec_t backoff_jitter_usec(usec_t delay, unsigned div, uint64_t random) {
        if (div == 0 || delay < div || delay >= USEC_INFINITY / 4)
                return delay; /* nothing to spread, or no real wait (infinity stays infinity) */
        return delay - delay / div + random % (2 * delay / div + 1);
}
