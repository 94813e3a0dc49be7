/* SPDX-License-Identifier: MIT */
/* A fleet user's ZooKeeper node (fleet_user_parse, src/policy/fleet-users.c) with any contents, read at
 * 2025-12-01 00:00 UTC so the seeds hold live and ended parts. A refusal names the node, says why and leaves
 * the caller's entry untouched; an accepted value holds only live parts in range, goes into the set and
 * out again, and what applies from it is the fleet's. The same bytes as a user name must not crash. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet-users.h"
#include "fuzz.h"
#include "macro.h"

#define NOW ((usec_t) 1764547200 * USEC_PER_SEC)
#define NODE "/sk/users/alice"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        UserStateEntry e = { .uid = 7 };
        FleetUsers s = FLEET_USERS_INIT;
        UserPenaltyMode mode = size > 0 && (data[0] & 1) ? USER_PENALTY_LOCKED : USER_PENALTY_ACTIVE;
        char error[512], *name;
        const char *act;
        UserApplied a;
        int r;

        memset(error, 'x', sizeof(error));
        r = fleet_user_parse(NODE, (const char *) data, size, NOW, mode, &e, error, sizeof(error));
        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG);
                FUZZ_CHECK(e.uid == 7);
                FUZZ_CHECK(strnlen(error, sizeof(error)) < sizeof(error));
                FUZZ_CHECK(strncmp(error, NODE ": ", strlen(NODE ": ")) == 0 && strlen(error) > strlen(NODE ": "));
        } else {
                FUZZ_CHECK(r == 0 && e.uid == 0);
                FUZZ_CHECK(size <= FLEET_USER_MAX_BYTES);
                if (e.penalty.set) {
                        FUZZ_CHECK(e.penalty.mode == USER_PENALTY_ACTIVE || e.penalty.mode == USER_PENALTY_LOCKED);
                        FUZZ_CHECK(e.penalty.until_usec > NOW);
                        FUZZ_CHECK(e.penalty.memory_bytes == 0 || (e.penalty.memory_bytes >= FLEET_MEMORY_MIN &&
                                                                   e.penalty.memory_bytes <= FLEET_MEMORY_MAX));
                }
                if (e.limit.set) {
                        FUZZ_CHECK(e.limit.cpu_cores > 0 || e.limit.memory_bytes > 0);
                        FUZZ_CHECK(e.limit.cpu_cores >= 0 && e.limit.cpu_cores <= FLEET_CPU_MAX_CORES);
                        FUZZ_CHECK(e.limit.memory_bytes == 0 || e.limit.memory_bytes == UINT64_MAX ||
                                   (e.limit.memory_bytes >= FLEET_MEMORY_MIN &&
                                    e.limit.memory_bytes <= FLEET_MEMORY_MAX));
                        FUZZ_CHECK(e.limit.until_usec > NOW);
                }
                FUZZ_CHECK(fleet_users_set(&s, "alice", &e, NOW) == 0);
                FUZZ_CHECK(fleet_users_count(&s) == 1);
                fleet_user_applied(NULL, fleet_users_find(&s, "alice"), NOW, &a);
                FUZZ_CHECK(a.penalty.set == e.penalty.set && a.limit.set == e.limit.set);
                FUZZ_CHECK(!a.penalty.set || a.penalty_source == USER_SOURCE_FLEET);
                act = fleet_user_penalty_action(&(UserPenalty) { 0 }, &a.penalty, NOW);
                FUZZ_CHECK(a.penalty.set ? act && streq(act, "on") : !act);
                act = fleet_user_limit_action(&(UserLimit) { 0 }, &a.limit, NOW);
                FUZZ_CHECK(a.limit.set ? act && streq(act, "set") : !act);
                FUZZ_CHECK(fleet_users_next_expiry(&s) > NOW);
                FUZZ_CHECK(fleet_users_expire(&s, NOW) == 0);
                FUZZ_CHECK(fleet_users_remove(&s, "alice"));
        }
        fleet_users_done(&s);

        name = strndup((const char *) data, MIN(size, (size_t) FLEET_USER_NAME_MAX + 8));
        if (name) {
                bool valid = fleet_user_name_is_valid(name);

                FUZZ_CHECK(!valid || (strlen(name) >= 1 && strlen(name) <= FLEET_USER_NAME_MAX &&
                                      !strchr(name, '/') && name[0] != '.' && name[0] != '-'));
                free(name);
        }
        return 0;
}
