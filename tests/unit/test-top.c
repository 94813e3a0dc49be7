/* SPDX-License-Identifier: MIT */
/* `slicekeeper top`'s rows: rates from two records, the tree order by each key, the depth cut, the text
 * and JSON. Records are written as src/sample/record.c writes them. */
#include <math.h>
#include <string.h>

#include "tests.h"
#include "top.h"

/* A record of root "", "a", "a/x", "b" (cpu ns, memory, pids, blkio Read/Write, cpu/memory/io some) and
 * user 1001 "alice". */
static json_t *record(uint64_t cpu_root, uint64_t cpu_a, uint64_t cpu_ax, uint64_t cpu_b, uint64_t mem_b,
                      uint64_t io_b, uint64_t psi_cpu_a, uint64_t cpu_user) {
        char text[4096];
        json_error_t e;
        json_t *j;

        snprintf(text, sizeof(text),
                 "{\"cpu\":{\"value\":{\"usage\":%llu},\"sub_cgroup\":{\"a\":{\"value\":{\"usage\":%llu},"
                 "\"sub_cgroup\":{\"x\":{\"value\":{\"usage\":%llu}}}},\"b\":{\"value\":{\"usage\":%llu}}}},"
                 "\"blkio\":{\"value\":{},\"sub_cgroup\":{\"a\":{\"value\":{},\"sub_cgroup\":{\"x\":{\"value\":{}}}},"
                 "\"b\":{\"value\":{\"8:0\":{\"Read\":%llu,\"Write\":%llu,\"ReadOps\":1,\"WriteOps\":1}}}}},"
                 "\"memory\":{\"value\":{\"usage\":5000},\"sub_cgroup\":{\"a\":{\"value\":{\"usage\":100},"
                 "\"sub_cgroup\":{\"x\":{\"value\":{\"usage\":50}}}},\"b\":{\"value\":{\"usage\":%llu}}}},"
                 "\"pids\":{\"value\":{\"current\":9},\"sub_cgroup\":{\"a\":{\"value\":{\"current\":4},"
                 "\"sub_cgroup\":{\"x\":{\"value\":{\"current\":1}}}},\"b\":{\"value\":{\"current\":2}}}},"
                 "\"pressure\":{\"value\":{},\"sub_cgroup\":{\"a\":{\"value\":{\"cpu\":{\"some\":%llu,\"full\":0}},"
                 "\"sub_cgroup\":{\"x\":{\"value\":{}}}},\"b\":{\"value\":{}}}},"
                 "\"users\":{\"1001\":{\"name\":\"alice\",\"cpu\":{\"usage\":%llu},\"blkio\":{},"
                 "\"memory\":{\"usage\":7},\"pids\":{\"current\":3},\"pressure\":{}}}}",
                 (unsigned long long) cpu_root, (unsigned long long) cpu_a, (unsigned long long) cpu_ax,
                 (unsigned long long) cpu_b, (unsigned long long) io_b, (unsigned long long) io_b,
                 (unsigned long long) mem_b, (unsigned long long) psi_cpu_a, (unsigned long long) cpu_user);
        j = json_loads(text, 0, &e);
        if (!j)
                fprintf(stderr, "fixture: %s\n", e.text);
        ASSERT_TRUE(j != NULL);
        return j;
}

static bool near(double a, double b) {
        return fabs(a - b) < 1e-6;
}

static const TopRow *find(const TopTable *t, const char *path, bool user) {
        for (size_t i = 0; i < t->n; i++)
                if (t->rows[i].user == user && strcmp(t->rows[i].path, path) == 0)
                        return &t->rows[i];
        return NULL;
}

/* Two seconds two apart: CPU % over the interval, IO read+write per second, pressure % of the time. */
static void make_table(TopTable *t) {
        json_t *answer = json_object();

        json_object_set_new(answer, "1000", record(0, 0, 0, 0, 1, 0, 0, 0));
        json_object_set_new(answer, "1002", record(4000000000, 500000000, 100000000, 3000000000, 1024, 4096,
                                                    200000, 1000000000));
        json_object_set_new(answer, "1001", record(1000, 1000, 0, 1000, 1, 0, 0, 0));
        json_object_set_new(answer, "garbage", json_string("x"));
        ASSERT_EQ_INT(top_table_from_account(answer, t), 0);
        json_decref(answer);
}

TEST(test_rates) {
        TopTable t;
        const TopRow *r;

        make_table(&t);
        ASSERT_EQ_U64(t.unix_sec, 1002);
        ASSERT_TRUE(near(t.interval_sec, 1)); /* the latest two seconds the answer holds */
        ASSERT_EQ_U64(t.n, 5);
        ASSERT_EQ_U64(t.n_groups, 4);
        r = find(&t, "", false);
        ASSERT_TRUE(r && r->depth == 0 && r->parent == SIZE_MAX);
        ASSERT_TRUE(near(r->cpu_pct, (4000000000.0 - 1000) / 1e9 * 100));
        r = find(&t, "b", false);
        ASSERT_TRUE(r && r->depth == 1);
        ASSERT_TRUE(near(r->cpu_pct, (3000000000.0 - 1000) / 1e9 * 100));
        ASSERT_EQ_U64(r->memory_bytes, 1024);
        ASSERT_TRUE(near(r->io_bytes_per_sec, 2 * 4096));
        ASSERT_EQ_U64(r->tasks, 2);
        ASSERT_TRUE(!(r->have & TOP_HAVE_PSI_CPU));
        r = find(&t, "a", false);
        ASSERT_TRUE(r && (r->have & TOP_HAVE_PSI_CPU) && near(r->pressure_pct[TOP_PRESSURE_CPU], 20));
        r = find(&t, "a/x", false);
        ASSERT_TRUE(r && r->depth == 2 && strcmp(t.rows[r->parent].path, "a") == 0);
        ASSERT_TRUE(near(r->cpu_pct, 10));
        r = find(&t, "1001", true);
        ASSERT_TRUE(r && r->user_name && strcmp(r->user_name, "alice") == 0);
        ASSERT_TRUE(near(r->cpu_pct, 100));
        ASSERT_EQ_U64(r->tasks, 3);
        top_table_done(&t);
}

/* One second: no rates, but memory and tasks. A counter gone back (a recreated group) has no rate. */
TEST(test_one_second_and_counters_back) {
        json_t *answer = json_object(), *a = record(10, 10, 10, 10, 1, 10, 10, 10), *b = record(5, 20, 20, 20, 1, 20, 20, 20);
        TopTable t;

        json_object_set(answer, "7", a);
        ASSERT_EQ_INT(top_table_from_account(answer, &t), 0);
        ASSERT_TRUE(near(t.interval_sec, 0));
        ASSERT_TRUE(!(t.rows[0].have & (TOP_HAVE_CPU | TOP_HAVE_IO)) && (t.rows[0].have & TOP_HAVE_MEMORY));
        top_table_done(&t);
        ASSERT_EQ_INT(top_table_from_records(a, b, 8, 1, &t), 0);
        ASSERT_TRUE(!(find(&t, "", false)->have & TOP_HAVE_CPU));
        ASSERT_TRUE(find(&t, "a", false)->have & TOP_HAVE_CPU);
        top_table_done(&t);
        json_decref(answer);
        json_decref(a);
        json_decref(b);
        ASSERT_EQ_INT(top_table_from_account(NULL, &t), -EINVAL);
        answer = json_pack("{s:i}", "5", 1);
        ASSERT_EQ_INT(top_table_from_account(answer, &t), -EINVAL);
        json_decref(answer);
}

static void assert_order(const TopTable *t, const char *const *paths, size_t n) {
        ASSERT_EQ_U64(t->n, n);
        for (size_t i = 0; i < n; i++)
                ASSERT_STREQ(t->rows[i].path, paths[i]);
}

/* A tree: each group's children by the key, largest first; a parent before its children; users last. */
TEST(test_sort_and_depth) {
        static const char *const by_cpu[] = { "", "b", "a", "a/x", "1001" };
        static const char *const by_tasks[] = { "", "a", "a/x", "b", "1001" };
        static const char *const cut[] = { "", "a", "b", "1001" };
        TopTable t;

        make_table(&t);
        top_table_sort(&t, TOP_SORT_CPU);
        assert_order(&t, by_cpu, 5);
        ASSERT_STREQ(t.rows[t.rows[3].parent].path, "a");
        top_table_sort(&t, TOP_SORT_MEMORY); /* b has 1024 bytes, a 100 */
        {
                static const char *const by_mem[] = { "", "b", "a", "a/x", "1001" };
                assert_order(&t, by_mem, 5);
        }
        top_table_sort(&t, TOP_SORT_TASKS); /* a has 4 tasks, b 2 */
        assert_order(&t, by_tasks, 5);
        top_table_sort(&t, TOP_SORT_IO); /* b has IO, a none */
        assert_order(&t, by_cpu, 5);
        top_table_sort(&t, TOP_SORT_TASKS);
        top_table_cut_depth(&t, 1);
        assert_order(&t, cut, 4);
        ASSERT_EQ_U64(t.n_groups, 3);
        ASSERT_TRUE(t.rows[1].parent == 0 && t.rows[2].parent == 0);
        top_table_cut_depth(&t, 0);
        ASSERT_EQ_U64(t.n_groups, 1);
        ASSERT_EQ_U64(t.n, 2);
        top_table_done(&t);
}

TEST(test_sort_keys) {
        TopSort s;

        ASSERT_EQ_INT(top_sort_from_string("io", &s), 0);
        ASSERT_EQ_INT(s, TOP_SORT_IO);
        ASSERT_EQ_INT(top_sort_from_string("disk", &s), -EINVAL);
        ASSERT_EQ_INT(top_sort_from_key('t', &s), 0);
        ASSERT_EQ_INT(s, TOP_SORT_TASKS);
        ASSERT_EQ_INT(top_sort_from_key('q', &s), -EINVAL);
        ASSERT_STREQ(top_sort_to_string(TOP_SORT_MEMORY), "memory");
}

TEST(test_format) {
        char buf[256], b[32];
        TopTable t;

        top_format_bytes(17, b, sizeof(b));
        ASSERT_STREQ(b, "17B");
        top_format_bytes(1536, b, sizeof(b));
        ASSERT_STREQ(b, "1.5K");
        top_format_bytes(3.0 * 1024 * 1024 * 1024, b, sizeof(b));
        ASSERT_STREQ(b, "3.0G");

        make_table(&t);
        top_table_sort(&t, TOP_SORT_CPU);
        top_format_header(80, TOP_SORT_CPU, buf, sizeof(buf));
        ASSERT_EQ_U64(strlen(buf), 80);
        ASSERT_TRUE(strncmp(buf, "Group (c)", 9) == 0);
        ASSERT_CONTAINS(buf, "%CPU");
        top_format_row(&t.rows[1], 80, buf, sizeof(buf));
        ASSERT_EQ_U64(strlen(buf), 80);
        ASSERT_TRUE(strncmp(buf, "  b ", 4) == 0);
        ASSERT_CONTAINS(buf, " 300.0 ");
        ASSERT_CONTAINS(buf, "1.0K");
        ASSERT_CONTAINS(buf, "8.0K");
        top_format_row(&t.rows[3], 80, buf, sizeof(buf));
        ASSERT_TRUE(strncmp(buf, "    a/x ", 8) == 0);
        top_format_row(&t.rows[4], 80, buf, sizeof(buf));
        ASSERT_TRUE(strncmp(buf, "user alice (1001) ", 18) == 0);
        top_format_row(&t.rows[0], 20, buf, sizeof(buf)); /* narrower than the minimum: the minimum */
        ASSERT_EQ_U64(strlen(buf), TOP_COLUMNS_MIN);
        free(t.rows[1].path);
        t.rows[1].path = strdup("a-very-long-group-name-that-does-not-fit-the-name-column");
        top_format_row(&t.rows[1], TOP_COLUMNS_MIN, buf, sizeof(buf));
        ASSERT_EQ_U64(strlen(buf), TOP_COLUMNS_MIN);
        ASSERT_CONTAINS(buf, "... ");
        top_table_done(&t);
}

TEST(test_json) {
        TopTable t;
        json_t *j, *g;

        make_table(&t);
        top_table_sort(&t, TOP_SORT_CPU);
        j = top_table_json(&t, TOP_SORT_CPU);
        ASSERT_TRUE(j != NULL);
        ASSERT_EQ_U64(json_integer_value(json_object_get(j, "time")), 1002);
        ASSERT_STREQ(json_string_value(json_object_get(j, "sort")), "cpu");
        g = json_array_get(json_object_get(j, "groups"), 1);
        ASSERT_STREQ(json_string_value(json_object_get(g, "path")), "b");
        ASSERT_TRUE(near(json_real_value(json_object_get(g, "cpu_pct")), (3000000000.0 - 1000) / 1e7));
        ASSERT_TRUE(json_is_null(json_object_get(json_object_get(g, "pressure"), "cpu")));
        ASSERT_EQ_U64(json_array_size(json_object_get(j, "groups")), 4);
        g = json_array_get(json_object_get(j, "users"), 0);
        ASSERT_EQ_U64(json_integer_value(json_object_get(g, "uid")), 1001);
        ASSERT_STREQ(json_string_value(json_object_get(g, "name")), "alice");
        json_decref(j);
        top_table_done(&t);
}

int main(void) {
        RUN(test_rates);
        RUN(test_one_second_and_counters_back);
        RUN(test_sort_and_depth);
        RUN(test_sort_keys);
        RUN(test_format);
        RUN(test_json);
        return 0;
}
