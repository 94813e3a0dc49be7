/* SPDX-License-Identifier: MIT */
/* The one table that maps a group setting to its JSON keys (both schemas), its range and its systemd
 * property. Values are kept in systemd's units (CPUWeight, bytes, usec per sec of CPU quota...). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

typedef enum TreeProp {
        TREE_PROP_CPU_WEIGHT,
        TREE_PROP_CPU_QUOTA,
        TREE_PROP_MEMORY_MAX,
        TREE_PROP_MEMORY_HIGH,
        TREE_PROP_MEMORY_LOW,
        TREE_PROP_IO_WEIGHT,
        TREE_PROP_TASKS_MAX,
        TREE_PROP_ALLOWED_CPUS,
        _TREE_PROP_MAX,
} TreeProp;

typedef enum PropKind {
        PROP_KIND_U64,  /* D-Bus "t" */
        PROP_KIND_CPUS, /* D-Bus "ay" bitmask */
} PropKind;

/* Converts a JSON value to the systemd value. On failure returns -EINVAL/-ERANGE (-E2BIG: a list with too many
 * entries) and sets *ret_reason to a static description of what is expected. */
typedef int (*PropFromJson)(const json_t *v, uint64_t *ret, uint8_t **ret_cpus, size_t *ret_n_cpus,
                            const char **ret_reason);

typedef struct PropInfo {
        TreeProp prop;
        PropKind kind;
        const char *native_key;    /* key in the native schema */
        PropFromJson from_native;
        const char *controller;    /* controller in the cgrouparch schema */
        const char *controller_key; /* key in that controller's "conf" */
        PropFromJson from_controller;
        const char *dbus_name;     /* systemd property */
        uint64_t default_value;    /* systemd's value when unset: what resetting the property restores */
} PropInfo;

extern const PropInfo prop_table[_TREE_PROP_MAX];

const PropInfo *prop_info(TreeProp p);
const PropInfo *prop_by_native_key(const char *key);
const PropInfo *prop_by_controller_key(const char *controller, const char *key);
const PropInfo *prop_by_dbus_name(const char *name);
bool prop_is_controller(const char *name);

/* The controllers of the cgrouparch schema, for messages. */
extern const char *const prop_controllers[];

/* cpu.shares → CPUWeight and blkio.weight → IOWeight, rounded to nearest and clamped to 1..10000. */
uint64_t prop_share_to_cpu_weight(uint64_t share);
uint64_t prop_blkio_weight_to_io_weight(uint64_t weight);

/* Renders a value as the user would write it ("infinity", "150%", "0-3"); caller frees. */
char *prop_value_to_string(TreeProp p, uint64_t value, const uint8_t *cpus, size_t n_cpus);
