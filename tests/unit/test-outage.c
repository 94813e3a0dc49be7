/* SPDX-License-Identifier: MIT */
/* Outage bookkeeping shared by Redis and ZooKeeper. The requirement: an outage is told once on the way in
 * (warning, with the cause) and once on the way out (info, with how long it lasted), never per retry; status
 * shows since-when and the latest cause while down, and after recovery only the last outage as history. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "outage.h"
#include "tests.h"

#define T0 (1796058123 * USEC_PER_SEC) /* 2026-11-30 17:02:03 UTC */

TEST(test_way_in_once_way_out_once) {
        Outage o;
        char msg[600];

        outage_init(&o);
        ASSERT_EQ_INT(o.state, OUTAGE_STATE_CONNECTING);
        ASSERT_EQ_INT(outage_down(&o, T0, "cannot connect: Connection refused"), OUTAGE_BEGAN);
        ASSERT_EQ_INT(outage_log_level(OUTAGE_BEGAN), LOG_WARNING);
        outage_message(&o, OUTAGE_BEGAN, "Redis at 127.0.0.1:6379", "reconnecting", msg, sizeof(msg));
        ASSERT_STREQ(msg, "Redis at 127.0.0.1:6379 down: cannot connect: Connection refused; reconnecting.");
        /* Every retry fails the same way: nothing to tell, since-when stays. */
        for (int i = 1; i <= 100; i++)
                ASSERT_EQ_INT(outage_down(&o, T0 + (usec_t) i * USEC_PER_SEC, "cannot connect: Connection refused"),
                              OUTAGE_UNCHANGED);
        ASSERT_EQ_U64(o.since_usec, T0);
        ASSERT_EQ_U64(o.n_outages, 1);
        /* Another cause: shown by status, in the journal at debug only. */
        ASSERT_EQ_INT(outage_down(&o, T0 + 101 * USEC_PER_SEC, "SET refused: LOADING Redis is loading"),
                      OUTAGE_CAUSE_CHANGED);
        ASSERT_EQ_INT(outage_log_level(OUTAGE_CAUSE_CHANGED), LOG_DEBUG);
        ASSERT_STREQ(o.cause, "SET refused: LOADING Redis is loading");
        ASSERT_EQ_U64(o.since_usec, T0);
        outage_message(&o, OUTAGE_CAUSE_CHANGED, "Redis", NULL, msg, sizeof(msg));
        ASSERT_STREQ(msg, "Redis still down, now: SET refused: LOADING Redis is loading.");

        ASSERT_EQ_INT(outage_up(&o, T0 + 63 * USEC_PER_SEC + 500 * USEC_PER_MSEC), OUTAGE_ENDED);
        ASSERT_EQ_INT(outage_log_level(OUTAGE_ENDED), LOG_INFO);
        ASSERT_EQ_INT(o.state, OUTAGE_STATE_UP);
        ASSERT_STREQ(o.cause, "");
        ASSERT_TRUE(o.have_last);
        ASSERT_EQ_U64(o.last_since_usec, T0);
        ASSERT_STREQ(o.last_cause, "SET refused: LOADING Redis is loading");
        outage_message(&o, OUTAGE_ENDED, "Redis at 127.0.0.1:6379", "ignored", msg, sizeof(msg));
        ASSERT_STREQ(msg, "Redis at 127.0.0.1:6379 back after 1min 3s (down since 17:02:03: SET refused: LOADING "
                          "Redis is loading).");
        /* Staying up is nothing to tell either. */
        ASSERT_EQ_INT(outage_up(&o, T0 + 70 * USEC_PER_SEC), OUTAGE_UNCHANGED);

        /* The next outage keeps the previous one as history until it ends itself. */
        ASSERT_EQ_INT(outage_down(&o, T0 + 100 * USEC_PER_SEC, NULL), OUTAGE_BEGAN);
        ASSERT_STREQ(o.cause, "unknown cause");
        ASSERT_EQ_U64(o.n_outages, 2);
        ASSERT_EQ_U64(o.last_since_usec, T0);
        ASSERT_EQ_INT(outage_up(&o, T0 + 110 * USEC_PER_SEC), OUTAGE_ENDED);
        ASSERT_EQ_U64(o.last_since_usec, T0 + 100 * USEC_PER_SEC);
        ASSERT_EQ_U64(o.last_until_usec, T0 + 110 * USEC_PER_SEC);
}

TEST(test_first_up_and_clock_stepped_back) {
        Outage o;
        char msg[100];

        outage_init(&o);
        ASSERT_EQ_INT(outage_up(&o, T0), OUTAGE_FIRST_UP);
        ASSERT_EQ_INT(outage_log_level(OUTAGE_FIRST_UP), LOG_INFO);
        outage_message(&o, OUTAGE_FIRST_UP, "ZooKeeper at 127.0.0.1:2181", NULL, msg, sizeof(msg));
        ASSERT_STREQ(msg, "ZooKeeper at 127.0.0.1:2181 up.");
        ASSERT_TRUE(!o.have_last);
        ASSERT_EQ_INT(outage_down(&o, T0 + 10 * USEC_PER_SEC, "connection lost"), OUTAGE_BEGAN);
        /* The clock stepped back during the outage: it lasted 0, not 584 942 years. */
        ASSERT_EQ_INT(outage_up(&o, T0), OUTAGE_ENDED);
        ASSERT_EQ_U64(o.last_until_usec - o.last_since_usec, 0);
        outage_message(&o, OUTAGE_ENDED, "ZooKeeper", NULL, msg, sizeof(msg));
        ASSERT_STREQ(msg, "ZooKeeper back after 0ms (down since 17:02:13: connection lost).");
}

TEST(test_long_cause_is_cut_on_a_character) {
        char cause[OUTAGE_CAUSE_MAX * 2 + 1];
        Outage o;

        for (size_t i = 0; i + 2 < sizeof(cause); i += 2)
                memcpy(cause + i, "\xc3\xa9", 3); /* "é" and the terminator */
        outage_init(&o);
        ASSERT_EQ_INT(outage_down(&o, T0, cause), OUTAGE_BEGAN);
        /* 255 bytes would split an "é": 254 are kept, the last character whole. */
        ASSERT_EQ_INT(strlen(o.cause), OUTAGE_CAUSE_MAX - 2);
        ASSERT_TRUE(strncmp(o.cause, cause, strlen(o.cause)) == 0);
        ASSERT_STREQ(o.cause + strlen(o.cause) - 2, "\xc3\xa9");
        /* The same long cause again is the same cause. */
        ASSERT_EQ_INT(outage_down(&o, T0 + 1, cause), OUTAGE_UNCHANGED);
}

TEST(test_status_text_and_json) {
        Outage o;
        char text[400];
        json_t *j = json_object();
        const json_t *now, *last;

        outage_init(&o);
        outage_status_text(&o, "Redis", text, sizeof(text));
        ASSERT_STREQ(text, "");
        ASSERT_EQ_INT(outage_to_json(&o, j), 0);
        ASSERT_STREQ(json_string_value(json_object_get(j, "state")), "connecting");
        ASSERT_TRUE(json_is_null(json_object_get(j, "outage")) && json_is_null(json_object_get(j, "last_outage")));

        outage_down(&o, T0, "cannot connect: Connection refused");
        outage_status_text(&o, "Redis", text, sizeof(text));
        ASSERT_STREQ(text, "Redis down since 17:02:03: cannot connect: Connection refused");
        ASSERT_EQ_INT(outage_to_json(&o, j), 0);
        ASSERT_STREQ(json_string_value(json_object_get(j, "state")), "down");
        now = json_object_get(j, "outage");
        ASSERT_EQ_U64((usec_t) json_integer_value(json_object_get(now, "since_usec")), T0);
        ASSERT_STREQ(json_string_value(json_object_get(now, "cause")), "cannot connect: Connection refused");
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "outages")), 1);

        outage_up(&o, T0 + 5 * USEC_PER_SEC);
        outage_status_text(&o, "Redis", text, sizeof(text));
        ASSERT_STREQ(text, "");
        ASSERT_EQ_INT(outage_to_json(&o, j), 0);
        ASSERT_STREQ(json_string_value(json_object_get(j, "state")), "up");
        ASSERT_TRUE(json_is_null(json_object_get(j, "outage")));
        last = json_object_get(j, "last_outage");
        ASSERT_EQ_U64((usec_t) json_integer_value(json_object_get(last, "since_usec")), T0);
        ASSERT_EQ_U64((usec_t) json_integer_value(json_object_get(last, "until_usec")), T0 + 5 * USEC_PER_SEC);
        ASSERT_STREQ(json_string_value(json_object_get(last, "cause")), "cannot connect: Connection refused");
        json_decref(j);
}

TEST(test_formatting) {
        static const struct {
                usec_t span;
                const char *text;
        } spans[] = {
                { 0, "0ms" },
                { 850 * USEC_PER_MSEC, "850ms" },
                { 4200 * USEC_PER_MSEC, "4.2s" },
                { 59 * USEC_PER_SEC, "59s" },
                { 63 * USEC_PER_SEC, "1min 3s" },
                { (2 * 3600 + 5 * 60 + 7) * USEC_PER_SEC, "2h 5min" },
                { (3 * 86400 + 4 * 3600) * USEC_PER_SEC, "3d 4h" },
        };
        char buf[64];

        for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
                outage_format_timespan(spans[i].span, buf, sizeof(buf));
                ASSERT_STREQ(buf, spans[i].text);
        }
        outage_format_time(T0, /* with_date= */ true, buf, sizeof(buf));
        ASSERT_STREQ(buf, "2026-11-30 17:02:03 UTC");
        outage_format_time(T0, /* with_date= */ false, buf, sizeof(buf));
        ASSERT_STREQ(buf, "17:02:03");
        ASSERT_STREQ(outage_state_to_string(_OUTAGE_STATE_MAX), "?");
}

int main(void) {
        /* Times in messages are local: pin the zone. */
        setenv("TZ", "UTC", 1);
        tzset();
        RUN(test_way_in_once_way_out_once);
        RUN(test_first_up_and_clock_stepped_back);
        RUN(test_long_cause_is_cut_on_a_character);
        RUN(test_status_text_and_json);
        RUN(test_formatting);
        return 0;
}
