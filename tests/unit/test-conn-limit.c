/* SPDX-License-Identifier: MIT */
/* The per-address connection count (src/web/conn-limit.c): the limit, counting past it, forgetting an
 * address once its last connection has gone, and no limit at 0. */
#include "conn-limit.h"
#include "tests.h"

static void test_limit(void) {
        ConnLimit l;

        conn_limit_init(&l, 2);
        ASSERT_TRUE(!conn_limit_full(&l, "127.0.0.1"));
        ASSERT_EQ_INT(conn_limit_add(&l, "127.0.0.1"), 0);
        ASSERT_TRUE(!conn_limit_full(&l, "127.0.0.1"));
        ASSERT_EQ_INT(conn_limit_add(&l, "127.0.0.1"), 0);
        ASSERT_TRUE(conn_limit_full(&l, "127.0.0.1"));
        /* Another address has its own count. */
        ASSERT_TRUE(!conn_limit_full(&l, "::1"));
        ASSERT_EQ_INT(conn_limit_add(&l, "::1"), 0);
        ASSERT_EQ_INT(conn_limit_addresses(&l), 2);
        /* Counted past the limit (a connection the glue could not refuse), freed again one by one. */
        ASSERT_EQ_INT(conn_limit_add(&l, "127.0.0.1"), 0);
        ASSERT_EQ_INT(conn_limit_count(&l, "127.0.0.1"), 3);
        conn_limit_remove(&l, "127.0.0.1");
        ASSERT_TRUE(conn_limit_full(&l, "127.0.0.1"));
        conn_limit_remove(&l, "127.0.0.1");
        ASSERT_TRUE(!conn_limit_full(&l, "127.0.0.1"));
        conn_limit_remove(&l, "127.0.0.1");
        ASSERT_EQ_INT(conn_limit_count(&l, "127.0.0.1"), 0);
        ASSERT_EQ_INT(conn_limit_addresses(&l), 1);
        /* Removing what is not there changes nothing. */
        conn_limit_remove(&l, "127.0.0.1");
        conn_limit_remove(&l, "10.0.0.1");
        ASSERT_EQ_INT(conn_limit_count(&l, "::1"), 1);
        conn_limit_done(&l);
}

static void test_no_limit_and_many_addresses(void) {
        ConnLimit l;
        char address[32];

        conn_limit_init(&l, 0);
        for (int i = 0; i < 1000; i++) {
                snprintf(address, sizeof(address), "10.0.%d.%d", i / 256, i % 256);
                ASSERT_EQ_INT(conn_limit_add(&l, address), 0);
                ASSERT_EQ_INT(conn_limit_add(&l, address), 0);
                ASSERT_TRUE(!conn_limit_full(&l, address));
        }
        ASSERT_EQ_INT(conn_limit_addresses(&l), 1000);
        for (int i = 0; i < 1000; i += 2) {
                snprintf(address, sizeof(address), "10.0.%d.%d", i / 256, i % 256);
                conn_limit_remove(&l, address);
                conn_limit_remove(&l, address);
        }
        ASSERT_EQ_INT(conn_limit_addresses(&l), 500);
        ASSERT_EQ_INT(conn_limit_count(&l, "10.0.0.1"), 2);
        ASSERT_EQ_INT(conn_limit_count(&l, "10.0.0.2"), 0);
        conn_limit_done(&l); /* what is left is freed (the ASan build checks) */
}

int main(void) {
        test_limit();
        test_no_limit_and_many_addresses();
        return 0;
}
