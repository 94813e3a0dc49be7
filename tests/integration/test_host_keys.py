# SPDX-License-Identifier: MIT
"""Observed state per host (issue 17): [Redis] HostKeys=yes writes each second under the node's own key, a hash
with the whole record in field '*' and each top-level group's part in a field of its own, with a heartbeat in
<prefix>/hosts: HSET, EXPIRE and one EVAL (ZADD GT and the day-old prune) per tick in one pipeline; HostKeys=no (the default) writes
cgrouparch's unqualified key and nothing else; [Web] MetricsNodeLabel=yes puts node="..." on every series.
Against the testbed's systemd and a real redis-server, watched with MONITOR and INFO commandstats."""
import json
import re
import socket
import threading
import time
import urllib.request

import redis
from prometheus_client.parser import text_string_to_metric_families

import host_keys_layout
from conftest import EXAMPLE_TREE, EXAMPLE_UNITS, wait_for
from servers import free_port
from test_redis_history import show_account_text

NODE = 'login-07.test'
HOST_KEYS = f'cgroup_arch/host/{NODE}/account/'
HOSTS = 'cgroup_arch/hosts'
DAY = 86400


def start(daemon, slices, redis_address, port, extra='', web=''):
    daemon.write_config(f'[Node]\nName={NODE}\n[Web]\nListen=127.0.0.1:{port}\n{web}'
                        f'[Redis]\nAddress={redis_address}\n' + extra)
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the example slices')


def seconds(r, prefix):
    return sorted(int(k.decode().rsplit('/', 1)[1]) for k in r.keys(prefix + '*'))


def commandstats(r):
    """{command: calls} from INFO commandstats."""
    return {k[len('cmdstat_'):]: v['calls'] for k, v in r.info('commandstats').items()}


def metric_samples(port):
    text = urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=10).read().decode()
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


class Monitor:
    """MONITOR on a connection of its own: each command Redis runs, with its time and client."""
    LINE = re.compile(r'^\+(\d+\.\d+) \[\d+ ([^\]]+)\] (.*)$')

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.sock.sendall(b'MONITOR\r\n')
        self.buf = b''
        self.lines = []
        assert self._line() == '+OK'

    def _line(self):
        while b'\r\n' not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError('MONITOR connection closed')
            self.buf += data
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line.decode(errors='replace')

    def read_until(self, predicate, timeout, what):
        """Commands as (time, client, [args]) until predicate(commands) holds; polled with a deadline."""
        deadline = time.monotonic() + timeout
        while not predicate(self.lines):
            if time.monotonic() > deadline:
                raise AssertionError(f'{what}: not within {timeout} s; seen {self.lines[-20:]}')
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            m = self.LINE.match(self._line())
            if m:
                args = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(3))
                self.lines.append((float(m.group(1)), m.group(2), args))
        return self.lines

    def close(self):
        self.sock.close()


def daemon_commands(lines, names=('SET', 'HSET', 'EXPIRE', 'EVAL', 'ZADD', 'ZREMRANGEBYSCORE', 'XADD')):
    """The commands clients sent (not those a script ran: MONITOR shows them as client "lua")."""
    return [c for c in lines if c[2] and c[2][0].upper() in names and c[1] != 'lua']


def bursts(commands, gap=0.25):
    """Commands of one client in runs with less than `gap` seconds between them: one pipeline each (the daemon
    sends once a second)."""
    out = []
    for c in commands:
        if out and c[0] - out[-1][-1][0] < gap and c[1] == out[-1][-1][1]:
            out[-1].append(c)
        else:
            out.append([c])
    return out


def pipelines(commands):
    """The daemon's commands cut after each heartbeat: a pipeline is its HSETs and EXPIREs and one EVAL (two
    pipelines sent back to back are one burst)."""
    out = []
    for c in commands:
        if not out or (c[2][0] == 'HSET' and any(x[2][0] == 'EVAL' for x in out[-1])):
            out.append([])
        out[-1].append(c)
    return out


def test_host_keys_per_node_with_heartbeat(daemon, slices, redis_server):
    port = free_port()
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    now = int(time.time())
    # another host alive, and one silent for more than a day: the first heartbeat pipeline drops that one
    r.zadd(HOSTS, {'other-host': now, 'gone-host': now - DAY - 100})
    mon = Monitor(redis_server.port)
    try:
        start(daemon, slices, redis_server.address, port, extra='HostKeys=yes\n', web='MetricsNodeLabel=yes\n')
        wait_for(lambda: len(seconds(r, HOST_KEYS)) >= 3, 10, what='three seconds under the host key')
        assert seconds(r, 'cgroup_arch/account/') == []
        last = seconds(r, HOST_KEYS)[-2]  # one the daemon has had for a while
        assert r.type(f'{HOST_KEYS}{last}') == b'hash'
        assert 0 < r.ttl(f'{HOST_KEYS}{last}') <= 300

        # the hash: '*' is the record the daemon answers, byte for byte; one field per top-level group, each the
        # record cut to it; '/groups' their number
        fields = {k.decode(): v.decode() for k, v in r.hgetall(f'{HOST_KEYS}{last}').items()}
        assert show_account_text(port, start_slot=last, end_slot=last) == f'{{"{last}":{fields["*"]}}}'
        record = json.loads(fields['*'])
        groups = sorted(EXAMPLE_TREE['cpu']['sub_cgroup'])
        assert sorted(set(fields) - {'*', '/groups'}) == groups, sorted(fields)
        assert fields['/groups'] == str(len(groups))
        for g in groups:
            assert json.loads(fields[g]) == host_keys_layout.cut(record, g), g
            assert 'cpu' in json.loads(fields[g]), fields[g]
        assert host_keys_layout.split(fields['*']).keys() == fields.keys()

        # the heartbeat: the node with a recent score, advancing; the silent host gone, the other kept
        first = r.zscore(HOSTS, NODE)
        assert first is not None and first >= time.time() - 5, first
        daemon.wait_ticks(2)
        assert r.zscore(HOSTS, NODE) > first
        assert set(m.decode() for m in r.zrange(HOSTS, 0, -1)) == {NODE, 'other-host'}
        assert r.zscore(HOSTS, NODE) >= max(seconds(r, HOST_KEYS)) - 1

        # ~5 ticks: INFO commandstats deltas against the sink's own counters
        steady = time.time()  # the start's seconds (maybe sampled before the connection) are behind
        s0 = daemon.status()['redis']
        c0 = commandstats(r)
        daemon.wait_ticks(5)
        s1 = daemon.status()['redis']
        c1 = commandstats(r)
        delta = {k: c1.get(k, 0) - c0.get(k, 0) for k in ('set', 'hset', 'expire', 'eval', 'xadd')}
        n_pipelines = s1['pipelines'] - s0['pipelines']
        written = s1['written'] - s0['written']
        print(f'HostKeys=yes over {n_pipelines} pipelines: commandstats deltas {delta}; sink status '
              f'commands_per_tick_max={s1["commands_per_tick_max"]} '
              f'pipeline_commands_max={s1["pipeline_commands_max"]}')
        assert n_pipelines >= 5
        # the status is read between ticks: Redis may have taken one more pipeline than the sink counted
        assert written <= delta['hset'] <= written + 1, (delta, written)
        assert abs(delta['expire'] - delta['hset']) <= 1 and delta['set'] == 0, delta
        assert n_pipelines - 1 <= delta['eval'] <= n_pipelines + 1, (delta, n_pipelines)
        assert delta['hset'] + delta['expire'] + delta['eval'] <= 3 * (n_pipelines + 1), delta
        assert s1['host_keys'] is True and s1['node'] == NODE and s1['heartbeat'] == 'script', s1
        assert s1['account_key'] == HOST_KEYS and s1['hosts_key'] == HOSTS
        assert s1['commands_per_tick_max'] == 3, s1
        assert s1['split_seconds'] >= written and s1['whole_seconds'] == 0, s1
        assert s1['hosts_pruned'] == 1 and s1['heartbeat_errors'] == 0 and s1['errors'] == 0, s1

        # MONITOR: the daemon's commands come in runs of exactly 3 (HSET, EXPIRE, EVAL), from one connection, the
        # EVAL naming the second of its run's HSET; the script runs ZREMRANGEBYSCORE each time
        lines = mon.read_until(lambda ls: sum(1 for c in daemon_commands(ls) if c[2][0] == 'HSET' and c[0] > steady)
                               >= 6, 20, what='six HSETs seen by MONITOR since the start settled')
        runs = bursts(daemon_commands(lines, ('SET', 'HSET', 'EXPIRE', 'EVAL', 'ZADD', 'ZREMRANGEBYSCORE')))
        clients = {c[1] for run in runs for c in run}
        assert len(clients) == 1, clients
        steady_runs = [run for run in runs[:-1] if run[0][0] > steady]  # the last may be cut by the window
        assert len(steady_runs) >= 4, runs
        for run in steady_runs:
            names = [c[2][0] for c in run]
            assert names == ['HSET', 'EXPIRE', 'EVAL'], run
            key = run[0][2][1]
            sec = key.rsplit('/', 1)[1]
            assert run[0][2][2:6] == ['*', run[0][2][3], '/groups', '2'], run[0][2][:6]
            assert run[1][2] == ['EXPIRE', key, run[1][2][2]] and 0 < int(run[1][2][2]) <= 300, run[1]
            assert run[2][2][2:] == ['1', HOSTS, sec, NODE, f'({int(sec) - DAY}'], (run[2][2], sec)
            assert run[-1][0] - run[0][0] < 0.05, run  # one pipeline: no round trip between them
        scripted = [c[2][0] for c in lines if c[1] == 'lua']
        assert 'ZREMRANGEBYSCORE' in scripted and 'ZADD' in scripted, scripted[:10]

        # A backlog (Redis holds writes for 3 s): its seconds go in one pipeline, one SET each and ONE ZADD
        # with the newest second.
        before = len(mon.lines)
        r.execute_command('CLIENT', 'PAUSE', '3000', 'WRITE')
        done = time.monotonic() + 3
        wait_for(lambda: time.monotonic() > done, 5, what='the pause over')
        lines = mon.read_until(lambda ls: any(len([c for c in p if c[2][0] == 'HSET']) >= 2 and
                                              any(c[2][0] == 'EVAL' for c in p)
                                              for p in pipelines(daemon_commands(ls[before:], ('HSET', 'EVAL')))),
                               10, what='a pipeline of several seconds after the pause')
        run = next(p for p in pipelines(daemon_commands(lines[before:], ('HSET', 'EVAL')))
                   if len([c for c in p if c[2][0] == 'HSET']) >= 2)
        sets = [int(c[2][1].rsplit('/', 1)[1]) for c in run if c[2][0] == 'HSET']
        evals = [c[2] for c in run if c[2][0] == 'EVAL']
        print(f'after a 3 s pause: one pipeline of {len(sets)} HSETs (and EXPIREs) and {len(evals)} EVAL')
        assert sets == sorted(sets) and len(evals) == 1 and evals[0][4] == str(sets[-1]), run
        s2 = daemon.wait_status(lambda s: s['redis']['backlog'] == 0, 5, what='the backlog sent')['redis']
        assert s2['pipeline_commands_max'] >= 2 * len(sets) + 1 and s2['commands_per_tick_max'] <= 3, s2
    finally:
        mon.close()

    # node label on every series of /metrics
    samples = metric_samples(port)
    assert samples and all(s.labels.get('node') == NODE for s in samples), \
        [s for s in samples if s.labels.get('node') != NODE][:5]

    # A restart reads the window back from the host keys
    daemon.stop()
    written = seconds(r, HOST_KEYS)
    start(daemon, slices, redis_server.address, port, extra='HostKeys=yes\n')
    fill = daemon.wait_status(lambda s: s['redis'].get('fill', {}).get('state') == 'done', 10,
                              what='the fill done')['redis']['fill']
    assert fill['account_key'] == HOST_KEYS, fill
    assert fill['filled'] + fill['present'] >= len(written) - 2 and fill['filled'] >= 3, (fill, len(written))
    assert seconds(r, 'cgroup_arch/account/') == []
    daemon.stop_cleanly()


def test_default_keeps_cgrouparch_keys_and_no_node_label(daemon, slices, redis_server):
    port = free_port()
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    start(daemon, slices, redis_server.address, port)
    wait_for(lambda: len(seconds(r, 'cgroup_arch/account/')) >= 3, 10, what='three records in Redis')
    s0 = daemon.status()['redis']
    c0 = commandstats(r)
    daemon.wait_ticks(5)
    s1 = daemon.status()['redis']
    c1 = commandstats(r)
    print(f'HostKeys=no over {s1["pipelines"] - s0["pipelines"]} pipelines: SET +{c1["set"] - c0["set"]}, '
          f'ZADD +{c1.get("zadd", 0) - c0.get("zadd", 0)}, commands_per_tick_max={s1["commands_per_tick_max"]}')
    assert 'zadd' not in c1 and 'zremrangebyscore' not in c1, c1
    assert r.exists(HOSTS) == 0 and r.keys('cgroup_arch/host/*') == []
    assert s1['host_keys'] is False and 'node' not in s1 and s1['account_key'] == 'cgroup_arch/account/'
    assert s1['commands_per_tick_max'] == 1, s1
    samples = metric_samples(port)
    assert samples and not any('node' in s.labels for s in samples)
    daemon.stop_cleanly()


def test_metrics_node_label_without_host_keys(daemon, slices, redis_server):
    """The two keys are apart: the label without host keys."""
    port = free_port()
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    daemon.write_config(f'[Node]\nName={NODE}\n[Web]\nListen=127.0.0.1:{port}\nMetricsNodeLabel=yes\n'
                        f'[Redis]\nAddress={redis_server.address}\n')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    wait_for(lambda: len(seconds(r, 'cgroup_arch/account/')) >= 2, 10, what='two records in Redis')
    samples = metric_samples(port)
    names = {s.name for s in samples}
    assert 'slicekeeper_cpu_usage_seconds_total' in names and 'slicekeeper_sweeps_total' in names
    assert all(s.labels.get('node') == NODE for s in samples)
    assert r.exists(HOSTS) == 0
    daemon.stop_cleanly()


class OldRedis:
    """A Redis before 6.2 that runs no scripts (an ACL, a proxy) as far as the daemon can tell: RESP on loopback,
    EVAL refused with "ERR unknown command", ZADD GT refused with "ERR syntax error" (what 6.0 answers),
    everything else taken. Keeps the commands it was sent."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.commands = []
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.listener.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            self.connections += 1
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(args):
        name = args[0].upper()
        if name == b'ZADD':
            return b'-ERR syntax error\r\n' if b'GT' in [a.upper() for a in args[2:-2]] else b':1\r\n'
        if name == b'EVAL':
            return b"-ERR unknown command 'EVAL', with args beginning with: \r\n"
        if name in (b'ZREMRANGEBYSCORE', b'DEL', b'HSET', b'EXPIRE'):
            return b':0\r\n'
        if name == b'HGET':
            return b'$-1\r\n'
        if name == b'MGET':
            return b'*%d\r\n' % (len(args) - 1) + b'$-1\r\n' * (len(args) - 1)
        if name == b'XADD':
            return b'$15\r\n1700000000000-0\r\n'
        return b'+OK\r\n'

    def _client(self, conn):
        buf = b''
        conn.settimeout(0.2)

        def need(n):
            nonlocal buf
            while len(buf) < n:
                if self.stop:
                    raise EOFError
                try:
                    data = conn.recv(1 << 20)
                except socket.timeout:
                    continue
                if not data:
                    raise EOFError
                buf += data

        def line():
            nonlocal buf
            while b'\r\n' not in buf:
                need(len(buf) + 1)
            out, buf = buf.split(b'\r\n', 1)
            return out

        try:
            while True:
                head = line()
                assert head[:1] == b'*', head
                args = []
                for _ in range(int(head[1:])):
                    n = int(line()[1:])
                    need(n + 2)
                    args.append(buf[:n])
                    buf = buf[n + 2:]
                self.commands.append([args[0].upper().decode()] + [a.decode(errors='replace') for a in args[1:2]] +
                                     ([a.decode(errors='replace') for a in args[2:]] if args[0].upper() == b'ZADD'
                                      else []))
                conn.sendall(self._answer(args))
        except (EOFError, OSError):
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.listener.close()


def test_a_redis_without_scripts_or_zadd_gt_gets_a_plain_zadd(daemon, slices):
    """A Redis that runs no scripts: the heartbeat's EVAL refused turns it into ZADD GT (without the prune), and
    before 6.2 there is no ZADD GT: its first refusal turns GT off (each said once in the journal), with no
    reconnect and no outage; the heartbeat then goes as a plain ZADD, one per tick."""
    server = OldRedis()
    try:
        start(daemon, slices, f'127.0.0.1:{server.port}', free_port(), extra='HostKeys=yes\n')

        def plain_zadds():
            return [c for c in server.commands if c[0] == 'ZADD' and 'GT' not in c]
        wait_for(lambda: len(plain_zadds()) >= 3, 15, what='three plain ZADDs')
        zadds = [c for c in server.commands if c[0] == 'ZADD']
        assert zadds[0] == ['ZADD', HOSTS, 'GT', zadds[0][3], NODE], zadds[0]
        assert all(c == ['ZADD', HOSTS, c[2], NODE] for c in zadds[1:]), zadds
        s = daemon.status()['redis']
        assert [c[0] for c in server.commands if c[0] in ('EVAL', 'ZADD')][0] == 'EVAL'
        assert len([c for c in server.commands if c[0] == 'EVAL']) == 1
        assert s['zadd_gt'] is False and s['heartbeat'] == 'zadd' and s['heartbeat_errors'] == 2, s
        assert s['heartbeats'] >= 3, s
        assert s['reconnects'] == 0 and s['state'] == 'up' and s['errors'] == 0, s
        assert s['commands_per_tick_max'] <= 3, s
        assert server.connections == 2  # the sink and the fill, once each
        assert daemon.journal(full=True).count('does not take ZADD GT') == 1
        assert daemon.journal(full=True).count("does not run the heartbeat's script") == 1
        daemon.stop_cleanly()
    finally:
        server.close()
