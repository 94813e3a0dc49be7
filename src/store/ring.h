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
#include "sample.h"

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
/* Fills in an older second (read back from Redis after a restart) without disturbing the seconds put since:
 * -EEXIST when the ring holds unix_sec already, -ERANGE when its place holds a later second (unix_sec is
 * older than the window). Takes over values on success; ring_last() is unchanged. */
int ring_fill(Ring *r, uint64_t unix_sec, SliceSet *set, SampleValues *values);
const RingSlot *ring_get(const Ring *r, uint64_t unix_sec);
const RingSlot *ring_latest(const Ring *r);
/* The values of the second put last, without decoding; NULL once that second has left the ring. */
const RingReader *ring_last(const Ring *r);

void ring_reader_done(RingReader *rd);
/* Decodes second unix_sec into rd: -ENOENT when the ring does not hold it. One delta step when rd holds
 * the second before (reading forward), else from the last key slot. On other failures rd is emptied. */
int ring_read(const Ring *r, uint64_t unix_sec, RingReader *rd);
