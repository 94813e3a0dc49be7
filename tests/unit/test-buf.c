/* SPDX-License-Identifier: MIT */
/* The growable byte buffer: appending nothing to a buffer that has no memory yet, and refusing sizes that
 * would overflow. Run under UBSan with halt_on_error=1 (meson.build), which catches memcpy() to NULL. */
#include <errno.h>
#include <stdint.h>

#include "buf.h"
#include "tests.h"

/* A websocket frame written whole by sendmsg() leaves nothing to queue: zero bytes into an empty queue. */
TEST(test_put_nothing_into_empty) {
        Buf b = { 0 };

        buf_put_unchecked(&b, "", 0);
        ASSERT_EQ_INT(b.size, 0);
        ASSERT_EQ_INT(buf_put(&b, "", 0), 0);
        ASSERT_EQ_INT(buf_reserve(&b, 0), 0);
        buf_put_unchecked(&b, "x", 0);
        ASSERT_EQ_INT(b.size, 0);
        buf_done(&b);
}

TEST(test_reserve_and_put) {
        Buf b = { 0 };

        ASSERT_EQ_INT(buf_put(&b, "abc", 3), 0);
        ASSERT_EQ_INT(buf_reserve(&b, 1000), 0);
        ASSERT_TRUE(b.alloc - b.size >= 1000);
        buf_put_unchecked(&b, "de", 2);
        ASSERT_EQ_INT(b.size, 5);
        ASSERT_TRUE(memcmp(b.data, "abcde", 5) == 0);
        ASSERT_EQ_INT(buf_reserve(&b, SIZE_MAX - 2), -ENOMEM); /* no overflow, buffer unchanged */
        ASSERT_EQ_INT(b.size, 5);
        ASSERT_TRUE(memcmp(b.data, "abcde", 5) == 0);
        buf_done(&b);
        ASSERT_TRUE(b.data == NULL && b.size == 0 && b.alloc == 0);
}

int main(void) {
        RUN(test_put_nothing_into_empty);
        RUN(test_reserve_and_put);
        return 0;
}
