/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "tree.h"

Tree *tree_new(TreeSchema schema) {
        Tree *t = calloc(1, sizeof(Tree));

        if (!t)
                return NULL;
        t->n_ref = 1;
        t->schema = schema;
        return t;
}

Tree *tree_ref(Tree *t) {
        if (t)
                t->n_ref++;
        return t;
}

static void node_free(TreeNode *n) {
        if (!n)
                return;
        free(n->name);
        free(n->path);
        free(n->children);
        tree_settings_done(&n->settings);
        strv_free(n->pid_files);
        free(n->pids);
        free(n);
}

Tree *tree_unref(Tree *t) {
        if (!t || --t->n_ref > 0)
                return NULL;
        for (size_t i = 0; i < t->n_nodes; i++)
                node_free(t->nodes[i]);
        free(t->nodes);
        strmap_done(&t->by_path);
        free(t);
        return NULL;
}

int tree_name_check_utf8(const char *s, size_t len, uint32_t *ret_cp) {
        static const uint32_t shortest[5] = { 0, 0, 0x80, 0x800, 0x10000 };

        assert(s || len == 0);

        for (size_t i = 0; i < len;) {
                unsigned char c = (unsigned char) s[i];
                size_t n;
                uint32_t cp;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xe0) == 0xc0)
                        n = 2, cp = c & 0x1f;
                else if ((c & 0xf0) == 0xe0)
                        n = 3, cp = c & 0x0f;
                else if ((c & 0xf8) == 0xf0)
                        n = 4, cp = c & 0x07;
                else
                        return -EILSEQ;
                if (len - i < n)
                        return -EILSEQ;
                for (size_t k = 1; k < n; k++) {
                        if (((unsigned char) s[i + k] & 0xc0) != 0x80)
                                return -EILSEQ;
                        cp = cp << 6 | ((unsigned char) s[i + k] & 0x3f);
                }
                if (cp < shortest[n])
                        return -EILSEQ;
                if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0xfdd0 && cp <= 0xfdef) ||
                    (cp & 0xfffe) == 0xfffe) {
                        if (ret_cp)
                                *ret_cp = cp;
                        return -EDOM;
                }
                i += n;
        }
        return 0;
}

unsigned tree_path_depth(const char *path) {
        unsigned d = 1;

        assert(path);

        for (const char *p = path; *p; p++)
                d += *p == '/';
        return d;
}

static int grow(void ***array, size_t *cap, size_t need) {
        void **n;
        size_t ncap;

        if (need <= *cap)
                return 0;
        ncap = MAX(*cap * 2, (size_t) 8);
        n = realloc(*array, ncap * sizeof(void *));
        if (!n)
                return -ENOMEM;
        *array = n;
        *cap = ncap;
        return 0;
}

int tree_add(Tree *t, const char *path, TreeNode **ret) {
        TreeNode *n, *parent = NULL;
        const char *slash;
        int r;

        assert(t);
        assert(path);

        if (tree_find(t, path))
                return -EEXIST;
        if (grow((void ***) &t->nodes, &t->cap_nodes, t->n_nodes + 1) < 0)
                return -ENOMEM;

        n = calloc(1, sizeof(TreeNode));
        if (!n)
                return -ENOMEM;
        n->path = strdup(path);
        slash = strrchr(path, '/');
        n->name = strdup(slash ? slash + 1 : path);
        if (!n->path || !n->name) {
                node_free(n);
                return -ENOMEM;
        }
        n->depth = tree_path_depth(path);
        if (slash) {
                char parent_path[slash - path + 1];

                memcpy(parent_path, path, (size_t) (slash - path));
                parent_path[slash - path] = 0;
                parent = tree_find(t, parent_path);
        }
        if (parent && grow((void ***) &parent->children, &parent->cap_children, parent->n_children + 1) < 0) {
                node_free(n);
                return -ENOMEM;
        }
        r = strmap_put(&t->by_path, n->path, n);
        if (r < 0) {
                node_free(n);
                return r;
        }
        if (parent) {
                n->parent = parent;
                parent->children[parent->n_children++] = n;
        }
        t->nodes[t->n_nodes++] = n;
        if (ret)
                *ret = n;
        return 0;
}

TreeNode *tree_find(const Tree *t, const char *path) {
        assert(t);
        assert(path);

        return strmap_get(&t->by_path, path);
}

int tree_resolve_group(const Tree *t, const char *group, TreeNode **ret) {
        TreeNode *found = NULL;

        assert(t);
        assert(group);
        if (strchr(group, '/'))
                found = tree_find(t, group);
        else
                for (size_t i = 0; i < t->n_nodes; i++)
                        if (streq(t->nodes[i]->name, group)) {
                                if (found)
                                        return -ENOTUNIQ;
                                found = t->nodes[i];
                        }
        if (!found)
                return -ENOENT;
        if (ret)
                *ret = found;
        return 0;
}

uint64_t tree_settings_effective(const TreeSettings *s, TreeProp p) {
        assert(s);

        return (s->set_mask & (1u << p)) ? s->value[p] : prop_info(p)->default_value;
}

static size_t cpus_trimmed(const TreeSettings *s) {
        size_t n = (s->set_mask & (1u << TREE_PROP_ALLOWED_CPUS)) ? s->n_cpus : 0;

        while (n > 0 && s->cpus[n - 1] == 0)
                n--;
        return n;
}

uint32_t tree_settings_diff(const TreeSettings *a, const TreeSettings *b) {
        uint32_t mask = 0;

        assert(a);
        assert(b);

        for (TreeProp p = 0; p < _TREE_PROP_MAX; p++) {
                if (prop_info(p)->kind == PROP_KIND_CPUS) {
                        size_t na = cpus_trimmed(a), nb = cpus_trimmed(b);

                        if (na != nb || (na > 0 && memcmp(a->cpus, b->cpus, na) != 0))
                                mask |= 1u << p;
                } else if (tree_settings_effective(a, p) != tree_settings_effective(b, p))
                        mask |= 1u << p;
        }
        return mask;
}

void tree_settings_set(TreeSettings *s, TreeProp p, uint64_t value, uint8_t *cpus, size_t n_cpus) {
        assert(s);

        s->set_mask |= 1u << p;
        s->value[p] = value;
        if (prop_info(p)->kind == PROP_KIND_CPUS) {
                free(s->cpus);
                s->cpus = cpus;
                s->n_cpus = n_cpus;
                while (s->n_cpus > 0 && s->cpus[s->n_cpus - 1] == 0)
                        s->n_cpus--;
        }
}

void tree_settings_done(TreeSettings *s) {
        assert(s);

        free(s->cpus);
        *s = (TreeSettings) { 0 };
}

const char *tree_schema_to_string(TreeSchema s) {
        static const char *const table[_TREE_SCHEMA_MAX] = {
                [TREE_SCHEMA_CGROUPARCH] = "cgrouparch",
                [TREE_SCHEMA_NATIVE] = "native",
        };
        return s >= 0 && s < _TREE_SCHEMA_MAX ? table[s] : NULL;
}
