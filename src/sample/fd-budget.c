/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <limits.h>

#include "fd-budget.h"

#define F(f) SAMPLE_FILE_BIT(SAMPLE_FILE_##f)

static const struct {
        const char *name;
        SampleFileSet files;
} levels[FD_BUDGET_LEVELS] = {
        { "cpu,memory", F(CPU_V2) | F(CPU_V1) | F(MEMORY_V2) | F(MEMORY_V1) },
        { "pids", F(PIDS_V2) | F(PIDS_V1) },
        { "io", F(IO_V2) | F(IO_V1_BYTES) | F(IO_V1_OPS) },
        { "pressure", F(PRESSURE_CPU) | F(PRESSURE_MEMORY) | F(PRESSURE_IO) },
};

SampleFileSet fd_budget_level_files(unsigned level) {
        SampleFileSet s = 0;

        for (unsigned l = 0; l <= level && l < FD_BUDGET_LEVELS; l++)
                s |= levels[l].files;
        return s;
}

const char *fd_budget_level_name(unsigned level) {
        return level < FD_BUDGET_LEVELS ? levels[level].name : NULL;
}

unsigned fd_budget_slice_cost(const CgroupLayout *l, SampleFileSet files) {
        SampleFileSet v1 = 0;
        unsigned cost = 0;

        assert(l);
        for (SampleFile f = 0; f < _SAMPLE_FILE_MAX; f++)
                v1 |= sample_file_superseded_by(f);
        /* Each kind: a v2 file (not superseded by any) and the v1 files it supersedes. */
        for (SampleFile f = 0; f < _SAMPLE_FILE_MAX; f++) {
                SampleFileSet fallback = sample_file_superseded_by(f);
                unsigned n_v2 = 0, n_v1 = 0;

                if (v1 & SAMPLE_FILE_BIT(f))
                        continue;
                if ((files & SAMPLE_FILE_BIT(f)) && sample_file_mount(l, f))
                        n_v2 = 1;
                for (SampleFile j = 0; j < _SAMPLE_FILE_MAX; j++)
                        if ((fallback & files & SAMPLE_FILE_BIT(j)) && sample_file_mount(l, j))
                                n_v1++;
                cost += n_v2 > n_v1 ? n_v2 : n_v1;
        }
        return cost;
}

void fd_budget_plan(uint64_t limit, uint64_t reserve, size_t n_slices, const unsigned cost[static FD_BUDGET_LEVELS],
                    FdBudget *ret) {
        FdBudget b = { .limit = limit, .reserve = reserve < limit / 2 ? reserve : limit / 2, .n_slices = n_slices };

        assert(cost);
        assert(ret);
        b.files = limit - b.reserve;
        b.level = FD_BUDGET_LEVEL_ALL;
        b.n_sampled = n_slices;
        /* Every slice at the highest level that fits; a level that costs nothing fits whatever the count. */
        while (b.level > 0 && cost[b.level] > 0 && n_slices > b.files / cost[b.level])
                b.level--;
        if (b.level == 0 && cost[0] > 0 && n_slices > b.files / cost[0])
                b.n_sampled = (size_t) (b.files / cost[0]);
        *ret = b;
}

uint64_t fd_budget_spare(const FdBudget *b, unsigned per_slice) {
        uint64_t planned;

        assert(b);
        if (b->level < FD_BUDGET_LEVEL_ALL || b->n_sampled < b->n_slices)
                return 0;
        if (per_slice > 0 && b->n_slices > UINT64_MAX / per_slice)
                return 0;
        planned = (uint64_t) per_slice * b->n_slices;
        return planned < b->files ? b->files - planned : 0;
}

void fd_budget_pick(const unsigned *depth, size_t n, size_t n_keep, bool *keep) {
        size_t kept = 0;

        assert(depth || n == 0);
        assert(keep || n == 0);
        for (size_t i = 0; i < n; i++)
                keep[i] = false;
        /* A round per depth, shallowest first: trees are at most TREE_DEPTH_MAX deep. */
        while (kept < n_keep && kept < n) {
                unsigned d = UINT_MAX;

                for (size_t i = 0; i < n; i++)
                        if (!keep[i] && depth[i] < d)
                                d = depth[i];
                for (size_t i = 0; i < n && kept < n_keep; i++)
                        if (!keep[i] && depth[i] == d) {
                                keep[i] = true;
                                kept++;
                        }
        }
}
