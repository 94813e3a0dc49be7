/* SPDX-License-Identifier: MIT */
/* SHA-1 (FIPS 180-4), one-shot. Only for the websocket handshake, whose accept key RFC 6455 defines
 * with SHA-1; never use it where collision resistance matters. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_SIZE 20

void sha1(const void *data, size_t size, uint8_t out[static SHA1_DIGEST_SIZE]);
