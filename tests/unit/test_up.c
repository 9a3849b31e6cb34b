/*
 * Unit tests for ocpp/up, the upstream codec: every request the gateway
 * sends up and every answer it gives to a down command, in both upstream
 * versions, passes the schema rules (ocpp/schema); the patching of
 * outbox payloads (1.6 transactionId, 2.0.1 seqNo); the decoding of down
 * commands into EVSE numbers; and the translations between versions.
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

#include "ocpp/schema.h"
#include "ocpp/up.h"
#include "util/json.h"

static const enum ocpp_version versions[] = { OCPP_V16,
	OCPP_V201 };

static enum ocpp_version
sv(enum ocpp_version v)
{
	return v == OCPP_V16 ? OCPP_V16 : OCPP_V201;
}

/* Check p against the request (or response) schema of action; frees p. */
static void
valid(enum ocpp_version v, const char *action, enum schema_kind k,
    cJSON *p)
{
	struct schema_error e;
	int rc = schema_validate(sv(v), action, k, p, &e);

	if (rc != SCHEMA_OK) {
		char *text = cJSON_PrintUnformatted(p);
		fprintf(stderr, "%s %s: %s\n%s\n", ocpp_version_name(v), action,
		    e.description, text);
		free(text);
	}
	assert_int_equal(rc, SCHEMA_OK);
	cJSON_Delete(p);
}

static struct site_session
a_session(void)
{
	struct site_session x;

	memset(&x, 0, sizeof x);
	x.id = 42;
	snprintf(x.id_token, sizeof x.id_token, "04A2B3C4D5");
	x.start_ms = 1700000000000;
	x.stop_ms = 1700000360000;
	x.meter_start_wh = 1000.4;
	x.meter_stop_wh = 2000;
	snprintf(x.stop_reason, sizeof x.stop_reason, "SoftReset");
	return x;
}

static void
test_requests_valid(void **state)
{
	struct up_identity id = { "sitegate", "sitegate", "site-1", "0.1.0" };
	struct site_session x = a_session();
	struct site_reading r = { .ts_ms = 1700000100000, .have =
		SITE_HAVE_ENERGY | SITE_HAVE_POWER | SITE_HAVE_CURRENT |
		SITE_HAVE_SOC, .current_a = { 16, 15.5, 16.1 }, .power_w = 11000,
		.energy_wh = 1500, .soc_pct = 40 };
	struct ocpp_id_token t = { "04A2B3C4D5", "ISO14443" };
	double lim[3] = { 32, 30, 31 };
	const char *a;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		enum ocpp_version v = versions[i];
		enum site_status st;

		valid(v, "BootNotification", SCHEMA_REQUEST, up_codec(v)->boot(&id, &a));
		valid(v, "Heartbeat", SCHEMA_REQUEST, up_codec(v)->heartbeat(&a));
		for (st = SITE_STATUS_UNKNOWN; st < SITE_STATUS_COUNT; st++)
			valid(v, "StatusNotification", SCHEMA_REQUEST, up_codec(v)->status(3,
			    1, st, "GroundFailure", r.ts_ms, &a));
		valid(v, "StatusNotification", SCHEMA_REQUEST, up_codec(v)->status(3, 1,
		    SITE_STATUS_FAULTED, "SomethingElse", r.ts_ms, &a));
		valid(v, "Authorize", SCHEMA_REQUEST, up_codec(v)->authorize(&t, &a));
		for (int k = OCPP_TX_STARTED; k <= OCPP_TX_ENDED; k++) {
			cJSON *p = up_codec(v)->tx((enum ocpp_tx_kind)k, &x, 3, 1, &r, true,
			    r.ts_ms, &a);
			assert_int_equal(up_codec(v)->patch_tx(p, "1234", 2), 0);
			valid(v, a, SCHEMA_REQUEST, p);
		}
		/* a session without a token */
		x.id_token[0] = '\0';
		valid(v, v == OCPP_V16 ? "StartTransaction" :
		    "TransactionEvent", SCHEMA_REQUEST, up_codec(v)->tx(OCPP_TX_STARTED,
		    &x, 3, 1, NULL, false, 0, &a));
		x = a_session();
	}
	assert_null(up_codec(OCPP_V201)->status(0, 0, SITE_STATUS_AVAILABLE, NULL,
	    0, &a));
	valid(OCPP_V16, "StatusNotification", SCHEMA_REQUEST,
	    up_codec(OCPP_V16)->status(0, 0, SITE_STATUS_AVAILABLE, NULL, 0, &a));
	valid(OCPP_V201, "NotifyChargingLimit", SCHEMA_REQUEST,
	    up_codec(OCPP_V201)->charging_limit(lim, r.ts_ms, &a));
	valid(OCPP_V201, "ClearedChargingLimit", SCHEMA_REQUEST,
	    up_codec(OCPP_V201)->charging_limit_cleared(&a));
}

/* The 1.6 registers go up as integers. Whatever a session holds (the
 * schema refuses such values at the charger side, so only a bug could put
 * them there), the conversion is defined and the message stays valid:
 * clamped into 0..1e15 Wh, never a cast of an out-of-range double. */
static void
test_registers_as_integers(void **state)
{
	static const struct {
		double wh;
		double want;
	} cases[] = {
		{ 1000.9, 1000 },
		{ 999999999999999.0, 999999999999999.0 },
		{ 1e15, 1e15 },
		{ 1e308, 1e15 },
		{ 9.3e18, 1e15 },		/* just beyond int64 */
		{ INFINITY, 1e15 },
		{ -5, 0 },
		{ -1e308, 0 },
		{ NAN, 0 },
	};
	struct site_session x = a_session();
	const char *a;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *start, *stop;

		x.meter_start_wh = cases[i].wh;
		x.meter_stop_wh = cases[i].wh;
		start = up_codec(OCPP_V16)->tx(OCPP_TX_STARTED, &x, 3, 1, NULL, false,
		    0, &a);
		stop = up_codec(OCPP_V16)->tx(OCPP_TX_ENDED, &x, 3, 1, NULL, false,
		    0, &a);
		if (json_num(start, "meterStart", -1) != cases[i].want ||
		    json_num(stop, "meterStop", -1) != cases[i].want)
			fail_msg("%.17g Wh went up as meterStart %.17g, meterStop "
			    "%.17g; want %.17g", cases[i].wh,
			    json_num(start, "meterStart", -1),
			    json_num(stop, "meterStop", -1), cases[i].want);
		assert_int_equal(up_codec(OCPP_V16)->patch_tx(stop, "1", 0), 0);
		valid(OCPP_V16, "StartTransaction", SCHEMA_REQUEST, start);
		valid(OCPP_V16, "StopTransaction", SCHEMA_REQUEST, stop);
	}
}

static void
test_patch_and_translate(void **state)
{
	struct site_session x = a_session();
	const char *a;
	cJSON *p;

	(void)state;
	/* 1.6: the upstream's id goes in; none known yet is an error */
	p = up_codec(OCPP_V16)->tx(OCPP_TX_ENDED, &x, 3, 1, NULL, false, 0, &a);
	assert_string_equal(a, "StopTransaction");
	assert_int_equal(up_codec(OCPP_V16)->patch_tx(p, NULL, 0), -1);
	assert_int_equal(up_codec(OCPP_V16)->patch_tx(p, "77", 0), 0);
	assert_int_equal(json_int(p, "transactionId", 0), 77);
	assert_string_equal(json_str(p, "reason"), "SoftReset");
	assert_int_equal(json_int(p, "meterStop", 0), 2000);
	cJSON_Delete(p);
	/* 2.0.1: our session id, our seqNo, the reason in 2.0.1 words */
	p = up_codec(OCPP_V201)->tx(OCPP_TX_ENDED, &x, 3, 1, NULL, true, 0, &a);
	assert_int_equal(up_codec(OCPP_V201)->patch_tx(p, NULL, 5), 0);
	assert_int_equal(json_int(p, "seqNo", -1), 5);
	assert_true(json_bool(p, "offline", false));
	assert_string_equal(json_str(cJSON_GetObjectItem(p, "transactionInfo"),
	    "transactionId"), "42");
	assert_string_equal(json_str(cJSON_GetObjectItem(p, "transactionInfo"),
	    "stoppedReason"), "ImmediateReset");
	cJSON_Delete(p);
	/* tokens longer than 20 characters do not fit 1.6 */
	assert_false(up_token_fits(up_codec(OCPP_V16), "0123456789012345678901"));
	assert_true(up_token_fits(up_codec(OCPP_V201), "0123456789012345678901"));
}

static void
decode(enum ocpp_version v, const char *action, const char *json,
    struct up_down *d)
{
	cJSON *p = cJSON_Parse(json);
	struct ocpp_error err;

	assert_non_null(p);
	assert_int_equal(schema_validate(sv(v), action, SCHEMA_REQUEST, p, NULL),
	    SCHEMA_OK);
	assert_int_equal(up_codec(v)->decode_down(action, p, d, &err), 0);
	cJSON_Delete(p);
}

static void
test_down_decoded(void **state)
{
	struct up_down d;

	(void)state;
	decode(OCPP_V16, "RemoteStartTransaction",
	    "{\"connectorId\":4,\"idTag\":\"ABC\"}", &d);
	assert_int_equal(d.type, UP_DOWN_REMOTE_START);
	assert_int_equal(d.evse, 4);
	assert_string_equal(d.token.id, "ABC");
	decode(OCPP_V201, "RequestStartTransaction", "{\"remoteStartId\":9,"
	    "\"idToken\":{\"idToken\":\"ABC\",\"type\":\"Central\"}}", &d);
	assert_int_equal(d.evse, -1);
	assert_int_equal(d.remote_start_id, 9);
	decode(OCPP_V16, "RemoteStopTransaction", "{\"transactionId\":1001}",
	    &d);
	assert_string_equal(d.tx_id, "1001");
	decode(OCPP_V201, "ChangeAvailability",
	    "{\"operationalStatus\":\"Inoperative\",\"evse\":{\"id\":2}}", &d);
	assert_int_equal(d.evse, 2);
	assert_false(d.operative);
	decode(OCPP_V16, "SetChargingProfile", "{\"connectorId\":0,"
	    "\"csChargingProfiles\":{\"chargingProfileId\":5,\"stackLevel\":1,"
	    "\"chargingProfilePurpose\":\"ChargePointMaxProfile\","
	    "\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":{"
	    "\"startSchedule\":\"2026-01-01T00:00:00Z\",\"chargingRateUnit\":\"W\","
	    "\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":22000},"
	    "{\"startPeriod\":3600,\"limit\":11000}]}}}", &d);
	assert_int_equal(d.type, UP_DOWN_SET_PROFILE);
	assert_int_equal(d.evse, 0);
	assert_int_equal(d.profile.purpose, OCPP_PURPOSE_MAX);
	assert_int_equal(d.profile.unit, OCPP_UNIT_W);
	assert_int_equal(d.profile.nperiods, 2);
	assert_int_equal(d.profile.periods[1].start_s, 3600);
	decode(OCPP_V201, "ClearChargingProfile", "{\"chargingProfileCriteria\":"
	    "{\"evseId\":3,\"chargingProfilePurpose\":\"TxDefaultProfile\"}}", &d);
	assert_int_equal(d.evse, 3);
	assert_int_equal(d.clear_purpose, OCPP_PURPOSE_TX_DEFAULT);
	assert_int_equal(d.clear_id, -1);
	decode(OCPP_V201, "SendLocalList", "{\"versionNumber\":4,"
	    "\"updateType\":\"Differential\",\"localAuthorizationList\":[{"
	    "\"idToken\":{\"idToken\":\"T1\",\"type\":\"ISO14443\"}},{\"idToken\":"
	    "{\"idToken\":\"T2\",\"type\":\"ISO14443\"},\"idTokenInfo\":{\"status\":"
	    "\"Blocked\"}}]}", &d);
	assert_int_equal(d.nentries, 2);
	assert_int_equal(d.entries[0].status, -1);
	assert_int_equal(d.entries[1].status, OCPP_AUTH_BLOCKED);
	assert_false(d.list_full);
	decode(OCPP_V201, "CancelReservation", "{\"reservationId\":1}", &d);
	assert_int_equal(d.type, UP_DOWN_NONE);
}

static void
test_replies_valid(void **state)
{
	struct up_setting_value s[UP_NSETTINGS] = {
		[UP_SET_HEARTBEAT_INTERVAL] = { "300", false },
		[UP_SET_EVSE_COUNT] = { "4", true },
	};
	struct up_down d;
	const enum ocpp_result st[] = { OCPP_RESULT_ACCEPTED,
		OCPP_RESULT_UNKNOWN_COMPONENT };
	cJSON *p;

	(void)state;
	memset(&d, 0, sizeof d);
	valid(OCPP_V16, "GetConfiguration", SCHEMA_RESPONSE,
	    up_codec(OCPP_V16)->reply_get_config(&d, s));
	d.nkeys = 2;
	snprintf(d.keys[0].key.component, sizeof d.keys[0].key.component,
	    "OCPPCommCtrlr");
	snprintf(d.keys[0].key.variable, sizeof d.keys[0].key.variable,
	    "HeartbeatInterval");
	d.keys[0].setting = UP_SET_HEARTBEAT_INTERVAL;
	snprintf(d.keys[1].key.component, sizeof d.keys[1].key.component, "Nope");
	snprintf(d.keys[1].key.variable, sizeof d.keys[1].key.variable, "X");
	d.keys[1].setting = -1;
	valid(OCPP_V16, "GetConfiguration", SCHEMA_RESPONSE,
	    up_codec(OCPP_V16)->reply_get_config(&d, s));
	valid(OCPP_V201, "GetVariables", SCHEMA_RESPONSE,
	    up_codec(OCPP_V201)->reply_get_config(&d, s));
	valid(OCPP_V201, "SetVariables", SCHEMA_RESPONSE,
	    up_codec(OCPP_V201)->reply_set_config(&d, st));
	valid(OCPP_V16, "ChangeConfiguration", SCHEMA_RESPONSE,
	    up_codec(OCPP_V16)->reply_set_config(&d, st));
	for (size_t i = 0; i < 2; i++) {
		enum ocpp_version v = versions[i];
		valid(v, "GetCompositeSchedule", SCHEMA_RESPONSE,
		    up_codec(v)->reply_composite(2, true, 15.55, 3, 600,
		    1700000000000));
		valid(v, "GetCompositeSchedule", SCHEMA_RESPONSE,
		    up_codec(v)->reply_composite(2, false, 0, 0, 600, 0));
		valid(v, "GetLocalListVersion", SCHEMA_RESPONSE,
		    up_codec(v)->reply_list_version(7));
	}
	valid(OCPP_V201, "RequestStartTransaction", SCHEMA_RESPONSE,
	    up_codec(OCPP_V201)->reply(UP_DOWN_REMOTE_START,
	    OCPP_RESULT_ACCEPTED));
	/* A 1.6 key outside the settings comes back under unknownKey. */
	p = up_codec(OCPP_V16)->reply_get_config(&d, s);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(p,
	    "unknownKey"), 0)->valuestring, "X");
	cJSON_Delete(p);
}

/* The gateway's neutral results in each version's words: where the
 * command has the word, that word; else the nearest. */
static void
test_result_words(void **state)
{
	static const struct {
		enum ocpp_version v;
		enum up_down_type t;
		enum ocpp_result r;
		const char *want;
	} cases[] = {
		{ OCPP_V16, UP_DOWN_RESET, OCPP_RESULT_SCHEDULED, "Accepted" },
		{ OCPP_V201, UP_DOWN_RESET, OCPP_RESULT_SCHEDULED, "Scheduled" },
		{ OCPP_V16, UP_DOWN_AVAILABILITY, OCPP_RESULT_SCHEDULED,
		  "Scheduled" },
		{ OCPP_V16, UP_DOWN_UNLOCK, OCPP_RESULT_UNLOCKED, "Unlocked" },
		{ OCPP_V16, UP_DOWN_UNLOCK, OCPP_RESULT_UNKNOWN_CONNECTOR,
		  "NotSupported" },
		{ OCPP_V16, UP_DOWN_UNLOCK, OCPP_RESULT_NOT_SUPPORTED,
		  "NotSupported" },
		{ OCPP_V16, UP_DOWN_UNLOCK, OCPP_RESULT_ONGOING_TX, "UnlockFailed" },
		{ OCPP_V201, UP_DOWN_UNLOCK, OCPP_RESULT_UNKNOWN_CONNECTOR,
		  "UnknownConnector" },
		{ OCPP_V201, UP_DOWN_UNLOCK, OCPP_RESULT_ONGOING_TX,
		  "OngoingAuthorizedTransaction" },
		{ OCPP_V201, UP_DOWN_UNLOCK, OCPP_RESULT_NOT_SUPPORTED,
		  "UnlockFailed" },
		{ OCPP_V16, UP_DOWN_SEND_LOCAL_LIST, OCPP_RESULT_VERSION_MISMATCH,
		  "VersionMismatch" },
		{ OCPP_V201, UP_DOWN_CLEAR_PROFILE, OCPP_RESULT_UNKNOWN, "Unknown" },
		{ OCPP_V16, UP_DOWN_TRIGGER, OCPP_RESULT_NOT_IMPLEMENTED,
		  "NotImplemented" },
		{ OCPP_V201, UP_DOWN_DATA_TRANSFER, OCPP_RESULT_UNKNOWN_VENDOR,
		  "UnknownVendorId" },
	};
	const enum ocpp_result unknown[] = { OCPP_RESULT_UNKNOWN_VARIABLE,
		OCPP_RESULT_UNKNOWN_COMPONENT };
	struct up_down d;
	cJSON *p;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		p = up_codec(cases[i].v)->reply(cases[i].t, cases[i].r);
		assert_string_equal(json_str(p, "status"), cases[i].want);
		cJSON_Delete(p);
	}
	/* A key none of ours: 1.6 has no unknown variable, but NotSupported;
	 * 2.0.1 says which part is unknown. */
	memset(&d, 0, sizeof d);
	d.nkeys = 2;
	p = up_codec(OCPP_V16)->reply_set_config(&d, unknown);
	assert_string_equal(json_str(p, "status"), "NotSupported");
	cJSON_Delete(p);
	p = up_codec(OCPP_V201)->reply_set_config(&d, unknown);
	assert_string_equal(json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(p,
	    "setVariableResult"), 1), "attributeStatus"), "UnknownComponent");
	cJSON_Delete(p);
}

/* Keys and requested messages are resolved by the codec of the version. */
static void
test_keys_resolved(void **state)
{
	struct up_down d;

	(void)state;
	decode(OCPP_V16, "GetConfiguration", "{\"key\":[\"HeartbeatInterval\","
	    "\"MeterValueSampleInterval\",\"Foo\"]}", &d);
	assert_int_equal(d.nkeys, 3);
	assert_int_equal(d.keys[0].setting, UP_SET_HEARTBEAT_INTERVAL);
	assert_int_equal(d.keys[1].setting, UP_SET_METER_INTERVAL);
	assert_int_equal(d.keys[2].setting, -1);
	decode(OCPP_V201, "SetVariables", "{\"setVariableData\":[{"
	    "\"attributeValue\":\"3\",\"component\":{\"name\":"
	    "\"OCPPCommCtrlr\"},\"variable\":{\"name\":\"MessageAttempts\"}},"
	    "{\"attributeValue\":\"1\",\"component\":{\"name\":"
	    "\"OCPPCommCtrlr\"},\"variable\":{\"name\":\"Nope\"}},"
	    "{\"attributeValue\":\"1\",\"component\":{\"name\":\"Nope\"},"
	    "\"variable\":{\"name\":\"Nope\"}}]}", &d);
	assert_int_equal(d.type, UP_DOWN_SET_CONFIG);
	assert_int_equal(d.keys[0].setting, UP_SET_MESSAGE_ATTEMPTS);
	assert_string_equal(d.keys[0].key.value, "3");
	assert_int_equal(d.keys[1].setting, -1);
	assert_true(d.keys[1].component_known);
	assert_false(d.keys[2].component_known);
	decode(OCPP_V16, "TriggerMessage", "{\"requestedMessage\":"
	    "\"StatusNotification\",\"connectorId\":2}", &d);
	assert_int_equal(d.trigger, UP_TRIGGER_STATUS);
	assert_int_equal(d.evse, 2);
	decode(OCPP_V201, "TriggerMessage", "{\"requestedMessage\":"
	    "\"LogStatusNotification\"}", &d);
	assert_int_equal(d.trigger, UP_TRIGGER_OTHER);
	/* The upstream names a 2.0.1 transaction by our session id. */
	decode(OCPP_V201, "RequestStopTransaction", "{\"transactionId\":\"42\"}",
	    &d);
	assert_int_equal(d.session_id, 42);
	decode(OCPP_V201, "RequestStopTransaction",
	    "{\"transactionId\":\"tx-9\"}", &d);
	assert_int_equal(d.session_id, -1);
	decode(OCPP_V16, "RemoteStopTransaction", "{\"transactionId\":7}", &d);
	assert_int_equal(d.session_id, 0);
	assert_string_equal(d.tx_id, "7");
}

/* What the gateway reports of a limit is rounded down to 0.1 A, never
 * up, and a binary near-miss of a tenth is that tenth. */
static void
test_limits_rounded_down(void **state)
{
	const double ems[3] = { 32, 30.07, 31 };
	const char *a;
	cJSON *p, *pe;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		enum ocpp_version v = versions[i];
		p = up_codec(v)->reply_composite(2, true, 15.55, 3, 600,
		    1700000000000);
		pe = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p,
		    v == OCPP_V16 ? "chargingSchedule" : "schedule"),
		    "chargingSchedulePeriod"), 0);
		assert_true(json_num(pe, "limit", 0) == 15.5);
		assert_int_equal(json_int(pe, "numberPhases", 0), 3);
		cJSON_Delete(p);
		p = up_codec(v)->reply_composite(0, true, 0.7 + 0.1, 0, 60, 0);
		pe = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p,
		    v == OCPP_V16 ? "chargingSchedule" : "schedule"),
		    "chargingSchedulePeriod"), 0);
		assert_true(json_num(pe, "limit", 0) == 0.8);
		assert_null(cJSON_GetObjectItem(pe, "numberPhases"));
		cJSON_Delete(p);
	}
	/* The EMS limit goes up as its lowest phase. */
	p = up_codec(OCPP_V201)->charging_limit(ems, 1700000000000, &a);
	pe = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(p, "chargingSchedule"), 0),
	    "chargingSchedulePeriod"), 0);
	assert_true(json_num(pe, "limit", 0) == 30.0);
	cJSON_Delete(p);
	assert_null(up_codec(OCPP_V16)->charging_limit);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_valid),
		cmocka_unit_test(test_registers_as_integers),
		cmocka_unit_test(test_patch_and_translate),
		cmocka_unit_test(test_down_decoded),
		cmocka_unit_test(test_replies_valid),
		cmocka_unit_test(test_result_words),
		cmocka_unit_test(test_keys_resolved),
		cmocka_unit_test(test_limits_rounded_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
