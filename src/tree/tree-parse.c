/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "strv.h"
#include "tree-parse.h"
#include "unit-name.h"

/* One step of a JSON path: an object key, or (key NULL) an array index. */
typedef struct PathStep {
        const char *key;
        size_t index;
} PathStep;

#define PATH_STEPS_MAX 64

/* Parser state: the tree being built and the JSON path of the value being looked at, for messages. */
typedef struct Parser {
        Tree *tree;
        TreeError *err;
        const char *root; /* [Slices] Root=, normalized, or NULL: unit names and cgroup paths depend on it */
        StrMap by_name; /* cgrouparch: group name → node, to reject one name at two paths */
        /* The JSON path as steps pointing into the document, rendered only for a message: most trees have
         * no error, and rendering every step took ~8 % of a big tree's parse. 16 levels of two steps and
         * the key fit. */
        PathStep steps[PATH_STEPS_MAX];
        size_t n_steps;
        size_t n_pids; /* conf.pids entries over the whole tree, repeats included */
} Parser;

static void path_render(const Parser *p, char *buf, size_t size);

_printf_(3, 4) static int fail(Parser *p, int error, const char *format, ...) {
        char msg[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);
        if (p->err) {
                char jpath[4096]; /* room for 16 levels of quoted 64-byte names and the key */

                path_render(p, jpath, sizeof(jpath));
                snprintf(p->err->message, sizeof(p->err->message), "%s: %s", jpath, msg);
        }
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

/* A JSON value as JSON text in ASCII (\uXXXX for the rest), so a message cut anywhere is still valid UTF-8
 * and a name with odd characters reads unambiguously. The caller frees; NULL without memory. */
static char *to_ascii_json(const json_t *v) {
        return json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
}

static char *quote_ascii(const char *s) {
        _cleanup_(json_decrefp) json_t *j = json_string(s);

        return j ? to_ascii_json(j) : NULL;
}

/* "$" and ".key", ["key"] or [index] per step, cut at `size`. */
static void path_render(const Parser *p, char *buf, size_t size) {
        size_t len;

        assert(size > 1);
        len = (size_t) snprintf(buf, size, "$");
        for (size_t i = 0; i < MIN(p->n_steps, (size_t) PATH_STEPS_MAX); i++) {
                const char *key = p->steps[i].key;
                int n;

                if (!key)
                        n = snprintf(buf + len, size - len, "[%zu]", p->steps[i].index);
                else if (is_simple_key(key))
                        n = snprintf(buf + len, size - len, ".%s", key);
                else {
                        _cleanup_(freep) char *quoted = quote_ascii(key);

                        n = snprintf(buf + len, size - len, "[%s]", quoted ? quoted : "?");
                }
                len = MIN(len + (size_t) MAX(n, 0), size - 1);
        }
}

/* Appends a step to the JSON path; returns the old length to restore with path_pop(). `key` must live as
 * long as the step. */
static size_t path_push_step(Parser *p, const char *key, size_t index) {
        size_t old = p->n_steps;

        if (old < PATH_STEPS_MAX)
                p->steps[old] = (PathStep) { .key = key, .index = index };
        p->n_steps++;
        return old;
}

static size_t path_push(Parser *p, const char *key) {
        return path_push_step(p, key, 0);
}

static size_t path_push_index(Parser *p, size_t i) {
        return path_push_step(p, /* key= */ NULL, i);
}

static void path_pop(Parser *p, size_t old) {
        p->n_steps = old;
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
        uint32_t cp = 0;
        int r;

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
        /* The name goes over D-Bus in the Description of its slice and scope: sd-bus refuses to send a string
         * systemd's UTF-8 check refuses, and the slice would fail to apply forever. */
        r = tree_name_check_utf8(name, len, &cp);
        if (r == -EDOM)
                return fail(p, -EINVAL, "group name must not contain U+%04" PRIX32 " (%s): D-Bus refuses it in "
                                        "the unit's Description", cp,
                            cp > 0x10ffff ? "past the last code point"
                            : cp >= 0xd800 && cp <= 0xdfff ? "a UTF-16 surrogate" : "a Unicode noncharacter");
        if (r < 0)
                return fail(p, -EINVAL, "group name is not well-formed UTF-8");
        return 0;
}

/* What depends on the root: the unit names ("<root>-a-b.slice" and its scope "<root>-a-b.scope", the same
 * length) within systemd's limit, which also keeps the ownership record's file name within NAME_MAX, and
 * the scope's cgroup path within UNIT_CGROUP_PATH_MAX. */
static int check_unit_names(Parser *p, const char *path) {
        _cleanup_(freep) char *unit = NULL;
        size_t len = unit_name_length_from_path(p->root, path), cg;
        int r;

        if (len > UNIT_NAME_MAX)
                return fail(p, -EINVAL, "the unit name of this group would be %zu bytes%s%s, longer than systemd's "
                                        "limit of %d (each byte outside [A-Za-z0-9:_.] takes 4 when escaped)",
                            len, p->root ? " with [Slices] Root=" : "", p->root ? p->root : "", UNIT_NAME_MAX);
        r = unit_name_from_path(p->root, path, &unit);
        if (r < 0)
                return r;
        cg = unit_name_scope_cgroup_path_length(unit);
        if (cg > UNIT_CGROUP_PATH_MAX)
                return fail(p, -EINVAL, "the cgroup path of this group's scope would be %zu bytes, longer than the "
                                        "limit of %d (shorten the names or nest less deeply)",
                            cg, UNIT_CGROUP_PATH_MAX);
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
                if (other) {
                        _cleanup_(freep) char *qname = quote_ascii(name), *qpath = quote_ascii(other->path);

                        return fail(p, -EINVAL,
                                    "group %s is already at path %.900s; a group must sit at the same path "
                                    "in every controller tree", qname ? qname : "?", qpath ? qpath : "?");
                }
        }
        r = check_unit_names(p, path);
        if (r < 0)
                return r;
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
        if (r == -E2BIG)
                return fail(p, -EINVAL, "too long: must be %s, got a string of %zu bytes", reason,
                            json_string_length(v));
        if (r == -ERANGE) {
                _cleanup_(freep) char *shown = to_ascii_json(v);

                return fail(p, -EINVAL, "out of range: must be %s, got %.64s", reason, shown ? shown : "?");
        }
        if (r < 0 && json_is_string(v)) {
                _cleanup_(freep) char *shown = to_ascii_json(v);

                return fail(p, -EINVAL, "must be %s, got the string %.80s", reason, shown ? shown : "?");
        }
        if (r < 0)
                return fail(p, -EINVAL, "must be %s, got %s", reason, json_type_name(v));
        tree_settings_set(&n->settings, info->prop, value, cpus, n_cpus);
        return 0;
}

/* ---- cgrouparch schema ---- */

static int check_scope_is_ours(Parser *p, const TreeNode *n);

/* conf.pids, as cgrouparch's tests and its get_conf wrote them: a list of pids whose processes move like a
 * pid file's. The same group may list pids under several controllers; they add up, repeats counted once. */
static int parse_conf_pids(Parser *p, TreeNode *n, const json_t *v) {
        size_t i;
        json_t *e;
        int r;

        if (!json_is_array(v))
                return fail(p, -EINVAL, "must be an array of pids (integers), got %s", json_type_name(v));
        /* Bounded as listed, repeats included, so that looking for repeats stays cheap. */
        if (json_array_size(v) > TREE_PIDS_MAX)
                return fail(p, -EINVAL, "more than %d pids for this group", TREE_PIDS_MAX);
        if (json_array_size(v) > TREE_PIDS_TOTAL_MAX - p->n_pids)
                return fail(p, -E2BIG, "more than %d pids listed in the tree", TREE_PIDS_TOTAL_MAX);
        p->n_pids += json_array_size(v);
        if (json_array_size(v) > 0) {
                /* Room for all of them at once: at most TREE_PIDS_MAX are ever kept. */
                size_t cap = MIN(n->n_pids + json_array_size(v), (size_t) TREE_PIDS_MAX);
                pid_t *grown;

                r = check_scope_is_ours(p, n);
                if (r < 0)
                        return r;
                grown = realloc(n->pids, MAX(cap, (size_t) 1) * sizeof(pid_t));
                if (!grown)
                        return -ENOMEM;
                n->pids = grown;
        }
        json_array_foreach(v, i, e) {
                size_t old = path_push_index(p, i);
                json_int_t pid;
                bool seen = false;

                if (!json_is_integer(e))
                        return fail(p, -EINVAL, "must be a pid, an integer between 1 and %d, got %s", TREE_PID_LIMIT,
                                    json_type_name(e));
                pid = json_integer_value(e);
                if (pid < 1 || pid > TREE_PID_LIMIT)
                        return fail(p, -EINVAL, "out of range: must be a pid, an integer between 1 and %d, got %"
                                    JSON_INTEGER_FORMAT, TREE_PID_LIMIT, pid);
                for (size_t j = 0; j < n->n_pids && !seen; j++)
                        seen = n->pids[j] == (pid_t) pid;
                if (!seen && n->n_pids >= TREE_PIDS_MAX)
                        return fail(p, -EINVAL, "more than %d pids for this group (over all its controllers)",
                                    TREE_PIDS_MAX);
                if (!seen)
                        n->pids[n->n_pids++] = (pid_t) pid;
                path_pop(p, old);
        }
        return 0;
}

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
                if (streq(key, "pids")) {
                        r = parse_conf_pids(p, n, v);
                        if (r < 0)
                                return r;
                        path_pop(p, old);
                        continue;
                }
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

/* A pid file pattern the daemon can open: absolute, within PATH_MAX and NAME_MAX. */
static int check_pid_file(Parser *p, const json_t *e) {
        const char *s = json_string_value(e);
        size_t len = json_string_length(e);

        if (!s || s[0] != '/')
                return fail(p, -EINVAL, "must be an absolute path (a string starting with '/'), got %s",
                            s ? "a relative one" : json_type_name(e));
        if (strlen(s) != len)
                return fail(p, -EINVAL, "must not contain NUL");
        if (len > TREE_PID_FILE_PATH_MAX)
                return fail(p, -EINVAL, "is %zu bytes, longer than %d (PATH_MAX less the NUL)", len,
                            TREE_PID_FILE_PATH_MAX);
        for (const char *c = s; *c;) {
                size_t n = strcspn(c, "/");

                if (n > TREE_PID_FILE_COMPONENT_MAX)
                        return fail(p, -EINVAL, "has a component of %zu bytes, longer than %d (NAME_MAX)", n,
                                    TREE_PID_FILE_COMPONENT_MAX);
                c += n + (c[n] == '/');
        }
        return 0;
}

/* A group's processes go to its scope "<stem>.scope": that must not be one of systemd's own units
 * (group "init" without a root would be init.scope, PID 1's). */
static int check_scope_is_ours(Parser *p, const TreeNode *n) {
        _cleanup_(freep) char *slice = NULL, *scope = NULL;
        int r;

        r = unit_name_from_path(p->root, n->path, &slice);
        if (r >= 0)
                r = unit_name_group_scope(slice, &scope);
        if (r < 0)
                return r;
        if (unit_name_is_systemds_own(scope))
                return fail(p, -EINVAL, "this group's processes would go to %s, which is systemd's own; "
                                        "rename the group or set [Slices] Root=", scope);
        return 0;
}

static int parse_pid_files(Parser *p, TreeNode *n, const json_t *v) {
        size_t i;
        json_t *e;
        int r;

        if (!json_is_array(v))
                return fail(p, -EINVAL, "must be an array of absolute paths, got %s", json_type_name(v));
        if (json_array_size(v) > TREE_PID_FILES_MAX)
                return fail(p, -EINVAL, "more than %d pid files", TREE_PID_FILES_MAX);
        if (json_array_size(v) > 0) {
                r = check_scope_is_ours(p, n);
                if (r < 0)
                        return r;
        }
        json_array_foreach(v, i, e) {
                size_t old = path_push_index(p, i);

                r = check_pid_file(p, e);
                if (r < 0)
                        return r;
                path_pop(p, old);
                r = strv_extend(&n->pid_files, json_string_value(e));
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
        return tree_parse_json_for_root(data, size, /* root= */ NULL, ret, err);
}

int tree_json_load(const char *data, size_t size, json_t **ret, TreeError *err) {
        Parser p = { .err = err };
        json_error_t jerr;
        json_t *root;

        assert(data || size == 0);
        assert(ret);

        if (err)
                err->message[0] = 0;
        if (size > TREE_JSON_MAX)
                return fail(&p, -EFBIG, "tree is %zu bytes, larger than the limit of %u bytes", size, TREE_JSON_MAX);
        root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return fail(&p, -EBADMSG, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        *ret = root;
        return 0;
}

int tree_parse_json_value(const json_t *root, const char *slice_root, Tree **ret, TreeError *err) {
        _cleanup_(tree_unrefp) Tree *tree = NULL;
        Parser p = { .err = err, .root = isempty(slice_root) ? NULL : slice_root };
        const char *key;
        json_t *v;
        int r;

        assert(root);
        assert(ret);

        if (err)
                err->message[0] = 0;
        r = expect_object(&p, root);
        if (r < 0)
                return r;

        tree = tree_new(json_object_get(root, "slices") ? TREE_SCHEMA_NATIVE : TREE_SCHEMA_CGROUPARCH);
        if (!tree)
                return -ENOMEM;
        p.tree = tree;

        /* jansson's iteration wants a non-const object; nothing here changes it */
        json_object_foreach((json_t *) root, key, v) {
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

int tree_parse_json_for_root(const char *data, size_t size, const char *slice_root, Tree **ret, TreeError *err) {
        _cleanup_(json_decrefp) json_t *root = NULL;
        int r;

        assert(data || size == 0);
        assert(ret);

        r = tree_json_load(data, size, &root, err);
        if (r < 0)
                return r;
        return tree_parse_json_value(root, slice_root, ret, err);
}
