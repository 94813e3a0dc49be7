#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark: what a Redis outage costs in memory (issue 12). N groups (default 1000) sampled every second,
[Redis] ExpireSec= E (default 300); Redis (a real redis-server on loopback) is killed for E seconds and
started again, empty. Reports the daemon's RSS before, at most during, and after the flush; the sink's own
count (status redis.backlog_bytes); how long the flush took; and whether every second still within its TTL
is in Redis afterwards.

    /usr/bin/python3 bench/redis-outage.py --build build-rel [--groups 1000] [--expire 300]"""
import argparse
import json
import os
import time

import redis
from sample import REPO, daemon_rss_kib as rss_kib, status, testbed, write  # noqa: E402 (sample.py puts tests/ on the path)
from servers import RedisServer  # noqa: E402


def account_secs(client):
    return sorted(int(k.decode().rsplit('/', 1)[1]) for k in client.keys('cgroup_arch/account/*'))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', default=os.path.join(REPO, 'build'))
    ap.add_argument('--groups', type=int, default=1000)
    ap.add_argument('--expire', type=int, default=300)
    args = ap.parse_args()
    build, n, expire = os.path.abspath(args.build), args.groups, args.expire
    server = RedisServer().start()
    try:
        with testbed.Testbed(binds=[REPO]) as tb:
            tb.run(['mkdir', '-p', '/run/bench'])
            write(tb, '/run/bench/tree.json', json.dumps({'slices': {f'g{i:04d}': {} for i in range(n)}}))
            write(tb, '/run/bench/sk.conf', f'[Source]\nFile=/run/bench/tree.json\n[Slices]\nRoot=bench\n'
                                            f'[Tasks]\nUpdateIntervalSec=3600\n[Web]\nListen=\n'
                                            f'[Redis]\nAddress={server.address}\nExpireSec={expire}\n')
            tb.run(['systemd-run', '--unit=skd', '-p', 'Type=notify', f'{build}/slicekeeperd',
                    '--config=/run/bench/sk.conf'])
            testbed.wait_for(lambda: (lambda s: s['sampler']['slices'] == s['sampler']['slices_complete'] == n + 1
                                      and s['redis']['state'] == 'up')(status(tb, build)), 600, interval=2,
                             what=f'{n} groups sampled, Redis up')
            client = redis.Redis(host='127.0.0.1', port=server.port)
            # A full window first: the ring's memory is then where it stays.
            ticks = status(tb, build)['sampler']['ticks']
            testbed.wait_for(lambda: status(tb, build)['sampler']['ticks'] >= ticks + expire, expire + 120,
                             interval=5, what='a full window')
            secs = account_secs(client)
            record = len(client.get(f'cgroup_arch/account/{secs[-1]}'))
            before = status(tb, build)['redis']
            time.sleep(2)
            rss_before = rss_kib(tb)
            print(f'{n} groups, ExpireSec={expire}: record {record} bytes, RSS {rss_before / 1024:.1f} MiB, '
                  f'backlog_bytes {before["backlog_bytes"]}', flush=True)

            server.stop()
            stopped = time.monotonic()
            rss = []
            while time.monotonic() - stopped < expire:
                rss.append(rss_kib(tb))
                time.sleep(1)
            during = status(tb, build)['redis']
            print(f'after {expire} s without Redis: backlog {during["backlog"]} seconds, backlog_bytes '
                  f'{during["backlog_bytes"]}, RSS at most {max(rss) / 1024:.1f} MiB '
                  f'(+{(max(rss) - rss_before) / 1024:.2f} MiB)', flush=True)

            server.start()
            restarted = time.monotonic()
            peak = rss_before
            while True:
                peak = max(peak, rss_kib(tb))
                s = status(tb, build)['redis']
                if s['state'] == 'up' and s['backlog'] == 0:
                    break
                time.sleep(0.2)
            flushed = time.monotonic() - restarted
            up_sec = s['last_outage']['until_usec'] // 1_000_000
            secs = account_secs(client)
            missing = sorted(set(range(up_sec - expire + 3, secs[-1] + 1)) - set(secs))
            time.sleep(5)
            rss_after = rss_kib(tb)
            print(f'Redis back: backlog sent {flushed:.1f} s after the restart (reconnect backoff included), '
                  f'{len(secs)} seconds in Redis, {len(missing)} missing within the TTL, dropped '
                  f'{s["dropped"] - before["dropped"]}; RSS at most {peak / 1024:.1f} MiB while flushing, '
                  f'{rss_after / 1024:.1f} MiB 5 s after (+{(rss_after - rss_before) / 1024:.2f} MiB), '
                  f'backlog_bytes {s["backlog_bytes"]}', flush=True)
    finally:
        server.close()


if __name__ == '__main__':
    main()
