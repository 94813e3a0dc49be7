/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "event-hub.h"
#include "fair-event.h"
#include "fileio.h"
#include "log-once.h"
#include "log.h"
#include "strv.h"

struct EventHub {
        EventRing ring;
        char *node;
        uint8_t salt[EVENT_ID_LEN]; /* throttle events' IDs (fair_event_throttle_id()) */
        EventHubPush push;
        void *push_userdata;
        uint64_t n_published, n_failed, n_journal_failed;
        uint64_t n_by_kind[_EVENT_KIND_MAX]; /* published, per kind (/metrics) */
        /* the event log */
        char *log_path;             /* NULL: off */
        int log_fd;                 /* -EBADF: opened at the next line */
        uint64_t n_written, n_dropped, n_reopened;
        char *log_error;            /* the last failure, for status */
        LogOnce log_once;
};

static void random_bytes(uint8_t *buf, size_t n) {
        ssize_t k = getrandom(buf, n, GRND_NONBLOCK);

        /* Before the pool is ready (early boot): not secret, only distinct, so the clock will do. */
        if (k != (ssize_t) n) {
                uint64_t x = now_usec(CLOCK_REALTIME) ^ ((uint64_t) getpid() << 32) ^ now_usec(CLOCK_MONOTONIC);

                for (size_t i = 0; i < n; i++) {
                        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                        buf[i] ^= (uint8_t) (x >> 56);
                }
        }
}

int event_hub_new(const char *log_path, const char *node, EventHub **ret) {
        _cleanup_(event_hub_freep) EventHub *h = NULL;
        char host[256] = "";
        int r;

        assert(ret);

        h = calloc(1, sizeof(EventHub));
        if (!h)
                return -ENOMEM;
        h->log_fd = -EBADF;
        r = event_ring_init(&h->ring, EVENT_RING_MAX);
        if (r < 0)
                return r;
        if (!node) {
                if (gethostname(host, sizeof(host) - 1) < 0)
                        strcpy(host, "localhost");
                node = host;
        }
        h->node = strdup(node);
        if (!h->node)
                return -ENOMEM;
        if (!isempty(log_path)) {
                h->log_path = strdup(log_path);
                if (!h->log_path)
                        return -ENOMEM;
        }
        random_bytes(h->salt, sizeof(h->salt));
        *ret = TAKE_PTR(h);
        return 0;
}

EventHub *event_hub_free(EventHub *h) {
        if (!h)
                return NULL;
        if (h->log_fd >= 0)
                close(h->log_fd);
        event_ring_done(&h->ring);
        free(h->node);
        free(h->log_path);
        free(h->log_error);
        log_once_reset(&h->log_once);
        free(h);
        return NULL;
}

void event_hub_set_push(EventHub *h, EventHubPush push, void *userdata) {
        assert(h);
        h->push = push;
        h->push_userdata = userdata;
}

const EventRing *event_hub_ring(const EventHub *h) {
        assert(h);
        return &h->ring;
}

const char *event_hub_node(const EventHub *h) {
        assert(h);
        return h->node;
}

/* A line not written: counted, kept for status, logged once per cause. */
static void hub_log_failed(EventHub *h, const char *what, int error) {
        char *text = NULL;

        h->n_dropped++;
        if (asprintf(&text, "%s %s: %s", what, h->log_path, strerror(-error)) < 0)
                return;
        free(h->log_error);
        h->log_error = text;
        if (log_once_should(&h->log_once, text))
                log_warning("Event log: cannot %s; event lines are dropped (counted in status) until it works "
                            "again.", text);
}

static int hub_log_open(EventHub *h) {
        _cleanup_(freep) char *dir = strdup(h->log_path);
        char *slash;
        int fd, r;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                r = mkdir_p(dir, 0755);
                if (r < 0)
                        return r;
        }
        /* O_NONBLOCK: a FIFO or a device with nobody reading must not hold the loop */
        fd = open(h->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
        if (fd < 0)
                return -errno;
        h->log_fd = fd;
        return 0;
}

/* One line, one write(): with O_APPEND it lands whole after whatever is there, or not at all when the
 * disk is full. A short write (the disk filled up during it) ends its piece with a newline, so the next
 * line stands alone. Never retried: the line is dropped and counted. */
static void hub_log_line(EventHub *h, const char *line) {
        size_t n = strlen(line);
        ssize_t k;
        int r;

        if (!h->log_path)
                return;
        if (n > EVENT_LOG_LINE_MAX) {
                hub_log_failed(h, "write a line of more than 8192 bytes to", -E2BIG);
                return;
        }
        if (h->log_fd < 0) {
                r = hub_log_open(h);
                if (r < 0) {
                        hub_log_failed(h, "open", r);
                        return;
                }
        }
        k = write(h->log_fd, line, n);
        if (k == (ssize_t) n) {
                h->n_written++;
                log_once_reset(&h->log_once);
                return;
        }
        if (k > 0)
                (void) write(h->log_fd, "\n", 1);
        hub_log_failed(h, "write to", k < 0 ? -errno : -ENOSPC);
}

void event_hub_reopen(EventHub *h) {
        assert(h);

        if (!h->log_path)
                return;
        if (h->log_fd >= 0) {
                close(h->log_fd);
                h->log_fd = -EBADF;
        }
        h->n_reopened++;
        log_once_reset(&h->log_once);
}

static void hub_journal(EventHub *h, const Event *e, uint64_t seq) {
        _cleanup_(strv_freep) char **fields = NULL;
        struct iovec iov[EVENT_JOURNAL_FIELDS_MAX];
        size_t n = 0;

        if (event_journal_fields(e, seq, &fields) < 0) {
                h->n_journal_failed++;
                return;
        }
        for (; fields[n] && n < ELEMENTSOF(iov); n++)
                iov[n] = (struct iovec) { .iov_base = fields[n], .iov_len = strlen(fields[n]) };
        if (sd_journal_sendv(iov, (int) n) < 0)
                h->n_journal_failed++;
}

int64_t event_hub_publish(EventHub *h, const Event *e) {
        _cleanup_(freep) char *text = NULL, *live = NULL, *line = NULL;
        uint64_t seq;
        int r;

        assert(h);
        assert(e);

        seq = event_ring_next_seq(&h->ring);
        r = event_to_json(e, seq, h->node, &text);
        if (r >= 0)
                r = event_ring_push(&h->ring, e->kind, e->has_uid, e->uid, e->slice, text, strlen(text));
        if (r < 0) {
                h->n_failed++;
                return log_warning_errno(r, "Cannot publish a %s event: %m", event_kind_to_string(e->kind) ?: "?");
        }
        h->n_published++;
        h->n_by_kind[e->kind]++;
        hub_journal(h, e, seq);
        if (e->log_line)
                hub_log_line(h, e->log_line);
        else if (e->log_json && event_line_json(event_kind_log_type(e->kind), (time_t) (e->wall / USEC_PER_SEC),
                                                h->node, text, &line) >= 0)
                hub_log_line(h, line);
        if (h->push && asprintf(&live, "{\"event\":%s}", text) >= 0)
                h->push(event_ring_get(&h->ring, h->ring.n - 1), live, strlen(live), h->push_userdata);
        return (int64_t) seq;
}

int64_t event_hub_publish_fair(EventHub *h, const FairEvent *e) {
        _cleanup_(fair_event_out_done) FairEventOut o = { 0 };
        uint8_t random[EVENT_ID_LEN] = { 0 };
        int r;

        assert(h);
        assert(e);

        if (e->kind == FAIR_EVENT_PENALTY || e->kind == FAIR_EVENT_LIMIT)
                random_bytes(random, sizeof(random));
        r = fair_event_convert(e, h->node, h->salt, random, &o);
        if (r < 0) {
                h->n_failed++;
                return log_warning_errno(r, "Cannot make the event of user %" PRIu32 ": %m", e->uid);
        }
        return event_hub_publish(h, &o.event);
}

const uint64_t *event_hub_published_by_kind(const EventHub *h) {
        assert(h);
        return h->n_by_kind;
}

json_t *event_hub_status_json(const EventHub *h, size_t subscribers) {
        assert(h);

        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:{s:s?, s:b, s:I, s:I, s:I, s:s?}}",
                         "published", (json_int_t) h->n_published,
                         "failed", (json_int_t) h->n_failed,
                         "kept", (json_int_t) h->ring.n,
                         "last_seq", (json_int_t) (event_ring_next_seq(&h->ring) - 1),
                         "subscribers", (json_int_t) subscribers,
                         "journal_failed", (json_int_t) h->n_journal_failed,
                         "log",
                         "path", h->log_path,
                         "open", h->log_fd >= 0,
                         "written", (json_int_t) h->n_written,
                         "dropped", (json_int_t) h->n_dropped,
                         "reopened", (json_int_t) h->n_reopened,
                         "last_error", h->log_error);
}
