/* SPDX-License-Identifier: MIT */
/* The ZooKeeper source on its own, for tests: reads and watches the given nodes (and the children of one), and
 * prints each delivery as a JSON line on stdout: {"node", "error", "message", "data", "version"}. Lines on
 * stdin: "status" prints zk_source_status_json() as {"status": ...}, "reread" reads everything again, "quit".
 *   zk-watch HOSTS [--children-of PATH] [--max-children N] [--max-bytes N] [--auth digest:u:p] NODE...
 * Not installed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "strv.h"
#include "zk-source.h"

static void print_json(json_t *o) {
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

        if (text)
                printf("%s\n", text);
        fflush(stdout);
        free(text);
        json_decref(o);
}

static void on_read(ZkSource *s _unused_, const char *node, int error, const char *message, const char *data,
                    size_t size, int64_t version, void *userdata _unused_) {
        json_t *d = data ? json_stringn(data, size) : json_null();

        print_json(json_pack("{s:s, s:i, s:s?, s:o?, s:I, s:I}", "node", node, "error", error, "message", message,
                             "data", d, "version", (json_int_t) version, "size", (json_int_t) size));
}

static void on_outage(ZkSource *s, void *userdata _unused_) {
        print_json(json_pack("{s:s}", "outage", outage_state_to_string(zk_source_outage(s)->state)));
}

typedef struct Ctx {
        ZkSource *source;
        sd_event *event;
        char buf[4096];
        size_t n;
} Ctx;

static int on_stdin(sd_event_source *es _unused_, int fd, uint32_t revents _unused_, void *userdata) {
        Ctx *c = userdata;
        ssize_t k = read(fd, c->buf + c->n, sizeof(c->buf) - 1 - c->n);
        char *nl;

        if (k <= 0)
                return sd_event_exit(c->event, 0);
        c->n += (size_t) k;
        c->buf[c->n] = 0;
        while ((nl = strchr(c->buf, '\n'))) {
                *nl = 0;
                if (streq(c->buf, "status"))
                        print_json(json_pack("{s:o}", "status", zk_source_status_json(c->source)));
                else if (streq(c->buf, "reread"))
                        zk_source_reread(c->source);
                else if (streq(c->buf, "quit"))
                        sd_event_exit(c->event, 0);
                c->n -= (size_t) (nl + 1 - c->buf);
                memmove(c->buf, nl + 1, c->n + 1);
        }
        if (c->n == sizeof(c->buf) - 1)
                c->n = 0;
        return 0;
}

int main(int argc, char **argv) {
        ZkSourceConfig config = { .max_children = 100, .max_bytes = 1 << 20, .session_timeout_usec = 4 * USEC_PER_SEC,
                                  .on_change = on_outage };
        char **nodes = NULL, **auth = NULL;
        Ctx c = {};
        int r;

        log_setup(LOG_TARGET_CONSOLE, getenv("ZK_WATCH_DEBUG") ? LOG_DEBUG : LOG_WARNING);
        if (argc < 3) {
                fprintf(stderr, "usage: %s HOSTS [--children-of PATH] [--max-children N] [--max-bytes N] "
                                "[--auth digest:u:p] NODE...\n", argv[0]);
                return 2;
        }
        config.hosts = argv[1];
        for (int i = 2; i < argc; i++) {
                if (streq(argv[i], "--children-of") && i + 1 < argc)
                        config.children_of = argv[++i];
                else if (streq(argv[i], "--max-children") && i + 1 < argc)
                        config.max_children = strtoul(argv[++i], NULL, 10);
                else if (streq(argv[i], "--max-bytes") && i + 1 < argc)
                        config.max_bytes = strtoul(argv[++i], NULL, 10);
                else if (streq(argv[i], "--auth") && i + 1 < argc) {
                        if (strv_extend(&auth, argv[++i]) < 0)
                                return 1;
                } else if (strv_extend(&nodes, argv[i]) < 0)
                        return 1;
        }
        config.nodes = nodes;
        config.auth = auth;

        signal(SIGPIPE, SIG_IGN);
        r = sd_event_default(&c.event);
        if (r >= 0)
                r = zk_source_new(c.event, &config, on_read, &c, &c.source);
        if (r < 0) {
                fprintf(stderr, "cannot set up: %s\n", strerror(-r));
                return 1;
        }
        r = sd_event_add_io(c.event, NULL, STDIN_FILENO, EPOLLIN, on_stdin, &c);
        if (r < 0)
                return 1;
        zk_source_start(c.source);
        r = sd_event_loop(c.event);
        zk_source_free(c.source);
        sd_event_unref(c.event);
        strv_free(nodes);
        strv_free(auth);
        return r < 0 ? 1 : 0;
}
