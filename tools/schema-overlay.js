'use strict';
// What sitegate applies to the official OCPP JSON schemas on purpose, and
// nothing else: tools/gen-schema.js reads the schemas ocpp-rpc carries,
// applies this file, and writes the tables of src/ocpp/schema. A reason
// stands beside each entry; src/ocpp/schema.h says the same to a reader
// of the C, and tests/integration/schema.test.js applies the same facts to
// ajv's copy of the schemas.
//
// A patch names a message ("MeterValues.req": the $id without "urn:") and a
// path into it: member names joined by ".", "[]" for an array's items, a
// $ref followed where it stands. `set` gives keywords their new values and
// `was` what the official schema says there now (absent when not given);
// `add` appends values to a list, each of which must not be there yet. The
// generator refuses a patch whose `was` no longer holds, so that a change
// in the schemas shows up instead of being papered over.
//
// customData (OCPP 2.0.1 and 2.1) needs no entry: the schemas list it in
// every object and leave its type, CustomDataType, open ("vendorId"
// required, any other member allowed). The tables follow them as they are.

// 2^31: both specifications define their integer type as 32 bits.
const INT32 = 2 ** 31;
// The largest magnitude of a decimal number and of a 1.6 energy register
// in Wh: a terawatt-hour register a thousand times over, below 2^53 so
// that every whole value is exact. SCHEMA_NUM_MAX in src/ocpp/schema.h
// (the generated tables assert that the two agree).
const NUM_MAX = 1e15;

const UNITS16 = ['Wh', 'kWh', 'varh', 'kvarh', 'W', 'kW', 'VA', 'kVA', 'var', 'kvar', 'A', 'V', 'K',
  'Celcius', 'Celsius', 'Fahrenheit', 'Percent'];

module.exports = {
  // Beyond the schemas, which bound few numbers: what OCPP's data types say
  // and the gateway's model can hold, so that no decoder ever converts a
  // number it cannot represent. Every integer of every version is 32 bits
  // (a minimum or maximum of the schema applies too); every decimal number
  // is within +-NUM_MAX; a literal beyond a double (read as an infinity) is
  // outside both.
  limits: {
    integer: [-INT32, INT32 - 1],
    number: [-NUM_MAX, NUM_MAX],
    assertNumMax: NUM_MAX,
  },

  patches: {
    '1.6': [
      // The 1..* of the 1.6 specification, which the corrected reference
      // schemas (those of the mobilityhouse "ocpp" package) state and the
      // OCA's omit: a MeterValues.req carries at least one meterValue and
      // each at least one sampledValue. StopTransaction's transactionData
      // has no such minimum in either set.
      { at: 'MeterValues.req meterValue', set: { minItems: 1 } },
      { at: 'MeterValues.req meterValue[].sampledValue', set: { minItems: 1 } },
      // Errata v4 adds "Hertz" to the units of measure. The reference set
      // adds it to MeterValues only; the specification has one
      // UnitOfMeasure type, so it goes where a 1.6 unit occurs: in
      // MeterValues and in StopTransaction's transactionData alike.
      { at: 'MeterValues.req meterValue[].sampledValue[].unit', was: { enum: UNITS16 }, add: { enum: ['Hertz'] } },
      { at: 'StopTransaction.req transactionData[].sampledValue[].unit', was: { enum: UNITS16 },
        add: { enum: ['Hertz'] } },
      // The energy registers (Wh) outgrow 32 bits on real meters: they are
      // held to 0..NUM_MAX instead of the integer limits ("ownLimits": the
      // row's minimum and maximum replace them).
      { at: 'StartTransaction.req meterStart', was: { type: 'integer' },
        set: { minimum: 0, maximum: NUM_MAX, ownLimits: true } },
      { at: 'StopTransaction.req meterStop', was: { type: 'integer' },
        set: { minimum: 0, maximum: NUM_MAX, ownLimits: true } },
    ],
    '2.0.1': [
      // An EXI response of 7500 characters, as the corrected reference
      // set has it (5600 in the OCA's schema), so that a certificate chain
      // the specification allows fits.
      { at: 'Get15118EVCertificate.conf exiResponse', was: { maxLength: 5600 }, set: { maxLength: 7500 } },
    ],
    '2.1': [],
  },
};
