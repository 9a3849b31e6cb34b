'use strict';
// Helpers for the uplink tests: a gateway configuration with an upstream
// section, strict ocpp-rpc chargers of both versions that answer the
// gateway's commands like real chargers and record them, and whole
// charging sessions in each charger version.

const { RPCClient } = require('ocpp-rpc');
const { baseConfig } = require('./gateway');

const PASSWORDS = { 'CP-01': 'password-CP-01-xyz', 'CP-02': 'password-CP-02-xyz' };
const now = () => new Date().toISOString();

function upConfig(dir, up, extra = {}) {
  const cfg = baseConfig(dir);
  cfg.upstream = {
    url: up.url(), id: 'SITE-1', version: up.protocol, meter_interval_s: 1,
    retry_interval_s: 1, reconnect_max_s: 1, call_timeout_s: 5, ...extra,
  };
  return cfg;
}

// A strict charger; cli.got[action] lists the commands it was sent. With
// { boot: false } it only connects (a charger coming back to a restarted
// gateway, which serves configured chargers without a new boot).
async function charger(gw, id, protocol, answers = {}, { boot: doBoot = true } = {}) {
  const cli = new RPCClient({
    endpoint: `ws://127.0.0.1:${gw.ocppPort}/ocpp`, identity: id, protocols: [protocol],
    password: PASSWORDS[id], strictMode: true, reconnect: false, callTimeoutMs: 5000,
  });
  cli.got = {};
  cli.version = protocol;
  const v16 = protocol === 'ocpp1.6';
  const rec = (action, fn) => cli.handle(action, ({ params }) => {
    (cli.got[action] = cli.got[action] || []).push(params);
    return answers[action] ? answers[action](params) : fn(params);
  });
  rec('GetConfiguration', () => ({ configurationKey: [], unknownKey: [] }));
  rec('ChangeConfiguration', () => ({ status: 'Accepted' }));
  rec('GetVariables', (p) => ({
    getVariableResult: p.getVariableData.map((d) => ({
      attributeStatus: 'UnknownVariable', component: d.component, variable: d.variable,
    })),
  }));
  rec('SetVariables', (p) => ({
    setVariableResult: p.setVariableData.map((d) => ({
      attributeStatus: 'Accepted', component: d.component, variable: d.variable,
    })),
  }));
  rec('SetChargingProfile', () => ({ status: 'Accepted' }));
  rec('ClearChargingProfile', () => ({ status: 'Accepted' }));
  rec(v16 ? 'RemoteStartTransaction' : 'RequestStartTransaction', () => ({ status: 'Accepted' }));
  rec(v16 ? 'RemoteStopTransaction' : 'RequestStopTransaction', () => ({ status: 'Accepted' }));
  rec('UnlockConnector', () => ({ status: 'Unlocked' }));
  rec('ChangeAvailability', () => ({ status: 'Accepted' }));
  rec('Reset', () => ({ status: 'Accepted' }));
  rec('TriggerMessage', () => ({ status: 'Accepted' }));
  await cli.connect();
  if (!doBoot) return cli;
  const boot = v16
    ? await cli.call('BootNotification', { chargePointVendor: 'Acme', chargePointModel: 'X1' })
    : await cli.call('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'X1', vendorName: 'Acme' } });
  if (boot.status !== 'Accepted') throw new Error(`boot ${boot.status}`);
  await status(cli, 1, 'Available');
  return cli;
}

function status(cli, evse, st) {
  if (cli.version === 'ocpp1.6') {
    const s16 = { Occupied: 'Preparing' }[st] || st;
    return cli.call('StatusNotification', { connectorId: evse, errorCode: 'NoError', status: s16, timestamp: now() });
  }
  const s201 = ['Available', 'Occupied', 'Reserved', 'Unavailable', 'Faulted'].includes(st) ? st : 'Occupied';
  return cli.call('StatusNotification', { timestamp: now(), connectorStatus: s201, evseId: evse, connectorId: 1 });
}

const energy = (wh, v16) => ({
  timestamp: now(),
  sampledValue: [v16
    ? { value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }
    : { value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }],
});

// A session in steps: start(), meter(wh), stop(wh).
function session(cli, evse, token, txName) {
  const v16 = cli.version === 'ocpp1.6';
  const s = { seq: 0, txId: null };
  s.start = async (wh = 1000) => {
    await status(cli, evse, 'Occupied');
    if (v16) {
      const r = await cli.call('StartTransaction', { connectorId: evse, idTag: token, meterStart: wh, timestamp: now() });
      s.txId = r.transactionId;
    } else {
      s.txId = txName;
      await cli.call('TransactionEvent', {
        eventType: 'Started', timestamp: now(), triggerReason: 'Authorized', seqNo: s.seq++,
        transactionInfo: { transactionId: s.txId, chargingState: 'Charging' },
        evse: { id: evse, connectorId: 1 }, idToken: { idToken: token, type: 'ISO14443' },
        meterValue: [energy(wh, false)],
      });
    }
    await status(cli, evse, 'Charging');
  };
  s.meter = async (wh) => {
    if (v16) {
      await cli.call('MeterValues', { connectorId: evse, transactionId: s.txId, meterValue: [energy(wh, true)] });
    } else {
      await cli.call('TransactionEvent', {
        eventType: 'Updated', timestamp: now(), triggerReason: 'MeterValuePeriodic', seqNo: s.seq++,
        transactionInfo: { transactionId: s.txId }, meterValue: [energy(wh, false)],
      });
    }
  };
  s.stop = async (wh) => {
    if (v16) {
      await cli.call('StopTransaction', { transactionId: s.txId, meterStop: wh, timestamp: now(), reason: 'Local' });
    } else {
      await cli.call('TransactionEvent', {
        eventType: 'Ended', timestamp: now(), triggerReason: 'StopAuthorized', seqNo: s.seq++,
        transactionInfo: { transactionId: s.txId, stoppedReason: 'Local' }, meterValue: [energy(wh, false)],
      });
    }
    await status(cli, evse, 'Available');
  };
  return s;
}

// The transaction messages the upstream received, as compact records:
// { kind: 'start'|'meter'|'stop', tx, evse, seqNo, offline }.
function txMessages(up) {
  const out = [];
  for (const c of up.calls) {
    const p = c.params;
    if (c.action === 'StartTransaction') out.push({ kind: 'start', evse: p.connectorId, meter: p.meterStart, token: p.idTag, ts: p.timestamp });
    else if (c.action === 'MeterValues' && p.transactionId !== undefined) out.push({ kind: 'meter', tx: p.transactionId, evse: p.connectorId });
    else if (c.action === 'StopTransaction') out.push({ kind: 'stop', tx: p.transactionId, meter: p.meterStop, ts: p.timestamp });
    else if (c.action === 'TransactionEvent') {
      out.push({
        kind: { Started: 'start', Updated: 'meter', Ended: 'stop' }[p.eventType],
        tx: p.transactionInfo.transactionId, seqNo: p.seqNo, offline: !!p.offline,
        evse: p.evse && p.evse.id, ts: p.timestamp,
      });
    }
  }
  return out;
}

module.exports = { upConfig, charger, session, status, energy, txMessages, PASSWORDS, now };
