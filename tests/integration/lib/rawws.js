'use strict';
// A deliberately minimal WebSocket client over node's net/tls, for tests that
// must send what a well-behaved library never would: unmasked, binary,
// oversized, fragmented, truncated or non-UTF-8 frames, and handshakes that
// break the rules. Frames from the server are parsed and queued; tests await
// them (or the close of the socket) as events.

const net = require('node:net');
const tls = require('node:tls');
const crypto = require('node:crypto');

// Build one frame. opts: { fin = true, rsv = 0, mask = true, length } where
// length overrides the announced payload length (for lying headers).
function frame(opcode, payload = Buffer.alloc(0), opts = {}) {
  const { fin = true, rsv = 0, mask = true } = opts;
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const len = opts.length ?? data.length;
  let head;
  if (len < 126) {
    head = Buffer.from([0, len]);
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  if (!mask) return Buffer.concat([head, data]);
  head[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const body = Buffer.from(data);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i % 4];
  return Buffer.concat([head, key, body]);
}

class RawWs {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.head = null;          // the HTTP response head, once complete
    this.frames = [];
    this.waiters = [];
    this.ended = false;
    this.autoClose = true;
    this.closeSent = false;
    this.endedPromise = new Promise((resolve) => {
      socket.on('close', () => { this.ended = true; this.wake(); resolve(); });
    });
    socket.on('error', () => {});
    socket.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
  }

  parse() {
    if (this.head === null) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.head = this.buf.subarray(0, end + 4).toString('latin1');
      this.buf = this.buf.subarray(end + 4);
      this.wake();
    }
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0], b1 = this.buf[1];
      let len = b1 & 0x7f, off = 2;
      if (len === 126) { if (this.buf.length < 4) break; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) break; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      const masked = (b1 & 0x80) !== 0;
      if (masked) off += 4;
      if (this.buf.length < off + len) break;
      const payload = this.buf.subarray(off, off + len);
      this.frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked, payload });
      // Answer a close as a well-behaved client would (once), so the
      // server's close handshake completes without waiting.
      if ((b0 & 0x0f) === 8 && this.autoClose && !this.closeSent) {
        this.closeSent = true;
        this.socket.write(frame(8, payload.subarray(0, 2)));
      }
      this.buf = this.buf.subarray(off + len);
    }
    this.wake();
  }

  wake() {
    this.waiters = this.waiters.filter((w) => !w.check());
  }

  // Resolve with the result of check() once it is truthy; reject after ms.
  until(check, ms, what) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const v = check();
          if (!v) return false;
          clearTimeout(w.timer);
          resolve(v);
          return true;
        },
      };
      if (w.check()) return;
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for ${what}; frames: ` +
          JSON.stringify(this.frames.map((f) => [f.opcode, f.payload.toString('latin1')]))));
      }, ms);
      this.waiters.push(w);
    });
  }

  response(ms = 5000) {
    return this.until(() => this.head, ms, 'the HTTP response');
  }

  status() {
    return this.head ? Number(this.head.split(' ')[1]) : 0;
  }

  // The next text frame as a parsed JSON value.
  async nextText(ms = 5000) {
    const f = await this.until(() => {
      const i = this.frames.findIndex((x) => x.opcode === 1);
      return i >= 0 ? this.frames.splice(i, 1)[0] : null;
    }, ms, 'a text frame');
    return JSON.parse(f.payload.toString('utf8'));
  }

  // The close frame the server sent: { code, reason }.
  async closeFrame(ms = 5000) {
    const f = await this.until(() => this.frames.find((x) => x.opcode === 8) ||
      (this.ended ? { opcode: -1, payload: Buffer.alloc(0) } : null), ms, 'a close frame');
    if (f.opcode !== 8) return { code: null, reason: '' };
    return {
      code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005,
      reason: f.payload.subarray(2).toString('utf8'),
    };
  }

  closed(ms = 5000) {
    return this.until(() => this.ended, ms, 'the socket to close');
  }

  send(opcode, payload, opts) {
    if (opcode === 8) this.closeSent = true;
    this.socket.write(frame(opcode, payload, opts));
  }
  text(s, opts) { this.send(1, Buffer.from(s, 'utf8'), opts); }
  raw(buf) { this.socket.write(buf); }
  destroy() { this.socket.destroy(); }
}

// Open a socket and send a handshake. opts: { path, protocols, password
// (Basic with user = id), id, headers (extra lines), request (a whole raw
// request instead), tls ({ ca, cert, key } for tls.connect) }.
async function rawConnect(port, opts = {}) {
  const socket = await new Promise((resolve, reject) => {
    const s = opts.tls
      ? tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts.tls }, () => resolve(s))
      : net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  const ws = new RawWs(socket);
  if (opts.request !== undefined) {
    socket.write(opts.request);
    return ws;
  }
  const id = opts.id ?? 'CP-01';
  const lines = [
    `GET ${opts.path ?? '/ocpp/' + encodeURIComponent(id)} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (opts.protocols && opts.protocols.length) lines.push(`Sec-WebSocket-Protocol: ${opts.protocols.join(', ')}`);
  if (opts.password !== undefined) {
    const up = Buffer.concat([Buffer.from(id + ':'), Buffer.from(opts.password)]);
    lines.push(`Authorization: Basic ${up.toString('base64')}`);
  }
  for (const h of opts.headers || []) lines.push(h);
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  return ws;
}

module.exports = { frame, rawConnect };
