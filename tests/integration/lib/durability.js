'use strict';
// Helpers for the durability tests (crash_points, disk_full): the
// crashpoint shim's environment and count file, a small real filesystem
// that the test can fill, the uplink outbox as the gateway's log tells it,
// the state file's integrity through the sqlite3 command line tool, and
// the transaction messages an upstream received with the meter readings
// they carry.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const SHIM = process.env.SITEGATE_SHIM ||
  path.resolve(__dirname, '../../../build/shim/crashpoint.so');

// The environment that preloads the crashpoint shim into the gateway: it
// counts fsync/fdatasync calls while `arm` exists and raises SIGKILL right
// after the k-th (k 0: count only); every counted call is a line of
// `count`. The ASan runtime refuses a library preloaded before it unless
// told not to check; the other ASan options stay as they were.
function crashEnv(dir, k) {
  if (!fs.existsSync(SHIM)) {
    throw new Error(`the crashpoint shim ${SHIM} is missing: make build/shim/crashpoint.so`);
  }
  const arm = path.join(dir, 'crash.arm');
  const count = path.join(dir, 'crash.count');
  const asan = [process.env.ASAN_OPTIONS, 'verify_asan_link_order=0'].filter(Boolean).join(':');
  return {
    arm,
    count,
    env: {
      LD_PRELOAD: SHIM, ASAN_OPTIONS: asan,
      SITEGATE_CRASH_ARM: arm, SITEGATE_CRASH_COUNT: count, SITEGATE_CRASH_AT: String(k),
    },
  };
}

// The counted durable writes: [{ n, fn, ms, file }].
function readCount(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [n, fn, ms, ...rest] = l.split(' ');
    return { n: Number(n), fn, ms: Number(ms), file: rest.join(' ') };
  });
}

// A small real filesystem of its own (tmpfs, `size`), mounted on a fresh
// directory: the tests run as root, in CI too. A mount that fails is an
// error naming what is needed, never a silent skip. unmount() is for a
// finally block: it also detaches a mount still busy, so none is left.
function smallDisk(size = '4m') {
  const dir = require('./gateway').tmpDir('sg-disk-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    fs.rmdirSync(dir);
    throw new Error(`cannot mount a ${size} tmpfs on ${dir}: this test needs root (or CAP_SYS_ADMIN) ` +
      `and mount(8): ${String(e.stderr || e.message).trim()}`);
  }
  const filler = path.join(dir, 'filler');
  return {
    dir,
    // Write the filler until the volume has no byte left; returns its size.
    fill() {
      const fd = fs.openSync(filler, 'a');
      let total = 0;
      try {
        for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9, 1]) {
          const buf = Buffer.alloc(size, 0x5a);
          for (let i = 0; i < 64; i++) {
            try {
              total += fs.writeSync(fd, buf);
            } catch (e) {
              if (e.code !== 'ENOSPC') throw e;
              break;
            }
          }
        }
      } finally {
        fs.closeSync(fd);
      }
      return total;
    },
    free() { fs.rmSync(filler, { force: true }); },
    // Bytes left for an unprivileged writer.
    avail() {
      const st = fs.statfsSync(dir);
      return st.bavail * st.bsize;
    },
    unmount() {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
      fs.rmdirSync(dir);
    },
  };
}

// Outbox entries not answered yet, from this gateway process's log: those
// it found at start, plus those it queued, minus those acknowledged or
// dropped (each seq counted once, however often it is logged).
function outboxPending(gw) {
  let atStart = 0;
  const queued = new Set();
  const done = new Set();
  for (const l of gw.logs) {
    let m;
    if ((m = /uplink: starting .* outbox=(\d+)/.exec(l))) atStart += Number(m[1]);
    else if ((m = /uplink: queued seq=(\d+)/.exec(l))) queued.add(m[1]);
    else if ((m = /uplink: (?:acknowledged|outbox message dropped) seq=(\d+)/.exec(l))) done.add(m[1]);
  }
  return atStart + queued.size - done.size;
}

// Resolve once every outbox entry this gateway knows of has been answered
// (or dropped); reject after ms.
async function outboxDrained(gw, ms = 10000) {
  const t0 = Date.now();
  for (;;) {
    if (outboxPending(gw) <= 0) return;
    const left = ms - (Date.now() - t0);
    if (left <= 0) throw new Error(`outbox not drained within ${ms} ms (pending ${outboxPending(gw)})`);
    await gw.waitForLog(/uplink: (acknowledged|outbox message dropped) seq=/, { since: gw.mark(), ms: left });
  }
}

// PRAGMA integrity_check of a state file (the gateway stopped): 'ok' or
// what SQLite found.
function integrityCheck(file) {
  try {
    return execFileSync('sqlite3', [file, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim();
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('the sqlite3 command line tool is missing (Debian package sqlite3)');
    return `sqlite3 failed: ${String(e.stderr || e.message).trim()}`;
  }
}

// SQL on a copy of a state file (the database and its WAL, as they are on
// disk, e.g. right after a kill): SQLite recovers the copy, the original
// is left exactly as the gateway left it. Resolves to the rows (sqlite3
// -json), or throws naming what failed.
function queryCopy(stateFile, sql) {
  const dir = fs.mkdtempSync(path.join(path.dirname(stateFile), 'copy-'));
  try {
    const copy = path.join(dir, 'state.db');
    fs.copyFileSync(stateFile, copy);
    if (fs.existsSync(`${stateFile}-wal`)) fs.copyFileSync(`${stateFile}-wal`, `${copy}-wal`);
    const out = execFileSync('sqlite3', ['-json', copy, sql], { encoding: 'utf8', stdio: 'pipe' });
    return out.trim() ? JSON.parse(out) : [];
  } catch (e) {
    throw new Error(`sqlite3 on a copy of ${stateFile}: ${String(e.stderr || e.message).trim()}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const KIND = { StartTransaction: 'start', MeterValues: 'meter', StopTransaction: 'stop' };
const EVENT_KIND = { Started: 'start', Updated: 'meter', Ended: 'stop' };

// The messages the outbox (docs/upstream.md "Nothing lost": written before it is
// sent, deleted when the answer is recorded) holds in a state file as it
// is on disk: [{ action, kind }].
function outboxOnDisk(stateFile) {
  return queryCopy(stateFile, 'SELECT action, payload FROM outbox ORDER BY seq').map((r) => ({
    action: r.action,
    kind: r.action === 'TransactionEvent' ? EVENT_KIND[JSON.parse(r.payload).eventType] : KIND[r.action],
  }));
}

// The energy register values (Wh) of an OCPP meterValue array.
function energies(meterValue) {
  const out = [];
  for (const mv of meterValue || []) {
    for (const sv of mv.sampledValue || []) {
      if ((sv.measurand || 'Energy.Active.Import.Register') === 'Energy.Active.Import.Register') {
        out.push(Number(sv.value));
      }
    }
  }
  return out;
}

// The transaction messages among an upstream's calls, in arrival order:
// { idx (position in calls), action, params, kind: start|meter|stop, tx,
//   seqNo (2.0.1), wh: [energy values], issued (1.6 start: the id the
//   upstream answered with) }.
function txRecords(calls) {
  const out = [];
  calls.forEach((c, idx) => {
    const p = c.params;
    const base = { idx, action: c.action, params: p };
    if (c.action === 'StartTransaction') {
      out.push({ ...base, kind: 'start', wh: [p.meterStart],
        issued: c.result && c.result.transactionId });
    } else if (c.action === 'MeterValues' && p.transactionId !== undefined) {
      out.push({ ...base, kind: 'meter', tx: p.transactionId, wh: energies(p.meterValue) });
    } else if (c.action === 'StopTransaction') {
      out.push({ ...base, kind: 'stop', tx: p.transactionId, wh: [p.meterStop] });
    } else if (c.action === 'TransactionEvent') {
      out.push({ ...base, kind: { Started: 'start', Updated: 'meter', Ended: 'stop' }[p.eventType],
        tx: p.transactionInfo.transactionId, seqNo: p.seqNo, wh: energies(p.meterValue) });
    }
  });
  return out;
}

// One line per record, for failure messages.
function describe(recs) {
  return recs.map((x) => `#${x.idx} ${x.kind} ${x.action}` +
    (x.tx !== undefined ? ` tx=${x.tx}` : '') + (x.issued !== undefined ? ` issued=${x.issued}` : '') +
    (x.seqNo !== undefined ? ` seqNo=${x.seqNo}` : '') + ` wh=${x.wh.join('/')}`).join('\n');
}

module.exports = { SHIM, crashEnv, readCount, smallDisk, outboxPending, outboxDrained, integrityCheck,
  queryCopy, outboxOnDisk,
  energies, txRecords, describe };
