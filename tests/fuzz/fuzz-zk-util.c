/* SPDX-License-Identifier: MIT */
/* The ZooKeeper source's text parsers (src/source/zk-util.c) on the input as a C string: the errno in a
 * client log line (zk_log_socket_errno) and the Hosts= list (zk_hosts_validate), each against a reference
 * written from its header; the node path and auth helpers only for crashes and their bounds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "zk-util.h"

/* "... zk retcode=... errno=N(...": N of 1..4 digits, 1..4095; 0 for anything else. */
static int log_errno_reference(const char *s) {
        const char *p = strstr(s, "errno=");
        int v = 0, digits = 0;

        if (!strstr(s, "zk retcode=") || !p)
                return 0;
        for (p += 6; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 4)
                        v = v * 10 + (*p - '0');
        if (digits < 1 || digits > 4 || *p != '(')
                return 0;
        return v < 4096 ? v : 0;
}

/* "host:port[,host:port...]": 1..64 entries, a host without ' ', '\t' or '/' before the last ':', a port of
 * decimal digits 1..65535; at most 4096 bytes in all. */
static int hosts_reference(const char *s) {
        size_t len = strlen(s), entries = 0;

        if (len == 0 || len > 4096)
                return -EINVAL;
        for (size_t start = 0; start <= len;) {
                size_t end = start, colon = SIZE_MAX;
                uint64_t port = 0;

                while (end < len && s[end] != ',')
                        end++;
                for (size_t i = start; i < end; i++)
                        if (s[i] == ':')
                                colon = i;
                if (colon == SIZE_MAX || colon == start || colon + 1 == end)
                        return -EINVAL;
                for (size_t i = colon + 1; i < end; i++) {
                        if (s[i] < '0' || s[i] > '9')
                                return -EINVAL;
                        port = port * 10 + (uint64_t) (s[i] - '0');
                        if (port > 65535)
                                return -EINVAL;
                }
                if (port == 0)
                        return -EINVAL;
                for (size_t i = start; i < colon; i++)
                        if (s[i] == ' ' || s[i] == '\t' || s[i] == '/')
                                return -EINVAL;
                if (++entries > ZK_HOSTS_MAX)
                        return -EINVAL;
                start = end + 1;
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size), error[256], small[8];
        const char *cred;
        char *path = NULL;
        int r, e;

        if (!s)
                return 0;

        e = zk_log_socket_errno(s);
        FUZZ_CHECK(e == log_errno_reference(s));
        FUZZ_CHECK(e >= 0 && e < 4096);
        if (e > 0)
                FUZZ_CHECK(zk_socket_errno_text(e) != NULL);

        error[0] = 0;
        r = zk_hosts_validate(s, error, sizeof(error));
        FUZZ_CHECK(r == hosts_reference(s));
        if (r < 0)
                FUZZ_CHECK(strncmp(error, "Hosts=", 6) == 0);
        /* A short error buffer truncates the message, never the verdict. */
        FUZZ_CHECK(zk_hosts_validate(s, small, sizeof(small)) == r);
        FUZZ_CHECK(r == 0 || strnlen(small, sizeof(small)) < sizeof(small));

        r = zk_node_path(s, &path);
        FUZZ_CHECK(r == 0 || r == -EINVAL);
        if (r == 0) {
                size_t len = strlen(path);

                FUZZ_CHECK(s[0] == '/' && !strstr(path, "//") && !strstr(path, "/../") && !strstr(path, "/./"));
                FUZZ_CHECK(len >= strlen("/" ZK_TREE_NODE) && strcmp(path + len - strlen("/" ZK_TREE_NODE),
                                                                   "/" ZK_TREE_NODE) == 0);
                FUZZ_CHECK(len <= ZK_PREFIX_MAX + strlen("/" ZK_TREE_NODE));
        }
        free(path);

        cred = zk_auth_credentials(s);
        if (cred)
                FUZZ_CHECK(cred == s + 7 && strncmp(s, "digest:", 7) == 0 && cred[0] != ':' && strchr(cred, ':'));

        free(s);
        return 0;
}
