/* SPDX-License-Identifier: MIT */
/* slicekeeper: the command line. Asks the daemon over its control socket; never talks to ZooKeeper, and reads
 * Redis only for `fleet` (every host's seconds, which no one daemon holds). */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "address.h"
#include "config.h"
#include "fleet-query.h"
#include "macro.h"
#include "outage.h"
#include "parse-util.h"
#include "paths.h"
#include "top.h"

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
        {
                const json_t *admin = json_object_get(f, "admin");
                const json_t *ud = json_object_get(admin, "users_d"), *st = json_object_get(admin, "state");

                if (json_is_object(ud))
                        printf("  users.d: %s, %" JSON_INTEGER_FORMAT " sections%s%s\n", jstr(ud, "dir"),
                               json_integer_value(json_object_get(ud, "sections")),
                               json_is_string(json_object_get(ud, "error")) ? "; last load failed, kept: " : "",
                               json_is_string(json_object_get(ud, "error")) ? jstr(ud, "error") : "");
                if (json_is_object(st))
                        printf("  users.json: %s, %" JSON_INTEGER_FORMAT " users with a penalty or limit%s%s\n",
                               jstr(st, "dir"), json_integer_value(json_object_get(st, "users")),
                               json_is_string(json_object_get(st, "error")) ? "; " : "",
                               json_is_string(json_object_get(st, "error")) ? jstr(st, "error") : "");
                if (json_is_object(json_object_get(admin, "fleet_users"))) {
                        const json_t *fu = json_object_get(admin, "fleet_users");

                        printf("  fleet users (ZooKeeper): %" JSON_INTEGER_FORMAT " entries, %" JSON_INTEGER_FORMAT
                               " refused%s%s\n", json_integer_value(json_object_get(fu, "entries")),
                               json_integer_value(json_object_get(fu, "rejected")),
                               json_is_string(json_object_get(fu, "last_error")) ? "; last: " : "",
                               json_is_string(json_object_get(fu, "last_error")) ? jstr(fu, "last_error") : "");
                }
        }
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
                {
                        const char *key;
                        json_t *v;

                        json_object_foreach(json_object_get(u, "override"), key, v)
                                printf("  %-10s users.d %s: %s\n", "", key, json_string_value(v));
                }
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
        if (json_is_string(json_object_get(s, "node")))
                printf("Node:       %s\n", jstr(s, "node"));
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
        if (json_is_object(json_object_get(source, "overlay"))) { /* [ZooKeeper] HostOverlay=yes */
                const json_t *ov = json_object_get(source, "overlay");
                const json_t *applied = json_object_get(json_object_get(s, "versions"), "overlay");

                printf("Overlay:    %s, %s", jstr(ov, "node"), json_is_true(json_object_get(ov, "present")) ?
                                                                       "present" : "none");
                if (json_is_integer(applied))
                        printf(", version %" JSON_INTEGER_FORMAT " applied", json_integer_value(applied));
                printf("\n");
        }
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

/* ---- fair share: penalty, limit, users ---- */

/* USER as a name (NSS) or a UID: the uid and, where NSS knows it, the name. */
static int resolve_user(const char *user, uint32_t *ret_uid, char **ret_name) {
        uint64_t n;

        if (safe_atou64(user, &n) >= 0) {
                struct passwd *pw;

                if (n >= UINT32_MAX) {
                        fprintf(stderr, "UID %s is out of range (0 to 4294967294).\n", user);
                        return -ERANGE;
                }
                errno = 0;
                pw = getpwuid((uid_t) n);
                *ret_uid = (uint32_t) n;
                *ret_name = pw ? strdup(pw->pw_name) : NULL;
                return 0;
        }
        if (isempty(user) || user[0] == '-') {
                fprintf(stderr, "Expected a user name or UID, got '%s'.\n", user);
                return -EINVAL;
        }
        errno = 0;
        struct passwd *pw = getpwnam(user);
        if (!pw) {
                fprintf(stderr, "Unknown user '%s' (not known to NSS; a UID works too).\n", user);
                return -ENOENT;
        }
        *ret_uid = (uint32_t) pw->pw_uid;
        *ret_name = strdup(pw->pw_name);
        return *ret_name ? 0 : -ENOMEM;
}

static json_t *user_args(uint32_t uid, const char *name) {
        json_t *args = json_pack("{s:I}", "uid", (json_int_t) uid);

        if (args && name)
                json_object_set_new(args, "user", json_string(name));
        return args;
}

/* "2026-12-01 14:30:00" of a unix second, "-" for none (null). */
static void format_time(const json_t *v, char *buf, size_t size) {
        time_t t;
        struct tm tm;

        if (!json_is_integer(v)) {
                snprintf(buf, size, "-");
                return;
        }
        t = (time_t) json_integer_value(v);
        if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
}

/* "1.5G" of bytes, "infinity", "-" for none. */
static void format_bytes(const json_t *v, char *buf, size_t size) {
        static const char *const units[] = { "", "K", "M", "G", "T", "P" };
        double x;
        size_t i = 0;

        if (json_is_string(v)) {
                snprintf(buf, size, "%s", json_string_value(v));
                return;
        }
        if (!json_is_integer(v)) {
                snprintf(buf, size, "-");
                return;
        }
        x = (double) json_integer_value(v);
        for (; x >= 1024 && i + 1 < ELEMENTSOF(units); i++)
                x /= 1024;
        snprintf(buf, size, i == 0 ? "%.0f%s" : "%.1f%s", x, units[i]);
}

static void describe_penalty(const json_t *p, char *buf, size_t size) {
        char until[64], memory[32];

        if (!json_is_object(p)) {
                snprintf(buf, size, "-");
                return;
        }
        format_time(json_object_get(p, "until"), until, sizeof(until));
        format_bytes(json_object_get(p, "memory"), memory, sizeof(memory));
        snprintf(buf, size, "%s until %s%s%s", jstr(p, "mode"), until,
                 json_is_null(json_object_get(p, "memory")) ? "" : ", memory ",
                 json_is_null(json_object_get(p, "memory")) ? "" : memory);
}

static void describe_limit(const json_t *l, char *buf, size_t size) {
        char until[64], memory[32], cpu[32] = "";

        if (!json_is_object(l)) {
                snprintf(buf, size, "-");
                return;
        }
        format_time(json_object_get(l, "until"), until, sizeof(until));
        format_bytes(json_object_get(l, "memory"), memory, sizeof(memory));
        if (json_is_integer(json_object_get(l, "cpu_pct")))
                snprintf(cpu, sizeof(cpu), "cpu %" JSON_INTEGER_FORMAT "%% ",
                         json_integer_value(json_object_get(l, "cpu_pct")));
        snprintf(buf, size, "%s%s%s%s%s", cpu, json_is_null(json_object_get(l, "memory")) ? "" : "memory ",
                 json_is_null(json_object_get(l, "memory")) ? "" : memory,
                 json_is_integer(json_object_get(l, "until")) ? " until " : " until --clear",
                 json_is_integer(json_object_get(l, "until")) ? until : "");
}

/* A duration option's value ("90s", "2h30m") in whole seconds. */
static int parse_for(const char *value, json_int_t *ret) {
        usec_t u;
        int r = parse_duration(value, &u);

        if (r < 0) {
                fprintf(stderr, "--for=%s: %s (e.g. 90s, 30m, 2h, 2h30m, 1d; at most 366d).\n", value,
                        r == -ERANGE ? "not between 1 s and a year" : "not a duration");
                return r;
        }
        *ret = (json_int_t) (u / USEC_PER_SEC);
        return 0;
}

static int parse_memory_option(const char *value, bool infinity_ok, json_t **ret) {
        uint64_t bytes;

        if (parse_size(value, &bytes) < 0 || (bytes == UINT64_MAX && !infinity_ok) ||
            (bytes != UINT64_MAX && (bytes < 1024 * 1024 || bytes > (UINT64_C(1) << 53)))) {
                fprintf(stderr, "--memory=%s: not a size from 1M to 8P (e.g. 512M, 4G)%s.\n", value,
                        infinity_ok ? " or infinity" : "");
                return -EINVAL;
        }
        *ret = bytes == UINT64_MAX ? json_string("infinity") : json_integer((json_int_t) bytes);
        return 0;
}

/* Options of penalty and limit: --NAME=VALUE or --NAME VALUE. */
static const char *option_value(char **argv, int argc, int *i, const char *name) {
        size_t len = strlen(name);

        if (strncmp(argv[*i], name, len) != 0)
                return NULL;
        if (argv[*i][len] == '=')
                return argv[*i] + len + 1;
        if (argv[*i][len] != 0)
                return NULL;
        if (*i + 1 >= argc) {
                fprintf(stderr, "%s needs a value.\n", name);
                return "";
        }
        return argv[++*i];
}

static int print_change(const json_t *answer) {
        const char *action = jstr(answer, "action");
        char text[256];

        if (arg_json) {
                print_json(answer);
                return 0;
        }
        if (json_object_get(answer, "penalty"))
                describe_penalty(json_object_get(answer, "penalty"), text, sizeof(text));
        else
                describe_limit(json_object_get(answer, "limit"), text, sizeof(text));
        printf("UID %" JSON_INTEGER_FORMAT ": %s %s: %s%s\n", json_integer_value(json_object_get(answer, "uid")),
               json_object_get(answer, "penalty") ? "penalty" : "limit", action, text,
               json_is_true(json_object_get(answer, "replaced")) ? " (replaces the previous one)" : "");
        return 0;
}

/* penalty USER on [--for D] [--mode M] [--memory SIZE] | penalty USER off */
static int verb_penalty(char **argv, int argc) {
        _cleanup_(json_decrefp) json_t *args = NULL, *answer = NULL;
        _cleanup_(freep) char *name = NULL;
        uint32_t uid;
        bool on;
        int r;

        if (argc < 2 || (!streq(argv[1], "on") && !streq(argv[1], "off"))) {
                fprintf(stderr, "Usage: penalty USER on [--for DURATION] [--mode active|locked] [--memory SIZE]\n"
                                "       penalty USER off\n");
                return -EINVAL;
        }
        on = streq(argv[1], "on");
        r = resolve_user(argv[0], &uid, &name);
        if (r < 0)
                return r;
        args = user_args(uid, name);
        if (!args)
                return -ENOMEM;
        json_object_set_new(args, "on", json_boolean(on));
        for (int i = 2; i < argc; i++) {
                const char *v;

                if (streq(argv[i], "--json"))
                        arg_json = true;
                else if (on && (v = option_value(argv, argc, &i, "--for"))) {
                        json_int_t sec;

                        if (isempty(v) || parse_for(v, &sec) < 0)
                                return -EINVAL;
                        json_object_set_new(args, "for_sec", json_integer(sec));
                } else if (on && (v = option_value(argv, argc, &i, "--mode"))) {
                        if (!streq(v, "active") && !streq(v, "locked")) {
                                fprintf(stderr, "--mode=%s: expected active or locked.\n", v);
                                return -EINVAL;
                        }
                        json_object_set_new(args, "mode", json_string(v));
                } else if (on && (v = option_value(argv, argc, &i, "--memory"))) {
                        json_t *m;

                        if (isempty(v) || parse_memory_option(v, false, &m) < 0)
                                return -EINVAL;
                        json_object_set_new(args, "memory", m);
                } else {
                        fprintf(stderr, "Unknown argument %s for penalty %s.\n", argv[i], argv[1]);
                        return -EINVAL;
                }
        }
        r = ask_args("penalty", args, &answer);
        return r < 0 ? r : print_change(answer);
}

/* limit USER [--cpu PCT] [--memory SIZE] [--for D] | limit USER --clear */
static int verb_limit(char **argv, int argc) {
        _cleanup_(json_decrefp) json_t *args = NULL, *answer = NULL;
        _cleanup_(freep) char *name = NULL;
        bool clear = false, set = false;
        uint32_t uid;
        int r;

        if (argc < 2) {
                fprintf(stderr, "Usage: limit USER [--cpu PERCENT] [--memory SIZE] [--for DURATION]\n"
                                "       limit USER --clear\n");
                return -EINVAL;
        }
        r = resolve_user(argv[0], &uid, &name);
        if (r < 0)
                return r;
        args = user_args(uid, name);
        if (!args)
                return -ENOMEM;
        for (int i = 1; i < argc; i++) {
                const char *v;

                if (streq(argv[i], "--json"))
                        arg_json = true;
                else if (streq(argv[i], "--clear"))
                        clear = true;
                else if ((v = option_value(argv, argc, &i, "--cpu"))) {
                        uint64_t pct;

                        if (isempty(v))
                                return -EINVAL;
                        if (parse_percent(v, &pct) < 0 || pct < 1 || pct > 819200) {
                                fprintf(stderr, "--cpu=%s: expected a percentage of one core from 1%% to 819200%% "
                                                "(150%% = 1.5 cores).\n", v);
                                return -EINVAL;
                        }
                        json_object_set_new(args, "cpu_pct", json_integer((json_int_t) pct));
                        set = true;
                } else if ((v = option_value(argv, argc, &i, "--memory"))) {
                        json_t *m;

                        if (isempty(v) || parse_memory_option(v, true, &m) < 0)
                                return -EINVAL;
                        json_object_set_new(args, "memory", m);
                        set = true;
                } else if ((v = option_value(argv, argc, &i, "--for"))) {
                        json_int_t sec;

                        if (isempty(v) || parse_for(v, &sec) < 0)
                                return -EINVAL;
                        json_object_set_new(args, "for_sec", json_integer(sec));
                } else {
                        fprintf(stderr, "Unknown argument %s for limit.\n", argv[i]);
                        return -EINVAL;
                }
        }
        if (clear && json_object_size(args) > (name ? 2u : 1u)) {
                fprintf(stderr, "limit --clear takes no --cpu, --memory or --for.\n");
                return -EINVAL;
        }
        if (!clear && !set) {
                fprintf(stderr, "limit needs --cpu and/or --memory (or --clear).\n");
                return -EINVAL;
        }
        if (clear)
                json_object_set_new(args, "clear", json_true());
        r = ask_args("limit", args, &answer);
        return r < 0 ? r : print_change(answer);
}

/* users [--json] [--me] */
static int verb_users(bool me) {
        _cleanup_(json_decrefp) json_t *args = json_pack("{s:b}", "me", me), *answer = NULL;
        const json_t *u, *admin;
        size_t i;
        int r;

        if (!args)
                return -ENOMEM;
        r = ask_args("users", args, &answer);
        if (r < 0)
                return r;
        if (arg_json) {
                print_json(answer);
                return 0;
        }
        admin = json_object_get(answer, "admin");
        if (json_is_string(json_object_get(json_object_get(admin, "users_d"), "error")))
                printf("users.d: %s (the previous set is in use)\n",
                       jstr(json_object_get(admin, "users_d"), "error"));
        if (json_is_string(json_object_get(json_object_get(admin, "state"), "error")))
                printf("users.json: %s\n", jstr(json_object_get(admin, "state"), "error"));
        if (json_array_size(json_object_get(answer, "list")) == 0 &&
            json_array_size(json_object_get(answer, "absent")) == 0) {
                printf(me ? "No user slice of yours is running (or fair share has not seen it yet).\n" :
                            "No users.\n");
                return 0;
        }
        printf("%-16s %6s %7s %6s %9s %5s %8s %9s  %s\n", "USER", "TASKS", "CPU%", "CAP", "THROTTLED", "FIXED",
               "PENALTY", "MEMORY", "WHY");
        json_array_foreach(json_object_get(answer, "list"), i, u) {
                char cap[32], mem[32], cpu[32], tasks[32], text[512];
                const json_t *ov = json_object_get(u, "override");
                const char *key;
                json_t *v;

                format_cores(json_object_get(u, "cap_usec"), cap, sizeof(cap));
                format_bytes(json_object_get(u, "memused"), mem, sizeof(mem));
                if (json_is_number(json_object_get(u, "cpupct")))
                        snprintf(cpu, sizeof(cpu), "%.1f", json_number_value(json_object_get(u, "cpupct")));
                else
                        snprintf(cpu, sizeof(cpu), "-");
                if (json_is_integer(json_object_get(u, "numtasks")))
                        snprintf(tasks, sizeof(tasks), "%" JSON_INTEGER_FORMAT,
                                 json_integer_value(json_object_get(u, "numtasks")));
                else
                        snprintf(tasks, sizeof(tasks), "-");
                printf("%-16s %6s %7s %6s %9s %5s %8s %9s  %s\n", jstr(u, "ident"), tasks, cpu, cap,
                       json_is_true(json_object_get(u, "throttled")) ? "yes" : "no",
                       json_is_true(json_object_get(u, "fixedcpu")) ? "yes" : "no",
                       json_is_true(json_object_get(u, "penaltyboxed")) ? "yes" : "no", mem, jstr(u, "reason"));
                if (json_is_object(json_object_get(u, "penalty"))) {
                        describe_penalty(json_object_get(u, "penalty"), text, sizeof(text));
                        printf("  penalty (%s): %s\n", json_is_string(json_object_get(u, "penalty_source")) ?
                                                               jstr(u, "penalty_source") : "local", text);
                }
                if (json_is_object(json_object_get(u, "limit"))) {
                        describe_limit(json_object_get(u, "limit"), text, sizeof(text));
                        printf("  limit (%s): %s\n", json_is_string(json_object_get(u, "limit_source")) ?
                                                             jstr(u, "limit_source") : "local", text);
                }
                json_object_foreach((json_t *) ov, key, v)
                        printf("  users.d %s: %s\n", key, json_string_value(v));
        }
        json_array_foreach(json_object_get(answer, "absent"), i, u) {
                char text[512];

                if (json_is_object(json_object_get(u, "penalty"))) {
                        describe_penalty(json_object_get(u, "penalty"), text, sizeof(text));
                        printf("UID %" JSON_INTEGER_FORMAT " (not logged in): penalty %s\n",
                               json_integer_value(json_object_get(u, "uid")), text);
                }
                if (json_is_object(json_object_get(u, "limit"))) {
                        describe_limit(json_object_get(u, "limit"), text, sizeof(text));
                        printf("UID %" JSON_INTEGER_FORMAT " (not logged in): limit %s\n",
                               json_integer_value(json_object_get(u, "uid")), text);
                }
        }
        return 0;
}

/* top: the window's last two seconds, as rows (src/top/top.h). */
static int top_fetch(TopTable *ret) {
        json_t *answer = NULL, *args = json_pack("{s:i}", "seconds", 2);
        int r;

        if (!args)
                return -ENOMEM;
        r = ask_args("account", args, &answer);
        json_decref(args);
        if (r < 0)
                return r;
        r = top_table_from_account(answer, ret);
        json_decref(answer);
        if (r < 0)
                fprintf(stderr, "Unexpected answer from slicekeeperd to \"account\" (an older daemon?).\n");
        return r;
}

static int top_table_get(TopSort sort, unsigned depth, TopTable *ret) {
        int r = top_fetch(ret);

        if (r < 0)
                return r;
        top_table_sort(ret, sort);
        if (depth != UINT_MAX)
                top_table_cut_depth(ret, depth);
        return 0;
}

/* The screen's text: a title, the header, as many rows as fit in height lines (all, and no keys in the title,
 * when 0: --once). */
static void top_print(FILE *f, const TopTable *t, TopSort sort, unsigned columns, unsigned height,
                      const char *eol) {
        _cleanup_(freep) char *line = malloc(columns + 1);
        char when[32] = "-";
        struct tm tm;
        time_t sec = (time_t) t->unix_sec;
        size_t n = t->n;

        if (!line)
                return;
        if (localtime_r(&sec, &tm))
                strftime(when, sizeof(when), "%H:%M:%S", &tm);
        fprintf(f, "slicekeeper top  %s  sorted by %s%s%s", when, top_sort_to_string(sort),
                height > 0 ? "  (c m i t: sort, q: quit)" : "", eol);
        top_format_header(columns, sort, line, columns + 1);
        fprintf(f, "%s%s", line, eol);
        if (height > 0)
                n = MIN(n, (size_t) (height > 3 ? height - 3 : 0));
        for (size_t i = 0; i < n; i++) {
                top_format_row(&t->rows[i], columns, line, columns + 1);
                fprintf(f, "%s%s", line, eol);
        }
}

static struct termios top_saved;
static volatile sig_atomic_t top_raw = false, top_resized = false;

/* Async-signal-safe: from the signal handlers as from atexit. */
static void top_restore(void) {
        static const char show_cursor[] = "\033[?25h\n";

        if (!top_raw)
                return;
        top_raw = false;
        (void) !write(STDOUT_FILENO, show_cursor, sizeof(show_cursor) - 1);
        (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &top_saved);
}

static void on_top_signal(int sig) {
        top_restore();
        signal(sig, SIG_DFL);
        raise(sig);
}

static void on_top_winch(int sig _unused_) {
        top_resized = true;
}

static void top_window(unsigned *ret_columns, unsigned *ret_rows) {
        struct winsize ws = {};

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0 || ws.ws_row == 0)
                ws = (struct winsize) { .ws_col = 80, .ws_row = 24 };
        *ret_columns = MAX((unsigned) ws.ws_col, (unsigned) TOP_COLUMNS_MIN);
        *ret_rows = ws.ws_row;
}

static uint64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Redraws every second until q; the terminal (cbreak, no echo, cursor hidden) is put back however it
 * ends: q, an error, SIGINT/SIGTERM/SIGHUP/SIGQUIT, exit(). */
static int top_interactive(TopSort sort, unsigned depth) {
        struct sigaction stop = { .sa_handler = on_top_signal }, winch = { .sa_handler = on_top_winch };
        _cleanup_(top_table_done) TopTable t = {};
        struct termios raw;
        uint64_t next;
        int r;

        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
                fprintf(stderr, "top needs a terminal; use --once or --json for scripts.\n");
                return -ENOTTY;
        }
        /* the first answer before the terminal changes: a daemon not running is said plainly */
        r = top_table_get(sort, depth, &t);
        if (r < 0)
                return r;
        if (tcgetattr(STDIN_FILENO, &top_saved) < 0) {
                r = -errno;
                fprintf(stderr, "Cannot read the terminal's settings: %s\n", strerror(errno));
                return r;
        }
        sigemptyset(&stop.sa_mask);
        sigemptyset(&winch.sa_mask); /* no SA_RESTART: poll() returns to redraw at once */
        atexit(top_restore);
        for (size_t i = 0; i < 4; i++)
                sigaction((const int[]) { SIGINT, SIGTERM, SIGHUP, SIGQUIT }[i], &stop, NULL);
        sigaction(SIGWINCH, &winch, NULL);
        raw = top_saved;
        raw.c_lflag &= ~(tcflag_t) (ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        top_raw = true;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0) {
                r = -errno;
                top_restore();
                fprintf(stderr, "Cannot set the terminal's mode: %s\n", strerror(errno));
                return r;
        }
        fputs("\033[?25l", stdout);
        next = now_msec();
        for (;;) {
                struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
                unsigned columns, height;
                uint64_t now = now_msec();
                char key;
                TopSort k;

                if (now >= next) {
                        top_table_done(&t);
                        r = top_table_get(sort, depth, &t);
                        if (r < 0)
                                break;
                        next = now + 1000;
                        top_resized = true;
                }
                if (top_resized) {
                        top_resized = false;
                        top_window(&columns, &height);
                        /* home, each line cleared to its end, the rest of the screen cleared */
                        fputs("\033[H", stdout);
                        top_print(stdout, &t, sort, columns, height, "\033[K\n");
                        fputs("\033[J", stdout);
                        fflush(stdout);
                }
                r = poll(&p, 1, (int) (next > now ? next - now : 0));
                if (r < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
                if (r <= 0)
                        continue;
                if (read(STDIN_FILENO, &key, 1) != 1) {
                        r = 0; /* the terminal went away */
                        break;
                }
                if (key == 'q' || key == 'Q') {
                        r = 0;
                        break;
                }
                if (top_sort_from_key(key, &k) >= 0) {
                        sort = k;
                        top_table_sort(&t, sort);
                        top_resized = true;
                }
        }
        fflush(stdout);
        top_restore();
        return r;
}

static int verb_top(char **argv, int argc) {
        TopSort sort = TOP_SORT_CPU;
        unsigned depth = UINT_MAX;
        bool once = false;
        int r;

        for (int i = 0; i < argc; i++) {
                const char *v;

                if (streq(argv[i], "--once"))
                        once = true;
                else if (streq(argv[i], "--json"))
                        arg_json = true;
                else if ((v = option_value(argv, argc, &i, "--sort"))) {
                        if (top_sort_from_string(v, &sort) < 0) {
                                fprintf(stderr, "--sort takes cpu, memory, io or tasks, not %s.\n", v);
                                return -EINVAL;
                        }
                } else if ((v = option_value(argv, argc, &i, "--depth"))) {
                        char *end;
                        unsigned long d;

                        errno = 0;
                        d = strtoul(v, &end, 10);
                        if (errno || end == v || *end || v[0] == '-' || d > 1000) {
                                fprintf(stderr, "--depth takes a number of levels (0: the root alone), not %s.\n", v);
                                return -EINVAL;
                        }
                        depth = (unsigned) d;
                } else {
                        fprintf(stderr, "Unknown argument %s for top.\n", argv[i]);
                        return -EINVAL;
                }
        }
        if (arg_json || once) {
                _cleanup_(top_table_done) TopTable t = {};

                r = top_table_get(sort, depth, &t);
                if (r < 0)
                        return r;
                if (arg_json) {
                        json_t *j = top_table_json(&t, sort);

                        if (!j)
                                return -ENOMEM;
                        print_json(j);
                        json_decref(j);
                } else {
                        /* a terminal's width, else (a script's pipe) wide enough that no name is cut */
                        unsigned columns = top_table_columns(&t), height;

                        if (isatty(STDOUT_FILENO))
                                top_window(&columns, &height);
                        top_print(stdout, &t, sort, columns, 0, "\n");
                }
                return 0;
        }
        return top_interactive(sort, depth);
}

/* fleet: every host's seconds from Redis ([Redis] HostKeys=yes on the daemons), in two round trips whatever the
 * number of hosts: the heartbeat set, then one pipeline of HMGETs of the group's field of each second (a third
 * only for seconds whose record has no field per group: their whole records). The one command that reads Redis
 * itself. */
#define FLEET_EXIT_NO_HOSTS 2
#define FLEET_TIMEOUT_SEC 10

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static void redis_freep(redisContext **c) {
        if (*c)
                redisFree(*c);
}

static void reply_freep(redisReply **r) {
        if (*r)
                freeReplyObject(*r);
}

static int fleet_connect(const char *address, redisContext **ret) {
        struct timeval tv = { .tv_sec = FLEET_TIMEOUT_SEC };
        char why[256];
        redisContext *c;
        Address a;

        if (address_parse_default_port(address, ADDRESS_ALLOW_UNIX, CONFIG_REDIS_DEFAULT_PORT, &a, why,
                                       sizeof(why)) < 0) {
                fprintf(stderr, "Not a Redis address: %s\n", why);
                return -EINVAL;
        }
        c = a.family == ADDRESS_UNIX ? redisConnectUnixWithTimeout(a.host, tv) :
                                       redisConnectWithTimeout(a.host, a.port, tv);
        if (!c)
                return -ENOMEM;
        if (c->err || redisSetTimeout(c, tv) != REDIS_OK) {
                fprintf(stderr, "Cannot reach Redis at %s: %s\n", address, c->errstr);
                redisFree(c);
                return -ECONNREFUSED;
        }
        *ret = c;
        return 0;
}

/* The reply to the next command of the pipeline; NULL with the reason said when the connection failed. */
static redisReply *fleet_reply(redisContext *c, const char *address) {
        void *reply = NULL;

        if (redisGetReply(c, &reply) != REDIS_OK || !reply) {
                fprintf(stderr, "Redis at %s: %s\n", address, c->errstr[0] ? c->errstr : "connection lost");
                return NULL;
        }
        return reply;
}

static void fleet_print_table(const FleetAnswer *a, const char *group) {
        _cleanup_(freep) FleetRow *rows = NULL;
        size_t n = 0, stale = 0;
        unsigned width;
        char line[512];

        if (fleet_table_rows(a, &rows, &n) < 0) {
                fprintf(stderr, "Out of memory.\n");
                return;
        }
        width = fleet_host_width(rows, n);
        printf("Group %s, last %u s (CPU in cores over the window)\n",
               group && *group ? group : "(all top-level groups)", a->plan->seconds);
        fleet_format_header(width, line, sizeof(line));
        printf("%s\n", line);
        for (size_t i = 0; i < n; i++) {
                fleet_format_row(&rows[i], width, line, sizeof(line));
                printf("%s\n", line);
                stale += rows[i].stale;
        }
        printf("\n%zu host%s, %zu stale (no second written for more than %u s)", n, n == 1 ? "" : "s", stale,
               FLEET_STALE_AFTER_SEC);
        if (a->skipped > 0)
                printf(", %zu record%s not valid skipped", a->skipped, a->skipped == 1 ? "" : "s");
        if (a->plan->skipped_hosts > 0)
                printf(", %zu heartbeat entr%s not a host skipped", a->plan->skipped_hosts,
                       a->plan->skipped_hosts == 1 ? "y" : "ies");
        printf("\n");
}

static int verb_fleet(char **argv, int argc) {
        const char *config_path = SLICEKEEPER_CONFIG_PATH, *address = NULL, *prefix = NULL, *group = NULL;
        _cleanup_(redis_freep) redisContext *c = NULL;
        _cleanup_(reply_freep) redisReply *hosts = NULL;
        _cleanup_(fleet_plan_done) FleetPlan plan = {};
        _cleanup_(fleet_answer_done) FleetAnswer answer = {};
        _cleanup_(config_done) Config config = {};
        unsigned seconds = FLEET_SECONDS_DEFAULT, round_trips = 0, commands = 0;
        bool config_given = false, stats = false;
        uint64_t start = mono_usec(), redis_usec = 0, t;
        char error[512];
        uint64_t now, end_sec = 0;
        int r;

        for (int i = 0; i < argc; i++) {
                const char *v;

                if (streq(argv[i], "--json"))
                        arg_json = true;
                else if (streq(argv[i], "--stats"))
                        stats = true;
                else if ((v = option_value(argv, argc, &i, "--group"))) {
                        if (!*v)
                                return EXIT_FAILURE;
                        group = v;
                } else if ((v = option_value(argv, argc, &i, "--seconds"))) {
                        if (fleet_seconds_parse(v, &seconds) < 0) {
                                fprintf(stderr, "--seconds takes 1..%u, not %s.\n", FLEET_SECONDS_MAX, v);
                                return EXIT_FAILURE;
                        }
                } else if ((v = option_value(argv, argc, &i, "--end"))) {
                        char *end;

                        errno = 0;
                        end_sec = strtoull(v, &end, 10);
                        if (errno || end == v || *end || v[0] == '-' || end_sec < FLEET_SECONDS_MAX) {
                                fprintf(stderr, "--end takes a second since the epoch, not %s.\n", v);
                                return EXIT_FAILURE;
                        }
                } else if ((v = option_value(argv, argc, &i, "--config"))) {
                        if (!*v)
                                return EXIT_FAILURE;
                        config_path = v;
                        config_given = true;
                } else if ((v = option_value(argv, argc, &i, "--redis"))) {
                        if (!*v)
                                return EXIT_FAILURE;
                        address = v;
                } else if ((v = option_value(argv, argc, &i, "--prefix"))) {
                        if (!*v)
                                return EXIT_FAILURE;
                        prefix = v;
                } else {
                        fprintf(stderr, "Unknown argument %s for fleet.\n", argv[i]);
                        return EXIT_FAILURE;
                }
        }

        /* [Redis] Address= and Prefix= as the daemon reads them, unless both are given */
        config_init(&config);
        if (!address || !prefix) {
                r = config_load(&config, config_path, error, sizeof(error));
                if (r == -ENOENT && !config_given)
                        r = 0; /* no file at the default path: the defaults */
                else if (r == -ENOENT)
                        snprintf(error, sizeof(error), "%s: no such file", config_path);
                if (r < 0) {
                        fprintf(stderr, "Configuration error: %s\n", error);
                        return EXIT_FAILURE;
                }
        }
        if (!address)
                address = config.redis_address;
        if (!prefix)
                prefix = config.redis_prefix;
        if (!address || !*address) {
                fprintf(stderr, "No Redis to read: %s has no [Redis] Address=; give --redis ADDRESS.\n",
                        config_path);
                return EXIT_FAILURE;
        }
        if (!prefix || !*prefix || strlen(prefix) > FLEET_PREFIX_MAX) {
                fprintf(stderr, "--prefix takes 1..%u bytes.\n", FLEET_PREFIX_MAX);
                return EXIT_FAILURE;
        }
        {
                /* the group checked before Redis is asked */
                char **parts = NULL;
                size_t n = 0;

                r = fleet_group_parse(group, &parts, &n);
                if (r < 0) {
                        fprintf(stderr, "--group takes a group path like a/b (names between '/', none empty, "
                                        "\".\" or \"..\"), not %s.\n", group);
                        return EXIT_FAILURE;
                }
                for (size_t i = 0; i < n; i++)
                        free(parts[i]);
                free(parts);
        }

        r = fleet_connect(address, &c);
        if (r < 0)
                return EXIT_FAILURE;

        /* round trip 1: who is there, and their last second */
        now = end_sec > 0 ? end_sec : (uint64_t) time(NULL);
        t = mono_usec();
        r = redisAppendCommand(c, "ZRANGE %s/hosts 0 %d WITHSCORES", prefix, FLEET_HOSTS_MAX);
        if (r != REDIS_OK)
                return EXIT_FAILURE;
        commands++;
        hosts = fleet_reply(c, address);
        if (!hosts)
                return EXIT_FAILURE;
        round_trips++;
        redis_usec += mono_usec() - t;
        r = fleet_plan_build(prefix, now, seconds, hosts, &plan, error, sizeof(error));
        if (r < 0) {
                fprintf(stderr, "Cannot read the fleet from Redis at %s: %s\n", address, error);
                return EXIT_FAILURE;
        }
        if (plan.n_hosts == 0) {
                fprintf(stderr, "No hosts in %s/hosts at Redis %s (do the daemons write with [Redis] HostKeys=yes "
                                "and Prefix=%s?)\n", prefix, address, prefix);
                return FLEET_EXIT_NO_HOSTS;
        }
        r = fleet_answer_init(&answer, &plan, group, error, sizeof(error));
        if (r < 0) {
                fprintf(stderr, "%s\n", r == -ENOMEM ? "Out of memory." : error);
                return EXIT_FAILURE;
        }

        /* round trip 2: every host's seconds, the group's field (or the whole record) of each, all sent before any
         * reply is read; round trip 3 only for the seconds whose record has no field per group */
        for (unsigned step = 0; step < 2; step++) {
                const FleetCommand *cmds = answer.commands;
                size_t n = answer.n_commands;

                if (step == 1 && fleet_answer_more(&answer, &cmds, &n) < 0) {
                        fprintf(stderr, "Out of memory.\n");
                        return EXIT_FAILURE;
                }
                if (n == 0)
                        continue;
                t = mono_usec();
                for (size_t k = 0; k < n; k++) {
                        if (redisAppendCommandArgv(c, cmds[k].argc, cmds[k].argv, NULL) != REDIS_OK) {
                                fprintf(stderr, "Out of memory.\n");
                                return EXIT_FAILURE;
                        }
                        commands++;
                }
                for (size_t k = 0; k < n; k++) {
                        _cleanup_(reply_freep) redisReply *values = fleet_reply(c, address);

                        if (!values)
                                return EXIT_FAILURE;
                        r = fleet_answer_add(&answer, values, error, sizeof(error));
                        if (r < 0) {
                                fprintf(stderr, "Cannot read the fleet from Redis at %s: %s\n", address,
                                        r == -ENOMEM ? "out of memory" : error);
                                return EXIT_FAILURE;
                        }
                }
                round_trips++;
                redis_usec += mono_usec() - t;
        }
        r = fleet_answer_finish(&answer, error, sizeof(error));
        if (r < 0) {
                fprintf(stderr, "Cannot read the fleet from Redis at %s: %s\n", address,
                        r == -ENOMEM ? "out of memory" : error);
                return EXIT_FAILURE;
        }
        if (arg_json) {
                fwrite(answer.text.data, 1, answer.text.size, stdout);
                fputc('\n', stdout);
        } else
                fleet_print_table(&answer, group);
        if (fflush(stdout) != 0) {
                fprintf(stderr, "Cannot write the answer: %m\n");
                return EXIT_FAILURE;
        }
        if (stats)
                fprintf(stderr, "fleet: %zu hosts, %zu keys, %u round trips, %u commands, %zu answer bytes, "
                                "%.1f ms in Redis, %.1f ms in all\n",
                        plan.n_hosts, plan.n_keys, round_trips, commands, answer.text.size, redis_usec / 1000.0,
                        (mono_usec() - start) / 1000.0);
        return EXIT_SUCCESS;
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
               "                         groups' scopes and remove the emptied directories\n"
               "  users [--me]           Fair share: per user tasks, CPU use, cap and why, throttled,\n"
               "                         penalty, limit, users.d section (--me: only yours; any user)\n"
               "  penalty USER on [--for DURATION] [--mode active|locked] [--memory SIZE]\n"
               "  penalty USER off       Put USER (a name or UID) in the penalty box, or take them out;\n"
               "                         default --for and --mode: PenaltyTimeoutSec=, PenaltyMode=\n"
               "  limit USER [--cpu PERCENT] [--memory SIZE] [--for DURATION]\n"
               "  limit USER --clear     A fixed cap for USER (150%% = 1.5 cores), until --clear or\n"
               "                         for DURATION (90s, 30m, 2h30m, 1d)\n"
               "  top [--sort cpu|memory|io|tasks] [--depth N] [--once] [--json]\n"
               "                         Live per group and user CPU, memory, IO/s, tasks, pressure\n"
               "                         from the daemon's window (keys c m i t sort, q quits;\n"
               "                         any user)\n"
               "  fleet [--group PATH] [--seconds N] [--end SEC] [--json] [--stats]\n"
               "        [--config PATH] [--redis ADDRESS] [--prefix PREFIX]\n"
               "                         Every host's last N seconds (default 10) from Redis\n"
               "                         ([Redis] HostKeys=yes): state, CPU, memory, tasks of the\n"
               "                         group; stale hosts; exit 2 when no host wrote\n\n"
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
                fprintf(stderr, "Expected a command (status, plan, exec-args, run, migrate, users, penalty, limit, top, "
                                "fleet); "
                                "see --help.\n");
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
        } else if (streq(verb, "users")) {
                bool me = false;

                for (int i = optind + 1; i < argc; i++) {
                        if (streq(argv[i], "--me"))
                                me = true;
                        else if (streq(argv[i], "--json"))
                                arg_json = true;
                        else {
                                fprintf(stderr, "Unknown argument %s for users.\n", argv[i]);
                                return EXIT_FAILURE;
                        }
                }
                r = verb_users(me);
        } else if (streq(verb, "penalty"))
                r = verb_penalty(&argv[optind + 1], argc - optind - 1);
        else if (streq(verb, "limit"))
                r = verb_limit(&argv[optind + 1], argc - optind - 1);
        else if (streq(verb, "top"))
                r = verb_top(&argv[optind + 1], argc - optind - 1);
        else if (streq(verb, "fleet"))
                return verb_fleet(&argv[optind + 1], argc - optind - 1);
        else {
                fprintf(stderr, "Unknown command or extra arguments: %s (status, plan, exec-args, run, migrate, users, "
                        "penalty, limit, top, fleet); see --help.\n",
                        verb);
                return EXIT_FAILURE;
        }
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
