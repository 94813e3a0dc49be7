/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "strv.h"
#include "tree-parse.h"


/* Parser state: the tree being built and the JSON path of the value being looked at, for messages. */
typedef struct Parser {
        Tree *tree;
        TreeError *err;
        StrMap by_name; /* cgrouparch: group name → node, to reject one name at two paths */
        char jpath[4096]; /* room for 16 levels of quoted 64-byte names and the key */
        size_t jpath_len;
} Parser;

_printf_(3, 4) static int fail(Parser *p, int error, const char *format, ...) {
        char msg[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);
        if (p->err)
                snprintf(p->err->message, sizeof(p->err->message), "%s: %s", p->jpath, msg);
        return error;
}

static bool is_simple_key(const char *k) {
        if (!*k)
                return false;
        for (; *k; k++)
                if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_'))
                        return false;
        return true;
}

/* Appends ".key" or ["key"] to the JSON path; returns the old length to restore with path_pop(). */
static size_t path_push(Parser *p, const char *key) {
        size_t old = p->jpath_len;
        int n;

        if (is_simple_key(key))
                n = snprintf(p->jpath + old, sizeof(p->jpath) - old, ".%s", key);
        else {
                /* Print the name as a JSON string so odd bytes stay readable and unambiguous. */
                _cleanup_(json_decrefp) json_t *s = json_string(key);
                _cleanup_(freep) char *quoted = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;

                n = snprintf(p->jpath + old, sizeof(p->jpath) - old, "[%s]", quoted ? quoted : "?");
        }
        if (n < 0)
                n = 0;
        p->jpath_len = MIN(old + (size_t) n, sizeof(p->jpath) - 1);
        return old;
}

static void path_pop(Parser *p, size_t old) {
        p->jpath_len = old;
        p->jpath[old] = 0;
}

static const char *json_type_name(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT: return "an object";
        case JSON_ARRAY: return "an array";
        case JSON_STRING: return "a string";
        case JSON_INTEGER: return "an integer";
        case JSON_REAL: return "a real number";
        case JSON_TRUE:
        case JSON_FALSE: return "a boolean";
        case JSON_NULL: return "null";
        }
        return "unknown";
}

static int expect_object(Parser *p, const json_t *v) {
        if (!json_is_object(v))
                return fail(p, -EINVAL, "must be an object, got %s", json_type_name(v));
        return 0;
}

static int check_name(Parser *p, const char *name, size_t len) {
        if (len == 0)
                return fail(p, -EINVAL, "group name must not be empty");
        if (strlen(name) != len)
                return fail(p, -EINVAL, "group name must not contain NUL");
        if (len > TREE_NAME_MAX)
                return fail(p, -EINVAL, "group name is %zu bytes, longer than %d", len, TREE_NAME_MAX);
        if (streq(name, ".") || streq(name, ".."))
                return fail(p, -EINVAL, "group name must not be \".\" or \"..\"");
        for (const char *c = name; *c; c++) {
                if (*c == '/')
                        return fail(p, -EINVAL, "group name must not contain '/'");
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return fail(p, -EINVAL, "group name must not contain control characters");
        }
        return 0;
}

/* Creates (or, for the merged cgrouparch trees, finds) the group `name` under `parent_path`. */
static int ensure_group(Parser *p, const char *parent_path, const char *name, TreeNode **ret) {
        _cleanup_(freep) char *path = NULL;
        TreeNode *n, *other;
        int r;

        if (asprintf(&path, "%s%s%s", parent_path, *parent_path ? "/" : "", name) < 0)
                return -ENOMEM;
        n = tree_find(p->tree, path);
        if (n) {
                *ret = n;
                return 0;
        }
        if (tree_path_depth(path) > TREE_DEPTH_MAX)
                return fail(p, -ELOOP, "groups nest deeper than %d levels", TREE_DEPTH_MAX);
        if (p->tree->n_nodes >= TREE_GROUPS_MAX)
                return fail(p, -E2BIG, "more than %d groups", TREE_GROUPS_MAX);
        if (p->tree->schema == TREE_SCHEMA_CGROUPARCH) {
                other = strmap_get(&p->by_name, name);
                if (other)
                        return fail(p, -EINVAL,
                                    "group \"%s\" is already at path \"%s\"; a group must sit at the same path "
                                    "in every controller tree", name, other->path);
        }
        r = tree_add(p->tree, path, &n);
        if (r < 0)
                return r;
        if (p->tree->schema == TREE_SCHEMA_CGROUPARCH) {
                r = strmap_put(&p->by_name, n->name, n);
                if (r < 0)
                        return r;
        }
        *ret = n;
        return 0;
}

static int set_prop(Parser *p, TreeNode *n, const PropInfo *info, PropFromJson conv, const json_t *v) {
        uint8_t *cpus = NULL;
        size_t n_cpus = 0;
        uint64_t value;
        const char *reason = "";
        int r;

        r = conv(v, &value, &cpus, &n_cpus, &reason);
        if (r == -ENOMEM)
                return r;
        if (r == -ERANGE) {
                _cleanup_(freep) char *shown = json_dumps(v, JSON_ENCODE_ANY);

                return fail(p, -EINVAL, "out of range: must be %s, got %.64s", reason, shown ? shown : "?");
        }
        if (r < 0 && json_is_string(v)) {
                _cleanup_(freep) char *shown = json_dumps(v, JSON_ENCODE_ANY);

                return fail(p, -EINVAL, "must be %s, got the string %.80s", reason, shown ? shown : "?");
        }
        if (r < 0)
                return fail(p, -EINVAL, "must be %s, got %s", reason, json_type_name(v));
        tree_settings_set(&n->settings, info->prop, value, cpus, n_cpus);
        return 0;
}

/* ---- cgrouparch schema ---- */

static int parse_controller_conf(Parser *p, const char *controller, TreeNode *n, const json_t *conf) {
        const char *key;
        json_t *v;
        int r;

        r = expect_object(p, conf);
        if (r < 0)
                return r;
        json_object_foreach((json_t *) conf, key, v) {
                size_t old = path_push(p, key);
                const PropInfo *info = prop_by_controller_key(controller, key);

                if (!n)
                        return fail(p, -EINVAL, "settings at the root of a controller tree are not supported; "
                                                "put them on a group in sub_cgroup");
                if (!info)
                        return fail(p, -EINVAL, "unknown key \"%s\" for controller %s", key, controller);
                r = set_prop(p, n, info, info->from_controller, v);
                if (r < 0)
                        return r;
                path_pop(p, old);
        }
        return 0;
}

static int parse_controller_node(Parser *p, const char *controller, TreeNode *n, const json_t *obj) {
        const char *key;
        json_t *v;
        int r;

        r = expect_object(p, obj);
        if (r < 0)
                return r;
        json_object_foreach((json_t *) obj, key, v) {
                size_t old = path_push(p, key);

                if (streq(key, "conf")) {
                        r = parse_controller_conf(p, controller, n, v);
                        if (r < 0)
                                return r;
                } else if (streq(key, "sub_cgroup")) {
                        const char *name;
                        json_t *child;

                        r = expect_object(p, v);
                        if (r < 0)
                                return r;
                        json_object_foreach(v, name, child) {
                                size_t old2 = path_push(p, name);
                                TreeNode *c;

                                r = check_name(p, name, json_object_iter_key_len(json_object_key_to_iter(name)));
                                if (r < 0)
                                        return r;
                                r = ensure_group(p, n ? n->path : "", name, &c);
                                if (r < 0)
                                        return r;
                                r = parse_controller_node(p, controller, c, child);
                                if (r < 0)
                                        return r;
                                path_pop(p, old2);
                        }
                } else
                        return fail(p, -EINVAL, "unknown key \"%s\" (expected \"conf\" or \"sub_cgroup\")", key);
                path_pop(p, old);
        }
        return 0;
}

/* ---- native schema ---- */

static int parse_pid_files(Parser *p, TreeNode *n, const json_t *v) {
        size_t i;
        json_t *e;
        int r;

        if (!json_is_array(v))
                return fail(p, -EINVAL, "must be an array of absolute paths, got %s", json_type_name(v));
        if (json_array_size(v) > TREE_PID_FILES_MAX)
                return fail(p, -EINVAL, "more than %d pid files", TREE_PID_FILES_MAX);
        json_array_foreach(v, i, e) {
                const char *s = json_string_value(e);

                if (!s || s[0] != '/' || json_string_length(e) != strlen(s) || strlen(s) > TREE_PID_FILE_PATH_MAX)
                        return fail(p, -EINVAL, "entry %zu must be an absolute path of at most %d bytes", i,
                                    TREE_PID_FILE_PATH_MAX);
                r = strv_extend(&n->pid_files, s);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_native_children(Parser *p, const char *parent_path, const json_t *obj);

static int parse_native_group(Parser *p, TreeNode *n, const json_t *obj) {
        const char *key;
        json_t *v;
        int r;

        r = expect_object(p, obj);
        if (r < 0)
                return r;
        json_object_foreach((json_t *) obj, key, v) {
                size_t old = path_push(p, key);
                const PropInfo *info;

                if (streq(key, "children"))
                        r = parse_native_children(p, n->path, v);
                else if (streq(key, "pid_files"))
                        r = parse_pid_files(p, n, v);
                else if ((info = prop_by_native_key(key)))
                        r = set_prop(p, n, info, info->from_native, v);
                else
                        r = fail(p, -EINVAL, "unknown key \"%s\"", key);
                if (r < 0)
                        return r;
                path_pop(p, old);
        }
        return 0;
}

static int parse_native_children(Parser *p, const char *parent_path, const json_t *obj) {
        const char *name;
        json_t *v;
        int r;

        r = expect_object(p, obj);
        if (r < 0)
                return r;
        json_object_foreach((json_t *) obj, name, v) {
                size_t old = path_push(p, name);
                TreeNode *n;

                r = check_name(p, name, json_object_iter_key_len(json_object_key_to_iter(name)));
                if (r < 0)
                        return r;
                r = ensure_group(p, parent_path, name, &n);
                if (r < 0)
                        return r;
                r = parse_native_group(p, n, v);
                if (r < 0)
                        return r;
                path_pop(p, old);
        }
        return 0;
}

int tree_parse_json(const char *data, size_t size, Tree **ret, TreeError *err) {
        _cleanup_(json_decrefp) json_t *root = NULL;
        _cleanup_(tree_unrefp) Tree *tree = NULL;
        Parser p = { .err = err, .jpath = "$", .jpath_len = 1 };
        json_error_t jerr;
        const char *key;
        json_t *v;
        int r;

        if (err)
                err->message[0] = 0;
        if (size > TREE_JSON_MAX)
                return fail(&p, -EFBIG, "tree is %zu bytes, larger than the limit of %u bytes", size, TREE_JSON_MAX);

        root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return fail(&p, -EBADMSG, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        r = expect_object(&p, root);
        if (r < 0)
                return r;

        tree = tree_new(json_object_get(root, "slices") ? TREE_SCHEMA_NATIVE : TREE_SCHEMA_CGROUPARCH);
        if (!tree)
                return -ENOMEM;
        p.tree = tree;

        json_object_foreach(root, key, v) {
                size_t old = path_push(&p, key);

                if (tree->schema == TREE_SCHEMA_NATIVE) {
                        if (!streq(key, "slices"))
                                r = fail(&p, -EINVAL, "unknown key \"%s\" (the native schema has only \"slices\")", key);
                        else
                                r = parse_native_children(&p, "", v);
                } else if (!prop_is_controller(key))
                        r = fail(&p, -EINVAL,
                                 "unknown key \"%s\" (expected \"slices\" or a controller: cpu, blkio, memory, pids, cpuset)",
                                 key);
                else
                        r = parse_controller_node(&p, key, NULL, v);
                if (r < 0) {
                        strmap_done(&p.by_name);
                        return r;
                }
                path_pop(&p, old);
        }
        strmap_done(&p.by_name);
        *ret = TAKE_PTR(tree);
        return 0;
}
