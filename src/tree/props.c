/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"
#include "props.h"

#define CPU_WEIGHT_MIN 1
#define CPU_WEIGHT_MAX 10000
#define CPU_SHARES_MIN 2 /* the kernel's cpu.shares range */
#define CPU_SHARES_MAX 262144
#define BLKIO_WEIGHT_MIN 10
#define BLKIO_WEIGHT_MAX 1000
#define QUOTA_PERCENT_MAX (100 * CPU_SET_MAX_CPUS)
#define USEC_PER_PERCENT 10000 /* CPUQuotaPerSecUSec: 100% is one second per second */

_Static_assert(CPU_SET_MAX_CPUS == 8192 && CPU_SET_MAX_ENTRIES == 8192, "the reasons below name the limits");

const char *const prop_controllers[] = { "cpu", "blkio", "memory", "pids", "cpuset", NULL };

uint64_t prop_share_to_cpu_weight(uint64_t share) {
        uint64_t w = (share * 100 + 512) / 1024;
        return CLAMP(w, (uint64_t) CPU_WEIGHT_MIN, (uint64_t) CPU_WEIGHT_MAX);
}

uint64_t prop_blkio_weight_to_io_weight(uint64_t weight) {
        uint64_t w = (weight * 100 + 250) / 500;
        return CLAMP(w, (uint64_t) CPU_WEIGHT_MIN, (uint64_t) CPU_WEIGHT_MAX);
}

static int integer_in(const json_t *v, uint64_t lo, uint64_t hi, uint64_t *ret) {
        json_int_t i;

        if (!json_is_integer(v))
                return -EINVAL;
        i = json_integer_value(v);
        if (i < 0 || (uint64_t) i < lo || (uint64_t) i > hi)
                return -ERANGE;
        *ret = (uint64_t) i;
        return 0;
}

static int weight_from_json(const json_t *v, uint64_t *ret, uint8_t **c _unused_, size_t *n _unused_,
                            const char **reason) {
        *reason = "an integer between 1 and 10000";
        return integer_in(v, CPU_WEIGHT_MIN, CPU_WEIGHT_MAX, ret);
}

static int share_from_json(const json_t *v, uint64_t *ret, uint8_t **c _unused_, size_t *n _unused_,
                           const char **reason) {
        uint64_t share;
        int r;

        *reason = "an integer between 2 and 262144 (cpu.shares)";
        r = integer_in(v, CPU_SHARES_MIN, CPU_SHARES_MAX, &share);
        if (r < 0)
                return r;
        *ret = prop_share_to_cpu_weight(share);
        return 0;
}

static int blkio_weight_from_json(const json_t *v, uint64_t *ret, uint8_t **c _unused_, size_t *n _unused_,
                                  const char **reason) {
        uint64_t weight;
        int r;

        *reason = "an integer between 10 and 1000 (blkio.weight)";
        r = integer_in(v, BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, &weight);
        if (r < 0)
                return r;
        *ret = prop_blkio_weight_to_io_weight(weight);
        return 0;
}

static int bytes_at_least(const json_t *v, uint64_t min, uint64_t *ret) {
        uint64_t bytes;

        if (json_is_integer(v))
                return integer_in(v, min, INT64_MAX, ret);
        if (!json_is_string(v) || parse_size(json_string_value(v), &bytes) < 0)
                return -EINVAL;
        if (bytes < min)
                return -ERANGE;
        *ret = bytes;
        return 0;
}

/* MemoryLow: systemd takes 0 (no protection, its default) and up. */
static int size_from_json(const json_t *v, uint64_t *ret, uint8_t **c _unused_, size_t *n _unused_,
                          const char **reason) {
        *reason = "a byte count: a non-negative integer, or a string like \"512M\", \"2G\" or \"infinity\"";
        return bytes_at_least(v, 0, ret);
}

/* MemoryMax and MemoryHigh: systemd refuses 0 ("Value specified in MemoryMax is out of range"). */
static int limit_from_json(const json_t *v, uint64_t *ret, uint8_t **c _unused_, size_t *n _unused_,
                           const char **reason) {
        *reason = "a byte count of at least 1: a positive integer, or a string like \"512M\", \"2G\" or "
                  "\"infinity\"";
        return bytes_at_least(v, 1, ret);
}

static int quota_from_json(const json_t *v, uint64_t *ret, uint8_t **c _unused_, size_t *n _unused_,
                           const char **reason) {
        uint64_t pct;

        *reason = "a percentage string between \"1%\" and \"819200%\"";
        if (!json_is_string(v))
                return -EINVAL;
        if (parse_percent(json_string_value(v), &pct) < 0)
                return -EINVAL;
        if (pct < 1 || pct > QUOTA_PERCENT_MAX)
                return -ERANGE;
        *ret = pct * USEC_PER_PERCENT;
        return 0;
}

static int tasks_from_json(const json_t *v, uint64_t *ret, uint8_t **c _unused_, size_t *n _unused_,
                           const char **reason) {
        *reason = "a positive integer or \"infinity\"";
        if (json_is_string(v)) {
                if (!streq(json_string_value(v), "infinity"))
                        return -EINVAL;
                *ret = UINT64_MAX;
                return 0;
        }
        return integer_in(v, 1, INT64_MAX, ret);
}

static int cpus_from_json(const json_t *v, uint64_t *ret, uint8_t **ret_cpus, size_t *ret_n_cpus,
                          const char **reason) {
        int r;

        *reason = "a CPU list string like \"0-3,6\" (CPUs 0..8191)";
        if (!json_is_string(v))
                return -EINVAL;
        r = parse_cpu_set(json_string_value(v), ret_cpus, ret_n_cpus);
        if (r == -E2BIG) {
                *reason = "a CPU list of at most 8192 comma-separated entries (one per CPU is enough)";
                return r;
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -EINVAL;
        *ret = 0;
        return 0;
}

const PropInfo prop_table[_TREE_PROP_MAX] = {
        [TREE_PROP_CPU_WEIGHT] = { TREE_PROP_CPU_WEIGHT, PROP_KIND_U64, "cpu_weight", weight_from_json,
                                   "cpu", "share", share_from_json, "CPUWeight", UINT64_MAX },
        [TREE_PROP_CPU_QUOTA] = { TREE_PROP_CPU_QUOTA, PROP_KIND_U64, "cpu_quota", quota_from_json,
                                  "cpu", "quota", quota_from_json, "CPUQuotaPerSecUSec", UINT64_MAX },
        [TREE_PROP_MEMORY_MAX] = { TREE_PROP_MEMORY_MAX, PROP_KIND_U64, "memory_max", limit_from_json,
                                   "memory", "max", limit_from_json, "MemoryMax", UINT64_MAX },
        [TREE_PROP_MEMORY_HIGH] = { TREE_PROP_MEMORY_HIGH, PROP_KIND_U64, "memory_high", limit_from_json,
                                    "memory", "high", limit_from_json, "MemoryHigh", UINT64_MAX },
        [TREE_PROP_MEMORY_LOW] = { TREE_PROP_MEMORY_LOW, PROP_KIND_U64, "memory_low", size_from_json,
                                   "memory", "low", size_from_json, "MemoryLow", 0 },
        [TREE_PROP_IO_WEIGHT] = { TREE_PROP_IO_WEIGHT, PROP_KIND_U64, "io_weight", weight_from_json,
                                  "blkio", "weight", blkio_weight_from_json, "IOWeight", UINT64_MAX },
        [TREE_PROP_TASKS_MAX] = { TREE_PROP_TASKS_MAX, PROP_KIND_U64, "tasks_max", tasks_from_json,
                                  "pids", "max", tasks_from_json, "TasksMax", UINT64_MAX },
        [TREE_PROP_ALLOWED_CPUS] = { TREE_PROP_ALLOWED_CPUS, PROP_KIND_CPUS, "allowed_cpus", cpus_from_json,
                                     "cpuset", "cpus", cpus_from_json, "AllowedCPUs", 0 },
};

const PropInfo *prop_info(TreeProp p) {
        return p >= 0 && p < _TREE_PROP_MAX ? &prop_table[p] : NULL;
}

const PropInfo *prop_by_native_key(const char *key) {
        assert(key);

        for (size_t i = 0; i < _TREE_PROP_MAX; i++)
                if (streq(prop_table[i].native_key, key))
                        return &prop_table[i];
        return NULL;
}

const PropInfo *prop_by_controller_key(const char *controller, const char *key) {
        assert(controller);
        assert(key);

        for (size_t i = 0; i < _TREE_PROP_MAX; i++)
                if (streq(prop_table[i].controller, controller) && streq(prop_table[i].controller_key, key))
                        return &prop_table[i];
        return NULL;
}

const PropInfo *prop_by_dbus_name(const char *name) {
        assert(name);

        for (size_t i = 0; i < _TREE_PROP_MAX; i++)
                if (streq(prop_table[i].dbus_name, name))
                        return &prop_table[i];
        return NULL;
}

bool prop_is_controller(const char *name) {
        assert(name);

        for (size_t i = 0; prop_controllers[i]; i++)
                if (streq(prop_controllers[i], name))
                        return true;
        return false;
}

char *prop_value_to_string(TreeProp p, uint64_t value, const uint8_t *cpus, size_t n_cpus) {
        char *s = NULL;

        if (p == TREE_PROP_ALLOWED_CPUS)
                return cpu_set_to_string(cpus, n_cpus);
        if (value == UINT64_MAX)
                return strdup(p == TREE_PROP_CPU_WEIGHT || p == TREE_PROP_IO_WEIGHT ? "default" : "infinity");
        if (p == TREE_PROP_CPU_QUOTA) {
                if (asprintf(&s, "%" PRIu64 "%%", value / USEC_PER_PERCENT) < 0)
                        return NULL;
        } else if (asprintf(&s, "%" PRIu64, value) < 0)
                return NULL;
        return s;
}
