/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "tests.h"
#include "unit-name.h"

/* Expected values are what systemd-escape(1) prints for the same input. */
static void assert_escape(const char *in, const char *expected) {
        _cleanup_(freep) char *s = unit_name_escape(in);

        ASSERT_STREQ(s, expected);
}

static void assert_from_path(const char *root, const char *path, const char *expected) {
        _cleanup_(freep) char *s = NULL;

        ASSERT_EQ_INT(unit_name_from_path(root, path, &s), 0);
        ASSERT_STREQ(s, expected);
}

TEST(test_escape_plain) {
        assert_escape("test_cgroup_a", "test_cgroup_a");
        assert_escape("Web01", "Web01");
        assert_escape("a.b", "a.b");
}

TEST(test_escape_dash) {
        assert_escape("a-b", "a\\x2db");
}

TEST(test_escape_space) {
        assert_escape("foo bar", "foo\\x20bar");
}

TEST(test_escape_leading_dot) {
        assert_escape(".hidden", "\\x2ehidden");
        assert_escape("a.", "a."); /* only a leading dot is escaped */
}

TEST(test_escape_utf8) {
        assert_escape("ünï", "\\xc3\\xbcn\\xc3\\xaf");
}

TEST(test_escape_kept_chars) {
        assert_escape(":_.", ":_.");
}

TEST(test_escape_backslash) {
        assert_escape("\\", "\\x5c");
}

TEST(test_escape_empty) {
        assert_escape("", "");
}

TEST(test_from_path_top_level) {
        assert_from_path(NULL, "test_cgroup_a", "test_cgroup_a.slice");
        assert_from_path("", "test_cgroup_a", "test_cgroup_a.slice");
}

TEST(test_from_path_nested) {
        assert_from_path(NULL, "test_cgroup_b/test_cgroup_b_sub1", "test_cgroup_b-test_cgroup_b_sub1.slice");
        assert_from_path(NULL, "a/b/c", "a-b-c.slice");
}

TEST(test_from_path_root) {
        assert_from_path("sk", "a/b", "sk-a-b.slice");
        assert_from_path("sk-demo", "a", "sk-demo-a.slice");
}

TEST(test_from_path_escapes_components) {
        assert_from_path(NULL, "a-b/c d", "a\\x2db-c\\x20d.slice");
        assert_from_path("sk", ".x/.y", "sk-\\x2ex-\\x2ey.slice");
}

TEST(test_from_path_empty_component) {
        char *s = NULL;

        ASSERT_EQ_INT(unit_name_from_path(NULL, "", &s), -EINVAL);
        ASSERT_EQ_INT(unit_name_from_path(NULL, "a//b", &s), -EINVAL);
        ASSERT_EQ_INT(unit_name_from_path(NULL, "/a", &s), -EINVAL);
        ASSERT_EQ_INT(unit_name_from_path(NULL, "a/", &s), -EINVAL);
        ASSERT_TRUE(s == NULL);
}

TEST(test_from_path_length_limit) {
        char name[300];
        _cleanup_(freep) char *ok = NULL;
        char *s = NULL;

        /* 249 bytes + ".slice" = 255 = UNIT_NAME_MAX: accepted. */
        memset(name, 'a', 249);
        name[249] = 0;
        ASSERT_EQ_INT(unit_name_from_path(NULL, name, &ok), 0);
        ASSERT_EQ_INT(strlen(ok), UNIT_NAME_MAX);

        /* One byte more is too long. */
        memset(name, 'a', 250);
        name[250] = 0;
        ASSERT_EQ_INT(unit_name_from_path(NULL, name, &s), -ENAMETOOLONG);

        /* The root counts too: "sk-" + 246 + ".slice" = 255, one more is 256. */
        memset(name, 'a', 247);
        name[247] = 0;
        ASSERT_EQ_INT(unit_name_from_path("sk", name, &s), -ENAMETOOLONG);

        /* Escaping counts: 63 dashes become 252 bytes. */
        memset(name, '-', 63);
        name[63] = 0;
        ASSERT_EQ_INT(unit_name_from_path(NULL, name, &s), -ENAMETOOLONG);
        ASSERT_TRUE(s == NULL);
}

TEST(test_from_path_length_many_components) {
        char path[300];
        size_t len = 0;
        char *s = NULL;

        /* 16 components of 15 bytes: 16 * 15 + 15 dashes + ".slice" = 261 */
        for (int i = 0; i < 16; i++) {
                if (i > 0)
                        path[len++] = '/';
                memset(path + len, 'x', 15);
                len += 15;
        }
        path[len] = 0;
        ASSERT_EQ_INT(unit_name_from_path(NULL, path, &s), -ENAMETOOLONG);
        ASSERT_TRUE(s == NULL);
}

TEST(test_normalize_root) {
        _cleanup_(freep) char *a = NULL, *b = NULL, *c = NULL;
        char *none = (char *) "sentinel";

        ASSERT_EQ_INT(unit_name_normalize_root("sk.slice", &a), 0);
        ASSERT_STREQ(a, "sk");
        ASSERT_EQ_INT(unit_name_normalize_root("sk-demo", &b), 0);
        ASSERT_STREQ(b, "sk-demo");
        ASSERT_EQ_INT(unit_name_normalize_root("sk-demo.slice", &c), 0);
        ASSERT_STREQ(c, "sk-demo");
        ASSERT_EQ_INT(unit_name_normalize_root("", &none), 0);
        ASSERT_TRUE(none == NULL);
}

TEST(test_normalize_root_invalid) {
        char *s = NULL;

        ASSERT_EQ_INT(unit_name_normalize_root("-x", &s), -EINVAL);
        ASSERT_EQ_INT(unit_name_normalize_root("x-", &s), -EINVAL);
        ASSERT_EQ_INT(unit_name_normalize_root("a--b", &s), -EINVAL);
        ASSERT_EQ_INT(unit_name_normalize_root("a/b", &s), -EINVAL);
        ASSERT_EQ_INT(unit_name_normalize_root("a b", &s), -EINVAL);
        ASSERT_EQ_INT(unit_name_normalize_root("-.slice", &s), -EINVAL);
        ASSERT_TRUE(s == NULL);
}

TEST(test_root_is_valid) {
        char long_root[200];

        ASSERT_TRUE(unit_name_root_is_valid("sk"));
        ASSERT_TRUE(unit_name_root_is_valid("sk-demo"));
        ASSERT_TRUE(unit_name_root_is_valid("a:b_c.d"));
        ASSERT_TRUE(!unit_name_root_is_valid(""));
        ASSERT_TRUE(!unit_name_root_is_valid(NULL));
        ASSERT_TRUE(!unit_name_root_is_valid("-"));
        ASSERT_TRUE(!unit_name_root_is_valid("ü"));
        memset(long_root, 'r', 129);
        long_root[129] = 0;
        ASSERT_TRUE(!unit_name_root_is_valid(long_root));
        long_root[128] = 0;
        ASSERT_TRUE(unit_name_root_is_valid(long_root));
}

TEST(test_length_from_path_matches_the_name) {
        static const struct {
                const char *root, *path;
        } table[] = {
                { NULL, "a" },        { NULL, "a/b/c" },   { "sk", "a/b" },   { "sk-demo", "x" },
                { NULL, ".hidden/.x" }, { NULL, "a-b/c d" }, { "", "\xc3\xa9t\xc3\xa9" }, { NULL, "a.b/:_" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(freep) char *s = NULL;

                ASSERT_EQ_INT(unit_name_from_path(table[i].root, table[i].path, &s), 0);
                ASSERT_EQ_INT(unit_name_length_from_path(table[i].root, table[i].path), strlen(s));
        }
        ASSERT_EQ_INT(unit_name_length_from_path(NULL, "a//b"), 0);
        ASSERT_EQ_INT(unit_name_length_from_path(NULL, ""), 0);
        /* Past the limit it still counts: 63 dashes are 252 bytes escaped. */
        ASSERT_EQ_INT(unit_name_length_from_path("sk", "---------------------------------------------------------------"),
                      3 + 252 + 6);
}

TEST(test_scope_of_the_longest_slice_is_legal) {
        char name[64];
        _cleanup_(freep) char *slice = NULL, *scope = NULL;

        /* "\x2d" * 62 + "a" + ".slice": 255 bytes, the largest; its scope is as long. */
        memset(name, '-', 62);
        name[62] = 'a';
        name[63] = 0;
        ASSERT_EQ_INT(unit_name_from_path(NULL, name, &slice), 0);
        ASSERT_EQ_INT(strlen(slice), UNIT_NAME_MAX);
        ASSERT_EQ_INT(unit_name_group_scope(slice, &scope), 0);
        ASSERT_EQ_INT(strlen(scope), UNIT_NAME_MAX);
}

TEST(test_scope_cgroup_path_length) {
        static const char *const slices[] = { "a.slice", "a-b-c.slice", "sk-x\\x2dy-z.slice", "test_cgroup_b.slice" };

        for (size_t i = 0; i < ELEMENTSOF(slices); i++) {
                _cleanup_(freep) char *cg = NULL, *scope = NULL;

                ASSERT_EQ_INT(unit_name_slice_cgroup_path(slices[i], &cg), 0);
                ASSERT_EQ_INT(unit_name_group_scope(slices[i], &scope), 0);
                ASSERT_EQ_INT(unit_name_scope_cgroup_path_length(slices[i]), strlen(cg) + 1 + strlen(scope));
        }
        /* "/a.slice/a-b.slice/a-b.scope" */
        ASSERT_EQ_INT(unit_name_scope_cgroup_path_length("a-b.slice"), 28);
}

TEST(test_always_protected) {
        static const char *const expected[] = { "-.slice", "system.slice", "user.slice", "machine.slice", "init.scope" };
        size_t n = 0;

        while (unit_name_always_protected[n])
                n++;
        ASSERT_EQ_INT(n, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                ASSERT_STREQ(unit_name_always_protected[i], expected[i]);
                ASSERT_TRUE(unit_name_is_systemds_own(expected[i]));
        }
}

/* Found by fuzz-tree: a tree may hold group "init" without a root (init.slice is ordinary), but its scope is
 * PID 1's; the attacher asks this before moving anything for a host-local PidFiles= entry. */
TEST(test_scope_of_init_is_systemds_own) {
        _cleanup_(freep) char *slice = NULL, *scope = NULL, *rooted = NULL, *rooted_scope = NULL;

        ASSERT_EQ_INT(unit_name_from_path(NULL, "init", &slice), 0);
        ASSERT_EQ_INT(unit_name_group_scope(slice, &scope), 0);
        ASSERT_TRUE(!unit_name_is_systemds_own(slice));
        ASSERT_TRUE(unit_name_is_systemds_own(scope));
        ASSERT_EQ_INT(unit_name_from_path("sk", "init", &rooted), 0);
        ASSERT_EQ_INT(unit_name_group_scope(rooted, &rooted_scope), 0);
        ASSERT_TRUE(!unit_name_is_systemds_own(rooted_scope));
        ASSERT_TRUE(!unit_name_is_systemds_own("init.scope.bak") && !unit_name_is_systemds_own(NULL));
}

int main(void) {
        RUN(test_escape_plain);
        RUN(test_escape_dash);
        RUN(test_escape_space);
        RUN(test_escape_leading_dot);
        RUN(test_escape_utf8);
        RUN(test_escape_kept_chars);
        RUN(test_escape_backslash);
        RUN(test_escape_empty);
        RUN(test_from_path_top_level);
        RUN(test_from_path_nested);
        RUN(test_from_path_root);
        RUN(test_from_path_escapes_components);
        RUN(test_from_path_empty_component);
        RUN(test_from_path_length_limit);
        RUN(test_from_path_length_many_components);
        RUN(test_normalize_root);
        RUN(test_normalize_root_invalid);
        RUN(test_root_is_valid);
        RUN(test_length_from_path_matches_the_name);
        RUN(test_scope_of_the_longest_slice_is_legal);
        RUN(test_scope_cgroup_path_length);
        RUN(test_always_protected);
        RUN(test_scope_of_init_is_systemds_own);
        return 0;
}
