/* SPDX-License-Identifier: MIT */
/* A growable byte buffer for writers that append: reserve room once, then write through the pointer. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct Buf {
        uint8_t *data;
        size_t size, alloc;
} Buf;

void buf_done(Buf *b);
/* Makes room for n more bytes after size; -ENOMEM leaves the buffer as it was. */
int buf_reserve(Buf *b, size_t n);
int buf_put(Buf *b, const void *p, size_t n);

/* Callers that reserved room append without checks. */
static inline uint8_t *buf_tail(Buf *b) {
        return b->data + b->size;
}

static inline void buf_put_unchecked(Buf *b, const void *p, size_t n) {
        if (n == 0)
                return; /* an empty buffer may have no data yet, and memcpy() to NULL is undefined even for 0 */
        memcpy(b->data + b->size, p, n);
        b->size += n;
}
