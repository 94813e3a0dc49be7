/* SPDX-License-Identifier: MIT */
/* One second of samples as cgrouparch's record: per controller {"value": {...}, "sub_cgroup": {name: ...}},
 * nested as the groups are, written straight as JSON text. Pure. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "buf.h"
#include "sample.h"

/* The text of a record that does not depend on the numbers, for one SliceSet: the nesting and the
 * escaped group names, rendered once. */
typedef struct RecordLayout RecordLayout;

/* The controllers a record carries, in this order: all by default; [Web]/[Redis] Controllers= choose. */
enum {
        RECORD_CPU = 1 << 0,
        RECORD_BLKIO = 1 << 1,
        RECORD_MEMORY = 1 << 2,
        RECORD_PIDS = 1 << 3,
        RECORD_PRESSURE = 1 << 4,
        RECORD_ALL = (1 << 5) - 1,
};
/* "cpu", "blkio", "memory", "pids", "pressure": the key of bit i. */
extern const char *const record_controller_names[5];
/* Configured as "tree": the controllers a cgrouparch-schema tree names at its top, as cgrouparch wrote. */
#define RECORD_TREE (1u << 5)
/* The RECORD_* bits to write for a configured set: as they are, or for RECORD_TREE the controllers among
 * ours that are top-level keys of tree_json when it is a cgrouparch-schema tree (cpuset is not sampled);
 * with no tree or a native one, all. */
unsigned record_controllers_resolve(unsigned configured, const json_t *tree_json, bool cgrouparch_schema);

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
/* The same with only the controllers in mask (RECORD_*), in the same order; mask 0 gives {}. */
int record_write_controllers(const RecordLayout *l, unsigned mask, const SampleValues *values, Buf *out);

/* Appends the decimal digits of v. The caller reserved 20 bytes. */
void record_put_u64(Buf *out, uint64_t v);

/* Appends "<unix_sec>":, the key of a member of show_account's answer. */
int record_write_key(uint64_t unix_sec, Buf *out);

/* One second as the daemon hands it on, appended to out: {"<unix_sec>":record}, show_account's shape for
 * the one second (what subscribers get), in which the record alone (what Redis gets) starts at
 * *ret_record_from and is *ret_record_size bytes long. *layout is made for set first (record_layout_update());
 * values has set->n entries. On failure out may hold part of the text. */
int record_write_second(RecordLayout **layout, uint64_t unix_sec, SliceSet *set, const SampleValues *values,
                        Buf *out, size_t *ret_record_from, size_t *ret_record_size);
/* The same with only the controllers in mask. */
int record_write_second_controllers(RecordLayout **layout, unsigned mask, uint64_t unix_sec, SliceSet *set,
                                    const SampleValues *values, Buf *out, size_t *ret_record_from,
                                    size_t *ret_record_size);
