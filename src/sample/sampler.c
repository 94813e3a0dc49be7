/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cgroup-stat.h"
#include "fd-budget.h"
#include "fileio.h"
#include "io-coverage.h"
#include "log.h"
#include "sample-files.h"
#include "strmap.h"
#include "sampler.h"
#include "unit-name.h"

#define READ_BUFFER_SIZE (64 * 1024) /* io.stat of a host with many disks fits */
#define RESCAN_USEC (5 * USEC_PER_SEC)
#define OPEN_BATCH_SLICES 256 /* ≤ ~2000 opens per loop iteration: a few ms */
/* Which devices the layout counts is looked at on a timer of its own, off the sampling path: soon after
 * start, then every IO_CHECK_USEC, and once soon after each realizer pass (rules may just have been set),
 * never twice within IO_CHECK_GAP_USEC. */
#define IO_CHECK_FIRST_USEC (100 * USEC_PER_MSEC)
#define IO_CHECK_USEC (10 * USEC_PER_SEC)
#define IO_CHECK_GAP_USEC USEC_PER_SEC
#define DISKSTATS_MAX_BYTES (1024 * 1024) /* a line is ~100 bytes: thousands of devices */
/* A sweep reads the files of up to BATCH_SLICES slices in one batch (one io_uring submission where there
 * is io_uring), BATCH_REQUESTS reads at most, each into a SLOT_SIZE slot. A file that fills its slot may
 * have been cut and is read again whole into the big buffer. On this kind of host entering the kernel
 * costs more than reading a cgroup file itself (bench/RESULTS.md). */
#define BATCH_SLICES 16
#define BATCH_REQUESTS 128
#define SLOT_SIZE 1024
/* status names this many of the slices left out (the first of them; their count is always given) */
#define LEFT_OUT_SHOWN 32

typedef struct SliceFiles {
        char *cgroup; /* "/a.slice/a-b.slice", "" for the root */
        int fd[_SAMPLE_FILE_MAX];
        unsigned depth; /* 0 for the root */
        bool complete;  /* every file that can exist (of those the budget keeps) is open */
        bool left_out;  /* the descriptor budget has no room for it: no file open */
} SliceFiles;

/* Which request of the current batch read each of a slice's files; -1: none, read it when needed. */
typedef struct SliceReads {
        int req[_SAMPLE_FILE_MAX];
} SliceReads;

struct Sampler {
        sd_event *event;
        usec_t interval_usec;
        char *root;
        CgroupLayout layout;
        SliceSet *set;
        SliceFiles *files; /* set->n entries */
        char *buffer;
        PreadBatch *batch;
        PreadRequest reqs[BATCH_REQUESTS];
        SliceReads ahead[BATCH_SLICES];
        char *slots; /* BATCH_REQUESTS × SLOT_SIZE */
        sd_event_source *timer;
        sd_event_source *opener;  /* on_opener: missing files opened in batches, at idle priority */
        size_t open_next;         /* the next slice it looks at */
        uint64_t n_open_batches;  /* batches run, since start */
        uint64_t n_carried_over;  /* slices that kept their files through a tree change, since start */
        usec_t last_rescan_usec;
        bool logged_emfile;
        /* The descriptor budget: the plan for the current set and limit, which files a slice keeps under it,
         * and how many are open. No open goes beyond budget.files, whatever the plan assumed. */
        uint64_t fd_reserve;
        unsigned fd_per_slice_other; /* descriptors others hold per slice (the OOM watch's eventfd on v1) */
        FdBudget budget;
        SampleFileSet keep;
        size_t n_open;
        uint64_t budget_refused; /* opens not tried: budget.files used up */
        bool logged_short;       /* a short budget was logged, and not yet its end */
        bool out_of_fds;         /* an open failed with EMFILE: no more tries until the next rescan */
        /* Which devices the layout counts: the last verdicts, and room to make the next ones. */
        IoCoverage io_coverage, io_next;
        CgDiskStats disks, disks_known; /* the last look is the cache of which devices are partitions */
        bool partition_unknown[CG_DISKS_MAX];
        CgIoStats blkio_root;
        sd_event_source *io_timer;
        usec_t io_checked_usec;
        uint64_t partition_lookups;
        uint64_t io_checks;
        bool logged_io_check_failed;
        uint64_t ticks;
        usec_t sweep_last_usec, sweep_max_usec, sweep_total_usec;
        SamplerTick tick;
        void *userdata;
        SampleUser *users; /* sampler_set_users(), names owned */
        size_t n_users;
        bool users_changed; /* ... since the set was made: it is made again before the next sweep */
        uint64_t user_set_changes; /* sets made for a change of users */
};

static int set_users_apply(Sampler *s);

static void sample_users_free(SampleUser *users, size_t n) {
        for (size_t k = 0; users && k < n; k++)
                free((char *) users[k].name);
        free(users);
}

static void file_close(Sampler *s, SliceFiles *f, SampleFile i) {
        if (f->fd[i] < 0)
                return;
        close(f->fd[i]);
        f->fd[i] = -EBADF;
        assert(s->n_open > 0);
        s->n_open--;
}

/* Closes the files the budget does not keep (all of them for a slice left out). */
static void files_close(Sampler *s, SliceFiles *f, SampleFileSet keep) {
        for (SampleFile i = 0; i < _SAMPLE_FILE_MAX; i++)
                if (!(keep & SAMPLE_FILE_BIT(i)))
                        file_close(s, f, i);
        if (keep == 0)
                f->complete = false;
}

static void files_free(Sampler *s, SliceFiles *files, size_t n) {
        for (size_t i = 0; files && i < n; i++) {
                files_close(s, &files[i], /* keep= */ 0);
                free(files[i].cgroup);
        }
        free(files);
}

static int open_file(const CgroupLayout *l, SampleFile i, const char *cgroup) {
        char path[PATH_MAX];
        int fd, r;

        r = sample_file_path(l, i, cgroup, path, sizeof(path));
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

static bool dir_exists(const char *mount, const char *cgroup) {
        char path[PATH_MAX];

        return snprintf(path, sizeof(path), "%s%s", mount, cgroup) < (int) sizeof(path) && access(path, F_OK) == 0;
}

/* Opens what is missing, in the order and with the preferences of sample_files_next_to_open(). A file
 * that does not exist in an existing cgroup directory is simply not offered here (no such controller); a
 * missing directory means the slice is not there yet, so the slice is looked at again on the next rescan. */
static void files_open(Sampler *s, SliceFiles *f) {
        SampleFileSet open = 0;
        bool complete = true;

        if (f->left_out || s->out_of_fds)
                return;
        for (SampleFile i = 0; i < _SAMPLE_FILE_MAX; i++)
                if (f->fd[i] >= 0)
                        open |= SAMPLE_FILE_BIT(i);
        for (SampleFile i = sample_files_next_to_open(&s->layout, open, 0); i < _SAMPLE_FILE_MAX;
             i = sample_files_next_to_open(&s->layout, open, i + 1)) {
                int fd;

                if (!(s->keep & SAMPLE_FILE_BIT(i)))
                        continue;
                if (s->n_open >= s->budget.files) {
                        s->budget_refused++;
                        complete = false;
                        break;
                }
                fd = open_file(&s->layout, i, f->cgroup);
                if (fd >= 0) {
                        SampleFileSet superseded = sample_file_superseded_by(i);

                        f->fd[i] = fd;
                        s->n_open++;
                        open |= SAMPLE_FILE_BIT(i);
                        for (SampleFile j = 0; j < _SAMPLE_FILE_MAX; j++)
                                if (superseded & SAMPLE_FILE_BIT(j)) {
                                        file_close(s, f, j);
                                        open &= ~SAMPLE_FILE_BIT(j);
                                }
                } else {
                        /* Not the sampler's own files (those stay within the budget): something else holds
                         * the reserve, or the limit was lowered under the running daemon (the next rescan
                         * plans for it). */
                        if (fd == -EMFILE || fd == -ENFILE) {
                                if (!s->logged_emfile)
                                        log_error("Out of file descriptors opening cgroup files, with %zu of them "
                                                  "open; see `slicekeeper status`.", s->n_open);
                                s->logged_emfile = true;
                                /* the other files would fail alike: thousands of calls for nothing */
                                s->out_of_fds = true;
                                f->complete = false;
                                return;
                        }
                        if (fd != -ENOENT || !dir_exists(sample_file_mount(&s->layout, i), f->cgroup))
                                complete = false;
                }
        }
        f->complete = complete;
}

/* A file's bytes: what the batch read ahead when it fit its slot, else read now into the big buffer. */
static int read_file(Sampler *s, SliceFiles *f, const SliceReads *ahead, SampleFile i, const char **ret_data,
                     size_t *ret_size) {
        const PreadRequest *q = ahead && ahead->req[i] >= 0 ? &s->reqs[ahead->req[i]] : NULL;
        char *buf = s->buffer;
        ssize_t n;

        if (f->fd[i] < 0)
                return -EBADF;
        if (q && q->fd == f->fd[i] && (q->result < 0 || (size_t) q->result < q->size)) {
                n = q->result;
                buf = q->buf;
        } else {
                n = pread(f->fd[i], s->buffer, READ_BUFFER_SIZE - 1, 0);
                if (n < 0)
                        n = -errno;
                else if ((size_t) n >= READ_BUFFER_SIZE - 1)
                        return -EFBIG; /* might be cut: better no number than a wrong one */
        }
        if (n < 0) {
                /* The cgroup went away (ENODEV): close, and look again on the next rescan. */
                file_close(s, f, i);
                f->complete = false;
                return (int) n;
        }
        buf[n] = 0;
        *ret_data = buf;
        *ret_size = (size_t) n;
        return 0;
}

/* The slice's values from the files it has open, as sample-files.h decides which to read. */
static void sample_slice(Sampler *s, SliceFiles *f, const SliceReads *ahead, SampleValues *v) {
        SampleFill fill;

        sample_fill_init(&fill, v);
        for (SampleFile i = 0; i < _SAMPLE_FILE_MAX; i++) {
                const char *data = NULL;
                size_t size = 0;

                if (f->fd[i] >= 0 && sample_fill_wants(&fill, i) && read_file(s, f, ahead, i, &data, &size) >= 0)
                        (void) sample_fill_add(&fill, i, data, size);
        }
        (void) sample_fill_finish(&fill);
}

static uint64_t nofile_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return UINT64_MAX;
        return (uint64_t) rl.rlim_cur;
}

static void budget_log(Sampler *s, const FdBudget *b) {
        char dropped[64] = "";

        if (b->level == FD_BUDGET_LEVEL_ALL && b->n_sampled == b->n_slices) {
                if (s->logged_short)
                        log_info("Descriptor budget: every file of every slice is sampled again (limit %" PRIu64
                                 ").", b->limit);
                s->logged_short = false;
                return;
        }
        for (unsigned l = b->level + 1; l < FD_BUDGET_LEVELS; l++)
                snprintf(dropped + strlen(dropped), sizeof(dropped) - strlen(dropped), "%s%s",
                         dropped[0] ? ", " : "", fd_budget_level_name(l));
        log_warning("Descriptor limit %" PRIu64 " is short for %zu slices: %" PRIu64 " kept for the daemon, %" PRIu64
                    " for cgroup files; not sampling %s%s%zu slices left out (the deepest). Raise LimitNOFILE= "
                    "to sample all.", b->limit, b->n_slices, b->reserve, b->files, dropped[0] ? dropped : "",
                    dropped[0] ? "; " : "", b->n_slices - b->n_sampled);
        s->logged_short = true;
}

/* Plans the set into the descriptor limit as it is now (it may have been lowered under the running daemon):
 * closes what the plan does not keep, before anything is opened. With force, picks the slices again even
 * when the plan is the same (a new set). */
static void budget_apply(Sampler *s, bool force) {
        _cleanup_(freep) unsigned *depth = NULL;
        _cleanup_(freep) bool *keep = NULL;
        unsigned cost[FD_BUDGET_LEVELS];
        size_t n = s->set ? s->set->n : 0;
        uint64_t limit;
        FdBudget b;

        for (unsigned l = 0; l < FD_BUDGET_LEVELS; l++)
                cost[l] = fd_budget_slice_cost(&s->layout, fd_budget_level_files(l));
        limit = nofile_limit();
        /* others' descriptors per slice: at most a quarter of the limit (the OOM watch holds no more) */
        fd_budget_plan(limit, s->fd_reserve + MIN((uint64_t) n * s->fd_per_slice_other, limit / 4), n, cost, &b);
        if (!force && b.limit == s->budget.limit && b.n_slices == s->budget.n_slices)
                return;
        s->keep = fd_budget_level_files(b.level);
        if (b.n_sampled < n) {
                depth = calloc(n, sizeof(unsigned));
                keep = calloc(n, sizeof(bool));
                if (!depth || !keep) {
                        /* opens stay within budget.files all the same: the first slices get them */
                        log_oom();
                        TAKE_PTR(keep);
                }
                for (size_t i = 0; keep && i < n; i++)
                        depth[i] = s->files[i].depth;
                if (keep)
                        fd_budget_pick(depth, n, b.n_sampled, keep);
        }
        for (size_t i = 0; i < n; i++) {
                SliceFiles *f = &s->files[i];

                f->left_out = keep && !keep[i];
                files_close(s, f, f->left_out ? 0 : s->keep);
                /* what the budget kept from it before may be opened now */
                if (!f->left_out)
                        f->complete = false;
        }
        if (force || b.level != s->budget.level || b.n_sampled != s->budget.n_sampled ||
            b.n_slices != s->budget.n_slices)
                budget_log(s, &b);
        s->budget = b;
}

/* Opens the files of the next OPEN_BATCH_SLICES slices that miss some, one batch per loop iteration at idle
 * priority: a tree of 10 000 slices is ~80 000 opens, which in one go would hold the loop for most of a
 * second. Until a slice's turn its values are missing, as for a slice not created yet. */
static int on_opener(sd_event_source *es, void *userdata) {
        Sampler *s = userdata;
        size_t n = s->set ? s->set->n : 0, end = MIN(s->open_next + OPEN_BATCH_SLICES, n);

        for (; s->open_next < end; s->open_next++)
                if (!s->files[s->open_next].complete)
                        files_open(s, &s->files[s->open_next]);
        s->n_open_batches++;
        if (s->open_next >= n)
                sd_event_source_set_enabled(es, SD_EVENT_OFF);
        return 0;
}

/* Every slice that misses files gets them opened, from the first, in batches (on_opener). */
static void files_open_soon(Sampler *s) {
        s->open_next = 0;
        if (sd_event_source_set_enabled(s->opener, SD_EVENT_ON) < 0)
                (void) on_opener(s->opener, s); /* cannot happen with a valid source; opens one batch */
}

static void files_rescan(Sampler *s) {
        budget_apply(s, /* force= */ false);
        s->out_of_fds = false;
        files_open_soon(s);
        s->last_rescan_usec = now_usec(CLOCK_MONOTONIC);
}

static uint64_t next_tick(const Sampler *s, uint64_t now) {
        return (now / s->interval_usec + 1) * s->interval_usec;
}

static void sweep(Sampler *s, uint64_t unix_sec) {
        _cleanup_(freep) SampleValues *values = NULL;
        usec_t cpu_before = now_usec(CLOCK_PROCESS_CPUTIME_ID), spent;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (!s->set)
                return;
        /* Users come and go in storms (a login node at 9:00): the set is made again once per sweep at most. */
        if (s->users_changed && set_users_apply(s) < 0)
                log_oom(); /* the old set stays; tried again before the next sweep */
        if (now - s->last_rescan_usec >= RESCAN_USEC)
                files_rescan(s);
        values = calloc(MAX(s->set->n, (size_t) 1), sizeof(SampleValues));
        if (!values) {
                log_oom();
                return;
        }
        for (size_t start = 0, end; start < s->set->n; start = end) {
                size_t n_req = 0;

                /* Read ahead, in one batch, every file of the next slices that is read every time: all
                 * but the blkio op counts (sample_file_read_every_sweep()). */
                for (end = start; end < s->set->n && end - start < BATCH_SLICES; end++) {
                        const SliceFiles *f = &s->files[end];
                        SliceReads *ahead = &s->ahead[end - start];
                        size_t want = 0;

                        for (SampleFile i = 0; i < _SAMPLE_FILE_MAX; i++)
                                want += f->fd[i] >= 0 && sample_file_read_every_sweep(i);
                        if (n_req + want > BATCH_REQUESTS)
                                break;
                        for (SampleFile i = 0; i < _SAMPLE_FILE_MAX; i++) {
                                ahead->req[i] = -1;
                                if (f->fd[i] < 0 || !sample_file_read_every_sweep(i))
                                        continue;
                                s->reqs[n_req] = (PreadRequest) { .fd = f->fd[i],
                                                                  .buf = s->slots + n_req * SLOT_SIZE,
                                                                  .size = SLOT_SIZE - 1 };
                                ahead->req[i] = (int) n_req++;
                        }
                }
                (void) pread_batch_run(s->batch, s->reqs, n_req);
                for (size_t i = start; i < end; i++)
                        sample_slice(s, &s->files[i], &s->ahead[i - start], &values[i]);
        }
        spent = now_usec(CLOCK_PROCESS_CPUTIME_ID) - cpu_before;
        s->ticks++;
        s->sweep_last_usec = spent;
        s->sweep_total_usec += spent;
        s->sweep_max_usec = MAX(s->sweep_max_usec, spent);
        if (s->tick)
                s->tick(s, unix_sec, s->set, TAKE_PTR(values), s->userdata);
        else
                sample_values_free_array(TAKE_PTR(values), s->set->n);
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        Sampler *s = userdata;
        uint64_t now = now_usec(CLOCK_REALTIME);

        /* The second we sample for: the whole second the timer was set to, even when it fires late. */
        sweep(s, usec / USEC_PER_SEC);
        sd_event_source_set_time(es, next_tick(s, now));
        sd_event_source_set_enabled(es, SD_EVENT_ON);
        return 0;
}

static IoCountedBy io_counted_by(const Sampler *s) {
        _cleanup_(freep) char *path = NULL, *data = NULL;
        size_t size;

        if (s->layout.v1[CG_IO])
                return IO_COUNTED_BY_BLKIO_THROTTLE;
        if (!s->layout.unified)
                return IO_COUNTED_BY_NONE;
        if (asprintf(&path, "%s/cgroup.controllers", s->layout.unified) < 0) {
                path = NULL; /* undefined after a failure */
                return IO_COUNTED_BY_NONE;
        }
        if (read_file_bounded(path, 4096, &data, &size) < 0)
                return IO_COUNTED_BY_NONE;
        return cg_parse_controllers_has(data, size, "io") > 0 ? IO_COUNTED_BY_IO_STAT : IO_COUNTED_BY_NONE;
}

/* /proc/diskstats says which devices have done I/O; the blkio root says which of them v1 counts. */
static int io_coverage_read(Sampler *s, IoCountedBy by) {
        _cleanup_(freep) char *data = NULL, *path = NULL, *root = NULL;
        size_t size;
        int r;

        r = read_file_bounded("/proc/diskstats", DISKSTATS_MAX_BYTES, &data, &size);
        if (r < 0)
                return r;
        r = cg_parse_diskstats(data, size, &s->disks);
        if (r < 0)
                return r;
        (void) io_partitions_carry(&s->disks_known, &s->disks, s->partition_unknown);
        for (size_t i = 0; i < s->disks.n; i++) {
                char p[64];

                if (!s->partition_unknown[i])
                        continue;
                snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/partition", s->disks.disk[i].major,
                         s->disks.disk[i].minor);
                s->disks.disk[i].partition = access(p, F_OK) == 0;
                s->partition_lookups++;
        }
        memcpy(&s->disks_known, &s->disks, sizeof(s->disks));
        s->blkio_root.n = 0;
        if (by != IO_COUNTED_BY_BLKIO_THROTTLE)
                return 0;
        if (asprintf(&path, "%s/%s", s->layout.v1[CG_IO], sample_file_name(SAMPLE_FILE_IO_V1_BYTES)) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        r = read_file_bounded(path, READ_BUFFER_SIZE, &root, &size);
        if (r < 0)
                return r;
        return cg_parse_blkio(root, size, /* ops= */ false, &s->blkio_root);
}

/* Two or three files and a sysfs lookup per device not seen before: on its own timer, not in a sweep.
 * Tells the journal once per device and change. */
static void io_coverage_check(Sampler *s) {
        IoCountedBy by = io_counted_by(s);
        int r;

        r = io_coverage_read(s, by);
        if (r < 0) {
                if (!s->logged_io_check_failed)
                        log_warning_errno(r, "Cannot tell which block devices the %s counts: %m",
                                          by == IO_COUNTED_BY_BLKIO_THROTTLE ? "blkio hierarchy" : "layout");
                s->logged_io_check_failed = true;
                return;
        }
        s->logged_io_check_failed = false;
        io_coverage_decide(by, &s->disks, by == IO_COUNTED_BY_BLKIO_THROTTLE ? &s->blkio_root : NULL, &s->io_next);
        for (size_t i = 0; i < s->io_next.n; i++) {
                const IoDeviceCoverage *d = &s->io_next.dev[i];

                switch (io_coverage_change(s->io_checks > 0 ? &s->io_coverage : NULL, d)) {
                case IO_COVERAGE_NOT_COUNTED:
                        log_warning("I/O on block device %u:%u (%s) is not counted: %s.", d->major, d->minor,
                                    d->name, io_coverage_reason(by));
                        break;
                case IO_COVERAGE_COUNTED_NOW:
                        log_info("I/O on block device %u:%u (%s) is counted now.", d->major, d->minor, d->name);
                        break;
                default:
                        break;
                }
        }
        s->io_coverage = s->io_next;
        s->io_checks++;
}

static int on_io_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        Sampler *s = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        (void) usec;
        /* Failed looks count against the rate too: io_checks counts only the ones that worked. */
        io_coverage_check(s);
        s->io_checked_usec = now;
        sd_event_source_set_time(es, now + IO_CHECK_USEC);
        sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
        return 0;
}

/* Brings the next look forward to now, or to IO_CHECK_GAP_USEC after the last one; requests in between
 * coalesce into that one look. */
static void io_check_soon(Sampler *s) {
        usec_t now = now_usec(CLOCK_MONOTONIC), want, next;

        want = s->io_checked_usec > 0 ? MAX(now, s->io_checked_usec + IO_CHECK_GAP_USEC) : now;
        if (sd_event_source_get_time(s->io_timer, &next) >= 0 && next <= want)
                return;
        sd_event_source_set_time(s->io_timer, want);
        sd_event_source_set_enabled(s->io_timer, SD_EVENT_ONESHOT);
}

void sampler_rescan(Sampler *s) {
        assert(s);

        files_rescan(s);
        io_check_soon(s);
}

const FdBudget *sampler_fd_budget(const Sampler *s) {
        assert(s);
        return &s->budget;
}

size_t sampler_open_files(const Sampler *s) {
        assert(s);
        return s->n_open;
}

const IoCoverage *sampler_io_coverage(const Sampler *s) {
        assert(s);
        return s && s->io_checks > 0 ? &s->io_coverage : NULL;
}

/* Moves the open files of every slice of the current set that is also in `files` (same cgroup) over. */
static void files_carry_over(Sampler *s, SliceFiles *files, size_t n) {
        _cleanup_(strmap_done) StrMap old = { 0 }; /* cgroup → old SliceFiles; keys are theirs */

        for (size_t j = 0; s->set && j < s->set->n; j++)
                if (strmap_put(&old, s->files[j].cgroup, &s->files[j]) < 0)
                        return; /* out of memory: all reopen, as before */
        for (size_t i = 0; i < n; i++) {
                SliceFiles *o = strmap_remove(&old, files[i].cgroup);

                if (!o)
                        continue;
                for (SampleFile k = 0; k < _SAMPLE_FILE_MAX; k++) {
                        files[i].fd[k] = o->fd[k];
                        o->fd[k] = -EBADF;
                }
                files[i].complete = o->complete;
                o->complete = false;
                s->n_carried_over++;
        }
}

/* Appends the user slices (s->users) to set and files from index `from` on: everything after the groups. */
static int fill_users(Sampler *s, SliceSet *set, SliceFiles *files, size_t from) {
        set->n_groups = from;
        for (size_t k = 0; k < s->n_users; k++) {
                size_t i = from + k;
                int r;

                if (asprintf(&set->paths[i], "%" PRIu32, s->users[k].uid) < 0) {
                        set->paths[i] = NULL; /* undefined after a failure */
                        return -ENOMEM;
                }
                if (asprintf(&set->units[i], "user-%" PRIu32 ".slice", s->users[k].uid) < 0) {
                        set->units[i] = NULL;
                        return -ENOMEM;
                }
                if (s->users[k].name && !(set->user_names[i] = strdup(s->users[k].name)))
                        return -ENOMEM;
                r = unit_name_slice_cgroup_path(set->units[i], &files[i].cgroup);
                if (r < 0)
                        return r;
                files[i].depth = 2; /* /user.slice/user-UID.slice */
        }
        return 0;
}

/* A new set and its files, made with files_new(), replace the current ones. */
static void install_set(Sampler *s, SliceSet *set, SliceFiles *files) {
        /* A slice in both sets keeps its open files (a tree change touches a few groups of many); the rest
         * of the old files close before new ones open: both sets at once could be twice the budget. */
        files_carry_over(s, files, set->n);
        files_free(s, s->files, s->set ? s->set->n : 0);
        slice_set_unref(s->set);
        s->files = files;
        s->set = set;
        budget_apply(s, /* force= */ true);
        s->out_of_fds = false;
        files_open_soon(s);
        s->last_rescan_usec = now_usec(CLOCK_MONOTONIC);
}

static SliceFiles *files_new(size_t n) {
        SliceFiles *files = calloc(MAX(n, (size_t) 1), sizeof(SliceFiles));

        for (size_t i = 0; files && i < n; i++)
                for (size_t k = 0; k < _SAMPLE_FILE_MAX; k++)
                        files[i].fd[k] = -EBADF;
        return files;
}

int sampler_set_tree(Sampler *s, const Tree *tree) {
        _cleanup_(slice_set_unrefp) SliceSet *set = NULL;
        SliceFiles *files;
        size_t n_groups = 1 + (tree ? tree->n_nodes : 0), n = n_groups + s->n_users;
        int r = 0;

        assert(s);
        set = slice_set_new(n);
        files = files_new(n);
        if (!set || !files) {
                free(files);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_groups; i++) {
                if (i == 0) {
                        /* The root: the Root= slice, or the whole machine ("-.slice", cgroup "/"). */
                        set->paths[0] = strdup("");
                        set->units[0] = s->root ? NULL : strdup("-.slice");
                        if (s->root && asprintf(&set->units[0], "%s.slice", s->root) < 0)
                                set->units[0] = NULL;
                        if (s->root)
                                r = unit_name_slice_cgroup_path(set->units[0] ? set->units[0] : "", &files[0].cgroup);
                        else
                                r = (files[0].cgroup = strdup("")) ? 0 : -ENOMEM;
                } else {
                        set->paths[i] = strdup(tree->nodes[i - 1]->path);
                        r = unit_name_from_path(s->root, tree->nodes[i - 1]->path, &set->units[i]);
                        if (r >= 0)
                                r = unit_name_slice_cgroup_path(set->units[i], &files[i].cgroup);
                }
                if (r < 0 || !set->paths[i] || !set->units[i]) {
                        r = r < 0 ? r : -ENOMEM;
                        break;
                }
                files[i].depth = i == 0 ? 0 : tree->nodes[i - 1]->depth;
        }
        if (r >= 0)
                r = fill_users(s, set, files, n_groups);
        if (r < 0) {
                files_free(s, files, n);
                return r;
        }
        install_set(s, TAKE_PTR(set), files);
        s->users_changed = false;
        return 0;
}

int sampler_set_users(Sampler *s, const SampleUser *users, size_t n_users) {
        SampleUser *copy;

        assert(s);
        assert(users || n_users == 0);
        copy = calloc(MAX(n_users, (size_t) 1), sizeof(SampleUser));
        if (!copy)
                return -ENOMEM;
        for (size_t k = 0; k < n_users; k++) {
                copy[k].uid = users[k].uid;
                if (users[k].name && !(copy[k].name = strdup(users[k].name))) {
                        sample_users_free(copy, k);
                        return -ENOMEM;
                }
        }
        sample_users_free(s->users, s->n_users);
        s->users = copy;
        s->n_users = n_users;
        /* before the first tree they are only kept: its set takes them */
        s->users_changed = s->set != NULL;
        return 0;
}

/* The set made again with the groups as they are and the users anew. */
static int set_users_apply(Sampler *s) {
        _cleanup_(slice_set_unrefp) SliceSet *set = NULL;
        size_t n_groups = s->set->n_groups, n = n_groups + s->n_users;
        SliceFiles *files;
        int r = 0;

        set = slice_set_new(n);
        files = files_new(n);
        if (!set || !files) {
                free(files);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_groups && r >= 0; i++) {
                set->paths[i] = strdup(s->set->paths[i]);
                set->units[i] = strdup(s->set->units[i]);
                files[i].cgroup = strdup(s->files[i].cgroup);
                files[i].depth = s->files[i].depth;
                if (!set->paths[i] || !set->units[i] || !files[i].cgroup)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = fill_users(s, set, files, n_groups);
        if (r < 0) {
                files_free(s, files, n);
                return r;
        }
        install_set(s, TAKE_PTR(set), files);
        s->user_set_changes++;
        return 0;
}

int sampler_new(sd_event *event, const SamplerConfig *config, SamplerTick tick, void *userdata, Sampler **ret) {
        _cleanup_(sampler_freep) Sampler *s = NULL;
        int r;

        assert(event);
        assert(config);
        assert(ret);
        s = calloc(1, sizeof(Sampler));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->tick = tick;
        s->userdata = userdata;
        s->interval_usec = MAX(config->interval_usec / USEC_PER_SEC, (usec_t) 1) * USEC_PER_SEC;
        s->fd_reserve = config->fd_reserve;
        if (config->root && !(s->root = strdup(config->root)))
                return -ENOMEM;
        s->buffer = malloc(READ_BUFFER_SIZE);
        s->slots = malloc(BATCH_REQUESTS * SLOT_SIZE);
        if (!s->buffer || !s->slots)
                return -ENOMEM;
        r = pread_batch_new(/* depth= */ BATCH_REQUESTS, &s->batch);
        if (r < 0)
                return r;
        r = cgroup_layout_load(&s->layout);
        if (r < 0)
                return log_error_errno(r, "Cannot find the cgroup hierarchies: %m");
        budget_apply(s, /* force= */ true); /* no slices yet: the limit and reserve for status */
        r = sd_event_add_time(event, &s->timer, CLOCK_REALTIME, next_tick(s, now_usec(CLOCK_REALTIME)),
                              USEC_PER_MSEC, on_timer, s);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &s->io_timer, CLOCK_MONOTONIC, IO_CHECK_FIRST_USEC,
                                       /* accuracy= */ 100 * USEC_PER_MSEC, on_io_timer, s);
        if (r < 0)
                return r;
        r = sd_event_add_defer(event, &s->opener, on_opener, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->opener, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->opener, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

Sampler *sampler_free(Sampler *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->timer);
        sd_event_source_disable_unref(s->io_timer);
        sd_event_source_disable_unref(s->opener);
        files_free(s, s->files, s->set ? s->set->n : 0);
        slice_set_unref(s->set);
        sample_users_free(s->users, s->n_users);
        cgroup_layout_done(&s->layout);
        sd_event_unref(s->event);
        pread_batch_free(s->batch);
        free(s->slots);
        free(s->buffer);
        free(s->root);
        free(s);
        return NULL;
}

usec_t sampler_sweep_cpu_usec_total(const Sampler *s) {
        assert(s);
        return s->sweep_total_usec;
}

uint64_t sampler_ticks(const Sampler *s) {
        assert(s);
        return s->ticks;
}

usec_t sampler_sweep_cpu_usec_last(const Sampler *s) {
        assert(s);
        return s->sweep_last_usec;
}

/* No limit (RLIM_INFINITY) shows as the largest integer JSON has here. */
static json_int_t json_limit(uint64_t v) {
        return v > (uint64_t) INT64_MAX ? (json_int_t) INT64_MAX : (json_int_t) v;
}

static json_t *budget_json(const Sampler *s) {
        const FdBudget *b = &s->budget;
        json_t *kept = json_array(), *dropped = json_array(), *left_out = json_array();

        for (unsigned l = 0; l < FD_BUDGET_LEVELS; l++)
                json_array_append_new(l <= b->level ? kept : dropped, json_string(fd_budget_level_name(l)));
        for (size_t i = 0, k = 0; s->set && i < s->set->n && k < LEFT_OUT_SHOWN; i++)
                if (s->files[i].left_out) {
                        json_array_append_new(left_out, json_string(s->set->paths[i]));
                        k++;
                }
        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:o, s:I}", "limit", json_limit(b->limit),
                         "reserve", (json_int_t) b->reserve, "files", json_limit(b->files), "open",
                         (json_int_t) s->n_open, "per_slice",
                         (json_int_t) fd_budget_slice_cost(&s->layout, s->keep), "kept", kept, "dropped", dropped,
                         "slices_sampled", (json_int_t) b->n_sampled, "slices_left_out",
                         (json_int_t) (b->n_slices - b->n_sampled), "left_out", left_out, "refused",
                         (json_int_t) s->budget_refused);
}

json_t *sampler_status_json(const Sampler *s) {
        json_t *layout = json_object();

        assert(s);
        for (CgController c = 0; c < _CG_CONTROLLER_MAX; c++) {
                static const char *const names[_CG_CONTROLLER_MAX] = {
                        [CG_CPU] = "cpu", [CG_CPUACCT] = "cpuacct", [CG_MEMORY] = "memory", [CG_IO] = "io",
                        [CG_PIDS] = "pids",
                };
                json_object_set_new(layout, names[c], s->layout.v1[c] ? json_string(s->layout.v1[c]) : json_null());
        }
        json_object_set_new(layout, "unified", s->layout.unified ? json_string(s->layout.unified) : json_null());
        size_t complete = 0;

        for (size_t i = 0; s->set && i < s->set->n; i++)
                complete += s->files[i].complete;
        return json_pack("{s:I, s:I, s:o, s:I, s:{s:I, s:I, s:I}, s:I, s:s, s:o, s:o*, s:I, s:I, s:I, s:I, s:I}",
                         "slices",
                         (json_int_t) (s->set ? s->set->n : 0), "slices_complete", (json_int_t) complete,
                         "budget", budget_json(s),
                         "ticks", (json_int_t) s->ticks, "sweep_cpu_usec", "last", (json_int_t) s->sweep_last_usec,
                         "avg", (json_int_t) (s->ticks ? s->sweep_total_usec / s->ticks : 0), "max",
                         (json_int_t) s->sweep_max_usec, "sweep_cpu_usec_total", (json_int_t) s->sweep_total_usec,
                         "reads", pread_batch_uses_io_uring(s->batch) ? "io_uring" : "pread", "layout", layout,
                         "io_devices", s->io_checks > 0 ? io_coverage_to_json(&s->io_coverage) : NULL,
                         "io_checks", (json_int_t) s->io_checks, "io_partition_lookups",
                         (json_int_t) s->partition_lookups, "open_batches", (json_int_t) s->n_open_batches,
                         "carried_over", (json_int_t) s->n_carried_over, "user_set_changes",
                         (json_int_t) s->user_set_changes);
}

const CgroupLayout *sampler_layout(const Sampler *s) {
        return &s->layout;
}

void sampler_set_fd_per_slice_other(Sampler *s, unsigned n) {
        assert(s);
        if (s->fd_per_slice_other == n)
                return;
        s->fd_per_slice_other = n;
        budget_apply(s, /* force= */ false);
}
