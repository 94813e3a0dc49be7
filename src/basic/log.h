/* SPDX-License-Identifier: MIT */
/* Logging: to the journal with structured fields when running under systemd, else to stderr. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,
        LOG_TARGET_CONSOLE,
        LOG_TARGET_JOURNAL,
} LogTarget;

void log_setup(LogTarget target, int max_level);
int log_get_max_level(void);

/* Logs at `level`; `error` (negative errno or 0) becomes ERRNO=, and "%m" in format prints its text
 * (strerror), so callers write `log_error_errno(r, "Cannot open %s: %m", path)`; `slice` (may be NULL)
 * becomes SLICE=. errno is left as it was. Returns `error` so callers can `return log_error_errno(r, ...)`. */
int log_internal(int level, int error, const char *slice, const char *format, ...) _printf_(4, 5);

#define log_debug(...) log_internal(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, NULL, __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), NULL, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), NULL, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), NULL, __VA_ARGS__)
#define log_slice(level, e, slice, ...) log_internal((level), (e), (slice), __VA_ARGS__)

static inline int log_oom(void) {
        return log_internal(LOG_ERR, -ENOMEM, NULL, "Out of memory.");
}
