# SPDX-License-Identifier: MIT
"""The one event stream (issues 14 and 15): fair share's throttle events, published once, reach the event
log in cgroup_py's format, the journal with their MESSAGE_ID and USER_ID, and a real websocket client
subscribed with {"cmd": "events"}; a throttle event's end has its start's ID. The event log is reopened on
SIGHUP (logrotate), a log that cannot be written drops its lines and counts them, and a subscriber that comes
later gets the kept events first ("since"). Users as in test_fair_share.py; Mode=hard_cap gives each busy
user a fixed cap of 0.1 core it runs into at once. The daemon's own events (a tree applied or rejected, Redis
down and back) reach the same sinks and the Redis stream <prefix>/events, which stays capped."""
import json
import os
import re
import time

import pytest
import websocket

from conftest import EXAMPLE_TREE, users_in_testbed, wait_for
from servers import free_port
from test_fair_share import busy

UIDS = (47321, 47322, 47323)
LOG_DIR = '/run/sktest/eventlog'  # missing: the daemon makes it
LOG = f'{LOG_DIR}/events.log'
THROTTLE_KEYS = ['TYPE', 'ID', 'CGROUP', 'USERNAME', 'START_TIME', 'END_TIME', 'CPU', 'NODE']  # cgroup_py's
MESSAGE_ID = {'throttle_start': '6a6b4a0ca5674399832c683b2e108cb0',
              'throttle_end': 'c9216fc9e68c4c3f8ceafb04a9ee3b0b'}
CPU_TIME = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')


@pytest.fixture
def busy_users(tb):
    """busy() makes skfair-UID.service (the loop) and skfair-session-UID.service."""
    units = [f'{u}-{uid}.service' for uid in UIDS for u in ('skfair', 'skfair-session')]
    with users_in_testbed(tb, {uid: f'skev{uid}' for uid in UIDS}, units):
        yield


def start(daemon, event_log, port):
    # 0.2 × 0.5 cores = 0.1 core for every user: a busy loop is at its cap (UpperThrottle= 0.95) at once.
    daemon.write_config('[FairShare]\nEnable=yes\nMinUID=1000\nMode=hard_cap\nCPUPctMax=0.2\nHardCapCores=0.5\n'
                        f'EventLog={event_log}\n[Web]\nListen=127.0.0.1:{port}\n')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()


def connect(port):
    return websocket.create_connection(f'ws://127.0.0.1:{port}/', timeout=10)


def subscribe(ws, **args):
    ws.send(json.dumps({'cmd': 'events', **args}))
    answer = json.loads(ws.recv())
    assert answer.get('events_subscribed') is True, answer
    return answer


def read_events(ws, want, timeout):
    """Live events ({"event": ...}) until want(events) holds."""
    events, deadline = [], time.monotonic() + timeout
    while not want(events):
        left = deadline - time.monotonic()
        assert left > 0, f'timed out; got {json.dumps(events)[:2000]}'
        ws.settimeout(left)
        try:
            message = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            continue
        assert set(message) == {'event'}, message
        events.append(message['event'])
    return events


def per_uid(events, kind):
    return {e['uid']: e for e in events if e['kind'] == kind}


def all_log_lines(tb, path=LOG):
    host = tb.host_path(path)
    if not os.path.exists(host):
        return []
    with open(host) as f:
        text = f.read()
    assert text == '' or text.endswith('\n')
    return [json.loads(line, object_pairs_hook=lambda pairs: pairs) for line in text.splitlines()]


def log_lines(tb, path=LOG):
    """cgroup_py's lines; the daemon's own events (tree applied, ...) are {"TYPE", "TIMESTAMP", "NODE", then their
    JSON as subscribers get it}: TYPE first in every line, so that cgroup_py's readers skip them."""
    assert all(line[0][0] == 'TYPE' for line in all_log_lines(tb, path))
    return [line for line in all_log_lines(tb, path) if 'seq' not in dict(line)]


def own_lines(tb, path=LOG):
    return [line for line in all_log_lines(tb, path) if 'seq' in dict(line)]


def at_least(n, items):
    return items if len(items) >= n else None


def journal_events(tb, kind):
    out = tb.run(['journalctl', '--no-pager', '-o', 'json', f'MESSAGE_ID={MESSAGE_ID[kind]}'], check=False).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_throttle_events_in_log_journal_websocket_rotated_and_replayed(daemon, tb, busy_users):
    started = time.monotonic()
    port = free_port()
    start(daemon, LOG, port)
    node = tb.run(['cat', '/proc/sys/kernel/hostname']).stdout.strip()
    live = connect(port)
    first = subscribe(live, kinds=['throttle_start', 'throttle_end'])
    assert first['events'] == [] and first['lost'] == 0
    assert daemon.status()['events']['subscribers'] == 1

    for uid in UIDS:
        busy(tb, uid)
    events = read_events(live, lambda ev: set(per_uid(ev, 'throttle_start')) >= set(UIDS), 20)
    starts = per_uid(events, 'throttle_start')
    print(f'three throttle starts on the websocket {time.monotonic() - started:.1f} s after the daemon started')
    for uid, e in starts.items():
        assert e['slice'] == f'user-{uid}.slice' and e['node'] == node
        assert e['user'] in (f'skev{uid}', None)
        assert len(e['id']) == 16 and e['id'].isalnum()
        assert e['cap_usec'] == 100000 and e['end'] is None
    assert len({e['id'] for e in starts.values()}) == 3
    seqs = [e['seq'] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    # (a) the event log: one line per event, written when it ends; nothing yet
    assert log_lines(tb) == [] and daemon.status()['events']['log']['written'] == len(own_lines(tb))

    # (b) the journal: MESSAGE_ID of the kind, USER_ID, SLICE, a readable MESSAGE
    entries = wait_for(lambda: at_least(3, journal_events(tb, 'throttle_start')), 10,
                       what='the throttle starts in the journal')
    assert {int(x['USER_ID']) for x in entries} == set(UIDS)
    for x in entries:
        assert x['SLICE'] == f'user-{x["USER_ID"]}.slice'
        assert 'throttled' in x['MESSAGE'] and x['SLICEKEEPER_EVENT'] == 'throttle_start'

    status = daemon.status()['events']
    assert status['published'] >= 3 and status['log']['written'] == len(own_lines(tb))
    assert status['log']['dropped'] == 0
    assert status['log']['path'] == LOG and status['log']['last_error'] is None
    assert 'Events:' in daemon.ctl('status').stdout

    def check_lines(lines, uids):
        by_id = {dict(line)['ID']: line for line in lines}
        assert set(by_id) == {starts[uid]['id'] for uid in uids}, lines
        for uid in uids:
            pairs = by_id[starts[uid]['id']]
            assert [k for k, _ in pairs] == THROTTLE_KEYS, pairs  # cgroup_py's keys in its order
            line = dict(pairs)
            assert line['TYPE'] == 'throttleCPU' and line['NODE'] == node
            assert line['CGROUP'] == f'user-{uid}.slice'
            assert line['USERNAME'] in (f'skev{uid}', str(uid))
            assert CPU_TIME.match(line['START_TIME']) and CPU_TIME.match(line['END_TIME'])
            assert line['END_TIME'] >= line['START_TIME'], line
            # CPU: the mean, % of the whole (2-core) machine; 0.1 core is 5 %
            assert 0 < line['CPU'] <= 100 * 0.15 / os.cpu_count(), line

    # the first user stops: their event ends, with its start's ID, one line in the log
    stopped = time.monotonic()
    tb.systemctl('stop', f'skfair-{UIDS[0]}.service')
    events += read_events(live, lambda ev: UIDS[0] in per_uid(ev, 'throttle_end'), 20)
    check_lines(wait_for(lambda: at_least(1, log_lines(tb)), 5, what='the first end in the event log'), UIDS[:1])
    assert os.stat(tb.host_path(LOG_DIR)).st_mode & 0o777 == 0o755

    # logrotate: the file moved away, SIGHUP; the next lines go to a new file
    os.rename(tb.host_path(LOG), tb.host_path(LOG + '.1'))
    tb.systemctl('kill', '-s', 'HUP', daemon.unit)
    daemon.wait_status(lambda s: s['events']['log']['reopened'] == 1, 10, what='the event log reopened')

    # the other users stop: each event ends, with its start's ID
    for uid in UIDS[1:]:
        tb.systemctl('stop', f'skfair-{uid}.service')
    events += read_events(live, lambda ev: set(per_uid(events + ev, 'throttle_end')) >= set(UIDS), 20)
    print(f'three throttle ends {time.monotonic() - stopped:.1f} s after the first loop stopped')
    ends = per_uid(events, 'throttle_end')
    for uid in UIDS:
        assert ends[uid]['id'] == starts[uid]['id']
        assert ends[uid]['seq'] > starts[uid]['seq']
    check_lines(wait_for(lambda: at_least(2, log_lines(tb)), 5, what='the ends in the new event log'), UIDS[1:])
    check_lines(log_lines(tb, LOG + '.1'), UIDS[:1])
    written = 3 + len(own_lines(tb)) + len(own_lines(tb, LOG + '.1'))
    assert daemon.status()['events']['log']['written'] == written
    ended = wait_for(lambda: at_least(3, journal_events(tb, 'throttle_end')), 10,
                     what='the throttle ends in the journal')
    assert {int(x['USER_ID']) for x in ended} == set(UIDS)

    # a subscriber that comes later: the kept events first, in order, then live ones
    late = connect(port)
    everything = subscribe(late, since=0)
    kept = everything['events']
    assert everything['lost'] == 0 and everything['last_seq'] == kept[-1]['seq']
    assert [e['seq'] for e in kept] == list(range(kept[0]['seq'], kept[-1]['seq'] + 1))
    for e in events:
        assert e in kept  # the same text the live subscriber got
    first_end = min(e['seq'] for e in ends.values())
    tail = subscribe(late, since=first_end - 1, kinds=['throttle_end'], uid=UIDS[1])
    assert [e['id'] for e in tail['events']] == [ends[UIDS[1]]['id']]
    assert subscribe(late, slice=f'user-{UIDS[2]}.slice', last=1)['events'][0]['kind'] == 'throttle_end'
    late.send(json.dumps({'cmd': 'unsubscribe_events'}))
    assert json.loads(late.recv()) == {'events_subscribed': False}
    assert daemon.status()['events']['subscribers'] == 1
    status = daemon.status()['events']
    assert status['log']['dropped'] == 0 and status['failed'] == 0 and status['journal_failed'] == 0
    live.close()
    late.close()
    daemon.stop_cleanly()
    print(f'test took {time.monotonic() - started:.1f} s')


def test_unwritable_event_log_drops_lines_and_counts_them(daemon, tb, busy_users):
    """/dev/full is a disk that is always full: every line is dropped and counted, and the event still goes
    to the websocket and the journal."""
    port = free_port()
    start(daemon, '/dev/full', port)
    ws = connect(port)
    subscribe(ws)
    for uid in UIDS[:2]:
        busy(tb, uid)
    events = read_events(ws, lambda ev: set(per_uid(ev, 'throttle_start')) >= set(UIDS[:2]), 20)
    # a throttle event's line is written when it ends: both end, two lines dropped
    for uid in UIDS[:2]:
        tb.systemctl('stop', f'skfair-{uid}.service')
    events += read_events(ws, lambda ev: set(per_uid(events + ev, 'throttle_end')) >= set(UIDS[:2]), 20)
    status = daemon.wait_status(lambda s: s['events']['log']['dropped'] >= 2, 5, what='two dropped lines')['events']
    assert status['log']['written'] == 0
    assert 'No space left on device' in status['log']['last_error']
    assert status['published'] >= 4
    text = daemon.ctl('status').stdout
    assert 'dropped (last: write to /dev/full: No space left on device)' in text, text
    # logged once, not per line
    assert daemon.journal(full=True).count('Event log: cannot write to /dev/full') == 1
    assert tb.show(daemon.unit, 'ActiveState') == 'active'
    ws.close()
    daemon.stop_cleanly()


# ---- the daemon's own events (tree, connections) and the Redis stream ----------------------------------

STREAM_LOG = '/run/sktest/eventlog-stream/events.log'
MESSAGE_IDS = {'tree_applied': 'b5cbcfe73b314de380802f7434b3d16b',
               'tree_rejected': '6dea41da60994903bce45c4a2b239c9a',
               'redis': 'e7566284fdf341319048aa01807e7ccb'}
STREAM = 'cgroup_arch/events'


def own_journal(tb, daemon, kind):
    """This daemon's (its pid's) journal entries of the kind: earlier daemons in the testbed sent some too."""
    out = tb.run(['journalctl', '--no-pager', '-o', 'json', f'MESSAGE_ID={MESSAGE_IDS[kind]}',
                  f'_PID={daemon.main_pid()}'], check=False).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def stream_events(r):
    """The stream's entries as (the event's JSON text, the event), oldest first."""
    out = []
    for _, fields in r.xrange(STREAM, '-', '+'):
        assert set(fields) == {b'event'}, fields
        out.append((fields[b'event'].decode(), json.loads(fields[b'event'])))
    return out


def metrics(port):
    import urllib.request
    return urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=10).read().decode()


def events_total(port, kind):
    m = re.search(rf'^slicekeeper_events_total{{kind="{kind}"}} (\d+)$', metrics(port), re.M)
    assert m, f'no slicekeeper_events_total for {kind}'
    return int(m.group(1))


def of_kind(events, kind):
    return [e for e in events if e['kind'] == kind]


def test_tree_and_redis_events_reach_every_sink_once(daemon, tb, redis_server):
    import redis
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    port = free_port()
    daemon.write_config(f'[Web]\nListen=127.0.0.1:{port}\n[Redis]\nAddress={redis_server.address}\n'
                        f'[FairShare]\nEventLog={STREAM_LOG}\n')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()
    live = connect(port)
    first = subscribe(live, last=1000, kinds=['tree_applied', 'tree_rejected', 'zookeeper', 'redis'])
    events = first['events'] + read_events(live, lambda ev: of_kind(first['events'] + ev, 'tree_applied'), 15)
    applied = of_kind(events, 'tree_applied')
    assert len(applied) == 1, events
    assert applied[0]['version'] == 1 and applied[0]['groups'] == 3 and applied[0]['schema'] == 'cgrouparch'
    assert applied[0]['origin'] == daemon.tree_path

    # a bad tree, twice with the same cause: one event; the reads are counted, so both were seen
    reads = daemon.status()['counters']['tree_reads']
    for i in range(2):
        daemon.write_tree('{"cpu": ')
        daemon.wait_status(lambda s, n=reads + i + 1: s['counters']['tree_reads'] >= n, 10, what=f'bad read {i}')
    # then a good one (another than before)
    tree = json.loads(json.dumps(EXAMPLE_TREE))
    tree['cpu']['sub_cgroup']['test_cgroup_a']['conf']['share'] = 512
    daemon.write_tree(tree)
    events += read_events(live, lambda ev: of_kind(ev, 'tree_applied'), 15)
    rejected = of_kind(events, 'tree_rejected')
    assert len(rejected) == 1, events
    assert rejected[0]['origin'] == daemon.tree_path and 'line 1' in rejected[0]['error'], rejected
    assert of_kind(events, 'tree_applied')[-1]['version'] == 2
    assert [e['kind'] for e in events] == ['tree_applied', 'tree_rejected', 'tree_applied'], events

    # the journal: once each, with its MESSAGE_ID and readable MESSAGE
    journal = wait_for(lambda: at_least(2, own_journal(tb, daemon, 'tree_applied')), 10, what='journal')
    assert [int(x['TREE_VERSION']) for x in journal] == [1, 2]
    assert journal[0]['MESSAGE'] == f'Tree version 1 applied from file {daemon.tree_path}: 3 groups.'
    bad = own_journal(tb, daemon, 'tree_rejected')
    assert len(bad) == 1 and bad[0]['SLICEKEEPER_EVENT_SEQ'] == str(rejected[0]['seq']), bad
    assert bad[0]['MESSAGE'] == (f'Tree from file {daemon.tree_path} not applied, keeping the last good one: '
                                 + rejected[0]['error'])
    assert bad[0]['PRIORITY'] == '3'
    # the event log: the events' JSON, one line each
    lines = [json.loads(ln) for ln in open(tb.host_path(STREAM_LOG)).read().splitlines()]
    ours = [ln for ln in lines if ln.get('kind') in ('tree_applied', 'tree_rejected')]
    assert [ln['TYPE'] for ln in ours] == ['treeApplied', 'treeRejected', 'treeApplied'], ours
    assert all(re.match(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$', ln['TIMESTAMP']) and ln['NODE'] == ln['node'] for ln in ours)
    assert [{k: v for k, v in ln.items() if k not in ('TYPE', 'TIMESTAMP', 'NODE')} for ln in ours] == events
    # the journal entry is the log line: the cause once, however many reads repeat it
    assert daemon.journal(full=True).count(rejected[0]['error']) == 1

    # Redis: the same JSON, oldest first, the events pipelined with the ticks
    stream = wait_for(lambda: at_least(3, stream_events(r)), 5, what='the events in the stream')
    assert [e for _, e in stream] == events
    texts = {e['seq']: text for text, e in stream}
    assert texts[rejected[0]['seq']] == json.dumps(rejected[0], separators=(',', ':'), ensure_ascii=True)
    assert events_total(port, 'tree_rejected') == 1 and events_total(port, 'tree_applied') == 2

    # Redis goes down: the event says so (live), and waits for Redis; back up: the other one
    stopped = time.monotonic()
    redis_server.stop()
    down = read_events(live, lambda ev: of_kind(ev, 'redis'), 20)[-1]
    print(f'redis down event {time.monotonic() - stopped:.2f} s after the kill')
    assert down['state'] == 'down' and down['connection'] == f'Redis at {redis_server.address}', down
    assert down['cause'], down
    daemon.wait_status(lambda s: s['redis']['events_queued'] >= 1, 10, what='the down event queued')
    redis_server.start()  # same port, empty
    up = read_events(live, lambda ev: of_kind(ev, 'redis'), 30)[-1]
    assert up['state'] == 'up' and up['down_usec'] > 0 and up['seq'] > down['seq'], up
    assert up['since'] == down['since']
    # the new (empty) Redis gets what waited, oldest first, then the rest
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    stream = wait_for(lambda: at_least(2, stream_events(r)), 10, what='the redis events in the new stream')
    assert [e['seq'] for _, e in stream] == [down['seq'], up['seq']], stream
    assert stream[0][1] == down and stream[1][1] == up
    assert len(own_journal(tb, daemon, 'redis')) == 2
    status = daemon.wait_status(lambda s: s['redis']['events_queued'] == 0, 10, what='the events sent')['redis']
    assert status['events_written'] == 5 and status['events_dropped'] == 0, status
    assert events_total(port, 'redis') == 2
    live.close()


def test_redis_event_stream_stays_capped(daemon, tb, redis_server):
    """XADD ... MAXLEN ~ 10000: a stream already past the cap is trimmed (by whole nodes of 100 entries)
    by the daemon's next event."""
    import redis
    r = redis.Redis(host='127.0.0.1', port=redis_server.port)
    pipe = r.pipeline(transaction=False)
    for i in range(10550):
        pipe.xadd(STREAM, {'event': json.dumps({'filler': i})})
    pipe.execute()
    assert r.xlen(STREAM) == 10550
    daemon.write_config(f'[Redis]\nAddress={redis_server.address}\n')
    daemon.write_tree(EXAMPLE_TREE)
    daemon.start()

    def last_is_ours():
        _, fields = r.xrevrange(STREAM, '+', '-', count=1)[0]
        return json.loads(fields[b'event']).get('kind') == 'tree_applied'
    wait_for(last_is_ours, 10, what="the daemon's tree_applied event in the stream")
    n = r.xlen(STREAM)
    assert 10000 <= n <= 10100, n  # trimmed to the cap, give or take a node
