/* SPDX-License-Identifier: MIT */
/* Fixtures shared by the tests of the modules that take a tree (tree-parse, tree-diff, planner): a tree
 * from JSON that must parse. */
#pragma once

#include <stdio.h>
#include <string.h>

#include "tests.h"
#include "tree-parse.h"

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
