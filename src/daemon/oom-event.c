/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "oom-event.h"

static json_t *u64_or_null(uint64_t v) {
        return v == UINT64_MAX || v > (uint64_t) INT64_MAX ? json_null() : json_integer((json_int_t) v);
}

static json_t *victim_json(const OomVictim *v) {
        if (!v)
                return json_null();
        return json_pack("{s:I, s:s?, s:I, s:I, s:s?, s:s?, s:s?, s:o, s:o, s:o, s:o}",
                         "pid", (json_int_t) v->pid, "comm", v->comm, "uid", (json_int_t) v->uid,
                         "kernel_usec", (json_int_t) MIN(v->kernel_usec, (uint64_t) INT64_MAX),
                         "task_memcg", v->task_memcg, "oom_memcg", v->oom_memcg, "constraint", v->constraint,
                         "total_vm_kb", v->has_rss ? u64_or_null(v->total_vm_kb) : json_null(),
                         "anon_rss_kb", v->has_rss ? u64_or_null(v->anon_rss_kb) : json_null(),
                         "file_rss_kb", v->has_rss ? u64_or_null(v->file_rss_kb) : json_null(),
                         "shmem_rss_kb", v->has_rss ? u64_or_null(v->shmem_rss_kb) : json_null());
}

/* "64.0M" */
static void format_bytes(uint64_t b, char buf[static 32]) {
        static const char units[] = "KMGTPE";
        double v = (double) b;
        size_t i = 0;

        if (b < 1024) {
                snprintf(buf, 32, "%" PRIu64 "B", b);
                return;
        }
        for (v /= 1024; v >= 1024 && i + 1 < sizeof(units) - 1; i++)
                v /= 1024;
        snprintf(buf, 32, "%.1f%c", v, units[i]);
}

static int make_message(const OomKill *k, OomEventOut *o) {
        const OomReport *r = k->report;
        const OomVictim *v = r->victim;
        char who[160] = "", limit[64] = "", use[32];
        int n;

        if (k->slice->is_user)
                snprintf(who, sizeof(who), " (user %s)", k->slice->user ? k->slice->user : o->uname);
        if (k->memory_max != UINT64_MAX) {
                format_bytes(k->memory_max, use);
                snprintf(limit, sizeof(limit), ", limit %s", use);
        }
        if (r->group)
                n = asprintf(&o->message, "OOM group kill in %s%s: %" PRIu64 " tasks killed%s.", k->slice->unit, who,
                             r->killed, limit);
        else if (v) {
                char rss[48] = "";

                if (v->has_rss) {
                        format_bytes(v->anon_rss_kb > UINT64_MAX / 1024 ? UINT64_MAX : v->anon_rss_kb * 1024, use);
                        snprintf(rss, sizeof(rss), ", anon-rss %s", use);
                }
                n = asprintf(&o->message, "OOM kill in %s%s: %s (pid %" PRIu32 ", uid %" PRIu32 ") killed%s%s.",
                             k->slice->unit, who, v->comm ? v->comm : "?", v->pid, v->uid, rss, limit);
        } else
                n = asprintf(&o->message, "OOM kill in %s%s%s (the kernel log did not name the victim).",
                             k->slice->unit, who, limit);
        if (n < 0) {
                o->message = NULL;
                return -ENOMEM;
        }
        return 0;
}

int oom_event_convert(const OomKill *k, const char *node, const uint8_t random[EVENT_ID_LEN], OomEventOut *ret) {
        OomEventOut o = { 0 };
        const OomReport *r;
        const OomVictim *v;
        char when[32];
        bool has_uid;
        uint32_t uid;
        int q;

        assert(k);
        assert(node);
        assert(ret);

        if (!k->slice || !k->slice->unit || !k->report)
                return -EINVAL;
        r = k->report;
        v = r->victim;
        /* A user's slice is about the user; a group's names the victim's UID in the log line only. */
        has_uid = k->slice->is_user;
        uid = has_uid ? k->slice->uid : v ? v->uid : 0;
        snprintf(o.uname, sizeof(o.uname), "%" PRIu32, uid);
        event_id_from_bytes(random, o.id);
        event_format_time(k->kill_wall_usec, when);
        o.event = (Event) {
                .kind = EVENT_OOM,
                .wall = k->kill_wall_usec,
                .has_uid = has_uid,
                .uid = uid,
                .user = has_uid ? k->slice->user : NULL,
                .slice = k->slice->unit,
        };
        o.fields = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:o, s:o, s:o, s:o, s:s, s:o}",
                             "id", o.id,
                             "unit", k->slice->unit,
                             "cgroup", k->cgroup ? k->cgroup : "",
                             "counted", r->counted,
                             "group_kill", r->group,
                             "killed", (json_int_t) r->killed,
                             "oom_kill", r->counted ? u64_or_null(r->counter) : json_null(),
                             "victim", victim_json(v),
                             "memory_max", u64_or_null(k->memory_max),
                             "memory_current", u64_or_null(k->memory_current),
                             "kill_time", when,
                             "latency_usec", u64_or_null(k->latency_usec));
        if (!o.fields) {
                oom_event_out_done(&o);
                return -ENOMEM;
        }
        q = make_message(k, &o);
        if (q >= 0)
                q = event_line_oom(&(OomEventLine) {
                        .id = o.id,
                        .timestamp = (time_t) (k->kill_wall_usec / USEC_PER_SEC),
                        .uid = uid,
                        .uname = has_uid && k->slice->user ? k->slice->user : o.uname,
                        .node = node,
                        .cgroup = k->slice->unit,
                        .pid = v ? v->pid : 0,
                        .comm = v ? v->comm : NULL,
                        .slice = k->slice->unit,
                        .task_memcg = v ? v->task_memcg : NULL,
                        .oom_memcg = v ? v->oom_memcg : NULL,
                        .has_oom_kill = r->counted,
                        .oom_kill = r->counter,
                        .killed = r->group ? r->killed : 0,
                        .has_memory = true,
                        .memory_max = k->memory_max,
                        .memory_current = k->memory_current,
                        .has_latency = k->latency_usec != USEC_INFINITY,
                        .latency_ms = (double) k->latency_usec / 1000.0,
                }, &o.log_line);
        if (q < 0) {
                oom_event_out_done(&o);
                return q;
        }
        o.event.message = o.message;
        o.event.fields = o.fields;
        o.event.log_line = o.log_line;
        *ret = o;
        if (v) {
                /* Pointers into *ret, not into the copy made above. */
                snprintf(ret->journal_pid, sizeof(ret->journal_pid), "OOM_VICTIM_PID=%" PRIu32, v->pid);
                snprintf(ret->journal_comm, sizeof(ret->journal_comm), "OOM_VICTIM_COMM=%s", v->comm ? v->comm : "");
                ret->journal[0] = ret->journal_pid;
                ret->journal[1] = ret->journal_comm;
                ret->n_journal = 2;
        }
        return 0;
}

void oom_event_out_done(OomEventOut *o) {
        if (!o)
                return;
        free(o->message);
        json_decref(o->fields);
        free(o->log_line);
        *o = (OomEventOut) { 0 };
}
