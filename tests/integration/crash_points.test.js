'use strict';
// kill -9 at every crash point of a session loses nothing and repeats
// nothing but the one documented message (docs/upstream.md "Toward the upstream
// CSMS", "Nothing lost").
//
// The gateway runs with the crashpoint shim preloaded (tests/shim/
// crashpoint.c): it counts fsync/fdatasync while an arm file exists and
// raises SIGKILL right after the k-th one returned — the state file then
// holds durable write k and not k+1. For each charger version x upstream
// version x transaction message of a session (start; a meter update: 1.6
// MeterValues with the transactionId / 2.0.1 TransactionEvent Updated with
// a meter value; stop) the session runs up to that message, the arm file
// is created, the message is sent, and the gateway dies after its k-th
// durable write, k = 1, 2, ... until a run sees no kill: that is every
// durable write the message (and what it sets going: the sample of its
// reading, the upstream's answer) makes. One more crash point needs no
// shim: the test kills the gateway itself as soon as the charger has the
// CALLRESULT (k 0) — whatever was acknowledged must be on disk by then,
// readings included, since the charger will not send them again. Between
// the two, every crash point a message has is visited (the order of the
// gateway's own timers, sampling and flushing, may vary between runs, so
// "write k" is not always the same write). After a kill the gateway starts
// again on the same state file without the shim, the charger reconnects
// (same identity, no BootNotification), sends again the message whose
// CALLRESULT it never received (the same payload, 2.0.1 the same seqNo),
// then finishes the session. Then:
//   - the upstream received every transaction message exactly once, in
//     order (start first, stop last; 2.0.1 seqNo 0, 1, 2, ... per
//     transaction; 1.6 every MeterValues/StopTransaction carries the id the
//     upstream gave for the start), and no phantom transaction (every
//     transaction started upstream is this session's, and is stopped).
//     The one exception docs/upstream.md allows: the message the upstream had
//     received before the gateway died (its answer was on its way) may come
//     a second time, identical; for a 1.6 upstream a second StartTransaction
//     gets a second id, the first is then never stopped and never used.
//     Which message that is comes from the upstream's own record (the last
//     one it received before the gateway died), and it is allowed only if
//     the state file as the gateway left it still holds it in its outbox
//     (the answer was not recorded: read on a copy, before the restart);
//   - the readings acknowledged to the charger are not lost: the start's
//     and the stop's meter values upstream are the charger's, and the meter
//     update's reading reaches the upstream exactly once (the test waits
//     for the periodic sample before it stops the session, so "at least
//     once" does not depend on timing);
//   - PRAGMA integrity_check of the state file is "ok", as the kill left
//     it (on a copy) and at the end.
// A run without a kill must pass too, and must have seen at least one
// durable write (otherwise the shim did not interpose and nothing was
// tested). The coverage (crash points per message) and the run time are
// printed.

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { once } = require('node:events');
const { isDeepStrictEqual } = require('node:util');
const { tmpDir, startGateway } = require('./lib/gateway');
const { startUpstream } = require('./lib/upstream');
const { upConfig, charger, status, energy, now } = require('./lib/uplink_env');
const D = require('./lib/durability');

const VERSIONS = ['ocpp1.6', 'ocpp2.0.1'];
const STEPS = ['start', 'meter', 'stop'];
const WH = { start: 1000, meter: 1100, stop: 1200 };
const TOKEN = '04A2B3C4D5';
const MAX_K = 12;          // bound on the crash points per message (now: 3 to 5)
const STRICT_MS = 6000;    // a wait that must succeed (no kill so far)
const SETTLE_MS = 10000;   // a wait after a kill, which a lost message never ends
                           // (it ends at once when nothing is lost; generous, as
                           // a loaded VM's timers may run ahead of the gateway)
const WS_CLOSED = 3;

// The charger's side of one session. A message is built once, when first
// sent: a re-send after a lost answer is byte for byte the same message.
class ChargerTx {
  constructor(version) {
    this.v16 = version === 'ocpp1.6';
    this.txId = this.v16 ? null : 'TX-CRASH-1';
    this.built = {};
    this.cli = null;
  }

  message(step) {
    if (this.built[step]) return this.built[step];
    let m;
    if (this.v16) {
      m = {
        start: { action: 'StartTransaction',
          params: { connectorId: 1, idTag: TOKEN, meterStart: WH.start, timestamp: now() } },
        meter: { action: 'MeterValues',
          params: { connectorId: 1, transactionId: this.txId, meterValue: [energy(WH.meter, true)] } },
        stop: { action: 'StopTransaction',
          params: { transactionId: this.txId, meterStop: WH.stop, timestamp: now(), reason: 'Local' } },
      }[step];
    } else {
      const tx = (extra) => ({ transactionId: this.txId, ...extra });
      m = { action: 'TransactionEvent', params: {
        start: { eventType: 'Started', timestamp: now(), triggerReason: 'Authorized', seqNo: 0,
          transactionInfo: tx({ chargingState: 'Charging' }), evse: { id: 1, connectorId: 1 },
          idToken: { idToken: TOKEN, type: 'ISO14443' }, meterValue: [energy(WH.start, false)] },
        meter: { eventType: 'Updated', timestamp: now(), triggerReason: 'MeterValuePeriodic', seqNo: 1,
          transactionInfo: tx(), meterValue: [energy(WH.meter, false)] },
        stop: { eventType: 'Ended', timestamp: now(), triggerReason: 'StopAuthorized', seqNo: 2,
          transactionInfo: tx({ stoppedReason: 'Local' }), meterValue: [energy(WH.stop, false)] },
      }[step] };
    }
    this.built[step] = m;
    return m;
  }

  async send(step) {
    const m = this.message(step);
    const r = await this.cli.call(m.action, m.params);
    if (this.v16 && step === 'start') this.txId = r.transactionId;
    return r;
  }
}

// The connector status a charger reports after each step (and, on a
// reconnect, the one it is in).
const STATUS_AFTER = { start: 'Charging', meter: 'Charging', stop: 'Available' };
const STATUS_BEFORE = { start: 'Occupied', meter: 'Charging', stop: 'Charging' };

const hasWh = (x, wh) => x.wh.includes(wh);

// How many different messages (identical re-sends counted once) brought
// the reading wh up.
function distinctReadings(calls, wh) {
  const seen = [];
  for (const x of D.txRecords(calls)) {
    if (x.kind === 'meter' && hasWh(x, wh) && !seen.some((p) => isDeepStrictEqual(p, x.params))) {
      seen.push(x.params);
    }
  }
  return seen.length;
}

// What the upstream must have received, and the gateway acknowledged,
// once a step is complete. The start of a 2.0.1 charger carries a reading,
// which the gateway samples up too: waited for, so that nothing of the
// step is still on its way when the next one is armed.
async function stepDone(gw, up, chV, step, ms, withStartSample = true) {
  const seen = (what, pred) => up.waitFor(() => D.txRecords(up.calls).some(pred), { ms })
    .catch(() => { throw new Error(`no ${what} upstream within ${ms} ms`); });
  if (step === 'start') {
    await seen('start', (x) => x.kind === 'start');
    if (chV === 'ocpp2.0.1' && withStartSample) {
      await seen(`sample of ${WH.start} Wh`, (x) => x.kind === 'meter' && hasWh(x, WH.start));
    }
  } else if (step === 'meter') {
    await seen(`sample of ${WH.meter} Wh`, (x) => x.kind === 'meter' && hasWh(x, WH.meter));
  } else {
    await seen('stop', (x) => x.kind === 'stop');
  }
  await D.outboxDrained(gw, ms);
}

// One run: kill after durable write k of message `target` (k beyond the
// message's writes: no kill; k 0: the test kills the gateway as soon as the
// charger has the message's CALLRESULT — the point where a reading is
// acknowledged but only batched). Returns what happened, for verdict().
async function runOnce(chV, upV, target, k) {
  const r = { k, dir: null, killed: false, writes: [], notes: [], answered: false, resent: false,
    killIndex: null, logs: [] };
  const up = await startUpstream({ protocol: upV });
  const dir = r.dir = tmpDir('sg-crash-');
  const shim = D.crashEnv(dir, k);
  const tx = new ChargerTx(chV);
  let gw = await startGateway(upConfig(dir, up, { call_timeout_s: 2 }), { dir, env: shim.env });
  r.logs.push(gw.logs);
  const tolerate = async (what, p) => {
    try { return await p; } catch (e) { r.notes.push(`${what}: ${String(e.message).split('\n')[0]}`); }
    return undefined;
  };
  try {
    await gw.waitForLog(/uplink: link state=accepted/);
    tx.cli = await charger(gw, 'CP-01', chV);
    await gw.waitForLog(/ocpp: capabilities charger=CP-01/);
    await status(tx.cli, 1, STATUS_BEFORE.start);
    for (const step of STEPS.slice(0, STEPS.indexOf(target))) {
      await tx.send(step);
      await status(tx.cli, 1, STATUS_AFTER[step]);
      await stepDone(gw, up, chV, step, STRICT_MS);
    }

    // The armed message: done when its effects upstream are acknowledged,
    // unless the gateway dies first.
    const upClient = up.client;
    fs.writeFileSync(shim.arm, '');
    let callError = null;
    const call = tx.send(target).then(() => { r.answered = true; }, (e) => { callError = e; });
    const work = (async () => {
      await call;
      if (callError) throw callError;
      if (k === 0) {
        await gw.kill('SIGKILL');
        return;
      }
      await stepDone(gw, up, chV, target, STRICT_MS);
    })();
    work.catch(() => {});   // a failure counts only when nobody was killed (below)
    await Promise.race([work.catch(() => {}), gw.exited]);
    fs.unlinkSync(shim.arm);
    // The count file is the truth: the shim writes line k, then kills.
    r.writes = D.readCount(shim.count);
    r.killed = k === 0 ? gw.exit !== null : r.writes.length >= k;
    if (!r.killed) {
      await work;
    } else {
      const ex = await gw.exited;
      assert.equal(ex.signal, 'SIGKILL', `harness: the gateway died of something else: ${JSON.stringify(ex)}`);
      await call;
      // Everything the dead gateway wrote has been read by the upstream
      // once it has seen the connection close.
      if (upClient && upClient.state !== WS_CLOSED) {
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort(), STRICT_MS);
        await once(upClient, 'close', { signal: ac.signal }).catch(() => {
          throw new Error('harness: the upstream never saw the killed gateway go');
        }).finally(() => clearTimeout(timer));
      }
      r.killIndex = up.calls.length;
      await tx.cli.close({ force: true });
      // What the dead gateway left on disk: which messages it had not
      // recorded as answered, and whether the file is sound as it is.
      r.outboxAtKill = D.outboxOnDisk(path.join(dir, 'state.db'));
      r.integrityAtKill = D.queryCopy(path.join(dir, 'state.db'), 'PRAGMA integrity_check')
        .map((x) => x.integrity_check).join('; ');

      gw = await startGateway(null, { dir });
      r.logs.push(gw.logs);
      tx.cli = await charger(gw, 'CP-01', chV, {}, { boot: false });
      await tolerate('status after the reconnect', status(tx.cli, 1, STATUS_BEFORE[target]));
      if (!r.answered) {
        r.resent = true;
        await tolerate(`the ${target} sent again`, tx.send(target));
      }
      await tolerate(`status after the ${target}`, status(tx.cli, 1, STATUS_AFTER[target]));
      await tolerate(`the ${target} settling upstream`, stepDone(gw, up, chV, target, SETTLE_MS, false));
      if (target === 'meter') {
        // The gateway samples a reading only when it is newer than the
        // last one sent. Before the stop closes the session, give the
        // restarted gateway two sampling periods to send the acknowledged
        // reading a second time (a new message, not the re-send of the one
        // in flight): a bounded wait for what must not happen.
        await up.waitFor(() => distinctReadings(up.calls, WH.meter) >= 2, { ms: 2500 }).catch(() => {});
      }
    }

    for (const step of STEPS.slice(STEPS.indexOf(target) + 1)) {
      await tolerate(`the ${step}`, tx.send(step));
      await tolerate(`status after the ${step}`, status(tx.cli, 1, STATUS_AFTER[step]));
      await tolerate(`the ${step} settling upstream`, stepDone(gw, up, chV, step, SETTLE_MS));
    }
    await tolerate('the outbox draining at the end', D.outboxDrained(gw, SETTLE_MS));
    await tx.cli.close({ force: true });
    tx.cli = null;
    const ex = await gw.stop();
    if (ex.code !== 0) r.notes.push(`gateway exit ${JSON.stringify(ex)}`);
    r.integrity = D.integrityCheck(path.join(dir, 'state.db'));
    r.calls = up.calls.slice();
    r.failures = up.failures.slice();
    return r;
  } finally {
    if (tx.cli) await tx.cli.close({ force: true });
    await gw.kill('SIGKILL');
    await up.stop();
  }
}

// Everything wrong with a run, as sentences (empty: it passed).
function verdict(r, upV) {
  const recs = D.txRecords(r.calls);
  let list = recs;
  let again = null;
  const f = [];
  if (r.killed) {
    // The one message that may come twice: the last one the upstream had
    // received when the gateway died, sent again identical afterwards —
    // and only while the gateway had not recorded its answer (it was
    // still in the outbox on disk).
    const before = recs.filter((x) => x.idx < r.killIndex);
    const inflight = before[before.length - 1];
    if (inflight && recs.some((x) => x.idx >= r.killIndex && x.action === inflight.action &&
        isDeepStrictEqual(x.params, inflight.params))) {
      if (r.outboxAtKill.some((o) => o.action === inflight.action && o.kind === inflight.kind)) {
        again = inflight;
        list = recs.filter((x) => x !== inflight);
      } else {
        f.push(`the ${inflight.kind} was sent again although the gateway had recorded its answer`);
      }
    }
    if (r.integrityAtKill !== 'ok') f.push(`integrity_check right after the kill: ${r.integrityAtKill}`);
  }
  return { f: f.concat(problems(r, upV, recs, list, again)), again };
}

function problems(r, upV, recs, list, again) {
  const f = [];
  const starts = list.filter((x) => x.kind === 'start');
  const stops = list.filter((x) => x.kind === 'stop');
  const meters = list.filter((x) => x.kind === 'meter');
  if (starts.length === 0) f.push('the start never reached the upstream');
  if (starts.length > 1) f.push(`${starts.length} starts upstream (phantom transaction)`);
  if (stops.length === 0) f.push('the stop never reached the upstream');
  if (stops.length > 1) f.push(`${stops.length} stops upstream`);
  if (list.length && list[0].kind !== 'start') f.push(`the first transaction message upstream is a ${list[0].kind}`);
  if (list.length && list[list.length - 1].kind !== 'stop') {
    f.push(`the last transaction message upstream is a ${list[list.length - 1].kind}`);
  }
  if (upV === 'ocpp2.0.1') {
    const byTx = new Map();
    for (const x of list) {
      if (!byTx.has(x.tx)) byTx.set(x.tx, []);
      byTx.get(x.tx).push(x);
    }
    if (byTx.size > 1) f.push(`${byTx.size} transactions upstream: ${[...byTx.keys()].join(', ')}`);
    for (const [id, xs] of byTx) {
      const seqs = xs.map((x) => x.seqNo);
      if (!isDeepStrictEqual(seqs, seqs.map((_, i) => i))) f.push(`tx ${id}: seqNo ${seqs.join(',')}`);
      if (!xs.some((x) => x.kind === 'start')) f.push(`tx ${id}: never Started upstream`);
      if (!xs.some((x) => x.kind === 'stop')) f.push(`tx ${id}: never Ended upstream (open for ever)`);
    }
  } else {
    const id = starts.length ? starts[starts.length - 1].issued : undefined;
    for (const x of meters.concat(stops)) {
      if (x.tx !== id) f.push(`${x.action} for transaction ${x.tx}, the session's is ${id}`);
    }
    for (const s of starts) {
      if (!stops.some((x) => x.tx === s.issued)) f.push(`transaction ${s.issued} started upstream, never stopped`);
    }
    if (again && again.kind === 'start' && recs.some((x) => x.tx === again.issued)) {
      f.push(`transaction ${again.issued} (the answer lost in the kill) is used afterwards`);
    }
  }
  for (const [step, xs] of [['start', starts], ['stop', stops]]) {
    for (const x of xs) {
      if (!hasWh(x, WH[step])) f.push(`${step} upstream carries ${x.wh.join('/')} Wh, the charger sent ${WH[step]}`);
    }
  }
  const n = meters.filter((x) => hasWh(x, WH.meter)).length;
  if (n !== 1) f.push(`the acknowledged reading ${WH.meter} Wh reached the upstream ${n} times`);
  if (r.integrity !== 'ok') f.push(`integrity_check: ${r.integrity}`);
  if (!r.killed && r.writes.length === 0) f.push('harness: the shim counted no durable write (not preloaded?)');
  if (!r.killed) f.push(...r.notes);
  if (r.failures.length) f.push(`the upstream's strict validation failed: ${r.failures.map(String).join('; ')}`);
  return f;
}

const coverage = [];
const t0 = Date.now();

// Every crash point of one message: k = 1, 2, ... until a run sees no kill.
async function everyCrashPoint(t, chV, upV, target) {
  const c = { chV, upV, target, visited: 0, writes: null, failed: [] };
  coverage.push(c);
  for (let k = 0; k <= MAX_K; k++) {
    let r = null;
    const what = k === 0 ? 'kill as soon as the charger has its answer' : `kill after durable write ${k}`;
    await t.test(`${target}: ${what}`, async (tt) => {
      r = await runOnce(chV, upV, target, k);
      const { f, again } = verdict(r, upV);
      tt.diagnostic(`${!r.killed ? `no kill (${r.writes.length} durable writes)` : k === 0 ?
        `killed at the answer (after ${r.writes.length} durable writes)` : `killed after write ${k}`}` +
        `, ${r.resent ? 'the charger sent it again' : 'the charger had its answer'}${again ? `, the ${again.kind} in flight came again (allowed)` : ''}` +
        `${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`);
      // The files of a failing run stay, with the gateway's logs.
      if (f.length === 0) fs.rmSync(r.dir, { recursive: true, force: true });
      else r.logs.forEach((l, i) => fs.writeFileSync(path.join(r.dir, `gateway-${i + 1}.log`), `${l.join('\n')}\n`));
      if (f.length) c.failed.push(`k=${!r.killed ? `${k} (no kill)` : k === 0 ? '0 (at the answer)' : k}: ${f.join('; ')}`);
      assert.deepEqual(f, [], `${f.join('\n')}\nupstream transaction messages` +
        `${r.killIndex !== null ? ` (gateway killed before #${r.killIndex})` : ''}:\n` +
        `${D.describe(D.txRecords(r.calls))}\nnotes: ${r.notes.join('; ')}\nstate file and logs: ${r.dir}`);
    });
    if (!r) break;   // the harness failed: no run could be made
    if (!r.killed) { c.writes = r.writes.length; break; }
    c.visited++;   // k 0 included: one more crash point than durable writes
  }
  t.diagnostic(`${target}: ${c.visited} crash points visited, ${c.writes} durable writes without a kill`);
  assert.ok(c.writes !== null, `${target}: still killed after ${MAX_K} durable writes, or the harness failed`);
}

// The four combinations run two at a time: each run spends most of its
// time waiting for the gateway's one-second sampling.
describe('kill -9 after every durable write of each transaction message', { concurrency: 2 }, () => {
  for (const chV of VERSIONS) {
    for (const upV of VERSIONS) {
      it(`${chV} charger, ${upV} upstream`, async (t) => {
        for (const target of STEPS) await everyCrashPoint(t, chV, upV, target);
      });
    }
  }
});

after(() => {
  const key = (c) => `${c.chV} ${c.upV} ${STEPS.indexOf(c.target)}`;
  console.log('crash points visited per message (durable writes it makes):');
  for (const c of coverage.sort((a, b) => key(a).localeCompare(key(b)))) {
    console.log(`  ${c.chV} charger -> ${c.upV} upstream, ${c.target.padEnd(5)}: ${c.visited} (${c.writes})` +
      `${c.failed.length ? `  FAILED ${c.failed.length}` : ''}`);
    for (const f of c.failed) console.log(`      ${f}`);
  }
  console.log(`crash points run time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
