'use strict';
// Down commands: every request of the upstream CSMS (strict ocpp-rpc
// server; strict chargers) is routed to the right charger and EVSE, or
// answered from the gateway's own model and settings, and always answered:
// Accepted/Rejected/NotImplemented/NotSupported as the spec says; bad
// payloads get a CALLERROR naming the field. An upstream station limit
// lowers what the chargers get.

const test = require('node:test');
const assert = require('node:assert/strict');
const { tmpDir, startGateway } = require('./lib/gateway');
const { startUpstream } = require('./lib/upstream');
const { upConfig, charger, session, now } = require('./lib/uplink_env');

// Resolve once cli was sent action (the n-th time, 1-based).
async function got(cli, action, n = 1, ms = 10000) {
  const t0 = Date.now();
  while (!(cli.got[action] && cli.got[action].length >= n)) {
    if (Date.now() - t0 > ms) throw new Error(`charger never got ${action} #${n}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return cli.got[action][n - 1];
}

async function until(pred, what, ms = 10000) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// A raw CALL past the server's own strict checks; resolves to the answer frame.
function rawCall(up, action, payload) {
  const id = `raw-${Math.random().toString(16).slice(2)}`;
  return new Promise((resolve) => {
    const onMsg = ({ message, outbound }) => {
      if (outbound) return;
      const f = JSON.parse(message.toString());
      if (f[1] !== id) return;
      up.client.off('message', onMsg);
      resolve(f);
    };
    up.client.on('message', onMsg);
    up.client.sendRaw(JSON.stringify([2, id, action, payload]));
  });
}

const limitOf = (p) => {
  const cp = p.csChargingProfiles || p.chargingProfile;
  const sched = Array.isArray(cp.chargingSchedule) ? cp.chargingSchedule[0] : cp.chargingSchedule;
  return sched.chargingSchedulePeriod[sched.chargingSchedulePeriod.length - 1].limit;
};

for (const upVersion of ['ocpp1.6', 'ocpp2.0.1']) {
  test(`every down command of a ${upVersion} upstream routed and answered`, async () => {
    const v16 = upVersion === 'ocpp1.6';
    const up = await startUpstream({ protocol: upVersion });
    const dir = tmpDir();
    const gw = await startGateway(upConfig(dir, up, { meter_interval_s: 0 }), { dir });
    const clis = [];
    try {
      await gw.waitForLog(/uplink: link state=accepted/);
      const a = await charger(gw, 'CP-01', 'ocpp1.6');
      const b = await charger(gw, 'CP-02', 'ocpp2.0.1');
      clis.push(a, b);
      const statusOf = (e) => e.action === 'StatusNotification';
      const nums = [];
      const numbers = () => {
        nums.length = 0;
        for (const c of up.calls.filter(statusOf)) {
          const n = v16 ? c.params.connectorId : c.params.evseId;
          if (n > 0 && !nums.includes(n)) nums.push(n);
        }
        return nums.length === 2;
      };
      await up.waitFor(numbers);
      const [nA, nB] = nums;
      assert.ok(nA > 0 && nB > 0 && nA !== nB, `numbers ${nums}`);

      // Remote start on CP-02's EVSE; an EVSE that does not exist.
      let r = v16
        ? await up.call('RemoteStartTransaction', { connectorId: nB, idTag: 'REMOTE-1' })
        : await up.call('RequestStartTransaction', { evseId: nB, remoteStartId: 7, idToken: { idToken: 'REMOTE-1', type: 'Central' } });
      assert.equal(r.status, 'Accepted');
      const rs = await got(b, 'RequestStartTransaction');
      assert.equal(rs.evseId, 1);
      assert.equal(rs.idToken.idToken, 'REMOTE-1');
      r = v16
        ? await up.call('RemoteStartTransaction', { connectorId: 99, idTag: 'REMOTE-1' })
        : await up.call('RequestStartTransaction', { evseId: 99, remoteStartId: 8, idToken: { idToken: 'REMOTE-1', type: 'Central' } });
      assert.equal(r.status, 'Rejected');

      // A session on CP-01, stopped from upstream by the upstream's id.
      const s = session(a, 1, '04A2B3C4D5');
      await s.start(100);
      const start = await up.waitFor(v16 ? 'StartTransaction' : 'TransactionEvent');
      // The upstream's handler has the start, but ocpp-rpc may send the
      // next CALL before that handler's CALLRESULT: wait until the gateway
      // has recorded the answer (the 1.6 transaction id) before using it.
      await gw.waitForLog(/uplink: acknowledged seq=\d+ action=(StartTransaction|TransactionEvent)/);
      const upTx = v16 ? 1000 : start.params.transactionInfo.transactionId;
      r = v16 ? await up.call('RemoteStopTransaction', { transactionId: upTx })
        : await up.call('RequestStopTransaction', { transactionId: upTx });
      assert.equal(r.status, 'Accepted');
      assert.equal((await got(a, 'RemoteStopTransaction')).transactionId, s.txId);
      r = v16 ? await up.call('RemoteStopTransaction', { transactionId: 4242 })
        : await up.call('RequestStopTransaction', { transactionId: 'nope' });
      assert.equal(r.status, 'Rejected');

      // The upstream's station limit lowers what the charging EVSE gets.
      // the dynamic profiles (stack level 1) of CP-01 from index k on
      const dynamic = (k) => (a.got.SetChargingProfile || []).slice(k)
        .filter((p) => (p.csChargingProfiles || p.chargingProfile).stackLevel === 1);
      await until(() => dynamic(0).some((p) => limitOf(p) > 10), 'a dynamic profile above 10 A');
      const nProfiles = a.got.SetChargingProfile.length;
      r = v16
        ? await up.call('SetChargingProfile', { connectorId: 0, csChargingProfiles: {
          chargingProfileId: 1, stackLevel: 0, chargingProfilePurpose: 'ChargePointMaxProfile',
          chargingProfileKind: 'Absolute', chargingSchedule: { startSchedule: now(), chargingRateUnit: 'A',
            chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] } } })
        : await up.call('SetChargingProfile', { evseId: 0, chargingProfile: {
          id: 1, stackLevel: 0, chargingProfilePurpose: 'ChargingStationMaxProfile',
          chargingProfileKind: 'Absolute', chargingSchedule: [{ id: 1, startSchedule: now(),
            chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] }] } });
      assert.equal(r.status, 'Accepted');
      await gw.waitForLog(/control: allocated .*limit=10\.0\/10\.0\/10\.0/);
      await until(() => dynamic(nProfiles).some((p) => limitOf(p) <= 10), 'a dynamic profile at most 10 A');
      // a cap on one EVSE; a TxProfile for an EVSE without a transaction
      r = await up.call('SetChargingProfile', v16
        ? { connectorId: nB, csChargingProfiles: { chargingProfileId: 2, stackLevel: 0,
          chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Relative',
          chargingSchedule: { chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 2300 }] } } }
        : { evseId: nB, chargingProfile: { id: 2, stackLevel: 0, chargingProfilePurpose: 'TxDefaultProfile',
          chargingProfileKind: 'Relative', chargingSchedule: [{ id: 2, chargingRateUnit: 'W',
            chargingSchedulePeriod: [{ startPeriod: 0, limit: 2300 }] }] } });
      assert.equal(r.status, 'Accepted');
      r = await up.call('SetChargingProfile', v16
        ? { connectorId: nB, csChargingProfiles: { chargingProfileId: 3, stackLevel: 0, transactionId: 5,
          chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative',
          chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 8 }] } } }
        : { evseId: nB, chargingProfile: { id: 3, stackLevel: 0, transactionId: 'x', chargingProfilePurpose: 'TxProfile',
          chargingProfileKind: 'Relative', chargingSchedule: [{ id: 3, chargingRateUnit: 'A',
            chargingSchedulePeriod: [{ startPeriod: 0, limit: 8 }] }] } });
      assert.equal(r.status, 'Rejected');
      // GetCompositeSchedule from the allocation
      r = await up.call('GetCompositeSchedule', v16 ? { connectorId: 0, duration: 600 } : { evseId: 0, duration: 600 });
      assert.equal(r.status, 'Accepted');
      const sched = v16 ? r.chargingSchedule : r.schedule;
      assert.ok(sched.chargingSchedulePeriod[0].limit <= 10);
      r = await up.call('GetCompositeSchedule', v16 ? { connectorId: 99, duration: 600 } : { evseId: 99, duration: 600 });
      assert.equal(r.status, 'Rejected');
      r = await up.call('ClearChargingProfile', v16 ? { id: 1 } : { chargingProfileId: 1 });
      assert.equal(r.status, 'Accepted');
      await gw.waitForLog(/control: allocated .*limit=63\.0\/63\.0\/63\.0/);
      r = await up.call('ClearChargingProfile', v16 ? { id: 77 } : { chargingProfileId: 77 });
      assert.equal(r.status, 'Unknown');
      await s.stop(200);

      // Unlock, availability of one EVSE and of the whole site.
      r = await up.call('UnlockConnector', v16 ? { connectorId: nA } : { evseId: nA, connectorId: 1 });
      assert.equal(r.status, 'Unlocked');
      assert.equal((await got(a, 'UnlockConnector')).connectorId, 1);
      r = await up.call('ChangeAvailability', v16 ? { connectorId: nB, type: 'Inoperative' }
        : { operationalStatus: 'Inoperative', evse: { id: nB } });
      assert.equal(r.status, 'Accepted');
      assert.deepEqual((await got(b, 'ChangeAvailability')).evse, { id: 1 });
      r = await up.call('ChangeAvailability', v16 ? { connectorId: 0, type: 'Operative' }
        : { operationalStatus: 'Operative' });
      assert.equal(r.status, 'Accepted');
      await got(a, 'ChangeAvailability');
      await got(b, 'ChangeAvailability', 2);

      // TriggerMessage answered from the site model.
      let mark = up.calls.length;
      r = await up.call('TriggerMessage', v16 ? { requestedMessage: 'StatusNotification', connectorId: nA }
        : { requestedMessage: 'StatusNotification', evse: { id: nA } });
      assert.equal(r.status, 'Accepted');
      await up.waitFor((e) => statusOf(e) && (v16 ? e.params.connectorId : e.params.evseId) === nA, { since: mark });
      r = await up.call('TriggerMessage', { requestedMessage: 'Heartbeat' });
      assert.equal(r.status, 'Accepted');
      await up.waitFor('Heartbeat', { since: mark });
      r = await up.call('TriggerMessage', { requestedMessage: v16 ? 'DiagnosticsStatusNotification' : 'LogStatusNotification' });
      assert.equal(r.status, 'NotImplemented');

      // The gateway's own settings.
      if (v16) {
        r = await up.call('GetConfiguration', {});
        assert.ok(r.configurationKey.some((k) => k.key === 'HeartbeatInterval'));
        r = await up.call('ChangeConfiguration', { key: 'HeartbeatInterval', value: '120' });
        assert.equal(r.status, 'Accepted');
        r = await up.call('GetConfiguration', { key: ['HeartbeatInterval', 'Nope'] });
        assert.equal(r.configurationKey[0].value, '120');
        assert.deepEqual(r.unknownKey, ['Nope']);
        assert.equal((await up.call('ChangeConfiguration', { key: 'NumberOfConnectors', value: '9' })).status, 'Rejected');
        assert.equal((await up.call('ChangeConfiguration', { key: 'Foo', value: '1' })).status, 'NotSupported');
      } else {
        r = await up.call('SetVariables', { setVariableData: [
          { attributeValue: '120', component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } },
          { attributeValue: '1', component: { name: 'Nope' }, variable: { name: 'X' } }] });
        assert.deepEqual(r.setVariableResult.map((x) => x.attributeStatus), ['Accepted', 'UnknownComponent']);
        r = await up.call('GetVariables', { getVariableData: [
          { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } },
          { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'Nope' } }] });
        assert.equal(r.getVariableResult[0].attributeValue, '120');
        assert.equal(r.getVariableResult[1].attributeStatus, 'UnknownVariable');
      }

      // The local list (used offline), DataTransfer, ClearCache.
      r = await up.call('SendLocalList', v16
        ? { listVersion: 3, updateType: 'Full', localAuthorizationList: [{ idTag: 'LL-1', idTagInfo: { status: 'Accepted' } }] }
        : { versionNumber: 3, updateType: 'Full', localAuthorizationList: [{ idToken: { idToken: 'LL-1', type: 'ISO14443' }, idTokenInfo: { status: 'Accepted' } }] });
      assert.equal(r.status, 'Accepted');
      r = await up.call('GetLocalListVersion', {});
      assert.equal(v16 ? r.listVersion : r.versionNumber, 3);
      assert.equal((await up.call('DataTransfer', { vendorId: 'com.example' })).status, 'UnknownVendorId');
      assert.equal((await up.call('ClearCache', {})).status, 'Accepted');

      // Not served: NotSupported; off-schema: a CALLERROR naming the field.
      await assert.rejects(up.call(v16 ? 'CancelReservation' : 'CancelReservation', { reservationId: 1 }),
        (e) => e.rpcErrorCode === 'NotSupported');
      let f = await rawCall(up, v16 ? 'RemoteStartTransaction' : 'RequestStartTransaction', {});
      assert.equal(f[0], 4);
      assert.equal(f[2], v16 ? 'OccurenceConstraintViolation' : 'OccurrenceConstraintViolation');
      assert.match(f[3], v16 ? /idTag/ : /idToken|remoteStartId/);
      f = await rawCall(up, 'Reset', { type: 'Sideways' });
      assert.equal(f[2], 'PropertyConstraintViolation');
      assert.match(f[3], /type/);

      // Reset of one EVSE's charger (2.0.1), then of the gateway itself.
      if (!v16) {
        r = await up.call('Reset', { type: 'Immediate', evseId: nA });
        assert.equal(r.status, 'Accepted');
        await got(a, 'Reset');
      }
      mark = up.calls.length;
      const connects = up.connects;
      r = await up.call('Reset', { type: v16 ? 'Soft' : 'OnIdle' });
      assert.equal(r.status, 'Accepted');
      await up.connected(connects + 1);
      await up.waitFor('BootNotification', { since: mark });
      assert.deepEqual(up.failures, []);
    } finally {
      for (const c of clis) await c.close({ force: true });
      await gw.stop();
      await up.stop();
    }
  });
}

test('an upstream station limit survives a restart of the gateway, with its schedule', async () => {
  const up = await startUpstream({ protocol: 'ocpp2.0.1' });
  const dir = tmpDir();
  let gw = await startGateway(upConfig(dir, up), { dir });
  try {
    await gw.waitForLog(/uplink: link state=accepted/);
    await up.connected();
    const start = new Date(Date.now() - 1000).toISOString();
    const r = await up.call('SetChargingProfile', { evseId: 0, chargingProfile: {
      id: 5, stackLevel: 0, chargingProfilePurpose: 'ChargingStationMaxProfile',
      chargingProfileKind: 'Absolute', chargingSchedule: [{ id: 1, startSchedule: start,
        chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 13800, numberPhases: 3 },
          { startPeriod: 3600, limit: 6900, numberPhases: 3 }] }] } });
    assert.equal(r.status, 'Accepted');
    // 13 800 W over 3 phases at 230 V: 20 A per phase
    await gw.waitForLog(/control: allocated .*limit=20\.0\/20\.0\/20\.0/);
    await gw.stop();
    gw = await startGateway(null, { dir });
    await gw.waitForLog(/uplink: charging profiles restored count=1/);
    await gw.waitForLog(/control: allocated .*limit=20\.0\/20\.0\/20\.0/);
  } finally {
    await gw.stop();
    await up.stop();
  }
});
