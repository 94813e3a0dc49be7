/* SPDX-License-Identifier: MIT */
/* The sampler's descriptor budget: what one slice costs on each layout, which level fits, how many slices
 * fit when none does, and that the shallowest slices are the ones kept. */
#include <stdbool.h>
#include <stdint.h>
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

/* Plans and checks the level and the slices sampled; returns the plan for more checks. */
static FdBudget plan(uint64_t limit, uint64_t reserve, size_t n, const unsigned *cost, unsigned level,
                     size_t n_sampled) {
        FdBudget b;

        fd_budget_plan(limit, reserve, n, cost, &b);
        ASSERT_EQ_INT(b.level, level);
        ASSERT_EQ_INT(b.n_sampled, n_sampled);
        ASSERT_EQ_INT(b.n_slices, n);
        ASSERT_EQ_U64(b.limit, limit);
        ASSERT_EQ_U64(b.reserve + b.files, limit);
        return b;
}

TEST(test_plan) {
        static const unsigned hybrid[FD_BUDGET_LEVELS] = { 2, 3, 5, 8 };
        static const unsigned nothing[FD_BUDGET_LEVELS] = { 0, 0, 0, 0 };

        /* plenty: every file of every slice */
        ASSERT_EQ_U64(plan(524288, 400, 10001, hybrid, FD_BUDGET_LEVEL_ALL, 10001).files, 524288 - 400);
        /* exactly fits, one more does not */
        plan(8000 + 128, 128, 1000, hybrid, 3, 1000);
        plan(8000 + 127, 128, 1000, hybrid, 2, 1000);
        /* the host: 10 000 groups, a limit of 20 000 → CPU and memory, not all slices */
        plan(20000, 128, 10001, hybrid, 0, 9936);
        plan(40000, 128, 10001, hybrid, 1, 10001);
        /* 1000 groups under LimitNOFILE=2000: CPU and memory of as many as fit */
        ASSERT_EQ_U64(plan(2000, 128, 1001, hybrid, 0, 936).reserve, 128);
        /* the reserve takes at most half the limit */
        ASSERT_EQ_U64(plan(100, 128, 1001, hybrid, 0, 25).reserve, 50);
        ASSERT_EQ_U64(plan(1, 128, 3, hybrid, 0, 0).files, 1);
        /* no slices, or a layout with nothing to read */
        plan(100, 10, 0, hybrid, FD_BUDGET_LEVEL_ALL, 0);
        plan(100, 10, 5000, nothing, FD_BUDGET_LEVEL_ALL, 5000);
}

TEST(test_spare) {
        static const unsigned hybrid[FD_BUDGET_LEVELS] = { 2, 3, 5, 8 };
        FdBudget b;

        /* every file of 1000 slices (8000) out of 19872: the rest is spare */
        b = plan(20000, 128, 1000, hybrid, FD_BUDGET_LEVEL_ALL, 1000);
        ASSERT_EQ_U64(fd_budget_spare(&b, hybrid[FD_BUDGET_LEVEL_ALL]), 19872 - 8000);
        /* exactly fits: nothing spare */
        b = plan(8000 + 128, 128, 1000, hybrid, 3, 1000);
        ASSERT_EQ_U64(fd_budget_spare(&b, hybrid[3]), 0);
        /* short (a lower level, or slices left out): nothing spare, whatever the arithmetic says */
        b = plan(8000 + 127, 128, 1000, hybrid, 2, 1000);
        ASSERT_EQ_U64(fd_budget_spare(&b, hybrid[2]), 0);
        b = plan(20000, 128, 10001, hybrid, 0, 9936);
        ASSERT_EQ_U64(fd_budget_spare(&b, hybrid[0]), 0);
        /* no slices, a cost that would overflow */
        b = plan(100, 10, 0, hybrid, FD_BUDGET_LEVEL_ALL, 0);
        ASSERT_EQ_U64(fd_budget_spare(&b, 8), 90);
        b.n_slices = b.n_sampled = SIZE_MAX;
        ASSERT_EQ_U64(fd_budget_spare(&b, 8), 0);
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
        RUN(test_spare);
        RUN(test_pick_shallowest_first);
        return 0;
}
