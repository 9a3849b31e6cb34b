'use strict';
// A simulated charger for the integration tests: an ocpp-rpc client in
// strict mode (every CALL it receives and every answer it gives is checked
// against the official schemas) that speaks OCPP 1.6J or 2.0.1 and behaves
// like a real charger does:
//
//  * boots, reports every connector/EVSE, answers capability discovery from
//    its own configuration store (1.6 keys / 2.0.1 device model), accepts
//    ChangeConfiguration/SetVariables it can honour and refuses the rest;
//  * EVSEs with 1 or 3 phases, an EV model (demand per phase in A), plug-in,
//    transactions (1.6 Authorize + StartTransaction / 2.0.1 TransactionEvent
//    with seqNo), stop, disconnect and reconnect;
//  * installs charging profiles as OCPP specifies (see the section
//    "profiles" below) and computes the effective limit of every EVSE at
//    any time;
//  * reports what the EV draws (min(limit, demand) per phase, 0 below the
//    6 A an EV needs) as MeterValues / TransactionEvent, periodically at the
//    interval the gateway configured and on demand;
//  * quirks of real chargers, as options.
//
// Every CALL received is logged with its answer (`log`), every CALL sent too
// (`sent`), and what a real charger would have found wrong but accepted is a
// `finding`. Tests wait on events (waitFor, nextProfile), never on time.
//
// Times: profile times are wall-clock (Date.now(), epoch ms) because
// profiles carry RFC 3339 times; log entries carry both `t`
// (performance.now(), for ordering) and `wall`.

const { EventEmitter } = require('node:events');
const { performance } = require('node:perf_hooks');
const { randomUUID } = require('node:crypto');
const { RPCClient, createRPCError, NOREPLY } = require('ocpp-rpc');

const V16 = 'ocpp1.6';
const V201 = 'ocpp2.0.1';

// The smallest current an EV charges at (IEC 61851-1 PWM minimum): a limit
// below it pauses the EV.
const EV_MIN_A = 6;

const PURPOSES = {
  ChargePointMaxProfile: 'max',
  ChargingStationMaxProfile: 'max',
  TxDefaultProfile: 'txdefault',
  TxProfile: 'tx',
  ChargingStationExternalConstraints: 'external',
};

const ALL_MEASURANDS = ['Current.Import', 'Current.Offered', 'Power.Active.Import',
  'Energy.Active.Import.Register', 'Voltage', 'SoC'];

const DAY_MS = 86400 * 1000;

function version(v) {
  if (v === '1.6' || v === V16) return V16;
  if (v === '2.0.1' || v === V201) return V201;
  throw new Error(`unknown OCPP version ${v}`);
}

const isoMs = (s) => (s == null ? null : Date.parse(s));
const iso = (ms) => new Date(ms).toISOString();
const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

// ------------------------------------------------------------ profiles
//
// A received profile, whatever its version, becomes
//   { id, evse, stackLevel, purpose: 'max'|'txdefault'|'tx'|'external',
//     kind, recurrency, validFrom, validTo (ms or null), txId (string|null),
//     schedule: { start (ms|null), duration (s|null), unit, periods:
//       [{ start (s), limit, phases|null, phaseToUse|null }] },
//     receivedAt, raw }
//
// The limit of one profile at time t (limitAt): none before validFrom or
// from validTo on; the schedule starts at startSchedule (Absolute; a 1.6
// profile without one starts when received), at the transaction's start
// (Relative; when received without a transaction), or at the latest
// startSchedule + k days/weeks not after t (Recurring); none before that
// start or from start + duration on; else the last period whose startPeriod
// has passed.
//
// The composite for an EVSE at t (composite): within a purpose the highest
// stackLevel that has a limit at t wins (a lower one applies while the
// higher has none); a TxProfile of the EVSE's running transaction overrides
// the TxDefaultProfile; the EVSE's own TxDefaultProfiles override those of
// EVSE 0; with neither, the EVSE's hardware maximum applies.
// ChargePointMax/ChargingStationMaxProfile caps the whole charger: every
// EVSE is capped at it, and when the EVSEs with a transaction would draw
// more on a phase than it allows, that phase's budget is shared among them,
// smallest demand first (max-min fair).

function normSchedule(s) {
  return {
    start: isoMs(s.startSchedule),
    duration: s.duration ?? null,
    unit: s.chargingRateUnit,
    periods: s.chargingSchedulePeriod.map((q) => ({
      start: q.startPeriod,
      limit: q.limit,
      phases: q.numberPhases ?? null,
      phaseToUse: q.phaseToUse ?? null,
    })),
  };
}

function normProfile(ver, evse, p, now) {
  const v16 = ver === V16;
  return {
    id: v16 ? p.chargingProfileId : p.id,
    evse,
    stackLevel: p.stackLevel,
    purpose: PURPOSES[p.chargingProfilePurpose],
    kind: p.chargingProfileKind,
    recurrency: p.recurrencyKind ?? null,
    validFrom: isoMs(p.validFrom),
    validTo: isoMs(p.validTo),
    txId: p.transactionId == null ? null : String(p.transactionId),
    schedule: normSchedule(v16 ? p.chargingSchedule : p.chargingSchedule[0]),
    nschedules: v16 ? 1 : p.chargingSchedule.length,
    receivedAt: now,
    raw: p,
  };
}

// When the schedule of profile p starts, as seen at time t (ms), for an
// EVSE whose transaction started at txStart (ms or null).
function scheduleStart(p, t, txStart) {
  const s = p.schedule;
  if (p.kind === 'Relative') return txStart ?? p.receivedAt;
  const base = s.start ?? p.receivedAt;
  if (p.kind === 'Recurring') {
    const period = p.recurrency === 'Weekly' ? 7 * DAY_MS : DAY_MS;
    if (t < base) return base;
    return base + Math.floor((t - base) / period) * period;
  }
  return base;
}

// The period of profile p in force at t, or null.
function limitAt(p, t, txStart) {
  if (p.validFrom != null && t < p.validFrom) return null;
  if (p.validTo != null && t >= p.validTo) return null;
  const start = scheduleStart(p, t, txStart);
  if (t < start) return null;
  const sec = (t - start) / 1000;
  if (p.schedule.duration != null && sec >= p.schedule.duration) return null;
  let cur = null;
  for (const q of p.schedule.periods) if (q.start <= sec) cur = q;
  return cur && { ...cur, unit: p.schedule.unit, profile: p };
}

// The highest stack level among profiles with a limit at t.
function pick(profiles, t, txStart) {
  const sorted = [...profiles].sort((a, b) => b.stackLevel - a.stackLevel);
  for (const p of sorted) {
    const q = limitAt(p, t, txStart);
    if (q) return q;
  }
  return null;
}

// Max-min fair share of one budget among demands (each capped at its own).
function share(budget, demands) {
  const out = new Array(demands.length);
  const order = demands.map((d, i) => i).sort((a, b) => demands[a] - demands[b]);
  let left = budget;
  order.forEach((i, k) => {
    out[i] = Math.min(demands[i], left / (order.length - k));
    left -= out[i];
  });
  return out;
}

// ------------------------------------------------------------ the charger

class SimCharger extends EventEmitter {
  // opts: id, version ('1.6'|'2.0.1'), port (the gateway's OCPP port) or
  // url (the endpoint without the id; default ws://127.0.0.1:<port>/ocpp),
  // password, evses (a count, or [{ phases, maxCurrentA }]), phases (1|3,
  // default 3), maxCurrentA (default 32), voltage (230), maxStackLevel (8),
  // maxPeriods (24), maxProfiles (32), rateUnits (['A','W']),
  // phaseSwitching (false), measurands (what the meter can sample; default
  // all the gateway asks for), meterIntervalS (initial sampling interval,
  // 0), periodicMeter (true: report at the configured interval),
  // reportPause (true: tell the gateway SuspendedEVSE / Charging when the
  // limit pauses or resumes the EV), quirks: { rejectTxProfile,
  // rejectTxDefaultProfile, onlyW, onlyA, onlyStackLevel0,
  // ignoreNumberPhases, rejectAll, callErrorOnSetProfile,
  // noAnswerSetProfile, answerDelayMs (apply and answer SetChargingProfile
  // this late) }, strict (true), callTimeoutMs (10000),
  // vendor/model.
  constructor(opts) {
    super();
    this.id = opts.id;
    this.version = version(opts.version || V16);
    this.opts = opts;
    this.quirks = opts.quirks || {};
    this.voltage = opts.voltage ?? 230;
    const n = opts.evses ?? 1;
    const list = typeof n === 'number' ? Array.from({ length: n }, () => ({})) : n;
    this.evses = list.map((e, i) => ({
      id: i + 1,
      phases: e.phases ?? opts.phases ?? 3,
      maxCurrentA: e.maxCurrentA ?? opts.maxCurrentA ?? 32,
      ev: null,			// { demandA: [l1, l2, l3], phases }
      tx: null,			// { id, startedAt, seqNo, idTag }
      status: 'Available',
      energyWh: 0,
      drawW: 0,
      drawAt: Date.now(),
    }));
    this.caps = {
      maxStackLevel: this.quirks.onlyStackLevel0 ? 0 : (opts.maxStackLevel ?? 8),
      maxPeriods: opts.maxPeriods ?? 24,
      maxProfiles: opts.maxProfiles ?? 32,
      rateUnits: this.quirks.onlyW ? ['W'] : this.quirks.onlyA ? ['A'] : (opts.rateUnits || ['A', 'W']),
      phaseSwitching: !!opts.phaseSwitching,
      measurands: opts.measurands || ALL_MEASURANDS,
    };
    this.config = {
      measurands: ['Energy.Active.Import.Register'],
      intervalS: opts.meterIntervalS ?? 0,
      heartbeatS: 300,
    };
    this.profiles = [];
    this.log = [];			// CALLs received, with their answers
    this.sent = [];			// CALLs sent, with their results
    this.findings = [];
    this.waiters = [];
    this.byMsgId = new Map();
    this.afterReply = new Map();
    this.client = null;
    this.timer = null;
    this.localListVersion = 0;
    this.bootStatus = null;
  }

  // ---------------------------------------------------------- connection

  endpoint() {
    return this.opts.url || `ws://127.0.0.1:${this.opts.port}/ocpp`;
  }

  async connect() {
    const cli = new RPCClient({
      endpoint: this.endpoint(),
      identity: this.id,
      protocols: [this.version],
      password: this.opts.password,
      strictMode: this.opts.strict !== false,
      reconnect: false,
      callTimeoutMs: this.opts.callTimeoutMs ?? 10000,
    });
    this.client = cli;
    cli.on('call', ({ outbound, payload }) => { if (!outbound) this.onCallIn(payload); });
    cli.on('response', ({ outbound, payload }) => { if (outbound) this.onAnswer(payload); });
    cli.on('strictValidationFailure', (e) => {
      if (!e.outbound) {
        this.finding(e.method, `schema: ${e.error.message}`, e.params);
      } else if (!e.isCall) {
        // Our own answer broke the schema: a bug in this harness.
        this.finding(e.method, `harness answer invalid: ${e.error.message}`, e.result);
      }
    });
    cli.on('close', () => { if (this.client === cli) this.stopTimer(); });
    this.installHandlers(cli);
    await cli.connect();
    this.startTimer();
    return this;
  }

  // Connect, boot, report every connector. Resolves to the boot answer.
  async start() {
    await this.connect();
    const r = await this.boot();
    if (r.status === 'Accepted') await this.reportStatus();
    return r;
  }

  async boot() {
    const r = this.version === V16
      ? await this.call('BootNotification', { chargePointVendor: this.opts.vendor || 'SimCo',
        chargePointModel: this.opts.model || 'Sim-AC', chargePointSerialNumber: `SN-${this.id}` })
      : await this.call('BootNotification', { reason: 'PowerUp',
        chargingStation: { model: this.opts.model || 'Sim-AC', vendorName: this.opts.vendor || 'SimCo',
          serialNumber: `SN-${this.id}` } });
    this.bootStatus = r.status;
    return r;
  }

  // Drop the connection (force: without a close handshake). Profiles,
  // transactions and the EV stay as they are, as in a real charger.
  async disconnect({ force = false } = {}) {
    const cli = this.client;
    this.stopTimer();
    if (cli) await cli.close({ code: 1000, force });
  }

  // Connect again and report every EVSE's status (chargers boot once per
  // power-up, not per connection).
  async reconnect() {
    await this.connect();
    await this.reportStatus();
  }

  async close() {
    this.stopTimer();
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`charger ${this.id} closed while waiting`));
    }
    if (this.client) await this.client.close({ code: 1000, force: true });
  }

  connected() { return this.client !== null && this.client.state === RPCClient.OPEN; }

  async call(action, params) {
    const entry = { t: performance.now(), wall: Date.now(), action, params };
    this.sent.push(entry);
    try {
      entry.result = await this.client.call(action, params);
      return entry.result;
    } catch (err) {
      entry.error = { code: err.rpcErrorCode, message: err.message };
      throw err;
    } finally {
      entry.doneAt = performance.now();
    }
  }

  // ---------------------------------------------------------- the log

  onCallIn(payload) {
    const [, msgId, action, params] = payload;
    const entry = { i: this.log.length, t: performance.now(), wall: Date.now(), msgId, action,
      params, evse: evseOf(this.version, action, params), answer: undefined, answeredAt: null };
    this.log.push(entry);
    this.byMsgId.set(msgId, entry);
    this.emit('call', entry);
  }

  onAnswer(payload) {
    const entry = this.byMsgId.get(payload[1]);
    if (!entry) return;
    this.byMsgId.delete(payload[1]);
    entry.answer = payload[0] === 3 ? { result: payload[2] }
      : { error: { code: payload[2], message: payload[3] } };
    entry.status = entry.answer.result?.status ?? (entry.answer.error ? 'CALLERROR' : undefined);
    this.answered(entry);
    const fn = this.afterReply.get(payload[1]);
    if (fn) {
      this.afterReply.delete(payload[1]);
      fn();
    }
  }

  answered(entry) {
    entry.answeredAt = performance.now();
    this.emit('answered', entry);
    this.waiters = this.waiters.filter((w) => {
      if (entry.i < w.since || !w.pred(entry)) return true;
      clearTimeout(w.timer);
      w.resolve(entry);
      return false;
    });
  }

  finding(action, message, params) {
    const f = { t: performance.now(), action, message, params };
    this.findings.push(f);
    this.emit('finding', f);
  }

  // A position in the log of received CALLs.
  mark() { return this.log.length; }

  // The first received CALL at or after `since` (default: the next one)
  // for which pred(entry) holds, once it has been answered (or, for a CALL
  // never answered, once that was decided). entry: { action, params, evse,
  // answer: { result } | { error: { code, message } } | { none: true },
  // status, t, wall, answeredAt }.
  waitFor(pred, { since = this.log.length, ms = 15000 } = {}) {
    for (let i = since; i < this.log.length; i++) {
      const e = this.log[i];
      if (e.answer !== undefined && pred(e)) return Promise.resolve(e);
    }
    return new Promise((resolve, reject) => {
      const w = { pred, since, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`charger ${this.id}: no CALL matching ${pred} within ${ms} ms; last:\n` +
          this.log.slice(-10).map((e) => `  ${e.action} ${JSON.stringify(e.params).slice(0, 200)} -> ` +
            `${JSON.stringify(e.answer)}`).join('\n')));
      }, ms);
      this.waiters.push(w);
    });
  }

  // The next SetChargingProfile (optionally for one EVSE / purpose).
  nextProfile({ since, evse, purpose, ms } = {}) {
    return this.waitFor((e) => e.action === 'SetChargingProfile' &&
      (evse === undefined || e.evse === evse) &&
      (purpose === undefined || PURPOSES[profileOf(this.version, e.params).chargingProfilePurpose] === purpose ||
        profileOf(this.version, e.params).chargingProfilePurpose === purpose), { since, ms });
  }

  // ---------------------------------------------------------- handlers

  installHandlers(cli) {
    const v16 = this.version === V16;
    // ws may hand over several frames in one go, and ocpp-rpc calls a
    // handler at once: a StartTransaction answer and a TxProfile right
    // behind it would reach the handler before the answer's continuation
    // recorded the transaction. Yielding once lets earlier frames finish,
    // as a charger handles its messages in order.
    const h = (action, fn) => cli.handle(action, async (req) => {
      await new Promise((resolve) => setImmediate(resolve));
      return fn(req.params, req);
    });
    h('SetChargingProfile', async (p, req) => {
      // A slow charger applies the profile when it answers.
      if (this.quirks.answerDelayMs) await new Promise((resolve) => setTimeout(resolve, this.quirks.answerDelayMs));
      return this.onSetProfile(p, req);
    });
    h('ClearChargingProfile', (p) => this.onClearProfile(p));
    h('GetCompositeSchedule', (p) => this.onComposite(p));
    h('TriggerMessage', (p, req) => this.onTrigger(p, req));
    h('ChangeAvailability', () => ({ status: 'Accepted' }));
    h('ClearCache', () => ({ status: 'Accepted' }));
    h('Reset', () => ({ status: 'Rejected' }));	// a simulated charger does not reboot
    h('UnlockConnector', (p) => ({ status: this.evse(v16 ? p.connectorId : p.evseId) ? 'Unlocked'
      : (v16 ? 'NotSupported' : 'UnknownConnector') }));
    h('DataTransfer', () => ({ status: 'UnknownVendorId' }));
    h('GetLocalListVersion', () => ({ listVersion: this.localListVersion }));
    h('SendLocalList', (p) => { this.localListVersion = p.listVersion; return { status: 'Accepted' }; });
    if (v16) {
      h('GetConfiguration', (p) => this.onGetConfiguration(p));
      h('ChangeConfiguration', (p) => this.onChangeConfiguration(p));
      h('RemoteStartTransaction', (p, req) => this.onRemoteStart(p.connectorId, p.idTag, p.chargingProfile, req));
      h('RemoteStopTransaction', (p, req) => this.onRemoteStop(String(p.transactionId), req));
    } else {
      h('GetVariables', (p) => this.onGetVariables(p));
      h('SetVariables', (p) => this.onSetVariables(p));
      h('GetChargingProfiles', (p, req) => this.onGetProfiles(p, req));
      h('RequestStartTransaction', (p, req) => this.onRemoteStart(p.evseId, p.idToken.idToken,
        p.chargingProfile, req, p.remoteStartId));
      h('RequestStopTransaction', (p, req) => this.onRemoteStop(p.transactionId, req));
    }
    // Whatever else OCPP defines and this charger does not do.
    cli.handle(({ method }) => {
      throw createRPCError('NotSupported', `${method} is not supported by this charger`);
    });
  }

  reject(reason) {
    return this.version === V16 ? { status: 'Rejected' }
      : { status: 'Rejected', statusInfo: { reasonCode: reason.split(':')[0].slice(0, 20),
        additionalInfo: reason.slice(0, 512) } };
  }

  onSetProfile(params, req) {
    const entry = this.byMsgId.get(req.messageId);
    if (this.quirks.noAnswerSetProfile) {
      if (entry) {
        entry.answer = { none: true };
        entry.status = 'NOREPLY';
        this.byMsgId.delete(req.messageId);
        this.answered(entry);
      }
      return NOREPLY;
    }
    if (this.quirks.callErrorOnSetProfile) throw createRPCError('InternalError', 'simulated failure');
    if (this.quirks.rejectAll) return this.reject('Quirk: rejects every profile');
    const v16 = this.version === V16;
    const evseId = v16 ? params.connectorId : params.evseId;
    const now = Date.now();
    const p = normProfile(this.version, evseId, v16 ? params.csChargingProfiles : params.chargingProfile, now);
    const why = this.checkProfile(p);
    if (entry) entry.profile = p;
    if (why) {
      if (entry) entry.reason = why;
      return this.reject(why);
    }
    // A 1.6 TxProfile without transactionId is for the running transaction.
    if (p.purpose === 'tx' && p.txId == null) p.txId = this.evse(evseId).tx.id;
    this.accumulate(now);
    this.profiles = this.profiles.filter((q) => !this.replaces(p, q));
    this.profiles.push(p);
    this.afterReply.set(req.messageId, () => this.refresh());
    return { status: 'Accepted' };
  }

  // Does new profile p replace installed q? Same id: always. 1.6 also
  // replaces the same stack level and purpose on the same connector.
  replaces(p, q) {
    if (p.id === q.id) return true;
    return this.version === V16 && p.stackLevel === q.stackLevel && p.purpose === q.purpose &&
      p.evse === q.evse;
  }

  // What a real charger checks beyond the schema; a reason to reject or
  // null. Some oddities are only findings.
  checkProfile(p) {
    const v16 = this.version === V16;
    const s = p.schedule;
    const evse = p.evse === 0 ? null : this.evse(p.evse);
    if (p.evse < 0 || (p.evse > 0 && !evse)) return `UnknownEVSE: ${p.evse}`;
    if (p.purpose === 'external') return 'InvalidProfile: ChargingStationExternalConstraints cannot be set by the CSMS';
    if (this.quirks.rejectTxProfile && p.purpose === 'tx') return 'Quirk: TxProfile not supported';
    if (this.quirks.rejectTxDefaultProfile && p.purpose === 'txdefault') return 'Quirk: TxDefaultProfile not supported';
    if (p.stackLevel < 0 || p.stackLevel > this.caps.maxStackLevel) {
      return `InvalidStackLevel: stackLevel ${p.stackLevel} above the maximum ${this.caps.maxStackLevel}`;
    }
    if (!this.caps.rateUnits.includes(s.unit)) return `UnsupportedRateUnit: ${s.unit} not accepted`;
    if (s.periods.length > this.caps.maxPeriods) {
      return `InvalidSchedule: ${s.periods.length} periods, at most ${this.caps.maxPeriods}`;
    }
    if (s.periods[0].start !== 0) return 'InvalidSchedule: the first startPeriod is not 0';
    for (let i = 1; i < s.periods.length; i++) {
      if (s.periods[i].start <= s.periods[i - 1].start) return 'InvalidSchedule: startPeriods not increasing';
    }
    for (const q of s.periods) {
      if (q.limit < 0) return 'InvalidSchedule: negative limit';
      if (q.phases != null && (q.phases < 1 || q.phases > 3)) return `InvalidSchedule: numberPhases ${q.phases}`;
      if (q.phaseToUse != null) {
        if (!this.caps.phaseSwitching) return 'InvalidSchedule: phaseToUse without phase switching';
        if (q.phases !== 1 || q.phaseToUse < 1 || q.phaseToUse > 3) return 'InvalidSchedule: phaseToUse needs numberPhases 1';
      }
      if (v16 && s.unit === 'A' && Math.abs(q.limit * 10 - Math.round(q.limit * 10)) > 1e-6) {
        this.finding('SetChargingProfile', `1.6 limit ${q.limit} A has more than one decimal`, p.raw);
      }
    }
    if (p.nschedules > 1) this.finding('SetChargingProfile', 'more than one chargingSchedule: only the first is used', p.raw);
    if (p.purpose === 'max' && p.evse !== 0) return 'InvalidProfile: a charger maximum profile must be on EVSE 0';
    if (p.purpose !== 'tx' && p.txId != null) return 'InvalidProfile: transactionId on a profile that is not a TxProfile';
    if (p.purpose === 'tx') {
      if (p.evse === 0) return 'InvalidProfile: TxProfile on EVSE 0';
      if (!evse.tx) return 'TxNotFound: no transaction on this EVSE';
      if (!v16 && p.txId == null) return 'InvalidProfile: TxProfile without transactionId';
      if (p.txId != null && p.txId !== evse.tx.id) return `TxNotFound: transaction ${p.txId} not running here`;
    }
    if (p.kind === 'Recurring' && !p.recurrency) return 'InvalidProfile: Recurring without recurrencyKind';
    if (p.kind === 'Relative' && s.start != null) {
      if (!v16) return 'InvalidSchedule: Relative with startSchedule';
      this.finding('SetChargingProfile', 'Relative profile with startSchedule (ignored)', p.raw);
    }
    if (p.kind !== 'Relative' && s.start == null) {
      if (!v16) return `InvalidSchedule: ${p.kind} without startSchedule`;
      this.finding('SetChargingProfile', `${p.kind} profile without startSchedule: starts when received`, p.raw);
    }
    if (p.validFrom != null && p.validTo != null && p.validFrom >= p.validTo) return 'InvalidProfile: validFrom not before validTo';
    if (p.validTo != null && p.validTo <= p.receivedAt) this.finding('SetChargingProfile', 'profile already expired', p.raw);
    const kept = this.profiles.filter((q) => !this.replaces(p, q));
    if (!v16) {
      const clash = kept.find((q) => q.stackLevel === p.stackLevel && q.purpose === p.purpose &&
        q.evse === p.evse && overlaps(p, q));
      if (clash) return `DuplicateProfile: profile ${clash.id} has the same stackLevel and purpose`;
    }
    if (kept.length + 1 > this.caps.maxProfiles) return `TooManyProfiles: at most ${this.caps.maxProfiles}`;
    return null;
  }

  onClearProfile(params) {
    const v16 = this.version === V16;
    const id = v16 ? params.id : params.chargingProfileId;
    const c = v16 ? params : (params.chargingProfileCriteria || {});
    const evse = v16 ? c.connectorId : c.evseId;
    const purpose = c.chargingProfilePurpose && PURPOSES[c.chargingProfilePurpose];
    const match = (p) => p.purpose !== 'external' && (id != null ? p.id === id
      : (evse == null || p.evse === evse) && (purpose == null || p.purpose === purpose) &&
        (c.stackLevel == null || p.stackLevel === c.stackLevel));
    const before = this.profiles.length;
    this.accumulate(Date.now());
    this.profiles = this.profiles.filter((p) => !match(p));
    if (this.profiles.length === before) return { status: 'Unknown' };
    setImmediate(() => this.refresh());
    return { status: 'Accepted' };
  }

  // ---------------------------------------------------------- limits

  evse(id) { return this.evses.find((e) => e.id === id) || null; }

  // The EVSE's own limit (without the charger maximum) at t:
  // { a (A per phase), phases (how many it uses), phaseIdx (which of the
  // charger's phases, 0-based), source (the profile or 'hardware') }.
  ownLimit(e, t) {
    const txStart = e.tx ? e.tx.startedAt : null;
    const mine = this.profiles.filter((p) => p.evse === e.id);
    let q = null;
    if (e.tx) q = pick(mine.filter((p) => p.purpose === 'tx' && p.txId === e.tx.id), t, txStart);
    if (!q) q = pick(mine.filter((p) => p.purpose === 'txdefault'), t, txStart);
    if (!q) q = pick(this.profiles.filter((p) => p.evse === 0 && p.purpose === 'txdefault'), t, txStart);
    if (!q) return { a: e.maxCurrentA, phases: e.phases, phaseIdx: [0, 1, 2].slice(0, e.phases), source: 'hardware' };
    const r = this.toAmps(e, q);
    r.a = Math.min(r.a, e.maxCurrentA);
    return r;
  }

  // One period's limit as A per phase on an EVSE, and the phases it uses:
  // numberPhases (unless the quirk ignores it), else the EVSE's, never
  // more than the EVSE has; W are divided by voltage and those phases.
  toAmps(e, q) {
    const asked = this.quirks.ignoreNumberPhases || q.phases == null ? e.phases : q.phases;
    const phases = Math.min(asked, e.phases);
    const a = q.unit === 'A' ? q.limit : q.limit / (this.voltage * phases);
    let phaseIdx = [0, 1, 2].slice(0, phases);
    if (phases === 1 && e.phases === 3 && q.phaseToUse && !this.quirks.ignoreNumberPhases) phaseIdx = [q.phaseToUse - 1];
    return { a, phases, phaseIdx, source: q.profile };
  }

  // Every EVSE's limit at t, the charger maximum applied.
  limits(t) {
    const own = this.evses.map((e) => this.ownLimit(e, t));
    const maxQ = pick(this.profiles.filter((p) => p.purpose === 'max'), t, null);
    if (!maxQ) return own;
    const chPhases = Math.max(...this.evses.map((e) => e.phases));
    const cap = maxQ.unit === 'A' ? maxQ.limit
      : maxQ.limit / (this.voltage * Math.min(chPhases, this.quirks.ignoreNumberPhases || maxQ.phases == null
        ? chPhases : maxQ.phases));
    const out = own.map((l) => ({ ...l, a: Math.min(l.a, cap) }));
    // Share the cap, per charger phase, among EVSEs with a transaction.
    for (let ph = 0; ph < 3; ph++) {
      const idx = this.evses.map((e, i) => i).filter((i) => this.evses[i].tx && out[i].phaseIdx.includes(ph));
      const sum = idx.reduce((s, i) => s + out[i].a, 0);
      if (sum <= cap + 1e-9) continue;
      const shares = share(cap, idx.map((i) => out[i].a));
      idx.forEach((i, k) => { out[i].a = Math.min(out[i].a, shares[k]); });
    }
    return out;
  }

  // The effective limit of EVSE evseId at atMs (default now):
  // { amps: [l1, l2, l3] on the charger's own phases, phases, limitA,
  //   source }.
  effectiveLimit(evseId, atMs = Date.now()) {
    const i = this.evses.findIndex((e) => e.id === evseId);
    if (i < 0) throw new Error(`charger ${this.id} has no EVSE ${evseId}`);
    const l = this.limits(atMs)[i];
    const amps = [0, 0, 0];
    for (const ph of l.phaseIdx) amps[ph] = round(l.a);
    return { amps, phases: l.phases, limitA: round(l.a), source: l.source === 'hardware' ? 'hardware'
      : { id: l.source.id, purpose: l.source.purpose, stackLevel: l.source.stackLevel } };
  }

  // What the EV on an EVSE draws per charger phase at t: min(limit,
  // demand) on the phases both use, nothing below EV_MIN_A or without a
  // transaction.
  draw(evseId, t = Date.now()) {
    const e = this.evse(evseId);
    const out = [0, 0, 0];
    if (!e.tx || !e.ev) return out;
    const l = this.limits(t)[this.evses.indexOf(e)];
    if (l.a < EV_MIN_A - 1e-9) return out;
    const evPhases = e.ev.phases ?? e.phases;
    for (const ph of l.phaseIdx.slice(0, evPhases)) {
      out[ph] = round(Math.min(l.a, e.ev.demandA[evPhases === 1 ? 0 : ph] ?? 0));
    }
    return out;
  }

  // Integrate energy up to t with the draw in force since the last call.
  accumulate(t = Date.now()) {
    for (const e of this.evses) {
      if (t > e.drawAt) e.energyWh += e.drawW * (t - e.drawAt) / 3600000;
      e.drawAt = t;
      e.drawW = this.draw(e.id, t).reduce((s, a) => s + a, 0) * this.voltage;
    }
  }

  // After a change of limits: tell the gateway when an EV pauses or
  // resumes because of the limit (as real chargers do).
  async refresh() {
    this.accumulate();
    if (this.opts.reportPause === false || !this.connected()) return;
    const t = Date.now();
    for (const e of this.evses) {
      if (!e.tx) continue;
      const next = this.chargingState(e, t);
      if (next === e.status) continue;
      e.status = next;
      try {
        await this.sendState(e, 'ChargingStateChanged');
      } catch { /* disconnected meanwhile */ }
    }
  }

  chargingState(e, t) {
    if (!e.ev) return 'Finishing';
    const l = this.limits(t)[this.evses.indexOf(e)];
    if (l.a < EV_MIN_A - 1e-9) return 'SuspendedEVSE';
    return Math.max(...e.ev.demandA) > 0 ? 'Charging' : 'SuspendedEV';
  }

  // ---------------------------------------------------------- composite

  onComposite(params) {
    const v16 = this.version === V16;
    const id = v16 ? params.connectorId : params.evseId;
    const e = this.evse(id);
    if (!e) return v16 ? { status: 'Rejected' } : this.reject('UnknownEVSE');
    const unit = params.chargingRateUnit || 'A';
    if (!this.caps.rateUnits.includes(unit)) return v16 ? { status: 'Rejected' } : this.reject('UnsupportedRateUnit');
    const now = Math.floor(Date.now() / 1000) * 1000;
    const end = now + params.duration * 1000;
    const points = new Set([now]);
    const add = (x) => { if (x != null && x > now && x < end) points.add(x); };
    for (const p of this.profiles) {
      add(p.validFrom);
      add(p.validTo);
      const start = scheduleStart(p, now, e.tx ? e.tx.startedAt : null);
      for (let k = 0; k < 8; k++) {
        const cycle = p.kind === 'Recurring' ? start + k * (p.recurrency === 'Weekly' ? 7 * DAY_MS : DAY_MS) : start;
        p.schedule.periods.forEach((q) => add(cycle + q.start * 1000));
        if (p.schedule.duration != null) add(cycle + p.schedule.duration * 1000);
        if (p.kind !== 'Recurring') break;
      }
    }
    const periods = [];
    for (const t of [...points].sort((a, b) => a - b)) {
      const l = this.limits(t)[this.evses.indexOf(e)];
      const limit = round(unit === 'A' ? l.a : l.a * this.voltage * l.phases, 1);
      const last = periods[periods.length - 1];
      if (last && last.limit === limit && last.numberPhases === l.phases) continue;
      periods.push({ startPeriod: Math.round((t - now) / 1000), limit, numberPhases: l.phases });
    }
    if (v16) {
      return { status: 'Accepted', connectorId: id, scheduleStart: iso(now), chargingSchedule: {
        duration: params.duration, startSchedule: iso(now), chargingRateUnit: unit, chargingSchedulePeriod: periods } };
    }
    return { status: 'Accepted', schedule: { evseId: id, duration: params.duration, scheduleStart: iso(now),
      chargingRateUnit: unit, chargingSchedulePeriod: periods } };
  }

  onGetProfiles(params, req) {
    const c = params.chargingProfile || {};
    const purpose = c.chargingProfilePurpose && PURPOSES[c.chargingProfilePurpose];
    const found = this.profiles.filter((p) => (params.evseId == null || p.evse === params.evseId) &&
      (purpose == null || p.purpose === purpose) && (c.stackLevel == null || p.stackLevel === c.stackLevel) &&
      (!c.chargingProfileId || c.chargingProfileId.includes(p.id)) &&
      (!c.chargingLimitSource || c.chargingLimitSource.includes('CSO')));
    if (!found.length) return { status: 'NoProfiles' };
    const evses = [...new Set(found.map((p) => p.evse))];
    this.afterReply.set(req.messageId, async () => {
      for (const [k, evseId] of evses.entries()) {
        await this.call('ReportChargingProfiles', { requestId: params.requestId, chargingLimitSource: 'CSO',
          evseId, tbc: k < evses.length - 1, chargingProfile: found.filter((p) => p.evse === evseId).map((p) => p.raw) })
          .catch(() => {});
      }
    });
    return { status: 'Accepted' };
  }

  // ---------------------------------------------------------- configuration

  // 1.6 configuration keys: name -> [value, readonly].
  keys16() {
    const c = this.caps;
    return {
      ChargeProfileMaxStackLevel: [String(c.maxStackLevel), true],
      ChargingScheduleAllowedChargingRateUnit: [c.rateUnits.map((u) => (u === 'A' ? 'Current' : 'Power')).join(','), true],
      ChargingScheduleMaxPeriods: [String(c.maxPeriods), true],
      MaxChargingProfilesInstalled: [String(c.maxProfiles), true],
      NumberOfConnectors: [String(this.evses.length), true],
      MeterValuesSampledData: [this.config.measurands.join(','), false],
      MeterValuesSampledDataMaxLength: [String(c.measurands.length), true],
      MeterValueSampleInterval: [String(this.config.intervalS), false],
      HeartbeatInterval: [String(this.config.heartbeatS), false],
      SupportedFeatureProfiles: ['Core,SmartCharging,RemoteTrigger,LocalAuthListManagement', true],
    };
  }

  onGetConfiguration(params) {
    const all = this.keys16();
    const wanted = params.key && params.key.length ? params.key : Object.keys(all);
    const configurationKey = [];
    const unknownKey = [];
    for (const k of wanted) {
      if (all[k]) configurationKey.push({ key: k, readonly: all[k][1], value: all[k][0] });
      else unknownKey.push(k);
    }
    return unknownKey.length ? { configurationKey, unknownKey } : { configurationKey };
  }

  onChangeConfiguration({ key, value }) {
    const all = this.keys16();
    if (!all[key]) return { status: 'NotSupported' };
    if (all[key][1]) return { status: 'Rejected' };
    return { status: this.setConfig(key, value) ? 'Accepted' : 'Rejected' };
  }

  // Apply a writable setting (1.6 key or 2.0.1 variable); false if the
  // value is not acceptable.
  setConfig(name, value) {
    if (name === 'MeterValuesSampledData' || name === 'TxUpdatedMeasurands') {
      const list = value.split(',').map((s) => s.trim()).filter(Boolean);
      if (!list.length || list.length > this.caps.measurands.length ||
        !list.every((m) => this.caps.measurands.includes(m))) return false;
      this.config.measurands = list;
      return true;
    }
    if (/^\d+$/.test(value) === false) return false;
    if (name === 'MeterValueSampleInterval' || name === 'TxUpdatedInterval') {
      this.config.intervalS = Number(value);
      this.startTimer();
      return true;
    }
    if (name === 'HeartbeatInterval' || name === 'Interval') {
      this.config.heartbeatS = Number(value);
      return true;
    }
    return false;
  }

  // 2.0.1 device model: 'Component.Variable[instance]' -> [value | fn,
  // mutability]. Entries[ChargingProfiles] is the number installed now
  // (its maximum is the variable's maxLimit characteristic, which
  // GetVariables does not return).
  vars201() {
    const c = this.caps;
    return {
      'SmartChargingCtrlr.Enabled': ['true', 'ReadWrite'],
      'SmartChargingCtrlr.Available': ['true', 'ReadOnly'],
      'SmartChargingCtrlr.RateUnit': [c.rateUnits.join(','), 'ReadOnly'],
      'SmartChargingCtrlr.ProfileStackLevel': [String(c.maxStackLevel), 'ReadOnly'],
      'SmartChargingCtrlr.PeriodsPerSchedule': [String(c.maxPeriods), 'ReadOnly'],
      'SmartChargingCtrlr.Entries[ChargingProfiles]': [String(this.profiles.length), 'ReadOnly'],
      'SmartChargingCtrlr.ACPhaseSwitchingSupported': [String(c.phaseSwitching), 'ReadOnly'],
      'SampledDataCtrlr.Enabled': ['true', 'ReadWrite'],
      'SampledDataCtrlr.TxUpdatedMeasurands': [this.config.measurands.join(','), 'ReadWrite'],
      'SampledDataCtrlr.TxUpdatedInterval': [String(this.config.intervalS), 'ReadWrite'],
      'SampledDataCtrlr.TxEndedMeasurands': ['Energy.Active.Import.Register', 'ReadWrite'],
      'OCPPCommCtrlr.HeartbeatInterval': [String(this.config.heartbeatS), 'ReadWrite'],
    };
  }

  lookup201(component, variable) {
    const all = this.vars201();
    const name = `${component.name}.${variable.name}${variable.instance ? `[${variable.instance}]` : ''}`;
    if (!Object.keys(all).some((k) => k.startsWith(`${component.name}.`))) return { status: 'UnknownComponent' };
    if (!all[name]) return { status: 'UnknownVariable' };
    return { status: 'Accepted', name, value: all[name][0], mutability: all[name][1] };
  }

  onGetVariables({ getVariableData }) {
    return {
      getVariableResult: getVariableData.map((d) => {
        const r = this.lookup201(d.component, d.variable);
        const base = { component: d.component, variable: d.variable };
        if (d.attributeType && d.attributeType !== 'Actual') {
          return { attributeStatus: 'NotSupportedAttributeType', attributeType: d.attributeType, ...base };
        }
        if (r.status !== 'Accepted') return { attributeStatus: r.status, ...base };
        return { attributeStatus: 'Accepted', attributeType: 'Actual', attributeValue: r.value, ...base };
      }),
    };
  }

  onSetVariables({ setVariableData }) {
    return {
      setVariableResult: setVariableData.map((d) => {
        const r = this.lookup201(d.component, d.variable);
        const base = { attributeType: d.attributeType || 'Actual', component: d.component, variable: d.variable };
        if (d.attributeType && d.attributeType !== 'Actual') return { attributeStatus: 'NotSupportedAttributeType', ...base };
        if (r.status !== 'Accepted') return { attributeStatus: r.status, ...base };
        if (r.mutability === 'ReadOnly') return { attributeStatus: 'Rejected', ...base };
        if (d.variable.name === 'Enabled') return { attributeStatus: d.attributeValue === 'true' ? 'Accepted' : 'Rejected', ...base };
        const ok = this.setConfig(d.variable.name === 'HeartbeatInterval' ? 'Interval' : d.variable.name, d.attributeValue);
        return { attributeStatus: ok ? 'Accepted' : 'Rejected', ...base };
      }),
    };
  }

  // ---------------------------------------------------------- trigger

  onTrigger(params, req) {
    const v16 = this.version === V16;
    const evseId = v16 ? params.connectorId : params.evse?.id;
    if (evseId != null && evseId !== 0 && !this.evse(evseId)) return { status: 'Rejected' };
    const targets = evseId ? [this.evse(evseId)] : this.evses;
    const acts = {
      BootNotification: () => this.boot(),
      Heartbeat: () => this.call('Heartbeat', {}),
      StatusNotification: () => this.reportStatus(evseId ? [evseId] : undefined),
      MeterValues: () => this.reportMeter(evseId || undefined, { context: 'Trigger', plain: true }),
      TransactionEvent: async () => {
        for (const e of targets) if (e.tx) await this.sendState(e, 'Trigger');
      },
      FirmwareStatusNotification: () => this.call('FirmwareStatusNotification', { status: 'Idle' }),
      DiagnosticsStatusNotification: () => this.call('DiagnosticsStatusNotification', { status: 'Idle' }),
      LogStatusNotification: () => this.call('LogStatusNotification', { status: 'Idle' }),
    };
    const act = acts[params.requestedMessage];
    if (!act) return { status: 'NotImplemented' };
    this.afterReply.set(req.messageId, () => { act().catch(() => {}); });
    return { status: 'Accepted' };
  }

  // ---------------------------------------------------------- remote start/stop

  onRemoteStart(evseId, idTag, profile, req, remoteStartId) {
    const e = evseId ? this.evse(evseId) : this.evses.find((x) => !x.tx);
    if (!e || e.tx) return { status: 'Rejected' };
    this.afterReply.set(req.messageId, () => {
      this.startTransaction(e.id, { idTag, remoteStartId, profile }).catch(() => {});
    });
    return { status: 'Accepted' };
  }

  onRemoteStop(txId, req) {
    const e = this.evses.find((x) => x.tx && x.tx.id === txId);
    if (!e) return { status: 'Rejected' };
    this.afterReply.set(req.messageId, () => { this.stopTransaction(e.id, { reason: 'Remote' }).catch(() => {}); });
    return { status: 'Accepted' };
  }

  // ---------------------------------------------------------- EVs and sessions

  // Report the status of the given EVSEs (default all; 1.6 also connector 0).
  async reportStatus(ids) {
    const list = ids ? ids.map((i) => this.evse(i)) : this.evses;
    if (this.version === V16 && !ids) {
      await this.call('StatusNotification', { connectorId: 0, errorCode: 'NoError', status: 'Available' });
    }
    for (const e of list) await this.sendStatus(e);
  }

  async sendStatus(e) {
    if (this.version === V16) {
      await this.call('StatusNotification', { connectorId: e.id, errorCode: 'NoError', status: e.status,
        timestamp: iso(Date.now()) });
    } else {
      await this.call('StatusNotification', { timestamp: iso(Date.now()), evseId: e.id, connectorId: 1,
        connectorStatus: e.ev ? 'Occupied' : 'Available' });
    }
  }

  // Plug in an EV: { demandA: number | [l1, l2, l3], phases (default the
  // EVSE's) }.
  async plug(evseId, ev = {}) {
    const e = this.evse(evseId);
    this.accumulate();
    e.ev = { demandA: demand(ev.demandA ?? e.maxCurrentA), phases: ev.phases ?? e.phases };
    if (!e.tx) e.status = 'Preparing';
    if (this.connected()) await this.sendStatus(e);
  }

  // Change what the plugged EV asks for.
  async setDemand(evseId, demandA) {
    const e = this.evse(evseId);
    this.accumulate();
    e.ev.demandA = demand(demandA);
    await this.refresh();
  }

  // Start a transaction (plugging in a default EV first if none is).
  // Resolves to the transaction id (string).
  async startTransaction(evseId, { idTag = '04A2B3C4D5', ev, remoteStartId, profile } = {}) {
    const e = this.evse(evseId);
    if (e.tx) throw new Error(`EVSE ${evseId} already has transaction ${e.tx.id}`);
    if (!e.ev) await this.plug(evseId, ev);
    this.accumulate();
    const now = Date.now();
    if (this.version === V16) {
      await this.call('Authorize', { idTag });
      const r = await this.call('StartTransaction', { connectorId: e.id, idTag,
        meterStart: Math.round(e.energyWh), timestamp: iso(now) });
      e.tx = { id: String(r.transactionId), startedAt: now, idTag, status: r.idTagInfo.status };
    } else {
      await this.call('Authorize', { idToken: { idToken: idTag, type: 'ISO14443' } });
      e.tx = { id: randomUUID(), startedAt: now, idTag, seqNo: 0 };
      e.status = this.chargingState(e, now);
      const r = await this.call('TransactionEvent', { eventType: 'Started', timestamp: iso(now),
        triggerReason: remoteStartId != null ? 'RemoteStart' : 'Authorized', seqNo: e.tx.seqNo++,
        transactionInfo: { transactionId: e.tx.id, chargingState: state201(e.status),
          ...(remoteStartId != null ? { remoteStartId } : {}) },
        evse: { id: e.id, connectorId: 1 }, idToken: { idToken: idTag, type: 'ISO14443' },
        meterValue: [this.meterValue(e, now, 'Transaction.Begin', ['Energy.Active.Import.Register'])] });
      e.tx.status = r.idTokenInfo?.status;
    }
    if (profile) {
      // RemoteStart with a TxProfile: installed for the new transaction.
      const p = normProfile(this.version, e.id, profile, now);
      p.txId = e.tx.id;
      if (!this.checkProfile(p)) {
        this.profiles = this.profiles.filter((q) => !this.replaces(p, q));
        this.profiles.push(p);
      }
    }
    this.accumulate();
    if (this.version === V16) {
      e.status = this.chargingState(e, Date.now());
      await this.sendStatus(e);
    }
    return e.tx.id;
  }

  // Stop the transaction; its TxProfiles go with it. The EV stays plugged
  // unless unplug is set.
  async stopTransaction(evseId, { reason = 'Local', unplug = false } = {}) {
    const e = this.evse(evseId);
    if (!e.tx) throw new Error(`EVSE ${evseId} has no transaction`);
    this.accumulate();
    const tx = e.tx;
    const now = Date.now();
    e.tx = null;
    this.profiles = this.profiles.filter((p) => !(p.purpose === 'tx' && p.evse === e.id));
    this.accumulate();
    if (unplug) e.ev = null;
    e.status = e.ev ? 'Finishing' : 'Available';
    if (this.version === V16) {
      await this.call('StopTransaction', { transactionId: Number(tx.id), meterStop: Math.round(e.energyWh),
        timestamp: iso(now), reason });
      await this.sendStatus(e);
    } else {
      await this.call('TransactionEvent', { eventType: 'Ended', timestamp: iso(now),
        triggerReason: reason === 'Remote' ? 'RemoteStop' : unplug ? 'EVDeparted' : 'StopAuthorized',
        seqNo: tx.seqNo++, transactionInfo: { transactionId: tx.id, stoppedReason: reason,
          chargingState: unplug ? 'Idle' : 'EVConnected' },
        meterValue: [this.meterValue(e, now, 'Transaction.End', ['Energy.Active.Import.Register'])] });
      if (unplug) await this.sendStatus(e);
    }
  }

  async unplug(evseId) {
    const e = this.evse(evseId);
    if (e.tx) return this.stopTransaction(evseId, { reason: 'EVDisconnected', unplug: true });
    e.ev = null;
    e.status = 'Available';
    if (this.connected()) await this.sendStatus(e);
  }

  async sendState(e, trigger) {
    if (this.version === V16) return this.sendStatus(e);
    const now = Date.now();
    return this.call('TransactionEvent', { eventType: 'Updated', timestamp: iso(now), triggerReason: trigger,
      seqNo: e.tx.seqNo++, transactionInfo: { transactionId: e.tx.id, chargingState: state201(e.status) },
      evse: { id: e.id, connectorId: 1 } });
  }

  // ---------------------------------------------------------- meter

  meterValue(e, t, context, measurands = this.config.measurands) {
    const v16 = this.version === V16;
    const amps = this.draw(e.id, t);
    const l = this.limits(t)[this.evses.indexOf(e)];
    const out = [];
    const sv = (value, measurand, unit, phase) => {
      const s = { value: v16 ? String(round(value)) : round(value), context, measurand };
      if (phase) s.phase = phase;
      if (v16) { s.unit = unit; s.location = 'Outlet'; } else s.unitOfMeasure = { unit };
      out.push(s);
    };
    const phases = [0, 1, 2].slice(0, e.phases);
    for (const m of measurands) {
      if (m === 'Current.Import') phases.forEach((i) => sv(amps[i], m, 'A', `L${i + 1}`));
      else if (m === 'Current.Offered') sv(l.a, m, 'A');
      else if (m === 'Power.Active.Import') sv(amps.reduce((s, a) => s + a, 0) * this.voltage, m, 'W');
      else if (m === 'Energy.Active.Import.Register') sv(e.energyWh, m, 'Wh');
      else if (m === 'Voltage') phases.forEach((i) => sv(this.voltage, m, 'V', `L${i + 1}-N`));
    }
    return { timestamp: iso(t), sampledValue: out };
  }

  // Report the meter of one EVSE (default: every EVSE with a transaction).
  // 1.6: MeterValues; 2.0.1: TransactionEvent Updated during a
  // transaction, MeterValues otherwise.
  async reportMeter(evseId, { context = 'Sample.Periodic', plain = false } = {}) {
    this.accumulate();
    const t = Date.now();
    const list = evseId ? [this.evse(evseId)] : this.evses.filter((e) => e.tx);
    for (const e of list) {
      const mv = this.meterValue(e, t, context);
      if (this.version === V16) {
        await this.call('MeterValues', { connectorId: e.id, ...(e.tx ? { transactionId: Number(e.tx.id) } : {}),
          meterValue: [mv] });
      } else if (e.tx && !plain) {
        await this.call('TransactionEvent', { eventType: 'Updated', timestamp: iso(t),
          triggerReason: context === 'Trigger' ? 'Trigger' : 'MeterValuePeriodic', seqNo: e.tx.seqNo++,
          transactionInfo: { transactionId: e.tx.id, chargingState: state201(e.status) },
          evse: { id: e.id, connectorId: 1 }, meterValue: [mv] });
      } else {
        await this.call('MeterValues', { evseId: e.id, meterValue: [mv] });
      }
    }
    await this.refresh();
  }

  startTimer() {
    this.stopTimer();
    const s = this.config.intervalS;
    if (!s || this.opts.periodicMeter === false || !this.client) return;
    this.timer = setInterval(() => {
      if (this.connected()) this.reportMeter().catch(() => {});
    }, s * 1000);
    this.timer.unref();
  }

  stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  // ---------------------------------------------------------- snapshot

  // Every EVSE as sitecheck wants it, at atMs.
  snapshot(atMs = Date.now()) {
    return this.evses.map((e) => {
      const l = this.effectiveLimit(e.id, atMs);
      const demandA = e.ev ? Math.max(...e.ev.demandA) : 0;
      return { charger: this.id, evse: e.id, amps: l.amps, phases: l.phases,
        active: !!(e.tx && e.ev && demandA > 0), demandA, maxA: e.maxCurrentA };
    });
  }
}

function demand(d) {
  return Array.isArray(d) ? [d[0] ?? 0, d[1] ?? 0, d[2] ?? 0] : [d, d, d];
}

function state201(status) {
  return { Charging: 'Charging', SuspendedEV: 'SuspendedEV', SuspendedEVSE: 'SuspendedEVSE',
    Preparing: 'EVConnected', Finishing: 'EVConnected' }[status] || 'Idle';
}

function overlaps(p, q) {
  const a0 = p.validFrom ?? -Infinity;
  const a1 = p.validTo ?? Infinity;
  const b0 = q.validFrom ?? -Infinity;
  const b1 = q.validTo ?? Infinity;
  return a0 < b1 && b0 < a1;
}

function profileOf(ver, params) {
  return (ver === V16 ? params.csChargingProfiles : params.chargingProfile) || {};
}

// The EVSE a received CALL is about, or undefined.
function evseOf(ver, action, p) {
  if (!p || typeof p !== 'object') return undefined;
  if (ver === V16) return p.connectorId;
  if (action === 'ClearChargingProfile') return p.chargingProfileCriteria?.evseId;
  return p.evseId ?? p.evse?.id;
}

// Every EVSE of every charger, for sitecheck.
function snapshot(chargers, atMs = Date.now()) {
  return chargers.flatMap((c) => c.snapshot(atMs));
}

module.exports = { SimCharger, snapshot, EV_MIN_A, limitAt, V16, V201 };
