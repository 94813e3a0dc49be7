/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "unit-name.h"

const char *const unit_name_always_protected[] = {
        "-.slice", "system.slice", "user.slice", "machine.slice", "init.scope", NULL,
};

bool unit_name_is_systemds_own(const char *unit) {
        for (size_t i = 0; unit && unit_name_always_protected[i]; i++)
                if (streq(unit, unit_name_always_protected[i]))
                        return true;
        return false;
}

static bool valid_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
               c == '.';
}

/* Whether a group name's byte stays as it is in the unit name (else it becomes \xNN), as systemd-escape does. */
static bool kept(const char *name, const char *c) {
        return valid_char(*c) && !(c == name && *c == '.');
}

char *unit_name_escape(const char *name) {
        size_t len = strlen(name);
        char *out = malloc(len * 4 + 1), *o = out;

        assert(name);

        if (!out)
                return NULL;
        for (const char *c = name; *c; c++) {
                if (kept(name, c))
                        *o++ = *c;
                else
                        o += sprintf(o, "\\x%02x", (unsigned) (unsigned char) *c);
        }
        *o = 0;
        return out;
}

static size_t escaped_length(const char *name, size_t n) {
        size_t len = 0;

        for (const char *c = name; c < name + n; c++)
                len += kept(name, c) ? 1 : 4;
        return len;
}

size_t unit_name_length_from_path(const char *root, const char *path) {
        size_t len = isempty(root) ? 0 : strlen(root);

        assert(path);

        for (const char *p = path;;) {
                size_t n = strcspn(p, "/");

                if (n == 0)
                        return 0;
                len += (len > 0) + escaped_length(p, n);
                p += n;
                if (*p == 0)
                        break;
                p++;
        }
        return len + strlen(".slice");
}

size_t unit_name_scope_cgroup_path_length(const char *slice) {
        size_t len = strlen(slice), stem_len = len > 6 ? len - 6 : 0, total = 0;

        assert(slice);

        /* One "/<prefix>.slice" per dash-separated prefix of the stem, then "/<stem>.scope". */
        for (size_t i = 1; i <= stem_len; i++)
                if (i == stem_len || slice[i] == '-')
                        total += 1 + i + 6;
        return total + 1 + len;
}

int unit_name_from_path(const char *root, const char *path, char **ret) {
        size_t cap = (root ? strlen(root) : 0) + strlen(path) * 4 + sizeof("-.slice") + 1, len = 0;
        _cleanup_(freep) char *out = malloc(cap);
        const char *p = path;

        assert(path);
        assert(ret);

        if (!out)
                return -ENOMEM;
        out[0] = 0;
        if (!isempty(root))
                len = (size_t) snprintf(out, cap, "%s", root);
        for (;;) {
                size_t n = strcspn(p, "/");
                _cleanup_(freep) char *component = strndup(p, n), *escaped = NULL;

                if (!component)
                        return -ENOMEM;
                if (n == 0)
                        return -EINVAL;
                escaped = unit_name_escape(component);
                if (!escaped)
                        return -ENOMEM;
                len += (size_t) snprintf(out + len, cap - len, "%s%s", len > 0 ? "-" : "", escaped);
                p += n;
                if (*p == 0)
                        break;
                p++;
        }
        len += (size_t) snprintf(out + len, cap - len, ".slice");
        if (len > UNIT_NAME_MAX)
                return -ENAMETOOLONG;
        *ret = TAKE_PTR(out);
        return 0;
}

bool unit_name_root_is_valid(const char *root) {
        bool part_empty = true;

        if (isempty(root) || strlen(root) > 128)
                return false;
        for (const char *c = root; *c; c++) {
                if (*c == '-') {
                        if (part_empty)
                                return false;
                        part_empty = true;
                } else if (valid_char(*c))
                        part_empty = false;
                else
                        return false;
        }
        return !part_empty;
}

int unit_name_normalize_root(const char *root, char **ret) {
        _cleanup_(freep) char *r = NULL;
        size_t len;

        assert(ret);

        if (isempty(root)) {
                *ret = NULL;
                return 0;
        }
        r = strdup(root);
        if (!r)
                return -ENOMEM;
        len = strlen(r);
        if (len > 6 && streq(r + len - 6, ".slice"))
                r[len - 6] = 0;
        if (!unit_name_root_is_valid(r))
                return -EINVAL;
        *ret = TAKE_PTR(r);
        return 0;
}

int unit_name_slice_cgroup_path(const char *slice, char **ret) {
        size_t len = strlen(slice), stem_len, cap, o = 0;
        _cleanup_(freep) char *out = NULL;

        assert(slice);
        assert(ret);

        if (len <= 6 || !streq(slice + len - 6, ".slice") || slice[0] == '-')
                return -EINVAL;
        stem_len = len - 6;
        cap = (stem_len + 7) * (stem_len + 1) / 2 + stem_len * 8 + 2;
        out = malloc(cap);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i <= stem_len; i++)
                if (i == stem_len || slice[i] == '-') {
                        if (i == 0 || slice[i - 1] == '-')
                                return -EINVAL;
                        o += (size_t) snprintf(out + o, cap - o, "/%.*s.slice", (int) i, slice);
                }
        *ret = TAKE_PTR(out);
        return 0;
}

int unit_name_group_scope(const char *slice, char **ret) {
        size_t len = strlen(slice);
        char *s;

        assert(slice);
        assert(ret);

        if (len <= 6 || !streq(slice + len - 6, ".slice"))
                return -EINVAL;
        if (asprintf(&s, "%.*s.scope", (int) (len - 6), slice) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}
