/* SPDX-License-Identifier: MIT */
/* Which units are users: "user-UID.slice" and its D-Bus object path → UID, strictly; and the bounded table
 * of the users the daemon knows, kept sorted by UID. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* At most this many users are kept; more user slices are counted (user_table_sync()), not kept. */
#define USER_TABLE_MAX 65536

/* "user-1001.slice" → 1001: decimal digits, no sign, spaces or leading zeros, a valid UID (not 4294967295
 * nor 65535, which systemd refuses as well). -EINVAL for anything else, e.g. "user-1001-x.slice" (a slice
 * below the user's) or "user-1001.slice.d". */
int user_slice_parse(const char *unit, uint32_t *ret_uid);
/* systemd's object path of that unit, in its canonical escaping only:
 * "/org/freedesktop/systemd1/unit/user_2d1001_2eslice" → 1001. */
int user_slice_parse_object_path(const char *path, uint32_t *ret_uid);
/* Whether a unit in this ActiveState has its slice up (cgroup there): all but "inactive" and "failed". */
bool user_slice_state_is_up(const char *active_state);

typedef struct UserEntry {
        uint32_t uid;
        bool looked_up; /* the name lookup was done (name NULL: NSS does not know the UID) */
        char *name;
} UserEntry;

typedef struct UserTable {
        UserEntry *users; /* n, sorted by uid, unique */
        size_t n;
} UserTable;

void user_table_done(UserTable *t);
UserEntry *user_table_get(const UserTable *t, uint32_t uid);

/* What systemd listed, in any order, duplicates allowed: the table becomes exactly the UIDs ≥ min_uid of
 * uids, the first USER_TABLE_MAX of them by UID. Users kept keep their names. Counts in *ret_below_min the
 * distinct UIDs below min_uid and in *ret_over those left out for the bound; returns 1 when the set of
 * users changed, 0 when not, -ENOMEM (table unchanged). */
int user_table_sync(UserTable *t, const uint32_t *uids, size_t n, uint32_t min_uid, size_t *ret_below_min,
                    size_t *ret_over);
