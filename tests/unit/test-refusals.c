/* SPDX-License-Identifier: MIT */
/* The refusal records: one log line per distinct cause, bounds per group and in all with the rest
 * counted, and records of files no longer seen dropped at the end of a pass. */
#include <stdio.h>

#include "macro.h"
#include "refusals.h"
#include "tests.h"

static char *name(const char *prefix, size_t i) {
        static char buf[64];

        snprintf(buf, sizeof(buf), "%s%zu.pid", prefix, i);
        return buf;
}

TEST(test_each_cause_is_new_once) {
        RefusalList l = REFUSAL_LIST_INIT;
        size_t total = 0;

        refusal_list_pass_begin(&l, &total);
        ASSERT_EQ_INT(refusal_list_note(&l, &total, "/a.pid", "is empty", 10), REFUSAL_NEW);
        ASSERT_EQ_INT(refusal_list_pass_end(&l, &total), 0);
        for (int pass = 0; pass < 3; pass++) {
                refusal_list_pass_begin(&l, &total);
                ASSERT_EQ_INT(refusal_list_note(&l, &total, "/a.pid", "is empty", 20), REFUSAL_KNOWN);
                ASSERT_EQ_INT(refusal_list_pass_end(&l, &total), 0);
        }
        ASSERT_EQ_INT(l.n, 1);
        ASSERT_EQ_U64(l.items[0].usec, 10);
        /* Another cause for the same file is new again, and replaces the old one. */
        refusal_list_pass_begin(&l, &total);
        ASSERT_EQ_INT(refusal_list_note(&l, &total, "/a.pid", "names pid 9, a zombie", 30), REFUSAL_NEW);
        refusal_list_pass_end(&l, &total);
        ASSERT_EQ_INT(l.n, 1);
        ASSERT_STREQ(l.items[0].reason, "names pid 9, a zombie");
        ASSERT_STREQ(l.items[l.last].file, "/a.pid");
        ASSERT_EQ_INT(total, 1);
        refusal_list_done(&l, &total);
        ASSERT_EQ_INT(total, 0);
        ASSERT_EQ_INT(l.n, 0);
}

TEST(test_accepted_file_is_forgotten) {
        RefusalList l = REFUSAL_LIST_INIT;
        size_t total = 0;

        refusal_list_pass_begin(&l, &total);
        refusal_list_note(&l, &total, "/a.pid", "is empty", 1);
        refusal_list_note(&l, &total, "/b.pid", "is empty", 1);
        ASSERT_EQ_INT(l.last, 1);
        ASSERT_TRUE(refusal_list_accept(&l, &total, "/b.pid"));
        ASSERT_TRUE(!refusal_list_accept(&l, &total, "/b.pid")); /* nothing to say the second time */
        ASSERT_TRUE(!refusal_list_accept(&l, &total, "/never.pid"));
        ASSERT_EQ_INT(l.last, -1);
        ASSERT_EQ_INT(l.n, 1);
        ASSERT_EQ_INT(total, 1);
        refusal_list_pass_end(&l, &total);
        /* Refused again later: logged again. */
        refusal_list_pass_begin(&l, &total);
        refusal_list_note(&l, &total, "/a.pid", "is empty", 1);
        ASSERT_EQ_INT(refusal_list_note(&l, &total, "/b.pid", "is empty", 2), REFUSAL_NEW);
        refusal_list_pass_end(&l, &total);
        refusal_list_done(&l, &total);
}

TEST(test_files_not_seen_in_a_pass_are_dropped) {
        RefusalList l = REFUSAL_LIST_INIT;
        size_t total = 0;

        refusal_list_pass_begin(&l, &total);
        for (size_t i = 0; i < 10; i++)
                refusal_list_note(&l, &total, name("/old", i), "is empty", 1);
        refusal_list_pass_end(&l, &total);
        ASSERT_EQ_INT(l.n, 10);
        /* Renamed: the old names are gone, the new ones are recorded (and logged) once, in the same pass. */
        refusal_list_pass_begin(&l, &total);
        for (size_t i = 0; i < 10; i++)
                ASSERT_EQ_INT(refusal_list_note(&l, &total, name("/new", i), "is empty", 2), REFUSAL_NEW);
        ASSERT_EQ_INT(l.n, 10);
        refusal_list_pass_end(&l, &total);
        ASSERT_EQ_INT(l.n, 10);
        ASSERT_EQ_INT(total, 10);
        for (size_t i = 0; i < l.n; i++)
                ASSERT_CONTAINS(l.items[i].file, "/new");
        ASSERT_TRUE(l.last >= 0 && (size_t) l.last < l.n);
        ASSERT_CONTAINS(l.items[l.last].file, "/new9");
        /* All gone. */
        refusal_list_pass_begin(&l, &total);
        refusal_list_pass_end(&l, &total);
        ASSERT_EQ_INT(l.n, 0);
        ASSERT_EQ_INT(l.last, -1);
        ASSERT_EQ_INT(total, 0);
        refusal_list_done(&l, &total);
}

TEST(test_per_group_bound_counts_the_rest_and_says_so_once) {
        RefusalList l = REFUSAL_LIST_INIT;
        size_t total = 0, news = 0;

        for (int round = 0; round < 3; round++) {
                char prefix[16];

                snprintf(prefix, sizeof(prefix), "/r%d-", round); /* 10 000 files renamed three times */
                refusal_list_pass_begin(&l, &total);
                for (size_t i = 0; i < 10000; i++)
                        news += refusal_list_note(&l, &total, name(prefix, i), "is empty", 1) == REFUSAL_NEW;
                ASSERT_EQ_INT(refusal_list_pass_end(&l, &total), round == 0 ? 1 : 0);
                ASSERT_EQ_INT(l.n, REFUSALS_GROUP_MAX);
                ASSERT_EQ_INT(l.last_unlisted, 10000 - REFUSALS_GROUP_MAX);
                ASSERT_EQ_INT(total, REFUSALS_GROUP_MAX);
        }
        ASSERT_EQ_INT(news, 3 * REFUSALS_GROUP_MAX); /* log lines: bounded per pass, not per file */
        /* Back under the bound: said once more. */
        refusal_list_pass_begin(&l, &total);
        refusal_list_note(&l, &total, "/only.pid", "is empty", 1);
        ASSERT_EQ_INT(refusal_list_pass_end(&l, &total), -1);
        ASSERT_EQ_INT(l.n, 1);
        ASSERT_EQ_INT(l.last_unlisted, 0);
        refusal_list_done(&l, &total);
}

TEST(test_global_bound_over_groups) {
        RefusalList groups[REFUSALS_TOTAL_MAX / REFUSALS_GROUP_MAX + 4];
        size_t total = 0, kept = 0, unlisted = 0;

        for (size_t g = 0; g < ELEMENTSOF(groups); g++) {
                groups[g] = REFUSAL_LIST_INIT;
                refusal_list_pass_begin(&groups[g], &total);
                for (size_t i = 0; i < REFUSALS_GROUP_MAX; i++)
                        refusal_list_note(&groups[g], &total, name("/g", i), "is empty", 1);
                refusal_list_pass_end(&groups[g], &total);
                kept += groups[g].n;
                unlisted += groups[g].last_unlisted;
        }
        ASSERT_EQ_INT(total, REFUSALS_TOTAL_MAX);
        ASSERT_EQ_INT(kept, REFUSALS_TOTAL_MAX);
        ASSERT_EQ_INT(unlisted, 4 * REFUSALS_GROUP_MAX);
        /* A known record is still known at the global bound. */
        refusal_list_pass_begin(&groups[0], &total);
        ASSERT_EQ_INT(refusal_list_note(&groups[0], &total, name("/g", 0), "is empty", 1), REFUSAL_KNOWN);
        refusal_list_pass_end(&groups[0], &total);
        ASSERT_EQ_INT(groups[0].n, 1);
        /* At the global bound, a group's renamed files take the places of its old names. */
        refusal_list_pass_begin(&groups[1], &total);
        for (size_t i = 0; i < REFUSALS_GROUP_MAX; i++)
                ASSERT_EQ_INT(refusal_list_note(&groups[1], &total, name("/renamed", i), "is empty", 2), REFUSAL_NEW);
        ASSERT_EQ_INT(refusal_list_pass_end(&groups[1], &total), 0);
        ASSERT_EQ_INT(groups[1].n, REFUSALS_GROUP_MAX);
        ASSERT_EQ_INT(total, REFUSALS_TOTAL_MAX - REFUSALS_GROUP_MAX + 1);
        /* Room again: the next group's refusals are kept. */
        refusal_list_pass_begin(&groups[ELEMENTSOF(groups) - 1], &total);
        ASSERT_EQ_INT(refusal_list_note(&groups[ELEMENTSOF(groups) - 1], &total, "/late.pid", "is empty", 1),
                      REFUSAL_NEW);
        refusal_list_pass_end(&groups[ELEMENTSOF(groups) - 1], &total);
        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                refusal_list_done(&groups[g], &total);
        ASSERT_EQ_INT(total, 0);
}

int main(void) {
        RUN(test_each_cause_is_new_once);
        RUN(test_accepted_file_is_forgotten);
        RUN(test_files_not_seen_in_a_pass_are_dropped);
        RUN(test_per_group_bound_counts_the_rest_and_says_so_once);
        RUN(test_global_bound_over_groups);
        return 0;
}
