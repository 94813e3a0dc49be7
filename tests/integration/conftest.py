# SPDX-License-Identifier: MIT
"""Fixtures for end-to-end tests: a real systemd (the namespace testbed) running the real daemon."""
import contextlib
import json
import os
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'testbed'))

import testbed as tbmod  # noqa: E402

BUILD = os.path.abspath(os.environ.get('SLICEKEEPER_BUILD', os.path.join(REPO, 'build')))
DAEMON = os.path.join(BUILD, 'slicekeeperd')
CTL = os.path.join(BUILD, 'slicekeeper')
WORK = '/run/sktest'  # inside the testbed (its own tmpfs)

EXAMPLE_TREE = {
    'cpu': {
        'sub_cgroup': {
            'test_cgroup_a': {'conf': {'share': 1024}},
            'test_cgroup_b': {
                'conf': {'share': 100},
                'sub_cgroup': {'test_cgroup_b_sub1': {'conf': {'share': 200}}},
            },
        },
    },
}
EXAMPLE_UNITS = ['test_cgroup_a.slice', 'test_cgroup_b.slice', 'test_cgroup_b-test_cgroup_b_sub1.slice']


def cpu_weight(share):
    """DESIGN.md: CPUWeight = clamp(share*100/1024, 1, 10000), rounded to nearest."""
    return max(1, min(10000, (share * 100 + 512) // 1024))


def cpu_shares(weight):
    """What systemd 252 writes to cpu.shares on cgroup v1 for a CPUWeight."""
    return max(2, min(262144, weight * 1024 // 100))


wait_for = tbmod.wait_for


class Daemon:
    """The daemon under test, run inside the testbed as a transient Type=notify service."""

    def __init__(self, tb):
        self.tb = tb
        self.unit = 'slicekeeperd.service'
        tb.run(['mkdir', '-p', WORK])
        self.tree_path = f'{WORK}/tree.json'
        self.config_path = f'{WORK}/slicekeeperd.conf'
        self.write_config()

    # files inside the testbed, written from the host through /proc/PID/root
    def write_file(self, path, data):
        host = self.tb.host_path(path)
        tmp = host + '.tmp'
        with open(tmp, 'wb') as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        os.rename(tmp, host)  # atomic, as editors and config management do

    def write_tree(self, tree):
        self.write_file(self.tree_path, tree if isinstance(tree, (str, bytes)) else json.dumps(tree))

    @staticmethod
    def _web(extra):
        """No web server unless the test configures one: the default port is on the host's loopback, which
        every testbed on the machine shares, so a second suite's daemon would fail to start."""
        return '' if '[Web]' in extra else '\n[Web]\nListen=\n'

    def write_config(self, extra=''):
        self.write_file(self.config_path,
                        f'[Source]\nFile={self.tree_path}\n\n[Tasks]\nUpdateIntervalSec=2\n{extra}\n'
                        f'{self._web(extra)}')

    def write_zk_config(self, zk, prefix, auth=None, session_timeout=4, extra=''):
        """The tree from ZooKeeper instead of a file; the testbed shares the host's loopback."""
        auth_line = f'Auth=digest:{auth}\n' if auth else ''
        self.write_file(self.config_path,
                        f'[ZooKeeper]\nHosts={zk.hosts}\nPrefix={prefix}\n{auth_line}'
                        f'SessionTimeoutSec={session_timeout}\n\n[Tasks]\nUpdateIntervalSec=2\n{extra}\n'
                        f'{self._web(extra)}')

    def main_pid(self):
        return int(self.tb.show(self.unit, 'MainPID'))

    def host_pid(self):
        """The daemon's pid as the host sees it (MainPID is in the testbed's pid namespace)."""
        inner = self.main_pid()
        if self.tb.pid is None:  # the local systemd (the v2 VM): one pid namespace
            return inner
        ns = os.readlink(f'/proc/{self.tb.pid}/ns/pid')
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                with open(f'/proc/{entry}/status') as f:
                    nspid = next((line.split()[1:] for line in f if line.startswith('NSpid:')), [])
            except OSError:
                continue
            if len(nspid) == 2 and int(nspid[1]) == inner and self.tb.pid != int(entry):
                # Several testbeds may run on one machine: the daemon is ours only if it lives in our
                # systemd's pid namespace.
                try:
                    if os.readlink(f'/proc/{entry}/ns/pid') != ns:
                        continue
                    with open(f'/proc/{entry}/comm') as f:
                        if f.read().strip() == 'slicekeeperd':
                            return int(entry)
                except OSError:
                    continue
        raise AssertionError(f'no host pid for daemon pid {inner}')

    def cpu_seconds(self):
        with open(f'/proc/{self.host_pid()}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def start(self, *args):
        self.tb.run(['systemctl', 'reset-failed', self.unit], check=False)
        self.tb.run(['systemd-run', f'--unit={self.unit}', '-p', 'Type=notify', '-p', 'WatchdogSec=20s',
                     '-p', 'Environment=ASAN_OPTIONS=detect_leaks=1:abort_on_error=1',
                     '-p', 'Environment=UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1',
                     DAEMON, f'--config={self.config_path}', '--log-level=debug', *args], timeout=60)
        assert self.tb.show(self.unit, 'ActiveState') == 'active', self.journal()

    def stop(self):
        self.tb.systemctl('stop', self.unit, timeout=60)

    def stop_cleanly(self):
        """SIGTERM; the service must end with Result=success (sanitizers report leaks as failure)."""
        self.tb.systemctl('stop', self.unit, timeout=60)
        result = self.tb.show(self.unit, 'Result')
        # A stopped transient unit is garbage-collected; when still loaded its result must be success.
        assert result in ('success', ''), self.journal()

    def kill9(self):
        pid = self.tb.show(self.unit, 'MainPID')
        self.tb.systemctl('kill', '-s', 'KILL', self.unit)
        wait_for(lambda: self.tb.show(self.unit, 'ActiveState') in ('failed', 'inactive'), 10,
                 what=f'{self.unit} (pid {pid}) to die')

    def journal(self, full=False):
        out = self.tb.run(['journalctl', '--no-pager', '-o', 'cat', '-u', self.unit], check=False).stdout
        return out if full else out[-6000:]

    def ctl(self, *args, check=True):
        return self.tb.run([CTL, *args], check=check)

    def status(self):
        r = self.ctl('status', '--json', check=False)
        if r.returncode != 0:
            raise AssertionError(f'slicekeeper status failed: {r.stderr}\n'
                                 f'unit: {self.tb.show(self.unit, "ActiveState")}/{self.tb.show(self.unit, "Result")}\n'
                                 f'journal:\n{self.journal()}')
        return json.loads(r.stdout)

    def plan(self):
        return json.loads(self.ctl('plan', '--json').stdout)

    def wait_ticks(self, n, timeout=30):
        """Until the sampler has swept n more seconds (each sweep is a record pushed to Redis and the web):
        what "let the daemon settle" means, polled, with one status answer per second at most."""
        start = self.status()['sampler']['ticks']
        self.wait_status(lambda s: s['sampler']['ticks'] >= start + n, timeout, interval=1,
                         what=f'{n} more sampler ticks')

    def wait_status(self, predicate, timeout=10, what='daemon status', interval=0.05):
        last = {}

        def check():
            nonlocal last
            try:
                last = self.status()
            except AssertionError as e:  # not answering yet counts as "not yet"; the message is kept
                last = {'status_error': str(e)[:3000]}
                return False
            return predicate(last)
        try:
            wait_for(check, timeout, interval=interval, what=what)
        except AssertionError as e:
            raise AssertionError(f'{e}\nlast status: {json.dumps(last)[:3000]}\njournal:\n{self.journal()}')
        return last

    def owned_records(self):
        out = self.tb.run(['ls', '/run/slicekeeper/units'], check=False).stdout.split()
        return sorted(n for n in out if not n.endswith('.tmp'))


@contextlib.contextmanager
def users_in_testbed(tb, names, units=()):
    """Users {uid: name} in the testbed's own /etc/passwd (none of the UIDs may exist). Afterwards the file
    as it was, the given units stopped, each user-UID.slice stopped and its runtime drop-ins reverted, and
    user.slice stopped when it was not up before."""
    path = tb.host_path('/etc/passwd')
    with open(path, 'rb') as f:
        original = f.read()
    taken = {int(line.split(b':')[2]) for line in original.splitlines() if line.count(b':') >= 6}
    assert not taken & set(names), f'UIDs {set(names) & taken} exist already'
    user_slice_was_active = tb.show('user.slice', 'ActiveState') == 'active'
    added = ''.join(f'{name}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin\n' for uid, name in names.items())
    with open(path + '.sktest', 'wb') as f:
        f.write(original + added.encode())
    os.rename(path + '.sktest', path)
    try:
        yield
    finally:
        for unit in units:
            tb.run(['systemctl', 'stop', unit], check=False)
            tb.run(['systemctl', 'reset-failed', unit], check=False)
        for uid in names:
            tb.run(['systemctl', 'stop', f'user-{uid}.slice'], check=False)
            tb.run(['systemctl', 'revert', f'user-{uid}.slice'], check=False)  # runtime drop-ins
        if not user_slice_was_active:
            tb.run(['systemctl', 'stop', 'user.slice'], check=False)
        with open(path + '.sktest', 'wb') as f:
            f.write(original)
        os.rename(path + '.sktest', path)


class Slices:
    """Reads slice state from the testbed's systemd and kernel."""

    def __init__(self, tb):
        self.tb = tb

    def props(self, unit, *names):
        out = self.tb.run(['systemctl', 'show', unit, '-p', ','.join(names)]).stdout
        return dict(line.split('=', 1) for line in out.splitlines() if '=' in line)

    def active(self, unit):
        return self.tb.show(unit, 'ActiveState') == 'active'

    def snapshot(self, units):
        """Everything an unwanted change would alter: state, start time, properties."""
        keys = ('ActiveState', 'ActiveEnterTimestampMonotonic', 'InvocationID', 'CPUWeight', 'IOWeight',
                'MemoryMax', 'TasksMax')
        return {u: self.props(u, *keys) for u in units}

    def cgroup_path(self, unit):
        """systemd nests slices: a-b.slice lives in a.slice/a-b.slice."""
        stem = unit[:-len('.slice')]
        parts = stem.split('-')
        return '/'.join('-'.join(parts[:i + 1]) + '.slice' for i in range(len(parts)))

    def cgroup_read(self, controller, unit, filename):
        return self.tb.read_cgroup(controller, f'{self.cgroup_path(unit)}/{filename}').strip()


LOCAL = os.environ.get('SLICEKEEPER_TESTBED') == 'local'


@pytest.fixture
def tb():
    if LOCAL:  # tests/vm: this machine's own systemd on pure cgroup v2
        import localsystem
        with localsystem.LocalSystem(cleanup_paths=[WORK, '/run/slicekeeper', '/run/app']) as bed:
            yield bed
        return
    try:
        bed = tbmod.Testbed(binds=[REPO])
        bed.start()
    except tbmod.TestbedUnavailable as e:
        pytest.fail(f'testbed unavailable: {e}')  # CI machines can run it: never skip silently
    try:
        yield bed
    finally:
        bed.stop()


@pytest.fixture
def daemon(tb):
    d = Daemon(tb)
    yield d
    if tb.show(d.unit, 'ActiveState') == 'active':
        d.stop_cleanly()


@pytest.fixture
def zk():
    from servers import ZkServer
    server = ZkServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_server():
    from servers import RedisServer
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def slices(tb):
    return Slices(tb)


def timed(fn):
    start = time.monotonic()
    fn()
    return time.monotonic() - start
