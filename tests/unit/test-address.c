/* SPDX-License-Identifier: MIT */
/* address_parse: the forms [Web] Listen=, [Redis] Address= and [ZooKeeper] Hosts= accept. The requirement:
 * each user accepts what it accepted before it shared this parser ("host:port" with the port after the last
 * ':', "[v6]:port", a bare IPv6 literal before the port, and for Redis a unix socket path), refuses a form no
 * client could reach with a message naming the part at fault, and a refused value leaves the result alone. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "address.h"
#include "tests.h"

static void assert_parses(const char *s, AddressFlags flags, AddressFamily family, const char *host,
                          unsigned port) {
        char error[256] = "";
        Address a;
        int r = address_parse(s, flags, &a, error, sizeof(error));

        if (r < 0)
                fprintf(stderr, "\"%s\" refused: %s\n", s, error);
        ASSERT_EQ_INT(r, 0);
        ASSERT_EQ_INT(a.family, family);
        ASSERT_STREQ(a.host, host);
        ASSERT_EQ_INT(a.port, port);
}

static void assert_refused(const char *s, AddressFlags flags, int expected, const char *in_error) {
        char error[256] = "";
        Address a = { .family = ADDRESS_UNIX, .host = "untouched", .port = 7 };

        ASSERT_EQ_INT(address_parse(s, flags, &a, error, sizeof(error)), expected);
        ASSERT_CONTAINS(error, in_error);
        ASSERT_EQ_INT(a.family, ADDRESS_UNIX);
        ASSERT_STREQ(a.host, "untouched");
        ASSERT_EQ_INT(a.port, 7);
}

TEST(test_host_port) {
        assert_parses("127.0.0.1:43409", 0, ADDRESS_IPV4, "127.0.0.1", 43409);
        assert_parses("0.0.0.0:1", 0, ADDRESS_IPV4, "0.0.0.0", 1);
        assert_parses("redis.example.com:6379", 0, ADDRESS_NAME, "redis.example.com", 6379);
        assert_parses("a:65535", 0, ADDRESS_NAME, "a", 65535);
        assert_parses("localhost:2181", ADDRESS_ALLOW_UNIX, ADDRESS_NAME, "localhost", 2181);
        /* Leading zeros are digits like any other. */
        assert_parses("h:00080", 0, ADDRESS_NAME, "h", 80);
        /* Bytes above ASCII (an IDN in UTF-8) are left to the resolver. */
        assert_parses("gr\xc3\xbc\xc3\x9f" "e:1", 0, ADDRESS_NAME, "gr\xc3\xbc\xc3\x9f" "e", 1);
}

TEST(test_ipv6) {
        assert_parses("[::1]:8080", 0, ADDRESS_IPV6, "::1", 8080);
        assert_parses("[::]:1", 0, ADDRESS_IPV6, "::", 1);
        assert_parses("[2001:db8::17]:6379", ADDRESS_ALLOW_UNIX, ADDRESS_IPV6, "2001:db8::17", 6379);
        assert_parses("[::ffff:10.0.0.1]:2181", 0, ADDRESS_IPV6, "::ffff:10.0.0.1", 2181);
        /* The port is after the last ':', so a bare IPv6 literal reads as host and port (the web server and
         * ZooKeeper's Hosts= always took "::1:2181" so). */
        assert_parses("::1:2181", 0, ADDRESS_IPV6, "::1", 2181);
        assert_parses("2001:db8::1:443", 0, ADDRESS_IPV6, "2001:db8::1", 443);
        /* Brackets around an IPv4 literal or a name are taken off, as before. */
        assert_parses("[127.0.0.1]:80", 0, ADDRESS_IPV4, "127.0.0.1", 80);
        assert_parses("[redis]:6379", 0, ADDRESS_NAME, "redis", 6379);
        /* In brackets a name may hold ':' (a scoped link-local address, for the resolver). */
        assert_parses("[fe80::1%eth0]:6379", 0, ADDRESS_NAME, "fe80::1%eth0", 6379);
}

TEST(test_unix_path) {
        char path[120];

        assert_parses("/run/redis/redis.sock", ADDRESS_ALLOW_UNIX, ADDRESS_UNIX, "/run/redis/redis.sock", 0);
        assert_parses("/", ADDRESS_ALLOW_UNIX, ADDRESS_UNIX, "/", 0);
        /* A ':' in a path is part of the path. */
        assert_parses("/tmp/a:1", ADDRESS_ALLOW_UNIX, ADDRESS_UNIX, "/tmp/a:1", 0);
        /* 107 bytes fit sun_path with its NUL; 108 do not. */
        memset(path, 'p', sizeof(path));
        path[0] = '/';
        path[107] = 0;
        assert_parses(path, ADDRESS_ALLOW_UNIX, ADDRESS_UNIX, path, 0);
        path[107] = 'p';
        path[108] = 0;
        assert_refused(path, ADDRESS_ALLOW_UNIX, -ENAMETOOLONG, "longer than 107 bytes");
        /* Without the flag a path is no address. */
        assert_refused("/run/redis/redis.sock", 0, -EINVAL, "\"/run/redis/redis.sock\" is not host:port");
        assert_refused("/tmp/a:1", 0, -EINVAL, "\"/tmp/a\" is not a host name or address");
        /* A relative path is not a unix socket. */
        assert_refused("redis.sock", ADDRESS_ALLOW_UNIX, -EINVAL, "is not host:port or an absolute path");
}

TEST(test_refused_forms) {
        char error[256] = "";
        Address a;

        /* Each message starts with the value or host at fault, in quotes, so callers prefix the setting. */
        assert_refused(NULL, 0, -EINVAL, "\"\" is not host:port");
        assert_refused("", ADDRESS_ALLOW_UNIX, -EINVAL, "\"\" is not host:port");
        assert_refused("host", 0, -EINVAL, "\"host\" is not host:port");
        assert_refused(":2181", 0, -EINVAL, "\":2181\" is not host:port");
        assert_refused("h:", 0, -EINVAL, "\"h:\" has no port between 1 and 65535");
        assert_refused("h:0", 0, -EINVAL, "\"h:0\" has no port");
        assert_refused("h:65536", 0, -EINVAL, "\"h:65536\" has no port");
        assert_refused("h:12x", 0, -EINVAL, "\"h:12x\" has no port");
        assert_refused("h:-1", 0, -EINVAL, "\"h:-1\" has no port");
        assert_refused("h:+1", 0, -EINVAL, "\"h:+1\" has no port");
        assert_refused("h: 1", 0, -EINVAL, "\"h: 1\" has no port");
        assert_refused("h:99999999999999999999999", 0, -EINVAL, "\"h:99999999999999999999999\" has no port");
        assert_refused("[::1]", 0, -EINVAL, "\"[::1]\" has no port");
        /* Hosts no resolver takes. */
        assert_refused("a b:1", 0, -EINVAL, "\"a b\" is not a host name or address");
        assert_refused("a\tb:1", 0, -EINVAL, "is not a host name or address");
        assert_refused("a\x7f:1", 0, -EINVAL, "is not a host name or address");
        assert_refused("a/b:2", 0, -EINVAL, "\"a/b\" is not a host name or address");
        assert_refused("a]b:2", 0, -EINVAL, "\"a]b\" is not a host name or address");
        /* Outside brackets a ':' belongs to an IPv6 literal only. */
        assert_refused("a:b:1", 0, -EINVAL, "\"a:b\" is not a host name or address");
        assert_refused("fe80::1%eth0:1", 0, -EINVAL, "\"fe80::1%eth0\" is not a host name or address");
        /* Brackets that do not close, or hold nothing. */
        assert_refused("[]:1", 0, -EINVAL, "\"[]\" is not a host name or address");
        assert_refused("[::1:1", 0, -EINVAL, "\"[::1\" is not a host name or address");
        assert_refused("[a]b:1", 0, -EINVAL, "\"[a]b\" is not a host name or address");
        assert_refused("[a b]:1", 0, -EINVAL, "\"[a b]\" is not a host name or address");
        assert_refused("[[::1]]:1", 0, -EINVAL, "\"[[::1]]\" is not a host name or address");
        /* A NULL error buffer is allowed: the verdict alone. */
        ASSERT_EQ_INT(address_parse("nope", 0, &a, NULL, 0), -EINVAL);
        /* A short buffer truncates the message, never the verdict. */
        ASSERT_EQ_INT(address_parse("h:0", 0, &a, error, 4), -EINVAL);
        ASSERT_STREQ(error, "\"h:");
}

TEST(test_host_length) {
        char s[300], host[256];

        /* 255 bytes of host, with or without brackets; 256 are refused. */
        memset(host, 'h', 255);
        host[255] = 0;
        snprintf(s, sizeof(s), "%s:1", host);
        assert_parses(s, 0, ADDRESS_NAME, host, 1);
        snprintf(s, sizeof(s), "[%s]:1", host);
        assert_parses(s, 0, ADDRESS_NAME, host, 1);
        snprintf(s, sizeof(s), "%sh:1", host);
        assert_refused(s, 0, -EINVAL, "is a host of more than 255 bytes");
        snprintf(s, sizeof(s), "[%sh]:1", host);
        assert_refused(s, 0, -EINVAL, "is a host of more than 255 bytes");
}

TEST(test_sockaddr) {
        struct sockaddr_storage ss;
        struct sockaddr_in *in = (struct sockaddr_in *) &ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
        socklen_t len = 0;
        Address a;

        ASSERT_EQ_INT(address_parse("127.0.0.1:43409", 0, &a, NULL, 0), 0);
        ASSERT_EQ_INT(address_to_sockaddr(&a, &ss, &len), 0);
        ASSERT_EQ_INT(ss.ss_family, AF_INET);
        ASSERT_EQ_INT(len, sizeof(struct sockaddr_in));
        ASSERT_EQ_INT(ntohs(in->sin_port), 43409);
        ASSERT_EQ_INT(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);

        ASSERT_EQ_INT(address_parse("[::1]:8080", 0, &a, NULL, 0), 0);
        ASSERT_EQ_INT(address_to_sockaddr(&a, &ss, &len), 0);
        ASSERT_EQ_INT(ss.ss_family, AF_INET6);
        ASSERT_EQ_INT(len, sizeof(struct sockaddr_in6));
        ASSERT_EQ_INT(ntohs(in6->sin6_port), 8080);
        ASSERT_TRUE(memcmp(&in6->sin6_addr, &in6addr_loopback, sizeof(struct in6_addr)) == 0);

        /* A name or a path is not bound to: the web server listens on a literal only. */
        ASSERT_EQ_INT(address_parse("localhost:80", 0, &a, NULL, 0), 0);
        ASSERT_EQ_INT(address_to_sockaddr(&a, &ss, NULL), -EAFNOSUPPORT);
        ASSERT_EQ_INT(address_parse("/run/x.sock", ADDRESS_ALLOW_UNIX, &a, NULL, 0), 0);
        ASSERT_EQ_INT(address_to_sockaddr(&a, &ss, NULL), -EAFNOSUPPORT);
}

static void assert_default_port(const char *s, AddressFlags flags, AddressFamily family, const char *host,
                                unsigned port, const char *printed) {
        char error[256] = "", text[ADDRESS_STRING_MAX];
        Address a;
        int r = address_parse_default_port(s, flags, 6379, &a, error, sizeof(error));

        if (r < 0)
                fprintf(stderr, "\"%s\" refused: %s\n", s, error);
        ASSERT_EQ_INT(r, 0);
        ASSERT_EQ_INT(a.family, family);
        ASSERT_STREQ(a.host, host);
        ASSERT_EQ_INT(a.port, port);
        ASSERT_EQ_INT(address_to_string(&a, text, sizeof(text)), (int) strlen(printed));
        ASSERT_STREQ(text, printed);
}

static void assert_default_port_refused(const char *s, AddressFlags flags, const char *in_error) {
        char error[256] = "";
        Address a = { .family = ADDRESS_UNIX, .host = "untouched", .port = 7 };

        ASSERT_EQ_INT(address_parse_default_port(s, flags, 6379, &a, error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, in_error);
        ASSERT_TRUE(error[0] == '"');
        ASSERT_STREQ(a.host, "untouched");
}

/* [Redis] Address=127.0.0.1 as cgrouparch's redis_ip with the default redis_port (issue 13). */
TEST(test_default_port) {
        assert_default_port("127.0.0.1", ADDRESS_ALLOW_UNIX, ADDRESS_IPV4, "127.0.0.1", 6379, "127.0.0.1:6379");
        assert_default_port("redis.example.com", 0, ADDRESS_NAME, "redis.example.com", 6379,
                            "redis.example.com:6379");
        assert_default_port("[::1]", 0, ADDRESS_IPV6, "::1", 6379, "[::1]:6379");
        assert_default_port("[fe80::1%eth0]", 0, ADDRESS_NAME, "fe80::1%eth0", 6379, "[fe80::1%eth0]:6379");
        /* A port given wins; every form address_parse() takes reads the same. */
        assert_default_port("127.0.0.1:7000", 0, ADDRESS_IPV4, "127.0.0.1", 7000, "127.0.0.1:7000");
        assert_default_port("[::1]:7000", 0, ADDRESS_IPV6, "::1", 7000, "[::1]:7000");
        assert_default_port("::1:7000", 0, ADDRESS_IPV6, "::1", 7000, "[::1]:7000");
        assert_default_port("/run/redis.sock", ADDRESS_ALLOW_UNIX, ADDRESS_UNIX, "/run/redis.sock", 0,
                            "/run/redis.sock");
        /* A bare IPv6 literal without a port is not guessed at: brackets. */
        assert_default_port_refused("fe80::", 0, "\"");
        assert_default_port_refused("127.0.0.1:", 0, "no port between 1 and 65535");
        assert_default_port_refused("127.0.0.1:0", 0, "no port between 1 and 65535");
        assert_default_port_refused("a b", 0, "\"a b\" is not a host name or address");
        assert_default_port_refused("[a b]", 0, "\"[a b]\" is not a host name or address");
        assert_default_port_refused("[]", 0, "\"[]\"");
        assert_default_port_refused("", 0, "\"\"");
        assert_default_port_refused("run/redis.sock", ADDRESS_ALLOW_UNIX, "not a host name or address");
        /* Without a default port: as address_parse(). */
        {
                Address a;
                ASSERT_EQ_INT(address_parse_default_port("127.0.0.1", 0, 0, &a, NULL, 0), -EINVAL);
        }
}

int main(void) {
        RUN(test_host_port);
        RUN(test_ipv6);
        RUN(test_unix_path);
        RUN(test_refused_forms);
        RUN(test_host_length);
        RUN(test_sockaddr);
        RUN(test_default_port);
        return 0;
}
