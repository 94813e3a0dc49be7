#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark: the fleet query (issue 17) at 500 simulated hosts. Target: one group over 10 s in <= 50 ms and
<= 3 round trips.

    /usr/bin/python3 bench/fleet-bench.py --build build [--hosts 500] [--seconds 10] [--runs 50] [--group services/db]

A real redis-server on loopback gets, for every host, the records of its last S seconds as daemons with
[Redis] HostKeys=yes write them (<R>/host/<node>/account/<sec>: a hash with the whole record in field '*' and
each top-level group's part in its own field, as tests/integration/host_keys_layout.py computes it, EX 300;
and the <R>/hosts heartbeat): the
record of a tree of 11 groups (4 top-level, 7 below) with every controller (cpu, blkio on two devices, memory,
pids, pressure) and 5 users, in the daemon's compact shape. Then, R times each, alternating:
  - `slicekeeper fleet --group G --seconds S --json --stats` (ZRANGE, then one pipeline of HMGETs of the group's
    field of each key);
  - build/fleet-naive, the naive peer: the same heartbeat read and the same answer code, but each HMGET of the
    group's field per host per second, each waiting for its answer (what a reader key by key does).
Wall time of the whole process (fork and exec included), p50 and p99, and as a floor Redis alone: the same
HMGETs from a raw socket that reads and drops the replies' bytes; round trips as the CLI counts them and the
commands Redis counts (INFO commandstats); the two answers are checked equal. --whole measures the query without a group (field '*')."""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))
import redis  # noqa: E402
import host_keys_layout  # noqa: E402
from servers import RedisServer  # noqa: E402

PREFIX = 'cgroup_arch'
TREE = {'interactive': ['alice', 'bob'], 'batch': ['low', 'high'], 'services': ['db', 'web', 'cache'], 'build': []}
USERS = {'1000': 'alice', '1001': 'bob', '1002': 'carol', '1003': 'dave', '1004': 'erin'}


DEVICES = ['8:0', '259:0', '8:16', '259:1']


def values(seed, sec, devices=2):
    """One group's values per controller at second sec: counters that grow."""
    # magnitudes of a host up for months: ns of CPU ~1e15, bytes ~1e12, operations ~1e8, stall usec ~1e10
    t = (sec % 10**5) + (seed % 997) * 10**5
    dev = lambda k: {'Read': t * 4096 * k, 'Write': t * 8192 * k, 'ReadOps': t * 3 * k, 'WriteOps': t * 5 * k}  # noqa: E731
    psi = lambda k: {'some': t * 37 * k, 'full': t * 11 * k}  # noqa: E731
    return {'cpu': {'usage': t * 12345679},
            'blkio': {d: dev(k + 1) for k, d in enumerate(DEVICES[:devices])},
            'memory': {'usage': 512 * 2**20 + seed * 4096},
            'pids': {'current': 10 + seed % 50},
            'pressure': {'cpu': psi(1), 'memory': psi(2), 'io': psi(3)}}


def record(host, sec, users=5, devices=2):
    """The daemon's record (src/sample/record.h): per controller {"value", "sub_cgroup": {...}}, then users."""
    rec = {}
    for ctl in ('cpu', 'blkio', 'memory', 'pids', 'pressure'):
        subs = {}
        for i, (group, children) in enumerate(TREE.items()):
            node = {'value': values(host * 100 + i, sec, devices)[ctl]}
            if children:
                node['sub_cgroup'] = {c: {'value': values(host * 100 + i * 10 + j, sec, devices)[ctl]}
                                      for j, c in enumerate(children)}
            subs[group] = node
        rec[ctl] = {'value': values(host, sec, devices)[ctl], 'sub_cgroup': subs}
    if users:
        rec['users'] = {uid: dict(name=name, **values(host * 7 + int(uid), sec, devices))
                        for uid, name in list(USERS.items())[:users]}
    return json.dumps(rec, separators=(',', ':'))


def commandstats(r):
    return {k[len('cmdstat_'):]: v['calls'] for k, v in r.info('commandstats').items()}


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run(argv):
    start = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f'{argv[0]} failed ({p.returncode}): {p.stderr}')
    return elapsed, p.stdout, p.stderr


def resp(args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        a = a.encode()
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    return out


def transfer_floor(port, keys, field):
    """Redis alone: the same HMGETs pipelined on a raw socket, the reply bytes read and dropped up to the answer
    of a PING sent last. Returns (seconds, bytes)."""
    request = b''.join(resp(['HMGET', k, field, host_keys_layout.GROUPS]) for k in keys) + resp(['PING'])
    buf = bytearray(1 << 20)
    with socket.create_connection(('127.0.0.1', port)) as c:
        start = time.perf_counter()
        c.sendall(request)
        got, tail = 0, b''
        while not tail.endswith(b'+PONG\r\n'):
            n = c.recv_into(buf)
            if n == 0:
                break
            got += n
            tail = (tail + bytes(buf[max(0, n - 16):n]))[-16:]
        return time.perf_counter() - start, got


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', default=os.path.join(REPO, 'build'))
    ap.add_argument('--hosts', type=int, default=500)
    ap.add_argument('--seconds', type=int, default=10)
    ap.add_argument('--runs', type=int, default=50)
    ap.add_argument('--group', default='services/db')
    ap.add_argument('--users', type=int, default=5, help='users in each record (fair share), 0..5')
    ap.add_argument('--devices', type=int, default=2, help='block devices in each group\'s blkio, 0..4')
    ap.add_argument('--whole', action='store_true', help='no group: the whole records')
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    cli, naive = os.path.join(build, 'slicekeeper'), os.path.join(build, 'fleet-naive')

    server = RedisServer().start()
    try:
        r = redis.Redis(host='127.0.0.1', port=server.port)
        # written for seconds up to now + 40: every host is live at the window's end (now + 30)
        now = int(time.time())
        last = now + 40
        size = 0
        for h in range(args.hosts):
            node = f'login{h:04d}.example.org'
            p = r.pipeline(transaction=False)
            for sec in range(now - args.seconds - 1, last + 1):
                text = record(h, sec, args.users, args.devices)
                size += len(text)
                host_keys_layout.write(r, f'{PREFIX}/host/{node}/account/{sec}', text, ex=300, pipe=p)
            p.zadd(f'{PREFIX}/hosts', {node: last})
            p.execute()
        n_records = args.hosts * (last - now + args.seconds + 2)
        print(f'{args.hosts} hosts, {args.users} users and {args.devices} devices a record, {n_records} records of {size / n_records / 1024:.1f} KiB on average '
              f'(x2 with the per-group fields), group {None if args.whole else args.group}, {args.seconds} s window')

        ours, theirs, floor = [], [], []
        group = [] if args.whole else ['--group', args.group]
        field = host_keys_layout.WHOLE if args.whole else args.group.strip('/').split('/')[0]
        # the window ends at a fixed second the records reach: every run reads a full window however long the
        # runs take
        end = now + 30
        argv_ours = [cli, 'fleet', '--redis', server.address, '--prefix', PREFIX, *group,
                     '--seconds', str(args.seconds), '--end', str(end), '--json', '--stats']
        argv_naive = [naive, server.address, PREFIX, '-' if args.whole else args.group, str(args.seconds), str(end)]
        stats = naive_stats = ''
        def sent(before, after):
            """Commands the client sent (ZRANGE, HMGET, HGET), INFO apart."""
            return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0) and k != 'info'}

        for i in range(args.runs):
            before = commandstats(r)
            out_bytes = r.info('stats')['total_net_output_bytes']
            t, out, stats = run(argv_ours)
            out_bytes = r.info('stats')['total_net_output_bytes'] - out_bytes
            cmds_ours = sent(before, commandstats(r))
            ours.append(t)
            before = commandstats(r)
            t, out_naive, naive_stats = run(argv_naive)
            cmds_naive = sent(before, commandstats(r))
            theirs.append(t)
            keys = [f'{PREFIX}/host/login{h:04d}.example.org/account/{sec}' for h in range(args.hosts)
                    for sec in range(end - args.seconds + 1, end + 1)]
            t, floor_bytes = transfer_floor(server.port, keys, field)
            floor.append(t)
            if i == 0:
                a, b = json.loads(out), json.loads(out_naive)
                a.pop('now'), b.pop('now')
                for h in list(a['hosts']) + list(b['hosts']):
                    for x in (a, b):  # age follows now, which may tick between the two runs
                        x['hosts'][h].pop('age', None)
                assert a['hosts'].keys() == b['hosts'].keys()
                # the window may move on by a second between the two runs: the seconds both hold are the same
                same = all(a['hosts'][h]['account'][s] == b['hosts'][h]['account'][s]
                           for h in a['hosts'] for s in a['hosts'][h]['account'].keys() & b['hosts'][h]['account'].keys())
                answer_bytes = len(out)
                n_secs = sum(len(h['account']) for h in a['hosts'].values())
                print(f'answer: {len(a["hosts"])} hosts, {n_secs} seconds, {answer_bytes / 1024:.0f} KiB; '
                      f'naive answer the same: {same}')
        print(f'slicekeeper fleet: p50 {percentile(ours, 50) * 1000:.1f} ms, p99 {percentile(ours, 99) * 1000:.1f} ms, '
              f'Redis commands {cmds_ours}, {out_bytes / 1024:.0f} KiB from Redis; {stats.strip()}')
        print(f'naive (HMGET each): p50 {percentile(theirs, 50) * 1000:.1f} ms, p99 {percentile(theirs, 99) * 1000:.1f} ms, '
              f'Redis commands {cmds_naive}; {naive_stats.strip()}')
        print(f'Redis alone (the same HMGETs, {floor_bytes / 1024:.0f} KiB of replies read and dropped): '
              f'p50 {percentile(floor, 50) * 1000:.1f} ms, p99 {percentile(floor, 99) * 1000:.1f} ms')
        hm = r.info('commandstats').get('cmdstat_hmget', {})
        if hm:
            print(f'Redis itself per HMGET: {hm["usec_per_call"]:.2f} us of its CPU (INFO commandstats)')
        print(f'ratio naive/fleet: p50 {percentile(theirs, 50) / percentile(ours, 50):.1f}x, '
              f'p99 {percentile(theirs, 99) / percentile(ours, 99):.1f}x')
        ok = percentile(ours, 99) <= 0.050 and 'round trips' in stats and int(stats.split(' round trips')[0].split()[-1]) <= 3
        print('target (<= 50 ms p99, <= 3 round trips):', 'met' if ok else 'NOT met')
        r.close()
    finally:
        server.close()


if __name__ == '__main__':
    main()
