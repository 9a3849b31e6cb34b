'use strict';
// The client side of the transport (what the uplink will use) against an
// independent server: ocpp-rpc's RPCServer in strict mode. The client is
// tests/tools/ocpp_client.c, built on our ws client and rpc layer; it prints
// one line per event, which the tests wait for.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const { RPCServer } = require('ocpp-rpc');
const { tmpDir } = require('./lib/gateway');
const { makeCerts } = require('./lib/certs');

const TOOL = path.join(process.env.SITEGATE_TOOLS ||
  path.resolve(__dirname, '../../build/asan/tools'), 'ocpp_client');
const certs = makeCerts(path.join(tmpDir('sg-client-'), 'pki'));

const BOOT16 = JSON.stringify({ chargePointVendor: 'Acme', chargePointModel: 'X1' });
const BOOT201 = JSON.stringify({ reason: 'PowerUp', chargingStation: { model: 'X1', vendorName: 'Acme' } });

// Run the tool; lines arrive as events, waitLine(re) resolves on the first
// match at or after `since`.
function runTool(args) {
  const p = spawn(TOOL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const t = { lines: [], stderr: '', waiters: [] };
  let partial = '';
  p.stdout.setEncoding('utf8');
  p.stdout.on('data', (d) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop();
    for (const line of parts) {
      t.lines.push(line);
      t.waiters = t.waiters.filter((w) => !w(line));
    }
  });
  p.stderr.on('data', (d) => { t.stderr += d; });
  t.exited = new Promise((resolve) => p.on('close', (code) => resolve(code)));
  t.waitLine = (re, ms = 10000) => new Promise((resolve, reject) => {
    const hit = t.lines.find((l) => re.test(l));
    if (hit) return resolve(hit);
    const timer = setTimeout(() => reject(new Error(`no line ${re}\n${t.lines.join('\n')}\n${t.stderr}`)), ms);
    t.waiters.push((line) => {
      if (!re.test(line)) return false;
      clearTimeout(timer);
      resolve(line);
      return true;
    });
  });
  t.finish = async () => {
    const code = await t.exited;
    assert.doesNotMatch(t.stderr, /AddressSanitizer|LeakSanitizer|runtime error/);
    return code;
  };
  return t;
}

// An RPCServer that answers BootNotification and Heartbeat, and before
// answering the first Heartbeat makes a Reset CALL of its own (so both
// directions have a call in flight at once).
function makeCsms({ protocols = ['ocpp1.6'], password = 'secret-password-16' } = {}) {
  const server = new RPCServer({ protocols, strictMode: true });
  const seen = { resets: [], identities: [] };
  server.auth((accept, reject, handshake) => {
    if (password !== null && (!handshake.password || handshake.password.toString() !== password)) {
      reject(401, 'Unauthorized');
      return;
    }
    seen.identities.push(handshake.identity);
    accept();
  });
  server.on('client', (c) => {
    c.handle('BootNotification', () => ({
      status: 'Accepted', currentTime: new Date().toISOString(), interval: 60,
    }));
    c.handle('Heartbeat', async () => {
      const r = await c.call('Reset', { type: c.protocol === 'ocpp1.6' ? 'Soft' : 'Immediate' });
      seen.resets.push(r);
      return { currentTime: new Date().toISOString() };
    });
  });
  return { server, seen };
}

async function listenPlain(server, port = 0) {
  const http = await server.listen(port, '127.0.0.1');
  return http.address().port;
}

async function listenTls(server, cert, extra = {}) {
  const s = https.createServer({
    cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key), ...extra,
  });
  s.on('upgrade', server.handleUpgrade);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return { https: s, port: s.address().port };
}

for (const [version, boot, reset] of [
  ['ocpp1.6', BOOT16, '{"type":"Soft"}'],
  ['ocpp2.0.1', BOOT201, '{"type":"Immediate"}'],
]) {
  test(`client, plain ws, ${version}: calls both ways, clean close`, async () => {
    const { server, seen } = makeCsms({ protocols: [version] });
    const port = await listenPlain(server);
    try {
      const t = runTool(['--url', `ws://127.0.0.1:${port}/ocpp`, '--id', 'SITE-1', '--protocol', version,
        '--password', 'secret-password-16', '--call', 'BootNotification', boot, '--call', 'Heartbeat', '{}']);
      assert.equal(await t.finish(), 0, t.lines.join('\n') + t.stderr);
      assert.equal(t.lines[0], `open protocol=${version}`);
      assert.match(t.lines[1], /^result BootNotification \{.*"status":"Accepted"/);
      assert.equal(t.lines[2], `inbound Reset ${reset}`);
      assert.match(t.lines[3], /^result Heartbeat \{"currentTime":"/);
      assert.equal(t.lines[4], 'closed code=1000 http=101 reason="done"');
      assert.equal(t.lines[5], 'done');
      assert.deepEqual(seen.identities, ['SITE-1']);
      assert.deepEqual(seen.resets, [{ status: 'Accepted' }]);
    } finally {
      await server.close();
    }
  });
}

test('client: wrong password, no password, and a server without our subprotocol', async () => {
  const { server } = makeCsms({ protocols: ['ocpp2.0.1'] });
  const port = await listenPlain(server);
  try {
    for (const [args, reason] of [
      [['--protocol', 'ocpp2.0.1', '--password', 'not-the-password!'], 'HTTP 401 Unauthorized'],
      [['--protocol', 'ocpp2.0.1'], 'HTTP 401 Unauthorized'],
      [['--protocol', 'ocpp1.6', '--password', 'secret-password-16'], 'the server accepted no subprotocol'],
    ]) {
      const t = runTool(['--url', `ws://127.0.0.1:${port}/ocpp`, '--id', 'SITE-1', '--give-up-ms', '0',
        '--call', 'Heartbeat', '{}', ...args]);
      assert.equal(await t.finish(), 2, t.lines.join('\n'));
      assert.match(t.lines[0], new RegExp(`^closed code=1006 http=(401|101) reason="${reason}"$`));
      assert.equal(t.lines[1], 'give-up');
      assert.ok(!t.lines.some((l) => l.startsWith('open')));
    }
  } finally {
    await server.close();
  }
});

test('client over TLS: server verified by CA and host name, client certificate', async () => {
  const { server } = makeCsms({ protocols: ['ocpp2.0.1'] });
  const good = await listenTls(server, certs.server);
  const clientCa = await listenTls(server, certs.server, {
    requestCert: true, rejectUnauthorized: true, ca: fs.readFileSync(certs.ca.cert),
  });
  const badHost = await listenTls(server, certs.wrongHost);
  const common = ['--id', 'SITE-1', '--protocol', 'ocpp2.0.1', '--password', 'secret-password-16',
    '--call', 'BootNotification', BOOT201, '--give-up-ms', '0'];
  try {
    // By name (resolved without blocking, tried address by address) and
    // by IP address.
    for (const host of ['localhost', '127.0.0.1']) {
      const t = runTool(['--url', `wss://${host}:${good.port}/ocpp`, '--ca', certs.ca.cert, ...common]);
      assert.equal(await t.finish(), 0, t.lines.join('\n') + t.stderr);
      assert.match(t.lines[1], /^result BootNotification .*Accepted/);
    }
    // A CA that did not sign the server's certificate.
    let t = runTool(['--url', `wss://localhost:${good.port}/ocpp`, '--ca', certs.otherCa.cert, ...common]);
    assert.equal(await t.finish(), 2);
    assert.match(t.lines[0], /^closed code=1006 http=0 reason="TLS: .*(unable to get local issuer|self.signed|certificate)/i);
    // The right CA, the wrong name.
    t = runTool(['--url', `wss://localhost:${badHost.port}/ocpp`, '--ca', certs.ca.cert, ...common]);
    assert.equal(await t.finish(), 2);
    assert.match(t.lines[0], /^closed code=1006 http=0 reason="TLS: .*hostname mismatch/i);
    // A server that wants a client certificate: with one, and without.
    const mine = certs.client('SITE-1');
    t = runTool(['--url', `wss://localhost:${clientCa.port}/ocpp`, '--ca', certs.ca.cert,
      '--cert', mine.cert, '--key', mine.key, ...common]);
    assert.equal(await t.finish(), 0, t.lines.join('\n') + t.stderr);
    t = runTool(['--url', `wss://localhost:${clientCa.port}/ocpp`, '--ca', certs.ca.cert, ...common]);
    assert.equal(await t.finish(), 2);
    assert.ok(!t.lines.some((l) => l.startsWith('open')));
    // Unusable options are refused before connecting.
    t = runTool(['--url', `wss://localhost:${good.port}/ocpp`, '--ca', '/nonexistent/ca.pem', ...common]);
    assert.equal(await t.finish(), 1);
    assert.match(t.lines[0], /^unusable cannot load the CA file/);
  } finally {
    for (const s of [good, clientCa, badHost]) s.https.close();
    await server.close();
  }
});

test('client: the server goes away and comes back', async () => {
  const first = makeCsms({ protocols: ['ocpp1.6'] });
  const port = await listenPlain(first.server);
  const t = runTool(['--url', `ws://127.0.0.1:${port}/ocpp`, '--id', 'SITE-1', '--protocol', 'ocpp1.6',
    '--password', 'secret-password-16', '--call', 'BootNotification', BOOT16,
    '--sessions', '2', '--retry-ms', '100', '--give-up-ms', '20000', '--timeout-ms', '30000']);
  let second;
  try {
    await t.waitLine(/^waiting$/);
    await first.server.close({ code: 1001, reason: 'maintenance' });
    await t.waitLine(/^closed code=1001 http=101 reason="maintenance"$/);
    // While it is down the client keeps trying (and failing).
    const down = t.lines.length;
    await t.waitLine(/^closed code=1006 http=0 reason="Connection refused"$/);
    assert.ok(t.lines.length > down);
    second = makeCsms({ protocols: ['ocpp1.6'] });
    await listenPlain(second.server, port);
    assert.equal(await t.finish(), 0, t.lines.join('\n') + t.stderr);
    const opens = t.lines.filter((l) => l === 'open protocol=ocpp1.6');
    const boots = t.lines.filter((l) => /^result BootNotification .*Accepted/.test(l));
    assert.equal(opens.length, 2);
    assert.equal(boots.length, 2);
    assert.equal(t.lines[t.lines.length - 1], 'done');
    assert.deepEqual(second.seen.identities, ['SITE-1']);
  } finally {
    await first.server.close();
    if (second) await second.server.close();
  }
});
