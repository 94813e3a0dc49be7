/* SPDX-License-Identifier: MIT */
/* One second of samples as a compact byte stream: per slice a bit mask of the fields that differ from a
 * base (the second before, or zeros for a key slot), then each such field as a zigzag varint of the
 * difference. Exact for every value (differences wrap). Pure. */
#pragma once

#include "buf.h"
#include "ring.h"

/* Appends the encoding of values (n slices) against base (n slices; NULL: a key slot, against zeros). */
int slot_encode(const SampleValues *base, const SampleValues *values, size_t n, Buf *out);

/* Turns values (n slices) from the base into the second that data encodes: values must hold the base
 * (zeros for a key slot; their io arrays are reused). -EBADMSG on data that is cut short, too long or
 * malformed (values are then garbage, though safe to free). */
int slot_decode(const uint8_t *data, size_t size, SampleValues *values, size_t n);
