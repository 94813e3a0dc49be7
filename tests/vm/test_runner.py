# SPDX-License-Identifier: MIT
"""tests/vm/run itself: a guest that never reports fails the run, with a result file saying so, and no
qemu outlives the runner — neither on its timeout nor when the runner is stopped by a signal."""
import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'testbed'))
from testbed import _children_of as children_of, _comm as comm, wait_for  # noqa: E402

RUN = os.path.join(HERE, 'run')


@pytest.fixture
def build(tmp_path):
    """A build directory inside the repository (the guest sees only the share) with a daemon in it."""
    real = os.path.join(REPO, 'build', 'slicekeeperd')
    if not os.access(real, os.X_OK):
        pytest.fail(f'{real} missing: build first')
    d = os.path.join(REPO, 'build', f'vm-runner-test-{os.getpid()}')
    os.makedirs(d, exist_ok=True)
    link = os.path.join(d, 'slicekeeperd')
    if not os.path.islink(link):
        os.symlink(real, link)
    yield d
    subprocess.run(['rm', '-rf', d], check=True)


def children_qemu(ppid):
    """pids of qemu processes whose parent is ppid (read from /proc; we never kill by name)."""
    return [p for p in children_of(ppid) if (comm(p) or '').startswith('qemu-system')]


def alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().split(') ', 1)[1][0] != 'Z'
    except FileNotFoundError:
        return False


def test_a_guest_that_never_reports_fails_and_leaves_no_qemu(build):
    runner = subprocess.Popen([RUN, '--build', build, '--timeout', '4'], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    qemu = wait_for(lambda: children_qemu(runner.pid), 240, what='qemu started by the runner')
    out, _ = runner.communicate(timeout=120)
    assert runner.returncode != 0, out
    assert 'no SKVM-END from the guest within 4 s' in open(os.path.join(build, 'vm-integration.xml')).read()
    assert not any(alive(p) for p in qemu), f'qemu {qemu} outlived the runner'


def test_a_stopped_runner_stops_its_qemu(build):
    runner = subprocess.Popen([RUN, '--build', build, '--timeout', '600'], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    qemu = wait_for(lambda: children_qemu(runner.pid), 240, what='qemu started by the runner')
    runner.send_signal(signal.SIGTERM)
    out, _ = runner.communicate(timeout=60)
    assert runner.returncode != 0, out
    wait_for(lambda: not any(alive(p) for p in qemu), 10, what=f'qemu {qemu} to be gone')
    assert 'interrupted' in open(os.path.join(build, 'vm-integration.xml')).read()
