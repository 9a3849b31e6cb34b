'use strict';
// No number (and no string) from a charger is taken unchecked (issue 12):
// 1.6 meter values are strict decimals, every integer fits what the model
// holds, energies stay below 1e15 Wh, EVSE and connector ids stay within
// what the charger's configuration allows, and a string with U+0000 is
// refused rather than cut. Each refusal is the precise CALLERROR naming the
// field; the charger stays connected and served.
//
// The chargers are ocpp-rpc clients without strict mode: strict mode would
// refuse to send these payloads.

const { describe } = require('node:test');
const assert = require('node:assert/strict');
const { RPCClient } = require('ocpp-rpc');
const { tmpDir, baseConfig, startGateway } = require('./lib/gateway');
const { itScoped } = require('./lib/scope');

const PASSWORDS = { 'CP-01': 'password-CP-01-xyz', 'CP-02': 'password-CP-02-xyz' };
const now = () => new Date().toISOString();

async function gateway(sc, edit = (cfg) => cfg) {
  const gw = await startGateway(edit(baseConfig(tmpDir())));
  sc.add(async () => {
    const r = await gw.stop();
    assert.deepEqual(r, { code: 0, signal: null }, gw.logs.slice(-30).join('\n'));
  });
  return gw;
}

async function charger(sc, gw, id, protocol) {
  const cli = new RPCClient({
    endpoint: `ws://127.0.0.1:${gw.ocppPort}/ocpp`, identity: id, protocols: [protocol],
    password: PASSWORDS[id], strictMode: false, reconnect: false, callTimeoutMs: 5000,
  });
  await cli.connect();
  sc.add(() => cli.close());
  return cli;
}

// A CALLERROR with this code whose description names the field (and, when
// given, says more).
async function refused(promise, code, field, more) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.rpcErrorCode, code, err.message);
    assert.ok(err.message.includes(`${field}:`), `"${field}:" not in: ${err.message}`);
    if (more) assert.match(err.message, more);
    return true;
  });
}

const meter16 = (...values) => ({ connectorId: 1, meterValue: [{ timestamp: now(),
  sampledValue: values.map((value) => ({ value, measurand: 'Energy.Active.Import.Register' })) }] });

const start16 = (extra) => ({ connectorId: 1, idTag: '04A2B3C4D5', meterStart: 0, timestamp: now(), ...extra });

const status16 = (connectorId) => ({ connectorId, errorCode: 'NoError', status: 'Available' });

const status201 = (evseId, connectorId) => ({ timestamp: now(), connectorStatus: 'Available', evseId, connectorId });

const event201 = (extra) => ({ eventType: 'Started', timestamp: now(), triggerReason: 'Authorized', seqNo: 0,
  transactionInfo: { transactionId: 'tx-n' }, ...extra });

describe('numbers and strings from chargers', () => {
  itScoped('1.6 meter values are strict decimals', async (sc) => {
    const gw = await gateway(sc);
    const cp = await charger(sc, gw, 'CP-01', 'ocpp1.6');
    for (const bad of ['NaN', 'Infinity', '-inf', '0x1A', ' 5', '5 ', '1e999', '+-1', '1.2.3', '']) {
      await refused(cp.call('MeterValues', meter16('12', bad)), 'PropertyConstraintViolation',
        'meterValue[0].sampledValue[1].value');
    }
    // An energy beyond 1e15 Wh, directly or through kWh.
    await refused(cp.call('MeterValues', meter16('2e15')), 'PropertyConstraintViolation',
      'meterValue[0].sampledValue[0].value');
    await refused(cp.call('MeterValues', { connectorId: 1, meterValue: [{ timestamp: now(), sampledValue: [
      { value: '2e12', measurand: 'Energy.Active.Import.Register', unit: 'kWh' }] }] }),
    'PropertyConstraintViolation', 'meterValue[0].sampledValue[0].value');
    // What real chargers send is still taken.
    for (const good of ['0', '12', '-3.5', '4711.25', '1e3', '1.5E+2', '.5', '7.']) {
      assert.deepEqual(await cp.call('MeterValues', { connectorId: 1, meterValue: [{ timestamp: now(),
        sampledValue: [{ value: good, measurand: 'Current.Import', phase: 'L1' }] }] }), {});
    }
  });

  itScoped('1.6 integers and energies out of range are refused, never stored or cast', async (sc) => {
    const gw = await gateway(sc);
    const cp = await charger(sc, gw, 'CP-01', 'ocpp1.6');
    await refused(cp.call('StartTransaction', start16({ meterStart: 1e308 })), 'PropertyConstraintViolation', 'meterStart');
    await refused(cp.call('StartTransaction', start16({ meterStart: 2e15 })), 'PropertyConstraintViolation', 'meterStart');
    await refused(cp.call('StartTransaction', start16({ meterStart: -1 })), 'PropertyConstraintViolation', 'meterStart');
    await refused(cp.call('StartTransaction', start16({ reservationId: 2 ** 31 })), 'PropertyConstraintViolation', 'reservationId');
    await refused(cp.call('StartTransaction', start16({ meterStart: 1.5 })), 'TypeConstraintViolation', 'meterStart');
    await refused(cp.call('StopTransaction', { meterStop: 1e300, timestamp: now(), transactionId: 1 }),
      'PropertyConstraintViolation', 'meterStop');
    await refused(cp.call('StopTransaction', { meterStop: 10, timestamp: now(), transactionId: -(2 ** 31) - 1 }),
      'PropertyConstraintViolation', 'transactionId');
    for (const id of [1e300, 2 ** 31, -1, -(2 ** 31)]) {
      await refused(cp.call('StatusNotification', status16(id)), 'PropertyConstraintViolation', 'connectorId');
    }
    await refused(cp.call('StatusNotification', status16(1.5)), 'TypeConstraintViolation', 'connectorId');
    await refused(cp.call('MeterValues', { ...meter16('1'), connectorId: -1 }), 'PropertyConstraintViolation', 'connectorId');
    // Nothing of it was stored: the first session on connector 1 is a clean one.
    const t = await cp.call('StartTransaction', start16({ meterStart: 999999999999999 }));
    assert.equal(t.idTagInfo.status, 'Accepted');
    await gw.waitForLog(new RegExp(`session started charger=CP-01 evse=1 tx=${t.transactionId}\\b`));
    assert.equal(gw.logs.filter((l) => /session started/.test(l)).length, 1);
  });

  itScoped('2.0.1 numbers out of range are refused with the field named', async (sc) => {
    const gw = await gateway(sc);
    const cp = await charger(sc, gw, 'CP-02', 'ocpp2.0.1');
    await refused(cp.call('TransactionEvent', event201({ evse: { id: 1e9, connectorId: 1 } })),
      'PropertyConstraintViolation', 'evse.id');
    await refused(cp.call('TransactionEvent', event201({ evse: { id: -1, connectorId: 1 } })),
      'PropertyConstraintViolation', 'evse.id');
    await refused(cp.call('TransactionEvent', event201({ seqNo: 2 ** 31 })), 'PropertyConstraintViolation', 'seqNo');
    await refused(cp.call('TransactionEvent', event201({ evse: { id: 1, connectorId: 1 }, meterValue: [{ timestamp: now(),
      sampledValue: [{ value: 1e16, measurand: 'Energy.Active.Import.Register' }] }] })),
    'PropertyConstraintViolation', 'meterValue[0].sampledValue[0].value');
    // 1e13 kWh: a number the schema takes, an energy the model does not.
    await refused(cp.call('MeterValues', { evseId: 1, meterValue: [{ timestamp: now(), sampledValue: [
      { value: 1, measurand: 'Current.Import', phase: 'L1' },
      { value: 1e13, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'kWh' } }] }] }),
    'PropertyConstraintViolation', 'meterValue[0].sampledValue[1].value');
    await refused(cp.call('MeterValues', { evseId: 1, meterValue: [{ timestamp: now(), sampledValue: [
      { value: 5, unitOfMeasure: { unit: 'Wh', multiplier: 400 } }] }] }),
    'PropertyConstraintViolation', 'meterValue[0].sampledValue[0].value');
    await refused(cp.call('StatusNotification', status201(1, -1)), 'PropertyConstraintViolation', 'connectorId');
    await refused(cp.call('StatusNotification', status201(2 ** 31, 1)), 'PropertyConstraintViolation', 'evseId');
    // No session came of any of it.
    assert.ok(!gw.logs.some((l) => /session started/.test(l)));
    assert.ok((await cp.call('Heartbeat', {})).currentTime);
  });

  itScoped('EVSEs and connectors beyond the configured bound are refused, logged once', async (sc) => {
    const gw = await gateway(sc);
    const cp16 = await charger(sc, gw, 'CP-01', 'ocpp1.6');
    const cp201 = await charger(sc, gw, 'CP-02', 'ocpp2.0.1');
    // The defaults: 2 EVSEs of 2 connectors each.
    assert.deepEqual(await cp16.call('StatusNotification', status16(2)), {});
    assert.deepEqual(await cp201.call('StatusNotification', status201(2, 2)), {});
    const since = gw.mark();
    for (const id of [3, 32, 33]) {
      await refused(cp16.call('StatusNotification', status16(id)), 'PropertyConstraintViolation', 'connectorId',
        /chargers\[\]\.evses/);
    }
    await refused(cp16.call('StartTransaction', start16({ connectorId: 33 })), 'PropertyConstraintViolation',
      'connectorId', /chargers\[\]\.evses/);
    await refused(cp16.call('MeterValues', { ...meter16('1'), connectorId: 3 }), 'PropertyConstraintViolation',
      'connectorId');
    await refused(cp201.call('StatusNotification', status201(3, 1)), 'PropertyConstraintViolation', 'evseId',
      /chargers\[\]\.evses/);
    await refused(cp201.call('StatusNotification', status201(1, 3)), 'PropertyConstraintViolation', 'connectorId',
      /chargers\[\]\.connectors_per_evse/);
    await refused(cp201.call('TransactionEvent', event201({ evse: { id: 3, connectorId: 1 } })),
      'PropertyConstraintViolation', 'evse.id');
    await refused(cp201.call('TransactionEvent', event201({ evse: { id: 1, connectorId: 5 } })),
      'PropertyConstraintViolation', 'evse.connectorId');
    await refused(cp201.call('MeterValues', { evseId: 3, meterValue: [{ timestamp: now(),
      sampledValue: [{ value: 1 }] }] }), 'PropertyConstraintViolation', 'evseId');
    // Every log line up to here is in once this one is.
    await cp16.call('Heartbeat', {});
    await gw.waitForLog(/recv charger=CP-01 .*Heartbeat/, { since });
    const warned = () => gw.logs.slice(since).filter((l) => /\bwarn\b.*beyond/.test(l));
    assert.equal(warned().filter((l) => /charger=CP-01/.test(l)).length, 1, warned().join('\n'));
    assert.equal(warned().filter((l) => /charger=CP-02/.test(l)).length, 1, warned().join('\n'));
    // Both chargers are still served, within their bounds.
    assert.deepEqual(await cp16.call('StatusNotification', status16(1)), {});
    assert.deepEqual(await cp201.call('StatusNotification', status201(1, 1)), {});
    // Once per charger, not per connection: a charger that reconnects and
    // reports the same is not logged again.
    await cp16.close();
    await gw.waitForLog(/charger disconnected charger=CP-01/, { since });
    const again = await charger(sc, gw, 'CP-01', 'ocpp1.6');
    await refused(again.call('StatusNotification', status16(3)), 'PropertyConstraintViolation', 'connectorId');
    const before = gw.mark();
    await again.call('Heartbeat', {});
    await gw.waitForLog(/recv charger=CP-01 .*Heartbeat/, { since: before });
    assert.equal(warned().filter((l) => /charger=CP-01/.test(l)).length, 1, warned().join('\n'));
  });

  itScoped('the bounds follow chargers[].evses and chargers[].connectors_per_evse', async (sc) => {
    const gw = await gateway(sc, (cfg) => {
      cfg.chargers[0].evses = 4;
      cfg.chargers[1].connectors_per_evse = 1;
      cfg.ocpp.max_evses = 1;
      return cfg;
    });
    const cp16 = await charger(sc, gw, 'CP-01', 'ocpp1.6');
    const cp201 = await charger(sc, gw, 'CP-02', 'ocpp2.0.1');
    assert.deepEqual(await cp16.call('StatusNotification', status16(4)), {});
    await refused(cp16.call('StatusNotification', status16(5)), 'PropertyConstraintViolation', 'connectorId',
      /at most 4/);
    // CP-02 takes ocpp.max_evses: one EVSE, and one connector as configured.
    assert.deepEqual(await cp201.call('StatusNotification', status201(1, 1)), {});
    await refused(cp201.call('StatusNotification', status201(2, 1)), 'PropertyConstraintViolation', 'evseId',
      /at most 1/);
    await refused(cp201.call('StatusNotification', status201(1, 2)), 'PropertyConstraintViolation', 'connectorId',
      /at most 1/);
  });

  itScoped('capability values are strict decimals too', async (sc) => {
    const gw = await gateway(sc);
    const cp = await charger(sc, gw, 'CP-01', 'ocpp1.6');
    cp.handle('GetConfiguration', () => ({
      configurationKey: [
        { key: 'ChargeProfileMaxStackLevel', readonly: true, value: ' 8' },
        { key: 'ChargingScheduleMaxPeriods', readonly: true, value: '24' },
        { key: 'MaxChargingProfilesInstalled', readonly: true, value: '+5' },
        { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current' },
      ],
    }));
    cp.handle('ChangeConfiguration', () => ({ status: 'Accepted' }));
    assert.equal((await cp.call('BootNotification', { chargePointVendor: 'A', chargePointModel: 'B' })).status,
      'Accepted');
    // " 8" is not taken (the default, 1, stays); "24" is.
    await gw.waitForLog(/capabilities charger=CP-01 smart_charging=1 rate=A stack_levels=1 periods=24 /);
  });

  itScoped('a string holding U+0000 is refused, not cut', async (sc) => {
    const gw = await gateway(sc);
    const cp16 = await charger(sc, gw, 'CP-01', 'ocpp1.6');
    const cp201 = await charger(sc, gw, 'CP-02', 'ocpp2.0.1');
    await refused(cp16.call('Authorize', { idTag: '04A2B3C4D5\u0000EVIL' }), 'PropertyConstraintViolation', 'idTag');
    await refused(cp16.call('StartTransaction', start16({ idTag: '04A2B3C4D5\u0000' })),
      'PropertyConstraintViolation', 'idTag');
    await refused(cp16.call('MeterValues', { connectorId: 1, meterValue: [{ timestamp: now(),
      sampledValue: [{ value: '12\u0000' }] }] }), 'PropertyConstraintViolation', 'meterValue[0].sampledValue[0].value');
    await refused(cp201.call('TransactionEvent', event201({ evse: { id: 1, connectorId: 1 },
      idToken: { idToken: '04A2B3C4D5\u0000X', type: 'ISO14443' } })), 'PropertyConstraintViolation', 'idToken.idToken');
    // A backslash and "u0000" as text is not a NUL.
    const a = await cp16.call('Authorize', { idTag: '\\u0000' });
    assert.equal(a.idTagInfo.status, 'Invalid');
    assert.ok(!gw.logs.some((l) => /session started/.test(l)));
    // Still connected and served.
    assert.equal((await cp16.call('Authorize', { idTag: '04A2B3C4D5' })).idTagInfo.status, 'Accepted');
  });
});
