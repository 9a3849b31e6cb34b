'use strict';
// Every command the CSMS role sends, to strict ocpp-rpc chargers of both
// versions: a strict charger refuses (with a CALLERROR) any command of ours
// that breaks the official schemas, so each "ok" here also proves that the
// command was valid; each answer is decoded back into neutral terms.
// The commands are sent through tests/tools/csms_drive, which runs the real
// roles/csms + site + store and takes commands on stdin.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const { RPCClient, createRPCError } = require('ocpp-rpc');
const { tmpDir, baseConfig, writeConfig } = require('./lib/gateway');

const TOOLS = process.env.SITEGATE_TOOLS || path.resolve(__dirname, '../../build/asan/tools');

// Start csms_drive; resolves once it listens.
async function startDriver(cfg) {
  const dir = tmpDir();
  const file = path.join(dir, 'sitegate.json');
  cfg.state_file = path.join(dir, 'state.db');
  writeConfig(file, cfg);
  const proc = spawn(path.join(TOOLS, 'csms_drive'), [file], { stdio: ['pipe', 'pipe', 'pipe'] });
  const logs = [];
  const answers = new Map();
  const waiting = new Map();
  readline.createInterface({ input: proc.stdout }).on('line', (l) => {
    const a = JSON.parse(l);
    if (waiting.has(a.seq)) {
      waiting.get(a.seq)(a);
      waiting.delete(a.seq);
    } else {
      answers.set(a.seq, a);
    }
  });
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    readline.createInterface({ input: proc.stderr }).on('line', (l) => {
      logs.push(l);
      const m = /ocpp: listening addr=\S+:(\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    exited.then((e) => reject(new Error(`csms_drive exited ${JSON.stringify(e)}\n${logs.join('\n')}`)));
  });
  let seq = 0;
  return {
    port,
    logs,
    // Send one command; resolves with the decoded answer line.
    send(charger, command) {
      const n = ++seq;
      proc.stdin.write(`${JSON.stringify({ charger, command })}\n`);
      if (answers.has(n)) return Promise.resolve(answers.get(n));
      return new Promise((resolve) => waiting.set(n, resolve));
    },
    async stop() {
      proc.stdin.end();
      return exited;
    },
  };
}

function charger(port, id, protocol, responses, strictMode = true) {
  const cli = new RPCClient({ endpoint: `ws://127.0.0.1:${port}/ocpp`, identity: id,
    protocols: [protocol], password: `password-${id}-xyz`, strictMode, reconnect: false });
  cli.got = {};
  for (const [action, answer] of Object.entries(responses)) {
    cli.handle(action, ({ params }) => {
      cli.got[action] = params;
      if (answer instanceof Error) throw answer;
      return typeof answer === 'function' ? answer(params) : answer;
    });
  }
  return cli;
}

const T = '2026-11-21T10:00:00.000Z';

test('every command to a 1.6 charger, valid and decoded', async () => {
  const drv = await startDriver(baseConfig(tmpDir()));
  const cp = charger(drv.port, 'CP-01', 'ocpp1.6', {
    SetChargingProfile: { status: 'Accepted' },
    ClearChargingProfile: { status: 'Unknown' },
    GetCompositeSchedule: { status: 'Accepted', connectorId: 1, scheduleStart: T,
      chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 },
        { startPeriod: 600, limit: 6.5 }] } },
    RemoteStartTransaction: { status: 'Accepted' },
    RemoteStopTransaction: { status: 'Rejected' },
    ChangeAvailability: { status: 'Scheduled' },
    Reset: { status: 'Accepted' },
    UnlockConnector: { status: 'Unlocked' },
    TriggerMessage: { status: 'Accepted' },
    GetConfiguration: { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }],
      unknownKey: ['Nope'] },
    ChangeConfiguration: { status: 'RebootRequired' },
    SendLocalList: { status: 'Accepted' },
    ClearCache: { status: 'Accepted' },
  });
  try {
    await cp.connect();
    let a = await drv.send('CP-01', { type: 'set_profile', evse: 1, profile: { id: 7, stack_level: 2,
      purpose: 'tx', tx_id: '41', unit: 'A', valid_to: T, periods: [{ start_s: 0, limit: 10.67, phases: 3 }] } });
    assert.deepEqual([a.ok, a.accepted, a.status], [true, true, 'Accepted']);
    const prof = cp.got.SetChargingProfile;
    assert.equal(prof.connectorId, 1);
    assert.equal(prof.csChargingProfiles.transactionId, 41);
    assert.equal(prof.csChargingProfiles.chargingProfilePurpose, 'TxProfile');
    assert.equal(prof.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit, 10.6);

    a = await drv.send('CP-01', { type: 'clear_profile', evse: 1, purpose: 'tx_default' });
    assert.deepEqual([a.accepted, a.status], [false, 'Unknown']);
    assert.deepEqual(cp.got.ClearChargingProfile, { connectorId: 1, chargingProfilePurpose: 'TxDefaultProfile' });

    a = await drv.send('CP-01', { type: 'get_composite', evse: 1, duration_s: 900 });
    assert.equal(a.accepted, true);
    assert.deepEqual(a.periods, [{ start_s: 0, limit: 16 }, { start_s: 600, limit: 6.5 }]);
    assert.deepEqual(cp.got.GetCompositeSchedule, { connectorId: 1, duration: 900, chargingRateUnit: 'A' });

    a = await drv.send('CP-01', { type: 'remote_start', evse: 2, token: '04A2B3C4D5' });
    assert.equal(a.accepted, true);
    assert.deepEqual(cp.got.RemoteStartTransaction, { connectorId: 2, idTag: '04A2B3C4D5' });
    a = await drv.send('CP-01', { type: 'remote_stop', tx_id: '12' });
    assert.deepEqual([a.accepted, a.status], [false, 'Rejected']);
    assert.deepEqual(cp.got.RemoteStopTransaction, { transactionId: 12 });
    a = await drv.send('CP-01', { type: 'availability', evse: 0, operative: false });
    assert.deepEqual([a.accepted, a.status], [true, 'Scheduled']);
    a = await drv.send('CP-01', { type: 'reset', hard: true });
    assert.deepEqual(cp.got.Reset, { type: 'Hard' });
    a = await drv.send('CP-01', { type: 'unlock', evse: 2 });
    assert.deepEqual([a.accepted, a.status], [true, 'Unlocked']);
    a = await drv.send('CP-01', { type: 'trigger', message: 'StatusNotification', evse: 1 });
    assert.deepEqual(cp.got.TriggerMessage, { requestedMessage: 'StatusNotification', connectorId: 1 });

    a = await drv.send('CP-01', { type: 'get_config', keys: [{ variable: 'HeartbeatInterval' }, { variable: 'Nope' }] });
    assert.deepEqual(a.keys.map((k) => [k.variable, k.value, k.known]),
      [['HeartbeatInterval', '300', true], ['Nope', undefined, false]]);
    a = await drv.send('CP-01', { type: 'set_config', keys: [{ variable: 'HeartbeatInterval', value: '60' }] });
    assert.deepEqual([a.accepted, a.status], [true, 'RebootRequired']);
    assert.deepEqual(cp.got.ChangeConfiguration, { key: 'HeartbeatInterval', value: '60' });

    a = await drv.send('CP-01', { type: 'send_local_list', version: 3, full: true,
      entries: [{ token: 'A1' }, { token: 'B2', blocked: true }] });
    assert.equal(a.accepted, true);
    assert.deepEqual(cp.got.SendLocalList.localAuthorizationList.map((e) => [e.idTag, e.idTagInfo.status]),
      [['A1', 'Accepted'], ['B2', 'Blocked']]);
    a = await drv.send('CP-01', { type: 'clear_cache' });
    assert.equal(a.accepted, true);

    // 1.6 has no GetChargingProfiles: refused before anything is sent.
    a = await drv.send('CP-01', { type: 'get_profiles' });
    assert.deepEqual([a.ok, a.error], [false, 'not sent']);
  } finally {
    await cp.close();
    assert.deepEqual(await drv.stop(), { code: 0, signal: null }, drv.logs.join('\n'));
  }
});

test('every command to a 2.0.1 charger, valid and decoded', async () => {
  const drv = await startDriver(baseConfig(tmpDir()));
  const cp = charger(drv.port, 'CP-02', 'ocpp2.0.1', {
    SetChargingProfile: { status: 'Rejected', statusInfo: { reasonCode: 'InvalidSchedule' } },
    ClearChargingProfile: { status: 'Accepted' },
    GetCompositeSchedule: { status: 'Accepted', schedule: { evseId: 1, duration: 300, scheduleStart: T,
      chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 7360 }] } },
    GetChargingProfiles: { status: 'NoProfiles' },
    RequestStartTransaction: { status: 'Accepted', transactionId: 'tx-remote-1' },
    RequestStopTransaction: { status: 'Accepted' },
    ChangeAvailability: { status: 'Accepted' },
    Reset: { status: 'Scheduled' },
    UnlockConnector: { status: 'UnknownConnector' },
    TriggerMessage: { status: 'NotImplemented' },
    GetVariables: (p) => ({ getVariableResult: p.getVariableData.map((d) => ({
      attributeStatus: 'Accepted', attributeValue: '42', component: d.component, variable: d.variable })) }),
    SetVariables: (p) => ({ setVariableResult: p.setVariableData.map((d) => ({
      attributeStatus: 'Rejected', component: d.component, variable: d.variable })) }),
    SendLocalList: { status: 'VersionMismatch' },
    ClearCache: { status: 'Rejected' },
  });
  try {
    await cp.connect();
    let a = await drv.send('CP-02', { type: 'set_profile', evse: 1, profile: { id: 8, stack_level: 1,
      purpose: 'tx_default', unit: 'W', periods: [{ start_s: 0, limit: 7360.5, phases: 3 }] } });
    assert.deepEqual([a.accepted, a.status, a.reason], [false, 'Rejected', 'InvalidSchedule']);
    assert.equal(cp.got.SetChargingProfile.chargingProfile.chargingSchedule[0].chargingSchedulePeriod[0].limit, 7360.5);

    a = await drv.send('CP-02', { type: 'clear_profile', id: 8 });
    assert.deepEqual(cp.got.ClearChargingProfile, { chargingProfileId: 8 });
    a = await drv.send('CP-02', { type: 'get_composite', evse: 1, duration_s: 300 });
    assert.deepEqual([a.unit, a.periods], ['W', [{ start_s: 0, limit: 7360 }]]);
    a = await drv.send('CP-02', { type: 'get_profiles', evse: 1, request_id: 5 });
    assert.deepEqual([a.accepted, a.status], [false, 'NoProfiles']);
    a = await drv.send('CP-02', { type: 'remote_start', evse: 2, token: 'TOK', remote_start_id: 77 });
    assert.deepEqual([a.accepted, a.tx_id], [true, 'tx-remote-1']);
    assert.deepEqual(cp.got.RequestStartTransaction, { evseId: 2, remoteStartId: 77,
      idToken: { idToken: 'TOK', type: 'Central' } });
    a = await drv.send('CP-02', { type: 'remote_stop', tx_id: 'tx-remote-1' });
    assert.deepEqual(cp.got.RequestStopTransaction, { transactionId: 'tx-remote-1' });
    a = await drv.send('CP-02', { type: 'availability', evse: 2, operative: false });
    assert.deepEqual(cp.got.ChangeAvailability, { operationalStatus: 'Inoperative', evse: { id: 2 } });
    a = await drv.send('CP-02', { type: 'reset', hard: false });
    assert.deepEqual([a.accepted, cp.got.Reset.type], [true, 'OnIdle']);
    a = await drv.send('CP-02', { type: 'unlock', evse: 1, connector: 1 });
    assert.deepEqual([a.accepted, a.status], [false, 'UnknownConnector']);
    a = await drv.send('CP-02', { type: 'trigger', message: 'MeterValues', evse: 1 });
    assert.deepEqual([a.accepted, a.status], [false, 'NotImplemented']);
    a = await drv.send('CP-02', { type: 'get_config', keys: [{ component: 'SmartChargingCtrlr', variable: 'Entries' }] });
    assert.deepEqual(a.keys.map((k) => [k.component, k.variable, k.value]), [['SmartChargingCtrlr', 'Entries', '42']]);
    a = await drv.send('CP-02', { type: 'set_config', keys: [{ component: 'SampledDataCtrlr',
      variable: 'TxUpdatedInterval', value: '5' }] });
    assert.deepEqual(a.keys.map((k) => k.status), ['Rejected']);
    a = await drv.send('CP-02', { type: 'send_local_list', version: 2, full: false, entries: [{ token: 'Z' }] });
    assert.deepEqual([a.accepted, a.status], [false, 'VersionMismatch']);
    a = await drv.send('CP-02', { type: 'clear_cache' });
    assert.deepEqual([a.accepted, a.status], [false, 'Rejected']);
  } finally {
    await cp.close();
    assert.deepEqual(await drv.stop(), { code: 0, signal: null }, drv.logs.join('\n'));
  }
});

test('a CALLERROR, an invalid answer, a timeout and no charger are reported', async () => {
  const cfg = baseConfig(tmpDir());
  cfg.ocpp.call_timeout_s = 1;
  const drv = await startDriver(cfg);
  // Not strict: this charger answers what the schemas forbid.
  const cp = charger(drv.port, 'CP-01', 'ocpp1.6', {
    Reset: { status: 'Maybe' },
    ClearCache: createRPCError('NotSupported', 'no cache here'),
    UnlockConnector: () => new Promise(() => {}),	// never answers
  }, false);
  try {
    await cp.connect();
    let a = await drv.send('CP-01', { type: 'reset' });
    assert.equal(a.ok, false);
    assert.match(a.error, /^invalid answer: status/);
    a = await drv.send('CP-01', { type: 'clear_cache' });
    assert.deepEqual([a.ok, a.error], [false, 'CALLERROR NotSupported: no cache here']);
    a = await drv.send('CP-01', { type: 'unlock', evse: 1 });
    assert.deepEqual([a.ok, a.error], [false, 'timeout']);
    a = await drv.send('CP-09', { type: 'clear_cache' });
    assert.deepEqual([a.ok, a.error], [false, 'not sent']);
  } finally {
    await cp.close({ force: true });
    assert.deepEqual(await drv.stop(), { code: 0, signal: null }, drv.logs.join('\n'));
  }
});
