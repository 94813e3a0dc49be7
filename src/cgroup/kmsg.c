/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kmsg.h"
#include "macro.h"

/* ---- (pointer, length) helpers: kmsg text is not NUL-terminated ---- */

static bool has_prefix(const char *s, size_t n, const char *prefix) {
        size_t k = strlen(prefix);

        return n >= k && memcmp(s, prefix, k) == 0;
}

/* The last occurrence of needle in [s, s + n), or NULL. */
static const char *find_last(const char *s, size_t n, const char *needle) {
        size_t k = strlen(needle);

        for (size_t i = n >= k ? n - k + 1 : 0; i > 0; i--)
                if (memcmp(s + i - 1, needle, k) == 0)
                        return s + i - 1;
        return NULL;
}

static const char *find_first(const char *s, const char *end, const char *needle) {
        return s < end ? memmem(s, (size_t) (end - s), needle, strlen(needle)) : NULL;
}

/* Decimal digits only (the kernel prints no sign, space or '+'); all digits are checked before the range, so
 * garbage is -EINVAL however long it is. */
static int parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                unsigned d = (unsigned) (s[i] - '0');

                if (v > (max - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

/* A number printed with %d: a leading '-' allowed, in int32 range. */
static int parse_int32(const char *s, size_t n, int32_t *ret) {
        bool negative = n > 0 && s[0] == '-';
        uint64_t v;
        int r;

        r = parse_decimal(s + negative, n - negative, negative ? UINT64_C(1) << 31 : INT32_MAX, &v);
        if (r < 0)
                return r;
        *ret = negative ? (int32_t) (-(int64_t) v) : (int32_t) v;
        return 0;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* kmsg's escaping undone: it writes bytes below ' ', above '~' and '\' itself as \xNN (printk.c,
 * msg_add_ext_text), so raw bytes outside ' '..'~' and a '\' not starting \xNN are -EINVAL, as is a NUL
 * once unescaped (names and paths are C strings in the kernel). -E2BIG when the result does not fit in
 * out_size - 1 bytes; out is NUL-terminated on success. */
static int unescape(const char *s, size_t n, char *out, size_t out_size) {
        size_t o = 0;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (c < ' ' || c > '~')
                        return -EINVAL;
                if (c == '\\') {
                        int hi, lo;

                        if (n - i < 4 || s[i + 1] != 'x' || (hi = hex_digit(s[i + 2])) < 0 ||
                            (lo = hex_digit(s[i + 3])) < 0)
                                return -EINVAL;
                        c = (char) (hi << 4 | lo);
                        if (c == 0)
                                return -EINVAL;
                        i += 3;
                }
                if (o + 1 >= out_size)
                        return -E2BIG;
                out[o++] = c;
        }
        out[o] = 0;
        return 0;
}

/* ---- records ---- */

/* Header fields after the flags and KEY=VALUE lines: printable, no space (",caller=T12", " DEVICE=+acpi:X"). */
static bool is_word(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] > '~')
                        return false;
        return true;
}

int kmsg_parse_record(const char *data, size_t size, KmsgRecord *ret) {
        KmsgRecord rec = { 0 };
        const char *semi, *p, *end, *field, *text_end;
        uint64_t v;
        int r;

        assert(ret);

        if (!data || size == 0 || size > KMSG_RECORD_MAX || memchr(data, 0, size))
                return -EINVAL;
        semi = memchr(data, ';', size);
        if (!semi)
                return -EINVAL;

        /* PRI,SEQ,TS_USEC,FLAGS[,FIELD]... */
        field = data;
        for (unsigned i = 0; field <= semi; i++) {
                const char *comma = memchr(field, ',', (size_t) (semi - field));
                const char *field_end = comma ? comma : semi;
                size_t n = (size_t) (field_end - field);

                switch (i) {
                case 0:
                        r = parse_decimal(field, n, 2047, &v);
                        if (r < 0)
                                return r == -ERANGE ? -EINVAL : r;
                        rec.priority = (unsigned) v;
                        break;
                case 1:
                case 2:
                        r = parse_decimal(field, n, UINT64_MAX, i == 1 ? &rec.seq : &rec.usec);
                        if (r < 0)
                                return r;
                        break;
                case 3:
                        if (!is_word(field, n))
                                return -EINVAL;
                        rec.continuation = memchr(field, 'c', n);
                        rec.fragment = memchr(field, '+', n);
                        break;
                default:
                        if (!is_word(field, n))
                                return -EINVAL;
                }
                if (!comma) {
                        if (i < 3)
                                return -EINVAL;
                        break;
                }
                field = comma + 1;
        }

        /* The text: escaped by the kernel, so printable ASCII up to the first newline. */
        end = data + size;
        p = semi + 1;
        text_end = memchr(p, '\n', (size_t) (end - p));
        if (!text_end)
                text_end = end;
        for (const char *c = p; c < text_end; c++)
                if (*c < ' ' || *c > '~')
                        return -EINVAL;
        rec.text = p;
        rec.text_size = (size_t) (text_end - p);

        /* " KEY=VALUE" lines, the last newline optional. */
        p = text_end < end ? text_end + 1 : end;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *line_end = nl ? nl : end;
                size_t n = (size_t) (line_end - p);
                const char *eq = memchr(p, '=', n);

                if (n < 2 || p[0] != ' ' || !eq || eq == p + 1)
                        return -EINVAL;
                /* The value is escaped like the text (it may hold spaces); the key is a word. */
                if (!is_word(p + 1, (size_t) (eq - p - 1)))
                        return -EINVAL;
                for (const char *c = eq + 1; c < line_end; c++)
                        if (*c < ' ' || *c > '~')
                                return -EINVAL;
                p = nl ? nl + 1 : end;
        }
        *ret = rec;
        return 0;
}

/* ---- oom-kill: ---- */

static int unescape_path(const char *s, size_t n, char out[static KMSG_CGROUP_PATH_MAX]) {
        int r;

        /* pr_cont_kernfs_path() prints these instead of a path it could not build. */
        if (n == strlen("(name too long)") && memcmp(s, "(name too long)", n) == 0)
                return -ENAMETOOLONG;
        if (n == 0 || s[0] != '/')
                return -EINVAL;
        r = unescape(s, n, out, KMSG_CGROUP_PATH_MAX);
        return r == -E2BIG ? -ENAMETOOLONG : r;
}

/* Escaped path b equals a or lies below it. Escaping maps each byte on its own and leaves '/' alone, so this
 * holds for the unescaped paths exactly when it holds for the escaped ones. */
static bool span_under(const char *a, size_t a_n, const char *b, size_t b_n) {
        if (a_n == 1 && a[0] == '/')
                return true;
        return b_n >= a_n && memcmp(a, b, a_n) == 0 && (b_n == a_n || b[a_n] == '/');
}

#define OOM_KILL_PREFIX "oom-kill:"
/* Longest escaped comm the task= search looks back over: every byte of the largest comm escaped. */
#define COMM_ESCAPED_MAX (4 * (KMSG_COMM_MAX - 1))

int kmsg_parse_oom_kill(const char *text, size_t size, KmsgOomKill *ret) {
        static const char task_key[] = ",task=", task_memcg_key[] = ",task_memcg=",
                          oom_memcg_key[] = ",oom_memcg=";
        const char *end, *p, *constraint_end, *uid, *pid, *task = NULL, *task_memcg = NULL, *oom_memcg, *from;
        KmsgOomKill k;
        uint64_t v;
        int32_t uid_value;
        int r;

        assert(ret);

        if (!text && size > 0)
                return -EINVAL;
        if (!has_prefix(text, size, OOM_KILL_PREFIX))
                return -ENOMSG;
        if (memchr(text, 0, size))
                return -EINVAL;
        end = text + size;
        p = text + strlen(OOM_KILL_PREFIX);
        if (!has_prefix(p, (size_t) (end - p), "constraint="))
                return -EINVAL;
        p += strlen("constraint=");
        constraint_end = memchr(p, ',', (size_t) (end - p));
        if (!constraint_end || constraint_end == p || (size_t) (constraint_end - p) >= sizeof(k.constraint))
                return -EINVAL;
        for (const char *c = p; c < constraint_end; c++)
                if (!((*c >= 'A' && *c <= 'Z') || *c == '_'))
                        return -EINVAL;
        memcpy(k.constraint, p, (size_t) (constraint_end - p));
        k.constraint[constraint_end - p] = 0;

        /* ",task=COMM,pid=N,uid=N" ends the line: only digits follow the last ",uid=" and ",pid=". */
        uid = find_last(constraint_end, (size_t) (end - constraint_end), ",uid=");
        if (!uid)
                return -EINVAL;
        r = parse_int32(uid + 5, (size_t) (end - uid - 5), &uid_value);
        if (r < 0)
                return -EINVAL;
        k.uid = (uint32_t) uid_value;
        pid = find_last(constraint_end, (size_t) (uid - constraint_end), ",pid=");
        if (!pid)
                return -EINVAL;
        r = parse_decimal(pid + 5, (size_t) (uid - pid - 5), INT32_MAX, &v);
        if (r < 0 || v == 0)
                return -EINVAL;
        k.pid = (uint32_t) v;

        /* Anyone can name a task ",task=x": the leftmost ",task=" that leaves a comm short enough is the
         * kernel's, so the comm cannot shift where task_memcg= ends. */
        from = pid - constraint_end > (ptrdiff_t) (COMM_ESCAPED_MAX + strlen(task_key)) ?
                pid - COMM_ESCAPED_MAX - strlen(task_key) : constraint_end;
        for (const char *t = find_first(from, pid, task_key); t; t = find_first(t + 1, pid, task_key)) {
                const char *comm = t + strlen(task_key);

                if (unescape(comm, (size_t) (pid - comm), k.comm, sizeof(k.comm)) >= 0) {
                        task = t;
                        break;
                }
        }
        if (!task)
                return -EINVAL;

        /* ",oom_memcg=PATH" (or ",global_oom") then ",task_memcg=PATH". The victim lives in the memcg that
         * hit its limit or below it, which tells the real ",task_memcg=" from one inside oom_memcg's path. */
        oom_memcg = find_first(constraint_end, task, oom_memcg_key);
        k.has_oom_memcg = oom_memcg;
        from = oom_memcg ? oom_memcg + strlen(oom_memcg_key) : constraint_end;
        for (const char *t = find_first(from, task, task_memcg_key); t;
             t = find_first(t + 1, task, task_memcg_key)) {
                const char *path = t + strlen(task_memcg_key);

                if (!task_memcg)
                        task_memcg = t; /* the fallback: the first */
                if (oom_memcg && span_under(from, (size_t) (t - from), path, (size_t) (task - path))) {
                        task_memcg = t;
                        break;
                }
        }
        if (!task_memcg)
                return -EINVAL;
        if (oom_memcg) {
                r = unescape_path(from, (size_t) (task_memcg - from), k.oom_memcg);
                if (r < 0)
                        return r;
        } else
                k.oom_memcg[0] = 0;
        p = task_memcg + strlen(task_memcg_key);
        r = unescape_path(p, (size_t) (task - p), k.task_memcg);
        if (r < 0)
                return r;
        *ret = k;
        return 0;
}

/* ---- Killed process ---- */

static const struct {
        const char *prefix;
        bool memcg;
} killed_prefixes[] = {
        /* before 5.3: the line after "<message>: Kill process N (comm) score S or sacrifice child" */
        { "Killed process ", false },
        { "Out of memory: Killed process ", false },
        { "Out of memory (oom_kill_allocating_task): Killed process ", false },
        { "Memory cgroup out of memory: Killed process ", true },
};

/* "12kB" */
static int parse_kb(const char *s, size_t n, uint64_t *ret) {
        if (n < 2 || memcmp(s + n - 2, "kB", 2) != 0)
                return -EINVAL;
        return parse_decimal(s, n - 2, UINT64_MAX, ret);
}

/* After "(comm) ": "total-vm:NkB, anon-rss:NkB, file-rss:NkB, shmem-rss:NkB, UID:N pgtables:NkB oom_score_adj:N",
 * items "key:value" separated by ", " or " ". */
static int parse_killed_tail(const char *s, const char *end, KmsgKilledProcess *k) {
        uint64_t pgtables_kb, v;
        bool have[5] = { false };
        const struct {
                const char *key;
                uint64_t *field;
        } kb[ELEMENTSOF(have)] = {
                { "total-vm", &k->total_vm_kb },   { "anon-rss", &k->anon_rss_kb },
                { "file-rss", &k->file_rss_kb },   { "shmem-rss", &k->shmem_rss_kb },
                { "pgtables", &pgtables_kb },
        };
        int r;

        for (;;) {
                const char *sp = memchr(s, ' ', (size_t) (end - s)), *item_end = sp ? sp : end, *colon, *val;
                size_t key_n, val_n;
                bool known = false;
                int32_t adj;

                if (sp && item_end > s && item_end[-1] == ',')
                        item_end--;
                colon = memchr(s, ':', (size_t) (item_end - s));
                if (!colon || colon == s || colon + 1 == item_end)
                        return -EINVAL;
                key_n = (size_t) (colon - s);
                val = colon + 1;
                val_n = (size_t) (item_end - val);
                for (size_t i = 0; i < ELEMENTSOF(kb); i++) {
                        if (key_n != strlen(kb[i].key) || memcmp(s, kb[i].key, key_n) != 0)
                                continue;
                        if (have[i])
                                return -EINVAL;
                        r = parse_kb(val, val_n, kb[i].field);
                        if (r < 0)
                                return r;
                        have[i] = known = true;
                }
                if (!known && key_n == 3 && memcmp(s, "UID", 3) == 0) {
                        if (k->has_uid)
                                return -EINVAL;
                        r = parse_decimal(val, val_n, UINT32_MAX, &v);
                        if (r < 0)
                                return r;
                        k->uid = (uint32_t) v;
                        k->has_uid = true;
                } else if (!known && key_n == 13 && memcmp(s, "oom_score_adj", 13) == 0) {
                        if (k->has_oom_score_adj)
                                return -EINVAL;
                        r = parse_int32(val, val_n, &adj);
                        if (r < 0 || adj < -1000 || adj > 1000)
                                return -EINVAL;
                        k->oom_score_adj = adj;
                        k->has_oom_score_adj = true;
                } /* else a later kernel's key: skipped */
                if (!sp)
                        break;
                s = sp + 1;
                if (s >= end)
                        return -EINVAL; /* a trailing space */
        }
        /* total-vm, anon-rss and file-rss have been there since 3.x; shmem-rss since 4.9 */
        if (!have[0] || !have[1] || !have[2])
                return -EINVAL;
        return 0;
}

int kmsg_parse_killed_process(const char *text, size_t size, KmsgKilledProcess *ret) {
        const char *end, *p = NULL, *open, *close;
        KmsgKilledProcess k = { 0 };
        bool found = false;
        uint64_t v;
        int r;

        assert(ret);

        if (!text && size > 0)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(killed_prefixes); i++)
                if (has_prefix(text, size, killed_prefixes[i].prefix)) {
                        p = text + strlen(killed_prefixes[i].prefix);
                        k.memcg = killed_prefixes[i].memcg;
                        found = true;
                        break;
                }
        if (!found)
                return -ENOMSG;
        if (memchr(text, 0, size))
                return -EINVAL;
        end = text + size;

        /* "N (comm) total-vm:..." where comm may hold ") total-vm:" itself: only numbers follow the last. */
        open = find_first(p, end, " (");
        if (!open)
                return -EINVAL;
        r = parse_decimal(p, (size_t) (open - p), INT32_MAX, &v);
        if (r < 0 || v == 0)
                return -EINVAL;
        k.pid = (uint32_t) v;
        p = open + 2;
        close = find_last(p, (size_t) (end - p), ") total-vm:");
        if (!close)
                return -EINVAL;
        r = unescape(p, (size_t) (close - p), k.comm, sizeof(k.comm));
        if (r < 0)
                return -EINVAL;
        r = parse_killed_tail(close + 2, end, &k);
        if (r < 0)
                return -EINVAL; /* a number too large, too: the line is broken either way */
        *ret = k;
        return 0;
}

/* ---- memcg paths ---- */

bool kmsg_memcg_under(const char *kmsg_path, const char *path) {
        size_t n, k;

        if (!kmsg_path || !path)
                return false;
        n = strlen(path);
        while (n > 0 && path[n - 1] == '/')
                n--;
        if (n == 0)
                return kmsg_path[0] == '/';
        k = strlen(kmsg_path);
        for (const char *m = memmem(kmsg_path, k, path, n); m;
             m = memmem(m + 1, k - (size_t) (m + 1 - kmsg_path), path, n)) {
                size_t i = (size_t) (m - kmsg_path);

                if (m[n] != 0 && m[n] != '/')
                        continue;
                if (i == 0 || path[0] == '/' || kmsg_path[i - 1] == '/')
                        return true;
        }
        return false;
}
