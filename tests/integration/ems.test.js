'use strict';
// The EMS link (src/control/ems) against a real mosquitto broker: limits in
// every form, retained or not; every kind of refused payload, answered on
// <prefix>/limit/error while the previous limit stays; ttl_s expiry and
// mqtt.limit_timeout_s → failsafe; the broker stopped and restarted; the
// last will on kill -9 and the goodbye on SIGTERM; <prefix>/evse/<n>/set;
// a new prefix on SIGHUP; TLS with a client certificate and a password;
// a broker name whose first address has no broker (Debian's localhost:
// ::1, then 127.0.0.1), plain and over TLS, the name and not the address
// verified.
//
// One broker for the file (the restart test and the TLS tests have their
// own); every test has its own gateway and site id, hence its own topic
// prefix, so the tests run concurrently. Waits are on MQTT messages and
// log lines only. The slow test is the limit timeout (mqtt.limit_timeout_s
// cannot be below 10 s): it bounds the file at about 12 s.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { tmpDir, baseConfig, writeConfig, startGateway } = require('./lib/gateway');
const { startBroker, Client, retained } = require('./lib/broker');
const { makeCerts } = require('./lib/certs');
const { scope, itScoped } = require('./lib/scope');
const { hostsEnv } = require('./lib/hostsfile');

let seq = 0;

function stopLater(sc, gw) { sc.add(() => (gw.exit ? null : gw.kill())); }
function endLater(sc, client) { sc.add(() => client.client.endAsync(true)); }

// Start a gateway with mqtt pointing at broker b, and a client subscribed
// to everything under its prefix before the gateway starts. Resolves once
// the gateway is connected and subscribed (unless waitConnected is false):
// "connected" alone comes at CONNACK, before the broker has the
// subscription, and a limit published in between would be lost.
async function startEms(sc, b, mqttExtra = {}, { waitConnected = true, beforeStart, hosts } = {}) {
  const dir = tmpDir('sg-ems-');
  const cfg = baseConfig(dir);
  cfg.site_id = `ems-${process.pid}-${++seq}`;
  cfg.mqtt = { host: '127.0.0.1', port: b.port, limit_timeout_s: 60, ...mqttExtra };
  const prefix = cfg.mqtt.prefix || `sitegate/${cfg.site_id}`;
  const client = await Client.connect(b.url());
  endLater(sc, client);
  await client.subscribe(`${prefix}/#`);
  if (beforeStart) await beforeStart(client, prefix);
  const env = hosts ? hostsEnv(dir, hosts) : undefined;
  const gw = await startGateway(cfg, { dir, env });
  stopLater(sc, gw);
  if (waitConnected) await gw.waitForLog(/\bems: subscribed\b/);
  return { gw, prefix, client, cfg, dir };
}

// Stop the gateway (SIGTERM) and the client; a clean exit also means no
// sanitizer report (ASan exits non-zero on leaks).
async function finish({ gw, client }) {
  const exit = await gw.stop();
  await client.end();
  assert.deepEqual(exit, { code: 0, signal: null }, gw.logs.slice(-30).join('\n'));
}

const isStatus = (pred) => (m) => m.json !== undefined && pred(m.json);
const near = (a, b) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-9);

describe('ems link', { concurrency: true }, () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => { await broker.stop(); });

  itScoped('starts on the failsafe, then applies limits as one number, per phase, and as power', async (sc) => {
    const t = await startEms(sc, broker);
    const { gw, prefix, client } = t;
    const status = `${prefix}/status`;

    // The control loop's document, completed by the ems module.
    const first = await client.waitFor(status, isStatus((s) => s.online === true && s.limit));
    assert.deepEqual(first.json.ems,
      { limit_a: [16, 16, 16], source: 'failsafe', reason: 'startup', connected: true });
    assert.deepEqual(first.json.limit,
      { current_a: [16, 16, 16], source: ['failsafe', 'failsafe', 'failsafe'] });
    assert.deepEqual(first.json.chargers, { configured: 2, connected: 0 });
    assert.deepEqual(first.json.uplink, { state: 'disabled' });
    await gw.waitForLog(/ems: limit source=failsafe reason=startup l1=16 l2=16 l3=16/);

    const cases = [
      { payload: { max_current_a: 20 }, limit: [20, 20, 20],
        log: /ems: limit source=ems reason=limit l1=20 l2=20 l3=20 ttl_s=0 retained=0/ },
      { payload: { max_current_a: [32, 25.5, 10] }, limit: [32, 25.5, 10],
        log: /ems: limit source=ems reason=limit l1=32 l2=25\.5 l3=10 ttl_s=0 retained=0/ },
      // 22080 W / (3 x 230 V) = 32 A per phase.
      { payload: { max_power_w: 22080 }, limit: [32, 32, 32], power: 22080,
        log: /ems: limit source=ems reason=limit l1=32 l2=32 l3=32 ttl_s=0 power_w=22080 /},
      // 11000 W / 690 V = 15.942... A (the status rounds to 0.01 A).
      { payload: { max_power_w: 11000, ttl_s: 300 }, limit: [15.94, 15.94, 15.94], power: 11000,
        log: /ems: limit source=ems reason=limit l1=15\.942 l2=15\.942 l3=15\.942 ttl_s=300 power_w=11000 / },
    ];
    for (const c of cases) {
      const since = gw.mark();
      const mark = client.mark();
      await client.publish(`${prefix}/limit`, JSON.stringify(c.payload));
      await gw.waitForLog(c.log, { since });
      // The effective limit follows (the fuse is 63 A), its source named.
      const m = await client.waitFor(status, isStatus((s) =>
        s.ems.source === 'ems' && near(s.ems.limit_a, c.limit) && s.limit &&
        near(s.limit.current_a, c.limit.map((x) => Math.round(x * 10) / 10)) &&
        s.limit.source.every((x) => x === 'ems')), { since: mark });
      assert.equal(m.json.online, true);
      assert.equal(m.json.ems.reason, 'limit');
      assert.equal(m.json.ems.power_w, c.power);
      assert.equal(m.json.ems.expires !== undefined, c.payload.ttl_s !== undefined);
    }
    // The broker keeps the latest status for new subscribers.
    const r = await retained(broker.url(), status);
    assert.deepEqual(r.json.ems.limit_a, [15.94, 15.94, 15.94]);
    assert.equal(r.json.ems.source, 'ems');
    assert.ok(Date.parse(r.json.ems.expires) > Date.now() + 200 * 1000);
    await finish(t);
  });

  itScoped('picks up a retained limit when it connects', async (sc) => {
    const t = await startEms(sc, broker, {}, {
      beforeStart: (client, prefix) => client.publish(`${prefix}/limit`,
        JSON.stringify({ max_current_a: [11, 12, 13] }), { retain: true }),
    });
    await t.gw.waitForLog(/ems: limit source=ems reason=limit l1=11 l2=12 l3=13 ttl_s=0 retained=1/);
    await t.client.waitFor(`${t.prefix}/status`, isStatus((s) =>
      s.ems.source === 'ems' && near(s.ems.limit_a, [11, 12, 13])));
    await t.client.publish(`${t.prefix}/limit`, '', { retain: true });	// clear it
    await finish(t);
  });

  itScoped('refuses every kind of invalid limit on limit/error and keeps the previous one', async (sc) => {
    const t = await startEms(sc, broker);
    const { gw, prefix, client } = t;
    await client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: [21, 22, 23] }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=21 l2=22 l3=23/);
    // (Its status may trail by up to 250 ms: the rate limit.)
    await client.waitFor(`${prefix}/status`, isStatus((s) => s.ems.limit_a[2] === 23));
    const since = gw.mark();

    const big = `{"max_current_a":20${' '.repeat(5000)}}`;
    const cases = [
      [Buffer.from('{"max_current_a":\u0000}'), /^not JSON: contains a NUL byte$/],
      [big, new RegExp(`^payload of ${big.length} bytes is larger than 4096$`)],
      ['', /^not JSON/],
      ['max_current_a=20', /^not JSON/],
      ['{"max_current_a":20', /^not JSON/],
      ['{"max_current_a":20} trailing', /^not JSON/],
      ['{"max_current_a":NaN}', /^not JSON/],
      ['[20,20,20]', /^not a JSON object, got an array$/],
      ['20', /^not a JSON object, got a number$/],
      ['{"max_current_a":20,"foo":1}', /^unknown key "foo"$/],
      ['{"max_current_a":20,"max_current_a":30}', /^duplicate key "max_current_a"$/],
      ['{"max_current_a":20,"max_power_w":9000}', /^both max_current_a and max_power_w given/],
      ['{}', /^neither max_current_a nor max_power_w given/],
      ['{"ttl_s":30}', /^neither max_current_a nor max_power_w given/],
      ['{"max_current_a":"20"}', /^max_current_a: expected a number or an array of 3 numbers, got a string$/],
      ['{"max_current_a":true}', /^max_current_a: expected a number or an array of 3 numbers, got a boolean$/],
      ['{"max_current_a":[20,"x",20]}', /^max_current_a\[1\]: expected a number, got a string$/],
      ['{"max_power_w":"9000"}', /^max_power_w: expected a number, got a string$/],
      ['{"max_current_a":20,"ttl_s":"60"}', /^ttl_s: expected a number, got a string$/],
      ['{"max_current_a":[20,20]}', /^max_current_a: expected 3 values \[L1, L2, L3\], got 2$/],
      ['{"max_current_a":[20,20,20,20]}', /^max_current_a: expected 3 values \[L1, L2, L3\], got 4$/],
      ['{"max_current_a":-1}', /^max_current_a: -1 is out of range 0\.\.10000 A$/],
      ['{"max_current_a":[20,20,10001]}', /^max_current_a\[2\]: 10001 is out of range 0\.\.10000 A$/],
      ['{"max_current_a":1e999}', /^max_current_a: inf is out of range/],
      ['{"max_power_w":-100}', /^max_power_w: -100 is out of range 0\.\.1e\+07 W$/],
      ['{"max_power_w":2e7}', /^max_power_w: 2e\+07 is out of range/],
      ['{"max_current_a":20,"ttl_s":0}', /^ttl_s: 0 is out of range 1\.\.86400 s$/],
      ['{"max_current_a":20,"ttl_s":100000}', /^ttl_s: 100000 is out of range 1\.\.86400 s$/],
    ];
    for (const [payload, why] of cases) {
      const mark = client.mark();
      await client.publish(`${prefix}/limit`, payload);
      const m = await client.waitFor(`${prefix}/limit/error`, () => true, { since: mark });
      assert.equal(m.retain, false);
      assert.deepEqual(Object.keys(m.json), ['error', 'payload'], m.text);
      assert.match(m.json.error, why, `payload ${payload}`);
      const text = payload.toString();
      if (text === big) assert.equal(m.json.payload, big.slice(0, 200) + '...');
      else if (Buffer.isBuffer(payload)) assert.equal(m.json.payload, '{"max_current_a":\\x00}');
      else assert.equal(m.json.payload, text);
    }
    // Logged at warn with the payload escaped, the first 10 of a burst
    // (each one was answered above); none changed the limit.
    const refused = gw.logs.slice(since).filter((l) => /warn  ems: limit refused /.test(l));
    assert.equal(refused.length, 10, refused.join('\n'));
    assert.match(refused[0], /error="not JSON: contains a NUL byte" payload="\{\\"max_current_a\\":\\\\x00\}" retained=0 not_logged=0$/);
    assert.match(refused[1], new RegExp(`error="payload of ${big.length} bytes is larger than 4096" payload="\\{.{180,}\\.\\.\\."`));
    assert.equal(gw.logs.slice(since).filter((l) => /ems: limit source=/.test(l)).length, 0);
    const r = await retained(broker.url(), `${prefix}/status`);
    assert.equal(r.json.ems.source, 'ems');
    assert.deepEqual(r.json.ems.limit_a, [21, 22, 23]);
    await finish(t);
  });

  itScoped('rate-limits the status, sends the latest, and does not repeat an identical one', async (sc) => {
    const t = await startEms(sc, broker);
    const { gw, prefix, client } = t;
    const status = `${prefix}/status`;
    await client.waitFor(status, isStatus((s) => s.online === true));
    // 20 limits in a burst: the first status goes out at once, the rest
    // are coalesced (at most one per 250 ms) into the latest.
    let mark = client.mark();
    for (let a = 1; a <= 20; a++) await client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: a }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=20 /);
    await client.waitFor(status, isStatus((s) => s.ems.limit_a[0] === 20), { since: mark });
    const burst = client.messages.slice(mark).filter((m) => m.topic === status);
    assert.ok(burst.length >= 1 && burst.length <= 10, `${burst.length} status messages for 20 limits`);
    assert.deepEqual(burst.at(-1).json.ems.limit_a, [20, 20, 20]);

    // A reload with nothing changed: the gateway publishes the same status
    // again, which is not re-sent, and the link stays up. The next status
    // seen is the one for the next limit.
    let since = gw.mark();
    gw.signal('SIGHUP');
    await gw.waitForLog(/config: reloaded /, { since });
    mark = client.mark();
    await client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 21 }));
    await client.waitFor(status, isStatus((s) => s.ems.limit_a[0] === 21), { since: mark });
    assert.equal(client.messages.slice(mark).filter((m) => m.topic === status).length, 1);
    assert.doesNotMatch(gw.logs.slice(since).join('\n'), /ems: (reconnecting|disconnected|connected)/);

    // The same limit again refreshes its timers but changes nothing.
    since = gw.mark();
    mark = client.mark();
    await client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 21 }));
    await gw.waitForLog(/ems: limit refreshed source=ems /, { since });
    await client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 22 }));
    await client.waitFor(status, isStatus((s) => s.ems.limit_a[0] === 22), { since: mark });
    assert.equal(client.messages.slice(mark).filter((m) => m.topic === status).length, 1);
    await finish(t);
  });

  itScoped('falls back to the failsafe when a limit\'s ttl_s runs out', async (sc) => {
    const t = await startEms(sc, broker);
    const { gw, prefix, client } = t;
    const mark = client.mark();
    const t0 = Date.now();
    await client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 25, ttl_s: 1 }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=25 l2=25 l3=25 ttl_s=1 /);
    await gw.waitForLog(/ems: limit source=failsafe reason=ttl_expired l1=16 l2=16 l3=16/, { ms: 5000 });
    assert.ok(Date.now() - t0 >= 900, 'not before the ttl');
    const m = await client.waitFor(`${prefix}/status`, isStatus((s) => s.ems.reason === 'ttl_expired'), { since: mark });
    assert.equal(m.json.ems.source, 'failsafe');
    assert.deepEqual(m.json.ems.limit_a, [16, 16, 16]);
    // A new valid limit takes over again.
    await client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 24 }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=24 /);
    await finish(t);
  });

  itScoped('falls back to the failsafe after mqtt.limit_timeout_s without a valid limit (slow: 10 s)', async (sc) => {
    const t = await startEms(sc, broker, { limit_timeout_s: 10 });
    const { gw, prefix, client } = t;
    await client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 30 }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=30 /);
    const t0 = Date.now();
    // Invalid payloads do not count as a sign of life.
    await client.publish(`${prefix}/limit`, '{"max_current_a":"30"}');
    await client.waitFor(`${prefix}/limit/error`);
    await gw.waitForLog(/ems: limit source=failsafe reason=limit_timeout l1=16 l2=16 l3=16/, { ms: 15000 });
    const waited = Date.now() - t0;
    assert.ok(waited >= 9000 && waited < 13000, `failsafe after ${waited} ms`);
    await client.waitFor(`${prefix}/status`, isStatus((s) => s.ems.reason === 'limit_timeout'));
    await finish(t);
  });

  itScoped('sends the last will {"online":false} when killed with -9', async (sc) => {
    const t = await startEms(sc, broker);
    const status = `${t.prefix}/status`;
    await t.client.waitFor(status, isStatus((s) => s.online === true));
    const mark = t.client.mark();
    await t.gw.kill('SIGKILL');
    const m = await t.client.waitFor(status, () => true, { since: mark });
    assert.equal(m.text, '{"online":false}');
    const r = await retained(broker.url(), status);
    assert.equal(r.text, '{"online":false}');
    await t.client.end();
  });

  itScoped('publishes {"online":false} on SIGTERM and exits 0', async (sc) => {
    const t = await startEms(sc, broker);
    const status = `${t.prefix}/status`;
    await t.client.waitFor(status, isStatus((s) => s.online === true));
    const mark = t.client.mark();
    const exit = await t.gw.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(t.gw.logs.join('\n'), /ems: disconnected broker=/);
    const m = await t.client.waitFor(status, () => true, { since: mark });
    assert.equal(m.text, '{"online":false}');
    const r = await retained(broker.url(), status);
    assert.equal(r.text, '{"online":false}');
    await t.client.end();
  });

  itScoped('takes evse/<n>/set and refuses bad ones on evse/<n>/set/error', async (sc) => {
    const t = await startEms(sc, broker);
    const { gw, prefix, client } = t;
    let since = gw.mark();
    await client.publish(`${prefix}/evse/3/set`, JSON.stringify({ max_current_a: 10, priority: 7 }));
    await gw.waitForLog(/ems: evse set evse=3 cap=set cap_a=10 priority=7/, { since });
    since = gw.mark();
    await client.publish(`${prefix}/evse/3/set`, JSON.stringify({ max_current_a: null }));
    await gw.waitForLog(/ems: evse set evse=3 cap=clear /, { since });

    const bad = [
      ['evse/3/set', '{"priority":5.5}', /^priority: expected an integer, got 5\.5$/],
      ['evse/3/set', '{"priority":101}', /^priority: 101 is out of range/],
      ['evse/3/set', '{"max_current_a":"10"}', /^max_current_a: expected a number or null, got a string$/],
      ['evse/3/set', '{"colour":"red"}', /^unknown key "colour"$/],
      ['evse/3/set', '{}', /^neither max_current_a nor priority given$/],
      ['evse/03/set', '{"priority":1}', /^topic: expected <prefix>\/evse\/<n>\/set with n from 1 to 10000$/],
      ['evse/0/set', '{"priority":1}', /^topic: /],
    ];
    for (const [sub, payload, why] of bad) {
      const mark = client.mark();
      await client.publish(`${prefix}/${sub}`, payload);
      const m = await client.waitFor(`${prefix}/${sub}/error`, () => true, { since: mark });
      assert.match(m.json.error, why);
      assert.equal(m.json.payload, payload);
    }
    await finish(t);
  });

  itScoped('moves to a new prefix on SIGHUP: offline on the old status, online on the new', async (sc) => {
    const t = await startEms(sc, broker);
    const { gw, prefix, client, cfg } = t;
    await client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 19 }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=19 /);
    const newPrefix = `${prefix}-moved`;
    await client.subscribe(`${newPrefix}/#`);
    const mark = client.mark();
    const since = gw.mark();
    cfg.mqtt.prefix = newPrefix;
    writeConfig(gw.configPath, cfg);
    gw.signal('SIGHUP');
    await gw.waitForLog(new RegExp(`ems: connected .*prefix=${newPrefix}$`), { since });
    await gw.waitForLog(new RegExp(`ems: subscribed topics=${newPrefix}/limit,`), { since });
    const off = await client.waitFor(`${prefix}/status`, () => true, { since: mark });
    assert.equal(off.text, '{"online":false}');
    // The limit in force stays across the move.
    const on = await client.waitFor(`${newPrefix}/status`, isStatus((s) => s.online === true), { since: mark });
    assert.equal(on.json.ems.source, 'ems');
    assert.deepEqual(on.json.ems.limit_a, [19, 19, 19]);
    // And the new limit topic is the one listened to.
    await client.publish(`${newPrefix}/limit`, JSON.stringify({ max_current_a: 17 }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=17 /, { since });
    await finish(t);
  });

  itScoped('reconnects after the broker stops and restarts, and republishes its retained status', async (sc) => {
    const own = await startBroker();
    sc.add(() => own.stop());
    const t = await startEms(sc, own);
    const { gw, prefix } = t;
    await t.client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 18 }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=18 /);
    await t.client.waitFor(`${prefix}/status`, isStatus((s) => s.ems.source === 'ems'));
    await t.client.end();

    const since = gw.mark();
    await own.stop();	// no persistence: every retained message is gone
    await gw.waitForLog(/ems: disconnected broker=127\.0\.0\.1:\d+ error=.* retry_in_ms=\d+/, { since });
    await own.restart();
    await gw.waitForLog(/ems: connected broker=/, { since, ms: 15000 });
    await gw.waitForLog(/ems: subscribed /, { since });

    // The status comes back (live if we subscribe first, retained after),
    // with the limit still in force: the outage was shorter than
    // limit_timeout_s.
    const c = await Client.connect(own.url());
    endLater(sc, c);
    await c.subscribe(`${prefix}/status`);
    const m = await c.waitFor(`${prefix}/status`, isStatus((s) => s.online === true));
    assert.equal(m.json.ems.source, 'ems');
    assert.deepEqual(m.json.ems.limit_a, [18, 18, 18]);
    await c.end();
    const r = await retained(own.url(), `${prefix}/status`);
    assert.equal(r.json.online, true);
    // And it listens again.
    const c2 = await Client.connect(own.url());
    endLater(sc, c2);
    t.client = c2;
    await c2.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 14 }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=14 /, { since });
    await finish(t);
  });

  // The broker listens on 127.0.0.1 only; its name resolves to ::1 first
  // (as the system resolver orders Debian's localhost), where nothing
  // listens. The name is one only the test's hosts file knows, so a
  // gateway that asks the system resolver does not get there at all.
  itScoped('tries every address of the broker\'s name: ::1 refused, then 127.0.0.1', async (sc) => {
    const name = 'broker.sitegate.test';
    const t = await startEms(sc, broker, { host: name },
      { hosts: [`::1 ${name}`, `127.0.0.1 ${name}`] });
    const { gw, prefix, client } = t;
    const port = broker.port;
    // A machine without IPv6 says unreachable instead of refused.
    await gw.waitForLog(new RegExp(`ems: \\[::1\\]:${port} (refused|unreachable \\(.*\\)), ` +
      `trying 127\\.0\\.0\\.1:${port}$`));
    await gw.waitForLog(new RegExp(`ems: connected broker=${name.replace(/\./g, '\\.')}:${port} tls=no `));
    assert.doesNotMatch(gw.logs.join('\n'), /ems: connect failed/);
    await client.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 12 }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=12 l2=12 l3=12 /);
    await finish(t);
  });
});

describe('ems link over TLS', { concurrency: true }, () => {
  let broker;
  let certs;
  before(async () => {
    const dir = tmpDir('sg-ems-tls-');
    certs = makeCerts(path.join(dir, 'certs'));
    const client = certs.client('sitegate-gw');
    certs.gw = client;
    const passwd = path.join(dir, 'passwd');
    fs.writeFileSync(passwd, '');
    require('node:child_process').execFileSync('/usr/bin/mosquitto_passwd',
      ['-b', passwd, 'gateway', 'secret-1'], { stdio: 'ignore' });
    broker = await startBroker({
      dir,
      lines: [
        `cafile ${certs.ca.cert}`,
        `certfile ${certs.server.cert}`,
        `keyfile ${certs.server.key}`,
        'require_certificate true',
        'allow_anonymous false',
        `password_file ${passwd}`,
      ],
    });
  });
  after(async () => { await broker.stop(); });

  // The test's own client speaks TLS with a certificate and the password.
  // It goes to the broker's address and checks the name localhost: on a
  // machine with Debian's hosts file, localhost is ::1 first, where this
  // broker does not listen (the gateway tries every address; the test's
  // client need not).
  function tlsUrl() { return `mqtts://127.0.0.1:${broker.port}`; }
  function tlsOpts() {
    return {
      servername: 'localhost',
      ca: fs.readFileSync(certs.ca.cert),
      cert: fs.readFileSync(certs.gw.cert),
      key: fs.readFileSync(certs.gw.key),
      username: 'gateway',
      password: 'secret-1',
    };
  }

  async function startTls(sc, mqtt, { hosts, ...opts } = {}) {
    const dir = tmpDir('sg-ems-');
    const cfg = baseConfig(dir);
    cfg.site_id = `ems-tls-${process.pid}-${++seq}`;
    cfg.mqtt = { host: 'localhost', port: broker.port, limit_timeout_s: 60, ...mqtt };
    const env = hosts ? hostsEnv(dir, hosts) : undefined;
    const gw = await startGateway(cfg, { dir, env, ...opts });
    stopLater(sc, gw);
    return { gw, prefix: `sitegate/${cfg.site_id}` };
  }

  const tls = () => ({ ca_file: certs.ca.cert, cert: certs.gw.cert, key: certs.gw.key });

  itScoped('connects with the CA, a client certificate and username/password', async (sc) => {
    const { gw, prefix } = await startTls(sc, { username: 'gateway', password: 'secret-1', tls: tls() });
    await gw.waitForLog(/ems: connected broker=localhost:\d+ tls=yes /);
    await gw.waitForLog(/ems: subscribed /);
    const c = await Client.connect(tlsUrl(), tlsOpts());
    endLater(sc, c);
    await c.subscribe(`${prefix}/status`);
    await c.waitFor(`${prefix}/status`, isStatus((s) => s.online === true));
    await c.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: [9, 8, 7] }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=9 l2=8 l3=7 /);
    await finish({ gw, client: c });
  });

  itScoped('refuses a wrong password and a broker certificate for another host, and retries', async (sc) => {
    const wrong = await startTls(sc, { username: 'gateway', password: 'wrong', tls: tls() });
    // A broker that presents a certificate (from the right CA) for
    // example.invalid, reached as localhost.
    const other = await startBroker({
      lines: [`certfile ${certs.wrongHost.cert}`, `keyfile ${certs.wrongHost.key}`, 'allow_anonymous true'],
    });
    sc.add(() => other.stop());
    const badHost = await startTls(sc, { port: other.port, tls: { ca_file: certs.ca.cert } });
    await wrong.gw.waitForLog(/ems: connect failed broker=localhost:\d+ error="connection refused: Connection Refused: not authori[sz]ed\.?" retry_in_ms=\d+/);
    await badHost.gw.waitForLog(/ems: connect failed broker=localhost:\d+ error=.*host name verification failed.* retry_in_ms=\d+/);
    // Retried with backoff, still on the failsafe.
    for (const g of [wrong.gw, badHost.gw]) {
      const since = g.mark();
      await g.waitForLog(/ems: connect failed /, { since, ms: 5000 });
      assert.doesNotMatch(g.logs.join('\n'), /ems: connected|ems: limit source=ems/);
    }
    for (const g of [wrong.gw, badHost.gw]) {
      const exit = await g.stop();
      assert.deepEqual(exit, { code: 0, signal: null });
    }
  });

  // Debian's case end to end: localhost is ::1, then 127.0.0.1, and the
  // broker listens on 127.0.0.1. The certificate is for localhost (and
  // 127.0.0.1): verified against the configured name on the second
  // address.
  itScoped('reaches the broker by the name localhost when ::1 comes first (Debian\'s hosts), over TLS', async (sc) => {
    const { gw, prefix } = await startTls(sc, { username: 'gateway', password: 'secret-1', tls: tls() },
      { hosts: ['::1 localhost', '127.0.0.1 localhost'] });
    const port = broker.port;
    await gw.waitForLog(new RegExp(`ems: \\[::1\\]:${port} (refused|unreachable \\(.*\\)), ` +
      `trying 127\\.0\\.0\\.1:${port}$`));
    await gw.waitForLog(/ems: connected broker=localhost:\d+ tls=yes /);
    await gw.waitForLog(/ems: subscribed /);
    const c = await Client.connect(tlsUrl(), tlsOpts());
    endLater(sc, c);
    await c.publish(`${prefix}/limit`, JSON.stringify({ max_current_a: 11 }));
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=11 /);
    await finish({ gw, client: c });
  });

  // The address connected to is 127.0.0.1 and the certificate is for
  // 127.0.0.1 only: it is still not a certificate for localhost, the name
  // configured.
  itScoped('verifies the configured name, not the address connected to', async (sc) => {
    const other = await startBroker({
      lines: [`certfile ${certs.ipOnly.cert}`, `keyfile ${certs.ipOnly.key}`, 'allow_anonymous true'],
    });
    sc.add(() => other.stop());
    const { gw } = await startTls(sc, { port: other.port, tls: { ca_file: certs.ca.cert } });
    await gw.waitForLog(/ems: connect failed broker=localhost:\d+ error=.*host name verification failed.* retry_in_ms=\d+/);
    assert.doesNotMatch(gw.logs.join('\n'), /ems: connected/);
    const exit = await gw.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});
