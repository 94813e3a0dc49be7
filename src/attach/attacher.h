/* SPDX-License-Identifier: MIT */
/* Moves the processes named by pid files, with their descendants, into one delegated scope per group
 * (StartTransientUnit with PIDs, then AttachProcessesToUnit), every interval and whenever a watched pid
 * file is written or replaced. Refuses what must never move, logging each distinct cause once. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "job-watch.h"
#include "time-util.h"
#include "tree.h"

typedef struct Attacher Attacher;

/* Whether a group's slice is up (so a scope in it does not create it implicitly). */
typedef bool (*AttacherSliceReady)(const char *slice, void *userdata);

typedef struct AttacherConfig {
        const char *root;            /* slice prefix, as the realizer's */
        usec_t interval_usec;        /* [Tasks] UpdateIntervalSec= */
        bool allow_non_root_files;   /* [Tasks] AllowNonRootPidFiles= */
        const char *proc_root;       /* "/proc" */
        AttacherSliceReady slice_ready;
        void *userdata;
        JobWatch *jobs;              /* JobRemoved for this bus; outlives the attacher */
} AttacherConfig;

#define ATTACHER_MATCHES_MAX 1024 /* files per glob */

int attacher_new(sd_event *event, sd_bus *bus, const AttacherConfig *config, Attacher **ret);
Attacher *attacher_free(Attacher *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Attacher *, attacher_free)

/* The groups with pid files: the tree's pid_files plus host-local "GROUP:GLOB" entries (GROUP a path or a
 * name), and the groups whose tree lists pids (cgrouparch's conf.pids, moved as a pid file's pid is).
 * Entries naming no group of the tree are reported once and shown in the status. */
int attacher_set_groups(Attacher *a, Tree *tree, char *const *local_entries);
void attacher_request_pass(Attacher *a);

/* The properties of a group's scope as the attacher starts it (its slice, delegation, a description, the
 * processes it starts with), appended to an open a(sv); also what `slicekeeper migrate` starts. */
int attacher_append_scope(sd_bus_message *m, const char *group_path, const char *slice, const pid_t *pids,
                          size_t n_pids);

/* {"unresolved": [...], "passes", "moved_total", "calls", "refusal_records": {...}}; the groups one at a
 * time: */
json_t *attacher_status_json(const Attacher *a);
/* {"scope", "pid_files", "listed_pids", "pids", "refusals", "last_refusal", "refusals_unlisted", "left_out"} of group
 * `index` with *ret_path its path, or NULL past the last. */
json_t *attacher_group_status_json(const Attacher *a, size_t index, const char **ret_path);
