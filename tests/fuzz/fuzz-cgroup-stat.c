/* SPDX-License-Identifier: MIT */
/* Every cgroup statistics parser of src/sample/cgroup-stat.c on the same bytes, as if any file could hold
 * them: single numbers (checked against a reference), cpu.stat, io.stat, blkio.throttle.* (both kinds,
 * merged) and *.pressure. Each answers with one of its documented codes and touches its output only on
 * success. */
#include <errno.h>
#include <string.h>

#include "cgroup-stat.h"
#include "fuzz.h"

#define SENTINEL UINT64_C(0x5a5a5a5a5a5a5a5a)

/* What cg_parse_u64 must answer: "max", or decimal digits (any number of leading zeros) up to UINT64_MAX,
 * with at most one trailing newline. */
static int u64_reference(const char *s, size_t n, uint64_t *ret) {
        if ((n == 3 || (n == 4 && s[3] == '\n')) && memcmp(s, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        return fuzz_decimal_reference(s, n, UINT64_MAX, ret);
}

static void fuzz_u64(const char *s, size_t n) {
        uint64_t v = SENTINEL, want = 0;
        int r = cg_parse_u64(s, n, &v), expected = u64_reference(s, n, &want);

        FUZZ_CHECK(r == expected);
        FUZZ_CHECK(r == 0 ? v == want : v == SENTINEL);
}

static void fuzz_cpu_stat(const char *s, size_t n) {
        uint64_t v = SENTINEL;
        int r = cg_parse_cpu_stat_usage_usec(s, n, &v);

        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE || r == -ENODATA);
        if (r < 0)
                FUZZ_CHECK(v == SENTINEL);
        (void) cg_usec_to_nsec(v);
}

static void check_io(const CgIoStats *io) {
        FUZZ_CHECK(io->n <= CG_IO_DEVICES_MAX);
        for (size_t i = 0; i < io->n; i++)
                for (size_t j = i + 1; j < io->n; j++)
                        FUZZ_CHECK(io->dev[i].major != io->dev[j].major || io->dev[i].minor != io->dev[j].minor);
}

static void fuzz_io_stat(const char *s, size_t n) {
        static CgIoStats io, before;
        int r;

        memset(&io, 0x5a, sizeof(io));
        before = io;
        r = cg_parse_io_stat(s, n, &io);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0)
                check_io(&io);
        else
                FUZZ_CHECK(memcmp(&io, &before, sizeof(io)) == 0);
}

/* As the sampler reads v1 blkio: bytes, then ops into the same table. The input holds the first file up
 * to its first empty line, the second after it (or both are the whole input). */
static void fuzz_blkio(const char *s, size_t n) {
        const char *blank = n > 1 ? memmem(s, n, "\n\n", 2) : NULL;
        size_t first_n = blank ? (size_t) (blank - s) + 1 : n, second = blank ? first_n + 1 : 0;
        static CgIoStats io, before;

        io.n = 0;
        for (int ops = 0; ops <= 1; ops++) {
                const char *part = ops ? s + second : s;
                size_t part_n = ops ? n - second : first_n;
                int r;

                before = io;
                r = cg_parse_blkio(part, part_n, ops, &io);
                FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
                if (r < 0)
                        FUZZ_CHECK(memcmp(&io, &before, sizeof(io)) == 0);
                check_io(&io);
        }
}

static void fuzz_pressure(const char *s, size_t n) {
        CgPressure p, before;
        int r;

        memset(&p, 0x5a, sizeof(p));
        memcpy(&before, &p, sizeof(p));
        r = cg_parse_pressure(s, n, &p);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0)
                FUZZ_CHECK(p.have_some);
        else
                FUZZ_CHECK(memcmp(&p, &before, sizeof(p)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *s = (const char *) data;

        fuzz_u64(s, size);
        fuzz_cpu_stat(s, size);
        fuzz_io_stat(s, size);
        fuzz_blkio(s, size);
        fuzz_pressure(s, size);
        return 0;
}
