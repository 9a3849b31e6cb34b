'use strict';
// The test harness tested: the simulated charger (lib/charger.js) against
// an ocpp-rpc RPCServer in strict mode acting as a CSMS (so every message
// the charger sends and every answer it gives is schema-checked), and the
// site oracle (lib/sitecheck.js) on hand-computed sites. Limits are asked
// for at explicit times (atMs), never by waiting; every expected number is
// computed by hand in the comment beside it, so a wrong harness fails.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { RPCServer, TimeoutError } = require('ocpp-rpc');
const { SimCharger, snapshot } = require('./lib/charger');
const { sitecheck } = require('./lib/sitecheck');

const iso = (ms) => new Date(ms).toISOString();
const S = 1000;

// ------------------------------------------------------------ a test CSMS

class TestCsms {
  constructor(server, port) {
    this.server = server;
    this.port = port;
    this.clients = new Map();
    this.clientWaiters = [];
    this.got = [];
    this.gotWaiters = [];
    this.txSeq = 100;
  }

  static async start({ strict = true } = {}) {
    const server = new RPCServer({ protocols: ['ocpp2.0.1', 'ocpp1.6'], strictMode: strict,
      callTimeoutMs: 5000 });
    const http = await server.listen(0, '127.0.0.1');
    const c = new TestCsms(server, http.address().port);
    server.on('client', (cli) => c.onClient(cli));
    return c;
  }

  onClient(cli) {
    const v16 = cli.protocol === 'ocpp1.6';
    const record = (action, params) => {
      const m = { identity: cli.identity, action, params };
      this.got.push(m);
      const i = this.got.length - 1;
      this.gotWaiters = this.gotWaiters.filter((w) => {
        if (i < w.since || !w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    };
    const answers = {
      BootNotification: () => ({ status: 'Accepted', currentTime: iso(Date.now()), interval: 300 }),
      Heartbeat: () => ({ currentTime: iso(Date.now()) }),
      StatusNotification: () => ({}),
      Authorize: () => (v16 ? { idTagInfo: { status: 'Accepted' } } : { idTokenInfo: { status: 'Accepted' } }),
      StartTransaction: () => ({ transactionId: ++this.txSeq, idTagInfo: { status: 'Accepted' } }),
      StopTransaction: () => ({}),
      MeterValues: () => ({}),
      TransactionEvent: (p) => (p.idToken ? { idTokenInfo: { status: 'Accepted' } } : {}),
      ReportChargingProfiles: () => ({}),
      FirmwareStatusNotification: () => ({}),
    };
    cli.handle(({ method, params }) => {
      const fn = answers[method];
      if (!fn) throw new Error(`test CSMS does not handle ${method}`);
      const r = fn(params);
      // Recorded after the answer is built: a waiter sees a complete exchange.
      setImmediate(() => record(method, params));
      return r;
    });
    this.clients.set(cli.identity, cli);
    this.clientWaiters = this.clientWaiters.filter((w) => {
      if (w.id !== cli.identity) return true;
      w.resolve(cli);
      return false;
    });
  }

  client(id) {
    const c = this.clients.get(id);
    if (c && c.state === 1) return Promise.resolve(c);
    return new Promise((resolve) => this.clientWaiters.push({ id, resolve }));
  }

  mark() { return this.got.length; }

  // The first message (at or after since) from a charger matching pred;
  // rejects after ms, so that a failing test still cleans up.
  waitFor(pred, { since = 0, ms = 10000 } = {}) {
    for (let i = since; i < this.got.length; i++) if (pred(this.got[i])) return Promise.resolve(this.got[i]);
    return new Promise((resolve, reject) => {
      const w = { pred, since };
      const timer = setTimeout(() => {
        this.gotWaiters = this.gotWaiters.filter((x) => x !== w);
        reject(new Error(`test CSMS: no message matching ${pred} within ${ms} ms`));
      }, ms);
      w.resolve = (m) => { clearTimeout(timer); resolve(m); };
      this.gotWaiters.push(w);
    });
  }

  close() { return this.server.close({ force: true }); }
}

// Start a CSMS and one simulated charger on it; resolves to
// { csms, cp, cs } (cs: the CSMS side of the connection).
async function setup(chargerOpts, { strict = true, start = true } = {}) {
  const csms = await TestCsms.start({ strict });
  const cp = new SimCharger({ id: 'SIM-1', port: csms.port, ...chargerOpts });
  if (start) await cp.start();
  else await cp.connect();
  const cs = await csms.client(cp.id);
  return { csms, cp, cs, async close() { await cp.close(); await csms.close(); } };
}

// it() that always closes what setup() started.
function itWith(name, chargerOpts, fn, setupOpts) {
  it(name, { timeout: 20000 }, async () => {
    const t = await setup(chargerOpts, setupOpts);
    try {
      await fn(t);
    } finally {
      await t.close();
    }
  });
}

// A SetChargingProfile payload for either version. o: id, stack, purpose
// ('max' | 'TxDefaultProfile' | 'TxProfile' | a 2.0.1 name), kind, tx,
// validFrom, validTo, start (startSchedule, ms), duration, unit, limit,
// phases, periods ([[startPeriod, limit, numberPhases?], ...]), recurrency.
function profile(version, evse, o) {
  const v16 = version === '1.6';
  const purpose = o.purpose === 'max' ? (v16 ? 'ChargePointMaxProfile' : 'ChargingStationMaxProfile')
    : (o.purpose || 'TxDefaultProfile');
  const periods = (o.periods || [[0, o.limit, o.phases]]).map(([startPeriod, limit, numberPhases]) =>
    ({ startPeriod, limit, ...(numberPhases ? { numberPhases } : {}) }));
  const sched = {
    ...(o.start !== undefined && o.start !== null ? { startSchedule: iso(o.start) } : {}),
    ...(o.duration ? { duration: o.duration } : {}),
    chargingRateUnit: o.unit || 'A',
    chargingSchedulePeriod: periods,
  };
  const body = {
    stackLevel: o.stack ?? 0,
    chargingProfilePurpose: purpose,
    chargingProfileKind: o.kind || 'Absolute',
    ...(o.recurrency ? { recurrencyKind: o.recurrency } : {}),
    ...(o.validFrom ? { validFrom: iso(o.validFrom) } : {}),
    ...(o.validTo ? { validTo: iso(o.validTo) } : {}),
    ...(o.tx != null ? { transactionId: o.tx } : {}),
  };
  if (v16) return { connectorId: evse, csChargingProfiles: { chargingProfileId: o.id, ...body, chargingSchedule: sched } };
  return { evseId: evse, chargingProfile: { id: o.id, ...body, chargingSchedule: [{ id: o.id, ...sched }] } };
}

// The limits of EVSEs ids at time t: [[l1, l2, l3], ...].
const amps = (cp, ids, t) => ids.map((i) => cp.effectiveLimit(i, t).amps);

// ------------------------------------------------------------ profiles

describe('sim charger: charging profiles', { concurrency: true }, () => {
  const T0 = Math.floor(Date.now() / 1000) * 1000 - 10 * S;	// every schedule starts here

  itWith('1.6: stack levels, connector 0 default, validTo, charger maximum shared, TxProfile over TxDefault',
    { version: '1.6', evses: 2 }, async ({ cp, cs }) => {
      const set = (evse, o) => cs.call('SetChargingProfile', profile('1.6', evse, { start: T0, ...o }));
      const now = Date.now();
      // Nothing installed: the hardware maximum.
      assert.deepEqual(amps(cp, [1, 2], now), [[32, 32, 32], [32, 32, 32]]);
      assert.equal((await set(0, { id: 1, stack: 0, limit: 16 })).status, 'Accepted');
      assert.deepEqual(amps(cp, [1, 2], now), [[16, 16, 16], [16, 16, 16]]);
      // An EVSE's own default wins over connector 0's, whatever its level.
      assert.equal((await set(1, { id: 2, stack: 0, limit: 10 })).status, 'Accepted');
      assert.deepEqual(amps(cp, [1, 2], now), [[10, 10, 10], [16, 16, 16]]);
      // A higher level on EVSE 1 until validTo, then level 0 again.
      const to = now + 60 * S;
      assert.equal((await set(1, { id: 3, stack: 2, limit: 20, validTo: to })).status, 'Accepted');
      assert.deepEqual(amps(cp, [1], to - 1), [[20, 20, 20]]);
      assert.deepEqual(amps(cp, [1], to), [[10, 10, 10]]);
      // 1.6: the same level and purpose on the same connector replaces.
      assert.equal((await set(1, { id: 4, stack: 0, limit: 12 })).status, 'Accepted');
      assert.deepEqual(cp.profiles.map((p) => p.id).sort(), [1, 3, 4]);
      assert.deepEqual(amps(cp, [1], to), [[12, 12, 12]]);

      // Charger maximum 18 A: caps each idle EVSE; shared once both charge.
      assert.equal((await set(0, { id: 9, purpose: 'max', limit: 18 })).status, 'Accepted');
      assert.deepEqual(amps(cp, [1, 2], now), [[18, 18, 18], [16, 16, 16]]);
      const tx1 = await cp.startTransaction(1, { ev: { demandA: 32 } });
      await cp.startTransaction(2, { ev: { demandA: 32 } });
      // 18 and 16 want more than 18: fair shares 9 and 9.
      assert.deepEqual(amps(cp, [1, 2], now), [[9, 9, 9], [9, 9, 9]]);
      assert.equal((await cs.call('ClearChargingProfile', { chargingProfilePurpose: 'ChargePointMaxProfile' })).status,
        'Accepted');
      assert.deepEqual(amps(cp, [1, 2], now), [[20, 20, 20], [16, 16, 16]]);

      // TxProfile for the running transaction, lower level than the default: it wins.
      assert.equal((await set(1, { id: 5, purpose: 'TxProfile', tx: Number(tx1), limit: 8 })).status, 'Accepted');
      assert.deepEqual(amps(cp, [1], now), [[8, 8, 8]]);
      assert.deepEqual(cp.effectiveLimit(1, now).source, { id: 5, purpose: 'tx', stackLevel: 0 });
      // A charger maximum of 20 A over 8 + 16: max-min fair, 8 and 12 (not 10 and 10).
      assert.equal((await set(0, { id: 10, purpose: 'max', limit: 20 })).status, 'Accepted');
      assert.deepEqual(amps(cp, [1, 2], now), [[8, 8, 8], [12, 12, 12]]);
      await cs.call('ClearChargingProfile', { id: 10 });
      // It goes with the transaction.
      await cp.stopTransaction(1);
      assert.ok(!cp.profiles.some((p) => p.id === 5));
      assert.deepEqual(amps(cp, [1], now), [[20, 20, 20]]);
    });

  itWith('2.0.1: schedule periods over time, duration, Relative and Recurring', { version: '2.0.1' }, async ({ cp, cs }) => {
    const set = (o) => cs.call('SetChargingProfile', profile('2.0.1', 1, o));
    // Level 0: 6 A for ever. Level 1: 32 A, 16 A after 600 s, 0 after 1200 s, for 1800 s.
    assert.equal((await set({ id: 1, stack: 0, start: T0, limit: 6 })).status, 'Accepted');
    assert.equal((await set({ id: 2, stack: 1, start: T0, duration: 1800,
      periods: [[0, 32], [600, 16], [1200, 0]] })).status, 'Accepted');
    const at = (s) => cp.effectiveLimit(1, T0 + s * S).limitA;
    assert.deepEqual([at(-1), at(0), at(599), at(600), at(1199), at(1200), at(1799), at(1800)],
      [32, 32, 32, 16, 16, 0, 0, 6]);
    // Before T0 level 1 has no limit yet: level 0... except it starts at T0 too: the hardware max.
    assert.equal(at(-1), 32);
    assert.equal(cp.effectiveLimit(1, T0 - S).source, 'hardware');

    // Daily recurring at level 2 from T0: 10 A for the first hour of every day.
    assert.equal((await set({ id: 3, stack: 2, kind: 'Recurring', recurrency: 'Daily', start: T0, duration: 3600,
      limit: 10 })).status, 'Accepted');
    // At 3600 s both level 2 (its hour) and level 1 (1800 s) are over: level 0.
    assert.deepEqual([at(10), at(3600), at(86400 + 10), at(2 * 86400 + 3599), at(2 * 86400 + 3600)],
      [10, 6, 10, 10, 6]);

    // Relative TxProfile: periods count from the transaction's start.
    const tx = await cp.startTransaction(1);
    const start = cp.evse(1).tx.startedAt;
    assert.equal((await set({ id: 4, stack: 3, purpose: 'TxProfile', kind: 'Relative', tx, start: null,
      periods: [[0, 13], [300, 7]] })).status, 'Accepted');
    assert.equal(cp.effectiveLimit(1, start + 299 * S).limitA, 13);
    assert.equal(cp.effectiveLimit(1, start + 300 * S).limitA, 7);
  });

  itWith('W are turned into A with the voltage and the phases; numberPhases and phaseToUse',
    { version: '2.0.1', evses: [{ phases: 3 }, { phases: 1 }], phaseSwitching: true }, async ({ cp, cs }) => {
      const set = (evse, o) => cs.call('SetChargingProfile', profile('2.0.1', evse, { start: T0, ...o }));
      const now = Date.now();
      // 11040 W on 3 phases: 11040 / (230 x 3) = 16 A each.
      assert.equal((await set(1, { id: 1, unit: 'W', limit: 11040 })).status, 'Accepted');
      assert.deepEqual(cp.effectiveLimit(1, now), { amps: [16, 16, 16], phases: 3, limitA: 16,
        source: { id: 1, purpose: 'txdefault', stackLevel: 0 } });
      // numberPhases 1: 6900 W / 230 = 30 A on L1 only.
      assert.equal((await set(1, { id: 1, unit: 'W', limit: 6900, phases: 1 })).status, 'Accepted');
      assert.deepEqual(cp.effectiveLimit(1, now).amps, [30, 0, 0]);
      assert.equal(cp.effectiveLimit(1, now).phases, 1);
      // ... more than the EVSE's 32 A is its 32 A.
      assert.equal((await set(1, { id: 1, unit: 'W', limit: 11040, phases: 1 })).status, 'Accepted');
      assert.deepEqual(cp.effectiveLimit(1, now).amps, [32, 0, 0]);
      // A in a profile with numberPhases 1: on L1 only.
      assert.equal((await set(1, { id: 1, limit: 20, phases: 1 })).status, 'Accepted');
      assert.deepEqual(cp.effectiveLimit(1, now).amps, [20, 0, 0]);
      // phaseToUse (phase switching supported): on L3.
      const p = profile('2.0.1', 1, { id: 1, start: T0, limit: 20, phases: 1 });
      p.chargingProfile.chargingSchedule[0].chargingSchedulePeriod[0].phaseToUse = 3;
      assert.equal((await cs.call('SetChargingProfile', p)).status, 'Accepted');
      assert.deepEqual(cp.effectiveLimit(1, now).amps, [0, 0, 20]);
      // The 1-phase EVSE: 3680 W / 230 = 16 A; numberPhases 3 cannot make it 3-phase.
      assert.equal((await set(2, { id: 2, unit: 'W', limit: 3680, phases: 3 })).status, 'Accepted');
      assert.deepEqual(cp.effectiveLimit(2, now), { amps: [16, 0, 0], phases: 1, limitA: 16,
        source: { id: 2, purpose: 'txdefault', stackLevel: 0 } });
    });

  itWith('another voltage, and a charger that ignores numberPhases',
    { version: '1.6', voltage: 240, quirks: { ignoreNumberPhases: true } }, async ({ cp, cs }) => {
      // 6900 W asked on 1 phase; the charger uses its 3: 6900 / (240 x 3) = 9.583 A on each.
      const r = await cs.call('SetChargingProfile', profile('1.6', 1, { id: 1, start: T0, unit: 'W', limit: 6900,
        phases: 1 }));
      assert.equal(r.status, 'Accepted');
      assert.deepEqual(cp.effectiveLimit(1).amps, [9.583, 9.583, 9.583]);
      assert.equal(cp.effectiveLimit(1).phases, 3);
    });

  itWith('1.6 and 2.0.1 rules a real charger enforces', { version: '2.0.1', evses: 2, maxStackLevel: 3,
    maxPeriods: 2, maxProfiles: 3, rateUnits: ['A'] }, async ({ cp, cs }) => {
    const set = (evse, o) => cs.call('SetChargingProfile', profile('2.0.1', evse, { start: T0, limit: 10, ...o }));
    const refused = async (evse, o, code) => {
      const r = await set(evse, o);
      assert.equal(r.status, 'Rejected', JSON.stringify(o));
      assert.equal(r.statusInfo.reasonCode, code, JSON.stringify(r));
    };
    await refused(1, { id: 1, stack: 4 }, 'InvalidStackLevel');
    await refused(1, { id: 1, unit: 'W', limit: 5000 }, 'UnsupportedRateUnit');
    await refused(1, { id: 1, periods: [[0, 10], [60, 8], [120, 6]] }, 'InvalidSchedule');
    await refused(1, { id: 1, periods: [[10, 10]] }, 'InvalidSchedule');
    await refused(1, { id: 1, purpose: 'max' }, 'InvalidProfile');
    await refused(0, { id: 1, purpose: 'TxProfile', tx: 'x' }, 'InvalidProfile');
    await refused(1, { id: 1, purpose: 'TxProfile' }, 'TxNotFound');
    await refused(1, { id: 1, purpose: 'ChargingStationExternalConstraints' }, 'InvalidProfile');
    await refused(1, { id: 1, start: null }, 'InvalidSchedule');	// Absolute without startSchedule
    await refused(1, { id: 1, validFrom: T0 + 10 * S, validTo: T0 }, 'InvalidProfile');
    const tx = await cp.startTransaction(1);
    await refused(1, { id: 1, purpose: 'TxProfile', tx: 'not-this-one' }, 'TxNotFound');
    await refused(1, { id: 1, purpose: 'TxProfile' }, 'InvalidProfile');	// no transactionId
    assert.equal((await set(1, { id: 1, purpose: 'TxProfile', tx })).status, 'Accepted');
    // Same level and purpose on the same EVSE under another id: K01.FR.06.
    assert.equal((await set(2, { id: 2, stack: 1 })).status, 'Accepted');
    await refused(2, { id: 3, stack: 1 }, 'DuplicateProfile');
    // The same id replaces.
    assert.equal((await set(2, { id: 2, stack: 1, limit: 7 })).status, 'Accepted');
    assert.equal(cp.effectiveLimit(2).limitA, 7);
    assert.equal((await set(0, { id: 3, stack: 0 })).status, 'Accepted');
    await refused(2, { id: 4, stack: 2 }, 'TooManyProfiles');
    assert.deepEqual(cp.profiles.map((p) => p.id).sort(), [1, 2, 3]);
    // Every answer came after its CALL, and the log says why.
    const rejected = cp.log.filter((e) => e.action === 'SetChargingProfile' && e.status === 'Rejected');
    assert.equal(rejected.length, 14);
    assert.ok(rejected.every((e) => e.answeredAt >= e.t && e.reason));
  });

  it('1.6: a limit with two decimals breaks the schema: CALLERROR and a finding', async () => {
    const t = await setup({ version: '1.6' }, { strict: false });
    try {
      const p = profile('1.6', 1, { id: 1, start: T0, limit: 16.25 });
      await assert.rejects(t.cs.call('SetChargingProfile', p), (e) => e.rpcErrorCode === 'PropertyConstraintViolation' ||
        e.rpcErrorCode === 'FormationViolation' || /constraint/i.test(e.rpcErrorCode));
      assert.equal(t.cp.findings.length, 1);
      assert.match(t.cp.findings[0].message, /schema: .*multiple of 0\.1|schema: .*limit/);
      assert.equal(t.cp.profiles.length, 0);
      // One decimal is fine; an Absolute profile without startSchedule is a finding only in 1.6.
      const ok = profile('1.6', 1, { id: 1, start: null, limit: 16.2 });
      assert.equal((await t.cs.call('SetChargingProfile', ok)).status, 'Accepted');
      assert.match(t.cp.findings[1].message, /without startSchedule/);
      assert.equal(t.cp.effectiveLimit(1).limitA, 16.2);
    } finally {
      await t.close();
    }
  });

  itWith('1.6: TxProfile without a transaction is refused; with one it binds to it',
    { version: '1.6', evses: 2 }, async ({ cp, cs }) => {
      const set = (evse, o) => cs.call('SetChargingProfile', profile('1.6', evse, { start: T0, ...o }));
      assert.equal((await set(1, { id: 7, purpose: 'TxProfile', limit: 10 })).status, 'Rejected');
      assert.equal((await set(0, { id: 7, purpose: 'TxProfile', limit: 10 })).status, 'Rejected');
      const tx = await cp.startTransaction(1);
      assert.equal((await set(1, { id: 7, purpose: 'TxProfile', limit: 10 })).status, 'Accepted');
      assert.equal(cp.profiles[0].txId, tx);
      assert.equal((await set(1, { id: 8, stack: 1, purpose: 'TxProfile', tx: Number(tx) + 1, limit: 9 })).status,
        'Rejected');
      assert.equal(cp.effectiveLimit(1).limitA, 10);
      assert.equal(cp.effectiveLimit(2).limitA, 32);
    });
});

describe('sim charger: clearing, quirks, discovery, meter values', { concurrency: true }, () => {
  const T0 = Math.floor(Date.now() / 1000) * 1000 - 10 * S;

  for (const version of ['1.6', '2.0.1']) {
    itWith(`${version}: ClearChargingProfile by id, purpose, stack level and EVSE`, { version, evses: 2 },
      async ({ cp, cs }) => {
        const v16 = version === '1.6';
        const set = (evse, o) => cs.call('SetChargingProfile', profile(version, evse, { start: T0, limit: 10, ...o }));
        const clear = (o) => cs.call('ClearChargingProfile', v16
          ? { ...(o.id != null ? { id: o.id } : {}), ...(o.evse != null ? { connectorId: o.evse } : {}),
            ...(o.purpose ? { chargingProfilePurpose: o.purpose } : {}), ...(o.stack != null ? { stackLevel: o.stack } : {}) }
          : o.id != null ? { chargingProfileId: o.id } : { chargingProfileCriteria: {
            ...(o.evse != null ? { evseId: o.evse } : {}), ...(o.purpose ? { chargingProfilePurpose: o.purpose } : {}),
            ...(o.stack != null ? { stackLevel: o.stack } : {}) } });
        const ids = () => cp.profiles.map((p) => p.id).sort((a, b) => a - b);
        for (const [evse, id, stack] of [[0, 1, 0], [0, 2, 1], [1, 3, 0], [1, 4, 1], [2, 5, 1], [2, 6, 2]]) {
          assert.equal((await set(evse, { id, stack })).status, 'Accepted');
        }
        assert.equal((await set(0, { id: 7, purpose: 'max', limit: 30 })).status, 'Accepted');
        assert.deepEqual(ids(), [1, 2, 3, 4, 5, 6, 7]);
        assert.equal((await clear({ id: 42 })).status, 'Unknown');
        assert.equal((await clear({ id: 3 })).status, 'Accepted');
        assert.deepEqual(ids(), [1, 2, 4, 5, 6, 7]);
        assert.equal((await clear({ stack: 1, evse: 2 })).status, 'Accepted');
        assert.deepEqual(ids(), [1, 2, 4, 6, 7]);
        assert.equal((await clear({ stack: 1 })).status, 'Accepted');
        assert.deepEqual(ids(), [1, 6, 7]);
        assert.equal((await clear({ purpose: 'TxProfile' })).status, 'Unknown');
        assert.equal((await clear({ evse: 0, purpose: 'TxDefaultProfile' })).status, 'Accepted');
        assert.deepEqual(ids(), [6, 7]);
        assert.equal((await clear({})).status, 'Accepted');
        assert.deepEqual(ids(), []);
        assert.equal(cp.effectiveLimit(1).source, 'hardware');
      });
  }

  itWith('2.0.1: TxProfile bound to the transaction, gone when it ends', { version: '2.0.1' }, async ({ cp, cs, csms }) => {
    const set = (o) => cs.call('SetChargingProfile', profile('2.0.1', 1, { start: T0, ...o }));
    assert.equal((await set({ id: 1, limit: 16 })).status, 'Accepted');
    const tx = await cp.startTransaction(1);
    await csms.waitFor((m) => m.action === 'TransactionEvent' && m.params.eventType === 'Started');
    assert.equal((await set({ id: 2, stack: 1, purpose: 'TxProfile', tx, limit: 10 })).status, 'Accepted');
    assert.equal(cp.effectiveLimit(1).limitA, 10);
    await cp.stopTransaction(1, { unplug: true });
    const ended = await csms.waitFor((m) => m.action === 'TransactionEvent' && m.params.eventType === 'Ended');
    assert.equal(ended.params.transactionInfo.transactionId, tx);
    assert.deepEqual(cp.profiles.map((p) => p.id), [1]);
    assert.equal(cp.effectiveLimit(1).limitA, 16);
    // seqNo counted 0, 1, ... within the transaction.
    const seqs = csms.got.filter((m) => m.action === 'TransactionEvent' && m.params.transactionInfo.transactionId === tx)
      .map((m) => m.params.seqNo);
    assert.deepEqual(seqs, seqs.map((s, i) => i));
  });

  const quirkCases = [
    ['rejectTxProfile', { rejectTxProfile: true }, 'TxProfile', 'Rejected', 'TxDefaultProfile', 'Accepted'],
    ['rejectTxDefaultProfile', { rejectTxDefaultProfile: true }, 'TxDefaultProfile', 'Rejected', 'TxProfile', 'Accepted'],
  ];
  for (const [name, quirks, bad, badStatus, good, goodStatus] of quirkCases) {
    itWith(`quirk ${name}`, { version: '1.6', quirks }, async ({ cp, cs }) => {
      await cp.startTransaction(1);
      const a = await cs.call('SetChargingProfile', profile('1.6', 1, { id: 1, start: T0, purpose: bad, limit: 10 }));
      const b = await cs.call('SetChargingProfile', profile('1.6', 1, { id: 2, start: T0, purpose: good, limit: 12 }));
      assert.deepEqual([a.status, b.status], [badStatus, goodStatus]);
      assert.equal(cp.effectiveLimit(1).limitA, 12);
    });
  }

  for (const [quirk, accepted, refused, words] of [['onlyW', 'W', 'A', 'Power'], ['onlyA', 'A', 'W', 'Current']]) {
    itWith(`quirk ${quirk}: announces and accepts ${accepted} only`, { version: '1.6', quirks: { [quirk]: true } },
      async ({ cp, cs }) => {
        const conf = await cs.call('GetConfiguration', { key: ['ChargingScheduleAllowedChargingRateUnit'] });
        assert.deepEqual(conf.configurationKey, [{ key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true,
          value: words }]);
        const set = (unit, id) => cs.call('SetChargingProfile', profile('1.6', 1, { id, start: T0, unit,
          limit: unit === 'W' ? 6900 : 10 }));
        assert.equal((await set(refused, 1)).status, 'Rejected');
        assert.equal((await set(accepted, 2)).status, 'Accepted');
        assert.equal(cp.effectiveLimit(1).limitA, 10);	// 6900 W / 690 V, or 10 A
      });
  }

  itWith('quirk onlyStackLevel0', { version: '2.0.1', quirks: { onlyStackLevel0: true } }, async ({ cs }) => {
    const r = await cs.call('GetVariables', { getVariableData: [{ component: { name: 'SmartChargingCtrlr' },
      variable: { name: 'ProfileStackLevel' } }] });
    assert.equal(r.getVariableResult[0].attributeValue, '0');
    const set = (stack) => cs.call('SetChargingProfile', profile('2.0.1', 1, { id: 1, stack, start: T0, limit: 10 }));
    assert.equal((await set(1)).status, 'Rejected');
    assert.equal((await set(0)).status, 'Accepted');
  });

  itWith('quirk rejectAll', { version: '2.0.1', quirks: { rejectAll: true } }, async ({ cp, cs }) => {
    const r = await cs.call('SetChargingProfile', profile('2.0.1', 0, { id: 1, start: T0, limit: 6 }));
    assert.equal(r.status, 'Rejected');
    assert.equal(cp.effectiveLimit(1).limitA, 32);
  });

  itWith('quirk callErrorOnSetProfile', { version: '1.6', quirks: { callErrorOnSetProfile: true } }, async ({ cp, cs }) => {
    await assert.rejects(cs.call('SetChargingProfile', profile('1.6', 0, { id: 1, start: T0, limit: 6 })),
      (e) => e.rpcErrorCode === 'InternalError');
    const e = await cp.waitFor((x) => x.action === 'SetChargingProfile', { since: 0 });
    assert.equal(e.answer.error.code, 'InternalError');
    assert.equal(cp.profiles.length, 0);
  });

  itWith('quirk noAnswerSetProfile: the CSMS times out; other calls still answered',
    { version: '2.0.1', quirks: { noAnswerSetProfile: true } }, async ({ cp, cs }) => {
      await assert.rejects(cs.call('SetChargingProfile', profile('2.0.1', 0, { id: 1, start: T0, limit: 6 }),
        { callTimeoutMs: 300 }), (e) => e instanceof TimeoutError);
      const e = await cp.waitFor((x) => x.action === 'SetChargingProfile', { since: 0 });
      assert.deepEqual(e.answer, { none: true });
      assert.equal(cp.profiles.length, 0);
      const r = await cs.call('ClearChargingProfile', { chargingProfileId: 1 });
      assert.equal(r.status, 'Unknown');
    });

  itWith('quirk answerDelayMs: the profile applies when the answer leaves, not before',
    { version: '1.6', quirks: { answerDelayMs: 300 } }, async ({ cp, cs }) => {
      const received = new Promise((resolve) => cp.once('call', resolve));
      const pending = cs.call('SetChargingProfile', profile('1.6', 0, { id: 1, start: T0, limit: 6 }));
      const e = await received;
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(e.answer, undefined);
      assert.equal(cp.effectiveLimit(1).limitA, 32);
      assert.equal((await pending).status, 'Accepted');
      assert.equal(cp.effectiveLimit(1).limitA, 6);
    });

  itWith('1.6 discovery: the keys the gateway asks, ChangeConfiguration honoured or refused',
    { version: '1.6', evses: 2, maxStackLevel: 5, maxPeriods: 12, maxProfiles: 9, measurands: [
      'Current.Import', 'Power.Active.Import', 'Energy.Active.Import.Register'] }, async ({ cp, cs }) => {
      const r = await cs.call('GetConfiguration', { key: ['ChargeProfileMaxStackLevel',
        'ChargingScheduleAllowedChargingRateUnit', 'ChargingScheduleMaxPeriods', 'MaxChargingProfilesInstalled',
        'NumberOfConnectors', 'MeterValuesSampledData', 'MeterValueSampleInterval', 'NoSuchKey'] });
      assert.deepEqual(Object.fromEntries(r.configurationKey.map((k) => [k.key, k.value])), {
        ChargeProfileMaxStackLevel: '5', ChargingScheduleAllowedChargingRateUnit: 'Current,Power',
        ChargingScheduleMaxPeriods: '12', MaxChargingProfilesInstalled: '9', NumberOfConnectors: '2',
        MeterValuesSampledData: 'Energy.Active.Import.Register', MeterValueSampleInterval: '0' });
      assert.deepEqual(r.unknownKey, ['NoSuchKey']);
      const change = async (key, value) => (await cs.call('ChangeConfiguration', { key, value })).status;
      assert.equal(await change('MeterValuesSampledData', 'Current.Import,SoC'), 'Rejected');	// no SoC here
      assert.equal(await change('MeterValuesSampledData', 'Current.Import,Energy.Active.Import.Register'), 'Accepted');
      assert.equal(await change('MeterValueSampleInterval', 'ten'), 'Rejected');
      assert.equal(await change('ChargeProfileMaxStackLevel', '9'), 'Rejected');
      assert.equal(await change('Frobnicate', '1'), 'NotSupported');
      assert.deepEqual(cp.config.measurands, ['Current.Import', 'Energy.Active.Import.Register']);
      // Anything the charger does not do is answered, not ignored.
      await assert.rejects(cs.call('ReserveNow', { connectorId: 1, expiryDate: iso(Date.now() + 60000),
        idTag: 'X', reservationId: 1 }), (e) => e.rpcErrorCode === 'NotSupported');
    });

  itWith('2.0.1 discovery: device model variables, Entries needs its instance',
    { version: '2.0.1', maxStackLevel: 4, maxPeriods: 10, phaseSwitching: true, rateUnits: ['W'] }, async ({ cp, cs }) => {
      const get = async (name, instance, component = 'SmartChargingCtrlr') => (await cs.call('GetVariables', {
        getVariableData: [{ component: { name: component }, variable: { name, ...(instance ? { instance } : {}) } }] }))
        .getVariableResult[0];
      assert.equal((await get('RateUnit')).attributeValue, 'W');
      assert.equal((await get('ProfileStackLevel')).attributeValue, '4');
      assert.equal((await get('PeriodsPerSchedule')).attributeValue, '10');
      assert.equal((await get('ACPhaseSwitchingSupported')).attributeValue, 'true');
      assert.equal((await get('Entries')).attributeStatus, 'UnknownVariable');
      assert.equal((await get('Entries', 'ChargingProfiles')).attributeValue, '0');
      assert.equal((await get('Nope')).attributeStatus, 'UnknownVariable');
      assert.equal((await get('X', null, 'NoSuchCtrlr')).attributeStatus, 'UnknownComponent');
      await cs.call('SetChargingProfile', profile('2.0.1', 0, { id: 1, start: T0, unit: 'W', limit: 11000 }));
      assert.equal((await get('Entries', 'ChargingProfiles')).attributeValue, '1');
      const set = async (component, name, attributeValue) => (await cs.call('SetVariables', { setVariableData: [{
        component: { name: component }, variable: { name }, attributeValue }] })).setVariableResult[0].attributeStatus;
      assert.equal(await set('SampledDataCtrlr', 'TxUpdatedMeasurands', 'Current.Import,Power.Active.Import'), 'Accepted');
      assert.equal(await set('SampledDataCtrlr', 'TxUpdatedMeasurands', 'Current.Import,Frequency'), 'Rejected');
      assert.equal(await set('SampledDataCtrlr', 'TxUpdatedInterval', '15'), 'Accepted');
      assert.equal(await set('SmartChargingCtrlr', 'ProfileStackLevel', '9'), 'Rejected');
      assert.deepEqual(cp.config, { measurands: ['Current.Import', 'Power.Active.Import'], intervalS: 15, heartbeatS: 300 });
    });

  itWith('1.6 meter values: what the EV draws under the limit, paused below 6 A, energy integrated',
    { version: '1.6', evses: 2, periodicMeter: false }, async ({ cp, cs, csms }) => {
      await cs.call('ChangeConfiguration', { key: 'MeterValuesSampledData',
        value: 'Current.Import,Current.Offered,Power.Active.Import,Energy.Active.Import.Register' });
      await cp.startTransaction(1, { ev: { demandA: 20 } });
      await cp.startTransaction(2, { ev: { demandA: 10, phases: 1 } });
      const txs = cp.evses.map((e) => Number(e.tx.id));
      await cs.call('SetChargingProfile', profile('1.6', 0, { id: 1, start: T0, limit: 16 }));
      let since = csms.mark();
      await cp.reportMeter();
      const values = async (connectorId) => {
        const m = await csms.waitFor((x) => x.action === 'MeterValues' && x.params.connectorId === connectorId, { since });
        assert.equal(m.params.transactionId, txs[connectorId - 1]);
        return Object.fromEntries(m.params.meterValue[0].sampledValue.map((s) => [
          `${s.measurand}${s.phase ? `.${s.phase}` : ''}`, Number(s.value)]));
      };
      // EVSE 1: min(16, 20) on 3 phases; EVSE 2: a 1-phase EV at 10 A.
      let v1 = await values(1);
      const v2 = await values(2);
      assert.deepEqual([v1['Current.Import.L1'], v1['Current.Import.L2'], v1['Current.Import.L3'],
        v1['Current.Offered'], v1['Power.Active.Import']], [16, 16, 16, 16, 16 * 3 * 230]);
      assert.deepEqual([v2['Current.Import.L1'], v2['Current.Import.L2'], v2['Current.Import.L3'],
        v2['Power.Active.Import']], [10, 0, 0, 2300]);
      // 5 A pauses the EV: 0 A drawn, and the charger says SuspendedEVSE.
      since = csms.mark();
      await cs.call('SetChargingProfile', profile('1.6', 1, { id: 2, start: T0, limit: 5 }));
      await csms.waitFor((x) => x.action === 'StatusNotification' && x.params.connectorId === 1 &&
        x.params.status === 'SuspendedEVSE', { since });
      await cp.reportMeter(1);
      v1 = await values(1);
      assert.deepEqual([v1['Current.Import.L1'], v1['Current.Offered'], v1['Power.Active.Import']], [0, 5, 0]);
      // Energy: EVSE 2 draws 2300 W; one hour later 2300 Wh more.
      const e0 = cp.evse(2).energyWh;
      const t = cp.evse(2).drawAt;
      cp.accumulate(t + 3600 * S);
      assert.ok(Math.abs(cp.evse(2).energyWh - e0 - 2300) < 1e-6);
    });

  itWith('2.0.1 meter values ride on TransactionEvent; TriggerMessage answered then sent',
    { version: '2.0.1', periodicMeter: false }, async ({ cp, cs, csms }) => {
      await cs.call('SetVariables', { setVariableData: [{ component: { name: 'SampledDataCtrlr' },
        variable: { name: 'TxUpdatedMeasurands' }, attributeValue: 'Current.Import,Energy.Active.Import.Register' }] });
      const tx = await cp.startTransaction(1, { ev: { demandA: [13, 12, 11] } });
      await cs.call('SetChargingProfile', profile('2.0.1', 1, { id: 1, start: T0, purpose: 'TxProfile', tx, limit: 12 }));
      const since = csms.mark();
      const r = await cs.call('TriggerMessage', { requestedMessage: 'TransactionEvent', evse: { id: 1 } });
      assert.equal(r.status, 'Accepted');
      await csms.waitFor((m) => m.action === 'TransactionEvent' && m.params.triggerReason === 'Trigger', { since });
      await cp.reportMeter();
      const m = await csms.waitFor((x) => x.action === 'TransactionEvent' && x.params.meterValue &&
        x.params.triggerReason === 'MeterValuePeriodic', { since });
      const cur = m.params.meterValue[0].sampledValue.filter((s) => s.measurand === 'Current.Import')
        .map((s) => [s.phase, s.value]);
      // min(12, demand) per phase: 12, 12, 11.
      assert.deepEqual(cur, [['L1', 12], ['L2', 12], ['L3', 11]]);
      const mv = await cs.call('TriggerMessage', { requestedMessage: 'MeterValues', evse: { id: 1 } });
      assert.equal(mv.status, 'Accepted');
      await csms.waitFor((x) => x.action === 'MeterValues' && x.params.evseId === 1, { since });
      assert.equal((await cs.call('TriggerMessage', { requestedMessage: 'SignV2GCertificate' })).status, 'NotImplemented');
    });

  itWith('GetCompositeSchedule: the limits over the coming hour', { version: '1.6' }, async ({ cp, cs }) => {
    const now = Date.now();
    await cs.call('SetChargingProfile', profile('1.6', 0, { id: 1, start: T0, limit: 20 }));
    await cs.call('SetChargingProfile', profile('1.6', 1, { id: 2, stack: 1, start: T0, limit: 10,
      validTo: now + 1800 * S + 500 }));
    const r = await cs.call('GetCompositeSchedule', { connectorId: 1, duration: 3600, chargingRateUnit: 'A' });
    assert.equal(r.status, 'Accepted');
    assert.deepEqual(r.chargingSchedule.chargingSchedulePeriod.map((p) => [p.limit, p.numberPhases]), [[10, 3], [20, 3]]);
    assert.ok(Math.abs(r.chargingSchedule.chargingSchedulePeriod[1].startPeriod - 1800) <= 1);
    void cp;
  });

  it('disconnect and reconnect: profiles and the transaction survive, statuses reported again', async () => {
    const t = await setup({ version: '1.6' });
    try {
      await t.cs.call('SetChargingProfile', profile('1.6', 0, { id: 1, start: T0, limit: 14 }));
      await t.cp.startTransaction(1);
      await t.cp.disconnect();
      assert.equal(t.cp.connected(), false);
      assert.equal(t.cp.effectiveLimit(1).limitA, 14);
      const since = t.csms.mark();
      await t.cp.reconnect();
      await t.csms.waitFor((m) => m.action === 'StatusNotification' && m.params.connectorId === 1 &&
        m.params.status === 'Charging', { since });
      assert.ok(!t.csms.got.slice(since).some((m) => m.action === 'BootNotification'));
      assert.ok(t.cp.evse(1).tx);
    } finally {
      await t.close();
    }
  });

  itWith('waitFor and nextProfile resolve on the next matching CALL, after its answer', { version: '2.0.1', evses: 2 },
    async ({ cp, cs }) => {
      const next = cp.nextProfile({ evse: 2 });
      await cs.call('SetChargingProfile', profile('2.0.1', 1, { id: 1, start: T0, limit: 8 }));
      await cs.call('SetChargingProfile', profile('2.0.1', 2, { id: 2, start: T0, limit: 9 }));
      const e = await next;
      assert.equal(e.params.chargingProfile.id, 2);
      assert.equal(e.status, 'Accepted');
      assert.ok(e.answeredAt >= e.t);
      // since: earlier CALLs count.
      const first = await cp.nextProfile({ since: 0 });
      assert.equal(first.params.chargingProfile.id, 1);
      const tx = await cp.nextProfile({ since: 0, purpose: 'tx', ms: 200 }).catch((err) => err);
      assert.match(tx.message, /no CALL matching/);
    });
});

// ------------------------------------------------------------ sitecheck

describe('sitecheck', () => {
  // main 63 A; row-a 40 A below it, row-b [32, 20, 32].
  const cfg = {
    site: { min_current_a: 6, circuits: [
      { id: 'main', max_current_a: 63 },
      { id: 'row-a', parent: 'main', max_current_a: 40 },
      { id: 'row-b', parent: 'main', max_current_a: [32, 20, 32] },
    ] },
    chargers: [
      { id: 'A1', max_current_a: 32, phases: 3, phase_rotation: 'L1L2L3', circuit: 'row-a' },
      { id: 'A2', max_current_a: 32, phases: 3, phase_rotation: 'L2L3L1', circuit: 'row-a' },
      { id: 'B1', max_current_a: 32, phases: 1, phase_rotation: 'L2', circuit: 'row-b' },
      { id: 'M1', max_current_a: 16, phases: 1 },
    ],
  };
  const ev = (charger, amps, more = {}) => ({ charger, evse: 1, amps, phases: amps.filter((a) => a > 0).length || 3,
    active: true, demandA: 32, ...more });

  it('a correct allocation passes', () => {
    const r = sitecheck(cfg, [ev('A1', [20, 20, 20]), ev('A2', [20, 20, 20]), ev('B1', [20, 0, 0], { phases: 1 }),
      ev('M1', [0, 0, 0], { active: false })], { room: 6 });
    // row-a: A1 on L1 L2 L3, A2 (L2L3L1) on L2 L3 L1: 40 each. B1 on grid L2 only.
    assert.deepEqual(r.sums['row-a'], [40, 40, 40]);
    assert.deepEqual(r.sums['row-b'], [0, 20, 0]);
    assert.deepEqual(r.sums.main, [40, 60, 40]);
    assert.deepEqual([r.violations, r.belowMin, r.idle], [[], [], []]);
  });

  it('a violation on the right grid phase, through the rotation', () => {
    // A2's own L1 (18 A) lands on grid L2: row-a L2 = 20 + 18 + ... only A1's L2 and A2's L1.
    const r = sitecheck(cfg, [ev('A1', [20, 24, 20]), ev('A2', [18, 20, 20])]);
    // grid L1 = A1 L1 20 + A2 L3 20 = 40; L2 = A1 L2 24 + A2 L1 18 = 42; L3 = 20 + 20 = 40.
    assert.deepEqual(r.sums['row-a'], [40, 42, 40]);
    assert.deepEqual(r.violations, [{ circuit: 'row-a', phase: 'L2', sum: 42, limit: 40 }]);
  });

  it('a 1-phase charger on L2 counts on L2 only, against every circuit above it', () => {
    const r = sitecheck(cfg, [ev('B1', [21, 0, 0], { phases: 1 })]);
    assert.deepEqual(r.sums['row-b'], [0, 21, 0]);
    assert.deepEqual(r.sums.main, [0, 21, 0]);
    assert.deepEqual(r.violations, [{ circuit: 'row-b', phase: 'L2', sum: 21, limit: 20 }]);
    // The EMS limit bounds the grid connection too.
    const r2 = sitecheck(cfg, [ev('B1', [15, 0, 0], { phases: 1 })], { siteLimitA: [63, 10, 63] });
    assert.deepEqual(r2.violations, [{ circuit: 'main', phase: 'L2', sum: 15, limit: 10 }]);
  });

  it('EVSEs strictly between 0 and the minimum', () => {
    const r = sitecheck(cfg, [ev('A1', [5.9, 5.9, 5.9]), ev('A2', [6, 6, 6]), ev('M1', [0, 0, 0], { phases: 1 })]);
    assert.deepEqual(r.belowMin, [{ charger: 'A1', evse: 1, amps: [5.9, 5.9, 5.9] }]);
  });

  it('idle capacity: a starved EVSE with room on every phase of its path', () => {
    // row-a at 10 + 10 = 20 of 40 on every phase: A1 could have more.
    let r = sitecheck(cfg, [ev('A1', [10, 10, 10]), ev('A2', [10, 10, 10], { demandA: 10 })]);
    assert.deepEqual(r.idle, [{ charger: 'A1', evse: 1, limitA: 10, maxA: 32 }]);
    // A paused EVSE with room is idle capacity too.
    r = sitecheck(cfg, [ev('B1', [0, 0, 0], { phases: 1 })]);
    assert.deepEqual(r.idle, [{ charger: 'B1', evse: 1, limitA: 0, maxA: 32 }]);
    // Full on one phase of its path (row-b L2: 20 - 16 = 4 < 6): not idle.
    r = sitecheck(cfg, [ev('B1', [16, 0, 0], { phases: 1 })]);
    assert.deepEqual(r.idle, []);
    // Room on row-a (30 of 40) and main: both idle; with the EMS limit at 35 A on L1,
    // main has 5 A left there: not idle.
    r = sitecheck(cfg, [ev('A1', [15, 15, 15]), ev('A2', [15, 15, 15])]);
    assert.equal(r.idle.length, 2);
    r = sitecheck(cfg, [ev('A1', [15, 15, 15]), ev('A2', [15, 15, 15])], { siteLimitA: [35, 63, 63] });
    assert.deepEqual([r.violations, r.idle], [[], []]);
    // Not active: never idle capacity.
    r = sitecheck(cfg, [ev('A1', [0, 0, 0], { active: false })]);
    assert.deepEqual(r.idle, []);
  });

  it('snapshot of simulated chargers feeds sitecheck', () => {
    const a1 = new SimCharger({ id: 'A1', version: '1.6', port: 1 });
    const b1 = new SimCharger({ id: 'B1', version: '2.0.1', port: 1, phases: 1 });
    // No profiles: both at their hardware maximum, 32 A; B1 on grid L2: row-b
    // L2 32 > 20, main L2 32 + 32 = 64 > 63.
    const r = sitecheck(cfg, snapshot([a1, b1]));
    assert.deepEqual(r.violations, [{ circuit: 'main', phase: 'L2', sum: 64, limit: 63 },
      { circuit: 'row-b', phase: 'L2', sum: 32, limit: 20 }]);
    assert.deepEqual(r.idle, []);
  });
});
