/*
 * Unit tests for src/util/jcheck: one table of documents against one set of
 * tables that uses every rule, each with the rule, detail and path it must
 * get; then the walk's order, reporting every violation through each(),
 * the texts of jc_expected() and jc_quote(), and the edges of the path.
 * What the OCPP tables make of the engine is test_schema's; the words of
 * the configuration file are test_config's.
 *
 * Documents in the table are JSON written with ' for ", to keep them
 * readable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/jcheck.h"
#include "tests/unit/quoted.h"

static const char *const units[] = { "A", "W" };

static const struct jc_field point[] = {
	{ .name = "x", .type = JC_INTEGER, .flags = JC_REQUIRED | JC_MIN |
	  JC_MAX, .min = 0, .max = 100 },
	{ .name = "note", .type = JC_STRING, .max_len = 3 },
	{ .name = NULL },
};

static const struct jc_field open_tail[] = {
	{ .name = "vendorId", .type = JC_STRING, .flags = JC_REQUIRED },
	{ .name = NULL, .flags = JC_OPEN },
};

/* One member of each kind. */
static const struct jc_field doc[] = {
	{ .name = "id", .type = JC_STRING, .flags = JC_REQUIRED | JC_BYTES,
	  .min_len = 1, .max_len = 4 },
	{ .name = "name", .type = JC_STRING, .max_len = 4 },
	{ .name = "unit", .type = JC_STRING, .enums = units, .nenums = 2 },
	{ .name = "when", .type = JC_STRING, .format = JC_DATETIME },
	{ .name = "where", .type = JC_STRING, .format = JC_URI },
	{ .name = "count", .type = JC_INTEGER },
	{ .name = "amps", .type = JC_NUMBER, .flags = JC_MIN | JC_MAX,
	  .min = 6, .max = 80 },
	{ .name = "limit", .type = JC_NUMBER, .multiple_of = 0.1 },
	{ .name = "wh", .type = JC_INTEGER, .flags = JC_MIN | JC_MAX |
	  JC_OWN_LIMITS, .min = 0, .max = 1e15 },
	{ .name = "on", .type = JC_BOOL },
	{ .name = "point", .type = JC_OBJECT, .fields = point },
	{ .name = "points", .type = JC_OBJECT, .flags = JC_LIST,
	  .min_items = 1, .max_items = 2, .fields = point },
	{ .name = "tags", .type = JC_STRING, .flags = JC_LIST },
	{ .name = "extra", .type = JC_OBJECT, .fields = open_tail },
	{ .name = "data", .type = JC_ANY },
	{ .name = NULL },
};

/* OCPP's: integers of 32 bits, numbers within +-1e15. */
static const struct jc_limits limits = { -2147483648.0, 2147483647.0,
	-1e15, 1e15 };

struct jc_case {
	const char *json;	/* ' for " */
	int rule;
	int detail;
	const char *path;
};

#define OK(json)	{ json, JC_OK, JC_D_NONE, "" }

static const struct jc_case cases[] = {
	OK("{'id':'a'}"),
	OK("{'id':'abcd','name':'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9','unit':'W',"
	    "'when':'2026-07-21T10:00:00Z','where':'ftp://h/x','count':-3,"
	    "'amps':6,'limit':0.3,'wh':1e15,'on':false,'point':{'x':100},"
	    "'points':[{'x':0},{'x':1,'note':'abc'}],'tags':[],"
	    "'extra':{'vendorId':'v','any':[1,{}]},'data':[null]}"),
	OK("{'id':'a','count':2147483647,'limit':-12.3,'amps':80}"),
	OK("{'id':'a','count':1.0}"),
	/* missing */
	{ "{}", JC_MISSING, JC_D_NONE, "id" },
	{ "{'id':'a','point':{}}", JC_MISSING, JC_D_NONE, "point.x" },
	{ "{'id':'a','extra':{'x':1}}", JC_MISSING, JC_D_NONE,
	    "extra.vendorId" },
	/* type */
	{ "{'id':7}", JC_TYPE, JC_D_TYPE, "id" },
	{ "{'id':null}", JC_TYPE, JC_D_TYPE, "id" },
	{ "{'id':'a','count':'7'}", JC_TYPE, JC_D_TYPE, "count" },
	{ "{'id':'a','amps':true}", JC_TYPE, JC_D_TYPE, "amps" },
	{ "{'id':'a','on':1}", JC_TYPE, JC_D_TYPE, "on" },
	{ "{'id':'a','point':[]}", JC_TYPE, JC_D_TYPE, "point" },
	{ "{'id':'a','points':{'x':1}}", JC_TYPE, JC_D_ARRAY, "points" },
	{ "{'id':'a','tags':['a',2]}", JC_TYPE, JC_D_TYPE, "tags[1]" },
	{ "{'id':'a','count':1.5}", JC_TYPE, JC_D_FRACTION, "count" },
	/* value */
	{ "{'id':'a','unit':'kW'}", JC_VALUE, JC_D_ENUM, "unit" },
	{ "{'id':'a','unit':'a'}", JC_VALUE, JC_D_ENUM, "unit" },
	{ "{'id':''}", JC_VALUE, JC_D_LENGTH, "id" },
	{ "{'id':'abcde'}", JC_VALUE, JC_D_LENGTH, "id" },
	/* JC_BYTES: four bytes, two characters, too long as bytes ... */
	{ "{'id':'\xc3\xa9\xc3\xa9x'}", JC_VALUE, JC_D_LENGTH, "id" },
	/* ... while code points count five as five */
	{ "{'id':'a','name':'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'}",
	    JC_VALUE, JC_D_LENGTH, "name" },
	{ "{'id':'a','when':'2026-07-21 10:00'}", JC_VALUE, JC_D_FORMAT,
	    "when" },
	{ "{'id':'a','where':'/relative'}", JC_VALUE, JC_D_FORMAT, "where" },
	{ "{'id':'a','count':2147483648}", JC_VALUE, JC_D_LIMIT, "count" },
	{ "{'id':'a','count':1e999}", JC_VALUE, JC_D_LIMIT, "count" },
	{ "{'id':'a','limit':-1.5e15}", JC_VALUE, JC_D_LIMIT, "limit" },
	OK("{'id':'a','wh':3000000000}"),
	{ "{'id':'a','wh':-1}", JC_VALUE, JC_D_MIN, "wh" },
	{ "{'id':'a','wh':1e16}", JC_VALUE, JC_D_MAX, "wh" },
	{ "{'id':'a','amps':5.9}", JC_VALUE, JC_D_MIN, "amps" },
	{ "{'id':'a','amps':80.5}", JC_VALUE, JC_D_MAX, "amps" },
	{ "{'id':'a','limit':10.67}", JC_VALUE, JC_D_MULTIPLE, "limit" },
	{ "{'id':'a','point':{'x':101}}", JC_VALUE, JC_D_MAX, "point.x" },
	{ "{'id':'a','points':[{'x':1},{'x':2,'note':'long'}]}", JC_VALUE,
	    JC_D_LENGTH, "points[1].note" },
	/* items */
	{ "{'id':'a','points':[]}", JC_ITEMS, JC_D_FEW, "points" },
	{ "{'id':'a','points':[{'x':1},{'x':1},{'x':1}]}", JC_ITEMS,
	    JC_D_MANY, "points" },
	/* unknown */
	{ "{'id':'a','ID':'b'}", JC_UNKNOWN, JC_D_NONE, "ID" },
	{ "{'id':'a','points':[{'x':1,'y':2}]}", JC_UNKNOWN, JC_D_NONE,
	    "points[0].y" },
	/* duplicates are each checked, and allowed without JC_UNIQUE_KEYS */
	OK("{'id':'a','id':'b'}"),
	{ "{'id':'a','id':7}", JC_TYPE, JC_D_TYPE, "id" },
	/* not an object */
	{ "[]", JC_NOT_OBJECT, JC_D_NONE, "" },
	{ "'x'", JC_NOT_OBJECT, JC_D_NONE, "" },
};

static void
test_table(void **state)
{
	const struct jc_opts opts = { .limits = &limits };
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct jc_case *c = &cases[i];
		struct jc_result r;
		cJSON *v = parse_quoted(c->json);
		int rc;

		assert_non_null(v);
		rc = jc_check_object(doc, v, &opts, &r);
		if (rc != c->rule || (int)r.rule != c->rule ||
		    (int)r.detail != c->detail || strcmp(r.path, c->path) != 0) {
			print_error("%s: got %d/%d at \"%s\", want %d/%d at "
			    "\"%s\"\n", c->json, rc, r.detail, r.path, c->rule,
			    c->detail, c->path);
			failures++;
		}
		/* without a result, the same verdict */
		if (jc_check_object(doc, v, &opts, NULL) != c->rule) {
			print_error("%s: a different verdict without a "
			    "result\n", c->json);
			failures++;
		}
		cJSON_Delete(v);
	}
	assert_int_equal(failures, 0);
}

/* The result names the row, the value and the item count. */
static void
test_result_fields(void **state)
{
	struct jc_result r;
	cJSON *v;

	(void)state;
	v = parse_quoted("{'id':'a','points':[{'x':1},{'x':1},{'x':1}]}");
	assert_int_equal(jc_check_object(doc, v, NULL, &r), JC_ITEMS);
	assert_string_equal(r.field->name, "points");
	assert_ptr_equal(r.got, cJSON_GetObjectItem(v, "points"));
	assert_int_equal(r.items, 3);
	cJSON_Delete(v);

	v = parse_quoted("{'id':'a','bogus':{'deep':1}}");
	assert_int_equal(jc_check_object(doc, v, NULL, &r), JC_UNKNOWN);
	assert_null(r.field);
	assert_string_equal(r.got->string, "bogus");
	cJSON_Delete(v);

	v = parse_quoted("{'id':'a','point':{}}");
	assert_int_equal(jc_check_object(doc, v, NULL, &r), JC_MISSING);
	assert_ptr_equal(r.field, &point[0]);
	assert_null(r.got);
	cJSON_Delete(v);

	/* without limits a 64-bit integer passes */
	v = parse_quoted("{'id':'a','count':4294967296}");
	assert_int_equal(jc_check_object(doc, v, NULL, &r), JC_OK);
	assert_int_equal(r.rule, JC_OK);
	assert_string_equal(r.path, "");
	assert_null(r.field);
	cJSON_Delete(v);
}

/* A missing member comes first, then the members in document order. */
static void
test_order(void **state)
{
	const struct jc_opts keys_first = { .flags = JC_KEYS_FIRST };
	struct jc_result r;
	cJSON *v;

	(void)state;
	v = parse_quoted("{'count':'x','bogus':1}");
	assert_int_equal(jc_check_object(doc, v, NULL, &r), JC_MISSING);
	cJSON_Delete(v);

	v = parse_quoted("{'id':'a','count':'x','bogus':1}");
	assert_int_equal(jc_check_object(doc, v, NULL, &r), JC_TYPE);
	assert_string_equal(r.path, "count");
	/* the names before any value */
	assert_int_equal(jc_check_object(doc, v, &keys_first, &r), JC_UNKNOWN);
	assert_string_equal(r.path, "bogus");
	cJSON_Delete(v);
}

struct seen {
	int n;
	char lines[8][JC_PATH_MAX + 16];
	int stop_after;		/* 0: never */
};

static int
collect(void *arg, const struct jc_result *r)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->lines[s->n], sizeof(s->lines[0]), "%d %s", r->rule,
		    r->path);
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after;
}

/* With each(), every violation is reported and the first is returned;
 * duplicates are violations with JC_UNIQUE_KEYS. */
static void
test_each(void **state)
{
	struct seen s = { 0 };
	struct jc_opts opts = { .flags = JC_UNIQUE_KEYS, .path = "chargers[1]",
		.each = collect, .arg = &s };
	cJSON *v = parse_quoted("{'name':7,'id':'a','x':1,'id':'b','point':"
	    "{'x':-1,'note':5},'points':[{'x':1},{}],'x':2}");

	(void)state;
	assert_int_equal(jc_check_object(doc, v, &opts, NULL), JC_TYPE);
	assert_int_equal(s.n, 7);
	assert_string_equal(s.lines[0], "-2 chargers[1].name");
	assert_string_equal(s.lines[1], "-5 chargers[1].x");
	assert_string_equal(s.lines[2], "-6 chargers[1].id");
	assert_string_equal(s.lines[3], "-3 chargers[1].point.x");
	assert_string_equal(s.lines[4], "-2 chargers[1].point.note");
	assert_string_equal(s.lines[5], "-1 chargers[1].points[1].x");
	assert_string_equal(s.lines[6], "-5 chargers[1].x");
	/* the second "x" is unknown like the first, not a duplicate */
	assert_string_equal(s.lines[7], "");

	/* each() may stop the walk */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	assert_int_equal(jc_check_object(doc, v, &opts, NULL), JC_TYPE);
	assert_int_equal(s.n, 2);
	cJSON_Delete(v);

	/* keys first, all of them: unknown and duplicate names, then values */
	memset(&s, 0, sizeof(s));
	opts.flags |= JC_KEYS_FIRST;
	v = parse_quoted("{'count':'x','id':'a','bogus':1,'id':'b'}");
	assert_int_equal(jc_check_object(doc, v, &opts, NULL), JC_UNKNOWN);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.lines[0], "-5 chargers[1].bogus");
	assert_string_equal(s.lines[1], "-6 chargers[1].id");
	assert_string_equal(s.lines[2], "-2 chargers[1].count");
	cJSON_Delete(v);
}

/* One value against one row, as the configuration file checks each key. */
static void
test_one_value(void **state)
{
	const struct jc_field amps = { .name = "max_current_a",
		.type = JC_NUMBER, .flags = JC_REQUIRED | JC_MIN | JC_MAX,
		.min = 6, .max = 80 };
	const struct jc_opts at = { .path = "chargers[1].max_current_a" };
	struct jc_result r;
	cJSON *v = cJSON_CreateString("32A");
	char buf[64];

	(void)state;
	assert_int_equal(jc_check(&amps, v, &at, &r), JC_TYPE);
	assert_string_equal(r.path, "chargers[1].max_current_a");
	assert_ptr_equal(r.got, v);
	assert_string_equal(jc_expected(&r, buf, sizeof(buf)),
	    "a number from 6 to 80");
	cJSON_Delete(v);

	/* absent: only a required row minds */
	assert_int_equal(jc_check(&amps, NULL, &at, &r), JC_MISSING);
	assert_string_equal(r.path, "chargers[1].max_current_a");
	assert_int_equal(jc_check(&doc[1], NULL, NULL, &r), JC_OK);

	v = cJSON_CreateNumber(1e300);
	assert_int_equal(jc_check(&amps, v, NULL, &r), JC_VALUE);
	assert_int_equal(r.detail, JC_D_MAX);
	assert_string_equal(r.path, "");
	cJSON_Delete(v);
}

static void
test_expected(void **state)
{
	static const char *const levels[] = { "debug", "info", "warn",
		"error" };
	static const struct {
		struct jc_field f;
		int rule, detail;
		const char *want;
	} rows[] = {
		{ { .type = JC_STRING, .flags = JC_BYTES, .min_len = 1,
		    .max_len = 48 }, JC_VALUE, JC_D_LENGTH,
		    "a string of 1 to 48 characters" },
		{ { .type = JC_STRING, .max_len = 20 }, JC_TYPE, JC_D_TYPE,
		    "a string of at most 20 characters" },
		{ { .type = JC_STRING, .min_len = 2 }, JC_TYPE, JC_D_TYPE,
		    "a string of at least 2 characters" },
		{ { .type = JC_STRING }, JC_TYPE, JC_D_TYPE, "a string" },
		{ { .type = JC_STRING, .enums = levels, .nenums = 4 }, JC_VALUE,
		    JC_D_ENUM, "one of \"debug\", \"info\", \"warn\", \"error\"" },
		{ { .type = JC_STRING, .format = JC_DATETIME }, JC_VALUE,
		    JC_D_FORMAT, "an RFC 3339 date-time" },
		{ { .type = JC_STRING, .format = JC_URI }, JC_VALUE,
		    JC_D_FORMAT, "a URI" },
		{ { .type = JC_INTEGER, .flags = JC_MIN | JC_MAX, .min = 10,
		    .max = 86400 }, JC_TYPE, JC_D_FRACTION,
		    "an integer from 10 to 86400" },
		{ { .type = JC_INTEGER, .flags = JC_MIN }, JC_VALUE, JC_D_MIN,
		    "an integer of at least 0" },
		{ { .type = JC_NUMBER, .flags = JC_MAX, .max = 1e15 }, JC_VALUE,
		    JC_D_MAX, "a number of at most 1e+15" },
		{ { .type = JC_NUMBER, .multiple_of = 0.1 }, JC_VALUE,
		    JC_D_MULTIPLE, "a number, a multiple of 0.1" },
		{ { .type = JC_NUMBER, .flags = JC_MIN | JC_MAX, .min = 0,
		    .max = 10000 }, JC_VALUE, JC_D_MIN,
		    "a number from 0 to 10000" },
		{ { .type = JC_BOOL }, JC_TYPE, JC_D_TYPE, "true or false" },
		{ { .type = JC_OBJECT }, JC_TYPE, JC_D_TYPE, "an object" },
		{ { .type = JC_ANY }, JC_TYPE, JC_D_TYPE, "any value" },
		/* a list: the array, or one of its items */
		{ { .type = JC_OBJECT, .flags = JC_LIST }, JC_TYPE, JC_D_ARRAY,
		    "an array" },
		{ { .type = JC_OBJECT, .flags = JC_LIST, .min_items = 1 },
		    JC_ITEMS, JC_D_FEW, "an array of at least 1 item" },
		{ { .type = JC_OBJECT, .flags = JC_LIST, .min_items = 1,
		    .max_items = 3 }, JC_ITEMS, JC_D_MANY,
		    "an array of 1 to 3 items" },
		{ { .type = JC_NUMBER, .flags = JC_LIST }, JC_TYPE, JC_D_TYPE,
		    "a number" },
	};
	struct jc_result r = { 0 };
	char buf[80], tiny[8];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		r.field = &rows[i].f;
		r.rule = rows[i].rule;
		r.detail = rows[i].detail;
		assert_string_equal(jc_expected(&r, buf, sizeof(buf)),
		    rows[i].want);
	}
	/* cut short, always terminated */
	r.field = &rows[4].f;
	assert_string_equal(jc_expected(&r, tiny, sizeof(tiny)), "one of ");
	r.field = NULL;
	r.rule = JC_NOT_OBJECT;
	assert_string_equal(jc_expected(&r, buf, sizeof(buf)), "an object");
}

static void
test_quote_and_path(void **state)
{
	struct jc_result r;
	char buf[64], name[300];
	cJSON *v = cJSON_CreateObject();

	(void)state;
	assert_string_equal(jc_quote("a\"b\\c\nd\x7f", buf, sizeof(buf)),
	    "a\\\"b\\\\c\\x0ad\\x7f");
	/* cut at 40 bytes, never inside a UTF-8 character */
	assert_string_equal(jc_quote("0123456789012345678901234567890123456789"
	    "0", buf, sizeof(buf)), "0123456789012345678901234567890123456789"
	    "...");
	assert_string_equal(jc_quote("012345678901234567890123456789012345678"
	    "\xc3\xa9x", buf, sizeof(buf)), "0123456789012345678901234567890"
	    "12345678\xc3\xa9...");
	assert_string_equal(jc_quote("abcdef", buf, 6), "ab...");

	/* an unknown member's name, escaped and cut in the path */
	memset(name, 'k', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	name[3] = '\n';
	cJSON_AddStringToObject(v, "id", "a");
	cJSON_AddNumberToObject(v, name, 1);
	assert_int_equal(jc_check_object(doc, v, NULL, &r), JC_UNKNOWN);
	/* 40 bytes of it: "kkk", "\x0a", 33 more, then "..." */
	assert_int_equal(strlen(r.path), 43);
	assert_int_equal(strncmp(r.path, "kkk\\x0akkkk", 11), 0);
	assert_string_equal(r.path + 38, "kk...");
	cJSON_Delete(v);

	/* a prefix that fills the path: cut, terminated */
	{
		char prefix[200];
		const struct jc_opts opts = { .path = prefix };

		memset(prefix, 'p', sizeof(prefix) - 1);
		prefix[sizeof(prefix) - 1] = '\0';
		v = parse_quoted("{'id':7}");
		assert_int_equal(jc_check_object(doc, v, &opts, &r), JC_TYPE);
		assert_int_equal(strlen(r.path), JC_PATH_MAX - 1);
		cJSON_Delete(v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_result_fields),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_each),
		cmocka_unit_test(test_one_value),
		cmocka_unit_test(test_expected),
		cmocka_unit_test(test_quote_and_path),
	};

	return cmocka_run_group_tests_name("jcheck", tests, NULL, NULL);
}
