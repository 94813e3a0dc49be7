# SPDX-License-Identifier: MIT
"""Bad input changes nothing (issue 10): every tree systemd 252 or the daemon cannot take is refused with
its JSON path, and the last good tree stays applied — each slice the same unit (InvocationID), with the
same properties, the tree version unchanged. And the largest legal names really work."""

import pytest

from conftest import REPO, Daemon, Slices, tbmod, wait_for

GOOD = {'slices': {'web': {'cpu_weight': 200, 'memory_max': '512M', 'children': {'api': {'tasks_max': 100}}},
                   'db': {'io_weight': 300, 'memory_high': '1G'}}}
UNITS = ['web.slice', 'web-api.slice', 'db.slice']
PROPS = ('ActiveState', 'InvocationID', 'ActiveEnterTimestampMonotonic', 'CPUWeight', 'IOWeight', 'MemoryMax',
         'MemoryHigh', 'TasksMax')


def deep_long(first, last):
    """16 levels: `first`, 14 levels "x", `last`: unit names within 255 bytes, but a long scope cgroup path."""
    node = {last: {}}
    for _ in range(14):
        node = {'x': {'children': node}}
    return {'slices': {first: {'children': node}}}


def long_path(total, component=255):
    parts, length = [], 0
    while length < total:
        n = min(component, total - length - 1)
        parts.append('x' * n)
        length += n + 1
    return '/' + '/'.join(parts)


# The web server is off: several testbeds share the host's loopback, and this file needs no port.
NO_WEB = '[Web]\nListen=\n'

# Each: a tree that passed validation before issue 10 (or is of the same class), and what the error says.
# None of them holds the good tree's groups, so a tree taken by mistake would stop every good slice.
BAD = [
    ('memory_max 0', {'slices': {'x': {'memory_max': 0}}},
     '$.slices.x.memory_max: out of range: must be a byte count of at least 1'),
    ('memory_max "0"', {'slices': {'x': {'memory_max': '0'}}}, '$.slices.x.memory_max: out of range'),
    ('memory_max -0', '{"slices": {"x": {"memory_max": -0}}}', '$.slices.x.memory_max: out of range'),
    ('memory_high "0K"', {'slices': {'x': {'memory_high': '0K'}}}, '$.slices.x.memory_high: out of range'),
    ('cgrouparch memory.max 0', {'memory': {'sub_cgroup': {'x': {'conf': {'max': 0}}}}},
     '$.memory.sub_cgroup.x.conf.max: out of range'),
    ('cgrouparch memory.high "0"', {'memory': {'sub_cgroup': {'x': {'conf': {'high': '0'}}}}},
     '$.memory.sub_cgroup.x.conf.high: out of range'),
    ('noncharacter U+FFFF', {'slices': {'\uffff': {}}},
     '$.slices["\\uFFFF"]: group name must not contain U+FFFF (a Unicode noncharacter)'),
    ('noncharacter U+FDD0', {'slices': {'x\ufdd0': {}}}, '$.slices["x\\uFDD0"]: group name must not contain U+FDD0'),
    ('noncharacter U+10FFFF', {'slices': {'a': {'children': {'\U0010ffff': {}}}}},
     '$.slices.a.children["\\uDBFF\\uDFFF"]: group name must not contain U+10FFFF'),
    ('cgrouparch noncharacter', {'cpu': {'sub_cgroup': {'\ufffe': {'conf': {'share': 100}}}}},
     '$.cpu.sub_cgroup["\\uFFFE"]: group name must not contain U+FFFE'),
    ('unit name 256 bytes', {'slices': {'-' * 62 + 'ab': {}}},
     '"]: the unit name of this group would be 256 bytes, longer than systemd\'s limit of 255'),
    ('nested unit name 256 bytes', {'cpu': {'sub_cgroup': {'a': {'sub_cgroup': {'-' * 62: {}}}}}},
     '$.cpu.sub_cgroup.a.sub_cgroup["---'),
    ('scope cgroup path 3841 bytes', deep_long('-' * 46 + 'a' * 18, 'b' * 10),
     '.children.x.children.bbbbbbbbbb: the cgroup path of this group\'s scope would be 3841 bytes'),
    ('pid file 4096 bytes', {'slices': {'x': {'pid_files': ['/run/x.pid', long_path(4096)]}}},
     '$.slices.x.pid_files[1]: is 4096 bytes, longer than 4095'),
    ('pid file component 256 bytes', {'slices': {'x': {'pid_files': ['/run/' + 'p' * 256]}}},
     '$.slices.x.pid_files[0]: has a component of 256 bytes'),
    ('pid files into init.scope', {'slices': {'init': {'pid_files': ['/run/x.pid']}}},
     '$.slices.init.pid_files: this group\'s processes would go to init.scope'),
]


class Applied:
    """The good tree, applied, and what its slices looked like then."""

    def __init__(self, tb):
        self.tb, self.daemon, self.slices = tb, Daemon(tb), Slices(tb)
        self.version = 0

    def apply_good(self):
        self.daemon.write_tree(GOOD)
        self.version = self.daemon.wait_status(
            lambda s: s['version'] is not None and s['version'] > self.version and len(s['slices']) == 3 and
            all(x['last_op'] and x['active_state'] == 'active' for x in s['slices']))['version']
        self.before = {u: self.slices.props(u, *PROPS) for u in UNITS}
        assert all(p['ActiveState'] == 'active' and p['InvocationID'] for p in self.before.values()), self.before
        assert self.before['web.slice']['CPUWeight'] == '200'
        assert self.before['web-api.slice']['TasksMax'] == '100'
        self.records = self.daemon.owned_records()
        assert self.records == sorted(UNITS)


@pytest.fixture(scope='module')
def bed():
    """One testbed for the whole table (each case costs a rejection, not a boot)."""
    try:
        tb = tbmod.Testbed(binds=[REPO])
        tb.start()
    except tbmod.TestbedUnavailable as e:
        pytest.fail(f'testbed unavailable: {e}')
    try:
        state = Applied(tb)
        state.daemon.write_config(NO_WEB)
        state.daemon.write_tree(GOOD)
        state.daemon.start()
        state.apply_good()
        yield state
        if tb.show(state.daemon.unit, 'ActiveState') == 'active':
            state.daemon.stop_cleanly()
    finally:
        tb.stop()


@pytest.fixture
def applied(bed):
    yield bed
    # A bad tree taken by mistake must not fail the cases after it: the good tree is put back.
    if bed.daemon.status()['version'] != bed.version:
        bed.apply_good()


@pytest.mark.parametrize('name,tree,expected', BAD, ids=[b[0] for b in BAD])
def test_bad_tree_is_refused_and_changes_nothing(applied, name, tree, expected):
    tb, daemon, slices = applied.tb, applied.daemon, applied.slices
    daemon.write_tree(tree)
    status = daemon.wait_status(lambda s: s['last_error'] is not None and expected in s['last_error']['message'],
                                10, what=f'the rejection of {name}')
    assert status['version'] == applied.version and status['schema'] == 'native', status
    assert sorted(s['unit'] for s in status['slices']) == sorted(UNITS), status['slices']
    for unit in UNITS:
        assert tb.show(unit, 'InvocationID') == applied.before[unit]['InvocationID'], unit
    assert {u: slices.props(u, *PROPS) for u in UNITS} == applied.before
    assert daemon.owned_records() == applied.records


# Top-level names and their unit names ('-' escapes to 4 bytes): 252 and 255 bytes, systemd's largest. Under
# Root=sk the 252-byte one becomes "sk-" + 252 = 255 bytes, the largest there.
N252, U252 = '-' * 61 + 'aa', '\\x2d' * 61 + 'aa.slice'
N255, U255 = '-' * 62 + 'a', '\\x2d' * 62 + 'a.slice'


def test_the_longest_unit_names_are_created_recorded_and_stopped(daemon, slices, tb):
    """Unit names of 252..255 bytes are legal: the slice is made, its ownership record written (its name is
    255 bytes, NAME_MAX: the temporary file must not be longer), processes go into its 255-byte scope, and
    removing the group stops the slice and drops the record."""
    assert (len(U252), len(U255)) == (252, 255)
    scope = U255[:-len('.slice')] + '.scope'
    daemon.write_config(NO_WEB)
    tb.run(['mkdir', '-p', '/run/app'])
    tb.run(['systemd-run', '--unit=longname-app', 'sleep', '300'])
    pid = int(tb.show('longname-app.service', 'MainPID'))
    daemon.write_file('/run/app/app.pid', f'{pid}\n')
    daemon.write_tree({'slices': {'keep': {'cpu_weight': 50},
                                  N252: {'memory_max': 1},  # systemd's smallest MemoryMax
                                  N255: {'cpu_weight': 10000, 'pid_files': ['/run/app/app.pid']}}})
    daemon.start()
    status = daemon.wait_status(lambda s: s['version'] == 1 and len(s['slices']) == 3 and
                                all(x['last_op'] for x in s['slices']) and s['last_error'] is None)
    assert {s['unit'] for s in status['slices']} == {'keep.slice', U252, U255}
    assert slices.active(U252) and slices.active(U255)
    assert slices.props(U252, 'MemoryMax')['MemoryMax'] == '1'
    assert slices.props(U255, 'CPUWeight')['CPUWeight'] == '10000'
    records = sorted(['keep.slice', U252, U255])
    assert daemon.owned_records() == records
    assert tb.run(['cat', f'/run/slicekeeper/units/{U255}']).stdout == N255 + '\n'
    # Nothing but the records: no temporary file is left behind.
    assert sorted(tb.run(['ls', '-A', '/run/slicekeeper/units']).stdout.split()) == records
    # The pid file's process goes into the group's 255-byte scope.
    wait_for(lambda: tb.show(scope, 'ActiveState') == 'active', 10, what=f'the 255-byte scope {scope}')
    assert tb.show(scope, 'Slice') == U255
    assert f'/{scope}\n' in tb.run(['cat', f'/proc/{pid}/cgroup']).stdout
    # The group goes: once its process has ended (a slice that holds processes is kept), both long slices
    # are stopped and their records removed.
    tb.run(['kill', str(pid)])
    wait_for(lambda: tb.show(scope, 'ActiveState') != 'active', 10, what='the scope to end')
    daemon.write_tree({'slices': {'keep': {'cpu_weight': 50}}})
    daemon.wait_status(lambda s: s['version'] == 2 and s['last_error'] is None)
    wait_for(lambda: not slices.active(U255) and not slices.active(U252), 15, what='the long slices stopped')
    wait_for(lambda: daemon.owned_records() == ['keep.slice'], 5, what='the long records removed')
    assert slices.active('keep.slice')


def test_under_a_root_the_limit_counts_the_root(daemon, slices, tb):
    """With [Slices] Root=sk the unit names are "sk-NAME.slice": a name legal without a root is refused with
    its path, before anything changes, and the largest name under the root is created."""
    daemon.write_config('[Slices]\nRoot=sk\n' + NO_WEB)
    rooted = 'sk-' + U252
    assert len(rooted) == 255
    daemon.write_tree({'slices': {'keep': {'cpu_weight': 50}, N252: {}}})
    daemon.start()
    daemon.wait_status(lambda s: s['version'] == 1 and len(s['slices']) == 2 and
                       all(x['last_op'] for x in s['slices']))
    assert slices.active(rooted) and slices.active('sk-keep.slice')
    ids = {u: tb.show(u, 'InvocationID') for u in ('sk-keep.slice', rooted)}
    # N255 is legal alone (255 bytes) but 258 with "sk-".
    daemon.write_tree({'slices': {'keep': {'cpu_weight': 50}, N255: {}}})
    status = daemon.wait_status(
        lambda s: s['last_error'] and 'would be 258 bytes with [Slices] Root=sk' in s['last_error']['message'])
    assert status['last_error']['message'].startswith('$.slices["---')
    assert status['version'] == 1
    assert {u: tb.show(u, 'InvocationID') for u in ids} == ids
    assert daemon.owned_records() == sorted(ids)


def test_the_ends_of_every_range_are_taken_by_systemd(daemon, slices, tb):
    """The accepted ranges are systemd 252's: the smallest and largest value of each property is applied
    without an error and reads back from systemd as given."""
    daemon.write_config(NO_WEB)
    big = 2 ** 63 - 1
    daemon.write_tree({'slices': {
        'lo': {'cpu_weight': 1, 'io_weight': 1, 'cpu_quota': '1%', 'memory_max': 1, 'memory_high': '1',
               'memory_low': 0, 'tasks_max': 1, 'allowed_cpus': '0'},
        'hi': {'cpu_weight': 10000, 'io_weight': 10000, 'cpu_quota': '819200%', 'memory_max': big,
               'memory_high': '15E', 'memory_low': 'infinity', 'tasks_max': big, 'allowed_cpus': '8191'}}})
    daemon.start()
    status = daemon.wait_status(lambda s: s['version'] == 1 and len(s['slices']) == 2 and
                                all(x['last_op'] and x['last_op']['state'] == 'done' for x in s['slices']))
    assert all(x['last_op']['error'] is None and x['active_state'] == 'active' for x in status['slices']), status
    names = ('CPUWeight', 'IOWeight', 'CPUQuotaPerSecUSec', 'MemoryMax', 'MemoryHigh', 'MemoryLow', 'TasksMax',
             'AllowedCPUs')
    assert slices.props('lo.slice', *names) == {
        'CPUWeight': '1', 'IOWeight': '1', 'CPUQuotaPerSecUSec': '10ms', 'MemoryMax': '1', 'MemoryHigh': '1',
        'MemoryLow': '0', 'TasksMax': '1', 'AllowedCPUs': '0'}
    assert slices.props('hi.slice', *names) == {
        'CPUWeight': '10000', 'IOWeight': '10000', 'CPUQuotaPerSecUSec': '2h 16min 32s', 'MemoryMax': str(big),
        'MemoryHigh': str(15 << 60), 'MemoryLow': 'infinity', 'TasksMax': str(big), 'AllowedCPUs': '8191'}
