'use strict';
// The installer page's API without a browser: first run, login, sessions,
// CSRF and origin checks, the login throttle, every bad-input class, the
// configuration read, changed (422, 409, 428, atomic write, live apply),
// exported and imported, chargers approved and forgotten, caps, live
// updates, history, sessions, log and diagnostics. docs/web.md is what is
// checked here.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const { startWeb, WebClient, PASSWORD } = require('./lib/web');
const { SimCharger } = require('./lib/charger');
const { makeCerts } = require('./lib/certs');
const { tmpDir } = require('./lib/gateway');

function rawRequest(port, text, { end = true } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.setEncoding('latin1');
    s.on('connect', () => { s.write(text); if (end) s.end(); });
    s.on('data', (d) => { data += d; });
    s.on('close', () => resolve(data));
    s.on('error', (e) => (e.code === 'ECONNRESET' ? resolve(data) : reject(e)));
  });
}

test('first run: the setup code from the log, then login, logout, wrong password', async (t) => {
  const { gw, web, code, cfg } = await startWeb(t, { login: false });
  let s = await web.get('/api/session');
  assert.equal(s.status, 200);
  assert.deepEqual(s.json, { authenticated: false, setup_needed: true, tls: false });
  assert.equal((await web.get('/api/state')).status, 401);
  assert.equal((await web.get('/api/state')).json.error, 'login required');

  assert.equal((await web.setup('0000-0000-0000')).status, code === '0000-0000-0000' ? 200 : 403);
  const short = await web.setup(code, 'short');
  assert.equal(short.status, 422);
  assert.equal(web.cookie, null);
  const ok = await web.setup(code);
  assert.equal(ok.status, 200);
  assert.equal(ok.json.authenticated, true);
  assert.match(ok.json.csrf, /^[0-9a-f]{32}$/);
  const setCookie = ok.headers['set-cookie'][0];
  assert.match(setCookie, /^sitegate_session=[0-9a-f]{32}; /);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.doesNotMatch(setCookie, /Secure/);
  assert.equal((await web.get('/api/state')).status, 200);
  s = await web.get('/api/session');
  assert.equal(s.json.authenticated, true);
  assert.equal(s.json.setup_needed, false);
  assert.equal(s.json.csrf, web.csrf);

  // The code is used up: a second setup is refused.
  assert.equal((await new WebClient(web.port).setup(code)).status, 409);

  const out = await web.post('/api/logout', {});
  assert.equal(out.status, 200);
  assert.equal(out.json.authenticated, false);
  assert.equal((await web.get('/api/state')).status, 401);

  const bad = await web.login('not the password');
  assert.equal(bad.status, 401);
  assert.equal(bad.json.error, 'wrong password');
  await gw.waitForLog(/web: login failed addr=127\.0\.0\.1 failures=1/);
  const good = await web.login();
  assert.equal(good.status, 200);
  assert.equal((await web.get('/api/state')).status, 200);

  // The password is kept as a slow salted hash, not as itself.
  for (const f of [cfg.state_file, `${cfg.state_file}-wal`]) {
    if (fs.existsSync(f)) assert.equal(fs.readFileSync(f).includes(Buffer.from(PASSWORD)), false, f);
  }
});

test('changes need the page\'s origin and the session\'s CSRF token', async (t) => {
  const { web } = await startWeb(t);
  const body = { max_current_a: 10 };
  const noOrigin = await web.post('/api/evses/1', body, { origin: false });
  assert.equal(noOrigin.status, 403);
  assert.equal(noOrigin.json.error, 'cross-origin request refused');
  const evil = await web.post('/api/evses/1', body, { origin: 'http://evil.example' });
  assert.equal(evil.status, 403);
  const noToken = await web.post('/api/evses/1', body, { csrf: false });
  assert.equal(noToken.status, 403);
  assert.equal(noToken.json.error, 'missing or wrong CSRF token');
  const wrong = await web.post('/api/evses/1', body, { headers: { 'X-CSRF-Token': '0'.repeat(32) }, csrf: false });
  assert.equal(wrong.status, 403);
  const noCookie = await web.post('/api/evses/1', body, { cookie: false });
  assert.equal(noCookie.status, 401);
  const ok = await web.post('/api/evses/1', body);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, { evse: 1 });
  // Login itself is a change: from another origin it is refused too.
  const other = new WebClient(web.port);
  assert.equal((await other.post('/api/login', { password: PASSWORD }, { origin: 'http://evil.example' })).status, 403);
});

test('failed logins are slowed per address, and cost nobody else anything', async (t) => {
  const { gw, web } = await startWeb(t);
  const attacker = new WebClient(web.port);
  const codes = [];
  for (let i = 0; i < 8; i++) codes.push((await attacker.login(`wrong password ${i}`)).status);
  assert.deepEqual(codes.slice(0, 3), [401, 401, 401]);
  const limited = await attacker.login('another wrong one');
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  // Even the right password waits its turn from that address...
  assert.equal((await attacker.login()).status, 429);
  // ... while a logged-in page and a charger are served as usual.
  assert.equal((await web.get('/api/state')).status, 200);
  const cp = new SimCharger({ id: 'CP-01', version: 'ocpp1.6', port: gw.ocppPort,
    password: 'password-CP-01-xyz' });
  t.after(() => cp.close());
  assert.equal((await cp.start()).status, 'Accepted');
  // One log line per waiting period, not one per attempt.
  const lines = gw.logs.filter((l) => /web: login failed/.test(l));
  assert.ok(lines.length <= 5, `${lines.length} lines`);
});

test('bad requests get a precise 4xx in JSON', async (t) => {
  const { gw, web } = await startWeb(t);
  const big = await web.post('/api/evses/1', 'x'.repeat(70 * 1024));
  assert.equal(big.status, 413);
  const bad = await web.post("/api/evses/1", "{\"max_current_a\": 1O}");
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error, 'malformed JSON at byte 19');
  const arr = await web.post('/api/evses/1', '[1]');
  assert.equal(arr.status, 400);
  assert.match(arr.json.error, /must be a JSON object, got an array/);
  assert.equal((await web.get('/api/nope')).status, 404);
  const m = await web.del('/api/state');
  assert.equal(m.status, 405);
  assert.equal(m.headers.allow, 'GET');
  const inv = await web.post('/api/evses/1', { max_current_a: 'ten' });
  assert.equal(inv.status, 422);
  assert.equal(inv.json.errors[0].path, 'max_current_a');
  assert.equal((await web.post('/api/evses/0', { max_current_a: 1 })).status, 404);
  assert.equal((await web.get('/api/log?level=loud')).status, 400);

  // An oversized header block and too many headers: refused by the
  // server, which then answers the next request as usual.
  const huge = await rawRequest(web.port, `GET /api/session HTTP/1.1\r\nHost: x\r\nX-A: ${'a'.repeat(9000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 4\d\d/);
  let many = 'GET /api/session HTTP/1.1\r\nHost: x\r\n';
  for (let i = 0; i < 1000; i++) many += `X-${i}: ${i}\r\n`;
  assert.match(await rawRequest(web.port, `${many}\r\n`), /^HTTP\/1\.1 4\d\d/);
  // A body announced and never sent: the connection is closed after the
  // request timeout, and nothing waits on it.
  const stalled = await rawRequest(web.port, 'POST /api/login HTTP/1.1\r\nHost: x\r\n' +
    `Origin: http://${web.host}\r\nContent-Length: 100\r\n\r\n{"pass`, { end: false });
  assert.doesNotMatch(stalled, /^HTTP\/1\.1 200/);
  assert.equal((await web.get('/api/state')).status, 200);
  assert.equal(gw.exit, null);
});

test('the configuration: read without secrets, changed, validated, versioned', async (t) => {
  const { gw, web } = await startWeb(t);
  const file = gw.configPath;
  const g = await web.get('/api/config');
  assert.equal(g.status, 200);
  assert.equal(g.headers.etag, `"${g.json.version}"`);
  assert.doesNotMatch(g.text, /password-CP-0[12]-xyz/);
  assert.equal(g.json.config.chargers[0].password_set, true);
  assert.equal('password' in g.json.config.chargers[0], false);
  assert.ok(g.json.restart_keys.includes('ocpp.listen'));

  // Invalid: every error with its path, the file untouched byte for byte.
  const before = fs.readFileSync(file);
  const bad = structuredClone(g.json.config);
  bad.chargers[1].max_current_a = 900;
  bad.site.min_current_a = 'six';
  const r422 = await web.put('/api/config', bad, { headers: { 'If-Match': g.json.version } });
  assert.equal(r422.status, 422);
  const paths = r422.json.errors.map((e) => e.path).sort();
  assert.deepEqual(paths, ['chargers[1].max_current_a', 'site.min_current_a']);
  for (const e of r422.json.errors) {
    assert.equal(typeof e.expected, 'string');
    assert.ok(e.expected.length > 0);
  }
  assert.equal(r422.json.errors.find((e) => e.path === 'chargers[1].max_current_a').got, '900');
  assert.deepEqual(fs.readFileSync(file), before);

  // No version: 428. A valid change: written, the old file kept, applied.
  const good = structuredClone(g.json.config);
  good.chargers[0].max_current_a = 20;
  assert.equal((await web.put('/api/config', good)).status, 428);
  const mark = gw.mark();
  const ok = await web.put('/api/config', good, { headers: { 'If-Match': g.json.version } });
  assert.equal(ok.status, 200, ok.text);
  assert.notEqual(ok.json.version, g.json.version);
  assert.deepEqual(ok.json.restart_needed, []);
  await gw.waitForLog(/config: reloaded chargers=2/, { since: mark });
  const now = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(now.chargers[0].max_current_a, 20);
  // Secrets stay in the file, as they were.
  assert.equal(now.chargers[0].password, 'password-CP-01-xyz');
  assert.equal(now.chargers[1].password, 'password-CP-02-xyz');
  assert.deepEqual(fs.readFileSync(`${file}.prev`), before);
  assert.equal(fs.existsSync(`${file}.tmp`), false);

  // A second browser still holding the first version: 409, nothing written.
  const stale = structuredClone(g.json.config);
  stale.chargers[0].max_current_a = 25;
  const written = fs.readFileSync(file);
  const c409 = await web.put('/api/config', stale, { headers: { 'If-Match': g.json.version } });
  assert.equal(c409.status, 409);
  assert.equal(c409.json.version, ok.json.version);
  assert.deepEqual(fs.readFileSync(file), written);

  // A key that needs a restart is said so.
  const moved = structuredClone((await web.get('/api/config')).json);
  moved.config.web.max_clients = 3;
  const rs = await web.put('/api/config', moved.config, { headers: { 'If-Match': moved.version } });
  assert.equal(rs.status, 200);
  assert.equal(rs.json.restart_needed.length, 1);
  assert.match(rs.json.restart_needed[0], /web\.max_clients/);

  // Export, then import after a change by hand: the exported one wins,
  // secrets kept.
  const ex = await web.get('/api/config/export');
  assert.equal(ex.status, 200);
  assert.match(ex.headers['content-disposition'], /attachment; filename="sitegate-config\.json"/);
  assert.doesNotMatch(ex.text, /password-CP-0/);
  const edited = JSON.parse(fs.readFileSync(file, 'utf8'));
  edited.site.failsafe_current_a = 10;
  fs.writeFileSync(file, JSON.stringify(edited));
  const im = await web.post('/api/config/import', ex.json);
  assert.equal(im.status, 200, im.text);
  const back = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(back.site.failsafe_current_a, ex.json.site.failsafe_current_a);
  assert.equal(back.chargers[0].password, 'password-CP-01-xyz');
});

test('approve a waiting charger: configured, asked to boot, Accepted; forget another', async (t) => {
  const { gw, web } = await startWeb(t, { mutate: (c) => { c.ocpp.allow_unknown_chargers = true; } });
  const cp = new SimCharger({ id: 'CP-NEW', version: 'ocpp1.6', port: gw.ocppPort });
  t.after(() => cp.close());
  await cp.connect();
  assert.equal((await cp.boot()).status, 'Pending');
  let st = (await web.get('/api/state')).json;
  const p = st.pending.find((x) => x.id === 'CP-NEW');
  assert.ok(p, JSON.stringify(st.pending));
  assert.equal(p.address, '127.0.0.1');
  assert.equal(p.connected, true);
  assert.ok(p.attempts >= 1);

  const bad = await web.post('/api/pending/CP-NEW/approve', { circuit: 'nowhere', max_current_a: 16, phases: 3 });
  assert.equal(bad.status, 422);
  assert.ok(bad.json.errors.some((e) => e.path === 'circuit'), JSON.stringify(bad.json));
  assert.equal((await web.post('/api/pending/CP-NOPE/approve', { circuit: 'row-a', max_current_a: 16, phases: 3 })).status, 404);

  const booted = new Promise((resolve) => {
    const orig = cp.boot.bind(cp);
    cp.boot = async () => { const r = await orig(); if (r.status === 'Accepted') resolve(r); return r; };
  });
  const ok = await web.post('/api/pending/CP-NEW/approve', { circuit: 'row-a', max_current_a: 16, phases: 3 });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.charger, 'CP-NEW');
  assert.match(ok.json.password, /^[A-Za-z0-9]{24}$/);
  await booted;
  assert.equal(cp.bootStatus, 'Accepted');
  const cfg = JSON.parse(fs.readFileSync(gw.configPath, 'utf8'));
  const added = cfg.chargers.find((c) => c.id === 'CP-NEW');
  assert.equal(added.max_current_a, 16);
  assert.equal(added.password, ok.json.password);
  st = (await web.get('/api/state')).json;
  assert.equal(st.pending.some((x) => x.id === 'CP-NEW'), false);

  const other = new SimCharger({ id: 'CP-STRAY', version: 'ocpp2.0.1', port: gw.ocppPort });
  t.after(() => other.close());
  await other.connect();
  assert.equal((await other.boot()).status, 'Pending');
  const gone = await web.del('/api/pending/CP-STRAY');
  assert.equal(gone.status, 200, gone.text);
  st = (await web.get('/api/state')).json;
  assert.equal(st.pending.some((x) => x.id === 'CP-STRAY'), false);
  assert.equal((await web.del('/api/pending/CP-01')).status, 404);
});

test('live updates: a full first event, then only what changed; bounded streams', async (t) => {
  const { gw, web } = await startWeb(t, { mutate: (c) => { c.web.max_clients = 2; } });
  const cp = new SimCharger({ id: 'CP-01', version: 'ocpp2.0.1', port: gw.ocppPort,
    password: 'password-CP-01-xyz', evses: 2 });
  t.after(() => cp.close());
  await cp.start();
  const s = await web.events();
  t.after(() => s.close());
  assert.equal(s.status, 200);
  assert.match(s.res.headers['content-type'], /text\/event-stream/);
  const first = await s.next((e) => e.data.full && e.data.evses.length === 2);
  assert.equal(first.event, 'state');
  // A cap on EVSE 2 only: the next change event carries that EVSE alone.
  const n2 = first.data.evses.find((e) => e.charger_evse === 2).evse;
  assert.equal((await web.post(`/api/evses/${n2}`, { max_current_a: 8 })).status, 200);
  const upd = await s.next((e) => !e.data.full && e.data.evses.some((x) => x.evse === n2 && x.cap_a === 8), 2000);
  assert.equal(upd.data.evses.length, 1);
  assert.ok(upd.data.status);

  // At most max_clients streams; the third is refused, the first two live.
  const s2 = await web.events();
  t.after(() => s2.close());
  assert.equal(s2.status, 200);
  const s3 = await web.events();
  t.after(() => s3.close());
  assert.equal(s3.status, 503);
  // A stream closed by its browser frees its place.
  s2.close();
  let again;
  for (;;) {
    again = await web.events();
    if (again.status === 200) break;
    again.close();
    await new Promise((r) => setImmediate(r));
  }
  t.after(() => again.close());
  await again.next((e) => e.data.full);
  // Without a session there is no stream.
  const anon = await new WebClient(web.port).events();
  assert.equal(anon.status, 401);
  anon.close();
});

test('history, trend, sessions CSV, log and diagnostics', async (t) => {
  const { gw, web } = await startWeb(t);
  const cp = new SimCharger({ id: 'CP-01', version: 'ocpp1.6', port: gw.ocppPort,
    password: 'password-CP-01-xyz' });
  t.after(() => cp.close());
  await cp.start();
  const mark = gw.mark();
  await cp.startTransaction(1, { ev: { demandA: [16, 16, 16] } });
  await gw.waitForLog(/session started charger=CP-01/, { since: mark });
  await gw.waitForLog(/control: allocated run=/, { since: mark });
  const h = await web.get('/api/history');
  assert.equal(h.status, 200);
  assert.ok(h.json.runs.length >= 1);
  const run = h.json.runs[0];
  assert.match(run.time, /^\d{4}-\d\d-\d\dT/);
  assert.equal(typeof run.trigger, 'string');
  assert.equal(run.limit_a.length, 3);
  assert.equal(run.source.length, 3);
  const tr = await web.get('/api/trend');
  assert.equal(tr.json.interval_s, 10);
  assert.ok(Array.isArray(tr.json.points));

  const csv = await web.get('/api/sessions.csv');
  assert.equal(csv.status, 200);
  assert.match(csv.headers['content-type'], /^text\/csv/);
  const rows = csv.text.trim().split('\r\n');
  assert.equal(rows[0], 'id,charger,evse,connector,transaction_id,id_token,started,stopped,meter_start_wh,meter_stop_wh,energy_wh,stop_reason');
  assert.ok(rows.length >= 2, csv.text);
  assert.match(rows[1], /,CP-01,1,/);

  const log = await web.get('/api/log?level=info&limit=50');
  assert.equal(log.status, 200);
  assert.ok(log.json.lines.length > 0 && log.json.lines.length <= 50);
  assert.ok(log.json.lines.every((l) => ['info', 'warn', 'error'].includes(l.level)));
  const d = await web.get('/api/diagnostics');
  assert.equal(d.status, 200);
  assert.match(d.headers['content-disposition'], /sitegate-diagnostics-test-site-/);
  assert.equal(d.json.versions.sitegate.length > 0, true);
  assert.ok(d.json.config && d.json.state && d.json.log && d.json.history);
  assert.doesNotMatch(d.text, /password-CP-0[12]-xyz/);
});

test('web.tls: the page and its API over HTTPS only, the cookie Secure', async (t) => {
  const dir = tmpDir();
  const certs = makeCerts(`${dir}/certs`);
  const { gw, web } = await startWeb(t, { dir, ca: certs.ca.cert,
    mutate: (c) => { c.web.tls = { cert: certs.server.cert, key: certs.server.key }; } });
  await gw.waitForLog(/web: page at https:\/\/127\.0\.0\.1:\d+\//);
  assert.match(web.cookie, /^sitegate_session=/);
  const s = await web.get('/api/session');
  assert.equal(s.json.tls, true);
  assert.equal(s.json.authenticated, true);
  const out = await web.post('/api/logout', {});
  assert.match(out.headers['set-cookie'][0], /; Secure/);
  const r = await web.login();
  assert.equal(r.status, 200);
  assert.match(r.headers['set-cookie'][0], /HttpOnly; SameSite=Strict; Secure/);
  // Plain HTTP on that port gets no page.
  const plain = await rawRequest(web.port, 'GET /api/session HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.doesNotMatch(plain, /^HTTP\/1\.1 200/);
  assert.equal((await web.get('/api/state')).status, 200);
});
