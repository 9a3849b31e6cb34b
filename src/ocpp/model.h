/*
 * model — OCPP messages in the gateway's own terms (types, and the one
 * table of command result words in model.c).
 *
 * The codecs (v16.c, v201.c) translate between OCPP JSON and these structs;
 * the roles (csms, later the uplink) work with these structs and the site
 * model only. A 1.6 StartTransaction, StopTransaction and a 2.0.1
 * TransactionEvent all become one struct ocpp_tx; a 1.6 MeterValues and
 * the meterValue of a TransactionEvent both become struct ocpp_meter, with
 * every unit normalised (A, W, Wh, V, %) and every phase mapped to the
 * charger's L1..L3.
 *
 * Payloads reach a decoder only after src/ocpp/schema has validated them
 * against the message's schema, so decoders may rely on required fields
 * and types, and on every number fitting the model (integers 32 bits,
 * decimals and 1.6 Wh registers within 1e15: nothing here is ever cast
 * from a number it cannot hold); what the schemas cannot express (a 1.6
 * meter value that is not a decimal number, a value out of range once
 * normalised, an EVSE or connector id below 0) is reported by the decoder
 * as a property violation.
 */
#ifndef SITEGATE_OCPP_MODEL_H
#define SITEGATE_OCPP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types/neutral.h"
#include "types/ocpp.h"

#define OCPP_STR_LEN 51		/* most CiString fields: 50 + NUL */

/* The charger → CSMS requests the gateway understands. */
enum ocpp_request {
	OCPP_REQ_NONE = 0,
	OCPP_REQ_BOOT,		/* BootNotification */
	OCPP_REQ_HEARTBEAT,
	OCPP_REQ_STATUS,	/* StatusNotification */
	OCPP_REQ_AUTHORIZE,
	OCPP_REQ_TX,		/* 1.6 Start/StopTransaction, 2.0.1 TransactionEvent */
	OCPP_REQ_METER,		/* MeterValues */
	OCPP_REQ_DATA_TRANSFER,
	OCPP_REQ_NOTICE,	/* recorded and acknowledged: see ocpp_notice */
};

/* Why a decoder refused a payload: the CallError to answer with. */
struct ocpp_error {
	enum ocpp_errcode code;		/* OCPP_ERR_OTHER until refused */
	char text[256];		/* names the field, e.g. "meterValue[0]..." */
};

enum ocpp_auth_status {
	OCPP_AUTH_ACCEPTED = 0,
	OCPP_AUTH_BLOCKED,
	OCPP_AUTH_EXPIRED,
	OCPP_AUTH_INVALID,
	OCPP_AUTH_UNKNOWN,		/* 2.0.1; 1.6 says Invalid */
	OCPP_AUTH_CONCURRENT_TX,
};

struct ocpp_id_token {
	char id[SITE_TOKEN_LEN];
	char type[21];			/* 2.0.1 IdTokenEnumType; 1.6: "" */
};

/* A meter reading reduced to the latest value of each measurand. */
struct ocpp_meter {
	int evse;			/* 0: the charger's main meter */
	char tx_id[SITE_TOKEN_LEN];	/* "" when not about a transaction */
	struct site_reading reading;	/* .have 0: nothing we use */
	int nsamples;			/* sampled values seen, used or not */
};

enum ocpp_tx_kind {
	OCPP_TX_STARTED = 0,
	OCPP_TX_UPDATED,
	OCPP_TX_ENDED,
};

struct ocpp_tx {
	enum ocpp_tx_kind kind;
	char tx_id[SITE_TOKEN_LEN];	/* 1.6 start: "" (we issue it) */
	int evse, connector;		/* 0 when not given (2.0.1 updates) */
	bool has_token;
	struct ocpp_id_token token;
	double meter_wh;		/* start/stop register; -1: not given */
	int64_t ts_ms;
	int seq_no;			/* 2.0.1; -1 for 1.6 */
	bool offline;
	char trigger[OCPP_STR_LEN];	/* 2.0.1 triggerReason */
	char stop_reason[OCPP_STR_LEN];	/* when ENDED; "" = Local */
	enum site_status charging_state; /* UNKNOWN when not given */
	int reservation_id;		/* -1 none */
	struct ocpp_meter meter;	/* transactionData / meterValue */
};

struct ocpp_status {
	int evse, connector;		/* 1.6: evse = connectorId, connector 0 */
	enum site_status status;
	char error_code[OCPP_STR_LEN];
	int64_t ts_ms;			/* 0: not given */
};

struct ocpp_boot {
	char vendor[OCPP_STR_LEN], model[OCPP_STR_LEN];
	char serial[OCPP_STR_LEN], firmware[OCPP_STR_LEN];
	char reason[OCPP_STR_LEN];	/* 2.0.1 BootReason; 1.6 "" */
};

struct ocpp_data_transfer {
	char vendor_id[256];
	char message_id[OCPP_STR_LEN];
};

/* Messages that are only recorded (logged, kept for the web page). */
struct ocpp_notice {
	char action[OCPP_STR_LEN];	/* the OCPP action */
	char summary[256];		/* e.g. "type=FirmwareUpdated" */
};

struct ocpp_request_msg {
	enum ocpp_request type;
	union {
		struct ocpp_boot boot;
		struct ocpp_status status;
		struct ocpp_id_token authorize;
		struct ocpp_tx tx;
		struct ocpp_meter meter;
		struct ocpp_data_transfer data_transfer;
		struct ocpp_notice notice;
	} u;
};

/* What a command came to, in the gateway's terms: the status of an
 * answer, whichever side gives it (a charger to the gateway, the gateway to
 * an upstream CSMS). Every OCPP status word of the commands the gateway
 * sends or serves has one value; the words are spelled alike in 1.6 and
 * 2.0.1, and which of them a version has for a given command is for its
 * codec to know (1.6 has no Scheduled for Reset, and says NotSupported for
 * an unknown connector). ocpp_result_name() and ocpp_result_parse() hold
 * the one table of spellings (ocpp/model.c). */
enum ocpp_result {
	OCPP_RESULT_NONE = 0,		/* not given, not decoded */
	OCPP_RESULT_ACCEPTED,
	OCPP_RESULT_REJECTED,
	OCPP_RESULT_SCHEDULED,		/* accepted, done later */
	OCPP_RESULT_REBOOT_REQUIRED,	/* accepted, takes a reboot */
	OCPP_RESULT_NOT_SUPPORTED,
	OCPP_RESULT_NOT_IMPLEMENTED,	/* TriggerMessage of an unknown message */
	OCPP_RESULT_UNKNOWN,		/* ClearChargingProfile: none matched */
	OCPP_RESULT_NO_PROFILES,	/* GetChargingProfiles */
	OCPP_RESULT_UNLOCKED,
	OCPP_RESULT_UNLOCK_FAILED,
	OCPP_RESULT_ONGOING_TX,		/* OngoingAuthorizedTransaction */
	OCPP_RESULT_UNKNOWN_CONNECTOR,
	OCPP_RESULT_UNKNOWN_COMPONENT,	/* Get/SetVariables */
	OCPP_RESULT_UNKNOWN_VARIABLE,
	OCPP_RESULT_NOT_SUPPORTED_TYPE,	/* NotSupportedAttributeType */
	OCPP_RESULT_FAILED,		/* SendLocalList */
	OCPP_RESULT_VERSION_MISMATCH,
	OCPP_RESULT_UNKNOWN_VENDOR,	/* DataTransfer: UnknownVendorId */
	OCPP_RESULT_UNKNOWN_MESSAGE,	/* DataTransfer: UnknownMessageId */
	OCPP_RESULT_OTHER,		/* a word none of the above */
	OCPP_NRESULTS,
};

/* The word of r ("Accepted", "UnlockFailed", ...); "" for NONE, "Other"
 * for OTHER or a value out of range. */
const char *ocpp_result_name(enum ocpp_result r);

/* The value of word; NONE for NULL or "", OTHER for a word not in the
 * table. */
enum ocpp_result ocpp_result_parse(const char *word);

/* True when r means the command was done or will be: ACCEPTED, SCHEDULED,
 * REBOOT_REQUIRED, UNLOCKED. */
bool ocpp_result_yes(enum ocpp_result r);

/* The CSMS's answer, filled by the role, encoded by the codec. */
struct ocpp_reply {
	/* BootNotification */
	enum site_boot boot;
	int interval_s;
	int64_t now_ms;			/* currentTime (boot, heartbeat) */
	/* Authorize, Start/StopTransaction, TransactionEvent with a token */
	bool has_auth;
	enum ocpp_auth_status auth;
	int64_t auth_expiry_ms;		/* 0: none */
	/* 1.6 StartTransaction: the id we issued */
	int64_t tx_id;
	/* DataTransfer: ACCEPTED, REJECTED, UNKNOWN_MESSAGE or
	 * UNKNOWN_VENDOR; NONE is UNKNOWN_VENDOR */
	enum ocpp_result data_transfer;
};

/* ------------------------------------------------------------ commands */

/* What the gateway asks of a charger. 1.6 and 2.0.1 names differ (Remote-
 * vs RequestStartTransaction, GetConfiguration vs GetVariables); the codec
 * picks the action. */
enum ocpp_command_type {
	OCPP_CMD_SET_PROFILE = 0,
	OCPP_CMD_CLEAR_PROFILE,
	OCPP_CMD_GET_COMPOSITE,
	OCPP_CMD_GET_PROFILES,		/* 2.0.1 only */
	OCPP_CMD_REMOTE_START,
	OCPP_CMD_REMOTE_STOP,
	OCPP_CMD_AVAILABILITY,
	OCPP_CMD_RESET,
	OCPP_CMD_UNLOCK,
	OCPP_CMD_TRIGGER,
	OCPP_CMD_GET_CONFIG,		/* GetConfiguration / GetVariables */
	OCPP_CMD_SET_CONFIG,		/* ChangeConfiguration / SetVariables */
	OCPP_CMD_SEND_LOCAL_LIST,
	OCPP_CMD_CLEAR_CACHE,
};

enum ocpp_purpose {
	OCPP_PURPOSE_ANY = -1,		/* ClearChargingProfile criteria */
	OCPP_PURPOSE_MAX = 0,		/* ChargePointMax / ChargingStationMax */
	OCPP_PURPOSE_TX_DEFAULT,
	OCPP_PURPOSE_TX,
};

enum ocpp_unit {
	OCPP_UNIT_ANY = -1,
	OCPP_UNIT_A = 0,
	OCPP_UNIT_W,
};

#define OCPP_MAX_PERIODS 8
#define OCPP_MAX_KEYS 16

struct ocpp_period {
	int start_s;
	double limit;			/* in the profile's unit */
	int phases;			/* numberPhases; 0 = not given */
};

struct ocpp_profile {
	int id;
	int stack_level;
	enum ocpp_purpose purpose;
	bool relative;			/* Relative kind; else Absolute */
	enum ocpp_unit unit;
	char tx_id[SITE_TOKEN_LEN];	/* TxProfile only */
	int64_t start_ms;		/* startSchedule; 0 = none */
	int64_t valid_to_ms;		/* 0 = none */
	int duration_s;			/* 0 = none */
	int nperiods;
	struct ocpp_period periods[OCPP_MAX_PERIODS];
};

/* A configuration key: 1.6 uses only .variable (the key); 2.0.1 the
 * component and variable names. */
struct ocpp_key {
	char component[OCPP_STR_LEN];
	char variable[OCPP_STR_LEN];
	char value[501];
	bool has_value;
};

struct ocpp_list_entry {
	const char *id_token;
	enum ocpp_auth_status status;
	int64_t expiry_ms;		/* 0 = none */
};

struct ocpp_command {
	enum ocpp_command_type type;
	int evse;			/* 0 = the whole charger */
	int connector;			/* UnlockConnector (2.0.1: per EVSE) */
	union {
		struct ocpp_profile profile;		/* SET_PROFILE */
		struct {
			int id;				/* -1 any */
			enum ocpp_purpose purpose;
			int stack_level;		/* -1 any */
		} clear;
		struct {
			int duration_s;
			enum ocpp_unit unit;
		} composite;
		struct {
			int request_id;
		} get_profiles;
		struct {
			struct ocpp_id_token token;
			int remote_start_id;		/* 2.0.1 */
		} start;
		struct {
			char tx_id[SITE_TOKEN_LEN];
		} stop;
		struct {
			bool operative;
		} availability;
		struct {
			bool hard;			/* 2.0.1: Immediate */
		} reset;
		struct {
			char message[OCPP_STR_LEN];	/* the 2.0.1 spelling */
		} trigger;
		struct {
			int nkeys;			/* GET 1.6: 0 = all */
			struct ocpp_key keys[OCPP_MAX_KEYS];
		} config;
		struct {
			int version;
			bool full;
			size_t nentries;
			const struct ocpp_list_entry *entries;	/* caller's */
		} local_list;
	} u;
};

/* The charger's answer, decoded. status keeps which word it was (nothing
 * is lost in translation); accepted says whether it means yes
 * (ocpp_result_yes). */
struct ocpp_command_result {
	bool accepted;
	enum ocpp_result status;
	char reason[OCPP_STR_LEN];	/* 2.0.1 statusInfo.reasonCode */
	char tx_id[SITE_TOKEN_LEN];	/* RequestStartTransaction */
	struct ocpp_profile schedule;	/* GetCompositeSchedule */
	int nkeys;			/* config: per-key outcome */
	struct {
		struct ocpp_key key;
		enum ocpp_result status;	/* per key (2.0.1 per variable) */
		bool readonly;
		bool known;
	} keys[OCPP_MAX_KEYS];
	int nunknown;			/* 1.6 GetConfiguration unknownKey */
};

/* A charger setting the CSMS reads or sets to learn a charger's smart
 * charging and metering; each codec names them in its version (a 1.6
 * configuration key, a 2.0.1 component and variable). */
enum ocpp_cap {
	OCPP_CAP_NONE = 0,		/* ends a table; not a setting */
	OCPP_CAP_SMART_CHARGING,	/* profiles supported at all */
	OCPP_CAP_STACK_LEVEL,		/* the highest stack level */
	OCPP_CAP_RATE_UNIT,		/* A and/or W */
	OCPP_CAP_PERIODS,		/* periods per schedule */
	OCPP_CAP_PROFILES,		/* profiles installed at most */
	OCPP_CAP_PHASE_SWITCHING,
	OCPP_CAP_CONNECTORS,
	OCPP_CAP_MEASURANDS,		/* what transaction meter values carry */
	OCPP_CAP_METER_INTERVAL,	/* their interval, in seconds */
};

/* How a version names a setting; a codec's table lists those it has, in
 * the order it asks for them, and ends with OCPP_CAP_NONE. */
struct ocpp_cap_name {
	enum ocpp_cap cap;
	const char *component;		/* "" in 1.6 */
	const char *variable;
};

/* Which measurands to ask a charger for: all the control loop and the
 * status documents use, or the fewest it needs (per-phase current, power,
 * the energy register) for a charger that refuses the first list. */
enum ocpp_sampling {
	OCPP_SAMPLE_FULL = 0,
	OCPP_SAMPLE_MIN,
};

/* Fill k (value too, when not NULL) with cap's name in table. Returns
 * false when the version has no such setting. */
bool ocpp_cap_key(const struct ocpp_cap_name *table, enum ocpp_cap cap,
    const char *value, struct ocpp_key *k);

/* The setting k names in table (by its variable, unique within a
 * version); OCPP_CAP_NONE for another key. */
enum ocpp_cap ocpp_cap_of(const struct ocpp_cap_name *table,
    const struct ocpp_key *k);

/* The measurand list of s, as both versions write it. */
const char *ocpp_measurands(enum ocpp_sampling s);

/* Which rate units a reported RateUnit / ChargingScheduleAllowedCharging-
 * RateUnit value names ("Current,Power" in 1.6, "A,W" in 2.0.1). */
void ocpp_rate_units(const char *value, bool *a, bool *w);

/* Whether a reported boolean setting says true. */
bool ocpp_cap_true(const char *value);

#endif
