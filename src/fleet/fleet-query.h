/* SPDX-License-Identifier: MIT */
/* The fleet query (issue 17), pure: the keys to read for the hosts of the <R>/hosts heartbeat, the answer built
 * from what Redis holds under them (each record bounded, validated and cut to a group, written as JSON text
 * without a parse tree), and `slicekeeper fleet`'s table of it. Redis replies come in as hiredis reply objects. */
#pragma once

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FLEET_HOSTS_MAX 10000           /* hosts in <R>/hosts: more is an error, not a silent cut */
#define FLEET_SECONDS_MAX 300           /* [Redis] ExpireSec='s default: older seconds are gone */
#define FLEET_SECONDS_DEFAULT 10
#define FLEET_STALE_AFTER_SEC 10        /* a heartbeat this old (whole seconds) or older: the host is stale */
#define FLEET_RECORD_MAX (16u << 20)    /* bytes of one record; a longer one is skipped */
#define FLEET_ANSWER_MAX ((size_t) 256 << 20) /* bytes of the whole answer */
#define FLEET_KEYS_MAX 1000000          /* host-seconds in one query */
#define FLEET_GROUP_MAX 4096            /* bytes of --group */
#define FLEET_PREFIX_MAX 1024           /* bytes of [Redis] Prefix= as the keys carry it */

typedef struct FleetHost {
        char *node;        /* valid node_name_is_valid() */
        uint64_t last;     /* the heartbeat: the last second it wrote */
        uint64_t from_sec; /* its keys hold the seconds from_sec.. in order */
        size_t first_key, n_keys;
} FleetHost;

typedef struct FleetPlan {
        uint64_t now;
        unsigned seconds;
        FleetHost *hosts; /* by name */
        size_t n_hosts;
        char **keys; /* <R>/host/<node>/account/<sec>, host by host in the hosts' order; NULL-terminated */
        size_t n_keys;
        size_t skipped_hosts; /* heartbeat members with a name or score that is not one */
} FleetPlan;

/* The seconds of the window: 1..FLEET_SECONDS_MAX. From "10"; -EINVAL otherwise. */
int fleet_seconds_parse(const char *s, unsigned *ret);

/* The plan for the window [now - seconds + 1, now] from the reply of `ZRANGE <R>/hosts 0 FLEET_HOSTS_MAX
 * WITHSCORES` (one entry more than allowed, so that too many shows): the hosts by name, each with the keys of its
 * seconds in the window up to its heartbeat. An error reply gives -EIO, another shape -EBADMSG, more than
 * FLEET_HOSTS_MAX hosts or FLEET_KEYS_MAX keys -E2BIG, seconds out of range or a prefix too long -EINVAL; each
 * with the reason in error. A member that is not a node name, or a score that is not a second, is left out
 * and counted. */
int fleet_plan_build(const char *prefix, uint64_t now, unsigned seconds, const redisReply *hosts_reply,
                     FleetPlan *ret, char *error, size_t error_size);
void fleet_plan_done(FleetPlan *p);

/* A group path for --group: "a/b" (a leading or trailing '/' is dropped; "" or "/" is the whole record) split
 * into its names; -EINVAL for an empty name, "." or "..", a control character, or more than FLEET_GROUP_MAX
 * bytes. *ret_parts is NULL-terminated, NULL for the whole record. */
int fleet_group_parse(const char *group, char ***ret_parts, size_t *ret_n);

/* Appends record (len bytes of untrusted text) cut to the group of parts (n 0: the whole record): an object
 * with, for each top-level key whose value is an object (the controllers), the node at that path in it (from
 * the key's value down "sub_cgroup" then the name, level by level), keys whose tree lacks the group left out.
 * What is passed on is checked to be JSON that jansson loads (strict UTF-8, no \u0000, integers in 64 bits,
 * finite reals, nesting up to 256): the whole record without a group; with one, the nodes passed on and the
 * keys on the way to them, the rest only skipped (strings to their end, brackets matched, nesting bounded), which
 * is what keeps a cut at memory speed. Returns 1 when appended, 0 when no key has the group (nothing appended),
 * -EBADMSG when the record is not valid (nothing appended), -ENOMEM. */
int fleet_record_cut(const char *record, size_t len, char *const *parts, size_t n_parts, Buf *out);

/* HostKeys=yes: each second is a hash <R>/host/<node>/account/<sec> with field FLEET_FIELD_WHOLE the whole record,
 * FLEET_FIELD_GROUPS the number of per-group fields (decimal) or "*" when the record was not split, and, split,
 * one field per top-level group (a name under a controller's "sub_cgroup") holding fleet_record_cut() of the
 * record for that group. A reader of group a/b reads field a and cuts it by b; field "*" only when there is no
 * group field to read. */
#define FLEET_FIELD_WHOLE "*"
#define FLEET_FIELD_GROUPS "/groups" /* a '/' is in no group name */
/* Per-group fields only up to this many top-level groups (more: only the whole record, and readers cut it):
 * it bounds the fields per key and the argv of the writer's HSET (2 * 64 + 6). The cuts hold each node once,
 * so the bytes written at most double whatever the number of groups. */
#define FLEET_SPLIT_GROUPS_MAX 64

typedef struct FleetSplitGroup {
        size_t name, name_len; /* the group's name, decoded (UTF-8), in text */
        size_t cut, cut_len;   /* its cut, in text */
} FleetSplitGroup;

typedef struct FleetSplit {
        size_t n_groups;
        FleetSplitGroup groups[FLEET_SPLIT_GROUPS_MAX]; /* first seen first */
        Buf text;
        struct FleetSplitScratch *scratch; /* kept between calls, as text */
} FleetSplit;

/* Every top-level group's cut of record in one pass: for each name under a controller's "sub_cgroup" that
 * fleet_group_parse() takes as a one-part path (and not "*"), exactly what fleet_record_cut() gives for that
 * path. The whole record is checked as fleet_record_cut() checks a whole one. Returns 1 (n_groups may be 0),
 * 0 when the record has more than FLEET_SPLIT_GROUPS_MAX such names (n_groups 0), -EBADMSG when it is not
 * valid (n_groups 0), -ENOMEM. sp may be reused: {} the first time, fleet_split_done() at the end. */
int fleet_record_split(const char *record, size_t len, FleetSplit *sp);
void fleet_split_done(FleetSplit *sp);

/* What the answer says of one host, for the table: the first and last record in its window (cut). */
typedef struct FleetHostResult {
        size_t n_records;
        uint64_t first_sec, last_sec;
        char *first, *last; /* NUL-terminated; NULL without records (last NULL too with one record: see first) */
        size_t n_written;   /* records written in round trip 2 */
} FleetHostResult;

/* One command of the second round trip: argv[0..argc) (the answer's and the plan's, valid while both are). */
typedef struct FleetCommand {
        int argc;
        const char **argv;
} FleetCommand;

/* A second whose record was not split (FLEET_FIELD_GROUPS "*"): its whole record is read in round trip 3 and
 * spliced in at offset of the answer's text. */
typedef struct FleetPending {
        size_t key, host;
        uint64_t sec;
        size_t offset;         /* in text, where it goes */
        size_t written_before; /* its host's seconds written before it */
        bool have;             /* its cut is in fallback at cut, cut_len */
        size_t cut, cut_len;
} FleetPending;

typedef struct FleetAnswer {
        const FleetPlan *plan; /* not owned; outlives the answer */
        char **parts;          /* the group, NULL-terminated; NULL: whole records */
        size_t n_parts;
        FleetHostResult *results; /* one per plan host */
        size_t skipped;           /* records not valid, not a string, or longer than FLEET_RECORD_MAX */
        size_t next_key;          /* values received */
        size_t next_host;         /* hosts whose object is opened or written */
        bool host_open;           /* the object of host next_host - 1 waits for more seconds */
        bool any_second;          /* it has a second written already (a comma before the next) */
        bool finished;
        Buf text;                 /* the answer, JSON; NUL-terminated after fleet_answer_finish() */
        char *field;              /* the field read: the group's first name, or FLEET_FIELD_WHOLE */
        size_t field_parts;       /* 1 when field is the group's first name (cut below it), else 0 */
        /* Round trip 2, all sent before a reply is read: `HMGET <key> <field> /groups` per key. */
        FleetCommand *commands;
        size_t n_commands;
        const char **command_argv;
        /* Round trip 3 (fleet_answer_more()), only for the seconds whose record was not split: `HGET <key> *`. */
        FleetPending *pending;
        size_t n_pending, pending_alloc, next_pending;
        FleetCommand *more;
        size_t n_more;
        const char **more_argv;
        Buf fallback; /* their cuts */
} FleetAnswer;

/* Starts {"now", "seconds", "group", "stale_after", "hosts": {...}, "stale": [...], "skipped",
 * "skipped_hosts"} for plan and a group (NULL or "" for whole records; -EINVAL as fleet_group_parse()). */
int fleet_answer_init(FleetAnswer *a, const FleetPlan *plan, const char *group, char *error, size_t error_size);
/* The reply of the next command of a->commands (the field's value or nil, and FLEET_FIELD_GROUPS's; a WRONGTYPE
 * error: a key of another type, counted as skipped), then of a->more. -EIO for another error reply, -EBADMSG
 * for another shape or more replies than commands, -E2BIG when the answer would pass
 * FLEET_ANSWER_MAX; with the reason in error. The answer is unusable after an error. */
int fleet_answer_add(FleetAnswer *a, const redisReply *mget_reply, char *error, size_t error_size);
/* After every reply to a->commands: the commands of round trip 3 (`HGET <key> *` for each second whose record
 * has no per-group fields), *ret_n 0 when none is needed; their replies go to fleet_answer_add() too. -ENOMEM. */
int fleet_answer_more(FleetAnswer *a, const FleetCommand **ret, size_t *ret_n);
/* Closes the answer once every key had its value (-EBADMSG otherwise). a->text.data is then the JSON. */
int fleet_answer_finish(FleetAnswer *a, char *error, size_t error_size);
void fleet_answer_done(FleetAnswer *a);

/* `slicekeeper fleet`'s table: a row per host, by name. */
enum {
        FLEET_HAVE_CPU = 1 << 0,
        FLEET_HAVE_MEMORY = 1 << 1,
        FLEET_HAVE_TASKS = 1 << 2,
};

typedef struct FleetRow {
        const char *node; /* the plan's */
        bool stale;
        uint64_t age;      /* seconds since its heartbeat */
        size_t n_records;  /* in the window */
        unsigned have;     /* FLEET_HAVE_* */
        double cpu_cores;  /* from the cumulative usage of the window's first and last records */
        uint64_t memory_bytes, tasks; /* the last record's */
} FleetRow;

/* The rows of a finished answer: the group's numbers, or without a group the sum of the top-level groups'
 * (computed by src/top's top_table_from_records()). A record that jansson does not load leaves its numbers
 * unknown. -ENOMEM only. */
int fleet_table_rows(const FleetAnswer *a, FleetRow **ret, size_t *ret_n);
/* The header and one row, no newline; host_width the width of the HOST column. */
void fleet_format_header(unsigned host_width, char *buf, size_t size);
void fleet_format_row(const FleetRow *row, unsigned host_width, char *buf, size_t size);
/* The HOST column's width for these rows (the longest name, at least "HOST"). */
unsigned fleet_host_width(const FleetRow *rows, size_t n);
