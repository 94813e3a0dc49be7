/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics.h"

/* Label values escape backslash, double quote and newline (the text format's rules). */
static void put_label(FILE *f, const char *v) {
        for (; *v; v++)
                if (*v == '\\' || *v == '"')
                        fprintf(f, "\\%c", *v);
                else if (*v == '\n')
                        fputs("\\n", f);
                else
                        fputc(*v, f);
}

static void head(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void labels(FILE *f, const RingReader *slot, size_t i) {
        fputs("{slice=\"", f);
        put_label(f, slot->set->units[i]);
        fputs("\",group=\"", f);
        put_label(f, slot->set->paths[i]);
        fputc('"', f);
}

char *metrics_render(const RingReader *s, const MetricsExtra *x) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        static const char *const res[] = { "cpu", "memory", "io" };

        if (!f)
                return NULL;
        if (s && s->set) {
                head(f, "slicekeeper_cpu_usage_seconds_total", "counter", "CPU time consumed by the slice.");
                for (size_t i = 0; i < s->set->n; i++)
                        if (s->values[i].have & SAMPLE_HAVE_CPU) {
                                fputs("slicekeeper_cpu_usage_seconds_total", f);
                                labels(f, s, i);
                                fprintf(f, "} %" PRIu64 ".%09" PRIu64 "\n", s->values[i].cpu_usage_nsec / 1000000000,
                                        s->values[i].cpu_usage_nsec % 1000000000);
                        }
                head(f, "slicekeeper_memory_usage_bytes", "gauge", "Memory charged to the slice.");
                for (size_t i = 0; i < s->set->n; i++)
                        if (s->values[i].have & SAMPLE_HAVE_MEMORY) {
                                fputs("slicekeeper_memory_usage_bytes", f);
                                labels(f, s, i);
                                fprintf(f, "} %" PRIu64 "\n", s->values[i].memory_bytes);
                        }
                head(f, "slicekeeper_tasks", "gauge", "Tasks (pids.current) in the slice.");
                for (size_t i = 0; i < s->set->n; i++)
                        if (s->values[i].have & SAMPLE_HAVE_PIDS) {
                                fputs("slicekeeper_tasks", f);
                                labels(f, s, i);
                                fprintf(f, "} %" PRIu64 "\n", s->values[i].pids);
                        }
                head(f, "slicekeeper_io_bytes_total", "counter", "Bytes read and written by the slice, per device.");
                for (size_t i = 0; i < s->set->n; i++)
                        for (size_t d = 0; (s->values[i].have & SAMPLE_HAVE_IO) && d < s->values[i].n_io; d++)
                                for (int w = 0; w < 2; w++) {
                                        fputs("slicekeeper_io_bytes_total", f);
                                        labels(f, s, i);
                                        fprintf(f, ",device=\"%u:%u\",operation=\"%s\"} %" PRIu64 "\n",
                                                s->values[i].io[d].major, s->values[i].io[d].minor, w ? "write" : "read",
                                                w ? s->values[i].io[d].write_bytes : s->values[i].io[d].read_bytes);
                                }
                head(f, "slicekeeper_io_operations_total", "counter", "Read and write operations of the slice, per device.");
                for (size_t i = 0; i < s->set->n; i++)
                        for (size_t d = 0; (s->values[i].have & SAMPLE_HAVE_IO) && d < s->values[i].n_io; d++)
                                for (int w = 0; w < 2; w++) {
                                        fputs("slicekeeper_io_operations_total", f);
                                        labels(f, s, i);
                                        fprintf(f, ",device=\"%u:%u\",operation=\"%s\"} %" PRIu64 "\n",
                                                s->values[i].io[d].major, s->values[i].io[d].minor, w ? "write" : "read",
                                                w ? s->values[i].io[d].write_ios : s->values[i].io[d].read_ios);
                                }
                head(f, "slicekeeper_pressure_seconds_total", "counter",
                     "Time some or all tasks of the slice were stalled on a resource (PSI total).");
                for (size_t i = 0; i < s->set->n; i++)
                        for (int k = 0; k < _PRESSURE_MAX; k++)
                                if (s->values[i].pressure_have & (1u << k)) {
                                        uint64_t us = s->values[i].pressure_usec[k];

                                        fputs("slicekeeper_pressure_seconds_total", f);
                                        labels(f, s, i);
                                        fprintf(f, ",resource=\"%s\",kind=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n",
                                                res[k / 2], k % 2 ? "full" : "some", us / 1000000, us % 1000000);
                                }
                head(f, "slicekeeper_sample_timestamp_seconds", "gauge", "The second these samples were taken.");
                fprintf(f, "slicekeeper_sample_timestamp_seconds %" PRIu64 "\n", s->unix_sec);
        }
        if (x) {
                head(f, "slicekeeper_sweep_cpu_seconds_total", "counter", "CPU time the daemon spent sampling.");
                fprintf(f, "slicekeeper_sweep_cpu_seconds_total %" PRIu64 ".%06" PRIu64 "\n",
                        x->sweep_cpu_usec_total / 1000000, x->sweep_cpu_usec_total % 1000000);
                head(f, "slicekeeper_last_sweep_cpu_seconds", "gauge", "CPU time of the last sweep.");
                fprintf(f, "slicekeeper_last_sweep_cpu_seconds %" PRIu64 ".%06" PRIu64 "\n",
                        x->sweep_cpu_usec_last / 1000000, x->sweep_cpu_usec_last % 1000000);
                head(f, "slicekeeper_sweeps_total", "counter", "Sweeps done.");
                fprintf(f, "slicekeeper_sweeps_total %" PRIu64 "\n", x->ticks);
                head(f, "slicekeeper_redis_records_written_total", "counter", "Records stored in Redis.");
                fprintf(f, "slicekeeper_redis_records_written_total %" PRIu64 "\n", x->redis_written);
                head(f, "slicekeeper_redis_records_dropped_total", "counter", "Records dropped while Redis was away.");
                fprintf(f, "slicekeeper_redis_records_dropped_total %" PRIu64 "\n", x->redis_dropped);
                head(f, "slicekeeper_websocket_clients", "gauge", "Connected websocket clients.");
                fprintf(f, "slicekeeper_websocket_clients %" PRIu64 "\n", x->websocket_clients);
        }
        if (x && x->io) {
                head(f, "slicekeeper_io_device_counted", "gauge",
                     "1 when the slices' I/O on a block device that has done I/O is counted, 0 when the layout "
                     "cannot count it (status: sampler.io_devices.not_counted says why).");
                for (size_t d = 0; d < x->io->n; d++) {
                        fprintf(f, "slicekeeper_io_device_counted{device=\"%u:%u\",name=\"", x->io->dev[d].major,
                                x->io->dev[d].minor);
                        put_label(f, x->io->dev[d].name);
                        fprintf(f, "\"} %d\n", x->io->dev[d].counted ? 1 : 0);
                }
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}
