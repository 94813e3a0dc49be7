/* SPDX-License-Identifier: MIT */
/* GET /metrics: Prometheus text format with cAdvisor-style names and units, from the latest second. Pure. */
#pragma once

#include <stdint.h>

#include "io-coverage.h"
#include "ring.h"
#include "time-util.h"

typedef struct MetricsExtra {
        usec_t sweep_cpu_usec_total, sweep_cpu_usec_last;
        uint64_t ticks;
        uint64_t redis_written, redis_dropped;
        uint64_t websocket_clients;
        const IoCoverage *io; /* which block devices the layout counts, NULL before the first look */
} MetricsExtra;

char *metrics_render(const RingReader *latest, const MetricsExtra *extra);
