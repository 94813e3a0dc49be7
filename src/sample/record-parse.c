/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "record-parse.h"

/* Nesting of groups read at most: a tree is 16 deep (tree.h); anything deeper is not a record of ours. */
#define DEPTH_MAX 64

typedef struct Cursor {
        const char *p, *end;
        const char *reason;
        RecordParser *parser;
        SampleValues *values; /* NULL while the first controller names the groups */
        size_t next;          /* the index of the next group with a value */
        size_t n_groups;      /* how many have one */
        unsigned controller;
} Cursor;

static int fail(Cursor *c, const char *reason) {
        /* whatever was expected next, text that ends there was cut short */
        c->reason = c->p >= c->end ? "cut short" : reason;
        return -EBADMSG;
}

static bool lit(Cursor *c, const char *s) {
        size_t n = strlen(s);

        if ((size_t) (c->end - c->p) < n || memcmp(c->p, s, n) != 0)
                return false;
        c->p += n;
        return true;
}

/* A counter as record_write() writes it: digits, no leading zero, at most INT64_MAX. */
static int number(Cursor *c, uint64_t *ret) {
        uint64_t v = 0;
        const char *start = c->p;

        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
                if (v > ((uint64_t) INT64_MAX - (uint64_t) (*c->p - '0')) / 10)
                        return fail(c, "a counter is larger than a JSON integer");
                v = v * 10 + (uint64_t) (*c->p++ - '0');
        }
        if (c->p == start || (*start == '0' && c->p - start > 1))
                return fail(c, "a counter is not a non-negative integer");
        *ret = v;
        return 0;
}

static int u32(Cursor *c, uint32_t *ret) {
        uint64_t v;
        int r = number(c, &v);

        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return fail(c, "a device number is out of range");
        *ret = (uint32_t) v;
        return 0;
}

/* A group name (group) or a user's, as put_json_string() in record.c escapes it, appended to out (NULL:
 * skipped). A user's name may have a '/', and is at most RECORD_PARSE_USER_NAME_MAX bytes (out empty). */
static int name(Cursor *c, Buf *out, bool group) {
        if (!lit(c, "\""))
                return fail(c, group ? "a group name is not a string" : "a user's name is not a string");
        for (;;) {
                char ch;
                int r;

                if (c->p >= c->end)
                        return fail(c, "a string is cut short");
                ch = *c->p++;
                if (ch == '"')
                        return 0;
                if ((unsigned char) ch < 0x20)
                        return fail(c, "a control byte in a string");
                if (ch == '\\') {
                        const char *esc = "\"\\bfnrt", *raw = "\"\\\b\f\n\r\t", *k;

                        if (c->p >= c->end)
                                return fail(c, "a string is cut short");
                        ch = *c->p++;
                        if (ch && (k = strchr(esc, ch)))
                                ch = raw[k - esc];
                        else if (ch == 'u' && c->end - c->p >= 4 && c->p[0] == '0' && c->p[1] == '0' &&
                                 (c->p[2] == '0' || c->p[2] == '1') && strchr("0123456789ABCDEF", c->p[3]) &&
                                 c->p[3]) {
                                ch = (char) ((c->p[2] - '0') * 16 +
                                             (c->p[3] <= '9' ? c->p[3] - '0' : c->p[3] - 'A' + 10));
                                c->p += 4;
                                if (ch == 0)
                                        return fail(c, "a NUL byte in a name");
                        } else
                                return fail(c, "not in the form slicekeeperd writes");
                }
                if (ch == '/' && group)
                        return fail(c, "a group name is empty or has a '/'");
                if (!group && out && out->size == RECORD_PARSE_USER_NAME_MAX)
                        return fail(c, "a user's name is longer than 256 bytes");
                if (out) {
                        r = buf_put(out, &ch, 1);
                        if (r < 0)
                                return r;
                }
        }
}

/* A group's path, or a user's UID (its name, if any, set in p->names after). */
static int paths_add(RecordParser *p, const char *path, size_t len) {
        char *copy;

        if (p->n_paths == p->alloc_paths) {
                size_t alloc = MAX(p->alloc_paths * 2, (size_t) 16);
                char **a = reallocarray(p->paths, alloc, sizeof(char *));

                if (!a)
                        return -ENOMEM;
                p->paths = a;
                a = reallocarray(p->names, alloc, sizeof(char *));
                if (!a)
                        return -ENOMEM;
                p->names = a;
                p->alloc_paths = alloc;
        }
        copy = strndup(path, len);
        if (!copy)
                return -ENOMEM;
        p->names[p->n_paths] = NULL;
        p->paths[p->n_paths++] = copy;
        return 0;
}

static void paths_clear(RecordParser *p) {
        for (size_t i = 0; i < p->n_paths; i++) {
                free(p->paths[i]);
                free(p->names[i]);
        }
        p->n_paths = p->n_groups = 0;
}

static int value_blkio(Cursor *c, SampleValues *v) {
        SampleIo *io = NULL;
        size_t n = 0, alloc = 0;
        int r = 0;

        if (lit(c, "}"))
                return 0;
        do {
                SampleIo d = { 0 };

                if (!lit(c, "\"") || (r = u32(c, &d.major)) < 0 || !lit(c, ":") || (r = u32(c, &d.minor)) < 0 ||
                    !lit(c, "\":{\"Read\":") || (r = number(c, &d.read_bytes)) < 0 || !lit(c, ",\"Write\":") ||
                    (r = number(c, &d.write_bytes)) < 0 || !lit(c, ",\"ReadOps\":") ||
                    (r = number(c, &d.read_ios)) < 0 || !lit(c, ",\"WriteOps\":") ||
                    (r = number(c, &d.write_ios)) < 0 || !lit(c, "}")) {
                        free(io);
                        return r < 0 ? r : fail(c, "a blkio device is not \"major:minor\": {Read, Write, ReadOps, WriteOps}");
                }
                if (n == UINT16_MAX) {
                        free(io);
                        return fail(c, "too many devices");
                }
                if (n == alloc) {
                        SampleIo *a;

                        alloc = MAX(alloc * 2, (size_t) 4);
                        a = reallocarray(io, alloc, sizeof(SampleIo));
                        if (!a) {
                                free(io);
                                return -ENOMEM;
                        }
                        io = a;
                }
                io[n++] = d;
        } while (lit(c, ","));
        if (!lit(c, "}")) {
                free(io);
                return fail(c, "not in the form slicekeeperd writes");
        }
        if (v) {
                free(v->io);
                v->io = io;
                v->n_io = (uint16_t) n;
                v->have |= SAMPLE_HAVE_IO;
        } else
                free(io);
        return 0;
}

static int value_pressure(Cursor *c, SampleValues *v) {
        static const char *const res[] = { "\"cpu\":{", "\"memory\":{", "\"io\":{" };
        SampleValues scratch = { 0 };
        int r, k = 0;

        if (!v)
                v = &scratch;
        if (lit(c, "}"))
                return 0;
        do {
                while (k < 3 && !lit(c, res[k]))
                        k++;
                if (k == 3)
                        return fail(c, "a pressure resource is not cpu, memory or io, in that order");
                if (lit(c, "\"some\":")) {
                        r = number(c, &v->pressure_usec[k * 2]);
                        if (r < 0)
                                return r;
                        v->pressure_have |= (uint8_t) (1u << (k * 2));
                        if (!lit(c, ",")) {
                                if (!lit(c, "}"))
                                        return fail(c, "not in the form slicekeeperd writes");
                                k++;
                                continue;
                        }
                }
                if (!lit(c, "\"full\":"))
                        return fail(c, "a pressure resource has neither some nor full");
                r = number(c, &v->pressure_usec[k * 2 + 1]);
                if (r < 0)
                        return r;
                v->pressure_have |= (uint8_t) (1u << (k * 2 + 1));
                if (!lit(c, "}"))
                        return fail(c, "not in the form slicekeeperd writes");
                k++;
        } while (lit(c, ","));
        if (!lit(c, "}"))
                return fail(c, "not in the form slicekeeperd writes");
        if (v->pressure_have)
                v->have |= SAMPLE_HAVE_PRESSURE;
        return 0;
}

/* One group's value ({...}) for the controller at hand; v NULL while the first controller names groups
 * (its values are read again after). */
static int value(Cursor *c, SampleValues *v) {
        static const char *const single[] = { "\"usage\":", NULL, "\"usage\":", "\"current\":" };
        static const uint32_t have[] = { SAMPLE_HAVE_CPU, 0, SAMPLE_HAVE_MEMORY, SAMPLE_HAVE_PIDS };
        uint64_t n;
        int r;

        if (!lit(c, "{"))
                return fail(c, "a value is not an object");
        if (c->controller == 1)
                return value_blkio(c, v);
        if (c->controller == 4)
                return value_pressure(c, v);
        if (lit(c, "}"))
                return 0;
        if (!lit(c, single[c->controller]))
                return fail(c, "not in the form slicekeeperd writes");
        r = number(c, &n);
        if (r < 0)
                return r;
        if (!lit(c, "}"))
                return fail(c, "not in the form slicekeeperd writes");
        if (v) {
                v->have |= have[c->controller];
                *(c->controller == 0 ? &v->cpu_usage_nsec : c->controller == 2 ? &v->memory_bytes : &v->pids) = n;
        }
        return 0;
}

/* {"value":{...},"sub_cgroup":{"name":{...},...}}, either part left out as record_write() does. */
static int node(Cursor *c, unsigned depth) {
        RecordParser *p = c->parser;
        bool naming = !c->values;
        size_t path_len = p->path.size;
        int r;

        if (depth > DEPTH_MAX)
                return fail(c, "groups nested too deep");
        if (!lit(c, "{"))
                return fail(c, "a group is not an object");
        if (lit(c, "\"value\":")) {
                SampleValues *v = NULL;

                if (naming) {
                        r = paths_add(p, p->path.size > 0 ? (const char *) p->path.data : "", p->path.size);
                        if (r < 0)
                                return r;
                } else {
                        if (c->next >= c->n_groups)
                                return fail(c, "the controllers do not name the same groups");
                        v = &c->values[c->next++];
                }
                r = value(c, v);
                if (r < 0)
                        return r;
                if (!lit(c, ","))
                        return lit(c, "}") ? 0 : fail(c, "a group has a key other than \"value\" and \"sub_cgroup\"");
        }
        if (!lit(c, "\"sub_cgroup\":{"))
                return lit(c, "}") ? 0 : fail(c, "a group has a key other than \"value\" and \"sub_cgroup\"");
        do {
                if (naming && path_len > 0) {
                        r = buf_put(&p->path, "/", 1);
                        if (r < 0)
                                return r;
                }
                r = name(c, naming ? &p->path : NULL, /* group= */ true);
                if (r < 0)
                        return r;
                if (naming && p->path.size == path_len + (path_len > 0))
                        return fail(c, "a group name is empty or has a '/'");
                if (!lit(c, ":"))
                        return fail(c, "not in the form slicekeeperd writes");
                r = node(c, depth + 1);
                if (r < 0)
                        return r;
                p->path.size = path_len;
        } while (lit(c, ","));
        if (!lit(c, "}}"))
                return fail(c, "not in the form slicekeeperd writes");
        return 0;
}

/* One more value, zeroed, at the end of *values (*n of them, room for *alloc). */
static int values_add(SampleValues **values, size_t *n, size_t *alloc) {
        if (*n == *alloc) {
                size_t more = MAX(*alloc * 2, (size_t) 16);
                SampleValues *a = reallocarray(*values, more, sizeof(SampleValues));

                if (!a)
                        return -ENOMEM;
                *values = a;
                *alloc = more;
        }
        (*values)[(*n)++] = (SampleValues) { 0 };
        return 0;
}

/* A user's key: a UID as the daemon samples one (user_slice_parse(): decimal, no leading zero, not the
 * invalid 65535 and 4294967295), above the one before: put_users() writes them by UID, each once. */
static int user_uid(Cursor *c, bool first, uint32_t before, uint32_t *ret) {
        uint64_t uid;

        if (!lit(c, "\"") || number(c, &uid) < 0 || !lit(c, "\""))
                return fail(c, "a user's key is not a UID");
        if (uid >= UINT32_MAX || uid == 65535)
                return fail(c, "a user's key is not a valid UID (65535 and 4294967295 are not)");
        if (!first && uid <= before)
                return fail(c, "the users are not in ascending UID order, each once");
        *ret = (uint32_t) uid;
        return 0;
}

#define USER_KEYS "a user's keys are not name, cpu, blkio, memory, pids and pressure, in that order"

/* {"UID":{"name":"NAME","cpu":{...},"blkio":{...},"memory":{...},"pids":{...},"pressure":{...}},...}, after
 * "users": as put_users() in record.c writes it: the name when known, then every controller whatever the
 * record's own. Each user adds its UID to the parser's paths (its name to names) and its value to *values
 * (*n of them, room for *alloc). */
static int users(Cursor *c, SampleValues **values, size_t *n, size_t *alloc) {
        RecordParser *p = c->parser;
        uint32_t uid = 0;
        int r;

        if (!lit(c, "{"))
                return fail(c, "\"users\" is not an object");
        if (lit(c, "}"))
                return fail(c, "\"users\" is empty (written only with users)");
        do {
                const char *key = c->p + 1;
                SampleValues *v;

                if (p->n_paths - p->n_groups >= RECORD_PARSE_USERS_MAX)
                        return fail(c, "more users than the daemon keeps (65536)");
                r = user_uid(c, p->n_paths == p->n_groups, uid, &uid);
                if (r < 0)
                        return r;
                r = paths_add(p, key, (size_t) (c->p - 1 - key));
                if (r < 0)
                        return r;
                if (!lit(c, ":{"))
                        return fail(c, "a user is not an object");
                if (lit(c, "\"name\":")) {
                        p->path.size = 0;
                        r = name(c, &p->path, /* group= */ false);
                        if (r < 0)
                                return r;
                        p->names[p->n_paths - 1] = strndup(p->path.size > 0 ? (const char *) p->path.data : "",
                                                           p->path.size);
                        if (!p->names[p->n_paths - 1])
                                return -ENOMEM;
                        if (!lit(c, ","))
                                return fail(c, "a user has a name only");
                }
                r = values_add(values, n, alloc);
                if (r < 0)
                        return r;
                v = &(*values)[*n - 1];
                for (unsigned k = 0; k < ELEMENTSOF(record_controller_names); k++) {
                        if (!lit(c, k > 0 ? ",\"" : "\"") || !lit(c, record_controller_names[k]) || !lit(c, "\":"))
                                return fail(c, USER_KEYS);
                        c->controller = k;
                        r = value(c, v);
                        if (r < 0)
                                return r;
                }
                if (!lit(c, "}"))
                        return fail(c, USER_KEYS);
        } while (lit(c, ","));
        if (!lit(c, "}"))
                return fail(c, "not in the form slicekeeperd writes");
        return 0;
}

void record_parser_done(RecordParser *p) {
        assert(p);

        slice_set_unref(p->set);
        record_layout_free(p->layout);
        buf_done(&p->again);
        paths_clear(p);
        free(p->paths);
        free(p->names);
        buf_done(&p->path);
        *p = (RecordParser) { 0 };
}

static bool set_has_paths(const SliceSet *s, const RecordParser *p) {
        if (!s || s->n != p->n_paths || s->n_groups != p->n_groups)
                return false;
        for (size_t i = 0; i < p->n_paths; i++)
                if (!streq(s->paths[i], p->paths[i]) || !s->user_names[i] != !p->names[i] ||
                    (p->names[i] && !streq(s->user_names[i], p->names[i])))
                        return false;
        return true;
}

/* The set the record named, groups and users: the one before when it has the same paths and names. The
 * parser's paths are cleared. */
static int parser_take_set(RecordParser *p) {
        SliceSet *set;

        if (set_has_paths(p->set, p)) {
                paths_clear(p);
                return 0;
        }
        set = slice_set_new(p->n_paths);
        if (!set)
                return -ENOMEM;
        set->n_groups = p->n_groups;
        for (size_t i = p->n_groups; i < p->n_paths; i++)
                if (asprintf(&set->units[i], "user-%s.slice", p->paths[i]) < 0) {
                        set->units[i] = NULL; /* undefined after a failure */
                        slice_set_unref(set);
                        return -ENOMEM;
                }
        for (size_t i = 0; i < p->n_paths; i++) {
                set->paths[i] = TAKE_PTR(p->paths[i]);
                set->user_names[i] = TAKE_PTR(p->names[i]);
        }
        p->n_paths = p->n_groups = 0;
        slice_set_unref(p->set);
        p->set = set;
        return 0;
}

int record_parse(RecordParser *p, const char *text, size_t size, SliceSet **ret_set, SampleValues **ret_values,
                 unsigned *ret_controllers, const char **ret_reason) {
        Cursor c = { .p = text, .end = text + size, .parser = p };
        SampleValues *values = NULL;
        size_t n = 0, alloc = 0;
        unsigned mask = 0;
        int r;

        assert(p);
        assert(text || size == 0);
        assert(ret_set);
        assert(ret_values);
        assert(ret_controllers);

        if (size > RECORD_PARSE_MAX_BYTES)
                return -EFBIG;
        paths_clear(p);
        p->path.size = 0;
        r = lit(&c, "{\"") ? 0 : fail(&c, "not a record");
        while (r >= 0) {
                /* after the one before, in record_write()'s order */
                unsigned k = mask ? 32 - (unsigned) __builtin_clz(mask) : 0;
                const char *key = c.p;

                while (k < ELEMENTSOF(record_controller_names) &&
                       !(lit(&c, record_controller_names[k]) && lit(&c, "\":"))) {
                        c.p = key;
                        k++;
                }
                if (k == ELEMENTSOF(record_controller_names)) {
                        c.p = key;
                        /* [FairShare]'s users, after the controllers, last */
                        if (!values || !lit(&c, "users\":"))
                                r = fail(&c, "a key is not a controller (cpu, blkio, memory, pids, pressure, in that "
                                             "order) nor \"users\" after them");
                        else {
                                r = users(&c, &values, &n, &alloc);
                                if (r >= 0 && !lit(&c, "}"))
                                        r = fail(&c, "\"users\" is not the record's last key");
                        }
                        break;
                }
                c.controller = k;
                if (!values) {
                        /* The first controller names the groups; then its values are read like the others'. */
                        const char *start = c.p;

                        r = node(&c, 0);
                        if (r < 0)
                                break;
                        n = p->n_groups = p->n_paths;
                        alloc = MAX(n, (size_t) 1);
                        values = calloc(alloc, sizeof(SampleValues));
                        if (!values) {
                                r = -ENOMEM;
                                break;
                        }
                        c.p = start;
                }
                c.values = values;
                c.next = 0;
                c.n_groups = n;
                r = node(&c, 0);
                if (r >= 0 && c.next != n)
                        r = fail(&c, "the controllers do not name the same groups");
                if (r < 0)
                        break;
                mask |= 1u << k;
                if (lit(&c, "}"))
                        break;
                if (!lit(&c, ",\""))
                        r = fail(&c, "not in the form slicekeeperd writes");
        }
        if (r >= 0 && c.p != c.end)
                r = fail(&c, "text after the record");
        if (r >= 0)
                r = parser_take_set(p);
        /* What is kept must give back the very text: anything else (a device or a group twice, say) is not
         * a record of ours. */
        if (r >= 0) {
                p->again.size = 0;
                r = record_layout_update(&p->layout, p->set);
                if (r >= 0)
                        r = record_write_controllers(p->layout, mask, values, &p->again);
                if (r >= 0 && (p->again.size != size || memcmp(p->again.data, text, size) != 0)) {
                        c.reason = "not in the form slicekeeperd writes"; /* read to its end: not cut short */
                        r = -EBADMSG;
                }
        }
        if (r < 0) {
                sample_values_free_array(values, n);
                if (ret_reason)
                        *ret_reason = r == -EBADMSG ? c.reason : NULL;
                return r;
        }
        *ret_set = slice_set_ref(p->set);
        *ret_values = values;
        *ret_controllers = mask;
        return 0;
}
