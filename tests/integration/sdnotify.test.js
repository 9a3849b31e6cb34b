'use strict';
// The systemd contract (Type=notify, WatchdogSec=): the real binary started
// with NOTIFY_SOCKET pointing at a datagram socket that tests/tools/notify_rx
// binds, and WATCHDOG_USEC. READY=1 once a charger can connect, WATCHDOG=1
// from the loop, RELOADING=1/READY=1 around SIGHUP, STOPPING=1 at SIGTERM,
// then the "stopped" log line last. The ready line names both URLs.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { RPCClient } = require('ocpp-rpc');
const { tmpDir, baseConfig, startGateway } = require('./lib/gateway');

const TOOLS = process.env.SITEGATE_TOOLS || path.resolve(__dirname, '../../build/asan/tools');
const REPO = path.resolve(__dirname, '../..');
const WATCHDOG_USEC = 200000;	// pings every 100 ms
const PING_MS = WATCHDOG_USEC / 2000;

// notify_rx on a path in dir; each datagram as { at, fields: ['READY=1', ...] }.
// waitFor(pred, { since, ms }) resolves with the first message from index
// `since` on that pred accepts.
async function startReceiver(dir) {
  const sock = path.join(dir, 'notify.sock');
  const proc = spawn(path.join(TOOLS, 'notify_rx'), [sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rx = { sock, proc, msgs: [], waiters: [] };
  let partial = '';
  let bound;
  const isBound = new Promise((resolve, reject) => {
    bound = resolve;
    proc.on('error', reject);
    proc.on('exit', (code) => reject(new Error(`notify_rx exited ${code}`)));
  });
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      if (line.startsWith('bound ')) { bound(); continue; }
      const msg = { at: Date.now(), fields: line.split('\\n') };
      rx.msgs.push(msg);
      const index = rx.msgs.length - 1;
      rx.waiters = rx.waiters.filter((w) => {
        if (index < w.since || !w.pred(msg)) return true;
        clearTimeout(w.timer);
        w.resolve(msg);
        return false;
      });
    }
  });
  rx.mark = () => rx.msgs.length;
  rx.waitFor = (pred, { since = 0, ms = 10000 } = {}) => {
    for (let i = since; i < rx.msgs.length; i++) if (pred(rx.msgs[i])) return Promise.resolve(rx.msgs[i]);
    return new Promise((resolve, reject) => {
      const w = { pred, since, resolve };
      w.timer = setTimeout(() => {
        rx.waiters = rx.waiters.filter((x) => x !== w);
        reject(new Error(`no notification matching ${pred} within ${ms} ms; got:\n` +
          rx.msgs.slice(-20).map((m) => m.fields.join(' | ')).join('\n')));
      }, ms);
      rx.waiters.push(w);
    });
  };
  rx.count = (field, since = 0) => rx.msgs.slice(since).filter((m) => m.fields.includes(field)).length;
  rx.stop = () => { proc.removeAllListeners('exit'); proc.kill('SIGTERM'); };
  await isBound;
  return rx;
}

const has = (field) => Object.defineProperty((m) => m.fields.includes(field), 'name', { value: field });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Connect CP-01 over OCPP and close again: proves the listener serves.
async function chargerConnects(url) {
  const cli = new RPCClient({
    endpoint: url.replace(/\/<id>$/, ''),
    identity: 'CP-01',
    protocols: ['ocpp1.6'],
    password: 'password-CP-01-xyz',
    reconnect: false,
  });
  await cli.connect();
  await cli.close({ force: true });
}

test('READY=1 once a charger can connect; reload, watchdog, stop, last line', async () => {
  const dir = tmpDir('sg-notify-');
  const rx = await startReceiver(dir);
  let gw;
  try {
    gw = await startGateway(baseConfig(dir), {
      dir, waitReady: false,
      env: { NOTIFY_SOCKET: rx.sock, WATCHDOG_USEC: String(WATCHDOG_USEC) },
    });
    const ready = await rx.waitFor(has('READY=1'), { ms: 15000 });
    assert.ok(ready.fields.some((f) => /^STATUS=ready: chargers on ws:\/\/127\.0\.0\.1:\d+\/ocpp\/<id>$/.test(f)),
      ready.fields.join(' | '));
    // The log's ready line (written just before the notification) names
    // the URL chargers connect to, with the bound port, and the page (off).
    const line = await gw.waitForLog(/\bgateway: ready .* chargers=(ws:\/\/127\.0\.0\.1:(\d+)\/ocpp\/<id>) page=off$/, { ms: 5000 });
    assert.equal(Number(line[2]), gw.ocppPort);
    assert.equal(rx.count('READY=1'), 1, 'one READY=1 at start');
    await chargerConnects(line[1]);

    // The watchdog: pinged repeatedly from the loop.
    await gw.waitForLog(new RegExp(`gateway: watchdog ping_ms=${PING_MS}\\b`));
    let m = rx.mark();
    for (let i = 0; i < 5; i++) {
      await rx.waitFor(has('WATCHDOG=1'), { since: m });
      m = rx.mark();
    }

    // SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1 again.
    m = rx.mark();
    gw.signal('SIGHUP');
    const reloading = await rx.waitFor(has('RELOADING=1'), { since: m });
    assert.ok(reloading.fields.some((f) => /^MONOTONIC_USEC=\d+$/.test(f)), reloading.fields.join(' | '));
    const again = await rx.waitFor(has('READY=1'), { since: rx.msgs.indexOf(reloading) + 1 });
    assert.ok(again.at >= reloading.at);
    await gw.waitForLog(/config: reloaded/);

    // SIGTERM: STOPPING=1, a clean exit, and the stopped line last.
    m = rx.mark();
    gw.signal('SIGTERM');
    await rx.waitFor(has('STOPPING=1'), { since: m });
    const exit = await gw.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, gw.logs.slice(-20).join('\n'));
    const last = gw.logs.filter((l) => l !== '').pop();
    assert.match(last, /\bgateway: stopped exit=0$/);
  } finally {
    if (gw) await gw.kill();
    rx.stop();
  }
});

test('a hung loop stops the watchdog pings; they resume with it', async () => {
  const dir = tmpDir('sg-notify-');
  const rx = await startReceiver(dir);
  let gw;
  try {
    gw = await startGateway(baseConfig(dir), {
      dir, env: { NOTIFY_SOCKET: rx.sock, WATCHDOG_USEC: String(WATCHDOG_USEC) },
    });
    await rx.waitFor(has('WATCHDOG=1'));
    // The loop stops (as a hung one would). A ping already on its way may
    // still arrive: let the pipe drain for 3 periods, then expect none for
    // 10 periods (1 s). The absence over a measured interval is the point
    // of a watchdog; the interval is generous against a 100 ms period.
    gw.signal('SIGSTOP');
    await sleep(3 * PING_MS);
    const m = rx.mark();
    await sleep(10 * PING_MS);
    assert.equal(rx.count('WATCHDOG=1', m), 0, 'no ping while the loop is stopped');
    gw.signal('SIGCONT');
    await rx.waitFor(has('WATCHDOG=1'), { since: m });
    await rx.waitFor(has('WATCHDOG=1'), { since: rx.mark() });
  } finally {
    if (gw) {
      gw.signal('SIGCONT');
      await gw.stop();
    }
    rx.stop();
  }
});

test('the ready line names the page when the web section is on; no watchdog without WATCHDOG_USEC', async () => {
  const dir = tmpDir('sg-notify-');
  const rx = await startReceiver(dir);
  const cfg = baseConfig(dir);
  cfg.web = { listen: '127.0.0.1:0', root: path.join(REPO, 'web') };
  let gw;
  try {
    gw = await startGateway(cfg, { dir, env: { NOTIFY_SOCKET: rx.sock } });
    const page = await gw.waitForLog(/\bweb: page at (http:\/\/127\.0\.0\.1:\d+\/) /);
    await gw.waitForLog(new RegExp(`gateway: ready .* chargers=ws://127\\.0\\.0\\.1:${gw.ocppPort}/ocpp/<id> page=${page[1]}$`));
    const ready = await rx.waitFor(has('READY=1'));
    assert.ok(ready.fields.includes(`STATUS=ready: chargers on ws://127.0.0.1:${gw.ocppPort}/ocpp/<id>, page on ${page[1]}`),
      ready.fields.join(' | '));
    assert.ok(!gw.logs.some((l) => /gateway: watchdog/.test(l)));
  } finally {
    if (gw) await gw.stop();
    rx.stop();
  }
  assert.equal(rx.count('WATCHDOG=1'), 0);
});
