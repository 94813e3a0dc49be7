/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "macro.h"

void buf_done(Buf *b) {
        assert(b);

        free(b->data);
        *b = (Buf) { 0 };
}

int buf_reserve(Buf *b, size_t n) {
        size_t want;
        uint8_t *p;

        assert(b);

        if (n <= b->alloc - b->size)
                return 0;
        if (n > SIZE_MAX / 2 - b->size)
                return -ENOMEM;
        want = MAX(b->size + n, MAX(b->alloc * 2, (size_t) 256));
        p = realloc(b->data, want);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->alloc = want;
        return 0;
}

int buf_put(Buf *b, const void *p, size_t n) {
        int r = buf_reserve(b, n);

        assert(b);
        assert(p || n == 0);

        if (r < 0)
                return r;
        if (n > 0)
                buf_put_unchecked(b, p, n);
        return 0;
}
