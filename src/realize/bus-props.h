/* SPDX-License-Identifier: MIT */
/* TreeSettings ↔ systemd unit properties on the bus, driven by the property table in tree/props.c. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "tree.h"

/* Accounting every managed slice has on, so the sampler finds its files. */
extern const char *const bus_props_accounting[];

/* Appends "(sv)" entries for the properties in `mask` (their effective values: unset means systemd's
 * default), plus the accounting switches when `accounting` is set. The caller has opened "a(sv)". */
int bus_props_append(sd_bus_message *m, const TreeSettings *s, uint32_t mask, bool accounting);

/* Reads a GetAll("org.freedesktop.systemd1.Slice") reply into settings (every table property marked set),
 * TasksCurrent and whether all accounting switches are on. */
int bus_props_read(sd_bus_message *m, TreeSettings *ret_settings, uint64_t *ret_tasks_current,
                   bool *ret_accounting_on);
