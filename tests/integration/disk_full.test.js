'use strict';
// A full disk under the state file: what the gateway cannot store it does
// not acknowledge, it says so once (not once per message), it keeps
// serving, it recovers by itself when space comes back, it never loops on
// an answer it cannot record, and its WAL does not fill a small volume
// (docs/upstream.md "Nothing lost", docs/configuration.md "State file").
//
// The state file lives on a small real filesystem of its own: a 4 MB
// tmpfs mounted by the test (the tests run as root, in CI too; a failed
// mount fails the test with the reason, and the volume is always
// unmounted). "Full" is a filler file written until ENOSPC, checked with
// statfs. Every test is a chain of steps (subtests sharing one gateway):
// a step that fails does not hide what the following ones find.
//   1. Full disk (both upstream versions): a 1.6 StartTransaction and a
//      2.0.1 TransactionEvent Started — and the StopTransaction / Ended of
//      sessions started before the disk filled — are answered with
//      CALLERROR InternalError whose description says the message could
//      not be stored; never a CALLRESULT (acknowledged, then never sent
//      up). Heartbeat and StatusNotification of both chargers are still
//      answered and the gateway stays up; 32 more refused messages leave
//      at most 3 store-failure lines in the log (warn/error lines about the
//      store, SQLite, the disk: one per kind of failure, not one per
//      message) and none says "cannot rollback - no transaction is
//      active"; once the filler is removed the chargers send the same
//      messages again and get CALLRESULTs, and the upstream receives each
//      start and each stop once (at most twice, the documented in-flight
//      case) over a few seconds after the outbox is drained.
//   2. An answer that cannot be recorded (both upstream versions): the
//      upstream holds its answer to the start until the test has filled
//      the disk, then answers. The gateway keeps the answer and tries to
//      record it again every retry_interval_s (said once in the log); it
//      does not send the start again: the upstream receives it once in the
//      next 5 s. When space comes back the answer is recorded: the stop,
//      queued behind the start, goes up, and the start came once in all.
//   3. The WAL stays bounded: 3 000 meter updates from a 1.6 and a 2.0.1
//      charger on the 4 MB volume without a filler: every one is answered
//      with a CALLRESULT, the -wal file never reaches 1.5 MiB, no
//      store-failure line, and the sessions' stops reach the upstream.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { tmpDir, startGateway } = require('./lib/gateway');
const { startUpstream } = require('./lib/upstream');
const { upConfig, charger, status, energy, now } = require('./lib/uplink_env');
const D = require('./lib/durability');

const TOKEN = '04A2B3C4D5';
const VERSIONS = ['ocpp1.6', 'ocpp2.0.1'];
// A warn or error line about storing: the store, SQLite, the disk.
const STORE_LINE = /^\S+ (warn|error)\s+.*(\bstor(e|ed|ing|age)\b|state file|sqlite|disk|\bfull\b|space|commit|rollback|database|write failed|\bwal\b)/i;
const ROLLBACK_NOISE = 'cannot rollback - no transaction is active';
const STORED_MSG = /not (be )?stored?\b/i;   // "could not store this", "could not be stored"

// A gateway with an upstream, its state file on a fresh 4 MB volume and
// its configuration beside it, and both chargers connected and booted.
async function setup(upV, upOpts = {}, extra = {}) {
  const env = { disk: D.smallDisk('4m'), up: null, gw: null, clis: [], dir: null };
  try {
    env.up = await startUpstream({ protocol: upV, ...upOpts });
    const dir = env.dir = tmpDir('sg-diskcfg-');
    const cfg = upConfig(dir, env.up, { call_timeout_s: 5, ...extra });
    cfg.state_file = path.join(env.disk.dir, 'state.db');
    env.gw = await startGateway(cfg, { dir });
    await env.gw.waitForLog(/uplink: link state=accepted/);
    env.c16 = await charger(env.gw, 'CP-01', 'ocpp1.6');
    env.c201 = await charger(env.gw, 'CP-02', 'ocpp2.0.1');
    env.clis.push(env.c16, env.c201);
    await env.gw.waitForLog(/ocpp: capabilities charger=CP-01/);
    await env.gw.waitForLog(/ocpp: capabilities charger=CP-02/);
  } catch (e) {
    await teardown(env);
    throw e;
  }
  return env;
}

async function teardown(env) {
  for (const c of env.clis) await c.close({ force: true }).catch(() => {});
  if (env.gw) await env.gw.kill('SIGKILL');
  if (env.up) await env.up.stop();
  env.disk.unmount();
  if (env.dir) fs.rmSync(env.dir, { recursive: true, force: true });
}

// The starts of a session on each charger, built once: a charger sends
// the same message again after a CALLERROR.
function startOf16(evse = 1) {
  return { connectorId: evse, idTag: TOKEN, meterStart: 1000, timestamp: now() };
}
function startOf201(txId, evse = 1) {
  return {
    eventType: 'Started', timestamp: now(), triggerReason: 'Authorized', seqNo: 0,
    transactionInfo: { transactionId: txId, chargingState: 'Charging' }, evse: { id: evse, connectorId: 1 },
    idToken: { idToken: TOKEN, type: 'ISO14443' }, meterValue: [energy(1000, false)],
  };
}

// Resolves to { ok: result } or { error: { code, message } }.
async function outcome(cli, action, params) {
  try {
    return { ok: await cli.call(action, params) };
  } catch (e) {
    return { error: { code: e.rpcErrorCode, message: e.message } };
  }
}

function assertRefused(o, what) {
  assert.ok(!o.ok, `${what} on a full disk was acknowledged with a CALLRESULT: ${JSON.stringify(o.ok)}`);
  assert.equal(o.error.code, 'InternalError', `${what}: ${JSON.stringify(o.error)}`);
  assert.match(o.error.message, STORED_MSG, `${what}: the description should say it could not be stored`);
}

const storeLines = (gw, since) => gw.logs.slice(since).filter((l) => STORE_LINE.test(l));

// The upstream's starts, by the gateway's EVSE number of the session.
function upstreamStarts(up) {
  const byEvse = new Map();
  for (const x of D.txRecords(up.calls).filter((r) => r.kind === 'start')) {
    const evse = x.params.connectorId !== undefined ? x.params.connectorId : x.params.evse.id;
    byEvse.set(evse, (byEvse.get(evse) || 0) + 1);
  }
  return byEvse;
}

for (const upV of VERSIONS) {
  test(`full disk, ${upV} upstream: starts and stops refused, not acknowledged; served; logged once; recovers`, async (t) => {
    // No periodic sampling: the only writes are the messages' own.
    const env = await setup(upV, {}, { meter_interval_s: 0 });
    const { gw, up, disk, c16, c201 } = env;
    // EVSE 2 of each charger has a session from before the disk filled;
    // EVSE 1 starts one while it is full.
    const startA16 = startOf16(2);
    const startA201 = startOf201('TX-FULL-A', 2);
    const startB16 = startOf16(1);
    const startB201 = startOf201('TX-FULL-B', 1);
    let stopA16;
    const stopA201 = {
      eventType: 'Ended', timestamp: now(), triggerReason: 'StopAuthorized', seqNo: 1,
      transactionInfo: { transactionId: 'TX-FULL-A', stoppedReason: 'Local' }, meterValue: [energy(1300, false)],
    };
    const refusable = () => [
      [c16, 'StartTransaction', startB16, '1.6 StartTransaction'],
      [c201, 'TransactionEvent', startB201, '2.0.1 TransactionEvent Started'],
      [c16, 'StopTransaction', stopA16, '1.6 StopTransaction'],
      [c201, 'TransactionEvent', stopA201, '2.0.1 TransactionEvent Ended'],
    ];
    let mark;
    try {
      for (const c of [c16, c201]) {
        await status(c, 1, 'Occupied');
        await status(c, 2, 'Occupied');
      }
      const a16 = await c16.call('StartTransaction', startA16);
      stopA16 = { transactionId: a16.transactionId, meterStop: 1300, timestamp: now(), reason: 'Local' };
      await c201.call('TransactionEvent', startA201);
      await up.waitFor(() => upstreamStarts(up).size === 2);
      await D.outboxDrained(gw);

      await t.test('the disk is full (harness)', () => {
        mark = gw.mark();
        const n = disk.fill();
        assert.ok(n > 0, 'the filler took no space');
        assert.equal(disk.avail(), 0, 'bytes left on the volume after the filler');
      });

      for (const [cli, action, params, what] of refusable()) {
        await t.test(`a ${what} is answered InternalError "could not be stored", not acknowledged`, async () => {
          assertRefused(await outcome(cli, action, params), what);
        });
      }

      await t.test('Heartbeat and StatusNotification of both chargers are still answered', async () => {
        for (const c of [c16, c201]) {
          const hb = await c.call('Heartbeat', {});
          assert.ok(hb.currentTime, 'Heartbeat answered with the time');
          await status(c, 1, 'Occupied');
        }
        assert.equal(gw.exit, null, 'the gateway is up');
      });

      await t.test('32 more of them, none acknowledged', async () => {
        const acked = [];
        for (let i = 0; i < 8; i++) {
          for (const [cli, action, params, what] of refusable()) {
            if ((await outcome(cli, action, params)).ok) acked.push(what);
          }
        }
        assert.equal(gw.exit, null, 'the gateway is up');
        assert.deepEqual(acked, [], 'messages acknowledged although the disk is full');
      });

      await t.test('at most 3 store-failure lines for the 36 refused messages', () => {
        const lines = storeLines(gw, mark);
        assert.ok(lines.length <= 3, `${lines.length} store-failure lines, e.g.:\n${lines.slice(0, 8).join('\n')}`);
      });

      await t.test(`no line says "${ROLLBACK_NOISE}"`, () => {
        const noise = gw.logs.slice(mark).filter((l) => l.includes(ROLLBACK_NOISE));
        assert.equal(noise.length, 0, `${noise.length} lines, e.g.\n${noise[0]}`);
      });

      await t.test('space back: the chargers send the four messages again and get CALLRESULTs', async () => {
        disk.free();
        assert.ok(disk.avail() > 1 << 20, 'the volume has space again');
        for (const [cli, action, params, what] of refusable()) {
          const o = await outcome(cli, action, params);
          assert.ok(o.ok, `${what}: ${JSON.stringify(o.error)}`);
        }
        assert.equal(gw.exit, null, 'the gateway is up');
      });

      await t.test('the upstream receives each start and each stop once (at most twice) over a few seconds', async () => {
        const stops = () => {
          const byTx = new Map();
          for (const x of D.txRecords(up.calls).filter((r) => r.kind === 'stop')) {
            byTx.set(x.tx, (byTx.get(x.tx) || 0) + 1);
          }
          return byTx;
        };
        await up.waitFor(() => upstreamStarts(up).size >= 4 && stops().size >= 2, { ms: 10000 }).catch(() => {});
        await D.outboxDrained(gw, 10000).catch(() => {});
        // a bounded wait for what must not happen: a message coming a third time
        await up.waitFor(() => [...upstreamStarts(up).values(), ...stops().values()].some((n) => n > 2),
          { ms: 3000 }).catch(() => {});
        const m = upstreamStarts(up);
        const s = stops();
        assert.equal(m.size, 4, `starts upstream by EVSE number: ${JSON.stringify([...m])}`);
        assert.equal(s.size, 2, `stops upstream by transaction: ${JSON.stringify([...s])}`);
        for (const [evse, n] of m) assert.ok(n <= 2, `EVSE ${evse}: the start reached the upstream ${n} times`);
        for (const [tx, n] of s) assert.ok(n <= 2, `transaction ${tx}: the stop reached the upstream ${n} times`);
        assert.deepEqual(up.failures, []);
        assert.equal(gw.exit, null, 'the gateway is up');
      });
    } finally {
      await teardown(env);
    }
  });

  test(`an answer that cannot be recorded (${upV} upstream) is retried with backoff, never in a loop`, async (t) => {
    const action = upV === 'ocpp1.6' ? 'StartTransaction' : 'TransactionEvent';
    const starts = () => D.txRecords(up.calls).filter((x) => x.kind === 'start').length;
    let release;
    let held;
    const heldCall = new Promise((resolve) => { held = resolve; });
    const env = await setup(upV, {}, { retry_interval_s: 1 });
    const { gw, up, disk, c16 } = env;
    let mark;
    let txId;
    try {
      up.delayIf = (a) => {
        if (a !== action || release) return null;
        const p = new Promise((resolve) => { release = resolve; });
        held();
        return p;
      };
      await status(c16, 1, 'Occupied');
      await t.test('the start is acknowledged and goes up; the disk fills while its answer is on the way (harness)', async () => {
        txId = (await c16.call('StartTransaction', startOf16())).transactionId;
        assert.ok(txId, 'the charger got its transaction id');
        await heldCall;
        mark = gw.mark();
        disk.fill();
        assert.equal(disk.avail(), 0, 'bytes left on the volume after the filler');
        release();
      });

      await t.test('the upstream receives the start once in the next 5 s; recording is retried', async () => {
        const t0 = Date.now();
        await gw.waitForLog(/uplink: cannot record the answer seq=\d+: the state file refused it; trying again in 1 s/,
          { since: mark });
        const storm = await up.waitFor(() => starts() > 1, { ms: 5000 }).then(() => true, () => false);
        assert.ok(!storm, `the upstream received the start ${starts()} times within ${Date.now() - t0} ms ` +
          'of an answer the gateway could not record');
        assert.equal(gw.exit, null, 'the gateway is up');
        const noise = gw.logs.slice(mark).filter((l) => l.includes(ROLLBACK_NOISE)).length;
        assert.equal(noise, 0, `${noise} lines saying "${ROLLBACK_NOISE}"`);
      });

      await t.test('space back: the answer is recorded (the stop queued behind the start goes up), no storm', async () => {
        disk.free();
        await c16.call('StopTransaction', { transactionId: txId, meterStop: 1500, timestamp: now(), reason: 'Local' });
        // One message in flight, oldest first: the stop goes up only once
        // the start's answer is recorded and its entry gone.
        await up.waitFor(() => D.txRecords(up.calls).some((x) => x.kind === 'stop'), { ms: 15000 });
        assert.equal(starts(), 1, `the upstream received the start ${starts()} times`);
        const retries = gw.logs.slice(mark).filter((l) => /cannot record the answer/.test(l)).length;
        assert.equal(retries, 1, 'the failure to record is said once');
        await D.outboxDrained(gw, 10000);
        assert.deepEqual(up.failures, []);
        assert.equal(gw.exit, null, 'the gateway is up');
      });
    } finally {
      if (release) release();
      await teardown(env);
    }
  });
}

test('the WAL stays bounded: 3 000 meter updates on a 4 MB volume, nothing fails', async (t) => {
  const env = await setup('ocpp2.0.1');
  const { gw, up, disk, c16, c201 } = env;
  const walFile = path.join(disk.dir, 'state.db-wal');
  const N = 1500;   // per charger
  let maxWal = 0;
  const walSize = () => {
    try { return fs.statSync(walFile).size; } catch { return 0; }
  };
  try {
    await status(c16, 1, 'Occupied');
    await status(c201, 1, 'Occupied');
    const { transactionId } = await c16.call('StartTransaction', startOf16());
    await c201.call('TransactionEvent', startOf201('TX-WAL-1'));
    const mark = gw.mark();
    const refused = [];
    await t.test(`${2 * N} meter updates are all answered with a CALLRESULT`, async () => {
      const one = async (cli, i) => {
        const o = cli === c16
          ? await outcome(cli, 'MeterValues', { connectorId: 1, transactionId, meterValue: [energy(1000 + i, true)] })
          : await outcome(cli, 'TransactionEvent', {
            eventType: 'Updated', timestamp: now(), triggerReason: 'MeterValuePeriodic', seqNo: i,
            transactionInfo: { transactionId: 'TX-WAL-1' }, meterValue: [energy(1000 + i, false)] });
        if (!o.ok) refused.push(o.error);
      };
      await Promise.all([c16, c201].map(async (cli) => {
        for (let i = 1; i <= N; i++) {
          await one(cli, i);
          if (i % 50 === 0) maxWal = Math.max(maxWal, walSize());
        }
      }));
      assert.deepEqual(refused.slice(0, 3), [], `${refused.length} meter updates refused`);
      assert.equal(gw.exit, null, 'the gateway is up');
    });

    await t.test('the -wal file stayed under 1.5 MiB', () => {
      maxWal = Math.max(maxWal, walSize());
      assert.ok(maxWal < 1.5 * 1024 * 1024, `the -wal file reached ${(maxWal / 1048576).toFixed(2)} MiB ` +
        `(volume left: ${(disk.avail() / 1048576).toFixed(2)} MiB)`);
    });

    await t.test('no store-failure line', () => {
      const lines = storeLines(gw, mark);
      assert.deepEqual(lines.slice(0, 5), [], `${lines.length} store-failure lines`);
    });

    await t.test('the sessions end and their stops reach the upstream', async () => {
      const stops = () => D.txRecords(up.calls).filter((x) => x.kind === 'stop').length;
      await c16.call('StopTransaction', { transactionId, meterStop: 1000 + N + 1, timestamp: now(), reason: 'Local' });
      await c201.call('TransactionEvent', {
        eventType: 'Ended', timestamp: now(), triggerReason: 'StopAuthorized', seqNo: N + 1,
        transactionInfo: { transactionId: 'TX-WAL-1', stoppedReason: 'Local' }, meterValue: [energy(1000 + N + 1, false)] });
      await up.waitFor(() => stops() === 2, { ms: 15000 });
      assert.deepEqual(up.failures, []);
    });
  } finally {
    await teardown(env);
  }
});

// A restart on a full disk: the gateway used to stop at once (exit 3,
// "cannot write the state file") until somebody moved files away. Now it
// starts, serves, refuses what it cannot store, and takes it once space
// returns.
test('a restart on a full disk: the gateway starts, serves, and stores again once space returns', async (t) => {
  const env = await setup('ocpp2.0.1', {}, { meter_interval_s: 0 });
  try {
    env.disk.fill();
    for (const c of env.clis) await c.close({ force: true });
    env.clis.length = 0;
    await env.gw.kill('SIGKILL');
    env.gw = await startGateway(null, { dir: env.dir });
    const gw = env.gw;
    await t.test('it is ready and serves a charger: boot, heartbeat, status', async () => {
      const c = await charger(gw, 'CP-01', 'ocpp1.6');
      env.clis.push(c);
      await c.call('Heartbeat', {});
      env.c16 = c;
    });
    await t.test('a start is refused, not acknowledged, while the disk is full', async () => {
      await status(env.c16, 1, 'Occupied');
      assertRefused(await outcome(env.c16, 'StartTransaction', startOf16(1)), 'StartTransaction');
    });
    await t.test('space back: the same start is stored, answered and goes up once', async () => {
      env.disk.free();
      const r = await env.c16.call('StartTransaction', startOf16(1));
      assert.ok(r.transactionId > 0);
      await env.up.waitFor(() => D.txRecords(env.up.calls).some((x) => x.kind === 'start'));
      await D.outboxDrained(gw, 10000);
      assert.equal(D.txRecords(env.up.calls).filter((x) => x.kind === 'start').length, 1);
      assert.equal(gw.exit, null, 'the gateway is up');
    });
  } finally {
    await teardown(env);
  }
});
