/**
 * The dashboard: one HTML page, no build step. It listens to `/events` (server-sent events, a state
 * snapshot every 500 ms), draws each breaker (state, failures, time to the next probe, p50/p99 of its
 * recent calls), a timeline of every breaker's states over the last 5 minutes (plain SVG), a chart of
 * calls / failures / rejections per second (plain SVG), the chaos controls (POST /chaos/:dep/:action, a
 * same-origin JSON request),
 * a relay form, and the admin reset (POST /admin/reset with the token printed at start-up). When the
 * agent refuses the stream (all places taken), the page polls `/api/state` instead.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Phlow demo agent</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2330; background: #f5f6f8; }
  body { margin: 0 auto; max-width: 1100px; padding: 16px; }
  h1 { font-size: 1.3rem; margin: 0 0 4px; } h2 { font-size: 1rem; margin: 18px 0 6px; }
  .muted { color: #6b7280; font-size: .85rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e7eb; font-size: .9rem; }
  .state { font-weight: 600; padding: 2px 8px; border-radius: 10px; }
  .state.closed { background: #d1fae5; color: #065f46; } .state.open, .state.forced_open { background: #fee2e2; color: #991b1b; }
  .state.half_open { background: #fef3c7; color: #92400e; } .state.disabled { background: #e5e7eb; }
  #status.healthy { color: #065f46; } #status.degraded { color: #991b1b; }
  button { margin: 0 2px; padding: 3px 8px; border: 1px solid #cbd5e1; background: #fff; border-radius: 4px; cursor: pointer; }
  button.break { border-color: #fca5a5; } button.heal { border-color: #6ee7b7; }
  svg { background: #fff; border: 1px solid #e5e7eb; }
  .row { display: flex; gap: 16px; flex-wrap: wrap; align-items: center; }
  input { padding: 3px 6px; }
  #log { font-family: ui-monospace, monospace; font-size: .8rem; white-space: pre-wrap; background: #fff; padding: 6px; min-height: 2em; }
</style>
</head>
<body>
<h1>Phlow demo agent <span id="status" class="muted">connecting…</span></h1>
<div class="muted">A2A relay agent; every dependency behind a circuit breaker. <a href="/health/circuit-breakers">health</a> · <a href="/metrics">metrics</a> · <a href="/.well-known/agent-card.json">agent card</a></div>

<h2>Circuit breakers</h2>
<table id="breakers"><thead><tr><th>Breaker</th><th>State</th><th>Failures</th><th>Calls</th><th>Failed</th><th>Rejected</th><th>Next probe</th><th title="median duration of recent calls (last 500, last 5 minutes)">p50</th><th title="99th percentile">p99</th></tr></thead><tbody></tbody></table>

<h2>State timeline (up to the last 5 minutes)</h2>
<svg id="timeline" width="1060" height="40" viewBox="0 0 1060 40" role="img" aria-label="each breaker's state over the last 5 minutes"></svg>
<div class="muted"><span style="color:#10b981">■ closed</span> · <span style="color:#dc2626">■ open</span> · <span style="color:#f59e0b">■ half_open</span> · <span style="color:#7f1d1d">■ forced_open</span> · <span style="color:#9ca3af">■ disabled</span> · <span style="color:#d1d5db">■</span> not known (before the agent saw the breaker, or older changes dropped) <span id="timeline-note"></span></div>

<h2>Calls per second (all breakers, last 2 minutes)</h2>
<svg id="chart" width="1060" height="150" viewBox="0 0 1060 150" role="img" aria-label="calls, failures and rejections per second"></svg>
<div class="muted"><span style="color:#2563eb">■ calls</span> · <span style="color:#dc2626">■ failures</span> · <span style="color:#d97706">■ rejections</span> · <span id="relays"></span> · <span id="outbox"></span></div>
<div class="muted" id="policies"></div>

<h2>State changes</h2>
<ol id="transitions" class="muted"></ol>

<h2>Chaos (through the fault proxies)</h2>
<table id="chaos"><thead><tr><th>Dependency</th><th>Breaker</th><th>Faults</th><th>Passed (requests; connections for TLS)</th><th></th></tr></thead><tbody></tbody></table>

<h2>Relay a message</h2>
<form id="relay" class="row"><input id="to" value="alpha" size="12" aria-label="peer"> <input id="text" value="hello" size="30" aria-label="message"> <button type="submit">Send</button></form>
<div id="log"></div>

<h2>Admin</h2>
<form id="reset" class="row"><input id="token" type="password" placeholder="admin token (printed at start-up)" size="34"> <button type="submit">Reset all breakers</button> <span id="reset-result" class="muted"></span></form>

<script>
const $ = (s) => document.querySelector(s);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
let latest;
function render(s) {
  latest = s;
  const status = $('#status'); status.textContent = s.status; status.className = s.status;
  $('#breakers tbody').innerHTML = s.breakers.map((b) =>
    '<tr data-breaker="' + esc(b.name) + '" data-state="' + esc(b.state) + '"><td>' + esc(b.name) + '</td><td><span class="state ' + esc(b.state) + '">' + esc(b.state) + '</span></td><td>' +
    b.failure_count + ' / ' + b.failure_threshold + '</td><td>' + b.total_calls + '</td><td>' + b.total_failures + '</td><td>' + b.total_rejections + '</td><td>' +
    (b.retry_in_ms === null ? '—' : (b.retry_in_ms / 1000).toFixed(1) + ' s') + '</td>' + latencyCells(b.latency) + '</tr>').join('');
  $('#chaos tbody').innerHTML = s.dependencies.map((d) => {
    const faults = Object.keys(d.faults || {}).filter((k) => d.faults[k]);
    return '<tr data-dependency="' + esc(d.name) + '"><td>' + esc(d.name) + '</td><td>' + esc(d.breaker || '') + '</td><td>' + (faults.length ? esc(faults.join(', ')) : 'healthy') + '</td><td>' + d.forwarded + '</td><td>' +
      (d.mode === 'http' ? ['down', 'hang', 'error503', 'slow'] : ['down', 'hang', 'slow']).map((a) => '<button class="break" data-chaos="' + esc(d.name) + '" data-action="' + a + '">' + a + '</button>').join('') +
      '<button class="heal" data-chaos="' + esc(d.name) + '" data-action="heal">heal</button></td></tr>';
  }).join('');
  $('#relays').textContent = 'relays: ' + s.relays.relayed + ' ok, ' + s.relays.failed + ' refused/failed';
  const p = s.policies || { retries: 0, budgetExhausted: 0, fallbacks: {}, bulkheadRejections: 0 };
  const tiers = Object.entries(p.fallbacks || {}).map(([tier, n]) => tier + ' ' + Number(n)).join(', ');
  $('#policies').textContent = 'policies: ' + Number(p.retries) + ' retries (' + Number(p.budgetExhausted) + ' refused by the retry budget) · peer address from ' + (tiers || 'no lookup yet') + ' · ' + Number(p.bulkheadRejections) + ' calls refused by the per-peer bulkheads';
  $('#outbox').textContent = 'outbox: ' + s.outbox.pending + ' pending, ' + s.outbox.replayed + ' replayed, ' + s.outbox.dead_lettered + ' dead-lettered';
  $('#transitions').innerHTML = s.transitions.length === 0 ? '<li>none yet</li>' : s.transitions.map((t) =>
    '<li>' + esc(new Date(t.at).toLocaleTimeString()) + ' <b>' + esc(t.name) + '</b> ' + esc(t.from) + ' → ' + esc(t.to) + ' (' + esc(t.reason) + ')</li>').join('');
  chart(s.samples);
  timeline(s.timeline);
}
const ms = (v) => { const n = Number(v); return (n >= 10 ? n.toFixed(0) : n.toFixed(1)) + ' ms'; };
function latencyCells(l) {
  if (l == null) return '<td class="p50">—</td><td class="p99">—</td>';
  const title = ' title="' + Number(l.calls) + ' recent calls"';
  return '<td class="p50"' + title + '>' + ms(l.p50_ms) + '</td><td class="p99"' + title + '>' + ms(l.p99_ms) + '</td>';
}
const STATE_COLORS = { closed: '#10b981', open: '#dc2626', half_open: '#f59e0b', forced_open: '#7f1d1d', disabled: '#9ca3af' };
function timeline(t) {
  const svg = $('#timeline');
  if (!t) return;
  const left = 230, right = 1050, rowH = 20, top = 4, rows = t.rows || [];
  const h = top + rows.length * rowH + 30;
  svg.setAttribute('height', h); svg.setAttribute('viewBox', '0 0 1060 ' + h);
  // The axis spans the window, or less while the agent is younger than that (nothing to draw before it
  // saw its first breaker), but at least 10 s.
  const known = rows.map((r) => Number(r.known_from)).filter(Number.isFinite);
  const start = Math.max(t.now - t.window_ms, Math.min(t.now - 10000, ...known)), span = t.now - start;
  const x = (at) => left + ((Math.max(start, Math.min(t.now, at)) - start) / span) * (right - left);
  const clock = (at) => new Date(at).toLocaleTimeString();
  let out = '';
  rows.forEach((r, i) => {
    const y = top + i * rowH, name = String(r.name);
    out += '<text x="4" y="' + (y + 13) + '" font-size="11" fill="#1d2330">' + esc(name.length > 36 ? name.slice(0, 35) + '…' : name) + '<title>' + esc(name) + '</title></text>';
    if (r.known_from > start) out += '<rect class="unknown" x="' + left + '" y="' + y + '" width="' + (x(r.known_from) - left).toFixed(1) + '" height="' + (rowH - 4) + '" fill="#d1d5db"/>';
    for (const s of r.segments) {
      const x0 = x(s.from), x1 = x(s.to === null ? t.now : s.to);
      const color = Object.hasOwn(STATE_COLORS, s.state) ? STATE_COLORS[s.state] : '#6b7280';
      out += '<rect data-breaker="' + esc(name) + '" data-state="' + esc(s.state) + '" x="' + x0.toFixed(1) + '" y="' + y + '" width="' + Math.max(1, x1 - x0).toFixed(1) + '" height="' + (rowH - 4) + '" fill="' + color + '"><title>' +
        esc(name + ': ' + s.state + ' from ' + clock(s.from) + (s.to === null ? ' (now)' : ' to ' + clock(s.to))) + '</title></rect>';
    }
  });
  // The time axis: a tick every fifth of the span, labelled with how long ago and the wall time.
  const axisY = top + rows.length * rowH + 2;
  out += '<g class="axis"><line x1="' + left + '" x2="' + right + '" y1="' + axisY + '" y2="' + axisY + '" stroke="#9ca3af"/>';
  for (let k = 0; k <= 5; k++) {
    const at = start + (k * span) / 5, ago = Math.round((t.now - at) / 1000);
    const label = k === 5 ? 'now ' + clock(at) : '−' + (ago < 60 ? ago + ' s' : (ago / 60).toFixed(ago % 60 === 0 ? 0 : 1) + ' min') + ' ' + clock(at);
    const anchor = k === 0 ? 'start' : k === 5 ? 'end' : 'middle';
    out += '<line x1="' + x(at).toFixed(1) + '" x2="' + x(at).toFixed(1) + '" y1="' + axisY + '" y2="' + (axisY + 5) + '" stroke="#9ca3af"/><text x="' + x(at).toFixed(1) + '" y="' + (axisY + 17) + '" font-size="10" fill="#6b7280" text-anchor="' + anchor + '">' + esc(label) + '</text>';
  }
  out += '</g>';
  svg.innerHTML = out;
  $('#timeline-note').textContent = t.hidden > 0 ? '· ' + Number(t.hidden) + ' more breakers not drawn (the timeline follows the first ' + Number(t.max_rows) + '; a retired breaker frees its row)' : '';
}
function chart(samples) {
  const w = 1060, h = 150, n = 120, max = Math.max(1, ...samples.map((p) => Math.max(p.calls, p.failures, p.rejections)));
  const line = (key, color) => {
    const pts = samples.map((p, i) => ((n - samples.length + i) * (w / (n - 1))).toFixed(1) + ',' + (h - 4 - (p[key] / max) * (h - 20)).toFixed(1)).join(' ');
    return '<polyline fill="none" stroke="' + color + '" stroke-width="2" points="' + pts + '"/>';
  };
  $('#chart').innerHTML = '<text x="4" y="12" font-size="10" fill="#6b7280">' + max + '/s</text>' + line('calls', '#2563eb') + line('failures', '#dc2626') + line('rejections', '#d97706');
}
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-chaos]'); if (!b) return;
  // A same-origin JSON request: what the agent asks of the chaos controls without the admin token.
  const r = await fetch('/chaos/' + encodeURIComponent(b.dataset.chaos) + '/' + b.dataset.action, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  $('#log').textContent = 'chaos ' + b.dataset.chaos + ' ' + b.dataset.action + ': ' + r.status;
});
$('#relay').addEventListener('submit', async (e) => {
  e.preventDefault();
  const t0 = performance.now();
  const r = await fetch('/relay', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: $('#to').value, text: $('#text').value }) });
  const body = await r.json();
  $('#log').textContent = r.status + ' in ' + (performance.now() - t0).toFixed(1) + ' ms\\n' + JSON.stringify(body, null, 2);
});
$('#reset').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('/admin/reset', { method: 'POST', headers: { authorization: 'Bearer ' + $('#token').value } });
  $('#reset-result').textContent = r.status === 200 ? 'all breakers closed' : 'refused (' + r.status + ')';
});
const source = new EventSource('/events');
source.onmessage = (e) => render(JSON.parse(e.data));
let polling;
source.onerror = () => {
  $('#status').textContent = 'disconnected, retrying…'; $('#status').className = 'muted';
  // Refused (every stream place taken, possibly by somebody else): EventSource gives up for good, so
  // the page asks for snapshots itself, every 2 s.
  if (source.readyState === EventSource.CLOSED && polling === undefined) {
    const poll = async () => { try { const r = await fetch('/api/state'); if (r.ok) render(await r.json()); } catch {} };
    polling = setInterval(poll, 2000); poll();
  }
};
</script>
</body>
</html>
`;
