/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-stat.h"
#include "fileio.h"
#include "macro.h"
#include "tests.h"

/* Fixtures live in tests/data/cgroup/ (the working directory is tests/data); README.md there says where
 * each one comes from. Most are real files copied from a hybrid-layout Debian 12 test VM (kernel 6.18);
 * v2-io.stat and mountinfo-v2 are written from Documentation/admin-guide/cgroup-v2.rst since that VM has
 * no io controller on cgroup2 and no pure-v2 mount. */
static char *fixture(const char *name, size_t *ret_size) {
        return test_fixture("cgroup", name, ret_size);
}

/* A string literal's bytes without its NUL, the way the sampler hands over what pread() returned. */
#define S(lit) (lit), (sizeof(lit) - 1)

static const CgIoDevice *find_dev(const CgIoStats *io, unsigned major, unsigned minor) {
        for (size_t i = 0; i < io->n; i++)
                if (io->dev[i].major == major && io->dev[i].minor == minor)
                        return &io->dev[i];
        return NULL;
}

/* ---- layout ---- */

TEST(test_layout_hybrid) {
        _cleanup_(cgroup_layout_done) CgroupLayout l = { 0 };
        _cleanup_(freep) char *mi = NULL;
        size_t size;

        /* This machine's own /proc/self/mountinfo: cpu and cpuacct apart, blkio, cgroup2 at unified/. */
        mi = fixture("mountinfo-hybrid", &size);
        ASSERT_EQ_INT(cgroup_layout_from_mountinfo(mi, &l), 0);
        ASSERT_STREQ(l.v1[CG_CPU], "/sys/fs/cgroup/cpu");
        ASSERT_STREQ(l.v1[CG_CPUACCT], "/sys/fs/cgroup/cpuacct");
        ASSERT_STREQ(l.v1[CG_MEMORY], "/sys/fs/cgroup/memory");
        ASSERT_STREQ(l.v1[CG_IO], "/sys/fs/cgroup/blkio");
        ASSERT_STREQ(l.v1[CG_PIDS], "/sys/fs/cgroup/pids");
        ASSERT_STREQ(l.unified, "/sys/fs/cgroup/unified");
        /* Every hierarchy with controllers, once, in mount order; name=systemd is not one. */
        {
                static const char *const all[] = { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer",
                                                   "blkio", "pids", "unified" };

                ASSERT_EQ_INT(l.n_hierarchies, ELEMENTSOF(all));
                for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                        char want[64];

                        snprintf(want, sizeof(want), "/sys/fs/cgroup/%s", all[i]);
                        ASSERT_STREQ(l.hierarchies[i], want);
                }
        }
}

TEST(test_layout_comounted) {
        _cleanup_(cgroup_layout_done) CgroupLayout l = { 0 };
        _cleanup_(freep) char *mi = NULL;
        size_t size;

        /* A legacy (all-v1) host in systemd's classic layout: "cpu,cpuacct" co-mounted, no cgroup2. */
        mi = fixture("mountinfo-v1-comounted", &size);
        ASSERT_EQ_INT(cgroup_layout_from_mountinfo(mi, &l), 0);
        ASSERT_STREQ(l.v1[CG_CPU], "/sys/fs/cgroup/cpu,cpuacct");
        ASSERT_STREQ(l.v1[CG_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct");
        ASSERT_TRUE(l.v1[CG_CPU] != l.v1[CG_CPUACCT]); /* each slot owns its string */
        ASSERT_STREQ(l.v1[CG_MEMORY], "/sys/fs/cgroup/memory");
        ASSERT_STREQ(l.v1[CG_IO], "/sys/fs/cgroup/blkio");
        ASSERT_STREQ(l.v1[CG_PIDS], "/sys/fs/cgroup/pids");
        ASSERT_TRUE(l.unified == NULL);
        ASSERT_EQ_INT(l.n_hierarchies, 6); /* cpu,cpuacct once; net_cls,net_prio too; not name=systemd */
        ASSERT_STREQ(l.hierarchies[0], "/sys/fs/cgroup/cpu,cpuacct");
        ASSERT_STREQ(l.hierarchies[2], "/sys/fs/cgroup/net_cls,net_prio");
}

TEST(test_layout_pure_v2) {
        _cleanup_(cgroup_layout_done) CgroupLayout l = { 0 };
        _cleanup_(freep) char *mi = NULL;
        size_t size;

        mi = fixture("mountinfo-v2", &size);
        ASSERT_EQ_INT(cgroup_layout_from_mountinfo(mi, &l), 0);
        for (CgController c = 0; c < _CG_CONTROLLER_MAX; c++)
                ASSERT_TRUE(l.v1[c] == NULL);
        ASSERT_STREQ(l.unified, "/sys/fs/cgroup");
}

TEST(test_layout_exact_words) {
        _cleanup_(cgroup_layout_done) CgroupLayout l = { 0 };

        /* "cpuset" and "cpuacct_x" are not "cpu"; the first mount of a hierarchy wins; mount points are
         * unescaped; the last line has no newline. */
        ASSERT_EQ_INT(cgroup_layout_from_mountinfo(
                              "33 30 0:30 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
                              "34 30 0:31 / /a rw - cgroup cgroup rw,cpuacct_x,name=cpu\n"
                              "35 30 0:32 / /my\\040cg/cpu rw shared:1 master:2 - cgroup cgroup rw,cpu\n"
                              "36 30 0:33 / /second/cpu rw - cgroup cgroup rw,cpu\n"
                              "37 30 0:34 / /u1 rw - cgroup2 cgroup2 rw\n"
                              "38 30 0:35 / /u2 rw - cgroup2 cgroup2 rw",
                              &l),
                      0);
        ASSERT_STREQ(l.v1[CG_CPU], "/my cg/cpu");
        ASSERT_TRUE(l.v1[CG_CPUACCT] == NULL);
        ASSERT_TRUE(l.v1[CG_MEMORY] == NULL);
        ASSERT_STREQ(l.unified, "/u1");
        ASSERT_STREQ(cg_controller_v1_name(CG_IO), "blkio");
        ASSERT_TRUE(cg_controller_v1_name(_CG_CONTROLLER_MAX) == NULL);
}

TEST(test_layout_none) {
        CgroupLayout l = { .unified = (char *) "untouched" };

        ASSERT_EQ_INT(cgroup_layout_from_mountinfo("21 26 0:20 / /proc rw,relatime - proc proc rw\n", &l),
                      -ENOENT);
        ASSERT_EQ_INT(cgroup_layout_from_mountinfo("", &l), -ENOENT);
        ASSERT_EQ_INT(cgroup_layout_from_mountinfo("cgroup2 without separator\n", &l), -ENOENT);
        ASSERT_EQ_INT(cgroup_layout_from_mountinfo("1 2 0:3 / - cgroup2 cgroup2 rw\n", &l), -ENOENT);
        ASSERT_STREQ(l.unified, "untouched");
}

TEST(test_layout_this_machine) {
        _cleanup_(cgroup_layout_done) CgroupLayout l = { 0 };
        _cleanup_(freep) char *mi = NULL;
        bool any = false;

        /* Wherever the tests run there is some cgroup mount; which one is not assumed. */
        ASSERT_EQ_INT(read_file_bounded("/proc/self/mountinfo", 1024 * 1024, &mi, NULL), 0);
        ASSERT_EQ_INT(cgroup_layout_from_mountinfo(mi, &l), 0);
        for (CgController c = 0; c < _CG_CONTROLLER_MAX; c++)
                any = any || (l.v1[c] && l.v1[c][0] == '/');
        ASSERT_TRUE(any || (l.unified && l.unified[0] == '/'));
}

/* ---- single numbers ---- */

TEST(test_u64_real) {
        _cleanup_(freep) char *usage = NULL, *mem = NULL, *pids = NULL;
        size_t n1, n2, n3;
        uint64_t v;

        usage = fixture("v1-cpuacct.usage", &n1);
        ASSERT_EQ_INT(cg_parse_u64(usage, n1, &v), 0);
        ASSERT_EQ_U64(v, UINT64_C(2229949447633));
        mem = fixture("v1-memory.usage_in_bytes", &n2);
        ASSERT_EQ_INT(cg_parse_u64(mem, n2, &v), 0);
        ASSERT_EQ_U64(v, UINT64_C(216920064));
        pids = fixture("v1-pids.current", &n3);
        ASSERT_EQ_INT(cg_parse_u64(pids, n3, &v), 0);
        ASSERT_EQ_U64(v, 4);
}

TEST(test_u64_max) {
        _cleanup_(freep) char *pids_max = NULL;
        size_t n;
        uint64_t v = 0;

        pids_max = fixture("v1-pids.max", &n);
        ASSERT_EQ_INT(cg_parse_u64(pids_max, n, &v), 0);
        ASSERT_EQ_U64(v, UINT64_MAX);
        v = 0;
        ASSERT_EQ_INT(cg_parse_u64(S("max"), &v), 0);
        ASSERT_EQ_U64(v, UINT64_MAX);
        ASSERT_EQ_INT(cg_parse_u64(S("maxx\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("Max\n"), &v), -EINVAL);
}

TEST(test_u64_missing_newline) {
        uint64_t v = 0;

        ASSERT_EQ_INT(cg_parse_u64(S("216920064"), &v), 0);
        ASSERT_EQ_U64(v, UINT64_C(216920064));
        ASSERT_EQ_INT(cg_parse_u64(S("0"), &v), 0);
        ASSERT_EQ_U64(v, 0);
}

TEST(test_u64_garbage) {
        uint64_t v = 42;

        ASSERT_EQ_INT(cg_parse_u64(S(""), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(NULL, 0, &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("abc\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("12a\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S(" 12\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("12 \n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("12\n\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("12\n13\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("+12\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("1.5\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("0x10\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("12\0"), &v), -EINVAL);
        ASSERT_EQ_U64(v, 42);
}

TEST(test_u64_negative) {
        uint64_t v = 42;

        ASSERT_EQ_INT(cg_parse_u64(S("-1\n"), &v), -EINVAL);
        ASSERT_EQ_INT(cg_parse_u64(S("-0"), &v), -EINVAL);
        ASSERT_EQ_U64(v, 42);
}

TEST(test_u64_overflow) {
        uint64_t v = 42;

        ASSERT_EQ_INT(cg_parse_u64(S("18446744073709551616\n"), &v), -ERANGE); /* 2^64 */
        ASSERT_EQ_INT(cg_parse_u64(S("99999999999999999999999999999999999999999\n"), &v), -ERANGE);
        ASSERT_EQ_U64(v, 42);
        ASSERT_EQ_INT(cg_parse_u64(S("18446744073709551615\n"), &v), 0); /* 2^64 - 1 */
        ASSERT_EQ_U64(v, UINT64_MAX);
}

/* Found by fuzzing: a number of 32 or more digits was -ERANGE even when leading zeros keep it small, against
 * the header's contract (-ERANGE only above UINT64_MAX). */
TEST(test_u64_leading_zeros) {
        uint64_t v = 42;

        ASSERT_EQ_INT(cg_parse_u64(S("00000000000000000000000000000000042\n"), &v), 0); /* 35 digits */
        ASSERT_EQ_U64(v, 42);
        ASSERT_EQ_INT(cg_parse_u64(S("000000000000000000000000000000000000000000018446744073709551615"), &v), 0);
        ASSERT_EQ_U64(v, UINT64_MAX);
        ASSERT_EQ_INT(cg_parse_u64(S("0000000000000000000000000000000000000000000000000000000000000000"), &v), 0);
        ASSERT_EQ_U64(v, 0);
        ASSERT_EQ_INT(cg_parse_u64(S("000000000000000000000000000000000000000000018446744073709551616\n"), &v),
                      -ERANGE);
        ASSERT_EQ_U64(v, 0);
        /* the same numbers inside the other files' parsers */
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("usage_usec 0000000000000000000000000000000000007\n"), &v), 0);
        ASSERT_EQ_U64(v, 7);
}

/* ---- cpu.stat ---- */

TEST(test_cpu_stat_real) {
        _cleanup_(freep) char *stat = NULL;
        size_t n;
        uint64_t usec = 0;

        stat = fixture("v2-cpu.stat", &n);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(stat, n, &usec), 0);
        ASSERT_EQ_U64(usec, UINT64_C(2215764000));
        /* The record's unit is ns, as cpuacct.usage on v1. */
        ASSERT_EQ_U64(cg_usec_to_nsec(usec), UINT64_C(2215764000000));
        ASSERT_EQ_U64(cg_usec_to_nsec(UINT64_MAX / 1000 + 1), UINT64_MAX);
}

TEST(test_cpu_stat_missing_newline) {
        uint64_t usec = 0;

        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("user_usec 1\nusage_usec 77"), &usec), 0);
        ASSERT_EQ_U64(usec, 77);
}

TEST(test_cpu_stat_missing_key) {
        uint64_t usec = 42;

        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("user_usec 1\nsystem_usec 2\n"), &usec), -ENODATA);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("usage_usecs 1\n"), &usec), -ENODATA);
        ASSERT_EQ_U64(usec, 42);
}

TEST(test_cpu_stat_garbage) {
        uint64_t usec = 42;

        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S(""), &usec), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("\n"), &usec), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("usage_usec\n"), &usec), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("usage_usec 1 2\n"), &usec), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("usage_usec -1\n"), &usec), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("usage_usec 1\nuser_usec x\n"), &usec), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("usage_usec 1\n\nuser_usec 2\n"), &usec), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("usage_usec 1\nusage_usec 2\n"), &usec), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(S("usage_usec 18446744073709551616\n"), &usec), -ERANGE);
        ASSERT_EQ_U64(usec, 42);
}

/* ---- memory.events, memory.oom_control ---- */

TEST(test_memory_events_fixture) {
        _cleanup_(freep) char *data = NULL;
        CgMemoryEvents e;
        size_t n;

        data = fixture("v2-memory.events", &n);
        ASSERT_EQ_INT(cg_parse_memory_events(data, n, &e), 0);
        ASSERT_EQ_U64(e.low, 0);
        ASSERT_EQ_U64(e.high, 0);
        ASSERT_EQ_U64(e.max, 152);
        ASSERT_EQ_U64(e.oom, 3);
        ASSERT_EQ_U64(e.oom_kill, 3);
        ASSERT_TRUE(e.has_oom_group_kill);
        ASSERT_EQ_U64(e.oom_group_kill, 1);
        free(data);

        /* Before 5.17: no oom_group_kill line, which is not the same as none counted. */
        data = fixture("v2-memory.events-5.10", &n);
        memset(&e, 0x5a, sizeof(e));
        ASSERT_EQ_INT(cg_parse_memory_events(data, n, &e), 0);
        ASSERT_EQ_U64(e.max, 17);
        ASSERT_EQ_U64(e.oom_kill, 2);
        ASSERT_TRUE(!e.has_oom_group_kill);
        ASSERT_EQ_U64(e.oom_group_kill, 0);
}

TEST(test_memory_events_shapes) {
        CgMemoryEvents e;

        /* memory.events.local has the same keys; a later kernel's key is skipped; no final newline. */
        ASSERT_EQ_INT(cg_parse_memory_events(S("low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 6\n"
                                               "sock_throttled 7"), &e), 0);
        ASSERT_EQ_U64(e.low, 1);
        ASSERT_EQ_U64(e.high, 2);
        ASSERT_EQ_U64(e.max, 3);
        ASSERT_EQ_U64(e.oom, 4);
        ASSERT_EQ_U64(e.oom_kill, 5);
        ASSERT_EQ_U64(e.oom_group_kill, 6);
        /* Only oom_kill is needed, in any order. */
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kill 18446744073709551615\n"), &e), 0);
        ASSERT_EQ_U64(e.oom_kill, UINT64_MAX);
        ASSERT_EQ_U64(e.oom, 0);
        ASSERT_TRUE(!e.has_oom_group_kill);
}

TEST(test_memory_events_garbage) {
        CgMemoryEvents e, before;

        memset(&e, 0x5a, sizeof(e));
        before = e;
        ASSERT_EQ_INT(cg_parse_memory_events(S("low 0\nhigh 0\nmax 0\noom 0\n"), &e), -ENODATA);
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kills 1\n"), &e), -ENODATA);
        ASSERT_EQ_INT(cg_parse_memory_events(S(""), &e), -EINVAL);
        ASSERT_EQ_INT(cg_parse_memory_events(S("\n"), &e), -EINVAL);
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kill\n"), &e), -EINVAL);
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kill 1 2\n"), &e), -EINVAL);
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kill -1\n"), &e), -EINVAL);
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kill 1\noom_kill 2\n"), &e), -EINVAL);
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kill 1\noom_group_kill 1\noom_group_kill 1\n"), &e), -EINVAL);
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kill 1\n\nmax 2\n"), &e), -EINVAL);
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kill 1\nfuture x\n"), &e), -EINVAL);
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kill 1\0\n"), &e), -EINVAL);
        ASSERT_EQ_INT(cg_parse_memory_events(S("oom_kill 18446744073709551616\n"), &e), -ERANGE);
        ASSERT_TRUE(memcmp(&e, &before, sizeof(e)) == 0);
}

TEST(test_oom_control_real) {
        _cleanup_(freep) char *parent = NULL, *child = NULL;
        CgOomControl c;
        size_t n;

        /* Real, after three kills in the child by the parent's limit: v1 counts them in the child only. */
        child = fixture("v1-memory.oom_control-child", &n);
        ASSERT_EQ_INT(cg_parse_oom_control(child, n, &c), 0);
        ASSERT_TRUE(!c.oom_kill_disable && !c.under_oom && c.has_oom_kill);
        ASSERT_EQ_U64(c.oom_kill, 3);
        parent = fixture("v1-memory.oom_control-parent", &n);
        ASSERT_EQ_INT(cg_parse_oom_control(parent, n, &c), 0);
        ASSERT_TRUE(c.has_oom_kill);
        ASSERT_EQ_U64(c.oom_kill, 0);
}

TEST(test_oom_control_shapes) {
        _cleanup_(freep) char *old = NULL;
        CgOomControl c;
        size_t n;

        /* Before 4.13: no oom_kill line at all. */
        old = fixture("v1-memory.oom_control-4.9", &n);
        memset(&c, 0x5a, sizeof(c));
        ASSERT_EQ_INT(cg_parse_oom_control(old, n, &c), 0);
        ASSERT_TRUE(!c.has_oom_kill && !c.oom_kill_disable && !c.under_oom);
        ASSERT_EQ_U64(c.oom_kill, 0);

        ASSERT_EQ_INT(cg_parse_oom_control(S("oom_kill_disable 1\nunder_oom 1\noom_kill 12"), &c), 0);
        ASSERT_TRUE(c.oom_kill_disable && c.under_oom && c.has_oom_kill);
        ASSERT_EQ_U64(c.oom_kill, 12);
        ASSERT_EQ_INT(cg_parse_oom_control(S("under_oom 0\noom_kill_disable 0\nlater_key 5\noom_kill 1\n"), &c), 0);
        ASSERT_EQ_U64(c.oom_kill, 1);
}

TEST(test_oom_control_garbage) {
        CgOomControl c, before;

        memset(&c, 0x5a, sizeof(c));
        before = c;
        ASSERT_EQ_INT(cg_parse_oom_control(S(""), &c), -EINVAL);
        ASSERT_EQ_INT(cg_parse_oom_control(S("oom_kill 3\n"), &c), -EINVAL);
        ASSERT_EQ_INT(cg_parse_oom_control(S("oom_kill_disable 0\noom_kill 3\n"), &c), -EINVAL);
        ASSERT_EQ_INT(cg_parse_oom_control(S("oom_kill_disable 2\nunder_oom 0\n"), &c), -EINVAL);
        ASSERT_EQ_INT(cg_parse_oom_control(S("oom_kill_disable 0\nunder_oom 10\n"), &c), -EINVAL);
        ASSERT_EQ_INT(cg_parse_oom_control(S("oom_kill_disable 0\nunder_oom 0\nunder_oom 0\n"), &c), -EINVAL);
        ASSERT_EQ_INT(cg_parse_oom_control(S("oom_kill_disable 0\nunder_oom 0\noom_kill x\n"), &c), -EINVAL);
        ASSERT_EQ_INT(cg_parse_oom_control(S("oom_kill_disable  0\tunder_oom 0\n"), &c), -EINVAL);
        ASSERT_EQ_INT(cg_parse_oom_control(S("oom_kill_disable 0\nunder_oom 0\noom_kill 99999999999999999999\n"), &c),
                      -ERANGE);
        ASSERT_TRUE(memcmp(&c, &before, sizeof(c)) == 0);
}

/* ---- io.stat ---- */

TEST(test_io_stat_doc) {
        _cleanup_(freep) char *stat = NULL;
        CgIoStats io;
        const CgIoDevice *d;
        size_t n;

        stat = fixture("v2-io.stat", &n);
        ASSERT_EQ_INT(cg_parse_io_stat(stat, n, &io), 0);
        ASSERT_EQ_INT(io.n, 2);
        d = find_dev(&io, 8, 16);
        ASSERT_TRUE(d);
        ASSERT_EQ_U64(d->read_bytes, 1459200);
        ASSERT_EQ_U64(d->write_bytes, 314773504);
        ASSERT_EQ_U64(d->read_ios, 192);
        ASSERT_EQ_U64(d->write_ios, 353);
        d = find_dev(&io, 8, 0);
        ASSERT_TRUE(d);
        ASSERT_EQ_U64(d->read_bytes, 90430464);
        ASSERT_EQ_U64(d->write_bytes, 299008000);
        ASSERT_EQ_U64(d->read_ios, 8950);
        ASSERT_EQ_U64(d->write_ios, 1252);
}

TEST(test_io_stat_unknown_keys) {
        CgIoStats io;
        const CgIoDevice *d;

        /* Policies append their own keys (io.latency's use_delay, iocost's cost.*, not all integers); a
         * device without counters is printed as "MAJ:MIN " and may then get a double space. */
        ASSERT_EQ_INT(cg_parse_io_stat(S("254:0 rbytes=5 wbytes=6 rios=7 wios=8 dbytes=9 dios=10 "
                                         "use_delay=0 delay_nsec=0 cost.vrate=100.00\n"
                                         "254:16 \n"
                                         "259:0  cost.usage=0 cost.wait=0\n"),
                                       &io),
                      0);
        ASSERT_EQ_INT(io.n, 3);
        d = find_dev(&io, 254, 0);
        ASSERT_TRUE(d);
        ASSERT_EQ_U64(d->read_bytes, 5);
        ASSERT_EQ_U64(d->write_bytes, 6);
        ASSERT_EQ_U64(d->read_ios, 7);
        ASSERT_EQ_U64(d->write_ios, 8);
        d = find_dev(&io, 254, 16);
        ASSERT_TRUE(d);
        ASSERT_EQ_U64(d->read_bytes + d->write_bytes + d->read_ios + d->write_ios, 0);
        ASSERT_TRUE(find_dev(&io, 259, 0));
}

TEST(test_io_stat_line_without_eq) {
        CgIoStats io = { .n = 7 };

        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 rbytes=1 wbytes=2\n8:16 rbytes 1 wbytes 2\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 rbytes=1 wbytes\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 garbage\n"), &io), -EINVAL);
        ASSERT_EQ_INT(io.n, 7);
}

TEST(test_io_stat_garbage) {
        CgIoStats io = { .n = 7 };

        ASSERT_EQ_INT(cg_parse_io_stat(S("garbage\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 rbytes=1\n\n8:16 rbytes=1\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("rbytes=1 wbytes=2\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8 rbytes=1\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:x rbytes=1\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("-8:0 rbytes=1\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 rbytes=-1\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 rbytes=\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 =5\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 rbytes=1x\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0\trbytes=1\n"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 rbytes=1\0"), &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 rbytes=18446744073709551616\n"), &io), -ERANGE);
        ASSERT_EQ_INT(cg_parse_io_stat(S("4294967296:0 rbytes=1\n"), &io), -EINVAL);
        ASSERT_EQ_INT(io.n, 7);
}

TEST(test_io_stat_empty) {
        CgIoStats io = { .n = 7 };

        /* A cgroup that has done no I/O has an empty io.stat: no devices, not an error. */
        ASSERT_EQ_INT(cg_parse_io_stat(S(""), &io), 0);
        ASSERT_EQ_INT(io.n, 0);
        io.n = 7;
        ASSERT_EQ_INT(cg_parse_io_stat(NULL, 0, &io), 0);
        ASSERT_EQ_INT(io.n, 0);
}

TEST(test_io_stat_65_devices) {
        char buf[66 * 96];
        size_t len = 0;
        CgIoStats io;

        for (unsigned i = 0; i < 65; i++)
                len += (size_t) snprintf(buf + len, sizeof(buf) - len,
                                         "8:%u rbytes=%u wbytes=%u rios=%u wios=%u dbytes=0 dios=0\n",
                                         i * 16, i + 1000, i + 2000, i + 3000, i + 4000);
        ASSERT_TRUE(len < sizeof(buf));
        ASSERT_EQ_INT(cg_parse_io_stat(buf, len, &io), 0);
        ASSERT_EQ_INT(io.n, CG_IO_DEVICES_MAX);
        ASSERT_EQ_INT(io.n, 64);
        for (unsigned i = 0; i < 64; i++) {
                ASSERT_EQ_INT(io.dev[i].major, 8);
                ASSERT_EQ_INT(io.dev[i].minor, i * 16);
                ASSERT_EQ_U64(io.dev[i].read_bytes, i + 1000);
                ASSERT_EQ_U64(io.dev[i].write_bytes, i + 2000);
                ASSERT_EQ_U64(io.dev[i].read_ios, i + 3000);
                ASSERT_EQ_U64(io.dev[i].write_ios, i + 4000);
        }
        ASSERT_TRUE(find_dev(&io, 8, 64 * 16) == NULL);

        /* Devices past the cap are dropped, but still checked. */
        io.n = 0;
        len += (size_t) snprintf(buf + len, sizeof(buf) - len, "8:9999 rbytes=-1\n");
        ASSERT_TRUE(len < sizeof(buf));
        ASSERT_EQ_INT(cg_parse_io_stat(buf, len, &io), -EINVAL);
        ASSERT_EQ_INT(io.n, 0);
}

TEST(test_io_stat_glued_lines) {
        CgIoStats io;

        /* Linux 5.15 to 5.18 ("blk-cgroup: stop using seq_get_buf" until its fix) printed "8:16 " without a
         * newline for a device without counters, so the next device followed on the same line. */
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:16 8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n"), &io),
                      0);
        ASSERT_EQ_INT(io.n, 2);
        ASSERT_EQ_U64(find_dev(&io, 8, 16)->read_bytes, 0);
        ASSERT_EQ_U64(find_dev(&io, 8, 0)->read_bytes, 1);
        ASSERT_EQ_U64(find_dev(&io, 8, 0)->write_ios, 4);
}

TEST(test_io_stat_missing_newline) {
        CgIoStats io;

        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 rbytes=1 wbytes=2 rios=3 wios=4\n"
                                         "8:16 rbytes=5 wbytes=6 rios=7 wios=8"),
                                       &io),
                      0);
        ASSERT_EQ_INT(io.n, 2);
        ASSERT_EQ_U64(find_dev(&io, 8, 16)->write_ios, 8);
}

/* ---- blkio ---- */

TEST(test_blkio_real) {
        _cleanup_(freep) char *bytes = NULL, *ops = NULL;
        size_t nb, no;
        CgIoStats io = { .n = 0 };
        const CgIoDevice *d;

        /* A child cgroup with a read rule on a loop device of its own (7:290) after 4 MiB of O_DIRECT
         * writes, 4 MiB of reads and a 1 MiB discard (make-v1-blkio-fixtures.py). */
        bytes = fixture("v1-blkio.throttle.io_service_bytes", &nb);
        ops = fixture("v1-blkio.throttle.io_serviced", &no);
        ASSERT_EQ_INT(cg_parse_blkio(bytes, nb, /* ops= */ false, &io), 0);
        ASSERT_EQ_INT(io.n, 1);
        ASSERT_EQ_U64(io.dev[0].read_ios, 0);
        ASSERT_EQ_INT(cg_parse_blkio(ops, no, /* ops= */ true, &io), 0);
        ASSERT_EQ_INT(io.n, 1);
        d = find_dev(&io, 7, 290);
        ASSERT_TRUE(d);
        ASSERT_EQ_U64(d->read_bytes, 4317184);
        ASSERT_EQ_U64(d->write_bytes, 4194304);
        ASSERT_EQ_U64(d->read_ios, 94);
        ASSERT_EQ_U64(d->write_ios, 64);
}

TEST(test_blkio_root_real) {
        _cleanup_(freep) char *bytes = NULL;
        size_t n;
        CgIoStats io = { .n = 0 };

        /* The root cgroup's recursive file at the same moment, where Discard is non-zero: it must not leak
         * into Write. Only the device with a rule is listed; the other loop device read just as much. */
        bytes = fixture("v1-root-blkio.throttle.io_service_bytes_recursive", &n);
        ASSERT_EQ_INT(cg_parse_blkio(bytes, n, /* ops= */ false, &io), 0);
        ASSERT_EQ_INT(io.n, 1);
        ASSERT_EQ_INT(io.dev[0].minor, 290);
        ASSERT_EQ_U64(io.dev[0].read_bytes, 4317184);
        ASSERT_EQ_U64(io.dev[0].write_bytes, 4194304);
}

TEST(test_blkio_total_only) {
        CgIoStats io = { .n = 0 };

        /* What this machine's blkio files held before any throttled I/O: no devices. */
        ASSERT_EQ_INT(cg_parse_blkio(S("Total 0\n"), /* ops= */ false, &io), 0);
        ASSERT_EQ_INT(cg_parse_blkio(S("Total 0\n"), /* ops= */ true, &io), 0);
        ASSERT_EQ_INT(io.n, 0);
}

/* The sampler no longer clears the 64 device entries before parsing: only n says what is valid, and each
 * parser must fill every field of an entry it hands out. Stale bytes must never show through. */
TEST(test_blkio_stale_entries) {
        _cleanup_(freep) char *bytes = NULL;
        size_t nb;
        CgIoStats io;

        memset(&io, 0xa5, sizeof(io));
        io.n = 0;
        bytes = fixture("v1-blkio.throttle.io_service_bytes", &nb);
        ASSERT_EQ_INT(cg_parse_blkio(bytes, nb, /* ops= */ false, &io), 0);
        ASSERT_EQ_INT(io.n, 1);
        ASSERT_EQ_INT(io.dev[0].major, 7);
        ASSERT_EQ_INT(io.dev[0].minor, 290);
        ASSERT_EQ_U64(io.dev[0].read_bytes, 4317184);
        ASSERT_EQ_U64(io.dev[0].write_bytes, 4194304);
        ASSERT_EQ_U64(io.dev[0].read_ios, 0);
        ASSERT_EQ_U64(io.dev[0].write_ios, 0);
}

TEST(test_io_stat_stale_entries) {
        _cleanup_(freep) char *stat = NULL;
        size_t n;
        CgIoStats io;

        memset(&io, 0xa5, sizeof(io));
        stat = fixture("v2-io.stat", &n);
        ASSERT_EQ_INT(cg_parse_io_stat(stat, n, &io), 0);
        ASSERT_EQ_INT(io.n, 2);
        ASSERT_EQ_U64(find_dev(&io, 8, 16)->read_ios, 192);
        /* A device without counters gets zeros, not what the struct held. */
        memset(&io, 0xa5, sizeof(io));
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 \n8:16 rbytes=1\n"), &io), 0);
        ASSERT_EQ_INT(io.n, 2);
        ASSERT_EQ_U64(find_dev(&io, 8, 0)->write_bytes, 0);
        ASSERT_EQ_U64(find_dev(&io, 8, 16)->read_bytes, 1);
        ASSERT_EQ_U64(find_dev(&io, 8, 16)->write_ios, 0);
}

/* A bench slice's recursive throttle files on this machine (no throttle rule on any queue): no device
 * in either. The sampler skips the op counts when the byte counts name no device; this is what makes it
 * exact. */
TEST(test_blkio_slice_no_devices_real) {
        _cleanup_(freep) char *bytes = NULL, *ops = NULL;
        size_t nb, no;
        CgIoStats io = { .n = 0 };

        bytes = fixture("v1-slice-blkio.throttle.io_service_bytes_recursive", &nb);
        ops = fixture("v1-slice-blkio.throttle.io_serviced_recursive", &no);
        ASSERT_EQ_INT(cg_parse_blkio(bytes, nb, /* ops= */ false, &io), 0);
        ASSERT_EQ_INT(io.n, 0);
        ASSERT_EQ_INT(cg_parse_blkio(ops, no, /* ops= */ true, &io), 0);
        ASSERT_EQ_INT(io.n, 0);
}

TEST(test_blkio_garbage) {
        CgIoStats io = { .n = 1, .dev[0] = { .major = 8, .read_bytes = 5 } };

        ASSERT_EQ_INT(cg_parse_blkio(S(""), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("\n"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("garbage\n"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read\nTotal 0\n"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read 1 2\nTotal 0\n"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read -1\nTotal 0\n"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read 1\nTotal x\n"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("Total\n"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("Total 0\n8:0 Read 1\n"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("8-0 Read 1\nTotal 1\n"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read 99\n\nTotal 1\n"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read 99\nTotal 1\0"), false, &io), -EINVAL);
        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read 18446744073709551616\nTotal 0\n"), false, &io), -ERANGE);
        /* A failed merge leaves the earlier half alone. */
        ASSERT_EQ_INT(io.n, 1);
        ASSERT_EQ_U64(io.dev[0].read_bytes, 5);
}

TEST(test_blkio_65_devices) {
        char buf[65 * 6 * 32 + 32];
        size_t len = 0;
        CgIoStats io = { .n = 0 };

        for (unsigned i = 0; i < 65; i++)
                len += (size_t) snprintf(buf + len, sizeof(buf) - len,
                                         "8:%u Read %u\n8:%u Write %u\n8:%u Sync 0\n8:%u Async 0\n"
                                         "8:%u Discard 0\n8:%u Total 0\n",
                                         i, i + 100, i, i + 200, i, i, i, i);
        len += (size_t) snprintf(buf + len, sizeof(buf) - len, "Total 0\n");
        ASSERT_TRUE(len < sizeof(buf));
        ASSERT_EQ_INT(cg_parse_blkio(buf, len, /* ops= */ false, &io), 0);
        ASSERT_EQ_INT(io.n, 64);
        ASSERT_EQ_U64(io.dev[63].read_bytes, 163);
        ASSERT_EQ_U64(io.dev[63].write_bytes, 263);
        ASSERT_TRUE(find_dev(&io, 8, 64) == NULL);
        ASSERT_EQ_INT(cg_parse_blkio(buf, len, /* ops= */ true, &io), 0);
        ASSERT_EQ_INT(io.n, 64);
        ASSERT_EQ_U64(io.dev[0].read_ios, 100);
}

TEST(test_blkio_missing_newline) {
        CgIoStats io = { .n = 0 };

        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read 3\n8:0 Write 4\nTotal 7"), /* ops= */ true, &io), 0);
        ASSERT_EQ_INT(io.n, 1);
        ASSERT_EQ_U64(io.dev[0].read_ios, 3);
        ASSERT_EQ_U64(io.dev[0].write_ios, 4);
}

TEST(test_io_same_record_v1_v2) {
        CgIoStats v1 = { .n = 0 }, v2;

        /* The record does not say which hierarchy the numbers came from. */
        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read 10\n8:0 Write 20\n8:0 Sync 30\n8:0 Async 0\n8:0 Discard 0\n"
                                       "8:0 Total 30\nTotal 30\n"),
                                     /* ops= */ false, &v1),
                      0);
        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read 1\n8:0 Write 2\n8:0 Sync 3\n8:0 Async 0\n8:0 Discard 0\n"
                                       "8:0 Total 3\nTotal 3\n"),
                                     /* ops= */ true, &v1),
                      0);
        ASSERT_EQ_INT(cg_parse_io_stat(S("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"), &v2),
                      0);
        ASSERT_EQ_INT(v1.n, v2.n);
        ASSERT_TRUE(memcmp(&v1.dev[0], &v2.dev[0], sizeof(CgIoDevice)) == 0);
}

/* ---- pressure ---- */

static void check_pressure_fixture(const char *name, uint64_t some, uint64_t full) {
        _cleanup_(freep) char *data = NULL;
        CgPressure p;
        size_t n;

        data = fixture(name, &n);
        ASSERT_EQ_INT(cg_parse_pressure(data, n, &p), 0);
        ASSERT_TRUE(p.have_some);
        ASSERT_TRUE(p.have_full);
        ASSERT_EQ_U64(p.some_total_usec, some);
        ASSERT_EQ_U64(p.full_total_usec, full);
}

TEST(test_pressure_real) {
        check_pressure_fixture("v2-cpu.pressure", UINT64_C(398323347), 0);
        check_pressure_fixture("v2-io.pressure", UINT64_C(7847525), UINT64_C(6358495));
        check_pressure_fixture("v2-memory.pressure", 0, 0);
        check_pressure_fixture("proc-pressure-cpu", UINT64_C(398323424), 0);
        check_pressure_fixture("proc-pressure-io", UINT64_C(7847525), UINT64_C(6358495));
        check_pressure_fixture("proc-pressure-memory", 0, 0);
}

TEST(test_pressure_without_full) {
        _cleanup_(freep) char *data = NULL;
        CgPressure p = { .have_full = true, .full_total_usec = 9 };
        const char *nl;
        size_t n;

        /* cpu.pressure before Linux 5.13 is just the "some" line: take the real file's first line, with
         * and without its newline. */
        data = fixture("v2-cpu.pressure", &n);
        nl = memchr(data, '\n', n);
        ASSERT_TRUE(nl);
        ASSERT_EQ_INT(cg_parse_pressure(data, (size_t) (nl - data) + 1, &p), 0);
        ASSERT_TRUE(p.have_some);
        ASSERT_TRUE(!p.have_full);
        ASSERT_EQ_U64(p.some_total_usec, UINT64_C(398323347));
        ASSERT_EQ_U64(p.full_total_usec, 0);
        ASSERT_EQ_INT(cg_parse_pressure(data, (size_t) (nl - data), &p), 0);
        ASSERT_EQ_U64(p.some_total_usec, UINT64_C(398323347));
}

TEST(test_pressure_missing_newline) {
        CgPressure p;

        ASSERT_EQ_INT(cg_parse_pressure(S("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n"
                                          "full avg10=0.00 avg60=0.00 avg300=0.00 total=3"),
                                        &p),
                      0);
        ASSERT_EQ_U64(p.some_total_usec, 5);
        ASSERT_TRUE(p.have_full);
        ASSERT_EQ_U64(p.full_total_usec, 3);
}

TEST(test_pressure_garbage) {
        CgPressure p = { .some_total_usec = 42 };

        ASSERT_EQ_INT(cg_parse_pressure(S(""), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("garbage\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("some avg10=0.00 avg60=0.00 avg300=0.00\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("some avg10=0.00 total=abc\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("some avg10=0.00 total=-1\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("some avg10=x total=1\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("some avg10 total=1\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("some total=1 total=2\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("some total=1\nsome total=2\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("full total=1\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("most total=1\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("some total=1\n\nfull total=2\n"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("some total=1\0"), &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_pressure(S("some total=18446744073709551616\n"), &p), -ERANGE);
        ASSERT_EQ_U64(p.some_total_usec, 42);
}

/* Where systemd tracks units: name=systemd on hybrid/legacy hosts, else cgroup2. */
static const char si_hybrid[] =
        "34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
        "35 33 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup "
        "rw,xattr,name=systemd\n"
        "38 33 0:33 / /sys/fs/cgroup/cpu rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu\n";
static const char si_pure_v2[] =
        "26 24 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
static const char si_many_optional[] =
        "40 33 0:35 / /srv/cg rw shared:1 master:2 propagate_from:3 - cgroup cgroup rw,name=systemd\n";

static void assert_systemd_hierarchy(const char *mountinfo, const char *expected) {
        CgroupLayout l;

        ASSERT_EQ_INT(cgroup_layout_from_mountinfo(mountinfo, &l), 0);
        ASSERT_STREQ(cgroup_layout_systemd_hierarchy(&l), expected);
        cgroup_layout_done(&l);
}

TEST(test_systemd_hierarchy) {
        assert_systemd_hierarchy(si_hybrid, "/sys/fs/cgroup/systemd");
        assert_systemd_hierarchy(si_pure_v2, "/sys/fs/cgroup");
        assert_systemd_hierarchy(si_many_optional, "/srv/cg");
}

TEST(test_layout_load_this_machine) {
        CgroupLayout l;

        ASSERT_EQ_INT(cgroup_layout_load(&l), 0);
        ASSERT_TRUE(cgroup_layout_systemd_hierarchy(&l) && cgroup_layout_systemd_hierarchy(&l)[0] == '/');
        cgroup_layout_done(&l);
}

/* ---- batched re-reads (fileio's PreadBatch), as the sampler uses them ---- */

/* Every fixture read through one batch, with fewer ring entries than requests, into slots of which some
 * are too small: each result must be what pread() says, a full slot must say so (result == size, the
 * sampler then reads the file again whole), a bad fd must fail alone. Run twice: the second run re-reads
 * the same kept fds from offset 0, as every sweep does. */
TEST(test_pread_batch_fixtures) {
        static const char *const names[] = {
                "v2-cpu.stat", "v2-cpu.pressure", "v2-io.pressure", "v2-memory.pressure", "v1-memory.usage_in_bytes",
                "v1-pids.current", "v1-blkio.throttle.io_service_bytes", "v1-blkio.throttle.io_serviced",
                "v1-slice-blkio.throttle.io_service_bytes_recursive", "v2-io.stat",
        };
        enum { N = ELEMENTSOF(names) + 2 };
        _cleanup_(pread_batch_freep) PreadBatch *b = NULL;
        PreadRequest reqs[N];
        char bufs[N][512];
        int fds[N];

        ASSERT_EQ_INT(pread_batch_new(/* depth= */ 4, &b), 0);
        for (size_t i = 0; i < N; i++) {
                char path[256];

                fds[i] = -EBADF;
                if (i < ELEMENTSOF(names)) {
                        ASSERT_TRUE((size_t) snprintf(path, sizeof(path), "cgroup/%s", names[i]) < sizeof(path));
                        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
                        ASSERT_TRUE(fds[i] >= 0);
                } else if (i == ELEMENTSOF(names)) {
                        fds[i] = open("cgroup/v2-cpu.stat", O_RDONLY | O_CLOEXEC); /* into a slot too small */
                        ASSERT_TRUE(fds[i] >= 0);
                }
        }
        for (int run = 0; run < 2; run++) {
                for (size_t i = 0; i < N; i++) {
                        memset(bufs[i], 0, sizeof(bufs[i]));
                        reqs[i] = (PreadRequest) { .fd = fds[i], .buf = bufs[i], .size = sizeof(bufs[i]) - 1 };
                }
                reqs[ELEMENTSOF(names)].size = 10;
                ASSERT_EQ_INT(pread_batch_run(b, reqs, N), 0);
                for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                        _cleanup_(freep) char *whole = NULL;
                        size_t n;

                        whole = fixture(names[i], &n);
                        ASSERT_EQ_INT(reqs[i].result, n);
                        ASSERT_TRUE(memcmp(bufs[i], whole, n) == 0);
                }
                ASSERT_EQ_INT(reqs[ELEMENTSOF(names)].result, 10);
                ASSERT_TRUE(memcmp(bufs[ELEMENTSOF(names)], "usage_usec", 10) == 0);
                ASSERT_EQ_INT(reqs[N - 1].result, -EBADF);
        }
        /* What the batch read parses as the file does. */
        {
                uint64_t usage;
                CgPressure p;

                ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(bufs[0], (size_t) reqs[0].result, &usage), 0);
                ASSERT_EQ_U64(usage, UINT64_C(2215764000));
                ASSERT_EQ_INT(cg_parse_pressure(bufs[2], (size_t) reqs[2].result, &p), 0);
                ASSERT_EQ_U64(p.full_total_usec, UINT64_C(6358495));
        }
        fprintf(stderr, "(batch read with %s)\n", pread_batch_uses_io_uring(b) ? "io_uring" : "pread");
        for (size_t i = 0; i < N; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
}

/* Real cgroup files of this machine (kernfs, which io_uring reads differently from regular files): the
 * batch and pread() must agree. cpu.stat's usage only grows, so the later read is never smaller. */
TEST(test_pread_batch_this_machine) {
        _cleanup_(cgroup_layout_done) CgroupLayout l = { 0 };
        _cleanup_(pread_batch_freep) PreadBatch *b = NULL;
        _cleanup_(closep) int fd = -EBADF;
        char path[4096], buf[1024], again[1024];
        PreadRequest req;
        uint64_t first, second;
        ssize_t n;

        ASSERT_EQ_INT(cgroup_layout_load(&l), 0);
        if (!l.unified) {
                fprintf(stderr, "(no cgroup2 mount here: skipped)\n");
                return;
        }
        ASSERT_TRUE((size_t) snprintf(path, sizeof(path), "%s/cpu.stat", l.unified) < sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "(no %s here: skipped)\n", path);
                return;
        }
        ASSERT_EQ_INT(pread_batch_new(/* depth= */ 8, &b), 0);
        req = (PreadRequest) { .fd = fd, .buf = buf, .size = sizeof(buf) - 1 };
        ASSERT_EQ_INT(pread_batch_run(b, &req, 1), 0);
        ASSERT_TRUE(req.result > 0 && (size_t) req.result < req.size);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(buf, (size_t) req.result, &first), 0);
        n = pread(fd, again, sizeof(again) - 1, 0);
        ASSERT_TRUE(n > 0);
        ASSERT_EQ_INT(cg_parse_cpu_stat_usage_usec(again, (size_t) n, &second), 0);
        ASSERT_TRUE(first <= second);
}

/* io_uring_enter() failing (here: the ring's fd no longer is a ring) with more requests than the ring holds:
 * every request still gets what pread() says, those never queued included (they used to keep whatever
 * result they held before the run). */
TEST(test_pread_batch_ring_fails_mid_batch) {
        enum { N = 8 };
        _cleanup_(pread_batch_freep) PreadBatch *b = NULL;
        _cleanup_(freep) char *whole = NULL;
        PreadRequest reqs[N];
        char bufs[N][512];
        int fds[N], ring_fd = -EBADF, null_fd;
        size_t size;
        DIR *d;
        struct dirent *de;

        ASSERT_EQ_INT(pread_batch_new(/* depth= */ 2, &b), 0);
        d = opendir("/proc/self/fd");
        ASSERT_TRUE(d != NULL);
        while ((de = readdir(d))) {
                char path[300], target[64];
                ssize_t n;

                snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
                n = readlink(path, target, sizeof(target) - 1);
                if (n > 0 && (target[n] = 0, strcmp(target, "anon_inode:[io_uring]") == 0))
                        ring_fd = atoi(de->d_name);
        }
        closedir(d);
        if (ring_fd < 0) {
                fprintf(stderr, "(no io_uring here: skipped)\n");
                return;
        }
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(null_fd >= 0);
        ASSERT_TRUE(dup2(null_fd, ring_fd) == ring_fd); /* the batch's own close() closes it */
        close(null_fd);

        whole = fixture("v2-cpu.stat", &size);
        for (size_t i = 0; i < N; i++) {
                fds[i] = open("cgroup/v2-cpu.stat", O_RDONLY | O_CLOEXEC);
                ASSERT_TRUE(fds[i] >= 0);
                reqs[i] = (PreadRequest) { .fd = fds[i], .buf = bufs[i], .size = sizeof(bufs[i]) - 1,
                                           .result = 3 /* a stale result from an earlier run */ };
        }
        ASSERT_EQ_INT(pread_batch_run(b, reqs, N), 0);
        for (size_t i = 0; i < N; i++) {
                ASSERT_EQ_INT(reqs[i].result, size);
                ASSERT_TRUE(memcmp(bufs[i], whole, size) == 0);
                close(fds[i]);
        }
        ASSERT_TRUE(!pread_batch_uses_io_uring(b));
}

TEST(test_cpu_caps) {
        uint64_t q = 42, p = 43;

        /* v1: what the kernel writes, "-1" for none */
        ASSERT_EQ_INT(cg_parse_cfs_quota(S("-1\n"), &q), 0);
        ASSERT_EQ_U64(q, UINT64_MAX);
        ASSERT_EQ_INT(cg_parse_cfs_quota(S("60000\n"), &q), 0);
        ASSERT_EQ_U64(q, 60000);
        q = 42;
        ASSERT_EQ_INT(cg_parse_cfs_quota(S("-2\n"), &q), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cfs_quota(S("max\n"), &q), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cfs_quota(S(""), &q), -EINVAL);
        ASSERT_EQ_U64(q, 42);
        /* v2 */
        ASSERT_EQ_INT(cg_parse_cpu_max(S("max 100000\n"), &q, &p), 0);
        ASSERT_EQ_U64(q, UINT64_MAX);
        ASSERT_EQ_U64(p, 100000);
        ASSERT_EQ_INT(cg_parse_cpu_max(S("30000 100000"), &q, &p), 0);
        ASSERT_EQ_U64(q, 30000);
        q = p = 42;
        ASSERT_EQ_INT(cg_parse_cpu_max(S("30000 0\n"), &q, &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_max(S("30000\n"), &q, &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_max(S("30000  100000\n"), &q, &p), -EINVAL);
        ASSERT_EQ_INT(cg_parse_cpu_max(S("max max\n"), &q, &p), -EINVAL);
        ASSERT_EQ_U64(q, 42);
        ASSERT_EQ_U64(p, 42);
        /* per second */
        ASSERT_EQ_U64(cg_quota_per_sec(60000, 100000), 600000);
        ASSERT_EQ_U64(cg_quota_per_sec(1, 3), 333333);
        ASSERT_EQ_U64(cg_quota_per_sec(UINT64_MAX, 100000), UINT64_MAX);
        ASSERT_EQ_U64(cg_quota_per_sec(5, 0), UINT64_MAX);
        ASSERT_EQ_U64(cg_quota_per_sec(UINT64_MAX - 5, 1), UINT64_MAX - 2);
}

TEST(test_proc_cgroup) {
        static const char hybrid[] = "12:memory:/sk.slice/sk-a.slice/a.scope\n"
                                     "4:cpu,cpuacct:/sk.slice\n"
                                     "1:name=systemd:/sk.slice/sk-a.slice/a.scope\n"
                                     "0::/sk.slice/sk-a.slice/a.scope\n";
        char buf[64] = "untouched";

        ASSERT_EQ_INT(cg_parse_proc_cgroup(hybrid, strlen(hybrid), "memory", buf, sizeof(buf)), 0);
        ASSERT_STREQ(buf, "/sk.slice/sk-a.slice/a.scope");
        ASSERT_EQ_INT(cg_parse_proc_cgroup(hybrid, strlen(hybrid), "cpuacct", buf, sizeof(buf)), 0);
        ASSERT_STREQ(buf, "/sk.slice");
        ASSERT_EQ_INT(cg_parse_proc_cgroup(hybrid, strlen(hybrid), NULL, buf, sizeof(buf)), 0);
        ASSERT_STREQ(buf, "/sk.slice/sk-a.slice/a.scope");
        strcpy(buf, "untouched");
        ASSERT_EQ_INT(cg_parse_proc_cgroup(hybrid, strlen(hybrid), "pids", buf, sizeof(buf)), -ENODATA);
        ASSERT_EQ_INT(cg_parse_proc_cgroup(hybrid, strlen(hybrid), "mem", buf, sizeof(buf)), -ENODATA);
        ASSERT_EQ_INT(cg_parse_proc_cgroup(hybrid, strlen(hybrid), "memory", buf, 10), -ENAMETOOLONG);
        ASSERT_STREQ(buf, "untouched");
        ASSERT_EQ_INT(cg_parse_proc_cgroup("0:/x\n", 5, NULL, buf, sizeof(buf)), -EINVAL);
        ASSERT_EQ_INT(cg_parse_proc_cgroup("0::x\n", 5, NULL, buf, sizeof(buf)), -EINVAL);
        ASSERT_EQ_INT(cg_parse_proc_cgroup("0::/\0\n", 6, NULL, buf, sizeof(buf)), -EINVAL);
        ASSERT_EQ_INT(cg_parse_proc_cgroup("0::/", 4, NULL, buf, sizeof(buf)), 0); /* no newline at the end */
        ASSERT_STREQ(buf, "/");
        ASSERT_EQ_INT(cg_parse_proc_cgroup("", 0, NULL, buf, sizeof(buf)), -ENODATA);
}

int main(void) {
        RUN(test_systemd_hierarchy);
        RUN(test_proc_cgroup);
        RUN(test_layout_load_this_machine);
        RUN(test_layout_hybrid);
        RUN(test_layout_comounted);
        RUN(test_layout_pure_v2);
        RUN(test_layout_exact_words);
        RUN(test_layout_none);
        RUN(test_layout_this_machine);
        RUN(test_u64_real);
        RUN(test_u64_max);
        RUN(test_u64_missing_newline);
        RUN(test_u64_garbage);
        RUN(test_u64_negative);
        RUN(test_u64_overflow);
        RUN(test_u64_leading_zeros);
        RUN(test_cpu_caps);
        RUN(test_cpu_stat_real);
        RUN(test_cpu_stat_missing_newline);
        RUN(test_cpu_stat_missing_key);
        RUN(test_cpu_stat_garbage);
        RUN(test_memory_events_fixture);
        RUN(test_memory_events_shapes);
        RUN(test_memory_events_garbage);
        RUN(test_oom_control_real);
        RUN(test_oom_control_shapes);
        RUN(test_oom_control_garbage);
        RUN(test_io_stat_doc);
        RUN(test_io_stat_unknown_keys);
        RUN(test_io_stat_line_without_eq);
        RUN(test_io_stat_garbage);
        RUN(test_io_stat_empty);
        RUN(test_io_stat_65_devices);
        RUN(test_io_stat_glued_lines);
        RUN(test_io_stat_missing_newline);
        RUN(test_blkio_real);
        RUN(test_blkio_root_real);
        RUN(test_blkio_total_only);
        RUN(test_blkio_stale_entries);
        RUN(test_io_stat_stale_entries);
        RUN(test_blkio_slice_no_devices_real);
        RUN(test_blkio_garbage);
        RUN(test_blkio_65_devices);
        RUN(test_blkio_missing_newline);
        RUN(test_io_same_record_v1_v2);
        RUN(test_pressure_real);
        RUN(test_pressure_without_full);
        RUN(test_pressure_missing_newline);
        RUN(test_pressure_garbage);
        RUN(test_pread_batch_fixtures);
        RUN(test_pread_batch_this_machine);
        RUN(test_pread_batch_ring_fails_mid_batch);
        return 0;
}
