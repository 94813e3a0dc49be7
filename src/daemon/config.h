/* SPDX-License-Identifier: MIT */
/* slicekeeperd.conf: INI keys of DESIGN.md's configuration reference, parsed and validated up front. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "time-util.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_ZK_AUTH_MAX 16 /* Auth= lines */
#define CONFIG_REDIS_DEFAULT_PORT 6379  /* [Redis] Address= without a port */
#define CONFIG_WEB_DEFAULT_PORT 43409   /* [Web] Listen= without a port (cgrouparch's communicate_port) */

typedef struct Config {
        char *source_file;
        char *zk_hosts, *zk_prefix;
        char **zk_auth;    /* "digest:USER:PASSWORD", one per Auth= line (cgrouparch's zk_auth_data list) */
        usec_t zk_session_timeout_usec;
        char *root;        /* normalized: no ".slice" suffix; NULL for top level */
        char **protected;
        usec_t tasks_interval_usec;
        char **pid_files;  /* "GROUP:GLOB" */
        bool allow_non_root_pid_files;
        usec_t sample_interval_usec;
        char *redis_address, *redis_prefix;
        uint64_t redis_expire_sec;
        char *web_listen;
        usec_t web_stall_timeout_usec, web_idle_timeout_usec, web_handshake_timeout_usec;
        uint64_t web_max_connections_per_address, web_output_budget_mib;
        char *control_socket;
        usec_t control_request_timeout_usec;
        bool fairshare_enable;      /* [FairShare] Enable= (h-fsusers' block; fsconfig owns the section) */
        uint64_t fairshare_min_uid; /* [FairShare] MinUID= */
        unsigned n_keys_set, n_pid_file_keys_set; /* to hold drop-ins to PidFiles= only */
} Config;

void config_init(Config *c);
void config_done(Config *c);
/* Parses `path` into c. -ENOENT when missing (the caller decides whether that is fine); other errors set
 * `error` to "PATH:LINE: message". */
int config_load(Config *c, const char *path, char *error, size_t error_size);
/* Appends the PidFiles= entries of every "*.conf" file in DIR (in name order) to *pid_files. Drop-ins may hold only
 * [Tasks] PidFiles=. A missing directory is fine. */
int config_load_pid_file_dropins(const char *dir, char ***pid_files, char *error, size_t error_size);

/* Sets one key as the file would ("Section", "Key", "value"), for command-line overrides. */
int config_set(Config *c, const char *section, const char *key, const char *value, char *error, size_t error_size);
