/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "parse-util.h"
#include "strv.h"
#include "user-overrides.h"

static void entry_done(UserOverride *e) {
        free(e->name);
        free(e->file);
}

void user_overrides_done(UserOverrides *o) {
        assert(o);

        for (size_t i = 0; i < o->n; i++)
                entry_done(&o->entries[i]);
        free(o->entries);
        *o = (UserOverrides) { 0 };
}

_printf_(5, 6) static int fail(char *error, size_t error_size, const char *path, unsigned line, const char *fmt,
                               ...) {
        char what[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        snprintf(error, error_size, "%s:%u: %s", path, line, what);
        return -EINVAL;
}

/* A user or group name as NSS may hand it over (SSSD: "alice@example.com"), kept to printable ASCII
 * without the characters that would make a section header or a log line ambiguous. */
static bool name_valid(const char *s, size_t n) {
        if (n == 0 || n > USER_OVERRIDES_NAME_MAX || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c <= ' ' || c >= 0x7f || strchr("[]:/,=#;\"'\\", c))
                        return false;
        }
        return true;
}

static bool all_digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return n > 0;
}

/* "150%", "12.5%", "0.75%": a percentage of one core with at most two decimals, > 0 and ≤ 819200 %. */
static int parse_cpu_quota(const char *s, double *ret_cores) {
        size_t len = strlen(s), whole_digits = 0, frac_digits = 0;
        uint64_t hundredths = 0;
        bool dot = false;

        if (len < 2 || s[len - 1] != '%')
                return -EINVAL;
        for (size_t i = 0; i < len - 1; i++) {
                if (s[i] == '.' && !dot) {
                        dot = true;
                        continue;
                }
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                if (dot) {
                        if (++frac_digits > 2)
                                return -EINVAL;
                } else if (++whole_digits > 7)
                        return -EINVAL;
                hundredths = hundredths * 10 + (uint64_t) (s[i] - '0');
        }
        if (whole_digits == 0 || (dot && frac_digits == 0))
                return -EINVAL;
        for (; frac_digits < 2; frac_digits++)
                hundredths *= 10;
        if (hundredths == 0 || hundredths > (uint64_t) USER_OVERRIDES_CPU_MAX_PCT * 100)
                return -ERANGE;
        *ret_cores = (double) hundredths / 10000.0;
        return 0;
}

int memory_amount_parse(const char *s, MemoryAmount *ret) {
        size_t len = strlen(s);
        uint64_t v;

        assert(s);
        assert(ret);

        if (len > 0 && s[len - 1] == '%') {
                if (parse_percent(s, &v) < 0 || v < 1 || v > 100)
                        return -EINVAL;
                *ret = (MemoryAmount) { .percent_of_ram = (unsigned) v };
                return 0;
        }
        if (parse_size(s, &v) < 0 || v == 0)
                return -EINVAL;
        *ret = (MemoryAmount) { .bytes = v };
        return 0;
}

static void trim(const char **s, size_t *n) {
        while (*n > 0 && (**s == ' ' || **s == '\t')) {
                (*s)++;
                (*n)--;
        }
        while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
                (*n)--;
}

static int parse_section(const char *path, unsigned line, const char *s, size_t n, UserOverride *e, char *error,
                         size_t error_size) {
        static const char expected[] = "expected [USER], [UID] or [@GROUP]";
        bool group = n > 0 && s[0] == '@';
        const char *name = group ? s + 1 : s;
        size_t name_len = group ? n - 1 : n;

        if (!group && all_digits(name, name_len)) {
                char digits[16];
                uint64_t uid;

                if (name_len >= sizeof(digits))
                        return fail(error, error_size, path, line, "[%.*s]: user id out of range (0..4294967294)",
                                    (int) MIN(n, 64), s);
                memcpy(digits, name, name_len);
                digits[name_len] = 0;
                if (safe_atou64(digits, &uid) < 0 || uid >= UINT32_MAX)
                        return fail(error, error_size, path, line, "[%s]: user id out of range (0..4294967294)",
                                    digits);
                *e = (UserOverride) { .kind = USER_OVERRIDE_UID, .uid = (uint32_t) uid };
                return 0;
        }
        if (!name_valid(name, name_len))
                return fail(error, error_size, path, line,
                            "[%.*s]: not a user or group name (1..%d printable ASCII characters, no spaces or "
                            "[]:/,=#;\"'\\, not starting with '-'); %s",
                            (int) MIN(n, 64), s, USER_OVERRIDES_NAME_MAX, expected);
        *e = (UserOverride) { .kind = group ? USER_OVERRIDE_GROUP : USER_OVERRIDE_NAME };
        e->name = strndup(name, name_len);
        return e->name ? 0 : -ENOMEM;
}

static int parse_assignment(const char *path, unsigned line, const char *key, const char *value, UserOverride *e,
                            char *error, size_t error_size) {
        int r;

        if (streq(key, "CPUQuota")) {
                double cores;

                if (isempty(value)) {
                        e->has_cpu = false;
                        return 0;
                }
                if (parse_cpu_quota(value, &cores) < 0)
                        return fail(error, error_size, path, line,
                                    "CPUQuota=%s is not a percentage of one core above 0%% and at most %d%% "
                                    "(e.g. 150%% for 1.5 cores; at most two decimals), or empty",
                                    value, USER_OVERRIDES_CPU_MAX_PCT);
                e->has_cpu = true;
                e->cpu_cores = cores;
                return 0;
        }
        if (streq(key, "MemoryMax")) {
                if (isempty(value)) {
                        e->has_memory = false;
                        return 0;
                }
                if (memory_amount_parse(value, &e->memory) < 0)
                        return fail(error, error_size, path, line,
                                    "MemoryMax=%s is not a memory size: bytes with an optional K, M, G or T "
                                    "(1024-based; e.g. 4G), a percentage of RAM from 1%% to 100%%, infinity, "
                                    "or empty", value);
                e->has_memory = true;
                return 0;
        }
        if (streq(key, "Exempt")) {
                if (isempty(value)) {
                        e->has_exempt = false;
                        return 0;
                }
                r = parse_boolean(value);
                if (r < 0)
                        return fail(error, error_size, path, line, "Exempt=%s is not a boolean (yes/no), or empty",
                                    value);
                e->has_exempt = true;
                e->exempt = r;
                return 0;
        }
        return fail(error, error_size, path, line, "unknown key %s= (expected CPUQuota=, MemoryMax= or Exempt=)",
                    key);
}

int user_overrides_parse(UserOverrides *o, const char *path, const char *data, size_t size, char *error,
                         size_t error_size) {
        UserOverrides parsed = { 0 };
        UserOverride *grown;
        unsigned line = 1;
        int r = 0;

        assert(o);
        assert(path);
        assert(data || size == 0);
        assert(error || error_size == 0);

        if (size > USER_OVERRIDES_FILE_MAX_BYTES) {
                snprintf(error, error_size, "%s: larger than %d bytes", path, USER_OVERRIDES_FILE_MAX_BYTES);
                return -EFBIG;
        }
        for (size_t i = 0; i < size; line++) {
                const char *s = data + i, *eq;
                size_t end = i, n;

                while (end < size && data[end] != '\n')
                        end++;
                n = end - i;
                i = end + 1;
                if (memchr(s, 0, n)) {
                        r = fail(error, error_size, path, line, "line contains a NUL byte");
                        break;
                }
                if (n > USER_OVERRIDES_LINE_MAX) {
                        r = fail(error, error_size, path, line, "line is longer than %d bytes",
                                 USER_OVERRIDES_LINE_MAX);
                        break;
                }
                trim(&s, &n);
                if (n == 0 || s[0] == '#' || s[0] == ';')
                        continue;
                if (s[0] == '[') {
                        UserOverride e;

                        if (s[n - 1] != ']' || n < 2) {
                                r = fail(error, error_size, path, line, "section header without a closing ']'");
                                break;
                        }
                        if (o->n + parsed.n >= USER_OVERRIDES_MAX_ENTRIES) {
                                r = fail(error, error_size, path, line, "more than %d sections in users.d",
                                         USER_OVERRIDES_MAX_ENTRIES);
                                r = -E2BIG;
                                break;
                        }
                        r = parse_section(path, line, s + 1, n - 2, &e, error, error_size);
                        if (r < 0)
                                break;
                        e.file = strdup(path);
                        e.line = line;
                        grown = e.file ? reallocarray(parsed.entries, parsed.n + 1, sizeof(UserOverride)) : NULL;
                        if (!grown) {
                                entry_done(&e);
                                r = -ENOMEM;
                                break;
                        }
                        parsed.entries = grown;
                        parsed.entries[parsed.n++] = e;
                        continue;
                }
                eq = memchr(s, '=', n);
                if (!eq) {
                        r = fail(error, error_size, path, line, "expected KEY=VALUE or a [section]");
                        break;
                }
                if (parsed.n == 0) {
                        r = fail(error, error_size, path, line,
                                 "assignment outside a section (start with [USER], [UID] or [@GROUP])");
                        break;
                }
                {
                        const char *k = s, *v = eq + 1;
                        size_t kn = (size_t) (eq - s), vn = n - kn - 1;
                        char key[USER_OVERRIDES_LINE_MAX + 1], value[USER_OVERRIDES_LINE_MAX + 1];

                        trim(&k, &kn);
                        trim(&v, &vn);
                        memcpy(key, k, kn);
                        key[kn] = 0;
                        memcpy(value, v, vn);
                        value[vn] = 0;
                        r = parse_assignment(path, line, key, value, &parsed.entries[parsed.n - 1], error,
                                             error_size);
                        if (r < 0)
                                break;
                }
        }
        if (r >= 0 && parsed.n > 0) {
                grown = reallocarray(o->entries, o->n + parsed.n, sizeof(UserOverride));
                if (!grown)
                        r = -ENOMEM;
                else {
                        o->entries = grown;
                        memcpy(o->entries + o->n, parsed.entries, parsed.n * sizeof(UserOverride));
                        o->n += parsed.n;
                        free(parsed.entries);
                        return 0;
                }
        }
        user_overrides_done(&parsed);
        return r;
}

static int conf_filter(const struct dirent *de) {
        size_t len = strlen(de->d_name);

        return de->d_name[0] != '.' && len > 5 && streq(de->d_name + len - 5, ".conf");
}

int user_overrides_load_dir(const char *dir, UserOverrides *ret, char *error, size_t error_size) {
        UserOverrides set = { 0 };
        struct dirent **names = NULL;
        int n, r = 0;

        assert(dir);
        assert(ret);
        assert(error || error_size == 0);

        n = scandir(dir, &names, conf_filter, alphasort);
        if (n < 0) {
                if (errno == ENOENT) {
                        *ret = set;
                        return 0;
                }
                r = -errno;
                snprintf(error, error_size, "%s: cannot list: %s", dir, strerror(-r));
                return r;
        }
        if (n > USER_OVERRIDES_MAX_FILES) {
                snprintf(error, error_size, "%s: more than %d files", dir, USER_OVERRIDES_MAX_FILES);
                r = -E2BIG;
        }
        for (int i = 0; r >= 0 && i < n; i++) {
                _cleanup_(freep) char *path = NULL, *data = NULL;
                size_t size;

                if (asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = read_file_bounded(path, USER_OVERRIDES_FILE_MAX_BYTES, &data, &size);
                if (r == -ENOENT) { /* removed while we listed */
                        r = 0;
                        continue;
                }
                if (r < 0) {
                        snprintf(error, error_size, "%s: cannot read: %s%s", path, strerror(-r),
                                 r == -EFBIG ? " (at most 256 KiB)" : "");
                        break;
                }
                r = user_overrides_parse(&set, path, data, size, error, error_size);
        }
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
        if (r < 0) {
                user_overrides_done(&set);
                return r;
        }
        *ret = set;
        return 0;
}

static bool matches(const UserOverride *e, uint32_t uid, const char *name, char *const *groups) {
        switch (e->kind) {
        case USER_OVERRIDE_UID:
                return e->uid == uid;
        case USER_OVERRIDE_NAME:
                return name && streq(e->name, name);
        case USER_OVERRIDE_GROUP:
                return strv_contains(groups, e->name);
        }
        return false;
}

/* The later of two candidates wins among equals: entries are walked in order, so >= keeps the last. */
static void pick(const UserOverride **best, const UserOverride *e) {
        if (!*best || e->kind >= (*best)->kind)
                *best = e;
}

void user_overrides_resolve(const UserOverrides *o, uint32_t uid, const char *name, char *const *groups,
                            UserOverrideResult *ret) {
        UserOverrideResult r = { 0 };

        assert(o);
        assert(ret);

        for (size_t i = 0; i < o->n; i++) {
                const UserOverride *e = &o->entries[i];

                if (!matches(e, uid, name, groups))
                        continue;
                if (e->has_cpu)
                        pick(&r.cpu, e);
                if (e->has_memory)
                        pick(&r.memory, e);
                if (e->has_exempt)
                        pick(&r.exempt, e);
        }
        *ret = r;
}

int user_override_describe(const UserOverride *e, char *buf, size_t size) {
        int n;

        assert(e);

        if (e->kind == USER_OVERRIDE_UID)
                n = snprintf(buf, size, "[%u] (%s:%u)", e->uid, e->file, e->line);
        else
                n = snprintf(buf, size, "[%s%s] (%s:%u)", e->kind == USER_OVERRIDE_GROUP ? "@" : "", e->name,
                             e->file, e->line);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}
