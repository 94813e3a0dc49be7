/* SPDX-License-Identifier: MIT */
#include <assert.h>
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
        KEY_UID,           /* [FairShare] MinUID= (h-fsusers): 0 .. 4294967294 */
} KeyType;

typedef struct ConfigKey {
        const char *section, *key;
        KeyType type;
        size_t offset;
} ConfigKey;

#define K(s, k, t, field) { s, k, t, offsetof(Config, field) }
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
        K("Web", "Listen", KEY_LISTEN, web_listen),
        K("Web", "StallTimeoutSec", KEY_TIMEOUT, web_stall_timeout_usec),
        K("Web", "IdleTimeoutSec", KEY_TIMEOUT, web_idle_timeout_usec),
        K("Web", "HandshakeTimeoutSec", KEY_TIMEOUT, web_handshake_timeout_usec),
        K("Web", "MaxConnectionsPerAddress", KEY_U64, web_max_connections_per_address),
        K("Web", "OutputBudgetMiB", KEY_U64, web_output_budget_mib),
        K("Control", "Socket", KEY_STRING, control_socket),
        K("Control", "RequestTimeoutSec", KEY_TIMEOUT, control_request_timeout_usec),
        /* ---- [FairShare], the two keys the users glue needs (h-fsusers); the rest of the section (helper
         * fsconfig) replaces this block ---- */
        K("FairShare", "Enable", KEY_BOOL, fairshare_enable),
        K("FairShare", "MinUID", KEY_UID, fairshare_min_uid),
        /* ---- end of [FairShare] ---- */
};

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
                .fairshare_min_uid = 1000, /* cgroup_py's min_uid */
        };
        set_string(&c->redis_prefix, "cgroup_arch");
        set_string(&c->web_listen, "127.0.0.1:43409");
        set_string(&c->control_socket, SLICEKEEPER_CONTROL_SOCKET);
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
        free(c->control_socket);
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
                bool known_section = streq(section, "FairShare");

                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        known_section |= streq(keys[i].section, section);
                if (streq(section, "FairShare")) {
                        /* Reserved for per-user fair share, which this version does not implement. */
                        log_warning("[FairShare] %s= is not supported by this version; ignored.", key);
                        return 0;
                }
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
        case KEY_UID: {
                uint64_t u;

                r = safe_atou64(value, &u);
                if (r < 0 || u >= UINT32_MAX) {
                        snprintf(error, error_size, "%s=%s is not a UID (an integer between 0 and 4294967294)", key,
                                 value);
                        return -EINVAL;
                }
                *(uint64_t *) field = u;
                return 0;
        }
        }
        return -EINVAL;
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
                        known = streq(name, "FairShare");
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
