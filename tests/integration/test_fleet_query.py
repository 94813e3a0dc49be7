# SPDX-License-Identifier: MIT
"""`slicekeeper fleet` and the websocket's fleet_account (issue 17) against a real redis-server holding records
the test writes as daemons with [Redis] HostKeys=yes do: <R>/host/<node>/account/<sec>, a hash with the whole
record in field '*' and each top-level group's part in its own field (host_keys_layout), and the <R>/hosts
heartbeat. The command line needs no testbed (it reads Redis); fleet_account asks a daemon in the testbed."""
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis
import websocket

import host_keys_layout
from conftest import BUILD, EXAMPLE_TREE, EXAMPLE_UNITS, wait_for
from servers import free_port

CLI = os.path.join(BUILD, 'slicekeeper')
PREFIX = 'fleet_test'


def record(cpu_ns, mem, tasks):
    """A record of the daemon's shape: groups a (child x) and b, every controller."""
    def tree(a, x, b, root=None):
        return {'value': root if root is not None else {}, 'sub_cgroup': {
            'a': {'value': a, 'sub_cgroup': {'x': {'value': x}}}, 'b': {'value': b}}}
    return json.dumps({
        'cpu': tree({'usage': cpu_ns}, {'usage': cpu_ns // 2}, {'usage': 7}, {'usage': cpu_ns * 3}),
        'blkio': tree({'8:0': {'Read': 1, 'Write': 2, 'ReadOps': 1, 'WriteOps': 1}}, {}, {}),
        'memory': tree({'usage': mem}, {'usage': mem // 2}, {'usage': 1000}),
        'pids': tree({'current': tasks}, {'current': 1}, {'current': 2}),
        'pressure': tree({'cpu': {'some': 5, 'full': 0}}, {}, {}),
        'users': {'1000': {'name': 'alice', 'cpu': {'usage': 1}}},
    }, separators=(',', ':'))


def write_host(r, node, last, first, cores=1.5, prefix=PREFIX):
    """Seconds first..last of one host, CPU growing by `cores`, and its heartbeat."""
    p = r.pipeline(transaction=False)
    for sec in range(first, last + 1):
        host_keys_layout.write(r, f'{prefix}/host/{node}/account/{sec}',
                               record(int((sec - first) * cores * 1e9) + 10**9, 100 * 2**20 + sec % 7, 5), ex=300,
                               pipe=p)
    p.zadd(f'{prefix}/hosts', {node: last})
    p.execute()


def fleet(redis_server, *args, prefix=PREFIX, check=True):
    argv = [CLI, 'fleet', '--redis', redis_server.address, '--prefix', prefix, *args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def commandstats(r):
    """{command: calls}; commands a script runs count too."""
    return {k[len('cmdstat_'):]: v['calls'] for k, v in r.info('commandstats').items()}


@pytest.fixture
def r(redis_server):
    client = redis.Redis(host='127.0.0.1', port=redis_server.port)
    yield client
    client.close()


def test_every_host_of_the_group_in_two_round_trips_and_the_stale_one_named(redis_server, r):
    now = int(time.time())
    write_host(r, 'web-1', now - 1, now - 20)
    write_host(r, 'web-2', now - 2, now - 6, cores=0.5)
    write_host(r, 'old.host', now - 40, now - 60)  # stopped 40 s ago: stale, nothing in the window

    before = commandstats(r)
    p = fleet(redis_server, '--end', str(now), '--group', 'a', '--seconds', '10', '--json', '--stats')
    after = commandstats(r)
    used = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    a = json.loads(p.stdout)
    # one ZRANGE, then one HMGET per key (of the group's field only) in one pipeline: every record is split,
    # so no third round trip
    keys = int(re.search(r'(\d+) keys', p.stderr).group(1))
    assert keys >= 15 and used == {'zrange': 1, 'hmget': keys, 'info': 1}, (used, p.stderr)
    assert 'round trips' in p.stderr and ' 2 round trips' in p.stderr, p.stderr

    assert a['group'] == 'a' and a['seconds'] == 10 and a['stale_after'] == 10
    assert abs(a['now'] - now) <= 2
    assert sorted(a['hosts']) == ['old.host', 'web-1', 'web-2']
    assert a['stale'] == ['old.host']
    assert a['skipped'] == 0 and a['skipped_hosts'] == 0
    w1 = a['hosts']['web-1']
    assert w1['last'] == now - 1 and w1['stale'] is False and w1['age'] == a['now'] - (now - 1)
    secs = sorted(int(s) for s in w1['account'])
    assert secs == list(range(a['now'] - 9, now)), secs  # the window up to the heartbeat
    rec = w1['account'][str(now - 1)]
    # cut to the group: per controller the node of a, its child x below, nothing of b or the root
    assert set(rec) == {'cpu', 'blkio', 'memory', 'pids', 'pressure'}
    assert rec['cpu']['value']['usage'] == int(19 * 1.5e9) + 10**9
    assert set(rec['cpu']['sub_cgroup']) == {'x'}
    assert rec['pids']['value'] == {'current': 5}
    assert len(a['hosts']['web-2']['account']) == 5
    old = a['hosts']['old.host']
    assert old['stale'] is True and old['account'] == {} and old['age'] >= 40

    # a deeper group and the whole record
    a = json.loads(fleet(redis_server, '--end', str(now), '--group', 'a/x', '--json').stdout)
    assert a['hosts']['web-1']['account'][str(now - 1)]['memory'] == {'value': {'usage': (100 * 2**20 + (now - 1) % 7) // 2}}
    a = json.loads(fleet(redis_server, '--end', str(now), '--json', '--seconds', '3').stdout)
    assert a['group'] is None
    assert (json.loads(r.hget(f'{PREFIX}/host/web-1/account/{now - 1}', '*')) ==
            a['hosts']['web-1']['account'][str(now - 1)])
    # a group no host has: every host, no seconds
    a = json.loads(fleet(redis_server, '--end', str(now), '--group', 'nope', '--json').stdout)
    assert all(h['account'] == {} for h in a['hosts'].values())


def test_the_table_shows_state_age_cores_memory_tasks(redis_server, r):
    now = int(time.time())
    write_host(r, 'n1', now - 1, now - 12, cores=1.5)
    write_host(r, 'n2', now - 30, now - 35)
    out = fleet(redis_server, '--end', str(now), '--group', 'a').stdout
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith('HOST'))
    assert header.split() == ['HOST', 'STATE', 'LAST', 'CPU', 'MEMORY', 'TASKS']
    n1 = next(line for line in lines if line.startswith('n1 ')).split()
    assert n1[1] == 'ok' and n1[3] == '1.50' and n1[4] == '100.0M' and n1[5] == '5', out
    n2 = next(line for line in lines if line.startswith('n2 ')).split()
    assert n2[1] == 'stale' and n2[3:] == ['-', '-', '-'], out
    assert '2 hosts, 1 stale' in out
    # without a group: the sum of the top-level groups a and b
    out = fleet(redis_server, '--end', str(now)).stdout
    n1 = next(line for line in out.splitlines() if line.startswith('n1 ')).split()
    assert n1[5] == '7', out


def test_config_file_gives_address_and_prefix(redis_server, r):
    now = int(time.time())
    write_host(r, 'c1', now, now - 2, prefix='from_conf')
    with tempfile.NamedTemporaryFile('w', suffix='.conf') as f:
        f.write(f'[Redis]\nAddress={redis_server.address}\nPrefix=from_conf\nHostKeys=yes\n')
        f.flush()
        p = subprocess.run([CLI, 'fleet', '--config', f.name, '--json'], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert list(json.loads(p.stdout)['hosts']) == ['c1']
        # --prefix overrides the file's
        p = subprocess.run([CLI, 'fleet', '--config', f.name, '--prefix', 'other', '--json'], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 2 and 'No hosts in other/hosts' in p.stderr
    p = subprocess.run([CLI, 'fleet', '--config', '/nonexistent.conf'], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and 'no such file' in p.stderr


def test_no_hosts_redis_down_and_bad_arguments_are_clear(redis_server, r):
    p = fleet(redis_server, check=False)
    assert p.returncode == 2 and 'HostKeys=yes' in p.stderr, p.stderr
    for args, said in ((['--seconds', '0'], '--seconds takes 1..300'), (['--seconds', '301'], '--seconds'),
                       (['--group', 'a/../b'], '--group takes'), (['--bogus'], 'Unknown argument')):
        p = fleet(redis_server, *args, check=False)
        assert p.returncode == 1 and said in p.stderr, (args, p.stderr)
    r.set(f'{PREFIX}/hosts', 'not a sorted set')
    p = fleet(redis_server, check=False)
    assert p.returncode == 1 and 'WRONGTYPE' in p.stderr, p.stderr
    address = redis_server.address
    redis_server.stop()
    p = subprocess.run([CLI, 'fleet', '--redis', address], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and f'Cannot reach Redis at {address}' in p.stderr, p.stderr


def unsplit(r, key, text):
    """A second as the daemon writes one it cannot split (not valid, or more than 64 top-level groups): only
    the whole record, and '/groups' '*' telling readers to cut it."""
    r.delete(key)
    r.hset(key, mapping={'*': text, '/groups': '*'})


def test_what_redis_holds_is_not_trusted(redis_server, r):
    now = int(time.time())
    write_host(r, 'good', now, now - 4)
    r.zadd(f'{PREFIX}/hosts', {'bad/name': now, '../x': now, 'x' * 65: now})
    unsplit(r, f'{PREFIX}/host/good/account/{now - 1}', '{"cpu": {"value": ')  # cut short
    unsplit(r, f'{PREFIX}/host/good/account/{now - 2}',
            '{"cpu":{"sub_cgroup":{"a":{"value":{"usage":99999999999999999999}}}}}')
    unsplit(r, f'{PREFIX}/host/good/account/{now - 3}', b'{"cpu":{"sub_cgroup":{"a":{"value":{"n":"\xff"}}}}}')
    a = json.loads(fleet(redis_server, '--end', str(now), '--group', 'a', '--json').stdout)
    assert list(a['hosts']) == ['good']
    assert a['skipped_hosts'] == 3
    assert a['skipped'] == 3
    assert sorted(int(s) for s in a['hosts']['good']['account']) == [now - 4, now]
    # what a cut does not pass on is only skipped: a bad number outside the group's path does not count
    unsplit(r, f'{PREFIX}/host/good/account/{now - 2}',
            '{"cpu":{"value":{"usage":1e999},"sub_cgroup":{"a":{"value":{}}}}}')
    a = json.loads(fleet(redis_server, '--end', str(now), '--group', 'a', '--json').stdout)
    assert a['skipped'] == 2 and a['hosts']['good']['account'][str(now - 2)] == {'cpu': {'value': {}}}
    # the whole record is checked whole
    a = json.loads(fleet(redis_server, '--end', str(now), '--json').stdout)
    assert a['skipped'] == 3 and str(now - 2) not in a['hosts']['good']['account']
    # a group's field is checked too; a key of another type (a string, as host keys were before they were
    # hashes) is skipped
    r.hset(f'{PREFIX}/host/good/account/{now}', 'a', '{"cpu":{"value":')
    r.delete(f'{PREFIX}/host/good/account/{now - 4}')
    r.set(f'{PREFIX}/host/good/account/{now - 4}', record(1, 2, 3))
    a = json.loads(fleet(redis_server, '--end', str(now), '--group', 'a', '--json').stdout)
    assert a['skipped'] == 4 and a['hosts']['good']['account'] == {str(now - 2): {'cpu': {'value': {}}}}, a


def test_the_group_field_is_read_and_the_whole_record_only_when_not_split(redis_server, r):
    now = int(time.time())
    key = f'{PREFIX}/host/f1/account/{now}'
    r.zadd(f'{PREFIX}/hosts', {'f1': now})
    # the reader takes field a (here not what '*' says) and cuts it further for a/x
    text = record(10**9, 2**20, 3)
    host_keys_layout.write(r, key, text)
    r.hset(key, 'a', json.dumps({'cpu': {'value': {'usage': 42}, 'sub_cgroup': {'x': {'value': {'usage': 43}}}}}))
    a = json.loads(fleet(redis_server, '--end', str(now), '--group', 'a', '--seconds', '1', '--json').stdout)
    assert a['hosts']['f1']['account'][str(now)] == {'cpu': {'value': {'usage': 42},
                                                             'sub_cgroup': {'x': {'value': {'usage': 43}}}}}
    a = json.loads(fleet(redis_server, '--end', str(now), '--group', 'a/x', '--seconds', '1', '--json').stdout)
    assert a['hosts']['f1']['account'][str(now)] == {'cpu': {'value': {'usage': 43}}}
    # without a group: '*'
    a = json.loads(fleet(redis_server, '--end', str(now), '--seconds', '1', '--json').stdout)
    assert a['hosts']['f1']['account'][str(now)] == json.loads(text)
    # split, a group the record does not have: nothing, without reading '*'
    a = json.loads(fleet(redis_server, '--end', str(now), '--group', 'b/nope', '--seconds', '1', '--json').stdout)
    assert a['hosts']['f1']['account'] == {}
    # more than 64 top-level groups: only '*' (the layout's rule), and the reader cuts it, in a third round trip
    # for those seconds only; the others' fields are read as before, each host's seconds in one object
    many = json.dumps({'cpu': {'sub_cgroup': {f'g{i}': {'value': {'usage': i}} for i in range(65)}}})
    for sec in (now - 3, now - 1, now):
        r.delete(f'{PREFIX}/host/f1/account/{sec}')
        host_keys_layout.write(r, f'{PREFIX}/host/f1/account/{sec}', many)
    few = json.dumps({'cpu': {'sub_cgroup': {'g5': {'value': {'usage': 55}}}}})
    host_keys_layout.write(r, f'{PREFIX}/host/f1/account/{now - 2}', few)
    host_keys_layout.write(r, f'{PREFIX}/host/f2/account/{now}', few)
    r.zadd(f'{PREFIX}/hosts', {'f2': now})
    assert r.hget(key, '/groups') == b'*' and not r.hexists(key, 'g5')
    p = fleet(redis_server, '--end', str(now), '--group', 'g5', '--seconds', '4', '--json', '--stats')
    a = json.loads(p.stdout)
    assert a['hosts']['f1']['account'] == {str(now - 3): {'cpu': {'value': {'usage': 5}}},
                                           str(now - 2): {'cpu': {'value': {'usage': 55}}},
                                           str(now - 1): {'cpu': {'value': {'usage': 5}}},
                                           str(now): {'cpu': {'value': {'usage': 5}}}}, a
    assert a['hosts']['f2']['account'] == {str(now): {'cpu': {'value': {'usage': 55}}}} and a['skipped'] == 0
    assert ' 3 round trips' in p.stderr, p.stderr


def test_many_hosts_still_two_round_trips(redis_server, r):
    now = int(time.time())
    p = r.pipeline(transaction=False)
    rec = record(10**9, 2**20, 3)
    for i in range(1200):
        for sec in range(now - 2, now + 1):
            host_keys_layout.write(r, f'{PREFIX}/host/h{i:04d}/account/{sec}', rec, ex=300, pipe=p)
        p.zadd(f'{PREFIX}/hosts', {f'h{i:04d}': now})
    p.execute()
    p = fleet(redis_server, '--end', str(now), '--group', 'a/x', '--seconds', '3', '--json', '--stats')
    a = json.loads(p.stdout)
    assert len(a['hosts']) == 1200 and all(len(h['account']) == 3 for h in a['hosts'].values())
    m = re.search(r'(\d+) round trips, (\d+) commands', p.stderr)
    assert m and m.group(1) == '2' and m.group(2) == str(1 + 3600), p.stderr  # an HMGET per key, one pipeline


# The websocket's fleet_account, from a daemon in the testbed.

def start_daemon(daemon, slices, port, redis_address, prefix=PREFIX):
    daemon.write_config(f'[Web]\nListen=127.0.0.1:{port}\n[Redis]\nAddress={redis_address}\nPrefix={prefix}\n')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the example slices')


def ask(ws, cmd, **args):
    ws.send(json.dumps({'cmd': cmd, 'args': args}))
    return json.loads(ws.recv())


def test_fleet_account_answers_as_the_command_line(daemon, slices, redis_server, r):
    now = int(time.time())
    write_host(r, 'web-1', now - 1, now - 20)
    write_host(r, 'gone', now - 40, now - 60)
    port = free_port()
    start_daemon(daemon, slices, port, redis_server.address)
    ws = websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=15)
    try:
        a = ask(ws, 'fleet_account', group='a', seconds=5)
        assert a['group'] == 'a' and a['seconds'] == 5 and a['stale'] == ['gone'], a
        assert sorted(a['hosts']) == ['gone', 'web-1']
        assert len(a['hosts']['web-1']['account']) >= 4
        rec = next(iter(a['hosts']['web-1']['account'].values()))
        assert set(rec['cpu']['sub_cgroup']) == {'x'}
        # the same as the command line's, but for the clock
        cli = json.loads(fleet(redis_server, '--group', 'a', '--seconds', '5', '--json', '--end', str(a['now'])).stdout)
        assert cli['hosts'] == a['hosts']
        # bad arguments: an error, the connection stays
        assert 'error' in ask(ws, 'fleet_account', seconds=0)
        assert 'error' in ask(ws, 'fleet_account', group='a/../b')
        assert 'error' in ask(ws, 'fleet_account', group=5)
        # whole records, and the next request is answered as ever
        a = ask(ws, 'fleet_account')
        assert a['group'] is None and 'users' in a['hosts']['web-1']['account'][str(now - 1)]
        assert 'version' in ask(ws, 'get_conf')
    finally:
        ws.close()


def test_a_silent_redis_blocks_no_one_and_a_gone_client_is_fine(daemon, slices, redis_server):
    """Redis accepts and never answers: the asking client waits, another is served meanwhile; a client that
    leaves before the answer costs nothing; after 10 s the waiting one gets an error."""
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except OSError:
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        port = free_port()
        start_daemon(daemon, slices, port, f'127.0.0.1:{silent.getsockname()[1]}')
        leaver = websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=15)
        leaver.send(json.dumps({'cmd': 'fleet_account'}))
        waiter = websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=15)
        waiter.send(json.dumps({'cmd': 'fleet_account'}))
        start = time.monotonic()
        leaver.close()
        other = websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=5)
        assert 'version' in ask(other, 'get_conf')
        other.close()
        assert time.monotonic() - start < 5
        try:
            answer = json.loads(waiter.recv())
        except websocket.WebSocketConnectionClosedException:
            raise AssertionError(f'the waiting client was dropped; journal:\n{daemon.journal()}')
        assert 'error' in answer and 'within 10 s' in answer['error'], answer
        assert 9 <= time.monotonic() - start < 15
        assert 'version' in ask(waiter, 'get_conf')
        waiter.close()
        daemon.status()  # still there
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        silent.close()


def test_fleet_account_without_redis_says_so(daemon, slices):
    port = free_port()
    daemon.write_config(f'[Web]\nListen=127.0.0.1:{port}\n')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    ws = websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=15)
    try:
        assert 'no [Redis] Address=' in ask(ws, 'fleet_account')['error']
    finally:
        ws.close()
