/* SPDX-License-Identifier: MIT */
/* The inotify watch on a real mkdtemp() directory and a real sd_event: events come one by one; a queue
 * overflow and a read error (injected through the read function) are "events lost"; after a read error the
 * instance is re-created after the backoff, the user's watches are added again, and later changes come. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inotify-test.h"

#define MASK (IN_CLOSE_WRITE | IN_MOVED_TO)

static char root[] = "/tmp/test-inotify-watch-XXXXXX";
static unsigned n_events, n_lost, n_rewatch, rewatch_failures;
static char last_name[256];

/* Whether the next read hands out an overflow record (after the failures asked for). */
static bool inject_overflow;

static ssize_t injected_read(int fd, void *buf, size_t size) {
        if (test_read_failures > 0)
                return test_failing_read(fd, buf, size);
        if (inject_overflow) {
                struct inotify_event e = { .wd = -1, .mask = IN_Q_OVERFLOW };

                inject_overflow = false;
                memcpy(buf, &e, sizeof(e));
                return sizeof(e);
        }
        return read(fd, buf, size);
}

static void on_event(InotifyWatch *w, const struct inotify_event *e, void *userdata) {
        if (!e) {
                n_lost++;
                return;
        }
        ASSERT_TRUE(!(e->mask & IN_Q_OVERFLOW));
        n_events++;
        snprintf(last_name, sizeof(last_name), "%s", e->len > 0 ? e->name : "");
}

static int add(InotifyWatch *w, void *userdata) {
        int wd;

        n_rewatch++;
        if (rewatch_failures > 0) {
                rewatch_failures--;
                return -ENOENT;
        }
        wd = inotify_watch_add(w, root, MASK);
        return wd < 0 ? wd : 0;
}

static void touch(const char *name) {
        char p[512];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", root, name);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ_INT(write(fd, "x", 1), 1);
        ASSERT_EQ_INT(close(fd), 0);
}

static void unlink_rel(const char *name) {
        char p[512];

        snprintf(p, sizeof(p), "%s/%s", root, name);
        ASSERT_EQ_INT(unlink(p), 0);
}

/* Dispatches what is queued, without waiting (inotify events are queued by the writing syscall). */
static void drain(sd_event *e) {
        for (int i = 0; i < 16; i++)
                ASSERT_TRUE(sd_event_run(e, 0) >= 0);
}

/* The read that carries `name`'s event fails; returns a time before the failure. */
static usec_t fail_read_of(sd_event *e, const char *name) {
        usec_t before = now_usec(CLOCK_MONOTONIC);

        test_read_failures = 1;
        touch(name);
        drain(e);
        ASSERT_EQ_INT(test_read_failures, 0);
        return before;
}

static void setup(sd_event **e, InotifyWatch **w) {
        memcpy(root + strlen(root) - 6, "XXXXXX", 6);
        ASSERT_TRUE(mkdtemp(root) != NULL);
        n_events = n_lost = n_rewatch = rewatch_failures = test_read_failures = 0;
        inject_overflow = false;
        last_name[0] = '\0';
        ASSERT_EQ_INT(sd_event_new(e), 0);
        ASSERT_EQ_INT(inotify_watch_new(*e, "test files", on_event, add, NULL, w), 0);
        inotify_watch_set_read(*w, injected_read);
        ASSERT_EQ_INT(add(*w, NULL), 0);
        n_rewatch = 0;
}

static void teardown(sd_event *e, InotifyWatch *w, const char *const *names) {
        inotify_watch_free(w);
        sd_event_unref(e);
        for (size_t i = 0; names[i]; i++)
                unlink_rel(names[i]);
        ASSERT_EQ_INT(rmdir(root), 0);
}

TEST(test_events) {
        InotifyWatch *w = NULL;
        sd_event *e = NULL;

        setup(&e, &w);
        touch("a");
        drain(e);
        ASSERT_EQ_INT(n_events, 1);
        ASSERT_STREQ(last_name, "a");
        touch("b");
        touch("c");
        drain(e);
        ASSERT_EQ_INT(n_events, 3);
        ASSERT_STREQ(last_name, "c");
        ASSERT_EQ_INT(n_lost, 0);
        ASSERT_EQ_U64(inotify_watch_n_errors(w), 0);
        /* An interrupted read is no error: the events come with the next wakeup. */
        test_read_errno = EINTR;
        fail_read_of(e, "d");
        ASSERT_EQ_INT(n_events, 4);
        ASSERT_STREQ(last_name, "d");
        ASSERT_EQ_U64(inotify_watch_n_errors(w), 0);
        ASSERT_EQ_U64(inotify_watch_n_restarts(w), 0);
        test_read_errno = EIO;
        teardown(e, w, (const char *const[]) { "a", "b", "c", "d", NULL });
}

/* The kernel's queue overflowed: the user hears "events lost", and the events after it as usual. */
TEST(test_overflow) {
        InotifyWatch *w = NULL;
        sd_event *e = NULL;

        setup(&e, &w);
        inject_overflow = true;
        touch("a");
        drain(e);
        ASSERT_EQ_INT(n_lost, 1);
        ASSERT_EQ_INT(n_events, 1);
        ASSERT_STREQ(last_name, "a");
        ASSERT_EQ_U64(inotify_watch_n_errors(w), 0);
        ASSERT_EQ_U64(inotify_watch_n_restarts(w), 0);
        teardown(e, w, (const char *const[]) { "a", NULL });
}

/* A read fails: "events lost" at once, the source is not switched off for good: the instance is re-created
 * after the backoff, the watches are added again, "events lost" again (for what changed meanwhile), and
 * later changes come as before. */
TEST(test_read_error) {
        InotifyWatch *w = NULL;
        sd_event *e = NULL;
        usec_t failed;

        setup(&e, &w);
        failed = fail_read_of(e, "a");
        ASSERT_EQ_U64(inotify_watch_n_errors(w), 1);
        ASSERT_EQ_INT(n_lost, 1);
        ASSERT_EQ_INT(n_events, 0); /* "a" went with the failed read */
        ASSERT_EQ_U64(inotify_watch_n_restarts(w), 0);
        touch("b"); /* between the failure and the retry: nobody watches */
        drain(e);
        ASSERT_EQ_INT(n_events, 0);
        test_wait_restarts(e, w, 1);
        ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) - failed >= INOTIFY_WATCH_RETRY_USEC);
        ASSERT_EQ_INT(n_rewatch, 1);
        ASSERT_EQ_INT(n_lost, 2); /* the user looks again and finds "b" */
        touch("c");
        drain(e);
        ASSERT_EQ_INT(n_events, 1);
        ASSERT_STREQ(last_name, "c");
        ASSERT_EQ_U64(inotify_watch_n_errors(w), 1);

        /* A second failure is survived the same way. */
        fail_read_of(e, "d");
        ASSERT_EQ_U64(inotify_watch_n_errors(w), 2);
        ASSERT_EQ_INT(n_lost, 3);
        test_wait_restarts(e, w, 2);
        ASSERT_EQ_INT(n_lost, 4);
        touch("e");
        drain(e);
        ASSERT_EQ_INT(n_events, 2);
        ASSERT_STREQ(last_name, "e");
        teardown(e, w, (const char *const[]) { "a", "b", "c", "d", "e", NULL });
}

/* The watches cannot be added again at first: tried again after a doubled backoff, until they can. */
TEST(test_rewatch_fails) {
        InotifyWatch *w = NULL;
        sd_event *e = NULL;
        usec_t failed;

        setup(&e, &w);
        rewatch_failures = 2;
        failed = fail_read_of(e, "a");
        ASSERT_EQ_INT(n_lost, 1);
        test_wait_restarts(e, w, 1);
        /* 100 ms, then 200 ms, then 400 ms */
        ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) - failed >= 7 * INOTIFY_WATCH_RETRY_USEC);
        ASSERT_EQ_INT(n_rewatch, 3);
        ASSERT_EQ_INT(n_lost, 2); /* once at the failure, once when watching again; none for failed retries */
        ASSERT_EQ_U64(inotify_watch_n_errors(w), 1);
        touch("b");
        drain(e);
        ASSERT_EQ_INT(n_events, 1);
        ASSERT_STREQ(last_name, "b");
        teardown(e, w, (const char *const[]) { "a", "b", NULL });
}

int main(void) {
        RUN(test_events);
        RUN(test_overflow);
        RUN(test_read_error);
        RUN(test_rewatch_fails);
        return 0;
}
