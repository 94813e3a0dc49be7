/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "macro.h"
#include "record.h"
#include "strmap.h"

typedef enum Controller {
        CTL_CPU,
        CTL_BLKIO,
        CTL_MEMORY,
        CTL_PIDS,
        CTL_PRESSURE,
        _CTL_MAX,
} Controller;

const char *const record_controller_names[_CTL_MAX] = { "cpu", "blkio", "memory", "pids", "pressure" };

/* The same text for every controller: fragment 0, the value of slice hole[0], fragment 1, ...,
 * fragment n_holes. */
struct RecordLayout {
        SliceSet *set;
        char *text;
        size_t *frag_end; /* n_holes + 1 */
        size_t *hole;     /* n_holes slice indexes */
        size_t n_holes;
};

/* A group in the nesting; children in the order first seen. */
typedef struct Node {
        const char *name; /* the last path component (not NUL-terminated), name_len bytes */
        size_t name_len;
        ssize_t value;    /* the slice index whose values are "value", -1: none */
        size_t first_child, next_sibling, last_child; /* node indexes, 0: none (node 0 is the root) */
} Node;

typedef struct Builder {
        Node *nodes;
        size_t n_nodes;
        StrMap by_path; /* owning: node names point into its keys */
        Buf text;
        size_t *frag_end, *hole;
        size_t n_holes;
} Builder;

static void builder_done(Builder *b) {
        strmap_done(&b->by_path);
        free(b->nodes);
        buf_done(&b->text);
        free(b->frag_end);
        free(b->hole);
}

/* The node of path ("" the root), made with its parents when missing. */
static ssize_t builder_node(Builder *b, const char *path) {
        const char *slash;
        size_t parent, n;
        ssize_t p;
        void *found = strmap_get(&b->by_path, path);
        const char *key;
        int r;

        if (found)
                return (ssize_t) ((uintptr_t) found - 1);
        if (!*path)
                return 0; /* the root is made first */
        slash = strrchr(path, '/');
        if (slash) {
                _cleanup_(freep) char *up = strndup(path, (size_t) (slash - path));

                if (!up)
                        return -ENOMEM;
                p = builder_node(b, up);
                if (p < 0)
                        return p;
        } else
                p = 0;
        parent = (size_t) p;
        n = b->n_nodes;
        r = strmap_put(&b->by_path, path, (void *) (uintptr_t) (n + 1));
        if (r < 0)
                return r;
        key = strmap_get_key(&b->by_path, path); /* the map's copy lives as long as b */
        b->n_nodes++;
        b->nodes[n] = (Node) {
                .name = key + (slash ? (size_t) (slash - path) + 1 : 0),
                .value = -1,
        };
        b->nodes[n].name_len = strlen(b->nodes[n].name);
        if (b->nodes[parent].last_child)
                b->nodes[b->nodes[parent].last_child].next_sibling = n;
        else
                b->nodes[parent].first_child = n;
        b->nodes[parent].last_child = n;
        return (ssize_t) n;
}

/* A JSON string as jansson writes it: \" \\ and the short escapes, \u00XX for other control bytes. */
static int put_json_string(Buf *out, const char *s, size_t len) {
        static const char hex[] = "0123456789ABCDEF";
        int r = buf_reserve(out, 2 + 6 * len);

        if (r < 0)
                return r;
        buf_put_unchecked(out, "\"", 1);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f" :
                                c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;

                if (e)
                        buf_put_unchecked(out, e, 2);
                else if (c < 0x20) {
                        char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                        buf_put_unchecked(out, u, sizeof(u));
                } else
                        buf_put_unchecked(out, &c, 1);
        }
        buf_put_unchecked(out, "\"", 1);
        return 0;
}

static int builder_lit(Builder *b, const char *s) {
        return buf_put(&b->text, s, strlen(s));
}

static void builder_hole(Builder *b, size_t slice) {
        b->frag_end[b->n_holes] = b->text.size;
        b->hole[b->n_holes++] = slice;
}

/* {"value":HOLE,"sub_cgroup":{"name":{...},...}}, without the parts a node lacks. Depth is bounded by the
 * tree's (16) and by path lengths. */
static int builder_emit(Builder *b, size_t n) {
        const Node *node = &b->nodes[n];
        int r = builder_lit(b, "{");

        if (r >= 0 && node->value >= 0) {
                r = builder_lit(b, "\"value\":");
                builder_hole(b, (size_t) node->value);
        }
        if (r >= 0 && node->first_child)
                r = builder_lit(b, node->value >= 0 ? ",\"sub_cgroup\":{" : "\"sub_cgroup\":{");
        for (size_t c = node->first_child; r >= 0 && c; c = b->nodes[c].next_sibling) {
                if (c != node->first_child)
                        r = builder_lit(b, ",");
                if (r >= 0)
                        r = put_json_string(&b->text, b->nodes[c].name, b->nodes[c].name_len);
                if (r >= 0)
                        r = builder_lit(b, ":");
                if (r >= 0)
                        r = builder_emit(b, c);
        }
        if (r >= 0 && node->first_child)
                r = builder_lit(b, "}");
        return r >= 0 ? builder_lit(b, "}") : r;
}

int record_layout_new(SliceSet *set, RecordLayout **ret) {
        _cleanup_(record_layout_freep) RecordLayout *l = NULL;
        _cleanup_(builder_done) Builder b = { .by_path = STRMAP_OWNING };
        size_t max_nodes = 1;
        int r;

        assert(set);
        assert(ret);

        /* at most one node per path component, plus the root; user slices are not in the tree */
        for (size_t i = 0; i < set->n_groups; i++)
                for (const char *p = set->paths[i]; *p; p++)
                        max_nodes += *p == '/' || p == set->paths[i];
        b.nodes = calloc(max_nodes, sizeof(Node));
        b.frag_end = calloc(set->n + 1, sizeof(size_t));
        b.hole = calloc(set->n + 1, sizeof(size_t));
        if (!b.nodes || !b.frag_end || !b.hole)
                return -ENOMEM;
        b.nodes[0] = (Node) { .value = -1 };
        b.n_nodes = 1;
        for (size_t i = 0; i < set->n_groups; i++) {
                ssize_t n = builder_node(&b, set->paths[i]);

                if (n < 0)
                        return (int) n;
                b.nodes[n].value = (ssize_t) i; /* the same path twice: the later values, as jansson's set */
        }
        r = builder_emit(&b, 0);
        if (r >= 0)
                r = buf_put(&b.text, "", 1);
        if (r < 0)
                return r;
        b.frag_end[b.n_holes] = b.text.size - 1;

        l = calloc(1, sizeof(RecordLayout));
        if (!l)
                return -ENOMEM;
        l->set = slice_set_ref(set);
        l->text = (char *) TAKE_PTR(b.text.data);
        l->frag_end = TAKE_PTR(b.frag_end);
        l->hole = TAKE_PTR(b.hole);
        l->n_holes = b.n_holes;
        *ret = TAKE_PTR(l);
        return 0;
}

RecordLayout *record_layout_free(RecordLayout *l) {
        if (!l)
                return NULL;
        slice_set_unref(l->set);
        free(l->text);
        free(l->frag_end);
        free(l->hole);
        free(l);
        return NULL;
}

int record_layout_update(RecordLayout **l, SliceSet *set) {
        RecordLayout *n;
        int r;

        assert(l);
        assert(set);

        if (*l && (*l)->set == set)
                return 0;
        r = record_layout_new(set, &n);
        if (r < 0)
                return r;
        record_layout_free(*l);
        *l = n;
        return 0;
}

/* ---- numbers ---- */

static const char digit_pairs[201] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";

void record_put_u64(Buf *out, uint64_t v) {
        char tmp[20];
        char *p = tmp + sizeof(tmp);

        assert(out);

        while (v >= 100) {
                p -= 2;
                memcpy(p, digit_pairs + (v % 100) * 2, 2);
                v /= 100;
        }
        if (v >= 10) {
                p -= 2;
                memcpy(p, digit_pairs + v * 2, 2);
        } else
                *--p = (char) ('0' + v);
        buf_put_unchecked(out, p, (size_t) (tmp + sizeof(tmp) - p));
}

/* JSON integers are signed: a saturated counter shows as the largest one, never as a negative. */
static inline void put_counter(Buf *out, uint64_t v) {
        record_put_u64(out, MIN(v, (uint64_t) INT64_MAX));
}

#define LIT(out, s) buf_put_unchecked(out, s, sizeof(s) - 1)

/* The longest value text: a counter is at most 19 digits. */
#define DEVICE_BYTES_MAX (2 * 10 + 5 + sizeof("{\"Read\":,\"Write\":,\"ReadOps\":,\"WriteOps\":}") + 4 * 19)
#define PRESSURE_BYTES_MAX (2 + 3 * (sizeof("\"memory\":{\"some\":,\"full\":}") + 2 * 19))

static size_t value_bytes_max(Controller c, const SampleValues *v) {
        switch (c) {
        case CTL_BLKIO:
                return 2 + (size_t) v->n_io * DEVICE_BYTES_MAX;
        case CTL_PRESSURE:
                return PRESSURE_BYTES_MAX;
        default:
                return sizeof("{\"current\":}") + 19;
        }
}

static void put_device(Buf *out, const SampleIo *io) {
        static const char *const keys[] = { "\":{\"Read\":", ",\"Write\":", ",\"ReadOps\":", ",\"WriteOps\":" };
        const uint64_t counters[] = { io->read_bytes, io->write_bytes, io->read_ios, io->write_ios };

        LIT(out, "\"");
        record_put_u64(out, io->major);
        LIT(out, ":");
        record_put_u64(out, io->minor);
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                buf_put_unchecked(out, keys[k], strlen(keys[k]));
                put_counter(out, counters[k]);
        }
        LIT(out, "}");
}

static void put_blkio(Buf *out, const SampleValues *v) {
        bool first = true;

        LIT(out, "{");
        for (size_t d = 0; (v->have & SAMPLE_HAVE_IO) && v->io && d < v->n_io; d++) {
                bool later = false;

                /* one key per device: a device listed twice shows its last numbers, as an object would */
                for (size_t e = d + 1; e < v->n_io && !later; e++)
                        later = v->io[e].major == v->io[d].major && v->io[e].minor == v->io[d].minor;
                if (later)
                        continue;
                if (!first)
                        LIT(out, ",");
                first = false;
                put_device(out, &v->io[d]);
        }
        LIT(out, "}");
}

static void put_pressure(Buf *out, const SampleValues *v) {
        static const char *const res[] = { "\"cpu\":{", "\"memory\":{", "\"io\":{" };
        bool first = true;

        LIT(out, "{");
        for (int r = 0; r < 3; r++) {
                unsigned bits = (v->pressure_have >> (r * 2)) & 3;

                if (!bits)
                        continue;
                if (!first)
                        LIT(out, ",");
                first = false;
                buf_put_unchecked(out, res[r], strlen(res[r]));
                if (bits & 1) {
                        LIT(out, "\"some\":");
                        put_counter(out, v->pressure_usec[r * 2]);
                }
                if (bits & 2) {
                        if (bits & 1)
                                LIT(out, ",");
                        LIT(out, "\"full\":");
                        put_counter(out, v->pressure_usec[r * 2 + 1]);
                }
                LIT(out, "}");
        }
        LIT(out, "}");
}

/* {"usage":n} and the like: one counter, shown when its have bit is set, else {}. */
static void put_single(Buf *out, bool have, const char *open, size_t open_len, uint64_t v) {
        if (!have) {
                LIT(out, "{}");
                return;
        }
        buf_put_unchecked(out, open, open_len);
        put_counter(out, v);
        LIT(out, "}");
}

#define SINGLE(out, have, open, v) put_single(out, have, open, sizeof(open) - 1, v)

static void put_value(Buf *out, Controller c, const SampleValues *v) {
        switch (c) {
        case CTL_CPU:
                SINGLE(out, v->have & SAMPLE_HAVE_CPU, "{\"usage\":", v->cpu_usage_nsec);
                break;
        case CTL_MEMORY:
                SINGLE(out, v->have & SAMPLE_HAVE_MEMORY, "{\"usage\":", v->memory_bytes);
                break;
        case CTL_PIDS:
                SINGLE(out, v->have & SAMPLE_HAVE_PIDS, "{\"current\":", v->pids);
                break;
        case CTL_BLKIO:
                put_blkio(out, v);
                break;
        case CTL_PRESSURE:
        default:
                put_pressure(out, v);
                break;
        }
}

/* ,"users":{"UID":{"name":"NAME","cpu":V,"blkio":V,"memory":V,"pids":V,"pressure":V},...} for the user slices
 * after the set's groups: per user rather than per controller, apart from the tree. */
static int put_users(const SliceSet *set, const SampleValues *values, Buf *out) {
        int r = buf_put(out, ",\"users\":{", strlen(",\"users\":{"));

        for (size_t i = set->n_groups; r >= 0 && i < set->n; i++) {
                const char *name = set->user_names[i];

                r = buf_put(out, i == set->n_groups ? "" : ",", i == set->n_groups ? 0 : 1);
                if (r >= 0)
                        r = put_json_string(out, set->paths[i], strlen(set->paths[i]));
                if (r >= 0)
                        r = buf_put(out, ":{", 2);
                if (r >= 0 && name) {
                        r = buf_put(out, "\"name\":", strlen("\"name\":"));
                        if (r >= 0)
                                r = put_json_string(out, name, strlen(name));
                        if (r >= 0)
                                r = buf_put(out, ",", 1);
                }
                for (Controller c = 0; r >= 0 && c < _CTL_MAX; c++) {
                        const char *key = record_controller_names[c];

                        /* ,"cpu": and so on: every controller, whatever Controllers= chose for the tree */
                        r = buf_reserve(out, 4 + strlen(key) + value_bytes_max(c, &values[i]));
                        if (r < 0)
                                break;
                        buf_put_unchecked(out, c > 0 ? ",\"" : "\"", c > 0 ? 2 : 1);
                        buf_put_unchecked(out, key, strlen(key));
                        buf_put_unchecked(out, "\":", 2);
                        put_value(out, c, &values[i]);
                }
                if (r >= 0)
                        r = buf_put(out, "}", 1);
        }
        return r < 0 ? r : buf_put(out, "}", 1);
}

int record_write(const RecordLayout *l, const SampleValues *values, Buf *out) {
        return record_write_controllers(l, RECORD_ALL, values, out);
}

int record_write_controllers(const RecordLayout *l, unsigned mask, const SampleValues *values, Buf *out) {
        bool first = true;

        assert(l);
        assert(values || l->n_holes == 0);
        assert(out);

        if (mask == 0)
                return buf_put(out, "{}", 2);
        for (Controller c = 0; c < _CTL_MAX; c++) {
                const char *name = record_controller_names[c];
                size_t from = 0;
                int r;

                if (!(mask & (1u << c)))
                        continue;
                r = buf_reserve(out, strlen(name) + 4);
                if (r < 0)
                        return r;
                buf_put_unchecked(out, first ? "{\"" : ",\"", 2);
                buf_put_unchecked(out, name, strlen(name));
                buf_put_unchecked(out, "\":", 2);
                first = false;

                for (size_t h = 0; r >= 0 && h <= l->n_holes; h++) {
                        const SampleValues *v = h < l->n_holes ? &values[l->hole[h]] : NULL;
                        size_t len = l->frag_end[h] - from;

                        r = buf_reserve(out, len + (v ? value_bytes_max(c, v) : 0));
                        if (r < 0)
                                break;
                        buf_put_unchecked(out, l->text + from, len);
                        from = l->frag_end[h];
                        if (v)
                                put_value(out, c, v);
                }
                if (r < 0)
                        return r;
        }
        if (l->set->n > l->set->n_groups) {
                int r = put_users(l->set, values, out);

                if (r < 0)
                        return r;
        }
        return buf_put(out, "}", 1);
}

int record_write_key(uint64_t unix_sec, Buf *out) {
        int r = buf_reserve(out, 24);

        assert(out);

        if (r < 0)
                return r;
        LIT(out, "\"");
        record_put_u64(out, unix_sec);
        LIT(out, "\":");
        return 0;
}

int record_write_second(RecordLayout **layout, uint64_t unix_sec, SliceSet *set, const SampleValues *values,
                        Buf *out, size_t *ret_record_from, size_t *ret_record_size) {
        return record_write_second_controllers(layout, RECORD_ALL, unix_sec, set, values, out, ret_record_from,
                                               ret_record_size);
}

int record_write_second_controllers(RecordLayout **layout, unsigned mask, uint64_t unix_sec, SliceSet *set,
                                    const SampleValues *values, Buf *out, size_t *ret_record_from,
                                    size_t *ret_record_size) {
        size_t from;
        int r;

        assert(layout);
        assert(set);
        assert(values || set->n == 0);
        assert(out);
        assert(ret_record_from);
        assert(ret_record_size);
        r = record_layout_update(layout, set);
        if (r >= 0)
                r = buf_put(out, "{", 1);
        if (r >= 0)
                r = record_write_key(unix_sec, out);
        if (r < 0)
                return r;
        from = out->size;
        r = record_write_controllers(*layout, mask, values, out);
        if (r >= 0)
                r = buf_put(out, "}", 1);
        if (r < 0)
                return r;
        *ret_record_from = from;
        *ret_record_size = out->size - 1 - from;
        return 0;
}

unsigned record_controllers_resolve(unsigned configured, const json_t *tree_json, bool cgrouparch_schema) {
        unsigned mask = 0;

        if (!(configured & RECORD_TREE))
                return configured & RECORD_ALL;
        if (!tree_json || !cgrouparch_schema)
                return RECORD_ALL;
        for (Controller c = 0; c < _CTL_MAX; c++)
                if (c != CTL_PRESSURE && json_object_get(tree_json, record_controller_names[c]))
                        mask |= 1u << c;
        return mask;
}
