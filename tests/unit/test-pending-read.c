/* SPDX-License-Identifier: MIT */
/* The pending read: the newest read waits alone (bounded), copies what the library owns, and is handed over
 * once. */
#include <errno.h>

#include "pending-read.h"
#include "tests.h"

/* Takes the pending read, checks each field (data NULL: no bytes expected), frees it. */
static void take_and_check(PendingRead *p, int error, const char *message, const char *data, int64_t version) {
        SourceRead r;

        ASSERT_TRUE(pending_read_take(p, &r));
        ASSERT_EQ_INT(r.error, error);
        ASSERT_EQ_INT(r.version, version);
        if (message)
                ASSERT_STREQ(r.message, message);
        else
                ASSERT_TRUE(!r.message);
        if (data) {
                ASSERT_EQ_INT(r.size, strlen(data));
                ASSERT_STREQ(r.data, data); /* NUL-terminated */
        } else {
                ASSERT_TRUE(!r.data);
                ASSERT_EQ_INT(r.size, 0);
        }
        source_read_done(&r);
}

static void check_counts(const PendingRead *p, uint64_t put, uint64_t replaced, uint64_t taken) {
        ASSERT_EQ_U64(p->n_put, put);
        ASSERT_EQ_U64(p->n_replaced, replaced);
        ASSERT_EQ_U64(p->n_taken, taken);
}

TEST(test_nothing_pending) {
        PendingRead p = { 0 };
        SourceRead r = { .error = 7, .version = 42 };

        ASSERT_TRUE(!pending_read_take(&p, &r));
        /* untouched */
        ASSERT_EQ_INT(r.error, 7);
        ASSERT_EQ_INT(r.version, 42);
        check_counts(&p, 0, 0, 0);
        pending_read_done(&p);
}

TEST(test_bytes_are_copied) {
        PendingRead p = { 0 };
        SourceRead r;
        char buf[] = "{\"a\":1}";

        ASSERT_EQ_INT(pending_read_put(&p, 0, NULL, buf, 7, 5), 0);
        /* The library reuses its buffer after the callback returns. */
        memset(buf, 'x', sizeof(buf) - 1);
        take_and_check(&p, 0, NULL, "{\"a\":1}", 5);
        /* Taken once. */
        ASSERT_TRUE(!pending_read_take(&p, &r));
        check_counts(&p, 1, 0, 1);
        pending_read_done(&p);
}

TEST(test_empty_node) {
        PendingRead p = { 0 };

        ASSERT_EQ_INT(pending_read_put(&p, 0, NULL, NULL, 0, 0), 0);
        take_and_check(&p, 0, NULL, "", 0);
        pending_read_done(&p);
}

TEST(test_error_with_message) {
        PendingRead p = { 0 };
        char msg[] = "node /x/arch_conf does not exist";

        ASSERT_EQ_INT(pending_read_put(&p, -ENOENT, msg, NULL, 0, -1), 0);
        msg[0] = 'X';
        take_and_check(&p, -ENOENT, "node /x/arch_conf does not exist", NULL, -1);
        /* Without a message: the owner says strerror(). */
        ASSERT_EQ_INT(pending_read_put(&p, -EACCES, NULL, NULL, 0, -1), 0);
        take_and_check(&p, -EACCES, NULL, NULL, -1);
        pending_read_done(&p);
}

/* Reads that arrive before the loop delivers: only the newest waits, whatever came before it. */
TEST(test_newest_replaces) {
        PendingRead p = { 0 };
        SourceRead r;

        ASSERT_EQ_INT(pending_read_put(&p, 0, NULL, "{\"v\":1}", 7, 1), 0);
        ASSERT_EQ_INT(pending_read_put(&p, -ENOENT, "gone", NULL, 0, -1), 0);
        ASSERT_EQ_INT(pending_read_put(&p, 0, NULL, "{\"v\":33}", 8, 3), 0);
        check_counts(&p, 3, 2, 0);
        take_and_check(&p, 0, NULL, "{\"v\":33}", 3);
        ASSERT_TRUE(!pending_read_take(&p, &r));

        /* A read after the take is not a replacement. */
        ASSERT_EQ_INT(pending_read_put(&p, -EFBIG, "too large", NULL, 0, 9), 0);
        take_and_check(&p, -EFBIG, "too large", NULL, 9);
        check_counts(&p, 4, 2, 2);
        pending_read_done(&p);
}

/* The owner's cleanup frees a read never taken (ASan's leak check fails this test otherwise). */
TEST(test_done_drops_pending) {
        PendingRead p = { 0 };
        SourceRead r;

        ASSERT_EQ_INT(pending_read_put(&p, 0, NULL, "{}", 2, 1), 0);
        pending_read_done(&p);
        ASSERT_TRUE(!pending_read_take(&p, &r));
        check_counts(&p, 1, 0, 0);
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
