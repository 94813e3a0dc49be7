/* SPDX-License-Identifier: MIT */
/* An event's JSON (event.h) and MESSAGE_IDs; fair share's events converted (fair-event.h): the kind, the
 * fields, the readable message, cgroup_py's event-log line with its CPU % of the machine, and a throttle
 * event's start and end sharing their ID. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon-event.h"
#include "event.h"
#include "fair-event.h"
#include "macro.h"
#include "oom-event.h"
#include "strv.h"
#include "tests.h"

#define T0 ((usec_t) 1764547200 * USEC_PER_SEC) /* 2025-12-01 00:00:00 UTC */

static const uint8_t salt[EVENT_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t rnd[EVENT_ID_LEN] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static json_t *parse(const char *text) {
        json_error_t err;
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);

        if (!j)
                fprintf(stderr, "not JSON (%s): %s\n", err.text, text);
        ASSERT_TRUE(json_is_object(j));
        return j;
}

/* The object's keys in order, "a,b,c". */
static void assert_keys(const json_t *o, const char *expected) {
        char got[512] = "";
        const char *key;
        json_t *v;

        json_object_foreach((json_t *) o, key, v)
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", got[0] ? "," : "", key);
        ASSERT_STREQ(got, expected);
}

TEST(test_message_ids_fixed_distinct_hex) {
        for (int k = 0; k < _EVENT_KIND_MAX; k++) {
                const char *id = event_kind_message_id((EventKind) k);

                ASSERT_TRUE(id && strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32);
                for (int o = 0; o < k; o++)
                        ASSERT_TRUE(!streq(id, event_kind_message_id((EventKind) o)));
        }
        ASSERT_STREQ(event_kind_message_id(EVENT_THROTTLE_START), "6a6b4a0ca5674399832c683b2e108cb0");
        ASSERT_TRUE(event_kind_message_id(_EVENT_KIND_MAX) == NULL);
}

TEST(test_event_json) {
        json_t *fields = json_pack("{s:s, s:i, s:s}", "id", "abc", "cap_usec", 5, "kind", "not this one");
        Event e = { .kind = EVENT_THROTTLE_START, .wall = T0 + 1234567, .has_uid = true, .uid = 1001,
                    .user = "al\"ice", .slice = "user-1001.slice", .fields = fields };
        char *text = NULL, time[32];
        json_t *j;

        event_format_time(T0 + 1234567, time);
        ASSERT_STREQ(time, "2025-12-01T00:00:01.234567Z");
        ASSERT_EQ_INT(event_to_json(&e, 42, "login1", &text), 0);
        j = parse(text);
        assert_keys(j, "seq,kind,time,wall_usec,node,uid,user,slice,id,cap_usec");
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "seq")), 42);
        ASSERT_STREQ(json_string_value(json_object_get(j, "kind")), "throttle_start");
        ASSERT_STREQ(json_string_value(json_object_get(j, "time")), "2025-12-01T00:00:01.234567Z");
        ASSERT_STREQ(json_string_value(json_object_get(j, "user")), "al\"ice");
        json_decref(j);
        free(text);

        /* a user without a name: null; not about a user or a slice: neither key */
        e.user = NULL;
        ASSERT_EQ_INT(event_to_json(&e, 1, "n", &text), 0);
        j = parse(text);
        ASSERT_TRUE(json_is_null(json_object_get(j, "user")));
        json_decref(j);
        free(text);
        e = (Event) { .kind = EVENT_TREE_APPLIED, .wall = T0 };
        ASSERT_EQ_INT(event_to_json(&e, 2, "n", &text), 0);
        j = parse(text);
        assert_keys(j, "seq,kind,time,wall_usec,node");
        json_decref(j);
        free(text);

        /* too big, or no kind: refused */
        json_object_set_new(fields, "big", json_string(""));
        {
                char *big = malloc(EVENT_TEXT_MAX + 1);

                memset(big, 'x', EVENT_TEXT_MAX);
                big[EVENT_TEXT_MAX] = 0;
                json_object_set_new(fields, "big", json_string(big));
                free(big);
        }
        e.fields = fields;
        ASSERT_EQ_INT(event_to_json(&e, 3, "n", &text), -E2BIG);
        e.kind = _EVENT_KIND_MAX;
        ASSERT_EQ_INT(event_to_json(&e, 3, "n", &text), -EINVAL);
        json_decref(fields);
}

TEST(test_throttle_id_shared_by_start_and_end) {
        char a[EVENT_ID_LEN + 1], b[EVENT_ID_LEN + 1], c[EVENT_ID_LEN + 1];
        uint8_t other_salt[EVENT_ID_LEN] = { 9 };

        fair_event_throttle_id(17, salt, a);
        fair_event_throttle_id(17, salt, b);
        ASSERT_STREQ(a, b);
        ASSERT_EQ_INT(strlen(a), EVENT_ID_LEN);
        fair_event_throttle_id(18, salt, c);
        ASSERT_TRUE(!streq(a, c));
        fair_event_throttle_id(17, other_salt, c); /* another process */
        ASSERT_TRUE(!streq(a, c));
}

TEST(test_cpu_pct_of_the_machine) {
        ASSERT_TRUE(fair_event_cpu_pct(1000000, 2) == 50.0);
        ASSERT_TRUE(fair_event_cpu_pct(300000, 4) == 7.5);
        ASSERT_TRUE(fair_event_cpu_pct(300000, 0) == 0);
}

TEST(test_fair_throttle_start_and_end) {
        FairShareEvent t = { .type = FAIRSHARE_EVENT_THROTTLE_START, .uid = 1001, .id = 5,
                             .start_wall = T0 + 3723 * USEC_PER_SEC, .cpu = 950000, .cap = 1000000 };
        FairEvent fe = { .kind = FAIR_EVENT_THROTTLE_START, .uid = 1001, .username = "alice",
                         .slice = "user-1001.slice", .wall = t.start_wall, .cores = 2, .throttle = &t };
        FairEventOut start = { 0 }, end = { 0 };
        char id[EVENT_ID_LEN + 1], *text = NULL;
        json_t *j, *line;

        ASSERT_EQ_INT(fair_event_convert(&fe, "login1", salt, rnd, &start), 0);
        fair_event_throttle_id(5, salt, id);
        ASSERT_EQ_INT(start.event.kind, EVENT_THROTTLE_START);
        ASSERT_TRUE(start.event.has_uid && start.event.uid == 1001);
        ASSERT_STREQ(start.event.user, "alice");
        ASSERT_STREQ(start.event.slice, "user-1001.slice");
        ASSERT_STREQ(start.event.message, "User alice (1001) throttled: using 0.95 of a 1.00-core cap (user-1001.slice).");
        /* one event-log line per throttle event, written at its end */
        ASSERT_TRUE(start.event.log_line == NULL);
        ASSERT_EQ_INT(event_to_json(&start.event, 1, "login1", &text), 0);
        j = parse(text);
        assert_keys(j, "seq,kind,time,wall_usec,node,uid,user,slice,id,cpu_usec,cap_usec,cpu_pct,cores,start,end");
        ASSERT_STREQ(json_string_value(json_object_get(j, "id")), id);
        ASSERT_TRUE(json_is_null(json_object_get(j, "end")));
        ASSERT_STREQ(json_string_value(json_object_get(j, "start")), "2025-12-01T01:02:03.000000Z");
        json_decref(j);
        free(text);

        /* its end: the same ID, END_TIME, the mean; no user name known: the UID in its place */
        t.type = FAIRSHARE_EVENT_THROTTLE_END;
        t.end_wall = t.start_wall + 95 * USEC_PER_SEC;
        t.cpu = 900000;
        fe = (FairEvent) { .kind = FAIR_EVENT_THROTTLE_END, .uid = 1001, .slice = "user-1001.slice",
                           .wall = t.end_wall, .cores = 2, .throttle = &t };
        ASSERT_EQ_INT(fair_event_convert(&fe, "login1", salt, rnd, &end), 0);
        ASSERT_EQ_INT(end.event.kind, EVENT_THROTTLE_END);
        ASSERT_TRUE(end.event.user == NULL);
        ASSERT_STREQ(end.event.message, "User 1001 (1001) no longer throttled: 0.90 core on average over 95 s "
                                        "(user-1001.slice).");
        /* cgroup_py's line: its keys in its order, CPU (the mean) as % of the 2-core machine */
        line = parse(end.event.log_line);
        assert_keys(line, "TYPE,ID,CGROUP,USERNAME,START_TIME,END_TIME,CPU,NODE");
        ASSERT_STREQ(json_string_value(json_object_get(line, "TYPE")), "throttleCPU");
        ASSERT_STREQ(json_string_value(json_object_get(line, "START_TIME")), "2025-12-01 01:02:03");
        ASSERT_STREQ(json_string_value(json_object_get(line, "NODE")), "login1");
        ASSERT_TRUE(end.event.log_line[strlen(end.event.log_line) - 1] == '\n');
        ASSERT_STREQ(json_string_value(json_object_get(line, "ID")), id);
        ASSERT_STREQ(json_string_value(json_object_get(line, "USERNAME")), "1001");
        ASSERT_STREQ(json_string_value(json_object_get(line, "END_TIME")), "2025-12-01 01:03:38");
        ASSERT_TRUE(json_real_value(json_object_get(line, "CPU")) == 45.0);
        json_decref(line);
        ASSERT_TRUE(json_is_false(json_object_get(end.fields, "user_left")));
        ASSERT_STREQ(json_string_value(json_object_get(end.fields, "end")), "2025-12-01T01:03:38.000000Z");
        fair_event_out_done(&start);
        fair_event_out_done(&end);

        /* a throttle event without the policy's event, a kind out of range: refused */
        fe.throttle = NULL;
        ASSERT_EQ_INT(fair_event_convert(&fe, "n", salt, rnd, &end), -EINVAL);
        fe.kind = _FAIR_EVENT_KIND_MAX;
        ASSERT_EQ_INT(fair_event_convert(&fe, "n", salt, rnd, &end), -EINVAL);
}

TEST(test_fair_penalty_and_limit) {
        UserPenalty p = { .set = true, .mode = USER_PENALTY_LOCKED, .since_usec = T0,
                          .until_usec = T0 + 3600 * USEC_PER_SEC, .memory_bytes = 1ULL << 30 };
        UserLimit l = { .set = true, .cpu_cores = 1.5, .memory_bytes = 4ULL << 30, .since_usec = T0,
                        .until_usec = USEC_INFINITY };
        FairEvent fe = { .kind = FAIR_EVENT_PENALTY, .uid = 1001, .username = "alice", .slice = "user-1001.slice",
                         .wall = T0, .cores = 2, .action = "on", .penalty = &p };
        FairEventOut o = { 0 };
        char id[EVENT_ID_LEN + 1];
        json_t *line;

        event_id_from_bytes(rnd, id);
        ASSERT_EQ_INT(fair_event_convert(&fe, "login1", salt, rnd, &o), 0);
        ASSERT_EQ_INT(o.event.kind, EVENT_PENALTY);
        ASSERT_STREQ(o.event.message, "User alice (1001): penalty box on, mode locked until 2025-12-01T01:00:00.000000Z "
                                      "(user-1001.slice).");
        ASSERT_STREQ(o.event.log_line, "{\"TYPE\": \"penaltyBox\", \"ID\": \"abcdefghijklmnop\", \"TIMESTAMP\": "
                                       "\"2025-12-01 00:00:00\", \"UID\": \"1001\", \"UNAME\": \"alice\", \"NODE\": "
                                       "\"login1\", \"ACTION\": \"on\", \"MODE\": \"locked\", \"MEMORY\": 1073741824, "
                                       "\"UNTIL\": \"2025-12-01 01:00:00\"}\n");
        ASSERT_STREQ(json_string_value(json_object_get(o.fields, "id")), id);
        ASSERT_STREQ(json_string_value(json_object_get(o.fields, "mode")), "locked");
        fair_event_out_done(&o);

        /* off: nothing but the action */
        fe.action = "off";
        fe.penalty = NULL;
        ASSERT_EQ_INT(fair_event_convert(&fe, "login1", salt, rnd, &o), 0);
        line = parse(o.event.log_line);
        assert_keys(line, "TYPE,ID,TIMESTAMP,UID,UNAME,NODE,ACTION");
        json_decref(line);
        fair_event_out_done(&o);

        /* a limit until --clear: no UNTIL */
        fe = (FairEvent) { .kind = FAIR_EVENT_LIMIT, .uid = 1002, .slice = "user-1002.slice", .wall = T0,
                           .cores = 2, .action = "set", .limit = &l };
        ASSERT_EQ_INT(fair_event_convert(&fe, "login1", salt, rnd, &o), 0);
        ASSERT_EQ_INT(o.event.kind, EVENT_LIMIT);
        ASSERT_STREQ(o.event.message, "User 1002 (1002): limit set (user-1002.slice).");
        line = parse(o.event.log_line);
        assert_keys(line, "TYPE,ID,TIMESTAMP,UID,UNAME,NODE,ACTION,CPU,MEMORY");
        ASSERT_STREQ(json_string_value(json_object_get(line, "TYPE")), "limit");
        ASSERT_STREQ(json_string_value(json_object_get(line, "UNAME")), "1002");
        json_decref(line);
        ASSERT_TRUE(json_real_value(json_object_get(o.fields, "cpu_cores")) == 1.5);
        ASSERT_EQ_INT(json_integer_value(json_object_get(o.fields, "memory_bytes")), 4LL << 30);
        ASSERT_TRUE(json_is_null(json_object_get(o.fields, "until")));
        fair_event_out_done(&o);
}

/* The hub's fields, then the event's own that the journal takes, in their order. */
TEST(test_journal_fields) {
        const char *const extra[] = {
                "OOM_VICTIM_PID=123", "OOM_VICTIM_COMM=hog with spaces", "_PID=1" /* trusted: not ours */,
                "lower=1", "9X=1", "NOEQUALS", "MESSAGE=again" /* the hub's own */, "USER_ID=0", NULL,
                "A23456789012345678901234567890123456789012345678901234567890ABCD=64 long",
                "A234567890123456789012345678901234567890123456789012345678901ABCD=65 long",
                "OOM_MEMCG=/a=b/c" /* '=' in the value */,
        };
        Event e = { .kind = EVENT_OOM, .wall = T0, .has_uid = true, .uid = 1001, .user = "alice",
                    .slice = "user-1001.slice", .message = "Killed.", .journal_fields = extra,
                    .n_journal_fields = ELEMENTSOF(extra) };
        char **l = NULL;
        _cleanup_(freep) char *joined = NULL;
        size_t n = 0;

        ASSERT_EQ_INT(event_journal_fields(&e, 77, &l), 0);
        for (char **f = l; *f; f++) {
                size_t have = joined ? strlen(joined) : 0;

                joined = realloc(joined, have + strlen(*f) + 2);
                ASSERT_TRUE(joined != NULL);
                snprintf(joined + have, strlen(*f) + 2, "%s|", *f);
                n++;
        }
        ASSERT_STREQ(joined, "MESSAGE=Killed.|MESSAGE_ID=f5125d3f72a845c98a444047da0db302|PRIORITY=5|"
                             "SLICEKEEPER_EVENT=oom|SLICEKEEPER_EVENT_SEQ=77|SLICE=user-1001.slice|USER_ID=1001|"
                             "USER_NAME=alice|OOM_VICTIM_PID=123|OOM_VICTIM_COMM=hog with spaces|"
                             "A23456789012345678901234567890123456789012345678901234567890ABCD=64 long|"
                             "OOM_MEMCG=/a=b/c|");
        ASSERT_EQ_INT(n, 12);
        strv_free(l);

        /* none given, no slice nor user: the hub's five; a kind out of range: refused */
        e = (Event) { .kind = EVENT_TREE_APPLIED };
        ASSERT_EQ_INT(event_journal_fields(&e, 1, &l), 0);
        ASSERT_EQ_INT(strv_length(l), 5);
        ASSERT_STREQ(l[0], "MESSAGE=tree_applied");
        strv_free(l);
        e.kind = _EVENT_KIND_MAX;
        l = NULL;
        ASSERT_EQ_INT(event_journal_fields(&e, 1, &l), -EINVAL);
        ASSERT_TRUE(l == NULL);

        /* more than fit: cut at EVENT_JOURNAL_FIELDS_MAX */
        {
                const char *many[40];

                for (size_t i = 0; i < ELEMENTSOF(many); i++)
                        many[i] = "X=1";
                e = (Event) { .kind = EVENT_OOM, .journal_fields = many, .n_journal_fields = ELEMENTSOF(many) };
                ASSERT_EQ_INT(event_journal_fields(&e, 1, &l), 0);
                ASSERT_EQ_INT(strv_length(l), EVENT_JOURNAL_FIELDS_MAX);
                strv_free(l);
        }
}

static json_t *daemon_event_json(const DaemonEventOut *o) {
        char *text = NULL;
        json_t *j;

        ASSERT_EQ_INT(event_to_json(&o->event, 9, "login1", &text), 0);
        j = parse(text);
        free(text);
        return j;
}

TEST(test_tree_events) {
        DaemonEventOut o;
        json_t *j;
        char **l = NULL;

        ASSERT_EQ_INT(daemon_event_tree_applied(7, "ZooKeeper node /x/arch_conf", 12, "cgrouparch", T0, &o), 1);
        ASSERT_EQ_INT(o.event.kind, EVENT_TREE_APPLIED);
        ASSERT_STREQ(o.event.message, "Tree version 7 applied from ZooKeeper node /x/arch_conf: 12 groups.");
        ASSERT_TRUE(o.event.log_json && !o.event.log_line && !o.event.has_uid && !o.event.slice);
        j = daemon_event_json(&o);
        assert_keys(j, "seq,kind,time,wall_usec,node,version,origin,groups,schema");
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "version")), 7);
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "groups")), 12);
        ASSERT_STREQ(json_string_value(json_object_get(j, "origin")), "ZooKeeper node /x/arch_conf");
        ASSERT_STREQ(json_string_value(json_object_get(j, "schema")), "cgrouparch");
        json_decref(j);
        ASSERT_EQ_INT(event_journal_fields(&o.event, 9, &l), 0);
        ASSERT_STREQ(l[2], "PRIORITY=6");
        ASSERT_STREQ(l[5], "TREE_VERSION=7");
        ASSERT_STREQ(l[6], "TREE_ORIGIN=ZooKeeper node /x/arch_conf");
        ASSERT_TRUE(l[7] == NULL);
        strv_free(l);
        daemon_event_out_done(&o);

        ASSERT_EQ_INT(daemon_event_tree_applied(1, "/etc/slicekeeper/tree.json", 1, NULL, T0, &o), 1);
        ASSERT_STREQ(o.event.message, "Tree version 1 applied from file /etc/slicekeeper/tree.json: 1 group.");
        daemon_event_out_done(&o);

        ASSERT_EQ_INT(daemon_event_tree_rejected("line 1, column 2: end of file expected", "/t.json", T0, &o), 1);
        ASSERT_EQ_INT(o.event.kind, EVENT_TREE_REJECTED);
        ASSERT_STREQ(o.event.message, "Tree from file /t.json not applied, keeping the last good one: line 1, "
                                      "column 2: end of file expected");
        ASSERT_EQ_INT(o.event.priority, LOG_ERR);
        j = daemon_event_json(&o);
        assert_keys(j, "seq,kind,time,wall_usec,node,error,origin");
        ASSERT_STREQ(json_string_value(json_object_get(j, "origin")), "/t.json");
        json_decref(j);
        daemon_event_out_done(&o);

        /* no origin known: null */
        ASSERT_EQ_INT(daemon_event_tree_rejected("bad", NULL, T0, &o), 1);
        ASSERT_STREQ(o.event.message, "Tree not applied, keeping the last good one: bad");
        ASSERT_EQ_INT(o.event.n_journal_fields, 0);
        j = daemon_event_json(&o);
        ASSERT_TRUE(json_is_null(json_object_get(j, "origin")));
        json_decref(j);
        daemon_event_out_done(&o);
}

/* Down once (whatever the causes after), up once after being down; the first up is no event. */
TEST(test_connection_events) {
        OutageState seen = OUTAGE_STATE_CONNECTING;
        DaemonEventOut o;
        Outage out;
        json_t *j;

        outage_init(&out);
        outage_up(&out, T0);
        ASSERT_EQ_INT(daemon_event_connection(EVENT_REDIS, "Redis at 127.0.0.1:6379", &out, &seen, T0, &o), 0);
        ASSERT_EQ_INT(seen, OUTAGE_STATE_UP);

        outage_down(&out, T0 + 10 * USEC_PER_SEC, "connection lost: Connection reset by peer");
        ASSERT_EQ_INT(daemon_event_connection(EVENT_REDIS, "Redis at 127.0.0.1:6379", &out, &seen, T0, &o), 1);
        ASSERT_EQ_INT(o.event.kind, EVENT_REDIS);
        ASSERT_STREQ(o.event.message, "Connection to Redis at 127.0.0.1:6379 lost at 00:00:10: connection lost: "
                                      "Connection reset by peer.");
        j = daemon_event_json(&o);
        assert_keys(j, "seq,kind,time,wall_usec,node,connection,state,cause,since");
        ASSERT_STREQ(json_string_value(json_object_get(j, "state")), "down");
        ASSERT_STREQ(json_string_value(json_object_get(j, "since")), "2025-12-01T00:00:10.000000Z");
        ASSERT_STREQ(json_string_value(json_object_get(j, "cause")), "connection lost: Connection reset by peer");
        json_decref(j);
        daemon_event_out_done(&o);

        /* another cause while down: nothing */
        outage_down(&out, T0 + 11 * USEC_PER_SEC, "cannot connect: Connection refused");
        ASSERT_EQ_INT(daemon_event_connection(EVENT_REDIS, "Redis at x", &out, &seen, T0, &o), 0);

        outage_up(&out, T0 + 73 * USEC_PER_SEC);
        ASSERT_EQ_INT(daemon_event_connection(EVENT_REDIS, "Redis at x", &out, &seen, T0, &o), 1);
        ASSERT_STREQ(o.event.message, "Connection to Redis at x restored, 1min 3s after it was lost at 00:00:10: "
                                      "cannot connect: Connection refused.");
        j = daemon_event_json(&o);
        ASSERT_STREQ(json_string_value(json_object_get(j, "state")), "up");
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "down_usec")), 63 * USEC_PER_SEC);
        json_decref(j);
        daemon_event_out_done(&o);
        /* still up: nothing */
        ASSERT_EQ_INT(daemon_event_connection(EVENT_REDIS, "Redis at x", &out, &seen, T0, &o), 0);

        /* down from the start (never up) is news too */
        seen = OUTAGE_STATE_CONNECTING;
        outage_init(&out);
        outage_down(&out, T0, "cannot connect: No route to host");
        ASSERT_EQ_INT(daemon_event_connection(EVENT_ZOOKEEPER, "ZooKeeper at h:2181", &out, &seen, T0, &o), 1);
        ASSERT_EQ_INT(o.event.kind, EVENT_ZOOKEEPER);
        daemon_event_out_done(&o);
}

TEST(test_oom_events) {
        OomVictim v = {
                .kernel_usec = 1000,
                .pid = 4242,
                .uid = 1001,
                .comm = "tail",
                .task_memcg = "/sktest-1/user.slice/user-1001.slice/session-3.scope",
                .oom_memcg = "/sktest-1/user.slice/user-1001.slice",
                .constraint = "CONSTRAINT_MEMCG",
                .has_rss = true,
                .total_vm_kb = 70000,
                .anon_rss_kb = 65536,
        };
        OomReport r = { .node = 0, .counted = true, .killed = 1, .counter = 3, .victim = &v };
        OomWatchSlice user = { .unit = "user-1001.slice", .is_user = true, .uid = 1001, .user = "alice" };
        OomWatchSlice group = { .unit = "sk-db.slice" };
        OomKill k = {
                .slice = &user,
                .cgroup = "/user.slice/user-1001.slice",
                .report = &r,
                .memory_max = 64 << 20,
                .memory_current = 1 << 20,
                .kill_wall_usec = T0 + 500000,
                .latency_usec = 2500,
        };
        OomEventOut o = { 0 };
        char *text = NULL;
        json_t *j, *line;

        ASSERT_EQ_INT(oom_event_convert(&k, "login1", rnd, &o), 0);
        ASSERT_EQ_INT(o.event.kind, EVENT_OOM);
        ASSERT_TRUE(o.event.has_uid && o.event.uid == 1001);
        ASSERT_STREQ(o.event.slice, "user-1001.slice");
        ASSERT_STREQ(o.message, "OOM kill in user-1001.slice (user alice): tail (pid 4242, uid 1001) killed, "
                                "anon-rss 64.0M, limit 64.0M.");
        ASSERT_EQ_INT(o.n_journal, 2);
        ASSERT_STREQ(o.journal[0], "OOM_VICTIM_PID=4242");
        ASSERT_STREQ(o.journal[1], "OOM_VICTIM_COMM=tail");
        ASSERT_EQ_INT(event_to_json(&o.event, 7, "login1", &text), 0);
        j = parse(text);
        assert_keys(j, "seq,kind,time,wall_usec,node,uid,user,slice,id,unit,cgroup,counted,group_kill,killed,"
                       "oom_kill,victim,memory_max,memory_current,kill_time,latency_usec");
        ASSERT_STREQ(json_string_value(json_object_get(j, "time")), "2025-12-01T00:00:00.500000Z");
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "oom_kill")), 3);
        ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "victim"), "pid")), 4242);
        ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "victim"), "anon_rss_kb")), 65536);
        ASSERT_TRUE(json_is_null(json_object_get(json_object_get(j, "victim"), "file_rss_kb")) == false);
        json_decref(j);
        free(text);
        /* cgroup_py's OOM line first, ours after */
        line = parse(o.log_line);
        assert_keys(line, "TYPE,ID,TIMESTAMP,UID,UNAME,NODE,CGROUP,PID,COMM,SLICE,TASK_MEMCG,OOM_MEMCG,OOM_KILL,"
                          "MEMORY_MAX,MEMORY_CURRENT,LATENCY_MS");
        ASSERT_STREQ(json_string_value(json_object_get(line, "UID")), "1001");
        ASSERT_STREQ(json_string_value(json_object_get(line, "UNAME")), "alice");
        ASSERT_STREQ(json_string_value(json_object_get(line, "ID")), o.id);
        json_decref(line);
        oom_event_out_done(&o);

        /* A group's slice, no victim, not counted, no limit: the victim's UID is not known either. */
        r = (OomReport) { .counted = false, .killed = 1 };
        k.slice = &group;
        k.memory_max = UINT64_MAX;
        k.latency_usec = USEC_INFINITY;
        ASSERT_EQ_INT(oom_event_convert(&k, "login1", rnd, &o), 0);
        ASSERT_TRUE(!o.event.has_uid);
        ASSERT_EQ_INT(o.n_journal, 0);
        ASSERT_STREQ(o.message, "OOM kill in sk-db.slice (the kernel log did not name the victim).");
        ASSERT_EQ_INT(event_to_json(&o.event, 8, "login1", &text), 0);
        j = parse(text);
        ASSERT_TRUE(json_is_null(json_object_get(j, "victim")) && json_is_null(json_object_get(j, "oom_kill")));
        ASSERT_TRUE(json_is_null(json_object_get(j, "memory_max")) && json_is_null(json_object_get(j, "latency_usec")));
        ASSERT_TRUE(json_object_get(j, "uid") == NULL);
        json_decref(j);
        free(text);
        line = parse(o.log_line);
        ASSERT_STREQ(json_string_value(json_object_get(line, "UID")), "0");
        ASSERT_TRUE(json_object_get(line, "PID") == NULL && json_object_get(line, "MEMORY_MAX") == NULL);
        json_decref(line);
        oom_event_out_done(&o);

        /* A group kill: one event with the tasks killed. */
        r = (OomReport) { .counted = true, .group = true, .killed = 4, .counter = 9 };
        k.memory_max = 1 << 30;
        ASSERT_EQ_INT(oom_event_convert(&k, "login1", rnd, &o), 0);
        ASSERT_STREQ(o.message, "OOM group kill in sk-db.slice: 4 tasks killed, limit 1.0G.");
        line = parse(o.log_line);
        ASSERT_EQ_INT(json_integer_value(json_object_get(line, "KILLED")), 4);
        json_decref(line);
        oom_event_out_done(&o);
        k.slice = NULL;
        ASSERT_EQ_INT(oom_event_convert(&k, "login1", rnd, &o), -EINVAL);
}

int main(void) {
        RUN(test_oom_events);
        setenv("TZ", "UTC", 1);
        RUN(test_message_ids_fixed_distinct_hex);
        RUN(test_event_json);
        RUN(test_throttle_id_shared_by_start_and_end);
        RUN(test_cpu_pct_of_the_machine);
        RUN(test_fair_throttle_start_and_end);
        RUN(test_fair_penalty_and_limit);
        RUN(test_journal_fields);
        RUN(test_tree_events);
        RUN(test_connection_events);
        return 0;
}
