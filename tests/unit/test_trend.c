/*
 * Unit tests for control/trend: the ring of site points — oldest first,
 * wrap at the capacity, the document's shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "control/trend.h"

static void
test_trend(void **state)
{
	struct trend *t = trend_new(360, 10);
	struct trend_point p = { 0, { 63, 63, 63 }, { 16, 16, 16 },
		{ 15.84, 15.9, 15.7 } };
	cJSON *doc, *pts, *x;

	(void)state;
	doc = trend_json(t);
	assert_int_equal(cJSON_GetObjectItem(doc, "interval_s")->valueint, 10);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "points")),
	    0);
	cJSON_Delete(doc);
	/* An hour and a bit: the last 360 stay, oldest first. */
	for (int i = 0; i < 400; i++) {
		p.time_ms = 1796684400000 + (int64_t)i * 10000;
		p.allocated_a[0] = i;
		trend_add(t, &p);
	}
	assert_int_equal(trend_count(t), 360);
	doc = trend_json(t);
	pts = cJSON_GetObjectItem(doc, "points");
	assert_int_equal(cJSON_GetArraySize(pts), 360);
	x = cJSON_GetArrayItem(pts, 0);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(x, "allocated_a"),
	    0)->valuedouble == 40);
	assert_string_equal(cJSON_GetObjectItem(x, "time")->valuestring,
	    "2026-12-07T23:06:40.000Z");
	x = cJSON_GetArrayItem(pts, 359);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(x, "allocated_a"),
	    0)->valuedouble == 399);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(x, "limit_a"),
	    2)->valuedouble == 63);
	/* Rounded to 0.1 A. */
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(x, "measured_a"),
	    0)->valuedouble == 15.8);
	cJSON_Delete(doc);
	trend_free(t);
	trend_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trend),
	};

	return cmocka_run_group_tests_name("trend", tests, NULL, NULL);
}
