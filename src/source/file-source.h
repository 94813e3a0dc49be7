/* SPDX-License-Identifier: MIT */
/* The tree from a local JSON file, re-read whenever it is written or replaced (inotify on its directory,
 * so editors that write a new file and rename it over the old one are seen too). */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

#include "inotify-watch.h"
#include "macro.h"

typedef struct FileSource FileSource;

/* Called with the file's bytes (size bounded by the tree limit + 1 so oversize is detectable), or with
 * error < 0 when it cannot be read (-ENOENT, -EFBIG, ...). */
typedef void (*FileSourceHandler)(FileSource *s, int error, const char *data, size_t size, void *userdata);

int file_source_new(sd_event *event, const char *path, size_t max_bytes, FileSourceHandler handler, void *userdata,
                    FileSource **ret);
FileSource *file_source_free(FileSource *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(FileSource *, file_source_free)
/* Reads the file now (at start and on SIGHUP). */
void file_source_read(FileSource *s);
const char *file_source_path(const FileSource *s);
/* The inotify watch underneath (tests inject read errors through it). */
InotifyWatch *file_source_watch(FileSource *s);
