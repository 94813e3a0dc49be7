# SPDX-License-Identifier: MIT
"""`slicekeeper migrate` (issue 13): processes left in cgrouparch's directories (cgroup_dir/<controller>/<group
path>) go into their groups' scopes through systemd, the emptied directories go, anything else stays."""
import json

import pytest

from conftest import EXAMPLE_TREE, EXAMPLE_UNITS, wait_for

A, B, B1 = 'test_cgroup_a', 'test_cgroup_b', 'test_cgroup_b/test_cgroup_b_sub1'
NOT_IN_TREE = 'not_in_tree'
# cgrouparch made a directory per group in every controller hierarchy of its tree; this testbed mounts cpu
# and cpuacct apart (systemd 252 makes no unit directories in cpuacct, so systemd alone leaves them there).
CONTROLLERS = ('cpu', 'cpuacct', 'memory', 'pids')
BUSY = 'while :; do :; done'


def inner(ctrl, rel=''):
    return f'/sys/fs/cgroup/{ctrl}/{rel}'.rstrip('/')


def procs(tb, ctrl, rel):
    """cgroup.procs read inside the testbed (pids as its systemd numbers them); None when the directory is gone."""
    r = tb.run(['cat', f'{inner(ctrl, rel)}/cgroup.procs'], check=False)
    return sorted(int(p) for p in r.stdout.split()) if r.returncode == 0 else None


def cgroups_of(tb, pid):
    """{hierarchy: path} from /proc/PID/cgroup inside."""
    out = {}
    for line in tb.run(['cat', f'/proc/{pid}/cgroup']).stdout.splitlines():
        _, ctrls, path = line.split(':', 2)
        out[ctrls or 'unified'] = path
    return out


def start_busy(tb, unit):
    tb.run(['systemd-run', f'--unit={unit}', 'sh', '-c', BUSY])
    return int(wait_for(lambda: int(tb.show(unit, 'MainPID')), 5, what=f'{unit} running'))


def put(tb, pid, ctrl, rel):
    """What cgrouparch did: the directory, then the pid into its tasks."""
    tb.run(['mkdir', '-p', inner(ctrl, rel)])
    tb.run(['sh', '-c', f'echo {pid} > {inner(ctrl, rel)}/cgroup.procs'])


def remove_dirs(tb, pids, dirs):
    """Leaves the testbed as found: our processes killed by pid, our directories removed deepest first."""
    for pid in pids:
        tb.run(['kill', '-9', str(pid)], check=False)
    for pid in pids:
        wait_for(lambda: tb.run(['test', '-e', f'/proc/{pid}'], check=False).returncode != 0, 5,
                 what=f'pid {pid} gone')
    for ctrl, rel in sorted(dirs, key=lambda d: -d[1].count('/')):
        tb.run(['rmdir', inner(ctrl, rel)], check=False)


def test_migrate_moves_processes_into_scopes_and_removes_the_directories(daemon, slices, tb):
    if tb.layout != 'hybrid':
        pytest.skip('cgrouparch wrote v1 hierarchies: the hybrid testbed has them')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the example slices')
    daemon.wait_status(lambda s: s['leftover'] is not None and s['leftover']['directories'] == 0,
                       what='a first leftover scan, finding nothing')

    busy_a = start_busy(tb, 'busy-a')
    busy_b1 = start_busy(tb, 'busy-b1')
    stranger = start_busy(tb, 'stranger')
    tree_dirs = [(c, d) for c in CONTROLLERS for d in (A, B, B1)]
    dirs = tree_dirs + [(c, NOT_IN_TREE) for c in CONTROLLERS]
    try:
        for ctrl in CONTROLLERS:
            put(tb, busy_a, ctrl, A)
            put(tb, busy_b1, ctrl, B1)  # B made on the way, empty: cgrouparch's parent directory
            put(tb, stranger, ctrl, NOT_IN_TREE)
        before = {d: procs(tb, *d) for d in dirs}
        assert before[('cpu', A)] == [busy_a] and before[('memory', B1)] == [busy_b1]
        assert before[('pids', NOT_IN_TREE)] == [stranger]
        cgroups_before = {p: cgroups_of(tb, p) for p in (busy_a, busy_b1, stranger)}

        # --dry-run: the same report, nothing done.
        dry = json.loads(daemon.ctl('migrate', '--dry-run', '--json').stdout)
        assert dry['dry_run'] and dry['finished']
        by_path = {d['path']: d for d in dry['directories']}
        for ctrl, rel in tree_dirs:
            assert by_path[inner(ctrl, rel)]['result'] == 'would remove', by_path[inner(ctrl, rel)]
        for ctrl in CONTROLLERS:
            left = by_path[inner(ctrl, NOT_IN_TREE)]
            assert (left['result'], left['reason'], left['group']) == ('left alone', 'not a tree group', None)
        assert sorted((m['group'], m['processes'], m['result']) for m in dry['moves']) == \
            [(A, 1, 'would move'), (B1, 1, 'would move')]
        assert dry['moved'] == 0 and dry['removed'] == 0
        assert {d: procs(tb, *d) for d in dirs} == before
        assert {p: cgroups_of(tb, p) for p in cgroups_before} == cgroups_before
        assert tb.show('test_cgroup_a.scope', 'ActiveState') == 'inactive'
        # The dry run's rescan shows them in status until they are gone.
        daemon.wait_status(lambda s: s['leftover']['directories'] == len(tree_dirs), what='the leftovers in status')
        assert f'Leftover:   {len(tree_dirs)} directories of tree groups' in daemon.ctl('status').stdout

        out = daemon.ctl('migrate', '--json').stdout
        report = json.loads(out)
        assert not report['dry_run'] and report['finished']
        by_path = {d['path']: d for d in report['directories']}
        for ctrl, rel in tree_dirs:
            assert by_path[inner(ctrl, rel)]['result'] == 'removed', by_path[inner(ctrl, rel)]
            assert procs(tb, ctrl, rel) is None, (ctrl, rel)
        assert sorted((m['group'], m['scope'], m['result']) for m in report['moves']) == \
            [(A, 'test_cgroup_a.scope', 'moved'), (B1, 'test_cgroup_b-test_cgroup_b_sub1.scope', 'moved')]
        assert report['removed'] == len(tree_dirs)
        assert report['loop']['max_step_usec'] < 100_000, report['loop']  # no step holds the loop long
        assert report['moved'] == 2  # each process once, whatever the hierarchies it was in
        assert all(by_path[inner(c, A)]['moved'] == 1 for c in CONTROLLERS)

        # The processes are in their groups' scopes: systemd's own hierarchy says so, and the controllers.
        scope_a = '/test_cgroup_a.slice/test_cgroup_a.scope'
        scope_b1 = '/test_cgroup_b.slice/test_cgroup_b-test_cgroup_b_sub1.slice/test_cgroup_b-test_cgroup_b_sub1.scope'
        for pid, scope in ((busy_a, scope_a), (busy_b1, scope_b1)):
            cg = cgroups_of(tb, pid)
            assert cg['name=systemd'] == scope and cg['cpu'] == scope and cg['memory'] == scope, cg
            assert cg['cpuacct'] == '/', cg  # no unit directory there: where systemd puts its own processes
        assert tb.show('test_cgroup_a.scope', 'ActiveState') == 'active'
        # The directory that is no tree group is left alone, its process in it.
        for ctrl in CONTROLLERS:
            assert procs(tb, ctrl, NOT_IN_TREE) == [stranger]
            assert by_path[inner(ctrl, NOT_IN_TREE)]['result'] == 'left alone'
        assert cgroups_of(tb, stranger) == cgroups_before[stranger]

        daemon.wait_status(lambda s: s['leftover']['directories'] == 0, what='no leftovers after the migrate')
        assert 'Leftover:' not in daemon.ctl('status').stdout
        # A second run finds nothing to do.
        again = json.loads(daemon.ctl('migrate', '--json').stdout)
        assert again['moves'] == [] and again['removed'] == 0
        assert 'Moved 0 process(es)' in daemon.ctl('migrate').stdout
    finally:
        remove_dirs(tb, (busy_a, busy_b1, stranger), dirs)


def test_migrate_keeps_a_directory_with_a_stranger_below(daemon, slices, tb):
    """A tree group's directory holding one that is not a tree group: its processes move, the directory stays."""
    if tb.layout != 'hybrid':
        pytest.skip('cgrouparch wrote v1 hierarchies: the hybrid testbed has them')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the example slices')
    busy = start_busy(tb, 'busy-b')
    dirs = [('cpu', B), ('cpu', f'{B}/{NOT_IN_TREE}')]
    try:
        put(tb, busy, 'cpu', B)
        tb.run(['mkdir', inner('cpu', f'{B}/{NOT_IN_TREE}')])
        report = json.loads(daemon.ctl('migrate', '--json').stdout)
        by_path = {d['path']: d for d in report['directories']}
        assert (by_path[inner('cpu', B)]['result'], by_path[inner('cpu', B)]['reason']) == \
            ('kept', 'holds a directory that stays')
        assert by_path[inner('cpu', f'{B}/{NOT_IN_TREE}')]['result'] == 'left alone'
        assert procs(tb, 'cpu', B) == []
        assert cgroups_of(tb, busy)['name=systemd'] == '/test_cgroup_b.slice/test_cgroup_b.scope'
        assert procs(tb, 'cpu', f'{B}/{NOT_IN_TREE}') == []
        daemon.wait_status(lambda s: s['leftover']['directories'] == 1, what='the kept directory in status')
    finally:
        remove_dirs(tb, (busy,), dirs)
