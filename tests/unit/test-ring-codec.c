/* SPDX-License-Identifier: MIT */
/* The compact ring: the slot codec round trip (random values, extremes, devices that come and go), its
 * refusal of damaged data, and the ring against a model of what was put, however it was put. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "ring.h"
#include "slot-codec.h"
#include "tests.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void) {
        /* xorshift64*: the same sequence on every run */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545f4914f6cdd1du;
}

/* Small, big, extreme: the counters a cgroup shows, and the ones that would break a careless codec. */
static uint64_t rnd_value(void) {
        switch (rnd() % 6) {
        case 0:
                return 0;
        case 1:
                return rnd() % 100;
        case 2:
                return UINT64_MAX - rnd() % 3;
        case 3:
                return rnd();
        default:
                return rnd() % 10000000000000u;
        }
}

static void values_random(SampleValues *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                v[i].have = (uint32_t) rnd();
                v[i].pressure_have = (uint8_t) rnd();
                v[i].cpu_usage_nsec = rnd_value();
                v[i].memory_bytes = rnd_value();
                v[i].pids = rnd_value();
                for (int k = 0; k < _PRESSURE_MAX; k++)
                        v[i].pressure_usec[k] = rnd_value();
                free(v[i].io);
                v[i].io = NULL;
                v[i].n_io = (uint16_t) (rnd() % 4);
                if (v[i].n_io > 0) {
                        v[i].io = calloc(v[i].n_io, sizeof(SampleIo));
                        ASSERT_TRUE(v[i].io != NULL);
                }
                for (size_t d = 0; d < v[i].n_io; d++)
                        v[i].io[d] = (SampleIo) { (uint32_t) (rnd() % 3) * 8, (uint32_t) (rnd() % 2 ? UINT32_MAX : d),
                                                  rnd_value(), rnd_value(), rnd_value(), rnd_value() };
        }
}

/* The next second of v, as a sampler sees it: most counters grow a little, some stay, a few jump or drop. */
static void values_step(SampleValues *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (rnd() % 20 == 0) {
                        values_random(&v[i], 1);
                        continue;
                }
                v[i].cpu_usage_nsec += rnd() % 3 ? rnd() % 1000000 : 0;
                v[i].memory_bytes += rnd() % 2 ? (uint64_t) ((int64_t) (rnd() % 8192) - 4096) : 0;
                for (int k = 0; k < _PRESSURE_MAX; k++)
                        v[i].pressure_usec[k] += rnd() % 4 == 0 ? rnd() % 50 : 0;
                for (size_t d = 0; d < v[i].n_io; d++)
                        v[i].io[d].read_bytes += rnd() % 4096;
        }
}

static SampleValues *values_copy(const SampleValues *v, size_t n) {
        SampleValues *c = calloc(MAX(n, (size_t) 1), sizeof(SampleValues));

        ASSERT_TRUE(c != NULL);
        for (size_t i = 0; i < n; i++) {
                c[i] = v[i];
                c[i].io = NULL;
                if (v[i].n_io > 0) {
                        c[i].io = malloc(v[i].n_io * sizeof(SampleIo));
                        ASSERT_TRUE(c[i].io != NULL);
                        memcpy(c[i].io, v[i].io, v[i].n_io * sizeof(SampleIo));
                }
        }
        return c;
}

static void assert_values_eq(const SampleValues *a, const SampleValues *b, size_t n) {
        for (size_t i = 0; i < n; i++) {
                ASSERT_EQ_U64(a[i].have, b[i].have);
                ASSERT_EQ_U64(a[i].pressure_have, b[i].pressure_have);
                ASSERT_EQ_U64(a[i].cpu_usage_nsec, b[i].cpu_usage_nsec);
                ASSERT_EQ_U64(a[i].memory_bytes, b[i].memory_bytes);
                ASSERT_EQ_U64(a[i].pids, b[i].pids);
                for (int k = 0; k < _PRESSURE_MAX; k++)
                        ASSERT_EQ_U64(a[i].pressure_usec[k], b[i].pressure_usec[k]);
                ASSERT_EQ_INT(a[i].n_io, b[i].n_io);
                for (size_t d = 0; d < a[i].n_io; d++)
                        ASSERT_TRUE(memcmp(&a[i].io[d], &b[i].io[d], sizeof(SampleIo)) == 0);
        }
}

static SliceSet *set_new(size_t n) {
        SliceSet *s = slice_set_new(n);

        ASSERT_TRUE(s != NULL);
        for (size_t i = 0; i < n; i++) {
                ASSERT_TRUE(asprintf(&s->paths[i], "g%zu", i) > 0);
                ASSERT_TRUE(asprintf(&s->units[i], "g%zu.slice", i) > 0);
        }
        return s;
}

/* ---- the codec ---- */

TEST(test_codec_round_trip_random) {
        enum { N = 50 };

        for (int round = 0; round < 300; round++) {
                SampleValues base[N] = { 0 }, now[N] = { 0 };
                SampleValues *decoded;
                Buf b = { 0 };
                bool key = round % 3 == 0;

                values_random(base, N);
                values_random(now, N);
                if (round % 2) { /* a plausible next second instead of an unrelated one */
                        for (size_t i = 0; i < N; i++) {
                                free(now[i].io);
                                now[i] = base[i];
                                now[i].io = NULL;
                                if (base[i].n_io) {
                                        now[i].io = malloc(base[i].n_io * sizeof(SampleIo));
                                        memcpy(now[i].io, base[i].io, base[i].n_io * sizeof(SampleIo));
                                }
                        }
                        values_step(now, N);
                }
                ASSERT_EQ_INT(slot_encode(key ? NULL : base, now, N, &b), 0);
                /* decode on top of the base (or zeros for a key slot) */
                decoded = key ? calloc(N, sizeof(SampleValues)) : values_copy(base, N);
                ASSERT_EQ_INT(slot_decode(b.data, b.size, decoded, N), 0);
                assert_values_eq(decoded, now, N);
                sample_values_free_array(decoded, N);

                /* every shorter prefix is refused, and so is a byte too many */
                for (size_t cut = 0; cut < b.size; cut += 1 + cut / 8) {
                        decoded = key ? calloc(N, sizeof(SampleValues)) : values_copy(base, N);
                        ASSERT_EQ_INT(slot_decode(b.data, cut, decoded, N), -EBADMSG);
                        sample_values_free_array(decoded, N);
                }
                ASSERT_EQ_INT(buf_put(&b, "", 1), 0);
                decoded = key ? calloc(N, sizeof(SampleValues)) : values_copy(base, N);
                ASSERT_EQ_INT(slot_decode(b.data, b.size, decoded, N), -EBADMSG);
                sample_values_free_array(decoded, N);

                for (size_t i = 0; i < N; i++) {
                        free(base[i].io);
                        free(now[i].io);
                }
                buf_done(&b);
        }
}

TEST(test_codec_garbage_is_refused_safely) {
        enum { N = 8 };

        for (int round = 0; round < 2000; round++) {
                uint8_t data[64];
                size_t size = (size_t) (rnd() % sizeof(data));
                SampleValues *v = calloc(N, sizeof(SampleValues));

                for (size_t i = 0; i < size; i++)
                        data[i] = (uint8_t) rnd();
                (void) slot_decode(data, size, v, N); /* any answer, but no crash and no leak (ASan) */
                sample_values_free_array(v, N);
        }
        /* a mask with bits no field has, an over-long varint, a device count past the data */
        {
                static const uint8_t bad_mask[] = { 0x80, 0x10 }, long_varint[] = { 0x01, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                                                     0xff, 0xff, 0xff, 0xff, 0x7f },
                                     many_devices[] = { 0x08, 0xff, 0x03 };
                SampleValues v[1] = { 0 };

                ASSERT_EQ_INT(slot_decode(bad_mask, sizeof(bad_mask), v, 1), -EBADMSG);
                ASSERT_EQ_INT(slot_decode(long_varint, sizeof(long_varint), v, 1), -EBADMSG);
                ASSERT_EQ_INT(slot_decode(many_devices, sizeof(many_devices), v, 1), -EBADMSG);
                free(v[0].io);
        }
}

/* Found by fuzzing: empty input is decoded without pointer arithmetic on NULL (UBSan: "applying zero
 * offset to null pointer"); zero slices need no bytes, one slice needs its mask. */
TEST(test_codec_empty_input) {
        SampleValues v[1] = { 0 };
        static const uint8_t idle[] = { 0x00 };

        ASSERT_EQ_INT(slot_decode(NULL, 0, NULL, 0), 0);
        ASSERT_EQ_INT(slot_decode(NULL, 0, v, 1), -EBADMSG);
        ASSERT_EQ_INT(slot_decode(idle, 0, v, 0), 0);
        ASSERT_EQ_INT(slot_decode(idle, sizeof(idle), v, 0), -EBADMSG); /* a byte too many */
        ASSERT_EQ_INT(slot_decode(idle, sizeof(idle), v, 1), 0);
        ASSERT_EQ_U64(v[0].cpu_usage_nsec, 0);
}

/* Found by fuzzing: a set of no slices encodes to nothing, and a fresh ring's encoder buffer is NULL then
 * (UBSan: memcpy from a null pointer). Such seconds are kept and read back, as key slots and deltas. */
TEST(test_ring_zero_slices) {
        SliceSet *set = set_new(0);
        RingReader rd = { 0 };
        Ring r;

        ASSERT_EQ_INT(ring_init(&r, 8), 0);
        for (uint64_t sec = 100; sec < 120; sec++) {
                ASSERT_EQ_INT(ring_put(&r, sec, set, calloc(1, sizeof(SampleValues))), 0);
                ASSERT_EQ_U64(ring_get(&r, sec)->size, 0);
                ASSERT_TRUE(ring_last(&r) != NULL);
        }
        for (uint64_t sec = 112; sec < 120; sec++) {
                ASSERT_EQ_INT(ring_read(&r, sec, &rd), 0);
                ASSERT_TRUE(rd.set == set);
                ASSERT_EQ_U64(rd.unix_sec, sec);
        }
        ASSERT_EQ_INT(ring_read(&r, 111, &rd), -ENOENT);
        ring_reader_done(&rd);
        ring_done(&r);
        slice_set_unref(set);
}

/* The point of it: a second of idle slices takes a byte per slice, a busy one a few. */
TEST(test_codec_is_compact) {
        enum { N = 1000 };
        SampleValues *a = calloc(N, sizeof(SampleValues)), *b;
        Buf key = { 0 }, idle = { 0 }, busy = { 0 };

        ASSERT_TRUE(a != NULL);
        for (size_t i = 0; i < N; i++) {
                a[i].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS | SAMPLE_HAVE_PRESSURE;
                a[i].pressure_have = 0x3f;
                a[i].cpu_usage_nsec = 1446489231295u + i;
                a[i].memory_bytes = 8u << 20;
                a[i].pids = 12;
                for (int k = 0; k < _PRESSURE_MAX; k++)
                        a[i].pressure_usec[k] = 123456789u;
        }
        b = values_copy(a, N);
        ASSERT_EQ_INT(slot_encode(NULL, a, N, &key), 0);
        ASSERT_EQ_INT(slot_encode(a, b, N, &idle), 0);
        for (size_t i = 0; i < N; i++) {
                b[i].cpu_usage_nsec += 3000000; /* 3 ms of CPU in the second */
                b[i].memory_bytes += 4096;
                b[i].pressure_usec[PRESSURE_CPU_SOME] += 250;
        }
        ASSERT_EQ_INT(slot_encode(a, b, N, &busy), 0);
        printf("  1000 slices: key slot %zu bytes, idle second %zu, busy second %zu (unencoded %zu)\n", key.size,
               idle.size, busy.size, N * sizeof(SampleValues));
        ASSERT_EQ_INT(idle.size, N);
        ASSERT_TRUE(busy.size <= N * 9);
        ASSERT_TRUE(key.size <= N * 40);
        sample_values_free_array(a, N);
        sample_values_free_array(b, N);
        buf_done(&key);
        buf_done(&idle);
        buf_done(&busy);
}

/* ---- the ring against a model ---- */

typedef struct Model {
        uint64_t sec;
        SliceSet *set;
        SampleValues *values;
} Model;

static void model_put(Model *m, size_t n_model, uint64_t sec, SliceSet *set, const SampleValues *v) {
        Model *e = &m[sec % n_model];

        if (e->set)
                sample_values_free_array(e->values, e->set->n);
        slice_set_unref(e->set);
        *e = (Model) { sec, slice_set_ref(set), values_copy(v, set->n) };
}

static void check_ring(const Ring *r, const Model *m, size_t n_model, uint64_t lo, uint64_t hi) {
        RingReader forward = { 0 };

        /* read forward as show_account does, and each second with a fresh reader */
        for (uint64_t sec = lo; sec <= hi; sec++) {
                const Model *e = &m[sec % n_model];
                RingReader fresh = { 0 };
                bool held = e->sec == sec && e->set;

                ASSERT_EQ_INT(ring_read(r, sec, &forward), held ? 0 : -ENOENT);
                ASSERT_EQ_INT(ring_read(r, sec, &fresh), held ? 0 : -ENOENT);
                if (held) {
                        ASSERT_TRUE(forward.set == e->set && fresh.set == e->set);
                        ASSERT_EQ_U64(forward.unix_sec, sec);
                        assert_values_eq(forward.values, e->values, e->set->n);
                        assert_values_eq(fresh.values, e->values, e->set->n);
                }
                ring_reader_done(&fresh);
        }
        ring_reader_done(&forward);
}

TEST(test_ring_matches_model_random) {
        enum { WINDOW = 37, N = 20 };
        SliceSet *sets[3] = { set_new(N), set_new(N), set_new(3) };
        Model model[WINDOW] = { 0 };
        SampleValues *v = calloc(N, sizeof(SampleValues));
        Ring r;
        uint64_t sec = 60, max_sec = 0;
        size_t set_i = 0;
        RingReader stale = { 0 };

        ASSERT_EQ_INT(ring_init(&r, WINDOW), 0);
        values_random(v, N);
        for (int step = 0; step < 3000; step++) {
                SliceSet *set = sets[set_i];
                SampleValues *put;
                uint64_t choice = rnd() % 100;

                if (choice < 80)
                        sec++; /* the common case */
                else if (choice < 88)
                        sec += 1 + rnd() % 5; /* a gap */
                else if (choice < 93 && sec > 3)
                        sec -= rnd() % 3; /* the same second again, or one before */
                else if (choice < 96)
                        set_i = (size_t) rnd() % 3, set = sets[set_i]; /* the tree changed */
                else
                        sec += WINDOW + rnd() % 3; /* a long stop */
                values_step(v, N);
                put = values_copy(v, set->n);
                ASSERT_EQ_INT(ring_put(&r, sec, set, put), 0);
                model_put(model, WINDOW, sec, set, v);
                max_sec = MAX(max_sec, sec);
                ASSERT_TRUE(ring_last(&r) != NULL && ring_last(&r)->values == put);
                if (step % 7 == 0)
                        check_ring(&r, model, WINDOW, max_sec > 2 * WINDOW ? max_sec - 2 * WINDOW : 1, max_sec + 2);
                /* a reader kept across puts stays right (its values are its own) */
                if (step % 11 == 0 && ring_read(&r, sec, &stale) == 0)
                        assert_values_eq(stale.values, model[sec % WINDOW].values, set->n);
                if (step % 11 == 5 && stale.seq && ring_get(&r, stale.unix_sec + 1) &&
                    model[(stale.unix_sec + 1) % WINDOW].sec == stale.unix_sec + 1) {
                        ASSERT_EQ_INT(ring_read(&r, stale.unix_sec + 1, &stale), 0);
                        assert_values_eq(stale.values, model[stale.unix_sec % WINDOW].values, stale.set->n);
                }
        }
        /* chains stay short: a key slot at least every RING_KEY_INTERVAL_SEC seconds */
        for (size_t i = 0; i < r.n_slots; i++) {
                size_t chain = 0;

                for (const RingSlot *s = &r.slots[i]; s && s->unix_sec && s->base_seq; s = ring_get(&r, s->unix_sec - 1))
                        chain++;
                ASSERT_TRUE(chain < RING_KEY_INTERVAL_SEC);
        }
        ring_reader_done(&stale);
        ring_done(&r);
        for (size_t i = 0; i < WINDOW; i++) {
                if (model[i].set)
                        sample_values_free_array(model[i].values, model[i].set->n);
                slice_set_unref(model[i].set);
        }
        sample_values_free_array(v, N);
        for (size_t i = 0; i < ELEMENTSOF(sets); i++) {
                ASSERT_EQ_INT(sets[i]->n_ref, 1); /* every reference the ring took is back */
                slice_set_unref(sets[i]);
        }
}

/* A full window in order, as the sampler fills it: all deltas but the key slots, the oldest always one. */
TEST(test_ring_window_in_order) {
        enum { WINDOW = 300, N = 100 };
        SliceSet *set = set_new(N);
        SampleValues *v = calloc(N, sizeof(SampleValues));
        Model model[WINDOW] = { 0 };
        Ring r;
        size_t keys = 0, bytes = 0;

        ASSERT_EQ_INT(ring_init(&r, WINDOW), 0);
        values_random(v, N);
        for (uint64_t sec = 1000; sec < 1000 + 3 * WINDOW; sec++) {
                values_step(v, N);
                ASSERT_EQ_INT(ring_put(&r, sec, set, values_copy(v, N)), 0);
                model_put(model, WINDOW, sec, set, v);
                if (sec >= 1000 + WINDOW - 1)
                        ASSERT_EQ_U64(ring_get(&r, sec - WINDOW + 1)->base_seq, 0); /* the oldest */
        }
        check_ring(&r, model, WINDOW, 1000 + 2 * WINDOW - 5, 1000 + 3 * WINDOW + 5);
        for (size_t i = 0; i < WINDOW; i++) {
                keys += r.slots[i].base_seq == 0;
                bytes += r.slots[i].size;
        }
        printf("  300 s of 100 slices: %zu key slots, %zu bytes (unencoded %zu)\n", keys, bytes,
               (size_t) WINDOW * N * sizeof(SampleValues));
        ASSERT_TRUE(keys <= WINDOW / RING_KEY_INTERVAL_SEC + 2);
        ring_done(&r);
        for (size_t i = 0; i < WINDOW; i++) {
                sample_values_free_array(model[i].values, N);
                slice_set_unref(model[i].set);
        }
        sample_values_free_array(v, N);
        slice_set_unref(set);
}

int main(void) {
        RUN(test_codec_round_trip_random);
        RUN(test_codec_garbage_is_refused_safely);
        RUN(test_codec_empty_input);
        RUN(test_codec_is_compact);
        RUN(test_ring_matches_model_random);
        RUN(test_ring_window_in_order);
        RUN(test_ring_zero_slices);
        return 0;
}
