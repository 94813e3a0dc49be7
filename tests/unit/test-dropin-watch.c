/* SPDX-License-Identifier: MIT */
/* The drop-in watch on real directories (a mkdtemp() tree standing in for /run/systemd/transient and the
 * control directories): inotify events are queued by the writing syscall, so one non-blocking round of the
 * event loop sees them all, and "no callback" is a counter that did not move. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dropin-watch.h"
#include "inotify-test.h"
#include "tests.h"

static char root[] = "/tmp/test-dropin-watch-XXXXXX";
static char changed_unit[300];
static unsigned n_changed;
static const char *wanted_units[8] = { "a.slice", "c.slice" };

static bool wanted(const char *unit, void *userdata) {
        for (size_t i = 0; i < ELEMENTSOF(wanted_units) && wanted_units[i]; i++)
                if (strcmp(unit, wanted_units[i]) == 0)
                        return true;
        return false;
}

static void changed(DropinWatch *w, const char *unit, void *userdata) {
        n_changed++;
        snprintf(changed_unit, sizeof(changed_unit), "%s", unit ? unit : "(all)");
}

static void path(char *buf, size_t size, const char *rel) {
        snprintf(buf, size, "%s/%s", root, rel);
}

static void mkdir_rel(const char *rel) {
        char p[512];

        path(p, sizeof(p), rel);
        ASSERT_EQ_INT(mkdir(p, 0755), 0);
}

/* As systemd writes a drop-in: a temporary file, then renamed into place. */
static void write_dropin(const char *dir, const char *name) {
        char tmp[512], final[512];
        int fd;

        snprintf(tmp, sizeof(tmp), "%s/%s/.#%sXXXXXX", root, dir, name);
        snprintf(final, sizeof(final), "%s/%s/%s", root, dir, name);
        fd = mkstemp(tmp);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ_INT(write(fd, "[Slice]\n", 8), 8);
        ASSERT_EQ_INT(close(fd), 0);
        ASSERT_EQ_INT(rename(tmp, final), 0);
}

static void remove_rel(const char *rel) {
        char p[512];

        path(p, sizeof(p), rel);
        ASSERT_EQ_INT(remove(p), 0);
}

/* Dispatches what is queued, without waiting. */
static void drain(sd_event *e) {
        for (int i = 0; i < 16; i++)
                ASSERT_TRUE(sd_event_run(e, 0) >= 0);
}

TEST(test_dropin_watch) {
        _cleanup_(dropin_watch_freep) DropinWatch *w = NULL;
        sd_event *e = NULL;
        char transient[512], control[512];
        const char *dirs[3] = { transient, control, NULL };

        memcpy(root + strlen(root) - 6, "XXXXXX", 6);
        ASSERT_TRUE(mkdtemp(root) != NULL);
        path(transient, sizeof(transient), "transient");
        path(control, sizeof(control), "control"); /* missing at first */
        mkdir_rel("transient");
        mkdir_rel("transient/c.slice.d"); /* there before the watch: found by the sync */
        ASSERT_EQ_INT(sd_event_new(&e), 0);
        ASSERT_EQ_INT(dropin_watch_new(e, dirs, wanted, changed, NULL, &w), 0);
        dropin_watch_sync(w, 2);
        ASSERT_EQ_INT(dropin_watch_count(w), 1);

        /* A hand change to a unit without drop-ins yet: its directory appears, and is watched from then on. */
        mkdir_rel("transient/a.slice.d");
        drain(e);
        ASSERT_EQ_INT(n_changed, 1);
        ASSERT_STREQ(changed_unit, "a.slice");
        ASSERT_EQ_INT(dropin_watch_count(w), 2);
        write_dropin("transient/a.slice.d", "50-CPUWeight.conf");
        drain(e);
        ASSERT_EQ_INT(n_changed, 2); /* the temporary file does not count, its rename does */
        write_dropin("transient/c.slice.d", "50-MemoryMax.conf");
        drain(e);
        ASSERT_EQ_INT(n_changed, 3);
        ASSERT_STREQ(changed_unit, "c.slice");
        remove_rel("transient/c.slice.d/50-MemoryMax.conf"); /* systemctl revert */
        drain(e);
        ASSERT_EQ_INT(n_changed, 4);

        /* Units that are not ours, and files that are not drop-ins, cost nothing. */
        mkdir_rel("transient/b.slice.d");
        write_dropin("transient/b.slice.d", "50-CPUWeight.conf");
        write_dropin("transient/a.slice.d", "notes.txt");
        drain(e);
        ASSERT_EQ_INT(n_changed, 4);
        ASSERT_EQ_INT(dropin_watch_count(w), 2);

        /* A directory that comes later is watched from the next sync on. */
        mkdir_rel("control");
        mkdir_rel("control/a.slice.d");
        drain(e);
        ASSERT_EQ_INT(n_changed, 4);
        dropin_watch_sync(w, 2);
        ASSERT_EQ_INT(dropin_watch_count(w), 3);
        write_dropin("control/a.slice.d", "50-TasksMax.conf");
        drain(e);
        ASSERT_EQ_INT(n_changed, 5);

        /* A unit gone: its directory's watch goes with it. */
        remove_rel("transient/a.slice.d/50-CPUWeight.conf");
        remove_rel("transient/a.slice.d/notes.txt");
        remove_rel("transient/a.slice.d");
        drain(e);
        ASSERT_EQ_INT(dropin_watch_count(w), 2);
        ASSERT_TRUE(dropin_watch_error(w) == NULL);

        /* c.slice leaves the tree, its directories stay (a control directory outlives its unit): the next
         * sync drops its watch, and events in it cost nothing. */
        n_changed = 0;
        wanted_units[1] = NULL;
        dropin_watch_sync(w, 1);
        ASSERT_EQ_INT(dropin_watch_count(w), 1);
        write_dropin("transient/c.slice.d", "50-MemoryMax.conf");
        drain(e);
        ASSERT_EQ_INT(n_changed, 0);
        /* Back in the tree: watched again. */
        wanted_units[1] = "c.slice";
        dropin_watch_sync(w, 2);
        ASSERT_EQ_INT(dropin_watch_count(w), 2);
        write_dropin("transient/c.slice.d", "50-CPUWeight.conf");
        drain(e);
        ASSERT_EQ_INT(n_changed, 1);
        ASSERT_STREQ(changed_unit, "c.slice");
        /* Nothing wanted any more: no watch left. */
        wanted_units[0] = wanted_units[1] = NULL;
        dropin_watch_sync(w, 0);
        ASSERT_EQ_INT(dropin_watch_count(w), 0);
        drain(e); /* the IN_IGNORED of the removed watches find nothing to forget */
        ASSERT_EQ_INT(dropin_watch_count(w), 0);
        wanted_units[0] = "a.slice";
        wanted_units[1] = "c.slice";

        w = dropin_watch_free(w);
        sd_event_unref(e);
        remove_rel("transient/b.slice.d/50-CPUWeight.conf");
        remove_rel("transient/b.slice.d");
        remove_rel("transient/c.slice.d/50-MemoryMax.conf");
        remove_rel("transient/c.slice.d/50-CPUWeight.conf");
        remove_rel("transient/c.slice.d");
        remove_rel("transient");
        remove_rel("control/a.slice.d/50-TasksMax.conf");
        remove_rel("control/a.slice.d");
        remove_rel("control");
        ASSERT_EQ_INT(rmdir(root), 0);
}

/* The watches are capped by the number of units (one per base directory each) and by a quarter of the
 * kernel's per-user limit, which root shares with systemd and udev. */
TEST(test_dropin_watch_limit) {
        ASSERT_EQ_U64(dropin_watch_limit(3, 0, 8192), 0);
        ASSERT_EQ_U64(dropin_watch_limit(3, 10, 8192), 30);
        ASSERT_EQ_U64(dropin_watch_limit(3, 1000, 8192), 2048);
        ASSERT_EQ_U64(dropin_watch_limit(3, 10000, 1 << 20), 30000);
        ASSERT_EQ_U64(dropin_watch_limit(3, 100000, 1 << 20), 32768);
        ASSERT_EQ_U64(dropin_watch_limit(3, 100000, -1), 32768); /* unknown: the fixed cap */
}

/* More units with drop-in directories than the limit: the rest are not watched, and status says so. */
TEST(test_dropin_watch_over_limit) {
        _cleanup_(dropin_watch_freep) DropinWatch *w = NULL;
        sd_event *e = NULL;
        char base[512];
        const char *dirs[2] = { base, NULL };

        memcpy(root + strlen(root) - 6, "XXXXXX", 6);
        ASSERT_TRUE(mkdtemp(root) != NULL);
        path(base, sizeof(base), "transient");
        mkdir_rel("transient");
        mkdir_rel("transient/a.slice.d");
        mkdir_rel("transient/c.slice.d");
        ASSERT_EQ_INT(sd_event_new(&e), 0);
        ASSERT_EQ_INT(dropin_watch_new(e, dirs, wanted, changed, NULL, &w), 0);
        dropin_watch_sync(w, 1); /* the caller says one unit: one directory for one base */
        ASSERT_EQ_INT(dropin_watch_count(w), 1);
        ASSERT_TRUE(dropin_watch_error(w) != NULL);
        ASSERT_TRUE(strstr(dropin_watch_error(w), "limit") != NULL);
        dropin_watch_sync(w, 2);
        ASSERT_EQ_INT(dropin_watch_count(w), 2);
        ASSERT_TRUE(dropin_watch_error(w) == NULL);

        w = dropin_watch_free(w);
        sd_event_unref(e);
        remove_rel("transient/a.slice.d");
        remove_rel("transient/c.slice.d");
        remove_rel("transient");
        ASSERT_EQ_INT(rmdir(root), 0);
}

/* A base directory that cannot be watched (here: not a directory) while none is: reported; one missing is
 * not (it comes with the first unit), and one watched clears the report. */
TEST(test_dropin_watch_base_error) {
        _cleanup_(dropin_watch_freep) DropinWatch *w = NULL;
        sd_event *e = NULL;
        char transient[512], control[512];
        const char *dirs[3] = { transient, control, NULL };
        int fd;

        memcpy(root + strlen(root) - 6, "XXXXXX", 6);
        ASSERT_TRUE(mkdtemp(root) != NULL);
        path(transient, sizeof(transient), "transient");
        path(control, sizeof(control), "control");
        ASSERT_EQ_INT(sd_event_new(&e), 0);
        ASSERT_EQ_INT(dropin_watch_new(e, dirs, wanted, changed, NULL, &w), 0);
        ASSERT_TRUE(dropin_watch_error(w) == NULL); /* both missing */
        fd = open(transient, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ_INT(close(fd), 0);
        dropin_watch_sync(w, 2);
        ASSERT_TRUE(dropin_watch_error(w) != NULL);
        ASSERT_TRUE(strstr(dropin_watch_error(w), transient) != NULL);
        ASSERT_TRUE(strstr(dropin_watch_error(w), "directory") != NULL); /* "Not a directory" */
        dropin_watch_sync(w, 2); /* still so: still reported */
        ASSERT_TRUE(dropin_watch_error(w) != NULL);
        mkdir_rel("control");
        dropin_watch_sync(w, 2);
        ASSERT_TRUE(dropin_watch_error(w) == NULL);

        w = dropin_watch_free(w);
        sd_event_unref(e);
        remove_rel("transient");
        remove_rel("control");
        ASSERT_EQ_INT(rmdir(root), 0);
}

/* A failed read of the inotify queue: "events lost" (every unit is looked at), the watch is re-created
 * after the backoff with the base directories watched again at once, the units' directories from the next
 * sync on, and hand changes are seen as before. */
TEST(test_dropin_watch_read_error) {
        _cleanup_(dropin_watch_freep) DropinWatch *w = NULL;
        sd_event *e = NULL;
        char base[512];
        const char *dirs[2] = { base, NULL };
        InotifyWatch *iw;

        memcpy(root + strlen(root) - 6, "XXXXXX", 6);
        ASSERT_TRUE(mkdtemp(root) != NULL);
        path(base, sizeof(base), "transient");
        mkdir_rel("transient");
        mkdir_rel("transient/a.slice.d");
        ASSERT_EQ_INT(sd_event_new(&e), 0);
        ASSERT_EQ_INT(dropin_watch_new(e, dirs, wanted, changed, NULL, &w), 0);
        iw = dropin_watch_inotify(w);
        inotify_watch_set_read(iw, test_failing_read);
        dropin_watch_sync(w, 2);
        ASSERT_EQ_INT(dropin_watch_count(w), 1);
        n_changed = 0;

        test_read_failures = 1;
        write_dropin("transient/a.slice.d", "50-CPUWeight.conf");
        drain(e);
        ASSERT_EQ_INT(n_changed, 1);
        ASSERT_STREQ(changed_unit, "(all)");
        ASSERT_EQ_U64(inotify_watch_n_errors(iw), 1);
        test_wait_restarts(e, iw, 1);
        ASSERT_EQ_INT(n_changed, 2); /* and once more when watching again */
        ASSERT_STREQ(changed_unit, "(all)");
        ASSERT_EQ_INT(dropin_watch_count(w), 0);
        ASSERT_TRUE(dropin_watch_error(w) == NULL);

        /* The base directory is watched: a new unit's directory is seen at once. */
        mkdir_rel("transient/c.slice.d");
        drain(e);
        ASSERT_EQ_INT(n_changed, 3);
        ASSERT_STREQ(changed_unit, "c.slice");
        ASSERT_EQ_INT(dropin_watch_count(w), 1);
        /* The sync the lost events asked for watches a.slice.d again. */
        dropin_watch_sync(w, 2);
        ASSERT_EQ_INT(dropin_watch_count(w), 2);
        write_dropin("transient/a.slice.d", "50-MemoryMax.conf");
        drain(e);
        ASSERT_EQ_INT(n_changed, 4);
        ASSERT_STREQ(changed_unit, "a.slice");

        w = dropin_watch_free(w);
        sd_event_unref(e);
        remove_rel("transient/a.slice.d/50-CPUWeight.conf");
        remove_rel("transient/a.slice.d/50-MemoryMax.conf");
        remove_rel("transient/a.slice.d");
        remove_rel("transient/c.slice.d");
        remove_rel("transient");
        ASSERT_EQ_INT(rmdir(root), 0);
}

int main(void) {
        RUN(test_dropin_watch);
        RUN(test_dropin_watch_limit);
        RUN(test_dropin_watch_over_limit);
        RUN(test_dropin_watch_base_error);
        RUN(test_dropin_watch_read_error);
        return 0;
}
