'use strict';
// Nothing lost while the uplink is down: sessions start, meter and stop
// on chargers of both versions while the upstream is away; when it comes
// back it receives every transaction message exactly once, in order (1.6:
// chronological, with its own transaction ids; 2.0.1: our seqNo, offline
// true). kill -9 of the gateway while offline and again during the replay
// loses nothing and repeats nothing the upstream had acknowledged.

const test = require('node:test');
const assert = require('node:assert/strict');
const { tmpDir, startGateway } = require('./lib/gateway');
const { startUpstream } = require('./lib/upstream');
const { upConfig, charger, session, txMessages } = require('./lib/uplink_env');

const tick = (ms) => new Promise((r) => setTimeout(r, ms));

// A session on cli with n meter values, each followed by the gateway's
// periodic sampling (waited for through its log, not by time alone).
async function runSession(gw, cli, token, name, n, base) {
  const s = session(cli, 1, token, name);
  await s.start(base);
  for (let i = 1; i <= n; i++) {
    const mark = gw.mark();
    await s.meter(base + i * 100);
    await gw.waitForLog(/uplink: queued seq=\d+ action=(MeterValues|TransactionEvent)/, { since: mark });
  }
  await s.stop(base + (n + 1) * 100);
  return s;
}

// Per transaction, in arrival order: one start, meters, one stop, nothing
// twice. Returns the records grouped by transaction (1.6: by the start's
// position, since the upstream assigns the ids).
function checkExactlyOnceInOrder(upVersion, msgs) {
  const byTx = new Map();
  if (upVersion === 'ocpp2.0.1') {
    for (const m of msgs) {
      if (!byTx.has(m.tx)) byTx.set(m.tx, []);
      byTx.get(m.tx).push(m);
    }
    for (const [tx, list] of byTx) {
      assert.deepEqual(list.map((m) => m.seqNo), list.map((_, i) => i), `seqNo of ${tx}`);
      assert.equal(list[0].kind, 'start');
      assert.equal(list[list.length - 1].kind, 'stop');
      assert.equal(list.filter((m) => m.kind === 'stop').length, 1);
    }
  } else {
    let tx = 1000;
    const open = new Map();
    for (const m of msgs) {
      if (m.kind === 'start') { open.set(tx, [m]); byTx.set(tx, open.get(tx)); tx++; continue; }
      assert.ok(open.has(m.tx), `message for a transaction not started or already stopped: ${JSON.stringify(m)}`);
      open.get(m.tx).push(m);
      if (m.kind === 'stop') open.delete(m.tx);
    }
    assert.equal(open.size, 0, 'every transaction stopped');
  }
  // chronological: the times the messages carry never go backwards
  const ts = msgs.map((m) => m.ts).filter(Boolean);
  assert.deepEqual(ts, [...ts].sort(), 'chronological order');
  return byTx;
}

for (const upVersion of ['ocpp1.6', 'ocpp2.0.1']) {
  test(`a long outage under a ${upVersion} upstream: every transaction message exactly once, in order`, async () => {
    const up = await startUpstream({ protocol: upVersion });
    const port = up.port;
    const dir = tmpDir();
    const gw = await startGateway(upConfig(dir, up), { dir });
    const clis = [];
    try {
      await gw.waitForLog(/uplink: link state=accepted/);
      const a = await charger(gw, 'CP-01', 'ocpp1.6');
      const b = await charger(gw, 'CP-02', 'ocpp2.0.1');
      clis.push(a, b);
      const mark = gw.mark();
      await up.stop();
      await gw.waitForLog(/uplink: link state=backoff/, { since: mark });
      const before = up.calls.length;
      // Two sessions on each charger, interleaved, while the uplink is down.
      await Promise.all([
        (async () => {
          await runSession(gw, a, '04A2B3C4D5', null, 3, 1000);
          await runSession(gw, a, '04A2B3C4D5', null, 2, 2000);
        })(),
        (async () => {
          await runSession(gw, b, '04A2B3C4D5', 'TX-B-1', 3, 5000);
          await runSession(gw, b, '04A2B3C4D5', 'TX-B-2', 2, 6000);
        })(),
      ]);
      const queued = gw.logs.filter((l) => /uplink: queued /.test(l)).pop();
      const depth = Number(/depth=(\d+)/.exec(queued)[1]);
      assert.ok(depth >= 12, `outbox depth ${depth}`);
      assert.equal(up.calls.length, before, 'nothing reached the upstream while it was down');

      // Back: the replay, and a new session waiting behind it.
      await up.start(port);
      await up.connected();
      await gw.waitForLog(/uplink: replaying outbox depth=\d+/, { since: mark });
      const late = session(a, 1, '04A2B3C4D5');
      await late.start(9000);
      await up.waitFor(() => txMessages(up).filter((m) => m.kind === 'start').length === 5);
      await late.stop(9100);
      await up.waitFor(() => txMessages(up).filter((m) => m.kind === 'stop').length === 5);
      const msgs = txMessages(up);
      const byTx = checkExactlyOnceInOrder(upVersion, msgs);
      assert.equal(byTx.size, 5);
      // the session started after the reconnect came last
      const lastStart = msgs.filter((m) => m.kind === 'start').pop();
      assert.equal(upVersion === 'ocpp1.6' ? lastStart.meter : lastStart.offline, upVersion === 'ocpp1.6' ? 9000 : false);
      if (upVersion === 'ocpp2.0.1') {
        // everything produced while offline says so
        const offline = msgs.filter((m) => m.offline);
        assert.ok(offline.length >= 12);
        assert.ok(msgs.slice(0, offline.length).every((m) => m.offline));
      }
      assert.deepEqual(up.failures, []);
      await gw.waitForLog(/uplink: acknowledged/);
    } finally {
      for (const c of clis) await c.close({ force: true });
      await gw.stop();
      await up.stop();
    }
  });
}

test('kill -9 of the gateway while offline and during the replay: nothing lost, nothing acknowledged sent twice', async () => {
  const up = await startUpstream({ protocol: 'ocpp2.0.1' });
  const port = up.port;
  const dir = tmpDir();
  let gw = await startGateway(upConfig(dir, up), { dir });
  let cli;
  try {
    await gw.waitForLog(/uplink: link state=accepted/);
    cli = await charger(gw, 'CP-02', 'ocpp2.0.1');
    let mark = gw.mark();
    await up.stop();
    await gw.waitForLog(/uplink: link state=backoff/, { since: mark });
    const s1 = await runSession(gw, cli, '04A2B3C4D5', 'TX-K-1', 3, 1000);
    const s2 = session(cli, 1, '04A2B3C4D5', 'TX-K-2');
    await s2.start(2000);
    await s2.meter(2100);

    // kill -9 while offline, with the outbox full of unsent messages
    await cli.close({ force: true });
    await gw.kill('SIGKILL');
    gw = await startGateway(null, { dir });
    assert.match((await gw.waitForLog(/uplink: starting .* outbox=(\d+)/))[0], /outbox=([1-9]\d*)/);
    cli = await charger(gw, 'CP-02', 'ocpp2.0.1');
    // the charger goes on with its transaction where it was
    const s2b = session(cli, 1, '04A2B3C4D5', 'TX-K-2');
    s2b.seq = s2.seq;
    s2b.txId = 'TX-K-2';
    await s2b.stop(2200);

    // Back, but the 4th message stays unanswered: kill -9 during the replay.
    let count = 0;
    let onHeld;
    const heldParams = new Promise((resolve) => { onHeld = resolve; });
    up.holdIf = (action, params) => {
      if (action !== 'TransactionEvent' || ++count !== 4) return false;
      onHeld(params);
      return true;
    };
    await up.start(port);
    const held = { params: await heldParams };
    mark = gw.mark();
    await cli.close({ force: true });
    await gw.kill('SIGKILL');
    up.holdIf = null;
    gw = await startGateway(null, { dir });
    await up.waitFor(() => txMessages(up).filter((m) => m.kind === 'stop').length >= 2);
    await gw.waitForLog(/uplink: acknowledged seq=\d+ action=TransactionEvent/, { since: 0 });

    // What the upstream answered, in order: both transactions complete,
    // each seqNo exactly once. The one it never answered came again.
    const answered = { calls: up.calls.filter((c) => c.answered) };
    const msgs = txMessages(answered);
    const byTx = checkExactlyOnceInOrder('ocpp2.0.1', msgs);
    assert.deepEqual([...byTx.keys()].length, 2);
    const again = up.calls.filter((c) => c.action === 'TransactionEvent' &&
      JSON.stringify(c.params) === JSON.stringify(held.params));
    assert.equal(again.length, 2, 'the unanswered message was sent once more');
    assert.equal(s1.seq, 5);
    assert.deepEqual(up.failures, []);
  } finally {
    if (cli) await cli.close({ force: true });
    await gw.stop();
    await up.stop();
  }
});
