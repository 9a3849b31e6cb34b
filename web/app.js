// sitegate: the installer's page. Plain ES2020, one module, no framework and
// no build step: this file is served as it is. The API is docs/web.md.
//
// Rule: every text that comes from the server (charger ids are chosen by
// whoever connects) goes into the page through textContent and DOM calls,
// never through innerHTML. The page's Content-Security-Policy forbids inline
// script and style attributes in markup; widths of bars are set through
// the CSSOM (el.style.width), which it allows.


// ------------------------------------------------------------ helpers

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'open', 'readOnly']);

// An element: h('p', { class: 'x', onclick: fn }, 'text', child, [more]).
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

const SVGNS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  append(el, kids);
  return el;
}

function replaceKids(el, ...kids) {
  el.replaceChildren();
  append(el, kids);
}

const num = (x, d = 1) => (typeof x === 'number' && Number.isFinite(x)
  ? String(Math.round(x * 10 ** d) / 10 ** d) : '–');
const amps = (x) => `${num(x)} A`;
const triple = (a, d = 1) => (Array.isArray(a) ? a.map((x) => num(x, d)).join(' / ') : '–');
const PH = ['L1', 'L2', 'L3'];

function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

function fmtAge(s) {
  if (typeof s !== 'number' || !Number.isFinite(s)) return '–';
  s = Math.max(0, Math.round(s));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function fmtDuration(ms) {
  const m = Math.max(0, Math.floor(ms / 60000));
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

// ------------------------------------------------------------ state

const S = {
  csrf: null,          // the session's CSRF token, kept in memory only
  inApp: false,
  state: null,         // GET /api/state, kept current by the event stream
  stateAt: 0,          // when S.state.status arrived (ages count from here)
  es: null,
  esTimer: null,
  esRetry: 0,
  pollTimer: null,
  view: 'overview',
  config: null,        // GET /api/config's answer
  draft: null,         // the configuration being edited
  dirty: false,
  trend: [],           // { t (ms), limit_a, allocated_a, measured_a, live }
};

// ------------------------------------------------------------ the API

// One request. Changes carry the CSRF token; the browser adds Origin.
async function api(method, url, { body, headers = {} } = {}) {
  const init = { method, credentials: 'same-origin', cache: 'no-store',
    headers: { Accept: 'application/json', ...headers } };
  if (method !== 'GET' && S.csrf) init.headers['X-CSRF-Token'] = S.csrf;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(url, init);
  } catch {
    return { status: 0, ok: false, data: { error: 'the gateway cannot be reached' }, headers: new Headers() };
  }
  let data = null;
  if ((r.headers.get('Content-Type') || '').includes('json')) {
    try { data = await r.json(); } catch { data = null; }
  }
  const res = { status: r.status, ok: r.ok, data: data || {}, headers: r.headers };
  if (r.status === 401 && url !== '/api/login' && url !== '/api/setup') sessionEnded();
  return res;
}

function errorText(r) {
  if (r.status === 429) return `Too many attempts: try again in ${r.headers.get('Retry-After') || 'a few'} s.`;
  if (r.data && typeof r.data.error === 'string') return r.data.error;
  return r.status ? `the gateway answered ${r.status}` : 'the gateway cannot be reached';
}

// ------------------------------------------------------------ login

async function start() {
  wire();
  const r = await api('GET', '/api/session');
  $('#loading').hidden = true;
  if (r.ok && r.data.authenticated) {
    S.csrf = r.data.csrf || null;
    enterApp();
  } else if (r.ok) {
    showLogin(!!r.data.setup_needed);
  } else {
    $('#loading').hidden = false;
    $('#loading').textContent = `Cannot reach the gateway (${errorText(r)}); trying again…`;
    setTimeout(start, 3000);
  }
}

function showLogin(setup, note = '') {
  stopLive();
  S.inApp = false;
  S.csrf = null;
  S.state = null;
  $('#tabs').hidden = true;
  $('#logout').hidden = true;
  setBanner(false);
  for (const v of $$('.view')) v.hidden = v.id !== 'view-login';
  $('#login-title').textContent = setup ? 'First run: set the installer password' : 'Log in';
  $('#setup-form').hidden = !setup;
  $('#login-form').hidden = setup;
  $('#login-note').textContent = note;
  $('#setup-error').textContent = '';
  $('#login-error').textContent = '';
  (setup ? $('#setup-code') : $('#login-password')).focus();
}

let ending = false;
async function sessionEnded() {
  if (!S.inApp || ending) return;
  ending = true;
  stopLive();
  const r = await api('GET', '/api/session');
  ending = false;
  showLogin(!!r.data.setup_needed, 'Your session has ended: log in again.');
}

async function onSetup(ev) {
  ev.preventDefault();
  const err = $('#setup-error');
  const code = $('#setup-code').value.trim();
  const pw = $('#setup-password').value;
  err.textContent = '';
  if (!code) return void (err.textContent = 'Enter the setup code from the gateway\'s log.');
  if (pw.length < 10 || pw.length > 128) return void (err.textContent = 'The password needs 10 to 128 characters.');
  if (pw !== $('#setup-confirm').value) return void (err.textContent = 'The two passwords differ.');
  const r = await api('POST', '/api/setup', { body: { code, password: pw } });
  if (r.ok) {
    $('#setup-form').reset();
    S.csrf = r.data.csrf || null;
    enterApp();
  } else if (r.status === 403) {
    err.textContent = 'Wrong setup code: copy it from the gateway\'s log (it changes at every start).';
  } else if (r.status === 409) {
    showLogin(false, 'A password is already set: log in with it.');
  } else {
    err.textContent = errorText(r);
  }
}

async function onLogin(ev) {
  ev.preventDefault();
  const err = $('#login-error');
  err.textContent = '';
  const pw = $('#login-password').value;
  if (!pw) return void (err.textContent = 'Enter the password.');
  const r = await api('POST', '/api/login', { body: { password: pw } });
  if (r.ok) {
    $('#login-form').reset();
    S.csrf = r.data.csrf || null;
    enterApp();
  } else if (r.status === 401) {
    err.textContent = 'Wrong password.';
  } else if (r.status === 503) {
    err.textContent = 'The gateway is busy checking passwords: try again in a moment.';
  } else {
    err.textContent = errorText(r);
  }
  if (!r.ok) $('#login-password').select();
}

async function onLogout() {
  await api('POST', '/api/logout', { body: {} });
  S.config = null;
  S.draft = null;
  showLogin(false, 'Logged out.');
}

// ------------------------------------------------------------ the app

function enterApp() {
  S.inApp = true;
  $('#loading').hidden = true;
  $('#tabs').hidden = false;
  $('#logout').hidden = false;
  showView(viewFromHash());
  loadState();
  loadTrend();
  loadConfig(false);
  connectEvents();
}

const VIEWS = ['overview', 'evses', 'pending', 'settings', 'history', 'diagnostics'];
const viewFromHash = () => {
  const v = location.hash.slice(1);
  return VIEWS.includes(v) ? v : 'overview';
};

function showView(v) {
  if (!S.inApp) return;
  S.view = v;
  for (const s of $$('.view')) s.hidden = s.id !== `view-${v}`;
  for (const b of $$('#tabs button')) {
    if (b.dataset.view === v) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  if (v === 'settings' && !S.draft) loadConfig(true);
  else if (v === 'settings' && S.formStale) buildForm();
  if (v === 'history') loadHistory();
  if (v === 'diagnostics') loadLog();
  if (v === 'overview') drawChart();
}

async function loadState() {
  const r = await api('GET', '/api/state');
  if (r.ok) {
    setState(r.data);
    livePoint(r.data.status);
  } else if (r.status === 503) {
    setTimeout(loadState, 1000 * (Number(r.headers.get('Retry-After')) || 1));
  }
}

function setState(doc) {
  S.state = { status: doc.status || {}, circuits: doc.circuits || [], evses: doc.evses || [],
    pending: doc.pending || [], charger_url: doc.charger_url || '' };
  S.stateAt = Date.now();
  render();
}

// An event of the stream: full replaces, partial merges EVSEs by number.
function applyEvent(d) {
  if (d.full || !S.state) {
    setState(d);
  } else {
    const st = S.state;
    if (d.status) st.status = d.status;
    if (d.circuits) st.circuits = d.circuits;
    if (d.pending) st.pending = d.pending;
    if (typeof d.charger_url === 'string') st.charger_url = d.charger_url;
    for (const e of d.evses || []) {
      const i = st.evses.findIndex((x) => x.evse === e.evse);
      if (i >= 0) st.evses[i] = e; else st.evses.push(e);
    }
    st.evses.sort((a, b) => a.evse - b.evse);
    S.stateAt = Date.now();
    render();
  }
  livePoint(S.state.status);
}

// ------------------------------------------------------------ live updates

function connectEvents() {
  stopLive();
  const es = new EventSource('/api/events');
  S.es = es;
  es.addEventListener('state', (ev) => {
    if (S.es !== es) return;
    let d;
    try { d = JSON.parse(ev.data); } catch { return; }
    S.esRetry = 0;
    stopPolling();
    setBanner(false);
    applyEvent(d);
  });
  es.addEventListener('error', () => {
    if (S.es !== es) return;
    setBanner(true);
    // EventSource reconnects by itself after a lost connection, but gives
    // up on an answer that is not a stream (401, 503, 404): find out why.
    if (es.readyState === EventSource.CLOSED) streamClosed(es);
  });
}

async function streamClosed(es) {
  es.close();
  S.es = null;
  const r = await api('GET', '/api/state');     // a 401 ends the session here
  if (r.status === 401 || !S.inApp) return;
  if (r.ok) setState(r.data);
  if (!S.pollTimer) S.pollTimer = setInterval(pollState, 5000);
  const delay = Math.min(30000, 2000 * 2 ** Math.min(S.esRetry++, 4));
  S.esTimer = setTimeout(() => { S.esTimer = null; if (S.inApp) connectEvents(); }, delay);
}

async function pollState() {
  const r = await api('GET', '/api/state');
  if (r.ok && S.inApp) { setState(r.data); livePoint(r.data.status); }
}

function stopPolling() {
  if (S.pollTimer) clearInterval(S.pollTimer);
  S.pollTimer = null;
}

function stopLive() {
  if (S.es) S.es.close();
  S.es = null;
  if (S.esTimer) clearTimeout(S.esTimer);
  S.esTimer = null;
  stopPolling();
}

function setBanner(on) { $('#banner').hidden = !on; }

// ------------------------------------------------------------ rendering

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    if (!S.state) return;
    renderOverview();
    renderEvses();
    renderPending();
  });
}

const SOURCE_WORDS = { fuse: '■ fuse', ems: '◆ EMS', failsafe: '⚠ failsafe', upstream: '↑ upstream' };
const EMS_REASONS = { startup: 'no limit received since the start', limit: 'a valid limit',
  ttl_expired: 'the limit\'s ttl ran out', limit_timeout: 'no limit for too long',
  broker_unreachable: 'the broker cannot be reached' };

function renderOverview() {
  const st = S.state.status || {};
  const lim = st.limit || {};
  const rows = PH.map((p, i) => {
    const l = lim.current_a ? lim.current_a[i] : undefined;
    const src = lim.source ? lim.source[i] : '';
    const meas = st.measured_a ? st.measured_a[i] : undefined;
    const at = typeof l === 'number' && typeof meas === 'number' && meas >= l;
    return h('tr', { class: at ? 'at-limit' : null },
      h('th', { scope: 'row' }, p),
      h('td', { id: `limit-${p}`, class: 'num' }, amps(l)),
      h('td', { id: `source-${p}`, class: `src src-${src}` }, SOURCE_WORDS[src] || src || '–'),
      h('td', { class: 'num' }, amps(st.allocated_a ? st.allocated_a[i] : undefined)),
      h('td', { id: `measured-${p}`, class: 'num' }, amps(meas), at ? h('span', { class: 'warn-text' }, ' ⚠ at limit') : null));
  });
  replaceKids($('#limit-rows'), rows);

  const ems = st.ems;
  const line = $('#ems-line');
  if (!ems) {
    replaceKids(line, 'No EMS link configured (no mqtt section).');
  } else {
    const age = typeof ems.age_s === 'number' ? ems.age_s + (Date.now() - S.stateAt) / 1000 : null;
    replaceKids(line,
      h('strong', null, 'EMS limit: '), `${triple(ems.limit_a)} A`,
      ems.source === 'failsafe' ? h('span', { class: 'warn-text' }, ' ⚠ failsafe') : ' (from the EMS)',
      ' — ', EMS_REASONS[ems.reason] || ems.reason || '',
      age !== null ? `, received ${fmtAge(age)} ago` : '',
      '. Broker ', ems.connected ? '✓ connected' : '✗ not connected', '.',
      ems.last_error ? h('span', { class: 'muted' }, ` Last error: ${ems.last_error}`) : null);
  }

  const up = st.uplink || {};
  const kv = [
    ['Gateway', st.online === false ? '✗ offline' : '✓ online'],
    ['Chargers', `${num(st.chargers?.connected, 0)} of ${num(st.chargers?.configured, 0)} connected`],
    ['EVSEs', `${num(st.evses?.charging, 0)} charging of ${num(st.evses?.total, 0)}` +
      (st.evses?.uncontrollable ? `, ⚠ ${st.evses.uncontrollable} uncontrollable` : '')],
    ['Profiles', `${num(st.profiles?.sent, 0)} sent, ${num(st.profiles?.accepted, 0)} accepted, ` +
      `${num(st.profiles?.failed, 0)} failed`],
    ['Uplink', (up.state || '–') + (up.state && up.state !== 'disabled'
      ? (up.connected ? ' (✓ connected)' : ' (✗ not connected)') : '')],
  ];
  if (typeof up.outbox_depth === 'number') {
    kv.push(['Outbox', `${up.outbox_depth} message${up.outbox_depth === 1 ? '' : 's'} waiting` +
      (up.outbox_depth ? `, oldest ${fmtAge(up.outbox_oldest_age_s)}` : '')]);
  }
  replaceKids($('#summary'), kv.map(([k, v]) => [h('dt', null, k), h('dd', { id: `sum-${k.toLowerCase()}` }, v)]));
  renderCircuits();
  drawChart();
}

function renderCircuits() {
  const list = S.state.circuits || [];
  const kids = new Map();
  for (const c of list) {
    const p = c.parent ?? null;
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(c);
  }
  const ids = new Set(list.map((c) => c.id));
  const roots = list.filter((c) => c.parent == null || !ids.has(c.parent));
  const seen = new Set();
  const item = (c) => {
    if (seen.has(c.id)) return null;
    seen.add(c.id);
    const sub = (kids.get(c.id) || []).map(item).filter(Boolean);
    return h('li', null, circuitBox(c), sub.length ? h('ul', { class: 'tree' }, sub) : null);
  };
  replaceKids($('#circuits'), roots.length ? roots.map(item) : h('li', { class: 'muted' }, 'No circuit in the state.'));
}

function circuitBox(c) {
  const max = c.max_a || [];
  let worst = '';
  const rows = PH.map((p, i) => {
    const m = max[i];
    const a = c.allocated_a ? c.allocated_a[i] : 0;
    const me = c.measured_a ? c.measured_a[i] : 0;
    const top = Math.max(m || 0, a || 0, me || 0) || 1;
    const state = m > 0 && (me > m || a > m) ? 'over' : m > 0 && (me >= m || a >= m) ? 'at' : '';
    if (state === 'over' || (state === 'at' && !worst)) worst = state;
    const alloc = h('div', { class: 'fill alloc' });
    const meas = h('div', { class: 'fill meas' });
    alloc.style.width = `${Math.min(100, (100 * (a || 0)) / top)}%`;
    meas.style.width = `${Math.min(100, (100 * (me || 0)) / top)}%`;
    const bar = h('div', { class: 'bar', role: 'presentation' }, alloc, meas);
    return h('div', { class: `phase-row ${state ? 'at-limit' : ''}` },
      h('span', { class: 'ph' }, p),
      bar,
      h('span', { class: 'nums' }, `${num(me)} meas. / ${num(a)} alloc. of ${num(m)} A`,
        state ? h('span', { class: 'warn-text' }, state === 'over' ? ' ⚠ over the fuse' : ' ⚠ at the fuse') : null));
  });
  return h('div', { class: `circuit ${worst ? 'at-limit' : ''}`, dataset: { circuit: c.id } },
    h('div', { class: 'circuit-head' }, h('strong', null, c.id), ` fuse ${triple(max, 0)} A`),
    rows);
}

// ------------------------------------------------------------ the chart

async function loadTrend() {
  const r = await api('GET', '/api/trend');
  if (!r.ok || !Array.isArray(r.data.points)) return;
  const live = S.trend.filter((p) => p.live);
  S.trend = r.data.points.map((p) => ({ t: Date.parse(p.time), limit_a: p.limit_a,
    allocated_a: p.allocated_a, measured_a: p.measured_a })).filter((p) => !Number.isNaN(p.t));
  const last = S.trend.length ? S.trend[S.trend.length - 1].t : 0;
  S.trend.push(...live.filter((p) => p.t > last));
  drawChart();
}

// The live data: a point at most every 10 s (the last one moves until then).
function livePoint(st) {
  if (!st || !st.measured_a) return;
  const now = Date.now();
  const p = { t: now, limit_a: st.limit?.current_a, allocated_a: st.allocated_a, measured_a: st.measured_a, live: true };
  const last = S.trend[S.trend.length - 1];
  if (last && last.live && now - last.prev < 10000) S.trend[S.trend.length - 1] = { ...p, prev: last.prev };
  else S.trend.push({ ...p, prev: now });
  while (S.trend.length && S.trend[0].t < now - 3600e3) S.trend.shift();
  drawChart();
}

const LINE = [{ color: '#1f5fbf', dash: null }, { color: '#b35900', dash: '7 4' }, { color: '#2a7d2a', dash: '2 3' }];

let chartQueued = false;
function drawChart() {
  if (chartQueued || S.view !== 'overview') return;
  chartQueued = true;
  requestAnimationFrame(() => { chartQueued = false; drawChartNow(); });
}

function drawChartNow() {
  const W = Math.max(300, Math.min(1000, Math.round($('#chart').clientWidth || 640)));
  const H = W < 500 ? 200 : 240, L = 40, R = 10, T = 10, B = 26;
  const now = Date.now();
  const pts = S.trend.filter((p) => p.t >= now - 3600e3);
  let top = 1;
  for (const p of pts) for (const k of ['limit_a', 'measured_a']) for (const v of p[k] || []) if (v > top) top = v;
  top = niceTop(top * 1.05);
  const x = (t) => L + ((t - (now - 3600e3)) / 3600e3) * (W - L - R);
  const y = (v) => T + (1 - Math.min(v, top) / top) * (H - T - B);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-title chart-desc',
    class: 'chart-svg' });
  g.append(svg('title', { id: 'chart-title' }, 'Site current per phase over the last hour, against the limit'));
  const lastP = pts[pts.length - 1];
  g.append(svg('desc', { id: 'chart-desc' }, lastP
    ? `Now: ${PH.map((p, i) => `${p} ${num(lastP.measured_a?.[i])} A of ${num(lastP.limit_a?.[i])} A`).join(', ')}.`
    : 'No data yet.'));
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    g.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    g.append(svg('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, num(v, top < 10 ? 1 : 0)));
  }
  for (let m = 60; m >= 0; m -= 15) {
    g.append(svg('text', { x: x(now - m * 60e3), y: H - 8, 'text-anchor': 'middle', class: 'axis' },
      m ? (W < 500 ? `−${m}′` : `−${m} min`) : 'now'));
  }
  if (pts.length) {
    for (let i = 0; i < 3; i++) {
      // The limit as steps, each phase's pattern; the measured current over it.
      let d = '';
      pts.forEach((p, j) => {
        const v = p.limit_a?.[i];
        if (typeof v !== 'number') return;
        d += j && d ? `H${x(p.t).toFixed(1)}V${y(v).toFixed(1)}` : `M${x(p.t).toFixed(1)} ${y(v).toFixed(1)}`;
      });
      if (d) g.append(svg('path', { d: `${d}H${x(now).toFixed(1)}`, class: 'limit', stroke: LINE[i].color,
        'stroke-dasharray': LINE[i].dash || undefined }));
      const m = pts.filter((p) => typeof p.measured_a?.[i] === 'number')
        .map((p) => `${x(p.t).toFixed(1)},${y(p.measured_a[i]).toFixed(1)}`).join(' ');
      if (m) g.append(svg('polyline', { points: m, class: 'meas', stroke: LINE[i].color,
        'stroke-dasharray': LINE[i].dash || undefined }));
    }
  } else {
    g.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis' }, 'No data yet'));
  }
  replaceKids($('#chart'), g);
  if (!$('#chart-legend').childElementCount) {
    replaceKids($('#chart-legend'), PH.map((p, i) => h('li', null,
      h('span', { class: `swatch sw${i}`, 'aria-hidden': 'true' }), `${p} measured (thick), limit (thin)`)),
    h('li', { class: 'muted' }, 'Amperes per phase; L1 solid, L2 dashed, L3 dotted.'));
  }
}

function niceTop(v) {
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}

// ------------------------------------------------------------ keyed lists

// Keeps one element per key in container, in order: made once by create
// (so a form being typed in survives updates), refreshed by its update.
function syncList(container, items, key, create) {
  const old = new Map($$(':scope > [data-key]', container).map((el) => [el.dataset.key, el]));
  let prev = null;
  for (const it of items) {
    const k = String(key(it));
    let el = old.get(k);
    if (el) old.delete(k); else { el = create(it); el.dataset.key = k; }
    el.update(it);
    const want = prev ? prev.nextSibling : container.firstChild;
    if (want !== el) container.insertBefore(el, want);
    prev = el;
  }
  for (const el of old.values()) el.remove();
}

// ------------------------------------------------------------ EVSE cards

const STATUS_WORDS = { charging: '⚡ charging', available: '○ available', occupied: '◐ occupied',
  preparing: '◐ preparing', suspended_ev: '⏸ suspended by the EV', suspended_evse: '⏸ paused by the charger',
  finishing: '◑ finishing', reserved: '◔ reserved', unavailable: '⊘ unavailable', faulted: '✖ faulted' };
const statusWord = (s) => STATUS_WORDS[s] || (s ? String(s).replace(/_/g, ' ') : 'unknown');

function renderEvses() {
  const list = S.state.evses || [];
  $('#evses-empty').hidden = list.length > 0;
  syncList($('#evse-cards'), list, (e) => e.evse, evseCard);
}

function evseCard(first) {
  const n = first.evse;
  const f = {};
  const dd = (k, label) => [h('dt', null, label), f[k] = h('dd', { class: `v-${k}` })];
  const cap = h('input', { type: 'number', id: `cap-${n}`, min: 0, max: 80, step: 'any', inputmode: 'decimal',
    placeholder: 'no cap', 'data-path': 'max_current_a', 'aria-describedby': `cap-err-${n}` });
  const prio = h('input', { type: 'number', id: `prio-${n}`, min: 0, max: 100, step: 1, inputmode: 'numeric',
    'data-path': 'priority', 'aria-describedby': `prio-err-${n}` });
  const capErr = h('p', { class: 'err', id: `cap-err-${n}` });
  const prioErr = h('p', { class: 'err', id: `prio-err-${n}` });
  const msg = h('p', { class: 'msg', role: 'status' });
  const fill = (e) => {
    cap.value = typeof e.cap_a === 'number' ? String(e.cap_a) : '';
    prio.value = typeof e.priority === 'number' ? String(e.priority) : '0';
  };
  fill(first);
  const form = h('form', { class: 'evse-set', novalidate: true },
    h('div', { class: 'field', 'data-path': 'max_current_a' }, h('label', { for: `cap-${n}` }, 'Cap (A, empty: none)'), cap, capErr),
    h('div', { class: 'field', 'data-path': 'priority' }, h('label', { for: `prio-${n}` }, 'Priority (0–100)'), prio, prioErr),
    h('button', { type: 'submit', class: 'secondary' }, 'Set'), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    capErr.textContent = '';
    prioErr.textContent = '';
    msg.textContent = 'Setting…';
    const body = { max_current_a: cap.value.trim() === '' ? null : Number(cap.value) };
    if (prio.value.trim() !== '') body.priority = Number(prio.value);
    const r = await api('POST', `/api/evses/${encodeURIComponent(n)}`, { body });
    if (r.ok) {
      msg.textContent = '✓ Set (kept in memory until the gateway restarts).';
    } else {
      msg.textContent = `✗ ${errorText(r)}`;
      for (const e of r.data.errors || []) {
        const t = e.path && e.path.includes('priority') ? prioErr : capErr;
        t.textContent = `Expected ${e.expected}, got ${e.got}.`;
      }
    }
  });
  const title = h('h3', null);
  const conn = h('p', { class: 'conn' });
  const el = h('article', { class: 'card evse', dataset: { evse: n }, 'aria-labelledby': `evse-title-${n}` },
    h('header', { class: 'evse-head' }, title, conn),
    h('dl', { class: 'kv' }, dd('status', 'Status'), dd('session', 'Session'), dd('offered', 'Offered'),
      dd('measured', 'Measured'), dd('reason', 'Why'), dd('control', 'Control'), dd('profile', 'Profile'),
      dd('cap', 'Cap, priority')),
    h('details', null, h('summary', null, 'Set cap and priority'), form));
  title.id = `evse-title-${n}`;
  el.update = (e) => {
    replaceKids(title, `EVSE ${e.evse} `, h('span', { class: 'muted' }, `${e.charger ?? '?'} #${e.charger_evse ?? '?'}`));
    el.classList.toggle('offline', e.connected === false);
    el.classList.toggle('uncontrollable', e.control === 'uncontrollable');
    conn.textContent = e.connected === false ? `✗ offline since ${fmtTime(e.last_seen)}` : '✓ connected';
    f.status.textContent = statusWord(e.status);
    f.status.className = `v-status st-${e.status}`;
    const s = e.session;
    if (s) {
      const started = Date.parse(s.started);
      const energy = typeof e.energy_wh === 'number' ? e.energy_wh
        : typeof s.energy_wh === 'number' ? s.energy_wh : null;
      f.session.textContent = `token ${s.id_token || '–'}, ${energy === null ? '–' : num(energy / 1000, 2)} kWh, ` +
        `${Number.isNaN(started) ? '–' : fmtDuration(Date.now() - started)}`;
    } else {
      f.session.textContent = 'none';
    }
    f.offered.textContent = `${amps(e.offered_a)} on ${e.phases ?? '–'} phase${e.phases === 1 ? '' : 's'}`;
    f.measured.textContent = `${triple(e.measured_a)} A`;
    f.reason.textContent = e.reason_text || e.reason || '–';
    f.control.className = `v-control ctl-${e.control}`;
    if (e.control === 'ok') f.control.textContent = '✓ ok';
    else if (e.control === 'pending') f.control.textContent = '… profile on its way';
    else if (e.control === 'uncontrollable') {
      f.control.textContent = `⚠ uncontrollable: ${e.control_reason || 'no reason given'}` +
        (e.control_retry ? `; next try ${fmtTime(e.control_retry)}` : '');
    } else f.control.textContent = e.control || '–';
    f.profile.textContent = e.profile ? `${e.profile} in ${e.unit || '?'}` : 'not known yet';
    f.cap.textContent = `${typeof e.cap_a === 'number' ? `cap ${amps(e.cap_a)}` : 'no cap'}, priority ${e.priority ?? 0}`;
    if (!form.contains(document.activeElement) && !form.closest('details').open) fill(e);
  };
  return el;
}

// ------------------------------------------------------------ waiting chargers

function renderPending() {
  const list = S.state.pending || [];
  $('#pending-empty').hidden = list.length > 0;
  $('#pending-count').textContent = list.length ? `(${list.length})` : '';
  const url = $('#charger-url');
  // "{host}": the gateway listens on every address; the name it was
  // reached by is the best guess for the chargers too.
  const want = (S.state.charger_url || '').replace('{host}', location.hostname);
  if (url.value !== want) url.value = want;
  syncList($('#pending-list'), list, (p) => p.id, pendingCard);
}

const ROTATIONS3 = ['L1L2L3', 'L2L3L1', 'L3L1L2', 'L1L3L2', 'L2L1L3', 'L3L2L1'];
const ROTATIONS1 = ['L1', 'L2', 'L3'];

function pendingCard(first) {
  const id = first.id;
  const uid = `p${Math.random().toString(36).slice(2, 9)}`;
  const info = h('dl', { class: 'kv' });
  const err = h('div', { class: 'error', role: 'alert' });
  const mk = (key, label, input) => {
    input.id = `${uid}-${key}`;
    input.dataset.key = key;
    return h('div', { class: 'field', 'data-path': key }, h('label', { for: input.id }, label), input,
      h('p', { class: 'err' }));
  };
  const circuit = h('select', null);
  const maxA = h('input', { type: 'number', min: 6, max: 80, step: 'any', value: '32', inputmode: 'decimal' });
  const phases = h('select', null, h('option', { value: '3' }, '3'), h('option', { value: '1' }, '1'));
  const rot = h('select', null);
  const pw = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'empty: one is generated' });
  const rotOptions = () => {
    const list = phases.value === '1' ? ROTATIONS1 : ROTATIONS3;
    replaceKids(rot, list.map((r) => h('option', { value: r }, r)));
  };
  phases.addEventListener('change', rotOptions);
  rotOptions();
  const fillCircuits = () => {
    const cs = S.config?.config?.site?.circuits || [];
    const cur = circuit.value;
    replaceKids(circuit, h('option', { value: '' }, '(the grid connection)'),
      cs.map((c) => h('option', { value: c.id }, c.id)));
    if (cur && cs.some((c) => c.id === cur)) circuit.value = cur;
    else if (cs.length > 1) circuit.value = cs[cs.length - 1].id;
  };
  const form = h('form', { class: 'approve', novalidate: true, hidden: true },
    mk('circuit', 'Circuit', circuit), mk('max_current_a', 'Max current per phase (A)', maxA),
    mk('phases', 'Phases', phases), mk('phase_rotation', 'Phase rotation', rot),
    mk('password', 'Password (16–40 characters, optional)', pw), err,
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Approve'),
      h('button', { type: 'button', class: 'secondary', onclick: () => { form.hidden = true; } }, 'Cancel')));
  const approveBtn = h('button', { type: 'button', onclick: async () => {
    form.hidden = false;
    if (!S.config) await loadConfig(false);
    fillCircuits();
    circuit.focus();
  } }, 'Approve…');
  const forgetBtn = h('button', { type: 'button', class: 'secondary danger', onclick: async () => {
    const r = await api('DELETE', `/api/pending/${encodeURIComponent(id)}`);
    err.textContent = r.ok ? '' : `✗ ${errorText(r)}`;
    if (r.ok) el.remove();
  } }, 'Forget');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    for (const p of $$('.err', form)) p.textContent = '';
    const body = { max_current_a: Number(maxA.value), phases: Number(phases.value), phase_rotation: rot.value };
    if (circuit.value) body.circuit = circuit.value;
    if (pw.value) body.password = pw.value;
    const r = await api('POST', `/api/pending/${encodeURIComponent(id)}/approve`, { body });
    if (r.ok) {
      showApproved(r.data.charger || id, r.data.password);
      if (!S.dirty) S.draft = null;
      loadConfig(S.view === 'settings' && !S.dirty);
      el.remove();
      return;
    }
    err.textContent = `✗ ${errorText(r)}`;
    for (const e of r.data.errors || []) {
      const key = String(e.path || '').replace(/^.*[.\]]/, '');
      const target = $(`.field[data-path="${CSS.escape(key)}"] .err`, form);
      const text = `${e.path}: expected ${e.expected}, got ${e.got}`;
      if (target) target.textContent = text; else err.append(h('p', null, text));
    }
  });
  const title = h('h3', null);
  const el = h('article', { class: 'card pending', dataset: { charger: id } },
    title, info, h('div', { class: 'row' }, approveBtn, forgetBtn), form);
  el.update = (p) => {
    title.textContent = p.id;
    replaceKids(info, [['Address', p.address], ['Protocol', p.version], ['Attempts', p.attempts],
      ['Last seen', fmtTime(p.last_seen)], ['Connection', p.connected ? '✓ connected' : '✗ not connected']]
      .map(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '–')]));
  };
  return el;
}

function showApproved(id, password) {
  const box = $('#approved');
  box.hidden = false;
  const kids = [h('p', null, h('strong', null, `✓ ${id} approved.`),
    ' It is asked to boot again and is accepted then.')];
  if (password) {
    const code = h('code', { class: 'secret', id: 'approved-password' }, password);
    kids.push(h('p', null, 'Its generated password: ', code, ' ',
      h('button', { type: 'button', class: 'secondary', onclick: () => copyText(password, $('#approved-note')) }, 'Copy')),
    h('p', { id: 'approved-note', class: 'small' }, 'Configure it in the charger now (its HTTP Basic password, ' +
      'AuthorizationKey in OCPP 1.6, BasicAuthPassword in 2.0.1): it is shown only this once.'));
  }
  kids.push(h('button', { type: 'button', class: 'secondary', onclick: () => { box.hidden = true; box.replaceChildren(); } }, 'Done'));
  replaceKids(box, kids);
}

async function copyText(text, note, input) {
  try {
    await navigator.clipboard.writeText(text);
    note.textContent = '✓ Copied.';
  } catch {
    if (input) { input.focus(); input.select(); }
    note.textContent = input ? 'Selected: copy it with Ctrl+C.' : 'Copy it by hand.';
  }
}

// ------------------------------------------------------------ settings

async function loadConfig(rebuild) {
  const r = await api('GET', '/api/config');
  if (!r.ok) {
    if (rebuild) {
      configMsg('error', `Cannot load the configuration: ${errorText(r)}`);
    }
    return;
  }
  S.config = r.data;
  $('#site-id').textContent = r.data.config?.site_id || '';
  if (rebuild || !S.draft) {
    S.draft = structuredClone(r.data.config || {});
    S.dirty = false;
    S.formStale = true;
    if (rebuild || S.view === 'settings') buildForm();
  }
}

function configMsg(kind, ...kids) {
  replaceKids($('#config-msg'), kids.length ? h('div', { class: `msg-box ${kind}` }, kids) : null);
}

// Paths like "chargers[1].smart_charging.unit".
const keysOf = (path) => (path.match(/[^.[\]]+/g) || []).map((k) => (/^\d+$/.test(k) ? Number(k) : k));
function getPath(o, path) {
  for (const k of keysOf(path)) { if (o == null) return undefined; o = o[k]; }
  return o;
}
function setPath(o, path, v) {
  const ks = keysOf(path);
  for (let i = 0; i < ks.length - 1; i++) {
    if (o[ks[i]] == null || typeof o[ks[i]] !== 'object') o[ks[i]] = typeof ks[i + 1] === 'number' ? [] : {};
    o = o[ks[i]];
  }
  if (v === undefined) delete o[ks[ks.length - 1]]; else o[ks[ks.length - 1]] = v;
}
const parentPath = (p) => p.replace(/(\[\d+\]|\.[^.[\]]+)$/, '');

let fieldSeq = 0;
// One input bound to the draft at path. kind: number, text, select, check,
// secret (a new password; empty keeps the one set). opt: required, options
// ([value, label]), hint, onchange, numeric (a select of numbers).
function field(path, label, kind, opt = {}) {
  const id = `f${++fieldSeq}`;
  const cur = getPath(S.draft, kind === 'secret' ? parentPath(path) : path);
  let input;
  if (kind === 'select') {
    input = h('select', { id }, (opt.options || []).map(([v, l]) => h('option', { value: v }, l)));
    input.value = cur === undefined || cur === null ? '' : String(cur);
    if (input.value !== (cur === undefined || cur === null ? '' : String(cur))) {
      input.append(h('option', { value: String(cur) }, String(cur)));
      input.value = String(cur);
    }
  } else if (kind === 'check') {
    input = h('input', { id, type: 'checkbox', checked: cur === true });
  } else if (kind === 'secret') {
    input = h('input', { id, type: 'text', autocomplete: 'off', spellcheck: 'false',
      placeholder: cur && cur[`${path.replace(/^.*\./, '')}_set`] ? 'set (empty: keep it)' : 'not set', value: cur?.__password || '' });
  } else {
    input = h('input', { id, type: kind === 'number' ? 'number' : 'text', step: kind === 'number' ? 'any' : null,
      inputmode: kind === 'number' ? 'decimal' : null, spellcheck: 'false',
      value: cur === undefined || cur === null ? '' : String(cur) });
    if (opt.placeholder) input.placeholder = opt.placeholder;
  }
  input.dataset.path = path;
  const err = h('p', { class: 'err', id: `${id}-err` });
  input.setAttribute('aria-describedby', `${id}-err`);
  const onChange = () => {
    S.dirty = true;
    let v;
    if (kind === 'check') v = input.checked;
    else if (kind === 'secret') {
      const parent = getPath(S.draft, parentPath(path));
      if (input.value) parent.__password = input.value; else delete parent.__password;
      return opt.onchange && opt.onchange();
    } else {
      const t = input.value.trim();
      if (t === '') v = opt.required ? (kind === 'number' ? null : '') : undefined;
      else if (kind === 'number' || opt.numeric) v = Number(t);
      else if (t === 'true' || t === 'false') v = opt.bool ? t === 'true' : t;
      else v = t;
    }
    setPath(S.draft, path, v);
    if (opt.onchange) opt.onchange(v);
  };
  input.addEventListener(kind === 'check' || kind === 'select' ? 'change' : 'input', onChange);
  const lab = h('label', { for: id }, label);
  const wrap = h('div', { class: `field ${kind === 'check' ? 'check' : ''}`, 'data-path': path },
    kind === 'check' ? [input, lab] : [lab, input], opt.hint ? h('p', { class: 'hint' }, opt.hint) : null, err);
  return wrap;
}

const NUM_OPT = (lo, hi) => `${lo}–${hi}`;

function buildForm() {
  const form = $('#config-form');
  const d = S.draft;
  if (!d) return;
  S.formStale = false;
  d.site = d.site || {};
  d.site.circuits = d.site.circuits || [];
  d.chargers = d.chargers || [];
  d.ocpp = d.ocpp || {};
  const circuitIds = d.site.circuits.map((c) => c.id).filter(Boolean);
  const fs = (title, ...kids) => h('fieldset', null, h('legend', null, title), kids);
  const rebuild = () => { const y = window.scrollY; buildForm(); window.scrollTo(0, y); };

  const general = fs('Gateway',
    field('site_id', 'Site id', 'text', { required: true }),
    field('log_level', 'Log level', 'select', { options: [['', '(default: info)'], ['debug', 'debug'],
      ['info', 'info'], ['warn', 'warn'], ['error', 'error']] }),
    field('ocpp.listen', 'Chargers connect to (host:port)', 'text', { required: true }),
    field('ocpp.allow_unknown_chargers', 'Let unknown chargers wait for approval', 'check'));

  const site = fs('Site',
    field('site.voltage_v', 'Voltage, phase to neutral (V)', 'number', { placeholder: '230', hint: NUM_OPT(100, 500) }),
    field('site.min_current_a', 'Minimum current per EV (A)', 'number', { placeholder: '6', hint: NUM_OPT(6, 32) }),
    field('site.failsafe_current_a', 'Failsafe current per phase (A)', 'number',
      { placeholder: '16', hint: 'the site limit while no valid EMS limit is known' }));

  const circuits = fs('Circuits',
    h('p', { class: 'hint' }, 'Exactly one circuit has no parent: the grid connection. Fuses in A per phase.'),
    d.site.circuits.map((c, i) => {
      const base = `site.circuits[${i}]`;
      const m = c.max_current_a;
      const fuse = PH.map((p, k) => {
        const id = `f${++fieldSeq}`;
        const inp = h('input', { id, type: 'number', step: 'any', inputmode: 'decimal',
          value: Array.isArray(m) ? (m[k] ?? '') : (m ?? ''), dataset: { path: `${base}.max_current_a[${k}]` } });
        inp.addEventListener('input', () => {
          S.dirty = true;
          const vals = $$('input', inp.closest('.fuse')).map((x) => (x.value.trim() === '' ? null : Number(x.value)));
          c.max_current_a = vals.every((v) => v === vals[0]) && !Array.isArray(m) ? vals[0] : vals;
        });
        return h('span', { class: 'ph-input' }, h('label', { for: id }, p), inp);
      });
      return h('div', { class: 'item', dataset: { item: base } },
        h('div', { class: 'row wrap' },
          field(`${base}.id`, 'Id', 'text', { required: true }),
          field(`${base}.parent`, 'Parent', 'select', { options: [['', '(none: the grid connection)'],
            ...circuitIds.filter((x) => x !== c.id).map((x) => [x, x])] })),
        h('div', { class: 'field fuse', 'data-path': `${base}.max_current_a` },
          h('span', { class: 'label' }, 'Fuse per phase (A)'), h('div', { class: 'row' }, fuse), h('p', { class: 'err' })),
        h('button', { type: 'button', class: 'secondary danger', onclick: () => {
          d.site.circuits.splice(i, 1); S.dirty = true; rebuild();
        } }, `Remove circuit ${c.id || i + 1}`));
    }),
    h('button', { type: 'button', class: 'secondary', onclick: () => {
      d.site.circuits.push({ id: '', parent: circuitIds[0], max_current_a: [32, 32, 32] });
      S.dirty = true; rebuild();
    } }, '+ Add circuit'));

  const chargers = fs('Chargers',
    d.chargers.map((c, i) => chargerItem(c, i, circuitIds, rebuild)),
    h('button', { type: 'button', class: 'secondary', onclick: () => {
      d.chargers.push({ id: '', max_current_a: 32, phases: 3, phase_rotation: 'L1L2L3',
        circuit: circuitIds[circuitIds.length - 1], priority: 0 });
      S.dirty = true; rebuild();
      const last = $$('#config-form details.charger').pop();
      if (last) { last.open = true; $('input', last).focus(); }
    } }, '+ Add charger'));

  const mqttOn = !!d.mqtt;
  const mqtt = fs('EMS link (MQTT)',
    h('div', { class: 'field check' }, h('input', { type: 'checkbox', id: 'mqtt-on', checked: mqttOn, onchange: (ev) => {
      if (ev.target.checked) d.mqtt = { host: '127.0.0.1', port: 1883 }; else delete d.mqtt;
      S.dirty = true; rebuild();
    } }), h('label', { for: 'mqtt-on' }, 'Take the grid limit from an EMS over MQTT')),
    mqttOn ? [
      field('mqtt.host', 'Broker host', 'text', { required: true }),
      field('mqtt.port', 'Port', 'number', { placeholder: '1883' }),
      field('mqtt.prefix', 'Topic prefix', 'text', { placeholder: `sitegate/${d.site_id || '<site_id>'}` }),
      field('mqtt.limit_timeout_s', 'Failsafe after no limit for (s)', 'number', { placeholder: '120' }),
      field('mqtt.client_id', 'Client id', 'text', { placeholder: `sitegate-${d.site_id || '<site_id>'}` }),
      field('mqtt.username', 'Username', 'text'),
      field('mqtt.password', 'New password', 'secret'),
      field('mqtt.keepalive_s', 'Keepalive (s)', 'number', { placeholder: '30' }),
    ] : null);

  const control = fs('Control loop',
    field('control.coalesce_ms', 'Coalesce triggers within (ms)', 'number', { placeholder: '5' }),
    field('control.hysteresis_a', 'Hysteresis (A)', 'number', { placeholder: '1' }),
    field('control.profile_validity_s', 'Profile validity (s)', 'number', { placeholder: '300' }),
    field('control.retry_min_s', 'Retry an uncontrollable charger after at least (s)', 'number', { placeholder: '10' }),
    field('control.retry_max_s', '… and at most (s)', 'number', { placeholder: '300' }));

  const summary = h('div', { id: 'config-errors', class: 'error', role: 'alert' });
  const save = h('div', { class: 'save-bar' }, h('button', { type: 'submit', id: 'config-save' }, 'Save configuration'),
    h('span', { class: 'muted small' }, 'Applied live; keys marked "restart needed" after a restart.'));
  replaceKids(form, general, site, circuits, chargers, mqtt, control, summary, save);
  markRestartKeys(form);
}

function chargerItem(c, i, circuitIds, rebuild) {
  const base = `chargers[${i}]`;
  const rotations = () => (Number(c.phases ?? 3) === 1 ? ROTATIONS1 : ROTATIONS3).map((r) => [r, r]);
  const rotWrap = h('div', null);
  const fillRot = () => replaceKids(rotWrap, field(`${base}.phase_rotation`, 'Phase rotation', 'select',
    { options: [['', '(default)'], ...rotations()] }));
  fillRot();
  const sc = `${base}.smart_charging`;
  const pwState = h('p', { class: 'hint' }, c.password_set ? 'A password is set.' : 'No password (no Basic auth).');
  const removePw = c.password_set ? h('div', { class: 'field check' },
    h('input', { type: 'checkbox', id: `rm-pw-${i}`, checked: !!c.__removePassword, onchange: (ev) => {
      c.__removePassword = ev.target.checked; S.dirty = true;
    } }), h('label', { for: `rm-pw-${i}` }, 'Remove the password')) : null;
  const pwField = field(`${base}.password`, 'New password (16–40 characters)', 'secret');
  const gen = h('button', { type: 'button', class: 'secondary', onclick: () => {
    const p = generatePassword();
    const inp = $('input', pwField);
    inp.value = p;
    inp.dispatchEvent(new Event('input'));
  } }, 'Generate');
  const sum = h('summary', null);
  const setSummary = () => {
    replaceKids(sum, h('strong', null, c.id || '(new charger)'),
      ` ${num(c.max_current_a)} A, ${c.phases ?? 3} phase${Number(c.phases) === 1 ? '' : 's'}, ${c.circuit || 'grid connection'}`);
  };
  setSummary();
  return h('details', { class: 'item charger', dataset: { item: base } }, sum,
    h('div', { class: 'grid-fields' },
      field(`${base}.id`, 'Id (the OCPP identity)', 'text', { required: true, onchange: setSummary }),
      field(`${base}.max_current_a`, 'Max current per phase (A)', 'number', { required: true, hint: '6–80', onchange: setSummary }),
      field(`${base}.phases`, 'Phases', 'select', { numeric: true, options: [['', '(default: 3)'], ['3', '3'], ['1', '1']],
        onchange: () => { const r = c.phase_rotation; c.phase_rotation = (Number(c.phases ?? 3) === 1 ? ROTATIONS1 : ROTATIONS3).includes(r) ? r : undefined; if (c.phase_rotation === undefined) delete c.phase_rotation; fillRot(); setSummary(); } }),
      rotWrap,
      field(`${base}.circuit`, 'Circuit', 'select', { options: [['', '(the grid connection)'], ...circuitIds.map((x) => [x, x])], onchange: setSummary }),
      field(`${base}.priority`, 'Priority (0–100, higher first)', 'number', { placeholder: '0' }),
      field(`${base}.first_evse`, 'First EVSE number', 'number', { placeholder: 'automatic' }),
      field(`${base}.evses`, 'EVSEs it may report', 'number', { placeholder: 'ocpp.max_evses' }),
      field(`${base}.connectors_per_evse`, 'Connectors per EVSE', 'number', { placeholder: 'ocpp.max_connectors_per_evse' })),
    h('fieldset', { class: 'sub' }, h('legend', null, 'Smart charging overrides'),
      h('div', { class: 'grid-fields' },
        field(`${sc}.purpose`, 'Profile purpose', 'select', { options: [['', '(learnt)'], ['auto', 'auto'], ['TxProfile', 'TxProfile'], ['TxDefaultProfile', 'TxDefaultProfile']] }),
        field(`${sc}.unit`, 'Unit', 'select', { options: [['', '(learnt)'], ['auto', 'auto'], ['A', 'A'], ['W', 'W']] }),
        field(`${sc}.max_stack_level`, 'Max stack level', 'number', { placeholder: 'the charger\'s answer' }),
        field(`${sc}.number_phases`, 'Send numberPhases', 'select', { bool: true, options: [['', '(default: yes)'], ['true', 'yes'], ['false', 'no']] }))),
    h('fieldset', { class: 'sub' }, h('legend', null, 'Password'), pwState, h('div', { class: 'row' }, pwField, gen), removePw),
    h('button', { type: 'button', class: 'secondary danger', onclick: () => {
      S.draft.chargers.splice(i, 1); S.dirty = true; rebuild();
    } }, `Remove charger ${c.id || i + 1}`));
}

function generatePassword() {
  const abc = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const b = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(b, (x) => abc[x % abc.length]).join('');
}

function markRestartKeys(form) {
  const keys = S.config?.restart_keys || [];
  for (const f of $$('.field[data-path]', form)) {
    const p = f.dataset.path;
    if (keys.some((k) => p === k || p.startsWith(`${k}.`) || p.startsWith(`${k}[`))) {
      const lab = $('label, .label', f);
      if (lab) lab.append(' ', h('span', { class: 'badge' }, '↻ restart needed'));
    }
  }
}

// The draft as the API takes it: new secrets set, kept ones marked _set.
function serialize() {
  const doc = structuredClone(S.draft);
  const secret = (o, key) => {
    if (!o) return;
    if (o.__password) { o[key] = o.__password; delete o[`${key}_set`]; }
    else if (o.__removePassword) delete o[`${key}_set`];
  };
  for (const c of doc.chargers || []) {
    secret(c, 'password');
    if (c.smart_charging && !Object.keys(c.smart_charging).length) delete c.smart_charging;
  }
  secret(doc.mqtt, 'password');
  const strip = (o) => {
    if (Array.isArray(o)) o.forEach(strip);
    else if (o && typeof o === 'object') {
      for (const k of Object.keys(o)) if (k.startsWith('__')) delete o[k]; else strip(o[k]);
    }
  };
  strip(doc);
  if (doc.control && !Object.keys(doc.control).length) delete doc.control;
  return doc;
}

function clearErrors(form) {
  for (const p of $$('.err', form)) p.textContent = '';
  for (const f of $$('.invalid', form)) f.classList.remove('invalid');
  for (const i of $$('[aria-invalid]', form)) i.removeAttribute('aria-invalid');
  $('#config-errors').replaceChildren();
}

// Each error next to the field of its path (or of the nearest enclosing
// path that has one); the rest in the list above the save button.
function showErrors(errors) {
  const form = $('#config-form');
  const rest = [];
  let firstField = null;
  for (const e of errors) {
    const text = `Expected ${e.expected}, got ${e.got}.`;
    let p = String(e.path || '');
    let f = null;
    while (p && !(f = $(`.field[data-path="${CSS.escape(p)}"]`, form))) {
      const up = parentPath(p);
      if (up === p) break;
      p = up;
    }
    if (!f) { rest.push(e); continue; }
    const err = $(':scope > .err', f) || $('.err', f);
    err.textContent = err.textContent ? `${err.textContent} ${e.path}: ${text}` : (p === e.path ? text : `${e.path}: ${text}`);
    f.classList.add('invalid');
    const inp = $(`[data-path="${CSS.escape(e.path)}"]`, f) || $('input, select', f);
    if (inp) inp.setAttribute('aria-invalid', 'true');
    for (let d = f.closest('details'); d; d = d.parentElement.closest('details')) d.open = true;
    firstField = firstField || inp;
  }
  const box = $('#config-errors');
  replaceKids(box, h('p', null, `${errors.length} error${errors.length === 1 ? '' : 's'}: nothing was saved.` +
    (errors.length > rest.length ? ' See the marked fields.' : '')),
  rest.length ? h('ul', null, rest.map((e) => h('li', null, `${e.path || '(the file)'}: expected ${e.expected}, got ${e.got}`))) : null);
  if (firstField) firstField.focus();
}

async function onSave(ev) {
  ev.preventDefault();
  const form = $('#config-form');
  clearErrors(form);
  if (!S.config) return;
  const btn = $('#config-save');
  btn.disabled = true;
  configMsg('info', 'Saving…');
  const r = await api('PUT', '/api/config', { body: serialize(), headers: { 'If-Match': S.config.version } });
  btn.disabled = false;
  if (r.ok) {
    savedMsg('✓ Saved and applied.', r.data.restart_needed);
    await loadConfig(true);
  } else if (r.status === 422) {
    configMsg('error', `✗ ${errorText(r)}`);
    showErrors(r.data.errors || []);
  } else if (r.status === 409) {
    configMsg('error', '✗ Someone else changed the configuration since you loaded it. ',
      h('button', { type: 'button', onclick: async () => { await loadConfig(true); configMsg('info', 'Reloaded: make your changes again.'); } },
        'Reload it (your changes are lost)'));
  } else {
    configMsg('error', `✗ ${errorText(r)}`);
  }
}

function savedMsg(text, restart) {
  configMsg('ok', h('p', null, text), restart && restart.length
    ? [h('p', null, '↻ Takes effect after a restart:'), h('ul', { id: 'restart-needed' }, restart.map((x) => h('li', null, x)))]
    : null);
}

async function onImport() {
  const file = $('#import-file').files[0];
  $('#import-file').value = '';
  if (!file) return;
  const text = await file.text();
  try {
    const doc = JSON.parse(text);
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
  } catch (e) {
    configMsg('error', `✗ ${file.name} is not a configuration: ${e.message}`);
    return;
  }
  configMsg('info', `Importing ${file.name}…`);
  const r = await api('POST', '/api/config/import', { body: text });
  if (r.ok) {
    savedMsg(`✓ Imported ${file.name} and applied it.`, r.data.restart_needed);
    await loadConfig(true);
  } else {
    configMsg('error', h('p', null, `✗ ${file.name}: ${errorText(r)}`),
      r.data.errors ? h('ul', null, r.data.errors.map((e) => h('li', null, `${e.path}: expected ${e.expected}, got ${e.got}`))) : null);
  }
}

// ------------------------------------------------------------ history and log

async function loadHistory() {
  const r = await api('GET', '/api/history');
  const table = $('#history');
  if (!r.ok) {
    $('#history-msg').textContent = `Cannot load the history: ${errorText(r)}`;
    return;
  }
  const runs = r.data.runs || [];
  $('#history-msg').textContent = runs.length ? `The last ${runs.length} allocation runs, newest first.` : 'No allocation run yet.';
  replaceKids(table,
    h('thead', null, h('tr', null, ['Time', 'Trigger', 'Site limit (A)', 'Setpoints'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, runs.map((run) => h('tr', null,
      h('td', null, fmtTime(run.time), run.repeats
        ? h('span', { class: 'muted small' }, h('br'), `and ${run.repeats} more the same, until ${fmtTime(run.last_time)}`)
        : null),
      h('td', null, String(run.trigger || '').split('+').join(', ')),
      h('td', null, `${triple(run.limit_a)}`, h('br'), h('span', { class: 'muted small' }, (run.source || []).join(', '))),
      h('td', null, (run.evses || []).length ? h('ul', { class: 'plain' }, run.evses.map((e) => h('li', null,
        h('strong', null, `EVSE ${e.evse}`), ` ${e.charger ?? ''}: ${amps(e.setpoint_a)} × ${e.phases ?? '–'}`,
        e.reason_text || e.reason ? h('span', { class: 'muted' }, ` — ${e.reason_text || e.reason}`) : null))) : 'no EVSE')))));
}

async function loadLog() {
  const level = $('#log-level').value;
  const r = await api('GET', `/api/log?level=${encodeURIComponent(level)}&limit=200`);
  const table = $('#log');
  if (!r.ok) {
    $('#log-msg').textContent = `Cannot load the log: ${errorText(r)}`;
    return;
  }
  const lines = r.data.lines || [];
  $('#log-msg').textContent = lines.length ? `${lines.length} lines, newest first.` : 'No line at this level.';
  const icon = { error: '✖', warn: '⚠', info: 'ℹ', debug: '·' };
  replaceKids(table,
    h('thead', null, h('tr', null, ['Time', 'Level', 'Module', 'Text'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, lines.map((l) => h('tr', { class: `lvl-${l.level}` },
      h('td', { class: 'nowrap' }, fmtTime(l.time)),
      h('td', { class: 'nowrap' }, `${icon[l.level] || ''} ${l.level}`),
      h('td', null, l.module),
      h('td', { class: 'logtext' }, l.text)))));
}

// ------------------------------------------------------------ wiring

function wire() {
  $('#setup-form').addEventListener('submit', onSetup);
  $('#login-form').addEventListener('submit', onLogin);
  $('#logout').addEventListener('click', onLogout);
  for (const b of $$('#tabs button')) {
    b.addEventListener('click', () => {
      if (location.hash !== `#${b.dataset.view}`) location.hash = b.dataset.view;
      else showView(b.dataset.view);
    });
  }
  window.addEventListener('hashchange', () => showView(viewFromHash()));
  window.addEventListener('resize', drawChart);
  $('#copy-url').addEventListener('click', () => copyText($('#charger-url').value, $('#copy-note'), $('#charger-url')));
  $('#config-form').addEventListener('submit', onSave);
  $('#config-reload').addEventListener('click', async () => { await loadConfig(true); configMsg('info', 'Reloaded.'); });
  $('#import-button').addEventListener('click', () => $('#import-file').click());
  $('#import-file').addEventListener('change', onImport);
  $('#history-reload').addEventListener('click', loadHistory);
  $('#log-level').addEventListener('change', loadLog);
  $('#log-reload').addEventListener('click', loadLog);
  // Ages and durations move on without events.
  setInterval(() => { if (S.inApp && S.state) render(); }, 10000);
}

start();
