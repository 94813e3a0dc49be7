/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "pidfile.h"

/* cgrouparch read pid files with int(read()): whitespace around the pid is fine; inside it is not. */
static bool is_ascii_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int pidfile_parse(const char *data, size_t size, pid_t pid_max, pid_t *ret, char *reason, size_t reason_size) {
        uint64_t v = 0;
        size_t start = 0, end = size, digits;

        assert(data || size == 0);
        assert(ret);
        assert(reason || reason_size == 0);

        while (start < end && is_ascii_space(data[start]))
                start++;
        while (end > start && is_ascii_space(data[end - 1]))
                end--;
        digits = end - start;
        if (digits == 0) {
                snprintf(reason, reason_size, "is empty, not a decimal pid");
                return -EINVAL;
        }
        for (size_t i = start; i < end; i++) {
                if (data[i] < '0' || data[i] > '9') {
                        snprintf(reason, reason_size, "does not hold a single decimal pid");
                        return -EINVAL;
                }
                if (v <= (uint64_t) pid_max)
                        v = v * 10 + (uint64_t) (data[i] - '0');
        }
        if (v < 1 || v > (uint64_t) pid_max) {
                snprintf(reason, reason_size, "names pid %.*s, outside 1..%d",
                         (int) MIN(digits, (size_t) 24), data + start, (int) pid_max);
                return -ERANGE;
        }
        *ret = (pid_t) v;
        return 0;
}

int pidfile_read(const char *path, const PidFileOptions *o, pid_t *ret, char *reason, size_t reason_size) {
        _cleanup_(closep) int fd = -EBADF;
        char buf[PIDFILE_MAX_BYTES + 1];
        struct stat st;
        ssize_t n;

        assert(path);
        assert(o);
        assert(ret);
        assert(reason || reason_size == 0);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int r = -errno;
                snprintf(reason, reason_size, "cannot be opened: %s", strerror(errno));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                snprintf(reason, reason_size, "cannot be examined: %s", strerror(errno));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(reason, reason_size, "is not a regular file (%s)",
                         S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISCHR(st.st_mode) ? "a character device" :
                         S_ISBLK(st.st_mode) ? "a block device" : S_ISSOCK(st.st_mode) ? "a socket" :
                         S_ISDIR(st.st_mode) ? "a directory" : "something else");
                return -EINVAL;
        }
        if (o->require_root_owner && (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))) {
                snprintf(reason, reason_size, "is writable by a non-root user (owner uid %u, mode %04o)",
                         (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        if (st.st_size > PIDFILE_MAX_BYTES) {
                snprintf(reason, reason_size, "is %lld bytes, more than %d", (long long) st.st_size, PIDFILE_MAX_BYTES);
                return -EFBIG;
        }
        n = read(fd, buf, sizeof(buf));
        if (n < 0) {
                int r = -errno;
                snprintf(reason, reason_size, "cannot be read: %s", strerror(errno));
                return r;
        }
        if ((size_t) n > PIDFILE_MAX_BYTES) { /* grew since fstat */
                snprintf(reason, reason_size, "is more than %d bytes", PIDFILE_MAX_BYTES);
                return -EFBIG;
        }
        return pidfile_parse(buf, (size_t) n, o->pid_max, ret, reason, reason_size);
}
