/*
 * up — the gateway as ONE charge point toward an upstream CSMS, in the
 * gateway's own terms: what it sends up (boot, heartbeat, status,
 * authorize, transactions, meter values, charging limits), what the
 * upstream answers, what the upstream asks down (struct up_down) and what
 * the gateway answers to that (a neutral enum ocpp_result per command, the
 * values of its settings).
 *
 * The OCPP of it lives in the codec of each version, which serves both
 * roles: ocpp/v16 and ocpp/v201 each fill one struct up_codec, and
 * up_codec() picks one. This module only declares the model and picks;
 * it knows no OCPP word. Everything is in site-wide EVSE numbers: the
 * caller (roles/uplink) maps them onto chargers.
 *
 * Translation rules, model -> wire (in the codecs):
 *   status      1.6 ChargePointStatus (occupied = Preparing), errorCode the
 *               charger's when 1.6 knows it, else NoError / OtherError;
 *               2.0.1 connectorStatus (charging, suspended, finishing =
 *               Occupied); 2.0.1 has no status of the station itself
 *   stop reason the charger's word when the upstream's version has it,
 *               else the nearest (HardReset/SoftReset <-> ImmediateReset,
 *               anything else Other)
 *   meter       1.6 strings with units (Wh, W, A, V, Percent) and phases;
 *               2.0.1 numbers with unitOfMeasure
 *   ids         1.6 idTag is 20 characters: longer tokens cannot be sent
 *               (up_token_fits)
 *   results     the word of the result where the command has it, else the
 *               nearest (1.6 Reset has no Scheduled: Accepted; 1.6 says
 *               NotSupported for an unknown connector; 2.0.1 UnlockFailed
 *               for a charger without a lock)
 * Payloads of transaction messages are kept as text in the outbox and
 * patched when sent: 1.6 transactionId (assigned by the upstream) and 2.0.1
 * seqNo (patch_tx).
 *
 * Pure: no I/O, no logging, no clock. Every decoder gets a payload that
 * schema_validate has accepted.
 */
#ifndef SITEGATE_OCPP_UP_H
#define SITEGATE_OCPP_UP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ocpp/model.h"
#include "types/neutral.h"
#include "types/ocpp.h"

struct up_identity {
	const char *vendor, *model, *serial, *firmware;
};

struct up_boot_result {
	enum site_boot status;
	int interval_s;
};

/* Authorize, StartTransaction (1.6: also the transactionId into tx_id),
 * TransactionEvent (idTokenInfo, when present: has_auth). */
struct up_auth_result {
	bool has_auth;
	enum ocpp_auth_status status;
	int64_t expiry_ms;
	char tx_id[SITE_TOKEN_LEN];
};

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

/* The messages a TriggerMessage may ask for that the gateway sends. */
enum up_trigger {
	UP_TRIGGER_OTHER = 0,		/* anything else: NotImplemented */
	UP_TRIGGER_BOOT,
	UP_TRIGGER_HEARTBEAT,
	UP_TRIGGER_STATUS,
	UP_TRIGGER_METER,
};

/* The gateway's own settings an upstream may read (Get/Configuration,
 * GetVariables) and partly change (ChangeConfiguration, SetVariables).
 * Each codec names them in its version (1.6 keys, 2.0.1 component and
 * variable). */
enum up_setting {
	UP_SET_HEARTBEAT_INTERVAL = 0,
	UP_SET_METER_INTERVAL,		/* periodic meter values */
	UP_SET_MESSAGE_ATTEMPTS,	/* per transaction message */
	UP_SET_RETRY_INTERVAL,		/* between attempts */
	UP_SET_LOCAL_LIST_ENABLED,
	UP_SET_LOCAL_LIST_ENTRIES,
	UP_SET_LOCAL_LIST_PER_MESSAGE,
	UP_SET_EVSE_COUNT,
	UP_NSETTINGS,
};

/* The value of one setting, for a get answer. */
struct up_setting_value {
	char text[64];
	bool readonly;
};

/* A key the upstream named, resolved against the settings. */
struct up_key {
	struct ocpp_key key;		/* as asked (1.6: .variable is the key) */
	int setting;			/* enum up_setting; -1: none of ours */
	bool component_known;		/* 2.0.1: the component is one of ours */
};

#define UP_MAX_LIST 1000	/* local list entries per SendLocalList */

struct up_down {
	enum up_down_type type;
	int evse;			/* site EVSE number; -1: not given */
	int connector;			/* 0: not given */
	struct ocpp_id_token token;	/* remote start */
	int remote_start_id;		/* 2.0.1 */
	/* remote stop: the transaction by our session id (2.0.1 names it so;
	 * -1 when the id is none of ours), or 0 and the upstream's own id in
	 * tx_id (1.6: the id it gave, which the state file maps) */
	int64_t session_id;
	char tx_id[SITE_TOKEN_LEN];
	bool operative;			/* availability */
	bool hard;			/* reset */
	enum up_trigger trigger;
	int nkeys;			/* get/set config: 0 = all (1.6 get) */
	struct up_key keys[OCPP_MAX_KEYS];
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

/* ------------------------------------------------------------ the codec */

/* What one version's codec provides toward an upstream. Every function
 * returning cJSON gives the caller a payload it owns, and sets *action
 * where it builds a request. */
struct up_codec {
	enum ocpp_version version;
	size_t token_max;		/* the longest id token it can carry */
	/* The upstream issues the transaction ids (1.6: in its answer to
	 * StartTransaction; later messages carry it); else they are ours. */
	bool upstream_tx_ids;

	/* requests */
	cJSON *(*boot)(const struct up_identity *id, const char **action);
	cJSON *(*heartbeat)(const char **action);
	/* number 0 = the gateway itself; NULL when the version has no such
	 * status. */
	cJSON *(*status)(int number, int connector, enum site_status st,
	    const char *error_code, int64_t ts_ms, const char **action);
	cJSON *(*authorize)(const struct ocpp_id_token *t, const char **action);
	/* A transaction message. sess gives token, times, meter; number and
	 * connector where it happens; offline: produced while the link was
	 * down. kind: OCPP_TX_STARTED, OCPP_TX_UPDATED (with r: periodic
	 * meter values; 1.6 MeterValues), OCPP_TX_ENDED. */
	cJSON *(*tx)(enum ocpp_tx_kind kind, const struct site_session *sess,
	    int number, int connector, const struct site_reading *r,
	    bool offline, int64_t ts_ms, const char **action);
	/* Set what is only known when sending: the upstream's transaction id
	 * (a decimal; upstream_tx_ids) and our seqNo. Returns 0, or -1 when
	 * the message needs an id the upstream never gave (up_tx_id NULL or
	 * not one). */
	int (*patch_tx)(cJSON *payload, const char *up_tx_id, int seq_no);
	/* The EMS limit per phase in A as one schedule (source EMS), and its
	 * end. Both NULL when the version has no such messages (1.6). */
	cJSON *(*charging_limit)(const double limit_a[3], int64_t now_ms,
	    const char **action);
	cJSON *(*charging_limit_cleared)(const char **action);

	/* answers */
	void (*boot_result)(const cJSON *payload, struct up_boot_result *out);
	void (*auth_result)(const char *action, const cJSON *payload,
	    struct up_auth_result *out);

	/* down: the name of the i-th request served (NULL past the last) */
	const char *(*down_action)(size_t i);
	/* Decode the upstream's request (schema-valid). Returns 0 (out->type
	 * UP_DOWN_NONE: not served), or -1 with *err. */
	int (*decode_down)(const char *action, const cJSON *payload,
	    struct up_down *out, struct ocpp_error *err);
	/* The answer to a command of type t that came to r; for the answers
	 * that are only a status. */
	cJSON *(*reply)(enum up_down_type t, enum ocpp_result r);
	cJSON *(*reply_list_version)(int version);
	/* For each key of d (every setting for a 1.6 get without keys) its
	 * value from values[UP_NSETTINGS], or unknown. */
	cJSON *(*reply_get_config)(const struct up_down *d,
	    const struct up_setting_value *values);
	/* One result per key of d (1.6: results[0]). */
	cJSON *(*reply_set_config)(const struct up_down *d,
	    const enum ocpp_result *results);
	/* GetCompositeSchedule: one period of limit (A per phase) over
	 * duration_s from start_ms; accepted false: Rejected, no schedule. */
	cJSON *(*reply_composite)(int number, bool accepted, double limit_a,
	    int phases, int duration_s, int64_t start_ms);
};

/* The codec of version v (1.6 or 2.0.1; 2.1 gets 2.0.1's). Never NULL. */
const struct up_codec *up_codec(enum ocpp_version v);

/* True when token can be sent by codec c (1.6: at most 20 characters). */
bool up_token_fits(const struct up_codec *c, const char *token);

#endif
