#!/usr/bin/env node
'use strict';
// gen-schema — writes the C tables of src/ocpp/schema from the official
// OCPP JSON schemas.
//
//   node tools/gen-schema.js [--out DIR] [VERSION ...]
//
// VERSION is 1.6, 2.0.1 or 2.1 (default: 1.6 and 2.0.1, the two the
// gateway speaks); each is written to DIR/schema_v16.c, schema_v201.c,
// schema_v21.c (default DIR: src/ocpp). `make schema` rewrites the three
// committed files; `make schema-check` writes them into build/ and fails
// when any differs from the committed one.
//
// The schemas are those the ocpp-rpc npm package carries (installed by the
// tests: tests/node_modules); they are read, never copied into the
// project. tools/schema-overlay.js holds the only changes applied to them,
// each with its reason.
//
// Each object type becomes one table of struct jc_field (util/jcheck.h),
// each enumeration one string array. Equal ones are written once, so that
// the many copies of a type across messages (IdTagInfo, ChargingProfileType,
// EVSEType, ...) share one table; a message's payload has a table of its
// own, named after the message ("MeterValuesReq", "MeterValuesConf"). Other
// tables are named after the schema's definition ("ChargingProfileType")
// or, for an object written inline, its member ("IdTagInfo"); enums as
// nameEnums() says. A keyword the C tables cannot state fails the run
// instead of being dropped. The output depends on nothing but the schemas
// and the overlay, so that regenerating is a byte-for-byte check.

const fs = require('node:fs');
const path = require('node:path');
const overlay = require('./schema-overlay.js');

const ROOT = path.resolve(__dirname, '..');
const VERSIONS = {
  '1.6': { file: 'ocpp1_6.json', tag: 'v16', title: 'OCPP 1.6 and its\n * security extension' },
  '2.0.1': { file: 'ocpp2_0_1.json', tag: 'v201', title: 'OCPP 2.0.1' },
  '2.1': { file: 'ocpp2_1.json', tag: 'v21', title: 'OCPP 2.1' },
};
// Keywords that state no rule (or, for additionalItems, none beyond an
// "items" that is one schema) and are left out.
const IGNORED = new Set(['$schema', '$id', 'description', 'comment', 'javaType', 'default', 'definitions',
  'additionalItems']);
const KNOWN = new Set([...IGNORED, 'type', 'properties', 'required', 'additionalProperties', 'items',
  'minItems', 'maxItems', 'maxLength', 'minLength', 'enum', 'format', 'minimum', 'maximum', 'multipleOf',
  '$ref', 'ownLimits']);

function die(msg) {
  process.stderr.write(`gen-schema: ${msg}\n`);
  process.exit(1);
}

function packageDir() {
  try {
    return path.dirname(require.resolve('ocpp-rpc/package.json', { paths: [path.join(ROOT, 'tests')] }));
  } catch (e) {
    return die('ocpp-rpc is not installed (make npm-deps installs it into tests/node_modules)');
  }
}

// "urn:MeterValues.req" (1.6, 2.0.1), "urn:MeterValuesRequest" (2.1), or
// "urn:NotifyPeriodicEventStream" (a 2.1 SEND: a request without response).
function parseId(id) {
  const m = /^urn:(\w+?)(?:\.(req|conf)|(Request|Response))?$/.exec(id || '');
  if (!m) die(`unexpected $id ${id}`);
  return { action: m[1], req: m[2] !== 'conf' && m[3] !== 'Response', send: !m[2] && !m[3] };
}

function deref(root, s, where) {
  let name = null;
  while (s && s.$ref) {
    const m = /^#\/definitions\/(.+)$/.exec(s.$ref);
    if (!m || !root.definitions || !root.definitions[m[1]]) die(`${where}: cannot follow $ref ${s.$ref}`);
    name = m[1];
    s = root.definitions[name];
  }
  return { s, name };
}

// ------------------------------------------------------------------ overlay

function applyPatch(byName, p) {
  const [msg, at] = p.at.split(' ');
  const root = byName.get(msg);
  if (!root) die(`overlay: no message ${msg}`);
  let s = root;
  for (const step of at.split('.')) {
    const m = /^(\w+)((?:\[\])*)$/.exec(step);
    if (!m) die(`overlay: bad path ${p.at}`);
    s = deref(root, s, p.at).s;
    s = s.properties && s.properties[m[1]];
    if (!s) die(`overlay: ${p.at}: no member ${m[1]}`);
    for (let i = 0; i < m[2].length / 2; i++) {
      s = deref(root, s, p.at).s;
      if (!s.items) die(`overlay: ${p.at}: ${m[1]} is not an array`);
      s = s.items;
    }
  }
  s = deref(root, s, p.at).s;
  const was = p.was || {};
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  for (const k of new Set([...Object.keys(was), ...Object.keys(p.set || {})]))
    if (!same(s[k], was[k]))
      die(`overlay: ${p.at}: ${k} is ${JSON.stringify(s[k])}, the overlay expects ${JSON.stringify(was[k])}`);
  Object.assign(s, p.set || {});
  for (const [k, vals] of Object.entries(p.add || {})) {
    if (!Array.isArray(s[k])) die(`overlay: ${p.at}: ${k} is not a list`);
    for (const v of vals) {
      if (s[k].includes(v)) die(`overlay: ${p.at}: ${k} has ${JSON.stringify(v)} already`);
      s[k] = [...s[k], v];
    }
  }
}

// ------------------------------------------------------------------ compile

// One version's tables: enums and objects by content, each with a C name.
class Tables {
  constructor() {
    this.enums = new Map();		// content key -> { name, values }
    this.objects = new Map();		// content key -> { name, rows, open }
    this.names = new Set();
    this.order = [];			// objects, each after those it uses
  }

  unique(base) {
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  // An enum's name waits until every use is known: a schema's definition
  // name when it has one, else its owner and member when used once, else
  // its values when those are short ("e_Accepted_Rejected"), else its
  // first use.
  enumOf(values, def, owner, member) {
    const key = JSON.stringify(values);
    if (!this.enums.has(key)) this.enums.set(key, { id: this.enums.size, values, defs: [], uses: [] });
    const e = this.enums.get(key);
    if (def && !e.defs.includes(def)) e.defs.push(def);
    e.uses.push(`${owner}_${member}`);
    return e.id;
  }

  nameEnums() {
    for (const e of this.enums.values()) {
      const byValues = e.values.join('_').replace(/[^A-Za-z0-9_]/g, '_');
      const base = e.defs.length > 0 ? e.defs[0] : new Set(e.uses).size === 1 ? e.uses[0] :
        byValues.length <= 32 ? byValues : e.uses[0];
      e.name = this.unique(`e_${base}`);
    }
    this.enumNames = [...this.enums.values()].map((e) => e.name);
  }

  // A message's payload gets a table of its own, named after the message;
  // a type within one is shared by every message that has the same.
  objectOf(root, s, hint, where, payload = false) {
    const rows = [];
    const req = new Set(s.required || []);
    for (const k of req)
      if (!s.properties || !s.properties[k]) die(`${where}: required ${k} is no property`);
    // Rows in the schema's order, but customData (never required, rarely
    // sent, in every 2.0.1 object) last: the walk finds a member's row by
    // a linear search, and the order of rows matters only among required
    // ones (the first missing one is reported).
    const props = Object.entries(s.properties || {});
    for (const [k, p] of [...props.filter(([k]) => k !== 'customData'), ...props.filter(([k]) => k === 'customData')])
      rows.push(this.row(root, k, p, req.has(k), hint, `${where}.${k}`));
    const open = s.additionalProperties !== false;
    if (s.additionalProperties !== undefined && typeof s.additionalProperties !== 'boolean')
      die(`${where}: additionalProperties must be a boolean`);
    const key = payload ? `payload ${hint}` : JSON.stringify([rows, open]);
    if (!this.objects.has(key)) {
      const o = { name: this.unique(`o_${hint}`), rows, open };
      this.objects.set(key, o);
      this.order.push(o);
    }
    return this.objects.get(key).name;
  }

  row(root, name, prop, required, owner, where) {
    let { s, name: def } = deref(root, prop, where);
    checkKeywords(s, where);
    const r = { name, type: null, flags: required ? ['JC_REQUIRED'] : [] };
    if (s.type === 'array') {
      for (const k of Object.keys(s))
        if (!IGNORED.has(k) && !['type', 'items', 'minItems', 'maxItems'].includes(k))
          die(`${where}: ${k} on an array`);
      r.flags.push('JC_LIST');
      if (s.minItems) r.min_items = s.minItems;
      if (s.maxItems) r.max_items = s.maxItems;
      if (!s.items || Array.isArray(s.items)) die(`${where}: an array needs one "items" schema`);
      ({ s, name: def } = deref(root, s.items, where));
      checkKeywords(s, `${where}[]`);
      if (s.type === 'array') die(`${where}: an array of arrays`);
    }
    const hint = def || (name.charAt(0).toUpperCase() + name.slice(1));
    switch (s.type) {
    case 'string':
      r.type = 'JC_STRING';
      if (s.enum) {
        if (!s.enum.every((v) => typeof v === 'string')) die(`${where}: an enum of non-strings`);
        r.enums = this.enumOf(s.enum, def, owner, name);
        r.nenums = s.enum.length;
      }
      if (s.minLength) r.min_len = s.minLength;
      if (s.maxLength) r.max_len = s.maxLength;
      if (s.format === 'date-time') r.format = 'JC_DATETIME';
      else if (s.format === 'uri') r.format = 'JC_URI';
      else if (s.format !== undefined) die(`${where}: format ${s.format}`);
      break;
    case 'integer':
    case 'number':
      r.type = s.type === 'integer' ? 'JC_INTEGER' : 'JC_NUMBER';
      if (s.minimum !== undefined) { r.flags.push('JC_MIN'); r.min = s.minimum; }
      if (s.maximum !== undefined) { r.flags.push('JC_MAX'); r.max = s.maximum; }
      if (s.ownLimits) {
        if (s.minimum === undefined || s.maximum === undefined) die(`${where}: ownLimits needs both bounds`);
        r.flags.push('JC_OWN_LIMITS');
      }
      if (s.multipleOf !== undefined) r.multiple_of = s.multipleOf;
      break;
    case 'boolean':
      r.type = 'JC_BOOL';
      break;
    case 'object':
      r.type = 'JC_OBJECT';
      r.fields = this.objectOf(root, s, hint, where);
      break;
    case undefined:
      r.type = 'JC_ANY';
      break;
    default:
      die(`${where}: type ${JSON.stringify(s.type)}`);
    }
    const stated = { string: ['enum', 'minLength', 'maxLength', 'format'],
      integer: ['minimum', 'maximum', 'multipleOf', 'ownLimits'],
      number: ['minimum', 'maximum', 'multipleOf', 'ownLimits'], object: ['properties', 'required',
        'additionalProperties'] }[s.type] || [];
    for (const k of ['enum', 'minLength', 'maxLength', 'format', 'minimum', 'maximum', 'multipleOf',
      'ownLimits', 'properties', 'required', 'minItems', 'maxItems'])
      if (s[k] !== undefined && !stated.includes(k)) die(`${where}: ${k} on a ${s.type || 'value of any type'}`);
    return r;
  }
}

function checkKeywords(s, where) {
  for (const k of Object.keys(s))
    if (!KNOWN.has(k)) die(`${where}: keyword ${k} is not supported`);
}

// ------------------------------------------------------------------ write C

function cNumber(x) {
  if (!Number.isFinite(x)) die(`number ${x}`);
  return String(x);
}

function cString(s) {
  return `"${s.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, (c) => {
    if (c.charCodeAt(0) > 0xff) die(`string ${JSON.stringify(s)}: not ASCII`);
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  })}"`;
}

// parts joined by sep (the last one followed by last) in lines of at most
// 80 columns (a tab counts 8), the first line starting with first, the
// others with more.
function wrap(first, parts, sep, more, last) {
  const width = (s) => s.replace(/\t/g, '        ').length;
  const lines = [];
  let cur = first;
  parts.forEach((p, i) => {
    const piece = p + (i < parts.length - 1 ? sep.trimEnd() : last);
    if (i > 0 && width(`${cur} ${piece}`) > 80) {
      lines.push(cur);
      cur = more + piece;
    } else {
      cur += (i > 0 ? ' ' : '') + piece;
    }
  });
  lines.push(cur);
  return lines.join('\n');
}

function rowC(r, names) {
  const parts = [`.name = ${r.name === null ? 'NULL' : cString(r.name)}`];
  if (r.name !== null) parts.push(`.type = ${r.type}`);
  if (r.name === null && r.open) parts.push('.flags = JC_OPEN');
  else if (r.name !== null && r.flags.length) parts.push(`.flags = ${r.flags.join(' | ')}`);
  if (r.format) parts.push(`.format = ${r.format}`);
  if (r.enums !== undefined) parts.push(`.enums = ${names[r.enums]}`, `.nenums = ${r.nenums}`);
  for (const k of ['min_len', 'max_len', 'min_items', 'max_items'])
    if (r[k] !== undefined) parts.push(`.${k} = ${r[k]}`);
  for (const k of ['min', 'max', 'multiple_of'])
    if (r[k] !== undefined) parts.push(`.${k} = ${cNumber(r[k])}`);
  if (r.fields) parts.push(`.fields = ${r.fields}`);
  return wrap('\t{ ', parts, ', ', '\t  ', ' },');
}

function generate(version, pkg) {
  const v = VERSIONS[version];
  const list = JSON.parse(fs.readFileSync(path.join(pkg.dir, 'lib', 'schemas', v.file), 'utf8'));
  const byName = new Map();
  const sends = new Set();
  for (const s of list) {
    const { action, req, send } = parseId(s.$id);
    byName.set(`${action}.${req ? 'req' : 'conf'}`, s);
    if (send) sends.add(action);
  }
  for (const p of overlay.patches[version] || []) applyPatch(byName, p);

  const t = new Tables();
  const actions = new Map();
  for (const [key, s] of [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [action, kind] = key.split('.');
    if (s.type !== 'object') die(`${key}: the payload is not an object`);
    checkKeywords(s, key);
    const name = t.objectOf(s, s, `${action}${kind === 'req' ? 'Req' : 'Conf'}`, key, true);
    if (!actions.has(action)) actions.set(action, {});
    actions.get(action)[kind] = name;
  }
  const names = [...actions.keys()].sort();	// ASCII: strcmp's order, for bsearch
  for (const a of names) {
    const { req, conf } = actions.get(a);
    if (!req || (!conf && !sends.has(a)) || (conf && sends.has(a)))
      die(`${version} ${a}: expected a request and a response, or a request alone for a SEND`);
    if (!conf) actions.get(a).conf = 'NULL';
  }

  t.nameEnums();
  const [imin, imax] = overlay.limits.integer;
  const [nmin, nmax] = overlay.limits.number;
  const out = [];
  out.push('/*');
  out.push(` * schema_${v.tag} — the tables of ocpp/schema for ${v.title}.`);
  out.push(' *');
  out.push(' * GENERATED by tools/gen-schema.js: do not edit. It read the official');
  out.push(` * schemas of ocpp-rpc ${pkg.version} (lib/schemas/${v.file}) and applied`);
  out.push(' * tools/schema-overlay.js; change those and run `make schema`. `make');
  out.push(' * check` fails when this file differs from what the generator writes.');
  out.push(' */');
  out.push('#include "ocpp/schema.h"');
  out.push('#include "ocpp/schema_tables.h"');
  out.push('');
  out.push('/* The decimal bound of the overlay is the one the codecs clamp to. */');
  out.push(`_Static_assert((long long)${cNumber(overlay.limits.assertNumMax)} == (long long)SCHEMA_NUM_MAX,`);
  out.push('    "tools/schema-overlay.js and SCHEMA_NUM_MAX disagree");');
  for (const e of t.enums.values()) {
    out.push('');
    out.push(`static const char *const ${e.name}[] = {`);
    out.push(wrap('\t', e.values.map(cString), ', ', '\t', ','));
    out.push('};');
  }
  for (const o of t.order) {
    out.push('');
    out.push(`static const struct jc_field ${o.name}[] = {`);
    for (const r of o.rows) out.push(rowC(r, t.enumNames));
    out.push(rowC({ name: null, open: o.open }, t.enumNames));
    out.push('};');
  }
  out.push('');
  out.push('static const struct schema_action actions[] = {');
  for (const a of names)
    out.push(wrap('\t{ ', [cString(a), actions.get(a).req, actions.get(a).conf], ', ', '\t  ', ' },'));
  out.push('};');
  out.push('');
  out.push(`const struct schema_set schema_${v.tag} = {`);
  out.push('\t.actions = actions,');
  out.push('\t.nactions = sizeof(actions) / sizeof(actions[0]),');
  out.push(`\t.limits = { .int_min = ${cNumber(imin)}, .int_max = ${cNumber(imax)},`);
  out.push(`\t    .num_min = ${cNumber(nmin)}, .num_max = ${cNumber(nmax)} },`);
  out.push('};');
  return { file: `schema_${v.tag}.c`, text: out.join('\n') + '\n', actions: names.length,
    tables: t.order.length, enums: t.enums.size };
}

function main(argv) {
  let out = path.join(ROOT, 'src', 'ocpp');
  const versions = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && i + 1 < argv.length) out = path.resolve(argv[++i]);
    else if (VERSIONS[argv[i]]) versions.push(argv[i]);
    else die(`usage: gen-schema.js [--out DIR] [${Object.keys(VERSIONS).join('|')} ...]`);
  }
  if (versions.length === 0) versions.push('1.6', '2.0.1');
  const dir = packageDir();
  const pkg = { dir, version: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version };
  fs.mkdirSync(out, { recursive: true });
  for (const version of versions) {
    const g = generate(version, pkg);
    fs.writeFileSync(path.join(out, g.file), g.text);
    process.stdout.write(`${path.relative(process.cwd(), path.join(out, g.file))}: ${version}, ` +
      `${g.actions} actions, ${g.tables} tables, ${g.enums} enums\n`);
  }
}

main(process.argv.slice(2));
