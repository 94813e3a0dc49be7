# SPDX-License-Identifier: MIT
"""The tree comes from ZooKeeper, live (issue 3): a real ZooKeeper server on loopback, the testbed's systemd."""
import copy
import json
import time

import pytest
from kazoo.client import KazooClient
from kazoo.security import make_digest_acl

from conftest import EXAMPLE_TREE, EXAMPLE_UNITS, cpu_weight, wait_for

A, B, B1 = EXAMPLE_UNITS
PREFIX = '/cluster_a/service_rank'
NODE = PREFIX + '/arch_conf'
USER, PASSWORD = 'slicekeeper', 's3cret'


@pytest.fixture
def kz(zk):
    client = KazooClient(hosts=zk.hosts, auth_data=[('digest', f'{USER}:{PASSWORD}')], timeout=10)
    client.start(timeout=15)
    try:
        yield client
    finally:
        client.stop()
        client.close()


def publish(kz, tree):
    """Writes the tree, creating the node under an ACL that admits only our digest identity."""
    data = tree if isinstance(tree, bytes) else (tree.encode() if isinstance(tree, str) else json.dumps(tree).encode())
    if kz.exists(NODE):
        return kz.set(NODE, data).version
    acl = [make_digest_acl(USER, PASSWORD, all=True)]
    kz.ensure_path(PREFIX)
    kz.create(NODE, data, acl=acl)
    return kz.exists(NODE).version


def start_zk_daemon(daemon, zk, slices, auth=f'{USER}:{PASSWORD}'):
    daemon.write_zk_config(zk, PREFIX, auth)
    daemon.start()


def weights(tb, units):
    out = tb.run(['systemctl', 'show', '-p', 'CPUWeight', *units]).stdout
    return [line.split('=', 1)[1] for line in out.splitlines() if line.startswith('CPUWeight=')]


def with_share(tree, share_b):
    t = copy.deepcopy(tree)
    t['cpu']['sub_cgroup']['test_cgroup_b']['conf']['share'] = share_b
    return t


# Done means 1 ------------------------------------------------------------------------------------

def test_digest_acl_tree_applied_with_right_password(daemon, slices, zk, kz):
    version = publish(kz, EXAMPLE_TREE)
    # The ACL really shuts out other identities.
    anonymous = KazooClient(hosts=zk.hosts)
    anonymous.start(timeout=15)
    try:
        from kazoo.exceptions import NoAuthError
        with pytest.raises(NoAuthError):
            anonymous.get(NODE)
    finally:
        anonymous.stop()
        anonymous.close()
    start_zk_daemon(daemon, zk, slices)
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the slices from ZooKeeper')
    assert [slices.props(u, 'CPUWeight')['CPUWeight'] for u in EXAMPLE_UNITS] == ['100', '10', '20']
    status = daemon.wait_status(lambda s: s['version'] == version and s['source']['state'] == 'watching')
    assert status['source']['type'] == 'zookeeper' and status['source']['node'] == NODE
    assert status['source']['connected'] is True and status['last_error'] is None
    human = daemon.ctl('status').stdout
    assert f'node {NODE}, watching' in human


def test_wrong_password_changes_nothing_and_says_why(daemon, slices, zk, kz):
    publish(kz, EXAMPLE_TREE)
    start_zk_daemon(daemon, zk, slices)
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the slices')
    daemon.stop_cleanly()
    before = slices.snapshot(EXAMPLE_UNITS)
    publish(kz, with_share(EXAMPLE_TREE, 4000))
    start_zk_daemon(daemon, zk, slices, auth=f'{USER}:wrong')
    status = daemon.wait_status(lambda s: s['last_error'] is not None, 10, what='the refusal in status')
    assert 'not allowed to read ' + NODE in status['last_error']['message']
    assert 'check [ZooKeeper] Auth=' in status['last_error']['message']
    # It keeps retrying (with backoff) and keeps changing nothing.
    wait_for(lambda: daemon.journal(full=True).count('ZooKeeper: read-failed') >= 2, 10, what='a retry of the read')
    assert slices.snapshot(EXAMPLE_UNITS) == before
    assert daemon.journal(full=True).count('not allowed to read') == 1  # logged once per distinct cause
    assert status['version'] is None


# Done means 2 ------------------------------------------------------------------------------------

def test_change_applied_within_a_second_for_100_groups(daemon, slices, zk, kz, tb):
    tree = {'slices': {f'g{i:03d}': {'cpu_weight': 100} for i in range(100)}}
    units = [f'g{i:03d}.slice' for i in range(100)]
    publish(kz, tree)
    start_zk_daemon(daemon, zk, slices)
    wait_for(lambda: weights(tb, units) == ['100'] * 100, 15, what='100 slices')
    before = slices.snapshot(units[:3])
    for g in tree['slices'].values():
        g['cpu_weight'] = 333
    start = time.monotonic()
    version = publish(kz, tree)
    wait_for(lambda: weights(tb, units) == ['333'] * 100, 1.0, interval=0.02,
             what='all 100 properties within 1 s of the write')
    print(f'100-group change applied {1000 * (time.monotonic() - start):.0f} ms after the write')
    assert slices.snapshot(units[:3]) != before  # the weight changed ...
    after = slices.snapshot(units[:3])
    for u in units[:3]:  # ... and nothing restarted
        assert after[u]['InvocationID'] == before[u]['InvocationID']
    daemon.wait_status(lambda s: s['version'] == version)


def test_twenty_quick_writes_end_in_the_last_tree(daemon, slices, zk, kz, tb):
    publish(kz, EXAMPLE_TREE)
    start_zk_daemon(daemon, zk, slices)
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the slices')
    last = None
    for i in range(20):
        last = publish(kz, with_share(EXAMPLE_TREE, 1000 + 100 * i))
    final = str(cpu_weight(1000 + 100 * 19))
    wait_for(lambda: slices.props(B, 'CPUWeight')['CPUWeight'] == final, 5, what='the 20th tree')
    status = daemon.wait_status(lambda s: s['version'] == last, 5, what=f'version {last}')
    assert status['last_error'] is None
    # Every read reached the manager from the source's defer source, none from inside the client library.
    assert status['source']['reads_delivered'] == status['counters']['tree_reads'] >= 2, status


# Done means 3 ------------------------------------------------------------------------------------

OUTAGE = 12  # s: three times the tests' SessionTimeoutSec (4 s, conftest's write_zk_config)


def test_zookeeper_down_12s_then_back(daemon, slices, zk, kz, tb):
    """A long outage, ZooKeeper down for OUTAGE s. That is long enough for everything a longer one shows:
    each handle tries for SessionTimeoutSec and is reopened after a backoff (0.25 s, then 0.5 s, ...), so
    the daemon reopens twice (at about 4.25 s and 8.75 s; `reconnects` counts them), and "down" logged once
    is once for several attempts; a longer outage only repeats them, with longer backoffs. The
    CPU bound is per second of outage (0.05 s/s, the 1.5 s that 30 s were allowed): a daemon that spins
    uses about 1 s/s."""
    publish(kz, EXAMPLE_TREE)
    start_zk_daemon(daemon, zk, slices)
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the slices')
    daemon.wait_status(lambda s: s['source']['state'] == 'watching')
    before = slices.snapshot(EXAMPLE_UNITS)
    kz.stop()
    cpu_before = daemon.cpu_seconds()
    zk.stop()
    # The outage itself is the scenario: throughout, slices stay exactly as they are and the daemon lives.
    deadline = time.monotonic() + OUTAGE
    while time.monotonic() < deadline:
        assert tb.show(daemon.unit, 'ActiveState') == 'active', daemon.journal()
        assert slices.snapshot(EXAMPLE_UNITS) == before
        time.sleep(1)  # pacing the checks of a fixed-length outage, not waiting for an event
    cpu_used = daemon.cpu_seconds() - cpu_before
    status = daemon.status()
    assert status['source']['connected'] is False and status['source']['reconnects'] >= 2, status['source']
    print(f'daemon CPU while ZooKeeper was down for {OUTAGE} s: {cpu_used:.2f} s, reconnects: '
          f'{status["source"]["reconnects"]}')
    assert cpu_used < 0.05 * OUTAGE, 'reconnecting must back off, not spin'
    zk.start()
    kz.start(timeout=15)
    daemon.wait_status(lambda s: s['source']['state'] == 'watching', 20, what='the daemon back on ZooKeeper')
    publish(kz, with_share(EXAMPLE_TREE, 2000))
    wait_for(lambda: slices.props(B, 'CPUWeight')['CPUWeight'] == str(cpu_weight(2000)), 5,
             what='a change made after the restart')
    journal = daemon.journal(full=True)
    assert journal.count(f'ZooKeeper at {zk.hosts} down: connection lost: ') == 1  # once, not per attempt
    assert journal.count(f'ZooKeeper at {zk.hosts} back after ') == 1


def test_forced_session_expiry_recovers(daemon, slices, zk, kz, tb):
    publish(kz, EXAMPLE_TREE)
    start_zk_daemon(daemon, zk, slices)
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the slices')
    session = daemon.wait_status(lambda s: s['source']['state'] == 'watching')['source']['session_id']
    before = slices.snapshot(EXAMPLE_UNITS)
    # A server that forgot everything: the daemon's session is unknown to it, so it is expired.
    kz.stop()
    zk.stop()
    zk.wipe()
    zk.start()
    kz.start(timeout=15)
    status = daemon.wait_status(lambda s: s['source']['state'] == 'watching' and s['source']['session_id'] != session
                                and s['last_error'] is not None, 20, what='a new session finding no node')
    assert 'does not exist' in status['last_error']['message']
    assert 'ZooKeeper: session expired; opening a new one, slices unchanged.' in daemon.journal(full=True)
    assert slices.snapshot(EXAMPLE_UNITS) == before  # the last good tree stays applied
    publish(kz, with_share(EXAMPLE_TREE, 3000))
    wait_for(lambda: slices.props(B, 'CPUWeight')['CPUWeight'] == str(cpu_weight(3000)), 5,
             what='the tree written after the expiry')


# Done means 4 ------------------------------------------------------------------------------------

def test_garbage_invalid_deleted_and_oversized_keep_the_last_good_tree(daemon, slices, zk, kz, tb):
    publish(kz, EXAMPLE_TREE)
    start_zk_daemon(daemon, zk, slices)
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the slices')
    good = daemon.wait_status(lambda s: s['source']['state'] == 'watching')['version']
    before = slices.snapshot(EXAMPLE_UNITS)
    cases = [
        ('garbage', lambda: publish(kz, b'\x00\xffnot json at all'), 'invalid JSON'),
        ('invalid tree', lambda: publish(kz, {'cpu': {'sub_cgroup': {'x': {'conf': {'share': -1}}}}}),
         '$.cpu.sub_cgroup.x.conf.share: out of range'),
        ('over 4 MiB', lambda: publish(kz, '{"slices": {}, "pad": "' + 'x' * (5 << 20) + '"}'),
         'larger than the limit of 4194304 bytes'),
        ('deleted', lambda: kz.delete(NODE), f'node {NODE} does not exist'),
    ]
    for name, action, expected in cases:
        action()
        status = daemon.wait_status(lambda s: s['last_error'] and expected in s['last_error']['message'], 10,
                                    what=f'the error for {name}')
        assert status['version'] == good, name
        assert slices.snapshot(EXAMPLE_UNITS) == before, name
        assert tb.show(daemon.unit, 'ActiveState') == 'active'
    # Fixing the node applies the fix.
    publish(kz, with_share(EXAMPLE_TREE, 500))
    status = daemon.wait_status(lambda s: s['last_error'] is None and s['version'] == 0, 10, what='the fix')
    assert status['source']['reads_delivered'] == status['counters']['tree_reads'], status  # errors too
    wait_for(lambda: slices.props(B, 'CPUWeight')['CPUWeight'] == str(cpu_weight(500)), 3, what='the fixed tree')


def test_sighup_rereads_and_config_errors_are_clear(daemon, slices, zk, kz, tb):
    publish(kz, EXAMPLE_TREE)
    start_zk_daemon(daemon, zk, slices)
    daemon.wait_status(lambda s: s['source']['state'] == 'watching')
    tb.systemctl('kill', '-s', 'HUP', daemon.unit)
    wait_for(lambda: 'ZooKeeper: reread' in daemon.journal(full=True), 5, what='the re-read on SIGHUP')
    daemon.wait_status(lambda s: s['source']['state'] == 'watching')
    from conftest import DAEMON
    for conf, expected in (
            ('[ZooKeeper]\nHosts=127.0.0.1\nPrefix=/x\n', 'Hosts= entry "127.0.0.1" is not host:port'),
            ('[ZooKeeper]\nHosts=127.0.0.1:2181\nPrefix=x/\n', 'Prefix=x/ is not an absolute ZooKeeper path'),
            ('[ZooKeeper]\nHosts=127.0.0.1:2181\nPrefix=/x\nAuth=user:pw\n', 'Auth= must be digest:USER:PASSWORD'),
            ('[ZooKeeper]\nHosts=127.0.0.1:2181\n', 'Hosts= needs Prefix='),
            ('[Source]\nFile=/t.json\n[ZooKeeper]\nHosts=127.0.0.1:2181\nPrefix=/x\n', 'choose one tree source')):
        daemon.write_file('/run/sktest/bad.conf', conf)
        r = tb.run([DAEMON, '--config=/run/sktest/bad.conf', '--dry-run'], check=False)
        assert r.returncode != 0 and expected in r.stderr, (conf, r.stderr)
