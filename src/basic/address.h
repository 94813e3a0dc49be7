/* SPDX-License-Identifier: MIT */
/* The one parser of the "host:port", "[v6]:port" and unix socket path forms of [Web] Listen=, [Redis] Address=
 * and each entry of [ZooKeeper] Hosts=. Pure: a string in, an Address or an error text out. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADDRESS_HOST_MAX 255 /* bytes of a host name (DNS allows 253) or address, without brackets */

typedef enum AddressFamily {
        ADDRESS_NAME, /* a host name, resolved by whoever connects */
        ADDRESS_IPV4, /* an IPv4 literal */
        ADDRESS_IPV6, /* an IPv6 literal */
        ADDRESS_UNIX, /* a unix socket path (only with ADDRESS_ALLOW_UNIX) */
} AddressFamily;

typedef enum AddressFlags {
        ADDRESS_ALLOW_UNIX = 1 << 0, /* an absolute path is a unix socket */
} AddressFlags;

typedef struct Address {
        AddressFamily family;
        char host[ADDRESS_HOST_MAX + 1]; /* without brackets; the path for ADDRESS_UNIX */
        uint16_t port;                   /* 1..65535; 0 for ADDRESS_UNIX */
} Address;

/* The forms, the port being everything after the last ':':
 *   "HOST:PORT"    HOST a name, an IPv4 literal or an IPv6 literal ("::1:8080" is host ::1, port 8080)
 *   "[HOST]:PORT"  the same, brackets removed ("[::1]:8080"); a name in brackets may hold ':' ("[fe80::1%eth0]")
 *   "/PATH"        with ADDRESS_ALLOW_UNIX: a unix socket path of at most 107 bytes (sun_path)
 * PORT is decimal digits, 1..65535. HOST is 1..255 bytes without control characters, space, DEL, '/', '[' or
 * ']'; outside brackets it holds ':' only as an IPv6 literal. Returns 0, -EINVAL, or -ENAMETOOLONG for a
 * path that does not fit; on failure writes why to error (may be NULL), starting with the quoted value or
 * host at fault, so callers prefix the setting's name ("Hosts= entry \"a b\" is not a host name or
 * address"), and leaves ret untouched. */
int address_parse(const char *s, AddressFlags flags, Address *ret, char *error, size_t error_size);

/* As address_parse(), and a host alone ("HOST" without ':', or "[HOST]") gets `default_port` (0: none; then
 * the same as address_parse()). A bare IPv6 literal is still read as host and port: without a port it must
 * be in brackets ("[::1]"). When the host-alone form was tried, the error is about it. */
int address_parse_default_port(const char *s, AddressFlags flags, uint16_t default_port, Address *ret,
                               char *error, size_t error_size);

/* The address as address_parse() reads it back: the path; "[HOST]:PORT" for a host holding ':'; else
 * "HOST:PORT". Returns the length, or -ENOBUFS when it does not fit in `size` (then nothing is promised). */
#define ADDRESS_STRING_MAX (ADDRESS_HOST_MAX + 8) /* brackets, ':', five digits, NUL */
int address_to_string(const Address *a, char *buf, size_t size);

/* An IPv4 or IPv6 literal and its port as a socket address; -EAFNOSUPPORT for a name or a unix path. */
int address_to_sockaddr(const Address *a, struct sockaddr_storage *ret, socklen_t *ret_len);
