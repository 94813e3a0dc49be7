/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "ring.h"
#include "strv.h"

SliceSet *slice_set_new(size_t n) {
        SliceSet *s = calloc(1, sizeof(SliceSet));

        if (!s)
                return NULL;
        s->n_ref = 1;
        s->n = n;
        s->paths = calloc(n + 1, sizeof(char *));
        s->units = calloc(n + 1, sizeof(char *));
        if (!s->paths || !s->units)
                return slice_set_unref(s);
        return s;
}

SliceSet *slice_set_ref(SliceSet *s) {
        if (s)
                s->n_ref++;
        return s;
}

SliceSet *slice_set_unref(SliceSet *s) {
        if (!s || --s->n_ref > 0)
                return NULL;
        for (size_t i = 0; i < s->n; i++) {
                if (s->paths)
                        free(s->paths[i]);
                if (s->units)
                        free(s->units[i]);
        }
        free(s->paths);
        free(s->units);
        free(s);
        return NULL;
}

void sample_values_free_array(SampleValues *v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i].io);
        free(v);
}

static void slot_clear(RingSlot *s) {
        if (s->set)
                sample_values_free_array(s->values, s->set->n);
        slice_set_unref(s->set);
        *s = (RingSlot) { 0 };
}

int ring_init(Ring *r, size_t seconds) {
        *r = (Ring) { 0 };
        if (seconds == 0)
                return -EINVAL;
        r->slots = calloc(seconds, sizeof(RingSlot));
        if (!r->slots)
                return -ENOMEM;
        r->n_slots = seconds;
        return 0;
}

void ring_done(Ring *r) {
        for (size_t i = 0; i < r->n_slots; i++)
                slot_clear(&r->slots[i]);
        free(r->slots);
        *r = (Ring) { 0 };
}

int ring_put(Ring *r, uint64_t unix_sec, SliceSet *set, SampleValues *values) {
        RingSlot *s;

        if (unix_sec == 0 || !set)
                return -EINVAL;
        s = &r->slots[unix_sec % r->n_slots];
        slot_clear(s);
        s->unix_sec = unix_sec;
        s->set = slice_set_ref(set);
        s->values = values;
        return 0;
}

const RingSlot *ring_get(const Ring *r, uint64_t unix_sec) {
        const RingSlot *s;

        if (unix_sec == 0 || r->n_slots == 0)
                return NULL;
        s = &r->slots[unix_sec % r->n_slots];
        return s->unix_sec == unix_sec ? s : NULL;
}

const RingSlot *ring_latest(const Ring *r) {
        const RingSlot *best = NULL;

        for (size_t i = 0; i < r->n_slots; i++)
                if (r->slots[i].unix_sec && (!best || r->slots[i].unix_sec > best->unix_sec))
                        best = &r->slots[i];
        return best;
}
