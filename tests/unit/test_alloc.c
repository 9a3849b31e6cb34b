/*
 * Unit tests for policy/alloc: one test (or more) per rule of issue 5, and
 * the worked example of policy/README.md. Expected numbers are derived by
 * hand in the comments (or in the README for the example), never copied
 * from the allocator's own output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "policy/alloc.h"

#define MAXN 8
#define MAXE 8
#define S(x) ((uint64_t)(x) * 1000)	/* seconds to ms */

struct fx {
	struct alloc_node_desc node[MAXN];
	struct alloc_evse_desc ev[MAXE];
	struct alloc_evse_in in[MAXE];
	struct alloc_evse_out out[MAXE];
	struct alloc_node_out nout[MAXN];
	size_t nn, ne;
	struct alloc_settings set;
	double root[3];
	struct alloc_site *site;
};

#define assert_amp(actual, expected) do {				\
	double a_ = (actual), e_ = (expected);				\
	if (fabs(a_ - e_) > 1e-9)					\
		fail_msg("%s = %.4f, expected %.4f", #actual, a_, e_);	\
} while (0)

static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof *f);
	alloc_settings_default(&f->set);
	f->root[0] = f->root[1] = f->root[2] = INFINITY;
}

static int
fx_node(struct fx *f, int parent, double l1, double l2, double l3,
    const char *name)
{
	struct alloc_node_desc *n = &f->node[f->nn];

	n->parent = parent;
	n->limit_a[0] = l1;
	n->limit_a[1] = l2;
	n->limit_a[2] = l3;
	n->name = name;
	return (int)f->nn++;
}

/* A charging EVSE; sessions start in index order, one second apart. */
static int
fx_ev(struct fx *f, int node, int phases, int rot_or_phase, double max,
    int prio)
{
	size_t i = f->ne++;

	f->ev[i].node = node;
	f->ev[i].phases = phases;
	if (phases == 3)
		f->ev[i].rotation = (enum alloc_rotation)rot_or_phase;
	else
		f->ev[i].grid_phase = rot_or_phase;
	f->in[i].state = ALLOC_ST_CHARGING;
	f->in[i].has_session = 1;
	f->in[i].max_a = max;
	f->in[i].priority = prio;
	f->in[i].session_start_ms = S(i + 1);
	/* draws what it may, so reclaim stays out of the way */
	f->in[i].measured_a[0] = f->in[i].measured_a[1] =
	    f->in[i].measured_a[2] = max;
	return (int)i;
}

static void
fx_build(struct fx *f)
{
	struct alloc_site_desc d = {
		.nodes = f->node, .n_nodes = f->nn,
		.evses = f->ev, .n_evses = f->ne,
		.settings = f->set,
	};

	f->site = alloc_site_new(&d);
	assert_non_null(f->site);
}

static int
fx_run(struct fx *f, uint64_t now)
{
	struct alloc_input in = {
		.root_limit_a = { f->root[0], f->root[1], f->root[2] },
		.evse = f->in, .n_evse = f->ne,
	};
	struct alloc_output out = {
		.evse = f->out, .n_evse = f->ne,
		.node = f->nout, .n_node = f->nn,
	};

	return alloc_allocate(f->site, &in, now, &out);
}

static void
fx_ok(struct fx *f, uint64_t now)
{
	assert_int_equal(fx_run(f, now), ALLOC_OK);
}

static void
fx_free(struct fx *f)
{
	alloc_site_free(f->site);
	f->site = NULL;
}

static void
assert_reason(const struct alloc_evse_out *o, enum alloc_reason r, int node,
    int phase)
{
	if (o->reason != r || o->node != node || o->phase != phase)
		fail_msg("reason %s node %d phase %d, expected %s node %d "
		    "phase %d", alloc_reason_code(o->reason), o->node,
		    o->phase, alloc_reason_code(r), node, phase);
}

/* ---------------------------------------------------- worked example */

/*
 * policy/README.md, "Worked example": a 63 A site, circuits row-a (40 A)
 * and row-b (40 A), five chargers. The numbers are derived there.
 */
static void
example_site(struct fx *f)
{
	int root, a, b;

	fx_init(f);
	root = fx_node(f, -1, 63, 63, 63, "grid");
	a = fx_node(f, root, 40, 40, 40, "row-a");
	b = fx_node(f, root, 40, 40, 40, "row-b");
	fx_ev(f, a, 3, ALLOC_ROT_L1L2L3, 32, 0);	/* E1 */
	fx_ev(f, a, 1, 0, 32, 0);			/* E2 on L1 */
	fx_ev(f, b, 3, ALLOC_ROT_L2L3L1, 16, 1);	/* E3, priority 1 */
	fx_ev(f, b, 1, 1, 32, 0);			/* E4 on L2 */
	fx_ev(f, b, 3, ALLOC_ROT_L3L1L2, 32, 0);	/* E5, can switch */
	f->in[4].can_switch_phases = 1;
	fx_build(f);
}

static void
test_worked_example(void **state)
{
	struct fx f;
	char text[128];

	(void)state;
	example_site(&f);

	/* Step 1: the full 63 A. */
	fx_ok(&f, S(100));
	assert_amp(f.out[0].limit_a, 17.5);
	assert_reason(&f.out[0], ALLOC_R_SITE_LIMIT, 0, 0);
	assert_amp(f.out[1].limit_a, 17.5);
	assert_reason(&f.out[1], ALLOC_R_SITE_LIMIT, 0, 0);
	assert_amp(f.out[2].limit_a, 16);
	assert_reason(&f.out[2], ALLOC_R_EV_MAX, -1, -1);
	assert_amp(f.out[3].limit_a, 12);
	assert_reason(&f.out[3], ALLOC_R_CIRCUIT, 2, 1);
	assert_amp(f.out[4].limit_a, 12);
	assert_reason(&f.out[4], ALLOC_R_CIRCUIT, 2, 1);
	assert_int_equal(f.out[4].phases, 3);
	assert_amp(f.nout[0].allocated_a[0], 63);
	assert_amp(f.nout[0].allocated_a[1], 57.5);
	assert_amp(f.nout[0].allocated_a[2], 45.5);
	assert_amp(f.nout[2].allocated_a[1], 40);
	assert_int_equal(alloc_reason_text(f.site, &f.out[3], text,
	    sizeof text), 0);
	assert_string_equal(text, "limited by circuit row-b on L2");
	assert_int_equal(alloc_reason_text(f.site, &f.out[0], text,
	    sizeof text), 0);
	assert_string_equal(text, "limited by the site limit on L1");

	/* Step 2: the EMS lowers the site to 32 A; E5 goes to one phase. */
	f.root[0] = f.root[1] = f.root[2] = 32;
	fx_ok(&f, S(110));
	assert_amp(f.out[0].limit_a, 8);
	assert_reason(&f.out[0], ALLOC_R_SITE_LIMIT, 0, 0);
	assert_amp(f.out[1].limit_a, 8);
	assert_reason(&f.out[1], ALLOC_R_SITE_LIMIT, 0, 0);
	assert_amp(f.out[2].limit_a, 16);
	assert_amp(f.out[3].limit_a, 8);
	assert_reason(&f.out[3], ALLOC_R_SITE_LIMIT, 0, 1);
	assert_amp(f.out[4].limit_a, 8);
	assert_int_equal(f.out[4].phases, 1);
	assert_int_equal(f.out[4].switched, 1);
	assert_reason(&f.out[4], ALLOC_R_SITE_LIMIT, 0, 2);
	assert_amp(f.out[4].grid_a[2], 8);
	assert_amp(f.out[4].grid_a[0], 0);
	for (int p = 0; p < 3; p++)
		assert_amp(f.nout[0].allocated_a[p], 32);

	/* Step 3: 20 A; only the priority-1 charger still fits. */
	f.root[0] = f.root[1] = f.root[2] = 20;
	fx_ok(&f, S(120));
	assert_amp(f.out[2].limit_a, 16);
	assert_amp(f.out[0].limit_a, 0);
	assert_reason(&f.out[0], ALLOC_R_PRIORITY, 0, 0);
	assert_amp(f.out[1].limit_a, 0);
	assert_reason(&f.out[1], ALLOC_R_PRIORITY, 0, 0);
	assert_amp(f.out[3].limit_a, 0);
	assert_reason(&f.out[3], ALLOC_R_PRIORITY, 0, 1);
	assert_amp(f.out[4].limit_a, 0);
	assert_reason(&f.out[4], ALLOC_R_PRIORITY, 0, 2);
	assert_int_equal(f.out[4].phases, 1);
	assert_int_equal(alloc_reason_text(f.site, &f.out[3], text,
	    sizeof text), 0);
	assert_string_equal(text,
	    "paused: higher-priority sessions use the site limit L2");
	fx_free(&f);
}

/* ------------------------------------------------------------ safety */

/* An offline EVSE with a session is counted at its maximum; without a
 * session it counts for nothing. Faulted and uncontrollable alike. */
static void
test_safety_offline_assumed_at_max(void **state)
{
	static const enum alloc_state sts[] = {
		ALLOC_ST_OFFLINE, ALLOC_ST_FAULTED, ALLOC_ST_UNCONTROLLABLE,
	};
	struct fx f;

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		fx_init(&f);
		fx_node(&f, -1, 32, 32, 32, NULL);
		fx_ev(&f, 0, 3, ALLOC_ROT_L1L2L3, 20, 0);
		fx_ev(&f, 0, 3, ALLOC_ROT_L1L2L3, 32, 0);
		f.in[0].state = sts[k];
		f.in[0].measured_a[0] = f.in[0].measured_a[1] =
		    f.in[0].measured_a[2] = 3;	/* not trusted */
		fx_build(&f);
		fx_ok(&f, S(1));
		/* 32 - 20 assumed = 12 left */
		assert_amp(f.out[0].limit_a, 20);
		assert_reason(&f.out[0], ALLOC_R_UNCONTROLLABLE, -1, -1);
		assert_amp(f.out[0].grid_a[1], 20);
		assert_amp(f.out[1].limit_a, 12);
		assert_reason(&f.out[1], ALLOC_R_SITE_LIMIT, 0, 0);
		assert_amp(f.nout[0].assumed_a[2], 20);

		f.in[0].has_session = 0;
		fx_ok(&f, S(2));
		assert_amp(f.out[0].limit_a, 0);
		assert_reason(&f.out[0], ALLOC_R_UNAVAILABLE, -1, -1);
		assert_amp(f.out[1].limit_a, 32);
		fx_free(&f);
	}
}

/* With trust_measured, the measured draw is assumed instead, mapped from
 * the EVSE's phases onto the grid's through its rotation. */
static void
test_safety_trust_measured(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.set.trust_measured = 1;
	fx_node(&f, -1, 32, 32, 32, NULL);
	fx_ev(&f, 0, 3, ALLOC_ROT_L2L3L1, 32, 0);	/* offline */
	fx_ev(&f, 0, 1, 1, 32, 0);			/* on L2 */
	fx_ev(&f, 0, 1, 0, 32, 0);			/* on L1 */
	fx_ev(&f, 0, 1, 2, 32, 0);			/* on L3 */
	f.in[0].state = ALLOC_ST_OFFLINE;
	f.in[0].measured_a[0] = 10;	/* its L1 is the grid's L2 */
	f.in[0].measured_a[1] = 4.05;	/* its L2 is L3; rounded up: 4.1 */
	f.in[0].measured_a[2] = 0;	/* its L3 is L1 */
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].grid_a[0], 0);
	assert_amp(f.out[0].grid_a[1], 10);
	assert_amp(f.out[0].grid_a[2], 4.1);
	assert_amp(f.out[1].limit_a, 22);	/* L2: 32 - 10 */
	assert_amp(f.out[2].limit_a, 32);	/* L1: free */
	assert_amp(f.out[3].limit_a, 27.9);	/* L3: 32 - 4.1 */
	fx_free(&f);
}

/*
 * The assumed draw alone exceeds a limit: the call succeeds with
 * ALLOC_OVERLOADED, the node says which phase, every controllable EVSE on
 * that node and phase gets 0, and the other phases are still used.
 */
static void
test_safety_overloaded(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 100, 100, 100, NULL);
	fx_node(&f, 0, 20, 20, 20, "row-a");
	fx_ev(&f, 1, 1, 0, 32, 0);		/* uncontrollable on L1 */
	fx_ev(&f, 1, 1, 0, 32, 0);		/* L1 */
	fx_ev(&f, 1, 3, ALLOC_ROT_L1L2L3, 32, 0);
	fx_ev(&f, 1, 1, 1, 32, 0);		/* L2 */
	f.in[0].state = ALLOC_ST_UNCONTROLLABLE;
	fx_build(&f);
	assert_int_equal(fx_run(&f, S(1)), ALLOC_OVERLOADED);
	assert_int_equal(f.nout[1].overloaded, 1u);	/* L1 only */
	assert_int_equal(f.nout[0].overloaded, 0u);
	assert_amp(f.nout[1].assumed_a[0], 32);
	assert_amp(f.out[1].limit_a, 0);
	assert_reason(&f.out[1], ALLOC_R_BELOW_MIN, 1, 0);
	assert_amp(f.out[2].limit_a, 0);
	assert_reason(&f.out[2], ALLOC_R_BELOW_MIN, 1, 0);
	assert_amp(f.out[3].limit_a, 20);	/* L2 is fine */
	assert_amp(f.nout[1].allocated_a[0], 0);
	fx_free(&f);
}

/* ----------------------------------------------------------- minimum */

/* 10 A for two chargers with a 6 A minimum: one gets 10, not 5 + 5. */
static void
test_min_zero_or_min(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 10, 10, 10, NULL);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 10);
	assert_amp(f.out[1].limit_a, 0);
	assert_reason(&f.out[1], ALLOC_R_BELOW_MIN, 0, 0);
	fx_free(&f);
}

/* An EVSE's own minimum, when above the site's, is its floor: 18 A for a
 * min-10 and a min-6 charger gives 10 + 8, not 9 + 9. */
static void
test_min_per_evse(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 100, 100, 100, NULL);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	f.in[0].min_a = 10;
	f.root[0] = 18;
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 10);
	assert_amp(f.out[1].limit_a, 8);
	/* 22 A: both rise together past 10: 11 + 11 */
	f.root[0] = 22;
	fx_ok(&f, S(2));
	assert_amp(f.out[0].limit_a, 11);
	assert_amp(f.out[1].limit_a, 11);
	fx_free(&f);
}

/* Not everyone fits: the lowest priority is paused first, even though it
 * started first. Priority 2 and 1 (max 8 each) take 16 of 20 A; 4 A left
 * is below the 6 A minimum. */
static void
test_pause_lowest_priority_first(void **state)
{
	struct fx f;
	char text[128];

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 20, 20, 20, NULL);
	fx_ev(&f, 0, 1, 0, 32, 0);	/* earliest session, priority 0 */
	fx_ev(&f, 0, 1, 0, 8, 2);
	fx_ev(&f, 0, 1, 0, 8, 1);
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[1].limit_a, 8);
	assert_amp(f.out[2].limit_a, 8);
	assert_amp(f.out[0].limit_a, 0);
	assert_reason(&f.out[0], ALLOC_R_PRIORITY, 0, 0);
	assert_int_equal(alloc_reason_text(f.site, &f.out[0], text,
	    sizeof text), 0);
	assert_string_equal(text,
	    "paused: higher-priority sessions use the site limit L1");
	fx_free(&f);
}

/* Same priority: the most recently started is paused first. 15 A fits two
 * minimums; sessions started at 300, 100 and 200 s. */
static void
test_pause_most_recent_first(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 15, 15, 15, NULL);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	f.in[0].session_start_ms = S(300);
	f.in[1].session_start_ms = S(100);
	f.in[2].session_start_ms = S(200);
	fx_build(&f);
	fx_ok(&f, S(400));
	assert_amp(f.out[0].limit_a, 0);
	assert_reason(&f.out[0], ALLOC_R_BELOW_MIN, 0, 0);
	assert_amp(f.out[1].limit_a, 7.5);
	assert_amp(f.out[2].limit_a, 7.5);
	fx_free(&f);
}

/*
 * Rotation: three chargers, room for two minimums (13 A). Over twelve
 * hours with a 15 min period, each charges two turns out of three, within
 * one period of the others; without rotation the last one never charges.
 */
static void
rotation_run(uint64_t period, unsigned minutes[3])
{
	struct fx f;

	fx_init(&f);
	f.set.rotation_period_ms = period;
	fx_node(&f, -1, 13, 13, 13, NULL);
	for (int i = 0; i < 3; i++)
		fx_ev(&f, 0, 1, 0, 32, 0);
	fx_build(&f);
	minutes[0] = minutes[1] = minutes[2] = 0;
	for (uint64_t t = 0; t < 12 * 60; t++) {
		unsigned on = 0;

		fx_ok(&f, S(600 + 60 * t));
		for (int i = 0; i < 3; i++) {
			if (f.out[i].limit_a > 0) {
				minutes[i]++;
				on++;
				assert_amp(f.out[i].limit_a, 6.5);
			} else if (period > 0)
				assert_int_equal(f.out[i].reason,
				    ALLOC_R_ROTATION);
		}
		assert_int_equal(on, 2);
	}
	fx_free(&f);
}

static void
test_rotation_takes_turns(void **state)
{
	unsigned m[3];

	(void)state;
	rotation_run(S(15 * 60), m);
	for (int i = 0; i < 3; i++) {
		/* 2/3 of 720 minutes = 480, give or take one 15 min turn */
		if (m[i] < 480 - 15 || m[i] > 480 + 15)
			fail_msg("charger %d charged %u of 720 minutes", i,
			    m[i]);
	}
	rotation_run(0, m);
	assert_int_equal(m[0], 720);
	assert_int_equal(m[1], 720);
	assert_int_equal(m[2], 0);
}

/* ---------------------------------------------------------- fairness */

/* A higher tier is served first: priority 1 takes its 20 A maximum, the
 * other gets the 12 A left (not 16 + 16). */
static void
test_priority_tier_first(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 32, 32, 32, NULL);
	fx_ev(&f, 0, 3, ALLOC_ROT_L1L2L3, 32, 0);
	fx_ev(&f, 0, 3, ALLOC_ROT_L1L2L3, 20, 1);
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[1].limit_a, 20);
	assert_reason(&f.out[1], ALLOC_R_EV_MAX, -1, -1);
	assert_amp(f.out[0].limit_a, 12);
	assert_reason(&f.out[0], ALLOC_R_SITE_LIMIT, 0, 0);
	fx_free(&f);
}

/*
 * Water-filling across levels: row-a (10 A) holds two chargers on L1, so
 * they stop at 5 A each; the site's L1 (40 A) then has 30 A for the three
 * under row-b: 10 A each, the 3-phase one on all its phases.
 */
static void
test_fairness_water_filling(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 40, 40, 40, NULL);
	fx_node(&f, 0, 10, 10, 10, "row-a");
	fx_node(&f, 0, 100, 100, 100, "row-b");
	fx_ev(&f, 1, 1, 0, 32, 0);
	fx_ev(&f, 1, 1, 0, 32, 0);
	fx_ev(&f, 2, 1, 0, 32, 0);
	fx_ev(&f, 2, 1, 0, 32, 0);
	fx_ev(&f, 2, 3, ALLOC_ROT_L1L2L3, 32, 0);
	f.set.min_current_a = 1;
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 5);
	assert_reason(&f.out[0], ALLOC_R_CIRCUIT, 1, 0);
	assert_amp(f.out[1].limit_a, 5);
	for (int i = 2; i < 5; i++) {
		assert_amp(f.out[i].limit_a, 10);
		assert_reason(&f.out[i], ALLOC_R_SITE_LIMIT, 0, 0);
	}
	assert_amp(f.out[4].grid_a[2], 10);
	fx_free(&f);
}

/* Per phase: L1 is shared by a 1-phase and a 3-phase charger (15 + 15 of
 * 30 A); L2 has room, so the 1-phase charger there gets its 32 A. */
static void
test_fairness_per_phase(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 30, 60, 60, NULL);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 3, ALLOC_ROT_L3L2L1, 32, 0);
	fx_ev(&f, 0, 1, 1, 32, 0);
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 15);
	assert_amp(f.out[1].limit_a, 15);
	assert_reason(&f.out[1], ALLOC_R_SITE_LIMIT, 0, 0);
	assert_amp(f.out[2].limit_a, 32);
	assert_reason(&f.out[2], ALLOC_R_EV_MAX, -1, -1);
	assert_amp(f.nout[0].allocated_a[1], 47);
	fx_free(&f);
}

/* Work-conserving: what one cannot take goes to the others (6 and 10 A
 * maxima leave 16 of 32 A for the third). */
static void
test_work_conserving(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 32, 32, 32, NULL);
	fx_ev(&f, 0, 1, 0, 6, 0);
	fx_ev(&f, 0, 1, 0, 10, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 6);
	assert_amp(f.out[1].limit_a, 10);
	assert_amp(f.out[2].limit_a, 16);
	assert_amp(f.nout[0].allocated_a[0], 32);
	fx_free(&f);
}

/* Resolution: 10 A over three chargers is 3.4 + 3.3 + 3.3 (multiples of
 * 0.1 A, all of it used, the extra 0.1 A to the earliest session); a
 * limit of 10.07 A counts as 10.0 A. */
static void
test_resolution(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.set.min_current_a = 1;
	fx_node(&f, -1, 10.07, 10.07, 10.07, NULL);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 3.4);
	assert_amp(f.out[1].limit_a, 3.3);
	assert_amp(f.out[2].limit_a, 3.3);
	assert_amp(f.nout[0].limit_a[0], 10.0);
	assert_amp(f.nout[0].allocated_a[0], 10.0);
	fx_free(&f);
}

/*
 * The rounding remainder of a full constraint goes to the EVSEs it stops,
 * not to whoever fills up later: the site's L1 (20 A) stops three 3-phase
 * chargers at 6.67 A, i.e. 6.7 + 6.7 + 6.6; L2 (30 A) then leaves exactly
 * 30 - 20 = 10.0 A for the 1-phase charger on L2 (not 10.2, which it would
 * get if the three were all rounded down to 6.6).
 */
static void
test_remainder_at_bottleneck(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.set.min_current_a = 1;
	fx_node(&f, -1, 20, 30, 100, NULL);
	for (int i = 0; i < 3; i++)
		fx_ev(&f, 0, 3, ALLOC_ROT_L1L2L3, 32, 0);
	fx_ev(&f, 0, 1, 1, 32, 0);
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 6.7);
	assert_amp(f.out[1].limit_a, 6.7);
	assert_amp(f.out[2].limit_a, 6.6);
	assert_reason(&f.out[2], ALLOC_R_SITE_LIMIT, 0, 0);
	assert_amp(f.out[3].limit_a, 10.0);
	assert_reason(&f.out[3], ALLOC_R_SITE_LIMIT, 0, 1);
	fx_free(&f);
}

/*
 * Nothing idle that someone could take, even at 0.1 A: L1 (20.1 A) and L2
 * (10.0 A) are both full at 5.0 A for the two 3-phase chargers; the 0.1 A
 * left on L1 cannot go to them (L2 is full) but goes to the 1-phase charger
 * on L1, which waits at its 10 A minimum: 10.1.
 */
static void
test_work_conserving_last_step(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.set.min_current_a = 1;
	fx_node(&f, -1, 20.1, 10, 100, NULL);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 3, ALLOC_ROT_L1L2L3, 32, 0);
	fx_ev(&f, 0, 3, ALLOC_ROT_L1L2L3, 32, 0);
	f.in[0].min_a = 10;
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[1].limit_a, 5);
	assert_amp(f.out[2].limit_a, 5);
	assert_amp(f.out[0].limit_a, 10.1);
	assert_amp(f.nout[0].allocated_a[0], 20.1);
	fx_free(&f);
}

/* ----------------------------------------------------------- reclaim */

static void
reclaim_site(struct fx *f)
{
	fx_init(f);
	f->set.hysteresis_a = 1;
	f->set.reclaim_margin_a = 2;
	f->set.reclaim_hold_ms = S(60);
	f->set.reclaim_retry_ms = S(600);
	fx_node(f, -1, 32, 32, 32, NULL);
	fx_ev(f, 0, 1, 0, 32, 0);
	fx_ev(f, 0, 1, 0, 32, 0);
	fx_build(f);
}

/*
 * EVSE 0 is offered 16 A but draws 5: after the 60 s hold it is capped at
 * 5 + 2 = 7 A and EVSE 1 gets 25; when its draw rises to 6.9 A the cap
 * follows (8.9 A) at once; 600 s after the reclaim it is offered its full
 * share again, and is capped again only after another hold.
 */
static void
test_reclaim(void **state)
{
	struct fx f;

	(void)state;
	reclaim_site(&f);
	fx_ok(&f, S(0));
	assert_amp(f.out[0].limit_a, 16);
	f.in[0].measured_a[0] = 5;
	fx_ok(&f, S(10));		/* low since 10 s */
	assert_amp(f.out[0].limit_a, 16);
	fx_ok(&f, S(69));		/* 59 s: not yet */
	assert_amp(f.out[0].limit_a, 16);
	fx_ok(&f, S(70));		/* 60 s */
	assert_amp(f.out[0].limit_a, 7);
	assert_reason(&f.out[0], ALLOC_R_EV_DRAWS_LESS, -1, -1);
	assert_amp(f.out[1].limit_a, 25);
	f.in[0].measured_a[0] = 6.9;
	fx_ok(&f, S(100));
	assert_amp(f.out[0].limit_a, 8.9);
	assert_amp(f.out[1].limit_a, 23.1);
	f.in[0].measured_a[0] = 5;	/* the cap does not follow down */
	fx_ok(&f, S(400));
	assert_amp(f.out[0].limit_a, 8.9);
	fx_ok(&f, S(670));		/* retry: 600 s after the reclaim */
	assert_amp(f.out[0].limit_a, 16);
	assert_amp(f.out[1].limit_a, 16);
	fx_ok(&f, S(729));		/* low since 670: 59 s */
	assert_amp(f.out[0].limit_a, 16);
	fx_ok(&f, S(730));
	assert_amp(f.out[0].limit_a, 7);
	fx_free(&f);
}

/* The draw must stay low for the whole hold: a dip that recovers restarts
 * the clock; a draw within the margin of the offer is not "less"; a
 * suspended-by-EV car keeps at least the minimum so it can resume. */
static void
test_reclaim_needs_hold(void **state)
{
	struct fx f;

	(void)state;
	reclaim_site(&f);
	fx_ok(&f, S(0));
	f.in[0].measured_a[0] = 5;
	fx_ok(&f, S(10));
	fx_ok(&f, S(50));
	f.in[0].measured_a[0] = 14.5;	/* 16 - 2 = 14 <= 14.5: not less */
	fx_ok(&f, S(65));
	f.in[0].measured_a[0] = 5;
	fx_ok(&f, S(70));		/* low again since 70 */
	fx_ok(&f, S(129));
	assert_amp(f.out[0].limit_a, 16);
	f.in[0].state = ALLOC_ST_SUSPENDED_EV;
	f.in[0].measured_a[0] = 0;
	fx_ok(&f, S(130));
	assert_amp(f.out[0].limit_a, 6);	/* max(0 + 2, minimum 6) */
	assert_reason(&f.out[0], ALLOC_R_EV_DRAWS_LESS, -1, -1);
	assert_amp(f.out[1].limit_a, 26);
	fx_free(&f);
}

/* --------------------------------------------------------- stability */

/*
 * Hysteresis 1 A. A cap of 15.5 A on EVSE 1 is a bound: it applies at
 * once; EVSE 0's computed 16.5 is only 0.5 A up, so it stays at 16. When
 * the cap goes, EVSE 1's computed 16 is 0.5 A up: it stays at 15.5. At a
 * 31.8 A limit the computed 15.9 + 15.9 would lower EVSE 0 by 0.1, but
 * 16 + 15.5 still fits: nothing moves.
 */
static void
test_hysteresis_holds_small_changes(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 100, 100, 100, NULL);
	f.root[0] = 32;
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 16);
	f.in[1].has_cap = 1;
	f.in[1].cap_a = 15.5;
	fx_ok(&f, S(2));
	assert_amp(f.out[1].limit_a, 15.5);
	assert_int_equal(f.out[1].held, 0);
	assert_amp(f.out[0].limit_a, 16);
	assert_int_equal(f.out[0].held, 1);
	f.in[1].has_cap = 0;
	fx_ok(&f, S(3));
	assert_amp(f.out[1].limit_a, 15.5);
	assert_int_equal(f.out[1].held, 1);
	f.root[0] = 31.8;
	fx_ok(&f, S(4));
	assert_amp(f.out[0].limit_a, 16);
	assert_amp(f.out[1].limit_a, 15.5);
	/* a change of a full hysteresis step is made */
	f.root[0] = 40;
	fx_ok(&f, S(5));
	assert_amp(f.out[0].limit_a, 20);
	assert_amp(f.out[1].limit_a, 20);
	assert_int_equal(f.out[0].held, 0);
	fx_free(&f);
}

/* A decrease needed for safety is never delayed, however small. */
static void
test_hysteresis_safety_decrease_immediate(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.set.hysteresis_a = 2;
	fx_node(&f, -1, 32, 32, 32, NULL);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 16);
	f.root[0] = 31.8;
	fx_ok(&f, S(2));
	assert_amp(f.out[0].limit_a, 15.9);
	assert_amp(f.out[1].limit_a, 15.9);
	assert_int_equal(f.out[0].held, 0);
	fx_free(&f);
}

/* ---------------------------------------------------- phase switching */

/*
 * L1 has 4 A: a 3-phase charger (its L1 on the grid's L2) would be
 * paused, so it switches to one phase on L2. Room returns at 60 s but the
 * 300 s interval holds it on one phase until 301 s. When L1 drops again
 * at 400 s it may not switch yet: paused until 601 s.
 */
static void
test_phase_switching(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 4, 20, 20, NULL);
	fx_ev(&f, 0, 3, ALLOC_ROT_L2L3L1, 16, 0);
	f.in[0].can_switch_phases = 1;
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_int_equal(f.out[0].phases, 1);
	assert_int_equal(f.out[0].switched, 1);
	assert_amp(f.out[0].limit_a, 16);
	assert_amp(f.out[0].grid_a[1], 16);
	assert_amp(f.out[0].grid_a[0], 0);
	fx_free(&f);

	fx_init(&f);
	fx_node(&f, -1, 20, 20, 20, NULL);
	fx_ev(&f, 0, 3, ALLOC_ROT_L2L3L1, 16, 0);
	f.in[0].can_switch_phases = 1;
	fx_build(&f);
	f.root[0] = 4;
	fx_ok(&f, S(1));
	assert_int_equal(f.out[0].phases, 1);
	f.root[0] = 20;
	fx_ok(&f, S(60));
	assert_int_equal(f.out[0].phases, 1);
	assert_int_equal(f.out[0].switched, 0);
	fx_ok(&f, S(301));
	assert_int_equal(f.out[0].phases, 3);
	assert_int_equal(f.out[0].switched, 1);
	assert_amp(f.out[0].limit_a, 16);
	f.root[0] = 4;
	fx_ok(&f, S(400));
	assert_int_equal(f.out[0].phases, 3);
	assert_amp(f.out[0].limit_a, 0);
	assert_reason(&f.out[0], ALLOC_R_BELOW_MIN, 0, 0);
	fx_ok(&f, S(601));
	assert_int_equal(f.out[0].phases, 1);
	assert_amp(f.out[0].limit_a, 16);

	/* a charger that cannot switch is simply paused */
	f.in[0].can_switch_phases = 0;
	fx_ok(&f, S(2000));
	assert_int_equal(f.out[0].phases, 3);
	assert_amp(f.out[0].limit_a, 0);
	fx_free(&f);
}

/* -------------------------------------------------------------- caps */

static void
test_cap(void **state)
{
	struct fx f;
	char text[128];

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 32, 32, 32, NULL);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	f.in[0].has_cap = 1;
	f.in[0].cap_a = 10;
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 10);
	assert_reason(&f.out[0], ALLOC_R_CAP, -1, -1);
	assert_amp(f.out[1].limit_a, 22);
	assert_int_equal(alloc_reason_text(f.site, &f.out[0], text,
	    sizeof text), 0);
	assert_string_equal(text, "limited by its upstream cap (10.0 A)");
	f.in[0].cap_a = 4;		/* below the minimum: paused */
	fx_ok(&f, S(2));
	assert_amp(f.out[0].limit_a, 0);
	assert_reason(&f.out[0], ALLOC_R_CAP, -1, -1);
	assert_amp(f.out[1].limit_a, 32);
	fx_free(&f);
}

/* ------------------------------------------------------------ states */

/* Idle gets 0 and no room; occupied and both suspended states get an
 * offer (so the car can start or resume). */
static void
test_states(void **state)
{
	struct fx f;
	char text[128];

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 40, 40, 40, NULL);
	for (int i = 0; i < 5; i++)
		fx_ev(&f, 0, 1, 0, 32, 0);
	f.in[0].state = ALLOC_ST_IDLE;
	f.in[1].state = ALLOC_ST_OCCUPIED;
	f.in[2].state = ALLOC_ST_SUSPENDED_EV;
	f.in[3].state = ALLOC_ST_SUSPENDED_EVSE;
	f.in[4].state = ALLOC_ST_FAULTED;
	f.in[4].has_session = 0;
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 0);
	assert_reason(&f.out[0], ALLOC_R_IDLE, -1, -1);
	/* 40 A over three: 13.3 each and the 0.1 left to the earliest */
	assert_amp(f.out[1].limit_a, 13.4);
	assert_amp(f.out[2].limit_a, 13.3);
	assert_amp(f.out[3].limit_a, 13.3);
	assert_amp(f.out[4].limit_a, 0);
	assert_reason(&f.out[4], ALLOC_R_UNAVAILABLE, -1, -1);
	assert_int_equal(alloc_reason_text(f.site, &f.out[0], text,
	    sizeof text), 0);
	assert_string_equal(text, "idle: no vehicle");
	fx_free(&f);
}

/* A session that ends leaves nothing behind: the next one on the same
 * EVSE is not held against the old setpoint (16 -> 16.5 is made). */
static void
test_idle_forgets(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 100, 100, 100, NULL);
	fx_ev(&f, 0, 1, 0, 32, 0);
	f.root[0] = 16;
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 16);
	f.in[0].state = ALLOC_ST_IDLE;
	fx_ok(&f, S(2));
	assert_amp(f.out[0].limit_a, 0);
	f.in[0].state = ALLOC_ST_CHARGING;
	f.in[0].session_start_ms = S(3);
	f.root[0] = 16.5;
	fx_ok(&f, S(3));
	assert_amp(f.out[0].limit_a, 16.5);
	assert_int_equal(f.out[0].held, 0);
	fx_free(&f);
}

/* ----------------------------------------------------- codes and texts */

static void
test_reason_codes_and_texts(void **state)
{
	static const char *const codes[] = {
		"idle", "ev_max", "cap", "circuit", "site_limit", "below_min",
		"priority", "rotation", "ev_draws_less", "uncontrollable",
		"unavailable",
	};
	struct alloc_evse_out o;
	struct fx f;
	char text[128], small[12];

	(void)state;
	for (int r = 0; r <= ALLOC_R_UNAVAILABLE; r++)
		assert_string_equal(alloc_reason_code((enum alloc_reason)r),
		    codes[r]);
	assert_string_equal(alloc_reason_code((enum alloc_reason)99),
	    "unknown");

	fx_init(&f);
	fx_node(&f, -1, 63, 63, 63, "grid");
	fx_node(&f, 0, 40, 40, 40, "row-a");
	fx_node(&f, 0, 40, 40, 40, NULL);
	fx_ev(&f, 1, 1, 0, 32, 0);
	fx_build(&f);
	memset(&o, 0, sizeof o);
	o.reason = ALLOC_R_CIRCUIT;
	o.node = 1;
	o.phase = 1;
	o.limit_a = 12;
	assert_int_equal(alloc_reason_text(f.site, &o, text, sizeof text), 0);
	assert_string_equal(text, "limited by circuit row-a on L2");
	o.node = 2;
	assert_int_equal(alloc_reason_text(f.site, &o, text, sizeof text), 0);
	assert_string_equal(text, "limited by circuit #2 on L2");
	assert_int_equal(alloc_reason_text(NULL, &o, text, sizeof text), 0);
	assert_string_equal(text, "limited by circuit #2 on L2");
	o.reason = ALLOC_R_ROTATION;
	o.node = 1;
	o.phase = 2;
	assert_int_equal(alloc_reason_text(f.site, &o, text, sizeof text), 0);
	assert_string_equal(text,
	    "paused for rotation: waiting for its turn on circuit row-a L3");
	o.reason = ALLOC_R_BELOW_MIN;
	o.node = 0;
	o.phase = 0;
	assert_int_equal(alloc_reason_text(f.site, &o, text, sizeof text), 0);
	assert_string_equal(text,
	    "paused: less than the minimum is left on the site limit L1");
	o.reason = ALLOC_R_EV_MAX;
	o.limit_a = 16;
	o.held = 1;
	assert_int_equal(alloc_reason_text(f.site, &o, text, sizeof text), 0);
	assert_string_equal(text,
	    "at its maximum (16.0 A) (held: change below the hysteresis)");
	o.held = 0;
	o.switched = 1;
	o.phases = 1;
	o.reason = ALLOC_R_UNCONTROLLABLE;
	assert_int_equal(alloc_reason_text(f.site, &o, text, sizeof text), 0);
	assert_string_equal(text, "not controllable: assumed to draw 16.0 A "
	    "(switched to 1 phase)");
	o.switched = 0;
	o.reason = ALLOC_R_EV_DRAWS_LESS;
	o.limit_a = 7;
	assert_int_equal(alloc_reason_text(f.site, &o, text, sizeof text), 0);
	assert_string_equal(text, "capped near what the EV draws (7.0 A)");
	assert_int_equal(alloc_reason_text(f.site, &o, small, sizeof small),
	    ALLOC_ENOSPC);
	assert_int_equal(strlen(small), sizeof small - 1);
	assert_int_equal(alloc_reason_text(f.site, &o, NULL, 10),
	    ALLOC_EINVAL);
	assert_int_equal(alloc_reason_text(f.site, &o, text, 0),
	    ALLOC_EINVAL);
	assert_int_equal(alloc_reason_text(f.site, NULL, text, sizeof text),
	    ALLOC_EINVAL);
	fx_free(&f);
}

static void
test_rotation_names(void **state)
{
	enum alloc_rotation r = ALLOC_ROT_L1L2L3;

	(void)state;
	assert_int_equal(alloc_rotation_parse("L2L3L1", &r), 0);
	assert_int_equal(r, ALLOC_ROT_L2L3L1);
	assert_int_equal(alloc_rotation_parse("L3L2L1", &r), 0);
	assert_int_equal(r, ALLOC_ROT_L3L2L1);
	assert_int_equal(alloc_rotation_parse("L1L1L2", &r), ALLOC_EINVAL);
	assert_int_equal(alloc_rotation_parse("L1L2L3x", &r), ALLOC_EINVAL);
	assert_int_equal(r, ALLOC_ROT_L3L2L1);
	assert_string_equal(alloc_rotation_name(ALLOC_ROT_L1L3L2), "L1L3L2");
	assert_string_equal(alloc_rotation_name((enum alloc_rotation)6),
	    "unknown");
	assert_string_equal(alloc_strerror(ALLOC_EINVAL), "invalid argument");
}

/* --------------------------------------------------------- contracts */

static void
test_invalid_desc(void **state)
{
	struct alloc_node_desc nodes[2] = {
		{ -1, { 10, 10, 10 }, NULL }, { 0, { 10, 10, 10 }, NULL },
	};
	struct alloc_evse_desc ev = { .node = 1, .phases = 3 };
	struct alloc_site_desc d = { .nodes = nodes, .n_nodes = 2,
	    .evses = &ev, .n_evses = 1 };
	struct alloc_site *s;

	(void)state;
	alloc_settings_default(&d.settings);
	s = alloc_site_new(&d);
	assert_non_null(s);
	assert_int_equal(alloc_site_evse_count(s), 1);
	assert_int_equal(alloc_site_node_count(s), 2);
	assert_null(alloc_site_node_name(s, 0));
	assert_null(alloc_site_node_name(s, 5));
	alloc_site_free(s);
	alloc_site_free(NULL);

	assert_null(alloc_site_new(NULL));
	nodes[1].parent = 1;			/* itself: a loop */
	assert_null(alloc_site_new(&d));
	nodes[1].parent = 0;
	nodes[0].parent = 0;			/* root with a parent */
	assert_null(alloc_site_new(&d));
	nodes[0].parent = -1;
	nodes[1].limit_a[2] = NAN;
	assert_null(alloc_site_new(&d));
	nodes[1].limit_a[2] = -1;
	assert_null(alloc_site_new(&d));
	nodes[1].limit_a[2] = 10;
	ev.phases = 2;
	assert_null(alloc_site_new(&d));
	ev.phases = 1;
	ev.grid_phase = 3;
	assert_null(alloc_site_new(&d));
	ev.grid_phase = 2;
	ev.node = 2;
	assert_null(alloc_site_new(&d));
	ev.node = 1;
	d.settings.min_current_a = NAN;
	assert_null(alloc_site_new(&d));
	d.settings.min_current_a = 6;
	d.n_nodes = 0;
	assert_null(alloc_site_new(&d));
	d.n_nodes = 2;
	s = alloc_site_new(&d);
	assert_non_null(s);
	d.settings.hysteresis_a = -1;
	assert_int_equal(alloc_site_set_settings(s, &d.settings),
	    ALLOC_EINVAL);
	assert_int_equal(alloc_site_set_settings(s, NULL), ALLOC_EINVAL);
	d.settings.hysteresis_a = 0;
	assert_int_equal(alloc_site_set_settings(s, &d.settings), 0);
	alloc_site_free(s);
}

/* A bad input is refused as a whole: outputs zeroed, memory untouched. */
static void
test_invalid_input(void **state)
{
	struct fx f;
	struct alloc_input in;
	struct alloc_output out;

	(void)state;
	fx_init(&f);
	fx_node(&f, -1, 100, 100, 100, NULL);
	f.root[0] = 32;
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_ev(&f, 0, 1, 0, 32, 0);
	fx_build(&f);
	fx_ok(&f, S(1));
	assert_amp(f.out[0].limit_a, 16);

	f.root[0] = 20;
	f.in[1].max_a = NAN;
	assert_int_equal(fx_run(&f, S(2)), ALLOC_EINVAL);
	assert_amp(f.out[0].limit_a, 0);
	assert_int_equal(f.out[0].node, -1);
	f.in[1].max_a = -1;
	assert_int_equal(fx_run(&f, S(2)), ALLOC_EINVAL);
	f.in[1].max_a = 32;
	f.in[1].priority = ALLOC_PRIORITY_MAX + 1;
	assert_int_equal(fx_run(&f, S(2)), ALLOC_EINVAL);
	f.in[1].priority = 0;
	f.in[1].state = (enum alloc_state)42;
	assert_int_equal(fx_run(&f, S(2)), ALLOC_EINVAL);
	f.in[1].state = ALLOC_ST_CHARGING;
	f.in[1].measured_a[2] = INFINITY;
	assert_int_equal(fx_run(&f, S(2)), ALLOC_EINVAL);
	f.in[1].measured_a[2] = 0;
	f.root[1] = NAN;
	assert_int_equal(fx_run(&f, S(2)), ALLOC_EINVAL);
	f.root[1] = INFINITY;

	in = (struct alloc_input){ { 32, 32, 32 }, f.in, 1 };	/* count */
	out = (struct alloc_output){ f.out, 2, NULL, 0 };
	assert_int_equal(alloc_allocate(f.site, &in, S(2), &out),
	    ALLOC_EINVAL);
	in.n_evse = 2;
	out.n_evse = 3;
	assert_int_equal(alloc_allocate(f.site, &in, S(2), &out),
	    ALLOC_EINVAL);
	out.n_evse = 2;
	assert_int_equal(alloc_allocate(NULL, &in, S(2), &out), ALLOC_EINVAL);
	assert_int_equal(alloc_allocate(f.site, NULL, S(2), &out),
	    ALLOC_EINVAL);
	assert_int_equal(alloc_allocate(f.site, &in, S(2), NULL),
	    ALLOC_EINVAL);

	/* 32.5 A: 16.3 + 16.2 is within the hysteresis of the 16 + 16
	 * before the refused calls: held, so the memory is intact */
	f.root[0] = 32.5;
	fx_ok(&f, S(3));
	assert_amp(f.out[0].limit_a, 16);
	assert_amp(f.out[1].limit_a, 16);
	assert_int_equal(f.out[0].held, 1);
	fx_free(&f);
}

/* Same history, same outputs: two sites fed the same calls agree. */
static void
test_deterministic(void **state)
{
	struct fx a, b;

	(void)state;
	example_site(&a);
	example_site(&b);
	for (int k = 0; k < 50; k++) {
		double r = 10 + (k * 37 % 60);

		a.root[0] = b.root[0] = r;
		a.root[1] = b.root[1] = 70 - r;
		a.in[k % 5].state = b.in[k % 5].state =
		    (enum alloc_state)(k % 8);
		a.in[(k + 2) % 5].measured_a[0] =
		    b.in[(k + 2) % 5].measured_a[0] = k % 7;
		assert_int_equal(fx_run(&a, S(60 * k)), fx_run(&b, S(60 * k)));
		assert_memory_equal(a.out, b.out, sizeof a.out);
		assert_memory_equal(a.nout, b.nout, sizeof a.nout);
	}
	fx_free(&a);
	fx_free(&b);
}

/* A rebuilt site carries on where the old one stopped, EVSEs in any
 * order: the hysteresis still holds against the old setpoint. */
static void
test_adopt_state(void **state)
{
	struct fx a, b;

	(void)state;
	fx_init(&a);
	fx_node(&a, -1, 31.5, 31.5, 31.5, NULL);
	fx_ev(&a, 0, 1, 0, 32, 0);
	fx_ev(&a, 0, 1, 0, 32, 0);
	fx_build(&a);
	fx_ok(&a, S(1));
	assert_amp(a.out[0].limit_a, 15.8);
	assert_amp(a.out[1].limit_a, 15.7);

	fx_init(&b);			/* reconfigured: 32 A, order swapped */
	fx_node(&b, -1, 32, 32, 32, NULL);
	fx_ev(&b, 0, 1, 0, 32, 0);
	fx_ev(&b, 0, 1, 0, 32, 0);
	b.in[0].session_start_ms = a.in[1].session_start_ms;
	b.in[1].session_start_ms = a.in[0].session_start_ms;
	fx_build(&b);
	assert_int_equal(alloc_site_adopt_state(b.site, 0, a.site, 1), 0);
	assert_int_equal(alloc_site_adopt_state(b.site, 1, a.site, 0), 0);
	assert_int_equal(alloc_site_adopt_state(b.site, 2, a.site, 0),
	    ALLOC_EINVAL);
	fx_ok(&b, S(2));
	assert_amp(b.out[0].limit_a, 15.7);
	assert_amp(b.out[1].limit_a, 15.8);
	assert_int_equal(b.out[0].held, 1);
	fx_free(&a);
	fx_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_safety_offline_assumed_at_max),
		cmocka_unit_test(test_safety_trust_measured),
		cmocka_unit_test(test_safety_overloaded),
		cmocka_unit_test(test_min_zero_or_min),
		cmocka_unit_test(test_min_per_evse),
		cmocka_unit_test(test_pause_lowest_priority_first),
		cmocka_unit_test(test_pause_most_recent_first),
		cmocka_unit_test(test_rotation_takes_turns),
		cmocka_unit_test(test_priority_tier_first),
		cmocka_unit_test(test_fairness_water_filling),
		cmocka_unit_test(test_fairness_per_phase),
		cmocka_unit_test(test_work_conserving),
		cmocka_unit_test(test_resolution),
		cmocka_unit_test(test_remainder_at_bottleneck),
		cmocka_unit_test(test_work_conserving_last_step),
		cmocka_unit_test(test_reclaim),
		cmocka_unit_test(test_reclaim_needs_hold),
		cmocka_unit_test(test_hysteresis_holds_small_changes),
		cmocka_unit_test(test_hysteresis_safety_decrease_immediate),
		cmocka_unit_test(test_phase_switching),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_idle_forgets),
		cmocka_unit_test(test_reason_codes_and_texts),
		cmocka_unit_test(test_rotation_names),
		cmocka_unit_test(test_invalid_desc),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_adopt_state),
	};

	return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
