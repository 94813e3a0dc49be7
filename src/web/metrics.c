/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* One series at a time: series() starts it (with the writer's node label, when it has one), label() adds a
 * pair, value() ends the line. Every series goes through here, so a label of the writer is on all of them. */
typedef struct MetricsWriter {
        FILE *f;
        const char *node; /* NULL: no node label */
        bool open;        /* a '{' is written and not closed yet */
} MetricsWriter;

static void label(MetricsWriter *w, const char *key, const char *v) {
        fputc(w->open ? ',' : '{', w->f);
        w->open = true;
        fprintf(w->f, "%s=\"", key);
        put_label(w->f, v);
        fputc('"', w->f);
}

static void series(MetricsWriter *w, const char *name) {
        fputs(name, w->f);
        w->open = false;
        if (w->node)
                label(w, "node", w->node);
}

_printf_(2, 0) static void value_v(MetricsWriter *w, const char *format, va_list ap) {
        if (w->open)
                fputc('}', w->f);
        w->open = false;
        fputc(' ', w->f);
        vfprintf(w->f, format, ap);
        fputc('\n', w->f);
}

_printf_(2, 3) static void value(MetricsWriter *w, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        value_v(w, format, ap);
        va_end(ap);
}

/* A label whose value is a device number. */
static void label_device(MetricsWriter *w, unsigned major, unsigned minor) {
        char dev[32];

        snprintf(dev, sizeof(dev), "%u:%u", major, minor);
        label(w, "device", dev);
}

/* A slice's series: a group's slice and path, or a user's UID, name ("" when NSS does not know it) and slice. */
static void slice_series(MetricsWriter *w, const char *name, const RingReader *slot, size_t i) {
        series(w, name);
        if (i >= slot->set->n_groups) {
                label(w, "uid", slot->set->paths[i]);
                label(w, "user", slot->set->user_names[i] ? slot->set->user_names[i] : "");
                label(w, "slice", slot->set->units[i]);
                return;
        }
        label(w, "slice", slot->set->units[i]);
        label(w, "group", slot->set->paths[i]);
}

/* The series of the slices [from, to) of the set: the groups' as "slicekeeper_NAME", the users' as
 * "slicekeeper_user_NAME" (what is, per slice, "of the slice" is then "of the user's slice"). */
static void put_samples(MetricsWriter *w, const RingReader *s, size_t from, size_t to, const char *prefix,
                        const char *of) {
        static const char *const res[] = { "cpu", "memory", "io" };
        FILE *f = w->f;
        char name[96], help[160];

#define FAMILY(n, type, fmt) \
        (snprintf(name, sizeof(name), "%s%s", prefix, n), snprintf(help, sizeof(help), fmt, of), \
         head(f, name, type, help))
        FAMILY("cpu_usage_seconds_total", "counter", "CPU time consumed by %s.");
        for (size_t i = from; i < to; i++)
                if (s->values[i].have & SAMPLE_HAVE_CPU) {
                        slice_series(w, name, s, i);
                        value(w, "%" PRIu64 ".%09" PRIu64, s->values[i].cpu_usage_nsec / 1000000000,
                              s->values[i].cpu_usage_nsec % 1000000000);
                }
        FAMILY("memory_usage_bytes", "gauge", "Memory charged to %s.");
        for (size_t i = from; i < to; i++)
                if (s->values[i].have & SAMPLE_HAVE_MEMORY) {
                        slice_series(w, name, s, i);
                        value(w, "%" PRIu64, s->values[i].memory_bytes);
                }
        FAMILY("tasks", "gauge", "Tasks (pids.current) in %s.");
        for (size_t i = from; i < to; i++)
                if (s->values[i].have & SAMPLE_HAVE_PIDS) {
                        slice_series(w, name, s, i);
                        value(w, "%" PRIu64, s->values[i].pids);
                }
        FAMILY("io_bytes_total", "counter", "Bytes read and written by %s, per device.");
        for (size_t i = from; i < to; i++)
                for (size_t d = 0; (s->values[i].have & SAMPLE_HAVE_IO) && d < s->values[i].n_io; d++)
                        for (int wr = 0; wr < 2; wr++) {
                                slice_series(w, name, s, i);
                                label_device(w, s->values[i].io[d].major, s->values[i].io[d].minor);
                                label(w, "operation", wr ? "write" : "read");
                                value(w, "%" PRIu64,
                                      wr ? s->values[i].io[d].write_bytes : s->values[i].io[d].read_bytes);
                        }
        FAMILY("io_operations_total", "counter", "Read and write operations of %s, per device.");
        for (size_t i = from; i < to; i++)
                for (size_t d = 0; (s->values[i].have & SAMPLE_HAVE_IO) && d < s->values[i].n_io; d++)
                        for (int wr = 0; wr < 2; wr++) {
                                slice_series(w, name, s, i);
                                label_device(w, s->values[i].io[d].major, s->values[i].io[d].minor);
                                label(w, "operation", wr ? "write" : "read");
                                value(w, "%" PRIu64, wr ? s->values[i].io[d].write_ios : s->values[i].io[d].read_ios);
                        }
        FAMILY("pressure_seconds_total", "counter",
               "Time some or all tasks of %s were stalled on a resource (PSI total).");
        for (size_t i = from; i < to; i++)
                for (int k = 0; k < _PRESSURE_MAX; k++)
                        if (s->values[i].pressure_have & (1u << k)) {
                                uint64_t us = s->values[i].pressure_usec[k];

                                slice_series(w, name, s, i);
                                label(w, "resource", res[k / 2]);
                                label(w, "kind", k % 2 ? "full" : "some");
                                value(w, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
                        }
#undef FAMILY
}

/* A family of one series without labels of its own. */
_printf_(5, 6) static void put_one(MetricsWriter *w, const char *name, const char *type, const char *help,
                                   const char *format, ...) {
        va_list ap;

        head(w->f, name, type, help);
        series(w, name);
        va_start(ap, format);
        value_v(w, format, ap);
        va_end(ap);
}

char *metrics_render(const RingReader *s, const MetricsExtra *x, const char *node) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        MetricsWriter w = { .f = f, .node = node && node[0] ? node : NULL };

        if (!f)
                return NULL;
        if (s && s->set) {
                put_samples(&w, s, 0, s->set->n_groups, "slicekeeper_", "the slice");
                if (s->set->n > s->set->n_groups)
                        put_samples(&w, s, s->set->n_groups, s->set->n, "slicekeeper_user_", "the user's slice");
                put_one(&w, "slicekeeper_sample_timestamp_seconds", "gauge", "The second these samples were taken.",
                        "%" PRIu64, s->unix_sec);
        }
        if (x) {
                put_one(&w, "slicekeeper_sweep_cpu_seconds_total", "counter", "CPU time the daemon spent sampling.",
                        "%" PRIu64 ".%06" PRIu64, x->sweep_cpu_usec_total / 1000000,
                        x->sweep_cpu_usec_total % 1000000);
                put_one(&w, "slicekeeper_last_sweep_cpu_seconds", "gauge", "CPU time of the last sweep.",
                        "%" PRIu64 ".%06" PRIu64, x->sweep_cpu_usec_last / 1000000, x->sweep_cpu_usec_last % 1000000);
                put_one(&w, "slicekeeper_sweeps_total", "counter", "Sweeps done.", "%" PRIu64, x->ticks);
                put_one(&w, "slicekeeper_redis_records_written_total", "counter", "Records stored in Redis.",
                        "%" PRIu64, x->redis_written);
                put_one(&w, "slicekeeper_redis_records_dropped_total", "counter",
                        "Records dropped while Redis was away.", "%" PRIu64, x->redis_dropped);
                put_one(&w, "slicekeeper_websocket_clients", "gauge", "Connected websocket clients.", "%" PRIu64,
                        x->websocket_clients);
        }
        if (x) {
                /* Always there, every kind with its count (0 too): a rate() sees the first event. */
                head(f, "slicekeeper_events_total", "counter", "Events published to the event stream, per kind.");
                for (int k = 0; k < _EVENT_KIND_MAX; k++) {
                        series(&w, "slicekeeper_events_total");
                        label(&w, "kind", event_kind_to_string((EventKind) k));
                        value(&w, "%" PRIu64, x->events_total ? x->events_total[k] : 0);
                }
                head(f, "slicekeeper_oom_kills_total", "counter",
                     "Processes the kernel's OOM killer killed in a slice (a tree group's: slice; a user's: uid, "
                     "user).");
                for (size_t i = 0; x->oom && i < x->n_oom; i++) {
                        const MetricsOom *o = &x->oom[i];

                        series(&w, "slicekeeper_oom_kills_total");
                        if (o->is_user) {
                                char uid[16];

                                snprintf(uid, sizeof(uid), "%" PRIu32, o->uid);
                                label(&w, "uid", uid);
                                label(&w, "user", o->user ? o->user : "");
                        } else
                                label(&w, "slice", o->slice ? o->slice : "");
                        value(&w, "%" PRIu64, o->kills);
                }
        }
        if (x && x->io) {
                head(f, "slicekeeper_io_device_counted", "gauge",
                     "1 when the slices' I/O on a block device that has done I/O is counted, 0 when the layout "
                     "cannot count it (status: sampler.io_devices.not_counted says why).");
                for (size_t d = 0; d < x->io->n; d++) {
                        series(&w, "slicekeeper_io_device_counted");
                        label_device(&w, x->io->dev[d].major, x->io->dev[d].minor);
                        label(&w, "name", x->io->dev[d].name);
                        value(&w, "%d", x->io->dev[d].counted ? 1 : 0);
                }
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}
