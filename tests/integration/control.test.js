'use strict';
// The control loop end to end (issue #6): a real mosquitto broker, the
// real gateway, and simulated chargers of both OCPP versions (lib/charger:
// they install profiles exactly as OCPP says and report what their EVs
// draw) on two sub-circuits with different phase rotations. After every
// limit the EMS publishes, once the gateway has settled (its "dispatch:
// settled" line after the allocation for that limit), the oracle
// (lib/sitecheck) checks what the chargers really apply: no circuit over
// its limit on any grid phase, no EVSE between 0 and the minimum, no idle
// capacity. A monitor also checks the fuses after every profile a charger
// installs, against the higher of the previous and the new limit: the
// order (decreases before increases) must never overshoot in between.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { tmpDir, baseConfig, startGateway } = require('./lib/gateway');
const { startBroker, Client } = require('./lib/broker');
const { SimCharger, snapshot } = require('./lib/charger');
const { sitecheck } = require('./lib/sitecheck');
const { scope, itScoped: itScopedBase } = require('./lib/scope');

let seq = 0;

const itScoped = (name, fn, ms = 60000) => itScopedBase(name, fn, ms);

const password = (id) => `password-${id}-xyz`.padEnd(16, 'x');

// The site: main 63 A; row-a 32 A (3-phase chargers), row-b [20, 25, 20]
// (1-phase chargers on L2 and L3, and a 3-phase one rotated L3L1L2).
// specs: [{ id, version, phases, rotation, circuit, max, evses, quirks,
//           smart_charging }]
function siteConfig(dir, b, specs, extra = {}) {
  const cfg = baseConfig(dir);
  cfg.site_id = `ctl-${process.pid}-${++seq}`;
  cfg.log_level = 'info';
  cfg.ocpp.call_timeout_s = 3;
  cfg.site.circuits = [
    { id: 'main', max_current_a: 63 },
    { id: 'row-a', parent: 'main', max_current_a: 32 },
    { id: 'row-b', parent: 'main', max_current_a: [20, 25, 20] },
  ];
  cfg.chargers = specs.map((s) => ({
    id: s.id, password: password(s.id), max_current_a: s.max ?? 32, phases: s.phases ?? 3,
    phase_rotation: s.rotation ?? ((s.phases ?? 3) === 1 ? 'L1' : 'L1L2L3'), circuit: s.circuit,
    ...(s.smart_charging ? { smart_charging: s.smart_charging } : {}),
    ...(s.first_evse ? { first_evse: s.first_evse } : {}),
  }));
  cfg.control = { coalesce_ms: 5, hysteresis_a: 1, profile_validity_s: 120, retry_min_s: 60, retry_max_s: 120,
    ...(extra.control || {}) };
  cfg.mqtt = { host: '127.0.0.1', port: b.port, limit_timeout_s: 60, ...(extra.mqtt || {}) };
  return cfg;
}

// Start the gateway and the chargers; sessions on every EVSE listed in
// spec.sessions ([{ evse, demandA, phases }]). Resolves to a context.
async function startSite(sc, b, specs, extra = {}) {
  const dir = tmpDir('sg-ctl-');
  const cfg = siteConfig(dir, b, specs, extra);
  const prefix = `sitegate/${cfg.site_id}`;
  const mqtt = await Client.connect(b.url());
  sc.add(() => mqtt.client.endAsync(true));
  await mqtt.subscribe(`${prefix}/#`);
  const gw = await startGateway(cfg, { dir });
  sc.add(() => (gw.exit ? null : gw.kill()));
  await gw.waitForLog(/\bems: subscribed\b/);
  const chargers = [];
  for (const s of specs) {
    const cp = new SimCharger({ id: s.id, version: s.version, port: gw.ocppPort, password: password(s.id),
      phases: s.phases ?? 3, maxCurrentA: s.max ?? 32, evses: s.evses ?? 1, quirks: s.quirks,
      rateUnits: s.rateUnits, maxProfiles: s.maxProfiles, maxStackLevel: s.maxStackLevel });
    sc.add(() => cp.close());
    chargers.push(cp);
  }
  await Promise.all(chargers.map(async (cp) => {
    const r = await cp.start();
    assert.equal(r.status, 'Accepted');
    await gw.waitForLog(new RegExp(`capabilities charger=${cp.id} `));
  }));
  for (const [i, s] of specs.entries()) {
    for (const x of s.sessions || []) {
      await chargers[i].startTransaction(x.evse, { ev: { demandA: x.demandA ?? 32, phases: x.phases } });
    }
  }
  const ctx = { gw, cfg, prefix, mqtt, chargers, dir, limit: [16, 16, 16], ceiling: [16, 16, 16], glitches: [] };
  return ctx;
}

const cp = (ctx, id) => ctx.chargers.find((c) => c.id === id);

// The check of the whole site, now (idle: false leaves idle capacity out).
function check(ctx, what, { idle = true } = {}) {
  const r = sitecheck(ctx.cfg, snapshot(ctx.chargers), { siteLimitA: ctx.limit });
  const detail = `${what}: ${JSON.stringify({ violations: r.violations, belowMin: r.belowMin, idle: r.idle,
    sums: r.sums })}\nlimits: ${JSON.stringify(snapshot(ctx.chargers))}\n${ctx.gw.logs.slice(-40).join('\n')}`;
  assert.deepEqual(r.violations, [], detail);
  assert.deepEqual(r.belowMin, [], detail);
  if (idle) assert.deepEqual(r.idle, [], detail);
  return r;
}

// After every profile a charger accepts: no fuse over, against the higher
// of the previous and the new EMS limit (decreases answered before
// increases go out). strict: false only reports them on stderr.
const STRICT_TRANSIENTS = true;

function monitor(ctx, { strict = STRICT_TRANSIENTS } = {}) {
  ctx.strictTransients = strict;
  for (const c of ctx.chargers) {
    c.on('answered', (e) => {
      if (!/ChargingProfile$/.test(e.action) || e.status !== 'Accepted') return;
      const r = sitecheck(ctx.cfg, snapshot(ctx.chargers), { siteLimitA: ctx.ceiling });
      if (r.violations.length) ctx.glitches.push({ after: `${c.id} ${e.action} ${JSON.stringify(e.params)}`, v: r.violations });
    });
  }
}

// Publish a limit; resolve once the gateway allocated for it (the
// effective limit in its log is `expect`, per phase) and every profile
// was answered.
async function publishLimit(ctx, payload, expect) {
  const since = ctx.gw.mark();
  ctx.ceiling = ctx.limit.map((x, i) => Math.max(x, expect[i]));
  ctx.limit = expect;
  await ctx.mqtt.publish(`${ctx.prefix}/limit`, JSON.stringify(payload));
  await settled(ctx, since, expect);
  ctx.ceiling = expect;
}

const fmt = (l) => l.map((x) => x.toFixed(1)).join('/');

// Wait for the allocation with this effective limit (at or after since),
// then for dispatch to settle after the last allocation that changed a
// setpoint: this one, or an earlier one whose profiles are still on their
// way (a run that changes nothing does not wait for them by itself).
async function settled(ctx, since, expect) {
  const re = new RegExp(`control: allocated run=\\d+ limit=${fmt(expect).replace(/\./g, '\\.')} .*changed=(\\d+)`);
  await ctx.gw.waitForLog(re, { since, ms: 15000 });
  const logs = ctx.gw.logs;
  const at = logs.findIndex((l, i) => i >= since && re.test(l));
  let change = -1;
  for (let i = at; i >= 0 && change < 0; i--) {
    if (/control: allocated run=\d+ .*changed=[1-9]/.test(logs[i])) change = i;
  }
  if (change >= 0 && !logs.slice(change + 1).some((l) => /\bdispatch: settled\b/.test(l))) {
    await ctx.gw.waitForLog(/\bdispatch: settled\b/, { since: change + 1, ms: 15000 });
  }
}

// Every charger reports what its EVs draw (and waits for the answers).
async function meters(ctx) {
  for (const c of ctx.chargers) if (c.connected()) await c.reportMeter();
}

async function finish(ctx) {
  if (ctx.strictTransients) assert.deepEqual(ctx.glitches, [], JSON.stringify(ctx.glitches, null, 1));
  else if (ctx.glitches.length) process.stderr.write(`transient overshoots: ${JSON.stringify(ctx.glitches)}\n`);
  const exit = await ctx.gw.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, ctx.gw.logs.slice(-30).join('\n'));
}

const SITE = [
  { id: 'A1', version: '1.6', phases: 3, rotation: 'L1L2L3', circuit: 'row-a', evses: 2,
    sessions: [{ evse: 1 }, { evse: 2, demandA: 10 }] },
  { id: 'A2', version: '2.0.1', phases: 3, rotation: 'L2L3L1', circuit: 'row-a', sessions: [{ evse: 1 }] },
  { id: 'B1', version: '1.6', phases: 1, rotation: 'L2', circuit: 'row-b', sessions: [{ evse: 1 }] },
  { id: 'B2', version: '2.0.1', phases: 1, rotation: 'L3', circuit: 'row-b', max: 16, sessions: [{ evse: 1 }] },
  { id: 'B3', version: '2.0.1', phases: 3, rotation: 'L3L1L2', circuit: 'row-b', sessions: [{ evse: 1 }] },
];

describe('control loop', { concurrency: true }, () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => { await broker.stop(); });

  itScoped('a sequence of EMS limits: no fuse over, no EVSE below the minimum, no idle capacity', async (sc) => {
    const ctx = await startSite(sc, broker, SITE);
    const steps = [
      [{ max_current_a: [40, 30, 25] }, [40, 30, 25]],
      [{ max_current_a: 20 }, [20, 20, 20]],
      [{ max_power_w: 22080 }, [32, 32, 32]],		// 22080 / 690
      [{ max_current_a: [63, 63, 63] }, [63, 63, 63]],
      [{ max_current_a: [12, 40, 8] }, [12, 40, 8]],
      [{ max_current_a: [50, 9, 50] }, [50, 9, 50]],
      [{ max_current_a: 5 }, [5, 5, 5]],		// below the minimum: everyone paused
      [{ max_current_a: 0 }, [0, 0, 0]],
      [{ max_current_a: [25, 63, 25], ttl_s: 600 }, [25, 63, 25]],
    ];
    for (const [k, [payload, expect]] of steps.entries()) {
      await publishLimit(ctx, payload, expect);
      check(ctx, JSON.stringify(payload));
      await meters(ctx);
      if (k === 0) monitor(ctx);	// from a settled start, not from the chargers' defaults
    }
    // Sessions end and start: the charger drops the ended TxProfile and
    // falls back to what it holds beneath; a new limit as the barrier.
    await cp(ctx, 'B1').stopTransaction(1, { unplug: true });
    await cp(ctx, 'A2').stopTransaction(1);
    await cp(ctx, 'A2').startTransaction(1, { ev: { demandA: 16 } });
    await publishLimit(ctx, { max_current_a: [30, 30, 30] }, [30, 30, 30]);
    check(ctx, 'sessions changed');
    // What the chargers hold: stable ids, the dynamic profiles bounded by
    // validTo (profile_validity_s = 120), a base beneath at stack level 0
    // without one, TxProfiles bound to the running transaction.
    const now = Date.now();
    for (const c of ctx.chargers) {
      for (const p of c.profiles) {
        const e = c.evse(p.evse);
        if (p.purpose === 'tx') assert.equal(p.txId, e.tx.id, `${c.id} ${p.id}`);
        if (p.stackLevel === 0 && p.purpose === 'txdefault') {
          assert.equal(p.validTo, null, `${c.id} base ${p.id}`);
        } else {
          assert.ok(p.validTo > now && p.validTo <= now + 125 * 1000, `${c.id} ${p.id} validTo ${p.validTo}`);
        }
      }
      assert.equal(new Set(c.profiles.map((p) => p.id)).size, c.profiles.length);
      assert.equal(c.findings.length, 0, `${c.id}: ${JSON.stringify(c.findings)}`);
    }
    await finish(ctx);
  });

  itScoped('chargers that refuse TxProfile, take only W, or refuse everything (counted at their maximum)', async (sc) => {
    const ctx = await startSite(sc, broker, [
      { id: 'Q1', version: '1.6', phases: 3, circuit: 'row-a', quirks: { rejectTxProfile: true }, sessions: [{ evse: 1 }] },
      { id: 'Q2', version: '2.0.1', phases: 3, rotation: 'L2L3L1', circuit: 'row-a', quirks: { onlyW: true },
        sessions: [{ evse: 1 }] },
      { id: 'Q3', version: '1.6', phases: 1, rotation: 'L2', circuit: 'row-b', max: 16, quirks: { rejectAll: true },
        sessions: [{ evse: 1 }] },
      { id: 'Q4', version: '2.0.1', phases: 1, rotation: 'L2', circuit: 'row-b', sessions: [{ evse: 1 }] },
    ]);
    monitor(ctx);
    await publishLimit(ctx, { max_current_a: [40, 40, 40] }, [40, 40, 40]);
    await ctx.gw.waitForLog(/dispatch: uncontrollable charger=Q3 why="rejected every kind of profile"/);
    // Q3 holds nothing: its hardware 16 A on grid L2. The rest of main's L2
    // (40 - 16 = 24) is shared by Q1 (L2), Q2 (its L1 on L2) and Q4: 8 each.
    check(ctx, 'quirks');
    assert.equal(cp(ctx, 'Q3').profiles.length, 0);
    assert.deepEqual(cp(ctx, 'Q4').effectiveLimit(1).amps, [8, 0, 0]);
    // Q1 runs on a TxDefaultProfile; Q2's profiles are all in W.
    assert.ok(cp(ctx, 'Q1').log.some((e) => e.action === 'SetChargingProfile' && e.status === 'Rejected' &&
      e.params.csChargingProfiles.chargingProfilePurpose === 'TxProfile'));
    assert.ok(cp(ctx, 'Q1').profiles.length > 0 && cp(ctx, 'Q1').profiles.every((p) => p.purpose === 'txdefault'));
    assert.ok(cp(ctx, 'Q2').profiles.length > 0 && cp(ctx, 'Q2').profiles.every((p) => p.schedule.unit === 'W'));
    await publishLimit(ctx, { max_current_a: [40, 20, 40] }, [40, 20, 40]);
    check(ctx, 'quirks, L2 at 20');
    await finish(ctx);
  });

  // While a charger is away the gateway counts it at its maximum (32 A),
  // although it accepted a profile of 16 A valid for profile_validity_s
  // that it goes on applying: the other charger is paused meanwhile. Safe,
  // but idle capacity; `away` says whether to assert that there is none.
  const disconnectTest = (away) => async (sc) => {
    const ctx = await startSite(sc, broker, [
      { id: 'D1', version: '1.6', phases: 3, circuit: 'row-a', sessions: [{ evse: 1 }] },
      { id: 'D2', version: '2.0.1', phases: 3, rotation: 'L3L1L2', circuit: 'row-a', sessions: [{ evse: 1 }] },
    ]);
    monitor(ctx);
    await publishLimit(ctx, { max_current_a: 50 }, [50, 50, 50]);
    check(ctx, 'both connected');
    const d1 = cp(ctx, 'D1');
    let since = ctx.gw.mark();
    await d1.disconnect({ force: true });
    await ctx.gw.waitForLog(/charger disconnected charger=D1/, { since });
    // A new limit as a barrier: the allocation after the disconnect.
    await publishLimit(ctx, { max_current_a: 49 }, [49, 49, 49]);
    check(ctx, 'D1 away, still applying what it holds', { idle: away });
    since = ctx.gw.mark();
    const resent = d1.waitFor((e) => e.action === 'SetChargingProfile' && e.status === 'Accepted', { ms: 15000 });
    await d1.reconnect();
    await resent;
    await publishLimit(ctx, { max_current_a: 48 }, [48, 48, 48]);
    check(ctx, 'D1 back');
    await finish(ctx);
  };
  itScoped('a charger that disconnects mid-session: no fuse over while it is away, served again when it is back',
    disconnectTest(false));
  it('no idle capacity while a charger that holds a bounded profile is away', {
    timeout: 60000,
  }, async () => {
    const sc = scope();
    try {
      await disconnectTest(true)(sc);
    } finally {
      await sc.close();
    }
  });

  it('an uncontrollable charger is retried with a doubling delay', {
    timeout: 30000,
  }, async () => {
    const sc = scope();
    try {
      const ctx = await startSite(sc, broker, [
        { id: 'R1', version: '2.0.1', phases: 3, circuit: 'row-a', quirks: { rejectAll: true }, sessions: [{ evse: 1 }] },
      ], { control: { retry_min_s: 1, retry_max_s: 4 } });
      const re = /dispatch: uncontrollable charger=R1 why=\S+ every kind of profile" retry_s=(\d+)/;
      const delays = [];
      let since = 0;
      for (let i = 0; i < 3; i++) {
        await ctx.gw.waitForLog(re, { since, ms: 10000 });
        since = ctx.gw.logs.findIndex((l, k) => k >= since && re.test(l));
        delays.push(Number(re.exec(ctx.gw.logs[since])[1]));
        since++;
      }
      assert.deepEqual(delays, [1, 2, 4]);
      await finish(ctx);
    } finally {
      await sc.close();
    }
  });

  itScoped('a decrease still on its way holds back the increases it makes room for', async (sc) => {
    // S1 answers (and applies) a profile 800 ms after receiving it.
    const ctx = await startSite(sc, broker, [
      { id: 'S1', version: '1.6', phases: 3, circuit: 'row-a', first_evse: 1, quirks: { answerDelayMs: 800 },
        sessions: [{ evse: 1 }] },
      { id: 'F1', version: '2.0.1', phases: 3, circuit: 'row-a', first_evse: 2, sessions: [{ evse: 1 }] },
    ]);
    await publishLimit(ctx, { max_current_a: 40 }, [40, 40, 40]);
    check(ctx, 'before the cap');
    monitor(ctx);
    // A cap on S1 (EVSE 1): S1 down to 6, F1 up to 26; F1's increase must
    // not apply before S1's decrease does.
    const since = ctx.gw.mark();
    await ctx.mqtt.publish(`${ctx.prefix}/evse/1/set`, JSON.stringify({ max_current_a: 6 }));
    await settled(ctx, since, [40, 40, 40]);
    check(ctx, 'after the cap');
    assert.deepEqual(cp(ctx, 'S1').effectiveLimit(1).amps, [6, 6, 6]);
    assert.deepEqual(cp(ctx, 'F1').effectiveLimit(1).amps, [26, 26, 26]);
    await finish(ctx);
  });

  // 1.6 replaces a TxDefaultProfile by another at the same level, 2.0.1
  // rejects the second as a duplicate: a base must not share level 0.
  itScoped('chargers with a single stack level: the base and the dynamic default never share it', async (sc) => {
    const ctx = await startSite(sc, broker, [
      { id: 'Z1', version: '1.6', phases: 3, circuit: 'row-a', evses: 2, quirks: { onlyStackLevel0: true,
        rejectTxProfile: true }, sessions: [{ evse: 1 }] },
      { id: 'Z2', version: '2.0.1', phases: 3, circuit: 'row-a', sessions: [{ evse: 1 }] },
      { id: 'Z3', version: '2.0.1', phases: 1, rotation: 'L2', circuit: 'row-b', quirks: { onlyStackLevel0: true },
        sessions: [{ evse: 1 }] },
    ]);
    await publishLimit(ctx, { max_current_a: 40 }, [40, 40, 40]);
    check(ctx, 'single stack level');
    assert.ok(!ctx.gw.logs.some((l) => /reason=DuplicateProfile|uncontrollable charger=Z/.test(l)));
    await finish(ctx);
  });

  itScoped('a limit whose ttl_s runs out gives way to the failsafe', async (sc) => {
    const ctx = await startSite(sc, broker, [
      { id: 'T1', version: '2.0.1', phases: 3, circuit: 'row-a', sessions: [{ evse: 1 }] },
      { id: 'T2', version: '1.6', phases: 1, rotation: 'L3', circuit: 'row-b', sessions: [{ evse: 1 }] },
    ]);
    monitor(ctx);
    await publishLimit(ctx, { max_current_a: 40, ttl_s: 1 }, [40, 40, 40]);
    check(ctx, 'ttl limit');
    const since = ctx.gw.mark();
    ctx.ceiling = [40, 40, 40];
    ctx.limit = [16, 16, 16];
    await ctx.gw.waitForLog(/ems: limit source=failsafe reason=ttl_expired/, { since });
    await settled(ctx, since, [16, 16, 16]);
    ctx.ceiling = ctx.limit;
    check(ctx, 'failsafe');
    await finish(ctx);
  });
});

describe('control loop: broker stopped and restarted', () => {
  itScoped('the failsafe applies when the broker stays away, the EMS limit again once it is back', async (sc) => {
    const b = await startBroker();
    sc.add(() => b.stop());
    const ctx = await startSite(sc, b, [
      { id: 'M1', version: '1.6', phases: 3, circuit: 'row-a', sessions: [{ evse: 1 }] },
      { id: 'M2', version: '2.0.1', phases: 1, rotation: 'L2', circuit: 'row-b', sessions: [{ evse: 1 }] },
    ], { mqtt: { limit_timeout_s: 10 } });
    monitor(ctx);
    await publishLimit(ctx, { max_current_a: 45 }, [45, 45, 45]);
    check(ctx, 'before');
    let since = ctx.gw.mark();
    await b.stop();
    ctx.ceiling = [45, 45, 45];
    ctx.limit = [16, 16, 16];
    // limit_timeout_s after the last limit, or after the broker went away:
    // the same moment here.
    await ctx.gw.waitForLog(/ems: limit source=failsafe reason=(limit_timeout|broker_unreachable)/, { since, ms: 20000 });
    await settled(ctx, since, [16, 16, 16]);
    ctx.ceiling = ctx.limit;
    check(ctx, 'broker away');
    since = ctx.gw.mark();
    await b.restart();
    // The gateway's reconnection backoff has grown meanwhile (up to 60 s).
    await ctx.gw.waitForLog(/\bems: subscribed\b/, { since, ms: 70000 });
    // The test's own client lost its connection with the broker.
    ctx.mqtt = await Client.connect(b.url());
    sc.add(() => ctx.mqtt.client.endAsync(true));
    await publishLimit(ctx, { max_current_a: 45 }, [45, 45, 45]);
    check(ctx, 'broker back');
    await finish(ctx);
  }, 120000);
});
