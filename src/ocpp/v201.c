/*
 * v201 — see v201.h.
 */
#include "ocpp/v201.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp/codec.h"
#include "ocpp/meter.h"
#include "util/json.h"

struct name_status {
	const char *name;
	enum site_status status;
};

static const struct name_status connector_statuses[] = {
	{ "Available", SITE_STATUS_AVAILABLE },
	{ "Occupied", SITE_STATUS_OCCUPIED },
	{ "Reserved", SITE_STATUS_RESERVED },
	{ "Unavailable", SITE_STATUS_UNAVAILABLE },
	{ "Faulted", SITE_STATUS_FAULTED },
};

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
		s->status = lookup(connector_statuses, sizeof connector_statuses /
		    sizeof *connector_statuses, st, SITE_STATUS_UNKNOWN);
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

static const char *
auth_name(enum ocpp_auth_status a)
{
	switch (a) {
	case OCPP_AUTH_ACCEPTED:
		return "Accepted";
	case OCPP_AUTH_BLOCKED:
		return "Blocked";
	case OCPP_AUTH_EXPIRED:
		return "Expired";
	case OCPP_AUTH_CONCURRENT_TX:
		return "ConcurrentTx";
	case OCPP_AUTH_UNKNOWN:
		return "Unknown";
	case OCPP_AUTH_INVALID:
	default:
		return "Invalid";
	}
}

static void
add_id_token_info(cJSON *o, const struct ocpp_reply *r)
{
	cJSON *info = cJSON_AddObjectToObject(o, "idTokenInfo");

	cJSON_AddStringToObject(info, "status", auth_name(r->auth));
	if (r->auth_expiry_ms > 0)
		json_add_time(info, "cacheExpiryDateTime", r->auth_expiry_ms);
}

cJSON *
v201_encode_reply(const struct ocpp_request_msg *req,
    const struct ocpp_reply *r)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		abort();
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

static const char *const purposes[] = { "ChargingStationMaxProfile",
	"TxDefaultProfile", "TxProfile" };

static cJSON *
encode_profile(const struct ocpp_profile *p)
{
	cJSON *o = cJSON_CreateObject(), *scheds, *sched, *periods;

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
	sched = cJSON_CreateObject();
	cJSON_AddItemToArray(scheds, sched);
	/* One schedule per profile: its id may equal the profile's. */
	cJSON_AddNumberToObject(sched, "id", p->id);
	if (p->start_ms > 0)
		json_add_time(sched, "startSchedule", p->start_ms);
	if (p->duration_s > 0)
		cJSON_AddNumberToObject(sched, "duration", p->duration_s);
	cJSON_AddStringToObject(sched, "chargingRateUnit",
	    p->unit == OCPP_UNIT_W ? "W" : "A");
	periods = cJSON_AddArrayToObject(sched, "chargingSchedulePeriod");
	for (int i = 0; i < p->nperiods; i++) {
		cJSON *pe = cJSON_CreateObject();
		cJSON_AddNumberToObject(pe, "startPeriod", p->periods[i].start_s);
		cJSON_AddNumberToObject(pe, "limit", p->periods[i].limit);
		if (p->periods[i].phases > 0)
			cJSON_AddNumberToObject(pe, "numberPhases",
			    p->periods[i].phases);
		cJSON_AddItemToArray(periods, pe);
	}
	return o;
}

static cJSON *
named(const char *name)
{
	cJSON *o = cJSON_CreateObject();

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

static void
add_id_token(cJSON *o, const char *id, const char *type)
{
	cJSON *t = cJSON_AddObjectToObject(o, "idToken");

	cJSON_AddStringToObject(t, "idToken", id);
	cJSON_AddStringToObject(t, "type", type && *type ? type : "Central");
}

int
v201_encode_command(const struct ocpp_command *c, const char **action,
    cJSON **payload)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		abort();
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
		add_id_token(o, c->u.start.token.id, c->u.start.token.type);
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
			cJSON *item = cJSON_CreateObject();
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
			cJSON *item = cJSON_CreateObject();
			struct ocpp_reply r = { .auth = e->status,
			    .auth_expiry_ms = e->expiry_ms };
			add_id_token(item, e->id_token, "Central");
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
