# SPDX-License-Identifier: MIT
"""The web port under abuse (issue 12): the sequences that locked libmicrohttpd up for good, and the
clients that held a place forever, against the real daemon in the testbed, from real sockets."""
import base64
import os
import resource
import select
import socket
import threading
import time

from conftest import EXAMPLE_TREE, wait_for
from servers import free_port

ROUNDS = 10
WS_MAX, HTTP_RESERVE = 256, 16  # http-server.h: MHD's connection limit is their sum


def start(daemon, **web):
    """The daemon with a web port and the given [Web] keys; returns the port."""
    port = free_port()
    keys = ''.join(f'{k}={v}\n' for k, v in web.items())
    daemon.write_config(f'[Web]\nListen=127.0.0.1:{port}\n{keys}')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    # Room for every socket of the sequences on our side.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    return port


def read_all(s, timeout):
    """Everything until EOF (or a reset), within timeout."""
    s.settimeout(timeout)
    data = b''
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data


def healthz(port, timeout=1.0):
    """Seconds /healthz took to answer, or None when it was not answered within timeout."""
    started = time.monotonic()
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            answer = read_all(s, max(0.01, timeout - (time.monotonic() - started)))
    except OSError:
        return None
    return time.monotonic() - started if answer.endswith(b'\r\n\r\nok\n') else None


def get(port, path, timeout=1.0):
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(f'GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'.encode())
        return read_all(s, timeout)


def websocket(port, timeout=10, rcvbuf=None):
    """A raw websocket: the handshake done, the socket returned."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(('127.0.0.1', port))
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              b'Sec-WebSocket-Key: ' + base64.b64encode(os.urandom(16)) + b'\r\nSec-WebSocket-Version: 13\r\n\r\n')
    head = b''
    while b'\r\n\r\n' not in head:
        chunk = s.recv(4096)
        assert chunk, f'closed during the handshake: {head!r}'
        head += chunk
    status = head.split(b'\r\n', 1)[0]
    if b' 101 ' not in status:
        s.close()
        raise ConnectionRefusedError(status.decode())
    return s


def web_status(daemon):
    return daemon.status()['web']


def assert_healthz(port, what, times):
    took = healthz(port)
    assert took is not None, f'/healthz not answered within 1 s after {what}'
    times.setdefault(what, []).append(took)


# Done means 1 ------------------------------------------------------------------------------------

def test_the_lock_up_sequences_end_with_healthz_answered(daemon):
    """256 websockets + 16 TCP (the connection limit) closed in either order, 272 idle TCP connections
    closed, 201 pipelined requests, a POST and a PUT with a body: each ends with /healthz answered
    within 1 s, ten times over. (No per-address limit here: every socket comes from 127.0.0.1.)"""
    port = start(daemon, MaxConnectionsPerAddress=1000)
    times = {}
    for _ in range(ROUNDS):
        for websockets_first in (True, False):
            wss = [websocket(port) for _ in range(WS_MAX)]
            tcps = [socket.create_connection(('127.0.0.1', port)) for _ in range(HTTP_RESERVE)]
            for s in (wss + tcps) if websockets_first else (tcps + wss):
                s.close()
            assert_healthz(port, f'{WS_MAX} websockets + {HTTP_RESERVE} TCP closed, '
                           f'{"websockets" if websockets_first else "TCP"} first', times)

        tcps = [socket.create_connection(('127.0.0.1', port)) for _ in range(WS_MAX + HTTP_RESERVE)]
        for s in tcps:
            s.close()
        assert_healthz(port, f'{WS_MAX + HTTP_RESERVE} idle TCP closed', times)

        with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
            started = time.monotonic()
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' * 201)
            answers = b''
            while answers.count(b'HTTP/1.1 200 OK') < 201:
                chunk = s.recv(65536)
                assert chunk, f'closed after {answers.count(b"HTTP/1.1 200 OK")} pipelined answers'
                answers += chunk
            took = time.monotonic() - started
        assert took < 2, f'201 pipelined requests took {took:.1f} s'
        times.setdefault('201 pipelined requests (all answered)', []).append(took)
        assert_healthz(port, '201 pipelined requests', times)

        for method in ('POST', 'PUT'):
            with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
                s.sendall(f'{method} /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'.encode())
                answer = read_all(s, 5)
            assert answer.startswith(b'HTTP/1.1 413 '), f'{method} with a body: {answer[:80]!r}'
        assert_healthz(port, 'a POST and a PUT with a body', times)
    for what, took in times.items():
        print(f'{what}: max {max(took) * 1000:.1f} ms over {len(took)}')
    assert web_status(daemon)['refused_requests'] == 2 * ROUNDS

    # A closed websocket's socket is let go at once, without other HTTP activity to wake the server.
    baseline = wait_for(lambda: (lambda w: w if w['connections'] == 0 else None)(web_status(daemon)), 5,
                        what='no connection left')
    ws = websocket(port)
    wait_for(lambda: web_status(daemon)['clients'] == 1, 5, what='the websocket counted')
    ws.close()
    closed = time.monotonic()
    wait_for(lambda: web_status(daemon)['connections'] == 0, 1, interval=0.01,
             what="the closed websocket's connection released")
    print(f'closed websocket released after {(time.monotonic() - closed) * 1000:.0f} ms')
    assert web_status(daemon)['dropped'] == baseline['dropped'] == 0


# Done means 2 ------------------------------------------------------------------------------------

HANDSHAKE = 2
IDLE = 2


def test_all_websocket_places_taken_metrics_answered_and_a_trickle_cut_at_the_deadline(daemon):
    port = start(daemon, HandshakeTimeoutSec=HANDSHAKE, MaxConnectionsPerAddress=1000)
    wss = [websocket(port) for _ in range(WS_MAX)]
    try:
        # Every websocket place held by a silent client: scrapes are still answered, the next websocket
        # is told 503.
        for path in ('/metrics', '/healthz'):
            answer = get(port, path)
            assert answer.startswith(b'HTTP/1.1 200 '), f'{path}: {answer[:80]!r}'
        try:
            websocket(port).close()
            raise AssertionError('a websocket beyond the places was let in')
        except ConnectionRefusedError as e:
            assert ' 503 ' in str(e), e
        assert web_status(daemon)['refused_full'] == 1

        # A header trickled in a byte at a time is closed at the deadline: bytes do not extend it.
        trickle = socket.create_connection(('127.0.0.1', port))
        trickle.sendall(b'GET /healthz HTTP/1.1\r\n')
        started = time.monotonic()
        trickle.settimeout(0.1)
        closed_after = None
        while closed_after is None:
            assert time.monotonic() - started < HANDSHAKE + 5, 'the trickling client was never closed'
            try:
                trickle.sendall(b'X')
                if trickle.recv(100) == b'':
                    closed_after = time.monotonic() - started
            except socket.timeout:
                pass
            except OSError:
                closed_after = time.monotonic() - started
        trickle.close()
        print(f'trickling header closed after {closed_after:.2f} s (HandshakeTimeoutSec={HANDSHAKE})')
        assert HANDSHAKE - 0.2 <= closed_after <= HANDSHAKE + 2, closed_after
        assert web_status(daemon)['handshake_timeouts'] == 1
        # The silent websockets were not cut by it: the deadline ends at the upgrade.
        assert web_status(daemon)['clients'] == WS_MAX
    finally:
        for s in wss:
            s.close()
    assert healthz(port) is not None


def test_a_silent_websocket_is_dropped_and_the_per_address_limit_refuses(daemon):
    port = start(daemon, IdleTimeoutSec=IDLE, MaxConnectionsPerAddress=4)
    # A subscriber is never idle; a client that asks nothing is dropped with 1001 after IdleTimeoutSec.
    subscriber = websocket(port)
    request = b'{"cmd": "subscribe", "args": {}}'
    subscriber.sendall(bytes([0x81, 0x80 | len(request)]) + b'\0\0\0\0' + request)  # masked with zeros
    silent = websocket(port)
    started = time.monotonic()
    silent.settimeout(IDLE + 10)
    goodbye = b''
    while len(goodbye) < 2 or len(goodbye) < 2 + (goodbye[1] & 0x7f):  # our close frame, whole
        chunk = silent.recv(100)
        assert chunk, f'closed without a close frame: {goodbye!r}'
        goodbye += chunk
    dropped_after = time.monotonic() - started
    # The server has ended its side, and closes once we do (it reads what we still send until then).
    assert read_all(silent, 5) == b''
    silent.close()
    print(f'silent websocket dropped after {dropped_after:.2f} s (IdleTimeoutSec={IDLE})')
    assert goodbye[:2] == b'\x88\x06' and int.from_bytes(goodbye[2:4], 'big') == 1001, goodbye
    assert IDLE - 0.2 <= dropped_after <= IDLE + 2, dropped_after
    status = web_status(daemon)
    assert status['dropped_idle'] == 1 and status['clients'] == 1, status
    subscriber.close()
    wait_for(lambda: web_status(daemon)['connections'] == 0, 5, what='the connections gone')

    # Four connections from one address are let in, the fifth is refused at once (and counted); once one
    # goes, another may come.
    held = [socket.create_connection(('127.0.0.1', port)) for _ in range(4)]
    wait_for(lambda: web_status(daemon)['connections'] == 4, 5, what='four connections')
    fifth = socket.create_connection(('127.0.0.1', port))
    assert read_all(fifth, 5) == b''
    fifth.close()
    assert web_status(daemon)['refused_per_address'] == 1
    held.pop().close()
    wait_for(lambda: web_status(daemon)['connections'] == 3, 5, what='one connection gone')
    assert healthz(port) is not None
    for s in held:
        s.close()


def test_a_dropped_client_is_disconnected_at_once(daemon):
    """A client that asks and never reads is dropped after StallTimeoutSec, and its connection goes with
    it (reset: what it would not read is not kept for it), not at some later HTTP activity."""
    port = start(daemon, StallTimeoutSec=1)
    stuck = websocket(port, rcvbuf=4096)
    request = b'{"cmd": "status", "args": {}}'
    stuck.sendall((bytes([0x81, 0x80 | len(request)]) + b'\0\0\0\0' + request) * 2000)  # masked with zeros
    status = wait_for(lambda: (lambda w: w if w['dropped'] == 1 else None)(web_status(daemon)), 20,
                      what='the stalled client dropped')
    dropped = time.monotonic()
    assert status['clients'] == 0, status
    stuck.settimeout(1)
    try:
        while stuck.recv(1 << 20):
            assert time.monotonic() - dropped < 1, 'the dropped client still gets data after 1 s'
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError("the dropped client's connection is still open 1 s after its drop")
    print(f'dropped client saw its end {(time.monotonic() - dropped) * 1000:.0f} ms after the drop was seen')
    stuck.close()
    wait_for(lambda: web_status(daemon)['connections'] == 0, 1, what="the dropped client's connection released")


# Done means 3 ------------------------------------------------------------------------------------

GROUPS = 1000
BUDGET_MIB = 48       # [Web] OutputBudgetMiB=, the default
RSS_BOUND_MIB = 64    # over the resting figure
STALLED = WS_MAX - 1  # and one reader: every websocket place
STALL = 10            # [Web] StallTimeoutSec=: those that fit in the budget go then


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        return int(next(line.split()[1] for line in f if line.startswith('VmRSS:')))


def subscribe(s):
    request = b'{"cmd": "subscribe", "args": {}}'
    s.sendall(bytes([0x81, 0x80 | len(request)]) + b'\0\0\0\0' + request)  # masked with zeros


class Reader(threading.Thread):
    """A subscriber that reads all it is sent: the second each push is for, in order."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = websocket(port)
        self.seconds, self.error, self.stop = [], None, False
        self.buf = bytearray()

    def recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError('the reader was disconnected')
            self.buf += chunk
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def run(self):
        try:
            subscribe(self.sock)
            while not self.stop:
                b0, b1 = self.recv_exact(2)
                size = b1 & 0x7f
                if size == 126:
                    size = int.from_bytes(self.recv_exact(2), 'big')
                elif size == 127:
                    size = int.from_bytes(self.recv_exact(8), 'big')
                payload = self.recv_exact(size)
                assert b0 == 0x81, f'not a whole text frame: {b0:#x}'
                if payload.startswith(b'{"subscribed"'):
                    continue
                # A push is {"<second>": {...}}.
                self.seconds.append(int(payload[2:payload.index(b'"', 2)]))
        except Exception as e:  # noqa: BLE001 - told to the test
            if not self.stop:
                self.error = e


class RssPeak(threading.Thread):
    """The daemon's highest VmRSS, read every 5 ms (a push to 255 clients takes a few hundred)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, rss_kib(pid), False

    def run(self):
        while not self.stop:
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
            except OSError:
                return
            time.sleep(0.005)


def test_stalled_subscribers_are_dropped_within_the_output_budget(daemon, slices):
    """255 subscribers that stop reading and one that reads, at 1000 groups (a push is ~200 KB): the
    daemon's RSS stays within 64 MiB of its resting figure (the output budget is 48 MiB), the slowest are
    dropped for the budget (those that fit in it at StallTimeoutSec), each sees its connection end within
    1 s of the drop, and the reader gets every second."""
    port = free_port()
    daemon.write_config(f'[Web]\nListen=127.0.0.1:{port}\nMaxConnectionsPerAddress=1000\n'
                        f'OutputBudgetMiB={BUDGET_MIB}\nStallTimeoutSec={STALL}\n')
    daemon.write_tree({'slices': {f'g{i:04d}': {} for i in range(GROUPS)}})
    started = time.monotonic()
    daemon.start()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    daemon.wait_status(lambda s: s['sampler']['slices_complete'] == s['sampler']['slices'] > GROUPS, 120,
                       interval=0.5, what=f'{GROUPS} slices sampled')
    print(f'{GROUPS} slices sampled after {time.monotonic() - started:.1f} s')
    pid = daemon.host_pid()
    with open(f'/proc/{pid}/maps') as f:
        sanitized = 'libasan' in f.read()
    daemon.wait_ticks(2)  # a push of every slice is made (and kept in the window) before the resting figure
    rest = rss_kib(pid)

    rss = RssPeak(pid)
    rss.start()
    reader = Reader(port)
    reader.start()
    stalled = [websocket(port, rcvbuf=4096) for _ in range(STALLED)]
    for s in stalled:
        subscribe(s)
    poller = select.poll()
    for s in stalled:
        poller.register(s, select.POLLRDHUP)  # the end only (POLLERR, POLLHUP are always told), not data
    ended, seen = set(), []  # seen: (when the status first showed k drops, k)
    deadline = time.monotonic() + 45
    while len(ended) < STALLED or len(reader.seconds) < 10:
        assert time.monotonic() < deadline, \
            f'{len(ended)} of {STALLED} ended, {len(reader.seconds)} pushes read'
        for fd, _ in poller.poll(0):
            ended.add(fd)
            poller.unregister(fd)
        now = time.monotonic()
        for when, k in seen:
            assert len(ended) >= k or now - when <= 1, \
                f'{k} clients dropped {now - when:.1f} s ago, only {len(ended)} saw their connection end'
        web = web_status(daemon)
        dropped = web['dropped_budget'] + web['dropped']
        if not seen or dropped > seen[-1][1]:
            seen.append((time.monotonic(), dropped))
        assert web['output_bytes'] <= (BUDGET_MIB << 20) + (1 << 20), web  # over by one push at most
    reader.stop = rss.stop = True
    web = web_status(daemon)
    print(f'RSS resting {rest / 1024:.1f} MiB, peak {rss.peak / 1024:.1f} MiB '
          f'(+{(rss.peak - rest) / 1024:.1f}); '
          f'{web["dropped_budget"]} dropped for the budget, {web["dropped"]} at StallTimeoutSec; '
          f'the reader got {len(reader.seconds)} pushes')
    assert reader.error is None, reader.error
    assert web['dropped_budget'] > STALLED // 2 and web['dropped_budget'] + web['dropped'] == STALLED, web
    assert web['clients'] == 1, web
    # ASan's quarantine keeps freed memory: the figure means something on the plain build only.
    assert sanitized or rss.peak - rest <= RSS_BOUND_MIB * 1024, (rest, rss.peak)
    seconds = reader.seconds
    assert len(seconds) >= 10 and seconds == list(range(seconds[0], seconds[0] + len(seconds))), seconds
    reader.sock.close()
    for s in stalled:
        s.close()
