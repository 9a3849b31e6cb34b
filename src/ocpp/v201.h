/*
 * v201 — the OCPP 2.0.1 codec, for both roles and the only code that knows
 * 2.0.1 words: toward the chargers, their requests into the neutral model
 * (ocpp/model.h) and the CSMS's replies and commands back into 2.0.1 JSON;
 * toward an upstream CSMS, the gateway's requests as one charging station,
 * the upstream's answers and down commands, and the gateway's answers
 * (ocpp/up.h, through the table v201_up).
 *
 * The EVSE level is native here (evseId, connectorId). A TransactionEvent
 * becomes one struct ocpp_tx whatever its eventType, with its seqNo, the
 * offline flag and the chargingState (Charging, EVConnected, SuspendedEV,
 * SuspendedEVSE; Idle says nothing about the EVSE and maps to UNKNOWN).
 * The meter register at the start or end of a transaction comes from
 * Energy.Active.Import.Register in the event's meterValue when present.
 * A meter value out of range once its multiplier and unit are applied
 * (ocpp/meter), and an evseId, connectorId or seqNo below 0, are property
 * violations naming the field.
 *
 * Pure: no I/O, no logging, no clock (the time comes in the reply).
 */
#ifndef SITEGATE_OCPP_V201_H
#define SITEGATE_OCPP_V201_H

#include <cjson/cJSON.h>

#include "ocpp/model.h"
#include "ocpp/up.h"

/* Decode the payload of a charger request (already schema-valid). Returns
 * 0 and fills *out (out->type OCPP_REQ_NONE: an action this codec does not
 * translate), or -1 with *err describing the violation. */
int v201_decode_request(const char *action, const cJSON *payload,
    struct ocpp_request_msg *out, struct ocpp_error *err);

/* Build the CALLRESULT payload answering req with reply. The caller owns
 * the result (cJSON_Delete). */
cJSON *v201_encode_reply(const struct ocpp_request_msg *req,
    const struct ocpp_reply *reply);

/* Build the action and payload asking a 2.0.1 charger for cmd. Returns 0 with
 * *payload owned by the caller, or -1 when the version has no such command
 * or cmd cannot be expressed in it. */
int v201_encode_command(const struct ocpp_command *cmd, const char **action,
    cJSON **payload);

/* Decode the charger's CALLRESULT payload for cmd (already schema-valid).
 * Returns 0, or -1 with *err. */
int v201_decode_result(const struct ocpp_command *cmd, const cJSON *payload,
    struct ocpp_command_result *out, struct ocpp_error *err);

/* The upstream side: the gateway as one 2.0.1 charging station (see
 * up.h). Transaction ids are our session ids; the EMS limit goes up as
 * NotifyChargingLimit. */
extern const struct up_codec v201_up;

/* How 2.0.1 names the settings of capability discovery, in the order a
 * CSMS asks for them. */
extern const struct ocpp_cap_name v201_caps[];

#endif
