/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "macro.h"
#include "record.h"
#include "show-account.h"

struct AccountStream {
        uint64_t next, end;
        unsigned controllers;
        bool opened, any, done;
        RingReader reader;
        RecordLayout *layout;
};

int account_stream_new(uint64_t start, uint64_t end, AccountStream **ret) {
        AccountStream *s;

        assert(ret);

        if (start > end)
                return -EINVAL;
        s = calloc(1, sizeof(AccountStream));
        if (!s)
                return -ENOMEM;
        s->next = start;
        s->end = end;
        s->controllers = RECORD_ALL;
        *ret = s;
        return 0;
}

void account_stream_set_controllers(AccountStream *s, unsigned mask) {
        assert(s);

        s->controllers = mask & RECORD_ALL;
}

AccountStream *account_stream_free(AccountStream *s) {
        if (!s)
                return NULL;
        ring_reader_done(&s->reader);
        record_layout_free(s->layout);
        free(s);
        return NULL;
}

int account_stream_next(AccountStream *s, const Ring *ring, Buf *out, size_t want) {
        size_t until = out->size + want;
        int r;

        assert(s);
        assert(ring);
        assert(out);

        if (s->done)
                return 0;
        if (!s->opened) {
                r = buf_put(out, "{", 1);
                if (r < 0)
                        return r;
                s->opened = true;
        }
        do {
                uint64_t sec = s->next;

                r = ring_read(ring, sec, &s->reader);
                if (r >= 0) {
                        /* cgrouparch left out missing slots too */
                        r = record_layout_update(&s->layout, s->reader.set);
                        if (r >= 0 && s->any)
                                r = buf_put(out, ",", 1);
                        if (r >= 0)
                                r = record_write_key(sec, out);
                        if (r >= 0)
                                r = record_write_controllers(s->layout, s->controllers, s->reader.values, out);
                        if (r < 0)
                                return r;
                        s->any = true;
                } else if (r != -ENOENT)
                        return r;
                if (sec == s->end) { /* end may be UINT64_MAX: never wrap */
                        s->done = true;
                        r = buf_put(out, "}", 1);
                        return r < 0 ? r : 0;
                }
                s->next++;
        } while (out->size < until);
        return 1;
}

int account_stream_all(const Ring *ring, uint64_t start, uint64_t end, char **ret) {
        _cleanup_(account_stream_freep) AccountStream *s = NULL;
        _cleanup_(buf_done) Buf b = { 0 };
        int r;

        assert(ring);
        assert(ret);

        r = account_stream_new(start, end, &s);
        while (r >= 0) {
                r = account_stream_next(s, ring, &b, SIZE_MAX / 4);
                if (r == 0)
                        break;
        }
        if (r >= 0)
                r = buf_put(&b, "", 1);
        if (r < 0)
                return r;
        *ret = (char *) TAKE_PTR(b.data);
        return 0;
}
