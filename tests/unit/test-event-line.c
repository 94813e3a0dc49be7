/* SPDX-License-Identifier: MIT */
/* Event-log lines in cgroup_py's throttle.log format (src/policy/event-line.c): fields, order, types, time
 * format and json.dumps' look (issue 14). The expected lines are what cgroup_py's Python 2 wrote for the
 * same values (json.dumps with its default separators, checked against python3's; key order fixed to the
 * documented one). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event-line.h"
#include "macro.h"
#include "tests.h"

#define T0 ((time_t) 1764547200) /* 2025-12-01 00:00:00 UTC */

TEST(test_throttle_line) {
        ThrottleEventLine e = {
                .id = "aB3dE5gH7jK9mN1p",
                .cgroup = "user-1001.slice",
                .username = "alice",
                .start = T0 + 3723,
                .ended = true,
                .end = T0 + 3723 + 95,
                .cpu_pct = 0.4725 * 100,
                .node = "login1",
        };
        char *line = NULL;

        ASSERT_EQ_INT(event_line_throttle(&e, &line), 0);
        ASSERT_STREQ(line, "{\"TYPE\": \"throttleCPU\", \"ID\": \"aB3dE5gH7jK9mN1p\", \"CGROUP\": \"user-1001.slice\", "
                           "\"USERNAME\": \"alice\", \"START_TIME\": \"2025-12-01 01:02:03\", "
                           "\"END_TIME\": \"2025-12-01 01:03:38\", \"CPU\": 47.25, \"NODE\": \"login1\"}\n");
        free(line);

        /* before its end: END_TIME "" as cgroup_py's event held; a whole percentage keeps its ".0" */
        e.ended = false;
        e.cpu_pct = 50;
        e.username = "1002";
        ASSERT_EQ_INT(event_line_throttle(&e, &line), 0);
        ASSERT_CONTAINS(line, "\"USERNAME\": \"1002\", \"START_TIME\": \"2025-12-01 01:02:03\", \"END_TIME\": \"\", "
                              "\"CPU\": 50.0, ");
        free(line);

        /* local time, as cgroup_py's datetime.now() (a POSIX TZ rule: no tzdata needed) */
        setenv("TZ", "EST5", 1);
        tzset();
        e.ended = true;
        ASSERT_EQ_INT(event_line_throttle(&e, &line), 0);
        ASSERT_CONTAINS(line, "\"START_TIME\": \"2025-11-30 20:02:03\", \"END_TIME\": \"2025-11-30 20:03:38\"");
        free(line);
        setenv("TZ", "UTC", 1);
        tzset();

        /* a name or node with quotes, control and non-ASCII characters stays one valid JSON line */
        e.username = "j\"o\\e\n\x01\x7f\xc3\xa9\xf0\x9f\x98\x80\xff";
        e.node = "n\xe2\x82";
        ASSERT_EQ_INT(event_line_throttle(&e, &line), 0);
        ASSERT_CONTAINS(line, "\"USERNAME\": \"j\\\"o\\\\e\\n\\u0001\\u007f\\u00e9\\ud83d\\ude00\\ufffd\"");
        ASSERT_CONTAINS(line, "\"NODE\": \"n\\ufffd\\ufffd\"}\n");
        ASSERT_TRUE(strchr(line, '\n') == line + strlen(line) - 1);
        free(line);

        e.node = NULL;
        ASSERT_EQ_INT(event_line_throttle(&e, &line), -EINVAL);
}

TEST(test_oom_line) {
        OomEventLine e = {
                .id = "Zz09Zz09Zz09Zz09",
                .timestamp = T0 + 59,
                .uid = 1001,
                .uname = "alice",
                .node = "login1",
        };
        char *line = NULL;

        ASSERT_EQ_INT(event_line_oom(&e, &line), 0);
        ASSERT_STREQ(line, "{\"TYPE\": \"OOM\", \"ID\": \"Zz09Zz09Zz09Zz09\", \"TIMESTAMP\": \"2025-12-01 00:00:59\", "
                           "\"UID\": \"1001\", \"UNAME\": \"alice\", \"NODE\": \"login1\"}\n");
        free(line);
        e.cgroup = "user-1001.slice";
        e.pid = 4242;
        e.comm = "python3";
        ASSERT_EQ_INT(event_line_oom(&e, &line), 0);
        ASSERT_CONTAINS(line, "\"NODE\": \"login1\", \"CGROUP\": \"user-1001.slice\", \"PID\": 4242, "
                              "\"COMM\": \"python3\"}\n");
        free(line);
        /* Ours: where it happened, the counter, the limit and use, how late. */
        e.slice = "user-1001.slice";
        e.task_memcg = "/user.slice/user-1001.slice/session-3.scope";
        e.oom_memcg = "/user.slice/user-1001.slice";
        e.has_oom_kill = true;
        e.oom_kill = 3;
        e.has_memory = true;
        e.memory_max = 67108864;
        e.memory_current = UINT64_MAX; /* not read: left out */
        e.has_latency = true;
        e.latency_ms = 12.5;
        ASSERT_EQ_INT(event_line_oom(&e, &line), 0);
        ASSERT_CONTAINS(line, "\"COMM\": \"python3\", \"SLICE\": \"user-1001.slice\", "
                              "\"TASK_MEMCG\": \"/user.slice/user-1001.slice/session-3.scope\", "
                              "\"OOM_MEMCG\": \"/user.slice/user-1001.slice\", \"OOM_KILL\": 3, "
                              "\"MEMORY_MAX\": 67108864, \"LATENCY_MS\": 12.5}\n");
        free(line);
}

TEST(test_user_lines) {
        UserEventLine e = {
                .kind = USER_EVENT_PENALTY,
                .id = "pPpPpPpPpPpPpPpP",
                .timestamp = T0,
                .uid = 1001,
                .uname = "alice",
                .node = "login1",
                .action = "on",
                .mode = "locked",
                .cpu_cores = 0.3,
                .memory_bytes = 1ULL << 30,
                .has_until = true,
                .until = T0 + 3600,
        };
        char *line = NULL;

        ASSERT_EQ_INT(event_line_user(&e, &line), 0);
        ASSERT_STREQ(line, "{\"TYPE\": \"penaltyBox\", \"ID\": \"pPpPpPpPpPpPpPpP\", \"TIMESTAMP\": \"2025-12-01 00:00:00\", "
                           "\"UID\": \"1001\", \"UNAME\": \"alice\", \"NODE\": \"login1\", \"ACTION\": \"on\", "
                           "\"MODE\": \"locked\", \"CPU\": 0.3, \"MEMORY\": 1073741824, \"UNTIL\": \"2025-12-01 01:00:00\"}\n");
        free(line);
        e = (UserEventLine) { .kind = USER_EVENT_LIMIT, .id = "x", .timestamp = T0, .uid = 7, .uname = "7",
                              .node = "n", .action = "clear" };
        ASSERT_EQ_INT(event_line_user(&e, &line), 0);
        ASSERT_STREQ(line, "{\"TYPE\": \"limit\", \"ID\": \"x\", \"TIMESTAMP\": \"2025-12-01 00:00:00\", \"UID\": \"7\", "
                           "\"UNAME\": \"7\", \"NODE\": \"n\", \"ACTION\": \"clear\"}\n");
        free(line);
        /* MemoryMax=infinity: a string, as a number past 2^63 - 1 is refused by common JSON readers */
        e.memory_bytes = UINT64_MAX;
        ASSERT_EQ_INT(event_line_user(&e, &line), 0);
        ASSERT_CONTAINS(line, "\"ACTION\": \"clear\", \"MEMORY\": \"infinity\"}\n");
        free(line);
        e.action = NULL;
        ASSERT_EQ_INT(event_line_user(&e, &line), -EINVAL);
}

/* Python 2.7's repr(float), which json.dumps writes. */
TEST(test_float_like_python) {
        static const struct {
                double v;
                const char *repr;
        } cases[] = {
                { 50, "50.0" },       { 47.25, "47.25" },          { 0.1, "0.1" },
                { 1.0 / 3 * 100, "33.33333333333333" },            { 100, "100.0" },
                { 0.0001, "0.0001" }, { 0.00001, "1e-05" },         { 0.000015, "1.5e-05" },
                { 1e15, "1000000000000000.0" },                    { 1e16, "1e+16" },
                { 1.5e16, "1.5e+16" }, { 123456.789, "123456.789" }, { -2.5, "-2.5" },
                { 0, "0.0" },         { 1e300, "1e+300" },          { 5e-324, "5e-324" },
                { 12.345678901234567, "12.345678901234567" },
        };
        char buf[64];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ASSERT_EQ_INT(event_line_format_float(cases[i].v, buf, sizeof(buf)), 0);
                ASSERT_STREQ(buf, cases[i].repr);
        }
        ASSERT_EQ_INT(event_line_format_float(NAN, buf, sizeof(buf)), 0);
        ASSERT_STREQ(buf, "0.0"); /* json.dumps would write NaN, which no JSON parser takes */
        ASSERT_EQ_INT(event_line_format_float(33.3, buf, 3), -ENOBUFS);
}

TEST(test_event_id) {
        uint8_t bytes[EVENT_ID_LEN];
        char id[EVENT_ID_LEN + 1];

        for (size_t i = 0; i < EVENT_ID_LEN; i++)
                bytes[i] = (uint8_t) (i * 17 + 250);
        event_id_from_bytes(bytes, id);
        ASSERT_EQ_INT(strlen(id), EVENT_ID_LEN);
        for (size_t i = 0; i < EVENT_ID_LEN; i++)
                ASSERT_TRUE((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
                            (id[i] >= '0' && id[i] <= '9'));
        memset(bytes, 0, sizeof(bytes));
        event_id_from_bytes(bytes, id);
        ASSERT_STREQ(id, "aaaaaaaaaaaaaaaa");
}

TEST(test_json_lines) {
        char *line = NULL;

        setenv("TZ", "UTC", 1);
        ASSERT_EQ_INT(event_line_json("treeApplied", T0, "login1", "{\"seq\":1,\"kind\":\"tree_applied\"}", &line), 0);
        ASSERT_STREQ(line, "{\"TYPE\": \"treeApplied\", \"TIMESTAMP\": \"2025-12-01 00:00:00\", \"NODE\": \"login1\", "
                           "\"seq\":1,\"kind\":\"tree_applied\"}\n");
        free(line);
        ASSERT_EQ_INT(event_line_json("redis", T0, "n", "{}", &line), 0);
        ASSERT_STREQ(line, "{\"TYPE\": \"redis\", \"TIMESTAMP\": \"2025-12-01 00:00:00\", \"NODE\": \"n\"}\n");
        free(line);
        line = NULL;
        ASSERT_EQ_INT(event_line_json("x", T0, "n", "[1]", &line), -EINVAL);
        ASSERT_EQ_INT(event_line_json("x", T0, "n", "{", &line), -EINVAL);
        ASSERT_EQ_INT(event_line_json(NULL, T0, "n", "{}", &line), -EINVAL);
        ASSERT_TRUE(line == NULL);
}

int main(void) {
        RUN(test_json_lines);
        setenv("TZ", "UTC", 1);
        tzset();
        RUN(test_throttle_line);
        RUN(test_oom_line);
        RUN(test_user_lines);
        RUN(test_float_like_python);
        RUN(test_event_id);
        return 0;
}
