/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-request.h"
#include "macro.h"
#include "tests.h"

static char error[256];

static int parse(const char *text, ControlRequest *ret) {
        error[0] = 0;
        return control_request_parse(text, strlen(text), ret, error, sizeof(error));
}

/* A failure answers this error and leaves *ret as it was. */
static void refused(const char *text, const char *expected_error) {
        ControlRequest r = { .cmd = _CONTROL_CMD_MAX, .names = NULL };

        ASSERT_EQ_INT(parse(text, &r), -EINVAL);
        ASSERT_STREQ(error, expected_error);
        ASSERT_EQ_INT(r.cmd, _CONTROL_CMD_MAX);
        ASSERT_TRUE(r.names == NULL);
}

TEST(test_commands) {
        ControlRequest r;

        ASSERT_EQ_INT(parse("{\"cmd\":\"status\"}", &r), 0);
        ASSERT_EQ_INT(r.cmd, CONTROL_CMD_STATUS);
        ASSERT_TRUE(r.names == NULL);
        control_request_done(&r);
        /* Other keys, and args of commands that take none, are ignored. */
        ASSERT_EQ_INT(parse("{\"args\":{\"names\":7},\"cmd\":\"plan\",\"x\":[1]}", &r), 0);
        ASSERT_EQ_INT(r.cmd, CONTROL_CMD_PLAN);
        ASSERT_TRUE(r.names == NULL);
        control_request_done(&r);
        ASSERT_EQ_INT(parse(" {\"cmd\":\"exec_args\",\"args\":{\"names\":[\"web\",\"/web/static\"]}} ", &r), 0);
        ASSERT_EQ_INT(r.cmd, CONTROL_CMD_EXEC_ARGS);
        /* The names outlive the parsed request. */
        ASSERT_EQ_INT(json_array_size(r.names), 2);
        ASSERT_STREQ(json_string_value(json_array_get(r.names, 1)), "/web/static");
        control_request_done(&r);
        ASSERT_TRUE(r.names == NULL);
}

#define UNKNOWN \
        "unknown cmd (expected \"status\", \"plan\", \"exec_args\", \"migrate\", \"migrate_result\", " \
        "\"penalty\", \"limit\", \"users\" or \"account\")"

TEST(test_refused) {
        refused("", "request is not valid JSON");
        refused("{\"cmd\":\"status\"", "request is not valid JSON");
        refused("{\"cmd\":\"status\"} {}", "request is not valid JSON");
        refused("{\"cmd\":\"st\\u0000atus\"}", "request is not valid JSON");
        refused("[\"status\"]", "request must be an object with a string \"cmd\"");
        refused("\"status\"", "request must be an object with a string \"cmd\"");
        refused("{\"cmd\":1}", "request must be an object with a string \"cmd\"");
        refused("{}", "request must be an object with a string \"cmd\"");
        refused("{\"cmd\":\"Status\"}", UNKNOWN);
        refused("{\"cmd\":\"\"}", UNKNOWN);
}

TEST(test_exec_args_names) {
        static const char *const bad_shape[] = {
                "{\"cmd\":\"exec_args\"}",
                "{\"cmd\":\"exec_args\",\"args\":[]}",
                "{\"cmd\":\"exec_args\",\"args\":{\"names\":\"web\"}}",
                "{\"cmd\":\"exec_args\",\"args\":{\"names\":[]}}",
        };
        _cleanup_(freep) char *many = NULL, *long_name = NULL;
        ControlRequest r;
        size_t n;

        for (size_t i = 0; i < ELEMENTSOF(bad_shape); i++)
                refused(bad_shape[i], "args.names must be an array of 1..1024 group names");
        refused("{\"cmd\":\"exec_args\",\"args\":{\"names\":[\"a\",2]}}", "args.names[1] must be a string");

        /* 1024 names pass, 1025 do not. */
        many = malloc(1025 * 4 + 64);
        ASSERT_TRUE(many);
        n = (size_t) sprintf(many, "{\"cmd\":\"exec_args\",\"args\":{\"names\":[\"a\"");
        for (int i = 1; i < 1024; i++)
                n += (size_t) sprintf(many + n, ",\"a\"");
        strcpy(many + n, "]}}");
        ASSERT_EQ_INT(parse(many, &r), 0);
        ASSERT_EQ_INT(json_array_size(r.names), 1024);
        control_request_done(&r);
        strcpy(many + n, ",\"a\"]}}");
        refused(many, "args.names must be an array of 1..1024 group names");

        /* A name of 4096 bytes passes, 4097 does not. */
        long_name = malloc(4097 + 64);
        ASSERT_TRUE(long_name);
        n = (size_t) sprintf(long_name, "{\"cmd\":\"exec_args\",\"args\":{\"names\":[\"");
        memset(long_name + n, 'x', 4096);
        strcpy(long_name + n + 4096, "\"]}}");
        ASSERT_EQ_INT(parse(long_name, &r), 0);
        control_request_done(&r);
        memset(long_name + n, 'x', 4097);
        strcpy(long_name + n + 4097, "\"]}}");
        refused(long_name, "args.names[0] is 4097 bytes long, more than 4096");
}

TEST(test_migrate) {
        ControlRequest r;

        ASSERT_EQ_INT(parse("{\"cmd\":\"migrate\"}", &r), 0);
        ASSERT_EQ_INT(r.cmd, CONTROL_CMD_MIGRATE);
        ASSERT_TRUE(!r.dry_run);
        control_request_done(&r);
        ASSERT_EQ_INT(parse("{\"cmd\":\"migrate\",\"args\":{\"dry_run\":true}}", &r), 0);
        ASSERT_TRUE(r.dry_run);
        control_request_done(&r);
        ASSERT_EQ_INT(parse("{\"cmd\":\"migrate\",\"args\":{\"dry_run\":false}}", &r), 0);
        ASSERT_TRUE(!r.dry_run);
        control_request_done(&r);
        /* A dry run asked for in a way we do not understand must not become a real run. */
        refused("{\"cmd\":\"migrate\",\"args\":{\"dry_run\":1}}", "args.dry_run must be true or false");
        refused("{\"cmd\":\"migrate\",\"args\":{\"dry_run\":\"yes\"}}", "args.dry_run must be true or false");

        ASSERT_EQ_INT(parse("{\"cmd\":\"migrate_result\",\"args\":{\"id\":3}}", &r), 0);
        ASSERT_EQ_INT(r.cmd, CONTROL_CMD_MIGRATE_RESULT);
        ASSERT_EQ_U64(r.id, 3);
        control_request_done(&r);
        refused("{\"cmd\":\"migrate_result\"}", "args.id must be a migration's id (an integer from 1)");
        refused("{\"cmd\":\"migrate_result\",\"args\":{\"id\":0}}",
                "args.id must be a migration's id (an integer from 1)");
        refused("{\"cmd\":\"migrate_result\",\"args\":{\"id\":\"1\"}}",
                "args.id must be a migration's id (an integer from 1)");
}

TEST(test_penalty) {
        ControlRequest r;

        ASSERT_EQ_INT(parse("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001,\"user\":\"alice\",\"on\":true,"
                            "\"for_sec\":5400,\"mode\":\"locked\",\"memory\":268435456}}", &r), 0);
        ASSERT_EQ_INT(r.cmd, CONTROL_CMD_PENALTY);
        ASSERT_TRUE(r.uid == 1001 && r.on && r.has_mode && r.locked);
        ASSERT_STREQ(r.user, "alice");
        ASSERT_TRUE(r.for_sec == 5400 && r.memory_bytes == 268435456);
        control_request_done(&r);
        ASSERT_TRUE(r.user == NULL);
        /* defaults: the daemon's PenaltyTimeoutSec= and PenaltyMode= */
        ASSERT_EQ_INT(parse("{\"cmd\":\"penalty\",\"args\":{\"uid\":4294967294,\"on\":true}}", &r), 0);
        ASSERT_TRUE(r.uid == 4294967294u && r.on && !r.has_mode && r.for_sec == 0 && r.memory_bytes == 0 &&
                    !r.user);
        control_request_done(&r);
        ASSERT_EQ_INT(parse("{\"cmd\":\"penalty\",\"args\":{\"uid\":0,\"on\":false}}", &r), 0);
        ASSERT_TRUE(r.uid == 0 && !r.on);
        control_request_done(&r);

        refused("{\"cmd\":\"penalty\"}", "args must be an object with the user's \"uid\"");
        refused("{\"cmd\":\"penalty\",\"args\":{\"on\":true}}", "args.uid is missing (the user's UID)");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":4294967295,\"on\":true}}",
                "args.uid must be an integer from 0 to 4294967294");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":-1,\"on\":true}}",
                "args.uid must be an integer from 0 to 4294967294");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":\"1001\",\"on\":true}}",
                "args.uid must be an integer from 0 to 4294967294");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001}}", "args.on is missing (true: penalty on, false: off)");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001,\"on\":1}}", "args.on must be true or false");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001,\"on\":true,\"for_sec\":0}}",
                "args.for_sec must be an integer from 1 to 31622400");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001,\"on\":true,\"for_sec\":31622401}}",
                "args.for_sec must be an integer from 1 to 31622400");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001,\"on\":true,\"mode\":\"hard\"}}",
                "args.mode must be \"active\" or \"locked\"");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001,\"on\":true,\"memory\":1000}}",
                "args.memory must be an integer from 1048576 to 9007199254740992");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001,\"on\":false,\"for_sec\":60}}",
                "penalty off takes no for_sec, mode or memory");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001,\"user\":\"\",\"on\":false}}",
                "args.user must be a user name of 1 to 256 bytes");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001,\"user\":\"a\\nb\",\"on\":false}}",
                "args.user must be a user name (no control characters or '/')");
        refused("{\"cmd\":\"penalty\",\"args\":{\"uid\":1001,\"user\":7,\"on\":false}}",
                "args.user must be a user name of 1 to 256 bytes");
}

TEST(test_limit) {
        ControlRequest r;

        ASSERT_EQ_INT(parse("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"cpu_pct\":150,\"memory\":4294967296,"
                            "\"for_sec\":7200}}", &r), 0);
        ASSERT_EQ_INT(r.cmd, CONTROL_CMD_LIMIT);
        ASSERT_TRUE(r.cpu_pct == 150 && r.memory_bytes == 4294967296u && r.for_sec == 7200 && !r.clear);
        control_request_done(&r);
        ASSERT_EQ_INT(parse("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"memory\":\"infinity\"}}", &r), 0);
        ASSERT_TRUE(r.memory_bytes == UINT64_MAX && r.cpu_pct == 0 && r.for_sec == 0);
        control_request_done(&r);
        ASSERT_EQ_INT(parse("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"clear\":true}}", &r), 0);
        ASSERT_TRUE(r.clear);
        control_request_done(&r);

        refused("{\"cmd\":\"limit\",\"args\":{\"uid\":1001}}", "limit needs cpu_pct or memory (or clear)");
        refused("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"clear\":false}}", "limit needs cpu_pct or memory (or clear)");
        refused("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"for_sec\":60}}", "limit needs cpu_pct or memory (or clear)");
        refused("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"clear\":true,\"cpu_pct\":50}}",
                "limit --clear takes no cpu_pct, memory or for_sec");
        refused("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"cpu_pct\":0}}",
                "args.cpu_pct must be an integer from 1 to 819200");
        refused("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"cpu_pct\":819201}}",
                "args.cpu_pct must be an integer from 1 to 819200");
        refused("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"memory\":\"4G\"}}",
                "args.memory must be bytes from 1048576 to 9007199254740992 or \"infinity\"");
        refused("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"memory\":9007199254740993}}",
                "args.memory must be bytes from 1048576 to 9007199254740992 or \"infinity\"");
        refused("{\"cmd\":\"limit\",\"args\":{\"uid\":1001,\"memory\":1.5e9}}",
                "args.memory must be bytes from 1048576 to 9007199254740992 or \"infinity\"");
}

TEST(test_users) {
        ControlRequest r;

        ASSERT_EQ_INT(parse("{\"cmd\":\"users\"}", &r), 0);
        ASSERT_TRUE(r.cmd == CONTROL_CMD_USERS && !r.me);
        control_request_done(&r);
        ASSERT_EQ_INT(parse("{\"cmd\":\"users\",\"args\":{\"me\":true}}", &r), 0);
        ASSERT_TRUE(r.me);
        control_request_done(&r);
        refused("{\"cmd\":\"users\",\"args\":{\"me\":\"yes\"}}", "args.me must be true or false");
        refused("{\"cmd\":\"users\",\"args\":[]}", "args must be an object");
}

/* account: the window's last seconds, 2 unless asked, at most 10 (the answer stays small). */
TEST(test_account) {
        ControlRequest r;

        ASSERT_EQ_INT(parse("{\"cmd\":\"account\"}", &r), 0);
        ASSERT_EQ_INT(r.cmd, CONTROL_CMD_ACCOUNT);
        ASSERT_EQ_U64(r.seconds, CONTROL_ACCOUNT_SECONDS_DEFAULT);
        control_request_done(&r);
        ASSERT_EQ_INT(parse("{\"cmd\":\"account\",\"args\":{\"seconds\":10}}", &r), 0);
        ASSERT_EQ_U64(r.seconds, 10);
        control_request_done(&r);
        ASSERT_EQ_INT(parse("{\"cmd\":\"account\",\"args\":{\"seconds\":1}}", &r), 0);
        ASSERT_EQ_U64(r.seconds, 1);
        control_request_done(&r);
        refused("{\"cmd\":\"account\",\"args\":{\"seconds\":11}}", "args.seconds must be an integer from 1 to 10");
        refused("{\"cmd\":\"account\",\"args\":{\"seconds\":0}}", "args.seconds must be an integer from 1 to 10");
        refused("{\"cmd\":\"account\",\"args\":{\"seconds\":\"2\"}}",
                "args.seconds must be an integer from 1 to 10");
        refused("{\"cmd\":\"account\",\"args\":7}", "args must be an object");
}

int main(void) {
        RUN(test_commands);
        RUN(test_migrate);
        RUN(test_refused);
        RUN(test_penalty);
        RUN(test_limit);
        RUN(test_users);
        RUN(test_account);
        RUN(test_exec_args_names);
        return 0;
}
