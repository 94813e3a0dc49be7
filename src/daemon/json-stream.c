/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json-stream.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

typedef enum StepKind {
        STEP_OPEN,   /* `{` or `"key":{` */
        STEP_MEMBER, /* `"key":value` */
        STEP_LIST,   /* `"key":[items]` or `"key":{items}` */
        STEP_CLOSE,  /* `}` */
} StepKind;

typedef struct Step {
        StepKind kind;
        const char *key; /* NULL for the answer's own braces */
        json_t *value;   /* STEP_MEMBER: borrowed from the head */
        size_t list;     /* STEP_LIST */
} Step;

struct JsonStream {
        json_t *head;
        JsonList lists[JSON_STREAM_LISTS_MAX];
        size_t n_lists;
        Step *steps;
        size_t n_steps, step;
        unsigned depth;
        bool first[3];   /* nothing written yet at this depth: no comma before the next member */
        bool list_open;  /* the current STEP_LIST's bracket is out */
        bool list_first; /* no item of it written yet */
        size_t item;     /* its next item */
};

static int on_dump(const char *buffer, size_t size, void *data) {
        return buf_put(data, buffer, size) < 0 ? -1 : 0;
}

int buf_put_json(Buf *out, const json_t *v) {
        size_t size = out->size;

        assert(out);
        assert(v);
        if (json_dump_callback(v, on_dump, out, JSON_FLAGS) < 0) {
                out->size = size;
                return -ENOMEM;
        }
        return 0;
}

static int put_key(Buf *out, const char *key) {
        json_t *k = json_string(key);
        int r;

        if (!k)
                return -ENOMEM;
        r = buf_put_json(out, k);
        json_decref(k);
        return r < 0 ? r : buf_put(out, ":", 1);
}

/* The comma before a member (or item) at the current depth, if one was written before it. */
static int put_separator(Buf *out, bool *first) {
        if (*first) {
                *first = false;
                return 0;
        }
        return buf_put(out, ",", 1);
}

static void add_step(JsonStream *s, StepKind kind, const char *key, json_t *value, size_t list) {
        s->steps[s->n_steps++] = (Step) { .kind = kind, .key = key, .value = value, .list = list };
}

static bool list_is_under(const JsonList *l, const char *outer) {
        return outer ? l->outer && strcmp(l->outer, outer) == 0 : !l->outer;
}

int json_stream_new(json_t *head, const JsonList *lists, size_t n_lists, JsonStream **ret) {
        _cleanup_(json_stream_freep) JsonStream *s = NULL;
        const char *key;
        json_t *value;
        size_t n = 2 + 3 * n_lists;

        assert(lists || n_lists == 0);
        assert(ret);

        if (!json_is_object(head) || n_lists > JSON_STREAM_LISTS_MAX) {
                json_decref(head);
                return -EINVAL;
        }
        s = calloc(1, sizeof(JsonStream));
        if (!s) {
                json_decref(head);
                return -ENOMEM;
        }
        s->head = head;
        if (n_lists > 0)
                memcpy(s->lists, lists, n_lists * sizeof(JsonList));
        s->n_lists = n_lists;
        json_object_foreach(head, key, value)
                n += 1 + (json_is_object(value) ? json_object_size(value) + 1 : 0);
        s->steps = calloc(n, sizeof(Step));
        if (!s->steps)
                return -ENOMEM;

        add_step(s, STEP_OPEN, NULL, NULL, 0);
        json_object_foreach(head, key, value) {
                bool nested = false;

                for (size_t i = 0; i < n_lists && json_is_object(value); i++)
                        if (list_is_under(&lists[i], key)) {
                                if (!nested)
                                        add_step(s, STEP_OPEN, key, NULL, 0);
                                nested = true;
                                add_step(s, STEP_LIST, lists[i].key, NULL, i);
                        }
                if (nested) {
                        const char *k;
                        json_t *v;

                        json_object_foreach(value, k, v)
                                add_step(s, STEP_MEMBER, k, v, 0);
                        add_step(s, STEP_CLOSE, NULL, NULL, 0);
                } else
                        add_step(s, STEP_MEMBER, key, value, 0);
        }
        for (size_t i = 0; i < n_lists; i++)
                if (!lists[i].outer)
                        add_step(s, STEP_LIST, lists[i].key, NULL, i);
                else if (!json_is_object(json_object_get(head, lists[i].outer))) {
                        /* no such object in the head: the list is all it holds */
                        add_step(s, STEP_OPEN, lists[i].outer, NULL, 0);
                        add_step(s, STEP_LIST, lists[i].key, NULL, i);
                        add_step(s, STEP_CLOSE, NULL, NULL, 0);
                }
        add_step(s, STEP_CLOSE, NULL, NULL, 0);
        assert(s->n_steps <= n);
        *ret = TAKE_PTR(s);
        return 0;
}

JsonStream *json_stream_free(JsonStream *s) {
        if (!s)
                return NULL;
        json_decref(s->head);
        free(s->steps);
        free(s);
        return NULL;
}

/* Writes items of the current list until `until` bytes are out: 1 when the list is done, 0 if more follow. */
static int write_list(JsonStream *s, const Step *st, Buf *out, size_t until) {
        const JsonList *l = &s->lists[st->list];
        int r;

        if (!s->list_open) {
                r = put_separator(out, &s->first[s->depth]);
                if (r >= 0)
                        r = put_key(out, st->key);
                if (r >= 0)
                        r = buf_put(out, l->object ? "{" : "[", 1);
                if (r < 0)
                        return r;
                s->list_open = s->list_first = true;
                s->item = 0;
        }
        while (out->size < until) {
                const char *key = NULL;
                json_t *v = l->item(l->userdata, s->item, &key);

                if (!v) {
                        s->list_open = false;
                        r = buf_put(out, l->object ? "}" : "]", 1);
                        return r < 0 ? r : 1;
                }
                s->item++;
                r = put_separator(out, &s->list_first);
                if (r >= 0 && l->object)
                        r = put_key(out, key ? key : "");
                if (r >= 0)
                        r = buf_put_json(out, v);
                json_decref(v);
                if (r < 0)
                        return r;
        }
        return 0;
}

int json_stream_next(void *userdata, Buf *out, size_t want) {
        JsonStream *s = userdata;
        size_t until;
        int r = 0;

        assert(s);
        assert(out);

        until = out->size + (want > 0 ? want : 1);
        while (s->step < s->n_steps && out->size < until) {
                const Step *st = &s->steps[s->step];

                switch (st->kind) {
                case STEP_OPEN:
                        if (st->key) {
                                r = put_separator(out, &s->first[s->depth]);
                                if (r >= 0)
                                        r = put_key(out, st->key);
                        }
                        if (r >= 0)
                                r = buf_put(out, "{", 1);
                        if (r >= 0 && s->depth + 1 < ELEMENTSOF(s->first))
                                s->first[++s->depth] = true;
                        break;
                case STEP_MEMBER:
                        r = put_separator(out, &s->first[s->depth]);
                        if (r >= 0)
                                r = put_key(out, st->key);
                        if (r >= 0)
                                r = buf_put_json(out, st->value);
                        break;
                case STEP_LIST:
                        r = write_list(s, st, out, until);
                        if (r == 0)
                                return 1; /* more items follow */
                        break;
                case STEP_CLOSE:
                        r = buf_put(out, "}", 1);
                        if (s->depth > 0)
                                s->depth--;
                        break;
                }
                if (r < 0)
                        return r;
                s->step++;
        }
        return s->step < s->n_steps;
}

static void on_part_stream_free(void *state) {
        json_stream_free(state);
}

PartStream json_stream_part_stream(JsonStream *s) {
        return (PartStream) { .next = json_stream_next, .free = on_part_stream_free, .state = s };
}
