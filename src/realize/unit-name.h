/* SPDX-License-Identifier: MIT */
/* Group path → slice unit name, escaped the way systemd escapes (systemd-escape). Pure. */
#pragma once

#include <stdbool.h>

#define UNIT_NAME_MAX 255

/* Escapes one group name: bytes outside [A-Za-z0-9:_.] (and a leading '.') become \xNN. */
char *unit_name_escape(const char *name);

/* "a/b/c" under root "sk" → "sk-a-b-c.slice"; root NULL or "" → "a-b-c.slice".
 * -ENAMETOOLONG when the result exceeds UNIT_NAME_MAX, -EINVAL for an empty component. */
int unit_name_from_path(const char *root, const char *path, char **ret);

/* A root is a slice name prefix: non-empty parts of [A-Za-z0-9:_.] joined by '-', e.g. "sk" or "sk-demo".
 * A trailing ".slice" is accepted and removed by unit_name_normalize_root(). */
bool unit_name_root_is_valid(const char *root);
int unit_name_normalize_root(const char *root, char **ret);

/* "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice": where systemd puts a slice in the cgroup tree. */
int unit_name_slice_cgroup_path(const char *slice, char **ret);

/* The delegated scope that holds a group's processes: "a-b.slice" → "a-b.scope". */
int unit_name_group_scope(const char *slice, char **ret);

/* Units slicekeeper never stops whatever the configuration says. */
extern const char *const unit_name_always_protected[];
