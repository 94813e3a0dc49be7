/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "slot-codec.h"

void ring_reader_done(RingReader *rd) {
        assert(rd);

        if (rd->set)
                sample_values_free_array(rd->values, rd->set->n);
        slice_set_unref(rd->set);
        *rd = (RingReader) { 0 };
}

/* Zeros for set: the base of a key slot. The io arrays go (a key slot has no base device). */
static int reader_reset(RingReader *rd, SliceSet *set) {
        if (rd->set != set) {
                ring_reader_done(rd);
                rd->values = calloc(MAX(set->n, (size_t) 1), sizeof(SampleValues));
                if (!rd->values)
                        return -ENOMEM;
                rd->set = slice_set_ref(set);
        } else {
                for (size_t i = 0; i < set->n; i++)
                        free(rd->values[i].io);
                memset(rd->values, 0, set->n * sizeof(SampleValues));
        }
        rd->seq = rd->unix_sec = 0;
        return 0;
}

int ring_read(const Ring *r, uint64_t unix_sec, RingReader *rd) {
        const RingSlot *slot = ring_get(r, unix_sec), *s;
        uint64_t from = unix_sec;
        int k;

        assert(r);
        assert(rd);

        if (!slot)
                return -ENOENT;
        if (rd->seq == slot->seq)
                return 0;
        /* Back to a key slot, or to the second rd holds when it is the base. */
        for (s = slot; s->base_seq != 0 && s->base_seq != rd->seq; from--) {
                const RingSlot *prev = ring_get(r, from - 1);

                if (!prev || prev->seq != s->base_seq) {
                        ring_reader_done(rd);
                        return -EBADMSG; /* ring_put keeps every delta's base */
                }
                s = prev;
        }
        for (uint64_t sec = from;; sec++) {
                s = ring_get(r, sec);
                if (s->base_seq == 0)
                        k = reader_reset(rd, s->set);
                else
                        k = rd->set == s->set ? 0 : -EBADMSG;
                if (k >= 0)
                        k = slot_decode(s->data, s->size, rd->values, s->set->n);
                if (k < 0) {
                        ring_reader_done(rd);
                        return k;
                }
                rd->unix_sec = sec;
                rd->seq = s->seq;
                if (sec == unix_sec)
                        return 0;
        }
}

static void slot_clear(RingSlot *s) {
        free(s->data);
        slice_set_unref(s->set);
        *s = (RingSlot) { 0 };
}

static int slot_encode_copy(Ring *r, const SampleValues *base, const SampleValues *values, size_t n,
                            uint8_t **ret, size_t *ret_size) {
        uint8_t *data;
        int k;

        r->buf.size = 0;
        k = slot_encode(base, values, n, &r->buf);
        if (k < 0)
                return k;
        data = malloc(MAX(r->buf.size, (size_t) 1));
        if (!data)
                return -ENOMEM;
        if (r->buf.size > 0) /* no slices, no bytes: the buffer may never have been allocated */
                memcpy(data, r->buf.data, r->buf.size);
        *ret = data;
        *ret_size = r->buf.size;
        return 0;
}

/* The second after the one in slot s is about to lose its base: store it as a key slot. */
static int ring_rekey_successor(Ring *r, const RingSlot *s) {
        RingSlot *next;
        uint8_t *data;
        size_t size;
        int k;

        if (s->unix_sec == 0 || s->unix_sec == UINT64_MAX)
                return 0;
        next = (RingSlot *) ring_get(r, s->unix_sec + 1);
        if (!next || next->base_seq != s->seq)
                return 0;
        k = ring_read(r, next->unix_sec, &r->scratch);
        if (k >= 0)
                k = slot_encode_copy(r, NULL, r->scratch.values, next->set->n, &data, &size);
        if (k < 0)
                return k;
        free(next->data);
        next->data = data;
        next->size = size;
        next->base_seq = 0;
        return 0;
}

int ring_init(Ring *r, size_t seconds) {
        assert(r);

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
        assert(r);

        for (size_t i = 0; i < r->n_slots; i++)
                slot_clear(&r->slots[i]);
        free(r->slots);
        ring_reader_done(&r->last);
        ring_reader_done(&r->scratch);
        buf_done(&r->buf);
        *r = (Ring) { 0 };
}

/* Stores values as second unix_sec in its slot: a delta against the second before when the ring holds it with
 * the same set, else a key slot. The values stay the caller's. An older second (fill) never replaces the
 * second it is or a later one, and decodes its base in scratch: last stays the base of the sampler's next put. */
static int ring_store(Ring *r, uint64_t unix_sec, SliceSet *set, const SampleValues *values, bool fill,
                      RingSlot **ret_slot) {
        RingReader *rd = fill ? &r->scratch : &r->last;
        const RingSlot *base = NULL;
        RingSlot *s;
        uint8_t *data;
        size_t size;
        int k;

        assert(r);

        if (unix_sec == 0 || !set || !values || r->n_slots == 0)
                return -EINVAL;
        s = &r->slots[unix_sec % r->n_slots];
        if (fill && s->unix_sec >= unix_sec)
                return s->unix_sec == unix_sec ? -EEXIST : -ERANGE;
        k = ring_rekey_successor(r, s);
        if (k < 0)
                return k;
        if (unix_sec % RING_KEY_INTERVAL_SEC != 0) {
                base = ring_get(r, unix_sec - 1);
                if (base == s || (base && base->set != set))
                        base = NULL;
        }
        if (base && ring_read(r, unix_sec - 1, rd) < 0)
                base = NULL;
        k = slot_encode_copy(r, base ? rd->values : NULL, values, set->n, &data, &size);
        if (k < 0)
                return k;

        slot_clear(s);
        *s = (RingSlot) {
                .unix_sec = unix_sec,
                .seq = ++r->last_seq,
                .base_seq = base ? base->seq : 0,
                .set = slice_set_ref(set),
                .data = data,
                .size = size,
        };
        *ret_slot = s;
        return 0;
}

int ring_put(Ring *r, uint64_t unix_sec, SliceSet *set, SampleValues *values) {
        RingSlot *s;
        int k = ring_store(r, unix_sec, set, values, /* fill= */ false, &s);

        if (k < 0)
                return k;
        ring_reader_done(&r->last);
        r->last = (RingReader) {
                .unix_sec = unix_sec,
                .seq = s->seq,
                .set = slice_set_ref(set),
                .values = values,
        };
        return 0;
}

int ring_fill(Ring *r, uint64_t unix_sec, SliceSet *set, SampleValues *values) {
        RingSlot *s;
        int k = ring_store(r, unix_sec, set, values, /* fill= */ true, &s);

        if (k < 0)
                return k;
        sample_values_free_array(values, set->n);
        return 0;
}

const RingReader *ring_last(const Ring *r) {
        const RingSlot *s = ring_get(r, r->last.unix_sec);

        assert(r);

        return s && s->seq == r->last.seq ? &r->last : NULL;
}
const RingSlot *ring_get(const Ring *r, uint64_t unix_sec) {
        const RingSlot *s;

        assert(r);

        if (unix_sec == 0 || r->n_slots == 0)
                return NULL;
        s = &r->slots[unix_sec % r->n_slots];
        return s->unix_sec == unix_sec ? s : NULL;
}

const RingSlot *ring_latest(const Ring *r) {
        const RingSlot *best = NULL;

        assert(r);

        for (size_t i = 0; i < r->n_slots; i++)
                if (r->slots[i].unix_sec && (!best || r->slots[i].unix_sec > best->unix_sec))
                        best = &r->slots[i];
        return best;
}
