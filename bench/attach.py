#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark: put N existing processes into a group, three ways, in one run on one testbed.

1. slicekeeperd: N pid files (a glob), one attach pass (StartTransientUnit with all PIDs at once).
2. a loop of `systemd-run --scope --slice=...` (how a process gets into a slice without us: one
   transient scope per process, the way cgexec users would do it with systemd).
3. libcgroup's `cgclassify -g cpu,memory,pids:/GROUP PID...` (one call, all pids; writes cgroupfs
   behind systemd's back, as cgrouparch did).

Prints processes per second for each and the ratios; with --markdown, a table for bench/RESULTS.md.
With --local it uses the machine's own systemd instead of the namespace testbed: that is how
bench/vm-attach.sh runs it inside tests/vm's pure cgroup v2 guest, where every path below is the one
hierarchy (cgclassify then writes that one hierarchy too)."""
import argparse
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'testbed'))
import testbed  # noqa: E402


def hierarchy(tb, controller):
    """Where a v1 controller's hierarchy is, as seen inside; on pure v2 every controller is in one."""
    return '/sys/fs/cgroup' if tb.layout == 'v2' else f'/sys/fs/cgroup/{controller}'


def spawn(tb, unit, n, piddir):
    """N sleeping processes under one service, each with its own pid file."""
    tb.run(['mkdir', '-p', piddir])
    tb.run(['systemd-run', f'--unit={unit}', 'sh', '-c',
            f'for i in $(seq {n}); do sleep 100000 & echo $! > {piddir}/$i.pid; done; wait'])
    testbed.wait_for(lambda: int(tb.run(['sh', '-c', f'ls {piddir} | wc -l']).stdout) >= n, 60,
                     what=f'{n} pid files in {piddir}')
    return [int(x) for x in tb.run(['sh', '-c', f'cat {piddir}/*.pid']).stdout.split()]


def bench_slicekeeper(tb, build, n):
    spawn(tb, 'bench-sk', n, '/run/bench/sk')
    tb.run(['mkdir', '-p', '/run/bench/conf'])
    with open(tb.host_path('/run/bench/conf/tree.json'), 'w') as f:
        json.dump({'slices': {'bench_sk': {'pid_files': ['/run/bench/sk/*.pid']}}}, f)
    with open(tb.host_path('/run/bench/conf/sk.conf'), 'w') as f:
        f.write('[Source]\nFile=/run/bench/conf/tree.json\n[Tasks]\nUpdateIntervalSec=3600\n')
    tb.run(['systemd-run', '--unit=skd', '-p', 'Type=notify', f'{build}/slicekeeperd',
            '--config=/run/bench/conf/sk.conf', '--log-level=debug'])
    pattern = re.compile(r'Attach pass moved (\d+) process\(es\) in (\d+) us')
    prepared = re.compile(r'Attach pass prepared in (\d+) us')

    def moved():
        out = tb.run(['journalctl', '-u', 'skd', '-o', 'cat', '--no-pager']).stdout
        return [(int(a), int(b)) for a, b in pattern.findall(out)]
    testbed.wait_for(lambda: sum(m for m, _ in moved()) >= n, 120, what=f'slicekeeperd to move {n} processes')
    passes = moved()
    assert len(passes) == 1 and passes[0][0] == n, f'expected one pass moving {n}: {passes}'
    in_scope = tb.run(['sh', '-c', f'cat {hierarchy(tb, "pids")}/bench_sk.slice/bench_sk.scope/cgroup.procs | wc -l'])
    assert int(in_scope.stdout) == n, in_scope.stdout
    journal = tb.run(['journalctl', '-u', 'skd', '-o', 'cat', '--no-pager']).stdout
    # The last preparation before the moving pass ended: our own share (pid files, /proc, scope members).
    before_move = journal[:journal.index('Attach pass moved')]
    own = int(prepared.findall(before_move)[-1]) / 1e6
    return passes[0][1] / 1e6, own


def bench_systemd_run(tb, n):
    # The loop runs inside the testbed, so nsenter's cost is not counted.
    out = tb.run(['sh', '-c', f'start=$(date +%s%N); for i in $(seq {n}); do '
                              'systemd-run --quiet --scope --slice=bench_run.slice true || exit 1; done; '
                              'end=$(date +%s%N); echo $((end - start))'], timeout=1800).stdout
    return int(out.split()[-1]) / 1e9


def bench_cgclassify(tb, n):
    pids = spawn(tb, 'bench-cg', n, '/run/bench/cg')
    for ctl in ('cpu', 'memory', 'pids'):
        tb.run(['mkdir', '-p', f'{hierarchy(tb, ctl)}/bench_cg'])
    out = tb.run(['sh', '-c', 'start=$(date +%s%N); cgclassify -g cpu,memory,pids:/bench_cg $(cat /run/bench/cg/*.pid); '
                              'rc=$?; end=$(date +%s%N); echo $rc $((end - start))'], timeout=600).stdout.split()
    assert out[-2] == '0', f'cgclassify failed: {out}'
    moved = int(tb.run(['sh', '-c', f'wc -l < {hierarchy(tb, "pids")}/bench_cg/cgroup.procs']).stdout)
    assert moved == n, f'cgclassify moved {moved} of {n} ({len(pids)} spawned)'
    return int(out[-1]) / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--count', type=int, default=1000)
    ap.add_argument('--build', default=os.path.join(REPO, 'build'))
    ap.add_argument('--markdown', action='store_true')
    ap.add_argument('--local', action='store_true', help="this machine's systemd (tests/vm's guest)")
    args = ap.parse_args()
    n = args.count
    if args.local:
        import localsystem
        bed = localsystem.LocalSystem(cleanup_paths=['/run/bench'])
    else:
        bed = testbed.Testbed(binds=[REPO])
    with bed as tb:
        sk_total, sk_own = bench_slicekeeper(tb, os.path.abspath(args.build), n)
        results = {
            'slicekeeperd (one pass, StartTransientUnit with all PIDs)': sk_total,
            'loop of systemd-run --scope --slice=…': bench_systemd_run(tb, n),
            'cgclassify -g cpu,memory,pids:/… (one call, all pids)': bench_cgclassify(tb, n),
        }
    sk = results['slicekeeperd (one pass, StartTransientUnit with all PIDs)']
    rows = [(name, secs, n / secs, (n / sk) / (n / secs)) for name, secs in results.items()]
    if args.markdown:
        print(f'cgroup layout: {tb.layout}\n')
        print(f'| method | {n} processes in | processes/s | slicekeeperd is × faster |')
        print('|---|---|---|---|')
        for name, secs, rate, ratio in rows:
            print(f'| {name} | {secs * 1000:.1f} ms | {rate:,.0f} | {ratio:.1f}× |')
        print(f'\nOf slicekeeperd\'s {sk_total * 1000:.1f} ms, its own work (reading pid files, /proc, the scope\'s '
              f'members) took {sk_own * 1000:.1f} ms; the rest is systemd moving the processes.')
    else:
        for name, secs, rate, ratio in rows:
            print(f'{name:60s} {secs * 1000:10.1f} ms {rate:12,.0f}/s  ratio {ratio:.1f}')
        print(f'slicekeeperd own work: {sk_own * 1000:.1f} ms')


if __name__ == '__main__':
    main()
