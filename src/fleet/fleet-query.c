/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet-query.h"
#include "macro.h"
#include "node-name.h"
#include "top.h"

_printf_(3, 4) static void set_error(char *error, size_t size, const char *fmt, ...) {
        va_list ap;

        if (!error || size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(error, size, fmt, ap);
        va_end(ap);
}

int fleet_seconds_parse(const char *s, unsigned *ret) {
        unsigned v = 0;

        assert(ret);

        if (!s || !*s || strlen(s) > 3)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (*p - '0');
        }
        if (v < 1 || v > FLEET_SECONDS_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* A second as Redis writes a score: decimal digits (a double that holds an integer prints as one). 0 when
 * it is not one. */
static int parse_second(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0 || len > 15) /* up to year 31 million: a bigger "second" is not one */
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

static int compare_hosts(const void *a, const void *b) {
        return strcmp(((const FleetHost *) a)->node, ((const FleetHost *) b)->node);
}

void fleet_plan_done(FleetPlan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_hosts; i++)
                free(p->hosts[i].node);
        free(p->hosts);
        for (size_t i = 0; i < p->n_keys; i++)
                free(p->keys[i]);
        free(p->keys);
        *p = (FleetPlan) { 0 };
}

int fleet_plan_build(const char *prefix, uint64_t now, unsigned seconds, const redisReply *hosts_reply,
                     FleetPlan *ret, char *error, size_t error_size) {
        _cleanup_(fleet_plan_done) FleetPlan p = { .now = now, .seconds = seconds };
        uint64_t from;
        size_t n, k = 0, total = 0;

        assert(prefix && ret);

        if (seconds < 1 || seconds > FLEET_SECONDS_MAX) {
                set_error(error, error_size, "seconds must be 1..%u, not %u", FLEET_SECONDS_MAX, seconds);
                return -EINVAL;
        }
        if (strlen(prefix) > FLEET_PREFIX_MAX) {
                set_error(error, error_size, "Redis prefix longer than %u bytes", FLEET_PREFIX_MAX);
                return -EINVAL;
        }
        if (!hosts_reply) {
                set_error(error, error_size, "no reply from Redis");
                return -EIO;
        }
        if (hosts_reply->type == REDIS_REPLY_ERROR) {
                set_error(error, error_size, "Redis: %.*s", (int) MIN(hosts_reply->len, (size_t) 200),
                          hosts_reply->str ?: "");
                return -EIO;
        }
        if (hosts_reply->type != REDIS_REPLY_ARRAY || hosts_reply->elements % 2 != 0 ||
            (hosts_reply->elements > 0 && !hosts_reply->element)) {
                set_error(error, error_size, "%s/hosts is not a sorted set of hosts and seconds", prefix);
                return -EBADMSG;
        }
        n = hosts_reply->elements / 2;
        if (n > FLEET_HOSTS_MAX) {
                set_error(error, error_size, "more than %u hosts in %s/hosts", FLEET_HOSTS_MAX, prefix);
                return -E2BIG;
        }
        p.hosts = calloc(MAX(n, (size_t) 1), sizeof(FleetHost));
        if (!p.hosts)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const redisReply *m = hosts_reply->element[2 * i], *s = hosts_reply->element[2 * i + 1];
                uint64_t last;

                if (!m || !s || m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING || !m->str ||
                    !s->str || m->len > NODE_NAME_MAX || strlen(m->str) != m->len || !node_name_is_valid(m->str) ||
                    parse_second(s->str, s->len, &last) < 0) {
                        p.skipped_hosts++;
                        continue;
                }
                p.hosts[p.n_hosts].node = strdup(m->str);
                if (!p.hosts[p.n_hosts].node)
                        return -ENOMEM;
                p.hosts[p.n_hosts++].last = last;
        }
        qsort(p.hosts, p.n_hosts, sizeof(FleetHost), compare_hosts);
        /* a sorted set holds a member once; a reply that repeats one is not trusted to: keep the first */
        for (size_t i = 0; i < p.n_hosts; i++) {
                if (k > 0 && streq(p.hosts[k - 1].node, p.hosts[i].node)) {
                        free(p.hosts[i].node);
                        p.skipped_hosts++;
                        continue;
                }
                p.hosts[k++] = p.hosts[i];
        }
        p.n_hosts = k;

        from = now >= seconds ? now - seconds + 1 : 0;
        for (size_t i = 0; i < p.n_hosts; i++) {
                FleetHost *h = &p.hosts[i];
                uint64_t to = MIN(now, h->last);

                h->from_sec = from;
                h->first_key = total;
                h->n_keys = to >= from ? (size_t) (to - from + 1) : 0;
                total += h->n_keys;
        }
        if (total > FLEET_KEYS_MAX) {
                set_error(error, error_size,
                          "%zu hosts over %u seconds are %zu records, more than %u: ask for fewer seconds", p.n_hosts,
                          seconds, total, FLEET_KEYS_MAX);
                return -E2BIG;
        }
        p.keys = calloc(total + 1, sizeof(char *));
        if (!p.keys)
                return -ENOMEM;
        for (size_t i = 0; i < p.n_hosts; i++)
                for (size_t j = 0; j < p.hosts[i].n_keys; j++) {
                        if (asprintf(&p.keys[p.n_keys], "%s/host/%s/account/%" PRIu64, prefix, p.hosts[i].node,
                                     p.hosts[i].from_sec + j) < 0) {
                                p.keys[p.n_keys] = NULL;
                                return -ENOMEM;
                        }
                        p.n_keys++;
                }
        *ret = p;
        p = (FleetPlan) { 0 };
        return 0;
}

static void strv_free_n(char **v) {
        if (!v)
                return;
        for (char **s = v; *s; s++)
                free(*s);
        free(v);
}

int fleet_group_parse(const char *group, char ***ret_parts, size_t *ret_n) {
        char **parts = NULL;
        size_t n = 0, len;
        const char *p, *end;

        assert(ret_parts && ret_n);

        if (!group)
                group = "";
        len = strlen(group);
        if (len > FLEET_GROUP_MAX)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) group[i] < 0x20 || group[i] == 0x7f)
                        return -EINVAL;
        p = group;
        end = group + len;
        if (p < end && *p == '/')
                p++;
        if (end > p && end[-1] == '/')
                end--;
        if (p >= end) {
                *ret_parts = NULL;
                *ret_n = 0;
                return 0;
        }
        parts = calloc((size_t) (end - p) / 2 + 2, sizeof(char *));
        if (!parts)
                return -ENOMEM;
        while (p <= end) {
                const char *slash = memchr(p, '/', (size_t) (end - p));
                size_t l = slash ? (size_t) (slash - p) : (size_t) (end - p);

                if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.')) {
                        strv_free_n(parts);
                        return -EINVAL;
                }
                parts[n] = strndup(p, l);
                if (!parts[n]) {
                        strv_free_n(parts);
                        return -ENOMEM;
                }
                n++;
                if (!slash)
                        break;
                p = slash + 1;
        }
        *ret_parts = parts;
        *ret_n = n;
        return 0;
}

/* The scanner: checks untrusted JSON text in one pass, as jansson's json_loadb() would accept it, without
 * building anything, and tells where the values of interest lie. */

#define SCAN_DEPTH_MAX 256

typedef struct Scan {
        const unsigned char *p, *end;
} Scan;

static void skip_ws(Scan *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

static int hex4(const unsigned char *p, unsigned *ret) {
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                unsigned c = p[i], d;

                if (c >= '0' && c <= '9')
                        d = c - '0';
                else if (c >= 'a' && c <= 'f')
                        d = c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                        d = c - 'A' + 10;
                else
                        return -EBADMSG;
                v = v << 4 | d;
        }
        *ret = v;
        return 0;
}

/* Bytes a string holds as they are: printable ASCII but '"' and '\\'. */
static const bool plain_char[256] = {
        [0x20 ... 0x21] = true, [0x23 ... 0x5b] = true, [0x5d ... 0x7e] = true,
};

/* A string at s->p ('"'); *ret_from and *ret_to its raw content, *ret_escaped whether it holds a backslash. */
static int scan_string(Scan *s, const unsigned char **ret_from, const unsigned char **ret_to, bool *ret_escaped) {
        const unsigned char *p = s->p + 1, *end = s->end;
        bool escaped = false;

        for (;;) {
                unsigned c;

                /* the common case: printable ASCII */
                while (p < end && plain_char[*p])
                        p++;
                if (p >= end)
                        return -EBADMSG;
                c = *p;
                if (c == '"')
                        break;
                if (c < 0x20)
                        return -EBADMSG;
                if (c == '\\') {
                        escaped = true;
                        if (end - p < 2)
                                return -EBADMSG;
                        c = p[1];
                        if (strchr("\"\\/bfnrt", (int) c) && c != 0) {
                                p += 2;
                                continue;
                        }
                        if (c != 'u' || end - p < 6)
                                return -EBADMSG;
                        {
                                unsigned u, lo;

                                if (hex4(p + 2, &u) < 0 || u == 0)
                                        return -EBADMSG;
                                p += 6;
                                if (u >= 0xDC00 && u <= 0xDFFF)
                                        return -EBADMSG; /* a low surrogate alone */
                                if (u >= 0xD800 && u <= 0xDBFF) {
                                        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 ||
                                            lo < 0xDC00 || lo > 0xDFFF)
                                                return -EBADMSG;
                                        p += 6;
                                }
                        }
                        continue;
                }
                /* UTF-8, strict: no overlong forms, no surrogates, up to U+10FFFF */
                if (c >= 0xC2 && c <= 0xDF) {
                        if (end - p < 2 || (p[1] & 0xC0) != 0x80)
                                return -EBADMSG;
                        p += 2;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
                            (c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
                                return -EBADMSG;
                        p += 3;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80 ||
                            (c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
                                return -EBADMSG;
                        p += 4;
                } else
                        return -EBADMSG;
        }
        if (ret_from)
                *ret_from = s->p + 1;
        if (ret_to)
                *ret_to = p;
        if (ret_escaped)
                *ret_escaped = escaped;
        s->p = p + 1;
        return 0;
}

static bool is_digit(unsigned char c) {
        return c >= '0' && c <= '9';
}

/* A number: JSON's grammar; an integer must fit in 64 bits and a real must be finite, as jansson wants. */
static int scan_number(Scan *s) {
        const unsigned char *p = s->p, *start = s->p, *digits;
        bool negative = false, real = false;

        if (p < s->end && *p == '-') {
                negative = true;
                p++;
        }
        digits = p;
        if (p >= s->end || !is_digit(*p))
                return -EBADMSG;
        if (*p == '0')
                p++;
        else
                while (p < s->end && is_digit(*p))
                        p++;
        if (p < s->end && *p == '.') {
                real = true;
                p++;
                if (p >= s->end || !is_digit(*p))
                        return -EBADMSG;
                while (p < s->end && is_digit(*p))
                        p++;
        }
        if (p < s->end && (*p == 'e' || *p == 'E')) {
                real = true;
                p++;
                if (p < s->end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= s->end || !is_digit(*p))
                        return -EBADMSG;
                while (p < s->end && is_digit(*p))
                        p++;
        }
        if (!real) {
                size_t n = (size_t) (p - digits);
                const char *limit = negative ? "9223372036854775808" : "9223372036854775807";

                if (n > 19 || (n == 19 && memcmp(digits, limit, 19) > 0))
                        return -EBADMSG;
        } else {
                char copy[64];
                size_t n = (size_t) (p - start);

                /* jansson refuses a real that overflows; one this long is not a usage counter either */
                if (n >= sizeof(copy))
                        return -EBADMSG;
                memcpy(copy, start, n);
                copy[n] = 0;
                if (isinf(strtod(copy, NULL)))
                        return -EBADMSG;
        }
        s->p = p;
        return 0;
}

static int scan_literal(Scan *s, const char *word) {
        size_t n = strlen(word);

        if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0)
                return -EBADMSG;
        s->p += n;
        return 0;
}

static int scan_value(Scan *s, unsigned depth);

/* What follows a member or an element: 1 past the close, 0 past a comma (another follows), -EBADMSG. */
static int scan_after_item(Scan *s, char close) {
        skip_ws(s);
        if (s->p >= s->end)
                return -EBADMSG;
        if (*s->p == close) {
                s->p++;
                return 1;
        }
        if (*s->p != ',')
                return -EBADMSG;
        s->p++;
        return 0;
}

/* The members of an object at s->p ('{'), each passed to on_member with the scanner at its value, which
 * it must consume (scan_value() when it has no interest). */
typedef int (*MemberFunc)(Scan *s, const unsigned char *key, size_t key_len, bool escaped, unsigned depth,
                          void *userdata);

static int scan_object(Scan *s, unsigned depth, MemberFunc on_member, void *userdata) {
        int r;

        if (depth > SCAN_DEPTH_MAX)
                return -EBADMSG;
        s->p++;
        skip_ws(s);
        if (s->p < s->end && *s->p == '}') {
                s->p++;
                return 0;
        }
        for (;;) {
                const unsigned char *from, *to;
                bool escaped;

                skip_ws(s);
                if (s->p >= s->end || *s->p != '"')
                        return -EBADMSG;
                r = scan_string(s, &from, &to, &escaped);
                if (r < 0)
                        return r;
                skip_ws(s);
                if (s->p >= s->end || *s->p != ':')
                        return -EBADMSG;
                s->p++;
                skip_ws(s);
                r = on_member ? on_member(s, from, (size_t) (to - from), escaped, depth + 1, userdata) :
                                scan_value(s, depth + 1);
                if (r < 0)
                        return r;
                r = scan_after_item(s, '}');
                if (r != 0)
                        return MIN(r, 0);
        }
}

static int scan_value(Scan *s, unsigned depth) {
        int r;

        if (depth > SCAN_DEPTH_MAX)
                return -EBADMSG;
        skip_ws(s);
        if (s->p >= s->end)
                return -EBADMSG;
        switch (*s->p) {
        case '{':
                return scan_object(s, depth, NULL, NULL);
        case '[':
                s->p++;
                skip_ws(s);
                if (s->p < s->end && *s->p == ']') {
                        s->p++;
                        return 0;
                }
                for (;;) {
                        r = scan_value(s, depth + 1);
                        if (r < 0)
                                return r;
                        r = scan_after_item(s, ']');
                        if (r != 0)
                                return MIN(r, 0);
                }
        case '"':
                return scan_string(s, NULL, NULL, NULL);
        case 't':
                return scan_literal(s, "true");
        case 'f':
                return scan_literal(s, "false");
        case 'n':
                return scan_literal(s, "null");
        default:
                return scan_number(s);
        }
}

/* The parts of a record that a cut does not pass on are only skipped: strings to their end, brackets matched,
 * nesting bounded; a scalar to the next delimiter. What is passed on is checked in full (scan_value). */
enum { SKIP_PLAIN, SKIP_QUOTE, SKIP_OPEN_OBJECT, SKIP_OPEN_ARRAY, SKIP_CLOSE_OBJECT, SKIP_CLOSE_ARRAY };
static const uint8_t skip_class[256] = {
        ['"'] = SKIP_QUOTE, ['{'] = SKIP_OPEN_OBJECT, ['['] = SKIP_OPEN_ARRAY, ['}'] = SKIP_CLOSE_OBJECT,
        [']'] = SKIP_CLOSE_ARRAY,
};
static const bool scalar_end[256] = {
        [','] = true, ['}'] = true, [']'] = true, [':'] = true, [' '] = true, ['\t'] = true, ['\n'] = true,
        ['\r'] = true, ['{'] = true, ['['] = true, ['"'] = true,
};

/* The closing quote of a string whose content starts at p, or NULL. */
static const unsigned char *skip_string_content(const unsigned char *p, const unsigned char *end) {
        for (;;) {
                while (p < end && *p != '"' && *p != '\\')
                        p++;
                if (p >= end)
                        return NULL;
                if (*p == '"')
                        return p;
                p += 2; /* an escape: whatever follows the backslash is not the end */
        }
}

static int skip_value(Scan *s) {
        const unsigned char *p = s->p, *end = s->end;
        uint64_t objects[SCAN_DEPTH_MAX / 64] = { 0 }; /* bit d: level d is an object (else an array) */
        unsigned depth = 0;

        if (p >= end)
                return -EBADMSG;
        if (*p == '"') {
                p = skip_string_content(p + 1, end);
                if (!p)
                        return -EBADMSG;
                s->p = p + 1;
                return 0;
        }
        if (*p != '{' && *p != '[') {
                while (p < end && !scalar_end[*p])
                        p++;
                if (p == s->p)
                        return -EBADMSG;
                s->p = p;
                return 0;
        }
        for (; p < end; p++)
                switch (skip_class[*p]) {
                case SKIP_PLAIN:
                        break;
                case SKIP_QUOTE:
                        p = skip_string_content(p + 1, end);
                        if (!p)
                                return -EBADMSG;
                        break;
                case SKIP_OPEN_OBJECT:
                case SKIP_OPEN_ARRAY:
                        if (depth >= SCAN_DEPTH_MAX)
                                return -EBADMSG;
                        if (*p == '{')
                                objects[depth / 64] |= UINT64_C(1) << (depth % 64);
                        else
                                objects[depth / 64] &= ~(UINT64_C(1) << (depth % 64));
                        depth++;
                        break;
                default: /* a close */
                        if (depth == 0 ||
                            !!(objects[(depth - 1) / 64] & UINT64_C(1) << ((depth - 1) % 64)) != (*p == '}'))
                                return -EBADMSG;
                        if (--depth == 0) {
                                s->p = p + 1;
                                return 0;
                        }
                }
        return -EBADMSG;
}

/* The next character of a key's raw text (valid, escaped as JSON) from *i, as UTF-8 in out: its length. */
static size_t key_next(const unsigned char *key, size_t *i, char out[static 4]) {
        size_t k = 0;
        unsigned char e;
        unsigned u, lo;

        if (key[*i] != '\\') {
                out[0] = (char) key[(*i)++];
                return 1;
        }
        e = key[*i + 1];
        *i += 2;
        switch (e) {
        case 'b': out[k++] = '\b'; break;
        case 'f': out[k++] = '\f'; break;
        case 'n': out[k++] = '\n'; break;
        case 'r': out[k++] = '\r'; break;
        case 't': out[k++] = '\t'; break;
        case 'u':
                (void) hex4(key + *i, &u);
                *i += 4;
                if (u >= 0xD800 && u <= 0xDBFF) {
                        (void) hex4(key + *i + 2, &lo);
                        *i += 6;
                        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                }
                if (u < 0x80)
                        out[k++] = (char) u;
                else if (u < 0x800) {
                        out[k++] = (char) (0xC0 | u >> 6);
                        out[k++] = (char) (0x80 | (u & 0x3F));
                } else if (u < 0x10000) {
                        out[k++] = (char) (0xE0 | u >> 12);
                        out[k++] = (char) (0x80 | ((u >> 6) & 0x3F));
                        out[k++] = (char) (0x80 | (u & 0x3F));
                } else {
                        out[k++] = (char) (0xF0 | u >> 18);
                        out[k++] = (char) (0x80 | ((u >> 12) & 0x3F));
                        out[k++] = (char) (0x80 | ((u >> 6) & 0x3F));
                        out[k++] = (char) (0x80 | (u & 0x3F));
                }
                break;
        default: /* '"', '\\', '/' */
                out[k++] = (char) e;
        }
        return k;
}

/* Whether a key's raw text (valid, escaped as JSON) says name. */
static bool key_is(const unsigned char *key, size_t len, bool escaped, const char *name) {
        size_t n = strlen(name), at = 0;

        if (!escaped)
                return len == n && memcmp(key, name, n) == 0;
        for (size_t i = 0; i < len;) {
                char out[4];
                size_t k = key_next(key, &i, out);

                if (at + k > n || memcmp(name + at, out, k) != 0)
                        return false;
                at += k;
        }
        return at == n;
}

/* Finding the node of a group in one controller's tree. */
typedef struct Find {
        char *const *parts;
        size_t n_parts, at;                  /* looking for parts[at] in the "sub_cgroup" of the current node */
        const unsigned char *found, *found_end; /* the node's text */
        bool in_sub;                         /* inside "sub_cgroup" (else inside a node) */
} Find;

static int on_find_member(Scan *s, const unsigned char *key, size_t len, bool escaped, unsigned depth,
                          void *userdata);

/* A node at s->p: the one looked for when every part is matched, else descend if it is an object. */
static int find_in_node(Scan *s, Find *f, unsigned depth) {
        const unsigned char *start = s->p;
        int r;

        if (f->at == f->n_parts) {
                r = scan_value(s, depth);
                if (r < 0)
                        return r;
                if (!f->found) {
                        f->found = start;
                        f->found_end = s->p;
                }
                return 0;
        }
        if (*s->p != '{')
                return skip_value(s);
        f->in_sub = false;
        return scan_object(s, depth, on_find_member, f);
}

static int on_find_member(Scan *s, const unsigned char *key, size_t len, bool escaped, unsigned depth,
                          void *userdata) {
        Find *f = userdata;
        int r;

        if (f->found || s->p >= s->end)
                return skip_value(s);
        if (!f->in_sub) {
                if (!key_is(key, len, escaped, "sub_cgroup") || *s->p != '{')
                        return skip_value(s);
                f->in_sub = true;
                r = scan_object(s, depth, on_find_member, f);
                f->in_sub = false;
                return r;
        }
        if (!key_is(key, len, escaped, f->parts[f->at]))
                return skip_value(s);
        f->at++;
        r = find_in_node(s, f, depth);
        f->at--;
        f->in_sub = true;
        return r;
}

#define CUT_KEYS_MAX 16 /* controllers of a cut record; a record has six top-level keys at most */

typedef struct Cut {
        char *const *parts;
        size_t n_parts, n;
        struct {
                const unsigned char *key, *from, *to;
                size_t key_len;
        } keys[CUT_KEYS_MAX];
} Cut;

static int on_top_member(Scan *s, const unsigned char *key, size_t len, bool escaped, unsigned depth,
                         void *userdata) {
        Cut *c = userdata;
        Find f = { .parts = c->parts, .n_parts = c->n_parts };
        int r;

        /* controllers are plain short names; anything else is validated and left out */
        if (escaped || len > 32 || s->p >= s->end || *s->p != '{')
                return skip_value(s);
        for (size_t i = 0; i < c->n; i++)
                if (c->keys[i].key_len == len && memcmp(c->keys[i].key, key, len) == 0)
                        return skip_value(s); /* a repeated key: the first counts */
        r = find_in_node(s, &f, depth);
        if (r < 0)
                return r;
        if (f.found && c->n < CUT_KEYS_MAX) {
                c->keys[c->n].key = key;
                c->keys[c->n].key_len = len;
                c->keys[c->n].from = f.found;
                c->keys[c->n].to = f.found_end;
                c->n++;
        }
        return 0;
}

int fleet_record_cut(const char *record, size_t len, char *const *parts, size_t n_parts, Buf *out) {
        Scan s = { .p = (const unsigned char *) record, .end = (const unsigned char *) record + len };
        Cut c = { .parts = parts, .n_parts = n_parts };
        const unsigned char *start;
        size_t need;
        int r;

        assert(out);
        assert(record || len == 0);

        skip_ws(&s);
        if (s.p >= s.end || *s.p != '{')
                return -EBADMSG;
        start = s.p;
        r = n_parts == 0 ? scan_object(&s, 0, NULL, NULL) : scan_object(&s, 0, on_top_member, &c);
        if (r < 0)
                return r;
        {
                const unsigned char *stop = s.p;

                skip_ws(&s);
                if (s.p != s.end)
                        return -EBADMSG;
                if (n_parts == 0)
                        return buf_put(out, start, (size_t) (stop - start)) < 0 ? -ENOMEM : 1;
        }
        if (c.n == 0)
                return 0;
        need = 2;
        for (size_t i = 0; i < c.n; i++)
                need += c.keys[i].key_len + 4 + (size_t) (c.keys[i].to - c.keys[i].from);
        if (buf_reserve(out, need) < 0)
                return -ENOMEM;
        buf_put_unchecked(out, "{", 1);
        for (size_t i = 0; i < c.n; i++) {
                if (i > 0)
                        buf_put_unchecked(out, ",", 1);
                buf_put_unchecked(out, "\"", 1);
                buf_put_unchecked(out, c.keys[i].key, c.keys[i].key_len);
                buf_put_unchecked(out, "\":", 2);
                buf_put_unchecked(out, c.keys[i].from, (size_t) (c.keys[i].to - c.keys[i].from));
        }
        buf_put_unchecked(out, "}", 1);
        return 1;
}

/* The split: every top-level group's cut in one pass. */

#define SPLIT_ENTRIES_MAX (FLEET_SPLIT_GROUPS_MAX * CUT_KEYS_MAX)

struct FleetSplitScratch {
        /* the names seen (decoded, in text), first seen first */
        size_t n_names;
        struct {
                size_t name, name_len; /* in text */
                size_t n_entries;
        } names[FLEET_SPLIT_GROUPS_MAX];
        /* (name, controller, node) in the record's order */
        size_t n_entries;
        struct {
                size_t name;
                const unsigned char *key, *from, *to;
                size_t key_len;
        } entries[SPLIT_ENTRIES_MAX];
        const unsigned char *key; /* the controller being scanned */
        size_t key_len;
        bool too_many;
        Buf *text;
};

/* A name fleet_group_parse() takes as one part, and not the whole record's field. */
static bool split_name_ok(const char *name, size_t len) {
        if (len == 0 || len > FLEET_GROUP_MAX || (len == 1 && name[0] == '.') ||
            (len == 2 && name[0] == '.' && name[1] == '.') || (len == 1 && name[0] == '*'))
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) name[i] < 0x20 || name[i] == 0x7f || name[i] == '/')
                        return false;
        return true;
}

/* A member of a controller's "sub_cgroup": a top-level group. */
static int on_split_group(Scan *s, const unsigned char *key, size_t len, bool escaped, unsigned depth,
                          void *userdata) {
        struct FleetSplitScratch *x = userdata;
        const unsigned char *from = s->p;
        size_t at = x->text->size, n, name;
        int r;

        r = scan_value(s, depth);
        if (r < 0 || x->too_many)
                return r;
        /* the name, decoded, at the end of text (kept there only when it is new); +1: data is never NULL */
        if (buf_reserve(x->text, len + 1) < 0)
                return -ENOMEM;
        if (!escaped)
                buf_put_unchecked(x->text, key, len);
        else
                for (size_t i = 0; i < len;) {
                        char out[4];
                        size_t k = key_next(key, &i, out);

                        buf_put_unchecked(x->text, out, k);
                }
        n = x->text->size - at;
        if (!split_name_ok((const char *) x->text->data + at, n)) {
                x->text->size = at;
                return 0;
        }
        for (name = 0; name < x->n_names; name++)
                if (x->names[name].name_len == n &&
                    memcmp(x->text->data + x->names[name].name, x->text->data + at, n) == 0)
                        break;
        if (name < x->n_names)
                x->text->size = at;
        else {
                if (x->n_names >= FLEET_SPLIT_GROUPS_MAX) {
                        x->too_many = true;
                        x->text->size = at;
                        return 0;
                }
                x->names[name].name = at;
                x->names[name].name_len = n;
                x->names[name].n_entries = 0;
                x->n_names++;
        }
        /* as fleet_record_cut(): per group, a controller's key once (its first node), CUT_KEYS_MAX of them */
        if (x->names[name].n_entries >= CUT_KEYS_MAX)
                return 0;
        for (size_t i = 0; i < x->n_entries; i++)
                if (x->entries[i].name == name && x->entries[i].key_len == x->key_len &&
                    memcmp(x->entries[i].key, x->key, x->key_len) == 0)
                        return 0;
        assert(x->n_entries < SPLIT_ENTRIES_MAX);
        x->entries[x->n_entries].name = name;
        x->entries[x->n_entries].key = x->key;
        x->entries[x->n_entries].key_len = x->key_len;
        x->entries[x->n_entries].from = from;
        x->entries[x->n_entries].to = s->p;
        x->n_entries++;
        x->names[name].n_entries++;
        return 0;
}

/* A member of a controller's root node: "sub_cgroup" holds the groups, the rest is only checked. */
static int on_split_root(Scan *s, const unsigned char *key, size_t len, bool escaped, unsigned depth,
                         void *userdata) {
        if (s->p < s->end && *s->p == '{' && key_is(key, len, escaped, "sub_cgroup"))
                return scan_object(s, depth, on_split_group, userdata);
        return scan_value(s, depth);
}

static int on_split_top(Scan *s, const unsigned char *key, size_t len, bool escaped, unsigned depth,
                        void *userdata) {
        struct FleetSplitScratch *x = userdata;
        int r;

        /* the controllers as fleet_record_cut() takes them; the rest is checked */
        if (escaped || len > 32 || s->p >= s->end || *s->p != '{')
                return scan_value(s, depth);
        x->key = key;
        x->key_len = len;
        r = scan_object(s, depth, on_split_root, x);
        x->key = NULL;
        return r;
}

void fleet_split_done(FleetSplit *sp) {
        if (!sp)
                return;
        free(sp->scratch);
        buf_done(&sp->text);
        *sp = (FleetSplit) { 0 };
}

int fleet_record_split(const char *record, size_t len, FleetSplit *sp) {
        Scan s = { .p = (const unsigned char *) record, .end = (const unsigned char *) record + len };
        struct FleetSplitScratch *x;
        size_t names_end, need = 0;
        int r;

        assert(sp);
        assert(record || len == 0);

        sp->n_groups = 0;
        sp->text.size = 0;
        if (!sp->scratch) {
                sp->scratch = malloc(sizeof(struct FleetSplitScratch));
                if (!sp->scratch)
                        return -ENOMEM;
        }
        x = sp->scratch;
        x->n_names = x->n_entries = 0;
        x->too_many = false;
        x->key = NULL;
        x->text = &sp->text;

        skip_ws(&s);
        if (s.p >= s.end || *s.p != '{')
                return -EBADMSG;
        r = scan_object(&s, 0, on_split_top, x);
        if (r < 0)
                goto fail;
        skip_ws(&s);
        if (s.p != s.end) {
                r = -EBADMSG;
                goto fail;
        }
        if (x->too_many) {
                sp->text.size = 0;
                return 0;
        }
        /* the cuts after the names: {"key":node,...} each, controllers in the record's order */
        names_end = sp->text.size;
        for (size_t i = 0; i < x->n_entries; i++)
                need += x->entries[i].key_len + 4 + (size_t) (x->entries[i].to - x->entries[i].from);
        if (buf_reserve(&sp->text, need + 2 * x->n_names) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t name = 0; name < x->n_names; name++) {
                FleetSplitGroup *g = &sp->groups[name];
                bool first = true;

                g->name = x->names[name].name;
                g->name_len = x->names[name].name_len;
                g->cut = sp->text.size;
                buf_put_unchecked(&sp->text, "{", 1);
                for (size_t i = 0; i < x->n_entries; i++) {
                        if (x->entries[i].name != name)
                                continue;
                        if (!first)
                                buf_put_unchecked(&sp->text, ",", 1);
                        first = false;
                        buf_put_unchecked(&sp->text, "\"", 1);
                        buf_put_unchecked(&sp->text, x->entries[i].key, x->entries[i].key_len);
                        buf_put_unchecked(&sp->text, "\":", 2);
                        buf_put_unchecked(&sp->text, x->entries[i].from,
                                          (size_t) (x->entries[i].to - x->entries[i].from));
                }
                buf_put_unchecked(&sp->text, "}", 1);
                g->cut_len = sp->text.size - g->cut;
        }
        assert(sp->text.size >= names_end);
        sp->n_groups = x->n_names;
        return 1;
fail:
        sp->text.size = 0;
        return r;
}

/* The answer. */

static int put_str(Buf *b, const char *s) {
        return buf_put(b, s, strlen(s)) < 0 ? -ENOMEM : 0;
}

_printf_(2, 3) static int put_fmt(Buf *b, const char *fmt, ...) {
        char line[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        assert(n >= 0 && (size_t) n < sizeof(line));
        return buf_put(b, line, (size_t) n) < 0 ? -ENOMEM : 0;
}

static uint64_t host_age(const FleetPlan *p, const FleetHost *h) {
        return p->now > h->last ? p->now - h->last : 0; /* a clock ahead of ours: not older */
}

static bool host_stale(const FleetPlan *p, const FleetHost *h) {
        return host_age(p, h) >= FLEET_STALE_AFTER_SEC;
}

void fleet_answer_done(FleetAnswer *a) {
        if (!a)
                return;
        strv_free_n(a->parts);
        free(a->field);
        free(a->commands);
        free(a->command_argv);
        free(a->more);
        free(a->more_argv);
        free(a->pending);
        buf_done(&a->fallback);
        if (a->results && a->plan)
                for (size_t i = 0; i < a->plan->n_hosts; i++) {
                        free(a->results[i].first);
                        free(a->results[i].last);
                }
        free(a->results);
        buf_done(&a->text);
        *a = (FleetAnswer) { 0 };
}

/* Round trip 2: `HMGET <key> <field> /groups` per key: the field's value, and whether the record was split. */
static int answer_build_commands(FleetAnswer *a) {
        const FleetPlan *p = a->plan;

        a->n_commands = p->n_keys;
        if (p->n_keys == 0)
                return 0;
        a->commands = calloc(p->n_keys, sizeof(FleetCommand));
        a->command_argv = calloc(4 * p->n_keys, sizeof(char *));
        if (!a->commands || !a->command_argv)
                return -ENOMEM;
        for (size_t k = 0; k < p->n_keys; k++) {
                const char **argv = a->command_argv + 4 * k;

                argv[0] = "HMGET";
                argv[1] = p->keys[k];
                argv[2] = a->field;
                argv[3] = FLEET_FIELD_GROUPS;
                a->commands[k] = (FleetCommand) { .argc = 4, .argv = argv };
        }
        return 0;
}

int fleet_answer_init(FleetAnswer *a, const FleetPlan *plan, const char *group, char *error, size_t error_size) {
        _cleanup_(fleet_answer_done) FleetAnswer t = { .plan = plan };
        int r;

        assert(a && plan);

        r = fleet_group_parse(group, &t.parts, &t.n_parts);
        if (r == -EINVAL)
                set_error(error, error_size, "not a group path: names between '/', none empty, \".\" or \"..\", "
                                             "at most %u bytes", FLEET_GROUP_MAX);
        if (r < 0)
                return r;
        t.results = calloc(MAX(plan->n_hosts, (size_t) 1), sizeof(FleetHostResult));
        if (!t.results)
                return -ENOMEM;
        r = put_fmt(&t.text, "{\"now\":%" PRIu64 ",\"seconds\":%u,\"group\":", plan->now, plan->seconds);
        if (r < 0)
                return r;
        if (t.n_parts == 0)
                r = put_str(&t.text, "null");
        else {
                /* the group as parsed, so the answer names what was looked for */
                _cleanup_(freep) char *joined = NULL, *text = NULL;
                size_t len = 0;
                json_t *j;

                for (size_t i = 0; i < t.n_parts; i++)
                        len += strlen(t.parts[i]) + 1;
                joined = calloc(len + 1, 1);
                if (!joined)
                        return -ENOMEM;
                for (size_t i = 0; i < t.n_parts; i++) {
                        if (i > 0)
                                strcat(joined, "/");
                        strcat(joined, t.parts[i]);
                }
                j = json_string(joined);
                if (!j) {
                        set_error(error, error_size, "the group is not UTF-8");
                        return -EINVAL;
                }
                text = json_dumps(j, JSON_ENCODE_ANY);
                json_decref(j);
                if (!text)
                        return -ENOMEM;
                r = put_str(&t.text, text);
        }
        if (r < 0)
                return r;
        r = put_fmt(&t.text, ",\"stale_after\":%u,\"hosts\":{", FLEET_STALE_AFTER_SEC);
        if (r < 0)
                return r;
        /* the field to read: the first name's (then cut below it), else the whole record's */
        t.field_parts = t.n_parts > 0 && !streq(t.parts[0], FLEET_FIELD_WHOLE) ? 1 : 0;
        t.field = strdup(t.field_parts ? t.parts[0] : FLEET_FIELD_WHOLE);
        if (!t.field)
                return -ENOMEM;
        r = answer_build_commands(&t);
        if (r < 0)
                return r;
        *a = t;
        t = (FleetAnswer) { 0 };
        return 0;
}

/* Closes the open host's object, if any. */
static int close_host(FleetAnswer *a) {
        if (!a->host_open)
                return 0;
        a->host_open = false;
        return put_str(&a->text, "}}");
}

/* Writes the hosts before `host` (those without keys left), and opens `host` when it is below n_hosts. */
static int open_hosts_until(FleetAnswer *a, size_t host) {
        const FleetPlan *p = a->plan;
        int r;

        r = close_host(a);
        if (r < 0)
                return r;
        for (; a->next_host <= host && a->next_host < p->n_hosts; a->next_host++) {
                const FleetHost *h = &p->hosts[a->next_host];

                r = put_fmt(&a->text, "%s\"%s\":{\"last\":%" PRIu64 ",\"age\":%" PRIu64 ",\"stale\":%s,\"account\":{",
                            a->next_host > 0 ? "," : "", h->node, h->last, host_age(p, h),
                            host_stale(p, h) ? "true" : "false");
                if (r < 0)
                        return r;
                a->host_open = true;
                a->any_second = false;
                if (a->next_host < host) {
                        r = close_host(a);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The host whose keys hold key k (hosts' keys follow each other). */
static size_t host_of_key(const FleetPlan *p, size_t k, size_t from_host) {
        size_t h = from_host;

        while (h < p->n_hosts && k >= p->hosts[h].first_key + p->hosts[h].n_keys)
                h++;
        return h;
}

/* Keeps a record's text for the table: the window's first and last (they may come in any order). */
static int keep_record(FleetHostResult *res, uint64_t sec, const uint8_t *text, size_t len) {
        char *copy;

        res->n_records++;
        if (res->first && sec > res->first_sec && res->last && sec < res->last_sec)
                return 0;
        copy = strndup((const char *) text, len);
        if (!copy)
                return -ENOMEM;
        if (!res->first) {
                res->first = copy;
                res->first_sec = sec;
        } else if (sec < res->first_sec) {
                if (!res->last) {
                        res->last = res->first;
                        res->last_sec = res->first_sec;
                } else
                        free(res->first);
                res->first = copy;
                res->first_sec = sec;
        } else {
                free(res->last);
                res->last = copy;
                res->last_sec = sec;
        }
        return 0;
}

static int answer_too_big(FleetAnswer *a, char *error, size_t error_size) {
        if (a->text.size + a->fallback.size <= FLEET_ANSWER_MAX)
                return 0;
        set_error(error, error_size, "the answer is larger than %zu MiB: ask for a group or fewer seconds",
                  FLEET_ANSWER_MAX >> 20);
        return -E2BIG;
}

/* A value of round trip 2 for key a->next_key: the group's field (skip 1: cut below it) or the whole record. */
static int answer_value(FleetAnswer *a, size_t host, uint64_t sec, const redisReply *v, size_t skip, char *error,
                        size_t error_size) {
        size_t before, key_len;
        int r;

        if (v->type != REDIS_REPLY_STRING || !v->str || v->len > FLEET_RECORD_MAX) {
                a->skipped++;
                return 0;
        }
        before = a->text.size;
        r = put_fmt(&a->text, "%s\"%" PRIu64 "\":", a->any_second ? "," : "", sec);
        if (r < 0)
                return r;
        key_len = a->text.size - before;
        r = fleet_record_cut(v->str, v->len, a->parts ? a->parts + skip : NULL, a->n_parts - skip, &a->text);
        if (r == -ENOMEM)
                return r;
        if (r <= 0) {
                a->text.size = before;
                if (r < 0)
                        a->skipped++;
                return 0;
        }
        r = keep_record(&a->results[host], sec, a->text.data + before + key_len, a->text.size - before - key_len);
        if (r < 0)
                return r;
        a->results[host].n_written++;
        a->any_second = true;
        return answer_too_big(a, error, error_size);
}

/* A key whose record was not split: its whole record is asked for in round trip 3, and goes here. */
static int answer_defer(FleetAnswer *a, size_t host, uint64_t sec) {
        if (a->n_pending == a->pending_alloc) {
                size_t n = MAX((size_t) 16, 2 * a->pending_alloc);
                FleetPending *p = reallocarray(a->pending, n, sizeof(FleetPending));

                if (!p)
                        return -ENOMEM;
                a->pending = p;
                a->pending_alloc = n;
        }
        a->pending[a->n_pending++] = (FleetPending) {
                .key = a->next_key,
                .host = host,
                .sec = sec,
                .offset = a->text.size,
                .written_before = a->results[host].n_written,
        };
        return 0;
}

static bool reply_is_wrongtype(const redisReply *r) {
        return r->type == REDIS_REPLY_ERROR && r->str && r->len >= 9 && strncmp(r->str, "WRONGTYPE", 9) == 0;
}

static int reply_error(const redisReply *reply, char *error, size_t error_size) {
        if (!reply) {
                set_error(error, error_size, "no reply from Redis");
                return -EIO;
        }
        set_error(error, error_size, "Redis: %.*s", (int) MIN(reply->len, (size_t) 200), reply->str ?: "");
        return -EIO;
}

/* Round trip 3's reply for the next pending key: its whole record, cut aside, spliced in by finish. */
static int answer_add_fallback(FleetAnswer *a, const redisReply *reply, char *error, size_t error_size) {
        FleetPending *e = &a->pending[a->next_pending++];
        size_t before = a->fallback.size;
        int r;

        if (!reply || (reply->type == REDIS_REPLY_ERROR && !reply_is_wrongtype(reply)))
                return reply_error(reply, error, error_size);
        if (reply->type == REDIS_REPLY_NIL)
                return 0; /* expired since */
        if (reply->type != REDIS_REPLY_STRING || !reply->str || reply->len > FLEET_RECORD_MAX) {
                a->skipped++;
                return 0;
        }
        r = fleet_record_cut(reply->str, reply->len, a->parts, a->n_parts, &a->fallback);
        if (r == -ENOMEM)
                return r;
        if (r <= 0) {
                a->fallback.size = before;
                if (r < 0)
                        a->skipped++;
                return 0;
        }
        e->have = true;
        e->cut = before;
        e->cut_len = a->fallback.size - before;
        r = keep_record(&a->results[e->host], e->sec, a->fallback.data + e->cut, e->cut_len);
        if (r < 0)
                return r;
        return answer_too_big(a, error, error_size);
}

int fleet_answer_add(FleetAnswer *a, const redisReply *reply, char *error, size_t error_size) {
        const FleetPlan *p;
        const redisReply *v, *groups;
        const FleetHost *h;
        size_t host;
        uint64_t sec;
        int r;

        assert(a && a->plan && !a->finished);
        p = a->plan;

        if (a->next_key == p->n_keys) {
                if (a->next_pending < a->n_more)
                        return answer_add_fallback(a, reply, error, error_size);
                set_error(error, error_size, "Redis answered more than was asked");
                return -EBADMSG;
        }
        if (!reply || (reply->type == REDIS_REPLY_ERROR && !reply_is_wrongtype(reply)))
                return reply_error(reply, error, error_size);
        if (reply->type != REDIS_REPLY_ERROR &&
            (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || !reply->element || !reply->element[0] ||
             !reply->element[1])) {
                set_error(error, error_size, "Redis answered HMGET with something else than two values");
                return -EBADMSG;
        }
        host = host_of_key(p, a->next_key, a->next_host > 0 ? a->next_host - 1 : 0);
        assert(host < p->n_hosts);
        h = &p->hosts[host];
        sec = h->from_sec + (a->next_key - h->first_key);
        if (!a->host_open || a->next_host != host + 1) {
                r = open_hosts_until(a, host);
                if (r < 0)
                        return r;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
                /* a key of another type (a string, as host keys were before they were hashes) */
                a->skipped++;
                a->next_key++;
                return 0;
        }
        v = reply->element[0];
        groups = reply->element[1];
        if (v->type != REDIS_REPLY_NIL)
                r = answer_value(a, host, sec, v, a->field_parts, error, error_size);
        else if (a->field_parts > 0 && groups->type == REDIS_REPLY_STRING && groups->len == 1 && groups->str &&
                 groups->str[0] == FLEET_FIELD_WHOLE[0])
                /* no field per group in this record: its whole record next */
                r = answer_defer(a, host, sec);
        else
                r = 0; /* expired or never written, or the record has no such group */
        a->next_key++;
        return r;
}

int fleet_answer_more(FleetAnswer *a, const FleetCommand **ret, size_t *ret_n) {
        const FleetPlan *p;

        assert(a && a->plan && ret && ret_n);
        p = a->plan;

        *ret = NULL;
        *ret_n = 0;
        if (a->next_key != p->n_keys || a->n_pending == 0 || a->n_more > 0)
                return 0;
        a->more = calloc(a->n_pending, sizeof(FleetCommand));
        a->more_argv = calloc(3 * a->n_pending, sizeof(char *));
        if (!a->more || !a->more_argv)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_pending; i++) {
                const char **argv = a->more_argv + 3 * i;

                argv[0] = "HGET";
                argv[1] = p->keys[a->pending[i].key];
                argv[2] = FLEET_FIELD_WHOLE;
                a->more[i] = (FleetCommand) { .argc = 3, .argv = argv };
        }
        a->n_more = a->n_pending;
        *ret = a->more;
        *ret_n = a->n_more;
        return 0;
}

/* The whole records of round trip 3 go in at their places: a comma before one that follows another second of
 * its host, and after the last of those put before the host's first second written in round trip 2. */
static int answer_splice(FleetAnswer *a) {
        Buf out = { 0 };
        size_t from = 0, host = SIZE_MAX;
        bool inserted = false;

        /* all of it at once: the text, the cuts, and per second its head (at most 32 bytes) and a comma */
        if (buf_reserve(&out, a->text.size + a->fallback.size + 33 * a->n_pending) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_pending; i++) {
                const FleetPending *e = &a->pending[i];
                const FleetPending *next = i + 1 < a->n_pending ? &a->pending[i + 1] : NULL;
                char head[32];
                int n;

                if (e->host != host) {
                        host = e->host;
                        inserted = false;
                }
                buf_put_unchecked(&out, a->text.data + from, e->offset - from);
                from = e->offset;
                if (e->have) {
                        n = snprintf(head, sizeof(head), "%s\"%" PRIu64 "\":",
                                     inserted || e->written_before > 0 ? "," : "", e->sec);
                        assert(n > 0 && (size_t) n < sizeof(head));
                        buf_put_unchecked(&out, head, (size_t) n);
                        buf_put_unchecked(&out, a->fallback.data + e->cut, e->cut_len);
                        inserted = true;
                }
                if (inserted && e->written_before == 0 && a->results[host].n_written > 0 &&
                    (!next || next->host != host || next->offset != e->offset))
                        buf_put_unchecked(&out, ",", 1);
        }
        buf_put_unchecked(&out, a->text.data + from, a->text.size - from);
        buf_done(&a->text);
        a->text = out;
        buf_done(&a->fallback);
        return 0;
}

int fleet_answer_finish(FleetAnswer *a, char *error, size_t error_size) {
        const FleetPlan *p;
        bool first = true;
        int r;

        assert(a && a->plan && !a->finished);
        p = a->plan;

        if (a->next_key != p->n_keys) {
                set_error(error, error_size, "Redis answered %zu of %zu keys", a->next_key, p->n_keys);
                return -EBADMSG;
        }
        if (a->next_pending != a->n_more || (a->n_pending > 0 && a->n_more == 0)) {
                set_error(error, error_size, "Redis answered %zu of %zu whole records", a->next_pending,
                          a->n_pending);
                return -EBADMSG;
        }
        r = open_hosts_until(a, p->n_hosts);
        if (r < 0)
                return r;
        if (a->n_pending > 0) {
                r = answer_splice(a);
                if (r < 0)
                        return r;
        }
        r = put_str(&a->text, "},\"stale\":[");
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n_hosts; i++) {
                if (!host_stale(p, &p->hosts[i]))
                        continue;
                r = put_fmt(&a->text, "%s\"%s\"", first ? "" : ",", p->hosts[i].node);
                if (r < 0)
                        return r;
                first = false;
        }
        r = put_fmt(&a->text, "],\"skipped\":%zu,\"skipped_hosts\":%zu}", a->skipped, p->skipped_hosts);
        if (r < 0)
                return r;
        if (buf_put(&a->text, "", 1) < 0)
                return -ENOMEM;
        a->text.size--; /* NUL-terminated, not counted */
        a->finished = true;
        return 0;
}

/* The table. */

/* The numbers of a record (cut to the group, or whole): its root row with a group, else the sum of the
 * top-level groups. */
static void row_numbers(FleetRow *row, const TopTable *t, bool group) {
        row->have = 0;
        for (size_t i = 0; i < t->n_groups; i++) {
                const TopRow *g = &t->rows[i];

                if (group ? g->depth != 0 : g->depth != 1)
                        continue;
                if (g->have & TOP_HAVE_CPU) {
                        row->cpu_cores += g->cpu_pct / 100;
                        row->have |= FLEET_HAVE_CPU;
                }
                if (g->have & TOP_HAVE_MEMORY) {
                        row->memory_bytes += g->memory_bytes;
                        row->have |= FLEET_HAVE_MEMORY;
                }
                if (g->have & TOP_HAVE_TASKS) {
                        row->tasks += g->tasks;
                        row->have |= FLEET_HAVE_TASKS;
                }
        }
}

int fleet_table_rows(const FleetAnswer *a, FleetRow **ret, size_t *ret_n) {
        const FleetPlan *p;
        FleetRow *rows;

        assert(a && a->plan && ret && ret_n);
        p = a->plan;

        rows = calloc(MAX(p->n_hosts, (size_t) 1), sizeof(FleetRow));
        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_hosts; i++) {
                const FleetHostResult *res = &a->results[i];
                FleetRow *row = &rows[i];
                json_t *first = NULL, *last = NULL;
                TopTable t = { 0 };

                row->node = p->hosts[i].node;
                row->age = host_age(p, &p->hosts[i]);
                row->stale = host_stale(p, &p->hosts[i]);
                row->n_records = res->n_records;
                if (res->first)
                        first = json_loads(res->first, 0, NULL);
                if (res->last)
                        last = json_loads(res->last, 0, NULL);
                if (last && first) {
                        if (top_table_from_records(first, last, res->last_sec,
                                                   (double) (res->last_sec - res->first_sec), &t) >= 0)
                                row_numbers(row, &t, a->n_parts > 0);
                } else if (first && !res->last) {
                        if (top_table_from_records(NULL, first, res->first_sec, 0, &t) >= 0)
                                row_numbers(row, &t, a->n_parts > 0);
                }
                top_table_done(&t);
                json_decref(first);
                json_decref(last);
        }
        *ret = rows;
        *ret_n = p->n_hosts;
        return 0;
}

unsigned fleet_host_width(const FleetRow *rows, size_t n) {
        size_t w = strlen("HOST");

        for (size_t i = 0; i < n; i++)
                w = MAX(w, strlen(rows[i].node));
        return (unsigned) w;
}

void fleet_format_header(unsigned host_width, char *buf, size_t size) {
        snprintf(buf, size, "%-*s %-5s %6s %7s %8s %7s", (int) host_width, "HOST", "STATE", "LAST", "CPU", "MEMORY",
                 "TASKS");
}

void fleet_format_row(const FleetRow *row, unsigned host_width, char *buf, size_t size) {
        char last[32], cpu[32] = "-", mem[32] = "-", tasks[32] = "-";

        if (row->age < 100000)
                snprintf(last, sizeof(last), "%" PRIu64 "s", row->age);
        else
                snprintf(last, sizeof(last), "%" PRIu64 "d", row->age / 86400);
        if (row->have & FLEET_HAVE_CPU)
                snprintf(cpu, sizeof(cpu), "%.2f", row->cpu_cores);
        if (row->have & FLEET_HAVE_MEMORY)
                top_format_bytes((double) row->memory_bytes, mem, sizeof(mem));
        if (row->have & FLEET_HAVE_TASKS)
                snprintf(tasks, sizeof(tasks), "%" PRIu64, row->tasks);
        snprintf(buf, size, "%-*s %-5s %6s %7s %8s %7s", (int) host_width, row->node, row->stale ? "stale" : "ok", last,
                 cpu, mem, tasks);
}
