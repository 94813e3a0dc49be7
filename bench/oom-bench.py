#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark (issue 15): OOM kills reported by a live daemon, with real systemd and real memory hogs.

1. Latency and completeness: --count forced OOMs (`tail /dev/zero` in a slice with memory_max 16M), one after
   another. Half run in a scope that systemd removes as soon as the hog is dead (the cgroup is torn down right
   after the kill), half in a scope that lives on for a moment (`sh -c 'tail /dev/zero; sleep 0.3'`). A
   websocket client subscribed to `events` (kinds oom) takes each event; the latency is from the kill (the
   kernel log's timestamp of the victim's `oom-kill:` line, CLOCK_MONOTONIC, which the event carries as
   victim.kernel_usec) to the event read by the client (its CLOCK_MONOTONIC). Missed: a hog with no event
   within 5 s; duplicated: more than one event naming its scope, or events beyond --count in the daemon's
   counters.
2. Cost while nothing happens: 1000 groups and 500 user slices watched; the daemon's CPU over --idle seconds
   with [OOM] Watch=yes and with Watch=no (everything else the same: the sampler's sweep dominates both), and
   the OOM watch's wakeups and timer in that time (status "oom").

Markdown on stdout.
  oom-bench.py [--build DIR] [--count N] [--idle S] [--local] [--skip-cost]
--local: this machine's systemd (tests/vm's guest: tests/vm/run --build build --script bench/oom-vm.sh)."""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'testbed'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))
import testbed  # noqa: E402
from servers import free_port  # noqa: E402

import websocket  # noqa: E402

WORK = '/run/oombench'
DAEMON_UNIT = 'ob-slicekeeperd.service'
HZ = os.sysconf('SC_CLK_TCK')
USERS = range(52000, 52500)


def quantile(values, q):
    v = sorted(values)
    if not v:
        return float('nan')
    pos = q * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


class Bench:
    def __init__(self, tb, build):
        self.tb = tb
        self.build = build
        self.port = free_port()

    def run(self, argv, **kw):
        return self.tb.run(argv, **kw)

    def write(self, path, text):
        host = self.tb.host_path(path)
        with open(host + '.tmp', 'w') as f:
            f.write(text)
        os.rename(host + '.tmp', host)

    def start(self, tree, extra=''):
        self.run(['mkdir', '-p', WORK])
        self.write(f'{WORK}/tree.json', json.dumps(tree))
        self.write(f'{WORK}/d.conf', f'[Source]\nFile={WORK}/tree.json\n[Web]\nListen=127.0.0.1:{self.port}\n'
                                     f'[FairShare]\nEventLog={WORK}/events.log\n{extra}')
        self.run(['systemctl', 'reset-failed', DAEMON_UNIT], check=False)
        self.run(['systemd-run', f'--unit={DAEMON_UNIT}', '-p', 'Type=notify',
                  os.path.join(self.build, 'slicekeeperd'), f'--config={WORK}/d.conf',
                  *(['--log-level=debug'] if os.environ.get('OOMBENCH_DEBUG') else [])], timeout=120)

    def stop(self):
        self.run(['systemctl', 'stop', DAEMON_UNIT], check=False, timeout=120)

    def status(self):
        r = self.run([os.path.join(self.build, 'slicekeeper'), 'status', '--json'], check=False, timeout=60)
        return json.loads(r.stdout) if r.returncode == 0 else {}

    def wait_status(self, pred, timeout, what):
        return testbed.wait_for(lambda: (lambda s: s if s and pred(s) else None)(self.status()), timeout,
                                interval=0.2, what=what)

    def daemon_cpu(self):
        inner = int(self.tb.show(DAEMON_UNIT, 'MainPID'))
        out = self.run(['cat', f'/proc/{inner}/stat']).stdout
        fields = out.rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ


def latency_run(b, count):
    b.start({'slices': {'ob': {'memory_max': '16M'}}})
    b.wait_status(lambda s: s.get('oom', {}).get('watched', 0) >= 1, 30, 'the OOM watch on ob.slice')
    kmsg = b.status()['oom']['kmsg']['readable']
    ws = websocket.create_connection(f'ws://127.0.0.1:{b.port}/', timeout=10)
    ws.send(json.dumps({'cmd': 'events', 'kinds': ['oom']}))
    assert json.loads(ws.recv()).get('events_subscribed') is True
    lat, internal, clock_ahead = {'removed': [], 'kept': []}, [], 0
    starts, per_hog, unattributed = [], [0] * count, 0

    def receive(timeout):
        """One event and when it came, or None."""
        ws.settimeout(max(0.01, timeout))
        try:
            m = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        return (time.clock_gettime(time.CLOCK_MONOTONIC), m['event']) if 'event' in m else None

    def hog_of(e, arrival):
        """Hogs run one after another: a kill belongs to the last hog started before the kernel's line (or,
        without one, before the event came)."""
        v = e.get('victim')
        t = v['kernel_usec'] / 1e6 if v else arrival
        k = len([s for s in starts if s <= t]) - 1
        return k if k >= 0 else None

    for i in range(count):
        kind = 'removed' if i % 2 == 0 else 'kept'
        cmd = ['tail', '/dev/zero'] if kind == 'removed' else ['sh', '-c', 'tail /dev/zero; sleep 0.3']
        argv = ['systemd-run', '--scope', '--quiet', f'--unit=ob-hog-{i}', '--slice=ob.slice', *cmd]
        starts.append(time.clock_gettime(time.CLOCK_MONOTONIC))
        # In the background: the event is read while the scope may still live on.
        proc = subprocess.Popen(b.tb.nsenter_argv(argv) if hasattr(b.tb, 'nsenter_argv') else argv,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while per_hog[i] == 0 and time.monotonic() < deadline:
            got = receive(deadline - time.monotonic())
            if not got:
                continue
            arrival, e = got
            k = hog_of(e, arrival)
            if k is None:
                unattributed += 1
                continue
            per_hog[k] += 1
            if k != i or per_hog[k] > 1:
                continue
            v = e.get('victim')
            if v and v['kernel_usec'] / 1e6 <= arrival:
                lat[kind].append((arrival - v['kernel_usec'] / 1e6) * 1000)
            elif v:
                clock_ahead += 1  # the kernel log's clock ahead of ours (emulated guests): no latency
            if e.get('latency_usec') is not None:
                internal.append(e['latency_usec'] / 1000)
        proc.wait(timeout=60)
    # anything still coming is a late duplicate (or a late first)
    while (got := receive(3)):
        k = hog_of(got[1], got[0])
        if k is None:
            unattributed += 1
        else:
            per_hog[k] += 1
    s = b.wait_status(lambda s: s['oom']['waiting'] == 0, 10, 'nothing waiting')
    if os.environ.get('OOMBENCH_DEBUG'):
        print(b.run(['journalctl', '--no-pager', '-o', 'short-monotonic', '-u', DAEMON_UNIT], check=False).stdout,
              file=sys.stderr)
    b.stop()
    return {'count': count, 'kmsg': kmsg, 'latency_ms': lat, 'internal_ms': internal,
            'missed': per_hog.count(0), 'duplicated': sum(n - 1 for n in per_hog if n > 1) + unattributed,
            'no_victim': s['oom']['without_victim'], 'clock_ahead': clock_ahead, 'reported': s['oom']['reported'],
            'from_log_only': s['oom']['from_log_only'], 'mode': s['oom']['mode'], 'status': s['oom']}


def cost_run(b, idle):
    groups = {f'g{i:04d}': {'cpu_weight': 100} for i in range(1000)}
    units = [f'user-{u}.slice' for u in USERS]  # noqa: F841 (their count)
    out = {}
    # the users in the testbed's own /etc (a copy, gone with it): systemd-run --uid needs them; an empty user
    # slice stops at once (StopWhenUnneeded=yes): a process in each, from one shell inside
    with open(b.tb.host_path('/etc/passwd'), 'a') as f:
        f.write(''.join(f'ob{u}:x:{u}:{u}::/nonexistent:/usr/sbin/nologin\n' for u in USERS))
    try:
        b.run(['sh', '-c', 'for u in "$@"; do systemd-run -q --no-block --unit=obuser-$u --uid=$u '
               '--slice=user-$u.slice sleep infinity || exit 1; done', 'sh', *map(str, USERS)], timeout=600)
        for watch in ('yes', 'no', 'yes', 'no'):
            b.start({'slices': groups}, extra=f'Enable=yes\nMinUID=1000\n[OOM]\nWatch={watch}\n')
            want = 1000 + len(units)
            last = {}

            def sampled(s):
                last.update(users=s.get('users', {}).get('count'), slices=s.get('sampler', {}).get('slices'),
                            oom=s.get('oom', {}).get('watched'))
                return (s.get('users', {}).get('count', 0) >= len(units) and
                        s.get('sampler', {}).get('slices', 0) >= want and
                        (watch == 'no' or s['oom']['watched'] >= want))
            try:
                b.wait_status(sampled, 300, 'all slices sampled and watched')
            except AssertionError as e:
                raise AssertionError(f'{e}: {last}')
            time.sleep(5)  # settle: the first sweeps open files  # noqa (a benchmark's warm-up, not a test)
            s0, c0, t0 = b.status(), b.daemon_cpu(), time.monotonic()
            time.sleep(idle)  # the measured idle period itself
            s1, c1, t1 = b.status(), b.daemon_cpu(), time.monotonic()
            r = out.setdefault(watch, {'cpu_pct': [], 'wakeups': [], 'watched': 0})
            r['cpu_pct'].append(100 * (c1 - c0) / (t1 - t0))
            if watch == 'yes':
                r['wakeups'].append(s1['oom']['wakeups'] - s0['oom']['wakeups'])
                r['watched'] = s1['oom']['watched']
            b.stop()
    finally:
        b.run(['sh', '-c', 'for u in "$@"; do systemctl stop --no-block obuser-$u.service; done', 'sh',
               *map(str, USERS)], check=False, timeout=600)
    return out


def report(lat, cost):
    print(f'## OOM kills: {lat["count"]} forced, cgroup {lat["mode"]}, kernel log readable: {lat["kmsg"]}\n')
    print(f'{time.strftime("%Y-%m-%d %H:%M")} · {platform.node()} · {os.cpu_count()} CPUs · '
          f'load {os.getloadavg()[0]:.2f}\n')
    print('| scopes | kills | p50 ms | p99 ms | max ms |')
    print('|---|---|---|---|---|')
    for kind, label in (('removed', 'removed right after the kill'), ('kept', 'living on 0.3 s')):
        v = lat['latency_ms'][kind]
        print(f'| {label} | {len(v)} | {quantile(v, .5):.1f} | {quantile(v, .99):.1f} | '
              f'{max(v) if v else float("nan"):.1f} |')
    allv = lat['latency_ms']['removed'] + lat['latency_ms']['kept']
    print(f'| all | {len(allv)} | {quantile(allv, .5):.1f} | {quantile(allv, .99):.1f} | '
          f'{max(allv) if allv else float("nan"):.1f} |\n')
    print(f'Missed: {lat["missed"]}; duplicated: {lat["duplicated"]}; reported by the daemon: {lat["reported"]} '
          f'(of them from the kernel log alone: {lat["from_log_only"]}); without a victim: {lat["no_victim"]}; '
          f'kernel clock ahead (no latency): {lat["clock_ahead"]}. '
          f'The daemon\'s own measure (kernel line to report): p50 {quantile(lat["internal_ms"], .5):.1f} ms, '
          f'p99 {quantile(lat["internal_ms"], .99):.1f} ms.\n')
    print(f'The daemon\'s status "oom" afterwards: `{json.dumps(lat["status"])}`\n')


def report_cost(cost):
    if cost:
        print(f'## Cost while nothing happens: 1000 groups and {len(USERS)} user slices, {time.strftime("%H:%M")}, '
              f'load {os.getloadavg()[0]:.2f}\n')
        print('| [OOM] Watch= | daemon CPU % (each run) | OOM watch wakeups | slices watched |')
        print('|---|---|---|---|')
        for w in ('yes', 'no'):
            r = cost.get(w, {})
            print(f'| {w} | {", ".join(f"{x:.2f}" for x in r.get("cpu_pct", []))} | '
                  f'{", ".join(str(x) for x in r.get("wakeups", [])) or "-"} | {r.get("watched") or "-"} |')
        y, n = cost.get('yes', {}).get('cpu_pct', []), cost.get('no', {}).get('cpu_pct', [])
        if y and n and sum(n) > 0:
            print(f'\nRatio of the means, Watch=yes / Watch=no: {sum(y) / len(y) / (sum(n) / len(n)):.2f}\n')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--build', default=os.path.join(REPO, 'build'))
    p.add_argument('--count', type=int, default=200)
    p.add_argument('--idle', type=float, default=30)
    p.add_argument('--local', action='store_true')
    p.add_argument('--skip-cost', action='store_true')
    p.add_argument('--skip-latency', action='store_true')
    a = p.parse_args()
    build = os.path.abspath(a.build)
    if a.local:
        import localsystem
        ctx = localsystem.LocalSystem(cleanup_paths=[WORK])
    else:
        ctx = testbed.Testbed(binds=[REPO], name='oombench', kernel_log=True)
    with ctx as tb:
        b = Bench(tb, build)
        if not a.skip_latency:
            report(latency_run(b, a.count), None)
            sys.stdout.flush()
        if not a.skip_cost:
            report_cost(cost_run(b, a.idle))


if __name__ == '__main__':
    main()
