/* SPDX-License-Identifier: MIT */
/* slicekeeper: the command line. Asks the daemon over its control socket; never talks to ZooKeeper or Redis. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"

#define DEFAULT_SOCKET "/run/slicekeeper/control.sock"
#define ANSWER_MAX (64 * 1024 * 1024)

static const char *arg_socket = DEFAULT_SOCKET;
static bool arg_json = false;


static int ask(const char *cmd, json_t **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0, cap = 0;
        char request[128];
        json_error_t jerr;
        json_t *answer;

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
        snprintf(request, sizeof(request), "{\"cmd\":\"%s\"}\n", cmd);
        if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0) {
                fprintf(stderr, "Cannot send request: %s\n", strerror(errno));
                return -errno;
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
                        fprintf(stderr, "Cannot read answer: %s\n", strerror(errno));
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        answer = json_loadb(buf, len, 0, &jerr);
        if (!answer) {
                fprintf(stderr, "Garbled answer from slicekeeperd: %s\n", jerr.text);
                return -EBADMSG;
        }
        if (json_is_string(json_object_get(answer, "error"))) {
                fprintf(stderr, "slicekeeperd: %s\n", json_string_value(json_object_get(answer, "error")));
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

static int verb_status(void) {
        _cleanup_(json_decrefp) json_t *s = NULL;
        const json_t *err, *slices, *slice, *source;
        const char *type;
        size_t i;
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
                       json_string_value(json_object_get(source, "hosts")),
                       json_string_value(json_object_get(source, "node")),
                       json_string_value(json_object_get(source, "state")),
                       json_is_string(json_object_get(source, "session_id")) ? ", session " : "",
                       json_is_string(json_object_get(source, "session_id")) ?
                               json_string_value(json_object_get(source, "session_id")) : "");
        else
                printf("Source:     file %s\n", json_string_value(json_object_get(source, "path")));
        if (json_is_integer(json_object_get(s, "version")))
                printf("Tree:       version %" JSON_INTEGER_FORMAT ", %s schema, %" JSON_INTEGER_FORMAT " groups\n",
                       json_integer_value(json_object_get(s, "version")),
                       json_string_value(json_object_get(s, "schema")),
                       json_integer_value(json_object_get(s, "groups")));
        else
                printf("Tree:       none applied yet\n");
        err = json_object_get(s, "last_error");
        printf("Last error: %s\n", json_is_object(err) ? json_string_value(json_object_get(err, "message")) : "none");
        slices = json_object_get(s, "slices");
        printf("\n%-40s %-28s %-10s %-5s %s\n", "UNIT", "GROUP", "STATE", "OWNED", "PROPERTIES");
        json_array_foreach(slices, i, slice) {
                const json_t *op = json_object_get(slice, "last_op");
                const char *opstate = json_string_value(json_object_get(op, "state"));

                printf("%-40s %-28s %-10s %-5s ", json_string_value(json_object_get(slice, "unit")),
                       json_string_value(json_object_get(slice, "group")),
                       json_string_value(json_object_get(slice, "active_state")),
                       json_is_true(json_object_get(slice, "owned")) ? "yes" : "no");
                print_props(json_object_get(slice, "properties"));
                if (opstate && (streq(opstate, "failed") || streq(opstate, "skipped")))
                        printf("  [%s %s: %s]", json_string_value(json_object_get(op, "op")), opstate,
                               json_string_value(json_object_get(op, "error")));
                printf("\n");
        }
        return 0;
}

static int verb_plan(void) {
        _cleanup_(json_decrefp) json_t *p = NULL;
        const json_t *items, *item;
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
        if (json_array_size(items) == 0) {
                printf("No pending changes: systemd matches the tree.\n");
                return 0;
        }
        json_array_foreach(items, i, item) {
                const char *error = json_string_value(json_object_get(item, "error"));

                printf("%-7s %-8s %-40s ", json_string_value(json_object_get(item, "op")),
                       json_string_value(json_object_get(item, "state")),
                       json_string_value(json_object_get(item, "unit")));
                print_props(json_object_get(item, "properties"));
                if (error)
                        printf("  (%s)", error);
                printf("\n");
        }
        return 0;
}

static void help(void) {
        printf("%s [OPTIONS...] COMMAND\n\n"
               "Query slicekeeperd.\n\n"
               "Commands:\n"
               "  status                 Managed slices, their properties, tree version, last error\n"
               "  plan                   Changes not applied yet (pending, failed or skipped)\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --json              Print JSON\n"
               "     --socket=PATH       Control socket (default " DEFAULT_SOCKET ")\n",
               program_invocation_short_name);
}

int main(int argc, char *argv[]) {
        enum { ARG_JSON = 0x100, ARG_SOCKET };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { 0 },
        };
        const char *verb;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
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
                default:
                        return EXIT_FAILURE;
                }
        if (optind != argc - 1) {
                fprintf(stderr, "Expected one command (status or plan); see --help.\n");
                return EXIT_FAILURE;
        }
        verb = argv[optind];
        if (streq(verb, "status"))
                r = verb_status();
        else if (streq(verb, "plan"))
                r = verb_plan();
        else {
                fprintf(stderr, "Unknown command \"%s\" (status or plan); see --help.\n", verb);
                return EXIT_FAILURE;
        }
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
