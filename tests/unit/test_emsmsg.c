/*
 * Unit tests for control/emsmsg, without sockets: the limit and evse-set
 * parsers (one table of cases each: every rule, valid forms, power→current
 * by hand), the evse topic parser, the excerpt escaping, the names of
 * sources and reasons.
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

#include "control/emsmsg.h"

#define V 230.0

/* ------------------------------------------------------- the limit parser */

struct limit_case {
	const char *payload;
	double voltage_v;
	int rc;
	const char *why;		/* a substring of the reason, when refused */
	double a[3];			/* when valid */
	double ttl_s;
	bool from_power;
	double power_w;
};

/* A refused payload (at voltage v) and a substring of the reason. */
#define LBAD(p, v, w) { (p), (v), EMS_ERR_INVALID, (w), { 0, 0, 0 }, 0, false, 0 }

static const struct limit_case limit_cases[] = {
	/* Valid forms. */
	{ "{\"max_current_a\":32}", V, EMS_OK, NULL, { 32, 32, 32 }, 0, false, 0 },
	{ "{\"max_current_a\":[32,25.5,0]}", V, EMS_OK, NULL, { 32, 25.5, 0 },
	  0, false, 0 },
	{ "{\"max_current_a\":0}", V, EMS_OK, NULL, { 0, 0, 0 }, 0, false, 0 },
	{ "{\"max_current_a\":10000}", V, EMS_OK, NULL, { 10000, 10000, 10000 },
	  0, false, 0 },
	{ " \n{ \"max_current_a\" : 16 }\t\n", V, EMS_OK, NULL, { 16, 16, 16 },
	  0, false, 0 },
	{ "{\"ttl_s\":5,\"max_current_a\":[1,2,3]}", V, EMS_OK, NULL, { 1, 2, 3 },
	  5, false, 0 },
	{ "{\"max_current_a\":20,\"ttl_s\":1}", V, EMS_OK, NULL, { 20, 20, 20 },
	  1, false, 0 },
	{ "{\"max_current_a\":20,\"ttl_s\":86400}", V, EMS_OK, NULL,
	  { 20, 20, 20 }, 86400, false, 0 },
	{ "{\"max_current_a\":20,\"ttl_s\":1.5}", V, EMS_OK, NULL, { 20, 20, 20 },
	  1.5, false, 0 },
	/* Power: 22080 W / (3 x 230 V) = 22080 / 690 = 32 A exactly. */
	{ "{\"max_power_w\":22080}", V, EMS_OK, NULL, { 32, 32, 32 }, 0, true,
	  22080 },
	/* 11000 / 690 = 15.94202898550... A. */
	{ "{\"max_power_w\":11000,\"ttl_s\":60}", V, EMS_OK, NULL,
	  { 15.9420289855, 15.9420289855, 15.9420289855 }, 60, true, 11000 },
	/* 7200 W at 240 V: 7200 / 720 = 10 A. */
	{ "{\"max_power_w\":7200}", 240, EMS_OK, NULL, { 10, 10, 10 }, 0, true,
	  7200 },
	{ "{\"max_power_w\":0}", V, EMS_OK, NULL, { 0, 0, 0 }, 0, true, 0 },
	/* 10 MW / 690 = 14492.7536... A: the power range governs, not the
	 * current range. */
	{ "{\"max_power_w\":10000000}", V, EMS_OK, NULL,
	  { 14492.7536232, 14492.7536232, 14492.7536232 }, 0, true, 1e7 },

	/* Not JSON. */
	LBAD("", V, "not JSON"),
	LBAD("hello", V, "not JSON"),
	LBAD("{\"max_current_a\":32", V, "not JSON"),
	LBAD("{\"max_current_a\":32} x", V, "not JSON"),
	LBAD("{\"max_current_a\":NaN}", V, "not JSON"),
	LBAD("{'max_current_a':32}", V, "not JSON"),
	/* Not an object. */
	LBAD("[32,32,32]", V, "not a JSON object, got an array"),
	LBAD("32", V, "not a JSON object, got a number"),
	LBAD("null", V, "not a JSON object, got null"),
	LBAD("\"32\"", V, "not a JSON object, got a string"),
	/* Keys. */
	LBAD("{}", V, "neither max_current_a nor max_power_w"),
	LBAD("{\"ttl_s\":10}", V, "neither"),
	LBAD("{\"max_current_a\":32,\"max_power_w\":1000}", V,
	    "both max_current_a and max_power_w"),
	LBAD("{\"max_current_a\":32,\"foo\":1}", V, "unknown key \"foo\""),
	LBAD("{\"Max_Current_A\":32}", V, "unknown key \"Max_Current_A\""),
	LBAD("{\"max_current_a\":32,\"max_current_a\":16}", V,
	    "duplicate key \"max_current_a\""),
	LBAD("{\"\xff\x01\":1}", V, "unknown key \"\\xff\\x01\""),
	/* Types. */
	LBAD("{\"max_current_a\":\"32\"}", V,
	    "max_current_a: expected a number or an array of 3 numbers, got a "
	  "string"),
	LBAD("{\"max_current_a\":true}", V, "got a boolean"),
	LBAD("{\"max_current_a\":null}", V, "got null"),
	LBAD("{\"max_current_a\":{\"l1\":3}}", V, "got an object"),
	LBAD("{\"max_current_a\":[32,\"a\",32]}", V,
	    "max_current_a[1]: expected a number, got a string"),
	LBAD("{\"max_current_a\":[32,32,null]}", V,
	    "max_current_a[2]: expected a number, got null"),
	LBAD("{\"max_current_a\":[[32],32,32]}", V,
	    "max_current_a[0]: expected a number, got an array"),
	LBAD("{\"max_power_w\":\"22000\"}", V,
	    "max_power_w: expected a number, got a string"),
	LBAD("{\"max_power_w\":[1,2,3]}", V,
	    "max_power_w: expected a number, got an array"),
	LBAD("{\"max_current_a\":32,\"ttl_s\":\"60\"}", V,
	    "ttl_s: expected a number, got a string"),
	LBAD("{\"max_current_a\":32,\"ttl_s\":null}", V,
	    "ttl_s: expected a number, got null"),
	/* Array lengths. */
	LBAD("{\"max_current_a\":[32,32]}", V,
	    "max_current_a: expected 3 values [L1, L2, L3], got 2"),
	LBAD("{\"max_current_a\":[32,32,32,32]}", V,
	    "expected 3 values [L1, L2, L3], got 4"),
	LBAD("{\"max_current_a\":[]}", V,
	    "expected 3 values [L1, L2, L3], got 0"),
	/* Ranges, NaN and huge values. */
	LBAD("{\"max_current_a\":-1}", V,
	    "max_current_a: -1 is out of range 0..10000 A"),
	LBAD("{\"max_current_a\":[32,-0.1,32]}", V,
	    "max_current_a[1]: -0.1 is out of range"),
	LBAD("{\"max_current_a\":10000.5}", V, "out of range"),
	LBAD("{\"max_current_a\":1e999}", V,
	    "max_current_a: inf is out of range"),
	LBAD("{\"max_current_a\":-1e999}", V, "out of range"),
	LBAD("{\"max_power_w\":-5}", V,
	    "max_power_w: -5 is out of range 0..1e+07 W"),
	LBAD("{\"max_power_w\":10000001}", V, "out of range"),
	LBAD("{\"max_current_a\":32,\"ttl_s\":0}", V,
	    "ttl_s: 0 is out of range 1..86400 s"),
	LBAD("{\"max_current_a\":32,\"ttl_s\":-5}", V,
	    "ttl_s: -5 is out of range"),
	LBAD("{\"max_current_a\":32,\"ttl_s\":86401}", V,
	    "ttl_s: 86401 is out of range"),
	LBAD("{\"max_current_a\":32,\"ttl_s\":0.5}", V,
	    "ttl_s: 0.5 is out of range"),
	/* No voltage to convert power with (the config never allows it). */
	LBAD("{\"max_power_w\":1000}", 0, "no site voltage"),
};

static void
assert_printable(const char *s)
{
	for (; *s; s++)
		assert_true(*s >= 0x20 && *s < 0x7f);
}

static void
test_limit_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof limit_cases / sizeof limit_cases[0]; i++) {
		const struct limit_case *c = &limit_cases[i];
		struct ems_limit l;
		char why[EMS_WHY_LEN];
		int rc;

		memset(&l, 0x55, sizeof l);
		rc = emsmsg_limit_parse(c->payload, strlen(c->payload), c->voltage_v,
		    &l, why, sizeof why);
		if (rc != c->rc)
			fail_msg("case %zu %s: rc %d, want %d (%s)", i, c->payload,
			    rc, c->rc, why);
		if (rc != EMS_OK) {
			if (strstr(why, c->why) == NULL)
				fail_msg("case %zu %s: why \"%s\" lacks \"%s\"", i,
				    c->payload, why, c->why);
			assert_printable(why);
			/* Known state on failure: zeroed. */
			assert_true(l.current_a[0] == 0 && l.ttl_s == 0 &&
			    !l.from_power && l.source == EMS_SOURCE_FAILSAFE);
			continue;
		}
		for (int k = 0; k < 3; k++)
			if (fabs(l.current_a[k] - c->a[k]) > 1e-6)
				fail_msg("case %zu %s: L%d = %.10g, want %.10g", i,
				    c->payload, k + 1, l.current_a[k], c->a[k]);
		assert_true(l.ttl_s == c->ttl_s);
		assert_int_equal(l.from_power, c->from_power);
		assert_true(l.power_w == c->power_w);
		assert_int_equal(l.source, EMS_SOURCE_EMS);
		assert_int_equal(l.reason, EMS_REASON_LIMIT);
		assert_int_equal(l.expires_ms, 0);
		assert_string_equal(why, "");
	}
}

/* Payloads with NUL bytes, not NUL-terminated ones, and the size limit. */
static void
test_limit_bytes(void **state)
{
	static const char nul[] = "{\"max_current_a\":32}\0{}";
	struct ems_limit l;
	char why[EMS_WHY_LEN], *big;

	(void)state;
	assert_int_equal(emsmsg_limit_parse(nul, sizeof nul - 1, V, &l, why,
	    sizeof why), EMS_ERR_INVALID);
	assert_non_null(strstr(why, "NUL byte"));
	/* len, not the terminator, bounds the payload. */
	assert_int_equal(emsmsg_limit_parse("{\"max_current_a\":32}xyz", 20, V, &l,
	    why, sizeof why), EMS_OK);
	assert_true(l.current_a[2] == 32);

	/* Exactly 4096 bytes pass, 4097 do not. */
	big = malloc(EMS_PAYLOAD_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', EMS_PAYLOAD_MAX + 1);
	memcpy(big, "{\"max_current_a\":7", 18);
	big[EMS_PAYLOAD_MAX - 1] = '}';
	assert_int_equal(emsmsg_limit_parse(big, EMS_PAYLOAD_MAX, V, &l, why,
	    sizeof why), EMS_OK);
	assert_true(l.current_a[0] == 7);
	assert_int_equal(emsmsg_limit_parse(big, EMS_PAYLOAD_MAX + 1, V, &l, why,
	    sizeof why), EMS_ERR_INVALID);
	assert_string_equal(why, "payload of 4097 bytes is larger than 4096");

	/* Deep nesting is refused, not a stack overflow. */
	memset(big, '[', EMS_PAYLOAD_MAX);
	assert_int_equal(emsmsg_limit_parse(big, EMS_PAYLOAD_MAX, V, &l, why,
	    sizeof why), EMS_ERR_INVALID);
	free(big);

	/* A small why buffer is still terminated. */
	assert_int_equal(emsmsg_limit_parse("{}", 2, V, &l, why, 8),
	    EMS_ERR_INVALID);
	assert_int_equal(strlen(why), 7);
}

/* ---------------------------------------------------- the evse set parser */

struct set_case {
	const char *payload;
	int rc;
	const char *why;
	enum ems_cap cap;
	double cap_a;
	bool has_priority;
	int priority;
};

/* A refused payload and a substring of the reason. */
#define BAD(p, w) { (p), EMS_ERR_INVALID, (w), EMS_CAP_KEEP, 0, false, 0 }

static const struct set_case set_cases[] = {
	{ "{\"max_current_a\":16}", EMS_OK, NULL, EMS_CAP_SET, 16, false, 0 },
	{ "{\"max_current_a\":null}", EMS_OK, NULL, EMS_CAP_CLEAR, 0, false, 0 },
	{ "{\"priority\":5}", EMS_OK, NULL, EMS_CAP_KEEP, 0, true, 5 },
	{ "{\"priority\":0}", EMS_OK, NULL, EMS_CAP_KEEP, 0, true, 0 },
	{ "{\"max_current_a\":0,\"priority\":100}", EMS_OK, NULL, EMS_CAP_SET, 0,
	  true, 100 },
	{ "{\"priority\":7.0,\"max_current_a\":6.5}", EMS_OK, NULL, EMS_CAP_SET,
	  6.5, true, 7 },

	BAD("{}", "neither max_current_a nor priority"),
	BAD("nope", "not JSON"),
	BAD("[1]", "not a JSON object"),
	BAD("{\"max_current_a\":16,\"x\":1}", "unknown key \"x\""),
	BAD("{\"priority\":1,\"priority\":2}", "duplicate key \"priority\""),
	BAD("{\"priority\":5.5}", "priority: expected an integer, got 5.5"),
	BAD("{\"priority\":101}", "priority: 101 is out of range"),
	BAD("{\"priority\":-1}", "priority: -1 is out of range"),
	BAD("{\"priority\":\"5\"}",
	    "priority: expected a number, got a string"),
	BAD("{\"priority\":null}", "priority: expected a number, got null"),
	BAD("{\"max_current_a\":\"16\"}",
	    "max_current_a: expected a number or null, got a string"),
	BAD("{\"max_current_a\":[16,16,16]}",
	    "expected a number or null, got an array"),
	BAD("{\"max_current_a\":-1}",
	    "max_current_a: -1 is out of range 0..10000 A"),
	BAD("{\"max_current_a\":1e999}", "out of range"),
};

static void
test_evse_set_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof set_cases / sizeof set_cases[0]; i++) {
		const struct set_case *c = &set_cases[i];
		struct ems_evse_set s;
		char why[EMS_WHY_LEN];
		int rc;

		memset(&s, 0x55, sizeof s);
		rc = emsmsg_evse_set_parse(c->payload, strlen(c->payload), &s, why,
		    sizeof why);
		if (rc != c->rc)
			fail_msg("case %zu %s: rc %d, want %d (%s)", i, c->payload,
			    rc, c->rc, why);
		if (rc != EMS_OK) {
			if (strstr(why, c->why) == NULL)
				fail_msg("case %zu %s: why \"%s\" lacks \"%s\"", i,
				    c->payload, why, c->why);
			assert_int_equal(s.cap, EMS_CAP_KEEP);
			assert_false(s.has_priority);
			continue;
		}
		assert_int_equal(s.evse, 0);
		assert_int_equal(s.cap, c->cap);
		assert_true(s.cap_a == c->cap_a);
		assert_int_equal(s.has_priority, c->has_priority);
		assert_int_equal(s.priority, c->priority);
	}
}

static void
test_evse_topic(void **state)
{
	static const struct {
		const char *topic;
		int rc, n;
	} cases[] = {
		{ "sitegate/s1/evse/1/set", EMS_OK, 1 },
		{ "sitegate/s1/evse/42/set", EMS_OK, 42 },
		{ "sitegate/s1/evse/10000/set", EMS_OK, 10000 },
		{ "sitegate/s1/evse/10001/set", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/0/set", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/01/set", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/+1/set", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/-1/set", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/ 1/set", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/1x/set", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/abc/set", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse//set", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/1/set/x", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/1/sett", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/1", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s12/evse/1/set", EMS_ERR_TOPIC, 0 },
		{ "other/s1/evse/1/set", EMS_ERR_TOPIC, 0 },
		{ "sitegate/s1/evse/99999999999999999999999/set", EMS_ERR_TOPIC, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int n = -7;

		if (emsmsg_evse_topic_parse("sitegate/s1", cases[i].topic, &n) !=
		    cases[i].rc)
			fail_msg("case %s", cases[i].topic);
		assert_int_equal(n, cases[i].rc == EMS_OK ? cases[i].n : -7);
	}
}

static void
test_excerpt(void **state)
{
	char buf[EMS_EXCERPT_MAX * 4 + 8], small[8], in[300];

	(void)state;
	assert_string_equal(emsmsg_excerpt(buf, sizeof buf, "{\"a\":1}", 7),
	    "{\"a\":1}");
	assert_string_equal(emsmsg_excerpt(buf, sizeof buf, "a\0\xff\\\n", 5),
	    "a\\x00\\xff\\x5c\\x0a");
	memset(in, 'a', sizeof in);
	emsmsg_excerpt(buf, sizeof buf, in, sizeof in);
	assert_int_equal(strlen(buf), EMS_EXCERPT_MAX + 3);
	assert_string_equal(buf + EMS_EXCERPT_MAX, "...");
	/* A small buffer: cut on a whole escape, terminated. */
	assert_string_equal(emsmsg_excerpt(small, sizeof small, "ab\xff\xff", 4),
	    "ab...");
	assert_string_equal(emsmsg_excerpt(buf, sizeof buf, "", 0), "");
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(emsmsg_source_name(EMS_SOURCE_EMS), "ems");
	assert_string_equal(emsmsg_source_name(EMS_SOURCE_FAILSAFE), "failsafe");
	assert_string_equal(emsmsg_reason_name(EMS_REASON_STARTUP), "startup");
	assert_string_equal(emsmsg_reason_name(EMS_REASON_TTL_EXPIRED),
	    "ttl_expired");
	assert_string_equal(emsmsg_reason_name(EMS_REASON_LIMIT_TIMEOUT),
	    "limit_timeout");
	assert_string_equal(emsmsg_reason_name(EMS_REASON_BROKER_UNREACHABLE),
	    "broker_unreachable");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_table),
		cmocka_unit_test(test_limit_bytes),
		cmocka_unit_test(test_evse_set_table),
		cmocka_unit_test(test_evse_topic),
		cmocka_unit_test(test_excerpt),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
