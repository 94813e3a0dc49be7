/* SPDX-License-Identifier: MIT */
/* Which hierarchy (v1 or cgroup2) holds each controller, from mountinfo text, and strict parsers for the
 * cgroup v1 and v2 statistics files the sampler reads. Pure: bytes in, numbers out; no I/O, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum CgController {
        CG_CPU,
        CG_CPUACCT,
        CG_MEMORY,
        CG_IO, /* blkio on v1, io on v2 */
        CG_PIDS,
        _CG_CONTROLLER_MAX,
} CgController;

#define CG_HIERARCHIES_MAX 16

typedef struct CgroupLayout {
        char *v1[_CG_CONTROLLER_MAX]; /* mount point of the v1 hierarchy holding it, or NULL */
        char *unified;                /* cgroup2 mount point or NULL */
        char *named_systemd;          /* the v1 "name=systemd" hierarchy (legacy and hybrid hosts) or NULL */
        /* Every hierarchy holding controllers (each v1 one, whatever it holds, then cgroup2), in mountinfo
         * order, once each; named ones such as name=systemd are not listed. Where cgrouparch's directories
         * may be (slicekeeper migrate). */
        char *hierarchies[CG_HIERARCHIES_MAX];
        size_t n_hierarchies;
} CgroupLayout;

/* The controller's name in v1 super options ("blkio" for CG_IO), NULL when out of range. */
const char *cg_controller_v1_name(CgController c);

/* Fills *ret from /proc/self/mountinfo text. v1 hierarchies are matched by the controller names in their
 * super options (co-mounted ones such as "cpu,cpuacct" fill both slots with the same path); the cgroup2
 * mount is only recorded, since which controllers it offers is in cgroup.controllers, not in mountinfo.
 * The first mount of a hierarchy wins. Mount points are unescaped (\040 → ' '). -ENOENT when there is no
 * cgroup mount at all; *ret is set only on success. Free with cgroup_layout_done(). */
int cgroup_layout_from_mountinfo(const char *mountinfo, CgroupLayout *ret);
void cgroup_layout_done(CgroupLayout *l);
/* Reads /proc/self/mountinfo into *ret (the one function here that reads a file). */
int cgroup_layout_load(CgroupLayout *ret);
/* Where systemd tracks units: the name=systemd hierarchy when there is one, else the cgroup2 mount. */
const char *cgroup_layout_systemd_hierarchy(const CgroupLayout *l);

/* Every parser below takes a file's bytes (not NUL-terminated), accepts a missing trailing newline,
 * returns -EINVAL on anything the kernel would not write (empty input, stray spaces, signs, NUL bytes)
 * and -ERANGE on a number above UINT64_MAX, and sets its output only on success. */

/* A single-number file: cpuacct.usage (ns), memory.current, memory.usage_in_bytes, pids.current.
 * "max" → UINT64_MAX. */
int cg_parse_u64(const char *data, size_t size, uint64_t *ret);

/* v1 cpu.cfs_quota_us: "-1" (no cap) → UINT64_MAX, else the quota in usec. */
int cg_parse_cfs_quota(const char *data, size_t size, uint64_t *ret);
/* v2 cpu.max ("max 100000", "50000 100000"): quota (UINT64_MAX for "max") and period in usec; a period of 0
 * is -EINVAL. */
int cg_parse_cpu_max(const char *data, size_t size, uint64_t *ret_quota, uint64_t *ret_period);
/* A quota per period as usec of CPU per second (CPUQuotaPerSecUSec), rounded: UINT64_MAX for no cap (a quota
 * of UINT64_MAX or a period of 0), at most UINT64_MAX - 2 otherwise. */
uint64_t cg_quota_per_sec(uint64_t quota, uint64_t period);

/* v2 cpu.stat ("usage_usec N\nuser_usec N\n..."): usage_usec. -ENODATA when the key is missing. */
int cg_parse_cpu_stat_usage_usec(const char *data, size_t size, uint64_t *ret);

/* Records carry CPU time in ns on v1 and v2 alike: cpu.stat's usage_usec × 1000, saturating. */
static inline uint64_t cg_usec_to_nsec(uint64_t usec) {
        return usec > UINT64_MAX / 1000 ? UINT64_MAX : usec * 1000;
}

/* v2 memory.events (and memory.events.local): "low N\nhigh N\nmax N\noom N\noom_kill N\noom_group_kill N\n".
 * oom_kill is required (-ENODATA without it); unknown keys are skipped (future kernels); has_oom_group_kill: the
 * key was there (5.17+). Every line is "key number"; a known key twice is -EINVAL. */
typedef struct CgMemoryEvents {
        uint64_t low, high, max, oom, oom_kill, oom_group_kill;
        bool has_oom_group_kill;
} CgMemoryEvents;
int cg_parse_memory_events(const char *data, size_t size, CgMemoryEvents *ret);

/* v1 memory.oom_control: "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n". oom_kill missing (before 4.13):
 * has_oom_kill false, not an error. oom_kill_disable and under_oom are required and 0 or 1; unknown keys are
 * skipped. v1 counts a kill only in the victim's own memcg, not in the ancestor whose limit was hit (unlike
 * v2's memory.events): tests/data/cgroup/v1-memory.oom_control-{parent,child}. */
typedef struct CgOomControl {
        bool oom_kill_disable, under_oom, has_oom_kill;
        uint64_t oom_kill;
} CgOomControl;
int cg_parse_oom_control(const char *data, size_t size, CgOomControl *ret);

#define CG_IO_DEVICES_MAX 64

typedef struct CgIoDevice {
        unsigned major, minor;
        uint64_t read_bytes, write_bytes, read_ios, write_ios;
} CgIoDevice;

/* Only the first n entries mean anything: a caller sets n = 0 and need not clear the table (2.5 KiB). */
typedef struct CgIoStats {
        CgIoDevice dev[CG_IO_DEVICES_MAX];
        size_t n;
} CgIoStats;

/* v2 io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0"). Keys other than the four kept are
 * ignored (dbytes, dios, cost.*, use_delay, ...); a device with no keys (the kernel prints "8:0 " when
 * all its counters are zero) is kept with zeros; an empty file is no devices. Devices beyond
 * CG_IO_DEVICES_MAX are dropped, which is not an error. */
int cg_parse_io_stat(const char *data, size_t size, CgIoStats *ret);

/* v1 blkio.throttle.io_service_bytes (ops=false: Read/Write → *_bytes) or blkio.throttle.io_serviced
 * (ops=true: Read/Write → *_ios), merged into *io: a device already present gets the other half filled
 * in, so zero *io once and call twice. Sync/Async/Discard/Total and the final "Total N" are checked
 * and skipped. On failure *io is left as it was. */
int cg_parse_blkio(const char *data, size_t size, bool ops, CgIoStats *io);

typedef struct CgPressure {
        bool have_some, have_full;
        uint64_t some_total_usec, full_total_usec;
} CgPressure;

/* cpu.pressure, memory.pressure, io.pressure, or /proc/pressure/{cpu,memory,io} ("some avg10=0.00 avg60=0.00
 * avg300=0.00 total=123\nfull ...\n"): the total= of each line. "some" is required; "full" may be
 * missing (cpu.pressure before Linux 5.13). */
int cg_parse_pressure(const char *data, size_t size, CgPressure *ret);

/* cgroup.controllers ("cpuset cpu io memory pids"): 1 when `name` is one of the words, 0 when not. An
 * empty file (no controllers) is 0. */
int cg_parse_controllers_has(const char *data, size_t size, const char *name);

#define CG_DISKS_MAX 256
#define CG_DISK_NAME_MAX 32 /* the kernel's DISK_NAME_LEN, NUL included */

typedef struct CgDisk {
        unsigned major, minor;
        char name[CG_DISK_NAME_MAX];
        uint64_t ios;   /* reads and writes completed */
        bool partition; /* not set by the parser: /proc/diskstats does not say (sysfs does) */
} CgDisk;

typedef struct CgDiskStats {
        CgDisk disk[CG_DISKS_MAX];
        size_t n;
        size_t n_left_out; /* devices with I/O beyond CG_DISKS_MAX */
        size_t n_skipped;  /* lines that are not a device's (see below) */
} CgDiskStats;

/* /proc/diskstats ("   8       0 sda 1 2 3 4 5 6 7 8 9 10 11 ..."): the devices (disks and partitions)
 * that have completed any read or write, in file order; devices without I/O are skipped. A line needs the
 * device number, a name of 1..31 printable ASCII bytes and at least the 11 counters of Linux 2.6; later
 * kernels' extra counters (discards, flushes) are checked and ignored. A line that is not such a device's (too long a name,
 * more than 32 counters, not a number, ...) is skipped and counted in n_skipped, as devices beyond
 * CG_DISKS_MAX are in n_left_out; only NUL bytes refuse the whole file. An empty file is no devices. */
int cg_parse_diskstats(const char *data, size_t size, CgDiskStats *ret);

/* /proc/PID/cgroup ("12:memory:/a.slice/b.scope\n0::/a.slice/b.scope\n"): the path of the hierarchy holding
 * `controller` (v1: a line whose controller list, comma-separated, has it), or with controller NULL the
 * cgroup2 line ("0::"), copied into ret (NUL-terminated). -ENODATA: no such line; -ENAMETOOLONG: the path does
 * not fit `size`; -EINVAL: a line without two ':' or a path not starting with '/', or NUL bytes. */
int cg_parse_proc_cgroup(const char *data, size_t size, const char *controller, char *ret, size_t ret_size);
