# SPDX-License-Identifier: MIT
"""After a restart the window comes back from Redis (issue 13): against the testbed's systemd, a real
redis-server and a real websocket client."""
import json
import re
import socket
import threading
import time

import redis
import websocket

from conftest import EXAMPLE_TREE, EXAMPLE_UNITS, users_in_testbed, wait_for
from servers import free_port

EXPIRE = 300
WINDOW = 60


def start(daemon, slices, redis_address, port, extra=''):
    daemon.write_config(f'[Web]\nListen=127.0.0.1:{port}\n[Redis]\nExpireSec={EXPIRE}\nAddress={redis_address}\n'
                        + extra)
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the example slices')


def show_account_text(port, **args):
    """The answer as the daemon sent it: text, to compare bytes."""
    ws = websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=10)
    try:
        ws.send(json.dumps({'cmd': 'show_account', 'args': args}))
        return ws.recv()
    finally:
        ws.close()


def key(sec):
    return f'cgroup_arch/account/{sec}'


def test_a_restart_answers_the_window_redis_holds(daemon, slices, redis_server):
    port = free_port()
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    start(daemon, slices, redis_server.address, port)
    wait_for(lambda: len(r.keys('cgroup_arch/account/*')) >= 3, 10, what='three records in Redis')
    daemon.stop()
    stopped = int(time.time())
    written = sorted(int(k.decode().rsplit('/', 1)[1]) for k in r.keys('cgroup_arch/account/*'))
    real = r.get(key(written[-1]))

    # Redis holds the 60 s before the stop: the daemon's own records, and records of the same shape (its
    # last one with another CPU usage per second) for the seconds it did not run. One more second holds a
    # value that is not a record, one a record of 250 s ago (older than 60 s, inside ExpireSec).
    secs = list(range(stopped - WINDOW + 1, stopped + 1))
    for sec in secs + [stopped - 250]:
        if not r.exists(key(sec)):
            r.set(key(sec), re.sub(rb'"usage":\d+', b'"usage":%d' % (sec * 1000), real, count=1), ex=EXPIRE)
    r.set(key(stopped - WINDOW), b'{"cpu":{"value":{"usage":12', ex=EXPIRE)
    held = {sec: r.get(key(sec)).decode() for sec in secs}
    assert len(set(held.values())) == WINDOW  # every second tells which it is
    expected = '{' + ','.join(f'"{sec}":{held[sec]}' for sec in secs) + '}'
    # The restart samples seconds after the stop only.
    wait_for(lambda: time.time() >= stopped + 1, 2, what='the second after the stop')

    restarted = time.monotonic()
    start(daemon, slices, redis_server.address, port)
    answer = wait_for(lambda: (lambda t: t if t == expected else None)(
        show_account_text(port, nr_slot=WINDOW, end_slot=stopped)), 2, what='the 60 s Redis holds, byte for byte')
    took = time.monotonic() - restarted
    print(f'show_account nr_slot=60 answered all 60 s from Redis {took:.2f} s after the restart began')
    assert answer == expected

    fill = daemon.wait_status(lambda s: s['redis']['fill']['state'] == 'done', 5, what='the fill done')['redis']['fill']
    assert fill['skipped'] == 1 and fill['skip_reason'] == 'cut short', fill
    assert fill['filled'] >= WINDOW + 1 and fill['not_kept'] == 0, fill
    assert fill['seconds'] == EXPIRE and fill['read'] == EXPIRE, fill
    assert 'skipped' in daemon.journal(full=True)
    # Older than the 60 s, still in Redis: answered as Redis holds it. The corrupt second is left out.
    old = stopped - 250
    assert show_account_text(port, start_slot=old, end_slot=old) == f'{{"{old}":{r.get(key(old)).decode()}}}'
    assert show_account_text(port, start_slot=stopped - WINDOW, end_slot=stopped - WINDOW) == '{}'
    # The daemon samples on meanwhile: the seconds after the restart come from its own sweeps.
    daemon.wait_ticks(2)
    now = json.loads(show_account_text(port, nr_slot=3))
    assert len(now) >= 2 and all(int(s) > stopped for s in now), sorted(now)


# High and unlikely to be taken (users_in_testbed checks).
FILL_UID, FILL_NAME = 47321, 'skfill-user'


def test_a_restart_reads_back_records_with_users(daemon, slices, tb, redis_server):
    """[FairShare] Enable=yes: records carry "users"; after a restart they come back from Redis with them, byte
    for byte, none skipped."""
    port = free_port()
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    marker = f'"users":{{"{FILL_UID}":{{"name":"{FILL_NAME}","cpu":{{"usage":'

    def with_user():
        return sorted(int(k.decode().rsplit('/', 1)[1]) for k in r.keys('cgroup_arch/account/*')
                      if marker in r.get(k).decode())

    with users_in_testbed(tb, {FILL_UID: FILL_NAME}, ('skfill-user.service',)):
        start(daemon, slices, redis_server.address, port, extra='[FairShare]\nEnable=yes\nMinUID=1000\n')
        tb.run(['systemd-run', '--unit=skfill-user', f'--uid={FILL_UID}', f'--slice=user-{FILL_UID}.slice',
                'sleep', '600'])
        wait_for(lambda: len(with_user()) >= 3, 15, what='three records in Redis with the user sampled')
        daemon.stop()
        stopped = int(time.time())
        written = sorted(int(k.decode().rsplit('/', 1)[1]) for k in r.keys('cgroup_arch/account/*'))
        held = {sec: r.get(key(sec)).decode() for sec in written}
        users = with_user()
        assert len(users) >= 3 and all(held[sec] == r.get(key(sec)).decode() for sec in users)
        expected = '{' + ','.join(f'"{sec}":{held[sec]}' for sec in written) + '}'
        wait_for(lambda: time.time() >= stopped + 1, 2, what='the second after the stop')

        restarted = time.monotonic()
        start(daemon, slices, redis_server.address, port, extra='[FairShare]\nEnable=yes\nMinUID=1000\n')
        answer = wait_for(lambda: (lambda t: t if t == expected else None)(
            show_account_text(port, start_slot=written[0], end_slot=stopped)), 5,
            what='the seconds Redis holds, with their users, byte for byte')
        print(f'{len(written)} s ({len(users)} with the user sampled) answered from Redis '
              f'{time.monotonic() - restarted:.2f} s after the restart began')
        assert answer == expected
        fill = daemon.wait_status(lambda s: s['redis']['fill']['state'] == 'done', 5,
                                  what='the fill done')['redis']['fill']
        assert fill['skipped'] == 0 and 'skip_reason' not in fill, fill
        assert fill['filled'] == len(written) and fill['not_kept'] == 0, fill
        # the daemon samples the user on meanwhile: its own seconds after the restart have the user too
        wait_for(lambda: any(int(sec) > stopped and str(FILL_UID) in rec.get('users', {})
                             for sec, rec in json.loads(show_account_text(port, nr_slot=3)).items()), 10,
                 what='a second sampled after the restart with the user')


def test_no_redis_at_start_fails_the_fill_and_samples_on(daemon, slices, redis_server):
    port = free_port()
    address = redis_server.address
    redis_server.stop()
    start(daemon, slices, address, port)
    fill = daemon.wait_status(lambda s: s['redis']['fill']['state'] == 'failed', 10,
                              what='the fill failed')['redis']['fill']
    assert fill['filled'] == 0 and fill['error'], fill
    daemon.wait_ticks(2)
    assert len(json.loads(show_account_text(port, nr_slot=3))) >= 2



class SilentServer:
    """A TCP server on loopback that accepts connections, reads what they send and never answers: a Redis
    that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setblocking(False)
            self.conns.append(conn)

    def close(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(5)
        for c in self.conns:
            c.close()


def test_a_redis_that_does_not_answer_delays_no_sample(daemon, slices):
    silent = SilentServer()
    try:
        port = free_port()
        started = time.monotonic()
        start(daemon, slices, f'127.0.0.1:{silent.port}', port)
        # Sampling goes on while the fill waits for its answer, and live seconds are answered.
        status = daemon.wait_status(lambda s: s['sampler']['ticks'] >= 2, 4, what='two ticks while the fill waits')
        assert status['redis']['fill']['state'] == 'reading', status['redis']
        assert time.monotonic() - started < 5
        assert len(json.loads(show_account_text(port, nr_slot=3))) >= 1
        fill = daemon.wait_status(lambda s: s['redis']['fill']['state'] == 'failed', 10,
                                  what='the fill given up')['redis']['fill']
        assert fill['error'] == 'no answer within 5 s' and fill['filled'] == 0, fill
    finally:
        silent.close()

# [Web]/[Redis] Controllers= -------------------------------------------------------------------------

def with_blkio(tree):
    """cgrouparch's README tree: the cpu tree and a blkio tree over the same groups."""
    blkio = {'sub_cgroup': {'test_cgroup_a': {'conf': {'weight': 500}},
                            'test_cgroup_b': {'conf': {'weight': 100},
                                              'sub_cgroup': {'test_cgroup_b_sub1': {'conf': {'weight': 200}}}}}}
    return dict(tree, blkio=blkio)


def test_controllers_choose_the_keys_of_show_account_subscribers_and_redis(daemon, slices, redis_server):
    port = free_port()
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    daemon.write_config(f'[Web]\nListen=127.0.0.1:{port}\nControllers=tree\n'
                        f'[Redis]\nAddress={redis_server.address}\nControllers=cpu pids\n')
    daemon.write_tree(with_blkio(EXAMPLE_TREE))
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the example slices')
    daemon.wait_ticks(2)

    # The websocket: the controllers the tree names, as cgrouparch wrote them, in its order.
    answer = json.loads(show_account_text(port, nr_slot=2))
    assert answer and all(list(rec) == ['cpu', 'blkio'] for rec in answer.values()), answer
    ws = websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=10)
    try:
        ws.send(json.dumps({'cmd': 'subscribe'}))
        assert json.loads(ws.recv()) == {'subscribed': True}
        pushed = json.loads(ws.recv())
        assert [list(rec) for rec in pushed.values()] == [['cpu', 'blkio']], pushed
    finally:
        ws.close()
    # Redis: its own set, written on its own.
    sec = max(int(k.decode().rsplit('/', 1)[1]) for k in r.keys('cgroup_arch/account/*'))
    stored = json.loads(r.get(key(sec)))
    assert list(stored) == ['cpu', 'pids'], stored
    assert set(stored['pids']['sub_cgroup']) == {'test_cgroup_a', 'test_cgroup_b'}
    assert list(json.loads(show_account_text(port, start_slot=sec, end_slot=sec))[str(sec)]) == ['cpu', 'blkio']

    # "tree" follows the tree: without its blkio part, cpu alone.
    version = daemon.status()['version']
    daemon.write_tree(EXAMPLE_TREE)
    daemon.wait_status(lambda s: s['version'] > version, 10, what='the tree without blkio')
    daemon.wait_ticks(1)
    latest = json.loads(show_account_text(port, nr_slot=1))
    assert [list(rec) for rec in latest.values()] == [['cpu']], latest
