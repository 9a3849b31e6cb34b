'use strict';
// What a charger re-sends and what a session reports, toward both
// upstream versions:
// - a 1.6 StartTransaction sent again because its answer was lost (the
//   gateway died or the connection dropped after storing it) is the same
//   transaction: the same transactionId, one start upstream, no orphan;
// - readings belong to their session: a new session never reports the
//   reading the last one left on the EVSE (energy below its meterStart,
//   the last car's current), not even when the upstream asks for meter
//   values at once (TriggerMessage).
// Both failed before the fix: the repeated start replaced the session
// (Start, Stop "Other", Start upstream; three repeats, three orphans on a
// 1.6 upstream), and the trigger sent the previous session's 1500 Wh.

const test = require('node:test');
const assert = require('node:assert/strict');
const { tmpDir, startGateway } = require('./lib/gateway');
const { startUpstream } = require('./lib/upstream');
const { upConfig, charger, session, status, txMessages, now } = require('./lib/uplink_env');

// The energy registers a MeterValues / TransactionEvent carries, in Wh.
function energies(call) {
  const mvs = call.params.meterValue || [];
  const out = [];
  for (const mv of mvs) {
    for (const sv of mv.sampledValue) {
      if ((sv.measurand || 'Energy.Active.Import.Register') !== 'Energy.Active.Import.Register') continue;
      const unit = sv.unit || (sv.unitOfMeasure && sv.unitOfMeasure.unit) || 'Wh';
      out.push(Number(sv.value) * (unit === 'kWh' ? 1000 : 1));
    }
  }
  return out;
}

// The upstream's meter updates for transaction tx (its own id for 1.6).
function updatesOf(up, tx) {
  return up.calls.filter((c) => (c.action === 'MeterValues' && c.params.transactionId === tx) ||
    (c.action === 'TransactionEvent' && c.params.eventType === 'Updated' &&
      c.params.transactionInfo.transactionId === tx));
}

// A gateway with an upstream of version upVersion and a 1.6 charger
// CP-01, booted: fn(gw, up, cli); everything stopped afterwards.
async function withSite(upVersion, fn) {
  const up = await startUpstream({ protocol: upVersion });
  const dir = tmpDir();
  const gw = await startGateway(upConfig(dir, up), { dir });
  let cli;
  try {
    await gw.waitForLog(/uplink: link state=accepted/);
    cli = await charger(gw, 'CP-01', 'ocpp1.6');
    await fn(gw, up, cli);
    assert.deepEqual(up.failures, []);
  } finally {
    if (cli) await cli.close({ force: true });
    await gw.stop();
    await up.stop();
  }
}

for (const upVersion of ['ocpp1.6', 'ocpp2.0.1']) {
  test(`a repeated 1.6 StartTransaction is the same transaction (${upVersion} upstream)`, () =>
    withSite(upVersion, async (gw, up, cli) => {
      await status(cli, 1, 'Occupied');
      const start = { connectorId: 1, idTag: '04A2B3C4D5', meterStart: 1200, timestamp: now() };
      const first = await cli.call('StartTransaction', start);
      // The charger never saw that answer: it sends the same message again.
      for (let i = 0; i < 3; i++) {
        const again = await cli.call('StartTransaction', start);
        assert.equal(again.transactionId, first.transactionId, 'the same transaction id');
        assert.equal(again.idTagInfo.status, first.idTagInfo.status);
      }
      assert.ok(gw.logs.some((l) => /start repeated charger=CP-01 evse=1/.test(l)));
      await cli.call('StopTransaction', { transactionId: first.transactionId, meterStop: 3400, timestamp: now(), reason: 'Local' });
      await up.waitFor(() => txMessages(up).some((m) => m.kind === 'stop'));
      await gw.waitForLog(/uplink: acknowledged seq=\d+ action=(StopTransaction|TransactionEvent)/);
      const msgs = txMessages(up).filter((m) => m.kind !== 'meter');
      assert.deepEqual(msgs.map((m) => m.kind), ['start', 'stop'], 'one start, one stop upstream');
      if (upVersion === 'ocpp1.6') {
        const upTx = up.of('StartTransaction').length;
        assert.equal(upTx, 1);
        assert.equal(msgs[1].tx, 1000, 'the stop names the transaction the upstream issued');
        assert.equal(msgs[1].meter, 3400);
      }
    }));

  test(`a new session never reports the last session's reading (${upVersion} upstream)`, () =>
    withSite(upVersion, async (gw, up, cli) => {
      const one = session(cli, 1, '04A2B3C4D5');
      await one.start(1000);
      await one.meter(1500);
      await one.stop(2000);
      const two = session(cli, 1, '04A2B3C4D5');
      await two.start(2000);
      await up.waitFor(() => txMessages(up).filter((m) => m.kind === 'start').length === 2);
      const upTx = upVersion === 'ocpp1.6' ? up.nextTx - 1 : String(two.txId);
      // Asked at once, before the new session has a reading of its own.
      const r = await up.call('TriggerMessage', { requestedMessage: 'MeterValues' });
      assert.equal(r.status, 'Accepted');
      const mark = gw.mark();
      await two.meter(2100);
      await gw.waitForLog(/uplink: queued seq=\d+ action=(MeterValues|TransactionEvent)/, { since: mark });
      await up.waitFor(() => updatesOf(up, upTx).length > 0);
      const seen = updatesOf(up, upTx).flatMap(energies);
      assert.ok(seen.length > 0);
      for (const wh of seen) assert.ok(wh >= 2000, `session two reported ${wh} Wh, below its meterStart 2000`);
      assert.ok(seen.includes(2100));
    }));
}
