/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-util.h"
#include "fileio.h"
#include "macro.h"

/* A mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS". */
int cgroup_systemd_hierarchy_from_mountinfo(const char *mountinfo, char **ret) {
        _cleanup_(freep) char *unified = NULL;

        for (const char *line = mountinfo; line && *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                char buf[4096], *fields[6] = { 0 }, *dash, *fstype, *superopts, *save = NULL;

                if (len < sizeof(buf)) {
                        memcpy(buf, line, len);
                        buf[len] = 0;
                        dash = strstr(buf, " - ");
                        if (dash) {
                                *dash = 0;
                                fields[0] = strtok_r(buf, " ", &save);
                                for (int i = 1; i < 6 && fields[i - 1]; i++)
                                        fields[i] = strtok_r(NULL, " ", &save);
                                save = NULL;
                                fstype = strtok_r(dash + 3, " ", &save);
                                (void) strtok_r(NULL, " ", &save);
                                superopts = strtok_r(NULL, " ", &save);
                                if (fields[4] && fstype) {
                                        if (streq(fstype, "cgroup") && superopts &&
                                            strstr(superopts, "name=systemd")) {
                                                *ret = strdup(fields[4]);
                                                return *ret ? 0 : -ENOMEM;
                                        }
                                        if (streq(fstype, "cgroup2") && !unified)
                                                unified = strdup(fields[4]);
                                }
                        }
                }
                line = end ? end + 1 : NULL;
        }
        if (!unified)
                return -ENOENT;
        *ret = TAKE_PTR(unified);
        return 0;
}

int cgroup_systemd_hierarchy(char **ret) {
        _cleanup_(freep) char *data = NULL;
        int r;

        r = read_file_bounded("/proc/self/mountinfo", 1024 * 1024, &data, NULL);
        if (r < 0)
                return r;
        return cgroup_systemd_hierarchy_from_mountinfo(data, ret);
}
