/* SPDX-License-Identifier: MIT */
/* The bookkeeping of one connection's outages (Redis, ZooKeeper), pure: up/down with since-when and the cause,
 * the last ended outage as history, and which transitions deserve a journal line (the way in and the way out,
 * never each retry). The glue feeds it failures and recoveries and logs what it is told to. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

#define OUTAGE_CAUSE_MAX 256

typedef enum OutageState {
        OUTAGE_STATE_CONNECTING, /* not up yet, and no failure seen */
        OUTAGE_STATE_UP,
        OUTAGE_STATE_DOWN,
        _OUTAGE_STATE_MAX,
} OutageState;

typedef enum OutageChange {
        OUTAGE_UNCHANGED,     /* nothing to tell */
        OUTAGE_BEGAN,         /* connecting or up → down: a warning */
        OUTAGE_CAUSE_CHANGED, /* still down, for another reason now: status changes, the journal only at debug */
        OUTAGE_ENDED,         /* down → up: info, with how long it lasted */
        OUTAGE_FIRST_UP,      /* connecting → up: info */
} OutageChange;

typedef struct Outage {
        OutageState state;
        usec_t since_usec;                   /* CLOCK_REALTIME: when the current outage began (DOWN) */
        char cause[OUTAGE_CAUSE_MAX];        /* of the current outage: the latest failure's cause */
        bool have_last;                      /* an outage ended: the last_* fields hold it */
        usec_t last_since_usec, last_until_usec;
        char last_cause[OUTAGE_CAUSE_MAX];
        uint64_t n_outages;                  /* outages begun */
} Outage;

void outage_init(Outage *o);
/* A failure at now_usec (CLOCK_REALTIME). The cause is cut to OUTAGE_CAUSE_MAX - 1 bytes (at a UTF-8
 * boundary); NULL or empty reads "unknown cause". */
OutageChange outage_down(Outage *o, usec_t now_usec, const char *cause);
/* Working again at now_usec: an outage in progress ends and becomes the last one. */
OutageChange outage_up(Outage *o, usec_t now_usec);

/* The syslog level of a change's journal line: LOG_WARNING, LOG_INFO, or LOG_DEBUG (cause changed, unchanged). */
int outage_log_level(OutageChange c);
/* The journal line for change c of the connection called name ("Redis at 127.0.0.1:6379"); `then` says what
 * happens meanwhile (on BEGAN only; may be NULL). "NAME down: CAUSE; THEN." / "NAME back after 1min 3s (down
 * since 17:02:03: CAUSE)." / "NAME up." / "NAME still down, now: CAUSE." */
void outage_message(const Outage *o, OutageChange c, const char *name, const char *then, char *buf, size_t size);
/* For STATUS=: "NAME down since 17:02:03: CAUSE" while down, else "" . */
void outage_status_text(const Outage *o, const char *name, char *buf, size_t size);
/* Sets "state" ("connecting", "up", "down"), "outage" ({"since_usec", "cause"} while down, else null),
 * "last_outage" ({"since_usec", "until_usec", "cause"} of the last ended one, or null) and "outages" (count)
 * in obj. 0 or -ENOMEM. */
int outage_to_json(const Outage *o, json_t *obj);

const char *outage_state_to_string(OutageState s);
/* "850ms", "4.2s", "59s", "1min 3s", "2h 5min", "3d 4h". */
void outage_format_timespan(usec_t span, char *buf, size_t size);
/* CLOCK_REALTIME µs as local time: "17:02:03", or with_date "2026-11-30 17:02:03 UTC" (the zone's name). */
void outage_format_time(usec_t realtime_usec, bool with_date, char *buf, size_t size);
