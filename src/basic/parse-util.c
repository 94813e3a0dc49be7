/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"

int safe_atou64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        assert(ret);

        if (isempty(s))
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        *ret = v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret_bytes) {
        static const struct {
                char suffix;
                unsigned shift;
        } table[] = {
                { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 }, { 'P', 50 }, { 'E', 60 },
        };
        char digits[32];
        uint64_t v;
        size_t len;
        unsigned shift = 0;
        int r;

        assert(ret_bytes);

        if (isempty(s))
                return -EINVAL;
        if (streq(s, "infinity")) {
                *ret_bytes = UINT64_MAX;
                return 0;
        }
        len = strlen(s);
        if (len >= sizeof(digits))
                return -ERANGE;
        memcpy(digits, s, len + 1);
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (digits[len - 1] == table[i].suffix) {
                        shift = table[i].shift;
                        digits[--len] = 0;
                        break;
                }
        r = safe_atou64(digits, &v);
        if (r < 0)
                return r;
        if (shift > 0 && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret_bytes = v << shift;
        return 0;
}

int parse_percent(const char *s, uint64_t *ret_percent) {
        char digits[32];
        size_t len;

        assert(ret_percent);

        if (isempty(s))
                return -EINVAL;
        len = strlen(s);
        if (len >= sizeof(digits) || s[len - 1] != '%')
                return -EINVAL;
        memcpy(digits, s, len - 1);
        digits[len - 1] = 0;
        return safe_atou64(digits, ret_percent);
}

int parse_duration(const char *s, usec_t *ret_usec) {
        static const struct {
                const char *unit;
                uint64_t sec;
        } units[] = { { "d", 86400 }, { "h", 3600 }, { "min", 60 }, { "m", 60 }, { "s", 1 } };
        uint64_t total = 0;
        size_t next_unit = 0; /* units before this one are used or skipped */

        assert(ret_usec);

        if (isempty(s))
                return -EINVAL;
        while (*s) {
                uint64_t n = 0;
                size_t digits = 0, u;

                for (; *s >= '0' && *s <= '9'; s++, digits++) {
                        if (digits >= 10)
                                return -ERANGE; /* past a year in any unit */
                        n = n * 10 + (uint64_t) (*s - '0');
                }
                if (digits == 0)
                        return -EINVAL;
                if (*s == 0) {
                        /* a bare number: seconds, only on its own */
                        if (next_unit > 0)
                                return -EINVAL;
                        total = n;
                        break;
                }
                for (u = next_unit; u < ELEMENTSOF(units); u++)
                        if (strncmp(s, units[u].unit, strlen(units[u].unit)) == 0 &&
                            (s[strlen(units[u].unit)] < 'a' || s[strlen(units[u].unit)] > 'z'))
                                break;
                if (u == ELEMENTSOF(units))
                        return -EINVAL; /* an unknown unit, or one used already or out of order */
                s += strlen(units[u].unit);
                total += n * units[u].sec; /* n < 10^10, total stays far from overflow */
                /* "min" and "m" are one unit */
                next_unit = u + 1 + (streq(units[u].unit, "min"));
        }
        if (total == 0 || total > DURATION_MAX_USEC / USEC_PER_SEC)
                return -ERANGE;
        *ret_usec = total * USEC_PER_SEC;
        return 0;
}

int parse_sec(const char *s, usec_t *ret_usec) {
        static const struct {
                const char *suffix;
                usec_t factor;
        } table[] = {
                { "ms", USEC_PER_MSEC }, { "min", 60 * USEC_PER_SEC }, { "s", USEC_PER_SEC }, { "", USEC_PER_SEC },
        };
        char buf[64];
        size_t len;
        char *dot, *end;
        uint64_t whole, frac = 0, frac_div = 1;
        int r;

        assert(ret_usec);

        if (isempty(s) || strlen(s) >= sizeof(buf))
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                size_t sl = strlen(table[i].suffix);

                len = strlen(s);
                if (len <= sl || strcmp(s + len - sl, table[i].suffix) != 0)
                        continue;
                memcpy(buf, s, len - sl);
                buf[len - sl] = 0;
                dot = strchr(buf, '.');
                if (dot) {
                        *dot = 0;
                        if (isempty(dot + 1) || strlen(dot + 1) > 6)
                                return -EINVAL;
                        for (end = dot + 1; *end; end++) {
                                if (*end < '0' || *end > '9')
                                        return -EINVAL;
                                frac = frac * 10 + (uint64_t) (*end - '0');
                                frac_div *= 10;
                        }
                }
                r = safe_atou64(buf, &whole);
                if (r < 0)
                        return r;
                if (whole > UINT64_MAX / table[i].factor / 2)
                        return -ERANGE;
                *ret_usec = whole * table[i].factor + frac * table[i].factor / frac_div;
                return 0;
        }
        return -EINVAL;
}

/* Sets bits lo..hi: whole bytes at once, so "0-8191" costs a 1 KiB memset, not 8192 steps. */
static void cpu_set_range(uint8_t *bits, size_t lo, size_t hi) {
        for (; lo <= hi && lo % 8 != 0; lo++)
                bits[lo / 8] |= (uint8_t) (1u << (lo % 8));
        if (lo > hi)
                return;
        if (hi - lo + 1 >= 8) {
                size_t whole = (hi - lo + 1) / 8;

                memset(bits + lo / 8, 0xff, whole);
                lo += whole * 8;
        }
        for (; lo <= hi; lo++)
                bits[lo / 8] |= (uint8_t) (1u << (lo % 8));
}

int parse_cpu_set(const char *s, uint8_t **ret_bits, size_t *ret_n_bytes) {
        _cleanup_(freep) uint8_t *bits = NULL;
        size_t n_bytes = 0, entries = 1;
        const char *p = s;

        assert(ret_bits);
        assert(ret_n_bytes);

        if (isempty(s))
                return -EINVAL;
        for (const char *c = strchr(s, ','); c; c = strchr(c + 1, ','))
                if (++entries > CPU_SET_MAX_ENTRIES)
                        return -E2BIG;
        bits = calloc(CPU_SET_MAX_CPUS / 8, 1);
        if (!bits)
                return -ENOMEM;
        for (;;) {
                uint64_t lo, hi;
                char num[16];
                size_t n;

                n = strspn(p, "0123456789");
                if (n == 0 || n >= sizeof(num))
                        return -EINVAL;
                memcpy(num, p, n);
                num[n] = 0;
                if (safe_atou64(num, &lo) < 0)
                        return -EINVAL;
                p += n;
                hi = lo;
                if (*p == '-') {
                        p++;
                        n = strspn(p, "0123456789");
                        if (n == 0 || n >= sizeof(num))
                                return -EINVAL;
                        memcpy(num, p, n);
                        num[n] = 0;
                        if (safe_atou64(num, &hi) < 0)
                                return -EINVAL;
                        p += n;
                }
                if (lo > hi)
                        return -EINVAL;
                if (hi >= CPU_SET_MAX_CPUS)
                        return -ERANGE;
                cpu_set_range(bits, (size_t) lo, (size_t) hi);
                n_bytes = MAX(n_bytes, (size_t) hi / 8 + 1);
                if (*p == 0)
                        break;
                if (*p != ',')
                        return -EINVAL;
                p++;
        }
        *ret_n_bytes = n_bytes;
        *ret_bits = TAKE_PTR(bits);
        return 0;
}

char *cpu_set_to_string(const uint8_t *bits, size_t n_bytes) {
        size_t cap = n_bytes * 8 * 12 + 1, len = 0;
        char *out = malloc(cap);

        assert(bits || n_bytes == 0);

        if (!out)
                return NULL;
        out[0] = 0;
        for (size_t c = 0; c < n_bytes * 8; c++) {
                size_t end = c;

                if (!(bits[c / 8] & (1u << (c % 8))))
                        continue;
                while (end + 1 < n_bytes * 8 && (bits[(end + 1) / 8] & (1u << ((end + 1) % 8))))
                        end++;
                if (end == c)
                        len += (size_t) snprintf(out + len, cap - len, "%s%zu", len ? "," : "", c);
                else
                        len += (size_t) snprintf(out + len, cap - len, "%s%zu-%zu", len ? "," : "", c, end);
                c = end;
        }
        return out;
}

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "true", "on" }, *const no[] = { "0", "no", "false", "off" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}
