/* SPDX-License-Identifier: MIT */
/* What systemd 252 leaves unenforced per layout: on a hybrid host AllowedCPUs, MemoryHigh and MemoryLow are
 * (and IOWeight without a blkio weight file), on pure v2 only what cgroup2's root does not offer; a property
 * at systemd's default loses nothing; the journal hears of each (group, property, value) once. */
#include <stdlib.h>
#include <string.h>

#include "enforceable.h"
#include "macro.h"
#include "tests.h"
#include "tree-fixtures.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void host_from_fixture(const char *name, const char *controllers, size_t size, bool weight,
                              EnforceHost *ret) {
        _cleanup_(cgroup_layout_done) CgroupLayout l = { 0 };
        size_t mi_size;
        _cleanup_(freep) char *mi = test_fixture("cgroup", name, &mi_size);

        ASSERT_EQ_INT(cgroup_layout_from_mountinfo(mi, &l), 0);
        enforce_host_from_layout(&l, controllers, size, weight, ret);
}

static const char *const full_tree =
        "{\"slices\": {\"web\": {\"cpu_weight\": 200, \"cpu_quota\": \"150%\", \"memory_max\": \"2G\","
        " \"memory_high\": \"1536M\", \"memory_low\": \"256M\", \"io_weight\": 300, \"tasks_max\": 500,"
        " \"allowed_cpus\": \"0-1\"}}}";

TEST(test_hybrid) {
        _cleanup_(tree_unrefp) Tree *t = tree_fixture_parse(full_tree);
        EnforceHost h;
        uint32_t mask;

        /* cgroup2 at unified/ offers controllers nobody uses: still a v1 host for systemd. */
        host_from_fixture("mountinfo-hybrid", S("cpuset cpu io memory pids\n"), true, &h);
        ASSERT_TRUE(!h.unified);
        ASSERT_STREQ(enforce_reason(&h, TREE_PROP_ALLOWED_CPUS), "cgroup v1 cpuset");
        ASSERT_STREQ(enforce_reason(&h, TREE_PROP_MEMORY_HIGH), "cgroup v1 memory");
        ASSERT_STREQ(enforce_reason(&h, TREE_PROP_MEMORY_LOW), "cgroup v1 memory");
        ASSERT_TRUE(enforce_reason(&h, TREE_PROP_CPU_WEIGHT) == NULL);  /* cpu.shares */
        ASSERT_TRUE(enforce_reason(&h, TREE_PROP_CPU_QUOTA) == NULL);   /* cpu.cfs_quota_us */
        ASSERT_TRUE(enforce_reason(&h, TREE_PROP_MEMORY_MAX) == NULL);  /* memory.limit_in_bytes */
        ASSERT_TRUE(enforce_reason(&h, TREE_PROP_IO_WEIGHT) == NULL);   /* blkio.bfq.weight */
        ASSERT_TRUE(enforce_reason(&h, TREE_PROP_TASKS_MAX) == NULL);
        ASSERT_TRUE(enforce_reason(&h, _TREE_PROP_MAX) == NULL);
        mask = enforce_not_enforced(&h, &find_ok(t, "web")->settings);
        ASSERT_EQ_U64(mask, (1u << TREE_PROP_ALLOWED_CPUS) | (1u << TREE_PROP_MEMORY_HIGH) |
                                    (1u << TREE_PROP_MEMORY_LOW));

        /* Without BFQ (or CFQ) systemd's blkio.weight write finds no file. */
        host_from_fixture("mountinfo-v1-comounted", NULL, 0, false, &h);
        ASSERT_TRUE(!h.unified);
        ASSERT_STREQ(enforce_reason(&h, TREE_PROP_IO_WEIGHT), "cgroup v1 blkio without a weight file");
        ASSERT_TRUE(enforce_reason(&h, TREE_PROP_CPU_WEIGHT) == NULL); /* cpu,cpuacct co-mounted */
}

TEST(test_v1_hierarchy_missing) {
        /* A legacy host with only name=systemd and a memory hierarchy. */
        static const char mi[] =
                "30 22 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n"
                "31 30 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
                "36 30 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        _cleanup_(cgroup_layout_done) CgroupLayout l = { 0 };
        EnforceHost h;

        ASSERT_EQ_INT(cgroup_layout_from_mountinfo(mi, &l), 0);
        enforce_host_from_layout(&l, NULL, 0, true, &h);
        ASSERT_TRUE(!h.unified);
        ASSERT_TRUE(!h.v1_blkio_weight); /* no blkio hierarchy, whatever the probe said */
        ASSERT_STREQ(enforce_reason(&h, TREE_PROP_CPU_WEIGHT), "no cgroup v1 cpu hierarchy");
        ASSERT_STREQ(enforce_reason(&h, TREE_PROP_CPU_QUOTA), "no cgroup v1 cpu hierarchy");
        ASSERT_STREQ(enforce_reason(&h, TREE_PROP_IO_WEIGHT), "no cgroup v1 blkio hierarchy");
        ASSERT_STREQ(enforce_reason(&h, TREE_PROP_TASKS_MAX), "no cgroup v1 pids hierarchy");
        ASSERT_TRUE(enforce_reason(&h, TREE_PROP_MEMORY_MAX) == NULL);
}

TEST(test_unified) {
        _cleanup_(tree_unrefp) Tree *t = tree_fixture_parse(full_tree);
        EnforceHost h;

        host_from_fixture("mountinfo-v2", S("cpuset cpu io memory hugetlb pids rdma misc\n"), false, &h);
        ASSERT_TRUE(h.unified);
        for (TreeProp p = 0; p < _TREE_PROP_MAX; p++)
                ASSERT_TRUE(enforce_reason(&h, p) == NULL);
        ASSERT_EQ_U64(enforce_not_enforced(&h, &find_ok(t, "web")->settings), 0);

        /* A controller cgroup2's root does not offer ("cpu" must not match "cpuset"). */
        host_from_fixture("mountinfo-v2", S("cpuset io memory pids"), false, &h);
        ASSERT_STREQ(enforce_reason(&h, TREE_PROP_CPU_WEIGHT), "no cpu controller in cgroup2");
        ASSERT_TRUE(enforce_reason(&h, TREE_PROP_ALLOWED_CPUS) == NULL);
        host_from_fixture("mountinfo-v2", S("cpu io memory pids\n"), false, &h);
        ASSERT_STREQ(enforce_reason(&h, TREE_PROP_ALLOWED_CPUS), "no cpuset controller in cgroup2");
        ASSERT_EQ_U64(enforce_not_enforced(&h, &find_ok(t, "web")->settings), 1u << TREE_PROP_ALLOWED_CPUS);
        /* cgroup.controllers unreadable: nothing can be shown as enforced. */
        host_from_fixture("mountinfo-v2", NULL, 0, false, &h);
        ASSERT_EQ_U64(enforce_not_enforced(&h, &find_ok(t, "web")->settings), (1u << _TREE_PROP_MAX) - 1);
}

TEST(test_defaults_lose_nothing) {
        _cleanup_(tree_unrefp) Tree *t = tree_fixture_parse(
                "{\"slices\": {\"a\": {\"memory_high\": \"infinity\", \"memory_low\": 0, \"cpu_weight\": 100},"
                " \"b\": {\"memory_low\": 1}}}");
        EnforceHost h;

        host_from_fixture("mountinfo-hybrid", NULL, 0, true, &h);
        ASSERT_EQ_U64(enforce_not_enforced(&h, &find_ok(t, "a")->settings), 0);
        ASSERT_EQ_U64(enforce_not_enforced(&h, &find_ok(t, "b")->settings), 1u << TREE_PROP_MEMORY_LOW);
}

TEST(test_cgrouparch_cpuset_json) {
        _cleanup_(tree_unrefp) Tree *t = tree_fixture_parse(
                "{\"cpu\": {\"sub_cgroup\": {\"g\": {\"conf\": {\"share\": 1024}}}},"
                " \"cpuset\": {\"sub_cgroup\": {\"g\": {\"conf\": {\"cpus\": \"0\"}}}}}");
        _cleanup_(freep) char *text = NULL;
        EnforceHost h;
        json_t *a;

        host_from_fixture("mountinfo-hybrid", NULL, 0, true, &h);
        a = enforce_node_json(&h, find_ok(t, "g"));
        text = json_dumps(a, JSON_COMPACT);
        json_decref(a);
        ASSERT_STREQ(text, "[{\"property\":\"AllowedCPUs\",\"key\":\"allowed_cpus\",\"value\":\"0\","
                           "\"reason\":\"not enforced on this host (cgroup v1 cpuset)\"}]");

        host_from_fixture("mountinfo-v2", S("cpuset cpu io memory pids\n"), false, &h);
        a = enforce_node_json(&h, find_ok(t, "g"));
        ASSERT_EQ_U64(json_array_size(a), 0);
        json_decref(a);
}

typedef struct Told {
        char lines[16][128];
        size_t n;
} Told;

static void on_tell(const TreeNode *n, TreeProp p, const char *value, const char *reason, void *userdata) {
        Told *t = userdata;

        ASSERT_TRUE(t->n < ELEMENTSOF(t->lines));
        snprintf(t->lines[t->n++], sizeof(t->lines[0]), "%s %s=%s %s", n->path, prop_table[p].dbus_name, value,
                 reason);
}

static void update(EnforceLog *l, const EnforceHost *h, const Tree *t, Told *told) {
        told->n = 0;
        ASSERT_EQ_INT(enforce_log_update(l, h, (const TreeNode *const *) t->nodes, t->n_nodes, on_tell, told), 0);
}

TEST(test_log_once) {
        _cleanup_(tree_unrefp) Tree *t1 = tree_fixture_parse(
                "{\"slices\": {\"a\": {\"allowed_cpus\": \"0\", \"memory_high\": \"1G\"}, \"b\": {\"cpu_weight\": 5}}}");
        _cleanup_(tree_unrefp) Tree *t2 = tree_fixture_parse(
                "{\"slices\": {\"a\": {\"allowed_cpus\": \"0-1\", \"memory_high\": \"1G\"}, \"b\": {\"cpu_weight\": 5}}}");
        _cleanup_(tree_unrefp) Tree *t3 = tree_fixture_parse("{\"slices\": {\"b\": {\"cpu_weight\": 5}}}");
        EnforceLog l = ENFORCE_LOG_INIT;
        EnforceHost h;
        Told told;

        host_from_fixture("mountinfo-hybrid", NULL, 0, true, &h);
        update(&l, &h, t1, &told);
        ASSERT_EQ_U64(told.n, 2);
        ASSERT_STREQ(told.lines[0], "a MemoryHigh=1073741824 cgroup v1 memory");
        ASSERT_STREQ(told.lines[1], "a AllowedCPUs=0 cgroup v1 cpuset");
        /* Every pass after: nothing new to say. */
        for (int i = 0; i < 5; i++) {
                update(&l, &h, t1, &told);
                ASSERT_EQ_U64(told.n, 0);
        }
        /* Another value is another pair; the unchanged one stays quiet. */
        update(&l, &h, t2, &told);
        ASSERT_EQ_U64(told.n, 1);
        ASSERT_STREQ(told.lines[0], "a AllowedCPUs=0-1 cgroup v1 cpuset");
        /* Gone, then back: told again; the set holds only what is there now. */
        update(&l, &h, t3, &told);
        ASSERT_EQ_U64(told.n, 0);
        ASSERT_EQ_U64(l.seen.n, 0);
        update(&l, &h, t2, &told);
        ASSERT_EQ_U64(told.n, 2);
        ASSERT_EQ_U64(l.seen.n, 2);
        enforce_log_done(&l);
}

int main(void) {
        RUN(test_hybrid);
        RUN(test_v1_hierarchy_missing);
        RUN(test_unified);
        RUN(test_defaults_lose_nothing);
        RUN(test_cgrouparch_cpuset_json);
        RUN(test_log_once);
        return 0;
}
