/* SPDX-License-Identifier: MIT */
/* `slicekeeper migrate` and the leftover directories of `status`: finds the directories cgrouparch left in
 * the cgroup hierarchies (in bounded steps on the loop), then, for a real run, moves their processes into
 * their groups' scopes through systemd and removes the emptied directories deepest first. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "attacher.h"
#include "job-watch.h"
#include "macro.h"
#include "tree.h"

typedef struct Migrator Migrator;

typedef enum MigratorMode {
        MIGRATOR_SCAN,    /* find and judge the directories only (the leftover count) */
        MIGRATOR_DRY_RUN, /* the same, reported as what a run would do */
        MIGRATOR_RUN,     /* move, remove, report */
        _MIGRATOR_MODE_MAX,
} MigratorMode;

/* Called once, when the migrator has finished (never from within migrator_new()); it must not free it. */
typedef void (*MigratorDone)(Migrator *m, void *userdata);

typedef struct MigratorConfig {
        MigratorMode mode;
        const char *root;              /* slice prefix, as the realizer's */
        Tree *tree;                    /* referenced while the migrator lives */
        AttacherSliceReady slice_ready; /* a group's processes move only into a slice that is up */
        void *userdata;                /* for slice_ready and done */
        MigratorDone done;
        JobWatch *jobs;                /* for a scope's start job; outlives the migrator */
} MigratorConfig;

#define MIGRATOR_SCAN_STEP 32        /* cgroup.procs reads or directory listings per loop iteration */
#define MIGRATOR_FINISH_STEP 32      /* directories emptied and removed per loop iteration */
#define MIGRATOR_LEFTOVER_PATHS 16   /* shown by `status` */

/* Starts at the next loop iteration. The hierarchies come from /proc/self/mountinfo. */
int migrator_new(sd_event *event, sd_bus *bus, const MigratorConfig *config, Migrator **ret);
/* Cancels what still runs (a request in flight: its reply is ignored). Takes NULL. */
Migrator *migrator_free(Migrator *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Migrator *, migrator_free)

bool migrator_finished(const Migrator *m);
/* {"dry_run", "finished", "truncated", "hierarchies": [...], "directories": [{"path", "group", "processes",
 * "moved", "action", "result", "reason"}], "moves": [{"group", "scope", "processes", "result", "error"}],
 * "removed", "moved" (processes, each once), "kept", "left_alone", "refused", "loop": {"usec" (start to end),
 * "steps" (loop iterations it ran in), "max_step_usec" (the longest)}} */
json_t *migrator_report_json(const Migrator *m);
/* {"directories": n, "paths": [the first MIGRATOR_LEFTOVER_PATHS], "truncated"}: tree groups' directories
 * found outside systemd's units (what a migrate would empty), once finished; NULL before. */
json_t *migrator_leftover_json(const Migrator *m);
