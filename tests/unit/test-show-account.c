/* SPDX-License-Identifier: MIT */
/* show_account's answer made part by part: whole seconds per part, and a ring that moves between parts. */
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "macro.h"
#include "ring.h"
#include "sample-fixtures.h"
#include "show-account.h"
#include "tests.h"

/* The answer is read from the ring part by part while the ring goes on: a second is there as long as the
 * ring holds it when its turn comes. */
TEST(test_api_show_account_stream_while_the_ring_moves) {
        static const char *const paths[] = { "", "a" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(2, paths, NULL);
        _cleanup_(ring_done) Ring r = { 0 };
        _cleanup_(account_stream_freep) AccountStream *stream = NULL;
        Buf b = { 0 };
        json_t *j;
        int more;

        ASSERT_EQ_INT(ring_init(&r, 10), 0);
        for (uint64_t sec = 101; sec <= 110; sec++)
                put_marked(&r, set, sec);
        ASSERT_EQ_INT(account_stream_new(101, 112, &stream), 0);
        more = account_stream_next(stream, &r, &b, 1); /* "{" and 101 */
        ASSERT_EQ_INT(more, 1);
        ASSERT_TRUE(b.size > 1 && b.data[0] == '{');
        /* meanwhile 111 and 112 arrive: 101 and 102 leave the ring */
        put_marked(&r, set, 111);
        put_marked(&r, set, 112);
        do
                more = account_stream_next(stream, &r, &b, 1);
        while (more > 0);
        ASSERT_EQ_INT(more, 0);
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        j = json_loads((char *) b.data, 0, NULL);
        ASSERT_TRUE(j != NULL);
        ASSERT_EQ_INT(json_object_size(j), 11); /* 101 (sent before it went), 103..112 */
        ASSERT_TRUE(json_object_get(j, "102") == NULL);
        for (uint64_t sec = 103; sec <= 112; sec++) {
                char key[32];

                snprintf(key, sizeof(key), "%" PRIu64, sec);
                ASSERT_EQ_U64((uint64_t) json_integer_value(json_object_get(json_object_get(
                                      json_object_get(json_object_get(j, key), "cpu"), "value"), "usage")),
                              sec * 1000);
        }
        json_decref(j);
        buf_done(&b);
}

/* Parts are whole seconds: a part ends after the second that reached the size asked for. */
TEST(test_api_show_account_stream_parts) {
        static const char *const paths[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);
        _cleanup_(ring_done) Ring r = { 0 };
        _cleanup_(account_stream_freep) AccountStream *stream = NULL;
        _cleanup_(freep) char *all = NULL;
        Buf b = { 0 }, joined = { 0 };
        size_t parts = 0;
        int more;

        ASSERT_EQ_INT(ring_init(&r, 300), 0);
        for (uint64_t sec = 1001; sec <= 1300; sec++)
                put_marked(&r, set, sec);
        ASSERT_EQ_INT(account_stream_all(&r, 1001, 1300, &all), 0);
        ASSERT_EQ_INT(account_stream_new(1001, 1300, &stream), 0);
        do {
                b.size = 0;
                more = account_stream_next(stream, &r, &b, 1000);
                ASSERT_TRUE(more >= 0);
                ASSERT_TRUE(b.size >= (more ? 1000u : 1u));
                ASSERT_TRUE(b.size < 1000 + 200); /* one second of one slice is about 150 bytes */
                ASSERT_EQ_INT(buf_put(&joined, b.data, b.size), 0);
                parts++;
        } while (more > 0);
        ASSERT_TRUE(parts > 10);
        ASSERT_EQ_INT(buf_put(&joined, "", 1), 0);
        ASSERT_STREQ((char *) joined.data, all);
        buf_done(&b);
        buf_done(&joined);
        /* an empty range is an empty object */
        free(all);
        ASSERT_EQ_INT(account_stream_all(&r, 5, 9, &all), 0);
        ASSERT_STREQ(all, "{}");
}

int main(void) {
        RUN(test_api_show_account_stream_while_the_ring_moves);
        RUN(test_api_show_account_stream_parts);
        return 0;
}
