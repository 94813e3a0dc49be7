# SPDX-License-Identifier: MIT
"""What a cgrouparch user brings along (issue 13): trees with conf.pids, pid files with whitespace, several
ZooKeeper Auth= lines, and addresses without a port."""
import pytest

from conftest import wait_for
from test_attach import cgroup_of

NO_WEB = '[Web]\nListen='


def cgrouparch_test_tree(p1, p2, p3):
    """cgrouparch's test_cpu.py tree (pykit cgrouparch/test/test_cpu.py), its three workers' pids in conf."""
    return {'cpu': {'sub_cgroup': {
        'test_cgroup_a': {'conf': {'share': 500, 'pids': [p1]}},
        'test_cgroup_b': {'conf': {'share': 1000}, 'sub_cgroup': {
            'test_cgroup_b_sub1': {'conf': {'share': 100, 'pids': [p2]}},
            'test_cgroup_b_sub2': {'conf': {'share': 300, 'pids': [p3]}},
        }},
    }}}


SCOPES = ['/test_cgroup_a.slice/test_cgroup_a.scope',
          '/test_cgroup_b.slice/test_cgroup_b-test_cgroup_b_sub1.slice/test_cgroup_b-test_cgroup_b_sub1.scope',
          '/test_cgroup_b.slice/test_cgroup_b-test_cgroup_b_sub2.slice/test_cgroup_b-test_cgroup_b_sub2.scope']


def start_workers(tb, n):
    pids = []
    for i in range(n):
        tb.run(['systemd-run', f'--unit=worker{i}', 'sleep', '300'])
        pids.append(int(tb.show(f'worker{i}.service', 'MainPID')))
    return pids


# Done means 2 ------------------------------------------------------------------------------------

def test_cgrouparch_test_tree_with_conf_pids_moves_its_pids(daemon, tb):
    """cgrouparch's own test tree, as it is: applied, and each worker ends in its group's scope."""
    workers = start_workers(tb, 3)
    for p in workers:
        assert cgroup_of(tb, p).startswith('/system.slice/worker')
    daemon.write_config(NO_WEB)
    daemon.write_tree(cgrouparch_test_tree(*workers))
    daemon.start()
    for p, scope in zip(workers, SCOPES):
        wait_for(lambda: cgroup_of(tb, p) == scope, 10, what=f'pid {p} in {scope}')
    status = daemon.status()
    assert status['schema'] == 'cgrouparch' and status['last_error'] is None
    groups = status['tasks']['groups']
    assert groups['test_cgroup_a']['listed_pids'] == [workers[0]]
    assert groups['test_cgroup_b/test_cgroup_b_sub2']['listed_pids'] == [workers[2]]
    assert 'test_cgroup_b' not in groups  # lists no pids: nothing to move
    # The shares still apply (CPUWeight = share*100/1024).
    assert tb.show('test_cgroup_b-test_cgroup_b_sub2.slice', 'CPUWeight') == '29'
    assert tb.show('test_cgroup_b-test_cgroup_b_sub2.scope', 'Delegate') == 'yes'


def test_conf_pids_are_refused_as_pid_files_are(daemon, tb):
    """PID 1, the daemon itself and a pid that does not exist are refused and listed; the rest moves."""
    [worker] = start_workers(tb, 1)
    daemon.write_config(NO_WEB)
    daemon.write_tree({'cpu': {'sub_cgroup': {'test_cgroup_a': {'conf': {'share': 500, 'pids': [worker]}}}}})
    daemon.start()
    wait_for(lambda: cgroup_of(tb, worker) == SCOPES[0], 10, what='the worker moved')
    me = daemon.main_pid()
    daemon.write_tree({'cpu': {'sub_cgroup': {'test_cgroup_a': {'conf': {'share': 500,
                                                                         'pids': [1, me, 31999, worker]}}}}})
    expected = {'conf.pids:1': 'names PID 1',
                f'conf.pids:{me}': 'slicekeeperd itself or one of its ancestors',
                'conf.pids:31999': 'names pid 31999, which does not exist'}

    def all_refused(s):
        got = {r['file']: r['reason'] for r in s['tasks']['groups']['test_cgroup_a']['refusals']}
        return all(f in got and reason in got[f] for f, reason in expected.items())
    status = daemon.wait_status(all_refused, 10, what='every listed pid refused')
    passes = status['tasks']['passes']
    status = daemon.wait_status(lambda s: s['tasks']['passes'] >= passes + 2, 10, what='two more passes')
    assert status['tasks']['groups']['test_cgroup_a']['pids'] == [worker]
    assert cgroup_of(tb, 1) == '/init.scope'
    assert cgroup_of(tb, me) == '/system.slice/slicekeeperd.service'
    journal = daemon.journal(full=True)
    # Each cause logged once, however many passes saw it.
    assert journal.count('Not moving anything for conf.pids:1 (group test_cgroup_a): it names PID 1.') == 1


@pytest.mark.parametrize('bad', [
    ({'pids': ['123']}, '$.cpu.sub_cgroup.test_cgroup_a.conf.pids[0]: must be a pid'),
    ({'pids': [0]}, '$.cpu.sub_cgroup.test_cgroup_a.conf.pids[0]: out of range'),
    ({'pids': 5}, '$.cpu.sub_cgroup.test_cgroup_a.conf.pids: must be an array of pids'),
])
def test_a_bad_conf_pids_rejects_the_tree_and_keeps_the_last_good_one(daemon, tb, bad):
    conf, message = bad
    daemon.write_config(NO_WEB)
    daemon.write_tree({'cpu': {'sub_cgroup': {'test_cgroup_a': {'conf': {'share': 500}}}}})
    daemon.start()
    daemon.wait_status(lambda s: s['version'] == 1, 10, what='the first tree')
    daemon.write_tree({'cpu': {'sub_cgroup': {'test_cgroup_a': {'conf': {'share': 100, **conf}}}}})
    status = daemon.wait_status(lambda s: s['last_error'], 10, what='the bad tree rejected')
    assert message in status['last_error']['message'], status['last_error']
    assert status['version'] == 1
    assert tb.show('test_cgroup_a.slice', 'CPUWeight') == '49'


# Done means 5: pid files --------------------------------------------------------------------------

def test_pid_files_with_whitespace_around_the_pid_move_their_processes(daemon, tb):
    """cgrouparch read pid files with int(read()): ' 123\\n', '123 \\n' and '123\\r\\n' all named pid 123."""
    workers = start_workers(tb, 3)
    tb.run(['mkdir', '-p', '/run/app'])
    contents = [f' {workers[0]}\n', f'{workers[1]} \n', f'{workers[2]}\r\n']
    for i, text in enumerate(contents):
        daemon.write_file(f'/run/app/w{i}.pid', text)
    daemon.write_config(NO_WEB)
    daemon.write_tree({'slices': {'test_cgroup_a': {'pid_files': [f'/run/app/w{i}.pid' for i in range(3)]}}})
    daemon.start()
    status = daemon.wait_status(lambda s: sorted(s['tasks']['groups']['test_cgroup_a']['pids']) == sorted(workers),
                                10, what='the three workers moved')
    assert status['tasks']['groups']['test_cgroup_a']['refusals'] == []
    for p in workers:
        assert cgroup_of(tb, p) == SCOPES[0]


# Done means 5: Auth= --------------------------------------------------------------------------------

def test_every_auth_line_is_sent_to_zookeeper(daemon, slices, zk):
    """cgrouparch's zk_auth_data was a list. The node's ACL admits only the identity of the FIRST Auth= line;
    a second line names another one. Keeping only the last line (as before) would be refused the read."""
    from kazoo.client import KazooClient
    from kazoo.security import make_digest_acl

    prefix, reader, other = '/habits', ('reader', 'one'), ('writer', 'two')
    kz = KazooClient(hosts=zk.hosts, auth_data=[('digest', ':'.join(reader))], timeout=10)
    kz.start(timeout=15)
    try:
        kz.ensure_path(prefix)
        kz.create(prefix + '/arch_conf', b'{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 2048}}}}}',
                  acl=[make_digest_acl(*reader, all=True)])
    finally:
        kz.stop()
        kz.close()
    daemon.write_file(daemon.config_path,
                      f'[ZooKeeper]\nHosts={zk.hosts}\nPrefix={prefix}\nAuth=digest:{":".join(reader)}\n'
                      f'Auth=digest:{":".join(other)}\nSessionTimeoutSec=4\n\n{NO_WEB}\n')
    daemon.start()
    status = daemon.wait_status(lambda s: s['version'] is not None and s['source']['state'] == 'watching', 15,
                                what='the tree read under the first line\'s identity')
    assert status['last_error'] is None
    wait_for(lambda: slices.active('test_cgroup_a.slice'), 10, what='the slice')
    assert slices.props('test_cgroup_a.slice', 'CPUWeight')['CPUWeight'] == '200'


# Done means 5: Address= -----------------------------------------------------------------------------

def test_bad_addresses_name_file_line_and_what_was_expected(daemon, tb):
    """A bad [Redis] Address= or [Web] Listen= stops the daemon at start with FILE:LINE and the forms it takes."""
    from conftest import DAEMON
    daemon.write_tree({'slices': {}})
    cases = [
        ('[Redis]\nAddress=127.0.0.1:99999\n', ':3: Address=127.0.0.1:99999: "127.0.0.1:99999" has no port '
         'between 1 and 65535; expected HOST:PORT, [IPV6]:PORT, HOST alone (port 6379) or an absolute unix socket '
         'path'),
        ('[Redis]\nAddress=redis host\n', ':3: Address=redis host: "redis host" is not a host name or address; '
         'expected HOST:PORT'),
        ('[Web]\nListen=localhost:8080\n', ':3: Listen=localhost:8080: "localhost" is a host name, not an IP '
         'address; expected IPV4:PORT, [IPV6]:PORT or an IP address alone (port 43409)'),
    ]
    for section, expected in cases:
        daemon.write_file(daemon.config_path, f'\n{section}')  # the key on line 3
        r = tb.run(['systemd-run', '--wait', '--pipe', '-q', DAEMON, f'--config={daemon.config_path}',
                    '--log-target=console'], check=False)
        assert r.returncode != 0, r.stderr
        assert f'{daemon.config_path}{expected}' in r.stderr, r.stderr
        assert 'Invalid argument' not in r.stderr, r.stderr


def port_is_free(port):
    import socket
    with socket.socket() as s:
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def test_redis_address_without_a_port_uses_6379(daemon, slices, tb):
    """cgrouparch's redis_ip with redis_port left out: [Redis] Address=127.0.0.1 writes to 127.0.0.1:6379."""
    import redis
    from servers import RedisServer
    if not port_is_free(6379):
        pytest.skip('127.0.0.1:6379 is taken by something this test did not start')
    server = RedisServer()
    server.port = 6379
    try:
        server.start()
        daemon.write_config(f'[Redis]\nAddress=127.0.0.1\nPrefix=habits\n{NO_WEB}')
        daemon.write_tree({'slices': {'test_cgroup_a': {'cpu_weight': 100}}})
        daemon.start()
        r = redis.Redis(host='127.0.0.1', port=6379)
        wait_for(lambda: r.keys('habits/account/*'), 10, what='a record in Redis at the default port')
    finally:
        if tb.show(daemon.unit, 'ActiveState') == 'active':
            daemon.stop_cleanly()
        server.close()
