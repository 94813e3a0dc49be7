/* SPDX-License-Identifier: MIT */
/* The pending read: the newest read waits alone (bounded), copies what the library owns, and is handed over
 * once. */
#include <errno.h>

#include "pending-read.h"
#include "tests.h"

TEST(test_nothing_pending) {
        PendingRead p = { 0 };
        SourceRead r = { .error = 7, .version = 42 };

        ASSERT_TRUE(!pending_read_take(&p, &r));
        /* untouched */
        ASSERT_EQ_INT(r.error, 7);
        ASSERT_EQ_INT(r.version, 42);
        ASSERT_EQ_U64(p.n_taken, 0);
        pending_read_done(&p);
}

TEST(test_bytes_are_copied) {
        PendingRead p = { 0 };
        SourceRead r;
        char buf[] = "{\"a\":1}";

        ASSERT_EQ_INT(pending_read_put(&p, 0, NULL, buf, 7, 5), 0);
        /* The library reuses its buffer after the callback returns. */
        memset(buf, 'x', sizeof(buf) - 1);
        ASSERT_TRUE(pending_read_take(&p, &r));
        ASSERT_EQ_INT(r.error, 0);
        ASSERT_EQ_INT(r.size, 7);
        ASSERT_EQ_INT(r.version, 5);
        ASSERT_STREQ(r.data, "{\"a\":1}"); /* NUL-terminated */
        ASSERT_TRUE(!r.message);
        source_read_done(&r);
        /* Taken once. */
        ASSERT_TRUE(!pending_read_take(&p, &r));
        ASSERT_EQ_U64(p.n_put, 1);
        ASSERT_EQ_U64(p.n_taken, 1);
        ASSERT_EQ_U64(p.n_replaced, 0);
        pending_read_done(&p);
}

TEST(test_empty_node) {
        PendingRead p = { 0 };
        SourceRead r;

        ASSERT_EQ_INT(pending_read_put(&p, 0, NULL, NULL, 0, 0), 0);
        ASSERT_TRUE(pending_read_take(&p, &r));
        ASSERT_EQ_INT(r.size, 0);
        ASSERT_STREQ(r.data, "");
        source_read_done(&r);
        pending_read_done(&p);
}

TEST(test_error_with_message) {
        PendingRead p = { 0 };
        SourceRead r;
        char msg[] = "node /x/arch_conf does not exist";

        ASSERT_EQ_INT(pending_read_put(&p, -ENOENT, msg, NULL, 0, -1), 0);
        msg[0] = 'X';
        ASSERT_TRUE(pending_read_take(&p, &r));
        ASSERT_EQ_INT(r.error, -ENOENT);
        ASSERT_STREQ(r.message, "node /x/arch_conf does not exist");
        ASSERT_TRUE(!r.data);
        ASSERT_EQ_INT(r.size, 0);
        ASSERT_EQ_INT(r.version, -1);
        source_read_done(&r);

        /* Without a message: the owner says strerror(). */
        ASSERT_EQ_INT(pending_read_put(&p, -EACCES, NULL, NULL, 0, -1), 0);
        ASSERT_TRUE(pending_read_take(&p, &r));
        ASSERT_EQ_INT(r.error, -EACCES);
        ASSERT_TRUE(!r.message);
        source_read_done(&r);
        pending_read_done(&p);
}

/* Reads that arrive before the loop delivers: only the newest waits, whatever came before it. */
TEST(test_newest_replaces) {
        PendingRead p = { 0 };
        SourceRead r;

        ASSERT_EQ_INT(pending_read_put(&p, 0, NULL, "{\"v\":1}", 7, 1), 0);
        ASSERT_EQ_INT(pending_read_put(&p, -ENOENT, "gone", NULL, 0, -1), 0);
        ASSERT_EQ_INT(pending_read_put(&p, 0, NULL, "{\"v\":33}", 8, 3), 0);
        ASSERT_EQ_U64(p.n_put, 3);
        ASSERT_EQ_U64(p.n_replaced, 2);
        ASSERT_TRUE(pending_read_take(&p, &r));
        ASSERT_EQ_INT(r.error, 0);
        ASSERT_EQ_INT(r.version, 3);
        ASSERT_STREQ(r.data, "{\"v\":33}");
        ASSERT_TRUE(!r.message);
        source_read_done(&r);
        ASSERT_TRUE(!pending_read_take(&p, &r));

        /* A read after the take is not a replacement. */
        ASSERT_EQ_INT(pending_read_put(&p, -EFBIG, "too large", NULL, 0, 9), 0);
        ASSERT_EQ_U64(p.n_replaced, 2);
        ASSERT_TRUE(pending_read_take(&p, &r));
        ASSERT_EQ_INT(r.error, -EFBIG);
        ASSERT_EQ_INT(r.version, 9);
        source_read_done(&r);
        ASSERT_EQ_U64(p.n_taken, 2);
        pending_read_done(&p);
}

/* The owner's cleanup frees a read never taken (ASan's leak check fails this test otherwise). */
TEST(test_done_drops_pending) {
        PendingRead p = { 0 };
        SourceRead r;

        ASSERT_EQ_INT(pending_read_put(&p, 0, NULL, "{}", 2, 1), 0);
        pending_read_done(&p);
        ASSERT_TRUE(!pending_read_take(&p, &r));
        ASSERT_EQ_U64(p.n_put, 1);
        pending_read_done(&p);
}

int main(void) {
        RUN(test_nothing_pending);
        RUN(test_bytes_are_copied);
        RUN(test_empty_node);
        RUN(test_error_with_message);
        RUN(test_newest_replaces);
        RUN(test_done_drops_pending);
        return 0;
}
