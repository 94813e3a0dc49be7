/* SPDX-License-Identifier: MIT */
/* GET /metrics: Prometheus text format with cAdvisor-style names and units, from the latest second. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event-ring.h"
#include "io-coverage.h"
#include "ring.h"
#include "time-util.h"

/* OOM kills counted in one slice: a tree group's (slice), or a user's (is_user: uid, user). */
typedef struct MetricsOom {
        const char *slice;
        bool is_user;
        uint32_t uid;
        const char *user;     /* NULL: no name known ("") */
        uint64_t kills;
} MetricsOom;

typedef struct MetricsExtra {
        usec_t sweep_cpu_usec_total, sweep_cpu_usec_last;
        uint64_t ticks;
        uint64_t redis_written, redis_dropped;
        uint64_t websocket_clients;
        const IoCoverage *io; /* which block devices the layout counts, NULL before the first look */
        const uint64_t *events_total; /* events published per EventKind (_EVENT_KIND_MAX of them); NULL: none */
        const MetricsOom *oom;  /* OOM kills per slice watched */
        size_t n_oom;
} MetricsExtra;

/* The text of latest (NULL: no samples yet) and extra (NULL: none). node (NULL or "": none) is a label
 * node="<node>" on every series ([Web] MetricsNodeLabel=yes), escaped as any label value. NULL when out of
 * memory. */
char *metrics_render(const RingReader *latest, const MetricsExtra *extra, const char *node);
