#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark (issue 12): the daemon's RSS over its resting figure while 256 websocket subscribers stop
reading, at 1000 groups (a push is ~200 KB), in the namespace testbed.

The daemon samples 1000 empty groups; once every slice is sampled, its resting RSS is read; then 256
subscribers connect with a 4 KiB receive buffer, subscribe and never read again. Its VmRSS is read every
5 ms (from the host, through the testbed's /proc) for --seconds (default 45: past the default
StallTimeoutSec=30 and its check), and the peak, when it came and what `status` says of the drops are
printed. Give --build more than once (e.g. a build of the commit before the output budget, then this
one) for a row each."""
import argparse
import json
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'testbed'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))
import testbed  # noqa: E402
from servers import free_port  # noqa: E402

SUBSCRIBE = b'{"cmd": "subscribe", "args": {}}'


def write(tb, path, text):
    with open(f'/proc/{tb.pid}/root{path}', 'w') as f:
        f.write(text)


def status(tb, build):
    return json.loads(tb.run([f'{build}/slicekeeper', 'status', '--json'], timeout=120).stdout)


def rss_kib(path):
    with open(path) as f:
        return int(next(line.split()[1] for line in f if line.startswith('VmRSS:')))


def stalled_subscriber(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(('127.0.0.1', port))
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    head = b''
    while b'\r\n\r\n' not in head:
        chunk = s.recv(4096)
        assert chunk, head
        head += chunk
    assert head.startswith(b'HTTP/1.1 101'), head
    s.sendall(bytes([0x81, 0x80 | len(SUBSCRIBE)]) + b'\0\0\0\0' + SUBSCRIBE)  # masked with zeros
    return s


def run(build, groups, clients, seconds):
    with testbed.Testbed(binds=sorted({REPO, os.path.dirname(build)})) as tb:
        port = free_port()
        tb.run(['mkdir', '-p', '/run/bench'])
        write(tb, '/run/bench/tree.json', json.dumps({'slices': {f'g{i:04d}': {} for i in range(groups)}}))
        write(tb, '/run/bench/sk.conf', f'[Source]\nFile=/run/bench/tree.json\n[Slices]\nRoot=bench\n'
                                        f'[Tasks]\nUpdateIntervalSec=3600\n[Web]\nListen=127.0.0.1:{port}\n'
                                        'MaxConnectionsPerAddress=1000\n')
        tb.run(['systemd-run', '--unit=skd', '-p', 'Type=notify', f'{build}/slicekeeperd',
                '--config=/run/bench/sk.conf'])
        testbed.wait_for(lambda: (lambda s: s['slices_complete'] == s['slices'] > groups)(status(tb, build)['sampler']),
                         600, interval=1, what=f'{groups} slices sampled')
        time.sleep(3)  # pushes of every slice made before the resting figure
        path = f'/proc/{tb.pid}/root/proc/{tb.show("skd.service", "MainPID")}/status'
        rest = rss_kib(path)
        socks = [stalled_subscriber(port) for _ in range(clients)]
        started = time.monotonic()
        peak, peak_at = rest, 0.0
        while time.monotonic() - started < seconds:
            rss = rss_kib(path)
            if rss > peak:
                peak, peak_at = rss, time.monotonic() - started
            time.sleep(0.005)
        end = rss_kib(path)
        web = status(tb, build)['web']
        for s in socks:
            s.close()
        return rest, peak, peak_at, end, web


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', action='append', help='a build directory (repeat for a row each; default build)')
    ap.add_argument('--groups', type=int, default=1000)
    ap.add_argument('--clients', type=int, default=256)
    ap.add_argument('--seconds', type=float, default=45)
    args = ap.parse_args()
    rows = []
    for build in args.build or [os.path.join(REPO, 'build')]:
        build = os.path.abspath(build)
        rest, peak, peak_at, end, web = run(build, args.groups, args.clients, args.seconds)
        drops = ', '.join(f'{k} {v}' for k, v in web.items() if k.startswith('dropped'))
        rows.append((build, rest, peak, peak_at, end, web.get('clients'), drops))
        print(f'{build}: RSS resting {rest / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB (+{(peak - rest) / 1024:.1f}, '
              f'{peak_at:.1f} s after the subscribers came), after {args.seconds:g} s {end / 1024:.1f} MiB; '
              f'clients left {web.get("clients")}; {drops}', flush=True)
    print(f'\n{args.clients} stalled subscribers, {args.groups} groups, {args.seconds:g} s:\n')
    print('| build | RSS resting | peak | over resting | peak after | RSS at the end | clients left | drops |')
    print('|---|---|---|---|---|---|---|---|')
    for build, rest, peak, peak_at, end, left, drops in rows:
        print(f'| {build} | {rest / 1024:.1f} MiB | {peak / 1024:.1f} MiB | **+{(peak - rest) / 1024:.1f} MiB** | '
              f'{peak_at:.1f} s | {end / 1024:.1f} MiB | {left} | {drops} |')


if __name__ == '__main__':
    main()
