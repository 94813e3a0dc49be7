/* SPDX-License-Identifier: MIT */
/* `slicekeeper top`'s reading of an account answer (top_table_from_account, src/top/top.c), then every sort,
 * a depth cut, the text and the JSON: whatever the answer holds, rows stay a tree (a parent before its
 * children, one level up), lines keep their width, and nothing leaks. */
#include <string.h>

#include "fuzz.h"
#include "top.h"

static void check_tree(const TopTable *t) {
        FUZZ_CHECK(t->n_groups <= t->n);
        for (size_t i = 0; i < t->n; i++) {
                const TopRow *r = &t->rows[i];

                FUZZ_CHECK(r->path && r->user == (i >= t->n_groups));
                if (r->user || r->parent == SIZE_MAX)
                        continue;
                FUZZ_CHECK(r->parent < i && t->rows[r->parent].depth + 1 == r->depth);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *answer = json_loadb((const char *) data, size, 0, NULL);
        unsigned columns = size > 0 ? TOP_COLUMNS_MIN + data[0] % 64 : TOP_COLUMNS_MIN;
        char line[TOP_COLUMNS_MIN + 64 + 1];
        TopTable t;
        json_t *j;

        if (!answer)
                return 0;
        if (top_table_from_account(answer, &t) == 0) {
                check_tree(&t);
                for (TopSort k = 0; k < _TOP_SORT_MAX; k++) {
                        top_table_sort(&t, k);
                        check_tree(&t);
                }
                top_format_header(columns, TOP_SORT_CPU, line, sizeof(line));
                FUZZ_CHECK(strlen(line) == columns);
                for (size_t i = 0; i < t.n; i++) {
                        top_format_row(&t.rows[i], columns, line, sizeof(line));
                        FUZZ_CHECK(strlen(line) >= columns);
                }
                (void) top_table_columns(&t);
                top_table_cut_depth(&t, size > 1 ? data[1] % 4 : 1);
                check_tree(&t);
                j = top_table_json(&t, TOP_SORT_IO);
                FUZZ_CHECK(j != NULL);
                json_decref(j);
                top_table_done(&t);
        }
        json_decref(answer);
        return 0;
}
