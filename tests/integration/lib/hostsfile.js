'use strict';
// The environment that puts a hosts file of the test's own under the
// gateway, through the hostsfile LD_PRELOAD shim (tests/shim/hostsfile.c):
// the gateway's resolver (libevent's evdns) reads it where it would read
// /etc/hosts. For names that resolve to several addresses in a chosen
// order (Debian's localhost: ::1, then 127.0.0.1) without root.

const fs = require('node:fs');
const path = require('node:path');

const SHIM_DIR = process.env.SITEGATE_SHIM ? path.dirname(process.env.SITEGATE_SHIM) :
  path.resolve(__dirname, '../../../build/shim');
const SHIM = path.join(SHIM_DIR, 'hostsfile.so');

// Write `lines` (an array of "address name..." lines) as dir/hosts and
// return the environment for startGateway's opts.env. The ASan runtime
// refuses a library preloaded before it unless told not to check; the
// other ASan options stay as they were.
function hostsEnv(dir, lines) {
  if (!fs.existsSync(SHIM)) {
    throw new Error(`the hostsfile shim ${SHIM} is missing: make build/shim/hostsfile.so`);
  }
  const file = path.join(dir, 'hosts');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const asan = [process.env.ASAN_OPTIONS, 'verify_asan_link_order=0'].filter(Boolean).join(':');
  return { LD_PRELOAD: SHIM, ASAN_OPTIONS: asan, SITEGATE_HOSTS: file };
}

module.exports = { hostsEnv };
