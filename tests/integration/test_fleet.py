# SPDX-License-Identifier: MIT
"""A fleet on one ZooKeeper and one Redis (issue 17, Done means 1-4): three daemons in three namespace
testbeds (host-a, host-b, host-c, each its own [Node] Name=) sharing one real ZooKeeper and one real
redis-server (tests/integration/fleet.py). A per-host overlay gives one host an extra group and the others
not; host-qualified Redis keys, the heartbeat and `slicekeeper fleet` with a stopped host going stale; a bad
overlay keeps that host's last good tree and names the node; a penalty stored in ZooKeeper applies on every
host that has the user. The testbeds boot once for the module; each test gets fresh ZooKeeper and Redis
prefixes and starts the daemons itself; they are stopped cleanly (under ASan: no leak) after it."""
import contextlib
import copy
import json
import os
import re
import time

import pytest

from conftest import CTL
from fleet import HOSTS, Fleet, desired_groups, fleet_unavailable, tree_error, tree_versions, wait_for

A, B, C = HOSTS
SHARED = {'slices': {'fleet_a': {'cpu_weight': 100}, 'fleet_b': {'cpu_weight': 200}}}
BASE = {'fleet_a', 'fleet_b'}
EXTRA = {'slices': {'extra': {'cpu_weight': 50}}}


@pytest.fixture(scope='module')
def fleet_module():
    reason = fleet_unavailable()
    if reason:
        pytest.fail(f'the fleet cannot run here: {reason}')  # CI machines can: never skip silently
    with Fleet() as f:
        yield f


@pytest.fixture
def fleet(fleet_module, request):
    tag = re.sub(r'[^a-z0-9]+', '_', request.node.name.lower().removeprefix('test_'))[:24]
    fleet_module.begin(tag)
    try:
        yield fleet_module
    finally:
        fleet_module.stop_all()


def with_weight(tree, group, weight):
    t = copy.deepcopy(tree)
    t['slices'][group]['cpu_weight'] = weight
    return t


def weight(host, group):
    return host.slices.props(f'{group}.slice', 'CPUWeight')['CPUWeight']


def reads(host):
    return host.status()['counters']['tree_reads']


# The harness itself ---------------------------------------------------------------------------------------

def test_three_daemons_share_one_tree(fleet):
    """Three testbeds side by side, each its own daemon, cgroups and node name; a change of the shared node
    reaches all three."""
    assert len({h.tb.cgname for h in fleet}) == 3 and len({h.tb.pid for h in fleet}) == 3
    v = fleet.write(fleet.shared_node, SHARED)
    fleet.start_all()
    for h in fleet:
        h.wait_applied(v)
        h.wait_groups(lambda g: g == BASE, what='the shared groups')
        assert h.tb.run(['hostname']).stdout.strip() == h.name
        assert weight(h, 'fleet_b') == '200'
    v2 = fleet.write(fleet.shared_node, with_weight(SHARED, 'fleet_b', 300))
    assert v2 == v + 1
    fleet.wait_all_applied(v2)
    for h in fleet:
        wait_for(lambda h=h: weight(h, 'fleet_b') == '300', 5, what=f'{h.name}: CPUWeight 300 of fleet_b.slice')
        # the kernel file of each testbed's own cgroup: 300 % of 1024
        assert h.slices.cgroup_read('cpu', 'fleet_b.slice', 'cpu.shares') == str(300 * 1024 // 100)


# Done means 1: an overlay on one host ---------------------------------------------------------------------

def test_overlay_gives_one_host_an_extra_group(fleet):
    v = fleet.write(fleet.shared_node, SHARED)
    fleet.start_all()
    for h in fleet:
        h.wait_applied(v, overlay=None)
        h.wait_groups(lambda g: g == BASE, what='the shared groups')

    ov = fleet.write(fleet.overlay_node(B), EXTRA)
    b = fleet[B]
    b.wait_applied(v, overlay=ov)
    b.wait_groups(lambda g: g == BASE | {'extra'}, what='the extra group on host-b')
    assert b.unit_active('extra.slice') and weight(b, 'extra') == '50'

    # A later shared change reaches everyone: host-a and host-c have read the tree since the overlay was
    # written (ZooKeeper delivers in order) and still have no extra group; host-b keeps it, merged with the
    # change.
    v2 = fleet.write(fleet.shared_node, with_weight(SHARED, 'fleet_a', 150))
    for h in (fleet[A], fleet[C]):
        s = h.wait_applied(v2)
        assert tree_versions(s)[1] is None, s.get('tree')
        assert desired_groups(s) == BASE
        assert not h.unit_active('extra.slice')
        wait_for(lambda h=h: weight(h, 'fleet_a') == '150', 5, what=f'{h.name}: the shared change')
    b.wait_applied(v2, overlay=ov)
    wait_for(lambda: weight(b, 'fleet_a') == '150', 5, what='host-b: the shared change under its overlay')
    assert b.unit_active('extra.slice') and desired_groups(b.status()) == BASE | {'extra'}

    # get_conf: the merged tree and both versions
    conf_b, conf_a = b.get_conf(), fleet[A].get_conf()
    assert conf_b['value']['slices']['extra'] == {'cpu_weight': 50}, conf_b
    assert conf_b['value']['slices']['fleet_a'] == {'cpu_weight': 150}
    assert conf_b['versions'] == {'shared': v2, 'overlay': ov}, conf_b
    assert 'extra' not in conf_a['value']['slices'] and conf_a['versions'] == {'shared': v2, 'overlay': None}

    # The overlay deleted: host-b only loses the group.
    fleet.delete(fleet.overlay_node(B))
    b.wait_applied(v2, overlay=None)
    b.wait_groups(lambda g: g == BASE, what='host-b without the extra group')
    wait_for(lambda: not b.unit_active('extra.slice'), 10, what='extra.slice stopped on host-b')
    v3 = fleet.write(fleet.shared_node, with_weight(SHARED, 'fleet_a', 175))
    for h in fleet:
        s = h.wait_applied(v3, overlay=None)
        assert desired_groups(s) == BASE, h.name
        wait_for(lambda h=h: weight(h, 'fleet_a') == '175', 5, what=f'{h.name}: the last shared change')
        assert not h.unit_active('extra.slice')


def test_overlay_null_removes_a_shared_group_on_that_host_only(fleet):
    v = fleet.write(fleet.shared_node, SHARED)
    fleet.start_all()
    fleet.wait_all_applied(v)
    ov = fleet.write(fleet.overlay_node(C), {'slices': {'fleet_b': None, 'fleet_a': {'cpu_weight': 400}}})
    c = fleet[C]
    c.wait_applied(v, overlay=ov)
    c.wait_groups(lambda g: g == {'fleet_a'}, what='host-c without fleet_b')
    wait_for(lambda: not c.unit_active('fleet_b.slice'), 10, what='fleet_b.slice stopped on host-c')
    wait_for(lambda: weight(c, 'fleet_a') == '400', 5, what='the overlay\'s weight on host-c')
    v2 = fleet.write(fleet.shared_node, with_weight(SHARED, 'fleet_b', 250))
    for h in (fleet[A], fleet[B]):
        s = h.wait_applied(v2, overlay=None)
        assert desired_groups(s) == BASE
        wait_for(lambda h=h: weight(h, 'fleet_b') == '250', 5, what=f'{h.name}: fleet_b 250')
        assert weight(h, 'fleet_a') == '100'
    s = c.wait_applied(v2, overlay=ov)
    assert desired_groups(s) == {'fleet_a'} and not c.unit_active('fleet_b.slice')


# Done means 2: host keys, the heartbeat, `slicekeeper fleet`, a stale host --------------------------------

STALE_AFTER = 10


def host_keys(r, prefix, node):
    return sorted(k.decode() for k in r.scan_iter(f'{prefix}/host/{node}/account/*', count=1000))


def test_host_keys_heartbeat_fleet_query_and_a_stale_host(fleet):
    r = fleet.redis_client()
    R = fleet.redis_prefix
    v = fleet.write(fleet.shared_node, SHARED)
    fleet.start_all(host_keys=True)
    fleet.wait_all_applied(v)
    for h in fleet:
        wait_for(lambda h=h: len(host_keys(r, R, h.name)) >= 3, 15, what=f'three seconds of {h.name} in Redis')
    # none unqualified; the same seconds written by all three, each under its own key (not overwritten)
    assert list(r.scan_iter(f'{R}/account/*', count=1000)) == []
    secs = [{int(k.rsplit('/', 1)[1]) for k in host_keys(r, R, n)} for n in HOSTS]
    assert secs[0] & secs[1] & secs[2], secs
    heartbeat = {m.decode(): int(s) for m, s in r.zrange(f'{R}/hosts', 0, -1, withscores=True)}
    assert sorted(heartbeat) == sorted(HOSTS), heartbeat
    now = time.time()
    for node, sec in heartbeat.items():
        assert now - 5 <= sec <= now + 1, (node, sec, now)
        newest = max(int(k.rsplit('/', 1)[1]) for k in host_keys(r, R, node))
        assert sec >= newest - 1, (node, sec, newest)
        record = json.loads(r.hget(f'{R}/host/{node}/account/{newest}', '*'))  # a hash: field * the record
        assert isinstance(record, dict) and record, record

    # The fleet query, on the host against the same Redis: every host, none stale.
    answer = wait_for(lambda: (lambda a: a if all(a['hosts'].get(n, {}).get('account') for n in HOSTS) else None)(
        fleet.fleet_query('--seconds', '5')), 10, what='all three hosts with records in the fleet answer')
    assert sorted(answer['hosts']) == sorted(HOSTS), answer
    assert answer['seconds'] == 5 and answer['group'] is None and answer['stale_after'] == STALE_AFTER
    assert answer['stale'] == []
    for node, h in answer['hosts'].items():
        assert h['stale'] is False and 0 <= h['age'] <= 3 and h['last'] == answer['now'] - h['age'], (node, h)
        assert 1 <= len(h['account']) <= 5 and all(answer['now'] - 5 < int(sec) <= answer['now']
                                                   for sec in h['account']), (node, sorted(h['account']))
        sec = max(h['account'])
        stored = r.hget(f'{R}/host/{node}/account/{sec}', '*')
        assert stored is None or h['account'][sec] == json.loads(stored)  # expired meanwhile: None
    # A group: each record cut to it.
    cut = fleet.fleet_query('--seconds', '5', '--group', 'fleet_a')
    assert cut['group'] == 'fleet_a' and sorted(cut['hosts']) == sorted(HOSTS), cut
    for node, h in cut['hosts'].items():
        assert any(h['account'].values()), (node, h)
        for sec, record in h['account'].items():
            assert 'fleet_b' not in json.dumps(record), (node, sec, record)

    # Inside a testbed, with the daemon's config ([Redis] Address= and Prefix=), in at most 3 round trips.
    b = fleet[B]
    r_in = b.tb.run([CTL, 'fleet', '--json', '--stats', '--seconds', '5', f'--config={b.daemon.config_path}'])
    inside = json.loads(r_in.stdout)
    assert sorted(inside['hosts']) == sorted(HOSTS) and inside['stale'] == [], inside
    trips = re.search(r'(\d+) round trips', r_in.stderr)
    assert trips and int(trips.group(1)) <= 3, r_in.stderr

    # The same answer from a daemon's websocket.
    import websocket
    ws = websocket.create_connection(f'ws://127.0.0.1:{fleet[A].web_port}/', timeout=10)
    try:
        ws.send(json.dumps({'cmd': 'fleet_account', 'args': {'seconds': 5}}))
        over_ws = json.loads(ws.recv())
    finally:
        ws.close()
    assert sorted(over_ws['hosts']) == sorted(HOSTS) and over_ws['stale'] == [], over_ws

    # host-c stops: stale once its heartbeat is older than 10 s, the others not.
    fleet[C].stop()
    stopped = time.monotonic()
    before = fleet.fleet_query('--seconds', '5')
    assert time.monotonic() - stopped < STALE_AFTER / 2  # the query itself is quick
    assert before['stale'] == [] and before['hosts'][C]['stale'] is False, before
    assert before['hosts'][C]['age'] < STALE_AFTER / 2, before['hosts'][C]
    # within 10 s of the stop (its last second plus 10; the poll's own step and the query on top)
    answer = wait_for(lambda: (lambda a: a if C in a['stale'] else None)(fleet.fleet_query('--seconds', '5')),
                      STALE_AFTER + 1, interval=0.1, what='host-c stale')
    took = time.monotonic() - stopped
    print(f'host-c reported stale {took:.1f} s after its daemon stopped (heartbeat age {answer["hosts"][C]["age"]} s)')
    assert answer['stale'] == [C] and answer['hosts'][C]['stale'] is True
    assert answer['hosts'][C]['age'] >= STALE_AFTER
    assert took <= STALE_AFTER + 0.5, took
    assert answer['hosts'][A]['stale'] is False and answer['hosts'][B]['stale'] is False
    assert took >= STALE_AFTER - 2  # not stale at once: the heartbeat's age decides


def test_host_keys_off_keeps_cgrouparch_keys(fleet):
    """HostKeys=no (the default): the unqualified keys as before, no host keys, no heartbeat."""
    r = fleet.redis_client()
    R = fleet.redis_prefix
    v = fleet.write(fleet.shared_node, SHARED)
    h = fleet[A]
    h.configure()
    h.start()
    h.wait_applied(v)
    wait_for(lambda: len(list(r.scan_iter(f'{R}/account/*'))) >= 2, 15, what='unqualified keys')
    h.daemon.wait_ticks(1)
    assert list(r.scan_iter(f'{R}/host/*')) == [] and not r.exists(f'{R}/hosts')


# Done means 3: a bad overlay on one host ------------------------------------------------------------------

@pytest.mark.parametrize('bad', [b'{"slices": {"extra": ', {'slices': {'extra': {'cpu_weight': -1}}}],
                         ids=['invalid_json', 'invalid_value'])
def test_bad_overlay_keeps_the_last_good_tree_and_names_the_node(fleet, bad):
    v = fleet.write(fleet.shared_node, SHARED)
    ov = fleet.write(fleet.overlay_node(C), EXTRA)
    fleet.start_all()
    c = fleet[C]
    for h in fleet:
        h.wait_applied(v, overlay=ov if h is c else None)
    c.wait_groups(lambda g: g == BASE | {'extra'}, what='host-c with its overlay')
    node = fleet.overlay_node(C)
    good = (v, ov)
    units = ['fleet_a.slice', 'fleet_b.slice', 'extra.slice']
    before = c.slices.snapshot(units)
    n = reads(c)
    fleet.write(node, bad)
    s = c.wait_status(lambda s: tree_error(s) and node in tree_error(s) and s['counters']['tree_reads'] > n,
                      10, what=f'the error naming {node}')
    assert tree_versions(s) == good, (tree_versions(s), s.get('last_error'))
    assert c.slices.snapshot(units) == before
    assert c.running()
    assert node in c.journal()

    # The others go on: a shared change made after reaches them.
    n = reads(c)
    v2 = fleet.write(fleet.shared_node, with_weight(SHARED, 'fleet_a', 120))
    for h in (fleet[A], fleet[B]):
        s = h.wait_applied(v2, overlay=None)
        assert tree_error(s) is None, (h.name, tree_error(s))
        wait_for(lambda h=h: weight(h, 'fleet_a') == '120', 5, what=f'{h.name}: the change after')
    # host-c reads it too, and takes no change of the shared tree while its overlay is bad (slicekeeperd(8),
    # HOST OVERLAYS: "Until the overlay is mended this host takes no change of the shared tree either"): the
    # last good tree stays, and status keeps naming the bad node.
    s = c.wait_status(lambda s: s['counters']['tree_reads'] > n, 10, what='host-c reading the shared change')
    assert tree_versions(s) == good, (tree_versions(s), s.get('last_error'), s['source'].get('overlay'))
    assert node in (tree_error(s) or ''), (tree_versions(s), s.get('last_error'), s['source'].get('overlay'))
    assert c.slices.snapshot(units) == before
    assert weight(c, 'fleet_a') == '100'

    # Fixed: the merged tree of both, the error gone.
    ov2 = fleet.write(node, {'slices': {'extra': {'cpu_weight': 60}}})
    s = c.wait_applied(v2, overlay=ov2)
    assert tree_error(s) is None, s.get('last_error')
    wait_for(lambda: weight(c, 'fleet_a') == '120' and weight(c, 'extra') == '60', 5,
             what='host-c with the fixed overlay and the shared change')


# Done means 4: a penalty in ZooKeeper applies on every host -------------------------------------------------

UID, USER = 47361, 'skfleet47361'
CORE = 1_000_000
# hard_cap: 0.5 × 1 core for everyone; an (active) penalty: 0.3 of that
CAP, PENALIZED = CORE // 2, 3 * CORE // 20
LOCKED = 3 * CORE // 10  # a locked penalty: 0.3 of a core
FAIR = ('[FairShare]\nEnable=yes\nMinUID=1000\nMode=hard_cap\nCPUPctMax=0.5\nHardCapCores=1\nPenaltyCPUPct=0.3\n'
        'StateDir=/run/sktest/state\n')


def kernel_cap(tb, uid):
    """CPU usec a second the kernel allows the user slice (cpu.cfs_quota_us), None for none."""
    group = f'user.slice/user-{uid}.slice'
    if not os.path.exists(tb.cgroup_file('cpu', f'{group}/cpu.cfs_quota_us')):
        return None
    quota = int(tb.read_cgroup('cpu', f'{group}/cpu.cfs_quota_us'))
    period = int(tb.read_cgroup('cpu', f'{group}/cpu.cfs_period_us'))
    return None if quota == -1 else round(quota * CORE / period)


def user_line(host):
    out = json.loads(host.ctl('users', '--json').stdout)
    return next((u for u in out['list'] if u['uid'] == UID), None)


def penalty_source(line):
    p = line and line.get('penalty')
    return p and (p.get('source') or line.get('penalty_source'))


def test_penalty_in_zookeeper_applies_on_every_host(fleet):
    from conftest import users_in_testbed
    v = fleet.write(fleet.shared_node, SHARED)
    with contextlib.ExitStack() as stack:
        for h in fleet:
            stack.enter_context(users_in_testbed(h.tb, {UID: USER}, (f'skfleet-session-{UID}.service',)))
            stack.callback(h.tb.run, ['rm', '-rf', '/run/sktest/state'], check=False)
        fleet.start_all(extra=FAIR)
        for h in fleet:
            h.wait_applied(v)
            h.tb.run(['systemd-run', f'--unit=skfleet-session-{UID}', f'--uid={UID}', f'--slice=user-{UID}.slice',
                      'sleep', '600'])
        for h in fleet:
            wait_for(lambda h=h: kernel_cap(h.tb, UID) == CAP, 15, interval=0.1,
                     what=f'{h.name}: the mode\'s cap on user-{UID}.slice')
            assert penalty_source(user_line(h)) is None

        fleet.write(fleet.user_node(USER), {'penalty': {}})
        for h in fleet:
            wait_for(lambda h=h: kernel_cap(h.tb, UID) == PENALIZED, 10, interval=0.1,
                     what=f'{h.name}: the fleet penalty\'s cap on user-{UID}.slice')
            line = wait_for(lambda h=h: (lambda u: u if penalty_source(u) == 'fleet' else None)(user_line(h)), 5,
                            what=f'{h.name}: the penalty from the fleet in users --json')
            assert line['penaltyboxed'] and line['ident'] == USER, line

        # A local penalty on host-a wins there and stays there: the others keep the fleet's.
        a = fleet[A]
        a.ctl('penalty', USER, 'on', '--mode', 'locked', '--for', '1h')
        wait_for(lambda: kernel_cap(a.tb, UID) == LOCKED, 10, interval=0.1, what='host-a: the local penalty')
        assert penalty_source(user_line(a)) == 'local'
        for h in (fleet[B], fleet[C]):
            assert kernel_cap(h.tb, UID) == PENALIZED and penalty_source(user_line(h)) == 'fleet', h.name
        a.ctl('penalty', USER, 'off')
        wait_for(lambda: kernel_cap(a.tb, UID) == PENALIZED, 10, interval=0.1, what='host-a: the fleet\'s again')
        assert penalty_source(user_line(a)) == 'fleet'

        fleet.delete(fleet.user_node(USER))
        for h in fleet:
            wait_for(lambda h=h: kernel_cap(h.tb, UID) == CAP, 10, interval=0.1,
                     what=f'{h.name}: the penalty lifted')
            wait_for(lambda h=h: not (user_line(h) or {}).get('penalty'), 5, what=f'{h.name}: no penalty listed')
        fleet.stop_all()
