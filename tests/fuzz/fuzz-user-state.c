/* SPDX-License-Identifier: MIT */
/* The penalty/limit state file (user_state_parse, src/policy/user-state.c) with any contents, loaded at
 * 2025-12-01 00:00 UTC so the seeds hold both live and ended entries. A refusal says why and leaves the
 * caller's state untouched; an accepted file holds sorted, unique, live entries, and what it formats to
 * parses back to the same text. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "macro.h"
#include "user-state.h"

#define NOW ((usec_t) 1764547200 * USEC_PER_SEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        UserState s = { .n = 7 }, again = { 0 };
        char error[512], *text = NULL, *text2 = NULL;
        size_t expired = 0;
        int r;

        memset(error, 'x', sizeof(error));
        r = user_state_parse((const char *) data, size, NOW, &s, &expired, error, sizeof(error));
        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG || r == -ENOMEM);
                FUZZ_CHECK(s.n == 7 && s.entries == NULL);
                FUZZ_CHECK(r == -ENOMEM || (strnlen(error, sizeof(error)) > 0 &&
                                            strnlen(error, sizeof(error)) < sizeof(error)));
                return 0;
        }
        for (size_t i = 0; i < s.n; i++) {
                const UserStateEntry *e = &s.entries[i];

                FUZZ_CHECK(i == 0 || s.entries[i - 1].uid < e->uid);
                FUZZ_CHECK(e->penalty.set || e->limit.set);
                FUZZ_CHECK(!e->penalty.set || e->penalty.until_usec > NOW);
                FUZZ_CHECK(!e->limit.set || e->limit.until_usec > NOW);
                FUZZ_CHECK(user_state_find(&s, e->uid) == e);
        }
        FUZZ_CHECK(user_state_format(&s, &text) == 0);
        FUZZ_CHECK(user_state_parse(text, strlen(text), NOW, &again, &expired, error, sizeof(error)) == 0);
        FUZZ_CHECK(expired == 0 && again.n == s.n);
        FUZZ_CHECK(user_state_format(&again, &text2) == 0);
        /* a second pass changes nothing (cpu is kept to 10 digits, so the first may round) */
        {
                UserState third = { 0 };
                char *text3 = NULL;

                FUZZ_CHECK(user_state_parse(text2, strlen(text2), NOW, &third, NULL, error, sizeof(error)) == 0);
                FUZZ_CHECK(user_state_format(&third, &text3) == 0);
                FUZZ_CHECK(strcmp(text2, text3) == 0);
                free(text3);
                user_state_done(&third);
        }
        free(text);
        free(text2);
        user_state_done(&again);
        user_state_done(&s);
        return 0;
}
