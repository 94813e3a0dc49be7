/* SPDX-License-Identifier: MIT */
/* Event-log lines (src/policy/event-line.c) from any user name, node, cgroup, times and CPU value: names
 * come from NSS and the host name, so they may hold anything. Each line is one line of valid JSON (jansson
 * reads it back) with exactly cgroup_py's keys; a name that is UTF-8 reads back as it was, and CPU reads
 * back as the same double (the repr formatter is exact). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event-line.h"
#include "fuzz.h"

static char *take_string(FuzzInput *in) {
        const uint8_t *p;
        size_t n = fuzz_bytes(in, fuzz_u8(in), &p);
        char *s = malloc(n + 1);

        FUZZ_CHECK(s);
        memcpy(s, p, n);
        s[n] = 0;
        return s;
}

/* The string as it must read back: the same when it is UTF-8 (json_string checks), else anything. */
static void check_string(json_t *o, const char *key, const char *sent) {
        json_t *v = json_object_get(o, key), *probe = json_string(sent);

        FUZZ_CHECK(json_is_string(v));
        if (probe)
                FUZZ_CHECK(strcmp(json_string_value(v), sent) == 0);
        json_decref(probe);
}

static void check_line(const char *line, size_t n_keys) {
        size_t len = strlen(line);

        FUZZ_CHECK(len > 2 && line[len - 1] == '\n' && memchr(line, '\n', len - 1) == NULL);
        (void) n_keys;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        char *user = take_string(&in), *node = take_string(&in), *cgroup = take_string(&in), *line = NULL;
        uint64_t cpu_bits = fuzz_uint(&in, 8);
        double cpu;
        ThrottleEventLine t = {
                .id = "aaaaaaaaaaaaaaaa",
                .cgroup = cgroup,
                .username = user,
                .node = node,
                .start = (time_t) fuzz_uint(&in, 5),
                .ended = fuzz_u8(&in) & 1,
                .end = (time_t) fuzz_uint(&in, 5),
        };
        json_error_t jerr;
        json_t *o;

        memcpy(&cpu, &cpu_bits, sizeof(cpu));
        t.cpu_pct = cpu;
        if (event_line_throttle(&t, &line) == 0) {
                check_line(line, 8);
                o = json_loads(line, 0, &jerr);
                FUZZ_CHECK(o && json_is_object(o) && json_object_size(o) == 8);
                FUZZ_CHECK(strcmp(json_string_value(json_object_get(o, "TYPE")), "throttleCPU") == 0);
                check_string(o, "USERNAME", user);
                check_string(o, "NODE", node);
                check_string(o, "CGROUP", cgroup);
                FUZZ_CHECK(strlen(json_string_value(json_object_get(o, "START_TIME"))) >= 19);
                FUZZ_CHECK(json_is_real(json_object_get(o, "CPU")));
                FUZZ_CHECK(json_real_value(json_object_get(o, "CPU")) == (isfinite(cpu) ? cpu : 0));
                json_decref(o);
                free(line);
        }

        UserEventLine u = {
                .kind = fuzz_u8(&in) & 1,
                .id = "b",
                .timestamp = t.start,
                .uid = (uint32_t) fuzz_uint(&in, 4),
                .uname = user,
                .node = node,
                .action = cgroup,
                .mode = fuzz_u8(&in) & 1 ? node : NULL,
                .cpu_cores = cpu,
                .memory_bytes = fuzz_value(&in),
                .has_until = true,
                .until = t.end,
        };
        if (event_line_user(&u, &line) == 0) {
                check_line(line, 0);
                o = json_loads(line, 0, &jerr);
                FUZZ_CHECK(o && json_is_object(o));
                check_string(o, "UNAME", user);
                check_string(o, "ACTION", cgroup);
                FUZZ_CHECK(json_object_get(o, "UNTIL"));
                json_decref(o);
                free(line);
        }
        free(user);
        free(node);
        free(cgroup);
        return 0;
}
