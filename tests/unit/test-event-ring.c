/* SPDX-License-Identifier: MIT */
/* The event stream's ring (bounded, sequence numbers without gaps, the oldest dropped), the kinds' names,
 * the subscriber filter and the backlog a new subscriber gets. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "event-ring.h"
#include "macro.h"
#include "tests.h"

static void push(EventRing *r, EventKind kind, bool has_uid, uint32_t uid, const char *slice) {
        char text[64];

        snprintf(text, sizeof(text), "{\"seq\":%" PRIu64 "}", event_ring_next_seq(r));
        ASSERT_EQ_INT(event_ring_push(r, kind, has_uid, uid, slice, text, strlen(text)), 0);
}

/* The backlog as text, with lost. */
static void assert_backlog(const EventRing *r, const EventFilter *f, bool has_since, uint64_t since, size_t last,
                           const char *expected, int expected_n, uint64_t expected_lost) {
        Buf out = { 0 };
        uint64_t lost = 77;

        ASSERT_EQ_INT(event_ring_backlog(r, f, has_since, since, last, &out, &lost), expected_n);
        ASSERT_EQ_INT(buf_put(&out, "", 1), 0);
        ASSERT_STREQ((const char *) out.data, expected);
        ASSERT_EQ_U64(lost, expected_lost);
        buf_done(&out);
}

TEST(test_kind_names_round_trip) {
        for (int k = 0; k < _EVENT_KIND_MAX; k++) {
                const char *name = event_kind_to_string((EventKind) k);

                ASSERT_TRUE(name != NULL);
                ASSERT_EQ_INT(event_kind_from_string(name), k);
        }
        ASSERT_STREQ(event_kind_to_string(EVENT_THROTTLE_START), "throttle_start");
        ASSERT_TRUE(event_kind_to_string(_EVENT_KIND_MAX) == NULL);
        ASSERT_TRUE(event_kind_to_string((EventKind) -1) == NULL);
        ASSERT_EQ_INT(event_kind_from_string("throttle"), -EINVAL);
        ASSERT_EQ_INT(event_kind_from_string(""), -EINVAL);
        ASSERT_EQ_INT(event_kind_from_string(NULL), -EINVAL);
}

TEST(test_ring_keeps_the_last_capacity_with_seqs) {
        EventRing r;
        EventFilter all = { 0 };

        ASSERT_EQ_INT(event_ring_init(&r, 3), 0);
        ASSERT_EQ_U64(event_ring_next_seq(&r), 1);
        assert_backlog(&r, &all, false, 0, 10, "[]", 0, 0);
        assert_backlog(&r, &all, true, 0, 10, "[]", 0, 0);
        for (int i = 0; i < 5; i++)
                push(&r, EVENT_THROTTLE_START, true, 1000, "user-1000.slice");
        ASSERT_EQ_INT(r.n, 3);
        ASSERT_EQ_U64(event_ring_next_seq(&r), 6);
        ASSERT_EQ_U64(event_ring_get(&r, 0)->seq, 3);
        ASSERT_EQ_U64(event_ring_get(&r, 2)->seq, 5);
        ASSERT_TRUE(event_ring_get(&r, 3) == NULL);
        ASSERT_EQ_INT(r.bytes, 3 * strlen("{\"seq\":3}"));
        /* since: what came after, and how many are gone */
        assert_backlog(&r, &all, true, 0, 0, "[{\"seq\":3},{\"seq\":4},{\"seq\":5}]", 3, 2);
        assert_backlog(&r, &all, true, 1, 0, "[{\"seq\":3},{\"seq\":4},{\"seq\":5}]", 3, 1);
        assert_backlog(&r, &all, true, 2, 0, "[{\"seq\":3},{\"seq\":4},{\"seq\":5}]", 3, 0);
        assert_backlog(&r, &all, true, 4, 0, "[{\"seq\":5}]", 1, 0);
        assert_backlog(&r, &all, true, 5, 0, "[]", 0, 0);
        assert_backlog(&r, &all, true, UINT64_MAX, 0, "[]", 0, 0);
        /* the last N */
        assert_backlog(&r, &all, false, 0, 2, "[{\"seq\":4},{\"seq\":5}]", 2, 0);
        assert_backlog(&r, &all, false, 0, 1000, "[{\"seq\":3},{\"seq\":4},{\"seq\":5}]", 3, 0);
        assert_backlog(&r, &all, false, 0, 0, "[]", 0, 0);
        event_ring_done(&r);
        event_ring_done(&r); /* done twice is harmless */
}

TEST(test_filter_kinds_uid_slice) {
        EventFilter f = { 0 };

        ASSERT_TRUE(event_filter_match(&f, EVENT_OOM, false, 0, NULL));
        f.kinds = 1u << EVENT_THROTTLE_START | 1u << EVENT_THROTTLE_END;
        ASSERT_TRUE(event_filter_match(&f, EVENT_THROTTLE_END, true, 5, "x.slice"));
        ASSERT_TRUE(!event_filter_match(&f, EVENT_LIMIT, true, 5, "x.slice"));
        ASSERT_TRUE(!event_filter_match(&f, (EventKind) 31, true, 5, "x.slice"));
        f.has_uid = true;
        f.uid = 5;
        ASSERT_TRUE(event_filter_match(&f, EVENT_THROTTLE_END, true, 5, NULL));
        ASSERT_TRUE(!event_filter_match(&f, EVENT_THROTTLE_END, true, 6, NULL));
        ASSERT_TRUE(!event_filter_match(&f, EVENT_THROTTLE_END, false, 5, NULL)); /* not about a user */
        strcpy(f.slice, "user-5.slice");
        ASSERT_TRUE(event_filter_match(&f, EVENT_THROTTLE_END, true, 5, "user-5.slice"));
        ASSERT_TRUE(!event_filter_match(&f, EVENT_THROTTLE_END, true, 5, "user-5.slicex"));
        ASSERT_TRUE(!event_filter_match(&f, EVENT_THROTTLE_END, true, 5, NULL));
}

TEST(test_backlog_filtered) {
        EventRing r;
        EventFilter f = { .has_uid = true, .uid = 7 };

        ASSERT_EQ_INT(event_ring_init(&r, 10), 0);
        push(&r, EVENT_THROTTLE_START, true, 7, "user-7.slice"); /* 1 */
        push(&r, EVENT_THROTTLE_START, true, 8, "user-8.slice"); /* 2 */
        push(&r, EVENT_TREE_APPLIED, false, 0, NULL);            /* 3 */
        push(&r, EVENT_THROTTLE_END, true, 7, "user-7.slice");   /* 4 */
        push(&r, EVENT_LIMIT, true, 7, "user-7.slice");          /* 5 */
        assert_backlog(&r, &f, false, 0, 2, "[{\"seq\":4},{\"seq\":5}]", 2, 0);
        assert_backlog(&r, &f, true, 1, 0, "[{\"seq\":4},{\"seq\":5}]", 2, 0);
        f.kinds = 1u << EVENT_THROTTLE_START;
        assert_backlog(&r, &f, false, 0, 5, "[{\"seq\":1}]", 1, 0);
        f = (EventFilter) { .kinds = 1u << EVENT_TREE_APPLIED };
        assert_backlog(&r, &f, true, 0, 0, "[{\"seq\":3}]", 1, 0);
        event_ring_done(&r);
}

TEST(test_a_thousand_and_more) {
        EventRing r;
        EventFilter all = { 0 };
        Buf out = { 0 };
        uint64_t lost;

        ASSERT_EQ_INT(event_ring_init(&r, EVENT_RING_MAX), 0);
        for (unsigned i = 0; i < 3 * EVENT_RING_MAX + 7; i++)
                push(&r, (EventKind) (i % _EVENT_KIND_MAX), i % 2, i, i % 3 ? "s.slice" : NULL);
        ASSERT_EQ_INT(r.n, EVENT_RING_MAX);
        ASSERT_EQ_U64(event_ring_get(&r, 0)->seq, 2 * EVENT_RING_MAX + 8);
        ASSERT_EQ_INT(event_ring_backlog(&r, &all, true, 0, 0, &out, &lost), EVENT_RING_MAX);
        ASSERT_EQ_U64(lost, 2 * EVENT_RING_MAX + 7);
        buf_done(&out);
        event_ring_done(&r);
}

int main(void) {
        RUN(test_kind_names_round_trip);
        RUN(test_ring_keeps_the_last_capacity_with_seqs);
        RUN(test_filter_kinds_uid_slice);
        RUN(test_backlog_filtered);
        RUN(test_a_thousand_and_more);
        return 0;
}
