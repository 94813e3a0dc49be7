/* SPDX-License-Identifier: MIT */
/* Reading a pid file without trusting it: a small root-owned regular file holding one decimal pid. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PIDFILE_MAX_BYTES 64

typedef struct PidFileOptions {
        bool require_root_owner; /* refuse files owned by, or writable by, anyone but root */
        pid_t pid_max;           /* /proc/sys/kernel/pid_max */
} PidFileOptions;

/* Parses the contents: one decimal pid, 1..pid_max, with any ASCII whitespace (space, \t, \n, \v, \f, \r)
 * before and after it, as cgrouparch's int(read()) took it. Pure. On failure returns -EINVAL or -ERANGE and
 * writes why to reason. */
int pidfile_parse(const char *data, size_t size, pid_t pid_max, pid_t *ret, char *reason, size_t reason_size);

/* Opens and checks `path` (a regular file, small, owner), then parses it. -ENOENT when missing. Never
 * blocks: FIFOs are opened non-blocking and refused. */
int pidfile_read(const char *path, const PidFileOptions *o, pid_t *ret, char *reason, size_t reason_size);
