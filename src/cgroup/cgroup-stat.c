/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-stat.h"
#include "fileio.h"
#include "macro.h"
#include "parse-util.h"

static const char *const controller_v1_names[_CG_CONTROLLER_MAX] = {
        [CG_CPU] = "cpu",
        [CG_CPUACCT] = "cpuacct",
        [CG_MEMORY] = "memory",
        [CG_IO] = "blkio",
        [CG_PIDS] = "pids",
};

const char *cg_controller_v1_name(CgController c) {
        if ((unsigned) c >= _CG_CONTROLLER_MAX)
                return NULL;
        return controller_v1_names[c];
}

/* ---- small helpers on (pointer, length) tokens: the inputs are file bytes, not C strings ---- */

static bool token_eq(const char *s, size_t n, const char *lit) {
        return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Strictly decimal, no sign or space; the digit check comes first so an embedded NUL or '+' is -EINVAL
 * and safe_atou64() only has to judge the range. Leading zeros are dropped before the length check: only
 * the value decides -ERANGE, however many digits spell it. */
static int parse_u64_token(const char *s, size_t n, uint64_t *ret) {
        char buf[32];

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        while (n > 1 && s[0] == '0') {
                s++;
                n--;
        }
        if (n >= sizeof(buf)) /* UINT64_MAX has 20 digits */
                return -ERANGE;
        memcpy(buf, s, n);
        buf[n] = 0;
        return safe_atou64(buf, ret);
}

/* "MAJ:MIN" */
static int parse_devnum_token(const char *s, size_t n, unsigned *ret_major, unsigned *ret_minor) {
        const char *colon = memchr(s, ':', n);
        uint64_t major, minor;
        int r;

        if (!colon)
                return -EINVAL;
        r = parse_u64_token(s, (size_t) (colon - s), &major);
        if (r < 0)
                return r;
        r = parse_u64_token(colon + 1, n - (size_t) (colon - s) - 1, &minor);
        if (r < 0)
                return r;
        if (major > UINT_MAX || minor > UINT_MAX)
                return -ERANGE;
        *ret_major = (unsigned) major;
        *ret_minor = (unsigned) minor;
        return 0;
}

/* Hands out the lines of data one by one. A final '\n' ends the last line rather than starting an empty
 * one, so "a\nb" and "a\nb\n" read the same; any other empty line is handed out (and refused by the
 * callers). Returns 1 with a line, 0 at the end. */
static int next_line(const char **p, const char *end, const char **ret_line, size_t *ret_len) {
        const char *nl;

        if (*p >= end)
                return 0;
        nl = memchr(*p, '\n', (size_t) (end - *p));
        *ret_line = *p;
        *ret_len = nl ? (size_t) (nl - *p) : (size_t) (end - *p);
        *p = nl ? nl + 1 : end;
        return 1;
}

/* Hands out the space-separated tokens of a line; runs of spaces count as one separator (io.stat has
 * "8:0 " lines and double spaces when a policy appends keys to a device without counters). Tabs and other
 * bytes are left in the tokens for the callers to refuse. Returns 1 with a token, 0 at the end. */
static int next_token(const char *line, size_t len, size_t *pos, const char **ret_tok, size_t *ret_n) {
        size_t i = *pos, start;

        while (i < len && line[i] == ' ')
                i++;
        if (i >= len) {
                *pos = len;
                return 0;
        }
        start = i;
        while (i < len && line[i] != ' ')
                i++;
        *ret_tok = line + start;
        *ret_n = i - start;
        *pos = i;
        return 1;
}

/* Text files from cgroupfs and procfs never hold NUL bytes; refusing them once keeps token comparisons
 * honest (a key with a NUL in it is garbage, not an unknown key). */
static int check_text(const char *data, size_t size) {
        if (!data && size > 0)
                return -EINVAL;
        if (size > 0 && memchr(data, 0, size))
                return -EINVAL;
        return 0;
}

/* A one-line file: checked as text, its newline (if any) not part of *size. */
static int check_line(const char *data, size_t *size) {
        int r = check_text(data, *size);

        if (r >= 0 && *size > 0 && data[*size - 1] == '\n')
                (*size)--;
        return r;
}

/* ---- layout ---- */

/* mountinfo escapes ' ', '\t', '\n' and '\\' in paths as a backslash and three octal digits. */
static char *unescape_mount_path(const char *s, size_t n) {
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && n - i >= 4 && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
                    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
                        *o++ = (char) ((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS
 * [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS", finding the " - " separator rather than counting fields,
 * since the optional fields vary in number. Returns 1 for a cgroup or cgroup2 mount, 0 otherwise. */
static int mountinfo_split(const char *line, size_t len, const char **ret_mp, size_t *ret_mp_n,
                           bool *ret_v2, const char **ret_opts, size_t *ret_opts_n) {
        const char *dash = NULL, *tok = NULL, *mp = NULL, *fstype = NULL, *opts = NULL, *after;
        size_t pos = 0, n = 0, mp_n = 0, fstype_n = 0, opts_n = 0, before, after_n;

        for (size_t i = 0; i + 3 <= len; i++)
                if (memcmp(line + i, " - ", 3) == 0) {
                        dash = line + i;
                        break;
                }
        if (!dash)
                return 0;
        before = (size_t) (dash - line);
        for (unsigned field = 0; field < 5 && next_token(line, before, &pos, &tok, &n); field++)
                if (field == 4) {
                        mp = tok;
                        mp_n = n;
                }
        if (!mp)
                return 0;

        pos = 0;
        after = dash + 3;
        after_n = len - before - 3;
        for (unsigned field = 0; field < 3 && next_token(after, after_n, &pos, &tok, &n); field++) {
                if (field == 0) {
                        fstype = tok;
                        fstype_n = n;
                } else if (field == 2) {
                        opts = tok;
                        opts_n = n;
                }
        }
        if (!fstype)
                return 0;
        if (token_eq(fstype, fstype_n, "cgroup2"))
                *ret_v2 = true;
        else if (token_eq(fstype, fstype_n, "cgroup") && opts)
                *ret_v2 = false;
        else
                return 0;
        *ret_mp = mp;
        *ret_mp_n = mp_n;
        *ret_opts = opts;
        *ret_opts_n = opts_n;
        return 1;
}

/* A hierarchy with controllers (a v1 one whose super options name no "name=" hierarchy, or cgroup2), once. */
static int layout_add_hierarchy(CgroupLayout *l, const char *mp, size_t mp_n, bool v2, const char *opts,
                                size_t opts_n) {
        _cleanup_(freep) char *path = NULL;

        for (size_t i = 0; !v2 && i < opts_n;) {
                const char *comma = memchr(opts + i, ',', opts_n - i);
                size_t wn = comma ? (size_t) (comma - (opts + i)) : opts_n - i;

                if (wn >= 5 && memcmp(opts + i, "name=", 5) == 0)
                        return 0;
                i += wn + 1;
        }
        if (l->n_hierarchies >= CG_HIERARCHIES_MAX)
                return 0;
        path = unescape_mount_path(mp, mp_n);
        if (!path)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_hierarchies; i++)
                if (streq(l->hierarchies[i], path))
                        return 0;
        l->hierarchies[l->n_hierarchies++] = TAKE_PTR(path);
        return 0;
}

int cgroup_layout_from_mountinfo(const char *mountinfo, CgroupLayout *ret) {
        _cleanup_(cgroup_layout_done) CgroupLayout l = { 0 };
        const char *p, *end, *line;
        size_t len;
        bool found = false;
        int r;

        if (!mountinfo || !ret)
                return -EINVAL;
        p = mountinfo;
        end = mountinfo + strlen(mountinfo);
        while (next_line(&p, end, &line, &len)) {
                const char *mp, *opts;
                size_t mp_n, opts_n;
                bool v2;

                if (mountinfo_split(line, len, &mp, &mp_n, &v2, &opts, &opts_n) <= 0)
                        continue;
                found = true;
                r = layout_add_hierarchy(&l, mp, mp_n, v2, opts, opts_n);
                if (r < 0)
                        return r;
                if (v2) {
                        if (!l.unified) {
                                l.unified = unescape_mount_path(mp, mp_n);
                                if (!l.unified)
                                        return -ENOMEM;
                        }
                        continue;
                }
                /* Super options are exact comma-separated words: "cpu" must not match "cpuacct" or
                 * "cpuset", and "name=systemd" names no controller. */
                for (size_t i = 0; i < opts_n;) {
                        const char *comma = memchr(opts + i, ',', opts_n - i);
                        size_t wn = comma ? (size_t) (comma - (opts + i)) : opts_n - i;

                        if (!l.named_systemd && token_eq(opts + i, wn, "name=systemd")) {
                                l.named_systemd = unescape_mount_path(mp, mp_n);
                                if (!l.named_systemd)
                                        return -ENOMEM;
                        }

                        for (CgController c = 0; c < _CG_CONTROLLER_MAX; c++) {
                                if (l.v1[c] || !token_eq(opts + i, wn, controller_v1_names[c]))
                                        continue;
                                l.v1[c] = unescape_mount_path(mp, mp_n);
                                if (!l.v1[c])
                                        return -ENOMEM;
                        }
                        i += wn + 1;
                }
        }
        if (!found)
                return -ENOENT;
        *ret = l;
        l = (CgroupLayout) { 0 };
        return 0;
}

void cgroup_layout_done(CgroupLayout *l) {
        if (!l)
                return;
        for (size_t i = 0; i < ELEMENTSOF(l->v1); i++) {
                free(l->v1[i]);
                l->v1[i] = NULL;
        }
        free(l->unified);
        l->unified = NULL;
        free(l->named_systemd);
        l->named_systemd = NULL;
        for (size_t i = 0; i < l->n_hierarchies; i++)
                free(l->hierarchies[i]);
        l->n_hierarchies = 0;
}

const char *cgroup_layout_systemd_hierarchy(const CgroupLayout *l) {
        assert(l);

        return l->named_systemd ? l->named_systemd : l->unified;
}

int cgroup_layout_load(CgroupLayout *ret) {
        _cleanup_(freep) char *data = NULL;
        int r;

        r = read_file_bounded("/proc/self/mountinfo", 1024 * 1024, &data, NULL);
        if (r < 0)
                return r;
        return cgroup_layout_from_mountinfo(data, ret);
}

/* ---- single numbers ---- */

int cg_parse_u64(const char *data, size_t size, uint64_t *ret) {
        int r;

        assert(ret);

        r = check_line(data, &size);
        if (r < 0)
                return r;
        if (size == 0)
                return -EINVAL;
        if (token_eq(data, size, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_u64_token(data, size, ret);
}

/* ---- CPU caps ---- */

int cg_parse_cfs_quota(const char *data, size_t size, uint64_t *ret) {
        int r;

        assert(ret);

        r = check_line(data, &size);
        if (r < 0)
                return r;
        if (token_eq(data, size, "-1")) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_u64_token(data, size, ret);
}

int cg_parse_cpu_max(const char *data, size_t size, uint64_t *ret_quota, uint64_t *ret_period) {
        const char *sp;
        uint64_t quota, period;
        int r;

        assert(ret_quota);
        assert(ret_period);

        r = check_line(data, &size);
        if (r < 0)
                return r;
        sp = memchr(data, ' ', size);
        if (!sp)
                return -EINVAL;
        if (token_eq(data, sp - data, "max"))
                quota = UINT64_MAX;
        else {
                r = parse_u64_token(data, sp - data, &quota);
                if (r < 0)
                        return r;
        }
        r = parse_u64_token(sp + 1, size - (sp + 1 - data), &period);
        if (r < 0)
                return r;
        if (period == 0)
                return -EINVAL;
        *ret_quota = quota;
        *ret_period = period;
        return 0;
}

uint64_t cg_quota_per_sec(uint64_t quota, uint64_t period) {
        if (quota == UINT64_MAX || period == 0)
                return UINT64_MAX;
        /* usec of CPU per second of wall time, rounded; above any real cap it saturates short of "max" */
        if (quota > (UINT64_MAX - 1) / 1000000 - period)
                return UINT64_MAX - 2;
        return (quota * 1000000 + period / 2) / period;
}

/* ---- "key number" files: cpu.stat, memory.events, memory.oom_control ---- */

typedef struct KeyedField {
        const char *key;
        uint64_t *value;
        bool *have;
} KeyedField;

/* Files of "key number" lines: each known key's value into its field (a key twice is -EINVAL), unknown keys
 * checked and skipped. A line of any other shape means this is not such a file. */
static int parse_keyed(const char *data, size_t size, const KeyedField *fields, size_t n_fields) {
        const char *p, *end, *line;
        size_t len;
        int r;

        r = check_text(data, size);
        if (r < 0)
                return r;
        if (size == 0)
                return -EINVAL;
        p = data;
        end = data + size;
        while (next_line(&p, end, &line, &len)) {
                const char *key, *val, *extra;
                size_t pos = 0, key_n, val_n, extra_n;
                uint64_t v;

                if (!next_token(line, len, &pos, &key, &key_n) ||
                    !next_token(line, len, &pos, &val, &val_n) ||
                    next_token(line, len, &pos, &extra, &extra_n))
                        return -EINVAL;
                r = parse_u64_token(val, val_n, &v);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_fields; i++) {
                        if (!token_eq(key, key_n, fields[i].key))
                                continue;
                        if (*fields[i].have)
                                return -EINVAL;
                        *fields[i].value = v;
                        *fields[i].have = true;
                }
        }
        return 0;
}

int cg_parse_cpu_stat_usage_usec(const char *data, size_t size, uint64_t *ret) {
        uint64_t usage = 0;
        bool have = false;
        const KeyedField fields[] = { { "usage_usec", &usage, &have } };
        int r;

        assert(ret);

        r = parse_keyed(data, size, fields, ELEMENTSOF(fields));
        if (r < 0)
                return r;
        if (!have)
                return -ENODATA;
        *ret = usage;
        return 0;
}

int cg_parse_memory_events(const char *data, size_t size, CgMemoryEvents *ret) {
        CgMemoryEvents e = { 0 };
        bool have[6] = { false };
        const KeyedField fields[] = {
                { "low", &e.low, &have[0] },
                { "high", &e.high, &have[1] },
                { "max", &e.max, &have[2] },
                { "oom", &e.oom, &have[3] },
                { "oom_kill", &e.oom_kill, &have[4] },
                { "oom_group_kill", &e.oom_group_kill, &e.has_oom_group_kill },
        };
        int r;

        assert(ret);

        r = parse_keyed(data, size, fields, ELEMENTSOF(fields));
        if (r < 0)
                return r;
        if (!have[4])
                return -ENODATA;
        *ret = e;
        return 0;
}

int cg_parse_oom_control(const char *data, size_t size, CgOomControl *ret) {
        uint64_t disable = 0, under = 0;
        bool have_disable = false, have_under = false;
        CgOomControl c = { 0 };
        const KeyedField fields[] = {
                { "oom_kill_disable", &disable, &have_disable },
                { "under_oom", &under, &have_under },
                { "oom_kill", &c.oom_kill, &c.has_oom_kill },
        };
        int r;

        assert(ret);

        r = parse_keyed(data, size, fields, ELEMENTSOF(fields));
        if (r < 0)
                return r;
        /* Both have been there since v1 memcg's OOM control began (2.6.34), and are flags. */
        if (!have_disable || !have_under || disable > 1 || under > 1)
                return -EINVAL;
        c.oom_kill_disable = disable;
        c.under_oom = under;
        *ret = c;
        return 0;
}

/* ---- io.stat and blkio.* ---- */

/* The device's entry, added when missing; NULL when the table is full (the caller drops the device). */
static CgIoDevice *io_device(CgIoStats *io, unsigned major, unsigned minor) {
        for (size_t i = 0; i < io->n; i++)
                if (io->dev[i].major == major && io->dev[i].minor == minor)
                        return &io->dev[i];
        if (io->n >= CG_IO_DEVICES_MAX)
                return NULL;
        io->dev[io->n] = (CgIoDevice) { .major = major, .minor = minor };
        return &io->dev[io->n++];
}

/* Copies the devices in use only: a CgIoStats is 2.5 KiB, of which a slice uses one or two entries. */
static void io_stats_copy(CgIoStats *dst, const CgIoStats *src) {
        dst->n = src->n;
        memcpy(dst->dev, src->dev, src->n * sizeof(CgIoDevice));
}

int cg_parse_io_stat(const char *data, size_t size, CgIoStats *ret) {
        const char *p, *end, *line;
        size_t len;
        CgIoStats io;
        int r;

        assert(ret);

        io.n = 0; /* io_device() fills each entry it hands out */
        r = check_text(data, size);
        if (r < 0)
                return r;
        if (size == 0) {
                /* No I/O on any device yet. */
                ret->n = 0;
                return 0;
        }
        p = data;
        end = data + size;
        while (next_line(&p, end, &line, &len)) {
                CgIoDevice dropped, *d = NULL;
                const char *tok;
                size_t pos = 0, n;

                while (next_token(line, len, &pos, &tok, &n)) {
                        const char *eq = memchr(tok, '=', n);
                        unsigned major, minor;
                        uint64_t *field = NULL, v;
                        size_t key_n;

                        if (!eq) {
                                /* A device number starts a device. Mid-line, too: kernels between
                                 * "blk-cgroup: stop using seq_get_buf" (5.15) and its fix left "8:0 "
                                 * unterminated for a device without counters, gluing it to the next. */
                                r = parse_devnum_token(tok, n, &major, &minor);
                                if (r < 0)
                                        return -EINVAL;
                                d = io_device(&io, major, minor);
                                if (!d) {
                                        dropped = (CgIoDevice) { .major = major, .minor = minor };
                                        d = &dropped;
                                }
                                continue;
                        }
                        key_n = (size_t) (eq - tok);
                        if (!d || key_n == 0 || key_n + 1 == n)
                                return -EINVAL;
                        if (token_eq(tok, key_n, "rbytes"))
                                field = &d->read_bytes;
                        else if (token_eq(tok, key_n, "wbytes"))
                                field = &d->write_bytes;
                        else if (token_eq(tok, key_n, "rios"))
                                field = &d->read_ios;
                        else if (token_eq(tok, key_n, "wios"))
                                field = &d->write_ios;
                        if (!field)
                                continue; /* dbytes, dios, cost.vrate=100.00, use_delay, ... */
                        r = parse_u64_token(eq + 1, n - key_n - 1, &v);
                        if (r < 0)
                                return r;
                        *field = v;
                }
                if (!d)
                        return -EINVAL; /* an empty or blank line */
        }
        io_stats_copy(ret, &io);
        return 0;
}

int cg_parse_blkio(const char *data, size_t size, bool ops, CgIoStats *io) {
        const char *p, *end, *line;
        size_t len;
        CgIoStats merged;
        bool have_total = false;
        int r;

        if (!io)
                return -EINVAL;
        r = check_text(data, size);
        if (r < 0)
                return r;
        /* The kernel always ends these files with "Total N", even with no devices. */
        if (size == 0)
                return -EINVAL;
        if (io->n > CG_IO_DEVICES_MAX)
                return -EINVAL;
        io_stats_copy(&merged, io);
        p = data;
        end = data + size;
        while (next_line(&p, end, &line, &len)) {
                const char *tok[4];
                size_t n[4], pos = 0, k = 0;
                unsigned major, minor;
                uint64_t v;
                CgIoDevice *d;

                while (k < ELEMENTSOF(tok) && next_token(line, len, &pos, &tok[k], &n[k]))
                        k++;
                if (have_total)
                        return -EINVAL; /* nothing follows the Total line */
                if (k == 2 && token_eq(tok[0], n[0], "Total")) {
                        r = parse_u64_token(tok[1], n[1], &v);
                        if (r < 0)
                                return r;
                        have_total = true;
                        continue;
                }
                if (k != 3)
                        return -EINVAL;
                r = parse_devnum_token(tok[0], n[0], &major, &minor);
                if (r < 0)
                        return -EINVAL;
                r = parse_u64_token(tok[2], n[2], &v);
                if (r < 0)
                        return r;
                /* Sync, Async, Discard and Total are sums of the same I/O; anything else is skipped too. */
                if (!token_eq(tok[1], n[1], "Read") && !token_eq(tok[1], n[1], "Write"))
                        continue;
                d = io_device(&merged, major, minor);
                if (!d)
                        continue;
                if (token_eq(tok[1], n[1], "Read"))
                        *(ops ? &d->read_ios : &d->read_bytes) = v;
                else
                        *(ops ? &d->write_ios : &d->write_bytes) = v;
        }
        io_stats_copy(io, &merged);
        return 0;
}

/* ---- pressure ---- */

/* avg10=0.00: digits, a dot, digits. */
static bool is_decimal_token(const char *s, size_t n) {
        size_t i = 0, int_n, frac_n;

        while (i < n && s[i] >= '0' && s[i] <= '9')
                i++;
        int_n = i;
        if (int_n == 0 || i >= n || s[i] != '.')
                return false;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
                i++;
        frac_n = i - int_n - 1;
        return frac_n > 0 && i == n;
}

int cg_parse_pressure(const char *data, size_t size, CgPressure *ret) {
        const char *p, *end, *line;
        size_t len;
        CgPressure pr = { 0 };
        int r;

        assert(ret);

        r = check_text(data, size);
        if (r < 0)
                return r;
        if (size == 0)
                return -EINVAL;
        p = data;
        end = data + size;
        while (next_line(&p, end, &line, &len)) {
                const char *tok;
                size_t pos = 0, n;
                bool *have, have_value = false;
                uint64_t *total;

                if (!next_token(line, len, &pos, &tok, &n))
                        return -EINVAL;
                if (token_eq(tok, n, "some")) {
                        have = &pr.have_some;
                        total = &pr.some_total_usec;
                } else if (token_eq(tok, n, "full")) {
                        have = &pr.have_full;
                        total = &pr.full_total_usec;
                } else
                        return -EINVAL;
                if (*have)
                        return -EINVAL;

                while (next_token(line, len, &pos, &tok, &n)) {
                        const char *eq = memchr(tok, '=', n);
                        size_t key_n;

                        if (!eq || eq == tok)
                                return -EINVAL;
                        key_n = (size_t) (eq - tok);
                        if (token_eq(tok, key_n, "total")) {
                                if (have_value)
                                        return -EINVAL;
                                r = parse_u64_token(eq + 1, n - key_n - 1, total);
                                if (r < 0)
                                        return r;
                                have_value = true;
                        } else if (token_eq(tok, key_n, "avg10") || token_eq(tok, key_n, "avg60") ||
                                   token_eq(tok, key_n, "avg300")) {
                                if (!is_decimal_token(eq + 1, n - key_n - 1))
                                        return -EINVAL;
                        }
                }
                if (!have_value)
                        return -EINVAL;
                *have = true;
        }
        if (!pr.have_some)
                return -EINVAL;
        *ret = pr;
        return 0;
}

/* ---- cgroup.controllers, /proc/diskstats ---- */

int cg_parse_controllers_has(const char *data, size_t size, const char *name) {
        const char *p, *end, *line;
        size_t len;
        bool found = false;
        int r;

        r = check_text(data, size);
        if (r < 0)
                return r;
        if (!name)
                return -EINVAL;
        if (size == 0)
                return 0;
        p = data;
        end = data + size;
        if (next_line(&p, end, &line, &len)) {
                const char *tok;
                size_t pos = 0, n;

                while (next_token(line, len, &pos, &tok, &n))
                        found = found || token_eq(tok, n, name);
        }
        if (p < end)
                return -EINVAL; /* one line only */
        return found;
}

#define DISKSTATS_COUNTERS_MIN 11
#define DISKSTATS_COUNTERS_MAX 32 /* Linux 6.x writes 17; room for more, but not for garbage */

/* One line: 1 with *ret filled when the device has completed I/O, 0 when it has none. */
static int diskstats_line(const char *line, size_t len, CgDisk *ret) {
        const char *tok, *name = NULL;
        size_t pos = 0, n, name_n = 0, k = 0;
        uint64_t v, devnum[2] = { 0, 0 }, reads = 0, writes = 0;
        int r;

        while (next_token(line, len, &pos, &tok, &n)) {
                if (k == 2) {
                        if (n >= CG_DISK_NAME_MAX)
                                return -EINVAL;
                        /* Drivers name disks in printable ASCII; anything else would also be dropped from
                         * the JSON of `status` (jansson refuses invalid UTF-8), so it is garbage here. */
                        for (size_t i = 0; i < n; i++)
                                if ((unsigned char) tok[i] <= ' ' || (unsigned char) tok[i] >= 0x7f)
                                        return -EINVAL;
                        name = tok;
                        name_n = n;
                } else {
                        if (k >= 3 + DISKSTATS_COUNTERS_MAX)
                                return -EINVAL;
                        r = parse_u64_token(tok, n, &v);
                        if (r < 0)
                                return r;
                        if (k < 2)
                                devnum[k] = v;
                        else if (k == 3)
                                reads = v; /* reads completed */
                        else if (k == 7)
                                writes = v; /* writes completed */
                }
                k++;
        }
        if (k < 3 + DISKSTATS_COUNTERS_MIN)
                return -EINVAL;
        if (devnum[0] > UINT_MAX || devnum[1] > UINT_MAX)
                return -ERANGE;
        if (reads == 0 && writes == 0)
                return 0;
        *ret = (CgDisk) { .major = (unsigned) devnum[0], .minor = (unsigned) devnum[1],
                          .ios = reads > UINT64_MAX - writes ? UINT64_MAX : reads + writes };
        memcpy(ret->name, name, name_n);
        ret->name[name_n] = 0;
        return 1;
}

int cg_parse_diskstats(const char *data, size_t size, CgDiskStats *ret) {
        const char *p, *end, *line;
        size_t len, n = 0, left_out = 0, skipped = 0;
        CgDisk d;
        int r;

        if (!ret)
                return -EINVAL;
        r = check_text(data, size);
        if (r < 0)
                return r;
        /* One odd line (a longer name or more counters than this kernel generation writes) must not hide
         * every other device: it is skipped and counted. */
        if (size == 0) { /* an empty file may come as NULL: no NULL + 0 */
                ret->n = ret->n_left_out = ret->n_skipped = 0;
                return 0;
        }
        end = data + size;
        for (p = data; next_line(&p, end, &line, &len);) {
                r = diskstats_line(line, len, &d);
                if (r < 0)
                        skipped++;
                else if (r > 0) {
                        if (n < CG_DISKS_MAX)
                                ret->disk[n++] = d;
                        else
                                left_out++;
                }
        }
        ret->n = n;
        ret->n_left_out = left_out;
        ret->n_skipped = skipped;
        return 0;
}

int cg_parse_proc_cgroup(const char *data, size_t size, const char *controller, char *ret, size_t ret_size) {
        const char *p = data, *end = data + size, *found = NULL;
        size_t found_len = 0;

        if (!data || memchr(data, '\0', size))
                return -EINVAL;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *line_end = nl ? nl : end;
                const char *c1 = memchr(p, ':', (size_t) (line_end - p)), *c2, *path;
                bool match;

                if (!c1 || !(c2 = memchr(c1 + 1, ':', (size_t) (line_end - c1 - 1))))
                        return -EINVAL;
                path = c2 + 1;
                if (path >= line_end || *path != '/')
                        return -EINVAL;
                if (!controller)
                        match = c1 - p == 1 && p[0] == '0' && c2 == c1 + 1;
                else {
                        size_t n = strlen(controller);

                        match = false;
                        for (const char *w = c1 + 1; w < c2 && !match;) {
                                const char *comma = memchr(w, ',', (size_t) (c2 - w)), *w_end = comma ? comma : c2;

                                match = (size_t) (w_end - w) == n && memcmp(w, controller, n) == 0;
                                w = w_end + 1;
                        }
                }
                if (match && !found) {
                        found = path;
                        found_len = (size_t) (line_end - path);
                }
                p = line_end + 1;
        }
        if (!found)
                return -ENODATA;
        if (found_len >= ret_size)
                return -ENAMETOOLONG;
        memcpy(ret, found, found_len);
        ret[found_len] = '\0';
        return 0;
}
