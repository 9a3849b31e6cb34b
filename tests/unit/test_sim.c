/*
 * Unit tests for the simulator's pure parts (sim/): the car (ev: ramping,
 * dropping at once, taper, pause below 6 A, its own maximum, 1-phase,
 * filling the battery), the charger specs (spec: the file read as the
 * gateway reads its configuration, every refusal, generated chargers,
 * grid phases), the profiles (prof: one table of SetChargingProfile and
 * ClearChargingProfile steps, each with the answer and the offer after
 * it, for both versions and every quirk) and the configuration store
 * (cpconf: discovery answers, writes, quirks). Linked with the objects of
 * sim/ev.c, sim/spec.c and sim/prof.c (Makefile, "the simulator").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sim/cpconf.h"
#include "sim/ev.h"
#include "sim/prof.h"
#include "sim/spec.h"
#include "util/isotime.h"

static const struct ev_params car3 = {
	.battery_kwh = 50, .soc = 0.2, .target_soc = 0.9, .max_a = 32,
	.phases = 3, .ramp_a_per_s = 4, .taper_soc = 0.8, .voltage_v = 230,
};

/* One table: a sequence of (offer, phases, dt) steps and the draw after
 * each. */
static void
test_ev_follows_offer(void **state)
{
	static const struct {
		const char *what;
		double max_a;
		int car_phases;
		struct {
			double offer;
			int phases;
			double dt, want;
		} steps[6];
	} cases[] = {
		{ "ramps from 6 A at 4 A/s, holds", 32, 3, {
			{ 16, 3, 0, 6 }, { 16, 3, 1, 10 }, { 16, 3, 1, 14 },
			{ 16, 3, 1, 16 }, { 16, 3, 1, 16 }, { 16, 3, 0, 16 } } },
		{ "drops at once, no time needed", 32, 3, {
			{ 16, 3, 5, 16 }, { 16, 3, 5, 16 }, { 10, 3, 0, 10 },
			{ 7, 3, 0, 7 }, { 12, 3, 0.5, 9 }, { 12, 3, 1, 12 } } },
		{ "pauses below 6 A, restarts at 6", 32, 3, {
			{ 16, 3, 5, 16 }, { 5.9, 3, 0, 0 }, { 5.9, 3, 10, 0 },
			{ 6, 3, 0, 6 }, { 20, 3, 0, 6 }, { 20, 3, 2, 14 } } },
		{ "takes less than offered", 13, 3, {
			{ 32, 3, 10, 13 }, { 32, 3, 1, 13 }, { 10, 3, 0, 10 },
			{ 6, 3, 0, 6 }, { 0, 3, 0, 0 }, { 32, 3, 10, 13 } } },
		{ "1-phase car: same current, one phase", 32, 1, {
			{ 16, 3, 10, 16 }, { 16, 1, 0, 16 }, { 20, 3, 0, 16 },
			{ 20, 3, 1, 20 }, { 3, 3, 0, 0 }, { 6, 3, 0, 6 } } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct ev_params p = car3;
		struct ev ev;

		p.max_a = cases[i].max_a;
		p.phases = cases[i].car_phases;
		ev_init(&ev, &p);
		for (size_t k = 0; k < 6; k++) {
			double a = ev_step(&ev, cases[i].steps[k].offer,
			    cases[i].steps[k].phases, cases[i].steps[k].dt);

			if (a > cases[i].steps[k].want + 1e-9 ||
			    a < cases[i].steps[k].want - 1e-9)
				fail_msg("%s, step %zu: draws %.3f A, want %.3f",
				    cases[i].what, k, a, cases[i].steps[k].want);
			if (a > cases[i].steps[k].offer + 1e-9)
				fail_msg("%s, step %zu: %.3f A above the offer",
				    cases[i].what, k, a);
		}
		assert_int_equal(ev_phases(&ev, 3), cases[i].car_phases);
		assert_int_equal(ev_phases(&ev, 1), 1);
	}
}

static void
test_ev_taper_and_full(void **state)
{
	struct ev_params p = car3;
	struct ev ev;
	double t = 0, prev = 32;

	(void)state;
	p.soc = 0.79;
	p.target_soc = 0.95;
	p.battery_kwh = 10;
	ev_init(&ev, &p);
	/* Full power below 80 %, then falling toward 6 A; never rising. */
	assert_true(ev_wants(&ev, 32) == 32);
	while (!ev_full(&ev) && t < 36000) {
		double a = ev_step(&ev, 32, 3, 1);

		if (ev.soc > 0.8 + 1e-3)
			assert_true(a < 32);
		assert_true(a <= prev + 1e-9 || ev.soc <= 0.8);
		assert_true(a >= 6 - 1e-9);
		prev = a;
		t += 1;
	}
	assert_true(ev_full(&ev));
	assert_true(ev.soc >= 0.95 - 1e-9);
	/* 16 % of 10 kWh, give or take the last second. */
	assert_true(ev.energy_wh > 1590 && ev.energy_wh < 1620);
	assert_true(ev_wants(&ev, 32) == 0);
	assert_true(ev_step(&ev, 32, 3, 1) == 0);
}

static char *
write_temp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof path, "/tmp/test_sim_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
test_spec_load(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *cause;	/* a part of it */
	} cases[] = {
		{ "{\"chargers\": [{\"id\": \"A\"}]}", SPEC_OK, NULL },
		{ "// the gateway's file has comments\n{\"site_id\": \"x\", "
		  "\"chargers\": [{\"id\": \"A\", \"circuit\": \"row-a\", "
		  "\"priority\": 2}]} /* end */", SPEC_OK, NULL },
		{ "{\"chargers\": []}", SPEC_E_PARSE, "non-empty array" },
		{ "{}", SPEC_E_PARSE, "non-empty array" },
		{ "[1]", SPEC_E_PARSE, "non-empty array" },
		{ "{\"chargers\": [{\"id\": \"A\"}]} x", SPEC_E_PARSE, "" },
		{ "{\"chargers\": [{}]}", SPEC_E_PARSE, "chargers[0]: id" },
		{ "{\"chargers\": [{\"id\": \"A\"}, 3]}", SPEC_E_PARSE,
		  "chargers[1]: not an object" },
		{ "{\"chargers\": [{\"id\": \"A\", \"version\": \"2.1\"}]}",
		  SPEC_E_PARSE, "version" },
		{ "{\"chargers\": [{\"id\": \"A\", \"phases\": 2}]}",
		  SPEC_E_PARSE, "phases" },
		{ "{\"chargers\": [{\"id\": \"A\", \"max_current_a\": 5}]}",
		  SPEC_E_PARSE, "max_current_a" },
		{ "{\"chargers\": [{\"id\": \"A\", \"evses\": 9}]}",
		  SPEC_E_PARSE, "evses" },
		{ "{\"chargers\": [{\"id\": \"A\", \"quirks\": \"w_only\"}]}",
		  SPEC_E_PARSE, "quirks: expected an array" },
		{ "{\"chargers\": [{\"id\": \"A\", \"quirks\": [\"fast\"]}]}",
		  SPEC_E_PARSE, "quirks: unknown" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *path = write_temp(cases[i].text), *cause = NULL;
		struct spec_charger *v = (void *)1;
		int n = -1, rc = spec_load(path, &v, &n, &cause);

		if (rc != cases[i].rc)
			fail_msg("case %zu: returned %d, want %d (%s)", i, rc,
			    cases[i].rc, cause ? cause : "");
		if (rc != SPEC_OK) {
			assert_null(v);
			assert_int_equal(n, 0);
			assert_non_null(cause);
			if (strstr(cause, cases[i].cause) == NULL)
				fail_msg("case %zu: \"%s\" does not say \"%s\"", i,
				    cause, cases[i].cause);
		} else {
			assert_int_equal(n, 1);
			assert_string_equal(v[0].id, "A");
		}
		free(cause);
		free(rc == SPEC_OK ? v : NULL);
		unlink(path);
	}
}

static void
test_spec_values(void **state)
{
	char *path = write_temp("{\"chargers\": ["
	    "{\"id\": \"A\"},"
	    "{\"id\": \"B\", \"version\": \"1.6\", \"phases\": 1, "
	    "\"phase_rotation\": \"L3\", \"max_current_a\": 16, \"evses\": 2, "
	    "\"password\": \"p-0123456789abcdef\", \"quirks\": [\"w_only\", "
	    "\"stack_level_0\"]},"
	    "{\"id\": \"C\", \"version\": \"ocpp2.0.1\", \"phase_rotation\": "
	    "\"L2L3L1\", \"quirks\": [\"reject_tx_profile\", "
	    "\"ignore_number_phases\"]}]}");
	struct spec_charger *v, *g;
	char *cause = NULL;
	int n, grid[3];

	(void)state;
	assert_int_equal(spec_load(path, &v, &n, &cause), SPEC_OK);
	unlink(path);
	assert_int_equal(n, 3);
	/* Defaults: 1.6 first (alternating), 3 phases, 32 A, one EVSE. */
	assert_int_equal(v[0].v, OCPP_V16);
	assert_int_equal(v[0].phases, 3);
	assert_true(v[0].max_a == 32);
	assert_int_equal(v[0].evses, 1);
	assert_int_equal(v[0].quirks, 0);
	assert_string_equal(v[0].password, "");
	assert_int_equal(spec_grid_phases(&v[0], grid), 3);
	assert_int_equal(grid[0], 0);
	assert_int_equal(grid[2], 2);
	assert_int_equal(v[1].v, OCPP_V16);
	assert_int_equal(v[1].phases, 1);
	assert_int_equal(v[1].evses, 2);
	assert_string_equal(v[1].password, "p-0123456789abcdef");
	assert_int_equal(v[1].quirks, SPEC_Q_W_ONLY | SPEC_Q_STACK0);
	assert_int_equal(spec_grid_phases(&v[1], grid), 1);
	assert_int_equal(grid[0], 2);
	assert_int_equal(v[2].v, OCPP_V201);
	assert_int_equal(v[2].quirks, SPEC_Q_REJECT_TX | SPEC_Q_IGNORE_PHASES);
	assert_int_equal(spec_grid_phases(&v[2], grid), 3);
	assert_int_equal(grid[0], 1);
	assert_int_equal(grid[1], 2);
	assert_int_equal(grid[2], 0);
	free(v);

	g = spec_generate(8);
	assert_non_null(g);
	assert_string_equal(g[0].id, "SIM-001");
	assert_string_equal(g[7].id, "SIM-008");
	assert_int_equal(g[0].v, OCPP_V16);
	assert_int_equal(g[1].v, OCPP_V201);
	assert_int_equal(g[3].phases, 1);
	assert_int_equal(g[4].phases, 3);
	assert_int_equal(spec_grid_phases(&g[3], grid), 1);
	assert_int_equal(grid[0], 0);
	free(g);
	assert_int_equal(spec_quirk_parse(NULL), 0);
	assert_int_equal(spec_quirk_parse("W_ONLY"), 0);
}

#define T0 1800000000000LL	/* the time of every step, ms */

/* A SetChargingProfile payload. v16; evse; id; stack; purpose; tx ("" for
 * none); unit; limit; phases (0: none); valid_to (ms, 0: none); periods
 * after the first: start s and limit (0 0: none). */
static cJSON *
set_payload(bool v16, int evse, int id, int stack, const char *purpose,
    const char *tx, const char *unit, double limit, int phases,
    int64_t valid_to, double p2_start, double p2_limit)
{
	cJSON *o = cJSON_CreateObject(), *prof, *sched, *per, *q;
	char ts[ISOTIME_LEN];

	cJSON_AddNumberToObject(o, v16 ? "connectorId" : "evseId", evse);
	prof = cJSON_AddObjectToObject(o, v16 ? "csChargingProfiles" :
	    "chargingProfile");
	cJSON_AddNumberToObject(prof, v16 ? "chargingProfileId" : "id", id);
	cJSON_AddNumberToObject(prof, "stackLevel", stack);
	cJSON_AddStringToObject(prof, "chargingProfilePurpose", purpose);
	cJSON_AddStringToObject(prof, "chargingProfileKind", "Absolute");
	if (tx[0] != '\0') {
		if (v16)
			cJSON_AddNumberToObject(prof, "transactionId", atoi(tx));
		else
			cJSON_AddStringToObject(prof, "transactionId", tx);
	}
	if (valid_to)
		cJSON_AddStringToObject(prof, "validTo",
		    isotime_format(valid_to, ts));
	if (v16) {
		sched = cJSON_AddObjectToObject(prof, "chargingSchedule");
	} else {
		sched = cJSON_CreateObject();
		cJSON_AddItemToArray(cJSON_AddArrayToObject(prof,
		    "chargingSchedule"), sched);
		cJSON_AddNumberToObject(sched, "id", 1);
	}
	cJSON_AddStringToObject(sched, "startSchedule",
	    isotime_format(T0 - 10000, ts));
	cJSON_AddStringToObject(sched, "chargingRateUnit", unit);
	per = cJSON_AddArrayToObject(sched, "chargingSchedulePeriod");
	q = cJSON_CreateObject();
	cJSON_AddNumberToObject(q, "startPeriod", 0);
	cJSON_AddNumberToObject(q, "limit", limit);
	if (phases)
		cJSON_AddNumberToObject(q, "numberPhases", phases);
	cJSON_AddItemToArray(per, q);
	if (p2_start > 0) {
		q = cJSON_CreateObject();
		cJSON_AddNumberToObject(q, "startPeriod", p2_start);
		cJSON_AddNumberToObject(q, "limit", p2_limit);
		cJSON_AddItemToArray(per, q);
	}
	return o;
}

/* One table: steps on one charger, each an install (or a clear, or the
 * end of the transaction) with the answer wanted and the offer to EVSE 1
 * after it, at T0 + at_ms. */
static void
test_prof(void **state)
{
	enum { SET, CLEAR_ID, END_TX };
	static const struct {
		const char *what;
		bool v16;
		unsigned quirks;
		int op, id, stack, evse;
		const char *purpose, *tx, *unit;
		double limit;
		int phases;
		int64_t valid_to;
		double p2_start, p2_limit;
		const char *why;	/* NULL: installed */
		int64_t at_ms;
		double want_a;
		int want_phases;
		bool limited;
	} steps[] = {
		/* 1.6, 3 phases, 32 A, transaction "7" on EVSE 1 */
		{ "1.6 base", true, 0, SET, 1, 0, 0, "TxDefaultProfile", "", "A",
		  16, 0, 0, 0, 0, NULL, 0, 16, 3, true },
		{ "1.6 idle EVSE", true, 0, SET, 2, 1, 1, "TxDefaultProfile", "",
		  "A", 0, 0, 0, 0, 0, NULL, 0, 0, 3, true },
		{ "1.6 TxProfile", true, 0, SET, 3, 1, 1, "TxProfile", "7", "A",
		  20, 0, 0, 0, 0, NULL, 0, 20, 3, true },
		{ "1.6 another transaction", true, 0, SET, 4, 1, 1, "TxProfile",
		  "8", "A", 10, 0, 0, 0, 0, "TxNotFound", 0, 20, 3, true },
		{ "1.6 same stack and purpose replaces", true, 0, SET, 4, 1, 1,
		  "TxProfile", "7", "A", 10, 0, 0, 0, 0, NULL, 0, 10, 3, true },
		{ "1.6 above the hardware", true, 0, SET, 4, 1, 1, "TxProfile",
		  "7", "A", 40, 0, 0, 0, 0, NULL, 0, 32, 3, true },
		{ "1.6 W on one phase", true, 0, SET, 4, 1, 1, "TxProfile", "7",
		  "W", 6900, 1, 0, 0, 0, NULL, 0, 30, 1, true },
		{ "1.6 expired: the default beneath", true, 0, SET, 4, 1, 1,
		  "TxProfile", "7", "A", 20, 0, T0 - 1, 0, 0, NULL, 0, 0, 3,
		  true },
		{ "1.6 stack above 3", true, 0, SET, 5, 4, 1, "TxProfile", "7",
		  "A", 20, 0, 0, 0, 0, "InvalidStackLevel", 0, 0, 3, true },
		{ "1.6 periods over time", true, 0, SET, 4, 1, 1, "TxProfile",
		  "7", "A", 20, 0, 0, 15, 8, NULL, 0, 20, 3, true },
		{ "1.6 ...the second period", true, 0, SET, 4, 1, 1, "TxProfile",
		  "7", "A", 20, 0, 0, 15, 8, NULL, 6000, 8, 3, true },
		{ "1.6 transaction ends", true, 0, END_TX, 0, 0, 1, "", "", "",
		  0, 0, 0, 0, 0, NULL, 0, 0, 3, true },
		{ "1.6 idle profile cleared", true, 0, CLEAR_ID, 2, 0, 0, "", "",
		  "", 0, 0, 0, 0, 0, NULL, 0, 16, 3, true },
		{ "1.6 charger maximum", true, 0, SET, 6, 0, 0,
		  "ChargePointMaxProfile", "", "A", 12, 0, 0, 0, 0, NULL, 0, 12,
		  3, true },
	};
	static const struct {
		const char *what;
		unsigned quirks;
		const char *purpose, *unit;
		int id, stack, phases;
		double limit;
		const char *why;
		double want_a;
		int want_phases;
	} v201[] = {
		{ "2.0.1 TxProfile", 0, "TxProfile", "A", 1, 1, 0, 20, NULL, 20, 3 },
		{ "2.0.1 another id, same stack and purpose", 0, "TxProfile", "A",
		  2, 1, 0, 10, "DuplicateProfile", 20, 3 },
		{ "reject_tx_profile", SPEC_Q_REJECT_TX, "TxProfile", "A", 1, 1, 0,
		  20, "TxProfileNotSupported", 32, 3 },
		{ "stack_level_0", SPEC_Q_STACK0, "TxProfile", "A", 1, 1, 0, 20,
		  "InvalidStackLevel", 32, 3 },
		{ "stack_level_0, at 0", SPEC_Q_STACK0, "TxProfile", "A", 1, 0, 0,
		  20, NULL, 20, 3 },
		{ "w_only, A", SPEC_Q_W_ONLY, "TxProfile", "A", 1, 1, 0, 20,
		  "UnsupportedRateUnit", 32, 3 },
		{ "w_only, W", SPEC_Q_W_ONLY, "TxProfile", "W", 1, 1, 0, 6900,
		  NULL, 10, 3 },
		{ "ignore_number_phases", SPEC_Q_IGNORE_PHASES, "TxProfile", "W",
		  1, 1, 1, 6900, NULL, 10, 3 },
		{ "numberPhases honoured", 0, "TxProfile", "W", 1, 1, 1, 6900,
		  NULL, 30, 1 },
	};
	struct prof_opts po = { OCPP_V16, 1, 3, 32, 230, 0 };
	struct prof_tx tx[1] = { { "7", T0 - 60000 } };
	struct prof_set *s = prof_set_new(&po);
	struct prof_offer o;

	(void)state;
	assert_non_null(s);
	prof_set_offer(s, 1, &tx[0], T0, &o);
	assert_true(o.a == 32 && o.phases == 3 && !o.limited);
	for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
		const char *why = NULL;

		if (steps[i].op == SET) {
			cJSON *p = set_payload(true, steps[i].evse, steps[i].id,
			    steps[i].stack, steps[i].purpose, steps[i].tx,
			    steps[i].unit, steps[i].limit, steps[i].phases,
			    steps[i].valid_to, steps[i].p2_start,
			    steps[i].p2_limit);

			why = prof_set_install(s, p, tx, T0, NULL);
			cJSON_Delete(p);
		} else if (steps[i].op == CLEAR_ID) {
			cJSON *p = cJSON_CreateObject();

			cJSON_AddNumberToObject(p, "id", steps[i].id);
			assert_int_equal(prof_set_clear(s, p), 1);
			cJSON_Delete(p);
		} else {
			prof_set_end_tx(s, 1);
			tx[0].id = "";
		}
		if ((why == NULL) != (steps[i].why == NULL) ||
		    (why && strcmp(why, steps[i].why) != 0))
			fail_msg("%s: answered %s, want %s", steps[i].what,
			    why ? why : "installed", steps[i].why ?
			    steps[i].why : "installed");
		prof_set_offer(s, 1, &tx[0], T0 + steps[i].at_ms, &o);
		if (o.a < steps[i].want_a - 1e-9 || o.a > steps[i].want_a + 1e-9 ||
		    o.phases != steps[i].want_phases ||
		    o.limited != steps[i].limited)
			fail_msg("%s: offer %.2f A on %d phases, want %.2f on %d",
			    steps[i].what, o.a, o.phases, steps[i].want_a,
			    steps[i].want_phases);
	}
	prof_set_free(s);

	/* 2.0.1: each case on a fresh charger with the first case's
	 * TxProfile installed first where it says DuplicateProfile. */
	for (size_t i = 0; i < sizeof v201 / sizeof *v201; i++) {
		struct prof_opts p2 = { OCPP_V201, 1, 3, 32, 230, v201[i].quirks };
		struct prof_tx t2[1] = { { "T-1", T0 - 60000 } };
		cJSON *p;
		const char *why;

		s = prof_set_new(&p2);
		if (v201[i].why && !strcmp(v201[i].why, "DuplicateProfile")) {
			p = set_payload(false, 1, 1, 1, "TxProfile", "T-1", "A", 20,
			    0, 0, 0, 0);
			assert_null(prof_set_install(s, p, t2, T0, NULL));
			cJSON_Delete(p);
		}
		p = set_payload(false, 1, v201[i].id, v201[i].stack,
		    v201[i].purpose, "T-1", v201[i].unit, v201[i].limit,
		    v201[i].phases, 0, 0, 0);
		why = prof_set_install(s, p, t2, T0, NULL);
		cJSON_Delete(p);
		if ((why == NULL) != (v201[i].why == NULL) ||
		    (why && strcmp(why, v201[i].why) != 0))
			fail_msg("%s: answered %s, want %s", v201[i].what,
			    why ? why : "installed", v201[i].why ? v201[i].why :
			    "installed");
		prof_set_offer(s, 1, &t2[0], T0, &o);
		if (o.a < v201[i].want_a - 1e-9 || o.a > v201[i].want_a + 1e-9 ||
		    o.phases != v201[i].want_phases)
			fail_msg("%s: offer %.2f A on %d phases, want %.2f on %d",
			    v201[i].what, o.a, o.phases, v201[i].want_a,
			    v201[i].want_phases);
		prof_set_free(s);
	}
}

static void
test_cpconf(void **state)
{
	struct cpconf c;
	char buf[32];
	cJSON *req, *res;

	(void)state;
	cpconf_init(&c, 2, false, false);
	assert_string_equal(cpconf_get(&c, "", "NumberOfConnectors", buf,
	    sizeof buf), "2");
	assert_string_equal(cpconf_get(&c, "SmartChargingCtrlr", "RateUnit",
	    buf, sizeof buf), "A,W");
	assert_null(cpconf_get(&c, "", "NoSuchKey", buf, sizeof buf));
	assert_string_equal(cpconf_set(&c, "SampledDataCtrlr",
	    "TxUpdatedInterval", "5"), "Accepted");
	assert_string_equal(cpconf_get(&c, "", "MeterValueSampleInterval", buf,
	    sizeof buf), "5");
	assert_string_equal(cpconf_set(&c, "", "MeterValueSampleInterval", "0"),
	    "Accepted");
	assert_int_equal(c.meter_interval_s, CPCONF_DEFAULT_INTERVAL_S);
	assert_string_equal(cpconf_set(&c, "", "MeterValueSampleInterval",
	    "5s"), "Rejected");
	assert_string_equal(cpconf_set(&c, "", "NumberOfConnectors", "3"),
	    "Rejected");
	assert_null(cpconf_set(&c, "", "NoSuchKey", "1"));

	cpconf_init(&c, 1, true, true);
	assert_string_equal(cpconf_get(&c, "",
	    "ChargingScheduleAllowedChargingRateUnit", buf, sizeof buf), "Power");
	assert_string_equal(cpconf_get(&c, "SmartChargingCtrlr",
	    "ProfileStackLevel", buf, sizeof buf), "0");

	req = cJSON_Parse("{\"key\": [\"ChargeProfileMaxStackLevel\", \"Nope\"]}");
	res = cpconf_get_configuration(&c, req);
	assert_string_equal(json_str(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(res, "configurationKey"), 0), "value"), "0");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(res,
	    "unknownKey"), 0)->valuestring, "Nope");
	cJSON_Delete(req);
	cJSON_Delete(res);
	req = cJSON_Parse("{\"setVariableData\": [{\"component\": {\"name\": "
	    "\"SampledDataCtrlr\"}, \"variable\": {\"name\": "
	    "\"TxUpdatedMeasurands\"}, \"attributeValue\": \"Current.Import\"},"
	    "{\"component\": {\"name\": \"X\"}, \"variable\": {\"name\": \"Y\"},"
	    "\"attributeValue\": \"1\"}]}");
	res = cpconf_variables(&c, true, req);
	assert_string_equal(json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(res,
	    "setVariableResult"), 0), "attributeStatus"), "Accepted");
	assert_string_equal(json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(res,
	    "setVariableResult"), 1), "attributeStatus"), "UnknownComponent");
	assert_string_equal(c.measurands, "Current.Import");
	cJSON_Delete(req);
	cJSON_Delete(res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ev_follows_offer),
		cmocka_unit_test(test_ev_taper_and_full),
		cmocka_unit_test(test_spec_load),
		cmocka_unit_test(test_spec_values),
		cmocka_unit_test(test_prof),
		cmocka_unit_test(test_cpconf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
