/* SPDX-License-Identifier: MIT */
/* slicekeeperd: turns a resource tree into transient systemd slices and keeps them so. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "manager.h"
#include "paths.h"

static const char *arg_config = NULL;
static const char *arg_runtime_dir = SLICEKEEPER_RUNTIME_DIR;
static const char *arg_pidfiles_dir = SLICEKEEPER_PIDFILES_DIR;
static bool arg_dry_run = false;
static bool arg_json = false;
static LogTarget arg_log_target = LOG_TARGET_AUTO;
static int arg_log_level = LOG_INFO;

typedef struct Override {
        const char *section, *key, *value;
} Override;
static Override arg_overrides[16];
static size_t arg_n_overrides = 0;

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Turns a resource tree into transient systemd slices and keeps them so.\n\n"
               "  -h --help                 Show this help\n"
               "     --version              Show the version\n"
               "  -c --config=PATH          Configuration file (default " SLICEKEEPER_CONFIG_PATH ")\n"
               "     --tree-file=PATH       Read the tree from PATH ([Source] File=)\n"
               "     --root=NAME            Put slices under NAME.slice ([Slices] Root=)\n"
               "     --control-socket=PATH  Control socket ([Control] Socket=)\n"
               "     --runtime-dir=DIR      Ownership records (default " SLICEKEEPER_RUNTIME_DIR ")\n"
               "     --pidfiles-dir=DIR     Pid file drop-ins (default " SLICEKEEPER_PIDFILES_DIR ")\n"
               "     --dry-run              Print the plan and change nothing\n"
               "     --json                 With --dry-run: print the plan as JSON\n"
               "     --log-target=TARGET    auto, console or journal\n"
               "     --log-level=LEVEL      err, warning, notice, info or debug\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_TREE_FILE,
                ARG_ROOT,
                ARG_CONTROL_SOCKET,
                ARG_RUNTIME_DIR,
                ARG_PIDFILES_DIR,
                ARG_DRY_RUN,
                ARG_JSON,
                ARG_LOG_TARGET,
                ARG_LOG_LEVEL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, 'c' },
                { "tree-file", required_argument, NULL, ARG_TREE_FILE },
                { "root", required_argument, NULL, ARG_ROOT },
                { "control-socket", required_argument, NULL, ARG_CONTROL_SOCKET },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "pidfiles-dir", required_argument, NULL, ARG_PIDFILES_DIR },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "json", no_argument, NULL, ARG_JSON },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { 0 },
        };
        static const char *const levels[] = { [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                                              [LOG_INFO] = "info", [LOG_DEBUG] = "debug" };
        int c;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                case ARG_VERSION:
                        printf("slicekeeperd %s\n", SLICEKEEPER_VERSION);
                        exit(EXIT_SUCCESS);
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_TREE_FILE:
                        arg_overrides[arg_n_overrides++] = (Override) { "Source", "File", optarg };
                        break;
                case ARG_ROOT:
                        arg_overrides[arg_n_overrides++] = (Override) { "Slices", "Root", optarg };
                        break;
                case ARG_CONTROL_SOCKET:
                        arg_overrides[arg_n_overrides++] = (Override) { "Control", "Socket", optarg };
                        break;
                case ARG_RUNTIME_DIR:
                        if (optarg[0] != '/') {
                                fprintf(stderr, "--runtime-dir= must be an absolute path.\n");
                                return -EINVAL;
                        }
                        arg_runtime_dir = optarg;
                        break;
                case ARG_PIDFILES_DIR:
                        if (optarg[0] != '/') {
                                fprintf(stderr, "--pidfiles-dir= must be an absolute path.\n");
                                return -EINVAL;
                        }
                        arg_pidfiles_dir = optarg;
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_LOG_TARGET:
                        if (streq(optarg, "auto"))
                                arg_log_target = LOG_TARGET_AUTO;
                        else if (streq(optarg, "console"))
                                arg_log_target = LOG_TARGET_CONSOLE;
                        else if (streq(optarg, "journal"))
                                arg_log_target = LOG_TARGET_JOURNAL;
                        else {
                                fprintf(stderr, "Unknown log target \"%s\" (auto, console, journal).\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_LOG_LEVEL: {
                        bool found = false;
                        for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                                if (levels[i] && streq(levels[i], optarg)) {
                                        arg_log_level = (int) i;
                                        found = true;
                                }
                        if (!found) {
                                fprintf(stderr, "Unknown log level \"%s\" (err, warning, notice, info, debug).\n", optarg);
                                return -EINVAL;
                        }
                        break;
                }
                default:
                        return -EINVAL;
                }
                if (arg_n_overrides >= ELEMENTSOF(arg_overrides)) {
                        fprintf(stderr, "Too many options.\n");
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "%s takes no positional arguments.\n", program_invocation_short_name);
                return -EINVAL;
        }
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config config;
        char error[1024];
        int r;

        r = parse_argv(argc, argv);
        if (r < 0)
                return EXIT_FAILURE;
        log_setup(arg_dry_run ? LOG_TARGET_CONSOLE : arg_log_target, arg_dry_run ? LOG_WARNING : arg_log_level);

        config_init(&config);
        r = config_load(&config, arg_config ? arg_config : SLICEKEEPER_CONFIG_PATH, error, sizeof(error));
        if (r == -ENOENT && !arg_config)
                r = 0; /* no file at the default path: defaults and flags */
        else if (r == -ENOENT)
                snprintf(error, sizeof(error), "%s: no such file", arg_config);
        for (size_t i = 0; r >= 0 && i < arg_n_overrides; i++)
                r = config_set(&config, arg_overrides[i].section, arg_overrides[i].key, arg_overrides[i].value, error,
                               sizeof(error));
        if (r < 0) {
                log_error("Configuration error: %s", error);
                config_done(&config);
                return EXIT_FAILURE;
        }

        ManagerOptions options = {
                .config = &config,
                .runtime_dir = arg_runtime_dir,
                .pidfiles_dir = arg_pidfiles_dir,
                .dry_run = arg_dry_run,
                .dry_run_json = arg_json,
        };
        r = manager_new(&options, &m);
        if (r < 0) {
                config_done(&config);
                return EXIT_FAILURE;
        }
        r = manager_run(m);
        m = manager_free(m);
        config_done(&config);
        return r < 0 ? EXIT_FAILURE : r;
}

/* The sampler keeps up to eight cgroup files open per slice: 1000 slices need more than the soft limit of
 * 1024 descriptors. Raise it to the hard limit (524288 under systemd), as systemd's own tools do; nothing here
 * uses select(), so descriptors past 1024 are safe. Whatever the limit ends up, the sampler plans within it
 * (fd-budget.h) and reads it again as it rescans, so a lowered limit is noticed too. */
static void raise_nofile_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

int main(int argc, char *argv[]) {
        /* hiredis writes with write(): a peer closing at the wrong moment must be an error, not a death. */
        signal(SIGPIPE, SIG_IGN);
        raise_nofile_limit();
        return run(argc, argv);
}
