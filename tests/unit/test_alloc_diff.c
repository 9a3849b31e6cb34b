/*
 * Differential test for policy/alloc: the library's alloc_allocate() against
 * a frozen copy of the allocator as it was before the speed work of issue 5
 * (alloc_ref.c, entry points renamed ref_*). Both get the same sites, the
 * same settings and the same sequences of calls, and must answer byte for
 * byte alike: the return code and every field of every EVSE and node
 * output, call after call, so the memory between calls (hysteresis,
 * reclaim, rotation, phase switching) must evolve alike too.
 *
 * The sequences mix what a control loop sends (the site limit and a few
 * EVSEs' measurements change, or nothing at all), wholesale changes,
 * refused calls (an invalid input half-way through), live settings
 * changes and rebuilt sites that adopt the old sites' memory. Output
 * buffers are filled with fresh garbage before every call, so nothing can
 * lean on what the caller's buffer held from the last one.
 *
 * Iteration i uses seed SITEGATE_DIFF_SEED + i; a failure prints the seed
 * that reproduces it alone:
 *	SITEGATE_DIFF_SEED=<seed> SITEGATE_DIFF_ITERS=1 build/asan/tests/test_alloc_diff
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alloc.h"
#include "tests/unit/rng.h"
#include "alloc_ref.c"

#define DEFAULT_ITERS	3000
#define DEFAULT_SEED	5005u

/* ---------------------------------------------------------- the world */

struct dworld {
	size_t nn, ne;
	struct alloc_node_desc *node;
	struct alloc_evse_desc *ev;
	struct alloc_settings set;
	struct alloc_evse_in *in;
	double root[3];
	uint64_t now;

	struct alloc_site *a;
	struct ref_site *b;
	struct alloc_evse_out *oa, *ob;
	struct alloc_node_out *na, *nb;
	char why[512];
	unsigned long seen[ALLOC_R_UNAVAILABLE + 1], held, switched;
};

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n + 1, sz);

	if (p == NULL)
		fail_msg("out of memory");
	return p;
}

static void
gen_settings(struct dworld *w, struct rng *r)
{
	static const double mins[] = { 6, 6, 6, 0, 1, 5.5 };
	static const double hyst[] = { 0, 0, 0.5, 1, 1, 3 };
	static const uint64_t per[] = { 0, 0, 60000, 300000, 900000 };
	static const uint64_t ivl[] = { 0, 60000, 300000 };

	alloc_settings_default(&w->set);
	w->set.min_current_a = mins[rn(r, 6)];
	w->set.hysteresis_a = hyst[rn(r, 6)];
	w->set.reclaim_margin_a = rn(r, 3);
	w->set.reclaim_hold_ms = 30000 * rn(r, 3);
	w->set.reclaim_retry_ms = 120000 * (1 + rn(r, 3));
	w->set.rotation_period_ms = per[rn(r, 5)];
	w->set.phase_switch_interval_ms = ivl[rn(r, 3)];
	w->set.trust_measured = (int)rn(r, 2);
}

/* Node limits scaled to the EVSEs under each node, so that circuits at
 * every level bind now and then. */
static void
gen_limits(struct dworld *w, struct rng *r)
{
	size_t *under = xcalloc(w->nn, sizeof *under);

	for (size_t e = 0; e < w->ne; e++)
		for (int n = w->ev[e].node; n >= 0; n = w->node[n].parent)
			under[n]++;
	for (size_t i = 0; i < w->nn; i++) {
		struct alloc_node_desc *n = &w->node[i];
		double top = 12.0 + 14.0 * (double)under[i];

		if (rn(r, 8) == 0)
			top = 20;
		n->limit_a[0] = ramp(r, top);
		if (rn(r, 2)) {
			n->limit_a[1] = n->limit_a[2] = n->limit_a[0];
		} else {
			n->limit_a[1] = ramp(r, top);
			n->limit_a[2] = ramp(r, top);
		}
	}
	free(under);
}

/*
 * Shapes: 0 small random trees (as the property test), 1 medium random
 * trees, 2 the benchmark's three levels (site, circuits, sub-circuits).
 */
static void
gen_site(struct dworld *w, struct rng *r, int shape)
{
	size_t mids = 0, leaves = 0;

	switch (shape) {
	case 0:
		w->nn = 1 + rn(r, 9);
		w->ne = rn(r, 15);
		break;
	case 1:
		w->nn = 1 + rn(r, 40);
		w->ne = rn(r, 201);
		break;
	default:
		w->ne = 20 + rn(r, 300);
		leaves = w->ne / 10;
		mids = 1 + rn(r, 6);
		w->nn = 1 + mids + leaves;
		break;
	}
	w->node = xcalloc(w->nn, sizeof *w->node);
	w->ev = xcalloc(w->ne, sizeof *w->ev);
	w->in = xcalloc(w->ne, sizeof *w->in);
	w->oa = xcalloc(w->ne, sizeof *w->oa);
	w->ob = xcalloc(w->ne, sizeof *w->ob);
	w->na = xcalloc(w->nn, sizeof *w->na);
	w->nb = xcalloc(w->nn, sizeof *w->nb);
	for (size_t i = 0; i < w->nn; i++) {
		if (i == 0)
			w->node[i].parent = -1;
		else if (shape < 2)
			w->node[i].parent = (int)rn(r, (unsigned)i);
		else
			w->node[i].parent = i <= mids ? 0 :
			    (int)(1 + (i - mids - 1) % mids);
	}
	for (size_t e = 0; e < w->ne; e++) {
		struct alloc_evse_desc *d = &w->ev[e];

		d->node = shape < 2 ? (int)rn(r, (unsigned)w->nn) :
		    (int)(1 + mids + e % leaves);
		d->phases = rn(r, 10) < 6 ? 3 : 1;
		d->rotation = (enum alloc_rotation)rn(r, 6);
		d->grid_phase = (int)rn(r, 3);
	}
	gen_limits(w, r);
	gen_settings(w, r);
}

static void
gen_root(struct dworld *w, struct rng *r)
{
	double top = 1.2 * w->node[0].limit_a[0] + 10;

	for (int p = 0; p < 3; p++)
		w->root[p] = rn(r, 6) == 0 ? INFINITY : ramp(r, top);
	if (rn(r, 2))
		w->root[1] = w->root[2] = w->root[0];
}

/* measured: near the last limit mostly, sometimes anything */
static void
gen_measured(struct dworld *w, struct rng *r, size_t e)
{
	struct alloc_evse_in *in = &w->in[e];
	double lastx = w->oa[e].limit_a;

	for (int k = 0; k < 3; k++)
		in->measured_a[k] = rn(r, 3) ? ramp(r, lastx + 1) :
		    ramp(r, in->max_a + 2);
}

static void
gen_evse(struct dworld *w, struct rng *r, size_t e)
{
	static const enum alloc_state st[] = {
		ALLOC_ST_CHARGING, ALLOC_ST_CHARGING, ALLOC_ST_CHARGING,
		ALLOC_ST_CHARGING, ALLOC_ST_CHARGING, ALLOC_ST_IDLE,
		ALLOC_ST_IDLE, ALLOC_ST_OCCUPIED, ALLOC_ST_SUSPENDED_EV,
		ALLOC_ST_SUSPENDED_EVSE, ALLOC_ST_FAULTED, ALLOC_ST_OFFLINE,
		ALLOC_ST_UNCONTROLLABLE,
	};
	static const double maxes[] = { 6, 10, 16, 20, 32, -1 };
	struct alloc_evse_in *in = &w->in[e];
	double mx = maxes[rn(r, 6)];

	in->state = st[rn(r, 13)];
	in->has_session = rn(r, 10) < 7;
	in->max_a = mx < 0 ? ramp(r, 40) : mx;
	in->min_a = rn(r, 5) < 3 ? 0 : ramp(r, 16);
	in->has_cap = rn(r, 4) == 0;
	in->cap_a = ramp(r, 32);
	in->priority = rn(r, 20) == 0 ? (int)rn(r, ALLOC_PRIORITY_MAX + 1) :
	    (int)rn(r, 3);
	in->can_switch_phases = (int)rn(r, 2);
	in->session_start_ms = rn(r, 2) ? w->now - rn(r, 7200) * 1000 :
	    rnext(r) % (w->now + 1);
	gen_measured(w, r, e);
}

/* ------------------------------------------------------- comparing */

#define FIELD(x, y, f) (memcmp(&(x)->f, &(y)->f, sizeof (x)->f) != 0)

/* 0 when alike; else -1 with w->why saying where. */
static int
compare(struct dworld *w, int step, int rca, int rcb, int with_nodes)
{
	if (rca != rcb) {
		snprintf(w->why, sizeof w->why, "step %d: rc %d, reference %d",
		    step, rca, rcb);
		return -1;
	}
	for (size_t e = 0; e < w->ne; e++) {
		const struct alloc_evse_out *x = &w->oa[e], *y = &w->ob[e];
		const char *f = FIELD(x, y, limit_a) ? "limit_a" :
		    FIELD(x, y, max_a) ? "max_a" :
		    FIELD(x, y, phases) ? "phases" :
		    FIELD(x, y, reason) ? "reason" :
		    FIELD(x, y, node) ? "node" :
		    FIELD(x, y, phase) ? "phase" :
		    FIELD(x, y, held) ? "held" :
		    FIELD(x, y, switched) ? "switched" :
		    FIELD(x, y, grid_a) ? "grid_a" : NULL;

		if (f != NULL) {
			snprintf(w->why, sizeof w->why, "step %d: evse %zu %s: "
			    "limit %.1f/%.1f max %.1f/%.1f %dph/%dph reason "
			    "%s/%s node %d/%d phase %d/%d held %d/%d", step, e,
			    f, x->limit_a, y->limit_a, x->max_a, y->max_a,
			    x->phases, y->phases, alloc_reason_code(x->reason),
			    alloc_reason_code(y->reason), x->node, y->node,
			    x->phase, y->phase, x->held, y->held);
			return -1;
		}
	}
	for (size_t e = 0; e < w->ne; e++) {
		if ((unsigned)w->oa[e].reason <= ALLOC_R_UNAVAILABLE)
			w->seen[w->oa[e].reason]++;
		w->held += (unsigned)w->oa[e].held;
		w->switched += (unsigned)w->oa[e].switched;
	}
	for (size_t n = 0; with_nodes && n < w->nn; n++) {
		const struct alloc_node_out *x = &w->na[n], *y = &w->nb[n];
		const char *f = FIELD(x, y, limit_a) ? "limit_a" :
		    FIELD(x, y, assumed_a) ? "assumed_a" :
		    FIELD(x, y, allocated_a) ? "allocated_a" :
		    FIELD(x, y, overloaded) ? "overloaded" : NULL;

		if (f != NULL) {
			snprintf(w->why, sizeof w->why, "step %d: node %zu %s",
			    step, n, f);
			return -1;
		}
	}
	return 0;
}

/* One call on both, with the same fresh garbage in the output buffers. */
static int
call(struct dworld *w, struct rng *r, int step, int *rc)
{
	struct alloc_input in = {
		.root_limit_a = { w->root[0], w->root[1], w->root[2] },
		.evse = w->in, .n_evse = w->ne,
	};
	int with_nodes = rn(r, 4) != 0;
	struct alloc_output oa = { w->oa, w->ne, with_nodes ? w->na : NULL,
	    with_nodes ? w->nn : 0 };
	struct alloc_output ob = { w->ob, w->ne, with_nodes ? w->nb : NULL,
	    with_nodes ? w->nn : 0 };
	unsigned char junk = (unsigned char)rnext(r);
	int rca, rcb;

	memset(w->oa, junk, w->ne * sizeof *w->oa);
	memset(w->ob, junk, w->ne * sizeof *w->ob);
	memset(w->na, junk, w->nn * sizeof *w->na);
	memset(w->nb, junk, w->nn * sizeof *w->nb);
	rca = alloc_allocate(w->a, &in, w->now, &oa);
	rcb = ref_allocate(w->b, &in, w->now, &ob);
	*rc = rca;
	return compare(w, step, rca, rcb, with_nodes);
}

/* A call with one input out of range: both refuse it and must then go on
 * as if it never happened. */
static int
call_invalid(struct dworld *w, struct rng *r, int step)
{
	struct alloc_evse_in saved = { 0 };
	double root = w->root[0];
	size_t e = w->ne > 0 ? rn(r, (unsigned)w->ne) : 0;
	int rc, k = w->ne > 0 ? (int)rn(r, 6) : 5;

	if (w->ne > 0)
		saved = w->in[e];
	switch (k) {
	case 0:
		w->in[e].measured_a[rn(r, 3)] = NAN;
		break;
	case 1:
		w->in[e].max_a = -1;
		break;
	case 2:
		w->in[e].priority = ALLOC_PRIORITY_MAX + 1;
		break;
	case 3:
		w->in[e].state = (enum alloc_state)(ALLOC_ST_UNCONTROLLABLE +
		    1);
		break;
	case 4:
		w->in[e].has_cap = 1;
		w->in[e].cap_a = INFINITY;
		break;
	default:
		w->root[0] = NAN;
		break;
	}
	if (call(w, r, step, &rc) < 0)
		return -1;
	if (rc != ALLOC_EINVAL) {
		snprintf(w->why, sizeof w->why, "step %d: invalid input "
		    "(kind %d) accepted", step, k);
		return -1;
	}
	if (w->ne > 0)
		w->in[e] = saved;
	w->root[0] = root;
	return 0;
}

/* Rebuild both sites from the (possibly changed) desc; the new sites take
 * over each EVSE's memory, now and then from another EVSE. */
static int
rebuild(struct dworld *w, struct rng *r)
{
	struct alloc_site_desc d = { w->node, w->nn, w->ev, w->ne, w->set };
	struct alloc_site *a;
	struct ref_site *b;

	if (rn(r, 2))
		gen_limits(w, r);
	for (size_t e = 0; e < w->ne; e++)	/* rewiring */
		if (rn(r, 10) == 0)
			w->ev[e].phases = 4 - w->ev[e].phases;
	d.settings = w->set;
	a = alloc_site_new(&d);
	b = ref_site_new(&d);
	if (a == NULL || b == NULL) {
		alloc_site_free(a);
		ref_site_free(b);
		snprintf(w->why, sizeof w->why, "rebuild failed");
		return -1;
	}
	for (size_t e = 0; e < w->ne; e++) {
		size_t from = rn(r, 8) == 0 ? rn(r, (unsigned)w->ne) : e;

		if (rn(r, 10) == 0)
			continue;	/* a fresh EVSE */
		if (alloc_site_adopt_state(a, e, w->a, from) != 0 ||
		    ref_site_adopt_state(b, e, w->b, from) != 0) {
			alloc_site_free(a);
			ref_site_free(b);
			snprintf(w->why, sizeof w->why, "adopt failed");
			return -1;
		}
	}
	alloc_site_free(w->a);
	ref_site_free(w->b);
	w->a = a;
	w->b = b;
	return 0;
}

/*
 * One step of a sequence:
 *  0-5  control loop: 1 s to 10 s later, the site limit changed or not,
 *       a few EVSEs' measurements changed, rarely one EVSE's state;
 *  6    nothing changed, not even the time;
 *  7    everything may change (as the property test does);
 *  8    a refused call, then a control-loop call;
 *  9    new settings (live), or a rebuilt site that adopts the memory.
 */
static int
one_step(struct dworld *w, struct rng *r, int step, unsigned *calls)
{
	unsigned kind = rn(r, 10);
	int rc;

	switch (kind) {
	case 6:
		break;
	case 7:
		if (rn(r, 3) == 0)
			gen_root(w, r);
		w->now += rn(r, 5) == 0 ? 0 : rn(r, 400) * 1000;
		for (size_t e = 0; e < w->ne; e++) {
			if (rn(r, 10) < 3)
				gen_evse(w, r, e);
			else
				gen_measured(w, r, e);
		}
		break;
	case 8:
		if (call_invalid(w, r, step) < 0)
			return -1;
		(*calls)++;
		/* FALLTHROUGH */
	default:
		if (kind == 9) {
			if (rn(r, 2)) {
				gen_settings(w, r);
				if (alloc_site_set_settings(w->a, &w->set) ||
				    ref_site_set_settings(w->b, &w->set)) {
					snprintf(w->why, sizeof w->why,
					    "set_settings failed");
					return -1;
				}
			} else if (rebuild(w, r) < 0)
				return -1;
		}
		w->now += 1000 * (1 + rn(r, 10));
		if (rn(r, 2))
			w->root[0] = w->root[1] = w->root[2] =
			    rn(r, 2) ? w->root[0] * 0.97 : w->root[0] / 0.97;
		else if (rn(r, 4) == 0)
			gen_root(w, r);
		for (unsigned k = rn(r, 4); k > 0 && w->ne > 0; k--) {
			size_t e = rn(r, (unsigned)w->ne);

			if (rn(r, 12) == 0)
				gen_evse(w, r, e);
			else
				gen_measured(w, r, e);
		}
		break;
	}
	if (call(w, r, step, &rc) < 0)
		return -1;
	(*calls)++;
	return 0;
}

static void
free_world(struct dworld *w)
{
	alloc_site_free(w->a);
	ref_site_free(w->b);
	free(w->node);
	free(w->ev);
	free(w->in);
	free(w->oa);
	free(w->ob);
	free(w->na);
	free(w->nb);
}

/* One random site and a sequence of calls. 0, or -1 with w->why set. */
static int
run_one(struct dworld *w, uint64_t seed, unsigned *calls,
    struct dworld *tot)
{
	struct rng r = { seed };
	struct alloc_site_desc d;
	unsigned u = rn(&r, 20);
	int shape = u < 12 ? 0 : u < 18 ? 1 : 2, steps, rc = 0;

	memset(w, 0, sizeof *w);
	w->now = 1700000000000ull + rn(&r, 1000000) * 1000;
	gen_site(w, &r, shape);
	d = (struct alloc_site_desc){ w->node, w->nn, w->ev, w->ne, w->set };
	w->a = alloc_site_new(&d);
	w->b = ref_site_new(&d);
	if (w->a == NULL || w->b == NULL) {
		snprintf(w->why, sizeof w->why, "alloc_site_new failed");
		rc = -1;
		goto out;
	}
	for (size_t e = 0; e < w->ne; e++)
		gen_evse(w, &r, e);
	gen_root(w, &r);
	steps = shape == 2 ? 10 + (int)rn(&r, 40) : 1 + (int)rn(&r, 120);
	for (int s = 0; s < steps && rc == 0; s++)
		rc = one_step(w, &r, s, calls);
out:
	for (int k = 0; k <= ALLOC_R_UNAVAILABLE; k++)
		tot->seen[k] += w->seen[k];
	tot->held += w->held;
	tot->switched += w->switched;
	free_world(w);
	return rc;
}

static void
test_alloc_same_as_reference(void **state)
{
	static struct dworld w, tot;
	uint64_t iters = env_u64("SITEGATE_DIFF_ITERS", DEFAULT_ITERS);
	uint64_t base = env_u64("SITEGATE_DIFF_SEED", DEFAULT_SEED);
	unsigned calls = 0;

	(void)state;
	for (uint64_t i = 0; i < iters; i++) {
		if (run_one(&w, base + i, &calls, &tot) < 0)
			fail_msg("differs from the reference at iteration "
			    "%llu: %s\nreproduce: SITEGATE_DIFF_SEED=%llu "
			    "SITEGATE_DIFF_ITERS=1", (unsigned long long)i,
			    w.why, (unsigned long long)(base + i));
	}
	printf("alloc vs reference: %llu sites from seed %llu, %u calls "
	    "compared\n", (unsigned long long)iters,
	    (unsigned long long)base, calls);
	/* what the sequences exercised, EVSE outputs by reason */
	for (int k = 0; k <= ALLOC_R_UNAVAILABLE; k++)
		printf(" %s %lu", alloc_reason_code((enum alloc_reason)k),
		    tot.seen[k]);
	printf("; held %lu switched %lu\n", tot.held, tot.switched);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_same_as_reference),
	};

	return cmocka_run_group_tests_name("alloc_diff", tests, NULL, NULL);
}
