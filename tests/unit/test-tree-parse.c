/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "strv.h"
#include "tests.h"
#include "tree-parse.h"

#define BIT(p) (1u << (p))

/* ---- helpers ---- */

static Tree *parse_ok(const char *json) {
        TreeError err = { "" };
        Tree *t = NULL;
        int r = tree_parse_json(json, strlen(json), &t, &err);

        if (r < 0)
                fprintf(stderr, "unexpected rejection (%d): %s\n", r, err.message);
        ASSERT_EQ_INT(r, 0);
        ASSERT_TRUE(t != NULL);
        return t;
}

/* Parses `json`, expects `expected_r`, and checks that the message contains every NULL-terminated
 * needle: the JSON path and key, and the reason. */
static void assert_rejects_n(const char *json, size_t size, int expected_r, ...) {
        TreeError err = { "" };
        Tree *t = (Tree *) 0x1; /* must stay untouched on failure */
        const char *needle;
        va_list ap;
        int r;

        r = tree_parse_json(json, size, &t, &err);
        ASSERT_EQ_INT(r, expected_r);
        ASSERT_TRUE(t == (Tree *) 0x1);
        va_start(ap, expected_r);
        while ((needle = va_arg(ap, const char *)))
                ASSERT_CONTAINS(err.message, needle);
        va_end(ap);
}
#define assert_rejects(json, expected_r, ...) \
        assert_rejects_n((json), strlen(json), (expected_r), __VA_ARGS__, (const char *) NULL)

static TreeNode *find_ok(const Tree *t, const char *path) {
        TreeNode *n = tree_find(t, path);

        if (!n)
                fprintf(stderr, "no group at \"%s\"\n", path);
        ASSERT_TRUE(n != NULL);
        return n;
}

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
                "              \"b\": {\"memory_max\": 0, \"memory_low\": \"0\"}}}");
        TreeNode *a = find_ok(t, "a"), *b = find_ok(t, "b");

        ASSERT_EQ_U64(value_of(a, TREE_PROP_MEMORY_MAX), 512ULL << 20);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_MEMORY_HIGH), UINT64_MAX);
        ASSERT_EQ_U64(value_of(a, TREE_PROP_MEMORY_LOW), 512ULL << 10);
        ASSERT_EQ_U64(value_of(b, TREE_PROP_MEMORY_MAX), 0);
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
        assert_rejects("{\"slices\": {\"a\": {\"pid_files\": [\"run/a.pid\"]}}}", -EINVAL, "$.slices.a.pid_files:",
                       "entry 0", "absolute");
        assert_rejects("{\"slices\": {\"a\": {\"pid_files\": [\"/run/a.pid\", \"\"]}}}", -EINVAL,
                       "$.slices.a.pid_files:", "entry 1", "absolute");
        assert_rejects("{\"slices\": {\"a\": {\"pid_files\": [\"/run/a.pid\", 5]}}}", -EINVAL,
                       "$.slices.a.pid_files:", "entry 1");
        assert_rejects("{\"slices\": {\"a\": {\"pid_files\": \"/run/a.pid\"}}}", -EINVAL, "$.slices.a.pid_files:",
                       "must be an array");
}

TEST(test_reject_pid_file_path_too_long) {
        Buf b = { 0 };

        buf_printf(&b, "{\"slices\": {\"a\": {\"pid_files\": [\"/");
        for (int i = 0; i < TREE_PID_FILE_PATH_MAX; i++)
                buf_printf(&b, "x");
        buf_printf(&b, "\"]}}}");
        assert_rejects(b.data, -EINVAL, "$.slices.a.pid_files:", "at most 4096 bytes");
        free(b.data);
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

/* 16 levels of 64-byte names with odd characters: the message still names the deepest key. */
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
        ASSERT_TRUE(asprintf(&tail, "[\"%s\"].conf.share: out of range", name) > 0); /* the deepest name */
        name[1] = 'a';
        ASSERT_TRUE(asprintf(&expect, "$.cpu.sub_cgroup[\"%s\"].sub_cgroup", name) > 0);
        assert_rejects(json, -EINVAL, expect, tail, "got 1");
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

/* ---- the model ---- */

TEST(test_tree_find) {
        _cleanup_(tree_unrefp) Tree *t =
                parse_ok("{\"slices\": {\"a\": {\"children\": {\"b\": {\"children\": {\"c\": {}}}}}, \"d\": {}}}");

        ASSERT_STREQ(find_ok(t, "a")->path, "a");
        ASSERT_STREQ(find_ok(t, "a/b")->path, "a/b");
        ASSERT_STREQ(find_ok(t, "a/b/c")->name, "c");
        ASSERT_STREQ(find_ok(t, "d")->name, "d");
        ASSERT_TRUE(tree_find(t, "b") == NULL);   /* names are not paths */
        ASSERT_TRUE(tree_find(t, "c") == NULL);
        ASSERT_TRUE(tree_find(t, "a/c") == NULL);
        ASSERT_TRUE(tree_find(t, "a/") == NULL);
        ASSERT_TRUE(tree_find(t, "/a") == NULL);
        ASSERT_TRUE(tree_find(t, "") == NULL);
        ASSERT_TRUE(tree_find(t, "A") == NULL);
}

TEST(test_tree_find_empty_tree) {
        _cleanup_(tree_unrefp) Tree *t = tree_new(TREE_SCHEMA_NATIVE);

        ASSERT_TRUE(tree_find(t, "a") == NULL);
}

TEST(test_tree_add) {
        _cleanup_(tree_unrefp) Tree *t = tree_new(TREE_SCHEMA_NATIVE);
        TreeNode *a = NULL, *ab = NULL;

        ASSERT_EQ_INT(tree_add(t, "a", &a), 0);
        ASSERT_EQ_INT(tree_add(t, "a/b", &ab), 0);
        ASSERT_EQ_INT(tree_add(t, "a/b", NULL), -EEXIST);
        ASSERT_EQ_INT(t->n_nodes, 2);
        ASSERT_TRUE(ab->parent == a);
        ASSERT_STREQ(ab->name, "b");
        ASSERT_EQ_INT(ab->depth, 2);
        ASSERT_TRUE(tree_find(t, "a/b") == ab);
}

TEST(test_tree_path_depth) {
        ASSERT_EQ_INT(tree_path_depth("a"), 1);
        ASSERT_EQ_INT(tree_path_depth("test_cgroup_b/test_cgroup_b_sub1"), 2);
        ASSERT_EQ_INT(tree_path_depth("a/b/c"), 3);
        ASSERT_EQ_INT(tree_path_depth("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p"), 16);
}

TEST(test_tree_ref_unref) {
        Tree *t = parse_ok("{\"slices\": {\"a\": {}}}");

        ASSERT_TRUE(tree_ref(t) == t);
        ASSERT_EQ_INT(t->n_ref, 2);
        ASSERT_TRUE(tree_unref(t) == NULL);
        ASSERT_EQ_INT(t->n_ref, 1);
        ASSERT_TRUE(find_ok(t, "a") != NULL); /* still alive */
        ASSERT_TRUE(tree_unref(t) == NULL);
        ASSERT_TRUE(tree_ref(NULL) == NULL);
        ASSERT_TRUE(tree_unref(NULL) == NULL);
}

TEST(test_schema_to_string) {
        ASSERT_STREQ(tree_schema_to_string(TREE_SCHEMA_CGROUPARCH), "cgrouparch");
        ASSERT_STREQ(tree_schema_to_string(TREE_SCHEMA_NATIVE), "native");
        ASSERT_TRUE(tree_schema_to_string(_TREE_SCHEMA_MAX) == NULL);
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
        RUN(test_reject_pid_file_path_too_long);
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
        RUN(test_tree_find);
        RUN(test_tree_find_empty_tree);
        RUN(test_tree_add);
        RUN(test_tree_path_depth);
        RUN(test_tree_ref_unref);
        RUN(test_schema_to_string);
        return 0;
}
