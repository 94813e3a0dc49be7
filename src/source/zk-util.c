/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "address.h"
#include "macro.h"
#include "parse-util.h"
#include "zk-util.h"

int zk_error_to_errno(int zrc) {
        switch (zrc) {
        case ZOK: return 0;
        case ZNONODE: return -ENOENT;
        case ZNOAUTH: return -EACCES;
        case ZAUTHFAILED: return -EPERM;
        case ZCONNECTIONLOSS: return -ECONNRESET;
        case ZOPERATIONTIMEOUT: return -ETIMEDOUT;
        case ZSESSIONEXPIRED: return -ESTALE;
        case ZCLOSING: return -ESHUTDOWN;
        case ZINVALIDSTATE: return -ENOTCONN;
        case ZBADARGUMENTS: return -EINVAL;
        case ZMARSHALLINGERROR: return -EBADMSG;
        case ZNOTHING: return -ENODATA;
        case ZNODEEXISTS: return -EEXIST;
        case ZUNIMPLEMENTED: return -EOPNOTSUPP;
        default: return -EIO;
        }
}

int zk_log_socket_errno(const char *message) {
        const char *p;
        uint64_t e = 0;
        size_t n;

        if (!message || !strstr(message, "zk retcode="))
                return 0;
        p = strstr(message, "errno=");
        if (!p)
                return 0;
        p += strlen("errno=");
        n = strspn(p, "0123456789");
        if (n == 0 || n > 4 || p[n] != '(')
                return 0;
        for (size_t i = 0; i < n; i++)
                e = e * 10 + (uint64_t) (p[i] - '0');
        return e > 0 && e < 4096 ? (int) e : 0;
}

const char *zk_socket_errno_text(int errnum) {
        return errnum == EHOSTDOWN ? "connection closed by the server" : STRERROR(errnum);
}

int zk_hosts_validate(const char *hosts, char *error, size_t error_size) {
        const char *p = hosts;
        unsigned n = 0;

        assert(error || error_size == 0);

        if (isempty(hosts)) {
                snprintf(error, error_size, "Hosts= is empty");
                return -EINVAL;
        }
        if (strlen(hosts) > 4096) {
                snprintf(error, error_size, "Hosts= is longer than 4096 bytes");
                return -EINVAL;
        }
        for (;;) {
                size_t len = strcspn(p, ",");
                char entry[4097], why[256];
                Address a;

                memcpy(entry, p, len);
                entry[len] = 0;
                if (address_parse(entry, /* flags= */ 0, &a, why, sizeof(why)) < 0) {
                        snprintf(error, error_size, "Hosts= entry %s", why);
                        return -EINVAL;
                }
                if (++n > ZK_HOSTS_MAX) {
                        snprintf(error, error_size, "Hosts= has more than %d entries", ZK_HOSTS_MAX);
                        return -EINVAL;
                }
                p += len;
                if (*p == 0)
                        break;
                p++;
        }
        return 0;
}

int zk_node_path(const char *prefix, char **ret) {
        size_t len;
        char *path;

        assert(ret);

        if (isempty(prefix) || prefix[0] != '/')
                return -EINVAL;
        len = strlen(prefix);
        if (len > ZK_PREFIX_MAX || (len > 1 && prefix[len - 1] == '/') || strstr(prefix, "//") ||
            strstr(prefix, "/./") || strstr(prefix, "/../") || (len >= 2 && streq(prefix + len - 2, "/.")) ||
            (len >= 3 && streq(prefix + len - 3, "/..")))
                return -EINVAL;
        for (const char *c = prefix; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return -EINVAL;
        if (asprintf(&path, "%s/%s", len == 1 ? "" : prefix, ZK_TREE_NODE) < 0)
                return -ENOMEM;
        *ret = path;
        return 0;
}

const char *zk_auth_credentials(const char *auth) {
        if (!auth || strncmp(auth, "digest:", 7) != 0 || !strchr(auth + 7, ':') || auth[7] == ':')
                return NULL;
        return auth + 7;
}
