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
        "unknown cmd (expected \"status\", \"plan\", \"exec_args\", \"migrate\" or \"migrate_result\")"

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

int main(void) {
        RUN(test_commands);
        RUN(test_migrate);
        RUN(test_refused);
        RUN(test_exec_args_names);
        return 0;
}
