/* SPDX-License-Identifier: MIT */
/* Waiting for systemd jobs: one JobRemoved match per bus connection, installed before any job is
 * started, and a short memory of jobs that finished before their method reply told us their path. */
#pragma once

#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct JobWatch JobWatch;

typedef void (*JobDone)(const char *result, void *userdata);

int job_watch_new(sd_bus *bus, JobWatch **ret);
JobWatch *job_watch_free(JobWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(JobWatch *, job_watch_free)

/* Calls done(result) when `job` is removed; at once (before returning) when it already was. One wait per
 * userdata at a time. */
int job_watch_add(JobWatch *w, const char *job, JobDone done, void *userdata);
/* Forgets the wait registered for userdata, if any. */
void job_watch_cancel(JobWatch *w, void *userdata);
