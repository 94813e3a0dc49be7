/* SPDX-License-Identifier: MIT */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdarg.h>

#include "fleet-query.h"
#include "macro.h"
#include "tests.h"

/* A reply as hiredis reads it from the wire. */
static redisReply *reply_from(const char *resp, size_t len) {
        redisReader *rd = redisReaderCreate();
        void *reply = NULL;

        ASSERT_TRUE(rd);
        ASSERT_TRUE(redisReaderFeed(rd, resp, len) == REDIS_OK);
        ASSERT_TRUE(redisReaderGetReply(rd, &reply) == REDIS_OK);
        ASSERT_TRUE(reply);
        redisReaderFree(rd);
        return reply;
}

/* An array reply of n items, each a string or NULL for nil. */
static redisReply *array_reply(size_t n, const char *const *items) {
        Buf b = { 0 };
        char head[64];
        redisReply *r;

        snprintf(head, sizeof(head), "*%zu\r\n", n);
        ASSERT_TRUE(buf_put(&b, head, strlen(head)) == 0);
        for (size_t i = 0; i < n; i++) {
                if (!items[i]) {
                        ASSERT_TRUE(buf_put(&b, "$-1\r\n", 5) == 0);
                        continue;
                }
                snprintf(head, sizeof(head), "$%zu\r\n", strlen(items[i]));
                ASSERT_TRUE(buf_put(&b, head, strlen(head)) == 0);
                ASSERT_TRUE(buf_put(&b, items[i], strlen(items[i])) == 0);
                ASSERT_TRUE(buf_put(&b, "\r\n", 2) == 0);
        }
        r = reply_from((const char *) b.data, b.size);
        buf_done(&b);
        return r;
}

/* A record of the daemon's shape: groups a (child x) and b; cpu usage in ns given per group. */
static char *record(unsigned long long a_ns, unsigned long long x_ns, unsigned long long b_ns, unsigned long long mem) {
        char *s;

        ASSERT_TRUE(asprintf(&s,
                 "{\"cpu\":{\"value\":{\"usage\":9},\"sub_cgroup\":{\"a\":{\"value\":{\"usage\":%llu},"
                 "\"sub_cgroup\":{\"x\":{\"value\":{\"usage\":%llu}}}},\"b\":{\"value\":{\"usage\":%llu}}}},"
                 "\"memory\":{\"value\":{\"usage\":5000},\"sub_cgroup\":{\"a\":{\"value\":{\"usage\":%llu},"
                 "\"sub_cgroup\":{\"x\":{\"value\":{\"usage\":50}}}},\"b\":{\"value\":{\"usage\":1000}}}},"
                 "\"pids\":{\"value\":{\"current\":9},\"sub_cgroup\":{\"a\":{\"value\":{\"current\":4},"
                 "\"sub_cgroup\":{\"x\":{\"value\":{\"current\":1}}}},\"b\":{\"value\":{\"current\":2}}}},"
                 "\"users\":{\"1000\":{\"name\":\"alice\",\"cpu\":{\"usage\":1}}}}",
                 a_ns, x_ns, b_ns, mem) >= 0);
        return s;
}

static int cut(const char *text, const char *group, char **ret) {
        char **parts = NULL;
        size_t n = 0;
        Buf b = { 0 };
        int r;

        ASSERT_TRUE(fleet_group_parse(group, &parts, &n) == 0);
        r = fleet_record_cut(text, strlen(text), parts, n, &b);
        for (size_t i = 0; i < n; i++)
                free(parts[i]);
        free(parts);
        ASSERT_TRUE(buf_put(&b, "", 1) == 0);
        *ret = strdup((const char *) b.data);
        buf_done(&b);
        return r;
}

TEST(test_seconds_parse) {
        unsigned s;

        ASSERT_TRUE(fleet_seconds_parse("10", &s) == 0);
        ASSERT_EQ_INT(s, 10);
        ASSERT_TRUE(fleet_seconds_parse("300", &s) == 0);
        ASSERT_TRUE(fleet_seconds_parse("301", &s) == -EINVAL);
        ASSERT_TRUE(fleet_seconds_parse("0", &s) == -EINVAL);
        ASSERT_TRUE(fleet_seconds_parse("-1", &s) == -EINVAL);
        ASSERT_TRUE(fleet_seconds_parse("", &s) == -EINVAL);
        ASSERT_TRUE(fleet_seconds_parse("1x", &s) == -EINVAL);
}

TEST(test_group_parse) {
        char **p;
        size_t n;

        ASSERT_TRUE(fleet_group_parse("/a/b/", &p, &n) == 0);
        ASSERT_EQ_INT(n, 2);
        ASSERT_STREQ(p[0], "a");
        ASSERT_STREQ(p[1], "b");
        ASSERT_TRUE(p[2] == NULL);
        free(p[0]), free(p[1]), free(p);
        ASSERT_TRUE(fleet_group_parse("/", &p, &n) == 0 && n == 0 && !p);
        ASSERT_TRUE(fleet_group_parse(NULL, &p, &n) == 0 && n == 0 && !p);
        ASSERT_TRUE(fleet_group_parse("a//b", &p, &n) == -EINVAL);
        ASSERT_TRUE(fleet_group_parse("a/../b", &p, &n) == -EINVAL);
        ASSERT_TRUE(fleet_group_parse("a/./b", &p, &n) == -EINVAL);
        ASSERT_TRUE(fleet_group_parse("a\nb", &p, &n) == -EINVAL);
}

TEST(test_plan) {
        const char *items[] = { "n2", "995", "bad/name", "1000", "n1", "1000", "n3", "12x", "old", "900",
                                "ahead", "1005" };
        redisReply *r = array_reply(ELEMENTSOF(items), items);
        FleetPlan p;
        char err[256];

        ASSERT_TRUE(fleet_plan_build("cgroup_arch", 1000, 10, r, &p, err, sizeof(err)) == 0);
        ASSERT_EQ_INT(p.n_hosts, 4);
        ASSERT_EQ_INT(p.skipped_hosts, 2);
        ASSERT_STREQ(p.hosts[0].node, "ahead");
        ASSERT_STREQ(p.hosts[1].node, "n1");
        ASSERT_STREQ(p.hosts[2].node, "n2");
        ASSERT_STREQ(p.hosts[3].node, "old");
        /* ahead: 991..1000 (not past now); n1: 991..1000; n2: 991..995; old: none */
        ASSERT_EQ_INT(p.hosts[0].n_keys, 10);
        ASSERT_EQ_INT(p.hosts[2].n_keys, 5);
        ASSERT_EQ_INT(p.hosts[3].n_keys, 0);
        ASSERT_EQ_INT(p.n_keys, 25);
        ASSERT_STREQ(p.keys[0], "cgroup_arch/host/ahead/account/991");
        ASSERT_STREQ(p.keys[10], "cgroup_arch/host/n1/account/991");
        ASSERT_STREQ(p.keys[24], "cgroup_arch/host/n2/account/995");
        ASSERT_TRUE(p.keys[25] == NULL);
        fleet_plan_done(&p);

        ASSERT_TRUE(fleet_plan_build("cgroup_arch", 1000, 0, r, &p, err, sizeof(err)) == -EINVAL);
        ASSERT_TRUE(fleet_plan_build("cgroup_arch", 1000, 301, r, &p, err, sizeof(err)) == -EINVAL);
        freeReplyObject(r);

        /* an error reply, another shape */
        r = reply_from("-WRONGTYPE Operation against a key\r\n", 36);
        ASSERT_TRUE(fleet_plan_build("p", 1000, 10, r, &p, err, sizeof(err)) == -EIO);
        ASSERT_CONTAINS(err, "WRONGTYPE");
        freeReplyObject(r);
        r = reply_from(":5\r\n", 4);
        ASSERT_TRUE(fleet_plan_build("p", 1000, 10, r, &p, err, sizeof(err)) == -EBADMSG);
        freeReplyObject(r);
        {
                const char *odd[] = { "a", "1", "b" };

                r = array_reply(3, odd);
                ASSERT_TRUE(fleet_plan_build("p", 1000, 10, r, &p, err, sizeof(err)) == -EBADMSG);
                freeReplyObject(r);
        }
        /* empty: no hosts, no keys */
        r = reply_from("*0\r\n", 4);
        ASSERT_TRUE(fleet_plan_build("p", 1000, 10, r, &p, err, sizeof(err)) == 0);
        ASSERT_EQ_INT(p.n_hosts, 0);
        ASSERT_EQ_INT(p.n_keys, 0);
        fleet_plan_done(&p);
        freeReplyObject(r);
}

TEST(test_plan_too_many_hosts) {
        size_t n = 2 * (FLEET_HOSTS_MAX + 1);
        const char **items = calloc(n, sizeof(char *));
        char (*names)[16] = calloc(FLEET_HOSTS_MAX + 1, 16);
        redisReply *r;
        FleetPlan p;
        char err[256];

        for (size_t i = 0; i <= FLEET_HOSTS_MAX; i++) {
                snprintf(names[i], 16, "h%zu", i);
                items[2 * i] = names[i];
                items[2 * i + 1] = "1000";
        }
        r = array_reply(n, items);
        ASSERT_TRUE(fleet_plan_build("p", 1000, 10, r, &p, err, sizeof(err)) == -E2BIG);
        ASSERT_CONTAINS(err, "more than 10000 hosts");
        freeReplyObject(r);
        /* exactly the maximum is fine */
        r = array_reply(n - 2, items);
        ASSERT_TRUE(fleet_plan_build("p", 1000, 10, r, &p, err, sizeof(err)) == 0);
        ASSERT_EQ_INT(p.n_hosts, FLEET_HOSTS_MAX);
        ASSERT_EQ_INT(p.n_keys, 10 * FLEET_HOSTS_MAX);
        fleet_plan_done(&p);
        freeReplyObject(r);
        free(items);
        free(names);
}

TEST(test_cut) {
        _cleanup_(freep) char *rec = record(100, 40, 200, 77);
        char *out;

        ASSERT_EQ_INT(cut(rec, "a", &out), 1);
        ASSERT_STREQ(out, "{\"cpu\":{\"value\":{\"usage\":100},\"sub_cgroup\":{\"x\":{\"value\":{\"usage\":40}}}},"
                          "\"memory\":{\"value\":{\"usage\":77},\"sub_cgroup\":{\"x\":{\"value\":{\"usage\":50}}}},"
                          "\"pids\":{\"value\":{\"current\":4},\"sub_cgroup\":{\"x\":{\"value\":{\"current\":1}}}}}");
        free(out);
        ASSERT_EQ_INT(cut(rec, "a/x", &out), 1);
        ASSERT_STREQ(out, "{\"cpu\":{\"value\":{\"usage\":40}},\"memory\":{\"value\":{\"usage\":50}},"
                          "\"pids\":{\"value\":{\"current\":1}}}");
        free(out);
        ASSERT_EQ_INT(cut(rec, "nope", &out), 0);
        ASSERT_STREQ(out, "");
        free(out);
        ASSERT_EQ_INT(cut(rec, "a/x/y", &out), 0);
        free(out);
        /* the whole record passes as it is */
        ASSERT_EQ_INT(cut(rec, NULL, &out), 1);
        ASSERT_STREQ(out, rec);
        free(out);
        /* escaped names match what they say; whitespace is fine */
        ASSERT_EQ_INT(cut(" {\"cpu\" : {\"sub_cgroup\" : {\"\\u00e9t\\u00e9\" : {\"value\":{\"usage\":1}}}}} \n",
                          "\xc3\xa9t\xc3\xa9", &out), 1);
        ASSERT_STREQ(out, "{\"cpu\":{\"value\":{\"usage\":1}}}");
        free(out);
        /* with a group, what is not passed on is only skipped; what is, is checked */
        ASSERT_EQ_INT(cut("{\"cpu\":{\"value\":{\"usage\":01,\"x\":tru},\"sub_cgroup\":{\"b\":[1,{\"\xff\":2}],"
                          "\"a\":{\"value\":{\"usage\":1}}}},\"junk\":[nul]}", "a", &out), 1);
        ASSERT_STREQ(out, "{\"cpu\":{\"value\":{\"usage\":1}}}");
        free(out);
        ASSERT_EQ_INT(cut("{\"cpu\":{\"sub_cgroup\":{\"a\":{\"value\":{\"usage\":01}}}}}", "a", &out), -EBADMSG);
        free(out);
        ASSERT_EQ_INT(cut("{\"cpu\":{\"sub_cgroup\":{\"b\":[1}}, \"a\":{}}}", "a", &out), -EBADMSG);
        free(out);
        ASSERT_EQ_INT(cut("{\"cpu\":{\"sub_cgroup\":{\"b\":\"x}}}", "a", &out), -EBADMSG);
        free(out);
        ASSERT_EQ_INT(cut("{\"cpu\":{\"sub_cgroup\":{\"b\":,\"a\":{}}}}", "a", &out), -EBADMSG);
        free(out);
        /* a repeated controller: the first counts */
        ASSERT_EQ_INT(cut("{\"cpu\":{\"sub_cgroup\":{\"a\":1}},\"cpu\":{\"sub_cgroup\":{\"a\":2}}}", "a", &out), 1);
        ASSERT_STREQ(out, "{\"cpu\":1}");
        free(out);
}

TEST(test_cut_invalid) {
        static const char *const bad[] = {
                "", "[]", "1", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":01}", "{\"a\":1.}",
                "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\xc0\x80\"}",
                "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"x\ny\"}", "{\"a\":tru}",
                "{\"a\":9223372036854775808}", "{\"a\":-9223372036854775809}", "{\"a\":1e999}", "{\"a\":\"\\x\"}",
                "{\"a\":[1,]}", "{'a':1}",
        };
        static const char *const good[] = {
                "{}", "{\"a\":[]}", "{\"a\":9223372036854775807}", "{\"a\":-9223372036854775808}",
                "{\"a\":1e-999}", "{\"a\":\"\\ud83d\\ude00 \xf0\x9f\x98\x80\"}", "{\"a\":[true,false,null,-0.5e+3]}",
        };
        Buf b = { 0 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_t *j = json_loads(bad[i], 0, NULL);

                if (fleet_record_cut(bad[i], strlen(bad[i]), NULL, 0, &b) != -EBADMSG) {
                        fprintf(stderr, "accepted: %s\n", bad[i]);
                        abort();
                }
                /* what we refuse, jansson refuses too (or it is not an object) */
                ASSERT_TRUE(!j || !json_is_object(j));
                json_decref(j);
                ASSERT_EQ_INT(b.size, 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                json_t *j = json_loads(good[i], 0, NULL);

                b.size = 0;
                if (fleet_record_cut(good[i], strlen(good[i]), NULL, 0, &b) != 1) {
                        fprintf(stderr, "refused: %s\n", good[i]);
                        abort();
                }
                ASSERT_TRUE(j);
                json_decref(j);
        }
        /* nesting: 256 levels pass, deeper does not */
        {
                char deep[2 * 300 + 16];
                size_t n = 0;

                for (size_t d = 0; d < 300; d++)
                        n += (size_t) sprintf(deep + n, d == 0 ? "{\"a\":" : "[");
                deep[n++] = '1';
                for (size_t d = 1; d < 300; d++)
                        deep[n++] = ']';
                deep[n++] = '}';
                deep[n] = 0;
                ASSERT_EQ_INT(fleet_record_cut(deep, n, NULL, 0, &b), -EBADMSG);
        }
        buf_done(&b);
}

/* A bulk string reply, or nil for NULL. */
static redisReply *bulk_reply(const char *value) {
        char *resp;
        redisReply *r;

        if (!value)
                return reply_from("$-1\r\n", 5);
        ASSERT_TRUE(asprintf(&resp, "$%zu\r\n%s\r\n", strlen(value), value) >= 0);
        r = reply_from(resp, strlen(resp));
        free(resp);
        return r;
}

/* HMGET <key> <field> /groups's reply: the field's value and /groups's (NULL: nil). */
static redisReply *hmget_reply(const char *value, const char *groups) {
        const char *items[2] = { value, groups };

        return array_reply(2, items);
}

/* Adds per key: n HMGET replies of values (a record not split: value NULL, groups "*"). */
static void add_all(FleetAnswer *a, size_t n, char *const *values, const char *groups) {
        char err[256];

        for (size_t i = 0; i < n; i++) {
                redisReply *v = hmget_reply(values[i], groups);

                ASSERT_EQ_INT(fleet_answer_add(a, v, err, sizeof(err)), 0);
                freeReplyObject(v);
        }
}

/* Round trip 3: the HGETs asked for get these whole records. */
static void add_more(FleetAnswer *a, size_t n, char *const *records) {
        const FleetCommand *cmds;
        size_t m;
        char err[256];

        ASSERT_EQ_INT(fleet_answer_more(a, &cmds, &m), 0);
        ASSERT_EQ_INT(m, n);
        for (size_t i = 0; i < n; i++) {
                redisReply *v = bulk_reply(records[i]);

                ASSERT_EQ_INT(cmds[i].argc, 3);
                ASSERT_STREQ(cmds[i].argv[0], "HGET");
                ASSERT_STREQ(cmds[i].argv[2], "*");
                ASSERT_EQ_INT(fleet_answer_add(a, v, err, sizeof(err)), 0);
                freeReplyObject(v);
        }
}

/* The split of text: 1 and every group's cut as fleet_record_cut() gives it, or what fleet_record_split()
 * returned. *ret_names the names, NUL-separated ("a,b," as "a\0b\0"), in a static buffer. */
static int check_split(const char *text, char **ret_names) {
        static char names[8192];
        FleetSplit sp = { 0 };
        size_t at = 0;
        int r;

        r = fleet_record_split(text, strlen(text), &sp);
        if (r <= 0) {
                ASSERT_EQ_INT(sp.n_groups, 0);
                fleet_split_done(&sp);
                if (ret_names)
                        *ret_names = NULL;
                return r;
        }
        for (size_t i = 0; i < sp.n_groups; i++) {
                const FleetSplitGroup *g = &sp.groups[i];
                char *parts[2] = { strndup((const char *) sp.text.data + g->name, g->name_len), NULL };
                Buf b = { 0 };

                ASSERT_TRUE(parts[0]);
                ASSERT_EQ_INT(fleet_record_cut(text, strlen(text), parts, 1, &b), 1);
                if (b.size != g->cut_len || memcmp(b.data, sp.text.data + g->cut, b.size) != 0) {
                        fprintf(stderr, "group %s: split %.*s, cut %.*s\n", parts[0], (int) g->cut_len,
                                (const char *) sp.text.data + g->cut, (int) b.size, (const char *) b.data);
                        ASSERT_TRUE(false);
                }
                /* and the whole text's cut below it equals the cut of the group's cut */
                ASSERT_TRUE(at + g->name_len + 1 < sizeof(names));
                memcpy(names + at, parts[0], g->name_len);
                names[at + g->name_len] = ',';
                at += g->name_len + 1;
                buf_done(&b);
                free(parts[0]);
        }
        names[at] = 0;
        if (ret_names)
                *ret_names = names;
        fleet_split_done(&sp);
        return r;
}

TEST(test_split) {
        _cleanup_(freep) char *rec = record(1, 2, 3, 4);
        char *names;

        ASSERT_EQ_INT(check_split(rec, &names), 1);
        ASSERT_STREQ(names, "a,b,");
        /* odd ones: an escaped name is the name; a controller twice (the first with the group counts, per group);
         * a name twice in one sub_cgroup, sub_cgroup twice; names a path cannot say are left out */
        ASSERT_EQ_INT(check_split("{\"cpu\":{\"sub_cgroup\":{\"\\u0061\":{\"v\":1},\"a\":{\"v\":2}},"
                                  "\"sub_cgroup\":{\"a\":3,\"c\":[1]}},\"cpu\":{\"sub_cgroup\":{\"b\":1,\"a\":9}},"
                                  "\"io\":{\"sub_cgroup\":{\"*\":1,\".\":1,\"..\":1,\"x/y\":1,\"\":1,\"t\\tab\":1,"
                                  "\"\\u00e9t\u00e9\":{},\"b\":null}},\"users\":{\"1\":{\"sub_cgroup\":5}},"
                                  "\"n\":[1,{\"sub_cgroup\":{\"z\":1}}],\"\\u0063pu\":{\"sub_cgroup\":{\"q\":1}}}",
                                  &names), 1);
        ASSERT_STREQ(names, "a,c,b,\xc3\xa9t\xc3\xa9,");
        /* no groups at all; no controllers */
        ASSERT_EQ_INT(check_split("{\"cpu\":{\"value\":{}}}", &names), 1);
        ASSERT_STREQ(names, "");
        ASSERT_EQ_INT(check_split("{}", &names), 1);
        /* not valid anywhere (a group's node, outside any group): no split */
        ASSERT_EQ_INT(check_split("{\"cpu\":{\"sub_cgroup\":{\"a\":{\"v\":01}}}}", NULL), -EBADMSG);
        ASSERT_EQ_INT(check_split("{\"cpu\":{\"sub_cgroup\":{\"a\":1}},\"x\":\"\\u0000\"}", NULL), -EBADMSG);
        ASSERT_EQ_INT(check_split("{\"cpu\":{}} x", NULL), -EBADMSG);
        ASSERT_EQ_INT(check_split("[1]", NULL), -EBADMSG);
        ASSERT_EQ_INT(check_split("", NULL), -EBADMSG);
        /* 64 groups split, 65 do not */
        for (unsigned n = 64; n <= 65; n++) {
                Buf b = { 0 };
                char one[64];

                ASSERT_TRUE(buf_put(&b, "{\"cpu\":{\"sub_cgroup\":{", strlen("{\"cpu\":{\"sub_cgroup\":{")) == 0);
                for (unsigned i = 0; i < n; i++) {
                        snprintf(one, sizeof(one), "%s\"g%u\":{\"value\":{\"usage\":%u}}", i ? "," : "", i, i);
                        ASSERT_TRUE(buf_put(&b, one, strlen(one)) == 0);
                }
                snprintf(one, sizeof(one), "}},\"memory\":{\"sub_cgroup\":{\"g3\":{}}}}");
                ASSERT_TRUE(buf_put(&b, one, strlen(one) + 1) == 0);
                ASSERT_EQ_INT(check_split((const char *) b.data, NULL), n == 64 ? 1 : 0);
                buf_done(&b);
        }
}

TEST(test_answer_from_fields) {
        const char *hosts[] = { "n1", "1000" };
        redisReply *hr = array_reply(ELEMENTSOF(hosts), hosts);
        _cleanup_(freep) char *r1 = record(1000000000ULL, 7, 2, 10), *want = NULL, *got = NULL;
        FleetSplit sp = { 0 };
        FleetPlan p;
        FleetAnswer a;
        char err[256], *vals[2], *field_a = NULL;
        json_t *j, *acc;
        redisReply *v;

        ASSERT_TRUE(fleet_plan_build("R", 1000, 2, hr, &p, err, sizeof(err)) == 0);
        ASSERT_EQ_INT(fleet_record_split(r1, strlen(r1), &sp), 1);
        ASSERT_TRUE(sp.n_groups == 2 && memcmp(sp.text.data + sp.groups[0].name, "a", 1) == 0);
        field_a = strndup((const char *) sp.text.data + sp.groups[0].cut, sp.groups[0].cut_len);

        /* a/x read from field a, cut below it: what the whole record cut to a/x is */
        ASSERT_TRUE(fleet_answer_init(&a, &p, "a/x", err, sizeof(err)) == 0);
        ASSERT_STREQ(a.field, "a");
        ASSERT_EQ_INT(a.n_commands, 2);
        ASSERT_EQ_INT(a.commands[0].argc, 4);
        ASSERT_STREQ(a.commands[0].argv[0], "HMGET");
        ASSERT_STREQ(a.commands[0].argv[1], "R/host/n1/account/999");
        ASSERT_STREQ(a.commands[0].argv[2], "a");
        ASSERT_STREQ(a.commands[0].argv[3], "/groups");
        vals[0] = NULL, vals[1] = field_a;
        add_all(&a, 2, vals, "2");
        add_more(&a, 0, NULL); /* split: no third round trip */
        ASSERT_TRUE(fleet_answer_finish(&a, err, sizeof(err)) == 0);
        j = json_loads((const char *) a.text.data, 0, NULL);
        acc = json_object_get(json_object_get(json_object_get(j, "hosts"), "n1"), "account");
        ASSERT_EQ_INT(json_object_size(acc), 1);
        got = json_dumps(json_object_get(acc, "1000"), JSON_COMPACT | JSON_SORT_KEYS);
        ASSERT_EQ_INT(cut(r1, "a/x", &want), 1);
        {
                json_t *w = json_loads(want, 0, NULL);

                free(want);
                want = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
                json_decref(w);
        }
        ASSERT_STREQ(got, want);
        json_decref(j);
        fleet_answer_done(&a);

        /* the group's own field, nothing below; a key of another type is skipped; "*" reads the whole record */
        ASSERT_TRUE(fleet_answer_init(&a, &p, "a", err, sizeof(err)) == 0);
        vals[0] = field_a;
        add_all(&a, 1, vals, "2");
        v = reply_from("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", 68);
        ASSERT_TRUE(fleet_answer_add(&a, v, err, sizeof(err)) == 0);
        freeReplyObject(v);
        add_more(&a, 0, NULL);
        ASSERT_TRUE(fleet_answer_finish(&a, err, sizeof(err)) == 0);
        ASSERT_CONTAINS((const char *) a.text.data, "\"skipped\":1");
        ASSERT_CONTAINS((const char *) a.text.data, field_a);
        fleet_answer_done(&a);
        ASSERT_TRUE(fleet_answer_init(&a, &p, "*/x", err, sizeof(err)) == 0);
        ASSERT_STREQ(a.field, "*");
        ASSERT_EQ_INT(a.field_parts, 0);
        fleet_answer_done(&a);
        ASSERT_TRUE(fleet_answer_init(&a, &p, NULL, err, sizeof(err)) == 0);
        ASSERT_STREQ(a.field, "*");
        fleet_answer_done(&a);
        /* a reply of another shape; another error */
        ASSERT_TRUE(fleet_answer_init(&a, &p, "a", err, sizeof(err)) == 0);
        v = bulk_reply("x");
        ASSERT_TRUE(fleet_answer_add(&a, v, err, sizeof(err)) == -EBADMSG);
        freeReplyObject(v);
        fleet_answer_done(&a);
        ASSERT_TRUE(fleet_answer_init(&a, &p, "a", err, sizeof(err)) == 0);
        v = reply_from("-OOM x\r\n", 8);
        ASSERT_TRUE(fleet_answer_add(&a, v, err, sizeof(err)) == -EIO);
        freeReplyObject(v);
        fleet_answer_done(&a);
        fleet_plan_done(&p);
        freeReplyObject(hr);

        /* split and not split mixed within hosts: the whole records go in at their places, commas right */
        {
                const char *h2[] = { "m1", "1000", "m2", "1000", "m3", "1000" };
                char *f[4], *whole[32];
                size_t n_whole = 0;
                unsigned shapes[3] = { 0x5 /* 0101 */, 0x3 /* 0011 */, 0xF /* 1111 */ };

                hr = array_reply(ELEMENTSOF(h2), h2);
                ASSERT_TRUE(fleet_plan_build("R", 1000, 4, hr, &p, err, sizeof(err)) == 0);
                ASSERT_TRUE(fleet_answer_init(&a, &p, "a/x", err, sizeof(err)) == 0);
                /* per host, bit i set: second 997 + i not split (whole record in round trip 3) */
                for (size_t h = 0; h < 3; h++)
                        for (size_t i = 0; i < 4; i++) {
                                bool whole_rec = shapes[h] >> i & 1;

                                f[0] = whole_rec ? NULL : field_a;
                                add_all(&a, 1, f, whole_rec ? "*" : "2");
                                if (whole_rec)
                                        whole[n_whole++] = (h == 2 && i == 1) ? NULL : r1; /* one expired since */
                        }
                add_more(&a, n_whole, whole);
                ASSERT_TRUE(fleet_answer_finish(&a, err, sizeof(err)) == 0);
                j = json_loads((const char *) a.text.data, 0, NULL);
                ASSERT_TRUE(j);
                for (size_t h = 0; h < 3; h++) {
                        acc = json_object_get(json_object_get(json_object_get(j, "hosts"), h2[2 * h]), "account");
                        ASSERT_EQ_INT(json_object_size(acc), h == 2 ? 3 : 4);
                        for (size_t i = 0; i < 4; i++) {
                                char sec[8];
                                json_t *x;

                                snprintf(sec, sizeof(sec), "%zu", 997 + i);
                                x = json_object_get(acc, sec);
                                if (h == 2 && i == 1) {
                                        ASSERT_TRUE(!x);
                                        continue;
                                }
                                ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(json_object_get(
                                                      x, "cpu"), "value"), "usage")), 7);
                        }
                        ASSERT_EQ_INT(a.results[h].n_records, h == 2 ? 3 : 4);
                        ASSERT_EQ_INT(a.results[h].first_sec, 997);
                        ASSERT_EQ_INT(a.results[h].last_sec, 1000);
                }
                json_decref(j);
                fleet_answer_done(&a);
        }

        free(field_a);
        fleet_split_done(&sp);
        fleet_plan_done(&p);
        freeReplyObject(hr);
}

TEST(test_answer) {
        const char *hosts[] = { "n2", "1000", "n1", "1000", "gone", "980" };
        redisReply *hr = array_reply(ELEMENTSOF(hosts), hosts);
        _cleanup_(freep) char *r1 = record(1000000000ULL, 1, 2, 10), *r2 = record(3000000000ULL, 1, 2, 20),
                              *r3 = record(5000000000ULL, 1, 2, 30);
        char *vals[6];
        FleetPlan p;
        FleetAnswer a;
        FleetRow *rows;
        size_t n_rows;
        char err[256], line[256];
        json_t *j, *h;

        ASSERT_TRUE(fleet_plan_build("R", 1000, 3, hr, &p, err, sizeof(err)) == 0);
        ASSERT_EQ_INT(p.n_keys, 6); /* gone: none; n1, n2: 998..1000 */
        ASSERT_TRUE(fleet_answer_init(&a, &p, "/a", err, sizeof(err)) == 0);
        /* n1: 998 missing, 999 and 1000; n2: 998 not JSON, 999 missing, 1000; none split: all whole records in
         * round trip 3 */
        vals[0] = NULL, vals[1] = r1, vals[2] = r3;
        vals[3] = (char *) "{\"cpu\":", vals[4] = NULL, vals[5] = r2;
        for (size_t i = 0; i < 6; i++) {
                char *none = NULL;

                add_all(&a, 1, &none, vals[i] ? "*" : NULL);
        }
        {
                char *whole[4] = { r1, r3, vals[3], r2 };

                add_more(&a, 4, whole);
        }
        ASSERT_TRUE(fleet_answer_finish(&a, err, sizeof(err)) == 0);
        j = json_loads((const char *) a.text.data, 0, NULL);
        ASSERT_TRUE(j);
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "now")), 1000);
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "seconds")), 3);
        ASSERT_STREQ(json_string_value(json_object_get(j, "group")), "a");
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "stale_after")), 10);
        ASSERT_EQ_INT(json_integer_value(json_object_get(j, "skipped")), 1);
        ASSERT_EQ_INT(json_object_size(json_object_get(j, "hosts")), 3);
        h = json_object_get(json_object_get(j, "hosts"), "n1");
        ASSERT_EQ_INT(json_integer_value(json_object_get(h, "last")), 1000);
        ASSERT_EQ_INT(json_integer_value(json_object_get(h, "age")), 0);
        ASSERT_TRUE(json_is_false(json_object_get(h, "stale")));
        ASSERT_EQ_INT(json_object_size(json_object_get(h, "account")), 2);
        ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(json_object_get(json_object_get(
                              json_object_get(h, "account"), "1000"), "cpu"), "value"), "usage")),
                      5000000000LL);
        h = json_object_get(json_object_get(j, "hosts"), "n2");
        ASSERT_EQ_INT(json_object_size(json_object_get(h, "account")), 1);
        h = json_object_get(json_object_get(j, "hosts"), "gone");
        ASSERT_TRUE(json_is_true(json_object_get(h, "stale")));
        ASSERT_EQ_INT(json_integer_value(json_object_get(h, "age")), 20);
        ASSERT_EQ_INT(json_object_size(json_object_get(h, "account")), 0);
        ASSERT_EQ_INT(json_array_size(json_object_get(j, "stale")), 1);
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(j, "stale"), 0)), "gone");
        json_decref(j);

        /* the table: n1's group a used 4 s of CPU in 1 s: 4 cores; memory and tasks of the last second */
        ASSERT_TRUE(fleet_table_rows(&a, &rows, &n_rows) == 0);
        ASSERT_EQ_INT(n_rows, 3);
        ASSERT_STREQ(rows[1].node, "n1");
        ASSERT_TRUE(rows[1].have == (FLEET_HAVE_CPU | FLEET_HAVE_MEMORY | FLEET_HAVE_TASKS));
        ASSERT_TRUE(rows[1].cpu_cores > 3.999 && rows[1].cpu_cores < 4.001);
        ASSERT_EQ_U64(rows[1].memory_bytes, 30);
        ASSERT_EQ_U64(rows[1].tasks, 4);
        /* n2: one second, no rate */
        ASSERT_TRUE(rows[2].have == (FLEET_HAVE_MEMORY | FLEET_HAVE_TASKS));
        ASSERT_TRUE(rows[0].stale && rows[0].have == 0);
        fleet_format_header(fleet_host_width(rows, n_rows), line, sizeof(line));
        ASSERT_CONTAINS(line, "HOST");
        ASSERT_CONTAINS(line, "CPU");
        fleet_format_row(&rows[1], fleet_host_width(rows, n_rows), line, sizeof(line));
        ASSERT_CONTAINS(line, "n1");
        ASSERT_CONTAINS(line, "ok");
        ASSERT_CONTAINS(line, "4.00");
        fleet_format_row(&rows[0], fleet_host_width(rows, n_rows), line, sizeof(line));
        ASSERT_CONTAINS(line, "stale");
        free(rows);
        fleet_answer_done(&a);

        /* without a group: the sum of the top-level groups (a and b), field "*" */
        ASSERT_TRUE(fleet_answer_init(&a, &p, NULL, err, sizeof(err)) == 0);
        add_all(&a, 6, vals, "2");
        add_more(&a, 0, NULL);
        ASSERT_TRUE(fleet_answer_finish(&a, err, sizeof(err)) == 0);
        ASSERT_TRUE(fleet_table_rows(&a, &rows, &n_rows) == 0);
        ASSERT_EQ_U64(rows[1].memory_bytes, 30 + 1000);
        ASSERT_EQ_U64(rows[1].tasks, 4 + 2);
        j = json_loads((const char *) a.text.data, 0, NULL);
        ASSERT_TRUE(json_is_null(json_object_get(j, "group")));
        json_decref(j);
        free(rows);
        fleet_answer_done(&a);

        /* values short of the keys, more than the keys, an error reply */
        ASSERT_TRUE(fleet_answer_init(&a, &p, NULL, err, sizeof(err)) == 0);
        add_all(&a, 4, vals, "2");
        ASSERT_TRUE(fleet_answer_finish(&a, err, sizeof(err)) == -EBADMSG);
        ASSERT_CONTAINS(err, "4 of 6");
        fleet_answer_done(&a);
        ASSERT_TRUE(fleet_answer_init(&a, &p, NULL, err, sizeof(err)) == 0);
        add_all(&a, 6, vals, "2");
        {
                redisReply *v = hmget_reply(r1, "2");

                ASSERT_TRUE(fleet_answer_add(&a, v, err, sizeof(err)) == -EBADMSG);
                freeReplyObject(v);
        }
        fleet_answer_done(&a);
        /* whole records asked for and not all answered */
        ASSERT_TRUE(fleet_answer_init(&a, &p, "a", err, sizeof(err)) == 0);
        {
                char *none[6] = { 0 };
                const FleetCommand *cmds;
                size_t m;

                add_all(&a, 6, none, "*");
                ASSERT_TRUE(fleet_answer_finish(&a, err, sizeof(err)) == -EBADMSG);
                ASSERT_EQ_INT(fleet_answer_more(&a, &cmds, &m), 0);
                ASSERT_EQ_INT(m, 6);
                ASSERT_TRUE(fleet_answer_finish(&a, err, sizeof(err)) == -EBADMSG);
                ASSERT_CONTAINS(err, "0 of 6 whole");
        }
        fleet_answer_done(&a);
        ASSERT_TRUE(fleet_answer_init(&a, &p, NULL, err, sizeof(err)) == 0);
        {
                redisReply *e = reply_from("-OOM command not allowed\r\n", 26);

                ASSERT_TRUE(fleet_answer_add(&a, e, err, sizeof(err)) == -EIO);
                ASSERT_CONTAINS(err, "OOM");
                freeReplyObject(e);
        }
        fleet_answer_done(&a);
        ASSERT_TRUE(fleet_answer_init(&a, &p, "a/../b", err, sizeof(err)) == -EINVAL);

        fleet_plan_done(&p);
        freeReplyObject(hr);
}

TEST(test_answer_empty) {
        redisReply *hr = reply_from("*0\r\n", 4);
        FleetPlan p;
        FleetAnswer a;
        char err[256];

        ASSERT_TRUE(fleet_plan_build("R", 1000, 10, hr, &p, err, sizeof(err)) == 0);
        ASSERT_TRUE(fleet_answer_init(&a, &p, "x", err, sizeof(err)) == 0);
        ASSERT_TRUE(fleet_answer_finish(&a, err, sizeof(err)) == 0);
        ASSERT_STREQ((const char *) a.text.data, "{\"now\":1000,\"seconds\":10,\"group\":\"x\",\"stale_after\":10,"
                                                 "\"hosts\":{},\"stale\":[],\"skipped\":0,\"skipped_hosts\":0}");
        fleet_answer_done(&a);
        fleet_plan_done(&p);
        freeReplyObject(hr);
}

/* Stale from a heartbeat 10 s old on (whole seconds: a daemon stopped just after writing second T is stale
 * once now reaches T + 10, so within 10 s of its stop); 9 s is still alive. */
TEST(test_stale_boundary) {
        const char *hosts[] = { "alive", "991", "stale", "990" };
        redisReply *hr = array_reply(ELEMENTSOF(hosts), hosts);
        FleetPlan p;
        FleetAnswer a;
        char err[256];
        json_t *j;

        ASSERT_TRUE(fleet_plan_build("R", 1000, 1, hr, &p, err, sizeof(err)) == 0);
        ASSERT_EQ_INT(p.n_keys, 0);
        ASSERT_TRUE(fleet_answer_init(&a, &p, NULL, err, sizeof(err)) == 0);
        ASSERT_TRUE(fleet_answer_finish(&a, err, sizeof(err)) == 0);
        j = json_loads((const char *) a.text.data, 0, NULL);
        ASSERT_TRUE(j);
        ASSERT_TRUE(json_is_false(json_object_get(json_object_get(json_object_get(j, "hosts"), "alive"), "stale")));
        ASSERT_TRUE(json_is_true(json_object_get(json_object_get(json_object_get(j, "hosts"), "stale"), "stale")));
        ASSERT_EQ_INT(json_array_size(json_object_get(j, "stale")), 1);
        json_decref(j);
        fleet_answer_done(&a);
        fleet_plan_done(&p);
        freeReplyObject(hr);
}

int main(void) {
        test_stale_boundary();
        test_seconds_parse();
        test_group_parse();
        test_plan();
        test_plan_too_many_hosts();
        test_cut();
        test_cut_invalid();
        test_split();
        test_answer();
        test_answer_from_fields();
        test_answer_empty();
        return 0;
}
