/* SPDX-License-Identifier: MIT */
/* The slot codec (src/store/slot-codec.c) and the ring over it (ring.c). First byte: bit 0 chooses.
 * Round trip: a base second and a next one are made from the input (0-8 slices, extreme counters, devices
 * that come, go and change) and decode(encode(x)) == x, as a key slot or a delta; every shorter prefix and
 * one byte too many are refused; the ring keeps both seconds and reads them back. Arbitrary bytes: decoding
 * them on top of values from the input fails cleanly or succeeds, and never leaks. Empty data is passed as
 * NULL, as an empty buffer may be. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "ring.h"
#include "slot-codec.h"

#define SLICES_MAX 8
#define DEVICES_MAX 4

static void values_from_input(FuzzInput *in, SampleValues *v, size_t n, const SampleValues *base) {
        for (size_t i = 0; i < n; i++) {
                uint8_t shape = fuzz_u8(in);

                free(v[i].io);
                v[i] = (SampleValues) {
                        .have = (uint32_t) fuzz_value(in),
                        .pressure_have = fuzz_u8(in),
                        .cpu_usage_nsec = fuzz_value(in),
                        .memory_bytes = fuzz_value(in),
                        .pids = fuzz_value(in),
                        .n_io = shape % (DEVICES_MAX + 1),
                };
                for (int k = 0; k < _PRESSURE_MAX; k++)
                        v[i].pressure_usec[k] = fuzz_value(in);
                if (v[i].n_io == 0)
                        continue;
                v[i].io = calloc(v[i].n_io, sizeof(SampleIo));
                FUZZ_CHECK(v[i].io);
                for (size_t d = 0; d < v[i].n_io; d++) {
                        SampleIo *io = &v[i].io[d];
                        uint8_t dev = fuzz_u8(in);

                        /* mostly the base's device at the same place, so deltas have a base device */
                        if (base && d < base[i].n_io && dev % 4 != 0)
                                *io = base[i].io[d];
                        else {
                                io->major = dev & 0x80 ? UINT32_MAX : dev % 4 * 8;
                                io->minor = dev & 0x40 ? (uint32_t) fuzz_value(in) : (uint32_t) d;
                        }
                        io->read_bytes += fuzz_value(in);
                        io->write_bytes = dev & 0x20 ? io->write_bytes : fuzz_value(in);
                        io->read_ios = fuzz_value(in);
                        io->write_ios -= fuzz_u8(in);
                }
        }
}

static SampleValues *values_copy(const SampleValues *v, size_t n) {
        SampleValues *c = calloc(SLICES_MAX, sizeof(SampleValues));

        FUZZ_CHECK(c);
        for (size_t i = 0; i < n; i++) {
                c[i] = v[i];
                c[i].io = NULL;
                if (v[i].n_io == 0)
                        continue;
                c[i].io = malloc(v[i].n_io * sizeof(SampleIo));
                FUZZ_CHECK(c[i].io);
                memcpy(c[i].io, v[i].io, v[i].n_io * sizeof(SampleIo));
        }
        return c;
}

static bool values_eq(const SampleValues *a, const SampleValues *b, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (a[i].have != b[i].have || a[i].pressure_have != b[i].pressure_have ||
                    a[i].cpu_usage_nsec != b[i].cpu_usage_nsec || a[i].memory_bytes != b[i].memory_bytes ||
                    a[i].pids != b[i].pids || a[i].n_io != b[i].n_io ||
                    memcmp(a[i].pressure_usec, b[i].pressure_usec, sizeof(a[i].pressure_usec)) != 0)
                        return false;
                for (size_t d = 0; d < a[i].n_io; d++)
                        if (memcmp(&a[i].io[d], &b[i].io[d], sizeof(SampleIo)) != 0)
                                return false;
        }
        return true;
}

static int decode(const Buf *b, size_t size, const SampleValues *base, size_t n, SampleValues **ret) {
        SampleValues *v = base ? values_copy(base, n) : calloc(SLICES_MAX, sizeof(SampleValues));
        int r;

        FUZZ_CHECK(v);
        r = slot_decode(size > 0 ? b->data : NULL, size, v, n);
        *ret = v;
        return r;
}

static void ring_round_trip(size_t n, const SampleValues *base, const SampleValues *next, uint64_t sec) {
        SliceSet *set = slice_set_new(n);
        RingReader rd = { 0 };
        Ring ring;

        FUZZ_CHECK(set && ring_init(&ring, 4) == 0);
        for (size_t i = 0; i < n; i++) {
                FUZZ_CHECK(asprintf(&set->paths[i], "g%zu", i) > 0);
                FUZZ_CHECK(asprintf(&set->units[i], "g%zu.slice", i) > 0);
        }
        FUZZ_CHECK(ring_put(&ring, sec, set, values_copy(base, n)) == 0);
        FUZZ_CHECK(ring_put(&ring, sec + 1, set, values_copy(next, n)) == 0);
        FUZZ_CHECK(ring_read(&ring, sec + 1, &rd) == 0 && values_eq(rd.values, next, n));
        FUZZ_CHECK(ring_read(&ring, sec, &rd) == 0 && values_eq(rd.values, base, n));
        FUZZ_CHECK(ring_read(&ring, sec + 1, &rd) == 0 && values_eq(rd.values, next, n));
        ring_reader_done(&rd);
        ring_done(&ring);
        slice_set_unref(set);
}

static void round_trip(FuzzInput *in, uint8_t mode) {
        size_t n = (mode >> 1) % (SLICES_MAX + 1);
        bool key = mode & 0x40;
        SampleValues base[SLICES_MAX] = { 0 }, next[SLICES_MAX] = { 0 }, *decoded;
        Buf b = { 0 };

        values_from_input(in, base, n, NULL);
        values_from_input(in, next, n, base);
        FUZZ_CHECK(slot_encode(key ? NULL : base, next, n, &b) == 0);
        FUZZ_CHECK(decode(&b, b.size, key ? NULL : base, n, &decoded) == 0);
        FUZZ_CHECK(values_eq(decoded, next, n));
        sample_values_free_array(decoded, SLICES_MAX);
        for (size_t cut = 0; cut < b.size; cut++) {
                FUZZ_CHECK(decode(&b, cut, key ? NULL : base, n, &decoded) == -EBADMSG);
                sample_values_free_array(decoded, SLICES_MAX);
        }
        FUZZ_CHECK(buf_put(&b, "", 1) == 0);
        FUZZ_CHECK(decode(&b, b.size, key ? NULL : base, n, &decoded) == -EBADMSG);
        sample_values_free_array(decoded, SLICES_MAX);

        /* a key slot every RING_KEY_INTERVAL_SEC: the second pair sometimes straddles one */
        ring_round_trip(n, base, next, mode & 0x80 ? RING_KEY_INTERVAL_SEC - 1 : 1 + fuzz_u8(in));
        for (size_t i = 0; i < SLICES_MAX; i++) {
                free(base[i].io);
                free(next[i].io);
        }
        buf_done(&b);
}

static void arbitrary(FuzzInput *in, uint8_t mode) {
        size_t n = (mode >> 1) % (SLICES_MAX + 1);
        SampleValues base[SLICES_MAX] = { 0 };
        Buf b = { 0 };
        int r;

        if (mode & 0x40)
                values_from_input(in, base, n, NULL);
        FUZZ_CHECK(buf_put(&b, in->p, in->n) == 0);
        r = slot_decode(b.size > 0 ? b.data : NULL, b.size, base, n);
        FUZZ_CHECK(r == 0 || r == -EBADMSG);
        for (size_t i = 0; r == 0 && i < n; i++)
                FUZZ_CHECK(base[i].n_io == 0 || base[i].io);
        for (size_t i = 0; i < SLICES_MAX; i++)
                free(base[i].io);
        buf_done(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        uint8_t mode = fuzz_u8(&in);

        if (mode & 1)
                round_trip(&in, mode);
        else
                arbitrary(&in, mode);
        return 0;
}
