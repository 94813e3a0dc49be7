/* SPDX-License-Identifier: MIT */
/* Which tree properties systemd 252 leaves unenforced on this host's cgroup layout, and why (pure, but for
 * enforce_host_load()): AllowedCPUs on a v1/hybrid host, MemoryHigh/MemoryLow without cgroup2's memory
 * controller, a controller the layout lacks. systemd accepts and reads back such properties, so a plan
 * alone would show them as applied. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cgroup-stat.h"
#include "props.h"
#include "strmap.h"
#include "tree.h"

/* Shown in status, plan and the journal before the reason: "not enforced on this host (cgroup v1 cpuset)". */
#define ENFORCE_TEXT "not enforced on this host"

typedef enum EnforceController {
        ENFORCE_CPU,
        ENFORCE_CPUSET,
        ENFORCE_IO,
        ENFORCE_MEMORY,
        ENFORCE_PIDS,
        _ENFORCE_CONTROLLER_MAX,
} EnforceController;

typedef struct EnforceHost {
        /* systemd drives controllers on cgroup2 (a pure v2 host); false: legacy or hybrid, where it drives
         * only the v1 hierarchies of cpu, blkio, memory and pids, and cgroup2 (if any) just tracks units. */
        bool unified;
        /* Where systemd applies it: the v1 hierarchy is mounted, or cgroup2's root offers the controller. */
        bool have[_ENFORCE_CONTROLLER_MAX];
        /* v1 only: blkio offers a weight file (CFQ's blkio.weight or BFQ's blkio.bfq.weight); since Linux 5.0
         * removed CFQ, without BFQ systemd's translation of IOWeight= has nothing to write. */
        bool v1_blkio_weight;
} EnforceHost;

/* The host from the layout, the text of the cgroup2 root's cgroup.controllers (NULL when unreadable or no
 * cgroup2) and whether blkio offers a weight file. A layout with the v1 "name=systemd" hierarchy is legacy
 * or hybrid, as systemd decides; one with only cgroup2 is unified. */
void enforce_host_from_layout(const CgroupLayout *l, const char *controllers, size_t controllers_size,
                              bool v1_blkio_weight, EnforceHost *ret);
/* The one function here that reads files: mountinfo, cgroup.controllers, the blkio root. */
int enforce_host_load(EnforceHost *ret);

/* Why systemd does not enforce `p` on this host ("cgroup v1 cpuset"), or NULL when it does. */
const char *enforce_reason(const EnforceHost *h, TreeProp p);
/* The properties set in `s`, at a value other than systemd's default, that the host does not enforce: a bit
 * per TreeProp. A property at its default loses nothing (MemoryLow=0 on v1). */
uint32_t enforce_not_enforced(const EnforceHost *h, const TreeSettings *s);

/* [{"property", "key", "value", "reason"}] for the group: "reason" is the full text ENFORCE_TEXT " (...)". */
json_t *enforce_node_json(const EnforceHost *h, const TreeNode *n);

/* Which (group, property, value) were logged, so each is logged once: a pair is told again only after it
 * was gone (value changed, group removed, property enforced) from an update. Bounded by the tree. */
typedef struct EnforceLog {
        StrMap seen; /* "path\nProperty=value" → NULL */
} EnforceLog;

#define ENFORCE_LOG_INIT ((EnforceLog) { .seen = STRMAP_OWNING })

typedef void (*EnforceLogFn)(const TreeNode *n, TreeProp p, const char *value, const char *reason,
                             void *userdata);
/* Calls `fn` for each pair of `nodes` (NULL entries skipped) not enforced now that the previous update did
 * not see, and forgets the pairs gone. -ENOMEM leaves the previous set (the pairs are told again later). */
int enforce_log_update(EnforceLog *l, const EnforceHost *h, const TreeNode *const *nodes, size_t n_nodes,
                       EnforceLogFn fn, void *userdata);
void enforce_log_done(EnforceLog *l);
