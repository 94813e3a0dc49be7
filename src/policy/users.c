/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "strv.h"
#include "time-util.h"
#include "users.h"

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
/* Every unit's PropertiesChanged (D-Bus matches have no prefix on a path's last component): filtered here. */
#define UNIT_PROPERTIES_MATCH                                                                                  \
        "type='signal',sender='" SYSTEMD_DEST "',interface='org.freedesktop.DBus.Properties',"                \
        "member='PropertiesChanged',path_namespace='" SYSTEMD_PATH "/unit',arg0='org.freedesktop.systemd1.Unit'"
#define BELOW_MIN_SHOWN 32
/* Name lookups per loop iteration, and the time after which a batch stops early: NSS may be LDAP. */
#define LOOKUP_BATCH 16
#define LOOKUP_BATCH_USEC (10 * USEC_PER_MSEC)
#define LOOKUP_SLOW_USEC (100 * USEC_PER_MSEC)
#define PW_BUFFER_MAX (1024 * 1024)

struct Users {
        sd_event *event;
        sd_bus *bus;
        uint32_t min_uid;
        UsersChanged changed;
        void *userdata;
        UserTable table;
        sd_bus_slot *unit_new_slot, *unit_removed_slot, *properties_slot, *subscribe_slot;
        sd_bus_slot *list_slot; /* the listing in flight */
        bool list_again;        /* a change came while it was: list once more after it */
        uint32_t below_min[BELOW_MIN_SHOWN];
        size_t n_below_min, n_over;
        uint64_t listings, list_errors;
        bool logged_over;
        sd_event_source *lookup; /* names of new users, at idle priority */
        size_t lookup_next;      /* the next entry it looks at */
        uint64_t lookups, unknown;
        usec_t lookup_last_usec, lookup_max_usec, lookup_total_usec;
        bool logged_slow;
};

static int on_list(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_);

/* Lists the user slices now, or once more after the listing in flight (changes in between coalesce). */
static void users_list_soon(Users *u) {
        int r;

        if (u->list_slot) {
                u->list_again = true;
                return;
        }
        u->list_again = false;
        r = sd_bus_call_method_async(u->bus, &u->list_slot, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                     "ListUnitsByPatterns", on_list, u, "asas", 0, 1, "user-*.slice");
        if (r < 0) {
                u->list_errors++;
                log_warning_errno(r, "Cannot list the user slices: %m");
        }
}

static size_t users_unnamed(const Users *u) {
        size_t n = 0;

        for (size_t i = 0; i < u->table.n; i++)
                n += !u->table.users[i].looked_up;
        return n;
}

int user_lookup(uint32_t uid, char **ret_name, uint32_t *ret_gid) {
        long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t size = hint > 0 ? (size_t) hint : 4096;

        for (;;) {
                _cleanup_(freep) char *buf = malloc(size);
                struct passwd pw, *found = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = getpwuid_r((uid_t) uid, &pw, buf, size, &found);
                if (r == ERANGE && size < PW_BUFFER_MAX) {
                        size *= 2;
                        continue;
                }
                if (r != 0 && r != ENOENT && r != ESRCH)
                        return -r;
                *ret_name = NULL;
                if (found && !(*ret_name = strdup(found->pw_name)))
                        return -ENOMEM;
                if (found && ret_gid)
                        *ret_gid = (uint32_t) found->pw_gid;
                return 0;
        }
}

/* getgrgid_r with a buffer grown until the entry fits; 0 and NULL for a group NSS does not know. */
static int lookup_group_name(gid_t gid, char **ret) {
        long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
        size_t size = hint > 0 ? (size_t) hint : 4096;

        for (;;) {
                _cleanup_(freep) char *buf = malloc(size);
                struct group gr, *found = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = getgrgid_r(gid, &gr, buf, size, &found);
                if (r == ERANGE && size < PW_BUFFER_MAX) {
                        size *= 2;
                        continue;
                }
                if (r != 0 && r != ENOENT && r != ESRCH)
                        return -r;
                *ret = NULL;
                if (found && !(*ret = strdup(found->gr_name)))
                        return -ENOMEM;
                return 0;
        }
}

int user_lookup_groups(const char *name, uint32_t gid, char ***ret) {
        _cleanup_(freep) gid_t *gids = NULL;
        char **names = NULL;
        int n = 64;

        for (;;) {
                gid_t *bigger = reallocarray(gids, (size_t) n, sizeof(gid_t));
                int got = n;

                if (!bigger)
                        return -ENOMEM;
                gids = bigger;
                if (getgrouplist(name, (gid_t) gid, gids, &got) >= 0) {
                        n = got;
                        break;
                }
                if (n >= USER_GROUPS_MAX)
                        break; /* the first USER_GROUPS_MAX are kept (the array holds them) */
                n = MIN(MAX(got, n * 2), USER_GROUPS_MAX);
        }
        for (int i = 0; i < n; i++) {
                _cleanup_(freep) char *g = NULL;
                int r = lookup_group_name(gids[i], &g);

                if (r == -ENOMEM) {
                        strv_free(names);
                        return r;
                }
                if (g && !strv_contains(names, g) && strv_extend(&names, g) < 0) {
                        strv_free(names);
                        return -ENOMEM;
                }
        }
        *ret = names;
        return 0;
}

/* Names of users that have none yet, a batch per loop iteration. Each getpwuid_r() blocks the loop for as
 * long as NSS takes (µs from files or a cache, up to a directory server's timeout): the time is measured,
 * shown in status and a slow lookup logged once. */
static int on_lookup(sd_event_source *es, void *userdata) {
        Users *u = userdata;
        usec_t start = now_usec(CLOCK_MONOTONIC);
        size_t done = 0;

        /* from where the last batch stopped (a new listing starts over): the table is walked once */
        for (; u->lookup_next < u->table.n && done < LOOKUP_BATCH; u->lookup_next++) {
                UserEntry *e = &u->table.users[u->lookup_next];
                usec_t t0, took;
                int r;

                if (e->looked_up)
                        continue;
                t0 = now_usec(CLOCK_MONOTONIC);
                r = user_lookup(e->uid, &e->name, NULL);
                took = now_usec(CLOCK_MONOTONIC) - t0;
                u->lookups++;
                u->lookup_last_usec = took;
                u->lookup_total_usec += took;
                u->lookup_max_usec = MAX(u->lookup_max_usec, took);
                if (took >= LOOKUP_SLOW_USEC && !u->logged_slow) {
                        log_warning("Looking up the name of UID %" PRIu32 " took %" PRIu64 " ms (NSS); names are "
                                    "looked up once per user, off the sampling path.", e->uid, took / USEC_PER_MSEC);
                        u->logged_slow = true;
                }
                if (r < 0)
                        log_debug_errno(r, "Cannot look up the name of UID %" PRIu32 ": %m", e->uid);
                e->looked_up = true; /* a failure is not retried until the user comes again */
                u->unknown += !e->name;
                done++;
                if (now_usec(CLOCK_MONOTONIC) - start >= LOOKUP_BATCH_USEC) {
                        u->lookup_next++;
                        break;
                }
        }
        if (u->lookup_next >= u->table.n)
                sd_event_source_set_enabled(es, SD_EVENT_OFF);
        if (done > 0 && u->changed)
                u->changed(u, u->userdata);
        return 0;
}

static int on_list(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        Users *u = userdata;
        _cleanup_(freep) uint32_t *uids = NULL;
        size_t n = 0, cap = 0, below, over, shown = 0;
        const char *name, *active;
        int r;

        u->list_slot = sd_bus_slot_unref(u->list_slot);
        if (sd_bus_message_is_method_error(m, NULL)) {
                u->list_errors++;
                log_warning("Cannot list the user slices: %s", sd_bus_message_get_error(m)->message);
                goto next;
        }
        r = sd_bus_message_enter_container(m, 'a', "(ssssssouso)");
        while (r >= 0 && (r = sd_bus_message_read(m, "(ssssssouso)", &name, NULL, NULL, &active, NULL, NULL, NULL,
                                                  NULL, NULL, NULL)) > 0) {
                uint32_t uid;

                if (user_slice_parse(name, &uid) < 0 || !user_slice_state_is_up(active))
                        continue;
                if (n == cap) {
                        uint32_t *bigger = reallocarray(uids, cap ? cap * 2 : 64, sizeof(uint32_t));

                        if (!bigger) {
                                r = -ENOMEM;
                                break;
                        }
                        uids = bigger;
                        cap = cap ? cap * 2 : 64;
                }
                uids[n++] = uid;
        }
        if (r >= 0)
                r = user_table_sync(&u->table, uids, n, u->min_uid, &below, &over);
        if (r < 0) {
                u->list_errors++;
                log_warning_errno(r, "Cannot read the list of user slices: %m");
                goto next;
        }
        u->listings++;
        u->n_below_min = below;
        u->n_over = over;
        for (size_t i = 0; i < n && shown < BELOW_MIN_SHOWN; i++) {
                bool seen = false;

                for (size_t k = 0; k < shown && !seen; k++)
                        seen = u->below_min[k] == uids[i];
                if (uids[i] < u->min_uid && !seen)
                        u->below_min[shown++] = uids[i];
        }
        if (over > 0 && !u->logged_over)
                log_warning("More than %d user slices: %zu left out (the highest UIDs).", USER_TABLE_MAX, over);
        u->logged_over = over > 0;
        u->lookup_next = 0;
        if (users_unnamed(u) > 0)
                sd_event_source_set_enabled(u->lookup, SD_EVENT_ON);
        if (r > 0 && u->changed)
                u->changed(u, u->userdata);
next:
        if (u->list_again)
                users_list_soon(u);
        return 0;
}

/* UnitNew and UnitRemoved ("so"): a user slice's comes list again. */
static int on_unit_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        const char *name, *path;
        uint32_t uid;

        if (sd_bus_message_read(m, "so", &name, &path) < 0 || user_slice_parse(name, &uid) < 0)
                return 0;
        users_list_soon(userdata);
        return 0;
}

/* Any unit's property change: only a user slice's matters (its ActiveState may have changed). */
static int on_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        uint32_t uid;

        if (user_slice_parse_object_path(sd_bus_message_get_path(m), &uid) >= 0)
                users_list_soon(userdata);
        return 0;
}

static int on_subscribed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        Users *u = userdata;

        u->subscribe_slot = sd_bus_slot_unref(u->subscribe_slot);
        /* the realizer subscribed this connection already: that answer is fine */
        if (sd_bus_message_is_method_error(m, NULL) &&
            !sd_bus_message_is_method_error(m, "org.freedesktop.systemd1.AlreadySubscribed"))
                log_warning("Cannot subscribe to systemd's signals, users may go unnoticed: %s",
                            sd_bus_message_get_error(m)->message);
        return 0;
}

int users_new(sd_event *event, sd_bus *bus, const UsersConfig *config, Users **ret) {
        _cleanup_(users_freep) Users *u = NULL;
        int r;

        assert(event);
        assert(bus);
        assert(config);
        assert(ret);
        u = calloc(1, sizeof(Users));
        if (!u)
                return -ENOMEM;
        u->event = sd_event_ref(event);
        u->bus = sd_bus_ref(bus);
        u->min_uid = config->min_uid;
        u->changed = config->changed;
        u->userdata = config->userdata;
        r = sd_event_add_defer(event, &u->lookup, on_lookup, u);
        if (r >= 0)
                r = sd_event_source_set_priority(u->lookup, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(u->lookup, SD_EVENT_OFF);
        if (r < 0)
                return r;
        /* The matches go out before the listing: no change after it is missed. */
        r = sd_bus_match_signal_async(bus, &u->unit_new_slot, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "UnitNew",
                                      on_unit_signal, NULL, u);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &u->unit_removed_slot, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                              "UnitRemoved", on_unit_signal, NULL, u);
        if (r >= 0)
                r = sd_bus_add_match_async(bus, &u->properties_slot, UNIT_PROPERTIES_MATCH, on_properties, NULL, u);
        if (r >= 0)
                r = sd_bus_call_method_async(bus, &u->subscribe_slot, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                             "Subscribe", on_subscribed, u, "");
        if (r < 0)
                return r;
        users_list_soon(u);
        *ret = TAKE_PTR(u);
        return 0;
}

Users *users_free(Users *u) {
        if (!u)
                return NULL;
        sd_bus_slot_unref(u->unit_new_slot);
        sd_bus_slot_unref(u->unit_removed_slot);
        sd_bus_slot_unref(u->properties_slot);
        sd_bus_slot_unref(u->subscribe_slot);
        sd_bus_slot_unref(u->list_slot);
        sd_event_source_disable_unref(u->lookup);
        user_table_done(&u->table);
        sd_bus_unref(u->bus);
        sd_event_unref(u->event);
        free(u);
        return NULL;
}

const UserTable *users_table(const Users *u) {
        assert(u);
        return &u->table;
}

json_t *users_status_json(const Users *u) {
        json_t *below = json_array();

        assert(u);
        for (size_t i = 0; i < MIN(u->n_below_min, (size_t) BELOW_MIN_SHOWN); i++)
                json_array_append_new(below, json_integer(u->below_min[i]));
        return json_pack("{s:I, s:I, s:{s:I, s:o}, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", "count",
                         (json_int_t) u->table.n, "min_uid", (json_int_t) u->min_uid, "below_min_uid", "count",
                         (json_int_t) u->n_below_min, "uids", below, "over_limit", (json_int_t) u->n_over,
                         "listings", (json_int_t) u->listings, "list_errors", (json_int_t) u->list_errors, "nss",
                         "lookups", (json_int_t) u->lookups, "unknown", (json_int_t) u->unknown, "pending",
                         (json_int_t) users_unnamed(u), "last_usec", (json_int_t) u->lookup_last_usec, "max_usec",
                         (json_int_t) u->lookup_max_usec, "total_usec", (json_int_t) u->lookup_total_usec);
}

json_t *users_user_json(const Users *u, size_t index) {
        const UserEntry *e;
        char slice[32];

        assert(u);
        if (index >= u->table.n)
                return NULL;
        e = &u->table.users[index];
        snprintf(slice, sizeof(slice), "user-%" PRIu32 ".slice", e->uid);
        return json_pack("{s:I, s:o, s:s}", "uid", (json_int_t) e->uid, "name",
                         e->name ? json_string(e->name) : json_null(), "slice", slice);
}
