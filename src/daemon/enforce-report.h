/* SPDX-License-Identifier: MIT */
/* Tells what the host's cgroup layout leaves unenforced (enforceable.h) where the user looks: each slice in
 * `status`, a list in `plan`, and once per group, property and value in the journal. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "enforceable.h"
#include "realizer.h"
#include "tree.h"

typedef struct EnforceReport {
        EnforceHost host;
        bool known; /* the layout was read; if not, nothing is reported */
        EnforceLog log;
} EnforceReport;

/* Reads the layout once (it does not change under a running systemd). */
void enforce_report_init(EnforceReport *e);
void enforce_report_done(EnforceReport *e);

/* After a pass: logs the pairs not logged yet for the groups the daemon manages (not protected ones). */
void enforce_report_pass(EnforceReport *e, const Tree *t, const Realizer *r, const char *root);
/* Adds "not_enforced": [...] to a slice of status (realizer_slice_status_json(); empty for a protected one). */
void enforce_report_slice(const EnforceReport *e, const Tree *t, json_t *slice);
/* How many properties of the groups the daemon manages are not enforced, in all. */
size_t enforce_report_count(const EnforceReport *e, const Tree *t, const Realizer *r, const char *root);
/* For plan: [{"unit", "group", "property", "key", "value", "reason"}]. */
json_t *enforce_report_plan_json(const EnforceReport *e, const Tree *t, const Realizer *r, const char *root);
