/* SPDX-License-Identifier: MIT */
/* The users of the machine: every user-UID.slice systemd has up with UID ≥ MinUID, found over D-Bus
 * (ListUnitsByPatterns, listed again after UnitNew, UnitRemoved and a user slice's PropertiesChanged; no
 * /proc scan), with their names from NSS, looked up once when a user appears, off the sampling path. */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "user-slice.h"

typedef struct Users Users;

/* The users or a name changed: read them with users_table(). */
typedef void (*UsersChanged)(Users *u, void *userdata);

typedef struct UsersConfig {
        uint32_t min_uid; /* [FairShare] MinUID= */
        UsersChanged changed;
        void *userdata;
} UsersConfig;

/* NSS (getpwuid_r, a buffer grown until the entry fits): the user's name and primary group; 0 and *ret_name
 * NULL when NSS does not know the UID. Blocks as long as NSS takes: once per user, off the sampling path. */
int user_lookup(uint32_t uid, char **ret_name, uint32_t *ret_gid);
/* Most groups of one user kept (getgrouplist). */
#define USER_GROUPS_MAX 1024
/* The names of the user's groups, primary and supplementary (getgrouplist, getgrgid_r), as a strv (NULL:
 * none known); groups NSS has no name for are left out. */
int user_lookup_groups(const char *name, uint32_t gid, char ***ret);

int users_new(sd_event *event, sd_bus *bus, const UsersConfig *config, Users **ret);
Users *users_free(Users *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(Users *, users_free)

/* The users now, sorted by UID; a name is NULL until looked up, or when NSS does not know the UID. */
const UserTable *users_table(const Users *u);

/* {"count", "min_uid", "below_min_uid": {"count", "uids" (the first 32)}, "over_limit" (user slices left out
 *  past USER_TABLE_MAX), "listings" (ListUnitsByPatterns answers taken), "list_errors",
 *  "nss": {"lookups", "unknown", "pending", "last_usec", "max_usec", "total_usec"}}; the list of users is
 * users_user_json()'s, streamed by the caller. */
json_t *users_status_json(const Users *u);
/* {"uid", "name" (null when unknown), "slice"} of the index-th user, NULL past the end. */
json_t *users_user_json(const Users *u, size_t index);
