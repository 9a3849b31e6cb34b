'use strict';
// Test fixture: start the real sitegate binary on a generated configuration
// and follow its log. Every wait here is on an event (a log line, a process
// exit); timeouts only bound how long a broken gateway can hang a test.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BIN = process.env.SITEGATE_BIN || path.resolve(__dirname, '../../../build/asan/sitegate');

// A fresh temporary directory for one test's files.
function tmpDir(prefix = 'sg-') {
  const root = process.env.SITEGATE_TMP || os.tmpdir();
  fs.mkdirSync(root, { recursive: true });
  return fs.mkdtempSync(path.join(root, prefix));
}

// A valid configuration object: OCPP on a free loopback port, the state file
// in dir, two chargers on a sub-circuit. Tests change what they need.
function baseConfig(dir) {
  return {
    site_id: 'test-site',
    state_file: path.join(dir, 'state.db'),
    log_level: 'debug',
    ocpp: {
      listen: '127.0.0.1:0',
      versions: ['ocpp2.0.1', 'ocpp1.6'],
      allow_unknown_chargers: false,
      heartbeat_interval_s: 300,
      call_timeout_s: 5,
    },
    chargers: [
      { id: 'CP-01', password: 'password-CP-01-xyz', max_current_a: 32, phases: 3,
        phase_rotation: 'L1L2L3', circuit: 'row-a', priority: 0 },
      { id: 'CP-02', password: 'password-CP-02-xyz', max_current_a: 32, phases: 1,
        phase_rotation: 'L2', circuit: 'row-a', priority: 1 },
    ],
    site: {
      voltage_v: 230,
      min_current_a: 6,
      failsafe_current_a: 16,
      circuits: [
        { id: 'main', max_current_a: [63, 63, 63] },
        { id: 'row-a', parent: 'main', max_current_a: 40 },
      ],
    },
    authorization: {
      mode: 'local_list',
      local_list: [{ id_token: '04A2B3C4D5', status: 'Accepted' }],
    },
  };
}

function writeConfig(file, cfg) {
  fs.writeFileSync(file, typeof cfg === 'string' ? cfg : JSON.stringify(cfg, null, 2));
}

// Run the binary to completion (e.g. --check-config); resolves to
// { code, signal, stdout, stderr }.
function runSitegate(args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

class Gateway {
  constructor(proc, configPath, dir) {
    this.proc = proc;
    this.configPath = configPath;
    this.dir = dir;
    this.logs = [];
    this.waiters = [];
    this.ocppPort = null;
    this.exit = null;
    this.exited = new Promise((resolve) => {
      proc.on('close', (code, signal) => {
        this.exit = { code, signal };
        for (const w of this.waiters.splice(0)) w.reject(new Error(
          `gateway exited (code ${code}, signal ${signal}) while waiting for ${w.re}\n` +
          this.logs.slice(-40).join('\n')));
        resolve(this.exit);
      });
    });
    let partial = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) this.onLine(line);
    });
  }

  onLine(line) {
    this.logs.push(line);
    if (process.env.SITEGATE_TEST_ECHO) process.stderr.write(`  | ${line}\n`);
    const m = /\bocpp: listening addr=\S*:(\d+)/.exec(line);
    if (m && this.ocppPort === null) this.ocppPort = Number(m[1]);
    const index = this.logs.length - 1;
    this.waiters = this.waiters.filter((w) => {
      if (index < w.since) return true;
      const match = w.re.exec(line);
      if (!match) return true;
      clearTimeout(w.timer);
      w.resolve(match);
      return false;
    });
  }

  // A position in the log; waitForLog(re, { since }) ignores earlier lines.
  mark() { return this.logs.length; }

  // Resolve with the match of the first log line (at or after `since`)
  // that matches re; reject after ms, or when the gateway exits first.
  waitForLog(re, { since = 0, ms = 10000 } = {}) {
    for (let i = since; i < this.logs.length; i++) {
      const match = re.exec(this.logs[i]);
      if (match) return Promise.resolve(match);
    }
    if (this.exit) return Promise.reject(new Error(`gateway already exited; no ${re}`));
    return new Promise((resolve, reject) => {
      const w = { re, since, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no log line matching ${re} within ${ms} ms\n` +
          this.logs.slice(-40).join('\n')));
      }, ms);
      this.waiters.push(w);
    });
  }

  signal(sig) { this.proc.kill(sig); }

  // SIGTERM and wait for the exit; resolves to { code, signal }.
  async stop() {
    if (!this.exit) this.proc.kill('SIGTERM');
    return this.exited;
  }

  kill(sig = 'SIGKILL') {
    if (!this.exit) this.proc.kill(sig);
    return this.exited;
  }
}

// Write cfg (an object or raw text) into a fresh directory (or opts.dir),
// start the gateway on it and resolve once it logs "gateway: ready".
async function startGateway(cfg, opts = {}) {
  const dir = opts.dir || tmpDir();
  const configPath = path.join(dir, 'sitegate.json');
  if (cfg) writeConfig(configPath, cfg);
  const proc = spawn(BIN, ['--config', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...(opts.env || {}) },
  });
  const gw = new Gateway(proc, configPath, dir);
  if (opts.waitReady === false) return gw;
  await gw.waitForLog(/\bgateway: ready\b/, { ms: opts.readyMs || 15000 });
  return gw;
}

module.exports = { BIN, tmpDir, baseConfig, writeConfig, runSitegate, startGateway };
