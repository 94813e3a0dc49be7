/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pending-read.h"

void source_read_done(SourceRead *r) {
        assert(r);

        free(r->message);
        free(r->data);
        *r = (SourceRead) { .version = -1 };
}

void pending_read_done(PendingRead *p) {
        assert(p);

        source_read_done(&p->read);
        p->pending = false;
}

int pending_read_put(PendingRead *p, int error, const char *message, const char *data, size_t size,
                     int64_t version) {
        SourceRead read = { .error = error, .version = version };
        bool oom = false;

        assert(p);
        assert(error < 0 || data || size == 0);

        if (error >= 0) {
                read.data = malloc(size + 1);
                if (read.data) {
                        if (size > 0)
                                memcpy(read.data, data, size);
                        read.data[size] = 0;
                        read.size = size;
                } else
                        oom = true;
        }
        if (message) {
                read.message = strdup(message);
                oom = oom || !read.message;
        }
        if (oom) {
                source_read_done(&read);
                read = (SourceRead) { .error = -ENOMEM, .version = -1 };
        }

        if (p->pending)
                p->n_replaced++;
        source_read_done(&p->read);
        p->read = read;
        p->pending = true;
        p->n_put++;
        return oom ? -ENOMEM : 0;
}

bool pending_read_take(PendingRead *p, SourceRead *ret) {
        assert(p);
        assert(ret);

        if (!p->pending)
                return false;
        *ret = p->read;
        p->read = (SourceRead) { .version = -1 };
        p->pending = false;
        p->n_taken++;
        return true;
}
