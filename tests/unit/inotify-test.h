/* SPDX-License-Identifier: MIT */
/* For tests of inotify watches: a read(2) that fails on demand (handed to inotify_watch_set_read()), and
 * running the loop until the watch was re-created. */
#pragma once

#include <errno.h>
#include <unistd.h>

#include "inotify-watch.h"
#include "tests.h"

/* The next this many reads fail with test_read_errno (EIO unless set otherwise). */
static unsigned test_read_failures _unused_;
static int test_read_errno _unused_ = EIO;

static inline ssize_t test_failing_read(int fd, void *buf, size_t size) {
        if (test_read_failures > 0) {
                test_read_failures--;
                errno = test_read_errno;
                return -1;
        }
        return read(fd, buf, size);
}

/* Runs the loop until the watch was re-created `n` times in all, at most 10 s. */
static inline void test_wait_restarts(sd_event *e, InotifyWatch *w, uint64_t n) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        while (inotify_watch_n_restarts(w) < n) {
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                ASSERT_TRUE(sd_event_run(e, 50 * USEC_PER_MSEC) >= 0);
        }
}
