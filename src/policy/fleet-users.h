/* SPDX-License-Identifier: MIT */
/* Fleet-wide penalties and limits (issue 17): the value of a ZooKeeper node <Prefix>/users/<name> parsed
 * strictly, the set of them by user name, and which penalty and limit apply to a user on this host (a local
 * one, from `slicekeeper penalty`/`limit` and users.json, wins over the fleet's). Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "strmap.h"
#include "time-util.h"
#include "user-state.h"

#define FLEET_USER_MAX_BYTES 4096     /* a node's value */
#define FLEET_USERS_MAX 10000         /* users in the set */
#define FLEET_USER_NAME_MAX 255       /* LOGIN_NAME_MAX - 1 */
#define FLEET_MEMORY_MIN (UINT64_C(1) << 20) /* 1 MiB, as `slicekeeper limit --memory` */
#define FLEET_MEMORY_MAX (UINT64_C(1) << 53) /* 8 PiB */
#define FLEET_CPU_MAX_CORES 8192.0

/* A user name as NSS may hand it out, liberally (sssd's "first.last", "user@domain", Samba's "host$"):
 * 1..255 bytes of [A-Za-z0-9._@$-], not starting with '-' or '.', not only digits (a UID). */
bool fleet_user_name_is_valid(const char *name);

/* The node's value: {"penalty": {"mode": "active"|"locked", "until": SEC, "memory": "2G"|BYTES},
 * "limit": {"cpu": CORES|"150%", "memory": "4G"|BYTES|"infinity", "until": SEC}}, either part or both, every
 * inner key optional except that a limit needs cpu or memory. "mode" defaults to default_mode; no "until":
 * until the node goes (until_usec USEC_INFINITY); an "until" at or before now: that part is left out
 * (expired). since_usec is 0 (fleet_users_set() fills it in) and uid 0. Strict: not JSON, not an object,
 * unknown keys, wrong types, values out of range, more than FLEET_USER_MAX_BYTES are refused with a message
 * naming the node and the key ("/sk/users/alice: limit.cpu: ...") and -EBADMSG; *ret is untouched then. */
int fleet_user_parse(const char *node, const char *data, size_t size, usec_t now_usec, UserPenaltyMode default_mode,
                     UserStateEntry *ret, char *error, size_t error_size);

/* The fleet's entries by user name (the keys are copies; each value a UserStateEntry of its own). An entry
 * may hold no part: a node whose parts all ended. */
typedef struct FleetUsers {
        StrMap map;
        usec_t next; /* no "until" held is earlier (fleet_users_next_expiry()) */
} FleetUsers;

#define FLEET_USERS_INIT ((FleetUsers) { .map = STRMAP_OWNING, .next = USEC_INFINITY })

void fleet_users_done(FleetUsers *s);
size_t fleet_users_count(const FleetUsers *s);
/* NULL when the name has no entry. */
const UserStateEntry *fleet_users_find(const FleetUsers *s, const char *name);
/* Sets (replaces) the name's entry. A part equal to the one held (mode, until, memory; cpu, memory, until)
 * keeps its since, a new or changed one gets since = now (whole seconds). -E2BIG for a new name past
 * FLEET_USERS_MAX, -ENOMEM; nothing changed then. */
int fleet_users_set(FleetUsers *s, const char *name, const UserStateEntry *e, usec_t now_usec);
/* Whether there was one. */
bool fleet_users_remove(FleetUsers *s, const char *name);
/* When the earliest "until" held ends, at the latest (USEC_INFINITY: none), in O(1): after a part was
 * removed or changed it may be earlier than any held (a timer armed for it finds nothing to end); exact again
 * after fleet_users_expire(). */
usec_t fleet_users_next_expiry(const FleetUsers *s);
/* Drops the parts that ended at or before now (the entries stay); returns how many. O(entries). */
size_t fleet_users_expire(FleetUsers *s, usec_t now_usec);

/* Where a user's penalty or limit comes from. */
typedef enum UserSource {
        USER_SOURCE_NONE,
        USER_SOURCE_LOCAL, /* `slicekeeper penalty`/`limit`, users.json */
        USER_SOURCE_FLEET, /* ZooKeeper <Prefix>/users/<name> */
} UserSource;

const char *user_source_to_string(UserSource s);

/* What applies to one user on this host, part by part: a local part that has not ended wins, else the
 * fleet's that has not ended, else none. */
typedef struct UserApplied {
        UserPenalty penalty;
        UserSource penalty_source;
        UserLimit limit;
        UserSource limit_source;
} UserApplied;

/* local: the uid's users.json entry, fleet: the user name's fleet entry; either may be NULL. */
void fleet_user_applied(const UserStateEntry *local, const UserStateEntry *fleet, usec_t now_usec, UserApplied *ret);

/* The event when the fleet's part that applies to a user turns from `before` to `after` (what was said last
 * and what applies now; set false: none): "on"/"set" (new or changed), "off"/"clear" (gone: the node or
 * part removed, a local one took over), "expired" (gone, its until at or before now), NULL: no change. */
const char *fleet_user_penalty_action(const UserPenalty *before, const UserPenalty *after, usec_t now_usec);
const char *fleet_user_limit_action(const UserLimit *before, const UserLimit *after, usec_t now_usec);
