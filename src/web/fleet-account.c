/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet-account.h"
#include "fleet-query.h"
#include "macro.h"
#include "redis-query.h"

/* Queries running in this process, against FLEET_ACCOUNT_RUNNING_MAX: each may hold an answer of up to
 * FLEET_ANSWER_MAX while its client takes it. */
static unsigned running;

typedef struct FleetWait {
        WebClient *client; /* whose stream this is: it outlives us (its stream's free() frees us) */
        RedisQuery *query;
        FleetPlan plan;
        FleetAnswer answer;
        RedisQueryCommand *commands; /* answer's, as the query takes them */
        bool answer_started;
        char *prefix, *group;
        unsigned seconds;
        uint64_t now;
        bool ready;
        char *error_text; /* ready with an error: {"error": "..."} */
        size_t sent;      /* of answer.text */
} FleetWait;

static char *error_json(const char *prefix, const char *message) {
        json_t *o;
        char *t, *m;

        if (asprintf(&m, "%s%s", prefix, message) < 0)
                return NULL;
        o = json_pack("{s:s}", "error", m);
        free(m);
        t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        return t;
}

int fleet_account_parse(const char *text, size_t size, char **ret_group, unsigned *ret_seconds, char *error,
                        size_t error_size) {
        json_t *req = json_loadb(text, size, 0, NULL), *args, *g, *sec;
        char **parts = NULL;
        size_t n = 0;
        int r = -EINVAL;

        assert(ret_group && ret_seconds);

        args = json_object_get(req, "args");
        g = json_object_get(args, "group");
        sec = json_object_get(args, "seconds");
        *ret_seconds = FLEET_SECONDS_DEFAULT;
        if (!json_is_object(req) || (args && !json_is_object(args)))
                snprintf(error, error_size, "args must be an object");
        else if (g && !json_is_null(g) && (!json_is_string(g) || strlen(json_string_value(g)) != json_string_length(g) ||
                                          fleet_group_parse(json_string_value(g), &parts, &n) < 0))
                snprintf(error, error_size, "args.group must be a group path like \"a/b\"");
        else if (sec && !json_is_null(sec) && (!json_is_integer(sec) || json_integer_value(sec) < 1 ||
                                                json_integer_value(sec) > FLEET_SECONDS_MAX))
                snprintf(error, error_size, "args.seconds must be 1..%u", FLEET_SECONDS_MAX);
        else {
                if (sec && !json_is_null(sec))
                        *ret_seconds = (unsigned) json_integer_value(sec);
                *ret_group = NULL;
                r = 0;
                if (g && json_is_string(g) && !(*ret_group = strdup(json_string_value(g))))
                        r = -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                free(parts[i]);
        free(parts);
        json_decref(req);
        return r;
}

static void wait_free(void *state) {
        FleetWait *w = state;

        if (!w)
                return;
        redis_query_free(w->query); /* cancelled: no callback after */
        if (w->answer_started)
                fleet_answer_done(&w->answer);
        fleet_plan_done(&w->plan);
        free(w->commands);
        free(w->prefix);
        free(w->group);
        free(w->error_text);
        free(w);
        running--;
}

static int wait_next(void *state, Buf *out, size_t want) {
        FleetWait *w = state;
        size_t left;

        if (!w->ready)
                return -EAGAIN;
        if (w->error_text)
                return buf_put(out, w->error_text, strlen(w->error_text)) < 0 ? -ENOMEM : 0;
        if (!w->answer.finished)
                return -ENOMEM;
        left = w->answer.text.size - w->sent;
        want = MIN(want, left);
        if (buf_put(out, w->answer.text.data + w->sent, want) < 0)
                return -ENOMEM;
        w->sent += want;
        return w->sent < w->answer.text.size ? 1 : 0;
}

/* The answer's commands as the query takes them. */
static int commands_of(FleetWait *w, const FleetCommand *cmds, size_t n, const RedisQueryCommand **ret,
                       size_t *ret_n) {
        free(w->commands);
        w->commands = calloc(MAX(n, (size_t) 1), sizeof(RedisQueryCommand));
        if (!w->commands)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                w->commands[i] = (RedisQueryCommand) { .argc = cmds[i].argc, .argv = cmds[i].argv };
        *ret = w->commands;
        *ret_n = n;
        return 0;
}

static int on_first(const redisReply *reply, const RedisQueryCommand **ret, size_t *ret_n, char *error,
                    size_t error_size, void *userdata) {
        FleetWait *w = userdata;
        int r;

        r = fleet_plan_build(w->prefix, w->now, w->seconds, reply, &w->plan, error, error_size);
        if (r < 0)
                return r;
        r = fleet_answer_init(&w->answer, &w->plan, w->group, error, error_size);
        if (r < 0)
                return r;
        w->answer_started = true;
        if (commands_of(w, w->answer.commands, w->answer.n_commands, ret, ret_n) < 0) {
                snprintf(error, error_size, "out of memory");
                return -ENOMEM;
        }
        return 0;
}

static int on_more(const RedisQueryCommand **ret, size_t *ret_n, char *error, size_t error_size, void *userdata) {
        FleetWait *w = userdata;
        const FleetCommand *cmds;
        size_t n;

        if (fleet_answer_more(&w->answer, &cmds, &n) < 0 || commands_of(w, cmds, n, ret, ret_n) < 0) {
                snprintf(error, error_size, "out of memory");
                return -ENOMEM;
        }
        return 0;
}

static int on_values(const redisReply *reply, char *error, size_t error_size, void *userdata) {
        FleetWait *w = userdata;

        return fleet_answer_add(&w->answer, reply, error, error_size);
}

static void on_done(int error, const char *message, void *userdata) {
        FleetWait *w = userdata;
        char e[256] = "";

        if (error >= 0 && w->answer_started && fleet_answer_finish(&w->answer, e, sizeof(e)) < 0) {
                error = -EBADMSG;
                message = e;
        }
        if (error < 0 || !w->answer_started)
                /* NULL (out of memory) makes wait_next() fail: the client is closed with 1011 */
                w->error_text = error_json("fleet: ", error == -ENOMEM ? "out of memory" : message ?: "no answer");
        w->query = redis_query_free(w->query); /* after: message is the query's */
        w->ready = true;
        web_client_wake(w->client); /* last: it may free w */
}

void fleet_account_reply(sd_event *event, WebClient *client, const FleetAccountConfig *config, const char *text,
                         size_t size, WebReply *ret) {
        static const RedisQueryOps ops = { .first = on_first, .values = on_values, .more = on_more,
                                           .done = on_done };
        _cleanup_(freep) char *group = NULL, *key = NULL;
        char error[256], hosts_max[16];
        unsigned seconds;
        FleetWait *w;
        int r;

        assert(event && client && config && ret);

        r = fleet_account_parse(text, size, &group, &seconds, error, sizeof(error));
        if (r < 0) {
                ret->text = error_json("", r == -ENOMEM ? "out of memory" : error);
                return;
        }
        if (!config->address || !*config->address) {
                ret->text = error_json("", "fleet_account: this daemon has no [Redis] Address=");
                return;
        }
        if (running >= FLEET_ACCOUNT_RUNNING_MAX) {
                ret->text = error_json("", "fleet_account: busy, try again");
                return;
        }
        w = calloc(1, sizeof(FleetWait));
        if (!w) {
                ret->text = error_json("", "out of memory");
                return;
        }
        running++;
        w->client = client;
        w->now = (uint64_t) time(NULL);
        w->group = TAKE_PTR(group);
        w->seconds = seconds;
        w->prefix = strdup(config->prefix ? config->prefix : "cgroup_arch");
        snprintf(hosts_max, sizeof(hosts_max), "%d", FLEET_HOSTS_MAX);
        if (!w->prefix || asprintf(&key, "%s/hosts", w->prefix) < 0) {
                wait_free(w);
                ret->text = error_json("", "out of memory");
                return;
        }
        r = redis_query_start(event, config->address, 5,
                              (const char *const[]) { "ZRANGE", key, "0", hosts_max, "WITHSCORES" }, &ops, w,
                              &w->query);
        if (r < 0) {
                wait_free(w);
                ret->text = error_json("fleet_account: cannot ask Redis: ", strerror(-r));
                return;
        }
        ret->stream = (WebStream) { .next = wait_next, .free = wait_free, .state = w };
}
