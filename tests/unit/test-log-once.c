/* SPDX-License-Identifier: MIT */
/* Log each distinct cause once: a repeated cause is logged the first time only, another cause (or the first
 * one again after another) is logged, a success forgets the cause, and a cause of any length is bounded. */
#include <stdlib.h>
#include <string.h>

#include "log-once.h"
#include "macro.h"
#include "tests.h"

TEST(test_same_cause_once) {
        LogOnce l = LOG_ONCE_INIT;

        ASSERT_TRUE(l.cause == NULL);
        ASSERT_TRUE(log_once_should(&l, "Connection refused"));
        ASSERT_STREQ(l.cause, "Connection refused");
        for (int i = 0; i < 100; i++)
                ASSERT_TRUE(!log_once_should(&l, "Connection refused"));
        ASSERT_STREQ(l.cause, "Connection refused");
        log_once_reset(&l);
}

TEST(test_another_cause_logged) {
        LogOnce l = LOG_ONCE_INIT;

        ASSERT_TRUE(log_once_should(&l, "a"));
        ASSERT_TRUE(log_once_should(&l, "b"));
        ASSERT_STREQ(l.cause, "b");
        ASSERT_TRUE(!log_once_should(&l, "b"));
        /* Only the last cause is kept: going back to the first one is a change, told again. */
        ASSERT_TRUE(log_once_should(&l, "a"));
        /* A prefix, an extension, the empty cause: all different. */
        ASSERT_TRUE(log_once_should(&l, "ab"));
        ASSERT_TRUE(log_once_should(&l, "a"));
        ASSERT_TRUE(log_once_should(&l, ""));
        ASSERT_TRUE(!log_once_should(&l, ""));
        ASSERT_STREQ(l.cause, "");
        log_once_reset(&l);
}

TEST(test_reset_logs_again) {
        LogOnce l = LOG_ONCE_INIT;

        ASSERT_TRUE(log_once_should(&l, "Unit failed"));
        ASSERT_TRUE(!log_once_should(&l, "Unit failed"));
        log_once_reset(&l);
        ASSERT_TRUE(l.cause == NULL);
        ASSERT_TRUE(log_once_should(&l, "Unit failed"));
        /* Reset twice, and on a fresh one: harmless. */
        log_once_reset(&l);
        log_once_reset(&l);
        ASSERT_TRUE(l.cause == NULL);
}

TEST(test_independent) {
        LogOnce a = LOG_ONCE_INIT, b = LOG_ONCE_INIT;

        ASSERT_TRUE(log_once_should(&a, "x"));
        ASSERT_TRUE(log_once_should(&b, "x"));
        ASSERT_TRUE(!log_once_should(&a, "x"));
        log_once_reset(&b);
        ASSERT_TRUE(!log_once_should(&a, "x"));
        log_once_reset(&a);
}

TEST(test_long_cause_bounded) {
        size_t n = 3 * LOG_ONCE_CAUSE_MAX;
        char *big = malloc(n + 1);
        LogOnce l = LOG_ONCE_INIT;

        ASSERT_TRUE(big);
        memset(big, 'x', n);
        big[n] = 0;
        ASSERT_TRUE(log_once_should(&l, big));
        ASSERT_EQ_U64(strlen(l.cause), LOG_ONCE_CAUSE_MAX - 1);
        ASSERT_TRUE(!log_once_should(&l, big));
        /* The same first LOG_ONCE_CAUSE_MAX - 1 bytes: the same cause. */
        big[n - 1] = 'y';
        ASSERT_TRUE(!log_once_should(&l, big));
        /* A difference within them is another one. */
        big[LOG_ONCE_CAUSE_MAX - 2] = 'y';
        ASSERT_TRUE(log_once_should(&l, big));
        /* Exactly as long as what is kept, and one byte shorter: different. */
        big[LOG_ONCE_CAUSE_MAX - 1] = 0;
        ASSERT_TRUE(!log_once_should(&l, big));
        big[LOG_ONCE_CAUSE_MAX - 2] = 0;
        ASSERT_TRUE(log_once_should(&l, big));
        log_once_reset(&l);
        free(big);
}

int main(void) {
        RUN(test_same_cause_once);
        RUN(test_another_cause_logged);
        RUN(test_reset_logs_again);
        RUN(test_independent);
        RUN(test_long_cause_bounded);
        return 0;
}
