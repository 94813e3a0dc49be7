/* SPDX-License-Identifier: MIT */
/* Fixtures shared by the tests of the modules between the sampler and the clients (ring, record,
 * show-account, api, metrics): slice sets, sample values, a marked second, JSON comparison. */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "ring.h"
#include "tests.h"

/* The second of the cgrouparch README's show_account example. */
#define README_SEC 1525258774

/* A set of n slices; units[i] NULL means "<path with / as ->.slice" ("-.slice" for the root). */
static inline SliceSet *make_set(size_t n, const char *const *paths, const char *const *units) {
        SliceSet *s = slice_set_new(n);

        ASSERT_TRUE(s != NULL);
        ASSERT_EQ_INT(s->n_ref, 1);
        ASSERT_EQ_INT(s->n, n);
        for (size_t i = 0; i < n; i++) {
                s->paths[i] = strdup(paths[i]);
                ASSERT_TRUE(s->paths[i] != NULL);
                if (units && units[i])
                        s->units[i] = strdup(units[i]);
                else if (paths[i][0] == 0)
                        s->units[i] = strdup("-.slice");
                else {
                        char *u = NULL;

                        ASSERT_TRUE(asprintf(&u, "%s.slice", paths[i]) >= 0);
                        for (char *c = u; *c; c++)
                                if (*c == '/')
                                        *c = '-';
                        s->units[i] = u;
                }
                ASSERT_TRUE(s->units[i] != NULL);
        }
        return s;
}

static inline SampleValues *values_new(size_t n) {
        SampleValues *v = calloc(n ? n : 1, sizeof(SampleValues));

        ASSERT_TRUE(v != NULL);
        return v;
}

static inline void set_io(SampleValues *v, size_t n, const SampleIo *io) {
        v->have |= SAMPLE_HAVE_IO;
        v->n_io = (uint16_t) n;
        if (n == 0)
                return;
        v->io = calloc(n, sizeof(SampleIo));
        ASSERT_TRUE(v->io != NULL);
        memcpy(v->io, io, n * sizeof(SampleIo));
}

static inline void set_pressure(SampleValues *v, PressureKind k, uint64_t usec) {
        v->have |= SAMPLE_HAVE_PRESSURE;
        v->pressure_have |= (uint8_t) (1u << k);
        v->pressure_usec[k] = usec;
}

/* The root slice of the README example: cpu, memory, pids and two devices (pressure left to the caller). */
static inline void set_example_root(SampleValues *v) {
        static const SampleIo root_io[] = { { 8, 0, 1000, 2000, 10, 20 }, { 253, 1, 3, 4, 1, 2 } };

        v->have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS;
        v->cpu_usage_nsec = UINT64_C(1446489231295);
        v->memory_bytes = UINT64_C(8589934592);
        v->pids = 321;
        set_io(v, 2, root_io);
}

/* One slice "" whose cpu usage is sec*1000, so a record tells which second it came from. */
static inline void put_marked(Ring *r, SliceSet *set, uint64_t sec) {
        SampleValues *v = values_new(set->n);

        for (size_t i = 0; i < set->n; i++) {
                v[i].have = SAMPLE_HAVE_CPU;
                v[i].cpu_usage_nsec = sec * 1000 + i;
        }
        ASSERT_EQ_INT(ring_put(r, sec, set, v), 0);
}

static inline void assert_json_eq(const json_t *got, const char *expected_text) {
        json_error_t err;
        json_t *expected = json_loads(expected_text, 0, &err);

        if (!expected) {
                fprintf(stderr, "expected text is not JSON (line %d: %s)\n", err.line, err.text);
                abort();
        }
        if (!json_equal(got, expected)) {
                char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
                char *e = json_dumps(expected, JSON_SORT_KEYS | JSON_COMPACT);

                fprintf(stderr, "JSON differs:\n   got: %s\nexpect: %s\n", g ? g : "(null)", e ? e : "(null)");
                abort();
        }
        json_decref(expected);
}
