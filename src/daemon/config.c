/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <inttypes.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <ini.h>

#include "address.h"
#include "config.h"
#include "fileio.h"
#include "log.h"
#include "parse-util.h"
#include "paths.h"
#include "record.h"
#include "strv.h"
#include "unit-name.h"
#include "zk-util.h"

typedef enum KeyType {
        KEY_STRING,
        KEY_STRV,    /* whitespace-separated, appended on repeat */
        KEY_SEC,
        KEY_TIMEOUT, /* a duration between 1 s and 1 h */
        KEY_U64,
        KEY_ROOT,
        KEY_AUTH,
        KEY_PIDFILES,
        KEY_BOOL,
        KEY_ZK_HOSTS,
        KEY_ZK_PREFIX,
        KEY_REDIS_ADDRESS, /* host:port, [v6]:port, a host alone (port 6379) or a unix socket path; empty: none */
        KEY_LISTEN,        /* an IP literal and a port, or one alone (port 43409); empty: off */
        KEY_CONTROLLERS,
        KEY_FRACTION,      /* a decimal in (min, max], or a percentage ("90%") */
        KEY_CORES,         /* a decimal number of cores in (min, max] or "N%" of a core; HardCapCores= may be empty */
        KEY_UID,
        KEY_WHOLE_SEC,     /* whole seconds in [min, max]: "5", "2min", "1h" */
        KEY_PERCENT_INT,   /* an integer in [min, max], with or without '%' */
        KEY_FS_MODE,
        KEY_PENALTY_MODE,
        KEY_MEMORY,        /* bytes with K/M/G/T, "N%" of RAM or "infinity"; PenaltyMemory= may be empty */
        KEY_ABS_PATH,      /* EventLog= may be empty (off) */
        KEY_NODE_NAME,
} KeyType;

typedef struct ConfigKey {
        const char *section, *key;
        KeyType type;
        size_t offset;
        double min, max; /* numeric fair-share keys */
} ConfigKey;

#define K(s, k, t, field) { s, k, t, offsetof(Config, field), 0, 0 }
#define KR(s, k, t, field, min, max) { s, k, t, offsetof(Config, field), min, max }
#define FS(k, t, field, min, max) KR("FairShare", k, t, fair_share.field, min, max)
static const ConfigKey keys[] = {
        K("Source", "File", KEY_STRING, source_file),
        K("ZooKeeper", "Hosts", KEY_ZK_HOSTS, zk_hosts),
        K("ZooKeeper", "Prefix", KEY_ZK_PREFIX, zk_prefix),
        K("ZooKeeper", "Auth", KEY_AUTH, zk_auth),
        K("ZooKeeper", "SessionTimeoutSec", KEY_SEC, zk_session_timeout_usec),
        K("Slices", "Root", KEY_ROOT, root),
        K("Slices", "Protected", KEY_STRV, protected),
        K("Tasks", "UpdateIntervalSec", KEY_SEC, tasks_interval_usec),
        K("Tasks", "PidFiles", KEY_PIDFILES, pid_files),
        K("Tasks", "AllowNonRootPidFiles", KEY_BOOL, allow_non_root_pid_files),
        K("Sample", "IntervalSec", KEY_SEC, sample_interval_usec),
        K("Redis", "Address", KEY_REDIS_ADDRESS, redis_address),
        K("Redis", "Prefix", KEY_STRING, redis_prefix),
        K("Redis", "ExpireSec", KEY_U64, redis_expire_sec),
        K("Redis", "Controllers", KEY_CONTROLLERS, redis_controllers),
        K("Web", "Listen", KEY_LISTEN, web_listen),
        K("Web", "StallTimeoutSec", KEY_TIMEOUT, web_stall_timeout_usec),
        K("Web", "IdleTimeoutSec", KEY_TIMEOUT, web_idle_timeout_usec),
        K("Web", "HandshakeTimeoutSec", KEY_TIMEOUT, web_handshake_timeout_usec),
        K("Web", "MaxConnectionsPerAddress", KEY_U64, web_max_connections_per_address),
        K("Web", "OutputBudgetMiB", KEY_U64, web_output_budget_mib),
        K("Web", "Controllers", KEY_CONTROLLERS, web_controllers),
        K("Web", "PageDir", KEY_ABS_PATH, web_page_dir),
        K("Web", "JavaScriptDir", KEY_ABS_PATH, web_javascript_dir),
        K("Control", "Socket", KEY_STRING, control_socket),
        K("Control", "RequestTimeoutSec", KEY_TIMEOUT, control_request_timeout_usec),
        K("OOM", "Watch", KEY_BOOL, oom_watch),
        K("OOM", "KernelLog", KEY_ABS_PATH, oom_kmsg_path),
        K("Node", "Name", KEY_NODE_NAME, node_name),
        K("ZooKeeper", "HostOverlay", KEY_BOOL, zk_host_overlay),
        K("ZooKeeper", "FleetUsers", KEY_BOOL, zk_fleet_users),
        K("Redis", "HostKeys", KEY_BOOL, redis_host_keys),
        K("Web", "MetricsNodeLabel", KEY_BOOL, web_metrics_node_label),
        FS("Enable", KEY_BOOL, enable, 0, 0),
        FS("MinUID", KEY_UID, min_uid, 0, 0),
        FS("IntervalSec", KEY_WHOLE_SEC, interval_usec, 1, 300),
        FS("Mode", KEY_FS_MODE, mode, 0, 0),
        FS("CPUPctMax", KEY_FRACTION, cpu_pct_max, 0, 1),
        FS("HardCapCores", KEY_CORES, hard_cap_cores, 0, CPU_SET_MAX_CPUS),
        FS("ActivityThreshold", KEY_CORES, activity_threshold, 0, CPU_SET_MAX_CPUS),
        FS("ActivityWindowSec", KEY_WHOLE_SEC, activity_window_usec, 1, 300),
        FS("MinChangePct", KEY_PERCENT_INT, min_change_pct, 0, 100),
        FS("UpperThrottle", KEY_FRACTION, upper_throttle, 0, 1),
        FS("LowerThrottle", KEY_FRACTION, lower_throttle, 0, 1),
        FS("MemoryLimit", KEY_MEMORY, memory_limit, 0, 0),
        FS("MemoryHighPct", KEY_PERCENT_INT, memory_high_pct, 1, 100),
        FS("PenaltyCPUPct", KEY_FRACTION, penalty_cpu_pct, 0, 1),
        FS("PenaltyMode", KEY_PENALTY_MODE, penalty_mode, 0, 0),
        FS("PenaltyMemory", KEY_MEMORY, penalty_memory, 0, 0),
        FS("PenaltyTimeoutSec", KEY_WHOLE_SEC, penalty_timeout_usec, 1, 366 * 86400),
        FS("EventLog", KEY_ABS_PATH, event_log, 0, 0),
        FS("UsersDir", KEY_ABS_PATH, users_dir, 0, 0),
        FS("StateDir", KEY_ABS_PATH, state_dir, 0, 0),
};

static const char *const fair_share_modes[] = {
        [CONFIG_FAIR_SHARE_EVEN_ACTIVE] = "even_active",
        [CONFIG_FAIR_SHARE_HARD_CAP] = "hard_cap",
        [CONFIG_FAIR_SHARE_WEIGHT] = "weight",
};

const char *config_fair_share_mode_to_string(ConfigFairShareMode m) {
        return (size_t) m < ELEMENTSOF(fair_share_modes) ? fair_share_modes[m] : NULL;
}


/* A plain decimal ("0.9", "12", ".5"): digits with at most one '.', nothing else (no sign, exponent,
 * hex, "nan" or spaces, which strtod would take). */
static int parse_decimal(const char *s, double *ret) {
        size_t digits = 0, dots = 0, len = strlen(s);
        char *end;
        double v;

        if (len == 0 || len > 32)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p >= '0' && *p <= '9')
                        digits++;
                else if (*p == '.')
                        dots++;
                else
                        return -EINVAL;
        }
        if (digits == 0 || dots > 1)
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || *end != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* A decimal, or a decimal followed by '%' (divided by 100). */
static int parse_decimal_or_percent(const char *s, double *ret) {
        size_t len = strlen(s);
        char copy[40];
        double v;

        if (len == 0 || len >= sizeof(copy))
                return -EINVAL;
        if (s[len - 1] != '%')
                return parse_decimal(s, ret);
        memcpy(copy, s, len - 1);
        copy[len - 1] = 0;
        if (parse_decimal(copy, &v) < 0)
                return -EINVAL;
        *ret = v / 100;
        return 0;
}

static int parse_enum(const char *s, const char *const *names, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq(s, names[i]))
                        return (int) i;
        return -EINVAL;
}

static int set_string(char **field, const char *value) {
        char *copy = strdup(value);

        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

void config_init(Config *c) {
        assert(c);

        *c = (Config) {
                .zk_session_timeout_usec = 10 * USEC_PER_SEC,
                .tasks_interval_usec = 30 * USEC_PER_SEC,
                .sample_interval_usec = USEC_PER_SEC,
                .redis_expire_sec = 300,
                .web_stall_timeout_usec = 30 * USEC_PER_SEC,
                .web_idle_timeout_usec = 120 * USEC_PER_SEC,
                .web_handshake_timeout_usec = 10 * USEC_PER_SEC,
                /* One address may take every websocket place, never the HTTP reserve (http-server.h). */
                .web_max_connections_per_address = 256,
                /* About one push of a 1000-group tree (~200 KB) for each of 256 clients (bench/RESULTS.md). */
                .web_output_budget_mib = 48,
                .control_request_timeout_usec = 10 * USEC_PER_SEC,
                .web_controllers = RECORD_ALL,
                .redis_controllers = RECORD_ALL,
        };
        set_string(&c->redis_prefix, "cgroup_arch");
        set_string(&c->web_listen, "127.0.0.1:43409");
        set_string(&c->web_page_dir, SLICEKEEPER_PAGE_DIR);
        set_string(&c->web_javascript_dir, "/usr/share/javascript");
        set_string(&c->control_socket, SLICEKEEPER_CONTROL_SOCKET);
        /* Off by default: the daemon also runs on servers without interactive users, where capping
         * user slices would be a surprise. The rest are cgroup_py's defaults. */
        c->fair_share = (ConfigFairShare) {
                .enable = false,
                .min_uid = 1000,
                .interval_usec = USEC_PER_SEC,
                .activity_window_usec = 5 * USEC_PER_SEC,
                .mode = CONFIG_FAIR_SHARE_EVEN_ACTIVE,
                .cpu_pct_max = 0.90,
                .activity_threshold = 0.15,
                .min_change_pct = 5,
                .upper_throttle = 0.95,
                .lower_throttle = 0.85,
                .memory_limit = { .percent_of_ram = 25 },
                .memory_high_pct = 90,
                .penalty_cpu_pct = 0.30,
                .penalty_mode = USER_PENALTY_ACTIVE,
                .penalty_timeout_usec = 3600 * USEC_PER_SEC,
        };
        set_string(&c->fair_share.event_log, "/var/log/slicekeeper/events.log");
        c->oom_watch = true;
        c->zk_host_overlay = true;
        c->zk_fleet_users = true;
        set_string(&c->oom_kmsg_path, "/dev/kmsg");
        set_string(&c->fair_share.users_dir, "/etc/slicekeeper/users.d");
        set_string(&c->fair_share.state_dir, "/var/lib/slicekeeper");
}

int config_node_name(const Config *c, char **ret, char *error, size_t error_size) {
        char host[256] = "";
        char *s;

        assert(c);
        assert(ret);

        if (c->node_name)
                s = strdup(c->node_name);
        else {
                if (gethostname(host, sizeof(host) - 1) < 0 || !node_name_is_valid(host)) {
                        snprintf(error, error_size, "the host name \"%.64s\" is not a node name (1..%d characters of "
                                                    "A-Z a-z 0-9 . _ -): set [Node] Name=", host, NODE_NAME_MAX);
                        return -EINVAL;
                }
                s = strdup(host);
        }
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

void config_done(Config *c) {
        assert(c);

        free(c->source_file);
        free(c->zk_hosts);
        free(c->zk_prefix);
        if (c->zk_auth) /* passwords: not left in freed memory */
                for (size_t i = 0; c->zk_auth[i]; i++)
                        explicit_bzero(c->zk_auth[i], strlen(c->zk_auth[i]));
        strv_free(c->zk_auth);
        free(c->root);
        strv_free(c->protected);
        strv_free(c->pid_files);
        free(c->redis_address);
        free(c->redis_prefix);
        free(c->web_listen);
        free(c->web_page_dir);
        free(c->web_javascript_dir);
        free(c->control_socket);
        free(c->fair_share.event_log);
        free(c->oom_kmsg_path);
        free(c->node_name);
        free(c->fair_share.users_dir);
        free(c->fair_share.state_dir);
        *c = (Config) { 0 };
}

int config_set(Config *c, const char *section, const char *key, const char *value, char *error, size_t error_size) {
        const ConfigKey *k = NULL;
        void *field;
        int r;

        assert(c);
        assert(section);
        assert(key);
        assert(value);
        assert(error || error_size == 0);

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(keys[i].section, section) && streq(keys[i].key, key))
                        k = &keys[i];
        if (!k) {
                bool known_section = false;

                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        known_section |= streq(keys[i].section, section);
                snprintf(error, error_size, known_section ? "unknown key %s= in section [%s]" : "unknown section [%s]",
                         known_section ? key : section, section);
                return -EINVAL;
        }
        field = (char *) c + k->offset;
        c->n_keys_set++;
        c->n_pid_file_keys_set += k->type == KEY_PIDFILES;
        if (strlen(value) > 4096) {
                snprintf(error, error_size, "%s= is longer than 4096 bytes", key);
                return -EINVAL;
        }

        switch (k->type) {
        case KEY_STRING:
                return set_string(field, value);
        case KEY_BOOL:
                r = parse_boolean(value);
                if (r < 0) {
                        snprintf(error, error_size, "%s=%s is not a boolean (yes/no)", key, value);
                        return -EINVAL;
                }
                *(bool *) field = r;
                return 0;
        case KEY_NODE_NAME:
                if (isempty(value)) { /* back to the host name */
                        free(*(char **) field);
                        *(char **) field = NULL;
                        return 0;
                }
                if (!node_name_is_valid(value)) {
                        snprintf(error, error_size, "%s=%s is not a node name: 1..%d characters of A-Z a-z 0-9 . _ -, "
                                                    "not starting with '.' or '-'", key, value, NODE_NAME_MAX);
                        return -EINVAL;
                }
                return set_string(field, value);
        case KEY_ZK_HOSTS:
                if (!isempty(value) && zk_hosts_validate(value, error, error_size) < 0)
                        return -EINVAL;
                return set_string(field, value);
        case KEY_ZK_PREFIX:
                if (!isempty(value)) {
                        _cleanup_(freep) char *node = NULL;

                        r = zk_node_path(value, &node);
                        if (r == -EINVAL) {
                                snprintf(error, error_size, "%s=%s is not an absolute ZooKeeper path without a trailing "
                                                            "'/', empty, \".\" or \"..\" components", key, value);
                                return r;
                        }
                        if (r < 0)
                                return r;
                }
                return set_string(field, value);
        case KEY_AUTH: {
                /* cgrouparch's zk_auth_data was a list: each line adds credentials (all are sent, as
                 * zoo_add_auth() calls); an empty one drops those before it. */
                char ***l = field;

                if (isempty(value)) {
                        *l = strv_free(*l);
                        return 0;
                }
                if (!zk_auth_credentials(value)) {
                        snprintf(error, error_size, "%s= must be digest:USER:PASSWORD", key);
                        return -EINVAL;
                }
                if (strv_contains(*l, value))
                        return 0;
                if (strv_length(*l) >= CONFIG_ZK_AUTH_MAX) {
                        snprintf(error, error_size, "%s= is set more than %d times (each line adds credentials; "
                                                    "an empty one drops those before it)", key, CONFIG_ZK_AUTH_MAX);
                        return -EINVAL;
                }
                return strv_extend(l, value);
        }
        case KEY_REDIS_ADDRESS:
        case KEY_LISTEN: {
                /* Checked here, so a bad one names its FILE:LINE; kept in the one form every user parses. */
                bool redis = k->type == KEY_REDIS_ADDRESS;
                char why[384] = "", normalized[ADDRESS_STRING_MAX];
                Address a;

                if (isempty(value))
                        return set_string(field, "");
                r = address_parse_default_port(value, redis ? ADDRESS_ALLOW_UNIX : 0,
                                               redis ? CONFIG_REDIS_DEFAULT_PORT : CONFIG_WEB_DEFAULT_PORT, &a, why,
                                               sizeof(why));
                if (r >= 0 && !redis && a.family == ADDRESS_NAME) {
                        snprintf(why, sizeof(why), "\"%s\" is a host name, not an IP address", a.host);
                        r = -EINVAL;
                }
                if (r < 0) {
                        snprintf(error, error_size, "%s=%s: %s; expected %s", key, value, why,
                                 redis ? "HOST:PORT, [IPV6]:PORT, HOST alone (port 6379) or an absolute unix socket "
                                         "path, or empty for none"
                                       : "IPV4:PORT, [IPV6]:PORT or an IP address alone (port 43409), or empty for "
                                         "off");
                        return r;
                }
                r = address_to_string(&a, normalized, sizeof(normalized));
                if (r < 0)
                        return r;
                return set_string(field, normalized);
        }
        case KEY_ROOT: {
                char *root = NULL;

                r = unit_name_normalize_root(value, &root);
                if (r == -EINVAL) {
                        snprintf(error, error_size,
                                 "%s=%s is not a slice name prefix (parts of [A-Za-z0-9:_.] joined by '-')", key, value);
                        return r;
                }
                if (r < 0)
                        return r;
                free(c->root);
                c->root = root;
                return 0;
        }
        case KEY_STRV:
        case KEY_PIDFILES: {
                _cleanup_(strv_freep) char **words = NULL;
                char ***l = field;

                r = strv_split_whitespace(value, &words);
                if (r < 0)
                        return r;
                if (isempty(value))
                        *l = strv_free(*l); /* an empty assignment resets the list, as in systemd */
                for (size_t i = 0; words[i]; i++) {
                        if (k->type == KEY_PIDFILES) {
                                const char *colon = strchr(words[i], ':');
                                if (!colon || colon == words[i] || colon[1] != '/') {
                                        snprintf(error, error_size, "%s= entry \"%s\" must be GROUP:/ABSOLUTE/GLOB",
                                                 key, words[i]);
                                        return -EINVAL;
                                }
                        }
                        if (strv_length(*l) >= 1024) {
                                snprintf(error, error_size, "%s= has more than 1024 entries", key);
                                return -EINVAL;
                        }
                        r = strv_extend(l, words[i]);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        case KEY_SEC:
        case KEY_TIMEOUT: {
                /* A timeout shorter than a second would drop clients that are merely slow. */
                bool timeout = k->type == KEY_TIMEOUT;
                usec_t u, min_usec = timeout ? USEC_PER_SEC : 1, max_usec = (timeout ? 1 : 24) * 3600 * USEC_PER_SEC;

                r = parse_sec(value, &u);
                if (r < 0 || u < min_usec || u > max_usec) {
                        snprintf(error, error_size, "%s=%s is not a duration between %s (e.g. 30, 1.5, 500ms)", key,
                                 value, timeout ? "1s and 1h" : "1ms and 24h");
                        return -EINVAL;
                }
                *(usec_t *) field = u;
                return 0;
        }
        case KEY_CONTROLLERS: {
                _cleanup_(strv_freep) char **words = NULL;
                unsigned mask = 0;

                r = strv_split_whitespace(value, &words);
                if (r < 0)
                        return r;
                for (size_t i = 0; words[i]; i++) {
                        size_t n = 0;

                        if (streq(words[i], "tree") && strv_length(words) == 1) {
                                mask = RECORD_TREE;
                                break;
                        }
                        while (n < ELEMENTSOF(record_controller_names) && !streq(words[i], record_controller_names[n]))
                                n++;
                        if (n == ELEMENTSOF(record_controller_names)) {
                                snprintf(error, error_size, "%s= entry \"%s\" is not cpu, blkio, memory, pids or pressure "
                                                            "(or \"tree\" alone)", key, words[i]);
                                return -EINVAL;
                        }
                        mask |= 1u << n;
                }
                /* empty: the default, all of them; each assignment replaces the one before */
                *(unsigned *) field = mask ? mask : RECORD_ALL;
                return 0;
        }
        case KEY_U64: {
                uint64_t u;

                r = safe_atou64(value, &u);
                if (r < 0 || u == 0 || u > 86400) {
                        snprintf(error, error_size, "%s=%s is not an integer between 1 and 86400", key, value);
                        return -EINVAL;
                }
                *(uint64_t *) field = u;
                return 0;
        }
        case KEY_FRACTION:
        case KEY_CORES: {
                bool cores = k->type == KEY_CORES;
                double v;

                if (cores && isempty(value) && streq(key, "HardCapCores")) {
                        *(double *) field = 0; /* all online CPUs */
                        return 0;
                }
                r = parse_decimal_or_percent(value, &v);
                if (r < 0 || !(v > k->min) || v > k->max) {
                        if (cores)
                                snprintf(error, error_size, "%s=%s is not a number of CPU cores greater than 0 and at "
                                                            "most %g (e.g. 0.15, 2, 50%% of a core)%s", key, value,
                                         k->max, streq(key, "HardCapCores") ? ", or empty for all CPUs" : "");
                        else
                                snprintf(error, error_size, "%s=%s is not a fraction greater than 0 and at most 1 "
                                                            "(e.g. 0.9 or 90%%)", key, value);
                        return -EINVAL;
                }
                *(double *) field = v;
                return 0;
        }
        case KEY_UID: {
                uint64_t u;

                r = safe_atou64(value, &u);
                /* (uid_t) -1 is "no user" to the kernel, 65534 nobody is still a user id */
                if (r < 0 || u >= UINT32_MAX) {
                        snprintf(error, error_size, "%s=%s is not a user id between 0 and 4294967294", key, value);
                        return -EINVAL;
                }
                *(uint32_t *) field = (uint32_t) u;
                return 0;
        }
        case KEY_WHOLE_SEC: {
                size_t len = strlen(value);
                usec_t u;

                /* parse_sec's forms plus whole hours and days, for the penalty box's long timeouts */
                if (len > 1 && len < 16 && (value[len - 1] == 'h' || value[len - 1] == 'd')) {
                        char digits[16];
                        uint64_t n;

                        memcpy(digits, value, len - 1);
                        digits[len - 1] = 0;
                        r = safe_atou64(digits, &n);
                        if (r >= 0 && n > 1000000)
                                r = -ERANGE;
                        u = r < 0 ? 0 : n * (value[len - 1] == 'h' ? 3600 : 86400) * USEC_PER_SEC;
                } else
                        r = parse_sec(value, &u);
                if (r < 0 || u % USEC_PER_SEC != 0 || u < (usec_t) k->min * USEC_PER_SEC ||
                    u > (usec_t) k->max * USEC_PER_SEC) {
                        snprintf(error, error_size, "%s=%s is not a whole number of seconds between %.0f and %.0f "
                                                    "(e.g. 5, 2min, 1h, 1d)", key, value, k->min, k->max);
                        return -EINVAL;
                }
                *(usec_t *) field = u;
                return 0;
        }
        case KEY_PERCENT_INT: {
                size_t len = strlen(value);
                char digits[32];
                uint64_t u;

                r = -EINVAL;
                if (len > 0 && len < sizeof(digits)) {
                        memcpy(digits, value, len + 1);
                        if (digits[len - 1] == '%')
                                digits[len - 1] = 0;
                        r = safe_atou64(digits, &u);
                }
                if (r < 0 || u < (uint64_t) k->min || u > (uint64_t) k->max) {
                        snprintf(error, error_size, "%s=%s is not a whole percentage between %.0f and %.0f (e.g. %s)",
                                 key, value, k->min, k->max, streq(key, "MinChangePct") ? "5" : "90");
                        return -EINVAL;
                }
                *(unsigned *) field = (unsigned) u;
                return 0;
        }
        case KEY_FS_MODE:
        case KEY_PENALTY_MODE: {
                bool fs = k->type == KEY_FS_MODE;

                r = fs ? parse_enum(value, fair_share_modes, ELEMENTSOF(fair_share_modes))
                       : user_penalty_mode_from_string(value);
                if (r < 0) {
                        snprintf(error, error_size, "%s=%s is not one of %s", key, value,
                                 fs ? "even_active, hard_cap, weight" : "active, locked");
                        return -EINVAL;
                }
                if (fs)
                        *(ConfigFairShareMode *) field = (ConfigFairShareMode) r;
                else
                        *(UserPenaltyMode *) field = (UserPenaltyMode) r;
                return 0;
        }
        case KEY_MEMORY: {
                bool optional = streq(key, "PenaltyMemory");
                MemoryAmount m;

                if (optional && isempty(value)) {
                        *(MemoryAmount *) field = (MemoryAmount) { 0 };
                        return 0;
                }
                if (memory_amount_parse(value, &m) < 0) {
                        snprintf(error, error_size, "%s=%s is not a memory size: bytes with an optional K, M, G or T "
                                                    "(1024-based; e.g. 4G), a percentage of RAM from 1%% to 100%% "
                                                    "(e.g. 25%%) or infinity%s", key, value,
                                 optional ? ", or empty for none" : "");
                        return -EINVAL;
                }
                *(MemoryAmount *) field = m;
                return 0;
        }
        case KEY_ABS_PATH: {
                if (isempty(value) && (streq(key, "EventLog") || streq(key, "KernelLog")))
                        return set_string(field, "");
                size_t len = strlen(value);
                if (value[0] != '/' || strstr(value, "/../") || (len >= 3 && streq(value + len - 3, "/.."))) {
                        snprintf(error, error_size, "%s=%s is not an absolute path without \"..\"%s", key, value,
                                 streq(key, "EventLog") || streq(key, "KernelLog") ? ", or empty for off" : "");
                        return -EINVAL;
                }
                return set_string(field, value);
        }
        }
        return -EINVAL;
}

int config_check(const Config *c, const char *ret_keys[static 2], char *error, size_t error_size) {
        const ConfigFairShare *fs = &c->fair_share;

        assert(c);
        assert(ret_keys);

        if (!(fs->lower_throttle < fs->upper_throttle)) {
                ret_keys[0] = "LowerThrottle";
                ret_keys[1] = "UpperThrottle";
                snprintf(error, error_size, "LowerThrottle=%g must be below UpperThrottle=%g (a throttle event ends "
                                            "when use falls below LowerThrottle=)", fs->lower_throttle,
                         fs->upper_throttle);
                return -EINVAL;
        }
        if (fs->activity_window_usec < fs->interval_usec) {
                ret_keys[0] = "ActivityWindowSec";
                ret_keys[1] = "IntervalSec";
                snprintf(error, error_size, "ActivityWindowSec=%" PRIu64 " is shorter than IntervalSec=%" PRIu64
                                            " (the window holds at least one interval)",
                         fs->activity_window_usec / USEC_PER_SEC, fs->interval_usec / USEC_PER_SEC);
                return -EINVAL;
        }
        return 0;
}

/* The line of the last assignment of [FairShare] `key` in a normalized file (0 when the default was
 * kept): where the value config_check refused came from. */
static unsigned find_key_line(const char *text, const char *section, const char *key) {
        size_t key_len = strlen(key), section_len = strlen(section);
        bool in_section = false;
        unsigned line = 1, found = 0;

        for (const char *p = text; *p; line++) {
                const char *end = strchrnul(p, '\n');

                if (*p == '[')
                        in_section = (size_t) (end - p) > section_len + 1 && strncmp(p + 1, section, section_len) == 0 &&
                                     p[section_len + 1] == ']';
                else if (in_section && strncmp(p, key, key_len) == 0) {
                        const char *q = p + key_len;

                        while (*q == ' ' || *q == '\t')
                                q++;
                        if (*q == '=' || *q == ':')
                                found = line;
                }
                p = *end ? end + 1 : end;
        }
        return found;
}

typedef struct LoadState {
        Config *config;
        char *error;
        size_t error_size;
        int r;
} LoadState;

static int on_ini_entry(void *userdata, const char *section, const char *key, const char *value) {
        LoadState *s = userdata;

        if (s->r < 0) /* inih goes on after an error: keep the first one */
                return 0;
        s->r = config_set(s->config, section, key, value ? value : "", s->error, s->error_size);
        return s->r >= 0;
}

/* libinih as Debian builds it cuts lines at 200 bytes, treats indented lines as continuations and never
 * reports a section header on its own. Normalise first, so none of that can misread a file: leading
 * whitespace is dropped (as systemd does), a long line is an error, and every header is checked. Line
 * numbers are kept. */
#define INI_LINE_MAX 199

static int config_normalize(const char *path, const char *data, size_t size, char **ret, char *error,
                            size_t error_size) {
        _cleanup_(freep) char *out = malloc(size + 1);
        size_t o = 0;
        unsigned line = 1;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < size; line++) {
                size_t end = i, start;

                while (end < size && data[end] != '\n')
                        end++;
                start = i;
                while (start < end && (data[start] == ' ' || data[start] == '\t'))
                        start++;
                if (memchr(data + start, 0, end - start)) {
                        snprintf(error, error_size, "%s:%u: line contains a NUL byte", path, line);
                        return -EINVAL;
                }
                if (end - start > INI_LINE_MAX) {
                        snprintf(error, error_size,
                                 "%s:%u: line is longer than %d bytes (split a list over several assignments)", path,
                                 line, INI_LINE_MAX);
                        return -EINVAL;
                }
                if (start < end && data[start] == '[') {
                        const char *close = memchr(data + start, ']', end - start);
                        char name[INI_LINE_MAX + 1];
                        bool known = false;

                        if (!close) {
                                snprintf(error, error_size, "%s:%u: section header without ']'", path, line);
                                return -EINVAL;
                        }
                        snprintf(name, sizeof(name), "%.*s", (int) (close - data - start - 1), data + start + 1);
                        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                                known |= streq(keys[k].section, name);
                        if (!known) {
                                snprintf(error, error_size, "%s:%u: unknown section [%s]", path, line, name);
                                return -EINVAL;
                        }
                }
                memcpy(out + o, data + start, end - start);
                o += end - start;
                if (end < size)
                        out[o++] = '\n';
                i = end + 1;
        }
        out[o] = 0;
        *ret = TAKE_PTR(out);
        return (int) MIN(o, (size_t) INT32_MAX);
}

int config_load(Config *c, const char *path, char *error, size_t error_size) {
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_(freep) char *data = NULL, *normalized = NULL;
        char inner[512] = "";
        LoadState s = { .config = c, .error = inner, .error_size = sizeof(inner) };
        size_t size;
        int line, r;

        assert(c);
        assert(path);
        assert(error || error_size == 0);

        r = read_file_bounded(path, CONFIG_MAX_BYTES, &data, &size);
        if (r == -ENOENT)
                return r;
        if (r < 0) {
                snprintf(error, error_size, "%s: cannot read: %s", path, strerror(-r));
                return r;
        }
        r = config_normalize(path, data, size, &normalized, error, error_size);
        if (r <= 0)
                return r;
        f = fmemopen(normalized, (size_t) r, "r");
        if (!f)
                return -errno;
        line = ini_parse_file(f, on_ini_entry, &s);
        if (line != 0) {
                if (line < 0) {
                        snprintf(error, error_size, "%s: cannot parse", path);
                        return -EINVAL;
                }
                snprintf(error, error_size, "%s:%d: %s", path, line, s.r < 0 ? inner : "syntax error");
                return s.r < 0 ? s.r : -EINVAL;
        }
        const char *keys_at_fault[2] = {};
        r = config_check(c, keys_at_fault, inner, sizeof(inner));
        if (r < 0) {
                /* the later of the two keys is the one that broke the rule */
                unsigned at = MAX(find_key_line(normalized, "FairShare", keys_at_fault[0]),
                                  find_key_line(normalized, "FairShare", keys_at_fault[1]));

                if (at > 0)
                        snprintf(error, error_size, "%s:%u: %s", path, at, inner);
                else
                        snprintf(error, error_size, "%s: %s", path, inner);
                return r;
        }
        return 0;
}

static int conf_filter(const struct dirent *de) {
        size_t len = strlen(de->d_name);

        return de->d_name[0] != '.' && len > 5 && streq(de->d_name + len - 5, ".conf");
}

int config_load_pid_file_dropins(const char *dir, char ***pid_files, char *error, size_t error_size) {
        struct dirent **names = NULL;
        int n, r = 0;

        assert(dir);
        assert(pid_files);
        assert(error || error_size == 0);

        n = scandir(dir, &names, conf_filter, alphasort);
        if (n < 0)
                return errno == ENOENT ? 0 : -errno;
        if (n > 256) {
                snprintf(error, error_size, "%s: more than 256 drop-ins", dir);
                r = -E2BIG;
        }
        for (int i = 0; r >= 0 && i < n; i++) {
                _cleanup_(freep) char *path = NULL;
                Config c;

                if (asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                config_init(&c);
                r = config_load(&c, path, error, error_size);
                if (r >= 0 && c.n_keys_set != c.n_pid_file_keys_set) {
                        snprintf(error, error_size, "%s: a pid file drop-in may only set [Tasks] PidFiles=", path);
                        r = -EINVAL;
                }
                for (size_t j = 0; r >= 0 && c.pid_files && c.pid_files[j]; j++) {
                        if (strv_length(*pid_files) >= 4096) {
                                snprintf(error, error_size, "%s: more than 4096 pid file entries in all", path);
                                r = -E2BIG;
                        } else
                                r = strv_extend(pid_files, c.pid_files[j]);
                }
                config_done(&c);
        }
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}
