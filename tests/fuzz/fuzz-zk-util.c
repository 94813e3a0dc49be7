/* SPDX-License-Identifier: MIT */
/* The ZooKeeper source's text parsers (src/source/zk-util.c) on the input as a C string: the errno in a
 * client log line (zk_log_socket_errno) and the Hosts= list (zk_hosts_validate, its entries read by
 * address_parse), each against a reference written from its header; the node path and auth helpers only for
 * crashes and their bounds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
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

/* "host:port[,host:port...]": 1..64 entries, each one address_parse() takes without unix paths (that parser
 * has its own reference in fuzz-address.c); at most 4096 bytes in all. */
static int hosts_reference(const char *s) {
        size_t len = strlen(s), entries = 0;

        if (len == 0 || len > 4096)
                return -EINVAL;
        for (size_t start = 0; start <= len;) {
                size_t end = start;
                char *entry;
                Address a;
                int r;

                while (end < len && s[end] != ',')
                        end++;
                entry = strndup(s + start, end - start);
                FUZZ_CHECK(entry);
                r = address_parse(entry, /* flags= */ 0, &a, NULL, 0);
                free(entry);
                if (r < 0 || ++entries > ZK_HOSTS_MAX)
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
