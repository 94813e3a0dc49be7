/* SPDX-License-Identifier: MIT */
/* What the kernel's OOM killer says in /dev/kmsg: one record's header and text, the "oom-kill:" summary line
 * and the "Killed process" line, and whether a memcg path printed there lies under a cgroup the daemon
 * watches. Pure: bytes in, fields out; no I/O, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMSG_RECORD_MAX 8192 /* one read(2) of /dev/kmsg returns one record of at most this (the kernel's limit) */
#define KMSG_CGROUP_PATH_MAX 4096
#define KMSG_COMM_MAX 64 /* comm is 15 bytes, but kmsg escapes bytes as \xNN: we unescape */

/* One /dev/kmsg record: "PRI,SEQ,TS_USEC,FLAGS[,more];TEXT\n[ KEY=VALUE\n]..." (Documentation/ABI/testing/dev-kmsg).
 * text points into data (the first line after ';', without its newline, still escaped as the kernel wrote it:
 * bytes below ' ', above '~' and '\' itself as \xNN, so it holds no newline). Fields after FLAGS (",caller=T12"
 * with CONFIG_PRINTK_CALLER) and the KEY=VALUE lines (SUBSYSTEM=, DEVICE=) are checked for shape and skipped.
 * A missing final newline is accepted. -EINVAL: not a record (no ';', a header field that is not a number, a
 * priority above 2047 (facility is 8 bits), a line after the text that does not start with ' ', a NUL byte,
 * more than KMSG_RECORD_MAX bytes); -ERANGE: a number above UINT64_MAX. */
typedef struct KmsgRecord {
        unsigned priority; /* facility<<3 | level, as written */
        uint64_t seq;
        uint64_t usec;     /* the kernel's timestamp: CLOCK_MONOTONIC microseconds */
        bool continuation; /* flags had 'c' (older kernels: the first fragment of a line split by pr_cont) */
        bool fragment;     /* flags had '+' (older kernels: a later fragment of such a line) */
        const char *text;
        size_t text_size;
} KmsgRecord;
int kmsg_parse_record(const char *data, size_t size, KmsgRecord *ret);

/* "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a.slice,task_memcg=/a.slice/b.scope,task=hog,pid=123,uid=0"
 * (4.19+; global OOMs have ",global_oom" instead of oom_memcg=: has_oom_memcg false). Text as in KmsgRecord
 * (escaped: \xNN is unescaped into the outputs; a path or comm with NUL after unescaping is -EINVAL). Paths and
 * comm may hold ',' and "key=" text, and mems_allowed= holds ',' ("0-1,3"), so fields are found by shape:
 * uid= and pid= from the end (nothing but digits follows them), task= as the leftmost ",task=" whose comm
 * still fits KMSG_COMM_MAX (so a comm cannot move the memcg boundary: anyone can name a task), oom_memcg= as
 * the first after the constraint, and task_memcg= as the first after it that lies under oom_memcg (the victim
 * is always chosen inside the memcg that hit its limit). uid is printed with %d: a uid above INT32_MAX comes
 * as a negative number and is read back. -ENOMSG: not an oom-kill line at all; -EINVAL: one that is broken
 * (also: a line the kernel split into fragments, whose tail is in the next record; a path printed as
 * "(error)"); -ENAMETOOLONG: a path longer than KMSG_CGROUP_PATH_MAX - 1 (or printed as "(name too long)").
 * *ret (8 KiB) is written only on success. */
typedef struct KmsgOomKill {
        char constraint[32];
        bool has_oom_memcg;
        char oom_memcg[KMSG_CGROUP_PATH_MAX];
        char task_memcg[KMSG_CGROUP_PATH_MAX];
        char comm[KMSG_COMM_MAX];
        uint32_t pid, uid;
} KmsgOomKill;
int kmsg_parse_oom_kill(const char *text, size_t size, KmsgOomKill *ret);

/* "Memory cgroup out of memory: Killed process 1234 (hog) total-vm:1234kB, anon-rss:1000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:100kB oom_score_adj:0"
 * and the older/other forms: "Out of memory: Killed process ..." and "Out of memory (oom_kill_allocating_task):
 * Killed process ..." (global), and a bare "Killed process ..." (before 5.3, the line after "...: Kill process N
 * (comm) score S or sacrifice child"), without UID:/pgtables:/oom_score_adj: and before 4.9 without shmem-rss:.
 * comm may contain spaces and parentheses: it ends at the last ") total-vm:" (only numbers follow that).
 * Keys after total-vm: other than those known are skipped (future kernels); total-vm, anon-rss and file-rss
 * are required. "oom_reaper: reaped process ..." and "...: Kill process ..." are not this line: -ENOMSG. */
typedef struct KmsgKilledProcess {
        uint32_t pid;
        char comm[KMSG_COMM_MAX];
        uint64_t total_vm_kb, anon_rss_kb, file_rss_kb, shmem_rss_kb;
        bool has_uid;
        uint32_t uid;
        bool memcg; /* "Memory cgroup out of memory:" (a memcg's limit), not a global OOM */
        bool has_oom_score_adj;
        int oom_score_adj;
} KmsgKilledProcess;
int kmsg_parse_killed_process(const char *text, size_t size, KmsgKilledProcess *ret);

/* Whether a memcg path from kmsg is `path` or below it, where kmsg paths are as the kernel prints them (from the
 * hierarchy's root) and `path` is what the daemon sees (relative to its cgroup namespace, e.g. "/sk.slice/sk-a.slice"):
 * true when kmsg_path == prefix + path or prefix + path + "/..." for some prefix that is empty or ends at a '/'
 * boundary. Used to match a victim's task_memcg to a watched slice. A trailing '/' on path is ignored; "/" (or
 * "") is the root, under which every absolute kmsg path lies. */
bool kmsg_memcg_under(const char *kmsg_path, const char *path);
