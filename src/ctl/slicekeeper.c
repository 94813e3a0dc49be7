/* SPDX-License-Identifier: MIT */
/* slicekeeper: the command line. Asks the daemon over its control socket; never talks to ZooKeeper or Redis. */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "macro.h"
#include "outage.h"
#include "paths.h"

#define ANSWER_MAX (64 * 1024 * 1024)
#define MIGRATE_WAIT_SEC 300 /* for the daemon's report: its moves wait for systemd's jobs */

static const char *arg_socket = SLICEKEEPER_CONTROL_SOCKET;
static bool arg_json = false;


/* A string field for printing: "-" where it is missing or not a string (an older or newer daemon). */
static const char *jstr(const json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));

        return s ? s : "-";
}

static int ask_args(const char *cmd, json_t *args, json_t **ret);

static int ask(const char *cmd, json_t **ret) {
        return ask_args(cmd, NULL, ret);
}

static int ask_args(const char *cmd, json_t *args, json_t **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0, cap = 0;
        _cleanup_(freep) char *request = NULL;
        json_error_t jerr;
        json_t *answer;
        const char *transport_what = NULL;
        int transport_error = 0;

        if (strlen(arg_socket) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "Socket path too long: %s\n", arg_socket);
                return -EINVAL;
        }
        strcpy(sa.sun_path, arg_socket);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                fprintf(stderr, "Cannot reach slicekeeperd at %s: %s (is it running?)\n", arg_socket, strerror(errno));
                return r;
        }
        {
                json_t *req = json_pack("{s:s}", "cmd", cmd);
                char *text;

                if (req && args)
                        json_object_set(req, "args", args);
                text = req ? json_dumps(req, JSON_COMPACT) : NULL;
                json_decref(req);
                if (!text || asprintf(&request, "%s\n", text) < 0) {
                        free(text);
                        return -ENOMEM;
                }
                free(text);
        }
        /* The daemon may refuse the connection (not root, too many clients) with an error line and close it
         * before or while the request goes out: a broken pipe or a reset is only reported when no answer
         * line came. */
        for (size_t sent = 0, size = strlen(request); sent < size;) {
                ssize_t n = send(fd, request + sent, size - sent, MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno != EPIPE && errno != ECONNRESET) {
                        int r = -errno;
                        fprintf(stderr, "Cannot send request: %s\n", strerror(errno));
                        return r;
                }
                if (n < 0) {
                        transport_error = errno;
                        transport_what = "send request";
                        break;
                }
                sent += (size_t) n;
        }
        for (;;) {
                ssize_t n;

                if (len + 65536 > cap) {
                        char *nb;
                        if (cap >= ANSWER_MAX) {
                                fprintf(stderr, "Answer larger than %d bytes.\n", ANSWER_MAX);
                                return -EFBIG;
                        }
                        cap = cap ? cap * 2 : 65536 * 2;
                        nb = realloc(buf, cap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                n = recv(fd, buf + len, cap - len, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        transport_error = errno;
                        transport_what = "read answer";
                        break;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (memchr(buf + len - n, '\n', (size_t) n))
                        break; /* one line is the whole answer */
        }
        if (len == 0) {
                if (transport_error)
                        fprintf(stderr, "Cannot %s: %s\n", transport_what, strerror(transport_error));
                else
                        fprintf(stderr, "slicekeeperd closed the connection without an answer.\n");
                return transport_error ? -transport_error : -EPIPE;
        }
        answer = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &jerr);
        if (!answer) {
                fprintf(stderr, "Garbled answer from slicekeeperd: %s\n", jerr.text);
                return -EBADMSG;
        }
        if (json_is_string(json_object_get(answer, "error"))) {
                fprintf(stderr, "slicekeeperd: %s\n", jstr(answer, "error"));
                json_decref(answer);
                return -EIO;
        }
        *ret = answer;
        return 0;
}

static void print_json(const json_t *j) {
        _cleanup_(freep) char *text = json_dumps(j, JSON_INDENT(2));

        if (text)
                printf("%s\n", text);
}

static void print_props(const json_t *props) {
        const char *key;
        json_t *v;
        bool first = true;

        json_object_foreach((json_t *) props, key, v) {
                printf("%s%s=%s", first ? "" : " ", key, json_string_value(v));
                first = false;
        }
        if (first)
                printf("-");
}

static void print_device_list(const json_t *list) {
        const json_t *d;
        size_t i;

        json_array_foreach(list, i, d)
                printf("%s%s (%s)", i ? ", " : "", jstr(d, "device"),
                       jstr(d, "name"));
}

/* One line: which block devices with I/O the layout counts, and why not where it does not. */
static void print_io_devices(const json_t *io) {
        const json_t *counted = json_object_get(io, "counted"), *not_counted = json_object_get(io, "not_counted");

        if (!json_is_object(io))
                return;
        printf("IO:         ");
        if (json_array_size(counted) + json_array_size(not_counted) == 0)
                printf("no block device has done I/O yet");
        if (json_array_size(counted) > 0) {
                printf("counted on ");
                print_device_list(counted);
        }
        if (json_array_size(not_counted) > 0) {
                printf("%sNOT counted on ", json_array_size(counted) > 0 ? "; " : "");
                print_device_list(not_counted);
                printf(": %s", jstr(json_array_get(not_counted, 0), "reason"));
        }
        if (json_integer_value(json_object_get(io, "skipped")) > 0)
                printf("; %" JSON_INTEGER_FORMAT " unreadable /proc/diskstats lines skipped",
                       json_integer_value(json_object_get(io, "skipped")));
        printf("\n");
}

static void print_json_list(const json_t *a, const char *sep) {
        const json_t *v;
        size_t i;

        json_array_foreach(a, i, v)
                printf("%s%s", i ? sep : "", json_string_value(v) ? json_string_value(v) : "?");
}

/* "Descriptors: N in use of LIMIT (RESERVE for the daemon, N of BUDGET cgroup files)", and what the budget
 * leaves unsampled when it is short. */
/* Cores of a usec/s value, "-" for none (null). */
static void format_cores(const json_t *v, char *buf, size_t size) {
        if (json_is_integer(v))
                snprintf(buf, size, "%.2f", (double) json_integer_value(v) / 1e6);
        else
                snprintf(buf, size, "-");
}

/* [FairShare] Enable=yes: the caps held, and why. */
static void print_fair_share(const json_t *f) {
        const json_t *u;
        size_t i;

        if (!json_is_object(f))
                return;
        printf("Fair share: %s, %" JSON_INTEGER_FORMAT " active, %" JSON_INTEGER_FORMAT " throttled, %"
               JSON_INTEGER_FORMAT " SetUnitProperties (%" JSON_INTEGER_FORMAT " failed)\n", jstr(f, "mode"),
               json_integer_value(json_object_get(f, "active")), json_integer_value(json_object_get(f, "throttled")),
               json_integer_value(json_object_get(f, "set_unit_properties")),
               json_integer_value(json_object_get(f, "send_failures")));
        if (json_array_size(json_object_get(f, "list")) == 0)
                return;
        printf("  %-10s %-6s %-6s %-9s %s\n", "UID", "CAP", "USE", "THROTTLED", "WHY (cores)");
        json_array_foreach(json_object_get(f, "list"), i, u) {
                char cap[32], use[32];

                format_cores(json_object_get(u, "cap_usec"), cap, sizeof(cap));
                format_cores(json_object_get(u, "usage_usec"), use, sizeof(use));
                printf("  %-10" JSON_INTEGER_FORMAT " %-6s %-6s %-9s %s%s\n", json_integer_value(json_object_get(u, "uid")),
                       cap, use, json_is_true(json_object_get(u, "throttled")) ? "yes" : "no", jstr(u, "reason"),
                       json_is_true(json_object_get(u, "conflict")) ? " (held from elsewhere: not fought over)" : "");
        }
}

/* "Events: N published (K kept, S subscribers); log PATH: W written, D dropped (ERROR)" */
static void print_events(const json_t *e) {
        const json_t *log = json_object_get(e, "log");

        if (!json_is_object(e))
                return;
        printf("Events:     %" JSON_INTEGER_FORMAT " published (%" JSON_INTEGER_FORMAT " kept, %" JSON_INTEGER_FORMAT
               " websocket subscribers); ", json_integer_value(json_object_get(e, "published")),
               json_integer_value(json_object_get(e, "kept")), json_integer_value(json_object_get(e, "subscribers")));
        if (!json_string_value(json_object_get(log, "path"))) {
                printf("no event log\n");
                return;
        }
        printf("log %s: %" JSON_INTEGER_FORMAT " lines written, %" JSON_INTEGER_FORMAT " dropped%s%s%s\n",
               jstr(log, "path"), json_integer_value(json_object_get(log, "written")),
               json_integer_value(json_object_get(log, "dropped")),
               json_string_value(json_object_get(log, "last_error")) ? " (last: " : "",
               json_string_value(json_object_get(log, "last_error")) ?: "",
               json_string_value(json_object_get(log, "last_error")) ? ")" : "");
}

static void print_fds(const json_t *fds, const json_t *budget) {
        const json_t *dropped = json_object_get(budget, "dropped"), *left = json_object_get(budget, "left_out");
        json_int_t n_left = json_integer_value(json_object_get(fds, "left_out"));

        if (!json_is_object(fds))
                return;
        printf("Descriptors: ");
        if (json_is_integer(json_object_get(fds, "in_use")))
                printf("%" JSON_INTEGER_FORMAT " in use", json_integer_value(json_object_get(fds, "in_use")));
        else
                printf("cannot count");
        printf(" of %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " kept for the daemon, %" JSON_INTEGER_FORMAT
               " of %" JSON_INTEGER_FORMAT " cgroup files open)\n",
               json_integer_value(json_object_get(fds, "limit")), json_integer_value(json_object_get(fds, "reserve")),
               json_integer_value(json_object_get(fds, "sampler_files")),
               json_integer_value(json_object_get(fds, "sampler_budget")));
        if (json_array_size(dropped) == 0 && n_left == 0)
                return;
        printf("Sampling:   short of descriptors: ");
        if (json_array_size(dropped) > 0) {
                printf("not reading ");
                print_json_list(dropped, ", ");
                printf("%s", n_left > 0 ? "; " : "");
        }
        if (n_left > 0) {
                printf("%" JSON_INTEGER_FORMAT " slices left out (", n_left);
                print_json_list(left, ", ");
                printf("%s)", (json_int_t) json_array_size(left) < n_left ? ", ..." : "");
        }
        printf("\n");
}

/* "LABEL ADDRESS up; DETAIL" or "LABEL ADDRESS down since TIME (SPAN): CAUSE; DETAIL", then the last outage,
 * as history, on a line of its own while up. c holds outage_to_json()'s fields. */
static void print_connection(const char *label, const char *address, const json_t *c, const char *detail) {
        const json_t *down = json_object_get(c, "outage"), *last = json_object_get(c, "last_outage");
        const char *state = json_string_value(json_object_get(c, "state"));
        usec_t now = now_usec(CLOCK_REALTIME);
        char since[64], until[64], span[32];

        printf("%-12s%s ", label, address);
        if (json_is_object(down)) {
                usec_t t = (usec_t) json_integer_value(json_object_get(down, "since_usec"));

                outage_format_time(t, /* with_date= */ true, since, sizeof(since));
                outage_format_timespan(now - MIN(now, t), span, sizeof(span));
                printf("down since %s (%s): %s", since, span, jstr(down, "cause"));
        } else
                printf("%s", state ? state : "?");
        printf("%s%s\n", detail ? "; " : "", detail ? detail : "");
        if (!json_is_object(down) && json_is_object(last)) {
                usec_t t = (usec_t) json_integer_value(json_object_get(last, "since_usec"));
                usec_t u = (usec_t) json_integer_value(json_object_get(last, "until_usec"));

                outage_format_time(t, /* with_date= */ true, since, sizeof(since));
                outage_format_time(u, /* with_date= */ false, until, sizeof(until));
                outage_format_timespan(u - MIN(u, t), span, sizeof(span));
                printf("%-12slast outage: %s to %s (%s): %s\n", "", since, until, span,
                       jstr(last, "cause"));
        }
}

/* Tree groups' directories outside systemd's units (cgrouparch's), only when there are some. */
static void print_leftover(const json_t *l) {
        const json_t *p;
        json_int_t n = json_integer_value(json_object_get(l, "directories"));
        size_t i;

        if (n <= 0)
                return;
        printf("Leftover:   %" JSON_INTEGER_FORMAT " directories of tree groups outside systemd's units (see "
               "slicekeeper migrate):", n);
        json_array_foreach(json_object_get(l, "paths"), i, p)
                printf(" %s", json_string_value(p) ? json_string_value(p) : "?");
        printf("%s\n", (json_int_t) json_array_size(json_object_get(l, "paths")) < n ? " ..." : "");
}

static int verb_status(void) {
        _cleanup_(json_decrefp) json_t *s = NULL;
        const json_t *err, *slices, *slice, *source, *redis, *ne;
        const char *type;
        size_t i, j;
        int r;

        r = ask("status", &s);
        if (r < 0)
                return r;
        if (arg_json) {
                print_json(s);
                return 0;
        }
        source = json_object_get(s, "source");
        type = json_string_value(json_object_get(source, "type"));
        if (type && streq(type, "zookeeper"))
                printf("Source:     ZooKeeper %s, node %s, %s%s%s\n",
                       jstr(source, "hosts"),
                       jstr(source, "node"),
                       jstr(source, "state"),
                       json_is_string(json_object_get(source, "session_id")) ? ", session " : "",
                       json_is_string(json_object_get(source, "session_id")) ?
                               jstr(source, "session_id") : "");
        else
                printf("Source:     file %s\n", jstr(source, "path"));
        if (type && streq(type, "zookeeper"))
                print_connection("ZooKeeper:", jstr(source, "hosts"),
                                 json_object_get(source, "connection"), NULL);
        redis = json_object_get(s, "redis");
        if (json_is_object(redis)) {
                char detail[200];

                snprintf(detail, sizeof(detail), "%" JSON_INTEGER_FORMAT " written, backlog %" JSON_INTEGER_FORMAT
                         ", %" JSON_INTEGER_FORMAT " dropped", json_integer_value(json_object_get(redis, "written")),
                         json_integer_value(json_object_get(redis, "backlog")),
                         json_integer_value(json_object_get(redis, "dropped")));
                print_connection("Redis:", jstr(redis, "address"), redis, detail);
        }
        if (json_is_integer(json_object_get(s, "version")))
                printf("Tree:       version %" JSON_INTEGER_FORMAT ", %s schema, %" JSON_INTEGER_FORMAT " groups\n",
                       json_integer_value(json_object_get(s, "version")),
                       jstr(s, "schema"),
                       json_integer_value(json_object_get(s, "groups")));
        else
                printf("Tree:       none applied yet\n");
        if (json_is_object(json_object_get(s, "users"))) { /* [FairShare] Enable=yes */
                const json_t *u = json_object_get(s, "users");

                printf("Users:      %" JSON_INTEGER_FORMAT " (UID >= %" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
                       " user slices below)\n", json_integer_value(json_object_get(u, "count")),
                       json_integer_value(json_object_get(u, "min_uid")),
                       json_integer_value(json_object_get(json_object_get(u, "below_min_uid"), "count")));
        }
        print_fair_share(json_object_get(s, "fair_share"));
        print_events(json_object_get(s, "events"));
        err = json_object_get(s, "last_error");
        printf("Last error: %s\n", json_is_object(err) ? jstr(err, "message") : "none");
        print_leftover(json_object_get(s, "leftover"));
        print_io_devices(json_object_get(json_object_get(s, "sampler"), "io_devices"));
        print_fds(json_object_get(s, "fds"), json_object_get(json_object_get(s, "sampler"), "budget"));
        slices = json_object_get(s, "slices");
        printf("\n%-40s %-28s %-10s %-5s %s\n", "UNIT", "GROUP", "STATE", "OWNED", "PROPERTIES");
        json_array_foreach(slices, i, slice) {
                const json_t *op = json_object_get(slice, "last_op");
                const char *opstate = json_string_value(json_object_get(op, "state"));

                printf("%-40s %-28s %-10s %-5s ", jstr(slice, "unit"),
                       jstr(slice, "group"),
                       jstr(slice, "active_state"),
                       json_is_true(json_object_get(slice, "owned")) ? "yes" : "no");
                print_props(json_object_get(slice, "properties"));
                if (opstate && (streq(opstate, "failed") || streq(opstate, "skipped")))
                        printf("  [%s %s: %s]", jstr(op, "op"), opstate,
                               jstr(op, "error"));
                json_array_foreach(json_object_get(slice, "not_enforced"), j, ne)
                        printf("  [%s=%s %s]", jstr(ne, "property"), jstr(ne, "value"), jstr(ne, "reason"));
                printf("\n");
        }
        return 0;
}

static int verb_plan(void) {
        _cleanup_(json_decrefp) json_t *p = NULL;
        const json_t *items, *item, *unenforced;
        size_t i;
        int r;

        r = ask("plan", &p);
        if (r < 0)
                return r;
        if (arg_json) {
                print_json(p);
                return 0;
        }
        items = json_object_get(p, "items");
        unenforced = json_object_get(p, "not_enforced");
        if (json_array_size(items) == 0)
                printf("No pending changes: systemd matches the tree%s\n",
                       json_array_size(unenforced) ? "; but this host does not enforce:" : ".");
        json_array_foreach(items, i, item) {
                const char *error = json_string_value(json_object_get(item, "error"));

                printf("%-7s %-8s %-40s ", jstr(item, "op"),
                       jstr(item, "state"),
                       jstr(item, "unit"));
                print_props(json_object_get(item, "properties"));
                if (error)
                        printf("  (%s)", error);
                printf("\n");
        }
        json_array_foreach(unenforced, i, item)
                printf("%-7s %-8s %-40s %s=%s: %s\n", "-", "-", jstr(item, "unit"), jstr(item, "property"),
                       jstr(item, "value"), jstr(item, "reason"));
        return 0;
}

static bool arg_shell = false;

static int resolve_slices(char **names, size_t n, json_t **ret) {
        _cleanup_(json_decrefp) json_t *list = json_array(), *args = NULL;

        for (size_t i = 0; i < n; i++)
                json_array_append_new(list, json_string(names[i]));
        args = json_pack("{s:O}", "names", list);
        return args ? ask_args("exec_args", args, ret) : -ENOMEM;
}

static int verb_exec_args(char **names, size_t n) {
        _cleanup_(json_decrefp) json_t *answer = NULL;
        const char *key;
        json_t *v;
        bool failed = false;
        int r;

        if (n == 0) {
                fprintf(stderr, "exec-args needs at least one group name.\n");
                return -EINVAL;
        }
        r = resolve_slices(names, n, &answer);
        if (r < 0)
                return r;
        json_object_foreach(answer, key, v)
                failed |= !json_is_string(v);
        if (!arg_shell)
                print_json(answer);
        else
                /* One argument per line for $(...): errors go to stderr instead. */
                for (size_t i = 0; i < n; i++) {
                        v = json_object_get(answer, names[i]);
                        if (json_is_string(v))
                                printf("%s\n", json_string_value(v));
                        else
                                fprintf(stderr, "%s: %s\n", names[i],
                                        jstr(v, "error"));
                }
        return failed ? -ENOENT : 0;
}

static int verb_run(const char *mode, char **argv, int argc) {
        _cleanup_(json_decrefp) json_t *answer = NULL;
        const json_t *arg;
        const char *args[argc + 16];
        int n = 0, r;

        if (argc < 3 || !streq(argv[1], "--")) {
                fprintf(stderr, "usage: slicekeeper run [--scope|--service] NAME -- CMD [ARGS...]\n");
                return -EINVAL;
        }
        r = resolve_slices(&argv[0], 1, &answer);
        if (r < 0)
                return r;
        arg = json_object_get(answer, argv[0]);
        if (!json_is_string(arg)) {
                fprintf(stderr, "%s: %s\n", argv[0], jstr(arg, "error"));
                return -ENOENT;
        }
        args[n++] = "systemd-run";
        args[n++] = "--quiet";
        if (streq(mode, "scope"))
                args[n++] = "--scope";
        else {
                /* --wait passes the service's exit status through; --pipe connects our stdio. */
                args[n++] = "--wait";
                args[n++] = "--pipe";
                args[n++] = "--collect";
        }
        args[n++] = json_string_value(arg);
        args[n++] = "--";
        for (int i = 2; i < argc; i++)
                args[n++] = argv[i];
        args[n] = NULL;
        fflush(stdout);
        execvp("systemd-run", (char *const *) args);
        fprintf(stderr, "Cannot run systemd-run: %s\n", strerror(errno));
        return -errno;
}

/* migrate: the daemon does the work (it owns the bus); the report is asked for until it is there. */
static int verb_migrate(bool dry_run) {
        _cleanup_(json_decrefp) json_t *started = NULL, *report = NULL, *args = NULL;
        const json_t *dirs, *d, *moves, *mv;
        json_int_t id;
        size_t i;
        bool failed = false;
        int r;

        args = json_pack("{s:b}", "dry_run", dry_run);
        if (!args)
                return -ENOMEM;
        r = ask_args("migrate", args, &started);
        if (r < 0)
                return r;
        id = json_integer_value(json_object_get(started, "id"));
        json_decref(args);
        args = json_pack("{s:I}", "id", id);
        if (!args)
                return -ENOMEM;
        for (unsigned tries = 0;; tries++) {
                json_decref(report);
                report = NULL;
                r = ask_args("migrate_result", args, &report);
                if (r < 0)
                        return r;
                if (json_is_true(json_object_get(report, "finished")))
                        break;
                if (tries >= MIGRATE_WAIT_SEC * 20) {
                        fprintf(stderr, "The migration (id %lld) did not finish within %d s; see the journal.\n",
                                (long long) id, MIGRATE_WAIT_SEC);
                        return -ETIMEDOUT;
                }
                (void) nanosleep(&(struct timespec) { .tv_nsec = 50 * 1000 * 1000 }, NULL);
        }
        moves = json_object_get(report, "moves");
        json_array_foreach(moves, i, mv)
                failed = failed || streq(jstr(mv, "result"), "failed");
        if (arg_json) {
                print_json(report);
                return failed ? -EIO : 0;
        }
        dirs = json_object_get(report, "directories");
        if (json_array_size(dirs) == 0)
                printf("No directories outside systemd's units in %zu cgroup hierarchies.\n",
                       json_array_size(json_object_get(report, "hierarchies")));
        json_array_foreach(dirs, i, d) {
                const json_t *procs = json_object_get(d, "processes");
                const char *reason = json_string_value(json_object_get(d, "reason"));

                printf("%-50s %-24s %s", jstr(d, "path"), jstr(d, "group"), jstr(d, "result"));
                if (json_is_integer(procs) && dry_run)
                        printf(" (%lld process(es))", (long long) json_integer_value(procs));
                else if (json_is_integer(procs))
                        printf(" (%lld process(es), %lld moved)", (long long) json_integer_value(procs),
                               (long long) json_integer_value(json_object_get(d, "moved")));
                printf(reason ? ": %s\n" : "\n", reason);
        }
        json_array_foreach(moves, i, mv) {
                const char *error = json_string_value(json_object_get(mv, "error"));

                printf("%s %lld process(es) of group %s into %s%s%s\n", jstr(mv, "result"),
                       (long long) json_integer_value(json_object_get(mv, "processes")), jstr(mv, "group"),
                       jstr(mv, "scope"), error ? ": " : "", error ? error : "");
        }
        if (json_is_true(json_object_get(report, "truncated")))
                printf("Stopped looking after the first %zu directories; run migrate again afterwards.\n",
                       json_array_size(dirs));
        if (dry_run)
                printf("Dry run: nothing was changed.\n");
        else
                printf("Moved %lld process(es) into their groups' scopes, removed %lld directories, kept %lld, left "
                       "%lld alone.\n",
                       (long long) json_integer_value(json_object_get(report, "moved")),
                       (long long) json_integer_value(json_object_get(report, "removed")),
                       (long long) json_integer_value(json_object_get(report, "kept")),
                       (long long) json_integer_value(json_object_get(report, "left_alone")));
        return failed ? -EIO : 0;
}

static void help(void) {
        printf("%s [OPTIONS...] COMMAND\n\n"
               "Query slicekeeperd.\n\n"
               "Commands:\n"
               "  status                 Managed slices, their properties, tree version, last error\n"
               "  plan                   Changes not applied yet (pending, failed or skipped)\n"
               "  exec-args NAME...      JSON {NAME: \"--slice=UNIT\"} to pass to systemd-run\n"
               "  run [--scope|--service] NAME -- CMD...\n"
               "                         Run CMD in the group's slice (default --scope), passing\n"
               "                         its exit status through\n"
               "  migrate [--dry-run]    Move processes out of cgrouparch's directories into their\n"
               "                         groups' scopes and remove the emptied directories\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --json              Print JSON\n"
               "     --shell             exec-args: print only the arguments, one per line\n"
               "     --socket=PATH       Control socket (default " SLICEKEEPER_CONTROL_SOCKET ")\n",
               program_invocation_short_name);
}

int main(int argc, char *argv[]) {
        enum { ARG_JSON = 0x100, ARG_SOCKET, ARG_SHELL };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "shell", no_argument, NULL, ARG_SHELL },
                { 0 },
        };
        const char *verb;
        int c, r;

        /* Stop at the verb: what follows belongs to it (run passes options to its command). */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case ARG_SHELL:
                        arg_shell = true;
                        break;
                default:
                        return EXIT_FAILURE;
                }
        if (optind >= argc) {
                fprintf(stderr, "Expected a command (status, plan, exec-args, run, migrate); see --help.\n");
                return EXIT_FAILURE;
        }
        verb = argv[optind];
        if (streq(verb, "status") || streq(verb, "plan")) {
                for (int i = optind + 1; i < argc; i++) {
                        if (!streq(argv[i], "--json")) {
                                fprintf(stderr, "Unknown argument %s for %s.\n", argv[i], verb);
                                return EXIT_FAILURE;
                        }
                        arg_json = true;
                }
                r = streq(verb, "status") ? verb_status() : verb_plan();
        }
        else if (streq(verb, "exec-args")) {
                int first = optind + 1;

                while (first < argc && argv[first][0] == '-') {
                        if (streq(argv[first], "--shell"))
                                arg_shell = true;
                        else if (!streq(argv[first], "--json")) {
                                fprintf(stderr, "Unknown option %s for exec-args.\n", argv[first]);
                                return EXIT_FAILURE;
                        }
                        first++;
                }
                r = verb_exec_args(&argv[first], (size_t) (argc - first));
        } else if (streq(verb, "migrate")) {
                bool dry_run = false;

                for (int i = optind + 1; i < argc; i++) {
                        if (streq(argv[i], "--dry-run"))
                                dry_run = true;
                        else if (streq(argv[i], "--json"))
                                arg_json = true;
                        else {
                                fprintf(stderr, "Unknown argument %s for migrate.\n", argv[i]);
                                return EXIT_FAILURE;
                        }
                }
                r = verb_migrate(dry_run);
        } else if (streq(verb, "run")) {
                const char *mode = "scope";
                int first = optind + 1;

                if (first < argc && (streq(argv[first], "--scope") || streq(argv[first], "--service"))) {
                        mode = argv[first] + 2;
                        first++;
                }
                r = verb_run(mode, &argv[first], argc - first);
        } else {
                fprintf(stderr, "Unknown command or extra arguments: %s (status, plan, exec-args, run, migrate); see --help.\n",
                        verb);
                return EXIT_FAILURE;
        }
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
