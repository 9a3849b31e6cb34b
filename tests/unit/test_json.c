/*
 * Unit tests for json_print(): its output is defined as libcjson's
 * cJSON_PrintUnformatted(), so every case compares the two byte for byte —
 * chosen numbers and strings at the edges of the fast paths, then random
 * trees (JSON_PRINT_SEED and JSON_PRINT_TREES choose which and how many).
 *
 * Where we deliberately differ: whole numbers. libcjson prints them with
 * "%1.15g" whenever that reads back within a relative DBL_EPSILON, which
 * loses digits from 1e15 on (9007199254740991 comes out as
 * 9.00719925474099e+15, 1e16 + 2 as 1e+16). json_print prints every whole
 * number up to 2^53 with all its digits and any larger one so that it
 * reads back as the same double. The reference below is therefore libcjson
 * printing a copy of the tree in which exactly those numbers were replaced
 * by raw text with the digits we want; test_whole_numbers pins the digits
 * themselves. Every other number and every string must still be libcjson's
 * byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/rng.h"
#include "util/json.h"

#define TWO_53 9007199254740992.0

/* The whole numbers libcjson prints with fewer digits than they have (see
 * the note at the top): replace each by raw text with all of them. */
static void
exact_whole_numbers(cJSON *v)
{
	char buf[40];
	cJSON *raw;

	for (cJSON *c = v->child, *next; c != NULL; c = next) {
		double d = c->valuedouble;

		next = c->next;
		exact_whole_numbers(c);
		if (!cJSON_IsNumber(c) || !isfinite(d) || floor(d) != d)
			continue;
		if (fabs(d) >= 1e15 && fabs(d) <= TWO_53)
			snprintf(buf, sizeof buf, "%.0f", d);
		else if (fabs(d) > TWO_53 &&
		    (snprintf(buf, sizeof buf, "%1.15g", d), strtod(buf, NULL) != d))
			snprintf(buf, sizeof buf, "%1.17g", d);
		else
			continue;
		raw = cJSON_CreateRaw(buf);
		if (c->string != NULL)		/* an object's member keeps its key */
			raw->string = strdup(c->string);
		cJSON_ReplaceItemViaPointer(v, c, raw);
	}
}

/* libcjson's output for v, but for the whole numbers we print in full. */
static char *
reference(const cJSON *v)
{
	cJSON *wrap = cJSON_CreateArray(), *copy = cJSON_Duplicate(v, true);
	char *text, *out;
	size_t n;

	assert_non_null(copy);
	cJSON_AddItemToArray(wrap, copy);	/* so that v itself is a child */
	exact_whole_numbers(wrap);
	text = cJSON_PrintUnformatted(wrap);
	assert_non_null(text);
	n = strlen(text);
	out = strndup(text + 1, n - 2);		/* without the wrapping [] */
	cJSON_free(text);
	cJSON_Delete(wrap);
	return out;
}

/* Print v both ways and require the same bytes; frees v. */
static void
same(cJSON *v, const char *what)
{
	char *want = reference(v);
	size_t len = 0;
	char *got = json_print(v, &len);

	assert_non_null(want);
	if (got == NULL || strcmp(got, want) != 0) {
		size_t at = 0;

		while (got != NULL && got[at] != '\0' && got[at] == want[at])
			at++;
		at = at > 20 ? at - 20 : 0;
		fail_msg("%s: json_print gave %.60s, cJSON %.60s (from byte %zu)",
		    what, got ? got + at : "NULL", want + at, at);
	}
	assert_int_equal(len, strlen(want));
	free(got);
	free(want);
	cJSON_Delete(v);
}

/* Whole numbers print with every digit: ids, counters and Wh registers
 * travel as doubles, and a lost digit is a wrong value. */
static void
test_whole_numbers(void **state)
{
	static const struct {
		double d;
		const char *want;
	} cases[] = {
		{ 999999999999999.0, "999999999999999" },
		{ 1e15, "1000000000000000" },
		{ 1e15 + 1, "1000000000000001" },
		{ 1234567890123456.0, "1234567890123456" },
		{ 4503599627370497.0, "4503599627370497" },
		{ 9007199254740991.0, "9007199254740991" },	/* 2^53 - 1 */
		{ -9007199254740991.0, "-9007199254740991" },
		{ TWO_53, "9007199254740992" },
		{ -TWO_53, "-9007199254740992" },
		/* Beyond 2^53: as a double that reads back the same. */
		{ TWO_53 + 2, "9007199254740994" },
		{ 1e16 + 2, "10000000000000002" },
		{ 1e16, "1e+16" },
		{ 1152921504606846976.0, "1.152921504606847e+18" },	/* 2^60 */
		{ 1e21, "1e+21" },
		{ 2147483648.0, "2147483648" },
		{ 0, "0" },
		{ -0.0, "-0" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *v = cJSON_CreateNumber(cases[i].d);
		char *got = json_print(v, NULL);

		assert_non_null(got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%.17g printed as %s, want %s", cases[i].d, got,
			    cases[i].want);
		assert_true(strtod(got, NULL) == cases[i].d);
		free(got);
		cJSON_Delete(v);
	}
}

static void
test_numbers(void **state)
{
	static const double cases[] = {
		0, 1, -1, 8, 10, 32, 7.9, -7.9, 0.1, 0.2, 0.3, 0.05, 0.15,
		1.25, 11.55, 22.5, 230.4, 11040, 22080.5, 1.0 / 3, 2.0 / 3,
		123456.7, 99999999999999.9, 9999999999999.99, 1e13, 1e14,
		1e14 + 0.5, 1e15, 1e16, 1e21, 1e300, -1e300, 5e-324,
		2.2250738585072014e-308, 1e-7, 123.456, 4294967296.5,
		9007199254740992.0, 9007199254740993.0, 2147483647.0,
		2147483648.0, -2147483649.0, 1.7976931348623157e308,
	};
	char what[64];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(what, sizeof what, "%.17g", cases[i]);
		same(cJSON_CreateNumber(cases[i]), what);
		same(cJSON_CreateNumber(-cases[i]), what);
	}
	same(cJSON_CreateNumber(0.1 + 0.2), "0.1 + 0.2");
	same(cJSON_CreateNumber(-0.0), "-0");
	same(cJSON_CreateNumber(NAN), "NaN");
	same(cJSON_CreateNumber(INFINITY), "inf");
	same(cJSON_CreateNumber(-INFINITY), "-inf");
	/* Every tenth up to 10 000 A, and watts up to 1 MW. */
	for (int k = 0; k <= 100000; k++) {
		snprintf(what, sizeof what, "%d tenths", k);
		same(cJSON_CreateNumber(k / 10.0), what);
		same(cJSON_CreateNumber(k * 10.0), what);
	}
}

static void
test_strings(void **state)
{
	char s[2] = { 0 };

	(void)state;
	same(cJSON_CreateString(""), "empty");
	same(cJSON_CreateString("say \"hi\" \\o/"), "quotes");
	same(cJSON_CreateString("caf\xc3\xa9 \xe2\x82\xac \xff\xfe"), "bytes");
	for (int c = 1; c < 256; c++) {
		s[0] = (char)c;
		same(cJSON_CreateString(s), "one byte");
	}
}

static void
test_shapes(void **state)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();

	(void)state;
	same(cJSON_CreateObject(), "{}");
	same(cJSON_CreateArray(), "[]");
	same(cJSON_CreateNull(), "null");
	same(cJSON_CreateTrue(), "true");
	same(cJSON_CreateFalse(), "false");
	same(cJSON_CreateRaw("{\"pre\":1}"), "raw");
	cJSON_AddItemToArray(a, cJSON_CreateObject());
	cJSON_AddItemToArray(a, cJSON_CreateArray());
	cJSON_AddItemToArray(a, cJSON_CreateNumber(2));
	cJSON_AddItemToObject(o, "a\tb", a);
	cJSON_AddItemToObject(o, "", cJSON_CreateString("x"));
	same(o, "nested");
}

/* json_find_nul: which string of a (parsed) text holds U+0000. Texts are
 * written with ' for " and ~ for a raw zero byte. */
static void
test_find_nul(void **state)
{
	static const struct {
		const char *text;
		int found;
		const char *path;
	} cases[] = {
		{ "{'idTag':'AB\\u0000CD'}", 1, "idTag" },
		{ "{'idTag':'AB~CD'}", 1, "idTag" },
		{ "{'idTag':'AB\\\\u0000'}", 0, "" },	/* "\\" then text */
		{ "{'idTag':'\\\\\\u0000'}", 1, "idTag" },	/* "\\" then NUL */
		{ "{'a':'\\u00000'}", 1, "a" },
		{ "{'a':'\\u0001 \\u0100 \\ud83d\\ude00 u0000'}", 0, "" },
		{ "{'a':'x','b':[1,{'c':'\\\"'},{'d':'\\u0000'}]}", 1, "b[2].d" },
		{ "[2,'id','Authorize',{'idTag':'\\u0000'}]", 1, "[3].idTag" },
		{ "[2,'i\\u0000d','Authorize',{}]", 1, "[1]" },
		{ "{'k\\u0000':1}", 1, "k\\u0000" },
		{ "{'k~':1}", 1, "k?" },
		{ "['\\u0000']", 1, "[0]" },
		{ "'\\u0000'", 1, "" },
		{ " [ [ ] , [ 0 , { } , 'x\\u0000' ] ] ", 1, "[1][2]" },
		{ "{'a':{'b':{}},'c':{'d':[true,null,-1e5,'~']}}", 1, "c.d[3]" },
		{ "{'a':'b','c':'d'}", 0, "" },
		{ "{}", 0, "" },
	};
	char text[128], path[64];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].text);
		cJSON *check;
		int found;

		for (size_t k = 0; k < n; k++)
			text[k] = cases[i].text[k] == '\'' ? '"' :
			    cases[i].text[k] == '~' ? '\0' : cases[i].text[k];
		check = cJSON_ParseWithLength(text, n);
		if (check == NULL)
			fail_msg("case %zu is not JSON: %s", i, cases[i].text);
		cJSON_Delete(check);
		strcpy(path, "junk");
		found = json_find_nul(text, n, path, sizeof path);
		if (found != cases[i].found ||
		    (found && strcmp(path, cases[i].path) != 0))
			fail_msg("%s: got %d at \"%s\", want %d at \"%s\"",
			    cases[i].text, found, found ? path : "",
			    cases[i].found, cases[i].path);
	}
	/* A path longer than the buffer is cut, still terminated. */
	strcpy(text, "{'aaaaaaaaaaaaaaaaaaaa':{'bbbbbbbbbbbbbbbbbbbb':'\\u0000'}}");
	for (char *c = text; *c; c++)
		if (*c == '\'')
			*c = '"';
	assert_int_equal(json_find_nul(text, strlen(text), path, 16), 1);
	assert_int_equal(strlen(path), 15);
	assert_int_equal(strncmp(path, "aaaaaaaaaaaaaaa", 15), 0);
}

static void
test_invalid(void **state)
{
	cJSON *raw = cJSON_CreateRaw("1"), *bad = cJSON_CreateObject();
	size_t len = 7;

	(void)state;
	assert_null(json_print(NULL, &len));
	assert_int_equal(len, 7);
	free(raw->valuestring);
	raw->valuestring = NULL;
	assert_null(json_print(raw, NULL));
	cJSON_Delete(raw);
	bad->type = cJSON_Invalid;
	assert_null(json_print(bad, NULL));
	cJSON_Delete(bad);
}

static double
any_number(struct rng *r)
{
	uint64_t bits;
	double d;

	switch (rn(r, 7)) {
	case 0:
		return (double)(int64_t)rnext(r) / (double)(1ULL << rn(r, 64));
	case 6:		/* a whole number of up to 53 bits, either sign */
		return (double)(rnext(r) >> (11 + rn(r, 40))) * (rn(r, 2) ? 1 : -1);
	case 1:
		do {
			bits = rnext(r);
			memcpy(&d, &bits, sizeof d);
		} while (isnan(d));
		return d;
	case 2:
		return -ramp(r, 1e6);
	default:
		return ramp(r, rn(r, 2) ? 1e4 : 1e15);
	}
}

static char *
any_string(struct rng *r, char *buf, size_t cap)
{
	size_t n = rn(r, (unsigned)cap);

	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(rn(r, 4) ? ' ' + rn(r, 95) : 1 + rn(r, 255));
	buf[n] = '\0';
	return buf;
}

static cJSON *
any_tree(struct rng *r, int depth)
{
	char s[24], k[8];
	cJSON *v;
	unsigned n;

	switch (rn(r, depth > 4 ? 5 : 7)) {
	case 0:
		return cJSON_CreateNull();
	case 1:
		return cJSON_CreateBool(rn(r, 2));
	case 2:
	case 3:
		return cJSON_CreateNumber(any_number(r));
	case 4:
		return cJSON_CreateString(any_string(r, s, sizeof s));
	case 5:
		v = cJSON_CreateArray();
		for (n = rn(r, 6); n > 0; n--)
			cJSON_AddItemToArray(v, any_tree(r, depth + 1));
		return v;
	default:
		v = cJSON_CreateObject();
		for (n = rn(r, 6); n > 0; n--)
			cJSON_AddItemToObject(v, any_string(r, k, sizeof k),
			    any_tree(r, depth + 1));
		return v;
	}
}

static void
test_random_trees(void **state)
{
	uint64_t seed = env_u64("JSON_PRINT_SEED", 20261121);
	uint64_t trees = env_u64("JSON_PRINT_TREES", 20000);
	struct rng r = { seed };
	char what[64];

	(void)state;
	for (uint64_t i = 0; i < trees; i++) {
		snprintf(what, sizeof what, "seed %llu tree %llu",
		    (unsigned long long)seed, (unsigned long long)i);
		same(any_tree(&r, 0), what);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_whole_numbers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_find_nul),
		cmocka_unit_test(test_random_trees),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
