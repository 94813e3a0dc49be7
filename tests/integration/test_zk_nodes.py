# SPDX-License-Identifier: MIT
"""The ZooKeeper source with several data nodes and the children of one node on one session, against a real
ZooKeeper server: tests/manual/zk-watch.c prints what the source delivers as JSON lines (no daemon, no testbed)."""
import json
import os
import queue
import subprocess
import threading
import time

import pytest
from kazoo.client import KazooClient

from conftest import BUILD

WATCH = os.path.join(BUILD, 'zk-watch')
ENOENT, E2BIG = 2, 7


@pytest.fixture
def kz(zk):
    client = KazooClient(hosts=zk.hosts, timeout=10)
    client.start(timeout=15)
    try:
        yield client
    finally:
        client.stop()
        client.close()


class Watch:
    def __init__(self, hosts, *args):
        self.proc = subprocess.Popen([WATCH, hosts, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.lines = queue.Queue()
        self.seen = []   # every delivery so far
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def _next(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            item = self.lines.get(timeout=left)
        except queue.Empty:
            return None
        assert item is not None, 'zk-watch exited'
        return item

    def expect(self, node, timeout=15, **fields):
        """Waits for a delivery of node whose fields match; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            item = self._next(deadline)
            assert item is not None, f'no delivery of {node} with {fields}; seen {self.seen[-10:]}'
            if 'node' not in item:
                continue
            self.seen.append(item)
            if item['node'] == node and all(item.get(k) == v for k, v in fields.items()):
                return item

    def status(self, timeout=10):
        self.proc.stdin.write('status\n')
        deadline = time.monotonic() + timeout
        while True:
            item = self._next(deadline)
            assert item is not None, 'no status'
            if 'status' in item:
                return item['status']
            if 'node' in item:
                self.seen.append(item)

    def send(self, line):
        self.proc.stdin.write(line + '\n')

    def close(self):
        try:
            self.proc.stdin.write('quit\n')
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        assert self.proc.returncode == 0

    def count(self, node, **fields):
        return sum(1 for i in self.seen if i['node'] == node and all(i.get(k) == v for k, v in fields.items()))


@pytest.fixture
def watch(zk):
    started = []

    def start(*args):
        w = Watch(zk.hosts, *args)
        started.append(w)
        return w
    yield start
    for w in started:
        w.close()


def test_several_nodes_and_children(kz, watch):
    kz.create('/t/a', b'A1', makepath=True)
    kz.create('/t/users/alice', b'{"alice":1}', makepath=True)
    kz.create('/t/users/bob', b'{"bob":1}')
    w = watch('--children-of', '/t/users', '--max-children', '3', '/t/a', '/t/b')

    w.expect('/t/a', data='A1', version=0, error=0)
    w.expect('/t/b', error=-ENOENT)
    w.expect('/t/users', error=0)
    w.expect('/t/users/alice', data='{"alice":1}', version=0)
    w.expect('/t/users/bob', data='{"bob":1}', version=0)
    st = w.status()
    assert st['node'] == '/t/a'
    assert st['state'] == 'watching'
    assert [(n['path'], n['version'], n['state']) for n in st['nodes']] == [
        ('/t/a', 0, 'watching'), ('/t/b', -1, 'watching')]
    assert st['children']['path'] == '/t/users'
    assert st['children']['count'] == 2
    assert st['children']['skipped'] == 0

    # Each node's change is its own delivery, with its own version.
    kz.set('/t/a', b'A2')
    w.expect('/t/a', data='A2', version=1)
    kz.create('/t/b', b'B1')
    w.expect('/t/b', data='B1', version=0, error=0)
    kz.set('/t/users/alice', b'{"alice":2}')
    w.expect('/t/users/alice', data='{"alice":2}', version=1)

    # A child that leaves: -ENOENT once, then forgotten; a new one is read and watched.
    kz.delete('/t/users/bob')
    w.expect('/t/users/bob', error=-ENOENT)
    kz.create('/t/users/carol', b'{"carol":1}')
    w.expect('/t/users/carol', data='{"carol":1}', version=0)
    kz.set('/t/users/carol', b'{"carol":2}')
    w.expect('/t/users/carol', data='{"carol":2}', version=1)
    assert w.count('/t/users/bob', error=-ENOENT) == 1
    st = w.status()
    assert st['children']['count'] == 2
    assert [(n['path'], n['version']) for n in st['nodes']] == [('/t/a', 1), ('/t/b', 0)]

    # A data node deleted: -ENOENT, and its creation is seen again.
    kz.delete('/t/a')
    w.expect('/t/a', error=-ENOENT)
    kz.create('/t/a', b'A3')
    w.expect('/t/a', data='A3', version=0)

    # A reread delivers every node again.
    w.send('reread')
    w.expect('/t/a', data='A3')
    w.expect('/t/b', data='B1')
    w.expect('/t/users/alice', data='{"alice":2}')
    w.expect('/t/users/carol', data='{"carol":2}')
    assert w.count('/t/users/bob', error=-ENOENT) == 1


def test_max_children(kz, watch):
    kz.create('/m/users/a', b'a', makepath=True)
    kz.create('/m/users/b', b'b')
    w = watch('--children-of', '/m/users', '--max-children', '2', '/m/tree')
    w.expect('/m/users/a', data='a')
    w.expect('/m/users/b', data='b')

    kz.create('/m/users/c', b'c')
    e = w.expect('/m/users', error=-E2BIG)
    assert '/m/users' in e['message'] and '2' in e['message']
    st = w.status()
    assert st['children']['count'] == 2
    # The children already watched are kept and watched.
    kz.set('/m/users/a', b'a2')
    w.expect('/m/users/a', data='a2', version=1)
    assert w.count('/m/users/c') == 0

    # Back within the bound: c joins.
    kz.delete('/m/users/b')
    w.expect('/m/users/b', error=-ENOENT)
    w.expect('/m/users/c', data='c')
    # The list read that let c in is delivered without error (children_of first, then its children).
    assert [i['error'] for i in w.seen if i['node'] == '/m/users'][-1] == 0
    assert w.status()['children']['count'] == 2


def test_children_of_missing(kz, watch):
    w = watch('--children-of', '/n/users', '/n/tree')
    w.expect('/n/tree', error=-ENOENT)
    w.expect('/n/users', error=-ENOENT)

    kz.create('/n/users/x', b'x', makepath=True)
    w.expect('/n/users/x', data='x')
    kz.create('/n/tree', b'T')
    w.expect('/n/tree', data='T')

    # The whole list goes: each child -ENOENT once, children_of -ENOENT and watched for creation again.
    kz.delete('/n/users', recursive=True)
    w.expect('/n/users', error=-ENOENT)  # children_of is delivered before its children
    w.expect('/n/users/x', error=-ENOENT)
    kz.create('/n/users/y', b'y', makepath=True)
    w.expect('/n/users/y', data='y')
    assert w.count('/n/users/x', error=-ENOENT) == 1
    assert w.status()['children']['count'] == 1


def test_too_large_per_node(kz, watch):
    kz.create('/l/small', b's', makepath=True)
    kz.create('/l/big', b'x' * 100)
    w = watch('--max-bytes', '50', '/l/small', '/l/big')
    w.expect('/l/small', data='s')
    e = w.expect('/l/big', error=-27)  # EFBIG
    assert '/l/big' in e['message']
    kz.set('/l/big', b'ok')
    w.expect('/l/big', data='ok', error=0)


def test_server_restart_reads_all_again(zk, kz, watch):
    kz.create('/r/a', b'1', makepath=True)
    kz.create('/r/users/u', b'u1', makepath=True)
    w = watch('--children-of', '/r/users', '/r/a')
    w.expect('/r/a', data='1')
    w.expect('/r/users/u', data='u1')
    kz.stop()
    zk.stop()
    zk.start()
    kz.start(timeout=15)
    kz.set('/r/a', b'2')
    kz.create('/r/users/v', b'v1')
    w.expect('/r/a', data='2')
    w.expect('/r/users/v', data='v1')
    kz.set('/r/users/u', b'u2')
    w.expect('/r/users/u', data='u2')


def test_refused_child_does_not_hold_back_the_others(kz, watch):
    """A child whose ACL refuses us is retried with backoff; the other nodes' changes are read meanwhile."""
    from kazoo.security import make_digest_acl
    kz.create('/p/tree', b't', makepath=True)
    kz.create('/p/users/open', b'o1', makepath=True)
    kz.create('/p/users/secret', b's', acl=[make_digest_acl('someone', 'else', all=True)])
    w = watch('--children-of', '/p/users', '/p/tree')
    w.expect('/p/users/open', data='o1')
    e = w.expect('/p/users/secret', error=-13)  # EACCES
    assert 'Auth=' in e['message']
    # Let the backoff grow past what the next check allows (0.25 + 0.5 + 1 + 2 s: the next wait is ~4 s).
    for _ in range(4):
        w.expect('/p/users/secret', error=-13)
    assert w.status()['state'] == 'read-backoff'
    start = time.monotonic()
    kz.set('/p/users/open', b'o2')
    w.expect('/p/users/open', data='o2', timeout=2)
    kz.set('/p/tree', b't2')
    w.expect('/p/tree', data='t2', timeout=2)
    assert time.monotonic() - start < 2.5
    # The refused one is still retried.
    w.expect('/p/users/secret', error=-13)
