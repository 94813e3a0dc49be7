/* SPDX-License-Identifier: MIT */
/* The sampler's share of the descriptor limit: how many cgroup files it may keep open, which of each slice's
 * files it keeps when that is short, and which slices it leaves out when even the fewest do not fit. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sample-files.h"

/* Kept for everything but the sampler's files in any configuration: stdio, the journal, the event loop and its
 * timers, the bus, inotify, io_uring, ZooKeeper, Redis, sd_notify, and the files read in passing (ownership
 * records, pid files, /proc). The daemon adds the connections it allows (control clients, web clients). */
#define FD_RESERVE_BASE 64

/* What a slice keeps when the budget is short, from the fewest files (level 0: CPU and memory) to all of
 * them (FD_BUDGET_LEVELS - 1); each level adds one kind: pids, then I/O, then pressure. I/O goes as a whole:
 * v1 op counts without the byte counts (or the reverse) would read as zero, not as missing. */
#define FD_BUDGET_LEVELS 4
#define FD_BUDGET_LEVEL_ALL (FD_BUDGET_LEVELS - 1)

typedef struct FdBudget {
        uint64_t limit;   /* RLIMIT_NOFILE (soft) */
        uint64_t reserve; /* for the rest of the daemon: as asked, but at most half the limit */
        uint64_t files;   /* the sampler's: limit - reserve */
        unsigned level;   /* of every sampled slice */
        size_t n_slices;
        size_t n_sampled; /* slices that get files at all: n_slices, or as many as fit at level 0 */
} FdBudget;

/* The files a slice keeps at a level (both the v2 file and its v1 fallback of each kind kept). */
SampleFileSet fd_budget_level_files(unsigned level);
/* The kind a level adds ("cpu,memory", "pids", "io", "pressure"); NULL when out of range. */
const char *fd_budget_level_name(unsigned level);
/* The most descriptors one slice holds from `files` on this layout: per kind its v2 file, or its v1 files
 * when they are more (blkio has two) — where the layout has the hierarchy. */
unsigned fd_budget_slice_cost(const CgroupLayout *l, SampleFileSet files);

/* Plans n_slices into limit - reserve, cost[level] (non-decreasing) being one slice's files at each of the
 * FD_BUDGET_LEVELS levels: the highest level at which every slice fits, else level 0 for as many as fit. */
void fd_budget_plan(uint64_t limit, uint64_t reserve, size_t n_slices, const unsigned cost[static FD_BUDGET_LEVELS],
                    FdBudget *ret);
/* Which n_keep of the n slices are sampled: the shallowest (a parent's usage includes its children's), in
 * order within a depth. Sets keep[i] for each of them, clears it for the others. */
/* Descriptors the plan leaves over for others (fair share's cap files): files minus what every slice at
 * the planned level costs (per_slice: fd_budget_slice_cost() of that level); 0 when the plan is short itself
 * (not every file of every slice): those would go to the sampler first. */
uint64_t fd_budget_spare(const FdBudget *b, unsigned per_slice);

void fd_budget_pick(const unsigned *depth, size_t n, size_t n_keep, bool *keep);
