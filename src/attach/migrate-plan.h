/* SPDX-License-Identifier: MIT */
/* What `slicekeeper migrate` does with the directories cgrouparch left in the cgroup hierarchies (its
 * cgroup_dir/<controller>/<group path>): which processes go into which group's scope, which directories are
 * removed (deepest first) and which stay, and why. Pure: the directories found, the tree and our pid in. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tree.h"

#define MIGRATE_DIRS_MAX 4096 /* directories one scan records, over all hierarchies */
#define MIGRATE_PIDS_MAX 4096 /* processes read from one cgroup.procs */
#define MIGRATE_PROCS_BYTES_MAX (MIGRATE_PIDS_MAX * 8)

typedef struct MigrateDir {
        size_t hierarchy;  /* index in the caller's list of hierarchies */
        char *path;        /* below the hierarchy's root: "a/b" */
        unsigned depth;    /* components of path */
        bool procs_read;   /* its cgroup.procs was read whole into pids (only for tree groups' directories) */
        pid_t *pids;
        size_t n_pids;
} MigrateDir;

typedef enum MigrateVerdict {
        MIGRATE_REMOVE, /* a tree group's: its processes go to the group's scope, then it is removed */
        MIGRATE_KEEP,   /* a tree group's: its processes go to the group's scope; it stays (reason) */
        MIGRATE_LEAVE,  /* not touched at all (reason) */
        _MIGRATE_VERDICT_MAX,
} MigrateVerdict;

typedef struct MigrateItem {
        size_t dir;             /* index in the directories given */
        MigrateVerdict verdict;
        const char *reason;     /* static text for KEEP and LEAVE, NULL for REMOVE */
} MigrateItem;

typedef struct MigrateMove {
        const char *group;      /* the tree group's path (borrowed from the tree) */
        pid_t *pids;            /* sorted, each once, over every hierarchy */
        size_t n_pids;
} MigrateMove;

typedef struct MigratePlan {
        MigrateItem *items;     /* one per directory: deepest first, so removals in this order can succeed */
        size_t n_items;
        MigrateMove *moves;     /* one per group with processes to move, in tree order */
        size_t n_moves;
        size_t n_refused;       /* processes never moved (PID 1, `self`), each once per directory */
} MigratePlan;

/* Whether a directory's name is a systemd unit's ("x.slice", "x.scope", "x.service", ...): never ours to
 * touch, and not worth listing when at the top of a hierarchy. */
bool migrate_name_is_systemd(const char *name);

/* The verdicts:
 * - a systemd unit's directory, or one that is not a tree group (by path): LEAVE;
 * - a tree group's whose processes could not be read whole: LEAVE;
 * - a tree group's holding PID 1 or `self`: KEEP (those never move), its other processes move;
 * - a tree group's below which anything stays (KEEP or LEAVE, in the same hierarchy): KEEP;
 * - otherwise REMOVE.
 * A directory whose parent is not among `dirs` is taken as sitting at the hierarchy's top. Returns 0,
 * -EINVAL for bad arguments, -ENOMEM. */
int migrate_plan_build(const MigrateDir *dirs, size_t n_dirs, const Tree *tree, pid_t self, MigratePlan *ret);
void migrate_plan_done(MigratePlan *p);

const char *migrate_verdict_to_string(MigrateVerdict v);
