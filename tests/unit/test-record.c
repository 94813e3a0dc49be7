/* SPDX-License-Identifier: MIT */
/* The cgrouparch-shaped record: the direct writer against a jansson reference, the README example per
 * controller, have bits, and random trees. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "macro.h"
#include "record.h"
#include "ring.h"
#include "sample-fixtures.h"
#include "tests.h"

/* ---------------------------------------------------------------------------------------------------- */
/* The reference: the record built as jansson objects, as it was before the direct writer. The writer
 * must give json_dumps(JSON_COMPACT) of it, byte for byte. */

typedef enum RefController {
        CTL_CPU,
        CTL_BLKIO,
        CTL_MEMORY,
        CTL_PIDS,
        CTL_PRESSURE,
        _CTL_MAX,
} RefController;

static const char *const ref_controller_names[_CTL_MAX] = { "cpu", "blkio", "memory", "pids", "pressure" };

/* JSON integers are signed: a saturated counter shows as the largest one, never as a negative. */
static json_t *counter(uint64_t v) {
        return json_integer((json_int_t) MIN(v, (uint64_t) INT64_MAX));
}

static json_t *value_json(RefController c, const SampleValues *v) {
        json_t *o = json_object();

        if (!o)
                return NULL;
        switch (c) {
        case CTL_CPU:
                if (v->have & SAMPLE_HAVE_CPU)
                        json_object_set_new(o, "usage", counter(v->cpu_usage_nsec));
                break;
        case CTL_MEMORY:
                if (v->have & SAMPLE_HAVE_MEMORY)
                        json_object_set_new(o, "usage", counter(v->memory_bytes));
                break;
        case CTL_PIDS:
                if (v->have & SAMPLE_HAVE_PIDS)
                        json_object_set_new(o, "current", counter(v->pids));
                break;
        case CTL_BLKIO:
                for (size_t i = 0; (v->have & SAMPLE_HAVE_IO) && i < v->n_io; i++) {
                        char dev[32];

                        snprintf(dev, sizeof(dev), "%u:%u", v->io[i].major, v->io[i].minor);
                        json_object_set_new(o, dev, json_pack("{s:o, s:o, s:o, s:o}",
                                                              "Read", counter(v->io[i].read_bytes),
                                                              "Write", counter(v->io[i].write_bytes),
                                                              "ReadOps", counter(v->io[i].read_ios),
                                                              "WriteOps", counter(v->io[i].write_ios)));
                }
                break;
        case CTL_PRESSURE: {
                static const char *const res[] = { "cpu", "memory", "io" };

                for (int r = 0; r < 3; r++) {
                        json_t *p = NULL;

                        for (int k = 0; k < 2; k++) {
                                PressureKind kind = (PressureKind) (r * 2 + k);

                                if (!(v->pressure_have & (1u << kind)))
                                        continue;
                                if (!p)
                                        p = json_object();
                                json_object_set_new(p, k == 0 ? "some" : "full",
                                                    counter(v->pressure_usec[kind]));
                        }
                        if (p)
                                json_object_set_new(o, res[r], p);
                }
                break;
        }
        default:
                break;
        }
        return o;
}

/* The node object of `path` under the controller tree, created on the way ("a/b" → sub_cgroup.a.sub_cgroup.b). */
static json_t *node_for(json_t *root, const char *path) {
        json_t *node = root;
        const char *p = path;

        while (*p) {
                size_t n = strcspn(p, "/");
                char name[256];
                json_t *sub, *child;

                if (n >= sizeof(name))
                        return NULL;
                memcpy(name, p, n);
                name[n] = 0;
                sub = json_object_get(node, "sub_cgroup");
                if (!sub) {
                        sub = json_object();
                        json_object_set_new(node, "sub_cgroup", sub);
                }
                child = json_object_get(sub, name);
                if (!child) {
                        child = json_object();
                        json_object_set_new(sub, name, child);
                }
                node = child;
                p += n;
                if (*p == '/')
                        p++;
        }
        return node;
}

static json_t *reference_record(const SliceSet *set, const SampleValues *values) {
        json_t *record = json_object();

        if (!record || !set)
                return record;
        for (RefController c = 0; c < _CTL_MAX; c++) {
                json_t *root = json_object();

                /* The set lists parents before children, so each group's parent node exists first. */
                for (size_t i = 0; root && i < set->n; i++) {
                        json_t *node = node_for(root, set->paths[i]);

                        if (node)
                                json_object_set_new(node, "value", value_json(c, &values[i]));
                }
                json_object_set_new(record, ref_controller_names[c], root);
        }
        return record;
}


/* The writer's text for set and values, checked against the reference byte for byte. */
static char *record_text(SliceSet *set, const SampleValues *values) {
        _cleanup_(record_layout_freep) RecordLayout *l = NULL;
        Buf b = { 0 };
        json_t *ref = reference_record(set, values);
        char *expected = json_dumps(ref, JSON_COMPACT);

        ASSERT_EQ_INT(record_layout_new(set, &l), 0);
        ASSERT_EQ_INT(record_write(l, values, &b), 0);
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        ASSERT_TRUE(expected != NULL);
        if (!streq((char *) b.data, expected)) {
                fprintf(stderr, "writer and reference differ:\nwriter:    %.2000s\nreference: %.2000s\n", (char *) b.data,
                        expected);
                abort();
        }
        free(expected);
        json_decref(ref);
        return (char *) b.data;
}

/* The record of second sec, written and parsed back. */
static json_t *record_json(const Ring *r, uint64_t sec) {
        RingReader rd = { 0 };
        json_error_t err;
        char *text;
        json_t *j;

        ASSERT_EQ_INT(ring_read(r, sec, &rd), 0);
        text = record_text(rd.set, rd.values);
        j = json_loads(text, 0, &err);
        if (!j)
                fprintf(stderr, "the record is not JSON (%s): %s\n", err.text, text);
        ASSERT_TRUE(j != NULL);
        free(text);
        ring_reader_done(&rd);
        return j;
}

/* ---------------------------------------------------------------------------------------------------- */
/* record_to_json: the cgrouparch README tree */

/* The README's show_account example, cpu part, trailing commas removed. */
#define CPU_JSON                                                \
        "{"                                                     \
        "    \"value\": {"                                      \
        "        \"usage\": 1446489231295"                      \
        "    },"                                                \
        "    \"sub_cgroup\": {"                                 \
        "        \"test_cgroup_a\": {"                          \
        "            \"value\": {"                              \
        "                \"usage\": 192790540163"               \
        "            }"                                         \
        "        },"                                            \
        "        \"test_cgroup_b\": {"                          \
        "            \"value\": {"                              \
        "                \"usage\": 192790540163"               \
        "            },"                                        \
        "            \"sub_cgroup\": {"                         \
        "                \"test_cgroup_b_sub1\": {"             \
        "                    \"value\": {"                      \
        "                        \"usage\": 3928774282"         \
        "                    }"                                 \
        "                }"                                     \
        "            }"                                         \
        "        }"                                             \
        "    }"                                                 \
        "}"

/* Same shape for every controller: root, a, b, b/sub1. */
#define TREE_JSON(root, a, b, sub1)                                                                     \
        "{\"value\": " root ", \"sub_cgroup\": {"                                                       \
        "\"test_cgroup_a\": {\"value\": " a "},"                                                        \
        "\"test_cgroup_b\": {\"value\": " b ", \"sub_cgroup\": {\"test_cgroup_b_sub1\": {\"value\": " sub1 "}}}}}"

#define BLKIO_JSON                                                                                      \
        TREE_JSON("{\"8:0\": {\"Read\": 1000, \"Write\": 2000, \"ReadOps\": 10, \"WriteOps\": 20},"     \
                  " \"253:1\": {\"Read\": 3, \"Write\": 4, \"ReadOps\": 1, \"WriteOps\": 2}}",          \
                  "{}", "{\"8:16\": {\"Read\": 4096, \"Write\": 0, \"ReadOps\": 1, \"WriteOps\": 0}}", "{}")

#define MEMORY_JSON TREE_JSON("{\"usage\": 8589934592}", "{}", "{\"usage\": 1048576}", "{\"usage\": 524288}")

#define PIDS_JSON TREE_JSON("{\"current\": 321}", "{}", "{\"current\": 7}", "{\"current\": 3}")

#define PRESSURE_JSON                                                                                   \
        TREE_JSON("{\"cpu\": {\"some\": 101, \"full\": 102}, \"memory\": {\"some\": 103, \"full\": 104},"  \
                  " \"io\": {\"some\": 105, \"full\": 106}}",                                           \
                  "{}", "{\"memory\": {\"some\": 5, \"full\": 2}}", "{\"io\": {\"some\": 9}}")

#define RECORD_JSON                                                                                     \
        "{\"cpu\": " CPU_JSON ", \"blkio\": " BLKIO_JSON ", \"memory\": " MEMORY_JSON ", \"pids\": " PIDS_JSON \
        ", \"pressure\": " PRESSURE_JSON "}"

/* Root with every controller, test_cgroup_a with cpu only, test_cgroup_b with all but some pressure,
 * test_cgroup_b_sub1 with an io file that lists no device and a single pressure total. */
static void put_readme(Ring *r, uint64_t sec) {
        static const char *const paths[] = { "", "test_cgroup_a", "test_cgroup_b", "test_cgroup_b/test_cgroup_b_sub1" };
        static const SampleIo b_io[] = { { 8, 16, 4096, 0, 1, 0 } };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(4, paths, NULL);
        SampleValues *v = values_new(4);

        set_example_root(&v[0]);
        for (PressureKind k = 0; k < _PRESSURE_MAX; k++)
                set_pressure(&v[0], k, 101 + (uint64_t) k);

        v[1].have = SAMPLE_HAVE_CPU;
        v[1].cpu_usage_nsec = UINT64_C(192790540163);

        v[2].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS;
        v[2].cpu_usage_nsec = UINT64_C(192790540163);
        v[2].memory_bytes = 1048576;
        v[2].pids = 7;
        set_io(&v[2], 1, b_io);
        set_pressure(&v[2], PRESSURE_MEMORY_SOME, 5);
        set_pressure(&v[2], PRESSURE_MEMORY_FULL, 2);

        v[3].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS;
        v[3].cpu_usage_nsec = UINT64_C(3928774282);
        v[3].memory_bytes = 524288;
        v[3].pids = 3;
        set_io(&v[3], 0, NULL);
        set_pressure(&v[3], PRESSURE_IO_SOME, 9);

        ASSERT_EQ_INT(ring_put(r, sec, set, v), 0);
}

static json_t *readme_record(void) {
        Ring r;
        json_t *j;

        ASSERT_EQ_INT(ring_init(&r, 10), 0);
        put_readme(&r, README_SEC);
        j = record_json(&r, README_SEC);
        ring_done(&r); /* the record holds no pointer into the slot */
        ASSERT_TRUE(json_is_object(j));
        return j;
}

TEST(test_record_cpu_matches_readme_example) {
        json_t *j = readme_record();

        assert_json_eq(json_object_get(j, "cpu"), CPU_JSON);
        json_decref(j);
}

TEST(test_record_blkio_per_device) {
        json_t *j = readme_record();

        assert_json_eq(json_object_get(j, "blkio"), BLKIO_JSON);
        json_decref(j);
}

TEST(test_record_memory_usage) {
        json_t *j = readme_record();

        assert_json_eq(json_object_get(j, "memory"), MEMORY_JSON);
        json_decref(j);
}

TEST(test_record_pids_current) {
        json_t *j = readme_record();

        assert_json_eq(json_object_get(j, "pids"), PIDS_JSON);
        json_decref(j);
}

TEST(test_record_pressure_some_full) {
        json_t *j = readme_record();

        assert_json_eq(json_object_get(j, "pressure"), PRESSURE_JSON);
        json_decref(j);
}

TEST(test_record_missing_controller_value_is_empty_object) {
        json_t *j = readme_record();
        static const char *const ctl[] = { "blkio", "memory", "pids", "pressure" };

        for (size_t i = 0; i < ELEMENTSOF(ctl); i++) {
                json_t *a = json_object_get(json_object_get(json_object_get(j, ctl[i]), "sub_cgroup"), "test_cgroup_a");

                assert_json_eq(a, "{\"value\": {}}");
        }
        json_decref(j);
}

TEST(test_record_whole_exact) {
        json_t *j = readme_record();

        ASSERT_EQ_INT(json_object_size(j), 5);
        assert_json_eq(j, RECORD_JSON);
        json_decref(j);
}

/* User slices (after the set's groups) go under "users" by UID, each with its values per controller; the
 * tree part is the groups-only record's, byte for byte. */
TEST(test_record_users_apart_from_the_tree) {
        static const char *const paths[] = { "", "a", "1001", "1002" };
        static const char *const units[] = { "-.slice", "a.slice", "user-1001.slice", "user-1002.slice" };
        static const SampleIo io = { 8, 0, 1, 2, 3, 4 };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(4, paths, units), *groups = make_set(2, paths, units);
        _cleanup_(record_layout_freep) RecordLayout *l = NULL;
        _cleanup_(freep) char *tree = NULL;
        SampleValues *v = values_new(4);
        Buf b = { 0 };

        set->n_groups = 2;
        set->user_names[2] = strdup("al\"ice");
        ASSERT_TRUE(set->user_names[2] != NULL);
        v[0].have = SAMPLE_HAVE_CPU;
        v[0].cpu_usage_nsec = 10;
        v[1].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY;
        v[1].cpu_usage_nsec = 20;
        v[1].memory_bytes = 30;
        v[2].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS;
        v[2].cpu_usage_nsec = 5;
        v[2].memory_bytes = 7;
        v[2].pids = 2;
        set_io(&v[2], 1, &io);
        set_pressure(&v[2], PRESSURE_CPU_SOME, 3);

        ASSERT_EQ_INT(record_layout_new(set, &l), 0);
        ASSERT_EQ_INT(record_write(l, v, &b), 0);
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        ASSERT_STREQ((char *) b.data,
                     "{\"cpu\":{\"value\":{\"usage\":10},\"sub_cgroup\":{\"a\":{\"value\":{\"usage\":20}}}},"
                     "\"blkio\":{\"value\":{},\"sub_cgroup\":{\"a\":{\"value\":{}}}},"
                     "\"memory\":{\"value\":{},\"sub_cgroup\":{\"a\":{\"value\":{\"usage\":30}}}},"
                     "\"pids\":{\"value\":{},\"sub_cgroup\":{\"a\":{\"value\":{}}}},"
                     "\"pressure\":{\"value\":{},\"sub_cgroup\":{\"a\":{\"value\":{}}}},"
                     "\"users\":{\"1001\":{\"name\":\"al\\\"ice\",\"cpu\":{\"usage\":5},"
                     "\"blkio\":{\"8:0\":{\"Read\":1,\"Write\":2,\"ReadOps\":3,\"WriteOps\":4}},"
                     "\"memory\":{\"usage\":7},\"pids\":{\"current\":2},\"pressure\":{\"cpu\":{\"some\":3}}},"
                     "\"1002\":{\"cpu\":{},\"blkio\":{},\"memory\":{},\"pids\":{},\"pressure\":{}}}}");
        /* the tree part: the record of the groups alone (checked against jansson by record_text) */
        tree = record_text(groups, v);
        ASSERT_TRUE(strncmp((char *) b.data, tree, strlen(tree) - 1) == 0);
        buf_done(&b);
        sample_values_free_array(v, 4);
}

TEST(test_record_values_need_have_bits) {
        static const char *const paths[] = { "" };
        static const SampleIo io = { 8, 0, 1, 2, 3, 4 };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);
        SampleValues *v = values_new(1);
        Ring r;
        json_t *j;

        /* numbers without their have bit (or pressure bit) are not reported */
        v[0].cpu_usage_nsec = 1;
        v[0].memory_bytes = 2;
        v[0].pids = 3;
        v[0].pressure_usec[PRESSURE_CPU_SOME] = 4;
        v[0].have = SAMPLE_HAVE_PRESSURE;
        set_io(&v[0], 1, &io);
        v[0].have &= ~(uint32_t) SAMPLE_HAVE_IO;
        ASSERT_EQ_INT(ring_init(&r, 2), 0);
        ASSERT_EQ_INT(ring_put(&r, 5, set, v), 0);
        j = record_json(&r, 5);
        assert_json_eq(j, "{\"cpu\": {\"value\": {}}, \"blkio\": {\"value\": {}}, \"memory\": {\"value\": {}},"
                          " \"pids\": {\"value\": {}}, \"pressure\": {\"value\": {}}}");
        json_decref(j);
        ring_done(&r);
}

TEST(test_record_of_no_slices) {
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(0, NULL, NULL);
        char *text = record_text(set, NULL);

        ASSERT_STREQ(text, "{\"cpu\":{},\"blkio\":{},\"memory\":{},\"pids\":{},\"pressure\":{}}");
        free(text);
}

/* The writer against the reference on random trees (nesting, odd names, missing values, several devices,
 * saturated counters). */
TEST(test_record_writer_matches_reference_random) {
        static const char *const names[] = { "a", "b", "we\"ird", "back\\slash", "x-y", "\xc3\xa9t\xc3\xa9", "t\tab",
                                             "0", "sub_cgroup", "value" };
        unsigned seed = 12345;

        for (int round = 0; round < 200; round++) {
                size_t n = 1 + (size_t) (rand_r(&seed) % 40);
                SliceSet *set = slice_set_new(n);
                SampleValues *v = values_new(n);
                char *text;

                ASSERT_TRUE(set != NULL);
                for (size_t i = 0; i < n; i++) {
                        /* a child of an earlier group, or a new top-level one; the root first */
                        char path[512] = "";

                        if (i > 0) {
                                size_t parent = (size_t) rand_r(&seed) % i;
                                snprintf(path, sizeof(path), "%s%s%s%zu", set->paths[parent],
                                         set->paths[parent][0] ? "/" : "", names[rand_r(&seed) % ELEMENTSOF(names)], i);
                        }
                        set->paths[i] = strdup(path);
                        set->units[i] = strdup("x.slice");
                        v[i].have = (uint32_t) rand_r(&seed) & 0x1f;
                        v[i].pressure_have = (uint8_t) (rand_r(&seed) & 0x3f);
                        v[i].cpu_usage_nsec = (uint64_t) rand_r(&seed) * rand_r(&seed) * (round % 7 == 0 ? 1u << 31 : 1);
                        v[i].memory_bytes = round % 5 == 0 ? UINT64_MAX : (uint64_t) rand_r(&seed) << 12;
                        v[i].pids = (uint64_t) rand_r(&seed) % 1000;
                        for (int k = 0; k < _PRESSURE_MAX; k++)
                                v[i].pressure_usec[k] = (uint64_t) rand_r(&seed) * 1000;
                        if (rand_r(&seed) % 2) {
                                SampleIo io[3];
                                size_t n_io = (size_t) rand_r(&seed) % 4;

                                for (size_t d = 0; d < n_io; d++)
                                        io[d] = (SampleIo) { (uint32_t) (rand_r(&seed) % 3) * 8, (uint32_t) d * 16,
                                                             (uint64_t) rand_r(&seed), 0, (uint64_t) rand_r(&seed) % 9,
                                                             UINT64_MAX - (uint64_t) (rand_r(&seed) % 2) };
                                set_io(&v[i], n_io, io);
                                v[i].have = (uint32_t) rand_r(&seed) & 0x1f;
                        }
                }
                text = record_text(set, v); /* aborts on a difference */
                free(text);
                sample_values_free_array(v, n);
                slice_set_unref(set);
        }
}

/* ---------------------------------------------------------------------------------------------------- */
/* record_write_second: what the daemon hands on each second */

/* The README tree's slot, read back from a ring (the set and values the daemon has at hand). */
static void readme_second(Ring *r, RingReader *rd) {
        ASSERT_EQ_INT(ring_init(r, 10), 0);
        put_readme(r, README_SEC);
        ASSERT_EQ_INT(ring_read(r, README_SEC, rd), 0);
}

TEST(test_record_second_shape) {
        _cleanup_(record_layout_freep) RecordLayout *l = NULL;
        RingReader rd = { 0 };
        Buf b = { 0 };
        size_t from = SIZE_MAX, size = SIZE_MAX;
        char *record, *expected = NULL;
        Ring r;

        readme_second(&r, &rd);
        record = record_text(rd.set, rd.values);
        ASSERT_EQ_INT(record_write_second(&l, README_SEC, rd.set, rd.values, &b, &from, &size), 0);
        ASSERT_TRUE(l != NULL);
        /* subscribers: {"<sec>":record}, show_account's shape for one second */
        ASSERT_TRUE(asprintf(&expected, "{\"%d\":%s}", README_SEC, record) >= 0);
        ASSERT_EQ_INT(b.size, strlen(expected));
        ASSERT_TRUE(memcmp(b.data, expected, b.size) == 0);
        /* Redis: the record alone, inside that text */
        ASSERT_EQ_INT(from, strlen("{\"1525258774\":"));
        ASSERT_EQ_INT(size, strlen(record));
        ASSERT_TRUE(memcmp(b.data + from, record, size) == 0);
        free(expected);
        free(record);
        buf_done(&b);
        ring_reader_done(&rd);
        ring_done(&r);
}

TEST(test_record_second_appends) {
        _cleanup_(record_layout_freep) RecordLayout *l = NULL;
        RingReader rd = { 0 };
        Buf b = { 0 };
        size_t from, size, from2, size2;
        Ring r;

        readme_second(&r, &rd);
        ASSERT_EQ_INT(record_write_second(&l, 7, rd.set, rd.values, &b, &from, &size), 0);
        /* a second record after the first: offsets count from the start of the buffer */
        ASSERT_EQ_INT(record_write_second(&l, 8, rd.set, rd.values, &b, &from2, &size2), 0);
        ASSERT_EQ_INT(size2, size);
        ASSERT_EQ_INT(from2, from + size + 1 + from);
        ASSERT_TRUE(memcmp(b.data + from, b.data + from2, size) == 0);
        ASSERT_TRUE(memcmp(b.data + from2 - 5, "{\"8\":", 5) == 0);
        ASSERT_EQ_INT(b.data[b.size - 1], '}');
        buf_done(&b);
        ring_reader_done(&rd);
        ring_done(&r);
}

TEST(test_record_second_layout_follows_set) {
        static const char *const paths_a[] = { "", "x" };
        static const char *const paths_b[] = { "", "y" };
        _cleanup_(slice_set_unrefp) SliceSet *a = make_set(2, paths_a, NULL);
        _cleanup_(slice_set_unrefp) SliceSet *b_set = make_set(2, paths_b, NULL);
        _cleanup_(record_layout_freep) RecordLayout *l = NULL;
        SampleValues *v = values_new(2);
        RecordLayout *first;
        Buf b = { 0 };
        size_t from, size;

        v[1].have = SAMPLE_HAVE_PIDS;
        v[1].pids = 5;
        ASSERT_EQ_INT(record_write_second(&l, 1, a, v, &b, &from, &size), 0);
        first = l;
        /* the same set: the layout is kept */
        b.size = 0;
        ASSERT_EQ_INT(record_write_second(&l, 2, a, v, &b, &from, &size), 0);
        ASSERT_TRUE(l == first);
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        ASSERT_CONTAINS((char *) b.data, "\"pids\":{\"value\":{},\"sub_cgroup\":{\"x\":{\"value\":{\"current\":5}}}}");
        /* another set: rebuilt, and the record names its groups */
        b.size = 0;
        ASSERT_EQ_INT(record_write_second(&l, 3, b_set, v, &b, &from, &size), 0);
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        ASSERT_CONTAINS((char *) b.data, "\"pids\":{\"value\":{},\"sub_cgroup\":{\"y\":{\"value\":{\"current\":5}}}}");
        ASSERT_TRUE(!strstr((char *) b.data, "\"x\""));
        sample_values_free_array(v, 2);
        buf_done(&b);
}

TEST(test_record_second_of_no_slices) {
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(0, NULL, NULL);
        _cleanup_(record_layout_freep) RecordLayout *l = NULL;
        Buf b = { 0 };
        size_t from, size;

        ASSERT_EQ_INT(record_write_second(&l, 0, set, NULL, &b, &from, &size), 0);
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        ASSERT_STREQ((char *) b.data, "{\"0\":{\"cpu\":{},\"blkio\":{},\"memory\":{},\"pids\":{},\"pressure\":{}}}");
        ASSERT_EQ_INT(from, 5);
        ASSERT_EQ_INT(size, strlen("{\"cpu\":{},\"blkio\":{},\"memory\":{},\"pids\":{},\"pressure\":{}}"));
        buf_done(&b);
}

TEST(test_controllers_resolve) {
        json_t *arch = json_pack("{s:{}, s:{}, s:{}}", "cpu", "blkio", "cpuset");
        json_t *mem = json_pack("{s:{}}", "memory");

        ASSERT_EQ_INT(record_controllers_resolve(RECORD_CPU | RECORD_PIDS, arch, true), RECORD_CPU | RECORD_PIDS);
        ASSERT_EQ_INT(record_controllers_resolve(RECORD_TREE, arch, true), RECORD_CPU | RECORD_BLKIO);
        ASSERT_EQ_INT(record_controllers_resolve(RECORD_TREE, mem, true), RECORD_MEMORY);
        ASSERT_EQ_INT(record_controllers_resolve(RECORD_TREE, arch, false), RECORD_ALL); /* native */
        ASSERT_EQ_INT(record_controllers_resolve(RECORD_TREE, NULL, true), RECORD_ALL);   /* no tree yet */
        json_decref(arch);
        json_decref(mem);
}

int main(void) {
        RUN(test_controllers_resolve);
        RUN(test_record_writer_matches_reference_random);
        RUN(test_record_cpu_matches_readme_example);
        RUN(test_record_blkio_per_device);
        RUN(test_record_memory_usage);
        RUN(test_record_pids_current);
        RUN(test_record_pressure_some_full);
        RUN(test_record_missing_controller_value_is_empty_object);
        RUN(test_record_whole_exact);
        RUN(test_record_users_apart_from_the_tree);
        RUN(test_record_values_need_have_bits);
        RUN(test_record_of_no_slices);
        RUN(test_record_second_shape);
        RUN(test_record_second_appends);
        RUN(test_record_second_layout_follows_set);
        RUN(test_record_second_of_no_slices);
        return 0;
}
