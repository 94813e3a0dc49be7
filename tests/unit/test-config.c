/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "strv.h"
#include "tests.h"

/* Fixtures live in tests/data, the working directory of unit tests. */

static void assert_strv(char **l, const char *const *expected, size_t n) {
        ASSERT_EQ_INT(strv_length(l), n);
        for (size_t i = 0; i < n; i++)
                ASSERT_STREQ(l[i], expected[i]);
}

/* Loads `path`, expects `expected_r` and an error that contains each NULL-terminated needle. */
static void assert_load_fails(const char *path, int expected_r, const char *needle, ...) {
        char error[1024] = "";
        va_list ap;
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_load(&c, path, error, sizeof(error)), expected_r);
        va_start(ap, needle);
        for (; needle; needle = va_arg(ap, const char *))
                ASSERT_CONTAINS(error, needle);
        va_end(ap);
        config_done(&c);
}
#define ASSERT_LOAD_FAILS(path, r, ...) assert_load_fails((path), (r), __VA_ARGS__, (const char *) NULL)

TEST(test_defaults) {
        Config c;

        config_init(&c);
        ASSERT_TRUE(c.source_file == NULL);
        ASSERT_TRUE(c.zk_hosts == NULL);
        ASSERT_TRUE(c.zk_prefix == NULL);
        ASSERT_TRUE(c.zk_auth == NULL);
        ASSERT_EQ_U64(c.zk_session_timeout_usec, 10 * USEC_PER_SEC);
        ASSERT_TRUE(c.root == NULL);
        ASSERT_TRUE(c.protected == NULL);
        ASSERT_EQ_U64(c.tasks_interval_usec, 30 * USEC_PER_SEC);
        ASSERT_TRUE(c.pid_files == NULL);
        ASSERT_EQ_U64(c.sample_interval_usec, USEC_PER_SEC);
        ASSERT_TRUE(c.redis_address == NULL);
        ASSERT_STREQ(c.redis_prefix, "cgroup_arch");
        ASSERT_EQ_U64(c.redis_expire_sec, 300);
        ASSERT_STREQ(c.web_listen, "127.0.0.1:43409");
        ASSERT_EQ_U64(c.web_stall_timeout_usec, 30 * USEC_PER_SEC);
        ASSERT_EQ_U64(c.web_idle_timeout_usec, 120 * USEC_PER_SEC);
        ASSERT_EQ_U64(c.web_handshake_timeout_usec, 10 * USEC_PER_SEC);
        ASSERT_EQ_U64(c.web_max_connections_per_address, 256);
        ASSERT_EQ_U64(c.web_output_budget_mib, 48);
        ASSERT_STREQ(c.control_socket, "/run/slicekeeper/control.sock");
        ASSERT_EQ_U64(c.control_request_timeout_usec, 10 * USEC_PER_SEC);
        config_done(&c);
}

TEST(test_load_full) {
        static const char *const protected[] = { "important.slice", "db" };
        static const char *const pid_files[] = { "web:/run/web/*.pid", "db:/run/db.pid" };
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_load(&c, "config-full.conf", error, sizeof(error)), 0);
        ASSERT_STREQ(error, "");
        ASSERT_STREQ(c.source_file, "/etc/slicekeeper/tree.json");
        ASSERT_STREQ(c.zk_hosts, "zk1:2181,zk2:2181");
        ASSERT_STREQ(c.zk_prefix, "/cluster_a/service_rank");
        ASSERT_STREQ(c.zk_auth[0], "digest:super:123456");
        ASSERT_TRUE(c.zk_auth[1] == NULL);
        ASSERT_EQ_U64(c.zk_session_timeout_usec, 15 * USEC_PER_SEC);
        ASSERT_STREQ(c.root, "sk"); /* ".slice" removed */
        assert_strv(c.protected, protected, 2);
        ASSERT_EQ_U64(c.tasks_interval_usec, 60 * USEC_PER_SEC);
        assert_strv(c.pid_files, pid_files, 2);
        ASSERT_EQ_U64(c.sample_interval_usec, 500 * USEC_PER_MSEC);
        ASSERT_STREQ(c.redis_address, "127.0.0.1:6379");
        ASSERT_STREQ(c.redis_prefix, "sk_account");
        ASSERT_EQ_U64(c.redis_expire_sec, 600);
        ASSERT_STREQ(c.web_listen, "0.0.0.0:8080");
        ASSERT_EQ_U64(c.web_stall_timeout_usec, 45 * USEC_PER_SEC);
        ASSERT_STREQ(c.control_socket, "/run/slicekeeper/ctl.sock");
        ASSERT_EQ_U64(c.control_request_timeout_usec, 2500 * USEC_PER_MSEC);
        config_done(&c);
}

TEST(test_load_empty_keeps_defaults) {
        static const char *const files[] = { "config-empty.conf", "config-comments-only.conf" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char error[512] = "";
                Config c;

                config_init(&c);
                ASSERT_EQ_INT(config_load(&c, files[i], error, sizeof(error)), 0);
                ASSERT_EQ_U64(c.tasks_interval_usec, 30 * USEC_PER_SEC);
                ASSERT_STREQ(c.redis_prefix, "cgroup_arch");
                ASSERT_TRUE(c.zk_hosts == NULL);
                config_done(&c);
        }
}

TEST(test_load_missing_file) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_load(&c, "no-such-file.conf", error, sizeof(error)), -ENOENT);
        ASSERT_STREQ(c.redis_prefix, "cgroup_arch"); /* untouched */
        config_done(&c);
}

TEST(test_load_directory) {
        ASSERT_LOAD_FAILS(".", -EISDIR, ".: cannot read");
}

TEST(test_unknown_section) {
        ASSERT_LOAD_FAILS("config-unknown-section.conf", -EINVAL, "config-unknown-section.conf:4:",
                          "unknown section [Bogus]");
}

TEST(test_long_line_is_an_error_not_a_split) {
        ASSERT_LOAD_FAILS("config-long-line.conf", -EINVAL, "config-long-line.conf:2:",
                          "line is longer than 199 bytes");
}

TEST(test_indented_lines_are_not_continuations) {
        Config c;
        char error[512] = "";

        config_init(&c);
        ASSERT_EQ_INT(config_load(&c, "config-indented.conf", error, sizeof(error)), 0);
        ASSERT_STREQ(c.zk_prefix, "/a");
        ASSERT_STREQ(c.zk_hosts, "zk1:2181,zk2:2181");
        config_done(&c);
}

TEST(test_empty_unknown_section) {
        ASSERT_LOAD_FAILS("config-empty-unknown-section.conf", -EINVAL, "config-empty-unknown-section.conf:4:",
                          "unknown section [Bogus]");
}

TEST(test_bad_zookeeper_hosts_and_prefix) {
        ASSERT_LOAD_FAILS("config-bad-hosts.conf", -EINVAL, "config-bad-hosts.conf:2:",
                          "Hosts= entry \"zk2\" is not host:port");
        ASSERT_LOAD_FAILS("config-bad-prefix.conf", -EINVAL, "config-bad-prefix.conf:2:",
                          "Prefix=/a/../b is not an absolute ZooKeeper path");
}

TEST(test_unknown_key) {
        ASSERT_LOAD_FAILS("config-unknown-key.conf", -EINVAL, "config-unknown-key.conf:2:",
                          "unknown key Host= in section [ZooKeeper]");
}

TEST(test_bad_duration) {
        ASSERT_LOAD_FAILS("config-bad-duration.conf", -EINVAL, "config-bad-duration.conf:3:",
                          "SessionTimeoutSec=10x", "not a duration");
}

TEST(test_zero_duration) {
        ASSERT_LOAD_FAILS("config-zero-duration.conf", -EINVAL, "config-zero-duration.conf:2:",
                          "UpdateIntervalSec=0", "not a duration");
}

TEST(test_duration_over_a_day) {
        ASSERT_LOAD_FAILS("config-long-duration.conf", -EINVAL, "config-long-duration.conf:2:", "IntervalSec=86401",
                          "24h");
}

TEST(test_max_connections_per_address) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_set(&c, "Web", "MaxConnectionsPerAddress", "4", error, sizeof(error)), 0);
        ASSERT_EQ_U64(c.web_max_connections_per_address, 4);
        ASSERT_EQ_INT(config_set(&c, "Web", "MaxConnectionsPerAddress", "1000", error, sizeof(error)), 0);
        ASSERT_EQ_U64(c.web_max_connections_per_address, 1000); /* more than the server holds: no limit */
        ASSERT_EQ_INT(config_set(&c, "Web", "MaxConnectionsPerAddress", "0", error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "MaxConnectionsPerAddress");
        ASSERT_EQ_INT(config_set(&c, "Web", "MaxConnectionsPerAddress", "-1", error, sizeof(error)), -EINVAL);
        ASSERT_EQ_U64(c.web_max_connections_per_address, 1000);
        config_done(&c);
}

TEST(test_output_budget) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_set(&c, "Web", "OutputBudgetMiB", "8", error, sizeof(error)), 0);
        ASSERT_EQ_U64(c.web_output_budget_mib, 8);
        ASSERT_EQ_INT(config_set(&c, "Web", "OutputBudgetMiB", "0", error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "OutputBudgetMiB");
        ASSERT_EQ_INT(config_set(&c, "Web", "OutputBudgetMiB", "1.5", error, sizeof(error)), -EINVAL);
        ASSERT_EQ_U64(c.web_output_budget_mib, 8);
        config_done(&c);
}

/* Client timeouts: 1 s to 1 h, in any duration syntax; a value out of range changes nothing. */
TEST(test_client_timeouts) {
        static const struct {
                const char *section, *key;
        } keys[] = { { "Web", "StallTimeoutSec" }, { "Control", "RequestTimeoutSec" }, { "Web", "IdleTimeoutSec" },
                     { "Web", "HandshakeTimeoutSec" } };
        static const struct {
                const char *value;
                usec_t usec; /* 0: refused */
        } values[] = {
                { "1", USEC_PER_SEC },        { "1s", USEC_PER_SEC },        { "1000ms", USEC_PER_SEC },
                { "2.5", 2500 * USEC_PER_MSEC }, { "60min", 3600 * USEC_PER_SEC }, { "3600", 3600 * USEC_PER_SEC },
                { "0", 0 },                   { "999ms", 0 },                { "0.5", 0 },
                { "3601", 0 },                { "61min", 0 },                { "-1", 0 },
                { "", 0 },                    { "ten", 0 },                  { "10x", 0 },
        };
        char error[512];

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                for (size_t j = 0; j < ELEMENTSOF(values); j++) {
                        Config c;
                        usec_t *field;

                        config_init(&c);
                        field = (usec_t *[]) { &c.web_stall_timeout_usec, &c.control_request_timeout_usec,
                                               &c.web_idle_timeout_usec, &c.web_handshake_timeout_usec }[i];
                        *field = 7 * USEC_PER_SEC;
                        error[0] = 0;
                        if (values[j].usec > 0) {
                                ASSERT_EQ_INT(config_set(&c, keys[i].section, keys[i].key, values[j].value, error,
                                                         sizeof(error)),
                                              0);
                                ASSERT_EQ_U64(*field, values[j].usec);
                        } else {
                                ASSERT_EQ_INT(config_set(&c, keys[i].section, keys[i].key, values[j].value, error,
                                                         sizeof(error)),
                                              -EINVAL);
                                ASSERT_CONTAINS(error, keys[i].key);
                                ASSERT_CONTAINS(error, "between 1s and 1h");
                                ASSERT_EQ_U64(*field, 7 * USEC_PER_SEC);
                        }
                        config_done(&c);
                }
        /* The other durations keep their own range. */
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_set(&c, "Sample", "IntervalSec", "500ms", error, sizeof(error)), 0);
        ASSERT_EQ_INT(config_set(&c, "Sample", "IntervalSec", "3601", error, sizeof(error)), 0);
        ASSERT_EQ_INT(config_set(&c, "Sample", "IntervalSec", "86401", error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "between 1ms and 24h");
        config_done(&c);
}

TEST(test_bad_expire) {
        ASSERT_LOAD_FAILS("config-bad-expire.conf", -EINVAL, "config-bad-expire.conf:2:", "ExpireSec=-5",
                          "between 1 and 86400");
}

TEST(test_bad_root) {
        ASSERT_LOAD_FAILS("config-bad-root.conf", -EINVAL, "config-bad-root.conf:2:", "Root=-x",
                          "not a slice name prefix");
}

TEST(test_auth_not_digest) {
        ASSERT_LOAD_FAILS("config-bad-auth.conf", -EINVAL, "config-bad-auth.conf:2:", "Auth=",
                          "digest:USER:PASSWORD");
}

TEST(test_pid_files_without_colon) {
        ASSERT_LOAD_FAILS("config-pidfiles-no-colon.conf", -EINVAL, "config-pidfiles-no-colon.conf:2:",
                          "entry \"db\"", "GROUP:/ABSOLUTE/GLOB");
}

TEST(test_pid_files_relative_glob) {
        ASSERT_LOAD_FAILS("config-pidfiles-relative.conf", -EINVAL, "config-pidfiles-relative.conf:2:",
                          "entry \"web:run/*.pid\"", "GROUP:/ABSOLUTE/GLOB");
}

TEST(test_protected_lines_append) {
        static const char *const expected[] = { "a.slice", "b.slice", "c.slice" };
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_load(&c, "config-protected-append.conf", error, sizeof(error)), 0);
        assert_strv(c.protected, expected, 3);
        config_done(&c);
}

TEST(test_protected_empty_resets) {
        static const char *const expected[] = { "d.slice" };
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_load(&c, "config-protected-reset.conf", error, sizeof(error)), 0);
        assert_strv(c.protected, expected, 1);
        config_done(&c);
}

TEST(test_string_key_last_wins) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_load(&c, "config-override.conf", error, sizeof(error)), 0);
        ASSERT_STREQ(c.redis_prefix, "second");
        config_done(&c);
}

TEST(test_syntax_error) {
        ASSERT_LOAD_FAILS("config-syntax-error.conf", -EINVAL, "config-syntax-error.conf:3:", "syntax error");
}

TEST(test_first_error_is_reported) {
        ASSERT_LOAD_FAILS("config-two-errors.conf", -EINVAL, "config-two-errors.conf:2:", "unknown key Nope=");
}

/* config_set: the same rules for command-line overrides. */

TEST(test_set_overrides) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_set(&c, "Redis", "Prefix", "cli", error, sizeof(error)), 0);
        ASSERT_STREQ(c.redis_prefix, "cli");
        ASSERT_EQ_INT(config_set(&c, "Sample", "IntervalSec", "2s", error, sizeof(error)), 0);
        ASSERT_EQ_U64(c.sample_interval_usec, 2 * USEC_PER_SEC);
        ASSERT_EQ_INT(config_set(&c, "Slices", "Root", "sk-demo", error, sizeof(error)), 0);
        ASSERT_STREQ(c.root, "sk-demo");
        ASSERT_EQ_INT(config_set(&c, "Slices", "Root", "", error, sizeof(error)), 0);
        ASSERT_TRUE(c.root == NULL); /* empty: top level */
        ASSERT_EQ_INT(config_set(&c, "Web", "Listen", "", error, sizeof(error)), 0);
        ASSERT_STREQ(c.web_listen, ""); /* empty: web server off */
        config_done(&c);
}

TEST(test_set_auth) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_set(&c, "ZooKeeper", "Auth", "digest:user:pass:word", error, sizeof(error)), 0);
        ASSERT_STREQ(c.zk_auth[0], "digest:user:pass:word");
        ASSERT_EQ_INT(config_set(&c, "ZooKeeper", "Auth", "digest:userpass", error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "digest:USER:PASSWORD");
        ASSERT_EQ_INT(config_set(&c, "ZooKeeper", "Auth", "sasl:user:pass", error, sizeof(error)), -EINVAL);
        ASSERT_EQ_INT(config_set(&c, "ZooKeeper", "Auth", "digest::pass", error, sizeof(error)), -EINVAL);
        ASSERT_STREQ(c.zk_auth[0], "digest:user:pass:word"); /* a rejected value changes nothing */
        ASSERT_TRUE(c.zk_auth[1] == NULL);
        ASSERT_EQ_INT(config_set(&c, "ZooKeeper", "Auth", "", error, sizeof(error)), 0);
        ASSERT_TRUE(c.zk_auth == NULL); /* empty: no credentials */
        config_done(&c);
}

/* cgrouparch's zk_auth_data was a list: every Auth= line counts (issue 13), none silently replaced. */
TEST(test_several_auth_lines) {
        static const char *const both[] = { "digest:reader:one", "digest:writer:two" };
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_load(&c, "config-two-auth.conf", error, sizeof(error)), 0);
        assert_strv(c.zk_auth, both, 2); /* in file order; a repeated line counts once */
        /* A command-line override appends as a line would; an empty one drops what was there. */
        ASSERT_EQ_INT(config_set(&c, "ZooKeeper", "Auth", "digest:third:3", error, sizeof(error)), 0);
        ASSERT_EQ_INT(strv_length(c.zk_auth), 3);
        ASSERT_EQ_INT(config_set(&c, "ZooKeeper", "Auth", "", error, sizeof(error)), 0);
        ASSERT_TRUE(c.zk_auth == NULL);
        config_done(&c);

        /* Bounded: the 17th names its line. */
        ASSERT_LOAD_FAILS("config-too-many-auth.conf", -EINVAL, "config-too-many-auth.conf:18:",
                          "Auth= is set more than 16 times");
}

TEST(test_set_pid_files_empty_group) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_set(&c, "Tasks", "PidFiles", ":/run/x.pid", error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "GROUP:/ABSOLUTE/GLOB");
        config_done(&c);
}

TEST(test_set_unknown) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_set(&c, "Nope", "Key", "1", error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "unknown section [Nope]");
        ASSERT_EQ_INT(config_set(&c, "Redis", "Port", "1", error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "unknown key Port= in section [Redis]");
        /* Section and key names are case-sensitive, as in systemd. */
        ASSERT_EQ_INT(config_set(&c, "redis", "Prefix", "x", error, sizeof(error)), -EINVAL);
        config_done(&c);
}

TEST(test_set_fair_share_ignored) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_set(&c, "FairShare", "CpuPctMax", "0.9", error, sizeof(error)), 0);
        config_done(&c);
}

/* [FairShare] Enable= and MinUID= (h-fsusers' two keys): defaults, values, a bad UID refused unchanged. */
TEST(test_fair_share_enable_min_uid) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_TRUE(!c.fairshare_enable);
        ASSERT_EQ_U64(c.fairshare_min_uid, 1000);
        ASSERT_EQ_INT(config_set(&c, "FairShare", "Enable", "yes", error, sizeof(error)), 0);
        ASSERT_TRUE(c.fairshare_enable);
        ASSERT_EQ_INT(config_set(&c, "FairShare", "MinUID", "0", error, sizeof(error)), 0);
        ASSERT_EQ_U64(c.fairshare_min_uid, 0);
        ASSERT_EQ_INT(config_set(&c, "FairShare", "MinUID", "4294967294", error, sizeof(error)), 0);
        ASSERT_EQ_U64(c.fairshare_min_uid, 4294967294u);
        ASSERT_EQ_INT(config_set(&c, "FairShare", "MinUID", "4294967295", error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "MinUID=4294967295 is not a UID");
        ASSERT_EQ_INT(config_set(&c, "FairShare", "MinUID", "-1", error, sizeof(error)), -EINVAL);
        ASSERT_EQ_INT(config_set(&c, "FairShare", "MinUID", "1k", error, sizeof(error)), -EINVAL);
        ASSERT_EQ_U64(c.fairshare_min_uid, 4294967294u);
        ASSERT_EQ_INT(config_set(&c, "FairShare", "Enable", "maybe", error, sizeof(error)), -EINVAL);
        ASSERT_TRUE(c.fairshare_enable);
        config_done(&c);
}

/* Every address names FILE:LINE and what was expected; a host alone gets the default port (issue 13). */
TEST(test_addresses) {
        char error[512] = "";
        Config c;

        config_init(&c);
        ASSERT_EQ_INT(config_load(&c, "config-redis-no-port.conf", error, sizeof(error)), 0);
        ASSERT_STREQ(c.redis_address, "127.0.0.1:6379");
        ASSERT_STREQ(c.web_listen, "0.0.0.0:43409"); /* cgrouparch's communicate_ip alone: its port */
        ASSERT_EQ_INT(config_set(&c, "Redis", "Address", "[::1]", error, sizeof(error)), 0);
        ASSERT_STREQ(c.redis_address, "[::1]:6379");
        ASSERT_EQ_INT(config_set(&c, "Redis", "Address", "::1:7000", error, sizeof(error)), 0);
        ASSERT_STREQ(c.redis_address, "[::1]:7000"); /* stored in the form every reader parses alike */
        ASSERT_EQ_INT(config_set(&c, "Redis", "Address", "/run/redis/redis.sock", error, sizeof(error)), 0);
        ASSERT_STREQ(c.redis_address, "/run/redis/redis.sock");
        ASSERT_EQ_INT(config_set(&c, "Redis", "Address", "", error, sizeof(error)), 0);
        ASSERT_STREQ(c.redis_address, "");
        ASSERT_EQ_INT(config_set(&c, "Web", "Listen", "[::]", error, sizeof(error)), 0);
        ASSERT_STREQ(c.web_listen, "[::]:43409");
        /* The web server binds a literal: a name is refused here, not at bind time. */
        ASSERT_EQ_INT(config_set(&c, "Web", "Listen", "localhost:80", error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "Listen=localhost:80: \"localhost\" is a host name, not an IP address; expected");
        ASSERT_EQ_INT(config_set(&c, "Web", "Listen", "/run/web.sock", error, sizeof(error)), -EINVAL);
        ASSERT_STREQ(c.web_listen, "[::]:43409"); /* a rejected value changes nothing */
        config_done(&c);

        ASSERT_LOAD_FAILS("config-bad-redis-port.conf", -EINVAL, "config-bad-redis-port.conf:3:",
                          "Address=127.0.0.1:99999", "no port between 1 and 65535",
                          "expected HOST:PORT, [IPV6]:PORT, HOST alone (port 6379) or an absolute unix socket path");
        ASSERT_LOAD_FAILS("config-bad-listen.conf", -EINVAL, "config-bad-listen.conf:2:", "Listen=127.0.0.1 43409",
                          "not a host name or address", "expected IPV4:PORT, [IPV6]:PORT");
}

TEST(test_set_value_too_long) {
        char error[512] = "", value[4098];
        Config c;

        memset(value, 'x', 4097);
        value[4097] = 0;
        config_init(&c);
        ASSERT_EQ_INT(config_set(&c, "Redis", "Prefix", value, error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "longer than 4096");
        value[4096] = 0;
        ASSERT_EQ_INT(config_set(&c, "Redis", "Prefix", value, error, sizeof(error)), 0);
        config_done(&c);
}

int main(void) {
        log_setup(LOG_TARGET_CONSOLE, LOG_ERR); /* keep the [FairShare] warning out of the test log */

        RUN(test_defaults);
        RUN(test_load_full);
        RUN(test_load_empty_keeps_defaults);
        RUN(test_load_missing_file);
        RUN(test_load_directory);
        RUN(test_unknown_section);
        RUN(test_long_line_is_an_error_not_a_split);
        RUN(test_indented_lines_are_not_continuations);
        RUN(test_empty_unknown_section);
        RUN(test_bad_zookeeper_hosts_and_prefix);
        RUN(test_unknown_key);
        RUN(test_bad_duration);
        RUN(test_zero_duration);
        RUN(test_duration_over_a_day);
        RUN(test_client_timeouts);
        RUN(test_max_connections_per_address);
        RUN(test_output_budget);
        RUN(test_bad_expire);
        RUN(test_bad_root);
        RUN(test_auth_not_digest);
        RUN(test_pid_files_without_colon);
        RUN(test_pid_files_relative_glob);
        RUN(test_protected_lines_append);
        RUN(test_protected_empty_resets);
        RUN(test_string_key_last_wins);
        RUN(test_syntax_error);
        RUN(test_first_error_is_reported);
        RUN(test_set_overrides);
        RUN(test_set_auth);
        RUN(test_several_auth_lines);
        RUN(test_addresses);
        RUN(test_set_pid_files_empty_group);
        RUN(test_set_unknown);
        RUN(test_set_fair_share_ignored);
        RUN(test_fair_share_enable_min_uid);
        RUN(test_set_value_too_long);
        return 0;
}
