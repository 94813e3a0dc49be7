/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <stdlib.h>

#include "sample.h"

SliceSet *slice_set_new(size_t n) {
        SliceSet *s = calloc(1, sizeof(SliceSet));

        if (!s)
                return NULL;
        s->n_ref = 1;
        s->n = s->n_groups = n;
        s->paths = calloc(n + 1, sizeof(char *));
        s->units = calloc(n + 1, sizeof(char *));
        s->user_names = calloc(n + 1, sizeof(char *));
        if (!s->paths || !s->units || !s->user_names)
                return slice_set_unref(s);
        return s;
}

SliceSet *slice_set_ref(SliceSet *s) {
        if (s)
                s->n_ref++;
        return s;
}

SliceSet *slice_set_unref(SliceSet *s) {
        if (!s || --s->n_ref > 0)
                return NULL;
        for (size_t i = 0; i < s->n; i++) {
                if (s->paths)
                        free(s->paths[i]);
                if (s->units)
                        free(s->units[i]);
                if (s->user_names)
                        free(s->user_names[i]);
        }
        free(s->paths);
        free(s->units);
        free(s->user_names);
        free(s);
        return NULL;
}

void sample_values_free_array(SampleValues *v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i].io);
        free(v);
}
