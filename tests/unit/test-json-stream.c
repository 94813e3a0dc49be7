/* SPDX-License-Identifier: MIT */
/* json-stream: an object answer made part by part equals the same object made at once, whatever the part
 * size; each part is bounded; items are read when their part is made. */
#include <errno.h>

#include "json-stream.h"
#include "tests.h"

typedef struct Items {
        size_t n;
        const char *prefix; /* keys of an object list */
        size_t calls;       /* item() calls, the one past the end included */
} Items;

static json_t *on_item(void *userdata, size_t index, const char **ret_key) {
        static char key[64];
        Items *it = userdata;

        it->calls++;
        if (index >= it->n)
                return NULL;
        if (it->prefix) {
                snprintf(key, sizeof(key), "%s/%zu", it->prefix, index);
                *ret_key = key;
        }
        return json_pack("{s:I, s:s}", "i", (json_int_t) index, "pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

/* The whole text, made with parts of about want bytes; checks each part's size. */
static char *run(JsonStream *s, size_t want, size_t *ret_parts) {
        Buf b = { 0 };
        size_t parts = 0;
        int r;

        do {
                size_t before = b.size;

                r = json_stream_next(s, &b, want);
                ASSERT_TRUE(r >= 0);
                /* a part ends after the item that reached want: never more than want plus one item */
                ASSERT_TRUE(b.size - before <= want + 128);
                parts++;
        } while (r > 0);
        ASSERT_EQ_INT(json_stream_next(s, &b, want), 0); /* done stays done */
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        *ret_parts = parts;
        return (char *) b.data;
}

static json_t *expected(size_t n_slices, size_t n_groups, bool tasks_in_head) {
        json_t *o = json_pack("{s:i, s:s, s:n}", "version", 3, "schema", "cgrouparch", "last_error");
        json_t *slices = json_array(), *groups = json_object(), *tasks;
        Items a = { .n = n_slices }, g = { .n = n_groups, .prefix = "g" };

        for (size_t i = 0; i < n_slices; i++)
                json_array_append_new(slices, on_item(&a, i, NULL));
        for (size_t i = 0; i < n_groups; i++) {
                const char *key = NULL;
                json_t *v = on_item(&g, i, &key);
                json_object_set_new(groups, key, v);
        }
        tasks = tasks_in_head ? json_pack("{s:i, s:[s]}", "passes", 7, "unresolved", "x") : json_object();
        json_object_set_new(tasks, "groups", groups);
        json_object_set_new(o, "tasks", tasks);
        json_object_set_new(o, "slices", slices);
        return o;
}

static void check(size_t n_slices, size_t n_groups, bool tasks_in_head, size_t want) {
        json_t *head = json_pack("{s:i, s:s, s:n}", "version", 3, "schema", "cgrouparch", "last_error");
        Items a = { .n = n_slices }, g = { .n = n_groups, .prefix = "g" };
        const JsonList lists[] = {
                { .key = "slices", .item = on_item, .userdata = &a },
                { .key = "groups", .outer = "tasks", .object = true, .item = on_item, .userdata = &g },
        };
        JsonStream *s = NULL;
        json_t *got, *want_json;
        size_t parts;
        char *text;

        if (tasks_in_head)
                json_object_set_new(head, "tasks", json_pack("{s:i, s:[s]}", "passes", 7, "unresolved", "x"));
        ASSERT_EQ_INT(json_stream_new(head, lists, 2, &s), 0);
        text = run(s, want, &parts);
        got = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        if (!got)
                fprintf(stderr, "not JSON: %s\n", text);
        want_json = expected(n_slices, n_groups, tasks_in_head);
        ASSERT_TRUE(json_equal(got, want_json));
        ASSERT_EQ_INT(a.calls, n_slices + 1); /* each item made once, and one call finds the end */
        ASSERT_EQ_INT(g.calls, n_groups + 1);
        if (want < 100 && n_slices > 10)
                ASSERT_TRUE(parts > n_slices / 2); /* small parts: the items are spread over many */
        json_decref(got);
        json_decref(want_json);
        free(text);
        json_stream_free(s);
}

TEST(test_same_object_whatever_the_part_size) {
        static const size_t wants[] = { 1, 7, 64, 1000, 1u << 20 };

        for (size_t w = 0; w < ELEMENTSOF(wants); w++) {
                check(0, 0, true, wants[w]);
                check(1, 0, true, wants[w]);
                check(0, 1, false, wants[w]);
                check(300, 200, true, wants[w]);
                check(300, 200, false, wants[w]); /* no "tasks" in the head: the list is all it holds */
        }
}

TEST(test_items_are_read_when_their_part_is_made) {
        json_t *head = json_object();
        Items a = { .n = 1000 };
        const JsonList list = { .key = "slices", .item = on_item, .userdata = &a };
        JsonStream *s = NULL;
        Buf b = { 0 };

        ASSERT_EQ_INT(json_stream_new(head, &list, 1, &s), 0);
        ASSERT_EQ_INT(a.calls, 0); /* nothing made yet */
        ASSERT_EQ_INT(json_stream_next(s, &b, 100), 1);
        ASSERT_TRUE(a.calls >= 1 && a.calls <= 3); /* one part: a couple of items, not all 1000 */
        a.n = a.calls;                             /* the list shrank meanwhile: it ends where it now ends */
        while (json_stream_next(s, &b, 100) > 0)
                ;
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        {
                json_t *got = json_loads((const char *) b.data, 0, NULL);
                ASSERT_TRUE(json_is_array(json_object_get(got, "slices")));
                ASSERT_TRUE(json_array_size(json_object_get(got, "slices")) <= 3);
                json_decref(got);
        }
        buf_done(&b);
        json_stream_free(s);
}

TEST(test_bad_arguments) {
        JsonList lists[JSON_STREAM_LISTS_MAX + 1] = {};
        JsonStream *s = NULL;

        ASSERT_EQ_INT(json_stream_new(json_array(), NULL, 0, &s), -EINVAL); /* the head is taken */
        ASSERT_EQ_INT(json_stream_new(NULL, NULL, 0, &s), -EINVAL);
        ASSERT_EQ_INT(json_stream_new(json_object(), lists, ELEMENTSOF(lists), &s), -EINVAL);
        ASSERT_TRUE(s == NULL);
}

TEST(test_keys_are_escaped) {
        json_t *head = json_pack("{s:s}", "a\"b\n", "c\\d");
        JsonStream *s = NULL;
        size_t parts;
        char *text;
        json_t *got;

        ASSERT_EQ_INT(json_stream_new(head, NULL, 0, &s), 0);
        text = run(s, 1, &parts);
        got = json_loads(text, 0, NULL);
        ASSERT_STREQ(json_string_value(json_object_get(got, "a\"b\n")), "c\\d");
        json_decref(got);
        free(text);
        json_stream_free(s);
}

int main(void) {
        RUN(test_same_object_whatever_the_part_size);
        RUN(test_items_are_read_when_their_part_is_made);
        RUN(test_bad_arguments);
        RUN(test_keys_are_escaped);
        return 0;
}
