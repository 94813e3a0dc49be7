/* SPDX-License-Identifier: MIT */
/* An OOM kill (oom-watch.h's OomKill) as an event of the stream (event.h): a readable message, the fields
 * subscribers get, the journal's OOM_VICTIM_* fields and the event-log line in cgroup_py's OOM format with
 * ours added (event-line.h). Pure: the node name and the ID's random bytes come in. */
#pragma once

#include <jansson.h>

#include "event-line.h"
#include "event.h"
#include "oom-watch.h"

typedef struct OomEventOut {
        Event event;           /* its strings point into this struct */
        char id[EVENT_ID_LEN + 1];
        char *message;
        json_t *fields;
        char *log_line;
        char uname[16];        /* the UID in decimal when no name is known (the log line's UNAME) */
        char journal_pid[32], journal_comm[96];
        const char *journal[2];
        size_t n_journal;
} OomEventOut;

/* -EINVAL without a slice, -ENOMEM. */
int oom_event_convert(const OomKill *k, const char *node, const uint8_t random[EVENT_ID_LEN], OomEventOut *ret);
void oom_event_out_done(OomEventOut *o);
