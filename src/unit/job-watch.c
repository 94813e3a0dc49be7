/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "job-watch.h"

#define EARLY_JOBS_MAX 64

typedef struct Wait {
        char *job;
        JobDone done;
        void *userdata;
} Wait;

typedef struct EarlyJob {
        char *job, *result;
} EarlyJob;

struct JobWatch {
        sd_bus_slot *match;
        Wait *waits;
        size_t n_waits, cap_waits;
        EarlyJob early[EARLY_JOBS_MAX];
        size_t early_next;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        JobWatch *w = userdata;
        const char *job, *unit, *result;
        uint32_t id;
        EarlyJob *e;

        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        for (size_t i = 0; i < w->n_waits; i++)
                if (streq(w->waits[i].job, job)) {
                        Wait wait = w->waits[i];

                        w->waits[i] = w->waits[--w->n_waits];
                        wait.done(result, wait.userdata);
                        free(wait.job);
                        return 0;
                }
        /* The signal can overtake the reply that names the job: keep it a while. */
        e = &w->early[w->early_next];
        free(e->job);
        free(e->result);
        e->job = strdup(job);
        e->result = strdup(result);
        w->early_next = (w->early_next + 1) % EARLY_JOBS_MAX;
        return 0;
}

int job_watch_new(sd_bus *bus, JobWatch **ret) {
        _cleanup_(job_watch_freep) JobWatch *w = calloc(1, sizeof(JobWatch));
        int r;

        assert(bus);
        assert(ret);
        if (!w)
                return -ENOMEM;
        r = sd_bus_match_signal_async(bus, &w->match, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                      "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, NULL, w);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

JobWatch *job_watch_free(JobWatch *w) {
        if (!w)
                return NULL;
        sd_bus_slot_unref(w->match);
        for (size_t i = 0; i < w->n_waits; i++)
                free(w->waits[i].job);
        free(w->waits);
        for (size_t i = 0; i < EARLY_JOBS_MAX; i++) {
                free(w->early[i].job);
                free(w->early[i].result);
        }
        free(w);
        return NULL;
}

int job_watch_add(JobWatch *w, const char *job, JobDone done, void *userdata) {
        char *copy;

        assert(w);
        assert(job);
        assert(done);
        for (size_t i = 0; i < EARLY_JOBS_MAX; i++)
                if (w->early[i].job && streq(w->early[i].job, job)) {
                        _cleanup_(freep) char *result = TAKE_PTR(w->early[i].result);

                        w->early[i].job = (free(w->early[i].job), NULL);
                        done(result ? result : "failed", userdata);
                        return 0;
                }
        if (w->n_waits == w->cap_waits) {
                size_t cap = MAX(w->cap_waits * 2, (size_t) 16);
                Wait *n = realloc(w->waits, cap * sizeof(Wait));

                if (!n)
                        return -ENOMEM;
                w->waits = n;
                w->cap_waits = cap;
        }
        copy = strdup(job);
        if (!copy)
                return -ENOMEM;
        w->waits[w->n_waits++] = (Wait) { copy, done, userdata };
        return 0;
}

void job_watch_cancel(JobWatch *w, void *userdata) {
        for (size_t i = 0; w && i < w->n_waits; i++)
                if (w->waits[i].userdata == userdata) {
                        free(w->waits[i].job);
                        w->waits[i] = w->waits[--w->n_waits];
                        return;
                }
}
