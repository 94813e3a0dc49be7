# SPDX-License-Identifier: MIT
"""What must hold on every cgroup layout (issue 6): limits reach the kernel, the sampler reads the
layout's own files, pid files attach. Runs twice in CI: under the namespace testbed (hybrid: v1
controllers plus cgroup2 at unified/) and inside tests/vm's guest (pure cgroup v2), where conftest's
`tb` is the guest's own systemd (SLICEKEEPER_TESTBED=local). Each check names the kernel file it
reads for the layout it runs on."""
import os
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from conftest import DAEMON, WORK, cpu_shares, cpu_weight, wait_for
from loopdev import LOOP_MAJOR, LoopDevice
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
GROUP_B = 'test_cgroup_b'

# (v2 file, hybrid controller, hybrid file) for each value the sampler reads. On the hybrid host a
# unit's cgroup2 directory (unified/) has cpu.stat and the pressure files, and the sampler prefers them.
SAMPLED_FILES = {
    'cpu': ('cpu.stat', 'unified', 'cpu.stat'),
    'memory': ('memory.current', 'memory', 'memory.usage_in_bytes'),
    'pids': ('pids.current', 'pids', 'pids.current'),
    'io': ('io.stat', 'blkio', 'blkio.throttle.io_service_bytes_recursive'),
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


def read_through(tb, unit, device, rule=False):
    """Starts `unit` in B's slice to read all of `device` with O_DIRECT, and returns once the reads are
    done. The reader stays (sleeping): on v1 a cgroup's throttle counts go when it goes. With rule, the
    unit has a read rule on the device (far above what it reads), which on v1 switches the device's
    statistics on; the rule goes with the unit."""
    done = f'{WORK}/{unit}.done'
    props = ['-p', f'IOReadBandwidthMax={device} 10G'] if rule else []
    tb.run(['systemd-run', f'--unit={unit}', f'--slice={B}', *props, 'sh', '-c',
            f'dd if={device} of=/dev/null bs=1M iflag=direct status=none && touch {done} && exec sleep 600'])
    wait_for(lambda: os.path.exists(tb.host_path(done)) or tb.show(f'{unit}.service', 'ActiveState') == 'failed',
             60, what=f'{unit} reading {device}')
    assert os.path.exists(tb.host_path(done)), tb.run(['journalctl', '-u', unit, '--no-pager'], check=False).stdout


def io_record(port, dev, size):
    """The newest record in which B's I/O on dev has reached size bytes read, else None."""
    answer = show_account(port, nr_slot=3)
    slot = max((int(s) for s in answer), default=0)
    rec = answer.get(str(slot))
    if rec and rec['blkio']['sub_cgroup'][GROUP_B]['value'].get(dev, {}).get('Read', 0) >= size:
        return rec
    return None


def io_devices(status, key):
    return {d['device']: d for d in status['sampler']['io_devices'][key]}


def device_counted_metric(port):
    text = urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=10).read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == 'slicekeeper_io_device_counted':
                out[sample.labels['device']] = (sample.labels['name'], sample.value)
    return out


def check_io_is_the_kernel_files(tb, slices, port, rec, devices, size):
    """Each device's reads are in the record and in the kernel's file for B, the same number."""
    kernel_io = io_read_bytes(tb, read_kernel(tb, slices, 'io', B))
    sub = rec['blkio']['sub_cgroup'][GROUP_B]['value']
    read_devices = {dev for dev, v in sub.items() if v.get('Read', 0) >= size}
    assert read_devices == set(devices), (sub, devices)
    for dev in devices:
        assert sub[dev]['Read'] <= kernel_io.get(dev, -1), (dev, sub, kernel_io)


def throttle_rules(tb):
    """Every blkio.throttle.*_device file in the testbed that holds a rule, with its contents; and how many
    such files there are (rules or not)."""
    files = [os.path.join(d, f) for d, _, names in os.walk(tb.cgroup_file('blkio'))
             for f in names if f.startswith('blkio.throttle.') and f.endswith('_device')]
    rules = {}
    for path in files:
        try:
            with open(path) as f:
                text = f.read().strip()
        except FileNotFoundError:  # a unit's cgroup went away during the walk
            continue
        if text:
            rules[path] = text
    return rules, len(files)


def check_v1_io_counted_and_not_counted(daemon, tb, slices, port):
    """Done means 1 of issue 10: on a machine where no throttle rule was ever set, the record counts a
    loop device of the test's own that has a rule, and status, /metrics, `slicekeeper status` and the
    journal (once) say that another one, without a rule, is not counted."""
    rules_before, _ = throttle_rules(tb)
    with LoopDevice() as ruled, LoopDevice() as plain:
        try:
            for dev in (ruled, plain):  # the testbed's /dev is a tmpfs of its own
                tb.run(['mknod', dev.path, 'b', str(LOOP_MAJOR), str(dev.index)])
            read_through(tb, 'reader', ruled.path, rule=True)
            read_through(tb, 'reader-plain', plain.path)
            rec = wait_for(lambda: io_record(port, ruled.devnum, ruled.size), 10,
                           what=f'a record with the reads of {ruled.devnum}')
            # The one device with reads in the record is the test's own, with exactly what it read.
            check_io_is_the_kernel_files(tb, slices, port, rec, [ruled.devnum], ruled.size)
            assert rec['blkio']['sub_cgroup'][GROUP_B]['value'][ruled.devnum]['Read'] == ruled.size
            assert plain.devnum not in rec['blkio']['sub_cgroup'][GROUP_B]['value'], rec['blkio']
            # Status: the rescan compares /proc/diskstats with the blkio root.
            status = daemon.wait_status(lambda s: plain.devnum in io_devices(s, 'not_counted') and
                                        ruled.devnum in io_devices(s, 'counted'), 25,
                                        what='status: one loop device counted, the other not')
            io = status['sampler']['io_devices']
            assert io['counted_by'] == 'blkio.throttle.io_service_bytes_recursive', io
            not_counted = io_devices(status, 'not_counted')[plain.devnum]
            assert not_counted['name'] == f'loop{plain.index}' and 'throttle rule' in not_counted['reason'], io
            metric = device_counted_metric(port)
            assert metric[ruled.devnum] == (f'loop{ruled.index}', 1.0), metric
            assert metric[plain.devnum] == (f'loop{plain.index}', 0.0), metric
            text = daemon.ctl('status').stdout
            line = next(line for line in text.splitlines() if line.startswith('IO:'))
            assert f'{ruled.devnum} (loop{ruled.index})' in line.split('NOT counted')[0], line
            assert f'{plain.devnum} (loop{plain.index})' in line.split('NOT counted')[1], line
            # The journal says it once, not at every check: two more checks, still one line.
            checks = status['sampler']['io_checks']
            later = daemon.wait_status(lambda s: s['sampler']['io_checks'] >= checks + 2, 25,
                                       what='two more checks')
            # Whether a device is a partition is looked up once per device, not at every check: only
            # devices new since (another process's, on this shared host) are looked up again.
            seen = lambda s: set(io_devices(s, 'counted')) | set(io_devices(s, 'not_counted'))
            new = seen(later) - seen(status)
            lookups = later['sampler']['io_partition_lookups'] - status['sampler']['io_partition_lookups']
            assert lookups <= len(new), (lookups, new, later['sampler'])
            journal = daemon.journal(full=True)
            said = [line for line in journal.splitlines()
                    if f'{plain.devnum} (loop{plain.index}) is not counted' in line]
            assert len(said) == 1, journal
        finally:
            tb.systemctl('stop', 'reader.service', 'reader-plain.service', check=False)
            tb.run(['rm', '-f', ruled.path, plain.path], check=False)
    # The rule went with its unit: the testbed's throttle rules are the ones it had before the test.
    rules_after, n_files = throttle_rules(tb)
    assert n_files > 0
    assert rules_after == rules_before, (rules_before, rules_after)


def check_v2_io_counted(daemon, tb, slices, port):
    """Pure v2: io.stat counts every device, no rule needed. Direct reads of a file on the root file
    system are in the record and the kernel's io.stat, and nothing is reported as not counted."""
    big = os.path.realpath('/usr/bin/python3')
    size = os.path.getsize(big)
    try:
        read_through(tb, 'reader', big)
        rec = wait_for(lambda: next(filter(None, (io_record(port, dev, size // 2) for dev in
                                                  io_read_bytes(tb, read_kernel(tb, slices, 'io', B)))), None),
                       10, what='a record with the reads')
        sub = rec['blkio']['sub_cgroup'][GROUP_B]['value']
        devices = [dev for dev, v in sub.items() if v.get('Read', 0) >= size // 2]
        check_io_is_the_kernel_files(tb, slices, port, rec, devices, size // 2)
        status = daemon.wait_status(lambda s: set(devices) <= set(io_devices(s, 'counted')), 25,
                                    what='status: the device read counted')
        assert status['sampler']['io_devices']['counted_by'] == 'io.stat'
        assert status['sampler']['io_devices']['not_counted'] == [], status['sampler']['io_devices']
        metric = device_counted_metric(port)
        assert all(metric[dev][1] == 1.0 for dev in devices) and all(v == 1.0 for _, v in metric.values()), metric
    finally:
        tb.systemctl('stop', 'reader.service', check=False)


def test_sampled_values_are_the_layouts_kernel_files(daemon, slices, tb):
    port = start_full_example(daemon, slices)
    tb.run(['systemd-run', '--unit=idle', f'--slice={A}', 'sleep', '600'])
    if tb.layout == 'v2':
        check_v2_io_counted(daemon, tb, slices, port)
    else:
        check_v1_io_counted_and_not_counted(daemon, tb, slices, port)
    rec = show_account(port, nr_slot=1)
    rec = rec[max(rec, key=int)]
    sub = {kind: rec[kind]['sub_cgroup'][GROUP]['value'] for kind in ('cpu', 'memory', 'pids', 'pressure')}

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


# Issue 13: what the layout does not enforce ------------------------------------------------------

# cgrouparch's schema with a cpuset group; MemoryHigh is the other property systemd 252 drops on v1.
CPUSET_TREE = {
    'cpu': {'sub_cgroup': {'test_cgroup_a': {'conf': {'share': 1024}},
                           'test_cgroup_c': {'conf': {'share': 512}}}},
    'cpuset': {'sub_cgroup': {'test_cgroup_c': {'conf': {'cpus': '0'}}}},
    'memory': {'sub_cgroup': {'test_cgroup_c': {'conf': {'high': '1G', 'max': '2G'}}}},
}
C = 'test_cgroup_c.slice'
CPUSET_TEXT = 'not enforced on this host (cgroup v1 cpuset)'


def probe_cpus(tb, unit):
    """Cpus_allowed_list of a process started in `unit`: where the kernel lets it run."""
    tb.run(['systemd-run', '--unit=cpuset-probe', f'--slice={unit}', 'sleep', '600'])
    pid = wait_for(lambda: int(tb.show('cpuset-probe.service', 'MainPID')), 10, what='the probe running')
    status = tb.run(['cat', f'/proc/{pid}/status']).stdout
    return next(line.split()[1] for line in status.splitlines() if line.startswith('Cpus_allowed_list:'))


def test_properties_the_layout_does_not_enforce_are_shown(daemon, slices, tb):
    daemon.write_tree(CPUSET_TREE)
    daemon.start()
    wait_for(lambda: slices.active(C) and slices.props(C, 'AllowedCPUs')['AllowedCPUs'] == '0', 10,
             what='the cpuset group applied')
    # systemd took and reads back AllowedCPUs either way: nothing is pending in the plan's items.
    status = daemon.wait_status(lambda s: s['counters']['passes'] >= 1 and
                                any(x['unit'] == C for x in s['slices']), what='the first pass in status')
    plan = daemon.plan()
    assert plan['items'] == [], plan
    by_unit = {x['unit']: x for x in status['slices']}
    text_plan = daemon.ctl('plan').stdout
    text_status = daemon.ctl('status').stdout
    # A dry run (slices in place: nothing to do) prints the same after its plan.
    dry = tb.run([DAEMON, f'--tree-file={daemon.tree_path}', '--dry-run', f'--runtime-dir={WORK}/dry']).stdout
    try:
        cpus = probe_cpus(tb, C)
    finally:
        tb.systemctl('stop', 'cpuset-probe.service', check=False)
    if tb.layout == 'v2':
        # Enforced: the slice's cgroup has the CPU set, its process runs there, and nothing is reported.
        assert slices.cgroup_read('', C, 'cpuset.cpus') == '0'
        assert slices.cgroup_read('', C, 'cpuset.cpus.effective') == '0'
        assert slices.cgroup_read('', C, 'memory.high') == str(1024 * MIB)
        assert cpus == '0', cpus
        assert status['not_enforced'] == 0, status['slices']
        assert all(x['not_enforced'] == [] for x in status['slices']), status['slices']
        assert plan['not_enforced'] == [], plan
        assert 'No pending changes: systemd matches the tree.' in text_plan, text_plan
        assert 'not enforced' not in text_plan + text_status + dry
        assert 'not enforced on this host' not in daemon.journal(full=True)
        return
    # Hybrid: systemd 252 writes no v1 cpuset (the slice has no directory there) and no memory.high;
    # the process may run on every CPU of the testbed.
    assert not os.path.exists(tb.cgroup_file('cpuset', slices.cgroup_path(C)))
    assert slices.cgroup_read('memory', C, 'memory.limit_in_bytes') == str(2048 * MIB)  # enforced
    if (os.cpu_count() or 1) > 1:
        assert cpus != '0', cpus
    expected = [{'property': 'MemoryHigh', 'key': 'memory_high', 'value': str(1024 * MIB),
                 'reason': 'not enforced on this host (cgroup v1 memory)'},
                {'property': 'AllowedCPUs', 'key': 'allowed_cpus', 'value': '0', 'reason': CPUSET_TEXT}]
    assert by_unit[C]['not_enforced'] == expected, by_unit[C]
    assert by_unit['test_cgroup_a.slice']['not_enforced'] == [], by_unit
    assert status['not_enforced'] == 2, status
    assert plan['not_enforced'] == [dict(x, unit=C, group='test_cgroup_c') for x in expected], plan
    # The text plan does not read as "all applied": it lists them, as not enforced (not as pending).
    assert 'this host does not enforce' in text_plan, text_plan
    assert f'AllowedCPUs=0: {CPUSET_TEXT}' in text_plan, text_plan
    assert f'[AllowedCPUs=0 {CPUSET_TEXT}]' in text_status, text_status
    assert dry.startswith('Nothing to do: systemd matches the tree; but this host does not enforce:\n'), dry
    assert f'{C} AllowedCPUs=0: {CPUSET_TEXT}' in ' '.join(dry.split()), dry
    # The journal says it once per group and property: two more passes (SIGHUP re-checks), still one line.
    passes = status['counters']['passes']
    for n in (1, 2):
        tb.systemctl('kill', '-s', 'HUP', daemon.unit)
        daemon.wait_status(lambda s: s['counters']['passes'] >= passes + n, what=f'pass {n} after SIGHUP')
    journal = daemon.journal(full=True)
    said = [line for line in journal.splitlines() if f'AllowedCPUs=0 {CPUSET_TEXT}' in line]
    assert len(said) == 1, journal
    assert said[0].startswith('Group test_cgroup_c (test_cgroup_c.slice): '), said
    assert sum('MemoryHigh=' in line and 'not enforced on this host' in line
               for line in journal.splitlines()) == 1, journal
