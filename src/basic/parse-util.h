/* SPDX-License-Identifier: MIT */
/* Strict parsers for numbers, sizes, percentages, durations and CPU lists. Pure; negative errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

/* Largest CPU number accepted in a CPU list (systemd accepts up to 8191). */
#define CPU_SET_MAX_CPUS 8192
/* Most comma-separated entries in a CPU list: enough to name every CPU on its own. */
#define CPU_SET_MAX_ENTRIES CPU_SET_MAX_CPUS

/* Decimal only, no sign, no spaces, no leading '+'; -ERANGE on overflow, -EINVAL on garbage. */
int safe_atou64(const char *s, uint64_t *ret);

/* "123", "512K", "512M", "2G", "1T" (powers of 1024), or "infinity" → UINT64_MAX. */
int parse_size(const char *s, uint64_t *ret_bytes);

/* "150%" → 150. The '%' is required. */
int parse_percent(const char *s, uint64_t *ret_percent);

/* "30", "1.5", "500ms", "2s", "3min" → usec. */
int parse_sec(const char *s, usec_t *ret_usec);

/* Most a duration may be: a year (a penalty or a runtime limit lasts at most that long). */
#define DURATION_MAX_USEC ((usec_t) 366 * 86400 * USEC_PER_SEC)

/* "90s", "30m", "1h", "2h30m", "1d12h", a bare number of seconds ("90") → usec. Whole numbers, units d, h,
 * m (or min), s, each at most once and largest first, no spaces. -EINVAL for garbage (an empty string, a
 * unit twice or out of order, a number without a unit after one with), -ERANGE for 0 or more than
 * DURATION_MAX_USEC. */
int parse_duration(const char *s, usec_t *ret_usec);

/* "0-3,5" → bitmask of n_bytes = (highest cpu / 8) + 1, CPU 0 is bit 0 of byte 0 (systemd's AllowedCPUs
 * layout). The caller frees *ret_bits. An empty string is -EINVAL, a CPU past the limit -ERANGE, more than
 * CPU_SET_MAX_ENTRIES entries -E2BIG (before any is parsed). Linear in the string's length: a range costs
 * at most one memset of the bitmask, whatever it covers. */
int parse_cpu_set(const char *s, uint8_t **ret_bits, size_t *ret_n_bytes);

/* Formats a CPU bitmask back to a list ("0-3,5"); the caller frees the result. */
char *cpu_set_to_string(const uint8_t *bits, size_t n_bytes);

/* "yes"/"no"/"true"/"false"/"1"/"0"/"on"/"off" */
int parse_boolean(const char *s);
