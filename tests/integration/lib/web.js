'use strict';
// The installer page's API, as a browser would use it: a session cookie,
// the page's Origin on every change and the CSRF token once logged in.
// node:http rather than fetch, so that a test controls every header
// (Origin, Host) exactly.

const http = require('node:http');
const https = require('node:https');
const { tmpDir, baseConfig, startGateway } = require('./gateway');

const PASSWORD = 'installer-password-1';

class WebClient {
  constructor(port, { tls = false, ca } = {}) {
    this.port = port;
    this.tls = tls;
    this.ca = ca;
    this.host = `127.0.0.1:${port}`;
    this.origin = `${tls ? 'https' : 'http'}://${this.host}`;
    this.cookie = null;
    this.csrf = null;
  }

  // One request; resolves to { status, headers, text, json }.
  // opts: body (object → JSON, string → as is), headers, origin (false: none,
  // or a string), csrf (false: none), cookie (false: none).
  request(method, path, opts = {}) {
    const headers = { Host: this.host, ...(opts.headers || {}) };
    if (opts.origin !== false && method !== 'GET') headers.Origin = opts.origin || this.origin;
    if (opts.cookie !== false && this.cookie) headers.Cookie = this.cookie;
    if (opts.csrf !== false && this.csrf && method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
    let body = null;
    if (opts.body !== undefined) {
      body = Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = body.length;
    }
    const mod = this.tls ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request({ host: '127.0.0.1', port: this.port, method, path, headers,
        ca: this.ca, servername: 'localhost', agent: false }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try { json = JSON.parse(text); } catch { /* CSV, files */ }
          const sc = res.headers['set-cookie'];
          if (sc) {
            const m = /sitegate_session=([^;]*)/.exec(sc[0]);
            if (m) this.cookie = m[1] ? `sitegate_session=${m[1]}` : null;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
  }

  get(path, opts) { return this.request('GET', path, opts); }
  post(path, body, opts = {}) { return this.request('POST', path, { ...opts, body }); }
  put(path, body, opts = {}) { return this.request('PUT', path, { ...opts, body }); }
  del(path, opts) { return this.request('DELETE', path, opts); }

  async setup(code, password = PASSWORD) {
    const r = await this.post('/api/setup', { code, password });
    if (r.status === 200) this.csrf = r.json.csrf;
    return r;
  }

  async login(password = PASSWORD) {
    const r = await this.post('/api/login', { password });
    if (r.status === 200) this.csrf = r.json.csrf;
    return r;
  }

  // Open the event stream; resolves to { events, next(pred), close() } once
  // the headers arrived. next(pred) resolves with the first event (old or
  // new) that pred accepts and that no earlier next() consumed.
  events(path = '/api/events') {
    const mod = this.tls ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request({ host: '127.0.0.1', port: this.port, path, method: 'GET',
        headers: { Host: this.host, Cookie: this.cookie || '' }, ca: this.ca, agent: false },
      (res) => {
        const stream = { status: res.statusCode, events: [], waiters: [], used: 0, res, req };
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = { event: null, data: null };
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) ev.event = line.slice(7);
              else if (line.startsWith('data: ')) ev.data = JSON.parse(line.slice(6));
            }
            if (ev.event) {
              stream.events.push(ev);
              stream.waiters = stream.waiters.filter((w) => !w.try());
            }
          }
        });
        stream.next = (pred = () => true, ms = 10000) => new Promise((res2, rej2) => {
          const w = {
            try() {
              for (let k = stream.used; k < stream.events.length; k++) {
                if (pred(stream.events[k])) {
                  stream.used = k + 1;
                  clearTimeout(w.timer);
                  res2(stream.events[k]);
                  return true;
                }
              }
              return false;
            },
          };
          if (w.try()) return;
          w.timer = setTimeout(() => {
            stream.waiters = stream.waiters.filter((x) => x !== w);
            rej2(new Error(`no matching event within ${ms} ms (${stream.events.length} seen)`));
          }, ms);
          stream.waiters.push(w);
        });
        stream.close = () => { req.destroy(); };
        resolve(stream);
      });
      req.on('error', reject);
      req.end();
    });
  }
}

// A gateway with the page on, and a client logged in (unless login: false).
// Returns { gw, port, web, code, dir, cfg }.
async function startWeb(t, { mutate, login = true, dir = tmpDir(), ca } = {}) {
  const cfg = baseConfig(dir);
  cfg.web = { listen: '127.0.0.1:0', root: require('node:path').resolve(__dirname, '../../../web') };
  if (mutate) mutate(cfg);
  const gw = await startGateway(cfg, { dir });
  t.after(() => gw.stop());
  const m = await gw.waitForLog(/web: page at https?:\/\/127\.0\.0\.1:(\d+)\//);
  const port = Number(m[1]);
  const c = await gw.waitForLog(/web: setup code (\d{4}-\d{4}-\d{4})/);
  const web = new WebClient(port, { tls: !!(cfg.web.tls), ca: ca && require('node:fs').readFileSync(ca) });
  if (login) {
    const r = await web.setup(c[1]);
    if (r.status !== 200) throw new Error(`setup failed: ${r.status} ${r.text}`);
  }
  return { gw, port, web, code: c[1], dir, cfg };
}

module.exports = { WebClient, startWeb, PASSWORD };
