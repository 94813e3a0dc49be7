# SPDX-License-Identifier: MIT
"""Bursts of tree changes are coalesced with a bounded delay, and a property changed by hand is repaired
at once (issue 10: Done means 3 and the first part of 5). The bound is 200 ms per stage (the source's read,
then the pass); the tests allow for the testbed's and the sanitizer build's slowness on top."""
import json
import threading
import time

import pytest

from conftest import wait_for
from test_zookeeper import NODE, PASSWORD, PREFIX, USER, kz, publish  # noqa: F401 (kz: a fixture)

BOUND = 0.2            # COALESCE_BOUND_USEC
BURST = 5.0            # seconds of writes
# Reading the applied value goes through nsenter + systemctl (~20-60 ms a poll) on a shared 2-core machine.
MARGIN = 0.6
# Passes and reads in a burst: one per bound, plus the first, the echo of our own last change and slack.
MAX_ACTIONS = int(BURST / BOUND) + 5
UNIT = 'burst.slice'


def write_config(daemon, source):
    """UpdateIntervalSec=30 (the default): no periodic pass adds to the counts or repairs drift for us. No
    web server: its port is on the host's loopback, which other testbeds on this machine share."""
    daemon.write_file(daemon.config_path, f'{source}\n[Tasks]\nUpdateIntervalSec=30\n\n[Web]\nListen=\n')


def tree(weight):
    return {'slices': {'burst': {'cpu_weight': weight}}}


def counters(daemon):
    return daemon.status()['counters']


class Burst:
    """Writes tree versions (cpu_weight 101, 102, ...) as fast as `period` for BURST seconds in a thread,
    while the caller polls the applied CPUWeight; remembers when each version was written."""

    def __init__(self, write, period):
        self.write, self.period = write, period
        self.written = {}  # weight -> time.monotonic() of its write
        self.thread = threading.Thread(target=self.run)
        self.error = None

    def run(self):
        try:
            start = time.monotonic()
            weight = 100
            while time.monotonic() - start < BURST:
                weight += 1
                self.write(weight)
                self.written[weight] = time.monotonic()
                time.sleep(self.period)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def observe(self, tb):
        """Polls the applied weight during the burst. Returns [(time, weight)] and the time of the last write."""
        seen = []
        self.thread.start()
        while self.thread.is_alive():
            seen.append((time.monotonic(), int(tb.show(UNIT, 'CPUWeight'))))
        self.thread.join()
        assert self.error is None, self.error
        return seen, max(self.written.values())

    def staleness(self, seen):
        """The longest time an applied weight was out of date: from the write of its successor to the poll
        that still saw it."""
        worst = 0.0
        for when, weight in seen:
            newer = self.written.get(weight + 1)
            if newer is not None and newer < when:
                worst = max(worst, when - newer)
        return worst


def check_burst(daemon, tb, burst, what):
    before = counters(daemon)
    seen, last_write = burst.observe(tb)
    final = max(burst.written)
    wait_for(lambda: tb.show(UNIT, 'CPUWeight') == str(final), 5, interval=0.01, what=f'{what}: the last version')
    converged = time.monotonic() - last_write
    after = counters(daemon)
    passes = after['passes'] - before['passes']
    reads = after['tree_reads'] - before['tree_reads']
    intermediate = {w for _, w in seen if 100 < w < final}
    stale = burst.staleness(seen)
    print(f'{what}: {len(burst.written)} writes, {reads} reads, {after["tree_changes"] - before["tree_changes"]} '
          f'trees applied, {passes} passes, {len(intermediate)} intermediate versions seen applied, '
          f'stalest {stale:.3f} s, last version applied {converged:.3f} s after its write')
    # Converged within the bound (two stages: the read, then the pass) after the writes stopped.
    assert converged < 2 * BOUND + MARGIN, f'{what}: last version applied only {converged:.3f} s after its write'
    # Applied as the writes went on, never more than the bound (plus the poll's own delay) behind.
    assert len(intermediate) >= BURST / BOUND / 4, f'{what}: only {sorted(intermediate)} applied during the burst'
    assert stale < 2 * BOUND + MARGIN, f'{what}: a version stayed applied {stale:.3f} s after a newer one came'
    # A bounded number of reads and passes, not one per write.
    assert len(burst.written) > 3 * MAX_ACTIONS
    assert passes <= MAX_ACTIONS, f'{what}: {passes} passes for {len(burst.written)} writes'
    assert reads <= MAX_ACTIONS, f'{what}: {reads} reads for {len(burst.written)} writes'
    assert after['tree_changes'] - before['tree_changes'] <= reads


def test_file_rewritten_every_5ms_is_applied_within_the_bound(daemon, tb):
    write_config(daemon, f'[Source]\nFile={daemon.tree_path}\n')
    daemon.write_tree(tree(100))
    daemon.start()
    wait_for(lambda: tb.show(UNIT, 'CPUWeight') == '100', 10, what='the first tree')

    def write(weight):
        # In place, as the writer did (truncate, then write): a read may see an empty or partial file
        # in between, which is refused and changes nothing.
        with open(tb.host_path(daemon.tree_path), 'w') as f:
            f.write(json.dumps(tree(weight)))
    check_burst(daemon, tb, Burst(write, 0.005), 'file')
    # A torn read in between left no error behind once the last version was read whole.
    daemon.wait_status(lambda s: s['last_error'] is None, what='no error left')


def test_zookeeper_node_set_every_20ms_is_applied_within_the_bound(daemon, tb, zk, kz):
    publish(kz, tree(100))
    write_config(daemon, f'[ZooKeeper]\nHosts={zk.hosts}\nPrefix={PREFIX}\nAuth=digest:{USER}:{PASSWORD}\n')
    daemon.start()
    wait_for(lambda: tb.show(UNIT, 'CPUWeight') == '100', 10, what='the first tree')

    versions = {}

    def write(weight):
        versions[weight] = kz.set(NODE, json.dumps(tree(weight)).encode()).version
    burst = Burst(write, 0.02)
    check_burst(daemon, tb, burst, 'zookeeper')
    status = daemon.wait_status(lambda s: s['version'] == versions[max(versions)], what='the last node version')
    assert status['source']['state'] == 'watching'


# A property changed by hand --------------------------------------------------------------------------

# Every property: one that systemd would keep differently from how it was set would make each repair's echo
# a repair again, and the passes would not settle.
DRIFT_TREE = {'slices': {'drift': {'cpu_weight': 100, 'cpu_quota': '150%', 'memory_max': '1G', 'memory_high': '768M',
                                   'memory_low': '64M', 'io_weight': 300, 'tasks_max': 500, 'allowed_cpus': '0'}}}
DRIFT = 'drift.slice'


def repair_time(tb, prop, expected):
    """Seconds from the hand change's return until systemd has the tree's value again."""
    start = time.monotonic()
    wait_for(lambda: tb.show(DRIFT, prop) == expected, 5, interval=0.01, what=f'{prop} back at {expected}')
    return time.monotonic() - start


def passes_settle(daemon, before, limit, what):
    """The passes a change caused, once they stopped: watched for 2 s, the last second without a new one (the
    echo of our own repair comes within COALESCE_LAZY_USEC, 0.4 s; a loop would go on)."""
    seen = []
    start = time.monotonic()
    while time.monotonic() - start < 2.0:
        seen.append((time.monotonic() - start, counters(daemon)['passes'] - before))
        assert seen[-1][1] <= limit, f'{what}: {seen[-1][1]} passes so far'
    late = {n for t, n in seen if t >= 1.0}
    assert len(late) == 1, f'{what}: passes still going on: {seen}'
    return seen[-1][1]


@pytest.mark.parametrize('prop, hand, expected, runtime', [
    ('CPUWeight', '333', '100', True),
    ('MemoryMax', '200M', str(1 << 30), True),
    ('TasksMax', '77', '500', False),  # persistent (a drop-in all the same: the unit is transient)
])
def test_property_changed_by_hand_is_repaired_within_a_second(daemon, tb, prop, hand, expected, runtime):
    write_config(daemon, f'[Source]\nFile={daemon.tree_path}\n')
    daemon.write_tree(DRIFT_TREE)
    daemon.start()
    wait_for(lambda: tb.show(DRIFT, 'ActiveState') == 'active', 10, what='the slice')
    assert tb.show(DRIFT, prop) == expected
    before = daemon.wait_status(lambda s: s['counters']['passes'] >= 1 and
                                all(x['last_op'] is None or x['last_op']['state'] == 'done' for x in s['slices']),
                                what='the first pass done')
    # A drop-in written within 0.2 s of our own pass may be that pass's echo, which may wait 0.4 s: a hand
    # change comes later than that.
    wait_for(lambda: time.time() - before['tree_loaded_usec'] / 1e6 > 0.5, 2, what='our own pass to be past')
    before = before['counters']

    tb.systemctl('set-property', *(['--runtime'] if runtime else []), DRIFT, f'{prop}={hand}')
    took = repair_time(tb, prop, expected)
    passes = passes_settle(daemon, before['passes'], 3, f'{prop} by hand')
    after = counters(daemon)
    print(f'{prop}={hand} by hand: back at {expected} after {took:.3f} s, {passes} passes, '
          f'{after["drift_events"] - before["drift_events"]} drift events')
    assert took < 1.0
    assert 1 <= passes <= 3
    assert after['drift_events'] > before['drift_events']  # found by the watch, not by a periodic pass
    assert after['tree_reads'] == before['tree_reads']


def test_hand_changes_to_other_slices_cost_no_pass(daemon, tb):
    write_config(daemon, f'[Source]\nFile={daemon.tree_path}\n')
    daemon.write_tree(DRIFT_TREE)
    daemon.start()
    wait_for(lambda: tb.show(DRIFT, 'ActiveState') == 'active', 10, what='the slice')
    tb.run(['systemd-run', '--unit=other-work', '--slice=other.slice', 'sleep', '300'])
    before = daemon.wait_status(lambda s: s['counters']['passes'] >= 1, what='the first pass')['counters']
    for weight in (50, 60, 70):
        tb.systemctl('set-property', '--runtime', 'other.slice', f'CPUWeight={weight}')
    # A hand change to our slice after them: once it is repaired, the others' events were read too.
    tb.systemctl('set-property', '--runtime', DRIFT, 'CPUWeight=333')
    repair_time(tb, 'CPUWeight', '100')
    passes = passes_settle(daemon, before['passes'], 3, 'hand changes')
    assert tb.show('other.slice', 'CPUWeight') == '70'  # not ours: left as set
    assert 1 <= passes <= 3
    tb.systemctl('stop', 'other-work')


def test_watches_of_slices_gone_from_the_tree_are_removed(daemon, tb):
    """A control directory outlives its unit (systemd removes only a transient unit's own drop-ins): the watch
    of a slice removed from the tree goes all the same, so watches do not pile up."""
    control = '/run/systemd/system.control/drift.slice.d'
    tb.run(['mkdir', '-p', control])
    try:
        write_config(daemon, f'[Source]\nFile={daemon.tree_path}\n')
        daemon.write_tree(DRIFT_TREE)
        daemon.start()
        wait_for(lambda: tb.show(DRIFT, 'ActiveState') == 'active', 10, what='the slice')
        status = daemon.wait_status(lambda s: s['counters']['dropin_watches'] >= 1,
                                    what='the control directory watched')
        assert status['dropin_watch_error'] is None
        daemon.write_tree({'slices': {'keep': {'cpu_weight': 100}}})
        wait_for(lambda: tb.show(DRIFT, 'ActiveState') == 'inactive', 10, what='the slice stopped')
        daemon.wait_status(lambda s: s['counters']['dropin_watches'] == 0, what='its watch removed')
        assert tb.run(['test', '-d', control], check=False).returncode == 0  # the directory outlived the unit
    finally:
        tb.run(['rm', '-rf', control], check=False)
