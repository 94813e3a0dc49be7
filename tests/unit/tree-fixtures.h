/* SPDX-License-Identifier: MIT */
/* Fixtures shared by the tests of the tree model and its parser. */
#pragma once

#include <stdio.h>

#include "tests.h"
#include "tree.h"

/* The group at `path`; fails the test when there is none. */
static inline TreeNode *find_ok(const Tree *t, const char *path) {
        TreeNode *n = tree_find(t, path);

        if (!n)
                fprintf(stderr, "no group at \"%s\"\n", path);
        ASSERT_TRUE(n != NULL);
        return n;
}
