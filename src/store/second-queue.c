/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "macro.h"
#include "second-queue.h"

int second_queue_init(SecondQueue *q, size_t max) {
        assert(q);

        *q = (SecondQueue) { 0 };
        if (max == 0)
                return -EINVAL;
        q->items = calloc(max, sizeof(QueuedSecond));
        if (!q->items)
                return -ENOMEM;
        q->max = max;
        return 0;
}

void second_queue_done(SecondQueue *q) {
        assert(q);

        free(q->items);
        *q = (SecondQueue) { 0 };
}

static QueuedSecond *at(const SecondQueue *q, size_t i) {
        return &q->items[(q->head + i) % q->max];
}

bool second_queue_pop_front(SecondQueue *q, QueuedSecond *ret) {
        assert(q);

        if (q->len == 0)
                return false;
        if (ret)
                *ret = q->items[q->head];
        q->head = (q->head + 1) % q->max;
        q->len--;
        return true;
}

int second_queue_push_back(SecondQueue *q, QueuedSecond s) {
        int dropped = 0;

        assert(q);
        assert(q->max > 0);

        if (q->len == q->max) {
                (void) second_queue_pop_front(q, NULL);
                dropped = 1;
        }
        *at(q, q->len++) = s;
        return dropped;
}

int second_queue_push_front(SecondQueue *q, QueuedSecond s) {
        assert(q);
        assert(q->max > 0);

        if (q->len == q->max)
                return 1;
        q->head = (q->head + q->max - 1) % q->max;
        q->items[q->head] = s;
        q->len++;
        return 0;
}

const QueuedSecond *second_queue_front(const SecondQueue *q) {
        assert(q);

        return q->len > 0 ? &q->items[q->head] : NULL;
}

size_t second_queue_drop_aged(SecondQueue *q, usec_t now, usec_t max_age_usec) {
        size_t n = 0;

        assert(q);

        while (q->len > 0 && now - MIN(now, q->items[q->head].queued_usec) >= max_age_usec) {
                (void) second_queue_pop_front(q, NULL);
                n++;
        }
        return n;
}

size_t second_queue_bytes(const SecondQueue *q) {
        assert(q);

        return q->max * sizeof(QueuedSecond);
}
