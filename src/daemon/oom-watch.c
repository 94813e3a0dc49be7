/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fileio.h"
#include "inotify-watch.h"
#include "kmsg.h"
#include "log-once.h"
#include "log.h"
#include "oom-watch.h"
#include "strmap.h"
#include "unit-name.h"

#define COUNTER_FILE_MAX 4096        /* memory.events, memory.oom_control: a few short lines */
#define KMSG_BATCH_MAX 1024           /* records read per wakeup; the rest on the next iteration */
#define V1_SWEEP_DIRS_MAX 256        /* cgroups below a watched one looked at in one sweep */
#define V1_SWEEP_DEPTH_MAX 8
/* v1's eventfd fires when the OOM starts, before the kill: the counters are looked at again after these
 * delays (and at once on each of the kernel log's OOM lines). Only after a notification: no timer otherwise. */
static const usec_t v1_followups[] = { 5 * USEC_PER_MSEC, 20 * USEC_PER_MSEC, 60 * USEC_PER_MSEC,
                                       200 * USEC_PER_MSEC, 600 * USEC_PER_MSEC, 1500 * USEC_PER_MSEC };

typedef struct Slice {
        OomWatchSlice s;       /* its strings owned */
        char *cgroup;          /* "/sk.slice/sk-a.slice" */
        char *dir;             /* mount + cgroup */
        bool watched;
        bool removed;          /* v2: its cgroup went away (IN_IGNORED): made again, its counters start at 0 */
        int wd;                /* v2: the inotify watch, -1: none */
        int efd;               /* v1: the eventfd, -EBADF: none */
        sd_event_source *io;   /* v1: on efd */
        unsigned followup;     /* v1: the next of v1_followups[] (ELEMENTSOF: none due) */
        usec_t followup_at;
} Slice;

struct OomWatch {
        sd_event *event;
        bool v2;
        char *mount;           /* of the memory controller's hierarchy; NULL: none (mode off) */
        OomMatch *match;
        Slice *slices;
        size_t n_slices;
        InotifyWatch *inotify; /* v2 */
        sd_event_source *timer;
        OomWatchKillFn fn;
        void *userdata;
        /* the kernel log */
        int kmsg_fd;
        sd_event_source *kmsg_io;
        char *kmsg_error;
        uint64_t kmsg_records, kmsg_lost, kmsg_oom_lines, kmsg_unparsed;
        uint64_t victims_unplaced;
        uint64_t kmsg_clock_ahead;   /* victims whose kernel timestamp is later than CLOCK_MONOTONIC now */   /* "Killed process" lines alone whose /proc/PID/cgroup was gone */
        /* counters */
        uint64_t wakeups, kills;
        usec_t latency_last, latency_max;
        LogOnce watch_error;
};

static void watch_arm_timer(OomWatch *w);
static void kmsg_drain(OomWatch *w);

static void slice_unwatch(OomWatch *w, Slice *s) {
        if (s->wd >= 0 && w->inotify)
                (void) inotify_watch_rm(w->inotify, s->wd);
        s->wd = -1;
        s->io = sd_event_source_disable_unref(s->io);
        if (s->efd >= 0)
                close(s->efd);
        s->efd = -EBADF;
        s->watched = false;
        s->followup = ELEMENTSOF(v1_followups);
}

static void slice_done(OomWatch *w, Slice *s) {
        slice_unwatch(w, s);
        free((char *) s->s.unit);
        free((char *) s->s.user);
        free(s->cgroup);
        free(s->dir);
}

OomWatch *oom_watch_free(OomWatch *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < w->n_slices; i++)
                slice_done(w, &w->slices[i]);
        free(w->slices);
        w->inotify = inotify_watch_free(w->inotify);
        w->timer = sd_event_source_disable_unref(w->timer);
        w->kmsg_io = sd_event_source_disable_unref(w->kmsg_io);
        if (w->kmsg_fd >= 0)
                close(w->kmsg_fd);
        oom_match_free(w->match);
        free(w->mount);
        free(w->kmsg_error);
        log_once_reset(&w->watch_error);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

static int read_counter_file(const char *dir, const char *file, char *buf, size_t size, size_t *ret_size) {
        char path[PATH_MAX];
        _cleanup_(closep) int fd = -EBADF;
        ssize_t n;

        if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size);
        if (n < 0)
                return -errno;
        if ((size_t) n == size)
                return -EFBIG;
        *ret_size = (size_t) n;
        return 0;
}

static int read_memory_events(const char *dir, CgMemoryEvents *ret) {
        char buf[COUNTER_FILE_MAX];
        size_t size;
        int r;

        r = read_counter_file(dir, "memory.events", buf, sizeof(buf), &size);
        if (r < 0)
                return r;
        return cg_parse_memory_events(buf, size, ret);
}

static int read_oom_control(const char *dir, CgOomControl *ret) {
        char buf[COUNTER_FILE_MAX];
        size_t size;
        int r;

        r = read_counter_file(dir, "memory.oom_control", buf, sizeof(buf), &size);
        if (r < 0)
                return r;
        r = cg_parse_oom_control(buf, size, ret);
        if (r >= 0 && !ret->has_oom_kill)
                return -EOPNOTSUPP; /* before Linux 4.13: nothing to count */
        return r;
}

static uint64_t read_u64_file(const char *dir, const char *file) {
        char buf[64];
        size_t size;
        uint64_t v;

        if (read_counter_file(dir, file, buf, sizeof(buf), &size) < 0 || cg_parse_u64(buf, size, &v) < 0)
                return UINT64_MAX;
        return v;
}

static int on_v2_read(size_t node, uint64_t *ret_oom_kill, uint64_t *ret_oom_group_kill, void *userdata) {
        OomWatch *w = userdata;
        CgMemoryEvents ev;
        int r;

        if (node >= w->n_slices)
                return -ENOENT;
        r = read_memory_events(w->slices[node].dir, &ev);
        if (r < 0)
                return r;
        *ret_oom_kill = ev.oom_kill;
        *ret_oom_group_kill = ev.oom_group_kill;
        return 0;
}

/* v1: the node's cgroup and those below it that no deeper watched slice holds, each counter once. */
static void v1_sweep_dir(OomWatch *w, size_t node, const char *dir, const char *rel, unsigned depth, size_t *budget,
                         bool baseline, usec_t now) {
        _cleanup_(closedirp) DIR *d = NULL;
        CgOomControl oc;
        struct dirent *de;

        if (*budget == 0)
                return;
        (*budget)--;
        if (read_oom_control(dir, &oc) >= 0) {
                if (!baseline)
                        log_debug("OOM watch: %s oom_kill %" PRIu64, dir, oc.oom_kill);
                oom_match_v1_observe(w->match, node, rel, oc.oom_kill, baseline, now);
        }
        if (depth >= V1_SWEEP_DEPTH_MAX)
                return;
        d = opendir(dir);
        if (!d)
                return;
        while ((de = readdir(d)) && *budget > 0) {
                _cleanup_(freep) char *sub = NULL, *subrel = NULL;
                const char *cg;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (asprintf(&sub, "%s/%s", dir, de->d_name) < 0 ||
                    asprintf(&subrel, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0) {
                        sub = subrel = NULL;
                        return;
                }
                /* A deeper watched slice sweeps its own. */
                cg = sub + strlen(w->mount);
                if (oom_match_node_of(w->match, cg) != node)
                        continue;
                v1_sweep_dir(w, node, sub, subrel, depth + 1, budget, baseline, now);
        }
}

static void v1_sweep(OomWatch *w, size_t node, bool baseline) {
        size_t budget = V1_SWEEP_DIRS_MAX;

        oom_match_v1_begin(w->match, node);
        v1_sweep_dir(w, node, w->slices[node].dir, "", 0, &budget, baseline, now_usec(CLOCK_MONOTONIC));
        oom_match_v1_end(w->match, node);
}

/* v1: a victim whose own cgroup is gone can never be counted (v1 counts a kill there only): reported now
 * from the kernel log rather than after the wait. `after_kill`: the slices were just looked at after the
 * "Killed process" lines read so far (the kernel counts before it writes that line): a victim that has its
 * line and still no count will get none. */
static void v1_check_victims(OomWatch *w, bool after_kill) {
        if (w->v2)
                return;
        for (size_t i = oom_match_n_waiting_victims(w->match); i > 0; i--) {
                _cleanup_(freep) char *dir = NULL;
                const OomVictim *v;
                const char *rest;
                size_t node;

                v = oom_match_waiting_victim(w->match, i - 1, &node);
                if (!v || node >= w->n_slices)
                        continue;
                if (after_kill && v->has_rss) {
                        oom_match_victim_uncountable(w->match, i - 1);
                        continue;
                }
                if (!v->task_memcg)
                        continue;
                rest = oom_match_rest_below(v->task_memcg, w->slices[node].cgroup);
                if (!rest || asprintf(&dir, "%s%s", w->slices[node].dir, rest) < 0) {
                        dir = NULL;
                        continue;
                }
                if (access(dir, F_OK) < 0 && errno == ENOENT)
                        oom_match_victim_uncountable(w->match, i - 1);
        }
}

/* v1, after a "Killed process" line (the kill is counted by now): the slices with an OOM under way, and those
 * a waiting victim is in, are looked at again. */
static void v1_after_kill(OomWatch *w) {
        if (w->v2)
                return;
        for (size_t i = 0; i < w->n_slices; i++) {
                bool victim = false;

                for (size_t k = 0; k < oom_match_n_waiting_victims(w->match) && !victim; k++) {
                        size_t node;

                        (void) oom_match_waiting_victim(w->match, k, &node);
                        victim = node == i;
                }
                if (w->slices[i].watched && (victim || w->slices[i].followup < ELEMENTSOF(v1_followups)))
                        v1_sweep(w, i, false);
        }
        v1_check_victims(w, /* after_kill= */ true);
}

static void v1_followup_start(OomWatch *w, Slice *s, usec_t now) {
        s->followup = 0;
        s->followup_at = usec_add(now, v1_followups[0]);
}

static int on_v1_eventfd(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        OomWatch *w = userdata;
        size_t node = SIZE_MAX;
        uint64_t value;

        for (size_t i = 0; i < w->n_slices; i++)
                if (w->slices[i].io == es) {
                        node = i;
                        break;
                }
        (void) read(fd, &value, sizeof(value));
        if (node == SIZE_MAX)
                return 0;
        w->wakeups++;
        /* Also fired when the cgroup is removed: then it is gone, and nothing was killed. */
        if (access(w->slices[node].dir, F_OK) < 0) {
                slice_unwatch(w, &w->slices[node]);
                return 0;
        }
        kmsg_drain(w);
        v1_sweep(w, node, false);
        v1_followup_start(w, &w->slices[node], now_usec(CLOCK_MONOTONIC));
        watch_arm_timer(w);
        return 0;
}

/* Watches one slice whose cgroup exists; its counters now are the baseline. */
static int slice_watch(OomWatch *w, size_t node) {
        Slice *s = &w->slices[node];
        char buf[64];
        int r;

        if (s->watched)
                return 0;
        if (w->v2) {
                CgMemoryEvents ev;
                char path[PATH_MAX];

                if ((size_t) snprintf(path, sizeof(path), "%s/memory.events", s->dir) >= sizeof(path))
                        return -ENAMETOOLONG;
                r = inotify_watch_add(w->inotify, path, IN_MODIFY);
                if (r < 0)
                        return r;
                s->wd = r;
                r = read_memory_events(s->dir, &ev);
                if (r < 0) {
                        slice_unwatch(w, s);
                        return r;
                }
                if (oom_match_node_needs_baseline(w->match, node) || s->removed)
                        oom_match_baseline(w->match, node, ev.oom_kill, ev.oom_group_kill);
                else
                        /* Watched before (a rewatch after lost events): what moved meanwhile is new. */
                        oom_match_v2_changed(w->match, node, on_v2_read, w, now_usec(CLOCK_MONOTONIC));
                s->removed = false;
        } else {
                _cleanup_(closep) int cfd = -EBADF, ctl = -EBADF;
                char path[PATH_MAX];

                if ((size_t) snprintf(path, sizeof(path), "%s/memory.oom_control", s->dir) >= sizeof(path))
                        return -ENAMETOOLONG;
                cfd = open(path, O_RDONLY | O_CLOEXEC);
                if (cfd < 0)
                        return -errno;
                snprintf(path, sizeof(path), "%s/cgroup.event_control", s->dir);
                ctl = open(path, O_WRONLY | O_CLOEXEC);
                if (ctl < 0)
                        return -errno;
                s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (s->efd < 0) {
                        s->efd = -EBADF;
                        return -errno;
                }
                snprintf(buf, sizeof(buf), "%d %d", s->efd, cfd);
                /* The registration holds the eventfd only: the control file may close. */
                if (write(ctl, buf, strlen(buf)) < 0) {
                        r = -errno;
                        slice_unwatch(w, s);
                        return r;
                }
                r = sd_event_add_io(w->event, &s->io, s->efd, EPOLLIN, on_v1_eventfd, w);
                if (r < 0) {
                        slice_unwatch(w, s);
                        return r;
                }
                v1_sweep(w, node, oom_match_node_needs_baseline(w->match, node));
        }
        s->watched = true;
        return 0;
}

/* v1: how many eventfds the watch may hold: a quarter of the descriptor limit. */
static size_t v1_fd_room(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return SIZE_MAX;
        return (size_t) (rl.rlim_cur / 4);
}

void oom_watch_rescan(OomWatch *w) {
        size_t failed = 0, short_room = 0, room = SIZE_MAX, held = 0;
        int first = 0;

        if (!w || !w->mount)
                return;
        if (!w->v2) {
                room = v1_fd_room();
                held = oom_watch_fds(w);
        }
        for (size_t i = 0; i < w->n_slices; i++) {
                int r;

                if (w->slices[i].watched)
                        continue;
                if (held >= room) {
                        short_room++; /* the quarter of the descriptor limit is taken */
                        continue;
                }
                r = slice_watch(w, i);
                if (r >= 0 && !w->v2)
                        held++;
                if (r < 0 && r != -ENOENT) {
                        failed++;
                        if (!first)
                                first = r;
                }
        }
        if (failed == 0 && short_room == 0)
                log_once_reset(&w->watch_error);
        else if (log_once_should(&w->watch_error, failed > 0 ? STRERROR(first) : "descriptor limit")) {
                if (failed > 0)
                        log_warning_errno(first, "OOM watch: %zu slices cannot be watched for OOM kills: %m", failed);
                else
                        log_warning("OOM watch: %zu slices are not watched for OOM kills: the watch holds at most "
                                    "%zu eventfds, a quarter of the descriptor limit.", short_room, room);
        }
        watch_arm_timer(w);
}

static void on_inotify(InotifyWatch *iw, const struct inotify_event *e, void *userdata) {
        OomWatch *w = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        w->wakeups++;
        /* The victim's line was written before the counter moved: read it first. */
        kmsg_drain(w);
        if (!e) {
                /* Events lost: every counter is looked at again. */
                for (size_t i = 0; i < w->n_slices; i++)
                        if (w->slices[i].watched)
                                oom_match_v2_changed(w->match, i, on_v2_read, w, now);
        } else if (e->mask & IN_IGNORED) {
                for (size_t i = 0; i < w->n_slices; i++)
                        if (w->slices[i].wd == e->wd) {
                                w->slices[i].wd = -1;
                                w->slices[i].watched = false;
                                w->slices[i].removed = true;
                        }
        } else
                for (size_t i = 0; i < w->n_slices; i++)
                        if (w->slices[i].wd == e->wd) {
                                oom_match_v2_changed(w->match, i, on_v2_read, w, now);
                                break;
                        }
        watch_arm_timer(w);
}

static int on_inotify_rewatch(InotifyWatch *iw, void *userdata) {
        OomWatch *w = userdata;

        for (size_t i = 0; i < w->n_slices; i++) {
                w->slices[i].wd = -1;
                w->slices[i].watched = false;
        }
        oom_watch_rescan(w);
        return 0;
}

/* A victim's line: handed over with its "Killed process" line when that follows in the same batch. */
typedef struct VictimBuf {
        bool have;
        KmsgOomKill kill, next;
        KmsgKilledProcess killed;
        bool have_killed;
        uint64_t usec;
} VictimBuf;

static void victim_flush(OomWatch *w, VictimBuf *vb) {
        OomVictim v;
        size_t node;

        if (!vb->have)
                return;
        vb->have = false;
        v = (OomVictim) {
                .kernel_usec = vb->usec,
                .pid = vb->kill.pid,
                .uid = vb->kill.uid,
                .task_memcg = vb->kill.task_memcg[0] ? vb->kill.task_memcg : NULL,
                .comm = vb->kill.comm,
                .oom_memcg = vb->kill.has_oom_memcg ? vb->kill.oom_memcg : NULL,
                .constraint = vb->kill.constraint[0] ? vb->kill.constraint : NULL,
                .has_rss = vb->have_killed,
                .total_vm_kb = vb->killed.total_vm_kb,
                .anon_rss_kb = vb->killed.anon_rss_kb,
                .file_rss_kb = vb->killed.file_rss_kb,
                .shmem_rss_kb = vb->killed.shmem_rss_kb,
        };
        node = v.task_memcg ? oom_match_node_of(w->match, v.task_memcg) : SIZE_MAX;
        /* v1 counts the kill in the victim's own cgroup only, by now: look before it can go away. */
        if (!w->v2 && node != SIZE_MAX && w->slices[node].watched) {
                v1_sweep(w, node, false);
                v1_followup_start(w, &w->slices[node], now_usec(CLOCK_MONOTONIC));
        }
        (void) oom_match_victim(w->match, &v, now_usec(CLOCK_MONOTONIC));
}

/* A victim known from its "Killed process" line alone: its memcg read from /proc/PID/cgroup (it is dying:
 * still there for a moment), else not known (matched to a waiting count in any slice). */
static void victim_from_killed(OomWatch *w, VictimBuf *vb, uint64_t usec) {
        char path[64], buf[4096];
        size_t size;
        int r;

        vb->kill = (KmsgOomKill) {
                .pid = vb->killed.pid,
                .uid = vb->killed.has_uid ? vb->killed.uid : 0,
        };
        memcpy(vb->kill.comm, vb->killed.comm, sizeof(vb->kill.comm));
        snprintf(path, sizeof(path), "/proc/%" PRIu32, vb->killed.pid);
        /* The kernel log has the pid of the initial pid namespace: in another (a container), /proc/PID may be
         * someone else. Only the same comm counts. */
        r = read_counter_file(path, "comm", buf, sizeof(buf), &size);
        if (r >= 0 && (size == 0 || buf[size - 1] != '\n' || size - 1 != strlen(vb->killed.comm) ||
                       memcmp(buf, vb->killed.comm, size - 1) != 0))
                r = -ESRCH;
        if (r >= 0)
                r = read_counter_file(path, "cgroup", buf, sizeof(buf), &size);
        if (r >= 0)
                r = cg_parse_proc_cgroup(buf, size, w->v2 ? NULL : "memory", vb->kill.task_memcg,
                                         sizeof(vb->kill.task_memcg));
        if (r < 0 && !w->v2 && vb->killed.memcg) {
                /* v1: the slice whose eventfd said an OOM is under way, when it is the only one. */
                size_t found = SIZE_MAX, n = 0;

                for (size_t i = 0; i < w->n_slices; i++)
                        if (w->slices[i].followup < ELEMENTSOF(v1_followups)) {
                                found = i;
                                n++;
                        }
                if (n == 1 && strlen(w->slices[found].cgroup) < sizeof(vb->kill.task_memcg)) {
                        strcpy(vb->kill.task_memcg, w->slices[found].cgroup);
                        r = 0;
                }
        }
        if (r < 0) {
                w->victims_unplaced++;
                vb->kill.task_memcg[0] = '\0';
        }
        vb->have = true;
        vb->have_killed = true;
        vb->usec = usec;
}

static void kmsg_close(OomWatch *w, int error) {
        w->kmsg_io = sd_event_source_disable_unref(w->kmsg_io);
        if (w->kmsg_fd >= 0)
                close(w->kmsg_fd);
        w->kmsg_fd = -EBADF;
        free(w->kmsg_error);
        w->kmsg_error = strdup(STRERROR(error));
        oom_match_set_kmsg(w->match, false);
        log_warning_errno(error, "OOM watch: cannot read the kernel log any more (%m): OOM kills are reported "
                                 "without their victim.");
}

/* Reads what the kernel log has now (non-blocking, bounded), keeping the OOM lines. */
static void kmsg_drain(OomWatch *w) {
        _cleanup_(freep) VictimBuf *vb = NULL;
        char buf[KMSG_RECORD_MAX + 1];

        if (w->kmsg_fd < 0)
                return;
        vb = calloc(1, sizeof(VictimBuf));
        if (!vb)
                return;
        for (unsigned i = 0; i < KMSG_BATCH_MAX; i++) {
                KmsgRecord rec;
                ssize_t n = read(w->kmsg_fd, buf, KMSG_RECORD_MAX);

                if (n < 0) {
                        if (errno == EAGAIN)
                                break;
                        if (errno == EPIPE) {
                                /* Overwritten before we read them: counters still report their kills. */
                                w->kmsg_lost++;
                                continue;
                        }
                        if (errno == EINTR)
                                continue;
                        victim_flush(w, vb);
                        kmsg_close(w, -errno);
                        return;
                }
                if (n == 0)
                        break;
                w->kmsg_records++;
                if (kmsg_parse_record(buf, (size_t) n, &rec) < 0) {
                        w->kmsg_unparsed++;
                        continue;
                }
                if (kmsg_parse_oom_kill(rec.text, rec.text_size, &vb->next) >= 0) {
                        w->kmsg_oom_lines++;
                        /* The one before had no "Killed process" line in this batch: it goes alone. */
                        victim_flush(w, vb);
                        vb->kill = vb->next;
                        vb->have = true;
                        vb->have_killed = false;
                        vb->usec = rec.usec;
                        continue;
                }
                if (kmsg_parse_killed_process(rec.text, rec.text_size, &vb->killed) >= 0) {
                        w->kmsg_oom_lines++;
                        if (vb->have && vb->killed.pid == vb->kill.pid)
                                vb->have_killed = true;
                        else if (!oom_match_victim_rss(w->match, vb->killed.pid, vb->killed.total_vm_kb,
                                                       vb->killed.anon_rss_kb, vb->killed.file_rss_kb,
                                                       vb->killed.shmem_rss_kb)) {
                                /* No "oom-kill:" line before it: the kernel rate-limits the OOM report (10
                                 * in 5 s), never this line. The victim's cgroup from /proc while it lasts. */
                                victim_flush(w, vb);
                                victim_from_killed(w, vb, rec.usec);
                        }
                        victim_flush(w, vb);
                        v1_after_kill(w);
                }
        }
        victim_flush(w, vb);
}

static int on_kmsg(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        OomWatch *w = userdata;

        kmsg_drain(w);
        watch_arm_timer(w);
        return 0;
}

static void kmsg_open(OomWatch *w, const char *path) {
        int r;

        w->kmsg_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (w->kmsg_fd < 0) {
                r = -errno;
                w->kmsg_fd = -EBADF;
                w->kmsg_error = strdup(STRERROR(r));
                log_internal(LOG_INFO, r, NULL,
                             "OOM watch: %s is not readable (%m): OOM kills are reported without their victim.", path);
                return;
        }
        /* Only what happens from now on: never the log's history. */
        if (lseek(w->kmsg_fd, 0, SEEK_END) < 0) {
                r = -errno;
                kmsg_close(w, r);
                return;
        }
        r = sd_event_add_io(w->event, &w->kmsg_io, w->kmsg_fd, EPOLLIN, on_kmsg, w);
        if (r < 0) {
                kmsg_close(w, r);
                return;
        }
        oom_match_set_kmsg(w->match, true);
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        OomWatch *w = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        kmsg_drain(w);
        for (size_t i = 0; i < w->n_slices; i++) {
                Slice *s = &w->slices[i];

                if (s->followup >= ELEMENTSOF(v1_followups) || s->followup_at > now)
                        continue;
                if (s->watched)
                        v1_sweep(w, i, false);
                s->followup++;
                if (s->followup < ELEMENTSOF(v1_followups))
                        s->followup_at = usec_add(now, v1_followups[s->followup] - v1_followups[s->followup - 1]);
        }
        v1_check_victims(w, /* after_kill= */ false);
        oom_match_expire(w->match, now);
        watch_arm_timer(w);
        return 0;
}

/* The one timer, at the earliest thing due; off when nothing is. */
static void watch_arm_timer(OomWatch *w) {
        usec_t due = oom_match_next_deadline(w->match);
        int r;

        for (size_t i = 0; i < w->n_slices; i++)
                if (w->slices[i].followup < ELEMENTSOF(v1_followups))
                        due = MIN(due, w->slices[i].followup_at);
        if (due == USEC_INFINITY) {
                if (w->timer)
                        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
                return;
        }
        if (!w->timer) {
                r = sd_event_add_time(w->event, &w->timer, CLOCK_MONOTONIC, due, USEC_PER_MSEC, on_timer, w);
                if (r < 0)
                        log_warning_errno(r, "OOM watch: cannot set its timer: %m");
                return;
        }
        (void) sd_event_source_set_time(w->timer, due);
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

static void on_report(OomMatch *m, const OomReport *r, void *userdata) {
        OomWatch *w = userdata;
        Slice *s = &w->slices[r->node];
        usec_t now_mono = now_usec(CLOCK_MONOTONIC), now_wall = now_usec(CLOCK_REALTIME);
        OomKill k = {
                .slice = &s->s,
                .cgroup = s->cgroup,
                .report = r,
                .v2 = w->v2,
                .memory_max = read_u64_file(s->dir, w->v2 ? "memory.max" : "memory.limit_in_bytes"),
                .memory_current = read_u64_file(s->dir, w->v2 ? "memory.current" : "memory.usage_in_bytes"),
                .latency_usec = USEC_INFINITY,
        };

        if (r->victim && r->victim->kernel_usec > now_mono)
                /* The kernel log's clock (sched_clock) ahead of CLOCK_MONOTONIC: seen in emulated guests. No
                 * latency then, rather than a wrong one. */
                w->kmsg_clock_ahead++;
        if (r->victim && r->victim->kernel_usec > 0 && r->victim->kernel_usec <= now_mono) {
                k.latency_usec = now_mono - r->victim->kernel_usec;
                k.kill_wall_usec = now_wall - MIN(k.latency_usec, now_wall);
                w->latency_last = k.latency_usec;
                w->latency_max = MAX(w->latency_max, k.latency_usec);
        } else
                k.kill_wall_usec = now_wall - MIN(now_mono - MIN(r->detected_usec, now_mono), now_wall);
        w->kills += r->killed;
        if (w->fn)
                w->fn(w, &k, w->userdata);
}

int oom_watch_new(sd_event *event, const CgroupLayout *layout, const char *kmsg_path, OomWatchKillFn fn,
                  void *userdata, OomWatch **ret) {
        _cleanup_(oom_watch_freep) OomWatch *w = NULL;
        int r;

        assert(event);
        assert(layout);
        assert(ret);

        w = calloc(1, sizeof(OomWatch));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        w->kmsg_fd = -EBADF;
        w->fn = fn;
        w->userdata = userdata;
        r = oom_match_new(on_report, w, &w->match);
        if (r < 0)
                return r;
        if (layout->v1[CG_MEMORY])
                w->mount = strdup(layout->v1[CG_MEMORY]);
        else if (layout->unified) {
                w->v2 = true;
                w->mount = strdup(layout->unified);
        }
        if ((layout->v1[CG_MEMORY] || layout->unified) && !w->mount)
                return -ENOMEM;
        oom_match_set_flat(w->match, !w->v2);
        if (!w->mount) {
                log_info("OOM watch: no memory controller hierarchy: OOM kills are not watched.");
                *ret = TAKE_PTR(w);
                return 0;
        }
        if (w->v2) {
                r = inotify_watch_new(event, "memory.events of the watched slices", on_inotify, on_inotify_rewatch,
                                      w, &w->inotify);
                if (r < 0)
                        return r;
        }
        if (!kmsg_path)
                kmsg_path = "/dev/kmsg";
        if (!isempty(kmsg_path))
                kmsg_open(w, kmsg_path);
        else
                w->kmsg_error = strdup("not read ([OOM] KernelLog= is empty)");
        *ret = TAKE_PTR(w);
        return 0;
}

int oom_watch_set_slices(OomWatch *w, const OomWatchSlice *slices, size_t n) {
        _cleanup_(freep) const char **paths = NULL;
        _cleanup_(strmap_done) StrMap seen = { 0 }, old = { 0 };
        Slice *new;
        size_t k = 0;
        int r;

        assert(w);
        if (!w->mount)
                return 0;
        n = MIN(n, (size_t) OOM_NODES_MAX);
        new = calloc(MAX(n, (size_t) 1), sizeof(Slice));
        paths = calloc(MAX(n, (size_t) 1), sizeof(char *));
        if (!new || !paths) {
                free(new);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                Slice *s = &new[k];
                bool dup = false;

                *s = (Slice) { .wd = -1, .efd = -EBADF, .followup = ELEMENTSOF(v1_followups) };
                /* The machine's root cgroup ("-.slice") has no memory.events nor a limit: not watched. */
                if (!slices[i].unit || streq(slices[i].unit, "-.slice"))
                        continue;
                r = unit_name_slice_cgroup_path(slices[i].unit, &s->cgroup);
                if (r < 0)
                        continue;
                r = strmap_put(&seen, s->cgroup, s);
                dup = r == -EEXIST;
                if (r < 0 && !dup) {
                        free(s->cgroup);
                        for (size_t j = 0; j < k; j++)
                                slice_done(w, &new[j]);
                        free(new);
                        return r;
                }
                if (dup) {
                        free(s->cgroup);
                        continue;
                }
                s->s = (OomWatchSlice) {
                        .unit = strdup(slices[i].unit),
                        .is_user = slices[i].is_user,
                        .uid = slices[i].uid,
                        .user = slices[i].user ? strdup(slices[i].user) : NULL,
                };
                if (asprintf(&s->dir, "%s%s", w->mount, s->cgroup) < 0)
                        s->dir = NULL;
                if (!s->s.unit || !s->dir || (slices[i].user && !s->s.user)) {
                        for (size_t j = 0; j <= k; j++)
                                slice_done(w, &new[j]);
                        free(new);
                        return -ENOMEM;
                }
                paths[k++] = s->cgroup;
        }
        /* Kept slices keep their watch. */
        for (size_t i = 0; i < w->n_slices; i++) {
                Slice *o = &w->slices[i], *s = strmap_get(&seen, o->cgroup);

                if (!s)
                        continue;
                s->watched = o->watched;
                s->wd = o->wd;
                s->efd = o->efd;
                s->io = o->io;
                s->followup = o->followup;
                s->followup_at = o->followup_at;
                o->wd = -1;
                o->efd = -EBADF;
                o->io = NULL;
                r = strmap_put(&old, s->cgroup, o); /* to give it back if what follows fails */
                if (r < 0 && r != -EEXIST) {
                        o->wd = s->wd;
                        o->efd = s->efd;
                        o->io = s->io;
                        s->wd = -1;
                        s->efd = -EBADF;
                        s->io = NULL;
                        s->watched = false;
                }
        }
        r = oom_match_set_nodes(w->match, paths, k, now_usec(CLOCK_MONOTONIC));
        if (r < 0) {
                for (size_t j = 0; j < k; j++) {
                        Slice *o = strmap_get(&old, new[j].cgroup);

                        /* Give the kept watches back first. */
                        if (o) {
                                o->wd = new[j].wd;
                                o->efd = new[j].efd;
                                o->io = new[j].io;
                                new[j].wd = -1;
                                new[j].efd = -EBADF;
                                new[j].io = NULL;
                        }
                        slice_done(w, &new[j]);
                }
                free(new);
                return r;
        }
        for (size_t i = 0; i < w->n_slices; i++)
                slice_done(w, &w->slices[i]);
        free(w->slices);
        w->slices = new;
        w->n_slices = k;
        oom_watch_rescan(w);
        return 0;
}

unsigned oom_watch_fds_per_slice(const OomWatch *w) {
        return w && w->mount && !w->v2 ? 1 : 0;
}

size_t oom_watch_fds(const OomWatch *w) {
        size_t n = 0;

        for (size_t i = 0; w && i < w->n_slices; i++)
                n += w->slices[i].efd >= 0;
        return n;
}


size_t oom_watch_n_slices(const OomWatch *w) {
        return w ? w->n_slices : 0;
}

const OomWatchSlice *oom_watch_slice(const OomWatch *w, size_t i, uint64_t *ret_kills) {
        if (!w || i >= w->n_slices)
                return NULL;
        if (ret_kills)
                *ret_kills = oom_match_node_kills(w->match, i);
        return &w->slices[i].s;
}

json_t *oom_watch_status_json(const OomWatch *w) {
        OomMatchCounters c;
        size_t watched = 0;

        if (!w)
                return json_pack("{s:s}", "mode", "off");
        for (size_t i = 0; i < w->n_slices; i++)
                watched += w->slices[i].watched;
        oom_match_counters(w->match, &c);
        return json_pack("{s:s, s:I, s:I, s:I, s:I, s:{s:b, s:s?, s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I, "
                         "s:I, "
                         "s:{s:o, s:o}}",
                         "mode", !w->mount ? "off" : w->v2 ? "v2" : "v1",
                         "slices", (json_int_t) w->n_slices,
                         "watched", (json_int_t) watched,
                         "not_watched", (json_int_t) (w->n_slices - watched),
                         "kills", (json_int_t) w->kills,
                         "kmsg",
                         "readable", w->kmsg_fd >= 0,
                         "error", w->kmsg_error,
                         "records", (json_int_t) w->kmsg_records,
                         "lost", (json_int_t) w->kmsg_lost,
                         "oom_lines", (json_int_t) w->kmsg_oom_lines,
                         "unparsed", (json_int_t) w->kmsg_unparsed,
                         "unplaced", (json_int_t) w->victims_unplaced,
                         "clock_ahead", (json_int_t) w->kmsg_clock_ahead,
                         "wakeups", (json_int_t) w->wakeups,
                         "reported", (json_int_t) c.reported,
                         "without_victim", (json_int_t) c.without_victim,
                         "from_log_only", (json_int_t) c.from_log_only,
                         "victims_unwatched", (json_int_t) c.victims_unwatched,
                         "waiting", (json_int_t) (c.waiting_kills + c.waiting_victims),
                         "latency_usec",
                         "last", w->latency_last ? json_integer((json_int_t) w->latency_last) : json_null(),
                         "max", w->latency_max ? json_integer((json_int_t) w->latency_max) : json_null());
}
