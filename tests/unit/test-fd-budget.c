/* SPDX-License-Identifier: MIT */
/* The sampler's descriptor budget: what one slice costs on each layout, which level fits, how many slices
 * fit when none does, and that the shallowest slices are the ones kept. */
#include <stdbool.h>
#include <stdlib.h>

#include "cgroup-stat.h"
#include "fd-budget.h"
#include "tests.h"

static void layout_load(const char *mountinfo, CgroupLayout *ret) {
        size_t size;
        char *data = test_fixture("cgroup", mountinfo, &size);

        ASSERT_EQ_INT(cgroup_layout_from_mountinfo(data, ret), 0);
        free(data);
}

static void costs(const CgroupLayout *l, unsigned ret[FD_BUDGET_LEVELS]) {
        for (unsigned i = 0; i < FD_BUDGET_LEVELS; i++)
                ret[i] = fd_budget_slice_cost(l, fd_budget_level_files(i));
}

TEST(test_levels) {
        SampleFileSet all = 0;

        /* each level adds to the one before, the last is every file, and no file is in two kinds */
        for (unsigned i = 0; i < FD_BUDGET_LEVELS; i++) {
                SampleFileSet added = fd_budget_level_files(i) & ~(i > 0 ? fd_budget_level_files(i - 1) : 0);

                ASSERT_TRUE(added != 0);
                ASSERT_TRUE((all & added) == 0);
                all |= added;
                ASSERT_TRUE(fd_budget_level_name(i) != NULL);
        }
        ASSERT_EQ_INT(all, (1u << _SAMPLE_FILE_MAX) - 1);
        ASSERT_EQ_INT(fd_budget_level_files(FD_BUDGET_LEVEL_ALL), all);
        ASSERT_EQ_INT(fd_budget_level_files(99), all);
        ASSERT_STREQ(fd_budget_level_name(0), "cpu,memory");
        ASSERT_STREQ(fd_budget_level_name(FD_BUDGET_LEVEL_ALL), "pressure");
        ASSERT_TRUE(fd_budget_level_name(FD_BUDGET_LEVELS) == NULL);
        ASSERT_TRUE(fd_budget_level_files(0) & SAMPLE_FILE_BIT(SAMPLE_FILE_CPU_V1));
        ASSERT_TRUE(!(fd_budget_level_files(1) & SAMPLE_FILE_BIT(SAMPLE_FILE_IO_V1_OPS)));
}

TEST(test_cost_per_layout) {
        CgroupLayout l;
        unsigned c[FD_BUDGET_LEVELS];

        /* the files the sampler holds open (test-sample-files.c: test_open_*) */
        layout_load("mountinfo-hybrid", &l);
        costs(&l, c);
        /* cpu.stat, memory.usage_in_bytes | pids.current | blkio bytes and ops | three pressure files */
        ASSERT_EQ_INT(c[0], 2);
        ASSERT_EQ_INT(c[1], 3);
        ASSERT_EQ_INT(c[2], 5);
        ASSERT_EQ_INT(c[3], 8);
        cgroup_layout_done(&l);

        layout_load("mountinfo-v2", &l);
        costs(&l, c);
        ASSERT_EQ_INT(c[0], 2);
        ASSERT_EQ_INT(c[1], 3);
        ASSERT_EQ_INT(c[2], 4); /* io.stat alone */
        ASSERT_EQ_INT(c[3], 7);
        cgroup_layout_done(&l);

        layout_load("mountinfo-v1-comounted", &l);
        costs(&l, c);
        ASSERT_EQ_INT(c[2], 5);
        ASSERT_EQ_INT(c[3], 5); /* no pressure without cgroup2 */
        /* a file set without a kind's v2 file still counts its v1 files */
        ASSERT_EQ_INT(fd_budget_slice_cost(&l, SAMPLE_FILE_BIT(SAMPLE_FILE_IO_V1_OPS)), 1);
        ASSERT_EQ_INT(fd_budget_slice_cost(&l, 0), 0);
        cgroup_layout_done(&l);
}

TEST(test_plan) {
        static const unsigned hybrid[FD_BUDGET_LEVELS] = { 2, 3, 5, 8 };
        FdBudget b;

        /* plenty: every file of every slice */
        fd_budget_plan(524288, 400, 10001, hybrid, &b);
        ASSERT_EQ_INT(b.level, FD_BUDGET_LEVEL_ALL);
        ASSERT_EQ_INT(b.n_sampled, 10001);
        ASSERT_EQ_U64(b.files, 524288 - 400);
        /* exactly fits, one more does not */
        fd_budget_plan(8000 + 128, 128, 1000, hybrid, &b);
        ASSERT_EQ_INT(b.level, 3);
        fd_budget_plan(8000 + 127, 128, 1000, hybrid, &b);
        ASSERT_EQ_INT(b.level, 2);
        ASSERT_EQ_INT(b.n_sampled, 1000);
        /* the host: 10 000 groups, a limit of 20 000 → without pressure and I/O */
        fd_budget_plan(20000, 128, 10001, hybrid, &b);
        ASSERT_EQ_INT(b.level, 0);
        ASSERT_EQ_INT(b.n_sampled, 9936);
        fd_budget_plan(40000, 128, 10001, hybrid, &b);
        ASSERT_EQ_INT(b.level, 1);
        ASSERT_EQ_INT(b.n_sampled, 10001);
        /* 1000 groups under LimitNOFILE=2000: CPU and memory of as many as fit */
        fd_budget_plan(2000, 128, 1001, hybrid, &b);
        ASSERT_EQ_INT(b.level, 0);
        ASSERT_EQ_INT(b.n_sampled, 936);
        ASSERT_EQ_U64(b.reserve, 128);
        /* the reserve takes at most half the limit */
        fd_budget_plan(100, 128, 1001, hybrid, &b);
        ASSERT_EQ_U64(b.reserve, 50);
        ASSERT_EQ_U64(b.files, 50);
        ASSERT_EQ_INT(b.n_sampled, 25);
        fd_budget_plan(1, 128, 3, hybrid, &b);
        ASSERT_EQ_U64(b.files, 1);
        ASSERT_EQ_INT(b.n_sampled, 0);
        /* no slices, or a layout with nothing to read */
        fd_budget_plan(100, 10, 0, hybrid, &b);
        ASSERT_EQ_INT(b.level, FD_BUDGET_LEVEL_ALL);
        ASSERT_EQ_INT(b.n_sampled, 0);
        fd_budget_plan(100, 10, 5000, (const unsigned[FD_BUDGET_LEVELS]) { 0, 0, 0, 0 }, &b);
        ASSERT_EQ_INT(b.level, FD_BUDGET_LEVEL_ALL);
        ASSERT_EQ_INT(b.n_sampled, 5000);
}

static size_t count(const bool *keep, size_t n) {
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                k += keep[i];
        return k;
}

TEST(test_pick_shallowest_first) {
        /* the root, two groups with children, in tree order */
        static const unsigned depth[] = { 0, 1, 2, 2, 3, 1, 2, 2 };
        bool keep[8];

        fd_budget_pick(depth, 8, 8, keep);
        ASSERT_EQ_INT(count(keep, 8), 8);
        fd_budget_pick(depth, 8, 99, keep);
        ASSERT_EQ_INT(count(keep, 8), 8);
        fd_budget_pick(depth, 8, 0, keep);
        ASSERT_EQ_INT(count(keep, 8), 0);
        fd_budget_pick(depth, 8, 3, keep);
        ASSERT_TRUE(keep[0] && keep[1] && keep[5]);
        ASSERT_EQ_INT(count(keep, 8), 3);
        /* within a depth: the first in order */
        fd_budget_pick(depth, 8, 5, keep);
        ASSERT_TRUE(keep[0] && keep[1] && keep[5] && keep[2] && keep[3]);
        ASSERT_TRUE(!keep[6] && !keep[7] && !keep[4]);
        fd_budget_pick(depth, 8, 7, keep);
        ASSERT_TRUE(!keep[4]);
        fd_budget_pick(NULL, 0, 5, NULL);
}

int main(void) {
        RUN(test_levels);
        RUN(test_cost_per_layout);
        RUN(test_plan);
        RUN(test_pick_shallowest_first);
        return 0;
}
