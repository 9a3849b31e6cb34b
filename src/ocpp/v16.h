/*
 * v16 — the OCPP 1.6J codec, for both roles and the only code that knows
 * 1.6 words: toward the chargers, their requests into the neutral model
 * (ocpp/model.h) and the CSMS's replies and commands back into 1.6 JSON;
 * toward an upstream CSMS, the gateway's requests as one charge point, the
 * upstream's answers and down commands, and the gateway's answers
 * (ocpp/up.h, through the table v16_up).
 *
 * 1.6 has no EVSE level: every connectorId 1..n is its own EVSE with one
 * connector, so connectorId N becomes evse N, connector 1 (0 stays 0, the
 * whole charger). Transaction ids are integers that the CSMS (we) issue in
 * the StartTransaction answer; they travel as their decimal text in the
 * model. Meter values are strings in 1.6: one that is not strictly a
 * decimal number (ocpp/meter: no hexadecimal, blanks, NaN or infinity) or
 * is out of range once normalised is a property violation naming the
 * field, and so is a connectorId below 0.
 *
 * Pure: no I/O, no logging, no clock (the time comes in the reply).
 */
#ifndef SITEGATE_OCPP_V16_H
#define SITEGATE_OCPP_V16_H

#include <cjson/cJSON.h>

#include "ocpp/model.h"
#include "ocpp/up.h"

/* Decode the payload of a charger request (already schema-valid). Returns
 * 0 and fills *out (out->type OCPP_REQ_NONE: an action this codec does not
 * translate), or -1 with *err describing the violation. */
int v16_decode_request(const char *action, const cJSON *payload,
    struct ocpp_request_msg *out, struct ocpp_error *err);

/* Build the CALLRESULT payload answering req with reply. The caller owns
 * the result (cJSON_Delete). */
cJSON *v16_encode_reply(const struct ocpp_request_msg *req,
    const struct ocpp_reply *reply);

/* Build the action and payload asking a 1.6 charger for cmd. Returns 0 with
 * *payload owned by the caller, or -1 when the version has no such command
 * or cmd cannot be expressed in it (GetChargingProfiles; ChangeConfiguration of
 * other than one key). */
int v16_encode_command(const struct ocpp_command *cmd, const char **action,
    cJSON **payload);

/* Decode the charger's CALLRESULT payload for cmd (already schema-valid).
 * Returns 0, or -1 with *err. */
int v16_decode_result(const struct ocpp_command *cmd, const cJSON *payload,
    struct ocpp_command_result *out, struct ocpp_error *err);

/* The upstream side: the gateway as one 1.6 charge point (see up.h).
 * 1.6 has no charging limit messages (NULL), carries idTags of at most 20
 * characters, and lets the upstream issue the transaction ids. */
extern const struct up_codec v16_up;

/* How 1.6 names the settings of capability discovery, in the order a
 * CSMS asks for them. 1.6 changes one key per ChangeConfiguration. */
extern const struct ocpp_cap_name v16_caps[];

#endif
