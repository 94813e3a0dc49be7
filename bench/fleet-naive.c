/* SPDX-License-Identifier: MIT */
/* The naive fleet reader, for bench/fleet-bench.py: what a reader key by key does, the same HMGET of the group's
 * field (or the whole record's) per host per second as `slicekeeper fleet` but each waiting for its answer, the same
 * heartbeat read and the same answer code as `slicekeeper fleet`
 * (src/fleet), so only the round trips differ.
 *
 *     fleet-naive HOST:PORT PREFIX GROUP|- SECONDS [END]   (prints the answer; round trips to stderr)
 *
 * END: the window's last second, as `slicekeeper fleet --end` (default now). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "fleet-query.h"

int main(int argc, char *argv[]) {
        FleetPlan plan = { 0 };
        FleetAnswer answer = { 0 };
        redisContext *c;
        redisReply *hosts;
        unsigned seconds, round_trips = 0;
        char error[512], host[256];
        int port;
        uint64_t end = (uint64_t) time(NULL);

        if (argc < 5 || argc > 6 || sscanf(argv[1], "%255[^:]:%d", host, &port) != 2 ||
            fleet_seconds_parse(argv[4], &seconds) < 0 || (argc == 6 && sscanf(argv[5], "%" SCNu64, &end) != 1)) {
                fprintf(stderr, "usage: fleet-naive HOST:PORT PREFIX GROUP|- SECONDS [END]\n");
                return 1;
        }
        c = redisConnect(host, port);
        if (!c || c->err)
                return 1;
        hosts = redisCommand(c, "ZRANGE %s/hosts 0 %d WITHSCORES", argv[2], FLEET_HOSTS_MAX);
        round_trips++;
        if (fleet_plan_build(argv[2], end, seconds, hosts, &plan, error, sizeof(error)) < 0 ||
            fleet_answer_init(&answer, &plan, argv[3][0] == '-' ? NULL : argv[3], error, sizeof(error)) < 0) {
                fprintf(stderr, "%s\n", error);
                return 1;
        }
        freeReplyObject(hosts);
        for (unsigned step = 0; step < 2; step++) {
                const FleetCommand *cmds = answer.commands;
                size_t n = answer.n_commands;

                if (step == 1 && fleet_answer_more(&answer, &cmds, &n) < 0)
                        return 1;
                for (size_t k = 0; k < n; k++) {
                        redisReply *v = redisCommandArgv(c, cmds[k].argc, cmds[k].argv, NULL);

                        round_trips++;
                        if (!v || fleet_answer_add(&answer, v, error, sizeof(error)) < 0)
                                return 1;
                        freeReplyObject(v);
                }
        }
        if (fleet_answer_finish(&answer, error, sizeof(error)) < 0)
                return 1;
        fwrite(answer.text.data, 1, answer.text.size, stdout);
        fputc('\n', stdout);
        fprintf(stderr, "fleet-naive: %zu hosts, %zu keys, %u round trips\n", plan.n_hosts, plan.n_keys,
                round_trips);
        fleet_answer_done(&answer);
        fleet_plan_done(&plan);
        redisFree(c);
        return 0;
}
