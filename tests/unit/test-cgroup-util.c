/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "cgroup-util.h"
#include "macro.h"
#include "tests.h"

/* Real lines: a hybrid host (this project's CI machines) and a pure cgroup v2 host. */
static const char hybrid[] =
        "24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
        "33 24 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
        "34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
        "35 33 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup "
        "rw,xattr,name=systemd\n"
        "38 33 0:33 / /sys/fs/cgroup/cpu rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu\n";
static const char pure_v2[] =
        "24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
        "26 24 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
        "rw,nsdelegate,memory_recursiveprot\n";
/* Optional fields vary in number: the parser must find the separator, not count fields. */
static const char many_optional[] =
        "40 33 0:35 / /srv/cg rw shared:1 master:2 propagate_from:3 - cgroup cgroup rw,name=systemd\n";

TEST(test_hybrid_prefers_name_systemd) {
        char *p = NULL;

        ASSERT_EQ_INT(cgroup_systemd_hierarchy_from_mountinfo(hybrid, &p), 0);
        ASSERT_STREQ(p, "/sys/fs/cgroup/systemd");
        free(p);
}

TEST(test_pure_v2) {
        char *p = NULL;

        ASSERT_EQ_INT(cgroup_systemd_hierarchy_from_mountinfo(pure_v2, &p), 0);
        ASSERT_STREQ(p, "/sys/fs/cgroup");
        free(p);
}

TEST(test_optional_fields) {
        char *p = NULL;

        ASSERT_EQ_INT(cgroup_systemd_hierarchy_from_mountinfo(many_optional, &p), 0);
        ASSERT_STREQ(p, "/srv/cg");
        free(p);
}

TEST(test_none) {
        char *p = NULL;

        ASSERT_EQ_INT(cgroup_systemd_hierarchy_from_mountinfo("24 30 0:22 / /sys rw - sysfs sysfs rw\n", &p), -ENOENT);
        ASSERT_EQ_INT(cgroup_systemd_hierarchy_from_mountinfo("", &p), -ENOENT);
        ASSERT_EQ_INT(cgroup_systemd_hierarchy_from_mountinfo("garbage without separator\n", &p), -ENOENT);
        ASSERT_TRUE(p == NULL);
}

TEST(test_this_machine) {
        char *p = NULL;

        /* Wherever the tests run there is some cgroup hierarchy. */
        ASSERT_EQ_INT(cgroup_systemd_hierarchy(&p), 0);
        ASSERT_TRUE(p && p[0] == '/');
        free(p);
}

int main(void) {
        RUN(test_hybrid_prefers_name_systemd);
        RUN(test_pure_v2);
        RUN(test_optional_fields);
        RUN(test_none);
        RUN(test_this_machine);
        return 0;
}
