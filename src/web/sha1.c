/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <string.h>

#include "sha1.h"

#define SHA1_BLOCK_SIZE 64

static uint32_t rol32(uint32_t x, unsigned n) {
        return (x << n) | (x >> (32 - n));
}

static uint32_t load_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

static void store_be32(uint8_t *p, uint32_t x) {
        p[0] = (uint8_t) (x >> 24);
        p[1] = (uint8_t) (x >> 16);
        p[2] = (uint8_t) (x >> 8);
        p[3] = (uint8_t) x;
}

/* FIPS 180-4 6.1.2: one 512-bit block into the running hash. The schedule is kept as a 16-word ring
 * rather than 80 words; W[t] only ever looks 16 words back. */
static void sha1_block(uint32_t h[static 5], const uint8_t *block) {
        uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

        for (unsigned t = 0; t < 16; t++)
                w[t] = load_be32(block + 4 * t);

        for (unsigned t = 0; t < 80; t++) {
                uint32_t f, k, tmp;

                if (t >= 16)
                        w[t & 15] = rol32(w[(t - 3) & 15] ^ w[(t - 8) & 15] ^ w[(t - 14) & 15] ^ w[t & 15],
                                          1);

                if (t < 20) {
                        f = (b & c) | (~b & d);
                        k = 0x5a827999;
                } else if (t < 40) {
                        f = b ^ c ^ d;
                        k = 0x6ed9eba1;
                } else if (t < 60) {
                        f = (b & c) | (b & d) | (c & d);
                        k = 0x8f1bbcdc;
                } else {
                        f = b ^ c ^ d;
                        k = 0xca62c1d6;
                }

                tmp = rol32(a, 5) + f + e + k + w[t & 15];
                e = d;
                d = c;
                c = rol32(b, 30);
                b = a;
                a = tmp;
        }

        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
}

void sha1(const void *data, size_t size, uint8_t out[static SHA1_DIGEST_SIZE]) {
        uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
        const uint8_t *p = data;
        uint8_t tail[2 * SHA1_BLOCK_SIZE] = { 0 };
        uint64_t bits = (uint64_t) size * 8;
        size_t rest, tail_size;

        assert(data || size == 0);

        for (rest = size; rest >= SHA1_BLOCK_SIZE; rest -= SHA1_BLOCK_SIZE, p += SHA1_BLOCK_SIZE)
                sha1_block(h, p);

        /* Padding (FIPS 180-4 5.1.1): 0x80, zeros, then the bit length in the last 8 bytes; that needs a
         * second block when fewer than 9 bytes are left in the first. */
        if (rest > 0)
                memcpy(tail, p, rest);
        tail[rest] = 0x80;
        tail_size = rest + 9 <= SHA1_BLOCK_SIZE ? SHA1_BLOCK_SIZE : 2 * SHA1_BLOCK_SIZE;
        store_be32(tail + tail_size - 8, (uint32_t) (bits >> 32));
        store_be32(tail + tail_size - 4, (uint32_t) bits);

        for (size_t off = 0; off < tail_size; off += SHA1_BLOCK_SIZE)
                sha1_block(h, tail + off);

        for (unsigned i = 0; i < 5; i++)
                store_be32(out + 4 * i, h[i]);
}
