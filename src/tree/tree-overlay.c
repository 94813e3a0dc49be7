/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "macro.h"
#include "tree-overlay.h"

/* The keys from the overlay's top level down to the object being merged, for the depth message. */
typedef struct Merge {
        TreeError *err;
        const char *keys[TREE_OVERLAY_DEPTH_MAX + 1];
        size_t key_lens[TREE_OVERLAY_DEPTH_MAX + 1];
        size_t n_keys;
} Merge;

typedef enum Shape {
        SHAPE_EMPTY,
        SHAPE_CGROUPARCH,
        SHAPE_NATIVE,
} Shape;

_printf_(3, 4) static int fail(TreeError *err, int error, const char *format, ...) {
        va_list ap;

        if (!err)
                return error;
        va_start(ap, format);
        vsnprintf(err->message, sizeof(err->message), format, ap);
        va_end(ap);
        return error;
}

/* As tree-parse's messages name them (its helper is private to it). */
static const char *type_name(const json_t *v) {
        static const char *const names[] = {
                [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
                [JSON_INTEGER] = "an integer", [JSON_REAL] = "a real number", [JSON_TRUE] = "a boolean",
                [JSON_FALSE] = "a boolean", [JSON_NULL] = "null",
        };
        unsigned t = (unsigned) json_typeof(v);

        return t < ELEMENTSOF(names) && names[t] ? names[t] : "unknown";
}

/* As tree_parse_json_value() tells the schemas apart; an empty object goes with either. */
static Shape shape_of(const json_t *o) {
        if (json_object_size(o) == 0)
                return SHAPE_EMPTY;
        return json_object_get(o, "slices") ? SHAPE_NATIVE : SHAPE_CGROUPARCH;
}

static bool is_simple_key(const char *k, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= '0' && k[i] <= '9') ||
                      k[i] == '_'))
                        return false;
        return true;
}

/* "$.slices.a[\"b c\"]..." in ASCII (other keys as JSON strings with \uXXXX), cut at `size`. */
static void path_render(const Merge *m, char *buf, size_t size) {
        size_t len;

        assert(size > 1);
        len = (size_t) snprintf(buf, size, "$");
        for (size_t i = 0; i < m->n_keys && len < size - 1; i++) {
                int n;

                if (is_simple_key(m->keys[i], m->key_lens[i]))
                        n = snprintf(buf + len, size - len, ".%.*s", (int) m->key_lens[i], m->keys[i]);
                else {
                        _cleanup_(json_decrefp) json_t *s = json_stringn_nocheck(m->keys[i], m->key_lens[i]);
                        _cleanup_(freep) char *quoted = s ? json_dumps(s, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;

                        n = snprintf(buf + len, size - len, "[%s]", quoted ? quoted : "?");
                }
                len = MIN(len + (size_t) MAX(n, 0), size - 1);
        }
}

/* RFC 7386's MergePatch(target, patch) for an object `patch`: a new object holding target's members (target
 * NULL or not an object counts as {}), the patch's nulls removed, its objects merged, its other values in
 * place of target's. Reads both, changes neither: members are taken by reference, objects the patch reaches
 * into are new. */
static int merge_object(Merge *m, const json_t *target, const json_t *patch, unsigned depth, json_t **ret) {
        _cleanup_(json_decrefp) json_t *result = NULL;
        const char *key;
        size_t key_len;
        json_t *v;
        int r;

        assert(json_is_object(patch));

        if (depth > TREE_OVERLAY_DEPTH_MAX) {
                char path[4096];

                path_render(m, path, sizeof(path));
                return fail(m->err, -ELOOP, "the host overlay nests objects deeper than %d levels, at %s",
                            TREE_OVERLAY_DEPTH_MAX, path);
        }
        result = json_object();
        if (!result)
                return fail(m->err, -ENOMEM, "out of memory");
        if (json_is_object(target))
                /* jansson's iteration wants a non-const object; nothing here changes it */
                json_object_keylen_foreach((json_t *) target, key, key_len, v)
                        if (json_object_setn_new_nocheck(result, key, key_len, json_incref(v)) < 0)
                                return fail(m->err, -ENOMEM, "out of memory");

        json_object_keylen_foreach((json_t *) patch, key, key_len, v) {
                json_t *merged;

                if (json_is_null(v)) {
                        /* fails when the target has no such key: nothing to remove */
                        (void) json_object_deln(result, key, key_len);
                        continue;
                }
                if (!json_is_object(v)) {
                        if (json_object_setn_new_nocheck(result, key, key_len, json_incref(v)) < 0)
                                return fail(m->err, -ENOMEM, "out of memory");
                        continue;
                }
                m->keys[m->n_keys] = key;
                m->key_lens[m->n_keys] = key_len;
                m->n_keys++;
                r = merge_object(m, json_is_object(target) ? json_object_getn(target, key, key_len) : NULL, v,
                                 depth + 1, &merged);
                m->n_keys--;
                if (r < 0)
                        return r;
                if (json_object_setn_new_nocheck(result, key, key_len, merged) < 0)
                        return fail(m->err, -ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(result);
        return 0;
}

static const char *shape_name(Shape s, bool possessive) {
        if (s == SHAPE_NATIVE)
                return possessive ? "the native one" : "the native schema";
        return possessive ? "cgrouparch's" : "cgrouparch's schema";
}

int tree_overlay_merge(const json_t *shared, const json_t *overlay, json_t **ret, TreeError *err) {
        Merge m = { .err = err };
        Shape s_shared, s_overlay;

        assert(ret);

        if (err)
                err->message[0] = 0;
        if (!shared && !overlay)
                return fail(err, -ENOENT, "neither the shared tree nor the host overlay exists");
        if (shared && !json_is_object(shared))
                return fail(err, -EINVAL, "the shared tree must be a JSON object, got %s", type_name(shared));
        if (overlay && !json_is_object(overlay))
                return fail(err, -EINVAL, "the host overlay must be a JSON object, got %s", type_name(overlay));

        if (!overlay) {
                *ret = json_incref((json_t *) shared);
                return 0;
        }
        if (shared) {
                s_shared = shape_of(shared);
                s_overlay = shape_of(overlay);
                if (s_shared != SHAPE_EMPTY && s_overlay != SHAPE_EMPTY && s_shared != s_overlay)
                        return fail(err, -EINVAL,
                                    "the host overlay is in %s, the shared tree in %s: both must use the same "
                                    "schema (the native one has \"slices\" at the top, cgrouparch's controller "
                                    "keys)", shape_name(s_overlay, false), shape_name(s_shared, true));
        }
        return merge_object(&m, shared, overlay, /* depth= */ 1, ret);
}
