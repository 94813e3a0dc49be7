/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "tests.h"
#include "user-slice.h"

static uint32_t parsed(const char *unit) {
        uint32_t uid = 7;

        ASSERT_EQ_INT(user_slice_parse(unit, &uid), 0);
        return uid;
}

static void refused(const char *unit) {
        uint32_t uid = 7;

        ASSERT_EQ_INT(user_slice_parse(unit, &uid), -EINVAL);
        ASSERT_EQ_INT(uid, 7); /* left alone */
}

TEST(test_parse) {
        ASSERT_EQ_INT(parsed("user-1001.slice"), 1001);
        ASSERT_EQ_INT(parsed("user-0.slice"), 0);
        ASSERT_EQ_U64(parsed("user-4294967294.slice"), 4294967294u);
        ASSERT_EQ_INT(parsed("user-65534.slice"), 65534);
        ASSERT_EQ_INT(parsed("user-65536.slice"), 65536);
}

TEST(test_parse_strict) {
        refused(NULL);
        refused("");
        refused("user.slice");
        refused("user-.slice");
        refused("user-01001.slice");
        refused("user-00.slice");
        refused("user-+1001.slice");
        refused("user--1.slice");
        refused("user- 1001.slice");
        refused("user-1001 .slice");
        refused("user-1001-x.slice"); /* a slice below the user's */
        refused("user-1001.slice.d");
        refused("user-1001.service");
        refused("user@1001.service");
        refused("xuser-1001.slice");
        refused("User-1001.slice");
        refused("user-4294967295.slice"); /* (uid_t) -1 */
        refused("user-65535.slice");      /* 16-bit -1 */
        refused("user-4294967296.slice");
        refused("user-99999999999.slice");
        refused("user-1x1.slice");
        refused("user-1001.slic");
}

TEST(test_parse_object_path) {
        uint32_t uid = 0;

        ASSERT_EQ_INT(user_slice_parse_object_path("/org/freedesktop/systemd1/unit/user_2d1001_2eslice", &uid), 0);
        ASSERT_EQ_INT(uid, 1001);
        ASSERT_EQ_INT(user_slice_parse_object_path("/org/freedesktop/systemd1/unit/user_2d0_2eslice", &uid), 0);
        ASSERT_EQ_INT(uid, 0);
        uid = 5;
        ASSERT_EQ_INT(user_slice_parse_object_path(NULL, &uid), -EINVAL);
        ASSERT_EQ_INT(user_slice_parse_object_path("/org/freedesktop/systemd1/unit/user_2eslice", &uid), -EINVAL);
        ASSERT_EQ_INT(user_slice_parse_object_path("/org/freedesktop/systemd1/unit/user_2d1001_2eservice", &uid),
                      -EINVAL);
        ASSERT_EQ_INT(user_slice_parse_object_path("/org/freedesktop/systemd1/unit/user_2D1001_2Eslice", &uid),
                      -EINVAL);
        ASSERT_EQ_INT(user_slice_parse_object_path("/org/freedesktop/systemd1/unit/user_2d1001_2d2_2eslice", &uid),
                      -EINVAL);
        ASSERT_EQ_INT(user_slice_parse_object_path("/org/freedesktop/systemd1/unit/init_2escope", &uid), -EINVAL);
        ASSERT_EQ_INT(user_slice_parse_object_path("/org/freedesktop/systemd1/job/1", &uid), -EINVAL);
        ASSERT_EQ_INT(uid, 5);
}

TEST(test_state) {
        ASSERT_TRUE(user_slice_state_is_up("active"));
        ASSERT_TRUE(user_slice_state_is_up("activating"));
        ASSERT_TRUE(user_slice_state_is_up("deactivating"));
        ASSERT_TRUE(user_slice_state_is_up("reloading"));
        ASSERT_TRUE(!user_slice_state_is_up("inactive"));
        ASSERT_TRUE(!user_slice_state_is_up("failed"));
        ASSERT_TRUE(!user_slice_state_is_up(NULL));
}

static int table_sync(UserTable *t, const uint32_t *uids, size_t n, uint32_t min_uid, size_t *below, size_t *over) {
        return user_table_sync(t, uids, n, min_uid, below, over);
}

TEST(test_table_sync) {
        _cleanup_(user_table_done) UserTable t = { 0 };
        const uint32_t first[] = { 1003, 0, 1001, 999, 1001, 1002, 0 };
        const uint32_t second[] = { 1002, 1004, 1001 };
        size_t below, over;

        ASSERT_EQ_INT(table_sync(&t, first, ELEMENTSOF(first), 1000, &below, &over), 1);
        ASSERT_EQ_INT(t.n, 3);
        ASSERT_EQ_INT(below, 2); /* 0 and 999, each once */
        ASSERT_EQ_INT(over, 0);
        ASSERT_EQ_INT(t.users[0].uid, 1001);
        ASSERT_EQ_INT(t.users[1].uid, 1002);
        ASSERT_EQ_INT(t.users[2].uid, 1003);
        ASSERT_TRUE(user_table_get(&t, 1002) == &t.users[1]);
        ASSERT_TRUE(user_table_get(&t, 999) == NULL);
        ASSERT_TRUE(user_table_get(&t, 1004) == NULL);

        /* names stay with the users kept */
        t.users[0].name = strdup("alice");
        t.users[0].looked_up = true;
        t.users[2].name = strdup("carol");
        t.users[2].looked_up = true;
        ASSERT_EQ_INT(table_sync(&t, first, ELEMENTSOF(first), 1000, &below, &over), 0); /* the same: no change */
        ASSERT_STREQ(user_table_get(&t, 1001)->name, "alice");

        ASSERT_EQ_INT(table_sync(&t, second, ELEMENTSOF(second), 1000, &below, &over), 1);
        ASSERT_EQ_INT(t.n, 3);
        ASSERT_EQ_INT(below, 0);
        ASSERT_STREQ(user_table_get(&t, 1001)->name, "alice");
        ASSERT_TRUE(user_table_get(&t, 1001)->looked_up);
        ASSERT_TRUE(user_table_get(&t, 1003) == NULL); /* gone, carol's name freed (ASan) */
        ASSERT_TRUE(!user_table_get(&t, 1004)->looked_up);
        ASSERT_TRUE(user_table_get(&t, 1004)->name == NULL);

        /* all gone */
        ASSERT_EQ_INT(table_sync(&t, NULL, 0, 1000, &below, &over), 1);
        ASSERT_EQ_INT(t.n, 0);
        ASSERT_EQ_INT(table_sync(&t, NULL, 0, 1000, &below, &over), 0);
}

TEST(test_table_bound) {
        _cleanup_(user_table_done) UserTable t = { 0 };
        _cleanup_(freep) uint32_t *uids = malloc((USER_TABLE_MAX + 10) * sizeof(uint32_t));
        size_t below, over;

        ASSERT_TRUE(uids);
        /* descending, as systemd's hash order may be: the lowest UIDs are kept */
        for (size_t i = 0; i < USER_TABLE_MAX + 10; i++)
                uids[i] = (uint32_t) (2000000 - i);
        ASSERT_EQ_INT(table_sync(&t, uids, USER_TABLE_MAX + 10, 1000, &below, &over), 1);
        ASSERT_EQ_INT(t.n, USER_TABLE_MAX);
        ASSERT_EQ_INT(over, 10);
        ASSERT_EQ_INT(t.users[0].uid, 2000000 - (USER_TABLE_MAX + 9));
        ASSERT_TRUE(user_table_get(&t, 2000000) == NULL);
}

int main(void) {
        RUN(test_parse);
        RUN(test_parse_strict);
        RUN(test_parse_object_path);
        RUN(test_state);
        RUN(test_table_sync);
        RUN(test_table_bound);
        return 0;
}
