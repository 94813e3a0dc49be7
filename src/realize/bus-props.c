/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-props.h"

const char *const bus_props_accounting[] = {
        "CPUAccounting", "MemoryAccounting", "IOAccounting", "TasksAccounting", NULL,
};

int bus_props_append(sd_bus_message *m, const TreeSettings *s, uint32_t mask, bool accounting) {
        int r;

        for (TreeProp p = 0; p < _TREE_PROP_MAX; p++) {
                const PropInfo *info = prop_info(p);

                if (!(mask & (1u << p)))
                        continue;
                if (info->kind == PROP_KIND_CPUS) {
                        bool set = s->set_mask & (1u << p);

                        r = sd_bus_message_open_container(m, 'r', "sv");
                        if (r >= 0)
                                r = sd_bus_message_append(m, "s", info->dbus_name);
                        if (r >= 0)
                                r = sd_bus_message_open_container(m, 'v', "ay");
                        if (r >= 0)
                                r = sd_bus_message_append_array(m, 'y', set ? s->cpus : NULL, set ? s->n_cpus : 0);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                } else
                        r = sd_bus_message_append(m, "(sv)", info->dbus_name, "t", tree_settings_effective(s, p));
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; accounting && bus_props_accounting[i]; i++) {
                r = sd_bus_message_append(m, "(sv)", bus_props_accounting[i], "b", 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int bus_props_read(sd_bus_message *m, TreeSettings *ret_settings, uint64_t *ret_tasks_current,
                   bool *ret_accounting_on) {
        TreeSettings s = { 0 };
        uint64_t tasks = UINT64_MAX;
        unsigned accounting_on = 0, n_accounting = 0;
        int r;

        while (bus_props_accounting[n_accounting])
                n_accounting++;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const PropInfo *info;
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        goto fail;
                info = prop_by_dbus_name(name);
                if (info && info->kind == PROP_KIND_CPUS) {
                        const void *bits;
                        size_t n;
                        uint8_t *copy = NULL;

                        r = sd_bus_message_enter_container(m, 'v', "ay");
                        if (r >= 0)
                                r = sd_bus_message_read_array(m, 'y', &bits, &n);
                        if (r < 0)
                                goto fail;
                        if (n > 0) {
                                copy = malloc(n);
                                if (!copy) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                memcpy(copy, bits, n);
                        }
                        tree_settings_set(&s, info->prop, 0, copy, n);
                        r = sd_bus_message_exit_container(m);
                } else if (info || streq(name, "TasksCurrent")) {
                        uint64_t v;

                        r = sd_bus_message_read(m, "v", "t", &v);
                        if (r < 0)
                                goto fail;
                        if (info)
                                tree_settings_set(&s, info->prop, v, NULL, 0);
                        else
                                tasks = v;
                } else {
                        bool is_accounting = false;

                        for (size_t i = 0; bus_props_accounting[i]; i++)
                                is_accounting |= streq(name, bus_props_accounting[i]);
                        if (is_accounting) {
                                int b;

                                r = sd_bus_message_read(m, "v", "b", &b);
                                if (r < 0)
                                        goto fail;
                                accounting_on += !!b;
                        } else
                                r = sd_bus_message_skip(m, "v");
                }
                if (r < 0)
                        goto fail;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        goto fail;
        }
        if (r < 0)
                goto fail;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                goto fail;

        *ret_settings = s;
        *ret_tasks_current = tasks;
        *ret_accounting_on = accounting_on == n_accounting;
        return 0;
fail:
        tree_settings_done(&s);
        return r;
}
