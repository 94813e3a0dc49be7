/* SPDX-License-Identifier: MIT */
/* The /dev/kmsg parsers (src/cgroup/kmsg.c), two ways on every input. Raw: the input as a record and as a
 * record's text, where each parser answers with one of its documented codes, touches its output only on
 * success, and on success gives NUL-terminated fields that look like what they are. Built: the input read as
 * choices for a record, an oom-kill summary and a Killed process line written the kernel's way (printf formats
 * of printk.c and mm/oom_kill.c, kmsg's \xNN escaping), which must read back exactly: any comm of up to 15
 * bytes (anyone can name a task ",task=x,pid=1"), paths with commas and spaces (exact unless they hold ",task"
 * or ",oom_memcg=", which only an administrator can make ambiguous), uids above INT32_MAX. kmsg_memcg_under is
 * checked against a naive reference. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "kmsg.h"

#define SENTINEL 0x5a

static bool all_sentinel(const void *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (((const uint8_t *) p)[i] != SENTINEL)
                        return false;
        return true;
}

static bool is_cstring(const char *s, size_t size) {
        return memchr(s, 0, size) != NULL;
}

static bool has_prefix(const char *s, size_t n, const char *prefix) {
        return n >= strlen(prefix) && memcmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- raw ---- */

static void fuzz_raw(const char *s, size_t n) {
        static KmsgOomKill oom;
        static const char *const killed_prefixes[] = {
                "Killed process ", "Out of memory: Killed process ",
                "Out of memory (oom_kill_allocating_task): Killed process ",
                "Memory cgroup out of memory: Killed process ",
        };
        KmsgKilledProcess k;
        KmsgRecord rec;
        bool killed_prefix = false;
        int r;

        memset(&rec, SENTINEL, sizeof(rec));
        r = kmsg_parse_record(s, n, &rec);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0) {
                FUZZ_CHECK(n <= KMSG_RECORD_MAX && rec.priority <= 2047);
                FUZZ_CHECK(rec.text > s && rec.text + rec.text_size <= s + n && rec.text[-1] == ';');
                FUZZ_CHECK(!memchr(s, ';', (size_t) (rec.text - 1 - s)));
                for (size_t i = 0; i < rec.text_size; i++)
                        FUZZ_CHECK(rec.text[i] >= ' ' && rec.text[i] <= '~');
                FUZZ_CHECK(rec.text + rec.text_size == s + n || rec.text[rec.text_size] == '\n');
        } else
                FUZZ_CHECK(all_sentinel(&rec, sizeof(rec)));

        memset(&oom, SENTINEL, sizeof(oom));
        r = kmsg_parse_oom_kill(s, n, &oom);
        FUZZ_CHECK(r == 0 || r == -ENOMSG || r == -EINVAL || r == -ENAMETOOLONG);
        FUZZ_CHECK((r == -ENOMSG) == !has_prefix(s, n, "oom-kill:"));
        if (r == 0) {
                FUZZ_CHECK(is_cstring(oom.constraint, sizeof(oom.constraint)) && oom.constraint[0]);
                FUZZ_CHECK(is_cstring(oom.comm, sizeof(oom.comm)));
                FUZZ_CHECK(is_cstring(oom.task_memcg, sizeof(oom.task_memcg)) && oom.task_memcg[0] == '/');
                FUZZ_CHECK(is_cstring(oom.oom_memcg, sizeof(oom.oom_memcg)));
                FUZZ_CHECK(oom.has_oom_memcg ? oom.oom_memcg[0] == '/' : oom.oom_memcg[0] == 0);
                FUZZ_CHECK(oom.pid > 0 && oom.pid <= INT32_MAX);
        } else
                FUZZ_CHECK(all_sentinel(&oom, sizeof(oom)));

        for (size_t i = 0; i < sizeof(killed_prefixes) / sizeof(killed_prefixes[0]); i++)
                killed_prefix = killed_prefix || has_prefix(s, n, killed_prefixes[i]);
        memset(&k, SENTINEL, sizeof(k));
        r = kmsg_parse_killed_process(s, n, &k);
        FUZZ_CHECK(r == 0 || r == -ENOMSG || r == -EINVAL);
        FUZZ_CHECK((r == -ENOMSG) == !killed_prefix);
        if (r == 0) {
                FUZZ_CHECK(is_cstring(k.comm, sizeof(k.comm)));
                FUZZ_CHECK(k.pid > 0 && k.pid <= INT32_MAX);
                FUZZ_CHECK(!k.has_oom_score_adj || (k.oom_score_adj >= -1000 && k.oom_score_adj <= 1000));
        } else
                FUZZ_CHECK(all_sentinel(&k, sizeof(k)));
}

/* ---- built the kernel's way ---- */

typedef struct Out {
        char buf[4 * KMSG_RECORD_MAX];
        size_t n;
} Out;

static void out_printf(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(Out *o, const char *fmt, ...) {
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vsnprintf(o->buf + o->n, sizeof(o->buf) - o->n, fmt, ap);
        va_end(ap);
        FUZZ_CHECK(k >= 0 && (size_t) k < sizeof(o->buf) - o->n);
        o->n += (size_t) k;
}

/* printk.c's escaping for /dev/kmsg. */
static void out_escaped(Out *o, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c < ' ' || c >= 127 || c == '\\')
                        out_printf(o, "\\x%02x", c);
                else
                        out_printf(o, "%c", c);
        }
}

/* Up to max bytes from the input, none of them NUL (nor '/' for a path's component): a name. */
static size_t fuzz_name(FuzzInput *in, size_t max, bool component, char *out) {
        size_t n = fuzz_u8(in) % (max + 1);

        for (size_t i = 0; i < n; i++) {
                char c = (char) fuzz_u8(in);

                out[i] = c == 0 ? 'z' : (component && c == '/') ? ',' : c;
        }
        out[n] = 0;
        return n;
}

/* "/" or "/a/b" (into out, at most 3 components of up to 12 bytes), components 1+ bytes. */
static void fuzz_path(FuzzInput *in, char *out, size_t start) {
        unsigned k = fuzz_u8(in) % 4;

        out[start] = 0;
        if (k == 0 && start == 0) {
                strcpy(out, "/");
                return;
        }
        for (unsigned i = 0; i < k; i++) {
                size_t len = strlen(out);

                out[len] = '/';
                if (fuzz_name(in, 12, true, out + len + 1) == 0)
                        strcpy(out + len + 1, "c");
        }
}

static bool ambiguous(const char *s) {
        return strstr(s, ",task") || strstr(s, ",oom_memcg=");
}

static void fuzz_built_oom_kill(FuzzInput *in) {
        static const char *const constraints[] = { "CONSTRAINT_NONE", "CONSTRAINT_CPUSET", "CONSTRAINT_MEMORY_POLICY",
                                                   "CONSTRAINT_MEMCG" };
        static const char *const masks[] = { "(null)", "0", "0-1,3" };
        static Out o;
        static KmsgOomKill oom;
        static char oom_memcg[64], task_memcg[128];
        char comm[16], cpuset[16];
        uint8_t flags = fuzz_u8(in);
        bool memcg = flags & 1, with_cpuset = flags & 2;
        uint32_t pid = (uint32_t) fuzz_uint(in, 4) % INT32_MAX + 1, uid = (uint32_t) fuzz_uint(in, 4);
        const char *constraint = constraints[fuzz_u8(in) % 4];
        int r;

        fuzz_name(in, 15, false, comm);
        fuzz_name(in, 15, true, cpuset);
        fuzz_path(in, oom_memcg, 0);
        /* The victim is in the memcg that hit its limit or below it. */
        strcpy(task_memcg, strcmp(oom_memcg, "/") == 0 ? "" : oom_memcg);
        fuzz_path(in, task_memcg, strlen(task_memcg));
        if (!task_memcg[0])
                strcpy(task_memcg, "/");

        o.n = 0;
        out_printf(&o, "oom-kill:constraint=%s,nodemask=%s", constraint, masks[(flags >> 2) % 3]);
        if (with_cpuset) {
                out_printf(&o, ",cpuset=");
                if (cpuset[0])
                        out_escaped(&o, cpuset, strlen(cpuset));
                else
                        out_printf(&o, "/");
                out_printf(&o, ",mems_allowed=%s", masks[1 + (flags >> 4 & 1)]);
        }
        if (memcg) {
                out_printf(&o, ",oom_memcg=");
                out_escaped(&o, oom_memcg, strlen(oom_memcg));
        } else
                out_printf(&o, ",global_oom");
        out_printf(&o, ",task_memcg=");
        out_escaped(&o, task_memcg, strlen(task_memcg));
        out_printf(&o, ",task=");
        out_escaped(&o, comm, strlen(comm));
        out_printf(&o, ",pid=%d,uid=%d", (int) pid, (int32_t) uid);

        memset(&oom, SENTINEL, sizeof(oom));
        r = kmsg_parse_oom_kill(o.buf, o.n, &oom);
        if ((memcg && ambiguous(oom_memcg)) || ambiguous(task_memcg) || (with_cpuset && ambiguous(cpuset))) {
                FUZZ_CHECK(r == 0 || r == -EINVAL);
                return;
        }
        if (r != 0)
                fprintf(stderr, "%.*s: %d\n", (int) o.n, o.buf, r);
        FUZZ_CHECK(r == 0);
        FUZZ_CHECK(strcmp(oom.constraint, constraint) == 0);
        FUZZ_CHECK(oom.has_oom_memcg == memcg);
        FUZZ_CHECK(strcmp(oom.oom_memcg, memcg ? oom_memcg : "") == 0);
        FUZZ_CHECK(strcmp(oom.task_memcg, task_memcg) == 0);
        FUZZ_CHECK(strcmp(oom.comm, comm) == 0);
        FUZZ_CHECK(oom.pid == pid && oom.uid == uid);
        FUZZ_CHECK(kmsg_memcg_under(oom.task_memcg, memcg ? oom.oom_memcg : "/"));
}

static void fuzz_built_killed(FuzzInput *in) {
        static const char *const prefixes[] = { "", "Out of memory: ", "Out of memory (oom_kill_allocating_task): ",
                                                "Memory cgroup out of memory: " };
        static Out o;
        KmsgKilledProcess k;
        char comm[16];
        uint8_t flags = fuzz_u8(in);
        unsigned prefix = flags & 3, form = flags >> 2 & 3;
        uint32_t pid = (uint32_t) fuzz_uint(in, 4) % INT32_MAX + 1, uid = (uint32_t) fuzz_uint(in, 4);
        uint64_t vm = fuzz_value(in), anon = fuzz_value(in), file = fuzz_value(in), shmem = fuzz_value(in),
                 pgtables = fuzz_value(in);
        short adj = (short) ((int) (fuzz_uint(in, 2) % 2001) - 1000);
        int r;

        fuzz_name(in, 15, false, comm);
        o.n = 0;
        out_printf(&o, "%sKilled process %u (", prefixes[prefix], pid);
        out_escaped(&o, comm, strlen(comm));
        out_printf(&o, ") total-vm:%" PRIu64 "kB, anon-rss:%" PRIu64 "kB, file-rss:%" PRIu64 "kB", vm, anon, file);
        /* 3.x; 4.9: shmem-rss; 5.3: UID; 5.10: pgtables and oom_score_adj */
        if (form >= 1)
                out_printf(&o, ", shmem-rss:%" PRIu64 "kB", shmem);
        if (form >= 2)
                out_printf(&o, ", UID:%u", uid);
        if (form >= 3)
                out_printf(&o, " pgtables:%" PRIu64 "kB oom_score_adj:%hd", pgtables, adj);

        memset(&k, SENTINEL, sizeof(k));
        r = kmsg_parse_killed_process(o.buf, o.n, &k);
        FUZZ_CHECK(r == 0);
        FUZZ_CHECK(k.pid == pid && strcmp(k.comm, comm) == 0);
        FUZZ_CHECK(k.total_vm_kb == vm && k.anon_rss_kb == anon && k.file_rss_kb == file);
        FUZZ_CHECK(k.shmem_rss_kb == (form >= 1 ? shmem : 0));
        FUZZ_CHECK(k.has_uid == (form >= 2) && (!k.has_uid || k.uid == uid));
        FUZZ_CHECK(k.has_oom_score_adj == (form >= 3) && (!k.has_oom_score_adj || k.oom_score_adj == adj));
        FUZZ_CHECK(k.memcg == (prefix == 3));
}

static void fuzz_built_record(FuzzInput *in) {
        static Out o, text;
        static const char flags_chars[] = "-c+";
        uint8_t flags = fuzz_u8(in);
        unsigned priority = (unsigned) fuzz_uint(in, 2) % 2048;
        uint64_t seq = fuzz_value(in), usec = fuzz_value(in);
        char flag = flags_chars[flags % 3];
        const uint8_t *raw;
        size_t raw_n = fuzz_bytes(in, fuzz_u8(in), &raw);
        KmsgRecord rec;
        size_t header;
        int r;

        text.n = 0;
        out_escaped(&text, (const char *) raw, raw_n);
        o.n = 0;
        out_printf(&o, "%u,%" PRIu64 ",%" PRIu64 ",%c", priority, seq, usec, flag);
        if (flags & 4)
                out_printf(&o, ",caller=T%u", (unsigned) fuzz_uint(in, 2));
        out_printf(&o, ";");
        header = o.n;
        out_printf(&o, "%.*s\n", (int) text.n, text.buf);
        for (unsigned i = 0; i < (flags >> 3 & 3); i++) {
                char value[16];

                fuzz_name(in, 15, false, value);
                out_printf(&o, " %s=", i % 2 ? "DEVICE" : "SUBSYSTEM");
                out_escaped(&o, value, strlen(value));
                out_printf(&o, "\n");
        }
        if (flags & 0x20)
                o.n--; /* no final newline */

        memset(&rec, SENTINEL, sizeof(rec));
        r = kmsg_parse_record(o.buf, o.n, &rec);
        if (o.n > KMSG_RECORD_MAX) {
                FUZZ_CHECK(r == -EINVAL);
                return;
        }
        FUZZ_CHECK(r == 0);
        FUZZ_CHECK(rec.priority == priority && rec.seq == seq && rec.usec == usec);
        FUZZ_CHECK(rec.continuation == (flag == 'c') && rec.fragment == (flag == '+'));
        FUZZ_CHECK(rec.text == o.buf + header);
        FUZZ_CHECK(rec.text_size == text.n && memcmp(rec.text, text.buf, text.n) == 0);
}

/* ---- memcg paths ---- */

/* kmsg_path is prefix + path [+ "/..."], the prefix empty, or path starting with '/', or the prefix ending
 * with '/'; path's trailing slashes dropped, an empty path being the root. */
static bool under_reference(const char *kmsg_path, const char *path) {
        size_t n = strlen(path), k = strlen(kmsg_path);

        while (n > 0 && path[n - 1] == '/')
                n--;
        if (n == 0)
                return kmsg_path[0] == '/';
        for (size_t i = 0; i + n <= k; i++) {
                bool boundary = i == 0 || path[0] == '/' || kmsg_path[i - 1] == '/';
                bool ends = kmsg_path[i + n] == 0 || kmsg_path[i + n] == '/';

                if (boundary && ends && strncmp(kmsg_path + i, path, n) == 0)
                        return true;
        }
        return false;
}

static void fuzz_under(FuzzInput *in) {
        char a[40], b[40];

        /* A small alphabet, so that matches happen. */
        for (char *s = a; s; s = s == a ? b : NULL) {
                size_t n = fuzz_u8(in) % sizeof(a);

                for (size_t i = 0; i < n; i++)
                        s[i] = "/ab,"[fuzz_u8(in) & 3];
                s[n] = 0;
        }
        FUZZ_CHECK(kmsg_memcg_under(a, b) == under_reference(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };

        fuzz_raw((const char *) data, size);
        fuzz_built_oom_kill(&in);
        fuzz_built_killed(&in);
        fuzz_built_record(&in);
        fuzz_under(&in);
        return 0;
}
