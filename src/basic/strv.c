/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

bool strv_contains(char *const *l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

int strv_extend(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char *copy = strdup(s);
        char **nl;

        assert(l);
        assert(s);

        if (!copy)
                return -ENOMEM;
        nl = realloc(*l, sizeof(char *) * (n + 2));
        if (!nl) {
                free(copy);
                return -ENOMEM;
        }
        nl[n] = copy;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_split_whitespace(const char *s, char ***ret) {
        _cleanup_(strv_freep) char **l = calloc(1, sizeof(char *));

        assert(ret);

        if (!l)
                return -ENOMEM;
        while (s && *s) {
                size_t skip = strspn(s, " \t\n"), n;
                char word[4096];

                s += skip;
                n = strcspn(s, " \t\n");
                if (n == 0)
                        break;
                if (n >= sizeof(word))
                        return -E2BIG;
                memcpy(word, s, n);
                word[n] = 0;
                if (strv_extend(&l, word) < 0)
                        return -ENOMEM;
                s += n;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
