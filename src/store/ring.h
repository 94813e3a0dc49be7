/* SPDX-License-Identifier: MIT */
/* The per-second window in RAM: the last N seconds of samples of every slice, addressed by unix second,
 * each second kept compact (slot-codec.h: a delta against the second before, or a key slot). Readers
 * decode seconds into values of their own. Pure: no clocks, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
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

/* A delta slot is decoded on top of the second before it; at least every RING_KEY_INTERVAL_SEC seconds
 * (and whenever the set changes, after a gap, or when the second before leaves the window) a slot is
 * a key slot, decoded on its own. So a reader walks back at most that many seconds. */
#define RING_KEY_INTERVAL_SEC 64

typedef struct RingSlot {
        uint64_t unix_sec; /* 0: empty */
        uint64_t seq;      /* which put stored these values (never 0 when full) */
        uint64_t base_seq; /* 0: a key slot; else the seq of the second before, the base of this delta */
        SliceSet *set;
        uint8_t *data;     /* slot-codec.h */
        size_t size;
} RingSlot;

/* Decoded values of one second, owned by the reader; they stay valid (and are the base of the next
 * second's delta) whatever the ring does meanwhile. */
typedef struct RingReader {
        uint64_t unix_sec, seq; /* seq 0: holds nothing */
        SliceSet *set;          /* a reference */
        SampleValues *values;   /* set->n entries */
} RingReader;

typedef struct Ring {
        RingSlot *slots;
        size_t n_slots;
        uint64_t last_seq;
        RingReader last;    /* the values put last, as given: the base of the next put */
        RingReader scratch; /* for turning a delta into a key slot */
        Buf buf;            /* encoder output */
} Ring;

int ring_init(Ring *r, size_t seconds);
void ring_done(Ring *r);
/* Takes over values (set->n of them) for second unix_sec, replacing whatever that slot held. On failure
 * they stay the caller's. */
int ring_put(Ring *r, uint64_t unix_sec, SliceSet *set, SampleValues *values);
const RingSlot *ring_get(const Ring *r, uint64_t unix_sec);
const RingSlot *ring_latest(const Ring *r);
/* The values of the second put last, without decoding; NULL once that second has left the ring. */
const RingReader *ring_last(const Ring *r);
void sample_values_free_array(SampleValues *v, size_t n);

void ring_reader_done(RingReader *rd);
/* Decodes second unix_sec into rd: -ENOENT when the ring does not hold it. One delta step when rd holds
 * the second before (reading forward), else from the last key slot. On other failures rd is emptied. */
int ring_read(const Ring *r, uint64_t unix_sec, RingReader *rd);
