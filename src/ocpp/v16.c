/*
 * v16 — see v16.h.
 */
#include "ocpp/v16.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp/codec.h"
#include "ocpp/meter.h"
#include "util/json.h"
#include "util/num.h"

/* 1.6 ChargePointStatus, in the model's terms. */
static const struct {
	const char *name;
	enum site_status status;
} statuses[] = {
	{ "Available", SITE_STATUS_AVAILABLE },
	{ "Preparing", SITE_STATUS_OCCUPIED },
	{ "Charging", SITE_STATUS_CHARGING },
	{ "SuspendedEVSE", SITE_STATUS_SUSPENDED_EVSE },
	{ "SuspendedEV", SITE_STATUS_SUSPENDED_EV },
	{ "Finishing", SITE_STATUS_FINISHING },
	{ "Reserved", SITE_STATUS_RESERVED },
	{ "Unavailable", SITE_STATUS_UNAVAILABLE },
	{ "Faulted", SITE_STATUS_FAULTED },
};

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
		s->status = SITE_STATUS_UNKNOWN;
		for (size_t i = 0; st && i < sizeof statuses / sizeof *statuses; i++)
			if (strcmp(st, statuses[i].name) == 0)
				s->status = statuses[i].status;
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
	case OCPP_AUTH_INVALID:
	case OCPP_AUTH_UNKNOWN:		/* 1.6 has no Unknown */
	default:
		return "Invalid";
	}
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
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		abort();
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

static const char *const purposes[] = { "ChargePointMaxProfile",
	"TxDefaultProfile", "TxProfile" };

/* 1.6 limits are multiples of 0.1: round down, so a limit never grows. */
static double
tenths_down(double v)
{
	return floor(v * 10 + 1e-9) / 10;
}

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
	cJSON *o = cJSON_CreateObject(), *sched, *periods;

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
	cJSON_AddStringToObject(sched, "chargingRateUnit",
	    p->unit == OCPP_UNIT_W ? "W" : "A");
	periods = cJSON_AddArrayToObject(sched, "chargingSchedulePeriod");
	for (int i = 0; i < p->nperiods; i++) {
		cJSON *pe = cJSON_CreateObject();
		cJSON_AddNumberToObject(pe, "startPeriod", p->periods[i].start_s);
		cJSON_AddNumberToObject(pe, "limit", tenths_down(p->periods[i].limit));
		if (p->periods[i].phases > 0)
			cJSON_AddNumberToObject(pe, "numberPhases",
			    p->periods[i].phases);
		cJSON_AddItemToArray(periods, pe);
	}
	return o;
}

int
v16_encode_command(const struct ocpp_command *c, const char **action,
    cJSON **payload)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		abort();
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
			cJSON *item = cJSON_CreateObject();
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
