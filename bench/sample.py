#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark: sampling cost, in one run on one testbed.

1. CPU per sweep at 100 and at 1000 slices (slicekeeperd's own measure of each sweep: CLOCK_PROCESS_CPUTIME
   around reading every slice's files), side by side with `systemd-cgtop -b` reading the same slices
   (its user+system CPU per iteration), as a ratio.
2. At 1000 slices with a full 300 s window: the daemon's RSS, and `show_account` with nr_slot=300 (about
   60 MB): the time from sending the request to the last byte of the answer, read by a small raw-socket
   websocket reader (python3-websocket's recv needs seconds for 60 MB: it would measure itself), with the
   daemon's CPU time for the answer, and whether the sampler kept its pace meanwhile.

Use --quick to skip the 300 s window fill (phase 2 then runs on whatever the window holds)."""
import argparse
import base64
import json
import os
import socket
import struct
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'testbed'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))
import testbed  # noqa: E402
from servers import free_port  # noqa: E402


def write(tb, path, text):
    with open(f'/proc/{tb.pid}/root{path}', 'w') as f:
        f.write(text)


def status(tb, build):
    return json.loads(tb.run([f'{build}/slicekeeper', 'status', '--json'], timeout=120).stdout)


def start_daemon(tb, build, n, port):
    tb.run(['mkdir', '-p', '/run/bench'])
    write(tb, '/run/bench/tree.json', json.dumps({'slices': {f'g{i:04d}': {} for i in range(n)}}))
    write(tb, '/run/bench/sk.conf', f'[Source]\nFile=/run/bench/tree.json\n[Slices]\nRoot=bench\n'
                                    f'[Tasks]\nUpdateIntervalSec=3600\n[Web]\nListen=127.0.0.1:{port}\n'
                                    '[Redis]\nExpireSec=300\n')
    tb.run(['systemd-run', '--unit=skd', '-p', 'Type=notify', f'{build}/slicekeeperd', '--config=/run/bench/sk.conf'])
    testbed.wait_for(lambda: sum(1 for s in status(tb, build)['slices'] if s['active_state'] == 'active') == n,
                     600, interval=1, what=f'{n} slices')


def sweep_cost(tb, build, ticks=10):
    """Average CPU per sweep over `ticks` sweeps, once every slice's files are open."""
    testbed.wait_for(lambda: status(tb, build)['sampler']['slices_complete'] == status(tb, build)['sampler']['slices'],
                     30, interval=0.5, what="every slice's files open")
    s0 = status(tb, build)['sampler']
    testbed.wait_for(lambda: status(tb, build)['sampler']['ticks'] >= s0['ticks'] + ticks, ticks + 30, interval=0.5,
                     what=f'{ticks} sweeps')
    s1 = status(tb, build)['sampler']
    print(f"  ({s1['slices']} slices, files read with {s1.get('reads', 'pread')})", flush=True)
    return (s1['sweep_cpu_usec_total'] - s0['sweep_cpu_usec_total']) / (s1['ticks'] - s0['ticks']) / 1e6


def cgtop_cost(tb, iterations=6):
    """systemd-cgtop reading the same subtree, batch mode, one iteration per second: CPU per iteration."""
    out = tb.run(['bash', '-c', f'TIMEFORMAT="%U %S"; time (systemd-cgtop -b --raw -n {iterations} -d 1 '
                                '/bench.slice > /dev/null)'], timeout=120)
    user, system = map(float, out.stderr.split()[-2:])
    return (user + system) / iterations


def daemon_rss_kib(tb):
    pid = int(tb.show('skd.service', 'MainPID'))
    out = tb.run(['grep', 'VmRSS', f'/proc/{pid}/status']).stdout
    return int(out.split()[1])


class RawWebsocket:
    """Just enough RFC 6455 to send requests and read (fragmented) text answers fast: the payload is
    gathered with recv_into into one buffer, frame headers are parsed in place."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=120)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(f'GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                          f'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n'.encode())
        head = b''
        while b'\r\n\r\n' not in head:
            head += self.sock.recv(4096)
        assert head.startswith(b'HTTP/1.1 101'), head
        self.buf = bytearray(head.split(b'\r\n\r\n', 1)[1])
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.big = bytearray(b'\1' * (80 << 20))  # touched now, not while timing

    def send(self, text):
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        head = struct.pack('!BB', 0x81, 0x80 | n) if n < 126 else struct.pack('!BBH', 0x81, 0xfe, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read_into(self, view):
        """Fills view: bytes already buffered first, then straight from the socket (no copies)."""
        k = min(len(self.buf), len(view))
        view[:k] = self.buf[:k]
        del self.buf[:k]
        while k < len(view):
            n = self.sock.recv_into(view[k:])
            if n == 0:
                raise EOFError
            k += n

    def recv(self):
        """One whole text message, its fragments joined; returns (a memoryview of it, number of frames).
        The payload lands in one buffer allocated and touched beforehand and reused: on this machine
        faulting in 64 MB of fresh pages alone takes ~0.2 s, which would be the reader's cost, not the
        daemon's. The view is valid until the next recv."""
        size, frames, head = 0, 0, bytearray(10)
        while True:
            self._read_into(memoryview(head)[:2])
            b0, b1 = head[0], head[1]
            n = b1 & 0x7f
            if n == 126:
                self._read_into(memoryview(head)[2:4])
                n = struct.unpack_from('!H', head, 2)[0]
            elif n == 127:
                self._read_into(memoryview(head)[2:10])
                n = struct.unpack_from('!Q', head, 2)[0]
            if b0 & 0x0f >= 8:  # a control frame may come between fragments
                self._read_into(memoryview(bytearray(n)))
                continue
            if size + n > len(self.big):
                self.big.extend(b'\0' * (size + n - len(self.big)))
            self._read_into(memoryview(self.big)[size:size + n])
            size += n
            frames += 1
            if b0 & 0x80:
                return memoryview(self.big)[:size], frames

    def close(self):
        self.sock.close()


def daemon_cpu_sec(tb):
    pid = int(tb.show('skd.service', 'MainPID'))
    fields = tb.run(['cat', f'/proc/{pid}/stat']).stdout.rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def show_account_latency(tb, port, nr_slot, repeat=5):
    """Latencies (send to last byte), answer size, frames, slots (or the daemon's error) and the daemon's
    CPU seconds per answer."""
    ws = RawWebsocket(port)
    times, sizes, frames, answer = [], [], 0, {}
    cpu0 = daemon_cpu_sec(tb)
    for _ in range(repeat):
        start = time.monotonic()
        ws.send(json.dumps({'cmd': 'show_account', 'args': {'nr_slot': nr_slot}}))
        view, frames = ws.recv()
        times.append(time.monotonic() - start)
        sizes.append(len(view))
        text = bytes(view)
    cpu = (daemon_cpu_sec(tb) - cpu0) / repeat  # includes 1 s ticks that fell in: an upper bound
    answer = json.loads(text)
    ws.close()
    return times, statistics.median(sizes), frames, answer.get('error') or len(answer), cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', default=os.path.join(REPO, 'build'))
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--slices', default='100,1000', help='comma-separated slice counts (default 100,1000)')
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    rows = []
    for n in map(int, args.slices.split(',')):
        with testbed.Testbed(binds=[REPO]) as tb:
            port = free_port()
            start_daemon(tb, build, n, port)
            ours = sweep_cost(tb, build)
            theirs = cgtop_cost(tb)
            rows.append((n, ours, theirs))
            print(f'{n} slices: slicekeeperd {ours * 1e6:.0f} µs per sweep ({ours * 1e6 / (n + 1):.1f} µs per slice), '
                  f'systemd-cgtop {theirs * 1e6:.0f} µs per iteration, ratio {theirs / ours:.1f}×', flush=True)
            if n == 1000:
                if not args.quick:
                    ticks = status(tb, build)['sampler']['ticks']
                    testbed.wait_for(lambda: status(tb, build)['sampler']['ticks'] >= ticks + 300, 400, interval=5,
                                     what='a full 300 s window')
                rss = daemon_rss_kib(tb)
                print(f'1000 slices, full window: daemon RSS {rss / 1024:.1f} MiB (load {os.getloadavg()[0]:.2f})',
                      flush=True)
                for nr in (300, 100, 30, 10, 1):
                    ticks0 = status(tb, build)['sampler']['ticks']
                    times, size, frames, result, cpu = show_account_latency(tb, port, nr)
                    print(f'1000 slices: show_account nr_slot={nr}: median {statistics.median(times) * 1000:.0f} ms '
                          f'(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {len(times)} runs), '
                          f'{size / 1e6:.2f} MB in {frames} frames, '
                          f'{result if isinstance(result, str) else str(result) + " slots"}, '
                          f'daemon CPU {cpu * 1000:.0f} ms per answer', flush=True)
                    lost = status(tb, build)['sampler']['ticks']
                    window = show_account_latency(tb, port, 300, repeat=1)[3]
                    print(f'   sampler meanwhile: {lost - ticks0} ticks; window still holds {window} seconds; '
                          f'RSS now {daemon_rss_kib(tb) / 1024:.1f} MiB', flush=True)
    print('\n| slices | slicekeeperd per sweep | per slice | % of one core | systemd-cgtop per iteration | ratio |')
    print('|---|---|---|---|---|---|')
    for n, ours, theirs in rows:
        print(f'| {n} | {ours * 1e6:.0f} µs | {ours * 1e6 / (n + 1):.1f} µs | {ours * 100:.2f} % | '
              f'{theirs * 1e6:.0f} µs | {theirs / ours:.1f}× |')


if __name__ == '__main__':
    main()
