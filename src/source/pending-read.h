/* SPDX-License-Identifier: MIT */
/* The read of the tree a source holds between a client library's callback and its delivery from the event loop
 * (pure): only the newest read is kept, so what waits is bounded by one read, whatever arrives meanwhile. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One read: error 0 with the bytes and version, or error < 0 with a message (NULL: none). */
typedef struct SourceRead {
        int error;
        char *message;
        char *data;      /* a NUL-terminated copy of size bytes; NULL with an error */
        size_t size;
        int64_t version;
} SourceRead;

typedef struct PendingRead {
        SourceRead read;
        bool pending;
        uint64_t n_put;      /* reads recorded */
        uint64_t n_replaced; /* ... of which a newer one replaced before they were taken */
        uint64_t n_taken;    /* ... taken for delivery */
} PendingRead; /* zero-initialised: nothing pending */

/* Records a read, replacing one not yet taken. The message and the bytes are copied (the caller's belong to the
 * library). Out of memory, -ENOMEM error without a message is recorded instead, so a read is still delivered
 * and the owner learns why it is not the tree; returns -ENOMEM then, else 0. */
int pending_read_put(PendingRead *p, int error, const char *message, const char *data, size_t size,
                     int64_t version);
/* Hands the pending read over: true with *ret filled (free with source_read_done()), false when nothing is
 * pending (*ret untouched). */
bool pending_read_take(PendingRead *p, SourceRead *ret);
/* Drops a pending read (the owner's cleanup); the counters stay. */
void pending_read_done(PendingRead *p);
void source_read_done(SourceRead *r);
