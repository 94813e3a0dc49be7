/* SPDX-License-Identifier: MIT */
/* What migrate does with cgrouparch's directories: tree groups' directories give their processes to the
 * group's scope and go, deepest first; anything that is not a tree group, systemd's, unreadable, or holds a
 * process that never moves stays, and so does every directory above it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "migrate-plan.h"
#include "tests.h"
#include "tree-fixtures.h"

#define SELF 4242

static const char *const TREE_JSON =
        "{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": 1024}},"
        " \"test_cgroup_b\": {\"conf\": {\"share\": 100}, \"sub_cgroup\": {\"test_cgroup_b_sub1\":"
        " {\"conf\": {\"share\": 200}}}}}}}";

static MigrateDir dir(size_t hierarchy, const char *path, bool read, const pid_t *pids, size_t n) {
        unsigned depth = 1;

        for (const char *p = path; *p; p++)
                depth += *p == '/';
        return (MigrateDir) { .hierarchy = hierarchy, .path = (char *) path, .depth = depth, .procs_read = read,
                              .pids = (pid_t *) pids, .n_pids = n };
}

static const MigrateItem *item_of(const MigratePlan *p, const MigrateDir *dirs, size_t hierarchy, const char *path) {
        for (size_t i = 0; i < p->n_items; i++)
                if (dirs[p->items[i].dir].hierarchy == hierarchy && streq(dirs[p->items[i].dir].path, path))
                        return &p->items[i];
        fprintf(stderr, "no item for %zu:%s\n", hierarchy, path);
        abort();
}

static size_t position(const MigratePlan *p, const MigrateDir *dirs, size_t hierarchy, const char *path) {
        return (size_t) (item_of(p, dirs, hierarchy, path) - p->items);
}

TEST(test_systemd_names) {
        ASSERT_TRUE(migrate_name_is_systemd("system.slice"));
        ASSERT_TRUE(migrate_name_is_systemd("init.scope"));
        ASSERT_TRUE(migrate_name_is_systemd("foo.service"));
        ASSERT_TRUE(migrate_name_is_systemd("-.mount"));
        ASSERT_TRUE(!migrate_name_is_systemd(".slice")); /* no unit name before the suffix */
        ASSERT_TRUE(!migrate_name_is_systemd("test_cgroup_a"));
        ASSERT_TRUE(!migrate_name_is_systemd("slice"));
        ASSERT_TRUE(!migrate_name_is_systemd("a.slicex"));
        ASSERT_TRUE(!migrate_name_is_systemd(NULL));
}

/* cgrouparch's layout in two hierarchies (cpu = 0, memory = 1), a stranger at the top: the tree groups'
 * directories go deepest first, each process moves once into its group's scope. */
TEST(test_cgrouparch_layout) {
        _cleanup_(tree_unrefp) Tree *t = tree_fixture_parse(TREE_JSON);
        static const pid_t a_cpu[] = { 300, 100 }, a_mem[] = { 100, 300 }, b1[] = { 200 }, stranger[] = { 900 };
        MigrateDir dirs[] = {
                dir(0, "test_cgroup_b", true, NULL, 0),
                dir(0, "test_cgroup_a", true, a_cpu, 2),
                dir(0, "test_cgroup_b/test_cgroup_b_sub1", true, b1, 1),
                dir(0, "other", false, stranger, 0),
                dir(1, "test_cgroup_a", true, a_mem, 2),
                dir(1, "test_cgroup_b", true, NULL, 0),
                dir(1, "test_cgroup_b/test_cgroup_b_sub1", true, b1, 1),
        };
        _cleanup_(migrate_plan_done) MigratePlan p = { 0 };
        const MigrateItem *it;

        ASSERT_EQ_INT(migrate_plan_build(dirs, ELEMENTSOF(dirs), t, SELF, &p), 0);
        ASSERT_EQ_INT(p.n_items, ELEMENTSOF(dirs));
        for (size_t h = 0; h < 2; h++) {
                ASSERT_EQ_INT(item_of(&p, dirs, h, "test_cgroup_a")->verdict, MIGRATE_REMOVE);
                ASSERT_EQ_INT(item_of(&p, dirs, h, "test_cgroup_b")->verdict, MIGRATE_REMOVE);
                ASSERT_EQ_INT(item_of(&p, dirs, h, "test_cgroup_b/test_cgroup_b_sub1")->verdict, MIGRATE_REMOVE);
                ASSERT_TRUE(position(&p, dirs, h, "test_cgroup_b/test_cgroup_b_sub1") <
                            position(&p, dirs, h, "test_cgroup_b"));
        }
        it = item_of(&p, dirs, 0, "other");
        ASSERT_EQ_INT(it->verdict, MIGRATE_LEAVE);
        ASSERT_STREQ(it->reason, "not a tree group");

        ASSERT_EQ_INT(p.n_moves, 2);
        ASSERT_STREQ(p.moves[0].group, "test_cgroup_a");
        ASSERT_EQ_INT(p.moves[0].n_pids, 2); /* sorted, once each over both hierarchies */
        ASSERT_EQ_INT(p.moves[0].pids[0], 100);
        ASSERT_EQ_INT(p.moves[0].pids[1], 300);
        ASSERT_STREQ(p.moves[1].group, "test_cgroup_b/test_cgroup_b_sub1");
        ASSERT_EQ_INT(p.moves[1].n_pids, 1);
        ASSERT_EQ_INT(p.moves[1].pids[0], 200);
        ASSERT_EQ_INT(p.n_refused, 0);
        /* The group path is the tree's own string. */
        ASSERT_TRUE(p.moves[0].group == find_ok(t, "test_cgroup_a")->path);
}

/* What stays keeps everything above it, in its own hierarchy only. */
TEST(test_what_stays_keeps_its_parents) {
        _cleanup_(tree_unrefp) Tree *t = tree_fixture_parse(TREE_JSON);
        static const pid_t b[] = { 50 };
        MigrateDir dirs[] = {
                dir(0, "test_cgroup_b", true, b, 1),
                dir(0, "test_cgroup_b/test_cgroup_b_sub1", true, NULL, 0),
                dir(0, "test_cgroup_b/test_cgroup_b_sub1/stranger", false, NULL, 0),
                dir(1, "test_cgroup_b", true, NULL, 0),
                dir(1, "test_cgroup_b/x.service", false, NULL, 0),
                dir(2, "test_cgroup_b", true, NULL, 0),
                dir(2, "test_cgroup_b/test_cgroup_b_sub1", false, NULL, 0), /* cgroup.procs unreadable */
        };
        _cleanup_(migrate_plan_done) MigratePlan p = { 0 };
        const MigrateItem *it;

        ASSERT_EQ_INT(migrate_plan_build(dirs, ELEMENTSOF(dirs), t, SELF, &p), 0);
        ASSERT_STREQ(item_of(&p, dirs, 0, "test_cgroup_b/test_cgroup_b_sub1/stranger")->reason, "not a tree group");
        it = item_of(&p, dirs, 0, "test_cgroup_b/test_cgroup_b_sub1");
        ASSERT_EQ_INT(it->verdict, MIGRATE_KEEP);
        ASSERT_STREQ(it->reason, "holds a directory that stays");
        it = item_of(&p, dirs, 0, "test_cgroup_b");
        ASSERT_EQ_INT(it->verdict, MIGRATE_KEEP); /* two levels up */
        ASSERT_STREQ(it->reason, "holds a directory that stays");

        it = item_of(&p, dirs, 1, "test_cgroup_b/x.service");
        ASSERT_EQ_INT(it->verdict, MIGRATE_LEAVE);
        ASSERT_STREQ(it->reason, "a systemd unit's directory");
        ASSERT_EQ_INT(item_of(&p, dirs, 1, "test_cgroup_b")->verdict, MIGRATE_KEEP);

        it = item_of(&p, dirs, 2, "test_cgroup_b/test_cgroup_b_sub1");
        ASSERT_EQ_INT(it->verdict, MIGRATE_LEAVE);
        ASSERT_STREQ(it->reason, "its cgroup.procs could not be read whole");
        ASSERT_EQ_INT(item_of(&p, dirs, 2, "test_cgroup_b")->verdict, MIGRATE_KEEP);

        /* A kept directory's processes still move into the group's scope. */
        ASSERT_EQ_INT(p.n_moves, 1);
        ASSERT_STREQ(p.moves[0].group, "test_cgroup_b");
        ASSERT_EQ_INT(p.moves[0].n_pids, 1);
}

/* PID 1, the daemon and processes of another pid namespace (shown as 0) never move: their directory stays. */
TEST(test_processes_that_never_move) {
        _cleanup_(tree_unrefp) Tree *t = tree_fixture_parse(TREE_JSON);
        static const pid_t a[] = { 1, 77, SELF, 0 }, b[] = { SELF };
        MigrateDir dirs[] = {
                dir(0, "test_cgroup_a", true, a, 4),
                dir(0, "test_cgroup_b", true, b, 1),
        };
        _cleanup_(migrate_plan_done) MigratePlan p = { 0 };
        const MigrateItem *it;

        ASSERT_EQ_INT(migrate_plan_build(dirs, ELEMENTSOF(dirs), t, SELF, &p), 0);
        it = item_of(&p, dirs, 0, "test_cgroup_a");
        ASSERT_EQ_INT(it->verdict, MIGRATE_KEEP);
        ASSERT_CONTAINS(it->reason, "never move");
        ASSERT_EQ_INT(item_of(&p, dirs, 0, "test_cgroup_b")->verdict, MIGRATE_KEEP);
        ASSERT_EQ_INT(p.n_refused, 4);
        /* Only 77 goes; the group with nothing movable sends nothing. */
        ASSERT_EQ_INT(p.n_moves, 1);
        ASSERT_STREQ(p.moves[0].group, "test_cgroup_a");
        ASSERT_EQ_INT(p.moves[0].n_pids, 1);
        ASSERT_EQ_INT(p.moves[0].pids[0], 77);
}

TEST(test_empty_and_bad_input) {
        _cleanup_(tree_unrefp) Tree *t = tree_fixture_parse(TREE_JSON);
        MigratePlan p = { 0 };
        MigrateDir bad = dir(0, "test_cgroup_a", true, NULL, 3);

        ASSERT_EQ_INT(migrate_plan_build(NULL, 0, t, SELF, &p), 0);
        ASSERT_EQ_INT(p.n_items, 0);
        ASSERT_EQ_INT(p.n_moves, 0);
        migrate_plan_done(&p);
        ASSERT_EQ_INT(migrate_plan_build(NULL, 1, t, SELF, &p), -EINVAL);
        ASSERT_EQ_INT(migrate_plan_build(&bad, 1, t, SELF, &p), -EINVAL);
        ASSERT_EQ_INT(migrate_plan_build(&bad, 1, NULL, SELF, &p), -EINVAL);
        ASSERT_TRUE(p.items == NULL); /* untouched on failure */
        ASSERT_STREQ(migrate_verdict_to_string(MIGRATE_REMOVE), "remove");
        ASSERT_TRUE(migrate_verdict_to_string(_MIGRATE_VERDICT_MAX) == NULL);
}

/* A full scan's worth of directories (MIGRATE_DIRS_MAX, a chain as deep as a tree goes, in every
 * hierarchy) is planned with every removal after its children. */
TEST(test_many_directories_order) {
        _cleanup_(tree_unrefp) Tree *t = tree_new(TREE_SCHEMA_NATIVE);
        MigrateDir *dirs = calloc(MIGRATE_DIRS_MAX, sizeof(MigrateDir));
        _cleanup_(migrate_plan_done) MigratePlan p = { 0 };
        char path[TREE_DEPTH_MAX * 4] = "";
        size_t n = 0;

        ASSERT_TRUE(t && dirs);
        for (unsigned d = 0; d < TREE_DEPTH_MAX; d++) {
                snprintf(path + strlen(path), sizeof(path) - strlen(path), "%sg%u", d ? "/" : "", d);
                ASSERT_EQ_INT(tree_add(t, path, NULL), 0);
                for (size_t h = 0; h < MIGRATE_DIRS_MAX / TREE_DEPTH_MAX; h++) {
                        dirs[n] = dir(h, strdup(path), true, NULL, 0);
                        ASSERT_TRUE(dirs[n].path);
                        n++;
                }
        }
        ASSERT_EQ_INT(migrate_plan_build(dirs, n, t, SELF, &p), 0);
        ASSERT_EQ_INT(p.n_items, n);
        for (size_t i = 0; i < p.n_items; i++) {
                ASSERT_EQ_INT(p.items[i].verdict, MIGRATE_REMOVE);
                if (i > 0)
                        ASSERT_TRUE(dirs[p.items[i - 1].dir].depth >= dirs[p.items[i].dir].depth);
        }
        for (size_t i = 0; i < n; i++)
                free(dirs[i].path);
        free(dirs);
}

int main(void) {
        RUN(test_systemd_names);
        RUN(test_cgrouparch_layout);
        RUN(test_what_stays_keeps_its_parents);
        RUN(test_processes_that_never_move);
        RUN(test_empty_and_bad_input);
        RUN(test_many_directories_order);
        return 0;
}
