/* SPDX-License-Identifier: MIT */
/* What one sweep yields: the values of each sampled slice at one second, and the set of slices they
 * belong to. The types every reader of samples shares (the window, the records, Redis, the web). Pure. */
#pragma once

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

/* The slices sampled, shared by every slot taken while the set did not change. The first n_groups are the
 * root and the tree's groups; the rest, if any, user slices (per-user fair share), which records, /metrics
 * and status show apart from the tree. */
typedef struct SliceSet {
        unsigned n_ref;
        size_t n;
        size_t n_groups;   /* slice_set_new() sets n: no users */
        char **paths;      /* group paths; "" is the root; a user slice's: its UID in decimal */
        char **units;      /* their slice units ("-.slice" for the root, "user-UID.slice"); NULL in sets read
                            * back from Redis */
        char **user_names; /* n entries: a user slice's user name, NULL for groups and unknown names */
} SliceSet;

/* A user whose slice "user-UID.slice" is sampled (sampler_set_users()). */
typedef struct SampleUser {
        uint32_t uid;
        const char *name; /* NULL when unknown */
} SampleUser;

SliceSet *slice_set_new(size_t n);
SliceSet *slice_set_ref(SliceSet *s);
SliceSet *slice_set_unref(SliceSet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SliceSet *, slice_set_unref)

/* Frees n values and their io arrays, then the array. */
void sample_values_free_array(SampleValues *v, size_t n);
