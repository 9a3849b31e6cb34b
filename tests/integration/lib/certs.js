'use strict';
// Test certificates, made with the openssl CLI into a directory: a CA, a
// server certificate for localhost / 127.0.0.1 (and one for 127.0.0.1
// alone, one for another host), client certificates whose
// subject CN is a charger id, and a second, unrelated CA with a client
// certificate of its own (the "unknown certificate" of profile 3). EC P-256
// keys, so generating them takes milliseconds.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir, name) {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2',
    '-subj', `/CN=sitegate test ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

function makeLeaf(dir, ca, name, cn, ext) {
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext + '\n');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key,
    '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

// Everything a TLS test needs, as file paths.
function makeCerts(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const ca = makeCa(dir, 'ca');
  const otherCa = makeCa(dir, 'other-ca');
  const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth';
  const clientExt = 'extendedKeyUsage=clientAuth';
  return {
    ca,
    otherCa,
    server: makeLeaf(dir, ca, 'server', 'localhost', serverExt),
    wrongHost: makeLeaf(dir, ca, 'wrong-host', 'example.invalid',
      'subjectAltName=DNS:example.invalid\nextendedKeyUsage=serverAuth'),
    ipOnly: makeLeaf(dir, ca, 'ip-only', 'sitegate test ip-only',
      'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'),
    client: (cn) => makeLeaf(dir, ca, `client-${cn}`, cn, clientExt),
    stranger: (cn) => makeLeaf(dir, otherCa, `stranger-${cn}`, cn, clientExt),
  };
}

module.exports = { makeCerts };
