'use strict';
// The CSMS role toward the chargers, end to end: ocpp-rpc chargers in
// strict mode (they validate every answer and every command of ours against
// the official schemas) run whole sessions on the real binary, in 1.6 and
// 2.0.1; bad payloads get the precise CALLERROR and cost nothing; sessions
// survive kill -9 of the gateway.

const test = require('node:test');
const assert = require('node:assert/strict');
const { RPCClient } = require('ocpp-rpc');
const { tmpDir, baseConfig, startGateway } = require('./lib/gateway');

const PASSWORDS = { 'CP-01': 'password-CP-01-xyz', 'CP-02': 'password-CP-02-xyz' };

function config(dir, extra = {}) {
  const cfg = baseConfig(dir);
  cfg.authorization.local_list = [
    { id_token: '04A2B3C4D5', status: 'Accepted' },
    { id_token: 'BLOCKED-1', status: 'Blocked' },
  ];
  return Object.assign(cfg, extra);
}

// A charger: strict ocpp-rpc client that answers the gateway's discovery
// commands like a real charger would and records what it was asked.
function charger(gw, id, protocol, opts = {}) {
  const cli = new RPCClient({
    endpoint: `ws://127.0.0.1:${gw.ocppPort}/ocpp`,
    identity: id,
    protocols: [protocol],
    password: PASSWORDS[id],
    strictMode: opts.strict !== false,
    reconnect: false,
    callTimeoutMs: 5000,
  });
  cli.asked = [];
  // Resolves once a command matching pred has been asked (now or later).
  const waiters = [];
  const push = cli.asked.push.bind(cli.asked);
  cli.asked.push = (x) => {
    const n = push(x);
    for (const w of waiters.splice(0)) if (!w.pred(x)) waiters.push(w); else w.resolve(x);
    return n;
  };
  cli.waitAsked = (pred) => {
    const hit = cli.asked.find(pred);
    return hit ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ pred, resolve }));
  };
  cli.handle('GetConfiguration', ({ params }) => {
    cli.asked.push(['GetConfiguration', params]);
    return {
      configurationKey: [
        { key: 'ChargeProfileMaxStackLevel', readonly: true, value: '8' },
        { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current' },
        { key: 'ChargingScheduleMaxPeriods', readonly: true, value: '24' },
      ],
      unknownKey: ['MaxChargingProfilesInstalled'],
    };
  });
  cli.handle('ChangeConfiguration', ({ params }) => {
    cli.asked.push(['ChangeConfiguration', params]);
    // Like an AC charger that cannot sample SoC: the list with it is refused.
    const ok = params.key === 'MeterValueSampleInterval' ||
      (params.key === 'MeterValuesSampledData' && !/SoC/.test(params.value));
    return { status: ok ? 'Accepted' : 'Rejected' };
  });
  cli.handle('GetVariables', ({ params }) => {
    cli.asked.push(['GetVariables', params]);
    return {
      getVariableResult: params.getVariableData.map((d) => {
        const known = { RateUnit: 'A,W', ProfileStackLevel: '3', PeriodsPerSchedule: '12',
          Enabled: 'true', ACPhaseSwitchingSupported: 'true' }[d.variable.name];
        return known === undefined
          ? { attributeStatus: 'UnknownVariable', component: d.component, variable: d.variable }
          : { attributeStatus: 'Accepted', attributeValue: known, component: d.component,
            variable: d.variable };
      }),
    };
  });
  cli.handle('SetVariables', ({ params }) => {
    cli.asked.push(['SetVariables', params]);
    return {
      setVariableResult: params.setVariableData.map((d) => ({
        attributeStatus: 'Accepted', component: d.component, variable: d.variable,
      })),
    };
  });
  return cli;
}

const now = () => new Date().toISOString();
const sample = (value, measurand, phase, unit) => ({ value: String(value), measurand, phase, unit });

// Expect a CALLERROR with this code whose description names the field.
async function expectError(promise, code, field) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.rpcErrorCode, code, err.message);
    if (field) assert.match(err.message, new RegExp(field.replace(/[[\].]/g, '\\$&')));
    return true;
  });
}

async function stopClean(gw) {
  const r = await gw.stop();
  assert.deepEqual(r, { code: 0, signal: null }, gw.logs.slice(-30).join('\n'));
}

test('1.6: a charger with two connectors through whole sessions', async () => {
  const gw = await startGateway(config(tmpDir()));
  const cp = charger(gw, 'CP-01', 'ocpp1.6');
  try {
    await cp.connect();
    const boot = await cp.call('BootNotification', { chargePointVendor: 'Acme', chargePointModel: 'AC-22',
      chargePointSerialNumber: 'SN-1', firmwareVersion: '1.2.3' });
    assert.equal(boot.status, 'Accepted');
    assert.equal(boot.interval, 300);

    // Capability discovery, once, and the sampling it asks for.
    await gw.waitForLog(/capabilities charger=CP-01 smart_charging=1 rate=A stack_levels=8 periods=24/);
    const keys = cp.asked.find(([a]) => a === 'GetConfiguration')[1].key;
    for (const k of ['ChargeProfileMaxStackLevel', 'ChargingScheduleAllowedChargingRateUnit',
      'ChargingScheduleMaxPeriods', 'MaxChargingProfilesInstalled', 'NumberOfConnectors',
      'MeterValuesSampledData', 'MeterValueSampleInterval']) assert.ok(keys.includes(k), k);
    // The full measurand list is refused: the gateway asks again for the
    // ones the control loop needs, which the charger takes.
    await gw.waitForLog(/meter sampling: asking for fewer measurands charger=CP-01/);
    await cp.waitAsked(([a, p]) => a === 'ChangeConfiguration' && p.value && !/SoC/.test(p.value));
    const changes = cp.asked.filter(([a]) => a === 'ChangeConfiguration').map(([, p]) => p);
    // The full list first, the short one after its refusal.
    const sampled = changes.filter((p) => p.key === 'MeterValuesSampledData').map((p) => p.value);
    assert.deepEqual(sampled, ['Current.Import,Current.Offered,Power.Active.Import,' +
      'Energy.Active.Import.Register,Voltage,SoC',
    'Current.Import,Power.Active.Import,Energy.Active.Import.Register']);
    assert.ok(changes.some((p) => p.key === 'MeterValueSampleInterval' && p.value === '10'));
    assert.equal(changes.length, 3);
    assert.ok(!gw.logs.some((l) => /meter sampling not configured charger=CP-01/.test(l)));

    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing' });
    await cp.call('StatusNotification', { connectorId: 2, errorCode: 'NoError', status: 'Preparing' });

    assert.equal((await cp.call('Authorize', { idTag: '04A2B3C4D5' })).idTagInfo.status, 'Accepted');
    assert.equal((await cp.call('Authorize', { idTag: 'blocked-1' })).idTagInfo.status, 'Blocked');
    assert.equal((await cp.call('Authorize', { idTag: 'NOBODY' })).idTagInfo.status, 'Invalid');

    // Two concurrent sessions on one charger.
    const t1 = await cp.call('StartTransaction', { connectorId: 1, idTag: '04A2B3C4D5', meterStart: 1000, timestamp: now() });
    const t2 = await cp.call('StartTransaction', { connectorId: 2, idTag: 'NOBODY', meterStart: 50, timestamp: now() });
    assert.equal(t1.idTagInfo.status, 'Accepted');
    assert.equal(t2.idTagInfo.status, 'Invalid');
    assert.ok(Number.isInteger(t1.transactionId) && t1.transactionId > 0);
    assert.notEqual(t1.transactionId, t2.transactionId);
    await gw.waitForLog(new RegExp(`session started charger=CP-01 evse=2 tx=${t2.transactionId} token=NOBODY`));

    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });
    await cp.call('MeterValues', { connectorId: 1, transactionId: t1.transactionId, meterValue: [{
      timestamp: now(), sampledValue: [
        sample(16.1, 'Current.Import', 'L1', 'A'), sample(15.9, 'Current.Import', 'L2', 'A'),
        sample(16.0, 'Current.Import', 'L3', 'A'), sample(11.04, 'Power.Active.Import', undefined, 'kW'),
        sample(2.5, 'Energy.Active.Import.Register', undefined, 'kWh')] }] });

    const s1 = await cp.call('StopTransaction', { transactionId: t1.transactionId, idTag: '04A2B3C4D5',
      meterStop: 4000, timestamp: now(), reason: 'EVDisconnected' });
    assert.equal(s1.idTagInfo.status, 'Accepted');
    await gw.waitForLog(new RegExp(`session ended charger=CP-01 evse=1 tx=${t1.transactionId} reason=EVDisconnected`));
    const s2 = await cp.call('StopTransaction', { transactionId: t2.transactionId, meterStop: 60, timestamp: now() });
    assert.deepEqual(s2, {});
    await gw.waitForLog(new RegExp(`session ended charger=CP-01 evse=2 tx=${t2.transactionId} reason=Local`));

    // A stop for a transaction nobody started is answered and logged.
    await cp.call('StopTransaction', { transactionId: 999999, meterStop: 1, timestamp: now() });
    await gw.waitForLog(/stop for an unknown or ended session charger=CP-01 tx=999999/);

    // Recorded messages and DataTransfer.
    await cp.call('FirmwareStatusNotification', { status: 'Installed' });
    await gw.waitForLog(/notice charger=CP-01 action=FirmwareStatusNotification summary="status=Installed"/);
    assert.equal((await cp.call('DataTransfer', { vendorId: 'com.acme', messageId: 'x' })).status, 'UnknownVendorId');
    assert.equal(cp.asked.filter(([a]) => a === 'GetConfiguration').length, 1, 'asked once');
  } finally {
    await cp.close();
    await stopClean(gw);
  }
});

test('2.0.1: a charger with two EVSEs, events merged into sessions by seqNo', async () => {
  const gw = await startGateway(config(tmpDir()));
  const cp = charger(gw, 'CP-02', 'ocpp2.0.1');
  try {
    await cp.connect();
    const boot = await cp.call('BootNotification', { reason: 'PowerUp',
      chargingStation: { model: 'DC-2', vendorName: 'Acme', firmwareVersion: '9' } });
    assert.equal(boot.status, 'Accepted');
    await gw.waitForLog(/capabilities charger=CP-02 smart_charging=1 rate=AW stack_levels=3 periods=12 phase_switching=1 meter_interval_s=10/);
    const set = cp.asked.find(([a]) => a === 'SetVariables')[1].setVariableData;
    assert.deepEqual(set.map((d) => `${d.component.name}.${d.variable.name}`),
      ['SampledDataCtrlr.TxUpdatedMeasurands', 'SampledDataCtrlr.TxUpdatedInterval']);

    for (const evseId of [1, 2]) {
      await cp.call('StatusNotification', { timestamp: now(), connectorStatus: 'Occupied', evseId, connectorId: 1 });
    }
    const auth = await cp.call('Authorize', { idToken: { idToken: 'STRANGER', type: 'ISO14443' } });
    assert.equal(auth.idTokenInfo.status, 'Unknown');

    const ev = (type, seqNo, txId, extra = {}) => cp.call('TransactionEvent', {
      eventType: type, timestamp: now(), triggerReason: 'Authorized', seqNo,
      transactionInfo: { transactionId: txId, ...(extra.info || {}) }, ...extra.top });

    let r = await ev('Started', 0, 'tx-a', { top: { evse: { id: 1, connectorId: 1 },
      idToken: { idToken: '04A2B3C4D5', type: 'ISO14443' } }, info: { chargingState: 'Charging' } });
    assert.equal(r.idTokenInfo.status, 'Accepted');
    await ev('Started', 0, 'tx-b', { top: { evse: { id: 2, connectorId: 1 } }, info: { chargingState: 'EVConnected' } });
    await gw.waitForLog(/session started charger=CP-02 evse=2 tx=tx-b/);
    r = await ev('Updated', 1, 'tx-a', { top: { meterValue: [{ timestamp: now(), sampledValue: [
      { value: 16, measurand: 'Current.Import', phase: 'L1' },
      { value: 3.2, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'kWh' } }] }] } });
    assert.deepEqual(r, {});
    // A duplicate, then a gap: answered, logged, the session stays one.
    await ev('Updated', 1, 'tx-a');
    await gw.waitForLog(/duplicate event charger=CP-02 tx=tx-a seq=1/);
    await ev('Updated', 4, 'tx-a', { info: { chargingState: 'SuspendedEV' } });
    await gw.waitForLog(/events missing charger=CP-02 tx=tx-a before_seq=4 missing=2/);
    await ev('Ended', 5, 'tx-a', { info: { stoppedReason: 'EVDisconnected' } });
    await gw.waitForLog(/session ended charger=CP-02 evse=1 tx=tx-a reason=EVDisconnected/);
    await ev('Ended', 1, 'tx-b', { info: { stoppedReason: 'Remote' } });
    await gw.waitForLog(/session ended charger=CP-02 evse=2 tx=tx-b reason=Remote/);
    assert.equal(gw.logs.filter((l) => /session started charger=CP-02 evse=1/.test(l)).length, 1);

    await cp.call('NotifyEvent', { generatedAt: now(), seqNo: 0, eventData: [{ eventId: 1, timestamp: now(),
      trigger: 'Alerting', actualValue: 'x', eventNotificationType: 'HardWiredNotification',
      component: { name: 'EVSE' }, variable: { name: 'Problem' } }] });
    await cp.call('SecurityEventNotification', { type: 'FirmwareUpdated', timestamp: now() });
    await gw.waitForLog(/notice charger=CP-02 action=SecurityEventNotification summary="type=FirmwareUpdated"/);
  } finally {
    await cp.close();
    await stopClean(gw);
  }
});

test('invalid payloads get the precise CALLERROR and the charger stays served', async () => {
  const gw = await startGateway(config(tmpDir()));
  // Not strict: these chargers must be able to send what the schemas forbid.
  const cp16 = charger(gw, 'CP-01', 'ocpp1.6', { strict: false });
  const cp201 = charger(gw, 'CP-02', 'ocpp2.0.1', { strict: false });
  try {
    await cp16.connect();
    await cp201.connect();
    const cases16 = [
      ['StartTransaction', { connectorId: 'one', idTag: 'A', meterStart: 0, timestamp: now() }, 'TypeConstraintViolation', 'connectorId'],
      ['StartTransaction', { connectorId: 1, meterStart: 0, timestamp: now() }, 'OccurenceConstraintViolation', 'idTag'],
      ['StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Sleeping' }, 'PropertyConstraintViolation', 'status'],
      ['Authorize', { idTag: 'X'.repeat(21) }, 'PropertyConstraintViolation', 'idTag'],
      ['Heartbeat', { surprise: true }, 'PropertyConstraintViolation', 'surprise'],
      ['StartTransaction', { connectorId: 1, idTag: 'A', meterStart: 0, timestamp: 'yesterday' }, 'PropertyConstraintViolation', 'timestamp'],
      ['MeterValues', { connectorId: 1, meterValue: [{ timestamp: now(), sampledValue: [{ value: 'twelve' }] }] },
        'PropertyConstraintViolation', 'meterValue[0].sampledValue[0].value'],
    ];
    for (const [action, payload, code, field] of cases16) {
      await expectError(cp16.call(action, payload), code, field);
    }
    const cases201 = [
      ['TransactionEvent', { eventType: 'Started', timestamp: now(), triggerReason: 'Authorized', seqNo: 0,
        transactionInfo: {} }, 'OccurrenceConstraintViolation', 'transactionInfo.transactionId'],
      ['StatusNotification', { timestamp: now(), connectorStatus: 'Occupied', evseId: 1.5, connectorId: 1 },
        'TypeConstraintViolation', 'evseId'],
      ['BootNotification', { reason: 'PowerUp', chargingStation: { model: 'M', vendorName: 'V' }, customData: {} },
        'OccurrenceConstraintViolation', 'customData.vendorId'],
    ];
    for (const [action, payload, code, field] of cases201) {
      await expectError(cp201.call(action, payload), code, field);
    }
    // Every refusal cost nothing: both chargers are still served.
    assert.equal((await cp16.call('BootNotification', { chargePointVendor: 'A', chargePointModel: 'B' })).status, 'Accepted');
    assert.ok((await cp201.call('Heartbeat', {})).currentTime);
    assert.ok(gw.logs.some((l) => /refused charger=CP-01 action=MeterValues code=PropertyConstraintViolation/.test(l)));
  } finally {
    await cp16.close();
    await cp201.close();
    await stopClean(gw);
  }
});

test('an unknown charger waits as Pending until approved, and is refused meanwhile', async () => {
  const gw = await startGateway(config(tmpDir(), { ocpp: { ...config('/x').ocpp, allow_unknown_chargers: true } }));
  const cli = new RPCClient({ endpoint: `ws://127.0.0.1:${gw.ocppPort}/ocpp`, identity: 'NEW-1',
    protocols: ['ocpp1.6'], strictMode: true, reconnect: false });
  try {
    await cli.connect();
    await expectError(cli.call('Heartbeat', {}), 'SecurityError');
    const boot = await cli.call('BootNotification', { chargePointVendor: 'A', chargePointModel: 'B' });
    assert.equal(boot.status, 'Pending');
    assert.equal(boot.interval, 60);
    await expectError(cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' }),
      'SecurityError');
  } finally {
    await cli.close();
    await stopClean(gw);
  }
});

test('kill -9 mid-session: after a restart the stops find their sessions', async () => {
  const dir = tmpDir();
  let gw = await startGateway(config(dir), { dir });
  let cp16 = charger(gw, 'CP-01', 'ocpp1.6');
  let cp201 = charger(gw, 'CP-02', 'ocpp2.0.1');
  await cp16.connect();
  await cp201.connect();
  const t1 = await cp16.call('StartTransaction', { connectorId: 1, idTag: '04A2B3C4D5', meterStart: 0, timestamp: now() });
  await cp201.call('TransactionEvent', { eventType: 'Started', timestamp: now(), triggerReason: 'CablePluggedIn',
    seqNo: 0, transactionInfo: { transactionId: 'tx-k9' }, evse: { id: 1, connectorId: 1 } });
  await gw.waitForLog(/session started charger=CP-02 evse=1 tx=tx-k9/);
  const killed = await gw.kill('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  await cp16.close({ force: true });
  await cp201.close({ force: true });

  gw = await startGateway(null, { dir });
  try {
    await gw.waitForLog(/site: loaded chargers=2 open_sessions=2/);
    cp16 = charger(gw, 'CP-01', 'ocpp1.6');
    cp201 = charger(gw, 'CP-02', 'ocpp2.0.1');
    await cp16.connect();
    await cp201.connect();
    // No BootNotification after a reconnect: configured chargers are served.
    await cp16.call('StopTransaction', { transactionId: t1.transactionId, meterStop: 500, timestamp: now() });
    await gw.waitForLog(new RegExp(`session ended charger=CP-01 evse=1 tx=${t1.transactionId} reason=Local`));
    await cp201.call('TransactionEvent', { eventType: 'Ended', timestamp: now(), triggerReason: 'EVDeparted',
      seqNo: 1, transactionInfo: { transactionId: 'tx-k9', stoppedReason: 'EVDisconnected' } });
    await gw.waitForLog(/session ended charger=CP-02 evse=1 tx=tx-k9 reason=EVDisconnected/);
    assert.ok(!gw.logs.some((l) => /unknown or ended session|events missing/.test(l)), gw.logs.join('\n'));
    // Transaction ids are never reused across restarts.
    const t2 = await cp16.call('StartTransaction', { connectorId: 2, idTag: '04A2B3C4D5', meterStart: 0, timestamp: now() });
    assert.ok(t2.transactionId > t1.transactionId);
  } finally {
    await cp16.close();
    await cp201.close();
    await stopClean(gw);
  }
});
