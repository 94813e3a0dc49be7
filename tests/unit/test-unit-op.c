/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

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

/* ---- the operation against a fake systemd on a socket pair ---- */

typedef struct Fake {
        sd_bus *bus;
        unsigned calls, gets, next_job;
        const char *error_name;   /* answer calls with this error */
        bool job_first;           /* JobRemoved before the reply */
        const char *job_result;   /* NULL: the job is never removed */
        unsigned hold_jobs;       /* so many next jobs are never removed */
        const char *active_state; /* Get's answer; NULL: an error */
        char method[64], unit[64], description[128], last_job[64];
        unsigned n_props;
        uint32_t pids[8];
        size_t n_pids;
} Fake;

typedef struct Env {
        sd_event *event;
        sd_bus *client;
        JobWatch *jobs;
        Fake fake;
} Env;

typedef struct Caller {
        unsigned calls;
        UnitOpOutcome outcome;
        int error;
        char message[256], error_name[128], job_result[32], active_state[32];
        UnitOp *op;
        unsigned appends;
} Caller;

static void fake_job_removed(Fake *f, const char *job, const char *unit, const char *result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;

        ASSERT_TRUE(sd_bus_message_new_signal(f->bus, &s, "/org/freedesktop/systemd1",
                                              "org.freedesktop.systemd1.Manager", "JobRemoved") >= 0);
        ASSERT_TRUE(sd_bus_message_append(s, "uoss", 1, job, unit, result) >= 0);
        /* On a direct connection the sender is what the message says. */
        ASSERT_TRUE(sd_bus_message_set_sender(s, "org.freedesktop.systemd1") >= 0);
        ASSERT_TRUE(sd_bus_send(f->bus, s, NULL) >= 0);
}

static void fake_read_properties(Fake *f, sd_bus_message *m) {
        const char *name, *desc;

        ASSERT_TRUE(sd_bus_message_enter_container(m, 'a', "(sv)") > 0);
        while (sd_bus_message_enter_container(m, 'r', "sv") > 0) {
                ASSERT_TRUE(sd_bus_message_read(m, "s", &name) > 0);
                if (streq(name, "Description")) {
                        ASSERT_TRUE(sd_bus_message_read(m, "v", "s", &desc) > 0);
                        snprintf(f->description, sizeof(f->description), "%s", desc);
                } else
                        ASSERT_TRUE(sd_bus_message_skip(m, "v") > 0);
                ASSERT_TRUE(sd_bus_message_exit_container(m) > 0);
                f->n_props++;
        }
        ASSERT_TRUE(sd_bus_message_exit_container(m) > 0);
}

static int on_fake_call(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        Fake *f = userdata;
        const char *member = sd_bus_message_get_member(m), *unit = NULL, *mode, *result;
        const void *pids;
        size_t size;
        bool job;

        if (!sd_bus_message_is_method_call(m, NULL, NULL))
                return 0;
        if (streq(member, "Get")) {
                f->gets++;
                if (!f->active_state)
                        {
                        ASSERT_TRUE(sd_bus_reply_method_errorf(m, "org.freedesktop.DBus.Error.Failed", "no state") >= 0);
                        return 1;
                }
                ASSERT_TRUE(sd_bus_reply_method_return(m, "v", "s", f->active_state) >= 0);
                return 1;
        }
        f->calls++;
        snprintf(f->method, sizeof(f->method), "%s", member);
        f->n_props = 0;
        f->description[0] = 0;
        if (streq(member, "SetUnitProperties")) {
                int runtime;

                ASSERT_TRUE(sd_bus_message_read(m, "sb", &unit, &runtime) > 0);
                ASSERT_TRUE(runtime);
                fake_read_properties(f, m);
        } else {
                ASSERT_TRUE(sd_bus_message_read(m, "ss", &unit, &mode) > 0);
                if (streq(member, "StartTransientUnit"))
                        fake_read_properties(f, m);
                if (streq(member, "AttachProcessesToUnit")) {
                        ASSERT_TRUE(sd_bus_message_read_array(m, 'u', &pids, &size) >= 0);
                        f->n_pids = MIN(size / sizeof(uint32_t), ELEMENTSOF(f->pids));
                        memcpy(f->pids, pids, f->n_pids * sizeof(uint32_t));
                }
        }
        snprintf(f->unit, sizeof(f->unit), "%s", unit);
        if (f->error_name) {
                ASSERT_TRUE(sd_bus_reply_method_errorf(m, f->error_name, "fake: %s", f->error_name) >= 0);
                return 1;
        }
        job = streq(member, "StartTransientUnit") || streq(member, "StartUnit") || streq(member, "StopUnit");
        if (!job) {
                ASSERT_TRUE(sd_bus_reply_method_return(m, NULL) >= 0);
                return 1;
        }
        snprintf(f->last_job, sizeof(f->last_job), "/org/freedesktop/systemd1/job/%u", ++f->next_job);
        result = f->hold_jobs > 0 ? NULL : f->job_result;
        f->hold_jobs -= f->hold_jobs > 0;
        if (f->job_first && result)
                fake_job_removed(f, f->last_job, unit, result);
        ASSERT_TRUE(sd_bus_reply_method_return(m, "o", f->last_job) >= 0);
        if (!f->job_first && result)
                fake_job_removed(f, f->last_job, unit, result);
        return 1;
}

static void env_init(Env *e) {
        sd_id128_t id;
        int fds[2];

        *e = (Env) { 0 };
        ASSERT_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        ASSERT_TRUE(sd_event_new(&e->event) >= 0);
        ASSERT_TRUE(sd_id128_randomize(&id) >= 0);
        ASSERT_TRUE(sd_bus_new(&e->fake.bus) >= 0);
        ASSERT_TRUE(sd_bus_set_fd(e->fake.bus, fds[0], fds[0]) >= 0);
        ASSERT_TRUE(sd_bus_set_server(e->fake.bus, 1, id) >= 0);
        ASSERT_TRUE(sd_bus_set_anonymous(e->fake.bus, 1) >= 0);
        ASSERT_TRUE(sd_bus_add_filter(e->fake.bus, NULL, on_fake_call, &e->fake) >= 0);
        ASSERT_TRUE(sd_bus_start(e->fake.bus) >= 0);
        ASSERT_TRUE(sd_bus_attach_event(e->fake.bus, e->event, 0) >= 0);
        ASSERT_TRUE(sd_bus_new(&e->client) >= 0);
        ASSERT_TRUE(sd_bus_set_fd(e->client, fds[1], fds[1]) >= 0);
        ASSERT_TRUE(sd_bus_set_anonymous(e->client, 1) >= 0);
        ASSERT_TRUE(sd_bus_start(e->client) >= 0);
        ASSERT_TRUE(sd_bus_attach_event(e->client, e->event, 0) >= 0);
        ASSERT_EQ_INT(job_watch_new(e->client, &e->jobs), 0);
        e->fake.job_result = "done";
        e->fake.active_state = "active";
}

static void env_done(Env *e) {
        job_watch_free(e->jobs);
        sd_bus_flush_close_unref(e->client);
        sd_bus_flush_close_unref(e->fake.bus);
        sd_event_unref(e->event);
}

static void on_done(UnitOp *op, const UnitOpResult *r, void *userdata) {
        Caller *c = userdata;

        ASSERT_TRUE(op == c->op);
        c->calls++;
        c->outcome = r->outcome;
        c->error = r->error;
        snprintf(c->message, sizeof(c->message), "%s", r->message ? r->message : "");
        snprintf(c->error_name, sizeof(c->error_name), "%s", r->error_name ? r->error_name : "");
        snprintf(c->job_result, sizeof(c->job_result), "%s", r->job_result ? r->job_result : "");
        snprintf(c->active_state, sizeof(c->active_state), "%s", r->active_state ? r->active_state : "");
        c->op = unit_op_free(c->op); /* the callback may free it */
}

static int append_description(sd_bus_message *m, void *userdata) {
        Caller *c = userdata;

        c->appends++;
        return sd_bus_message_append(m, "(sv)(sv)", "Description", "s", "test unit", "Delegate", "b", 1);
}

static void send_op(Env *e, Caller *c, UnitOpKind kind, usec_t timeout_usec) {
        static const pid_t pids[] = { 101, 202 };
        UnitOpRequest req = {
                .kind = kind, .unit = "t.slice", .append = append_description, .pids = pids, .n_pids = 2,
                .timeout_usec = timeout_usec,
        };

        *c = (Caller) { 0 };
        ASSERT_EQ_INT(unit_op_send(e->client, e->jobs, &req, on_done, c, &c->op), 0);
        ASSERT_EQ_INT(c->calls, 0); /* never from within the send */
}

/* Runs the loop until the caller was called back; every round must dispatch something. */
static void run_until_done(Env *e, Caller *c) {
        for (int i = 0; i < 1000 && c->calls == 0; i++)
                ASSERT_TRUE(sd_event_run(e->event, 10 * USEC_PER_SEC) > 0);
        ASSERT_EQ_INT(c->calls, 1);
        ASSERT_TRUE(c->op == NULL);
}

TEST(test_op_start_transient_waits_for_its_job) {
        Env e;
        Caller c;

        env_init(&e);
        send_op(&e, &c, UNIT_OP_START_TRANSIENT, 0);
        ASSERT_EQ_INT(c.appends, 1);
        run_until_done(&e, &c);
        ASSERT_EQ_INT(c.outcome, UNIT_OP_DONE);
        ASSERT_STREQ(c.job_result, "done");
        ASSERT_STREQ(e.fake.method, "StartTransientUnit");
        ASSERT_STREQ(e.fake.unit, "t.slice");
        ASSERT_STREQ(e.fake.description, "test unit");
        ASSERT_EQ_INT(e.fake.n_props, 2);
        ASSERT_EQ_INT(e.fake.gets, 0);
        env_done(&e);
}

TEST(test_op_job_removed_before_the_reply) {
        Env e;
        Caller c;

        env_init(&e);
        e.fake.job_first = true;
        e.fake.job_result = "failed";
        send_op(&e, &c, UNIT_OP_START, 0);
        run_until_done(&e, &c);
        ASSERT_EQ_INT(c.outcome, UNIT_OP_FAILED);
        ASSERT_STREQ(c.message, "start job finished with result \"failed\"");
        ASSERT_STREQ(c.job_result, "failed");
        ASSERT_STREQ(e.fake.method, "StartUnit");
        env_done(&e);
}

TEST(test_op_timeout_reads_active_state) {
        Env e;
        Caller c;

        env_init(&e);
        e.fake.job_result = NULL;
        send_op(&e, &c, UNIT_OP_STOP, USEC_PER_MSEC);
        e.fake.active_state = "inactive";
        run_until_done(&e, &c);
        ASSERT_EQ_INT(c.outcome, UNIT_OP_DONE);
        ASSERT_STREQ(c.active_state, "inactive");
        ASSERT_EQ_INT(e.fake.gets, 1);

        send_op(&e, &c, UNIT_OP_START_TRANSIENT, USEC_PER_MSEC);
        e.fake.active_state = "activating";
        run_until_done(&e, &c);
        ASSERT_EQ_INT(c.outcome, UNIT_OP_TIMED_OUT);
        ASSERT_EQ_INT(c.error, -ETIMEDOUT);
        ASSERT_STREQ(c.message, "job timed out, unit is activating");
        ASSERT_EQ_INT(e.fake.gets, 2);

        send_op(&e, &c, UNIT_OP_START_TRANSIENT, USEC_PER_MSEC);
        e.fake.active_state = NULL;
        run_until_done(&e, &c);
        ASSERT_EQ_INT(c.outcome, UNIT_OP_TIMED_OUT);
        ASSERT_STREQ(c.message, "job timed out; reading ActiveState failed: no state");
        env_done(&e);
}

TEST(test_op_error_replies) {
        Env e;
        Caller c;

        env_init(&e);
        e.fake.error_name = "org.freedesktop.systemd1.UnitExists";
        send_op(&e, &c, UNIT_OP_START_TRANSIENT, 0);
        run_until_done(&e, &c);
        ASSERT_EQ_INT(c.outcome, UNIT_OP_FAILED);
        ASSERT_STREQ(c.error_name, "org.freedesktop.systemd1.UnitExists");
        ASSERT_STREQ(c.message, "StartTransientUnit failed: fake: org.freedesktop.systemd1.UnitExists");
        ASSERT_TRUE(c.error < 0);

        e.fake.error_name = "org.freedesktop.systemd1.NoSuchUnit";
        send_op(&e, &c, UNIT_OP_STOP, 0);
        run_until_done(&e, &c);
        ASSERT_EQ_INT(c.outcome, UNIT_OP_DONE);
        env_done(&e);
}

TEST(test_op_calls_without_a_job) {
        Env e;
        Caller c;

        env_init(&e);
        send_op(&e, &c, UNIT_OP_ATTACH, 0);
        ASSERT_EQ_INT(c.appends, 0);
        run_until_done(&e, &c);
        ASSERT_EQ_INT(c.outcome, UNIT_OP_DONE);
        ASSERT_STREQ(e.fake.method, "AttachProcessesToUnit");
        ASSERT_EQ_INT(e.fake.n_pids, 2);
        ASSERT_EQ_INT(e.fake.pids[0], 101);
        ASSERT_EQ_INT(e.fake.pids[1], 202);

        send_op(&e, &c, UNIT_OP_SET_PROPERTIES, 0);
        run_until_done(&e, &c);
        ASSERT_EQ_INT(c.outcome, UNIT_OP_DONE);
        ASSERT_STREQ(e.fake.method, "SetUnitProperties");
        ASSERT_EQ_INT(e.fake.n_props, 2);
        env_done(&e);
}

/* Dropped while waiting for its reply, or for its job: no call back. The next operation's end shows that
 * what came before it was dispatched. */
TEST(test_op_cancelled_calls_nothing) {
        Env e;
        Caller dropped, waiting, next;
        char job[64];

        env_init(&e);
        send_op(&e, &dropped, UNIT_OP_START_TRANSIENT, 0);
        dropped.op = unit_op_free(dropped.op);
        send_op(&e, &next, UNIT_OP_START, 0);
        run_until_done(&e, &next);
        ASSERT_EQ_INT(e.fake.calls, 2);
        ASSERT_EQ_INT(dropped.calls, 0);

        e.fake.hold_jobs = 1;
        send_op(&e, &waiting, UNIT_OP_START_TRANSIENT, 3600 * USEC_PER_SEC);
        snprintf(job, sizeof(job), "/org/freedesktop/systemd1/job/%u", e.fake.next_job + 1);
        send_op(&e, &next, UNIT_OP_STOP, 0);
        run_until_done(&e, &next); /* the reply that names `job` came first */
        ASSERT_EQ_INT(waiting.calls, 0);
        waiting.op = unit_op_free(waiting.op);
        fake_job_removed(&e.fake, job, "t.slice", "done");
        send_op(&e, &next, UNIT_OP_START, 0);
        run_until_done(&e, &next);
        ASSERT_EQ_INT(waiting.calls, 0);
        ASSERT_EQ_INT(dropped.calls, 0);
        ASSERT_EQ_INT(e.fake.gets, 0);
        env_done(&e);
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
        RUN(test_op_start_transient_waits_for_its_job);
        RUN(test_op_job_removed_before_the_reply);
        RUN(test_op_timeout_reads_active_state);
        RUN(test_op_error_replies);
        RUN(test_op_calls_without_a_job);
        RUN(test_op_cancelled_calls_nothing);
        return 0;
}
