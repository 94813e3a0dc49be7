/* SPDX-License-Identifier: MIT */
/* A message made part by part, as its reader takes it: a websocket answer (RFC 6455 fragments) or a
 * control socket answer. Each part costs a bounded amount of work, so a large answer never holds the loop. */
#pragma once

#include <stddef.h>

#include "buf.h"

typedef struct PartStream {
        /* Appends about want more bytes of the message to out: > 0 while more follows, 0 once the message
         * is complete, a negative errno on failure. */
        int (*next)(void *state, Buf *out, size_t want);
        void (*free)(void *state);
        void *state;
} PartStream;

static inline void part_stream_done(PartStream *s) {
        if (s->free)
                s->free(s->state);
        *s = (PartStream) { 0 };
}
