/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "fnv-collide.h"
#include "macro.h"
#include "parse-util.h"
#include "strv.h"
#include "tests.h"
#include "tree-fixtures.h"
#include "tree-parse.h"
#include "unit-name.h"

#define BIT(p) (1u << (p))

/* ---- helpers ---- */

static Tree *parse_ok(const char *json) {
        return tree_fixture_parse(json);
}

static Tree *parse_ok_for_root(const char *root, const char *json) {
        TreeError err = { "" };
        Tree *t = NULL;
        int r = tree_parse_json_for_root(json, strlen(json), root, &t, &err);

        if (r < 0)
                fprintf(stderr, "unexpected rejection (%d) under root %s: %s\n", r, root, err.message);
        ASSERT_EQ_INT(r, 0);
        return t;
}

/* Parses `json` for slices under `root`, expects `expected_r`, and checks that the message contains every
 * NULL-terminated needle: the JSON path and key, and the reason. */
static void assert_rejects_root_n(const char *root, const char *json, size_t size, int expected_r, ...) {
        TreeError err = { "" };
        Tree *t = (Tree *) 0x1; /* must stay untouched on failure */
        const char *needle;
        va_list ap;
        int r;

        r = root ? tree_parse_json_for_root(json, size, root, &t, &err) : tree_parse_json(json, size, &t, &err);
        if (r != expected_r)
                fprintf(stderr, "message: %s\n", err.message);
        ASSERT_EQ_INT(r, expected_r);
        ASSERT_TRUE(t == (Tree *) 0x1);
        va_start(ap, expected_r);
        while ((needle = va_arg(ap, const char *)))
                ASSERT_CONTAINS(err.message, needle);
        va_end(ap);
}
#define assert_rejects_n(json, size, expected_r, ...) \
        assert_rejects_root_n(NULL, (json), (size), (expected_r), __VA_ARGS__)
#define assert_rejects(json, expected_r, ...) \
        assert_rejects_root_n(NULL, (json), strlen(json), (expected_r), __VA_ARGS__, (const char *) NULL)
#define assert_rejects_for_root(root, json, expected_r, ...) \
        assert_rejects_root_n((root), (json), strlen(json), (expected_r), __VA_ARGS__, (const char *) NULL)

static uint64_t value_of(const TreeNode *n, TreeProp p) {
        ASSERT_TRUE(n->settings.set_mask & BIT(p));
        return n->settings.value[p];
}

static size_t index_of(const Tree *t, const TreeNode *n) {
        for (size_t i = 0; i < t->n_nodes; i++)
                if (t->nodes[i] == n)
                        return i;
        ASSERT_TRUE(!"node not in t->nodes");
        return SIZE_MAX;
}

static void assert_parents_first(const Tree *t) {
        for (size_t i = 0; i < t->n_nodes; i++) {
                const TreeNode *n = t->nodes[i];

                if (n->depth == 1)
                        ASSERT_TRUE(n->parent == NULL);
                else {
                        ASSERT_TRUE(n->parent != NULL);
                        ASSERT_EQ_INT(n->parent->depth + 1, n->depth);
                        ASSERT_TRUE(index_of(t, n->parent) < i);
                }
        }
}

/* Appends to a growing string; aborts on allocation failure. */
typedef struct Buf {
        char *data;
        size_t len, cap;
} Buf;

_printf_(2, 3) static void buf_printf(Buf *b, const char *format, ...) {
        va_list ap;
        int n;

        for (;;) {
                va_start(ap, format);
                n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, format, ap);
                va_end(ap);
                ASSERT_TRUE(n >= 0);
                if (b->data && b->len + (size_t) n < b->cap)
                        break;
                b->cap = MAX(b->cap * 2, b->len + (size_t) n + 1024);
                b->data = realloc(b->data, b->cap);
                ASSERT_TRUE(b->data != NULL);
        }
        b->len += (size_t) n;
}

/* {"cpu": {"sub_cgroup": {"l1": {"sub_cgroup": {"l2": ... {"conf": {"share": 100}} ...}}}}} */
static char *cgrouparch_chain(unsigned depth) {
        Buf b = { 0 };

        buf_printf(&b, "{\"cpu\": ");
        for (unsigned i = 1; i <= depth; i++)
                buf_printf(&b, "{\"sub_cgroup\": {\"l%u\": ", i);
        buf_printf(&b, "{\"conf\": {\"share\": 100}}");
        for (unsigned i = 1; i <= depth; i++)
                buf_printf(&b, "}}");
        buf_printf(&b, "}");
        return b.data;
}

/* {"slices": {"l1": {"children": {"l2": ... {} ...}}}} */
static char *native_chain(unsigned depth) {
        Buf b = { 0 };

        buf_printf(&b, "{\"slices\": ");
        for (unsigned i = 1; i <= depth; i++)
                buf_printf(&b, "{\"l%u\": %s", i, i < depth ? "{\"children\": " : "{}");
        for (unsigned i = 1; i <= depth; i++)
                buf_printf(&b, i < depth ? "}}" : "}");
        buf_printf(&b, "}");
        return b.data;
}

/* {"slices": {"g0": {}, "g1": {}, ...}} with n groups */
static char *native_flat(unsigned n) {
        Buf b = { 0 };

        buf_printf(&b, "{\"slices\": {");
        for (unsigned i = 0; i < n; i++)
                buf_printf(&b, "%s\"g%u\": {}", i > 0 ? ", " : "", i);
        buf_printf(&b, "}}");
        return b.data;
}

/* ---- cgrouparch schema ---- */

TEST(test_cgrouparch_readme_example) {
        _cleanup_(freep) char *data = NULL;
        _cleanup_(tree_unrefp) Tree *t = NULL;
        TreeNode *a, *b, *sub;
        TreeError err = { "stale" }; /* cleared on success */
        size_t size = 0;

        ASSERT_EQ_INT(read_file_bounded("cgrouparch-example.json", TREE_JSON_MAX, &data, &size), 0);
        ASSERT_EQ_INT(tree_parse_json(data, size, &t, &err), 0);
        ASSERT_STREQ(err.message, "");
        ASSERT_EQ_INT(t->schema, TREE_SCHEMA_CGROUPARCH);
        ASSERT_STREQ(tree_schema_to_string(t->schema), "cgrouparch");
        ASSERT_EQ_INT(t->n_nodes, 3);

        a = find_ok(t, "test_cgroup_a");
        b = find_ok(t, "test_cgroup_b");
        sub = find_ok(t, "test_cgroup_b/test_cgroup_b_sub1");

        ASSERT_STREQ(a->name, "test_cgroup_a");
        ASSERT_STREQ(a->path, "test_cgroup_a");
        ASSERT_EQ_INT(a->depth, 1);
        ASSERT_TRUE(a->parent == NULL);
        ASSERT_EQ_INT(a->n_children, 0);

        ASSERT_STREQ(b->path, "test_cgroup_b");
        ASSERT_EQ_INT(b->depth, 1);
        ASSERT_EQ_INT(b->n_children, 1);
        ASSERT_TRUE(b->children[0] == sub);

        ASSERT_STREQ(sub->name, "test_cgroup_b_sub1");
        ASSERT_STREQ(sub->path, "test_cgroup_b/test_cgroup_b_sub1");
        ASSERT_EQ_INT(sub->depth, 2);
        ASSERT_TRUE(sub->parent == b);

        /* CPUWeight = round(share * 100 / 1024) */
        ASSERT_EQ_U64(value_of(a, TREE_PROP_CPU_WEIGHT), 100);
        ASSERT_EQ_U64(value_of(b, TREE_PROP_CPU_WEIGHT), 10);
        ASSERT_EQ_U64(value_of(sub, TREE_PROP_CPU_WEIGHT), 20);
        ASSERT_EQ_INT(a->settings.set_mask, BIT(TREE_PROP_CPU_WEIGHT));
        ASSERT_EQ_INT(b->settings.set_mask, BIT(TREE_PROP_CPU_WEIGHT));
        ASSERT_EQ_INT(sub->settings.set_mask, BIT(TREE_PROP_CPU_WEIGHT));

        ASSERT_TRUE(index_of(t, b) < index_of(t, sub));
        assert_parents_first(t);
        ASSERT_TRUE(a->pid_files == NULL);
}

TEST(test_cgrouparch_share_clamped) {
        _cleanup_(tree_unrefp) Tree *t =
                parse_ok("{\"cpu\": {\"sub_cgroup\": {\"lo\": {\"conf\": {\"share\": 2}},"
                         " \"hi\": {\"conf\": {\"share\": 262144}}}}}");

        ASSERT_EQ_U64(value_of(find_ok(t, "lo"), TREE_PROP_CPU_WEIGHT), 1);
        ASSERT_EQ_U64(value_of(find_ok(t, "hi"), TREE_PROP_CPU_WEIGHT), 10000);
}

TEST(test_cgrouparch_group_without_conf) {
        _cleanup_(tree_unrefp) Tree *t = parse_ok("{\"cpu\": {\"conf\": {}, \"sub_cgroup\": {\"a\": {}}}}");

        ASSERT_EQ_INT(t->n_nodes, 1);
        ASSERT_EQ_INT(find_ok(t, "a")->settings.set_mask, 0);
}

TEST(test_cgrouparch_empty) {
        _cleanup_(tree_unrefp) Tree *t = parse_ok("{}");
        _cleanup_(tree_unrefp) Tree *u = parse_ok("{\"cpu\": {}, \"blkio\": {\"sub_cgroup\": {}}}");

        ASSERT_EQ_INT(t->schema, TREE_SCHEMA_CGROUPARCH);
        ASSERT_EQ_INT(t->n_nodes, 0);
        ASSERT_EQ_INT(u->n_nodes, 0);
}

TEST(test_cgrouparch_merge_cpu_blkio) {
        _cleanup_(tree_unrefp) Tree *t = parse_ok(
                "{\"cpu\": {\"sub_cgroup\": {"
                "    \"a\": {\"conf\": {\"share\": 512}, \"sub_cgroup\": {\"b\": {\"conf\": {\"share\": 2048}}}}}},"
                " \"blkio\": {\"sub_cgroup\": {"
                "    \"a\": {\"conf\": {\"weight\": 1000}, \"sub_cgroup\": {\"b\": {\"conf\": {\"weight\": 10}}}}}}}");
        TreeNode *a, *b;

        ASSERT_EQ_INT(t->n_nodes, 2); /* one node per group, not per controller */
        a = find_ok(t, "a");
        b = find_ok(t, "a/b");
        ASSERT_EQ_INT(a->settings.set_mask, BIT(TREE_PROP_CPU_WEIGHT) | BIT(TREE_PROP_IO_WEIGHT));
        ASSERT_EQ_INT(b->settings.set_mask, BIT(TREE_PROP_CPU_WEIGHT) | BIT(TREE_PROP_IO_WEIGHT));
        ASSERT_EQ_U64(value_of(a, TREE_PROP_CPU_WEIGHT), 50);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_IO_WEIGHT), 200);  /* round(1000 * 100 / 500) */
        ASSERT_EQ_U64(value_of(b, TREE_PROP_CPU_WEIGHT), 200);
        ASSERT_EQ_U64(value_of(b, TREE_PROP_IO_WEIGHT), 2);    /* round(10 * 100 / 500) */
        ASSERT_EQ_INT(a->n_children, 1);
        ASSERT_TRUE(b->parent == a);
        assert_parents_first(t);
}

TEST(test_cgrouparch_merge_every_controller) {
        _cleanup_(tree_unrefp) Tree *t = parse_ok(
                "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1024, \"quota\": \"50%\"}}}},"
                " \"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"weight\": 500}}}},"
                " \"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": \"512M\", \"high\": \"256M\", \"low\": 1024}}}},"
                " \"pids\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": 100}}}},"
                " \"cpuset\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"cpus\": \"0-3,6\"}}}}}");
        TreeNode *a;

        ASSERT_EQ_INT(t->n_nodes, 1);
        a = find_ok(t, "a");
        ASSERT_EQ_INT(a->settings.set_mask, BIT(_TREE_PROP_MAX) - 1);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_CPU_WEIGHT), 100);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_CPU_QUOTA), 500000);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_IO_WEIGHT), 100);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_MEMORY_MAX), 512ULL << 20);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_MEMORY_HIGH), 256ULL << 20);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_MEMORY_LOW), 1024);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_TASKS_MAX), 100);
        ASSERT_EQ_INT(a->settings.n_cpus, 1);
        ASSERT_EQ_INT(a->settings.cpus[0], 0x4f);
}

TEST(test_cgrouparch_merge_groups_from_different_controllers) {
        /* blkio adds a child under a group that cpu created, and a group of its own. */
        _cleanup_(tree_unrefp) Tree *t = parse_ok(
                "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 100}}}},"
                " \"blkio\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"b\": {\"conf\": {\"weight\": 100}}}},"
                "                               \"c\": {\"conf\": {\"weight\": 250}}}},"
                " \"pids\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"b\": {\"conf\": {\"max\": \"infinity\"}}}}}}}");
        TreeNode *a, *b, *c;

        ASSERT_EQ_INT(t->n_nodes, 3);
        a = find_ok(t, "a");
        b = find_ok(t, "a/b");
        c = find_ok(t, "c");
        ASSERT_EQ_INT(a->settings.set_mask, BIT(TREE_PROP_CPU_WEIGHT));
        ASSERT_EQ_INT(b->settings.set_mask, BIT(TREE_PROP_IO_WEIGHT) | BIT(TREE_PROP_TASKS_MAX));
        ASSERT_EQ_U64(value_of(b, TREE_PROP_IO_WEIGHT), 20);
        ASSERT_EQ_U64(value_of(b, TREE_PROP_TASKS_MAX), UINT64_MAX);
        ASSERT_EQ_INT(c->settings.set_mask, BIT(TREE_PROP_IO_WEIGHT));
        ASSERT_EQ_U64(value_of(c, TREE_PROP_IO_WEIGHT), 50);
        ASSERT_TRUE(b->parent == a);
        ASSERT_EQ_INT(a->n_children, 1);
        assert_parents_first(t);
}

TEST(test_cgrouparch_escaped_name_in_path) {
        _cleanup_(tree_unrefp) Tree *t =
                parse_ok("{\"cpu\": {\"sub_cgroup\": {\"web-1\": {\"sub_cgroup\": {\"ünï code\": {}}}}}}");

        ASSERT_EQ_INT(t->n_nodes, 2);
        ASSERT_STREQ(find_ok(t, "web-1/ünï code")->name, "ünï code");
}

/* ---- native schema ---- */

TEST(test_native_every_key) {
        _cleanup_(tree_unrefp) Tree *t = parse_ok(
                "{\"slices\": {\"web\": {"
                "    \"cpu_weight\": 200,"
                "    \"cpu_quota\": \"150%\","
                "    \"memory_max\": \"2G\","
                "    \"memory_high\": \"1G\","
                "    \"memory_low\": 268435456,"
                "    \"io_weight\": 300,"
                "    \"tasks_max\": \"infinity\","
                "    \"allowed_cpus\": \"0-1\","
                "    \"pid_files\": [\"/run/web.pid\", \"/run/web/*.pid\"],"
                "    \"children\": {\"api\": {\"cpu_weight\": 50, \"tasks_max\": 512,"
                "                             \"children\": {\"v1\": {}}}}}}}");
        TreeNode *web, *api, *v1;

        ASSERT_EQ_INT(t->schema, TREE_SCHEMA_NATIVE);
        ASSERT_STREQ(tree_schema_to_string(t->schema), "native");
        ASSERT_EQ_INT(t->n_nodes, 3);

        web = find_ok(t, "web");
        ASSERT_EQ_INT(web->settings.set_mask, BIT(_TREE_PROP_MAX) - 1);
        ASSERT_EQ_U64(value_of(web, TREE_PROP_CPU_WEIGHT), 200);
        ASSERT_EQ_U64(value_of(web, TREE_PROP_CPU_QUOTA), 1500000); /* usec per second */
        ASSERT_EQ_U64(value_of(web, TREE_PROP_MEMORY_MAX), 2ULL << 30);
        ASSERT_EQ_U64(value_of(web, TREE_PROP_MEMORY_HIGH), 1ULL << 30);
        ASSERT_EQ_U64(value_of(web, TREE_PROP_MEMORY_LOW), 268435456);
        ASSERT_EQ_U64(value_of(web, TREE_PROP_IO_WEIGHT), 300);
        ASSERT_EQ_U64(value_of(web, TREE_PROP_TASKS_MAX), UINT64_MAX);
        ASSERT_EQ_INT(web->settings.n_cpus, 1);
        ASSERT_EQ_INT(web->settings.cpus[0], 0x03);
        ASSERT_TRUE(web->pid_files != NULL);
        ASSERT_STREQ(web->pid_files[0], "/run/web.pid");
        ASSERT_STREQ(web->pid_files[1], "/run/web/*.pid");
        ASSERT_TRUE(web->pid_files[2] == NULL);

        api = find_ok(t, "web/api");
        ASSERT_STREQ(api->name, "api");
        ASSERT_EQ_INT(api->depth, 2);
        ASSERT_TRUE(api->parent == web);
        ASSERT_EQ_INT(web->n_children, 1);
        ASSERT_TRUE(web->children[0] == api);
        ASSERT_EQ_INT(api->settings.set_mask, BIT(TREE_PROP_CPU_WEIGHT) | BIT(TREE_PROP_TASKS_MAX));
        ASSERT_EQ_U64(value_of(api, TREE_PROP_CPU_WEIGHT), 50);
        ASSERT_EQ_U64(value_of(api, TREE_PROP_TASKS_MAX), 512);
        ASSERT_TRUE(api->pid_files == NULL);

        v1 = find_ok(t, "web/api/v1");
        ASSERT_EQ_INT(v1->depth, 3);
        ASSERT_TRUE(v1->parent == api);
        ASSERT_EQ_INT(v1->settings.set_mask, 0);
        assert_parents_first(t);
}

TEST(test_native_sizes) {
        _cleanup_(tree_unrefp) Tree *t = parse_ok(
                "{\"slices\": {\"a\": {\"memory_max\": \"512M\", \"memory_high\": \"infinity\", \"memory_low\": \"512K\"},"
                "              \"b\": {\"memory_max\": 1, \"memory_high\": \"1\", \"memory_low\": \"0\"}}}");
        TreeNode *a = find_ok(t, "a"), *b = find_ok(t, "b");

        ASSERT_EQ_U64(value_of(a, TREE_PROP_MEMORY_MAX), 512ULL << 20);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_MEMORY_HIGH), UINT64_MAX);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_MEMORY_LOW), 512ULL << 10);
        ASSERT_EQ_U64(value_of(b, TREE_PROP_MEMORY_MAX), 1); /* systemd's smallest */
        ASSERT_EQ_U64(value_of(b, TREE_PROP_MEMORY_HIGH), 1);
        ASSERT_EQ_U64(value_of(b, TREE_PROP_MEMORY_LOW), 0);
}

TEST(test_native_same_name_at_two_paths) {
        /* The one-name-one-path rule is cgrouparch's (it merges trees by name); native paths are distinct. */
        _cleanup_(tree_unrefp) Tree *t =
                parse_ok("{\"slices\": {\"web\": {\"children\": {\"api\": {}}}, \"db\": {\"children\": {\"api\": {}}}}}");

        ASSERT_EQ_INT(t->n_nodes, 4);
        ASSERT_TRUE(find_ok(t, "web/api") != find_ok(t, "db/api"));
}

TEST(test_native_empty) {
        _cleanup_(tree_unrefp) Tree *t = parse_ok("{\"slices\": {}}");

        ASSERT_EQ_INT(t->schema, TREE_SCHEMA_NATIVE);
        ASSERT_EQ_INT(t->n_nodes, 0);
}

TEST(test_native_pid_files_limit) {
        Buf ok = { 0 }, over = { 0 };
        _cleanup_(tree_unrefp) Tree *t = NULL;

        buf_printf(&ok, "{\"slices\": {\"a\": {\"pid_files\": [");
        for (int i = 0; i < TREE_PID_FILES_MAX; i++)
                buf_printf(&ok, "%s\"/run/%d.pid\"", i > 0 ? ", " : "", i);
        buf_printf(&ok, "]}}}");
        t = parse_ok(ok.data);
        ASSERT_EQ_INT(strv_length(find_ok(t, "a")->pid_files), TREE_PID_FILES_MAX);

        buf_printf(&over, "{\"slices\": {\"a\": {\"pid_files\": [");
        for (int i = 0; i <= TREE_PID_FILES_MAX; i++)
                buf_printf(&over, "%s\"/run/%d.pid\"", i > 0 ? ", " : "", i);
        buf_printf(&over, "]}}}");
        assert_rejects(over.data, -EINVAL, "$.slices.a.pid_files", "more than 64 pid files");
        free(ok.data);
        free(over.data);
}

/* ---- input that is not a tree ---- */

TEST(test_reject_bad_json) {
        assert_rejects("{\"cpu\": {\n  \"sub_cgroup\": {\n    \"a\": ]\n}}", -EBADMSG, "invalid JSON", "line 3",
                       "column");
        assert_rejects("{\"cpu\": ", -EBADMSG, "invalid JSON", "line 1");
        assert_rejects("", -EBADMSG, "invalid JSON");
        assert_rejects("{\"a\": 1} trailing", -EBADMSG, "invalid JSON");
}

TEST(test_reject_top_level_not_object) {
        assert_rejects("[]", -EINVAL, "$", "must be an object", "an array");
        assert_rejects("[{\"cpu\": {}}]", -EINVAL, "must be an object");
        /* Scalars are not even accepted as JSON documents. */
        assert_rejects("\"cpu\"", -EBADMSG, "invalid JSON");
        assert_rejects("42", -EBADMSG, "invalid JSON");
}

TEST(test_reject_duplicate_keys) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {}, \"a\": {}}}}", -EBADMSG, "duplicate object key",
                       "\"a\"", "line 1");
        assert_rejects("{\"slices\": {\"a\": {\"cpu_weight\": 1, \"cpu_weight\": 2}}}", -EBADMSG,
                       "duplicate object key", "cpu_weight");
        assert_rejects("{\"cpu\": {}, \"cpu\": {}}", -EBADMSG, "duplicate object key", "cpu");
}

TEST(test_reject_too_large) {
        size_t size = TREE_JSON_MAX + 1;
        _cleanup_(freep) char *data = malloc(size);

        ASSERT_TRUE(data != NULL);
        memset(data, ' ', size);
        data[0] = '{';
        data[size - 1] = '}';
        assert_rejects_n(data, size, -EFBIG, "larger than the limit", "4194304", (const char *) NULL);
}

TEST(test_accept_exactly_max_size) {
        size_t size = TREE_JSON_MAX;
        _cleanup_(freep) char *data = malloc(size);
        _cleanup_(tree_unrefp) Tree *t = NULL;
        TreeError err;

        ASSERT_TRUE(data != NULL);
        memset(data, ' ', size);
        data[0] = '{';
        data[size - 1] = '}';
        ASSERT_EQ_INT(tree_parse_json(data, size, &t, &err), 0);
        ASSERT_EQ_INT(t->n_nodes, 0);
}

TEST(test_size_bounds_the_input) {
        /* The buffer need not be NUL-terminated: only `size` bytes are read. */
        static const char data[] = "{\"slices\": {\"a\": {}}}GARBAGE";
        _cleanup_(tree_unrefp) Tree *t = NULL;
        TreeError err;

        ASSERT_EQ_INT(tree_parse_json(data, strlen(data) - strlen("GARBAGE"), &t, &err), 0);
        ASSERT_EQ_INT(t->n_nodes, 1);
}

TEST(test_reject_without_error_struct) {
        Tree *t = NULL;

        ASSERT_EQ_INT(tree_parse_json("[]", 2, &t, NULL), -EINVAL);
        ASSERT_EQ_INT(tree_parse_json("{\"x\": {}}", strlen("{\"x\": {}}"), &t, NULL), -EINVAL);
        ASSERT_TRUE(t == NULL);
}

/* ---- schema errors ---- */

TEST(test_reject_unknown_top_key) {
        assert_rejects("{\"cpux\": {}}", -EINVAL, "$.cpux:", "unknown key \"cpux\"");
        assert_rejects("{\"cpu\": {}, \"cpuacct\": {}}", -EINVAL, "$.cpuacct:", "unknown key \"cpuacct\"");
}

TEST(test_reject_unknown_controller_node_key) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"confs\": {}}}}}", -EINVAL, "$.cpu.sub_cgroup.a.confs:",
                       "unknown key \"confs\"");
        assert_rejects("{\"cpu\": {\"sub_cgroups\": {}}}", -EINVAL, "$.cpu.sub_cgroups:", "unknown key");
}

TEST(test_reject_unknown_conf_key) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"shares\": 1024}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.test_cgroup_a.conf.shares:", "unknown key \"shares\"", "cpu");
        /* A key of another controller is unknown here. */
        assert_rejects("{\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1024}}}}}", -EINVAL,
                       "$.blkio.sub_cgroup.a.conf.share:", "unknown key \"share\"", "blkio");
}

TEST(test_reject_unknown_native_key) {
        assert_rejects("{\"slices\": {\"a\": {\"cpu_weigth\": 100}}}", -EINVAL, "$.slices.a.cpu_weigth:",
                       "unknown key \"cpu_weigth\"");
        assert_rejects("{\"slices\": {\"a\": {\"children\": {\"b\": {\"share\": 100}}}}}", -EINVAL,
                       "$.slices.a.children.b.share:", "unknown key \"share\"");
}

TEST(test_reject_mixing_slices_and_controllers) {
        assert_rejects("{\"slices\": {}, \"cpu\": {}}", -EINVAL, "$.cpu:", "unknown key \"cpu\"", "slices");
        assert_rejects("{\"cpu\": {}, \"slices\": {}}", -EINVAL, "$.cpu:", "unknown key \"cpu\"");
}

TEST(test_reject_settings_at_controller_root) {
        assert_rejects("{\"cpu\": {\"conf\": {\"share\": 100}}}", -EINVAL, "$.cpu.conf.share:", "root");
}

TEST(test_reject_wrong_types) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": \"1024\"}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.test_cgroup_a.conf.share:", "must be an integer", "got the string \"1024\"");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1.5}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.share:", "got a real number");
        assert_rejects("{\"slices\": {\"a\": {\"cpu_weight\": true}}}", -EINVAL, "$.slices.a.cpu_weight:",
                       "got a boolean");
        assert_rejects("{\"slices\": {\"a\": {\"cpu_quota\": 150}}}", -EINVAL, "$.slices.a.cpu_quota:",
                       "percentage", "got an integer");
        assert_rejects("{\"slices\": {\"a\": {\"allowed_cpus\": [0, 1]}}}", -EINVAL, "$.slices.a.allowed_cpus:",
                       "CPU list", "got an array");
        assert_rejects("{\"slices\": {\"a\": {\"memory_max\": null}}}", -EINVAL, "$.slices.a.memory_max:",
                       "byte count", "got null");
        assert_rejects("{\"slices\": {\"a\": {\"tasks_max\": \"unlimited\"}}}", -EINVAL, "$.slices.a.tasks_max:",
                       "\"infinity\"");
}

TEST(test_reject_structure_not_object) {
        assert_rejects("{\"cpu\": []}", -EINVAL, "$.cpu:", "must be an object");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": []}}", -EINVAL, "$.cpu.sub_cgroup:", "must be an object");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": 1}}}", -EINVAL, "$.cpu.sub_cgroup.a:", "must be an object");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": 5}}}}", -EINVAL, "$.cpu.sub_cgroup.a.conf:",
                       "must be an object");
        assert_rejects("{\"slices\": []}", -EINVAL, "$.slices:", "must be an object");
        assert_rejects("{\"slices\": {\"a\": \"x\"}}", -EINVAL, "$.slices.a:", "must be an object");
        assert_rejects("{\"slices\": {\"a\": {\"children\": [\"b\"]}}}", -EINVAL, "$.slices.a.children:",
                       "must be an object");
}

/* ---- values out of range ---- */

TEST(test_reject_negative_share) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": -1}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.test_cgroup_a.conf.share:", "out of range", "got -1");
}

TEST(test_reject_share_out_of_range) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 262145}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.share:", "out of range", "262144", "got 262145");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.share:", "out of range", "got 1");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 0}}}}}", -EINVAL, "out of range");
}

TEST(test_reject_blkio_weight_out_of_range) {
        assert_rejects("{\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"weight\": 9}}}}}", -EINVAL,
                       "$.blkio.sub_cgroup.a.conf.weight:", "out of range", "got 9");
        assert_rejects("{\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"weight\": 1001}}}}}", -EINVAL,
                       "$.blkio.sub_cgroup.a.conf.weight:", "out of range");
}

TEST(test_reject_native_values_out_of_range) {
        assert_rejects("{\"slices\": {\"a\": {\"cpu_weight\": 0}}}", -EINVAL, "$.slices.a.cpu_weight:",
                       "out of range", "between 1 and 10000");
        assert_rejects("{\"slices\": {\"a\": {\"io_weight\": 10001}}}", -EINVAL, "$.slices.a.io_weight:",
                       "out of range");
        assert_rejects("{\"slices\": {\"a\": {\"cpu_quota\": \"0%\"}}}", -EINVAL, "$.slices.a.cpu_quota:",
                       "out of range");
        assert_rejects("{\"slices\": {\"a\": {\"cpu_quota\": \"819201%\"}}}", -EINVAL, "$.slices.a.cpu_quota:",
                       "out of range");
        assert_rejects("{\"slices\": {\"a\": {\"tasks_max\": 0}}}", -EINVAL, "$.slices.a.tasks_max:",
                       "out of range");
        assert_rejects("{\"slices\": {\"a\": {\"memory_max\": -1}}}", -EINVAL, "$.slices.a.memory_max:",
                       "out of range");
}

TEST(test_reject_bad_value_strings) {
        assert_rejects("{\"slices\": {\"a\": {\"memory_max\": \"12Q\"}}}", -EINVAL, "$.slices.a.memory_max:",
                       "byte count");
        assert_rejects("{\"slices\": {\"a\": {\"memory_high\": \"99999999999E\"}}}", -EINVAL,
                       "$.slices.a.memory_high:", "byte count");
        assert_rejects("{\"slices\": {\"a\": {\"cpu_quota\": \"150\"}}}", -EINVAL, "$.slices.a.cpu_quota:",
                       "percentage");
        assert_rejects("{\"slices\": {\"a\": {\"allowed_cpus\": \"3-1\"}}}", -EINVAL, "$.slices.a.allowed_cpus:",
                       "CPU list");
        assert_rejects("{\"cpuset\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"cpus\": \"8192\"}}}}}", -EINVAL,
                       "$.cpuset.sub_cgroup.a.conf.cpus:", "CPU list");
}

TEST(test_reject_pid_files) {
        assert_rejects("{\"slices\": {\"a\": {\"pid_files\": [\"run/a.pid\"]}}}", -EINVAL,
                       "$.slices.a.pid_files[0]:", "absolute", "got a relative one");
        assert_rejects("{\"slices\": {\"a\": {\"pid_files\": [\"/run/a.pid\", \"\"]}}}", -EINVAL,
                       "$.slices.a.pid_files[1]:", "absolute");
        assert_rejects("{\"slices\": {\"a\": {\"pid_files\": [\"/run/a.pid\", 5]}}}", -EINVAL,
                       "$.slices.a.pid_files[1]:", "got an integer");
        assert_rejects("{\"slices\": {\"a\": {\"pid_files\": \"/run/a.pid\"}}}", -EINVAL, "$.slices.a.pid_files:",
                       "must be an array");
}

/* cgrouparch's test_cpu.py tree: conf.pids beside share, at two depths. */
TEST(test_cgrouparch_conf_pids) {
        _cleanup_(tree_unrefp) Tree *t = parse_ok(
                "{\"cpu\": {\"sub_cgroup\": {"
                "  \"test_cgroup_a\": {\"conf\": {\"share\": 500, \"pids\": [4242]}},"
                "  \"test_cgroup_b\": {\"conf\": {\"share\": 1000}, \"sub_cgroup\": {"
                "    \"test_cgroup_b_sub1\": {\"conf\": {\"share\": 100, \"pids\": [4243, 4244, 4243]}},"
                "    \"test_cgroup_b_sub2\": {\"conf\": {\"share\": 300, \"pids\": []}}}}}},"
                " \"blkio\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"weight\": 500, \"pids\": [4242, 7]}}}}}");
        TreeNode *a = find_ok(t, "test_cgroup_a"), *b = find_ok(t, "test_cgroup_b"),
                 *sub1 = find_ok(t, "test_cgroup_b/test_cgroup_b_sub1"), *sub2 = find_ok(t, "test_cgroup_b/test_cgroup_b_sub2");

        /* Both controllers' lists add up, a repeat counted once; share still sets CPUWeight. */
        ASSERT_EQ_INT(a->n_pids, 2);
        ASSERT_EQ_INT(a->pids[0], 4242);
        ASSERT_EQ_INT(a->pids[1], 7);
        ASSERT_EQ_INT(tree_settings_effective(&a->settings, TREE_PROP_CPU_WEIGHT), 49);
        ASSERT_EQ_INT(b->n_pids, 0);
        ASSERT_EQ_INT(sub1->n_pids, 2);
        ASSERT_EQ_INT(sub1->pids[0], 4243);
        ASSERT_EQ_INT(sub1->pids[1], 4244);
        ASSERT_EQ_INT(sub2->n_pids, 0);
        ASSERT_TRUE(a->pid_files == NULL);
}

TEST(test_reject_conf_pids) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"pids\": 5}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.pids:", "must be an array of pids", "got an integer");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"pids\": [1, \"2\"]}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.pids[1]:", "must be a pid", "got a string");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"pids\": [2.5]}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.pids[0]:", "got a real number");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"pids\": [true]}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.pids[0]:", "got a boolean");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"pids\": [0]}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.pids[0]:", "out of range", "between 1 and 4194304", "got 0");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"pids\": [3, -1]}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.pids[1]:", "got -1");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"pids\": [4194305]}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.pids[0]:", "got 4194305");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"pids\": [9223372036854775807]}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.pids[0]:", "out of range");
        /* At the root of a controller tree there is no group to move them into. */
        assert_rejects("{\"cpu\": {\"conf\": {\"pids\": [5]}}}", -EINVAL, "$.cpu.conf.pids:", "not supported");
        /* Group init without a root: its processes would go to init.scope. */
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"init\": {\"conf\": {\"pids\": [5]}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.init.conf.pids:", "init.scope");
        /* Only the cgrouparch schema has conf.pids; the native one names pid files. */
        assert_rejects("{\"slices\": {\"a\": {\"pids\": [5]}}}", -EINVAL, "$.slices.a.pids:", "unknown key \"pids\"");
}

static void conf_pids_json(Buf *b, const char *group, int first, int n) {
        buf_printf(b, "\"%s\": {\"conf\": {\"pids\": [", group);
        for (int i = 0; i < n; i++)
                buf_printf(b, "%s%d", i > 0 ? ", " : "", first + i);
        buf_printf(b, "]}}");
}

TEST(test_conf_pids_limits) {
        Buf ok = { 0 }, over = { 0 }, split = { 0 }, total = { 0 }, total_ok = { 0 };
        _cleanup_(tree_unrefp) Tree *t = NULL, *t2 = NULL;

        buf_printf(&ok, "{\"cpu\": {\"sub_cgroup\": {");
        conf_pids_json(&ok, "a", 1, TREE_PIDS_MAX);
        buf_printf(&ok, "}}}");
        t = parse_ok(ok.data);
        ASSERT_EQ_INT(find_ok(t, "a")->n_pids, TREE_PIDS_MAX);

        buf_printf(&over, "{\"cpu\": {\"sub_cgroup\": {");
        conf_pids_json(&over, "a", 1, TREE_PIDS_MAX + 1);
        buf_printf(&over, "}}}");
        assert_rejects(over.data, -EINVAL, "$.cpu.sub_cgroup.a.conf.pids:", "more than 1024 pids");

        /* 1024 under cpu and one more under blkio: over the bound for the group, which counts both. */
        buf_printf(&split, "{\"cpu\": {\"sub_cgroup\": {");
        conf_pids_json(&split, "a", 1, TREE_PIDS_MAX);
        buf_printf(&split, "}}, \"blkio\": {\"sub_cgroup\": {");
        conf_pids_json(&split, "a", TREE_PIDS_MAX + 1, 1);
        buf_printf(&split, "}}}");
        assert_rejects(split.data, -EINVAL, "$.blkio.sub_cgroup.a.conf.pids[0]:", "more than 1024 pids",
                       "all its controllers");

        /* 64 groups of 1024 fill the tree's bound; one pid more is over it. */
        buf_printf(&total_ok, "{\"cpu\": {\"sub_cgroup\": {");
        buf_printf(&total, "{\"cpu\": {\"sub_cgroup\": {");
        for (int g = 0; g < TREE_PIDS_TOTAL_MAX / TREE_PIDS_MAX; g++) {
                char name[16];

                snprintf(name, sizeof(name), "g%d", g);
                buf_printf(&total_ok, "%s", g > 0 ? ", " : "");
                conf_pids_json(&total_ok, name, 1, TREE_PIDS_MAX);
                buf_printf(&total, "%s", g > 0 ? ", " : "");
                conf_pids_json(&total, name, 1, TREE_PIDS_MAX);
        }
        buf_printf(&total_ok, "}}}");
        buf_printf(&total, ", ");
        conf_pids_json(&total, "last", 1, 1);
        buf_printf(&total, "}}}");
        t2 = parse_ok(total_ok.data);
        ASSERT_EQ_INT(find_ok(t2, "g63")->n_pids, TREE_PIDS_MAX);
        assert_rejects(total.data, -E2BIG, "$.cpu.sub_cgroup.last.conf.pids:", "more than 65536 pids");
        free(ok.data);
        free(over.data);
        free(split.data);
        free(total.data);
        free(total_ok.data);
}

/* "/" + components of 255 bytes (NAME_MAX) + the rest, `total` bytes in all. */
static char *pid_files_json(size_t total, size_t component) {
        Buf b = { 0 };
        size_t len = 0;

        buf_printf(&b, "{\"slices\": {\"a\": {\"pid_files\": [\"/run/ok.pid\", \"");
        while (len < total) {
                size_t n = MIN(component, total - len - 1);

                buf_printf(&b, "/");
                for (size_t i = 0; i < n; i++)
                        buf_printf(&b, "x");
                len += n + 1;
        }
        buf_printf(&b, "\"]}}}");
        return b.data;
}

TEST(test_pid_file_path_limits) {
        _cleanup_(freep) char *longest = pid_files_json(TREE_PID_FILE_PATH_MAX, TREE_PID_FILE_COMPONENT_MAX),
                             *too_long = pid_files_json(TREE_PID_FILE_PATH_MAX + 1, TREE_PID_FILE_COMPONENT_MAX),
                             *widest = pid_files_json(300, TREE_PID_FILE_COMPONENT_MAX),
                             *too_wide = pid_files_json(300, TREE_PID_FILE_COMPONENT_MAX + 1);
        _cleanup_(tree_unrefp) Tree *a = parse_ok(longest);
        _cleanup_(tree_unrefp) Tree *b = parse_ok(widest);

        /* 4095 bytes (PATH_MAX less the NUL) in components of at most 255 (NAME_MAX): what open() takes. */
        ASSERT_EQ_INT(strlen(find_ok(a, "a")->pid_files[1]), 4095);
        assert_rejects(too_long, -EINVAL, "$.slices.a.pid_files[1]:", "is 4096 bytes, longer than 4095");
        ASSERT_EQ_INT(strlen(find_ok(b, "a")->pid_files[1]), 300);
        assert_rejects(too_wide, -EINVAL, "$.slices.a.pid_files[1]:", "component of 256 bytes", "NAME_MAX");
}

TEST(test_pid_files_never_go_to_systemds_own_scope) {
        _cleanup_(tree_unrefp) Tree *rooted = NULL, *plain = NULL, *nested = NULL;

        /* Group "init" without a root: its scope would be init.scope, PID 1's. */
        assert_rejects("{\"slices\": {\"init\": {\"pid_files\": [\"/run/a.pid\"]}}}", -EINVAL,
                       "$.slices.init.pid_files:", "init.scope", "systemd's own");
        /* Without pid files the slice init.slice is an ordinary one; under a root or nested the scope is ours. */
        plain = parse_ok("{\"slices\": {\"init\": {\"pid_files\": []}}}");
        rooted = parse_ok_for_root("sk", "{\"slices\": {\"init\": {\"pid_files\": [\"/run/a.pid\"]}}}");
        nested = parse_ok("{\"slices\": {\"a\": {\"children\": {\"init\": {\"pid_files\": [\"/run/a.pid\"]}}}}}");
        ASSERT_STREQ(find_ok(rooted, "init")->pid_files[0], "/run/a.pid");
}

/* ---- group names ---- */

TEST(test_reject_name_with_slash) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a/b\": {}}}}", -EINVAL, "$.cpu.sub_cgroup[\"a/b\"]:",
                       "must not contain '/'");
        assert_rejects("{\"slices\": {\"a/b\": {}}}", -EINVAL, "$.slices[\"a/b\"]:", "must not contain '/'");
}

TEST(test_reject_name_dot_dot) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"..\": {}}}}", -EINVAL, "$.cpu.sub_cgroup[\"..\"]:",
                       "\"..\"");
}

TEST(test_reject_name_dot) {
        assert_rejects("{\"slices\": {\"a\": {\"children\": {\".\": {}}}}}", -EINVAL,
                       "$.slices.a.children[\".\"]:", "\".\"");
}

TEST(test_reject_name_empty) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"\": {}}}}", -EINVAL, "$.cpu.sub_cgroup[\"\"]:",
                       "must not be empty");
        assert_rejects("{\"slices\": {\"\": {}}}", -EINVAL, "$.slices[\"\"]:", "must not be empty");
}

TEST(test_reject_name_control_char) {
        assert_rejects("{\"slices\": {\"a\\u0001b\": {}}}", -EINVAL, "$.slices[\"a\\u0001b\"]:", "control");
        assert_rejects("{\"slices\": {\"a\\nb\": {}}}", -EINVAL, "$.slices[\"a\\nb\"]:", "control");
        assert_rejects("{\"slices\": {\"a\\u007fb\": {}}}", -EINVAL, "control");
        /* jansson refuses a NUL in a key before we see it. */
        assert_rejects("{\"slices\": {\"a\\u0000b\": {}}}", -EBADMSG, "invalid JSON");
}

TEST(test_name_length_limit) {
        char name[TREE_NAME_MAX + 2], json[256], path[256];
        _cleanup_(tree_unrefp) Tree *t = NULL;

        memset(name, 'n', TREE_NAME_MAX);
        name[TREE_NAME_MAX] = 0;
        snprintf(json, sizeof(json), "{\"cpu\": {\"sub_cgroup\": {\"%s\": {\"conf\": {\"share\": 100}}}}}", name);
        t = parse_ok(json);
        ASSERT_EQ_INT(strlen(find_ok(t, name)->name), 64);

        memset(name, 'n', TREE_NAME_MAX + 1);
        name[TREE_NAME_MAX + 1] = 0;
        snprintf(json, sizeof(json), "{\"cpu\": {\"sub_cgroup\": {\"%s\": {\"conf\": {\"share\": 100}}}}}", name);
        snprintf(path, sizeof(path), "$.cpu.sub_cgroup.%s:", name);
        assert_rejects(json, -EINVAL, path, "65 bytes", "longer than 64");
}

TEST(test_name_length_counts_bytes) {
        /* 33 two-byte characters: 33 characters but 66 bytes. */
        char name[80] = "", json[256];

        for (int i = 0; i < 33; i++)
                strcat(name, "\xc3\xbc");
        snprintf(json, sizeof(json), "{\"slices\": {\"%s\": {}}}", name);
        assert_rejects(json, -EINVAL, "66 bytes");
}

TEST(test_reject_same_name_at_two_paths) {
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"b\": {}}}}},"
                       " \"blkio\": {\"sub_cgroup\": {\"c\": {\"sub_cgroup\": {\"b\": {}}}}}}",
                       -EINVAL, "$.blkio.sub_cgroup.c.sub_cgroup.b:", "\"b\"", "\"a/b\"");
        /* Also when the second place is shallower or inside the same controller tree. */
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"b\": {}}}}},"
                       " \"pids\": {\"sub_cgroup\": {\"b\": {}}}}",
                       -EINVAL, "$.pids.sub_cgroup.b:", "\"a/b\"");
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"x\": {}, \"y\": {\"sub_cgroup\": {\"x\": {}}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.y.sub_cgroup.x:", "\"x\" is already at path \"x\"");
}

/* ---- limits ---- */

TEST(test_depth_limit_cgrouparch) {
        _cleanup_(freep) char *ok = cgrouparch_chain(TREE_DEPTH_MAX), *deep = cgrouparch_chain(TREE_DEPTH_MAX + 1);
        _cleanup_(tree_unrefp) Tree *t = parse_ok(ok);

        ASSERT_EQ_INT(t->n_nodes, TREE_DEPTH_MAX);
        ASSERT_EQ_INT(t->nodes[t->n_nodes - 1]->depth, TREE_DEPTH_MAX);
        ASSERT_EQ_U64(value_of(t->nodes[t->n_nodes - 1], TREE_PROP_CPU_WEIGHT), 10);
        assert_parents_first(t);

        assert_rejects(deep, -ELOOP, ".sub_cgroup.l16.sub_cgroup.l17:", "deeper than 16");
}

/* Levels of 64-byte names with odd characters: the message still names the deepest key. */
TEST(test_error_path_survives_deepest_longest_names) {
        char name[65], *json = NULL, *tail = NULL, *expect = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&json, &len);

        ASSERT_TRUE(f);
        memset(name, 'n', 64);
        name[0] = '-';
        name[64] = 0;
        fputs("{\"cpu\": ", f);
        for (int i = 0; i < TREE_DEPTH_MAX; i++) {
                name[1] = (char) ('a' + i); /* cgrouparch names must be unique */
                fprintf(f, "{\"sub_cgroup\": {\"%s\": ", name);
        }
        fputs("{\"conf\": {\"share\": 1}}", f);
        for (int i = 0; i < TREE_DEPTH_MAX; i++)
                fputs("}}", f);
        fputs("}", f);
        fclose(f);
        /* The fourth level's unit name is already past 255 bytes (each '-' escapes to 4): refused there. */
        name[1] = 'd';
        ASSERT_TRUE(asprintf(&tail, ".sub_cgroup[\"%s\"]: the unit name of this group would be 277 bytes", name) > 0);
        name[1] = 'a';
        ASSERT_TRUE(asprintf(&expect, "$.cpu.sub_cgroup[\"%s\"].sub_cgroup", name) > 0);
        assert_rejects(json, -EINVAL, expect, tail, "longer than systemd's limit of 255");
        free(json);
        free(tail);
        free(expect);
}

TEST(test_depth_limit_native) {
        _cleanup_(freep) char *ok = native_chain(TREE_DEPTH_MAX), *deep = native_chain(TREE_DEPTH_MAX + 1);
        _cleanup_(tree_unrefp) Tree *t = parse_ok(ok);
        TreeNode *last;

        ASSERT_EQ_INT(t->n_nodes, TREE_DEPTH_MAX);
        last = t->nodes[t->n_nodes - 1];
        ASSERT_EQ_INT(last->depth, TREE_DEPTH_MAX);
        ASSERT_EQ_INT(tree_path_depth(last->path), TREE_DEPTH_MAX);
        assert_parents_first(t);

        assert_rejects(deep, -ELOOP, "$.slices.l1.children.l2.", ".children.l17:", "deeper than 16");
}

TEST(test_group_count_limit) {
        _cleanup_(freep) char *ok = native_flat(TREE_GROUPS_MAX), *over = native_flat(TREE_GROUPS_MAX + 1);
        _cleanup_(tree_unrefp) Tree *t = parse_ok(ok);

        ASSERT_EQ_INT(t->n_nodes, TREE_GROUPS_MAX);
        ASSERT_TRUE(find_ok(t, "g9999") != NULL);

        assert_rejects(over, -E2BIG, "$.slices.g10000:", "more than 10000 groups");
}

TEST(test_group_count_limit_counts_nested) {
        /* 5000 groups with one child each = 10000; one more top-level group is one too many. */
        Buf b = { 0 };
        _cleanup_(tree_unrefp) Tree *t = NULL;

        buf_printf(&b, "{\"cpu\": {\"sub_cgroup\": {");
        for (unsigned i = 0; i < TREE_GROUPS_MAX / 2; i++)
                buf_printf(&b, "%s\"p%u\": {\"sub_cgroup\": {\"c%u\": {}}}", i > 0 ? ", " : "", i, i);
        buf_printf(&b, "}}}");
        t = parse_ok(b.data);
        ASSERT_EQ_INT(t->n_nodes, TREE_GROUPS_MAX);
        assert_parents_first(t);

        b.len -= strlen("}}}");
        buf_printf(&b, ", \"extra\": {}}}}");
        assert_rejects(b.data, -E2BIG, "$.cpu.sub_cgroup.extra:", "more than 10000 groups");
        free(b.data);
}

/* ---- what systemd 252 and the daemon can take (issue 10) ---- */

TEST(test_memory_limits_start_at_one) {
        /* systemd: "Value specified in MemoryMax is out of range" for 0 (MemoryHigh too); MemoryLow takes 0. */
        static const char *const zeros[] = { "0", "\"0\"", "-0", "\"0K\"", "\"0G\"" };
        char json[256], path[128];

        for (size_t i = 0; i < ELEMENTSOF(zeros); i++) {
                static const char *const keys[] = { "memory_max", "memory_high" };

                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        snprintf(json, sizeof(json), "{\"slices\": {\"x\": {\"%s\": %s}}}", keys[k], zeros[i]);
                        snprintf(path, sizeof(path), "$.slices.x.%s: out of range", keys[k]);
                        assert_rejects(json, -EINVAL, path, "at least 1");
                }
                snprintf(json, sizeof(json), "{\"memory\": {\"sub_cgroup\": {\"x\": {\"conf\": {\"max\": %s}}}}}",
                         zeros[i]);
                assert_rejects(json, -EINVAL, "$.memory.sub_cgroup.x.conf.max: out of range", "at least 1");
                snprintf(json, sizeof(json), "{\"slices\": {\"x\": {\"memory_low\": %s}}}", zeros[i]);
                tree_unref(parse_ok(json));
        }
        assert_rejects("{\"slices\": {\"x\": {\"memory_max\": \"0\"}}}", -EINVAL, "got \"0\"");
        assert_rejects("{\"slices\": {\"x\": {\"memory_max\": -0}}}", -EINVAL, "got 0");
}

/* Each property's largest and smallest accepted value, and one past each: systemd 252's ranges
 * (src/core/dbus-cgroup.c) or, where ours is narrower, ours. */
TEST(test_property_boundaries) {
        static const struct {
                const char *key, *value;
                TreeProp prop;
                uint64_t expected; /* 0 with ok=false: refused */
                bool ok;
        } table[] = {
                { "cpu_weight", "1", TREE_PROP_CPU_WEIGHT, 1, true },
                { "cpu_weight", "10000", TREE_PROP_CPU_WEIGHT, 10000, true },
                { "cpu_weight", "0", 0, 0, false },
                { "cpu_weight", "10001", 0, 0, false },
                { "io_weight", "1", TREE_PROP_IO_WEIGHT, 1, true },
                { "io_weight", "10000", TREE_PROP_IO_WEIGHT, 10000, true },
                { "io_weight", "0", 0, 0, false },
                { "io_weight", "10001", 0, 0, false },
                { "cpu_quota", "\"1%\"", TREE_PROP_CPU_QUOTA, 10000, true },
                { "cpu_quota", "\"819200%\"", TREE_PROP_CPU_QUOTA, 8192000000ULL, true },
                { "cpu_quota", "\"0%\"", 0, 0, false },
                { "cpu_quota", "\"819201%\"", 0, 0, false },
                { "tasks_max", "1", TREE_PROP_TASKS_MAX, 1, true },
                { "tasks_max", "9223372036854775807", TREE_PROP_TASKS_MAX, INT64_MAX, true },
                { "tasks_max", "\"infinity\"", TREE_PROP_TASKS_MAX, UINT64_MAX, true },
                { "tasks_max", "0", 0, 0, false },
                { "memory_max", "1", TREE_PROP_MEMORY_MAX, 1, true },
                { "memory_max", "9223372036854775807", TREE_PROP_MEMORY_MAX, INT64_MAX, true },
                { "memory_max", "\"15E\"", TREE_PROP_MEMORY_MAX, 15ULL << 60, true },
                { "memory_max", "\"16E\"", 0, 0, false },
                { "memory_high", "\"1\"", TREE_PROP_MEMORY_HIGH, 1, true },
                { "memory_high", "\"0\"", 0, 0, false },
                { "memory_low", "0", TREE_PROP_MEMORY_LOW, 0, true },
                { "memory_low", "\"infinity\"", TREE_PROP_MEMORY_LOW, UINT64_MAX, true },
                { "memory_low", "-1", 0, 0, false },
                { "allowed_cpus", "\"8191\"", TREE_PROP_ALLOWED_CPUS, 0, true },
                { "allowed_cpus", "\"8192\"", 0, 0, false },
        };
        char json[256], path[128];

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                snprintf(json, sizeof(json), "{\"slices\": {\"x\": {\"%s\": %s}}}", table[i].key, table[i].value);
                if (table[i].ok) {
                        _cleanup_(tree_unrefp) Tree *t = parse_ok(json);

                        ASSERT_EQ_U64(value_of(find_ok(t, "x"), table[i].prop), table[i].expected);
                } else {
                        snprintf(path, sizeof(path), "$.slices.x.%s:", table[i].key);
                        assert_rejects(json, -EINVAL, path);
                }
        }
        /* cgrouparch's own scales, converted: cpu.shares 2..262144, blkio.weight 10..1000. */
        tree_unref(parse_ok("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 262144}}}},"
                            " \"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"weight\": 1000}}}}}"));
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 262145}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.conf.share: out of range");
}

TEST(test_name_noncharacters_refused) {
        /* sd-bus refuses these in a string (systemd's utf8_is_valid()): the Description would never go out. */
        static const struct {
                const char *json_name, *path, *code;
        } refused[] = {
                { "\\uffff", "$.slices[\"\\uFFFF\"]:", "U+FFFF" },
                { "x\\ufdd0", "$.slices[\"x\\uFDD0\"]:", "U+FDD0" },
                { "\\ufdef", "$.slices[\"\\uFDEF\"]:", "U+FDEF" },
                { "a\\ufffe", "$.slices[\"a\\uFFFE\"]:", "U+FFFE" },
                { "\\ud83f\\udffe", "$.slices[\"\\uD83F\\uDFFE\"]:", "U+1FFFE" },
                { "\\udbff\\udfff", "$.slices[\"\\uDBFF\\uDFFF\"]:", "U+10FFFF" },
        };
        static const char *const accepted[] = { "\\ufdcf", "\\ufdf0", "\\ufffd", "\\udbff\\udffd", "\\u00e9t\\u00e9" };
        char json[256];

        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                snprintf(json, sizeof(json), "{\"slices\": {\"%s\": {}}}", refused[i].json_name);
                assert_rejects(json, -EINVAL, refused[i].path, refused[i].code, "noncharacter", "D-Bus");
        }
        /* The same in cgrouparch's schema, and deeper. */
        assert_rejects("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"\\uffff\": {}}}}}}", -EINVAL,
                       "$.cpu.sub_cgroup.a.sub_cgroup[\"\\uFFFF\"]:", "U+FFFF");
        for (size_t i = 0; i < ELEMENTSOF(accepted); i++) {
                snprintf(json, sizeof(json), "{\"slices\": {\"%s\": {}}}", accepted[i]);
                tree_unref(parse_ok(json));
        }
}

/* Messages go to the journal, STATUS= and status JSON: whatever the input, they must be valid UTF-8. Values and
 * names are shown as ASCII JSON, so cutting them short cannot split a character. */
TEST(test_error_messages_are_ascii) {
        TreeError err = { "" };
        Tree *t = NULL;
        Buf b = { 0 };

        buf_printf(&b, "{\"slices\": {\"\\u00e9\": {\"memory_max\": \"");
        for (int i = 0; i < 100; i++)
                buf_printf(&b, "\\u00e9");
        buf_printf(&b, "\"}}}");
        ASSERT_EQ_INT(tree_parse_json(b.data, b.len, &t, &err), -EINVAL);
        for (const char *c = err.message; *c; c++)
                ASSERT_TRUE((unsigned char) *c < 0x80);
        ASSERT_CONTAINS(err.message, "$.slices[\"\\u00E9\"].memory_max: must be a byte count");
        free(b.data);
}

/* A top-level name of 63 bytes, `escaped` of them '-' (4 bytes each in the unit name), the rest 'a'. */
static char *dash_name_json(const char *root_key, int escaped, int plain) {
        Buf b = { 0 };

        buf_printf(&b, "{\"%s\": {\"", root_key);
        for (int i = 0; i < escaped; i++)
                buf_printf(&b, "-");
        for (int i = 0; i < plain; i++)
                buf_printf(&b, "a");
        buf_printf(&b, "\": {}}}");
        return b.data;
}

TEST(test_unit_name_length_boundary) {
        /* 62 dashes + "a": "\x2d" * 62 + "a" + ".slice" = 255 bytes, systemd's largest unit name; one more
         * plain byte is 256. Before, names of 252..255 passed and their ownership record could not be written. */
        _cleanup_(freep) char *longest = dash_name_json("slices", 62, 1), *over = dash_name_json("slices", 62, 2);
        _cleanup_(tree_unrefp) Tree *t = parse_ok(longest);
        char name[64], json[256];

        ASSERT_EQ_INT(t->n_nodes, 1);
        assert_rejects(over, -EINVAL, "$.slices[\"------", "the unit name of this group would be 256 bytes",
                       "longer than systemd's limit of 255");
        /* The same rule in cgrouparch's schema and for nested groups: "a-" + "\x2d" * 62 + ".slice" = 256. */
        memset(name, '-', 62);
        name[62] = 0;
        snprintf(json, sizeof(json), "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"%s\": {}}}}}}", name);
        assert_rejects(json, -EINVAL, "$.cpu.sub_cgroup.a.sub_cgroup[\"--", "would be 256 bytes");
}

TEST(test_unit_name_length_under_root) {
        /* Under Root=sk ("sk-" + name + ".slice") the largest name is 3 bytes shorter. */
        _cleanup_(freep) char *longest = dash_name_json("slices", 61, 2), *over = dash_name_json("slices", 62, 1);
        _cleanup_(tree_unrefp) Tree *t = parse_ok_for_root("sk", longest), *plain = parse_ok(over);

        ASSERT_EQ_INT(t->n_nodes, 1);
        ASSERT_EQ_INT(plain->n_nodes, 1);  /* the same name is fine with no root */
        assert_rejects_for_root("sk", over, -EINVAL, "$.slices[\"---", "would be 258 bytes with [Slices] Root=sk",
                                "limit of 255");
        /* An empty root is no root. */
        tree_unref(parse_ok_for_root("", over));
}

/* 16 levels: a first name of 63 bytes with `dashes` escaped, 14 levels "x", and a last name of `last` bytes. */
static char *deep_long_json(int first_len, int dashes, int last) {
        Buf b = { 0 };

        buf_printf(&b, "{\"slices\": {\"");
        for (int i = 0; i < first_len; i++)
                buf_printf(&b, "%c", i < dashes ? '-' : 'a');
        buf_printf(&b, "\": {\"children\": ");
        for (int i = 0; i < 14; i++)
                buf_printf(&b, "{\"x\": {\"children\": ");
        buf_printf(&b, "{\"");
        for (int i = 0; i < last; i++)
                buf_printf(&b, "b");
        buf_printf(&b, "\": {}}");
        for (int i = 0; i < 14; i++)
                buf_printf(&b, "}}");
        buf_printf(&b, "}}}");
        return b.data;
}

TEST(test_scope_cgroup_path_boundary) {
        /* Unit names within 255 bytes, but the deepest scope's cgroup path (/A.slice/A-x.slice/.../A-x-...-B.scope)
         * exactly at the limit, then one byte past it. */
        _cleanup_(freep) char *at = deep_long_json(63, 46, 18), *past = deep_long_json(64, 46, 10);
        _cleanup_(tree_unrefp) Tree *t = parse_ok(at);

        ASSERT_EQ_INT(t->n_nodes, 16);
        ASSERT_EQ_INT(UNIT_CGROUP_PATH_MAX, 3840);
        assert_rejects(past, -EINVAL, ".children.x.children.bbbbbbbbbb:",
                       "the cgroup path of this group's scope would be 3841 bytes, longer than the limit of 3840");
}

/* ---- hostile input within the limits: bounded work (issue 12) ---- */

/* Generous for a test (these take ~0.05 s on a release build, ~0.3 s on ASan), yet below what the old code
 * took: 2.1 s (release) for the CPU list of a 4 MiB tree, as long for the lists at the limit.
 * CPU time of this process, so other builds on the machine do not count. */
#define HOSTILE_CPU_SEC_MAX 1.5

static double cpu_seconds(void) {
        struct timespec ts;

        ASSERT_EQ_INT(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* "0-8191,0-8191,...": `entries` copies, each the widest range. */
static void buf_cpu_list(Buf *b, size_t entries) {
        for (size_t i = 0; i < entries; i++)
                buf_printf(b, "%s0-8191", i > 0 ? "," : "");
}

static char *native_cpu_tree(size_t groups, size_t entries) {
        Buf b = { 0 };

        buf_printf(&b, "{\"slices\": {");
        for (size_t g = 0; g < groups; g++) {
                buf_printf(&b, "%s\"g%zu\": {\"allowed_cpus\": \"", g > 0 ? ", " : "", g);
                buf_cpu_list(&b, entries);
                buf_printf(&b, "\"}");
        }
        buf_printf(&b, "}}");
        return b.data;
}

TEST(test_cpu_list_entry_limit) {
        _cleanup_(freep) char *at = native_cpu_tree(1, CPU_SET_MAX_ENTRIES);
        _cleanup_(freep) char *past = native_cpu_tree(1, CPU_SET_MAX_ENTRIES + 1);
        _cleanup_(tree_unrefp) Tree *t = parse_ok(at);
        const TreeNode *g = find_ok(t, "g0");
        Buf b = { 0 };

        ASSERT_EQ_INT(CPU_SET_MAX_ENTRIES, 8192);
        ASSERT_EQ_INT(g->settings.n_cpus, CPU_SET_MAX_CPUS / 8);
        for (size_t i = 0; i < g->settings.n_cpus; i++)
                ASSERT_EQ_INT(g->settings.cpus[i], 0xff);
        assert_rejects(past, -EINVAL, "$.slices.g0.allowed_cpus: too long:",
                       "at most 8192 comma-separated entries", "got a string of 57350 bytes");

        buf_printf(&b, "{\"cpuset\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"cpus\": \"");
        buf_cpu_list(&b, CPU_SET_MAX_ENTRIES + 1);
        buf_printf(&b, "\"}}}}}");
        assert_rejects(b.data, -EINVAL, "$.cpuset.sub_cgroup.a.conf.cpus: too long:", "at most 8192");
        free(b.data);
}

/* The tree of the issue: one list of 590 000 "0-8191" in a valid 4 MiB tree blocked the loop for 2.1 s. */
TEST(test_cpu_list_of_4mib_refused_quickly) {
        _cleanup_(freep) char *json = native_cpu_tree(1, 590000);
        double start;

        ASSERT_TRUE(strlen(json) <= TREE_JSON_MAX);
        start = cpu_seconds();
        assert_rejects(json, -EINVAL, "$.slices.g0.allowed_cpus: too long:");
        ASSERT_TRUE(cpu_seconds() - start < HOSTILE_CPU_SEC_MAX);
}

/* The most CPU-list work a valid tree holds: as many lists at the entry limit as fit in 4 MiB, every entry
 * the widest range (the old per-CPU loop took ~4.8e9 steps for it). */
TEST(test_cpu_lists_at_the_limit_parse_quickly) {
        _cleanup_(freep) char *json = native_cpu_tree(72, CPU_SET_MAX_ENTRIES);
        _cleanup_(tree_unrefp) Tree *t = NULL;
        double start;

        ASSERT_TRUE(strlen(json) <= TREE_JSON_MAX);
        start = cpu_seconds();
        t = parse_ok(json);
        ASSERT_TRUE(cpu_seconds() - start < HOSTILE_CPU_SEC_MAX);
        ASSERT_EQ_INT(t->n_nodes, 72);
        ASSERT_EQ_INT(find_ok(t, "g71")->settings.n_cpus, CPU_SET_MAX_CPUS / 8);
}

/* 10 000 groups (the limit) whose names share one home slot under the string map's old unseeded FNV-1a:
 * parsing took 45 times as long. Counted in map probes, which a slow machine or a sanitizer does not
 * change: the old hash needed ~n^2/2 = 5e7 per map. */
static void assert_colliding_names_cheap(bool native) {
        _cleanup_(freep) char (*names)[FNV_COLLIDE_NAME_MAX] = fnv_colliding_names(TREE_GROUPS_MAX);
        _cleanup_(tree_unrefp) Tree *t = NULL;
        uint64_t before;
        Buf b = { 0 };

        ASSERT_TRUE(names != NULL);
        buf_printf(&b, native ? "{\"slices\": {" : "{\"cpu\": {\"sub_cgroup\": {");
        for (size_t i = 0; i < TREE_GROUPS_MAX; i++) {
                ASSERT_EQ_U64(fnv1a_old(names[i]) & FNV_COLLIDE_MASK, FNV_COLLIDE_TARGET);
                buf_printf(&b, "%s\"%s\": {}", i > 0 ? ", " : "", names[i]);
        }
        buf_printf(&b, native ? "}}" : "}}}");
        before = strmap_probes();
        t = parse_ok(b.data);
        ASSERT_TRUE(strmap_probes() - before < 40 * (uint64_t) TREE_GROUPS_MAX); /* ~7 native, ~13 cgrouparch */
        ASSERT_EQ_INT(t->n_nodes, TREE_GROUPS_MAX);
        ASSERT_TRUE(find_ok(t, names[TREE_GROUPS_MAX - 1]) != NULL);
        free(b.data);
}

TEST(test_fnv1a_colliding_names_parse_cheaply) {
        assert_colliding_names_cheap(/* native= */ true);
        assert_colliding_names_cheap(/* native= */ false);
}

/* ---- the two halves (the daemon loads in one loop iteration and validates in the next) ---- */

/* tree_json_load() then tree_parse_json_value() give what tree_parse_json_for_root() gives, message for
 * message, and leave the JSON as it was. */
static void assert_halves_like_whole(const char *root, const char *data, size_t size) {
        _cleanup_(tree_unrefp) Tree *whole = NULL, *halves = NULL;
        _cleanup_(json_decrefp) json_t *json = NULL;
        _cleanup_(freep) char *before = NULL, *after = NULL;
        TreeError err_whole = { "" }, err_halves = { "" };
        int r_whole, r;

        r_whole = tree_parse_json_for_root(data, size, root, &whole, &err_whole);
        r = tree_json_load(data, size, &json, &err_halves);
        if (r >= 0) {
                before = json_dumps(json, JSON_ENCODE_ANY);
                r = tree_parse_json_value(json, root, &halves, &err_halves);
                after = json_dumps(json, JSON_ENCODE_ANY);
                ASSERT_STREQ(after, before);
                ASSERT_EQ_INT(json->refcount, 1);
        } else
                ASSERT_TRUE(json == NULL);
        ASSERT_EQ_INT(r, r_whole);
        ASSERT_STREQ(err_halves.message, err_whole.message);
        if (r < 0) {
                ASSERT_TRUE(halves == NULL);
                return;
        }
        ASSERT_EQ_INT(halves->schema, whole->schema);
        ASSERT_EQ_INT(halves->n_nodes, whole->n_nodes);
        for (size_t i = 0; i < whole->n_nodes; i++) {
                ASSERT_STREQ(halves->nodes[i]->path, whole->nodes[i]->path);
                ASSERT_EQ_INT(halves->nodes[i]->settings.set_mask, whole->nodes[i]->settings.set_mask);
        }
}

TEST(test_load_then_validate_like_whole) {
        static const char *const inputs[] = {
                "{\"slices\": {\"a\": {\"cpu_weight\": 100, \"children\": {\"b\": {\"memory_max\": \"1G\"}}}}}",
                "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 512}}}}}",
                "{\"slices\": {\"a\": {\"cpu_weight\": -1}}}",      /* -EINVAL, with its path */
                "{\"cpu\": {\"sub_cgroup\": {\"a\": ]}}}",            /* -EBADMSG */
                "{\"slices\": {\"a\": {}, \"a\": {}}}",               /* duplicate key: -EBADMSG */
                "[]",                                                /* -EINVAL at "$" */
                "{\"slices\": {\"init\": {\"pid_files\": [\"/run/x.pid\"]}}}", /* root-dependent */
                "",
        };
        size_t size = TREE_JSON_MAX + 1;
        _cleanup_(freep) char *big = malloc(size);

        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                assert_halves_like_whole(NULL, inputs[i], strlen(inputs[i]));
                assert_halves_like_whole("sk", inputs[i], strlen(inputs[i]));
        }
        ASSERT_TRUE(big != NULL);
        memset(big, ' ', size);
        big[0] = '{';
        big[size - 1] = '}';
        assert_halves_like_whole(NULL, big, size); /* -EFBIG */
        assert_halves_like_whole(NULL, big, size - 1);
}

int main(void) {
        RUN(test_cgrouparch_readme_example);
        RUN(test_cgrouparch_share_clamped);
        RUN(test_cgrouparch_group_without_conf);
        RUN(test_cgrouparch_empty);
        RUN(test_cgrouparch_merge_cpu_blkio);
        RUN(test_cgrouparch_merge_every_controller);
        RUN(test_cgrouparch_merge_groups_from_different_controllers);
        RUN(test_cgrouparch_escaped_name_in_path);
        RUN(test_native_every_key);
        RUN(test_native_sizes);
        RUN(test_native_same_name_at_two_paths);
        RUN(test_native_empty);
        RUN(test_native_pid_files_limit);
        RUN(test_reject_bad_json);
        RUN(test_reject_top_level_not_object);
        RUN(test_reject_duplicate_keys);
        RUN(test_reject_too_large);
        RUN(test_accept_exactly_max_size);
        RUN(test_size_bounds_the_input);
        RUN(test_reject_without_error_struct);
        RUN(test_reject_unknown_top_key);
        RUN(test_reject_unknown_controller_node_key);
        RUN(test_reject_unknown_conf_key);
        RUN(test_reject_unknown_native_key);
        RUN(test_reject_mixing_slices_and_controllers);
        RUN(test_reject_settings_at_controller_root);
        RUN(test_reject_wrong_types);
        RUN(test_reject_structure_not_object);
        RUN(test_reject_negative_share);
        RUN(test_reject_share_out_of_range);
        RUN(test_reject_blkio_weight_out_of_range);
        RUN(test_reject_native_values_out_of_range);
        RUN(test_reject_bad_value_strings);
        RUN(test_reject_pid_files);
        RUN(test_pid_file_path_limits);
        RUN(test_pid_files_never_go_to_systemds_own_scope);
        RUN(test_memory_limits_start_at_one);
        RUN(test_property_boundaries);
        RUN(test_name_noncharacters_refused);
        RUN(test_error_messages_are_ascii);
        RUN(test_unit_name_length_boundary);
        RUN(test_unit_name_length_under_root);
        RUN(test_scope_cgroup_path_boundary);
        RUN(test_reject_name_with_slash);
        RUN(test_reject_name_dot_dot);
        RUN(test_reject_name_dot);
        RUN(test_reject_name_empty);
        RUN(test_reject_name_control_char);
        RUN(test_name_length_limit);
        RUN(test_name_length_counts_bytes);
        RUN(test_reject_same_name_at_two_paths);
        RUN(test_depth_limit_cgrouparch);
        RUN(test_error_path_survives_deepest_longest_names);
        RUN(test_depth_limit_native);
        RUN(test_group_count_limit);
        RUN(test_group_count_limit_counts_nested);
        RUN(test_cpu_list_entry_limit);
        RUN(test_cpu_list_of_4mib_refused_quickly);
        RUN(test_cpu_lists_at_the_limit_parse_quickly);
        RUN(test_fnv1a_colliding_names_parse_cheaply);
        RUN(test_load_then_validate_like_whole);
        RUN(test_cgrouparch_conf_pids);
        RUN(test_reject_conf_pids);
        RUN(test_conf_pids_limits);
        return 0;
}
