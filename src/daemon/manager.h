/* SPDX-License-Identifier: MIT */
/* The daemon's single owner: event loop, bus, tree source, realizer, control socket, signals, sd_notify. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"

typedef struct Manager Manager;

typedef struct ManagerOptions {
        const Config *config;
        const char *runtime_dir;
        const char *pidfiles_dir; /* drop-ins with [Tasks] PidFiles= */
        bool dry_run;
        bool dry_run_json;
} ManagerOptions;

int manager_new(const ManagerOptions *options, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free)
/* Runs the loop until SIGTERM/SIGINT (or, in dry-run mode, until the plan is printed). Returns the exit
 * status for main(). */
int manager_run(Manager *m);
