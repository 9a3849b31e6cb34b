/*
 * Unit tests for roles/uplink_profiles: the upstream's charging profiles
 * over time (periods, duration, validTo, W into A, the lowest station
 * limit), which profile a new one replaces, clearing by criteria, and the
 * saved form coming back. Pure: a fake clock, the sink records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "roles/uplink_profiles.h"

#define T0 1800000000000LL	/* a schedule's start, ms */
#define V 230.0

/* What the sink was told, call by call. */
struct rec {
	int nstation;
	bool station_set;		/* the last station limit was not NULL */
	double station;
	int ncaps;
	int cap_number[32];
	double cap_a[32];
};

static void
on_station(const double *l, void *arg)
{
	struct rec *r = arg;

	r->nstation++;
	r->station_set = l != NULL;
	r->station = l ? l[0] : -1;
	if (l)
		assert_true(l[0] == l[1] && l[1] == l[2]);
}

static void
on_cap(int number, double a, void *arg)
{
	struct rec *r = arg;

	assert_true(r->ncaps < 32);
	r->cap_number[r->ncaps] = number;
	r->cap_a[r->ncaps++] = a;
}

static struct uplink_profiles *
new_set(struct rec *r)
{
	struct uplink_profiles_sink s = { on_station, on_cap, r };

	memset(r, 0, sizeof *r);
	return uplink_profiles_new(&s);
}

/* A profile of id with the given periods (start_s, limit pairs). */
static struct ocpp_profile
profile(int id, enum ocpp_purpose purpose, enum ocpp_unit unit, int n,
    const double *pairs)
{
	struct ocpp_profile p;

	memset(&p, 0, sizeof p);
	p.id = id;
	p.purpose = purpose;
	p.unit = unit;
	p.start_ms = T0;
	p.nperiods = n;
	for (int i = 0; i < n; i++) {
		p.periods[i].start_s = (int)pairs[2 * i];
		p.periods[i].limit = pairs[2 * i + 1];
	}
	return p;
}

static void
test_station_schedule(void **state)
{
	const double periods[] = { 0, 32, 3600, 16 };
	struct rec r;
	struct uplink_profiles *ps = new_set(&r);
	struct ocpp_profile p = profile(1, OCPP_PURPOSE_MAX, OCPP_UNIT_A, 2,
	    periods);

	(void)state;
	p.duration_s = 7200;
	assert_int_equal(uplink_profiles_put(ps, 0, &p, T0 - 5000), 0);
	/* Before its start: no limit, the start is the next change. */
	assert_int_equal(uplink_profiles_apply(ps, T0 - 1000, V), T0);
	assert_false(r.station_set);
	/* The first period, then the second. */
	assert_int_equal(uplink_profiles_apply(ps, T0, V), T0 + 3600000);
	assert_true(r.station_set);
	assert_true(r.station == 32);
	assert_int_equal(uplink_profiles_apply(ps, T0 + 3600000, V),
	    T0 + 7200000);
	assert_true(r.station == 16);
	/* Past its duration: over for good. */
	assert_int_equal(uplink_profiles_apply(ps, T0 + 7200000, V), INT64_MAX);
	assert_false(r.station_set);
	assert_int_equal(uplink_profiles_apply(ps, T0, V), INT64_MAX);
	assert_false(r.station_set);	/* dropped: not back in the past */
	assert_int_equal(r.ncaps, 0);
	uplink_profiles_free(ps);
}

static void
test_watts_and_lowest(void **state)
{
	const double w[] = { 0, 22080 }, a[] = { 0, 40 };
	struct rec r;
	struct uplink_profiles *ps = new_set(&r);
	struct ocpp_profile p1 = profile(1, OCPP_PURPOSE_MAX, OCPP_UNIT_W, 1, w);
	struct ocpp_profile p2 = profile(2, OCPP_PURPOSE_MAX, OCPP_UNIT_A, 1, a);

	(void)state;
	p2.stack_level = 1;
	assert_int_equal(uplink_profiles_put(ps, 0, &p1, T0), 0);
	assert_int_equal(uplink_profiles_put(ps, 0, &p2, T0), 0);
	/* 22080 W over 3 phases at 230 V: 32 A, below the other's 40 A. */
	uplink_profiles_apply(ps, T0, V);
	assert_true(fabs(r.station - 32) < 1e-9);
	/* One phase: 96 A, so the 40 A one is the lowest. */
	p1.periods[0].phases = 1;
	assert_int_equal(uplink_profiles_put(ps, 0, &p1, T0), 0);
	uplink_profiles_apply(ps, T0, V);
	assert_true(r.station == 40);
	uplink_profiles_free(ps);
}

static void
test_evse_caps_and_valid_to(void **state)
{
	const double periods[] = { 0, 10 };
	struct rec r;
	struct uplink_profiles *ps = new_set(&r);
	struct ocpp_profile p = profile(7, OCPP_PURPOSE_TX_DEFAULT, OCPP_UNIT_A,
	    1, periods);

	(void)state;
	p.valid_to_ms = T0 + 60000;
	assert_int_equal(uplink_profiles_put(ps, 3, &p, T0), 0);
	assert_int_equal(uplink_profiles_apply(ps, T0 + 1000, V), T0 + 60000);
	assert_int_equal(r.ncaps, 1);
	assert_int_equal(r.cap_number[0], 3);
	assert_true(r.cap_a[0] == 10);
	assert_false(r.station_set);	/* no station profile */
	/* validTo passed: the cap is cleared once, the profile dropped. */
	assert_int_equal(uplink_profiles_apply(ps, T0 + 60000, V), INT64_MAX);
	assert_int_equal(r.ncaps, 2);
	assert_true(r.cap_a[1] < 0);
	uplink_profiles_apply(ps, T0 + 60001, V);
	assert_int_equal(r.ncaps, 2);
	uplink_profiles_free(ps);
}

static void
test_relative_starts_when_set(void **state)
{
	const double periods[] = { 0, 20, 60, 12 };
	struct rec r;
	struct uplink_profiles *ps = new_set(&r);
	struct ocpp_profile p = profile(1, OCPP_PURPOSE_MAX, OCPP_UNIT_A, 2,
	    periods);

	(void)state;
	p.relative = true;		/* its startSchedule does not count */
	assert_int_equal(uplink_profiles_put(ps, 0, &p, T0 + 500000), 0);
	assert_int_equal(uplink_profiles_apply(ps, T0 + 500000, V),
	    T0 + 560000);
	assert_true(r.station == 20);
	uplink_profiles_free(ps);
}

static void
test_replace_and_capacity(void **state)
{
	const double periods[] = { 0, 20 };
	struct rec r;
	struct uplink_profiles *ps = new_set(&r);
	struct ocpp_profile p = profile(1, OCPP_PURPOSE_TX_DEFAULT, OCPP_UNIT_A,
	    1, periods);
	int i;

	(void)state;
	assert_int_equal(uplink_profiles_put(ps, 2, &p, T0), 0);
	/* Same id: replaced (now on EVSE 4). */
	assert_int_equal(uplink_profiles_put(ps, 4, &p, T0), 0);
	/* Same target, purpose and stack level, another id: replaced. */
	p.id = 2;
	p.periods[0].limit = 8;
	assert_int_equal(uplink_profiles_put(ps, 4, &p, T0), 0);
	uplink_profiles_apply(ps, T0, V);
	assert_int_equal(r.ncaps, 1);
	assert_int_equal(r.cap_number[0], 4);
	assert_true(r.cap_a[0] == 8);
	/* Fill every slot: one more does not fit. */
	for (i = 1; i < UPLINK_MAX_PROFILES; i++) {
		p.id = 100 + i;
		p.stack_level = i;
		assert_int_equal(uplink_profiles_put(ps, 4, &p, T0), 0);
	}
	p.id = 999;
	p.stack_level = 999;
	assert_int_equal(uplink_profiles_put(ps, 4, &p, T0), -1);
	uplink_profiles_free(ps);
}

static void
test_clear_by_criteria(void **state)
{
	const double periods[] = { 0, 20 };
	struct rec r;
	struct uplink_profiles *ps = new_set(&r);
	struct ocpp_profile p = profile(1, OCPP_PURPOSE_MAX, OCPP_UNIT_A, 1,
	    periods);

	(void)state;
	assert_int_equal(uplink_profiles_put(ps, 0, &p, T0), 0);
	p.id = 2;
	p.purpose = OCPP_PURPOSE_TX_DEFAULT;
	assert_int_equal(uplink_profiles_put(ps, 5, &p, T0), 0);
	p.id = 3;
	assert_int_equal(uplink_profiles_put(ps, 6, &p, T0), 0);
	/* Nothing matches: nothing cleared, nothing told. */
	assert_int_equal(uplink_profiles_clear(ps, 42, -1, OCPP_PURPOSE_ANY,
	    -1), 0);
	assert_int_equal(r.ncaps, 0);
	/* By purpose and EVSE: the cap of EVSE 5 goes. */
	assert_int_equal(uplink_profiles_clear(ps, -1, 5,
	    OCPP_PURPOSE_TX_DEFAULT, -1), 1);
	assert_int_equal(r.ncaps, 1);
	assert_int_equal(r.cap_number[0], 5);
	assert_true(r.cap_a[0] < 0);
	/* Everything else. */
	assert_int_equal(uplink_profiles_clear(ps, -1, -1, OCPP_PURPOSE_ANY,
	    -1), 2);
	assert_int_equal(uplink_profiles_apply(ps, T0, V), INT64_MAX);
	assert_false(r.station_set);
	uplink_profiles_free(ps);
}

static void
test_saved_and_loaded(void **state)
{
	const double periods[] = { 0, 32, 900, 11040 };
	struct rec r1, r2;
	struct uplink_profiles *a = new_set(&r1), *b = new_set(&r2);
	struct ocpp_profile p = profile(9, OCPP_PURPOSE_MAX, OCPP_UNIT_W, 2,
	    periods);
	char *text;

	(void)state;
	p.periods[1].phases = 2;
	p.valid_to_ms = T0 + 3600000;
	p.duration_s = 1800;
	assert_int_equal(uplink_profiles_put(a, 0, &p, T0), 0);
	p.id = 10;
	p.purpose = OCPP_PURPOSE_TX_DEFAULT;
	p.unit = OCPP_UNIT_A;
	assert_int_equal(uplink_profiles_put(a, 3, &p, T0), 0);
	text = uplink_profiles_save(a);
	assert_int_equal(uplink_profiles_load(b, text), 2);
	free(text);
	/* The same limits at every step. */
	for (int64_t t = T0 - 1000; t <= T0 + 2000000; t += 450000) {
		int64_t n1 = uplink_profiles_apply(a, t, V);
		int64_t n2 = uplink_profiles_apply(b, t, V);

		assert_int_equal(n1, n2);
		assert_int_equal(r1.station_set, r2.station_set);
		assert_true(r1.station == r2.station);
		assert_int_equal(r1.ncaps, r2.ncaps);
		assert_true(r1.cap_a[r1.ncaps - 1] == r2.cap_a[r2.ncaps - 1]);
	}
	/* Not a saved document: nothing. */
	assert_int_equal(uplink_profiles_load(b, "{broken"), 0);
	uplink_profiles_free(a);
	uplink_profiles_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_station_schedule),
		cmocka_unit_test(test_watts_and_lowest),
		cmocka_unit_test(test_evse_caps_and_valid_to),
		cmocka_unit_test(test_relative_starts_when_set),
		cmocka_unit_test(test_replace_and_capacity),
		cmocka_unit_test(test_clear_by_criteria),
		cmocka_unit_test(test_saved_and_loaded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
