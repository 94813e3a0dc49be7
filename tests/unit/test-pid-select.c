/* SPDX-License-Identifier: MIT */
/* Which pid a pid file may move, over in-memory /proc snapshots: zombies and thread ids are refused with
 * their own reason, descendants that cannot move are left out, and a glob's cut is said once. Also the
 * state letter and Tgid parsers the snapshot and the thread check read. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "macro.h"
#include "pid-select.h"
#include "proc-table.h"
#include "tests.h"

/*   1 systemd ─┬─ 100 app ─┬─ 101 worker ── 102 zombie child (Z)
 *              │           └─ 103 dead child (X)
 *              ├─ 200 zombie (Z) ── 201 orphan-to-be
 *              ├─ 300 slicekeeperd's parent ── 301 slicekeeperd ── 302 its child
 *   2 kthreadd ── 3 kworker                                                        */
static ProcEntry entries[] = {
        { 1, 0, false, 'S' },   { 2, 0, true, 'S' },    { 3, 2, true, 'I' },    { 100, 1, false, 'S' },
        { 101, 100, false, 'R' }, { 102, 101, false, 'Z' }, { 103, 100, false, 'X' }, { 200, 1, false, 'Z' },
        { 201, 200, false, 'S' }, { 300, 1, false, 'S' }, { 301, 300, false, 'S' }, { 302, 301, false, 'S' },
};
static const ProcTable table = { entries, ELEMENTSOF(entries) };
#define SELF 301

static int check(pid_t pid, pid_t tgid, char reason[static 256]) {
        reason[0] = 0;
        return pid_select_check(&table, pid, tgid, SELF, reason, 256);
}

TEST(test_movable_process) {
        char reason[256];

        ASSERT_EQ_INT(check(100, 0, reason), 0);
        ASSERT_EQ_INT(check(101, 0, reason), 0);
        ASSERT_EQ_INT(check(302, 0, reason), 0); /* a child of the daemon is not an ancestor */
}

TEST(test_zombie_is_refused_with_its_own_reason) {
        char reason[256];

        ASSERT_EQ_INT(check(200, 0, reason), -ESRCH);
        ASSERT_STREQ(reason, "names pid 200, a zombie (it has exited; its parent has not reaped it)");
        ASSERT_EQ_INT(check(102, 0, reason), -ESRCH);
        ASSERT_CONTAINS(reason, "a zombie");
        ASSERT_EQ_INT(check(103, 0, reason), -ESRCH); /* 'X': dead */
        ASSERT_CONTAINS(reason, "a zombie");
}

TEST(test_thread_id_is_not_a_missing_process) {
        char reason[256];

        /* A thread id is not in the snapshot (readdir of /proc lists thread group leaders only). */
        ASSERT_EQ_INT(check(105, 100, reason), -EINVAL);
        ASSERT_STREQ(reason, "names pid 105, a thread of process 100, not a process");
        /* Gone, or its status unreadable: does not exist. Its own tgid: a process gone between the reads. */
        ASSERT_EQ_INT(check(105, 0, reason), -ESRCH);
        ASSERT_STREQ(reason, "names pid 105, which does not exist");
        ASSERT_EQ_INT(check(105, 105, reason), -ESRCH);
        ASSERT_STREQ(reason, "names pid 105, which does not exist");
        /* A listed process is judged as a process whatever the tgid says. */
        ASSERT_EQ_INT(check(100, 1, reason), 0);
}

TEST(test_never_movable) {
        char reason[256];

        ASSERT_EQ_INT(check(1, 0, reason), -EPERM);
        ASSERT_STREQ(reason, "names PID 1");
        ASSERT_EQ_INT(check(3, 0, reason), -EPERM);
        ASSERT_STREQ(reason, "names pid 3, a kernel thread");
        ASSERT_EQ_INT(check(301, 0, reason), -EPERM);
        ASSERT_CONTAINS(reason, "slicekeeperd itself or one of its ancestors");
        ASSERT_EQ_INT(check(300, 0, reason), -EPERM);
        ASSERT_CONTAINS(reason, "slicekeeperd itself or one of its ancestors");
}

static bool listed(const pid_t *l, size_t n, pid_t p) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == p)
                        return true;
        return false;
}

TEST(test_subtree_leaves_out_zombies_kthreads_and_self) {
        _cleanup_(freep) pid_t *app = NULL, *parent = NULL, *kt = NULL;
        size_t n_app = 0, n_parent = 0, n_kt = 0;

        ASSERT_EQ_INT(pid_select_subtree(&table, 100, SELF, &app, &n_app), 0);
        ASSERT_EQ_INT(n_app, 2);
        ASSERT_EQ_INT(app[0], 100);
        ASSERT_TRUE(listed(app, n_app, 101));
        ASSERT_TRUE(!listed(app, n_app, 102) && !listed(app, n_app, 103));

        /* Were the daemon's parent ever named (check refuses it), the daemon itself would stay out. */
        ASSERT_EQ_INT(pid_select_subtree(&table, 300, SELF, &parent, &n_parent), 0);
        ASSERT_TRUE(listed(parent, n_parent, 300) && listed(parent, n_parent, 302));
        ASSERT_TRUE(!listed(parent, n_parent, SELF));

        ASSERT_EQ_INT(pid_select_subtree(&table, 2, SELF, &kt, &n_kt), 0);
        ASSERT_EQ_INT(n_kt, 0);
}

TEST(test_glob_cut_is_said_once) {
        size_t left = 0;

        ASSERT_EQ_INT(pid_select_glob_cut(1024, 1024, &left), 0);
        ASSERT_EQ_INT(left, 0);
        ASSERT_EQ_INT(pid_select_glob_cut(10000, 1024, &left), 1);
        ASSERT_EQ_INT(left, 8976);
        ASSERT_EQ_INT(pid_select_glob_cut(10000, 1024, &left), 0); /* the same: nothing to say */
        ASSERT_EQ_INT(pid_select_glob_cut(2000, 1024, &left), 0);  /* still cut: the number follows */
        ASSERT_EQ_INT(left, 976);
        ASSERT_EQ_INT(pid_select_glob_cut(3, 1024, &left), -1);
        ASSERT_EQ_INT(left, 0);
        ASSERT_EQ_INT(pid_select_glob_cut(0, 1024, &left), 0);
}

TEST(test_parse_stat_state) {
        pid_t ppid;
        unsigned long flags;
        char state = 0;

        ASSERT_EQ_INT(proc_parse_stat("7 (zz (Z) top) Z 1 7 7 0 -1 4194316 0 0", &ppid, &flags, &state), 0);
        ASSERT_EQ_INT(state, 'Z');
        ASSERT_EQ_INT(ppid, 1);
        ASSERT_EQ_INT(proc_parse_stat("8 (x) R 1 8 8 0 -1 0", &ppid, &flags, &state), 0);
        ASSERT_EQ_INT(state, 'R');
}

TEST(test_parse_status_tgid) {
        pid_t tgid = -1;

        ASSERT_EQ_INT(proc_parse_status_tgid("Name:\tworker\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\n"
                                             "Ngid:\t0\nPid:\t4250\nPPid:\t1\n", &tgid), 0);
        ASSERT_EQ_INT(tgid, 4242);
        ASSERT_EQ_INT(proc_parse_status_tgid("Tgid: 7", &tgid), 0);
        ASSERT_EQ_INT(tgid, 7);
        tgid = -1;
        ASSERT_EQ_INT(proc_parse_status_tgid("Name:\tx\nPid:\t5\n", &tgid), -EINVAL);
        ASSERT_EQ_INT(proc_parse_status_tgid("Tgid:\t\n", &tgid), -EINVAL);
        ASSERT_EQ_INT(proc_parse_status_tgid("Tgid:\t0\n", &tgid), -EINVAL);
        ASSERT_EQ_INT(proc_parse_status_tgid("Tgid:\t12x\n", &tgid), -EINVAL);
        ASSERT_EQ_INT(proc_parse_status_tgid("Tgid:\t99999999999999999999\n", &tgid), -EINVAL);
        ASSERT_EQ_INT(proc_parse_status_tgid("NoTgid:\t5\n", &tgid), -EINVAL);
        ASSERT_EQ_INT(proc_parse_status_tgid("", &tgid), -EINVAL);
        ASSERT_EQ_INT(tgid, -1);
}

static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;
static pid_t thread_tid;

static void *thread_main(void *arg _unused_) {
        __atomic_store_n(&thread_tid, gettid(), __ATOMIC_SEQ_CST);
        pthread_mutex_lock(&hold); /* alive until the test has looked */
        pthread_mutex_unlock(&hold);
        return NULL;
}

TEST(test_thread_group_on_the_real_proc) {
        _cleanup_(proc_table_done) ProcTable t = { 0 };
        char reason[256];
        pthread_t thread;
        pid_t tgid = 0, tid;

        ASSERT_EQ_INT(proc_thread_group("/proc", getpid(), &tgid), 0);
        ASSERT_EQ_INT(tgid, getpid());
        ASSERT_TRUE(proc_thread_group("/nonexistent-proc-root", getpid(), &tgid) < 0);

        /* A real thread: not in the snapshot, its status names this process, and the check says so. */
        pthread_mutex_lock(&hold);
        ASSERT_EQ_INT(pthread_create(&thread, NULL, thread_main, NULL), 0);
        while ((tid = __atomic_load_n(&thread_tid, __ATOMIC_SEQ_CST)) == 0)
                sched_yield();
        ASSERT_EQ_INT(proc_table_load("/proc", &t), 0);
        ASSERT_TRUE(proc_table_find(&t, tid) == NULL);
        ASSERT_EQ_INT(proc_thread_group("/proc", tid, &tgid), 0);
        ASSERT_EQ_INT(tgid, getpid());
        ASSERT_EQ_INT(pid_select_check(&t, tid, tgid, 1, reason, sizeof(reason)), -EINVAL);
        ASSERT_CONTAINS(reason, "a thread of process");
        pthread_mutex_unlock(&hold);
        ASSERT_EQ_INT(pthread_join(thread, NULL), 0);
}

int main(void) {
        RUN(test_movable_process);
        RUN(test_zombie_is_refused_with_its_own_reason);
        RUN(test_thread_id_is_not_a_missing_process);
        RUN(test_never_movable);
        RUN(test_subtree_leaves_out_zombies_kthreads_and_self);
        RUN(test_glob_cut_is_said_once);
        RUN(test_parse_stat_state);
        RUN(test_parse_status_tgid);
        RUN(test_thread_group_on_the_real_proc);
        return 0;
}
