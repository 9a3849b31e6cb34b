'use strict';
// Conformance of src/ocpp/schema with an independent implementation: ajv
// (draft-07, ajv-formats for date-time and uri) running the official OCPP
// JSON schemas that the ocpp-rpc npm package carries. They are read from
// node_modules here and never copied into the project.
//
// For every request and response of OCPP 1.6 (security extension included)
// and OCPP 2.0.1 a seeded generator builds valid payloads from the schema
// (all optional fields absent, all present, random mixes) and mutated ones,
// each breaking one rule somewhere in the tree: a required field dropped, a
// wrong JSON type, a fraction for an integer, a number out of range, a
// string one character too long, a bad enum value, an unknown property, a
// bad date-time or uri, a limit that is not a multiple of 0.1, too few or
// too many array items, customData without vendorId, a payload that is not
// an object. One schema_check process validates them all. Our verdict
// (ok / violation) must equal ajv's on every payload; for a violation our
// CallError code and JSON path must be the ones the mutation implies.
//
// SCHEMA_SEED=<n> replays a run (the seed is printed); SCHEMA_ROUNDS=<n>
// multiplies the number of payloads.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const TOOL = path.join(process.env.SITEGATE_TOOLS || path.resolve(__dirname, '../../build/asan/tools'),
  'schema_check');
const SEED = Number(process.env.SCHEMA_SEED || 20260721) >>> 0;
const ROUNDS = Math.max(1, Number(process.env.SCHEMA_ROUNDS || 1));
const VALID_PER_SCHEMA = 6;	// plus the all-absent and all-present ones
const MUTATED_PER_SCHEMA = 48;

// ---------------------------------------------------------------- schemas

const SCHEMA_DIR = path.join(path.dirname(require.resolve('ocpp-rpc/package.json')), 'lib', 'schemas');

function loadSchemas(file) {
  return JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, file), 'utf8'));
}

function byId(list, id) {
  const s = list.find((x) => x.$id === id);
  assert.ok(s, `ocpp-rpc has no schema ${id}`);
  return s;
}

// ocpp-rpc carries the OCA's schemas as published. src/ocpp/schema follows
// the errata-corrected set (see schema.h) in three places; apply the same
// facts to the in-memory copy, checking each one is still what we expect,
// so that a change in ocpp-rpc shows up here instead of being papered over.
function overlayErrata(v16, v201) {
  const units16 = ['Wh', 'kWh', 'varh', 'kvarh', 'W', 'kW', 'VA', 'kVA', 'var', 'kvar', 'A', 'V', 'K',
    'Celcius', 'Celsius', 'Fahrenheit', 'Percent'];
  // 1.6 MeterValues.req: meterValue 1..*, sampledValue 1..*, unit "Hertz" (errata v4).
  const mv = byId(v16, 'urn:MeterValues.req').properties.meterValue;
  assert.equal(mv.minItems, undefined);
  mv.minItems = 1;
  assert.equal(mv.items.properties.sampledValue.minItems, undefined);
  mv.items.properties.sampledValue.minItems = 1;
  // "Hertz" in both places where a 1.6 unit of measure occurs.
  const stop = byId(v16, 'urn:StopTransaction.req').properties.transactionData;
  for (const unit of [mv.items.properties.sampledValue.items.properties.unit,
    stop.items.properties.sampledValue.items.properties.unit]) {
    assert.deepEqual(unit.enum, units16);
    unit.enum = [...units16, 'Hertz'];
  }
  // 2.0.1 Get15118EVCertificate.conf: exiResponse up to 7500 (not 5600).
  const exi = byId(v201, 'urn:Get15118EVCertificate.conf').properties.exiResponse;
  assert.equal(exi.maxLength, 5600);
  exi.maxLength = 7500;
}

// src/ocpp/schema also holds numbers to what OCPP's data types say and the
// model can hold (schema.h): an integer is 32 bits (both specifications
// define their integer type so), the 1.6 energy registers meterStart and
// meterStop are 0..1e15 Wh, and a decimal number is within +-1e15. The
// schemas leave most of these unbounded; state the same bounds on the
// in-memory copy, so that ajv judges by the same rules and the generator
// and the 'out of range' mutations exercise their edges.
const INT32 = { minimum: -(2 ** 31), maximum: 2 ** 31 - 1 };
const NUM_MAX = 1e15;
const WH_REGISTERS = { 'urn:StartTransaction.req': 'meterStart', 'urn:StopTransaction.req': 'meterStop' };

function overlayBounds(list) {
  const walk = (s, wh) => {
    if (!s || typeof s !== 'object') return;
    if (s.type === 'integer') {
      if (wh) Object.assign(s, { minimum: 0, maximum: NUM_MAX });
      else {
        s.minimum = Math.max(s.minimum ?? INT32.minimum, INT32.minimum);
        s.maximum = Math.min(s.maximum ?? INT32.maximum, INT32.maximum);
      }
    } else if (s.type === 'number') {
      assert.equal(s.minimum, undefined);
      assert.equal(s.maximum, undefined);
      Object.assign(s, { minimum: -NUM_MAX, maximum: NUM_MAX });
    }
    for (const [k, v] of Object.entries(s.properties || {})) walk(v, k === wh);
    walk(s.items, false);
    for (const d of Object.values(s.definitions || {})) walk(d, false);
  };
  for (const schema of list) {
    const wh = WH_REGISTERS[schema.$id];
    if (wh) assert.equal(schema.properties[wh].type, 'integer');
    walk(schema, wh);
  }
}

function makeAjv(list) {
  const ajv = new Ajv({ strictSchema: false, allErrors: false });
  addFormats(ajv);
  // As ocpp-rpc (and src/ocpp/schema) do: multipleOf with a tolerance, or
  // 0.3 would not be a multiple of 0.1 in binary floating point.
  ajv.removeKeyword('multipleOf');
  ajv.addKeyword({
    keyword: 'multipleOf',
    type: 'number',
    compile: (m) => (data) => {
      const q = data / m;
      return Math.abs(Math.round(q) - q) < 1e-6;
    },
    errors: false,
    metaSchema: { type: 'number' },
  });
  for (const s of list) ajv.addSchema(s);
  return ajv;
}

// ---------------------------------------------------------------- generator

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Code points, not UTF-16 units: maxLength counts code points, and so must
// the generator. Non-ASCII, quotes, backslashes and control characters all
// occur (not U+0000: a C string ends there).
const ALPHABET = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:/+',
  'é', 'ß', '€', '中', '😀', '𝄞', '"', '\\', '\n', '\t', '\u0001', '\u007f', '\u2028'];

const GOOD_DATES = ['2024-02-29T12:34:56Z', '2026-07-21T00:00:00.000Z', '1999-12-31T23:59:59.999999Z',
  '2025-01-01T08:00:00+05:30', '2025-06-30T23:59:59-08:00', '2025-03-01t10:00:00z',
  '2030-10-10T10:10:10.1+00:00', '2024-12-31T23:59:60Z'];
const BAD_DATES = ['yesterday', '', '2024-01-01', '2024-13-01T00:00:00Z',
  '2023-02-29T00:00:00Z', '2024-01-32T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T10:60:00Z',
  '2024-01-01T10:00Z', '2024-01-01T10:00:00.Z', '24-01-01T10:00:00Z', '2024-01-01T10:00:00Zjunk',
  '2024-01-01T10:00:00+5:00', '2024-1-01T10:00:00Z', ' 2024-01-01T10:00:00Z'];
const GOOD_URIS = ['ftp://diag.example.com/upload', 'https://fw.example.com/v1.2/image.bin?sig=abc%20d#x',
  'ftp://user:secret@10.0.0.1:2121/logs/', 'urn:isbn:0451450523', 'http://[2001:db8::1]:8080/a',
  'sftp://host/~/x;y=z', 'mailto:ops@example.com'];
const BAD_URIS = ['not a uri', '/relative/path', 'example.com/firmware.bin', 'http://exa mple.com/',
  'ftp://host/%zz', '://host/x', 'http://host/ü', '', '1ftp://host/'];
const NUMBERS = [0, 1, -1, 12.5, -0.25, 1e-7, 123456.789, 2 ** 40, 3.14159];
const INTEGERS = [0, 1, -1, 7, 42, -300, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, 1e15];

class Gen {
  constructor(seed) { this.r = mulberry32(seed); }

  int(lo, hi) { return lo + Math.floor(this.r() * (hi - lo + 1)); }

  pick(a) { return a[Math.floor(this.r() * a.length)]; }

  chance(p) { return this.r() < p; }

  string(n) {
    let s = '';
    for (let i = 0; i < n; i++) s += this.pick(ALPHABET);
    return s;
  }

  stringFor(max) {
    if (!max) return this.string(this.int(0, 24));
    // The exact limit often for short ones, now and then for long ones.
    if (this.chance(max <= 100 ? 0.3 : 0.04)) return this.string(max);
    return this.string(this.int(0, Math.min(max, 24)));
  }

  any(depth = 0) {
    switch (this.int(0, depth > 1 ? 3 : 5)) {
    case 0: return this.string(this.int(0, 10));
    case 1: return this.pick(NUMBERS);
    case 2: return this.pick([true, false, null]);
    case 3: return null;
    case 4: return { key: this.any(depth + 1), n: this.int(0, 9) };
    default: return [this.any(depth + 1), this.any(depth + 1)];
    }
  }

  customData() {
    const cd = { vendorId: this.stringFor(255) };
    if (this.chance(0.5)) cd[this.pick(['extra', 'vendorSpecific', 'x'])] = this.any();
    return cd;
  }

  // A valid value for schema s (root is the message schema, for $ref).
  // mode: 'min' leaves out every optional field, 'max' puts all in.
  value(root, s, mode) {
    s = deref(root, s);
    switch (s.type) {
    case 'object': {
      const o = {};
      const req = new Set(s.required || []);
      for (const [k, p] of Object.entries(s.properties || {})) {
        const put = req.has(k) || (mode === 'max' ? true : mode === 'min' ? false : this.chance(0.5));
        if (!put) continue;
        o[k] = k === 'customData' && mode !== 'max' ? this.customData() : this.value(root, p, mode);
      }
      return o;
    }
    case 'array': {
      const lo = s.minItems || 0;
      const hi = Math.min(s.maxItems || Infinity, lo + 3);
      const n = mode === 'min' ? lo : mode === 'max' ? Math.max(lo, Math.min(hi, 2)) : this.int(lo, hi);
      return Array.from({ length: n }, () => this.value(root, s.items, mode));
    }
    case 'string':
      if (s.enum) return this.pick(s.enum);
      if (s.format === 'date-time') return this.pick(GOOD_DATES);
      if (s.format === 'uri') return this.pick(GOOD_URIS);
      return this.stringFor(s.maxLength);
    case 'integer': {
      if (s.minimum !== undefined || s.maximum !== undefined) {
        const lo = s.minimum ?? -1000, hi = s.maximum ?? lo + 1000;
        const usual = INTEGERS.filter((k) => k >= lo && k <= hi);
        return this.pick([lo, hi, this.int(lo, hi), ...usual]);
      }
      return this.pick(INTEGERS);
    }
    case 'number':
      if (s.multipleOf) return this.int(-5000, 5000) / 10;
      return this.pick(NUMBERS);
    case 'boolean':
      return this.chance(0.5);
    case undefined:
      return this.any();
    default:
      throw new Error(`generator: type ${s.type}`);
    }
  }
}

function deref(root, s) {
  while (s && s.$ref) {
    const m = /^#\/definitions\/(.+)$/.exec(s.$ref);
    assert.ok(m, `unexpected $ref ${s.$ref}`);
    s = root.definitions[m[1]];
  }
  return s;
}

// ---------------------------------------------------------------- mutations

// Every node of a valid value, with its schema and JSON path.
function sites(root, s, value, p = [], out = []) {
  s = deref(root, s);
  out.push({ path: p, s, value });
  if (s.type === 'object' && value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value))
      if (s.properties && s.properties[k]) sites(root, s.properties[k], v, [...p, k], out);
  } else if (s.type === 'array' && Array.isArray(value)) {
    value.forEach((v, i) => sites(root, s.items, v, [...p, i], out));
  }
  return out;
}

function at(obj, p) { return p.reduce((o, k) => o[k], obj); }

function setAt(obj, p, v) {
  if (p.length === 0) return v;
  at(obj, p.slice(0, -1))[p[p.length - 1]] = v;
  return obj;
}

const isObj = (x) => x.s.type === 'object' && x.value && !Array.isArray(x.value) && typeof x.value === 'object';
const closed = (s) => s.additionalProperties === false;
const plainString = (s) => s.type === 'string' && !s.enum && !s.format;

// Each mutation: which nodes it applies to, and what it does to a copy of
// the payload there; returns [payload, expectation], expectation null for
// a payload that stays valid, else { cat, path }.
const MUTATIONS = {
  'drop required': {
    on: (x) => isObj(x) && (x.s.required || []).length > 0,
    do(g, pl, x) {
      const k = g.pick(x.s.required);
      delete at(pl, x.path)[k];
      return [pl, { cat: 'occurrence', path: [...x.path, k] }];
    },
  },
  'wrong type': {
    on: (x) => x.s.type !== undefined,
    do(g, pl, x) {
      const wrong = {
        object: [[], 'x', 1, true, null],
        array: [{}, 'x', 2, null],
        string: [42, true, null, {}, ['a']],
        integer: ['7', true, null, {}, [1]],
        number: ['1.5', false, null, {}, []],
        boolean: ['true', 0, 1, null, {}],
      }[x.s.type];
      const v = g.pick(wrong);
      return [setAt(pl, x.path, v), { cat: x.path.length === 0 ? 'format' : 'type', path: x.path }];
    },
  },
  'fraction for integer': {
    on: (x) => x.s.type === 'integer',
    do: (g, pl, x) => [setAt(pl, x.path, g.pick([1.5, -0.5, 100.25, 3.000001])), { cat: 'type', path: x.path }],
  },
  'out of range': {
    on: (x) => x.s.type === 'integer' && (x.s.minimum !== undefined || x.s.maximum !== undefined),
    do(g, pl, x) {
      const v = x.s.minimum !== undefined && (x.s.maximum === undefined || g.chance(0.5))
        ? x.s.minimum - g.int(1, 5) : x.s.maximum + g.int(1, 5);
      return [setAt(pl, x.path, v), { cat: 'property', path: x.path }];
    },
  },
  'number out of range': {
    on: (x) => x.s.type === 'number' && x.s.maximum !== undefined,
    do: (g, pl, x) => [setAt(pl, x.path, g.pick([1e16, -1.5e15, 1e300, -1e300, 1e15 * (1 + 2 ** -40)])),
      { cat: 'property', path: x.path }],
  },
  'too long': {
    on: (x) => plainString(x.s) && x.s.maxLength,
    do: (g, pl, x) => [setAt(pl, x.path, g.string(x.s.maxLength + 1)), { cat: 'property', path: x.path }],
  },
  'bad enum': {
    on: (x) => x.s.type === 'string' && x.s.enum,
    do(g, pl, x) {
      const v = g.pick(['Bogus', x.value.toLowerCase(), x.value.toUpperCase(), `${x.value} `, '', `${x.value}x`]);
      return [setAt(pl, x.path, v), x.s.enum.includes(v) ? null : { cat: 'property', path: x.path }];
    },
  },
  'unknown property': {
    on: isObj,
    do(g, pl, x) {
      const k = g.pick(['bogusField', 'customData', 'IdTag', 'status ', 'x']);
      const o = at(pl, x.path);
      if (k in o) return [pl, null];		// not a mutation after all
      o[k] = k === 'customData' ? { vendorId: 'acme' } : g.any();
      // customData is open, and in 2.0.1 it is allowed everywhere.
      const ok = !closed(x.s) || (k === 'customData' && (x.s.properties || {}).customData);
      return [pl, ok ? null : { cat: 'property', path: [...x.path, k] }];
    },
  },
  'bad date-time': {
    on: (x) => x.s.format === 'date-time',
    do: (g, pl, x) => [setAt(pl, x.path, g.pick(BAD_DATES)), { cat: 'property', path: x.path }],
  },
  'bad uri': {
    on: (x) => x.s.format === 'uri',
    do: (g, pl, x) => [setAt(pl, x.path, g.pick(BAD_URIS)), { cat: 'property', path: x.path }],
  },
  'not a multiple of 0.1': {
    on: (x) => x.s.multipleOf,
    do: (g, pl, x) => [setAt(pl, x.path, g.pick([10.67, 0.05, -3.14159, 1234.56, 0.01])),
      { cat: 'property', path: x.path }],
  },
  'too few items': {
    on: (x) => x.s.type === 'array' && x.s.minItems > 0,
    do: (g, pl, x) => [setAt(pl, x.path, []), { cat: 'occurrence', path: x.path }],
  },
  'too many items': {
    on: (x) => x.s.type === 'array' && x.s.maxItems && x.value.length > 0,
    do(g, pl, x) {
      const a = at(pl, x.path);
      while (a.length <= x.s.maxItems) a.push(structuredClone(a[g.int(0, a.length - 1)]));
      return [pl, { cat: 'occurrence', path: x.path }];
    },
  },
  'customData without vendorId': {
    on: (x) => isObj(x) && x.s.properties && x.s.properties.customData,
    do(g, pl, x) {
      at(pl, x.path).customData = g.pick([{}, { vendorid: 'acme' }, { other: 1 }]);
      return [pl, { cat: 'occurrence', path: [...x.path, 'customData', 'vendorId'] }];
    },
  },
  'customData malformed': {
    on: (x) => isObj(x) && x.s.properties && x.s.properties.customData,
    do(g, pl, x) {
      const o = at(pl, x.path);
      switch (g.int(0, 2)) {
      case 0:
        o.customData = g.pick(['acme', 7, ['acme'], null]);
        return [pl, { cat: 'type', path: [...x.path, 'customData'] }];
      case 1:
        o.customData = { vendorId: g.string(256) };
        return [pl, { cat: 'property', path: [...x.path, 'customData', 'vendorId'] }];
      default:
        o.customData = { vendorId: 42 };
        return [pl, { cat: 'type', path: [...x.path, 'customData', 'vendorId'] }];
      }
    },
  },
};

const CODES = {
  '1.6': { occurrence: 'OccurenceConstraintViolation', type: 'TypeConstraintViolation',
    property: 'PropertyConstraintViolation', format: 'FormationViolation' },
  '2.0.1': { occurrence: 'OccurrenceConstraintViolation', type: 'TypeConstraintViolation',
    property: 'PropertyConstraintViolation', format: 'FormatViolation' },
};

function pathString(p) {
  if (p.length === 0) return '-';
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

// ---------------------------------------------------------------- runner

function runTool(lines, verbose = false) {
  const r = spawnSync(TOOL, verbose ? ['-v'] : [], {
    input: lines.join('\n') + '\n', maxBuffer: 1 << 28, encoding: 'utf8',
  });
  assert.equal(r.error, undefined, `${TOOL}: ${r.error}`);
  assert.equal(r.status, 0, `schema_check failed: ${r.stderr}`);
  const out = r.stdout.split('\n');
  assert.equal(out.pop(), '');
  assert.equal(out.length, lines.length, 'one answer per line');
  return out;
}

test('schema_check agrees with ajv on generated OCPP 1.6 and 2.0.1 payloads', (t) => {
  const t0 = Date.now();
  const v16 = loadSchemas('ocpp1_6.json');
  const v201 = loadSchemas('ocpp2_0_1.json');
  assert.equal(v16.length, 78, 'OCPP 1.6: 39 requests and 39 responses');
  assert.equal(v201.length, 128, 'OCPP 2.0.1: 64 requests and 64 responses');
  overlayErrata(v16, v201);
  overlayBounds(v16);
  overlayBounds(v201);

  const cases = [];	// { ver, action, kind, how, payload, expect }
  const g = new Gen(SEED);
  for (const [ver, list] of [['1.6', v16], ['2.0.1', v201]]) {
    const ajv = makeAjv(list);
    for (const schema of list) {
      const [, action, k] = /^urn:(\w+)\.(req|conf)$/.exec(schema.$id);
      const validate = ajv.getSchema(schema.$id);
      const add = (how, payload, expect) => {
        const ok = validate(payload);
        cases.push({ ver, action, kind: k, how, payload, expect, ajvOk: ok,
          ajvErr: ok ? null : ajv.errorsText(validate.errors) });
      };
      for (let round = 0; round < ROUNDS; round++) {
        add('valid, optional fields absent', g.value(schema, schema, 'min'), null);
        add('valid, optional fields present', g.value(schema, schema, 'max'), null);
        for (let i = 0; i < VALID_PER_SCHEMA; i++) add('valid', g.value(schema, schema, 'rand'), null);
        add('not an object', g.pick([[], 'BootNotification', 42, null, [{}], true]),
          { cat: 'format', path: [] });
        for (let i = 0; i < MUTATED_PER_SCHEMA; i++) {
          const base = g.value(schema, schema, g.chance(0.5) ? 'max' : 'rand');
          const all = sites(schema, schema, base);
          const kinds = Object.entries(MUTATIONS)
            .map(([name, m]) => [name, m, all.filter(m.on)])
            .filter(([, , xs]) => xs.length > 0);
          const [name, m, xs] = g.pick(kinds);
          const [payload, expect] = m.do(g, structuredClone(base), g.pick(xs));
          add(name, payload, expect);
        }
      }
    }
  }

  const lines = cases.map((c) => `${c.ver} ${c.action} ${c.kind} ${JSON.stringify(c.payload)}`);
  const out = runTool(lines, true);

  const bad = [];
  const stats = {};
  let invalid = 0;
  cases.forEach((c, i) => {
    const [verdict] = out[i].split('\t');	// then the description
    const ours = verdict === 'ok' ? null : verdict.split(' ');
    const want = c.expect ? `${CODES[c.ver][c.expect.cat]} ${pathString(c.expect.path)}` : 'ok';
    const s = (stats[c.how] = stats[c.how] || { n: 0, bad: 0 });
    s.n++;
    if (!c.ajvOk) invalid++;
    let why = null;
    if ((ours === null) !== c.ajvOk) why = 'verdicts differ';
    else if (c.ajvOk !== (c.expect === null)) why = 'generator: ajv disagrees with the mutation';
    else if (ours !== null && verdict !== want) why = 'violation differs';
    if (why) {
      s.bad++;
      bad.push(`${why}: ${c.ver} ${c.action}.${c.kind} (${c.how})\n  expected: ${want}\n` +
        `  ours:     ${out[i]}\n  ajv:      ${c.ajvOk ? 'valid' : c.ajvErr}\n` +
        `  payload:  ${JSON.stringify(c.payload).slice(0, 2000)}`);
    }
  });

  const ms = Date.now() - t0;
  t.diagnostic(`seed ${SEED}: ${cases.length} payloads (${cases.length - invalid} valid, ${invalid} invalid) ` +
    `over ${v16.length + v201.length} schemas, ${cases.length - bad.length} agree, ${ms} ms`);
  for (const [how, s] of Object.entries(stats).sort())
    t.diagnostic(`  ${how}: ${s.n}${s.bad ? `, ${s.bad} disagree` : ''}`);
  if (bad.length > 0) {
    assert.fail(`${bad.length} of ${cases.length} payloads disagree (SCHEMA_SEED=${SEED}); first ones:\n\n` +
      bad.slice(0, 15).join('\n\n'));
  }
});

// Where RFC 3339 (and util/isotime) is stricter or looser than ajv-formats'
// date-time. Pinned here so that the difference stays a decision.
test('known, deliberate differences from ajv-formats date-time', () => {
  const v16 = loadSchemas('ocpp1_6.json');
  const validate = makeAjv(v16).getSchema('urn:Heartbeat.conf');
  const rows = [
    // [currentTime, ajv's verdict, ours]
    // No offset at all: ajv-formats 2.1.1 means to refuse it, but compares
    // the missing zone (undefined) with "" and so lets it through.
    ['2024-01-01T10:00:00', true, false],
    ['2024-01-01 10:00:00Z', true, false],	// a space for the "T": RFC 3339 only "may" allow it
    ['2024-01-01T10:00:00+0100', true, false],	// RFC 3339 offsets have a colon
    ['2024-01-01T10:00:00+01', true, false],
    ['2024-01-01T10:00:00+24:00', true, false],	// ajv does not range-check offsets
    ['2024-01-01T10:00:60Z', false, true],	// a leap second: isotime does not know when they occur
  ];
  const lines = rows.map(([d]) => `1.6 Heartbeat conf ${JSON.stringify({ currentTime: d })}`);
  const out = runTool(lines);
  rows.forEach(([d, ajvOk, ours], i) => {
    assert.equal(validate({ currentTime: d }), ajvOk, `ajv on ${d}`);
    assert.equal(out[i], ours ? 'ok' : 'PropertyConstraintViolation currentTime', `ours on ${d}`);
  });
});

test('schema_check answers unknown actions, bad lines and non-JSON', () => {
  const out = runTool(['1.6 TransactionEvent req {}', '2.0.1 StartTransaction req {}', '2.0.1 Heartbeat req []']);
  assert.deepEqual(out, ['NotImplemented -', 'NotImplemented -', 'FormatViolation -']);
  const r = spawnSync(TOOL, [], { input: '1.6 Heartbeat req {\nbogus\n', encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.deepEqual(r.stdout.trim().split('\n'), ['error payload is not JSON',
    'error expected: <version> <Action> <req|conf> <json>']);
});
