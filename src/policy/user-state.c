/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fileio.h"
#include "macro.h"
#include "user-state.h"

/* Whole seconds since the epoch that fit usec_t with room: up to the year 2262 and beyond needs nothing. */
#define SEC_MAX ((json_int_t) (INT64_MAX / (int64_t) USEC_PER_SEC))
#define CPU_MAX_CORES 8192.0

static const char *const penalty_modes[] = {
        [USER_PENALTY_ACTIVE] = "active",
        [USER_PENALTY_LOCKED] = "locked",
};

const char *user_penalty_mode_to_string(UserPenaltyMode m) {
        return (size_t) m < ELEMENTSOF(penalty_modes) ? penalty_modes[m] : NULL;
}

int user_penalty_mode_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(penalty_modes); i++)
                if (s && streq(s, penalty_modes[i]))
                        return (int) i;
        return -EINVAL;
}

void user_state_done(UserState *s) {
        assert(s);

        free(s->entries);
        *s = (UserState) { 0 };
}

/* The index of uid, or where it would go. */
static size_t lower_bound(const UserState *s, uint32_t uid) {
        size_t lo = 0, hi = s->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (s->entries[mid].uid < uid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

const UserStateEntry *user_state_find(const UserState *s, uint32_t uid) {
        size_t i;

        assert(s);

        i = lower_bound(s, uid);
        return i < s->n && s->entries[i].uid == uid ? &s->entries[i] : NULL;
}

static int entry_get(UserState *s, uint32_t uid, UserStateEntry **ret) {
        size_t i = lower_bound(s, uid);
        UserStateEntry *grown;

        if (i < s->n && s->entries[i].uid == uid) {
                *ret = &s->entries[i];
                return 0;
        }
        if (s->n >= USER_STATE_MAX_ENTRIES)
                return -E2BIG;
        grown = reallocarray(s->entries, s->n + 1, sizeof(UserStateEntry));
        if (!grown)
                return -ENOMEM;
        s->entries = grown;
        memmove(s->entries + i + 1, s->entries + i, (s->n - i) * sizeof(UserStateEntry));
        s->entries[i] = (UserStateEntry) { .uid = uid };
        s->n++;
        *ret = &s->entries[i];
        return 0;
}

static void entry_drop_if_empty(UserState *s, UserStateEntry *e) {
        size_t i = (size_t) (e - s->entries);

        if (e->penalty.set || e->limit.set)
                return;
        memmove(s->entries + i, s->entries + i + 1, (s->n - i - 1) * sizeof(UserStateEntry));
        s->n--;
}

static bool penalty_valid(const UserPenalty *p) {
        return p->set && (size_t) p->mode < ELEMENTSOF(penalty_modes) && p->until_usec != USEC_INFINITY &&
               p->until_usec > p->since_usec;
}

static bool limit_valid(const UserLimit *l) {
        return l->set && (l->cpu_cores > 0 || l->memory_bytes > 0) && l->cpu_cores >= 0 &&
               l->cpu_cores <= CPU_MAX_CORES && l->until_usec > l->since_usec;
}

int user_state_set_penalty(UserState *s, uint32_t uid, const UserPenalty *p) {
        UserStateEntry *e;
        int r;

        assert(s);
        assert(p);

        if (!penalty_valid(p) || uid == UINT32_MAX)
                return -EINVAL;
        r = entry_get(s, uid, &e);
        if (r < 0)
                return r;
        e->penalty = *p;
        return 0;
}

int user_state_set_limit(UserState *s, uint32_t uid, const UserLimit *l) {
        UserStateEntry *e;
        int r;

        assert(s);
        assert(l);

        if (!limit_valid(l) || uid == UINT32_MAX)
                return -EINVAL;
        r = entry_get(s, uid, &e);
        if (r < 0)
                return r;
        e->limit = *l;
        return 0;
}

bool user_state_clear_penalty(UserState *s, uint32_t uid) {
        UserStateEntry *e = (UserStateEntry *) user_state_find(s, uid);
        bool had = e && e->penalty.set;

        if (had) {
                e->penalty = (UserPenalty) { 0 };
                entry_drop_if_empty(s, e);
        }
        return had;
}

bool user_state_clear_limit(UserState *s, uint32_t uid) {
        UserStateEntry *e = (UserStateEntry *) user_state_find(s, uid);
        bool had = e && e->limit.set;

        if (had) {
                e->limit = (UserLimit) { 0 };
                entry_drop_if_empty(s, e);
        }
        return had;
}

size_t user_state_expire(UserState *s, usec_t now_usec) {
        size_t ended = 0, o = 0;

        assert(s);

        for (size_t i = 0; i < s->n; i++) {
                UserStateEntry e = s->entries[i];

                if (e.penalty.set && e.penalty.until_usec <= now_usec) {
                        e.penalty = (UserPenalty) { 0 };
                        ended++;
                }
                if (e.limit.set && e.limit.until_usec <= now_usec) {
                        e.limit = (UserLimit) { 0 };
                        ended++;
                }
                if (e.penalty.set || e.limit.set)
                        s->entries[o++] = e;
        }
        s->n = o;
        return ended;
}

usec_t user_state_next_expiry(const UserState *s) {
        usec_t next = USEC_INFINITY;

        assert(s);

        for (size_t i = 0; i < s->n; i++) {
                if (s->entries[i].penalty.set)
                        next = MIN(next, s->entries[i].penalty.until_usec);
                if (s->entries[i].limit.set)
                        next = MIN(next, s->entries[i].limit.until_usec);
        }
        return next;
}

static json_t *sec(usec_t u) {
        return json_integer((json_int_t) (u / USEC_PER_SEC));
}

/* Bytes, or "infinity" (--memory infinity): JSON readers refuse integers past 2^63 - 1. */
static json_t *memory(uint64_t bytes) {
        return bytes >= (uint64_t) INT64_MAX ? json_string("infinity") : json_integer((json_int_t) bytes);
}

int user_state_format(const UserState *s, char **ret) {
        json_t *root = NULL, *users;
        char *text = NULL;
        int r = -ENOMEM;

        assert(s);
        assert(ret);

        users = json_array();
        root = json_pack("{s:i,s:o}", "version", USER_STATE_VERSION, "users", users);
        if (!root)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++) {
                const UserStateEntry *e = &s->entries[i];
                json_t *u = json_pack("{s:I}", "uid", (json_int_t) e->uid);

                if (!u || json_array_append_new(users, u) < 0)
                        goto finish;
                if (e->penalty.set) {
                        json_t *p = json_pack("{s:s,s:o,s:o}", "mode", user_penalty_mode_to_string(e->penalty.mode),
                                              "since", sec(e->penalty.since_usec), "until",
                                              sec(e->penalty.until_usec));

                        if (!p || json_object_set_new(u, "penalty", p) < 0)
                                goto finish;
                        if (e->penalty.memory_bytes > 0 &&
                            json_object_set_new(p, "memory", memory(e->penalty.memory_bytes)) < 0)
                                goto finish;
                }
                if (e->limit.set) {
                        json_t *l = json_object();

                        if (!l || json_object_set_new(u, "limit", l) < 0)
                                goto finish;
                        if (e->limit.cpu_cores > 0 && json_object_set_new(l, "cpu", json_real(e->limit.cpu_cores)) < 0)
                                goto finish;
                        if (e->limit.memory_bytes > 0 && json_object_set_new(l, "memory", memory(e->limit.memory_bytes)) < 0)
                                goto finish;
                        if (json_object_set_new(l, "since", sec(e->limit.since_usec)) < 0 ||
                            json_object_set_new(l, "until", e->limit.until_usec == USEC_INFINITY
                                                                    ? json_null()
                                                                    : sec(e->limit.until_usec)) < 0)
                                goto finish;
                }
        }
        text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (!text)
                goto finish;
        {
                size_t len = strlen(text);
                char *with_newline = realloc(text, len + 2);

                if (!with_newline) {
                        free(text);
                        goto finish;
                }
                with_newline[len] = '\n';
                with_newline[len + 1] = 0;
                *ret = with_newline;
        }
        r = 0;
finish:
        json_decref(root);
        return r;
}

_printf_(3, 4) static int fail(char *error, size_t error_size, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(error, error_size, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* Only the keys in `allowed` (NULL-terminated). */
static int check_keys(json_t *o, const char *where, const char *const *allowed, char *error, size_t error_size) {
        const char *key;
        json_t *v;

        json_object_foreach(o, key, v) {
                bool ok = false;

                for (size_t i = 0; allowed[i]; i++)
                        ok |= streq(key, allowed[i]);
                if (!ok)
                        return fail(error, error_size, "%s: unknown key \"%.64s\"", where, key);
        }
        return 0;
}

static int get_sec(json_t *o, const char *where, const char *key, bool null_ok, usec_t *ret, char *error,
                   size_t error_size) {
        json_t *v = json_object_get(o, key);

        if (null_ok && (!v || json_is_null(v))) {
                *ret = USEC_INFINITY;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > SEC_MAX)
                return fail(error, error_size, "%s.%s: expected seconds since the epoch (an integer >= 0)%s", where,
                            key, null_ok ? " or null" : "");
        *ret = (usec_t) json_integer_value(v) * USEC_PER_SEC;
        return 0;
}

static int get_bytes(json_t *o, const char *where, uint64_t *ret, char *error, size_t error_size) {
        json_t *v = json_object_get(o, "memory");

        if (!v) {
                *ret = 0;
                return 0;
        }
        if (json_is_string(v) && streq(json_string_value(v), "infinity")) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) == INT64_MAX)
                return fail(error, error_size, "%s.memory: expected bytes (an integer >= 1) or \"infinity\"", where);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static int parse_entry(json_t *u, size_t index, UserStateEntry *ret, char *error, size_t error_size) {
        static const char *const entry_keys[] = { "uid", "penalty", "limit", NULL },
                          *const penalty_keys[] = { "mode", "since", "until", "memory", NULL },
                          *const limit_keys[] = { "cpu", "memory", "since", "until", NULL };
        UserStateEntry e = { 0 };
        json_t *v, *p, *l;
        char where[64];
        int r;

        snprintf(where, sizeof(where), "users[%zu]", index);
        if (!json_is_object(u))
                return fail(error, error_size, "%s: expected an object", where);
        r = check_keys(u, where, entry_keys, error, error_size);
        if (r < 0)
                return r;
        v = json_object_get(u, "uid");
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= (json_int_t) UINT32_MAX)
                return fail(error, error_size, "%s.uid: expected a user id (0..4294967294)", where);
        e.uid = (uint32_t) json_integer_value(v);

        p = json_object_get(u, "penalty");
        if (p) {
                snprintf(where, sizeof(where), "users[%zu].penalty", index);
                if (!json_is_object(p))
                        return fail(error, error_size, "%s: expected an object", where);
                r = check_keys(p, where, penalty_keys, error, error_size);
                if (r < 0)
                        return r;
                r = user_penalty_mode_from_string(json_string_value(json_object_get(p, "mode")));
                if (r < 0)
                        return fail(error, error_size, "%s.mode: expected \"active\" or \"locked\"", where);
                e.penalty = (UserPenalty) { .set = true, .mode = (UserPenaltyMode) r };
                if ((r = get_sec(p, where, "since", false, &e.penalty.since_usec, error, error_size)) < 0 ||
                    (r = get_sec(p, where, "until", false, &e.penalty.until_usec, error, error_size)) < 0 ||
                    (r = get_bytes(p, where, &e.penalty.memory_bytes, error, error_size)) < 0)
                        return r;
                if (e.penalty.until_usec <= e.penalty.since_usec)
                        return fail(error, error_size, "%s.until: not after since", where);
        }
        l = json_object_get(u, "limit");
        if (l) {
                snprintf(where, sizeof(where), "users[%zu].limit", index);
                if (!json_is_object(l))
                        return fail(error, error_size, "%s: expected an object", where);
                r = check_keys(l, where, limit_keys, error, error_size);
                if (r < 0)
                        return r;
                e.limit.set = true;
                v = json_object_get(l, "cpu");
                if (v) {
                        if (!json_is_number(v) || !(json_number_value(v) > 0) ||
                            json_number_value(v) > CPU_MAX_CORES)
                                return fail(error, error_size, "%s.cpu: expected cores (a number above 0, at most 8192)",
                                            where);
                        e.limit.cpu_cores = json_number_value(v);
                }
                if ((r = get_bytes(l, where, &e.limit.memory_bytes, error, error_size)) < 0 ||
                    (r = get_sec(l, where, "since", false, &e.limit.since_usec, error, error_size)) < 0 ||
                    (r = get_sec(l, where, "until", true, &e.limit.until_usec, error, error_size)) < 0)
                        return r;
                if (e.limit.cpu_cores == 0 && e.limit.memory_bytes == 0)
                        return fail(error, error_size, "%s: neither cpu nor memory", where);
                if (e.limit.until_usec <= e.limit.since_usec)
                        return fail(error, error_size, "%s.until: not after since", where);
        }
        if (!p && !l) {
                snprintf(where, sizeof(where), "users[%zu]", index);
                return fail(error, error_size, "%s: neither a penalty nor a limit", where);
        }
        *ret = e;
        return 0;
}

int user_state_parse(const char *data, size_t size, usec_t now_usec, UserState *ret, size_t *ret_n_expired,
                     char *error, size_t error_size) {
        static const char *const root_keys[] = { "version", "users", NULL };
        UserState s = { 0 };
        json_error_t jerr;
        json_t *root, *v, *users;
        size_t n_users, expired;
        int r;

        assert(data || size == 0);
        assert(ret);
        assert(error || error_size == 0);

        if (size > USER_STATE_MAX_BYTES)
                return fail(error, error_size, "larger than %d bytes", USER_STATE_MAX_BYTES);
        root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return fail(error, error_size, "not JSON: line %d, column %d: %s", jerr.line, jerr.column,
                            jerr.text);
        r = -EBADMSG;
        if (!json_is_object(root)) {
                fail(error, error_size, "expected an object");
                goto finish;
        }
        if (check_keys(root, "top level", root_keys, error, error_size) < 0)
                goto finish;
        v = json_object_get(root, "version");
        if (!json_is_integer(v) || json_integer_value(v) != USER_STATE_VERSION) {
                fail(error, error_size, "version: expected %d (written by this version of slicekeeperd)",
                     USER_STATE_VERSION);
                goto finish;
        }
        users = json_object_get(root, "users");
        if (!json_is_array(users)) {
                fail(error, error_size, "users: expected an array");
                goto finish;
        }
        n_users = json_array_size(users);
        if (n_users > USER_STATE_MAX_ENTRIES) {
                fail(error, error_size, "users: more than %d entries", USER_STATE_MAX_ENTRIES);
                goto finish;
        }
        s.entries = calloc(MAX(n_users, (size_t) 1), sizeof(UserStateEntry));
        if (!s.entries) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < n_users; i++) {
                UserStateEntry e;
                size_t at;

                if (parse_entry(json_array_get(users, i), i, &e, error, error_size) < 0)
                        goto finish;
                at = lower_bound(&s, e.uid);
                if (at < s.n && s.entries[at].uid == e.uid) {
                        fail(error, error_size, "users[%zu].uid: %" PRIu32 " is listed twice", i, e.uid);
                        goto finish;
                }
                memmove(s.entries + at + 1, s.entries + at, (s.n - at) * sizeof(UserStateEntry));
                s.entries[at] = e;
                s.n++;
        }
        expired = user_state_expire(&s, now_usec);
        if (ret_n_expired)
                *ret_n_expired = expired;
        *ret = s;
        s = (UserState) { 0 };
        r = 0;
finish:
        user_state_done(&s);
        json_decref(root);
        return r;
}

int user_state_load(const char *dir, usec_t now_usec, UserState *ret, size_t *ret_n_expired, char *error,
                    size_t error_size) {
        _cleanup_(freep) char *path = NULL, *aside = NULL, *data = NULL;
        char why[512] = "";
        size_t size;
        int r;

        assert(dir);
        assert(ret);

        if (asprintf(&path, "%s/" USER_STATE_FILE_NAME, dir) < 0 ||
            asprintf(&aside, "%s/" USER_STATE_FILE_NAME ".corrupt", dir) < 0)
                return -ENOMEM;
        if (ret_n_expired)
                *ret_n_expired = 0;
        r = read_file_bounded(path, USER_STATE_MAX_BYTES, &data, &size);
        if (r == -ENOENT) {
                *ret = (UserState) { 0 };
                return 0;
        }
        if (r == -EFBIG)
                snprintf(why, sizeof(why), "larger than %d bytes", USER_STATE_MAX_BYTES);
        else if (r < 0) {
                /* not the file's fault (EACCES, EIO): leave it where it is */
                snprintf(error, error_size, "%s: cannot read: %s", path, strerror(-r));
                *ret = (UserState) { 0 };
                return r;
        } else {
                r = user_state_parse(data, size, now_usec, ret, ret_n_expired, why, sizeof(why));
                if (r >= 0)
                        return 0;
        }
        *ret = (UserState) { 0 };
        if (rename(path, aside) < 0) {
                int e = errno;
                snprintf(error, error_size, "%s: %s; could not move it aside to %s: %s", path, why, aside,
                         strerror(e));
        } else
                snprintf(error, error_size, "%s: %s; moved aside to %s, starting with no penalties or limits",
                         path, why, aside);
        return -EBADMSG;
}

int user_state_save(const char *dir, const UserState *s) {
        _cleanup_(freep) char *path = NULL, *text = NULL;
        _cleanup_(closep) int dfd = -EBADF;
        int r;

        assert(dir);
        assert(s);

        r = user_state_format(s, &text);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/" USER_STATE_FILE_NAME, dir) < 0)
                return -ENOMEM;
        r = write_file_atomic(path, text);
        if (r < 0)
                return r;
        /* the rename itself must reach the disk before a reboot for the penalty to survive it */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return -errno;
        return 0;
}
