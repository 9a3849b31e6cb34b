'use strict';
// wss:// toward chargers: security profile 2 (TLS + Basic) and profile 3
// (client certificates), TLS versions and cipher suites. Certificates are
// made by the openssl CLI in a temporary directory (lib/certs.js).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const tls = require('node:tls');
const { RPCClient } = require('ocpp-rpc');
const { tmpDir, baseConfig, startGateway } = require('./lib/gateway');
const { makeCerts } = require('./lib/certs');

const dir = tmpDir('sg-tls-');
const certs = makeCerts(path.join(dir, 'pki'));
const CA = fs.readFileSync(certs.ca.cert);

function wssClient(port, identity, opts = {}, tlsOpts = {}) {
  return new RPCClient({
    endpoint: `wss://127.0.0.1:${port}/ocpp`,
    identity,
    protocols: ['ocpp2.0.1', 'ocpp1.6'],
    strictMode: true,
    reconnect: false,
    wsOpts: { ca: CA, ...tlsOpts },
    ...opts,
  });
}

function withCert(pair) {
  return { cert: fs.readFileSync(pair.cert), key: fs.readFileSync(pair.key) };
}

async function boot(cli) {
  const r = await cli.call('BootNotification', {
    reason: 'PowerUp', chargingStation: { model: 'X1', vendorName: 'Acme' },
  });
  assert.equal(r.status, 'Accepted');
}

// A bare TLS handshake; resolves { protocol, cipher } or rejects.
function handshake(port, opts) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: CA, ...opts }, () => {
      const r = { protocol: s.getProtocol(), cipher: s.getCipher().name };
      s.destroy();
      resolve(r);
    });
    s.once('error', reject);
  });
}

async function stopClean(gw) {
  const r = await gw.stop();
  assert.deepEqual(r, { code: 0, signal: null }, gw.logs.slice(-30).join('\n'));
}

const OCPP_TLS12 = new Set([
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384',
  'AES128-GCM-SHA256', 'AES256-GCM-SHA384',
]);

test('profile 2: TLS 1.2/1.3 with the OCPP suites, and Basic auth', async () => {
  const cfg = baseConfig(tmpDir());
  cfg.ocpp.tls = { cert: certs.server.cert, key: certs.server.key };
  const gw = await startGateway(cfg);
  try {
    const t13 = await handshake(gw.ocppPort, {});
    assert.equal(t13.protocol, 'TLSv1.3');
    const t12 = await handshake(gw.ocppPort, { maxVersion: 'TLSv1.2' });
    assert.equal(t12.protocol, 'TLSv1.2');
    assert.ok(OCPP_TLS12.has(t12.cipher), t12.cipher);
    // A suite OCPP does not list, and TLS 1.1 even from a client that
    // would take it: refused by the server.
    await assert.rejects(handshake(gw.ocppPort, {
      maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305',
    }), /SSL alert number 40/); // handshake_failure, sent by the server
    await assert.rejects(handshake(gw.ocppPort, {
      minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0',
    }), (e) => e.code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');

    const good = wssClient(gw.ocppPort, 'CP-01', { password: 'password-CP-01-xyz' });
    await good.connect();
    await boot(good);
    const mark = gw.mark();
    await assert.rejects(wssClient(gw.ocppPort, 'CP-02', { password: 'nope-nope-nope-nope' }).connect(),
      (e) => e.code === 401);
    await gw.waitForLog(/handshake refused peer=127\.0\.0\.1:\d+ charger=CP-02 status=401/, { since: mark });
    // A server certificate the client does not trust: the client refuses.
    await assert.rejects(wssClient(gw.ocppPort, 'CP-02', { password: 'password-CP-02-xyz' },
      { ca: fs.readFileSync(certs.otherCa.cert) }).connect());
    // Plain HTTP on the TLS port is a failed TLS handshake, logged.
    const m2 = gw.mark();
    const plain = new RPCClient({
      endpoint: `ws://127.0.0.1:${gw.ocppPort}/ocpp`, identity: 'CP-02',
      password: 'password-CP-02-xyz', protocols: ['ocpp1.6'], strictMode: true, reconnect: false,
    });
    await assert.rejects(plain.connect());
    await gw.waitForLog(/tls handshake failed peer=127\.0\.0\.1:\d+/, { since: m2 });
    // The good connection never noticed.
    await good.call('Heartbeat', {});
    await good.close();
  } finally {
    await stopClean(gw);
  }
});

test('profile 3: good, unknown, missing and mismatched client certificates', async () => {
  const cfg = baseConfig(tmpDir());
  cfg.ocpp.tls = { cert: certs.server.cert, key: certs.server.key, client_ca: certs.ca.cert };
  cfg.chargers.push({ id: 'CP-03', max_current_a: 16, phases: 1, phase_rotation: 'L3',
    circuit: 'row-a', priority: 0 });
  const gw = await startGateway(cfg);
  try {
    const good = wssClient(gw.ocppPort, 'CP-03', {}, withCert(certs.client('CP-03')));
    await good.connect();
    await boot(good);

    // Signed by a CA the gateway does not know: the TLS handshake fails.
    let mark = gw.mark();
    await assert.rejects(wssClient(gw.ocppPort, 'CP-03', {}, withCert(certs.stranger('CP-03'))).connect());
    await gw.waitForLog(/tls handshake failed peer=127\.0\.0\.1:\d+ error="TLS: .*certificate/, { since: mark });

    // No certificate, and no password configured: 401.
    mark = gw.mark();
    await assert.rejects(wssClient(gw.ocppPort, 'CP-03').connect(), (e) => e.code === 401);
    await gw.waitForLog(/handshake refused peer=127\.0\.0\.1:\d+ charger=CP-03 status=401/, { since: mark });

    // A valid certificate of another charger: 401.
    mark = gw.mark();
    await assert.rejects(wssClient(gw.ocppPort, 'CP-03', {}, withCert(certs.client('CP-02'))).connect(),
      (e) => e.code === 401);
    await gw.waitForLog(/certificate names another charger peer=127\.0\.0\.1:\d+ charger=CP-03 cn=CP-02/, { since: mark });

    // On the same port: CP-01 with its password (profile 2), CP-02 with
    // its certificate and no password (profile 3).
    const byPassword = wssClient(gw.ocppPort, 'CP-01', { password: 'password-CP-01-xyz', protocols: ['ocpp1.6'] });
    await byPassword.connect();
    const byCert = wssClient(gw.ocppPort, 'CP-02', {}, withCert(certs.client('CP-02')));
    await byCert.connect();
    await boot(byCert);

    await good.call('Heartbeat', {});
    await Promise.all([good.close(), byPassword.close(), byCert.close()]);
  } finally {
    await stopClean(gw);
  }
});

test('unreadable TLS files stop the gateway at start with exit code 4', async () => {
  const cfg = baseConfig(tmpDir());
  cfg.ocpp.tls = { cert: path.join(dir, 'missing.crt'), key: certs.server.key };
  const gw = await startGateway(cfg, { waitReady: false });
  const exit = await gw.exited;
  assert.equal(exit.code, 4);
  assert.ok(gw.logs.some((l) => /ocpp: cannot start: cannot load the certificate .*missing\.crt/.test(l)),
    gw.logs.join('\n'));
});
