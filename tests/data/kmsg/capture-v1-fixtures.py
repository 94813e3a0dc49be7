#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Captures the kernel's OOM report from /dev/kmsg for tests/unit/test-kmsg.c (README.md beside this).

As root, on a host with the v1 memory controller at /sys/fs/cgroup/memory: makes its own scratch cgroup
kmsgfix-PID (memory.limit_in_bytes 32M) with a child "hog,1 b.scope" (a comma and a space, as paths may
have), runs three memory hogs in the child one after another, each with its own comm (plain, spaces and
parentheses, bytes kmsg escapes), and writes each OOM's records, raw as read(2) returned them, to
v1-<kernel>-oom-<n>.kmsg here; the memory.oom_control of the parent (whose limit was hit) and of the
child (where the victims were) after the kills go to ../cgroup/v1-memory.oom_control-{parent,child}. Removes its cgroups (and kills its hogs by pid) before it returns.
"""
import os
import select
import subprocess
import sys
import time

MEMORY = '/sys/fs/cgroup/memory'
HERE = os.path.dirname(os.path.abspath(__file__))
HOG = ('import ctypes, sys\n'
       'ctypes.CDLL(None).prctl(15, bytes.fromhex(sys.argv[1]))\n'
       'chunks = []\n'
       'while True:\n'
       '    chunks.append(b"x" * (1 << 20))\n')
COMMS = [b'hog', b'my hog (2)', b'h\\\xc3\xa9\t) x']
DEADLINE_SEC = 60


def read_records(fd):
    out = []
    while True:
        try:
            out.append(os.read(fd, 8192))
        except BlockingIOError:
            return out
        except BrokenPipeError:  # overwritten records: the next read goes on after them
            continue


def one_oom(child, comm, n, kernel):
    fd = os.open('/dev/kmsg', os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.lseek(fd, 0, os.SEEK_END)

        def enter():
            with open(os.path.join(child, 'cgroup.procs'), 'w') as f:
                f.write(str(os.getpid()))
        hog = subprocess.Popen([sys.executable, '-c', HOG, comm.hex()], preexec_fn=enter)
        try:
            status = hog.wait(timeout=DEADLINE_SEC)
        except subprocess.TimeoutExpired:
            hog.kill()
            hog.wait()
            raise SystemExit(f'hog {hog.pid} was not killed within {DEADLINE_SEC} s')
        records, deadline = [], time.monotonic() + 10
        # The "Killed process" record comes last in the report; poll until it is there.
        while not any(b'Killed process %d ' % hog.pid in r for r in records):
            if time.monotonic() > deadline:
                raise SystemExit(f'no "Killed process {hog.pid}" in /dev/kmsg')
            select.select([fd], [], [], 1.0)
            records += read_records(fd)
    finally:
        os.close(fd)
    path = os.path.join(HERE, f'v1-{kernel}-oom-{n}.kmsg')
    with open(path, 'wb') as f:
        f.write(b''.join(records))
    print(f'{path}: hog pid {hog.pid} exit {status}, {len(records)} records')


def main():
    kernel = os.uname().release.split('-')[0]
    parent = os.path.join(MEMORY, f'kmsgfix-{os.getpid()}')
    child = os.path.join(parent, 'hog,1 b.scope')
    os.mkdir(parent)
    try:
        with open(os.path.join(parent, 'memory.limit_in_bytes'), 'w') as f:
            f.write('32M')
        os.mkdir(child)
        try:
            for n, comm in enumerate(COMMS, 1):
                one_oom(child, comm, n, kernel)
            # v1 counts a kill only in the victim's own memcg, not in the ancestor whose limit was hit
            for cg, name in ((parent, 'parent'), (child, 'child')):
                with open(os.path.join(cg, 'memory.oom_control'), 'rb') as f:
                    data = f.read()
                with open(os.path.join(HERE, '..', 'cgroup', f'v1-memory.oom_control-{name}'), 'wb') as f:
                    f.write(data)
        finally:
            os.rmdir(child)
    finally:
        os.rmdir(parent)


if __name__ == '__main__':
    main()
