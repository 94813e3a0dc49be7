# SPDX-License-Identifier: MIT
"""The control socket's error paths (issue 10), against the plain and the ASan+UBSan daemon: every bad
request gets one error line and the connection closes; refused connections (a non-root peer, one client
too many) get an error line too, which the CLI prints instead of a transport error. Each test ends by
stopping the daemon: it must exit cleanly, with no sanitizer report in its journal."""
import json
import socket
import time


from conftest import CTL, EXAMPLE_TREE, EXAMPLE_UNITS, wait_for

SOCKET = '/run/slicekeeper/control.sock'
SANITIZER_MARKS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:', 'SUMMARY: ')
NOBODY = 65534
# [Control] RequestTimeoutSec= for the tests that wait it out (10 s by default; the unit tests check that).
REQUEST_TIMEOUT = 2


def start(daemon, slices, tree=EXAMPLE_TREE, request_timeout=None):
    extra = '[Web]\nListen=\n'  # no web server: its fixed port may be another testbed's
    if request_timeout is not None:
        extra += f'[Control]\nRequestTimeoutSec={request_timeout}\n'
    daemon.write_config(extra)
    daemon.write_tree(tree)
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS) if tree is EXAMPLE_TREE else True, 10,
             what='the example slices')


def stop_and_check(daemon):
    daemon.stop_cleanly()
    journal = daemon.journal(full=True)
    for mark in SANITIZER_MARKS:
        assert mark not in journal, journal


def connect(tb):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(tb.host_path(SOCKET))  # blocking: waits while the listen backlog is full
    s.settimeout(20)
    return s


def read_to_eof(s):
    """Everything the daemon sent before it closed. When it closed with part of our request unread, the
    kernel reports a reset after that data: the end too (an answer missing shows as missing data)."""
    data = b''
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def exchange(tb, *parts, end_with_eof=False, pause=0.0):
    """Sends the parts (pausing between them), reads the answer until the daemon closes."""
    with connect(tb) as s:
        for i, part in enumerate(parts):
            if i and pause:
                time.sleep(pause)  # so the parts reach the daemon in separate reads, not to wait for anything
            try:
                s.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break  # the daemon answered and closed before taking everything: its answer is there
        if end_with_eof:
            s.shutdown(socket.SHUT_WR)
        return read_to_eof(s)


def one_line(answer):
    assert answer.endswith(b'\n') and answer.count(b'\n') == 1, answer[:300]
    return json.loads(answer)


def request(cmd, **args):
    return json.dumps({'cmd': cmd, 'args': args}).encode() + b'\n'


BAD_REQUESTS = [
    (b'not json\n', 'request is not valid JSON'),
    (b'\n', 'request is not valid JSON'),
    (b'{"cmd": "status"\n', 'request is not valid JSON'),
    (b'{"cmd": "\xc0\xaf"}\n', 'request is not valid JSON'),  # not UTF-8
    (b'{"cmd": "status", "cmd": "plan"}\n', None),  # a duplicate key is JSON's business: answered, not refused
    (b'[1, 2]\n', 'request must be an object with a string "cmd"'),
    (b'"status"\n', 'request must be an object with a string "cmd"'),
    (b'{}\n', 'request must be an object with a string "cmd"'),
    (b'{"cmd": 5}\n', 'request must be an object with a string "cmd"'),
    (b'{"cmd": "rm_rf"}\n',
     'unknown cmd (expected "status", "plan", "exec_args", "migrate", "migrate_result", "penalty", "limit", '
     '"users" or "account")'),
    (b'{"cmd": "account", "args": {"seconds": 11}}\n', 'args.seconds must be an integer from 1 to 10'),
    (b'{"cmd": "penalty", "args": {"uid": 1001, "user": "alice", "on": true, "mode": "hard"}}\n',
     'args.mode must be "active" or "locked"'),
    (b'{"cmd": "limit", "args": {"uid": 1001, "user": "alice", "clear": true, "cpu_pct": 5}}\n',
     'limit --clear takes no cpu_pct, memory or for_sec'),
    (b'{"cmd": "penalty", "args": {"uid": 1001, "user": "alice", "on": true}}\n',
     'fair share is off ([FairShare] Enable=no)'),
    (b'{"cmd": "users", "args": {"me": 1}}\n', 'args.me must be true or false'),
    (b'{"cmd": "migrate", "args": {"dry_run": "yes"}}\n', 'args.dry_run must be true or false'),
    (b'{"cmd": "migrate_result", "args": {"id": 0}}\n', "args.id must be a migration's id (an integer from 1)"),
    (b'{"cmd": "migrate_result", "args": {"id": 999}}\n', 'no such migration (only the last one is kept)'),
    (b'{"cmd": "exec_args"}\n', 'args.names must be an array of 1..1024 group names'),
    (b'{"cmd": "exec_args", "args": [1]}\n', 'args.names must be an array of 1..1024 group names'),
    (request('exec_args', names='test_cgroup_a'), 'args.names must be an array of 1..1024 group names'),
    (request('exec_args', names=[]), 'args.names must be an array of 1..1024 group names'),
    (request('exec_args', names=['x'] * 1025), 'args.names must be an array of 1..1024 group names'),
    (request('exec_args', names=[1]), 'args.names[0] must be a string'),
    (request('exec_args', names=['test_cgroup_a', None]), 'args.names[1] must be a string'),
    (request('exec_args', names=['test_cgroup_a', {'a': 1}]), 'args.names[1] must be a string'),
    (request('exec_args', names=['a' * 5000]), 'args.names[0] is 5000 bytes long, more than 4096'),
    (request('exec_args', names=['test_cgroup_a', 'b' * 4097]), 'args.names[1] is 4097 bytes long, more than 4096'),
    (request('exec_args', names=['a\u0000b']), 'request is not valid JSON'),  # jansson refuses \u0000
]


def control(daemon):
    return daemon.status()['control']


def test_every_bad_request_gets_one_error_line_and_leaks_nothing(daemon, slices, tb):
    start(daemon, slices)
    before = control(daemon)
    for raw, error in BAD_REQUESTS:
        for _ in range(5):  # again and again: a leak per request would pile up (and LeakSanitizer names it)
            answer = one_line(exchange(tb, raw))
            if error is None:
                assert 'error' not in answer, (raw, answer)
            else:
                assert answer == {'error': error}, (raw[:80], answer)
    # The longest good name is fine, and answered per name.
    answer = one_line(exchange(tb, request('exec_args', names=['test_cgroup_a', 'c' * 4096])))
    assert answer == {'test_cgroup_a': '--slice=test_cgroup_a.slice',
                      'c' * 4096: {'error': 'no such group in the tree'}}
    # The CLI shows the daemon's message and fails.
    r = daemon.ctl('exec-args', 'd' * 5000, check=False)
    assert r.returncode != 0 and 'slicekeeperd: args.names[0] is 5000 bytes long, more than 4096' in r.stderr, r.stderr
    after = control(daemon)
    assert after['errors'] - before['errors'] == 5 * sum(1 for _, e in BAD_REQUESTS if e) + 1
    assert after['accepted'] - before['accepted'] == 5 * len(BAD_REQUESTS) + 3  # + the good one, the CLI, status
    assert after['clients'] == 1  # the status request itself: every other client is gone
    assert daemon.status()['version'] == 1
    stop_and_check(daemon)


def test_partial_lines_an_unfinished_line_and_a_stalled_client(daemon, slices, tb):
    start(daemon, slices, request_timeout=REQUEST_TIMEOUT)
    # A request in pieces is one request.
    answer = one_line(exchange(tb, b'{"cmd"', b': "exec_', b'args", "args": {"names": ["test_cgroup_a"]}}\n',
                               pause=0.05))
    assert answer == {'test_cgroup_a': '--slice=test_cgroup_a.slice'}
    # A last line without a newline is ended by the client's end of stream.
    assert one_line(exchange(tb, b'{"cmd": "status"}', end_with_eof=True))['version'] == 1
    # Nothing at all, then end of stream: an empty request.
    assert one_line(exchange(tb, b'', end_with_eof=True)) == {'error': 'request is not valid JSON'}
    # A line that never ends is answered after RequestTimeoutSec (not before), and the connection closed.
    with connect(tb) as s:
        s.sendall(b'{"cmd": "sta')
        started = time.monotonic()
        answer = read_to_eof(s)
        waited = time.monotonic() - started
    assert one_line(answer) == {'error': f'no complete request line within {REQUEST_TIMEOUT} s'}
    assert REQUEST_TIMEOUT - 0.2 <= waited <= REQUEST_TIMEOUT + 5, waited
    # Meanwhile and afterwards, others are served.
    assert control(daemon)['timed_out'] == 1
    stop_and_check(daemon)


def test_oversized_requests_are_refused_with_a_line(daemon, slices, tb):
    start(daemon, slices)
    answer = exchange(tb, b'{"cmd": "status", "pad": "' + b'x' * 70000)
    assert one_line(answer) == {'error': 'request larger than 64 KiB'}
    answer = exchange(tb, b'x' * (1 << 20) + b'\n')  # more than the daemon reads: it closes on the rest
    assert one_line(answer) == {'error': 'request larger than 64 KiB'}
    # The CLI with a 300 KB request: the daemon refuses it and closes while the CLI is still sending.
    r = daemon.ctl('exec-args', *[f'{i:04d}' + 'n' * 296 for i in range(1000)], check=False)
    assert r.returncode != 0, r.stdout[:300]
    assert r.stderr == 'slicekeeperd: request larger than 64 KiB\n', r.stderr
    assert daemon.status()['version'] == 1
    stop_and_check(daemon)


def big_status_tree():
    """One group with 64 pid files of ~4 KB paths that do not exist: a status answer of ~0.5 MB, more than
    a Unix socket's send buffer, so an answer can be cut off mid-way."""
    deep = '/'.join(['d' * 200] * 19)
    return {'slices': {'test_cgroup_a': {'pid_files': [f'/nonexistent/{deep}/{i}.pid' for i in range(64)]}}}


def test_clients_that_leave_early_or_mid_answer_harm_nobody(daemon, slices, tb):
    start(daemon, slices, tree=big_status_tree())
    status = daemon.wait_status(lambda s: s['tasks']['refusal_records']['kept'] == 64, 10, what='64 refusals')
    size = len(daemon.ctl('status', '--json').stdout)
    assert size > 400 * 1024, size
    for _ in range(10):
        with connect(tb) as s:  # mid-answer: takes 1 KB of the answer, then goes
            s.sendall(b'{"cmd": "status"}\n')
            assert len(s.recv(1024)) > 0
        with connect(tb) as s:  # before the answer
            s.sendall(b'{"cmd": "status"}\n')
        with connect(tb) as s:  # before the request's end
            s.sendall(b'{"cmd": "sta')
        connect(tb).close()  # connects and goes
    assert tb.show(daemon.unit, 'ActiveState') == 'active'
    # Every one of them is gone from the daemon too (each closes when its answer fails or its line ends).
    status = daemon.wait_status(lambda s: s['control']['clients'] == 1, 15, what='the clients gone',
                                interval=0.5)
    assert status['control']['accepted'] >= 40
    stop_and_check(daemon)


def as_nobody(*argv):
    """argv as uid/gid 65534, without capabilities."""
    return ['setpriv', f'--reuid={NOBODY}', f'--regid={NOBODY}', '--clear-groups', *argv]


def test_a_non_root_client_is_told_why_not_given_a_broken_pipe(daemon, slices, tb):
    start(daemon, slices)
    # The uid is real, and the socket (0666) lets it in: the daemon answers each request.
    r = tb.run(as_nobody('sh', '-c', 'id -u; grep CapEff /proc/self/status'))
    assert r.stdout.split()[0] == str(NOBODY) and r.stdout.split()[2] == '0000000000000000', r.stdout
    assert tb.run(['stat', '-c', '%a', SOCKET]).stdout.strip() == '666'
    refused = (f'slicekeeperd: permission denied: this request is for root (peer uid {NOBODY}); as a user, '
               'ask `slicekeeper users --me`\n')
    for argv in (['status'], ['plan', '--json'], ['exec-args', 'test_cgroup_a'], ['users']):
        for _ in range(3):
            r = tb.run(as_nobody(CTL, *argv), check=False)
            assert r.returncode != 0 and r.stdout == '' and r.stderr == refused, (argv[:2], r.stderr)
    # Still sending when the daemon answers: told, not reset (the line is past what the daemon reads).
    r = tb.run(as_nobody(CTL, 'exec-args', *[f'{i:04d}' + 'n' * 296 for i in range(1000)]), check=False)
    assert r.returncode != 0 and r.stderr == 'slicekeeperd: request larger than 64 KiB\n', r.stderr
    counters = control(daemon)
    assert counters['refused_not_root'] == 12 and counters['refused_busy'] == 0, counters
    stop_and_check(daemon)


def test_one_client_too_many_is_told_so_not_reset(daemon, slices, tb):
    start(daemon, slices)
    held = [connect(tb) for _ in range(64)]  # accepted in order: all 64 before the CLI's connection
    try:
        for _ in range(3):
            r = daemon.ctl('status', check=False)
            assert r.returncode != 0 and r.stdout == ''
            assert r.stderr == 'slicekeeperd: too many control clients (at most 64 at once); try again\n', r.stderr
        # The held clients were not harmed: the first one still gets its answer.
        held[0].sendall(b'{"cmd": "plan"}\n')
        assert 'items' in one_line(read_to_eof(held[0]))
    finally:
        for s in held:
            s.close()
    # With the others gone, the CLI is served again (once the daemon has seen them go).
    wait_for(lambda: daemon.ctl('status', check=False).returncode == 0, 5, what='the CLI served again')
    counters = control(daemon)
    assert counters['refused_busy'] == 3 and counters['refused_not_root'] == 0, counters
    stop_and_check(daemon)


def many_groups_tree(n):
    """n groups, each naming a pid file that does not exist: both of status's long lists (slices, the
    attacher's groups) have n items."""
    return {'slices': {f'g{i:04d}': {'pid_files': [f'/nonexistent/g{i:04d}.pid']} for i in range(n)}}


def test_a_long_status_goes_out_in_parts_as_the_client_takes_it(daemon, slices, tb):
    n = 800
    start(daemon, slices, tree=many_groups_tree(n), request_timeout=REQUEST_TIMEOUT)
    daemon.wait_status(lambda s: sum(x['active_state'] == 'active' for x in s['slices']) == n and
                       len(s['tasks']['groups']) == n, 120, interval=1, what=f'{n} slices and groups')
    before = daemon.status()['control']['answer_parts']
    text = daemon.ctl('status', '--json').stdout
    after = daemon.status()
    status = json.loads(text)
    assert len(status['slices']) == n and len(status['tasks']['groups']) == n
    assert status['tasks']['groups']['g0007']['pid_files'] == ['/nonexistent/g0007.pid']
    # Each part is ~64 KiB (it ends after the item that reached it); the last status asked counts too.
    made = after['control']['answer_parts'] - before
    assert len(text) > 4 * 65536, len(text)
    assert made >= len(text) // (65536 + 8192) + 1, (made, len(text))

    # A client that takes its answer slowly holds nobody else up, and gets all of it: the time to take a
    # part starts again with each part (RequestTimeoutSec=2 here, the whole answer takes longer).
    with connect(tb) as slow:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b'{"cmd": "status"}\n')
        got = b''
        started = time.monotonic()
        while not got.endswith(b'\n'):
            chunk = slow.recv(16384)
            assert chunk, f'closed after {len(got)} bytes'
            got += chunk
            if len(got) < 16384 * 2:  # meanwhile another client is answered in full
                assert len(json.loads(daemon.ctl('status', '--json').stdout)['slices']) == n
            time.sleep(0.2)  # a slow reader, by design of the test: ~80 KB/s at most
        took = time.monotonic() - started
        assert took > REQUEST_TIMEOUT + 1, took  # longer than one timeout in all
    slow_status = json.loads(got)
    assert len(slow_status['slices']) == n and len(slow_status['tasks']['groups']) == n

    # One that stops taking it is given up after RequestTimeoutSec for its part, not kept.
    with connect(tb) as stalled:
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b'{"cmd": "status"}\n')
        stalled.recv(1024)
        timed_out = after['control']['timed_out']
        daemon.wait_status(lambda s: s['control']['timed_out'] > timed_out, 3 * REQUEST_TIMEOUT + 10, interval=0.5,
                           what='the stalled client given up')
    stop_and_check(daemon)
