/* SPDX-License-Identifier: MIT */
/* The resource tree: groups addressed by path ("a/b/c"), each with settings in systemd's units.
 * A Tree keeps every node in one array, parents before children, and indexes nodes by path. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "props.h"
#include "strmap.h"

#define TREE_NAME_MAX 64
#define TREE_DEPTH_MAX 16
#define TREE_GROUPS_MAX 10000
#define TREE_JSON_MAX (4u * 1024u * 1024u)
#define TREE_PID_FILES_MAX 64
#define TREE_PID_FILE_PATH_MAX 4095 /* PATH_MAX less the NUL: open() refuses longer */
#define TREE_PID_FILE_COMPONENT_MAX 255 /* NAME_MAX */
/* cgrouparch's conf.pids: pids listed in the tree itself (its tests, and trees written back from its get_conf). */
#define TREE_PIDS_MAX 1024          /* per group, over all controllers */
#define TREE_PIDS_TOTAL_MAX 65536   /* per tree */
#define TREE_PID_LIMIT 4194304      /* the kernel's PID_MAX_LIMIT: no pid_max goes higher */

typedef enum TreeSchema {
        TREE_SCHEMA_CGROUPARCH,
        TREE_SCHEMA_NATIVE,
        _TREE_SCHEMA_MAX,
} TreeSchema;

typedef struct TreeSettings {
        uint32_t set_mask; /* bit per TreeProp: set explicitly; unset ones mean systemd's default */
        uint64_t value[_TREE_PROP_MAX];
        uint8_t *cpus; /* AllowedCPUs bitmask, trailing zero bytes trimmed */
        size_t n_cpus;
} TreeSettings;

typedef struct TreeNode TreeNode;
struct TreeNode {
        char *name;  /* last path component */
        char *path;  /* "a/b/c" */
        unsigned depth; /* 1 for a top-level group */
        TreeNode *parent;
        TreeNode **children;
        size_t n_children, cap_children;
        TreeSettings settings;
        char **pid_files;
        pid_t *pids;    /* conf.pids, each 1..TREE_PID_LIMIT, without repeats, in the tree's order */
        size_t n_pids;
};

typedef struct Tree {
        unsigned n_ref;
        TreeSchema schema;
        TreeNode **nodes; /* every node, parents before children */
        size_t n_nodes, cap_nodes;
        StrMap by_path;
} Tree;

Tree *tree_new(TreeSchema schema);
Tree *tree_ref(Tree *t);
Tree *tree_unref(Tree *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tree *, tree_unref)

/* Adds the group at `path`; its parent is linked when present. -EEXIST if the path exists. */
int tree_add(Tree *t, const char *path, TreeNode **ret);
TreeNode *tree_find(const Tree *t, const char *path);
/* The group GROUP names: a path ("a/b") when it holds a '/', else the name of exactly one group ("b", or a
 * top-level "a"). 0 with the node in *ret; -ENOENT when no group has it; -ENOTUNIQ when several groups
 * share the name (give the path). Used by PidFiles= and exec-args. */
int tree_resolve_group(const Tree *t, const char *group, TreeNode **ret);

/* The value systemd will hold for the property: the set one, or the default. */
uint64_t tree_settings_effective(const TreeSettings *s, TreeProp p);
/* Mask of properties whose effective values differ. */
uint32_t tree_settings_diff(const TreeSettings *a, const TreeSettings *b);
/* Sets a property, taking over `cpus` for AllowedCPUs. */
void tree_settings_set(TreeSettings *s, TreeProp p, uint64_t value, uint8_t *cpus, size_t n_cpus);
void tree_settings_done(TreeSettings *s);

/* Whether `s` (len bytes, no NUL) is a string sd-bus sends and systemd takes, as systemd's utf8_is_valid():
 * well-formed shortest-form UTF-8, no surrogates, nothing past U+10FFFF, none of the noncharacters
 * U+FDD0..U+FDEF and U+xFFFE/U+xFFFF. Returns 0, -EILSEQ for malformed bytes, or -EDOM with the code point
 * in *ret_cp for a noncharacter, a surrogate or one past U+10FFFF. */
int tree_name_check_utf8(const char *s, size_t len, uint32_t *ret_cp);

/* The number of path components. */
unsigned tree_path_depth(const char *path);
const char *tree_schema_to_string(TreeSchema s);
