/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "record-parse.h"
#include "strmap.h"

/* The groups with a "value", in the record's order (depth first, as record_write() nests them). */
typedef struct Paths {
        StrMap index;  /* path -> its index + 1; owning */
        char **paths;  /* n entries, owned */
        size_t n, alloc;
} Paths;

static void paths_done(Paths *p) {
        strmap_done(&p->index);
        for (size_t i = 0; i < p->n; i++)
                free(p->paths[i]);
        free(p->paths);
}

static int paths_add(Paths *p, char *path) {
        int r;

        if (strmap_get(&p->index, path)) {
                free(path);
                return -EBADMSG;
        }
        if (p->n == p->alloc) {
                size_t alloc = MAX(p->alloc * 2, (size_t) 16);
                char **a = reallocarray(p->paths, alloc, sizeof(char *));

                if (!a) {
                        free(path);
                        return -ENOMEM;
                }
                p->paths = a;
                p->alloc = alloc;
        }
        p->paths[p->n++] = path;
        r = strmap_put(&p->index, path, (void *) (uintptr_t) p->n);
        return r < 0 ? r : 0;
}

static char *path_join(const char *parent, const char *name) {
        size_t a = strlen(parent), b = strlen(name);
        char *p = malloc(a + b + 2);

        if (!p)
                return NULL;
        memcpy(p, parent, a);
        if (a > 0)
                p[a++] = '/';
        memcpy(p + a, name, b + 1);
        return p;
}

/* A node: {"value": {...}, "sub_cgroup": {name: node, ...}}, both optional, nothing else. */
static int node_check(json_t *node, json_t **ret_value, json_t **ret_sub, const char **reason) {
        const char *key;
        json_t *v;

        if (!json_is_object(node)) {
                *reason = "a group is not an object";
                return -EBADMSG;
        }
        *ret_value = *ret_sub = NULL;
        json_object_foreach(node, key, v) {
                if (streq(key, "value") && json_is_object(v))
                        *ret_value = v;
                else if (streq(key, "sub_cgroup") && json_is_object(v))
                        *ret_sub = v;
                else {
                        *reason = "a group has a key other than \"value\" and \"sub_cgroup\" objects";
                        return -EBADMSG;
                }
        }
        return 0;
}

/* The first controller names the groups: every node with a value, depth first. */
static int collect(json_t *node, const char *path, unsigned depth, Paths *p, const char **reason) {
        json_t *value, *sub, *child;
        const char *name;
        int r;

        if (depth > 64) {
                *reason = "groups nested too deep";
                return -EBADMSG;
        }
        r = node_check(node, &value, &sub, reason);
        if (r < 0)
                return r;
        if (value) {
                char *copy = strdup(path);

                if (!copy)
                        return -ENOMEM;
                r = paths_add(p, copy);
                if (r < 0)
                        return r;
        }
        json_object_foreach(sub, name, child) {
                _cleanup_(freep) char *c = NULL;

                if (!*name || strchr(name, '/')) {
                        *reason = "a group name is empty or has a '/'";
                        return -EBADMSG;
                }
                c = path_join(path, name);
                if (!c)
                        return -ENOMEM;
                r = collect(child, c, depth + 1, p, reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int counter(json_t *o, const char *key, uint64_t *ret, const char **reason) {
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v) || json_integer_value(v) < 0) {
                *reason = "a counter is not a non-negative integer";
                return -EBADMSG;
        }
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static int parse_u32(const char *s, size_t len, uint32_t *ret) {
        uint64_t v = 0;

        if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        if (v > UINT32_MAX)
                return -EBADMSG;
        *ret = (uint32_t) v;
        return 0;
}

static int value_blkio(json_t *value, SampleValues *v, const char **reason) {
        const char *dev;
        json_t *d;
        size_t n = json_object_size(value), i = 0;

        if (n == 0)
                return 0;
        if (n > UINT16_MAX) {
                *reason = "too many devices";
                return -EBADMSG;
        }
        v->io = calloc(n, sizeof(SampleIo));
        if (!v->io)
                return -ENOMEM;
        v->n_io = (uint16_t) n;
        v->have |= SAMPLE_HAVE_IO;
        json_object_foreach(value, dev, d) {
                SampleIo *io = &v->io[i++];
                const char *colon = strchr(dev, ':');

                if (!colon || parse_u32(dev, (size_t) (colon - dev), &io->major) < 0 ||
                    parse_u32(colon + 1, strlen(colon + 1), &io->minor) < 0) {
                        *reason = "a blkio device is not \"major:minor\"";
                        return -EBADMSG;
                }
                if (!json_is_object(d) || counter(d, "Read", &io->read_bytes, reason) < 0 ||
                    counter(d, "Write", &io->write_bytes, reason) < 0 ||
                    counter(d, "ReadOps", &io->read_ios, reason) < 0 ||
                    counter(d, "WriteOps", &io->write_ios, reason) < 0) {
                        *reason = "a blkio device lacks Read, Write, ReadOps or WriteOps";
                        return -EBADMSG;
                }
        }
        return 0;
}

static int value_pressure(json_t *value, SampleValues *v, const char **reason) {
        static const char *const res[] = { "cpu", "memory", "io" };

        for (int k = 0; k < 3; k++) {
                json_t *o = json_object_get(value, res[k]), *x;

                if (!o)
                        continue;
                if (!json_is_object(o)) {
                        *reason = "a pressure resource is not an object";
                        return -EBADMSG;
                }
                for (int f = 0; f < 2; f++)
                        if ((x = json_object_get(o, f == 0 ? "some" : "full"))) {
                                if (counter(o, f == 0 ? "some" : "full", &v->pressure_usec[k * 2 + f], reason) < 0)
                                        return -EBADMSG;
                                v->pressure_have |= (uint8_t) (1u << (k * 2 + f));
                        }
        }
        if (v->pressure_have)
                v->have |= SAMPLE_HAVE_PRESSURE;
        return 0;
}

/* Fills controller c of the values of every group under node (whose path is path). Keys not read here
 * make the round trip differ, which refuses the record. */
static int fill(json_t *node, const char *path, unsigned c, const Paths *p, SampleValues *values,
                unsigned depth, const char **reason) {
        json_t *value, *sub, *child;
        const char *name;
        int r;

        if (depth > 64) {
                *reason = "groups nested too deep";
                return -EBADMSG;
        }
        r = node_check(node, &value, &sub, reason);
        if (r < 0)
                return r;
        if (value) {
                void *found = strmap_get(&p->index, path);
                SampleValues *v;

                if (!found) {
                        *reason = "the controllers do not name the same groups";
                        return -EBADMSG;
                }
                v = &values[(uintptr_t) found - 1];
                switch (c) {
                case 0:
                case 2:
                        if (json_object_size(value) > 0) {
                                r = counter(value, "usage", c == 0 ? &v->cpu_usage_nsec : &v->memory_bytes,
                                            reason);
                                v->have |= c == 0 ? SAMPLE_HAVE_CPU : SAMPLE_HAVE_MEMORY;
                        }
                        break;
                case 3:
                        if (json_object_size(value) > 0) {
                                r = counter(value, "current", &v->pids, reason);
                                v->have |= SAMPLE_HAVE_PIDS;
                        }
                        break;
                case 1:
                        r = value_blkio(value, v, reason);
                        break;
                default:
                        r = value_pressure(value, v, reason);
                        break;
                }
                if (r < 0)
                        return r;
        }
        json_object_foreach(sub, name, child) {
                _cleanup_(freep) char *c_path = path_join(path, name);

                if (!c_path)
                        return -ENOMEM;
                r = fill(child, c_path, c, p, values, depth + 1, reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool set_has_paths(const SliceSet *s, const Paths *p) {
        if (!s || s->n != p->n)
                return false;
        for (size_t i = 0; i < p->n; i++)
                if (!streq(s->paths[i], p->paths[i]))
                        return false;
        return true;
}

int record_parse(const char *text, size_t size, SliceSet *prev, SliceSet **ret_set, SampleValues **ret_values,
                 unsigned *ret_controllers, const char **ret_reason) {
        _cleanup_(paths_done) Paths p = { .index = STRMAP_OWNING };
        _cleanup_(slice_set_unrefp) SliceSet *set = NULL;
        _cleanup_(record_layout_freep) RecordLayout *layout = NULL;
        _cleanup_(buf_done) Buf again = { 0 };
        SampleValues *values = NULL;
        const char *reason = "not a record", *key;
        unsigned mask = 0;
        json_error_t jerr;
        json_t *root, *ctl;
        int r;

        assert(text || size == 0);
        assert(ret_set);
        assert(ret_values);
        assert(ret_controllers);

        if (size > RECORD_PARSE_MAX_BYTES)
                return -EFBIG;
        root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                reason = "not JSON";
                r = -EBADMSG;
                goto finish;
        }
        r = -EBADMSG;
        if (!json_is_object(root) || json_object_size(root) == 0)
                goto finish;
        json_object_foreach(root, key, ctl) {
                unsigned c = 0;

                while (c < ELEMENTSOF(record_controller_names) && !streq(key, record_controller_names[c]))
                        c++;
                if (c == ELEMENTSOF(record_controller_names)) {
                        reason = "a key is not a controller (cpu, blkio, memory, pids, pressure)";
                        r = -EBADMSG;
                        goto finish;
                }
                if (mask == 0) {
                        r = collect(ctl, "", 0, &p, &reason);
                        if (r < 0)
                                goto finish;
                        values = calloc(MAX(p.n, (size_t) 1), sizeof(SampleValues));
                        if (!values) {
                                r = -ENOMEM;
                                goto finish;
                        }
                }
                mask |= 1u << c;
                r = fill(ctl, "", c, &p, values, 0, &reason);
                if (r < 0)
                        goto finish;
        }

        if (set_has_paths(prev, &p))
                set = slice_set_ref(prev);
        else {
                set = slice_set_new(p.n);
                if (!set) {
                        r = -ENOMEM;
                        goto finish;
                }
                for (size_t i = 0; i < p.n; i++) {
                        set->paths[i] = strdup(p.paths[i]);
                        if (!set->paths[i]) {
                                r = -ENOMEM;
                                goto finish;
                        }
                }
        }
        /* What is kept must give back the very text: anything else (key order, spacing, a group without a
         * value in one controller only, numbers written otherwise) is not a record of ours. */
        r = record_layout_new(set, &layout);
        if (r >= 0)
                r = record_write_controllers(layout, mask, values, &again);
        if (r < 0)
                goto finish;
        if (again.size != size || memcmp(again.data, text, size) != 0) {
                reason = "not in the form slicekeeperd writes";
                r = -EBADMSG;
                goto finish;
        }
        *ret_set = TAKE_PTR(set);
        *ret_values = TAKE_PTR(values);
        *ret_controllers = mask;
        r = 0;
finish:
        json_decref(root);
        if (r < 0) {
                sample_values_free_array(values, p.n);
                if (ret_reason)
                        *ret_reason = r == -EBADMSG ? reason : NULL;
        }
        return r;
}
