/* SPDX-License-Identifier: MIT */
/* Which processes a pid file may move (pure): the pid it names checked against a /proc snapshot, the
 * descendants that go with it, and when a glob's cut (ATTACHER_MATCHES_MAX files read) is worth a log line. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "proc-table.h"

/* Whether `pid` (named by a pid file) may move. `tgid` is its thread group as /proc/PID/status says when
 * it is not a process of the snapshot (0: unknown), so a thread id is told apart from a gone process.
 * 0: it may; else -EPERM (PID 1, a kernel thread, the daemon or an ancestor), -ESRCH (gone, or a zombie)
 * or -EINVAL (a thread, not a process), with the reason written ("names pid 7, a zombie ..."). */
int pid_select_check(const ProcTable *procs, pid_t pid, pid_t tgid, pid_t self, char *reason, size_t reason_size);

/* `pid` and its descendants that can move: no kernel threads, no zombies, never `self`. */
int pid_select_subtree(const ProcTable *procs, pid_t pid, pid_t self, pid_t **ret, size_t *ret_n);

/* A glob matched `matched` files and `max` are read: stores how many were left out in *left_out and
 * returns 1 when files start being left out, -1 when they stop, 0 when nothing changed (so it is said once). */
int pid_select_glob_cut(size_t matched, size_t max, size_t *left_out);
