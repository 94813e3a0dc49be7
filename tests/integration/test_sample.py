# SPDX-License-Identifier: MIT
"""Usage every second (issue 5): sampler, Redis, websocket, /metrics — against the testbed's systemd,
a real redis-server and a real websocket client."""
import json
import os
import socket
import time
import urllib.request

import pytest
import redis
import websocket
from prometheus_client.parser import text_string_to_metric_families

from conftest import EXAMPLE_TREE, EXAMPLE_UNITS, wait_for
from servers import free_port


def start_sampling(daemon, slices, redis_address=None, expire=300, tree=EXAMPLE_TREE):
    port = free_port()
    extra = f'[Web]\nListen=127.0.0.1:{port}\n[Redis]\nExpireSec={expire}\n'
    if redis_address:
        extra += f'Address={redis_address}\n'
    daemon.write_config(extra)
    daemon.write_tree(tree)
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the example slices')
    return port


def connect(port):
    return websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=10)


def ask(ws, cmd, **args):
    ws.send(json.dumps({'cmd': cmd, 'args': args}))
    return json.loads(ws.recv())


def show_account(port, **args):
    ws = connect(port)
    try:
        return ask(ws, 'show_account', **args)
    finally:
        ws.close()


# Done means 1 ------------------------------------------------------------------------------------

# The test itself is test_hierarchies.py's test_busy_loop_climbs_and_show_account_has_the_same_shape:
# it runs here in the namespace testbed (v1) and in tests/vm's guest (pure v2), so it is written once.
def check_busy_loop_and_record_shape(tb, port):
    """A busy loop's usage climbs by its own CPU time; show_account has cgrouparch's shape."""
    tb.run(['systemd-run', '--unit=busy', '--slice=test_cgroup_a.slice', 'sh', '-c', 'while :; do :; done'])
    started = int(time.time())
    wait_for(lambda: len([s for s in show_account(port, nr_slot=20) if int(s) > started + 1]) >= 5, 15,
             what='five seconds sampled with the busy loop running')
    answer = show_account(port, nr_slot=20)
    slots = sorted(int(s) for s in answer if int(s) > started + 1)
    usage = [answer[str(s)]['cpu']['sub_cgroup']['test_cgroup_a']['value']['usage'] for s in slots]
    rates = [(b - a) / 1e9 / (t2 - t1) for a, b, t1, t2 in zip(usage, usage[1:], slots, slots[1:])]
    print(f'test_cgroup_a CPU seconds per second: {[round(r, 2) for r in rates]}')
    # About one CPU second per second on an idle machine; on a loaded one the loop gets less, so the
    # check that does not depend on load: the sampled usage is the CPU time the loop itself has used.
    assert min(rates) >= 0.2, rates
    busy = int(tb.show('busy.service', 'MainPID'))
    fields = tb.run(['cat', f'/proc/{busy}/stat']).stdout.rsplit(')', 1)[1].split()
    loop_cpu = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    read_at = time.time()
    sampled = usage[-1] / 1e9
    assert sampled <= loop_cpu + 0.05, (sampled, loop_cpu)
    assert loop_cpu - sampled <= (read_at - slots[-1]) + 0.1, (sampled, loop_cpu, read_at - slots[-1])
    # cgrouparch's shape: {"<sec>": {"cpu": {"value": {"usage": ns}, "sub_cgroup": {...}}, "blkio": {...}}}
    record = answer[str(slots[-1])]
    assert set(record) >= {'cpu', 'blkio', 'memory', 'pids', 'pressure'}
    cpu = record['cpu']
    assert isinstance(cpu['value']['usage'], int) and cpu['value']['usage'] > 0
    assert set(cpu['sub_cgroup']) == {'test_cgroup_a', 'test_cgroup_b'}
    sub1 = cpu['sub_cgroup']['test_cgroup_b']['sub_cgroup']['test_cgroup_b_sub1']
    assert set(sub1) == {'value'} and isinstance(sub1['value']['usage'], int)
    assert set(record['blkio']['sub_cgroup']) == {'test_cgroup_a', 'test_cgroup_b'}
    assert record['pids']['sub_cgroup']['test_cgroup_a']['value']['current'] >= 1
    assert record['memory']['sub_cgroup']['test_cgroup_a']['value']['usage'] > 0
    # Defaults: end_slot now, nr_slot 10; missing slots are left out.
    default = show_account(port)
    assert 1 <= len(default) <= 10 and all(int(s) <= time.time() + 1 for s in default)
    assert show_account(port, start_slot=1, end_slot=5) == {}


# Done means 2 ------------------------------------------------------------------------------------

def rss_kib(daemon):
    with open(f'/proc/{daemon.host_pid()}/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))


def test_redis_gets_one_key_per_second_and_survives_a_restart(daemon, slices, tb, redis_server):
    port = start_sampling(daemon, slices, redis_server.address, expire=6)
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    wait_for(lambda: len(r.keys('cgroup_arch/account/*')) >= 3, 10, what='three keys in Redis')
    secs = sorted(int(k.decode().rsplit('/', 1)[1]) for k in r.keys('cgroup_arch/account/*'))
    assert secs == list(range(secs[0], secs[0] + len(secs))), secs  # one per second, none missing
    ttl = r.ttl(f'cgroup_arch/account/{secs[-1]}')
    assert 0 < ttl <= 6, ttl
    stored = json.loads(r.get(f'cgroup_arch/account/{secs[-1]}'))
    assert stored == show_account(port, start_slot=secs[-1], end_slot=secs[-1])[str(secs[-1])]

    # Redis dies. The daemon keeps sampling into RAM, with a bounded backlog (ExpireSec=6 here).
    redis_server.stop()
    # The backlog fills to its cap (ExpireSec=6 records) and then the oldest are dropped: wait for that,
    # then for five more drops. Once full, the daemon's memory must stay where it is. (Polled once a
    # second: every status answer is memory churn, which the ASan build's quarantine shows as RSS.)
    full = daemon.wait_status(lambda s: s['redis']['connected'] is False and s['redis']['dropped'] >= 1, 20,
                              what='the Redis backlog full and dropping', interval=1)['redis']
    rss_full = rss_kib(daemon)
    status = daemon.wait_status(lambda s: s['redis']['dropped'] >= full['dropped'] + 5, 20,
                                what='five more records dropped', interval=1)['redis']
    assert tb.show(daemon.unit, 'ActiveState') == 'active'
    assert status['connected'] is False and status['backlog'] <= 6, status
    assert len(show_account(port, nr_slot=5)) >= 4  # RAM still has the window
    # /metrics counts the same records as status: nothing is written while Redis is away, drops go on.
    text = urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=10).read().decode()
    counters = {ln.split()[0]: int(ln.split()[1]) for ln in text.splitlines()
                if ln.startswith('slicekeeper_redis_records_')}
    assert counters['slicekeeper_redis_records_written_total'] == status['written'] >= 3, (counters, status)
    assert counters['slicekeeper_redis_records_dropped_total'] >= status['dropped'], (counters, status)
    # Once full, nothing grows: the sink's own bytes (the seconds it has yet to send, no text) in every
    # build; the process's RSS only in the plain build (ASan's quarantine keeps freed memory as RSS: it
    # once grew 4.9 MiB here in the VM from status answers alone).
    assert status['backlog_bytes'] <= full['backlog_bytes'], (full, status)
    with open(f'/proc/{daemon.host_pid()}/maps') as f:
        sanitized = 'libasan' in f.read()
    grown = rss_kib(daemon) - rss_full
    assert sanitized or grown < 4096, f'RSS grew {grown} KiB while Redis was away with the backlog full'

    redis_server.start()
    restarted_at = int(time.time())
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    wait_for(lambda: any(int(k.decode().rsplit('/', 1)[1]) > restarted_at for k in r.keys('cgroup_arch/account/*')),
             15, what='keys of seconds after the restart')
    status = daemon.wait_status(lambda s: s['redis']['connected'], 10, what='reconnected')['redis']
    assert status['reconnects'] >= 1


# Done means 3 ------------------------------------------------------------------------------------

MASK = b'\x11\x22\x33\x44'


def masked(opcode, payload, fin=True):
    header = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + n.to_bytes(2, 'big')
    else:
        header += bytes([0x80 | 127]) + n.to_bytes(8, 'big')
    return header + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))


def close_code(ws):
    """Reads until the server's close frame; returns its code."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], 'big') if len(data) >= 2 else None


@pytest.mark.parametrize('name, raw, code', [
    ('unmasked', b'\x81\x05hello', 1002),
    ('oversized', bytes([0x81, 0xFF]) + (2 << 20).to_bytes(8, 'big') + MASK, 1009),
    ('bad opcode', masked(0x3, b'x'), 1002),
    ('truncated close code', masked(0x8, b'\x03'), 1002),
    ('invalid UTF-8', masked(0x1, b'{"cmd": "\xc0\xaf"}'), 1007),
    ('oversized fragments', masked(0x1, b'x' * 65536, fin=False) + masked(0x0, b'x' * 65536, fin=False) * 16
     + masked(0x0, b'x'), 1009),
    ('continuation without a start', masked(0x0, b'x'), 1002),
])
def test_bad_frames_get_the_right_close_code(daemon, slices, name, raw, code):
    port = start_sampling(daemon, slices)
    ws = connect(port)
    ws.sock.sendall(raw)
    assert close_code(ws) == code, name
    ws.close()
    # The daemon serves the next client as before.
    assert 'version' in ask(connect(port), 'status')


def test_bad_requests_get_an_error_and_keep_the_connection(daemon, slices):
    port = start_sampling(daemon, slices)
    ws = connect(port)
    ws.send('not json')
    assert json.loads(ws.recv()) == {'error': 'request is not valid JSON'}
    assert 'unknown cmd' in ask(ws, 'rm_rf')['error']
    assert 'nr_slot' in ask(ws, 'show_account', nr_slot=-1)['error']
    assert 'nr_slot' in ask(ws, 'show_account', nr_slot='ten')['error']
    assert 'start_slot is after' in ask(ws, 'show_account', start_slot=10, end_slot=5)['error']
    ws.send(json.dumps({'cmd': 'show_account', 'args': [1]}))
    assert json.loads(ws.recv()) == {'error': 'args must be an object'}
    # A ping is answered, and the connection still works.
    ws.ping(b'are you there')
    opcode, data = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_PONG and data == b'are you there'
    conf = ask(ws, 'get_conf')
    assert conf == {'version': 1, 'value': EXAMPLE_TREE}
    ws.close()


def test_a_truncated_frame_and_a_vanished_client_harm_nobody(daemon, slices):
    port = start_sampling(daemon, slices)
    ws = connect(port)
    ws.sock.sendall(masked(0x1, b'{"cmd": "status"}')[:7])  # half a frame, then gone
    ws.sock.close()
    assert 'version' in ask(connect(port), 'status')
    # A raw TCP client that never finishes the handshake does not block anyone either.
    raw = socket.create_connection(('127.0.0.1', port))
    raw.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n')
    assert 'version' in ask(connect(port), 'status')
    raw.close()


def test_200_subscribers_receive_every_tick(daemon, slices):
    port = start_sampling(daemon, slices)
    clients = [connect(port) for _ in range(200)]
    for ws in clients:
        assert ask(ws, 'subscribe') == {'subscribed': True}
    received = [[] for _ in clients]
    # Three pushes each; the first after subscribing may be any second, the next ones follow it.
    for i, ws in enumerate(clients):
        while len(received[i]) < 3:
            message = json.loads(ws.recv())
            assert len(message) == 1 and set(next(iter(message.values()))) >= {'cpu', 'blkio'}
            received[i].append(int(next(iter(message))))
    starts = {r[0] for r in received}
    assert max(starts) - min(starts) <= 2, starts
    for r in received:
        assert r == list(range(r[0], r[0] + 3)), r  # every tick, none skipped
    # A client that unsubscribes gets nothing more but its answers (pushes already sent come first).
    clients[0].send(json.dumps({'cmd': 'unsubscribe'}))
    answer = json.loads(clients[0].recv())
    while set(answer) != {'subscribed'}:
        assert len(answer) == 1 and next(iter(answer)).isdigit(), answer  # a push sent before it
        answer = json.loads(clients[0].recv())
    assert answer == {'subscribed': False}
    assert 'version' in ask(clients[0], 'status')  # and then only answers
    for ws in clients:
        ws.close()
    assert daemon.status()['web']['dropped'] == 0


def read_messages(ws, want, deadline_s=30):
    """Reads raw frames until `want(messages)` holds; returns (messages, fragment counts). Checks the
    RFC 6455 rule a streamed answer must keep: no other data frame inside a fragmented message."""
    messages, fragments, current, deadline = [], [], None, time.monotonic() + deadline_s
    while not want(messages):
        assert time.monotonic() < deadline, f'timed out; got {len(messages)} messages'
        frame = ws.recv_frame()
        if frame.opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
            continue
        assert frame.opcode != websocket.ABNF.OPCODE_CLOSE, 'the server closed the connection'
        if current is None:
            assert frame.opcode == websocket.ABNF.OPCODE_TEXT, f'continuation outside a message: {frame.opcode}'
            current = [frame.data]
        else:
            assert frame.opcode == websocket.ABNF.OPCODE_CONT, 'a data frame inside a fragmented message'
            current.append(frame.data)
        if frame.fin:
            messages.append(json.loads(b''.join(current)))
            fragments.append(len(current))
            current = None
    return messages, fragments


def start_with_groups(daemon, n, seconds, web_extra=''):
    """n empty groups sampled until the window holds `seconds` seconds of all of them."""
    groups = [f'g{i:03d}' for i in range(n)]
    port = free_port()
    daemon.write_config(f'[Web]\nListen=127.0.0.1:{port}\n{web_extra}')
    daemon.write_tree({'slices': {g: {} for g in groups}})
    daemon.start()
    daemon.wait_status(lambda s: sum(x['active_state'] == 'active' for x in s['slices']) == n, 120,
                       what=f'{n} active slices')

    def full_slots():
        answer = show_account(port, nr_slot=seconds)
        return len(answer) == seconds and all(len(r['cpu']['sub_cgroup']) == n for r in answer.values())
    wait_for(full_slots, seconds + 22, what=f'{seconds} seconds of {n} slices in the window')
    return port, groups


# [Web] StallTimeoutSec= for the test that waits it out (30 s by default; the unit tests check that).
STALL_TIMEOUT = 3


def test_a_big_answer_streams_in_fragments_in_order_and_a_stalled_reader_is_dropped(daemon, slices):
    port, groups = start_with_groups(daemon, 400, 8, web_extra=f'StallTimeoutSec={STALL_TIMEOUT}\n')
    ws = connect(port)
    assert ask(ws, 'subscribe') == {'subscribed': True}
    # Three requests at once: the big answer, then two small ones that must wait their turn and then
    # come in order.
    ws.send(json.dumps({'cmd': 'show_account', 'args': {'nr_slot': 8}}))
    ws.send(json.dumps({'cmd': 'status'}))
    ws.send(json.dumps({'cmd': 'get_conf'}))  # (a small show_account would look like a push)

    def answers(ms):
        return [m for m in ms if not (len(m) == 1 and next(iter(m)).isdigit())]  # pushes are {"<sec>": record}
    messages, fragments = read_messages(ws, lambda ms: len(answers(ms)) == 3)
    big, status, conf = answers(messages)
    big_fragments = fragments[messages.index(big)]
    assert len(big) == 8 and all(set(r['cpu']['sub_cgroup']) == set(groups) for r in big.values())
    assert big_fragments >= 2, f'{len(json.dumps(big))} bytes came in {big_fragments} fragment(s)'
    assert 'sampler' in status and set(conf) == {'version', 'value'}, (status, conf)
    # Pushes still arrive, whole, between messages; the connection is fine afterwards.
    messages, _ = read_messages(ws, lambda ms: len(ms) >= 1)
    assert len(messages[0]) == 1 and next(iter(messages[0])).isdigit()
    ws.close()
    assert daemon.status()['web']['dropped'] == 0

    # A client that asks for a big answer and never reads it (a tiny receive window, so the answer
    # cannot hide in socket buffers) holds its place only until it has taken nothing for StallTimeoutSec:
    # not dropped before (the lower bound), and dropped within one stall check after (the upper one).
    stuck = websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=10,
                                        sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
    stuck.send(json.dumps({'cmd': 'show_account', 'args': {'nr_slot': 8}}))
    asked = time.monotonic()
    daemon.wait_status(lambda s: s['web']['dropped'] == 1, STALL_TIMEOUT + 20, what='the stalled client dropped')
    waited = time.monotonic() - asked
    assert STALL_TIMEOUT - 0.5 <= waited <= STALL_TIMEOUT + 10, \
        f'dropped after {waited:.1f} s for a {STALL_TIMEOUT} s stall rule'
    assert f'took none of its output for {STALL_TIMEOUT} s' in daemon.journal(full=True)
    assert 'version' in ask(connect(port), 'get_conf')  # the others were served meanwhile
    stuck.close()


def test_pings_and_a_close_are_answered_while_an_answer_streams(daemon, slices):
    """Control frames are read while a message streams (RFC 6455 5.4 lets them go between fragments):
    a ping is answered before the answer's last fragment, a close cuts the answer short."""
    port, _ = start_with_groups(daemon, 400, 8)
    ws = connect(port)
    request = json.dumps({'cmd': 'show_account', 'args': {'nr_slot': 8}})

    def raw_frame(data, opcode):
        return websocket.ABNF.create_frame(data, opcode).format()
    # The request and the ping in one write, so the ping arrives while the answer is being made (sent
    # apart, a fast daemon may have handed the whole answer to the kernel before the ping is read).
    ws.sock.sendall(raw_frame(request, websocket.ABNF.OPCODE_TEXT) +
                    raw_frame(b'mid-stream', websocket.ABNF.OPCODE_PING))
    fragments_before_pong, pong, fin = 0, None, False
    while not fin:
        frame = ws.recv_frame()
        if frame.opcode == websocket.ABNF.OPCODE_PONG:
            pong = frame.data
        elif frame.opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_CONT):
            fin = frame.fin
            fragments_before_pong += pong is None
        else:
            raise AssertionError(f'unexpected frame {frame.opcode}')
    assert pong == b'mid-stream', 'the ping was not answered before the last fragment'
    print(f'pong after {fragments_before_pong} fragment(s)')

    # A close right behind a big request: the server's close comes before the answer's end.
    ws.sock.sendall(raw_frame(request, websocket.ABNF.OPCODE_TEXT) +
                    raw_frame(websocket.STATUS_NORMAL.to_bytes(2, 'big') + b'enough', websocket.ABNF.OPCODE_CLOSE))
    frames = []
    while True:
        frame = ws.recv_frame()
        frames.append((frame.opcode, frame.fin))
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            assert int.from_bytes(frame.data[:2], 'big') == 1000
            break
    assert not any(op in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_CONT) and fin for op, fin in frames), \
        f'the answer was finished before the close: {frames}'
    ws.shutdown()
    assert 'version' in ask(connect(port), 'get_conf')


# Done means 4 ------------------------------------------------------------------------------------

def test_metrics_parse_and_agree_with_show_account(daemon, slices, tb):
    port = start_sampling(daemon, slices)
    tb.run(['systemd-run', '--unit=busy', '--slice=test_cgroup_a.slice', 'sh', '-c', 'while :; do :; done'])
    wait_for(lambda: len(show_account(port)) >= 2, 10, what='two seconds sampled')
    text = urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=10).read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {}
    for f in families.values():
        for s in f.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    sec = int(samples[('slicekeeper_sample_timestamp_seconds', ())])
    record = show_account(port, start_slot=sec, end_slot=sec)[str(sec)]
    a = (('group', 'test_cgroup_a'), ('slice', 'test_cgroup_a.slice'))
    assert samples[('slicekeeper_cpu_usage_seconds_total', a)] == \
        record['cpu']['sub_cgroup']['test_cgroup_a']['value']['usage'] / 1e9
    assert samples[('slicekeeper_memory_usage_bytes', a)] == \
        record['memory']['sub_cgroup']['test_cgroup_a']['value']['usage']
    assert samples[('slicekeeper_tasks', a)] == record['pids']['sub_cgroup']['test_cgroup_a']['value']['current']
    root = (('group', ''), ('slice', '-.slice'))
    assert samples[('slicekeeper_cpu_usage_seconds_total', root)] == record['cpu']['value']['usage'] / 1e9
    for dev, io in record['blkio']['value'].items():
        key = (('device', dev), ('group', ''), ('operation', 'read'), ('slice', '-.slice'))
        assert samples[('slicekeeper_io_bytes_total', key)] == io['Read']
    assert families['slicekeeper_sweep_cpu_seconds'].type == 'counter' and 'slicekeeper_last_sweep_cpu_seconds' in families
    assert samples[('slicekeeper_sweeps_total', ())] >= 2
    assert families['slicekeeper_cpu_usage_seconds'].type == 'counter'
    health = urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=10).read()
    assert health == b'ok\n'


def test_a_tree_change_keeps_the_open_files_and_opens_the_rest_in_batches(daemon, slices):
    """Issue 12: a tree change closes only the files of slices that left and opens new ones in batches of
    256 slices per loop iteration (a 10 000-group tree held the loop for most of a second)."""
    groups = {f'g{i}': {'conf': {'share': 100}} for i in range(300)}
    daemon.write_config()
    daemon.write_tree({'cpu': {'sub_cgroup': groups}})
    daemon.start()
    first = daemon.wait_status(lambda s: s['sampler']['slices'] == 301 and s['sampler']['slices_complete'] == 301,
                               timeout=60, what='300 groups sampled, every file open')['sampler']
    # 301 slices need at least two batches; nothing was carried over yet (the start's set was empty)
    assert first['open_batches'] >= 2 and first['carried_over'] == 0, first
    groups['g300'] = {'conf': {'share': 100}}
    del groups['g0']
    daemon.write_tree({'cpu': {'sub_cgroup': groups}})
    after = daemon.wait_status(lambda s: s['sampler']['carried_over'] > 0 and s['sampler']['slices_complete'] == 301,
                               timeout=60, what='the new group sampled')['sampler']
    # the root and 299 groups kept their files; only g300 was new and g0's were closed
    assert after['carried_over'] == 300, after
    assert after['slices'] == 301, after
