/* SPDX-License-Identifier: MIT */
/* Samples every managed slice on each whole second: cgroup files kept open and re-read in batches (io_uring,
 * else pread), v2 files preferred where they exist, v1 otherwise (per controller, from /proc/self/mountinfo).
 * Hands each second's values to the caller, which keeps the window (store/ring.h) and passes them on. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "fd-budget.h"
#include "io-coverage.h"
#include "sample.h"
#include "time-util.h"
#include "tree.h"

typedef struct Sampler Sampler;

typedef struct SamplerConfig {
        usec_t interval_usec;  /* [Sample] IntervalSec= (a whole number of seconds) */
        const char *root;      /* slice prefix, as the realizer's */
        uint64_t fd_reserve;   /* descriptors left to the rest of the daemon (fd-budget.h) */
} SamplerConfig;

/* After every sweep: the values of each slice of set (set->n of them) at unix_sec. The callee owns values
 * (free with sample_values_free_array()); set is borrowed (take a reference to keep it). */
typedef void (*SamplerTick)(Sampler *s, uint64_t unix_sec, SliceSet *set, SampleValues *values, void *userdata);

int sampler_new(sd_event *event, const SamplerConfig *config, SamplerTick tick, void *userdata, Sampler **ret);
Sampler *sampler_free(Sampler *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Sampler *, sampler_free)

/* The slices to sample: the root and every group of the tree (and the users' slices, sampler_set_users()). */
int sampler_set_tree(Sampler *s, const Tree *tree);
/* The users whose slices are sampled too, after the groups (SliceSet.n_groups): copied; the set is made again
 * before the next sweep (once per sweep however often users change). Before the first tree they are only
 * kept. Slices in both the old and the new set keep their open files. */
int sampler_set_users(Sampler *s, const SampleUser *users, size_t n_users);
/* Try again to open files that were missing (slices that have just been created), and look again soon (on
 * the sampler's own timer, at most once a second; requests in between coalesce) which block devices the
 * layout counts I/O for. */
void sampler_rescan(Sampler *s);
/* Descriptors the rest of the daemon holds per slice of the set (the OOM watch's eventfd on v1), kept out of
 * the sampler's budget on top of SamplerConfig.fd_reserve: at most a quarter of RLIMIT_NOFILE. */
void sampler_set_fd_per_slice_other(Sampler *s, unsigned n);
/* The last verdicts on which block devices are counted; NULL before the first look. */
const IoCoverage *sampler_io_coverage(const Sampler *s);

/* The descriptor budget as planned for the current set and RLIMIT_NOFILE (read again on each rescan), and
 * how many cgroup files the sampler holds open. */
const FdBudget *sampler_fd_budget(const Sampler *s);
size_t sampler_open_files(const Sampler *s);

/* {"slices", "slices_complete" (all files the budget keeps open),
 *  "budget": {"limit", "reserve", "files" (the sampler's), "open", "per_slice" (files a sampled slice keeps),
 *             "kept", "dropped" (kinds: "cpu,memory", "pids", "io", "pressure"), "slices_sampled",
 *             "slices_left_out", "left_out" (the first 32 group paths left out), "refused" (opens not tried
 *             for want of budget)},
 *  "ticks", "sweep_cpu_usec": {"last", "avg", "max"},
 *  "sweep_cpu_usec_total", "reads" ("io_uring" or "pread": how the last sweep read the files),
 *  "layout": {...}, "io_devices": io_coverage_to_json() (absent before the first look),
 *  "io_checks": how often it was looked at, "io_partition_lookups": sysfs lookups of whether a device is a
 *  partition (once per device while it stays in /proc/diskstats), "open_batches": loop iterations that opened
 *  missing files (OPEN_BATCH_SLICES slices each), "carried_over": slices that kept their open files through a
 *  tree change, "user_set_changes": sets made again for a change of users (sampler_set_users())} */
json_t *sampler_status_json(const Sampler *s);
/* CPU time the daemon spent sweeping, in total and in the last sweep. */
usec_t sampler_sweep_cpu_usec_total(const Sampler *s);
usec_t sampler_sweep_cpu_usec_last(const Sampler *s);
uint64_t sampler_ticks(const Sampler *s);
/* The cgroup hierarchies as the sampler found them (/proc/self/mountinfo at start): where a slice's files are. */
const CgroupLayout *sampler_layout(const Sampler *s);
