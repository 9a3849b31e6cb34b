'use strict';
// The OCPP-J transport of the real binary, toward chargers: subprotocols,
// HTTP Basic auth (profile 1), unknown and duplicate identities, raw frames
// that break the rules (each with the exact CALLERROR or close code), the
// handshake bounds, pings, idle and connection limits, reload and shutdown.
// TLS is in transport_tls.test.js, 200 chargers in transport_scale.test.js,
// the client side in transport_client.test.js.

const test = require('node:test');
const assert = require('node:assert/strict');
const { once } = require('node:events');
const { RPCClient } = require('ocpp-rpc');
const { tmpDir, baseConfig, writeConfig, startGateway } = require('./lib/gateway');
const { rawConnect, frame } = require('./lib/rawws');
const { ocpp21Validator } = require('./lib/ocpp21');

const BOOT = {
  'ocpp1.6': { chargePointVendor: 'Acme', chargePointModel: 'X1' },
  'ocpp2.0.1': { reason: 'PowerUp', chargingStation: { model: 'X1', vendorName: 'Acme' } },
  'ocpp2.1': { reason: 'PowerUp', chargingStation: { model: 'X1', vendorName: 'Acme' } },
};

function client(port, identity, opts = {}) {
  return new RPCClient({
    endpoint: `ws://127.0.0.1:${port}/ocpp`,
    identity,
    protocols: ['ocpp2.0.1', 'ocpp1.6'],
    strictMode: true,
    reconnect: false,
    callTimeoutMs: 5000,
    ...opts,
  });
}

// Boot and heartbeat; strict mode checks our answers against the schemas.
async function bootAndBeat(cli) {
  const boot = await cli.call('BootNotification', BOOT[cli.protocol]);
  assert.equal(boot.status, 'Accepted');
  assert.equal(boot.interval, 300);
  assert.ok(Math.abs(Date.parse(boot.currentTime) - Date.now()) < 60000);
  const hb = await cli.call('Heartbeat', {});
  assert.ok(Number.isFinite(Date.parse(hb.currentTime)));
}

async function stopClean(gw) {
  const r = await gw.stop();
  assert.deepEqual(r, { code: 0, signal: null }, gw.logs.slice(-30).join('\n'));
}

test('subprotocols: each one, both offered, 2.1 only when enabled', async () => {
  const gw = await startGateway(baseConfig(tmpDir()));
  try {
    for (const [offer, picked] of [
      [['ocpp1.6'], 'ocpp1.6'],
      [['ocpp2.0.1'], 'ocpp2.0.1'],
      [['ocpp1.6', 'ocpp2.0.1'], 'ocpp2.0.1'],
      [['ocpp2.0.1', 'ocpp1.6'], 'ocpp2.0.1'],
    ]) {
      const cli = client(gw.ocppPort, 'CP-01', { protocols: offer, password: 'password-CP-01-xyz' });
      await cli.connect();
      assert.equal(cli.protocol, picked, `offered ${offer}`);
      await bootAndBeat(cli);
      await cli.close();
    }
    // 2.1 is not enabled here: nothing in common. The handshake completes
    // without the header and the connection is closed at once.
    const mark = gw.mark();
    const only21 = client(gw.ocppPort, 'CP-01', { protocols: ['ocpp2.1'], password: 'password-CP-01-xyz' });
    await assert.rejects(only21.connect(), /no subprotocol/);
    await gw.waitForLog(/ocpp: no common subprotocol peer=127\.0\.0\.1:\d+ charger=CP-01 offered=ocpp2\.1/, { since: mark });

    const raw = await rawConnect(gw.ocppPort, { protocols: ['ocpp1.5'], password: 'password-CP-01-xyz' });
    await raw.response();
    assert.equal(raw.status(), 101);
    assert.doesNotMatch(raw.head, /sec-websocket-protocol/i);
    assert.equal((await raw.closeFrame()).code, 1002);
    raw.destroy();
  } finally {
    await stopClean(gw);
  }

  const cfg = baseConfig(tmpDir());
  cfg.ocpp.versions = ['ocpp2.1', 'ocpp2.0.1', 'ocpp1.6'];
  const gw21 = await startGateway(cfg);
  try {
    const cli = client(gw21.ocppPort, 'CP-02', {
      protocols: ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'], password: 'password-CP-02-xyz',
      strictModeValidators: [ocpp21Validator],
    });
    await cli.connect();
    assert.equal(cli.protocol, 'ocpp2.1');
    await bootAndBeat(cli);
    await cli.close();
  } finally {
    await stopClean(gw21);
  }
});

test('profile 1: Basic auth, AuthorizationKey bytes, unknown chargers', async () => {
  const cfg = baseConfig(tmpDir());
  const key = '0123456789abcdef0123456789ABCDEF01234567';
  cfg.chargers[1].password = key;
  const gw = await startGateway(cfg);
  try {
    // A charger that is connected throughout: bad peers must not touch it.
    const bystander = client(gw.ocppPort, 'CP-02', { password: Buffer.from(key, 'hex') });
    await bystander.connect();

    const good = client(gw.ocppPort, 'CP-01', { password: 'password-CP-01-xyz' });
    await good.connect();
    await bootAndBeat(good);
    await good.close();

    for (const [password, status] of [['password-CP-01-xyZ', 401], [undefined, 401], ['', 401]]) {
      const mark = gw.mark();
      const bad = client(gw.ocppPort, 'CP-01', password === undefined ? {} : { password });
      await assert.rejects(bad.connect(), (e) => e.code === status);
      await gw.waitForLog(new RegExp(`ocp?p?: handshake refused peer=127\\.0\\.0\\.1:\\d+ charger=CP-01 status=${status}`), { since: mark });
    }
    // The password never reaches the log.
    assert.ok(!gw.logs.some((l) => l.includes('password-CP-01')));

    // The 40-hex-digit key: as the 20 bytes it encodes, and as its text.
    const hexText = client(gw.ocppPort, 'CP-02', { password: key });
    await hexText.connect();
    // That replaced the bystander (same id); reconnect it as bytes.
    await hexText.close();
    const bytes = client(gw.ocppPort, 'CP-02', { password: Buffer.from(key, 'hex') });
    await bytes.connect();
    await bootAndBeat(bytes);

    // Someone else's password, a user name that is not the id.
    await assert.rejects(client(gw.ocppPort, 'CP-01', { password: 'password-CP-02-xyz' }).connect(),
      (e) => e.code === 401);
    const raw = await rawConnect(gw.ocppPort, {
      id: 'CP-01', protocols: ['ocpp1.6'],
      headers: [`Authorization: Basic ${Buffer.from('CP-02:password-CP-01-xyz').toString('base64')}`],
    });
    await raw.response();
    assert.equal(raw.status(), 401);
    assert.match(raw.head, /WWW-Authenticate: Basic/);
    await raw.closed();

    // Unknown charger: 404.
    const mark = gw.mark();
    await assert.rejects(client(gw.ocppPort, 'CP-99', { password: 'whatever-password' }).connect(),
      (e) => e.code === 404);
    await gw.waitForLog(/handshake refused peer=127\.0\.0\.1:\d+ charger=CP-99 status=404/, { since: mark });
    await bytes.call('Heartbeat', {});
    await bytes.close();
  } finally {
    await stopClean(gw);
  }

  const open = baseConfig(tmpDir());
  open.ocpp.allow_unknown_chargers = true;
  const gw2 = await startGateway(open);
  try {
    const stranger = client(gw2.ocppPort, 'CP-99');
    await stranger.connect();
    // Connected, but it waits as Pending until someone approves it.
    const boot = await stranger.call('BootNotification', BOOT[stranger.protocol]);
    assert.equal(boot.status, 'Pending');
    await stranger.close();
    // Known chargers still need their password.
    await assert.rejects(client(gw2.ocppPort, 'CP-01').connect(), (e) => e.code === 401);
  } finally {
    await stopClean(gw2);
  }
});

test('a second connection with the same id replaces the first', async () => {
  const gw = await startGateway(baseConfig(tmpDir()));
  try {
    const first = client(gw.ocppPort, 'CP-01', { password: 'password-CP-01-xyz' });
    await first.connect();
    const closed = once(first, 'close');
    const second = client(gw.ocppPort, 'CP-01', { password: 'password-CP-01-xyz', protocols: ['ocpp1.6'] });
    await second.connect();
    const [ev] = await closed;
    assert.equal(ev.code, 1000);
    assert.equal(ev.reason, 'replaced by a new connection');
    await gw.waitForLog(/ocpp: replacing connection charger=CP-01/);
    await bootAndBeat(second);
    await second.close();
  } finally {
    await stopClean(gw);
  }
});

const EXPECT = {
  'ocpp1.6': { framework: 'FormationViolation', format: 'FormationViolation' },
  'ocpp2.0.1': { framework: 'RpcFrameworkError', format: 'FormatViolation' },
};

for (const version of ['ocpp1.6', 'ocpp2.0.1']) {
  test(`raw messages on ${version}: the exact CALLERROR for each class`, async () => {
    const gw = await startGateway(baseConfig(tmpDir()));
    try {
      const ws = await rawConnect(gw.ocppPort, { protocols: [version], password: 'password-CP-01-xyz' });
      await ws.response();
      assert.equal(ws.status(), 101);
      assert.match(ws.head, new RegExp(`Sec-WebSocket-Protocol: ${version.replace(/\./g, '\\.')}\\r\\n`));
      const e = EXPECT[version];
      const cases = [
        ['[2,"t1","Heartbeat",{}', ['-1', e.framework]],            // truncated
        ['{"messageTypeId":2}', ['-1', e.framework]],                // not an array
        ['["2","s1","Heartbeat",{}]', ['-1', e.framework]],          // type not a number
        ['[2,42,"Heartbeat",{}]', ['-1', e.framework]],              // id not a string
        ['[2,"c1","Heartbeat"]', ['c1', e.framework]],               // element missing
        ['[2,"a1",{},{}]', ['a1', e.framework]],                     // action of the wrong type
        ['[2,"w1","Heartbeat",[]]', ['w1', e.format]],               // payload of the wrong type
        ['[2,"w2","Heartbeat","now"]', ['w2', e.format]],
        ['[2,"u1","Teleport",{}]', ['u1', 'NotImplemented']],        // unknown action
        // known to OCPP, but a charger's request no CSMS handles
        ['[2,"n1","CancelReservation",{"reservationId":1}]', ['n1', 'NotSupported']],
      ];
      for (const [text, [id, code]] of cases) {
        ws.text(text);
        const got = await ws.nextText();
        assert.equal(got[0], 4, text);
        assert.equal(got[1], id, text);
        assert.equal(got[2], code, text);
        assert.equal(typeof got[3], 'string');
        assert.deepEqual(got[4], {});
      }
      // Unknown message type: 1.6 ignores it, 2.0.1 says so.
      ws.text('[8,"x1","Heartbeat",{}]');
      if (version === 'ocpp2.0.1') {
        const got = await ws.nextText();
        assert.deepEqual(got.slice(0, 3), [4, 'x1', 'MessageTypeNotSupported']);
      }
      // A heartbeat in two fragments, then one split across TCP writes.
      ws.send(1, '[2,"h1","Heart', { fin: false });
      ws.send(0, 'beat",{}]');
      let got = await ws.nextText();
      assert.deepEqual(got.slice(0, 2), [3, 'h1']);
      assert.ok(Number.isFinite(Date.parse(got[2].currentTime)));
      const f = frame(1, '[2,"h2","Heartbeat",{}]');
      ws.raw(f.subarray(0, 5));
      await new Promise((r) => setImmediate(r));
      ws.raw(f.subarray(5));
      got = await ws.nextText();
      assert.deepEqual(got.slice(0, 2), [3, 'h2']);
      // Answers to calls we never made are logged and dropped.
      const mark = gw.mark();
      ws.text('[3,"nobody",{}]');
      await gw.waitForLog(/response to no pending call dropped charger=CP-01 id=nobody/, { since: mark });
      ws.destroy();
    } finally {
      await stopClean(gw);
    }
  });
}

test('raw frames that end the connection, each with its close code', async () => {
  const gw = await startGateway(baseConfig(tmpDir()));
  try {
    const bystander = client(gw.ocppPort, 'CP-02', { password: 'password-CP-02-xyz' });
    await bystander.connect();
    const big = '[2,"b1","DataTransfer",{"vendorId":"' + 'x'.repeat(70000) + '"}]';
    const cases = [
      ['binary frame', (ws) => ws.send(2, Buffer.from('[2,"1","Heartbeat",{}]')), 1003],
      ['message over max_message_bytes', (ws) => ws.text(big), 1009],
      ['fragments over max_message_bytes', (ws) => {
        ws.send(1, big.slice(0, 40000), { fin: false });
        ws.send(0, big.slice(40000));
      }, 1009],
      ['text that is not UTF-8', (ws) => ws.send(1, Buffer.from([0x5b, 0x32, 0xff, 0xfe, 0x5d])), 1007],
      ['UTF-8 cut in the middle', (ws) => ws.send(1, Buffer.from([0x5b, 0xe2, 0x82])), 1007],
      ['unmasked frame', (ws) => ws.send(1, '[2,"1","Heartbeat",{}]', { mask: false }), 1002],
      ['reserved bits', (ws) => ws.send(1, '[]', { rsv: 4 }), 1002],
      ['unknown opcode', (ws) => ws.send(5, '[]'), 1002],
      ['continuation without a start', (ws) => ws.send(0, '[]'), 1002],
      ['control frame over 125 bytes', (ws) => ws.send(9, Buffer.alloc(126)), 1002],
    ];
    for (const [name, act, code] of cases) {
      const ws = await rawConnect(gw.ocppPort, { protocols: ['ocpp2.0.1'], password: 'password-CP-01-xyz' });
      await ws.response();
      assert.equal(ws.status(), 101, name);
      act(ws);
      const c = await ws.closeFrame();
      assert.equal(c.code, code, name);
      await ws.closed();
    }
    // Through all of it the other charger was served.
    await bootAndBeat(bystander);
    await bystander.close();
  } finally {
    await stopClean(gw);
  }
});

test('handshake bounds: size, time, version, path; a stalled peer costs only itself', async () => {
  const cfg = baseConfig(tmpDir());
  cfg.ocpp.handshake_timeout_s = 1;
  const gw = await startGateway(cfg);
  try {
    const bystander = client(gw.ocppPort, 'CP-02', { password: 'password-CP-02-xyz' });
    await bystander.connect();

    const stalled = await rawConnect(gw.ocppPort, { request: 'GET /ocpp/CP-01 HTTP/1.1\r\nHost: x\r\n' });
    const mark = gw.mark();
    await bootAndBeat(bystander);
    await stalled.closed(5000);
    assert.equal(stalled.head, null);
    await gw.waitForLog(/handshake timeout peer=127\.0\.0\.1:\d+/, { since: mark });

    const huge = await rawConnect(gw.ocppPort, {
      request: 'GET /ocpp/CP-01 HTTP/1.1\r\nHost: x\r\nX-Fill: ' + 'a'.repeat(9000) + '\r\n\r\n',
    });
    await huge.response();
    assert.equal(huge.status(), 431);

    for (const [opts, status] of [
      [{ headers: [], path: '/other/CP-01' }, 404],
      [{ path: '/ocpp/CP%3A01' }, 400],
      [{ path: '/ocpp/' + 'X'.repeat(49) }, 400],
      [{ request: 'POST /ocpp/CP-01 HTTP/1.1\r\nHost: x\r\n\r\n' }, 405],
      [{ request: 'GET /ocpp/CP-01 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n' +
        'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        'Sec-WebSocket-Version: 8\r\n\r\n' }, 426],
      [{ request: 'GET /ocpp/CP-01 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n' +
        'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n' }, 400],
    ]) {
      const ws = await rawConnect(gw.ocppPort, { protocols: ['ocpp1.6'], password: 'password-CP-01-xyz', ...opts });
      await ws.response();
      assert.equal(ws.status(), status, JSON.stringify(opts).slice(0, 80));
      if (status === 426) assert.match(ws.head, /Sec-WebSocket-Version: 13\r\n/);
      await ws.closed();
    }
    await bystander.call('Heartbeat', {});
    await bystander.close();
  } finally {
    await stopClean(gw);
  }
});

test('pings: a peer that does not answer is closed, one that does stays', async () => {
  const cfg = baseConfig(tmpDir());
  cfg.ocpp.ping_interval_s = 1;
  const gw = await startGateway(cfg);
  try {
    const alive = client(gw.ocppPort, 'CP-02', { password: 'password-CP-02-xyz', pingIntervalMs: 0 });
    await alive.connect();
    const mute = await rawConnect(gw.ocppPort, { protocols: ['ocpp1.6'], password: 'password-CP-01-xyz' });
    await mute.response();
    // It got pings and answered none.
    await mute.until(() => mute.frames.some((f) => f.opcode === 9), 5000, 'a ping');
    await gw.waitForLog(/ping timeout peer=127\.0\.0\.1:\d+ charger=CP-01/, { ms: 6000 });
    await mute.closed();
    // ocpp-rpc (ws) answered every ping: still connected after the same time.
    assert.equal(alive.state, RPCClient.OPEN);
    await alive.call('Heartbeat', {});
    await alive.close();
  } finally {
    await stopClean(gw);
  }
});

test('idle timeout and connection limit', async () => {
  const cfg = baseConfig(tmpDir());
  cfg.ocpp.idle_timeout_s = 1;
  cfg.ocpp.ping_interval_s = 0;
  cfg.ocpp.max_connections = 2;
  const gw = await startGateway(cfg);
  try {
    const a = client(gw.ocppPort, 'CP-01', { password: 'password-CP-01-xyz' });
    const b = client(gw.ocppPort, 'CP-02', { password: 'password-CP-02-xyz' });
    await a.connect();
    await b.connect();
    const mark = gw.mark();
    await assert.rejects(client(gw.ocppPort, 'CP-01', { password: 'password-CP-01-xyz' }).connect());
    await gw.waitForLog(/connection refused peer=127\.0\.0\.1:\d+ reason="too many connections" max=2/, { since: mark });
    // Nothing said for a second: closed with 1001.
    const [ev] = await once(a, 'close');
    assert.equal(ev.code, 1001);
    assert.equal(ev.reason, 'idle timeout');
    await b.close();
  } finally {
    await stopClean(gw);
  }
});

test('SIGHUP: new passwords for new connections, open ones kept; SIGTERM closes with 1001', async () => {
  const cfg = baseConfig(tmpDir());
  const gw = await startGateway(cfg);
  const kept = client(gw.ocppPort, 'CP-01', { password: 'password-CP-01-xyz' });
  await kept.connect();
  cfg.chargers[1].password = 'a-new-password-for-02';
  writeConfig(gw.configPath, cfg);
  const mark = gw.mark();
  gw.signal('SIGHUP');
  await gw.waitForLog(/ocpp: reconfigured chargers=2 connected=1/, { since: mark });
  await kept.call('Heartbeat', {});
  await assert.rejects(client(gw.ocppPort, 'CP-02', { password: 'password-CP-02-xyz' }).connect(),
    (e) => e.code === 401);
  const fresh = client(gw.ocppPort, 'CP-02', { password: 'a-new-password-for-02' });
  await fresh.connect();

  const closes = [once(kept, 'close'), once(fresh, 'close')];
  await stopClean(gw);
  for (const [ev] of await Promise.all(closes)) {
    assert.equal(ev.code, 1001);
    assert.equal(ev.reason, 'server shutting down');
  }
});

test('a port in use stops the second gateway at start with exit code 4', async () => {
  const first = await startGateway(baseConfig(tmpDir()));
  try {
    const cfg = baseConfig(tmpDir());
    cfg.ocpp.listen = `127.0.0.1:${first.ocppPort}`;
    const second = await startGateway(cfg, { waitReady: false });
    const exit = await second.exited;
    assert.equal(exit.code, 4);
    assert.ok(second.logs.some((l) => new RegExp(`ocpp: cannot start: cannot listen on 127\\.0\\.0\\.1:${first.ocppPort}: Address already in use`).test(l)),
      second.logs.join('\n'));
  } finally {
    await stopClean(first);
  }
});
