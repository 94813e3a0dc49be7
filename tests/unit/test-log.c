/* SPDX-License-Identifier: MIT */
/* The logger on the console target: "%m" prints the error's text, errno is left alone, the error is
 * returned, levels above the maximum print nothing. stderr is redirected into a pipe and read back. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tests.h"

static int pipe_fd[2];

/* What the logger wrote to stderr since the last call. */
static const char *captured(void) {
        static char out[4096];
        ssize_t n;

        fflush(stderr);
        n = read(pipe_fd[0], out, sizeof(out) - 1);
        out[n < 0 ? 0 : n] = '\0';
        return out;
}

static void test_percent_m_prints_the_error(void) {
        ASSERT_EQ_INT(log_error_errno(-ENOENT, "Cannot open %s: %m", "/x"), -ENOENT);
        ASSERT_STREQ(captured(), "Cannot open /x: No such file or directory\n");
        /* a positive errno is the same error */
        ASSERT_EQ_INT(log_warning_errno(EACCES, "denied: %m"), EACCES);
        ASSERT_STREQ(captured(), "denied: Permission denied\n");
}

static void test_errno_left_alone(void) {
        errno = EBUSY;
        log_error_errno(-EINVAL, "x: %m");
        ASSERT_EQ_INT(errno, EBUSY);
        ASSERT_STREQ(captured(), "x: Invalid argument\n");
        errno = EBUSY;
        log_debug_errno(-EINVAL, "not printed: %m"); /* above the maximum level */
        ASSERT_EQ_INT(errno, EBUSY);
        ASSERT_STREQ(captured(), "");
}

static void test_slice_prefix(void) {
        log_slice(LOG_ERR, -EIO, "a.slice", "read: %m");
        ASSERT_STREQ(captured(), "a.slice: read: Input/output error\n");
}

int main(void) {
        ASSERT_EQ_INT(pipe2(pipe_fd, O_NONBLOCK), 0);
        ASSERT_TRUE(dup2(pipe_fd[1], STDERR_FILENO) == STDERR_FILENO);
        setvbuf(stderr, NULL, _IONBF, 0);
        log_setup(LOG_TARGET_CONSOLE, LOG_INFO);
        test_percent_m_prints_the_error();
        test_errno_left_alone();
        test_slice_prefix();
        return 0;
}
