#!/usr/bin/python3
"""A real systemd (PID 1 of its own namespaces) for integration tests on a host without one.

The host is a Debian 12 VM whose PID 1 is not systemd, with a hybrid cgroup layout (v1 controllers
plus cgroup2 at /sys/fs/cgroup/unified). systemd-nspawn would mount the v1 controllers read-only, so
units would get no real limits; instead we follow /work/shared/TESTBED.md:

  1. create sktest-<launcher pid> in every host hierarchy and move the launcher into it,
  2. unshare pid/mount/uts/ipc/cgroup namespaces (NOT the network one: loopback servers on the
     host stay reachable as 127.0.0.1),
  3. boot-inside.sh builds a tmpfs root with writable cgroup mounts and execs /lib/systemd/systemd,
  4. we talk to it with `nsenter -t <pid> -a`.

A test reads what systemd wrote from the host, e.g. tb.cgroup_file('cpu', 'a.slice/cpu.shares').

Usage as a library:

    with Testbed(binds=['/work/main']) as tb:
        tb.run(['systemd-run', '--unit=x', 'sleep', '99'])
        wait_for(lambda: tb.show('x.service', 'ActiveState') == 'active', 5, what='x active')

Command line (binds the repository root):
    testbed.py run -- CMD ARGS...     boot, run CMD inside, tear down, exit with CMD's status
    testbed.py shell                  interactive bash inside
    testbed.py selftest               boot, check real v1 limits, tear down, check nothing is left

Standard library only; runs on Debian's /usr/bin/python3 (3.11).
"""

import argparse
import atexit
import ctypes
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
BOOT_SCRIPT = os.path.join(HERE, 'boot-inside.sh')
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

CGROUP_ROOT = '/sys/fs/cgroup'
TIME_SCALE = float(os.environ.get('SLICEKEEPER_TIME_SCALE', '1'))
CGROUP_PREFIX = 'sktest-'
TMPDIR_PREFIX = 'sktest-tb-'    # temp dirs: console.log, launcher.pid, root/ (a mount point inside)
_CGROUP_NAME_RE = re.compile(r'^sktest-(\d+)$')
SYSTEMD = '/lib/systemd/systemd'

# v1 controllers the tests need to see real limits in; their absence means the recipe cannot work.
REQUIRED_V1 = ('cpu', 'memory', 'pids')

# Environment of commands run inside: nothing of the caller's (pyenv shims, virtualenvs, ...)
# should leak into the testbed, where those paths do not exist anyway.
INNER_ENV = {
    'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin',
    'HOME': '/root',
    'LANG': 'C.UTF-8',
    'SYSTEMD_PAGER': '',
    'SYSTEMD_COLORS': '0',
}


class TestbedUnavailable(Exception):
    """This machine cannot run the testbed (the message says why); tests should skip."""
    __test__ = False    # the Test* names are not pytest test classes


class TestbedError(RuntimeError):
    """The machine should be able to run the testbed, but booting or tearing down failed."""
    __test__ = False


class TestbedInterrupted(KeyboardInterrupt):
    """Raised from the SIGTERM/SIGHUP handler so that finally blocks and __exit__ tear down.

    A KeyboardInterrupt subclass so that `except Exception` in test code does not swallow it."""
    __test__ = False

    def __init__(self, signum):
        super().__init__(f'interrupted by {signal.Signals(signum).name}')
        self.signum = signum


class CommandFailed(subprocess.CalledProcessError):
    """A command inside the testbed failed; unlike CalledProcessError, str() shows its output."""

    def __str__(self):
        return (f'command {self.cmd!r} inside the testbed exited with {self.returncode}\n'
                f'--- stdout ---\n{self.stdout or ""}--- stderr ---\n{self.stderr or ""}')


def wait_for(predicate, timeout, interval=0.05, what='condition'):
    """Poll predicate() until it returns something truthy, and return that.

    OSError and CalledProcessError count as "not yet" (a cgroup file that systemd has not
    created yet, a unit that is not loaded yet); the last one is quoted if we time out.
    SLICEKEEPER_TIME_SCALE (default 1) stretches every timeout: the v2 guest runs under software
    emulation (tests/vm), where the same steps take several times longer."""
    timeout *= TIME_SCALE
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, subprocess.CalledProcessError) as e:
            last_error = e
        if time.monotonic() >= deadline:
            msg = f'timed out after {timeout}s waiting for {what}'
            if last_error is not None:
                msg += f' (last error: {last_error})'
            raise AssertionError(msg)
        time.sleep(interval)


def _mountinfo():
    """(mount point, per-mount options, fstype, super options) of every mount we can see."""
    with open('/proc/self/mountinfo') as f:
        for line in f:
            fields = line.split()
            sep = fields.index('-')     # optional fields before it vary in number
            yield fields[4], fields[5].split(','), fields[sep + 1], fields[sep + 3].split(',')


def host_cgroup_mounts():
    """The hierarchies mounted directly below /sys/fs/cgroup.

    Returns [(dir, fstype, options, read_only)]; options are what boot-inside.sh gives mount(8)
    to mount the same hierarchy again, e.g. 'cpu', 'none,name=systemd', '' for cgroup2."""
    mounts = []
    for mountpoint, mount_opts, fstype, super_opts in _mountinfo():
        if fstype not in ('cgroup', 'cgroup2') or os.path.dirname(mountpoint) != CGROUP_ROOT:
            continue
        # rw/ro are per mount, and release_agent may only be set from the initial cgroup
        # namespace; the rest (controllers, name=) selects the same hierarchy again.
        opts = [o for o in super_opts if o not in ('rw', 'ro') and not o.startswith('release_agent=')]
        if fstype == 'cgroup' and 'none' not in opts and any(o.startswith('name=') for o in opts):
            opts.insert(0, 'none')      # a named hierarchy without controllers
        mounts.append((os.path.basename(mountpoint), fstype, ','.join(opts), 'ro' in mount_opts))
    return mounts


def check_host():
    """Raise TestbedUnavailable unless this machine can run the recipe; return the mounts."""
    if os.geteuid() != 0:
        raise TestbedUnavailable('the testbed needs root (cgroups, namespaces, mounts)')
    try:
        pid1 = os.path.basename(os.readlink('/proc/1/exe'))
    except OSError:
        pid1 = ''
    if pid1 == 'systemd' or os.path.isdir('/run/systemd/system'):
        raise TestbedUnavailable('PID 1 is systemd: use the host systemd instead of the testbed')
    if not os.access(SYSTEMD, os.X_OK):
        raise TestbedUnavailable(f'{SYSTEMD} is missing (install the systemd package)')
    for tool in ('unshare', 'nsenter', 'pivot_root', 'setpriv'):
        if not shutil.which(tool, path='/usr/sbin:/usr/bin:/sbin:/bin'):
            raise TestbedUnavailable(f'{tool} is missing (util-linux)')
    if not os.path.isfile(BOOT_SCRIPT):
        raise TestbedUnavailable(f'{BOOT_SCRIPT} is missing')

    root_is_tmpfs = any(mp == CGROUP_ROOT and fstype == 'tmpfs' for mp, _, fstype, _ in _mountinfo())
    mounts = host_cgroup_mounts()
    by_dir = {d: (t, o.split(',')) for d, t, o, _ in mounts}
    problems = []
    if not root_is_tmpfs:
        problems.append(f'{CGROUP_ROOT} is not a tmpfs (pure cgroup2, or no cgroups?)')
    if by_dir.get('unified', ('', []))[0] != 'cgroup2':
        problems.append(f'no cgroup2 at {CGROUP_ROOT}/unified')
    if 'name=systemd' not in by_dir.get('systemd', ('', []))[1]:
        problems.append(f'no name=systemd hierarchy at {CGROUP_ROOT}/systemd')
    for c in REQUIRED_V1:
        if c not in by_dir.get(c, ('', []))[1]:
            problems.append(f'no v1 {c} controller at {CGROUP_ROOT}/{c}')
    for d in sorted(d for d, _, _, ro in mounts if ro):
        problems.append(f'{CGROUP_ROOT}/{d} is mounted read-only')
    if problems:
        raise TestbedUnavailable('this is not the hybrid cgroup v1 layout the testbed needs: '
                                 + '; '.join(problems))
    return mounts


def _cgroup_has_processes(path):
    for dirpath, _, files in os.walk(path):
        if 'cgroup.procs' in files:
            try:
                with open(os.path.join(dirpath, 'cgroup.procs')) as f:
                    if f.read().strip():
                        return True
            except OSError:
                pass
    return False


def _rmdir_tree(path):
    """rmdir a cgroup and everything below it, deepest first. Returns the first error, if any.

    cgroupfs directories are removed with rmdir although they hold control files."""
    error = None
    for dirpath, _, _ in sorted(os.walk(path), key=lambda w: -w[0].count('/')):
        try:
            os.rmdir(dirpath)
        except FileNotFoundError:
            pass
        except OSError as e:
            error = error or e
    return error


def remove_stale():
    """Remove what a SIGKILLed run left: sktest-<pid> cgroups with the launcher gone and no
    process in any of them, and its temp dir.

    Only directories named exactly sktest-<digits>: everything else belongs to somebody else."""
    tmp = tempfile.gettempdir()
    for d in os.listdir(tmp):
        path = os.path.join(tmp, d)
        if not d.startswith(TMPDIR_PREFIX) or not os.path.isdir(path):
            continue
        try:
            with open(os.path.join(path, 'launcher.pid')) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            continue                    # not ours, or a start() in progress
        if not os.path.exists(f'/proc/{pid}'):
            shutil.rmtree(path, ignore_errors=True)
    names = set()
    for d in os.listdir(CGROUP_ROOT):
        try:
            names.update(n for n in os.listdir(os.path.join(CGROUP_ROOT, d))
                         if _CGROUP_NAME_RE.match(n))
        except OSError:
            continue
    for name in sorted(names):
        if os.path.exists(f'/proc/{_CGROUP_NAME_RE.match(name).group(1)}'):
            continue        # launcher alive (or pid reused): leave it alone
        paths = [os.path.join(CGROUP_ROOT, d, name) for d in os.listdir(CGROUP_ROOT)]
        paths = [p for p in paths if os.path.isdir(p)]
        if any(_cgroup_has_processes(p) for p in paths):
            continue
        for p in paths:
            _rmdir_tree(p)
        print(f'testbed: removed stale cgroups {name}', file=sys.stderr)


def _children_of(ppid):
    """Host pids whose parent is ppid (this kernel has no /proc/<pid>/task/<tid>/children)."""
    kids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: the fields start after the last ')'.
        if int(stat[stat.rindex(')') + 2:].split()[1]) == ppid:
            kids.append(int(entry))
    return kids


def _comm(pid):
    try:
        with open(f'/proc/{pid}/comm') as f:
            return f.read().strip()
    except OSError:
        return None


def _pump_console(master, path):
    """Copy the inner console (pty master) to a file until every slave fd is closed (EIO).

    Must keep reading while systemd lives: a full pty would block its console writes."""
    with open(path, 'ab', buffering=0) as log:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            log.write(data)
    os.close(master)


def _set_parent_death_signal():
    """preexec_fn: if the Python process is SIGKILLed, the launcher dies too, and through
    `unshare --kill-child` so does the namespace, so no orphaned systemd keeps running."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def run_captured(full_argv, argv, check, timeout, input, env, cwd=None):
    """Runs full_argv (argv, perhaps behind nsenter), text mode, output captured; a failure names argv."""
    # Without input, stdin is /dev/null rather than ours: a test must never block on a tty.
    stdin = {'input': input} if input is not None else {'stdin': subprocess.DEVNULL}
    r = subprocess.run(full_argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, **stdin)
    if check and r.returncode != 0:
        raise CommandFailed(r.returncode, argv, r.stdout, r.stderr)
    return r


class Testbed:
    """A systemd booted as PID 1 of private namespaces, with writable cgroup v1 controllers."""
    __test__ = False

    def __init__(self, binds=(), name='sktest', kernel_log=False):
        # kernel_log: /dev/kmsg read-only inside, and CAP_SYSLOG left in systemd's bounding set so that
        # root there may read it (the OOM watch reads victims from it). Off by default, as in nspawn.
        self.kernel_log = kernel_log
        self.binds = []
        for b in binds:
            b = os.path.abspath(b)
            if not os.path.isdir(b):
                raise ValueError(f'bind {b} is not a directory')
            self.binds.append(b)
        if not re.match(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$', name):
            raise ValueError(f'bad testbed name {name!r}')
        self.name = name
        self.pid = None                 # host pid of the inner systemd
        self.layout = 'hybrid'          # what the inner systemd sees (localsystem.LocalSystem: 'v2')
        self.cgname = None              # sktest-<launcher pid>
        self.boot_seconds = None
        self.failed_units = ''          # `systemctl --failed` if the boot was degraded
        self._proc = None               # launcher: sh -> unshare (same pid)
        self._tmpdir = None
        self._console_pump = None       # thread copying the inner /dev/console to console.log
        self._cgdirs = []               # host cgroup dirs we created
        self._booted = False
        self._saved_handlers = {}

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self, timeout=60):
        if self._proc is not None:
            raise TestbedError('testbed already started')
        mounts = check_host()
        remove_stale()
        t0 = time.monotonic()
        deadline = t0 + timeout
        self._install_signal_handlers()
        atexit.register(self.stop)
        try:
            self._launch(mounts)
            self._wait_for_boot(deadline, timeout)
        except BaseException:
            # Also on KeyboardInterrupt: half a testbed must not stay behind.
            self.stop()
            raise
        self.boot_seconds = time.monotonic() - t0
        return self

    def _launch(self, mounts):
        self._tmpdir = tempfile.mkdtemp(prefix=TMPDIR_PREFIX)
        root = os.path.join(self._tmpdir, 'root')
        os.mkdir(root, 0o755)
        # systemd as PID 1 of a container writes its status and log to /dev/console, and only
        # if that is a tty. So its console is a pty whose slave boot-inside.sh binds over
        # /dev/console; a thread copies the master side into console.log.
        master, slave = os.openpty()
        tty.setraw(slave)               # no \n -> \r\n, no echo
        self._console_pump = threading.Thread(
                target=_pump_console, name=f'{self.name}-console', daemon=True,
                args=(master, os.path.join(self._tmpdir, 'console.log')))
        self._console_pump.start()
        specs = [f'{d}:{t}:{o}' for d, t, o, _ in mounts]
        # The launcher waits for "go" on stdin, so that we can name the cgroups after its
        # pid and move it into them before it unshares: the cgroup namespace root is the
        # cgroup the unsharing process is in.
        argv = ['/bin/sh', '-c', 'read go && [ "$go" = go ] || exit 97; exec "$@" </dev/null',
                f'{self.name}-launcher',
                'unshare', '--pid', '--fork', '--kill-child', '--mount', '--uts', '--ipc',
                '--cgroup', '--propagation', 'private', '--',
                '/bin/sh', BOOT_SCRIPT, root, self.name, *specs, '--', *self.binds]
        in_main = threading.current_thread() is threading.main_thread()
        try:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=slave, stderr=slave,
                # Own session: a Ctrl-C on the terminal must not reach systemd (SIGINT is
                # its ctrl-alt-del) nor unshare; we tear down in order instead.
                start_new_session=True,
                env={'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C',
                     'SKTB_KERNEL_LOG': '1' if self.kernel_log else '0'},
                # PDEATHSIG fires when the forking *thread* exits: only from the main one.
                preexec_fn=_set_parent_death_signal if in_main else None)
        finally:
            os.close(slave)             # only the launcher holds it now
        with open(os.path.join(self._tmpdir, 'launcher.pid'), 'w') as f:
            f.write(f'{self._proc.pid}\n')     # for remove_stale() after a SIGKILL
        self.cgname = f'{CGROUP_PREFIX}{self._proc.pid}'
        for d, _, _, _ in mounts:
            parent = os.path.join(CGROUP_ROOT, d)
            path = os.path.join(parent, self.cgname)
            os.mkdir(path)
            self._cgdirs.append(path)
            if os.path.exists(os.path.join(parent, 'cpuset.cpus')):
                # A new cpuset is empty and refuses tasks until given cpus and mems.
                for f in ('cpuset.cpus', 'cpuset.mems'):
                    with open(os.path.join(parent, f)) as src:
                        value = src.read().strip()
                    with open(os.path.join(path, f), 'w') as dst:
                        dst.write(value)
        for path in self._cgdirs:
            with open(os.path.join(path, 'cgroup.procs'), 'w') as f:
                f.write(str(self._proc.pid))
        self._proc.stdin.write(b'go\n')
        self._proc.stdin.close()

    def _wait_for_boot(self, deadline, timeout):
        # The inner PID 1 is the child of unshare; it is boot-inside.sh until it execs systemd.
        def inner_systemd():
            self._check_launcher_alive()
            for kid in _children_of(self._proc.pid):
                if _comm(kid) == 'systemd':
                    return kid
            return None
        try:
            self.pid = wait_for(inner_systemd, max(0.0, deadline - time.monotonic()),
                                what='the inner systemd to start')
        except AssertionError as e:
            raise TestbedError(f'{e}\n{self._console_tail()}') from None

        state = ''
        while time.monotonic() < deadline:
            self._check_launcher_alive()
            try:
                r = self.run(['systemctl', 'is-system-running'], check=False,
                             timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                continue                # the loop condition reports it
            # "offline" until its private socket is up, then "initializing", "starting".
            state = r.stdout.strip()
            if state in ('running', 'degraded'):
                break
            if state in ('maintenance', 'stopping'):
                raise TestbedError(f'inner systemd is {state}\n{self._console_tail()}')
            time.sleep(0.05)
        else:
            raise TestbedError(f'inner systemd not up after {timeout}s (state {state!r})\n'
                               + self._console_tail())
        self._booted = True
        if state == 'degraded':
            self.failed_units = self.systemctl('--failed', '--no-legend', check=False).stdout
            print(f'testbed: boot degraded, failed units:\n{self.failed_units}', file=sys.stderr)

    def _check_launcher_alive(self):
        if self._proc.poll() is not None:
            raise TestbedError(f'testbed launcher exited with {self._proc.returncode}\n'
                               + self._console_tail())

    def stop(self, timeout=30):
        """Power off, then remove our cgroups. Idempotent; works after a failed start()."""
        if self._proc is None and not self._cgdirs and self._tmpdir is None:
            return
        deferred = self._defer_signals()
        errors = []
        try:
            # Each step even if the one before failed: as little as possible must stay behind.
            for step in (lambda: self._stop_processes(timeout), self._remove_cgroups):
                try:
                    step()
                except Exception as e:
                    errors.append(e)
        finally:
            if self._console_pump is not None:
                # It ends when the last holder of the slave side (systemd, unshare) is gone.
                self._console_pump.join(5)
                self._console_pump = None
            if self._tmpdir is not None:
                # Only an empty root/ and the log: the root tmpfs lived in the
                # namespace's private mount table and died with it.
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None
            self.pid = None
            self._booted = False
            atexit.unregister(self.stop)
            self._restore_signal_handlers(deferred)
        if errors:
            raise TestbedError('teardown incomplete: ' + '; '.join(map(str, errors)))

    def _stop_processes(self, timeout):
        proc = self._proc
        if proc is None:
            return
        if proc.stdin and not proc.stdin.closed:
            proc.stdin.close()      # a launcher still waiting for "go" exits 97
        if self.pid:
            self._kill_our_nsenters()
        if proc.poll() is None and self._booted and self.pid:
            # SIGRTMIN+4 is systemd's "start poweroff.target"; no dbus needed.
            try:
                os.kill(self.pid, signal.SIGRTMIN + 4)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f'testbed: no poweroff after {timeout}s, killing', file=sys.stderr)
        if proc.poll() is None:
            # Killing PID 1 of a pid namespace kills everything in it. Other signals
            # would only reach it if it had a handler (pid_namespaces(7)).
            for kid in _children_of(proc.pid):
                try:
                    os.kill(kid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()     # our own child, by pid
                proc.wait(10)
        self._proc = None

    def _kill_our_nsenters(self):
        """SIGKILL the nsenter processes this Python process started into the testbed.

        systemd-shutdown SIGSTOPs everything in the namespace; nsenter (outside, waiting for
        its child with WUNTRACED) then stops itself too, and never reaps its child. That zombie
        keeps the dying namespace alive, so the poweroff hangs. Killed first, nsenter hands its
        child over to the inner systemd, which reaps it."""
        for kid in _children_of(os.getpid()):
            try:
                with open(f'/proc/{kid}/cmdline', 'rb') as f:
                    argv = f.read().split(b'\0')
            except OSError:
                continue
            if os.path.basename(argv[0]) == b'nsenter' and argv[1:3] == [b'-t', b'%d' % self.pid]:
                try:
                    os.kill(kid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _remove_cgroups(self):
        if self.cgname is None:
            return
        # Also the hierarchies we may not have recorded because start() broke off.
        paths = set(self._cgdirs)
        paths.update(os.path.join(CGROUP_ROOT, d, self.cgname) for d in os.listdir(CGROUP_ROOT))
        paths = [p for p in paths if os.path.isdir(p)]
        deadline = time.monotonic() + 5
        while True:
            # An exiting task can keep a v1 cgroup busy for a moment after its death.
            errors = [(p, e) for p in paths if (e := _rmdir_tree(p)) is not None]
            if not errors:
                break
            if time.monotonic() >= deadline:
                raise TestbedError('could not remove cgroups: ' + '; '.join(
                    f'{p}: {e}' for p, e in errors))
            time.sleep(0.05)
        self._cgdirs = []
        self.cgname = None

    # --- signals -----------------------------------------------------------------------------

    def _install_signal_handlers(self):
        """SIGTERM/SIGHUP raise TestbedInterrupted, so finally blocks and __exit__ run.

        A caller's own handlers are left alone. SIGINT gets Python's KeyboardInterrupt even
        when it was ignored (a background job of a non-interactive shell)."""
        if threading.current_thread() is not threading.main_thread():
            return          # only the main thread may set handlers; atexit remains
        def interrupted(signum, frame):
            raise TestbedInterrupted(signum)
        wanted = {signal.SIGTERM: interrupted, signal.SIGHUP: interrupted,
                  signal.SIGINT: signal.default_int_handler}
        for sig, handler in wanted.items():
            old = signal.getsignal(sig)
            if old in (signal.SIG_DFL, signal.SIG_IGN, None, signal.default_int_handler):
                self._saved_handlers[sig] = old
                signal.signal(sig, handler)

    def _defer_signals(self):
        """During teardown a second Ctrl-C must not cut it short: note signals, act later."""
        deferred = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                if sig in self._saved_handlers:
                    signal.signal(sig, lambda s, f: deferred.append(s))
        return deferred

    def _restore_signal_handlers(self, deferred):
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, old in self._saved_handlers.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._saved_handlers = {}
        for sig in dict.fromkeys(deferred):
            signal.raise_signal(sig)        # now the caller's disposition decides

    # --- using it ----------------------------------------------------------------------------

    def nsenter_argv(self, argv, cwd=None):
        """The host command line that runs argv inside all of the testbed's namespaces."""
        if not self.pid:
            raise TestbedError('testbed is not running')
        # Not nsenter --wd: it opens the directory before entering the mount namespace, which
        # leaves the command in a cwd outside the inner root (getcwd fails).
        chdir = ['env', f'--chdir={cwd}', '--'] if cwd else []
        return ['nsenter', '-t', str(self.pid), '-a', '--', *chdir, *argv]

    def inner_env(self, env=None):
        e = dict(INNER_ENV)
        if os.environ.get('TERM'):
            e['TERM'] = os.environ['TERM']
        e.update(env or {})
        return e

    def run(self, argv, check=True, timeout=60, input=None, env=None, cwd=None):
        """Run argv inside (all namespaces, inner root), text mode, output captured.

        env is added to a clean default environment (PATH, HOME=/root, LANG=C.UTF-8).
        Note: plain nsenter'd processes sit outside the namespace's cgroup root; start
        workloads under test with systemd-run."""
        argv = [str(a) for a in argv]
        return run_captured(self.nsenter_argv(argv, cwd), argv, check, timeout, input, self.inner_env(env))

    def systemctl(self, *args, **kw):
        return self.run(['systemctl', *args], **kw)

    def show(self, unit, prop):
        return self.run(['systemctl', 'show', '-P', prop, unit]).stdout.rstrip('\n')

    def host_path(self, path):
        """The host's path of a file inside (through the inner systemd's root)."""
        if not self.pid:
            raise TestbedError('testbed is not running')
        return f'/proc/{self.pid}/root{path}'

    def cgroup_file(self, controller, relpath=''):
        """Host path of relpath below our cgroup in a hierarchy, as mounted on the host.

        controller: 'cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'unified', 'systemd', ...
        relpath: as seen inside, e.g. 'a.slice/foo.service/cpu.shares'."""
        if self.cgname is None:
            raise TestbedError('testbed is not running')
        return os.path.join(CGROUP_ROOT, controller, self.cgname, relpath.lstrip('/'))

    def read_cgroup(self, controller, relpath):
        with open(self.cgroup_file(controller, relpath)) as f:
            return f.read().strip()

    def console(self):
        """What the inner systemd and boot-inside.sh printed so far."""
        if self._tmpdir is None:
            return ''
        try:
            path = os.path.join(self._tmpdir, 'console.log')
            with open(path, errors='replace', newline='') as f:  # keep \r for the sub
                # systemd resets the console to a normal tty, and writes \r\n itself too.
                return re.sub(r'\r+\n', '\n', f.read())
        except FileNotFoundError:
            return ''                   # the console thread has not opened it yet

    def _console_tail(self, lines=60):
        tail = self.console().splitlines()[-lines:]
        return '--- testbed console (tail) ---\n' + '\n'.join(tail)

    def wait_for(self, predicate, timeout, interval=0.05, what='condition'):
        return wait_for(predicate, timeout, interval, what)


# --- command line ------------------------------------------------------------------------------

def _processes_in_cgroup(name):
    """Host pids whose /proc/<pid>/cgroup mentions our cgroup name (should be none after stop)."""
    pids = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/cgroup') as f:
                    if f'/{name}' in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def _inner_cwd(tb):
    """The caller's cwd if it is visible inside (below a bind), else None (the inner /)."""
    cwd = os.getcwd()
    return cwd if any(cwd == b or cwd.startswith(b + '/') for b in tb.binds) else None


def cmd_run(args):
    argv = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not argv:
        raise SystemExit('usage: testbed.py run -- CMD ARGS...')
    with Testbed(binds=[REPO_ROOT, *args.bind]) as tb:
        print(f'testbed: booted in {tb.boot_seconds:.1f}s, systemd is pid {tb.pid}', file=sys.stderr)
        proc = subprocess.Popen(tb.nsenter_argv(argv, _inner_cwd(tb)), env=tb.inner_env())
        try:
            rc = proc.wait()
            return 128 - rc if rc < 0 else rc   # killed by a signal: the shell's convention
        finally:
            if proc.poll() is None:
                proc.kill()     # its child inside dies with the namespace
                proc.wait()


def cmd_shell(args):
    with Testbed(binds=[REPO_ROOT, *args.bind]) as tb:
        print(f'testbed: booted in {tb.boot_seconds:.1f}s, systemd is pid {tb.pid}; '
              'exit the shell to tear down', file=sys.stderr)
        proc = subprocess.Popen(tb.nsenter_argv(['bash', '-l'], _inner_cwd(tb)), env=tb.inner_env())
        # Ctrl-C belongs to the interactive shell, not to us.
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return proc.wait()
        finally:
            signal.signal(signal.SIGINT, old)
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def cmd_selftest(args):
    ok = True

    def check(label, cond, detail=''):
        nonlocal ok
        ok = ok and bool(cond)
        print(f'{"PASS" if cond else "FAIL"}: {label}{(" (" + detail + ")") if detail else ""}')

    check_host()                        # TestbedUnavailable: exit 77 before printing anything
    tb = Testbed(binds=[REPO_ROOT, *args.bind])
    launcher = inner = name = None
    try:
        tb.start(timeout=args.timeout)
        launcher, inner, name = tb._proc.pid, tb.pid, tb.cgname
        print(f'booted in {tb.boot_seconds:.2f}s (systemd pid {inner}, cgroups {name})')
        check('boot reached running', not tb.failed_units, tb.failed_units.strip())

        tb.run(['systemd-run', '--unit=sktest-selftest', '--slice=a.slice',
                '-p', 'CPUWeight=200', '-p', 'MemoryMax=100M', '-p', 'TasksMax=50',
                'sleep', '99'])
        unit = 'a.slice/sktest-selftest.service'
        for ctrl, f, want in (('cpu', 'cpu.shares', '2048'),
                              ('memory', 'memory.limit_in_bytes', '104857600'),
                              ('pids', 'pids.max', '50')):
            path = tb.cgroup_file(ctrl, f'{unit}/{f}')
            try:
                wait_for(lambda: tb.read_cgroup(ctrl, f'{unit}/{f}') == want, 5,
                         what=f'{path} == {want}')
                check(f'{path} == {want}', True)
            except AssertionError as e:
                check(f'{path} == {want}', False, str(e))

        tb.run(['systemd-run', '--unit=sktest-notify', '-p', 'Type=notify', '/bin/sh', '-c',
                'systemd-notify --ready; sleep 100'], timeout=30)
        state = tb.show('sktest-notify.service', 'ActiveState')
        check('Type=notify service is active', state == 'active', state)

        r = tb.run(['busctl', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus',
                    'org.freedesktop.DBus', 'GetId'], check=False)
        check('busctl on the inner system bus', r.returncode == 0, (r.stdout + r.stderr).strip())

        usage = tb.read_cgroup('unified', f'{unit}/cpu.stat').split('\n')[0]
        check('cgroup2 cpu.stat of the unit readable from the host',
              usage.startswith('usage_usec'), usage)
    except (TestbedError, CommandFailed, subprocess.TimeoutExpired) as e:
        check('testbed usable', False, str(e))
    finally:
        t0 = time.monotonic()
        tb.stop()
        print(f'stopped in {time.monotonic() - t0:.2f}s')

    if name:
        left = sorted(glob.glob(os.path.join(CGROUP_ROOT, '*', name)))
        check(f'no {name} cgroup left', not left, ' '.join(left))
    # Others' are fine while their launcher lives (concurrent test runs); dead ones are not,
    # once their own teardown had a moment to finish.
    def stale():
        return sorted(p for p in glob.glob(os.path.join(CGROUP_ROOT, '*', CGROUP_PREFIX + '*'))
                      if not os.path.exists(f'/proc/{os.path.basename(p)[len(CGROUP_PREFIX):]}'))
    try:
        wait_for(lambda: not stale(), 3, what='teardowns of other runs')
    except AssertionError:
        pass
    check('no stale sktest-* cgroup of a dead launcher', not stale(), ' '.join(stale()))
    if name:
        alive = [p for p in (launcher, inner) if os.path.exists(f'/proc/{p}')]
        alive += _processes_in_cgroup(name)
        check('no testbed process left', not alive, ' '.join(map(str, alive)))
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


def main(argv=None):
    p = argparse.ArgumentParser(description='A real systemd in private namespaces for tests.')
    p.add_argument('--bind', action='append', default=[],
                   help='extra host directory to bind at the same path (repeatable)')
    sub = p.add_subparsers(dest='verb', required=True)
    r = sub.add_parser('run', help='boot, run a command inside, tear down')
    r.add_argument('command', nargs=argparse.REMAINDER, help='-- CMD ARGS...')
    sub.add_parser('shell', help='boot, interactive bash inside, tear down')
    s = sub.add_parser('selftest', help='boot and check that limits are real')
    s.add_argument('--timeout', type=float, default=60)
    args = p.parse_args(argv)
    try:
        return {'run': cmd_run, 'shell': cmd_shell, 'selftest': cmd_selftest}[args.verb](args)
    except TestbedUnavailable as e:
        print(f'testbed unavailable: {e}', file=sys.stderr)
        return 77       # the automake/meson "skipped" status
    except TestbedError as e:
        print(f'testbed: {e}', file=sys.stderr)
        return 1
    except TestbedInterrupted as e:
        print(f'testbed: {e}, torn down', file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        print('testbed: interrupted, torn down', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
