/* SPDX-License-Identifier: MIT */
/* The Redis sink's unsent seconds: oldest first, a full queue drops the oldest on a push and refuses a second
 * put back in front (it is the oldest), seconds that waited their time go from the front only, and the
 * memory is the table alone, whatever goes through it. */
#include <errno.h>

#include "second-queue.h"
#include "tests.h"

#define SEC USEC_PER_SEC

static QueuedSecond qs(uint64_t unix_sec, usec_t queued_usec) {
        return (QueuedSecond) { .unix_sec = unix_sec, .queued_usec = queued_usec };
}

static void expect(SecondQueue *q, const uint64_t *secs, size_t n) {
        ASSERT_EQ_U64(q->len, n);
        for (size_t i = 0; i < n; i++) {
                QueuedSecond s;

                ASSERT_EQ_U64(second_queue_front(q)->unix_sec, secs[i]);
                ASSERT_TRUE(second_queue_pop_front(q, &s));
                ASSERT_EQ_U64(s.unix_sec, secs[i]);
        }
        ASSERT_TRUE(second_queue_front(q) == NULL);
        ASSERT_TRUE(!second_queue_pop_front(q, NULL));
}

TEST(test_init) {
        SecondQueue q;

        ASSERT_EQ_INT(second_queue_init(&q, 0), -EINVAL);
        ASSERT_EQ_INT(second_queue_init(&q, 300), 0);
        ASSERT_EQ_U64(second_queue_bytes(&q), 300 * sizeof(QueuedSecond));
        ASSERT_EQ_U64(second_queue_bytes(&q), 300 * 16);
        ASSERT_TRUE(second_queue_front(&q) == NULL);
        second_queue_done(&q);
        second_queue_done(&q); /* done twice is harmless */
}

TEST(test_fifo_and_wrap) {
        SecondQueue q;
        uint64_t want[4];

        ASSERT_EQ_INT(second_queue_init(&q, 4), 0);
        /* Many times round the ring: the order holds across the wrap. */
        for (uint64_t base = 1000; base < 1100; base += 3) {
                for (uint64_t i = 0; i < 3; i++)
                        ASSERT_EQ_INT(second_queue_push_back(&q, qs(base + i, base * SEC)), 0);
                for (uint64_t i = 0; i < 3; i++)
                        want[i] = base + i;
                expect(&q, want, 3);
        }
        second_queue_done(&q);
}

TEST(test_full_drops_the_oldest) {
        SecondQueue q;
        static const uint64_t want[] = { 7, 8, 9 };

        ASSERT_EQ_INT(second_queue_init(&q, 3), 0);
        for (uint64_t s = 1; s <= 3; s++)
                ASSERT_EQ_INT(second_queue_push_back(&q, qs(s, 0)), 0);
        for (uint64_t s = 4; s <= 9; s++)
                ASSERT_EQ_INT(second_queue_push_back(&q, qs(s, 0)), 1);
        ASSERT_EQ_U64(second_queue_bytes(&q), 3 * sizeof(QueuedSecond)); /* nothing grew */
        expect(&q, want, 3);
        second_queue_done(&q);
}

TEST(test_put_back_in_front) {
        SecondQueue q;
        static const uint64_t want[] = { 10, 11, 12, 13 }, full[] = { 11, 12, 13 };

        ASSERT_EQ_INT(second_queue_init(&q, 4), 0);
        /* A pipeline of 10, 11 taken out while 12, 13 were queued; its unanswered part goes back, newest
         * first, and the order is as before. */
        ASSERT_EQ_INT(second_queue_push_back(&q, qs(12, 0)), 0);
        ASSERT_EQ_INT(second_queue_push_back(&q, qs(13, 0)), 0);
        ASSERT_EQ_INT(second_queue_push_front(&q, qs(11, 0)), 0);
        ASSERT_EQ_INT(second_queue_push_front(&q, qs(10, 0)), 0);
        expect(&q, want, 4);

        /* Full: the one put back is the oldest, so it is the one dropped. */
        second_queue_done(&q);
        ASSERT_EQ_INT(second_queue_init(&q, 3), 0);
        for (uint64_t s = 11; s <= 13; s++)
                ASSERT_EQ_INT(second_queue_push_back(&q, qs(s, 0)), 0);
        ASSERT_EQ_INT(second_queue_push_front(&q, qs(10, 0)), 1);
        expect(&q, full, 3);
        /* From an empty queue at head 0: the head wraps backwards. */
        ASSERT_EQ_INT(second_queue_push_front(&q, qs(5, 0)), 0);
        ASSERT_EQ_INT(second_queue_push_back(&q, qs(6, 0)), 0);
        ASSERT_EQ_U64(second_queue_front(&q)->unix_sec, 5);
        second_queue_done(&q);
}

TEST(test_drop_aged) {
        SecondQueue q;
        static const uint64_t want[] = { 103, 104 };

        ASSERT_EQ_INT(second_queue_init(&q, 10), 0);
        for (uint64_t s = 100; s < 105; s++)
                ASSERT_EQ_INT(second_queue_push_back(&q, qs(s, s * SEC)), 0);
        ASSERT_EQ_U64(second_queue_drop_aged(&q, 105 * SEC, 10 * SEC), 0);
        /* Waited exactly max_age: gone (Redis would have expired it); one µs less: kept. */
        ASSERT_EQ_U64(second_queue_drop_aged(&q, 112 * SEC, 10 * SEC), 3);
        ASSERT_EQ_U64(second_queue_drop_aged(&q, 113 * SEC - 1, 10 * SEC), 0);
        /* A clock that went back: no wait, nothing dropped. */
        ASSERT_EQ_U64(second_queue_drop_aged(&q, 1, 10 * SEC), 0);
        expect(&q, want, 2);
        ASSERT_EQ_U64(second_queue_drop_aged(&q, UINT64_MAX, 0), 0); /* empty */

        /* Only from the front: an old entry behind a young one waits for it (seconds are pushed in order;
         * one put back in front is older than those behind it). */
        ASSERT_EQ_INT(second_queue_push_back(&q, qs(1, 50 * SEC)), 0);
        ASSERT_EQ_INT(second_queue_push_back(&q, qs(2, 0)), 0);
        ASSERT_EQ_U64(second_queue_drop_aged(&q, 55 * SEC, 10 * SEC), 0);
        ASSERT_EQ_U64(second_queue_drop_aged(&q, 60 * SEC, 10 * SEC), 2);
        ASSERT_EQ_U64(q.len, 0);
        second_queue_done(&q);
}

int main(void) {
        RUN(test_init);
        RUN(test_fifo_and_wrap);
        RUN(test_full_drops_the_oldest);
        RUN(test_put_back_in_front);
        RUN(test_drop_aged);
        return 0;
}
