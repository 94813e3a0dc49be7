# SPDX-License-Identifier: MIT
"""Honest status (issue 10, Done means 4): a Redis or ZooKeeper outage shows in `slicekeeper status` (text and
JSON) with since-when and the real cause, in the unit's STATUS=, and once in the journal on the way in and once
on the way out; after recovery the connection reads as up and the outage only as history. Real servers (servers.py),
stopped and started on the same port; the daemon in the testbed's systemd."""
import json
import time

import redis as redispy

from conftest import EXAMPLE_TREE, EXAMPLE_UNITS, wait_for
from test_zookeeper import PASSWORD, PREFIX, USER, kz, publish  # noqa: F401 (kz is a fixture)

# No web server: its fixed default port may be taken by another suite on this machine.
NO_WEB = '[Web]\nListen=\n'


def now_usec():
    return time.time_ns() // 1000


class Watch:
    """One connection's outage as the operator sees it: status --json (obj() picks the connection's object),
    the text status line starting with `label`, STATUS= (`short` is its name there) and the journal (`name`)."""

    def __init__(self, tb, daemon, label, short, name, address, obj):
        self.tb, self.daemon = tb, daemon
        self.label, self.short, self.name, self.address, self.obj = label, short, name, address, obj

    def status_text(self):
        return self.tb.show(self.daemon.unit, 'StatusText')

    def text_line(self):
        text = self.daemon.ctl('status').stdout
        found = [ln for ln in text.splitlines() if ln.startswith(self.label)]
        assert len(found) == 1, (self.label, text)
        return found[0], text

    def wait(self, predicate, timeout, what, interval=0.05):
        return self.obj(self.daemon.wait_status(lambda s: predicate(self.obj(s)), timeout, what=what,
                                                interval=interval))

    def wait_first_up(self):
        conn = self.wait(lambda c: c['state'] == 'up', 10, f'{self.short} up')
        assert conn['outage'] is None and conn['last_outage'] is None and conn['outages'] == 0, conn
        assert self.short not in self.status_text()
        assert self.daemon.journal(full=True).count(f'{self.name} up.') == 1

    def wait_down(self, failed_usec, cause='cannot connect: Connection refused'):
        # The real cause (the socket's error, the server's reply), not "unknown error" or "none".
        conn = self.wait(lambda c: c['state'] == 'down' and c['outage']['cause'].startswith(cause), 15,
                         f'{self.short} down: {cause}')
        since = conn['outage']['since_usec']
        assert failed_usec - 1_000_000 <= since <= now_usec(), (failed_usec, since)
        return since

    def check_shown_down(self, since, cause='Connection refused'):
        """After several attempts (the caller waited for a counter): still the same outage, one journal line."""
        conn = self.obj(self.daemon.status())
        assert conn['state'] == 'down' and conn['outage']['since_usec'] == since and conn['outages'] == 1, conn
        text_line, text = self.text_line()
        assert f'{self.address} down since ' in text_line and cause in text_line, text
        wait_for(lambda: f'{self.short} down since ' in self.status_text() and cause in self.status_text(), 5,
                 what=f'STATUS= saying {self.short} is down')
        print(f'STATUS= during the outage: {self.status_text()!r}\nstatus: {text_line!r}')
        journal = self.daemon.journal(full=True)
        assert journal.count(f'{self.name} down: ') == 1, journal
        assert 'unknown error' not in journal
        return text

    def check_shown_up(self, since, status_prefix):
        conn = self.wait(lambda c: c['state'] == 'up', 30, f'{self.short} back')
        assert conn['outage'] is None and 'last_error' not in conn, conn  # history, not a current error
        last = conn['last_outage']
        assert last['since_usec'] == since and last['until_usec'] >= since, last
        text_line, text = self.text_line()
        assert text_line.startswith(f'{self.label:12}{self.address} up'), text
        assert 'last outage: ' in text and 'down since' not in text, text
        wait_for(lambda: self.short not in self.status_text(), 5, what=f'STATUS= without {self.short}')
        assert self.status_text().startswith(status_prefix), self.status_text()
        journal = self.daemon.journal(full=True)
        assert journal.count(f'{self.name} back after ') == 1, journal
        assert journal.count(f'{self.name} down: ') == 1, journal
        print(f'journal: {[ln for ln in journal.splitlines() if ln.startswith(self.name)]}')
        return last


def start_redis_daemon(daemon, slices, tb, redis_server):
    daemon.write_config(f'[Redis]\nAddress={redis_server.address}\nExpireSec=60\n{NO_WEB}')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the example slices')
    redis = Watch(tb, daemon, 'Redis:', 'Redis', f'Redis at {redis_server.address}', redis_server.address,
                  lambda s: s['redis'])
    redis.wait_first_up()
    return redis


def test_redis_outage_shown_while_it_lasts_and_cleared_after(daemon, slices, tb, redis_server):
    redis = start_redis_daemon(daemon, slices, tb, redis_server)

    stopped = now_usec()
    redis_server.stop()
    since = redis.wait_down(stopped)
    # Several attempts later (a counter, not a pause), still one journal line on the way in.
    attempts = daemon.status()['redis']['reconnects']
    redis.wait(lambda c: c['reconnects'] >= attempts + 3, 20, 'three more reconnect attempts')
    redis.check_shown_down(since)

    redis_server.start()  # same port
    last = redis.check_shown_up(since, '3 slices, tree version 1')
    assert last['cause'] == 'cannot connect: Connection refused', last
    assert daemon.status()['redis']['connected'] is True


def test_zookeeper_outage_shown_while_it_lasts_and_cleared_after(daemon, slices, zk, kz, tb):  # noqa: F811
    publish(kz, EXAMPLE_TREE)
    daemon.write_zk_config(zk, PREFIX, f'{USER}:{PASSWORD}', extra=NO_WEB)
    daemon.start()
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the slices')
    daemon.wait_status(lambda s: s['source']['state'] == 'watching', 10, what='the node watched')
    # The outage fields of the source sit in "connection": its "state" is the client's phase.
    zkw = Watch(tb, daemon, 'ZooKeeper:', 'ZooKeeper', f'ZooKeeper at {zk.hosts}', zk.hosts,
                lambda s: dict(s['source']['connection'], reconnects=s['source']['reconnects']))
    zkw.wait_first_up()

    kz.stop()
    stopped = now_usec()
    zk.stop()
    since = zkw.wait_down(stopped)
    # The client gives up on its handle after SessionTimeoutSec and opens another: two of those (a counter)
    # and many refused connects later, still one line on the way in.
    zkw.wait(lambda c: c['reconnects'] >= 2, 30, 'two handles reopened', interval=0.5)
    text = zkw.check_shown_down(since)
    # The tree is not what failed: the connection's trouble is on its own line, the tree has no error.
    assert 'Last error: none' in text and daemon.status()['last_error'] is None

    zk.start()  # same port and data: the session is resumed or found expired; either way it comes back
    kz.start(timeout=15)
    daemon.wait_status(lambda s: s['source']['state'] == 'watching', 30, what='the node watched again')
    last = zkw.check_shown_up(since, '3 slices, tree version 0')
    # The latest cause: refused connects, or the expiry the server found when it was back.
    assert last['cause'].startswith('cannot connect: ') or last['cause'] == 'session expired', last
    assert daemon.status()['last_error'] is None


def test_redis_refusing_writes_is_an_outage_with_its_reply(daemon, slices, tb, redis_server):
    """Connected but every SET refused (here: out of memory): down, with the server's own reply as the cause."""
    redis = start_redis_daemon(daemon, slices, tb, redis_server)
    client = redispy.Redis(host='127.0.0.1', port=redis_server.port)
    client.config_set('maxmemory-policy', 'noeviction')
    failed = now_usec()
    client.config_set('maxmemory', '1')
    since = redis.wait_down(failed, cause='SET refused: OOM command not allowed')
    # It reconnects after a refused pipeline (with backoff) and is refused again: the same outage.
    errors = daemon.status()['redis']['errors']
    redis.wait(lambda c: c['errors'] >= errors + 3, 20, 'three more refused SETs')
    redis.check_shown_down(since, cause='OOM command not allowed')

    client.config_set('maxmemory', '0')
    last = redis.check_shown_up(since, '3 slices, tree version 1')
    assert last['cause'].startswith('SET refused: OOM command not allowed'), last


def test_zookeeper_down_from_the_start_says_why(daemon, slices, zk, kz, tb):  # noqa: F811
    """Never up yet is not "connecting, Last error: none": the refused connects are the cause from the start."""
    publish(kz, EXAMPLE_TREE)
    kz.stop()
    zk.stop()
    started = now_usec()
    daemon.write_zk_config(zk, PREFIX, f'{USER}:{PASSWORD}', extra=NO_WEB)
    daemon.start()
    zkw = Watch(tb, daemon, 'ZooKeeper:', 'ZooKeeper', f'ZooKeeper at {zk.hosts}', zk.hosts,
                lambda s: s['source']['connection'])
    since = zkw.wait_down(started)
    zkw.check_shown_down(since)
    assert daemon.status()['version'] is None
    assert zkw.status_text().startswith('Waiting for ZooKeeper; ZooKeeper down since '), zkw.status_text()

    zk.start()
    kz.start(timeout=15)
    zkw.check_shown_up(since, '3 slices, tree version 0')
    wait_for(lambda: all(slices.active(u) for u in EXAMPLE_UNITS), 10, what='the slices')


def test_redis_socket_down_at_start_is_in_status_before_any_tree(daemon, tb):
    """A unix-socket Redis that is not there fails while the daemon sets it up, before any tree arrived: it is
    said from the start (status and STATUS=), with the socket's error."""
    sock = '/run/sktest/no-redis.sock'
    daemon.write_config(f'[Redis]\nAddress={sock}\nExpireSec=60\n{NO_WEB}')
    tb.run(['rm', '-f', daemon.tree_path])  # no tree: no pass
    started = now_usec()
    daemon.start()
    redis = Watch(tb, daemon, 'Redis:', 'Redis', f'Redis at {sock}', sock, lambda s: s['redis'])
    since = redis.wait_down(started, cause='cannot connect: No such file or directory')
    assert daemon.status()['version'] is None
    wait_for(lambda: redis.status_text().startswith('Waiting for a valid tree') and
             '; Redis down since ' in redis.status_text(), 5, what='STATUS= saying Redis is down')
    assert 'No such file or directory' in redis.status_text()
    assert redis.obj(daemon.status())['outage']['since_usec'] == since


# Issue 12, Done means 4 --------------------------------------------------------------------------

OUTAGE_GROUPS = 1000
OUTAGE_EXPIRE = 20  # ExpireSec: the key TTL, the window in RAM and the outage below
MIB = 1 << 20


def rss_bytes(daemon):
    with open(f'/proc/{daemon.host_pid()}/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith('VmRSS:')) * 1024


def account_secs(client):
    return sorted(int(k.decode().rsplit('/', 1)[1]) for k in client.keys('cgroup_arch/account/*'))


def test_redis_outage_at_1000_groups_keeps_which_seconds_not_their_text_and_loses_none(daemon, tb, redis_server):
    """A Redis outage of ExpireSec at 1000 groups: the sink keeps which seconds are unsent (16 bytes each), not
    ~200 KB of JSON each; once Redis is back every second still within its TTL is rendered from the window and
    stored, with its remaining TTL, and the memory the flush took is given back."""
    daemon.write_config(f'[Redis]\nAddress={redis_server.address}\nExpireSec={OUTAGE_EXPIRE}\n{NO_WEB}')
    daemon.write_tree({'slices': {f'g{i:04d}': {} for i in range(OUTAGE_GROUPS)}})
    started = time.monotonic()
    daemon.start()
    daemon.wait_status(lambda s: s['sampler']['slices'] == s['sampler']['slices_complete'] == OUTAGE_GROUPS + 1
                       and s['redis']['state'] == 'up', 240,
                       what=f'{OUTAGE_GROUPS} slices sampled, Redis up', interval=2)
    print(f'{OUTAGE_GROUPS} slices sampled {time.monotonic() - started:.1f} s after the start')
    client = redispy.Redis(host='127.0.0.1', port=redis_server.port)
    wait_for(lambda: len(account_secs(client)) >= 3, 10, what='three records of 1000 groups in Redis')
    secs = account_secs(client)
    record = client.get(f'cgroup_arch/account/{secs[-1]}')
    assert len(json.loads(record)['cpu']['sub_cgroup']) == OUTAGE_GROUPS
    before = daemon.status()['redis']
    assert before['backlog'] <= 1, before
    daemon.wait_ticks(2)  # settle: the status answers above are 1000 slices of JSON
    rss_before = rss_bytes(daemon)

    redis_server.stop()  # a crash: the keys go with it, and Redis comes back empty
    stopped, stopped_sec = time.monotonic(), int(time.time())
    rss = []
    while time.monotonic() - stopped < OUTAGE_EXPIRE:
        rss.append(rss_bytes(daemon))
        time.sleep(1)
    during = daemon.status()['redis']
    rss.append(rss_bytes(daemon))
    with open(f'/proc/{daemon.host_pid()}/maps') as f:
        sanitized = 'libasan' in f.read()
    grown = max(rss) - rss_before
    print(f'record {len(record)} bytes; outage of {OUTAGE_EXPIRE} s: backlog {during["backlog"]} seconds, '
          f'backlog_bytes {before["backlog_bytes"]} -> {during["backlog_bytes"]}, RSS {rss_before // 1024} KiB, '
          f'at most +{grown // 1024} KiB{" (ASan build)" if sanitized else ""}')
    assert during['connected'] is False
    assert OUTAGE_EXPIRE - 3 <= during['backlog'] <= OUTAGE_EXPIRE, during
    # The sink's own memory for the backlog: the tables of seconds, no text (the old sink held each record).
    assert during['backlog_bytes'] <= 2 * OUTAGE_EXPIRE * 16 + 64 * 1024, during
    assert during['backlog_bytes'] - before['backlog_bytes'] <= 2 * MIB, (before, during)
    # The process: ASan's quarantine keeps freed memory as RSS, so only the plain build's figure is a bound.
    assert sanitized or grown <= 2 * MIB, (rss_before, rss)

    redis_server.start()  # same port, empty
    after = daemon.wait_status(lambda s: s['redis']['state'] == 'up' and s['redis']['backlog'] == 0, 30,
                               what='Redis back and the backlog sent', interval=0.5)['redis']
    up_sec = after['last_outage']['until_usec'] // 1_000_000
    secs = account_secs(client)
    # Every second that was in the window and within its TTL when Redis came back is there, none missing:
    # the oldest may have expired meanwhile (TTL counted from when it was handed over), so from 2 s later.
    assert secs and secs == list(range(secs[0], secs[-1] + 1)), secs
    assert secs[0] <= up_sec - OUTAGE_EXPIRE + 3 and secs[-1] >= up_sec, (up_sec, secs)
    # Sent late, the oldest keys have less of their TTL left than the newest. The very oldest may be about
    # to expire as we ask (TTL 0, or gone on a slow ASan run): compare the fourth oldest, 3 s younger.
    old = secs[min(3, len(secs) - 2)]
    ttls = [client.ttl(f'cgroup_arch/account/{s}') for s in (old, secs[-1])]
    assert 0 < ttls[0] < ttls[1] <= OUTAGE_EXPIRE, ttls
    late = json.loads(client.get(f'cgroup_arch/account/{old}'))
    assert len(late['cpu']['sub_cgroup']) == OUTAGE_GROUPS
    # Dropped: only the seconds that aged out of the window while Redis was away.
    assert after['dropped'] - before['dropped'] <= max(0, up_sec - stopped_sec - OUTAGE_EXPIRE) + 3, (before, after)
    # The memory the flush took goes back: the rendering buffer is freed once the backlog is sent.
    assert after['backlog_bytes'] <= before['backlog_bytes'] + len(record) + 4096, (before, after)
    daemon.wait_ticks(2)  # records pushed and sent since the flush, in steady state again
    rss_after = rss_bytes(daemon)
    print(f'after the flush: {len(secs)} seconds in Redis, backlog_bytes {after["backlog_bytes"]}, '
          f'RSS {rss_after // 1024} KiB')
    assert sanitized or rss_after - rss_before <= 2 * MIB, (rss_before, rss_after)
