/* SPDX-License-Identifier: MIT */
/* Notices a property changed by hand: `systemctl set-property` (and SetUnitProperties) writes a drop-in
 * `50-<Property>.conf` into `<unit>.d/` under systemd's transient or control directories, while systemd 252
 * emits no PropertiesChanged for cgroup properties. inotify on those directories and on the `.d`
 * directories of the units we are told about. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

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

/* Watches the `<unit>.d/` directories that exist for wanted units (one readdir per directory). */
void dropin_watch_sync(DropinWatch *w);
/* Drop-in directories watched now. */
size_t dropin_watch_count(const DropinWatch *w);
