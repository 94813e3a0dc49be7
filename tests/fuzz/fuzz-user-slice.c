/* SPDX-License-Identifier: MIT */
/* The user slice name parsers (src/policy/user-slice.c) on the input as a C string: a name or object path is
 * taken exactly when it is the canonical text of the UID it yields (so "user-01.slice", signs, spaces and
 * "user-1-x.slice" never are), and never for the two invalid UIDs. Then the same bytes as a list of UIDs
 * (4 bytes each, the first the MinUID) synced into a table twice: sorted, unique, all ≥ MinUID, counted. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "user-slice.h"

static void check_name(const char *s) {
        char canonical[96];
        uint32_t uid = 12345, before = 12345;

        if (user_slice_parse(s, &uid) == 0) {
                FUZZ_CHECK(uid != UINT32_MAX && uid != 65535);
                snprintf(canonical, sizeof(canonical), "user-%" PRIu32 ".slice", uid);
                FUZZ_CHECK(strcmp(canonical, s) == 0);
        } else
                FUZZ_CHECK(uid == before);
        uid = before;
        if (user_slice_parse_object_path(s, &uid) == 0) {
                snprintf(canonical, sizeof(canonical), "/org/freedesktop/systemd1/unit/user_2d%" PRIu32 "_2eslice",
                         uid);
                FUZZ_CHECK(strcmp(canonical, s) == 0);
        } else
                FUZZ_CHECK(uid == before);
}

static void check_table(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        uint32_t min_uid = (uint32_t) fuzz_uint(&in, 4), *uids;
        size_t n = in.n / 4, below, over;
        UserTable t = { 0 };

        uids = malloc((n + 1) * sizeof(uint32_t));
        if (!uids)
                return;
        for (size_t i = 0; i < n; i++)
                uids[i] = (uint32_t) fuzz_uint(&in, 4);
        for (int round = 0; round < 2; round++) {
                int r = user_table_sync(&t, uids, n, min_uid, &below, &over);

                FUZZ_CHECK(r >= 0);
                FUZZ_CHECK(round == 0 || r == 0); /* the same list twice: no change */
                FUZZ_CHECK(t.n + below + over <= n);
                FUZZ_CHECK(over == 0 || t.n == USER_TABLE_MAX);
                for (size_t i = 0; i < t.n; i++) {
                        FUZZ_CHECK(t.users[i].uid >= min_uid);
                        FUZZ_CHECK(i == 0 || t.users[i - 1].uid < t.users[i].uid);
                        FUZZ_CHECK(user_table_get(&t, t.users[i].uid) == &t.users[i]);
                }
                for (size_t i = 0; i < n; i++)
                        FUZZ_CHECK((uids[i] >= min_uid) == (user_table_get(&t, uids[i]) != NULL) || over > 0);
        }
        user_table_done(&t);
        free(uids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size);

        if (!s)
                return 0;
        check_name(s);
        free(s);
        check_table(data, size);
        return 0;
}
