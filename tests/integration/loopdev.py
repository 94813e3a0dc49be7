# SPDX-License-Identifier: MIT
"""A block device of the test's own: a loop device that did not exist before, over a file the test made.

Why not `losetup -f`: it hands out an existing loop device, whose request queue may carry state from
earlier runs. On v1 blkio (Linux >= 6.10) a queue keeps throttle statistics once a throttle rule has been
set on it, until the device itself goes away; a reused loopN can thus be "counted" without a rule of ours.
A loop device added here (LOOP_CTL_ADD) has a new queue, and removing it afterwards (LOOP_CTL_REMOVE)
leaves the machine with the loop devices, queues and throttle state it had before."""
import errno
import fcntl
import os
import subprocess
import tempfile
import time

LOOP_MAJOR = 7
LOOP_CTL_ADD, LOOP_CTL_REMOVE = 0x4C80, 0x4C81
FIRST_INDEX = 200  # well above the loop0..7 the kernel makes at boot and `losetup -f` hands out


class LoopDevice:
    def __init__(self, size=8 * 1024 * 1024, directory='/var/tmp'):
        self.size = size
        self.directory = directory
        self.index = None
        self.attached = False
        self.backing = None

    @property
    def path(self):
        return f'/dev/loop{self.index}'

    @property
    def devnum(self):
        """"maj:min", as cgroup files and /proc/diskstats name it."""
        return f'{LOOP_MAJOR}:{self.index}'

    def __enter__(self):
        try:
            self._add()
            fd, self.backing = tempfile.mkstemp(prefix='sktest-loop-', dir=self.directory)
            os.ftruncate(fd, self.size)
            os.close(fd)
            subprocess.run(['losetup', self.path, self.backing], check=True, capture_output=True, timeout=30)
            self.attached = True
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _add(self):
        fd = os.open('/dev/loop-control', os.O_RDWR | os.O_CLOEXEC)
        try:
            start = FIRST_INDEX + os.getpid() % 256
            for index in range(start, start + 256):
                if os.path.exists(f'/sys/block/loop{index}'):
                    continue
                try:
                    fcntl.ioctl(fd, LOOP_CTL_ADD, index)
                except OSError as e:
                    if e.errno == errno.EEXIST:  # someone else's, made just now
                        continue
                    raise
                self.index = index
                return
            raise RuntimeError('no free loop device number')
        finally:
            os.close(fd)

    def close(self):
        """Detach, remove the device, delete the file; each step only for what this object made."""
        if self.attached:
            subprocess.run(['losetup', '-d', self.path], check=True, capture_output=True, timeout=30)
            self.attached = False
        if self.index is not None:
            fd = os.open('/dev/loop-control', os.O_RDWR | os.O_CLOEXEC)
            try:
                # Detaching completes asynchronously: the device is busy for a moment.
                deadline = time.monotonic() + 10
                while True:
                    try:
                        fcntl.ioctl(fd, LOOP_CTL_REMOVE, self.index)
                        break
                    except OSError as e:
                        if e.errno == errno.ENODEV:
                            break
                        if e.errno != errno.EBUSY or time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
            finally:
                os.close(fd)
            self.index = None
        if self.backing:
            os.unlink(self.backing)
            self.backing = None
