/* SPDX-License-Identifier: MIT */
/* The children of a ZooKeeper node as the server lists them (src/source/zk-nodes.c): the input is a sequence of
 * lists (separated by 0x01, names by '\n', a list starting with 0x02 means "children_of missing"), applied one
 * after the other to a set of at most 4 children. After each: the set holds exactly the valid listed names (or,
 * with too many, a subset of them and none new), each once, never more than the bound; every child that left
 * has its -ENOENT waiting and is dropped once delivered. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "macro.h"
#include "zk-nodes.h"

#define MAX_CHILDREN 4
#define MAX_NAMES 64

static bool listed(char **names, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(names[i], name))
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char *const nodes[] = { (char *) "/z/arch_conf", NULL };
        char *text = malloc(size + 1), *list, *save = NULL;
        ZkNodes z;

        FUZZ_CHECK(text);
        memcpy(text, data, size);
        text[size] = 0; /* a NUL inside ends the input */
        FUZZ_CHECK(zk_nodes_init(&z, nodes, "/z/users", MAX_CHILDREN) == 0);

        for (list = strtok_r(text, "\x01", &save); list; list = strtok_r(NULL, "\x01", &save)) {
                char *names[MAX_NAMES], *name, *s2 = NULL;
                size_t n = 0, valid = 0, before = z.n_children, gone = 0, leaving;
                ZkChildrenDiff d;
                ZkNode *node;

                if (list[0] == '\x02') {
                        leaving = zk_nodes_children_missing(&z);
                        FUZZ_CHECK(leaving == before);
                        FUZZ_CHECK(z.n_children == 0);
                } else {
                        for (name = strtok_r(list, "\n", &s2); name && n < MAX_NAMES; name = strtok_r(NULL, "\n", &s2))
                                names[n++] = name;
                        for (size_t i = 0; i < n; i++)
                                valid += zk_child_name_is_valid(names[i]) && !listed(names, i, names[i]);
                        zk_nodes_children(&z, names, n, &d);
                        leaving = d.removed;
                        FUZZ_CHECK(d.wanted == valid);
                        FUZZ_CHECK(d.skipped <= n);
                        FUZZ_CHECK(d.too_many == (valid > MAX_CHILDREN));
                        FUZZ_CHECK(!d.too_many || d.added == 0);
                        FUZZ_CHECK(z.n_children == before + d.added - d.removed);
                        FUZZ_CHECK(z.n_children <= MAX_CHILDREN);
                        FUZZ_CHECK(d.too_many || z.n_children == valid);
                        /* Every child in the set is listed, valid, and there once. */
                        for (size_t i = z.n_fixed; i < z.n; i++) {
                                const char *p = z.nodes[i]->path;

                                if (z.nodes[i]->state == ZK_NODE_GONE)
                                        continue;
                                FUZZ_CHECK(strncmp(p, "/z/users/", 9) == 0);
                                FUZZ_CHECK(zk_child_name_is_valid(p + 9));
                                FUZZ_CHECK(listed(names, n, p + 9));
                                for (size_t j = i + 1; j < z.n; j++)
                                        FUZZ_CHECK(z.nodes[j]->state == ZK_NODE_GONE || !streq(z.nodes[j]->path, p));
                        }
                }
                /* The gone ones wait with -ENOENT; delivered, they are dropped. */
                while ((node = zk_nodes_next_delivery(&z))) {
                        SourceRead r;

                        FUZZ_CHECK(pending_read_take(&node->delivery, &r));
                        if (node->state == ZK_NODE_GONE) {
                                FUZZ_CHECK(r.error == -ENOENT);
                                gone++;
                        }
                        source_read_done(&r);
                        zk_nodes_delivered(&z, node);
                }
                FUZZ_CHECK(gone == leaving);
                FUZZ_CHECK(z.n == z.n_fixed + z.n_children);
                FUZZ_CHECK(zk_nodes_count(&z, ZK_NODE_GONE) == 0);
        }
        zk_nodes_done(&z);
        free(text);
        return 0;
}
