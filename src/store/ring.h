/* SPDX-License-Identifier: MIT */
/* The per-second window in RAM: the last N seconds of samples of every slice, addressed by unix second.
 * Pure: no clocks, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

enum {
        SAMPLE_HAVE_CPU = 1 << 0,
        SAMPLE_HAVE_MEMORY = 1 << 1,
        SAMPLE_HAVE_PIDS = 1 << 2,
        SAMPLE_HAVE_IO = 1 << 3,
        SAMPLE_HAVE_PRESSURE = 1 << 4, /* which of the six totals: pressure_have */
};

typedef enum PressureKind {
        PRESSURE_CPU_SOME,
        PRESSURE_CPU_FULL,
        PRESSURE_MEMORY_SOME,
        PRESSURE_MEMORY_FULL,
        PRESSURE_IO_SOME,
        PRESSURE_IO_FULL,
        _PRESSURE_MAX,
} PressureKind;

typedef struct SampleIo {
        uint32_t major, minor;
        uint64_t read_bytes, write_bytes, read_ios, write_ios;
} SampleIo;

/* One slice at one second. */
typedef struct SampleValues {
        uint32_t have;
        uint8_t pressure_have; /* bit per PressureKind */
        uint16_t n_io;
        uint64_t cpu_usage_nsec;
        uint64_t memory_bytes;
        uint64_t pids;
        uint64_t pressure_usec[_PRESSURE_MAX];
        SampleIo *io; /* n_io entries, owned */
} SampleValues;

/* The slices sampled, shared by every slot taken while the set did not change. */
typedef struct SliceSet {
        unsigned n_ref;
        size_t n;
        char **paths; /* group paths; "" is the root */
        char **units; /* their slice units ("-.slice" for the root) */
} SliceSet;

SliceSet *slice_set_new(size_t n);
SliceSet *slice_set_ref(SliceSet *s);
SliceSet *slice_set_unref(SliceSet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SliceSet *, slice_set_unref)

typedef struct RingSlot {
        uint64_t unix_sec; /* 0: empty */
        SliceSet *set;
        SampleValues *values; /* set->n entries */
} RingSlot;

typedef struct Ring {
        RingSlot *slots;
        size_t n_slots;
} Ring;

int ring_init(Ring *r, size_t seconds);
void ring_done(Ring *r);
/* Takes over values (set->n of them) for second unix_sec, replacing whatever that slot held. */
int ring_put(Ring *r, uint64_t unix_sec, SliceSet *set, SampleValues *values);
const RingSlot *ring_get(const Ring *r, uint64_t unix_sec);
const RingSlot *ring_latest(const Ring *r);
void sample_values_free_array(SampleValues *v, size_t n);
