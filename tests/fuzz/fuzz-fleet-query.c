/* SPDX-License-Identifier: MIT */
/* The fleet query's reading of Redis's replies (src/fleet/fleet-query.c), and the writer's split of a record into
 * per-group cuts. The input: one byte of seconds, one byte choosing the group, then Redis protocol bytes read by
 * hiredis's own reader: the ZRANGE ... WITHSCORES reply, then HMGET replies, then (after fleet_answer_more())
 * HGET replies. Whatever they hold: the plan's keys match its hosts, the answer is JSON that jansson loads and
 * says what it got, every record cut is an object, and a whole record the scanner takes, jansson takes. The
 * raw bytes as a record: the split takes it exactly when the whole-record scan does (or has too many groups),
 * and each group's cut is byte for byte fleet_record_cut()'s. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fleet-query.h"
#include "fuzz.h"

static const char *const groups[] = { NULL, "a", "a/x", "b", "cpu", "sub_cgroup" };

/* The scanner against jansson: whatever it takes as a whole record, jansson loads as an object; what it passes
 * on of a cut, too. */
static void check_cut(const char *text, size_t len, bool whole, int r, const Buf *out, size_t before) {
        json_t *j;

        if (r <= 0) {
                FUZZ_CHECK(out->size == before);
                return;
        }
        if (whole) {
                j = json_loadb(text, len, 0, NULL);
                FUZZ_CHECK(json_is_object(j));
                json_decref(j);
        }
        j = json_loadb((const char *) out->data + before, out->size - before, 0, NULL);
        FUZZ_CHECK(json_is_object(j));
        json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FleetPlan plan;
        FleetAnswer a;
        redisReader *rd;
        void *reply = NULL;
        unsigned seconds;
        const char *group;
        char err[256];
        int r;

        if (size < 2)
                return 0;
        seconds = data[0] % FLEET_SECONDS_MAX + 1;
        group = groups[data[1] % (sizeof(groups) / sizeof(groups[0]))];
        data += 2, size -= 2;

        /* the record scanner alone on the raw bytes, whole and cut */
        {
                Buf b = { 0 };
                char **parts = NULL;
                size_t n = 0;

                r = fleet_record_cut((const char *) data, size, NULL, 0, &b);
                check_cut((const char *) data, size, true, r, &b, 0);
                FUZZ_CHECK(fleet_group_parse(group, &parts, &n) == 0);
                b.size = 0;
                r = fleet_record_cut((const char *) data, size, parts, n, &b);
                check_cut((const char *) data, size, n == 0, r, &b, 0);
                for (size_t i = 0; i < n; i++)
                        free(parts[i]);
                free(parts);

                /* the split against the cut, group by group */
                {
                        FleetSplit sp = { 0 };
                        int whole;

                        b.size = 0;
                        whole = fleet_record_cut((const char *) data, size, NULL, 0, &b);
                        r = fleet_record_split((const char *) data, size, &sp);
                        FUZZ_CHECK(r != -ENOMEM);
                        FUZZ_CHECK((r >= 0) == (whole > 0));
                        for (size_t i = 0; r > 0 && i < sp.n_groups; i++) {
                                const FleetSplitGroup *g = &sp.groups[i];
                                char *one[2] = { strndup((const char *) sp.text.data + g->name, g->name_len), NULL };
                                char **check = NULL;
                                size_t n_check = 0;

                                if (!one[0])
                                        break;
                                /* a name a path can say as one part */
                                FUZZ_CHECK(strlen(one[0]) == g->name_len);
                                FUZZ_CHECK(fleet_group_parse(one[0], &check, &n_check) == 0 && n_check == 1 &&
                                           strcmp(check[0], one[0]) == 0);
                                free(check[0]);
                                free(check);
                                b.size = 0;
                                FUZZ_CHECK(fleet_record_cut((const char *) data, size, one, 1, &b) == 1);
                                FUZZ_CHECK(b.size == g->cut_len &&
                                           memcmp(b.data, sp.text.data + g->cut, b.size) == 0);
                                free(one[0]);
                        }
                        fleet_split_done(&sp);
                }
                buf_done(&b);
        }

        /* hiredis 0.14 allocates an array's elements as its header says, before they come (no maxelements):
         * an array of a million or more is not fed to it */
        for (size_t i = 0; i < size; i++) {
                size_t d = 0;

                if (data[i] != '*')
                        continue;
                while (i + 1 + d < size && data[i + 1 + d] >= '0' && data[i + 1 + d] <= '9')
                        d++;
                if (d >= 6)
                        return 0;
        }
        rd = redisReaderCreate();
        if (!rd)
                return 0;
        if (redisReaderFeed(rd, (const char *) data, size) != REDIS_OK ||
            redisReaderGetReply(rd, &reply) != REDIS_OK || !reply) {
                redisReaderFree(rd);
                return 0;
        }
        r = fleet_plan_build("R", 1000, seconds, reply, &plan, err, sizeof(err));
        freeReplyObject(reply);
        if (r < 0) {
                redisReaderFree(rd);
                return 0;
        }
        {
                size_t keys = 0;

                for (size_t i = 0; i < plan.n_hosts; i++) {
                        FUZZ_CHECK(plan.hosts[i].first_key == keys);
                        FUZZ_CHECK(plan.hosts[i].n_keys <= seconds);
                        FUZZ_CHECK(i == 0 || strcmp(plan.hosts[i - 1].node, plan.hosts[i].node) < 0);
                        keys += plan.hosts[i].n_keys;
                }
                FUZZ_CHECK(keys == plan.n_keys && plan.keys[keys] == NULL);
        }
        FUZZ_CHECK(fleet_answer_init(&a, &plan, group, err, sizeof(err)) == 0);
        FUZZ_CHECK(a.n_commands == plan.n_keys);
        for (size_t k = 0;; k++) {
                if (k == a.n_commands) {
                        const FleetCommand *cmds;
                        size_t n;

                        FUZZ_CHECK(fleet_answer_more(&a, &cmds, &n) == 0);
                        FUZZ_CHECK(n == a.n_pending);
                }
                reply = NULL;
                if (redisReaderGetReply(rd, &reply) != REDIS_OK || !reply)
                        break;
                r = fleet_answer_add(&a, reply, err, sizeof(err));
                freeReplyObject(reply);
                if (r < 0)
                        break;
        }
        if (r >= 0 && fleet_answer_finish(&a, err, sizeof(err)) == 0) {
                json_t *j = json_loadb((const char *) a.text.data, a.text.size, 0, NULL);
                FleetRow *rows;
                size_t n;

                FUZZ_CHECK(json_is_object(j));
                FUZZ_CHECK(json_object_size(json_object_get(j, "hosts")) == plan.n_hosts);
                FUZZ_CHECK((size_t) json_integer_value(json_object_get(j, "skipped")) == a.skipped);
                json_decref(j);
                if (fleet_table_rows(&a, &rows, &n) == 0) {
                        unsigned w = fleet_host_width(rows, n);
                        char line[256];

                        for (size_t i = 0; i < n; i++)
                                fleet_format_row(&rows[i], w, line, sizeof(line));
                        free(rows);
                }
        }
        fleet_answer_done(&a);
        fleet_plan_done(&plan);
        redisReaderFree(rd);
        return 0;
}
