/* SPDX-License-Identifier: MIT */
/* The configuration file (config_load, src/daemon/config.c) with any contents. It reads a path, so the
 * input goes into a memfd read through /proc/self/fd. A refusal names the file; an accepted file leaves a
 * Config that config_done frees whole (LeakSanitizer). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"

static int fd = -1;
static char path[64];

static void put_file(const uint8_t *data, size_t size) {
        FUZZ_CHECK(ftruncate(fd, 0) == 0);
        FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t) size);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        static const char good[] = "[Redis]\nAddress=127.0.0.1:6379\n";
        char error[256] = "";
        Config c;

        fd = memfd_create("fuzz-config", MFD_CLOEXEC);
        FUZZ_CHECK(fd >= 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        log_setup(LOG_TARGET_CONSOLE, LOG_ERR);

        /* The file really is read this way: a good one is taken. */
        put_file((const uint8_t *) good, sizeof(good) - 1);
        config_init(&c);
        FUZZ_CHECK(config_load(&c, path, error, sizeof(error)) == 0);
        FUZZ_CHECK(c.redis_address && strcmp(c.redis_address, "127.0.0.1:6379") == 0);
        config_done(&c);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char error[1024];
        Config c;
        int r;

        if (size > CONFIG_MAX_BYTES)
                return 0;
        put_file(data, size);
        memset(error, 'x', sizeof(error));
        config_init(&c);
        r = config_load(&c, path, error, sizeof(error));
        FUZZ_CHECK(r != -ENOENT);
        if (r < 0) {
                FUZZ_CHECK(strnlen(error, sizeof(error)) < sizeof(error));
                FUZZ_CHECK(strncmp(error, path, strlen(path)) == 0);
        }
        config_done(&c);
        return 0;
}
