/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log.h"

static LogTarget log_target = LOG_TARGET_CONSOLE;
static int log_max_level = LOG_INFO;

void log_setup(LogTarget target, int max_level) {
        if (target == LOG_TARGET_AUTO)
                /* systemd sets JOURNAL_STREAM when stderr is connected to the journal. */
                target = getenv("JOURNAL_STREAM") ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE;
        log_target = target;
        log_max_level = max_level;
}

int log_get_max_level(void) {
        return log_max_level;
}

int log_internal(int level, int error, const char *slice, const char *format, ...) {
        char message[2048];
        int saved_errno = errno;
        va_list ap;

        assert(format);

        if (level > log_max_level)
                return error;

        /* %m prints the text of `error` (glibc's printf reads errno for it), as systemd's log functions do. */
        errno = error < 0 ? -error : error;
        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        errno = saved_errno;

        if (log_target == LOG_TARGET_JOURNAL) {
                char priority[32], errno_field[32], slice_field[300], message_field[2100], ident[300];
                struct iovec iov[5];
                size_t n = 0;

                snprintf(message_field, sizeof(message_field), "MESSAGE=%s", message);
                snprintf(priority, sizeof(priority), "PRIORITY=%i", level);
                snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", program_invocation_short_name);
                iov[n++] = (struct iovec) { message_field, strlen(message_field) };
                iov[n++] = (struct iovec) { priority, strlen(priority) };
                iov[n++] = (struct iovec) { ident, strlen(ident) };
                if (error != 0) {
                        snprintf(errno_field, sizeof(errno_field), "ERRNO=%d", error < 0 ? -error : error);
                        iov[n++] = (struct iovec) { errno_field, strlen(errno_field) };
                }
                if (slice) {
                        snprintf(slice_field, sizeof(slice_field), "SLICE=%s", slice);
                        iov[n++] = (struct iovec) { slice_field, strlen(slice_field) };
                }
                sd_journal_sendv(iov, (int) n);
        } else {
                if (slice)
                        fprintf(stderr, "%s: %s\n", slice, message);
                else
                        fprintf(stderr, "%s\n", message);
        }

        return error;
}
