/*
 * v201 — see v201.h. In order: toward the chargers (their requests in, our
 * replies out; our commands out, their results in), then toward an
 * upstream (our requests out, its answers in, its down commands in, our
 * answers out), and the table that gives the upstream side to ocpp/up.
 */
#include "ocpp/v201.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp/codec.h"
#include "ocpp/meter.h"
#include "util/json.h"
#include "util/num.h"

struct name_status {
	const char *name;
	enum site_status status;
};

/* ConnectorStatusEnumType of each of the model's statuses: a vehicle
 * plugged in, charging or not, is Occupied; read back, Occupied is the
 * first of them. An EVSE never reported goes up as Available. */
static const char *const connector_statuses[SITE_STATUS_COUNT] = {
	[SITE_STATUS_UNKNOWN] = "Available",
	[SITE_STATUS_AVAILABLE] = "Available",
	[SITE_STATUS_OCCUPIED] = "Occupied",
	[SITE_STATUS_CHARGING] = "Occupied",
	[SITE_STATUS_SUSPENDED_EV] = "Occupied",
	[SITE_STATUS_SUSPENDED_EVSE] = "Occupied",
	[SITE_STATUS_FINISHING] = "Occupied",
	[SITE_STATUS_RESERVED] = "Reserved",
	[SITE_STATUS_UNAVAILABLE] = "Unavailable",
	[SITE_STATUS_FAULTED] = "Faulted",
};

/* ChargingProfilePurposeEnumType, by enum ocpp_purpose (the fourth,
 * ChargingStationExternalConstraints, is not ours to set). */
static const char *const purposes[] = { "ChargingStationMaxProfile",
	"TxDefaultProfile", "TxProfile", NULL };

static const struct name_status charging_states[] = {
	{ "Charging", SITE_STATUS_CHARGING },
	{ "EVConnected", SITE_STATUS_OCCUPIED },
	{ "SuspendedEV", SITE_STATUS_SUSPENDED_EV },
	{ "SuspendedEVSE", SITE_STATUS_SUSPENDED_EVSE },
	{ "Idle", SITE_STATUS_UNKNOWN },
};

/* Messages only recorded: the action, and a member (a path of up to two
 * keys) that summarises it. */
static const struct {
	const char *action;
	const char *key, *subkey;
} notices[] = {
	{ "SecurityEventNotification", "type", NULL },
	{ "NotifyReport", "requestId", NULL },
	{ "NotifyEvent", "seqNo", NULL },
	{ "FirmwareStatusNotification", "status", NULL },
	{ "LogStatusNotification", "status", NULL },
	{ "NotifyChargingLimit", "chargingLimit", "chargingLimitSource" },
	{ "ClearedChargingLimit", "chargingLimitSource", NULL },
	{ "ReportChargingProfiles", "chargingLimitSource", NULL },
};


static enum site_status
lookup(const struct name_status *t, size_t n, const char *name,
    enum site_status dflt)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(name, t[i].name) == 0)
			return t[i].status;
	return dflt;
}

static int
decode_meter_values(const cJSON *arr, struct ocpp_meter *m, const char *name,
    struct ocpp_error *err)
{
	int i = 0;

	for (const cJSON *mv = arr ? arr->child : NULL; mv; mv = mv->next, i++) {
		const cJSON *svs = cJSON_GetObjectItemCaseSensitive(mv, "sampledValue");
		int64_t ts;

		if (json_time(mv, "timestamp", &ts) != 0)
			return codec_refuse(err, OCPP_ERR_PROPERTY,
			    "%s[%d].timestamp: not an RFC 3339 date-time", name, i);
		if (ts > m->reading.ts_ms)
			m->reading.ts_ms = ts;
		int j = 0;

		for (const cJSON *sv = svs ? svs->child : NULL; sv; sv = sv->next, j++) {
			const cJSON *uom = cJSON_GetObjectItemCaseSensitive(sv,
			    "unitOfMeasure");
			struct meter_sample s = {
				.measurand = json_str(sv, "measurand"),
				.phase = json_str(sv, "phase"),
				.unit = json_str(uom, "unit"),
				.multiplier = json_int(uom, "multiplier", 0),
				.value = json_num(sv, "value", 0),
			};
			const char *unit;
			double v;

			m->nsamples++;
			if (meter_apply(&m->reading, &s, &v, &unit) ==
			    METER_OUT_OF_RANGE)
				return codec_refuse_meter(err, name, i, j, v, unit);
		}
	}
	meter_finish(&m->reading);
	return 0;
}

static int
decode_tx(const cJSON *p, struct ocpp_tx *t, struct ocpp_error *err)
{
	const char *type = json_str(p, "eventType");
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(p, "transactionInfo");
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(p, "idToken");
	const cJSON *evse = cJSON_GetObjectItemCaseSensitive(p, "evse");

	if (type && strcmp(type, "Started") == 0)
		t->kind = OCPP_TX_STARTED;
	else if (type && strcmp(type, "Updated") == 0)
		t->kind = OCPP_TX_UPDATED;
	else if (type && strcmp(type, "Ended") == 0)
		t->kind = OCPP_TX_ENDED;
	else
		return codec_refuse(err, OCPP_ERR_PROPERTY, "eventType: \"%.40s\" "
		    "is not Started, Updated or Ended", type ? type : "");
	if (json_time(p, "timestamp", &t->ts_ms) != 0)
		return codec_refuse(err, OCPP_ERR_PROPERTY, "timestamp: not an "
		    "RFC 3339 date-time");
	json_copy(t->tx_id, sizeof t->tx_id, info, "transactionId");
	json_copy(t->trigger, sizeof t->trigger, p, "triggerReason");
	json_copy(t->stop_reason, sizeof t->stop_reason, info, "stoppedReason");
	t->charging_state = lookup(charging_states, sizeof charging_states /
	    sizeof *charging_states, json_str(info, "chargingState"),
	    SITE_STATUS_UNKNOWN);
	t->seq_no = json_int(p, "seqNo", -1);
	t->offline = json_bool(p, "offline", false);
	t->reservation_id = json_int(p, "reservationId", -1);
	t->evse = json_int(evse, "id", 0);
	t->connector = json_int(evse, "connectorId", 0);
	if (t->seq_no < 0)
		return codec_refuse_negative(err, "seqNo", t->seq_no);
	if (t->evse < 0)
		return codec_refuse_negative(err, "evse.id", t->evse);
	if (t->connector < 0)
		return codec_refuse_negative(err, "evse.connectorId", t->connector);
	if (tok != NULL) {
		t->has_token = true;
		json_copy(t->token.id, sizeof t->token.id, tok, "idToken");
		json_copy(t->token.type, sizeof t->token.type, tok, "type");
	}
	snprintf(t->meter.tx_id, sizeof t->meter.tx_id, "%s", t->tx_id);
	t->meter.evse = t->evse;
	if (decode_meter_values(cJSON_GetObjectItemCaseSensitive(p, "meterValue"),
	    &t->meter, "meterValue", err) != 0)
		return -1;
	t->meter_wh = t->kind != OCPP_TX_UPDATED &&
	    (t->meter.reading.have & SITE_HAVE_ENERGY) ?
	    t->meter.reading.energy_wh : -1;
	return 0;
}

int
v201_decode_request(const char *action, const cJSON *p,
    struct ocpp_request_msg *out, struct ocpp_error *err)
{
	memset(out, 0, sizeof *out);
	memset(err, 0, sizeof *err);
	if (!cJSON_IsObject(p))
		return codec_refuse(err, OCPP_ERR_FORMAT, "payload is not an "
		    "object");

	if (strcmp(action, "BootNotification") == 0) {
		struct ocpp_boot *b = &out->u.boot;
		const cJSON *cs = cJSON_GetObjectItemCaseSensitive(p,
		    "chargingStation");
		out->type = OCPP_REQ_BOOT;
		json_copy(b->vendor, sizeof b->vendor, cs, "vendorName");
		json_copy(b->model, sizeof b->model, cs, "model");
		json_copy(b->serial, sizeof b->serial, cs, "serialNumber");
		json_copy(b->firmware, sizeof b->firmware, cs, "firmwareVersion");
		json_copy(b->reason, sizeof b->reason, p, "reason");
		return 0;
	}
	if (strcmp(action, "Heartbeat") == 0) {
		out->type = OCPP_REQ_HEARTBEAT;
		return 0;
	}
	if (strcmp(action, "StatusNotification") == 0) {
		struct ocpp_status *s = &out->u.status;
		const char *st = json_str(p, "connectorStatus");
		out->type = OCPP_REQ_STATUS;
		s->evse = json_int(p, "evseId", 0);
		s->connector = json_int(p, "connectorId", 0);
		if (s->evse < 0)
			return codec_refuse_negative(err, "evseId", s->evse);
		if (s->connector < 0)
			return codec_refuse_negative(err, "connectorId", s->connector);
		s->status = codec_status_parse(connector_statuses, st);
		if (s->status == SITE_STATUS_UNKNOWN)
			return codec_refuse(err, OCPP_ERR_PROPERTY, "connectorStatus: "
			    "\"%.40s\" is not a ConnectorStatus", st ? st : "");
		if (json_time(p, "timestamp", &s->ts_ms) != 0)
			return codec_refuse(err, OCPP_ERR_PROPERTY, "timestamp: not "
			    "an RFC 3339 date-time");
		return 0;
	}
	if (strcmp(action, "Authorize") == 0) {
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(p, "idToken");
		out->type = OCPP_REQ_AUTHORIZE;
		json_copy(out->u.authorize.id, sizeof out->u.authorize.id, tok,
		    "idToken");
		json_copy(out->u.authorize.type, sizeof out->u.authorize.type, tok,
		    "type");
		return 0;
	}
	if (strcmp(action, "TransactionEvent") == 0) {
		out->type = OCPP_REQ_TX;
		return decode_tx(p, &out->u.tx, err);
	}
	if (strcmp(action, "MeterValues") == 0) {
		struct ocpp_meter *m = &out->u.meter;
		out->type = OCPP_REQ_METER;
		m->evse = json_int(p, "evseId", 0);
		if (m->evse < 0)
			return codec_refuse_negative(err, "evseId", m->evse);
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
			const cJSON *o = p;
			const char *key = notices[i].key;
			const cJSON *v;
			char val[128] = "";

			if (notices[i].subkey) {
				o = cJSON_GetObjectItemCaseSensitive(p, key);
				key = notices[i].subkey;
			}
			v = cJSON_GetObjectItemCaseSensitive(o, key);
			if (cJSON_IsString(v))
				snprintf(val, sizeof val, "%s", v->valuestring);
			else if (cJSON_IsNumber(v))
				snprintf(val, sizeof val, "%.0f", v->valuedouble);
			out->type = OCPP_REQ_NOTICE;
			snprintf(n->action, sizeof n->action, "%s", action);
			snprintf(n->summary, sizeof n->summary, "%s=%s", key, val);
			return 0;
		}
	out->type = OCPP_REQ_NONE;
	return 0;
}

static void
add_id_token_info(cJSON *o, const struct ocpp_reply *r)
{
	cJSON *info = cJSON_AddObjectToObject(o, "idTokenInfo");

	cJSON_AddStringToObject(info, "status", codec_auth_name(r->auth));
	if (r->auth_expiry_ms > 0)
		json_add_time(info, "cacheExpiryDateTime", r->auth_expiry_ms);
}

cJSON *
v201_encode_reply(const struct ocpp_request_msg *req,
    const struct ocpp_reply *r)
{
	cJSON *o = codec_object();

	switch (req->type) {
	case OCPP_REQ_BOOT:
		json_add_time(o, "currentTime", r->now_ms);
		cJSON_AddNumberToObject(o, "interval", r->interval_s);
		cJSON_AddStringToObject(o, "status", r->boot == SITE_BOOT_ACCEPTED ?
		    "Accepted" : r->boot == SITE_BOOT_PENDING ? "Pending" :
		    "Rejected");
		break;
	case OCPP_REQ_HEARTBEAT:
		json_add_time(o, "currentTime", r->now_ms);
		break;
	case OCPP_REQ_AUTHORIZE:
		add_id_token_info(o, r);
		break;
	case OCPP_REQ_TX:
		if (r->has_auth)
			add_id_token_info(o, r);
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

static cJSON *
encode_profile(const struct ocpp_profile *p)
{
	cJSON *o = codec_object(), *scheds, *sched;

	cJSON_AddNumberToObject(o, "id", p->id);
	cJSON_AddNumberToObject(o, "stackLevel", p->stack_level);
	cJSON_AddStringToObject(o, "chargingProfilePurpose",
	    purposes[p->purpose < 0 ? 0 : p->purpose]);
	cJSON_AddStringToObject(o, "chargingProfileKind", p->relative ?
	    "Relative" : "Absolute");
	if (p->valid_to_ms > 0)
		json_add_time(o, "validTo", p->valid_to_ms);
	if (p->purpose == OCPP_PURPOSE_TX && p->tx_id[0])
		cJSON_AddStringToObject(o, "transactionId", p->tx_id);
	scheds = cJSON_AddArrayToObject(o, "chargingSchedule");
	sched = codec_object();
	cJSON_AddItemToArray(scheds, sched);
	/* One schedule per profile: its id may equal the profile's. */
	cJSON_AddNumberToObject(sched, "id", p->id);
	if (p->start_ms > 0)
		json_add_time(sched, "startSchedule", p->start_ms);
	if (p->duration_s > 0)
		cJSON_AddNumberToObject(sched, "duration", p->duration_s);
	codec_add_periods(sched, p, false);
	return o;
}

static cJSON *
named(const char *name)
{
	cJSON *o = codec_object();

	cJSON_AddStringToObject(o, "name", name);
	return o;
}

static void
add_evse(cJSON *o, int evse, int connector)
{
	cJSON *e;

	if (evse <= 0)
		return;
	e = cJSON_AddObjectToObject(o, "evse");
	cJSON_AddNumberToObject(e, "id", evse);
	if (connector > 0)
		cJSON_AddNumberToObject(e, "connectorId", connector);
}

/* An IdTokenType as member "idToken" of o; without a type, dflt. */
static void
add_id_token(cJSON *o, const char *id, const char *type, const char *dflt)
{
	cJSON *t = cJSON_AddObjectToObject(o, "idToken");

	cJSON_AddStringToObject(t, "idToken", id);
	cJSON_AddStringToObject(t, "type", type && *type ? type : dflt);
}

int
v201_encode_command(const struct ocpp_command *c, const char **action,
    cJSON **payload)
{
	cJSON *o = codec_object();

	*payload = NULL;
	switch (c->type) {
	case OCPP_CMD_SET_PROFILE:
		*action = "SetChargingProfile";
		cJSON_AddNumberToObject(o, "evseId", c->evse);
		cJSON_AddItemToObject(o, "chargingProfile",
		    encode_profile(&c->u.profile));
		break;
	case OCPP_CMD_CLEAR_PROFILE:
		*action = "ClearChargingProfile";
		if (c->u.clear.id >= 0) {
			cJSON_AddNumberToObject(o, "chargingProfileId", c->u.clear.id);
		} else {
			cJSON *crit = cJSON_AddObjectToObject(o,
			    "chargingProfileCriteria");
			cJSON_AddNumberToObject(crit, "evseId", c->evse);
			if (c->u.clear.purpose != OCPP_PURPOSE_ANY)
				cJSON_AddStringToObject(crit, "chargingProfilePurpose",
				    purposes[c->u.clear.purpose]);
			if (c->u.clear.stack_level >= 0)
				cJSON_AddNumberToObject(crit, "stackLevel",
				    c->u.clear.stack_level);
		}
		break;
	case OCPP_CMD_GET_COMPOSITE:
		*action = "GetCompositeSchedule";
		cJSON_AddNumberToObject(o, "duration", c->u.composite.duration_s);
		if (c->u.composite.unit != OCPP_UNIT_ANY)
			cJSON_AddStringToObject(o, "chargingRateUnit",
			    c->u.composite.unit == OCPP_UNIT_W ? "W" : "A");
		cJSON_AddNumberToObject(o, "evseId", c->evse);
		break;
	case OCPP_CMD_GET_PROFILES:
		*action = "GetChargingProfiles";
		cJSON_AddNumberToObject(o, "requestId", c->u.get_profiles.request_id);
		if (c->evse > 0)
			cJSON_AddNumberToObject(o, "evseId", c->evse);
		cJSON_AddObjectToObject(o, "chargingProfile");
		break;
	case OCPP_CMD_REMOTE_START:
		*action = "RequestStartTransaction";
		if (c->evse > 0)
			cJSON_AddNumberToObject(o, "evseId", c->evse);
		cJSON_AddNumberToObject(o, "remoteStartId", c->u.start.remote_start_id);
		add_id_token(o, c->u.start.token.id, c->u.start.token.type,
		    "Central");
		break;
	case OCPP_CMD_REMOTE_STOP:
		*action = "RequestStopTransaction";
		cJSON_AddStringToObject(o, "transactionId", c->u.stop.tx_id);
		break;
	case OCPP_CMD_AVAILABILITY:
		*action = "ChangeAvailability";
		cJSON_AddStringToObject(o, "operationalStatus",
		    c->u.availability.operative ? "Operative" : "Inoperative");
		add_evse(o, c->evse, 0);
		break;
	case OCPP_CMD_RESET:
		*action = "Reset";
		cJSON_AddStringToObject(o, "type", c->u.reset.hard ? "Immediate" :
		    "OnIdle");
		if (c->evse > 0)
			cJSON_AddNumberToObject(o, "evseId", c->evse);
		break;
	case OCPP_CMD_UNLOCK:
		*action = "UnlockConnector";
		cJSON_AddNumberToObject(o, "evseId", c->evse);
		cJSON_AddNumberToObject(o, "connectorId", c->connector > 0 ?
		    c->connector : 1);
		break;
	case OCPP_CMD_TRIGGER:
		*action = "TriggerMessage";
		cJSON_AddStringToObject(o, "requestedMessage", c->u.trigger.message);
		add_evse(o, c->evse, 0);
		break;
	case OCPP_CMD_GET_CONFIG:
	case OCPP_CMD_SET_CONFIG: {
		bool set = c->type == OCPP_CMD_SET_CONFIG;
		cJSON *arr;

		if (c->u.config.nkeys < 1)
			goto unsupported;
		*action = set ? "SetVariables" : "GetVariables";
		arr = cJSON_AddArrayToObject(o, set ? "setVariableData" :
		    "getVariableData");
		for (int i = 0; i < c->u.config.nkeys; i++) {
			const struct ocpp_key *k = &c->u.config.keys[i];
			cJSON *item = codec_object();
			if (set)
				cJSON_AddStringToObject(item, "attributeValue", k->value);
			cJSON_AddItemToObject(item, "component", named(k->component));
			cJSON_AddItemToObject(item, "variable", named(k->variable));
			cJSON_AddItemToArray(arr, item);
		}
		break;
	}
	case OCPP_CMD_SEND_LOCAL_LIST: {
		cJSON *list;
		*action = "SendLocalList";
		cJSON_AddNumberToObject(o, "versionNumber", c->u.local_list.version);
		cJSON_AddStringToObject(o, "updateType", c->u.local_list.full ?
		    "Full" : "Differential");
		list = cJSON_AddArrayToObject(o, "localAuthorizationList");
		for (size_t i = 0; i < c->u.local_list.nentries; i++) {
			const struct ocpp_list_entry *e = &c->u.local_list.entries[i];
			cJSON *item = codec_object();
			struct ocpp_reply r = { .auth = e->status,
			    .auth_expiry_ms = e->expiry_ms };
			add_id_token(item, e->id_token, "Central", NULL);
			add_id_token_info(item, &r);
			cJSON_AddItemToArray(list, item);
		}
		break;
	}
	case OCPP_CMD_CLEAR_CACHE:
		*action = "ClearCache";
		break;
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
v201_decode_result(const struct ocpp_command *c, const cJSON *p,
    struct ocpp_command_result *out, struct ocpp_error *err)
{
	const cJSON *info;

	memset(out, 0, sizeof *out);
	memset(err, 0, sizeof *err);
	if (!cJSON_IsObject(p))
		return codec_refuse(err, OCPP_ERR_FORMAT, "payload is not an "
		    "object");
	if (c->type == OCPP_CMD_GET_CONFIG || c->type == OCPP_CMD_SET_CONFIG) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(p,
		    c->type == OCPP_CMD_GET_CONFIG ? "getVariableResult" :
		    "setVariableResult");
		for (const cJSON *r = arr ? arr->child : NULL;
		    r && out->nkeys < OCPP_MAX_KEYS; r = r->next) {
			struct ocpp_key *key = &out->keys[out->nkeys].key;
			enum ocpp_result st = ocpp_result_parse(json_str(r,
			    "attributeStatus"));
			json_copy(key->component, sizeof key->component,
			    cJSON_GetObjectItemCaseSensitive(r, "component"), "name");
			json_copy(key->variable, sizeof key->variable,
			    cJSON_GetObjectItemCaseSensitive(r, "variable"), "name");
			key->has_value = json_copy(key->value, sizeof key->value, r,
			    "attributeValue");
			out->keys[out->nkeys].status = st;
			out->keys[out->nkeys].known = st != OCPP_RESULT_NONE &&
			    st != OCPP_RESULT_UNKNOWN_COMPONENT &&
			    st != OCPP_RESULT_UNKNOWN_VARIABLE;
			out->nkeys++;
		}
		out->accepted = true;
		out->status = OCPP_RESULT_ACCEPTED;
		return 0;
	}
	out->status = ocpp_result_parse(json_str(p, "status"));
	out->accepted = ocpp_result_yes(out->status);
	info = cJSON_GetObjectItemCaseSensitive(p, "statusInfo");
	json_copy(out->reason, sizeof out->reason, info, "reasonCode");
	if (c->type == OCPP_CMD_REMOTE_START)
		json_copy(out->tx_id, sizeof out->tx_id, p, "transactionId");
	if (c->type == OCPP_CMD_GET_COMPOSITE) {
		codec_schedule(cJSON_GetObjectItemCaseSensitive(p, "schedule"),
		    "scheduleStart", &out->schedule);
	}
	return 0;
}

/* ============================================================ upstream */

/* Where 2.0.1 puts an id token's authorization. */
static const struct codec_auth_words auth_words = { "idTokenInfo",
	"cacheExpiryDateTime", "versionNumber", "idToken", "idToken" };

#define IDTOKEN_MAX 36		/* IdTokenType.idToken: identifierString 36 */

/* ReasonEnumType of a transaction's end. */
static const char *const reasons[] = { "DeAuthorized", "EmergencyStop",
	"EnergyLimitReached", "EVDisconnected", "GroundFault", "ImmediateReset",
	"Local", "LocalOutOfCredit", "MasterPass", "Other", "OvercurrentFault",
	"PowerLoss", "PowerQuality", "Reboot", "Remote", "SOCLimitReached",
	"StoppedByEV", "TimeLimitReached", "Timeout", NULL };

/* The gateway's settings as components and variables, by enum
 * up_setting. */
static const struct {
	const char *component, *variable;
} settings[UP_NSETTINGS] = {
	[UP_SET_HEARTBEAT_INTERVAL] = { "OCPPCommCtrlr", "HeartbeatInterval" },
	[UP_SET_METER_INTERVAL] = { "SampledDataCtrlr", "TxUpdatedInterval" },
	[UP_SET_MESSAGE_ATTEMPTS] = { "OCPPCommCtrlr", "MessageAttempts" },
	[UP_SET_RETRY_INTERVAL] = { "OCPPCommCtrlr", "MessageAttemptInterval" },
	[UP_SET_LOCAL_LIST_ENABLED] = { "LocalAuthListCtrlr", "Enabled" },
	[UP_SET_LOCAL_LIST_ENTRIES] = { "LocalAuthListCtrlr", "Entries" },
	[UP_SET_LOCAL_LIST_PER_MESSAGE] = { "LocalAuthListCtrlr",
	    "ItemsPerMessage" },
	[UP_SET_EVSE_COUNT] = { "EVSE", "Count" },
};

static cJSON *
up_boot(const struct up_identity *id, const char **action)
{
	cJSON *o = codec_object();
	cJSON *cs = cJSON_AddObjectToObject(o, "chargingStation");

	*action = "BootNotification";
	cJSON_AddStringToObject(cs, "serialNumber", id->serial);
	cJSON_AddStringToObject(cs, "model", id->model);
	cJSON_AddStringToObject(cs, "vendorName", id->vendor);
	cJSON_AddStringToObject(cs, "firmwareVersion", id->firmware);
	cJSON_AddStringToObject(o, "reason", "PowerUp");
	return o;
}

/* 2.0.1 has no status of the station itself (number 0): NULL. */
static cJSON *
up_status(int number, int connector, enum site_status st,
    const char *error_code, int64_t ts_ms, const char **action)
{
	cJSON *o;

	(void)error_code;		/* 2.0.1 reports faults otherwise */
	if ((unsigned)st >= SITE_STATUS_COUNT)
		st = SITE_STATUS_UNKNOWN;
	*action = "StatusNotification";
	if (number < 1)
		return NULL;
	o = codec_object();
	json_add_time(o, "timestamp", ts_ms);
	cJSON_AddStringToObject(o, "connectorStatus", connector_statuses[st]);
	cJSON_AddNumberToObject(o, "evseId", number);
	cJSON_AddNumberToObject(o, "connectorId", connector > 0 ? connector : 1);
	return o;
}

static cJSON *
up_authorize(const struct ocpp_id_token *t, const char **action)
{
	cJSON *o = codec_object();

	*action = "Authorize";
	add_id_token(o, t->id, t->type, "ISO14443");
	return o;
}

/* The charger's stop reason in 2.0.1 words. */
static const char *
stop_reason(const char *r)
{
	if (r == NULL || *r == '\0')
		return "Local";
	if (codec_in_list(reasons, r))
		return r;
	if (strcmp(r, "HardReset") == 0 || strcmp(r, "SoftReset") == 0)
		return "ImmediateReset";
	if (strcmp(r, "UnlockCommand") == 0)
		return "Remote";
	return "Other";
}

/* The triggerReason of an Ended event with that stoppedReason. */
static const char *
trigger_for_stop(const char *reason)
{
	static const struct {
		const char *reason, *trigger;
	} map[] = {
		{ "EVDisconnected", "EVDeparted" },
		{ "Remote", "RemoteStop" },
		{ "Local", "StopAuthorized" },
		{ "DeAuthorized", "Deauthorized" },
		{ "ImmediateReset", "ResetCommand" },
	};

	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strcmp(reason, map[i].reason) == 0)
			return map[i].trigger;
	return "AbnormalCondition";
}

static void
sample(cJSON *arr, double value, const char *measurand, const char *unit,
    const char *phase, const char *context)
{
	cJSON *s = codec_object(), *u;

	cJSON_AddNumberToObject(s, "value", round(value * 10) / 10);
	cJSON_AddStringToObject(s, "context", context);
	cJSON_AddStringToObject(s, "measurand", measurand);
	if (phase)
		cJSON_AddStringToObject(s, "phase", phase);
	u = cJSON_AddObjectToObject(s, "unitOfMeasure");
	cJSON_AddStringToObject(u, "unit", unit);
	cJSON_AddItemToArray(arr, s);
}

/* TransactionEvent Started / Updated / Ended; the transaction id is our
 * session id, the seqNo is patched in when sent. */
static cJSON *
up_tx(enum ocpp_tx_kind kind, const struct site_session *x, int number,
    int connector, const struct site_reading *r, bool offline, int64_t ts_ms,
    const char **action)
{
	cJSON *o = codec_object(), *ti, *e;
	const bool has_token = x->id_token[0] != '\0';
	const char *reason = stop_reason(x->stop_reason);
	int64_t at = kind == OCPP_TX_STARTED ? x->start_ms :
	    kind == OCPP_TX_ENDED ? x->stop_ms : ts_ms;
	char txid[32];
	double wh;

	*action = "TransactionEvent";
	snprintf(txid, sizeof txid, "%lld", (long long)x->id);
	cJSON_AddStringToObject(o, "eventType", kind == OCPP_TX_STARTED ?
	    "Started" : kind == OCPP_TX_ENDED ? "Ended" : "Updated");
	json_add_time(o, "timestamp", at);
	cJSON_AddStringToObject(o, "triggerReason", kind == OCPP_TX_STARTED ?
	    (has_token ? "Authorized" : "CablePluggedIn") :
	    kind == OCPP_TX_ENDED ? trigger_for_stop(reason) :
	    "MeterValuePeriodic");
	cJSON_AddNumberToObject(o, "seqNo", 0);
	if (offline)
		cJSON_AddTrueToObject(o, "offline");
	ti = cJSON_AddObjectToObject(o, "transactionInfo");
	cJSON_AddStringToObject(ti, "transactionId", txid);
	if (kind == OCPP_TX_ENDED)
		cJSON_AddStringToObject(ti, "stoppedReason", reason);
	if (kind == OCPP_TX_STARTED) {
		cJSON_AddStringToObject(ti, "chargingState", "EVConnected");
		e = cJSON_AddObjectToObject(o, "evse");
		cJSON_AddNumberToObject(e, "id", number);
		cJSON_AddNumberToObject(e, "connectorId", connector > 0 ?
		    connector : 1);
		if (has_token)
			add_id_token(o, x->id_token, NULL, "ISO14443");
	}
	if (kind == OCPP_TX_ENDED && has_token)
		add_id_token(o, x->id_token, NULL, "ISO14443");
	wh = kind == OCPP_TX_STARTED ? x->meter_start_wh :
	    kind == OCPP_TX_ENDED ? (x->meter_stop_wh >= 0 ?
	    x->meter_stop_wh : x->meter_start_wh) :
	    r && (r->have & SITE_HAVE_ENERGY) ? r->energy_wh :
	    x->meter_start_wh;
	cJSON_AddItemToObject(o, "meterValue", codec_meter_value(sample,
	    kind == OCPP_TX_UPDATED ? r : NULL, wh, at,
	    kind == OCPP_TX_STARTED, kind == OCPP_TX_ENDED));
	return o;
}

static int
up_patch_tx(cJSON *p, const char *up_tx_id, int seq_no)
{
	(void)up_tx_id;			/* the ids are ours */
	if (cJSON_HasObjectItem(p, "seqNo"))
		cJSON_ReplaceItemInObjectCaseSensitive(p, "seqNo",
		    cJSON_CreateNumber(seq_no < 0 ? 0 : seq_no));
	return 0;
}

/* NotifyChargingLimit: the EMS limit, the lowest phase, as one period. */
static cJSON *
up_charging_limit(const double limit_a[3], int64_t now_ms,
    const char **action)
{
	cJSON *o = codec_object(), *cl, *scheds, *s;

	*action = "NotifyChargingLimit";
	cl = cJSON_AddObjectToObject(o, "chargingLimit");
	cJSON_AddStringToObject(cl, "chargingLimitSource", "EMS");
	scheds = cJSON_AddArrayToObject(o, "chargingSchedule");
	s = codec_object();
	cJSON_AddNumberToObject(s, "id", 1);
	json_add_time(s, "startSchedule", now_ms);
	codec_add_limit(s, fmin(limit_a[0], fmin(limit_a[1], limit_a[2])), 3);
	cJSON_AddItemToArray(scheds, s);
	return o;
}

static cJSON *
up_charging_limit_cleared(const char **action)
{
	cJSON *o = codec_object();

	*action = "ClearedChargingLimit";
	cJSON_AddStringToObject(o, "chargingLimitSource", "EMS");
	return o;
}

static void
up_auth_result(const char *action, const cJSON *p, struct up_auth_result *out)
{
	(void)action;
	codec_auth_result(p, &auth_words, out);
}

/* ------------------------------------------------------------ down */

static void
key_resolve(struct up_key *k)
{
	for (int i = 0; k != NULL && i < UP_NSETTINGS; i++) {
		if (strcmp(settings[i].component, k->key.component) != 0)
			continue;
		k->component_known = true;
		if (strcmp(settings[i].variable, k->key.variable) == 0)
			k->setting = i;
	}
}

/* The id of member "evse" of p, or dflt without one. */
static int
evse_id(const cJSON *p, int dflt)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(p, "evse");

	return e ? json_int(e, "id", dflt) : dflt;
}

static int
down_remote_start(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "idToken");

	(void)err;
	d->evse = json_int(p, "evseId", -1);
	json_copy(d->token.id, sizeof d->token.id, t, "idToken");
	json_copy(d->token.type, sizeof d->token.type, t, "type");
	d->remote_start_id = json_int(p, "remoteStartId", 0);
	return 0;
}

static int
down_remote_stop(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	json_copy(d->tx_id, sizeof d->tx_id, p, "transactionId");
	/* Ours: the session id up_tx wrote. */
	if (num_parse_i64(d->tx_id, 1, INT64_MAX, &d->session_id) != 0)
		d->session_id = -1;
	return 0;
}

static int
down_unlock(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	d->evse = json_int(p, "evseId", -1);
	d->connector = json_int(p, "connectorId", 1);
	return 0;
}

static int
down_availability(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	const char *s = json_str(p, "operationalStatus");

	(void)err;
	d->operative = s && strcmp(s, "Operative") == 0;
	d->evse = evse_id(p, 0);
	return 0;
}

static int
down_reset(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	const char *s = json_str(p, "type");

	(void)err;
	d->hard = s && strcmp(s, "Immediate") == 0;
	d->evse = json_int(p, "evseId", 0);
	return 0;
}

static int
down_trigger(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	d->trigger = codec_trigger(json_str(p, "requestedMessage"));
	d->evse = evse_id(p, -1);
	return 0;
}

static int
down_vars(const cJSON *arr, const char *name, bool set, struct up_down *d,
    struct ocpp_error *err)
{
	for (const cJSON *it = arr ? arr->child : NULL; it; it = it->next) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "component");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "variable");

		if (d->nkeys >= OCPP_MAX_KEYS)
			return codec_refuse(err, OCPP_ERR_OCCURRENCE, "%s: more than "
			    "%d variables in one request", name, OCPP_MAX_KEYS);
		key_resolve(codec_down_key(d, json_str(c, "name"),
		    json_str(v, "name"), set ? json_str(it, "attributeValue") :
		    NULL));
	}
	return 0;
}

static int
down_get_config(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	return down_vars(cJSON_GetObjectItemCaseSensitive(p, "getVariableData"),
	    "getVariableData", false, d, err);
}

static int
down_set_config(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	return down_vars(cJSON_GetObjectItemCaseSensitive(p, "setVariableData"),
	    "setVariableData", true, d, err);
}

static int
down_local_list(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	return codec_down_list(p, &auth_words, d, err);
}

static int
down_set_profile(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	const cJSON *cp = cJSON_GetObjectItemCaseSensitive(p, "chargingProfile");
	const cJSON *scheds = cJSON_GetObjectItemCaseSensitive(cp,
	    "chargingSchedule");
	const char *kind = json_str(cp, "chargingProfileKind");
	struct ocpp_profile *x = &d->profile;

	(void)err;
	d->evse = json_int(p, "evseId", 0);
	x->id = json_int(cp, "id", 0);
	x->stack_level = json_int(cp, "stackLevel", 0);
	x->purpose = (enum ocpp_purpose)codec_index(purposes,
	    json_str(cp, "chargingProfilePurpose"));
	x->relative = kind && strcmp(kind, "Relative") == 0;
	if (scheds && scheds->child)	/* the first schedule */
		codec_schedule(scheds->child, "startSchedule", x);
	if (json_time(cp, "validTo", &x->valid_to_ms) != 0)
		x->valid_to_ms = 0;
	json_copy(x->tx_id, sizeof x->tx_id, cp, "transactionId");
	return 0;
}

static int
down_clear_profile(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	codec_down_clear(p, "chargingProfileId", cJSON_GetObjectItemCaseSensitive(
	    p, "chargingProfileCriteria"), "evseId", purposes, d);
	return 0;
}

static int
down_composite(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)err;
	codec_down_composite(p, "evseId", d);
	return 0;
}

/* The upstream's requests the gateway serves. */
static const struct codec_down downs[] = {
	{ "RequestStartTransaction", UP_DOWN_REMOTE_START, down_remote_start },
	{ "RequestStopTransaction", UP_DOWN_REMOTE_STOP, down_remote_stop },
	{ "UnlockConnector", UP_DOWN_UNLOCK, down_unlock },
	{ "ChangeAvailability", UP_DOWN_AVAILABILITY, down_availability },
	{ "Reset", UP_DOWN_RESET, down_reset },
	{ "TriggerMessage", UP_DOWN_TRIGGER, down_trigger },
	{ "GetVariables", UP_DOWN_GET_CONFIG, down_get_config },
	{ "SetVariables", UP_DOWN_SET_CONFIG, down_set_config },
	{ "SendLocalList", UP_DOWN_SEND_LOCAL_LIST, down_local_list },
	{ "GetLocalListVersion", UP_DOWN_GET_LOCAL_LIST_VERSION, codec_down_nothing },
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

static cJSON *
up_reply(enum up_down_type t, enum ocpp_result r)
{
	cJSON *o = codec_object();

	/* UnlockStatusEnumType has no NotSupported: a charger without a
	 * lock failed to unlock. */
	if (t == UP_DOWN_UNLOCK && r != OCPP_RESULT_UNLOCKED &&
	    r != OCPP_RESULT_ONGOING_TX && r != OCPP_RESULT_UNKNOWN_CONNECTOR)
		r = OCPP_RESULT_UNLOCK_FAILED;
	cJSON_AddStringToObject(o, "status", ocpp_result_name(r));
	return o;
}

static cJSON *
up_reply_list_version(int version)
{
	cJSON *o = codec_object();

	cJSON_AddNumberToObject(o, "versionNumber", version);
	return o;
}

/* A getVariableResult (with value, when known) or setVariableResult
 * entry for key k. */
static cJSON *
var_result(const struct up_key *k, enum ocpp_result r, const char *value)
{
	cJSON *o = codec_object();

	cJSON_AddStringToObject(o, "attributeStatus", ocpp_result_name(r));
	if (value != NULL)
		cJSON_AddStringToObject(o, "attributeValue", value);
	cJSON_AddItemToObject(o, "component", named(k->key.component));
	cJSON_AddItemToObject(o, "variable", named(k->key.variable));
	return o;
}

static cJSON *
up_reply_get_config(const struct up_down *d,
    const struct up_setting_value *values)
{
	cJSON *o = codec_object();
	cJSON *arr = cJSON_AddArrayToObject(o, "getVariableResult");

	for (int i = 0; i < d->nkeys; i++) {
		const struct up_key *k = &d->keys[i];

		cJSON_AddItemToArray(arr, k->setting >= 0 ?
		    var_result(k, OCPP_RESULT_ACCEPTED, values[k->setting].text) :
		    var_result(k, k->component_known ?
		    OCPP_RESULT_UNKNOWN_VARIABLE : OCPP_RESULT_UNKNOWN_COMPONENT,
		    NULL));
	}
	return o;
}

static cJSON *
up_reply_set_config(const struct up_down *d, const enum ocpp_result *results)
{
	cJSON *o = codec_object();
	cJSON *arr = cJSON_AddArrayToObject(o, "setVariableResult");

	for (int i = 0; i < d->nkeys; i++)
		cJSON_AddItemToArray(arr, var_result(&d->keys[i], results[i],
		    NULL));
	return o;
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
	s = cJSON_AddObjectToObject(o, "schedule");
	cJSON_AddNumberToObject(s, "evseId", number);
	cJSON_AddNumberToObject(s, "duration", duration_s);
	json_add_time(s, "scheduleStart", start_ms);
	codec_add_limit(s, limit_a, phases);
	return o;
}

const struct up_codec v201_up = {
	.version = OCPP_V201,
	.token_max = IDTOKEN_MAX,
	.upstream_tx_ids = false,
	.boot = up_boot,
	.heartbeat = codec_heartbeat,
	.status = up_status,
	.authorize = up_authorize,
	.tx = up_tx,
	.patch_tx = up_patch_tx,
	.charging_limit = up_charging_limit,
	.charging_limit_cleared = up_charging_limit_cleared,
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
const struct ocpp_cap_name v201_caps[] = {
	{ OCPP_CAP_SMART_CHARGING, "SmartChargingCtrlr", "Enabled" },
	{ OCPP_CAP_RATE_UNIT, "SmartChargingCtrlr", "RateUnit" },
	{ OCPP_CAP_STACK_LEVEL, "SmartChargingCtrlr", "ProfileStackLevel" },
	{ OCPP_CAP_PERIODS, "SmartChargingCtrlr", "PeriodsPerSchedule" },
	{ OCPP_CAP_PROFILES, "SmartChargingCtrlr", "Entries" },
	{ OCPP_CAP_PHASE_SWITCHING, "SmartChargingCtrlr",
	  "ACPhaseSwitchingSupported" },
	{ OCPP_CAP_MEASURANDS, "SampledDataCtrlr", "TxUpdatedMeasurands" },
	{ OCPP_CAP_METER_INTERVAL, "SampledDataCtrlr", "TxUpdatedInterval" },
	{ OCPP_CAP_NONE, NULL, NULL },
};
