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
        if (i >= slot->set->n_groups) {
                /* a user slice: its UID, the user's name ("" when NSS does not know it) and the slice */
                fputs("{uid=\"", f);
                put_label(f, slot->set->paths[i]);
                fputs("\",user=\"", f);
                put_label(f, slot->set->user_names[i] ? slot->set->user_names[i] : "");
                fputs("\",slice=\"", f);
                put_label(f, slot->set->units[i]);
                fputc('"', f);
                return;
        }
        fputs("{slice=\"", f);
        put_label(f, slot->set->units[i]);
        fputs("\",group=\"", f);
        put_label(f, slot->set->paths[i]);
        fputc('"', f);
}

/* The series of the slices [from, to) of the set: the groups' as "slicekeeper_NAME", the users' as
 * "slicekeeper_user_NAME" (what is, per slice, "of the slice" is then "of the user's slice"). */
static void put_samples(FILE *f, const RingReader *s, size_t from, size_t to, const char *prefix, const char *of) {
        static const char *const res[] = { "cpu", "memory", "io" };
        char name[96], help[160];

#define FAMILY(n, type, fmt) \
        (snprintf(name, sizeof(name), "%s%s", prefix, n), snprintf(help, sizeof(help), fmt, of), \
         head(f, name, type, help))
        FAMILY("cpu_usage_seconds_total", "counter", "CPU time consumed by %s.");
        for (size_t i = from; i < to; i++)
                if (s->values[i].have & SAMPLE_HAVE_CPU) {
                        fputs(name, f);
                        labels(f, s, i);
                        fprintf(f, "} %" PRIu64 ".%09" PRIu64 "\n", s->values[i].cpu_usage_nsec / 1000000000,
                                s->values[i].cpu_usage_nsec % 1000000000);
                }
        FAMILY("memory_usage_bytes", "gauge", "Memory charged to %s.");
        for (size_t i = from; i < to; i++)
                if (s->values[i].have & SAMPLE_HAVE_MEMORY) {
                        fputs(name, f);
                        labels(f, s, i);
                        fprintf(f, "} %" PRIu64 "\n", s->values[i].memory_bytes);
                }
        FAMILY("tasks", "gauge", "Tasks (pids.current) in %s.");
        for (size_t i = from; i < to; i++)
                if (s->values[i].have & SAMPLE_HAVE_PIDS) {
                        fputs(name, f);
                        labels(f, s, i);
                        fprintf(f, "} %" PRIu64 "\n", s->values[i].pids);
                }
        FAMILY("io_bytes_total", "counter", "Bytes read and written by %s, per device.");
        for (size_t i = from; i < to; i++)
                for (size_t d = 0; (s->values[i].have & SAMPLE_HAVE_IO) && d < s->values[i].n_io; d++)
                        for (int w = 0; w < 2; w++) {
                                fputs(name, f);
                                labels(f, s, i);
                                fprintf(f, ",device=\"%u:%u\",operation=\"%s\"} %" PRIu64 "\n",
                                        s->values[i].io[d].major, s->values[i].io[d].minor, w ? "write" : "read",
                                        w ? s->values[i].io[d].write_bytes : s->values[i].io[d].read_bytes);
                        }
        FAMILY("io_operations_total", "counter", "Read and write operations of %s, per device.");
        for (size_t i = from; i < to; i++)
                for (size_t d = 0; (s->values[i].have & SAMPLE_HAVE_IO) && d < s->values[i].n_io; d++)
                        for (int w = 0; w < 2; w++) {
                                fputs(name, f);
                                labels(f, s, i);
                                fprintf(f, ",device=\"%u:%u\",operation=\"%s\"} %" PRIu64 "\n",
                                        s->values[i].io[d].major, s->values[i].io[d].minor, w ? "write" : "read",
                                        w ? s->values[i].io[d].write_ios : s->values[i].io[d].read_ios);
                        }
        FAMILY("pressure_seconds_total", "counter",
               "Time some or all tasks of %s were stalled on a resource (PSI total).");
        for (size_t i = from; i < to; i++)
                for (int k = 0; k < _PRESSURE_MAX; k++)
                        if (s->values[i].pressure_have & (1u << k)) {
                                uint64_t us = s->values[i].pressure_usec[k];

                                fputs(name, f);
                                labels(f, s, i);
                                fprintf(f, ",resource=\"%s\",kind=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n", res[k / 2],
                                        k % 2 ? "full" : "some", us / 1000000, us % 1000000);
                        }
#undef FAMILY
}

char *metrics_render(const RingReader *s, const MetricsExtra *x) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;
        if (s && s->set) {
                put_samples(f, s, 0, s->set->n_groups, "slicekeeper_", "the slice");
                if (s->set->n > s->set->n_groups)
                        put_samples(f, s, s->set->n_groups, s->set->n, "slicekeeper_user_", "the user's slice");
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
        if (x) {
                /* Always there, every kind with its count (0 too): a rate() sees the first event. */
                head(f, "slicekeeper_events_total", "counter", "Events published to the event stream, per kind.");
                for (int k = 0; k < _EVENT_KIND_MAX; k++)
                        fprintf(f, "slicekeeper_events_total{kind=\"%s\"} %" PRIu64 "\n",
                                event_kind_to_string((EventKind) k), x->events_total ? x->events_total[k] : 0);
                head(f, "slicekeeper_oom_kills_total", "counter",
                     "Processes the kernel's OOM killer killed in a slice (a tree group's: slice; a user's: uid, "
                     "user).");
                for (size_t i = 0; x->oom && i < x->n_oom; i++) {
                        const MetricsOom *o = &x->oom[i];

                        if (o->is_user) {
                                fprintf(f, "slicekeeper_oom_kills_total{uid=\"%" PRIu32 "\",user=\"", o->uid);
                                put_label(f, o->user ? o->user : "");
                        } else {
                                fputs("slicekeeper_oom_kills_total{slice=\"", f);
                                put_label(f, o->slice ? o->slice : "");
                        }
                        fprintf(f, "\"} %" PRIu64 "\n", o->kills);
                }
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
