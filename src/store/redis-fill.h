/* SPDX-License-Identifier: MIT */
/* Reads the seconds Redis still holds back into the window after a restart: one connection of its own, MGETs
 * of `<prefix>/account/<sec>` (HostKeys=yes: `HGET <prefix>/host/<node>/account/<sec> *` per second, pipelined:
 * the whole record of what the sink writes) oldest first, one batch in flight (one key first, then as many as make
 * about
 * REDIS_FILL_BATCH_BYTES of the largest record seen, at most REDIS_FILL_BATCH_MAX), then it disconnects. In the
 * background: nothing waits for it. Never blocks the loop. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define REDIS_FILL_BATCH_MAX 64
#define REDIS_FILL_BATCH_BYTES ((size_t) 4 * 1024 * 1024)

typedef struct RedisFill RedisFill;

/* A value Redis held for second unix_sec. Returns 0 when it was kept, -EBADMSG when it does not parse
 * (counted "skipped"; reason, a static string, says why), -EEXIST when the window has the second already,
 * anything else when it was not kept (counted "not_kept"). It must not free the fill. */
typedef int (*RedisFillRecord)(RedisFill *f, uint64_t unix_sec, const char *text, size_t size,
                               const char **reason, void *userdata);
/* Every batch was answered (or the fill failed: redis_fill_status_json() says why). It must not free the
 * fill. */
typedef void (*RedisFillDone)(RedisFill *f, void *userdata);

typedef struct RedisFillConfig {
        const char *address; /* as RedisSinkConfig's */
        const char *prefix;  /* NULL: "cgroup_arch" */
        const char *node;    /* as RedisSinkConfig's: NULL reads the unqualified keys */
        uint64_t first_sec, last_sec; /* both read, oldest first */
        RedisFillRecord on_record;    /* required */
        RedisFillDone on_done;        /* may be NULL */
        void *userdata;
} RedisFillConfig;

/* Connects at once, asynchronously. -EINVAL for a bad address, a bad node, no on_record or first_sec >
 * last_sec. */
int redis_fill_new(sd_event *event, const RedisFillConfig *c, RedisFill **ret);
RedisFill *redis_fill_free(RedisFill *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(RedisFill *, redis_fill_free)

/* {"state": "reading"|"done"|"failed", "account_key" (the keys read, without the second), "error" (failed: why), "seconds" (asked for), "read" (answered so
 *  far), "filled" (kept), "missing" (no key), "present" (already in the window), "skipped" (did not parse),
 *  "skip_reason" (the first one), "not_kept", "duration_ms" (start to done or failed)} */
json_t *redis_fill_status_json(const RedisFill *f);
bool redis_fill_done(const RedisFill *f);
