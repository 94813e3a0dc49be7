#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark (issue 14): what the fair-share tick costs per user, and that steady state sends nothing.

In the namespace testbed (v1 cpu and memory), --users N idle user slices are started (`systemd-run
--uid=UID --slice=user-UID.slice sleep infinity`, UIDs from 61000 in the testbed's own /etc/passwd), then
the daemon with [FairShare] Enable=yes. Once every user has a decision and no SetUnitProperties went out
for 3 ticks, the daemon's own counters are read over --seconds seconds (30): the CPU of the fair-share
ticks (status fair_share.tick_cpu_usec.total: read-backs, policy, sends; CLOCK_THREAD_CPUTIME around each
tick) per tick and per user, beside the sampler's sweep CPU per slice (what the tick comes on top of), and
the SetUnitProperties sent meanwhile (must be 0).

Builds: --build DIR (repeat for a row each), or by default two release builds made here in temporary
directories from `git archive` of --base (the commit before the kept cap files) and --head (HEAD), so
that both are built alike. The machine may be shared: the numbers are indicative; run it twice."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'testbed'))
import testbed  # noqa: E402

FIRST_UID = 61000
BASE = '8395a07'  # the commit before the kept cap files (issue 14, h-perf)


def write(tb, path, text):
    with open(f'/proc/{tb.pid}/root{path}', 'w') as f:
        f.write(text)


def status(tb, build):
    return json.loads(tb.run([f'{build}/slicekeeper', 'status', '--json'], timeout=120).stdout)


def build_commit(commit, where):
    """A release build of `commit` (git archive: the working tree is left alone) in where/src/build."""
    src = os.path.join(where, 'src')
    os.makedirs(src)
    archive = subprocess.run(['git', '-C', REPO, 'archive', commit], check=True, stdout=subprocess.PIPE).stdout
    subprocess.run(['tar', '-x', '-C', src], input=archive, check=True)
    out = os.path.join(src, 'build')
    subprocess.run(['meson', 'setup', out, src, '-Dbuildtype=release'], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(['ninja', '-C', out, 'slicekeeperd', 'slicekeeper'], check=True, stdout=subprocess.DEVNULL)
    return out


def run(build, users, seconds):
    with testbed.Testbed(binds=sorted({REPO, os.path.dirname(build)})) as tb:
        uids = range(FIRST_UID, FIRST_UID + users)
        # the users in the testbed's own /etc (a copy, gone with the testbed): systemd-run --uid needs them
        with open(tb.host_path('/etc/passwd'), 'a') as f:
            f.write(''.join(f'skb{u}:x:{u}:{u}::/nonexistent:/usr/sbin/nologin\n' for u in uids))
        # an empty user slice is stopped at once (StopWhenUnneeded=yes): a process in each, started by one
        # shell inside (a call into the testbed per user would take minutes)
        tb.run(['sh', '-c', 'for u in "$@"; do systemd-run -q --no-block --unit=skbench-$u --uid=$u '
                '--slice=user-$u.slice sleep infinity || exit 1; done', 'sh', *map(str, uids)], timeout=600)
        testbed.wait_for(lambda: tb.run(['sh', '-c', 'systemctl list-units --no-legend --state=active '
                                               '"user-*.slice" | wc -l']).stdout.strip() == str(users),
                         300, interval=1, what=f'{users} user slices active')
        tb.run(['mkdir', '-p', '/run/bench'])
        write(tb, '/run/bench/tree.json', json.dumps({'slices': {'g': {}}}))
        write(tb, '/run/bench/sk.conf', '[Source]\nFile=/run/bench/tree.json\n[Tasks]\nUpdateIntervalSec=3600\n'
                                        '[Web]\nListen=\n[FairShare]\nEnable=yes\nMinUID=1000\n')
        tb.run(['systemd-run', '--unit=skd', '-p', 'Type=notify', f'{build}/slicekeeperd',
                '--config=/run/bench/sk.conf'])

        last_status = {}

        def ready():
            s = last_status['s'] = status(tb, build)
            # (not every file of a user slice is there on v1: no blkio directory without IOAccounting=)
            return len(s['fair_share']['list']) == users
        try:
            testbed.wait_for(ready, 300, interval=1, what=f'{users} users with decisions')
        except AssertionError:
            s = last_status.get('s', {})
            print(json.dumps({k: s.get(k) for k in ('sampler', 'users', 'fds')})[:4000],
                  json.dumps({k: v for k, v in s.get('fair_share', {}).items() if k != 'list'}), flush=True)
            raise

        last = [None, 0]

        def quiet():  # no SetUnitProperties and none in flight for 3 ticks
            s = status(tb, build)['fair_share']
            if s['set_unit_properties'] != last[0] or s['in_flight']:
                last[:] = [s['set_unit_properties'], s['ticks']]
                return False
            return s['ticks'] >= last[1] + 3
        testbed.wait_for(quiet, 300, interval=1, what='no SetUnitProperties for 3 ticks')
        s0 = status(tb, build)
        testbed.wait_for(lambda: status(tb, build)['fair_share']['ticks'] >= s0['fair_share']['ticks'] + seconds,
                         seconds + 60, interval=1, what=f'{seconds} ticks')
        s1 = status(tb, build)
        f0, f1 = s0['fair_share'], s1['fair_share']
        ticks = f1['ticks'] - f0['ticks']
        sweeps = s1['sampler']['ticks'] - s0['sampler']['ticks']
        return {
            'ticks': ticks,
            'tick_usec': (f1['tick_cpu_usec']['total'] - f0['tick_cpu_usec']['total']) / ticks,
            'per_user_usec': (f1['tick_cpu_usec']['total'] - f0['tick_cpu_usec']['total']) / ticks / users,
            'sweep_per_slice_usec': (s1['sampler']['sweep_cpu_usec_total'] - s0['sampler']['sweep_cpu_usec_total'])
            / max(sweeps, 1) / s1['sampler']['slices'],
            'sends': f1['set_unit_properties'] - f0['set_unit_properties'],
            'read_errors': f1['read_errors'] - f0['read_errors'],
            'files': f1.get('files'),
            'reads': s1['sampler'].get('reads'),
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', action='append', help='a build directory (repeat for a row each); default: '
                    'release builds of --base and --head made here')
    ap.add_argument('--base', default=BASE)
    ap.add_argument('--head', default='HEAD')
    ap.add_argument('--users', type=int, action='append', help='user slices (repeat; default 50 and 500)')
    ap.add_argument('--seconds', type=int, default=30, help='steady ticks measured')
    ap.add_argument('--keep', metavar='DIR', help='make the builds of --base and --head in DIR and keep them '
                    '(a build there already is used again); default: a temporary directory, removed')
    args = ap.parse_args()
    tmp = None
    builds = [(b, os.path.abspath(b)) for b in args.build or []]
    try:
        if not builds:
            where = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix='sk-fair-cost-')
            tmp = None if args.keep else where
            for label, commit in (('base', args.base), ('head', args.head)):
                name = subprocess.run(['git', '-C', REPO, 'rev-parse', '--short', commit], check=True,
                                      stdout=subprocess.PIPE, text=True).stdout.strip()
                out = os.path.join(where, name, 'src', 'build')
                if not os.access(os.path.join(out, 'slicekeeperd'), os.X_OK):
                    print(f'building {label} {name} (release) ...', flush=True)
                    shutil.rmtree(os.path.join(where, name), ignore_errors=True)
                    out = build_commit(commit, os.path.join(where, name))
                builds.append((f'{label} {name}', out))
        rows = []
        for users in args.users or [50, 500]:
            for label, build in builds:
                r = run(build, users, args.seconds)
                rows.append((label, users, r))
                print(label, users, r, flush=True)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f'\nFair-share tick, {args.seconds} steady ticks (idle user slices, v1 cpu/memory in the testbed):\n')
    print('| build | users | tick CPU | per user per tick | sampler sweep per slice | SetUnitProperties '
          f'in {args.seconds} s | cap files kept open |')
    print('|---|---|---|---|---|---|---|')
    for label, users, r in rows:
        files = r['files']['open'] if r['files'] else 'none (open/read/close)'
        print(f"| {label} | {users} | {r['tick_usec']:.0f} µs | **{r['per_user_usec']:.1f} µs** | "
              f"{r['sweep_per_slice_usec']:.1f} µs | {r['sends']} | {files} |")


if __name__ == '__main__':
    main()
