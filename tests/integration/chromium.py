# SPDX-License-Identifier: MIT
"""Debian's headless Chromium driven over the DevTools protocol (no selenium): started on the host (the
testbed shares its loopback), one page, Runtime.evaluate and Page.captureScreenshot. Used by
test_page.py and bench/page-bench.py."""
import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import websocket

from servers import free_port

CHROMIUM = '/usr/bin/chromium'


class Chromium:
    def __init__(self, width=1400, height=900):
        self.profile = tempfile.mkdtemp(prefix='sk-chromium-')
        self.port = free_port()
        self.ids = itertools.count(1)
        # Root on a CI machine: no sandbox. No first-run, sync or other network of its own.
        self.proc = subprocess.Popen(
            [CHROMIUM, '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
             '--disable-background-networking', '--disable-extensions', '--disable-sync',
             '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
             f'--window-size={width},{height}', f'--remote-debugging-port={self.port}',
             '--remote-allow-origins=*', f'--user-data-dir={self.profile}', 'about:blank'],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.profile, 'stderr'), 'wb'))
        try:
            self.ws = websocket.create_connection(self._page_target(60), timeout=60, suppress_origin=True)
            self.call('Page.enable')
            self.call('Runtime.enable')
        except BaseException:
            self.close()
            raise

    def _page_target(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{self.port}/json/list', timeout=5) as r:
                    pages = [t for t in json.load(r) if t.get('type') == 'page']
                if pages:
                    return pages[0]['webSocketDebuggerUrl']
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f'chromium did not come up: {self.stderr()[-2000:]}')
            time.sleep(0.1)

    def stderr(self):
        try:
            with open(os.path.join(self.profile, 'stderr'), errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def call(self, method, **params):
        """One DevTools command; events that come before its answer are dropped."""
        n = next(self.ids)
        self.ws.send(json.dumps({'id': n, 'method': method, 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == n:
                if 'error' in msg:
                    raise AssertionError(f'{method}: {msg["error"]}')
                return msg.get('result', {})

    def navigate(self, url):
        self.call('Page.navigate', url=url)

    def eval(self, expression):
        r = self.call('Runtime.evaluate', expression=expression, returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in r:
            raise AssertionError(f'{expression}: {r["exceptionDetails"]}')
        return r['result'].get('value')

    def wait(self, expression, timeout, what=None, interval=0.1):
        """Polls a JS expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.eval(expression)
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f'timed out ({timeout} s) waiting for {what or expression}; last {v!r}')
            time.sleep(interval)

    def screenshot(self, path):
        data = self.call('Page.captureScreenshot', format='png')['data']
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))

    def close(self):
        if getattr(self, 'ws', None):
            try:
                self.ws.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # by pid: ours
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # its children (renderer, zygote) go with it; the profile is ours alone
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
