/* SPDX-License-Identifier: MIT */
/* Fixtures shared by the tests of the tree model and of the modules that take a tree (tree-parse,
 * tree-diff, planner): a tree from JSON that must parse, a group that must be there. */
#pragma once

#include <stdio.h>
#include <string.h>

#include "tests.h"
#include "tree-parse.h"
#include "tree.h"

static inline Tree *tree_fixture_parse(const char *json) {
        TreeError err = { "" };
        Tree *t = NULL;
        int r = tree_parse_json(json, strlen(json), &t, &err);

        if (r < 0)
                fprintf(stderr, "fixture rejected (%d): %s\n", r, err.message);
        ASSERT_EQ_INT(r, 0);
        ASSERT_TRUE(t != NULL);
        return t;
}

/* The group at `path`; fails the test when there is none. */
static inline TreeNode *find_ok(const Tree *t, const char *path) {
        TreeNode *n = tree_find(t, path);

        if (!n)
                fprintf(stderr, "no group at \"%s\"\n", path);
        ASSERT_TRUE(n != NULL);
        return n;
}
