/* SPDX-License-Identifier: MIT */
/* A JSON object answer written part by part: its small members are made at once, its long lists (one item
 * per slice, per group) an item at a time, as the reader takes the text. Each part costs about `want`
 * bytes of work, whatever the number of items, so a 10 000-slice status never holds the loop. Items are
 * read from their owner when their part is made: an answer that takes several parts shows each list as
 * it is then. Pure: the items come from callbacks. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "macro.h"
#include "part-stream.h"

/* Item `index` of a list (a new reference), or NULL past its end. For an object list, *ret_key is the
 * item's member name (valid until the next call). */
typedef json_t *(*JsonItemFn)(void *userdata, size_t index, const char **ret_key);

typedef struct JsonList {
        const char *key;   /* the member the list is written under */
        const char *outer; /* NULL: a member of the answer; else a member of the answer's object `outer`,
                            * which must be in the head */
        bool object;       /* an object of keyed items, else an array */
        JsonItemFn item;
        void *userdata;
} JsonList;

#define JSON_STREAM_LISTS_MAX 4

typedef struct JsonStream JsonStream;

/* head: the answer's other members (taken, also on failure). lists are copied. */
int json_stream_new(json_t *head, const JsonList *lists, size_t n_lists, JsonStream **ret);
JsonStream *json_stream_free(JsonStream *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(JsonStream *, json_stream_free)
/* PartStream.next: appends about want bytes; > 0 while more follows, 0 once the answer is complete. */
int json_stream_next(void *s, Buf *out, size_t want);
/* A PartStream that owns s. */
PartStream json_stream_part_stream(JsonStream *s);
/* Appends the compact text of v. */
int buf_put_json(Buf *out, const json_t *v);
