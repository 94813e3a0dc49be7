#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark (issue 16): the dashboard's script time per tick at 1000 groups, in Debian's headless Chromium.

The daemon (in the namespace testbed) samples --groups groups (40 parents with their children, native
tree); Chromium loads the page, which subscribes and charts the group it selects first. The page times
each websocket message it draws (performance.now() from the message's arrival, before JSON.parse, to the
end of its table and chart update: window.slicekeeper.tickMs); after a warm-up the next --ticks ticks are
taken and p50/p99/max printed as markdown, with the first load (the window from show_account) apart."""
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
from chromium import Chromium  # noqa: E402
from servers import free_port  # noqa: E402


def write(tb, path, text):
    with open(f'/proc/{tb.pid}/root{path}', 'w') as f:
        f.write(text)


def tree(groups):
    parents = 40
    per = max(0, (groups - parents) // parents)
    return {'slices': {f'p{i:02d}': {'children': {f'c{j:03d}': {} for j in range(per)}} for i in range(parents)}}


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def run(build, groups, ticks, warmup):
    with testbed.Testbed(binds=sorted({REPO, os.path.dirname(build)})) as tb:
        port = free_port()
        tb.run(['mkdir', '-p', '/run/bench'])
        write(tb, '/run/bench/tree.json', json.dumps(tree(groups)))
        write(tb, '/run/bench/sk.conf', f'[Source]\nFile=/run/bench/tree.json\n[Slices]\nRoot=bench\n'
                                        f'[Tasks]\nUpdateIntervalSec=3600\n[Web]\nListen=127.0.0.1:{port}\n'
                                        f'PageDir={REPO}/src/web/page\n')
        tb.run(['systemd-run', '--unit=skd', '-p', 'Type=notify', f'{build}/slicekeeperd',
                '--config=/run/bench/sk.conf'])
        status = lambda: json.loads(tb.run([f'{build}/slicekeeper', 'status', '--json'], timeout=120).stdout)
        testbed.wait_for(lambda: (lambda s: s['slices_complete'] == s['slices'] >= groups)(status()['sampler']),
                         600, interval=1, what=f'{groups} slices sampled')
        time.sleep(warmup)  # a window of some seconds for the first load
        with Chromium() as browser:
            browser.navigate(f'http://127.0.0.1:{port}/')
            browser.wait('window.slicekeeper && slicekeeper.connected() && slicekeeper.ticks() > 0', 60)
            first = browser.eval('slicekeeper.tickMs[0]')
            rows = browser.wait(f'(() => {{ const n = document.querySelectorAll("#rows tr").length;'
                                f' return n >= {groups} ? n : 0; }})()', 30, 'the rows')
            start = browser.wait(f'slicekeeper.ticks() >= 1 + {warmup} ? slicekeeper.ticks() : 0', warmup + 30)
            browser.wait(f'slicekeeper.ticks() >= {start + ticks}', ticks * 3 + 30, f'{ticks} ticks')
            ms = browser.eval(f'slicekeeper.tickMs.slice(-{ticks})')
            points = browser.eval('slicekeeper.chartRows()')
            version = browser.call('Browser.getVersion')['product']
    return rows, first, ms, points, version


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--build', default=os.path.join(REPO, 'build'))
    ap.add_argument('--groups', type=int, default=1000)
    ap.add_argument('--ticks', type=int, default=60)
    ap.add_argument('--warmup', type=int, default=5)
    a = ap.parse_args()
    rows, first, ms, points, version = run(os.path.abspath(a.build), a.groups, a.ticks, a.warmup)
    print(f'### dashboard script time per tick, {rows} rows (groups + machine), {version}, headless\n')
    print('| measure | ticks | p50 ms | p99 ms | max ms | mean ms |')
    print('|---|---|---|---|---|---|')
    print(f'| live tick (parse, rates, table, chart of {points} points) | {len(ms)} | {pct(ms, 50):.2f} | '
          f'{pct(ms, 99):.2f} | {max(ms):.2f} | {statistics.mean(ms):.2f} |')
    print(f'| first load (show_account window) | 1 | {first:.2f} | | | |')


if __name__ == '__main__':
    main()
