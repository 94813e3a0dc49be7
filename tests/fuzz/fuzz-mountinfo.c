/* SPDX-License-Identifier: MIT */
/* The mountinfo parser (cgroup_layout_from_mountinfo, src/cgroup/cgroup-stat.c) on any text: it finds
 * the hierarchies or says -ENOENT, and frees all it made. */
#include <errno.h>
#include <string.h>

#include "cgroup-stat.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = malloc(size + 1);
        CgroupLayout l;
        int r;

        FUZZ_CHECK(text);
        memcpy(text, data, size);
        text[size] = 0;
        memset(&l, 0x5a, sizeof(l));
        r = cgroup_layout_from_mountinfo(text, &l);
        FUZZ_CHECK(r == 0 || r == -ENOENT);
        if (r == 0) {
                const char *h = cgroup_layout_systemd_hierarchy(&l);

                FUZZ_CHECK(!h || h == l.named_systemd || h == l.unified);
                for (CgController c = 0; c < _CG_CONTROLLER_MAX; c++) {
                        FUZZ_CHECK(cg_controller_v1_name(c));
                        FUZZ_CHECK(!l.v1[c] || strlen(l.v1[c]) <= size);
                }
                cgroup_layout_done(&l);
        }
        free(text);
        return 0;
}
