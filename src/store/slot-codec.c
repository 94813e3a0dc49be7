/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "macro.h"
#include "slot-codec.h"

/* Mask bits, the fields most likely to change in the low seven (one varint byte). */
enum {
        F_CPU = 1u << 0,
        F_MEMORY = 1u << 1,
        F_PIDS = 1u << 2,
        F_IO = 1u << 3,
        F_META = 1u << 4,      /* have, pressure_have */
        F_PRESSURE0 = 1u << 5, /* ... one bit per PressureKind, up to 1u << 10 */
        F_ALL = (1u << (5 + _PRESSURE_MAX)) - 1,
};

/* A slice at most: the mask, have, pressure_have, 9 numbers, n_io; per device major, minor, 4 numbers. */
#define VARINT_MAX 10
#define SLICE_BYTES_MAX(n_io) (3 * VARINT_MAX + 1 + 9 * VARINT_MAX + (size_t) (n_io) * 6 * VARINT_MAX)

static inline void put_varint(Buf *b, uint64_t v) {
        uint8_t *p = buf_tail(b), *start = p;

        while (v >= 0x80) {
                *p++ = (uint8_t) (v | 0x80);
                v >>= 7;
        }
        *p++ = (uint8_t) v;
        b->size += (size_t) (p - start);
}

/* The difference new - old, wrapping, as a small unsigned number whether it is up or down. */
static inline void put_delta(Buf *b, uint64_t old, uint64_t new) {
        uint64_t d = new - old;

        put_varint(b, (d << 1) ^ (uint64_t) -(int64_t) (d >> 63));
}

static const SampleIo *base_device(const SampleValues *base, size_t d, const SampleIo *io) {
        if (!base || d >= base->n_io || !base->io)
                return NULL;
        if (base->io[d].major != io->major || base->io[d].minor != io->minor)
                return NULL;
        return &base->io[d];
}

static bool io_same(const SampleValues *a, const SampleValues *b) {
        if (a->n_io != b->n_io)
                return false;
        return a->n_io == 0 || memcmp(a->io, b->io, a->n_io * sizeof(SampleIo)) == 0;
}

int slot_encode(const SampleValues *base, const SampleValues *values, size_t n, Buf *out) {
        static const SampleValues zero = { 0 };

        assert(values || n == 0);
        assert(out);

        for (size_t i = 0; i < n; i++) {
                const SampleValues *v = &values[i], *b = base ? &base[i] : &zero;
                unsigned mask = 0;
                int r;

                r = buf_reserve(out, SLICE_BYTES_MAX(v->n_io));
                if (r < 0)
                        return r;
                if (v->n_io > 0 && !v->io)
                        return -EINVAL;
                mask |= v->cpu_usage_nsec != b->cpu_usage_nsec ? F_CPU : 0;
                mask |= v->memory_bytes != b->memory_bytes ? F_MEMORY : 0;
                mask |= v->pids != b->pids ? F_PIDS : 0;
                mask |= !io_same(v, b) ? F_IO : 0;
                mask |= v->have != b->have || v->pressure_have != b->pressure_have ? F_META : 0;
                for (int k = 0; k < _PRESSURE_MAX; k++)
                        mask |= v->pressure_usec[k] != b->pressure_usec[k] ? F_PRESSURE0 << k : 0;

                put_varint(out, mask);
                if (mask & F_CPU)
                        put_delta(out, b->cpu_usage_nsec, v->cpu_usage_nsec);
                if (mask & F_MEMORY)
                        put_delta(out, b->memory_bytes, v->memory_bytes);
                if (mask & F_PIDS)
                        put_delta(out, b->pids, v->pids);
                if (mask & F_IO) {
                        put_varint(out, v->n_io);
                        for (size_t d = 0; d < v->n_io; d++) {
                                const SampleIo *io = &v->io[d], *bio = base_device(b, d, io);
                                static const SampleIo none = { 0 };

                                if (!bio)
                                        bio = &none;
                                put_varint(out, io->major);
                                put_varint(out, io->minor);
                                put_delta(out, bio->read_bytes, io->read_bytes);
                                put_delta(out, bio->write_bytes, io->write_bytes);
                                put_delta(out, bio->read_ios, io->read_ios);
                                put_delta(out, bio->write_ios, io->write_ios);
                        }
                }
                if (mask & F_META) {
                        put_varint(out, v->have);
                        put_varint(out, v->pressure_have);
                }
                for (int k = 0; k < _PRESSURE_MAX; k++)
                        if (mask & (F_PRESSURE0 << k))
                                put_delta(out, b->pressure_usec[k], v->pressure_usec[k]);
        }
        return 0;
}

typedef struct Reader {
        const uint8_t *p, *end;
        bool bad;
} Reader;

static inline uint64_t get_varint(Reader *r) {
        uint64_t v = 0;

        for (unsigned shift = 0; shift < 64; shift += 7) {
                uint8_t c;

                if (r->p >= r->end)
                        break;
                c = *r->p++;
                if (shift == 63 && c > 1)
                        break; /* more than 64 bits */
                v |= (uint64_t) (c & 0x7f) << shift;
                if (!(c & 0x80))
                        return v;
        }
        r->bad = true;
        return 0;
}

static inline void get_delta(Reader *r, uint64_t *v) {
        uint64_t z = get_varint(r);

        *v += (z >> 1) ^ (uint64_t) -(int64_t) (z & 1);
}

static int decode_io(Reader *r, SampleValues *v) {
        uint64_t n = get_varint(r);

        if (r->bad || n > UINT16_MAX || n * 6 > (uint64_t) (r->end - r->p))
                return -EBADMSG; /* each device takes at least six bytes */
        if (n != v->n_io) {
                SampleIo *io = n > 0 ? realloc(v->io, n * sizeof(SampleIo)) : NULL;

                if (n > 0 && !io)
                        return -ENOMEM;
                if (n == 0)
                        free(v->io);
                /* New entries have no base: a device is only a base for the same device. */
                for (size_t d = v->n_io; d < n; d++)
                        io[d] = (SampleIo) { 0 };
                v->io = io;
                v->n_io = (uint16_t) n;
        }
        for (size_t d = 0; d < n; d++) {
                SampleIo *io = &v->io[d];
                uint64_t major = get_varint(r), minor = get_varint(r);

                if (major > UINT32_MAX || minor > UINT32_MAX)
                        return -EBADMSG;
                if (io->major != major || io->minor != minor)
                        *io = (SampleIo) { .major = (uint32_t) major, .minor = (uint32_t) minor };
                get_delta(r, &io->read_bytes);
                get_delta(r, &io->write_bytes);
                get_delta(r, &io->read_ios);
                get_delta(r, &io->write_ios);
        }
        return r->bad ? -EBADMSG : 0;
}

int slot_decode(const uint8_t *data, size_t size, SampleValues *values, size_t n) {
        assert(data || size == 0);
        assert(values || n == 0);

        /* Empty input may come as NULL, and NULL + 0 is undefined. */
        Reader r = { .p = data, .end = size > 0 ? data + size : data };

        for (size_t i = 0; i < n; i++) {
                SampleValues *v = &values[i];
                uint64_t mask = get_varint(&r);
                int k;

                if (r.bad || mask > F_ALL)
                        return -EBADMSG;
                if (mask & F_CPU)
                        get_delta(&r, &v->cpu_usage_nsec);
                if (mask & F_MEMORY)
                        get_delta(&r, &v->memory_bytes);
                if (mask & F_PIDS)
                        get_delta(&r, &v->pids);
                if (mask & F_IO) {
                        k = decode_io(&r, v);
                        if (k < 0)
                                return k;
                }
                if (mask & F_META) {
                        uint64_t have = get_varint(&r), pressure_have = get_varint(&r);

                        if (have > UINT32_MAX || pressure_have > UINT8_MAX)
                                return -EBADMSG;
                        v->have = (uint32_t) have;
                        v->pressure_have = (uint8_t) pressure_have;
                }
                for (k = 0; k < _PRESSURE_MAX; k++)
                        if (mask & (F_PRESSURE0 << k))
                                get_delta(&r, &v->pressure_usec[k]);
                if (r.bad)
                        return -EBADMSG;
        }
        return r.p == r.end ? 0 : -EBADMSG;
}
