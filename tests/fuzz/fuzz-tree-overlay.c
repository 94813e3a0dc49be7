/* SPDX-License-Identifier: MIT */
/* The host overlay merged over the shared tree (src/tree/tree-overlay.c). The input is the shared tree's text,
 * a NUL byte, and the overlay's text; no NUL means no overlay node, an empty part no such node. Each part
 * is read as the daemon reads a node (tree_json_load()). The merge must leave both inputs as they were,
 * answer as RFC 7386 says (against a plain in-place reference implementation on deep copies), refuse only
 * what its contract names (-ENOENT for no node, -EINVAL for a non-object or a schema mismatch, -ELOOP past the
 * depth bound, exactly when the overlay nests that deep), be idempotent, and its result must go through
 * tree_parse_json_value() like any tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tree-overlay.h"
#include "tree-parse.h"

/* RFC 7386 section 2, MergePatch(target, patch), on copies: a new value. */
static json_t *reference_merge(const json_t *target, const json_t *patch) {
        const char *key;
        size_t key_len;
        json_t *result, *v;

        if (!json_is_object(patch))
                return json_deep_copy(patch);
        result = json_is_object(target) ? json_deep_copy(target) : json_object();
        FUZZ_CHECK(result);
        json_object_keylen_foreach((json_t *) patch, key, key_len, v) {
                if (json_is_null(v))
                        (void) json_object_deln(result, key, key_len);
                else
                        FUZZ_CHECK(json_object_setn_new_nocheck(result, key, key_len,
                                                                reference_merge(json_object_getn(result, key, key_len),
                                                                                v)) == 0);
        }
        return result;
}

/* Objects nested in objects (arrays are values the merge does not walk). */
static unsigned object_depth(const json_t *v) {
        unsigned max = 0;
        const char *key;
        json_t *e;

        if (!json_is_object(v))
                return 0;
        json_object_foreach((json_t *) v, key, e) {
                unsigned d = object_depth(e);

                if (d > max)
                        max = d;
        }
        return max + 1;
}

static bool is_native(const json_t *o) {
        return json_object_get(o, "slices") != NULL;
}

static json_t *load_part(const uint8_t *data, size_t size) {
        TreeError err;
        json_t *j = NULL;

        if (size == 0)
                return NULL;
        if (tree_json_load((const char *) data, size, &j, &err) < 0)
                return NULL;
        return j;
}

static char *dump(const json_t *j) {
        char *s;

        if (!j)
                return strdup("");
        s = json_dumps(j, JSON_ENCODE_ANY);
        FUZZ_CHECK(s);
        return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *nul = memchr(data, 0, size);
        size_t shared_size = nul ? (size_t) (nul - data) : size;
        json_t *shared = NULL, *overlay = NULL, *result = (json_t *) 0x1, *again = NULL, *expected;
        TreeError err = { .message = "untouched" };
        char *shared_before, *overlay_before, *shared_after, *overlay_after;
        Tree *t = NULL;
        int r;

        shared = load_part(data, shared_size);
        if (shared_size > 0 && !shared)
                return 0; /* not JSON: tree-parse's harness covers that, the merge never sees it */
        if (nul) {
                overlay = load_part(nul + 1, size - shared_size - 1);
                if (size - shared_size - 1 > 0 && !overlay) {
                        json_decref(shared);
                        return 0;
                }
        }
        shared_before = dump(shared);
        overlay_before = dump(overlay);

        r = tree_overlay_merge(shared, overlay, &result, &err);

        shared_after = dump(shared);
        overlay_after = dump(overlay);
        FUZZ_CHECK(strcmp(shared_before, shared_after) == 0);
        FUZZ_CHECK(strcmp(overlay_before, overlay_after) == 0);

        if (r < 0) {
                FUZZ_CHECK(result == (json_t *) 0x1);
                FUZZ_CHECK(err.message[0] && strcmp(err.message, "untouched") != 0);
                FUZZ_CHECK(strnlen(err.message, sizeof(err.message)) < sizeof(err.message));
                if (r == -ENOENT)
                        FUZZ_CHECK(!shared && !overlay);
                else if (r == -ELOOP)
                        FUZZ_CHECK(object_depth(overlay) > TREE_OVERLAY_DEPTH_MAX);
                else {
                        FUZZ_CHECK(r == -EINVAL);
                        FUZZ_CHECK((shared && !json_is_object(shared)) || (overlay && !json_is_object(overlay)) ||
                                   (json_object_size(shared) > 0 && json_object_size(overlay) > 0 &&
                                    is_native(shared) != is_native(overlay)));
                }
                goto finish;
        }
        FUZZ_CHECK(r == 0 && json_is_object(result));
        FUZZ_CHECK(!overlay || object_depth(overlay) <= TREE_OVERLAY_DEPTH_MAX);

        /* what RFC 7386 says it is */
        expected = overlay ? reference_merge(shared, overlay) : json_incref(shared);
        FUZZ_CHECK(json_equal(result, expected));
        json_decref(expected);

        /* applying the same overlay again changes nothing */
        if (overlay) {
                TreeError err2;

                r = tree_overlay_merge(result, overlay, &again, &err2);
                if (r == -EINVAL)
                        /* the overlay removed the key that made the shared tree's schema ({"slices": null}) */
                        FUZZ_CHECK(json_object_size(result) > 0 && json_object_size(overlay) > 0 &&
                                   is_native(result) != is_native(overlay));
                else {
                        FUZZ_CHECK(r == 0);
                        FUZZ_CHECK(json_equal(again, result));
                        json_decref(again);
                }
        }

        /* the result outlives its inputs (ASan sees a use after free) */
        json_decref(shared);
        json_decref(overlay);
        shared = overlay = NULL;

        r = tree_parse_json_value(result, /* root= */ NULL, &t, &err);
        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL || r == -E2BIG || r == -ELOOP || r == -ENOMEM);
                FUZZ_CHECK(!t && err.message[0] == '$');
        } else {
                FUZZ_CHECK(t && t->n_nodes <= TREE_GROUPS_MAX);
                tree_unref(t);
        }
        json_decref(result);

finish:
        json_decref(shared);
        json_decref(overlay);
        free(shared_before);
        free(overlay_before);
        free(shared_after);
        free(overlay_after);
        return 0;
}
