/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "address.h"
#include "macro.h"
#include "parse-util.h"

#define UNIX_PATH_MAX (sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1)

_printf_(3, 4) static int refuse(char *error, size_t error_size, const char *format, ...) {
        va_list ap;

        if (error && error_size > 0) {
                va_start(ap, format);
                vsnprintf(error, error_size, format, ap);
                va_end(ap);
        }
        return -EINVAL;
}

static bool host_char_ok(char c, bool bracketed) {
        unsigned char u = (unsigned char) c;

        if (u <= ' ' || u == 0x7f || c == '/' || c == '[' || c == ']')
                return false;
        return bracketed || c != ':';
}

int address_parse(const char *s, AddressFlags flags, Address *ret, char *error, size_t error_size) {
        const char *colon, *host;
        struct in6_addr in6;
        struct in_addr in;
        bool bracketed;
        uint64_t port;
        size_t n;
        Address a = { .family = ADDRESS_NAME };

        assert(ret);

        if (!s)
                s = "";
        if ((flags & ADDRESS_ALLOW_UNIX) && s[0] == '/') {
                n = strlen(s);
                if (n > UNIX_PATH_MAX) {
                        refuse(error, error_size, "\"%.40s...\" is longer than %zu bytes, the most a unix socket "
                               "path can hold", s, UNIX_PATH_MAX);
                        return -ENAMETOOLONG;
                }
                a.family = ADDRESS_UNIX;
                memcpy(a.host, s, n + 1);
                *ret = a;
                return 0;
        }

        colon = strrchr(s, ':');
        if (!colon || colon == s)
                return refuse(error, error_size, "\"%s\" is not host:port%s", s,
                              flags & ADDRESS_ALLOW_UNIX ? " or an absolute path" : "");
        if (safe_atou64(colon + 1, &port) < 0 || port < 1 || port > 65535)
                return refuse(error, error_size, "\"%s\" has no port between 1 and 65535", s);

        host = s;
        n = (size_t) (colon - s);
        bracketed = s[0] == '[';
        if (bracketed) {
                if (n < 3 || s[n - 1] != ']')
                        return refuse(error, error_size, "\"%.*s\" is not a host name or address", (int) n, s);
                host++;
                n -= 2;
        }
        if (n > ADDRESS_HOST_MAX)
                return refuse(error, error_size, "\"%.40s...\" is a host of more than %d bytes", s,
                              ADDRESS_HOST_MAX);
        memcpy(a.host, host, n);
        a.host[n] = 0;

        if (inet_pton(AF_INET, a.host, &in) == 1)
                a.family = ADDRESS_IPV4;
        else if (inet_pton(AF_INET6, a.host, &in6) == 1)
                a.family = ADDRESS_IPV6;
        else {
                a.family = ADDRESS_NAME;
                for (size_t i = 0; i < n; i++)
                        if (!host_char_ok(a.host[i], bracketed))
                                return refuse(error, error_size, "\"%.*s\" is not a host name or address",
                                              (int) (colon - s), s);
        }
        a.port = (uint16_t) port;
        *ret = a;
        return 0;
}

int address_parse_default_port(const char *s, AddressFlags flags, uint16_t default_port, Address *ret,
                               char *error, size_t error_size) {
        char with_port[ADDRESS_STRING_MAX + 1];
        size_t n;
        int r;

        assert(ret);

        r = address_parse(s, flags, ret, error, error_size);
        if (r != -EINVAL || default_port == 0 || !s)
                return r;
        n = strlen(s);
        if (n == 0 || ((flags & ADDRESS_ALLOW_UNIX) && s[0] == '/'))
                return r;
        /* "HOST" or "[HOST]": no port at all. Anything else keeps the first verdict. */
        if (!(s[0] == '[' && s[n - 1] == ']') && strchr(s, ':'))
                return r;
        if (n - (s[0] == '[' ? 2 : 0) > ADDRESS_HOST_MAX)
                return r;
        snprintf(with_port, sizeof(with_port), "%s:%u", s, (unsigned) default_port);
        r = address_parse(with_port, flags, ret, /* error= */ NULL, 0);
        if (r < 0) /* the host is at fault (its length was checked): quote what was written */
                return refuse(error, error_size, "\"%.300s\" is not a host name or address", s);
        return 0;
}

int address_to_string(const Address *a, char *buf, size_t size) {
        int n;

        assert(a);
        assert(buf || size == 0);

        if (a->family == ADDRESS_UNIX)
                n = snprintf(buf, size, "%s", a->host);
        else
                n = snprintf(buf, size, strchr(a->host, ':') ? "[%s]:%u" : "%s:%u", a->host, (unsigned) a->port);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

int address_to_sockaddr(const Address *a, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_storage ss = { .ss_family = AF_UNSPEC };
        struct sockaddr_in *in = (struct sockaddr_in *) &ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
        socklen_t len;

        assert(a);
        assert(ret);

        switch (a->family) {
        case ADDRESS_IPV4:
                if (inet_pton(AF_INET, a->host, &in->sin_addr) != 1)
                        return -EINVAL;
                in->sin_family = AF_INET;
                in->sin_port = htons(a->port);
                len = sizeof(*in);
                break;
        case ADDRESS_IPV6:
                if (inet_pton(AF_INET6, a->host, &in6->sin6_addr) != 1)
                        return -EINVAL;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(a->port);
                len = sizeof(*in6);
                break;
        default:
                return -EAFNOSUPPORT;
        }
        *ret = ss;
        if (ret_len)
                *ret_len = len;
        return 0;
}
