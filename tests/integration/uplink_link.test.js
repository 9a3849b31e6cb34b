'use strict';
// The uplink's link: security profiles 1-3 as a client (Basic auth; the
// server's certificate and host name checked against upstream.ca_file; a
// client certificate), refusals retried with backoff; and the EMS limit
// reported to a 2.0.1 upstream (NotifyChargingLimit when it moves by 10 % or
// 1 A, ClearedChargingLimit when it is lifted) with the uplink's state and
// outbox in the MQTT status document.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { tmpDir, startGateway } = require('./lib/gateway');
const { startUpstream } = require('./lib/upstream');
const { upConfig } = require('./lib/uplink_env');
const { makeCerts } = require('./lib/certs');
const { startBroker, Client } = require('./lib/broker');

const certs = makeCerts(path.join(tmpDir('sg-uplink-pki-'), 'pki'));
const PASSWORD = 'upstream-password-1';

test('profile 1: Basic auth with upstream.password; a wrong one is refused and retried', async () => {
  const up = await startUpstream({ protocol: 'ocpp1.6', password: PASSWORD });
  let gw = await startGateway(upConfig(tmpDir(), up, { password: PASSWORD }));
  try {
    await up.waitFor('BootNotification');
    assert.deepEqual(up.identities, ['SITE-1']);
    await gw.stop();
    gw = await startGateway(upConfig(tmpDir(), up, { password: 'another-password-1' }));
    await gw.waitForLog(/uplink: connect failed .*http_status=401/);
    const mark = gw.mark();
    await gw.waitForLog(/uplink: connect failed .*http_status=401/, { since: mark });
    assert.equal(up.of('BootNotification').length, 1);
  } finally {
    await gw.stop();
    await up.stop();
  }
});

test('profiles 2 and 3: the server certificate and host verified with ca_file; a client certificate', async () => {
  // profile 2: wss with a password
  let up = await startUpstream({ protocol: 'ocpp2.0.1', password: PASSWORD, tls: certs.server });
  let gw = await startGateway(upConfig(tmpDir(), up, { password: PASSWORD, ca_file: certs.ca.cert }));
  try {
    await up.waitFor('BootNotification');
    assert.match((await gw.waitForLog(/uplink: connected .*tls=(\w+)/))[0], /tls=yes/);
    await gw.stop();
    // a CA that did not sign the server's certificate: no connection
    gw = await startGateway(upConfig(tmpDir(), up, { password: PASSWORD, ca_file: certs.otherCa.cert }));
    await gw.waitForLog(/uplink: connect failed/);
    await gw.waitForLog(/uplink: reconnect in_ms=/);
    assert.equal(up.of('BootNotification').length, 1);
    await gw.stop();
    await up.stop();
    // profile 3: the upstream wants a client certificate signed by its CA
    up = await startUpstream({ protocol: 'ocpp2.0.1', tls: { ...certs.server, ca: certs.ca.cert } });
    const mine = certs.client('SITE-1');
    gw = await startGateway(upConfig(tmpDir(), up, { ca_file: certs.ca.cert, cert: mine.cert, key: mine.key }));
    await up.waitFor('BootNotification');
    await gw.stop();
    // without one: refused
    gw = await startGateway(upConfig(tmpDir(), up, { ca_file: certs.ca.cert }));
    await gw.waitForLog(/uplink: connect failed/);
    assert.equal(up.of('BootNotification').length, 1);
  } finally {
    await gw.stop();
    await up.stop();
  }
});

test('the EMS limit reported to a 2.0.1 upstream; the uplink in the MQTT status', async () => {
  const broker = await startBroker();
  const up = await startUpstream({ protocol: 'ocpp2.0.1' });
  const dir = tmpDir();
  const cfg = upConfig(dir, up);
  cfg.site_id = `uplink-${process.pid}`;
  cfg.mqtt = { host: '127.0.0.1', port: broker.port, limit_timeout_s: 60 };
  const prefix = `sitegate/${cfg.site_id}`;
  const client = await Client.connect(broker.url());
  await client.subscribe(`${prefix}/#`);
  const gw = await startGateway(cfg, { dir });
  try {
    await gw.waitForLog(/\bems: subscribed\b/);
    await gw.waitForLog(/uplink: link state=accepted/);
    const limit = (l) => client.publish(`${prefix}/limit`, JSON.stringify(l));
    await limit({ max_current_a: 20 });
    let n = await up.waitFor('NotifyChargingLimit');
    assert.equal(n.params.chargingLimit.chargingLimitSource, 'EMS');
    assert.equal(n.params.chargingSchedule[0].chargingSchedulePeriod[0].limit, 20);
    // not significant: no new notification
    await limit({ max_current_a: 20.5 });
    await gw.waitForLog(/ems: limit source=ems reason=limit l1=20\.5/);
    await limit({ max_current_a: 10, ttl_s: 1 });
    n = await up.waitFor((e) => e.action === 'NotifyChargingLimit' &&
      e.params.chargingSchedule[0].chargingSchedulePeriod[0].limit === 10);
    assert.equal(up.of('NotifyChargingLimit').length, 2);
    // the ttl runs out: the failsafe is not the EMS's limit any more
    await up.waitFor('ClearedChargingLimit');
    // the status document carries the uplink
    const st = await client.waitFor(`${prefix}/status`, (m) => m.json && m.json.uplink &&
      m.json.uplink.state === 'accepted');
    assert.equal(st.json.uplink.connected, true);
    assert.equal(st.json.uplink.outbox_depth, 0);
    assert.equal(st.json.uplink.outbox_oldest_age_s, 0);
    assert.deepEqual(up.failures, []);
  } finally {
    await gw.stop();
    await client.end();
    await up.stop();
    await broker.stop();
  }
});
