'use strict';
// sitegate-sim (sim/) tested on its own: its chargers against an ocpp-rpc
// RPCServer in strict mode acting as the CSMS, so that every message the
// simulator sends and every answer it gives is checked against the official
// schemas by an independent implementation. What the cars draw is read
// from the simulator's --json-summary lines (one a second).
//
//  - both versions: boot, discovery answered from the configuration store
//    (and the meter interval written), a session started as the car
//    arrives, a TxProfile followed (the car ramps to it, then drops at once
//    to 0 A and reports the pause), meter values at the interval written;
//  - every quirk: reject_tx_profile, w_only, stack_level_0,
//    ignore_number_phases, as discovery shows them and as profiles meet
//    them;
//  - a 1-phase car on a 3-phase charger taking less than offered.
//
// The cars are fixed with --car-phases and --car-max-a; waits are on
// messages and summary lines, bounded.

const { it } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { RPCServer } = require('ocpp-rpc');
const { tmpDir } = require('./lib/gateway');

const ROOT = path.resolve(__dirname, '../..');
const SIM = process.env.SITEGATE_SIM || path.join(ROOT, 'build/asan/sitegate-sim');
const iso = (ms) => new Date(ms).toISOString();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());

// ------------------------------------------------------------ a strict CSMS

async function startCsms() {
  const server = new RPCServer({ protocols: ['ocpp2.0.1', 'ocpp1.6'], strictMode: true, callTimeoutMs: 5000 });
  const http = await server.listen(0, '127.0.0.1');
  const c = { server, port: http.address().port, clients: new Map(), got: [], failures: [], txSeq: 100 };
  server.on('client', (cli) => {
    const v16 = cli.protocol === 'ocpp1.6';
    cli.on('strictValidationFailure', (e) => c.failures.push({ id: cli.identity, method: e.method,
      outbound: e.outbound, isCall: e.isCall, error: e.error.message }));
    const answers = {
      BootNotification: () => ({ status: 'Accepted', currentTime: iso(Date.now()), interval: 300 }),
      Heartbeat: () => ({ currentTime: iso(Date.now()) }),
      StatusNotification: () => ({}),
      Authorize: () => (v16 ? { idTagInfo: { status: 'Accepted' } } : { idTokenInfo: { status: 'Accepted' } }),
      StartTransaction: () => ({ transactionId: ++c.txSeq, idTagInfo: { status: 'Accepted' } }),
      StopTransaction: () => ({}),
      MeterValues: () => ({}),
      TransactionEvent: (p) => (p.idToken ? { idTokenInfo: { status: 'Accepted' } } : {}),
    };
    cli.handle(({ method, params }) => {
      const fn = answers[method];
      if (!fn) throw new Error(`test CSMS does not handle ${method}`);
      const r = fn(params);
      c.got.push({ id: cli.identity, method, params, r, t: Date.now() });
      return r;
    });
    c.clients.set(cli.identity, cli);
  });
  c.waitFor = async (pred, ms = 15000) => {
    const t0 = Date.now();
    for (;;) {
      const m = c.got.find(pred);
      if (m) return m;
      if (Date.now() - t0 > ms) throw new Error(`test CSMS: nothing matching ${pred} within ${ms} ms`);
      await sleep(50);
    }
  };
  c.close = () => server.close({ force: true });
  return c;
}

// ------------------------------------------------------------ the simulator

// Start sitegate-sim with chargers (the --config entries) on csms.
function startSim(csms, chargers, args = []) {
  const dir = tmpDir('sg-sim-');
  const config = path.join(dir, 'chargers.json');
  const json = path.join(dir, 'sim.jsonl');
  fs.writeFileSync(config, JSON.stringify({ chargers }));
  const p = spawn(SIM, ['--url', `ws://127.0.0.1:${csms.port}/ocpp`, '--config', config, '--quiet',
    '--arrival-s', '0', '--json-summary', json, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => p.on('exit', (code, signal) => resolve({ code, signal })));
  const lines = () => (fs.existsSync(json) ? fs.readFileSync(json, 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l)) : []);
  return {
    p,
    lines,
    stderr: () => stderr,
    // The first summary line after `since` (ms) where pred(evse) holds
    // for the EVSE of charger id.
    async evse(id, pred, since, ms = 10000) {
      const t0 = Date.now();
      for (;;) {
        for (const l of lines()) {
          if (l.ms <= since) continue;
          const e = l.evses.find((x) => x.charger === id);
          if (e && pred(e)) return e;
        }
        if (Date.now() - t0 > ms) {
          const last = lines().at(-1);
          throw new Error(`${id}: no summary line matching ${pred} within ${ms} ms; last: ` +
            JSON.stringify(last && last.evses.find((x) => x.charger === id)));
        }
        await sleep(200);
      }
    },
    async stop() {
      if (p.exitCode === null) p.kill('SIGINT');
      const r = await Promise.race([exited, sleep(10000).then(() => null)]);
      if (r === null) p.kill('SIGKILL');
      return r;
    },
  };
}

function txProfile(v16, o) {
  const sched = { chargingRateUnit: o.unit || 'A',
    chargingSchedulePeriod: [{ startPeriod: 0, limit: o.limit, ...(o.phases ? { numberPhases: o.phases } : {}) }] };
  const purpose = o.purpose || 'TxProfile';
  const tx = purpose === 'TxProfile' ? { transactionId: v16 ? Number(o.tx) : o.tx } : {};
  if (v16) {
    return { connectorId: 1, csChargingProfiles: { chargingProfileId: o.id || 7, stackLevel: o.stack ?? 1,
      chargingProfilePurpose: purpose, chargingProfileKind: 'Absolute', ...tx,
      chargingSchedule: { startSchedule: iso(Date.now() - 1000), ...sched } } };
  }
  return { evseId: 1, chargingProfile: { id: o.id || 7, stackLevel: o.stack ?? 1, chargingProfilePurpose: purpose,
    chargingProfileKind: 'Absolute', ...tx,
    chargingSchedule: [{ id: 1, startSchedule: iso(Date.now() - 1000), ...sched }] } };
}

// The transaction id of charger id's running session (from what it sent).
async function session(csms, id) {
  const m = await csms.waitFor((x) => x.id === id && (x.method === 'StartTransaction' ||
    (x.method === 'TransactionEvent' && x.params.eventType === 'Started')));
  return m.method === 'StartTransaction' ? String(m.r.transactionId) : m.params.transactionInfo.transactionId;
}

function itSim(name, fn, ms = 40000) {
  it(name, { timeout: ms }, async () => {
    const csms = await startCsms();
    const sims = [];
    try {
      await fn(csms, (...a) => { const s = startSim(csms, ...a); sims.push(s); return s; });
      for (const s of sims) {
        const r = await s.stop();
        assert.deepEqual(r, { code: 0, signal: null }, s.stderr());
        assert.equal(s.lines().at(-1)?.bugs ?? 0, 0, s.stderr());
      }
      assert.deepEqual(csms.failures, [], JSON.stringify(csms.failures, null, 1));
    } finally {
      for (const s of sims) await s.stop();
      await csms.close();
    }
  });
}

// ------------------------------------------------------------ tests

itSim('both versions: boot, discovery, a session, a TxProfile followed, a pause, meter values', async (csms, sim) => {
  const s = sim([{ id: 'V16', version: '1.6', phases: 3, max_current_a: 32 },
    { id: 'V201', version: '2.0.1', phases: 3, max_current_a: 32 }], ['--car-phases', '3', '--car-max-a', '32']);
  await csms.waitFor((m) => m.id === 'V16' && m.method === 'BootNotification');
  await csms.waitFor((m) => m.id === 'V201' && m.method === 'BootNotification');
  const a = csms.clients.get('V16');
  const b = csms.clients.get('V201');
  const conf = await a.call('GetConfiguration', {});
  const kv = Object.fromEntries(conf.configurationKey.map((k) => [k.key, k.value]));
  assert.match(kv.SupportedFeatureProfiles, /SmartCharging/);
  assert.equal(kv.ChargeProfileMaxStackLevel, '3');
  assert.equal(kv.ChargingScheduleAllowedChargingRateUnit, 'Current,Power');
  assert.deepEqual(await a.call('ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '1' }),
    { status: 'Accepted' });
  assert.deepEqual(await a.call('ChangeConfiguration', { key: 'NumberOfConnectors', value: '2' }),
    { status: 'Rejected' });
  const gv = await b.call('GetVariables', { getVariableData: [
    { component: { name: 'SmartChargingCtrlr' }, variable: { name: 'RateUnit' } },
    { component: { name: 'SmartChargingCtrlr' }, variable: { name: 'ProfileStackLevel' } },
    { component: { name: 'NoSuchCtrlr' }, variable: { name: 'X' } }] });
  assert.deepEqual(gv.getVariableResult.map((r) => [r.attributeStatus, r.attributeValue]),
    [['Accepted', 'A,W'], ['Accepted', '3'], ['UnknownComponent', undefined]]);
  const sv = await b.call('SetVariables', { setVariableData: [
    { component: { name: 'SampledDataCtrlr' }, variable: { name: 'TxUpdatedInterval' }, attributeValue: '1' }] });
  assert.equal(sv.setVariableResult[0].attributeStatus, 'Accepted');

  const txa = await session(csms, 'V16');
  const txb = await session(csms, 'V201');
  // No profile: the hardware maximum, 32 A, reached by ramping.
  await s.evse('V16', (e) => e.state === 'charging' && e.amps[0] === 32, 0);
  const t = Date.now();
  assert.deepEqual(await a.call('SetChargingProfile', txProfile(true, { tx: txa, limit: 10 })), { status: 'Accepted' });
  assert.deepEqual(await b.call('SetChargingProfile', txProfile(false, { tx: txb, limit: 10 })), { status: 'Accepted' });
  // Down at once: the first line after the answers.
  const first = await s.evse('V16', () => true, Date.now());
  assert.deepEqual(first.amps, [10, 10, 10]);
  await s.evse('V201', (e) => e.amps.join() === '10,10,10' && e.offered_a === 10, t);
  // Meter values at the 1 s written: Current.Import per phase.
  const mv = await csms.waitFor((m) => m.id === 'V16' && m.method === 'MeterValues' && m.t > t + 1500);
  const cur = mv.params.meterValue[0].sampledValue.filter((x) => x.measurand === 'Current.Import');
  assert.deepEqual(cur.map((x) => [x.phase, Number(x.value)]), [['L1', 10], ['L2', 10], ['L3', 10]]);
  await csms.waitFor((m) => m.id === 'V201' && m.method === 'TransactionEvent' &&
    m.params.triggerReason === 'MeterValuePeriodic' && m.t > t + 1500);
  // 0 A: the car pauses and the charger says so.
  const t0 = Date.now();
  assert.deepEqual(await a.call('SetChargingProfile', txProfile(true, { tx: txa, limit: 0 })), { status: 'Accepted' });
  assert.deepEqual(await b.call('SetChargingProfile', txProfile(false, { tx: txb, limit: 0 })), { status: 'Accepted' });
  await s.evse('V16', (e) => e.amps.join() === '0,0,0' && e.state === 'suspended', t0);
  await csms.waitFor((m) => m.id === 'V16' && m.method === 'StatusNotification' && m.params.status === 'SuspendedEVSE');
  await csms.waitFor((m) => m.id === 'V201' && m.method === 'TransactionEvent' &&
    m.params.transactionInfo.chargingState === 'SuspendedEVSE');
});

itSim('quirks: reject_tx_profile, w_only, stack_level_0, ignore_number_phases', async (csms, sim) => {
  const s = sim([
    { id: 'Q-TX', version: '1.6', quirks: ['reject_tx_profile'] },
    { id: 'Q-W', version: '2.0.1', quirks: ['w_only'] },
    { id: 'Q-S0', version: '1.6', quirks: ['stack_level_0'] },
    { id: 'Q-NP', version: '2.0.1', quirks: ['ignore_number_phases'] }], ['--car-phases', '3', '--car-max-a', '32']);
  const tx = {};
  for (const id of ['Q-TX', 'Q-W', 'Q-S0', 'Q-NP']) tx[id] = await session(csms, id);
  const cli = (id) => csms.clients.get(id);

  // reject_tx_profile: TxProfile refused, a TxDefaultProfile followed.
  assert.deepEqual(await cli('Q-TX').call('SetChargingProfile', txProfile(true, { tx: tx['Q-TX'], limit: 10 })),
    { status: 'Rejected' });
  let t = Date.now();
  assert.deepEqual(await cli('Q-TX').call('SetChargingProfile',
    txProfile(true, { purpose: 'TxDefaultProfile', limit: 16 })), { status: 'Accepted' });
  await s.evse('Q-TX', (e) => e.amps.join() === '16,16,16', t);

  // w_only: discovery says W; A refused; 6900 W on 3 phases is 10 A.
  const gv = await cli('Q-W').call('GetVariables', { getVariableData: [
    { component: { name: 'SmartChargingCtrlr' }, variable: { name: 'RateUnit' } }] });
  assert.equal(gv.getVariableResult[0].attributeValue, 'W');
  const r = await cli('Q-W').call('SetChargingProfile', txProfile(false, { tx: tx['Q-W'], limit: 10 }));
  assert.equal(r.status, 'Rejected');
  t = Date.now();
  assert.equal((await cli('Q-W').call('SetChargingProfile',
    txProfile(false, { tx: tx['Q-W'], limit: 6900, unit: 'W' }))).status, 'Accepted');
  await s.evse('Q-W', (e) => e.amps.join() === '10,10,10', t);

  // stack_level_0: discovery says 0; stack 1 refused, stack 0 followed.
  const conf = await cli('Q-S0').call('GetConfiguration', { key: ['ChargeProfileMaxStackLevel'] });
  assert.equal(conf.configurationKey[0].value, '0');
  assert.deepEqual(await cli('Q-S0').call('SetChargingProfile', txProfile(true, { tx: tx['Q-S0'], limit: 10 })),
    { status: 'Rejected' });
  t = Date.now();
  assert.deepEqual(await cli('Q-S0').call('SetChargingProfile',
    txProfile(true, { tx: tx['Q-S0'], limit: 12, stack: 0 })), { status: 'Accepted' });
  await s.evse('Q-S0', (e) => e.amps.join() === '12,12,12', t);

  // ignore_number_phases: 6900 W "on 1 phase" taken on its 3: 10 A each
  // (a charger that honours numberPhases would draw 30 A on L1).
  t = Date.now();
  assert.equal((await cli('Q-NP').call('SetChargingProfile',
    txProfile(false, { tx: tx['Q-NP'], limit: 6900, unit: 'W', phases: 1 }))).status, 'Accepted');
  await s.evse('Q-NP', (e) => e.amps.join() === '10,10,10', t);
  assert.equal(s.lines().at(-1).rejected, 3);
});

itSim('a 1-phase car on a 3-phase charger, taking less than offered, ramping up', async (csms, sim) => {
  const s = sim([{ id: 'P1', version: '2.0.1', phases: 3, max_current_a: 32 },
    { id: 'P2', version: '1.6', phases: 3, max_current_a: 32 }], ['--car-phases', '1', '--car-max-a', '20']);
  const tx = await session(csms, 'P1');
  // Paused first (0 A), so that the ramp starts from nothing.
  assert.equal((await csms.clients.get('P1').call('SetChargingProfile',
    txProfile(false, { tx, limit: 0 }))).status, 'Accepted');
  await s.evse('P1', (e) => e.amps.join() === '0,0,0', Date.now());
  // 2.0.1: another id at the same stack level and purpose is refused.
  assert.equal((await csms.clients.get('P1').call('SetChargingProfile',
    txProfile(false, { tx, limit: 32, id: 8 }))).status, 'Rejected');
  const t = Date.now();
  assert.equal((await csms.clients.get('P1').call('SetChargingProfile',
    txProfile(false, { tx, limit: 32 }))).status, 'Accepted');
  await s.evse('P1', (e) => e.amps.join() === '20,0,0', t);
  // What it drew on the way never exceeded 20 A nor left L1, and it
  // ramped: from 6 A up at 2-6 A/s, over more than 2 s, so at least one
  // line (one a second) caught it on the way.
  const l1 = [];
  for (const l of s.lines()) {
    const e = l.evses.find((x) => x.charger === 'P1');
    assert.ok(e.amps[0] <= 20 && e.amps[1] === 0 && e.amps[2] === 0, JSON.stringify(e));
    if (l.ms > t) l1.push(e.amps[0]);
  }
  assert.ok(l1.some((a) => a >= 6 && a < 20), `no line while ramping: ${l1}`);
  // The meter says so too.
  const mv = await csms.waitFor((m) => m.id === 'P1' && m.method === 'TransactionEvent' && m.t > t + 500 &&
    m.params.meterValue && m.params.meterValue[0].sampledValue.some((x) => x.measurand === 'Current.Import' &&
      x.phase === 'L1' && x.value === 20), 20000);
  assert.ok(mv.params.meterValue[0].sampledValue.some((x) => x.phase === 'L2' && x.value === 0));
});
