/* SPDX-License-Identifier: MIT */
/* What must outlive the daemon and a reboot for fair share: penalties (`slicekeeper penalty`) and fixed limits
 * set at runtime (`slicekeeper limit`), per UID, in <StateDir>/users.json. Parse and format are pure; load
 * and save are the small file helpers (atomic write, corrupt file kept aside). Times are CLOCK_REALTIME
 * (they must mean the same after a reboot), kept in whole seconds in the file. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

#define USER_STATE_FILE_NAME "users.json"
#define USER_STATE_MAX_BYTES (4 * 1024 * 1024)
#define USER_STATE_MAX_ENTRIES 65536
#define USER_STATE_VERSION 1

typedef enum UserPenaltyMode {
        USER_PENALTY_ACTIVE, /* a share of the user's current cap */
        USER_PENALTY_LOCKED, /* a share of one core */
} UserPenaltyMode;

typedef struct UserPenalty {
        bool set;
        UserPenaltyMode mode;
        usec_t since_usec, until_usec; /* a penalty always ends (PenaltyTimeoutSec= or --for) */
        uint64_t memory_bytes;         /* 0: no lower memory limit */
} UserPenalty;

typedef struct UserLimit {
        bool set;
        double cpu_cores;              /* 0: none (--cpu 150% → 1.5) */
        uint64_t memory_bytes;         /* 0: none; UINT64_MAX: infinity ("infinity" in the file) */
        usec_t since_usec, until_usec; /* until USEC_INFINITY: until --clear */
} UserLimit;

typedef struct UserStateEntry {
        uint32_t uid;
        UserPenalty penalty;
        UserLimit limit;
} UserStateEntry;

/* Sorted by uid; an entry holds a penalty or a limit or both. */
typedef struct UserState {
        UserStateEntry *entries;
        size_t n;
} UserState;

void user_state_done(UserState *s);

const char *user_penalty_mode_to_string(UserPenaltyMode m);
int user_penalty_mode_from_string(const char *s);

/* NULL when the uid has nothing. */
const UserStateEntry *user_state_find(const UserState *s, uint32_t uid);
/* Sets (replaces) one part of a uid's entry; p->set / l->set must be true. -E2BIG past USER_STATE_MAX_ENTRIES,
 * -EINVAL for a penalty without an end or an end not after its start. */
int user_state_set_penalty(UserState *s, uint32_t uid, const UserPenalty *p);
int user_state_set_limit(UserState *s, uint32_t uid, const UserLimit *l);
/* Whether there was one to clear. */
bool user_state_clear_penalty(UserState *s, uint32_t uid);
bool user_state_clear_limit(UserState *s, uint32_t uid);
/* Drops what ended at or before now (until <= now); returns how many penalties and limits ended. */
size_t user_state_expire(UserState *s, usec_t now_usec);
/* The earliest end of anything held (USEC_INFINITY: none), for the glue's timer. */
usec_t user_state_next_expiry(const UserState *s);

/* The file's text: {"version": 1, "users": [{"uid": 1001, "penalty": {"mode": "active", "since": SEC,
 * "until": SEC, "memory": BYTES}, "limit": {"cpu": 1.5, "memory": BYTES, "since": SEC, "until": SEC|null}}]}
 * and a newline. Absent parts and zero amounts are left out. */
int user_state_format(const UserState *s, char **ret);
/* Strict: unknown keys, duplicate uids, wrong types and values out of range are refused with a message
 * naming the entry ("users[3].penalty.until: ..."). What ended at or before now is dropped
 * (*ret_n_expired). On error *ret is untouched. */
int user_state_parse(const char *data, size_t size, usec_t now_usec, UserState *ret, size_t *ret_n_expired,
                     char *error, size_t error_size);

/* <dir>/users.json: a missing file is an empty state. A corrupt one is renamed to users.json.corrupt
 * (replacing an older one), *ret is empty, and the error says what was wrong and where the file went;
 * the caller logs it and goes on. */
int user_state_load(const char *dir, usec_t now_usec, UserState *ret, size_t *ret_n_expired, char *error,
                    size_t error_size);
/* Writes <dir>/users.json through a temporary file, fsync and rename, then fsyncs the directory, so a
 * crash leaves the old file or the new one. Creates dir (0755) when missing. */
int user_state_save(const char *dir, const UserState *s);
