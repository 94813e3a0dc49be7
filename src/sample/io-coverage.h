/* SPDX-License-Identifier: MIT */
/* Which block devices the layout counts I/O for: v1 blkio keeps throttle statistics for a device only once
 * a throttle rule has been set on its queue (Linux 6.10 and later), so its numbers can be silently absent.
 * Pure: /proc/diskstats and the blkio root's statistics in, a verdict per device out. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "cgroup-stat.h"

typedef enum IoCountedBy {
        IO_COUNTED_BY_NONE,           /* neither a v1 blkio hierarchy nor cgroup2's io controller */
        IO_COUNTED_BY_BLKIO_THROTTLE, /* v1 blkio.throttle.io_service_bytes_recursive */
        IO_COUNTED_BY_IO_STAT,        /* cgroup2 io.stat: every device, no rule needed */
        _IO_COUNTED_BY_MAX,
} IoCountedBy;

typedef struct IoDeviceCoverage {
        unsigned major, minor;
        char name[CG_DISK_NAME_MAX];
        bool counted;
} IoDeviceCoverage;

typedef struct IoCoverage {
        IoCountedBy by;
        IoDeviceCoverage dev[CG_DISKS_MAX];
        size_t n;
        size_t n_left_out; /* devices with I/O that got no verdict (tables full) */
        size_t n_skipped;  /* /proc/diskstats lines that could not be read (CgDiskStats.n_skipped) */
} IoCoverage;

/* The file that counts I/O per slice ("io.stat", ...), NULL for IO_COUNTED_BY_NONE. */
const char *io_counted_by_to_string(IoCountedBy by);
/* Why a device is not counted under `by`, one sentence; NULL for io.stat (which counts every device). */
const char *io_coverage_reason(IoCountedBy by);

/* A verdict for every whole disk in `disks` that has completed I/O (partitions are skipped: the kernel
 * counts their I/O under the disk). Under v1 blkio a device is counted when the blkio root's throttle
 * statistics (`root`, parsed with cg_parse_blkio()) list it: the kernel lists a device there from the
 * moment throttling is active on its queue, whatever the counts; a device that has done I/O (diskstats)
 * but is not listed is not counted. A full `root` table (CG_IO_DEVICES_MAX devices) cannot tell about
 * the devices it misses: they are left out rather than called not counted. */
void io_coverage_decide(IoCountedBy by, const CgDiskStats *disks, const CgIoStats *root, IoCoverage *ret);

/* Whether a device is a partition does not change while it exists, so it is looked up in sysfs once: copies
 * CgDisk.partition into `disks` from the previous look `known` for every device listed there under the same
 * number and name (a number reused by another device comes with another name), and marks the others in
 * ret_unknown[] (disks->n entries) for the caller to look up. Returns how many are unknown. The previous
 * look is the cache: it holds only devices still in /proc/diskstats, at most CG_DISKS_MAX. */
size_t io_partitions_carry(const CgDiskStats *known, CgDiskStats *disks, bool ret_unknown[static CG_DISKS_MAX]);

typedef enum IoCoverageChange {
        IO_COVERAGE_SAME,
        IO_COVERAGE_NOT_COUNTED, /* new to the list and not counted, or no longer counted */
        IO_COVERAGE_COUNTED_NOW, /* was not counted */
} IoCoverageChange;

/* What to tell the journal about device d, given the previous verdicts: once per change, not per check.
 * A device first seen counted is the normal case: nothing to say. */
IoCoverageChange io_coverage_change(const IoCoverage *old, const IoDeviceCoverage *d);

/* {"counted_by": "blkio.throttle.io_service_bytes_recursive"|"io.stat"|null,
 *  "counted": [{"device": "7:0", "name": "loop0"}, ...],
 *  "not_counted": [{"device", "name", "reason"}, ...], "left_out": N, "skipped": N} */
json_t *io_coverage_to_json(const IoCoverage *c);
