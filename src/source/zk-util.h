/* SPDX-License-Identifier: MIT */
/* Pure helpers of the ZooKeeper source: error translation, host list and prefix validation. */
#pragma once

#include <stddef.h>

#define ZK_HOSTS_MAX 64
#define ZK_PREFIX_MAX 1024
#define ZK_TREE_NODE "arch_conf"

/* ZOO_* / Z* return codes → negative errno. The only place they are translated. */
int zk_error_to_errno(int zrc);

/* The client library reports why its socket failed (connect refused, timed out, closed by the server) only
 * in its log: "Socket [HOST:PORT] zk retcode=-4, errno=111(Connection refused): server refused to accept the
 * client". Returns that errno (> 0), or 0 for any other message. */
int zk_log_socket_errno(const char *message);
/* The cause to show for such an errno: the client sets EHOSTDOWN when recv() returns 0, which means the server
 * closed the connection; anything else is strerror(). */
const char *zk_socket_errno_text(int errnum);

/* "host:port,host:port": 1..64 entries, each a host:port or [host]:port as address_parse() reads it; at most
 * 4096 bytes. On failure writes why to error. */
int zk_hosts_validate(const char *hosts, char *error, size_t error_size);

/* "/cluster_a/service_rank" → "/cluster_a/service_rank/arch_conf"; "/" → "/arch_conf". The prefix must be
 * absolute, without a trailing '/', empty components, "." or "..". */
int zk_node_path(const char *prefix, char **ret);

/* "digest:user:password" → "user:password" (a pointer into auth), or NULL when not of that form. */
const char *zk_auth_credentials(const char *auth);
