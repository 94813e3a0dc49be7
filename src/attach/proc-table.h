/* SPDX-License-Identifier: MIT */
/* A snapshot of /proc: every process's parent and whether it is a kernel thread, to find descendants
 * and refuse what must never be moved. Reads under a given proc root, so tests can use a fake one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROC_TABLE_MAX 1000000

typedef struct ProcEntry {
        pid_t pid, ppid;
        bool kthread;
        char state; /* /proc/PID/stat's state letter: 'Z' a zombie, 'X' dead; 0 when not known */
} ProcEntry;

typedef struct ProcTable {
        ProcEntry *entries; /* sorted by pid */
        size_t n;
} ProcTable;

int proc_table_load(const char *proc_root, ProcTable *ret);
void proc_table_done(ProcTable *t);
const ProcEntry *proc_table_find(const ProcTable *t, pid_t pid);
/* pid and all its descendants (pid first), into a new array. */
int proc_table_subtree(const ProcTable *t, pid_t pid, pid_t **ret, size_t *ret_n);
/* Whether `pid` is `self` or an ancestor of it. */
bool proc_table_is_self_or_ancestor(const ProcTable *t, pid_t pid, pid_t self);

/* Parses one /proc/PID/stat line: ppid, flags and (unless ret_state is NULL) the state letter. Pure. */
int proc_parse_stat(const char *line, pid_t *ret_ppid, unsigned long *ret_flags, char *ret_state);
/* The "Tgid:" of a /proc/PID/status text: the process a thread id belongs to. Pure. */
int proc_parse_status_tgid(const char *text, pid_t *ret);
/* Reads /proc/PID/status (not listed by readdir when PID is a thread, but there): its thread group. */
int proc_thread_group(const char *proc_root, pid_t pid, pid_t *ret);
