/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "sample-files.h"

typedef enum SampleFormat {
        FORMAT_CPU_STAT,    /* usage_usec, in µs */
        FORMAT_U64,         /* one number; cpuacct.usage is in ns already */
        FORMAT_IO_STAT,
        FORMAT_BLKIO_BYTES,
        FORMAT_BLKIO_OPS,
        FORMAT_PRESSURE,
} SampleFormat;

typedef struct SampleFileSpec {
        const char *name;
        bool v2;
        CgController controller;   /* which v1 hierarchy holds a v1 file (a v2 file: its controller) */
        SampleFile alternative;    /* the v2 file to prefer over this v1 one, or _SAMPLE_FILE_MAX */
        uint32_t have;             /* the SAMPLE_HAVE_* bit it gives */
        SampleFormat format;
        PressureKind some;         /* FORMAT_PRESSURE: where its "some" total goes; "full" is the next kind */
} SampleFileSpec;

#define V2(n, c, h, f) \
        { .name = n, .v2 = true, .controller = c, .alternative = _SAMPLE_FILE_MAX, .have = h, .format = f }
#define V1(n, c, alt, h, f) \
        { .name = n, .v2 = false, .controller = c, .alternative = alt, .have = h, .format = f }
#define PRESSURE(n, c, k)                                                                             \
        { .name = n, .v2 = true, .controller = c, .alternative = _SAMPLE_FILE_MAX,                     \
          .have = SAMPLE_HAVE_PRESSURE, .format = FORMAT_PRESSURE, .some = k }

static const SampleFileSpec specs[_SAMPLE_FILE_MAX] = {
        [SAMPLE_FILE_CPU_V2] = V2("cpu.stat", CG_CPU, SAMPLE_HAVE_CPU, FORMAT_CPU_STAT),
        [SAMPLE_FILE_CPU_V1] = V1("cpuacct.usage", CG_CPUACCT, SAMPLE_FILE_CPU_V2, SAMPLE_HAVE_CPU, FORMAT_U64),
        [SAMPLE_FILE_MEMORY_V2] = V2("memory.current", CG_MEMORY, SAMPLE_HAVE_MEMORY, FORMAT_U64),
        [SAMPLE_FILE_MEMORY_V1] = V1("memory.usage_in_bytes", CG_MEMORY, SAMPLE_FILE_MEMORY_V2,
                                     SAMPLE_HAVE_MEMORY, FORMAT_U64),
        [SAMPLE_FILE_PIDS_V2] = V2("pids.current", CG_PIDS, SAMPLE_HAVE_PIDS, FORMAT_U64),
        [SAMPLE_FILE_PIDS_V1] = V1("pids.current", CG_PIDS, SAMPLE_FILE_PIDS_V2, SAMPLE_HAVE_PIDS, FORMAT_U64),
        [SAMPLE_FILE_IO_V2] = V2("io.stat", CG_IO, SAMPLE_HAVE_IO, FORMAT_IO_STAT),
        [SAMPLE_FILE_IO_V1_BYTES] = V1("blkio.throttle.io_service_bytes_recursive", CG_IO, SAMPLE_FILE_IO_V2,
                                       SAMPLE_HAVE_IO, FORMAT_BLKIO_BYTES),
        [SAMPLE_FILE_IO_V1_OPS] = V1("blkio.throttle.io_serviced_recursive", CG_IO, SAMPLE_FILE_IO_V2,
                                     SAMPLE_HAVE_IO, FORMAT_BLKIO_OPS),
        [SAMPLE_FILE_PRESSURE_CPU] = PRESSURE("cpu.pressure", CG_CPU, PRESSURE_CPU_SOME),
        [SAMPLE_FILE_PRESSURE_MEMORY] = PRESSURE("memory.pressure", CG_MEMORY, PRESSURE_MEMORY_SOME),
        [SAMPLE_FILE_PRESSURE_IO] = PRESSURE("io.pressure", CG_IO, PRESSURE_IO_SOME),
};

/* A full total is stored next to its some total. */
_Static_assert(PRESSURE_CPU_FULL == PRESSURE_CPU_SOME + 1 && PRESSURE_MEMORY_FULL == PRESSURE_MEMORY_SOME + 1 &&
                       PRESSURE_IO_FULL == PRESSURE_IO_SOME + 1,
               "full follows some");
_Static_assert(_SAMPLE_FILE_MAX <= sizeof(SampleFileSet) * 8, "a bit per file");

const char *sample_file_name(SampleFile f) {
        return (unsigned) f < _SAMPLE_FILE_MAX ? specs[f].name : NULL;
}

const char *sample_file_mount(const CgroupLayout *l, SampleFile f) {
        assert(l);
        assert((unsigned) f < _SAMPLE_FILE_MAX);
        return specs[f].v2 ? l->unified : l->v1[specs[f].controller];
}

int sample_file_path(const CgroupLayout *l, SampleFile f, const char *cgroup, char *buf, size_t size) {
        const char *mount = sample_file_mount(l, f);
        int n;

        assert(cgroup);
        assert(buf);
        if (!mount)
                return -ENOENT;
        n = snprintf(buf, size, "%s%s/%s", mount, cgroup, specs[f].name);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

SampleFile sample_files_next_to_open(const CgroupLayout *l, SampleFileSet open, SampleFile from) {
        assert(l);
        for (SampleFile f = from; f < _SAMPLE_FILE_MAX; f++) {
                const SampleFileSpec *spec = &specs[f];

                if (open & SAMPLE_FILE_BIT(f) || !sample_file_mount(l, f))
                        continue;
                if (spec->alternative != _SAMPLE_FILE_MAX && open & SAMPLE_FILE_BIT(spec->alternative))
                        continue;
                return f;
        }
        return _SAMPLE_FILE_MAX;
}

SampleFileSet sample_file_superseded_by(SampleFile f) {
        SampleFileSet s = 0;

        for (SampleFile j = 0; j < _SAMPLE_FILE_MAX; j++)
                if (specs[j].alternative == f)
                        s |= SAMPLE_FILE_BIT(j);
        return s;
}

bool sample_file_read_every_sweep(SampleFile f) {
        return f != SAMPLE_FILE_IO_V1_OPS;
}

void sample_fill_init(SampleFill *fill, SampleValues *v) {
        assert(fill);
        assert(v);
        fill->values = v;
        fill->have_v2 = 0;
        fill->io_ok = fill->io_bytes_ok = false;
        fill->io.n = 0; /* entries are filled as devices are found: no need to clear 64 of them */
}

bool sample_files_need_v1_ops(bool io_v2_ok, bool bytes_ok, size_t n_devices) {
        return !io_v2_ok && !(bytes_ok && n_devices == 0);
}

bool sample_fill_wants(const SampleFill *fill, SampleFile f) {
        assert(fill);
        assert((unsigned) f < _SAMPLE_FILE_MAX);
        if (specs[f].v2)
                return true;
        if (f == SAMPLE_FILE_IO_V1_OPS)
                return sample_files_need_v1_ops(fill->have_v2 & SAMPLE_HAVE_IO, fill->io_bytes_ok, fill->io.n);
        return !(fill->have_v2 & specs[f].have);
}

static int fill_pressure(SampleFill *fill, PressureKind some, const char *data, size_t size) {
        SampleValues *v = fill->values;
        CgPressure p;
        int r;

        r = cg_parse_pressure(data, size, &p);
        if (r < 0)
                return r;
        if (p.have_some) {
                v->pressure_usec[some] = p.some_total_usec;
                v->pressure_have |= (uint8_t) (1u << some);
        }
        if (p.have_full) {
                v->pressure_usec[some + 1] = p.full_total_usec;
                v->pressure_have |= (uint8_t) (1u << (some + 1));
        }
        return 0;
}

int sample_fill_add(SampleFill *fill, SampleFile f, const char *data, size_t size) {
        const SampleFileSpec *spec;
        SampleValues *v;
        uint64_t u;
        int r;

        assert(fill);
        assert(data || size == 0);
        assert((unsigned) f < _SAMPLE_FILE_MAX);
        spec = &specs[f];
        v = fill->values;
        switch (spec->format) {
        case FORMAT_CPU_STAT:
        case FORMAT_U64:
                r = spec->format == FORMAT_CPU_STAT ? cg_parse_cpu_stat_usage_usec(data, size, &u)
                                                    : cg_parse_u64(data, size, &u);
                if (r < 0)
                        return r;
                if (spec->have == SAMPLE_HAVE_CPU)
                        v->cpu_usage_nsec = spec->format == FORMAT_CPU_STAT ? cg_usec_to_nsec(u) : u;
                else if (spec->have == SAMPLE_HAVE_MEMORY)
                        v->memory_bytes = u;
                else
                        v->pids = u;
                break;
        case FORMAT_IO_STAT:
                r = cg_parse_io_stat(data, size, &fill->io);
                if (r < 0)
                        return r;
                fill->io_ok = true;
                break;
        case FORMAT_BLKIO_BYTES:
        case FORMAT_BLKIO_OPS:
                /* merged into the devices of the other file; on failure the devices stay as they were */
                r = cg_parse_blkio(data, size, /* ops= */ spec->format == FORMAT_BLKIO_OPS, &fill->io);
                if (r < 0)
                        return r;
                fill->io_ok = true;
                fill->io_bytes_ok = fill->io_bytes_ok || spec->format == FORMAT_BLKIO_BYTES;
                break;
        case FORMAT_PRESSURE:
                r = fill_pressure(fill, spec->some, data, size);
                if (r < 0)
                        return r;
                break;
        default:
                return -EINVAL;
        }
        v->have |= spec->have;
        if (spec->v2)
                fill->have_v2 |= spec->have;
        return 0;
}

int sample_fill_finish(SampleFill *fill) {
        SampleValues *v;

        assert(fill);
        v = fill->values;
        if (!fill->io_ok || fill->io.n == 0)
                return 0;
        v->io = calloc(fill->io.n, sizeof(SampleIo));
        if (!v->io)
                return -ENOMEM;
        for (size_t d = 0; d < fill->io.n; d++) {
                const CgIoDevice *dev = &fill->io.dev[d];

                v->io[d] = (SampleIo) { dev->major, dev->minor, dev->read_bytes, dev->write_bytes,
                                        dev->read_ios, dev->write_ios };
        }
        v->n_io = (uint16_t) fill->io.n;
        return 0;
}
