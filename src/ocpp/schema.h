/*
 * schema — strict validation of OCPP JSON payloads against the rules of the
 * official OCPP 1.6 and 2.0.1 JSON schemas.
 *
 * Every request and response of both versions is known: OCPP 1.6 with its
 * security extension (39 actions) and OCPP 2.0.1 (64 actions). The gateway
 * receives both kinds in both versions: as the chargers' CSMS it gets their
 * requests and the responses to its commands, and as a charge point toward
 * the upstream CSMS it gets that CSMS's requests and the responses to its
 * own requests.
 *
 * The rules are C tables generated from the official JSON schemas (those
 * the ocpp-rpc npm package carries) by tools/gen-schema.js, with the errata
 * below applied from tools/schema-overlay.js; the tables are committed
 * (schema_v16.c, schema_v201.c) and `make check` fails when regenerating
 * would change them. The gateway neither ships nor reads the schemas. The
 * engine that walks the tables is util/jcheck's.
 * Checked: required fields, JSON types, integer vs number, enums, string
 * maxLength (counted in Unicode code points, as JSON Schema does), numeric
 * minimum/maximum, 1.6's "multipleOf": 0.1 (with a 1e-6 tolerance, so 0.3
 * passes although 0.3 / 0.1 is not exactly 3 in binary floating point),
 * array minItems/maxItems, date-time (RFC 3339, util/isotime), uri (RFC 3986),
 * nested objects and arrays of objects, and unknown properties (every object
 * is "additionalProperties": false). In 2.0.1 every object may carry
 * "customData": an object with a required "vendorId" (string, at most 255)
 * and any other properties (the schemas say so in every object).
 *
 * Beyond the JSON schemas, numbers are held to what OCPP's data types say
 * and the gateway's model can hold, so that no decoder ever converts a
 * number it cannot represent (the JSON schemas put no bound on most; the
 * overlay states these too):
 *  - an integer is 32 bits, -2^31..2^31-1, as both specifications define
 *    their integer type (a minimum or maximum of the schema applies too);
 *  - except the 1.6 energy registers meterStart and meterStop (Wh), which
 *    real meters outgrow: 0..SCHEMA_NUM_MAX (1e15 Wh, a terawatt-hour
 *    register a thousand times over; below 2^53, so every value is exact);
 *  - a decimal number is finite and within -SCHEMA_NUM_MAX..SCHEMA_NUM_MAX.
 * A number out of these ranges (a literal too large for a double, which
 * cJSON reads as an infinity, included) is SCHEMA_PROPERTY; a fraction
 * where an integer is required stays SCHEMA_TYPE.
 *
 * Where the OCA's published schemas and the corrected reference set (the
 * one the mobilityhouse "ocpp" package ships) differ, the rules follow the
 * corrections (the overlay applies them to the OCA's schemas):
 *  - 1.6 MeterValues.req needs at least one meterValue and, in each, at
 *    least one sampledValue (the 1..* of the 1.6 specification);
 *    StopTransaction's transactionData has no such minimum in either set;
 *  - 1.6 units of measure include "Hertz" (errata v4), here in MeterValues
 *    and StopTransaction alike, because the specification has one
 *    UnitOfMeasure type (the reference set adds it to MeterValues only);
 *  - 2.0.1 Get15118EVCertificate.conf exiResponse may have 7500
 *    characters (5600 in the OCA's schema).
 *
 * Violations map 1:1 onto OCPP-J CallError codes (a project decision that
 * follows the OCPP-J definitions of the codes):
 *   SCHEMA_OCCURRENCE  a required field is missing, or an array has fewer
 *                      than minItems or more than maxItems elements
 *                      -> OccurrenceConstraintViolation
 *                         (1.6 spelling: OccurenceConstraintViolation)
 *   SCHEMA_TYPE        a value of the wrong JSON type, or a non-integral
 *                      number where an integer is required
 *                      -> TypeConstraintViolation
 *   SCHEMA_PROPERTY    an invalid value: not in the enum, too long, out of
 *                      range (the schema's or the bounds above), not a
 *                      multiple of 0.1, not a date-time or uri; or an
 *                      unknown property
 *                      -> PropertyConstraintViolation
 *   SCHEMA_FORMAT      the payload is not a JSON object
 *                      -> FormatViolation (1.6 spelling: FormationViolation)
 *   SCHEMA_UNKNOWN     no such action in this version -> NotImplemented
 *
 * Only the first violation found is reported. The module is pure: no I/O,
 * no logging, no allocation; it only walks the caller's cJSON tree.
 */
#ifndef SITEGATE_OCPP_SCHEMA_H
#define SITEGATE_OCPP_SCHEMA_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "types/ocpp.h"

/* The largest magnitude of a decimal number, and of a 1.6 Wh register
 * (tools/schema-overlay.js says the same; the generated tables assert that
 * the two agree). */
#define SCHEMA_NUM_MAX 1e15

enum schema_kind {
	SCHEMA_REQUEST,		/* 1.6 ".req", 2.0.1 "Request" */
	SCHEMA_RESPONSE,	/* 1.6 ".conf", 2.0.1 "Response" */
};

enum schema_violation {
	SCHEMA_OK = 0,
	SCHEMA_OCCURRENCE = -1,
	SCHEMA_TYPE = -2,
	SCHEMA_PROPERTY = -3,
	SCHEMA_FORMAT = -4,
	SCHEMA_UNKNOWN = -5,
};

struct schema_error {
	/* JSON path of the offending field, e.g.
	 * "meterValue[0].sampledValue[2].unit"; "" for the payload itself. */
	char path[128];
	/* English, names the field, e.g. `idTag: string longer than 20
	 * characters`. Text taken from the payload is quoted, cut short and
	 * has its control characters escaped. */
	char description[256];
};

/* Validate payload (a cJSON tree the caller owns; NULL counts as "not an
 * object") against the schema of action's request or response in version
 * v. Returns SCHEMA_OK or a negative enum schema_violation. On a violation
 * err, when not NULL, receives the path and a description of the first one
 * found: in each object a missing required field comes first, then the
 * members in document order, depth first. On SCHEMA_OK err is left with
 * empty strings. */
int schema_validate(enum ocpp_version v, const char *action,
    enum schema_kind kind, const cJSON *payload, struct schema_error *err);

/* Whether action is an OCPP action of version v (case-sensitive; 1.6,
 * 2.0.1 and 2.1, all from the generated tables). A CSMS answers an unknown
 * action with NotImplemented and a known one it does not handle with
 * NotSupported. */
bool schema_has_action(enum ocpp_version v, const char *action);

/* The CallError that answers violation e (SCHEMA_UNKNOWN: NotImplemented);
 * OCPP_ERR_OTHER for SCHEMA_OK or any other value. types/ocpp spells it. */
enum ocpp_errcode schema_errcode(int e);

#endif
