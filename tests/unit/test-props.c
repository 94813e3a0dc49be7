/* SPDX-License-Identifier: MIT */
#include <stdint.h>

#include "macro.h"
#include "props.h"
#include "tests.h"

TEST(test_share_to_cpu_weight) {
        ASSERT_EQ_U64(prop_share_to_cpu_weight(2), 1); /* rounds to 0, clamped up to 1 */
        ASSERT_EQ_U64(prop_share_to_cpu_weight(100), 10);
        ASSERT_EQ_U64(prop_share_to_cpu_weight(200), 20);
        ASSERT_EQ_U64(prop_share_to_cpu_weight(1024), 100);
        ASSERT_EQ_U64(prop_share_to_cpu_weight(2048), 200);
}

TEST(test_share_to_cpu_weight_rounds_to_nearest) {
        /* 15 * 100 / 1024 = 1.46 → 1; 16 * 100 / 1024 = 1.56 → 2 */
        ASSERT_EQ_U64(prop_share_to_cpu_weight(15), 1);
        ASSERT_EQ_U64(prop_share_to_cpu_weight(16), 2);
        ASSERT_EQ_U64(prop_share_to_cpu_weight(1536), 150);
}

TEST(test_share_to_cpu_weight_clamp) {
        ASSERT_EQ_U64(prop_share_to_cpu_weight(262144), 10000);
        ASSERT_EQ_U64(prop_share_to_cpu_weight(102400), 10000);
        ASSERT_EQ_U64(prop_share_to_cpu_weight(0), 1);
}

TEST(test_blkio_weight_to_io_weight) {
        ASSERT_EQ_U64(prop_blkio_weight_to_io_weight(10), 2);
        ASSERT_EQ_U64(prop_blkio_weight_to_io_weight(100), 20);
        ASSERT_EQ_U64(prop_blkio_weight_to_io_weight(500), 100);
        ASSERT_EQ_U64(prop_blkio_weight_to_io_weight(1000), 200);
        ASSERT_EQ_U64(prop_blkio_weight_to_io_weight(12), 2);  /* 2.4 → 2 */
        ASSERT_EQ_U64(prop_blkio_weight_to_io_weight(13), 3);  /* 2.6 → 3 */
}

TEST(test_table_is_indexed_by_prop) {
        for (TreeProp p = 0; p < _TREE_PROP_MAX; p++) {
                ASSERT_TRUE(prop_info(p) == &prop_table[p]);
                ASSERT_EQ_INT(prop_info(p)->prop, p);
                ASSERT_TRUE(prop_info(p)->native_key != NULL);
                ASSERT_TRUE(prop_info(p)->dbus_name != NULL);
                ASSERT_TRUE(prop_info(p)->from_native != NULL);
                ASSERT_TRUE(prop_info(p)->from_controller != NULL);
        }
        ASSERT_TRUE(prop_info(_TREE_PROP_MAX) == NULL);
        ASSERT_TRUE(prop_info((TreeProp) -1) == NULL);
}

TEST(test_by_native_key) {
        static const struct {
                const char *key;
                TreeProp prop;
        } table[] = {
                { "cpu_weight", TREE_PROP_CPU_WEIGHT },   { "cpu_quota", TREE_PROP_CPU_QUOTA },
                { "memory_max", TREE_PROP_MEMORY_MAX },   { "memory_high", TREE_PROP_MEMORY_HIGH },
                { "memory_low", TREE_PROP_MEMORY_LOW },   { "io_weight", TREE_PROP_IO_WEIGHT },
                { "tasks_max", TREE_PROP_TASKS_MAX },     { "allowed_cpus", TREE_PROP_ALLOWED_CPUS },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                const PropInfo *info = prop_by_native_key(table[i].key);

                ASSERT_TRUE(info != NULL);
                ASSERT_EQ_INT(info->prop, table[i].prop);
        }
        ASSERT_TRUE(prop_by_native_key("share") == NULL);
        ASSERT_TRUE(prop_by_native_key("children") == NULL);
        ASSERT_TRUE(prop_by_native_key("CPU_WEIGHT") == NULL);
        ASSERT_TRUE(prop_by_native_key("") == NULL);
}

TEST(test_by_controller_key) {
        static const struct {
                const char *controller, *key;
                TreeProp prop;
        } table[] = {
                { "cpu", "share", TREE_PROP_CPU_WEIGHT },      { "cpu", "quota", TREE_PROP_CPU_QUOTA },
                { "memory", "max", TREE_PROP_MEMORY_MAX },     { "memory", "high", TREE_PROP_MEMORY_HIGH },
                { "memory", "low", TREE_PROP_MEMORY_LOW },     { "blkio", "weight", TREE_PROP_IO_WEIGHT },
                { "pids", "max", TREE_PROP_TASKS_MAX },        { "cpuset", "cpus", TREE_PROP_ALLOWED_CPUS },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                const PropInfo *info = prop_by_controller_key(table[i].controller, table[i].key);

                ASSERT_TRUE(info != NULL);
                ASSERT_EQ_INT(info->prop, table[i].prop);
        }
        /* A key belongs to one controller only. */
        ASSERT_TRUE(prop_by_controller_key("cpu", "max") == NULL);
        ASSERT_TRUE(prop_by_controller_key("blkio", "share") == NULL);
        ASSERT_TRUE(prop_by_controller_key("cpu", "shares") == NULL);
        ASSERT_TRUE(prop_by_controller_key("cpuacct", "share") == NULL);
}

TEST(test_by_dbus_name) {
        static const struct {
                const char *name;
                TreeProp prop;
        } table[] = {
                { "CPUWeight", TREE_PROP_CPU_WEIGHT },   { "CPUQuotaPerSecUSec", TREE_PROP_CPU_QUOTA },
                { "MemoryMax", TREE_PROP_MEMORY_MAX },   { "MemoryHigh", TREE_PROP_MEMORY_HIGH },
                { "MemoryLow", TREE_PROP_MEMORY_LOW },   { "IOWeight", TREE_PROP_IO_WEIGHT },
                { "TasksMax", TREE_PROP_TASKS_MAX },     { "AllowedCPUs", TREE_PROP_ALLOWED_CPUS },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                const PropInfo *info = prop_by_dbus_name(table[i].name);

                ASSERT_TRUE(info != NULL);
                ASSERT_EQ_INT(info->prop, table[i].prop);
        }
        ASSERT_TRUE(prop_by_dbus_name("CPUShares") == NULL);
        ASSERT_TRUE(prop_by_dbus_name("cpuweight") == NULL);
}

TEST(test_kinds) {
        for (TreeProp p = 0; p < _TREE_PROP_MAX; p++)
                ASSERT_EQ_INT(prop_info(p)->kind, p == TREE_PROP_ALLOWED_CPUS ? PROP_KIND_CPUS : PROP_KIND_U64);
}

TEST(test_defaults) {
        ASSERT_EQ_U64(prop_info(TREE_PROP_CPU_WEIGHT)->default_value, UINT64_MAX);
        ASSERT_EQ_U64(prop_info(TREE_PROP_CPU_QUOTA)->default_value, UINT64_MAX);
        ASSERT_EQ_U64(prop_info(TREE_PROP_MEMORY_MAX)->default_value, UINT64_MAX);
        ASSERT_EQ_U64(prop_info(TREE_PROP_MEMORY_HIGH)->default_value, UINT64_MAX);
        ASSERT_EQ_U64(prop_info(TREE_PROP_MEMORY_LOW)->default_value, 0);
        ASSERT_EQ_U64(prop_info(TREE_PROP_IO_WEIGHT)->default_value, UINT64_MAX);
        ASSERT_EQ_U64(prop_info(TREE_PROP_TASKS_MAX)->default_value, UINT64_MAX);
        ASSERT_EQ_U64(prop_info(TREE_PROP_ALLOWED_CPUS)->default_value, 0);
}

TEST(test_is_controller) {
        size_t n = 0;

        ASSERT_TRUE(prop_is_controller("cpu"));
        ASSERT_TRUE(prop_is_controller("blkio"));
        ASSERT_TRUE(prop_is_controller("memory"));
        ASSERT_TRUE(prop_is_controller("pids"));
        ASSERT_TRUE(prop_is_controller("cpuset"));
        ASSERT_TRUE(!prop_is_controller("slices"));
        ASSERT_TRUE(!prop_is_controller("cpuacct"));
        ASSERT_TRUE(!prop_is_controller("io"));
        ASSERT_TRUE(!prop_is_controller(""));
        while (prop_controllers[n])
                n++;
        ASSERT_EQ_INT(n, 5);
}

TEST(test_value_to_string_numbers) {
        _cleanup_(freep) char *w = prop_value_to_string(TREE_PROP_CPU_WEIGHT, 100, NULL, 0);
        _cleanup_(freep) char *m = prop_value_to_string(TREE_PROP_MEMORY_MAX, 536870912, NULL, 0);
        _cleanup_(freep) char *low = prop_value_to_string(TREE_PROP_MEMORY_LOW, 0, NULL, 0);
        _cleanup_(freep) char *t = prop_value_to_string(TREE_PROP_TASKS_MAX, 64, NULL, 0);

        ASSERT_STREQ(w, "100");
        ASSERT_STREQ(m, "536870912");
        ASSERT_STREQ(low, "0");
        ASSERT_STREQ(t, "64");
}

TEST(test_value_to_string_quota) {
        _cleanup_(freep) char *q = prop_value_to_string(TREE_PROP_CPU_QUOTA, 1500000, NULL, 0);
        _cleanup_(freep) char *one = prop_value_to_string(TREE_PROP_CPU_QUOTA, 10000, NULL, 0);

        ASSERT_STREQ(q, "150%");
        ASSERT_STREQ(one, "1%");
}

TEST(test_value_to_string_unlimited) {
        _cleanup_(freep) char *m = prop_value_to_string(TREE_PROP_MEMORY_MAX, UINT64_MAX, NULL, 0);
        _cleanup_(freep) char *t = prop_value_to_string(TREE_PROP_TASKS_MAX, UINT64_MAX, NULL, 0);
        _cleanup_(freep) char *q = prop_value_to_string(TREE_PROP_CPU_QUOTA, UINT64_MAX, NULL, 0);
        _cleanup_(freep) char *w = prop_value_to_string(TREE_PROP_CPU_WEIGHT, UINT64_MAX, NULL, 0);
        _cleanup_(freep) char *io = prop_value_to_string(TREE_PROP_IO_WEIGHT, UINT64_MAX, NULL, 0);

        ASSERT_STREQ(m, "infinity");
        ASSERT_STREQ(t, "infinity");
        ASSERT_STREQ(q, "infinity");
        ASSERT_STREQ(w, "default");
        ASSERT_STREQ(io, "default");
}

TEST(test_value_to_string_cpus) {
        static const uint8_t bits[] = { 0x4f };
        _cleanup_(freep) char *s = prop_value_to_string(TREE_PROP_ALLOWED_CPUS, 0, bits, sizeof(bits));

        ASSERT_STREQ(s, "0-3,6");
}

/* The converters as the parser uses them. */
TEST(test_from_controller_share) {
        const PropInfo *info = prop_by_controller_key("cpu", "share");
        json_t *ok = json_integer(200), *low = json_integer(1), *str = json_string("200");
        const char *reason = NULL;
        uint64_t v = 0;

        ASSERT_EQ_INT(info->from_controller(ok, &v, NULL, NULL, &reason), 0);
        ASSERT_EQ_U64(v, 20);
        ASSERT_EQ_INT(info->from_controller(low, &v, NULL, NULL, &reason), -ERANGE);
        ASSERT_CONTAINS(reason, "262144");
        ASSERT_EQ_INT(info->from_controller(str, &v, NULL, NULL, &reason), -EINVAL);
        json_decref(ok);
        json_decref(low);
        json_decref(str);
}

TEST(test_from_native_quota) {
        const PropInfo *info = prop_by_native_key("cpu_quota");
        json_t *ok = json_string("150%"), *zero = json_string("0%"), *bare = json_string("150"),
               *num = json_integer(150);
        const char *reason = NULL;
        uint64_t v = 0;

        ASSERT_EQ_INT(info->from_native(ok, &v, NULL, NULL, &reason), 0);
        ASSERT_EQ_U64(v, 1500000);
        ASSERT_EQ_INT(info->from_native(zero, &v, NULL, NULL, &reason), -ERANGE);
        ASSERT_EQ_INT(info->from_native(bare, &v, NULL, NULL, &reason), -EINVAL);
        ASSERT_EQ_INT(info->from_native(num, &v, NULL, NULL, &reason), -EINVAL);
        json_decref(ok);
        json_decref(zero);
        json_decref(bare);
        json_decref(num);
}

/* systemd 252 refuses MemoryMax=0 and MemoryHigh=0 ("Value specified in MemoryMax is out of range"), takes
 * MemoryLow=0 (its default). Both schemas share the converters. */
TEST(test_from_json_memory_limits) {
        static const char *const limits[] = { "memory_max", "memory_high" };
        json_t *zero = json_integer(0), *zero_s = json_string("0"), *zero_k = json_string("0K"), *one = json_integer(1),
               *one_s = json_string("1"), *big = json_integer(INT64_MAX), *e15 = json_string("15E"),
               *e16 = json_string("16E");
        const char *reason = NULL;
        uint64_t v = 0;

        for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
                const PropInfo *info = prop_by_native_key(limits[i]);

                ASSERT_TRUE(info->from_native == info->from_controller);
                ASSERT_EQ_INT(info->from_native(zero, &v, NULL, NULL, &reason), -ERANGE);
                ASSERT_CONTAINS(reason, "at least 1");
                ASSERT_EQ_INT(info->from_native(zero_s, &v, NULL, NULL, &reason), -ERANGE);
                ASSERT_EQ_INT(info->from_native(zero_k, &v, NULL, NULL, &reason), -ERANGE);
                ASSERT_EQ_INT(info->from_native(one, &v, NULL, NULL, &reason), 0);
                ASSERT_EQ_U64(v, 1);
                ASSERT_EQ_INT(info->from_native(one_s, &v, NULL, NULL, &reason), 0);
                ASSERT_EQ_U64(v, 1);
                ASSERT_EQ_INT(info->from_native(big, &v, NULL, NULL, &reason), 0);
                ASSERT_EQ_U64(v, INT64_MAX);
                ASSERT_EQ_INT(info->from_native(e15, &v, NULL, NULL, &reason), 0);
                ASSERT_EQ_U64(v, 15ULL << 60);
                ASSERT_EQ_INT(info->from_native(e16, &v, NULL, NULL, &reason), -EINVAL);
        }
        ASSERT_EQ_INT(prop_by_native_key("memory_low")->from_native(zero, &v, NULL, NULL, &reason), 0);
        ASSERT_EQ_U64(v, 0);
        ASSERT_EQ_INT(prop_by_native_key("memory_low")->from_native(zero_s, &v, NULL, NULL, &reason), 0);
        ASSERT_EQ_U64(v, 0);
        json_decref(zero);
        json_decref(zero_s);
        json_decref(zero_k);
        json_decref(one);
        json_decref(one_s);
        json_decref(big);
        json_decref(e15);
        json_decref(e16);
}

int main(void) {
        RUN(test_share_to_cpu_weight);
        RUN(test_share_to_cpu_weight_rounds_to_nearest);
        RUN(test_share_to_cpu_weight_clamp);
        RUN(test_blkio_weight_to_io_weight);
        RUN(test_table_is_indexed_by_prop);
        RUN(test_by_native_key);
        RUN(test_by_controller_key);
        RUN(test_by_dbus_name);
        RUN(test_kinds);
        RUN(test_defaults);
        RUN(test_is_controller);
        RUN(test_value_to_string_numbers);
        RUN(test_value_to_string_quota);
        RUN(test_value_to_string_unlimited);
        RUN(test_value_to_string_cpus);
        RUN(test_from_controller_share);
        RUN(test_from_native_quota);
        RUN(test_from_json_memory_limits);
        return 0;
}
