/* SPDX-License-Identifier: MIT */
/* One second of samples as cgrouparch's record: per controller {"value": {...}, "sub_cgroup": {name: ...}},
 * nested as the groups are, written straight as JSON text. Pure. */
#pragma once

#include "buf.h"
#include "sample.h"

/* The text of a record that does not depend on the numbers, for one SliceSet: the nesting and the
 * escaped group names, rendered once. */
typedef struct RecordLayout RecordLayout;

int record_layout_new(SliceSet *set, RecordLayout **ret);
RecordLayout *record_layout_free(RecordLayout *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(RecordLayout *, record_layout_free)
/* *l made for set: kept when it is, rebuilt when the set changed. */
int record_layout_update(RecordLayout **l, SliceSet *set);

/* Appends {"cpu": {"value": {"usage": ns}, "sub_cgroup": {...}}, "blkio": {"value": {"8:0": {"Read": bytes,
 * "Write": bytes, "ReadOps": n, "WriteOps": n}}, ...}, "memory": {"value": {"usage": bytes}, ...},
 * "pids": {"value": {"current": n}, ...}, "pressure": {"value": {"cpu": {"some": usec, "full": usec},
 * "memory": {...}, "io": {...}}, ...}} for values (one per slice of the layout's set). A controller with
 * no value for a group has "value": {}. Compact, keys in that order, "value" before "sub_cgroup",
 * groups in the set's order (jansson's json_dumps(JSON_COMPACT) of the same object, byte for byte). A set with
 * user slices (after its groups) adds, last, "users": {"UID": {"name": "NAME" (when known), "cpu": {"usage": ns},
 * "blkio": {...}, "memory": {...}, "pids": {...}, "pressure": {...}}, ...}: each user's values as a group's
 * "value"s, by UID in the set's order; without users the record is cgrouparch's as before. */
int record_write(const RecordLayout *l, const SampleValues *values, Buf *out);

/* Appends the decimal digits of v. The caller reserved 20 bytes. */
void record_put_u64(Buf *out, uint64_t v);

/* Appends "<unix_sec>": and "<unix_sec>":record, a member of show_account's answer. */
int record_write_key(uint64_t unix_sec, Buf *out);
int record_write_member(const RecordLayout *l, uint64_t unix_sec, const SampleValues *values, Buf *out);

/* One second as the daemon hands it on, appended to out: {"<unix_sec>":record}, show_account's shape for
 * the one second (what subscribers get), in which the record alone (what Redis gets) starts at
 * *ret_record_from and is *ret_record_size bytes long. *layout is made for set first (record_layout_update());
 * values has set->n entries. On failure out may hold part of the text. */
int record_write_second(RecordLayout **layout, uint64_t unix_sec, SliceSet *set, const SampleValues *values,
                        Buf *out, size_t *ret_record_from, size_t *ret_record_size);
