/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <stdlib.h>

#include "enforce-report.h"
#include "log.h"
#include "macro.h"
#include "unit-name.h"

void enforce_report_init(EnforceReport *e) {
        int r;

        assert(e);
        *e = (EnforceReport) { .log = ENFORCE_LOG_INIT };
        r = enforce_host_load(&e->host);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the cgroup layout, properties it does not enforce are not "
                                     "reported: %m");
                return;
        }
        e->known = true;
}

void enforce_report_done(EnforceReport *e) {
        if (e)
                enforce_log_done(&e->log);
}

/* Whether the daemon sets the group's properties (not a protected one). */
static bool is_managed(const Realizer *r, const char *root, const TreeNode *n) {
        _cleanup_(freep) char *unit = NULL;

        return unit_name_from_path(root, n->path, &unit) >= 0 && !realizer_is_protected(r, unit, n->path);
}

typedef struct Tell {
        const char *root;
} Tell;

static void on_tell(const TreeNode *n, TreeProp p, const char *value, const char *reason, void *userdata) {
        Tell *t = userdata;
        _cleanup_(freep) char *unit = NULL;

        if (unit_name_from_path(t->root, n->path, &unit) < 0)
                return;
        log_slice(LOG_WARNING, 0, unit, "Group %s (%s): %s=%s " ENFORCE_TEXT " (%s).", n->path, unit,
                  prop_table[p].dbus_name, value, reason);
}

void enforce_report_pass(EnforceReport *e, const Tree *t, const Realizer *r, const char *root) {
        _cleanup_(freep) const TreeNode **nodes = NULL;
        Tell tell = { .root = root };
        size_t n = 0;
        int k;

        assert(e);
        if (!e->known)
                return;
        if (t && t->n_nodes > 0) {
                nodes = calloc(t->n_nodes, sizeof(TreeNode *));
                if (!nodes) {
                        log_oom();
                        return;
                }
                for (size_t i = 0; i < t->n_nodes; i++)
                        /* Only a group with something to tell costs a unit name. */
                        if (enforce_not_enforced(&e->host, &t->nodes[i]->settings) &&
                            is_managed(r, root, t->nodes[i]))
                                nodes[n++] = t->nodes[i];
        }
        k = enforce_log_update(&e->log, &e->host, nodes, n, on_tell, &tell);
        if (k < 0)
                log_debug_errno(k, "Cannot keep which unenforced properties were logged: %m");
}

void enforce_report_slice(const EnforceReport *e, const Tree *t, json_t *slice) {
        const char *path = json_string_value(json_object_get(slice, "group"));
        const TreeNode *n = t && path ? tree_find(t, path) : NULL;

        assert(e);
        if (!json_is_object(slice))
                return;
        /* A protected group's properties are not ours to set: nothing to report. */
        json_object_set_new(slice, "not_enforced",
                            e->known && n && !json_is_true(json_object_get(slice, "protected")) ?
                                    enforce_node_json(&e->host, n) : json_array());
}

size_t enforce_report_count(const EnforceReport *e, const Tree *t, const Realizer *r, const char *root) {
        size_t count = 0;

        assert(e);
        for (size_t i = 0; e->known && t && i < t->n_nodes; i++) {
                uint32_t mask = enforce_not_enforced(&e->host, &t->nodes[i]->settings);

                /* Only a group with something to tell costs a unit name. */
                if (mask && is_managed(r, root, t->nodes[i]))
                        count += (size_t) __builtin_popcount(mask);
        }
        return count;
}

json_t *enforce_report_plan_json(const EnforceReport *e, const Tree *t, const Realizer *r, const char *root) {
        json_t *list = json_array();

        assert(e);
        for (size_t i = 0; list && e->known && t && i < t->n_nodes; i++) {
                const TreeNode *n = t->nodes[i];
                _cleanup_(freep) char *unit = NULL;
                json_t *a, *item;
                size_t j;

                if (!enforce_not_enforced(&e->host, &n->settings) || !is_managed(r, root, n) ||
                    unit_name_from_path(root, n->path, &unit) < 0)
                        continue;
                a = enforce_node_json(&e->host, n);
                json_array_foreach(a, j, item) {
                        json_object_set_new(item, "unit", json_string(unit));
                        json_object_set_new(item, "group", json_string(n->path));
                        json_array_append(list, item);
                }
                json_decref(a);
        }
        return list;
}
