'use strict';
// make demo (tools/demo.sh) end to end: the broker, the gateway (the
// sanitized one, SITEGATE_BIN), the simulator (build/asan/sitegate-sim,
// SITEGATE_SIM) with its 20 chargers, and the EMS stepping the site limit,
// for 60 s, then Ctrl-C (SIGINT to the script).
//
// Checked:
//  - the script prints the page's address and the setup code;
//  - the simulated chargers connect and charge (the simulator's JSON lines,
//    one a second: every charger connected, cars drawing current);
//  - every limit the EMS published (limits.log, "<epoch ms> <A>") is
//    respected once the gateway settled: from the first "dispatch:
//    settled" after the allocation for that limit until the next limit,
//    every simulator line (what each car draws, per charger phase) passes
//    the oracle of the control tests (lib/sitecheck) with the demo's own
//    configuration: no circuit over its fuse, the grid connection not
//    over the limit, on any grid phase;
//  - after SIGINT the script ends within 30 s, exit status 0, no process
//    it started is alive (its pids file) and the ports are free.
//
// The EMS steps every 10 s here (DEMO_STEP_S) to see six limits in a
// minute, lowest and highest included; the page listens on a free port.

const { it } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { tmpDir } = require('./lib/gateway');
const { sitecheck } = require('./lib/sitecheck');

const ROOT = path.resolve(__dirname, '../..');
const BIN = process.env.SITEGATE_BIN || path.join(ROOT, 'build/asan/sitegate');
const SIM = process.env.SITEGATE_SIM || path.join(ROOT, 'build/asan/sitegate-sim');
const RUN_MS = 60000;
const STOP_MS = 30000;

// A timer that does not keep the process alive once the test is done.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
}

// Gateway log lines as { ms, text }.
function readLog(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const ms = Date.parse(l.slice(0, 24));
    return { ms, text: l };
  }).filter((l) => !Number.isNaN(l.ms));
}

// For each published limit: when the gateway had settled on it (ms), or
// null when it never did before the next one.
function settleTimes(limits, log) {
  return limits.map((lim, k) => {
    const next = k + 1 < limits.length ? limits[k + 1].ms : Infinity;
    // The limit in force (its source is ems, or fuse where the EMS's
    // equals the grid connection's).
    const re = new RegExp(`control: allocated run=\\d+ limit=${lim.a.toFixed(1)}/${lim.a.toFixed(1)}/` +
      `${lim.a.toFixed(1)} `);
    const at = log.findIndex((l) => l.ms >= lim.ms && re.test(l.text));
    if (at < 0) return null;
    const s = log.slice(at + 1).find((l) => /\bdispatch: settled\b/.test(l.text));
    // Nothing to send for it (changed=0 and nothing in flight): settled
    // when allocated.
    const none = /changed=0\b/.test(log[at].text) && !log.slice(at + 1).some((l) => l.ms < next &&
      /\bdispatch: profile sent\b/.test(l.text));
    const t = s ? s.ms : none ? log[at].ms : null;
    return t !== null && t < next ? t : null;
  });
}

it('make demo: chargers charge, every published limit is respected, Ctrl-C leaves nothing',
  { timeout: RUN_MS + STOP_MS + 60000 }, async () => {
    const dir = tmpDir('sg-demo-');
    const env = { ...process.env, DEMO_DIR: dir, DEMO_WEB: '127.0.0.1:0', DEMO_STEP_S: '10',
      DEMO_QUIET: '1', SITEGATE_BIN: BIN, SITEGATE_SIM: SIM };
    const p = spawn(path.join(ROOT, 'tools/demo.sh'), [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const exited = new Promise((resolve) => p.on('exit', (code, signal) => resolve({ code, signal })));
    let exit = null;
    try {
      const t0 = Date.now();
      while (!/Ctrl-C stops everything/.test(out) && Date.now() - t0 < 60000) {
        if (p.exitCode !== null) break;
        await sleep(200);
      }
      assert.match(out, /Ctrl-C stops everything/, out);
      assert.match(out, /demo: page +http:\/\/127\.0\.0\.1:\d+\//, out);
      assert.match(out, /demo: setup +code \d{4}-\d{4}-\d{4}/, out);
      await Promise.race([sleep(RUN_MS), exited]);
      assert.equal(p.exitCode, null, `the demo ended by itself:\n${out}`);
      const ports = [];
      for (const m of fs.readFileSync(path.join(dir, 'gateway.log'), 'utf8')
        .matchAll(/(?:ocpp: listening addr=|page at http:\/\/)127\.0\.0\.1:(\d+)/g)) ports.push(Number(m[1]));
      ports.push(Number(/broker +127\.0\.0\.1:(\d+)/.exec(out)[1]));

      const tStop = Date.now();
      p.kill('SIGINT');
      exit = await Promise.race([exited, sleep(STOP_MS).then(() => null)]);
      assert.ok(exit, `the demo did not stop within ${STOP_MS / 1000} s:\n${out}`);
      assert.deepEqual(exit, { code: 0, signal: null }, out);
      assert.match(out, /EMS stopped[\s\S]*simulator stopped[\s\S]*gateway stopped[\s\S]*broker stopped/, out);
      const pids = fs.readFileSync(path.join(dir, 'pids'), 'utf8').split('\n').filter(Boolean)
        .map((l) => l.split(' '));
      assert.deepEqual(pids.map(([n]) => n).sort(), ['broker', 'ems', 'gateway', 'simulator']);
      for (const [name, pid] of pids) assert.ok(!alive(Number(pid)), `${name} (pid ${pid}) still runs`);
      for (const port of ports) assert.ok(await portFree(port), `port ${port} still accepts`);
      process.stderr.write(`demo: stopped in ${Date.now() - tStop} ms\n`);

      // What the cars drew.
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'sitegate.json'), 'utf8'));
      const lines = fs.readFileSync(path.join(dir, 'sim.jsonl'), 'utf8').split('\n').filter(Boolean)
        .map((l) => JSON.parse(l));
      assert.ok(lines.length >= 40, `${lines.length} simulator lines in ${RUN_MS / 1000} s`);
      assert.ok(lines.some((l) => l.connected === 20), 'never all 20 chargers connected');
      const charging = Math.max(...lines.map((l) => l.charging));
      assert.ok(charging >= 10, `at most ${charging} cars charging at once`);
      assert.ok(lines.some((l) => l.grid_a.some((a) => a > 0)), 'no current drawn');
      assert.equal(lines.at(-1).bugs, 0, 'the simulator found a bug of its own (see sim.log)');
      assert.equal(lines.at(-1).invalid, 0, 'the gateway sent CALLs that break the schema (see sim.log)');

      // Every limit, once settled.
      const limits = fs.readFileSync(path.join(dir, 'limits.log'), 'utf8').split('\n').filter(Boolean)
        .map((l) => { const [ms, a] = l.split(' ').map(Number); return { ms, a }; });
      assert.ok(limits.length >= 5, `${limits.length} limits published`);
      const log = readLog(path.join(dir, 'gateway.log'));
      const settled = settleTimes(limits, log);
      const report = [];
      let checked = 0;
      for (const [k, lim] of limits.entries()) {
        const end = k + 1 < limits.length ? limits[k + 1].ms : tStop;
        // One published in the last 2 s before the stop may not be
        // allocated before the gateway stops: nothing to check.
        if (k === limits.length - 1 && lim.ms > tStop - 2000) {
          report.push(`${lim.a} A: published within 2 s of the stop, not checked`);
          continue;
        }
        assert.ok(settled[k] !== null, `limit ${lim.a} A (at ${lim.ms}) never settled`);
        const inside = lines.filter((l) => l.ms > settled[k] && l.ms < end);
        for (const l of inside) {
          const evses = l.evses.map((e) => ({ charger: e.charger, evse: e.evse, amps: e.amps, phases: e.phases }));
          const r = sitecheck(cfg, evses, { siteLimitA: lim.a });
          assert.deepEqual(r.violations, [], `limit ${lim.a} A, at ${l.t}: ${JSON.stringify(r.sums)}`);
          checked++;
        }
        const peak = Math.max(0, ...inside.map((l) => Math.max(...l.grid_a)));
        report.push(`${lim.a} A: settled after ${settled[k] - lim.ms} ms, ${inside.length} samples, peak ${peak} A`);
      }
      assert.ok(checked >= 30, `only ${checked} samples checked`);
      process.stderr.write(`demo: ${report.join('; ')}\n`);
    } finally {
      if (p.exitCode === null && exit === null) {
        p.kill('SIGTERM');
        await Promise.race([exited, sleep(STOP_MS)]);
      }
    }
  });
