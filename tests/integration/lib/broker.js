'use strict';
// Test helpers for the MQTT side: a real mosquitto broker on a free loopback
// port (started from a generated configuration, stopped and restarted on
// the same port), and an MQTT client that records what it receives so that
// tests wait on messages, never on time. Timeouts only bound how long a
// broken peer can hang a test.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const mqtt = require('mqtt');
const { tmpDir } = require('./gateway');

const MOSQUITTO = process.env.MOSQUITTO_BIN || '/usr/sbin/mosquitto';

// A loopback port nobody listens on right now.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

class Broker {
  // opts.lines: extra configuration lines for the listener (TLS, auth).
  constructor(opts = {}) {
    this.opts = opts;
    this.dir = opts.dir || tmpDir('sg-broker-');
    this.port = null;
    this.proc = null;
    this.log = [];
    this.restarting = false;
  }

  configText() {
    const lines = [`listener ${this.port} 127.0.0.1`];
    if (this.opts.lines) lines.push(...this.opts.lines);
    else lines.push('allow_anonymous true');
    // As root, mosquitto would switch to its own user, which cannot read
    // files in our 0700 temporary directories.
    if (process.getuid && process.getuid() === 0) lines.push('user root');
    lines.push('persistence false', 'log_dest stderr', 'log_type all');
    return lines.join('\n') + '\n';
  }

  // Start (or restart on the same port); resolves once mosquitto reports
  // that it runs, i.e. its listener is open.
  async start() {
    for (let attempt = 0; ; attempt++) {
      if (this.port === null) this.port = await freePort();
      try {
        await this.spawnOnce();
        return this;
      } catch (err) {
        // Someone took the port between freePort() and the bind: pick
        // another, unless this is a restart that must keep its port.
        if (attempt >= 3 || this.restarting || !/in use/i.test(err.message)) throw err;
        this.port = null;
      }
    }
  }

  spawnOnce() {
    const conf = path.join(this.dir, 'mosquitto.conf');
    fs.writeFileSync(conf, this.configText());
    return new Promise((resolve, reject) => {
      const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      let partial = '';
      let ready = false;
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`mosquitto did not start within 10 s\n${this.log.slice(-20).join('\n')}`));
      }, 10000);
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (chunk) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop();
        for (const line of lines) {
          this.log.push(line);
          if (process.env.SITEGATE_TEST_ECHO) process.stderr.write(`  mosquitto| ${line}\n`);
          if (!ready && /mosquitto version \S+ running/.test(line)) {
            ready = true;
            clearTimeout(timer);
            this.proc = proc;
            resolve();
          }
        }
      });
      proc.on('error', (err) => { clearTimeout(timer); reject(err); });
      proc.on('close', (code, signal) => {
        clearTimeout(timer);
        if (this.proc === proc) this.proc = null;
        if (!ready) {
          reject(new Error(`mosquitto exited (code ${code}, signal ${signal}) before running:\n` +
            this.log.slice(-20).join('\n')));
        }
      });
    });
  }

  // SIGTERM and wait for the exit.
  stop() {
    const proc = this.proc;
    if (!proc) return Promise.resolve();
    return new Promise((resolve) => {
      proc.on('close', () => resolve());
      proc.kill('SIGTERM');
    });
  }

  async restart() {
    await this.stop();
    this.restarting = true;
    try {
      await this.start();
    } finally {
      this.restarting = false;
    }
  }

  url() { return `mqtt://127.0.0.1:${this.port}`; }
}

async function startBroker(opts) {
  return new Broker(opts).start();
}

// Matches an MQTT topic filter with + and # against a topic.
function topicMatches(filter, topic) {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

let clientSeq = 0;

// An MQTT client that keeps every message it receives:
// { topic, text, retain, json } (json: the parsed payload or undefined).
class Client {
  constructor(client) {
    this.client = client;
    this.messages = [];
    this.waiters = [];
    client.on('message', (topic, payload, packet) => {
      let json;
      try { json = JSON.parse(payload.toString()); } catch { json = undefined; }
      const m = { topic, text: payload.toString(), payload, retain: packet.retain, json };
      this.messages.push(m);
      const index = this.messages.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (index < w.since || !topicMatches(w.filter, topic) || !w.pred(m)) return true;
        clearTimeout(w.timer);
        w.resolve(m);
        return false;
      });
    });
  }

  static async connect(url, opts = {}) {
    const c = await mqtt.connectAsync(url, {
      clientId: `sg-test-${process.pid}-${++clientSeq}`,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...opts,
    });
    return new Client(c);
  }

  async subscribe(filter) { await this.client.subscribeAsync(filter, { qos: 1 }); }

  publish(topic, payload, opts = {}) {
    return this.client.publishAsync(topic, payload, { qos: 1, ...opts });
  }

  // A position in the message list; waitFor(..., { since }) ignores earlier ones.
  mark() { return this.messages.length; }

  // The first message (at or after since) on a topic matching filter for
  // which pred(m) holds; rejects after ms.
  waitFor(filter, pred = () => true, { since = 0, ms = 10000 } = {}) {
    for (let i = since; i < this.messages.length; i++) {
      const m = this.messages[i];
      if (topicMatches(filter, m.topic) && pred(m)) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const w = { filter, pred, since, resolve };
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no message on ${filter} matching ${pred} within ${ms} ms; got:\n` +
          this.messages.slice(-15).map((m) => `  ${m.topic} ${m.retain ? 'R' : '-'} ${m.text.slice(0, 200)}`).join('\n')));
      }, ms);
      this.waiters.push(w);
    });
  }

  end() { return this.client.endAsync(); }
}

// The retained message on topic, as a fresh subscriber sees it.
async function retained(url, topic, { ms = 5000 } = {}) {
  const c = await Client.connect(url);
  try {
    await c.subscribe(topic);
    return await c.waitFor(topic, (m) => m.retain, { ms });
  } finally {
    await c.end();
  }
}

module.exports = { Broker, startBroker, Client, retained, freePort, topicMatches };
