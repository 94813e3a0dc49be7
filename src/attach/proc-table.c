/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "parse-util.h"
#include "proc-table.h"

#define PF_KTHREAD 0x00200000UL

int proc_parse_stat(const char *line, pid_t *ret_ppid, unsigned long *ret_flags, char *ret_state) {
        const char *p = strrchr(line, ')'); /* comm may hold spaces and parentheses */
        char state;
        int ppid;
        unsigned long flags;

        assert(line);
        assert(ret_ppid);
        assert(ret_flags);

        if (!p)
                return -EINVAL;
        /* ") S ppid pgrp session tty_nr tpgid flags" */
        if (sscanf(p + 1, " %c %d %*d %*d %*d %*d %lu", &state, &ppid, &flags) != 3 || ppid < 0)
                return -EINVAL;
        *ret_ppid = ppid;
        *ret_flags = flags;
        if (ret_state)
                *ret_state = state;
        return 0;
}

int proc_parse_status_tgid(const char *text, pid_t *ret) {
        assert(ret);

        for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                char digits[16];
                size_t len;
                uint64_t v;

                if (strncmp(line, "Tgid:", 5) != 0)
                        continue;
                line += 5 + strspn(line + 5, " \t");
                len = strcspn(line, "\n");
                if (len == 0 || len >= sizeof(digits))
                        return -EINVAL;
                memcpy(digits, line, len);
                digits[len] = 0;
                if (safe_atou64(digits, &v) < 0 || v == 0 || v > INT32_MAX)
                        return -EINVAL;
                *ret = (pid_t) v;
                return 0;
        }
        return -EINVAL;
}

int proc_thread_group(const char *proc_root, pid_t pid, pid_t *ret) {
        _cleanup_(freep) char *path = NULL, *data = NULL;
        int r;

        assert(proc_root);
        assert(ret);

        if (asprintf(&path, "%s/%d/status", proc_root, (int) pid) < 0)
                return -ENOMEM;
        r = read_file_bounded(path, 16 * 1024, &data, NULL);
        if (r < 0)
                return r;
        return proc_parse_status_tgid(data, ret);
}

static int entry_cmp(const void *a, const void *b) {
        const ProcEntry *x = a, *y = b;
        return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int proc_table_load(const char *proc_root, ProcTable *ret) {
        _cleanup_(closedirp) DIR *d = opendir(proc_root);
        ProcTable t = { 0 };
        size_t cap = 0;
        struct dirent *de;

        assert(proc_root);
        assert(ret);

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_(freep) char *path = NULL, *data = NULL;
                uint64_t pid;
                pid_t ppid;
                unsigned long flags;
                char state;

                if (safe_atou64(de->d_name, &pid) < 0 || pid == 0 || pid > INT32_MAX)
                        continue;
                if (asprintf(&path, "%s/%s/stat", proc_root, de->d_name) < 0)
                        goto oom;
                if (read_file_bounded(path, 4096, &data, NULL) < 0 || proc_parse_stat(data, &ppid, &flags, &state) < 0)
                        continue; /* gone meanwhile */
                if (t.n == cap) {
                        ProcEntry *n;
                        if (cap >= PROC_TABLE_MAX)
                                break;
                        cap = MAX(cap * 2, (size_t) 256);
                        n = realloc(t.entries, cap * sizeof(ProcEntry));
                        if (!n)
                                goto oom;
                        t.entries = n;
                }
                t.entries[t.n++] = (ProcEntry) { (pid_t) pid, ppid, (flags & PF_KTHREAD) || pid == 2 || ppid == 2, state };
        }
        if (t.n > 0)
                qsort(t.entries, t.n, sizeof(ProcEntry), entry_cmp);
        *ret = t;
        return 0;
oom:
        free(t.entries);
        return -ENOMEM;
}

void proc_table_done(ProcTable *t) {
        assert(t);

        free(t->entries);
        *t = (ProcTable) { 0 };
}

const ProcEntry *proc_table_find(const ProcTable *t, pid_t pid) {
        ProcEntry key = { .pid = pid };

        assert(t);

        return t->n ? bsearch(&key, t->entries, t->n, sizeof(ProcEntry), entry_cmp) : NULL;
}

int proc_table_subtree(const ProcTable *t, pid_t pid, pid_t **ret, size_t *ret_n) {
        pid_t *out = malloc(sizeof(pid_t) * (t->n + 1));
        size_t n = 0;

        assert(t);
        assert(ret);
        assert(ret_n);

        if (!out)
                return -ENOMEM;
        out[n++] = pid;
        /* Breadth first over the parent links; each entry is visited once per level it may join. */
        for (size_t head = 0; head < n; head++)
                for (size_t i = 0; i < t->n; i++)
                        if (t->entries[i].ppid == out[head] && t->entries[i].pid != out[head] && n <= t->n)
                                out[n++] = t->entries[i].pid;
        *ret = out;
        *ret_n = n;
        return 0;
}

bool proc_table_is_self_or_ancestor(const ProcTable *t, pid_t pid, pid_t self) {
        pid_t p = self;

        assert(t);

        for (size_t steps = 0; p > 0 && steps <= t->n; steps++) {
                const ProcEntry *e;

                if (p == pid)
                        return true;
                e = proc_table_find(t, p);
                if (!e)
                        return false;
                p = e->ppid;
        }
        return false;
}
