/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "zk-nodes.h"

bool zk_path_is_valid(const char *path) {
        size_t len;

        if (!path || path[0] != '/')
                return false;
        len = strlen(path);
        if (len > ZK_PATH_MAX)
                return false;
        if (len == 1)
                return true;
        if (path[len - 1] == '/')
                return false;
        for (const char *c = path; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return false;
        /* Every component between two '/' (or the end). */
        for (const char *c = path; *c;) {
                const char *start = c + 1, *end = strchrnul(start, '/');
                size_t n = (size_t) (end - start);

                if (n == 0 || (n == 1 && start[0] == '.') || (n == 2 && start[0] == '.' && start[1] == '.'))
                        return false;
                c = end;
        }
        return true;
}

bool zk_child_name_is_valid(const char *name) {
        size_t len;

        if (!name)
                return false;
        len = strnlen(name, ZK_CHILD_NAME_MAX + 1);
        return len >= 1 && len <= ZK_CHILD_NAME_MAX && !strchr(name, '/') && !streq(name, ".") &&
               !streq(name, "..");
}

static ZkNode *node_free(ZkNode *node) {
        if (!node)
                return NULL;
        pending_read_done(&node->delivery);
        free(node->path);
        free(node);
        return NULL;
}

static int nodes_add(ZkNodes *z, ZkNodeKind kind, char *path /* taken */, ZkNode **ret) {
        ZkNode *node;

        if (z->n == z->allocated) {
                size_t allocated = MAX(z->allocated * 2, (size_t) 8);
                ZkNode **nodes = reallocarray(z->nodes, allocated, sizeof(ZkNode *));

                if (!nodes) {
                        free(path);
                        return -ENOMEM;
                }
                z->nodes = nodes;
                z->allocated = allocated;
        }
        node = calloc(1, sizeof(ZkNode));
        if (!node) {
                free(path);
                return -ENOMEM;
        }
        *node = (ZkNode) {
                .path = path,
                .kind = kind,
                .state = ZK_NODE_DIRTY,
                .id = ++z->next_id,
                .version = -1,
        };
        coalescer_init(&node->changes, /* settle_usec= */ 0, COALESCE_BOUND_USEC, COALESCE_BOUND_USEC);
        z->nodes[z->n++] = node;
        if (ret)
                *ret = node;
        return 0;
}

static int nodes_add_copy(ZkNodes *z, ZkNodeKind kind, const char *path, ZkNode **ret) {
        char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        return nodes_add(z, kind, copy, ret);
}

int zk_nodes_init(ZkNodes *z, char *const *nodes, const char *children_of, size_t max_children) {
        int r;

        assert(z);

        *z = (ZkNodes) { .max_children = max_children };
        if (!nodes || !nodes[0])
                return -EINVAL;
        if (children_of && !zk_path_is_valid(children_of))
                return -EINVAL;
        for (size_t i = 0; nodes[i]; i++) {
                if (!zk_path_is_valid(nodes[i]))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (streq(nodes[i], nodes[j]))
                                return -EINVAL;
        }
        for (size_t i = 0; nodes[i]; i++) {
                r = nodes_add_copy(z, ZK_NODE_DATA, nodes[i], NULL);
                if (r < 0)
                        goto fail;
        }
        if (children_of) {
                r = nodes_add_copy(z, ZK_NODE_LIST, children_of, &z->list);
                if (r < 0)
                        goto fail;
        }
        z->n_fixed = z->n;
        return 0;
fail:
        zk_nodes_done(z);
        return r;
}

void zk_nodes_done(ZkNodes *z) {
        assert(z);

        for (size_t i = 0; i < z->n; i++)
                node_free(z->nodes[i]);
        free(z->nodes);
        *z = (ZkNodes) {};
}

ZkNode *zk_nodes_get(const ZkNodes *z, uint64_t id) {
        assert(z);

        for (size_t i = 0; i < z->n; i++)
                if (z->nodes[i]->id == id)
                        return z->nodes[i];
        return NULL;
}

ZkNode *zk_nodes_next_at_path(const ZkNodes *z, const char *path, size_t *i) {
        assert(z);
        assert(i);

        for (; path && *i < z->n; (*i)++) {
                ZkNode *node = z->nodes[*i];

                if (node->state != ZK_NODE_GONE && streq(node->path, path)) {
                        (*i)++;
                        return node;
                }
        }
        return NULL;
}

size_t zk_nodes_count(const ZkNodes *z, ZkNodeState state) {
        size_t n = 0;

        assert(z);

        for (size_t i = 0; i < z->n; i++)
                n += z->nodes[i]->state == state;
        return n;
}

void zk_node_mark_dirty(ZkNode *node) {
        assert(node);

        if (node->state != ZK_NODE_GONE)
                node->state = ZK_NODE_DIRTY;
}

void zk_nodes_mark_all_dirty(ZkNodes *z) {
        assert(z);

        for (size_t i = 0; i < z->n; i++)
                zk_node_mark_dirty(z->nodes[i]);
}

void zk_nodes_retry_failed(ZkNodes *z) {
        assert(z);

        for (size_t i = 0; i < z->n; i++)
                if (z->nodes[i]->state == ZK_NODE_FAILED)
                        z->nodes[i]->state = ZK_NODE_DIRTY;
}

bool zk_nodes_changed(ZkNodes *z, const char *path, usec_t now) {
        bool dirty = false;
        ZkNode *node;

        assert(z);

        for (size_t i = 0; (node = zk_nodes_next_at_path(z, path, &i));) {
                coalescer_change(&node->changes, now);
                if (coalescer_due(&node->changes) <= now) {
                        zk_node_mark_dirty(node);
                        dirty = true;
                }
        }
        return dirty;
}

usec_t zk_nodes_due(const ZkNodes *z) {
        usec_t due = USEC_INFINITY;

        assert(z);

        /* A DIRTY node waits for its read anyway (maybe for a session): no timer for it. */
        for (size_t i = 0; i < z->n; i++)
                if (z->nodes[i]->state != ZK_NODE_GONE && z->nodes[i]->state != ZK_NODE_DIRTY)
                        due = MIN(due, coalescer_due(&z->nodes[i]->changes));
        return due;
}

bool zk_nodes_take_due(ZkNodes *z, usec_t now) {
        bool any = false;

        assert(z);

        for (size_t i = 0; i < z->n; i++) {
                ZkNode *node = z->nodes[i];

                if (node->state != ZK_NODE_GONE && node->state != ZK_NODE_DIRTY &&
                    coalescer_due(&node->changes) <= now) {
                        zk_node_mark_dirty(node);
                        any = true;
                }
        }
        return any;
}

uint64_t zk_node_sent(ZkNode *node, usec_t now) {
        assert(node);

        /* This read gets the latest version: a postponed one is not needed any more. */
        coalescer_acted(&node->changes, now);
        node->state = ZK_NODE_IN_FLIGHT;
        return ++node->serial;
}

ZkNode *zk_nodes_completed(const ZkNodes *z, uint64_t id, uint64_t serial) {
        ZkNode *node = zk_nodes_get(z, id);

        return node && node->serial == serial && node->state == ZK_NODE_IN_FLIGHT ? node : NULL;
}

void zk_node_done(ZkNode *node, bool ok) {
        assert(node);

        if (node->state == ZK_NODE_IN_FLIGHT)
                node->state = ok ? ZK_NODE_WATCHING : ZK_NODE_FAILED;
}

int zk_node_put(ZkNode *node, int error, const char *message, const char *data, size_t size, int64_t version) {
        assert(node);

        node->version = error < 0 ? -1 : version;
        return pending_read_put(&node->delivery, error, message, data, size, version);
}

ZkNode *zk_nodes_next_delivery(const ZkNodes *z) {
        assert(z);

        for (size_t i = 0; i < z->n; i++)
                if (z->nodes[i]->delivery.pending)
                        return z->nodes[i];
        return NULL;
}

void zk_nodes_delivered(ZkNodes *z, ZkNode *node) {
        assert(z);
        assert(node);

        if (node->state != ZK_NODE_GONE || node->delivery.pending)
                return;
        for (size_t i = z->n_fixed; i < z->n; i++)
                if (z->nodes[i] == node) {
                        z->n_taken += node->delivery.n_taken;
                        z->n_replaced += node->delivery.n_replaced;
                        memmove(z->nodes + i, z->nodes + i + 1, (z->n - i - 1) * sizeof(ZkNode *));
                        z->n--;
                        node_free(node);
                        return;
                }
}

uint64_t zk_nodes_taken(const ZkNodes *z) {
        uint64_t n = z->n_taken;

        for (size_t i = 0; i < z->n; i++)
                n += z->nodes[i]->delivery.n_taken;
        return n;
}

uint64_t zk_nodes_replaced(const ZkNodes *z) {
        uint64_t n = z->n_replaced;

        for (size_t i = 0; i < z->n; i++)
                n += z->nodes[i]->delivery.n_replaced;
        return n;
}

static void child_gone(ZkNodes *z, ZkNode *node) {
        char msg[ZK_PATH_MAX + 128];

        snprintf(msg, sizeof(msg), "node %s does not exist (no longer a child of %s)", node->path, z->list->path);
        node->state = ZK_NODE_GONE;
        (void) zk_node_put(node, -ENOENT, msg, NULL, 0, -1);
        assert(z->n_children > 0);
        z->n_children--;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool sorted_contains(char **sorted, size_t n, const char *s) {
        return n > 0 && bsearch(&s, sorted, n, sizeof(char *), cmp_str);
}

static const char *child_name(const ZkNodes *z, const ZkNode *node) {
        size_t len = strlen(z->list->path);

        return node->path + (len == 1 ? 1 : len + 1);
}

void zk_nodes_children(ZkNodes *z, char *const *names, size_t n, ZkChildrenDiff *ret) {
        ZkChildrenDiff d = {};
        char **valid = NULL, **current = NULL;
        size_t n_valid = 0, n_current = 0;

        assert(z);
        assert(z->list);
        assert(names || n == 0);

        valid = n > 0 ? calloc(n, sizeof(char *)) : NULL;
        current = z->n > 0 ? calloc(z->n, sizeof(char *)) : NULL;
        if ((n > 0 && !valid) || (z->n > 0 && !current)) {
                /* Out of memory: change nothing; the next change of the list reads it again. */
                free(valid);
                free(current);
                if (ret)
                        *ret = d;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                if (!zk_child_name_is_valid(names[i])) {
                        d.skipped++;
                        continue;
                }
                valid[n_valid++] = names[i];
        }
        if (n_valid > 0)
                qsort(valid, n_valid, sizeof(char *), cmp_str);
        /* The server lists each name once; a repeat would not add a second node. */
        for (size_t i = 1; i < n_valid;)
                if (streq(valid[i], valid[i - 1])) {
                        memmove(valid + i, valid + i + 1, (n_valid - i - 1) * sizeof(char *));
                        n_valid--;
                } else
                        i++;
        d.wanted = n_valid;
        z->n_skipped = d.skipped;

        /* Gone: in the set, not listed. Listed again after its read found it missing: read it again. */
        for (size_t i = z->n_fixed; i < z->n; i++) {
                ZkNode *node = z->nodes[i];
                const char *name;

                if (node->state == ZK_NODE_GONE)
                        continue;
                name = child_name(z, node);
                if (!sorted_contains(valid, n_valid, name)) {
                        child_gone(z, node);
                        d.removed++;
                        continue;
                }
                if (node->vanished) {
                        node->vanished = false;
                        zk_node_mark_dirty(node);
                }
                current[n_current++] = (char *) name;
        }
        if (n_current > 0)
                qsort(current, n_current, sizeof(char *), cmp_str);

        if (n_valid > z->max_children)
                d.too_many = true;
        else
                for (size_t i = 0; i < n_valid; i++) {
                        char *path;

                        if (sorted_contains(current, n_current, valid[i]))
                                continue;
                        if (asprintf(&path, "%s/%s", streq(z->list->path, "/") ? "" : z->list->path, valid[i]) < 0)
                                break;
                        if (nodes_add(z, ZK_NODE_CHILD, path, NULL) < 0)
                                break;
                        z->n_children++;
                        d.added++;
                }
        free(valid);
        free(current);
        if (ret)
                *ret = d;
}

size_t zk_nodes_children_missing(ZkNodes *z) {
        size_t n = 0;

        assert(z);

        for (size_t i = z->n_fixed; i < z->n; i++)
                if (z->nodes[i]->state != ZK_NODE_GONE) {
                        child_gone(z, z->nodes[i]);
                        n++;
                }
        return n;
}

const char *zk_node_state_to_string(ZkNodeState s) {
        static const char *const table[_ZK_NODE_STATE_MAX] = {
                [ZK_NODE_DIRTY] = "dirty",
                [ZK_NODE_IN_FLIGHT] = "reading",
                [ZK_NODE_WATCHING] = "watching",
                [ZK_NODE_FAILED] = "failed",
                [ZK_NODE_GONE] = "gone",
        };
        return s >= 0 && s < _ZK_NODE_STATE_MAX ? table[s] : "?";
}
