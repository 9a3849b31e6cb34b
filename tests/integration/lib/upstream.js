'use strict';
// Test fixture for the uplink: an upstream CSMS (ocpp-rpc RPCServer in
// strict mode: it validates every CALL it receives and every answer to its
// own CALLs against the official schemas) that records what it receives,
// answers like a CSMS, can go away and come back on the same port, and
// sends down commands. Every wait is on an event.

const fs = require('node:fs');
const https = require('node:https');
const { once } = require('node:events');
const { RPCServer } = require('ocpp-rpc');

const now = () => new Date().toISOString();

class Upstream {
  // tls: { cert, key, ca?, requestCert? } (file paths) serves wss://.
  constructor({ protocol = 'ocpp2.0.1', password = null, boot = 'Accepted', interval = 300,
    authorize = () => 'Accepted', tls = null } = {}) {
    this.tls = tls;
    this.protocol = protocol;
    this.password = password;
    this.boot = boot;
    this.interval = interval;
    this.authorize = authorize;
    this.calls = [];          // { action, params } in arrival order
    this.failures = [];       // strict validation failures (ours)
    this.waiters = [];
    this.client = null;
    this.port = 0;
    this.nextTx = 1000;
    this.identities = [];
    this.connects = 0;
    this.errorFor = null;     // (action, params) => true: answer with an error
    this.holdIf = null;       // (action, params) => true: never answer
    this.delayIf = null;      // (action, params) => a promise: answer once it settles
  }

  async start(port = 0) {
    this.server = new RPCServer({ protocols: [this.protocol], strictMode: true });
    this.server.auth((accept, reject, hs) => {
      if (this.password !== null && (!hs.password || hs.password.toString() !== this.password)) {
        reject(401, 'Unauthorized');
        return;
      }
      this.identities.push(hs.identity);
      accept();
    });
    this.server.on('client', (c) => this.onClient(c));
    if (this.tls) {
      const t = this.tls;
      this.https = https.createServer({
        cert: fs.readFileSync(t.cert), key: fs.readFileSync(t.key),
        ...(t.ca ? { ca: fs.readFileSync(t.ca), requestCert: true, rejectUnauthorized: true } : {}),
      });
      this.https.on('upgrade', this.server.handleUpgrade);
      this.https.listen(port, '127.0.0.1');
      await once(this.https, 'listening');
      this.port = this.https.address().port;
      return this;
    }
    this.http = await this.server.listen(port, '127.0.0.1');
    this.port = this.http.address().port;
    return this;
  }

  url() { return `${this.tls ? 'wss://localhost' : 'ws://127.0.0.1'}:${this.port}/ocpp`; }

  onClient(c) {
    this.client = c;
    this.connects++;
    c.on('strictValidationFailure', (e) => {
      this.failures.push(e);
      this.record('!strictValidationFailure', { error: String(e.error && e.error.message) });
    });
    c.on('close', () => { if (this.client === c) this.client = null; });
    const h = (action, fn) => c.handle(action, ({ params }) => {
      const entry = this.record(action, params);
      if (this.errorFor && this.errorFor(action, params)) {
        const err = new Error('test says no');
        err.rpcErrorCode = 'InternalError';
        throw err;
      }
      if (this.holdIf && this.holdIf(action, params)) {
        entry.held = true;
        return new Promise(() => {});   // never answered
      }
      const wait = this.delayIf && this.delayIf(action, params);
      if (wait) {
        entry.delayed = true;
        return wait.then(() => {
          const r = fn(params);
          entry.answered = true;
          entry.result = r;
          return r;
        });
      }
      const r = fn(params);
      entry.answered = true;
      entry.result = r;
      return r;
    });
    h('BootNotification', () => ({ status: this.boot, currentTime: now(), interval: this.interval }));
    h('Heartbeat', () => ({ currentTime: now() }));
    h('StatusNotification', () => ({}));
    h('MeterValues', () => ({}));
    h('NotifyChargingLimit', () => ({}));
    h('ClearedChargingLimit', () => ({}));
    if (this.protocol === 'ocpp1.6') {
      h('Authorize', (p) => ({ idTagInfo: { status: this.authorize(p.idTag) } }));
      h('StartTransaction', (p) => ({
        transactionId: this.nextTx++, idTagInfo: { status: this.authorize(p.idTag) },
      }));
      h('StopTransaction', () => ({}));
    } else {
      h('Authorize', (p) => ({ idTokenInfo: { status: this.authorize(p.idToken.idToken) } }));
      h('TransactionEvent', () => ({}));
    }
  }

  record(action, params) {
    const entry = { action, params };
    this.calls.push(entry);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(entry, this.calls)) return true;
      clearTimeout(w.timer);
      w.resolve(entry);
      return false;
    });
    return entry;
  }

  // Resolve with the first call (at or after index since) for which
  // pred(entry, calls) holds; pred may be an action name.
  waitFor(pred, { since = 0, ms = 15000 } = {}) {
    const p = typeof pred === 'string' ? (e) => e.action === pred : pred;
    for (let i = since; i < this.calls.length; i++) {
      if (p(this.calls[i], this.calls)) return Promise.resolve(this.calls[i]);
    }
    return new Promise((resolve, reject) => {
      const w = { pred: (e, all) => all.indexOf(e) >= since && p(e, all), resolve };
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`upstream: nothing matching ${pred} within ${ms} ms; got:\n` +
          this.calls.slice(-30).map((x) => `${x.action} ${JSON.stringify(x.params)}`).join('\n')));
      }, ms);
      this.waiters.push(w);
    });
  }

  // Resolve once a gateway connection is open (at least n connects so far).
  async connected(n = 1, ms = 15000) {
    const t0 = Date.now();
    while (this.connects < n || !this.client) {
      if (Date.now() - t0 > ms) throw new Error('upstream: gateway never connected');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.client;
  }

  of(action) { return this.calls.filter((c) => c.action === action); }

  // A down command from the upstream; resolves to the gateway's answer.
  call(action, params) {
    if (!this.client) throw new Error('upstream: no gateway connected');
    return this.client.call(action, params);
  }

  // The upstream goes away (all clients dropped, port closed).
  async stop() {
    if (!this.server) return;
    const s = this.server;
    this.server = null;
    this.client = null;
    await s.close({ code: 1001, force: true });
    if (this.https) {
      this.https.close();
      this.https.closeAllConnections();
      this.https = null;
    }
  }
}

async function startUpstream(opts) {
  return new Upstream(opts).start(opts && opts.port);
}

module.exports = { Upstream, startUpstream };
