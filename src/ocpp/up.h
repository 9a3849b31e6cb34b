/*
 * up — the OCPP JSON of the gateway as ONE charge point toward the upstream
 * CSMS, in either version (1.6J or 2.0.1), independent of the chargers'.
 *
 * The mirror of v16/v201: those decode the chargers' requests and encode
 * our commands; this module encodes our requests to the upstream (boot,
 * heartbeat, status, authorize, transactions, meter values, charging
 * limits), decodes its answers, decodes its requests (the "down" commands)
 * into struct up_down, and encodes our answers to them. Everything is in
 * site-wide EVSE numbers: the caller (roles/uplink) maps them onto
 * chargers.
 *
 * Translation rules, model -> wire:
 *   status      1.6 ChargePointStatus (occupied = Preparing), errorCode the
 *               charger's when 1.6 knows it, else NoError / OtherError;
 *               2.0.1 connectorStatus (charging, suspended, finishing =
 *               Occupied)
 *   stop reason the charger's word when the upstream's version has it,
 *               else the nearest (HardReset/SoftReset <-> ImmediateReset,
 *               anything else Other)
 *   meter       1.6 strings with units (Wh, W, A, V, Percent) and phases;
 *               2.0.1 numbers with unitOfMeasure
 *   ids         1.6 idTag is 20 characters: longer tokens cannot be sent
 *               (up_token_fits)
 * Payloads of transaction messages are kept as text in the outbox and
 * patched when sent: 1.6 transactionId (assigned by the upstream) and 2.0.1
 * seqNo (up_patch_tx).
 *
 * Pure: no I/O, no logging, no clock. Every decoder gets a payload that
 * schema_validate has accepted.
 */
#ifndef SITEGATE_OCPP_UP_H
#define SITEGATE_OCPP_UP_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "types/ocpp.h"
#include "ocpp/model.h"

struct up_identity {
	const char *vendor, *model, *serial, *firmware;
};

/* The requests. Each returns the payload (caller owns it) and sets
 * *action. v is the upstream's version (OCPP_V16 or OCPP_V201). */
cJSON *up_boot(enum ocpp_version v, const struct up_identity *id,
    const char **action);
cJSON *up_heartbeat(enum ocpp_version v, const char **action);
/* number 0 = the gateway itself (2.0.1 has no station status: NULL). */
cJSON *up_status(enum ocpp_version v, int number, int connector,
    enum site_status st, const char *error_code, int64_t ts_ms,
    const char **action);
cJSON *up_authorize(enum ocpp_version v, const struct ocpp_id_token *t,
    const char **action);

/* True when token can be sent in version v (1.6: at most 20 chars). */
bool up_token_fits(enum ocpp_version v, const char *token);

/* A transaction message. sess gives token, times, meter; number and
 * connector where it happens; offline: produced while the link was down
 * (2.0.1). kind: OCPP_TX_STARTED, OCPP_TX_UPDATED (with r: periodic meter
 * values), OCPP_TX_ENDED. For 1.6, UPDATED is a MeterValues. */
cJSON *up_tx(enum ocpp_version v, enum ocpp_tx_kind kind,
    const struct site_session *sess, int number, int connector,
    const struct site_reading *r, bool offline, int64_t ts_ms,
    const char **action);

/* Set the parts only known when sending: 1.6 transactionId (up_tx_id; a
 * decimal) and 2.0.1 seqNo. Returns 0, or -1 when a 1.6 message needs a
 * transaction id the upstream never gave (up_tx_id NULL). */
int up_patch_tx(enum ocpp_version v, cJSON *payload,
    const char *up_tx_id, int seq_no);

/* 2.0.1 NotifyChargingLimit (source EMS, the limit per phase in A as one
 * schedule) and ClearedChargingLimit. */
cJSON *up_charging_limit(const double limit_a[3], int64_t now_ms,
    const char **action);
cJSON *up_charging_limit_cleared(const char **action);

/* Answers. */
struct up_boot_result {
	enum site_boot status;
	int interval_s;
};
void up_boot_result(const cJSON *payload, struct up_boot_result *out);
/* Authorize, StartTransaction (1.6: also the transactionId into tx_id),
 * TransactionEvent (idTokenInfo, when present: has_auth). */
struct up_auth_result {
	bool has_auth;
	enum ocpp_auth_status status;
	int64_t expiry_ms;
	char tx_id[SITE_TOKEN_LEN];
};
void up_auth_result(enum ocpp_version v, const char *action,
    const cJSON *payload, struct up_auth_result *out);

/* ------------------------------------------------------------ down */

enum up_down_type {
	UP_DOWN_NONE = 0,		/* not a command the gateway serves */
	UP_DOWN_REMOTE_START,
	UP_DOWN_REMOTE_STOP,
	UP_DOWN_UNLOCK,
	UP_DOWN_AVAILABILITY,
	UP_DOWN_RESET,
	UP_DOWN_TRIGGER,
	UP_DOWN_GET_CONFIG,
	UP_DOWN_SET_CONFIG,
	UP_DOWN_SEND_LOCAL_LIST,
	UP_DOWN_GET_LOCAL_LIST_VERSION,
	UP_DOWN_SET_PROFILE,
	UP_DOWN_CLEAR_PROFILE,
	UP_DOWN_GET_COMPOSITE,
	UP_DOWN_DATA_TRANSFER,
	UP_DOWN_CLEAR_CACHE,
};

#define UP_MAX_LIST 1000	/* local list entries per SendLocalList */

struct up_down {
	enum up_down_type type;
	int evse;			/* site EVSE number; -1: not given */
	int connector;			/* 0: not given */
	struct ocpp_id_token token;	/* remote start */
	int remote_start_id;		/* 2.0.1 */
	char tx_id[SITE_TOKEN_LEN];	/* remote stop */
	bool operative;			/* availability */
	bool hard;			/* reset */
	char trigger[OCPP_STR_LEN];	/* requested message, 2.0.1 spelling */
	int nkeys;			/* get/set config: 0 = all (1.6 get) */
	struct ocpp_key keys[OCPP_MAX_KEYS];
	int list_version;		/* local list */
	bool list_full;
	int nentries;
	struct {
		char token[SITE_TOKEN_LEN];
		int status;		/* enum ocpp_auth_status; -1: remove */
		int64_t expiry_ms;
	} entries[UP_MAX_LIST];
	struct ocpp_profile profile;	/* set profile */
	int clear_id;			/* clear profile: -1 any */
	enum ocpp_purpose clear_purpose;
	int clear_stack_level;		/* -1 any */
	int duration_s;			/* composite */
	enum ocpp_unit unit;		/* composite: OCPP_UNIT_ANY not given */
};

/* Decode the upstream's request (schema-valid). Returns 0 (out->type
 * UP_DOWN_NONE: not served), or -1 with *err. */
int up_decode_down(enum ocpp_version v, const char *action,
    const cJSON *payload, struct up_down *out, struct ocpp_error *err);

/* {"status": status} — most answers have no more than that. */
cJSON *up_reply_status(const char *status);
/* 2.0.1 RequestStartTransaction with the transaction id when known. */
cJSON *up_reply_start(const char *status, const char *tx_id);
/* GetLocalListVersion. */
cJSON *up_reply_list_version(enum ocpp_version v, int version);

/* A gateway setting for Get/Set Configuration/Variables answers. */
struct up_setting {
	const char *component, *variable;	/* 2.0.1 names */
	const char *key;			/* 1.6 name */
	char value[64];
	bool readonly;
};
/* GetConfiguration / GetVariables: for each asked key (all for a 1.6 get
 * without keys) the setting from the table or unknown. */
cJSON *up_reply_get_config(enum ocpp_version v, const struct up_down *d,
    const struct up_setting *settings, int nsettings);
/* SetVariables: one status per asked key (status[i]); 1.6
 * ChangeConfiguration: status[0]. */
cJSON *up_reply_set_config(enum ocpp_version v, const struct up_down *d,
    const char *const *status);
/* GetCompositeSchedule: one period of limit (A per phase) over duration_s
 * from start_ms; accepted false: Rejected without a schedule. */
cJSON *up_reply_composite(enum ocpp_version v, int number,
    bool accepted, double limit_a, int phases, int duration_s,
    int64_t start_ms);

/* Names of the model's auth statuses in version v. */
const char *up_auth_name(enum ocpp_version v, enum ocpp_auth_status s);

#endif
