# SPDX-License-Identifier: MIT
"""Core: a resource tree becomes live systemd slices (issue 2), against the testbed's real systemd."""
import copy
import json
import time

import pytest

from conftest import (CTL, DAEMON, EXAMPLE_TREE, EXAMPLE_UNITS, cpu_shares, cpu_weight, wait_for)

A, B, B1 = EXAMPLE_UNITS


def all_active(slices, units):
    return all(slices.active(u) for u in units)


def start_example(daemon, slices):
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    wait_for(lambda: all_active(slices, EXAMPLE_UNITS), 10, what='the example slices')


# Done means 1 ------------------------------------------------------------------------------------

def test_example_tree_yields_slices_with_mapped_weights(daemon, slices, tb):
    start_example(daemon, slices)
    for unit, share in ((A, 1024), (B, 100), (B1, 200)):
        props = slices.props(unit, 'CPUWeight', 'CPUAccounting', 'MemoryAccounting', 'IOAccounting',
                             'TasksAccounting', 'Description')
        assert props['CPUWeight'] == str(cpu_weight(share)), (unit, props)
        assert all(props[k] == 'yes' for k in ('CPUAccounting', 'MemoryAccounting', 'IOAccounting',
                                                'TasksAccounting')), (unit, props)
        # The kernel holds the value: cgroup v1 cpu.shares of the slice's own cgroup.
        assert slices.cgroup_read('cpu', unit, 'cpu.shares') == str(cpu_shares(cpu_weight(share))), unit
    # Exactly the documented values, so a wrong mapping formula cannot hide behind the helper.
    assert [slices.props(u, 'CPUWeight')['CPUWeight'] for u in EXAMPLE_UNITS] == ['100', '10', '20']
    assert slices.cgroup_read('cpu', B1, 'cpu.shares') == '204'

    status = daemon.wait_status(lambda s: len(s['slices']) == 3 and all(x['owned'] for x in s['slices']))
    assert status['version'] == 1 and status['schema'] == 'cgrouparch' and status['last_error'] is None
    assert sorted(x['unit'] for x in status['slices']) == sorted(EXAMPLE_UNITS)
    assert daemon.owned_records() == sorted(EXAMPLE_UNITS)
    assert daemon.plan()['items'] == []
    human = daemon.ctl('status').stdout
    assert 'test_cgroup_b-test_cgroup_b_sub1.slice' in human and 'CPUWeight=20' in human


def test_dry_run_prints_plan_and_changes_nothing(daemon, slices, tb):
    daemon.write_tree(EXAMPLE_TREE)
    # A stale ownership record (its slice gone, its group not in the tree): a pass that runs forgets it, a
    # dry run keeps it.
    tb.run(['mkdir', '-p', '/run/sktest/dry/units'])
    daemon.write_file('/run/sktest/dry/units/gone.slice', 'gone\n')
    out = tb.run([DAEMON, f'--tree-file={daemon.tree_path}', '--dry-run', '--json',
                  '--runtime-dir=/run/sktest/dry']).stdout
    plan = json.loads(out)
    assert [(i['op'], i['unit']) for i in plan] == [('create', u) for u in EXAMPLE_UNITS]
    assert plan[2]['properties'] == {'CPUWeight': '20'}
    assert not any(slices.active(u) for u in EXAMPLE_UNITS)
    assert tb.run(['ls', '/run/sktest/dry/units']).stdout.split() == ['gone.slice']  # nothing recorded, nothing forgotten
    # An invalid tree: a clear error, a failing exit status.
    daemon.write_tree('{"cpu": 5}')
    r = tb.run([DAEMON, f'--tree-file={daemon.tree_path}', '--dry-run', '--runtime-dir=/run/sktest/dry'],
               check=False)
    assert r.returncode != 0 and '$.cpu: must be an object, got an integer' in r.stderr


# Done means 2 ------------------------------------------------------------------------------------

def test_edit_changes_properties_within_a_second_without_restart(daemon, slices):
    start_example(daemon, slices)
    before = slices.snapshot(EXAMPLE_UNITS)
    tree = copy.deepcopy(EXAMPLE_TREE)
    tree['cpu']['sub_cgroup']['test_cgroup_b']['conf']['share'] = 3000
    tree['cpu']['sub_cgroup']['test_cgroup_b']['sub_cgroup']['test_cgroup_b_sub1']['conf']['share'] = 50
    start = time.monotonic()
    daemon.write_tree(tree)
    wait_for(lambda: slices.props(B1, 'CPUWeight')['CPUWeight'] == str(cpu_weight(50))
             and slices.props(B, 'CPUWeight')['CPUWeight'] == str(cpu_weight(3000)), 1.0,
             what='the edited weights within 1 s')
    elapsed = time.monotonic() - start
    print(f'edit applied in {elapsed * 1000:.0f} ms')
    assert slices.cgroup_read('cpu', B, 'cpu.shares') == str(cpu_shares(cpu_weight(3000)))
    after = slices.snapshot(EXAMPLE_UNITS)
    for u in EXAMPLE_UNITS:  # nothing restarted
        assert after[u]['InvocationID'] == before[u]['InvocationID'], u
        assert after[u]['ActiveEnterTimestampMonotonic'] == before[u]['ActiveEnterTimestampMonotonic'], u
    assert after[A] == before[A]
    daemon.wait_status(lambda s: s['version'] == 2)


def test_removing_a_property_resets_it_to_systemd_default(daemon, slices):
    daemon.write_tree({'slices': {'web': {'cpu_weight': 300, 'memory_max': '256M', 'tasks_max': 77}}})
    daemon.start()
    wait_for(lambda: slices.props('web.slice', 'TasksMax').get('TasksMax') == '77', 5, what='web.slice limits')
    assert slices.props('web.slice', 'MemoryMax')['MemoryMax'] == str(256 << 20)
    daemon.write_tree({'slices': {'web': {'cpu_weight': 300}}})
    wait_for(lambda: slices.props('web.slice', 'TasksMax', 'MemoryMax') ==
             {'TasksMax': 'infinity', 'MemoryMax': 'infinity'}, 2, what='limits back to defaults')
    assert slices.props('web.slice', 'CPUWeight')['CPUWeight'] == '300'


def test_removing_a_group_stops_its_slice(daemon, slices):
    start_example(daemon, slices)
    tree = copy.deepcopy(EXAMPLE_TREE)
    del tree['cpu']['sub_cgroup']['test_cgroup_b']['sub_cgroup']
    daemon.write_tree(tree)
    wait_for(lambda: not slices.active(B1), 2, what=f'{B1} to stop')
    assert slices.active(A) and slices.active(B)
    wait_for(lambda: daemon.owned_records() == sorted([A, B]), 2, what='ownership record removed')
    # Removing a parent and its child together stops both (children first, or systemd would refuse).
    daemon.write_tree({'cpu': {'sub_cgroup': {'test_cgroup_a': {'conf': {'share': 1024}}}}})
    wait_for(lambda: not slices.active(B), 2, what=f'{B} to stop')
    assert slices.active(A)


def test_a_removed_group_that_still_holds_processes_is_kept(daemon, slices, tb):
    start_example(daemon, slices)
    tb.run(['systemd-run', '--unit=worker', f'--slice={A}', 'sleep', '300'])
    daemon.write_tree({'cpu': {'sub_cgroup': {'test_cgroup_b': {'conf': {'share': 100}}}}})
    status = daemon.wait_status(lambda s: any(x['unit'] == A and (x['last_op'] or {}).get('state') == 'skipped'
                                              for x in s['slices']), 5, what='the stop of A to be held back')
    entry = next(x for x in status['slices'] if x['unit'] == A)
    assert 'still holds 1 tasks' in entry['last_op']['error']
    assert slices.active(A) and tb.show('worker.service', 'ActiveState') == 'active'
    # Once empty, the next pass stops it.
    tb.systemctl('stop', 'worker.service')
    wait_for(lambda: not slices.active(A), 6, what=f'{A} to stop once empty')
    wait_for(lambda: daemon.owned_records() == [B], 2, what='its ownership record removed')


def test_stale_ownership_records_are_forgotten(daemon, slices, tb):
    start_example(daemon, slices)
    daemon.stop_cleanly()
    # While the daemon is away, a slice of ours is stopped by hand and its group leaves the tree.
    tb.systemctl('stop', B1)
    tree = copy.deepcopy(EXAMPLE_TREE)
    del tree['cpu']['sub_cgroup']['test_cgroup_b']['sub_cgroup']
    daemon.write_tree(tree)
    daemon.start()
    wait_for(lambda: daemon.owned_records() == sorted([A, B]), 5, what='the stale record dropped')
    assert 'Forgot test_cgroup_b-test_cgroup_b_sub1.slice' in daemon.journal(full=True)


def test_protected_and_foreign_slices_are_never_stopped(daemon, slices, tb):
    # A slice someone else made, which the tree also names: adopted for its properties, never stopped.
    tb.run(['mkdir', '-p', '/run/systemd/system'])
    daemon.write_file('/run/systemd/system/foreign.slice', '[Slice]\n')
    tb.systemctl('daemon-reload')
    tb.systemctl('start', 'foreign.slice')
    daemon.write_config('[Slices]\nProtected=guarded')
    daemon.write_tree({'slices': {'foreign': {'cpu_weight': 42}, 'guarded': {'cpu_weight': 7},
                                  'system': {'cpu_weight': 9}, 'kept': {}}})
    daemon.start()
    wait_for(lambda: slices.props('foreign.slice', 'CPUWeight')['CPUWeight'] == '42', 5, what='foreign adopted')
    wait_for(lambda: slices.active('kept.slice'), 5, what='kept.slice')
    status = daemon.status()
    by_unit = {x['unit']: x for x in status['slices']}
    assert by_unit['foreign.slice']['owned'] is False
    # Protected ones are not touched at all: not created, properties not set.
    assert not slices.active('guarded.slice')
    assert by_unit['guarded.slice']['last_op']['error'] == 'protected'
    assert slices.props('system.slice', 'CPUWeight')['CPUWeight'] != '9'
    assert by_unit['system.slice']['protected'] is True
    assert daemon.owned_records() == ['kept.slice']

    # Restart with kept.slice protected as well, then drop everything from the tree.
    daemon.stop_cleanly()
    daemon.write_config('[Slices]\nProtected=guarded kept.slice')
    daemon.write_tree({'slices': {}})
    daemon.start()
    daemon.wait_status(lambda s: s['version'] == 1 and s['slices'] and
                       all(x['last_op'] for x in s['slices']), 5, what='the pass on the empty tree')
    plan = {i['unit']: i for i in daemon.plan()['items']}
    assert 'foreign.slice' not in plan  # not ours: not even considered for a stop
    assert plan['kept.slice']['op'] == 'stop' and plan['kept.slice']['error'] == 'protected'
    assert slices.active('foreign.slice') and slices.active('kept.slice') and slices.active('system.slice')


def test_drift_is_repaired_while_running(daemon, slices, tb):
    start_example(daemon, slices)
    tb.run(['systemctl', 'set-property', '--runtime', A, 'CPUWeight=555'])
    wait_for(lambda: slices.props(A, 'CPUWeight')['CPUWeight'] == '100', 5,
             what='a property changed by hand to be put back')
    tb.systemctl('stop', B1)
    wait_for(lambda: slices.active(B1), 5, what='a slice stopped by hand to come back')
    assert slices.props(B1, 'CPUWeight')['CPUWeight'] == '20'
    tb.run(['systemctl', 'set-property', '--runtime', B, 'MemoryAccounting=no'])
    wait_for(lambda: slices.props(B, 'MemoryAccounting')['MemoryAccounting'] == 'yes', 5,
             what='accounting switched back on')


# Done means 3 ------------------------------------------------------------------------------------

def deep_tree(levels):
    node = {}
    for i in reversed(range(levels)):
        node = {f'l{i}': ({'conf': {'share': 512}, 'sub_cgroup': node} if node else {'conf': {'share': 512}})}
    return {'cpu': {'sub_cgroup': node}}


def many_groups(n):
    return {'slices': {f'g{i}': {} for i in range(n)}}


INVALID = [
    ('bad JSON', '{"cpu": {"sub_cgroup": ', 'invalid JSON at line 1'),
    ('unknown key', {'cpu': {'sub_cgroup': {'x': {'conf': {'shares': 5}}}}},
     '$.cpu.sub_cgroup.x.conf.shares: unknown key "shares" for controller cpu'),
    ('wrong type', {'cpu': {'sub_cgroup': {'x': {'conf': {'share': '1024'}}}}},
     '$.cpu.sub_cgroup.x.conf.share: must be an integer between 2 and 262144 (cpu.shares), got the string "1024"'),
    ('negative share', {'cpu': {'sub_cgroup': {'x': {'conf': {'share': -5}}}}},
     '$.cpu.sub_cgroup.x.conf.share: out of range: must be an integer between 2 and 262144 (cpu.shares), got -5'),
    ('slash in name', {'cpu': {'sub_cgroup': {'a/b': {'conf': {'share': 5}}}}},
     '$.cpu.sub_cgroup["a/b"]: group name must not contain \'/\''),
    ('dot-dot name', {'slices': {'..': {}}}, '$.slices[".."]: group name must not be "." or ".."'),
    ('17 levels', deep_tree(17), 'groups nest deeper than 16 levels'),
    ('10001 groups', many_groups(10001), ': more than 10000 groups'),
    ('5 MiB', '{"slices": {}, "pad": "' + 'x' * (5 << 20) + '"}', 'is larger than the limit of 4194304 bytes'),
    ('same group at two paths', {'cpu': {'sub_cgroup': {'a': {'sub_cgroup': {'b': {}}}}},
                                 'blkio': {'sub_cgroup': {'c': {'sub_cgroup': {'b': {}}}}}},
     '$.blkio.sub_cgroup.c.sub_cgroup.b: group "b" is already at path "a/b"'),
]


def test_invalid_trees_are_rejected_and_change_nothing(daemon, slices, tb):
    start_example(daemon, slices)
    daemon.wait_status(lambda s: s['version'] == 1 and all(x['last_op'] for x in s['slices']))
    before = slices.snapshot(EXAMPLE_UNITS)
    records = daemon.owned_records()
    failures = []
    for name, tree, expected in INVALID:
        daemon.write_tree(tree)
        try:
            status = daemon.wait_status(lambda s: s['last_error'] and expected in s['last_error']['message'], 5,
                                        what=f'the error for {name}')
        except AssertionError as e:
            failures.append(f'{name}: {str(e)[:600]}')
            continue
        assert status['version'] == 1, name
        assert slices.snapshot(EXAMPLE_UNITS) == before, name
        assert daemon.owned_records() == records, name
    assert not failures, '\n'.join(failures)
    # Each distinct cause is logged once, naming the path.
    journal = daemon.journal(full=True)
    assert journal.count('unknown key "shares" for controller cpu') == 1, journal
    # Fixing the tree applies the fix and clears the error.
    tree = copy.deepcopy(EXAMPLE_TREE)
    tree['cpu']['sub_cgroup']['test_cgroup_a']['conf']['share'] = 2048
    daemon.write_tree(tree)
    status = daemon.wait_status(lambda s: s['version'] == 2 and s['last_error'] is None)
    wait_for(lambda: slices.props(A, 'CPUWeight')['CPUWeight'] == '200', 2, what='the fixed tree applied')


def test_missing_tree_file_at_start_changes_nothing(daemon, slices, tb):
    start_example(daemon, slices)
    daemon.stop_cleanly()
    tb.run(['rm', daemon.tree_path])
    daemon.start()
    status = daemon.wait_status(lambda s: s['last_error'] is not None)
    assert 'No such file or directory' in status['last_error']['message'] and status['version'] is None
    assert all_active(slices, EXAMPLE_UNITS)
    daemon.write_tree(EXAMPLE_TREE)
    daemon.wait_status(lambda s: s['version'] == 1 and s['last_error'] is None)


def test_bad_configuration_is_refused_with_a_clear_error(daemon, tb):
    daemon.write_config('[Slices]\nRoot=bad/root')
    r = tb.run([DAEMON, f'--config={daemon.config_path}', '--dry-run'], check=False)
    assert r.returncode != 0 and 'slicekeeperd.conf:7: Root=bad/root is not a slice name prefix' in r.stderr, r.stderr
    daemon.write_config('[Slices]\nRooot=x')
    r = tb.run([DAEMON, f'--config={daemon.config_path}', '--dry-run'], check=False)
    assert r.returncode != 0 and 'unknown key Rooot= in section [Slices]' in r.stderr, r.stderr
    r = tb.run([DAEMON, '--config=/nonexistent.conf'], check=False)
    assert r.returncode != 0 and '/nonexistent.conf: no such file' in r.stderr


# Done means 4 ------------------------------------------------------------------------------------

def test_kill9_then_restart_adopts_and_repairs_without_restarting(daemon, slices, tb):
    start_example(daemon, slices)
    daemon.wait_status(lambda s: all(x['last_op'] for x in s['slices']))
    before = slices.snapshot([A, B])
    daemon.kill9()
    # Drift while nobody watches: a property changed by hand, a slice stopped by hand.
    tb.run(['systemctl', 'set-property', '--runtime', A, 'CPUWeight=555'])
    tb.systemctl('stop', B1)
    assert not slices.active(B1)
    daemon.start()
    wait_for(lambda: slices.props(A, 'CPUWeight')['CPUWeight'] == '100' and slices.active(B1), 5,
             what='drift repaired after the restart')
    after = slices.snapshot([A, B])
    for u in (A, B):  # adopted, not restarted
        assert after[u]['InvocationID'] == before[u]['InvocationID'], u
        assert after[u]['ActiveEnterTimestampMonotonic'] == before[u]['ActiveEnterTimestampMonotonic'], u
    # None duplicated: one record and one loaded unit per group, nothing else of ours.
    assert daemon.owned_records() == sorted(EXAMPLE_UNITS)
    listed = tb.run(['systemctl', 'list-units', '--plain', '--no-legend', '--all', '*.slice']).stdout.split('\n')
    ours = sorted(line.split()[0] for line in listed if line.startswith('test_cgroup'))
    assert ours == sorted(EXAMPLE_UNITS)
    status = daemon.wait_status(lambda s: all(x['owned'] for x in s['slices']) and len(s['slices']) == 3)
    journal = daemon.journal(full=True)
    assert 'Adopting 3 slice(s)' in journal
    assert f'Created {A}' not in journal.split('Adopting')[-1]


def test_sigterm_stops_cleanly_and_leaves_slices(daemon, slices, tb):
    start_example(daemon, slices)
    daemon.stop_cleanly()
    assert all_active(slices, EXAMPLE_UNITS)
    assert 'exiting. Slices stay' in daemon.journal(full=True)


def test_control_socket_refuses_non_root_and_garbage(daemon, slices, tb):
    start_example(daemon, slices)
    r = tb.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', CTL,
                '--socket=/run/slicekeeper/control.sock', 'status'], check=False)
    assert r.returncode != 0 and 'permission denied: this request is for root' in r.stderr, r.stderr
    r = tb.run(['python3', '-c', '''
import socket
s = socket.socket(socket.AF_UNIX); s.connect("/run/slicekeeper/control.sock")
s.sendall(b"not json\\n"); print(s.recv(4096).decode())
s = socket.socket(socket.AF_UNIX); s.connect("/run/slicekeeper/control.sock")
s.sendall(b'{"cmd": "rm -rf"}\\n'); print(s.recv(4096).decode())
'''])
    lines = [line for line in r.stdout.splitlines() if line]
    assert json.loads(lines[0]) == {'error': 'request is not valid JSON'}
    assert 'unknown cmd' in json.loads(lines[1])['error']
    assert tb.show(daemon.unit, 'ActiveState') == 'active'


def test_a_thousand_groups_apply_and_the_daemon_stays_responsive(daemon, slices, tb):
    """1000 slices: creations must not exceed the bus's pending-reply limit, the sampler's ~8000 open
    cgroup files must not exhaust descriptors, and nothing may spin afterwards."""
    daemon.write_tree({'slices': {f'g{i:04d}': {'cpu_weight': 100 + i} for i in range(1000)}})
    daemon.start()
    status = daemon.wait_status(lambda s: sum(x['active_state'] == 'active' for x in s['slices']) == 1000, 180,
                                what='1000 active slices')
    assert not [x for x in status['slices'] if (x['last_op'] or {}).get('state') == 'failed']
    assert slices.props('g0999.slice', 'CPUWeight')['CPUWeight'] == '1099'
    daemon.wait_status(lambda s: s['sampler']['slices_complete'] == s['sampler']['slices'] == 1001, 30,
                       what="every slice's cgroup files open")
    start = time.monotonic()
    daemon.status()
    assert time.monotonic() - start < 2.0
    cpu = daemon.cpu_seconds()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # five quiet seconds: sampling only, no spinning
        time.sleep(0.5)
    used = daemon.cpu_seconds() - cpu
    print(f'1000 slices: daemon CPU over 5 quiet seconds: {used:.2f} s')
    assert used < 2.0, used
    assert 'pending replies' not in daemon.journal(full=True)
