/* SPDX-License-Identifier: MIT */
/* Bounded reads of small files and atomic writes. */
#pragma once

#include <stddef.h>

/* Reads all of `path` into a NUL-terminated buffer. -EFBIG when it holds more than max_bytes,
 * -EISDIR/-EINVAL when it is not a regular file. */
int read_file_bounded(const char *path, size_t max_bytes, char **ret_data, size_t *ret_size);

/* Writes `data` to `path` through a temporary file and rename(), so readers never see half a file. */
int write_file_atomic(const char *path, const char *data);

/* mkdir -p with the given mode for missing components. */
int mkdir_p(const char *path, unsigned mode);
