/* SPDX-License-Identifier: MIT */
/* The websocket commands: show_account arguments and window, refused requests, get_conf, subscribe and
 * status; events (its arguments, the kept events sent first, the filter returned). */
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "buf.h"
#include "macro.h"
#include "ring.h"
#include "sample-fixtures.h"
#include "show-account.h"
#include "tests.h"

/* ---------------------------------------------------------------------------------------------------- */
/* api_handle */

/* Seconds 985..1001 present except 993 and 997; the window is 300 s. */
static void api_ring(Ring *r) {
        static const char *const paths[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);

        ASSERT_EQ_INT(ring_init(r, 300), 0);
        for (uint64_t sec = 985; sec <= 1001; sec++)
                if (sec != 993 && sec != 997)
                        put_marked(r, set, sec);
}

/* The answer as text: a show_account stream is read one second per part, as a slow client would. */
static EventFilter last_filter;

static char *api_answer(const ApiContext *ctx, const char *text, size_t size, ApiAction *ret_action) {
        AccountStream *stream = (AccountStream *) 1;
        char *answer = api_handle(ctx, text, size, ret_action, &stream, &last_filter);
        Buf b = { 0 };
        int r;

        if (*ret_action == API_ACTION_STATUS) {
                /* the caller makes the status; here a stand-in */
                ASSERT_TRUE(answer == NULL && stream == NULL);
                return strdup("{\"status\": \"made by the caller\"}");
        }
        if (!stream)
                return answer;
        ASSERT_TRUE(answer == NULL);
        do
                r = account_stream_next(stream, ctx->ring, &b, 1);
        while (r > 0);
        ASSERT_EQ_INT(r, 0);
        ASSERT_EQ_INT(account_stream_next(stream, ctx->ring, &b, 1), 0); /* done stays done */
        account_stream_free(stream);
        ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
        return (char *) b.data;
}

/* The whole answer for start..end, parsed. */
static json_t *show_all(const Ring *r, uint64_t start, uint64_t end) {
        char *text = NULL;
        json_t *j;

        ASSERT_EQ_INT(account_stream_all(r, start, end, &text), 0);
        j = json_loads(text, 0, NULL);
        ASSERT_TRUE(json_is_object(j));
        free(text);
        return j;
}

static json_t *call_n(const ApiContext *ctx, const char *text, size_t size, ApiAction *ret_action) {
        ApiAction action = (ApiAction) 77;
        char *answer = api_answer(ctx, text, size, &action);
        json_error_t err;
        json_t *j;

        ASSERT_TRUE(answer != NULL);
        j = json_loads(answer, 0, &err); /* every answer is one JSON object */
        if (!j)
                fprintf(stderr, "answer is not JSON: %s\n", answer);
        ASSERT_TRUE(json_is_object(j));
        free(answer);
        ASSERT_TRUE(action == API_ACTION_NONE || action == API_ACTION_SUBSCRIBE || action == API_ACTION_UNSUBSCRIBE ||
                    action == API_ACTION_STATUS || action == API_ACTION_EVENTS ||
                    action == API_ACTION_UNSUBSCRIBE_EVENTS);
        if (ret_action)
                *ret_action = action;
        return j;
}

static json_t *call(const ApiContext *ctx, const char *text, ApiAction *ret_action) {
        return call_n(ctx, text, strlen(text), ret_action);
}

/* The answer is {"error": "..."}; when mention is given, the message names it (the offending argument). */
static void assert_error_mentions(const ApiContext *ctx, const char *text, const char *mention) {
        ApiAction action;
        json_t *j = call(ctx, text, &action);
        const char *msg = json_string_value(json_object_get(j, "error"));

        if (!msg || json_object_size(j) != 1) {
                char *d = json_dumps(j, JSON_COMPACT);
                fprintf(stderr, "request %s: expected {\"error\": ...}, got %s\n", text, d ? d : "(null)");
                abort();
        }
        ASSERT_TRUE(msg[0] != 0);
        if (mention)
                ASSERT_CONTAINS(msg, mention);
        ASSERT_EQ_INT(action, API_ACTION_NONE);
        json_decref(j);
}

static void assert_error(const ApiContext *ctx, const char *text) {
        assert_error_mentions(ctx, text, NULL);
}

/* The answer holds exactly the seconds lo..hi that the ring has, each with its own record. */
static void assert_slots(const json_t *j, const Ring *r, uint64_t lo, uint64_t hi) {
        size_t expected = 0;

        for (uint64_t sec = lo; sec <= hi; sec++) {
                char key[32];
                const json_t *rec;

                snprintf(key, sizeof(key), "%" PRIu64, sec);
                rec = json_object_get(j, key);
                if (!ring_get(r, sec)) {
                        ASSERT_TRUE(rec == NULL);
                        continue;
                }
                expected++;
                if (!rec) {
                        fprintf(stderr, "second %s missing from the answer\n", key);
                        abort();
                }
                ASSERT_EQ_U64((uint64_t) json_integer_value(
                                      json_object_get(json_object_get(json_object_get(rec, "cpu"), "value"), "usage")),
                              sec * 1000);
        }
        if (json_object_size(j) != expected) {
                char *d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
                fprintf(stderr, "answer has %zu keys, expected %zu (%" PRIu64 "..%" PRIu64 "): %.300s\n",
                        json_object_size(j), expected, lo, hi, d ? d : "");
                abort();
        }
}

TEST(test_api_show_account_defaults) {
        Ring r;
        ApiContext ctx = { .now_sec = 1000 };
        json_t *j;

        api_ring(&r);
        ctx.ring = &r;
        j = call(&ctx, "{\"cmd\": \"show_account\"}", NULL);
        ASSERT_EQ_INT(json_object_size(j), 8); /* 991..1000 without 993 and 997 */
        assert_slots(j, &r, 991, 1000);
        ASSERT_TRUE(json_object_get(j, "990") == NULL && json_object_get(j, "1001") == NULL);
        ASSERT_TRUE(json_object_get(j, "993") == NULL);
        json_decref(j);

        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {}}", NULL);
        assert_slots(j, &r, 991, 1000);
        json_decref(j);
        ring_done(&r);
}

TEST(test_api_show_account_explicit_arguments) {
        Ring r;
        ApiContext ctx = { .now_sec = 1000 };
        json_t *j;

        api_ring(&r);
        ctx.ring = &r;
        /* the README's request: the last two seconds */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 2}}", NULL);
        assert_slots(j, &r, 999, 1000);
        ASSERT_EQ_INT(json_object_size(j), 2);
        json_decref(j);
        /* end_slot alone: ten seconds up to it */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"end_slot\": 995}}", NULL);
        assert_slots(j, &r, 986, 995);
        json_decref(j);
        /* end_slot after now is served from what is there */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"end_slot\": 1001, \"nr_slot\": 1}}", NULL);
        assert_slots(j, &r, 1001, 1001);
        ASSERT_EQ_INT(json_object_size(j), 1);
        json_decref(j);
        /* start and end: nr_slot is only the default for start */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 985, \"end_slot\": 990}}", NULL);
        assert_slots(j, &r, 985, 990);
        ASSERT_EQ_INT(json_object_size(j), 6);
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 995, \"nr_slot\": 2}}", NULL);
        assert_slots(j, &r, 995, 1000);
        json_decref(j);
        /* start only: up to now */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 998}}", NULL);
        assert_slots(j, &r, 998, 1000);
        ASSERT_EQ_INT(json_object_size(j), 3);
        json_decref(j);
        /* start == end */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 994, \"end_slot\": 994}}", NULL);
        assert_slots(j, &r, 994, 994);
        ASSERT_EQ_INT(json_object_size(j), 1);
        json_decref(j);
        /* nothing there: an empty object, not an error */
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 993, \"end_slot\": 993}}", NULL);
        assert_json_eq(j, "{}");
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"end_slot\": 500}}", NULL);
        assert_json_eq(j, "{}");
        json_decref(j);
        ring_done(&r);
}

TEST(test_api_show_account_near_epoch) {
        static const char *const paths[] = { "" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(1, paths, NULL);
        Ring r;
        ApiContext ctx = { .now_sec = 5 };
        json_t *j;

        ASSERT_EQ_INT(ring_init(&r, 20), 0);
        for (uint64_t sec = 1; sec <= 5; sec++)
                put_marked(&r, set, sec);
        ctx.ring = &r;
        /* the default start would be -4: clamped, second 0 never exists */
        j = call(&ctx, "{\"cmd\": \"show_account\"}", NULL);
        assert_slots(j, &r, 1, 5);
        ASSERT_EQ_INT(json_object_size(j), 5);
        json_decref(j);
        ring_done(&r);
}

TEST(test_api_show_account_start_after_end) {
        Ring r;
        ApiContext ctx = { .now_sec = 1000 };

        api_ring(&r);
        ctx.ring = &r;
        assert_error_mentions(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 996, \"end_slot\": 995}}",
                              "start_slot");
        assert_error_mentions(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 1001}}", /* end = now */
                              "start_slot");
        ring_done(&r);
}

TEST(test_api_show_account_nr_slot_bounds) {
        Ring r;
        ApiContext ctx = { .now_sec = 1000 };
        char req[128];
        json_t *j;

        api_ring(&r);
        ctx.ring = &r;
        assert_error_mentions(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 0}}", "nr_slot");
        snprintf(req, sizeof(req), "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": %d}}", API_SLOTS_MAX + 1);
        assert_error_mentions(&ctx, req, "nr_slot");
        assert_error_mentions(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 9223372036854775807}}",
                              "nr_slot");
        /* an explicit start may not widen the range past the limit either */
        snprintf(req, sizeof(req), "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": %d, \"end_slot\": %d}}",
                 1, API_SLOTS_MAX + 1);
        assert_error(&ctx, req);
        /* the limit itself is fine */
        snprintf(req, sizeof(req), "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": %d}}", API_SLOTS_MAX);
        j = call(&ctx, req, NULL);
        assert_slots(j, &r, 1, 1000);
        json_decref(j);
        snprintf(req, sizeof(req), "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": %d, \"end_slot\": %d}}",
                 1, API_SLOTS_MAX);
        j = call(&ctx, req, NULL);
        assert_slots(j, &r, 1, API_SLOTS_MAX);
        json_decref(j);
        ring_done(&r);
}

TEST(test_api_show_account_bad_argument_types) {
        Ring r;
        ApiContext ctx = { .now_sec = 1000 };
        static const char *const names[] = { "end_slot", "nr_slot", "start_slot" };
        static const char *const bad[] = { "-1", "-9223372036854775808", "\"10\"", "\"\"", "10.0", "1e3", "true",
                                           "[10]", "{}" };

        api_ring(&r);
        ctx.ring = &r;
        for (size_t n = 0; n < ELEMENTSOF(names); n++)
                for (size_t b = 0; b < ELEMENTSOF(bad); b++) {
                        char req[160];

                        snprintf(req, sizeof(req), "{\"cmd\": \"show_account\", \"args\": {\"%s\": %s}}", names[n],
                                 bad[b]);
                        assert_error_mentions(&ctx, req, names[n]);
                }
        ring_done(&r);
}

/* Every request in reqs gets an {"error": ...} answer and no action (one fresh ring per table). */
static void assert_errors(const char *const *reqs, size_t n) {
        ApiContext ctx = { .now_sec = 1000 };
        Ring r;

        api_ring(&r);
        ctx.ring = &r;
        for (size_t i = 0; i < n; i++)
                assert_error(&ctx, reqs[i]);
        ring_done(&r);
}

TEST(test_api_bad_json) {
        static const char *const reqs[] = {
                "",
                "{",
                "{\"cmd\": \"show_account\"",
                "show_account",
                "{\"cmd\": 'status'}",
                "{\"cmd\": \"status\"} trailing",
                "\xff\xfe{}",
                /* ambiguous requests are refused, not guessed at */
                "{\"cmd\": \"status\", \"cmd\": \"show_account\"}",
        };

        assert_errors(reqs, ELEMENTSOF(reqs));
}

TEST(test_api_non_object_request) {
        static const char *const reqs[] = {
                "[]",
                "[\"show_account\"]",
                "\"show_account\"",
                "42",
                "null",
        };

        assert_errors(reqs, ELEMENTSOF(reqs));
}

TEST(test_api_missing_or_bad_cmd) {
        static const char *const reqs[] = {
                "{}",
                "{\"args\": {\"nr_slot\": 2}}",
                "{\"cmd\": 5}",
                "{\"cmd\": null}",
                "{\"cmd\": [\"show_account\"]}",
        };

        assert_errors(reqs, ELEMENTSOF(reqs));
}

TEST(test_api_unknown_cmd) {
        static const char *const reqs[] = {
                "{\"cmd\": \"drop_all\"}",
                "{\"cmd\": \"\"}",
                "{\"cmd\": \"SHOW_ACCOUNT\"}",
                "{\"cmd\": \"get_cgexec_arg\"}",
        };

        assert_errors(reqs, ELEMENTSOF(reqs));
}

TEST(test_api_args_not_object) {
        static const char *const reqs[] = {
                "{\"cmd\": \"show_account\", \"args\": [1, 2]}",
                "{\"cmd\": \"show_account\", \"args\": \"nr_slot=2\"}",
                "{\"cmd\": \"show_account\", \"args\": 2}",
                "{\"cmd\": \"subscribe\", \"args\": [1]}", /* no action either */
                "{\"cmd\": \"get_conf\", \"args\": true}",
        };

        assert_errors(reqs, ELEMENTSOF(reqs));
}

TEST(test_api_error_message_is_escaped_json) {
        ApiContext ctx = { .now_sec = 1000 };
        Ring r;
        ApiAction action;
        char *answer;

        api_ring(&r);
        ctx.ring = &r;
        answer = api_answer(&ctx, "{\"cmd\": \"x\"}", 12, &action);
        ASSERT_TRUE(answer != NULL);
        ASSERT_TRUE(strncmp(answer, "{\"error\":", 9) == 0);
        ASSERT_TRUE(strchr(answer, '\n') == NULL); /* one websocket text frame, one line */
        free(answer);
        ring_done(&r);
}

TEST(test_api_size_is_honoured) {
        ApiContext ctx = { .now_sec = 1000 };
        ApiAction action;
        static const char req[] = "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 1}}";
        Ring r;
        char *buf;
        json_t *j;

        api_ring(&r);
        ctx.ring = &r;
        /* exactly the bytes of the frame, no NUL after them (ASan catches a read past the end) */
        buf = malloc(sizeof(req) - 1);
        ASSERT_TRUE(buf != NULL);
        memcpy(buf, req, sizeof(req) - 1);
        j = call_n(&ctx, buf, sizeof(req) - 1, NULL);
        assert_slots(j, &r, 1000, 1000);
        json_decref(j);
        free(buf);
        /* bytes after size are not part of the request */
        j = call_n(&ctx, "{\"cmd\": \"status\"}{{{garbage", 17, &action);
        ASSERT_EQ_INT(action, API_ACTION_STATUS);
        json_decref(j);
        ring_done(&r);
}

TEST(test_api_truncated_by_size_is_an_error) {
        ApiContext ctx = { .now_sec = 1000 };
        ApiAction action;
        json_t *j;

        j = call_n(&ctx, "{\"cmd\": \"status\"}", 10, &action);
        ASSERT_TRUE(json_is_string(json_object_get(j, "error")));
        ASSERT_EQ_INT(json_object_size(j), 1);
        ASSERT_EQ_INT(action, API_ACTION_NONE);
        json_decref(j);
}

TEST(test_api_get_conf) {
        ApiContext ctx = { .now_sec = 1000, .conf_version = 7 };
        json_t *tree = json_loads("{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": 1024}}}}}", 0, NULL);
        ApiAction action;
        json_t *j;

        ASSERT_TRUE(tree != NULL);
        ctx.conf = tree;
        j = call(&ctx, "{\"cmd\": \"get_conf\"}", &action);
        assert_json_eq(j, "{\"version\": 7, \"value\": {\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\":"
                          " {\"share\": 1024}}}}}}");
        ASSERT_EQ_INT(action, API_ACTION_NONE);
        json_decref(j);
        ASSERT_EQ_INT(tree->refcount, 1); /* borrowed, not kept */
        j = call(&ctx, "{\"cmd\": \"get_conf\", \"args\": {}}", NULL);
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "version")), 7);
        json_decref(j);
        /* with a host overlay: the versions of both nodes (issue 17) */
        ctx.conf_versions = json_pack("{s:i, s:i}", "shared", 7, "overlay", 3);
        j = call(&ctx, "{\"cmd\": \"get_conf\"}", NULL);
        assert_json_eq(json_object_get(j, "versions"), "{\"shared\": 7, \"overlay\": 3}");
        json_decref(j);
        json_decref((json_t *) ctx.conf_versions);
        json_decref(tree);
}

TEST(test_api_get_conf_without_tree) {
        ApiContext ctx = { .now_sec = 1000, .conf = NULL, .conf_version = 0 };
        json_t *j = call(&ctx, "{\"cmd\": \"get_conf\"}", NULL);

        assert_json_eq(j, "{\"version\": 0, \"value\": null}");
        ASSERT_TRUE(json_is_null(json_object_get(j, "value")));
        json_decref(j);
}

TEST(test_api_subscribe_unsubscribe_set_action) {
        ApiContext ctx = { .now_sec = 1000 };
        ApiAction action;
        json_t *j;

        j = call(&ctx, "{\"cmd\": \"subscribe\"}", &action);
        ASSERT_EQ_INT(action, API_ACTION_SUBSCRIBE);
        ASSERT_TRUE(json_object_get(j, "error") == NULL);
        assert_json_eq(j, "{\"subscribed\": true}");
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"unsubscribe\", \"args\": {}}", &action);
        ASSERT_EQ_INT(action, API_ACTION_UNSUBSCRIBE);
        assert_json_eq(j, "{\"subscribed\": false}");
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"get_conf\"}", &action); /* every other answer resets it */
        ASSERT_EQ_INT(action, API_ACTION_NONE);
        json_decref(j);
}

TEST(test_api_status_is_left_to_the_caller) {
        ApiContext ctx = { .now_sec = 1000 };
        ApiAction action;
        json_t *j;

        j = call(&ctx, "{\"cmd\": \"status\"}", &action);
        ASSERT_EQ_INT(action, API_ACTION_STATUS);
        assert_json_eq(j, "{\"status\": \"made by the caller\"}");
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"status\", \"args\": {}}", &action);
        ASSERT_EQ_INT(action, API_ACTION_STATUS);
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"get_conf\"}", &action); /* and no other command */
        ASSERT_EQ_INT(action, API_ACTION_NONE);
        json_decref(j);
}

/* ---------------------------------------------------------------------------------------------------- */
/* api_show_account: a full window */

TEST(test_api_show_account_300_slots_of_10_slices) {
        static const char *const paths[] = { "", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8" };
        _cleanup_(slice_set_unrefp) SliceSet *set = make_set(10, paths, NULL);
        ApiContext ctx = { .now_sec = 10300 };
        Ring r;
        json_t *j;

        ASSERT_EQ_INT(ring_init(&r, 300), 0);
        for (uint64_t sec = 10001; sec <= 10300; sec++)
                put_marked(&r, set, sec);
        ASSERT_EQ_INT(set->n_ref, 302); /* ours, 300 slots, the last values */

        j = show_all(&r, 10001, 10300);
        ASSERT_EQ_INT(json_object_size(j), 300);
        for (uint64_t sec = 10001; sec <= 10300; sec++) {
                char key[32];
                json_t *cpu;

                snprintf(key, sizeof(key), "%" PRIu64, sec);
                cpu = json_object_get(json_object_get(j, key), "cpu");
                ASSERT_EQ_INT(json_object_size(json_object_get(cpu, "sub_cgroup")), 9);
                ASSERT_EQ_U64((uint64_t) json_integer_value(json_object_get(
                                      json_object_get(json_object_get(json_object_get(cpu, "sub_cgroup"), "s8"), "value"),
                                      "usage")),
                              sec * 1000 + 9);
        }
        json_decref(j);

        /* the same through the websocket command */
        ctx.ring = &r;
        j = call(&ctx, "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 300}}", NULL);
        ASSERT_EQ_INT(json_object_size(j), 300);
        assert_slots(j, &r, 10001, 10300);
        json_decref(j);
        /* one more second than the window: still 300 */
        j = show_all(&r, 10000, 10301);
        ASSERT_EQ_INT(json_object_size(j), 300);
        json_decref(j);
        ring_done(&r);
}

/* Events 1..12 pushed into a ring of 10 (1 and 2 gone): odd ones are uid 1001's throttle starts on
 * user-1001.slice, even ones limits of uid 1002. */
static void event_ring_fill(EventRing *r) {
        ASSERT_EQ_INT(event_ring_init(r, 10), 0);
        for (uint64_t seq = 1; seq <= 12; seq++) {
                char text[64];
                bool odd = seq % 2;

                snprintf(text, sizeof(text), "{\"seq\":%" PRIu64 "}", seq);
                ASSERT_EQ_INT(event_ring_push(r, odd ? EVENT_THROTTLE_START : EVENT_LIMIT, true, odd ? 1001 : 1002,
                                              odd ? "user-1001.slice" : "user-1002.slice", text, strlen(text)), 0);
        }
}

/* The seqs of the answer's "events", as "3,4,5". */
static void assert_event_seqs(const json_t *j, const char *expected) {
        char got[256] = "";
        const json_t *v;
        size_t i;

        ASSERT_TRUE(json_is_array(json_object_get(j, "events")));
        json_array_foreach(json_object_get(j, "events"), i, v)
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
                         json_integer_value(json_object_get(v, "seq")));
        ASSERT_STREQ(got, expected);
}

TEST(test_api_events_backlog_and_filter) {
        EventRing r;
        ApiContext ctx = { .now_sec = 1000, .events = &r };
        ApiAction action;
        json_t *j;

        event_ring_fill(&r);
        /* default: the last API_EVENTS_LAST_DEFAULT kept, all kinds */
        j = call(&ctx, "{\"cmd\": \"events\"}", &action);
        ASSERT_EQ_INT(action, API_ACTION_EVENTS);
        ASSERT_TRUE(json_is_true(json_object_get(j, "events_subscribed")));
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "last_seq")), 12);
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "lost")), 0);
        assert_event_seqs(j, "3,4,5,6,7,8,9,10,11,12");
        ASSERT_EQ_INT(last_filter.kinds, 0);
        ASSERT_TRUE(!last_filter.has_uid && !last_filter.slice[0]);
        json_decref(j);
        /* since, beside "cmd" or in "args" */
        j = call(&ctx, "{\"cmd\": \"events\", \"since\": 9}", &action);
        assert_event_seqs(j, "10,11,12");
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"events\", \"args\": {\"since\": 12}}", &action);
        assert_event_seqs(j, "");
        ASSERT_EQ_INT(action, API_ACTION_EVENTS);
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"events\", \"since\": 99}", &action); /* from the future: nothing */
        assert_event_seqs(j, "");
        json_decref(j);
        /* since 0: 1 and 2 are gone, and said so */
        j = call(&ctx, "{\"cmd\": \"events\", \"since\": 0}", &action);
        assert_event_seqs(j, "3,4,5,6,7,8,9,10,11,12");
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "lost")), 2);
        json_decref(j);
        /* last N matching ones, filtered by kind, uid, slice */
        j = call(&ctx, "{\"cmd\": \"events\", \"last\": 2, \"kinds\": [\"throttle_start\"]}", &action);
        assert_event_seqs(j, "9,11");
        ASSERT_EQ_INT(last_filter.kinds, 1u << EVENT_THROTTLE_START);
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"events\", \"since\": 5, \"uid\": 1002}", &action);
        assert_event_seqs(j, "6,8,10,12");
        ASSERT_TRUE(last_filter.has_uid && last_filter.uid == 1002);
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"events\", \"last\": 0, \"slice\": \"user-1001.slice\"}", &action);
        assert_event_seqs(j, "");
        ASSERT_STREQ(last_filter.slice, "user-1001.slice");
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"events\", \"kinds\": [\"limit\", \"oom\"], \"slice\": \"user-1001.slice\"}",
                 &action);
        assert_event_seqs(j, "");
        json_decref(j);
        j = call(&ctx, "{\"cmd\": \"unsubscribe_events\"}", &action);
        ASSERT_EQ_INT(action, API_ACTION_UNSUBSCRIBE_EVENTS);
        assert_json_eq(j, "{\"events_subscribed\": false}");
        json_decref(j);
        event_ring_done(&r);

        /* no ring (no event stream): subscribing works, with nothing kept */
        ctx.events = NULL;
        j = call(&ctx, "{\"cmd\": \"events\", \"since\": 3}", &action);
        ASSERT_EQ_INT(action, API_ACTION_EVENTS);
        assert_event_seqs(j, "");
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "last_seq")), 0);
        json_decref(j);
}

TEST(test_api_events_bad_arguments_subscribe_nothing) {
        ApiContext ctx = { .now_sec = 1000 };

        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"since\": -1}", "since");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"since\": \"5\"}", "since");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"last\": 1001}", "last");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"uid\": 4294967296}", "uid");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"uid\": 1.5}", "uid");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"kinds\": []}", "kinds");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"kinds\": \"oom\"}", "kinds");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"kinds\": [\"oom\", 3]}", "kinds");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"kinds\": [\"throttle\"]}", "unknown kind");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"slice\": \"\"}", "slice");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"slice\": 7}", "slice");
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"slice\": \"a\\u0000b.slice\"}", NULL); /* jansson: no NUL */
        assert_error_mentions(&ctx, "{\"cmd\": \"events\", \"args\": {\"last\": true}}", "last");
}

int main(void) {
        RUN(test_api_show_account_defaults);
        RUN(test_api_show_account_explicit_arguments);
        RUN(test_api_show_account_near_epoch);
        RUN(test_api_show_account_start_after_end);
        RUN(test_api_show_account_nr_slot_bounds);
        RUN(test_api_show_account_bad_argument_types);
        RUN(test_api_bad_json);
        RUN(test_api_non_object_request);
        RUN(test_api_missing_or_bad_cmd);
        RUN(test_api_unknown_cmd);
        RUN(test_api_args_not_object);
        RUN(test_api_error_message_is_escaped_json);
        RUN(test_api_size_is_honoured);
        RUN(test_api_truncated_by_size_is_an_error);
        RUN(test_api_get_conf);
        RUN(test_api_get_conf_without_tree);
        RUN(test_api_subscribe_unsubscribe_set_action);
        RUN(test_api_status_is_left_to_the_caller);
        RUN(test_api_events_backlog_and_filter);
        RUN(test_api_events_bad_arguments_subscribe_nothing);
        RUN(test_api_show_account_300_slots_of_10_slices);
        return 0;
}
