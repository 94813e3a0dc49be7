/* SPDX-License-Identifier: MIT */
/* show_account's answer {"<sec>": record, ...}, made a few seconds at a time so that a big one never holds
 * the loop or the memory of the whole: the caller asks for the next part when the client has taken the
 * last. Pure. */
#pragma once

#include <stdint.h>

#include "buf.h"
#include "ring.h"

typedef struct AccountStream AccountStream;

/* start..end, both included (end may be UINT64_MAX). */
int account_stream_new(uint64_t start, uint64_t end, AccountStream **ret);
/* Writes only the controllers in mask (RECORD_*, record.h); all unless set. */
void account_stream_set_controllers(AccountStream *s, unsigned mask);
AccountStream *account_stream_free(AccountStream *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(AccountStream *, account_stream_free)

/* Appends the next part to out: at least one second, and whole seconds until want bytes were added.
 * Returns 1 while more follows, 0 once the answer is complete (the closing brace written), or a negative
 * errno. The ring may change between calls: a second is read when its turn comes, and left out when the
 * ring no longer (or not yet) holds it. */
int account_stream_next(AccountStream *s, const Ring *ring, Buf *out, size_t want);

/* The whole answer at once (tests, small answers): a new NUL-terminated string. */
int account_stream_all(const Ring *ring, uint64_t start, uint64_t end, char **ret);
