/*
 * Unit tests for app/confedit: a configuration with every kind of secret
 * (each one a different text, so a leak names its source), hidden by
 * confedit_public and put back by confedit_apply; the error mapping as one
 * table of config.c's line forms; the atomic write and its failures in a
 * temporary folder; the round trip of the shipped conf/sitegate.json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/confedit.h"

#define PW1 "secret-cp01-aaaaaaaa"
#define PW3 "secret-cp03-bbbbbbbb"
#define PW_MQTT "mqtt-secret-cccc"
#define PW_UP "upstream-secret-dddd"

static const char base_json[] =
    "// a comment that the page never sees\n"
    "{\n"
    "  \"site_id\": \"depot-1\",\n"
    "  \"state_file\": \"var/sitegate.db\",\n"
    "  \"ocpp\": {\n"
    "    \"listen\": \"127.0.0.1:8180\",\n"
    "    /* certificate and key paths are not secrets */\n"
    "    \"tls\": { \"cert\": \"/etc/sitegate/server.crt\", \"key\": \"/etc/sitegate/server.key\" }\n"
    "  },\n"
    "  \"chargers\": [\n"
    "    { \"id\": \"CP-01\", \"password\": \"" PW1 "\", \"max_current_a\": 32, \"circuit\": \"row-a\" },\n"
    "    { \"id\": \"CP-02\", \"max_current_a\": 16, \"phases\": 1, \"phase_rotation\": \"L2\" },\n"
    "    { \"id\": \"CP-03\", \"password\": \"" PW3 "\", \"max_current_a\": 32 }\n"
    "  ],\n"
    "  \"site\": {\n"
    "    \"circuits\": [\n"
    "      { \"id\": \"main\", \"max_current_a\": [63, 63, 63] },\n"
    "      { \"id\": \"row-a\", \"parent\": \"main\", \"max_current_a\": 40 }\n"
    "    ]\n"
    "  },\n"
    "  \"mqtt\": { \"host\": \"127.0.0.1\", \"username\": \"gw\", \"password\": \"" PW_MQTT "\",\n"
    "            \"tls\": { \"ca_file\": \"/etc/ssl/ca.pem\", \"cert\": \"/etc/c.pem\", \"key\": \"/etc/k.pem\" } },\n"
    "  \"upstream\": { \"url\": \"wss://csms.example.com/ocpp\", \"id\": \"DEPOT-1\", \"password\": \"" PW_UP "\",\n"
    "                \"key\": \"/etc/sitegate/up.key\", \"cert\": \"/etc/sitegate/up.crt\" }\n"
    "}\n";

static const char *const all_secrets[] = { PW1, PW3, PW_MQTT, PW_UP };

static cJSON *
public_base(void)
{
	char *cause = NULL;
	cJSON *doc = confedit_public(base_json, strlen(base_json), &cause);

	assert_non_null(doc);
	assert_null(cause);
	return doc;
}

static cJSON *
charger(cJSON *doc, int i)
{
	cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "chargers"), i);

	assert_non_null(c);
	return c;
}

/* The charger with this id in a file's text (parsed as plain JSON). */
static char *
password_of(const char *text, const char *id)
{
	cJSON *root = cJSON_Parse(text), *it;
	char *pw = NULL;

	assert_non_null(root);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "chargers")) {
		cJSON *p = cJSON_GetObjectItem(it, "password");

		if (strcmp(cJSON_GetObjectItem(it, "id")->valuestring, id) == 0 &&
		    cJSON_IsString(p))
			pw = strdup(p->valuestring);
	}
	cJSON_Delete(root);
	return pw;
}

static bool
has_error(const cJSON *errors, const char *path, const char *expected,
    const char *got)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, errors) {
		if (strcmp(cJSON_GetObjectItem(e, "path")->valuestring, path) == 0 &&
		    strcmp(cJSON_GetObjectItem(e, "expected")->valuestring,
		    expected) == 0 &&
		    strcmp(cJSON_GetObjectItem(e, "got")->valuestring, got) == 0)
			return true;
	}
	return false;
}

static void
print_errors(const cJSON *errors)
{
	char *s = cJSON_Print(errors);

	print_message("%s\n", s);
	free(s);
}

static void
test_version(void **state)
{
	char a[CONFEDIT_VERSION_LEN], b[CONFEDIT_VERSION_LEN];

	(void)state;
	/* SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b003... */
	confedit_version("abc", 3, a);
	assert_string_equal(a, "ba7816bf8f01cfea414140de5dae2223");
	confedit_version("abd", 3, b);
	assert_string_not_equal(a, b);
	confedit_version(base_json, strlen(base_json), a);
	confedit_version(base_json, strlen(base_json) - 1, b);
	assert_int_equal(strlen(a), 32);
	assert_string_not_equal(a, b);
}

static void
test_public_hides_secrets(void **state)
{
	cJSON *doc = public_base(), *mqtt, *up;
	char *printed, *cause = NULL;

	(void)state;
	printed = cJSON_Print(doc);
	for (size_t i = 0; i < sizeof all_secrets / sizeof *all_secrets; i++)
		assert_null(strstr(printed, all_secrets[i]));
	assert_null(strstr(printed, "\"password\""));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(charger(doc, 0),
	    "password_set")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(charger(doc, 1),
	    "password_set")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(charger(doc, 2),
	    "password_set")));
	mqtt = cJSON_GetObjectItem(doc, "mqtt");
	up = cJSON_GetObjectItem(doc, "upstream");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(mqtt, "password_set")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(up, "password_set")));
	/* File paths of keys are not secrets; other values stay. */
	assert_string_equal(cJSON_GetObjectItem(up, "key")->valuestring,
	    "/etc/sitegate/up.key");
	assert_non_null(strstr(printed, "/etc/sitegate/server.key"));
	assert_non_null(strstr(printed, "/etc/k.pem"));
	assert_string_equal(cJSON_GetObjectItem(mqtt, "username")->valuestring,
	    "gw");
	/* The secret's place is kept: password_set follows "id". */
	assert_string_equal(charger(doc, 0)->child->next->string,
	    "password_set");
	free(printed);
	cJSON_Delete(doc);

	/* Sections without a password say so. */
	doc = confedit_public("{\"mqtt\": {\"host\": \"h\"}}", 23, &cause);
	assert_non_null(doc);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(doc,
	    "mqtt"), "password_set")));
	cJSON_Delete(doc);

	/* Not an object, not JSON, a comment left open. */
	assert_null(confedit_public("[1, 2]", 6, &cause));
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	assert_null(confedit_public("{\"a\": ", 6, &cause));
	assert_non_null(strstr(cause, "line 1"));
	free(cause);
	cause = NULL;
	assert_null(confedit_public("{} /* open", 10, &cause));
	assert_non_null(strstr(cause, "never closed"));
	free(cause);
}

static void
test_apply_secrets_by_id(void **state)
{
	cJSON *doc = public_base(), *errors = NULL, *arr, *moved;
	struct config *cfg = NULL;
	const struct config_charger *ch;
	char *text, *pw;

	(void)state;
	/* Move CP-03 to the front: its password follows its id. */
	arr = cJSON_GetObjectItem(doc, "chargers");
	moved = cJSON_DetachItemFromArray(arr, 2);
	cJSON_InsertItemInArray(arr, 0, moved);
	text = confedit_apply(base_json, strlen(base_json), doc, &errors, &cfg);
	if (text == NULL)
		print_errors(errors);
	assert_non_null(text);
	assert_null(errors);
	assert_non_null(cfg);
	assert_string_equal(cfg->chargers[0].id, "CP-03");
	assert_null(strstr(text, "_set"));
	assert_null(strstr(text, "comment"));	/* comments are not kept */
	assert_null(strstr(text, "not secrets"));
	assert_int_equal(text[strlen(text) - 1], '\n');
	pw = password_of(text, "CP-03");
	assert_string_equal(pw, PW3);
	free(pw);
	pw = password_of(text, "CP-01");
	assert_string_equal(pw, PW1);
	free(pw);
	assert_null(password_of(text, "CP-02"));
	assert_non_null(strstr(text, "\"" PW_MQTT "\""));
	assert_non_null(strstr(text, "\"" PW_UP "\""));
	/* The secrets reach the parsed config, each at its charger. */
	ch = config_charger_find(cfg, "CP-03");
	assert_true(pwhash_check(&ch->password, PW3, strlen(PW3)));
	assert_false(pwhash_check(&ch->password, PW1, strlen(PW1)));
	assert_false(config_charger_find(cfg, "CP-02")->password.set);
	assert_string_equal(cfg->upstream->password, PW_UP);
	assert_string_equal(cfg->mqtt->password, PW_MQTT);
	config_free(cfg);
	free(text);

	/* A new one set (CP-02), one removed (CP-01, and the upstream's). */
	cJSON_AddStringToObject(cJSON_GetArrayItem(arr, 2), "password",
	    "brand-new-password-1");
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(arr, 1), "password_set",
	    cJSON_CreateFalse());
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(doc, "upstream"),
	    "password_set");
	text = confedit_apply(base_json, strlen(base_json), doc, &errors, NULL);
	assert_non_null(text);
	pw = password_of(text, "CP-02");
	assert_string_equal(pw, "brand-new-password-1");
	free(pw);
	assert_null(password_of(text, "CP-01"));
	assert_null(strstr(text, PW1));
	assert_null(strstr(text, PW_UP));
	pw = password_of(text, "CP-03");
	assert_string_equal(pw, PW3);
	free(pw);
	free(text);
	cJSON_Delete(doc);
}

static void
test_apply_set_without_current(void **state)
{
	cJSON *doc = public_base(), *errors = NULL;
	struct config *cfg = (struct config *)1;
	char *text;

	(void)state;
	cJSON_ReplaceItemInObject(charger(doc, 1), "password_set",
	    cJSON_CreateTrue());
	/* A charger the current file does not have at all, likewise. */
	cJSON_ReplaceItemInObject(charger(doc, 2), "id",
	    cJSON_CreateString("CP-99"));
	text = confedit_apply(base_json, strlen(base_json), doc, &errors, &cfg);
	assert_null(text);
	assert_null(cfg);
	assert_non_null(errors);
	assert_true(has_error(errors, "chargers[1].password_set",
	    "a password (this charger has none yet)", "true"));
	assert_true(has_error(errors, "chargers[2].password_set",
	    "a password (this charger has none yet)", "true"));
	assert_int_equal(cJSON_GetArraySize(errors), 2);
	cJSON_Delete(errors);

	/* And for a section; a _set that is not a boolean. */
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(doc, "mqtt"),
	    "password_set");
	cJSON_AddStringToObject(cJSON_GetObjectItem(doc, "mqtt"),
	    "password_set", "yes");
	text = confedit_apply("{}", 2, doc, &errors, NULL);
	assert_null(text);
	assert_true(has_error(errors, "upstream.password_set",
	    "a password (upstream has none yet)", "true"));
	assert_true(has_error(errors, "mqtt.password_set", "true or false",
	    "\"yes\""));
	assert_true(has_error(errors, "chargers[0].password_set",
	    "a password (this charger has none yet)", "true"));
	cJSON_Delete(errors);
	cJSON_Delete(doc);
}

static void
test_apply_invalid(void **state)
{
	cJSON *doc = public_base(), *errors = NULL;
	char *text;

	(void)state;
	cJSON_ReplaceItemInObject(charger(doc, 1), "max_current_a",
	    cJSON_CreateNumber(900));
	cJSON_ReplaceItemInObject(charger(doc, 2), "max_current_a",
	    cJSON_CreateString("32A"));
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(doc, "upstream"), "url");
	cJSON_AddNumberToObject(cJSON_GetObjectItem(doc, "site"), "fuse", 1);
	text = confedit_apply(base_json, strlen(base_json), doc, &errors, NULL);
	assert_null(text);
	if (cJSON_GetArraySize(errors) != 4)
		print_errors(errors);
	assert_true(has_error(errors, "chargers[1].max_current_a",
	    "a number from 6 to 80", "900"));
	assert_true(has_error(errors, "chargers[2].max_current_a",
	    "a number from 6 to 80", "\"32A\""));
	assert_true(has_error(errors, "upstream.url",
	    "a value (the key is required)", "nothing"));
	assert_true(has_error(errors, "site.fuse",
	    "one of the keys this object takes", "an unknown key"));
	assert_int_equal(cJSON_GetArraySize(errors), 4);
	cJSON_Delete(errors);
	cJSON_Delete(doc);

	/* Not an object at all. */
	doc = cJSON_CreateArray();
	assert_null(confedit_apply(base_json, strlen(base_json), doc, &errors,
	    NULL));
	assert_true(has_error(errors, "", "a JSON object", "an array"));
	cJSON_Delete(errors);
	cJSON_Delete(doc);
}

/* config.c's line forms, one row each. */
static const struct {
	const char *line;
	const char *path, *expected, *got;
} error_rows[] = {
	{ "chargers[1].max_current_a: expected a number from 6 to 80, got \"32A\"",
	  "chargers[1].max_current_a", "a number from 6 to 80", "\"32A\"" },
	{ "chargers[0].phase_rotation: expected one of \"L1\", \"L2\", \"L3\" for "
	  "a 1-phase charger, got \"x, got y\"", "chargers[0].phase_rotation",
	  "one of \"L1\", \"L2\", \"L3\" for a 1-phase charger", "\"x, got y\"" },
	{ "site.circuits[0].id: required key is missing", "site.circuits[0].id",
	  "a value (the key is required)", "nothing" },
	{ "mqtt.username: required when mqtt.password is set", "mqtt.username",
	  "a value (required when mqtt.password is set)", "nothing" },
	{ "ocpp.lsiten: unknown key", "ocpp.lsiten",
	  "one of the keys this object takes", "an unknown key" },
	{ "site.a: b: unknown key", "site.a: b",
	  "one of the keys this object takes", "an unknown key" },
	{ "ocpp.heartbeat_interval_s: key appears more than once",
	  "ocpp.heartbeat_interval_s", "the key once", "the key more than once" },
	{ "ocpp.versions: expected at least one version", "ocpp.versions",
	  "at least one version", "" },
	{ "control.retry_max_s: expected at least control.retry_min_s (10), got 5",
	  "control.retry_max_s", "at least control.retry_min_s (10)", "5" },
	{ "chargers[0].id: expected printable ASCII without spaces or ':', got a "
	  "character 0x20", "chargers[0].id",
	  "printable ASCII without spaces or ':'", "a character 0x20" },
	{ "(top level): not valid JSON: unexpected text at line 3, column 1", "",
	  "not valid JSON: unexpected text at line 3, column 1", "" },
	{ "(top level): expected a JSON object, got an array", "",
	  "a JSON object", "an array" },
	{ "site.circuits[1].parent: no circuit has the id \"x\"",
	  "site.circuits[1].parent", "no circuit has the id \"x\"", "" },
	{ "chargers[1]: duplicate charger id \"CP-01\" (also chargers[0])",
	  "chargers[1]", "duplicate charger id \"CP-01\" (also chargers[0])", "" },
	{ "no separator at all", "", "no separator at all", "" },
};

static void
test_errors_table(void **state)
{
	char all[4096] = "";
	cJSON *errors;

	(void)state;
	for (size_t i = 0; i < sizeof error_rows / sizeof *error_rows; i++) {
		cJSON *one = confedit_errors(error_rows[i].line);

		if (!has_error(one, error_rows[i].path, error_rows[i].expected,
		    error_rows[i].got)) {
			print_errors(one);
			fail_msg("row %zu: %s", i, error_rows[i].line);
		}
		cJSON_Delete(one);
		strcat(all, error_rows[i].line);
		strcat(all, "\n");
	}
	/* Several lines give one error each, in order. */
	errors = confedit_errors(all);
	assert_int_equal(cJSON_GetArraySize(errors),
	    sizeof error_rows / sizeof *error_rows);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errors, 2),
	    "path")->valuestring, "site.circuits[0].id");
	cJSON_Delete(errors);
	errors = confedit_errors(NULL);
	assert_int_equal(cJSON_GetArraySize(errors), 0);
	cJSON_Delete(errors);
}

static char *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
assert_same_config(const struct config *a, const struct config *b)
{
	assert_string_equal(a->site_id, b->site_id);
	assert_string_equal(a->state_file, b->state_file);
	assert_int_equal(a->log_level, b->log_level);
	assert_int_equal(a->meter_retention_days, b->meter_retention_days);
	assert_string_equal(a->ocpp.listen.host, b->ocpp.listen.host);
	assert_int_equal(a->ocpp.listen.port, b->ocpp.listen.port);
	assert_memory_equal(a->ocpp.versions, b->ocpp.versions,
	    sizeof a->ocpp.versions);
	assert_int_equal(a->ocpp.tls == NULL, b->ocpp.tls == NULL);
	assert_int_equal(a->ocpp.allow_unknown_chargers,
	    b->ocpp.allow_unknown_chargers);
	assert_int_equal(a->ocpp.heartbeat_interval_s, b->ocpp.heartbeat_interval_s);
	assert_int_equal(a->ocpp.call_timeout_s, b->ocpp.call_timeout_s);
	assert_int_equal(a->ocpp.ping_interval_s, b->ocpp.ping_interval_s);
	assert_int_equal(a->ocpp.max_message_bytes, b->ocpp.max_message_bytes);
	assert_int_equal(a->ocpp.max_connections, b->ocpp.max_connections);
	assert_int_equal(a->ocpp.idle_timeout_s, b->ocpp.idle_timeout_s);
	assert_int_equal(a->ocpp.meter_interval_s, b->ocpp.meter_interval_s);
	assert_int_equal(a->ocpp.max_evses, b->ocpp.max_evses);
	assert_int_equal(a->ocpp.max_connectors_per_evse,
	    b->ocpp.max_connectors_per_evse);
	assert_int_equal(a->nchargers, b->nchargers);
	for (size_t i = 0; i < a->nchargers; i++) {
		const struct config_charger *x = &a->chargers[i], *y = &b->chargers[i];

		assert_string_equal(x->id, y->id);
		assert_int_equal(x->password.set, y->password.set);
		assert_true(x->max_current_a == y->max_current_a);
		assert_int_equal(x->phases, y->phases);
		assert_memory_equal(x->grid_phase, y->grid_phase,
		    sizeof x->grid_phase);
		assert_string_equal(x->circuit ? x->circuit : "",
		    y->circuit ? y->circuit : "");
		assert_int_equal(x->circuit_index, y->circuit_index);
		assert_int_equal(x->priority, y->priority);
		assert_int_equal(x->first_evse, y->first_evse);
		assert_int_equal(x->evses, y->evses);
		assert_int_equal(x->connectors_per_evse, y->connectors_per_evse);
		assert_int_equal(x->purpose, y->purpose);
		assert_int_equal(x->unit, y->unit);
		assert_int_equal(x->max_stack_level, y->max_stack_level);
		assert_int_equal(x->number_phases, y->number_phases);
	}
	assert_true(a->site.voltage_v == b->site.voltage_v);
	assert_true(a->site.min_current_a == b->site.min_current_a);
	assert_true(a->site.failsafe_current_a == b->site.failsafe_current_a);
	assert_int_equal(a->site.ncircuits, b->site.ncircuits);
	assert_int_equal(a->site.root_index, b->site.root_index);
	for (size_t i = 0; i < a->site.ncircuits; i++) {
		const struct config_circuit *x = &a->site.circuits[i];
		const struct config_circuit *y = &b->site.circuits[i];

		assert_string_equal(x->id, y->id);
		assert_int_equal(x->parent_index, y->parent_index);
		assert_memory_equal(x->max_current_a, y->max_current_a,
		    sizeof x->max_current_a);
	}
	assert_int_equal(a->auth.mode, b->auth.mode);
	assert_int_equal(a->auth.nlocal, b->auth.nlocal);
	for (size_t i = 0; i < a->auth.nlocal; i++) {
		assert_string_equal(a->auth.local_list[i].id_token,
		    b->auth.local_list[i].id_token);
		assert_int_equal(a->auth.local_list[i].status,
		    b->auth.local_list[i].status);
	}
	assert_int_equal(a->control.coalesce_ms, b->control.coalesce_ms);
	assert_true(a->control.hysteresis_a == b->control.hysteresis_a);
	assert_int_equal(a->control.profile_validity_s,
	    b->control.profile_validity_s);
	assert_int_equal(a->control.retry_min_s, b->control.retry_min_s);
	assert_int_equal(a->control.retry_max_s, b->control.retry_max_s);
	assert_int_equal(a->mqtt == NULL, b->mqtt == NULL);
	assert_int_equal(a->upstream == NULL, b->upstream == NULL);
	assert_int_equal(a->web == NULL, b->web == NULL);
	if (a->web) {
		assert_string_equal(a->web->listen.host, b->web->listen.host);
		assert_int_equal(a->web->listen.port, b->web->listen.port);
		assert_string_equal(a->web->root, b->web->root);
	}
}

static void
test_round_trip_shipped(void **state)
{
	size_t len;
	char *file = read_all("conf/sitegate.json", &len), *text, *again;
	struct config *orig, *cfg = NULL;
	cJSON *doc, *errors = NULL;
	char *cause = NULL;

	(void)state;
	assert_non_null(file);	/* run from the checkout's top */
	orig = config_parse(file, len, NULL, NULL);
	assert_non_null(orig);
	doc = confedit_public(file, len, &cause);
	assert_non_null(doc);
	text = confedit_apply(file, len, doc, &errors, &cfg);
	if (text == NULL)
		print_errors(errors);
	assert_non_null(text);
	assert_same_config(orig, cfg);
	/* The shipped chargers' password survives hidden and restored. */
	assert_true(pwhash_check(&cfg->chargers[0].password,
	    "change-me-0123456789", 20));
	assert_null(config_restart_needed(orig, cfg));
	/* Integers stay integers. */
	assert_non_null(strstr(text, "\"max_current_a\":\t32,"));
	assert_null(strstr(text, "32.0"));
	config_free(cfg);
	cfg = NULL;
	cJSON_Delete(doc);

	/* The written text is a fixed point. */
	doc = confedit_public(text, strlen(text), NULL);
	again = confedit_apply(text, strlen(text), doc, &errors, NULL);
	assert_non_null(again);
	assert_string_equal(again, text);
	free(again);

	/* A double that needs 17 digits comes back the same double. */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(doc, "control"),
	    "hysteresis_a", cJSON_CreateNumber(0.1 + 0.2));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(doc, "site"),
	    "failsafe_current_a", cJSON_CreateNumber(1234.5));
	again = confedit_apply(text, strlen(text), doc, &errors, &cfg);
	assert_non_null(again);
	assert_true(cfg->control.hysteresis_a == 0.1 + 0.2);
	assert_true(cfg->site.failsafe_current_a == 1234.5);
	config_free(cfg);
	free(again);
	cJSON_Delete(doc);
	config_free(orig);
	free(text);
	free(file);
}

struct tmp {
	char dir[64];
	char path[128], prev[160], tmpf[160];
};

static void
tmp_new(struct tmp *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/test_confedit.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/sitegate.json", t->dir);
	snprintf(t->prev, sizeof t->prev, "%s.prev", t->path);
	snprintf(t->tmpf, sizeof t->tmpf, "%s.tmp", t->path);
}

static void
tmp_free(struct tmp *t)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "chmod -R u+rwx %s; rm -rf %s", t->dir, t->dir);
	assert_int_equal(system(cmd), 0);
}

static void
put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
assert_file(const char *path, const char *text)
{
	size_t len;
	char *got = read_all(path, &len);

	assert_non_null(got);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(got, text, len);
	free(got);
}

static void
test_write(void **state)
{
	struct tmp t;
	struct stat st;
	char *cause = (char *)1;

	(void)state;
	tmp_new(&t);
	put_file(t.path, "{\"old\": 1}\n", 0604);
	assert_int_equal(confedit_write(t.path, "{\"new\": 2}\n", 11, &cause), 0);
	assert_null(cause);
	assert_file(t.path, "{\"new\": 2}\n");
	assert_file(t.prev, "{\"old\": 1}\n");
	assert_int_equal(stat(t.path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	assert_int_equal(access(t.tmpf, F_OK), -1);

	/* A stale tmp from a crash is replaced; .prev moves on. */
	put_file(t.tmpf, "half a fi", 0600);
	assert_int_equal(confedit_write(t.path, "{\"third\": 3}\n", 13, &cause), 0);
	assert_file(t.path, "{\"third\": 3}\n");
	assert_file(t.prev, "{\"new\": 2}\n");
	assert_int_equal(access(t.tmpf, F_OK), -1);
	tmp_free(&t);

	/* No file yet: 0640 whatever the umask, no .prev. */
	tmp_new(&t);
	{
		mode_t old = umask(077);

		assert_int_equal(confedit_write(t.path, "{}\n", 3, &cause), 0);
		umask(old);
	}
	assert_file(t.path, "{}\n");
	assert_int_equal(stat(t.path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(access(t.prev, F_OK), -1);
	tmp_free(&t);

	/* A link is followed: its target is replaced, the link stays. */
	tmp_new(&t);
	{
		char real[160];

		snprintf(real, sizeof real, "%s/real.json", t.dir);
		put_file(real, "{\"old\": 1}\n", 0600);
		assert_int_equal(symlink(real, t.path), 0);
		assert_int_equal(confedit_write(t.path, "{}\n", 3, &cause), 0);
		assert_int_equal(lstat(t.path, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
		assert_file(real, "{}\n");
		strcat(real, ".prev");
		assert_file(real, "{\"old\": 1}\n");
	}
	tmp_free(&t);
}

static void
test_write_failures(void **state)
{
	struct tmp t;
	char *cause = NULL, p[200];

	(void)state;
	tmp_new(&t);
	put_file(t.path, "{\"old\": 1}\n", 0600);

	/* A folder that does not exist. */
	snprintf(p, sizeof p, "%s/no/such/folder/sitegate.json", t.dir);
	assert_int_equal(confedit_write(p, "{}\n", 3, &cause), CONFEDIT_ERR_IO);
	assert_non_null(cause);
	assert_non_null(strstr(cause, p));
	assert_non_null(strstr(cause, strerror(ENOENT)));
	free(cause);

	/* A path that is a folder. */
	assert_int_equal(confedit_write(t.dir, "{}\n", 3, &cause),
	    CONFEDIT_ERR_IO);
	assert_non_null(strstr(cause, "not a regular file"));
	free(cause);

	/* The tmp cannot be made (a folder with something in it is in its
	 * place; true for root too): the old file is untouched. */
	assert_int_equal(mkdir(t.tmpf, 0700), 0);
	snprintf(p, sizeof p, "%s/x", t.tmpf);
	put_file(p, "x", 0600);
	assert_int_equal(confedit_write(t.path, "{}\n", 3, &cause),
	    CONFEDIT_ERR_IO);
	assert_non_null(strstr(cause, t.tmpf));
	free(cause);
	assert_file(t.path, "{\"old\": 1}\n");
	assert_int_equal(access(t.prev, F_OK), -1);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(rmdir(t.tmpf), 0);

	/* A folder we may not write (permission checks do not bind root). */
	if (geteuid() != 0) {
		assert_int_equal(chmod(t.dir, 0500), 0);
		assert_int_equal(confedit_write(t.path, "{}\n", 3, &cause),
		    CONFEDIT_ERR_IO);
		assert_non_null(strstr(cause, strerror(EACCES)));
		free(cause);
		assert_int_equal(chmod(t.dir, 0700), 0);
		assert_file(t.path, "{\"old\": 1}\n");
		assert_int_equal(access(t.tmpf, F_OK), -1);
	}
	tmp_free(&t);
}

static void
test_add_charger(void **state)
{
	cJSON *doc = public_base(), *errors = NULL, *added;
	char gen[CONFEDIT_PASSWORD_LEN + 1], gen2[CONFEDIT_PASSWORD_LEN + 1];
	char *cause = NULL, *text;
	struct config *cfg = NULL;
	const struct config_charger *ch;

	(void)state;
	assert_int_equal(confedit_add_charger(doc, "CP-NEW", "row-a", 32, 3,
	    "L2L3L1", NULL, gen, &cause), 0);
	assert_null(cause);
	assert_int_equal(strlen(gen), 24);
	assert_int_equal(strspn(gen, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789"), 24);
	added = charger(doc, 3);
	assert_string_equal(cJSON_GetObjectItem(added, "id")->valuestring,
	    "CP-NEW");
	assert_string_equal(cJSON_GetObjectItem(added, "password")->valuestring,
	    gen);
	text = confedit_apply(base_json, strlen(base_json), doc, &errors, &cfg);
	if (text == NULL)
		print_errors(errors);
	assert_non_null(text);
	ch = config_charger_find(cfg, "CP-NEW");
	assert_non_null(ch);
	assert_true(pwhash_check(&ch->password, gen, 24));
	assert_int_equal(ch->grid_phase[0], 1);
	assert_string_equal(ch->circuit, "row-a");
	config_free(cfg);
	free(text);

	/* A duplicate id is refused and changes nothing. */
	assert_int_equal(confedit_add_charger(doc, "CP-01", NULL, 16, 1, NULL,
	    NULL, gen2, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "CP-01"));
	free(cause);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc,
	    "chargers")), 4);

	/* A given password is used; a second draw differs from the first. */
	assert_int_equal(confedit_add_charger(doc, "CP-GIVEN", NULL, 16, 1, NULL,
	    "given-password-0001", gen2, &cause), 0);
	assert_string_equal(gen2, "");
	added = charger(doc, 4);
	assert_string_equal(cJSON_GetObjectItem(added, "password")->valuestring,
	    "given-password-0001");
	assert_null(cJSON_GetObjectItem(added, "phase_rotation"));
	assert_null(cJSON_GetObjectItem(added, "circuit"));
	assert_int_equal(confedit_add_charger(doc, "CP-3RD", NULL, 16, 1, NULL,
	    NULL, gen2, &cause), 0);
	assert_string_not_equal(gen, gen2);
	cJSON_Delete(doc);

	/* No chargers yet: the array is made. */
	doc = cJSON_CreateObject();
	assert_int_equal(confedit_add_charger(doc, "A", NULL, 16, 1, NULL, NULL,
	    gen, NULL), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc,
	    "chargers")), 1);
	cJSON_Delete(doc);
}

static void
test_restart_keys(void **state)
{
	cJSON *keys = confedit_restart_keys(), *k;
	bool listen = false, state_file = false;

	(void)state;
	cJSON_ArrayForEach(k, keys) {
		listen |= strcmp(k->valuestring, "ocpp.listen") == 0;
		state_file |= strcmp(k->valuestring, "state_file") == 0;
	}
	assert_true(listen);
	assert_true(state_file);
	assert_string_equal(cJSON_GetArrayItem(keys, 0)->valuestring,
	    config_restart_key(0));
	cJSON_Delete(keys);
}

/* config_restart_needed() reports from the same table, in its order. */
static void
test_restart_needed_from_table(void **state)
{
	static const char a[] = "{\"site_id\": \"s\", \"state_file\": \"a.db\", "
	    "\"ocpp\": {\"listen\": \"127.0.0.1:1\"}, \"site\": {\"circuits\": "
	    "[{\"id\": \"m\", \"max_current_a\": 10}]}}";
	static const char b[] = "{\"site_id\": \"s\", \"state_file\": \"b.db\", "
	    "\"ocpp\": {\"listen\": \"127.0.0.1:2\"}, \"site\": {\"circuits\": "
	    "[{\"id\": \"m\", \"max_current_a\": 20}]}}";
	struct config *ca = config_parse(a, sizeof a - 1, NULL, NULL);
	struct config *cb = config_parse(b, sizeof b - 1, NULL, NULL);
	char *diff;

	(void)state;
	assert_non_null(ca);
	assert_non_null(cb);
	diff = config_restart_needed(ca, cb);
	assert_string_equal(diff,
	    "state_file: changed; takes effect after a restart\n"
	    "ocpp.listen: changed; takes effect after a restart\n");
	free(diff);
	assert_null(config_restart_needed(ca, ca));
	config_free(ca);
	config_free(cb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_public_hides_secrets),
		cmocka_unit_test(test_apply_secrets_by_id),
		cmocka_unit_test(test_apply_set_without_current),
		cmocka_unit_test(test_apply_invalid),
		cmocka_unit_test(test_errors_table),
		cmocka_unit_test(test_round_trip_shipped),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_write_failures),
		cmocka_unit_test(test_add_charger),
		cmocka_unit_test(test_restart_keys),
		cmocka_unit_test(test_restart_needed_from_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
