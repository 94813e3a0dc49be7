/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleet-users.h"
#include "macro.h"
#include "parse-util.h"

/* Whole seconds since the epoch that fit usec_t. */
#define SEC_MAX ((json_int_t) (INT64_MAX / (int64_t) USEC_PER_SEC))

bool fleet_user_name_is_valid(const char *name) {
        size_t n;
        bool digits_only = true;

        if (!name)
                return false;
        n = strnlen(name, FLEET_USER_NAME_MAX + 1);
        if (n == 0 || n > FLEET_USER_NAME_MAX || name[0] == '-' || name[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-' || c == '@' || c == '$'))
                        return false;
                digits_only = digits_only && c >= '0' && c <= '9';
        }
        return !digits_only;
}

_printf_(4, 5) static int fail(char *error, size_t error_size, const char *node, const char *fmt, ...) {
        char what[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        if (error_size > 0)
                snprintf(error, error_size, "%s: %s", node, what);
        return -EBADMSG;
}

/* Only the keys in `allowed` (NULL-terminated). */
static int check_keys(json_t *o, const char *node, const char *where, const char *const *allowed, char *error,
                      size_t error_size) {
        const char *key;
        json_t *v;

        json_object_foreach(o, key, v) {
                bool ok = false;

                for (size_t i = 0; allowed[i]; i++)
                        ok = ok || streq(key, allowed[i]);
                if (!ok)
                        return fail(error, error_size, node, "%s%sunknown key \"%.64s\"", where ? where : "",
                                    where ? ": " : "", key);
        }
        return 0;
}

/* "until": seconds since the epoch, or null / left out (USEC_INFINITY: while the node is there). */
static int get_until(json_t *o, const char *node, const char *where, usec_t *ret, char *error, size_t error_size) {
        json_t *v = json_object_get(o, "until");

        if (!v || json_is_null(v)) {
                *ret = USEC_INFINITY;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > SEC_MAX)
                return fail(error, error_size, node, "%s.until: expected seconds since the epoch (an integer >= 0) or "
                            "null", where);
        *ret = (usec_t) json_integer_value(v) * USEC_PER_SEC;
        return 0;
}

/* "memory": bytes or a size ("512M", "2G"), 1 MiB .. 8 PiB; "infinity" where infinity_ok. 0: left out. */
static int get_memory(json_t *o, const char *node, const char *where, bool infinity_ok, uint64_t *ret, char *error,
                      size_t error_size) {
        json_t *v = json_object_get(o, "memory");
        uint64_t bytes;

        if (!v) {
                *ret = 0;
                return 0;
        }
        if (json_is_integer(v) && json_integer_value(v) >= 0)
                bytes = (uint64_t) json_integer_value(v);
        else if (!json_is_string(v) || parse_size(json_string_value(v), &bytes) < 0)
                goto bad;
        if (bytes == UINT64_MAX && json_is_string(v) && infinity_ok) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (bytes < FLEET_MEMORY_MIN || bytes > FLEET_MEMORY_MAX)
                goto bad;
        *ret = bytes;
        return 0;
bad:
        return fail(error, error_size, node, "%s.memory: expected a size from 1M to 8P (bytes, or a string such as "
                    "\"512M\" or \"4G\")%s", where, infinity_ok ? " or \"infinity\"" : "");
}

/* "cpu": cores (1.5) or a percentage of one core ("150%"), above 0 and at most 8192 cores. */
static int get_cpu(json_t *o, const char *node, double *ret, char *error, size_t error_size) {
        json_t *v = json_object_get(o, "cpu");
        uint64_t pct;
        double cores;

        if (!v) {
                *ret = 0;
                return 0;
        }
        if (json_is_number(v))
                cores = json_number_value(v);
        else if (json_is_string(v) && parse_percent(json_string_value(v), &pct) >= 0 &&
                 pct <= (uint64_t) FLEET_CPU_MAX_CORES * 100)
                cores = (double) pct / 100.0;
        else
                cores = -1;
        if (!(cores > 0) || cores > FLEET_CPU_MAX_CORES)
                return fail(error, error_size, node, "limit.cpu: expected cores (a number above 0, at most 8192) or a "
                            "percentage of one core (\"150%%\")");
        *ret = cores;
        return 0;
}

static int parse_penalty(json_t *p, const char *node, UserPenaltyMode default_mode, UserPenalty *ret, char *error,
                         size_t error_size) {
        static const char *const keys[] = { "mode", "until", "memory", NULL };
        UserPenalty out = { .set = true, .mode = default_mode };
        json_t *mode;
        int r;

        if (!json_is_object(p))
                return fail(error, error_size, node, "penalty: expected an object");
        r = check_keys(p, node, "penalty", keys, error, error_size);
        if (r < 0)
                return r;
        mode = json_object_get(p, "mode");
        if (mode) {
                r = user_penalty_mode_from_string(json_string_value(mode));
                if (r < 0)
                        return fail(error, error_size, node, "penalty.mode: expected \"active\" or \"locked\"");
                out.mode = (UserPenaltyMode) r;
        }
        r = get_until(p, node, "penalty", &out.until_usec, error, error_size);
        if (r >= 0)
                r = get_memory(p, node, "penalty", /* infinity_ok= */ false, &out.memory_bytes, error, error_size);
        if (r < 0)
                return r;
        *ret = out;
        return 0;
}

static int parse_limit(json_t *l, const char *node, UserLimit *ret, char *error, size_t error_size) {
        static const char *const keys[] = { "cpu", "memory", "until", NULL };
        UserLimit out = { .set = true };
        int r;

        if (!json_is_object(l))
                return fail(error, error_size, node, "limit: expected an object");
        r = check_keys(l, node, "limit", keys, error, error_size);
        if (r >= 0)
                r = get_cpu(l, node, &out.cpu_cores, error, error_size);
        if (r >= 0)
                r = get_memory(l, node, "limit", /* infinity_ok= */ true, &out.memory_bytes, error, error_size);
        if (r >= 0)
                r = get_until(l, node, "limit", &out.until_usec, error, error_size);
        if (r < 0)
                return r;
        if (out.cpu_cores == 0 && out.memory_bytes == 0)
                return fail(error, error_size, node, "limit: neither \"cpu\" nor \"memory\"");
        *ret = out;
        return 0;
}

int fleet_user_parse(const char *node, const char *data, size_t size, usec_t now_usec, UserPenaltyMode default_mode,
                     UserStateEntry *ret, char *error, size_t error_size) {
        static const char *const keys[] = { "penalty", "limit", NULL };
        UserStateEntry e = { 0 };
        json_error_t jerr;
        json_t *root, *p, *l;
        int r = -EBADMSG;

        assert(data || size == 0);
        assert(ret);
        assert(error || error_size == 0);

        if (!node)
                node = "?";
        if (size > FLEET_USER_MAX_BYTES)
                return fail(error, error_size, node, "larger than %d bytes", FLEET_USER_MAX_BYTES);
        if ((size_t) default_mode >= 2)
                return -EINVAL;
        root = json_loadb(data ?: "", size, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return fail(error, error_size, node, "not JSON: line %d, column %d: %s", jerr.line, jerr.column,
                            jerr.text);
        if (!json_is_object(root)) {
                fail(error, error_size, node, "expected an object {\"penalty\": {...}, \"limit\": {...}}");
                goto finish;
        }
        if (check_keys(root, node, NULL, keys, error, error_size) < 0)
                goto finish;
        p = json_object_get(root, "penalty");
        l = json_object_get(root, "limit");
        if (!p && !l) {
                fail(error, error_size, node, "neither \"penalty\" nor \"limit\"");
                goto finish;
        }
        if (p && parse_penalty(p, node, default_mode, &e.penalty, error, error_size) < 0)
                goto finish;
        if (l && parse_limit(l, node, &e.limit, error, error_size) < 0)
                goto finish;
        /* an end already passed: that part is over (the node outlived it) */
        if (e.penalty.set && e.penalty.until_usec <= now_usec)
                e.penalty = (UserPenalty) { 0 };
        if (e.limit.set && e.limit.until_usec <= now_usec)
                e.limit = (UserLimit) { 0 };
        *ret = e;
        r = 0;
finish:
        json_decref(root);
        return r;
}

/* ---- the set ---- */

void fleet_users_done(FleetUsers *s) {
        assert(s);

        for (size_t i = 0; i < s->map.cap; i++)
                if (s->map.keys[i])
                        free(s->map.values[i]);
        strmap_done(&s->map);
        s->next = USEC_INFINITY;
}

size_t fleet_users_count(const FleetUsers *s) {
        assert(s);
        return s->map.n;
}

const UserStateEntry *fleet_users_find(const FleetUsers *s, const char *name) {
        assert(s);
        return name && s->map.n > 0 ? strmap_get(&s->map, name) : NULL;
}

static bool penalty_same(const UserPenalty *a, const UserPenalty *b) {
        return a->set == b->set && (!a->set || (a->mode == b->mode && a->until_usec == b->until_usec &&
                                                a->memory_bytes == b->memory_bytes));
}

static bool limit_same(const UserLimit *a, const UserLimit *b) {
        return a->set == b->set && (!a->set || (a->cpu_cores == b->cpu_cores && a->memory_bytes == b->memory_bytes &&
                                                a->until_usec == b->until_usec));
}

int fleet_users_set(FleetUsers *s, const char *name, const UserStateEntry *e, usec_t now_usec) {
        UserStateEntry *held, next;
        usec_t since = now_usec / USEC_PER_SEC * USEC_PER_SEC;
        int r;

        assert(s);
        assert(name);
        assert(e);

        held = s->map.n > 0 ? strmap_get(&s->map, name) : NULL;
        next = *e;
        next.uid = 0;
        if (next.penalty.set)
                next.penalty.since_usec = held && penalty_same(&held->penalty, &next.penalty) ?
                                                  held->penalty.since_usec : since;
        if (next.limit.set)
                next.limit.since_usec = held && limit_same(&held->limit, &next.limit) ? held->limit.since_usec : since;
        if (next.penalty.set)
                s->next = MIN(s->next, next.penalty.until_usec);
        if (next.limit.set)
                s->next = MIN(s->next, next.limit.until_usec);
        if (held) {
                *held = next;
                return 0;
        }
        if (s->map.n >= FLEET_USERS_MAX)
                return -E2BIG;
        held = malloc(sizeof(UserStateEntry));
        if (!held)
                return -ENOMEM;
        *held = next;
        r = strmap_put(&s->map, name, held);
        if (r < 0) {
                free(held);
                return r;
        }
        return 0;
}

bool fleet_users_remove(FleetUsers *s, const char *name) {
        UserStateEntry *e;

        assert(s);

        e = name && s->map.n > 0 ? strmap_remove(&s->map, name) : NULL;
        free(e);
        return e != NULL;
}

usec_t fleet_users_next_expiry(const FleetUsers *s) {
        assert(s);
        return s->next;
}

size_t fleet_users_expire(FleetUsers *s, usec_t now_usec) {
        usec_t next = USEC_INFINITY;
        size_t ended = 0;

        assert(s);

        for (size_t i = 0; i < s->map.cap; i++) {
                UserStateEntry *e = s->map.values[i];

                if (!s->map.keys[i])
                        continue;
                if (e->penalty.set && e->penalty.until_usec <= now_usec) {
                        e->penalty = (UserPenalty) { 0 };
                        ended++;
                }
                if (e->limit.set && e->limit.until_usec <= now_usec) {
                        e->limit = (UserLimit) { 0 };
                        ended++;
                }
                if (e->penalty.set)
                        next = MIN(next, e->penalty.until_usec);
                if (e->limit.set)
                        next = MIN(next, e->limit.until_usec);
        }
        s->next = next;
        return ended;
}

/* ---- what applies ---- */

const char *user_source_to_string(UserSource s) {
        switch (s) {
        case USER_SOURCE_LOCAL:
                return "local";
        case USER_SOURCE_FLEET:
                return "fleet";
        default:
                return NULL;
        }
}

void fleet_user_applied(const UserStateEntry *local, const UserStateEntry *fleet, usec_t now_usec, UserApplied *ret) {
        UserApplied a = { 0 };

        assert(ret);

        if (local && local->penalty.set && local->penalty.until_usec > now_usec) {
                a.penalty = local->penalty;
                a.penalty_source = USER_SOURCE_LOCAL;
        } else if (fleet && fleet->penalty.set && fleet->penalty.until_usec > now_usec) {
                a.penalty = fleet->penalty;
                a.penalty_source = USER_SOURCE_FLEET;
        }
        if (local && local->limit.set && local->limit.until_usec > now_usec) {
                a.limit = local->limit;
                a.limit_source = USER_SOURCE_LOCAL;
        } else if (fleet && fleet->limit.set && fleet->limit.until_usec > now_usec) {
                a.limit = fleet->limit;
                a.limit_source = USER_SOURCE_FLEET;
        }
        *ret = a;
}

/* A part's change as an event: `on` (new or changed), `off` (gone), "expired" (gone at its until), NULL. */
static const char *part_action(bool before_set, usec_t before_until, bool after_set, bool same, usec_t now_usec,
                               const char *on, const char *off) {
        if (before_set && !after_set)
                return before_until != USEC_INFINITY && before_until <= now_usec ? "expired" : off;
        return after_set && !same ? on : NULL;
}

const char *fleet_user_penalty_action(const UserPenalty *before, const UserPenalty *after, usec_t now_usec) {
        assert(before);
        assert(after);

        return part_action(before->set, before->until_usec, after->set, penalty_same(before, after), now_usec, "on",
                           "off");
}

const char *fleet_user_limit_action(const UserLimit *before, const UserLimit *after, usec_t now_usec) {
        assert(before);
        assert(after);

        return part_action(before->set, before->until_usec, after->set, limit_same(before, after), now_usec, "set",
                           "clear");
}
