/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "oom-match.h"
#include "strmap.h"

typedef struct V1Dir {
        char *name;            /* below the node's cgroup ("" its own, "a.scope", "a.scope/x") */
        uint64_t count;
        bool seen;             /* in the sweep under way */
} V1Dir;

typedef struct Node {
        char *path;
        size_t parent;         /* the nearest watched ancestor, SIZE_MAX: none */
        bool baseline_done;
        uint64_t seen, seen_group; /* v2: kills accounted for at this node or below it */
        uint64_t kills;        /* reported here */
        uint64_t last_counter;
        V1Dir *dirs;
        size_t n_dirs;
} Node;

typedef struct PendingKill {
        size_t node;
        char dir[OOM_DIR_MAX];   /* v1: the cgroup below the node whose counter showed it ("": the node's own) */
        bool has_dir;
        bool group;
        uint64_t killed, counter;
        usec_t detected, deadline;
} PendingKill;

typedef struct PendingVictim {
        OomVictim v;           /* its strings are owned */
        size_t node;
        usec_t detected, deadline;
} PendingVictim;

struct OomMatch {
        OomMatchEmit emit;
        void *userdata;
        bool kmsg;
        bool flat;             /* v1: a counter per cgroup, swept (oom_match_v1_*) */
        Node *nodes;
        size_t n_nodes;
        StrMap by_path;        /* borrows the nodes' paths */
        size_t n_v1_dirs;
        PendingKill kills[OOM_PENDING_MAX];
        size_t n_kills;
        PendingVictim victims[OOM_PENDING_MAX];
        size_t n_victims;
        OomMatchCounters c;
};

int oom_match_new(OomMatchEmit emit, void *userdata, OomMatch **ret) {
        OomMatch *m;

        assert(emit);
        assert(ret);
        m = calloc(1, sizeof(OomMatch));
        if (!m)
                return -ENOMEM;
        m->emit = emit;
        m->userdata = userdata;
        *ret = m;
        return 0;
}

static void victim_done(OomVictim *v) {
        free((char *) v->comm);
        free((char *) v->task_memcg);
        free((char *) v->oom_memcg);
        free((char *) v->constraint);
        *v = (OomVictim) { 0 };
}

static int victim_copy(const OomVictim *from, OomVictim *to) {
        *to = *from;
        to->comm = from->comm ? strdup(from->comm) : NULL;
        to->task_memcg = from->task_memcg ? strdup(from->task_memcg) : NULL;
        to->oom_memcg = from->oom_memcg ? strdup(from->oom_memcg) : NULL;
        to->constraint = from->constraint ? strdup(from->constraint) : NULL;
        if ((from->comm && !to->comm) || (from->task_memcg && !to->task_memcg) ||
            (from->oom_memcg && !to->oom_memcg) || (from->constraint && !to->constraint)) {
                victim_done(to);
                return -ENOMEM;
        }
        return 0;
}

static void node_done(Node *n) {
        for (size_t i = 0; i < n->n_dirs; i++)
                free(n->dirs[i].name);
        free(n->dirs);
        free(n->path);
}

static void nodes_free(Node *nodes, size_t n) {
        for (size_t i = 0; i < n; i++)
                node_done(&nodes[i]);
        free(nodes);
}

OomMatch *oom_match_free(OomMatch *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_victims; i++)
                victim_done(&m->victims[i].v);
        nodes_free(m->nodes, m->n_nodes);
        strmap_done(&m->by_path);
        free(m);
        return NULL;
}

void oom_match_set_kmsg(OomMatch *m, bool readable) {
        m->kmsg = readable;
}

void oom_match_set_flat(OomMatch *m, bool flat) {
        m->flat = flat;
}

size_t oom_match_n_nodes(const OomMatch *m) {
        return m->n_nodes;
}

const char *oom_match_node_path(const OomMatch *m, size_t node) {
        return node < m->n_nodes ? m->nodes[node].path : NULL;
}

uint64_t oom_match_node_kills(const OomMatch *m, size_t node) {
        return node < m->n_nodes ? m->nodes[node].kills : 0;
}

bool oom_match_node_needs_baseline(const OomMatch *m, size_t node) {
        return node < m->n_nodes && !m->nodes[node].baseline_done;
}

/* Whether `a` is `b` or one of its watched ancestors. */
static bool node_is_self_or_ancestor(const OomMatch *m, size_t a, size_t b) {
        for (size_t i = b; i != SIZE_MAX; i = m->nodes[i].parent)
                if (i == a)
                        return true;
        return false;
}

static void emit(OomMatch *m, size_t node, bool counted, bool group, uint64_t killed, uint64_t counter,
                 const OomVictim *v, usec_t detected) {
        OomReport r = {
                .node = node,
                .counted = counted,
                .group = group,
                .killed = killed,
                .counter = counter,
                .victim = v,
                .detected_usec = detected,
        };

        m->nodes[node].kills += killed;
        m->c.reported++;
        if (!v)
                m->c.without_victim++;
        if (!counted)
                m->c.from_log_only++;
        m->emit(m, &r, m->userdata);
}

static void kill_remove(OomMatch *m, size_t i) {
        memmove(&m->kills[i], &m->kills[i + 1], (m->n_kills - i - 1) * sizeof(PendingKill));
        m->n_kills--;
}

static void victim_remove(OomMatch *m, size_t i) {
        victim_done(&m->victims[i].v);
        memmove(&m->victims[i], &m->victims[i + 1], (m->n_victims - i - 1) * sizeof(PendingVictim));
        m->n_victims--;
}

static void expire_victim(OomMatch *m, size_t i);

/* Kills in `node` and each watched ancestor: a log-only report, so that the counters catching up later
 * find them accounted for. */
static void account_up(OomMatch *m, size_t node, uint64_t kills, uint64_t group) {
        for (size_t i = node; i != SIZE_MAX; i = m->nodes[i].parent) {
                m->nodes[i].seen += kills;
                m->nodes[i].seen_group += group;
        }
}

/* A kill a counter showed: with the oldest waiting victim below the node, else it waits for one (or goes out
 * at once when no victim can come). */
const char *oom_match_rest_below(const char *kmsg_path, const char *node_path) {
        size_t len = strlen(node_path);

        for (const char *p = kmsg_path; p; p = strchr(p + 1, '/'))
                if (strncmp(p, node_path, len) == 0 && (p[len] == '\0' || p[len] == '/'))
                        return p + len;
        return NULL;
}

/* Whether a count (at `node`, v1: in cgroup `dir` below it) and a victim (at victim_node, NULL: not placed)
 * are the same kill: the victim in the node or below; on v1, in the very cgroup whose counter moved, unless
 * the victim is known only as far as the node. */
static bool pair_ok(const OomMatch *m, size_t node, const char *dir, size_t victim_node, const char *task_memcg) {
        const char *rest;

        if (victim_node == SIZE_MAX)
                return true; /* its cgroup not known: it goes with whichever count comes first */
        if (!node_is_self_or_ancestor(m, node, victim_node))
                return false;
        if (!dir || victim_node != node || !task_memcg)
                return true;
        rest = oom_match_rest_below(task_memcg, m->nodes[node].path);
        if (!rest || !*rest)
                return true;
        return streq(rest + 1, dir);
}

static void counted_kill(OomMatch *m, size_t node, const char *dir, bool group, uint64_t killed, uint64_t counter,
                         usec_t now) {
        for (size_t i = 0; i < m->n_victims; i++) {
                PendingVictim *pv = &m->victims[i];

                if (!pair_ok(m, node, dir, pv->node, pv->v.task_memcg))
                        continue;
                emit(m, node, /* counted= */ true, group, killed, counter, &pv->v, MIN(pv->detected, now));
                victim_remove(m, i);
                return;
        }
        if (!m->kmsg) {
                emit(m, node, true, group, killed, counter, NULL, now);
                return;
        }
        if (m->n_kills == OOM_PENDING_MAX) {
                m->c.pending_overflow++;
                emit(m, m->kills[0].node, true, m->kills[0].group, m->kills[0].killed, m->kills[0].counter, NULL,
                     m->kills[0].detected);
                kill_remove(m, 0);
        }
        m->kills[m->n_kills] = (PendingKill) {
                .node = node,
                .has_dir = dir && strlen(dir) < OOM_DIR_MAX,
                .group = group,
                .killed = killed,
                .counter = counter,
                .detected = now,
                .deadline = usec_add(now, OOM_VICTIM_WAIT_USEC),
        };
        if (m->kills[m->n_kills].has_dir)
                strcpy(m->kills[m->n_kills].dir, dir);
        m->n_kills++;
}

int oom_match_victim(OomMatch *m, const OomVictim *v, usec_t now) {
        size_t node = v->task_memcg ? oom_match_node_of(m, v->task_memcg) : SIZE_MAX;
        PendingVictim *pv;
        int r;

        if (node == SIZE_MAX && v->task_memcg) {
                m->c.victims_unwatched++;
                return 0;
        }
        for (size_t i = 0; i < m->n_kills; i++) {
                PendingKill k = m->kills[i];

                if (!pair_ok(m, k.node, k.has_dir ? k.dir : NULL, node, v->task_memcg))
                        continue;
                kill_remove(m, i);
                emit(m, k.node, true, k.group, k.killed, k.counter, v, k.detected);
                return 1;
        }
        if (m->n_victims == OOM_PENDING_MAX) {
                m->c.pending_overflow++;
                expire_victim(m, 0);
        }
        pv = &m->victims[m->n_victims];
        r = victim_copy(v, &pv->v);
        if (r < 0) {
                /* Not kept: its counter still reports the kill, without a victim. */
                m->c.pending_overflow++;
                return r;
        }
        pv->node = node;
        pv->detected = now;
        pv->deadline = usec_add(now, OOM_COUNT_WAIT_USEC);
        m->n_victims++;
        return 1;
}

bool oom_match_victim_rss(OomMatch *m, uint32_t pid, uint64_t total_vm_kb, uint64_t anon_rss_kb, uint64_t file_rss_kb,
                          uint64_t shmem_rss_kb) {
        for (size_t i = m->n_victims; i > 0; i--) {
                OomVictim *v = &m->victims[i - 1].v;

                if (v->pid != pid || v->has_rss)
                        continue;
                v->has_rss = true;
                v->total_vm_kb = total_vm_kb;
                v->anon_rss_kb = anon_rss_kb;
                v->file_rss_kb = file_rss_kb;
                v->shmem_rss_kb = shmem_rss_kb;
                return true;
        }
        return false;
}

void oom_match_baseline(OomMatch *m, size_t node, uint64_t oom_kill, uint64_t oom_group_kill) {
        Node *n;

        if (node >= m->n_nodes)
                return;
        n = &m->nodes[node];
        n->seen = oom_kill;
        n->seen_group = oom_group_kill;
        n->last_counter = oom_kill;
        n->baseline_done = true;
}

/* Reads the node; where its counter is ahead of what is accounted for, its watched children first, then what
 * is left happened at this node (in it or in a cgroup below it that is not watched). */
static void v2_descend(OomMatch *m, size_t node, OomReadCounts read, void *userdata, usec_t now, unsigned depth) {
        Node *n = &m->nodes[node];
        uint64_t kills, group;

        if (!n->baseline_done || depth > 64)
                return;
        if (read(node, &kills, &group, userdata) < 0)
                return;
        n->last_counter = kills;
        if (kills <= n->seen && group <= n->seen_group)
                return;
        for (size_t i = 0; i < m->n_nodes; i++)
                if (m->nodes[i].parent == node)
                        v2_descend(m, i, read, userdata, now, depth + 1);
        n = &m->nodes[node];
        if (group > n->seen_group) {
                /* One report per group kill, with all the tasks it killed; kills beyond them are single. */
                uint64_t g = group - n->seen_group, k = kills > n->seen ? kills - n->seen : 0;

                account_up(m, node, k, g);
                for (uint64_t i = 0; i < g; i++)
                        counted_kill(m, node, NULL, /* group= */ true, i + 1 < g ? 1 : MAX(k, (uint64_t) 1) - (g - 1),
                                     kills, now);
                return;
        }
        if (kills > n->seen) {
                uint64_t k = kills - n->seen;

                account_up(m, node, k, 0);
                for (uint64_t i = 0; i < k; i++)
                        counted_kill(m, node, NULL, false, 1, kills - (k - 1 - i), now);
        }
}

void oom_match_v2_changed(OomMatch *m, size_t node, OomReadCounts read, void *userdata, usec_t now) {
        assert(read);
        if (node >= m->n_nodes)
                return;
        /* An ancestor's counter moves last (the kernel counts upwards): starting at the node is enough, a kill
         * below an unread ancestor is found again (accounted for) when the ancestor's turn comes. */
        v2_descend(m, node, read, userdata, now, 0);
}

void oom_match_v1_begin(OomMatch *m, size_t node) {
        if (node >= m->n_nodes)
                return;
        for (size_t i = 0; i < m->nodes[node].n_dirs; i++)
                m->nodes[node].dirs[i].seen = false;
}

void oom_match_v1_observe(OomMatch *m, size_t node, const char *dir, uint64_t oom_kill, bool baseline, usec_t now) {
        Node *n;
        V1Dir *d = NULL;
        uint64_t before, delta;

        if (node >= m->n_nodes)
                return;
        n = &m->nodes[node];
        for (size_t i = 0; i < n->n_dirs; i++)
                if (streq(n->dirs[i].name, dir)) {
                        d = &n->dirs[i];
                        break;
                }
        if (!d) {
                V1Dir *dirs;
                char *name;

                if (m->n_v1_dirs >= OOM_V1_DIRS_MAX) {
                        m->c.v1_dirs_dropped++;
                        return;
                }
                name = strdup(dir);
                dirs = name ? realloc(n->dirs, (n->n_dirs + 1) * sizeof(V1Dir)) : NULL;
                if (!dirs) {
                        free(name);
                        m->c.v1_dirs_dropped++;
                        return;
                }
                n->dirs = dirs;
                d = &n->dirs[n->n_dirs++];
                /* Made since the last sweep: it started at 0. */
                *d = (V1Dir) { .name = name, .count = baseline ? oom_kill : 0 };
                m->n_v1_dirs++;
        }
        d->seen = true;
        before = d->count;
        d->count = oom_kill;
        if (baseline) {
                n->baseline_done = true;
                return;
        }
        /* Lower than before: the directory was removed and made again under the same name. */
        delta = oom_kill >= before ? oom_kill - before : oom_kill;
        n->last_counter = oom_kill;
        for (uint64_t i = 0; i < delta; i++)
                counted_kill(m, node, dir, false, 1, oom_kill - (delta - 1 - i), now);
}

void oom_match_v1_end(OomMatch *m, size_t node) {
        Node *n;
        size_t k = 0;

        if (node >= m->n_nodes)
                return;
        n = &m->nodes[node];
        for (size_t i = 0; i < n->n_dirs; i++) {
                if (!n->dirs[i].seen) {
                        free(n->dirs[i].name);
                        m->n_v1_dirs--;
                        continue;
                }
                n->dirs[k++] = n->dirs[i];
        }
        n->n_dirs = k;
}

/* "/a/b/c" → "/a/b" in place; false at the top. */
static bool path_strip_last(char *p) {
        char *slash = strrchr(p, '/');

        if (!slash || slash == p)
                return false;
        *slash = '\0';
        return true;
}

size_t oom_match_node_of(const OomMatch *m, const char *kmsg_path) {
        _cleanup_(freep) char *p = NULL;

        if (!kmsg_path || kmsg_path[0] != '/' || m->n_nodes == 0)
                return SIZE_MAX;
        p = strdup(kmsg_path);
        if (!p)
                return SIZE_MAX;
        /* The kernel prints paths from its hierarchy's root, the daemon sees them from its cgroup namespace's:
         * the watched path is a suffix of a leading part of the printed one. Deepest first. */
        do {
                for (const char *s = p; s; s = strchr(s + 1, '/')) {
                        Node *n = strmap_get(&m->by_path, s);

                        if (n)
                                return (size_t) (n - m->nodes);
                }
        } while (path_strip_last(p));
        return SIZE_MAX;
}

int oom_match_set_nodes(OomMatch *m, const char *const *paths, size_t n, usec_t now) {
        _cleanup_(strmap_done) StrMap map = { 0 };
        Node *nodes;
        size_t *old_to_new = NULL;
        int r = 0;

        n = MIN(n, (size_t) OOM_NODES_MAX);
        nodes = calloc(MAX(n, (size_t) 1), sizeof(Node));
        old_to_new = malloc(MAX(m->n_nodes, (size_t) 1) * sizeof(size_t));
        if (!nodes || !old_to_new) {
                free(nodes);
                free(old_to_new);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                nodes[i] = (Node) { .parent = SIZE_MAX, .path = strdup(paths[i]) };
                if (!nodes[i].path)
                        r = -ENOMEM;
                else
                        r = strmap_put(&map, nodes[i].path, &nodes[i]);
                if (r == -EEXIST)
                        r = -EINVAL;
        }
        if (r < 0) {
                nodes_free(nodes, n);
                free(old_to_new);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *p = strdup(nodes[i].path);

                if (!p) {
                        nodes_free(nodes, n);
                        free(old_to_new);
                        return -ENOMEM;
                }
                while (path_strip_last(p)) {
                        Node *up = strmap_get(&map, p);

                        if (up) {
                                nodes[i].parent = (size_t) (up - nodes);
                                break;
                        }
                }
        }
        /* Kept paths keep their state; what waits for a node that goes away is reported now. */
        for (size_t i = 0; i < m->n_nodes; i++) {
                Node *old = &m->nodes[i], *new = strmap_get(&map, old->path);

                old_to_new[i] = new ? (size_t) (new - nodes) : SIZE_MAX;
                if (!new)
                        continue;
                new->baseline_done = old->baseline_done;
                new->seen = old->seen;
                new->seen_group = old->seen_group;
                new->kills = old->kills;
                new->last_counter = old->last_counter;
                new->dirs = TAKE_PTR(old->dirs);
                new->n_dirs = old->n_dirs;
                old->n_dirs = 0;
        }
        for (size_t i = m->n_kills; i > 0; i--) {
                PendingKill *k = &m->kills[i - 1];

                if (old_to_new[k->node] != SIZE_MAX)
                        continue;
                emit(m, k->node, true, k->group, k->killed, k->counter, NULL, k->detected);
                kill_remove(m, i - 1);
        }
        for (size_t i = m->n_victims; i > 0; i--) {
                PendingVictim *pv = &m->victims[i - 1];

                if (pv->node == SIZE_MAX || old_to_new[pv->node] != SIZE_MAX)
                        continue;
                emit(m, pv->node, false, false, 1, 0, &pv->v, pv->detected);
                victim_remove(m, i - 1);
        }
        for (size_t i = 0; i < m->n_kills; i++)
                m->kills[i].node = old_to_new[m->kills[i].node];
        for (size_t i = 0; i < m->n_victims; i++)
                if (m->victims[i].node != SIZE_MAX)
                        m->victims[i].node = old_to_new[m->victims[i].node];
        m->n_v1_dirs = 0;
        for (size_t i = 0; i < n; i++)
                m->n_v1_dirs += nodes[i].n_dirs;
        free(old_to_new);
        nodes_free(m->nodes, m->n_nodes);
        strmap_done(&m->by_path);
        m->nodes = nodes;
        m->n_nodes = n;
        m->by_path = map;
        map = (StrMap) { 0 };
        (void) now;
        return 0;
}

usec_t oom_match_next_deadline(const OomMatch *m) {
        usec_t d = USEC_INFINITY;

        /* Both queues are in arrival order, each with one wait: the first of each is the earliest. */
        if (m->n_kills > 0)
                d = MIN(d, m->kills[0].deadline);
        if (m->n_victims > 0)
                d = MIN(d, m->victims[0].deadline);
        return d;
}

/* v1: a kill reported from the log alone, in the cgroup the victim was in (below the node): its counter, when
 * it shows the kill later, shows one more than last seen, which is taken as seen now. */
static void v1_account(OomMatch *m, size_t node, const char *task_memcg) {
        Node *n = &m->nodes[node];
        const char *rest = oom_match_rest_below(task_memcg, n->path);

        if (!rest)
                return;
        if (*rest == '/')
                rest++;
        for (size_t i = 0; i < n->n_dirs; i++)
                if (streq(n->dirs[i].name, rest)) {
                        n->dirs[i].count++;
                        return;
                }
        if (m->n_v1_dirs < OOM_V1_DIRS_MAX) {
                V1Dir *dirs = realloc(n->dirs, (n->n_dirs + 1) * sizeof(V1Dir));
                char *name = dirs ? strdup(rest) : NULL;

                if (dirs)
                        n->dirs = dirs;
                if (!name)
                        return;
                /* Not swept yet: made since, from 0, and this kill is its first. */
                n->dirs[n->n_dirs++] = (V1Dir) { .name = name, .count = 1, .seen = true };
                m->n_v1_dirs++;
        }
}

/* A victim no count showed in time: reported from the log alone, and accounted for so that a counter that
 * catches up later adds nothing (`account`: false when no counter can show it any more). */
static void victim_report_alone(OomMatch *m, size_t i, bool account) {
        PendingVictim *pv = &m->victims[i];

        if (pv->node == SIZE_MAX) {
                /* Not placed, not counted: nothing says it was one of ours. */
                m->c.victims_unwatched++;
                victim_remove(m, i);
                return;
        }
        if (account) {
                if (!m->flat)
                        account_up(m, pv->node, 1, 0);
                else if (pv->v.task_memcg)
                        v1_account(m, pv->node, pv->v.task_memcg);
        }
        emit(m, pv->node, /* counted= */ false, false, 1, 0, &pv->v, pv->detected);
        victim_remove(m, i);
}

static void expire_victim(OomMatch *m, size_t i) {
        victim_report_alone(m, i, /* account= */ true);
}

size_t oom_match_n_waiting_victims(const OomMatch *m) {
        return m->n_victims;
}

const OomVictim *oom_match_waiting_victim(const OomMatch *m, size_t i, size_t *ret_node) {
        if (i >= m->n_victims)
                return NULL;
        if (ret_node)
                *ret_node = m->victims[i].node;
        return &m->victims[i].v;
}

void oom_match_victim_uncountable(OomMatch *m, size_t i) {
        if (i < m->n_victims)
                victim_report_alone(m, i, /* account= */ false);
}

void oom_match_expire(OomMatch *m, usec_t now) {
        while (m->n_kills > 0 && m->kills[0].deadline <= now) {
                PendingKill k = m->kills[0];

                kill_remove(m, 0);
                emit(m, k.node, true, k.group, k.killed, k.counter, NULL, k.detected);
        }
        while (m->n_victims > 0 && m->victims[0].deadline <= now)
                expire_victim(m, 0);
}

void oom_match_flush(OomMatch *m) {
        oom_match_expire(m, USEC_INFINITY);
}

void oom_match_counters(const OomMatch *m, OomMatchCounters *ret) {
        *ret = m->c;
        ret->waiting_kills = m->n_kills;
        ret->waiting_victims = m->n_victims;
}
