# SPDX-License-Identifier: MIT
"""Per-user fair share, its first part (issue 14, "Users" and "Usage"): the user slices systemd has, found
over D-Bus, sampled like groups and shown apart from the tree — in status, show_account (and so Redis),
and /metrics. Users are made as the issue says: UIDs in the testbed's own /etc/passwd, processes started
with `systemd-run --uid=UID --slice=user-UID.slice`."""
import json
import time
import urllib.request

import pytest
import redis
import websocket
from prometheus_client.parser import text_string_to_metric_families

from conftest import EXAMPLE_TREE, EXAMPLE_UNITS, users_in_testbed, wait_for
from servers import free_port

# High and unlikely to be taken; checked against the passwd file before use.
BUSY_UID, IDLE_UID, LOW_UID = 47301, 47302, 947
NAMES = {BUSY_UID: 'skuser-busy', IDLE_UID: 'skuser-idle', LOW_UID: 'sksys-low'}


@pytest.fixture
def test_users(tb):
    """The test's users (conftest.users_in_testbed), their units stopped afterwards."""
    with users_in_testbed(tb, NAMES, ('skuser-busy.service', 'skuser-idle.service', 'skuser-low.service')):
        yield


def run_as(tb, unit, uid, *cmd):
    tb.run(['systemd-run', f'--unit={unit}', f'--uid={uid}', f'--slice=user-{uid}.slice', *cmd])


def show_account(port, **args):
    ws = websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=10)
    try:
        ws.send(json.dumps({'cmd': 'show_account', 'args': args}))
        return json.loads(ws.recv())
    finally:
        ws.close()


def metrics(port):
    text = urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=10).read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def listed(status):
    return {u['uid']: u for u in status.get('users', {}).get('list', [])}


def test_users_appear_are_sampled_apart_from_the_tree_and_go(daemon, slices, tb, test_users, redis_server):
    port = free_port()
    daemon.write_config(f'[Web]\nListen=127.0.0.1:{port}\n[Redis]\nAddress={redis_server.address}\n'
                        '[FairShare]\nEnable=yes\nMinUID=1000\n')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the example slices')
    before = daemon.wait_status(lambda s: s['users']['listings'] >= 1, 10, what='the first listing')['users']
    assert BUSY_UID not in listed(before)

    # A busy user, an idle one, and one below MinUID.
    appeared = time.monotonic()
    run_as(tb, 'skuser-busy', BUSY_UID, 'sh', '-c', 'while :; do :; done')
    run_as(tb, 'skuser-idle', IDLE_UID, 'sleep', '600')
    run_as(tb, 'skuser-low', LOW_UID, 'sleep', '600')
    status = daemon.wait_status(lambda s: {BUSY_UID, IDLE_UID} <= set(listed(s)) and
                                all(listed(s)[u]['name'] for u in (BUSY_UID, IDLE_UID)) and
                                LOW_UID in s['users']['below_min_uid']['uids'], 10,
                                what='both users listed with their names, the low UID counted')
    print(f'users listed with names after {time.monotonic() - appeared:.2f} s')
    users = status['users']
    assert listed(status)[BUSY_UID] == {'uid': BUSY_UID, 'name': 'skuser-busy', 'slice': f'user-{BUSY_UID}.slice'}
    assert listed(status)[IDLE_UID]['name'] == 'skuser-idle'
    assert LOW_UID not in listed(status)  # below MinUID: ignored, only counted
    assert users['count'] == len(users['list']) and users['min_uid'] == 1000
    assert users['below_min_uid']['count'] >= 1
    assert users['nss']['lookups'] >= 2 and users['nss']['pending'] == 0
    assert users['list_errors'] == 0
    assert f'{users["count"]} users' in tb.show(daemon.unit, 'StatusText')
    assert f'Users:      {users["count"]} (UID >= 1000, ' in daemon.ctl('status').stdout

    # show_account: under "users", by UID, the busy user's CPU growing; the tree as before.
    started = int(time.time())
    def sampled(answer):
        # a user's first second may have no values yet ({}: its files open after the set takes the user)
        return sorted(int(s) for s, r in answer.items()
                      if int(s) > started and 'usage' in r.get('users', {}).get(str(BUSY_UID), {}).get('cpu', {}))
    wait_for(lambda: len(sampled(show_account(port, nr_slot=20))) >= 4, 15,
             what='four seconds with the busy user sampled')
    answer = show_account(port, nr_slot=20)
    slots = sampled(answer)
    usage = [answer[str(s)]['users'][str(BUSY_UID)]['cpu']['usage'] for s in slots]
    rates = [(b - a) / 1e9 / (t2 - t1) for a, b, t1, t2 in zip(usage, usage[1:], slots, slots[1:])]
    print(f'user {BUSY_UID} CPU seconds per second: {[round(r, 2) for r in rates]}')
    assert min(rates) >= 0.2, rates
    record = answer[str(slots[-1])]
    busy, idle = record['users'][str(BUSY_UID)], record['users'][str(IDLE_UID)]
    assert busy['name'] == 'skuser-busy'
    assert set(busy) == {'name', 'cpu', 'blkio', 'memory', 'pids', 'pressure'}
    assert busy['pids']['current'] >= 1 and idle['pids']['current'] >= 1
    assert busy['memory']['usage'] > 0
    assert str(LOW_UID) not in record['users']
    # not mixed into the tree: the groups are the tree's
    assert set(record['cpu']['sub_cgroup']) == {'test_cgroup_a', 'test_cgroup_b'}
    assert set(record) == {'cpu', 'blkio', 'memory', 'pids', 'pressure', 'users'}
    # Redis stores the same record
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    wait_for(lambda: r.get(f'cgroup_arch/account/{slots[-1]}') is not None, 10, what='the record in Redis')
    assert json.loads(r.get(f'cgroup_arch/account/{slots[-1]}'))['users'] == record['users']

    # /metrics: per-user series with uid and user labels; the group series have no user slices.
    fams = metrics(port)
    cpu = {s.labels['uid']: s for s in fams['slicekeeper_user_cpu_usage_seconds'].samples}
    assert cpu[str(BUSY_UID)].labels == {'uid': str(BUSY_UID), 'user': 'skuser-busy',
                                         'slice': f'user-{BUSY_UID}.slice'}
    assert cpu[str(BUSY_UID)].value > 0
    assert str(LOW_UID) not in cpu
    tasks = {s.labels['uid']: s.value for s in fams['slicekeeper_user_tasks'].samples}
    assert tasks[str(IDLE_UID)] >= 1
    assert not [s for s in fams['slicekeeper_cpu_usage_seconds'].samples if s.labels['slice'].startswith('user-')]

    # The busy user's slice stopped: the user is gone, from status and from the next records.
    stopped = time.monotonic()
    tb.systemctl('stop', f'user-{BUSY_UID}.slice')
    daemon.wait_status(lambda s: BUSY_UID not in listed(s) and IDLE_UID in listed(s), 10,
                       what='the busy user gone, the idle one still there')
    print(f'user gone from status {time.monotonic() - stopped:.2f} s after its slice stopped')
    after = int(time.time()) + 1
    wait_for(lambda: any(int(s) > after for s in show_account(port, nr_slot=5)), 10, what='a newer record')
    last = show_account(port, nr_slot=5)
    newest = last[max(last, key=int)]
    assert str(BUSY_UID) not in newest['users'] and str(IDLE_UID) in newest['users']
    assert str(BUSY_UID) not in {s.labels['uid'] for s in
                                 metrics(port)['slicekeeper_user_cpu_usage_seconds'].samples}
    assert tb.show(daemon.unit, 'ActiveState') == 'active'


def test_without_fair_share_no_users_anywhere(daemon, slices, tb, test_users):
    """Enable= off (the default): no D-Bus watching, records and /metrics exactly as before."""
    port = free_port()
    daemon.write_config(f'[Web]\nListen=127.0.0.1:{port}\n')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    run_as(tb, 'skuser-busy', BUSY_UID, 'sleep', '600')
    daemon.wait_ticks(3)
    status = daemon.status()
    assert 'users' not in status
    answer = show_account(port, nr_slot=2)
    assert answer and all('users' not in r for r in answer.values())
    assert 'slicekeeper_user_cpu_usage_seconds' not in metrics(port)
