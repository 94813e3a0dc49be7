# SPDX-License-Identifier: MIT
"""A fleet for end-to-end tests (issue 17): one real ZooKeeper, one real redis-server, and three namespace
testbeds (host-a, host-b, host-c), each running its own slicekeeperd with a distinct [Node] Name=.

The testbeds run side by side: each has its own sktest-<launcher pid> cgroups, its own /run (control
socket, state), its own hostname (the node name), and they share the host's network namespace, so the
servers on the host's loopback are 127.0.0.1 inside. Each daemon gets a web port of its own on that shared
loopback (get_conf, events), never the default one.

    with Fleet() as fleet:                      # ZooKeeper, Redis, three booted testbeds
        fleet.begin('overlay')                  # a fresh ZooKeeper prefix and Redis prefix
        v = fleet.write(fleet.shared_node, tree)
        fleet.start_all()
        for h in fleet: h.wait_applied(shared=v)

Used by tests/integration/test_fleet.py (as a module-scoped fixture) and bench/fleet-propagation-bench.py.
Standard library, kazoo, redis and websocket-client (Debian's python3-kazoo, python3-redis,
python3-websocket); run with /usr/bin/python3.
"""
import contextlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import conftest  # noqa: E402  (REPO, BUILD, Daemon, Slices, testbed module)
from conftest import CTL, REPO, Daemon, Slices, tbmod, wait_for  # noqa: E402
from servers import RedisServer, ZkServer, free_port  # noqa: E402

HOSTS = ('host-a', 'host-b', 'host-c')
ANY = object()  # "whatever version": wait_applied(overlay=ANY)


def encode(data):
    """Node data: bytes as they are, str as UTF-8, anything else as JSON."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    return json.dumps(data).encode()


def tree_versions(status):
    """(shared, overlay) tree versions from a status answer: its "versions": {"shared": n, "overlay": m|null}
    (issue 17; also accepted inside "tree"). A daemon without them (before issue 17) has only "version", which
    for a ZooKeeper source is the node's version: (version, None)."""
    for versions in (status.get('versions'), (status.get('tree') or {}).get('versions')):
        if isinstance(versions, dict):
            return versions.get('shared'), versions.get('overlay')
    return status.get('version'), None


def tree_error(status):
    """The tree error status reports, as text: "last_error"'s message and the node it names ("node", issue 17)
    (or "tree": {"error": ...}); None for none."""
    tree = status.get('tree')
    if isinstance(tree, dict) and tree.get('error'):
        error = tree['error']
        return json.dumps(error) if isinstance(error, dict) else error
    last = status.get('last_error')
    if not last:
        return None
    return last.get('message', '') + (f' (node {last["node"]})' if last.get('node') else '')


def desired_groups(status):
    """The groups of the applied tree whose slices are up, as status lists them."""
    return {s['group'] for s in status.get('slices', []) if s.get('desired') and s.get('active_state') == 'active'}


class Host:
    """One testbed and its daemon."""

    def __init__(self, fleet, name, tb):
        self.fleet = fleet
        self.name = name
        self.tb = tb
        self.daemon = Daemon(tb)
        self.slices = Slices(tb)
        self.web_port = None
        self.config = ''

    def __repr__(self):
        return f'Host({self.name})'

    # configuration and lifecycle ---------------------------------------------------------------------------

    def configure(self, redis=True, host_keys=None, overlay=None, fleet_users=None, web=True, node_name=None,
                  extra=''):
        """The daemon's config: the tree from the fleet's ZooKeeper under its current prefix, [Node] Name= the
        host's name (node_name= another), records to the fleet's Redis under its current Redis prefix
        (redis=False: none), a web port of its own (web=False: none). host_keys, overlay, fleet_users: the
        issue 17 switches ([Redis] HostKeys=, [ZooKeeper] HostOverlay=, FleetUsers=), None for the default.
        extra: more sections, appended."""
        f = self.fleet

        def yn(v):
            return 'yes' if v else 'no'
        zk = (f'[ZooKeeper]\nHosts={f.zk.hosts}\nPrefix={f.prefix}\nSessionTimeoutSec=4\n'
              + (f'HostOverlay={yn(overlay)}\n' if overlay is not None else '')
              + (f'FleetUsers={yn(fleet_users)}\n' if fleet_users is not None else ''))
        text = zk + f'\n[Node]\nName={node_name or self.name}\n\n[Tasks]\nUpdateIntervalSec=2\n'
        if redis:
            text += (f'\n[Redis]\nAddress={f.redis.address}\nPrefix={f.redis_prefix}\n'
                     + (f'HostKeys={yn(host_keys)}\n' if host_keys is not None else ''))
        if web:
            if self.web_port is None:
                self.web_port = free_port()
            text += f'\n[Web]\nListen=127.0.0.1:{self.web_port}\n'
        else:
            text += '\n[Web]\nListen=\n'
        self.config = text + ('\n' + extra if extra else '')
        self.daemon.write_file(self.daemon.config_path, self.config)

    def start(self):
        self.daemon.start()

    def running(self):
        return self.tb.show(self.daemon.unit, 'ActiveState') == 'active'

    def stop(self):
        """SIGTERM; the daemon must end cleanly (under ASan: no leak)."""
        if self.running():
            self.daemon.stop_cleanly()

    # reading it --------------------------------------------------------------------------------------------

    def status(self):
        return self.daemon.status()

    def wait_status(self, predicate, timeout=10, what='status'):
        return self.daemon.wait_status(predicate, timeout, what=f'{self.name}: {what}')

    def versions(self):
        return tree_versions(self.status())

    def wait_applied(self, shared, overlay=ANY, timeout=10):
        """Until the daemon has applied shared tree version `shared` (and overlay version `overlay`: an int,
        None for no overlay, ANY for either). Returns the status."""
        def done(s):
            v_shared, v_overlay = tree_versions(s)
            return v_shared == shared and (overlay is ANY or v_overlay == overlay)
        want = f'shared version {shared}' + ('' if overlay is ANY else f', overlay {overlay}')
        return self.wait_status(done, timeout, what=f'tree applied ({want})')

    def groups(self):
        return desired_groups(self.status())

    def wait_groups(self, predicate, timeout=10, what='groups'):
        """Until predicate(set of up groups of the applied tree) holds; returns the status."""
        return self.wait_status(lambda s: predicate(desired_groups(s)), timeout, what=what)

    def unit_active(self, unit):
        return self.slices.active(unit)

    def get_conf(self):
        """The websocket's get_conf answer."""
        import websocket
        ws = websocket.create_connection(f'ws://127.0.0.1:{self.web_port}/', timeout=10)
        try:
            ws.send(json.dumps({'cmd': 'get_conf'}))
            return json.loads(ws.recv())
        finally:
            ws.close()

    def events_socket(self, kinds=('tree_applied', 'tree_rejected'), last=0):
        """A websocket subscribed to the daemon's events; returns (socket, the subscription's answer)."""
        import websocket
        ws = websocket.create_connection(f'ws://127.0.0.1:{self.web_port}/', timeout=10)
        ws.send(json.dumps({'cmd': 'events', 'last': last, 'kinds': list(kinds)}))
        answer = json.loads(ws.recv())
        if answer.get('events_subscribed') is not True:
            ws.close()
            raise AssertionError(f'{self.name}: events subscription refused: {answer}')
        return ws, answer

    def ctl(self, *args, check=True):
        return self.daemon.ctl(*args, check=check)

    def journal(self):
        return self.daemon.journal()


class Fleet:
    """ZooKeeper, Redis, and one Host per name; close() (or the with block) tears everything down, in reverse,
    whatever failed."""

    def __init__(self, names=HOSTS, binds=(REPO,)):
        self.names = tuple(names)
        self.binds = list(binds)
        self.zk = self.redis = self.kz = None
        self.hosts = {}
        self.prefix = None
        self.redis_prefix = None
        self._count = 0
        self._stack = contextlib.ExitStack()

    # lifecycle ---------------------------------------------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        from kazoo.client import KazooClient
        self.zk = ZkServer()
        self._stack.callback(self.zk.close)
        self.zk.start()
        self.redis = RedisServer()
        self._stack.callback(self.redis.close)
        self.redis.start()
        self.kz = KazooClient(hosts=self.zk.hosts, timeout=10)
        self.kz.start(timeout=15)

        def close_kz(kz=self.kz):
            kz.stop()
            kz.close()
        self._stack.callback(close_kz)
        for name in self.names:
            # The testbed's hostname is the node name too: what [Node] Name= defaults to.
            tb = tbmod.Testbed(binds=self.binds, name=name)
            self._stack.callback(tb.stop)  # also after a failed start(); stopped last-started first
            tb.start()
            self.hosts[name] = Host(self, name, tb)
        self._stack.callback(self.stop_all_quietly)
        self.begin('fleet')
        return self

    def close(self):
        self._stack.close()

    def stop_all_quietly(self):
        for h in self.hosts.values():
            try:
                if h.tb.pid and h.running():
                    h.daemon.stop()
            except Exception as e:  # tearing down: the testbeds go next anyway
                print(f'fleet: stopping {h.name}\'s daemon: {e}', file=sys.stderr)

    # a fresh start for a test ------------------------------------------------------------------------------

    def begin(self, tag):
        """A fresh ZooKeeper prefix and Redis prefix (nothing a previous test wrote is seen); the daemons
        must be started again (configure() uses these prefixes)."""
        self._count += 1
        self.prefix = f'/skfleet/{tag}-{self._count}'
        self.redis_prefix = f'skfleet_{tag}_{self._count}'
        self.kz.ensure_path(self.prefix)

    def stop_all(self):
        """Every running daemon stopped cleanly; the first failure is raised once all are stopped."""
        errors = []
        for h in self.hosts.values():
            try:
                h.stop()
            except Exception as e:
                errors.append(e)
        if errors:
            raise errors[0]

    def configure_all(self, **kw):
        for h in self:
            h.configure(**kw)

    def start_all(self, **kw):
        """configure_all(**kw) and start every daemon."""
        self.configure_all(**kw)
        for h in self:
            h.start()

    def __iter__(self):
        return iter(self.hosts.values())

    def __getitem__(self, name):
        return self.hosts[name]

    # ZooKeeper ---------------------------------------------------------------------------------------------

    @property
    def shared_node(self):
        return f'{self.prefix}/arch_conf'

    def overlay_node(self, host):
        return f'{self.prefix}/hosts/{host}/arch_conf'

    def user_node(self, name):
        return f'{self.prefix}/users/{name}'

    def write(self, path, data):
        """Create or set a node (its parents made); returns the node's version after the write."""
        raw = encode(data)
        if self.kz.exists(path):
            return self.kz.set(path, raw).version
        self.kz.ensure_path(os.path.dirname(path))
        self.kz.create(path, raw)
        return self.kz.exists(path).version

    def delete(self, path):
        self.kz.delete(path)

    def version(self, path):
        stat = self.kz.exists(path)
        return stat.version if stat else None

    # Redis -------------------------------------------------------------------------------------------------

    def redis_client(self):
        import redis
        return redis.Redis(host='127.0.0.1', port=self.redis.port)

    def fleet_query(self, *args, timeout=30):
        """`slicekeeper fleet --json ARGS` run on the host against the fleet's Redis and Redis prefix."""
        argv = [CTL, 'fleet', '--json', '--redis', self.redis.address, '--prefix', self.redis_prefix, *args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise AssertionError(f'{" ".join(argv)} exited with {r.returncode}: {r.stderr}')
        return json.loads(r.stdout)

    # all hosts ---------------------------------------------------------------------------------------------

    def wait_all_applied(self, shared, overlay=ANY, timeout=10, hosts=None):
        return {h.name: h.wait_applied(shared, overlay, timeout) for h in (hosts or self)}


def fleet_unavailable():
    """Why this machine cannot run the fleet (None: it can)."""
    try:
        tbmod.check_host()
    except tbmod.TestbedUnavailable as e:
        return str(e)
    if not os.access(conftest.DAEMON, os.X_OK):
        return f'{conftest.DAEMON} is not built (SLICEKEEPER_BUILD=)'
    return None


__all__ = ['ANY', 'HOSTS', 'Fleet', 'Host', 'desired_groups', 'encode', 'fleet_unavailable', 'tree_error',
           'tree_versions', 'wait_for']
