/* SPDX-License-Identifier: MIT */
/* Which cgroup files a slice is sampled from and how their bytes become SampleValues: v2 preferred where the
 * file exists, v1 per controller from the layout otherwise, the blkio op counts only when the byte counts
 * name a device, the pressure files into PressureKind. Pure: the sampler opens and reads, this decides. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cgroup-stat.h"
#include "sample.h"

/* In table order: each v2 file before the v1 files it is preferred to. */
typedef enum SampleFile {
        SAMPLE_FILE_CPU_V2,       /* cpu.stat usage_usec */
        SAMPLE_FILE_CPU_V1,       /* cpuacct.usage (ns) */
        SAMPLE_FILE_MEMORY_V2,    /* memory.current */
        SAMPLE_FILE_MEMORY_V1,    /* memory.usage_in_bytes */
        SAMPLE_FILE_PIDS_V2,      /* pids.current */
        SAMPLE_FILE_PIDS_V1,
        SAMPLE_FILE_IO_V2,        /* io.stat */
        SAMPLE_FILE_IO_V1_BYTES,  /* blkio.throttle.io_service_bytes_recursive (a slice has no own tasks) */
        SAMPLE_FILE_IO_V1_OPS,    /* blkio.throttle.io_serviced_recursive */
        SAMPLE_FILE_PRESSURE_CPU,
        SAMPLE_FILE_PRESSURE_MEMORY,
        SAMPLE_FILE_PRESSURE_IO,
        _SAMPLE_FILE_MAX,
} SampleFile;

/* A set of a slice's files, a bit per SampleFile. */
typedef unsigned SampleFileSet;
#define SAMPLE_FILE_BIT(f) (1u << (f))

/* The file's name in its cgroup directory ("cpu.stat"), NULL when out of range. */
const char *sample_file_name(SampleFile f);
/* Where the layout has the hierarchy the file lives in: the cgroup2 mount for a v2 file, the controller's
 * v1 mount for a v1 one; NULL when it has none. */
const char *sample_file_mount(const CgroupLayout *l, SampleFile f);
/* "<mount><cgroup>/<name>" into buf (cgroup is "/a.slice/a-b.slice", "" for the root). -ENOENT when the
 * layout has no hierarchy for the file, -ENAMETOOLONG when size is too small. */
int sample_file_path(const CgroupLayout *l, SampleFile f, const char *cgroup, char *buf, size_t size);

/* The first file at or after `from` to try to open for a slice of which the files in `open` are open: one
 * the layout has a hierarchy for, not open yet, and whose v2 alternative is not open (on a hybrid host the
 * cgroup2 mount still offers cpu.stat and the pressure files, and they win). _SAMPLE_FILE_MAX when there is
 * none. The caller tries it, counts it open when that worked, and asks again from the next file. */
SampleFile sample_files_next_to_open(const CgroupLayout *l, SampleFileSet open, SampleFile from);
/* The files that f makes redundant once open: the v1 files read while its v2 file was missing (it
 * appeared late). The caller closes them. */
SampleFileSet sample_file_superseded_by(SampleFile f);
/* Whether the file is read ahead in every sweep's batch: all but the blkio op counts, which are read only
 * when sample_fill_wants() says so. */
bool sample_file_read_every_sweep(SampleFile f);

/* One slice's values being filled from its files' bytes. */
typedef struct SampleFill {
        SampleValues *values;
        uint32_t have_v2;      /* SAMPLE_HAVE_* given by a v2 file: its v1 fallback is not read */
        bool io_ok, io_bytes_ok;
        CgIoStats io;          /* the devices so far (only the first io.n entries mean anything) */
} SampleFill;

/* Starts filling *v, which the caller zeroed. */
void sample_fill_init(SampleFill *fill, SampleValues *v);
/* Whether file f is to be read, given what the files handed so far gave: a v1 file only when its v2
 * alternative gave no value, the blkio op counts (sample_files_need_v1_ops) only when the byte counts did
 * not say there is no device. The caller hands the files it reads in table order. */
bool sample_fill_wants(const SampleFill *fill, SampleFile f);
/* The v1 op counts are needed unless io.stat gave the I/O value, or the byte counts were read and name no
 * device: both files list the same devices (a line set for each blkg with throttle data, whatever its
 * counts), so with no throttle rule on any queue (the usual case) both say only "Total 0". */
bool sample_files_need_v1_ops(bool io_v2_ok, bool bytes_ok, size_t n_devices);
/* Parses the bytes of file f into the values. A file that does not parse leaves its own field absent (its
 * have bit clear) and returns the parser's error; every other field is unaffected. cpu.stat's usage_usec
 * becomes ns as cpuacct.usage is; a pressure file fills the some/full totals it has. */
int sample_fill_add(SampleFill *fill, SampleFile f, const char *data, size_t size);
/* Ends the slice: the I/O devices go into values->io (when that allocation fails: the I/O value without
 * devices, as -ENOMEM). */
int sample_fill_finish(SampleFill *fill);
