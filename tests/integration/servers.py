# SPDX-License-Identifier: MIT
"""Real servers for end-to-end tests, from Debian packages, on loopback; stopped by pid."""
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

JAVA_DIR = '/usr/share/java'
ZK_JARS = ['zookeeper', 'zookeeper-jute', 'slf4j-api', 'slf4j-simple', 'netty-buffer', 'netty-codec',
           'netty-common', 'netty-handler', 'netty-resolver', 'netty-transport', 'netty-transport-native-epoll',
           'netty-transport-native-unix-common', 'metrics-core', 'snappy-java', 'commons-cli', 'commons-io']


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, timeout, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f'server exited with {proc.returncode}: {tail(log)}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f'nothing listens on 127.0.0.1:{port} after {timeout}s: {tail(log)}')


def tail(path, n=3000):
    try:
        with open(path, errors='replace') as f:
            return f.read()[-n:]
    except (OSError, TypeError):
        return ''


class ZkServer:
    """ZooKeeper 3.8 standalone (Debian's `zookeeper` package, Java 17) on 127.0.0.1."""

    def __init__(self, max_buffer=8 << 20):
        self.dir = tempfile.mkdtemp(prefix='sk-zk-')
        self.port = free_port()
        self.max_buffer = max_buffer
        self.proc = None
        self.log = os.path.join(self.dir, 'server.log')
        self.write_config()

    def write_config(self):
        data = os.path.join(self.dir, 'data')
        os.makedirs(data, exist_ok=True)
        with open(os.path.join(self.dir, 'zoo.cfg'), 'w') as f:
            f.write(f'tickTime=500\ndataDir={data}\nclientPort={self.port}\nclientPortAddress=127.0.0.1\n'
                    'maxSessionTimeout=60000\nminSessionTimeout=1000\nadmin.enableServer=false\n'
                    '4lw.commands.whitelist=*\n')

    def classpath(self):
        jars = []
        for name in ZK_JARS:
            path = os.path.join(JAVA_DIR, name + '.jar')
            if os.path.exists(path):
                jars.append(path)
        missing = [n for n in ('zookeeper', 'zookeeper-jute', 'slf4j-api') if
                   not os.path.exists(os.path.join(JAVA_DIR, n + '.jar'))]
        if missing:
            raise RuntimeError(f'ZooKeeper jars missing from {JAVA_DIR}: {missing} (apt-get install zookeeper)')
        return ':'.join(jars)

    def start(self, timeout=30):
        assert self.proc is None
        log = open(self.log, 'ab')
        self.proc = subprocess.Popen(
            ['java', f'-Djute.maxbuffer={self.max_buffer}', '-Xmx256m', '-XX:+UseSerialGC',
             '-Dzookeeper.admin.enableServer=false', '-cp', self.classpath(),
             'org.apache.zookeeper.server.ZooKeeperServerMain', os.path.join(self.dir, 'zoo.cfg')],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        wait_port(self.port, timeout, self.proc, self.log)
        return self

    def stop(self, timeout=15):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def wipe(self):
        """Forget every node and session: a client that comes back finds its session expired."""
        assert self.proc is None
        shutil.rmtree(os.path.join(self.dir, 'data'))
        self.write_config()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def hosts(self):
        return f'127.0.0.1:{self.port}'


class RedisServer:
    """redis-server (Debian's redis-server package) on 127.0.0.1, no persistence."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='sk-redis-')
        self.port = free_port()
        self.proc = None
        self.log = os.path.join(self.dir, 'server.log')

    def start(self, timeout=15):
        assert self.proc is None
        log = open(self.log, 'ab')
        self.proc = subprocess.Popen(
            ['redis-server', '--port', str(self.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
             '--daemonize', 'no', '--dir', self.dir],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        wait_port(self.port, timeout, self.proc, self.log)
        return self

    def stop(self, timeout=15):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()  # like a crash: no goodbye to clients
            self.proc.wait(timeout)
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def address(self):
        return f'127.0.0.1:{self.port}'
