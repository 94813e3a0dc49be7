/* SPDX-License-Identifier: MIT */
/* JSON → Tree for both schemas (cgrouparch per-controller trees merged by path, and the native one),
 * with every limit and range checked. Pure: bytes in, tree or a message naming the JSON path out. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "tree.h"

typedef struct TreeError {
        char message[5200];
} TreeError;

/* Returns 0 and a new tree, or a negative errno with err->message set:
 * -EFBIG (over 4 MiB), -EBADMSG (not JSON), -EINVAL (schema, type, range, name), -E2BIG (too many
 * groups), -ELOOP (too deep), -ENOMEM. */
int tree_parse_json(const char *data, size_t size, Tree **ret, TreeError *err);

/* As tree_parse_json(), for slices under `root` ([Slices] Root=, normalized: "sk" for sk.slice; NULL or ""
 * for none): the limits that depend on it (unit name length, cgroup path length, systemd's own scopes) are
 * checked against the names the daemon will really use. */
int tree_parse_json_for_root(const char *data, size_t size, const char *root, Tree **ret, TreeError *err);

/* The two halves of tree_parse_json_for_root(), for a caller that spreads them over loop iterations and
 * keeps the JSON it validated (the daemon's get_conf): tree_json_load() checks the size and reads the JSON
 * (-EFBIG, -EBADMSG, with the same messages), returning a new reference; tree_parse_json_value() checks it
 * against the schema and the limits (-EINVAL, -E2BIG, -ELOOP, -ENOMEM) and builds the tree, leaving `json`
 * as it was. */
int tree_json_load(const char *data, size_t size, json_t **ret, TreeError *err);
int tree_parse_json_value(const json_t *json, const char *root, Tree **ret, TreeError *err);
