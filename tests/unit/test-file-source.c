/* SPDX-License-Identifier: MIT */
/* The tree-file watch on a real file in a mkdtemp() directory and a real sd_event: a rewrite is read after
 * the settle time; an inotify read error (injected) neither loses the change nor switches the watch off. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file-source.h"
#include "inotify-test.h"

static char root[] = "/tmp/test-file-source-XXXXXX";
static char file[512], tmp[512];
static char last_data[64];
static int last_error;

static void on_tree(FileSource *s, int error, const char *data, size_t size, void *userdata) {
        last_error = error;
        snprintf(last_data, sizeof(last_data), "%.*s", error < 0 ? 0 : (int) size, error < 0 ? "" : data);
}

/* As an editor saves: a new file renamed over the old one. */
static void save(const char *text) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ_INT(write(fd, text, strlen(text)), (long long) strlen(text));
        ASSERT_EQ_INT(close(fd), 0);
        ASSERT_EQ_INT(rename(tmp, file), 0);
}

/* Runs the loop until the file was read with `text`, at most 10 s. */
static void wait_read(sd_event *e, const char *text) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        while (strcmp(last_data, text) != 0) {
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                ASSERT_TRUE(sd_event_run(e, 50 * USEC_PER_MSEC) >= 0);
        }
        ASSERT_EQ_INT(last_error, 0);
}

TEST(test_file_source_read_error) {
        _cleanup_(file_source_freep) FileSource *s = NULL;
        sd_event *e = NULL;
        InotifyWatch *w;

        ASSERT_TRUE(mkdtemp(root) != NULL);
        snprintf(file, sizeof(file), "%s/tree.json", root);
        snprintf(tmp, sizeof(tmp), "%s/.tree.json.new", root);
        save("v1");
        ASSERT_EQ_INT(sd_event_new(&e), 0);
        ASSERT_EQ_INT(file_source_new(e, file, 1024, on_tree, NULL, &s), 0);
        w = file_source_watch(s);
        inotify_watch_set_read(w, test_failing_read);
        file_source_read(s);
        ASSERT_STREQ(last_data, "v1");

        /* A rewrite is read. */
        save("v2");
        wait_read(e, "v2");

        /* The read of the inotify queue that carries the rewrite fails: the file is read anyway. */
        test_read_failures = 1;
        save("v3");
        wait_read(e, "v3");
        ASSERT_EQ_U64(inotify_watch_n_errors(w), 1);
        ASSERT_EQ_INT(test_read_failures, 0);

        /* And the watch is back: once re-created, the file is read again (changes meanwhile were not seen),
         * and later rewrites are read as before. */
        test_wait_restarts(e, w, 1);
        save("v4");
        wait_read(e, "v4");
        save("v5");
        wait_read(e, "v5");
        ASSERT_EQ_U64(inotify_watch_n_errors(w), 1);
        ASSERT_EQ_U64(inotify_watch_n_restarts(w), 1);

        s = file_source_free(s);
        sd_event_unref(e);
        ASSERT_EQ_INT(unlink(file), 0);
        ASSERT_EQ_INT(rmdir(root), 0);
}

int main(void) {
        RUN(test_file_source_read_error);
        return 0;
}
