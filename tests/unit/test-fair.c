/* SPDX-License-Identifier: MIT */
/* The fair share glue's one decision: [FairShare] as the policy's configuration. */
#include <math.h>

#include "config.h"
#include "fair.h"
#include "tests.h"

#define GIB ((uint64_t) 1 << 30)

static void set(Config *c, const char *key, const char *value) {
        char error[256];

        ASSERT_EQ_INT(config_set(c, "FairShare", key, value, error, sizeof(error)), 0);
}

TEST(test_defaults_are_the_policys) {
        Config c;
        FairShareConfig got, want;

        config_init(&c);
        fair_policy_config(&c.fair_share, 2, 16 * GIB, true, &got);
        fairshare_config_init(&want, 2, 16 * GIB);
        ASSERT_EQ_INT(got.mode, FAIRSHARE_EVEN_ACTIVE);
        ASSERT_TRUE(fabs(got.cpu_pct_max - want.cpu_pct_max) < 1e-9);
        ASSERT_TRUE(fabs(got.min_change_pct - want.min_change_pct) < 1e-9);
        ASSERT_TRUE(fabs(got.activity_threshold - want.activity_threshold) < 1e-9);
        ASSERT_EQ_U64(got.activity_window_usec, want.activity_window_usec);
        ASSERT_TRUE(fabs(got.hard_cap_cores - 2) < 1e-9); /* HardCapCores= unset: all CPUs */
        ASSERT_EQ_U64(got.memory_limit_bytes, 4 * GIB);    /* 25 % of RAM */
        ASSERT_TRUE(fabs(got.memory_high_pct - 0.9) < 1e-9);
        ASSERT_EQ_U64(got.penalty_memory_bytes, FAIRSHARE_INFINITY);
        ASSERT_EQ_INT(fairshare_config_check(&got), 0);
        config_done(&c);
}

TEST(test_keys_and_v1) {
        Config c;
        FairShareConfig got;

        config_init(&c);
        set(&c, "Mode", "hard_cap");
        set(&c, "CPUPctMax", "50%");
        set(&c, "HardCapCores", "0.5");
        set(&c, "MinChangePct", "10");
        set(&c, "MemoryLimit", "2G");
        set(&c, "PenaltyMemory", "10%");
        fair_policy_config(&c.fair_share, 4, 16 * GIB, false, &got);
        ASSERT_EQ_INT(got.mode, FAIRSHARE_HARD_CAP);
        ASSERT_TRUE(fabs(got.cpu_pct_max - 0.5) < 1e-9);
        ASSERT_TRUE(fabs(got.hard_cap_cores - 0.5) < 1e-9);
        ASSERT_TRUE(fabs(got.min_change_pct - 0.1) < 1e-9);
        ASSERT_EQ_U64(got.memory_limit_bytes, 2 * GIB);
        ASSERT_EQ_U64(got.penalty_memory_bytes, 16 * GIB * 10 / 100);
        ASSERT_TRUE(got.memory_high_pct == 0); /* no MemoryHigh on a v1 memory controller */
        ASSERT_EQ_INT(fairshare_config_check(&got), 0);
        set(&c, "MemoryLimit", "infinity");
        set(&c, "Mode", "weight");
        fair_policy_config(&c.fair_share, 4, 16 * GIB, true, &got);
        ASSERT_EQ_U64(got.memory_limit_bytes, FAIRSHARE_INFINITY);
        ASSERT_EQ_INT(got.mode, FAIRSHARE_WEIGHT_MODE);
        ASSERT_EQ_INT(fairshare_config_check(&got), 0);
        config_done(&c);
}

int main(void) {
        RUN(test_defaults_are_the_policys);
        RUN(test_keys_and_v1);
        return 0;
}
