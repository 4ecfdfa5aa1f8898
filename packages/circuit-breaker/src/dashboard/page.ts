/**
 * The dashboard page: one self-contained HTML document (no build step, no
 * CDN, nothing fetched but its own event stream). Sparklines are drawn as
 * SVG polylines by hand. Breaker names and reasons are set as text, never
 * as markup. Its script and style carry `nonce`, matched by the page's
 * Content-Security-Policy.
 */
export function dashboardPage(title: string, nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(title)}</h1>
  <span id="summary"></span>
  <label>Sort by
    <select id="sort">
      <option value="health">health</option>
      <option value="errors">error rate</option>
      <option value="volume">volume</option>
      <option value="name">name</option>
    </select>
  </label>
  <span id="status" class="connecting">connecting…</span>
</header>
<main id="tiles"></main>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    c =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[
        c
      ]!
  );
}

const STYLE = `
:root { font: 13px/1.35 system-ui, sans-serif; color: #1d232a; background: #eef1f4; }
body { margin: 0; }
header { display: flex; gap: 16px; align-items: center; padding: 8px 14px; background: #1d232a; color: #fff; }
header h1 { font-size: 15px; margin: 0; font-weight: 600; }
header label { margin-left: auto; }
#status { padding: 2px 8px; border-radius: 9px; font-size: 12px; }
#status.live { background: #2e7d32; }
#status.connecting, #status.reconnecting { background: #b26a00; }
#summary span { margin-right: 10px; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 6px; padding: 8px; }
.tile { background: #fff; border-radius: 6px; border-left: 6px solid #9aa5b1; padding: 5px 8px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.tile.healthy { border-left-color: #2e7d32; }
.tile.degraded { border-left-color: #e09b00; background: #fffaf0; }
.tile.unhealthy { border-left-color: #c62828; background: #fff4f4; }
.tile.unknown { border-left-color: #9aa5b1; }
.top { display: flex; justify-content: space-between; gap: 6px; align-items: baseline; }
.name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.attributes { color: #66717d; font-size: 11px; min-height: 15px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.state { font-size: 11px; font-weight: 600; padding: 1px 6px; border-radius: 8px; background: #e3f2e5; color: #1b5e20; text-transform: uppercase; }
.state.open { background: #c62828; color: #fff; }
.state.half_open { background: #e09b00; color: #fff; }
.state.isolated, .state.disabled { background: #546e7a; color: #fff; }
.health { float: right; font-size: 11px; color: #66717d; margin-left: 6px; }
.numbers { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 0 6px; margin-top: 4px; font-variant-numeric: tabular-nums; }
.numbers b { font-size: 10px; color: #66717d; font-weight: 500; display: block; white-space: nowrap; }
.reasons { font-size: 11px; color: #8a1c1c; min-height: 14px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.chips { min-height: 15px; }
.chips span { display: inline-block; font-size: 10px; padding: 0 5px; margin: 2px 3px 0 0; border-radius: 7px; background: #fde7e7; color: #8a1c1c; }
.chips span.pattern { background: #fff0d6; color: #7a4d00; }
.examples { font-size: 11px; color: #66717d; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.examples:empty { display: none; }
.examples a, .examples code { margin-right: 6px; font-family: ui-monospace, monospace; }
svg { display: block; width: 100%; height: 22px; margin-top: 2px; }
svg .line-calls { fill: none; stroke: #5472d3; stroke-width: 1.2; }
svg .line-p99 { fill: none; stroke: #c62828; stroke-width: 1.2; }
.foot { display: flex; justify-content: space-between; font-size: 11px; color: #66717d; }
`;

const SCRIPT = `
(function () {
'use strict';
// The stream is 'events' below the page's own path, as a relative URL:
// location.pathname itself is no URL to give EventSource (served at
// '//evil.example/', it would name another host).
var page = location.pathname;
var eventsUrl = page.endsWith('/') ? './events' : './' + page.slice(page.lastIndexOf('/') + 1) + '/events';
var tiles = new Map();
var history = new Map();
var latest = [];
var HEALTH_ORDER = { unhealthy: 0, degraded: 1, unknown: 2, healthy: 3 };
var main = document.getElementById('tiles');
var statusEl = document.getElementById('status');
var sortEl = document.getElementById('sort');
sortEl.addEventListener('change', function () { render(latest); });

function el(tag, className, text) {
  var e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmt(value, digits) {
  if (value === null || value === undefined) return '—';
  return value >= 100 ? value.toFixed(0) : value.toFixed(digits);
}
function percent(value) {
  return value === null ? '—' : (value * 100).toFixed(1) + '%';
}
function attributesText(attributes) {
  return Object.keys(attributes).map(function (k) { return k + '=' + attributes[k]; }).join(' ');
}
function tileFor(id) {
  var t = tiles.get(id);
  if (t) return t;
  var root = el('section', 'tile unknown');
  root.dataset.id = id;
  var top = el('div', 'top');
  var name = el('div', 'name');
  var state = el('span', 'state');
  top.append(name, state);
  var attributes = el('div', 'attributes');
  var health = el('div', 'health');
  var reasons = el('div', 'reasons');
  var numbers = el('div', 'numbers');
  var cells = {};
  [['calls', 'calls/s'], ['failure-rate', 'errors'], ['p50', 'p50 ms'], ['p90', 'p90 ms'], ['p99', 'p99 ms']].forEach(function (pair) {
    var cell = el('div');
    cell.append(el('b', '', pair[1]));
    var v = el('span', pair[0]);
    cell.append(v);
    numbers.append(cell);
    cells[pair[0]] = v;
  });
  var svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 100 30');
  svg.setAttribute('preserveAspectRatio', 'none');
  var callsLine = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  callsLine.setAttribute('class', 'line-calls');
  var p99Line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  p99Line.setAttribute('class', 'line-p99');
  svg.append(callsLine, p99Line);
  var chips = el('div', 'chips');
  var examples = el('div', 'examples');
  var foot = el('div', 'foot');
  var trips = el('span', 'trips');
  var rate = el('span', 'trips-per-hour');
  foot.append(trips, rate);
  root.append(top, health, attributes, reasons, numbers, svg, chips, examples, foot);
  t = { root: root, name: name, state: state, attributes: attributes, health: health, reasons: reasons,
        cells: cells, callsLine: callsLine, p99Line: p99Line, chips: chips, examples: examples, trips: trips, rate: rate };
  tiles.set(id, t);
  return t;
}
function line(points, index) {
  var values = points.map(function (p) { return p[index]; }).filter(function (v) { return v !== null; });
  var max = Math.max.apply(null, values.concat([1e-9]));
  var n = points.length;
  return points.map(function (p, i) {
    var v = p[index] === null ? 0 : p[index];
    var x = n > 1 ? (i / (n - 1)) * 100 : 100;
    return x.toFixed(1) + ',' + (29 - (v / max) * 27).toFixed(1);
  }).join(' ');
}
function update(b) {
  var t = tileFor(b.id);
  t.root.className = 'tile ' + b.health;
  t.root.dataset.state = b.state;
  t.root.dataset.health = b.health;
  t.name.textContent = b.name;
  t.name.title = b.name;
  t.attributes.textContent = attributesText(b.attributes);
  t.state.textContent = b.state.replace('_', ' ');
  t.state.className = 'state ' + b.state;
  t.health.textContent = b.health;
  t.reasons.textContent = b.reasons.join('; ');
  t.reasons.title = b.reasons.join('\\n');
  t.cells['calls'].textContent = fmt(b.callsPerSecond, 1);
  t.cells['failure-rate'].textContent = percent(b.failureRate);
  t.cells['p50'].textContent = fmt(b.p50, 1);
  t.cells['p90'].textContent = fmt(b.p90, 1);
  t.cells['p99'].textContent = fmt(b.p99, 1);
  t.trips.textContent = b.trips + (b.trips === 1 ? ' trip' : ' trips');
  t.rate.textContent = b.tripsPerHour + '/h';
  t.chips.replaceChildren();
  b.anomalies.forEach(function (a) { t.chips.append(el('span', 'anomaly', a.kind + ' ' + (a.direction === 'up' ? '▲' : '▼'))); });
  b.patterns.forEach(function (p) { t.chips.append(el('span', 'pattern', p)); });
  t.examples.replaceChildren();
  var listed = new Set();
  b.anomalies.forEach(function (a) {
    a.examples.forEach(function (x) {
      if (listed.has(x.traceId)) return;
      listed.add(x.traceId);
      if (listed.size === 1) t.examples.append(el('span', '', 'traces: '));
      // Set as an attribute and text, never as markup; the server checked the URL is http(s).
      var link = x.url === null ? el('code') : el('a');
      if (x.url !== null) { link.href = x.url; link.target = '_blank'; link.rel = 'noopener noreferrer'; }
      link.textContent = x.traceId.slice(0, 8);
      link.title = a.kind + ': trace ' + x.traceId;
      link.dataset.traceId = x.traceId;
      t.examples.append(link);
    });
  });
  var points = history.get(b.id) || [];
  t.callsLine.setAttribute('points', line(points, 1));
  t.p99Line.setAttribute('points', line(points, 2));
}
function compare(a, b) {
  var by = sortEl.value;
  if (by === 'errors') return (b.failureRate || 0) - (a.failureRate || 0) || a.name.localeCompare(b.name);
  if (by === 'volume') return b.callsPerSecond - a.callsPerSecond || a.name.localeCompare(b.name);
  if (by === 'name') return a.name.localeCompare(b.name);
  return HEALTH_ORDER[a.health] - HEALTH_ORDER[b.health] || a.name.localeCompare(b.name);
}
function render(breakers) {
  latest = breakers;
  var seen = new Set();
  breakers.slice().sort(compare).forEach(function (b) {
    seen.add(b.id);
    update(b);
    main.append(tiles.get(b.id).root);
  });
  tiles.forEach(function (t, id) {
    if (!seen.has(id)) { t.root.remove(); tiles.delete(id); history.delete(id); }
  });
  var counts = { healthy: 0, degraded: 0, unhealthy: 0, unknown: 0 };
  breakers.forEach(function (b) { counts[b.health]++; });
  var summary = document.getElementById('summary');
  summary.replaceChildren();
  Object.keys(counts).forEach(function (k) { summary.append(el('span', '', counts[k] + ' ' + k)); });
}
var capacity = 300;
function connect() {
  var source = new EventSource(eventsUrl);
  source.addEventListener('open', function () {
    statusEl.textContent = 'live';
    statusEl.className = 'live';
  });
  source.addEventListener('error', function () {
    statusEl.textContent = 'reconnecting…';
    statusEl.className = 'reconnecting';
  });
  source.addEventListener('history', function (e) {
    var data = JSON.parse(e.data);
    history = new Map(Object.entries(data.points));
    capacity = data.historyPoints;
  });
  source.addEventListener('frame', function (e) {
    var frame = JSON.parse(e.data);
    frame.breakers.forEach(function (b) {
      var points = history.get(b.id) || [];
      points.push([frame.t, b.callsPerSecond, b.p99]);
      if (points.length > capacity) points.shift();
      history.set(b.id, points);
    });
    render(frame.breakers);
  });
}
connect();
})();
`;
