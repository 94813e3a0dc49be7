/* SPDX-License-Identifier: MIT */
/* Which OOM kills happened where, each reported once (issue 15). Pure: the glue (src/daemon/oom-watch.c) hands
 * in the watched cgroups, their kill counters as it reads them and the kernel log's OOM lines; out come
 * reports, each kill once, with its victim where the kernel log named it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

#define OOM_NODES_MAX 16384          /* cgroups watched at once (groups and users); more are left out */
#define OOM_PENDING_MAX 256          /* kills waiting for their victim, victims waiting for their count */
#define OOM_V1_DIRS_MAX 4096         /* v1: counters kept of cgroups below watched ones (scopes, services) */
#define OOM_DIR_MAX 256              /* v1: such a cgroup's path below its node, kept with a count (longer: any) */
/* A count seen with no victim yet waits this long for the kernel log's line (it is written before the
 * counter moves, but reaches a reader a little later); past it the kill is reported without a victim. */
#define OOM_VICTIM_WAIT_USEC (40 * USEC_PER_MSEC)
/* A victim from the kernel log waits this long for a counter to show its kill. Past it the kill is reported
 * from the log alone: its cgroup went away before its counter could be read (v1 counts a kill only in the
 * victim's own cgroup, a scope that may be stopped right after). */
#define OOM_COUNT_WAIT_USEC (1500 * USEC_PER_MSEC)

typedef struct OomMatch OomMatch;

/* A victim as the kernel log names it ("oom-kill:..." and "Killed process ..." lines). */
typedef struct OomVictim {
        uint64_t kernel_usec;  /* the line's timestamp (CLOCK_MONOTONIC) */
        uint32_t pid, uid;
        const char *comm;
        const char *task_memcg, *oom_memcg; /* as the kernel prints them: from its hierarchy's root */
        const char *constraint;             /* "CONSTRAINT_MEMCG", "CONSTRAINT_NONE" (a global OOM), ... */
        bool has_rss;                       /* the "Killed process" line was there */
        uint64_t total_vm_kb, anon_rss_kb, file_rss_kb, shmem_rss_kb;
} OomVictim;

/* One kill (or one group kill), reported once. */
typedef struct OomReport {
        size_t node;           /* the deepest watched cgroup it happened in (oom_match_node_path()) */
        bool counted;          /* a counter showed it; false: from the kernel log alone */
        bool group;            /* memory.oom.group: the whole cgroup was killed, `killed` tasks */
        uint64_t killed;       /* 1, or the tasks of a group kill */
        uint64_t counter;      /* the node's oom_kill counter after it (0 when not counted) */
        const OomVictim *victim; /* NULL: no kernel log line for it (not readable, lost, or late) */
        usec_t detected_usec;  /* CLOCK_MONOTONIC: when the daemon first knew of it */
} OomReport;

typedef void (*OomMatchEmit)(OomMatch *m, const OomReport *r, void *userdata);

int oom_match_new(OomMatchEmit emit, void *userdata, OomMatch **ret);
OomMatch *oom_match_free(OomMatch *m);
/* Whether victims can come at all (the kernel log is readable; the default is no): without it a count is
 * reported at once, with no victim. */
void oom_match_set_kmsg(OomMatch *m, bool readable);
/* v1: counters per cgroup, swept with oom_match_v1_*() (default: v2's hierarchical counters). */
void oom_match_set_flat(OomMatch *m, bool flat);

/* The watched cgroups (paths as the daemon sees them, "/sk.slice/sk-a.slice", unique). A path in the old set
 * keeps its state and kill count; a new one needs oom_match_baseline() before its counts mean anything.
 * Indexes are into this array from now on. Kills waiting for a node that went away are reported now. */
int oom_match_set_nodes(OomMatch *m, const char *const *paths, size_t n, usec_t now);
size_t oom_match_n_nodes(const OomMatch *m);
const char *oom_match_node_path(const OomMatch *m, size_t node);
/* Kills reported in the node (since it was first watched, across set changes). */
uint64_t oom_match_node_kills(const OomMatch *m, size_t node);
bool oom_match_node_needs_baseline(const OomMatch *m, size_t node);

/* v2 (hierarchical counters: memory.events counts a kill in the victim's cgroup and every ancestor). The
 * counters when watching began: kills before are not reported. */
void oom_match_baseline(OomMatch *m, size_t node, uint64_t oom_kill, uint64_t oom_group_kill);
/* Reads a node's counters (memory.events): 0, or negative (the cgroup is gone: nothing is reported). */
typedef int (*OomReadCounts)(size_t node, uint64_t *ret_oom_kill, uint64_t *ret_oom_group_kill, void *userdata);
/* The node's memory.events changed: its counters are read, and where they moved, those of its watched
 * children, down to where each kill happened. Reads only what moved. */
void oom_match_v2_changed(OomMatch *m, size_t node, OomReadCounts read, void *userdata, usec_t now);

/* v1 (a counter per cgroup, memory.oom_control's oom_kill, counting only kills of that cgroup's own tasks):
 * one sweep of a watched node's cgroup and the cgroups below it that no deeper watched node holds.
 * begin, then observe each directory ("" is the node's own), then end: directories not observed are
 * forgotten. `baseline`: the first sweep of a node, nothing reported. A directory never seen before counts
 * from 0 (it was made after the last sweep). */
void oom_match_v1_begin(OomMatch *m, size_t node);
void oom_match_v1_observe(OomMatch *m, size_t node, const char *dir, uint64_t oom_kill, bool baseline, usec_t now);
void oom_match_v1_end(OomMatch *m, size_t node);

/* A victim from the kernel log (copied). Not under any watched node: ignored, returns 0; else 1. Without
 * task_memcg (only its "Killed process" line, its cgroup gone from /proc) it goes with the first count of any
 * node, and is dropped unreported when none comes. */
int oom_match_victim(OomMatch *m, const OomVictim *v, usec_t now);
/* The "Killed process" line of a victim already handed in (by pid): its sizes, if that victim is still
 * waiting (true). */
bool oom_match_victim_rss(OomMatch *m, uint32_t pid, uint64_t total_vm_kb, uint64_t anon_rss_kb, uint64_t file_rss_kb,
                          uint64_t shmem_rss_kb);

/* The victims waiting for a count (i < oom_match_n_waiting_victims()), and their node. */
size_t oom_match_n_waiting_victims(const OomMatch *m);
const OomVictim *oom_match_waiting_victim(const OomMatch *m, size_t i, size_t *ret_node);
/* Waiting victim i can never be counted (v1: its cgroup, the only one that counted the kill, is gone): it is
 * reported now from the log alone. */
void oom_match_victim_uncountable(OomMatch *m, size_t i);

/* When oom_match_expire() has work next (CLOCK_MONOTONIC), USEC_INFINITY: none. */
usec_t oom_match_next_deadline(const OomMatch *m);
void oom_match_expire(OomMatch *m, usec_t now);
/* Everything still waiting is reported now (the daemon stops). */
void oom_match_flush(OomMatch *m);

/* What follows `node_path` in a path from the kernel log ("/x/a.slice/b.scope" and "/a.slice" → "/b.scope"; ""
 * for the node itself), NULL when it is not in there (at a '/' boundary). */
const char *oom_match_rest_below(const char *kmsg_path, const char *node_path);

/* The deepest watched node `kmsg_path` (a path from the kernel log) is in, or SIZE_MAX. */
size_t oom_match_node_of(const OomMatch *m, const char *kmsg_path);

typedef struct OomMatchCounters {
        uint64_t reported, without_victim, from_log_only, victims_unwatched, pending_overflow, v1_dirs_dropped;
        size_t waiting_kills, waiting_victims;
} OomMatchCounters;
void oom_match_counters(const OomMatch *m, OomMatchCounters *ret);
