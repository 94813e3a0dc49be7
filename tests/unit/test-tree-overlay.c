/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "macro.h"
#include "tests.h"
#include "tree-fixtures.h"
#include "tree-overlay.h"
#include "tree-parse.h"

/* ---- helpers ---- */

static json_t *load(const char *text) {
        json_error_t jerr;
        json_t *j;

        if (!text)
                return NULL;
        j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!j)
                fprintf(stderr, "bad test JSON at %d:%d: %s\n", jerr.line, jerr.column, jerr.text);
        ASSERT_TRUE(j != NULL);
        return j;
}

static char *dump(const json_t *j) {
        char *s = j ? json_dumps(j, JSON_ENCODE_ANY) : strdup("(none)");

        ASSERT_TRUE(s != NULL);
        return s;
}

/* Merges the two texts (NULL: no such node), checks that neither input changed, and returns the merge's
 * answer; *ret untouched on failure. */
static int merge(const char *shared_text, const char *overlay_text, json_t **ret, TreeError *err) {
        json_t *shared = load(shared_text), *overlay = load(overlay_text);
        _cleanup_(freep) char *shared_before = dump(shared), *overlay_before = dump(overlay);
        _cleanup_(freep) char *shared_after = NULL, *overlay_after = NULL;
        json_t *result = (json_t *) 0x1;
        int r;

        r = tree_overlay_merge(shared, overlay, &result, err);
        shared_after = dump(shared);
        overlay_after = dump(overlay);
        ASSERT_STREQ(shared_after, shared_before);
        ASSERT_STREQ(overlay_after, overlay_before);
        if (r < 0) {
                ASSERT_TRUE(result == (json_t *) 0x1);
                ASSERT_TRUE(err->message[0] != 0);
        } else {
                ASSERT_EQ_INT(r, 0);
                ASSERT_TRUE(json_is_object(result));
                *ret = result;
        }
        /* the result must not depend on the inputs staying around (ASan sees a use after free) */
        json_decref(shared);
        json_decref(overlay);
        return r;
}

/* The merge must succeed and equal `expected` (JSON text). */
static json_t *assert_merges_to(const char *shared_text, const char *overlay_text, const char *expected_text) {
        _cleanup_(json_decrefp) json_t *expected = load(expected_text);
        TreeError err = { "" };
        json_t *result = NULL;
        int r = merge(shared_text, overlay_text, &result, &err);

        if (r < 0)
                fprintf(stderr, "unexpected refusal (%d): %s\n", r, err.message);
        ASSERT_EQ_INT(r, 0);
        if (!json_equal(result, expected)) {
                _cleanup_(freep) char *got = dump(result);

                fprintf(stderr, "merged to %s\nexpected  %s\n", got, expected_text);
                ASSERT_TRUE(!"merge result differs");
        }
        return result;
}

static void assert_merge_ok(const char *shared_text, const char *overlay_text, const char *expected_text) {
        json_decref(assert_merges_to(shared_text, overlay_text, expected_text));
}

static void assert_refused(const char *shared_text, const char *overlay_text, int expected_r, const char *needle) {
        TreeError err = { "" };
        json_t *result = NULL;
        int r = merge(shared_text, overlay_text, &result, &err);

        if (r != expected_r)
                fprintf(stderr, "message: %s\n", err.message);
        ASSERT_EQ_INT(r, expected_r);
        ASSERT_CONTAINS(err.message, needle);
}

/* The merged JSON as the daemon's tree: tree_parse_json_value() on the result. */
static Tree *parse_merged(const char *shared_text, const char *overlay_text) {
        TreeError err = { "" };
        json_t *result = NULL;
        Tree *t = NULL;
        int r;

        ASSERT_EQ_INT(merge(shared_text, overlay_text, &result, &err), 0);
        r = tree_parse_json_value(result, /* root= */ NULL, &t, &err);
        if (r < 0)
                fprintf(stderr, "merged tree refused (%d): %s\n", r, err.message);
        ASSERT_EQ_INT(r, 0);
        json_decref(result);
        return t;
}

static uint64_t value_of(const TreeNode *n, TreeProp p) {
        ASSERT_TRUE(n->settings.set_mask & (1u << p));
        return n->settings.value[p];
}

static const char native_shared[] =
        "{\"slices\": {\"web\": {\"cpu_weight\": 200, \"memory_max\": \"2G\", \"pid_files\": [\"/run/nginx.pid\"],"
        "                      \"children\": {\"static\": {\"cpu_weight\": 50}, \"api\": {\"tasks_max\": 100}}},"
        "              \"batch\": {\"cpu_weight\": 10}}}";

static const char arch_shared[] =
        "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 512, \"pids\": [10, 11]},"
        "                                  \"sub_cgroup\": {\"a1\": {\"conf\": {\"share\": 100}}}},"
        "                          \"b\": {\"conf\": {\"share\": 256}}}},"
        " \"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": \"1G\", \"high\": \"512M\"}}}}}";

/* ---- merge rules ---- */

TEST(test_add_group) {
        assert_merge_ok("{\"slices\": {\"a\": {\"cpu_weight\": 10}}}",
                        "{\"slices\": {\"b\": {\"cpu_weight\": 20}}}",
                        "{\"slices\": {\"a\": {\"cpu_weight\": 10}, \"b\": {\"cpu_weight\": 20}}}");
        assert_merge_ok("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1}}}}}",
                        "{\"cpu\": {\"sub_cgroup\": {\"b\": {\"conf\": {\"share\": 2}}}}, "
                        " \"pids\": {\"sub_cgroup\": {\"b\": {\"conf\": {\"max\": 5}}}}}",
                        "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1}}, \"b\": {\"conf\": {\"share\": 2}}}},"
                        " \"pids\": {\"sub_cgroup\": {\"b\": {\"conf\": {\"max\": 5}}}}}");
}

TEST(test_replace_setting) {
        assert_merge_ok("{\"slices\": {\"a\": {\"cpu_weight\": 10, \"memory_max\": \"1G\"}}}",
                        "{\"slices\": {\"a\": {\"cpu_weight\": 99}}}",
                        "{\"slices\": {\"a\": {\"cpu_weight\": 99, \"memory_max\": \"1G\"}}}");
        /* a scalar over an object and an object over a scalar: the overlay's value wins */
        assert_merge_ok("{\"slices\": {\"a\": {\"cpu_weight\": {\"x\": 1}}}}",
                        "{\"slices\": {\"a\": {\"cpu_weight\": 5}}}",
                        "{\"slices\": {\"a\": {\"cpu_weight\": 5}}}");
        assert_merge_ok("{\"slices\": {\"a\": {\"cpu_weight\": 5}}}",
                        "{\"slices\": {\"a\": {\"cpu_weight\": {\"x\": 1, \"y\": null}}}}",
                        "{\"slices\": {\"a\": {\"cpu_weight\": {\"x\": 1}}}}");
        assert_merge_ok(arch_shared,
                        "{\"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": \"4G\"}}}}}",
                        "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 512, \"pids\": [10, 11]},"
                        "                                  \"sub_cgroup\": {\"a1\": {\"conf\": {\"share\": 100}}}},"
                        "                          \"b\": {\"conf\": {\"share\": 256}}}},"
                        " \"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": \"4G\", \"high\": \"512M\"}}}}}");
}

TEST(test_remove_group) {
        /* with its children */
        assert_merge_ok(native_shared, "{\"slices\": {\"web\": null}}", "{\"slices\": {\"batch\": {\"cpu_weight\": 10}}}");
        assert_merge_ok(native_shared, "{\"slices\": {\"web\": {\"children\": {\"api\": null}}}}",
                        "{\"slices\": {\"web\": {\"cpu_weight\": 200, \"memory_max\": \"2G\", \"pid_files\": [\"/run/nginx.pid\"],"
                        "                      \"children\": {\"static\": {\"cpu_weight\": 50}}},"
                        "              \"batch\": {\"cpu_weight\": 10}}}");
        /* a null for a group that is not there removes nothing */
        assert_merge_ok("{\"slices\": {\"a\": {}}}", "{\"slices\": {\"zz\": null}}", "{\"slices\": {\"a\": {}}}");
        /* cgrouparch: null in one controller tree takes the group out of that tree only */
        assert_merge_ok(arch_shared, "{\"cpu\": {\"sub_cgroup\": {\"a\": null}}}",
                        "{\"cpu\": {\"sub_cgroup\": {\"b\": {\"conf\": {\"share\": 256}}}},"
                        " \"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": \"1G\", \"high\": \"512M\"}}}}}");
        assert_merge_ok(arch_shared,
                        "{\"cpu\": {\"sub_cgroup\": {\"a\": null}}, \"memory\": {\"sub_cgroup\": {\"a\": null}}}",
                        "{\"cpu\": {\"sub_cgroup\": {\"b\": {\"conf\": {\"share\": 256}}}}, \"memory\": {\"sub_cgroup\": {}}}");
        /* a controller tree at the top level, and every native group */
        assert_merge_ok(arch_shared, "{\"cpu\": null}",
                        "{\"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": \"1G\", \"high\": \"512M\"}}}}}");
        assert_merge_ok(native_shared, "{\"slices\": null}", "{}");
}

TEST(test_remove_key) {
        assert_merge_ok("{\"slices\": {\"a\": {\"cpu_weight\": 10, \"memory_max\": \"1G\"}}}",
                        "{\"slices\": {\"a\": {\"memory_max\": null, \"tasks_max\": null}}}",
                        "{\"slices\": {\"a\": {\"cpu_weight\": 10}}}");
        assert_merge_ok(arch_shared, "{\"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"high\": null}}}}}",
                        "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 512, \"pids\": [10, 11]},"
                        "                                  \"sub_cgroup\": {\"a1\": {\"conf\": {\"share\": 100}}}},"
                        "                          \"b\": {\"conf\": {\"share\": 256}}}},"
                        " \"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": \"1G\"}}}}}");
}

/* jansson reads no NUL in a key, but a program may make one: "a\0b" is not "a" */
TEST(test_key_with_nul) {
        _cleanup_(json_decrefp) json_t *shared = load("{\"a\": {\"cpu_weight\": 10}}");
        _cleanup_(json_decrefp) json_t *overlay = json_object(), *overlay2 = json_object();
        _cleanup_(json_decrefp) json_t *result = NULL, *result2 = NULL;
        TreeError err = { "" };

        ASSERT_TRUE(overlay && overlay2);
        ASSERT_EQ_INT(json_object_setn_new(overlay, "a\0b", 3, json_null()), 0);
        ASSERT_EQ_INT(json_object_setn_new(overlay2, "a\0b", 3, json_pack("{s:i}", "io_weight", 1)), 0);
        ASSERT_EQ_INT(tree_overlay_merge(shared, overlay, &result, &err), 0);
        ASSERT_TRUE(json_equal(result, shared));
        ASSERT_EQ_INT(tree_overlay_merge(shared, overlay2, &result2, &err), 0);
        ASSERT_EQ_INT(json_object_size(result2), 2);
        ASSERT_TRUE(json_equal(json_object_get(result2, "a"), json_object_get(shared, "a")));
        /* a new group, not merged over "a" */
        ASSERT_EQ_INT(json_object_size(json_object_getn(result2, "a\0b", 3)), 1);
        ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_getn(result2, "a\0b", 3), "io_weight")), 1);
}

TEST(test_nested_children_merge) {
        assert_merge_ok(native_shared,
                        "{\"slices\": {\"web\": {\"children\": {\"static\": {\"memory_max\": \"1G\","
                        "                                                   \"children\": {\"img\": {\"io_weight\": 5}}},"
                        "                                     \"new\": {\"cpu_weight\": 1}}}}}",
                        "{\"slices\": {\"web\": {\"cpu_weight\": 200, \"memory_max\": \"2G\", \"pid_files\": [\"/run/nginx.pid\"],"
                        "                      \"children\": {\"static\": {\"cpu_weight\": 50, \"memory_max\": \"1G\","
                        "                                                  \"children\": {\"img\": {\"io_weight\": 5}}},"
                        "                                     \"api\": {\"tasks_max\": 100}, \"new\": {\"cpu_weight\": 1}}},"
                        "              \"batch\": {\"cpu_weight\": 10}}}");
        assert_merge_ok(arch_shared,
                        "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"a1\": {\"conf\": {\"quota\": \"50%\"}},"
                        "                                                \"a2\": {\"conf\": {\"share\": 7}}}}}}}",
                        "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 512, \"pids\": [10, 11]},"
                        "                                  \"sub_cgroup\": {\"a1\": {\"conf\": {\"share\": 100, \"quota\": \"50%\"}},"
                        "                                                 \"a2\": {\"conf\": {\"share\": 7}}}},"
                        "                          \"b\": {\"conf\": {\"share\": 256}}}},"
                        " \"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": \"1G\", \"high\": \"512M\"}}}}}");
}

TEST(test_arrays_replace) {
        assert_merge_ok("{\"slices\": {\"a\": {\"pid_files\": [\"/run/a.pid\", \"/run/b.pid\"]}}}",
                        "{\"slices\": {\"a\": {\"pid_files\": [\"/run/c.pid\"]}}}",
                        "{\"slices\": {\"a\": {\"pid_files\": [\"/run/c.pid\"]}}}");
        assert_merge_ok("{\"slices\": {\"a\": {\"pid_files\": [\"/run/a.pid\"]}}}",
                        "{\"slices\": {\"a\": {\"pid_files\": []}}}",
                        "{\"slices\": {\"a\": {\"pid_files\": []}}}");
        assert_merge_ok(arch_shared, "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"pids\": [12]}}}}}",
                        "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 512, \"pids\": [12]},"
                        "                                  \"sub_cgroup\": {\"a1\": {\"conf\": {\"share\": 100}}}},"
                        "                          \"b\": {\"conf\": {\"share\": 256}}}},"
                        " \"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": \"1G\", \"high\": \"512M\"}}}}}");
        /* an array's objects are values, not merged, and keep their nulls */
        assert_merge_ok("{\"x\": [{\"a\": 1}]}", "{\"x\": [{\"b\": null}]}", "{\"x\": [{\"b\": null}]}");
}

TEST(test_empty_overlay_changes_nothing) {
        assert_merge_ok(native_shared, "{}", native_shared);
        assert_merge_ok(arch_shared, "{}", arch_shared);
        assert_merge_ok("{}", "{}", "{}");
        assert_merge_ok(native_shared, "{\"slices\": {}}", native_shared);
        assert_merge_ok(arch_shared, "{\"cpu\": {}}", arch_shared);
        /* an empty shared tree takes either schema */
        assert_merge_ok("{}", "{\"slices\": {\"a\": {}}}", "{\"slices\": {\"a\": {}}}");
        assert_merge_ok("{}", "{\"cpu\": {\"sub_cgroup\": {\"a\": {}}}}", "{\"cpu\": {\"sub_cgroup\": {\"a\": {}}}}");
}

TEST(test_nulls_in_new_groups_dropped) {
        assert_merge_ok("{\"slices\": {}}", "{\"slices\": {\"n\": {\"cpu_weight\": null, \"children\": {\"m\": null}}}}",
                        "{\"slices\": {\"n\": {\"children\": {}}}}");
        /* no shared tree: the overlay alone, without its nulls */
        assert_merge_ok(NULL, "{\"slices\": {\"a\": {\"cpu_weight\": 1, \"memory_max\": null}, \"b\": null}}",
                        "{\"slices\": {\"a\": {\"cpu_weight\": 1}}}");
}

TEST(test_schema_mismatch) {
        assert_refused(arch_shared, "{\"slices\": {\"a\": {}}}", -EINVAL,
                       "the host overlay is in the native schema, the shared tree in cgrouparch's");
        assert_refused(native_shared, "{\"cpu\": {\"sub_cgroup\": {}}}", -EINVAL,
                       "the host overlay is in cgrouparch's schema, the shared tree in the native one");
        /* a null is still a shape: {"slices": null} is native, {"cpu": null} cgrouparch's */
        assert_refused(arch_shared, "{\"slices\": null}", -EINVAL, "the host overlay is in the native schema");
        assert_refused(native_shared, "{\"cpu\": null}", -EINVAL, "the host overlay is in cgrouparch's schema");
}

TEST(test_null_inputs) {
        TreeError err = { "" };
        json_t *shared = load(native_shared), *result = (json_t *) 0x1;
        _cleanup_(freep) char *before = dump(shared);

        ASSERT_EQ_INT(tree_overlay_merge(NULL, NULL, &result, &err), -ENOENT);
        ASSERT_TRUE(result == (json_t *) 0x1);
        ASSERT_CONTAINS(err.message, "neither the shared tree nor the host overlay");
        ASSERT_EQ_INT(tree_overlay_merge(NULL, NULL, &result, /* err= */ NULL), -ENOENT);

        /* no overlay: the shared tree itself, a new reference */
        ASSERT_EQ_INT(tree_overlay_merge(shared, NULL, &result, &err), 0);
        ASSERT_TRUE(result == shared);
        json_decref(shared);
        {
                _cleanup_(freep) char *after = dump(result);

                ASSERT_STREQ(after, before);
        }
        json_decref(result);

        assert_merge_ok(native_shared, NULL, native_shared);
        assert_merge_ok(NULL, native_shared, native_shared);
        assert_merge_ok(NULL, arch_shared, arch_shared);
}

TEST(test_not_objects) {
        assert_refused("[]", "{}", -EINVAL, "the shared tree must be a JSON object, got an array");
        assert_refused("{}", "\"x\"", -EINVAL, "the host overlay must be a JSON object, got a string");
        assert_refused("null", "{}", -EINVAL, "the shared tree must be a JSON object, got null");
        assert_refused(NULL, "7", -EINVAL, "the host overlay must be a JSON object, got an integer");
        assert_refused("true", NULL, -EINVAL, "the shared tree must be a JSON object, got a boolean");
        assert_refused("{}", "[{}]", -EINVAL, "the host overlay must be a JSON object, got an array");
}

/* {"k": {"k": ... {}}} with `levels` objects in all. */
static char *nested(unsigned levels) {
        size_t size = (size_t) levels * 8 + 1, len = 0;
        char *s = malloc(size);

        ASSERT_TRUE(s);
        for (unsigned i = 1; i < levels; i++)
                len += (size_t) snprintf(s + len, size - len, "{\"k\": ");
        len += (size_t) snprintf(s + len, size - len, "{}");
        for (unsigned i = 1; i < levels; i++)
                len += (size_t) snprintf(s + len, size - len, "}");
        return s;
}

TEST(test_depth_bound) {
        _cleanup_(freep) char *at_limit = nested(TREE_OVERLAY_DEPTH_MAX), *past = nested(TREE_OVERLAY_DEPTH_MAX + 1);
        _cleanup_(freep) char *far_past = nested(1000);
        TreeError err = { "" };
        json_t *result = NULL;

        assert_merge_ok(at_limit, at_limit, at_limit);
        assert_merge_ok(NULL, at_limit, at_limit);
        assert_refused(NULL, past, -ELOOP, "the host overlay nests objects deeper than 64 levels, at $.k.k.k");
        assert_refused("{}", far_past, -ELOOP, "deeper than 64 levels");
        /* the shared tree is not walked past what the overlay names: tree-parse bounds it */
        ASSERT_EQ_INT(merge(past, "{\"k\": {\"x\": 1}}", &result, &err), 0);
        json_decref(result);
        /* the path shows odd keys as JSON strings: 2 + 63 levels */
        {
                _cleanup_(freep) char *inner = nested(TREE_OVERLAY_DEPTH_MAX - 1), *odd = NULL;

                ASSERT_TRUE(asprintf(&odd, "{\"a b\": {\"\\u00e9\": %s}}", inner) > 0);
                assert_refused(NULL, odd, -ELOOP, "at $[\"a b\"][\"\\u00E9\"].k.k");
        }
}

/* Merging must not change either input and the result must not share anything that breaks once the
 * caller frees them (merge() checks both for every case above; here values shared by reference). */
TEST(test_inputs_unchanged_result_independent) {
        json_t *shared = load(native_shared), *overlay = load("{\"slices\": {\"web\": {\"cpu_weight\": 1, "
                                                             "\"pid_files\": [\"/run/x.pid\"]}, \"batch\": null}}");
        _cleanup_(freep) char *shared_before = dump(shared), *overlay_before = dump(overlay);
        _cleanup_(freep) char *shared_after = NULL, *overlay_after = NULL, *got = NULL;
        json_t *result = NULL;
        TreeError err = { "" };

        ASSERT_EQ_INT(tree_overlay_merge(shared, overlay, &result, &err), 0);
        shared_after = dump(shared);
        overlay_after = dump(overlay);
        ASSERT_STREQ(shared_after, shared_before);
        ASSERT_STREQ(overlay_after, overlay_before);
        /* the objects the overlay touched are new ones */
        ASSERT_TRUE(result != shared && result != overlay);
        ASSERT_TRUE(json_object_get(result, "slices") != json_object_get(shared, "slices"));
        ASSERT_TRUE(json_object_get(json_object_get(result, "slices"), "web") !=
                    json_object_get(json_object_get(shared, "slices"), "web"));
        json_decref(shared);
        json_decref(overlay);
        got = json_dumps(result, JSON_SORT_KEYS);
        ASSERT_STREQ(got, "{\"slices\": {\"web\": {\"children\": {\"api\": {\"tasks_max\": 100}, \"static\": "
                          "{\"cpu_weight\": 50}}, \"cpu_weight\": 1, \"memory_max\": \"2G\", \"pid_files\": "
                          "[\"/run/x.pid\"]}}}");
        json_decref(result);
}

/* slicekeeperd(8), HOST OVERLAYS */
TEST(test_man_page_example) {
        assert_merge_ok("{\"slices\": {\"web\": {\"cpu_weight\": 200, \"memory_max\": \"2G\","
                        "                    \"children\": {\"static\": {\"cpu_weight\": 50}}},"
                        "            \"batch\": {\"cpu_weight\": 10}}}",
                        "{\"slices\": {\"web\": {\"memory_max\": null, \"children\": {\"static\": {\"tasks_max\": 100}}},"
                        "            \"batch\": null, \"ci\": {\"cpu_weight\": 500}}}",
                        "{\"slices\": {\"web\": {\"cpu_weight\": 200,"
                        "                    \"children\": {\"static\": {\"cpu_weight\": 50, \"tasks_max\": 100}}},"
                        "            \"ci\": {\"cpu_weight\": 500}}}");
}

/* ---- the merged JSON through tree-parse ---- */

TEST(test_parse_merged_native) {
        _cleanup_(tree_unrefp) Tree *t = parse_merged(
                native_shared, "{\"slices\": {\"batch\": null, \"local\": {\"cpu_weight\": 30},"
                               "              \"web\": {\"memory_max\": null, \"cpu_weight\": 300,"
                               "                        \"children\": {\"api\": null, \"static\": {\"tasks_max\": 9}}}}}");
        TreeNode *web, *st;

        ASSERT_EQ_INT(t->schema, TREE_SCHEMA_NATIVE);
        ASSERT_EQ_INT(t->n_nodes, 3);
        ASSERT_TRUE(!tree_find(t, "batch"));
        ASSERT_TRUE(!tree_find(t, "web/api"));
        web = find_ok(t, "web");
        ASSERT_EQ_U64(value_of(web, TREE_PROP_CPU_WEIGHT), 300);
        ASSERT_TRUE(!(web->settings.set_mask & (1u << TREE_PROP_MEMORY_MAX)));
        ASSERT_STREQ(web->pid_files[0], "/run/nginx.pid");
        st = find_ok(t, "web/static");
        ASSERT_EQ_U64(value_of(st, TREE_PROP_CPU_WEIGHT), 50);
        ASSERT_EQ_U64(value_of(st, TREE_PROP_TASKS_MAX), 9);
        ASSERT_EQ_U64(value_of(find_ok(t, "local"), TREE_PROP_CPU_WEIGHT), 30);
}

TEST(test_parse_merged_cgrouparch) {
        _cleanup_(tree_unrefp) Tree *t = parse_merged(
                arch_shared, "{\"cpu\": {\"sub_cgroup\": {\"b\": null, \"a\": {\"conf\": {\"pids\": [12]}}}},"
                             " \"pids\": {\"sub_cgroup\": {\"c\": {\"conf\": {\"max\": 50}}}}}");
        _cleanup_(tree_unrefp) Tree *gone = parse_merged(
                arch_shared, "{\"cpu\": {\"sub_cgroup\": {\"a\": null}}, \"memory\": {\"sub_cgroup\": {\"a\": null}}}");
        _cleanup_(tree_unrefp) Tree *kept = parse_merged(arch_shared, "{\"cpu\": {\"sub_cgroup\": {\"a\": null}}}");
        TreeNode *a;

        ASSERT_EQ_INT(t->schema, TREE_SCHEMA_CGROUPARCH);
        ASSERT_EQ_INT(t->n_nodes, 3);
        ASSERT_TRUE(!tree_find(t, "b"));
        a = find_ok(t, "a");
        ASSERT_EQ_INT(a->n_pids, 1);
        ASSERT_EQ_INT(a->pids[0], 12);
        ASSERT_TRUE(a->settings.set_mask & (1u << TREE_PROP_MEMORY_MAX));
        find_ok(t, "a/a1");
        ASSERT_EQ_U64(value_of(find_ok(t, "c"), TREE_PROP_TASKS_MAX), 50);

        /* removed from every controller tree: gone; from one: still there with the other's settings */
        ASSERT_EQ_INT(gone->n_nodes, 1);
        ASSERT_TRUE(!tree_find(gone, "a") && !tree_find(gone, "a/a1"));
        find_ok(gone, "b");
        a = find_ok(kept, "a");
        ASSERT_TRUE(!tree_find(kept, "a/a1"));
        ASSERT_TRUE(a->settings.set_mask & (1u << TREE_PROP_MEMORY_MAX));
        ASSERT_TRUE(!(a->settings.set_mask & (1u << TREE_PROP_CPU_WEIGHT)));
}

int main(void) {
        RUN(test_add_group);
        RUN(test_replace_setting);
        RUN(test_remove_group);
        RUN(test_remove_key);
        RUN(test_key_with_nul);
        RUN(test_nested_children_merge);
        RUN(test_arrays_replace);
        RUN(test_empty_overlay_changes_nothing);
        RUN(test_nulls_in_new_groups_dropped);
        RUN(test_schema_mismatch);
        RUN(test_null_inputs);
        RUN(test_not_objects);
        RUN(test_depth_bound);
        RUN(test_inputs_unchanged_result_independent);
        RUN(test_man_page_example);
        RUN(test_parse_merged_native);
        RUN(test_parse_merged_cgrouparch);
        return 0;
}
