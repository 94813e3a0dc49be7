/* SPDX-License-Identifier: MIT */
/* A record read back from Redis (record-parse.c), and the window filled with it (ring_fill): what
 * record_write() wrote comes back byte for byte, with the same groups and values; anything else is refused
 * with a reason; filled seconds keep the sampler's last second and its place. */
#include <errno.h>
#include <stdint.h>

#include "buf.h"
#include "macro.h"
#include "record-parse.h"
#include "record.h"
#include "ring.h"
#include "sample-fixtures.h"
#include "tests.h"

static const char *const example_paths[] = { "", "test_cgroup_a", "test_cgroup_b/test_cgroup_b_sub1",
                                             "test_cgroup_b", "w\"eird\\name\n" };
#define EXAMPLE_N ELEMENTSOF(example_paths)

static SampleValues *example_values(void) {
        static const SampleIo io[] = { { 8, 0, UINT64_MAX, 2, 3, 4 } };
        SampleValues *v = values_new(EXAMPLE_N);

        set_example_root(&v[0]);
        set_pressure(&v[0], PRESSURE_IO_FULL, 77);
        v[1].have = SAMPLE_HAVE_CPU;
        v[1].cpu_usage_nsec = 192790540163;
        set_io(&v[2], 1, io);
        set_pressure(&v[2], PRESSURE_CPU_SOME, 5);
        v[3].have = SAMPLE_HAVE_PIDS | SAMPLE_HAVE_MEMORY;
        v[3].pids = 0;
        v[3].memory_bytes = 1;
        return v;
}

static char *write_text(SliceSet *set, unsigned mask, const SampleValues *v, size_t *ret_size) {
        _cleanup_(record_layout_freep) RecordLayout *l = NULL;
        Buf b = { 0 };

        ASSERT_EQ_INT(record_layout_new(set, &l), 0);
        ASSERT_EQ_INT(record_write_controllers(l, mask, v, &b), 0);
        *ret_size = b.size;
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        return (char *) b.data;
}

TEST(test_round_trip_every_mask) {
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(EXAMPLE_N, example_paths, NULL);
        SampleValues *v = example_values();

        for (unsigned mask = 1; mask <= RECORD_ALL; mask++) {
                size_t size, again_size;
                _cleanup_(freep) char *text = write_text(set, mask, v, &size);
                _cleanup_(freep) char *again = NULL;
                SliceSet *got = NULL;
                SampleValues *values = NULL;
                unsigned controllers = 0;
                const char *reason = NULL;

                RecordParser parser = { 0 };

                ASSERT_EQ_INT(record_parse(&parser, text, size, &got, &values, &controllers, &reason), 0);
                record_parser_done(&parser);
                ASSERT_EQ_INT(controllers, mask);
                ASSERT_EQ_INT(got->n, set->n);
                /* depth first: a group comes before its sub-groups, whatever the set's order */
                ASSERT_STREQ(got->paths[0], "");
                ASSERT_STREQ(got->paths[1], "test_cgroup_a");
                ASSERT_STREQ(got->paths[2], "test_cgroup_b");
                ASSERT_STREQ(got->paths[3], "test_cgroup_b/test_cgroup_b_sub1");
                ASSERT_TRUE(got->units[0] == NULL);
                again = write_text(got, mask, values, &again_size);
                ASSERT_EQ_INT(again_size, size);
                ASSERT_STREQ(again, text);
                if (mask == RECORD_ALL) {
                        ASSERT_EQ_U64(values[0].cpu_usage_nsec, UINT64_C(1446489231295));
                        ASSERT_EQ_U64(values[0].memory_bytes, UINT64_C(8589934592));
                        ASSERT_EQ_INT(values[0].n_io, 2);
                        ASSERT_EQ_U64(values[0].io[1].major, 253);
                        ASSERT_EQ_U64(values[0].pressure_usec[PRESSURE_IO_FULL], 77);
                        ASSERT_EQ_U64(values[3].io[0].read_bytes, (uint64_t) INT64_MAX); /* saturated */
                }
                sample_values_free_array(values, got->n);
                slice_set_unref(got);
        }
        sample_values_free_array(v, EXAMPLE_N);
}

TEST(test_same_paths_share_the_set) {
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(EXAMPLE_N, example_paths, NULL);
        SampleValues *v = example_values();
        size_t size;
        _cleanup_(freep) char *text = write_text(set, RECORD_ALL, v, &size);
        SliceSet *a = NULL, *b = NULL;
        SampleValues *va = NULL, *vb = NULL;
        RecordParser parser = { 0 };
        unsigned c;

        ASSERT_EQ_INT(record_parse(&parser, text, size, &a, &va, &c, NULL), 0);
        ASSERT_EQ_INT(record_parse(&parser, text, size, &b, &vb, &c, NULL), 0);
        ASSERT_TRUE(a == b);
        ASSERT_EQ_INT(a->n_ref, 4); /* a, b, the parser and its layout */
        sample_values_free_array(va, a->n);
        sample_values_free_array(vb, b->n);
        slice_set_unref(b);
        /* another set: a new one; the parser lets the old one go */
        ASSERT_EQ_INT(record_parse(&parser, "{\"cpu\":{\"value\":{}}}", 20, &b, &vb, &c, NULL), 0);
        ASSERT_TRUE(a != b);
        ASSERT_EQ_INT(a->n_ref, 1); /* ours alone */
        ASSERT_EQ_INT(b->n, 1);
        ASSERT_EQ_INT(c, RECORD_CPU);
        sample_values_free_array(vb, b->n);
        slice_set_unref(b);
        slice_set_unref(a);
        record_parser_done(&parser);
        sample_values_free_array(v, EXAMPLE_N);
}

TEST(test_refused) {
        RecordParser parser = { 0 };
        static const struct {
                const char *text, *reason;
        } cases[] = {
                { "", "cut short" },
                { "{\"cpu\":", "cut short" },
                { "{\"cpu\":{\"value\":{\"usage\":12", "cut short" },
                { "[]", "not a record" },
                { "{}", "not a record" },
                { "{\"cpuset\":{}}", "a key is not a controller" },
                { "{\"cpu\":{\"value\":{}},\"cpuset\":{}}", "a key is not a controller" }, /* after a good one */
                { "{\"cpu\":{\"value\":{}},\"cpu\":{}}", "a key is not a controller" },     /* twice */
                /* a record with [FairShare]'s users: said so, not read back in this version */
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{}}}", "holds users" },
                { "{\"pids\":{\"value\":{\"current\":1}},\"cpu\":{\"value\":{}}}", "in that order" },
                { "{\"cpu\":[]}", "a group is not an object" },
                { "{\"cpu\": {\"value\":{}}}", "a group is not an object" },
                { "{\"cpu\":{\"value\":{},\"x\":1}}", "a group has a key other than" },
                { "{\"cpu\":{\"value\":{\"usage\":-1}}}", "a counter is not" },
                { "{\"cpu\":{\"value\":{\"usage\":01}}}", "a counter is not" },
                { "{\"cpu\":{\"value\":{\"usage\":9223372036854775808}}}", "larger than a JSON integer" },
                { "{\"cpu\":{\"value\":{\"usage\":1.5}}}", "not in the form" },
                { "{\"cpu\":{\"value\":{\"usage\":1,\"x\":2}}}", "not in the form" },
                { "{\"cpu\":{\"value\":{}}} ", "text after the record" },
                { "{\"cpu\":{\"sub_cgroup\":{\"\":{\"value\":{}}}}}", "a group name is empty" },
                { "{\"cpu\":{\"sub_cgroup\":{\"a/b\":{\"value\":{}}}}}", "a group name is empty" },
                { "{\"cpu\":{\"sub_cgroup\":{\"a\\u0000\":{\"value\":{}}}}}", "a NUL byte" },
                { "{\"cpu\":{\"sub_cgroup\":{\"a\\u0041\":{\"value\":{}}}}}", "not in the form" }, /* we write A */
                { "{\"cpu\":{\"sub_cgroup\":{\"a\":{\"value\":{}},\"a\":{\"value\":{}}}}}", "not in the form" },
                { "{\"cpu\":{\"value\":{}},\"memory\":{\"sub_cgroup\":{\"a\":{\"value\":{}}}}}", "not in the form" },
                { "{\"cpu\":{\"value\":{}},\"memory\":{\"value\":{},\"sub_cgroup\":{\"a\":{\"value\":{}}}}}",
                  "the controllers do not name the same groups" },
                { "{\"blkio\":{\"value\":{\"8\":{}}}}", "a blkio device is not" },
                { "{\"blkio\":{\"value\":{\"08:0\":{\"Read\":1,\"Write\":1,\"ReadOps\":1,\"WriteOps\":1}}}}",
                  "a counter is not" },
                { "{\"blkio\":{\"value\":{\"8:4294967296\":{\"Read\":1,\"Write\":1,\"ReadOps\":1,\"WriteOps\":1}}}}",
                  "out of range" },
                { "{\"blkio\":{\"value\":{\"8:0\":{\"Read\":1}}}}", "a blkio device is not" },
                { "{\"pressure\":{\"value\":{\"cpu\":3}}}", "a pressure resource is not" },
                { "{\"pressure\":{\"value\":{\"io\":{\"some\":1},\"cpu\":{\"some\":1}}}}", "in that order" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                SliceSet *set = (SliceSet *) 1;
                SampleValues *values = (SampleValues *) 1;
                unsigned c = 99;
                const char *reason = NULL;

                ASSERT_EQ_INT(record_parse(&parser, cases[i].text, strlen(cases[i].text), &set, &values, &c, &reason),
                              -EBADMSG);
                ASSERT_CONTAINS(reason, cases[i].reason);
                ASSERT_TRUE(set == (SliceSet *) 1 && values == (SampleValues *) 1 && c == 99); /* untouched */
        }
        ASSERT_EQ_INT(record_parse(&parser, "{}", RECORD_PARSE_MAX_BYTES + 1, &(SliceSet *) { NULL },
                                   &(SampleValues *) { NULL }, &(unsigned) { 0 }, NULL),
                      -EFBIG);
        record_parser_done(&parser);
}

/* ---- ring_fill ---- */

static uint64_t cpu_at(const Ring *r, uint64_t sec) {
        RingReader rd = { 0 };
        uint64_t v;

        ASSERT_EQ_INT(ring_read(r, sec, &rd), 0);
        v = rd.values[0].cpu_usage_nsec;
        ring_reader_done(&rd);
        return v;
}

static SampleValues *marked(uint64_t sec) {
        SampleValues *v = values_new(1);

        v[0].have = SAMPLE_HAVE_CPU;
        v[0].cpu_usage_nsec = sec * 1000;
        return v;
}

TEST(test_ring_fill) {
        static const char *const root[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *live = make_set(1, root, NULL);
        _cleanup_(slice_set_unrefp) SliceSet *old = make_set(1, root, NULL);
        SampleValues *v;
        Ring r;

        ASSERT_EQ_INT(ring_init(&r, 10), 0);
        put_marked(&r, live, 200);
        /* oldest first, as the fill reads them: deltas against the second before */
        for (uint64_t sec = 191; sec < 200; sec++)
                ASSERT_EQ_INT(ring_fill(&r, sec, old, marked(sec)), 0);
        ASSERT_TRUE(ring_get(&r, 195)->base_seq == ring_get(&r, 194)->seq);
        for (uint64_t sec = 191; sec <= 200; sec++)
                ASSERT_EQ_U64(cpu_at(&r, sec), sec * 1000);
        /* the sampler's last second is still the base of its next put */
        ASSERT_TRUE(ring_last(&r) != NULL);
        ASSERT_EQ_U64(ring_last(&r)->unix_sec, 200);
        put_marked(&r, live, 201); /* replaces 191 */
        ASSERT_EQ_U64(cpu_at(&r, 201), 201000);
        ASSERT_EQ_U64(cpu_at(&r, 192), 192000); /* 191 went: 192 was re-keyed */

        v = marked(1);
        ASSERT_EQ_INT(ring_fill(&r, 200, old, v), -EEXIST);  /* sampled: the sampler's stays */
        ASSERT_EQ_INT(ring_fill(&r, 190, old, v), -ERANGE);  /* older than the window */
        ASSERT_EQ_INT(ring_fill(&r, 0, old, v), -EINVAL);
        sample_values_free_array(v, 1); /* refused: still the caller's */
        ASSERT_EQ_U64(cpu_at(&r, 200), 200000);
        ring_done(&r);
}

int main(void) {
        RUN(test_round_trip_every_mask);
        RUN(test_same_paths_share_the_set);
        RUN(test_refused);
        RUN(test_ring_fill);
        return 0;
}
