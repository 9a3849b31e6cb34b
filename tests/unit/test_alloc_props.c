/*
 * Property tests for policy/alloc: random trees, EVSEs, settings and
 * sequences of states, each call checked against the rules from the
 * inputs alone (the checker recomputes limits, assumed draws and bounds
 * with the documented 0.1 A rounding; it never trusts the allocator's
 * own bookkeeping).
 *
 * Checked on every call:
 *  - safety: every node and phase: controllable limits + assumed draw of
 *    uncontrollable EVSEs <= limit; when the assumed draw alone exceeds it,
 *    ALLOC_OVERLOADED and 0 for every controllable EVSE there;
 *  - bounds: 0 or min <= limit <= min(max, cap), multiples of 0.1 A; idle
 *    and unavailable get 0; phases as wired unless the EVSE can switch;
 *  - reasons name a node on the EVSE's path and a phase it uses;
 *  - phase switches never closer than the interval;
 *  - hysteresis: no increase below the hysteresis; a decrease below it only
 *    when keeping the old value would break a limit or bound;
 *  - with hysteresis 0: work conservation (a charging EVSE below its
 *    maximum has a full constraint on its path; a paused one does not fit),
 *    strict priority (a paused EVSE does not fit even if every lower
 *    priority were paused), and max-min fairness per tier against a
 *    reference water-filling in floating point (within 0.2 A: rounding
 *    one full constraint to 0.1 A steps can shift the next by a step);
 *  - determinism: a second site fed the same calls answers the same.
 *
 * Iteration i uses seed SITEGATE_PROP_SEED + i (default base below); a
 * failure prints the seed that reproduces it alone:
 *	SITEGATE_PROP_SEED=<seed> SITEGATE_PROP_ITERS=1 build/asan/tests/test_alloc_props
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

#define DEFAULT_ITERS	100000
#define DEFAULT_SEED	20261121u
#define MAXN		9
#define MAXE		14
#define MAXSTEPS	8
#define NC		(3 * MAXN)

static const uint8_t rot[6][3] = {
	{ 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 },
	{ 0, 2, 1 }, { 1, 0, 2 }, { 2, 1, 0 },
};

/* ---------------------------------------------------------- the world */

struct world {
	size_t nn, ne;
	struct alloc_node_desc node[MAXN];
	struct alloc_evse_desc ev[MAXE];
	struct alloc_settings set;
	struct alloc_evse_in in[MAXE];
	double root[3];
	uint64_t now;

	struct alloc_site *a, *b;
	struct alloc_evse_out out[MAXE], out2[MAXE];
	struct alloc_node_out nout[MAXN], nout2[MAXN];

	/* the checker's own memory of the last call */
	int64_t prev_x[MAXE];
	int prev_active[MAXE], prev_phases[MAXE];
	int switched_ever[MAXE];
	uint64_t last_switch[MAXE];

	/* per call, recomputed by the checker (dA) */
	int64_t lim[NC], unc[NC], ctl[NC];
	int kind[MAXE];			/* 0 none, 1 uncontrollable, 2 active */
	int64_t x[MAXE], m[MAXE], M[MAXE];
	int64_t Me[MAXE];		/* effective max reported (reclaim) */
	unsigned mask[MAXE];

	char why[512];
};

enum { K_NONE, K_UNCTRL, K_ACTIVE };

static int64_t
floor_da(double a)
{
	return (int64_t)floor(a * 10.0 + 1e-5);
}

static int64_t
ceil_da(double a)
{
	int64_t v = (int64_t)ceil(a * 10.0 - 1e-5);

	return v < 0 ? 0 : v;
}

static int
under(const struct world *w, int node, int n)	/* node is n or below */
{
	for (; node >= 0; node = w->node[node].parent)
		if (node == n)
			return 1;
	return 0;
}

static unsigned
mode_mask(const struct world *w, size_t e, int phases)
{
	if (w->ev[e].phases == 1)
		return 1u << w->ev[e].grid_phase;
	return phases == 3 ? 7u : 1u << rot[w->ev[e].rotation][0];
}

static void
gen_site(struct world *w, struct rng *r)
{
	static const double mins[] = { 6, 6, 6, 0, 1, 5.5 };
	static const double hyst[] = { 0, 0, 0, 0.5, 1, 3 };
	static const uint64_t per[] = { 0, 0, 60000, 300000 };
	static const uint64_t ivl[] = { 0, 60000, 300000 };

	w->nn = 1 + rn(r, MAXN);
	for (size_t i = 0; i < w->nn; i++) {
		struct alloc_node_desc *n = &w->node[i];
		double top = rn(r, 5) == 0 ? 12 : 120;

		n->parent = i == 0 ? -1 : (int)rn(r, (unsigned)i);
		n->name = NULL;
		n->limit_a[0] = ramp(r, top);
		if (rn(r, 2)) {
			n->limit_a[1] = n->limit_a[2] = n->limit_a[0];
		} else {
			n->limit_a[1] = ramp(r, top);
			n->limit_a[2] = ramp(r, top);
		}
	}
	w->ne = rn(r, MAXE + 1);
	for (size_t e = 0; e < w->ne; e++) {
		struct alloc_evse_desc *d = &w->ev[e];

		d->node = (int)rn(r, (unsigned)w->nn);
		d->phases = rn(r, 2) ? 3 : 1;
		d->rotation = (enum alloc_rotation)rn(r, 6);
		d->grid_phase = (int)rn(r, 3);
	}
	alloc_settings_default(&w->set);
	w->set.min_current_a = mins[rn(r, 6)];
	w->set.hysteresis_a = hyst[rn(r, 6)];
	w->set.reclaim_margin_a = rn(r, 3);
	w->set.reclaim_hold_ms = 30000 * rn(r, 3);
	w->set.reclaim_retry_ms = 120000 * (1 + rn(r, 3));
	w->set.rotation_period_ms = per[rn(r, 4)];
	w->set.phase_switch_interval_ms = ivl[rn(r, 3)];
	w->set.trust_measured = (int)rn(r, 2);
}

static void
gen_evse(struct world *w, struct rng *r, size_t e, int full)
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

	if (full) {
		double mx = maxes[rn(r, 6)];

		in->state = st[rn(r, 13)];
		in->has_session = rn(r, 10) < 7;
		in->max_a = mx < 0 ? ramp(r, 40) : mx;
		in->min_a = rn(r, 5) < 3 ? 0 : ramp(r, 16);
		in->has_cap = rn(r, 4) == 0;
		in->cap_a = ramp(r, 32);
		in->priority = (int)rn(r, 3);
		in->can_switch_phases = (int)rn(r, 2);
		in->session_start_ms = rn(r, 2) ? w->now - rn(r, 7200) * 1000 :
		    rnext(r) % (w->now + 1);
	}
	/* measured: mostly near the last limit, sometimes anything */
	for (int k = 0; k < 3; k++) {
		double lastx = w->prev_x[e] / 10.0;

		in->measured_a[k] = rn(r, 3) ? ramp(r, lastx + 1) :
		    ramp(r, in->max_a + 2);
	}
}

/* -------------------------------------------------------- the checks */

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		snprintf(w->why, sizeof w->why, __VA_ARGS__);		\
		return -1;						\
	}								\
} while (0)

/* Does v dA more fit every constraint on e's path on mask, given a load
 * per constraint (NULL: the checker's current totals)? */
static int
room_for(const struct world *w, size_t e, unsigned mask, int64_t v,
    const int64_t *used)
{
	for (int n = w->ev[e].node; n >= 0; n = w->node[n].parent)
		for (int p = 0; p < 3; p++) {
			size_t c = 3 * (size_t)n + (size_t)p;

			if (!(mask & (1u << p)))
				continue;
			if (w->lim[c] - w->unc[c] - used[c] < v)
				return 0;
		}
	return 1;
}

/* Recompute limits, assumed draws and bounds from the inputs. */
static void
recompute(struct world *w)
{
	memset(w->unc, 0, sizeof w->unc);
	memset(w->ctl, 0, sizeof w->ctl);
	for (size_t n = 0; n < w->nn; n++)
		for (int p = 0; p < 3; p++) {
			int64_t l = floor_da(w->node[n].limit_a[p]);

			if (n == 0 && w->root[p] < ALLOC_MAX_A &&
			    floor_da(w->root[p]) < l)
				l = floor_da(w->root[p]);
			w->lim[3 * n + (size_t)p] = l;
		}
	for (size_t e = 0; e < w->ne; e++) {
		const struct alloc_evse_in *in = &w->in[e];
		int64_t a[3] = { 0, 0, 0 };

		switch (in->state) {
		case ALLOC_ST_IDLE:
			w->kind[e] = K_NONE;
			continue;
		case ALLOC_ST_FAULTED:
		case ALLOC_ST_OFFLINE:
		case ALLOC_ST_UNCONTROLLABLE:
			w->kind[e] = in->has_session ? K_UNCTRL : K_NONE;
			if (!in->has_session)
				continue;
			for (int k = 0; k < w->ev[e].phases; k++) {
				int g = w->ev[e].phases == 3 ?
				    rot[w->ev[e].rotation][k] :
				    w->ev[e].grid_phase;

				a[g] = ceil_da(w->set.trust_measured ?
				    in->measured_a[k] : in->max_a);
			}
			for (int n = w->ev[e].node; n >= 0;
			    n = w->node[n].parent)
				for (int p = 0; p < 3; p++)
					w->unc[3 * n + p] += a[p];
			continue;
		default:
			w->kind[e] = K_ACTIVE;
		}
		w->m[e] = ceil_da(in->min_a);
		if (w->m[e] < ceil_da(w->set.min_current_a))
			w->m[e] = ceil_da(w->set.min_current_a);
		if (w->m[e] < 1)
			w->m[e] = 1;
		w->M[e] = floor_da(in->max_a);
		if (in->has_cap && floor_da(in->cap_a) < w->M[e])
			w->M[e] = floor_da(in->cap_a);
	}
}

static int
check_outputs(struct world *w, int rc)
{
	int over = 0;

	for (size_t e = 0; e < w->ne; e++) {
		const struct alloc_evse_out *o = &w->out[e];
		const struct alloc_evse_in *in = &w->in[e];
		double xr = o->limit_a * 10;
		int64_t x = llround(xr);

		CHECK(fabs(xr - (double)x) < 1e-6 && x >= 0,
		    "evse %zu: limit %.6f not a multiple of 0.1", e,
		    o->limit_a);
		w->x[e] = x;
		w->mask[e] = 0;
		if (w->kind[e] == K_NONE) {
			CHECK(x == 0 && o->grid_a[0] == 0 && o->grid_a[1] == 0
			    && o->grid_a[2] == 0, "evse %zu: idle but %.1f A",
			    e, o->limit_a);
			CHECK(o->reason == (in->state == ALLOC_ST_IDLE ?
			    ALLOC_R_IDLE : ALLOC_R_UNAVAILABLE),
			    "evse %zu: reason %s for no session", e,
			    alloc_reason_code(o->reason));
			continue;
		}
		if (w->kind[e] == K_UNCTRL) {
			CHECK(o->reason == ALLOC_R_UNCONTROLLABLE,
			    "evse %zu: uncontrollable, reason %s", e,
			    alloc_reason_code(o->reason));
			continue;
		}
		CHECK(o->phases == 1 || o->phases == 3, "evse %zu: phases %d",
		    e, o->phases);
		if (w->ev[e].phases == 1)
			CHECK(o->phases == 1, "evse %zu: 1-phase wired, %d",
			    e, o->phases);
		else if (!in->can_switch_phases)
			CHECK(o->phases == 3, "evse %zu: cannot switch, %d",
			    e, o->phases);
		w->mask[e] = mode_mask(w, e, o->phases);
		for (int p = 0; p < 3; p++)
			CHECK(fabs(o->grid_a[p] - ((w->mask[e] & (1u << p)) ?
			    x / 10.0 : 0)) < 1e-9,
			    "evse %zu: grid_a[%d] %.2f for %.1f A", e, p,
			    o->grid_a[p], o->limit_a);
		CHECK(x == 0 || (x >= w->m[e] && x <= w->M[e]),
		    "evse %zu: %.1f A outside [%.1f, %.1f]", e, o->limit_a,
		    w->m[e] / 10.0, w->M[e] / 10.0);
		/* the effective maximum: the inputs', or a reclaim cap */
		w->Me[e] = llround(o->max_a * 10);
		CHECK(w->Me[e] == w->M[e] || (w->Me[e] < w->M[e] &&
		    w->Me[e] >= w->m[e]), "evse %zu: effective max %.1f, "
		    "bounds [%.1f, %.1f]", e, o->max_a, w->m[e] / 10.0,
		    w->M[e] / 10.0);
		CHECK(x <= w->Me[e], "evse %zu: %.1f A above its effective "
		    "max %.1f", e, o->limit_a, o->max_a);
		if (w->M[e] < w->m[e])
			CHECK(o->reason == ALLOC_R_EV_MAX ||
			    o->reason == ALLOC_R_CAP,
			    "evse %zu: cannot run, reason %s", e,
			    alloc_reason_code(o->reason));
		for (int n = w->ev[e].node; n >= 0; n = w->node[n].parent)
			for (int p = 0; p < 3; p++)
				if (w->mask[e] & (1u << p))
					w->ctl[3 * n + p] += x;

		/* reasons */
		switch (o->reason) {
		case ALLOC_R_EV_MAX:
		case ALLOC_R_CAP:
		case ALLOC_R_EV_DRAWS_LESS:
			CHECK(o->node == -1 && o->phase == -1,
			    "evse %zu: bound by itself at a node", e);
			if (x > 0 && !o->held)
				CHECK(x == w->Me[e], "evse %zu: %s but %.1f "
				    "A below %.1f", e,
				    alloc_reason_code(o->reason), x / 10.0,
				    w->Me[e] / 10.0);
			if (o->reason == ALLOC_R_EV_DRAWS_LESS)
				CHECK(x > 0 && w->Me[e] < w->M[e],
				    "evse %zu: reclaim at %.1f A, max %.1f", e,
				    x / 10.0, o->max_a);
			else if (x > 0)
				CHECK(w->Me[e] == w->M[e], "evse %zu: %s but "
				    "a lower effective max", e,
				    alloc_reason_code(o->reason));
			break;
		case ALLOC_R_CIRCUIT:
		case ALLOC_R_SITE_LIMIT:
		case ALLOC_R_BELOW_MIN:
		case ALLOC_R_PRIORITY:
		case ALLOC_R_ROTATION:
			CHECK(o->node >= 0 && (size_t)o->node < w->nn &&
			    under(w, w->ev[e].node, o->node) &&
			    o->phase >= 0 && o->phase < 3,
			    "evse %zu: %s at node %d phase %d, not its path",
			    e, alloc_reason_code(o->reason), o->node,
			    o->phase);
			if (o->reason == ALLOC_R_CIRCUIT)
				CHECK(o->node != 0, "evse %zu: circuit 0", e);
			if (o->reason == ALLOC_R_SITE_LIMIT)
				CHECK(o->node == 0, "evse %zu: site at %d", e,
				    o->node);
			if (o->reason == ALLOC_R_CIRCUIT ||
			    o->reason == ALLOC_R_SITE_LIMIT)
				CHECK(x > 0 && (w->mask[e] & (1u << o->phase)),
				    "evse %zu: bound on a phase it does not "
				    "use", e);
			else
				CHECK(x == 0, "evse %zu: %s but charging", e,
				    alloc_reason_code(o->reason));
			if (o->reason == ALLOC_R_ROTATION)
				CHECK(w->set.rotation_period_ms > 0,
				    "evse %zu: rotation while off", e);
			break;
		default:
			CHECK(0, "evse %zu: reason %s for an active EVSE", e,
			    alloc_reason_code(o->reason));
		}
	}

	/* safety, node outputs, overload */
	for (size_t c = 0; c < 3 * w->nn; c++) {
		const struct alloc_node_out *no = &w->nout[c / 3];
		int p = (int)(c % 3);

		if (w->unc[c] > w->lim[c]) {
			over = 1;
			CHECK(w->ctl[c] == 0, "node %zu L%d: overloaded but "
			    "%.1f A controllable", c / 3, p + 1,
			    w->ctl[c] / 10.0);
		} else
			CHECK(w->ctl[c] + w->unc[c] <= w->lim[c],
			    "SAFETY node %zu L%d: %.1f + %.1f assumed > %.1f",
			    c / 3, p + 1, w->ctl[c] / 10.0, w->unc[c] / 10.0,
			    w->lim[c] / 10.0);
		CHECK(fabs(no->limit_a[p] - w->lim[c] / 10.0) < 1e-9 &&
		    fabs(no->assumed_a[p] - w->unc[c] / 10.0) < 1e-9 &&
		    fabs(no->allocated_a[p] - w->ctl[c] / 10.0) < 1e-9 &&
		    !!(no->overloaded & (1u << p)) == (w->unc[c] > w->lim[c]),
		    "node %zu L%d: node output disagrees", c / 3, p + 1);
	}
	CHECK(rc == (over ? ALLOC_OVERLOADED : ALLOC_OK), "rc %d, overload %d",
	    rc, over);
	return 0;
}

/* Phase switches and hysteresis, against the previous call. */
static int
check_history(struct world *w)
{
	int64_t h = ceil_da(w->set.hysteresis_a);
	int64_t used[NC];

	for (size_t c = 0; c < 3 * w->nn; c++)
		used[c] = w->ctl[c];
	for (size_t e = 0; e < w->ne; e++) {
		const struct alloc_evse_out *o = &w->out[e];
		int64_t x = w->x[e], old = w->prev_x[e];

		if (w->kind[e] != K_ACTIVE)
			continue;
		if (o->switched) {
			CHECK(w->ev[e].phases == 3 &&
			    w->in[e].can_switch_phases,
			    "evse %zu: switched but cannot", e);
			CHECK(!w->switched_ever[e] || w->now -
			    w->last_switch[e] >=
			    w->set.phase_switch_interval_ms,
			    "evse %zu: switched after %llu ms", e,
			    (unsigned long long)(w->now - w->last_switch[e]));
			CHECK(o->phases != w->prev_phases[e],
			    "evse %zu: switched to the same phases", e);
		} else if (w->prev_active[e] && w->in[e].can_switch_phases &&
		    w->ev[e].phases == 3)
			CHECK(o->phases == w->prev_phases[e],
			    "evse %zu: phases changed without a switch", e);
		if (h == 0 || !w->prev_active[e] || old == 0 || x == 0 ||
		    o->switched)
			continue;
		if (x > old)
			CHECK(x - old >= h || old < w->m[e],
			    "evse %zu: increase %.1f -> %.1f below the "
			    "hysteresis", e, old / 10.0, x / 10.0);
		if (x < old && old - x < h) {
			/* keeping old must have been impossible */
			int keep = old <= w->Me[e] && old >= w->m[e] &&
			    room_for(w, e, w->mask[e], old - x, used);

			CHECK(!keep, "evse %zu: decrease %.1f -> %.1f not "
			    "needed", e, old / 10.0, x / 10.0);
		}
	}
	return 0;
}

/* Can e run at its minimum on mask, with used[] taken? */
static int
may_switch(const struct world *w, size_t e)
{
	return w->ev[e].phases == 3 && w->in[e].can_switch_phases &&
	    (!w->switched_ever[e] || w->now - w->last_switch[e] >=
	    w->set.phase_switch_interval_ms);
}

/* Reference max-min water-filling with floors, in doubles, for the charged
 * EVSEs of one tier on top of base[] (dA). Result in ref[] (A). */
static void
reference_fill(const struct world *w, int tier, const int64_t *base,
    double *ref)
{
	int frozen[MAXE], member[MAXE];
	double hi[MAXE], t = 0;
	size_t left = 0;

	for (size_t e = 0; e < w->ne; e++) {
		member[e] = w->kind[e] == K_ACTIVE && w->x[e] > 0 &&
		    w->in[e].priority == tier;
		frozen[e] = !member[e];
		hi[e] = w->Me[e] / 10.0;
		ref[e] = 0;
		left += (size_t)member[e];
	}
	for (int guard = 0; left > 0 && guard < 10000; guard++) {
		double next = INFINITY, fill[NC];
		int grow[NC];

		/* the level where the next EVSE starts or stops growing */
		for (size_t e = 0; e < w->ne; e++) {
			double lo = w->m[e] / 10.0;

			if (frozen[e])
				continue;
			if (lo > t && lo < next)
				next = lo;
			if (hi[e] > t && hi[e] < next)
				next = hi[e];
			if (hi[e] <= t)
				next = t;
		}
		/* ... or where a constraint becomes full */
		for (size_t c = 0; c < 3 * w->nn; c++) {
			fill[c] = (double)base[c] / 10.0;
			grow[c] = 0;
		}
		for (size_t e = 0; e < w->ne; e++) {
			double v;

			if (!member[e])
				continue;
			v = frozen[e] ? ref[e] : fmax(w->m[e] / 10.0,
			    fmin(t, hi[e]));
			for (int n = w->ev[e].node; n >= 0;
			    n = w->node[n].parent)
				for (int p = 0; p < 3; p++) {
					size_t c = 3 * (size_t)n + (size_t)p;

					if (!(w->mask[e] & (1u << p)))
						continue;
					fill[c] += v;
					if (!frozen[e] &&
					    w->m[e] / 10.0 <= t && t < hi[e])
						grow[c]++;
				}
		}
		for (size_t c = 0; c < 3 * w->nn; c++) {
			double room = (w->lim[c] - w->unc[c]) / 10.0 - fill[c];

			if (grow[c] > 0 && t + room / grow[c] < next)
				next = t + room / grow[c];
		}
		if (next < t)
			next = t;
		t = next;
		/* freeze at t: maxima reached, and full constraints */
		for (size_t e = 0; e < w->ne; e++)
			if (!frozen[e] && hi[e] <= t + 1e-12) {
				frozen[e] = 1;
				ref[e] = hi[e];
				left--;
			}
		for (size_t c = 0; c < 3 * w->nn; c++) {
			double f = (double)base[c] / 10.0;
			size_t n = c / 3;
			unsigned bit = 1u << (c % 3);

			for (size_t e = 0; e < w->ne; e++)
				if (member[e] && (w->mask[e] & bit) &&
				    under(w, w->ev[e].node, (int)n))
					f += frozen[e] ? ref[e] : fmax(
					    w->m[e] / 10.0, fmin(t, hi[e]));
			if (f < (w->lim[c] - w->unc[c]) / 10.0 - 1e-9)
				continue;
			for (size_t e = 0; e < w->ne; e++)
				if (!frozen[e] && (w->mask[e] & bit) &&
				    under(w, w->ev[e].node, (int)n)) {
					frozen[e] = 1;
					ref[e] = fmax(w->m[e] / 10.0,
					    fmin(t, hi[e]));
					left--;
				}
		}
	}
}

/* With no hysteresis: work conservation, strict priority, fairness. */
static int
check_optimality(struct world *w)
{
	int64_t used[NC], base[NC];
	double ref[MAXE];

	for (size_t c = 0; c < 3 * w->nn; c++)
		used[c] = w->ctl[c];
	for (size_t e = 0; e < w->ne; e++) {
		int64_t x = w->x[e];

		if (w->kind[e] != K_ACTIVE || w->M[e] < w->m[e])
			continue;
		if (x > 0 && x < w->Me[e])
			CHECK(!room_for(w, e, w->mask[e], 1, used),
			    "evse %zu: %.1f A below its maximum with room "
			    "left", e, x / 10.0);
		if (x == 0) {
			int64_t higher[NC];
			unsigned masks[2];
			int nm = 0;

			masks[nm++] = w->mask[e];
			if (may_switch(w, e))
				masks[nm++] = w->mask[e] == 7 ?
				    1u << rot[w->ev[e].rotation][0] : 7;
			/* same or higher priority only */
			for (size_t c = 0; c < 3 * w->nn; c++)
				higher[c] = 0;
			for (size_t f = 0; f < w->ne; f++) {
				if (f == e || w->kind[f] != K_ACTIVE ||
				    w->in[f].priority < w->in[e].priority)
					continue;
				for (int n = w->ev[f].node; n >= 0;
				    n = w->node[n].parent)
					for (int p = 0; p < 3; p++)
						if (w->mask[f] & (1u << p))
							higher[3 * n + p] +=
							    w->x[f];
			}
			for (int k = 0; k < nm; k++) {
				CHECK(!room_for(w, e, masks[k], w->m[e], used),
				    "evse %zu: paused but %.1f A fit (mask "
				    "%u)", e, w->m[e] / 10.0, masks[k]);
				CHECK(!room_for(w, e, masks[k], w->m[e],
				    higher), "evse %zu: paused while a lower "
				    "priority uses its room", e);
			}
		}
	}

	/* fairness, tier by tier, on top of the higher tiers */
	for (int tier = 2; tier >= 0; tier--) {	/* generated: 0..2 */
		int any = 0;

		for (size_t e = 0; e < w->ne; e++)
			any |= w->kind[e] == K_ACTIVE && w->x[e] > 0 &&
			    w->in[e].priority == tier;
		if (!any)
			continue;
		for (size_t c = 0; c < 3 * w->nn; c++)
			base[c] = 0;
		for (size_t f = 0; f < w->ne; f++) {
			if (w->kind[f] != K_ACTIVE ||
			    w->in[f].priority <= tier)
				continue;
			for (int n = w->ev[f].node; n >= 0;
			    n = w->node[n].parent)
				for (int p = 0; p < 3; p++)
					if (w->mask[f] & (1u << p))
						base[3 * n + p] += w->x[f];
		}
		reference_fill(w, tier, base, ref);
		for (size_t e = 0; e < w->ne; e++) {
			if (w->kind[e] != K_ACTIVE || w->x[e] == 0 ||
			    w->in[e].priority != tier)
				continue;
			CHECK(fabs(w->x[e] / 10.0 - ref[e]) <= 0.2 + 1e-9,
			    "evse %zu (priority %d): %.1f A, fair share %.3f",
			    e, tier, w->x[e] / 10.0, ref[e]);
		}
	}
	return 0;
}

static int
call(struct world *w, int step)
{
	struct alloc_input in = {
		.root_limit_a = { w->root[0], w->root[1], w->root[2] },
		.evse = w->in, .n_evse = w->ne,
	};
	struct alloc_output out = { w->out, w->ne, w->nout, w->nn };
	struct alloc_output out2 = { w->out2, w->ne, w->nout2, w->nn };
	int rc, rc2;

	rc = alloc_allocate(w->a, &in, w->now, &out);
	rc2 = alloc_allocate(w->b, &in, w->now, &out2);
	CHECK(rc >= 0, "step %d: rc %d", step, rc);
	CHECK(rc == rc2 && memcmp(w->out, w->out2, w->ne * sizeof *w->out) ==
	    0 && memcmp(w->nout, w->nout2, w->nn * sizeof *w->nout) == 0,
	    "step %d: two sites with the same history disagree", step);
	recompute(w);
	if (check_outputs(w, rc) < 0 || check_history(w) < 0 ||
	    (ceil_da(w->set.hysteresis_a) == 0 && check_optimality(w) < 0))
		return -1;
	for (size_t e = 0; e < w->ne; e++) {
		if (w->out[e].switched) {
			w->switched_ever[e] = 1;
			w->last_switch[e] = w->now;
		}
		w->prev_active[e] = w->kind[e] == K_ACTIVE;
		w->prev_x[e] = w->kind[e] == K_ACTIVE ? w->x[e] : 0;
		w->prev_phases[e] = w->out[e].phases;
	}
	return 0;
}

/* On failure: the site and the failing call, for the reader. */
static void
dump(const struct world *w)
{
	fprintf(stderr, "settings: min %.2f hyst %.2f margin %.1f hold %llu "
	    "retry %llu rotation %llu switch %llu trust %d; now %llu\n",
	    w->set.min_current_a, w->set.hysteresis_a,
	    w->set.reclaim_margin_a,
	    (unsigned long long)w->set.reclaim_hold_ms,
	    (unsigned long long)w->set.reclaim_retry_ms,
	    (unsigned long long)w->set.rotation_period_ms,
	    (unsigned long long)w->set.phase_switch_interval_ms,
	    w->set.trust_measured, (unsigned long long)w->now);
	fprintf(stderr, "root input %.2f %.2f %.2f\n", w->root[0], w->root[1],
	    w->root[2]);
	for (size_t n = 0; n < w->nn; n++)
		fprintf(stderr, "node %zu parent %d limit %.2f %.2f %.2f\n", n,
		    w->node[n].parent, w->node[n].limit_a[0],
		    w->node[n].limit_a[1], w->node[n].limit_a[2]);
	for (size_t e = 0; e < w->ne; e++) {
		const struct alloc_evse_in *in = &w->in[e];
		const struct alloc_evse_out *o = &w->out[e];

		fprintf(stderr, "evse %zu node %d %dph %s/L%d st %d sess %d "
		    "min %.2f max %.2f cap %d:%.2f prio %d sw %d meas %.2f "
		    "%.2f %.2f start %llu | prev %.1f -> %.1f %dph %s node %d "
		    "L%d held %d sw %d\n", e, w->ev[e].node, w->ev[e].phases,
		    alloc_rotation_name(w->ev[e].rotation),
		    w->ev[e].grid_phase + 1, in->state, in->has_session,
		    in->min_a, in->max_a, in->has_cap, in->cap_a,
		    in->priority, in->can_switch_phases, in->measured_a[0],
		    in->measured_a[1], in->measured_a[2],
		    (unsigned long long)in->session_start_ms,
		    w->prev_x[e] / 10.0, o->limit_a, o->phases,
		    alloc_reason_code(o->reason), o->node, o->phase + 1,
		    o->held, o->switched);
	}
}

/* One random site and history. Returns 0, or -1 with w->why set. */
static int
run_one(struct world *w, uint64_t seed, unsigned *calls)
{
	struct rng r = { seed };
	struct alloc_site_desc d;
	int steps, rc = 0;

	memset(w, 0, sizeof *w);
	w->now = 1700000000000ull + rn(&r, 1000000) * 1000;
	gen_site(w, &r);
	d = (struct alloc_site_desc){ w->node, w->nn, w->ev, w->ne, w->set };
	w->a = alloc_site_new(&d);
	w->b = alloc_site_new(&d);
	if (w->a == NULL || w->b == NULL) {
		snprintf(w->why, sizeof w->why, "alloc_site_new failed");
		rc = -1;
		goto out;
	}
	for (size_t e = 0; e < w->ne; e++) {
		w->prev_phases[e] = w->ev[e].phases;
		gen_evse(w, &r, e, 1);
	}
	steps = 1 + (int)rn(&r, MAXSTEPS);
	for (int s = 0; s < steps; s++) {
		if (s == 0 || rn(&r, 3) == 0)
			for (int p = 0; p < 3; p++)
				w->root[p] = rn(&r, 4) == 0 ? INFINITY :
				    ramp(&r, 100);
		if (s > 0) {
			w->now += rn(&r, 5) == 0 ? 0 : rn(&r, 400) * 1000;
			for (size_t e = 0; e < w->ne; e++)
				gen_evse(w, &r, e, rn(&r, 10) < 3);
		}
		if ((rc = call(w, s)) < 0) {
			dump(w);
			break;
		}
		(*calls)++;
	}
out:
	alloc_site_free(w->a);
	alloc_site_free(w->b);
	return rc;
}

static void
test_alloc_invariants(void **state)
{
	static struct world w;
	uint64_t iters = env_u64("SITEGATE_PROP_ITERS", DEFAULT_ITERS);
	uint64_t base = env_u64("SITEGATE_PROP_SEED", DEFAULT_SEED);
	unsigned calls = 0;

	(void)state;
	for (uint64_t i = 0; i < iters; i++) {
		if (run_one(&w, base + i, &calls) < 0)
			fail_msg("property failed at iteration %llu: %s\n"
			    "reproduce: SITEGATE_PROP_SEED=%llu "
			    "SITEGATE_PROP_ITERS=1", (unsigned long long)i,
			    w.why, (unsigned long long)(base + i));
	}
	printf("alloc properties: %llu sites from seed %llu, %u calls\n",
	    (unsigned long long)iters, (unsigned long long)base, calls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_invariants),
	};

	return cmocka_run_group_tests_name("alloc_props", tests, NULL, NULL);
}
