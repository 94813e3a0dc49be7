# SPDX-License-Identifier: MIT
"""What must hold on every cgroup layout (issue 6): limits reach the kernel, the sampler reads the
layout's own files, pid files attach. Runs twice in CI: under the namespace testbed (hybrid: v1
controllers plus cgroup2 at unified/) and inside tests/vm's guest (pure cgroup v2), where conftest's
`tb` is the guest's own systemd (SLICEKEEPER_TESTBED=local). Each check names the kernel file it
reads for the layout it runs on."""
import os
import time

from conftest import cpu_shares, cpu_weight, wait_for
from test_attach import GROUP, check_forking_daemon_moves_in_one_pass
from test_sample import check_busy_loop_and_record_shape, show_account, start_sampling

MIB = 1024 * 1024

# cgrouparch's README example, plus the controllers we add to its schema (DESIGN.md).
FULL_EXAMPLE = {
    'cpu': {'sub_cgroup': {
        'test_cgroup_a': {'conf': {'share': 1024}},
        'test_cgroup_b': {'conf': {'share': 100},
                          'sub_cgroup': {'test_cgroup_b_sub1': {'conf': {'share': 200}}}}}},
    'blkio': {'sub_cgroup': {
        'test_cgroup_a': {'conf': {'weight': 800}},
        'test_cgroup_b': {'conf': {'weight': 100}}}},
    'memory': {'sub_cgroup': {
        'test_cgroup_a': {'conf': {'max': '512M'}},
        'test_cgroup_b': {'sub_cgroup': {'test_cgroup_b_sub1': {'conf': {'max': 100 * MIB}}}}}},
    'pids': {'sub_cgroup': {
        'test_cgroup_b': {'conf': {'max': 100}}}},
}
A, B, B1 = 'test_cgroup_a.slice', 'test_cgroup_b.slice', 'test_cgroup_b-test_cgroup_b_sub1.slice'

# (v2 file, hybrid controller, hybrid file) for each value the sampler reads. On the hybrid host a
# unit's cgroup2 directory (unified/) has cpu.stat and the pressure files, and the sampler prefers them.
SAMPLED_FILES = {
    'cpu': ('cpu.stat', 'unified', 'cpu.stat'),
    'memory': ('memory.current', 'memory', 'memory.usage_in_bytes'),
    'pids': ('pids.current', 'pids', 'pids.current'),
    'io': ('io.stat', 'blkio', 'blkio.throttle.io_service_bytes'),
    'cpu.pressure': ('cpu.pressure', 'unified', 'cpu.pressure'),
}


def io_weight(blkio_weight):
    """DESIGN.md: IOWeight = clamp(weight*100/500, 1, 10000), rounded to nearest."""
    return max(1, min(10000, (blkio_weight * 100 + 250) // 500))


def kernel_file(tb, slices, what, unit):
    """(controller, path relative to the layout's hierarchy) of a sampled value's file."""
    v2_file, controller, v1_file = SAMPLED_FILES[what]
    base = slices.cgroup_path(unit)
    return ('', f'{base}/{v2_file}') if tb.layout == 'v2' else (controller, f'{base}/{v1_file}')


def read_kernel(tb, slices, what, unit):
    return tb.read_cgroup(*kernel_file(tb, slices, what, unit))


def flat_keyed(text):
    """cpu.stat / *.pressure lines: {"usage_usec": 12, "some": {"avg10": .., "total": ..}}"""
    out = {}
    for line in text.splitlines():
        key, *fields = line.split()
        if fields and '=' in fields[0]:
            out[key] = {k: float(v) for k, v in (f.split('=', 1) for f in fields)}
        elif fields:
            out[key] = int(fields[0])
    return out


def io_read_bytes(tb, text):
    """{"maj:min": bytes read} from io.stat (v2) or blkio.throttle.io_service_bytes (v1)."""
    out = {}
    for line in text.splitlines():
        fields = line.split()
        if tb.layout == 'v2' and fields:
            out[fields[0]] = int(dict(f.split('=', 1) for f in fields[1:]).get('rbytes', 0))
        elif len(fields) == 3 and fields[1] == 'Read':
            out[fields[0]] = int(fields[2])
    return out


def start_full_example(daemon, slices):
    port = start_sampling(daemon, slices, tree=FULL_EXAMPLE)
    wait_for(lambda: slices.props(A, 'MemoryMax')['MemoryMax'] == str(512 * MIB) and
             slices.props(B, 'TasksMax')['TasksMax'] == '100', 10, what='the full example applied')
    return port


# Done means 1 ------------------------------------------------------------------------------------

def test_example_tree_limits_are_in_the_layouts_kernel_files(daemon, slices, tb):
    start_full_example(daemon, slices)
    expect_weight = {A: cpu_weight(1024), B: cpu_weight(100), B1: cpu_weight(200)}
    expect_io = {A: io_weight(800), B: io_weight(100)}
    for unit, weight in expect_weight.items():
        assert slices.props(unit, 'CPUWeight')['CPUWeight'] == str(weight), unit
    for unit, weight in expect_io.items():
        assert slices.props(unit, 'IOWeight')['IOWeight'] == str(weight), unit
    if tb.layout == 'v2':
        for unit, weight in expect_weight.items():
            assert slices.cgroup_read('', unit, 'cpu.weight') == str(weight), unit
        for unit, weight in expect_io.items():
            assert slices.cgroup_read('', unit, 'io.weight') == f'default {weight}', unit
        assert slices.cgroup_read('', A, 'memory.max') == str(512 * MIB)
        assert slices.cgroup_read('', B1, 'memory.max') == str(100 * MIB)
        assert slices.cgroup_read('', B, 'memory.max') == 'max'
        assert slices.cgroup_read('', B, 'pids.max') == '100'
        assert slices.cgroup_read('', A, 'pids.max') == 'max'
    else:
        for unit, weight in expect_weight.items():
            assert slices.cgroup_read('cpu', unit, 'cpu.shares') == str(cpu_shares(weight)), unit
        # v1 blkio weights need a proportional I/O scheduler (BFQ), which this host's disks may not
        # have: then systemd's IOWeight above is all there is to check.
        for name in ('blkio.bfq.weight', 'blkio.weight'):
            if os.path.exists(tb.cgroup_file('blkio', f'{slices.cgroup_path(A)}/{name}')):
                assert slices.cgroup_read('blkio', A, name) != slices.cgroup_read('blkio', B, name)
        assert slices.cgroup_read('memory', A, 'memory.limit_in_bytes') == str(512 * MIB)
        assert slices.cgroup_read('memory', B1, 'memory.limit_in_bytes') == str(100 * MIB)
        assert slices.cgroup_read('pids', B, 'pids.max') == '100'
        assert slices.cgroup_read('pids', A, 'pids.max') == 'max'


# Done means 2 ------------------------------------------------------------------------------------

def test_busy_loop_climbs_and_show_account_has_the_same_shape(daemon, slices, tb):
    port = start_sampling(daemon, slices)
    check_busy_loop_and_record_shape(tb, port)


def test_sampled_values_are_the_layouts_kernel_files(daemon, slices, tb):
    port = start_full_example(daemon, slices)
    tb.run(['systemd-run', '--unit=idle', f'--slice={A}', 'sleep', '600'])
    # I/O that reaches the disk: direct reads of a file on the root file system.
    big = os.path.realpath('/usr/bin/python3')
    tb.run(['systemd-run', '--wait', '--unit=reader', f'--slice={A}', 'dd', f'if={big}', 'of=/dev/null',
            'bs=1M', 'iflag=direct'], timeout=120)
    size = os.path.getsize(big)
    after_io = int(time.time())

    def record():
        answer = show_account(port, nr_slot=3)
        slot = max((int(s) for s in answer), default=0)
        return answer[str(slot)] if slot > after_io else None
    rec = wait_for(record, 10, what='a record taken after the reads')
    sub = {kind: rec[kind]['sub_cgroup'][GROUP]['value'] for kind in ('cpu', 'memory', 'pids', 'blkio', 'pressure')}

    # pids: one sleep; the record and pids.current agree exactly.
    assert sub['pids']['current'] == int(read_kernel(tb, slices, 'pids', A)) == 1, sub['pids']
    # cpu: nanoseconds in the record, usage_usec in cpu.stat (both hybrid and v2 read cgroup2's);
    # the counter only grows, so the record taken earlier can be at most the file read now.
    usage_usec = flat_keyed(read_kernel(tb, slices, 'cpu', A))['usage_usec']
    assert 0 < sub['cpu']['usage'] <= usage_usec * 1000, (sub['cpu'], usage_usec)
    # memory: the record's bytes and the file's are of the same order (it moves between reads).
    current = int(read_kernel(tb, slices, 'memory', A))
    assert sub['memory']['usage'] > 0 and 0.25 * current <= sub['memory']['usage'] <= 4 * current, \
        (sub['memory'], current)
    # io: the direct reads are in the record, per device, and in the kernel's file for that device.
    kernel_io = io_read_bytes(tb, read_kernel(tb, slices, 'io', A))
    read_devices = {dev: v['Read'] for dev, v in sub['blkio'].items() if v.get('Read', 0) >= size // 2}
    assert read_devices, (sub['blkio'], size)
    for dev, value in read_devices.items():
        assert value <= kernel_io.get(dev, -1), (dev, value, kernel_io)
    # pressure: totals from cpu/memory/io.pressure; cpu's "some" total is the file's, not later than it.
    # The batched reads (io_uring where the kernel offers it) run in the daemon's own thread: no
    # kernel I/O workers join its process (they would also count in its slice's pids).
    status = daemon.status()['sampler']
    assert status['reads'] in ('io_uring', 'pread'), status
    host_pid = daemon.host_pid()
    assert os.listdir(f'/proc/{host_pid}/task') == [str(host_pid)], os.listdir(f'/proc/{host_pid}/task')
    pressure = sub['pressure']
    assert set(pressure) == {'cpu', 'memory', 'io'}, pressure
    cpu_pressure = flat_keyed(read_kernel(tb, slices, 'cpu.pressure', A))
    assert 0 <= pressure['cpu']['some'] <= cpu_pressure['some']['total'], (pressure, cpu_pressure)


# Done means 3 ------------------------------------------------------------------------------------

def test_pid_file_moves_a_forking_daemon_into_the_groups_scope(daemon, slices, tb):
    check_forking_daemon_moves_in_one_pass(daemon, tb)
