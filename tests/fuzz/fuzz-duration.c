/* SPDX-License-Identifier: MIT */
/* A duration as `slicekeeper penalty --for` and `limit --for` take it (parse_duration, src/basic/parse-util.c):
 * a whole number of seconds from 1 to a year, or an error and nothing set. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "parse-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s;
        usec_t u = 1;
        int r;

        if (size > 256)
                return 0;
        s = strndup((const char *) data, size);
        if (!s)
                return 0;
        r = parse_duration(s, &u);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0)
                FUZZ_CHECK(u >= USEC_PER_SEC && u <= DURATION_MAX_USEC && u % USEC_PER_SEC == 0);
        else
                FUZZ_CHECK(u == 1);
        free(s);
        return 0;
}
