/* SPDX-License-Identifier: MIT */
/* users.d override files (user_overrides_parse, src/policy/user-overrides.c) with any contents. A refusal
 * names the file and leaves the set as it was (all or nothing); an accepted file adds only well-formed
 * sections, and every one of them resolves for the user or group it names. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "user-overrides.h"

#define PATH "/etc/slicekeeper/users.d/fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char first[] = "[@wheel]\nExempt=yes\n";
        char error[1024];
        UserOverrides o = { 0 };
        UserOverride *before;
        int r;

        FUZZ_CHECK(user_overrides_parse(&o, PATH, first, sizeof(first) - 1, error, sizeof(error)) == 0);
        FUZZ_CHECK(o.n == 1);
        before = o.entries;
        memset(error, 'x', sizeof(error));
        r = user_overrides_parse(&o, PATH, (const char *) data, size, error, sizeof(error));
        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL || r == -EFBIG || r == -E2BIG);
                FUZZ_CHECK(strnlen(error, sizeof(error)) < sizeof(error));
                FUZZ_CHECK(strncmp(error, PATH ":", strlen(PATH) + 1) == 0);
                FUZZ_CHECK(o.n == 1 && o.entries == before);
        }
        for (size_t i = 1; i < o.n; i++) {
                const UserOverride *e = &o.entries[i];
                char *groups[] = { e->name, NULL };
                UserOverrideResult res;
                char d[600];

                FUZZ_CHECK((e->kind == USER_OVERRIDE_UID) == (e->name == NULL));
                FUZZ_CHECK(!e->name || (strlen(e->name) > 0 && strlen(e->name) <= USER_OVERRIDES_NAME_MAX));
                FUZZ_CHECK(!e->has_cpu || (e->cpu_cores > 0 && e->cpu_cores <= USER_OVERRIDES_CPU_MAX_PCT / 100));
                FUZZ_CHECK(!e->has_memory || (e->memory.bytes > 0) != (e->memory.percent_of_ram > 0));
                FUZZ_CHECK(e->line >= 1 && strcmp(e->file, PATH) == 0);
                user_overrides_resolve(&o, e->uid, e->kind == USER_OVERRIDE_NAME ? e->name : NULL,
                                       e->kind == USER_OVERRIDE_GROUP ? groups : NULL, &res);
                /* whatever it sets, something at least as specific decides */
                FUZZ_CHECK(!e->has_cpu || (res.cpu && res.cpu->kind >= e->kind));
                FUZZ_CHECK(!e->has_memory || (res.memory && res.memory->kind >= e->kind));
                FUZZ_CHECK(!e->has_exempt || (res.exempt && res.exempt->kind >= e->kind));
                FUZZ_CHECK(user_override_describe(e, d, sizeof(d)) == 0);
        }
        user_overrides_done(&o);
        return 0;
}
