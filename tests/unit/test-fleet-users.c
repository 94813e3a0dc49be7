/* SPDX-License-Identifier: MIT */
/* Fleet-wide penalties and limits (src/policy/fleet-users.c, issue 17): a node's value parsed strictly (each
 * refusal names the node and the key), defaults and expiry; the set by name; which of local and fleet
 * applies, and the events a change makes; the reason and the event saying "fleet". */
#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "control-request.h"
#include "fair-event.h"
#include "fair.h"
#include "fairshare.h"
#include "fileio.h"
#include "fleet-users.h"
#include "macro.h"
#include "tests.h"

#define S(x) ((usec_t) (x) * USEC_PER_SEC)
#define NOW S(1764547200) /* 2025-12-01 00:00:00 UTC */
#define NODE "/sk/users/alice"
#define GIB (UINT64_C(1) << 30)

static int parse(const char *text, UserPenaltyMode mode, UserStateEntry *ret, char *error, size_t error_size) {
        return fleet_user_parse(NODE, text, strlen(text), NOW, mode, ret, error, error_size);
}

TEST(test_parse_full) {
        UserStateEntry e;
        char error[512] = "";

        ASSERT_EQ_INT(parse("{\"penalty\": {\"mode\": \"locked\", \"until\": 1764550800, \"memory\": \"2G\"},"
                            " \"limit\": {\"cpu\": 1.5, \"memory\": \"4G\", \"until\": 1764554400}}",
                            USER_PENALTY_ACTIVE, &e, error, sizeof(error)), 0);
        ASSERT_TRUE(e.penalty.set);
        ASSERT_EQ_INT(e.penalty.mode, USER_PENALTY_LOCKED);
        ASSERT_EQ_U64(e.penalty.until_usec, NOW + S(3600));
        ASSERT_EQ_U64(e.penalty.memory_bytes, 2 * GIB);
        ASSERT_EQ_U64(e.penalty.since_usec, 0);
        ASSERT_TRUE(e.limit.set);
        ASSERT_TRUE(e.limit.cpu_cores == 1.5);
        ASSERT_EQ_U64(e.limit.memory_bytes, 4 * GIB);
        ASSERT_EQ_U64(e.limit.until_usec, NOW + S(7200));
        ASSERT_EQ_U64(e.uid, 0);

        /* bytes as numbers, cpu as a percentage of a core, infinity */
        ASSERT_EQ_INT(parse("{\"penalty\": {\"memory\": 1048576}, \"limit\": {\"cpu\": \"150%\", \"memory\": \"infinity\"}}",
                            USER_PENALTY_ACTIVE, &e, error, sizeof(error)), 0);
        ASSERT_EQ_U64(e.penalty.memory_bytes, 1048576);
        ASSERT_TRUE(e.limit.cpu_cores == 1.5);
        ASSERT_EQ_U64(e.limit.memory_bytes, UINT64_MAX);
        ASSERT_EQ_INT(parse("{\"limit\": {\"cpu\": 2}}", USER_PENALTY_ACTIVE, &e, error, sizeof(error)), 0);
        ASSERT_TRUE(e.limit.cpu_cores == 2.0 && e.limit.memory_bytes == 0 && !e.penalty.set);
        ASSERT_EQ_INT(parse("{\"limit\": {\"memory\": 8589934592, \"until\": null}}", USER_PENALTY_ACTIVE, &e, error,
                            sizeof(error)), 0);
        ASSERT_TRUE(e.limit.cpu_cores == 0 && e.limit.memory_bytes == 8 * GIB && e.limit.until_usec == USEC_INFINITY);
}

/* A penalty may be {}: the mode of [FairShare] PenaltyMode=, no end but the node's, no memory limit. */
TEST(test_parse_defaults) {
        UserStateEntry e;
        char error[512] = "";

        ASSERT_EQ_INT(parse("{\"penalty\": {}}", USER_PENALTY_ACTIVE, &e, error, sizeof(error)), 0);
        ASSERT_TRUE(e.penalty.set && !e.limit.set);
        ASSERT_EQ_INT(e.penalty.mode, USER_PENALTY_ACTIVE);
        ASSERT_EQ_U64(e.penalty.until_usec, USEC_INFINITY);
        ASSERT_EQ_U64(e.penalty.memory_bytes, 0);
        ASSERT_EQ_INT(parse("{\"penalty\": {}}", USER_PENALTY_LOCKED, &e, error, sizeof(error)), 0);
        ASSERT_EQ_INT(e.penalty.mode, USER_PENALTY_LOCKED);
        ASSERT_EQ_INT(parse("{\"penalty\": {\"mode\": \"active\"}}", USER_PENALTY_LOCKED, &e, error, sizeof(error)), 0);
        ASSERT_EQ_INT(e.penalty.mode, USER_PENALTY_ACTIVE);
        /* whitespace and key order are the writer's */
        ASSERT_EQ_INT(parse(" {\n \"limit\" : {\"until\": 1764550800, \"cpu\": 0.5},\n \"penalty\" : { } }\n",
                            USER_PENALTY_ACTIVE, &e, error, sizeof(error)), 0);
        ASSERT_TRUE(e.penalty.set && e.limit.set && e.limit.cpu_cores == 0.5);
}

/* An "until" at or before now: that part is over, the rest holds; all over is an entry with nothing. */
TEST(test_parse_expired) {
        UserStateEntry e;
        char error[512] = "";

        ASSERT_EQ_INT(parse("{\"penalty\": {\"until\": 1764547200}, \"limit\": {\"cpu\": 1}}", USER_PENALTY_ACTIVE, &e,
                            error, sizeof(error)), 0);
        ASSERT_TRUE(!e.penalty.set && e.limit.set);
        ASSERT_EQ_INT(parse("{\"penalty\": {\"until\": 1764547201}, \"limit\": {\"cpu\": 1, \"until\": 5}}",
                            USER_PENALTY_ACTIVE, &e, error, sizeof(error)), 0);
        ASSERT_TRUE(e.penalty.set && !e.limit.set);
        ASSERT_EQ_INT(parse("{\"penalty\": {\"until\": 0}, \"limit\": {\"cpu\": 1, \"until\": 5}}", USER_PENALTY_ACTIVE,
                            &e, error, sizeof(error)), 0);
        ASSERT_TRUE(!e.penalty.set && !e.limit.set);
        /* an expired part is checked all the same */
        ASSERT_EQ_INT(parse("{\"penalty\": {\"until\": 5, \"mode\": \"soft\"}}", USER_PENALTY_ACTIVE, &e, error,
                            sizeof(error)), -EBADMSG);
        ASSERT_STREQ(error, NODE ": penalty.mode: expected \"active\" or \"locked\"");
}

/* Every refusal names the node and the key; *ret is left alone. */
TEST(test_parse_refusals) {
        static const struct {
                const char *text, *error;
        } cases[] = {
                { "", NODE ": not JSON: " },
                { "{\"penalty\": {}", NODE ": not JSON: " },
                { "{\"penalty\": {}, \"penalty\": {}}", NODE ": not JSON: " },
                { "[]", NODE ": expected an object" },
                { "null", NODE ": not JSON: " },
                { "{}", NODE ": neither \"penalty\" nor \"limit\"" },
                { "{\"penalty\": {}, \"uid\": 1001}", NODE ": unknown key \"uid\"" },
                { "{\"penalty\": null}", NODE ": penalty: expected an object" },
                { "{\"penalty\": \"on\"}", NODE ": penalty: expected an object" },
                { "{\"penalty\": {\"since\": 1}}", NODE ": penalty: unknown key \"since\"" },
                { "{\"penalty\": {\"mode\": \"hard\"}}", NODE ": penalty.mode: expected \"active\" or \"locked\"" },
                { "{\"penalty\": {\"mode\": 1}}", NODE ": penalty.mode: expected" },
                { "{\"penalty\": {\"until\": -1}}", NODE ": penalty.until: expected seconds" },
                { "{\"penalty\": {\"until\": 1.5e9}}", NODE ": penalty.until: expected seconds" },
                { "{\"penalty\": {\"until\": \"tomorrow\"}}", NODE ": penalty.until: expected seconds" },
                { "{\"penalty\": {\"until\": 9223372036855}}", NODE ": penalty.until: expected seconds" },
                { "{\"penalty\": {\"memory\": \"infinity\"}}", NODE ": penalty.memory: expected a size from 1M to 8P" },
                { "{\"penalty\": {\"memory\": 1024}}", NODE ": penalty.memory: expected a size" },
                { "{\"penalty\": {\"memory\": \"2X\"}}", NODE ": penalty.memory: expected a size" },
                { "{\"penalty\": {\"memory\": -5}}", NODE ": penalty.memory: expected a size" },
                { "{\"penalty\": {\"memory\": 2.5}}", NODE ": penalty.memory: expected a size" },
                { "{\"penalty\": {\"memory\": 9007199254740993}}", NODE ": penalty.memory: expected a size" },
                { "{\"limit\": null}", NODE ": limit: expected an object" },
                { "{\"limit\": {}}", NODE ": limit: neither \"cpu\" nor \"memory\"" },
                { "{\"limit\": {\"until\": 1764550800}}", NODE ": limit: neither \"cpu\" nor \"memory\"" },
                { "{\"limit\": {\"cpu\": 1, \"io\": 5}}", NODE ": limit: unknown key \"io\"" },
                { "{\"limit\": {\"cpu\": 0}}", NODE ": limit.cpu: expected cores" },
                { "{\"limit\": {\"cpu\": -1}}", NODE ": limit.cpu: expected cores" },
                { "{\"limit\": {\"cpu\": 8193}}", NODE ": limit.cpu: expected cores" },
                { "{\"limit\": {\"cpu\": \"150\"}}", NODE ": limit.cpu: expected cores" },
                { "{\"limit\": {\"cpu\": \"0%\"}}", NODE ": limit.cpu: expected cores" },
                { "{\"limit\": {\"cpu\": \"819201%\"}}", NODE ": limit.cpu: expected cores" },
                { "{\"limit\": {\"cpu\": true}}", NODE ": limit.cpu: expected cores" },
                { "{\"limit\": {\"memory\": \"1K\"}}", NODE ": limit.memory: expected a size from 1M to 8P (bytes, or "
                                                       "a string such as \"512M\" or \"4G\") or \"infinity\"" },
                { "{\"limit\": {\"memory\": null}}", NODE ": limit.memory: expected a size" },
                { "{\"limit\": {\"cpu\": 1, \"until\": false}}", NODE ": limit.until: expected seconds" },
        };
        char error[512];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                UserStateEntry e = { .uid = 77 };

                error[0] = 0;
                if (parse(cases[i].text, USER_PENALTY_ACTIVE, &e, error, sizeof(error)) != -EBADMSG) {
                        fprintf(stderr, "case %zu accepted: %s\n", i, cases[i].text);
                        ASSERT_TRUE(false);
                }
                if (strncmp(error, cases[i].error, strlen(cases[i].error)) != 0) {
                        fprintf(stderr, "case %zu: %s\n  said \"%s\"\n  expected \"%s...\"\n", i, cases[i].text, error,
                                cases[i].error);
                        ASSERT_TRUE(false);
                }
                ASSERT_EQ_INT(e.uid, 77);
        }
}

/* At most 4096 bytes, whatever they hold; a cut message still ends in a NUL. */
TEST(test_parse_size) {
        char big[FLEET_USER_MAX_BYTES + 2], error[512], small[16];
        UserStateEntry e;
        size_t n;

        n = (size_t) snprintf(big, sizeof(big), "{\"penalty\": {}}");
        memset(big + n, ' ', FLEET_USER_MAX_BYTES - n);
        ASSERT_EQ_INT(fleet_user_parse(NODE, big, FLEET_USER_MAX_BYTES, NOW, USER_PENALTY_ACTIVE, &e, error,
                                       sizeof(error)), 0);
        big[FLEET_USER_MAX_BYTES] = ' ';
        ASSERT_EQ_INT(fleet_user_parse(NODE, big, FLEET_USER_MAX_BYTES + 1, NOW, USER_PENALTY_ACTIVE, &e, error,
                                       sizeof(error)), -EBADMSG);
        ASSERT_STREQ(error, NODE ": larger than 4096 bytes");
        ASSERT_EQ_INT(parse("{}", USER_PENALTY_ACTIVE, &e, small, sizeof(small)), -EBADMSG);
        ASSERT_EQ_INT(strlen(small), sizeof(small) - 1);
        ASSERT_EQ_INT(parse("{}", USER_PENALTY_ACTIVE, &e, NULL, 0), -EBADMSG);
        /* a NUL inside is not JSON */
        ASSERT_EQ_INT(fleet_user_parse(NODE, "{\"penalty\": {}}\0x", 17, NOW, USER_PENALTY_ACTIVE, &e, error,
                                       sizeof(error)), -EBADMSG);
}

TEST(test_names) {
        static const char *const good[] = { "alice", "a", "_x", "bob-2", "first.last", "john@corp.example",
                                            "HOST$", "Mixed_Case", "u1000", "1000x" };
        static const char *const bad[] = { "", "-x", ".x", ".", "..", "1000", "a b", "a/b", "a:b", "a\tb", "é",
                                           "a\nb", "~x" };
        char longest[FLEET_USER_NAME_MAX + 2];

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ASSERT_TRUE(fleet_user_name_is_valid(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_TRUE(!fleet_user_name_is_valid(bad[i]));
        ASSERT_TRUE(!fleet_user_name_is_valid(NULL));
        memset(longest, 'a', sizeof(longest));
        longest[FLEET_USER_NAME_MAX] = 0;
        ASSERT_TRUE(fleet_user_name_is_valid(longest));
        longest[FLEET_USER_NAME_MAX] = 'a';
        longest[FLEET_USER_NAME_MAX + 1] = 0;
        ASSERT_TRUE(!fleet_user_name_is_valid(longest));
}

TEST(test_set) {
        FleetUsers s = FLEET_USERS_INIT;
        UserStateEntry e = { .penalty = { .set = true, .mode = USER_PENALTY_ACTIVE, .until_usec = NOW + S(60) } };
        const UserStateEntry *got;
        char name[32];

        ASSERT_TRUE(fleet_users_find(&s, "alice") == NULL);
        ASSERT_EQ_U64(fleet_users_next_expiry(&s), USEC_INFINITY);
        ASSERT_EQ_INT(fleet_users_set(&s, "alice", &e, NOW + 1234), 0);
        got = fleet_users_find(&s, "alice");
        ASSERT_TRUE(got && got->penalty.set);
        ASSERT_EQ_U64(got->penalty.since_usec, NOW); /* whole seconds */
        ASSERT_EQ_U64(fleet_users_next_expiry(&s), NOW + S(60));
        /* the same penalty again keeps its since; a limit beside it gets its own */
        e.limit = (UserLimit) { .set = true, .cpu_cores = 1, .until_usec = USEC_INFINITY };
        ASSERT_EQ_INT(fleet_users_set(&s, "alice", &e, NOW + S(10)), 0);
        got = fleet_users_find(&s, "alice");
        ASSERT_EQ_U64(got->penalty.since_usec, NOW);
        ASSERT_EQ_U64(got->limit.since_usec, NOW + S(10));
        /* a changed penalty starts again */
        e.penalty.mode = USER_PENALTY_LOCKED;
        ASSERT_EQ_INT(fleet_users_set(&s, "alice", &e, NOW + S(20)), 0);
        ASSERT_EQ_U64(fleet_users_find(&s, "alice")->penalty.since_usec, NOW + S(20));
        ASSERT_EQ_U64(fleet_users_find(&s, "alice")->limit.since_usec, NOW + S(10));
        ASSERT_EQ_INT(fleet_users_count(&s), 1);

        /* the end: parts that ended go, the entry stays */
        ASSERT_EQ_INT(fleet_users_expire(&s, NOW + S(59)), 0);
        ASSERT_EQ_INT(fleet_users_expire(&s, NOW + S(60)), 1);
        got = fleet_users_find(&s, "alice");
        ASSERT_TRUE(got && !got->penalty.set && got->limit.set);
        ASSERT_EQ_U64(fleet_users_next_expiry(&s), USEC_INFINITY);

        /* at most FLEET_USERS_MAX names; a name held can still change */
        for (unsigned i = 1; i < FLEET_USERS_MAX; i++) {
                snprintf(name, sizeof(name), "user%u", i);
                ASSERT_EQ_INT(fleet_users_set(&s, name, &e, NOW), 0);
        }
        ASSERT_EQ_INT(fleet_users_count(&s), FLEET_USERS_MAX);
        ASSERT_EQ_INT(fleet_users_set(&s, "one-too-many", &e, NOW), -E2BIG);
        ASSERT_TRUE(fleet_users_find(&s, "one-too-many") == NULL);
        ASSERT_EQ_INT(fleet_users_set(&s, "user7", &(UserStateEntry) { 0 }, NOW), 0);
        ASSERT_TRUE(!fleet_users_find(&s, "user7")->penalty.set);
        ASSERT_TRUE(fleet_users_remove(&s, "user7"));
        ASSERT_TRUE(!fleet_users_remove(&s, "user7"));
        ASSERT_TRUE(!fleet_users_remove(&s, NULL));
        ASSERT_EQ_INT(fleet_users_set(&s, "one-too-many", &e, NOW), 0);
        ASSERT_EQ_U64(fleet_users_next_expiry(&s), NOW + S(60));
        /* an earlier end removed: the next expiry stays a bound until the next expire makes it exact */
        e.penalty.until_usec = NOW + S(30);
        ASSERT_EQ_INT(fleet_users_set(&s, "early", &(UserStateEntry) { .limit = e.limit, .penalty = e.penalty }, NOW),
                      -E2BIG);
        ASSERT_TRUE(fleet_users_remove(&s, "one-too-many"));
        ASSERT_EQ_INT(fleet_users_set(&s, "early", &e, NOW), 0);
        ASSERT_EQ_U64(fleet_users_next_expiry(&s), NOW + S(30));
        ASSERT_TRUE(fleet_users_remove(&s, "early"));
        ASSERT_EQ_U64(fleet_users_next_expiry(&s), NOW + S(30));
        ASSERT_EQ_INT(fleet_users_expire(&s, NOW + S(30)), 0);
        ASSERT_EQ_U64(fleet_users_next_expiry(&s), NOW + S(60));
        e.penalty.until_usec = NOW + S(60);
        ASSERT_EQ_INT(fleet_users_set(&s, "one-too-many", &e, NOW), 0);
        ASSERT_EQ_INT(fleet_users_expire(&s, NOW + S(60)), FLEET_USERS_MAX - 1);
        fleet_users_done(&s);
        ASSERT_EQ_INT(fleet_users_count(&s), 0);
        fleet_users_done(&s);
}

/* Part by part: a local part that has not ended wins, else the fleet's that has not ended. */
TEST(test_applied) {
        UserStateEntry local = { .uid = 1001 }, fleet = { 0 };
        UserPenalty lp = { .set = true, .mode = USER_PENALTY_LOCKED, .since_usec = NOW, .until_usec = NOW + S(60) };
        UserPenalty fp = { .set = true, .mode = USER_PENALTY_ACTIVE, .until_usec = USEC_INFINITY };
        UserLimit fl = { .set = true, .cpu_cores = 2, .until_usec = NOW + S(30) };
        UserApplied a;

        fleet_user_applied(NULL, NULL, NOW, &a);
        ASSERT_TRUE(!a.penalty.set && !a.limit.set);
        ASSERT_EQ_INT(a.penalty_source, USER_SOURCE_NONE);

        /* the fleet's applies */
        fleet.penalty = fp;
        fleet.limit = fl;
        fleet_user_applied(NULL, &fleet, NOW, &a);
        ASSERT_EQ_INT(a.penalty_source, USER_SOURCE_FLEET);
        ASSERT_EQ_INT(a.penalty.mode, USER_PENALTY_ACTIVE);
        ASSERT_EQ_INT(a.limit_source, USER_SOURCE_FLEET);
        fleet_user_applied(&local, &fleet, NOW, &a); /* a local entry with nothing in it hides nothing */
        ASSERT_EQ_INT(a.penalty_source, USER_SOURCE_FLEET);

        /* local wins, part by part: a local penalty, the fleet's limit */
        local.penalty = lp;
        fleet_user_applied(&local, &fleet, NOW, &a);
        ASSERT_EQ_INT(a.penalty_source, USER_SOURCE_LOCAL);
        ASSERT_EQ_INT(a.penalty.mode, USER_PENALTY_LOCKED);
        ASSERT_EQ_INT(a.limit_source, USER_SOURCE_FLEET);
        ASSERT_TRUE(a.limit.cpu_cores == 2);
        local.limit = (UserLimit) { .set = true, .memory_bytes = GIB, .until_usec = USEC_INFINITY };
        fleet_user_applied(&local, &fleet, NOW, &a);
        ASSERT_EQ_INT(a.limit_source, USER_SOURCE_LOCAL);
        ASSERT_EQ_U64(a.limit.memory_bytes, GIB);

        /* the local penalty ended: the fleet's is there again; the fleet's limit ended: none under the local */
        fleet_user_applied(&local, &fleet, NOW + S(60), &a);
        ASSERT_EQ_INT(a.penalty_source, USER_SOURCE_FLEET);
        ASSERT_EQ_INT(a.limit_source, USER_SOURCE_LOCAL);
        local.limit.set = false;
        fleet_user_applied(&local, &fleet, NOW + S(30), &a);
        ASSERT_EQ_INT(a.limit_source, USER_SOURCE_NONE);
        ASSERT_TRUE(!a.limit.set);

        /* removal lifts it */
        fleet_user_applied(&local, NULL, NOW + S(60), &a);
        ASSERT_EQ_INT(a.penalty_source, USER_SOURCE_NONE);
        ASSERT_STREQ(user_source_to_string(USER_SOURCE_FLEET), "fleet");
        ASSERT_STREQ(user_source_to_string(USER_SOURCE_LOCAL), "local");
        ASSERT_TRUE(user_source_to_string(USER_SOURCE_NONE) == NULL);
}

/* What the glue does each tick for one user (fair_user_fleet_sync()): what applies from the fleet against what
 * was said last, an event per change. */
static const char *step_penalty(UserPenalty *said, const UserStateEntry *local, const UserStateEntry *fleet,
                                usec_t now) {
        UserPenalty now_applied = { 0 };
        const char *action;
        UserApplied a;

        fleet_user_applied(local, fleet, now, &a);
        if (a.penalty_source == USER_SOURCE_FLEET)
                now_applied = a.penalty;
        action = fleet_user_penalty_action(said, &now_applied, now);
        *said = now_applied;
        return action;
}

TEST(test_events) {
        UserStateEntry local = { .uid = 1001 }, fleet = { 0 };
        UserPenalty said = { 0 };
        UserLimit lsaid = { 0 }, lnow;

        fleet.penalty = (UserPenalty) { .set = true, .mode = USER_PENALTY_ACTIVE, .until_usec = NOW + S(100) };
        ASSERT_TRUE(step_penalty(&said, &local, NULL, NOW) == NULL);
        ASSERT_STREQ(step_penalty(&said, &local, &fleet, NOW), "on");
        ASSERT_TRUE(step_penalty(&said, &local, &fleet, NOW + S(1)) == NULL); /* nothing new */
        /* the node rewritten with another mode: on again */
        fleet.penalty.mode = USER_PENALTY_LOCKED;
        ASSERT_STREQ(step_penalty(&said, &local, &fleet, NOW + S(2)), "on");
        /* a local penalty takes over: the fleet's is off here; when it ends, the fleet's is on again */
        local.penalty = (UserPenalty) { .set = true, .mode = USER_PENALTY_ACTIVE, .since_usec = NOW,
                                        .until_usec = NOW + S(10) };
        ASSERT_STREQ(step_penalty(&said, &local, &fleet, NOW + S(3)), "off");
        ASSERT_TRUE(step_penalty(&said, &local, &fleet, NOW + S(4)) == NULL);
        ASSERT_STREQ(step_penalty(&said, &local, &fleet, NOW + S(10)), "on");
        /* its until passes */
        ASSERT_STREQ(step_penalty(&said, &local, &fleet, NOW + S(100)), "expired");
        ASSERT_TRUE(step_penalty(&said, &local, &fleet, NOW + S(101)) == NULL);
        /* the node removed */
        fleet.penalty.until_usec = USEC_INFINITY;
        ASSERT_STREQ(step_penalty(&said, &local, &fleet, NOW + S(102)), "on");
        ASSERT_STREQ(step_penalty(&said, &local, NULL, NOW + S(103)), "off");

        /* limits: set, changed, clear, expired */
        lnow = (UserLimit) { .set = true, .cpu_cores = 1, .since_usec = NOW, .until_usec = NOW + S(5) };
        ASSERT_STREQ(fleet_user_limit_action(&lsaid, &lnow, NOW), "set");
        lsaid = lnow;
        lnow.since_usec = NOW + S(1); /* since is not a change */
        ASSERT_TRUE(fleet_user_limit_action(&lsaid, &lnow, NOW + S(1)) == NULL);
        lnow.cpu_cores = 2;
        ASSERT_STREQ(fleet_user_limit_action(&lsaid, &lnow, NOW + S(1)), "set");
        lsaid = lnow;
        ASSERT_STREQ(fleet_user_limit_action(&lsaid, &(UserLimit) { 0 }, NOW + S(2)), "clear");
        ASSERT_STREQ(fleet_user_limit_action(&lsaid, &(UserLimit) { 0 }, NOW + S(5)), "expired");
        ASSERT_TRUE(fleet_user_limit_action(&(UserLimit) { 0 }, &(UserLimit) { 0 }, NOW) == NULL);
}

/* The policy says "fleet" in the reason when the input says the penalty or limit is the fleet's. */
TEST(test_reason) {
        FairShareConfig c;
        FairShare *fs = NULL;
        FairShareUserInput in[2];
        const FairShareResult *res;
        char reason[512];
        usec_t now = S(1000), wall = NOW;

        fairshare_config_init(&c, 2, 16 * GIB);
        ASSERT_EQ_INT(fairshare_new(&c, 1, &fs), 0);
        for (int t = 0; t < 3; t++) {
                for (size_t i = 0; i < 2; i++) {
                        fairshare_user_input_init(&in[i], 1001 + (uint32_t) i);
                        in[i].cpu_usage_usec = (uint64_t) t * USEC_PER_SEC;
                        in[i].memory_bytes = 100 << 20;
                        in[i].kernel_cpu_quota = in[i].kernel_memory_max = in[i].kernel_memory_high = FAIRSHARE_INFINITY;
                }
                in[0].penalty = FAIRSHARE_PENALTY_LOCKED;
                in[0].penalty_fleet = true;
                in[1].limit_cpu = USEC_PER_SEC / 2;
                in[1].limit_fleet = true;
                ASSERT_EQ_INT(fairshare_tick(fs, now + S(t), wall + S(t), in, 2, FAIRSHARE_UNSET, &res), 0);
        }
        ASSERT_TRUE(res->decisions[0].penalized);
        ASSERT_TRUE(fairshare_reason_format(&res->decisions[0], &c, reason, sizeof(reason)) < (int) sizeof(reason));
        ASSERT_CONTAINS(reason, "; fleet penalty box (locked): 0.30 core");
        ASSERT_TRUE(fairshare_reason_format(&res->decisions[1], &c, reason, sizeof(reason)) < (int) sizeof(reason));
        ASSERT_CONTAINS(reason, "fleet limit: fixed cap 0.50 core");
        /* the same from this host: as before */
        in[0].penalty_fleet = in[1].limit_fleet = false;
        ASSERT_EQ_INT(fairshare_tick(fs, now + S(3), wall + S(3), in, 2, FAIRSHARE_UNSET, &res), 0);
        ASSERT_TRUE(fairshare_reason_format(&res->decisions[0], &c, reason, sizeof(reason)) < (int) sizeof(reason));
        ASSERT_TRUE(strstr(reason, "fleet") == NULL);
        ASSERT_CONTAINS(reason, "; penalty box (locked)");
        ASSERT_TRUE(fairshare_reason_format(&res->decisions[1], &c, reason, sizeof(reason)) < (int) sizeof(reason));
        ASSERT_CONTAINS(reason, "slicekeeper limit: fixed cap 0.50 core");
        fairshare_free(fs);
}

/* A fleet penalty's event: the source in the subscribers' fields, the journal and the event log's last
 * field; a local one's log line stays as it was. */
TEST(test_fleet_event) {
        static const uint8_t salt[EVENT_ID_LEN] = { 1 }, rnd[EVENT_ID_LEN] = { 2 };
        UserPenalty p = { .set = true, .mode = USER_PENALTY_ACTIVE, .since_usec = NOW, .until_usec = USEC_INFINITY };
        FairEvent fe = { .kind = FAIR_EVENT_PENALTY, .uid = 1001, .username = "alice", .slice = "user-1001.slice",
                         .wall = NOW, .cores = 2, .action = "on", .penalty = &p, .fleet = true };
        FairEventOut o = { 0 };

        ASSERT_EQ_INT(fair_event_convert(&fe, "login1", salt, rnd, &o), 0);
        ASSERT_STREQ(o.event.message, "User alice (1001): fleet penalty box on, mode active (user-1001.slice).");
        ASSERT_STREQ(json_string_value(json_object_get(o.fields, "source")), "fleet");
        ASSERT_TRUE(json_is_null(json_object_get(o.fields, "until")));
        ASSERT_CONTAINS(o.event.log_line, "\"ACTION\": \"on\", \"MODE\": \"active\", \"SOURCE\": \"fleet\"}\n");
        ASSERT_EQ_INT(o.event.n_journal_fields, 1);
        ASSERT_STREQ(o.event.journal_fields[0], "SLICEKEEPER_SOURCE=fleet");
        fair_event_out_done(&o);

        fe.fleet = false;
        ASSERT_EQ_INT(fair_event_convert(&fe, "login1", salt, rnd, &o), 0);
        ASSERT_STREQ(json_string_value(json_object_get(o.fields, "source")), "local");
        ASSERT_TRUE(strstr(o.event.log_line, "SOURCE") == NULL);
        ASSERT_EQ_INT(o.event.n_journal_fields, 0);
        fair_event_out_done(&o);
}

/* ---- the glue (fair.c): a Fair on a bus that never connects (its sends fail and are counted), one user ---- */

#define GLUE_EVENTS_MAX 32

typedef struct Seen {
        size_t n;
        struct {
                FairEventKind kind;
                char action[16];
                bool fleet;
                char user[64];
                bool penalty_locked;
        } e[GLUE_EVENTS_MAX];
} Seen;

static void on_event(Fair *f _unused_, const FairEvent *e, void *userdata) {
        Seen *s = userdata;

        if (e->kind != FAIR_EVENT_PENALTY && e->kind != FAIR_EVENT_LIMIT)
                return;
        ASSERT_TRUE(s->n < GLUE_EVENTS_MAX);
        s->e[s->n].kind = e->kind;
        snprintf(s->e[s->n].action, sizeof(s->e[s->n].action), "%s", e->action);
        s->e[s->n].fleet = e->fleet;
        snprintf(s->e[s->n].user, sizeof(s->e[s->n].user), "%s", e->username ? e->username : "");
        s->e[s->n].penalty_locked = e->penalty && e->penalty->mode == USER_PENALTY_LOCKED;
        s->n++;
}

static void expect_event(Seen *s, size_t i, FairEventKind kind, const char *action, bool fleet) {
        if (s->n <= i) {
                fprintf(stderr, "event %zu (%s) did not come; %zu events\n", i, action, s->n);
                ASSERT_TRUE(false);
        }
        ASSERT_EQ_INT(s->e[i].kind, kind);
        ASSERT_STREQ(s->e[i].action, action);
        ASSERT_EQ_INT(s->e[i].fleet, fleet);
}

/* `slicekeeper users`'s line of the one user. */
static json_t *user_line(Fair *f, json_t **users) {
        json_decref(*users);
        *users = fair_users_json(f, false, 0);
        ASSERT_TRUE(*users);
        ASSERT_EQ_INT(json_array_size(json_object_get(*users, "list")), 1);
        return json_array_get(json_object_get(*users, "list"), 0);
}

static const char *source_of(json_t *line, const char *part) {
        char key[32];

        snprintf(key, sizeof(key), "%s_source", part);
        return json_string_value(json_object_get(line, key));
}

static json_t *fleet_status(Fair *f, json_t **status) {
        json_decref(*status);
        *status = fair_admin_status_json(f);
        ASSERT_TRUE(*status);
        return json_object_get(*status, "fleet_users");
}

static int set_node(Fair *f, const char *name, const char *data, char *error, size_t error_size) {
        return fair_set_fleet_user(f, name, data, data ? strlen(data) : 0, error, error_size);
}

TEST(test_glue) {
        char dir[] = "/tmp/test-fleet-users.XXXXXX", path[128], error[512], *unit, *text = NULL;
        struct passwd *pw = getpwuid(65534);
        Config c;
        CgroupLayout layout = { 0 };
        sd_event *e = NULL;
        sd_bus *bus = NULL;
        JobWatch *jobs = NULL;
        Fair *f = NULL;
        SliceSet set = { .n = 1, .n_groups = 0 };
        SampleValues values[1] = { 0 };
        ControlRequest req = { .cmd = CONTROL_CMD_PENALTY, .uid = 65534, .on = true, .has_mode = true, .locked = false };
        json_t *users = NULL, *status = NULL, *line, *fleet;
        _cleanup_(freep) char *name = NULL;
        Seen seen = { 0 };
        size_t size;

        if (!pw || !fleet_user_name_is_valid(pw->pw_name)) {
                printf("# no user 65534 with a usable name: the glue test skipped\n");
                return;
        }
        name = strdup(pw->pw_name);
        ASSERT_TRUE(name && mkdtemp(dir));
        config_init(&c);
        free(c.fair_share.users_dir);
        free(c.fair_share.state_dir);
        c.fair_share.users_dir = strdup("");
        c.fair_share.state_dir = strdup(dir);
        c.fair_share.interval_usec = 1; /* a tick at every fair_sample() */
        c.fair_share.mode = CONFIG_FAIR_SHARE_HARD_CAP;
        ASSERT_EQ_INT(sd_event_new(&e), 0);
        ASSERT_EQ_INT(sd_bus_new(&bus), 0);
        ASSERT_EQ_INT(job_watch_new(bus, &jobs), 0);
        ASSERT_EQ_INT(fair_new(e, bus, jobs, &c.fair_share, &layout, &f), 0);
        fair_set_event_fn(f, on_event, &seen);
        fair_set_fleet_node_prefix(f, "/sk/users");

        /* before the user is here: kept, nothing to say */
        ASSERT_EQ_INT(set_node(f, name, "{\"penalty\": {\"mode\": \"locked\"}}", error, sizeof(error)), 0);
        ASSERT_EQ_INT(seen.n, 0);
        fleet = fleet_status(f, &status);
        ASSERT_EQ_INT(json_integer_value(json_object_get(fleet, "entries")), 1);
        ASSERT_EQ_INT(json_integer_value(json_object_get(fleet, "applied")), 0);

        /* the user comes: a tick takes the slice, the name is looked up at idle, the next tick applies it */
        unit = strdup("user-65534.slice");
        set.units = &unit;
        fair_sample(f, &set, values);
        for (int i = 0; i < 100 && !json_is_string(json_object_get(user_line(f, &users), "user")); i++)
                ASSERT_TRUE(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
        ASSERT_STREQ(json_string_value(json_object_get(user_line(f, &users), "user")), name);
        fair_sample(f, &set, values);
        expect_event(&seen, 0, FAIR_EVENT_PENALTY, "on", true);
        ASSERT_STREQ(seen.e[0].user, name);
        ASSERT_TRUE(seen.e[0].penalty_locked);
        line = user_line(f, &users);
        ASSERT_STREQ(source_of(line, "penalty"), "fleet");
        ASSERT_TRUE(json_is_null(json_object_get(json_object_get(line, "penalty"), "until")));
        ASSERT_TRUE(json_is_true(json_object_get(line, "penaltyboxed")));
        ASSERT_CONTAINS(json_string_value(json_object_get(line, "reason")), "fleet penalty box (locked)");
        ASSERT_EQ_INT(json_integer_value(json_object_get(fleet_status(f, &status), "applied")), 1);

        /* bad input changes nothing and names the node and key; the same node made good clears the error */
        ASSERT_EQ_INT(set_node(f, name, "{\"limit\": {\"cpu\": \"lots\"}}", error, sizeof(error)), -EBADMSG);
        ASSERT_TRUE(strncmp(error, "/sk/users/", 10) == 0);
        ASSERT_CONTAINS(error, ": limit.cpu: expected cores");
        ASSERT_EQ_INT(set_node(f, "a/b", "{\"penalty\": {}}", error, sizeof(error)), -EINVAL);
        ASSERT_CONTAINS(error, "/sk/users/a/b: not a user name");
        fleet = fleet_status(f, &status);
        ASSERT_EQ_INT(json_integer_value(json_object_get(fleet, "rejected")), 2);
        ASSERT_CONTAINS(json_string_value(json_object_get(fleet, "last_error")), "/sk/users/a/b: not a user name");
        ASSERT_EQ_INT(set_node(f, "a/b", NULL, error, sizeof(error)), 0); /* gone: its error with it */
        ASSERT_TRUE(json_is_null(json_object_get(fleet_status(f, &status), "last_error")));
        fair_sample(f, &set, values);
        ASSERT_EQ_INT(seen.n, 1);
        ASSERT_STREQ(source_of(user_line(f, &users), "penalty"), "fleet");

        /* a local penalty wins (the fleet's off here), is written to users.json alone; off again: the fleet's */
        json_decref(fair_control_penalty(f, &req));
        expect_event(&seen, 1, FAIR_EVENT_PENALTY, "on", false);
        fair_sample(f, &set, values);
        expect_event(&seen, 2, FAIR_EVENT_PENALTY, "off", true);
        ASSERT_STREQ(source_of(user_line(f, &users), "penalty"), "local");
        ASSERT_TRUE(strstr(json_string_value(json_object_get(user_line(f, &users), "reason")), "fleet") == NULL);
        snprintf(path, sizeof(path), "%s/users.json", dir);
        ASSERT_EQ_INT(read_file_bounded(path, 1 << 20, &text, &size), 0);
        ASSERT_CONTAINS(text, "\"uid\": 65534");
        ASSERT_TRUE(strstr(text, "locked") == NULL); /* the local one is active; the fleet's is not in the file */
        free(text);
        req.on = false;
        json_decref(fair_control_penalty(f, &req));
        expect_event(&seen, 3, FAIR_EVENT_PENALTY, "off", false);
        fair_sample(f, &set, values);
        expect_event(&seen, 4, FAIR_EVENT_PENALTY, "on", true);
        /* `penalty off` with only the fleet's: says where it is changed */
        line = fair_control_penalty(f, &req);
        ASSERT_CONTAINS(json_string_value(json_object_get(line, "error")), "the fleet's");
        json_decref(line);

        /* a limit beside it: set at once for a user who is here */
        ASSERT_EQ_INT(set_node(f, name, "{\"penalty\": {\"mode\": \"locked\"}, \"limit\": {\"cpu\": \"50%\"}}", error,
                               sizeof(error)), 0);
        expect_event(&seen, 5, FAIR_EVENT_LIMIT, "set", true);
        ASSERT_EQ_INT(seen.n, 6); /* the penalty did not change */
        fair_sample(f, &set, values);
        line = user_line(f, &users);
        ASSERT_STREQ(source_of(line, "limit"), "fleet");
        ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(line, "limit"), "cpu_pct")), 50);
        ASSERT_CONTAINS(json_string_value(json_object_get(line, "reason")), "fleet limit: fixed cap 0.50 core");

        /* the node removed lifts both */
        ASSERT_EQ_INT(set_node(f, name, NULL, error, sizeof(error)), 0);
        expect_event(&seen, 6, FAIR_EVENT_PENALTY, "off", true);
        expect_event(&seen, 7, FAIR_EVENT_LIMIT, "clear", true);
        fair_sample(f, &set, values);
        line = user_line(f, &users);
        ASSERT_TRUE(json_is_null(json_object_get(line, "penalty")) && json_is_null(json_object_get(line, "limit")));
        ASSERT_TRUE(json_is_null(json_object_get(line, "penalty_source")));
        ASSERT_TRUE(json_is_false(json_object_get(line, "penaltyboxed")));
        fleet = fleet_status(f, &status);
        ASSERT_EQ_INT(json_integer_value(json_object_get(fleet, "entries")), 0);
        ASSERT_EQ_INT(json_integer_value(json_object_get(fleet, "applied")), 0);
        ASSERT_EQ_INT(seen.n, 8);

        /* a penalty with an end: on, then expired by the timer (whole seconds: within 2 s) */
        {
                char value[128];
                usec_t deadline = now_usec(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;

                snprintf(value, sizeof(value), "{\"penalty\": {\"until\": %llu}}",
                         (unsigned long long) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC + 2));
                ASSERT_EQ_INT(set_node(f, name, value, error, sizeof(error)), 0);
                expect_event(&seen, 8, FAIR_EVENT_PENALTY, "on", true);
                ASSERT_TRUE(json_is_integer(json_object_get(json_object_get(user_line(f, &users), "penalty"), "until")));
                while (seen.n < 10 && now_usec(CLOCK_MONOTONIC) < deadline)
                        ASSERT_TRUE(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
                expect_event(&seen, 9, FAIR_EVENT_PENALTY, "expired", true);
                ASSERT_EQ_INT(seen.n, 10);
                ASSERT_EQ_INT(json_integer_value(json_object_get(fleet_status(f, &status), "expired")), 1);
                ASSERT_EQ_INT(json_integer_value(json_object_get(fleet_status(f, &status), "entries")), 1);
                ASSERT_EQ_INT(set_node(f, name, NULL, error, sizeof(error)), 0);
                ASSERT_EQ_INT(seen.n, 10); /* nothing applied: nothing to say */
        }

        /* users.json holds nothing of the fleet's */
        ASSERT_EQ_INT(read_file_bounded(path, 1 << 20, &text, &size), 0);
        ASSERT_TRUE(strstr(text, "65534") == NULL);
        free(text);

        json_decref(users);
        json_decref(status);
        fair_free(f);
        job_watch_free(jobs);
        sd_bus_unref(bus);
        sd_event_unref(e);
        free(unit);
        config_done(&c);
        (void) unlink(path);
        ASSERT_EQ_INT(rmdir(dir), 0);
}

int main(void) {
        RUN(test_parse_full);
        RUN(test_parse_defaults);
        RUN(test_parse_expired);
        RUN(test_parse_refusals);
        RUN(test_parse_size);
        RUN(test_names);
        RUN(test_set);
        RUN(test_applied);
        RUN(test_events);
        RUN(test_reason);
        RUN(test_fleet_event);
        RUN(test_glue);
        return 0;
}
