# SPDX-License-Identifier: MIT
"""The machine's own systemd, for tests that run where systemd already is PID 1 (the pure cgroup v2
guest of tests/vm/), with the same interface as testbed.Testbed so the same tests run on both.

Each test's start() notes the units that exist; stop() stops the ones that appeared since (the
daemon, its slices and scopes, workloads) and removes the runtime state the test made, so the next
test starts from the same machine. Standard library only.
"""

import os
import shutil

from testbed import INNER_ENV, TestbedError, run_captured, wait_for

CGROUP_ROOT = '/sys/fs/cgroup'
UNIT_TYPES = 'service,scope,slice'


def cgroup_layout():
    """'v2' when /sys/fs/cgroup is cgroup2 itself, 'hybrid' or 'v1' otherwise (from mountinfo)."""
    with open('/proc/self/mountinfo') as f:
        mounts = [line.split(' - ', 1) for line in f if ' - ' in line]
    types = {fields[4]: rest.split()[0] for fields, rest in ((m[0].split(), m[1]) for m in mounts)}
    if types.get(CGROUP_ROOT) == 'cgroup2':
        return 'v2'
    return 'hybrid' if types.get(f'{CGROUP_ROOT}/unified') == 'cgroup2' else 'v1'


class LocalSystem:
    __test__ = False

    def __init__(self, cleanup_paths=()):
        self.pid = None
        self.layout = cgroup_layout()
        if self.layout != 'v2':
            raise TestbedError(f'LocalSystem is for pure cgroup v2 hosts; this one is {self.layout}')
        self.cleanup_paths = list(cleanup_paths)
        self._units_before = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _units(self):
        out = self.run(['systemctl', 'list-units', '--all', '--plain', '--no-legend', f'--type={UNIT_TYPES}'])
        return {line.split()[0] for line in out.stdout.splitlines() if line.split()}

    def start(self):
        if self.run(['systemctl', 'is-system-running'], check=False).stdout.strip() not in ('running', 'degraded'):
            raise TestbedError('the local systemd is not running')
        self._units_before = self._units()
        return self

    def stop(self):
        if self._units_before is None:
            return
        new = self._units() - self._units_before
        # Services and scopes first (the daemon among them), then slices, deepest first.
        order = sorted(new, key=lambda u: (u.endswith('.slice'), -u.count('-')))
        for unit in order:
            self.run(['systemctl', 'stop', unit], check=False, timeout=60)
        self.run(['systemctl', 'reset-failed'], check=False)
        for path in self.cleanup_paths:
            shutil.rmtree(path, ignore_errors=True)
        left = self._units() - self._units_before
        self._units_before = None
        if left:
            raise TestbedError(f'units left after the test: {sorted(left)}')

    def host_path(self, path):
        return path

    def run(self, argv, check=True, timeout=60, input=None, env=None, cwd=None):
        argv = [str(a) for a in argv]
        return run_captured(argv, argv, check, timeout, input, {**INNER_ENV, **(env or {})}, cwd)

    def systemctl(self, *args, **kw):
        return self.run(['systemctl', *args], **kw)

    def show(self, unit, prop):
        return self.run(['systemctl', 'show', '-P', prop, unit]).stdout.rstrip('\n')

    def cgroup_file(self, controller, relpath=''):
        """On pure v2 every controller lives in the one hierarchy; controller is accepted for the
        Testbed interface and ignored."""
        return os.path.join(CGROUP_ROOT, relpath.lstrip('/'))

    def read_cgroup(self, controller, relpath):
        with open(self.cgroup_file(controller, relpath)) as f:
            return f.read().strip()

    def console(self):
        return self.run(['journalctl', '--no-pager', '-b', '-n', '200'], check=False).stdout

    def wait_for(self, predicate, timeout, interval=0.05, what='condition'):
        return wait_for(predicate, timeout, interval, what)
