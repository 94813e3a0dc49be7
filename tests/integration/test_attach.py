# SPDX-License-Identifier: MIT
"""Processes go where the tree says (issue 4): pid files, delegated scopes, exec-args, run."""
import json
import os
import time

import pytest

from conftest import CTL, wait_for

GROUP = 'test_cgroup_a'
SLICE = 'test_cgroup_a.slice'
SCOPE = 'test_cgroup_a.scope'
SCOPE_CGROUP = f'/{SLICE}/{SCOPE}'
APP_DIR = '/run/app'
NO_WEB = '[Web]\nListen='  # these tests need no web server (and its fixed port may be another testbed's)


@pytest.fixture(autouse=True)
def no_web_server(daemon):
    daemon.write_config(NO_WEB)

# A forking daemon: a child, a grandchild, then the pid file (as real daemons do, written last).
FORKING_DAEMON = '''#!/bin/sh
sleep 300 &
sh -c 'sleep 300 & wait' &
echo $$ > "$1.tmp" && mv "$1.tmp" "$1"
wait
'''


def tree_with_pid_files(*files, group=GROUP):
    return {'slices': {group: {'cpu_weight': 200, 'pid_files': list(files)}, 'test_cgroup_b': {}}}


def cgroup_of(tb, pid):
    """systemd's view of a process's cgroup, read inside the testbed (pids are the testbed's): the
    name=systemd hierarchy on a hybrid host, the one cgroup2 hierarchy ("0::") on a pure v2 one."""
    lines = tb.run(['cat', f'/proc/{pid}/cgroup'], check=False).stdout.splitlines()
    for marker in (':name=systemd:', '0::'):
        for line in lines:
            if marker in line and (marker != '0::' or line.startswith('0::')):
                return line.split(':', 2)[2]
    return None


def subtree(tb, pid):
    out = tb.run(['ps', '-e', '-o', 'pid=,ppid=']).stdout
    children = {}
    for line in out.splitlines():
        p, pp = map(int, line.split())
        children.setdefault(pp, []).append(p)
    result, todo = [], [pid]
    while todo:
        p = todo.pop()
        result.append(p)
        todo.extend(children.get(p, []))
    return sorted(result)


def start_app(daemon, tb, name='app', pidfile=f'{APP_DIR}/app.pid'):
    tb.run(['mkdir', '-p', APP_DIR])
    daemon.write_file(f'{APP_DIR}/forking.sh', FORKING_DAEMON)
    tb.run(['chmod', '755', f'{APP_DIR}/forking.sh'])
    tb.run(['systemd-run', f'--unit={name}', f'{APP_DIR}/forking.sh', pidfile])
    wait_for(lambda: tb.run(['test', '-s', pidfile], check=False).returncode == 0, 5, what=f'{pidfile}')
    pid = int(tb.run(['cat', pidfile]).stdout)
    wait_for(lambda: len(subtree(tb, pid)) == 4, 5, what='the app and its children')  # sh, sleep, sh, sleep
    return pid


def tasks(daemon):
    return daemon.status()['tasks']


# Done means 1 ------------------------------------------------------------------------------------

# The test itself is test_hierarchies.py's test_pid_file_moves_a_forking_daemon_into_the_groups_scope:
# it runs here in the namespace testbed (checked in the v1 cpu hierarchy) and in tests/vm's guest (v2).
def check_forking_daemon_moves_in_one_pass(daemon, tb):
    """A forking daemon and all its children land in the group's scope in one pass."""
    pid = start_app(daemon, tb)
    family = subtree(tb, pid)
    assert cgroup_of(tb, pid) == '/system.slice/app.service'
    daemon.write_tree(tree_with_pid_files(f'{APP_DIR}/app.pid'))
    daemon.start()
    status = daemon.wait_status(lambda s: sorted(s['tasks']['groups'][GROUP]['pids']) == family, 10,
                                what='the app and all its children attached')
    assert status['tasks']['passes'] >= 1
    for p in family:
        assert cgroup_of(tb, p) == SCOPE_CGROUP, p
    # And in the kernel's member list: the v1 cpu hierarchy on a hybrid host, the one hierarchy on
    # pure v2 (read inside, so the pids are the testbed's or the guest's).
    hierarchy = '/sys/fs/cgroup' if tb.layout == 'v2' else '/sys/fs/cgroup/cpu'
    procs = tb.run(['cat', f'{hierarchy}/{SLICE}/{SCOPE}/cgroup.procs']).stdout.split()
    assert sorted(map(int, procs)) == family
    assert tb.show(SCOPE, 'Delegate') == 'yes' and tb.show(SCOPE, 'Slice') == SLICE
    # The app's service still runs; its processes simply live in the group now.
    assert tb.show('app.service', 'ActiveState') == 'active'
    journal = daemon.journal(full=True)
    assert journal.count(f'Moved {len(family)} process(es) into {SCOPE}') == 1


def test_pids_already_in_the_scope_cost_no_dbus_call(daemon, slices, tb):
    pid = start_app(daemon, tb)
    daemon.write_tree(tree_with_pid_files(f'{APP_DIR}/app.pid'))
    daemon.start()
    daemon.wait_status(lambda s: pid in s['tasks']['groups'][GROUP]['pids'], 10, what='the app attached')
    passes = tasks(daemon)['passes']
    daemon.wait_status(lambda s: s['tasks']['passes'] >= passes + 2, 10, what='two more passes')
    assert daemon.journal(full=True).count('Moved ') == 1  # later passes found them in place


# Done means 2 ------------------------------------------------------------------------------------

def test_rewritten_pid_file_moves_the_new_process_within_a_second(daemon, slices, tb):
    daemon.write_config('[Tasks]\nUpdateIntervalSec=60\n' + NO_WEB)  # only inotify can be this fast
    pid = start_app(daemon, tb)
    daemon.write_tree(tree_with_pid_files(f'{APP_DIR}/app.pid'))
    daemon.start()
    daemon.wait_status(lambda s: pid in s['tasks']['groups'][GROUP]['pids'], 10, what='the first app attached')
    tb.run(['systemd-run', '--unit=app2', 'sleep', '300'])
    new = int(tb.show('app2.service', 'MainPID'))
    assert cgroup_of(tb, new) == '/system.slice/app2.service'
    start = time.monotonic()
    daemon.write_file(f'{APP_DIR}/app.pid', f'{new}\n')
    wait_for(lambda: cgroup_of(tb, new) == SCOPE_CGROUP, 1.0, interval=0.02, what='the new process within 1 s')
    print(f'rewritten pid file: process moved {1000 * (time.monotonic() - start):.0f} ms after the write')


def test_scope_is_recreated_after_it_vanished(daemon, slices, tb):
    tb.run(['mkdir', '-p', APP_DIR])
    tb.run(['systemd-run', '--unit=one', 'sleep', '300'])
    first = int(tb.show('one.service', 'MainPID'))
    daemon.write_file(f'{APP_DIR}/app.pid', f'{first}\n')
    daemon.write_tree(tree_with_pid_files(f'{APP_DIR}/app.pid'))
    daemon.start()
    wait_for(lambda: cgroup_of(tb, first) == SCOPE_CGROUP, 10, what='the first process attached')
    tb.run(['kill', str(first)])
    wait_for(lambda: tb.show(SCOPE, 'ActiveState') != 'active', 10, what='the scope to die with its last process')
    tb.run(['systemd-run', '--unit=two', 'sleep', '300'])
    second = int(tb.show('two.service', 'MainPID'))
    daemon.write_file(f'{APP_DIR}/app.pid', f'{second}\n')
    wait_for(lambda: cgroup_of(tb, second) == SCOPE_CGROUP, 5, what='a new scope for the second process')
    assert tb.show(SCOPE, 'ActiveState') == 'active'


# Done means 3 ------------------------------------------------------------------------------------

def refused_cases(tb, daemon, victim, daemon_pid):
    """(file name, how to make it, the reason the status must give). Each names, or tries to name, a
    process that must not move."""
    d = APP_DIR
    return [
        ('pid1.pid', lambda p: daemon.write_file(p, '1\n'), 'names PID 1'),
        ('self.pid', lambda p: daemon.write_file(p, f'{daemon_pid}\n'),
         'slicekeeperd itself or one of its ancestors'),
        ('missing-pid.pid', lambda p: daemon.write_file(p, '31999\n'), 'names pid 31999, which does not exist'),
        ('garbage.pid', lambda p: daemon.write_file(p, f'{victim} please\n'), 'does not hold a single decimal pid'),
        ('two.pid', lambda p: daemon.write_file(p, f'{victim}\n{victim}\n'), 'does not hold a single decimal pid'),
        ('negative.pid', lambda p: daemon.write_file(p, f'-{victim}\n'), 'does not hold a single decimal pid'),
        ('huge.pid', lambda p: daemon.write_file(p, '99999999999\n'), 'outside 1..'),
        ('zero.pid', lambda p: daemon.write_file(p, '0\n'), 'names pid 0, outside 1..'),
        ('empty.pid', lambda p: daemon.write_file(p, ''), 'is empty'),
        ('big.pid', lambda p: daemon.write_file(p, f'{victim}\n' + ' ' * 70), 'more than 64'),
        ('fifo.pid', lambda p: tb.run(['mkfifo', p]), 'is not a regular file (a FIFO)'),
        ('device.pid', lambda p: tb.run(['ln', '-s', '/dev/null', p]), 'is not a regular file (a character device)'),
        ('dir.pid', lambda p: tb.run(['mkdir', p]), 'is not a regular file (a directory)'),
        ('user.pid', lambda p: (daemon.write_file(p, f'{victim}\n'), tb.run(['chown', '65534', p])),
         'writable by a non-root user (owner uid 65534'),
        ('worldwritable.pid', lambda p: (daemon.write_file(p, f'{victim}\n'), tb.run(['chmod', '666', p])),
         'writable by a non-root user (owner uid 0, mode 0666)'),
        ('absent.pid', lambda p: None, 'does not exist'),
    ]


def test_every_refused_input_moves_nothing(daemon, slices, tb):
    tb.run(['mkdir', '-p', APP_DIR])
    tb.run(['systemd-run', '--unit=victim', 'sleep', '300'])
    victim = int(tb.show('victim.service', 'MainPID'))
    # Start with the pid files absent, so the daemon's pid is known before its own file is written.
    names = [c[0] for c in refused_cases(tb, daemon, victim, 0)]
    daemon.write_tree(tree_with_pid_files(*[f'{APP_DIR}/{n}' for n in names]))
    daemon.start()
    cases = refused_cases(tb, daemon, victim, daemon.main_pid())
    for name, make, _ in cases:
        make(f'{APP_DIR}/{name}')
    expected = {f'{APP_DIR}/{name}': reason for name, _, reason in cases}

    def all_refused(s):
        got = {r['file']: r['reason'] for r in s['tasks']['groups'][GROUP]['refusals']}
        return all(f in got and reason in got[f] for f, reason in expected.items())
    try:
        status = daemon.wait_status(all_refused, 10, what='every refusal')
    finally:
        pass
    passes = status['tasks']['passes']
    daemon.wait_status(lambda s: s['tasks']['passes'] >= passes + 2, 10, what='two more passes')
    status = daemon.status()
    assert status['tasks']['groups'][GROUP]['pids'] == []
    assert cgroup_of(tb, victim) == '/system.slice/victim.service'
    assert cgroup_of(tb, 1) == '/init.scope'
    assert cgroup_of(tb, daemon.main_pid()) == '/system.slice/slicekeeperd.service'
    assert tb.show(SCOPE, 'ActiveState') == 'inactive'  # no scope was ever made
    journal = daemon.journal(full=True)
    lines = journal.splitlines()
    for f, reason in expected.items():  # one journal line per distinct cause, over several passes
        hits = [line for line in lines if f'pid file {f} (group {GROUP})' in line and reason in line]
        assert len(hits) == 1, (f, reason, hits)
    assert 'Moved ' not in journal


def test_non_root_pid_files_can_be_allowed(daemon, slices, tb):
    tb.run(['mkdir', '-p', APP_DIR])
    tb.run(['systemd-run', '--unit=victim', 'sleep', '300'])
    victim = int(tb.show('victim.service', 'MainPID'))
    daemon.write_file(f'{APP_DIR}/user.pid', f'{victim}\n')
    tb.run(['chown', '65534', f'{APP_DIR}/user.pid'])
    daemon.write_config('[Tasks]\nUpdateIntervalSec=2\nAllowNonRootPidFiles=yes\n' + NO_WEB)
    daemon.write_tree(tree_with_pid_files(f'{APP_DIR}/user.pid'))
    daemon.start()
    wait_for(lambda: cgroup_of(tb, victim) == SCOPE_CGROUP, 10, what='the process of a non-root pid file')


# Host-local pid files ----------------------------------------------------------------------------

def test_config_and_dropin_pid_files_with_globs(daemon, slices, tb):
    tb.run(['mkdir', '-p', f'{APP_DIR}/b', '/run/sktest/pidfiles.d'])
    for unit in ('web1', 'web2', 'other'):
        tb.run(['systemd-run', f'--unit={unit}', 'sleep', '300'])
    pids = {u: int(tb.show(f'{u}.service', 'MainPID')) for u in ('web1', 'web2', 'other')}
    daemon.write_file(f'{APP_DIR}/b/web1.pid', f'{pids["web1"]}\n')
    daemon.write_file(f'{APP_DIR}/b/web2.pid', f'{pids["web2"]}\n')
    daemon.write_file(f'{APP_DIR}/other.pid', f'{pids["other"]}\n')
    daemon.write_config(f'[Tasks]\nUpdateIntervalSec=2\nPidFiles=test_cgroup_b:{APP_DIR}/b/*.pid nosuchgroup:/x.pid\n'
                        + NO_WEB)
    daemon.write_file('/run/sktest/pidfiles.d/10-other.conf', f'[Tasks]\nPidFiles={GROUP}:{APP_DIR}/other.pid\n')
    daemon.write_tree({'slices': {GROUP: {}, 'test_cgroup_b': {}}})
    daemon.start('--pidfiles-dir=/run/sktest/pidfiles.d')
    wait_for(lambda: cgroup_of(tb, pids['web1']) == '/test_cgroup_b.slice/test_cgroup_b.scope'
             and cgroup_of(tb, pids['web2']) == '/test_cgroup_b.slice/test_cgroup_b.scope'
             and cgroup_of(tb, pids['other']) == SCOPE_CGROUP, 10, what='glob and drop-in pid files attached')
    status = daemon.status()
    assert status['tasks']['unresolved'] == ['nosuchgroup:/x.pid']
    assert 'PidFiles=nosuchgroup:/x.pid: no group "nosuchgroup"' in daemon.journal(full=True)
    # A new file matching the glob is seen at once (inotify on the directory).
    tb.run(['systemd-run', '--unit=web3', 'sleep', '300'])
    web3 = int(tb.show('web3.service', 'MainPID'))
    daemon.write_file(f'{APP_DIR}/b/web3.pid', f'{web3}\n')
    wait_for(lambda: cgroup_of(tb, web3) == '/test_cgroup_b.slice/test_cgroup_b.scope', 1.0,
             what='a new pid file matching the glob')


def test_a_host_pid_file_never_moves_processes_into_init_scope(daemon, slices, tb):
    """Group "init" without a root is accepted (init.slice is an ordinary slice; the tree may give it no pid
    files), but its scope would be init.scope, PID 1's: a host-local PidFiles= naming it is refused like a bad
    pid file and moves nothing (found by fuzz-tree)."""
    tb.run(['mkdir', '-p', APP_DIR])
    tb.run(['systemd-run', '--unit=victim', 'sleep', '300'])
    victim = int(tb.show('victim.service', 'MainPID'))
    daemon.write_file(f'{APP_DIR}/victim.pid', f'{victim}\n')
    daemon.write_config(f'[Tasks]\nUpdateIntervalSec=2\nPidFiles=init:{APP_DIR}/victim.pid\n' + NO_WEB)
    daemon.write_tree({'slices': {'init': {'cpu_weight': 50}}})
    daemon.start()

    def refused(s):
        group = s['tasks']['groups'].get('init', {})
        return [r for r in group.get('refusals', []) if r['file'] == f'{APP_DIR}/victim.pid'
                and "scope would be init.scope, systemd's own" in r['reason']]
    status = daemon.wait_status(refused, 10, what='the pid file refused')
    passes = status['tasks']['passes']
    status = daemon.wait_status(lambda s: s['tasks']['passes'] >= passes + 2, 10, what='two more passes')
    assert status['tasks']['groups']['init']['pids'] == []
    assert status['tasks']['calls'] == 0 and status['tasks']['moved_total'] == 0, status['tasks']
    assert cgroup_of(tb, victim) == '/system.slice/victim.service'
    assert cgroup_of(tb, 1) == '/init.scope'
    assert tb.show('init.slice', 'ActiveState') == 'active'  # the group's slice itself is applied
    assert 'Moved ' not in daemon.journal(full=True)


def test_bad_dropin_is_refused_at_start(daemon, tb):
    from conftest import DAEMON
    tb.run(['mkdir', '-p', '/run/sktest/bad.d'])
    daemon.write_file('/run/sktest/bad.d/x.conf', '[Slices]\nRoot=sk\n')
    daemon.write_tree({'slices': {}})
    r = tb.run(['systemd-run', '--wait', '--pipe', '-q', DAEMON, f'--config={daemon.config_path}',
                '--pidfiles-dir=/run/sktest/bad.d', '--log-target=console'], check=False)
    assert r.returncode != 0 and 'x.conf: a pid file drop-in may only set [Tasks] PidFiles=' in r.stderr, r.stderr


# Done means 4 ------------------------------------------------------------------------------------

def test_exec_args_and_run_against_the_live_daemon(daemon, slices, tb):
    daemon.write_tree({'cpu': {'sub_cgroup': {'test_cgroup_a': {'conf': {'share': 1024}},
                                              'test_cgroup_b': {'sub_cgroup': {'test_cgroup_b_sub1': {}}}}}})
    daemon.start()
    wait_for(lambda: slices.active('test_cgroup_b-test_cgroup_b_sub1.slice'), 10, what='the slices')
    before = slices.snapshot(['test_cgroup_a.slice'])
    out = json.loads(daemon.ctl('exec-args', 'test_cgroup_a', 'test_cgroup_b_sub1', 'test_cgroup_b/test_cgroup_b_sub1',
                                'nope', check=False).stdout)
    assert out == {'test_cgroup_a': '--slice=test_cgroup_a.slice',
                   'test_cgroup_b_sub1': '--slice=test_cgroup_b-test_cgroup_b_sub1.slice',
                   'test_cgroup_b/test_cgroup_b_sub1': '--slice=test_cgroup_b-test_cgroup_b_sub1.slice',
                   'nope': {'error': 'no such group in the tree'}}
    assert daemon.ctl('exec-args', 'nope', check=False).returncode != 0
    # systemd-run $(slicekeeper exec-args --shell NAME) lands in the slice.
    r = tb.run(['sh', '-c', f'systemd-run --quiet --wait --pipe $({CTL} exec-args --shell test_cgroup_b_sub1) '
                            'cat /proc/self/cgroup'])
    assert ':name=systemd:/test_cgroup_b.slice/test_cgroup_b-test_cgroup_b_sub1.slice/run-' in r.stdout
    # run: a scope (default) or a service, exit status passed through.
    r = tb.run([CTL, 'run', 'test_cgroup_a', '--', 'sh', '-c', 'grep name=systemd /proc/self/cgroup; exit 7'],
               check=False)
    assert r.returncode == 7 and ':name=systemd:/test_cgroup_a.slice/run-' in r.stdout
    r = tb.run([CTL, 'run', '--service', 'test_cgroup_a', '--', 'sh', '-c', 'grep name=systemd /proc/self/cgroup; '
                                                                          'exit 5'], check=False)
    assert r.returncode == 5 and ':name=systemd:/test_cgroup_a.slice/run-' in r.stdout
    r = tb.run([CTL, 'run', 'nope', '--', 'true'], check=False)
    assert r.returncode != 0 and 'nope: no such group in the tree' in r.stderr
    # None of it changed the tree or a slice.
    assert slices.snapshot(['test_cgroup_a.slice']) == before
    assert daemon.status()['version'] == 1


# Issue 10: unmovable pids are refused once, and the refusal records stay bounded ---------------------

def wait_passes(daemon, n):
    passes = tasks(daemon)['passes']
    return daemon.wait_status(lambda s: s['tasks']['passes'] >= passes + n, 10, what=f'{n} more passes')


def proc_state(tb, pid):
    out = tb.run(['cat', f'/proc/{pid}/stat'], check=False).stdout
    return out.rsplit(')', 1)[1].split()[0] if ')' in out else None


# A child that exits at once, never reaped: its parent writes both pid files and becomes a sleep.
ZOMBIE_MAKER = '''import os, sys
child = os.fork()
if child == 0:
    os._exit(0)
for name, pid in (("zombie", child), ("parent", os.getpid())):
    with open(f"{sys.argv[1]}/{name}.pid.tmp", "w") as f:
        f.write(f"{pid}\\n")
    os.rename(f"{sys.argv[1]}/{name}.pid.tmp", f"{sys.argv[1]}/{name}.pid")
os.execv("/bin/sleep", ["sleep", "300"])
'''


def test_a_zombie_is_refused_once_and_its_parent_moves_once(daemon, slices, tb):
    tb.run(['mkdir', '-p', APP_DIR])
    daemon.write_file(f'{APP_DIR}/zombie.py', ZOMBIE_MAKER)
    tb.run(['systemd-run', '--unit=zombie-parent', '/usr/bin/python3', f'{APP_DIR}/zombie.py', APP_DIR])
    wait_for(lambda: tb.run(['test', '-s', f'{APP_DIR}/parent.pid'], check=False).returncode == 0, 5,
             what='the pid files')
    zombie = int(tb.run(['cat', f'{APP_DIR}/zombie.pid']).stdout)
    parent = int(tb.run(['cat', f'{APP_DIR}/parent.pid']).stdout)
    wait_for(lambda: proc_state(tb, zombie) == 'Z', 5, what=f'pid {zombie} to be a zombie')
    daemon.write_tree(tree_with_pid_files(f'{APP_DIR}/zombie.pid', f'{APP_DIR}/parent.pid'))
    daemon.start()
    refused = f'names pid {zombie}, a zombie'
    status = daemon.wait_status(
        lambda s: parent in s['tasks']['groups'][GROUP]['pids'] and any(
            refused in r['reason'] for r in s['tasks']['groups'][GROUP]['refusals']), 10,
        what='the parent moved and the zombie refused')
    assert cgroup_of(tb, parent) == SCOPE_CGROUP
    calls, logged, moved = (status['tasks']['calls'], status['tasks']['refusal_records']['logged'],
                            status['tasks']['moved_total'])
    assert moved == 1  # the parent alone: its zombie child is not sent along
    status = wait_passes(daemon, 3)
    # Nothing more was sent to systemd and nothing more logged over three passes.
    assert status['tasks']['calls'] == calls
    assert status['tasks']['refusal_records']['logged'] == logged
    assert status['tasks']['moved_total'] == moved
    assert status['tasks']['groups'][GROUP]['pids'] == [parent]
    journal = daemon.journal(full=True)
    assert journal.count(refused) == 1
    assert journal.count('Moved ') == 1
    assert proc_state(tb, zombie) == 'Z'  # still a zombie all along: the test saw what it meant to


THREADED = '''import os, threading, time
def run():
    with open("{path}.tmp", "w") as f:
        f.write(f"{{threading.get_native_id()}}\\n")
    os.rename("{path}.tmp", "{path}")
    time.sleep(300)
threading.Thread(target=run).start()
'''


def test_a_thread_id_is_refused_as_a_thread(daemon, slices, tb):
    tb.run(['mkdir', '-p', APP_DIR])
    path = f'{APP_DIR}/thread.pid'
    daemon.write_file(f'{APP_DIR}/threaded.py', THREADED.format(path=path))
    tb.run(['systemd-run', '--unit=threaded', '/usr/bin/python3', f'{APP_DIR}/threaded.py'])
    wait_for(lambda: tb.run(['test', '-s', path], check=False).returncode == 0, 10, what='the thread id')
    tid = int(tb.run(['cat', path]).stdout)
    main = int(tb.show('threaded.service', 'MainPID'))
    assert tid != main and tb.run(['test', '-d', f'/proc/{main}/task/{tid}'], check=False).returncode == 0
    daemon.write_tree(tree_with_pid_files(path))
    daemon.start()
    expected = f'names pid {tid}, a thread of process {main}, not a process'
    daemon.wait_status(lambda s: any(r['reason'] == expected for r in s['tasks']['groups'][GROUP]['refusals']),
                       10, what='the thread refused as a thread')
    status = wait_passes(daemon, 2)
    assert status['tasks']['calls'] == 0 and status['tasks']['moved_total'] == 0
    assert cgroup_of(tb, main) == '/system.slice/threaded.service'
    assert daemon.journal(full=True).count(expected) == 1


BAD_FILES = 10000


def status_bytes(daemon):
    return len(daemon.ctl('status', '--json').stdout.encode())


def test_10000_bad_pid_files_renamed_three_times_leave_a_bounded_status(daemon, slices, tb):
    from test_sample import rss_kib
    bad_dir = f'{APP_DIR}/bad'
    tb.run(['mkdir', '-p', bad_dir])
    host_dir = tb.host_path(bad_dir)
    for i in range(BAD_FILES):
        with open(f'{host_dir}/r0-{i}.pid', 'w') as f:
            f.write('not a pid\n')
    pattern = f'{bad_dir}/*.pid'
    daemon.write_tree(tree_with_pid_files(pattern))
    daemon.start()

    def round_seen(prefix):
        def check(s):
            g = s['tasks']['groups'][GROUP]
            return (len(g['refusals']) == 64 and all(f'/{prefix}-' in r['file'] for r in g['refusals'])
                    and g['left_out'].get(pattern) == BAD_FILES - 1024)
        return check

    daemon.wait_status(round_seen('r0'), 20, what='the first 10 000 files refused')
    sizes, rss = [status_bytes(daemon)], [rss_kib(daemon)]
    for n in (1, 2, 3):
        for i in range(BAD_FILES):
            os.rename(f'{host_dir}/r{n - 1}-{i}.pid', f'{host_dir}/r{n}-{i}.pid')
        status = daemon.wait_status(round_seen(f'r{n}'), 20, what=f'rename {n} seen')
        wait_passes(daemon, 1)  # a whole pass after the renames: none of the old names is left anywhere
        sizes.append(status_bytes(daemon))
        rss.append(rss_kib(daemon))
    status = daemon.status()
    t, g = status['tasks'], status['tasks']['groups'][GROUP]
    print(f'10 000 bad pid files renamed 3 times: status {sizes} bytes, RSS {rss} KiB, '
          f'{t["refusal_records"]["logged"]} refusal lines logged in {t["passes"]} passes')
    assert t['refusal_records']['kept'] == len(g['refusals']) == 64
    assert g['refusals_unlisted'] == 1024 - 64  # read but not listed: counted
    assert g['left_out'] == {pattern: BAD_FILES - 1024}
    assert max(sizes) < 32 * 1024
    assert max(sizes) - min(sizes) < 1024  # the same shape every round: nothing accumulates
    with open(f'/proc/{daemon.host_pid()}/maps') as f:
        sanitized = 'libasan' in f.read()
    # KiB, from the first rename on. ASan's quarantine keeps freed memory (every pass globs 10 000 names)
    # and shows it as RSS: only the plain build's number is a bound.
    assert sanitized or rss[-1] - rss[1] < 1024, rss
    assert t['calls'] == 0 and t['moved_total'] == 0
    # Each bound was said once, however many passes saw it.
    journal = daemon.journal(full=True)
    assert journal.count(f'Pid files {pattern} (group {GROUP}) match {BAD_FILES} files; only 1024 are read, '
                         f'{BAD_FILES - 1024} are left out.') == 1
    assert journal.count(f'Group {GROUP}: ') == 1 and 'more pid files refused than are listed' in journal
    # Log lines are bounded per pass (64 new names at most), not one per file.
    assert t['refusal_records']['logged'] <= 64 * t['passes']

    # Files that are gone are forgotten at the next pass.
    tb.run(['rm', '-rf', bad_dir])
    status = daemon.wait_status(lambda s: s['tasks']['refusal_records']['kept'] == 0 and not
                                s['tasks']['groups'][GROUP]['left_out'] and
                                s['tasks']['groups'][GROUP]['refusals_unlisted'] == 0, 10,
                                what='the records of the removed files dropped')
    assert status['tasks']['groups'][GROUP]['last_refusal'] is None
    assert 'every match is read again' in daemon.journal(full=True)


# Issue 11: callback userdata never points into an array that moves -----------------------------------

SWITCH_GROUPS = 64  # twice the requests the attacher keeps in flight: a pass lasts long enough to be cut into


def test_groups_replaced_while_their_moves_are_in_flight(daemon, slices, tb):
    """A tree change replaces the groups while their requests are still in flight (each change hands
    every pid file to another group): the old groups' replies are dropped with them and never land in
    freed or moved memory (the sanitizer build aborts on that), and the last tree's groups get every
    process."""
    d = APP_DIR
    tb.run(['mkdir', '-p', d])
    tb.run(['systemd-run', '--unit=apps', 'sh', '-c',
            f'for i in $(seq 0 {SWITCH_GROUPS - 1}); do sleep 300 & echo $! > {d}/p$i.tmp && '
            f'mv {d}/p$i.tmp {d}/p$i.pid; done; wait'])
    files = [f'{d}/p{i}.pid' for i in range(SWITCH_GROUPS)]
    wait_for(lambda: tb.run(['test', '-s', files[-1]], check=False).returncode == 0, 5, what='the pid files')
    pids = [int(tb.run(['cat', f]).stdout) for f in files]

    def group(side, i):
        return f'test_cgroup_{side}{i}'

    def tree(side):
        """Both sets of slices always; only SIDE's have pid files (so no slice is ever stopped)."""
        return {'slices': {group(s, i): {'pid_files': [files[i]]} if s == side else {}
                           for s in 'cd' for i in range(SWITCH_GROUPS)}}

    daemon.write_tree(tree('c'))
    daemon.start()
    side, switches = 'c', 0
    # Each switch is written as soon as the previous one's groups sent requests, i.e. while their pass runs.
    while (t := daemon.status()['tasks'])['calls_dropped'] == 0:
        assert switches < 50, f'no tree change landed while moves were in flight: {t}'
        side = 'd' if side == 'c' else 'c'
        daemon.write_tree(tree(side))
        switches += 1
        daemon.wait_status(lambda s: group(side, 0) in s['tasks']['groups'] and s['tasks']['calls'] > t['calls'],
                           10, what=f'switch {switches} read and its moves sent')
    status = daemon.wait_status(
        lambda s: all(s['tasks']['groups'][group(side, i)]['pids'] == [pids[i]] for i in range(SWITCH_GROUPS)),
        20, what='every process in the last tree\'s groups')
    for i, pid in enumerate(pids):
        assert cgroup_of(tb, pid) == f'/{group(side, i)}.slice/{group(side, i)}.scope', pid
    print(f'groups replaced {switches} times; {status["tasks"]["calls_dropped"]} of '
          f'{status["tasks"]["calls"]} requests were in flight then')
    daemon.stop_cleanly()  # the sanitizer build: no leak, nothing freed used
