/*
 * Unit tests for util/num: what the strict integer parser takes and what
 * it refuses, at the edges of int64_t and of the caller's range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/num.h"

static void
test_parse_i64(void **state)
{
	static const struct {
		const char *s;
		int64_t min, max;
		int rc;
		int64_t want;
	} cases[] = {
		{ "0", 0, 10, 0, 0 },
		{ "7", 0, 10, 0, 7 },
		{ "007", 0, 10, 0, 7 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -1, 0 },		/* above max */
		{ "-1", 0, 10, -1, 0 },		/* below min */
		{ "-42", -100, 100, 0, -42 },
		{ "-0", 0, 0, 0, 0 },
		{ "", 0, 10, -1, 0 },
		{ "-", -10, 10, -1, 0 },
		{ "+5", 0, 10, -1, 0 },
		{ " 5", 0, 10, -1, 0 },
		{ "5 ", 0, 10, -1, 0 },
		{ "5\n", 0, 10, -1, 0 },
		{ "10abc", 0, 100, -1, 0 },
		{ "1.0", 0, 10, -1, 0 },
		{ "1e3", 0, 10000, -1, 0 },
		{ "0x10", 0, 100, -1, 0 },
		{ "--1", -10, 10, -1, 0 },
		{ "9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX },
		{ "-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN },
		{ "9223372036854775808", INT64_MIN, INT64_MAX, -1, 0 },
		{ "-9223372036854775809", INT64_MIN, INT64_MAX, -1, 0 },
		{ "99999999999999999999999", INT64_MIN, INT64_MAX, -1, 0 },
		{ "00000000000000000000001", 0, 1, 0, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t v = 12345;
		int rc = num_parse_i64(cases[i].s, cases[i].min, cases[i].max, &v);

		if (rc != cases[i].rc)
			fail_msg("\"%s\": returned %d, want %d", cases[i].s, rc,
			    cases[i].rc);
		/* Refused: the output is left as it was. */
		assert_int_equal(v, rc == 0 ? cases[i].want : 12345);
	}
	assert_int_equal(num_parse_i64(NULL, 0, 1, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_i64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
