/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "record.h"

typedef enum Controller {
        CTL_CPU,
        CTL_BLKIO,
        CTL_MEMORY,
        CTL_PIDS,
        CTL_PRESSURE,
        _CTL_MAX,
} Controller;

static const char *const controller_names[_CTL_MAX] = { "cpu", "blkio", "memory", "pids", "pressure" };

/* JSON integers are signed: a saturated counter shows as the largest one, never as a negative. */
static json_t *counter(uint64_t v) {
        return json_integer((json_int_t) MIN(v, (uint64_t) INT64_MAX));
}

static json_t *value_json(Controller c, const SampleValues *v) {
        json_t *o = json_object();

        if (!o)
                return NULL;
        switch (c) {
        case CTL_CPU:
                if (v->have & SAMPLE_HAVE_CPU)
                        json_object_set_new(o, "usage", counter(v->cpu_usage_nsec));
                break;
        case CTL_MEMORY:
                if (v->have & SAMPLE_HAVE_MEMORY)
                        json_object_set_new(o, "usage", counter(v->memory_bytes));
                break;
        case CTL_PIDS:
                if (v->have & SAMPLE_HAVE_PIDS)
                        json_object_set_new(o, "current", counter(v->pids));
                break;
        case CTL_BLKIO:
                for (size_t i = 0; (v->have & SAMPLE_HAVE_IO) && i < v->n_io; i++) {
                        char dev[32];

                        snprintf(dev, sizeof(dev), "%u:%u", v->io[i].major, v->io[i].minor);
                        json_object_set_new(o, dev, json_pack("{s:o, s:o, s:o, s:o}",
                                                              "Read", counter(v->io[i].read_bytes),
                                                              "Write", counter(v->io[i].write_bytes),
                                                              "ReadOps", counter(v->io[i].read_ios),
                                                              "WriteOps", counter(v->io[i].write_ios)));
                }
                break;
        case CTL_PRESSURE: {
                static const char *const res[] = { "cpu", "memory", "io" };

                for (int r = 0; r < 3; r++) {
                        json_t *p = NULL;

                        for (int k = 0; k < 2; k++) {
                                PressureKind kind = (PressureKind) (r * 2 + k);

                                if (!(v->pressure_have & (1u << kind)))
                                        continue;
                                if (!p)
                                        p = json_object();
                                json_object_set_new(p, k == 0 ? "some" : "full",
                                                    counter(v->pressure_usec[kind]));
                        }
                        if (p)
                                json_object_set_new(o, res[r], p);
                }
                break;
        }
        default:
                break;
        }
        return o;
}

/* The node object of `path` under the controller tree, created on the way ("a/b" → sub_cgroup.a.sub_cgroup.b). */
static json_t *node_for(json_t *root, const char *path) {
        json_t *node = root;
        const char *p = path;

        while (*p) {
                size_t n = strcspn(p, "/");
                char name[256];
                json_t *sub, *child;

                if (n >= sizeof(name))
                        return NULL;
                memcpy(name, p, n);
                name[n] = 0;
                sub = json_object_get(node, "sub_cgroup");
                if (!sub) {
                        sub = json_object();
                        json_object_set_new(node, "sub_cgroup", sub);
                }
                child = json_object_get(sub, name);
                if (!child) {
                        child = json_object();
                        json_object_set_new(sub, name, child);
                }
                node = child;
                p += n;
                if (*p == '/')
                        p++;
        }
        return node;
}

json_t *record_to_json(const RingSlot *slot) {
        json_t *record = json_object();

        if (!record || !slot || !slot->set)
                return record;
        for (Controller c = 0; c < _CTL_MAX; c++) {
                json_t *root = json_object();

                /* The set lists parents before children, so each group's parent node exists first. */
                for (size_t i = 0; root && i < slot->set->n; i++) {
                        json_t *node = node_for(root, slot->set->paths[i]);

                        if (node)
                                json_object_set_new(node, "value", value_json(c, &slot->values[i]));
                }
                json_object_set_new(record, controller_names[c], root);
        }
        return record;
}
