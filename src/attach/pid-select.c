/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "pid-select.h"

static bool entry_is_zombie(const ProcEntry *e) {
        return e->state == 'Z' || e->state == 'X' || e->state == 'x';
}

int pid_select_check(const ProcTable *procs, pid_t pid, pid_t tgid, pid_t self, char *reason, size_t reason_size) {
        const ProcEntry *e = proc_table_find(procs, pid);

        assert(procs);
        assert(reason || reason_size == 0);

        if (pid == 1) {
                snprintf(reason, reason_size, "names PID 1");
                return -EPERM;
        }
        if (!e && tgid > 0 && tgid != pid) {
                snprintf(reason, reason_size, "names pid %d, a thread of process %d, not a process", (int) pid,
                         (int) tgid);
                return -EINVAL;
        }
        if (!e) {
                snprintf(reason, reason_size, "names pid %d, which does not exist", (int) pid);
                return -ESRCH;
        }
        if (e->kthread) {
                snprintf(reason, reason_size, "names pid %d, a kernel thread", (int) pid);
                return -EPERM;
        }
        if (entry_is_zombie(e)) {
                snprintf(reason, reason_size, "names pid %d, a zombie (it has exited; its parent has not reaped it)",
                         (int) pid);
                return -ESRCH;
        }
        if (proc_table_is_self_or_ancestor(procs, pid, self)) {
                snprintf(reason, reason_size, "names pid %d, slicekeeperd itself or one of its ancestors", (int) pid);
                return -EPERM;
        }
        return 0;
}

int pid_select_subtree(const ProcTable *procs, pid_t pid, pid_t self, pid_t **ret, size_t *ret_n) {
        pid_t *tree = NULL;
        size_t n_tree = 0, n = 0;
        int r;

        assert(procs);
        assert(ret);
        assert(ret_n);

        r = proc_table_subtree(procs, pid, &tree, &n_tree);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_tree; i++) {
                const ProcEntry *d = proc_table_find(procs, tree[i]);

                if (d && !d->kthread && !entry_is_zombie(d) && tree[i] != self)
                        tree[n++] = tree[i];
        }
        *ret = tree;
        *ret_n = n;
        return 0;
}

int pid_select_glob_cut(size_t matched, size_t max, size_t *left_out) {
        size_t left = matched > max ? matched - max : 0, before = *left_out;

        assert(left_out);

        *left_out = left;
        if (left > 0 && before == 0)
                return 1;
        if (left == 0 && before > 0)
                return -1;
        return 0;
}
