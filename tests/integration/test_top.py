# SPDX-License-Identifier: MIT
"""`slicekeeper top` (issue 16, "In the terminal"): the daemon's window as a live table. A busy loop in one
group; --once sorted by CPU shows it first, --json has it near one core; the interactive mode draws in a pty,
quits on q and leaves the terminal as it found it; a user who is not root may look too (the man page says
why)."""
import fcntl
import json
import os
import select
import struct
import subprocess
import termios
import time

import pytest

from conftest import CTL, users_in_testbed, wait_for

# the idle group sorts first by name: only its CPU puts the busy one first
BUSY, IDLE = 'sktop_z_busy', 'sktop_a_idle'
TREE = {'slices': {BUSY: {}, IDLE: {'cpu_weight': 50}}}
NOBODY = 65534


@pytest.fixture
def busy(daemon, tb):
    daemon.write_tree(TREE)
    daemon.start()
    daemon.wait_status(lambda s: s.get('version') is not None, 20, what='the tree applied')
    tb.run(['systemd-run', '--unit=sktop-busy', f'--slice={BUSY}.slice', 'sh', '-c', 'while :; do :; done'])
    tb.run(['systemd-run', '--unit=sktop-idle', f'--slice={IDLE}.slice', 'sleep', '300'])
    # the window holds a second once the sampler swept (before, top says so and exits)
    last = []

    def window_has_a_second():
        r = daemon.ctl('top', '--json', check=False)
        last[:] = [r.stderr]
        return r.returncode == 0
    try:
        wait_for(window_has_a_second, 20, interval=0.2, what='a second in the window')
    except AssertionError as e:
        raise AssertionError(f'{e}\nlast stderr: {last}\njournal:\n{daemon.journal()}')
    try:
        yield daemon
    finally:
        for unit in ('sktop-busy', 'sktop-idle'):
            tb.run(['systemctl', 'stop', unit], check=False)
            tb.run(['systemctl', 'reset-failed', unit], check=False)


def rows(text):
    """The --once table's rows (after the title and the header): (name, fields)."""
    lines = text.splitlines()
    assert len(lines) >= 2 and lines[1].startswith('Group'), text
    return [(line.split()[0], line.split()[1:]) for line in lines[2:]]


def top_json(daemon, *args):
    r = daemon.ctl('top', '--json', *args, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def busy_row(doc):
    return next((g for g in doc['groups'] if g['path'] == BUSY), None)


def test_top_not_running(daemon):
    r = daemon.ctl('top', '--once', check=False)
    assert r.returncode == 1
    assert 'Cannot reach slicekeeperd' in r.stderr and 'is it running?' in r.stderr


def test_top_once_and_json(busy):
    last = {}

    def busy_first():
        r = busy.ctl('top', '--once', '--sort', 'cpu', check=False)
        last['out'] = r.stdout + r.stderr
        if r.returncode != 0:
            return False
        table = rows(r.stdout)
        # the root first (it holds everything), then its children by CPU
        # %CPU is the second column: '-' until the window holds two seconds
        return len(table) >= 3 and table[0][0] == '/' and table[1][0] == BUSY and table[1][1][1] != '-'
    try:
        wait_for(busy_first, 10, interval=0.5, what='the busy group first by CPU')
    except AssertionError as e:
        raise AssertionError(f'{e}\nlast output:\n{last.get("out")}\njournal:\n{busy.journal()}')
    table = dict(rows(busy.ctl('top', '--once', '--sort', 'tasks').stdout))
    assert BUSY in table and IDLE in table

    # --json: one record; the busy group near one core (the machine is shared: polled, with slack)
    def near_one_core():
        last['json'] = top_json(busy, '--sort', 'cpu')
        row = busy_row(last['json'])
        return row is not None and row['cpu_pct'] is not None and 60 <= row['cpu_pct'] <= 115
    try:
        wait_for(near_one_core, 10, interval=0.5, what='the busy group near 1 core')
    except AssertionError as e:
        raise AssertionError(f'{e}\nlast: {json.dumps(last.get("json"))[:3000]}')
    doc = last['json']
    assert doc['sort'] == 'cpu' and doc['interval_sec'] > 0 and doc['time'] > 0
    assert doc['groups'][0]['path'] == '' and doc['groups'][0]['depth'] == 0
    row = busy_row(doc)
    assert row['depth'] == 1 and row['tasks'] >= 1 and row['memory_bytes'] is not None
    idle = next(g for g in doc['groups'] if g['path'] == IDLE)
    assert idle['cpu_pct'] is not None and idle['cpu_pct'] < 20
    # --depth 0: the root alone
    assert [g['path'] for g in top_json(busy, '--depth', '0')['groups']] == ['']
    bad = busy.ctl('top', '--sort', 'disk', check=False)
    assert bad.returncode == 1 and '--sort takes cpu, memory, io or tasks' in bad.stderr


def read_until(fd, predicate, timeout):
    """What the pty shows, until predicate(text) or the deadline."""
    text, deadline = b'', time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate(text):
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                text += os.read(fd, 65536)
            except OSError:  # the other side closed
                break
    return text


def test_top_interactive_quits_and_restores(busy, tb):
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 100, 0, 0))
    before = termios.tcgetattr(slave)
    argv = [CTL, 'top']
    proc = subprocess.Popen(tb.nsenter_argv(argv) if getattr(tb, 'pid', None) else argv, stdin=slave,
                            stdout=slave, stderr=slave, env=tb.inner_env(), start_new_session=True)
    try:
        # it draws: the header and the busy group, and a second frame (it redraws each second)
        text = read_until(master, lambda t: t.count(b'Group (c)') >= 2 and BUSY.encode() in t, 10)
        assert text.count(b'Group (c)') >= 2 and BUSY.encode() in text, text[-3000:]
        assert b'\033[?25l' in text  # the cursor hidden while it draws
        during = termios.tcgetattr(slave)
        assert not during[3] & termios.ICANON and not during[3] & termios.ECHO  # cbreak, no echo
        # a sort key redraws at once with the new header
        os.write(master, b'm')
        text = read_until(master, lambda t: b'Group (m)' in t, 3)
        assert b'Group (m)' in text, text[-3000:]
        os.write(master, b'q')
        start = time.monotonic()
        rc = proc.wait(timeout=2)
        assert rc == 0 and time.monotonic() - start < 2
        text = read_until(master, lambda t: b'\033[?25h' in t, 1)
        assert b'\033[?25h' in text  # the cursor shown again
        assert termios.tcgetattr(slave) == before
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)


def test_top_sigterm_restores(busy, tb):
    """Ended by a signal instead of q: the terminal is put back all the same."""
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    argv = [CTL, 'top']
    proc = subprocess.Popen(tb.nsenter_argv(argv) if getattr(tb, 'pid', None) else argv, stdin=slave,
                            stdout=slave, stderr=slave, env=tb.inner_env(), start_new_session=True)
    try:
        text = read_until(master, lambda t: b'Group (c)' in t, 10)
        assert b'Group (c)' in text, text[-3000:]
        assert termios.tcgetattr(slave) != before
        # its pid inside the testbed: the one process running our binary
        out = tb.run(['sh', '-c', 'for p in /proc/[0-9]*; do '
                      f'[ "$(readlink $p/exe)" = "{CTL}" ] && echo ${{p#/proc/}}; done'], check=False).stdout
        pids = out.split()
        assert len(pids) == 1, out
        pid = pids[0]
        tb.run(['kill', '-TERM', pid])
        proc.wait(timeout=5)
        wait_for(lambda: termios.tcgetattr(slave) == before, 2, what='the terminal restored')
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)


def as_nobody(*argv):
    return ['setpriv', f'--reuid={NOBODY}', f'--regid={NOBODY}', '--clear-groups', *argv]


def test_top_for_any_user(busy, tb):
    """The window is no secret on a shared host (cgroupfs shows it to everyone): any user may run top;
    root's requests stay root's."""
    def shown():
        r = tb.run(as_nobody(CTL, 'top', '--once', '--sort', 'cpu'), check=False)
        return r.returncode == 0 and any(name == BUSY for name, _ in rows(r.stdout))
    wait_for(shown, 10, interval=0.5, what='top as nobody')
    r = tb.run(as_nobody(CTL, 'top', '--json'), check=False)
    assert r.returncode == 0, r.stderr
    assert busy_row(json.loads(r.stdout)) is not None
    r = tb.run(as_nobody(CTL, 'plan'), check=False)
    assert r.returncode == 1 and 'permission denied' in r.stderr


USER_UID, USER_NAME = 47311, 'sktop-user'


def test_top_shows_users_below_the_groups(daemon, tb):
    """With fair share on, the users follow the groups: "user NAME (UID)" with their own numbers."""
    with users_in_testbed(tb, {USER_UID: USER_NAME}, ('sktop-user-busy.service',)):
        daemon.write_config('[FairShare]\nEnable=yes\nMinUID=1000\n')
        daemon.write_tree(TREE)
        daemon.start()
        tb.run(['systemd-run', '--unit=sktop-user-busy', f'--uid={USER_UID}', f'--slice=user-{USER_UID}.slice',
                'sh', '-c', 'while :; do :; done'])
        last = {}

        def user_shown():
            r = daemon.ctl('top', '--json', check=False)
            last['out'] = r.stdout + r.stderr
            if r.returncode != 0:
                return False
            doc = json.loads(r.stdout)
            user = next((u for u in doc['users'] if u['uid'] == USER_UID), None)
            return user is not None and user['name'] == USER_NAME and (user['cpu_pct'] or 0) >= 20
        try:
            wait_for(user_shown, 15, interval=0.5, what='the busy user in top --json')
        except AssertionError as e:
            raise AssertionError(f'{e}\nlast: {last.get("out", "")[:3000]}\njournal:\n{daemon.journal()}')
        lines = daemon.ctl('top', '--once').stdout.splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith(f'user {USER_NAME} ({USER_UID})'))
        groups = [i for i, line in enumerate(lines) if line.split() and line.split()[0] in ('/', BUSY, IDLE)]
        assert len(groups) == 3 and max(groups) < at, lines
