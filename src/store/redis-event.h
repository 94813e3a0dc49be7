/* SPDX-License-Identifier: MIT */
/* hiredis ↔ sd-event: drives one redisAsyncContext from one sd-event io source (EPOLLIN/EPOLLOUT toggled by
 * hiredis's addRead/delRead/addWrite/delWrite hooks). hiredis 0.14 has no timer hook: timeouts are the
 * caller's job. */
#pragma once

#include <hiredis/async.h>
#include <systemd/sd-event.h>

/* Attaches before redisAsyncSetConnectCallback(), which already asks for the first write event. The io
 * source lives until hiredis frees the context (its cleanup hook drops it), whoever frees it. 0, or
 * -EEXIST (already attached to an event loop), -EIO (the context is in error), -EBADF, -ENOMEM, or
 * sd_event_add_io()'s error. */
int redis_event_attach(redisAsyncContext *ac, sd_event *event);

/* Why the connection failed, for a log line: hiredis copies the connection's error into ac->err/errstr only
 * when it tears the context down, which is after the connect callback has run, so the connection's own
 * fields (set where the error happens: SO_ERROR of a failed connect, read() or write() errors, a closed
 * connection) are read first. */
const char *redis_event_error(const redisAsyncContext *ac);

/* A non-blocking connection to host:port (port 0: the unix socket path host), attached to event, with data
 * and the two callbacks set (in that order: the connect callback asks for the first write event). 0 with
 * *ret; a connect that failed at once (a unix socket, a name that does not resolve): -ECONNREFUSED with why
 * in error; else -ENOMEM or redis_event_attach()'s error. On error nothing is left open. A host name goes
 * through getaddrinfo() in hiredis. */
int redis_event_connect(sd_event *event, const char *host, int port, void *data, redisConnectCallback *on_connect,
                        redisDisconnectCallback *on_disconnect, redisAsyncContext **ret, char *error,
                        size_t error_size);
