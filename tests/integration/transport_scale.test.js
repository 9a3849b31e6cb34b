'use strict';
// 200 chargers connected at once, each served.

const test = require('node:test');
const assert = require('node:assert/strict');
const { RPCClient } = require('ocpp-rpc');
const { tmpDir, baseConfig, startGateway } = require('./lib/gateway');

const N = 200;

// Wait until n log lines match re (each wait is for the next line).
async function waitForCount(gw, re, n) {
  for (;;) {
    if (gw.logs.filter((l) => re.test(l)).length >= n) return;
    await gw.waitForLog(re, { since: gw.logs.length, ms: 10000 });
  }
}

test(`${N} chargers at once, each booted and answered`, async () => {
  const cfg = baseConfig(tmpDir());
  // Configured (no password): unknown ones would wait as Pending.
  for (let i = 0; i < N; i++) {
    cfg.chargers.push({ id: `LOAD-${String(i).padStart(3, '0')}`, max_current_a: 16 });
  }
  cfg.log_level = 'info';
  const gw = await startGateway(cfg);
  const clients = [];
  try {
    for (let i = 0; i < N; i++) {
      const v = i % 2 ? 'ocpp1.6' : 'ocpp2.0.1';
      clients.push(new RPCClient({
        endpoint: `ws://127.0.0.1:${gw.ocppPort}/ocpp`,
        identity: `LOAD-${String(i).padStart(3, '0')}`,
        protocols: [v],
        strictMode: true,
        reconnect: false,
        callTimeoutMs: 20000,
      }));
    }
    await Promise.all(clients.map((c) => c.connect()));
    // All connected at the same time before anyone talks.
    assert.ok(clients.every((c) => c.state === RPCClient.OPEN));
    const results = await Promise.all(clients.map(async (c) => {
      const boot = await c.call('BootNotification', c.protocol === 'ocpp1.6'
        ? { chargePointVendor: 'Acme', chargePointModel: 'X1' }
        : { reason: 'PowerUp', chargingStation: { model: 'X1', vendorName: 'Acme' } });
      const hb = await c.call('Heartbeat', {});
      return boot.status === 'Accepted' && typeof hb.currentTime === 'string';
    }));
    assert.equal(results.filter(Boolean).length, N);
    const connected = gw.logs.filter((l) => /ocpp: charger connected charger=LOAD-\d{3} /.test(l));
    assert.equal(connected.length, N);
    await Promise.all(clients.map((c) => c.close()));
    await waitForCount(gw, /ocpp: charger disconnected charger=LOAD-\d{3} code=1000/, N);
  } finally {
    clients.forEach((c) => c.close({ force: true }).catch(() => {}));
    const r = await gw.stop();
    assert.deepEqual(r, { code: 0, signal: null }, gw.logs.slice(-30).join('\n'));
  }
});
