/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int read_file_bounded(const char *path, size_t max_bytes, char **ret_data, size_t *ret_size) {
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0, cap;
        struct stat st;

        assert(path);
        assert(ret_data);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uint64_t) st.st_size > max_bytes)
                return -EFBIG;

        /* The size may change under us: read until EOF, but never past max_bytes + 1. Files in /proc report
         * size 0, and sysctl files end after the first read: start with a buffer that holds them whole. */
        cap = MAX((size_t) st.st_size + 1, MIN((size_t) 4096, max_bytes + 1));
        buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (size == cap) {
                        char *nbuf;

                        if (cap > max_bytes)
                                return -EFBIG;
                        cap = MIN(cap * 2, max_bytes + 1);
                        nbuf = realloc(buf, cap + 1);
                        if (!nbuf)
                                return -ENOMEM;
                        buf = nbuf;
                }
                n = read(fd, buf + size, cap - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        if (size > max_bytes)
                return -EFBIG;
        buf[size] = 0;
        if (ret_size)
                *ret_size = size;
        *ret_data = TAKE_PTR(buf);
        return 0;
}

int write_file_atomic(const char *path, const char *data) {
        _cleanup_(freep) char *tmp = NULL;
        _cleanup_(closep) int fd = -EBADF;
        const char *slash = strrchr(path, '/');
        size_t len = strlen(data), done = 0;

        assert(path);
        assert(data);

        /* The temporary name does not grow with the target's: a target of NAME_MAX bytes (a 255-byte unit
         * name) must be writable too. */
        if (asprintf(&tmp, "%.*s" WRITE_FILE_ATOMIC_TMP_PREFIX "XXXXXX", slash ? (int) (slash - path + 1) : 0,
                     path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        while (done < len) {
                ssize_t n = write(fd, data + done, len - done);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        unlink(tmp);
                        return r;
                }
                done += (size_t) n;
        }
        if (fsync(fd) < 0 || rename(tmp, path) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

int mkdir_p(const char *path, unsigned mode) {
        _cleanup_(freep) char *p = strdup(path);

        assert(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, (mode_t) mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, (mode_t) mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* ---- batched re-reads ---- */

/* The ring is driven with raw system calls and <linux/io_uring.h> (no liburing: a few dozen lines cover
 * the one operation used). Only this process touches the submission side, so the tail is ours alone;
 * the kernel's heads and tails are read with acquire and ours published with release. */
struct PreadBatch {
        int ring_fd; /* -EBADF: pread() only */
        void *sq_ring, *cq_ring;
        size_t sq_ring_size, cq_ring_size;
        struct io_uring_sqe *sqes;
        size_t sqes_size;
        unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, sq_entries;
        unsigned *cq_head, *cq_tail, *cq_mask, cq_entries;
        struct io_uring_cqe *cqes;
        bool used_ring;
};

static void batch_ring_close(PreadBatch *b) {
        if (b->sqes)
                munmap(b->sqes, b->sqes_size);
        if (b->cq_ring && b->cq_ring != b->sq_ring)
                munmap(b->cq_ring, b->cq_ring_size);
        if (b->sq_ring)
                munmap(b->sq_ring, b->sq_ring_size);
        if (b->ring_fd >= 0)
                close(b->ring_fd);
        *b = (PreadBatch) { .ring_fd = -EBADF };
}

static void *map_ring(int fd, size_t size, off_t offset) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);

        return p == MAP_FAILED ? NULL : p;
}

/* -errno when there is no io_uring (ENOSYS, EPERM under kernel.io_uring_disabled or a seccomp filter). */
static int batch_ring_open(PreadBatch *b, unsigned depth) {
        struct io_uring_params p = { 0 };
        long fd;

        fd = syscall(__NR_io_uring_setup, depth, &p);
        if (fd < 0)
                return negative_errno();
        b->ring_fd = (int) fd;
        b->sq_ring_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
        b->cq_ring_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
        if (p.features & IORING_FEAT_SINGLE_MMAP) {
                b->sq_ring_size = b->cq_ring_size = MAX(b->sq_ring_size, b->cq_ring_size);
                b->sq_ring = b->cq_ring = map_ring(b->ring_fd, b->sq_ring_size, IORING_OFF_SQ_RING);
        } else {
                b->sq_ring = map_ring(b->ring_fd, b->sq_ring_size, IORING_OFF_SQ_RING);
                b->cq_ring = map_ring(b->ring_fd, b->cq_ring_size, IORING_OFF_CQ_RING);
        }
        b->sqes_size = p.sq_entries * sizeof(struct io_uring_sqe);
        b->sqes = map_ring(b->ring_fd, b->sqes_size, IORING_OFF_SQES);
        if (!b->sq_ring || !b->cq_ring || !b->sqes) {
                int r = negative_errno();
                batch_ring_close(b);
                return r;
        }
        b->sq_head = (unsigned *) ((char *) b->sq_ring + p.sq_off.head);
        b->sq_tail = (unsigned *) ((char *) b->sq_ring + p.sq_off.tail);
        b->sq_mask = (unsigned *) ((char *) b->sq_ring + p.sq_off.ring_mask);
        b->sq_array = (unsigned *) ((char *) b->sq_ring + p.sq_off.array);
        b->sq_entries = p.sq_entries;
        b->cq_head = (unsigned *) ((char *) b->cq_ring + p.cq_off.head);
        b->cq_tail = (unsigned *) ((char *) b->cq_ring + p.cq_off.tail);
        b->cq_mask = (unsigned *) ((char *) b->cq_ring + p.cq_off.ring_mask);
        b->cqes = (struct io_uring_cqe *) ((char *) b->cq_ring + p.cq_off.cqes);
        b->cq_entries = p.cq_entries;
        return 0;
}

int pread_batch_new(unsigned depth, PreadBatch **ret) {
        PreadBatch *b = calloc(1, sizeof(PreadBatch));

        assert(ret);

        if (!b)
                return -ENOMEM;
        b->ring_fd = -EBADF;
        (void) batch_ring_open(b, MAX(depth, 1u)); /* without it: pread() */
        *ret = b;
        return 0;
}

PreadBatch *pread_batch_free(PreadBatch *b) {
        if (!b)
                return NULL;
        batch_ring_close(b);
        free(b);
        return NULL;
}

bool pread_batch_uses_io_uring(const PreadBatch *b) {
        assert(b);

        return b->used_ring;
}

static ssize_t pread_once(const PreadRequest *q) {
        ssize_t n;

        do
                n = pread(q->fd, q->buf, q->size, 0);
        while (n < 0 && errno == EINTR);
        return n < 0 ? negative_errno() : n;
}

/* Queues what fits, submits, waits for everything in flight and collects the results. Returns how many
 * requests are done, or -errno when io_uring_enter() itself failed (the rest is then read with pread). */
#define BATCH_STALLS_MAX 16 /* io_uring_enter() calls in a row that complete nothing: give up the ring */

static int batch_ring_run(PreadBatch *b, PreadRequest *reqs, size_t n) {
        size_t queued = 0, completed = 0;
        unsigned stalls = 0;

        /* Every request has no result yet, those never queued included: when io_uring_enter() fails the
         * caller reads each of them with pread(). */
        for (size_t i = 0; i < n; i++)
                reqs[i].result = -EINPROGRESS;
        while (completed < n) {
                unsigned tail = *b->sq_tail, head = __atomic_load_n(b->sq_head, __ATOMIC_ACQUIRE), cq_head, cq_tail;
                size_t completed_before;
                long r;

                /* In flight never exceeds the completion queue, so no completion can be dropped. */
                while (queued < n && tail - head < b->sq_entries && queued - completed < b->cq_entries) {
                        unsigned idx = tail & *b->sq_mask;

                        b->sqes[idx] = (struct io_uring_sqe) {
                                .opcode = IORING_OP_READ,
                                .fd = reqs[queued].fd,
                                .addr = (uint64_t) (uintptr_t) reqs[queued].buf,
                                .len = (uint32_t) MIN(reqs[queued].size, (size_t) INT32_MAX),
                                .off = 0,
                                .user_data = queued,
                        };
                        b->sq_array[idx] = idx;
                        tail++;
                        queued++;
                }
                __atomic_store_n(b->sq_tail, tail, __ATOMIC_RELEASE);
                r = syscall(__NR_io_uring_enter, b->ring_fd, tail - head, (unsigned) (queued - completed),
                            IORING_ENTER_GETEVENTS, NULL, 0);
                if (r < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY)
                        return negative_errno();
                b->used_ring = true;
                completed_before = completed;

                cq_head = *b->cq_head;
                cq_tail = __atomic_load_n(b->cq_tail, __ATOMIC_ACQUIRE);
                for (; cq_head != cq_tail; cq_head++) {
                        const struct io_uring_cqe *c = &b->cqes[cq_head & *b->cq_mask];

                        if (c->user_data < n && reqs[c->user_data].result == -EINPROGRESS) {
                                reqs[c->user_data].result = c->res;
                                completed++;
                        }
                }
                __atomic_store_n(b->cq_head, cq_head, __ATOMIC_RELEASE);
                /* A ring that keeps answering EAGAIN/EBUSY/EINTR without completing anything must not
                 * hold the loop: the caller reads the rest with pread(). */
                stalls = completed > completed_before ? 0 : stalls + 1;
                if (stalls >= BATCH_STALLS_MAX)
                        return -EAGAIN;
        }
        return (int) MIN(completed, (size_t) INT32_MAX);
}

int pread_batch_run(PreadBatch *b, PreadRequest *reqs, size_t n) {
        bool ring_ok = true;

        assert(b);
        assert(reqs || n == 0);

        b->used_ring = false;
        if (b->ring_fd >= 0 && batch_ring_run(b, reqs, n) < 0) {
                /* io_uring_enter() refused: pread() whatever has no result, and from now on. */
                for (size_t i = 0; i < n; i++)
                        if (reqs[i].result == -EINPROGRESS)
                                reqs[i].result = pread_once(&reqs[i]);
                batch_ring_close(b);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (b->ring_fd < 0 || !b->used_ring) {
                        reqs[i].result = pread_once(&reqs[i]);
                        continue;
                }
                /* A read the ring interrupted, could not do now or cancelled is not the file's answer:
                 * pread() gives that (as it retries EINTR itself). */
                if (reqs[i].result == -EINTR || reqs[i].result == -EAGAIN || reqs[i].result == -ECANCELED) {
                        reqs[i].result = pread_once(&reqs[i]);
                        continue;
                }
                /* A kernel without IORING_OP_READ (before 5.6) answers -EINVAL: pread() tells whether that
                 * was the file's answer or the ring's. */
                if (reqs[i].result == -EINVAL || reqs[i].result == -EOPNOTSUPP) {
                        reqs[i].result = pread_once(&reqs[i]);
                        if (reqs[i].result != -EINVAL && reqs[i].result != -EOPNOTSUPP)
                                ring_ok = false;
                }
        }
        if (!ring_ok)
                batch_ring_close(b);
        return 0;
}
