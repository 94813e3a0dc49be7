/* SPDX-License-Identifier: MIT */
/* Bounded reads of small files, batched re-reads of kept fds, and atomic writes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

/* Reads all of `path` into a NUL-terminated buffer. -EFBIG when it holds more than max_bytes,
 * -EISDIR/-EINVAL when it is not a regular file. */
int read_file_bounded(const char *path, size_t max_bytes, char **ret_data, size_t *ret_size);

/* Writes `data` to `path` through a temporary file and rename(), so readers never see half a file. The
 * temporary file is "<dir>/.#sk-XXXXXX" whatever the target's name, so any name up to NAME_MAX works; one
 * left by a crash can be recognised by the prefix. */
#define WRITE_FILE_ATOMIC_TMP_PREFIX ".#sk-"
int write_file_atomic(const char *path, const char *data);

/* mkdir -p with the given mode for missing components. */
int mkdir_p(const char *path, unsigned mode);

/* Re-reads many kept fds (cgroup files) from offset 0 with as few system calls as the kernel allows: one
 * io_uring submission per batch where io_uring is there (the reads of kernfs files complete inline, no
 * kernel worker threads), else one pread() each. Either way each request ends with exactly what pread()
 * would have said. On this kind of host a system call costs more than reading a cgroup file itself. */
typedef struct PreadBatch PreadBatch;

typedef struct PreadRequest {
        int fd;
        void *buf;
        size_t size;
        ssize_t result; /* out: bytes read (result == size: there may be more), or -errno */
} PreadRequest;

/* Never fails for want of io_uring (it falls back to pread): -ENOMEM only. depth bounds the requests in
 * flight at once, not how many one call takes. */
int pread_batch_new(unsigned depth, PreadBatch **ret);
PreadBatch *pread_batch_free(PreadBatch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(PreadBatch *, pread_batch_free)
/* Fills every request's result. Returns 0; the requests' own errors are in their results. */
int pread_batch_run(PreadBatch *b, PreadRequest *reqs, size_t n);
/* Whether the last run used io_uring (for status and benchmarks). */
bool pread_batch_uses_io_uring(const PreadBatch *b);
