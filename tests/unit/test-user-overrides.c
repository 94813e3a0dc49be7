/* SPDX-License-Identifier: MIT */
/* users.d overrides (src/policy/user-overrides.c): sections, keys, precedence, and refusals that change
 * nothing (issue 14). Fixtures in tests/data/users.d/. */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "tests.h"
#include "user-overrides.h"

static int parse(UserOverrides *o, const char *text, char *error, size_t error_size) {
        return user_overrides_parse(o, "/etc/slicekeeper/users.d/t.conf", text, strlen(text), error, error_size);
}

TEST(test_load_dir) {
        char error[512] = "", d[256];
        UserOverrides o;

        ASSERT_EQ_INT(user_overrides_load_dir("users.d/good", &o, error, sizeof(error)), 0);
        ASSERT_EQ_INT(o.n, 6); /* 10-groups.conf before 20-users.conf */
        ASSERT_EQ_INT(o.entries[0].kind, USER_OVERRIDE_GROUP);
        ASSERT_STREQ(o.entries[0].name, "students");
        ASSERT_TRUE(o.entries[0].has_cpu && o.entries[0].cpu_cores == 1.0);
        ASSERT_TRUE(o.entries[0].has_memory);
        ASSERT_EQ_U64(o.entries[0].memory.bytes, 2ULL << 30);
        ASSERT_TRUE(!o.entries[0].has_exempt);
        ASSERT_STREQ(o.entries[0].file, "users.d/good/10-groups.conf");
        ASSERT_EQ_INT(o.entries[0].line, 2);
        ASSERT_TRUE(o.entries[1].has_exempt && o.entries[1].exempt && !o.entries[1].has_cpu);
        ASSERT_EQ_INT(o.entries[3].kind, USER_OVERRIDE_NAME); /* indented header and spaces around '=' */
        ASSERT_STREQ(o.entries[3].name, "alice");
        ASSERT_TRUE(o.entries[3].cpu_cores == 1.5);
        ASSERT_EQ_U64(o.entries[3].memory.bytes, 0);
        ASSERT_EQ_U64(o.entries[3].memory.percent_of_ram, 25);
        ASSERT_EQ_INT(o.entries[4].kind, USER_OVERRIDE_UID);
        ASSERT_EQ_U64(o.entries[4].uid, 1001);
        ASSERT_EQ_U64(o.entries[4].memory.bytes, UINT64_MAX);
        ASSERT_STREQ(o.entries[5].name, "bob@example.com"); /* SSSD's qualified names */
        ASSERT_TRUE(o.entries[5].cpu_cores == 0.125);
        ASSERT_TRUE(o.entries[5].has_exempt && !o.entries[5].exempt);
        ASSERT_EQ_INT(user_override_describe(&o.entries[0], d, sizeof(d)), 0);
        ASSERT_STREQ(d, "[@students] (users.d/good/10-groups.conf:2)");
        ASSERT_EQ_INT(user_override_describe(&o.entries[4], d, sizeof(d)), 0);
        ASSERT_STREQ(d, "[1001] (users.d/good/20-users.conf:5)");
        ASSERT_EQ_INT(user_override_describe(&o.entries[4], d, 8), -ENOBUFS);
        user_overrides_done(&o);

        /* One bad file refuses the whole set, and the caller's set is untouched. */
        UserOverrides kept = { .entries = (UserOverride *) 0x1, .n = 77 };
        ASSERT_EQ_INT(user_overrides_load_dir("users.d/bad", &kept, error, sizeof(error)), -EINVAL);
        ASSERT_STREQ(error, "users.d/bad/20-broken.conf:2: CPUQuota=1.5 is not a percentage of one core above 0% and "
                            "at most 819200% (e.g. 150% for 1.5 cores; at most two decimals), or empty");
        ASSERT_TRUE(kept.entries == (UserOverride *) 0x1 && kept.n == 77);

        /* No directory: no overrides. */
        ASSERT_EQ_INT(user_overrides_load_dir("users.d/none", &o, error, sizeof(error)), 0);
        ASSERT_EQ_INT(o.n, 0);
        user_overrides_done(&o);
}

/* [UID] over [name] over [@group], key by key; the later section among equals. */
TEST(test_precedence) {
        static const char text[] = "[@students]\nCPUQuota=100%\nMemoryMax=2G\n"
                                   "[@hogs]\nCPUQuota=50%\n"
                                   "[@staff]\nExempt=yes\n"
                                   "[alice]\nCPUQuota=150%\n"
                                   "[1001]\nMemoryMax=8G\n"
                                   "[alice]\nCPUQuota=175%\n"
                                   "[carol]\nExempt=no\n";
        char *students[] = { (char *) "students", NULL }, *both[] = { (char *) "students", (char *) "hogs", NULL },
             *staff[] = { (char *) "staff", (char *) "students", NULL };
        char error[512] = "";
        UserOverrides o = { 0 };
        UserOverrideResult r;

        ASSERT_EQ_INT(parse(&o, text, error, sizeof(error)), 0);
        ASSERT_EQ_INT(o.n, 7);

        /* a student with no entry of their own: the group's values */
        user_overrides_resolve(&o, 2000, "zed", students, &r);
        ASSERT_TRUE(r.cpu == &o.entries[0] && r.memory == &o.entries[0] && !r.exempt);
        /* in two groups: the later section wins for the key both set, the other key stays */
        user_overrides_resolve(&o, 2000, "zed", both, &r);
        ASSERT_TRUE(r.cpu == &o.entries[1] && r.memory == &o.entries[0]);
        /* alice (uid 1001) is a student: the name beats the group, the UID beats both, the later [alice] wins */
        user_overrides_resolve(&o, 1001, "alice", students, &r);
        ASSERT_TRUE(r.cpu == &o.entries[5]);
        ASSERT_TRUE(o.entries[5].cpu_cores == 1.75);
        ASSERT_TRUE(r.memory == &o.entries[4]);
        /* the UID matches even when NSS gave no name */
        user_overrides_resolve(&o, 1001, NULL, NULL, &r);
        ASSERT_TRUE(r.memory == &o.entries[4] && !r.cpu);
        /* staff are exempt; carol's own Exempt=no beats her group's yes */
        user_overrides_resolve(&o, 3000, "dan", staff, &r);
        ASSERT_TRUE(r.exempt == &o.entries[2] && r.exempt->exempt);
        user_overrides_resolve(&o, 3001, "carol", staff, &r);
        ASSERT_TRUE(r.exempt == &o.entries[6] && !r.exempt->exempt);
        /* nobody else */
        user_overrides_resolve(&o, 4000, "erin", NULL, &r);
        ASSERT_TRUE(!r.cpu && !r.memory && !r.exempt);
        user_overrides_done(&o);
}

/* Every refusal names FILE:LINE and what was expected, and leaves the set as it was. */
TEST(test_errors) {
        static const struct {
                const char *text, *error;
                int r;
        } bad[] = {
                { "CPUQuota=100%\n", "t.conf:1: assignment outside a section (start with [USER], [UID] or [@GROUP])",
                  -EINVAL },
                { "[alice\n", "t.conf:1: section header without a closing ']'", -EINVAL },
                { "# c\n[]\n", "t.conf:2: []: not a user or group name", -EINVAL },
                { "[@]\n", "t.conf:1: [@]: not a user or group name", -EINVAL },
                { "[al ice]\n", "t.conf:1: [al ice]: not a user or group name", -EINVAL },
                { "[-rf]\n", "t.conf:1: [-rf]: not a user or group name", -EINVAL },
                { "[gr\xc3\xbc\xc3\x9f]\n", "t.conf:1: [gr", -EINVAL },
                { "[4294967295]\n", "t.conf:1: [4294967295]: user id out of range (0..4294967294)", -EINVAL },
                { "[99999999999999999999]\n", "user id out of range", -EINVAL },
                { "[alice]\nCPUQuota=150\n", "t.conf:2: CPUQuota=150 is not a percentage of one core", -EINVAL },
                { "[alice]\nCPUQuota=0%\n", "t.conf:2: CPUQuota=0%", -EINVAL },
                { "[alice]\nCPUQuota=819201%\n", "CPUQuota=819201%", -EINVAL },
                { "[alice]\nCPUQuota=1.234%\n", "at most two decimals", -EINVAL },
                { "[alice]\nCPUQuota=-5%\n", "CPUQuota=-5%", -EINVAL },
                { "[alice]\nCPUQuota=.5%\n", "CPUQuota=.5%", -EINVAL },
                { "[alice]\nMemoryMax=4GB\n", "t.conf:2: MemoryMax=4GB is not a memory size", -EINVAL },
                { "[alice]\nMemoryMax=0\n", "MemoryMax=0 is not", -EINVAL },
                { "[alice]\nMemoryMax=101%\n", "MemoryMax=101% is not", -EINVAL },
                { "[alice]\nExempt=sure\n", "t.conf:2: Exempt=sure is not a boolean", -EINVAL },
                { "[alice]\nCPUWeight=100\n", "t.conf:2: unknown key CPUWeight= (expected CPUQuota=, MemoryMax= or "
                                              "Exempt=)", -EINVAL },
                { "[alice]\njust words\n", "t.conf:2: expected KEY=VALUE or a [section]", -EINVAL },
                { "[alice]\nCPUQuota=1\0" "00%\n", "t.conf:2: line contains a NUL byte", -EINVAL },
        };
        char error[512];
        UserOverrides o = { 0 };

        ASSERT_EQ_INT(parse(&o, "[zed]\nCPUQuota=10%\n", error, sizeof(error)), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                UserOverride *before = o.entries;
                size_t len = strlen(bad[i].text);

                if (strstr(bad[i].error, "NUL"))
                        len = sizeof("[alice]\nCPUQuota=1\0" "00%\n") - 1;
                error[0] = 0;
                ASSERT_EQ_INT(user_overrides_parse(&o, "/etc/slicekeeper/users.d/t.conf", bad[i].text, len, error,
                                                   sizeof(error)),
                              bad[i].r);
                ASSERT_CONTAINS(error, "/etc/slicekeeper/users.d/");
                ASSERT_CONTAINS(error, bad[i].error);
                ASSERT_TRUE(o.n == 1 && o.entries == before);
                ASSERT_TRUE(o.entries[0].cpu_cores == 0.1);
        }
        /* a good section before the bad line is not kept either */
        ASSERT_EQ_INT(parse(&o, "[amy]\nCPUQuota=10%\n[bea]\nCPUQuota=x\n", error, sizeof(error)), -EINVAL);
        ASSERT_EQ_INT(o.n, 1);
        user_overrides_done(&o);
}

TEST(test_bounds) {
        char error[512] = "", *text, *p;
        size_t size = USER_OVERRIDES_MAX_ENTRIES * 16 + 64;
        UserOverrides o = { 0 };

        /* a long line */
        text = malloc(USER_OVERRIDES_LINE_MAX + 16);
        ASSERT_TRUE(text);
        memset(text, ' ', USER_OVERRIDES_LINE_MAX + 1);
        text[USER_OVERRIDES_LINE_MAX + 1] = 0;
        ASSERT_EQ_INT(parse(&o, text, error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "t.conf:1: line is longer than 1024 bytes");
        free(text);

        /* too many sections, counting those already in the set */
        text = p = malloc(size);
        ASSERT_TRUE(text);
        for (unsigned i = 0; i < USER_OVERRIDES_MAX_ENTRIES; i++)
                p += sprintf(p, "[%u]\n", i);
        ASSERT_EQ_INT(parse(&o, text, error, sizeof(error)), 0);
        ASSERT_EQ_INT(o.n, USER_OVERRIDES_MAX_ENTRIES);
        ASSERT_EQ_INT(parse(&o, "[one-more]\n", error, sizeof(error)), -E2BIG);
        ASSERT_CONTAINS(error, "t.conf:1: more than 4096 sections in users.d");
        ASSERT_EQ_INT(o.n, USER_OVERRIDES_MAX_ENTRIES);
        user_overrides_done(&o);
        free(text);

        /* too big a file */
        text = calloc(1, USER_OVERRIDES_FILE_MAX_BYTES + 1);
        ASSERT_TRUE(text);
        memset(text, '#', USER_OVERRIDES_FILE_MAX_BYTES + 1);
        ASSERT_EQ_INT(user_overrides_parse(&o, "big.conf", text, USER_OVERRIDES_FILE_MAX_BYTES + 1, error,
                                           sizeof(error)),
                      -EFBIG);
        ASSERT_CONTAINS(error, "big.conf: larger than 262144 bytes");
        ASSERT_EQ_INT(o.n, 0);
        free(text);

        /* empty values reset a key of the section; an empty file is fine */
        ASSERT_EQ_INT(parse(&o, "[a]\nCPUQuota=10%\nCPUQuota=\nExempt=yes\nExempt=\r\n", error, sizeof(error)), 0);
        ASSERT_TRUE(!o.entries[0].has_cpu && !o.entries[0].has_exempt);
        ASSERT_EQ_INT(parse(&o, "", error, sizeof(error)), 0);
        ASSERT_EQ_INT(o.n, 1);
        user_overrides_done(&o);
}

int main(void) {
        RUN(test_load_dir);
        RUN(test_precedence);
        RUN(test_errors);
        RUN(test_bounds);
        return 0;
}
