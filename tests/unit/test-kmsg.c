/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kmsg.h"
#include "macro.h"
#include "tests.h"

/* Fixtures live in tests/data/kmsg/ (README.md there): whole OOM reports read from /dev/kmsg on this 6.18 host
 * (v1 memory cgroup), boot records with KEY=VALUE lines, and v2 6.1 / v1 4.19 reports written from the kernel's
 * format strings. */
static char *fixture(const char *name, size_t *ret_size) {
        return test_fixture("kmsg", name, ret_size);
}

#define S(lit) (lit), (sizeof(lit) - 1)

/* The next record of a fixture file: a line and the " KEY=VALUE" lines after it. 0 at the end. */
static int next_record(const char **p, const char *end, const char **ret, size_t *ret_size) {
        const char *q = *p;

        if (q >= end)
                return 0;
        do {
                const char *nl = memchr(q, '\n', (size_t) (end - q));

                q = nl ? nl + 1 : end;
        } while (q < end && *q == ' ');
        *ret = *p;
        *ret_size = (size_t) (q - *p);
        *p = q;
        return 1;
}

/* The file's records, each parsed; the one whose text starts with `prefix` in *ret. Returns how many. */
static size_t parse_all(const char *data, size_t size, const char *prefix, KmsgRecord *ret) {
        const char *p = data, *rec;
        size_t n = 0, rec_size, found = 0;

        while (next_record(&p, data + size, &rec, &rec_size)) {
                KmsgRecord r;

                ASSERT_EQ_INT(kmsg_parse_record(rec, rec_size, &r), 0);
                if (prefix && r.text_size >= strlen(prefix) && memcmp(r.text, prefix, strlen(prefix)) == 0) {
                        *ret = r;
                        found++;
                }
                n++;
        }
        ASSERT_EQ_INT(found, prefix ? 1 : 0);
        return n;
}

static bool text_is(const KmsgRecord *r, const char *s) {
        return r->text_size == strlen(s) && memcmp(r->text, s, r->text_size) == 0;
}

/* ---- records ---- */

TEST(test_record_real_reports) {
        static const struct {
                const char *file;
                uint64_t seq, usec;
        } reports[] = {
                { "v1-6.18.44-oom-1.kmsg", 662, 357619497 },
                { "v1-6.18.44-oom-2.kmsg", 741, 357692057 },
                { "v1-6.18.44-oom-3.kmsg", 820, 357773586 },
        };

        for (size_t i = 0; i < ELEMENTSOF(reports); i++) {
                _cleanup_(freep) char *data = NULL;
                const char *p, *rec;
                size_t size, rec_size;
                uint64_t seq = 0, usec = 0;
                KmsgRecord r, oom;
                bool first = true;

                data = fixture(reports[i].file, &size);
                /* A whole report, from "invoked oom-killer" to "Killed process": every record reads. */
                ASSERT_EQ_INT(parse_all(data, size, "oom-kill:", &oom), 79);
                ASSERT_EQ_INT(oom.priority, 6); /* KERN_INFO, facility 0 (kernel) */
                ASSERT_EQ_U64(oom.seq, reports[i].seq);
                ASSERT_EQ_U64(oom.usec, reports[i].usec);
                ASSERT_TRUE(!oom.continuation && !oom.fragment);
                ASSERT_TRUE(oom.text[oom.text_size] == '\n');
                for (p = data; next_record(&p, data + size, &rec, &rec_size); first = false) {
                        ASSERT_EQ_INT(kmsg_parse_record(rec, rec_size, &r), 0);
                        ASSERT_TRUE(r.text == strchr(rec, ';') + 1);
                        ASSERT_TRUE(r.priority == 3 || r.priority == 4 || r.priority == 6);
                        /* Read in one go by the capture: consecutive sequence numbers, time going on. */
                        ASSERT_TRUE(first || (r.seq == seq + 1 && r.usec >= usec));
                        seq = r.seq;
                        usec = r.usec;
                }
        }
}

TEST(test_record_key_value_lines) {
        _cleanup_(freep) char *data = NULL;
        const char *p, *rec;
        size_t size, rec_size;
        KmsgRecord r;

        data = fixture("6.18.44-boot.kmsg", &size);
        p = data;
        ASSERT_TRUE(next_record(&p, data + size, &rec, &rec_size));
        ASSERT_EQ_INT(kmsg_parse_record(rec, rec_size, &r), 0);
        ASSERT_EQ_INT(r.priority, 6);
        ASSERT_EQ_U64(r.seq, 193);
        ASSERT_EQ_U64(r.usec, 295151);
        /* The text ends at its newline; SUBSYSTEM= and DEVICE= are not part of it. */
        ASSERT_TRUE(text_is(&r, "acpi PNP0A08:00: _OSC: OS supports [ExtendedConfig ASPM ClockPM Segments MSI "
                                "HPX-Type3]"));
        ASSERT_TRUE(memmem(rec, rec_size, "\n SUBSYSTEM=acpi\n DEVICE=+acpi:PNP0A08:00\n", 41) != NULL);

        ASSERT_TRUE(next_record(&p, data + size, &rec, &rec_size));
        ASSERT_EQ_INT(kmsg_parse_record(rec, rec_size, &r), 0);
        /* Still escaped, as the kernel wrote it. */
        ASSERT_TRUE(text_is(&r, "rcu: \\x09RCU restricting CPUs from NR_CPUS=256 to nr_cpu_ids=2."));

        ASSERT_TRUE(next_record(&p, data + size, &rec, &rec_size));
        ASSERT_EQ_INT(kmsg_parse_record(rec, rec_size, &r), 0);
        ASSERT_EQ_INT(r.priority, 5);
        ASSERT_EQ_U64(r.seq, 0);
        ASSERT_EQ_U64(r.usec, 0);
        ASSERT_TRUE(!next_record(&p, data + size, &rec, &rec_size));

        /* The same records with the KEY=VALUE lines' newline missing at the very end. */
        ASSERT_EQ_INT(kmsg_parse_record(S("6,193,295151,-;acpi x\n SUBSYSTEM=acpi\n DEVICE=+acpi:PNP0A08:00"), &r), 0);
        ASSERT_TRUE(text_is(&r, "acpi x"));
        /* A value is escaped like the text and may hold spaces. */
        ASSERT_EQ_INT(kmsg_parse_record(S("6,1,2,-;x\n DEVICE=+usb:1 2\\x0a\n"), &r), 0);
}

TEST(test_record_shapes) {
        KmsgRecord r;

        /* CONFIG_PRINTK_CALLER adds a field after the flags. */
        ASSERT_EQ_INT(kmsg_parse_record(S("6,1234,5678,-,caller=T4321;hello\n"), &r), 0);
        ASSERT_EQ_INT(r.priority, 6);
        ASSERT_EQ_U64(r.seq, 1234);
        ASSERT_EQ_U64(r.usec, 5678);
        ASSERT_TRUE(text_is(&r, "hello"));
        /* Older kernels: a line split by pr_cont, 'c' on its first fragment, '+' on the later ones. */
        ASSERT_EQ_INT(kmsg_parse_record(S("6,1200,987654,c;hog cpuset=\n"), &r), 0);
        ASSERT_TRUE(r.continuation && !r.fragment);
        ASSERT_TRUE(text_is(&r, "hog cpuset="));
        ASSERT_EQ_INT(kmsg_parse_record(S("6,1201,987660,+;/ mems_allowed=0\n"), &r), 0);
        ASSERT_TRUE(!r.continuation && r.fragment);
        /* Facility 1 (user, written to /dev/kmsg by systemd and friends), level 6. */
        ASSERT_EQ_INT(kmsg_parse_record(S("14,700,5000000,-;systemd[1]: Started foo.service"), &r), 0);
        ASSERT_EQ_INT(r.priority, 14);
        ASSERT_TRUE(text_is(&r, "systemd[1]: Started foo.service"));
        ASSERT_EQ_INT(kmsg_parse_record(S("2047,18446744073709551615,18446744073709551615,-;\n"), &r), 0);
        ASSERT_EQ_INT(r.priority, 2047);
        ASSERT_EQ_U64(r.seq, UINT64_MAX);
        ASSERT_EQ_U64(r.usec, UINT64_MAX);
        ASSERT_EQ_INT(r.text_size, 0);
}

TEST(test_record_garbage) {
        static const char *const bad[] = {
                "",
                "\n",
                "6,1,2,-\n",           /* no ';' */
                "6,1,2;x\n",           /* no flags */
                "6,1;x\n",
                ";x\n",
                "6,,2,-;x\n",
                "x,1,2,-;x\n",
                "-6,1,2,-;x\n",
                "+6,1,2,-;x\n",
                " 6,1,2,-;x\n",
                "6,1,2,;x\n",          /* empty flags */
                "6,1,2,-,;x\n",        /* empty extra field */
                "6,1,2,- ;x\n",
                "2048,1,2,-;x\n",      /* facility is 8 bits */
                "99999999999999999999999,1,2,-;x\n",
                "6,1,2,-;tab\there\n", /* the kernel escapes these */
                "6,1,2,-;\x80\n",
                "6,1,2,-;x\nSUBSYSTEM=acpi\n", /* KEY=VALUE lines start with a space */
                "6,1,2,-;x\n\n",
                "6,1,2,-;x\n \n",
                "6,1,2,-;x\n SUBSYSTEM\n",
                "6,1,2,-;x\n =acpi\n",
                "6,1,2,-;x\n SUB SYSTEM=acpi\n",
                "6,1,2,-;x\n SUBSYSTEM=a\tb\n",
        };
        KmsgRecord r, before;
        char big[KMSG_RECORD_MAX + 2];

        memset(&r, 0x5a, sizeof(r));
        before = r;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int got = kmsg_parse_record(bad[i], strlen(bad[i]), &r);

                if (got != -EINVAL)
                        fprintf(stderr, "bad[%zu] = \"%s\": %d\n", i, bad[i], got);
                ASSERT_EQ_INT(got, -EINVAL);
        }
        ASSERT_EQ_INT(kmsg_parse_record(S("6,1,2,-;x\0y\n"), &r), -EINVAL);
        ASSERT_EQ_INT(kmsg_parse_record(S("6,18446744073709551616,2,-;x\n"), &r), -ERANGE);
        ASSERT_EQ_INT(kmsg_parse_record(S("6,1,18446744073709551616,-;x\n"), &r), -ERANGE);
        ASSERT_EQ_INT(kmsg_parse_record(NULL, 0, &r), -EINVAL);

        /* At most what one read(2) can return. */
        memcpy(big, "6,1,2,-;", 8);
        memset(big + 8, 'x', sizeof(big) - 8);
        big[KMSG_RECORD_MAX - 1] = '\n';
        ASSERT_EQ_INT(kmsg_parse_record(big, KMSG_RECORD_MAX, &r), 0);
        ASSERT_EQ_INT(r.text_size, KMSG_RECORD_MAX - 9);
        r = before;
        big[KMSG_RECORD_MAX - 1] = 'x';
        big[KMSG_RECORD_MAX] = '\n';
        ASSERT_EQ_INT(kmsg_parse_record(big, KMSG_RECORD_MAX + 1, &r), -EINVAL);
        ASSERT_TRUE(memcmp(&r, &before, sizeof(r)) == 0);
}

/* ---- oom-kill: ---- */

static KmsgOomKill oom; /* 8 KiB: not on the stack of every test */

static int parse_oom(const char *text) {
        return kmsg_parse_oom_kill(text, strlen(text), &oom);
}

TEST(test_oom_kill_real) {
        static const struct {
                const char *file, *comm;
                uint32_t pid;
        } reports[] = {
                { "v1-6.18.44-oom-1.kmsg", "hog", 1963 },
                { "v1-6.18.44-oom-2.kmsg", "my hog (2)", 1966 },
                /* prctl(PR_SET_NAME, "h\\\xc3\xa9\t) x"): kmsg wrote h\x5c\xc3\xa9\x09) x */
                { "v1-6.18.44-oom-3.kmsg", "h\\\xc3\xa9\t) x", 1971 },
        };

        for (size_t i = 0; i < ELEMENTSOF(reports); i++) {
                _cleanup_(freep) char *data = NULL;
                KmsgRecord r;
                size_t size;

                data = fixture(reports[i].file, &size);
                parse_all(data, size, "oom-kill:", &r);
                memset(&oom, 0x5a, sizeof(oom));
                ASSERT_EQ_INT(kmsg_parse_oom_kill(r.text, r.text_size, &oom), 0);
                ASSERT_STREQ(oom.constraint, "CONSTRAINT_MEMCG");
                ASSERT_TRUE(oom.has_oom_memcg);
                /* The scratch cgroup was /kmsgfix-<the capture script's pid>, 1960 in that run. */
                ASSERT_STREQ(oom.oom_memcg, "/kmsgfix-1960");
                ASSERT_STREQ(oom.task_memcg, "/kmsgfix-1960/hog,1 b.scope");
                ASSERT_STREQ(oom.comm, reports[i].comm);
                ASSERT_EQ_INT(oom.pid, reports[i].pid);
                ASSERT_EQ_INT(oom.uid, 0);
        }
}

TEST(test_oom_kill_written_from_source) {
        _cleanup_(freep) char *v2 = NULL, *global = NULL, *old = NULL;
        KmsgRecord r;
        size_t size;

        v2 = fixture("v2-6.1-memcg-oom.kmsg", &size);
        ASSERT_EQ_INT(parse_all(v2, size, "oom-kill:", &r), 4);
        ASSERT_EQ_INT(kmsg_parse_oom_kill(r.text, r.text_size, &oom), 0);
        ASSERT_STREQ(oom.oom_memcg, "/sk.slice/sk-batch.slice");
        ASSERT_STREQ(oom.task_memcg, "/sk.slice/sk-batch.slice/run-u42.scope");
        ASSERT_STREQ(oom.comm, "python3");
        ASSERT_EQ_INT(oom.pid, 8123);
        ASSERT_EQ_INT(oom.uid, 1000);

        /* A global OOM: ",global_oom" and no oom_memcg=. */
        global = fixture("v2-6.1-global-oom.kmsg", &size);
        ASSERT_EQ_INT(parse_all(global, size, "oom-kill:", &r), 3);
        ASSERT_EQ_INT(kmsg_parse_oom_kill(r.text, r.text_size, &oom), 0);
        ASSERT_STREQ(oom.constraint, "CONSTRAINT_NONE");
        ASSERT_TRUE(!oom.has_oom_memcg);
        ASSERT_STREQ(oom.oom_memcg, "");
        ASSERT_STREQ(oom.task_memcg, "/user.slice/user-1000.slice/session-3.scope");
        ASSERT_STREQ(oom.comm, "stress-ng-vm");
        ASSERT_EQ_INT(oom.pid, 5555);

        old = fixture("v1-4.19-memcg-oom.kmsg", &size);
        ASSERT_EQ_INT(parse_all(old, size, "oom-kill:", &r), 4);
        ASSERT_EQ_INT(kmsg_parse_oom_kill(r.text, r.text_size, &oom), 0);
        ASSERT_STREQ(oom.oom_memcg, "/user.slice/user-1000.slice");
        ASSERT_STREQ(oom.task_memcg, "/user.slice/user-1000.slice/session-2.scope");
        ASSERT_EQ_INT(oom.pid, 2107);
}

TEST(test_oom_kill_hostile_names) {
        /* Anyone can name a task: a comm that looks like fields does not move the memcg. */
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                                "oom_memcg=/a.slice,task_memcg=/a.slice/b.scope,task=x,task=y,pid=1,uid=2,pid=77,uid=1000"),
                      0);
        ASSERT_STREQ(oom.task_memcg, "/a.slice/b.scope");
        ASSERT_STREQ(oom.comm, "x,task=y,pid=1,uid=2");
        ASSERT_EQ_INT(oom.pid, 77);
        ASSERT_EQ_INT(oom.uid, 1000);
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                                "oom_memcg=/a.slice,task_memcg=/a.slice/b.scope,task=,task_memcg=/,pid=5,uid=0"),
                      0);
        ASSERT_STREQ(oom.task_memcg, "/a.slice/b.scope");
        ASSERT_STREQ(oom.comm, ",task_memcg=/");
        /* An empty comm (prctl(PR_SET_NAME, "")). */
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=/a,task_memcg=/a,"
                                "task=,pid=5,uid=0"),
                      0);
        ASSERT_STREQ(oom.comm, "");

        /* Paths with ",task_memcg=" in them: the victim's memcg lies under the one that hit its limit. */
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                                "oom_memcg=/a,task_memcg=/b,task_memcg=/a,task_memcg=/b/c.scope,task=hog,pid=9,uid=0"),
                      0);
        ASSERT_STREQ(oom.oom_memcg, "/a,task_memcg=/b");
        ASSERT_STREQ(oom.task_memcg, "/a,task_memcg=/b/c.scope");
        /* mems_allowed= and a cpuset's name may hold commas; a node mask is a list too. */
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_CPUSET,nodemask=0-1,3,cpuset=x,y,mems_allowed=0-1,3,"
                                "oom_memcg=/,task_memcg=/system.slice/a b.service,task=a,pid=2,uid=0"),
                      0);
        ASSERT_STREQ(oom.constraint, "CONSTRAINT_CPUSET");
        ASSERT_STREQ(oom.oom_memcg, "/");
        ASSERT_STREQ(oom.task_memcg, "/system.slice/a b.service");
        /* Escaped bytes in paths, unescaped; hex in either case. */
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=/a\\x5cb,"
                                "task_memcg=/a\\x5Cb/\\xc3\\xa9\\x0a,task=\\x01,pid=2,uid=0"),
                      0);
        ASSERT_STREQ(oom.oom_memcg, "/a\\b");
        ASSERT_STREQ(oom.task_memcg, "/a\\b/\xc3\xa9\n");
        ASSERT_STREQ(oom.comm, "\x01");
}

TEST(test_oom_kill_numbers) {
        /* uid is printed with %d: one above INT32_MAX comes negative. */
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=/a,task_memcg=/a,"
                                "task=t,pid=2147483647,uid=-1294967296"),
                      0);
        ASSERT_EQ_U64(oom.uid, UINT32_C(3000000000));
        ASSERT_EQ_U64(oom.pid, INT32_MAX);
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=/a,task_memcg=/a,"
                                "task=t,pid=1,uid=-2147483648"),
                      0);
        ASSERT_EQ_U64(oom.uid, UINT32_C(2147483648));
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=/a,task_memcg=/a,"
                                "task=t,pid=1,uid=2147483647"),
                      0);
        ASSERT_EQ_U64(oom.uid, INT32_MAX);
}

TEST(test_oom_kill_not_this) {
        static const char *const other[] = {
                "",
                "oom-kill",
                "Oom-kill:constraint=CONSTRAINT_MEMCG",
                " oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/,task=a,pid=1,uid=0",
                "hog invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
                "Memory cgroup out of memory: Killed process 1 (a) total-vm:1kB, anon-rss:1kB, file-rss:1kB",
                "oom_reaper: reaped process 8123 (python3), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
                /* the tail of a line the kernel split, in the next record */
                ",oom_memcg=/a,task_memcg=/a/b,task=hog,pid=1,uid=0",
        };

        memset(&oom, 0x5a, sizeof(oom));
        for (size_t i = 0; i < ELEMENTSOF(other); i++)
                ASSERT_EQ_INT(parse_oom(other[i]), -ENOMSG);
        ASSERT_EQ_INT(kmsg_parse_oom_kill(NULL, 0, &oom), -ENOMSG);
        ASSERT_EQ_INT(oom.pid, 0x5a5a5a5a);
}

TEST(test_oom_kill_broken) {
        static const char *const broken[] = {
                "oom-kill:",
                "oom-kill:constraint=",
                "oom-kill:constraint=,nodemask=(null),oom_memcg=/a,task_memcg=/a,task=t,pid=1,uid=0",
                "oom-kill:constraint=constraint_memcg,nodemask=(null),oom_memcg=/a,task_memcg=/a,task=t,pid=1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG_AND_SOMETHING_LONG,oom_memcg=/a,task_memcg=/a,task=t,pid=1,uid=0",
                "oom-kill:nodemask=(null),oom_memcg=/a,task_memcg=/a,task=t,pid=1,uid=0",
                /* the first fragment of a line the kernel split (a record 'c' on older kernels, or full) */
                "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=/a,task_memcg=/a/b",
                "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=/a,task=t,pid=1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=t,pid=0,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=t,pid=2147483648,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=t,pid=-1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=t,pid=1,uid=",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=t,pid=1,uid=x",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=t,pid=1,uid=2147483648",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=t,pid=1,uid=-2147483649",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=t,pid=1,uid=0,",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=t,pid=1 ,uid=0",
                /* not paths */
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=a,task_memcg=/a,task=t,pid=1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=,task=t,pid=1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=(error),task=t,pid=1,uid=0",
                /* escapes the kernel does not write, raw bytes it escapes, NUL once unescaped */
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a\\x0,task=t,pid=1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a\\xzz,task=t,pid=1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a\\n,task=t,pid=1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a\\x00b,task=t,pid=1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a\tb,task=t,pid=1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=\\x00,pid=1,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=\xc3\xa9,pid=1,uid=0",
                /* a comm longer than KMSG_COMM_MAX - 1 */
                ("oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task="
                 "0123456789012345678901234567890123456789012345678901234567890123,pid=1,uid=0"),
        };

        memset(&oom, 0x5a, sizeof(oom));
        for (size_t i = 0; i < ELEMENTSOF(broken); i++) {
                int got = parse_oom(broken[i]);

                if (got != -EINVAL)
                        fprintf(stderr, "broken[%zu] = \"%s\": %d\n", i, broken[i], got);
                ASSERT_EQ_INT(got, -EINVAL);
        }
        ASSERT_EQ_INT(kmsg_parse_oom_kill(S("oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a\0,task=t,"
                                            "pid=1,uid=0"), &oom), -EINVAL);
        ASSERT_EQ_INT(oom.pid, 0x5a5a5a5a);
        /* 63 bytes of comm fit. */
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task="
                                "012345678901234567890123456789012345678901234567890123456789012,pid=1,uid=0"),
                      0);
        ASSERT_EQ_INT(strlen(oom.comm), KMSG_COMM_MAX - 1);
}

TEST(test_oom_kill_long_paths) {
        static char text[6 * KMSG_CGROUP_PATH_MAX];
        int n;

        /* pr_cont_kernfs_path() writes this for a path it cannot fit. */
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=(name too long),"
                                "task_memcg=(name too long),task=t,pid=1,uid=0"),
                      -ENAMETOOLONG);
        ASSERT_EQ_INT(parse_oom("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=/a,"
                                "task_memcg=(name too long),task=t,pid=1,uid=0"),
                      -ENAMETOOLONG);
        /* KMSG_CGROUP_PATH_MAX - 1 bytes fit, counted unescaped: "/" and 4094 escaped 'A's. */
        n = snprintf(text, sizeof(text), "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),global_oom,task_memcg=/");
        for (int i = 0; i < KMSG_CGROUP_PATH_MAX - 2; i++)
                n += snprintf(text + n, sizeof(text) - (size_t) n, "\\x41");
        snprintf(text + n, sizeof(text) - (size_t) n, ",task=t,pid=1,uid=0");
        ASSERT_EQ_INT(parse_oom(text), 0);
        ASSERT_EQ_INT(strlen(oom.task_memcg), KMSG_CGROUP_PATH_MAX - 1);
        ASSERT_TRUE(oom.task_memcg[1] == 'A' && oom.task_memcg[KMSG_CGROUP_PATH_MAX - 2] == 'A');
        n = snprintf(text, sizeof(text), "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),global_oom,task_memcg=/");
        for (int i = 0; i < KMSG_CGROUP_PATH_MAX - 1; i++)
                text[n++] = 'A';
        snprintf(text + n, sizeof(text) - (size_t) n, ",task=t,pid=1,uid=0");
        ASSERT_EQ_INT(parse_oom(text), -ENAMETOOLONG);
}

/* ---- Killed process ---- */

TEST(test_killed_process_real) {
        static const struct {
                const char *file, *comm;
                uint32_t pid;
                uint64_t file_rss_kb;
        } reports[] = {
                { "v1-6.18.44-oom-1.kmsg", "hog", 1963, 5652 },
                { "v1-6.18.44-oom-2.kmsg", "my hog (2)", 1966, 5912 },
                { "v1-6.18.44-oom-3.kmsg", "h\\\xc3\xa9\t) x", 1971, 5628 },
        };

        for (size_t i = 0; i < ELEMENTSOF(reports); i++) {
                _cleanup_(freep) char *data = NULL;
                KmsgKilledProcess k;
                KmsgRecord r;
                size_t size;

                data = fixture(reports[i].file, &size);
                parse_all(data, size, "Memory cgroup out of memory: Killed process ", &r);
                ASSERT_EQ_INT(r.priority, 3); /* KERN_ERR */
                ASSERT_EQ_INT(kmsg_parse_killed_process(r.text, r.text_size, &k), 0);
                ASSERT_EQ_INT(k.pid, reports[i].pid);
                ASSERT_STREQ(k.comm, reports[i].comm);
                ASSERT_TRUE(k.memcg);
                ASSERT_EQ_U64(k.total_vm_kb, i == 1 ? 44088 : 44068);
                ASSERT_EQ_U64(k.anon_rss_kb, 32512);
                ASSERT_EQ_U64(k.file_rss_kb, reports[i].file_rss_kb);
                ASSERT_EQ_U64(k.shmem_rss_kb, 0);
                ASSERT_TRUE(k.has_uid);
                ASSERT_EQ_INT(k.uid, 0);
                ASSERT_TRUE(k.has_oom_score_adj);
                ASSERT_EQ_INT(k.oom_score_adj, 0);
        }
}

TEST(test_killed_process_written_from_source) {
        _cleanup_(freep) char *v2 = NULL, *global = NULL, *old = NULL;
        KmsgKilledProcess k;
        KmsgRecord r;
        size_t size;

        v2 = fixture("v2-6.1-memcg-oom.kmsg", &size);
        parse_all(v2, size, "Memory cgroup out of memory: Killed process ", &r);
        ASSERT_EQ_INT(kmsg_parse_killed_process(r.text, r.text_size, &k), 0);
        ASSERT_EQ_INT(k.pid, 8123);
        ASSERT_STREQ(k.comm, "python3");
        ASSERT_EQ_U64(k.anon_rss_kb, 1046528);
        ASSERT_TRUE(k.memcg && k.has_uid);
        ASSERT_EQ_INT(k.uid, 1000);

        global = fixture("v2-6.1-global-oom.kmsg", &size);
        parse_all(global, size, "Out of memory: Killed process ", &r);
        ASSERT_EQ_INT(kmsg_parse_killed_process(r.text, r.text_size, &k), 0);
        ASSERT_TRUE(!k.memcg);
        ASSERT_EQ_INT(k.pid, 5555);
        ASSERT_EQ_U64(k.shmem_rss_kb, 32);
        ASSERT_EQ_INT(k.oom_score_adj, 1000);

        /* 4.19: a bare "Killed process" without UID:, after a "Kill process" line that is not this. */
        old = fixture("v1-4.19-memcg-oom.kmsg", &size);
        parse_all(old, size, "Killed process ", &r);
        ASSERT_EQ_INT(kmsg_parse_killed_process(r.text, r.text_size, &k), 0);
        ASSERT_EQ_INT(k.pid, 2107);
        ASSERT_STREQ(k.comm, "hog");
        ASSERT_EQ_U64(k.total_vm_kb, 44068);
        ASSERT_EQ_U64(k.file_rss_kb, 5616);
        ASSERT_TRUE(!k.has_uid && !k.has_oom_score_adj && !k.memcg);
        parse_all(old, size, "Memory cgroup out of memory: Kill process ", &r);
        ASSERT_EQ_INT(kmsg_parse_killed_process(r.text, r.text_size, &k), -ENOMSG);
}

TEST(test_killed_process_shapes) {
        KmsgKilledProcess k;

#define KILLED(lit) kmsg_parse_killed_process(S(lit), &k)
        /* A comm holding ") total-vm:": only numbers follow the kernel's. */
        ASSERT_EQ_INT(KILLED("Out of memory: Killed process 9 (a) total-vm:1kB) total-vm:2kB, anon-rss:3kB, "
                             "file-rss:4kB, shmem-rss:5kB, UID:6 pgtables:7kB oom_score_adj:-1000"),
                      0);
        ASSERT_STREQ(k.comm, "a) total-vm:1kB");
        ASSERT_EQ_U64(k.total_vm_kb, 2);
        ASSERT_EQ_U64(k.shmem_rss_kb, 5);
        ASSERT_EQ_INT(k.uid, 6);
        ASSERT_EQ_INT(k.oom_score_adj, -1000);
        ASSERT_EQ_INT(KILLED("Out of memory (oom_kill_allocating_task): Killed process 9 ((x)) total-vm:1kB, "
                             "anon-rss:2kB, file-rss:3kB, shmem-rss:0kB, UID:4294967295 pgtables:7kB oom_score_adj:0"),
                      0);
        ASSERT_TRUE(!k.memcg);
        ASSERT_STREQ(k.comm, "(x)");
        ASSERT_EQ_U64(k.uid, UINT32_MAX);
        /* Before 4.9: no shmem-rss:. A later kernel's key is skipped. */
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB"), 0);
        ASSERT_EQ_U64(k.shmem_rss_kb, 0);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB, swap-rss:9kB, "
                             "UID:0 pgtables:1kB oom_score_adj:0 later:x"),
                      0);
        ASSERT_EQ_U64(k.file_rss_kb, 3);

        /* Not this line. */
        ASSERT_EQ_INT(KILLED("oom_reaper: reaped process 8123 (python3), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"),
                      -ENOMSG);
        ASSERT_EQ_INT(KILLED("Memory cgroup out of memory: Kill process 2107 (hog) score 1942 or sacrifice child"),
                      -ENOMSG);
        ASSERT_EQ_INT(KILLED("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null)"), -ENOMSG);
        ASSERT_EQ_INT(KILLED(""), -ENOMSG);
        ASSERT_EQ_INT(KILLED("Killed process"), -ENOMSG);

        /* Broken. */
        ASSERT_EQ_INT(KILLED("Killed process "), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a)"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 0 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process x (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 a) total-vm:1kB, anon-rss:2kB, file-rss:3kB"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB, file-rss:3"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB, "), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB,  UID:0"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB, total-vm:1kB"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB, UID:4294967296"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB, UID:1 UID:1"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB oom_score_adj:1001"),
                      -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB later"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a) total-vm:18446744073709551616kB, anon-rss:2kB, file-rss:3kB"),
                      -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (\\x00) total-vm:1kB, anon-rss:2kB, file-rss:3kB"), -EINVAL);
        ASSERT_EQ_INT(KILLED("Killed process 9 (a\0) total-vm:1kB, anon-rss:2kB, file-rss:3kB"), -EINVAL);
#undef KILLED
}

/* ---- the stream, as the watcher reads it ---- */

TEST(test_reports_end_to_end) {
        static const char *const files[] = { "v1-6.18.44-oom-1.kmsg", "v1-6.18.44-oom-2.kmsg", "v1-6.18.44-oom-3.kmsg",
                                             "v2-6.1-memcg-oom.kmsg", "v2-6.1-global-oom.kmsg", "v1-4.19-memcg-oom.kmsg",
                                             "6.18.44-boot.kmsg" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_(freep) char *data = NULL;
                const char *p, *rec;
                size_t size, rec_size, n_oom = 0, n_killed = 0;
                KmsgKilledProcess k;
                KmsgRecord r;

                data = fixture(files[i], &size);
                for (p = data; next_record(&p, data + size, &rec, &rec_size);) {
                        int a, b;

                        ASSERT_EQ_INT(kmsg_parse_record(rec, rec_size, &r), 0);
                        a = kmsg_parse_oom_kill(r.text, r.text_size, &oom);
                        b = kmsg_parse_killed_process(r.text, r.text_size, &k);
                        ASSERT_TRUE(a == 0 || a == -ENOMSG);
                        ASSERT_TRUE(b == 0 || b == -ENOMSG);
                        ASSERT_TRUE(a != 0 || b != 0);
                        n_oom += a == 0;
                        n_killed += b == 0;
                        if (b == 0) { /* the summary comes first; both name the same victim */
                                ASSERT_EQ_INT(k.pid, oom.pid);
                                ASSERT_STREQ(k.comm, oom.comm);
                                ASSERT_TRUE(!k.has_uid || k.uid == oom.uid);
                                ASSERT_TRUE(!k.memcg || oom.has_oom_memcg);
                        }
                }
                ASSERT_EQ_INT(n_oom, i < ELEMENTSOF(files) - 1 ? 1 : 0);
                ASSERT_EQ_INT(n_killed, n_oom);
        }
}

/* ---- memcg paths ---- */

TEST(test_memcg_under) {
        /* The same hierarchy, as on this v1 host. */
        ASSERT_TRUE(kmsg_memcg_under("/sk.slice/sk-a.slice", "/sk.slice/sk-a.slice"));
        ASSERT_TRUE(kmsg_memcg_under("/sk.slice/sk-a.slice/run-u1.scope", "/sk.slice/sk-a.slice"));
        ASSERT_TRUE(kmsg_memcg_under("/sk.slice/sk-a.slice/run-u1.scope", "/sk.slice/sk-a.slice/"));
        ASSERT_TRUE(!kmsg_memcg_under("/sk.slice/sk-a.slice", "/sk.slice/sk-a.slice/run-u1.scope"));
        ASSERT_TRUE(!kmsg_memcg_under("/sk.slice/sk-ab.slice", "/sk.slice/sk-a"));
        ASSERT_TRUE(!kmsg_memcg_under("/sk.slice/sk-a.slicex/b", "/sk.slice/sk-a.slice"));
        ASSERT_TRUE(!kmsg_memcg_under("/other.slice", "/sk.slice"));
        /* The daemon in a cgroup namespace (a container): kmsg paths carry the namespace's root in front. */
        ASSERT_TRUE(kmsg_memcg_under("/lxc.payload.c1/sk.slice/sk-a.slice/x.scope", "/sk.slice/sk-a.slice"));
        ASSERT_TRUE(kmsg_memcg_under("/a/b/a/b/c", "/a/b/c"));
        ASSERT_TRUE(!kmsg_memcg_under("/lxc/xsk.slice/a", "sk.slice"));
        ASSERT_TRUE(kmsg_memcg_under("/lxc/sk.slice/a", "sk.slice"));
        ASSERT_TRUE(kmsg_memcg_under("sk.slice/a", "sk.slice"));
        /* The root holds every path; nothing holds an empty or relative kmsg path. */
        ASSERT_TRUE(kmsg_memcg_under("/", "/"));
        ASSERT_TRUE(kmsg_memcg_under("/a/b", "/"));
        ASSERT_TRUE(kmsg_memcg_under("/a/b", ""));
        ASSERT_TRUE(!kmsg_memcg_under("", "/"));
        ASSERT_TRUE(!kmsg_memcg_under("", "/a"));
        ASSERT_TRUE(!kmsg_memcg_under(NULL, "/a"));
        ASSERT_TRUE(!kmsg_memcg_under("/a", NULL));
        /* What the parser gave for the real lines. */
        ASSERT_TRUE(kmsg_memcg_under("/kmsgfix-1960/hog,1 b.scope", "/kmsgfix-1960"));
        ASSERT_TRUE(!kmsg_memcg_under("/kmsgfix-1960/hog,1 b.scope", "/kmsgfix-196"));
}

int main(void) {
        RUN(test_record_real_reports);
        RUN(test_record_key_value_lines);
        RUN(test_record_shapes);
        RUN(test_record_garbage);
        RUN(test_oom_kill_real);
        RUN(test_oom_kill_written_from_source);
        RUN(test_oom_kill_hostile_names);
        RUN(test_oom_kill_numbers);
        RUN(test_oom_kill_not_this);
        RUN(test_oom_kill_broken);
        RUN(test_oom_kill_long_paths);
        RUN(test_killed_process_real);
        RUN(test_killed_process_written_from_source);
        RUN(test_killed_process_shapes);
        RUN(test_reports_end_to_end);
        RUN(test_memcg_under);
        return 0;
}
