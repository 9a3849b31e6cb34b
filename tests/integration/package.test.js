'use strict';
// The Debian package (make deb, packaging/): lintian, the unit checks
// (systemd-analyze verify, the security score), then install, upgrade and
// purge in a fresh Debian 12 root that this test makes itself (debootstrap,
// cached in build/debroot-cache by tools/debroot.sh), and, where the
// machine lets systemd run in a container, the unit under systemd-nspawn
// --boot: start, reload, watchdog restart after a SIGSTOP, stop.
//
// Needs root (chroot, mounts, dpkg); skips as a whole without it. The first
// run downloads Debian (a minute or two); the dependencies' .debs are kept
// in the cache, so later runs need no network.
//
// SITEGATE_DEB: test this .deb instead of running `make deb`.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { SimCharger } = require('./lib/charger');
const { WebClient, PASSWORD } = require('./lib/web');

// Trees with folders named *.d (a Debian root, an unpacked .deb) stay out
// of build/: the Makefile includes every *.d it finds there.
const scratch = [];
function tmpDir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(d);
  return d;
}

const REPO = path.resolve(__dirname, '../..');
const CACHE = process.env.SITEGATE_DEBROOT_CACHE || path.join(REPO, 'build/debroot-cache');
const CONF = '/etc/sitegate/sitegate.json';
const STATE = '/var/lib/sitegate/sitegate.db';
const CHARGER = { id: 'CP-PKG', password: 'pkg-test-password-0123' };
const ROOT_ENV = {
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive',
};

const notRoot = process.getuid && process.getuid() !== 0
  ? 'needs root (chroot, mounts, dpkg): run make check as root, as CI does' : false;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout || '', stderr: r.stderr || '', all: `${r.stdout || ''}${r.stderr || ''}` };
}

function must(cmd, args, opts) {
  const r = run(cmd, args, opts);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} exited ${r.code}\n${r.all.slice(-4000)}`);
  return r;
}

// A command inside root, in a mount namespace of its own (/proc and /dev
// are mounted for it and vanish with it: nothing to clean up on a crash).
const MOUNT_AND_CHROOT = 'r=$1; shift; mount -t proc proc "$r/proc" && ' +
  'mount --rbind /dev "$r/dev" && exec chroot "$r" "$@"';
function chrootArgs(root, argv) {
  return ['-m', '--propagation', 'private', 'sh', '-c', MOUNT_AND_CHROOT, 'sh', root, ...argv];
}
function inRoot(root, argv, opts = {}) {
  return run('unshare', chrootArgs(root, argv), { env: ROOT_ENV, ...opts });
}
function mustInRoot(root, argv, opts) {
  const r = inRoot(root, argv, opts);
  assert.equal(r.code, 0, `[chroot] ${argv.join(' ')} exited ${r.code}\n${r.all.slice(-4000)}`);
  return r;
}

function aptInstall(root, debs) {
  return mustInRoot(root, ['apt-get', 'install', '-y', '-q', '--no-install-recommends',
    '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...debs]);
}

// The .debs apt fetched into root go back into the cache: the next run
// installs them without the network.
function keepDownloads(root) {
  const from = path.join(root, 'var/cache/apt/archives');
  const to = path.join(CACHE, 'archives');
  for (const f of fs.readdirSync(from)) {
    if (f.endsWith('.deb') && !fs.existsSync(path.join(to, f))) fs.copyFileSync(path.join(from, f), path.join(to, f));
  }
}

function passwd(root, name) {
  const line = fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8').split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] };
}

function sql(root, query) {
  // immutable=1: no lock, no -shm or -wal left behind owned by root.
  return must('sqlite3', [`file:${path.join(root, STATE)}?immutable=1`, query]).stdout.trim();
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// The daemon started in root as the user sitegate, its log followed.
const daemons = [];
class RootDaemon {
  constructor(root) {
    daemons.push(this);
    this.logs = [];
    this.waiters = [];
    this.proc = spawn('unshare', chrootArgs(root, ['setpriv', '--reuid=sitegate', '--regid=sitegate',
      '--init-groups', '--', '/usr/sbin/sitegate', '--config', CONF]),
    { env: ROOT_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = new Promise((resolve) => this.proc.on('close', (code, signal) => {
      this.exit = { code, signal };
      for (const w of this.waiters.splice(0)) w.reject(new Error(`sitegate exited (${code}, ${signal}) waiting for ${w.re}\n${this.logs.slice(-30).join('\n')}`));
      resolve(this.exit);
    }));
    let partial = '';
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop();
      for (const l of lines) {
        this.logs.push(l);
        this.waiters = this.waiters.filter((w) => {
          const m = w.re.exec(l);
          if (m) { clearTimeout(w.timer); w.resolve(m); }
          return !m;
        });
      }
    });
  }

  waitFor(re, ms = 15000) {
    for (const l of this.logs) { const m = re.exec(l); if (m) return Promise.resolve(m); }
    if (this.exit) return Promise.reject(new Error(`sitegate exited; no ${re}\n${this.logs.join('\n')}`));
    return new Promise((resolve, reject) => {
      const w = { re, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no log line matching ${re} within ${ms} ms\n${this.logs.slice(-30).join('\n')}`));
      }, ms);
      this.waiters.push(w);
    });
  }

  async ready() {
    await this.waitFor(/\bgateway: ready\b/);
    this.ocppPort = Number((await this.waitFor(/\bocpp: listening addr=\S*:(\d+)/))[1]);
    this.webPort = Number((await this.waitFor(/\bweb: page at http:\/\/\S*:(\d+)\//))[1]);
    return this;
  }

  async stop() {
    if (!this.exit) this.proc.kill('SIGTERM');
    return this.exited;
  }
}

function uidOf(pid) {
  const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

let deb = null;		// the package under test
let unitFile = null;	// its unit, extracted

test('make deb builds the package', { skip: notRoot, timeout: 900000 }, (t) => {
  if (process.env.SITEGATE_DEB) {
    deb = path.resolve(process.env.SITEGATE_DEB);
  } else {
    const t0 = Date.now();
    must('make', ['-s', '--no-print-directory', 'deb'], { cwd: REPO });
    const version = fs.readFileSync(path.join(REPO, 'packaging/debian/changelog'), 'utf8')
      .split('\n')[0].split(' ')[1].replace(/[()]/g, '');
    const arch = must('dpkg', ['--print-architecture']).stdout.trim();
    deb = path.join(REPO, `build/sitegate_${version}_${arch}.deb`);
    t.diagnostic(`make deb: ${((Date.now() - t0) / 1000).toFixed(1)} s (nothing to do when up to date)`);
  }
  assert.ok(fs.existsSync(deb), deb);
  const x = tmpDir('sg-deb-');
  must('dpkg-deb', ['-x', deb, x]);
  unitFile = path.join(x, 'lib/systemd/system/sitegate.service');
  for (const f of ['usr/sbin/sitegate', 'usr/share/sitegate/web/index.html', 'etc/sitegate/sitegate.json',
    'usr/share/man/man8/sitegate.8.gz', 'usr/lib/sysusers.d/sitegate.conf', 'usr/share/doc/sitegate/README.md',
    'usr/share/doc/sitegate/docs/configuration.md', 'lib/systemd/system/sitegate.service']) {
    assert.ok(fs.existsSync(path.join(x, f)), `the package has no ${f}`);
  }
  if (fs.existsSync(path.join(x, 'usr/bin/sitegate-sim'))) {
    assert.ok(fs.existsSync(path.join(x, 'usr/share/man/man1/sitegate-sim.1.gz')), 'sitegate-sim without its manual page');
  } else {
    t.diagnostic('no usr/bin/sitegate-sim: this tree has no simulator yet');
  }
  assert.equal(must('dpkg-deb', ['-I', deb, 'conffiles']).stdout.trim(), CONF);
});

test('lintian: no error (warnings listed)', { skip: notRoot }, (t) => {
  assert.ok(deb, 'no package');
  const r = run('lintian', ['--no-tag-display-limit', '--display-info', deb]);
  const tags = r.stdout.split('\n').filter((l) => /^[EWIPX]: /.test(l));
  for (const l of tags) t.diagnostic(l);
  assert.deepEqual(tags.filter((l) => l.startsWith('E: ')), []);
});

test('the unit: systemd-analyze security --offline=yes scores 2.0 or lower', { skip: notRoot }, (t) => {
  assert.ok(unitFile, 'no package');
  const r = must('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitFile]);
  const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  t.diagnostic(`exposure ${m[1]}`);
  for (const l of r.stdout.split('\n').filter((x) => x.startsWith('✗'))) t.diagnostic(l.replace(/\s+/g, ' '));
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} > 2.0`);
});

// One fresh root for the rest of the file: install, upgrade, systemd, purge.
const state = {};

test('a fresh Debian 12 root (debootstrap, cached)', { skip: notRoot, timeout: 900000 }, (t) => {
  assert.ok(deb, 'no package');
  const t0 = Date.now();
  const tarball = must(path.join(REPO, 'tools/debroot.sh'), [CACHE]).stdout.trim();
  state.root = path.join(tmpDir('sg-root-'), 'root');
  fs.mkdirSync(state.root);
  must('tar', ['--numeric-owner', '-C', state.root, '-xf', tarball]);
  const archives = path.join(CACHE, 'archives');
  for (const f of fs.readdirSync(archives)) {
    if (f.endsWith('.deb')) fs.copyFileSync(path.join(archives, f), path.join(state.root, 'var/cache/apt/archives', f));
  }
  t.diagnostic(`root ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // The earlier package: the same build, its version set to 0.0.9.
  const x = tmpDir('sg-old-');
  must('dpkg-deb', ['-R', deb, path.join(x, 'pkg')]);
  const ctl = path.join(x, 'pkg/DEBIAN/control');
  fs.writeFileSync(ctl, fs.readFileSync(ctl, 'utf8').replace(/^Version: .*$/m, 'Version: 0.0.9'));
  must('dpkg-deb', ['-Zgzip', '-b', path.join(x, 'pkg'), path.join(state.root, 'tmp/sitegate_0.0.9.deb')]);
  fs.copyFileSync(deb, path.join(state.root, 'tmp/sitegate_new.deb'));
});

test('install: the user, the rights, --check-config, the daemon as sitegate', { skip: notRoot, timeout: 300000 }, async (t) => {
  const { root } = state;
  assert.ok(root, 'no root');
  aptInstall(root, ['/tmp/sitegate_0.0.9.deb']);
  keepDownloads(root);
  assert.match(mustInRoot(root, ['dpkg-query', '-W', 'sitegate']).stdout, /0\.0\.9/);

  const user = passwd(root, 'sitegate');
  assert.ok(user, 'no user sitegate');
  assert.ok(user.uid < 1000, `sitegate is not a system user (uid ${user.uid})`);
  assert.equal(user.shell, '/usr/sbin/nologin');
  const dir = fs.statSync(path.join(root, 'etc/sitegate'));
  assert.equal((dir.mode & 0o7777).toString(8), '2770');
  assert.deepEqual([dir.uid, dir.gid], [0, user.gid]);
  const conf = fs.statSync(path.join(root, CONF));
  assert.equal((conf.mode & 0o777).toString(8), '640');
  assert.equal(conf.gid, user.gid);
  const st = fs.statSync(path.join(root, 'var/lib/sitegate'));
  assert.deepEqual([st.uid, (st.mode & 0o777).toString(8)], [user.uid, '750']);

  // The packaged configuration, as root and as the daemon's user.
  let r = mustInRoot(root, ['sitegate', '--check-config', CONF]);
  assert.match(r.stdout, /valid: site depot-1, 0 chargers, 1 circuit, ocpp ocpp2\.0\.1,ocpp1\.6 on 0\.0\.0\.0:8180, mqtt off, upstream off, web on/);
  r = mustInRoot(root, ['setpriv', '--reuid=sitegate', '--regid=sitegate', '--init-groups', '--',
    'sitegate', '--check-config', CONF]);
  assert.match(r.stdout, /valid/);
  // No password anywhere but in the commented example.
  const live = fs.readFileSync(path.join(root, CONF), 'utf8').split('\n')
    .filter((l) => !/^\s*\/\//.test(l)).join('\n');
  assert.doesNotMatch(live, /password/);

  // An installer's edit by hand: loopback ports of the test's choosing
  // (0: any free one; the log says which), one charger, one token.
  const file = path.join(root, CONF);
  let text = fs.readFileSync(file, 'utf8');
  text = text.replace('"listen": "0.0.0.0:8180"', '"listen": "127.0.0.1:0"')
    .replace('"listen": "0.0.0.0:8080"', '"listen": "127.0.0.1:0"')
    .replace('"chargers": []', `"chargers": [{ "id": "${CHARGER.id}", "password": "${CHARGER.password}", "max_current_a": 32 }]`)
    .replace('"local_list": []', '"local_list": [{ "id_token": "04A2B3C4D5" }]');
  fs.writeFileSync(file, text);
  mustInRoot(root, ['sitegate', '--check-config', CONF]);

  const gw = await new RootDaemon(root).ready();
  state.gw = gw;
  assert.equal(uidOf(gw.proc.pid), user.uid, 'the daemon does not run as sitegate');
  const cp = new SimCharger({ ...CHARGER, version: '1.6', port: gw.ocppPort });
  state.cp = cp;
  const boot = await cp.start();
  assert.equal(boot.status, 'Accepted');
  state.txId = await cp.startTransaction(1);

  // A save from the page under the packaged rights: .tmp, .prev, rename.
  const code = (await gw.waitFor(/\bsetup code (\S+):/))[1];
  const web = new WebClient(gw.webPort);
  assert.equal((await web.setup(code)).status, 200);
  const cur = await web.get('/api/config');
  assert.equal(cur.status, 200);
  cur.json.config.ocpp.heartbeat_interval_s = 600;
  const put = await web.put('/api/config', cur.json.config, { headers: { 'If-Match': cur.json.version } });
  assert.equal(put.status, 200, put.text);
  assert.ok(fs.existsSync(`${file}.prev`), 'no sitegate.json.prev');
  assert.ok(!fs.existsSync(`${file}.tmp`));
  const saved = fs.statSync(file);
  assert.deepEqual([saved.gid, (saved.mode & 0o777).toString(8)], [user.gid, '640']);
  state.edited = fs.readFileSync(file);
  assert.match(state.edited.toString(), /"heartbeat_interval_s":\s*600/);

  await cp.disconnect({ force: true });
  assert.equal((await gw.stop()).code, 0);
  assert.equal(sql(root, 'SELECT count(*) FROM sessions WHERE open = 1'), '1');
});

test('upgrade: the edited configuration, the state and the open session stay', { skip: notRoot, timeout: 300000 }, async () => {
  const { root, cp } = state;
  assert.ok(state.edited, 'no install');
  const before = fs.statSync(path.join(root, STATE));
  aptInstall(root, ['/tmp/sitegate_new.deb']);
  keepDownloads(root);
  assert.doesNotMatch(mustInRoot(root, ['dpkg-query', '-W', 'sitegate']).stdout, /0\.0\.9/);
  assert.deepEqual(fs.readFileSync(path.join(root, CONF)), state.edited, 'the edited configuration changed');
  assert.ok(!fs.existsSync(path.join(root, `${CONF}.dpkg-new`)));
  assert.equal(fs.statSync(path.join(root, STATE)).ino, before.ino);
  assert.equal(sql(root, 'SELECT count(*) FROM sessions WHERE open = 1'), '1');

  const gw = await new RootDaemon(root).ready();
  cp.opts.port = gw.ocppPort;
  await cp.reconnect();
  await cp.stopTransaction(1);		// rejects on a CALLERROR
  await cp.close();
  assert.equal((await gw.stop()).code, 0);
  assert.equal(sql(root, 'SELECT count(*) FROM sessions WHERE open = 1'), '0');
  assert.equal(sql(root, 'SELECT count(*) FROM sessions'), '1');
});

test('the unit: systemd-analyze verify on the installed tree', { skip: notRoot }, () => {
  assert.ok(state.edited, 'no install');
  const r = inRoot(state.root, ['systemd-analyze', 'verify', '--man=no', '/lib/systemd/system/sitegate.service']);
  assert.equal(r.code, 0, r.all);
  assert.equal(r.all.trim(), '', r.all);
});

// ------------------------------------------------------------ systemd-nspawn --boot

// Run argv in the booted container's namespaces.
function inContainer(pid, argv, opts = {}) {
  return run('nsenter', ['-t', String(pid), '-a', '--', ...argv], { env: ROOT_ENV, ...opts });
}
function prop(pid, name) {
  return inContainer(pid, ['systemctl', 'show', '-P', name, 'sitegate']).stdout.trim();
}
async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('systemd-nspawn --boot: start, reload, watchdog restart, stop', { skip: notRoot, timeout: 300000 }, async (t) => {
  const { root } = state;
  assert.ok(state.edited, 'no install');
  const probe = run('systemd-nspawn', ['--version']);
  if (probe.code !== 0) { t.skip('systemd-nspawn is not installed (apt-get install systemd-container)'); return; }
  // A short watchdog, so that a hung daemon is restarted within the test.
  assert.ok(fs.readFileSync(path.join(root, 'usr/sbin/sitegate')).includes('NOTIFY_SOCKET'),
    'the packaged daemon does not speak sd_notify');
  const dropin = path.join(root, 'etc/systemd/system/sitegate.service.d');
  fs.mkdirSync(dropin, { recursive: true });
  fs.writeFileSync(path.join(dropin, 'test.conf'),
    '[Service]\nWatchdogSec=3s\nTimeoutAbortSec=5s\nRestartSec=1s\n');
  const [ocpp, webp] = [await freePort(), await freePort()];
  const file = path.join(root, CONF);
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  cfg.ocpp.listen = `127.0.0.1:${ocpp}`;
  cfg.web.listen = `127.0.0.1:${webp}`;
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2));

  const log = path.join(path.dirname(root), 'nspawn.log');
  const out = fs.openSync(log, 'w');
  const ns = spawn('systemd-nspawn', ['-q', '-D', root, '--register=no', '--keep-unit',
    `--machine=sgtest${process.pid}`, '--boot'], { stdio: ['ignore', out, out] });
  const nsExit = new Promise((r) => ns.on('close', (code) => r(code)));
  let init = null;
  try {
    init = await until('the container to start', () => {
      if (ns.exitCode !== null) throw new Error(`systemd-nspawn exited ${ns.exitCode}: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
      try {
        return fs.readFileSync(`/proc/${ns.pid}/task/${ns.pid}/children`, 'utf8').trim().split(/\s+/)[0] || null;
      } catch { return null; }
    }, 20000).catch((e) => { t.skip(`systemd-nspawn --boot cannot run here: ${e.message}`); return null; });
    if (!init) return;
    const booted = await until('systemd to finish booting', () => /running|degraded/.test(
      inContainer(init, ['systemctl', 'is-system-running']).stdout), 60000).catch((e) => e);
    if (booted instanceof Error) {
      t.skip(`systemd-nspawn --boot cannot run here: ${booted.message}: ` +
        `${inContainer(init, ['systemctl', 'is-system-running']).all.trim()}; ` +
        `${fs.readFileSync(log, 'utf8').slice(-1500)}`);
      return;
    }

    // Enabled by the package: started at boot.
    await until('sitegate active', () => prop(init, 'ActiveState') === 'active', 30000);
    const pid = Number(prop(init, 'MainPID'));	// in the container's pid namespace
    const user = passwd(root, 'sitegate');
    const status = inContainer(init, ['cat', `/proc/${pid}/status`]).stdout;
    assert.match(status, new RegExp(`^Uid:\\s+${user.uid}\\s`, 'm'), 'the unit does not run the daemon as sitegate');
    const cp = new SimCharger({ ...CHARGER, version: '2.0.1', port: ocpp });
    assert.equal((await cp.start()).status, 'Accepted');

    // The sandbox lets the page save (ReadWritePaths=/etc/sitegate).
    const web = new WebClient(webp);
    assert.equal((await web.login(PASSWORD)).status, 200);
    const cur = await web.get('/api/config');
    cur.json.config.ocpp.heartbeat_interval_s = 900;
    const put = await web.put('/api/config', cur.json.config, { headers: { 'If-Match': cur.json.version } });
    assert.equal(put.status, 200, put.text);

    // Reload: SIGHUP, the same process, chargers stay connected.
    const r = inContainer(init, ['systemctl', 'reload', 'sitegate']);
    assert.equal(r.code, 0, r.all);
    await until('the reload in the journal', () => /reloading signal=HUP/.test(
      inContainer(init, ['journalctl', '-u', 'sitegate', '--no-pager', '-o', 'cat']).stdout), 10000);
    assert.equal(Number(prop(init, 'MainPID')), pid);
    assert.ok(cp.connected());
    await cp.close();

    {
      // A hung loop (SIGSTOP) stops feeding the watchdog: systemd
      // restarts the daemon.
      assert.equal(inContainer(init, ['kill', '-STOP', String(pid)]).code, 0);
      await until('a new main process after the watchdog', () => {
        const p = Number(prop(init, 'MainPID'));
        return p !== 0 && p !== pid && prop(init, 'ActiveState') === 'active';
      }, 30000);
      assert.ok(Number(prop(init, 'NRestarts')) >= 1);
      assert.match(inContainer(init, ['journalctl', '-u', 'sitegate', '--no-pager']).stdout, /[Ww]atchdog/);
    }
    assert.equal(inContainer(init, ['systemctl', 'stop', 'sitegate']).code, 0);
    assert.equal(prop(init, 'ActiveState'), 'inactive');
    assert.equal(prop(init, 'Result'), 'success');
  } finally {
    if (ns.exitCode === null) ns.kill('SIGTERM');	// a clean poweroff of the container
    const timer = setTimeout(() => ns.kill('SIGKILL'), 30000);
    await nsExit;
    clearTimeout(timer);
    fs.rmSync(dropin, { recursive: true, force: true });
  }
});

test('purge: the configuration and the state go, the system user stays', { skip: notRoot, timeout: 120000 }, () => {
  const { root } = state;
  assert.ok(state.edited, 'no install');
  mustInRoot(root, ['apt-get', 'purge', '-y', '-q', 'sitegate']);
  assert.ok(!fs.existsSync(path.join(root, 'etc/sitegate')), '/etc/sitegate is still there');
  assert.ok(!fs.existsSync(path.join(root, 'var/lib/sitegate')), '/var/lib/sitegate is still there');
  assert.ok(!fs.existsSync(path.join(root, 'usr/sbin/sitegate')));
  assert.ok(passwd(root, 'sitegate'), 'the system user is documented to stay');
});

test.after(async () => {
  // A failed assertion leaves its daemon running: stop it (its mounts go
  // with it), or node would wait for it.
  await Promise.all(daemons.map((d) => d.stop()));
  for (const cp of [state.cp]) if (cp) await cp.close().catch(() => {});
  if (process.env.SITEGATE_KEEP_ROOT) return;
  for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
});
