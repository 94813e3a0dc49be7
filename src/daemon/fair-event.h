/* SPDX-License-Identifier: MIT */
/* Fair share's events (fair.h's FairEvent) as events of the stream (event.h): the kind, a readable message,
 * the fields subscribers get, and the event-log line in cgroup_py's format (event-line.h). Pure: the node
 * name, a per-process salt and random bytes come in. */
#pragma once

#include <jansson.h>

#include "event-line.h"
#include "event.h"
#include "fair.h"

typedef struct FairEventOut {
        Event event;           /* its strings point into this struct */
        char id[EVENT_ID_LEN + 1];
        char *message;
        json_t *fields;
        char *log_line;
        char user[16];         /* the UID in decimal, when NSS gave no name (the log line's USERNAME) */
} FairEventOut;

/* A throttle event's ID (cgroup_py's 16 characters): the same for the start and the end of one event (the
 * policy's numeric id), different for two events, from the numeric id and the process's salt. */
void fair_event_throttle_id(uint64_t id, const uint8_t salt[EVENT_ID_LEN], char ret[EVENT_ID_LEN + 1]);

/* cgroup_py's CPU: usec/s of CPU as % of the whole machine (`cores` CPUs); 0 without cores. */
double fair_event_cpu_pct(uint64_t cpu_usec_per_sec, double cores);

/* `random`: the ID of a penalty or limit event (each its own). -EINVAL for a kind out of range or a
 * throttle event without its policy event, -ENOMEM. */
int fair_event_convert(const FairEvent *fe, const char *node, const uint8_t salt[EVENT_ID_LEN],
                       const uint8_t random[EVENT_ID_LEN], FairEventOut *ret);
void fair_event_out_done(FairEventOut *o);
