/*
 * v16 — see v16.h. In order: toward the chargers (their requests in, our
 * replies out; our commands out, their results in), then toward an
 * upstream (our requests out, its answers in, its down commands in, our
 * answers out), and the table that gives the upstream side to ocpp/up.
 */
#include "ocpp/v16.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp/codec.h"
#include "ocpp/meter.h"
#include "ocpp/schema.h"
#include "util/json.h"
#include "util/num.h"

#define IDTAG_MAX 20		/* IdToken: CiString20 */

/* 1.6 ChargePointStatus of each of the model's statuses, both ways (an
 * EVSE never reported goes up as Available). */
static const char *const statuses[SITE_STATUS_COUNT] = {
	[SITE_STATUS_UNKNOWN] = "Available",
	[SITE_STATUS_AVAILABLE] = "Available",
	[SITE_STATUS_OCCUPIED] = "Preparing",
	[SITE_STATUS_CHARGING] = "Charging",
	[SITE_STATUS_SUSPENDED_EV] = "SuspendedEV",
	[SITE_STATUS_SUSPENDED_EVSE] = "SuspendedEVSE",
	[SITE_STATUS_FINISHING] = "Finishing",
	[SITE_STATUS_RESERVED] = "Reserved",
	[SITE_STATUS_UNAVAILABLE] = "Unavailable",
	[SITE_STATUS_FAULTED] = "Faulted",
};

/* ChargingProfilePurposeType, by enum ocpp_purpose. */
static const char *const purposes[] = { "ChargePointMaxProfile",
	"TxDefaultProfile", "TxProfile", NULL };

/* Messages only recorded, and the member that summarises each. */
static const struct {
	const char *action;
	const char *key;
} notices[] = {
	{ "DiagnosticsStatusNotification", "status" },
	{ "FirmwareStatusNotification", "status" },
	{ "SecurityEventNotification", "type" },
	{ "LogStatusNotification", "status" },
	{ "SignedFirmwareStatusNotification", "status" },
};


static int
timestamp(const cJSON *o, const char *key, int64_t *ms, bool required,
    struct ocpp_error *err)
{
	int rc = json_time(o, key, ms);

	if (rc < 0 || (rc > 0 && required))
		return codec_refuse(err, rc < 0 ? OCPP_ERR_PROPERTY :
		    OCPP_ERR_OCCURRENCE, "%s: not an RFC 3339 date-time", key);
	if (rc > 0)
		*ms = 0;
	return 0;
}

/* meterValue[]: fold every sampled value into m->reading; the timestamp of
 * the reading is the latest one. */
static int
decode_meter_values(const cJSON *arr, struct ocpp_meter *m, const char *name,
    struct ocpp_error *err)
{
	int i = 0;

	for (const cJSON *mv = arr ? arr->child : NULL; mv; mv = mv->next, i++) {
		const cJSON *svs = cJSON_GetObjectItemCaseSensitive(mv, "sampledValue");
		int64_t ts;
		int j = 0;

		if (json_time(mv, "timestamp", &ts) != 0)
			return codec_refuse(err, OCPP_ERR_PROPERTY,
			    "%s[%d].timestamp: not an RFC 3339 date-time", name, i);
		if (ts > m->reading.ts_ms)
			m->reading.ts_ms = ts;
		for (const cJSON *sv = svs ? svs->child : NULL; sv; sv = sv->next, j++) {
			const char *text = json_str(sv, "value");
			const char *format = json_str(sv, "format");
			struct meter_sample s = {
				.measurand = json_str(sv, "measurand"),
				.phase = json_str(sv, "phase"),
				.unit = json_str(sv, "unit"),
			};
			const char *unit;
			double v;

			m->nsamples++;
			if (format && strcmp(format, "SignedData") == 0)
				continue;	/* a signed blob, not a number */
			if (text == NULL || meter_parse_decimal(text, &s.value) != 0)
				return codec_refuse(err, OCPP_ERR_PROPERTY,
				    "%s[%d].sampledValue[%d].value: \"%.40s\" is not a "
				    "number", name, i, j, text ? text : "");
			if (meter_apply(&m->reading, &s, &v, &unit) ==
			    METER_OUT_OF_RANGE)
				return codec_refuse_meter(err, name, i, j, v, unit);
		}
	}
	meter_finish(&m->reading);
	return 0;
}

static void
tx_id_text(char *dst, const cJSON *o)
{
	snprintf(dst, SITE_TOKEN_LEN, "%d", json_int(o, "transactionId", 0));
}

int
v16_decode_request(const char *action, const cJSON *p,
    struct ocpp_request_msg *out, struct ocpp_error *err)
{
	memset(out, 0, sizeof *out);
	memset(err, 0, sizeof *err);
	if (!cJSON_IsObject(p))
		return codec_refuse(err, OCPP_ERR_FORMAT, "payload is not an "
		    "object");

	if (strcmp(action, "BootNotification") == 0) {
		struct ocpp_boot *b = &out->u.boot;
		out->type = OCPP_REQ_BOOT;
		json_copy(b->vendor, sizeof b->vendor, p, "chargePointVendor");
		json_copy(b->model, sizeof b->model, p, "chargePointModel");
		if (!json_copy(b->serial, sizeof b->serial, p,
		    "chargePointSerialNumber"))
			json_copy(b->serial, sizeof b->serial, p,
			    "chargeBoxSerialNumber");
		json_copy(b->firmware, sizeof b->firmware, p, "firmwareVersion");
		return 0;
	}
	if (strcmp(action, "Heartbeat") == 0) {
		out->type = OCPP_REQ_HEARTBEAT;
		return 0;
	}
	if (strcmp(action, "StatusNotification") == 0) {
		struct ocpp_status *s = &out->u.status;
		const char *st = json_str(p, "status");
		out->type = OCPP_REQ_STATUS;
		s->evse = json_int(p, "connectorId", 0);
		s->connector = 0;
		if (s->evse < 0)
			return codec_refuse_negative(err, "connectorId", s->evse);
		s->status = codec_status_parse(statuses, st);
		if (s->status == SITE_STATUS_UNKNOWN)
			return codec_refuse(err, OCPP_ERR_PROPERTY, "status: \"%.40s\" "
			    "is not a ChargePointStatus", st ? st : "");
		json_copy(s->error_code, sizeof s->error_code, p, "errorCode");
		return timestamp(p, "timestamp", &s->ts_ms, false, err);
	}
	if (strcmp(action, "Authorize") == 0) {
		out->type = OCPP_REQ_AUTHORIZE;
		json_copy(out->u.authorize.id, sizeof out->u.authorize.id, p, "idTag");
		return 0;
	}
	if (strcmp(action, "StartTransaction") == 0) {
		struct ocpp_tx *t = &out->u.tx;
		out->type = OCPP_REQ_TX;
		t->kind = OCPP_TX_STARTED;
		t->evse = json_int(p, "connectorId", 0);
		t->connector = 1;
		t->has_token = json_copy(t->token.id, sizeof t->token.id, p, "idTag");
		t->meter_wh = json_num(p, "meterStart", -1);
		t->seq_no = -1;
		t->reservation_id = json_int(p, "reservationId", -1);
		t->charging_state = SITE_STATUS_UNKNOWN;
		if (t->evse < 1)
			return codec_refuse(err, OCPP_ERR_PROPERTY, "connectorId: a "
			    "transaction needs a connector from 1, got %d", t->evse);
		return timestamp(p, "timestamp", &t->ts_ms, true, err);
	}
	if (strcmp(action, "StopTransaction") == 0) {
		struct ocpp_tx *t = &out->u.tx;
		out->type = OCPP_REQ_TX;
		t->kind = OCPP_TX_ENDED;
		tx_id_text(t->tx_id, p);
		t->has_token = json_copy(t->token.id, sizeof t->token.id, p, "idTag");
		t->meter_wh = json_num(p, "meterStop", -1);
		t->seq_no = -1;
		t->reservation_id = -1;
		t->charging_state = SITE_STATUS_UNKNOWN;
		json_copy(t->stop_reason, sizeof t->stop_reason, p, "reason");
		if (timestamp(p, "timestamp", &t->ts_ms, true, err) != 0)
			return -1;
		snprintf(t->meter.tx_id, sizeof t->meter.tx_id, "%s", t->tx_id);
		return decode_meter_values(cJSON_GetObjectItemCaseSensitive(p,
		    "transactionData"), &t->meter, "transactionData", err);
	}
	if (strcmp(action, "MeterValues") == 0) {
		struct ocpp_meter *m = &out->u.meter;
		out->type = OCPP_REQ_METER;
		m->evse = json_int(p, "connectorId", 0);
		if (m->evse < 0)
			return codec_refuse_negative(err, "connectorId", m->evse);
		if (cJSON_GetObjectItemCaseSensitive(p, "transactionId"))
			tx_id_text(m->tx_id, p);
		return decode_meter_values(cJSON_GetObjectItemCaseSensitive(p,
		    "meterValue"), m, "meterValue", err);
	}
	if (strcmp(action, "DataTransfer") == 0) {
		struct ocpp_data_transfer *d = &out->u.data_transfer;
		out->type = OCPP_REQ_DATA_TRANSFER;
		json_copy(d->vendor_id, sizeof d->vendor_id, p, "vendorId");
		json_copy(d->message_id, sizeof d->message_id, p, "messageId");
		return 0;
	}
	for (size_t i = 0; i < sizeof notices / sizeof *notices; i++)
		if (strcmp(action, notices[i].action) == 0) {
			struct ocpp_notice *n = &out->u.notice;
			const char *v = json_str(p, notices[i].key);
			out->type = OCPP_REQ_NOTICE;
			snprintf(n->action, sizeof n->action, "%s", action);
			snprintf(n->summary, sizeof n->summary, "%s=%.200s",
			    notices[i].key, v ? v : "");
			return 0;
		}
	out->type = OCPP_REQ_NONE;
	return 0;
}

/* 1.6 has no Unknown: Invalid. */
static const char *
auth_name(enum ocpp_auth_status a)
{
	return codec_auth_name(a == OCPP_AUTH_UNKNOWN ? OCPP_AUTH_INVALID : a);
}

static void
add_id_tag_info(cJSON *o, const struct ocpp_reply *r)
{
	cJSON *info = cJSON_AddObjectToObject(o, "idTagInfo");

	cJSON_AddStringToObject(info, "status", auth_name(r->auth));
	if (r->auth_expiry_ms > 0)
		json_add_time(info, "expiryDate", r->auth_expiry_ms);
}

cJSON *
v16_encode_reply(const struct ocpp_request_msg *req,
    const struct ocpp_reply *r)
{
	cJSON *o = codec_object();

	switch (req->type) {
	case OCPP_REQ_BOOT:
		cJSON_AddStringToObject(o, "status", r->boot == SITE_BOOT_ACCEPTED ?
		    "Accepted" : r->boot == SITE_BOOT_PENDING ? "Pending" :
		    "Rejected");
		json_add_time(o, "currentTime", r->now_ms);
		cJSON_AddNumberToObject(o, "interval", r->interval_s);
		break;
	case OCPP_REQ_HEARTBEAT:
		json_add_time(o, "currentTime", r->now_ms);
		break;
	case OCPP_REQ_AUTHORIZE:
		add_id_tag_info(o, r);
		break;
	case OCPP_REQ_TX:
		if (req->u.tx.kind == OCPP_TX_STARTED) {
			add_id_tag_info(o, r);
			cJSON_AddNumberToObject(o, "transactionId", (double)r->tx_id);
		} else if (r->has_auth) {
			add_id_tag_info(o, r);
		}
		break;
	case OCPP_REQ_DATA_TRANSFER:
		cJSON_AddStringToObject(o, "status", ocpp_result_name(
		    r->data_transfer != OCPP_RESULT_NONE ? r->data_transfer :
		    OCPP_RESULT_UNKNOWN_VENDOR));
		break;
	case OCPP_REQ_STATUS:
	case OCPP_REQ_METER:
	case OCPP_REQ_NOTICE:
	case OCPP_REQ_NONE:
		break;
	}
	return o;
}

/* ------------------------------------------------------------ commands */

/* A 1.6 transaction id is an integer, which the model carries as its
 * decimal text. Returns 0, or -1 when tx_id is not one: the command cannot
 * be expressed in 1.6 (a session a 2.0.1 connection started). */
static int
add_tx_id(cJSON *o, const char *key, const char *tx_id)
{
	int64_t id;

	if (num_parse_i64(tx_id, INT32_MIN, INT32_MAX, &id) != 0)
		return -1;
	cJSON_AddNumberToObject(o, key, (double)id);
	return 0;
}

/* NULL when the profile's transaction id is not a 1.6 one. */
static cJSON *
encode_profile(const struct ocpp_profile *p)
{
	cJSON *o = codec_object(), *sched;

	cJSON_AddNumberToObject(o, "chargingProfileId", p->id);
	if (p->purpose == OCPP_PURPOSE_TX && p->tx_id[0] &&
	    add_tx_id(o, "transactionId", p->tx_id) != 0) {
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddNumberToObject(o, "stackLevel", p->stack_level);
	cJSON_AddStringToObject(o, "chargingProfilePurpose",
	    purposes[p->purpose < 0 ? 0 : p->purpose]);
	cJSON_AddStringToObject(o, "chargingProfileKind", p->relative ?
	    "Relative" : "Absolute");
	if (p->valid_to_ms > 0)
		json_add_time(o, "validTo", p->valid_to_ms);
	sched = cJSON_AddObjectToObject(o, "chargingSchedule");
	if (p->duration_s > 0)
		cJSON_AddNumberToObject(sched, "duration", p->duration_s);
	if (p->start_ms > 0)
		json_add_time(sched, "startSchedule", p->start_ms);
	/* 1.6 limits are multiples of 0.1: rounded down, never up. */
	codec_add_periods(sched, p, true);
	return o;
}

int
v16_encode_command(const struct ocpp_command *c, const char **action,
    cJSON **payload)
{
	cJSON *o = codec_object();

	*payload = NULL;
	switch (c->type) {
	case OCPP_CMD_SET_PROFILE: {
		cJSON *cp = encode_profile(&c->u.profile);

		if (cp == NULL)
			goto unsupported;
		*action = "SetChargingProfile";
		cJSON_AddNumberToObject(o, "connectorId", c->evse);
		cJSON_AddItemToObject(o, "csChargingProfiles", cp);
		break;
	}
	case OCPP_CMD_CLEAR_PROFILE:
		*action = "ClearChargingProfile";
		if (c->u.clear.id >= 0)
			cJSON_AddNumberToObject(o, "id", c->u.clear.id);
		else
			cJSON_AddNumberToObject(o, "connectorId", c->evse);
		if (c->u.clear.purpose != OCPP_PURPOSE_ANY)
			cJSON_AddStringToObject(o, "chargingProfilePurpose",
			    purposes[c->u.clear.purpose]);
		if (c->u.clear.stack_level >= 0)
			cJSON_AddNumberToObject(o, "stackLevel", c->u.clear.stack_level);
		break;
	case OCPP_CMD_GET_COMPOSITE:
		*action = "GetCompositeSchedule";
		cJSON_AddNumberToObject(o, "connectorId", c->evse);
		cJSON_AddNumberToObject(o, "duration", c->u.composite.duration_s);
		if (c->u.composite.unit != OCPP_UNIT_ANY)
			cJSON_AddStringToObject(o, "chargingRateUnit",
			    c->u.composite.unit == OCPP_UNIT_W ? "W" : "A");
		break;
	case OCPP_CMD_REMOTE_START:
		*action = "RemoteStartTransaction";
		if (c->evse > 0)
			cJSON_AddNumberToObject(o, "connectorId", c->evse);
		cJSON_AddStringToObject(o, "idTag", c->u.start.token.id);
		break;
	case OCPP_CMD_REMOTE_STOP:
		*action = "RemoteStopTransaction";
		if (add_tx_id(o, "transactionId", c->u.stop.tx_id) != 0)
			goto unsupported;
		break;
	case OCPP_CMD_AVAILABILITY:
		*action = "ChangeAvailability";
		cJSON_AddNumberToObject(o, "connectorId", c->evse);
		cJSON_AddStringToObject(o, "type", c->u.availability.operative ?
		    "Operative" : "Inoperative");
		break;
	case OCPP_CMD_RESET:
		*action = "Reset";
		cJSON_AddStringToObject(o, "type", c->u.reset.hard ? "Hard" : "Soft");
		break;
	case OCPP_CMD_UNLOCK:
		*action = "UnlockConnector";
		cJSON_AddNumberToObject(o, "connectorId", c->evse);
		break;
	case OCPP_CMD_TRIGGER:
		*action = "TriggerMessage";
		cJSON_AddStringToObject(o, "requestedMessage", c->u.trigger.message);
		if (c->evse > 0)
			cJSON_AddNumberToObject(o, "connectorId", c->evse);
		break;
	case OCPP_CMD_GET_CONFIG:
		*action = "GetConfiguration";
		if (c->u.config.nkeys > 0) {
			cJSON *keys = cJSON_AddArrayToObject(o, "key");
			for (int i = 0; i < c->u.config.nkeys; i++)
				cJSON_AddItemToArray(keys, cJSON_CreateString(
				    c->u.config.keys[i].variable));
		}
		break;
	case OCPP_CMD_SET_CONFIG:
		*action = "ChangeConfiguration";
		if (c->u.config.nkeys != 1)
			goto unsupported;
		cJSON_AddStringToObject(o, "key", c->u.config.keys[0].variable);
		cJSON_AddStringToObject(o, "value", c->u.config.keys[0].value);
		break;
	case OCPP_CMD_SEND_LOCAL_LIST: {
		cJSON *list;
		*action = "SendLocalList";
		cJSON_AddNumberToObject(o, "listVersion", c->u.local_list.version);
		cJSON_AddStringToObject(o, "updateType", c->u.local_list.full ?
		    "Full" : "Differential");
		list = cJSON_AddArrayToObject(o, "localAuthorizationList");
		for (size_t i = 0; i < c->u.local_list.nentries; i++) {
			const struct ocpp_list_entry *e = &c->u.local_list.entries[i];
			cJSON *item = codec_object();
			struct ocpp_reply r = { .auth = e->status,
			    .auth_expiry_ms = e->expiry_ms };
			cJSON_AddStringToObject(item, "idTag", e->id_token);
			add_id_tag_info(item, &r);
			cJSON_AddItemToArray(list, item);
		}
		break;
	}
	case OCPP_CMD_CLEAR_CACHE:
		*action = "ClearCache";
		break;
	case OCPP_CMD_GET_PROFILES:
	default:
		goto unsupported;
	}
	*payload = o;
	return 0;
unsupported:
	cJSON_Delete(o);
	*action = NULL;
	return -1;
}



int
v16_decode_result(const struct ocpp_command *c, const cJSON *p,
    struct ocpp_command_result *out, struct ocpp_error *err)
{
	memset(out, 0, sizeof *out);
	memset(err, 0, sizeof *err);
	if (!cJSON_IsObject(p))
		return codec_refuse(err, OCPP_ERR_FORMAT, "payload is not an "
		    "object");
	if (c->type == OCPP_CMD_GET_CONFIG) {
		const cJSON *keys = cJSON_GetObjectItemCaseSensitive(p,
		    "configurationKey");
		const cJSON *unknown = cJSON_GetObjectItemCaseSensitive(p,
		    "unknownKey");
		for (const cJSON *k = keys ? keys->child : NULL;
		    k && out->nkeys < OCPP_MAX_KEYS; k = k->next) {
			struct ocpp_key *key = &out->keys[out->nkeys].key;
			json_copy(key->variable, sizeof key->variable, k, "key");
			key->has_value = json_copy(key->value, sizeof key->value, k,
			    "value");
			out->keys[out->nkeys].readonly = json_bool(k, "readonly", false);
			out->keys[out->nkeys].known = true;
			out->keys[out->nkeys].status = OCPP_RESULT_ACCEPTED;
			out->nkeys++;
		}
		out->nunknown = unknown ? cJSON_GetArraySize(unknown) : 0;
		/* Unknown keys are listed too, so the caller sees every key. */
		for (const cJSON *k = unknown ? unknown->child : NULL;
		    k && out->nkeys < OCPP_MAX_KEYS; k = k->next) {
			if (!cJSON_IsString(k))
				continue;
			snprintf(out->keys[out->nkeys].key.variable, OCPP_STR_LEN,
			    "%s", k->valuestring);
			out->keys[out->nkeys].status = OCPP_RESULT_UNKNOWN_VARIABLE;
			out->nkeys++;
		}
		out->accepted = true;
		out->status = OCPP_RESULT_ACCEPTED;
		return 0;
	}
	out->status = ocpp_result_parse(json_str(p, "status"));
	out->accepted = ocpp_result_yes(out->status);
	if (c->type == OCPP_CMD_SET_CONFIG && c->u.config.nkeys == 1) {
		out->nkeys = 1;
		out->keys[0].key = c->u.config.keys[0];
		out->keys[0].known = out->status != OCPP_RESULT_NOT_SUPPORTED;
		out->keys[0].status = out->status;
	}
	if (c->type == OCPP_CMD_GET_COMPOSITE)
		codec_schedule(cJSON_GetObjectItemCaseSensitive(p,
		    "chargingSchedule"), "startSchedule", &out->schedule);
	return 0;
}

/* ============================================================ upstream */

/* Where 1.6 puts an id token's authorization. */
static const struct codec_auth_words auth_words = { "idTagInfo",
	"expiryDate", "listVersion", NULL, "idTag" };

/* ChargePointErrorCode: a charger's word goes up when 1.6 has it. */
static const char *const errors[] = { "ConnectorLockFailure",
	"EVCommunicationError", "GroundFailure", "HighTemperature",
	"InternalError", "LocalListConflict", "NoError", "OtherError",
	"OverCurrentFailure", "PowerMeterFailure", "PowerSwitchFailure",
	"ReaderFailure", "ResetFailure", "UnderVoltage", "OverVoltage",
	"WeakSignal", NULL };

/* Reason of StopTransaction. */
static const char *const reasons[] = { "EmergencyStop", "EVDisconnected",
	"HardReset", "Local", "Other", "PowerLoss", "Reboot", "Remote",
	"SoftReset", "UnlockCommand", "DeAuthorized", NULL };

/* The gateway's settings as 1.6 configuration keys, by enum up_setting. */
static const char *const setting_keys[UP_NSETTINGS] = {
	[UP_SET_HEARTBEAT_INTERVAL] = "HeartbeatInterval",
	[UP_SET_METER_INTERVAL] = "MeterValueSampleInterval",
	[UP_SET_MESSAGE_ATTEMPTS] = "TransactionMessageAttempts",
	[UP_SET_RETRY_INTERVAL] = "TransactionMessageRetryInterval",
	[UP_SET_LOCAL_LIST_ENABLED] = "LocalAuthListEnabled",
	[UP_SET_LOCAL_LIST_ENTRIES] = "LocalAuthListMaxLength",
	[UP_SET_LOCAL_LIST_PER_MESSAGE] = "SendLocalListMaxLength",
	[UP_SET_EVSE_COUNT] = "NumberOfConnectors",
};

static bool
token_fits(const char *token)
{
	size_t n = strlen(token);

	return n > 0 && n <= IDTAG_MAX;
}

/* A Wh register as the integer meterStart / meterStop carry. The charger
 * side refuses registers outside 0..SCHEMA_NUM_MAX (ocpp/schema), so a
 * value out of it means a bug; it is clamped rather than cast, since
 * converting a double beyond int64 (1e308, NaN) is undefined behaviour and
 * gave -9223372036854775808. Truncated toward zero, as before. */
static double
register_wh(double wh)
{
	if (!(wh > 0))			/* NaN too */
		return 0;
	if (wh > SCHEMA_NUM_MAX)
		return SCHEMA_NUM_MAX;
	return trunc(wh);
}

static cJSON *
up_boot(const struct up_identity *id, const char **action)
{
	cJSON *o = codec_object();

	*action = "BootNotification";
	cJSON_AddStringToObject(o, "chargePointVendor", id->vendor);
	cJSON_AddStringToObject(o, "chargePointModel", id->model);
	cJSON_AddStringToObject(o, "chargePointSerialNumber", id->serial);
	cJSON_AddStringToObject(o, "firmwareVersion", id->firmware);
	return o;
}

static cJSON *
up_status(int number, int connector, enum site_status st,
    const char *error_code, int64_t ts_ms, const char **action)
{
	cJSON *o = codec_object();
	const char *ec;

	(void)connector;		/* 1.6: one connector per number */
	if ((unsigned)st >= SITE_STATUS_COUNT)
		st = SITE_STATUS_UNKNOWN;
	ec = codec_in_list(errors, error_code) ? error_code :
	    st == SITE_STATUS_FAULTED ? "OtherError" : "NoError";
	*action = "StatusNotification";
	cJSON_AddNumberToObject(o, "connectorId", number);
	cJSON_AddStringToObject(o, "errorCode", ec);
	cJSON_AddStringToObject(o, "status", statuses[st]);
	json_add_time(o, "timestamp", ts_ms);
	return o;
}

static cJSON *
up_authorize(const struct ocpp_id_token *t, const char **action)
{
	cJSON *o = codec_object();

	*action = "Authorize";
	cJSON_AddStringToObject(o, "idTag", t->id);
	return o;
}

/* The charger's stop reason in 1.6 words. */
static const char *
stop_reason(const char *r)
{
	if (r == NULL || *r == '\0')
		return "Local";
	if (codec_in_list(reasons, r))
		return r;
	if (strcmp(r, "ImmediateReset") == 0)
		return "HardReset";
	return "Other";
}

static void
sample(cJSON *arr, double value, const char *measurand, const char *unit,
    const char *phase, const char *context)
{
	cJSON *s = codec_object();
	char buf[32];

	snprintf(buf, sizeof buf, "%.1f", value);
	cJSON_AddStringToObject(s, "value", buf);
	cJSON_AddStringToObject(s, "context", context);
	cJSON_AddStringToObject(s, "measurand", measurand);
	if (phase)
		cJSON_AddStringToObject(s, "phase", phase);
	cJSON_AddStringToObject(s, "unit", unit);
	cJSON_AddItemToArray(arr, s);
}

/* StartTransaction, MeterValues (the periodic values of a transaction),
 * StopTransaction; the transactionId is patched in when sent. */
static cJSON *
up_tx(enum ocpp_tx_kind kind, const struct site_session *x, int number,
    int connector, const struct site_reading *r, bool offline, int64_t ts_ms,
    const char **action)
{
	cJSON *o = codec_object();
	const bool has_token = x->id_token[0] != '\0';

	(void)connector;
	(void)offline;			/* 1.6 cannot say */
	switch (kind) {
	case OCPP_TX_STARTED:
		*action = "StartTransaction";
		cJSON_AddNumberToObject(o, "connectorId", number);
		/* 1.6 needs an idTag; a session started by plug-in without
		 * one is reported under the gateway's name. */
		cJSON_AddStringToObject(o, "idTag", has_token &&
		    token_fits(x->id_token) ? x->id_token : "sitegate");
		cJSON_AddNumberToObject(o, "meterStart",
		    register_wh(x->meter_start_wh));
		json_add_time(o, "timestamp", x->start_ms);
		break;
	case OCPP_TX_UPDATED:
		*action = "MeterValues";
		cJSON_AddNumberToObject(o, "connectorId", number);
		cJSON_AddNumberToObject(o, "transactionId", 0);
		cJSON_AddItemToObject(o, "meterValue", codec_meter_value(sample,
		    r, r && (r->have & SITE_HAVE_ENERGY) ? r->energy_wh :
		    x->meter_start_wh, ts_ms, false, false));
		break;
	case OCPP_TX_ENDED:
		*action = "StopTransaction";
		if (has_token && token_fits(x->id_token))
			cJSON_AddStringToObject(o, "idTag", x->id_token);
		cJSON_AddNumberToObject(o, "meterStop", register_wh(
		    x->meter_stop_wh >= 0 ? x->meter_stop_wh :
		    x->meter_start_wh));
		json_add_time(o, "timestamp", x->stop_ms);
		cJSON_AddNumberToObject(o, "transactionId", 0);
		cJSON_AddStringToObject(o, "reason", stop_reason(x->stop_reason));
		break;
	}
	return o;
}

static int
up_patch_tx(cJSON *p, const char *up_tx_id, int seq_no)
{
	int64_t id;

	(void)seq_no;			/* 1.6 has none */
	if (!cJSON_HasObjectItem(p, "transactionId"))
		return 0;
	if (num_parse_i64(up_tx_id, INT32_MIN, INT32_MAX, &id) != 0)
		return -1;
	cJSON_ReplaceItemInObjectCaseSensitive(p, "transactionId",
	    cJSON_CreateNumber((double)id));
	return 0;
}

static void
up_auth_result(const char *action, const cJSON *p, struct up_auth_result *out)
{
	codec_auth_result(p, &auth_words, out);
	if (strcmp(action, "StartTransaction") == 0)
		tx_id_text(out->tx_id, p);
}

/* ------------------------------------------------------------ down */

static void
key_resolve(struct up_key *k)
{
	for (int i = 0; k != NULL && i < UP_NSETTINGS; i++)
		if (strcmp(setting_keys[i], k->key.variable) == 0)
			k->setting = i;
}

static int
down_remote_start(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	d->evse = json_int(p, "connectorId", -1);
	json_copy(d->token.id, sizeof d->token.id, p, "idTag");
	return 0;
}

static int
down_remote_stop(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	tx_id_text(d->tx_id, p);	/* the upstream's id: mapped */
	return 0;
}

static int
down_unlock(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	d->evse = json_int(p, "connectorId", -1);
	d->connector = 1;
	return 0;
}

static int
down_availability(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	const char *s = json_str(p, "type");

	(void)err;
	d->operative = s && strcmp(s, "Operative") == 0;
	d->evse = json_int(p, "connectorId", 0);
	return 0;
}

static int
down_reset(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	const char *s = json_str(p, "type");

	(void)err;
	d->hard = s && strcmp(s, "Hard") == 0;
	d->evse = 0;
	return 0;
}

static int
down_trigger(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	d->trigger = codec_trigger(json_str(p, "requestedMessage"));
	d->evse = json_int(p, "connectorId", -1);
	return 0;
}

static int
down_get_config(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(p, "key");

	for (const cJSON *k = keys ? keys->child : NULL; k; k = k->next) {
		if (d->nkeys >= OCPP_MAX_KEYS)
			return codec_refuse(err, OCPP_ERR_OCCURRENCE, "key: more "
			    "than %d keys in one request", OCPP_MAX_KEYS);
		key_resolve(codec_down_key(d, NULL, cJSON_IsString(k) ?
		    k->valuestring : "", NULL));
	}
	return 0;
}

static int
down_set_config(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	key_resolve(codec_down_key(d, NULL, json_str(p, "key"),
	    json_str(p, "value")));
	return 0;
}

static int
down_local_list(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	return codec_down_list(p, &auth_words, d, err);
}

static int
down_set_profile(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	const cJSON *cp = cJSON_GetObjectItemCaseSensitive(p,
	    "csChargingProfiles");
	const cJSON *sched = cJSON_GetObjectItemCaseSensitive(cp,
	    "chargingSchedule");
	const char *kind = json_str(cp, "chargingProfileKind");
	struct ocpp_profile *x = &d->profile;

	(void)err;
	d->evse = json_int(p, "connectorId", 0);
	x->id = json_int(cp, "chargingProfileId", 0);
	x->stack_level = json_int(cp, "stackLevel", 0);
	x->purpose = (enum ocpp_purpose)codec_index(purposes,
	    json_str(cp, "chargingProfilePurpose"));
	x->relative = kind && strcmp(kind, "Relative") == 0;
	if (sched)
		codec_schedule(sched, "startSchedule", x);
	if (json_time(cp, "validTo", &x->valid_to_ms) != 0)
		x->valid_to_ms = 0;
	if (cJSON_HasObjectItem(cp, "transactionId"))
		tx_id_text(x->tx_id, cp);
	return 0;
}

static int
down_clear_profile(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	codec_down_clear(p, "id", p, "connectorId", purposes, d);
	return 0;
}

static int
down_composite(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	codec_down_composite(p, "connectorId", d);
	return 0;
}

/* The upstream's requests the gateway serves. */
static const struct codec_down downs[] = {
	{ "RemoteStartTransaction", UP_DOWN_REMOTE_START, down_remote_start },
	{ "RemoteStopTransaction", UP_DOWN_REMOTE_STOP, down_remote_stop },
	{ "UnlockConnector", UP_DOWN_UNLOCK, down_unlock },
	{ "ChangeAvailability", UP_DOWN_AVAILABILITY, down_availability },
	{ "Reset", UP_DOWN_RESET, down_reset },
	{ "TriggerMessage", UP_DOWN_TRIGGER, down_trigger },
	{ "GetConfiguration", UP_DOWN_GET_CONFIG, down_get_config },
	{ "ChangeConfiguration", UP_DOWN_SET_CONFIG, down_set_config },
	{ "SendLocalList", UP_DOWN_SEND_LOCAL_LIST, down_local_list },
	{ "GetLocalListVersion", UP_DOWN_GET_LOCAL_LIST_VERSION,
	  codec_down_nothing },
	{ "SetChargingProfile", UP_DOWN_SET_PROFILE, down_set_profile },
	{ "ClearChargingProfile", UP_DOWN_CLEAR_PROFILE, down_clear_profile },
	{ "GetCompositeSchedule", UP_DOWN_GET_COMPOSITE, down_composite },
	{ "DataTransfer", UP_DOWN_DATA_TRANSFER, codec_down_nothing },
	{ "ClearCache", UP_DOWN_CLEAR_CACHE, codec_down_nothing },
};

static const char *
up_down_action(size_t i)
{
	return codec_down_action(downs, sizeof downs / sizeof *downs, i);
}

static int
up_decode_down(const char *action, const cJSON *p, struct up_down *d,
    struct ocpp_error *err)
{
	return codec_decode_down(downs, sizeof downs / sizeof *downs, action, p,
	    d, err);
}

/* The word of r as the answer to a command of type t. */
static const char *
result_word(enum up_down_type t, enum ocpp_result r)
{
	switch (t) {
	case UP_DOWN_UNLOCK:
		/* NotSupported: "no connector lock, or ConnectorId is
		 * unknown" */
		return ocpp_result_name(r == OCPP_RESULT_UNLOCKED ||
		    r == OCPP_RESULT_NOT_SUPPORTED ? r :
		    r == OCPP_RESULT_UNKNOWN_CONNECTOR ? OCPP_RESULT_NOT_SUPPORTED :
		    OCPP_RESULT_UNLOCK_FAILED);
	case UP_DOWN_RESET:		/* no Scheduled in 1.6 ResetStatus */
		return ocpp_result_name(r == OCPP_RESULT_SCHEDULED ?
		    OCPP_RESULT_ACCEPTED : r);
	case UP_DOWN_SET_CONFIG:	/* no unknown component or variable */
		return ocpp_result_name(r == OCPP_RESULT_UNKNOWN_COMPONENT ||
		    r == OCPP_RESULT_UNKNOWN_VARIABLE ?
		    OCPP_RESULT_NOT_SUPPORTED : r);
	default:
		return ocpp_result_name(r);
	}
}

static cJSON *
up_reply(enum up_down_type t, enum ocpp_result r)
{
	cJSON *o = codec_object();

	cJSON_AddStringToObject(o, "status", result_word(t, r));
	return o;
}

static cJSON *
up_reply_list_version(int version)
{
	cJSON *o = codec_object();

	cJSON_AddNumberToObject(o, "listVersion", version);
	return o;
}

/* GetConfiguration: the keys asked for (all without keys), those not ours
 * in unknownKey. */
static cJSON *
up_reply_get_config(const struct up_down *d,
    const struct up_setting_value *values)
{
	cJSON *o = codec_object();
	cJSON *keys = cJSON_AddArrayToObject(o, "configurationKey");
	cJSON *unknown = cJSON_CreateArray();

	if (unknown == NULL)
		abort();
	for (int i = 0; i < (d->nkeys ? d->nkeys : UP_NSETTINGS); i++) {
		int s = d->nkeys ? d->keys[i].setting : i;
		cJSON *k;

		if (s < 0) {
			cJSON_AddItemToArray(unknown, cJSON_CreateString(
			    d->keys[i].key.variable));
			continue;
		}
		k = codec_object();
		cJSON_AddStringToObject(k, "key", setting_keys[s]);
		cJSON_AddBoolToObject(k, "readonly", values[s].readonly);
		cJSON_AddStringToObject(k, "value", values[s].text);
		cJSON_AddItemToArray(keys, k);
	}
	if (cJSON_GetArraySize(unknown) > 0)
		cJSON_AddItemToObject(o, "unknownKey", unknown);
	else
		cJSON_Delete(unknown);
	return o;
}

static cJSON *
up_reply_set_config(const struct up_down *d, const enum ocpp_result *results)
{
	(void)d;
	return up_reply(UP_DOWN_SET_CONFIG, results[0]);
}

static cJSON *
up_reply_composite(int number, bool accepted, double limit_a, int phases,
    int duration_s, int64_t start_ms)
{
	cJSON *o = up_reply(UP_DOWN_GET_COMPOSITE, accepted ?
	    OCPP_RESULT_ACCEPTED : OCPP_RESULT_REJECTED);
	cJSON *s;

	if (!accepted)
		return o;
	cJSON_AddNumberToObject(o, "connectorId", number);
	json_add_time(o, "scheduleStart", start_ms);
	s = cJSON_AddObjectToObject(o, "chargingSchedule");
	cJSON_AddNumberToObject(s, "duration", duration_s);
	json_add_time(s, "startSchedule", start_ms);
	codec_add_limit(s, limit_a, phases);
	return o;
}

const struct up_codec v16_up = {
	.version = OCPP_V16,
	.token_max = IDTAG_MAX,
	.upstream_tx_ids = true,
	.boot = up_boot,
	.heartbeat = codec_heartbeat,
	.status = up_status,
	.authorize = up_authorize,
	.tx = up_tx,
	.patch_tx = up_patch_tx,
	.charging_limit = NULL,
	.charging_limit_cleared = NULL,
	.boot_result = codec_boot_result,
	.auth_result = up_auth_result,
	.down_action = up_down_action,
	.decode_down = up_decode_down,
	.reply = up_reply,
	.reply_list_version = up_reply_list_version,
	.reply_get_config = up_reply_get_config,
	.reply_set_config = up_reply_set_config,
	.reply_composite = up_reply_composite,
};

/* The settings capability discovery reads and sets, in the order asked. */
const struct ocpp_cap_name v16_caps[] = {
	{ OCPP_CAP_STACK_LEVEL, "", "ChargeProfileMaxStackLevel" },
	{ OCPP_CAP_RATE_UNIT, "", "ChargingScheduleAllowedChargingRateUnit" },
	{ OCPP_CAP_PERIODS, "", "ChargingScheduleMaxPeriods" },
	{ OCPP_CAP_PROFILES, "", "MaxChargingProfilesInstalled" },
	{ OCPP_CAP_CONNECTORS, "", "NumberOfConnectors" },
	{ OCPP_CAP_MEASURANDS, "", "MeterValuesSampledData" },
	{ OCPP_CAP_METER_INTERVAL, "", "MeterValueSampleInterval" },
	{ OCPP_CAP_NONE, NULL, NULL },
};
