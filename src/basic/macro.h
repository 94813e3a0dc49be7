/* SPDX-License-Identifier: MIT */
/* Small helpers every file uses: cleanup attributes, ownership hand-over, array sizes. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLAMP(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))

/* Hand over ownership: returns the pointer and clears the variable so its cleanup does nothing. */
#define TAKE_PTR(p)                                   \
        __extension__ ({                              \
                __typeof__(p) _taken_ = (p);          \
                (p) = NULL;                           \
                _taken_;                              \
        })
#define TAKE_FD(fd)                                   \
        __extension__ ({                              \
                int _taken_fd_ = (fd);                \
                (fd) = -EBADF;                        \
                _taken_fd_;                           \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)       \
        static inline void func##p(type *p) {         \
                if (*p)                               \
                        func(*p);                     \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* errno as a negative value, never 0: for calls that failed but might not have set errno. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define streq(a, b) (strcmp((a), (b)) == 0)
#define isempty(s) (!(s) || !*(s))

#include <dirent.h>
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

#include <string.h>
/* strerror() of a negative or positive errno, for log messages. */
#define STRERROR(e) strerror((e) < 0 ? -(e) : (e))
