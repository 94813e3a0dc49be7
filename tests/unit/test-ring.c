/* SPDX-License-Identifier: MIT */
/* The per-second window: put and get by second, wrap-around, the latest second, slice-set references and
 * refusals. (The slot codec and the ring against a model: test-ring-codec.c.) */
#include <errno.h>
#include <stdint.h>

#include "macro.h"
#include "ring.h"
#include "sample-fixtures.h"
#include "tests.h"

/* The values the ring holds for slice i at second sec, decoded by a fresh reader (io left out). */
static SampleValues value_at(const Ring *r, uint64_t sec, size_t i) {
        RingReader rd = { 0 };
        SampleValues v;

        ASSERT_EQ_INT(ring_read(r, sec, &rd), 0);
        ASSERT_TRUE(i < rd.set->n);
        v = rd.values[i];
        v.io = NULL;
        ring_reader_done(&rd);
        return v;
}


/* ---------------------------------------------------------------------------------------------------- */
/* ring */

TEST(test_ring_init_zero_and_done_twice) {
        Ring r;

        ASSERT_EQ_INT(ring_init(&r, 0), -EINVAL);
        ASSERT_TRUE(r.slots == NULL);
        ASSERT_EQ_INT(r.n_slots, 0);
        ASSERT_TRUE(ring_get(&r, 1) == NULL);
        ASSERT_TRUE(ring_latest(&r) == NULL);
        ring_done(&r);
        ASSERT_EQ_INT(ring_init(&r, 3), 0);
        ASSERT_EQ_INT(r.n_slots, 3);
        ASSERT_TRUE(ring_latest(&r) == NULL);
        ring_done(&r);
        ring_done(&r); /* a done ring is an empty one */
        ASSERT_TRUE(r.slots == NULL);
}

TEST(test_ring_put_get_by_second) {
        static const char *const paths[] = { "", "a" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(2, paths, NULL);
        Ring r;
        SampleValues *v100 = values_new(2), *v101 = values_new(2);
        const RingSlot *s;

        ASSERT_EQ_INT(ring_init(&r, 5), 0);
        v100[1].have = SAMPLE_HAVE_MEMORY;
        v100[1].memory_bytes = 4096;
        ASSERT_EQ_INT(ring_put(&r, 100, set, v100), 0);
        ASSERT_EQ_INT(ring_put(&r, 101, set, v101), 0);

        s = ring_get(&r, 100);
        ASSERT_TRUE(s != NULL);
        ASSERT_EQ_U64(s->unix_sec, 100);
        ASSERT_TRUE(s->set == set);
        ASSERT_EQ_U64(value_at(&r, 100, 1).memory_bytes, 4096);
        ASSERT_EQ_U64(value_at(&r, 100, 0).memory_bytes, 0);
        s = ring_get(&r, 101);
        ASSERT_TRUE(s != NULL && s->unix_sec == 101);
        ASSERT_TRUE(s->base_seq == ring_get(&r, 100)->seq); /* a delta against 100 */
        ASSERT_EQ_U64(value_at(&r, 101, 1).memory_bytes, 0);
        ASSERT_TRUE(ring_last(&r) != NULL && ring_last(&r)->values == v101); /* kept as given */

        ASSERT_TRUE(ring_get(&r, 102) == NULL); /* empty slot */
        ASSERT_TRUE(ring_get(&r, 99) == NULL);  /* slot of 104: empty */
        ASSERT_TRUE(ring_get(&r, 105) == NULL); /* 100's slot, another second */
        ASSERT_TRUE(ring_get(&r, 0) == NULL);
        ring_done(&r);
}

TEST(test_ring_wrap_replaces_old_second) {
        static const char *const paths[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);
        static const SampleIo io = { 8, 0, 1, 2, 3, 4 };
        Ring r;
        SampleValues *old = values_new(1), *new = values_new(1);
        const RingSlot *s;

        ASSERT_EQ_INT(ring_init(&r, 5), 0);
        set_io(&old[0], 1, &io); /* owned memory in the values: freed when replaced (ASan) */
        ASSERT_EQ_INT(ring_put(&r, 100, set, old), 0);
        put_marked(&r, set, 101);
        ASSERT_TRUE(ring_get(&r, 100) != NULL);

        new[0].have = SAMPLE_HAVE_PIDS;
        new[0].pids = 42;
        ASSERT_EQ_INT(ring_put(&r, 105, set, new), 0); /* 105 % 5 == 100 % 5 */
        ASSERT_TRUE(ring_get(&r, 100) == NULL);
        s = ring_get(&r, 105);
        ASSERT_TRUE(s != NULL);
        ASSERT_EQ_U64(value_at(&r, 105, 0).pids, 42);
        ASSERT_TRUE(s == &r.slots[0]);
        /* the neighbour lost its base (100): it is a key slot now, with the same values */
        s = ring_get(&r, 101);
        ASSERT_TRUE(s != NULL);
        ASSERT_EQ_U64(s->base_seq, 0);
        ASSERT_EQ_U64(value_at(&r, 101, 0).cpu_usage_nsec, 101000);
        ASSERT_EQ_INT(value_at(&r, 101, 0).n_io, 0);
        /* a whole window later every slot has turned over */
        for (uint64_t sec = 106; sec <= 110; sec++)
                put_marked(&r, set, sec);
        for (uint64_t sec = 100; sec <= 105; sec++)
                ASSERT_TRUE(ring_get(&r, sec) == NULL);
        for (uint64_t sec = 106; sec <= 110; sec++)
                ASSERT_EQ_U64(value_at(&r, sec, 0).cpu_usage_nsec, sec * 1000);
        ring_done(&r);
}

TEST(test_ring_put_same_second_twice_replaces) {
        static const char *const paths[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);
        Ring r;

        ASSERT_EQ_INT(ring_init(&r, 4), 0);
        put_marked(&r, set, 7);
        ASSERT_EQ_INT(set->n_ref, 3); /* ours, the slot's, the last values' */
        put_marked(&r, set, 7);
        ASSERT_EQ_INT(set->n_ref, 3); /* the old slot's reference was dropped */
        ASSERT_EQ_U64(value_at(&r, 7, 0).cpu_usage_nsec, 7000);
        ring_done(&r);
        ASSERT_EQ_INT(set->n_ref, 1);
}

TEST(test_ring_latest) {
        static const char *const paths[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);
        Ring r;

        ASSERT_EQ_INT(ring_init(&r, 4), 0);
        ASSERT_TRUE(ring_latest(&r) == NULL);
        put_marked(&r, set, 10);
        ASSERT_EQ_U64(ring_latest(&r)->unix_sec, 10);
        put_marked(&r, set, 12);
        put_marked(&r, set, 11); /* out of order: the latest is still 12 */
        ASSERT_EQ_U64(ring_latest(&r)->unix_sec, 12);
        ASSERT_TRUE(ring_latest(&r) == ring_get(&r, 12));
        put_marked(&r, set, 17); /* wraps over 13's slot (empty) */
        put_marked(&r, set, 16); /* wraps over 12's */
        ASSERT_EQ_U64(ring_latest(&r)->unix_sec, 17);
        ASSERT_TRUE(ring_get(&r, 12) == NULL);
        ring_done(&r);
}

TEST(test_ring_slice_set_refcount_across_slots) {
        static const char *const paths[] = { "", "a", "a/b" };
        static const char *const other_paths[] = { "" };
        SliceSet *set = make_set(3, paths, NULL);
        SliceSet *other = make_set(1, other_paths, NULL);
        Ring r;

        ASSERT_EQ_INT(ring_init(&r, 3), 0);
        for (uint64_t sec = 1; sec <= 3; sec++)
                put_marked(&r, set, sec);
        ASSERT_EQ_INT(set->n_ref, 5); /* ours + three slots + the last values */
        ASSERT_TRUE(slice_set_ref(set) == set);
        ASSERT_EQ_INT(set->n_ref, 6);
        ASSERT_TRUE(slice_set_unref(set) == NULL);
        ASSERT_EQ_INT(set->n_ref, 5);

        /* the caller lets go; the slots keep the set alive */
        ASSERT_TRUE(slice_set_unref(set) == NULL);
        ASSERT_EQ_INT(set->n_ref, 4);
        ASSERT_EQ_INT(ring_get(&r, 2)->set->n, 3);
        ASSERT_STREQ(ring_get(&r, 2)->set->paths[2], "a/b");

        /* a new set takes over slot by slot */
        put_marked(&r, other, 4);
        ASSERT_EQ_INT(set->n_ref, 3); /* slots 2 and 3, and the reader that made 2 a key slot */
        ASSERT_EQ_INT(other->n_ref, 3);
        ASSERT_EQ_U64(ring_get(&r, 4)->base_seq, 0); /* another set: a key slot */
        ASSERT_EQ_U64(ring_get(&r, 2)->base_seq, 0); /* its base (1) is gone */
        put_marked(&r, other, 5);
        ASSERT_EQ_INT(set->n_ref, 2); /* slot 3 and that reader */
        ASSERT_STREQ(ring_get(&r, 3)->set->units[1], "a.slice");
        ASSERT_STREQ(ring_get(&r, 3)->set->units[2], "a-b.slice");
        /* ring_done frees the last reference of set once, and other's down to ours (ASan: no double free,
         * no leak) */
        ring_done(&r);
        ASSERT_EQ_INT(other->n_ref, 1);
        ASSERT_TRUE(slice_set_unref(other) == NULL);
        ASSERT_TRUE(slice_set_unref(NULL) == NULL);
        ASSERT_TRUE(slice_set_ref(NULL) == NULL);
}

TEST(test_ring_put_refuses_second_zero_and_null_set) {
        static const char *const paths[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);
        Ring r;
        SampleValues *v = values_new(1);

        ASSERT_EQ_INT(ring_init(&r, 4), 0);
        ASSERT_EQ_INT(ring_put(&r, 0, set, v), -EINVAL);
        ASSERT_EQ_INT(ring_put(&r, 9, NULL, v), -EINVAL);
        ASSERT_EQ_INT(set->n_ref, 1); /* no reference taken */
        ASSERT_TRUE(ring_latest(&r) == NULL);
        ASSERT_TRUE(ring_get(&r, 9) == NULL);
        for (size_t i = 0; i < r.n_slots; i++)
                ASSERT_TRUE(r.slots[i].unix_sec == 0 && r.slots[i].set == NULL && r.slots[i].data == NULL);
        sample_values_free_array(v, 1); /* refused: still the caller's */
        sample_values_free_array(NULL, 3);
        ring_done(&r);
}

int main(void) {
        RUN(test_ring_init_zero_and_done_twice);
        RUN(test_ring_put_get_by_second);
        RUN(test_ring_wrap_replaces_old_second);
        RUN(test_ring_put_same_second_twice_replaces);
        RUN(test_ring_latest);
        RUN(test_ring_slice_set_refcount_across_slots);
        RUN(test_ring_put_refuses_second_zero_and_null_set);
        return 0;
}
