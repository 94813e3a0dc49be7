/* SPDX-License-Identifier: MIT */
/* Where the cgroup hierarchies are, from /proc/self/mountinfo (never assumed). */
#pragma once

/* The mount point of the hierarchy systemd tracks units in: the v1 "name=systemd" one on a legacy or
 * hybrid host, else the cgroup2 mount. */
int cgroup_systemd_hierarchy(char **ret);

/* Same, from mountinfo text (pure, for tests). */
int cgroup_systemd_hierarchy_from_mountinfo(const char *mountinfo, char **ret);
