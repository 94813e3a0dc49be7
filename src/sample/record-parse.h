/* SPDX-License-Identifier: MIT */
/* A record as Redis holds it, read back into the set of slices and their values: the inverse of
 * record_write(). Only text that record_write() gives back byte for byte is accepted, so what is read back
 * is what was written. Pure. */
#pragma once

#include <stddef.h>

#include "record.h"
#include "sample.h"

/* The largest record read back (as many bytes as the Redis sink writes at most). */
#define RECORD_PARSE_MAX_BYTES ((size_t) 16 * 1024 * 1024)

/* Reads text (size bytes, no NUL needed). On success *ret_set holds the groups that have a "value", in
 * the record's order ("" the root; units are NULL: a record does not name them), *ret_values set->n
 * values, *ret_controllers the RECORD_* bits of the controllers it carries. When prev has the same paths
 * it is returned (referenced) instead of a new set, so consecutive seconds share one. -EBADMSG for text
 * that is not such a record (*ret_reason says why, a static string), -EFBIG above
 * RECORD_PARSE_MAX_BYTES, -ENOMEM. */
int record_parse(const char *text, size_t size, SliceSet *prev, SliceSet **ret_set, SampleValues **ret_values,
                 unsigned *ret_controllers, const char **ret_reason);
