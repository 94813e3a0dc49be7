#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark (issue 12): what answering `status` at 10 000 groups costs the daemon's loop.

In the namespace testbed, the daemon manages a flat tree of --groups groups, each naming a pid file that
does not exist (so both of status's long lists, the slices and the attacher's groups, have --groups
items). Once every slice is active and sampled, `slicekeeper status --json` is asked --polls times in a
row, and once over the websocket; then the daemon's own counters say how long its loop was held: the
longest dispatch in the last 10-20 s (`loop.recent_max_iteration_usec`, where the build has it) and the
dispatches over 100 ms during the polls (`loop.slow_iterations`). Give --build more than once (e.g. a
build of the commit before the streamed status, then this one) for a row each."""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
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


def status_text(tb, build):
    return tb.run([f'{build}/slicekeeper', 'status', '--json'], timeout=120).stdout


def ws_status(port):
    """One status over the websocket (RFC 6455, a masked text frame; the answer may come in fragments)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=60)
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    buf = b''
    while b'\r\n\r\n' not in buf:
        buf += s.recv(65536)
    assert buf.startswith(b'HTTP/1.1 101'), buf[:100]
    buf = buf[buf.index(b'\r\n\r\n') + 4:]
    req = b'{"cmd": "status"}'
    s.sendall(bytes([0x81, 0x80 | len(req)]) + b'\0\0\0\0' + req)
    message = b''

    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = s.recv(1 << 20)
            assert chunk
            buf += chunk

    while True:
        need(2)
        fin, length, at = buf[0] & 0x80, buf[1] & 0x7f, 2
        if length == 126:
            need(4)
            length, at = int.from_bytes(buf[2:4], 'big'), 4
        elif length == 127:
            need(10)
            length, at = int.from_bytes(buf[2:10], 'big'), 10
        need(at + length)
        message += buf[at:at + length]
        buf = buf[at + length:]
        if fin:
            break
    s.close()
    return json.loads(message)


def host_pid(tb, inner):
    """The daemon's pid as the host sees it (MainPID is in the testbed's pid namespace)."""
    ns = os.readlink(f'/proc/{tb.pid}/ns/pid')
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{entry}/status') as f:
                nspid = next((line.split()[1:] for line in f if line.startswith('NSpid:')), [])
            if nspid and nspid[-1] == str(inner) and os.readlink(f'/proc/{entry}/ns/pid') == ns:
                return int(entry)
        except OSError:
            continue
    raise RuntimeError('daemon not found')


def run(build, groups, polls, perf=None):
    with testbed.Testbed(binds=sorted({REPO, os.path.dirname(build)})) as tb:
        port = free_port()
        tb.run(['mkdir', '-p', '/run/bench'])
        tree = {'slices': {f'g{i:05d}': {'pid_files': [f'/nonexistent/g{i:05d}.pid']} for i in range(groups)}}
        write(tb, '/run/bench/tree.json', json.dumps(tree))
        write(tb, '/run/bench/sk.conf', f'[Source]\nFile=/run/bench/tree.json\n[Tasks]\nUpdateIntervalSec=3600\n'
                                        f'[Web]\nListen=127.0.0.1:{port}\n')
        tb.run(['systemd-run', '--unit=skd', '-p', 'Type=notify', f'{build}/slicekeeperd', '--config=/run/bench/sk.conf'])

        def settled():
            s = json.loads(status_text(tb, build))
            # every slice sampled, but those the descriptor budget leaves out (the testbed's hard limit)
            return s['sampler']['slices_complete'] + s['fds']['left_out'] == s['sampler']['slices'] >= groups and \
                sum(x['active_state'] == 'active' for x in s['slices']) == groups

        testbed.wait_for(settled, 900, interval=5, what=f'{groups} slices active and sampled')
        # Past the apply's iterations: the recent maximum looks back 10-20 s.
        first = json.loads(status_text(tb, build))
        testbed.wait_for(lambda: json.loads(status_text(tb, build))['sampler']['ticks'] >= first['sampler']['ticks'] + 25,
                         120, interval=5, what='25 quiet seconds')
        before = json.loads(status_text(tb, build))
        recorder = None
        if perf:  # on-CPU samples of the daemon during the polls, to attribute long dispatches
            recorder = subprocess.Popen(['perf', 'record', '-F', '997', '-g', '-o', perf, '-p',
                                         str(host_pid(tb, tb.show('skd.service', 'MainPID')))],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)  # perf attaches
        times, size = [], 0
        for _ in range(polls):
            t = time.monotonic()
            size = len(status_text(tb, build))
            times.append(time.monotonic() - t)
        ws = ws_status(port)
        assert len(ws['slices']) == groups
        after = json.loads(status_text(tb, build))
        if recorder:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=60)
        return {
            'size': size, 'median_s': statistics.median(times), 'max_s': max(times),
            'slow': after['loop']['slow_iterations'] - before['loop']['slow_iterations'],
            'recent_max_ms': after['loop'].get('recent_max_iteration_usec', -1000) / 1000,
            'max_ms': after['loop']['max_iteration_usec'] / 1000,
            'parts': after['control'].get('answer_parts', 0) - before['control'].get('answer_parts', 0),
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', action='append', help='a build directory (repeat for a row each; default build)')
    ap.add_argument('--groups', type=int, default=10000)
    ap.add_argument('--polls', type=int, default=10)
    ap.add_argument('--perf', metavar='FILE', help='perf record the daemon during the polls (one build)')
    args = ap.parse_args()
    rows = []
    for build in args.build or [os.path.join(REPO, 'build')]:
        build = os.path.abspath(build)
        r = run(build, args.groups, args.polls, args.perf)
        rows.append((build, r))
        print(build, r, flush=True)
    print(f'\n{args.groups} groups, `status --json` asked {args.polls} times, then once over the websocket:\n')
    print('| build | answer | CLI wall median | max | dispatches > 100 ms during the polls | longest dispatch, '
          'last 10-20 s | parts made |')
    print('|---|---|---|---|---|---|---|')
    for build, r in rows:
        recent = f"{r['recent_max_ms']:.1f} ms" if r['recent_max_ms'] >= 0 else 'n/a'
        print(f"| {build} | {r['size'] / 1e6:.2f} MB | {r['median_s']:.2f} s | {r['max_s']:.2f} s | **{r['slow']}** | "
              f"{recent} | {r['parts']} |")


if __name__ == '__main__':
    main()
