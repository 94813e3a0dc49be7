/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enforceable.h"
#include "fileio.h"
#include "macro.h"

static const char *const controller_names[_ENFORCE_CONTROLLER_MAX] = {
        [ENFORCE_CPU] = "cpu",
        [ENFORCE_CPUSET] = "cpuset",
        [ENFORCE_IO] = "io",
        [ENFORCE_MEMORY] = "memory",
        [ENFORCE_PIDS] = "pids",
};

static const EnforceController prop_controller[_TREE_PROP_MAX] = {
        [TREE_PROP_CPU_WEIGHT] = ENFORCE_CPU,
        [TREE_PROP_CPU_QUOTA] = ENFORCE_CPU,
        [TREE_PROP_MEMORY_MAX] = ENFORCE_MEMORY,
        [TREE_PROP_MEMORY_HIGH] = ENFORCE_MEMORY,
        [TREE_PROP_MEMORY_LOW] = ENFORCE_MEMORY,
        [TREE_PROP_IO_WEIGHT] = ENFORCE_IO,
        [TREE_PROP_TASKS_MAX] = ENFORCE_PIDS,
        [TREE_PROP_ALLOWED_CPUS] = ENFORCE_CPUSET,
};

void enforce_host_from_layout(const CgroupLayout *l, const char *controllers, size_t controllers_size,
                              bool v1_blkio_weight, EnforceHost *ret) {
        EnforceHost h = { 0 };

        assert(l);
        assert(ret);

        h.unified = !l->named_systemd && l->unified;
        if (h.unified) {
                for (EnforceController c = 0; c < _ENFORCE_CONTROLLER_MAX; c++)
                        h.have[c] = controllers &&
                                    cg_parse_controllers_has(controllers, controllers_size, controller_names[c]) > 0;
        } else {
                /* systemd 252 drives no cpuset hierarchy on v1: have[ENFORCE_CPUSET] stays false. */
                h.have[ENFORCE_CPU] = l->v1[CG_CPU];
                h.have[ENFORCE_IO] = l->v1[CG_IO];
                h.have[ENFORCE_MEMORY] = l->v1[CG_MEMORY];
                h.have[ENFORCE_PIDS] = l->v1[CG_PIDS];
                h.v1_blkio_weight = v1_blkio_weight && l->v1[CG_IO];
        }
        *ret = h;
}

static bool file_in(const char *dir, const char *name) {
        char path[4096];

        if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
                return false;
        return access(path, F_OK) >= 0;
}

int enforce_host_load(EnforceHost *ret) {
        _cleanup_(cgroup_layout_done) CgroupLayout l = { 0 };
        _cleanup_(freep) char *controllers = NULL;
        size_t size = 0;
        bool weight = false;
        int r;

        assert(ret);

        r = cgroup_layout_load(&l);
        if (r < 0)
                return r;
        if (l.unified) {
                char path[4096];

                if ((size_t) snprintf(path, sizeof(path), "%s/cgroup.controllers", l.unified) < sizeof(path) &&
                    read_file_bounded(path, 4096, &controllers, &size) < 0)
                        controllers = NULL;
        }
        /* BFQ's weight file is not on the root, its statistics are: either says it is there. */
        if (l.v1[CG_IO])
                weight = file_in(l.v1[CG_IO], "blkio.weight") || file_in(l.v1[CG_IO], "blkio.bfq.weight") ||
                         file_in(l.v1[CG_IO], "blkio.bfq.io_service_bytes");
        enforce_host_from_layout(&l, controllers, controllers ? size : 0, weight, ret);
        return 0;
}

const char *enforce_reason(const EnforceHost *h, TreeProp p) {
        EnforceController c;

        assert(h);
        if (p < 0 || p >= _TREE_PROP_MAX)
                return NULL;
        c = prop_controller[p];
        if (h->unified) {
                static const char *const missing[_ENFORCE_CONTROLLER_MAX] = {
                        [ENFORCE_CPU] = "no cpu controller in cgroup2",
                        [ENFORCE_CPUSET] = "no cpuset controller in cgroup2",
                        [ENFORCE_IO] = "no io controller in cgroup2",
                        [ENFORCE_MEMORY] = "no memory controller in cgroup2",
                        [ENFORCE_PIDS] = "no pids controller in cgroup2",
                };
                return h->have[c] ? NULL : missing[c];
        }
        switch (p) {
        case TREE_PROP_ALLOWED_CPUS:
                return "cgroup v1 cpuset"; /* systemd applies AllowedCPUs= only to cgroup2's cpuset */
        case TREE_PROP_MEMORY_HIGH:
        case TREE_PROP_MEMORY_LOW:
                return "cgroup v1 memory"; /* v1 gets only MemoryMax=, as memory.limit_in_bytes */
        case TREE_PROP_CPU_WEIGHT:
        case TREE_PROP_CPU_QUOTA:
                return h->have[c] ? NULL : "no cgroup v1 cpu hierarchy";
        case TREE_PROP_MEMORY_MAX:
                return h->have[c] ? NULL : "no cgroup v1 memory hierarchy";
        case TREE_PROP_IO_WEIGHT:
                return !h->have[c] ? "no cgroup v1 blkio hierarchy" :
                       !h->v1_blkio_weight ? "cgroup v1 blkio without a weight file" : NULL;
        case TREE_PROP_TASKS_MAX:
                return h->have[c] ? NULL : "no cgroup v1 pids hierarchy";
        default:
                return NULL;
        }
}

uint32_t enforce_not_enforced(const EnforceHost *h, const TreeSettings *s) {
        uint32_t mask = 0;

        assert(h);
        assert(s);
        for (TreeProp p = 0; p < _TREE_PROP_MAX; p++) {
                bool at_default;

                if (!(s->set_mask & (1u << p)))
                        continue;
                at_default = prop_table[p].kind == PROP_KIND_CPUS ? s->n_cpus == 0 :
                                                                    s->value[p] == prop_table[p].default_value;
                if (!at_default && enforce_reason(h, p))
                        mask |= 1u << p;
        }
        return mask;
}

static char *node_value(const TreeNode *n, TreeProp p) {
        return prop_value_to_string(p, n->settings.value[p], n->settings.cpus, n->settings.n_cpus);
}

json_t *enforce_node_json(const EnforceHost *h, const TreeNode *n) {
        uint32_t mask;
        json_t *a;

        assert(h);
        assert(n);
        a = json_array();
        mask = enforce_not_enforced(h, &n->settings);
        for (TreeProp p = 0; a && p < _TREE_PROP_MAX; p++) {
                _cleanup_(freep) char *value = NULL, *reason = NULL;

                if (!(mask & (1u << p)))
                        continue;
                value = node_value(n, p);
                if (!value || asprintf(&reason, ENFORCE_TEXT " (%s)", enforce_reason(h, p)) < 0) {
                        reason = NULL;
                        continue;
                }
                json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "property", prop_table[p].dbus_name,
                                                   "key", prop_table[p].native_key, "value", value, "reason",
                                                   reason));
        }
        return a;
}

int enforce_log_update(EnforceLog *l, const EnforceHost *h, const TreeNode *const *nodes, size_t n_nodes,
                       EnforceLogFn fn, void *userdata) {
        StrMap now = STRMAP_OWNING;

        assert(l);
        assert(h);
        assert(fn);
        for (size_t i = 0; i < n_nodes; i++) {
                const TreeNode *n = nodes[i];
                uint32_t mask;

                if (!n)
                        continue;
                mask = enforce_not_enforced(h, &n->settings);
                for (TreeProp p = 0; p < _TREE_PROP_MAX; p++) {
                        _cleanup_(freep) char *value = NULL, *key = NULL;
                        int r;

                        if (!(mask & (1u << p)))
                                continue;
                        value = node_value(n, p);
                        if (!value || asprintf(&key, "%s\n%s=%s", n->path, prop_table[p].dbus_name, value) < 0) {
                                key = NULL;
                                strmap_done(&now);
                                return -ENOMEM;
                        }
                        r = strmap_put(&now, key, NULL);
                        if (r == -EEXIST)
                                continue;
                        if (r < 0) {
                                strmap_done(&now);
                                return r;
                        }
                        if (!strmap_get_key(&l->seen, key))
                                fn(n, p, value, enforce_reason(h, p), userdata);
                }
        }
        strmap_done(&l->seen);
        l->seen = now;
        return 0;
}

void enforce_log_done(EnforceLog *l) {
        if (l)
                strmap_done(&l->seen);
}
