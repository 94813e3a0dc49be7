/* SPDX-License-Identifier: MIT */
/* Each OOM kill reported once: hierarchical v2 counters attributed to the deepest watched cgroup, v1 counters
 * per cgroup below a watched one, victims from the kernel log matched to counts in either order, kills whose
 * counter went away reported from the log alone and never again when a counter catches up. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "oom-match.h"
#include "tests.h"

#define REPORTS_MAX 300

typedef struct Seen {
        size_t n;
        OomReport r[REPORTS_MAX];
        uint32_t victim_pid[REPORTS_MAX];
        char path[REPORTS_MAX][128];
        bool has_rss[REPORTS_MAX];
} Seen;

static void on_emit(OomMatch *m, const OomReport *r, void *userdata) {
        Seen *s = userdata;

        ASSERT_TRUE(s->n < REPORTS_MAX);
        s->r[s->n] = *r;
        s->victim_pid[s->n] = r->victim ? r->victim->pid : 0;
        s->has_rss[s->n] = r->victim && r->victim->has_rss;
        s->r[s->n].victim = NULL; /* only valid during the call */
        snprintf(s->path[s->n], sizeof(s->path[0]), "%s", oom_match_node_path(m, r->node));
        s->n++;
}

/* The counters the fake memory.events files hold, per node. */
typedef struct Counts {
        uint64_t kill[8], group[8];
        int fail[8];
        unsigned reads;
} Counts;

static int read_counts(size_t node, uint64_t *ret_kill, uint64_t *ret_group, void *userdata) {
        Counts *c = userdata;

        c->reads++;
        if (c->fail[node])
                return c->fail[node];
        *ret_kill = c->kill[node];
        *ret_group = c->group[node];
        return 0;
}

static const char *const tree[] = {
        "/sk.slice",                       /* 0 */
        "/sk.slice/sk-a.slice",            /* 1 */
        "/sk.slice/sk-a.slice/sk-a-b.slice", /* 2 */
        "/user.slice/user-1000.slice",     /* 3 */
};

static OomMatch *setup(Seen *s, bool kmsg) {
        OomMatch *m;

        ASSERT_EQ_INT(oom_match_new(on_emit, s, &m), 0);
        oom_match_set_kmsg(m, kmsg);
        ASSERT_EQ_INT(oom_match_set_nodes(m, tree, ELEMENTSOF(tree), 0), 0);
        for (size_t i = 0; i < ELEMENTSOF(tree); i++) {
                ASSERT_TRUE(oom_match_node_needs_baseline(m, i));
                oom_match_baseline(m, i, 5, 0); /* kills before the daemon watched: never reported */
        }
        return m;
}

static OomVictim victim(uint32_t pid, const char *task_memcg, uint64_t kernel_usec) {
        return (OomVictim) {
                .kernel_usec = kernel_usec,
                .pid = pid,
                .uid = 1000,
                .comm = "hog",
                .task_memcg = task_memcg,
                .oom_memcg = task_memcg,
                .constraint = "CONSTRAINT_MEMCG",
        };
}

TEST(test_v2_deepest_watched_once) {
        Seen s = { 0 };
        Counts c = { .kill = { 5, 5, 5, 5 } };
        OomMatch *m = setup(&s, /* kmsg= */ false);

        /* A kill in sk-a-b's scope: every ancestor counts it. The root's notification may come first. */
        c.kill[0] = c.kill[1] = c.kill[2] = 6;
        oom_match_v2_changed(m, 0, read_counts, &c, 100);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_STREQ(s.path[0], "/sk.slice/sk-a.slice/sk-a-b.slice");
        ASSERT_TRUE(s.r[0].counted);
        ASSERT_EQ_U64(s.r[0].counter, 6);
        /* The children's own notifications find it accounted for. */
        oom_match_v2_changed(m, 2, read_counts, &c, 101);
        oom_match_v2_changed(m, 1, read_counts, &c, 101);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_EQ_U64(oom_match_node_kills(m, 2), 1);
        ASSERT_EQ_U64(oom_match_node_kills(m, 0), 0);
        oom_match_free(m);
}

TEST(test_v2_leaf_first_then_ancestor_lags) {
        Seen s = { 0 };
        Counts c = { .kill = { 5, 5, 5, 5 } };
        OomMatch *m = setup(&s, false);

        /* The leaf counted, its ancestors not yet (the kernel walks upwards). */
        c.kill[2] = 6;
        oom_match_v2_changed(m, 2, read_counts, &c, 100);
        ASSERT_EQ_U64(s.n, 1);
        /* Read in between: the root below what was accounted (nothing), then caught up (nothing). */
        oom_match_v2_changed(m, 0, read_counts, &c, 100);
        c.kill[0] = c.kill[1] = 6;
        oom_match_v2_changed(m, 0, read_counts, &c, 101);
        oom_match_v2_changed(m, 1, read_counts, &c, 101);
        ASSERT_EQ_U64(s.n, 1);
        /* Two quick kills in one slice: two reports. A kill in sk-a itself (a scope of its own): at sk-a. */
        c.kill[2] = 8;
        c.kill[1] = 9;
        c.kill[0] = 9;
        oom_match_v2_changed(m, 0, read_counts, &c, 200);
        ASSERT_EQ_U64(s.n, 4);
        ASSERT_STREQ(s.path[1], "/sk.slice/sk-a.slice/sk-a-b.slice");
        ASSERT_STREQ(s.path[2], "/sk.slice/sk-a.slice/sk-a-b.slice");
        ASSERT_EQ_U64(s.r[1].counter, 7);
        ASSERT_EQ_U64(s.r[2].counter, 8);
        ASSERT_STREQ(s.path[3], "/sk.slice/sk-a.slice");
        oom_match_free(m);
}

TEST(test_v2_reads_only_what_moved_and_gone_cgroups) {
        Seen s = { 0 };
        Counts c = { .kill = { 5, 5, 5, 5 } };
        OomMatch *m = setup(&s, false);

        /* Nothing moved (a notification for another counter, memory.high say): one read. */
        oom_match_v2_changed(m, 0, read_counts, &c, 100);
        ASSERT_EQ_INT(c.reads, 1);
        ASSERT_EQ_U64(s.n, 0);
        /* A slice removed without a kill: its file cannot be read, nothing is reported. */
        c.fail[2] = -ENOENT;
        oom_match_v2_changed(m, 2, read_counts, &c, 100);
        ASSERT_EQ_U64(s.n, 0);
        /* A kill counted in sk-a whose child is gone: at sk-a. */
        c.kill[0] = c.kill[1] = 6;
        oom_match_v2_changed(m, 0, read_counts, &c, 100);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_STREQ(s.path[0], "/sk.slice/sk-a.slice");
        oom_match_free(m);
}

TEST(test_v2_group_kill_one_report) {
        Seen s = { 0 };
        Counts c = { .kill = { 5, 5, 5, 5 } };
        OomMatch *m = setup(&s, false);

        c.kill[0] = c.kill[1] = 9; /* four tasks */
        c.group[0] = c.group[1] = 1;
        oom_match_v2_changed(m, 1, read_counts, &c, 100);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_TRUE(s.r[0].group);
        ASSERT_EQ_U64(s.r[0].killed, 4);
        ASSERT_EQ_U64(oom_match_node_kills(m, 1), 4);
        oom_match_v2_changed(m, 0, read_counts, &c, 100);
        ASSERT_EQ_U64(s.n, 1);
        oom_match_free(m);
}

TEST(test_victim_before_and_after_count) {
        Seen s = { 0 };
        Counts c = { .kill = { 5, 5, 5, 5 } };
        OomMatch *m = setup(&s, /* kmsg= */ true);
        OomVictim v = victim(4242, "/sktest-9/sk.slice/sk-a.slice/sk-a.scope", 90);

        /* The log's line first (the kernel writes it before counting): it waits for the count. */
        ASSERT_EQ_INT(oom_match_victim(m, &v, 100), 1);
        oom_match_victim_rss(m, 4242, 1000, 900, 10, 0);
        ASSERT_EQ_U64(s.n, 0);
        c.kill[0] = c.kill[1] = 6;
        oom_match_v2_changed(m, 1, read_counts, &c, 110);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_EQ_INT(s.victim_pid[0], 4242);
        ASSERT_TRUE(s.has_rss[0]);
        ASSERT_EQ_U64(s.r[0].detected_usec, 100);
        /* The count first: it waits for its victim, which comes within the wait. */
        c.kill[0] = c.kill[1] = 7;
        oom_match_v2_changed(m, 0, read_counts, &c, 200);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_EQ_U64(oom_match_next_deadline(m), 200 + OOM_VICTIM_WAIT_USEC);
        v.pid = 4243;
        ASSERT_EQ_INT(oom_match_victim(m, &v, 210), 1);
        ASSERT_EQ_U64(s.n, 2);
        ASSERT_EQ_INT(s.victim_pid[1], 4243);
        ASSERT_EQ_U64(oom_match_next_deadline(m), USEC_INFINITY);
        /* A count whose victim never comes (a lost line): reported without one at the deadline. */
        c.kill[0] = c.kill[1] = 8;
        oom_match_v2_changed(m, 0, read_counts, &c, 300);
        oom_match_expire(m, 300 + OOM_VICTIM_WAIT_USEC - 1);
        ASSERT_EQ_U64(s.n, 2);
        oom_match_expire(m, 300 + OOM_VICTIM_WAIT_USEC);
        ASSERT_EQ_U64(s.n, 3);
        ASSERT_EQ_INT(s.victim_pid[2], 0);
        ASSERT_TRUE(s.r[2].counted);
        oom_match_free(m);
}

TEST(test_victim_not_watched_and_deeper) {
        Seen s = { 0 };
        Counts c = { .kill = { 5, 5, 5, 5 } };
        OomMatch *m = setup(&s, true);
        OomVictim v = victim(7, "/system.slice/cron.service", 1);
        OomMatchCounters k;

        ASSERT_EQ_INT(oom_match_victim(m, &v, 100), 0);
        /* Paths print from the hierarchy's root; prefixes are stripped at a '/' only. */
        ASSERT_EQ_U64(oom_match_node_of(m, "/x/sk.slice/sk-a.slice/sk-a-b.slice/s.scope"), 2);
        ASSERT_EQ_U64(oom_match_node_of(m, "/sk.slice/sk-a.slice"), 1);
        ASSERT_EQ_U64(oom_match_node_of(m, "/xsk.slice/sk-a.slicex"), SIZE_MAX);
        ASSERT_EQ_U64(oom_match_node_of(m, "/user.slice/user-1000.slice/session-3.scope"), 3);
        ASSERT_EQ_U64(oom_match_node_of(m, "/user.slice/user-10000.slice"), SIZE_MAX);
        ASSERT_EQ_U64(oom_match_node_of(m, "relative/sk.slice"), SIZE_MAX);
        /* A victim in sk-a-b whose kill was counted higher (sk-a-b not yet watched when it happened). */
        v = victim(8, "/sk.slice/sk-a.slice/sk-a-b.slice/x.scope", 1);
        c.kill[0] = 6;
        oom_match_v2_changed(m, 0, read_counts, &c, 100);
        ASSERT_EQ_INT(oom_match_victim(m, &v, 101), 1);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_STREQ(s.path[0], "/sk.slice");
        ASSERT_EQ_INT(s.victim_pid[0], 8);
        oom_match_counters(m, &k);
        ASSERT_EQ_U64(k.victims_unwatched, 1);
        ASSERT_EQ_U64(k.reported, 1);
        oom_match_free(m);
}

TEST(test_log_only_never_twice) {
        Seen s = { 0 };
        Counts c = { .kill = { 5, 5, 5, 5 } };
        OomMatch *m = setup(&s, true);
        OomVictim v = victim(9, "/sk.slice/sk-a.slice/sk-a.scope", 1);

        /* No counter ever shows it in time: from the log alone, at the deadline. */
        ASSERT_EQ_INT(oom_match_victim(m, &v, 100), 1);
        oom_match_expire(m, 100 + OOM_COUNT_WAIT_USEC);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_TRUE(!(s.r[0].counted));
        ASSERT_EQ_INT(s.victim_pid[0], 9);
        /* The counters catch up later: accounted for, not reported again. */
        c.kill[0] = c.kill[1] = 6;
        oom_match_v2_changed(m, 0, read_counts, &c, 2000000);
        ASSERT_EQ_U64(s.n, 1);
        oom_match_free(m);
}

TEST(test_v1_flat_counters) {
        Seen s = { 0 };
        OomMatch *m;
        const char *paths[] = { "/sk.slice/sk-a.slice" };

        ASSERT_EQ_INT(oom_match_new(on_emit, &s, &m), 0);
        ASSERT_EQ_INT(oom_match_set_nodes(m, paths, 1, 0), 0);
        /* First sweep: the baseline. */
        oom_match_v1_begin(m, 0);
        oom_match_v1_observe(m, 0, "", 0, true, 10);
        oom_match_v1_observe(m, 0, "sk-a.scope", 2, true, 10);
        oom_match_v1_end(m, 0);
        ASSERT_TRUE(!(oom_match_node_needs_baseline(m, 0)));
        ASSERT_EQ_U64(s.n, 0);
        /* The scope's counter moved; a new scope already has a kill. */
        oom_match_v1_begin(m, 0);
        oom_match_v1_observe(m, 0, "", 0, false, 20);
        oom_match_v1_observe(m, 0, "sk-a.scope", 3, false, 20);
        oom_match_v1_observe(m, 0, "run-x.scope", 1, false, 20);
        oom_match_v1_end(m, 0);
        ASSERT_EQ_U64(s.n, 2);
        /* Scopes gone: forgotten; the same name again counts from 0. */
        oom_match_v1_begin(m, 0);
        oom_match_v1_observe(m, 0, "", 0, false, 30);
        oom_match_v1_end(m, 0);
        oom_match_v1_begin(m, 0);
        oom_match_v1_observe(m, 0, "", 0, false, 40);
        oom_match_v1_observe(m, 0, "sk-a.scope", 0, false, 40);
        oom_match_v1_end(m, 0);
        ASSERT_EQ_U64(s.n, 2);
        ASSERT_EQ_U64(oom_match_node_kills(m, 0), 2);
        oom_match_free(m);
}

TEST(test_v1_scope_removed_log_credit) {
        Seen s = { 0 };
        OomMatch *m;
        const char *paths[] = { "/sk.slice/sk-a.slice" };
        OomVictim v = victim(11, "/x/sk.slice/sk-a.slice/sk-a.scope", 1);

        ASSERT_EQ_INT(oom_match_new(on_emit, &s, &m), 0);
        oom_match_set_kmsg(m, true);
        oom_match_set_flat(m, true);
        ASSERT_EQ_INT(oom_match_set_nodes(m, paths, 1, 0), 0);
        oom_match_v1_begin(m, 0);
        oom_match_v1_observe(m, 0, "", 0, true, 10);
        oom_match_v1_observe(m, 0, "sk-a.scope", 0, true, 10);
        oom_match_v1_end(m, 0);
        /* No count in time: the log alone reports it. */
        ASSERT_EQ_INT(oom_match_victim(m, &v, 100), 1);
        oom_match_expire(m, 100 + OOM_COUNT_WAIT_USEC);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_TRUE(!s.r[0].counted);
        /* Its scope's counter read late after all: taken as seen. Another cgroup's kill still counts. */
        oom_match_v1_begin(m, 0);
        oom_match_v1_observe(m, 0, "", 1, false, 3000000);
        oom_match_v1_observe(m, 0, "sk-a.scope", 1, false, 3000000);
        oom_match_v1_end(m, 0);
        oom_match_expire(m, USEC_INFINITY); /* the counted kill waited for a victim */
        ASSERT_EQ_U64(s.n, 2);
        ASSERT_TRUE(s.r[1].counted);
        /* A victim whose scope is gone: reported at once, and nothing kept for it; the next kill in a scope of
         * the same name (made again, from 0) still counts. */
        v = victim(12, "/x/sk.slice/sk-a.slice/gone.scope", 1);
        ASSERT_EQ_INT(oom_match_victim(m, &v, 4000000), 1);
        oom_match_victim_uncountable(m, 0);
        ASSERT_EQ_U64(s.n, 3);
        oom_match_v1_begin(m, 0);
        oom_match_v1_observe(m, 0, "", 1, false, 5000000);
        oom_match_v1_observe(m, 0, "sk-a.scope", 1, false, 5000000);
        oom_match_v1_observe(m, 0, "gone.scope", 1, false, 5000000);
        oom_match_v1_end(m, 0);
        oom_match_expire(m, USEC_INFINITY);
        ASSERT_EQ_U64(s.n, 4);
        oom_match_free(m);
}

TEST(test_set_nodes_keeps_state_and_reports_leavers) {
        Seen s = { 0 };
        Counts c = { .kill = { 5, 5, 5, 5 } };
        OomMatch *m = setup(&s, true);
        const char *fewer[] = { "/user.slice/user-1000.slice", "/sk.slice", "/sk.slice/sk-new.slice" };
        const char *dup[] = { "/a.slice", "/a.slice" };

        c.kill[0] = c.kill[1] = c.kill[2] = 6;
        oom_match_v2_changed(m, 2, read_counts, &c, 100); /* waits for a victim in sk-a-b */
        ASSERT_EQ_U64(s.n, 0);
        ASSERT_EQ_INT(oom_match_set_nodes(m, fewer, ELEMENTSOF(fewer), 110), 0);
        ASSERT_EQ_U64(s.n, 1);       /* sk-a-b left: its waiting kill went out */
        ASSERT_STREQ(s.path[0], "/sk.slice/sk-a.slice/sk-a-b.slice");
        ASSERT_EQ_U64(oom_match_n_nodes(m), 3);
        ASSERT_TRUE(!(oom_match_node_needs_baseline(m, 0))); /* kept */
        ASSERT_TRUE(!(oom_match_node_needs_baseline(m, 1)));
        ASSERT_TRUE(oom_match_node_needs_baseline(m, 2));  /* new */
        ASSERT_EQ_INT(oom_match_set_nodes(m, dup, 2, 120), -EINVAL);
        ASSERT_EQ_U64(oom_match_n_nodes(m), 3);            /* unchanged */
        oom_match_free(m);
}

TEST(test_pending_bounded) {
        Seen s = { 0 };
        OomMatch *m = setup(&s, true);
        OomVictim v = victim(1, "/sk.slice/sk-a.slice/sk-a.scope", 1);
        OomMatchCounters k;

        for (unsigned i = 0; i < OOM_PENDING_MAX + 3; i++) {
                v.pid = 100 + i;
                ASSERT_EQ_INT(oom_match_victim(m, &v, 100 + i), 1);
        }
        oom_match_counters(m, &k);
        ASSERT_EQ_U64(k.waiting_victims, OOM_PENDING_MAX);
        ASSERT_EQ_U64(k.pending_overflow, 3);
        ASSERT_EQ_U64(s.n, 3); /* the oldest went out, from the log */
        oom_match_flush(m);
        oom_match_counters(m, &k);
        ASSERT_EQ_U64(k.waiting_victims, 0);
        ASSERT_EQ_U64(k.reported, OOM_PENDING_MAX + 3);
        oom_match_free(m);
}

TEST(test_unplaced_victim_and_uncountable) {
        Seen s = { 0 };
        Counts c = { .kill = { 5, 5, 5, 5 } };
        OomMatch *m = setup(&s, true);
        OomVictim v = victim(21, NULL, 1);
        OomMatchCounters k;
        size_t node = 77;

        /* Only a "Killed process" line, its cgroup not known: it goes with the next count anywhere. */
        ASSERT_EQ_INT(oom_match_victim(m, &v, 100), 1);
        ASSERT_TRUE(oom_match_victim_rss(m, 21, 1, 2, 3, 4));
        ASSERT_TRUE(!oom_match_victim_rss(m, 99, 1, 2, 3, 4));
        c.kill[3] = 6;
        oom_match_v2_changed(m, 3, read_counts, &c, 110);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_EQ_INT(s.victim_pid[0], 21);
        ASSERT_TRUE(s.has_rss[0]);
        /* With no count, it is dropped at the deadline, unreported. */
        ASSERT_EQ_INT(oom_match_victim(m, &v, 200), 1);
        oom_match_expire(m, 200 + OOM_COUNT_WAIT_USEC);
        ASSERT_EQ_U64(s.n, 1);
        oom_match_counters(m, &k);
        ASSERT_EQ_U64(k.victims_unwatched, 1);
        /* A placed victim whose cgroup is gone (v1): reported at once from the log. */
        v = victim(22, "/sk.slice/sk-a.slice/gone.scope", 1);
        ASSERT_EQ_INT(oom_match_victim(m, &v, 300), 1);
        ASSERT_EQ_U64(oom_match_n_waiting_victims(m), 1);
        ASSERT_EQ_INT(oom_match_waiting_victim(m, 0, &node)->pid, 22);
        ASSERT_EQ_U64(node, 1);
        oom_match_victim_uncountable(m, 0);
        ASSERT_EQ_U64(s.n, 2);
        ASSERT_TRUE(!s.r[1].counted);
        ASSERT_STREQ(s.path[1], "/sk.slice/sk-a.slice");
        ASSERT_EQ_U64(oom_match_n_waiting_victims(m), 0);
        oom_match_free(m);
}

TEST(test_v1_count_pairs_with_its_own_scope) {
        Seen s = { 0 };
        OomMatch *m;
        const char *paths[] = { "/sk.slice/sk-a.slice" };
        OomVictim a = victim(31, "/x/sk.slice/sk-a.slice/a.scope", 1), b = victim(32, "/x/sk.slice/sk-a.slice/b.scope", 2);

        ASSERT_EQ_INT(oom_match_new(on_emit, &s, &m), 0);
        oom_match_set_kmsg(m, true);
        oom_match_set_flat(m, true);
        ASSERT_EQ_INT(oom_match_set_nodes(m, paths, 1, 0), 0);
        oom_match_v1_begin(m, 0);
        oom_match_v1_observe(m, 0, "", 0, true, 10);
        oom_match_v1_end(m, 0);
        ASSERT_STREQ(oom_match_rest_below("/x/sk.slice/sk-a.slice/a.scope", "/sk.slice/sk-a.slice"), "/a.scope");
        ASSERT_STREQ(oom_match_rest_below("/sk.slice/sk-a.slice", "/sk.slice/sk-a.slice"), "");
        ASSERT_TRUE(oom_match_rest_below("/sk.slice/sk-a.slicex/a", "/sk.slice/sk-a.slice") == NULL);
        /* a's victim waits (its scope went before its count was read); b's count must not take it */
        ASSERT_EQ_INT(oom_match_victim(m, &a, 100), 1);
        oom_match_v1_begin(m, 0);
        oom_match_v1_observe(m, 0, "", 0, false, 110);
        oom_match_v1_observe(m, 0, "b.scope", 1, false, 110);
        oom_match_v1_end(m, 0);
        ASSERT_EQ_U64(s.n, 0);
        ASSERT_EQ_INT(oom_match_victim(m, &b, 120), 1);
        ASSERT_EQ_U64(s.n, 1);
        ASSERT_EQ_INT(s.victim_pid[0], 32);
        ASSERT_TRUE(s.r[0].counted);
        oom_match_victim_uncountable(m, 0);
        ASSERT_EQ_U64(s.n, 2);
        ASSERT_EQ_INT(s.victim_pid[1], 31);
        ASSERT_TRUE(!s.r[1].counted);
        oom_match_free(m);
}

int main(void) {
        RUN(test_v2_deepest_watched_once);
        RUN(test_v2_leaf_first_then_ancestor_lags);
        RUN(test_v2_reads_only_what_moved_and_gone_cgroups);
        RUN(test_v2_group_kill_one_report);
        RUN(test_victim_before_and_after_count);
        RUN(test_victim_not_watched_and_deeper);
        RUN(test_log_only_never_twice);
        RUN(test_v1_flat_counters);
        RUN(test_v1_scope_removed_log_credit);
        RUN(test_set_nodes_keeps_state_and_reports_leavers);
        RUN(test_pending_bounded);
        RUN(test_unplaced_victim_and_uncountable);
        RUN(test_v1_count_pairs_with_its_own_scope);
        return 0;
}
