/* SPDX-License-Identifier: MIT */
/* Log each distinct cause once (pure): a failure that repeats with the same cause is logged the first time
 * only; another cause, or the first failure after a success, is logged again. Holds the cause it logged last,
 * which the owner may show (status). */
#pragma once

#include <stdbool.h>

/* Causes are kept and compared up to this many bytes (longer ones: the same prefix is the same cause). */
#define LOG_ONCE_CAUSE_MAX 8192

typedef struct LogOnce {
        char *cause; /* the cause logged last; NULL before the first failure and after a reset */
} LogOnce;

#define LOG_ONCE_INIT ((LogOnce) { .cause = NULL })

/* A failure with `cause`: true when it is to be logged (no cause kept, or another one), and then it is kept.
 * Out of memory, nothing is kept: the next failure is logged too. */
bool log_once_should(LogOnce *l, const char *cause);
/* A success (or the subject is gone): the next failure is logged whatever its cause. Frees what it holds:
 * also the owner's cleanup. */
void log_once_reset(LogOnce *l);
