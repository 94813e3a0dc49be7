/* SPDX-License-Identifier: MIT */
/* /proc/PID/stat and /proc/PID/status text (src/attach/proc-table.c). proc_parse_stat runs twice: on the
 * raw input (it must not crash, and sets nothing when it refuses), and on a line built the kernel's way
 * from the input (a comm of any bytes, parentheses and spaces included, and the numbers the kernel may
 * print), where it must read back exactly the state, ppid and flags put in. proc_parse_status_tgid is
 * checked against a reference: the first "Tgid:" line, blanks, then 1..15 digits making 1..INT32_MAX. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proc-table.h"

static int tgid_reference(const char *s, pid_t *ret) {
        for (const char *line = s; *line;) {
                const char *nl = strchr(line, '\n'), *p;
                size_t len = nl ? (size_t) (nl - line) : strlen(line), k;
                uint64_t v = 0;

                if (len < 5 || memcmp(line, "Tgid:", 5) != 0) {
                        if (!nl)
                                break;
                        line = nl + 1;
                        continue;
                }
                p = line + 5;
                while (*p == ' ' || *p == '\t')
                        p++;
                k = (size_t) (line + len - p);
                if (k == 0 || k > 15)
                        return -EINVAL;
                for (size_t i = 0; i < k; i++) {
                        if (p[i] < '0' || p[i] > '9')
                                return -EINVAL;
                        v = v * 10 + (uint64_t) (p[i] - '0');
                }
                if (v == 0 || v > INT32_MAX)
                        return -EINVAL;
                *ret = (pid_t) v;
                return 0;
        }
        return -EINVAL;
}

static void fuzz_raw(const char *s) {
        pid_t ppid = -7, tgid = -7, want = -7;
        unsigned long flags = 7;
        char state = 7;
        int r;

        r = proc_parse_stat(s, &ppid, &flags, &state);
        FUZZ_CHECK(r == 0 || r == -EINVAL);
        if (r == 0)
                FUZZ_CHECK(ppid >= 0);
        else
                FUZZ_CHECK(ppid == -7 && flags == 7 && state == 7);
        (void) proc_parse_stat(s, &ppid, &flags, NULL);

        r = proc_parse_status_tgid(s, &tgid);
        FUZZ_CHECK(r == tgid_reference(s, &want));
        FUZZ_CHECK(r == 0 ? tgid == want && tgid > 0 : tgid == -7);
}

/* "PID (COMM) S PPID PGRP SESSION TTY_NR TPGID FLAGS MINFLT ...", as fs/proc/array.c prints it. */
static void fuzz_kernel_line(FuzzInput *in) {
        static const char states[] = "RSDTtXZPIKW";
        const uint8_t *comm;
        size_t comm_n = fuzz_bytes(in, 64, &comm);
        char state = states[fuzz_u8(in) % (sizeof(states) - 1)], got_state = 0, line[512];
        pid_t want_ppid = (pid_t) (fuzz_uint(in, 4) & INT32_MAX), ppid = -1;
        int tpgid = fuzz_u8(in) % 2 ? -1 : (int) (fuzz_uint(in, 4) & INT32_MAX);
        unsigned long want_flags = (unsigned long) fuzz_value(in), flags = 0;
        char c[65];
        size_t k = 0;

        /* comm cannot hold a NUL (the kernel stops there) nor a newline in practice; the rest is allowed. */
        for (size_t i = 0; i < comm_n; i++)
                if (comm[i] != 0)
                        c[k++] = (char) comm[i];
        c[k] = 0;
        snprintf(line, sizeof(line), "%u (%s) %c %d %d %d %d %d %lu 0 0 0 0 1 2 3 4 20 0 1 0 99\n",
                 (unsigned) fuzz_uint(in, 4), c, state, (int) want_ppid, (int) fuzz_uint(in, 2),
                 (int) fuzz_uint(in, 2), (int) fuzz_uint(in, 2), tpgid, want_flags);
        FUZZ_CHECK(proc_parse_stat(line, &ppid, &flags, &got_state) == 0);
        FUZZ_CHECK(ppid == want_ppid && flags == want_flags && got_state == state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size);
        FuzzInput in = { data, size };

        if (!s)
                return 0;
        fuzz_raw(s);
        fuzz_kernel_line(&in);
        free(s);
        return 0;
}
