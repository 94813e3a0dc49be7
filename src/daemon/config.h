/* SPDX-License-Identifier: MIT */
/* slicekeeperd.conf: INI keys of DESIGN.md's configuration reference, parsed and validated up front. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "node-name.h" /* node_name_is_valid(), NODE_NAME_MAX */
#include "time-util.h"
#include "user-overrides.h"
#include "user-state.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_ZK_AUTH_MAX 16 /* Auth= lines */
#define CONFIG_REDIS_DEFAULT_PORT 6379  /* [Redis] Address= without a port */
#define CONFIG_WEB_DEFAULT_PORT 43409   /* [Web] Listen= without a port (cgrouparch's communicate_port) */

/* [FairShare] (issue 14): per-user CPU caps, memory limits and penalty box on user-UID.slice. */
typedef enum ConfigFairShareMode {
        CONFIG_FAIR_SHARE_EVEN_ACTIVE, /* cgroup_py's default: the allowed CPU split among active users */
        CONFIG_FAIR_SHARE_HARD_CAP,    /* the same fixed cap for every user */
        CONFIG_FAIR_SHARE_WEIGHT,      /* equal CPUWeight, one cap on user.slice */
} ConfigFairShareMode;

typedef struct ConfigFairShare {
        bool enable;
        uint32_t min_uid;
        usec_t interval_usec, activity_window_usec; /* whole seconds */
        ConfigFairShareMode mode;
        double cpu_pct_max;        /* (0, 1]: share of the CPU all users may take together */
        double hard_cap_cores;     /* > 0; 0: all online CPUs */
        double activity_threshold; /* cores */
        unsigned min_change_pct;   /* % of a core */
        double upper_throttle, lower_throttle; /* of the cap; 0 < lower < upper <= 1 */
        MemoryAmount memory_limit, penalty_memory; /* penalty_memory unset: no lower limit */
        unsigned memory_high_pct;  /* MemoryHigh as % of MemoryMax (v2) */
        double penalty_cpu_pct;    /* (0, 1] */
        UserPenaltyMode penalty_mode;
        usec_t penalty_timeout_usec;
        char *event_log; /* "" : off */
        char *users_dir, *state_dir;
} ConfigFairShare;

const char *config_fair_share_mode_to_string(ConfigFairShareMode m);

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
        char *web_page_dir, *web_javascript_dir; /* the dashboard's files; libjs-dygraphs' root */
        usec_t web_stall_timeout_usec, web_idle_timeout_usec, web_handshake_timeout_usec;
        uint64_t web_max_connections_per_address, web_output_budget_mib;
        unsigned web_controllers, redis_controllers; /* RECORD_* bits, or RECORD_TREE (record.h) */
        char *control_socket;
        usec_t control_request_timeout_usec;
        ConfigFairShare fair_share;
        bool oom_watch;          /* [OOM] Watch= */
        char *oom_kmsg_path;     /* [OOM] KernelLog=: where victims are read, "" : not read */
        /* Fleet (issue 17). */
        char *node_name;         /* [Node] Name=: NULL until set; config_node_name() gives the host name then */
        bool zk_host_overlay;    /* [ZooKeeper] HostOverlay=: <Prefix>/hosts/<node>/arch_conf merged over the tree */
        bool zk_fleet_users;     /* [ZooKeeper] FleetUsers=: penalties and limits from <Prefix>/users/<name> */
        bool redis_host_keys;    /* [Redis] HostKeys=: <Prefix>/host/<node>/account/<sec> and <Prefix>/hosts */
        bool web_metrics_node_label; /* [Web] MetricsNodeLabel=: node="<name>" on every /metrics series */
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

/* The checks between keys (LowerThrottle= below UpperThrottle=, ActivityWindowSec= not shorter than
 * IntervalSec=), done once all are set; config_load does it, with the FILE:LINE of the later of the two keys
 * it names in ret_keys. */
int config_check(const Config *c, const char *ret_keys[static 2], char *error, size_t error_size);

/* [Node] Name=, or the host name when unset: 0 with a new string, or -EINVAL with `error` saying why (a host
 * name that is not a valid node name asks for [Node] Name=). */
int config_node_name(const Config *c, char **ret, char *error, size_t error_size);

/* Sets one key as the file would ("Section", "Key", "value"), for command-line overrides. */
int config_set(Config *c, const char *section, const char *key, const char *value, char *error, size_t error_size);
