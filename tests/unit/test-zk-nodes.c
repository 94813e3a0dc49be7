/* SPDX-License-Identifier: MIT */
/* The ZooKeeper source's node bookkeeping without a server: which nodes are read, in flight, watched or refused;
 * the children of a node diffed against the set (new ones read, gone ones -ENOENT once, then forgotten, bounded
 * by max_children); completions of reads replaced or of forgotten children are ignored. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "tests.h"
#include "zk-nodes.h"

static char *const TWO[] = { (char *) "/z/arch_conf", (char *) "/z/hosts/n1/arch_conf", NULL };

static ZkNode *at(ZkNodes *z, const char *path) {
        size_t i = 0;

        return zk_nodes_next_at_path(z, path, &i);
}

static ZkNode *child(ZkNodes *z, const char *name) {
        char path[512];

        snprintf(path, sizeof(path), "/z/users/%s", name);
        return at(z, path);
}

/* Sends every DIRTY node at now, completes them all successfully. */
static void read_all(ZkNodes *z, usec_t now) {
        for (size_t i = 0; i < z->n; i++)
                if (z->nodes[i]->state == ZK_NODE_DIRTY) {
                        uint64_t serial = zk_node_sent(z->nodes[i], now);
                        ZkNode *n = zk_nodes_completed(z, z->nodes[i]->id, serial);

                        ASSERT_TRUE(n == z->nodes[i]);
                        zk_node_done(n, true);
                }
}

/* Takes every pending delivery; returns how many, and how many were -ENOENT. */
static size_t deliver_all(ZkNodes *z, size_t *n_enoent) {
        size_t n = 0;
        ZkNode *node;

        *n_enoent = 0;
        while ((node = zk_nodes_next_delivery(z))) {
                SourceRead r;

                ASSERT_TRUE(pending_read_take(&node->delivery, &r));
                *n_enoent += r.error == -ENOENT;
                source_read_done(&r);
                zk_nodes_delivered(z, node);
                n++;
        }
        return n;
}

TEST(test_paths) {
        ASSERT_TRUE(zk_path_is_valid("/"));
        ASSERT_TRUE(zk_path_is_valid("/a"));
        ASSERT_TRUE(zk_path_is_valid("/a/b.c/..d"));
        ASSERT_TRUE(!zk_path_is_valid(NULL));
        ASSERT_TRUE(!zk_path_is_valid(""));
        ASSERT_TRUE(!zk_path_is_valid("a/b"));
        ASSERT_TRUE(!zk_path_is_valid("/a/"));
        ASSERT_TRUE(!zk_path_is_valid("//a"));
        ASSERT_TRUE(!zk_path_is_valid("/a//b"));
        ASSERT_TRUE(!zk_path_is_valid("/a/./b"));
        ASSERT_TRUE(!zk_path_is_valid("/a/.."));
        ASSERT_TRUE(!zk_path_is_valid("/."));
        ASSERT_TRUE(!zk_path_is_valid("/a\nb"));

        ASSERT_TRUE(zk_child_name_is_valid("alice"));
        ASSERT_TRUE(zk_child_name_is_valid("..."));
        ASSERT_TRUE(zk_child_name_is_valid(".x"));
        ASSERT_TRUE(!zk_child_name_is_valid(""));
        ASSERT_TRUE(!zk_child_name_is_valid("."));
        ASSERT_TRUE(!zk_child_name_is_valid(".."));
        ASSERT_TRUE(!zk_child_name_is_valid("a/b"));
        ASSERT_TRUE(!zk_child_name_is_valid(NULL));
        char name[300];
        memset(name, 'x', sizeof(name));
        name[255] = 0;
        ASSERT_TRUE(zk_child_name_is_valid(name));
        name[255] = 'x';
        name[256] = 0;
        ASSERT_TRUE(!zk_child_name_is_valid(name));
}

TEST(test_init_refuses) {
        ZkNodes z;
        char *const none[] = { NULL };
        char *const dup[] = { (char *) "/a", (char *) "/a", NULL };
        char *const bad[] = { (char *) "/a", (char *) "b", NULL };

        ASSERT_EQ_INT(zk_nodes_init(&z, NULL, NULL, 10), -EINVAL);
        ASSERT_EQ_INT(zk_nodes_init(&z, none, NULL, 10), -EINVAL);
        ASSERT_EQ_INT(zk_nodes_init(&z, dup, NULL, 10), -EINVAL);
        ASSERT_EQ_INT(zk_nodes_init(&z, bad, NULL, 10), -EINVAL);
        ASSERT_EQ_INT(zk_nodes_init(&z, TWO, "/z/users/", 10), -EINVAL);
        zk_nodes_done(&z);
}

TEST(test_reads_and_states) {
        ZkNodes z;

        ASSERT_EQ_INT(zk_nodes_init(&z, TWO, "/z/users", 10), 0);
        ASSERT_EQ_INT(z.n, 3);
        ASSERT_EQ_INT(z.n_fixed, 3);
        ASSERT_STREQ(z.nodes[0]->path, "/z/arch_conf");
        ASSERT_TRUE(z.list == z.nodes[2]);
        ASSERT_EQ_INT(z.list->kind, ZK_NODE_LIST);
        ASSERT_EQ_INT(zk_nodes_count(&z, ZK_NODE_DIRTY), 3);

        /* Two reads in flight; a second read of the first replaces the first read: its completion is ignored. */
        uint64_t s0 = zk_node_sent(z.nodes[0], 0), s1 = zk_node_sent(z.nodes[1], 0);
        ASSERT_EQ_INT(zk_nodes_count(&z, ZK_NODE_IN_FLIGHT), 2);
        uint64_t s0b = zk_node_sent(z.nodes[0], 0);
        ASSERT_TRUE(zk_nodes_completed(&z, z.nodes[0]->id, s0) == NULL);
        ASSERT_TRUE(zk_nodes_completed(&z, z.nodes[0]->id, s0b) == z.nodes[0]);
        zk_node_done(z.nodes[0], true);
        ASSERT_EQ_INT(z.nodes[0]->state, ZK_NODE_WATCHING);
        /* A completion once done is ignored too. */
        ASSERT_TRUE(zk_nodes_completed(&z, z.nodes[0]->id, s0b) == NULL);
        ASSERT_TRUE(zk_nodes_completed(&z, 999, s1) == NULL);
        zk_node_done(zk_nodes_completed(&z, z.nodes[1]->id, s1), false);
        ASSERT_EQ_INT(z.nodes[1]->state, ZK_NODE_FAILED);
        ASSERT_STREQ(zk_node_state_to_string(z.nodes[1]->state), "failed");

        /* The backoff retries the failed one only. */
        zk_nodes_retry_failed(&z);
        ASSERT_EQ_INT(z.nodes[1]->state, ZK_NODE_DIRTY);
        ASSERT_EQ_INT(z.nodes[0]->state, ZK_NODE_WATCHING);
        ASSERT_EQ_INT(z.list->state, ZK_NODE_DIRTY);
        read_all(&z, 0);
        ASSERT_EQ_INT(zk_nodes_count(&z, ZK_NODE_WATCHING), 3);

        /* A new session: all again. */
        zk_nodes_mark_all_dirty(&z);
        ASSERT_EQ_INT(zk_nodes_count(&z, ZK_NODE_DIRTY), 3);
        zk_nodes_done(&z);
}

TEST(test_per_node_delivery_keeps_newest) {
        ZkNodes z;
        size_t n_enoent;

        ASSERT_EQ_INT(zk_nodes_init(&z, TWO, NULL, 10), 0);
        ASSERT_EQ_INT(zk_node_put(z.nodes[1], 0, NULL, "a", 1, 1), 0);
        ASSERT_EQ_INT(zk_node_put(z.nodes[0], 0, NULL, "x", 1, 5), 0);
        ASSERT_EQ_INT(zk_node_put(z.nodes[1], 0, NULL, "bb", 2, 2), 0);
        ASSERT_EQ_U64(z.nodes[1]->version, 2);
        /* In set order: the first node first, then the second's newest. */
        ZkNode *n = zk_nodes_next_delivery(&z);
        ASSERT_TRUE(n == z.nodes[0]);
        SourceRead r;
        ASSERT_TRUE(pending_read_take(&n->delivery, &r));
        ASSERT_STREQ(r.data, "x");
        source_read_done(&r);
        n = zk_nodes_next_delivery(&z);
        ASSERT_TRUE(n == z.nodes[1]);
        ASSERT_TRUE(pending_read_take(&n->delivery, &r));
        ASSERT_STREQ(r.data, "bb");
        ASSERT_EQ_U64(r.version, 2);
        source_read_done(&r);
        ASSERT_TRUE(zk_nodes_next_delivery(&z) == NULL);
        ASSERT_EQ_U64(zk_nodes_taken(&z), 2);
        ASSERT_EQ_U64(zk_nodes_replaced(&z), 1);
        ASSERT_EQ_INT(deliver_all(&z, &n_enoent), 0);
        /* An error forgets the version. */
        zk_node_put(z.nodes[0], -ENOENT, "gone", NULL, 0, -1);
        ASSERT_EQ_U64(z.nodes[0]->version, (uint64_t) -1);
        zk_nodes_done(&z);
}

TEST(test_children_diff) {
        ZkNodes z;
        ZkChildrenDiff d;
        size_t n_enoent;
        char *const list1[] = { (char *) "bob", (char *) "alice", (char *) "a/b", (char *) ".", (char *) "",
                                (char *) "carol" };
        char *const list2[] = { (char *) "carol", (char *) "dave", (char *) "alice" };

        ASSERT_EQ_INT(zk_nodes_init(&z, TWO, "/z/users", 10), 0);
        zk_nodes_children(&z, list1, ELEMENTSOF(list1), &d);
        ASSERT_EQ_INT(d.added, 3);
        ASSERT_EQ_INT(d.removed, 0);
        ASSERT_EQ_INT(d.skipped, 3);
        ASSERT_EQ_INT(d.wanted, 3);
        ASSERT_TRUE(!d.too_many);
        ASSERT_EQ_INT(z.n_children, 3);
        ASSERT_EQ_U64(z.n_skipped, 3);
        ASSERT_TRUE(child(&z, "alice") && child(&z, "bob") && child(&z, "carol"));
        ASSERT_EQ_INT(child(&z, "alice")->kind, ZK_NODE_CHILD);
        ASSERT_EQ_INT(child(&z, "alice")->state, ZK_NODE_DIRTY);
        read_all(&z, 0);

        /* The same list again: nothing changes. */
        zk_nodes_children(&z, list1, ELEMENTSOF(list1), &d);
        ASSERT_EQ_INT(d.added + d.removed, 0);
        ASSERT_EQ_INT(zk_nodes_count(&z, ZK_NODE_DIRTY), 0);

        /* bob leaves, dave joins: bob is -ENOENT once and forgotten, dave is read. */
        ZkNode *bob = child(&z, "bob");
        uint64_t bob_id = bob->id, bob_serial = zk_node_sent(bob, 0);
        zk_nodes_children(&z, list2, ELEMENTSOF(list2), &d);
        ASSERT_EQ_INT(d.added, 1);
        ASSERT_EQ_INT(d.removed, 1);
        ASSERT_EQ_INT(d.skipped, 0);
        ASSERT_EQ_INT(z.n_children, 3);
        ASSERT_TRUE(child(&z, "bob") == NULL); /* gone: not found by path any more */
        ASSERT_EQ_INT(child(&z, "dave")->state, ZK_NODE_DIRTY);
        /* A late completion of bob's read finds nothing. */
        ASSERT_TRUE(zk_nodes_completed(&z, bob_id, bob_serial) == NULL);
        ASSERT_EQ_INT(deliver_all(&z, &n_enoent), 1);
        ASSERT_EQ_INT(n_enoent, 1);
        ASSERT_TRUE(zk_nodes_get(&z, bob_id) == NULL);
        ASSERT_EQ_INT(z.n, 3 + 3);
        ASSERT_EQ_U64(zk_nodes_taken(&z), 1); /* kept after bob was dropped */
        ASSERT_EQ_INT(deliver_all(&z, &n_enoent), 0);

        /* bob comes back: a new node, a new id. */
        char *const list3[] = { (char *) "carol", (char *) "dave", (char *) "alice", (char *) "bob" };
        zk_nodes_children(&z, list3, ELEMENTSOF(list3), &d);
        ASSERT_EQ_INT(d.added, 1);
        ASSERT_TRUE(child(&z, "bob")->id != bob_id);
        zk_nodes_done(&z);
}

TEST(test_child_gone_and_back_before_delivery) {
        ZkNodes z;
        ZkChildrenDiff d;
        size_t n_enoent;
        char *const with[] = { (char *) "alice" };

        ASSERT_EQ_INT(zk_nodes_init(&z, TWO, "/z/users", 10), 0);
        zk_nodes_children(&z, with, 1, &d);
        zk_node_put(child(&z, "alice"), 0, NULL, "{}", 2, 0);
        zk_nodes_children(&z, NULL, 0, &d);
        ASSERT_EQ_INT(d.removed, 1);
        zk_nodes_children(&z, with, 1, &d);
        ASSERT_EQ_INT(d.added, 1);
        /* The old one's -ENOENT (replacing its data) comes first, then the new one. */
        zk_node_put(child(&z, "alice"), 0, NULL, "{\"a\":1}", 7, 0);
        ZkNode *n = zk_nodes_next_delivery(&z);
        ASSERT_EQ_INT(n->state, ZK_NODE_GONE);
        ASSERT_EQ_INT(n->delivery.read.error, -ENOENT);
        ASSERT_EQ_INT(deliver_all(&z, &n_enoent), 2);
        ASSERT_EQ_INT(n_enoent, 1);
        ASSERT_EQ_INT(z.n, 4);
        zk_nodes_done(&z);
}

TEST(test_children_bounded) {
        ZkNodes z;
        ZkChildrenDiff d;
        char *const two[] = { (char *) "a", (char *) "b" };
        char *const three[] = { (char *) "a", (char *) "c", (char *) "d" };
        char *const one[] = { (char *) "c" };

        ASSERT_EQ_INT(zk_nodes_init(&z, TWO, "/z/users", 2), 0);
        zk_nodes_children(&z, two, 2, &d);
        ASSERT_EQ_INT(d.added, 2);
        /* Three: too many; b is gone, nothing is added, a is kept. */
        zk_nodes_children(&z, three, 3, &d);
        ASSERT_TRUE(d.too_many);
        ASSERT_EQ_INT(d.wanted, 3);
        ASSERT_EQ_INT(d.added, 0);
        ASSERT_EQ_INT(d.removed, 1);
        ASSERT_EQ_INT(z.n_children, 1);
        ASSERT_TRUE(child(&z, "a") != NULL);
        ASSERT_TRUE(child(&z, "c") == NULL);
        /* Back under the limit. */
        zk_nodes_children(&z, one, 1, &d);
        ASSERT_TRUE(!d.too_many);
        ASSERT_EQ_INT(d.added, 1);
        ASSERT_EQ_INT(d.removed, 1);
        ASSERT_EQ_INT(z.n_children, 1);
        /* Duplicates in a list count once. */
        char *const dups[] = { (char *) "c", (char *) "c", (char *) "c" };
        zk_nodes_children(&z, dups, 3, &d);
        ASSERT_EQ_INT(d.wanted, 1);
        ASSERT_TRUE(!d.too_many);
        ASSERT_EQ_INT(d.added + d.removed, 0);
        zk_nodes_done(&z);
}

TEST(test_children_of_missing_and_vanished) {
        ZkNodes z;
        ZkChildrenDiff d;
        size_t n_enoent;
        char *const ab[] = { (char *) "a", (char *) "b" };

        ASSERT_EQ_INT(zk_nodes_init(&z, TWO, "/", 10), 0);
        zk_nodes_children(&z, ab, 2, &d);
        ASSERT_TRUE(at(&z, "/a") != NULL); /* children of "/" are "/<name>" */
        read_all(&z, 0);
        deliver_all(&z, &n_enoent);
        /* a's read finds it missing: the list decides. Listed again: read again. */
        at(&z, "/a")->vanished = true;
        zk_nodes_children(&z, ab, 2, &d);
        ASSERT_EQ_INT(at(&z, "/a")->state, ZK_NODE_DIRTY);
        ASSERT_TRUE(!at(&z, "/a")->vanished);
        ASSERT_EQ_INT(at(&z, "/b")->state, ZK_NODE_WATCHING);
        /* The list's node missing: every child gone, once. */
        ASSERT_EQ_INT(zk_nodes_children_missing(&z), 2);
        ASSERT_EQ_INT(zk_nodes_children_missing(&z), 0);
        ASSERT_EQ_INT(z.n_children, 0);
        ASSERT_EQ_INT(deliver_all(&z, &n_enoent), 2);
        ASSERT_EQ_INT(n_enoent, 2);
        ASSERT_EQ_INT(z.n, z.n_fixed);
        /* mark_all_dirty does not revive a gone node (none left here anyway). */
        zk_nodes_mark_all_dirty(&z);
        ASSERT_EQ_INT(zk_nodes_count(&z, ZK_NODE_DIRTY), 3);
        zk_nodes_done(&z);
}

TEST(test_coalesced_changes) {
        ZkNodes z;
        usec_t t0 = 10 * USEC_PER_SEC;

        ASSERT_EQ_INT(zk_nodes_init(&z, TWO, NULL, 10), 0);
        read_all(&z, t0);
        ASSERT_EQ_U64(zk_nodes_due(&z), USEC_INFINITY);
        /* A change right after the read waits for the bound; another node's is independent. */
        ASSERT_TRUE(!zk_nodes_changed(&z, "/z/arch_conf", t0 + 10 * USEC_PER_MSEC));
        ASSERT_EQ_INT(z.nodes[0]->state, ZK_NODE_WATCHING);
        ASSERT_EQ_U64(zk_nodes_due(&z), t0 + COALESCE_BOUND_USEC);
        ASSERT_TRUE(!zk_nodes_take_due(&z, t0 + COALESCE_BOUND_USEC - 1));
        ASSERT_TRUE(zk_nodes_take_due(&z, t0 + COALESCE_BOUND_USEC));
        ASSERT_EQ_INT(z.nodes[0]->state, ZK_NODE_DIRTY);
        ASSERT_EQ_INT(z.nodes[1]->state, ZK_NODE_WATCHING);
        /* DIRTY and not read yet (no session, say): no timer for it, not taken again. */
        ASSERT_EQ_U64(zk_nodes_due(&z), USEC_INFINITY);
        ASSERT_TRUE(!zk_nodes_take_due(&z, t0 + 2 * COALESCE_BOUND_USEC));
        zk_node_sent(z.nodes[0], t0 + COALESCE_BOUND_USEC);
        ASSERT_EQ_U64(zk_nodes_due(&z), USEC_INFINITY);
        /* A change while the read is in flight is read again once due. */
        ASSERT_TRUE(!zk_nodes_changed(&z, "/z/arch_conf", t0 + COALESCE_BOUND_USEC + 1));
        ASSERT_EQ_U64(zk_nodes_due(&z), t0 + 2 * COALESCE_BOUND_USEC);
        ASSERT_TRUE(zk_nodes_take_due(&z, t0 + 2 * COALESCE_BOUND_USEC));
        ASSERT_EQ_INT(z.nodes[0]->state, ZK_NODE_DIRTY);
        zk_node_sent(z.nodes[0], t0 + 2 * COALESCE_BOUND_USEC);
        /* Long after: at once. Unknown paths change nothing. */
        ASSERT_TRUE(zk_nodes_changed(&z, "/z/hosts/n1/arch_conf", t0 + 10 * USEC_PER_SEC));
        ASSERT_EQ_INT(z.nodes[1]->state, ZK_NODE_DIRTY);
        ASSERT_TRUE(!zk_nodes_changed(&z, "/nope", t0 + 10 * USEC_PER_SEC));
        zk_nodes_done(&z);
}

int main(void) {
        RUN(test_paths);
        RUN(test_init_refuses);
        RUN(test_reads_and_states);
        RUN(test_per_node_delivery_keeps_newest);
        RUN(test_children_diff);
        RUN(test_child_gone_and_back_before_delivery);
        RUN(test_children_bounded);
        RUN(test_children_of_missing_and_vanished);
        RUN(test_coalesced_changes);
        return 0;
}
