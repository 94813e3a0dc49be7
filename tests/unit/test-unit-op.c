/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "tests.h"
#include "unit-op.h"

static char msg[256];
static int err;

static UnitOpOutcome decide(const UnitOpFacts *f) {
        return unit_op_decide(f, msg, sizeof(msg), &err);
}

/* A call that made a job and got its reply. */
static UnitOpFacts replied(UnitOpKind kind) {
        return (UnitOpFacts) { .kind = kind, .replied = true };
}

TEST(test_waits_for_the_reply) {
        for (UnitOpKind k = 0; k < _UNIT_OP_KIND_MAX; k++) {
                UnitOpFacts f = { .kind = k };

                ASSERT_EQ_INT(decide(&f), UNIT_OP_PENDING);
                ASSERT_STREQ(msg, "");
                ASSERT_EQ_INT(err, 0);
        }
}

TEST(test_calls_without_a_job_end_with_the_reply) {
        UnitOpFacts f = replied(UNIT_OP_SET_PROPERTIES);

        ASSERT_TRUE(!unit_op_kind_has_job(UNIT_OP_SET_PROPERTIES) && !unit_op_kind_has_job(UNIT_OP_ATTACH));
        ASSERT_EQ_INT(decide(&f), UNIT_OP_DONE);
        f = replied(UNIT_OP_ATTACH);
        ASSERT_EQ_INT(decide(&f), UNIT_OP_DONE);
        ASSERT_EQ_INT(err, 0);
}

TEST(test_calls_with_a_job_wait_for_it) {
        UnitOpKind kinds[] = { UNIT_OP_START_TRANSIENT, UNIT_OP_START, UNIT_OP_STOP };

        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                UnitOpFacts f = replied(kinds[i]);

                ASSERT_TRUE(unit_op_kind_has_job(kinds[i]));
                ASSERT_EQ_INT(decide(&f), UNIT_OP_PENDING);
                f.job_result = "done";
                ASSERT_EQ_INT(decide(&f), UNIT_OP_DONE);
                ASSERT_EQ_INT(err, 0);
        }
}

TEST(test_error_reply_fails_with_its_text) {
        UnitOpFacts f = replied(UNIT_OP_START_TRANSIENT);

        f.reply_error = -EEXIST;
        f.error_name = "org.freedesktop.systemd1.UnitExists";
        f.error_message = "Unit a.slice already exists.";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_FAILED);
        ASSERT_STREQ(msg, "StartTransientUnit failed: Unit a.slice already exists.");
        ASSERT_EQ_INT(err, -EEXIST);

        f = replied(UNIT_OP_SET_PROPERTIES);
        f.reply_error = -EACCES; /* no text: the errno's */
        ASSERT_EQ_INT(decide(&f), UNIT_OP_FAILED);
        ASSERT_STREQ(msg, "SetUnitProperties failed: Permission denied");
        ASSERT_EQ_INT(err, -EACCES);

        f = replied(UNIT_OP_ATTACH);
        f.reply_error = -ESRCH;
        f.error_name = "org.freedesktop.DBus.Error.UnixProcessIdUnknown";
        f.error_message = "gone";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_FAILED);
        ASSERT_STREQ(msg, "AttachProcessesToUnit failed: gone");
}

TEST(test_stopping_a_unit_that_is_not_there_is_done) {
        UnitOpFacts f = replied(UNIT_OP_STOP);

        f.reply_error = -ENOENT;
        f.error_name = "org.freedesktop.systemd1.NoSuchUnit";
        f.error_message = "Unit a.slice not loaded.";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_DONE);
        ASSERT_EQ_INT(err, 0);
        /* Only for a stop: starting it is a failure. */
        f.kind = UNIT_OP_START;
        ASSERT_EQ_INT(decide(&f), UNIT_OP_FAILED);
        ASSERT_STREQ(msg, "StartUnit failed: Unit a.slice not loaded.");
        /* Another error of a stop is one. */
        f.kind = UNIT_OP_STOP;
        f.error_name = "org.freedesktop.DBus.Error.AccessDenied";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_FAILED);
        ASSERT_STREQ(msg, "StopUnit failed: Unit a.slice not loaded.");
}

TEST(test_job_result_other_than_done_fails) {
        UnitOpFacts f = replied(UNIT_OP_START_TRANSIENT);

        f.job_result = "failed";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_FAILED);
        ASSERT_STREQ(msg, "start job finished with result \"failed\"");
        ASSERT_EQ_INT(err, -EIO);
        f = replied(UNIT_OP_STOP);
        f.job_result = "canceled";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_FAILED);
        ASSERT_STREQ(msg, "stop job finished with result \"canceled\"");
        f = replied(UNIT_OP_START);
        f.job_result = "dependency";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_FAILED);
        ASSERT_STREQ(msg, "start job finished with result \"dependency\"");
}

TEST(test_timeout_reads_the_state_once) {
        UnitOpFacts f = replied(UNIT_OP_START_TRANSIENT);

        f.timed_out = true;
        ASSERT_EQ_INT(decide(&f), UNIT_OP_READ_STATE);
        ASSERT_EQ_INT(err, 0);
        f.state_read = true;
        f.active_state = "active";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_DONE);
        ASSERT_EQ_INT(err, 0);
}

TEST(test_timeout_with_the_unit_elsewhere_is_a_timeout) {
        const char *start_not_done[] = { "activating", "failed", "inactive", "deactivating", "reloading" };
        const char *stop_not_done[] = { "active", "deactivating", "failed", "activating" };
        UnitOpFacts f;

        for (size_t i = 0; i < ELEMENTSOF(start_not_done); i++) {
                char expected[128];

                f = replied(i % 2 ? UNIT_OP_START : UNIT_OP_START_TRANSIENT);
                f.timed_out = f.state_read = true;
                f.active_state = start_not_done[i];
                ASSERT_EQ_INT(decide(&f), UNIT_OP_TIMED_OUT);
                snprintf(expected, sizeof(expected), "job timed out, unit is %s", start_not_done[i]);
                ASSERT_STREQ(msg, expected);
                ASSERT_EQ_INT(err, -ETIMEDOUT);
        }
        for (size_t i = 0; i < ELEMENTSOF(stop_not_done); i++) {
                f = replied(UNIT_OP_STOP);
                f.timed_out = f.state_read = true;
                f.active_state = stop_not_done[i];
                ASSERT_EQ_INT(decide(&f), UNIT_OP_TIMED_OUT);
        }
        f.active_state = "inactive";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_DONE);
}

TEST(test_timeout_without_the_state_is_a_timeout) {
        UnitOpFacts f = replied(UNIT_OP_STOP);

        f.timed_out = f.state_read = true;
        f.state_error = -EIO;
        f.state_error_message = "Connection reset";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_TIMED_OUT);
        ASSERT_STREQ(msg, "job timed out; reading ActiveState failed: Connection reset");
        ASSERT_EQ_INT(err, -ETIMEDOUT);
        f.state_error_message = NULL;
        f.state_error = -ECONNRESET;
        ASSERT_EQ_INT(decide(&f), UNIT_OP_TIMED_OUT);
        ASSERT_CONTAINS(msg, strerror(ECONNRESET));
        /* A reply that named no state is as good as none. */
        f.state_error = 0;
        ASSERT_EQ_INT(decide(&f), UNIT_OP_TIMED_OUT);
}

TEST(test_job_result_decides_over_the_timer) {
        UnitOpFacts f = replied(UNIT_OP_START_TRANSIENT);

        f.timed_out = true;
        f.job_result = "done";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_DONE);
        f.job_result = "timeout";
        ASSERT_EQ_INT(decide(&f), UNIT_OP_FAILED);
}

TEST(test_no_wait_possible_fails) {
        UnitOpFacts f = replied(UNIT_OP_STOP);

        f.wait_error = -ENOMEM;
        ASSERT_EQ_INT(decide(&f), UNIT_OP_FAILED);
        ASSERT_STREQ(msg, "cannot wait for the StopUnit job: Cannot allocate memory");
        ASSERT_EQ_INT(err, -ENOMEM);
}

TEST(test_message_is_cut_to_the_buffer) {
        UnitOpFacts f = replied(UNIT_OP_START_TRANSIENT);
        char small[8];
        int e;

        f.job_result = "failed";
        ASSERT_EQ_INT(unit_op_decide(&f, small, sizeof(small), &e), UNIT_OP_FAILED);
        ASSERT_STREQ(small, "start j");
}

TEST(test_methods) {
        ASSERT_STREQ(unit_op_kind_method(UNIT_OP_START_TRANSIENT), "StartTransientUnit");
        ASSERT_STREQ(unit_op_kind_method(UNIT_OP_START), "StartUnit");
        ASSERT_STREQ(unit_op_kind_method(UNIT_OP_STOP), "StopUnit");
        ASSERT_STREQ(unit_op_kind_method(UNIT_OP_SET_PROPERTIES), "SetUnitProperties");
        ASSERT_STREQ(unit_op_kind_method(UNIT_OP_ATTACH), "AttachProcessesToUnit");
        ASSERT_TRUE(unit_op_kind_method(_UNIT_OP_KIND_MAX) == NULL);
}

int main(void) {
        RUN(test_waits_for_the_reply);
        RUN(test_calls_without_a_job_end_with_the_reply);
        RUN(test_calls_with_a_job_wait_for_it);
        RUN(test_error_reply_fails_with_its_text);
        RUN(test_stopping_a_unit_that_is_not_there_is_done);
        RUN(test_job_result_other_than_done_fails);
        RUN(test_timeout_reads_the_state_once);
        RUN(test_timeout_with_the_unit_elsewhere_is_a_timeout);
        RUN(test_timeout_without_the_state_is_a_timeout);
        RUN(test_job_result_decides_over_the_timer);
        RUN(test_no_wait_possible_fails);
        RUN(test_message_is_cut_to_the_buffer);
        RUN(test_methods);
        return 0;
}
