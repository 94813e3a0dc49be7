/* SPDX-License-Identifier: MIT */
/* The per-second window (ring), the cgrouparch-shaped record, the websocket commands and the Prometheus
 * text: the pure modules between the sampler and the clients. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "macro.h"
#include "metrics.h"
#include "record.h"
#include "ring.h"
#include "tests.h"

/* ---------------------------------------------------------------------------------------------------- */
/* Fixtures */

/* A set of n slices; units[i] NULL means "<path with / as ->.slice" ("-.slice" for the root). */
static SliceSet *make_set(size_t n, const char *const *paths, const char *const *units) {
        SliceSet *s = slice_set_new(n);

        ASSERT_TRUE(s != NULL);
        ASSERT_EQ_INT(s->n_ref, 1);
        ASSERT_EQ_INT(s->n, n);
        for (size_t i = 0; i < n; i++) {
                s->paths[i] = strdup(paths[i]);
                ASSERT_TRUE(s->paths[i] != NULL);
                if (units && units[i])
                        s->units[i] = strdup(units[i]);
                else if (paths[i][0] == 0)
                        s->units[i] = strdup("-.slice");
                else {
                        char *u = NULL;

                        ASSERT_TRUE(asprintf(&u, "%s.slice", paths[i]) >= 0);
                        for (char *c = u; *c; c++)
                                if (*c == '/')
                                        *c = '-';
                        s->units[i] = u;
                }
                ASSERT_TRUE(s->units[i] != NULL);
        }
        return s;
}

static SampleValues *values_new(size_t n) {
        SampleValues *v = calloc(n ? n : 1, sizeof(SampleValues));

        ASSERT_TRUE(v != NULL);
        return v;
}

static void set_io(SampleValues *v, size_t n, const SampleIo *io) {
        v->have |= SAMPLE_HAVE_IO;
        v->n_io = (uint16_t) n;
        if (n == 0)
                return;
        v->io = calloc(n, sizeof(SampleIo));
        ASSERT_TRUE(v->io != NULL);
        memcpy(v->io, io, n * sizeof(SampleIo));
}

static void set_pressure(SampleValues *v, PressureKind k, uint64_t usec) {
        v->have |= SAMPLE_HAVE_PRESSURE;
        v->pressure_have |= (uint8_t) (1u << k);
        v->pressure_usec[k] = usec;
}

/* One slice "" whose cpu usage is sec*1000, so a record tells which second it came from. */
static void put_marked(Ring *r, SliceSet *set, uint64_t sec) {
        SampleValues *v = values_new(set->n);

        for (size_t i = 0; i < set->n; i++) {
                v[i].have = SAMPLE_HAVE_CPU;
                v[i].cpu_usage_nsec = sec * 1000 + i;
        }
        ASSERT_EQ_INT(ring_put(r, sec, set, v), 0);
}

static void assert_json_eq(const json_t *got, const char *expected_text) {
        json_error_t err;
        json_t *expected = json_loads(expected_text, 0, &err);

        if (!expected) {
                fprintf(stderr, "expected text is not JSON (line %d: %s)\n", err.line, err.text);
                abort();
        }
        if (!json_equal(got, expected)) {
                char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
                char *e = json_dumps(expected, JSON_SORT_KEYS | JSON_COMPACT);

                fprintf(stderr, "JSON differs:\n   got: %s\nexpect: %s\n", g ? g : "(null)", e ? e : "(null)");
                abort();
        }
        json_decref(expected);
}

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

/* ---------------------------------------------------------------------------------------------------- */
/* record_to_json: the cgrouparch README tree */

#define README_SEC 1525258774

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
        static const SampleIo root_io[] = { { 8, 0, 1000, 2000, 10, 20 }, { 253, 1, 3, 4, 1, 2 } };
        static const SampleIo b_io[] = { { 8, 16, 4096, 0, 1, 0 } };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(4, paths, NULL);
        SampleValues *v = values_new(4);

        v[0].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS;
        v[0].cpu_usage_nsec = UINT64_C(1446489231295);
        v[0].memory_bytes = UINT64_C(8589934592);
        v[0].pids = 321;
        set_io(&v[0], 2, root_io);
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

/* ---------------------------------------------------------------------------------------------------- */
/* api_handle */

/* Seconds 985..1001 present except 993 and 997; the window is 300 s. */
static void api_ring(Ring *r) {
        static const char *const paths[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);

        ASSERT_EQ_INT(ring_init(r, 300), 0);
        for (uint64_t sec = 985; sec <= 1001; sec++)
                if (sec != 993 && sec != 997)
                        put_marked(r, set, sec);
}

/* The answer as text: a show_account stream is read one second per part, as a slow client would. */
static char *api_answer(const ApiContext *ctx, const char *text, size_t size, ApiAction *ret_action) {
        AccountStream *stream = (AccountStream *) 1;
        char *answer = api_handle(ctx, text, size, ret_action, &stream);
        Buf b = { 0 };
        int r;

        if (!stream)
                return answer;
        ASSERT_TRUE(answer == NULL);
        do
                r = account_stream_next(stream, ctx->ring, &b, 1);
        while (r > 0);
        ASSERT_EQ_INT(r, 0);
        ASSERT_EQ_INT(account_stream_next(stream, ctx->ring, &b, 1), 0); /* done stays done */
        account_stream_free(stream);
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        return (char *) b.data;
}

/* The whole answer for start..end, parsed. */
static json_t *show_all(const Ring *r, uint64_t start, uint64_t end) {
        char *text = NULL;
        json_t *j;

        ASSERT_EQ_INT(account_stream_all(r, start, end, &text), 0);
        j = json_loads(text, 0, NULL);
        ASSERT_TRUE(json_is_object(j));
        free(text);
        return j;
}

static json_t *call_n(const ApiContext *ctx, const char *text, size_t size, ApiAction *ret_action) {
        ApiAction action = (ApiAction) 77;
        char *answer = api_answer(ctx, text, size, &action);
        json_error_t err;
        json_t *j;

        ASSERT_TRUE(answer != NULL);
        j = json_loads(answer, 0, &err); /* every answer is one JSON object */
        if (!j)
                fprintf(stderr, "answer is not JSON: %s\n", answer);
        ASSERT_TRUE(json_is_object(j));
        free(answer);
        ASSERT_TRUE(action == API_ACTION_NONE || action == API_ACTION_SUBSCRIBE || action == API_ACTION_UNSUBSCRIBE);
        if (ret_action)
                *ret_action = action;
        return j;
}

static json_t *call(const ApiContext *ctx, const char *text, ApiAction *ret_action) {
        return call_n(ctx, text, strlen(text), ret_action);
}

/* The answer is {"error": "..."}; when mention is given, the message names it (the offending argument). */
static void assert_error_mentions(const ApiContext *ctx, const char *text, const char *mention) {
        ApiAction action;
        json_t *j = call(ctx, text, &action);
        const char *msg = json_string_value(json_object_get(j, "error"));

        if (!msg || json_object_size(j) != 1) {
                char *d = json_dumps(j, JSON_COMPACT);
                fprintf(stderr, "request %s: expected {\"error\": ...}, got %s\n", text, d ? d : "(null)");
                abort();
        }
        ASSERT_TRUE(msg[0] != 0);
        if (mention)
                ASSERT_CONTAINS(msg, mention);
        ASSERT_EQ_INT(action, API_ACTION_NONE);
        json_decref(j);
}

static void assert_error(const ApiContext *ctx, const char *text) {
        assert_error_mentions(ctx, text, NULL);
}

/* The answer holds exactly the seconds lo..hi that the ring has, each with its own record. */
static void assert_slots(const json_t *j, const Ring *r, uint64_t lo, uint64_t hi) {
        size_t expected = 0;

        for (uint64_t sec = lo; sec <= hi; sec++) {
                char key[32];
                const json_t *rec;

                snprintf(key, sizeof(key), "%" PRIu64, sec);
                rec = json_object_get(j, key);
                if (!ring_get(r, sec)) {
                        ASSERT_TRUE(rec == NULL);
                        continue;
                }
                expected++;
                if (!rec) {
                        fprintf(stderr, "second %s missing from the answer\n", key);
                        abort();
                }
                ASSERT_EQ_U64((uint64_t) json_integer_value(
                                      json_object_get(json_object_get(json_object_get(rec, "cpu"), "value"), "usage")),
                              sec * 1000);
        }
        if (json_object_size(j) != expected) {
                char *d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
                fprintf(stderr, "answer has %zu keys, expected %zu (%" PRIu64 "..%" PRIu64 "): %.300s\n",
                        json_object_size(j), expected, lo, hi, d ? d : "");
                abort();
        }
}

TEST(test_api_show_account_defaults) {
        Ring r;
        ApiContext ctx = { .now_sec = 1000 };
        json_t *j;

        api_ring(&r);
        ctx.ring = &r;
        j = call(&ctx, "{\"cmd\": \"show_account\"}", NULL);
        ASSERT_EQ_INT(json_object_size(j), 8); /* 991..1000 without 993 and 997 */
        assert_slots(j, &r, 991, 1000);
        ASSERT_TRUE(json_object_get(j, "990") == NULL && json_object_get(j, "1001") == NULL);
        ASSERT_TRUE(json_object_get(j, "993") == NULL);
        json_decref(j);

        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {}}", NULL);
        assert_slots(j, &r, 991, 1000);
        json_decref(j);
        ring_done(&r);
}

TEST(test_api_show_account_explicit_arguments) {
        Ring r;
        ApiContext ctx = { .now_sec = 1000 };
        json_t *j;

        api_ring(&r);
        ctx.ring = &r;
        /* the README's request: the last two seconds */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 2}}", NULL);
        assert_slots(j, &r, 999, 1000);
        ASSERT_EQ_INT(json_object_size(j), 2);
        json_decref(j);
        /* end_slot alone: ten seconds up to it */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"end_slot\": 995}}", NULL);
        assert_slots(j, &r, 986, 995);
        json_decref(j);
        /* end_slot after now is served from what is there */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"end_slot\": 1001, \"nr_slot\": 1}}", NULL);
        assert_slots(j, &r, 1001, 1001);
        ASSERT_EQ_INT(json_object_size(j), 1);
        json_decref(j);
        /* start and end: nr_slot is only the default for start */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 985, \"end_slot\": 990}}", NULL);
        assert_slots(j, &r, 985, 990);
        ASSERT_EQ_INT(json_object_size(j), 6);
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 995, \"nr_slot\": 2}}", NULL);
        assert_slots(j, &r, 995, 1000);
        json_decref(j);
        /* start only: up to now */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 998}}", NULL);
        assert_slots(j, &r, 998, 1000);
        ASSERT_EQ_INT(json_object_size(j), 3);
        json_decref(j);
        /* start == end */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 994, \"end_slot\": 994}}", NULL);
        assert_slots(j, &r, 994, 994);
        ASSERT_EQ_INT(json_object_size(j), 1);
        json_decref(j);
        /* nothing there: an empty object, not an error */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 993, \"end_slot\": 993}}", NULL);
        assert_json_eq(j, "{}");
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"end_slot\": 500}}", NULL);
        assert_json_eq(j, "{}");
        json_decref(j);
        ring_done(&r);
}

TEST(test_api_show_account_near_epoch) {
        static const char *const paths[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);
        Ring r;
        ApiContext ctx = { .now_sec = 5 };
        json_t *j;

        ASSERT_EQ_INT(ring_init(&r, 20), 0);
        for (uint64_t sec = 1; sec <= 5; sec++)
                put_marked(&r, set, sec);
        ctx.ring = &r;
        /* the default start would be -4: clamped, second 0 never exists */
        j = call(&ctx, "{\"cmd\": \"show_account\"}", NULL);
        assert_slots(j, &r, 1, 5);
        ASSERT_EQ_INT(json_object_size(j), 5);
        json_decref(j);
        ring_done(&r);
}

TEST(test_api_show_account_start_after_end) {
        Ring r;
        ApiContext ctx = { .now_sec = 1000 };

        api_ring(&r);
        ctx.ring = &r;
        assert_error_mentions(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 996, \"end_slot\": 995}}",
                              "start_slot");
        assert_error_mentions(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 1001}}", /* end = now */
                              "start_slot");
        ring_done(&r);
}

TEST(test_api_show_account_nr_slot_bounds) {
        Ring r;
        ApiContext ctx = { .now_sec = 1000 };
        char req[128];
        json_t *j;

        api_ring(&r);
        ctx.ring = &r;
        assert_error_mentions(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 0}}", "nr_slot");
        snprintf(req, sizeof(req), "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": %d}}", API_SLOTS_MAX + 1);
        assert_error_mentions(&ctx, req, "nr_slot");
        assert_error_mentions(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 9223372036854775807}}",
                              "nr_slot");
        /* an explicit start may not widen the range past the limit either */
        snprintf(req, sizeof(req), "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": %d, \"end_slot\": %d}}",
                 1, API_SLOTS_MAX + 1);
        assert_error(&ctx, req);
        /* the limit itself is fine */
        snprintf(req, sizeof(req), "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": %d}}", API_SLOTS_MAX);
        j = call(&ctx, req, NULL);
        assert_slots(j, &r, 1, 1000);
        json_decref(j);
        snprintf(req, sizeof(req), "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": %d, \"end_slot\": %d}}",
                 1, API_SLOTS_MAX);
        j = call(&ctx, req, NULL);
        assert_slots(j, &r, 1, API_SLOTS_MAX);
        json_decref(j);
        ring_done(&r);
}

TEST(test_api_show_account_bad_argument_types) {
        Ring r;
        ApiContext ctx = { .now_sec = 1000 };
        static const char *const names[] = { "end_slot", "nr_slot", "start_slot" };
        static const char *const bad[] = { "-1", "-9223372036854775808", "\"10\"", "\"\"", "10.0", "1e3", "true",
                                           "[10]", "{}" };

        api_ring(&r);
        ctx.ring = &r;
        for (size_t n = 0; n < ELEMENTSOF(names); n++)
                for (size_t b = 0; b < ELEMENTSOF(bad); b++) {
                        char req[160];

                        snprintf(req, sizeof(req), "{\"cmd\": \"show_account\", \"args\": {\"%s\": %s}}", names[n],
                                 bad[b]);
                        assert_error_mentions(&ctx, req, names[n]);
                }
        ring_done(&r);
}

/* Every request in reqs gets an {"error": ...} answer and no action (one fresh ring per table). */
static void assert_errors(const char *const *reqs, size_t n) {
        ApiContext ctx = { .now_sec = 1000 };
        Ring r;

        api_ring(&r);
        ctx.ring = &r;
        for (size_t i = 0; i < n; i++)
                assert_error(&ctx, reqs[i]);
        ring_done(&r);
}

TEST(test_api_bad_json) {
        static const char *const reqs[] = {
                "",
                "{",
                "{\"cmd\": \"show_account\"",
                "show_account",
                "{\"cmd\": 'status'}",
                "{\"cmd\": \"status\"} trailing",
                "\xff\xfe{}",
                /* ambiguous requests are refused, not guessed at */
                "{\"cmd\": \"status\", \"cmd\": \"show_account\"}",
        };

        assert_errors(reqs, ELEMENTSOF(reqs));
}

TEST(test_api_non_object_request) {
        static const char *const reqs[] = {
                "[]",
                "[\"show_account\"]",
                "\"show_account\"",
                "42",
                "null",
        };

        assert_errors(reqs, ELEMENTSOF(reqs));
}

TEST(test_api_missing_or_bad_cmd) {
        static const char *const reqs[] = {
                "{}",
                "{\"args\": {\"nr_slot\": 2}}",
                "{\"cmd\": 5}",
                "{\"cmd\": null}",
                "{\"cmd\": [\"show_account\"]}",
        };

        assert_errors(reqs, ELEMENTSOF(reqs));
}

TEST(test_api_unknown_cmd) {
        static const char *const reqs[] = {
                "{\"cmd\": \"drop_all\"}",
                "{\"cmd\": \"\"}",
                "{\"cmd\": \"SHOW_ACCOUNT\"}",
                "{\"cmd\": \"get_cgexec_arg\"}",
        };

        assert_errors(reqs, ELEMENTSOF(reqs));
}

TEST(test_api_args_not_object) {
        static const char *const reqs[] = {
                "{\"cmd\": \"show_account\", \"args\": [1, 2]}",
                "{\"cmd\": \"show_account\", \"args\": \"nr_slot=2\"}",
                "{\"cmd\": \"show_account\", \"args\": 2}",
                "{\"cmd\": \"subscribe\", \"args\": [1]}", /* no action either */
                "{\"cmd\": \"get_conf\", \"args\": true}",
        };

        assert_errors(reqs, ELEMENTSOF(reqs));
}

TEST(test_api_error_message_is_escaped_json) {
        ApiContext ctx = { .now_sec = 1000 };
        Ring r;
        ApiAction action;
        char *answer;

        api_ring(&r);
        ctx.ring = &r;
        answer = api_answer(&ctx, "{\"cmd\": \"x\"}", 12, &action);
        ASSERT_TRUE(answer != NULL);
        ASSERT_TRUE(strncmp(answer, "{\"error\":", 9) == 0);
        ASSERT_TRUE(strchr(answer, '\n') == NULL); /* one websocket text frame, one line */
        free(answer);
        ring_done(&r);
}

TEST(test_api_size_is_honoured) {
        ApiContext ctx = { .now_sec = 1000 };
        static const char req[] = "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 1}}";
        Ring r;
        char *buf;
        json_t *j;

        api_ring(&r);
        ctx.ring = &r;
        /* exactly the bytes of the frame, no NUL after them (ASan catches a read past the end) */
        buf = malloc(sizeof(req) - 1);
        ASSERT_TRUE(buf != NULL);
        memcpy(buf, req, sizeof(req) - 1);
        j = call_n(&ctx, buf, sizeof(req) - 1, NULL);
        assert_slots(j, &r, 1000, 1000);
        json_decref(j);
        free(buf);
        /* bytes after size are not part of the request */
        j = call_n(&ctx, "{\"cmd\": \"status\"}{{{garbage", 17, NULL);
        assert_json_eq(j, "{}");
        json_decref(j);
        ring_done(&r);
}

TEST(test_api_truncated_by_size_is_an_error) {
        ApiContext ctx = { .now_sec = 1000 };
        ApiAction action;
        json_t *j;

        j = call_n(&ctx, "{\"cmd\": \"status\"}", 10, &action);
        ASSERT_TRUE(json_is_string(json_object_get(j, "error")));
        ASSERT_EQ_INT(json_object_size(j), 1);
        ASSERT_EQ_INT(action, API_ACTION_NONE);
        json_decref(j);
}

TEST(test_api_get_conf) {
        ApiContext ctx = { .now_sec = 1000, .conf_version = 7 };
        json_t *tree = json_loads("{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": 1024}}}}}", 0, NULL);
        ApiAction action;
        json_t *j;

        ASSERT_TRUE(tree != NULL);
        ctx.conf = tree;
        j = call(&ctx, "{\"cmd\": \"get_conf\"}", &action);
        assert_json_eq(j, "{\"version\": 7, \"value\": {\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\":"
                          " {\"share\": 1024}}}}}}");
        ASSERT_EQ_INT(action, API_ACTION_NONE);
        json_decref(j);
        ASSERT_EQ_INT(tree->refcount, 1); /* borrowed, not kept */
        j = call(&ctx, "{\"cmd\": \"get_conf\", \"args\": {}}", NULL);
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "version")), 7);
        json_decref(j);
        json_decref(tree);
}

TEST(test_api_get_conf_without_tree) {
        ApiContext ctx = { .now_sec = 1000, .conf = NULL, .conf_version = 0 };
        json_t *j = call(&ctx, "{\"cmd\": \"get_conf\"}", NULL);

        assert_json_eq(j, "{\"version\": 0, \"value\": null}");
        ASSERT_TRUE(json_is_null(json_object_get(j, "value")));
        json_decref(j);
}

TEST(test_api_subscribe_unsubscribe_set_action) {
        ApiContext ctx = { .now_sec = 1000 };
        ApiAction action;
        json_t *j;

        j = call(&ctx, "{\"cmd\": \"subscribe\"}", &action);
        ASSERT_EQ_INT(action, API_ACTION_SUBSCRIBE);
        ASSERT_TRUE(json_object_get(j, "error") == NULL);
        assert_json_eq(j, "{\"subscribed\": true}");
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"unsubscribe\", \"args\": {}}", &action);
        ASSERT_EQ_INT(action, API_ACTION_UNSUBSCRIBE);
        assert_json_eq(j, "{\"subscribed\": false}");
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"get_conf\"}", &action); /* every other answer resets it */
        ASSERT_EQ_INT(action, API_ACTION_NONE);
        json_decref(j);
}

typedef struct StatusProbe {
        int calls;
} StatusProbe;

static json_t *status_cb(void *userdata) {
        StatusProbe *p = userdata;

        p->calls++;
        return json_pack("{s:i, s:s}", "slices", 12, "state", "running");
}

TEST(test_api_status_calls_callback) {
        StatusProbe probe = { 0 };
        ApiContext ctx = { .now_sec = 1000, .status = status_cb, .userdata = &probe };
        ApiAction action;
        json_t *j;

        j = call(&ctx, "{\"cmd\": \"status\"}", &action);
        ASSERT_EQ_INT(probe.calls, 1);
        ASSERT_EQ_INT(action, API_ACTION_NONE);
        assert_json_eq(j, "{\"slices\": 12, \"state\": \"running\"}"); /* and the callback's object is freed (ASan) */
        json_decref(j);
        /* no callback: an empty object */
        ctx.status = NULL;
        j = call(&ctx, "{\"cmd\": \"status\"}", NULL);
        assert_json_eq(j, "{}");
        ASSERT_EQ_INT(probe.calls, 1);
        json_decref(j);
}

/* ---------------------------------------------------------------------------------------------------- */
/* api_show_account: a full window */

TEST(test_api_show_account_300_slots_of_10_slices) {
        static const char *const paths[] = { "", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(10, paths, NULL);
        ApiContext ctx = { .now_sec = 10300 };
        Ring r;
        json_t *j;

        ASSERT_EQ_INT(ring_init(&r, 300), 0);
        for (uint64_t sec = 10001; sec <= 10300; sec++)
                put_marked(&r, set, sec);
        ASSERT_EQ_INT(set->n_ref, 302); /* ours, 300 slots, the last values */

        j = show_all(&r, 10001, 10300);
        ASSERT_EQ_INT(json_object_size(j), 300);
        for (uint64_t sec = 10001; sec <= 10300; sec++) {
                char key[32];
                json_t *cpu;

                snprintf(key, sizeof(key), "%" PRIu64, sec);
                cpu = json_object_get(json_object_get(j, key), "cpu");
                ASSERT_EQ_INT(json_object_size(json_object_get(cpu, "sub_cgroup")), 9);
                ASSERT_EQ_U64((uint64_t) json_integer_value(json_object_get(
                                      json_object_get(json_object_get(json_object_get(cpu, "sub_cgroup"), "s8"), "value"),
                                      "usage")),
                              sec * 1000 + 9);
        }
        json_decref(j);

        /* the same through the websocket command */
        ctx.ring = &r;
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 300}}", NULL);
        ASSERT_EQ_INT(json_object_size(j), 300);
        assert_slots(j, &r, 10001, 10300);
        json_decref(j);
        /* one more second than the window: still 300 */
        j = show_all(&r, 10000, 10301);
        ASSERT_EQ_INT(json_object_size(j), 300);
        json_decref(j);
        ring_done(&r);
}

/* ---------------------------------------------------------------------------------------------------- */
/* metrics_render: a small parser of the text exposition format */

#define MAX_LABELS 8
#define MAX_SAMPLES 256
#define MAX_FAMILIES 32

typedef struct PromSample {
        char name[128];
        size_t n_labels;
        char label_name[MAX_LABELS][64];
        char label_value[MAX_LABELS][256];
        char value[64];
} PromSample;

typedef struct PromFamily {
        char name[128];
        char type[16];
        int n_help, n_type;
        size_t n_samples;
        bool closed; /* another family's sample came after ours */
} PromFamily;

typedef struct Prom {
        PromSample samples[MAX_SAMPLES];
        size_t n_samples;
        PromFamily families[MAX_FAMILIES];
        size_t n_families;
} Prom;

static bool is_name_start(char c) {
        return isalpha((unsigned char) c) || c == '_' || c == ':';
}

static bool is_name_char(char c) {
        return is_name_start(c) || isdigit((unsigned char) c);
}

/* A metric or label name at *p, copied to out; returns false when there is none. */
static bool parse_name(const char **p, char *out, size_t size, bool label) {
        size_t n = 0;

        if (!is_name_start(**p) || (label && **p == ':'))
                return false;
        while (is_name_char(**p) && !(label && **p == ':')) {
                if (n + 1 >= size)
                        return false;
                out[n++] = *(*p)++;
        }
        out[n] = 0;
        return true;
}

/* A plain decimal: digits, optionally a point and more digits. No sign, exponent, NaN or Inf. */
static bool is_plain_decimal(const char *s) {
        const char *p = s;

        if (!isdigit((unsigned char) *p))
                return false;
        while (isdigit((unsigned char) *p))
                p++;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return false;
                while (isdigit((unsigned char) *p))
                        p++;
        }
        return *p == 0;
}

static PromFamily *family(Prom *m, const char *name, bool create) {
        for (size_t i = 0; i < m->n_families; i++)
                if (streq(m->families[i].name, name))
                        return &m->families[i];
        if (!create)
                return NULL;
        ASSERT_TRUE(m->n_families < MAX_FAMILIES);
        m->families[m->n_families] = (PromFamily) { .n_help = 0 };
        snprintf(m->families[m->n_families].name, sizeof(m->families[0].name), "%s", name);
        return &m->families[m->n_families++];
}

#define PARSE_FAIL(line, why)                                                        \
        do {                                                                         \
                fprintf(stderr, "%s:%d: bad exposition line \"%s\": %s\n", __FILE__, __LINE__, line, why); \
                abort();                                                             \
        } while (0)

static void parse_line(Prom *m, const char *line, PromFamily **current) {
        const char *p = line;

        if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
                bool help = line[2] == 'H';
                char name[128];
                PromFamily *f;

                p += 7;
                if (!parse_name(&p, name, sizeof(name), false) || *p != ' ' || !p[1])
                        PARSE_FAIL(line, "comment without a name and text");
                f = family(m, name, true);
                if (f->n_samples > 0)
                        PARSE_FAIL(line, "HELP/TYPE after the family's samples");
                if (help)
                        f->n_help++;
                else {
                        f->n_type++;
                        snprintf(f->type, sizeof(f->type), "%s", p + 1);
                        if (!streq(f->type, "counter") && !streq(f->type, "gauge"))
                                PARSE_FAIL(line, "unexpected type");
                }
                if (f->n_help > 1 || f->n_type > 1)
                        PARSE_FAIL(line, "second HELP or TYPE for a family");
                return;
        }
        if (line[0] == '#')
                PARSE_FAIL(line, "unknown comment");

        ASSERT_TRUE(m->n_samples < MAX_SAMPLES);
        PromSample *s = &m->samples[m->n_samples];
        *s = (PromSample) { .n_labels = 0 };
        if (!parse_name(&p, s->name, sizeof(s->name), false))
                PARSE_FAIL(line, "no metric name");
        if (*p == '{') {
                p++;
                while (*p != '}') {
                        size_t n = 0;

                        if (s->n_labels >= MAX_LABELS)
                                PARSE_FAIL(line, "too many labels");
                        if (!parse_name(&p, s->label_name[s->n_labels], sizeof(s->label_name[0]), true))
                                PARSE_FAIL(line, "bad label name");
                        for (size_t i = 0; i < s->n_labels; i++)
                                if (streq(s->label_name[i], s->label_name[s->n_labels]))
                                        PARSE_FAIL(line, "label repeated");
                        if (p[0] != '=' || p[1] != '"')
                                PARSE_FAIL(line, "label without =\"");
                        p += 2;
                        for (;; p++) {
                                char c = *p;

                                if (c == 0 || c == '\n')
                                        PARSE_FAIL(line, "unterminated label value");
                                if (c == '"')
                                        break;
                                if (c == '\\') {
                                        p++;
                                        if (*p == 'n')
                                                c = '\n';
                                        else if (*p == '\\' || *p == '"')
                                                c = *p;
                                        else
                                                PARSE_FAIL(line, "bad escape in label value");
                                }
                                if (n + 1 >= sizeof(s->label_value[0]))
                                        PARSE_FAIL(line, "label value too long");
                                s->label_value[s->n_labels][n++] = c;
                        }
                        s->label_value[s->n_labels][n] = 0;
                        s->n_labels++;
                        p++; /* the closing quote */
                        if (*p == ',')
                                p++;
                        else if (*p != '}')
                                PARSE_FAIL(line, "labels not separated by commas");
                }
                p++;
        }
        if (*p != ' ')
                PARSE_FAIL(line, "no single space before the value");
        p++;
        if (strchr(p, ' '))
                PARSE_FAIL(line, "a timestamp or trailing text after the value");
        if (!is_plain_decimal(p))
                PARSE_FAIL(line, "value is not a plain decimal");
        snprintf(s->value, sizeof(s->value), "%s", p);

        PromFamily *f = family(m, s->name, false);
        if (!f || f->n_help != 1 || f->n_type != 1)
                PARSE_FAIL(line, "sample without one HELP and one TYPE before it");
        if (f->closed)
                PARSE_FAIL(line, "family's samples are not together");
        if (streq(f->type, "counter") && !(strlen(s->name) > 6 && streq(s->name + strlen(s->name) - 6, "_total")))
                PARSE_FAIL(line, "counter not ending in _total");
        if (*current && *current != f)
                (*current)->closed = true;
        *current = f;
        f->n_samples++;
        m->n_samples++;
}

/* Parses the whole text (asserting it is valid); every line ends with \n. */
static void prom_parse(Prom *m, const char *text) {
        PromFamily *current = NULL;
        const char *p = text;

        memset(m, 0, sizeof(*m));
        ASSERT_TRUE(text != NULL);
        ASSERT_TRUE(text[0] == 0 || text[strlen(text) - 1] == '\n');
        while (*p) {
                const char *nl = strchr(p, '\n');
                char line[1024];
                size_t n = (size_t) (nl - p);

                ASSERT_TRUE(nl != NULL);
                ASSERT_TRUE(n < sizeof(line));
                if (n == 0)
                        PARSE_FAIL("", "empty line");
                memcpy(line, p, n);
                line[n] = 0;
                parse_line(m, line, &current);
                p = nl + 1;
        }
        /* a family without samples is fine, one with only HELP or only TYPE is not */
        for (size_t i = 0; i < m->n_families; i++)
                if (m->families[i].n_help != 1 || m->families[i].n_type != 1) {
                        fprintf(stderr, "family %s: %d HELP, %d TYPE\n", m->families[i].name, m->families[i].n_help,
                                m->families[i].n_type);
                        abort();
                }
}

static const char *label_of(const PromSample *s, const char *name) {
        for (size_t i = 0; i < s->n_labels; i++)
                if (streq(s->label_name[i], name))
                        return s->label_value[i];
        return NULL;
}

/* The value of the one sample of `name` whose labels include the given pairs (NULL-terminated). */
__attribute__((sentinel)) static const char *prom_value(const Prom *m, const char *name, ...) {
        const char *found = NULL;
        size_t n_found = 0;

        for (size_t i = 0; i < m->n_samples; i++) {
                const PromSample *s = &m->samples[i];
                bool match = streq(s->name, name);
                va_list ap;

                va_start(ap, name);
                for (const char *k; match && (k = va_arg(ap, const char *));) {
                        const char *v = va_arg(ap, const char *), *have = label_of(s, k);

                        match = have && streq(have, v);
                }
                va_end(ap);
                if (match) {
                        found = s->value;
                        n_found++;
                }
        }
        if (n_found > 1) {
                fprintf(stderr, "%zu samples of %s match\n", n_found, name);
                abort();
        }
        return found;
}

static size_t prom_count(const Prom *m, const char *name) {
        const PromFamily *f = family((Prom *) m, name, false);

        return f ? f->n_samples : 0;
}

#define WEIRD_PATH "we\"ird\\path\nname"
#define WEIRD_UNIT "we\\x22ird.slice"

/* Two slices: the root with everything, WEIRD_PATH with cpu, pids, one device and one pressure total. */
static void put_metrics_slot(Ring *r, uint64_t sec) {
        static const char *const paths[] = { "", WEIRD_PATH };
        static const char *const units[] = { "-.slice", WEIRD_UNIT };
        static const SampleIo root_io[] = { { 8, 0, 1000, 2000, 10, 20 }, { 253, 1, 3, 4, 1, 2 } };
        static const SampleIo w_io[] = { { 8, 16, 4096, 0, 1, 0 } };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(2, paths, units);
        SampleValues *v = values_new(2);

        v[0].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS;
        v[0].cpu_usage_nsec = UINT64_C(1446489231295);
        v[0].memory_bytes = UINT64_C(8589934592);
        v[0].pids = 321;
        set_io(&v[0], 2, root_io);
        for (PressureKind k = 0; k < _PRESSURE_MAX; k++)
                set_pressure(&v[0], k, UINT64_C(1500000) * (1 + (uint64_t) k) + 7);

        v[1].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_PIDS; /* no memory */
        v[1].cpu_usage_nsec = 5;
        v[1].pids = 0;
        set_io(&v[1], 1, w_io);
        set_pressure(&v[1], PRESSURE_IO_FULL, 250);
        ASSERT_EQ_INT(ring_put(r, sec, set, v), 0);
}

static char *render_slot(Prom *m, const MetricsExtra *x) {
        Ring r;
        char *text;

        ASSERT_EQ_INT(ring_init(&r, 60), 0);
        put_metrics_slot(&r, README_SEC);
        text = metrics_render(ring_last(&r), x);
        ring_done(&r);
        ASSERT_TRUE(text != NULL);
        prom_parse(m, text);
        return text;
}

TEST(test_metrics_lines_are_valid_exposition) {
        static Prom m;
        char *text = render_slot(&m, NULL);
        static const char *const families[] = {
                "slicekeeper_cpu_usage_seconds_total", "slicekeeper_memory_usage_bytes",
                "slicekeeper_tasks",                   "slicekeeper_io_bytes_total",
                "slicekeeper_io_operations_total",     "slicekeeper_pressure_seconds_total",
                "slicekeeper_sample_timestamp_seconds",
        };

        /* prom_parse checked every line; here: the families expected, and nothing else */
        for (size_t i = 0; i < ELEMENTSOF(families); i++)
                ASSERT_TRUE(family(&m, families[i], false) != NULL);
        ASSERT_EQ_INT(m.n_families, ELEMENTSOF(families));
        ASSERT_STREQ(family(&m, "slicekeeper_cpu_usage_seconds_total", false)->type, "counter");
        ASSERT_STREQ(family(&m, "slicekeeper_memory_usage_bytes", false)->type, "gauge");
        ASSERT_STREQ(family(&m, "slicekeeper_tasks", false)->type, "gauge");
        ASSERT_STREQ(family(&m, "slicekeeper_sample_timestamp_seconds", false)->type, "gauge");
        free(text);
}

TEST(test_metrics_cpu_seconds_from_nsec) {
        static Prom m;
        char *text = render_slot(&m, NULL);

        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_cpu_usage_seconds_total"), 2);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_cpu_usage_seconds_total", "group", "", "slice", "-.slice", NULL),
                     "1446.489231295");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_cpu_usage_seconds_total", "group", WEIRD_PATH, NULL), "0.000000005");
        free(text);
}

TEST(test_metrics_memory_and_tasks) {
        static Prom m;
        char *text = render_slot(&m, NULL);

        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_memory_usage_bytes"), 1); /* the weird slice has none */
        ASSERT_STREQ(prom_value(&m, "slicekeeper_memory_usage_bytes", "group", "", NULL), "8589934592");
        ASSERT_TRUE(prom_value(&m, "slicekeeper_memory_usage_bytes", "group", WEIRD_PATH, NULL) == NULL);
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_tasks"), 2);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_tasks", "group", "", NULL), "321");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_tasks", "group", WEIRD_PATH, NULL), "0");
        free(text);
}

TEST(test_metrics_io_per_device_and_operation) {
        static Prom m;
        char *text = render_slot(&m, NULL);

        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_io_bytes_total"), 6);
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_io_operations_total"), 6);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_bytes_total", "group", "", "device", "8:0", "operation", "read", NULL),
                     "1000");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_bytes_total", "group", "", "device", "8:0", "operation", "write", NULL),
                     "2000");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_operations_total", "group", "", "device", "8:0", "operation", "read",
                                NULL),
                     "10");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_operations_total", "group", "", "device", "253:1", "operation",
                                "write", NULL),
                     "2");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_bytes_total", "group", WEIRD_PATH, "device", "8:16", "operation",
                                "read", NULL),
                     "4096");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_bytes_total", "group", WEIRD_PATH, "device", "8:16", "operation",
                                "write", NULL),
                     "0");
        free(text);
}

TEST(test_metrics_pressure_seconds_from_usec) {
        static Prom m;
        char *text = render_slot(&m, NULL);

        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_pressure_seconds_total"), 7);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_pressure_seconds_total", "group", "", "resource", "cpu", "kind", "some",
                                NULL),
                     "1.500007");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_pressure_seconds_total", "group", "", "resource", "io", "kind", "full",
                                NULL),
                     "9.000007");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_pressure_seconds_total", "group", WEIRD_PATH, "resource", "io", "kind",
                                "full", NULL),
                     "0.000250");
        free(text);
}

TEST(test_metrics_label_values_escaped) {
        static Prom m;
        char *text = render_slot(&m, NULL);

        /* raw text: each of \ " newline escaped, so a sample stays on one line */
        ASSERT_CONTAINS(text, "group=\"we\\\"ird\\\\path\\nname\"");
        ASSERT_CONTAINS(text, "slice=\"we\\\\x22ird.slice\"");
        /* and they read back as they were */
        for (size_t i = 0; i < m.n_samples; i++)
                if (label_of(&m.samples[i], "group") && label_of(&m.samples[i], "group")[0]) {
                        ASSERT_STREQ(label_of(&m.samples[i], "group"), WEIRD_PATH);
                        ASSERT_STREQ(label_of(&m.samples[i], "slice"), WEIRD_UNIT);
                }
        free(text);
}

TEST(test_metrics_sample_timestamp_is_slot_second) {
        static Prom m;
        char *text = render_slot(&m, NULL);
        char expected[32];

        snprintf(expected, sizeof(expected), "%d", README_SEC);
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_sample_timestamp_seconds"), 1);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_sample_timestamp_seconds", NULL), expected);
        for (size_t i = 0; i < m.n_samples; i++)
                if (streq(m.samples[i].name, "slicekeeper_sample_timestamp_seconds"))
                        ASSERT_EQ_INT(m.samples[i].n_labels, 0);
        free(text);
}

TEST(test_metrics_extra_counters) {
        static Prom m;
        MetricsExtra x = {
                .sweep_cpu_usec_total = 12345678,
                .sweep_cpu_usec_last = 250,
                .ticks = 86400,
                .redis_written = 86000,
                .redis_dropped = 400,
                .websocket_clients = 3,
        };
        char *text = render_slot(&m, &x);

        ASSERT_STREQ(prom_value(&m, "slicekeeper_sweep_cpu_seconds_total", NULL), "12.345678");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_last_sweep_cpu_seconds", NULL), "0.000250");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_sweeps_total", NULL), "86400");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_redis_records_written_total", NULL), "86000");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_redis_records_dropped_total", NULL), "400");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_websocket_clients", NULL), "3");
        ASSERT_STREQ(family(&m, "slicekeeper_websocket_clients", false)->type, "gauge");
        ASSERT_EQ_INT(m.n_families, 13);
        free(text);
}

TEST(test_metrics_null_slot_and_extra) {
        static Prom m;
        MetricsExtra x = { .ticks = 1 };
        char *text = metrics_render(NULL, NULL);

        ASSERT_TRUE(text != NULL);
        prom_parse(&m, text); /* empty or comments only */
        ASSERT_EQ_INT(m.n_samples, 0);
        free(text);

        /* no samples yet, the daemon's own counters still there */
        text = metrics_render(NULL, &x);
        ASSERT_TRUE(text != NULL);
        prom_parse(&m, text);
        ASSERT_TRUE(family(&m, "slicekeeper_cpu_usage_seconds_total", false) == NULL);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_sweeps_total", NULL), "1");
        free(text);
}

/* The answer is read from the ring part by part while the ring goes on: a second is there as long as the
 * ring holds it when its turn comes. */
TEST(test_api_show_account_stream_while_the_ring_moves) {
        static const char *const paths[] = { "", "a" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(2, paths, NULL);
        _cleanup_(ring_done) Ring r = { 0 };
        _cleanup_(account_stream_freep) AccountStream *stream = NULL;
        Buf b = { 0 };
        json_t *j;
        int more;

        ASSERT_EQ_INT(ring_init(&r, 10), 0);
        for (uint64_t sec = 101; sec <= 110; sec++)
                put_marked(&r, set, sec);
        ASSERT_EQ_INT(account_stream_new(101, 112, &stream), 0);
        more = account_stream_next(stream, &r, &b, 1); /* "{" and 101 */
        ASSERT_EQ_INT(more, 1);
        ASSERT_TRUE(b.size > 1 && b.data[0] == '{');
        /* meanwhile 111 and 112 arrive: 101 and 102 leave the ring */
        put_marked(&r, set, 111);
        put_marked(&r, set, 112);
        do
                more = account_stream_next(stream, &r, &b, 1);
        while (more > 0);
        ASSERT_EQ_INT(more, 0);
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        j = json_loads((char *) b.data, 0, NULL);
        ASSERT_TRUE(j != NULL);
        ASSERT_EQ_INT(json_object_size(j), 11); /* 101 (sent before it went), 103..112 */
        ASSERT_TRUE(json_object_get(j, "102") == NULL);
        for (uint64_t sec = 103; sec <= 112; sec++) {
                char key[32];

                snprintf(key, sizeof(key), "%" PRIu64, sec);
                ASSERT_EQ_U64((uint64_t) json_integer_value(json_object_get(json_object_get(
                                      json_object_get(json_object_get(j, key), "cpu"), "value"), "usage")),
                              sec * 1000);
        }
        json_decref(j);
        buf_done(&b);
}

/* Parts are whole seconds: a part ends after the second that reached the size asked for. */
TEST(test_api_show_account_stream_parts) {
        static const char *const paths[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);
        _cleanup_(ring_done) Ring r = { 0 };
        _cleanup_(account_stream_freep) AccountStream *stream = NULL;
        _cleanup_(freep) char *all = NULL;
        Buf b = { 0 }, joined = { 0 };
        size_t parts = 0;
        int more;

        ASSERT_EQ_INT(ring_init(&r, 300), 0);
        for (uint64_t sec = 1001; sec <= 1300; sec++)
                put_marked(&r, set, sec);
        ASSERT_EQ_INT(account_stream_all(&r, 1001, 1300, &all), 0);
        ASSERT_EQ_INT(account_stream_new(1001, 1300, &stream), 0);
        do {
                b.size = 0;
                more = account_stream_next(stream, &r, &b, 1000);
                ASSERT_TRUE(more >= 0);
                ASSERT_TRUE(b.size >= (more ? 1000u : 1u));
                ASSERT_TRUE(b.size < 1000 + 200); /* one second of one slice is about 150 bytes */
                ASSERT_EQ_INT(buf_put(&joined, b.data, b.size), 0);
                parts++;
        } while (more > 0);
        ASSERT_TRUE(parts > 10);
        ASSERT_EQ_INT(buf_put(&joined, "", 1), 0);
        ASSERT_STREQ((char *) joined.data, all);
        buf_done(&b);
        buf_done(&joined);
        /* an empty range is an empty object */
        free(all);
        ASSERT_EQ_INT(account_stream_all(&r, 5, 9, &all), 0);
        ASSERT_STREQ(all, "{}");
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

int main(void) {
        RUN(test_ring_init_zero_and_done_twice);
        RUN(test_api_show_account_stream_while_the_ring_moves);
        RUN(test_api_show_account_stream_parts);
        RUN(test_record_writer_matches_reference_random);
        RUN(test_ring_put_get_by_second);
        RUN(test_ring_wrap_replaces_old_second);
        RUN(test_ring_put_same_second_twice_replaces);
        RUN(test_ring_latest);
        RUN(test_ring_slice_set_refcount_across_slots);
        RUN(test_ring_put_refuses_second_zero_and_null_set);
        RUN(test_record_cpu_matches_readme_example);
        RUN(test_record_blkio_per_device);
        RUN(test_record_memory_usage);
        RUN(test_record_pids_current);
        RUN(test_record_pressure_some_full);
        RUN(test_record_missing_controller_value_is_empty_object);
        RUN(test_record_whole_exact);
        RUN(test_record_values_need_have_bits);
        RUN(test_record_of_no_slices);
        RUN(test_api_show_account_defaults);
        RUN(test_api_show_account_explicit_arguments);
        RUN(test_api_show_account_near_epoch);
        RUN(test_api_show_account_start_after_end);
        RUN(test_api_show_account_nr_slot_bounds);
        RUN(test_api_show_account_bad_argument_types);
        RUN(test_api_bad_json);
        RUN(test_api_non_object_request);
        RUN(test_api_missing_or_bad_cmd);
        RUN(test_api_unknown_cmd);
        RUN(test_api_args_not_object);
        RUN(test_api_error_message_is_escaped_json);
        RUN(test_api_size_is_honoured);
        RUN(test_api_truncated_by_size_is_an_error);
        RUN(test_api_get_conf);
        RUN(test_api_get_conf_without_tree);
        RUN(test_api_subscribe_unsubscribe_set_action);
        RUN(test_api_status_calls_callback);
        RUN(test_api_show_account_300_slots_of_10_slices);
        RUN(test_metrics_lines_are_valid_exposition);
        RUN(test_metrics_cpu_seconds_from_nsec);
        RUN(test_metrics_memory_and_tasks);
        RUN(test_metrics_io_per_device_and_operation);
        RUN(test_metrics_pressure_seconds_from_usec);
        RUN(test_metrics_label_values_escaped);
        RUN(test_metrics_sample_timestamp_is_slot_second);
        RUN(test_metrics_extra_counters);
        RUN(test_metrics_null_slot_and_extra);
        return 0;
}
