/*
 * v16 — see v16.h.
 */
#include "ocpp/v16.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp/meter.h"
#include "util/json.h"

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
violation(struct ocpp_error *err, enum ocpp_violation v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
violation(struct ocpp_error *err, enum ocpp_violation v, const char *fmt, ...)
{
	va_list ap;

	err->violation = v;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof err->text, fmt, ap);
	va_end(ap);
	return -1;
}

static int
timestamp(const cJSON *o, const char *key, int64_t *ms, bool required,
    struct ocpp_error *err)
{
	int rc = json_time(o, key, ms);

	if (rc < 0 || (rc > 0 && required))
		return violation(err, rc < 0 ? OCPP_VIOLATION_PROPERTY :
		    OCPP_VIOLATION_OCCURRENCE, "%s: not an RFC 3339 date-time", key);
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
			return violation(err, OCPP_VIOLATION_PROPERTY,
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
			char *end;

			m->nsamples++;
			if (format && strcmp(format, "SignedData") == 0)
				continue;	/* a signed blob, not a number */
			errno = 0;
			s.value = text ? strtod(text, &end) : 0;
			if (text == NULL || end == text || *end != '\0' || errno)
				return violation(err, OCPP_VIOLATION_PROPERTY,
				    "%s[%d].sampledValue[%d].value: \"%.40s\" is not a "
				    "number", name, i, j, text ? text : "");
			meter_apply(&m->reading, &s);
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
		return violation(err, OCPP_VIOLATION_FORMAT, "payload is not an "
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
		s->status = SITE_STATUS_UNKNOWN;
		for (size_t i = 0; st && i < sizeof statuses / sizeof *statuses; i++)
			if (strcmp(st, statuses[i].name) == 0)
				s->status = statuses[i].status;
		if (s->status == SITE_STATUS_UNKNOWN)
			return violation(err, OCPP_VIOLATION_PROPERTY, "status: \"%.40s\" "
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
			return violation(err, OCPP_VIOLATION_PROPERTY, "connectorId: a "
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
		cJSON_AddStringToObject(o, "status", r->data_transfer_status ?
		    r->data_transfer_status : "UnknownVendorId");
		break;
	case OCPP_REQ_STATUS:
	case OCPP_REQ_METER:
	case OCPP_REQ_NOTICE:
	case OCPP_REQ_NONE:
		break;
	}
	return o;
}
