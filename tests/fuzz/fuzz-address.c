/* SPDX-License-Identifier: MIT */
/* The host:port parser (src/basic/address.c) on the input as a C string, with and without unix paths: its
 * verdict and result against a reference written from its header, the result printed back in brackets and
 * without them parsing to the same, and a literal's socket address holding the same address and port. With a
 * default port, a host alone is taken too, and every result prints back to itself (address_to_string). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "fuzz.h"

/* From address.h: a path of at most 107 bytes with the flag; else the port is the decimal digits after the
 * last ':' (1..65535); the host before it, in brackets or not, 1..255 bytes, no byte <= ' ', DEL, '/', '[' or
 * ']'; a ':' outside brackets only in an IPv6 literal. */
static int reference(const char *s, AddressFlags flags, Address *ret) {
        size_t len = strlen(s), colon = SIZE_MAX, start = 0, end;
        bool bracketed = false;
        unsigned char buf[16];
        uint32_t port = 0;

        memset(ret, 0, sizeof(*ret));
        if ((flags & ADDRESS_ALLOW_UNIX) && s[0] == '/') {
                if (len > 107)
                        return -ENAMETOOLONG;
                ret->family = ADDRESS_UNIX;
                strcpy(ret->host, s);
                return 0;
        }
        for (size_t i = 0; i < len; i++)
                if (s[i] == ':')
                        colon = i;
        if (colon == SIZE_MAX || colon == 0 || colon + 1 == len)
                return -EINVAL;
        for (size_t i = colon + 1; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                if (port <= 65535)
                        port = port * 10 + (uint32_t) (s[i] - '0');
        }
        if (port < 1 || port > 65535)
                return -EINVAL;
        end = colon;
        if (s[0] == '[') {
                if (colon < 3 || s[colon - 1] != ']')
                        return -EINVAL;
                bracketed = true;
                start = 1;
                end = colon - 1;
        }
        if (end - start > 255)
                return -EINVAL;
        memcpy(ret->host, s + start, end - start);
        ret->host[end - start] = 0;
        ret->port = (uint16_t) port;
        if (inet_pton(AF_INET, ret->host, buf) == 1)
                ret->family = ADDRESS_IPV4;
        else if (inet_pton(AF_INET6, ret->host, buf) == 1)
                ret->family = ADDRESS_IPV6;
        else {
                ret->family = ADDRESS_NAME;
                for (size_t i = start; i < end; i++) {
                        unsigned char c = (unsigned char) s[i];

                        if (c <= ' ' || c == 0x7f || c == '/' || c == '[' || c == ']' || (c == ':' && !bracketed))
                                return -EINVAL;
                }
        }
        return 0;
}

static void check_same(const Address *a, const Address *b) {
        FUZZ_CHECK(a->family == b->family);
        FUZZ_CHECK(strcmp(a->host, b->host) == 0);
        FUZZ_CHECK(a->port == b->port);
}

static void check_reparse(const Address *a, bool brackets, AddressFlags flags) {
        char s[ADDRESS_HOST_MAX + 16];
        Address b;

        snprintf(s, sizeof(s), brackets ? "[%s]:%u" : "%s:%u", a->host, (unsigned) a->port);
        FUZZ_CHECK(address_parse(s, flags, &b, NULL, 0) == 0);
        check_same(a, &b);
}

static void check_one(const char *s, AddressFlags flags) {
        char error[256], small[8], text[INET6_ADDRSTRLEN];
        struct sockaddr_storage ss;
        Address a, ref, b, before;
        int r, rr;

        error[0] = 0;
        memset(&before, 0xa5, sizeof(before));
        a = b = before;
        r = address_parse(s, flags, &a, error, sizeof(error));
        rr = reference(s, flags, &ref);
        FUZZ_CHECK(r == rr);
        /* The verdict does not depend on the error buffer. */
        FUZZ_CHECK(address_parse(s, flags, &b, small, sizeof(small)) == r);
        FUZZ_CHECK(address_parse(s, flags, &b, NULL, 0) == r);
        if (r < 0) {
                /* Refused: the result is left alone, and the message starts with the part at fault. */
                FUZZ_CHECK(memcmp(&a, &before, sizeof(a)) == 0);
                FUZZ_CHECK(error[0] == '"');
                FUZZ_CHECK(strnlen(small, sizeof(small)) < sizeof(small));
                return;
        }
        check_same(&a, &ref);
        if (a.family == ADDRESS_UNIX) {
                FUZZ_CHECK(a.port == 0 && strcmp(a.host, s) == 0);
                FUZZ_CHECK(address_to_sockaddr(&a, &ss, NULL) == -EAFNOSUPPORT);
                return;
        }
        FUZZ_CHECK(a.port >= 1 && a.host[0] != 0 && strlen(a.host) <= ADDRESS_HOST_MAX);
        /* Printed back: brackets always parse to the same; without them, whenever the host has no ':' or is an
         * IPv6 literal. */
        check_reparse(&a, /* brackets= */ true, flags);
        if (!strchr(a.host, ':') || a.family == ADDRESS_IPV6)
                check_reparse(&a, /* brackets= */ false, flags);
        if (a.family == ADDRESS_NAME) {
                FUZZ_CHECK(address_to_sockaddr(&a, &ss, NULL) == -EAFNOSUPPORT);
                return;
        }
        /* A literal's socket address says the same thing. */
        FUZZ_CHECK(address_to_sockaddr(&a, &ss, NULL) == 0);
        if (a.family == ADDRESS_IPV4) {
                struct sockaddr_in *in = (struct sockaddr_in *) &ss;

                FUZZ_CHECK(in->sin_family == AF_INET && ntohs(in->sin_port) == a.port);
                FUZZ_CHECK(inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)));
        } else {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

                FUZZ_CHECK(in6->sin6_family == AF_INET6 && ntohs(in6->sin6_port) == a.port);
                FUZZ_CHECK(inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)));
        }
        b = a;
        strcpy(b.host, text);
        check_reparse(&b, /* brackets= */ true, /* flags= */ 0);
}

/* With a default port ([Redis] Address=, [Web] Listen=): whatever address_parse() takes reads the same; beyond
 * that only a host alone (no ':', or in brackets) is taken, with the default port; and every result printed
 * by address_to_string() parses back to itself. */
static void check_default_port(const char *s, AddressFlags flags) {
        char error[256], text[ADDRESS_STRING_MAX];
        Address a, b;
        int r, plain;

        error[0] = 0;
        r = address_parse_default_port(s, flags, 6379, &a, error, sizeof(error));
        plain = address_parse(s, flags, &b, NULL, 0);
        if (plain == 0) {
                FUZZ_CHECK(r == 0);
                check_same(&a, &b);
        } else if (r == 0) {
                FUZZ_CHECK(plain == -EINVAL && a.port == 6379 && a.family != ADDRESS_UNIX);
                FUZZ_CHECK(!strchr(s, ':') || (s[0] == '[' && s[strlen(s) - 1] == ']'));
        } else {
                FUZZ_CHECK(error[0] == '"');
                return;
        }
        FUZZ_CHECK(address_to_string(&a, text, sizeof(text)) > 0);
        FUZZ_CHECK(address_parse(text, flags, &b, NULL, 0) == 0);
        check_same(&a, &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size);

        if (!s)
                return 0;
        check_one(s, 0);
        check_one(s, ADDRESS_ALLOW_UNIX);
        check_default_port(s, 0);
        check_default_port(s, ADDRESS_ALLOW_UNIX);
        free(s);
        return 0;
}
