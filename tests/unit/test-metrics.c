/* SPDX-License-Identifier: MIT */
/* The Prometheus text: checked by a small parser of the exposition format, then value by value. */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics.h"
#include "ring.h"
#include "sample-fixtures.h"
#include "tests.h"

/* ---------------------------------------------------------------------------------------------------- */
/* metrics_render: a small parser of the text exposition format */

#define MAX_LABELS 8
#define MAX_SAMPLES 256
#define MAX_FAMILIES 32

typedef struct PromSample {
        char name[128];
        size_t n_labels;
        char label_name[MAX_LABELS][64];
        char label_value[MAX_LABELS][256];
        char value[64];
} PromSample;

typedef struct PromFamily {
        char name[128];
        char type[16];
        int n_help, n_type;
        size_t n_samples;
        bool closed; /* another family's sample came after ours */
} PromFamily;

typedef struct Prom {
        PromSample samples[MAX_SAMPLES];
        size_t n_samples;
        PromFamily families[MAX_FAMILIES];
        size_t n_families;
} Prom;

static bool is_name_start(char c) {
        return isalpha((unsigned char) c) || c == '_' || c == ':';
}

static bool is_name_char(char c) {
        return is_name_start(c) || isdigit((unsigned char) c);
}

/* A metric or label name at *p, copied to out; returns false when there is none. */
static bool parse_name(const char **p, char *out, size_t size, bool label) {
        size_t n = 0;

        if (!is_name_start(**p) || (label && **p == ':'))
                return false;
        while (is_name_char(**p) && !(label && **p == ':')) {
                if (n + 1 >= size)
                        return false;
                out[n++] = *(*p)++;
        }
        out[n] = 0;
        return true;
}

/* A plain decimal: digits, optionally a point and more digits. No sign, exponent, NaN or Inf. */
static bool is_plain_decimal(const char *s) {
        const char *p = s;

        if (!isdigit((unsigned char) *p))
                return false;
        while (isdigit((unsigned char) *p))
                p++;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return false;
                while (isdigit((unsigned char) *p))
                        p++;
        }
        return *p == 0;
}

static PromFamily *family(Prom *m, const char *name, bool create) {
        for (size_t i = 0; i < m->n_families; i++)
                if (streq(m->families[i].name, name))
                        return &m->families[i];
        if (!create)
                return NULL;
        ASSERT_TRUE(m->n_families < MAX_FAMILIES);
        m->families[m->n_families] = (PromFamily) { .n_help = 0 };
        snprintf(m->families[m->n_families].name, sizeof(m->families[0].name), "%s", name);
        return &m->families[m->n_families++];
}

#define PARSE_FAIL(line, why)                                                        \
        do {                                                                         \
                fprintf(stderr, "%s:%d: bad exposition line \"%s\": %s\n", __FILE__, __LINE__, line, why); \
                abort();                                                             \
        } while (0)

static void parse_line(Prom *m, const char *line, PromFamily **current) {
        const char *p = line;

        if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
                bool help = line[2] == 'H';
                char name[128];
                PromFamily *f;

                p += 7;
                if (!parse_name(&p, name, sizeof(name), false) || *p != ' ' || !p[1])
                        PARSE_FAIL(line, "comment without a name and text");
                f = family(m, name, true);
                if (f->n_samples > 0)
                        PARSE_FAIL(line, "HELP/TYPE after the family's samples");
                if (help)
                        f->n_help++;
                else {
                        f->n_type++;
                        snprintf(f->type, sizeof(f->type), "%s", p + 1);
                        if (!streq(f->type, "counter") && !streq(f->type, "gauge"))
                                PARSE_FAIL(line, "unexpected type");
                }
                if (f->n_help > 1 || f->n_type > 1)
                        PARSE_FAIL(line, "second HELP or TYPE for a family");
                return;
        }
        if (line[0] == '#')
                PARSE_FAIL(line, "unknown comment");

        ASSERT_TRUE(m->n_samples < MAX_SAMPLES);
        PromSample *s = &m->samples[m->n_samples];
        *s = (PromSample) { .n_labels = 0 };
        if (!parse_name(&p, s->name, sizeof(s->name), false))
                PARSE_FAIL(line, "no metric name");
        if (*p == '{') {
                p++;
                while (*p != '}') {
                        size_t n = 0;

                        if (s->n_labels >= MAX_LABELS)
                                PARSE_FAIL(line, "too many labels");
                        if (!parse_name(&p, s->label_name[s->n_labels], sizeof(s->label_name[0]), true))
                                PARSE_FAIL(line, "bad label name");
                        for (size_t i = 0; i < s->n_labels; i++)
                                if (streq(s->label_name[i], s->label_name[s->n_labels]))
                                        PARSE_FAIL(line, "label repeated");
                        if (p[0] != '=' || p[1] != '"')
                                PARSE_FAIL(line, "label without =\"");
                        p += 2;
                        for (;; p++) {
                                char c = *p;

                                if (c == 0 || c == '\n')
                                        PARSE_FAIL(line, "unterminated label value");
                                if (c == '"')
                                        break;
                                if (c == '\\') {
                                        p++;
                                        if (*p == 'n')
                                                c = '\n';
                                        else if (*p == '\\' || *p == '"')
                                                c = *p;
                                        else
                                                PARSE_FAIL(line, "bad escape in label value");
                                }
                                if (n + 1 >= sizeof(s->label_value[0]))
                                        PARSE_FAIL(line, "label value too long");
                                s->label_value[s->n_labels][n++] = c;
                        }
                        s->label_value[s->n_labels][n] = 0;
                        s->n_labels++;
                        p++; /* the closing quote */
                        if (*p == ',')
                                p++;
                        else if (*p != '}')
                                PARSE_FAIL(line, "labels not separated by commas");
                }
                p++;
        }
        if (*p != ' ')
                PARSE_FAIL(line, "no single space before the value");
        p++;
        if (strchr(p, ' '))
                PARSE_FAIL(line, "a timestamp or trailing text after the value");
        if (!is_plain_decimal(p))
                PARSE_FAIL(line, "value is not a plain decimal");
        snprintf(s->value, sizeof(s->value), "%s", p);

        PromFamily *f = family(m, s->name, false);
        if (!f || f->n_help != 1 || f->n_type != 1)
                PARSE_FAIL(line, "sample without one HELP and one TYPE before it");
        if (f->closed)
                PARSE_FAIL(line, "family's samples are not together");
        if (streq(f->type, "counter") && !(strlen(s->name) > 6 && streq(s->name + strlen(s->name) - 6, "_total")))
                PARSE_FAIL(line, "counter not ending in _total");
        if (*current && *current != f)
                (*current)->closed = true;
        *current = f;
        f->n_samples++;
        m->n_samples++;
}

/* Parses the whole text (asserting it is valid); every line ends with \n. */
static void prom_parse(Prom *m, const char *text) {
        PromFamily *current = NULL;
        const char *p = text;

        memset(m, 0, sizeof(*m));
        ASSERT_TRUE(text != NULL);
        ASSERT_TRUE(text[0] == 0 || text[strlen(text) - 1] == '\n');
        while (*p) {
                const char *nl = strchr(p, '\n');
                char line[1024];
                size_t n = (size_t) (nl - p);

                ASSERT_TRUE(nl != NULL);
                ASSERT_TRUE(n < sizeof(line));
                if (n == 0)
                        PARSE_FAIL("", "empty line");
                memcpy(line, p, n);
                line[n] = 0;
                parse_line(m, line, &current);
                p = nl + 1;
        }
        /* a family without samples is fine, one with only HELP or only TYPE is not */
        for (size_t i = 0; i < m->n_families; i++)
                if (m->families[i].n_help != 1 || m->families[i].n_type != 1) {
                        fprintf(stderr, "family %s: %d HELP, %d TYPE\n", m->families[i].name, m->families[i].n_help,
                                m->families[i].n_type);
                        abort();
                }
}

static const char *label_of(const PromSample *s, const char *name) {
        for (size_t i = 0; i < s->n_labels; i++)
                if (streq(s->label_name[i], name))
                        return s->label_value[i];
        return NULL;
}

/* The value of the one sample of `name` whose labels include the given pairs (NULL-terminated). */
__attribute__((sentinel)) static const char *prom_value(const Prom *m, const char *name, ...) {
        const char *found = NULL;
        size_t n_found = 0;

        for (size_t i = 0; i < m->n_samples; i++) {
                const PromSample *s = &m->samples[i];
                bool match = streq(s->name, name);
                va_list ap;

                va_start(ap, name);
                for (const char *k; match && (k = va_arg(ap, const char *));) {
                        const char *v = va_arg(ap, const char *), *have = label_of(s, k);

                        match = have && streq(have, v);
                }
                va_end(ap);
                if (match) {
                        found = s->value;
                        n_found++;
                }
        }
        if (n_found > 1) {
                fprintf(stderr, "%zu samples of %s match\n", n_found, name);
                abort();
        }
        return found;
}

static size_t prom_count(const Prom *m, const char *name) {
        const PromFamily *f = family((Prom *) m, name, false);

        return f ? f->n_samples : 0;
}

#define WEIRD_PATH "we\"ird\\path\nname"
#define WEIRD_UNIT "we\\x22ird.slice"

/* Two slices: the root with everything, WEIRD_PATH with cpu, pids, one device and one pressure total. */
static void put_metrics_slot(Ring *r, uint64_t sec) {
        static const char *const paths[] = { "", WEIRD_PATH };
        static const char *const units[] = { "-.slice", WEIRD_UNIT };
        static const SampleIo w_io[] = { { 8, 16, 4096, 0, 1, 0 } };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(2, paths, units);
        SampleValues *v = values_new(2);

        set_example_root(&v[0]);
        for (PressureKind k = 0; k < _PRESSURE_MAX; k++)
                set_pressure(&v[0], k, UINT64_C(1500000) * (1 + (uint64_t) k) + 7);

        v[1].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_PIDS; /* no memory */
        v[1].cpu_usage_nsec = 5;
        v[1].pids = 0;
        set_io(&v[1], 1, w_io);
        set_pressure(&v[1], PRESSURE_IO_FULL, 250);
        ASSERT_EQ_INT(ring_put(r, sec, set, v), 0);
}

static char *render_slot_node(Prom *m, const MetricsExtra *x, const char *node) {
        Ring r;
        char *text;

        ASSERT_EQ_INT(ring_init(&r, 60), 0);
        put_metrics_slot(&r, README_SEC);
        text = metrics_render(ring_last(&r), x, node);
        ring_done(&r);
        ASSERT_TRUE(text != NULL);
        prom_parse(m, text);
        return text;
}

static char *render_slot(Prom *m, const MetricsExtra *x) {
        return render_slot_node(m, x, NULL);
}

TEST(test_metrics_lines_are_valid_exposition) {
        static Prom m;
        char *text = render_slot(&m, NULL);
        static const char *const families[] = {
                "slicekeeper_cpu_usage_seconds_total", "slicekeeper_memory_usage_bytes",
                "slicekeeper_tasks",                   "slicekeeper_io_bytes_total",
                "slicekeeper_io_operations_total",     "slicekeeper_pressure_seconds_total",
                "slicekeeper_sample_timestamp_seconds",
        };

        /* prom_parse checked every line; here: the families expected, and nothing else */
        for (size_t i = 0; i < ELEMENTSOF(families); i++)
                ASSERT_TRUE(family(&m, families[i], false) != NULL);
        ASSERT_EQ_INT(m.n_families, ELEMENTSOF(families));
        ASSERT_STREQ(family(&m, "slicekeeper_cpu_usage_seconds_total", false)->type, "counter");
        ASSERT_STREQ(family(&m, "slicekeeper_memory_usage_bytes", false)->type, "gauge");
        ASSERT_STREQ(family(&m, "slicekeeper_tasks", false)->type, "gauge");
        ASSERT_STREQ(family(&m, "slicekeeper_sample_timestamp_seconds", false)->type, "gauge");
        free(text);
}

TEST(test_metrics_cpu_seconds_from_nsec) {
        static Prom m;
        char *text = render_slot(&m, NULL);

        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_cpu_usage_seconds_total"), 2);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_cpu_usage_seconds_total", "group", "", "slice", "-.slice", NULL),
                     "1446.489231295");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_cpu_usage_seconds_total", "group", WEIRD_PATH, NULL), "0.000000005");
        free(text);
}

TEST(test_metrics_memory_and_tasks) {
        static Prom m;
        char *text = render_slot(&m, NULL);

        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_memory_usage_bytes"), 1); /* the weird slice has none */
        ASSERT_STREQ(prom_value(&m, "slicekeeper_memory_usage_bytes", "group", "", NULL), "8589934592");
        ASSERT_TRUE(prom_value(&m, "slicekeeper_memory_usage_bytes", "group", WEIRD_PATH, NULL) == NULL);
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_tasks"), 2);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_tasks", "group", "", NULL), "321");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_tasks", "group", WEIRD_PATH, NULL), "0");
        free(text);
}

TEST(test_metrics_io_per_device_and_operation) {
        static Prom m;
        char *text = render_slot(&m, NULL);

        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_io_bytes_total"), 6);
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_io_operations_total"), 6);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_bytes_total", "group", "", "device", "8:0", "operation", "read", NULL),
                     "1000");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_bytes_total", "group", "", "device", "8:0", "operation", "write", NULL),
                     "2000");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_operations_total", "group", "", "device", "8:0", "operation", "read",
                                NULL),
                     "10");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_operations_total", "group", "", "device", "253:1", "operation",
                                "write", NULL),
                     "2");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_bytes_total", "group", WEIRD_PATH, "device", "8:16", "operation",
                                "read", NULL),
                     "4096");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_io_bytes_total", "group", WEIRD_PATH, "device", "8:16", "operation",
                                "write", NULL),
                     "0");
        free(text);
}

TEST(test_metrics_pressure_seconds_from_usec) {
        static Prom m;
        char *text = render_slot(&m, NULL);

        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_pressure_seconds_total"), 7);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_pressure_seconds_total", "group", "", "resource", "cpu", "kind", "some",
                                NULL),
                     "1.500007");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_pressure_seconds_total", "group", "", "resource", "io", "kind", "full",
                                NULL),
                     "9.000007");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_pressure_seconds_total", "group", WEIRD_PATH, "resource", "io", "kind",
                                "full", NULL),
                     "0.000250");
        free(text);
}

TEST(test_metrics_label_values_escaped) {
        static Prom m;
        char *text = render_slot(&m, NULL);

        /* raw text: each of \ " newline escaped, so a sample stays on one line */
        ASSERT_CONTAINS(text, "group=\"we\\\"ird\\\\path\\nname\"");
        ASSERT_CONTAINS(text, "slice=\"we\\\\x22ird.slice\"");
        /* and they read back as they were */
        for (size_t i = 0; i < m.n_samples; i++)
                if (label_of(&m.samples[i], "group") && label_of(&m.samples[i], "group")[0]) {
                        ASSERT_STREQ(label_of(&m.samples[i], "group"), WEIRD_PATH);
                        ASSERT_STREQ(label_of(&m.samples[i], "slice"), WEIRD_UNIT);
                }
        free(text);
}

TEST(test_metrics_sample_timestamp_is_slot_second) {
        static Prom m;
        char *text = render_slot(&m, NULL);
        char expected[32];

        snprintf(expected, sizeof(expected), "%d", README_SEC);
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_sample_timestamp_seconds"), 1);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_sample_timestamp_seconds", NULL), expected);
        for (size_t i = 0; i < m.n_samples; i++)
                if (streq(m.samples[i].name, "slicekeeper_sample_timestamp_seconds"))
                        ASSERT_EQ_INT(m.samples[i].n_labels, 0);
        free(text);
}

TEST(test_metrics_extra_counters) {
        static Prom m;
        MetricsExtra x = {
                .sweep_cpu_usec_total = 12345678,
                .sweep_cpu_usec_last = 250,
                .ticks = 86400,
                .redis_written = 86000,
                .redis_dropped = 400,
                .websocket_clients = 3,
        };
        char *text = render_slot(&m, &x);

        ASSERT_STREQ(prom_value(&m, "slicekeeper_sweep_cpu_seconds_total", NULL), "12.345678");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_last_sweep_cpu_seconds", NULL), "0.000250");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_sweeps_total", NULL), "86400");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_redis_records_written_total", NULL), "86000");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_redis_records_dropped_total", NULL), "400");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_websocket_clients", NULL), "3");
        ASSERT_STREQ(family(&m, "slicekeeper_websocket_clients", false)->type, "gauge");
        /* the events' and OOM kills' families are there with no series of their own given */
        ASSERT_EQ_INT(m.n_families, 15);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_events_total", "kind", "oom", NULL), "0");
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_events_total"), _EVENT_KIND_MAX);
        ASSERT_STREQ(family(&m, "slicekeeper_oom_kills_total", false)->type, "counter");
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_oom_kills_total"), 0);
        ASSERT_CONTAINS(text, "# TYPE slicekeeper_oom_kills_total counter\n");
        free(text);
}

/* Events per kind (the hub's counters) and OOM kills per slice: groups by slice, users by uid and name, the
 * label values escaped. */
TEST(test_metrics_events_and_oom_kills) {
        static Prom m;
        uint64_t events[_EVENT_KIND_MAX] = { 0 };
        const MetricsOom oom[] = {
                { .slice = WEIRD_UNIT, .kills = 3 },
                { .slice = "user-1001.slice", .is_user = true, .uid = 1001, .user = "al\"ice", .kills = 2 },
                { .slice = "user-1002.slice", .is_user = true, .uid = 1002, .user = NULL, .kills = 18446744073709551615ULL },
        };
        MetricsExtra x = { .events_total = events, .oom = oom, .n_oom = ELEMENTSOF(oom) };
        char *text;

        events[EVENT_OOM] = 5;
        events[EVENT_TREE_APPLIED] = 1;
        events[EVENT_REDIS] = 7;
        text = render_slot(&m, &x);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_events_total", "kind", "oom", NULL), "5");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_events_total", "kind", "tree_applied", NULL), "1");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_events_total", "kind", "redis", NULL), "7");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_events_total", "kind", "throttle_start", NULL), "0");
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_events_total"), _EVENT_KIND_MAX);

        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_oom_kills_total"), 3);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_oom_kills_total", "slice", WEIRD_UNIT, NULL), "3");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_oom_kills_total", "uid", "1001", "user", "al\"ice", NULL), "2");
        ASSERT_STREQ(prom_value(&m, "slicekeeper_oom_kills_total", "uid", "1002", "user", "", NULL),
                     "18446744073709551615");
        ASSERT_CONTAINS(text, "slicekeeper_oom_kills_total{slice=\"we\\\\x22ird.slice\"} 3\n");
        ASSERT_CONTAINS(text, "slicekeeper_oom_kills_total{uid=\"1001\",user=\"al\\\"ice\"} 2\n");
        /* a user's series has no slice label, a group's no uid */
        for (size_t i = 0; i < m.n_samples; i++)
                if (streq(m.samples[i].name, "slicekeeper_oom_kills_total"))
                        ASSERT_TRUE(!label_of(&m.samples[i], "slice") != !label_of(&m.samples[i], "uid"));
        free(text);
}

/* User slices (after the set's groups): their own families with uid, user and slice labels; the groups'
 * families do not list them. */
TEST(test_metrics_users_apart_from_groups) {
        static const char *const paths[] = { "", "1001", "1002" };
        static const char *const units[] = { "-.slice", "user-1001.slice", "user-1002.slice" };
        static Prom m;
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(3, paths, units);
        SampleValues *v = values_new(3);
        char *text;
        Ring r;

        set->n_groups = 1;
        set->user_names[1] = strdup("alice");
        ASSERT_TRUE(set->user_names[1] != NULL);
        for (size_t i = 0; i < 3; i++) {
                v[i].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_PIDS;
                v[i].cpu_usage_nsec = 1500000000 * (i + 1);
                v[i].pids = i + 1;
        }
        ASSERT_EQ_INT(ring_init(&r, 4), 0);
        ASSERT_EQ_INT(ring_put(&r, README_SEC, set, v), 0);
        text = metrics_render(ring_last(&r), NULL, NULL);
        ring_done(&r);
        ASSERT_TRUE(text != NULL);
        prom_parse(&m, text);
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_cpu_usage_seconds_total"), 1);
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_user_cpu_usage_seconds_total"), 2);
        ASSERT_EQ_INT(prom_count(&m, "slicekeeper_user_tasks"), 2);
        ASSERT_CONTAINS(text, "slicekeeper_user_cpu_usage_seconds_total{uid=\"1001\",user=\"alice\","
                              "slice=\"user-1001.slice\"} 3.000000000\n");
        ASSERT_CONTAINS(text, "slicekeeper_user_tasks{uid=\"1002\",user=\"\",slice=\"user-1002.slice\"} 3\n");
        ASSERT_CONTAINS(text, "# HELP slicekeeper_user_cpu_usage_seconds_total CPU time consumed by the user's slice.");
        ASSERT_CONTAINS(text, "slicekeeper_cpu_usage_seconds_total{slice=\"-.slice\",group=\"\"} 1.500000000\n");
        ASSERT_TRUE(!strstr(text, "group=\"1001\""));
        free(text);
}

TEST(test_metrics_null_slot_and_extra) {
        static Prom m;
        MetricsExtra x = { .ticks = 1 };
        char *text = metrics_render(NULL, NULL, NULL);

        ASSERT_TRUE(text != NULL);
        prom_parse(&m, text); /* empty or comments only */
        ASSERT_EQ_INT(m.n_samples, 0);
        free(text);

        /* no samples yet, the daemon's own counters still there */
        text = metrics_render(NULL, &x, NULL);
        ASSERT_TRUE(text != NULL);
        prom_parse(&m, text);
        ASSERT_TRUE(family(&m, "slicekeeper_cpu_usage_seconds_total", false) == NULL);
        ASSERT_STREQ(prom_value(&m, "slicekeeper_sweeps_total", NULL), "1");
        free(text);
}

/* Everything the writer has for /metrics, so that every kind of series is seen with and without the label. */
static const IoCoverage node_test_io = { .n = 1, .dev = { { .major = 8, .minor = 0, .name = "sda", .counted = true } } };

static void node_test_extra(MetricsExtra *x, uint64_t *events, MetricsOom *oom) {
        oom[0] = (MetricsOom) { .slice = WEIRD_UNIT, .kills = 3 };
        oom[1] = (MetricsOom) { .slice = "user-1001.slice", .is_user = true, .uid = 1001, .user = "alice", .kills = 1 };
        events[EVENT_OOM] = 4;
        *x = (MetricsExtra) { .ticks = 9, .redis_written = 8, .events_total = events, .oom = oom, .n_oom = 2,
                              .io = &node_test_io };
}

/* [Web] MetricsNodeLabel=yes: node="<name>" on every series of every family, the other labels as they were;
 * the same families and series as without it. */
TEST(test_metrics_node_label_on_every_series) {
        static Prom with, without;
        uint64_t events[_EVENT_KIND_MAX] = { 0 };
        MetricsOom oom[2];
        MetricsExtra x;
        char *a, *b;

        node_test_extra(&x, events, oom);
        a = render_slot_node(&with, &x, "login-07.example");
        b = render_slot_node(&without, &x, NULL);
        ASSERT_EQ_INT(with.n_samples, without.n_samples);
        ASSERT_EQ_INT(with.n_families, without.n_families);
        ASSERT_TRUE(with.n_samples > 30);
        for (size_t i = 0; i < with.n_samples; i++) {
                const PromSample *s = &with.samples[i], *t = &without.samples[i];

                ASSERT_STREQ(s->name, t->name);
                ASSERT_STREQ(s->value, t->value);
                ASSERT_EQ_INT(s->n_labels, t->n_labels + 1);
                ASSERT_STREQ(label_of(s, "node"), "login-07.example");
                ASSERT_TRUE(label_of(t, "node") == NULL);
                for (size_t l = 0; l < t->n_labels; l++)
                        ASSERT_STREQ(label_of(s, t->label_name[l]), t->label_value[l]);
        }
        /* a series without labels of its own gets braces; one with labels, the node first */
        ASSERT_CONTAINS(a, "\nslicekeeper_sweeps_total{node=\"login-07.example\"} 9\n");
        ASSERT_CONTAINS(a, "\nslicekeeper_sample_timestamp_seconds{node=\"login-07.example\"} ");
        ASSERT_CONTAINS(a, "\nslicekeeper_oom_kills_total{node=\"login-07.example\",uid=\"1001\",user=\"alice\"} 1\n");
        ASSERT_CONTAINS(a, "\nslicekeeper_io_device_counted{node=\"login-07.example\",device=\"8:0\",name=\"sda\"} 1\n");
        ASSERT_CONTAINS(b, "\nslicekeeper_sweeps_total 9\n");
        ASSERT_TRUE(!strstr(b, "node="));
        free(a);
        free(b);
}

/* The node's value is escaped as any label value (names are validated to [A-Za-z0-9._-], the writer does not
 * rely on it); "" is no label. */
TEST(test_metrics_node_label_escaped_and_empty) {
        static Prom m;
        uint64_t events[_EVENT_KIND_MAX] = { 0 };
        MetricsOom oom[2];
        MetricsExtra x;
        char *text;

        node_test_extra(&x, events, oom);
        text = render_slot_node(&m, &x, WEIRD_PATH);
        ASSERT_CONTAINS(text, "slicekeeper_sweeps_total{node=\"we\\\"ird\\\\path\\nname\"} 9\n");
        for (size_t i = 0; i < m.n_samples; i++)
                ASSERT_STREQ(label_of(&m.samples[i], "node"), WEIRD_PATH);
        free(text);

        text = render_slot_node(&m, &x, "");
        ASSERT_TRUE(!strstr(text, "node="));
        free(text);

        text = metrics_render(NULL, NULL, "n1");
        ASSERT_TRUE(text != NULL);
        prom_parse(&m, text);
        ASSERT_EQ_INT(m.n_samples, 0);
        free(text);
}

int main(void) {
        RUN(test_metrics_lines_are_valid_exposition);
        RUN(test_metrics_cpu_seconds_from_nsec);
        RUN(test_metrics_memory_and_tasks);
        RUN(test_metrics_io_per_device_and_operation);
        RUN(test_metrics_pressure_seconds_from_usec);
        RUN(test_metrics_label_values_escaped);
        RUN(test_metrics_sample_timestamp_is_slot_second);
        RUN(test_metrics_events_and_oom_kills);
        RUN(test_metrics_extra_counters);
        RUN(test_metrics_users_apart_from_groups);
        RUN(test_metrics_null_slot_and_extra);
        RUN(test_metrics_node_label_on_every_series);
        RUN(test_metrics_node_label_escaped_and_empty);
        return 0;
}
