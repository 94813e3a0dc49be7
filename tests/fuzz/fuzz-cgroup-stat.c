/* SPDX-License-Identifier: MIT */
/* Every cgroup statistics parser of src/cgroup/cgroup-stat.c on the same bytes, as if any file could hold
 * them: single numbers (checked against a reference), cpu.stat, io.stat, blkio.throttle.* (both kinds,
 * merged), *.pressure, cgroup.controllers (against a reference) and /proc/diskstats; then the I/O coverage
 * verdict (src/sample/io-coverage.c) on diskstats and a blkio root table read from the input, and the OOM
 * counters (memory.events, memory.oom_control), raw and written from the input's values. Each parser
 * answers with one of its documented codes and touches its output only on success. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-stat.h"
#include "fuzz.h"
#include "io-coverage.h"

#define SENTINEL UINT64_C(0x5a5a5a5a5a5a5a5a)

/* What cg_parse_u64 must answer: "max", or decimal digits (any number of leading zeros) up to UINT64_MAX,
 * with at most one trailing newline. */
static int u64_reference(const char *s, size_t n, uint64_t *ret) {
        if ((n == 3 || (n == 4 && s[3] == '\n')) && memcmp(s, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        return fuzz_decimal_reference(s, n, UINT64_MAX, ret);
}

static void fuzz_u64(const char *s, size_t n) {
        uint64_t v = SENTINEL, want = 0;
        int r = cg_parse_u64(s, n, &v), expected = u64_reference(s, n, &want);

        FUZZ_CHECK(r == expected);
        FUZZ_CHECK(r == 0 ? v == want : v == SENTINEL);
}

static void fuzz_cpu_stat(const char *s, size_t n) {
        uint64_t v = SENTINEL;
        int r = cg_parse_cpu_stat_usage_usec(s, n, &v);

        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE || r == -ENODATA);
        if (r < 0)
                FUZZ_CHECK(v == SENTINEL);
        (void) cg_usec_to_nsec(v);
}

static void fuzz_cpu_caps(const char *s, size_t n) {
        uint64_t q = SENTINEL, p = SENTINEL;
        int r = cg_parse_cfs_quota(s, n, &q);

        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        FUZZ_CHECK(r == 0 || q == SENTINEL);
        q = SENTINEL;
        r = cg_parse_cpu_max(s, n, &q, &p);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r < 0)
                FUZZ_CHECK(q == SENTINEL && p == SENTINEL);
        else {
                FUZZ_CHECK(p > 0);
                FUZZ_CHECK(cg_quota_per_sec(q, p) <= UINT64_MAX - 2 || q == UINT64_MAX);
        }
}

static void check_io(const CgIoStats *io) {
        FUZZ_CHECK(io->n <= CG_IO_DEVICES_MAX);
        for (size_t i = 0; i < io->n; i++)
                for (size_t j = i + 1; j < io->n; j++)
                        FUZZ_CHECK(io->dev[i].major != io->dev[j].major || io->dev[i].minor != io->dev[j].minor);
}

static void fuzz_io_stat(const char *s, size_t n) {
        static CgIoStats io, before;
        int r;

        memset(&io, 0x5a, sizeof(io));
        before = io;
        r = cg_parse_io_stat(s, n, &io);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0)
                check_io(&io);
        else
                FUZZ_CHECK(memcmp(&io, &before, sizeof(io)) == 0);
}

/* As the sampler reads v1 blkio: bytes, then ops into the same table. The input holds the first file up
 * to its first empty line, the second after it (or both are the whole input). */
static void fuzz_blkio(const char *s, size_t n) {
        const char *blank = n > 1 ? memmem(s, n, "\n\n", 2) : NULL;
        size_t first_n = blank ? (size_t) (blank - s) + 1 : n, second = blank ? first_n + 1 : 0;
        static CgIoStats io, before;

        io.n = 0;
        for (int ops = 0; ops <= 1; ops++) {
                const char *part = ops ? s + second : s;
                size_t part_n = ops ? n - second : first_n;
                int r;

                before = io;
                r = cg_parse_blkio(part, part_n, ops, &io);
                FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
                if (r < 0)
                        FUZZ_CHECK(memcmp(&io, &before, sizeof(io)) == 0);
                check_io(&io);
        }
}

static void fuzz_pressure(const char *s, size_t n) {
        CgPressure p, before;
        int r;

        memset(&p, 0x5a, sizeof(p));
        memcpy(&before, &p, sizeof(p));
        r = cg_parse_pressure(s, n, &p);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0)
                FUZZ_CHECK(p.have_some);
        else
                FUZZ_CHECK(memcmp(&p, &before, sizeof(p)) == 0);
}

/* What cg_parse_controllers_has must answer: one line of space-separated words (a final newline allowed),
 * 1 when `name` is one of them. */
static int controllers_reference(const char *s, size_t n, const char *name) {
        const char *nl = memchr(s, '\n', n);
        size_t len = strlen(name);

        if (memchr(s, 0, n) || (nl && (size_t) (nl - s) != n - 1))
                return -EINVAL;
        if (nl)
                n--;
        for (size_t i = 0; i < n;) {
                size_t j = i;

                while (j < n && s[j] != ' ')
                        j++;
                if (j - i == len && len > 0 && memcmp(s + i, name, len) == 0)
                        return 1;
                i = j + 1;
        }
        return 0;
}

static void fuzz_controllers(const char *s, size_t n) {
        static const char *const names[] = { "cpu", "io", "memory", "pids", "cpuset", "" };
        char first[17] = "";
        size_t k = 0;

        /* Also the input's own first word, so that "found" is reached for any spelling. */
        while (k < n && k < sizeof(first) - 1 && s[k] != ' ' && s[k] != '\n' && s[k] != 0) {
                first[k] = s[k];
                k++;
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                FUZZ_CHECK(cg_parse_controllers_has(s, n, names[i]) == controllers_reference(s, n, names[i]));
        FUZZ_CHECK(cg_parse_controllers_has(s, n, first) == controllers_reference(s, n, first));
        FUZZ_CHECK(cg_parse_controllers_has(s, n, NULL) == -EINVAL);
}

static void check_disks(const CgDiskStats *d) {
        FUZZ_CHECK(d->n <= CG_DISKS_MAX);
        FUZZ_CHECK(d->n_left_out == 0 || d->n == CG_DISKS_MAX);
        for (size_t i = 0; i < d->n; i++) {
                size_t len = strnlen(d->disk[i].name, CG_DISK_NAME_MAX);

                FUZZ_CHECK(len > 0 && len < CG_DISK_NAME_MAX);
                for (size_t k = 0; k < len; k++)
                        FUZZ_CHECK(d->disk[i].name[k] > ' ' && d->disk[i].name[k] < 0x7f);
                FUZZ_CHECK(d->disk[i].ios > 0);
                FUZZ_CHECK(!d->disk[i].partition);
        }
}

/* The verdict for every source, with partitions marked as sysfs might (odd minors): bounded by the disks
 * it was given, one per whole disk unless left out, and "counted" exactly as the rule for each source says. */
static void check_coverage(const CgDiskStats *disks, const CgIoStats *root) {
        static IoCoverage c;
        size_t whole = 0;

        for (size_t i = 0; i < disks->n; i++)
                whole += !disks->disk[i].partition;
        for (IoCountedBy by = 0; by < _IO_COUNTED_BY_MAX; by++) {
                json_t *j;
                size_t k = 0;

                memset(&c, 0x5a, sizeof(c));
                io_coverage_decide(by, disks, root, &c);
                FUZZ_CHECK(c.by == by && c.n <= whole && c.n <= CG_DISKS_MAX);
                FUZZ_CHECK(c.n_left_out >= disks->n_left_out);
                FUZZ_CHECK(c.n + (c.n_left_out - disks->n_left_out) == whole);
                for (size_t i = 0; i < c.n; i++) {
                        const IoDeviceCoverage *v = &c.dev[i];
                        bool listed = false;

                        /* Left-out disks may be skipped, never reordered. */
                        while (k < disks->n && (disks->disk[k].partition || disks->disk[k].major != v->major ||
                                                disks->disk[k].minor != v->minor))
                                k++;
                        FUZZ_CHECK(k < disks->n);
                        FUZZ_CHECK(memcmp(v->name, disks->disk[k].name, CG_DISK_NAME_MAX) == 0);
                        k++;
                        for (size_t r = 0; r < root->n; r++)
                                listed = listed || (root->dev[r].major == v->major && root->dev[r].minor == v->minor);
                        FUZZ_CHECK(v->counted == (by == IO_COUNTED_BY_IO_STAT ||
                                                  (by == IO_COUNTED_BY_BLKIO_THROTTLE && listed)));
                        FUZZ_CHECK(io_coverage_change(&c, v) == IO_COVERAGE_SAME);
                        (void) io_coverage_change(NULL, v);
                }
                FUZZ_CHECK(by == IO_COUNTED_BY_BLKIO_THROTTLE || c.n_left_out == disks->n_left_out);
                j = io_coverage_to_json(&c);
                FUZZ_CHECK(j);
                FUZZ_CHECK(json_integer_value(json_object_get(j, "left_out")) == (json_int_t) c.n_left_out);
                FUZZ_CHECK(json_array_size(json_object_get(j, "counted")) +
                           json_array_size(json_object_get(j, "not_counted")) == c.n);
                json_decref(j);
        }
}

/* /proc/diskstats, then (after the first empty line, if any) the blkio root's throttle statistics. */
static void fuzz_diskstats(const char *s, size_t n) {
        const char *blank = n > 1 ? memmem(s, n, "\n\n", 2) : NULL;
        size_t first_n = blank ? (size_t) (blank - s) + 1 : n, second = blank ? first_n + 1 : n;
        static CgDiskStats d, before;
        static CgIoStats root;
        int r;

        memset(&d, 0x5a, sizeof(d));
        before = d;
        r = cg_parse_diskstats(s, first_n, &d);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r < 0) {
                FUZZ_CHECK(memcmp(&d, &before, sizeof(d)) == 0);
                return;
        }
        check_disks(&d);
        root.n = 0;
        if (cg_parse_blkio(s + second, n - second, false, &root) < 0)
                root.n = 0;
        for (size_t i = 0; i < d.n; i++)
                d.disk[i].partition = d.disk[i].minor % 2 == 1;
        check_coverage(&d, &root);
}

/* memory.events and memory.oom_control: the raw input, then files written the kernel's way from values read
 * off the input (the key order of Linux 5.17+, oom_group_kill or oom_kill left out as older kernels do), which
 * must read back exactly. */
static void fuzz_oom_counters(const char *s, size_t n) {
        static const char *const keys[] = { "low", "high", "max", "oom", "oom_kill", "oom_group_kill" };
        FuzzInput in = { (const uint8_t *) s, n };
        CgMemoryEvents e, before;
        CgOomControl c, c_before;
        uint64_t v[6];
        char file[512];
        size_t len = 0;
        uint8_t flags;
        int r;

        memset(&e, 0x5a, sizeof(e));
        before = e;
        r = cg_parse_memory_events(s, n, &e);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE || r == -ENODATA);
        if (r == 0)
                FUZZ_CHECK(e.has_oom_group_kill || e.oom_group_kill == 0);
        else
                FUZZ_CHECK(memcmp(&e, &before, sizeof(e)) == 0);
        memset(&c, 0x5a, sizeof(c));
        c_before = c;
        r = cg_parse_oom_control(s, n, &c);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0)
                FUZZ_CHECK(c.has_oom_kill || c.oom_kill == 0);
        else
                FUZZ_CHECK(memcmp(&c, &c_before, sizeof(c)) == 0);

        flags = fuzz_u8(&in);
        for (size_t i = 0; i < 6; i++) {
                v[i] = fuzz_value(&in);
                if (i == 5 && (flags & 1))
                        break; /* before 5.17 */
                len += (size_t) snprintf(file + len, sizeof(file) - len, "%s %" PRIu64 "\n", keys[i], v[i]);
        }
        if (flags & 2)
                len += (size_t) snprintf(file + len, sizeof(file) - len, "later_key %" PRIu64 "\n", v[0]);
        FUZZ_CHECK(cg_parse_memory_events(file, len, &e) == 0);
        FUZZ_CHECK(e.low == v[0] && e.high == v[1] && e.max == v[2] && e.oom == v[3] && e.oom_kill == v[4]);
        FUZZ_CHECK(e.has_oom_group_kill == !(flags & 1) && (!e.has_oom_group_kill || e.oom_group_kill == v[5]));

        len = (size_t) snprintf(file, sizeof(file), "oom_kill_disable %d\nunder_oom %d\n", flags >> 2 & 1, flags >> 3 & 1);
        if (!(flags & 16)) /* 4.13+ */
                len += (size_t) snprintf(file + len, sizeof(file) - len, "oom_kill %" PRIu64 "\n", v[4]);
        FUZZ_CHECK(cg_parse_oom_control(file, len - (flags >> 5 & 1), &c) == 0);
        FUZZ_CHECK(c.oom_kill_disable == (flags >> 2 & 1) && c.under_oom == (flags >> 3 & 1));
        FUZZ_CHECK(c.has_oom_kill == !(flags & 16) && (!c.has_oom_kill || c.oom_kill == v[4]));
}

static void fuzz_proc_cgroup(const char *s, size_t n) {
        static const char *const controllers[] = { NULL, "memory", "cpu", "pids" };
        char buf[256];

        for (size_t k = 0; k < sizeof(controllers) / sizeof(controllers[0]); k++) {
                int r;

                memset(buf, 0x5a, sizeof(buf));
                r = cg_parse_proc_cgroup(s, n, controllers[k], buf, sizeof(buf));
                FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENODATA || r == -ENAMETOOLONG);
                if (r == 0)
                        FUZZ_CHECK(buf[0] == '/' && memchr(buf, '\0', sizeof(buf)));
                else
                        FUZZ_CHECK((unsigned char) buf[0] == 0x5a);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *s = (const char *) data;

        fuzz_u64(s, size);
        fuzz_cpu_stat(s, size);
        fuzz_cpu_caps(s, size);
        fuzz_io_stat(s, size);
        fuzz_blkio(s, size);
        fuzz_pressure(s, size);
        fuzz_controllers(s, size);
        fuzz_diskstats(s, size);
        fuzz_oom_counters(s, size);
        fuzz_proc_cgroup(s, size);
        return 0;
}
