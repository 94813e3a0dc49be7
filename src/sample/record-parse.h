/* SPDX-License-Identifier: MIT */
/* A record as Redis holds it, read back into the set of slices and their values: the inverse of
 * record_write(), reading its compact form directly (no JSON tree), its "users" too. Only text that
 * record_write() gives back byte for byte is accepted, so what is read back is what was written. Pure. */
#pragma once

#include <stddef.h>

#include "buf.h"
#include "record.h"
#include "sample.h"

/* The largest record read back (as many bytes as the Redis sink writes at most). */
#define RECORD_PARSE_MAX_BYTES ((size_t) 16 * 1024 * 1024)
/* The most users a record holds: as many as the daemon keeps (USER_TABLE_MAX, src/policy/user-slice.h). */
#define RECORD_PARSE_USERS_MAX ((size_t) 65536)
/* The longest user name read back, in bytes: systemd's longest (255), as users.d's (USER_OVERRIDES_NAME_MAX). */
#define RECORD_PARSE_USER_NAME_MAX ((size_t) 256)

/* Kept from one record to the next: consecutive seconds of the same groups share one set (and its
 * layout). Zero-initialized; record_parser_done() frees it. */
typedef struct RecordParser {
        SliceSet *set;
        RecordLayout *layout;
        Buf again;  /* the record written again, to compare */
        char **paths; /* the record's groups, then its users' UIDs */
        char **names; /* as many: a user's name, NULL for groups and users without one */
        size_t n_paths, n_groups, alloc_paths;
        Buf path;   /* the path being read; a user's name */
} RecordParser;

void record_parser_done(RecordParser *p);

/* Reads text (size bytes, no NUL needed). On success *ret_set (a new reference) holds the groups that have
 * a "value", in the record's order ("" the root; their units are NULL: a record does not name them), then
 * its users as the sampler's set has them (from set->n_groups on: paths the UIDs, units "user-UID.slice",
 * user_names as written), *ret_values set->n values, *ret_controllers the RECORD_* bits of the controllers it
 * carries. -EBADMSG for text that is not such a record (*ret_reason says why, a static string), -EFBIG above
 * RECORD_PARSE_MAX_BYTES, -ENOMEM. Nothing is handed out on failure. */
int record_parse(RecordParser *p, const char *text, size_t size, SliceSet **ret_set, SampleValues **ret_values,
                 unsigned *ret_controllers, const char **ret_reason);
