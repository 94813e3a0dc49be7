/* SPDX-License-Identifier: MIT */
/* The per-host overlay (<Prefix>/hosts/<node>/arch_conf) merged over the shared tree (<Prefix>/arch_conf):
 * JSON merge patch (RFC 7386) over the tree's JSON, before tree-parse sees it. Pure: JSON in, JSON out. */
#pragma once

#include <jansson.h>

#include "tree-parse.h"

/* Objects nest at most this deep in the overlay (the top level is 1). The deepest valid tree nests about 35
 * (TREE_DEPTH_MAX groups, two levels each, and a controller, conf, a key): anything past this is refused by
 * tree-parse anyway, and refusing it here bounds the merge's recursion whatever made the JSON. */
#define TREE_OVERLAY_DEPTH_MAX 64

/* Merges `overlay` (<Prefix>/hosts/<node>/arch_conf) over `shared` (<Prefix>/arch_conf), JSON merge patch
 * (RFC 7386) semantics over the tree's JSON: objects merge key by key, recursively (groups by name, their
 * settings key by key, sub_cgroup / children by name); a value in the overlay replaces the shared one; null
 * removes the group or key; arrays (pid_files, pids) and scalars replace. Either may be NULL (no such node):
 * the other alone (a new reference / deep copy); both NULL: -ENOENT. Both must be JSON objects of the same
 * schema (detected by shape as tree-parse does); else -EINVAL with err->message naming which one and why
 * ("the host overlay is in the native schema, the shared tree in cgrouparch's"). Depth is bounded
 * (-ELOOP past a limit well above TREE_DEPTH_MAX's JSON nesting). Pure; the inputs are not modified.
 * The result still has to go through tree_parse_json_value() (the caller does it).
 *
 * Decided details:
 * - Schema by shape: an object with a "slices" key is native, any other non-empty object cgrouparch's, as
 *   tree-parse decides. An empty object has no schema and goes with either: an overlay {} changes nothing,
 *   and a shared {} takes an overlay of either schema.
 * - A group is removed with its whole subtree (its children / sub_cgroup go with it). A group cannot be
 *   replaced whole in one step: the keys the overlay does not name stay as shared; name them with null.
 * - cgrouparch's schema keeps a group in each controller tree that sets something for it, so null removes it
 *   from that controller tree only: removing the group takes null in every controller tree that has it
 *   ({"cpu": {"sub_cgroup": {"a": null}}, "memory": {"sub_cgroup": {"a": null}}}); else it stays, with the
 *   other controllers' settings. A null at the top level for a controller key ({"blkio": null}) removes that
 *   controller tree; {"slices": null} in the native schema removes every group.
 * - As RFC 7386 says, nulls inside an object the shared tree does not have (a new group) are dropped: they
 *   remove nothing and never reach the result. The overlay's top level is such an object when `shared` is
 *   NULL: the result is the overlay without its nulls.
 *
 * Memory: the result is a new reference the caller owns. Every object the overlay touches is a new object;
 * values it leaves alone (a shared group it does not name, all of `shared` when `overlay` is NULL) and the
 * overlay's arrays and scalars are taken by reference, not copied. jansson counts those references, so the
 * caller may free either input at any time afterwards. Nothing here changes a value of either input (only
 * reference counts), and the result must be treated as read-only just as tree_parse_json_value() does:
 * changing one of its values in place would change the input that shares it (json_deep_copy() it first).
 * Output only on success; err->message is set on every error (-ENOMEM gives a short one). */
int tree_overlay_merge(const json_t *shared, const json_t *overlay, json_t **ret, TreeError *err);
