#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark: sampling cost, in one run on one testbed.

1. CPU per sweep at 100 and at 1000 slices (slicekeeperd's own measure of each sweep: CLOCK_PROCESS_CPUTIME
   around reading every slice's files), side by side with `systemd-cgtop -b` reading the same slices
   (its user+system CPU per iteration), as a ratio.
2. At 1000 slices with a full 300 s window: `show_account` with nr_slot=300 (latency over a websocket)
   and the daemon's RSS.

Use --quick to skip the 300 s window fill (phase 2 then runs on whatever the window holds)."""
import argparse
import json
import os
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


def show_account_latency(port, nr_slot, repeat=5):
    """Median latency, answer size and number of slots (or the error the daemon answered)."""
    import websocket
    ws = websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=120)
    times, sizes, answer = [], [], {}
    for _ in range(repeat):
        start = time.monotonic()
        ws.send(json.dumps({'cmd': 'show_account', 'args': {'nr_slot': nr_slot}}))
        text = ws.recv()
        times.append(time.monotonic() - start)
        sizes.append(len(text))
        answer = json.loads(text)
    ws.close()
    return statistics.median(times), statistics.median(sizes), answer.get('error') or len(answer)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', default=os.path.join(REPO, 'build'))
    ap.add_argument('--quick', action='store_true')
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    rows = []
    for n in (100, 1000):
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
                print(f'1000 slices, full window: daemon RSS {rss / 1024:.1f} MiB', flush=True)
                for nr in (300, 100, 30, 10, 1):
                    latency, size, result = show_account_latency(port, nr)
                    print(f'1000 slices: show_account nr_slot={nr}: {latency * 1000:.0f} ms, {size / 1e6:.2f} MB, '
                          f'{result if isinstance(result, str) else str(result) + " slots"}', flush=True)
    print('\n| slices | slicekeeperd per sweep | per slice | % of one core | systemd-cgtop per iteration | ratio |')
    print('|---|---|---|---|---|---|')
    for n, ours, theirs in rows:
        print(f'| {n} | {ours * 1e6:.0f} µs | {ours * 1e6 / (n + 1):.1f} µs | {ours * 100:.2f} % | '
              f'{theirs * 1e6:.0f} µs | {theirs / ours:.1f}× |')


if __name__ == '__main__':
    main()
