'use strict';
// The uplink: the whole site as one charge point toward an upstream CSMS
// (an ocpp-rpc RPCServer in strict mode, which validates every message it
// receives and every answer to its own calls). The translation matrix:
// a 1.6 and a 2.0.1 charger through whole sessions under a 1.6 and under a
// 2.0.1 upstream; EVSE numbers stable across a restart; Authorize in
// upstream mode, online and offline.

const test = require('node:test');
const assert = require('node:assert/strict');
const { tmpDir, startGateway } = require('./lib/gateway');
const { startUpstream } = require('./lib/upstream');
const { upConfig, charger, session, status, txMessages } = require('./lib/uplink_env');

// The EVSE number the upstream saw for the next status matching pred.
async function numberOf(up, since, statusWord) {
  const c = await up.waitFor((e) => e.action === 'StatusNotification' &&
    (e.params.status || e.params.connectorStatus) === statusWord &&
    (e.params.connectorId !== 0 || e.params.evseId !== undefined), { since });
  return c.params.evseId !== undefined ? c.params.evseId : c.params.connectorId;
}

for (const upVersion of ['ocpp1.6', 'ocpp2.0.1']) {
  test(`whole sessions of a 1.6 and a 2.0.1 charger under a ${upVersion} upstream`, async () => {
    const up = await startUpstream({ protocol: upVersion });
    const dir = tmpDir();
    let gw = await startGateway(upConfig(dir, up), { dir });
    const clis = [];
    try {
      const boot = await up.waitFor('BootNotification');
      if (upVersion === 'ocpp1.6') {
        assert.equal(boot.params.chargePointVendor, 'sitegate');
        assert.equal(boot.params.chargePointSerialNumber, 'test-site');
        // the gateway itself: connector 0
        await up.waitFor((e) => e.action === 'StatusNotification' && e.params.connectorId === 0);
      } else {
        assert.equal(boot.params.chargingStation.vendorName, 'sitegate');
      }
      let mark = up.calls.length;
      const a = await charger(gw, 'CP-01', 'ocpp1.6');
      clis.push(a);
      const nA = await numberOf(up, mark, 'Available');
      mark = up.calls.length;
      const b = await charger(gw, 'CP-02', 'ocpp2.0.1');
      clis.push(b);
      const nB = await numberOf(up, mark, 'Available');
      assert.notEqual(nA, nB);

      const sa = session(a, 1, '04A2B3C4D5');
      const sb = session(b, 1, '04A2B3C4D5', 'TX-B-1');
      mark = up.calls.length;
      await sa.start(1000);
      await sb.start(5000);
      await sa.meter(1500);
      await sb.meter(5500);
      // a periodic meter value of each reaches the upstream
      const starts = (await Promise.all([
        up.waitFor((e) => txMessages({ calls: [e] }).some((m) => m.kind === 'start' && m.evse === nA), { since: mark }),
        up.waitFor((e) => txMessages({ calls: [e] }).some((m) => m.kind === 'start' && m.evse === nB), { since: mark }),
      ]));
      assert.equal(starts.length, 2);
      await up.waitFor(() => txMessages(up).filter((m) => m.kind === 'meter').length >= 2);
      await sa.stop(2000);
      await sb.stop(6000);
      await up.waitFor(() => txMessages(up).filter((m) => m.kind === 'stop').length === 2);

      const msgs = txMessages(up);
      if (upVersion === 'ocpp1.6') {
        // the upstream's ids: one per session, used by its meter values and stop
        const ids = up.of('StartTransaction').map((_, i) => 1000 + i);
        for (const m of msgs.filter((x) => x.kind !== 'start')) assert.ok(ids.includes(m.tx), JSON.stringify(m));
        const stops = msgs.filter((m) => m.kind === 'stop');
        assert.deepEqual(stops.map((m) => m.meter).sort(), [2000, 6000]);
      } else {
        const byTx = {};
        for (const m of msgs) (byTx[m.tx] = byTx[m.tx] || []).push(m);
        assert.equal(Object.keys(byTx).length, 2);
        for (const list of Object.values(byTx)) {
          assert.equal(list[0].kind, 'start');
          assert.equal(list[list.length - 1].kind, 'stop');
          assert.deepEqual(list.map((m) => m.seqNo), list.map((_, i) => i), 'seqNo 0, 1, 2 ...');
          assert.ok(list.every((m) => !m.offline));
        }
        assert.deepEqual(Object.values(byTx).map((l) => l[0].evse).sort(), [nA, nB].sort());
      }
      assert.deepEqual(up.failures, [], 'every message valid in strict mode');

      // EVSE numbers survive a restart of the gateway.
      for (const c of clis.splice(0)) await c.close({ force: true });
      await gw.stop();
      const connects = up.connects;
      gw = await startGateway(null, { dir });
      await up.connected(connects + 1);
      mark = up.calls.length;
      const a2 = await charger(gw, 'CP-01', 'ocpp1.6');
      clis.push(a2);
      await status(a2, 1, 'Faulted');
      assert.equal(await numberOf(up, mark, 'Faulted'), nA);
      mark = up.calls.length;
      const b2 = await charger(gw, 'CP-02', 'ocpp2.0.1');
      clis.push(b2);
      await status(b2, 1, 'Faulted');
      assert.equal(await numberOf(up, mark, 'Faulted'), nB);
      assert.deepEqual(up.failures, []);
    } finally {
      for (const c of clis) await c.close({ force: true });
      await gw.stop();
      await up.stop();
    }
  });
}

test('Authorize in upstream mode: forwarded and cached online; local list, cache, policy offline', async () => {
  const up = await startUpstream({
    protocol: 'ocpp2.0.1', authorize: (t) => (t === 'BAD-1' ? 'Blocked' : 'Accepted'),
  });
  const dir = tmpDir();
  const cfg = upConfig(dir, up, { reconnect_max_s: 60 });
  cfg.authorization.mode = 'upstream';
  const gw = await startGateway(cfg, { dir });
  let cli;
  try {
    await up.waitFor('BootNotification');
    await gw.waitForLog(/uplink: link state=accepted/);
    cli = await charger(gw, 'CP-01', 'ocpp1.6');
    const auth = async (t) => (await cli.call('Authorize', { idTag: t })).idTagInfo.status;
    assert.equal(await auth('GOOD-1'), 'Accepted');
    assert.equal(await auth('BAD-1'), 'Blocked');
    assert.deepEqual(up.of('Authorize').map((c) => c.params.idToken.idToken), ['GOOD-1', 'BAD-1']);
    // The uplink goes down: no more questions upstream.
    const mark = gw.mark();
    await up.stop();
    await gw.waitForLog(/uplink: link state=backoff/, { since: mark });
    assert.equal(await auth('GOOD-1'), 'Accepted', 'from the cache');
    assert.equal(await auth('BAD-1'), 'Blocked', 'from the cache');
    assert.equal(await auth('04A2B3C4D5'), 'Accepted', 'from the local list');
    assert.equal(await auth('NOBODY-7'), 'Invalid', 'offline policy: reject unknown');
    // A session starts offline with a cached token.
    const r = await cli.call('StartTransaction', { connectorId: 1, idTag: 'GOOD-1', meterStart: 0,
      timestamp: new Date().toISOString() });
    assert.equal(r.idTagInfo.status, 'Accepted');
    assert.equal(up.of('Authorize').length, 2);
  } finally {
    if (cli) await cli.close({ force: true });
    await gw.stop();
    await up.stop();
  }
});

test('boot Rejected, then Pending, then Accepted: nothing but BootNotification until accepted', async () => {
  const up = await startUpstream({ protocol: 'ocpp1.6', boot: 'Rejected', interval: 1 });
  const dir = tmpDir();
  const gw = await startGateway(upConfig(dir, up), { dir });
  try {
    await up.waitFor('BootNotification');
    await gw.waitForLog(/uplink: boot status=rejected interval=1/);
    up.boot = 'Pending';
    await gw.waitForLog(/uplink: boot status=pending interval=1/);
    assert.ok(up.calls.every((c) => c.action === 'BootNotification'), 'only boots so far');
    // Pending: the upstream's requests are served
    assert.equal((await up.call('GetConfiguration', { key: ['HeartbeatInterval'] })).configurationKey[0].key,
      'HeartbeatInterval');
    up.boot = 'Accepted';
    await up.waitFor((e) => e.action === 'StatusNotification' && e.params.connectorId === 0);
    assert.ok(up.of('BootNotification').length >= 3);
    assert.deepEqual(up.failures, []);
  } finally {
    await gw.stop();
    await up.stop();
  }
});

test('a transaction message refused with a CALLERROR is retried, then delivered once', async () => {
  const up = await startUpstream({ protocol: 'ocpp1.6' });
  const dir = tmpDir();
  const gw = await startGateway(upConfig(dir, up, { message_attempts: 3, retry_interval_s: 1 }), { dir });
  let cli;
  try {
    await gw.waitForLog(/uplink: link state=accepted/);
    let refusals = 0;
    up.errorFor = (action) => action === 'StartTransaction' && refusals++ < 2;
    cli = await charger(gw, 'CP-01', 'ocpp1.6');
    const s = session(cli, 1, '04A2B3C4D5');
    await s.start(10);
    await gw.waitForLog(/uplink: outbox message failed .*attempt=2 of 3/);
    await s.stop(20);
    const stop = await up.waitFor('StopTransaction');
    const starts = up.of('StartTransaction');
    assert.equal(starts.length, 3, 'two refusals, then the answer');
    assert.equal(stop.params.transactionId, 1000, 'the id of the one answer');
    assert.deepEqual(up.failures, []);
  } finally {
    if (cli) await cli.close({ force: true });
    await gw.stop();
    await up.stop();
  }
});
