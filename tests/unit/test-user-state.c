/* SPDX-License-Identifier: MIT */
/* Penalties and runtime limits kept across restarts (src/policy/user-state.c): round trip, expiry at load,
 * strict refusals, the corrupt file moved aside, atomic save (issue 14). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "tests.h"
#include "user-state.h"

#define S(x) ((usec_t) (x) * USEC_PER_SEC)
#define NOW S(1764547200) /* 2025-12-01 00:00:00 UTC */

static UserState sample_state(void) {
        UserState s = { 0 };
        UserPenalty p = { .set = true, .mode = USER_PENALTY_LOCKED, .since_usec = NOW - S(60),
                          .until_usec = NOW + S(3600), .memory_bytes = 1ULL << 30 };
        UserLimit l = { .set = true, .cpu_cores = 1.5, .memory_bytes = 4ULL << 30, .since_usec = NOW - S(10),
                        .until_usec = USEC_INFINITY };

        ASSERT_EQ_INT(user_state_set_penalty(&s, 1002, &p), 0);
        ASSERT_EQ_INT(user_state_set_limit(&s, 1001, &l), 0);
        l.until_usec = NOW + S(7200);
        l.memory_bytes = 0;
        ASSERT_EQ_INT(user_state_set_limit(&s, 1002, &l), 0);
        return s;
}

/* Field by field: the structs have padding. */
static void assert_entry_eq(const UserStateEntry *a, const UserStateEntry *b) {
        ASSERT_EQ_U64(a->uid, b->uid);
        ASSERT_EQ_INT(a->penalty.set, b->penalty.set);
        ASSERT_EQ_INT(a->penalty.mode, b->penalty.mode);
        ASSERT_EQ_U64(a->penalty.since_usec, b->penalty.since_usec);
        ASSERT_EQ_U64(a->penalty.until_usec, b->penalty.until_usec);
        ASSERT_EQ_U64(a->penalty.memory_bytes, b->penalty.memory_bytes);
        ASSERT_EQ_INT(a->limit.set, b->limit.set);
        ASSERT_TRUE(a->limit.cpu_cores == b->limit.cpu_cores);
        ASSERT_EQ_U64(a->limit.memory_bytes, b->limit.memory_bytes);
        ASSERT_EQ_U64(a->limit.since_usec, b->limit.since_usec);
        ASSERT_EQ_U64(a->limit.until_usec, b->limit.until_usec);
}

TEST(test_format_and_parse_round_trip) {
        UserState s = sample_state(), back = { 0 };
        _cleanup_(freep) char *text = NULL, *again = NULL;
        char error[256] = "";
        size_t expired = 99;

        ASSERT_EQ_INT(s.n, 2);
        ASSERT_EQ_U64(s.entries[0].uid, 1001); /* sorted by uid */
        ASSERT_EQ_INT(user_state_format(&s, &text), 0);
        ASSERT_STREQ(text, "{\n"
                           " \"version\": 1,\n"
                           " \"users\": [\n"
                           "  {\n"
                           "   \"uid\": 1001,\n"
                           "   \"limit\": {\n"
                           "    \"cpu\": 1.5,\n"
                           "    \"memory\": 4294967296,\n"
                           "    \"since\": 1764547190,\n"
                           "    \"until\": null\n"
                           "   }\n"
                           "  },\n"
                           "  {\n"
                           "   \"uid\": 1002,\n"
                           "   \"penalty\": {\n"
                           "    \"mode\": \"locked\",\n"
                           "    \"since\": 1764547140,\n"
                           "    \"until\": 1764550800,\n"
                           "    \"memory\": 1073741824\n"
                           "   },\n"
                           "   \"limit\": {\n"
                           "    \"cpu\": 1.5,\n"
                           "    \"since\": 1764547190,\n"
                           "    \"until\": 1764554400\n"
                           "   }\n"
                           "  }\n"
                           " ]\n"
                           "}\n");
        ASSERT_EQ_INT(user_state_parse(text, strlen(text), NOW, &back, &expired, error, sizeof(error)), 0);
        ASSERT_EQ_INT(expired, 0);
        ASSERT_EQ_INT(back.n, 2);
        for (size_t i = 0; i < 2; i++)
                assert_entry_eq(&back.entries[i], &s.entries[i]);
        ASSERT_EQ_INT(user_state_format(&back, &again), 0);
        ASSERT_STREQ(again, text);
        ASSERT_EQ_U64(user_state_next_expiry(&back), NOW + S(3600));
        user_state_done(&back);

        /* Loaded later: what ended is dropped, the rest kept. */
        ASSERT_EQ_INT(user_state_parse(text, strlen(text), NOW + S(3600), &back, &expired, error, sizeof(error)), 0);
        ASSERT_EQ_INT(expired, 1);
        ASSERT_TRUE(!user_state_find(&back, 1002)->penalty.set && user_state_find(&back, 1002)->limit.set);
        user_state_done(&back);
        ASSERT_EQ_INT(user_state_parse(text, strlen(text), NOW + S(86400), &back, &expired, error, sizeof(error)), 0);
        ASSERT_EQ_INT(expired, 2);
        ASSERT_EQ_INT(back.n, 1); /* 1002 had nothing left */
        ASSERT_EQ_U64(back.entries[0].uid, 1001);
        ASSERT_EQ_U64(user_state_next_expiry(&back), USEC_INFINITY);
        user_state_done(&back);
        user_state_done(&s);
}

TEST(test_set_clear_expire) {
        UserState s = sample_state();
        UserPenalty bad = { .set = true, .mode = USER_PENALTY_ACTIVE, .since_usec = NOW, .until_usec = NOW };

        ASSERT_EQ_INT(user_state_set_penalty(&s, 1003, &bad), -EINVAL); /* no end after its start */
        bad.until_usec = USEC_INFINITY;
        ASSERT_EQ_INT(user_state_set_penalty(&s, 1003, &bad), -EINVAL); /* a penalty always ends */
        ASSERT_TRUE(user_state_find(&s, 1003) == NULL);
        ASSERT_EQ_INT(user_state_set_limit(&s, 1003, &(UserLimit) { .set = true, .until_usec = USEC_INFINITY }),
                      -EINVAL); /* neither cpu nor memory */

        ASSERT_TRUE(user_state_clear_penalty(&s, 1002));
        ASSERT_TRUE(!user_state_clear_penalty(&s, 1002));
        ASSERT_EQ_INT(s.n, 2);
        ASSERT_TRUE(user_state_clear_limit(&s, 1002));
        ASSERT_EQ_INT(s.n, 1);
        ASSERT_TRUE(!user_state_clear_limit(&s, 4242));
        ASSERT_EQ_INT(user_state_expire(&s, NOW + S(365 * 86400)), 0); /* until --clear */
        ASSERT_EQ_INT(s.n, 1);
        user_state_done(&s);

        s = sample_state();
        ASSERT_EQ_INT(user_state_expire(&s, NOW + S(3599)), 0);
        ASSERT_EQ_INT(user_state_expire(&s, NOW + S(3600)), 1); /* at its end exactly */
        ASSERT_EQ_INT(user_state_expire(&s, NOW + S(7200)), 1);
        ASSERT_EQ_INT(s.n, 1);
        user_state_done(&s);

        /* --memory infinity survives the file as "infinity" */
        {
                UserLimit inf = { .set = true, .memory_bytes = UINT64_MAX, .since_usec = NOW,
                                  .until_usec = USEC_INFINITY };
                UserState back = { 0 };
                _cleanup_(freep) char *text = NULL;
                char error[256] = "";

                s = (UserState) { 0 };
                ASSERT_EQ_INT(user_state_set_limit(&s, 1, &inf), 0);
                ASSERT_EQ_INT(user_state_format(&s, &text), 0);
                ASSERT_CONTAINS(text, "\"memory\": \"infinity\"");
                ASSERT_EQ_INT(user_state_parse(text, strlen(text), NOW, &back, NULL, error, sizeof(error)), 0);
                ASSERT_EQ_U64(back.entries[0].limit.memory_bytes, UINT64_MAX);
                user_state_done(&back);
                user_state_done(&s);
        }

        ASSERT_STREQ(user_penalty_mode_to_string(USER_PENALTY_ACTIVE), "active");
        ASSERT_EQ_INT(user_penalty_mode_from_string("locked"), USER_PENALTY_LOCKED);
        ASSERT_EQ_INT(user_penalty_mode_from_string("Locked"), -EINVAL);
}

/* Refused whole, with where and what; the caller's state is untouched. */
TEST(test_parse_refusals) {
        static const struct {
                const char *text, *error;
        } bad[] = {
                { "", "not JSON: line" },
                { "{\"version\": 1, \"users\": [", "not JSON" },
                { "[]", "expected an object" },
                { "{\"version\": 2, \"users\": []}", "version: expected 1" },
                { "{\"users\": []}", "version: expected 1" },
                { "{\"version\": 1}", "users: expected an array" },
                { "{\"version\": 1, \"users\": [], \"extra\": 1}", "top level: unknown key \"extra\"" },
                { "{\"version\": 1, \"version\": 1, \"users\": []}", "duplicate object key" },
                { "{\"version\": 1, \"users\": [7]}", "users[0]: expected an object" },
                { "{\"version\": 1, \"users\": [{\"uid\": -1, \"limit\": {}}]}", "users[0].uid: expected a user id" },
                { "{\"version\": 1, \"users\": [{\"uid\": 4294967295}]}", "users[0].uid: expected a user id" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5}]}", "users[0]: neither a penalty nor a limit" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"penalty\": {\"mode\": \"hard\", \"since\": 1, "
                  "\"until\": 2}}]}", "users[0].penalty.mode: expected \"active\" or \"locked\"" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"penalty\": {\"mode\": \"active\", \"since\": 1}}]}",
                  "users[0].penalty.until: expected seconds since the epoch (an integer >= 0)" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"penalty\": {\"mode\": \"active\", \"since\": 3, "
                  "\"until\": 2}}]}", "users[0].penalty.until: not after since" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"penalty\": {\"mode\": \"active\", \"since\": 1, "
                  "\"until\": 2, \"memory\": 0}}]}", "users[0].penalty.memory: expected bytes" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"penalty\": {\"mode\": \"active\", \"since\": 1, "
                  "\"until\": 2, \"memory\": \"lots\"}}]}", "users[0].penalty.memory: expected bytes (an integer >= 1) or "
                  "\"infinity\"" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"penalty\": {\"mode\": \"active\", \"since\": 1.5, "
                  "\"until\": 2}}]}", "users[0].penalty.since: expected seconds" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"limit\": {\"since\": 1, \"until\": null}}]}",
                  "users[0].limit: neither cpu nor memory" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"limit\": {\"cpu\": 0, \"since\": 1}}]}",
                  "users[0].limit.cpu: expected cores" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"limit\": {\"cpu\": 9000, \"since\": 1}}]}",
                  "users[0].limit.cpu: expected cores" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"limit\": {\"cpu\": 1, \"since\": 1, \"x\": 1}}]}",
                  "users[0].limit: unknown key \"x\"" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"limit\": {\"cpu\": 1, \"since\": 1}}, "
                  "{\"uid\": 5, \"limit\": {\"cpu\": 2, \"since\": 1}}]}", "users[1].uid: 5 is listed twice" },
                { "{\"version\": 1, \"users\": [{\"uid\": 5, \"limit\": {\"cpu\": 1, \"since\": 99999999999999}}]}",
                  "users[0].limit.since: expected seconds" },
        };
        UserState kept = { .entries = (UserStateEntry *) 0x1, .n = 3 };
        char error[256];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                error[0] = 0;
                ASSERT_EQ_INT(user_state_parse(bad[i].text, strlen(bad[i].text), NOW, &kept, NULL, error,
                                               sizeof(error)),
                              -EBADMSG);
                ASSERT_CONTAINS(error, bad[i].error);
                ASSERT_TRUE(kept.entries == (UserStateEntry *) 0x1 && kept.n == 3);
        }
}

static char *make_dir(void) {
        char *dir = strdup("/tmp/test-user-state-XXXXXX");

        ASSERT_TRUE(dir && mkdtemp(dir));
        return dir;
}

static void remove_dir(const char *dir) {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ASSERT_EQ_INT(system(cmd), 0);
}

TEST(test_save_and_load) {
        _cleanup_(freep) char *dir = make_dir(), *sub = NULL, *path = NULL, *data = NULL;
        UserState s = sample_state(), back;
        char error[512] = "";
        struct stat st;
        size_t expired, size;

        /* StateDirectory= makes it, but a missing one is created */
        ASSERT_TRUE(asprintf(&sub, "%s/lib/slicekeeper", dir) > 0);
        ASSERT_EQ_INT(user_state_load(sub, NOW, &back, &expired, error, sizeof(error)), 0);
        ASSERT_EQ_INT(back.n, 0);
        ASSERT_EQ_INT(user_state_save(sub, &s), 0);
        ASSERT_TRUE(asprintf(&path, "%s/users.json", sub) > 0);
        ASSERT_EQ_INT(stat(path, &st), 0);
        ASSERT_EQ_INT(st.st_mode & 07777, 0644);
        ASSERT_EQ_INT(user_state_load(sub, NOW + S(3600), &back, &expired, error, sizeof(error)), 0);
        ASSERT_EQ_INT(expired, 1);
        ASSERT_EQ_INT(back.n, 2);
        ASSERT_TRUE(back.entries[0].limit.set && back.entries[0].limit.cpu_cores == 1.5);
        user_state_done(&back);

        /* saving again replaces the file; nothing else is left in the directory */
        ASSERT_TRUE(user_state_clear_limit(&s, 1001));
        ASSERT_EQ_INT(user_state_save(sub, &s), 0);
        ASSERT_EQ_INT(user_state_load(sub, NOW, &back, &expired, error, sizeof(error)), 0);
        ASSERT_EQ_INT(back.n, 1);
        user_state_done(&back);
        {
                char cmd[512];

                snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s')\" = users.json", sub);
                ASSERT_EQ_INT(system(cmd), 0);
        }

        /* a corrupt file: a clear error, an empty state, the file kept aside */
        ASSERT_EQ_INT(write_file_atomic(path, "{\"version\": 1, \"users\": [{\"uid\": 5}"), 0);
        back = (UserState) { .n = 9 };
        ASSERT_EQ_INT(user_state_load(sub, NOW, &back, &expired, error, sizeof(error)), -EBADMSG);
        ASSERT_EQ_INT(back.n, 0);
        ASSERT_CONTAINS(error, "/users.json: not JSON: line 1");
        ASSERT_CONTAINS(error, "moved aside to ");
        ASSERT_CONTAINS(error, "/users.json.corrupt, starting with no penalties or limits");
        ASSERT_TRUE(access(path, F_OK) < 0 && errno == ENOENT);
        free(path);
        path = NULL;
        ASSERT_TRUE(asprintf(&path, "%s/users.json.corrupt", sub) > 0);
        ASSERT_EQ_INT(read_file_bounded(path, 4096, &data, &size), 0);
        ASSERT_STREQ(data, "{\"version\": 1, \"users\": [{\"uid\": 5}"); /* as it was, for the admin */
        /* and the next start is clean */
        ASSERT_EQ_INT(user_state_load(sub, NOW, &back, &expired, error, sizeof(error)), 0);
        ASSERT_EQ_INT(back.n, 0);

        user_state_done(&s);
        remove_dir(dir);
}

int main(void) {
        RUN(test_format_and_parse_round_trip);
        RUN(test_set_clear_expire);
        RUN(test_parse_refusals);
        RUN(test_save_and_load);
        return 0;
}
