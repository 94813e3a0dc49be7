/* SPDX-License-Identifier: MIT */
/* Pid files, the /proc snapshot and the slice → cgroup/scope names the attacher uses. File tests build
 * their trees in a mkdtemp() directory and remove it afterwards; the real /proc is only read. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "pidfile.h"
#include "proc-table.h"
#include "tests.h"
#include "unit-name.h"

#define PID_MAX_SMALL 32768
#define PID_MAX_LIMIT 4194304
#define PF_KTHREAD_FLAG 0x00200000UL

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *st _unused_, int type _unused_, struct FTW *ftw _unused_) {
        return remove(path) < 0 ? -1 : 0;
}

/* The temporary directory of the running test, removed also when an assertion aborts. */
static char current_tmpdir[PATH_MAX];

static void rm_rf(const char *dir) {
        ASSERT_EQ_INT(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
        if (streq(dir, current_tmpdir))
                current_tmpdir[0] = 0;
}

static void on_fatal_signal(int sig) {
        if (current_tmpdir[0])
                (void) nftw(current_tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        raise(sig); /* SA_RESETHAND: the default action now */
}

static void make_tmpdir(char dir[static PATH_MAX]) {
        snprintf(dir, PATH_MAX, "/tmp/test-pidfile-XXXXXX");
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(current_tmpdir, sizeof(current_tmpdir), "%s", dir);
}

static char *path_in(const char *dir, const char *name) {
        char *p = NULL;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) >= 0);
        return p;
}

/* Writes exactly `size` bytes, then forces owner and mode (no umask in the way). */
static char *write_file(const char *dir, const char *name, const char *data, size_t size, uid_t uid, mode_t mode) {
        char *p = path_in(dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ_INT(write(fd, data, size), (ssize_t) size);
        ASSERT_EQ_INT(fchown(fd, uid, 0), 0);
        ASSERT_EQ_INT(fchmod(fd, mode), 0);
        ASSERT_EQ_INT(close(fd), 0);
        return p;
}

static PidFileOptions opts(bool require_root_owner) {
        return (PidFileOptions) { .require_root_owner = require_root_owner, .pid_max = PID_MAX_LIMIT };
}

static void assert_parse_ok(const char *data, size_t size, pid_t pid_max, pid_t expected) {
        char reason[256] = "untouched";
        pid_t pid = -1;

        ASSERT_EQ_INT(pidfile_parse(data, size, pid_max, &pid, reason, sizeof(reason)), 0);
        ASSERT_EQ_INT(pid, expected);
}

/* Refused with `error`; *ret left alone; the reason says why and contains `why`. */
static void assert_parse_fails(const char *data, size_t size, pid_t pid_max, int error, const char *why) {
        char reason[256] = "";
        pid_t pid = -1;

        ASSERT_EQ_INT(pidfile_parse(data, size, pid_max, &pid, reason, sizeof(reason)), error);
        ASSERT_EQ_INT(pid, -1);
        ASSERT_TRUE(reason[0] != 0);
        ASSERT_CONTAINS(reason, why);
}

#define PARSE_OK(s, max, expected) assert_parse_ok((s), sizeof(s) - 1, (max), (expected))
#define PARSE_FAILS(s, max, error, why) assert_parse_fails((s), sizeof(s) - 1, (max), (error), (why))

static void assert_read_fails(const char *path, bool require_root_owner, int error, const char *why) {
        PidFileOptions o = opts(require_root_owner);
        char reason[256] = "";
        pid_t pid = -1;

        ASSERT_EQ_INT(pidfile_read(path, &o, &pid, reason, sizeof(reason)), error);
        ASSERT_EQ_INT(pid, -1);
        ASSERT_TRUE(reason[0] != 0);
        if (why)
                ASSERT_CONTAINS(reason, why);
}

static void assert_read_ok(const char *path, bool require_root_owner, pid_t expected) {
        PidFileOptions o = opts(require_root_owner);
        char reason[256] = "";
        pid_t pid = -1;
        int r = pidfile_read(path, &o, &pid, reason, sizeof(reason));

        if (r < 0)
                fprintf(stderr, "%s refused (%d): %s\n", path, r, reason);
        ASSERT_EQ_INT(r, 0);
        ASSERT_EQ_INT(pid, expected);
}

/* A fake proc root: one directory per pid holding a "stat" line like the kernel's. */
static void fake_proc(const char *root, pid_t pid, const char *comm, pid_t ppid, unsigned long flags) {
        _cleanup_(freep) char *dir = NULL, *stat_path = NULL;
        char name[32], line[512];
        FILE *f;

        snprintf(name, sizeof(name), "%d", (int) pid);
        dir = path_in(root, name);
        ASSERT_EQ_INT(mkdir(dir, 0755), 0);
        stat_path = path_in(dir, "stat");
        snprintf(line, sizeof(line), "%d (%s) S %d %d %d 0 -1 %lu 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0 "
                 "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
                 (int) pid, comm, (int) ppid, (int) pid, (int) pid, flags);
        f = fopen(stat_path, "we");
        ASSERT_TRUE(f != NULL);
        ASSERT_TRUE(fputs(line, f) >= 0);
        ASSERT_EQ_INT(fclose(f), 0);
}

static void fake_dir_with(const char *root, const char *name, const char *file, const char *content) {
        _cleanup_(freep) char *dir = path_in(root, name);

        ASSERT_EQ_INT(mkdir(dir, 0755), 0);
        if (file)
                free(write_file(dir, file, content, strlen(content), 0, 0644));
}

/*
 * The fake tree:
 *   1 init ─┬─ 100 ─┬─ 200 ── 300
 *           │       └─ 201 ── 301
 *           ├─ 101 ── 202
 *           ├─ 78 (PF_KTHREAD among other flags)  79 (other flags only)
 *   0 ──── 2 (flags 0) ── 3 (flags 0)
 *   0 ──── 77 (PF_KTHREAD only)
 * plus junk that must be skipped.
 */
static const pid_t fake_pids[] = { 1, 2, 3, 77, 78, 79, 100, 101, 200, 201, 202, 300, 301 };

static void build_fake_proc(const char *root) {
        /* Created out of order: the table must sort. */
        fake_proc(root, 300, "worker (a) b", 200, 0x00400040);
        fake_proc(root, 100, "my (weird) proc", 1, 0x00400000);
        fake_proc(root, 201, "sh", 100, 0);
        fake_proc(root, 1, "systemd", 0, 0x00400100);
        fake_proc(root, 200, ") S 7 7 7", 100, 0); /* a comm that mimics the fields after it */
        fake_proc(root, 2, "kthreadd", 0, 0);
        fake_proc(root, 3, "rcu_gp", 2, 0);
        fake_proc(root, 77, "odd kthread", 0, PF_KTHREAD_FLAG);
        fake_proc(root, 78, "flags", 1, PF_KTHREAD_FLAG | 0x40 | 0x00400000);
        fake_proc(root, 79, "noflag", 1, 0x00400040 | 0x00100000);
        fake_proc(root, 101, "sibling", 1, 0);
        fake_proc(root, 202, "nephew", 101, 0);
        fake_proc(root, 301, "cousin", 201, 0);

        /* Junk: not numbers, numbers out of range, no/garbage/oversized/directory stat, a plain file. */
        fake_dir_with(root, "self", "stat", "555 (self) S 1 1 1 0 -1 0 0\n");
        fake_dir_with(root, "sys", NULL, NULL);
        fake_dir_with(root, "12a", "stat", "12 (x) S 1 1 1 0 -1 0 0\n");
        fake_dir_with(root, "+13", "stat", "13 (x) S 1 1 1 0 -1 0 0\n");
        fake_dir_with(root, " 14", "stat", "14 (x) S 1 1 1 0 -1 0 0\n");
        fake_dir_with(root, "0", "stat", "0 (swapper) S 0 0 0 0 -1 0 0\n");
        fake_dir_with(root, "4294967296", "stat", "4294967296 (x) S 1 1 1 0 -1 0 0\n");
        fake_dir_with(root, "2147483648", "stat", "2147483648 (x) S 1 1 1 0 -1 0 0\n");
        fake_dir_with(root, "600", "stat", "garbage without a parenthesis\n");
        fake_dir_with(root, "601", NULL, NULL);
        fake_dir_with(root, "602", "stat", "602 (x) S\n");
        fake_dir_with(root, "603", "stat", "603 (x) S -4 1 1 0 -1 0 0\n");
        fake_dir_with(root, "604", "stat", "");
        {
                _cleanup_(freep) char *dir = path_in(root, "605"), *sub = path_in(dir, "stat");

                ASSERT_EQ_INT(mkdir(dir, 0755), 0);
                ASSERT_EQ_INT(mkdir(sub, 0755), 0); /* "stat" is a directory */
        }
        {
                char big[8192];
                _cleanup_(freep) char *dir = path_in(root, "606");

                memset(big, ' ', sizeof(big));
                memcpy(big, "606 (x) S 1 1 1 0 -1 0", strlen("606 (x) S 1 1 1 0 -1 0"));
                ASSERT_EQ_INT(mkdir(dir, 0755), 0);
                free(write_file(dir, "stat", big, sizeof(big), 0, 0644)); /* over the 4096 bound */
        }
        free(write_file(root, "607", "607 (x) S 1 1 1 0 -1 0 0\n", 25, 0, 0644)); /* a file, not a dir */
}

static void load_fake(char dir[static PATH_MAX], ProcTable *t) {
        make_tmpdir(dir);
        build_fake_proc(dir);
        ASSERT_EQ_INT(proc_table_load(dir, t), 0);
}

static bool pid_listed(const pid_t *l, size_t n, pid_t p) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == p)
                        return true;
        return false;
}

/* `got` is `pid` first, then exactly the pids of `rest` in any order, no duplicates. */
static void assert_subtree(const ProcTable *t, pid_t pid, const pid_t *rest, size_t n_rest) {
        _cleanup_(freep) pid_t *got = NULL;
        size_t n = 0;

        ASSERT_EQ_INT(proc_table_subtree(t, pid, &got, &n), 0);
        ASSERT_EQ_INT(n, n_rest + 1);
        ASSERT_EQ_INT(got[0], pid);
        for (size_t i = 0; i < n_rest; i++)
                ASSERT_TRUE(pid_listed(got + 1, n - 1, rest[i]));
        for (size_t i = 1; i < n; i++)
                ASSERT_TRUE(!pid_listed(got + i + 1, n - i - 1, got[i]));
}

static void assert_cgroup_path(const char *slice, const char *expected) {
        _cleanup_(freep) char *s = NULL;

        ASSERT_EQ_INT(unit_name_slice_cgroup_path(slice, &s), 0);
        ASSERT_STREQ(s, expected);
}

static void assert_cgroup_path_invalid(const char *slice) {
        char *s = NULL;

        ASSERT_EQ_INT(unit_name_slice_cgroup_path(slice, &s), -EINVAL);
        ASSERT_TRUE(s == NULL);
}

/* ---- pidfile_parse ---- */

TEST(test_parse_accepts_decimal) {
        PARSE_OK("123", PID_MAX_LIMIT, 123);
        PARSE_OK("123\n", PID_MAX_LIMIT, 123);
        PARSE_OK("1", PID_MAX_LIMIT, 1);
        PARSE_OK("1\n", PID_MAX_LIMIT, 1);
        /* Only `size` bytes count: no NUL needed, nothing read past it. */
        assert_parse_ok("123456", 3, PID_MAX_LIMIT, 123);
        assert_parse_ok("42\nXX", 3, PID_MAX_LIMIT, 42);
}

/* cgrouparch read pid files with int(read()), which takes ASCII whitespace around the number (issue 13). */
TEST(test_parse_accepts_surrounding_whitespace) {
        PARSE_OK(" 123\n", PID_MAX_LIMIT, 123);
        PARSE_OK("123 \n", PID_MAX_LIMIT, 123);
        PARSE_OK("123\r\n", PID_MAX_LIMIT, 123);
        PARSE_OK(" 123", PID_MAX_LIMIT, 123);
        PARSE_OK("123 ", PID_MAX_LIMIT, 123);
        PARSE_OK("\n123", PID_MAX_LIMIT, 123);
        PARSE_OK("123\n\n", PID_MAX_LIMIT, 123);
        PARSE_OK("\t\v\f\r 77 \r\n\t", PID_MAX_LIMIT, 77);
        /* 64 bytes, the most a pid file holds: the pid amid whitespace */
        PARSE_OK("                             4242                              \n", PID_MAX_LIMIT, 4242);
        PARSE_FAILS("12 3", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS("123\n456\n", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS(" \r\n\t", PID_MAX_LIMIT, -EINVAL, "empty");
        /* Not ASCII whitespace: a NUL, a non-breaking space (UTF-8), a vertical bar */
        PARSE_FAILS("123\0", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS("\xc2\xa0" "123", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS("|123", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS(" 0 \n", PID_MAX_LIMIT, -ERANGE, "names pid 0, outside");
        PARSE_FAILS(" 4194305 \n", PID_MAX_LIMIT, -ERANGE, "names pid 4194305, outside");
}

TEST(test_parse_refuses_non_decimal) {
        PARSE_FAILS("", PID_MAX_LIMIT, -EINVAL, "empty");
        PARSE_FAILS("\n", PID_MAX_LIMIT, -EINVAL, "empty");
        PARSE_FAILS("12 3", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS("0x10", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS("-5", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS("+5", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS("12a", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS("123\n456\n", PID_MAX_LIMIT, -EINVAL, "decimal pid");
        PARSE_FAILS("12\0003", PID_MAX_LIMIT, -EINVAL, "decimal pid"); /* an embedded NUL */
        PARSE_FAILS("1.5", PID_MAX_LIMIT, -EINVAL, "decimal pid");
}

TEST(test_parse_refuses_out_of_range) {
        char expected_range[64];

        snprintf(expected_range, sizeof(expected_range), "1..%d", PID_MAX_SMALL);
        PARSE_FAILS("0", PID_MAX_SMALL, -ERANGE, expected_range);
        PARSE_FAILS("0\n", PID_MAX_SMALL, -ERANGE, expected_range);
        PARSE_FAILS("00", PID_MAX_SMALL, -ERANGE, expected_range);
        PARSE_FAILS("32769", PID_MAX_SMALL, -ERANGE, expected_range);
        PARSE_FAILS("32769\n", PID_MAX_SMALL, -ERANGE, expected_range);
        PARSE_FAILS("123456789012345678901234567890", PID_MAX_SMALL, -ERANGE, expected_range);
        /* Past 2^64: must not wrap around into range. */
        PARSE_FAILS("18446744073709551617", PID_MAX_SMALL, -ERANGE, expected_range);
        PARSE_FAILS("4294967297", PID_MAX_SMALL, -ERANGE, expected_range);

        snprintf(expected_range, sizeof(expected_range), "1..%d", PID_MAX_LIMIT);
        PARSE_FAILS("4194305", PID_MAX_LIMIT, -ERANGE, expected_range);
        PARSE_FAILS("99999999999999999999999999999999999999999999999999999999999999\n", PID_MAX_LIMIT, -ERANGE,
                    expected_range);
}

TEST(test_parse_accepts_exactly_pid_max) {
        PARSE_OK("32768", PID_MAX_SMALL, 32768);
        PARSE_OK("32768\n", PID_MAX_SMALL, 32768);
        PARSE_OK("32767", PID_MAX_SMALL, 32767);
        PARSE_OK("4194304", PID_MAX_LIMIT, 4194304);
}

/* ---- pidfile_read ---- */

TEST(test_read_good_file) {
        char dir[PATH_MAX];
        _cleanup_(freep) char *a = NULL, *b = NULL;

        make_tmpdir(dir);
        a = write_file(dir, "a.pid", "4321\n", 5, 0, 0644);
        b = write_file(dir, "b.pid", "77", 2, 0, 0600);
        assert_read_ok(a, true, 4321);
        assert_read_ok(b, true, 77);
        assert_read_ok(a, false, 4321);
        rm_rf(dir);
}

/* cgrouparch's pid files as its users wrote them (issue 13): whitespace around the pid, 64 bytes at most. */
TEST(test_read_file_with_whitespace) {
        char dir[PATH_MAX], fill[66];
        _cleanup_(freep) char *a = NULL, *b = NULL, *c = NULL, *full = NULL, *over = NULL;

        make_tmpdir(dir);
        a = write_file(dir, "a.pid", " 123\n", 5, 0, 0644);
        b = write_file(dir, "b.pid", "123 \n", 5, 0, 0644);
        c = write_file(dir, "c.pid", "123\r\n", 5, 0, 0644);
        assert_read_ok(a, true, 123);
        assert_read_ok(b, true, 123);
        assert_read_ok(c, true, 123);
        memset(fill, ' ', sizeof(fill));
        memcpy(fill + 30, "4321", 4);
        full = write_file(dir, "full.pid", fill, PIDFILE_MAX_BYTES, 0, 0644);
        over = write_file(dir, "over.pid", fill, PIDFILE_MAX_BYTES + 1, 0, 0644);
        assert_read_ok(full, true, 4321);
        assert_read_fails(over, true, -EFBIG, "more than 64");
        rm_rf(dir);
}

TEST(test_read_refuses_fifo_without_blocking) {
        char dir[PATH_MAX];
        _cleanup_(freep) char *p = NULL;

        make_tmpdir(dir);
        p = path_in(dir, "fifo.pid");
        ASSERT_EQ_INT(mkfifo(p, 0644), 0);
        alarm(10); /* a blocking open would hang here: SIGALRM fails the test instead */
        assert_read_fails(p, true, -EINVAL, "a FIFO");
        assert_read_fails(p, false, -EINVAL, "a FIFO");
        alarm(0);
        rm_rf(dir);
}

TEST(test_read_refuses_symlink_to_device) {
        char dir[PATH_MAX];
        _cleanup_(freep) char *p = NULL;

        make_tmpdir(dir);
        p = path_in(dir, "null.pid");
        ASSERT_EQ_INT(symlink("/dev/null", p), 0);
        assert_read_fails(p, true, -EINVAL, "a character device");
        assert_read_fails(p, false, -EINVAL, "a character device");
        rm_rf(dir);
}

TEST(test_read_refuses_directory) {
        char dir[PATH_MAX];
        _cleanup_(freep) char *p = NULL;

        make_tmpdir(dir);
        p = path_in(dir, "dir.pid");
        ASSERT_EQ_INT(mkdir(p, 0755), 0);
        assert_read_fails(p, true, -EINVAL, "a directory");
        rm_rf(dir);
}

TEST(test_read_missing_file) {
        char dir[PATH_MAX];
        _cleanup_(freep) char *p = NULL, *dangling = NULL;

        make_tmpdir(dir);
        p = path_in(dir, "missing.pid");
        assert_read_fails(p, true, -ENOENT, NULL);
        dangling = path_in(dir, "dangling.pid");
        ASSERT_EQ_INT(symlink(p, dangling), 0);
        assert_read_fails(dangling, true, -ENOENT, NULL);
        rm_rf(dir);
}

TEST(test_read_size_bound_is_64) {
        char dir[PATH_MAX], digits[PIDFILE_MAX_BYTES + 2];
        _cleanup_(freep) char *big = NULL, *exact = NULL;

        ASSERT_EQ_INT(PIDFILE_MAX_BYTES, 64);
        memset(digits, '9', sizeof(digits));
        make_tmpdir(dir);
        big = write_file(dir, "65.pid", digits, 65, 0, 0644);
        exact = write_file(dir, "64.pid", digits, 64, 0, 0644);
        assert_read_fails(big, true, -EFBIG, "65 bytes");
        assert_read_fails(big, false, -EFBIG, "65 bytes");
        /* 64 bytes get as far as the parser, which refuses the number, not the size. */
        assert_read_fails(exact, true, -ERANGE, "outside 1..");
        rm_rf(dir);
}

TEST(test_read_refuses_non_root_owner) {
        char dir[PATH_MAX];
        _cleanup_(freep) char *p = NULL;

        make_tmpdir(dir);
        p = write_file(dir, "nobody.pid", "123\n", 4, 65534, 0644);
        assert_read_fails(p, true, -EPERM, "writable by a non-root user");
        assert_read_ok(p, false, 123);
        rm_rf(dir);
}

TEST(test_read_refuses_world_or_group_writable) {
        char dir[PATH_MAX];
        _cleanup_(freep) char *world = NULL, *group = NULL;

        make_tmpdir(dir);
        world = write_file(dir, "world.pid", "123\n", 4, 0, 0666);
        group = write_file(dir, "group.pid", "124\n", 4, 0, 0664);
        assert_read_fails(world, true, -EPERM, "writable by a non-root user");
        assert_read_fails(group, true, -EPERM, "writable by a non-root user");
        assert_read_ok(world, false, 123);
        assert_read_ok(group, false, 124);
        rm_rf(dir);
}

TEST(test_read_follows_symlink_to_regular_file) {
        char dir[PATH_MAX];
        _cleanup_(freep) char *target = NULL, *link = NULL;

        make_tmpdir(dir);
        target = write_file(dir, "real.pid", "999\n", 4, 0, 0644);
        link = path_in(dir, "link.pid");
        ASSERT_EQ_INT(symlink(target, link), 0);
        assert_read_ok(link, true, 999);
        rm_rf(dir);
}

TEST(test_read_refuses_bad_content) {
        char dir[PATH_MAX];
        _cleanup_(freep) char *empty = NULL, *junk = NULL, *zero = NULL;

        make_tmpdir(dir);
        empty = write_file(dir, "empty.pid", "", 0, 0, 0644);
        junk = write_file(dir, "junk.pid", "12 3\n", 5, 0, 0644);
        zero = write_file(dir, "zero.pid", "0\n", 2, 0, 0644);
        assert_read_fails(empty, true, -EINVAL, "empty");
        assert_read_fails(junk, true, -EINVAL, "decimal pid");
        assert_read_fails(zero, true, -ERANGE, "outside 1..");
        rm_rf(dir);
}

/* ---- proc_parse_stat ---- */

TEST(test_parse_stat_weird_comm) {
        pid_t ppid = -1;
        unsigned long flags = 0;

        ASSERT_EQ_INT(proc_parse_stat("1234 (my (weird) proc) S 1 1234 1234 0 -1 4194560 170 0 0 0 1 2 0 0 20 0 1 0 "
                                      "99 1000 50 18446744073709551615\n",
                                      &ppid, &flags, NULL),
                      0);
        ASSERT_EQ_INT(ppid, 1);
        ASSERT_EQ_U64(flags, 4194560);

        ASSERT_EQ_INT(proc_parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 19 0 0", &ppid,
                                      &flags, NULL),
                      0);
        ASSERT_EQ_INT(ppid, 0);
        ASSERT_TRUE(flags & PF_KTHREAD_FLAG);

        /* A comm that looks like the fields after it: the last ')' is the one that counts. */
        ASSERT_EQ_INT(proc_parse_stat("77 () S 9 9 9 0 -1 5) R 42 77 77 34816 77 64 0 0", &ppid, &flags, NULL), 0);
        ASSERT_EQ_INT(ppid, 42);
        ASSERT_EQ_U64(flags, 64);
}

TEST(test_parse_stat_refuses_garbage) {
        static const char *const bad[] = {
                "",
                "garbage",
                "1 (x)",
                "1 (x) S",
                "1 (x) S 1 1 1 0 -1", /* no flags */
                "1 (x) S abc 1 1 0 -1 0",
                "1 (x) S 1 1 1 0 -1 zz",
                "1 (x) S -3 1 1 0 -1 0", /* negative ppid */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                pid_t ppid = -7;
                unsigned long flags = 7;

                if (proc_parse_stat(bad[i], &ppid, &flags, NULL) != -EINVAL) {
                        fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
                        ASSERT_TRUE(false);
                }
                ASSERT_EQ_INT(ppid, -7);
                ASSERT_EQ_U64(flags, 7);
        }
}

/* ---- proc_table on a fake proc root ---- */

TEST(test_proc_table_load_fake_sorted_and_skips_junk) {
        char dir[PATH_MAX];
        _cleanup_(proc_table_done) ProcTable t = { 0 };

        load_fake(dir, &t);
        ASSERT_EQ_INT(t.n, ELEMENTSOF(fake_pids));
        for (size_t i = 0; i < t.n; i++)
                ASSERT_EQ_INT(t.entries[i].pid, fake_pids[i]); /* ascending, nothing else */
        rm_rf(dir);
}

TEST(test_proc_table_find) {
        char dir[PATH_MAX];
        _cleanup_(proc_table_done) ProcTable t = { 0 };
        static const pid_t absent[] = { 0, 4, 12, 13, 14, 555, 600, 601, 602, 603, 604, 605, 606, 607, 99999, -1 };
        const ProcEntry *e;

        load_fake(dir, &t);
        e = proc_table_find(&t, 100);
        ASSERT_TRUE(e != NULL);
        ASSERT_EQ_INT(e->pid, 100);
        ASSERT_EQ_INT(e->ppid, 1);
        e = proc_table_find(&t, 300);
        ASSERT_TRUE(e != NULL);
        ASSERT_EQ_INT(e->ppid, 200);
        e = proc_table_find(&t, 200); /* comm ") S 7 7 7" */
        ASSERT_TRUE(e != NULL);
        ASSERT_EQ_INT(e->ppid, 100);
        e = proc_table_find(&t, 1);
        ASSERT_TRUE(e != NULL);
        ASSERT_EQ_INT(e->ppid, 0);
        for (size_t i = 0; i < ELEMENTSOF(fake_pids); i++)
                ASSERT_TRUE(proc_table_find(&t, fake_pids[i]) == &t.entries[i]);
        for (size_t i = 0; i < ELEMENTSOF(absent); i++)
                ASSERT_TRUE(proc_table_find(&t, absent[i]) == NULL);
        rm_rf(dir);

        ProcTable empty = { 0 };
        ASSERT_TRUE(proc_table_find(&empty, 1) == NULL);
}

TEST(test_proc_table_kthreads) {
        char dir[PATH_MAX];
        _cleanup_(proc_table_done) ProcTable t = { 0 };
        static const pid_t kthreads[] = { 2, 3, 77, 78 };
        static const pid_t users[] = { 1, 79, 100, 101, 200, 201, 202, 300, 301 };

        load_fake(dir, &t);
        for (size_t i = 0; i < ELEMENTSOF(kthreads); i++) {
                const ProcEntry *e = proc_table_find(&t, kthreads[i]);

                ASSERT_TRUE(e != NULL);
                if (!e->kthread)
                        fprintf(stderr, "pid %d not seen as a kernel thread\n", (int) kthreads[i]);
                ASSERT_TRUE(e->kthread);
        }
        for (size_t i = 0; i < ELEMENTSOF(users); i++) {
                const ProcEntry *e = proc_table_find(&t, users[i]);

                ASSERT_TRUE(e != NULL);
                if (e->kthread)
                        fprintf(stderr, "pid %d seen as a kernel thread\n", (int) users[i]);
                ASSERT_TRUE(!e->kthread);
        }
        rm_rf(dir);
}

TEST(test_proc_table_subtree) {
        char dir[PATH_MAX];
        _cleanup_(proc_table_done) ProcTable t = { 0 };

        load_fake(dir, &t);
        /* Three levels; the sibling 101 and its child 202 stay out. */
        assert_subtree(&t, 100, (const pid_t[]) { 200, 201, 300, 301 }, 4);
        /* One branch only: not the sibling 201 nor the cousin 301. */
        assert_subtree(&t, 200, (const pid_t[]) { 300 }, 1);
        assert_subtree(&t, 101, (const pid_t[]) { 202 }, 1);
        /* A leaf, and a pid the table does not know: just the pid itself. */
        assert_subtree(&t, 300, NULL, 0);
        assert_subtree(&t, 4444, NULL, 0);
        rm_rf(dir);
}

TEST(test_proc_table_self_or_ancestor) {
        char dir[PATH_MAX];
        _cleanup_(proc_table_done) ProcTable t = { 0 };

        load_fake(dir, &t);
        /* self = 300: itself, parent, grandparent, and on up to init. */
        ASSERT_TRUE(proc_table_is_self_or_ancestor(&t, 300, 300));
        ASSERT_TRUE(proc_table_is_self_or_ancestor(&t, 200, 300));
        ASSERT_TRUE(proc_table_is_self_or_ancestor(&t, 100, 300));
        ASSERT_TRUE(proc_table_is_self_or_ancestor(&t, 1, 300));
        /* Unrelated: sibling, uncle, cousin, nephew, kernel threads, unknown pids. */
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 201, 300));
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 101, 300));
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 301, 300));
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 202, 300));
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 2, 300));
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 4444, 300));
        /* Children and grandchildren of self are not ancestors. */
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 300, 200));
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 300, 100));
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 200, 100));
        rm_rf(dir);
}

TEST(test_proc_table_cycle_terminates) {
        /* A snapshot taken while pids are reused could link in a loop: 10 → 11 → 12 → 10, and 20 → 20. */
        ProcEntry entries[] = {
                { 1, 0, false, 'S' },   { 10, 12, false, 'S' }, { 11, 10, false, 'S' },
                { 12, 11, false, 'S' }, { 20, 20, false, 'S' },
        };
        ProcTable t = { entries, ELEMENTSOF(entries) };
        _cleanup_(freep) pid_t *sub = NULL, *self_loop = NULL;
        size_t n = 0, n_self = 0;

        alarm(10); /* an endless loop fails the test instead of hanging it */
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 1, 10));
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 99, 11));
        ASSERT_TRUE(!proc_table_is_self_or_ancestor(&t, 1, 20));
        ASSERT_TRUE(proc_table_is_self_or_ancestor(&t, 12, 10));
        ASSERT_TRUE(proc_table_is_self_or_ancestor(&t, 20, 20));

        /* The subtree terminates too, within the table's size, naming only members of the loop. */
        ASSERT_EQ_INT(proc_table_subtree(&t, 10, &sub, &n), 0);
        ASSERT_TRUE(n >= 3 && n <= t.n + 1);
        ASSERT_EQ_INT(sub[0], 10);
        for (size_t i = 0; i < n; i++)
                ASSERT_TRUE(sub[i] == 10 || sub[i] == 11 || sub[i] == 12);
        ASSERT_TRUE(pid_listed(sub, n, 11) && pid_listed(sub, n, 12));
        ASSERT_EQ_INT(proc_table_subtree(&t, 20, &self_loop, &n_self), 0);
        ASSERT_EQ_INT(n_self, 1); /* its own parent is not its child */
        ASSERT_EQ_INT(self_loop[0], 20);
        alarm(0);
}

/* ---- proc_table on the real /proc ---- */

TEST(test_proc_table_load_real_proc) {
        _cleanup_(proc_table_done) ProcTable t = { 0 };
        const ProcEntry *e;

        ASSERT_EQ_INT(proc_table_load("/proc", &t), 0);
        ASSERT_TRUE(t.n > 1);
        for (size_t i = 1; i < t.n; i++)
                ASSERT_TRUE(t.entries[i - 1].pid < t.entries[i].pid);

        e = proc_table_find(&t, getpid());
        ASSERT_TRUE(e != NULL);
        ASSERT_EQ_INT(e->ppid, getppid());
        ASSERT_TRUE(!e->kthread);
        ASSERT_TRUE(proc_table_is_self_or_ancestor(&t, getpid(), getpid()));
        ASSERT_TRUE(proc_table_is_self_or_ancestor(&t, getppid(), getpid()));

        if (access("/proc/2/stat", F_OK) == 0) {
                e = proc_table_find(&t, 2);
                ASSERT_TRUE(e != NULL);
                ASSERT_TRUE(e->kthread);
        }
        ASSERT_EQ_INT(proc_table_load("/nonexistent-proc-root", &t) < 0, true);
}

/* ---- unit names for the scope ---- */

TEST(test_slice_cgroup_path) {
        assert_cgroup_path("a.slice", "/a.slice");
        assert_cgroup_path("a-b.slice", "/a.slice/a-b.slice");
        assert_cgroup_path("a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice");
        assert_cgroup_path("sk-test_cgroup_a.slice", "/sk.slice/sk-test_cgroup_a.slice");
}

TEST(test_slice_cgroup_path_escaped) {
        assert_cgroup_path("a\\x2db-c.slice", "/a\\x2db.slice/a\\x2db-c.slice");
        assert_cgroup_path("\\x2ehidden-x\\x20y.slice", "/\\x2ehidden.slice/\\x2ehidden-x\\x20y.slice");
}

TEST(test_slice_cgroup_path_deep) {
        /* 100 levels: the output buffer must hold every prefix. */
        char slice[256], expected[16384];
        size_t o = 0, e = 0;

        for (int i = 0; i < 100; i++)
                o += (size_t) snprintf(slice + o, sizeof(slice) - o, "%sa", i ? "-" : "");
        for (int i = 0; i < 100; i++)
                e += (size_t) snprintf(expected + e, sizeof(expected) - e, "/%.*s.slice", 2 * i + 1, slice);
        snprintf(slice + o, sizeof(slice) - o, ".slice");
        assert_cgroup_path(slice, expected);
}

TEST(test_slice_cgroup_path_invalid) {
        assert_cgroup_path_invalid("a.scope");
        assert_cgroup_path_invalid("-a.slice");
        assert_cgroup_path_invalid("a--b.slice");
        assert_cgroup_path_invalid("a-.slice");
        assert_cgroup_path_invalid(".slice");
        assert_cgroup_path_invalid("");
        assert_cgroup_path_invalid("a");
        assert_cgroup_path_invalid("a.slice.bak");
}

TEST(test_group_scope) {
        _cleanup_(freep) char *a = NULL, *b = NULL, *c = NULL;

        ASSERT_EQ_INT(unit_name_group_scope("a-b.slice", &a), 0);
        ASSERT_STREQ(a, "a-b.scope");
        ASSERT_EQ_INT(unit_name_group_scope("a.slice", &b), 0);
        ASSERT_STREQ(b, "a.scope");
        ASSERT_EQ_INT(unit_name_group_scope("a\\x2db-c.slice", &c), 0);
        ASSERT_STREQ(c, "a\\x2db-c.scope");
}

TEST(test_group_scope_invalid) {
        static const char *const bad[] = { "a-b.scope", ".slice", "", "a", "slice", "a.slice.x" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *s = NULL;

                ASSERT_EQ_INT(unit_name_group_scope(bad[i], &s), -EINVAL);
                ASSERT_TRUE(s == NULL);
        }
}

int main(void) {
        struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND };

        ASSERT_EQ_INT(sigaction(SIGABRT, &sa, NULL), 0);
        ASSERT_EQ_INT(sigaction(SIGALRM, &sa, NULL), 0);

        RUN(test_parse_accepts_decimal);
        RUN(test_parse_accepts_surrounding_whitespace);
        RUN(test_read_file_with_whitespace);
        RUN(test_parse_refuses_non_decimal);
        RUN(test_parse_refuses_out_of_range);
        RUN(test_parse_accepts_exactly_pid_max);
        RUN(test_read_good_file);
        RUN(test_read_refuses_fifo_without_blocking);
        RUN(test_read_refuses_symlink_to_device);
        RUN(test_read_refuses_directory);
        RUN(test_read_missing_file);
        RUN(test_read_size_bound_is_64);
        RUN(test_read_refuses_non_root_owner);
        RUN(test_read_refuses_world_or_group_writable);
        RUN(test_read_follows_symlink_to_regular_file);
        RUN(test_read_refuses_bad_content);
        RUN(test_parse_stat_weird_comm);
        RUN(test_parse_stat_refuses_garbage);
        RUN(test_proc_table_load_fake_sorted_and_skips_junk);
        RUN(test_proc_table_find);
        RUN(test_proc_table_kthreads);
        RUN(test_proc_table_subtree);
        RUN(test_proc_table_self_or_ancestor);
        RUN(test_proc_table_cycle_terminates);
        RUN(test_proc_table_load_real_proc);
        RUN(test_slice_cgroup_path);
        RUN(test_slice_cgroup_path_escaped);
        RUN(test_slice_cgroup_path_deep);
        RUN(test_slice_cgroup_path_invalid);
        RUN(test_group_scope);
        RUN(test_group_scope_invalid);
        return 0;
}
