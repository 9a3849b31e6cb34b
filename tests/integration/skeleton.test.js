'use strict';
// The process contract: command line, --check-config, SIGHUP reload,
// SIGTERM/SIGINT, and refusing bad configuration and state files.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { tmpDir, baseConfig, writeConfig, runSitegate, startGateway } = require('./lib/gateway');

const REPO = path.resolve(__dirname, '../..');

test('--version, --help and a bad option', async () => {
  const v = await runSitegate(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^sitegate \d+\.\d+\.\d+\n$/);
  const h = await runSitegate(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--check-config/);
  const bad = await runSitegate(['--bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /usage: sitegate/);
});

test('--check-config accepts the shipped default configuration', async () => {
  const r = await runSitegate(['--check-config', path.join(REPO, 'conf/sitegate.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sitegate\.json: valid: site depot-1, 2 chargers, 2 circuits/);
  assert.equal(r.stdout.trim().split('\n').length, 1);
});

test('--check-config prints every error with its JSON path and exits 1', async () => {
  const dir = tmpDir();
  const cfg = baseConfig(dir);
  cfg.chargers[1].max_current_a = '32A';
  cfg.chargers[0].circuit = 'row-z';
  cfg.ocpp.heartbeat_interval_s = true;
  cfg.site.circuits.push({ id: 'loose', max_current_a: 10 });
  cfg.surprise = 1;
  const file = path.join(dir, 'bad.json');
  writeConfig(file, cfg);
  const r = await runSitegate(['--check-config', file]);
  assert.equal(r.code, 1);
  assert.equal(r.signal, null);
  assert.match(r.stderr, /^chargers\[1\]\.max_current_a: expected a number from 6 to 80, got "32A"$/m);
  assert.match(r.stderr, /^ocpp\.heartbeat_interval_s: expected an integer from 10 to 86400, got true$/m);
  assert.match(r.stderr, /^surprise: unknown key$/m);
  assert.match(r.stderr, /bad\.json: 3 errors$/m);
  assert.equal(r.stdout, '');

  // Shapes fixed, cross-references wrong: those are reported next.
  cfg.chargers[1].max_current_a = 32;
  cfg.ocpp.heartbeat_interval_s = 60;
  delete cfg.surprise;
  writeConfig(file, cfg);
  const r2 = await runSitegate(['--config', file, '--check-config']);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /^site\.circuits\[2\]: a second circuit without a parent/m);
  assert.match(r2.stderr, /^chargers\[0\]\.circuit: no circuit has the id "row-z"$/m);
});

test('bad files never crash --check-config or the daemon', async () => {
  const dir = tmpDir();
  const good = JSON.stringify(baseConfig(dir), null, 2);
  const cases = {
    'not JSON': ['this is { not json', /not valid JSON: unexpected text at line 1, column 1/],
    truncated: [good.slice(0, Math.floor(good.length / 2)), /not valid JSON: the text ends early/],
    '10 MB': [' '.repeat(10 * 1024 * 1024) + good, /more than the 1048576 allowed/],
    'wrong types': [JSON.stringify({ site_id: [], state_file: {}, log_level: 1,
      ocpp: 'x', chargers: 'x', site: [], authorization: 0, mqtt: true }),
    /site_id: expected a string[\s\S]*ocpp: expected an object, got "x"[\s\S]*mqtt: expected an object, got true/],
    empty: ['', /not valid JSON/],
    binary: [Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x00]), /not valid JSON/],
  };
  for (const [name, [text, re]] of Object.entries(cases)) {
    const file = path.join(dir, `${name.replace(/\W/g, '_')}.json`);
    fs.writeFileSync(file, text);
    const r = await runSitegate(['--check-config', file]);
    assert.equal(r.signal, null, `${name}: crashed: ${r.stderr}`);
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, re, name);
    // The daemon refuses to start on it with the same errors.
    const d = await runSitegate(['--config', file]);
    assert.equal(d.signal, null, `${name}: daemon crashed: ${d.stderr}`);
    assert.equal(d.code, 1, name);
    assert.match(d.stderr, /config: cannot start errors=\d+/, name);
  }
});

test('a missing configuration file is a clear error', async () => {
  const r = await runSitegate(['--check-config', '/nonexistent/sitegate.json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot open \/nonexistent\/sitegate\.json: No such file/);
});

test('SIGTERM and SIGINT stop cleanly with exit 0', async () => {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    const dir = tmpDir();
    const gw = await startGateway(baseConfig(dir), { dir });
    assert.ok(fs.existsSync(path.join(dir, 'state.db')), 'state file created');
    gw.signal(sig);
    const exit = await gw.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, gw.logs.join('\n'));
    assert.ok(gw.logs.some((l) => l.includes(`stopping signal=${sig.slice(3)}`)));
  }
});

test('SIGHUP applies a valid file and refuses an invalid one', async () => {
  const dir = tmpDir();
  const cfg = baseConfig(dir);
  const gw = await startGateway(cfg, { dir });
  try {
    // Valid: a live change (a new charger) and one that needs a restart.
    cfg.chargers.push({ id: 'CP-03', max_current_a: 16, circuit: 'main' });
    cfg.ocpp.listen = '127.0.0.1:1';
    writeConfig(gw.configPath, cfg);
    let m = gw.mark();
    gw.signal('SIGHUP');
    await gw.waitForLog(/config: reloaded chargers=3 circuits=2/, { since: m });
    await gw.waitForLog(/error="ocpp\.listen: changed; takes effect after a restart"/, { since: m });

    // Invalid: refused, errors logged with their paths, still running.
    const bad = structuredClone(cfg);
    bad.chargers[0].phases = 2;
    writeConfig(gw.configPath, bad);
    m = gw.mark();
    gw.signal('SIGHUP');
    await gw.waitForLog(/reload refused .*error="chargers\[0\]\.phases: expected 1 or 3, got 2"/, { since: m });
    await gw.waitForLog(/reload refused errors=1; the running configuration stays/, { since: m });
    assert.equal(gw.exit, null, 'still running');

    // Not even JSON: refused the same way.
    writeConfig(gw.configPath, '{ "site_id": ');
    m = gw.mark();
    gw.signal('SIGHUP');
    await gw.waitForLog(/reload refused errors=1/, { since: m });

    // And a good file after that is taken again.
    cfg.chargers.pop();
    writeConfig(gw.configPath, cfg);
    m = gw.mark();
    gw.signal('SIGHUP');
    await gw.waitForLog(/config: reloaded chargers=2 circuits=2/, { since: m });
  } finally {
    const exit = await gw.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, gw.logs.slice(-20).join('\n'));
  }
});

test('the state file survives restarts and bad ones are refused', async () => {
  const dir = tmpDir();
  const cfg = baseConfig(dir);
  let gw = await startGateway(cfg, { dir });
  assert.match(gw.logs.join('\n'), /ready .* starts=1/);
  await gw.stop();
  gw = await startGateway(cfg, { dir });
  assert.match(gw.logs.join('\n'), /ready .* starts=2/);
  await gw.stop();

  // Not a database: exit 3 with a message naming the file.
  fs.writeFileSync(cfg.state_file, Buffer.alloc(4096, 0x5a));
  const r = await runSitegate(['--config', gw.configPath]);
  assert.equal(r.signal, null);
  assert.equal(r.code, 3);
  assert.match(r.stderr, new RegExp(`store: cannot start: state file ${cfg.state_file}: .*damaged`));
  assert.equal(fs.readFileSync(cfg.state_file)[0], 0x5a, 'never reset silently');

  // A directory that does not exist.
  cfg.state_file = path.join(dir, 'missing', 'state.db');
  writeConfig(gw.configPath, cfg);
  const r2 = await runSitegate(['--config', gw.configPath]);
  assert.equal(r2.code, 3);
  assert.match(r2.stderr, /check that the directory exists/);
});
