'use strict';
// ocpp-rpc 2.2.1 ships the official OCPP 2.1 schemas, but with the ids
// "urn:<Action>Request" / "urn:<Action>Response", while its strict mode looks
// them up as "urn:<Action>.req" / ".conf" (as for 1.6 and 2.0.1), so every
// 2.1 call fails in strict mode. This builds a 2.1 validator from the same
// schemas under the names strict mode uses, the way ocpp-rpc builds its own
// (lib/validator.js), minus ajv's strictTypes console warnings about the
// 2.1 files. Pass it in strictModeValidators to keep validating 2.1 messages
// against the official schemas.

const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const { Validator } = require('ocpp-rpc/lib/validator');
const schemas = require('ocpp-rpc/lib/schemas/ocpp2_1.json');

const ajv = new Ajv({ strictSchema: false, strictTypes: false });
addFormats(ajv);
ajv.addSchema(schemas.map((s) => ({
  ...s,
  $id: s.$id.replace(/^urn:(.*)Request$/, 'urn:$1.req').replace(/^urn:(.*)Response$/, 'urn:$1.conf'),
})));
// No 2.1 schema uses multipleOf (see ocpp-schemas/SOURCE.md), so ocpp-rpc's
// tolerant multipleOf keyword is not needed here.

const ocpp21Validator = new Validator('ocpp2.1', ajv);

module.exports = { ocpp21Validator };
