/* SPDX-License-Identifier: MIT */
/* A record read back from Redis (record-parse.c), and the window filled with it (ring_fill): what
 * record_write() wrote comes back byte for byte, with the same groups, users and values; anything else is
 * refused with a reason; filled seconds keep the sampler's last second and its place, and show_account
 * answers them as Redis holds them. */
#include <errno.h>
#include <stdint.h>

#include "buf.h"
#include "macro.h"
#include "record-parse.h"
#include "record.h"
#include "ring.h"
#include "sample-fixtures.h"
#include "show-account.h"
#include "tests.h"
#include "user-overrides.h"
#include "user-slice.h"

/* The parser's bounds are the daemon's own. */
_Static_assert(RECORD_PARSE_USERS_MAX == USER_TABLE_MAX, "as many users as the daemon keeps");
_Static_assert(RECORD_PARSE_USER_NAME_MAX == USER_OVERRIDES_NAME_MAX, "user names as long as users.d's");

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

/* set's record of v with the controllers in mask (text, if not NULL, gets it), read back: the same
 * controllers and as many slices, and written again the very text. */
static SliceSet *round_trip(SliceSet *set, unsigned mask, const SampleValues *v, SampleValues **ret_values,
                            char **ret_text) {
        size_t size, again_size;
        char *text = write_text(set, mask, v, &size);
        _cleanup_(freep) char *again = NULL;
        SliceSet *got = NULL;
        unsigned controllers = 0;
        const char *reason = NULL;
        RecordParser parser = { 0 };

        ASSERT_EQ_INT(record_parse(&parser, text, size, &got, ret_values, &controllers, &reason), 0);
        record_parser_done(&parser);
        ASSERT_EQ_INT(controllers, mask);
        ASSERT_EQ_INT(got->n, set->n);
        again = write_text(got, mask, *ret_values, &again_size);
        ASSERT_EQ_INT(again_size, size);
        ASSERT_STREQ(again, text);
        if (ret_text)
                *ret_text = text;
        else
                free(text);
        return got;
}

TEST(test_round_trip_every_mask) {
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(EXAMPLE_N, example_paths, NULL);
        SampleValues *v = example_values();

        for (unsigned mask = 1; mask <= RECORD_ALL; mask++) {
                SampleValues *values = NULL;
                SliceSet *got = round_trip(set, mask, v, &values, NULL);

                /* depth first: a group comes before its sub-groups, whatever the set's order */
                ASSERT_STREQ(got->paths[0], "");
                ASSERT_STREQ(got->paths[1], "test_cgroup_a");
                ASSERT_STREQ(got->paths[2], "test_cgroup_b");
                ASSERT_STREQ(got->paths[3], "test_cgroup_b/test_cgroup_b_sub1");
                ASSERT_TRUE(got->units[0] == NULL);
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

/* ---- users ([FairShare] Enable=yes) ---- */

/* The example's groups and n_users users after them (UIDs 1000 + 7k, names from names[], NULL: none), as the
 * sampler makes such a set. */
static SliceSet *users_set(size_t n_users, const char *const *names) {
        SliceSet *set = slice_set_new(EXAMPLE_N + n_users);

        ASSERT_TRUE(set != NULL);
        set->n_groups = EXAMPLE_N;
        for (size_t i = 0; i < set->n; i++) {
                if (i < EXAMPLE_N)
                        set->paths[i] = strdup(example_paths[i]);
                else {
                        ASSERT_TRUE(asprintf(&set->paths[i], "%zu", 1000 + 7 * (i - EXAMPLE_N)) >= 0);
                        ASSERT_TRUE(asprintf(&set->units[i], "user-%s.slice", set->paths[i]) >= 0);
                        if (names && names[i - EXAMPLE_N])
                                ASSERT_TRUE((set->user_names[i] = strdup(names[i - EXAMPLE_N])) != NULL);
                }
                ASSERT_TRUE(set->paths[i] != NULL);
        }
        return set;
}

/* The example's values, then a busy user's, an idle one's, one just come ({} everywhere) and more like it. */
static SampleValues *users_values(size_t n_users) {
        static const SampleIo io[] = { { 8, 0, 1, 2, 3, 4 }, { 253, 3, 0, 0, INT64_MAX, 0 } };
        SampleValues *v = values_new(EXAMPLE_N + n_users), *ex = example_values();

        memcpy(v, ex, EXAMPLE_N * sizeof(SampleValues)); /* the io arrays move over */
        free(ex);
        if (n_users > 0) {
                v[EXAMPLE_N].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS;
                v[EXAMPLE_N].cpu_usage_nsec = UINT64_C(98765432101);
                v[EXAMPLE_N].memory_bytes = 1 << 20;
                v[EXAMPLE_N].pids = 3;
                set_io(&v[EXAMPLE_N], 2, io);
                for (PressureKind k = 0; k < _PRESSURE_MAX; k++)
                        set_pressure(&v[EXAMPLE_N], k, 10 + k);
        }
        if (n_users > 1) {
                v[EXAMPLE_N + 1].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_PIDS;
                v[EXAMPLE_N + 1].pids = 1;
                set_pressure(&v[EXAMPLE_N + 1], PRESSURE_MEMORY_FULL, 0);
        }
        return v;
}

static const char *const user_names[] = { "alice", NULL, "", "w/ei\"rd\n\x1f\x7f\xc3\xa9" };

TEST(test_users_round_trip_every_mask) {
        _cleanup_(slice_set_unrefp) SliceSet *set = users_set(ELEMENTSOF(user_names), user_names);
        SampleValues *v = users_values(ELEMENTSOF(user_names));

        for (unsigned mask = 1; mask <= RECORD_ALL; mask++) {
                _cleanup_(freep) char *text = NULL;
                SampleValues *values = NULL;
                SliceSet *got = round_trip(set, mask, v, &values, &text);

                ASSERT_CONTAINS(text, ",\"users\":{\"1000\":{\"name\":\"alice\",\"cpu\":{\"usage\":98765432101},");
                ASSERT_EQ_INT(got->n_groups, EXAMPLE_N);
                /* the users as the sampler's set has them: UIDs, units, names */
                for (size_t i = EXAMPLE_N; i < set->n; i++) {
                        const char *name = user_names[i - EXAMPLE_N];

                        ASSERT_STREQ(got->paths[i], set->paths[i]);
                        ASSERT_STREQ(got->units[i], set->units[i]);
                        ASSERT_TRUE(!got->user_names[i] == !name);
                        if (name)
                                ASSERT_STREQ(got->user_names[i], name);
                }
                ASSERT_TRUE(got->units[0] == NULL && got->user_names[0] == NULL);
                /* every controller of a user, whatever the record's */
                ASSERT_EQ_U64(values[EXAMPLE_N].cpu_usage_nsec, UINT64_C(98765432101));
                ASSERT_EQ_INT(values[EXAMPLE_N].n_io, 2);
                ASSERT_EQ_U64(values[EXAMPLE_N].io[1].read_ios, (uint64_t) INT64_MAX);
                ASSERT_EQ_U64(values[EXAMPLE_N].pressure_usec[PRESSURE_IO_FULL], 15);
                ASSERT_EQ_INT(values[EXAMPLE_N + 1].have, SAMPLE_HAVE_CPU | SAMPLE_HAVE_PIDS | SAMPLE_HAVE_PRESSURE);
                ASSERT_EQ_INT(values[EXAMPLE_N + 2].have, 0);
                sample_values_free_array(values, got->n);
                slice_set_unref(got);
        }
        sample_values_free_array(v, set->n);
}

static SliceSet *parse_ok(RecordParser *parser, const char *text, size_t size, SampleValues **ret_values) {
        SliceSet *set = NULL;
        unsigned c;
        const char *reason = NULL;
        int r = record_parse(parser, text, size, &set, ret_values, &c, &reason);

        if (r < 0)
                fprintf(stderr, "refused: %s\n", reason ? reason : "(no reason)");
        ASSERT_EQ_INT(r, 0);
        return set;
}

/* Consecutive seconds with the same users share the set (and so are delta slots in the window); another
 * name, another user or none make another. */
TEST(test_users_share_the_set) {
        static const char *const renamed[] = { "alice", NULL, "", "bob" };
        _cleanup_(slice_set_unrefp) SliceSet *set = users_set(4, user_names), *other = users_set(4, renamed),
                                              *fewer = users_set(3, user_names), *none = users_set(0, NULL);
        SampleValues *v = users_values(4);
        size_t size[5];
        char *text[5] = {
                write_text(set, RECORD_ALL, v, &size[0]), write_text(set, RECORD_ALL, v, &size[1]),
                write_text(other, RECORD_ALL, v, &size[2]), write_text(fewer, RECORD_ALL, v, &size[3]),
                write_text(none, RECORD_ALL, v, &size[4]),
        };
        SliceSet *got[5];
        RecordParser parser = { 0 };

        for (size_t i = 0; i < 5; i++) {
                SampleValues *values = NULL;

                got[i] = parse_ok(&parser, text[i], size[i], &values);
                sample_values_free_array(values, got[i]->n);
        }
        ASSERT_TRUE(got[0] == got[1]);
        ASSERT_TRUE(got[2] != got[1] && got[3] != got[2] && got[4] != got[3]);
        ASSERT_EQ_INT(got[3]->n - got[3]->n_groups, 3);
        ASSERT_EQ_INT(got[4]->n, EXAMPLE_N);
        ASSERT_EQ_INT(got[4]->n_groups, EXAMPLE_N);
        for (size_t i = 0; i < 5; i++) {
                slice_set_unref(got[i]);
                free(text[i]);
        }
        record_parser_done(&parser);
        sample_values_free_array(v, 4 + EXAMPLE_N);
}

/* set's record (zero values, the controllers in mask) read back: accepted (the set returned) or, with
 * refused_for, refused for that reason (NULL returned). */
static SliceSet *parse_bounded(SliceSet *set, unsigned mask, const char *refused_for) {
        SampleValues *v = values_new(set->n), *values = NULL;
        size_t size;
        _cleanup_(freep) char *text = write_text(set, mask, v, &size);
        SliceSet *got = NULL;
        unsigned c;
        const char *reason = NULL;
        RecordParser parser = { 0 };
        int r = record_parse(&parser, text, size, &got, &values, &c, &reason);

        record_parser_done(&parser);
        sample_values_free_array(v, set->n);
        if (refused_for) {
                ASSERT_EQ_INT(r, -EBADMSG);
                ASSERT_CONTAINS(reason, refused_for);
                return NULL;
        }
        ASSERT_EQ_INT(r, 0);
        sample_values_free_array(values, got->n);
        return got;
}

/* As many users as the daemon keeps, with names as long as systemd's; one more, one byte more: refused. */
TEST(test_users_bounds) {
        for (size_t n = RECORD_PARSE_USERS_MAX; n <= RECORD_PARSE_USERS_MAX + 1; n++) {
                _cleanup_(slice_set_unrefp) SliceSet *set = users_set(n, NULL);
                _cleanup_(slice_set_unrefp) SliceSet *got = parse_bounded(
                        set, RECORD_CPU, n > RECORD_PARSE_USERS_MAX ? "more users than the daemon keeps (65536)" : NULL);

                if (got)
                        ASSERT_EQ_INT(got->n - got->n_groups, RECORD_PARSE_USERS_MAX);
        }
        for (size_t len = RECORD_PARSE_USER_NAME_MAX; len <= RECORD_PARSE_USER_NAME_MAX + 1; len++) {
                char name[RECORD_PARSE_USER_NAME_MAX + 2];
                const char *names[] = { name };
                _cleanup_(slice_set_unrefp) SliceSet *set = NULL, *got = NULL;

                memset(name, '\n', len); /* two bytes each in the record: the bound is the name's */
                name[len] = 0;
                set = users_set(1, names);
                got = parse_bounded(set, RECORD_PIDS,
                                    len > RECORD_PARSE_USER_NAME_MAX ? "a user's name is longer than 256 bytes" : NULL);
                if (got)
                        ASSERT_STREQ(got->user_names[EXAMPLE_N], name);
        }
}

#define USER_EMPTY_KEYS "\"cpu\":{},\"blkio\":{},\"memory\":{},\"pids\":{},\"pressure\":{}"
#define USER_EMPTY "{" USER_EMPTY_KEYS "}"

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
                /* [FairShare]'s users: as put_users() writes them, or refused with what is wrong */
                { "{\"users\":{}}", "a key is not a controller" },  /* never without a controller */
                { "{\"cpu\":{\"value\":{}},\"users\":[]}", "\"users\" is not an object" },
                { "{\"cpu\":{\"value\":{}},\"users\":{}}", "\"users\" is empty" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{}}}", "a user's keys are not" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":[]}}", "a user is not an object" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"bob\":" USER_EMPTY "}}", "a user's key is not a UID" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"01000\":" USER_EMPTY "}}", "a user's key is not a UID" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"-1\":" USER_EMPTY "}}", "a user's key is not a UID" },
                { "{\"cpu\":{\"value\":{}},\"users\":{1000:" USER_EMPTY "}}", "a user's key is not a UID" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"65535\":" USER_EMPTY "}}", "not a valid UID" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"4294967295\":" USER_EMPTY "}}", "not a valid UID" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"4294967296\":" USER_EMPTY "}}", "not a valid UID" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1001\":" USER_EMPTY ",\"1000\":" USER_EMPTY "}}",
                  "not in ascending UID order" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":" USER_EMPTY ",\"1000\":" USER_EMPTY "}}",
                  "not in ascending UID order, each once" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{\"name\":1," USER_EMPTY_KEYS "}}}",
                  "a user's name is not a string" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{\"name\":\"a\\u0000\"," USER_EMPTY_KEYS "}}}",
                  "a NUL byte" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{\"name\":\"a\"}}}", "a user has a name only" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{\"cpu\":{},\"memory\":{},\"blkio\":{},\"pids\":{},"
                  "\"pressure\":{}}}}", "a user's keys are not" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{" USER_EMPTY_KEYS ",\"x\":1}}}",
                  "a user's keys are not" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{" USER_EMPTY_KEYS ",\"name\":\"a\"}}}",
                  "a user's keys are not" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{\"cpu\":{\"usage\":-1},\"blkio\":{},\"memory\":{},"
                  "\"pids\":{},\"pressure\":{}}}}", "a counter is not" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{\"cpu\":{},\"blkio\":{\"8\":{}},\"memory\":{},"
                  "\"pids\":{},\"pressure\":{}}}}", "a blkio device is not" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":{\"cpu\":{\"current\":1},\"blkio\":{},\"memory\":{},"
                  "\"pids\":{},\"pressure\":{}}}}", "not in the form" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":" USER_EMPTY "},\"memory\":{\"value\":{}}}",
                  "\"users\" is not the record's last key" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":" USER_EMPTY "}", "cut short" },
                { "{\"cpu\":{\"value\":{}},\"users\":{\"1000\":" USER_EMPTY "}}x", "text after the record" },
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

/* Records with users filled into the window (as the daemon does after a restart) are what show_account
 * answers, byte for byte, next to the sampler's own seconds; seconds of the same users are delta slots. */
TEST(test_ring_fill_users_show_account) {
        static const char *const gone[] = { "alice", NULL, "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = users_set(4, user_names), *fewer = users_set(3, gone),
                                              *live = users_set(4, user_names);
        _cleanup_(freep) char *answer = NULL;
        RecordParser parser = { 0 };
        Buf expected = { 0 };
        Ring r;

        ASSERT_EQ_INT(ring_init(&r, 10), 0);
        put_marked(&r, live, 300);
        ASSERT_EQ_INT(buf_put(&expected, "{", 1), 0);
        for (uint64_t sec = 295; sec < 300; sec++) {
                SliceSet *s = sec == 298 ? fewer : set, *got;
                SampleValues *v = users_values(s->n - EXAMPLE_N), *values = NULL;
                size_t size;
                char *text;

                v[EXAMPLE_N].cpu_usage_nsec += sec; /* every second tells which it is */
                text = write_text(s, RECORD_ALL, v, &size);
                got = parse_ok(&parser, text, size, &values);
                ASSERT_EQ_INT(ring_fill(&r, sec, got, values), 0);
                slice_set_unref(got);
                ASSERT_EQ_INT(record_write_key(sec, &expected), 0);
                ASSERT_EQ_INT(buf_put(&expected, text, size), 0);
                ASSERT_EQ_INT(buf_put(&expected, ",", 1), 0);
                sample_values_free_array(v, s->n);
                free(text);
        }
        record_parser_done(&parser);
        expected.size--;
        ASSERT_EQ_INT(buf_put(&expected, "}", 2), 0);
        ASSERT_TRUE(ring_get(&r, 296)->base_seq == ring_get(&r, 295)->seq);
        ASSERT_TRUE(ring_get(&r, 298)->base_seq == 0); /* another set: a key slot */
        ASSERT_TRUE(ring_get(&r, 299)->base_seq == 0);
        ASSERT_EQ_INT(account_stream_all(&r, 295, 299, &answer), 0);
        ASSERT_STREQ(answer, (char *) expected.data);
        ASSERT_EQ_U64(ring_last(&r)->unix_sec, 300); /* the sampler's second stays the base of its next */
        buf_done(&expected);
        ring_done(&r);
}

int main(void) {
        RUN(test_round_trip_every_mask);
        RUN(test_same_paths_share_the_set);
        RUN(test_users_round_trip_every_mask);
        RUN(test_users_share_the_set);
        RUN(test_users_bounds);
        RUN(test_refused);
        RUN(test_ring_fill);
        RUN(test_ring_fill_users_show_account);
        return 0;
}
