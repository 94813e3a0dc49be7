/* SPDX-License-Identifier: MIT */
/* A pid file's contents (pidfile_parse, src/attach/pidfile.c), against a reference: digits with any ASCII
 * whitespace around them (as cgrouparch's int(read()) took), 1..pid_max, for the largest pid_max Linux allows
 * and a small one. A refusal always says why. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "fuzz.h"
#include "pidfile.h"

static bool space(char c) {
        return strchr(" \t\n\v\f\r", c) && c != 0;
}

static int reference(const char *s, size_t n, pid_t pid_max, pid_t *ret) {
        uint64_t v;
        int r;

        while (n > 0 && space(*s)) {
                s++;
                n--;
        }
        while (n > 0 && space(s[n - 1]))
                n--;
        r = fuzz_decimal_reference(s, n, (uint64_t) pid_max, &v);

        if (r < 0)
                return r;
        if (v == 0)
                return -ERANGE;
        *ret = (pid_t) v;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const pid_t pid_maxes[] = { 4194304, 32768 };
        const char *s = (const char *) data;

        for (size_t i = 0; i < sizeof(pid_maxes) / sizeof(pid_maxes[0]); i++) {
                char reason[128];
                pid_t pid = -1, want = -1;
                int r, expected;

                memset(reason, 'x', sizeof(reason));
                r = pidfile_parse(s, size, pid_maxes[i], &pid, reason, sizeof(reason));
                expected = reference(s, size, pid_maxes[i], &want);
                FUZZ_CHECK(r == expected);
                if (r == 0)
                        FUZZ_CHECK(pid == want && pid >= 1 && pid <= pid_maxes[i]);
                else
                        FUZZ_CHECK(pid == -1 && reason[0] && strnlen(reason, sizeof(reason)) < sizeof(reason));
        }
        return 0;
}
