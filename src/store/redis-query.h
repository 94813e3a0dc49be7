/* SPDX-License-Identifier: MIT */
/* A read from Redis in two or three steps on a connection of its own, for the websocket's fleet_account: one
 * command, then the commands its reply calls for, all sent in one pipeline, each reply handed on as it comes,
 * maybe a third pipeline the replies call for; then it disconnects. Never blocks the loop; a Redis that does not answer
 * ends it after a timeout. */
#pragma once

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"

#define REDIS_QUERY_TIMEOUT_USEC (10 * USEC_PER_SEC)

typedef struct RedisQuery RedisQuery;

typedef struct RedisQueryCommand {
        int argc;
        const char **argv;
} RedisQueryCommand;

typedef struct RedisQueryOps {
        /* The reply to the first command: the commands to send next, in one pipeline (*ret owned by the caller,
         * valid until done() ran; none ends the query at once) or a negative errno with a message in error, which
         * ends it. */
        int (*first)(const redisReply *reply, const RedisQueryCommand **ret, size_t *ret_n, char *error,
                     size_t error_size, void *userdata);
        /* Each of their replies, in order; a negative errno with a message in error ends the query. */
        int (*values)(const redisReply *reply, char *error, size_t error_size, void *userdata);
        /* May be NULL. Once every reply of the second step is in: the commands of a third step (none: the end),
         * whose replies go to values() too. */
        int (*more)(const RedisQueryCommand **ret, size_t *ret_n, char *error, size_t error_size, void *userdata);
        /* The end, once: 0, or a negative errno and why (the query's text: gone with it). The query may be
         * freed from here. */
        void (*done)(int error, const char *message, void *userdata);
} RedisQueryOps;

/* Connects to address ("host:port", "[v6]:port" or "/path") and sends argv once connected. -EINVAL for a bad
 * address. done() is never called from within redis_query_start(). */
int redis_query_start(sd_event *event, const char *address, int argc, const char *const *argv,
                      const RedisQueryOps *ops, void *userdata, RedisQuery **ret);
/* Cancels a query not done yet: no callback runs after. */
RedisQuery *redis_query_free(RedisQuery *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(RedisQuery *, redis_query_free)
