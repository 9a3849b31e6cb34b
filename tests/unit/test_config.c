/*
 * Unit tests for app/config: a valid base document, then one table of
 * cases that each break one rule (by patching one JSON path) and name the
 * error line expected, then the documents that are not JSON at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/config.h"

static const char base_json[] =
    "{\n"
    "  \"site_id\": \"depot-1\",\n"
    "  \"state_file\": \"var/sitegate.db\",\n"
    "  \"log_level\": \"info\",\n"
    "  \"ocpp\": {\n"
    "    \"listen\": \"127.0.0.1:8180\",\n"
    "    \"versions\": [\"ocpp2.0.1\", \"ocpp1.6\"],\n"
    "    \"tls\": { \"cert\": \"/etc/sitegate/server.crt\", \"key\": \"/etc/sitegate/server.key\", \"client_ca\": \"/etc/sitegate/chargers-ca.crt\" },\n"
    "    \"allow_unknown_chargers\": false,\n"
    "    \"heartbeat_interval_s\": 300,\n"
    "    \"call_timeout_s\": 30\n"
    "  },\n"
    "  \"chargers\": [\n"
    "    { \"id\": \"CP-01\", \"password\": \"change-me-16-chars\", \"max_current_a\": 32, \"phases\": 3, \"phase_rotation\": \"L1L2L3\", \"circuit\": \"row-a\", \"priority\": 0 },\n"
    "    { \"id\": \"CP-02\", \"password\": \"change-me-16-chars\", \"max_current_a\": 32, \"phases\": 1, \"phase_rotation\": \"L2\", \"circuit\": \"row-a\", \"priority\": 1 }\n"
    "  ],\n"
    "  \"site\": {\n"
    "    \"voltage_v\": 230,\n"
    "    \"min_current_a\": 6,\n"
    "    \"failsafe_current_a\": 16,\n"
    "    \"circuits\": [\n"
    "      { \"id\": \"main\", \"max_current_a\": [63, 63, 63] },\n"
    "      { \"id\": \"row-a\", \"parent\": \"main\", \"max_current_a\": 40 }\n"
    "    ]\n"
    "  },\n"
    "  \"authorization\": {\n"
    "    \"mode\": \"local_list\",\n"
    "    \"local_list\": [ { \"id_token\": \"04A2B3C4D5\", \"status\": \"Accepted\" } ]\n"
    "  },\n"
    "  \"mqtt\": { \"host\": \"127.0.0.1\", \"port\": 1883, \"prefix\": \"sitegate/depot-1\", \"limit_timeout_s\": 120 },\n"
    "  \"upstream\": { \"url\": \"wss://csms.example.com/ocpp\", \"id\": \"DEPOT-1\", \"version\": \"ocpp2.0.1\", \"password\": \"change-me-16-chars\", \"ca_file\": \"/etc/ssl/certs/ca-certificates.crt\" },\n"
    "  \"web\": { \"listen\": \"127.0.0.1:8080\" }\n"
    "}\n";

/* Walk a path like "chargers[1].max_current_a" in a cJSON tree; returns
 * the parent object/array and sets *last to the final key (or index). */
static cJSON *
walk(cJSON *root, const char *path, char *last, size_t lastlen, int *index)
{
	char buf[256], *save = NULL;
	cJSON *at = root, *parent = NULL;

	snprintf(buf, sizeof buf, "%s", path);
	*index = -1;
	for (char *tok = strtok_r(buf, ".", &save); tok;
	    tok = strtok_r(NULL, ".", &save)) {
		char *br = strchr(tok, '[');
		int idx = -1;

		if (br) {
			idx = atoi(br + 1);	/* test input, known good */
			*br = '\0';
		}
		parent = at;
		snprintf(last, lastlen, "%s", tok);
		*index = -1;
		at = cJSON_GetObjectItemCaseSensitive(parent, tok);
		if (idx >= 0) {
			parent = at;
			*index = idx;
			at = cJSON_GetArrayItem(parent, idx);
		}
	}
	return parent;
}

/* The document text with path set to value (JSON text) or removed (NULL). */
static char *
patched_from(const char *doc, const char *path, const char *value)
{
	cJSON *root = cJSON_Parse(doc);
	char key[64];
	int index;
	cJSON *parent;
	char *out;

	assert_non_null(root);
	if (path != NULL) {
		parent = walk(root, path, key, sizeof key, &index);
		assert_non_null(parent);
		if (index >= 0) {
			if (value)
				cJSON_ReplaceItemInArray(parent, index, cJSON_Parse(value));
			else
				cJSON_DeleteItemFromArray(parent, index);
		} else if (value == NULL) {
			cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
		} else {
			cJSON *v = cJSON_Parse(value);
			assert_non_null(v);
			if (cJSON_GetObjectItemCaseSensitive(parent, key))
				cJSON_ReplaceItemInObjectCaseSensitive(parent, key, v);
			else
				cJSON_AddItemToObject(parent, key, v);
		}
	}
	out = cJSON_Print(root);
	cJSON_Delete(root);
	return out;
}

static char *
patched(const char *path, const char *value)
{
	return patched_from(base_json, path, value);
}

static void
expect_error(const char *text, const char *want)
{
	char *errors = NULL;
	int n = 0;
	struct config *cfg = config_parse(text, strlen(text), &errors, &n);

	if (cfg != NULL || errors == NULL || strstr(errors, want) == NULL) {
		fprintf(stderr, "want error: %s\ngot (%d): %s\n", want, n,
		    errors ? errors : "(none, config accepted)");
		config_free(cfg);
		free(errors);
		fail();
	}
	assert_true(n >= 1);
	free(errors);
}

static void
test_base_is_valid(void **state)
{
	char *errors = NULL;
	int n = -1;
	struct config *cfg;

	(void)state;
	cfg = config_parse(base_json, strlen(base_json), &errors, &n);
	if (cfg == NULL)
		fprintf(stderr, "%s", errors);
	assert_non_null(cfg);
	assert_null(errors);
	assert_int_equal(n, 0);

	assert_string_equal(cfg->site_id, "depot-1");
	assert_string_equal(cfg->ocpp.listen.host, "127.0.0.1");
	assert_int_equal(cfg->ocpp.listen.port, 8180);
	assert_true(cfg->ocpp.versions[OCPP_V201]);
	assert_true(cfg->ocpp.versions[OCPP_V16]);
	assert_false(cfg->ocpp.versions[OCPP_V21]);
	assert_non_null(cfg->ocpp.tls);
	assert_string_equal(cfg->ocpp.tls->client_ca, "/etc/sitegate/chargers-ca.crt");
	assert_int_equal(cfg->ocpp.heartbeat_interval_s, 300);

	assert_int_equal(cfg->nchargers, 2);
	assert_int_equal(cfg->chargers[1].phases, 1);
	assert_int_equal(cfg->chargers[1].grid_phase[0], 1);	/* L2 */
	assert_int_equal(cfg->chargers[1].priority, 1);
	assert_int_equal(cfg->chargers[0].circuit_index, 1);
	assert_true(cfg->chargers[0].password.set);
	assert_false(cfg->chargers[0].password_raw.set);
	assert_true(pwhash_check(&cfg->chargers[0].password,
	    "change-me-16-chars", 18));
	assert_false(pwhash_check(&cfg->chargers[0].password,
	    "change-me-16-charz", 18));

	assert_int_equal(cfg->site.ncircuits, 2);
	assert_int_equal(cfg->site.root_index, 0);
	assert_int_equal(cfg->site.circuits[1].parent_index, 0);
	assert_true(cfg->site.circuits[1].max_current_a[2] == 40);
	assert_true(cfg->site.circuits[0].max_current_a[1] == 63);

	assert_int_equal(cfg->auth.mode, AUTH_MODE_LOCAL_LIST);
	assert_int_equal(cfg->auth.nlocal, 1);
	assert_non_null(cfg->mqtt);
	assert_int_equal(cfg->mqtt->limit_timeout_s, 120);
	assert_non_null(cfg->upstream);
	assert_int_equal(cfg->upstream->version, OCPP_V201);
	assert_int_equal(cfg->upstream->meter_interval_s, 60);
	assert_int_equal(cfg->upstream->queue_max, 100000);
	assert_false(cfg->upstream->offline_accept_unknown);
	assert_int_equal(cfg->upstream->message_attempts, 3);
	assert_int_equal(cfg->upstream->retry_interval_s, 30);
	assert_non_null(cfg->web);
	assert_int_equal(cfg->web->listen.port, 8080);
	assert_non_null(config_charger_find(cfg, "CP-02"));
	assert_null(config_charger_find(cfg, "CP-03"));
	config_free(cfg);
}

static void
test_defaults(void **state)
{
	static const char minimal[] =
	    "{ \"site_id\": \"s\", \"ocpp\": { \"listen\": \"[::1]:0\" },"
	    "  \"chargers\": [ { \"id\": \"A\", \"max_current_a\": 16 } ],"
	    "  \"site\": { \"circuits\": [ { \"id\": \"grid\", \"max_current_a\": 100 } ] },"
	    "  \"mqtt\": { \"host\": \"broker\" } }";
	struct config *cfg = config_parse(minimal, strlen(minimal), NULL, NULL);

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(cfg->ocpp.listen.host, "::1");
	assert_int_equal(cfg->ocpp.listen.port, 0);
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	assert_int_equal(cfg->meter_retention_days, 7);
	assert_int_equal(cfg->ocpp.call_timeout_s, 30);
	assert_int_equal(cfg->ocpp.max_message_bytes, 65536);
	assert_int_equal(cfg->ocpp.meter_interval_s, 10);
	assert_true(cfg->ocpp.versions[OCPP_V16] && cfg->ocpp.versions[OCPP_V201]);
	assert_null(cfg->ocpp.tls);
	assert_int_equal(cfg->chargers[0].phases, 3);
	assert_int_equal(cfg->chargers[0].grid_phase[0], 0);
	assert_int_equal(cfg->chargers[0].grid_phase[2], 2);
	assert_int_equal(cfg->chargers[0].circuit_index, 0);	/* the root */
	assert_false(cfg->chargers[0].password.set);
	assert_true(cfg->site.voltage_v == 230);
	assert_true(cfg->site.min_current_a == 6);
	assert_true(cfg->site.circuits[0].max_current_a[2] == 100);
	assert_string_equal(cfg->mqtt->prefix, "sitegate/s");
	assert_string_equal(cfg->mqtt->client_id, "sitegate-s");
	assert_int_equal(cfg->mqtt->keepalive_s, 30);
	assert_null(cfg->mqtt->ca_file);
	assert_null(cfg->mqtt->username);
	assert_int_equal(cfg->mqtt->port, 1883);
	assert_null(cfg->upstream);
	assert_null(cfg->web);
	assert_int_equal(cfg->chargers[0].first_evse, 0);
	assert_int_equal(cfg->ocpp.max_evses, 2);
	assert_int_equal(cfg->ocpp.max_connectors_per_evse, 2);
	assert_int_equal(cfg->chargers[0].evses, 2);
	assert_int_equal(cfg->chargers[0].connectors_per_evse, 2);
	assert_int_equal(cfg->chargers[0].purpose, DISPATCH_PURPOSE_AUTO);
	assert_int_equal(cfg->chargers[0].unit, DISPATCH_UNIT_AUTO);
	assert_int_equal(cfg->chargers[0].max_stack_level, -1);
	assert_true(cfg->chargers[0].number_phases);
	assert_int_equal(cfg->control.coalesce_ms, 5);
	assert_true(cfg->control.hysteresis_a == 1);
	assert_int_equal(cfg->control.profile_validity_s, 300);
	assert_int_equal(cfg->control.retry_min_s, 10);
	assert_int_equal(cfg->control.retry_max_s, 300);
	config_free(cfg);
}

/* How many EVSEs and connectors a charger may report: its own keys, else
 * the site-wide ones (which also bound chargers not configured). */
static void
test_evse_bounds(void **state)
{
	char *a = patched("ocpp.max_evses", "4");
	char *b = patched_from(a, "ocpp.max_connectors_per_evse", "1");
	char *c = patched_from(b, "chargers[1].evses", "32");
	char *text = patched_from(c, "chargers[1].connectors_per_evse", "4");
	struct config *cfg = config_parse(text, strlen(text), NULL, NULL);

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(cfg->ocpp.max_evses, 4);
	assert_int_equal(cfg->ocpp.max_connectors_per_evse, 1);
	assert_int_equal(cfg->chargers[0].evses, 4);
	assert_int_equal(cfg->chargers[0].connectors_per_evse, 1);
	assert_int_equal(cfg->chargers[1].evses, 32);
	assert_int_equal(cfg->chargers[1].connectors_per_evse, 4);
	config_free(cfg);
	free(a);
	free(b);
	free(c);
	free(text);
}

static void
test_control_section(void **state)
{
	char *text = patched("control", "{\"coalesce_ms\": 0, \"hysteresis_a\": 0.5, "
	    "\"profile_validity_s\": 120, \"retry_min_s\": 5, \"retry_max_s\": 60}");
	char *errors = NULL;
	struct config *cfg = config_parse(text, strlen(text), &errors, NULL);

	(void)state;
	if (cfg == NULL)
		fprintf(stderr, "%s\n", errors);
	assert_non_null(cfg);
	assert_int_equal(cfg->control.coalesce_ms, 0);
	assert_true(cfg->control.hysteresis_a == 0.5);
	assert_int_equal(cfg->control.profile_validity_s, 120);
	assert_int_equal(cfg->control.retry_min_s, 5);
	assert_int_equal(cfg->control.retry_max_s, 60);
	config_free(cfg);
	free(text);
	text = patched("chargers[0].smart_charging", "{\"purpose\": \"TxDefaultProfile\", "
	    "\"unit\": \"W\", \"max_stack_level\": 0, \"number_phases\": false}");
	cfg = config_parse(text, strlen(text), NULL, NULL);
	assert_non_null(cfg);
	assert_int_equal(cfg->chargers[0].purpose, DISPATCH_PURPOSE_TX_DEFAULT);
	assert_int_equal(cfg->chargers[0].unit, DISPATCH_UNIT_W);
	assert_int_equal(cfg->chargers[0].max_stack_level, 0);
	assert_false(cfg->chargers[0].number_phases);
	config_free(cfg);
	free(text);
}

static void
test_rotation_mapping(void **state)
{
	char *text = patched("chargers[0].phase_rotation", "\"L2L3L1\"");
	struct config *cfg = config_parse(text, strlen(text), NULL, NULL);

	(void)state;
	assert_non_null(cfg);
	/* Charger L1 on grid L2, L2 on L3, L3 on L1. */
	assert_int_equal(cfg->chargers[0].grid_phase[0], 1);
	assert_int_equal(cfg->chargers[0].grid_phase[1], 2);
	assert_int_equal(cfg->chargers[0].grid_phase[2], 0);
	config_free(cfg);
	free(text);
}

static void
test_hex_authorization_key(void **state)
{
	static const char key[] = "0123456789abcdef0123456789ABCDEF01234567";
	unsigned char raw[20] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45,
		0x67 };
	char value[64];
	char *text;
	struct config *cfg;

	(void)state;
	snprintf(value, sizeof value, "\"%s\"", key);
	text = patched("chargers[0].password", value);
	cfg = config_parse(text, strlen(text), NULL, NULL);
	assert_non_null(cfg);
	assert_true(cfg->chargers[0].password_raw.set);
	assert_true(pwhash_check(&cfg->chargers[0].password_raw, raw, sizeof raw));
	assert_true(pwhash_check(&cfg->chargers[0].password, key, strlen(key)));
	raw[19] ^= 1;
	assert_false(pwhash_check(&cfg->chargers[0].password_raw, raw, sizeof raw));
	config_free(cfg);
	free(text);
}

static void
test_comments_are_allowed(void **state)
{
	static const char doc[] =
	    "// a comment\n{ /* block\n comment */ \"site_id\": \"s//not-a-comment\",\n"
	    "  \"ocpp\": { \"listen\": \"127.0.0.1:1\" }, // trailing\n"
	    "  \"site\": { \"circuits\": [ { \"id\": \"g\", \"max_current_a\": 10 } ] } }";
	struct config *cfg;

	(void)state;
	/* '/' is not allowed in site_id, so the string must reach the
	 * validator intact for this error to appear. */
	expect_error(doc, "site_id: expected letters, digits");
	cfg = config_parse(strstr(doc, "{"), strlen(strstr(doc, "{")), NULL, NULL);
	assert_null(cfg);
	{
		char *fixed = strdup(doc);
		memcpy(strstr(fixed, "s//not"), "s-------", 8);
		cfg = config_parse(fixed, strlen(fixed), NULL, NULL);
		assert_non_null(cfg);
		assert_string_equal(cfg->site_id, "s--------comment");
		config_free(cfg);
		free(fixed);
	}
	expect_error("{ /* never closed\n\n", "comment that starts at line 1, "
	    "column 3 is never closed");
}

struct bad_case {
	const char *path;	/* NULL: the base document unchanged */
	const char *value;	/* JSON text, or NULL to delete the key */
	const char *want;	/* expected substring of the error list */
	const char *path2;	/* optional second patch */
	const char *value2;
};

/* Most cases have no second patch: let those fields default to NULL. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct bad_case bad_cases[] = {
	{ "bogus", "1", "bogus: unknown key" },
	{ "site_id", NULL, "site_id: required key is missing" },
	{ "site_id", "\"a b\"", "site_id: expected printable ASCII" },
	{ "site_id", "\"depot/1\"", "site_id: expected letters, digits" },
	{ "site_id", "\"0123456789012345678901234567890123456789012345678\"",
	  "site_id: expected a string of 1 to 48 characters" },
	{ "site_id", "42", "site_id: expected a string of 1 to 48 characters, got 42" },
	{ "state_file", "\"\"", "state_file: expected a string of 1 to 4096" },
	{ "meter_retention_days", "0", "meter_retention_days: expected an integer "
	  "from 1 to 3650, got 0" },
	{ "log_level", "\"verbose\"", "log_level: expected one of \"debug\", "
	  "\"info\", \"warn\", \"error\", got \"verbose\"" },
	{ "ocpp", NULL, "ocpp: required key is missing" },
	{ "ocpp", "[]", "ocpp: expected an object, got an array" },
	{ "ocpp.listen", NULL, "ocpp.listen: required key is missing" },
	{ "ocpp.listen", "\"localhost\"", "ocpp.listen: expected \"host:port\"" },
	{ "ocpp.listen", "\"127.0.0.1:70000\"", "ocpp.listen: expected \"host:port\"" },
	{ "ocpp.listen", "\"127.0.0.1:80x\"", "ocpp.listen: expected \"host:port\"" },
	{ "ocpp.listen", "\"127.0.0.1:+80\"", "ocpp.listen: expected \"host:port\"" },
	{ "ocpp.listen", "\"127.0.0.1: 80\"", "ocpp.listen: expected \"host:port\"" },
	{ "ocpp.listen", "\"::1:80\"", "ocpp.listen: expected \"host:port\"" },
	{ "ocpp.versions", "[\"ocpp3\"]", "ocpp.versions[0]: expected one of" },
	{ "ocpp.versions", "[]", "ocpp.versions: expected at least one version" },
	{ "ocpp.versions", "[\"ocpp1.6\", \"ocpp1.6\"]",
	  "ocpp.versions[1]: version listed twice" },
	{ "ocpp.versions", "\"ocpp1.6\"", "ocpp.versions: expected an array" },
	{ "ocpp.tls.cert", NULL, "ocpp.tls.cert: required key is missing" },
	{ "ocpp.tls.ca", "\"x\"", "ocpp.tls.ca: unknown key" },
	{ "ocpp.allow_unknown_chargers", "\"yes\"",
	  "ocpp.allow_unknown_chargers: expected true or false, got \"yes\"" },
	{ "ocpp.heartbeat_interval_s", "5",
	  "ocpp.heartbeat_interval_s: expected an integer from 10 to 86400, got 5" },
	{ "ocpp.heartbeat_interval_s", "12.5",
	  "ocpp.heartbeat_interval_s: expected an integer from 10 to 86400, got 12.5" },
	{ "ocpp.call_timeout_s", "0", "ocpp.call_timeout_s: expected an integer" },
	{ "ocpp.max_message_bytes", "100", "ocpp.max_message_bytes: expected an integer" },
	{ "ocpp.meter_interval_s", "-1", "ocpp.meter_interval_s: expected an integer "
	  "from 0 to 3600, got -1" },
	{ "chargers", "{}", "chargers: expected an array, got an object" },
	{ "chargers[1]", "7", "chargers[1]: expected an object, got 7" },
	{ "chargers[1].max_current_a", "\"32A\"",
	  "chargers[1].max_current_a: expected a number from 6 to 80, got \"32A\"" },
	{ "chargers[1].max_current_a", "100",
	  "chargers[1].max_current_a: expected a number from 6 to 80, got 100" },
	{ "chargers[0].max_current_a", NULL,
	  "chargers[0].max_current_a: required key is missing" },
	{ "chargers[0].phases", "2", "chargers[0].phases: expected 1 or 3, got 2" },
	{ "chargers[1].phase_rotation", "\"L1L2L3\"",
	  "chargers[1].phase_rotation: expected one of \"L1\", \"L2\", \"L3\" for a "
	  "1-phase charger, got \"L1L2L3\"" },
	{ "chargers[0].phase_rotation", "\"L1L1L2\"",
	  "chargers[0].phase_rotation: expected one of \"L1L2L3\"" },
	{ "chargers[0].password", "\"short\"",
	  "chargers[0].password: expected a string of 16 to 40 characters, got a "
	  "string of another length" },
	{ "chargers[0].id", "\"CP:01\"", "chargers[0].id: expected printable ASCII" },
	{ "chargers[0].id", "\"\"", "chargers[0].id: expected a string of 1 to 48" },
	{ "chargers[0].id", NULL, "chargers[0].id: required key is missing" },
	{ "chargers[1].id", "\"CP-01\"", "chargers[1]: duplicate charger id \"CP-01\" "
	  "(also chargers[0])" },
	{ "chargers[1].circuit", "\"row-b\"",
	  "chargers[1].circuit: no circuit has the id \"row-b\"" },
	{ "chargers[0].max_curent_a", "32", "chargers[0].max_curent_a: unknown key" },
	{ "chargers[0].priority", "-1", "chargers[0].priority: expected an integer" },
	{ "chargers[0].first_evse", "0", "chargers[0].first_evse: expected an "
	  "integer from 1 to 10000, got 0" },
	{ "chargers[0].first_evse", "5", "chargers[1].first_evse: EVSE number 5 "
	  "is already chargers[0].first_evse", "chargers[1].first_evse", "5" },
	{ "ocpp.max_evses", "0", "ocpp.max_evses: expected an integer from 1 to "
	  "32, got 0" },
	{ "ocpp.max_evses", "33", "ocpp.max_evses: expected an integer from 1 to "
	  "32, got 33" },
	{ "ocpp.max_evses", "1.5", "ocpp.max_evses: expected an integer" },
	{ "ocpp.max_connectors_per_evse", "5", "ocpp.max_connectors_per_evse: "
	  "expected an integer from 1 to 4, got 5" },
	{ "ocpp.max_connectors_per_evse", "\"2\"", "ocpp.max_connectors_per_evse: "
	  "expected an integer from 1 to 4, got \"2\"" },
	{ "chargers[1].evses", "0", "chargers[1].evses: expected an integer from "
	  "1 to 32, got 0" },
	{ "chargers[1].evses", "1e300", "chargers[1].evses: expected an integer "
	  "from 1 to 32, got 1e+300" },
	{ "chargers[0].connectors_per_evse", "-1", "chargers[0].connectors_per_evse: "
	  "expected an integer from 1 to 4, got -1" },
	{ "chargers[0].connectors_per_evse", "true", "chargers[0].connectors_per_evse: "
	  "expected an integer from 1 to 4, got true" },
	{ "chargers[0].smart_charging", "{\"purpose\": \"ChargePointMaxProfile\"}",
	  "chargers[0].smart_charging.purpose: expected one of \"auto\", "
	  "\"TxProfile\", \"TxDefaultProfile\", got \"ChargePointMaxProfile\"" },
	{ "chargers[0].smart_charging", "{\"unit\": \"kW\"}",
	  "chargers[0].smart_charging.unit: expected one of \"auto\", \"A\", \"W\"" },
	{ "chargers[0].smart_charging", "{\"max_stack_level\": -1}",
	  "chargers[0].smart_charging.max_stack_level: expected an integer from 0" },
	{ "chargers[0].smart_charging", "{\"number_phases\": 3}",
	  "chargers[0].smart_charging.number_phases: expected true or false" },
	{ "chargers[0].smart_charging", "{\"units\": \"A\"}",
	  "chargers[0].smart_charging.units: unknown key" },
	{ "control", "{\"coalesce_ms\": 5000}", "control.coalesce_ms: expected an "
	  "integer from 0 to 1000, got 5000" },
	{ "control", "{\"hysteresis_a\": -1}", "control.hysteresis_a: expected a "
	  "number from 0 to 10, got -1" },
	{ "control", "{\"profile_validity_s\": 10}", "control.profile_validity_s: "
	  "expected an integer from 60 to 86400, got 10" },
	{ "control", "{\"retry_min_s\": 60, \"retry_max_s\": 30}",
	  "control.retry_max_s: expected at least control.retry_min_s (60), got 30" },
	{ "control", "{\"coalesce\": 5}", "control.coalesce: unknown key" },
	{ "site", NULL, "site: required key is missing" },
	{ "site.circuits", "[]", "site.circuits: expected at least one circuit" },
	{ "site.circuits", NULL, "site.circuits: required key is missing" },
	{ "site.circuits[1].parent", NULL, "site.circuits[1]: a second circuit "
	  "without a parent" },
	{ "site.circuits[1].parent", "\"nowhere\"",
	  "site.circuits[1].parent: no circuit has the id \"nowhere\"" },
	{ "site.circuits[1].parent", "\"row-a\"", "is part of a parent cycle" },
	{ "site.circuits[1].id", "\"main\"", "site.circuits[1]: duplicate circuit id" },
	{ "site.circuits[0].max_current_a", "[63, 63]",
	  "site.circuits[0].max_current_a: expected a number or an array of 3 "
	  "numbers [L1, L2, L3], got an array of another length" },
	{ "site.circuits[0].max_current_a", "[63, \"x\", 63]",
	  "site.circuits[0].max_current_a[1]: expected a number from 0 to 10000" },
	{ "site.circuits[1].max_current_a", "-5",
	  "site.circuits[1].max_current_a: expected a number from 1 to 10000, got -5" },
	{ "site.circuits[1].max_current_a", NULL,
	  "site.circuits[1].max_current_a: required key is missing" },
	{ "site.min_current_a", "3", "site.min_current_a: expected a number from 6 to 32" },
	{ "site.min_current_a", "10", "chargers[0]: max_current_a 8 is below "
	  "site.min_current_a 10", "chargers[0].max_current_a", "8" },
	{ "site.voltage_v", "50", "site.voltage_v: expected a number from 100 to 500" },
	{ "site.failsafe_current_a", "null", "site.failsafe_current_a: expected a "
	  "number from 0 to 10000, got null" },
	{ "authorization.mode", "\"open\"", "authorization.mode: expected one of "
	  "\"local_list\", \"accept_all\", \"upstream\", got \"open\"" },
	{ "authorization.local_list[0].status", "\"Maybe\"",
	  "authorization.local_list[0].status: expected one of \"Accepted\"" },
	{ "authorization.local_list[0].expiry", "\"tomorrow\"",
	  "authorization.local_list[0].expiry: expected an RFC 3339 date-time" },
	{ "authorization.local_list[0].id_token",
	  "\"0123456789012345678901234567890123456\"",
	  "authorization.local_list[0].id_token: expected a string of 1 to 36" },
	{ "mqtt.port", "0", "mqtt.port: expected an integer from 1 to 65535, got 0" },
	{ "mqtt.prefix", "\"a/#\"", "mqtt.prefix: expected a topic without" },
	{ "mqtt.prefix", "\"a//b\"", "mqtt.prefix: expected a topic without" },
	{ "mqtt.host", NULL, "mqtt.host: required key is missing" },
	{ "mqtt.limit_timeout_s", "1", "mqtt.limit_timeout_s: expected an integer" },
	{ "mqtt.password", "\"secret\"", "mqtt.username: required when mqtt.password is set" },
	{ "mqtt.keepalive_s", "1", "mqtt.keepalive_s: expected an integer from 5 to 3600" },
	{ "mqtt.tls", "{\"cert\":\"c.pem\"}", "mqtt.tls.ca_file: required key is missing" },
	{ "mqtt.tls", "{\"ca_file\":\"ca.pem\",\"cert\":\"c.pem\"}",
	  "mqtt.tls.key: required when mqtt.tls.cert is set" },
	{ "upstream.url", "\"http://csms.example.com\"",
	  "upstream.url: expected a ws:// or wss:// URL" },
	{ "upstream.url", "\"ws://\"", "upstream.url: expected a string of 6 to"
	  " 2048 characters" },
	{ "upstream.version", "\"ocpp2.1\"", "upstream.version: expected one of "
	  "\"ocpp1.6\", \"ocpp2.0.1\", got \"ocpp2.1\"" },
	{ "upstream.cert", "\"/etc/c.pem\"", "upstream.key: required when "
	  "upstream.cert is set" },
	{ "upstream.id", "\"A:B\"", "upstream.id: expected printable ASCII" },
	{ "upstream.meter_interval_s", "4000", "upstream.meter_interval_s: "
	  "expected an integer from 0 to 3600, got 4000" },
	{ "upstream.queue_max", "10", "upstream.queue_max: expected an integer "
	  "from 100 to 10000000, got 10" },
	{ "upstream.offline_unknown_tokens", "\"maybe\"",
	  "upstream.offline_unknown_tokens: expected one of \"reject\", "
	  "\"accept\", got \"maybe\"" },
	{ "upstream.message_attempts", "0", "upstream.message_attempts: expected "
	  "an integer from 1 to 10, got 0" },
	{ "upstream.retry_interval_s", "1.5", "upstream.retry_interval_s: "
	  "expected an integer from 1 to 3600" },
	{ "upstream.reconnect_max_s", "0", "upstream.reconnect_max_s: expected "
	  "an integer from 1 to 3600, got 0" },
	{ "upstream.call_timeout_s", "\"30\"", "upstream.call_timeout_s: "
	  "expected an integer from 1 to 300" },
	{ "web.listen", NULL, "web.listen: required key is missing" },
	{ "web.port", "80", "web.port: unknown key" },
	{ "web.root", "7", "web.root: expected a string of 1 to 4096" },
	{ "web.root", "\"\"", "web.root: expected a string of 1 to 4096" },
};
#pragma GCC diagnostic pop

static void
test_each_rule_fails(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		char *text = patched(bad_cases[i].path, bad_cases[i].value);

		if (bad_cases[i].path2 != NULL) {
			char *twice = patched_from(text, bad_cases[i].path2,
			    bad_cases[i].value2);
			free(text);
			text = twice;
		}
		fprintf(stderr, "case %zu: %s\n", i, bad_cases[i].want);
		expect_error(text, bad_cases[i].want);
		free(text);
	}
}

static void
test_duplicate_charger_token_case_insensitive(void **state)
{
	char *text = patched("authorization.local_list",
	    "[{\"id_token\":\"abc\"},{\"id_token\":\"ABC\",\"status\":\"Blocked\"}]");

	(void)state;
	expect_error(text, "authorization.local_list[1].id_token: duplicate of "
	    "authorization.local_list[0]");
	free(text);
}

static void
test_duplicate_key(void **state)
{
	static const char doc[] = "{ \"site_id\": \"a\", \"site_id\": \"b\" }";

	(void)state;
	expect_error(doc, "site_id: key appears more than once");
}

/* Every problem is reported, not only the first. */
static void
test_all_errors_reported(void **state)
{
	static const char doc[] =
	    "{ \"site_id\": 1, \"state_file\": 2, \"log_level\": 3,"
	    "  \"ocpp\": { \"listen\": 4, \"versions\": 5, \"heartbeat_interval_s\": \"6\" },"
	    "  \"chargers\": [ { \"id\": 7, \"max_current_a\": \"8\", \"phases\": \"9\" } ],"
	    "  \"site\": { \"voltage_v\": \"x\", \"circuits\": [ { \"id\": 1, \"max_current_a\": {} } ] },"
	    "  \"authorization\": { \"mode\": 1 }, \"mqtt\": 1, \"upstream\": 2, \"web\": 3 }";
	char *errors = NULL;
	int n = 0;

	(void)state;
	assert_null(config_parse(doc, strlen(doc), &errors, &n));
	assert_int_equal(n, 16);
	assert_non_null(strstr(errors, "site_id: expected a string"));
	assert_non_null(strstr(errors, "chargers[0].phases: expected 1 or 3"));
	assert_non_null(strstr(errors, "web: expected an object, got 3"));
	/* One line per error. */
	{
		int lines = 0;
		for (const char *p = errors; *p; p++)
			lines += *p == '\n';
		assert_int_equal(lines, n);
	}
	free(errors);
}

static void
test_not_json(void **state)
{
	(void)state;
	expect_error("this is not json", "not valid JSON: unexpected text at "
	    "line 1, column 1");
	expect_error("{ \"site_id\": \"a\",\n  \"ocpp\": { \"listen\": ",
	    "not valid JSON: the text ends early");
	expect_error("{\n  \"site\": {\n    \"voltage_v\": 230",
	    "not valid JSON: the text ends early");
	expect_error("{ \"site_id\": \"dep", "not valid JSON: the text ends early");
	expect_error("nonsense { \"a\": 1", "unexpected text at line 1, column 1");
	expect_error("", "not valid JSON");
	expect_error("[1, 2]", "expected a JSON object, got an array");
	expect_error("{} {}", "not valid JSON: unexpected text at line 1, column 4");
}

static void
test_too_large(void **state)
{
	size_t len = 10 * 1024 * 1024;
	char *big = malloc(len);
	char *errors = NULL;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	assert_null(config_parse(big, len, &errors, NULL));
	assert_non_null(strstr(errors, "more than the 1048576 allowed"));
	free(errors);
	free(big);
}

static void
test_load_errors(void **state)
{
	char dir[] = "/tmp/sg-config-XXXXXX";
	char path[128], *errors = NULL;
	int n = 0, fd;
	struct config *cfg;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/missing.json", dir);
	assert_null(config_load(path, &errors, &n));
	assert_int_equal(n, 1);
	assert_non_null(strstr(errors, "cannot open"));
	free(errors);

	assert_null(config_load(dir, &errors, &n));
	assert_non_null(strstr(errors, "is not a regular file"));
	free(errors);

	/* 10 MB on disk: refused by size before it is read. */
	snprintf(path, sizeof path, "%s/big.json", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 10 * 1024 * 1024), 0);
	close(fd);
	assert_null(config_load(path, &errors, &n));
	assert_non_null(strstr(errors, "more than the 1048576 allowed"));
	free(errors);
	unlink(path);

	snprintf(path, sizeof path, "%s/good.json", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, base_json, strlen(base_json)),
	    (ssize_t)strlen(base_json));
	close(fd);
	cfg = config_load(path, &errors, &n);
	assert_non_null(cfg);
	assert_int_equal(n, 0);
	config_free(cfg);
	unlink(path);
	rmdir(dir);
}

static void
test_restart_needed(void **state)
{
	char *a = patched(NULL, NULL);
	char *b = patched("ocpp.listen", "\"0.0.0.0:8180\"");
	char *c = patched("chargers[0].max_current_a", "16");
	struct config *ca = config_parse(a, strlen(a), NULL, NULL);
	struct config *cb = config_parse(b, strlen(b), NULL, NULL);
	struct config *cc = config_parse(c, strlen(c), NULL, NULL);
	char *diff;

	(void)state;
	assert_non_null(ca);
	assert_non_null(cb);
	assert_non_null(cc);
	diff = config_restart_needed(ca, cb);
	assert_non_null(diff);
	assert_non_null(strstr(diff, "ocpp.listen: changed; takes effect after a restart"));
	assert_null(strstr(diff, "state_file"));
	free(diff);
	/* A charger limit applies live. */
	assert_null(config_restart_needed(ca, cc));
	config_free(ca);
	config_free(cb);
	config_free(cc);
	free(a);
	free(b);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_is_valid),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_rotation_mapping),
		cmocka_unit_test(test_evse_bounds),
		cmocka_unit_test(test_control_section),
		cmocka_unit_test(test_hex_authorization_key),
		cmocka_unit_test(test_comments_are_allowed),
		cmocka_unit_test(test_each_rule_fails),
		cmocka_unit_test(test_duplicate_charger_token_case_insensitive),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_restart_needed),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
