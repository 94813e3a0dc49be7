// SPDX-License-Identifier: MIT
// slicekeeper's dashboard. Read-only: it asks the daemon's websocket (the address the page came from) for
// show_account (the window, on load and after a reconnect), subscribe (a record a second), events and
// status, and draws. Rates are computed here from the records' cumulative counters. Each group's table row
// is made once and its cells kept, so a tick only sets the texts that changed (1000 groups stay cheap).
'use strict';

(function () {
        const WINDOW_MAX = 3600;        // show_account's nr_slot bound; the daemon answers what its window holds
        const STALE_MS = 3500;          // no record for this long: the data is marked stale
        const STATUS_MS = 5000;
        const EVENTS_MAX = 200;
        const BACKOFF_MIN = 500, BACKOFF_MAX = 10000;

        const $ = (id) => document.getElementById(id);
        const rowsEl = $('rows'), eventsEl = $('events'), chartEl = $('chart');

        // path ("a/b", or "user:UID") -> {row, cells, prev, hist, depth, seen}
        const groups = new Map();
        let order = [];                 // paths in tree order, as last drawn
        let windowSec = 300;            // the span the first show_account returned (the daemon's ExpireSec)
        let lastSec = 0, lastRecordAt = 0;
        let selected = null, chart = null;
        let ws = null, backoff = BACKOFF_MIN, phase = 'closed';
        const tickMs = [];              // script time per tick, the last ones (bench/page-bench.py reads it)
        let nTicks = 0;

        // ---- formatting ----
        function bytes(n) {
                if (n == null) return '–';
                const u = ['B', 'K', 'M', 'G', 'T'];
                let i = 0;
                while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
                return (i ? n.toFixed(n < 10 ? 1 : 0) : n) + u[i];
        }
        const num = (v, d) => (v == null ? '–' : v.toFixed(d));
        const pct = (v) => (v == null ? '–' : Math.round(v * 100) + '%');
        const hms = (ms) => new Date(ms).toLocaleTimeString();

        // ---- model ----
        // Counters of one group's value objects (cgrouparch's per-controller shapes) at one second.
        function counters(cpu, blkio, memory, pids, pressure) {
                let io = null;
                if (blkio && typeof blkio === 'object')
                        for (const dev in blkio) {
                                const d = blkio[dev];
                                io = (io || 0) + (d.Read || 0) + (d.Write || 0);
                        }
                const p = (r) => (pressure && pressure[r] ? pressure[r].some : null);
                return {
                        cpu: cpu ? cpu.usage : null, io: io,
                        mem: memory ? memory.usage : null, tasks: pids ? pids.current : null,
                        pcpu: p('cpu'), pmem: p('memory'), pio: p('io'),
                };
        }

        // Walks the five controller trees together: each has the same nesting.
        function collect(rec, out) {
                const c = rec.cpu || {}, b = rec.blkio || {}, m = rec.memory || {}, n = rec.pids || {},
                      p = rec.pressure || {};
                (function walk(c, b, m, n, p, path, depth) {
                        out.push([path, depth, counters(c.value, b.value, m.value, n.value, p.value)]);
                        const subs = c.sub_cgroup || m.sub_cgroup || n.sub_cgroup || b.sub_cgroup || p.sub_cgroup;
                        for (const name in subs) {
                                const sub = (t) => (t.sub_cgroup && t.sub_cgroup[name]) || {};
                                walk(sub(c), sub(b), sub(m), sub(n), sub(p), path ? path + '/' + name : name,
                                     depth + 1);
                        }
                })(c, b, m, n, p, '', 0);
                for (const uid in rec.users || {}) {
                        const u = rec.users[uid];
                        out.push(['user:' + uid, 0, counters(u.cpu, u.blkio, u.memory, u.pids, u.pressure),
                                  (u.name || 'uid ' + uid) + ' (' + uid + ')']);
                }
        }

        const rate = (a, b, dt, scale) => (a == null || b == null || b < a ? null : (b - a) / dt / scale);

        // One second's record into the model: rates against the group's previous second, a point in its history.
        function ingest(sec, rec) {
                const items = [];
                collect(rec, items);
                const t = sec * 1000;
                let changed = false;
                for (const [path, depth, v, label] of items) {
                        let g = groups.get(path);
                        if (!g) {
                                g = { path, depth, label: label || (path ? path.split('/').pop() : '(machine)'),
                                      user: !!label, prev: null, prevSec: 0, hist: [], now: null, row: null };
                                groups.set(path, g);
                                changed = true;
                        }
                        if (sec <= g.prevSec)
                                continue; // already had it (a refill after a reconnect)
                        const now = { cpu: null, io: null, mem: v.mem, tasks: v.tasks,
                                      pcpu: null, pmem: null, pio: null };
                        if (g.prev) {
                                const dt = sec - g.prevSec;
                                now.cpu = rate(g.prev.cpu, v.cpu, dt, 1e9);
                                now.io = rate(g.prev.io, v.io, dt, 1);
                                now.pcpu = rate(g.prev.pcpu, v.pcpu, dt, 1e6);
                                now.pmem = rate(g.prev.pmem, v.pmem, dt, 1e6);
                                now.pio = rate(g.prev.pio, v.pio, dt, 1e6);
                                g.hist.push([new Date(t), now.cpu, v.mem == null ? null : v.mem / 1048576,
                                             now.io == null ? null : now.io / 1048576]);
                                if (g.hist.length > windowSec + 60) // trimmed in batches: shift() per tick is O(n)
                                        g.hist.splice(0, g.hist.length - windowSec);
                        }
                        g.prev = v;
                        g.prevSec = sec;
                        g.now = now;
                        g.seen = sec;
                }
                if (sec > lastSec)
                        lastSec = sec;
                if (changed || items.length !== order.length)
                        order = items.map((i) => i[0]);
                return changed;
        }

        // ---- table ----
        function makeRow(g) {
                const tr = document.createElement('tr');
                tr.dataset.path = g.path;
                if (g.user) tr.className = 'user';
                const cells = {};
                for (const k of ['name', 'cpu', 'mem', 'io', 'tasks', 'psi']) {
                        const td = document.createElement('td');
                        td.className = k;
                        tr.appendChild(td);
                        cells[k] = td;
                }
                cells.name.textContent = '\u00a0'.repeat(2 * g.depth) + g.label;
                cells.name.title = g.path || 'the whole machine (or Root=)';
                tr.addEventListener('click', () => select(g.path));
                g.row = tr;
                g.cells = cells;
                g.text = {};
        }

        function set(g, k, text) {
                if (g.text[k] !== text) {
                        g.text[k] = text;
                        g.cells[k].textContent = text;
                }
        }

        // The rows in tree order; only when groups came or went, rows are moved (existing ones kept).
        function relayout() {
                const live = new Set(order);
                for (const [path, g] of groups)
                        if (!live.has(path)) {
                                if (g.row) g.row.remove();
                                groups.delete(path);
                        }
                const frag = document.createDocumentFragment();
                for (const path of order) {
                        const g = groups.get(path);
                        if (!g.row) makeRow(g);
                        frag.appendChild(g.row);
                }
                rowsEl.appendChild(frag);
        }

        function render(relayoutNeeded) {
                if (relayoutNeeded) relayout();
                for (const path of order) {
                        const g = groups.get(path), n = g.now;
                        if (!n) continue;
                        set(g, 'cpu', num(n.cpu, 2));
                        set(g, 'mem', bytes(n.mem));
                        set(g, 'io', n.io == null ? '–' : bytes(n.io));
                        set(g, 'tasks', n.tasks == null ? '–' : String(n.tasks));
                        set(g, 'psi', pct(n.pcpu) + ' · ' + pct(n.pmem) + ' · ' + pct(n.pio));
                        const busy = n.cpu != null && n.cpu >= 0.5;
                        if (g.busy !== busy) {
                                g.busy = busy;
                                g.row.classList.toggle('busy', busy);
                        }
                }
                drawChart();
        }

        // ---- chart ----
        function select(path) {
                const old = groups.get(selected);
                if (old && old.row) old.row.classList.remove('selected');
                selected = path;
                const g = groups.get(path);
                if (g && g.row) g.row.classList.add('selected');
                $('chart-title').textContent = g ? (g.user ? 'user ' : 'group ') + (g.path || '(machine)') : '';
                if (chart) { chart.destroy(); chart = null; }
                drawChart();
        }

        function drawChart() {
                const g = groups.get(selected);
                if (!g) return;
                chartEl.dataset.points = g.hist.length;
                if (typeof Dygraph === 'undefined' || g.hist.length === 0)
                        return;
                if (!chart)
                        chart = new Dygraph(chartEl, g.hist, {
                                labels: ['time', 'CPU (cores)', 'memory (MiB)', 'IO (MiB/s)'],
                                series: { 'memory (MiB)': { axis: 'y2' } },
                                axes: { y2: { independentTicks: true } },
                                ylabel: 'cores', y2label: 'MiB', legend: 'always', includeZero: true,
                        });
                else
                        chart.updateOptions({ file: g.hist });
        }

        if (typeof Dygraph === 'undefined') {
                chartEl.innerHTML = '<p class="missing">The charting library did not load (GET /lib/dygraph.min.js): ' +
                        'install Debian\'s libjs-dygraphs, or point [Web] JavaScriptDir= at its directory. ' +
                        'The table and events work without it.</p>';
                chartEl.dataset.missing = '1';
        }

        // ---- events and status ----
        const BAD = /rejected|oom|down|error|penalty/;
        const SKIP = new Set(['seq', 'kind', 'time', 'wall_usec', 'node']);

        function addEvent(e) {
                const li = document.createElement('li');
                if (BAD.test(e.kind)) li.className = 'bad';
                li.dataset.kind = e.kind;
                const details = Object.keys(e).filter((k) => !SKIP.has(k))
                        .map((k) => k + '=' + (typeof e[k] === 'object' ? JSON.stringify(e[k]) : e[k])).join(' ');
                const time = document.createElement('span'), kind = document.createElement('span'),
                      text = document.createElement('span');
                time.className = 'time';
                time.textContent = e.wall_usec ? hms(e.wall_usec / 1000) : e.time;
                kind.className = 'kind';
                kind.textContent = e.kind;
                text.textContent = details;
                li.append(time, kind, text);
                li.dataset.seq = e.seq;
                eventsEl.insertBefore(li, eventsEl.firstChild);
                while (eventsEl.childElementCount > EVENTS_MAX)
                        eventsEl.lastChild.remove();
        }

        let lastSeq = 0;

        function showStatus(s) {
                const src = s.source || {};
                const items = [
                        ['source', src.type === 'file' ? 'file ' + src.path : (src.type || '?') + ' ' +
                                (src.hosts || '') + (src.connected === false ? ' (disconnected)' : '')],
                        ['tree version', s.version == null ? 'none' : s.version],
                        ['groups', s.groups],
                        ['last error', s.last_error ? s.last_error.message + ' (' + hms(s.last_error.usec / 1000) + ')'
                                                    : 'none', !!s.last_error],
                        ['Redis', !s.redis ? 'not configured' : (s.redis.connected ? 'connected ' : 'DOWN ') +
                                s.redis.address + (s.redis.backlog ? ', backlog ' + s.redis.backlog : ''),
                         s.redis && !s.redis.connected],
                        ['sweep CPU', s.sampler && s.sampler.sweep_cpu_usec ? s.sampler.sweep_cpu_usec.last +
                                ' µs (avg ' + s.sampler.sweep_cpu_usec.avg + ')' : '?'],
                        ['websocket clients', s.web ? s.web.clients : '?'],
                ];
                const el = $('status');
                el.textContent = '';
                for (const [k, v, bad] of items) {
                        const span = document.createElement('span');
                        span.dataset.key = k;
                        if (bad) span.className = 'err';
                        span.textContent = k + ': ' + v;
                        el.appendChild(span);
                }
        }

        // ---- the websocket ----
        function send(o) {
                if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(o));
        }

        // t0: when the message came, before its JSON was parsed.
        function tick(o, t0) {
                const secs = Object.keys(o).map(Number).sort((a, b) => a - b);
                let relayoutNeeded = false;
                for (const sec of secs)
                        relayoutNeeded = ingest(sec, o[sec]) || relayoutNeeded;
                render(relayoutNeeded || rowsEl.childElementCount !== order.length);
                if (selected === null && order.length)
                        select(order.length > 1 ? order[1] : order[0]);
                lastRecordAt = Date.now();
                markStale();
                tickMs.push(performance.now() - t0);
                nTicks++;
                if (tickMs.length > 600) tickMs.splice(0, 300);
        }

        function onMessage(ev) {
                const t0 = performance.now();
                let o;
                try { o = JSON.parse(ev.data); } catch (e) { return; }
                if (phase === 'window') {        // the answer to show_account: the history, then live
                        const n = Object.keys(o).length;
                        if (lastSec === 0 && n > 0) windowSec = Math.max(60, n);
                        if (!o.error) tick(o, t0);
                        phase = 'live';
                        send({ cmd: 'subscribe' });
                        send({ cmd: 'events', last: EVENTS_MAX });
                        send({ cmd: 'status' });
                        return;
                }
                if ('event' in o) {
                        if (o.event.seq > lastSeq) { lastSeq = o.event.seq; addEvent(o.event); }
                } else if (o.events_subscribed) {
                        if (o.last_seq < lastSeq) lastSeq = 0; // the daemon restarted: its numbers start again
                        for (const e of o.events || [])
                                if (e.seq > lastSeq) { lastSeq = e.seq; addEvent(e); }
                } else if ('source' in o && 'version' in o) {
                        showStatus(o);
                } else if (!('subscribed' in o) && !('error' in o)) {
                        tick(o, t0);
                }
        }

        function connect() {
                const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
                ws = new WebSocket(url);
                $('conn').textContent = 'connecting…';
                ws.onopen = () => {
                        backoff = BACKOFF_MIN;
                        $('conn').textContent = 'connected';
                        $('conn').className = 'conn up';
                        phase = 'window';
                        // Once: the whole window; after a reconnect: the gap since the last record we had.
                        const gap = lastSec ? Math.ceil(Date.now() / 1000 - lastSec) + 2 : WINDOW_MAX;
                        send({ cmd: 'show_account', args: { nr_slot: Math.min(WINDOW_MAX, Math.max(2, gap)) } });
                };
                ws.onmessage = onMessage;
                ws.onclose = () => {
                        phase = 'closed';
                        ws = null;
                        $('conn').textContent = 'disconnected; retrying in ' + (backoff / 1000) + ' s';
                        $('conn').className = 'conn down';
                        markStale();
                        setTimeout(connect, backoff);
                        backoff = Math.min(BACKOFF_MAX, backoff * 2);
                };
        }

        function markStale() {
                const stale = phase !== 'live' || Date.now() - lastRecordAt > STALE_MS;
                const el = $('stale');
                if (el.hidden === stale) {
                        el.hidden = !stale;
                        document.body.classList.toggle('is-stale', stale);
                }
                if (stale)
                        el.textContent = 'stale' + (lastRecordAt ? ': last data ' + hms(lastRecordAt) : '');
        }

        setInterval(markStale, 1000);
        setInterval(() => { if (phase === 'live') send({ cmd: 'status' }); }, STATUS_MS);
        connect();

        // For tests and the benchmark: read-only views of the state.
        window.slicekeeper = {
                tickMs, select, ticks: () => nTicks,
                points: () => { const g = groups.get(selected); return g ? g.hist.length : 0; },
                chartRows: () => (chart ? chart.numRows() : 0),
                selected: () => selected,
                connected: () => phase === 'live',
        };
})();
