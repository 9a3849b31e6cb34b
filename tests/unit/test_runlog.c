/*
 * Unit tests for control/runlog: the ring of allocation runs — newest
 * first, wrap, the document's shape, trigger names, the memory bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "control/runlog.h"

static const char *const ems3[3] = { "ems", "ems", "fuse" };

static void
add_run(struct runlog *rl, int64_t ms, unsigned trig, size_t n)
{
	struct runlog_run r = { ms, trig, { 40, 30, 20.04 }, { ems3[0], ems3[1],
		ems3[2] } };
	struct runlog_evse e[4];
	char ids[4][16];

	for (size_t i = 0; i < n && i < 4; i++) {
		snprintf(ids[i], sizeof ids[i], "CP-%02zu", i / 2);
		e[i] = (struct runlog_evse){ (int)i + 1, ids[i], 16.1 + (double)i,
			i == 3 ? 1 : 3, "site_limit", i == 0 ? "limited by the "
			"site limit on L3" : i == 1 ? "" : "at its maximum" };
	}
	runlog_add(rl, &r, e, n);
	/* The strings were copied: spoil the caller's. */
	memset(ids, 'x', sizeof ids);
}

static void
test_shape(void **state)
{
	struct runlog *rl = runlog_new(32);
	cJSON *doc, *run, *ev, *x;
	char *text;

	(void)state;
	add_run(rl, 1796684460123, RUNLOG_TRIG_EMS_LIMIT, 4);
	doc = runlog_json(rl);
	run = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "runs"), 0);
	assert_non_null(run);
	assert_string_equal(cJSON_GetObjectItem(run, "time")->valuestring,
	    "2026-12-07T23:01:00.123Z");
	assert_string_equal(cJSON_GetObjectItem(run, "trigger")->valuestring,
	    "ems_limit");
	x = cJSON_GetObjectItem(run, "limit_a");
	assert_true(cJSON_GetArrayItem(x, 2)->valuedouble == 20);
	x = cJSON_GetObjectItem(run, "source");
	assert_string_equal(cJSON_GetArrayItem(x, 0)->valuestring, "ems");
	assert_string_equal(cJSON_GetArrayItem(x, 2)->valuestring, "fuse");
	ev = cJSON_GetObjectItem(run, "evses");
	assert_int_equal(cJSON_GetArraySize(ev), 4);
	x = cJSON_GetArrayItem(ev, 0);
	assert_int_equal(cJSON_GetObjectItem(x, "evse")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(x, "charger")->valuestring,
	    "CP-00");
	assert_true(cJSON_GetObjectItem(x, "setpoint_a")->valuedouble == 16.1);
	assert_int_equal(cJSON_GetObjectItem(x, "phases")->valueint, 3);
	assert_string_equal(cJSON_GetObjectItem(x, "reason")->valuestring,
	    "site_limit");
	assert_string_equal(cJSON_GetObjectItem(x, "reason_text")->valuestring,
	    "limited by the site limit on L3");
	/* No text: no member. */
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 1), "reason_text"));
	x = cJSON_GetArrayItem(ev, 3);
	assert_string_equal(cJSON_GetObjectItem(x, "charger")->valuestring,
	    "CP-01");
	assert_string_equal(cJSON_GetObjectItem(x, "reason_text")->valuestring,
	    "at its maximum");
	assert_int_equal(cJSON_GetObjectItem(x, "phases")->valueint, 1);
	assert_true(cJSON_GetObjectItem(x, "setpoint_a")->valuedouble == 19.1);
	text = cJSON_PrintUnformatted(doc);
	assert_non_null(strstr(text, "\"trigger\":\"ems_limit\""));
	cJSON_free(text);
	cJSON_Delete(doc);
	runlog_free(rl);
	runlog_free(NULL);
}

static void
test_ring_newest_first(void **state)
{
	struct runlog *rl = runlog_new(32);
	cJSON *doc, *runs;
	char want[40];

	(void)state;
	doc = runlog_json(rl);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "runs")), 0);
	cJSON_Delete(doc);
	for (int i = 0; i < 40; i++)
		add_run(rl, 1796684400000 + i * 1000, RUNLOG_TRIG_READING,
		    (size_t)(i % 5));
	assert_int_equal(runlog_count(rl), 32);
	doc = runlog_json(rl);
	runs = cJSON_GetObjectItem(doc, "runs");
	assert_int_equal(cJSON_GetArraySize(runs), 32);
	/* Newest (i = 39) first, the oldest kept is i = 8. */
	snprintf(want, sizeof want, "2026-12-07T23:00:39.000Z");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 0),
	    "time")->valuestring, want);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 1),
	    "time")->valuestring, "2026-12-07T23:00:38.000Z");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 31),
	    "time")->valuestring, "2026-12-07T23:00:08.000Z");
	/* i = 39: 4 EVSEs; i = 35: none. */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(runs, 0), "evses")), 4);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(runs, 4), "evses")), 0);
	cJSON_Delete(doc);
	runlog_free(rl);
}

static void
test_trigger_names(void **state)
{
	char buf[256], tiny[12];

	(void)state;
	assert_string_equal(runlog_trigger_names(0, buf, sizeof buf), "");
	assert_string_equal(runlog_trigger_names(RUNLOG_TRIG_STATUS |
	    RUNLOG_TRIG_READING | RUNLOG_TRIG_PERIODIC, buf, sizeof buf),
	    "status+reading+periodic");
	assert_string_equal(runlog_trigger_names(RUNLOG_TRIG_EMS_LIMIT |
	    RUNLOG_TRIG_UPSTREAM_LIMIT | RUNLOG_TRIG_CAP | RUNLOG_TRIG_SESSION |
	    RUNLOG_TRIG_CONNECT | RUNLOG_TRIG_DISCONNECT | RUNLOG_TRIG_BOOT |
	    RUNLOG_TRIG_CONTROL | RUNLOG_TRIG_RECONFIGURE, buf, sizeof buf),
	    "ems_limit+upstream_limit+cap+session+connect+disconnect+boot+"
	    "control+reconfigure");
	/* Cut at a whole name. */
	assert_string_equal(runlog_trigger_names(RUNLOG_TRIG_CAP |
	    RUNLOG_TRIG_STATUS | RUNLOG_TRIG_BOOT, tiny, sizeof tiny),
	    "cap+status");
}

/* A thousand EVSEs (four per charger) in each of 32 runs, and more runs
 * after: the ring holds 32, and well under a few MB. */
static void
test_memory_bound(void **state)
{
	enum { N = 1000 };
	static struct runlog_evse e[N];
	static char ids[N][24];
	struct runlog *rl = runlog_new(32);
	struct runlog_run r = { 0, RUNLOG_TRIG_PERIODIC, { 63, 63, 63 },
		{ "fuse", "fuse", "fuse" } };
	size_t after32;

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof ids[i], "DEPOT-CP-%04d", i / 4);
		e[i] = (struct runlog_evse){ i + 1, ids[i], 6.0 + i % 26, 3,
			i % 3 ? "fair_share" : "circuit", i % 3 ?
			"a fair share of the site limit on L1" :
			"limited by circuit row-a on L2" };
	}
	/* Each run moves one setpoint, so none is folded. */
	for (int k = 0; k < 32; k++) {
		e[k].setpoint_a += 1;
		runlog_add(rl, &r, e, N);
	}
	after32 = runlog_bytes(rl);
	for (int k = 0; k < 40; k++) {
		e[k].setpoint_a -= 0.5;
		runlog_add(rl, &r, e, N);
	}
	assert_int_equal(runlog_count(rl), 32);
	/* Bounded: more runs cost nothing more. */
	assert_int_equal(runlog_bytes(rl), after32);
	assert_true(after32 < 1500000);
	/* ... and each run holds its EVSEs (24 bytes each at least). */
	assert_true(after32 >= 32 * N * 24);
	runlog_free(rl);
}

/* One EVSE at a time: at most the room asked for; a run being recorded
 * is not shown, and the oldest stays until it ends. */
static void
test_incremental(void **state)
{
	struct runlog *rl = runlog_new(2);
	struct runlog_run r = { 1796684400000, RUNLOG_TRIG_BOOT, { 1, 2, 3 },
		{ "fuse", "ems", "upstream" } };
	struct runlog_evse e = { 7, "CP-7", 6, 1, "min", NULL };
	cJSON *doc, *runs;

	(void)state;
	runlog_add(rl, &r, NULL, 0);
	r.limit_a[0] = 4;
	runlog_add(rl, &r, NULL, 0);
	r.time_ms += 1000;
	runlog_begin(rl, &r, 2);
	runlog_put(rl, &e);
	runlog_put(rl, &e);
	runlog_put(rl, &e);	/* beyond the room: dropped */
	doc = runlog_json(rl);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "runs")), 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "runs"), 0), "evses")), 0);
	cJSON_Delete(doc);
	runlog_end(rl);
	doc = runlog_json(rl);
	runs = cJSON_GetObjectItem(doc, "runs");
	assert_int_equal(cJSON_GetArraySize(runs), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 0),
	    "trigger")->valuestring, "boot");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(runs, 0), "evses")), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 0),
	    "time")->valuestring, "2026-12-07T23:00:01.000Z");
	cJSON_Delete(doc);
	/* Freed while a run is open: nothing leaks (ASan). */
	runlog_begin(rl, &r, 4);
	runlog_put(rl, &e);
	runlog_free(rl);
}

/* Runs that decide nothing new are counted on the newest, not kept:
 * their triggers join it, and the time of the last one is shown. */
static void
test_fold(void **state)
{
	struct runlog *rl = runlog_new(4);
	struct runlog_run r = { 1796684400000, RUNLOG_TRIG_EMS_LIMIT,
		{ 32, 32, 32 }, { "ems", "ems", "ems" } };
	struct runlog_evse e = { 1, "CP-1", 16, 3, "site_limit", "limited" };
	cJSON *doc, *runs, *newest;

	(void)state;
	runlog_add(rl, &r, &e, 1);
	r.triggers = RUNLOG_TRIG_READING;
	for (int i = 1; i <= 5; i++) {
		r.time_ms += 1000;
		runlog_add(rl, &r, &e, 1);
	}
	assert_int_equal(runlog_count(rl), 1);
	doc = runlog_json(rl);
	newest = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "runs"), 0);
	assert_int_equal(cJSON_GetObjectItem(newest, "repeats")->valueint, 5);
	assert_string_equal(cJSON_GetObjectItem(newest, "last_time")->valuestring,
	    "2026-12-07T23:00:05.000Z");
	assert_string_equal(cJSON_GetObjectItem(newest, "time")->valuestring,
	    "2026-12-07T23:00:00.000Z");
	assert_string_equal(cJSON_GetObjectItem(newest, "trigger")->valuestring,
	    "ems_limit+reading");
	cJSON_Delete(doc);
	/* A setpoint that moves, a reason, a limit: each a run of its own. */
	e.setpoint_a = 15;
	runlog_add(rl, &r, &e, 1);
	e.reason = "circuit";
	runlog_add(rl, &r, &e, 1);
	r.limit_a[2] = 31;
	runlog_add(rl, &r, &e, 1);
	assert_int_equal(runlog_count(rl), 4);
	doc = runlog_json(rl);
	runs = cJSON_GetObjectItem(doc, "runs");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 0), "repeats"));
	cJSON_Delete(doc);
	runlog_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_ring_newest_first),
		cmocka_unit_test(test_trigger_names),
		cmocka_unit_test(test_memory_bound),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_fold),
	};

	return cmocka_run_group_tests_name("runlog", tests, NULL, NULL);
}
