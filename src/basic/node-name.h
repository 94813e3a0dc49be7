/* SPDX-License-Identifier: MIT */
/* What a node name ([Node] Name=) may be: the one check of the daemon's config and of the fleet readers. Pure. */
#pragma once

#include <stdbool.h>

/* A node name as it goes into ZooKeeper paths, Redis keys and events: 1..NODE_NAME_MAX bytes of [A-Za-z0-9._-],
 * not starting with '.' or '-'. */
#define NODE_NAME_MAX 64
bool node_name_is_valid(const char *name);
