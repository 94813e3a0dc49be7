/* SPDX-License-Identifier: MIT */
/* The tree model (tree.c): adding and finding groups, resolving a group by path or name, references,
 * settings. Trees are built with tree_add(), so these tests do not depend on the parser. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strv.h"
#include "tests.h"
#include "tree-fixtures.h"
#include "tree.h"

#define BIT(p) (1u << (p))

/* A tree with the groups of the NULL-terminated path list, in that order. */
static Tree *tree_of(const char *const *paths) {
        Tree *t = tree_new(TREE_SCHEMA_NATIVE);

        ASSERT_TRUE(t != NULL);
        for (size_t i = 0; paths[i]; i++)
                ASSERT_EQ_INT(tree_add(t, paths[i], NULL), 0);
        return t;
}

TEST(test_tree_new) {
        _cleanup_(tree_unrefp) Tree *t = tree_new(TREE_SCHEMA_CGROUPARCH);

        ASSERT_TRUE(t != NULL);
        ASSERT_EQ_INT(t->n_ref, 1);
        ASSERT_EQ_INT(t->schema, TREE_SCHEMA_CGROUPARCH);
        ASSERT_EQ_INT(t->n_nodes, 0);
}

TEST(test_tree_add) {
        _cleanup_(tree_unrefp) Tree *t = tree_new(TREE_SCHEMA_NATIVE);
        TreeNode *a = NULL, *ab = NULL, *sentinel = (TreeNode *) 1, *n = sentinel;

        ASSERT_EQ_INT(tree_add(t, "a", &a), 0);
        ASSERT_EQ_INT(tree_add(t, "a/b", &ab), 0);
        ASSERT_EQ_INT(tree_add(t, "a/b", &n), -EEXIST);
        ASSERT_TRUE(n == sentinel); /* untouched on failure */
        ASSERT_EQ_INT(tree_add(t, "a/b", NULL), -EEXIST);
        ASSERT_EQ_INT(t->n_nodes, 2);
        ASSERT_TRUE(a->parent == NULL);
        ASSERT_STREQ(a->name, "a");
        ASSERT_STREQ(a->path, "a");
        ASSERT_EQ_INT(a->depth, 1);
        ASSERT_TRUE(ab->parent == a);
        ASSERT_STREQ(ab->name, "b");
        ASSERT_STREQ(ab->path, "a/b");
        ASSERT_EQ_INT(ab->depth, 2);
        ASSERT_EQ_INT(a->n_children, 1);
        ASSERT_TRUE(a->children[0] == ab);
        ASSERT_TRUE(tree_find(t, "a/b") == ab);
}

/* The node keeps its own copy of the path: the caller's string may go away. */
TEST(test_tree_add_copies_path) {
        _cleanup_(tree_unrefp) Tree *t = tree_new(TREE_SCHEMA_NATIVE);
        char path[] = "x";
        TreeNode *n = NULL;

        ASSERT_EQ_INT(tree_add(t, path, &n), 0);
        path[0] = 'y';
        ASSERT_TRUE(tree_find(t, "x") == n);
        ASSERT_TRUE(tree_find(t, "y") == NULL);
        ASSERT_STREQ(n->path, "x");
}

/* Children are linked in the order they were added; t->nodes keeps the order of adding. */
TEST(test_tree_add_children_in_order) {
        _cleanup_(tree_unrefp) Tree *t = tree_of((const char *const[]) { "p", "p/c2", "p/c1", "p/c3", "q", NULL });
        TreeNode *p = find_ok(t, "p");

        ASSERT_EQ_INT(p->n_children, 3);
        ASSERT_STREQ(p->children[0]->name, "c2");
        ASSERT_STREQ(p->children[1]->name, "c1");
        ASSERT_STREQ(p->children[2]->name, "c3");
        ASSERT_EQ_INT(find_ok(t, "q")->n_children, 0);
        ASSERT_EQ_INT(t->n_nodes, 5);
        ASSERT_STREQ(t->nodes[0]->path, "p");
        ASSERT_STREQ(t->nodes[4]->path, "q");
}

/* A group whose parent is not in the tree is added unlinked; its depth still comes from its path. */
TEST(test_tree_add_without_parent) {
        _cleanup_(tree_unrefp) Tree *t = tree_new(TREE_SCHEMA_NATIVE);
        TreeNode *n = NULL;

        ASSERT_EQ_INT(tree_add(t, "a/b/c", &n), 0);
        ASSERT_TRUE(n->parent == NULL);
        ASSERT_EQ_INT(n->depth, 3);
        ASSERT_STREQ(n->name, "c");
        ASSERT_TRUE(tree_find(t, "a/b") == NULL);
        ASSERT_TRUE(tree_find(t, "a/b/c") == n);
}

/* Many groups: the path index grows many times and still finds every node. */
TEST(test_tree_add_many) {
        _cleanup_(tree_unrefp) Tree *t = tree_new(TREE_SCHEMA_NATIVE);
        char path[64];

        for (size_t i = 0; i < 100; i++) {
                snprintf(path, sizeof(path), "g%zu", i);
                ASSERT_EQ_INT(tree_add(t, path, NULL), 0);
                for (size_t j = 0; j < 99; j++) {
                        snprintf(path, sizeof(path), "g%zu/h%zu", i, j);
                        ASSERT_EQ_INT(tree_add(t, path, NULL), 0);
                }
        }
        ASSERT_EQ_INT(t->n_nodes, TREE_GROUPS_MAX);
        for (size_t i = 0; i < 100; i++) {
                TreeNode *g;

                snprintf(path, sizeof(path), "g%zu", i);
                g = find_ok(t, path);
                ASSERT_EQ_INT(g->n_children, 99);
                for (size_t j = 0; j < 99; j++) {
                        snprintf(path, sizeof(path), "g%zu/h%zu", i, j);
                        ASSERT_TRUE(find_ok(t, path)->parent == g);
                        ASSERT_TRUE(g->children[j] == find_ok(t, path));
                }
        }
}

TEST(test_tree_find) {
        _cleanup_(tree_unrefp) Tree *t = tree_of((const char *const[]) { "a", "a/b", "a/b/c", "d", NULL });

        ASSERT_STREQ(find_ok(t, "a")->path, "a");
        ASSERT_STREQ(find_ok(t, "a/b")->path, "a/b");
        ASSERT_STREQ(find_ok(t, "a/b/c")->name, "c");
        ASSERT_STREQ(find_ok(t, "d")->name, "d");
        ASSERT_TRUE(tree_find(t, "b") == NULL); /* names are not paths */
        ASSERT_TRUE(tree_find(t, "c") == NULL);
        ASSERT_TRUE(tree_find(t, "a/c") == NULL);
        ASSERT_TRUE(tree_find(t, "a/") == NULL);
        ASSERT_TRUE(tree_find(t, "/a") == NULL);
        ASSERT_TRUE(tree_find(t, "") == NULL);
        ASSERT_TRUE(tree_find(t, "A") == NULL);
}

TEST(test_tree_find_empty_tree) {
        _cleanup_(tree_unrefp) Tree *t = tree_new(TREE_SCHEMA_NATIVE);

        ASSERT_TRUE(tree_find(t, "a") == NULL);
        ASSERT_TRUE(tree_find(t, "") == NULL);
}

/* PidFiles= and exec-args name a group by path or by a name no other group has. */
TEST(test_tree_resolve_group) {
        _cleanup_(tree_unrefp) Tree *t = tree_of(
                (const char *const[]) { "a", "a/b", "a/c", "d", "d/c", "e", "e/e", NULL });
        TreeNode *n = NULL, *sentinel = (TreeNode *) 1;

        /* a path is looked up as it is */
        ASSERT_EQ_INT(tree_resolve_group(t, "a/b", &n), 0);
        ASSERT_TRUE(n == find_ok(t, "a/b"));
        ASSERT_EQ_INT(tree_resolve_group(t, "d/c", &n), 0);
        ASSERT_TRUE(n == find_ok(t, "d/c")); /* its name is shared, its path is not */
        /* a unique name, nested or top-level */
        ASSERT_EQ_INT(tree_resolve_group(t, "b", &n), 0);
        ASSERT_TRUE(n == find_ok(t, "a/b"));
        ASSERT_EQ_INT(tree_resolve_group(t, "d", &n), 0);
        ASSERT_TRUE(n == find_ok(t, "d"));
        ASSERT_EQ_INT(tree_resolve_group(t, "b", NULL), 0);
        /* a shared name is refused, also when one of its groups is top-level: its path has no '/' */
        n = sentinel;
        ASSERT_EQ_INT(tree_resolve_group(t, "c", &n), -ENOTUNIQ);
        ASSERT_EQ_INT(tree_resolve_group(t, "e", &n), -ENOTUNIQ);
        ASSERT_EQ_INT(tree_resolve_group(t, "c", NULL), -ENOTUNIQ);
        ASSERT_TRUE(n == sentinel); /* untouched on failure */
        ASSERT_EQ_INT(tree_resolve_group(t, "e/e", &n), 0);
        ASSERT_TRUE(n == find_ok(t, "e/e"));
        /* nothing there: neither a path nor a name falls back to the other */
        n = sentinel;
        ASSERT_EQ_INT(tree_resolve_group(t, "x", &n), -ENOENT);
        ASSERT_EQ_INT(tree_resolve_group(t, "a/x", &n), -ENOENT);
        ASSERT_EQ_INT(tree_resolve_group(t, "x/b", &n), -ENOENT);
        ASSERT_EQ_INT(tree_resolve_group(t, "a/", &n), -ENOENT);
        ASSERT_EQ_INT(tree_resolve_group(t, "/b", &n), -ENOENT);
        ASSERT_EQ_INT(tree_resolve_group(t, "", &n), -ENOENT);
        ASSERT_EQ_INT(tree_resolve_group(t, "B", &n), -ENOENT);
        ASSERT_EQ_INT(tree_resolve_group(t, "x", NULL), -ENOENT);
        ASSERT_TRUE(n == sentinel);
}

/* A name is unique only as long as no other group takes it. */
TEST(test_tree_resolve_group_name_becomes_shared) {
        _cleanup_(tree_unrefp) Tree *t = tree_of((const char *const[]) { "a", "a/web", NULL });
        TreeNode *n = NULL;

        ASSERT_EQ_INT(tree_resolve_group(t, "web", &n), 0);
        ASSERT_TRUE(n == find_ok(t, "a/web"));
        ASSERT_EQ_INT(tree_add(t, "b", NULL), 0);
        ASSERT_EQ_INT(tree_add(t, "b/web", NULL), 0);
        ASSERT_EQ_INT(tree_resolve_group(t, "web", &n), -ENOTUNIQ);
        ASSERT_EQ_INT(tree_resolve_group(t, "b/web", &n), 0);
        ASSERT_TRUE(n == find_ok(t, "b/web"));
}

TEST(test_tree_resolve_group_empty_tree) {
        _cleanup_(tree_unrefp) Tree *t = tree_new(TREE_SCHEMA_NATIVE);
        TreeNode *n = NULL;

        ASSERT_EQ_INT(tree_resolve_group(t, "a", &n), -ENOENT);
        ASSERT_EQ_INT(tree_resolve_group(t, "a/b", &n), -ENOENT);
        ASSERT_TRUE(n == NULL);
}

TEST(test_tree_ref_unref) {
        Tree *t = tree_of((const char *const[]) { "a", NULL });

        ASSERT_TRUE(tree_ref(t) == t);
        ASSERT_EQ_INT(t->n_ref, 2);
        ASSERT_TRUE(tree_unref(t) == NULL);
        ASSERT_EQ_INT(t->n_ref, 1);
        ASSERT_TRUE(find_ok(t, "a") != NULL); /* still alive */
        ASSERT_TRUE(tree_unref(t) == NULL);
        ASSERT_TRUE(tree_ref(NULL) == NULL);
        ASSERT_TRUE(tree_unref(NULL) == NULL);
}

/* The last unref frees every node with what it owns (ASan reports a leak otherwise). */
TEST(test_tree_unref_frees_nodes) {
        Tree *t = tree_of((const char *const[]) { "a", "a/b", NULL });
        TreeNode *b = find_ok(t, "a/b");
        uint8_t *bits = calloc(2, 1);

        ASSERT_TRUE(bits != NULL);
        bits[0] = 0x0f;
        tree_settings_set(&b->settings, TREE_PROP_ALLOWED_CPUS, 0, bits, 2);
        ASSERT_EQ_INT(strv_extend(&b->pid_files, "/run/x.pid"), 0);
        ASSERT_EQ_INT(strv_extend(&b->pid_files, "/run/y.pid"), 0);
        ASSERT_TRUE(tree_unref(t) == NULL);
}

TEST(test_tree_path_depth) {
        ASSERT_EQ_INT(tree_path_depth("a"), 1);
        ASSERT_EQ_INT(tree_path_depth("test_cgroup_b/test_cgroup_b_sub1"), 2);
        ASSERT_EQ_INT(tree_path_depth("a/b/c"), 3);
        ASSERT_EQ_INT(tree_path_depth("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p"), 16);
}

TEST(test_schema_to_string) {
        ASSERT_STREQ(tree_schema_to_string(TREE_SCHEMA_CGROUPARCH), "cgrouparch");
        ASSERT_STREQ(tree_schema_to_string(TREE_SCHEMA_NATIVE), "native");
        ASSERT_TRUE(tree_schema_to_string(_TREE_SCHEMA_MAX) == NULL);
        ASSERT_TRUE(tree_schema_to_string((TreeSchema) -1) == NULL);
}

TEST(test_name_utf8_check) {
        static const struct {
                const char *bytes;
                int r;
                uint32_t cp;
        } table[] = {
                { "plain", 0, 0 },
                { "\xc3\xa9", 0, 0 },                  /* U+00E9 */
                { "\xef\xbf\xbd", 0, 0 },              /* U+FFFD */
                { "\xf4\x8f\xbf\xbd", 0, 0 },          /* U+10FFFD */
                { "\xef\xbf\xbf", -EDOM, 0xffff },     /* noncharacters */
                { "\xef\xb7\x90", -EDOM, 0xfdd0 },
                { "\xf0\x9f\xbf\xbe", -EDOM, 0x1fffe },
                { "\xed\xa0\x80", -EDOM, 0xd800 },     /* a surrogate (jansson refuses it before us) */
                { "\xf4\x90\x80\x80", -EDOM, 0x110000 }, /* past U+10FFFF */
                { "\x80", -EILSEQ, 0 },                /* a continuation byte first */
                { "\xc0\x80", -EILSEQ, 0 },            /* overlong NUL */
                { "\xe0\x80\xaf", -EILSEQ, 0 },        /* overlong '/' */
                { "\xc3", -EILSEQ, 0 },                /* cut short */
                { "\xc3(", -EILSEQ, 0 },
                { "\xf8\x88\x80\x80\x80", -EILSEQ, 0 }, /* 5-byte form */
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                uint32_t cp = 0;

                ASSERT_EQ_INT(tree_name_check_utf8(table[i].bytes, strlen(table[i].bytes), &cp), table[i].r);
                if (table[i].r == -EDOM)
                        ASSERT_EQ_U64(cp, table[i].cp);
        }
        /* the code point is optional, and only `len` bytes count */
        ASSERT_EQ_INT(tree_name_check_utf8("\xef\xbf\xbf", 3, NULL), -EDOM);
        ASSERT_EQ_INT(tree_name_check_utf8("ok\xc3", 2, NULL), 0);
}

TEST(test_settings_diff_ignores_trailing_zero_bytes) {
        uint8_t a_bits[] = { 0x03, 0x00, 0x00 }, b_bits[] = { 0x03 }, c_bits[] = { 0x03, 0x01 };
        TreeSettings a = { .set_mask = BIT(TREE_PROP_ALLOWED_CPUS), .cpus = a_bits, .n_cpus = sizeof(a_bits) };
        TreeSettings b = { .set_mask = BIT(TREE_PROP_ALLOWED_CPUS), .cpus = b_bits, .n_cpus = sizeof(b_bits) };
        TreeSettings c = { .set_mask = BIT(TREE_PROP_ALLOWED_CPUS), .cpus = c_bits, .n_cpus = sizeof(c_bits) };

        ASSERT_EQ_INT(tree_settings_diff(&a, &b), 0);
        ASSERT_EQ_INT(tree_settings_diff(&b, &a), 0);
        ASSERT_EQ_INT(tree_settings_diff(&a, &c), BIT(TREE_PROP_ALLOWED_CPUS));
        ASSERT_EQ_INT(tree_settings_diff(&c, &b), BIT(TREE_PROP_ALLOWED_CPUS));
}

TEST(test_settings_diff_empty_mask_equals_unset) {
        uint8_t zero[] = { 0x00, 0x00 };
        TreeSettings set_empty = { .set_mask = BIT(TREE_PROP_ALLOWED_CPUS), .cpus = zero, .n_cpus = sizeof(zero) };
        TreeSettings unset = { 0 };

        ASSERT_EQ_INT(tree_settings_diff(&set_empty, &unset), 0);
}

TEST(test_settings_diff_unset_cpus_ignores_stale_bytes) {
        /* Bytes left behind without the set bit do not count. */
        uint8_t stale[] = { 0xff };
        TreeSettings a = { .set_mask = 0, .cpus = stale, .n_cpus = 1 }, b = { 0 };

        ASSERT_EQ_INT(tree_settings_diff(&a, &b), 0);
}

/* Each property on its own: set to a value other than its default, it differs in exactly its bit. */
TEST(test_settings_diff_one_bit_per_property) {
        for (TreeProp p = 0; p < _TREE_PROP_MAX; p++) {
                TreeSettings a = { 0 }, b = { 0 };
                uint8_t *bits = NULL;

                if (prop_info(p)->kind == PROP_KIND_CPUS) {
                        bits = calloc(1, 1);
                        ASSERT_TRUE(bits != NULL);
                        bits[0] = 0x01;
                }
                tree_settings_set(&b, p, prop_info(p)->default_value == 1 ? 2 : 1, bits, bits ? 1 : 0);
                ASSERT_EQ_INT(tree_settings_diff(&a, &b), BIT(p));
                ASSERT_EQ_INT(tree_settings_diff(&b, &a), BIT(p));
                ASSERT_EQ_INT(tree_settings_diff(&b, &b), 0);
                tree_settings_done(&b);
        }
}

TEST(test_settings_set_trims_cpus) {
        TreeSettings s = { 0 };
        uint8_t *bits = calloc(4, 1);

        ASSERT_TRUE(bits != NULL);
        bits[0] = 0x05;
        tree_settings_set(&s, TREE_PROP_ALLOWED_CPUS, 0, bits, 4);
        ASSERT_EQ_INT(s.n_cpus, 1);
        ASSERT_EQ_INT(s.set_mask, BIT(TREE_PROP_ALLOWED_CPUS));
        tree_settings_done(&s);
        ASSERT_TRUE(s.cpus == NULL);
        ASSERT_EQ_INT(s.set_mask, 0);
}

/* Setting AllowedCPUs again frees the mask it replaces (ASan reports a leak otherwise). */
TEST(test_settings_set_replaces_cpus) {
        TreeSettings s = { 0 };
        uint8_t *first = calloc(1, 1), *second = calloc(2, 1);

        ASSERT_TRUE(first && second);
        first[0] = 0x01;
        second[1] = 0x80;
        tree_settings_set(&s, TREE_PROP_ALLOWED_CPUS, 0, first, 1);
        tree_settings_set(&s, TREE_PROP_ALLOWED_CPUS, 0, second, 2);
        ASSERT_TRUE(s.cpus == second);
        ASSERT_EQ_INT(s.n_cpus, 2);
        tree_settings_done(&s);
}

TEST(test_settings_effective) {
        TreeSettings s = { 0 };

        ASSERT_EQ_U64(tree_settings_effective(&s, TREE_PROP_CPU_WEIGHT), UINT64_MAX);
        ASSERT_EQ_U64(tree_settings_effective(&s, TREE_PROP_MEMORY_MAX), UINT64_MAX);
        ASSERT_EQ_U64(tree_settings_effective(&s, TREE_PROP_MEMORY_LOW), 0);
        tree_settings_set(&s, TREE_PROP_MEMORY_LOW, 4096, NULL, 0);
        tree_settings_set(&s, TREE_PROP_CPU_WEIGHT, 77, NULL, 0);
        ASSERT_EQ_U64(tree_settings_effective(&s, TREE_PROP_MEMORY_LOW), 4096);
        ASSERT_EQ_U64(tree_settings_effective(&s, TREE_PROP_CPU_WEIGHT), 77);
        ASSERT_EQ_U64(tree_settings_effective(&s, TREE_PROP_MEMORY_MAX), UINT64_MAX);
        tree_settings_done(&s);
}

int main(void) {
        RUN(test_tree_new);
        RUN(test_tree_add);
        RUN(test_tree_add_copies_path);
        RUN(test_tree_add_children_in_order);
        RUN(test_tree_add_without_parent);
        RUN(test_tree_add_many);
        RUN(test_tree_find);
        RUN(test_tree_find_empty_tree);
        RUN(test_tree_resolve_group);
        RUN(test_tree_resolve_group_name_becomes_shared);
        RUN(test_tree_resolve_group_empty_tree);
        RUN(test_tree_ref_unref);
        RUN(test_tree_unref_frees_nodes);
        RUN(test_tree_path_depth);
        RUN(test_schema_to_string);
        RUN(test_name_utf8_check);
        RUN(test_settings_diff_ignores_trailing_zero_bytes);
        RUN(test_settings_diff_empty_mask_equals_unset);
        RUN(test_settings_diff_unset_cpus_ignores_stale_bytes);
        RUN(test_settings_diff_one_bit_per_property);
        RUN(test_settings_set_trims_cpus);
        RUN(test_settings_set_replaces_cpus);
        RUN(test_settings_effective);
        return 0;
}
