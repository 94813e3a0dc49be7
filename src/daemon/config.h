/* SPDX-License-Identifier: MIT */
/* slicekeeperd.conf: INI keys of DESIGN.md's configuration reference, parsed and validated up front. */
#pragma once

#include <stdint.h>

#include "time-util.h"

#define CONFIG_DEFAULT_PATH "/etc/slicekeeper/slicekeeperd.conf"
#define CONFIG_DEFAULT_RUNTIME_DIR "/run/slicekeeper"
#define CONFIG_MAX_BYTES (1024 * 1024)

typedef struct Config {
        char *source_file;
        char *zk_hosts, *zk_prefix, *zk_auth;
        usec_t zk_session_timeout_usec;
        char *root;        /* normalized: no ".slice" suffix; NULL for top level */
        char **protected;
        usec_t tasks_interval_usec;
        char **pid_files;  /* "GROUP:GLOB" */
        usec_t sample_interval_usec;
        char *redis_address, *redis_prefix;
        uint64_t redis_expire_sec;
        char *web_listen;
        char *control_socket;
} Config;

void config_init(Config *c);
void config_done(Config *c);
/* Parses `path` into c. -ENOENT when missing (the caller decides whether that is fine); other errors set
 * `error` to "PATH:LINE: message". */
int config_load(Config *c, const char *path, char *error, size_t error_size);
/* Sets one key as the file would ("Section", "Key", "value"), for command-line overrides. */
int config_set(Config *c, const char *section, const char *key, const char *value, char *error, size_t error_size);
