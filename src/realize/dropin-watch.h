/* SPDX-License-Identifier: MIT */
/* Notices a property changed by hand: `systemctl set-property` (and SetUnitProperties) writes a drop-in
 * `50-<Property>.conf` into `<unit>.d/` under systemd's transient or control directories, while systemd 252
 * emits no PropertiesChanged for cgroup properties. inotify on those directories and on the `.d`
 * directories of the units we are told about. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "inotify-watch.h"
#include "macro.h"

typedef struct DropinWatch DropinWatch;

/* `unit` whose drop-ins changed, or NULL when events were lost (queue overflow): look at every unit. */
typedef void (*DropinChanged)(DropinWatch *w, const char *unit, void *userdata);
/* Whether the unit's drop-in directory is worth a watch. */
typedef bool (*DropinWanted)(const char *unit, void *userdata);

/* `dirs`: the directories holding `<unit>.d/` (missing ones are tried again at each sync). */
int dropin_watch_new(sd_event *event, const char *const *dirs, DropinWanted wanted, DropinChanged changed,
                     void *userdata, DropinWatch **ret);
DropinWatch *dropin_watch_free(DropinWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(DropinWatch *, dropin_watch_free)

/* Forgets the watches of units no longer wanted, and watches the `<unit>.d/` directories that exist for
 * wanted units (one readdir per directory), at most dropin_watch_limit() for `n_units` wanted units. */
void dropin_watch_sync(DropinWatch *w, size_t n_units);
/* Drop-in directories watched now. */
size_t dropin_watch_count(const DropinWatch *w);
/* How many drop-in directories are watched at most: one for each base directory and unit, at most 32768,
 * and at most a quarter of fs.inotify.max_user_watches (`max_user_watches` <= 0: unknown). Pure. */
size_t dropin_watch_limit(size_t n_bases, size_t n_units, long max_user_watches);
/* Why changes by hand may go unnoticed (no base directory can be watched, or the limit was reached at the
 * latest sync), or NULL. */
const char *dropin_watch_error(const DropinWatch *w);
/* The inotify watch underneath (tests inject read errors through it). */
InotifyWatch *dropin_watch_inotify(DropinWatch *w);
