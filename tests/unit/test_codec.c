/*
 * Unit tests for the OCPP codecs (ocpp/v16, ocpp/v201) and the meter
 * normalisation they share (ocpp/meter), on recorded frames: each message,
 * optional fields absent and present, odd units and phases, and the
 * violations only a decoder can see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp/meter.h"
#include "ocpp/schema.h"
#include "ocpp/v16.h"
#include "ocpp/v201.h"
#include "util/isotime.h"

typedef int decode_fn(const char *, const cJSON *, struct ocpp_request_msg *,
    struct ocpp_error *);

static void
decode_ok(decode_fn *fn, const char *action, const char *json,
    struct ocpp_request_msg *out)
{
	struct ocpp_error err;
	cJSON *p = cJSON_Parse(json);

	assert_non_null(p);
	if (fn(action, p, out, &err) != 0) {
		fprintf(stderr, "%s refused: %s\n", action, err.text);
		fail();
	}
	cJSON_Delete(p);
}

static void
decode_bad(decode_fn *fn, const char *action, const char *json,
    enum ocpp_errcode want, const char *text)
{
	struct ocpp_request_msg out;
	struct ocpp_error err;
	cJSON *p = cJSON_Parse(json);

	assert_non_null(p);
	if (fn(action, p, &out, &err) != -1)
		fail_msg("%s accepted, want \"%s\": %s", action, text, json);
	assert_int_equal(err.code, want);
	if (strstr(err.text, text) == NULL) {
		fprintf(stderr, "want \"%s\" in \"%s\"\n", text, err.text);
		fail();
	}
	cJSON_Delete(p);
}

static int64_t
ms(const char *iso)
{
	int64_t v = 0;

	assert_int_equal(isotime_parse(iso, &v), 0);
	return v;
}

/* ------------------------------------------------------------------ 1.6 */

static void
test_v16_boot_heartbeat(void **state)
{
	struct ocpp_request_msg m;

	(void)state;
	decode_ok(v16_decode_request, "BootNotification",
	    "{\"chargePointVendor\":\"ACME\",\"chargePointModel\":\"Wall-22\"}", &m);
	assert_int_equal(m.type, OCPP_REQ_BOOT);
	assert_string_equal(m.u.boot.vendor, "ACME");
	assert_string_equal(m.u.boot.serial, "");
	decode_ok(v16_decode_request, "BootNotification",
	    "{\"chargePointVendor\":\"ACME\",\"chargePointModel\":\"W\","
	    "\"chargeBoxSerialNumber\":\"BOX-7\",\"firmwareVersion\":\"2.4.1\","
	    "\"iccid\":\"1\",\"imsi\":\"2\",\"meterType\":\"m\"}", &m);
	assert_string_equal(m.u.boot.serial, "BOX-7");
	assert_string_equal(m.u.boot.firmware, "2.4.1");
	decode_ok(v16_decode_request, "BootNotification",
	    "{\"chargePointVendor\":\"A\",\"chargePointModel\":\"W\","
	    "\"chargePointSerialNumber\":\"CP-SN\",\"chargeBoxSerialNumber\":\"BOX\"}",
	    &m);
	assert_string_equal(m.u.boot.serial, "CP-SN");
	decode_ok(v16_decode_request, "Heartbeat", "{}", &m);
	assert_int_equal(m.type, OCPP_REQ_HEARTBEAT);
}

static void
test_v16_status(void **state)
{
	static const struct { const char *name; enum site_status st; } map[] = {
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
	struct ocpp_request_msg m;
	char json[256];

	(void)state;
	for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
		snprintf(json, sizeof json, "{\"connectorId\":2,\"errorCode\":"
		    "\"NoError\",\"status\":\"%s\"}", map[i].name);
		decode_ok(v16_decode_request, "StatusNotification", json, &m);
		assert_int_equal(m.type, OCPP_REQ_STATUS);
		assert_int_equal(m.u.status.status, map[i].st);
		assert_int_equal(m.u.status.evse, 2);
		assert_int_equal(m.u.status.connector, 0);
		assert_int_equal(m.u.status.ts_ms, 0);
	}
	decode_ok(v16_decode_request, "StatusNotification", "{\"connectorId\":0,"
	    "\"errorCode\":\"GroundFailure\",\"status\":\"Faulted\",\"timestamp\":"
	    "\"2026-11-21T10:00:00Z\",\"info\":\"x\",\"vendorId\":\"v\","
	    "\"vendorErrorCode\":\"E42\"}", &m);
	assert_string_equal(m.u.status.error_code, "GroundFailure");
	assert_int_equal(m.u.status.ts_ms, ms("2026-11-21T10:00:00Z"));
	decode_bad(v16_decode_request, "StatusNotification", "{\"connectorId\":1,"
	    "\"errorCode\":\"NoError\",\"status\":\"Occupied\"}",
	    OCPP_ERR_PROPERTY, "status: \"Occupied\" is not a ChargePointStatus");
}

static void
test_v16_transactions(void **state)
{
	struct ocpp_request_msg m;

	(void)state;
	decode_ok(v16_decode_request, "StartTransaction", "{\"connectorId\":2,"
	    "\"idTag\":\"04A2B3C4D5\",\"meterStart\":12345,\"timestamp\":"
	    "\"2026-11-21T10:00:00.250Z\"}", &m);
	assert_int_equal(m.type, OCPP_REQ_TX);
	assert_int_equal(m.u.tx.kind, OCPP_TX_STARTED);
	assert_int_equal(m.u.tx.evse, 2);
	assert_int_equal(m.u.tx.connector, 1);
	assert_string_equal(m.u.tx.tx_id, "");
	assert_string_equal(m.u.tx.token.id, "04A2B3C4D5");
	assert_true(m.u.tx.meter_wh == 12345);
	assert_int_equal(m.u.tx.reservation_id, -1);
	assert_int_equal(m.u.tx.seq_no, -1);
	assert_int_equal(m.u.tx.ts_ms, ms("2026-11-21T10:00:00.250Z"));

	decode_bad(v16_decode_request, "StartTransaction", "{\"connectorId\":0,"
	    "\"idTag\":\"T\",\"meterStart\":0,\"timestamp\":\"2026-11-21T10:00:00Z\"}",
	    OCPP_ERR_PROPERTY, "connectorId");

	decode_ok(v16_decode_request, "StopTransaction", "{\"transactionId\":77,"
	    "\"meterStop\":20000,\"timestamp\":\"2026-11-21T11:00:00Z\"}", &m);
	assert_int_equal(m.u.tx.kind, OCPP_TX_ENDED);
	assert_string_equal(m.u.tx.tx_id, "77");
	assert_false(m.u.tx.has_token);
	assert_string_equal(m.u.tx.stop_reason, "");
	assert_int_equal(m.u.tx.meter.reading.have, 0);

	decode_ok(v16_decode_request, "StopTransaction", "{\"transactionId\":78,"
	    "\"idTag\":\"T\",\"meterStop\":3,\"reason\":\"EVDisconnected\","
	    "\"timestamp\":\"2026-11-21T11:00:00Z\",\"transactionData\":[{"
	    "\"timestamp\":\"2026-11-21T11:00:00Z\",\"sampledValue\":[{\"value\":"
	    "\"3.5\",\"measurand\":\"Energy.Active.Import.Register\",\"unit\":\"kWh\","
	    "\"context\":\"Transaction.End\"}]}]}", &m);
	assert_true(m.u.tx.has_token);
	assert_string_equal(m.u.tx.stop_reason, "EVDisconnected");
	assert_true(m.u.tx.meter.reading.energy_wh == 3500);
	assert_string_equal(m.u.tx.meter.tx_id, "78");
}

static void
test_v16_meter_values(void **state)
{
	struct ocpp_request_msg m;
	const struct site_reading *r;

	(void)state;
	decode_ok(v16_decode_request, "MeterValues", "{\"connectorId\":1,"
	    "\"transactionId\":5,\"meterValue\":[{\"timestamp\":"
	    "\"2026-11-21T10:00:00Z\",\"sampledValue\":["
	    "{\"value\":\"15.5\",\"measurand\":\"Current.Import\",\"phase\":\"L1\",\"unit\":\"A\"},"
	    "{\"value\":\"16\",\"measurand\":\"Current.Import\",\"phase\":\"L2\",\"unit\":\"A\"},"
	    "{\"value\":\"14\",\"measurand\":\"Current.Import\",\"phase\":\"L3\"},"
	    "{\"value\":\"32\",\"measurand\":\"Current.Offered\"},"
	    "{\"value\":\"10.9\",\"measurand\":\"Power.Active.Import\",\"unit\":\"kW\"},"
	    "{\"value\":\"231.5\",\"measurand\":\"Voltage\",\"phase\":\"L1-N\",\"unit\":\"V\"},"
	    "{\"value\":\"400\",\"measurand\":\"Voltage\",\"phase\":\"L1-L2\",\"unit\":\"V\"},"
	    "{\"value\":\"1.2\",\"measurand\":\"Current.Import\",\"phase\":\"N\"},"
	    "{\"value\":\"55\",\"measurand\":\"SoC\",\"unit\":\"Percent\"},"
	    "{\"value\":\"9\",\"measurand\":\"Frequency\"},"
	    "{\"value\":\"4711\"}]},"
	    "{\"timestamp\":\"2026-11-21T10:00:10Z\",\"sampledValue\":["
	    "{\"value\":\"4712\",\"context\":\"Sample.Periodic\",\"unit\":\"Wh\"}]}]}", &m);
	assert_int_equal(m.type, OCPP_REQ_METER);
	assert_int_equal(m.u.meter.evse, 1);
	assert_string_equal(m.u.meter.tx_id, "5");
	assert_int_equal(m.u.meter.nsamples, 12);
	r = &m.u.meter.reading;
	assert_int_equal(r->ts_ms, ms("2026-11-21T10:00:10Z"));
	assert_int_equal(r->have, SITE_HAVE_CURRENT | SITE_HAVE_OFFERED |
	    SITE_HAVE_POWER | SITE_HAVE_ENERGY | SITE_HAVE_VOLTAGE | SITE_HAVE_SOC);
	assert_true(r->current_a[0] == 15.5 && r->current_a[1] == 16 &&
	    r->current_a[2] == 14);
	assert_true(r->offered_a == 32);
	assert_true(r->power_w == 10900);
	assert_true(r->voltage_v[0] == 231.5);
	assert_true(r->voltage_v[1] == 0);	/* L1-L2 is not a phase voltage */
	assert_true(r->soc_pct == 55);
	assert_true(r->energy_wh == 4712);	/* the later sample, Wh default */

	/* Not a number: only the decoder can tell. */
	decode_bad(v16_decode_request, "MeterValues", "{\"connectorId\":1,"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
	    "[{\"value\":\"12\"},{\"value\":\"twelve\"}]}]}", OCPP_ERR_PROPERTY,
	    "meterValue[0].sampledValue[1].value: \"twelve\" is not a number");
	decode_bad(v16_decode_request, "MeterValues", "{\"connectorId\":1,"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
	    "[{\"value\":\"1e999\"}]}]}", OCPP_ERR_PROPERTY, "is not a number");
	/* Signed data is not a number and is skipped, not refused. */
	decode_ok(v16_decode_request, "MeterValues", "{\"connectorId\":1,"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
	    "[{\"value\":\"AB01FE\",\"format\":\"SignedData\"}]}]}", &m);
	assert_int_equal(m.u.meter.reading.have, 0);
	assert_int_equal(m.u.meter.nsamples, 1);
}

static void
test_v16_other_messages(void **state)
{
	struct ocpp_request_msg m;
	struct ocpp_error err;

	(void)state;
	decode_ok(v16_decode_request, "Authorize", "{\"idTag\":\"ABC\"}", &m);
	assert_int_equal(m.type, OCPP_REQ_AUTHORIZE);
	assert_string_equal(m.u.authorize.id, "ABC");
	decode_ok(v16_decode_request, "DataTransfer", "{\"vendorId\":\"com.acme\","
	    "\"messageId\":\"hello\",\"data\":\"x\"}", &m);
	assert_int_equal(m.type, OCPP_REQ_DATA_TRANSFER);
	assert_string_equal(m.u.data_transfer.vendor_id, "com.acme");
	decode_ok(v16_decode_request, "FirmwareStatusNotification",
	    "{\"status\":\"Installed\"}", &m);
	assert_int_equal(m.type, OCPP_REQ_NOTICE);
	assert_string_equal(m.u.notice.summary, "status=Installed");
	decode_ok(v16_decode_request, "SecurityEventNotification",
	    "{\"type\":\"FirmwareUpdated\",\"timestamp\":\"2026-11-21T10:00:00Z\"}", &m);
	assert_string_equal(m.u.notice.summary, "type=FirmwareUpdated");
	decode_ok(v16_decode_request, "DiagnosticsStatusNotification",
	    "{\"status\":\"Uploaded\"}", &m);
	assert_int_equal(m.type, OCPP_REQ_NOTICE);
	decode_ok(v16_decode_request, "LogStatusNotification",
	    "{\"status\":\"Uploaded\",\"requestId\":3}", &m);
	assert_int_equal(m.type, OCPP_REQ_NOTICE);
	/* Not a message the codec translates: NONE, not an error. */
	decode_ok(v16_decode_request, "FancyVendorThing", "{}", &m);
	assert_int_equal(m.type, OCPP_REQ_NONE);
	{
		cJSON *arr = cJSON_Parse("[1]");
		assert_int_equal(v16_decode_request("Heartbeat", arr, &m, &err), -1);
		assert_int_equal(err.code, OCPP_ERR_FORMAT);
		cJSON_Delete(arr);
	}
}

/* Everything a codec emits must pass the schema of what it claims to be:
 * an independent transcription of the official schemas (ocpp/schema). */
static void
assert_schema_valid(enum ocpp_version v, const char *action,
    enum schema_kind kind, const cJSON *payload)
{
	struct schema_error err;

	if (schema_validate(v, action, kind, payload, &err) != SCHEMA_OK) {
		char *text = cJSON_PrintUnformatted(payload);
		fprintf(stderr, "%s %s %s violates its schema: %s (%s)\n",
		    v == OCPP_V16 ? "1.6" : "2.0.1", action,
		    kind == SCHEMA_REQUEST ? "request" : "response",
		    err.description, text);
		free(text);
		fail();
	}
}

static const char *
reply_action(bool v16, enum ocpp_request type, enum ocpp_tx_kind kind)
{
	switch (type) {
	case OCPP_REQ_BOOT:
		return "BootNotification";
	case OCPP_REQ_HEARTBEAT:
		return "Heartbeat";
	case OCPP_REQ_STATUS:
		return "StatusNotification";
	case OCPP_REQ_AUTHORIZE:
		return "Authorize";
	case OCPP_REQ_TX:
		if (!v16)
			return "TransactionEvent";
		return kind == OCPP_TX_STARTED ? "StartTransaction" :
		    "StopTransaction";
	case OCPP_REQ_METER:
		return "MeterValues";
	case OCPP_REQ_DATA_TRANSFER:
		return "DataTransfer";
	default:
		return v16 ? "FirmwareStatusNotification" : "NotifyEvent";
	}
}

static char *
encode(cJSON *(*fn)(const struct ocpp_request_msg *, const struct ocpp_reply *),
    enum ocpp_request type, enum ocpp_tx_kind kind, const struct ocpp_reply *r)
{
	struct ocpp_request_msg req = { .type = type };
	bool v16 = fn == v16_encode_reply;
	cJSON *o;
	char *s;

	req.u.tx.kind = kind;
	o = fn(&req, r);
	assert_schema_valid(v16 ? OCPP_V16 : OCPP_V201,
	    reply_action(v16, type, kind), SCHEMA_RESPONSE, o);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static void
expect_json(char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "want %s\n got %s\n", want, got);
		free(got);
		fail();
	}
	free(got);
}

static void
test_v16_replies(void **state)
{
	struct ocpp_reply r = { .boot = SITE_BOOT_PENDING, .interval_s = 300,
	    .now_ms = ms("2026-11-21T10:00:00Z"), .auth = OCPP_AUTH_UNKNOWN,
	    .tx_id = 42, .has_auth = false };

	(void)state;
	expect_json(encode(v16_encode_reply, OCPP_REQ_BOOT, 0, &r),
	    "{\"status\":\"Pending\",\"currentTime\":\"2026-11-21T10:00:00.000Z\","
	    "\"interval\":300}");
	expect_json(encode(v16_encode_reply, OCPP_REQ_HEARTBEAT, 0, &r),
	    "{\"currentTime\":\"2026-11-21T10:00:00.000Z\"}");
	/* 1.6 has no Unknown: an unknown token is Invalid. */
	expect_json(encode(v16_encode_reply, OCPP_REQ_AUTHORIZE, 0, &r),
	    "{\"idTagInfo\":{\"status\":\"Invalid\"}}");
	r.auth = OCPP_AUTH_ACCEPTED;
	r.auth_expiry_ms = ms("2026-12-01T00:00:00Z");
	expect_json(encode(v16_encode_reply, OCPP_REQ_TX, OCPP_TX_STARTED, &r),
	    "{\"idTagInfo\":{\"status\":\"Accepted\",\"expiryDate\":"
	    "\"2026-12-01T00:00:00.000Z\"},\"transactionId\":42}");
	expect_json(encode(v16_encode_reply, OCPP_REQ_TX, OCPP_TX_ENDED, &r), "{}");
	r.has_auth = true;
	r.auth = OCPP_AUTH_BLOCKED;
	r.auth_expiry_ms = 0;
	expect_json(encode(v16_encode_reply, OCPP_REQ_TX, OCPP_TX_ENDED, &r),
	    "{\"idTagInfo\":{\"status\":\"Blocked\"}}");
	expect_json(encode(v16_encode_reply, OCPP_REQ_DATA_TRANSFER, 0, &r),
	    "{\"status\":\"UnknownVendorId\"}");
	r.data_transfer = OCPP_RESULT_REJECTED;
	expect_json(encode(v16_encode_reply, OCPP_REQ_DATA_TRANSFER, 0, &r),
	    "{\"status\":\"Rejected\"}");
	expect_json(encode(v16_encode_reply, OCPP_REQ_STATUS, 0, &r), "{}");
	expect_json(encode(v16_encode_reply, OCPP_REQ_METER, 0, &r), "{}");
}

/* ---------------------------------------------------------------- 2.0.1 */

static void
test_v201_boot_status(void **state)
{
	struct ocpp_request_msg m;

	(void)state;
	decode_ok(v201_decode_request, "BootNotification", "{\"reason\":\"PowerUp\","
	    "\"chargingStation\":{\"model\":\"DC-50\",\"vendorName\":\"ACME\"}}", &m);
	assert_int_equal(m.type, OCPP_REQ_BOOT);
	assert_string_equal(m.u.boot.model, "DC-50");
	assert_string_equal(m.u.boot.reason, "PowerUp");
	assert_string_equal(m.u.boot.firmware, "");
	decode_ok(v201_decode_request, "BootNotification", "{\"reason\":\"Watchdog\","
	    "\"chargingStation\":{\"model\":\"M\",\"vendorName\":\"V\","
	    "\"serialNumber\":\"S-1\",\"firmwareVersion\":\"9.9\",\"modem\":"
	    "{\"iccid\":\"1\"}},\"customData\":{\"vendorId\":\"x\"}}", &m);
	assert_string_equal(m.u.boot.serial, "S-1");
	assert_string_equal(m.u.boot.firmware, "9.9");

	decode_ok(v201_decode_request, "StatusNotification", "{\"timestamp\":"
	    "\"2026-11-21T10:00:00Z\",\"connectorStatus\":\"Occupied\",\"evseId\":2,"
	    "\"connectorId\":1}", &m);
	assert_int_equal(m.u.status.status, SITE_STATUS_OCCUPIED);
	assert_int_equal(m.u.status.evse, 2);
	assert_int_equal(m.u.status.connector, 1);
	decode_bad(v201_decode_request, "StatusNotification", "{\"timestamp\":"
	    "\"2026-11-21T10:00:00Z\",\"connectorStatus\":\"Charging\",\"evseId\":2,"
	    "\"connectorId\":1}", OCPP_ERR_PROPERTY, "connectorStatus");
}

static void
test_v201_transaction_events(void **state)
{
	struct ocpp_request_msg m;
	const struct ocpp_tx *t = &m.u.tx;

	(void)state;
	decode_ok(v201_decode_request, "TransactionEvent", "{\"eventType\":\"Started\","
	    "\"timestamp\":\"2026-11-21T10:00:00Z\",\"triggerReason\":\"CablePluggedIn\","
	    "\"seqNo\":0,\"transactionInfo\":{\"transactionId\":\"tx-9f\","
	    "\"chargingState\":\"EVConnected\"},\"evse\":{\"id\":2,\"connectorId\":1},"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
	    "[{\"value\":1.5,\"measurand\":\"Energy.Active.Import.Register\","
	    "\"context\":\"Transaction.Begin\",\"unitOfMeasure\":{\"unit\":\"kWh\"}}]}]}",
	    &m);
	assert_int_equal(m.type, OCPP_REQ_TX);
	assert_int_equal(t->kind, OCPP_TX_STARTED);
	assert_string_equal(t->tx_id, "tx-9f");
	assert_int_equal(t->evse, 2);
	assert_int_equal(t->connector, 1);
	assert_int_equal(t->seq_no, 0);
	assert_false(t->offline);
	assert_false(t->has_token);
	assert_int_equal(t->charging_state, SITE_STATUS_OCCUPIED);
	assert_string_equal(t->trigger, "CablePluggedIn");
	assert_true(t->meter_wh == 1500);

	decode_ok(v201_decode_request, "TransactionEvent", "{\"eventType\":\"Updated\","
	    "\"timestamp\":\"2026-11-21T10:01:00Z\",\"triggerReason\":\"Authorized\","
	    "\"seqNo\":1,\"offline\":true,\"transactionInfo\":{\"transactionId\":"
	    "\"tx-9f\",\"chargingState\":\"Charging\"},\"idToken\":{\"idToken\":"
	    "\"04A2B3\",\"type\":\"ISO14443\"},\"meterValue\":[{\"timestamp\":"
	    "\"2026-11-21T10:01:00Z\",\"sampledValue\":["
	    "{\"value\":16,\"measurand\":\"Current.Import\",\"phase\":\"L1\"},"
	    "{\"value\":11,\"measurand\":\"Power.Active.Import\",\"unitOfMeasure\":"
	    "{\"unit\":\"W\",\"multiplier\":3}}]}]}", &m);
	assert_int_equal(t->kind, OCPP_TX_UPDATED);
	assert_true(t->offline);
	assert_true(t->has_token);
	assert_string_equal(t->token.type, "ISO14443");
	assert_int_equal(t->evse, 0);
	assert_int_equal(t->charging_state, SITE_STATUS_CHARGING);
	assert_true(t->meter_wh < 0);
	assert_true(t->meter.reading.power_w == 11000);
	assert_true(t->meter.reading.current_a[0] == 16);
	assert_true(t->meter.reading.current_a[1] == 0);

	decode_ok(v201_decode_request, "TransactionEvent", "{\"eventType\":\"Ended\","
	    "\"timestamp\":\"2026-11-21T11:00:00Z\",\"triggerReason\":\"EVDeparted\","
	    "\"seqNo\":5,\"transactionInfo\":{\"transactionId\":\"tx-9f\","
	    "\"stoppedReason\":\"EVDisconnected\",\"chargingState\":\"Idle\"}}", &m);
	assert_int_equal(t->kind, OCPP_TX_ENDED);
	assert_string_equal(t->stop_reason, "EVDisconnected");
	assert_int_equal(t->charging_state, SITE_STATUS_UNKNOWN);
	assert_true(t->meter_wh < 0);

	decode_bad(v201_decode_request, "TransactionEvent", "{\"eventType\":\"Paused\","
	    "\"timestamp\":\"2026-11-21T11:00:00Z\",\"triggerReason\":\"X\",\"seqNo\":1,"
	    "\"transactionInfo\":{\"transactionId\":\"t\"}}", OCPP_ERR_PROPERTY,
	    "eventType");
}

static void
test_v201_meter_and_notices(void **state)
{
	struct ocpp_request_msg m;

	(void)state;
	decode_ok(v201_decode_request, "MeterValues", "{\"evseId\":1,\"meterValue\":"
	    "[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":["
	    "{\"value\":7.5,\"measurand\":\"Current.Import\"},"
	    "{\"value\":230,\"measurand\":\"Voltage\",\"phase\":\"L2-N\"},"
	    "{\"value\":2,\"unitOfMeasure\":{\"unit\":\"kWh\",\"multiplier\":1}}]}]}", &m);
	assert_int_equal(m.type, OCPP_REQ_METER);
	assert_int_equal(m.u.meter.evse, 1);
	/* An unphased current stands for every phase. */
	assert_true(m.u.meter.reading.current_a[2] == 7.5);
	assert_true(m.u.meter.reading.voltage_v[1] == 230);
	assert_true(fabs(m.u.meter.reading.energy_wh - 20000) < 1e-6);

	decode_ok(v201_decode_request, "NotifyChargingLimit", "{\"chargingLimit\":"
	    "{\"chargingLimitSource\":\"EMS\"},\"evseId\":1}", &m);
	assert_int_equal(m.type, OCPP_REQ_NOTICE);
	assert_string_equal(m.u.notice.summary, "chargingLimitSource=EMS");
	decode_ok(v201_decode_request, "NotifyEvent", "{\"generatedAt\":"
	    "\"2026-11-21T10:00:00Z\",\"seqNo\":3,\"eventData\":[]}", &m);
	assert_string_equal(m.u.notice.summary, "seqNo=3");
	decode_ok(v201_decode_request, "ReportChargingProfiles", "{\"requestId\":1,"
	    "\"chargingLimitSource\":\"CSO\",\"evseId\":1,\"chargingProfile\":[]}", &m);
	assert_string_equal(m.u.notice.action, "ReportChargingProfiles");
	decode_ok(v201_decode_request, "Authorize", "{\"idToken\":{\"idToken\":"
	    "\"AA\",\"type\":\"Central\"}}", &m);
	assert_string_equal(m.u.authorize.type, "Central");
}

/* ---------------------------------------------- numbers from chargers */

/* 1.6 meter values are strings: strictly decimal, finite, nothing around. */
static void
test_meter_decimals(void **state)
{
	static const struct {
		const char *text;
		int rc;
		double want;
	} cases[] = {
		{ "0", 0, 0 }, { "12", 0, 12 }, { "-3.5", 0, -3.5 },
		{ "+7", 0, 7 }, { "4711.25", 0, 4711.25 }, { "1e3", 0, 1000 },
		{ "1.5E+2", 0, 150 }, { "2e-1", 0, 0.2 }, { ".5", 0, 0.5 },
		{ "7.", 0, 7 }, { "0001", 0, 1 }, { "1e-999", 0, 0 },
		{ "NaN", -1, 0 }, { "nan", -1, 0 }, { "Infinity", -1, 0 },
		{ "inf", -1, 0 }, { "-inf", -1, 0 }, { "0x1A", -1, 0 },
		{ "0X1a", -1, 0 }, { "0x1p3", -1, 0 }, { " 5", -1, 0 },
		{ "5 ", -1, 0 }, { "\t5", -1, 0 }, { "5\n", -1, 0 },
		{ "+-1", -1, 0 }, { "--1", -1, 0 }, { "- 1", -1, 0 },
		{ "1.2.3", -1, 0 }, { "", -1, 0 }, { ".", -1, 0 }, { "-", -1, 0 },
		{ "1e", -1, 0 }, { "1e+", -1, 0 }, { "e5", -1, 0 },
		{ "1,5", -1, 0 }, { "1e999", -1, 0 }, { "-1e999", -1, 0 },
		{ "twelve", -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		double v = -42;
		int rc = meter_parse_decimal(cases[i].text, &v);

		if (rc != cases[i].rc || (rc == 0 && v != cases[i].want))
			fail_msg("\"%s\": got %d (%.17g), want %d (%.17g)",
			    cases[i].text, rc, v, cases[i].rc, cases[i].want);
	}
}

static void
test_meter_out_of_range(void **state)
{
	struct ocpp_request_msg m;

	(void)state;
	/* 1.6: the value in full, and the field named. */
	decode_bad(v16_decode_request, "MeterValues", "{\"connectorId\":1,"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
	    "[{\"value\":\"12\"},{\"value\":\"0x1A\"}]}]}", OCPP_ERR_PROPERTY,
	    "meterValue[0].sampledValue[1].value: \"0x1A\" is not a number");
	decode_bad(v16_decode_request, "MeterValues", "{\"connectorId\":1,"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
	    "[{\"value\":\"NaN\"}]}]}", OCPP_ERR_PROPERTY,
	    "meterValue[0].sampledValue[0].value: \"NaN\" is not a number");
	decode_bad(v16_decode_request, "StopTransaction", "{\"meterStop\":5,"
	    "\"timestamp\":\"2026-11-21T10:00:00Z\",\"transactionId\":1,"
	    "\"transactionData\":[{\"timestamp\":\"2026-11-21T10:00:00Z\","
	    "\"sampledValue\":[{\"value\":\" 5\"}]}]}", OCPP_ERR_PROPERTY,
	    "transactionData[0].sampledValue[0].value");
	/* Beyond 1e15 once normalised: directly, through kWh. */
	decode_bad(v16_decode_request, "MeterValues", "{\"connectorId\":1,"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
	    "[{\"value\":\"2e15\"}]}]}", OCPP_ERR_PROPERTY,
	    "meterValue[0].sampledValue[0].value: 2e+15 Wh is out of range");
	decode_bad(v16_decode_request, "MeterValues", "{\"connectorId\":1,"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
	    "[{\"value\":\"2e12\",\"unit\":\"kWh\"}]}]}", OCPP_ERR_PROPERTY,
	    "meterValue[0].sampledValue[0].value: 2e+15 Wh is out of range");
	/* A negative import register: -1 means "not given" in the model. */
	decode_bad(v16_decode_request, "MeterValues", "{\"connectorId\":1,"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
	    "[{\"value\":\"-1\",\"measurand\":\"Energy.Active.Import.Register\"}]}]}",
	    OCPP_ERR_PROPERTY, "meterValue[0].sampledValue[0].value");
	/* ... but a negative current is a current. */
	decode_ok(v16_decode_request, "MeterValues", "{\"connectorId\":1,"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
	    "[{\"value\":\"-1\",\"measurand\":\"Current.Import\",\"phase\":\"L1\"},"
	    "{\"value\":\"1e15\"}]}]}", &m);
	assert_true(m.u.meter.reading.current_a[0] == -1);
	assert_true(m.u.meter.reading.energy_wh == 1e15);

	/* 2.0.1: numbers, with the multiplier applied first. */
	decode_bad(v201_decode_request, "MeterValues", "{\"evseId\":1,\"meterValue\":"
	    "[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":["
	    "{\"value\":1,\"measurand\":\"Current.Import\"},"
	    "{\"value\":1e13,\"unitOfMeasure\":{\"unit\":\"kWh\"}}]}]}",
	    OCPP_ERR_PROPERTY, "meterValue[0].sampledValue[1].value: 1e+16 Wh "
	    "is out of range");
	decode_bad(v201_decode_request, "MeterValues", "{\"evseId\":1,\"meterValue\":"
	    "[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":["
	    "{\"value\":5,\"unitOfMeasure\":{\"multiplier\":400}}]}]}",
	    OCPP_ERR_PROPERTY, "meterValue[0].sampledValue[0].value");
	decode_bad(v201_decode_request, "MeterValues", "{\"evseId\":1,\"meterValue\":"
	    "[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":["
	    "{\"value\":5,\"measurand\":\"Temperature\",\"unitOfMeasure\":"
	    "{\"multiplier\":15}}]}]}", OCPP_ERR_PROPERTY,
	    "meterValue[0].sampledValue[0].value");
	decode_bad(v201_decode_request, "TransactionEvent", "{\"eventType\":\"Started\","
	    "\"timestamp\":\"2026-11-21T10:00:00Z\",\"triggerReason\":\"Authorized\","
	    "\"seqNo\":0,\"transactionInfo\":{\"transactionId\":\"t\"},"
	    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":["
	    "{\"value\":-2,\"measurand\":\"Energy.Active.Import.Register\"}]}]}",
	    OCPP_ERR_PROPERTY, "meterValue[0].sampledValue[0].value");
	decode_ok(v201_decode_request, "MeterValues", "{\"evseId\":1,\"meterValue\":"
	    "[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":["
	    "{\"value\":1,\"unitOfMeasure\":{\"unit\":\"kWh\",\"multiplier\":12}}]}]}",
	    &m);
	assert_true(m.u.meter.reading.energy_wh == 1e15);
}

/* EVSE and connector ids below 0 are no ids (0 is the whole charger or
 * EVSE); neither is a negative seqNo (-1 means "none" in the model). */
static void
test_ids_below_zero(void **state)
{
	static const struct {
		decode_fn *fn;
		const char *action, *json, *field;
	} cases[] = {
		{ v16_decode_request, "StatusNotification", "{\"connectorId\":-1,"
		    "\"errorCode\":\"NoError\",\"status\":\"Available\"}",
		    "connectorId: -1 is below 0" },
		{ v16_decode_request, "StatusNotification", "{\"connectorId\":"
		    "-2147483648,\"errorCode\":\"NoError\",\"status\":\"Available\"}",
		    "connectorId: -2147483648 is below 0" },
		{ v16_decode_request, "MeterValues", "{\"connectorId\":-1,"
		    "\"meterValue\":[{\"timestamp\":\"2026-11-21T10:00:00Z\","
		    "\"sampledValue\":[{\"value\":\"1\"}]}]}",
		    "connectorId: -1 is below 0" },
		{ v201_decode_request, "StatusNotification", "{\"timestamp\":"
		    "\"2026-11-21T10:00:00Z\",\"connectorStatus\":\"Available\","
		    "\"evseId\":-1,\"connectorId\":1}", "evseId: -1 is below 0" },
		{ v201_decode_request, "StatusNotification", "{\"timestamp\":"
		    "\"2026-11-21T10:00:00Z\",\"connectorStatus\":\"Available\","
		    "\"evseId\":1,\"connectorId\":-1}", "connectorId: -1 is below 0" },
		{ v201_decode_request, "MeterValues", "{\"evseId\":-3,\"meterValue\":"
		    "[{\"timestamp\":\"2026-11-21T10:00:00Z\",\"sampledValue\":"
		    "[{\"value\":1}]}]}", "evseId: -3 is below 0" },
		{ v201_decode_request, "TransactionEvent", "{\"eventType\":\"Started\","
		    "\"timestamp\":\"2026-11-21T10:00:00Z\",\"triggerReason\":"
		    "\"Authorized\",\"seqNo\":0,\"transactionInfo\":{\"transactionId\":"
		    "\"t\"},\"evse\":{\"id\":-1}}", "evse.id: -1 is below 0" },
		{ v201_decode_request, "TransactionEvent", "{\"eventType\":\"Started\","
		    "\"timestamp\":\"2026-11-21T10:00:00Z\",\"triggerReason\":"
		    "\"Authorized\",\"seqNo\":0,\"transactionInfo\":{\"transactionId\":"
		    "\"t\"},\"evse\":{\"id\":1,\"connectorId\":-1}}",
		    "evse.connectorId: -1 is below 0" },
		{ v201_decode_request, "TransactionEvent", "{\"eventType\":\"Updated\","
		    "\"timestamp\":\"2026-11-21T10:00:00Z\",\"triggerReason\":"
		    "\"Authorized\",\"seqNo\":-1,\"transactionInfo\":{\"transactionId\":"
		    "\"t\"}}", "seqNo: -1 is below 0" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		decode_bad(cases[i].fn, cases[i].action, cases[i].json,
		    OCPP_ERR_PROPERTY, cases[i].field);
}

static void
test_v201_replies(void **state)
{
	struct ocpp_reply r = { .boot = SITE_BOOT_ACCEPTED, .interval_s = 60,
	    .now_ms = ms("2026-11-21T10:00:00Z"), .auth = OCPP_AUTH_UNKNOWN };

	(void)state;
	expect_json(encode(v201_encode_reply, OCPP_REQ_BOOT, 0, &r),
	    "{\"currentTime\":\"2026-11-21T10:00:00.000Z\",\"interval\":60,"
	    "\"status\":\"Accepted\"}");
	expect_json(encode(v201_encode_reply, OCPP_REQ_AUTHORIZE, 0, &r),
	    "{\"idTokenInfo\":{\"status\":\"Unknown\"}}");
	expect_json(encode(v201_encode_reply, OCPP_REQ_TX, OCPP_TX_UPDATED, &r), "{}");
	r.has_auth = true;
	r.auth = OCPP_AUTH_EXPIRED;
	expect_json(encode(v201_encode_reply, OCPP_REQ_TX, OCPP_TX_UPDATED, &r),
	    "{\"idTokenInfo\":{\"status\":\"Expired\"}}");
	expect_json(encode(v201_encode_reply, OCPP_REQ_NOTICE, 0, &r), "{}");
}

/* ------------------------------------------------------------ commands */

typedef int encode_cmd_fn(const struct ocpp_command *, const char **, cJSON **);

static char *
command_json(encode_cmd_fn *fn, const struct ocpp_command *c, const char *action)
{
	const char *got_action = NULL;
	cJSON *payload = NULL;
	char *s;

	assert_int_equal(fn(c, &got_action, &payload), 0);
	assert_string_equal(got_action, action);
	assert_schema_valid(fn == v16_encode_command ? OCPP_V16 :
	    OCPP_V201, action, SCHEMA_REQUEST, payload);
	s = cJSON_PrintUnformatted(payload);
	cJSON_Delete(payload);
	return s;
}

static struct ocpp_command
profile_command(void)
{
	struct ocpp_command c = { .type = OCPP_CMD_SET_PROFILE, .evse = 2 };

	c.u.profile = (struct ocpp_profile){ .id = 1002, .stack_level = 1,
	    .purpose = OCPP_PURPOSE_TX, .unit = OCPP_UNIT_A, .tx_id = "41",
	    .valid_to_ms = ms("2026-11-21T10:05:00Z"), .nperiods = 1 };
	c.u.profile.periods[0] = (struct ocpp_period){ 0, 10.67, 3 };
	return c;
}

static void
test_v16_commands(void **state)
{
	struct ocpp_command c = profile_command();
	const char *action;
	cJSON *payload;

	(void)state;
	/* 1.6 limits are rounded down to a tenth; the tx id is a number. */
	expect_json(command_json(v16_encode_command, &c, "SetChargingProfile"),
	    "{\"connectorId\":2,\"csChargingProfiles\":{\"chargingProfileId\":1002,"
	    "\"transactionId\":41,\"stackLevel\":1,\"chargingProfilePurpose\":"
	    "\"TxProfile\",\"chargingProfileKind\":\"Absolute\",\"validTo\":"
	    "\"2026-11-21T10:05:00.000Z\",\"chargingSchedule\":{\"chargingRateUnit\":"
	    "\"A\",\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":10.6,"
	    "\"numberPhases\":3}]}}}");
	c.u.profile.purpose = OCPP_PURPOSE_TX_DEFAULT;
	c.u.profile.unit = OCPP_UNIT_W;
	c.u.profile.periods[0].limit = 7360;
	c.u.profile.periods[0].phases = 0;
	expect_json(command_json(v16_encode_command, &c, "SetChargingProfile"),
	    "{\"connectorId\":2,\"csChargingProfiles\":{\"chargingProfileId\":1002,"
	    "\"stackLevel\":1,\"chargingProfilePurpose\":\"TxDefaultProfile\","
	    "\"chargingProfileKind\":\"Absolute\",\"validTo\":"
	    "\"2026-11-21T10:05:00.000Z\",\"chargingSchedule\":{\"chargingRateUnit\":"
	    "\"W\",\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":7360}]}}}");

	c = (struct ocpp_command){ .type = OCPP_CMD_CLEAR_PROFILE, .evse = 1 };
	c.u.clear.id = -1;
	c.u.clear.purpose = OCPP_PURPOSE_TX_DEFAULT;
	c.u.clear.stack_level = -1;
	expect_json(command_json(v16_encode_command, &c, "ClearChargingProfile"),
	    "{\"connectorId\":1,\"chargingProfilePurpose\":\"TxDefaultProfile\"}");
	c = (struct ocpp_command){ .type = OCPP_CMD_REMOTE_STOP };
	snprintf(c.u.stop.tx_id, sizeof c.u.stop.tx_id, "77");
	expect_json(command_json(v16_encode_command, &c, "RemoteStopTransaction"),
	    "{\"transactionId\":77}");
	c = (struct ocpp_command){ .type = OCPP_CMD_AVAILABILITY, .evse = 0 };
	expect_json(command_json(v16_encode_command, &c, "ChangeAvailability"),
	    "{\"connectorId\":0,\"type\":\"Inoperative\"}");
	c = (struct ocpp_command){ .type = OCPP_CMD_GET_CONFIG };
	c.u.config.nkeys = 2;
	snprintf(c.u.config.keys[0].variable, OCPP_STR_LEN, "ChargeProfileMaxStackLevel");
	snprintf(c.u.config.keys[1].variable, OCPP_STR_LEN, "NumberOfConnectors");
	expect_json(command_json(v16_encode_command, &c, "GetConfiguration"),
	    "{\"key\":[\"ChargeProfileMaxStackLevel\",\"NumberOfConnectors\"]}");
	/* 1.6 changes one key per call, and has no GetChargingProfiles. */
	c.type = OCPP_CMD_SET_CONFIG;
	assert_int_equal(v16_encode_command(&c, &action, &payload), -1);
	assert_null(payload);
	c.type = OCPP_CMD_GET_PROFILES;
	assert_int_equal(v16_encode_command(&c, &action, &payload), -1);
	c = (struct ocpp_command){ .type = OCPP_CMD_RESET };
	c.u.reset.hard = true;
	expect_json(command_json(v16_encode_command, &c, "Reset"),
	    "{\"type\":\"Hard\"}");
}

static void
decode_result_ok(int (*fn)(const struct ocpp_command *, const cJSON *,
    struct ocpp_command_result *, struct ocpp_error *),
    const struct ocpp_command *c, const char *json,
    struct ocpp_command_result *out)
{
	struct ocpp_error err;
	cJSON *p = cJSON_Parse(json);

	assert_non_null(p);
	assert_int_equal(fn(c, p, out, &err), 0);
	cJSON_Delete(p);
}

static void
test_v16_results(void **state)
{
	struct ocpp_command c = { .type = OCPP_CMD_GET_CONFIG };
	struct ocpp_command_result r;

	(void)state;
	decode_result_ok(v16_decode_result, &c, "{\"configurationKey\":[{\"key\":"
	    "\"ChargeProfileMaxStackLevel\",\"readonly\":true,\"value\":\"8\"}],"
	    "\"unknownKey\":[\"MeterValuesSampledData\"]}", &r);
	assert_int_equal(r.nkeys, 2);
	assert_int_equal(r.nunknown, 1);
	assert_string_equal(r.keys[0].key.value, "8");
	assert_true(r.keys[0].readonly && r.keys[0].known);
	assert_false(r.keys[1].known);
	assert_string_equal(ocpp_result_name(r.keys[1].status),
	    "UnknownVariable");

	c.type = OCPP_CMD_SET_PROFILE;
	decode_result_ok(v16_decode_result, &c, "{\"status\":\"Rejected\"}", &r);
	assert_false(r.accepted);
	assert_string_equal(ocpp_result_name(r.status), "Rejected");
	c.type = OCPP_CMD_UNLOCK;
	decode_result_ok(v16_decode_result, &c, "{\"status\":\"Unlocked\"}", &r);
	assert_true(r.accepted);
	c.type = OCPP_CMD_GET_COMPOSITE;
	decode_result_ok(v16_decode_result, &c, "{\"status\":\"Accepted\","
	    "\"connectorId\":1,\"scheduleStart\":\"2026-11-21T10:00:00Z\","
	    "\"chargingSchedule\":{\"duration\":600,\"chargingRateUnit\":\"W\","
	    "\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":7000},"
	    "{\"startPeriod\":300,\"limit\":3500.5,\"numberPhases\":1}]}}", &r);
	assert_true(r.accepted);
	assert_int_equal(r.schedule.unit, OCPP_UNIT_W);
	assert_int_equal(r.schedule.nperiods, 2);
	assert_true(r.schedule.periods[1].limit == 3500.5);
	assert_int_equal(r.schedule.periods[1].phases, 1);
	c.type = OCPP_CMD_SET_CONFIG;
	c.u.config.nkeys = 1;
	snprintf(c.u.config.keys[0].variable, OCPP_STR_LEN, "MeterValueSampleInterval");
	decode_result_ok(v16_decode_result, &c, "{\"status\":\"NotSupported\"}", &r);
	assert_false(r.accepted);
	assert_int_equal(r.nkeys, 1);
	assert_false(r.keys[0].known);
}

static void
test_v201_commands(void **state)
{
	struct ocpp_command c = profile_command();

	(void)state;
	/* 2.0.1 takes any decimal, a string tx id, a schedule array. */
	expect_json(command_json(v201_encode_command, &c, "SetChargingProfile"),
	    "{\"evseId\":2,\"chargingProfile\":{\"id\":1002,\"stackLevel\":1,"
	    "\"chargingProfilePurpose\":\"TxProfile\",\"chargingProfileKind\":"
	    "\"Absolute\",\"validTo\":\"2026-11-21T10:05:00.000Z\",\"transactionId\":"
	    "\"41\",\"chargingSchedule\":[{\"id\":1002,\"chargingRateUnit\":\"A\","
	    "\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":10.67,"
	    "\"numberPhases\":3}]}]}}");
	c = (struct ocpp_command){ .type = OCPP_CMD_REMOTE_START, .evse = 1 };
	snprintf(c.u.start.token.id, sizeof c.u.start.token.id, "TOKEN");
	c.u.start.remote_start_id = 9;
	expect_json(command_json(v201_encode_command, &c, "RequestStartTransaction"),
	    "{\"evseId\":1,\"remoteStartId\":9,\"idToken\":{\"idToken\":\"TOKEN\","
	    "\"type\":\"Central\"}}");
	c = (struct ocpp_command){ .type = OCPP_CMD_GET_CONFIG };
	c.u.config.nkeys = 1;
	snprintf(c.u.config.keys[0].component, OCPP_STR_LEN, "SmartChargingCtrlr");
	snprintf(c.u.config.keys[0].variable, OCPP_STR_LEN, "RateUnit");
	expect_json(command_json(v201_encode_command, &c, "GetVariables"),
	    "{\"getVariableData\":[{\"component\":{\"name\":\"SmartChargingCtrlr\"},"
	    "\"variable\":{\"name\":\"RateUnit\"}}]}");
	c.type = OCPP_CMD_SET_CONFIG;
	snprintf(c.u.config.keys[0].value, sizeof c.u.config.keys[0].value, "A,W");
	expect_json(command_json(v201_encode_command, &c, "SetVariables"),
	    "{\"setVariableData\":[{\"attributeValue\":\"A,W\",\"component\":"
	    "{\"name\":\"SmartChargingCtrlr\"},\"variable\":{\"name\":\"RateUnit\"}}]}");
	c = (struct ocpp_command){ .type = OCPP_CMD_AVAILABILITY, .evse = 2 };
	c.u.availability.operative = true;
	expect_json(command_json(v201_encode_command, &c, "ChangeAvailability"),
	    "{\"operationalStatus\":\"Operative\",\"evse\":{\"id\":2}}");
	c = (struct ocpp_command){ .type = OCPP_CMD_TRIGGER };
	snprintf(c.u.trigger.message, OCPP_STR_LEN, "StatusNotification");
	expect_json(command_json(v201_encode_command, &c, "TriggerMessage"),
	    "{\"requestedMessage\":\"StatusNotification\"}");
	c = (struct ocpp_command){ .type = OCPP_CMD_GET_PROFILES, .evse = 1 };
	c.u.get_profiles.request_id = 4;
	expect_json(command_json(v201_encode_command, &c, "GetChargingProfiles"),
	    "{\"requestId\":4,\"evseId\":1,\"chargingProfile\":{}}");
}

static void
test_v201_results(void **state)
{
	struct ocpp_command c = { .type = OCPP_CMD_GET_CONFIG };
	struct ocpp_command_result r;

	(void)state;
	decode_result_ok(v201_decode_result, &c, "{\"getVariableResult\":["
	    "{\"attributeStatus\":\"Accepted\",\"attributeValue\":\"A,W\","
	    "\"component\":{\"name\":\"SmartChargingCtrlr\"},\"variable\":"
	    "{\"name\":\"RateUnit\"}},{\"attributeStatus\":\"UnknownVariable\","
	    "\"component\":{\"name\":\"SmartChargingCtrlr\"},\"variable\":"
	    "{\"name\":\"ACPhaseSwitchingSupported\"}}]}", &r);
	assert_int_equal(r.nkeys, 2);
	assert_string_equal(r.keys[0].key.value, "A,W");
	assert_true(r.keys[0].known);
	assert_false(r.keys[1].known);
	assert_string_equal(r.keys[1].key.variable, "ACPhaseSwitchingSupported");
	c.type = OCPP_CMD_SET_PROFILE;
	decode_result_ok(v201_decode_result, &c, "{\"status\":\"Rejected\","
	    "\"statusInfo\":{\"reasonCode\":\"InvalidSchedule\"}}", &r);
	assert_false(r.accepted);
	assert_string_equal(r.reason, "InvalidSchedule");
	c.type = OCPP_CMD_REMOTE_START;
	decode_result_ok(v201_decode_result, &c, "{\"status\":\"Accepted\","
	    "\"transactionId\":\"tx-1\"}", &r);
	assert_true(r.accepted);
	assert_string_equal(r.tx_id, "tx-1");
	c.type = OCPP_CMD_RESET;
	decode_result_ok(v201_decode_result, &c, "{\"status\":\"Scheduled\"}", &r);
	assert_true(r.accepted);
}

/* Every command either version can express, with every field filled,
 * passes its schema. */
static void
test_every_command_is_schema_valid(void **state)
{
	static const struct ocpp_list_entry entries[] = {
		{ "TOKEN-1", OCPP_AUTH_ACCEPTED, 1800000000000LL },
		{ "TOKEN-2", OCPP_AUTH_BLOCKED, 0 },
	};
	encode_cmd_fn *fns[] = { v16_encode_command, v201_encode_command };

	(void)state;
	for (int v = 0; v < 2; v++)
		for (int t = OCPP_CMD_SET_PROFILE; t <= OCPP_CMD_CLEAR_CACHE; t++) {
			struct ocpp_command c = profile_command();
			const char *action = NULL;
			cJSON *payload = NULL;

			c.type = (enum ocpp_command_type)t;
			if (c.type != OCPP_CMD_SET_PROFILE)
				memset(&c.u, 0, sizeof c.u);
			switch (c.type) {
			case OCPP_CMD_SET_PROFILE:
				c.u.profile.nperiods = 2;
				c.u.profile.periods[1] = (struct ocpp_period){ 300, 6, 1 };
				c.u.profile.start_ms = ms("2026-11-21T10:00:00Z");
				c.u.profile.duration_s = 600;
				break;
			case OCPP_CMD_CLEAR_PROFILE:
				c.u.clear.id = -1;
				c.u.clear.purpose = OCPP_PURPOSE_TX;
				c.u.clear.stack_level = 2;
				break;
			case OCPP_CMD_GET_COMPOSITE:
				c.u.composite.duration_s = 3600;
				c.u.composite.unit = OCPP_UNIT_W;
				break;
			case OCPP_CMD_GET_PROFILES:
				c.u.get_profiles.request_id = 1;
				break;
			case OCPP_CMD_REMOTE_START:
				memset(&c.u.start, 0, sizeof c.u.start);
				snprintf(c.u.start.token.id, sizeof c.u.start.token.id, "T");
				break;
			case OCPP_CMD_REMOTE_STOP:
				snprintf(c.u.stop.tx_id, sizeof c.u.stop.tx_id, "12");
				break;
			case OCPP_CMD_TRIGGER:
				snprintf(c.u.trigger.message, OCPP_STR_LEN, "MeterValues");
				break;
			case OCPP_CMD_GET_CONFIG:
			case OCPP_CMD_SET_CONFIG:
				memset(&c.u.config, 0, sizeof c.u.config);
				c.u.config.nkeys = 1;
				snprintf(c.u.config.keys[0].component, OCPP_STR_LEN,
				    "SampledDataCtrlr");
				snprintf(c.u.config.keys[0].variable, OCPP_STR_LEN,
				    "TxUpdatedInterval");
				snprintf(c.u.config.keys[0].value,
				    sizeof c.u.config.keys[0].value, "10");
				break;
			case OCPP_CMD_SEND_LOCAL_LIST:
				c.u.local_list.version = 3;
				c.u.local_list.full = true;
				c.u.local_list.nentries = 2;
				c.u.local_list.entries = entries;
				break;
			default:
				break;
			}
			if (fns[v](&c, &action, &payload) != 0) {
				/* Only GetChargingProfiles has no 1.6 form. */
				assert_int_equal(v, 0);
				assert_int_equal(t, OCPP_CMD_GET_PROFILES);
				continue;
			}
			assert_schema_valid(v == 0 ? OCPP_V16 : OCPP_V201,
			    action, SCHEMA_REQUEST, payload);
			cJSON_Delete(payload);
		}
}

/* Capability discovery: each version names the settings it has, and a
 * name reads back as its setting; a setting the version lacks is refused. */
static void
test_caps(void **state)
{
	struct ocpp_key k;

	(void)state;
	assert_true(ocpp_cap_key(v16_caps, OCPP_CAP_STACK_LEVEL, NULL, &k));
	assert_string_equal(k.component, "");
	assert_string_equal(k.variable, "ChargeProfileMaxStackLevel");
	assert_false(k.has_value);
	assert_int_equal(ocpp_cap_of(v16_caps, &k), OCPP_CAP_STACK_LEVEL);
	assert_false(ocpp_cap_key(v16_caps, OCPP_CAP_SMART_CHARGING, NULL, &k));
	assert_false(ocpp_cap_key(v201_caps, OCPP_CAP_CONNECTORS, NULL, &k));
	assert_true(ocpp_cap_key(v201_caps, OCPP_CAP_MEASURANDS,
	    ocpp_measurands(OCPP_SAMPLE_MIN), &k));
	assert_string_equal(k.component, "SampledDataCtrlr");
	assert_string_equal(k.variable, "TxUpdatedMeasurands");
	assert_true(k.has_value);
	assert_string_equal(k.value, "Current.Import,Power.Active.Import,"
	    "Energy.Active.Import.Register");
	assert_int_equal(ocpp_cap_of(v201_caps, &k), OCPP_CAP_MEASURANDS);
	/* The other version's name is not this version's setting. */
	assert_int_equal(ocpp_cap_of(v16_caps, &k), OCPP_CAP_NONE);
	{
		bool a, w;

		ocpp_rate_units("Current,Power", &a, &w);
		assert_true(a && w);
		ocpp_rate_units("W", &a, &w);
		assert_true(!a && w);
	}
	assert_true(ocpp_cap_true("true"));
	assert_false(ocpp_cap_true("True"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_v16_boot_heartbeat),
		cmocka_unit_test(test_v16_status),
		cmocka_unit_test(test_v16_transactions),
		cmocka_unit_test(test_v16_meter_values),
		cmocka_unit_test(test_v16_other_messages),
		cmocka_unit_test(test_v16_replies),
		cmocka_unit_test(test_v201_boot_status),
		cmocka_unit_test(test_v201_transaction_events),
		cmocka_unit_test(test_v201_meter_and_notices),
		cmocka_unit_test(test_meter_decimals),
		cmocka_unit_test(test_meter_out_of_range),
		cmocka_unit_test(test_ids_below_zero),
		cmocka_unit_test(test_v201_replies),
		cmocka_unit_test(test_v16_commands),
		cmocka_unit_test(test_v16_results),
		cmocka_unit_test(test_v201_commands),
		cmocka_unit_test(test_v201_results),
		cmocka_unit_test(test_every_command_is_schema_valid),
	};

	return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
