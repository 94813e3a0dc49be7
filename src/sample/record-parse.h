/* SPDX-License-Identifier: MIT */
/* A record as Redis holds it, read back into the set of slices and their values: the inverse of
 * record_write(), reading its compact form directly (no JSON tree). Only text that record_write() gives
 * back byte for byte is accepted, so what is read back is what was written. Pure. */
#pragma once

#include <stddef.h>

#include "buf.h"
#include "record.h"
#include "sample.h"

/* The largest record read back (as many bytes as the Redis sink writes at most). */
#define RECORD_PARSE_MAX_BYTES ((size_t) 16 * 1024 * 1024)

/* Kept from one record to the next: consecutive seconds of the same groups share one set (and its
 * layout). Zero-initialized; record_parser_done() frees it. */
typedef struct RecordParser {
        SliceSet *set;
        RecordLayout *layout;
        Buf again;  /* the record written again, to compare */
        char **paths;
        size_t n_paths, alloc_paths;
        Buf path;   /* the path being read */
} RecordParser;

void record_parser_done(RecordParser *p);

/* Reads text (size bytes, no NUL needed). On success *ret_set (a new reference) holds the groups that have
 * a "value", in the record's order ("" the root; units are NULL: a record does not name them),
 * *ret_values set->n values, *ret_controllers the RECORD_* bits of the controllers it carries. -EBADMSG for
 * text that is not such a record (*ret_reason says why, a static string), -EFBIG above
 * RECORD_PARSE_MAX_BYTES, -ENOMEM. Nothing is handed out on failure. */
int record_parse(RecordParser *p, const char *text, size_t size, SliceSet **ret_set, SampleValues **ret_values,
                 unsigned *ret_controllers, const char **ret_reason);
