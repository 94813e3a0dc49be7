/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-stat.h"
#include "fileio.h"
#include "io-coverage.h"
#include "macro.h"
#include "tests.h"

/* Fixtures in tests/data/cgroup/ (README.md there): proc-diskstats-hybrid and
 * v1-root-blkio.throttle.io_service_bytes_recursive were taken at the same moment by
 * make-v1-blkio-fixtures.py: loop device 7:290 had a throttle rule, 7:291 none, both read 4 MiB; vda
 * (254:0) is the machine's disk, never given a rule; loop0..7 and zram0 had done no I/O. */
static char *fixture(const char *name, size_t *ret_size) {
        return test_fixture("cgroup", name, ret_size);
}

#define S(lit) (lit), (sizeof(lit) - 1)

/* 14 fields (Linux 2.6 to 4.17), 18 (4.18: discards), 20 (5.5: flushes). */
#define LINE14(maj, min, name, reads, writes) "   " #maj "   " #min " " name " " #reads " 0 0 0 " #writes " 0 0 0 0 0 0\n"

static CgDiskStats disks;
static CgIoStats root;
static IoCoverage cov;

static const IoDeviceCoverage *find(const IoCoverage *c, unsigned major, unsigned minor) {
        for (size_t i = 0; i < c->n; i++)
                if (c->dev[i].major == major && c->dev[i].minor == minor)
                        return &c->dev[i];
        return NULL;
}

static void load_hybrid(void) {
        _cleanup_(freep) char *stats = NULL, *blkio = NULL;
        size_t ns, nb;

        stats = fixture("proc-diskstats-hybrid", &ns);
        blkio = fixture("v1-root-blkio.throttle.io_service_bytes_recursive", &nb);
        ASSERT_EQ_INT(cg_parse_diskstats(stats, ns, &disks), 0);
        root.n = 0;
        ASSERT_EQ_INT(cg_parse_blkio(blkio, nb, /* ops= */ false, &root), 0);
}

TEST(test_diskstats_real) {
        load_hybrid();
        /* Only the devices that have done I/O, in file order. */
        ASSERT_EQ_INT(disks.n, 3);
        ASSERT_EQ_INT(disks.n_left_out, 0);
        ASSERT_EQ_INT(disks.disk[0].major, 254);
        ASSERT_EQ_INT(disks.disk[0].minor, 0);
        ASSERT_STREQ(disks.disk[0].name, "vda");
        ASSERT_EQ_U64(disks.disk[0].ios, 36568 + 67873);
        ASSERT_STREQ(disks.disk[1].name, "loop290");
        ASSERT_EQ_U64(disks.disk[1].ios, 94 + 64);
        ASSERT_STREQ(disks.disk[2].name, "loop291");
        ASSERT_EQ_INT(disks.disk[2].minor, 291);
        ASSERT_EQ_U64(disks.disk[2].ios, 64);
        ASSERT_TRUE(!disks.disk[0].partition);
}

TEST(test_diskstats_kernel_generations) {
        ASSERT_EQ_INT(cg_parse_diskstats(S(LINE14(8, 0, "sda", 5, 6) LINE14(8, 1, "sda1", 0, 0)), &disks), 0);
        ASSERT_EQ_INT(disks.n, 1);
        ASSERT_EQ_U64(disks.disk[0].ios, 11);
        /* 18 and 20 fields, no final newline. */
        ASSERT_EQ_INT(cg_parse_diskstats(S("8 0 sda 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
                                           "8 16 sdb 0 0 0 0 2 0 0 0 0 0 0 0 0 0 0 0 0"), &disks), 0);
        ASSERT_EQ_INT(disks.n, 2);
        ASSERT_EQ_U64(disks.disk[1].ios, 2);
        /* Empty: no devices. */
        ASSERT_EQ_INT(cg_parse_diskstats(S(""), &disks), 0);
        ASSERT_EQ_INT(disks.n, 0);
        ASSERT_EQ_INT(cg_parse_diskstats(NULL, 0, &disks), 0);
        /* Sums saturate. */
        ASSERT_EQ_INT(cg_parse_diskstats(S("8 0 sda 18446744073709551615 0 0 0 1 0 0 0 0 0 0\n"), &disks), 0);
        ASSERT_EQ_U64(disks.disk[0].ios, UINT64_MAX);
}

TEST(test_diskstats_garbage) {
        static const char *const bad[] = {
                "8 0 sda 1 0 0 0 0 0 0 0 0 0\n",         /* 10 counters */
                "8 0\n",                                   /* no name */
                "\n",                                      /* blank line */
                "8 0 sda 1 0 0 0 0 0 0 0 0 0 x\n",       /* not a number */
                "8 0 sda 1 0 0 0 0 0 0 0 0 0 -1\n",      /* sign */
                "8 -1 sda 1 0 0 0 0 0 0 0 0 0 0\n",
                "4294967296 0 sda 1 0 0 0 0 0 0 0 0 0 0\n",  /* major beyond unsigned */
                "8 0 sda 18446744073709551616 0 0 0 0 0 0 0 0 0 0\n",
                "8 0 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 1 0 0 0 0 0 0 0 0 0 0\n", /* 32 bytes: over DISK_NAME_LEN */
                "8 0 sda 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n", /* 33 counters */
                "8 0 sda\t1 0 0 0 0 0 0 0 0 0 0\n",     /* tab */
                /* Found by fuzz-cgroup-stat: a name that is not UTF-8 was kept, then silently missing from
                 * the JSON of `status`. Names are printable ASCII; a tab inside one is no better. */
                "8 0 l\xffop0 1 0 0 0 0 0 0 0 0 0 0\n",
                "8 0 s\tda 1 0 0 0 0 0 0 0 0 0 0\n",
                "8 0 sd\x7f 1 0 0 0 0 0 0 0 0 0 0\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char text[512];

                /* Alone: no devices, one line skipped. */
                disks.n = 7;
                ASSERT_EQ_INT(cg_parse_diskstats(bad[i], strlen(bad[i]), &disks), 0);
                ASSERT_EQ_INT(disks.n, 0);
                ASSERT_EQ_INT(disks.n_skipped, 1);
                /* Between good lines: they still count, only the bad one is skipped. */
                snprintf(text, sizeof(text), "%s%s%s", LINE14(8, 0, "sda", 1, 1), bad[i], LINE14(8, 16, "sdb", 2, 0));
                ASSERT_EQ_INT(cg_parse_diskstats(text, strlen(text), &disks), 0);
                ASSERT_EQ_INT(disks.n, 2);
                ASSERT_STREQ(disks.disk[0].name, "sda");
                ASSERT_STREQ(disks.disk[1].name, "sdb");
                ASSERT_EQ_U64(disks.disk[1].ios, 2);
                ASSERT_EQ_INT(disks.n_skipped, 1);
                ASSERT_EQ_INT(disks.n_left_out, 0);
        }
        /* A good file after a bad one: the count is the file's, not a running total. */
        ASSERT_EQ_INT(cg_parse_diskstats(S(LINE14(8, 0, "sda", 1, 1)), &disks), 0);
        ASSERT_EQ_INT(disks.n_skipped, 0);
        /* NUL bytes are not a line's fault: the whole file is refused, and the result is left as it was. */
        disks.n = 7;
        disks.n_left_out = 3;
        disks.n_skipped = 2;
        ASSERT_EQ_INT(cg_parse_diskstats(S("8 0 sda 1 0 0 0 0 0 0 0 0 0 0\0"), &disks), -EINVAL);
        ASSERT_EQ_INT(disks.n, 7);
        ASSERT_EQ_INT(disks.n_left_out, 3);
        ASSERT_EQ_INT(disks.n_skipped, 2);
        /* 31 bytes is the longest name the kernel writes; 32 counters the most taken. */
        ASSERT_EQ_INT(cg_parse_diskstats(S("8 0 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 1 0 0 0 0 0 0 0 0 0 0\n"
                                           "8 1 y 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n"), &disks), 0);
        ASSERT_STREQ(disks.disk[0].name, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        ASSERT_STREQ(disks.disk[1].name, "y");
        ASSERT_EQ_INT(disks.n_skipped, 0);
}

/* Skipped lines and devices beyond the table are counted apart, both into the verdicts. */
TEST(test_diskstats_skipped_and_left_out) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        ASSERT_TRUE(f);
        for (unsigned i = 0; i < CG_DISKS_MAX + 2; i++)
                fprintf(f, "8 %u sd%u 1 0 0 0 0 0 0 0 0 0 0\n%s", i, i,
                        i % 100 == 0 ? "8 0 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 1 0 0 0 0 0 0 0 0 0 0\n" : "");
        ASSERT_EQ_INT(fclose(f), 0);
        ASSERT_EQ_INT(cg_parse_diskstats(text, size, &disks), 0);
        ASSERT_EQ_INT(disks.n, CG_DISKS_MAX);
        ASSERT_EQ_INT(disks.n_left_out, 2);
        ASSERT_EQ_INT(disks.n_skipped, 3);
        io_coverage_decide(IO_COUNTED_BY_IO_STAT, &disks, NULL, &cov);
        ASSERT_EQ_INT(cov.n_left_out, 2);
        ASSERT_EQ_INT(cov.n_skipped, 3);
        free(text);
}

TEST(test_diskstats_bounded) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        ASSERT_TRUE(f);
        /* Devices without I/O take no room; beyond CG_DISKS_MAX the rest is counted as left out. */
        for (unsigned i = 0; i < 1000; i++)
                fprintf(f, "7 %u loop%u 0 0 0 0 0 0 0 0 0 0 0\n", i, i);
        for (unsigned i = 0; i < CG_DISKS_MAX + 5; i++)
                fprintf(f, "8 %u sd%u 1 0 0 0 0 0 0 0 0 0 0\n", i, i);
        ASSERT_EQ_INT(fclose(f), 0);
        ASSERT_EQ_INT(cg_parse_diskstats(text, size, &disks), 0);
        ASSERT_EQ_INT(disks.n, CG_DISKS_MAX);
        ASSERT_EQ_INT(disks.n_left_out, 5);
        ASSERT_EQ_INT(disks.disk[CG_DISKS_MAX - 1].minor, CG_DISKS_MAX - 1);
        io_coverage_decide(IO_COUNTED_BY_IO_STAT, &disks, NULL, &cov);
        ASSERT_EQ_INT(cov.n, CG_DISKS_MAX);
        ASSERT_EQ_INT(cov.n_left_out, 5);
        free(text);
}

/* Partition flags come from the previous look for devices it lists under the same number and name. */
TEST(test_partitions_carry) {
        static CgDiskStats known, now;
        bool unknown[CG_DISKS_MAX];

        /* First look: nothing known. */
        ASSERT_EQ_INT(cg_parse_diskstats(S(LINE14(8, 0, "sda", 1, 0) LINE14(8, 1, "sda1", 1, 0)), &now), 0);
        ASSERT_EQ_INT(io_partitions_carry(NULL, &now, unknown), 2);
        ASSERT_TRUE(unknown[0] && unknown[1]);
        ASSERT_EQ_INT(io_partitions_carry(&known, &now, unknown), 2); /* an empty cache is the same */
        now.disk[1].partition = true;                                 /* what the caller looked up */
        known = now;

        /* Second look: sda and sda1 carried; a new device and a number reused under another name are not. */
        ASSERT_EQ_INT(cg_parse_diskstats(S(LINE14(7, 0, "loop0", 1, 0) LINE14(8, 0, "sda", 2, 0)
                                           LINE14(8, 1, "sdb", 1, 0) LINE14(8, 2, "sda2", 1, 0)), &now), 0);
        ASSERT_EQ_INT(io_partitions_carry(&known, &now, unknown), 3);
        ASSERT_TRUE(unknown[0]);
        ASSERT_TRUE(!unknown[1]);
        ASSERT_TRUE(!now.disk[1].partition);
        ASSERT_TRUE(unknown[2]);
        ASSERT_TRUE(!now.disk[2].partition); /* not sda1's flag */
        ASSERT_TRUE(unknown[3]);

        /* sda1 carried its flag; the order of the lists does not matter. */
        ASSERT_EQ_INT(cg_parse_diskstats(S(LINE14(8, 1, "sda1", 1, 0) LINE14(8, 0, "sda", 1, 0)), &now), 0);
        ASSERT_EQ_INT(io_partitions_carry(&known, &now, unknown), 0);
        ASSERT_TRUE(now.disk[0].partition);
        ASSERT_TRUE(!now.disk[1].partition);

        /* A full table: every device found again, nothing left to look up. */
        known.n = CG_DISKS_MAX;
        for (unsigned i = 0; i < CG_DISKS_MAX; i++) {
                known.disk[i] = (CgDisk) { .major = 259, .minor = i, .ios = 1, .partition = i % 2 };
                snprintf(known.disk[i].name, sizeof(known.disk[i].name), "nvme0n%up%u", i / 8, i);
        }
        now = known;
        for (unsigned i = 0; i < CG_DISKS_MAX; i++)
                now.disk[i].partition = false;
        ASSERT_EQ_INT(io_partitions_carry(&known, &now, unknown), 0);
        for (unsigned i = 0; i < CG_DISKS_MAX; i++)
                ASSERT_TRUE(now.disk[i].partition == (i % 2 == 1));
}

TEST(test_controllers_has) {
        ASSERT_EQ_INT(cg_parse_controllers_has(S("cpuset cpu io memory hugetlb pids rdma misc\n"), "io"), 1);
        ASSERT_EQ_INT(cg_parse_controllers_has(S("cpuset cpu io"), "io"), 1);
        /* This machine's cgroup2 mount (hybrid): no io. */
        ASSERT_EQ_INT(cg_parse_controllers_has(S("hugetlb\n"), "io"), 0);
        ASSERT_EQ_INT(cg_parse_controllers_has(S("ion iox\n"), "io"), 0);
        ASSERT_EQ_INT(cg_parse_controllers_has(S(""), "io"), 0);
        ASSERT_EQ_INT(cg_parse_controllers_has(S("\n"), "io"), 0);
        ASSERT_EQ_INT(cg_parse_controllers_has(S("cpu\nio\n"), "io"), -EINVAL);
        ASSERT_EQ_INT(cg_parse_controllers_has(S("cpu io\0"), "io"), -EINVAL);
}

/* The point of it all: on this machine (v1 blkio, kernel 6.18) the loop device with a rule is counted,
 * the one without and the machine's disk are not, though diskstats shows I/O on all three. */
TEST(test_decide_v1_real) {
        const IoDeviceCoverage *d;

        load_hybrid();
        io_coverage_decide(IO_COUNTED_BY_BLKIO_THROTTLE, &disks, &root, &cov);
        ASSERT_EQ_INT(cov.n, 3);
        ASSERT_EQ_INT(cov.n_left_out, 0);
        d = find(&cov, 7, 290);
        ASSERT_TRUE(d && d->counted);
        ASSERT_STREQ(d->name, "loop290");
        d = find(&cov, 7, 291);
        ASSERT_TRUE(d && !d->counted);
        d = find(&cov, 254, 0);
        ASSERT_TRUE(d && !d->counted);
        ASSERT_STREQ(d->name, "vda");
        /* No verdict on devices that have done no I/O. */
        ASSERT_TRUE(!find(&cov, 7, 0));
        ASSERT_TRUE(!find(&cov, 253, 0));
}

TEST(test_decide_v1_root_lists_nothing) {
        /* A fresh machine: every blkio file reads "Total 0". Nothing is counted. */
        load_hybrid();
        root.n = 0;
        ASSERT_EQ_INT(cg_parse_blkio(S("Total 0\n"), false, &root), 0);
        io_coverage_decide(IO_COUNTED_BY_BLKIO_THROTTLE, &disks, &root, &cov);
        ASSERT_EQ_INT(cov.n, 3);
        for (size_t i = 0; i < cov.n; i++)
                ASSERT_TRUE(!cov.dev[i].counted);
}

TEST(test_decide_partitions_skipped) {
        ASSERT_EQ_INT(cg_parse_diskstats(S(LINE14(8, 0, "sda", 5, 6) LINE14(8, 1, "sda1", 5, 6)), &disks), 0);
        disks.disk[1].partition = true; /* the sampler asks sysfs */
        root.n = 0;
        ASSERT_EQ_INT(cg_parse_blkio(S("8:0 Read 0\n8:0 Write 0\nTotal 0\n"), false, &root), 0);
        io_coverage_decide(IO_COUNTED_BY_BLKIO_THROTTLE, &disks, &root, &cov);
        ASSERT_EQ_INT(cov.n, 1);
        ASSERT_TRUE(cov.dev[0].counted);
        ASSERT_STREQ(cov.dev[0].name, "sda");
}

TEST(test_decide_v1_root_table_full) {
        char line[64];
        size_t n = 0;
        static char text[CG_IO_DEVICES_MAX * 40];

        /* The root lists more devices than its table holds: a device missing from it is left out, not
         * called "not counted". */
        for (unsigned i = 0; i < CG_IO_DEVICES_MAX + 1; i++) {
                snprintf(line, sizeof(line), "8:%u Read 1\n", i);
                memcpy(text + n, line, strlen(line));
                n += strlen(line);
        }
        memcpy(text + n, "Total 0\n", 8);
        n += 8;
        root.n = 0;
        ASSERT_EQ_INT(cg_parse_blkio(text, n, false, &root), 0);
        ASSERT_EQ_INT(root.n, CG_IO_DEVICES_MAX);
        ASSERT_EQ_INT(cg_parse_diskstats(S(LINE14(8, 0, "sda", 1, 0) LINE14(8, 64, "sde", 1, 0)), &disks), 0);
        io_coverage_decide(IO_COUNTED_BY_BLKIO_THROTTLE, &disks, &root, &cov);
        ASSERT_EQ_INT(cov.n, 1);
        ASSERT_TRUE(cov.dev[0].counted);
        ASSERT_EQ_INT(cov.n_left_out, 1);
}

TEST(test_decide_v2_and_none) {
        load_hybrid();
        /* io.stat counts every device, rule or not: nothing is "not counted". */
        io_coverage_decide(IO_COUNTED_BY_IO_STAT, &disks, NULL, &cov);
        ASSERT_EQ_INT(cov.n, 3);
        for (size_t i = 0; i < cov.n; i++)
                ASSERT_TRUE(cov.dev[i].counted);
        ASSERT_TRUE(io_coverage_reason(IO_COUNTED_BY_IO_STAT) == NULL);
        io_coverage_decide(IO_COUNTED_BY_NONE, &disks, NULL, &cov);
        ASSERT_EQ_INT(cov.n, 3);
        for (size_t i = 0; i < cov.n; i++)
                ASSERT_TRUE(!cov.dev[i].counted);
        ASSERT_TRUE(io_coverage_reason(IO_COUNTED_BY_NONE) != NULL);
        io_coverage_decide(IO_COUNTED_BY_IO_STAT, NULL, NULL, &cov);
        ASSERT_EQ_INT(cov.n, 0);
}

TEST(test_change_once_per_transition) {
        IoCoverage old;
        IoDeviceCoverage d;

        load_hybrid();
        io_coverage_decide(IO_COUNTED_BY_BLKIO_THROTTLE, &disks, &root, &old);
        /* The first look: the devices not counted are news, the counted one is the normal case. */
        ASSERT_EQ_INT(io_coverage_change(NULL, find(&old, 7, 291)), IO_COVERAGE_NOT_COUNTED);
        ASSERT_EQ_INT(io_coverage_change(NULL, find(&old, 7, 290)), IO_COVERAGE_SAME);
        /* The same verdicts again: nothing to say. */
        io_coverage_decide(IO_COUNTED_BY_BLKIO_THROTTLE, &disks, &root, &cov);
        for (size_t i = 0; i < cov.n; i++)
                ASSERT_EQ_INT(io_coverage_change(&old, &cov.dev[i]), IO_COVERAGE_SAME);
        /* 7:291 gets a rule: counted now, once. */
        d = *find(&old, 7, 291);
        d.counted = true;
        ASSERT_EQ_INT(io_coverage_change(&old, &d), IO_COVERAGE_COUNTED_NOW);
        /* A counted device no longer counted (a new device under the old number). */
        d = *find(&old, 7, 290);
        d.counted = false;
        ASSERT_EQ_INT(io_coverage_change(&old, &d), IO_COVERAGE_NOT_COUNTED);
        /* A device new to the list. */
        d = (IoDeviceCoverage) { .major = 8, .minor = 0, .counted = false };
        ASSERT_EQ_INT(io_coverage_change(&old, &d), IO_COVERAGE_NOT_COUNTED);
}

/* The verdicts on the hybrid fixtures under `by`, as status shows them. */
static char *coverage_json(IoCountedBy by) {
        json_t *j;
        char *text;

        load_hybrid();
        io_coverage_decide(by, &disks, by == IO_COUNTED_BY_BLKIO_THROTTLE ? &root : NULL, &cov);
        j = io_coverage_to_json(&cov);
        ASSERT_TRUE(j);
        text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        ASSERT_TRUE(text);
        return text;
}

TEST(test_json) {
        _cleanup_(freep) char *v1 = coverage_json(IO_COUNTED_BY_BLKIO_THROTTLE);
        _cleanup_(freep) char *v2 = coverage_json(IO_COUNTED_BY_IO_STAT);
        _cleanup_(freep) char *none = coverage_json(IO_COUNTED_BY_NONE);

        ASSERT_CONTAINS(v1, "\"counted_by\":\"blkio.throttle.io_service_bytes_recursive\"");
        ASSERT_CONTAINS(v1, "\"counted\":[{\"device\":\"7:290\",\"name\":\"loop290\"}]");
        ASSERT_CONTAINS(v1, "\"not_counted\":[{\"device\":\"254:0\",\"name\":\"vda\",\"reason\":\"the v1 blkio");
        ASSERT_CONTAINS(v1, "{\"device\":\"7:291\",\"name\":\"loop291\",\"reason\":");
        ASSERT_CONTAINS(v1, "\"left_out\":0");
        ASSERT_CONTAINS(v1, "\"skipped\":0");
        ASSERT_CONTAINS(v2, "\"counted_by\":\"io.stat\"");
        ASSERT_CONTAINS(v2, "\"not_counted\":[]");
        ASSERT_CONTAINS(none, "\"counted_by\":null");
        ASSERT_CONTAINS(none, "\"reason\":\"neither a v1 blkio hierarchy");
}

int main(void) {
        RUN(test_diskstats_real);
        RUN(test_diskstats_kernel_generations);
        RUN(test_diskstats_garbage);
        RUN(test_diskstats_bounded);
        RUN(test_diskstats_skipped_and_left_out);
        RUN(test_partitions_carry);
        RUN(test_controllers_has);
        RUN(test_decide_v1_real);
        RUN(test_decide_v1_root_lists_nothing);
        RUN(test_decide_partitions_skipped);
        RUN(test_decide_v1_root_table_full);
        RUN(test_decide_v2_and_none);
        RUN(test_change_once_per_transition);
        RUN(test_json);
        return 0;
}
