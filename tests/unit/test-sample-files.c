/* SPDX-License-Identifier: MIT */
/* Which files a slice is sampled from on each layout (v2, hybrid, v1, a controller missing, a v2 file that
 * appears late) and how their bytes become SampleValues (v1 ns and v2 µs, the op-counts rule, pressure
 * indexing, an unparsable file). The fixtures are real files from tests/data/cgroup. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-stat.h"
#include "macro.h"
#include "sample-files.h"
#include "tests.h"

#define F(f) SAMPLE_FILE_BIT(SAMPLE_FILE_##f)
#define ALL_V2 (F(CPU_V2) | F(MEMORY_V2) | F(PIDS_V2) | F(IO_V2) | F(PRESSURE_CPU) | F(PRESSURE_MEMORY) | \
                F(PRESSURE_IO))
#define ALL_V1 (F(CPU_V1) | F(MEMORY_V1) | F(PIDS_V1) | F(IO_V1_BYTES) | F(IO_V1_OPS))

static void layout_load(const char *mountinfo, CgroupLayout *ret) {
        size_t size;
        char *data = test_fixture("cgroup", mountinfo, &size);

        ASSERT_EQ_INT(cgroup_layout_from_mountinfo(data, ret), 0);
        free(data);
}

/* Opening as the sampler does, where the files in `exist` open and the others fail: which end up open,
 * which were tried, and which were closed again because a v2 file replaced them. */
static SampleFileSet open_files(const CgroupLayout *l, SampleFileSet open, SampleFileSet exist,
                                SampleFileSet *ret_tried, SampleFileSet *ret_closed) {
        SampleFileSet tried = 0, closed = 0;

        for (SampleFile i = sample_files_next_to_open(l, open, 0); i < _SAMPLE_FILE_MAX;
             i = sample_files_next_to_open(l, open, i + 1)) {
                ASSERT_TRUE(!(tried & SAMPLE_FILE_BIT(i)));
                tried |= SAMPLE_FILE_BIT(i);
                if (!(exist & SAMPLE_FILE_BIT(i)))
                        continue;
                open |= SAMPLE_FILE_BIT(i);
                closed |= open & sample_file_superseded_by(i);
                open &= ~sample_file_superseded_by(i);
        }
        if (ret_tried)
                *ret_tried = tried;
        if (ret_closed)
                *ret_closed = closed;
        return open;
}

static void assert_path(const CgroupLayout *l, SampleFile f, const char *cgroup, const char *expected) {
        char path[4096];

        ASSERT_EQ_INT(sample_file_path(l, f, cgroup, path, sizeof(path)), 0);
        ASSERT_STREQ(path, expected);
}

/* A slice's open files, each as "@fixture" (a file of tests/data/cgroup) or as its literal text; NULL: not
 * open. */
typedef const char *Files[_SAMPLE_FILE_MAX];

/* Fills v from the files, read as the sampler reads them: in table order, each only when sample_fill_wants()
 * it. Returns the files read. The caller frees v->io. */
static SampleFileSet fill(const Files files, SampleValues *v) {
        SampleFileSet read = 0;
        SampleFill fill;

        memset(v, 0, sizeof(*v));
        sample_fill_init(&fill, v);
        for (SampleFile i = 0; i < _SAMPLE_FILE_MAX; i++) {
                char *data = NULL;
                size_t size;

                if (!files[i] || !sample_fill_wants(&fill, i))
                        continue;
                if (files[i][0] == '@')
                        data = test_fixture("cgroup", files[i] + 1, &size);
                else {
                        data = strdup(files[i]);
                        size = strlen(files[i]);
                }
                ASSERT_TRUE(data != NULL);
                read |= SAMPLE_FILE_BIT(i);
                (void) sample_fill_add(&fill, i, data, size);
                free(data);
        }
        ASSERT_EQ_INT(sample_fill_finish(&fill), 0);
        return read;
}

static void assert_device(const SampleIo *d, unsigned major, unsigned minor, uint64_t read_bytes,
                          uint64_t write_bytes, uint64_t read_ios, uint64_t write_ios) {
        ASSERT_EQ_INT(d->major, major);
        ASSERT_EQ_INT(d->minor, minor);
        ASSERT_EQ_U64(d->read_bytes, read_bytes);
        ASSERT_EQ_U64(d->write_bytes, write_bytes);
        ASSERT_EQ_U64(d->read_ios, read_ios);
        ASSERT_EQ_U64(d->write_ios, write_ios);
}

#define HAVE_ALL \
        (SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS | SAMPLE_HAVE_IO | SAMPLE_HAVE_PRESSURE)
#define PRESSURE_LINE(kind, total) kind " avg10=0.00 avg60=0.00 avg300=0.00 total=" #total "\n"

/* ---------------------------------------------------------------------------------------------------- */
/* Which files */

TEST(test_table_names) {
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_CPU_V2), "cpu.stat");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_CPU_V1), "cpuacct.usage");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_MEMORY_V2), "memory.current");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_MEMORY_V1), "memory.usage_in_bytes");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_PIDS_V2), "pids.current");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_PIDS_V1), "pids.current");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_IO_V2), "io.stat");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_IO_V1_BYTES), "blkio.throttle.io_service_bytes_recursive");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_IO_V1_OPS), "blkio.throttle.io_serviced_recursive");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_PRESSURE_CPU), "cpu.pressure");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_PRESSURE_MEMORY), "memory.pressure");
        ASSERT_STREQ(sample_file_name(SAMPLE_FILE_PRESSURE_IO), "io.pressure");
        ASSERT_TRUE(sample_file_name(_SAMPLE_FILE_MAX) == NULL);
        /* every file but the op counts is read ahead in each sweep */
        for (SampleFile f = 0; f < _SAMPLE_FILE_MAX; f++)
                ASSERT_EQ_INT(sample_file_read_every_sweep(f), f != SAMPLE_FILE_IO_V1_OPS);
}

TEST(test_open_v2_only) {
        CgroupLayout l;
        SampleFileSet tried;

        layout_load("mountinfo-v2", &l);
        /* no v1 hierarchy: only the v2 files are ever tried */
        ASSERT_EQ_INT(open_files(&l, 0, ALL_V2 | ALL_V1, &tried, NULL), ALL_V2);
        ASSERT_EQ_INT(tried, ALL_V2);
        /* a file that is missing (no io controller in the parent's subtree_control) is just not open */
        ASSERT_EQ_INT(open_files(&l, 0, ALL_V2 & ~F(IO_V2), &tried, NULL), ALL_V2 & ~F(IO_V2));
        ASSERT_EQ_INT(tried, ALL_V2);
        /* what is open is not tried again */
        ASSERT_EQ_INT(open_files(&l, ALL_V2 & ~F(IO_V2), ALL_V2, &tried, NULL), ALL_V2);
        ASSERT_EQ_INT(tried, F(IO_V2));
        assert_path(&l, SAMPLE_FILE_CPU_V2, "/a.slice/a-b.slice", "/sys/fs/cgroup/a.slice/a-b.slice/cpu.stat");
        assert_path(&l, SAMPLE_FILE_PRESSURE_IO, "", "/sys/fs/cgroup/io.pressure");
        ASSERT_TRUE(sample_file_mount(&l, SAMPLE_FILE_MEMORY_V1) == NULL);
        {
                /* "/sys/fs/cgroup/a.slice/memory.current" is 38 bytes with its NUL */
                char path[38];

                ASSERT_EQ_INT(sample_file_path(&l, SAMPLE_FILE_MEMORY_V1, "", path, sizeof(path)), -ENOENT);
                ASSERT_EQ_INT(sample_file_path(&l, SAMPLE_FILE_MEMORY_V2, "/a.slice", path, sizeof(path)), 0);
                ASSERT_EQ_INT(sample_file_path(&l, SAMPLE_FILE_MEMORY_V2, "/ab.slice", path, sizeof(path)),
                              -ENAMETOOLONG);
        }
        cgroup_layout_done(&l);
}

TEST(test_open_hybrid) {
        CgroupLayout l;
        SampleFileSet tried;
        /* cgroup2 at /sys/fs/cgroup/unified with no controllers: cpu.stat and the pressure files exist
         * there, memory.current, pids.current and io.stat do not */
        SampleFileSet exist = F(CPU_V2) | F(PRESSURE_CPU) | F(PRESSURE_MEMORY) | F(PRESSURE_IO) | ALL_V1;
        SampleFileSet want = F(CPU_V2) | F(PRESSURE_CPU) | F(PRESSURE_MEMORY) | F(PRESSURE_IO) | F(MEMORY_V1) |
                             F(PIDS_V1) | F(IO_V1_BYTES) | F(IO_V1_OPS);

        layout_load("mountinfo-hybrid", &l);
        /* cpu.stat wins over cpuacct.usage, which is not even tried */
        ASSERT_EQ_INT(open_files(&l, 0, exist, &tried, NULL), want);
        ASSERT_EQ_INT(tried, (ALL_V2 | ALL_V1) & ~F(CPU_V1));
        assert_path(&l, SAMPLE_FILE_CPU_V2, "/a.slice", "/sys/fs/cgroup/unified/a.slice/cpu.stat");
        assert_path(&l, SAMPLE_FILE_PRESSURE_MEMORY, "/a.slice",
                    "/sys/fs/cgroup/unified/a.slice/memory.pressure");
        assert_path(&l, SAMPLE_FILE_MEMORY_V1, "/a.slice",
                    "/sys/fs/cgroup/memory/a.slice/memory.usage_in_bytes");
        assert_path(&l, SAMPLE_FILE_PIDS_V1, "/a.slice", "/sys/fs/cgroup/pids/a.slice/pids.current");
        assert_path(&l, SAMPLE_FILE_IO_V1_OPS, "/a.slice",
                    "/sys/fs/cgroup/blkio/a.slice/blkio.throttle.io_serviced_recursive");
        assert_path(&l, SAMPLE_FILE_CPU_V1, "", "/sys/fs/cgroup/cpuacct/cpuacct.usage");
        /* a kernel without cpu.stat in cgroup2: cpuacct.usage is the fallback */
        ASSERT_EQ_INT(open_files(&l, 0, exist & ~F(CPU_V2), &tried, NULL), (want & ~F(CPU_V2)) | F(CPU_V1));
        cgroup_layout_done(&l);
}

TEST(test_open_v1_only) {
        CgroupLayout l;
        SampleFileSet tried;

        layout_load("mountinfo-v1-comounted", &l);
        /* no cgroup2: no v2 file and no pressure file is tried */
        ASSERT_EQ_INT(open_files(&l, 0, ALL_V2 | ALL_V1, &tried, NULL), ALL_V1);
        ASSERT_EQ_INT(tried, ALL_V1);
        /* cpu and cpuacct co-mounted */
        assert_path(&l, SAMPLE_FILE_CPU_V1, "/a.slice", "/sys/fs/cgroup/cpu,cpuacct/a.slice/cpuacct.usage");
        ASSERT_TRUE(sample_file_mount(&l, SAMPLE_FILE_PRESSURE_CPU) == NULL);
        cgroup_layout_done(&l);
}

TEST(test_open_controller_missing) {
        CgroupLayout l;
        SampleFileSet tried;

        /* a v1 host without the pids hierarchy: pids.current is not looked for anywhere */
        layout_load("mountinfo-v1-comounted", &l);
        free(l.v1[CG_PIDS]);
        l.v1[CG_PIDS] = NULL;
        ASSERT_EQ_INT(open_files(&l, 0, ALL_V2 | ALL_V1, &tried, NULL), ALL_V1 & ~F(PIDS_V1));
        ASSERT_EQ_INT(tried, ALL_V1 & ~F(PIDS_V1));
        cgroup_layout_done(&l);

        /* a hybrid host without blkio: no I/O file at all (io.stat is not in the controller-less cgroup2) */
        layout_load("mountinfo-hybrid", &l);
        free(l.v1[CG_IO]);
        l.v1[CG_IO] = NULL;
        ASSERT_EQ_INT(open_files(&l, 0, F(CPU_V2) | F(PRESSURE_IO) | ALL_V1, &tried, NULL),
                      F(CPU_V2) | F(PRESSURE_IO) | F(MEMORY_V1) | F(PIDS_V1));
        ASSERT_TRUE(!(tried & (F(IO_V1_BYTES) | F(IO_V1_OPS))));
        cgroup_layout_done(&l);
}

TEST(test_open_v2_appears_late) {
        CgroupLayout l;
        SampleFileSet tried, closed, open;

        ASSERT_EQ_INT(sample_file_superseded_by(SAMPLE_FILE_CPU_V2), F(CPU_V1));
        ASSERT_EQ_INT(sample_file_superseded_by(SAMPLE_FILE_MEMORY_V2), F(MEMORY_V1));
        ASSERT_EQ_INT(sample_file_superseded_by(SAMPLE_FILE_PIDS_V2), F(PIDS_V1));
        ASSERT_EQ_INT(sample_file_superseded_by(SAMPLE_FILE_IO_V2), F(IO_V1_BYTES) | F(IO_V1_OPS));
        for (SampleFile f = 0; f < _SAMPLE_FILE_MAX; f++)
                if (ALL_V1 & SAMPLE_FILE_BIT(f) || f >= SAMPLE_FILE_PRESSURE_CPU)
                        ASSERT_EQ_INT(sample_file_superseded_by(f), 0);

        /* hybrid: blkio read while io.stat was missing; then the io controller shows up in cgroup2 */
        layout_load("mountinfo-hybrid", &l);
        open = open_files(&l, 0, F(CPU_V2) | ALL_V1, NULL, NULL);
        ASSERT_EQ_INT(open, F(CPU_V2) | F(MEMORY_V1) | F(PIDS_V1) | F(IO_V1_BYTES) | F(IO_V1_OPS));
        open = open_files(&l, open, F(CPU_V2) | F(IO_V2) | ALL_V1, &tried, &closed);
        ASSERT_EQ_INT(open, F(CPU_V2) | F(MEMORY_V1) | F(PIDS_V1) | F(IO_V2));
        ASSERT_EQ_INT(closed, F(IO_V1_BYTES) | F(IO_V1_OPS));
        /* v2 files still missing are tried on every rescan; v1 ones whose v2 file is open never again */
        ASSERT_EQ_INT(tried, F(MEMORY_V2) | F(PIDS_V2) | F(IO_V2) | F(PRESSURE_CPU) | F(PRESSURE_MEMORY) |
                                     F(PRESSURE_IO));
        cgroup_layout_done(&l);
}

/* ---------------------------------------------------------------------------------------------------- */
/* From bytes to values */

TEST(test_fill_v2) {
        static const Files files = {
                [SAMPLE_FILE_CPU_V2] = "@v2-cpu.stat",
                [SAMPLE_FILE_MEMORY_V2] = "123456789\n",
                [SAMPLE_FILE_PIDS_V2] = "17\n",
                [SAMPLE_FILE_IO_V2] = "@v2-io.stat",
                [SAMPLE_FILE_PRESSURE_CPU] = "@v2-cpu.pressure",
                [SAMPLE_FILE_PRESSURE_MEMORY] = "@v2-memory.pressure",
                [SAMPLE_FILE_PRESSURE_IO] = "@v2-io.pressure",
        };
        SampleValues v;

        ASSERT_EQ_INT(fill(files, &v), ALL_V2);
        ASSERT_EQ_INT(v.have, HAVE_ALL);
        /* usage_usec 2215764000 µs in ns, as cpuacct.usage counts */
        ASSERT_EQ_U64(v.cpu_usage_nsec, UINT64_C(2215764000000));
        ASSERT_EQ_U64(v.memory_bytes, 123456789);
        ASSERT_EQ_U64(v.pids, 17);
        ASSERT_EQ_INT(v.n_io, 2);
        assert_device(&v.io[0], 8, 16, 1459200, 314773504, 192, 353);
        assert_device(&v.io[1], 8, 0, 90430464, 299008000, 8950, 1252);
        ASSERT_EQ_INT(v.pressure_have, 0x3f);
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_CPU_SOME], 398323347);
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_CPU_FULL], 0);
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_MEMORY_SOME], 0);
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_IO_SOME], 7847525);
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_IO_FULL], 6358495);
        free(v.io);
}

TEST(test_fill_hybrid) {
        /* what test_open_hybrid opens, with the fixtures of a hybrid host */
        static const Files files = {
                [SAMPLE_FILE_CPU_V2] = "@v2-cpu.stat",
                [SAMPLE_FILE_MEMORY_V1] = "@v1-memory.usage_in_bytes",
                [SAMPLE_FILE_PIDS_V1] = "@v1-pids.current",
                [SAMPLE_FILE_IO_V1_BYTES] = "@v1-blkio.throttle.io_service_bytes",
                [SAMPLE_FILE_IO_V1_OPS] = "@v1-blkio.throttle.io_serviced",
                [SAMPLE_FILE_PRESSURE_CPU] = "@v2-cpu.pressure",
        };
        SampleValues v;

        ASSERT_EQ_INT(fill(files, &v), F(CPU_V2) | F(MEMORY_V1) | F(PIDS_V1) | F(IO_V1_BYTES) | F(IO_V1_OPS) |
                                               F(PRESSURE_CPU));
        ASSERT_EQ_INT(v.have, HAVE_ALL);
        ASSERT_EQ_U64(v.cpu_usage_nsec, UINT64_C(2215764000000));
        ASSERT_EQ_U64(v.memory_bytes, 216920064);
        ASSERT_EQ_U64(v.pids, 4);
        /* bytes and op counts merged into one device */
        ASSERT_EQ_INT(v.n_io, 1);
        assert_device(&v.io[0], 7, 290, 4317184, 4194304, 94, 64);
        ASSERT_EQ_INT(v.pressure_have, (1 << PRESSURE_CPU_SOME) | (1 << PRESSURE_CPU_FULL));
        free(v.io);
}

TEST(test_fill_v1_cpuacct_ns) {
        SampleValues v;

        /* cpuacct.usage counts ns already: taken as it is */
        ASSERT_EQ_INT(fill((Files) { [SAMPLE_FILE_CPU_V1] = "@v1-cpuacct.usage" }, &v), F(CPU_V1));
        ASSERT_EQ_INT(v.have, SAMPLE_HAVE_CPU);
        ASSERT_EQ_U64(v.cpu_usage_nsec, UINT64_C(2229949447633));
        ASSERT_EQ_INT(v.pressure_have, 0);

        /* usage_usec × 1000 saturates rather than wrapping */
        fill((Files) { [SAMPLE_FILE_CPU_V2] = "usage_usec 18446744073709551\nuser_usec 0\n" }, &v);
        ASSERT_EQ_U64(v.cpu_usage_nsec, UINT64_C(18446744073709551000));
        fill((Files) { [SAMPLE_FILE_CPU_V2] = "usage_usec 18446744073709552\n" }, &v);
        ASSERT_EQ_U64(v.cpu_usage_nsec, UINT64_MAX);

        /* the v1 memory and pids files as such; "max" is a number */
        ASSERT_EQ_INT(fill((Files) { [SAMPLE_FILE_MEMORY_V1] = "@v1-memory.usage_in_bytes",
                                     [SAMPLE_FILE_PIDS_V1] = "@v1-pids.max" },
                           &v),
                      F(MEMORY_V1) | F(PIDS_V1));
        ASSERT_EQ_INT(v.have, SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS);
        ASSERT_EQ_U64(v.pids, UINT64_MAX);
}

TEST(test_fill_v1_fallback_only_without_v2_value) {
        Files files = {
                [SAMPLE_FILE_CPU_V2] = "@v2-cpu.stat",
                [SAMPLE_FILE_CPU_V1] = "@v1-cpuacct.usage",
                [SAMPLE_FILE_IO_V2] = "@v2-io.stat",
                [SAMPLE_FILE_IO_V1_BYTES] = "@v1-blkio.throttle.io_service_bytes",
                [SAMPLE_FILE_IO_V1_OPS] = "@v1-blkio.throttle.io_serviced",
        };
        SampleValues v;

        /* were both open, the v1 file is not read when the v2 one gave the value */
        ASSERT_EQ_INT(fill(files, &v), F(CPU_V2) | F(IO_V2));
        ASSERT_EQ_U64(v.cpu_usage_nsec, UINT64_C(2215764000000));
        ASSERT_EQ_INT(v.n_io, 2);
        free(v.io);

        /* and is when the v2 one gave none */
        files[SAMPLE_FILE_CPU_V2] = "user_usec 5\n"; /* no usage_usec */
        files[SAMPLE_FILE_IO_V2] = "8:0 rbytes=x\n";
        ASSERT_EQ_INT(fill(files, &v), F(CPU_V2) | F(CPU_V1) | F(IO_V2) | F(IO_V1_BYTES) | F(IO_V1_OPS));
        ASSERT_EQ_U64(v.cpu_usage_nsec, UINT64_C(2229949447633));
        ASSERT_EQ_INT(v.n_io, 1);
        assert_device(&v.io[0], 7, 290, 4317184, 4194304, 94, 64);
        free(v.io);
}

TEST(test_fill_ops_only_when_bytes_name_a_device) {
        Files files = {
                [SAMPLE_FILE_IO_V1_BYTES] = "@v1-slice-blkio.throttle.io_service_bytes_recursive",
                [SAMPLE_FILE_IO_V1_OPS] = "@v1-slice-blkio.throttle.io_serviced_recursive",
        };
        SampleValues v;

        ASSERT_TRUE(!sample_files_need_v1_ops(/* io_v2_ok= */ true, /* bytes_ok= */ false, 0));
        ASSERT_TRUE(!sample_files_need_v1_ops(true, true, 3));
        ASSERT_TRUE(!sample_files_need_v1_ops(false, true, 0));
        ASSERT_TRUE(sample_files_need_v1_ops(false, true, 1));
        ASSERT_TRUE(sample_files_need_v1_ops(false, false, 0));

        /* a slice with no throttle rule anywhere: "Total 0" in both; the op counts are not read */
        ASSERT_EQ_INT(fill(files, &v), F(IO_V1_BYTES));
        ASSERT_EQ_INT(v.have, SAMPLE_HAVE_IO);
        ASSERT_EQ_INT(v.n_io, 0);
        ASSERT_TRUE(v.io == NULL);

        /* the byte counts name a device: the op counts are read and merged */
        files[SAMPLE_FILE_IO_V1_BYTES] = "@v1-root-blkio.throttle.io_service_bytes_recursive";
        files[SAMPLE_FILE_IO_V1_OPS] = "@v1-blkio.throttle.io_serviced";
        ASSERT_EQ_INT(fill(files, &v), F(IO_V1_BYTES) | F(IO_V1_OPS));
        ASSERT_EQ_INT(v.n_io, 1);
        assert_device(&v.io[0], 7, 290, 4317184, 4194304, 94, 64);
        free(v.io);

        /* the byte counts did not parse, or could not be read: the op counts still give the devices */
        files[SAMPLE_FILE_IO_V1_BYTES] = "7:290 Read x\nTotal 0\n";
        ASSERT_EQ_INT(fill(files, &v), F(IO_V1_BYTES) | F(IO_V1_OPS));
        ASSERT_EQ_INT(v.have, SAMPLE_HAVE_IO);
        ASSERT_EQ_INT(v.n_io, 1);
        assert_device(&v.io[0], 7, 290, 0, 0, 94, 64);
        free(v.io);
        files[SAMPLE_FILE_IO_V1_BYTES] = NULL;
        ASSERT_EQ_INT(fill(files, &v), F(IO_V1_OPS));
        ASSERT_EQ_INT(v.n_io, 1);
        free(v.io);

        /* neither parses: no I/O value */
        files[SAMPLE_FILE_IO_V1_BYTES] = files[SAMPLE_FILE_IO_V1_OPS] = "nonsense\n";
        ASSERT_EQ_INT(fill(files, &v), F(IO_V1_BYTES) | F(IO_V1_OPS));
        ASSERT_EQ_INT(v.have, 0);
}

TEST(test_fill_pressure_some_and_full) {
        SampleValues v;

        /* cpu.pressure before Linux 5.13 has no "full" line */
        fill((Files) { [SAMPLE_FILE_PRESSURE_CPU] = PRESSURE_LINE("some", 11),
                       [SAMPLE_FILE_PRESSURE_MEMORY] = PRESSURE_LINE("some", 21) PRESSURE_LINE("full", 22) },
             &v);
        ASSERT_EQ_INT(v.have, SAMPLE_HAVE_PRESSURE);
        ASSERT_EQ_INT(v.pressure_have, (1 << PRESSURE_CPU_SOME) | (1 << PRESSURE_MEMORY_SOME) |
                                               (1 << PRESSURE_MEMORY_FULL));
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_CPU_SOME], 11);
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_CPU_FULL], 0);
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_MEMORY_SOME], 21);
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_MEMORY_FULL], 22);

        /* each file into its own two kinds */
        fill((Files) { [SAMPLE_FILE_PRESSURE_IO] = PRESSURE_LINE("some", 31) PRESSURE_LINE("full", 32) }, &v);
        ASSERT_EQ_INT(v.pressure_have, (1 << PRESSURE_IO_SOME) | (1 << PRESSURE_IO_FULL));
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_IO_SOME], 31);
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_IO_FULL], 32);

        /* /proc/pressure has the same format */
        fill((Files) { [SAMPLE_FILE_PRESSURE_CPU] = "@proc-pressure-cpu" }, &v);
        ASSERT_EQ_U64(v.pressure_usec[PRESSURE_CPU_SOME], 398323424);
}

TEST(test_fill_unparsable_file_leaves_only_its_field_out) {
        static const Files files = {
                [SAMPLE_FILE_CPU_V2] = "@v2-cpu.stat",
                [SAMPLE_FILE_MEMORY_V2] = "12 34\n",
                [SAMPLE_FILE_PIDS_V2] = "17\n",
                [SAMPLE_FILE_IO_V2] = "8:0 rbytes=1 wbytes=-2\n",
                [SAMPLE_FILE_PRESSURE_CPU] = "@v2-cpu.pressure",
                [SAMPLE_FILE_PRESSURE_MEMORY] = PRESSURE_LINE("full", 1), /* no "some" */
                [SAMPLE_FILE_PRESSURE_IO] = "@v2-io.pressure",
        };
        SampleValues v;
        SampleFill f;

        ASSERT_EQ_INT(fill(files, &v), ALL_V2);
        ASSERT_EQ_INT(v.have, SAMPLE_HAVE_CPU | SAMPLE_HAVE_PIDS | SAMPLE_HAVE_PRESSURE);
        ASSERT_EQ_U64(v.memory_bytes, 0);
        ASSERT_EQ_U64(v.pids, 17);
        ASSERT_EQ_INT(v.n_io, 0);
        ASSERT_EQ_INT(v.pressure_have, (1 << PRESSURE_CPU_SOME) | (1 << PRESSURE_CPU_FULL) |
                                               (1 << PRESSURE_IO_SOME) | (1 << PRESSURE_IO_FULL));

        /* the parser's error comes back; an empty file is not a number either */
        memset(&v, 0, sizeof(v));
        sample_fill_init(&f, &v);
        ASSERT_EQ_INT(sample_fill_add(&f, SAMPLE_FILE_MEMORY_V2, "12 34\n", 6), -EINVAL);
        ASSERT_EQ_INT(sample_fill_add(&f, SAMPLE_FILE_PIDS_V1, "", 0), -EINVAL);
        ASSERT_EQ_INT(sample_fill_add(&f, SAMPLE_FILE_CPU_V2, "user_usec 1\n", 12), -ENODATA);
        ASSERT_EQ_INT(sample_fill_finish(&f), 0);
        ASSERT_EQ_INT(v.have, 0);
        /* all three fall back to v1 */
        ASSERT_TRUE(sample_fill_wants(&f, SAMPLE_FILE_CPU_V1));
        ASSERT_TRUE(sample_fill_wants(&f, SAMPLE_FILE_MEMORY_V1));
        ASSERT_TRUE(sample_fill_wants(&f, SAMPLE_FILE_PIDS_V1));
}

TEST(test_fill_nothing_open) {
        SampleValues v;

        ASSERT_EQ_INT(fill((Files) { 0 }, &v), 0);
        ASSERT_EQ_INT(v.have, 0);
        ASSERT_EQ_INT(v.pressure_have, 0);
        ASSERT_TRUE(v.io == NULL);
}

int main(void) {
        RUN(test_table_names);
        RUN(test_open_v2_only);
        RUN(test_open_hybrid);
        RUN(test_open_v1_only);
        RUN(test_open_controller_missing);
        RUN(test_open_v2_appears_late);
        RUN(test_fill_v2);
        RUN(test_fill_hybrid);
        RUN(test_fill_v1_cpuacct_ns);
        RUN(test_fill_v1_fallback_only_without_v2_value);
        RUN(test_fill_ops_only_when_bytes_name_a_device);
        RUN(test_fill_pressure_some_and_full);
        RUN(test_fill_unparsable_file_leaves_only_its_field_out);
        RUN(test_fill_nothing_open);
        return 0;
}
