/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "log-once.h"

bool log_once_should(LogOnce *l, const char *cause) {
        assert(l);
        assert(cause);
        if (l->cause && strncmp(l->cause, cause, LOG_ONCE_CAUSE_MAX - 1) == 0)
                return false;
        free(l->cause);
        l->cause = strndup(cause, LOG_ONCE_CAUSE_MAX - 1);
        return true;
}

void log_once_reset(LogOnce *l) {
        assert(l);
        free(l->cause);
        l->cause = NULL;
}
