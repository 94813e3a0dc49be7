#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark: what [Redis] HostKeys=yes costs per host and tick (issue 17: at most 3 Redis commands per host
and tick, in one pipeline). One daemon with N groups (default 100) against a real redis-server on loopback,
first with HostKeys=no (cgrouparch's keys), then HostKeys=yes, each for T ticks (default 60). Reports, per
tick: the commands the daemon sent (INFO commandstats deltas: SET; HSET, EXPIRE and the heartbeat's EVAL,
whose ZADD and ZREMRANGEBYSCORE run inside it; XADD, the events, apart), the round trips (pipelines the sink
sent, from its status; and the bursts MONITOR saw from the daemon's connection), the most commands in one
tick's pipeline, and the time Redis spent on them (commandstats usec, the script's inner commands included).
Then a backlog: Redis holds writes for P seconds (CLIENT PAUSE WRITE, default 5) and the seconds that waited
leave in one pipeline: an HSET and an EXPIRE each and one EVAL. With more than 64 groups a record has no
per-group fields (only '*'); --groups 50 shows the split.

    /usr/bin/python3 bench/redis-tick-bench.py --build build [--groups 100] [--ticks 60] [--pause 5]"""
import argparse
import json
import os
import re
import socket
import time

import redis
from sample import REPO, status, testbed, write  # noqa: E402 (sample.py puts tests/ on the path)
from servers import RedisServer  # noqa: E402
from test_host_keys import bursts  # noqa: E402 (the test's reading of MONITOR: runs of one client's commands)

NODE = 'bench-node-001'
COMMANDS = ('set', 'hset', 'expire', 'eval', 'zadd', 'zremrangebyscore', 'xadd')
SENT = ('SET', 'HSET', 'EXPIRE', 'EVAL', 'ZADD', 'ZREMRANGEBYSCORE')
LINE = re.compile(r'^\+(\d+\.\d+) \[\d+ ([^\]]+)\] "([A-Za-z]+)"')


def commandstats(client):
    return {k[len('cmdstat_'):]: v for k, v in client.info('commandstats').items()}


class Monitor:
    """MONITOR on its own connection, read without blocking between polls."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.sock.sendall(b'MONITOR\r\n')
        self.sock.setblocking(False)
        self.buf = b''
        self.commands = []  # (time, client, [NAME]), as the test's Monitor

    def poll(self):
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except BlockingIOError:
                break
            if not data:
                break
            self.buf += data
        *lines, self.buf = self.buf.split(b'\r\n')
        for line in lines:
            m = LINE.match(line.decode(errors='replace'))
            if m and m.group(3).upper() in SENT and m.group(2) != 'lua':  # not what a script ran
                self.commands.append((float(m.group(1)), m.group(2), [m.group(3).upper()]))

    def close(self):
        self.sock.close()


def wait_ticks(tb, build, n):
    start = status(tb, build)['sampler']['ticks']
    testbed.wait_for(lambda: status(tb, build)['sampler']['ticks'] >= start + n, n + 60, interval=1,
                     what=f'{n} ticks')


def run_mode(tb, build, server, client, n, ticks, pause, host_keys):
    mode = 'yes' if host_keys else 'no'
    client.flushall()
    client.config_resetstat()
    write(tb, '/run/bench/sk.conf', f'[Source]\nFile=/run/bench/tree.json\n[Slices]\nRoot=bench\n'
                                    f'[Tasks]\nUpdateIntervalSec=3600\n[Web]\nListen=\n[Node]\nName={NODE}\n'
                                    f'[Redis]\nAddress={server.address}\nHostKeys={mode}\n')
    tb.run(['systemctl', 'reset-failed', 'skd'], check=False)
    tb.run(['systemd-run', '--unit=skd', '-p', 'Type=notify', f'{build}/slicekeeperd',
            '--config=/run/bench/sk.conf'])
    try:
        testbed.wait_for(lambda: (lambda s: s['sampler']['slices'] == s['sampler']['slices_complete'] == n + 1
                                  and s['redis']['state'] == 'up')(status(tb, build)), 300, interval=1,
                         what=f'{n} groups sampled, Redis up')
        wait_ticks(tb, build, 2)
        mon = Monitor(server.port)
        s0, c0 = status(tb, build)['redis'], commandstats(client)
        t0 = status(tb, build)['sampler']['ticks']
        wait_ticks(tb, build, ticks)
        s1, c1 = status(tb, build)['redis'], commandstats(client)
        t1 = status(tb, build)['sampler']['ticks']
        mon.poll()
        seen = bursts(mon.commands)
        done = t1 - t0
        calls = {k: c1.get(k, {}).get('calls', 0) - c0.get(k, {}).get('calls', 0) for k in COMMANDS}
        usec = sum(c1.get(k, {}).get('usec', 0) - c0.get(k, {}).get('usec', 0) for k in COMMANDS[:-1])
        # a script's ZADD and ZREMRANGEBYSCORE count in commandstats too: sent only without the script
        data = calls['set'] + calls['hset'] + calls['expire'] + calls['eval'] + \
            (0 if calls['eval'] else calls['zadd'] + calls['zremrangebyscore'])
        pipelines = s1['pipelines'] - s0['pipelines']
        key = client.keys('cgroup_arch/*account/*')[0]
        if host_keys:
            fields = client.hgetall(key)
            record = len(fields[b'*'])
            split = f', hash of {len(fields)} fields, {sum(len(v) for v in fields.values())} bytes'
        else:
            record, split = len(client.get(key)), ''
        print(f'HostKeys={mode}, {n} groups (record {record} bytes{split}), {done} ticks: '
              f'{data / done:.3f} commands per tick (SET {calls["set"]}, HSET {calls["hset"]}, EXPIRE '
              f'{calls["expire"]}, EVAL {calls["eval"]}; inside it ZADD {calls["zadd"]}, ZREMRANGEBYSCORE '
              f'{calls["zremrangebyscore"]}; XADD {calls["xadd"]} apart), '
              f'{pipelines / done:.3f} round trips per tick (sink pipelines {pipelines}, MONITOR bursts '
              f'{len(seen)}, largest burst {max((len(b) for b in seen), default=0)} commands), '
              f'commands_per_tick_max {s1["commands_per_tick_max"]}, Redis time {usec / max(data, 1):.1f} µs '
              f'per command, {usec / done:.1f} µs per tick', flush=True)

        # the backlog
        mon.commands.clear()
        client.execute_command('CLIENT', 'PAUSE', str(pause * 1000), 'WRITE')
        time.sleep(pause + 1.5)
        testbed.wait_for(lambda: status(tb, build)['redis']['backlog'] == 0, 30, interval=0.2,
                         what='the backlog sent')
        mon.poll()
        mon.close()
        big = max(bursts(mon.commands), key=len)
        names = [c[2][0] for c in big]
        s2 = status(tb, build)['redis']
        # a pipeline of HostKeys=yes ends with its EVAL: cut there
        shown = ' '.join(names).replace('EVAL HSET', 'EVAL | HSET')
        print(f'HostKeys={mode}, after a {pause} s pause: largest burst {len(big)} commands ({names.count("SET")} '
              f'SET, {names.count("HSET")} HSET, {names.count("EXPIRE")} EXPIRE, {names.count("EVAL")} EVAL): '
              f'{shown}; sink pipeline_commands_max '
              f'{s2["pipeline_commands_max"]}, commands_per_tick_max {s2["commands_per_tick_max"]}', flush=True)
        return {'mode': mode, 'ticks': done, 'calls': calls, 'pipelines': pipelines, 'bursts': len(seen),
                'commands_per_tick_max': s1['commands_per_tick_max'], 'usec': usec,
                'backlog_burst': names}
    finally:
        tb.run(['systemctl', 'stop', 'skd'], check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', default=os.path.join(REPO, 'build'))
    ap.add_argument('--groups', type=int, default=100)
    ap.add_argument('--ticks', type=int, default=60)
    ap.add_argument('--pause', type=int, default=5)
    ap.add_argument('--json', action='store_true', help='also print the numbers as one JSON line')
    args = ap.parse_args()
    build, n = os.path.abspath(args.build), args.groups
    server = RedisServer().start()
    try:
        client = redis.Redis(host='127.0.0.1', port=server.port)
        with testbed.Testbed(binds=[REPO]) as tb:
            tb.run(['mkdir', '-p', '/run/bench'])
            write(tb, '/run/bench/tree.json', json.dumps({'slices': {f'g{i:04d}': {} for i in range(n)}}))
            results = [run_mode(tb, build, server, client, n, args.ticks, args.pause, hk) for hk in (False, True)]
        if args.json:
            print(json.dumps(results))
    finally:
        server.close()


if __name__ == '__main__':
    main()
