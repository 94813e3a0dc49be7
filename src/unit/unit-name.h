/* SPDX-License-Identifier: MIT */
/* Group path → slice unit name, escaped the way systemd escapes (systemd-escape). Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* systemd's limit (its UNIT_NAME_MAX is 256 with the NUL). A group's scope "<stem>.scope" is as long as its
 * slice "<stem>.slice", so one check covers both; the ownership record is named after the slice. */
#define UNIT_NAME_MAX 255

/* The longest cgroup path of a group's scope below systemd's root cgroup ("/a.slice/a-b.slice/a-b.scope")
 * that the daemon accepts: PATH_MAX (4096 with the NUL) less room for the mount point
 * ("/sys/fs/cgroup/cpu,cpuacct", 26), the cgroup systemd itself runs in (a container's, 128 allowed) and the
 * longest file read there ("/blkio.throttle.io_service_bytes_recursive", 42). Past it systemd cannot create
 * the cgroup nor the daemon open its files (ENAMETOOLONG). Only trees deep and long at once reach it. */
#define UNIT_CGROUP_PATH_MAX 3840

/* Escapes one group name: bytes outside [A-Za-z0-9:_.] (and a leading '.') become \xNN. */
char *unit_name_escape(const char *name);

/* The length of unit_name_from_path()'s result, without the UNIT_NAME_MAX check; 0 for an empty component. */
size_t unit_name_length_from_path(const char *root, const char *path);

/* "a/b/c" under root "sk" → "sk-a-b-c.slice"; root NULL or "" → "a-b-c.slice".
 * -ENAMETOOLONG when the result exceeds UNIT_NAME_MAX, -EINVAL for an empty component. */
int unit_name_from_path(const char *root, const char *path, char **ret);

/* A root is a slice name prefix: non-empty parts of [A-Za-z0-9:_.] joined by '-', e.g. "sk" or "sk-demo".
 * A trailing ".slice" is accepted and removed by unit_name_normalize_root(). */
bool unit_name_root_is_valid(const char *root);
int unit_name_normalize_root(const char *root, char **ret);

/* "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice": where systemd puts a slice in the cgroup tree. */
int unit_name_slice_cgroup_path(const char *slice, char **ret);

/* The length of "<slice cgroup path>/<stem>.scope" for a slice name: what UNIT_CGROUP_PATH_MAX bounds. */
size_t unit_name_scope_cgroup_path_length(const char *slice);

/* The delegated scope that holds a group's processes: "a-b.slice" → "a-b.scope". */
int unit_name_group_scope(const char *slice, char **ret);

/* Units slicekeeper never stops whatever the configuration says. */
extern const char *const unit_name_always_protected[];
/* Whether `unit` is one of them: a group's scope must never be (group "init" without a root: init.scope). */
bool unit_name_is_systemds_own(const char *unit);
