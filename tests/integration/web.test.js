'use strict';
// The web server's file serving: the page's files with their types and
// validators, the security headers on every answer, and every way out of
// the page's folder refused (.., encoded .., absolute paths, NUL, links).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { tmpDir, baseConfig, startGateway } = require('./lib/gateway');
const { SimCharger } = require('./lib/charger');
const { WebClient } = require('./lib/web');

// The session of each gateway's page (by port), once set up: the API
// needs one; the page's files do not.
const cookies = new Map();
async function login(gw, port) {
  const c = await gw.waitForLog(/web: setup code (\d{4}-\d{4}-\d{4})/);
  const web = new WebClient(port);
  const r = await web.setup(c[1]);
  assert.equal(r.status, 200, r.text);
  cookies.set(port, web.cookie);
}

// One raw request, so that the path reaches the server exactly as written
// (fetch would normalise "/../x" before sending it).
function raw(port, text) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.setEncoding('latin1');
    s.on('connect', () => s.write(text));
    s.on('data', (d) => { data += d; });
    s.on('end', () => resolve(parse(data)));
    s.on('error', reject);
  });
}

function parse(data) {
  const cut = data.indexOf('\r\n\r\n');
  const head = data.slice(0, cut).split('\r\n');
  const status = Number(head[0].split(' ')[1]);
  const headers = {};
  for (const l of head.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: data.slice(cut + 4) };
}

const get = (port, p, extra = '') =>
  raw(port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${
    cookies.has(port) ? `Cookie: ${cookies.get(port)}\r\n` : ''}${extra}\r\n`);

function secure(r) {
  assert.match(r.headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.match(r.headers['content-security-policy'], /script-src 'self'/);
  assert.doesNotMatch(r.headers['content-security-policy'], /unsafe-inline/);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
}

async function withPage(t) {
  const dir = tmpDir();
  const root = path.join(dir, 'page');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>x</title>');
  fs.writeFileSync(path.join(root, 'app.js'), 'console.log(1);\n');
  fs.writeFileSync(path.join(root, 'sub', 'a.css'), 'b{}');
  fs.writeFileSync(path.join(root, 'notes.bak'), 'not a page file');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'SECRET');
  fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'link.txt'));
  require('node:child_process').execFileSync('mkfifo', [path.join(root, 'pipe.txt')]);
  const cfg = baseConfig(dir);
  cfg.web = { listen: '127.0.0.1:0', root };
  const gw = await startGateway(cfg, { dir });
  t.after(() => gw.stop());
  const m = await gw.waitForLog(/web: page at http:\/\/127\.0\.0\.1:(\d+)\//);
  t.gw = gw;
  await login(gw, Number(m[1]));
  return Number(m[1]);
}

const json = (r) => JSON.parse(r.body);

test('the page\'s files: types, ETag and 304, security headers', async (t) => {
  const port = await withPage(t);
  const idx = await get(port, '/');
  assert.equal(idx.status, 200);
  assert.equal(idx.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(idx.body, '<!doctype html><title>x</title>');
  secure(idx);
  assert.ok(idx.headers.etag);
  const again = await get(port, '/index.html', `If-None-Match: ${idx.headers.etag}\r\n`);
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
  secure(again);
  const js = await get(port, '/app.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  const css = await get(port, '/sub/a.css');
  assert.equal(css.status, 200);
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  const head = await raw(port, 'HEAD /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], String('console.log(1);\n'.length));
});

test('no listing, no other files, no other methods', async (t) => {
  const port = await withPage(t);
  for (const p of ['/sub', '/sub/', '/missing.html', '/notes.bak', '/pipe.txt']) {
    const r = await get(port, p);
    assert.equal(r.status, 404, p);
    secure(r);
  }
  const post = await raw(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  secure(post);
});

test('nothing outside the page\'s folder is served', async (t) => {
  const port = await withPage(t);
  const tries = ['/../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt', '/sub/%2e%2e/%2e%2e/secret.txt', '/..%2fsecret.txt',
    '/%2e%2e%2fsecret.txt', '//etc/passwd', '/etc/passwd', '/index.html%00.txt',
    '/sub%5c..%5c..%5csecret.txt', '/link.txt', '/./index.html'];
  for (const p of tries) {
    const r = await get(port, p);
    assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
    assert.doesNotMatch(r.body, /SECRET|root:/, p);
    secure(r);
  }
  // An absolute URI as the request target names no file of ours either.
  const abs = await get(port, 'http://127.0.0.1/../secret.txt');
  assert.doesNotMatch(abs.body, /SECRET/);
});

test('GET /api/state: the status and EVSE documents, live', async (t) => {
  const port = await withPage(t);
  const gw = t.gw;
  const first = await get(port, '/api/state');
  assert.equal(first.status, 200);
  assert.equal(first.headers['content-type'], 'application/json');
  assert.equal(first.headers['cache-control'], 'no-store');
  secure(first);
  const s0 = json(first);
  assert.equal(s0.status.chargers.configured, 2);
  assert.equal(s0.status.chargers.connected, 0);
  assert.deepEqual(s0.status.limit.current_a, [63, 63, 63]);
  assert.deepEqual(s0.status.limit.source, ['fuse', 'fuse', 'fuse']);
  assert.equal(s0.status.uplink.state, 'disabled');
  assert.deepEqual(s0.evses, []);
  // The circuit tree, each with its fuse and what is below it.
  assert.deepEqual(s0.circuits.map((c) => [c.id, c.parent, c.max_a]),
    [['main', null, [63, 63, 63]], ['row-a', 'main', [40, 40, 40]]]);
  for (const c of s0.circuits) {
    assert.deepEqual(c.allocated_a, [0, 0, 0]);
    assert.deepEqual(c.measured_a, [0, 0, 0]);
  }
  assert.deepEqual(s0.pending, []);
  assert.equal(s0.pending_total, 0);

  // A charger connects and boots: its EVSE appears with its number.
  const cp = new SimCharger({ id: 'CP-01', version: 'ocpp2.0.1', port: gw.ocppPort,
    password: 'password-CP-01-xyz', phases: 3, maxCurrentA: 32, evses: 1 });
  t.after(() => cp.close());
  const mark = gw.mark();
  await cp.start();
  await gw.waitForLog(/capabilities charger=CP-01/, { since: mark });
  let state;
  for (;;) {
    const m2 = gw.mark();
    const r = await get(port, '/api/state');
    if (r.status === 200) {
      state = json(r);
      if (state.evses.length === 1) break;
    } else {
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], '1');
    }
    await gw.waitForLog(/control: allocated run=/, { since: m2 });
  }
  assert.equal(state.status.chargers.connected, 1);
  assert.equal(state.evses[0].charger, 'CP-01');
  assert.equal(state.evses[0].evse, 1);
  assert.equal(state.evses[0].connected, true);
  assert.equal(typeof state.evses[0].reason, 'string');
  assert.equal(state.evses[0].last_seen, undefined);

  // Away: when it was last heard of.
  const m3 = gw.mark();
  const before = Date.now();
  await cp.disconnect();
  await gw.waitForLog(/charger disconnected charger=CP-01/, { since: m3 });
  for (;;) {
    const r = await get(port, '/api/state');
    if (r.status === 200 && json(r).evses[0].connected === false) {
      state = json(r);
      break;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  const seen = Date.parse(state.evses[0].last_seen);
  assert.ok(seen >= before - 1000 && seen <= Date.now() + 1000, state.evses[0].last_seen);
});

test('GET /api/state: chargers waiting for approval, and a session\'s token', async (t) => {
  const dir = tmpDir();
  const cfg = baseConfig(dir);
  cfg.ocpp.allow_unknown_chargers = true;
  cfg.web = { listen: '127.0.0.1:0', root: dir };
  const gw = await startGateway(cfg, { dir });
  t.after(() => gw.stop());
  const m = await gw.waitForLog(/web: page at http:\/\/127\.0\.0\.1:(\d+)\//);
  const port = Number(m[1]);
  await login(gw, port);

  const stranger = new SimCharger({ id: 'CP-NEW', version: 'ocpp1.6', port: gw.ocppPort });
  t.after(() => stranger.close());
  assert.equal((await stranger.start()).status, 'Pending');
  assert.equal((await stranger.boot()).status, 'Pending');
  let s = json(await get(port, '/api/state'));
  assert.equal(s.pending_total, 1);
  assert.equal(s.pending.length, 1);
  const p = s.pending[0];
  assert.equal(p.id, 'CP-NEW');
  assert.equal(p.address, '127.0.0.1');
  assert.equal(p.version, 'ocpp1.6');
  assert.equal(p.attempts, 2);
  assert.equal(p.connected, true);
  assert.ok(Math.abs(Date.parse(p.last_seen) - Date.now()) < 10000, p.last_seen);

  // Gone, it still waits (until forgotten or approved).
  const mark = gw.mark();
  await stranger.disconnect();
  await gw.waitForLog(/charger disconnected charger=CP-NEW/, { since: mark });
  s = json(await get(port, '/api/state'));
  assert.equal(s.pending_total, 1);
  assert.equal(s.pending[0].connected, false);

  // A configured charger's session shows its token.
  const cp = new SimCharger({ id: 'CP-01', version: 'ocpp1.6', port: gw.ocppPort,
    password: 'password-CP-01-xyz', phases: 3, maxCurrentA: 32, evses: 1 });
  t.after(() => cp.close());
  const m2 = gw.mark();
  await cp.start();
  await gw.waitForLog(/capabilities charger=CP-01/, { since: m2 });
  const m3 = gw.mark();
  await cp.call('StartTransaction', { connectorId: 1, idTag: '04A2B3C4D5', meterStart: 0,
    timestamp: new Date().toISOString() });
  await gw.waitForLog(/session started charger=CP-01/, { since: m3 });
  for (;;) {
    const m4 = gw.mark();
    const r = await get(port, '/api/state');
    if (r.status === 200) {
      s = json(r);
      if (s.evses.length === 1 && s.evses[0].session) break;
    }
    await gw.waitForLog(/control: allocated run=/, { since: m4 });
  }
  assert.equal(s.evses[0].session.id_token, '04A2B3C4D5');
  // What is allocated below a circuit is what its EVSEs were given.
  const rowA = s.circuits.find((c) => c.id === 'row-a');
  const main = s.circuits.find((c) => c.id === 'main');
  assert.deepEqual(rowA.allocated_a, main.allocated_a);
  assert.ok(rowA.allocated_a[0] > 0, JSON.stringify(rowA));
});

test('the API answers bad requests in JSON', async (t) => {
  const port = await withPage(t);
  const none = await get(port, '/api/nothing');
  assert.equal(none.status, 404);
  assert.equal(none.headers['content-type'], 'application/json');
  assert.equal(json(none).error, 'no such endpoint');
  secure(none);
  const post = await raw(port, 'POST /api/state HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
  assert.equal(post.headers['content-type'], 'application/json');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET');
  assert.match(json(post).error, /method not allowed/);
});

test('a missing page folder is said once and stops nothing', async (t) => {
  const dir = tmpDir();
  const cfg = baseConfig(dir);
  cfg.web = { listen: '127.0.0.1:0', root: path.join(dir, 'no-such-folder') };
  const gw = await startGateway(cfg, { dir });
  t.after(() => gw.stop());
  await gw.waitForLog(/web: cannot open web\.root .*no-such-folder: No such file or directory; the page's files are not served/);
  const m = await gw.waitForLog(/web: page at http:\/\/127\.0\.0\.1:(\d+)\//);
  const port = Number(m[1]);
  await login(gw, port);
  const page = await get(port, '/');
  assert.equal(page.status, 404);
  secure(page);
  const state = await get(port, '/api/state');
  assert.equal(state.status, 200);
  assert.equal(json(state).status.chargers.configured, 2);
});
