/*
 * alloc — the load-balancing allocator (see alloc.h for the API and
 * policy/README.md for the rules, with a worked example).
 *
 * Design note.
 *
 * Units. Everything inside is an integer number of deci-amperes (dA, 0.1 A):
 * limits and maxima are rounded down into dA, minima and assumed draws up,
 * so a sum of dA values that fits a dA limit fits the real limit, and no
 * floating-point rounding can break the safety invariant. Outputs are
 * dA / 10.0.
 *
 * Constraints. The site is a tree of nodes; every (node, grid phase) pair is
 * one constraint c = 3 * node + phase with an effective limit lim[c], the
 * assumed draw of uncontrollable EVSEs under it unc[c] (avail = lim - unc is
 * what controllable EVSEs may share), and the load of the controllable
 * allocations made so far load[c]. An EVSE at x dA per phase adds x to every
 * constraint on its path to the root, on each grid phase its current mode
 * uses (a bit mask: 7 for three phases, one bit for one).
 *
 * One call, in order:
 *  1. check every input, then classify each EVSE: idle/unavailable (0),
 *     uncontrollable (counted in unc[] at its maximum or measured draw), or
 *     active (controllable, with a vehicle); work out an active EVSE's
 *     minimum m and maximum M (own max, upstream cap, reclaim cap). What an
 *     input alone gives (m, M before reclaim, the draw, the assumed draw,
 *     the kind) is kept per EVSE with a copy of that input (ev_in), and
 *     an input equal to the last one is neither checked nor converted
 *     again;
 *  2. sort the active ones twice: the admission order (priority, then the
 *     rotation group, then the session's start or the time it has waited)
 *     and, within a priority, by M;
 *  3. per priority tier, highest first:
 *     a. admission: in admission order, reserve m on the EVSE's path if it
 *        fits (trying one phase when three do not fit and it may switch);
 *        what does not fit is paused: this is the "lowest priority first,
 *        then the most recently started" rule, and rotation reorders it.
 *        An EVSE none of whose constraints is over-subscribed even by the
 *        tier's maxima goes straight to its M (it would end there, and
 *        nothing it does on the way changes anyone else's result);
 *     b. water-filling: all admitted EVSEs rise together from their minimum
 *        at one level t; an EVSE stops at its M, or when a constraint it
 *        crosses becomes full, which stops every EVSE crossing it. A full
 *        constraint's level is rounded down to whole dA, and what that
 *        leaves goes out at once in single steps to the EVSEs it stops
 *        (where their other constraints have room), so the 0.1 A rounding
 *        cannot leak to EVSEs elsewhere. Events come from the M-sorted list
 *        and from the constraints' fill levels floor(free / growing), kept
 *        per node in a tournament tree and recomputed lazily;
 *     c. a last pass hands out any single dA steps still free, in
 *        admission order (work conservation at the 0.1 A resolution);
 *  4. hysteresis: a small increase is not made; a small decrease is not
 *     made only when the old value still fits every limit and bound;
 *  5. outputs, and the memory for the next call (last setpoint, rotation,
 *     reclaim and phase-switch times).
 *
 * Storage. alloc_site_new() allocates every array a call needs; a call only
 * writes into them. EVSEs are kept internally in depth-first order of their
 * nodes, so the EVSEs under any node form one contiguous range. What the
 * passes in admission order touch per EVSE is one 32-byte struct (ev_hot);
 * paths to the root are stored per node, not per EVSE, so they stay in the
 * cache. Every input is checked before anything is written, so the memory
 * of the last call is updated in place and a refused call changes nothing
 * (but the ev_in of inputs that were valid, which depends on nothing
 * else).
 *
 * Speed (policy/README.md has the figures). The answer is recomputed in
 * full on every call (a control loop's site limit moves every time, and
 * with it every level), so the speed comes from doing each pass cheaply:
 *  - inputs: unchanged ones are recognised by comparison and reuse ev_in;
 *  - admission: every EVSE none of whose constraints is over-subscribed by
 *    the tier's minima is admitted at once (admit_tier), by its maxima
 *    placed at its maximum (admit_at_max);
 *  - many EVSEs changing together update their own node only and each
 *    touched node's path once (defer/commit), or, when half the nodes were
 *    touched, all nodes in one sweep (commit_all);
 *  - fill levels are recomputed lazily, as stopping EVSEs only raises
 *    them (refresh), and only when the fill asks whether something is
 *    full below a given level and a node's lower bound does not already
 *    answer no (min_level);
 *  - a full constraint finds the EVSEs it stops through a byte of phase
 *    mask per EVSE, eight at a time (stop_at), and gives its remainder
 *    without recomputing room where the levels on the path show it
 *    (tight_phases);
 *  - data-dependent choices (phase masks, tournament, hysteresis tests)
 *    are selects or table lookups rather than branches, which random
 *    1- and 3-phase mixes would mispredict; the site pointer is restrict,
 *    so byte stores do not force reloads of its fields;
 *  - sorting starts from the last call's order; tier boundaries are found
 *    by binary search.
 * test_alloc_diff.c holds a frozen copy of the allocator before these
 * changes and checks that every output stays the same, call after call.
 */
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alloc.h"

#define INF64	INT64_MAX
/*
 * Sort keys are one uint64_t, unique, so sorting compares integers only:
 * bits 54..63 priority (inverted: higher first), then for the admission
 * order a 2-bit rotation group and a time in whole seconds (32 bits), for
 * the M order the maximum in dA (34 bits); bits 0..19 the EVSE's desc
 * index (ALLOC_MAX_COUNT < 2^20), which breaks ties.
 */
#define K_TIER	54
#define K_GROUP	52
#define K_LOW	20
#define TMAX	UINT64_C(0xffffffff)
#define KEY_NONE UINT64_MAX			/* not taking part: sorts last */

enum kind { K_NONE, K_UNCTRL, K_ACTIVE };
enum st { S_OUT, S_FLOOR, S_GROW, S_DONE };	/* water-filling state */

enum {				/* ev_hot.flags */
	F_MAY_SWITCH = 1,	/* it can switch phases now */
	F_SWITCHED = 2,		/* it did, in this call */
	F_HELD = 4,		/* hysteresis kept its old value */
	F_DOWN = 8,		/* hysteresis: a decrease it may skip */
};

/* What the site remembers about an EVSE between calls. */
struct ev_mem {
	int32_t last;		/* last setpoint, dA (0: paused or none) */
	uint8_t was_active;	/* it was active in the last call */
	uint8_t mode;		/* phases in use: 1 or 3 */
	uint8_t switched_ever;
	uint8_t low;		/* drawing less than offered since low_since */
	uint8_t reclaimed;
	int32_t reclaim_cap;	/* dA, while reclaimed */
	uint64_t last_switch;
	uint64_t low_since;
	uint64_t reclaimed_at;
	uint64_t run_since;	/* its setpoint last went from 0 to > 0 */
	uint64_t waiting_since;	/* it last went to 0 (or became active) */
};

/* Per call: what the passes over the EVSEs in any order need. */
struct ev_hot {
	int32_t m, M, x;	/* minimum, maximum, result (dA) */
	int32_t old;		/* last setpoint if it was active, else 0 */
	uint32_t node;
	uint8_t kind, st, mode, mask;
	uint8_t one;		/* mask of its one-phase mode (fixed) */
	uint8_t flags;
	uint8_t reason, max_reason;
	uint8_t fmask;		/* the phases it asks for first */
	uint8_t pad[3];
};

/* Per call: the rest. */
struct ev_cold {
	int32_t rnode;		/* binding node or -1 */
	int32_t rphase;		/* binding phase or -1 */
};

/*
 * What an EVSE's input alone gives (with the settings and the wiring),
 * kept from the call that last brought a different input: most EVSEs'
 * inputs do not change between two calls, and an input that is the same
 * bit for bit was valid and gives the same values, so neither the check
 * nor the conversions are done again; when only the readings changed (a
 * new meter value), only they are checked and converted. Nothing here
 * depends on the site's memory or the time; a settings change clears it.
 */
struct ev_in {
	int32_t m;		/* minimum: own, site's, at least one step */
	int32_t M;		/* own maximum or the cap, if lower */
	int32_t d1, d3;		/* draw, rounded up: its L1; max over three */
	int32_t assumed[3];	/* uncontrollable: per grid phase */
	uint64_t tstart;	/* session start in seconds, for sort keys */
	uint8_t kind;		/* K_NONE, K_UNCTRL, K_ACTIVE */
	uint8_t reason;		/* K_NONE: idle or unavailable */
	uint8_t max_reason;	/* ALLOC_R_EV_MAX or ALLOC_R_CAP */
	uint8_t can_switch;	/* a 3-phase EVSE that can switch */
	uint16_t prio;		/* ALLOC_PRIORITY_MAX - priority */
};

struct alloc_site {
	struct alloc_settings set;
	int32_t min_da, hyst_da, margin_da;
	size_t n_nodes, n_evses, n_c;	/* n_c = 3 * n_nodes */

	int *parent;		/* [n_nodes] */
	int64_t *fuse;		/* [n_c] */
	char **names;		/* [n_nodes], NULL when unnamed */
	size_t *ev_lo, *ev_hi;	/* [n_nodes] internal EVSE range of subtree */
	/* node n's path: the nodes from n up to the root, in
	 * npath[npoff[n] .. npoff[n + 1]) */
	uint32_t *npath, *npoff;

	/* EVSEs, internal order */
	uint8_t *e_wired;
	uint8_t *e_map;		/* [3 * n]: grid phase of its phase k */
	size_t *e_ext;		/* internal -> desc index */
	size_t *ext_int;	/* desc index -> internal */
	struct ev_mem *mem;	/* as of the last call */
	struct ev_hot *h;
	struct ev_cold *cold;
	struct ev_in *cin;	/* derived from the input, see ev_in */
	/* by desc index (the caller's order, read in order): the input that
	 * gave cin, and whether there is one */
	struct alloc_evse_in *last_in;
	uint8_t *in_valid;

	/* per constraint */
	int64_t *lim, *unc, *avail, *load, *hi_load;
	int64_t *lvl;		/* fill level while water-filling */
	int32_t *g;		/* EVSEs growing through it */

	/* stale fill levels: the leaves touched, their ancestors follow */
	uint8_t *ndirty;
	uint32_t *dlist, *flist, *seen, stamp;
	size_t nd;
	uint8_t *stale;		/* per node: levels are only lower bounds */
	/* stop_at(): per node, the phases with a constraint at the level
	 * on its path (tight_phases()), valid where tstamp == tst */
	uint32_t *tstamp, tst;
	uint8_t *tmask;
	/* a tournament tree over the nodes' lowest levels, as a heap:
	 * entry j >= 1 holds the lowest level in its subtree (tv) and that
	 * node (tn); node n's own leaf is entry tt_size + n */
	int64_t *tv;
	uint32_t *tn;
	size_t tt_size;		/* a power of two >= n_nodes */

	/* deferred path updates: per node, applied by commit() */
	int64_t *pv;
	int32_t *pg;
	uint8_t *ptouched;
	uint32_t *plist;
	size_t np;

	/* admission: demand of a tier's minima (dem) and maxima (dmax) per
	 * constraint, and per node the phases over-subscribed by them on the
	 * way to the root (pover, pmax) */
	int64_t *dem, *dmax;
	uint8_t *pover, *pmax;
	uint32_t *seq;		/* EVSEs for the sequential pass */
	/* per EVSE: its phase mask while growing or at a floor, else 0
	 * (8 bytes of padding: stop_at() reads 8 at a time) */
	uint8_t *live;

	/* sorting and lists */
	uint32_t *adm, *mord, *tmp, *floors;
	uint64_t *kadm, *kmord;
};

/* ------------------------------------------------------------ helpers */

/* A current we accept: NaN fails both comparisons, infinities the second. */
static int
ok_amp(double a)
{
	return (a >= 0) & (a <= ALLOC_MAX_A);
}

/*
 * Amperes to dA, rounded down / up; values within 1e-6 A of a step snap
 * to it. Only for 0 <= a <= ALLOC_MAX_A, where the conversion to an
 * integer is exact and truncation is the floor (and no libm call is
 * needed: without SSE4.1 floor() and ceil() are function calls).
 */
static int32_t
floor_da(double a)
{
	return (int32_t)(a * 10.0 + 1e-5);
}

static int32_t
ceil_da(double a)
{
	double v = a * 10.0 - 1e-5;
	int32_t t;

	if (v <= 0)
		return 0;
	t = (int32_t)v;
	return t + (t < v);
}

static uint64_t
elapsed(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

/* A time in ms as whole seconds for a sort key. */
static uint64_t
tkey(uint64_t ms)
{
	uint64_t t = ms / 1000;

	return t > TMAX ? TMAX : t;
}

/* floor(num / den) for den > 0, exact: the double quotient is only a guess
 * that is corrected (a plain int64 division is several times slower). */
static int64_t
level_of(int64_t num, int32_t den)
{
	int64_t q;

	if (num < 0)
		return -1;	/* cannot happen for admitted EVSEs */
	q = (int64_t)((double)num / den);
	while (q * den > num)
		q--;
	while ((q + 1) * den <= num)
		q++;
	return q;
}

/* v on the phases of mask with bit p set, else 0: without a branch (the
 * masks of mixed 1- and 3-phase EVSEs are random, so a branch on them
 * would be mispredicted often). */
static const int64_t lanes[8][3] = {
	{ 0, 0, 0 }, { -1, 0, 0 }, { 0, -1, 0 }, { -1, -1, 0 },
	{ 0, 0, -1 }, { -1, 0, -1 }, { 0, -1, -1 }, { -1, -1, -1 },
};

static inline int64_t
on_phase(unsigned mask, unsigned p, int64_t v)
{
	return v & lanes[mask & 7][p];
}

/* The mask of an EVSE's phases: 7 for three, else its one phase. */
static inline unsigned
phase_mask(int three, unsigned one)
{
	return one | (7u & -(unsigned)(three != 0));
}

/* [phase mask][grid phase]: 1 where the mask has the phase */
static const double on_grid[8][3] = {
	{ 0, 0, 0 }, { 1, 0, 0 }, { 0, 1, 0 }, { 1, 1, 0 },
	{ 0, 0, 1 }, { 1, 0, 1 }, { 0, 1, 1 }, { 1, 1, 1 },
};

static const uint8_t rot_map[6][3] = {
	{ 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 },
	{ 0, 2, 1 }, { 1, 0, 2 }, { 2, 1, 0 },
};

static const char *const rot_names[6] = {
	"L1L2L3", "L2L3L1", "L3L1L2", "L1L3L2", "L2L1L3", "L3L2L1",
};

/* --------------------------------------------------------- settings */

void
alloc_settings_default(struct alloc_settings *s)
{
	if (s == NULL)
		return;
	memset(s, 0, sizeof *s);
	s->min_current_a = 6.0;
	s->hysteresis_a = 1.0;
	s->reclaim_margin_a = 2.0;
	s->reclaim_hold_ms = 60000;
	s->reclaim_retry_ms = 600000;
	s->rotation_period_ms = 0;
	s->phase_switch_interval_ms = 300000;
	s->trust_measured = 0;
}

static int
settings_ok(const struct alloc_settings *s)
{
	return s != NULL && ok_amp(s->min_current_a) &&
	    ok_amp(s->hysteresis_a) && ok_amp(s->reclaim_margin_a);
}

static void
settings_apply(struct alloc_site *site, const struct alloc_settings *s)
{
	site->set = *s;
	site->min_da = ceil_da(s->min_current_a);
	site->hyst_da = ceil_da(s->hysteresis_a);
	site->margin_da = ceil_da(s->reclaim_margin_a);
}

int
alloc_site_set_settings(struct alloc_site *site, const struct alloc_settings *s)
{
	if (site == NULL || !settings_ok(s))
		return ALLOC_EINVAL;
	settings_apply(site, s);
	for (size_t i = 0; i < site->n_evses; i++)
		site->in_valid[i] = 0;	/* minima, assumed draws changed */
	return 0;
}

/* ------------------------------------------------------ build, free */

void
alloc_site_free(struct alloc_site *site)
{
	if (site == NULL)
		return;
	if (site->names != NULL) {
		for (size_t i = 0; i < site->n_nodes; i++)
			free(site->names[i]);
	}
	free(site->names);
	free(site->parent);
	free(site->fuse);
	free(site->ev_lo);
	free(site->ev_hi);
	free(site->npath);
	free(site->npoff);
	free(site->e_wired);
	free(site->e_map);
	free(site->e_ext);
	free(site->ext_int);
	free(site->mem);
	free(site->h);
	free(site->pv);
	free(site->pg);
	free(site->ptouched);
	free(site->plist);
	free(site->dem);
	free(site->dmax);
	free(site->pmax);
	free(site->pover);
	free(site->seq);
	free(site->live);
	free(site->cold);
	free(site->cin);
	free(site->last_in);
	free(site->in_valid);
	free(site->lim);
	free(site->unc);
	free(site->avail);
	free(site->load);
	free(site->hi_load);
	free(site->lvl);
	free(site->g);
	free(site->ndirty);
	free(site->dlist);
	free(site->seen);
	free(site->flist);
	free(site->tv);
	free(site->tn);
	free(site->stale);
	free(site->tstamp);
	free(site->tmask);
	free(site->adm);
	free(site->mord);
	free(site->tmp);
	free(site->floors);
	free(site->kadm);
	free(site->kmord);
	free(site);
}

static int
desc_ok(const struct alloc_site_desc *d)
{
	if (d == NULL || d->nodes == NULL || d->n_nodes == 0 ||
	    d->n_nodes > ALLOC_MAX_COUNT || d->n_evses > ALLOC_MAX_COUNT ||
	    (d->n_evses > 0 && d->evses == NULL) || !settings_ok(&d->settings))
		return 0;
	for (size_t i = 0; i < d->n_nodes; i++) {
		const struct alloc_node_desc *n = &d->nodes[i];

		if (i == 0 ? n->parent != -1 :
		    n->parent < 0 || (size_t)n->parent >= i)
			return 0;
		for (int p = 0; p < 3; p++)
			if (!ok_amp(n->limit_a[p]))
				return 0;
	}
	for (size_t i = 0; i < d->n_evses; i++) {
		const struct alloc_evse_desc *e = &d->evses[i];

		if (e->node < 0 || (size_t)e->node >= d->n_nodes)
			return 0;
		if (e->phases == 3) {
			if ((unsigned)e->rotation > ALLOC_ROT_L3L2L1)
				return 0;
		} else if (e->phases == 1) {
			if (e->grid_phase < 0 || e->grid_phase > 2)
				return 0;
		} else
			return 0;
	}
	return 1;
}

struct alloc_site *
alloc_site_new(const struct alloc_site_desc *d)
{
	struct alloc_site *s;
	size_t nn, ne, nc, *own = NULL, *tot = NULL, *cur = NULL;

	if (!desc_ok(d))
		return NULL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	nn = d->n_nodes;
	ne = d->n_evses;
	nc = 3 * nn;
	s->n_nodes = nn;
	s->n_evses = ne;
	s->n_c = nc;
	for (s->tt_size = 1; s->tt_size < nn; s->tt_size <<= 1)
		;
	settings_apply(s, &d->settings);

	/* +1: calloc(0) may return NULL, which would look like a failure */
#define ALLOC_N(p, n) \
	do { if (((p) = calloc((n) + 1, sizeof *(p))) == NULL) goto fail; } \
	while (0)
	ALLOC_N(s->names, nn);
	ALLOC_N(s->parent, nn);
	ALLOC_N(s->fuse, nc);
	ALLOC_N(s->ev_lo, nn);
	ALLOC_N(s->ev_hi, nn);
	ALLOC_N(s->npoff, nn);
	ALLOC_N(s->e_wired, ne);
	ALLOC_N(s->e_map, 3 * ne);
	ALLOC_N(s->e_ext, ne);
	ALLOC_N(s->ext_int, ne);
	ALLOC_N(s->mem, ne);
	ALLOC_N(s->pv, nc);
	ALLOC_N(s->pg, nc);
	ALLOC_N(s->ptouched, nn);
	ALLOC_N(s->plist, nn);
	ALLOC_N(s->dem, nc);
	ALLOC_N(s->dmax, nc);
	ALLOC_N(s->pmax, nn);
	ALLOC_N(s->pover, nn);
	ALLOC_N(s->seq, ne);
	ALLOC_N(s->live, ne + 8);
	ALLOC_N(s->h, ne);
	ALLOC_N(s->cold, ne);
	ALLOC_N(s->cin, ne);
	ALLOC_N(s->last_in, ne);
	ALLOC_N(s->in_valid, ne);
	ALLOC_N(s->lim, nc);
	ALLOC_N(s->unc, nc);
	ALLOC_N(s->avail, nc);
	ALLOC_N(s->load, nc);
	ALLOC_N(s->hi_load, nc);
	ALLOC_N(s->lvl, nc);
	ALLOC_N(s->g, nc);
	ALLOC_N(s->ndirty, nn);
	ALLOC_N(s->dlist, nn);
	ALLOC_N(s->seen, nn);
	ALLOC_N(s->flist, nn);
	ALLOC_N(s->tv, 2 * s->tt_size);
	ALLOC_N(s->tn, 2 * s->tt_size);
	ALLOC_N(s->stale, nn);
	ALLOC_N(s->tstamp, nn);
	ALLOC_N(s->tmask, nn);
	ALLOC_N(s->adm, ne);
	ALLOC_N(s->mord, ne);
	ALLOC_N(s->tmp, ne);
	ALLOC_N(s->floors, ne);
	ALLOC_N(s->kadm, ne);
	ALLOC_N(s->kmord, ne);
	ALLOC_N(own, nn);
	ALLOC_N(tot, nn);
	ALLOC_N(cur, nn);

	for (size_t i = 0; i < nn; i++) {
		s->parent[i] = d->nodes[i].parent;
		for (int p = 0; p < 3; p++)
			s->fuse[3 * i + p] = floor_da(d->nodes[i].limit_a[p]);
		if (d->nodes[i].name != NULL &&
		    (s->names[i] = strdup(d->nodes[i].name)) == NULL)
			goto fail;
	}

	/* Paths to the root, per node (depths first, in cur[]). */
	cur[0] = 1;
	for (size_t i = 1; i < nn; i++)
		cur[i] = cur[s->parent[i]] + 1;
	s->npoff[0] = 0;
	for (size_t i = 0; i < nn; i++)
		s->npoff[i + 1] = s->npoff[i] + (uint32_t)cur[i];
	ALLOC_N(s->npath, s->npoff[nn]);
	for (size_t i = 0; i < nn; i++) {
		uint32_t k = s->npoff[i];

		for (int n = (int)i; n >= 0; n = s->parent[n])
			s->npath[k++] = (uint32_t)n;
	}
#undef ALLOC_N

	/*
	 * Depth-first ranges: a node's own EVSEs come first, then each
	 * child's subtree in index order. Parents precede children, so one
	 * backward pass sums the subtree sizes and one forward pass places
	 * each child after its earlier siblings.
	 */
	for (size_t i = 0; i < ne; i++)
		own[d->evses[i].node]++;
	for (size_t i = 0; i < nn; i++)
		tot[i] = own[i];
	for (size_t i = nn - 1; i > 0; i--)
		tot[s->parent[i]] += tot[i];
	s->ev_lo[0] = 0;
	cur[0] = own[0];
	for (size_t i = 1; i < nn; i++) {
		size_t p = (size_t)s->parent[i];

		s->ev_lo[i] = cur[p];
		cur[p] += tot[i];
		cur[i] = s->ev_lo[i] + own[i];
	}
	for (size_t i = 0; i < nn; i++) {
		s->ev_hi[i] = s->ev_lo[i] + tot[i];
		cur[i] = s->ev_lo[i];
	}
	for (size_t e = 0; e < ne; e++) {
		const struct alloc_evse_desc *ed = &d->evses[e];
		size_t j = cur[ed->node]++;

		s->e_ext[j] = e;
		s->ext_int[e] = j;
		s->h[j].node = (uint32_t)ed->node;
		s->e_wired[j] = (uint8_t)ed->phases;
		for (int k = 0; k < 3; k++)
			s->e_map[3 * j + k] = ed->phases == 3 ?
			    rot_map[ed->rotation][k] : (uint8_t)ed->grid_phase;
		s->mem[j].mode = (uint8_t)ed->phases;
		/* fixed by the wiring: set here, not on every call */
		s->h[j].one = (uint8_t)(1u << s->e_map[3 * j]);
		s->adm[j] = (uint32_t)j;
		s->mord[j] = (uint32_t)j;
	}

	/* Every fill level starts infinite; afterwards a level is exact, or a
	 * lower bound where its node is stale or has no EVSE growing under
	 * it, or its node waits on the dirty list for the next flush. */
	for (size_t c = 0; c < nc; c++)
		s->lvl[c] = INF64;
	for (size_t j = 1; j < 2 * s->tt_size; j++) {
		s->tv[j] = INF64;
		s->tn[j] = 0;
	}
	for (size_t n = 0; n < s->tt_size; n++)
		s->tn[s->tt_size + n] = (uint32_t)n;
	for (size_t j = s->tt_size - 1; j >= 1; j--)
		s->tn[j] = s->tn[2 * j];
	free(own);
	free(tot);
	free(cur);
	return s;
fail:
	free(own);
	free(tot);
	free(cur);
	alloc_site_free(s);
	return NULL;
}

size_t
alloc_site_evse_count(const struct alloc_site *site)
{
	return site == NULL ? 0 : site->n_evses;
}

size_t
alloc_site_node_count(const struct alloc_site *site)
{
	return site == NULL ? 0 : site->n_nodes;
}

const char *
alloc_site_node_name(const struct alloc_site *site, size_t i)
{
	if (site == NULL || i >= site->n_nodes)
		return NULL;
	return site->names[i];
}

int
alloc_site_adopt_state(struct alloc_site *dst, size_t dst_i,
    const struct alloc_site *src, size_t src_i)
{
	struct ev_mem *dm;
	size_t j;

	if (dst == NULL || src == NULL || dst_i >= dst->n_evses ||
	    src_i >= src->n_evses)
		return ALLOC_EINVAL;
	j = dst->ext_int[dst_i];
	dm = &dst->mem[j];
	*dm = src->mem[src->ext_int[src_i]];
	/* The wiring may have changed: a 1-phase mode needs a 3-phase EVSE. */
	if (dst->e_wired[j] == 1)
		dm->mode = 1;
	else if (dm->mode != 1)
		dm->mode = 3;
	return 0;
}

/* ---------------------------------------------------------- sorting */

/*
 * Sort v[0..n) by the keys k[v[]] (unique but for KEY_NONE, whose order
 * does not matter: nothing reads past the last eligible EVSE). A natural
 * merge sort, started from the previous call's order: a few merging passes
 * when many keys moved (sort_idx below handles the usual few). (Runs are
 * non-decreasing, not increasing: equal KEY_NONE keys must merge too, or
 * the number of runs would never reach one.)
 */
static void
merge_sort_idx(uint32_t *v, uint32_t *tmp, size_t n, const uint64_t *k)
{
	uint32_t *src = v, *dst = tmp, *t;
	size_t runs, i;

	do {
		i = 0;
		runs = 0;
		while (i < n) {
			size_t j = i + 1, l, a, b, o;

			while (j < n && k[src[j - 1]] <= k[src[j]])
				j++;
			l = j;
			if (l < n) {
				l++;
				while (l < n && k[src[l - 1]] <= k[src[l]])
					l++;
			}
			for (a = i, b = j, o = i; o < l; o++) {
				if (b >= l || (a < j && k[src[a]] <= k[src[b]]))
					dst[o] = src[a++];
				else
					dst[o] = src[b++];
			}
			runs++;
			i = l;
		}
		t = src;
		src = dst;
		dst = t;
	} while (runs > 1);
	if (src != v)
		memcpy(v, src, n * sizeof *v);
}

/*
 * Sort v[0..n) by k[v[]] as above, for the usual case of a few keys that
 * moved since the last call: one pass keeps the longest-looking sorted
 * subsequence in v and moves each element that breaks the order to tmp,
 * together with the kept element before it (that one may be the one that
 * moved up, so the kept list never stays stuck behind it). The few moved
 * are insertion-sorted and merged back from the end. Many moved: the merge
 * sort. The keys of eligible EVSEs are unique, so any correct sort gives
 * the same order (KEY_NONE entries are never read), whatever the method.
 */
static void
sort_idx(uint32_t *v, uint32_t *tmp, size_t n, const uint64_t *k)
{
	size_t i, nk, nm = 0, lim = n / 16 + 8;

	for (i = 1; i < n && k[v[i - 1]] <= k[v[i]]; i++)
		;
	if (i >= n)
		return;			/* already in order */
	for (nk = i; i < n; i++) {
		uint32_t x = v[i];

		if (k[x] < k[v[nk - 1]]) {
			tmp[nm++] = v[--nk];
			tmp[nm++] = x;
			if (nk == 0 || nm > lim)
				break;
		} else
			v[nk++] = x;
	}
	if (i < n) {			/* too many out of order */
		memcpy(v + nk, tmp, nm * sizeof *v);
		merge_sort_idx(v, tmp, n, k);
		return;
	}
	for (size_t a = 1; a < nm; a++) {
		uint32_t x = tmp[a];
		size_t b = a;

		for (; b > 0 && k[tmp[b - 1]] > k[x]; b--)
			tmp[b] = tmp[b - 1];
		tmp[b] = x;
	}
	/* merge from the end: v[nk..n) is free */
	for (size_t o = n, a = nk, b = nm; b > 0;) {
		if (a > 0 && k[v[a - 1]] > k[tmp[b - 1]])
			v[--o] = v[--a];
		else
			v[--o] = tmp[--b];
	}
}

/* ------------------------------------------------ constraint helpers */

/*
 * The hot loops below touch the three phases of a node together and use
 * the phase mask arithmetically rather than with one branch per phase:
 * with mixed 1- and 3-phase EVSEs those branches are unpredictable.
 * The small helpers called once per EVSE or per event (path_load, defer,
 * node_levels, tt_fix, set_bound, freeze, admit_one) are always_inline:
 * GCC at -O2 kept them out of line, and the calls cost ~4 % of a call.
 */

#define PATH(s, node, pp, pe)						\
	const uint32_t *pp = (s)->npath + (s)->npoff[(node)];		\
	const uint32_t *pe = (s)->npath + (s)->npoff[(node) + 1]

/* Does x dA more fit every constraint on the path from node up, on the
 * phases of mask, with used[] counted as taken (NULL: nothing)? On failure
 * *fail is the first full constraint, bottom-up. */
static int
fits(const struct alloc_site *restrict s, uint32_t node, unsigned mask,
    int64_t x, const int64_t *used, int *fail)
{
	PATH(s, node, pp, pe);

	for (; pp < pe; pp++) {
		const int64_t *a = s->avail + 3 * *pp;
		int64_t r0 = a[0], r1 = a[1], r2 = a[2];
		unsigned bad;

		if (used != NULL) {
			const int64_t *u = used + 3 * *pp;

			r0 -= u[0];
			r1 -= u[1];
			r2 -= u[2];
		}
		bad = ((unsigned)(r0 < x) | (unsigned)(r1 < x) << 1 |
		    (unsigned)(r2 < x) << 2) & mask;
		if (bad) {
			if (fail)
				*fail = 3 * (int)*pp + __builtin_ctz(bad);
			return 0;
		}
	}
	return 1;
}

/* Does x dA more fit, with load[] taken, every constraint on the path
 * from node up, on the phases of mask? The same answer as fits(), found
 * from the root down: the constraints near the root are the ones that are
 * full most often (when the site limit binds, every answer is no at the
 * root). */
static int
fits_load(const struct alloc_site *restrict s, uint32_t node, unsigned mask,
    int64_t x)
{
	PATH(s, node, pp, pe);

	while (pe > pp) {
		size_t c = 3 * (size_t)*--pe;
		const int64_t *a = s->avail + c, *l = s->load + c;
		unsigned bad = (unsigned)(a[0] - l[0] < x) |
		    (unsigned)(a[1] - l[1] < x) << 1 |
		    (unsigned)(a[2] - l[2] < x) << 2;

		if (bad & mask)
			return 0;
	}
	return 1;
}

/* The same while EVSEs grow at level t: load[] + g[] * t is taken. */
static int
fits_at(const struct alloc_site *restrict s, uint32_t node, unsigned mask,
    int64_t x, int64_t t, int *fail)
{
	PATH(s, node, pp, pe);

	for (; pp < pe; pp++) {
		size_t c = 3 * (size_t)*pp;
		const int64_t *a = s->avail + c, *l = s->load + c;
		const int32_t *g = s->g + c;
		int64_t r0 = a[0] - l[0] - g[0] * t;
		int64_t r1 = a[1] - l[1] - g[1] * t;
		int64_t r2 = a[2] - l[2] - g[2] * t;
		unsigned bad;

		bad = ((unsigned)(r0 < x) | (unsigned)(r1 < x) << 1 |
		    (unsigned)(r2 < x) << 2) & mask;
		if (bad) {
			if (fail)
				*fail = 3 * (int)*pp + __builtin_ctz(bad);
			return 0;
		}
	}
	return 1;
}

/* Add v to load[] on EVSE e's path, on the phases it uses. */
static inline __attribute__((always_inline)) void
path_load(struct alloc_site *restrict s, const struct ev_hot *e, int64_t v)
{
	PATH(s, e->node, pp, pe);
	unsigned mask = e->mask;
	int64_t v0 = mask & 1 ? v : 0, v1 = mask & 2 ? v : 0;
	int64_t v2 = mask & 4 ? v : 0;

	for (; pp < pe; pp++) {
		int64_t *l = s->load + 3 * (size_t)*pp;

		l[0] += v0;
		l[1] += v1;
		l[2] += v2;
	}
}

/* The same, also adding dg growing EVSEs; puts the EVSE's node on the
 * dirty list (flush_levels() recomputes it and its ancestors). */
static void
path_grow(struct alloc_site *restrict s, const struct ev_hot *e, int64_t v,
    int32_t dg)
{
	PATH(s, e->node, pp, pe);
	unsigned mask = e->mask;
	int64_t v0 = mask & 1 ? v : 0, v1 = mask & 2 ? v : 0;
	int64_t v2 = mask & 4 ? v : 0;
	int32_t g0 = mask & 1 ? dg : 0, g1 = mask & 2 ? dg : 0;
	int32_t g2 = mask & 4 ? dg : 0;

	for (; pp < pe; pp++) {
		int64_t *l = s->load + 3 * (size_t)*pp;
		int32_t *g = s->g + 3 * (size_t)*pp;

		l[0] += v0;
		l[1] += v1;
		l[2] += v2;
		g[0] += g0;
		g[1] += g1;
		g[2] += g2;
	}
	s->dlist[s->nd] = e->node;
	s->nd += !s->ndirty[e->node];
	s->ndirty[e->node] = 1;
}

/*
 * Deferred path updates: defer() adds an EVSE's change to its own node
 * only; commit() then walks each touched node's path once. When many EVSEs
 * change at once (a freeze, a bulk admission) that is one walk per node,
 * not one per EVSE. Nothing may read load[] or g[] in between.
 */
static inline __attribute__((always_inline)) void
defer(struct alloc_site *restrict s, const struct ev_hot *e, int64_t v,
    int32_t dg)
{
	size_t c = 3 * (size_t)e->node;
	unsigned mask = e->mask;

	s->pv[c] += on_phase(mask, 0, v);
	s->pv[c + 1] += on_phase(mask, 1, v);
	s->pv[c + 2] += on_phase(mask, 2, v);
	s->pg[c] += (int32_t)on_phase(mask, 0, dg);
	s->pg[c + 1] += (int32_t)on_phase(mask, 1, dg);
	s->pg[c + 2] += (int32_t)on_phase(mask, 2, dg);
	s->plist[s->np] = e->node;
	s->np += !s->ptouched[e->node];
	s->ptouched[e->node] = 1;
}

/*
 * commit() when many nodes were touched (a bulk admission, a full
 * constraint near the root): one pass over all nodes, children before
 * parents, each passing its own and its subtree's changes up, costs less
 * than a walk up from every touched node. Only nodes whose totals changed
 * become stale.
 */
static void
commit_all(struct alloc_site *restrict s)
{
	for (size_t n = s->n_nodes; n-- > 0;) {
		size_t c = 3 * n;
		int64_t v0 = s->pv[c], v1 = s->pv[c + 1], v2 = s->pv[c + 2];
		int32_t g0 = s->pg[c], g1 = s->pg[c + 1], g2 = s->pg[c + 2];

		s->ptouched[n] = 0;
		if ((v0 | v1 | v2 | g0 | g1 | g2) == 0)
			continue;
		if (n > 0) {
			size_t pc = 3 * (size_t)s->parent[n];

			s->pv[pc] += v0;
			s->pv[pc + 1] += v1;
			s->pv[pc + 2] += v2;
			s->pg[pc] += g0;
			s->pg[pc + 1] += g1;
			s->pg[pc + 2] += g2;
		}
		s->pv[c] = s->pv[c + 1] = s->pv[c + 2] = 0;
		s->pg[c] = s->pg[c + 1] = s->pg[c + 2] = 0;
		s->load[c] += v0;
		s->load[c + 1] += v1;
		s->load[c + 2] += v2;
		s->g[c] += g0;
		s->g[c + 1] += g1;
		s->g[c + 2] += g2;
		s->stale[n] = 1;
	}
}

static void
commit(struct alloc_site *restrict s, int eager)
{
	if (2 * s->np >= s->n_nodes && s->n_nodes > 8) {
		if (eager) {
			for (size_t k = 0; k < s->np; k++) {
				uint32_t n = s->plist[k];

				s->dlist[s->nd] = n;
				s->nd += !s->ndirty[n];
				s->ndirty[n] = 1;
			}
		}
		commit_all(s);
		s->np = 0;
		return;
	}
	for (size_t k = 0; k < s->np; k++) {
		uint32_t n = s->plist[k];
		size_t c = 3 * (size_t)n;
		int64_t v0 = s->pv[c], v1 = s->pv[c + 1], v2 = s->pv[c + 2];
		int32_t g0 = s->pg[c], g1 = s->pg[c + 1], g2 = s->pg[c + 2];
		PATH(s, n, pp, pe);

		s->pv[c] = s->pv[c + 1] = s->pv[c + 2] = 0;
		s->pg[c] = s->pg[c + 1] = s->pg[c + 2] = 0;
		s->ptouched[n] = 0;
		for (; pp < pe; pp++) {
			int64_t *l = s->load + 3 * (size_t)*pp;
			int32_t *g = s->g + 3 * (size_t)*pp;

			l[0] += v0;
			l[1] += v1;
			l[2] += v2;
			g[0] += g0;
			g[1] += g1;
			g[2] += g2;
			s->stale[*pp] = 1;
		}
		if (eager) {
			s->dlist[s->nd] = n;
			s->nd += !s->ndirty[n];
			s->ndirty[n] = 1;
		}
	}
	s->np = 0;
}

/*
 * While EVSEs grow at level t, a constraint's committed load is load[c]
 * (frozen and floor EVSEs) + g[c] * t. Can EVSE e take t + 1 instead?
 */
static int
room_at_level(const struct alloc_site *restrict s, const struct ev_hot *e,
    int64_t t)
{
	PATH(s, e->node, pp, pe);

	for (; pp < pe; pp++) {
		size_t c = 3 * (size_t)*pp;
		unsigned bad =
		    (unsigned)(s->avail[c] - s->load[c] - s->g[c] * t < 1) |
		    (unsigned)(s->avail[c + 1] - s->load[c + 1] -
		    s->g[c + 1] * t < 1) << 1 |
		    (unsigned)(s->avail[c + 2] - s->load[c + 2] -
		    s->g[c + 2] * t < 1) << 2;

		if (bad & e->mask)
			return 0;
	}
	return 1;
}

/*
 * Fill levels. A constraint's level is floor(free / g): the level the EVSEs
 * growing through it (g) can reach. They are kept per node (the lowest of
 * its three phases) in a tournament tree, whose root is the minimum.
 *
 * Stopping an EVSE never lowers any level: at level ts every other level T
 * is >= ts, and an EVSE stopped at v <= T (ts, or ts + 1 only where
 * free >= g * ts + 1) leaves (free - v) / (g - 1) >= T. So after stops a
 * node's old levels are lower bounds: it is only marked stale (commit
 * with eager = 0), and recomputed when it comes up as the minimum. Starting
 * to grow (admission, a floor reached) can lower levels: those nodes and
 * their ancestors are recomputed at once (the dirty list, flush_levels()).
 */
/* Recompute node n's levels (not its place in the tree). */
static inline __attribute__((always_inline)) void
node_levels(struct alloc_site *restrict s, size_t n)
{
	size_t c = 3 * n;
	int64_t low = INF64;

	for (size_t p = 0; p < 3; p++) {
		int64_t v = s->g[c + p] > 0 ? level_of(s->avail[c + p] -
		    s->load[c + p], s->g[c + p]) : INF64;

		s->lvl[c + p] = v;
		if (v < low)
			low = v;
	}
	s->tv[s->tt_size + n] = low;
	s->stale[n] = 0;
}

/* Tournament node j from its children: the left (lower) node wins ties. */
static inline __attribute__((always_inline)) void
tt_fix(struct alloc_site *restrict s, size_t j)
{
	size_t l = 2 * j, w = l + (size_t)(s->tv[l + 1] < s->tv[l]);

	s->tv[j] = s->tv[w];
	s->tn[j] = s->tn[w];
}

static void
refresh(struct alloc_site *restrict s, size_t n)
{
	node_levels(s, n);
	for (size_t j = (s->tt_size + n) >> 1; j >= 1; j >>= 1)
		tt_fix(s, j);
}

/* Recompute the dirty nodes and their ancestors, each once (the stamp
 * marks those done), then their places in the tree. */
static void
flush_levels(struct alloc_site *restrict s)
{
	uint32_t stamp;
	size_t k = 0;

	if (s->nd == 0)
		return;
	stamp = ++s->stamp;
	if (stamp == 0) {		/* wrapped: forget old stamps */
		memset(s->seen, 0, s->n_nodes * sizeof *s->seen);
		stamp = s->stamp = 1;
	}
	for (size_t d = 0; d < s->nd; d++) {
		int n = (int)s->dlist[d];

		s->ndirty[n] = 0;
		for (; n >= 0 && s->seen[n] != stamp; n = s->parent[n]) {
			s->seen[n] = stamp;
			node_levels(s, (size_t)n);
			s->flist[k++] = (uint32_t)n;
		}
	}
	s->nd = 0;
	if (k * 4 >= s->tt_size) {	/* many: rebuild the whole tree */
		for (size_t j = s->tt_size - 1; j >= 1; j--)
			tt_fix(s, j);
		return;
	}
	for (size_t i = 0; i < k; i++)
		for (size_t j = (s->tt_size + s->flist[i]) >> 1; j >= 1;
		    j >>= 1)
			tt_fix(s, j);
}

/*
 * The constraint with the lowest fill level (lowest index on ties) when
 * that level is at most lim, else NO_C. Stale nodes are recomputed as they
 * come up, but only while their lower bound is at most lim: the fill asks
 * "is anything full by this level?", and a bound above lim answers it
 * without recomputing anything (most of the time, as most nodes are far
 * from full). The answer is the same as from the exact levels: a stale
 * node's true level is at least its bound, and the tree breaks ties by
 * the lower node index either way.
 */
#define NO_C SIZE_MAX

static size_t
min_level(struct alloc_site *restrict s, int64_t lim)
{
	for (;;) {
		size_t n = s->tn[1], c = 3 * n, best;

		if (s->tv[1] > lim)
			return NO_C;
		if (s->stale[n]) {
			refresh(s, n);
			continue;
		}
		best = c;
		if (s->lvl[c + 1] < s->lvl[best])
			best = c + 1;
		if (s->lvl[c + 2] < s->lvl[best])
			best = c + 2;
		return best;
	}
}

static inline __attribute__((always_inline)) void
set_bound(struct alloc_site *restrict s, size_t i, int c)
{
	s->cold[i].rnode = c < 0 ? -1 : c / 3;
	s->cold[i].rphase = c < 0 ? -1 : c % 3;
}

/* -------------------------------------------------- one priority tier */

/* The phases an EVSE asks for first: three for a 3-phase EVSE, or for
 * one in 1-phase mode that may switch back; else its one phase. */
static unsigned
first_mask(const struct ev_hot *e)
{
	return e->fmask;	/* set by classify() */
}

/* Admit EVSE i in mode (1 or 3): reserve its minimum. Deferred (commit()
 * follows) or at once. */
static inline __attribute__((always_inline)) void
admit_one(struct alloc_site *restrict s, size_t i, unsigned mode, int64_t t0,
    int deferred, size_t *nf, size_t *ngrow)
{
	struct ev_hot *e = &s->h[i];

	if (mode != e->mode) {
		e->mode = (uint8_t)mode;
		e->flags |= F_SWITCHED;
	}
	e->mask = (uint8_t)phase_mask(mode == 3, e->one);
	s->live[i] = e->mask;
	e->x = e->m;
	if (e->m == t0) {
		e->st = S_GROW;		/* contributes g * t, t from t0 */
		(*ngrow)++;
		if (deferred)
			defer(s, e, 0, 1);
		else
			path_grow(s, e, 0, 1);
	} else {
		e->st = S_FLOOR;	/* waits at its minimum in load[] */
		s->floors[(*nf)++] = (uint32_t)i;
		if (deferred)
			defer(s, e, e->m, 0);
		else
			path_load(s, e, e->m);
	}
}

/*
 * Admit EVSE i in mode (1 or 3) straight at its maximum (deferred). For an
 * EVSE none of whose constraints is over-subscribed even by the tier's
 * maxima (see admit_tier).
 */
static void
admit_at_max(struct alloc_site *restrict s, size_t i, unsigned mode)
{
	struct ev_hot *e = &s->h[i];

	if (mode != e->mode) {
		e->mode = (uint8_t)mode;
		e->flags |= F_SWITCHED;
	}
	e->mask = (uint8_t)phase_mask(mode == 3, e->one);
	e->x = e->M;
	e->st = S_DONE;
	e->reason = e->max_reason;
	set_bound(s, i, -1);
	defer(s, e, e->M, 0);
}

/*
 * Admission: reserve the minimum for the EVSEs that fit, in admission
 * order; pause the others with the reason that explains it. An EVSE whose
 * minimum is t0 (the site's minimum: most are) starts growing at once, at
 * level t0, counted in g[]; the others wait at their minimum in load[]
 * (the floors list) until the level reaches it. Returns the floors.
 *
 * Fast path. The tier's minima are summed per constraint (in the mode each
 * EVSE tries first); an EVSE none of whose constraints is over-subscribed
 * fits whatever the order, so it is admitted without the sequential check,
 * and before the others. That changes no decision: at a constraint that is
 * not over-subscribed everyone fits anyway, and at one that is, every EVSE
 * crossing it goes through the sequential pass in admission order, as
 * before. (Falling back to one phase only lowers a demand.)
 *
 * At the maximum. The maxima are summed the same way; an EVSE none of
 * whose constraints is over-subscribed even by them is placed at its
 * maximum (admit_at_max) and takes no part in the fill. The fill would
 * end it there with the same reason and the same load, and changes no
 * one else's result: such a constraint never fills up (at any level ts
 * its room is at least what the EVSEs growing through it could still
 * take above ts, one step or more each), so it never stops anyone nor
 * sets the next level; the constraints that do fill up are not crossed
 * by this EVSE, and where it shares one that does not, every room check
 * passes either way. The sequential pass and the fill thus see the same
 * answers at every constraint that matters.
 */
static size_t
admit_tier(struct alloc_site *restrict s, size_t a0, size_t a1, int64_t t0,
    size_t *ngrow)
{
	size_t nf = 0, nn = s->n_nodes, nseq = 0;
	int64_t rm0 = 0, rm1 = 0, rm2 = 0;
	int some_max;

	memcpy(s->hi_load, s->load, s->n_c * sizeof *s->load);
	*ngrow = 0;

	/* demand of the minima, per node own, then per subtree; and of the
	 * maxima at the root */
	memset(s->dem, 0, s->n_c * sizeof *s->dem);
	for (size_t pos = a0; pos < a1; pos++) {
		const struct ev_hot *e = &s->h[s->adm[pos]];
		unsigned mask = first_mask(e);
		size_t c = 3 * (size_t)e->node;

		s->dem[c] += on_phase(mask, 0, e->m);
		s->dem[c + 1] += on_phase(mask, 1, e->m);
		s->dem[c + 2] += on_phase(mask, 2, e->m);
		rm0 += on_phase(mask, 0, e->M);
		rm1 += on_phase(mask, 1, e->M);
		rm2 += on_phase(mask, 2, e->M);
	}
	/* When the maxima over-subscribe the root on every phase, no EVSE can
	 * go to its maximum at once (the usual case when the site limit
	 * binds): the maxima per node are then not needed. */
	some_max = !(rm0 > s->avail[0] - s->load[0] &&
	    rm1 > s->avail[1] - s->load[1] && rm2 > s->avail[2] - s->load[2]);
	if (some_max) {
		memset(s->dmax, 0, s->n_c * sizeof *s->dmax);
		for (size_t pos = a0; pos < a1; pos++) {
			const struct ev_hot *e = &s->h[s->adm[pos]];
			unsigned mask = first_mask(e);
			size_t c = 3 * (size_t)e->node;

			s->dmax[c] += on_phase(mask, 0, e->M);
			s->dmax[c + 1] += on_phase(mask, 1, e->M);
			s->dmax[c + 2] += on_phase(mask, 2, e->M);
		}
		for (size_t n = nn - 1; n > 0; n--) {
			size_t c = 3 * n, pc = 3 * (size_t)s->parent[n];

			s->dmax[pc] += s->dmax[c];
			s->dmax[pc + 1] += s->dmax[c + 1];
			s->dmax[pc + 2] += s->dmax[c + 2];
		}
	}
	for (size_t n = nn - 1; n > 0; n--) {
		size_t c = 3 * n, pc = 3 * (size_t)s->parent[n];

		s->dem[pc] += s->dem[c];
		s->dem[pc + 1] += s->dem[c + 1];
		s->dem[pc + 2] += s->dem[c + 2];
	}
	for (size_t n = 0; n < nn; n++) {	/* parents first */
		size_t c = 3 * n;
		int64_t f0 = s->avail[c] - s->load[c];
		int64_t f1 = s->avail[c + 1] - s->load[c + 1];
		int64_t f2 = s->avail[c + 2] - s->load[c + 2];
		unsigned ov = (unsigned)(s->dem[c] > f0) |
		    (unsigned)(s->dem[c + 1] > f1) << 1 |
		    (unsigned)(s->dem[c + 2] > f2) << 2;
		/* without some_max every node is over-subscribed */
		unsigned om = !some_max ? 7u :
		    (unsigned)(s->dmax[c] > f0) |
		    (unsigned)(s->dmax[c + 1] > f1) << 1 |
		    (unsigned)(s->dmax[c + 2] > f2) << 2;

		s->pover[n] = (uint8_t)(ov | (n > 0 ?
		    s->pover[s->parent[n]] : 0));
		s->pmax[n] = (uint8_t)(om | (n > 0 ?
		    s->pmax[s->parent[n]] : 0));
	}
	for (size_t pos = a0; pos < a1; pos++) {
		size_t i = s->adm[pos];
		struct ev_hot *e = &s->h[i];
		unsigned mask = first_mask(e);

		if (!(s->pmax[e->node] & mask))
			admit_at_max(s, i, mask == 7 ? 3 : 1);
		else if (!(s->pover[e->node] & mask))
			admit_one(s, i, mask == 7 ? 3 : 1, t0, 1, &nf, ngrow);
		else
			s->seq[nseq++] = (uint32_t)i;	/* admission order */
	}
	commit(s, 1);

	/* the sequential pass, for the rest */
	for (size_t k = 0; k < nseq; k++) {
		size_t i = s->seq[k];
		struct ev_hot *e = &s->h[i];
		unsigned tried, mode;
		int can_sw, fail = -1, ok, c2;

		mode = e->mode;
		can_sw = e->flags & F_MAY_SWITCH;
		if (mode == 1) {
			/* back to three phases when its minimum fits */
			tried = 7;
			if (can_sw && fits_at(s, e->node, 7, e->m, t0, &fail)) {
				ok = 1;
				mode = 3;
			} else {
				tried = e->one;
				ok = fits_at(s, e->node, e->one, e->m, t0,
				    &fail);
			}
		} else {
			/* one phase when three would mean pausing it */
			tried = 7;
			ok = fits_at(s, e->node, 7, e->m, t0, &fail);
			if (!ok && can_sw) {
				tried = e->one;
				if ((ok = fits_at(s, e->node, e->one, e->m, t0,
				    &fail)))
					mode = 1;
			}
		}
		if (ok) {
			admit_one(s, i, mode, t0, 0, &nf, ngrow);
			continue;
		}
		/* Paused: say why, at the constraint that is full. */
		e->st = S_OUT;
		e->x = 0;
		if (!fits(s, e->node, tried, e->m, NULL, &c2)) {
			e->reason = ALLOC_R_BELOW_MIN;	/* the limit itself */
			fail = c2;
		} else if (!fits(s, e->node, tried, e->m, s->hi_load, &c2)) {
			e->reason = ALLOC_R_PRIORITY;
			fail = c2;
		} else
			e->reason = s->set.rotation_period_ms > 0 ?
			    ALLOC_R_ROTATION : ALLOC_R_BELOW_MIN;
		set_bound(s, i, fail);
	}
	return nf;
}

/* Stop EVSE i at v (deferred: commit() follows). */
static inline __attribute__((always_inline)) void
freeze(struct alloc_site *restrict s, size_t i, int32_t v, size_t *ngrow)
{
	struct ev_hot *e = &s->h[i];

	if (e->st == S_GROW) {
		e->x = v;
		defer(s, e, v, -1);
		(*ngrow)--;
	}
	/* a FLOOR EVSE stays at its minimum, already in load[] */
	e->st = S_DONE;
	s->live[i] = 0;
}

/*
 * The phases on which some constraint on node n's path, other than c, has
 * a fill level of at most ts. An EVSE none of whose phases is among them
 * has room for ts + 1 however many of the EVSEs stopped at c get that
 * step: a constraint at level ts + 1 or more has room for g steps above
 * ts, g being the EVSEs growing through it, and each of them takes at
 * most one. The levels may be stale, but stale ones are lower bounds, so
 * a level above ts is above ts. This spares room_at_level() and the
 * commit() it needs for most EVSEs.
 *
 * The levels do not change while stop_at() runs, so the answer is kept
 * per node for the call (tstamp == stamp), and a path is only walked up
 * to the first node that has it.
 */
static unsigned
tight_phases(struct alloc_site *restrict s, uint32_t n, size_t c, int64_t ts,
    uint32_t stamp)
{
	PATH(s, n, pp, pe);
	const uint32_t *top = pp;
	unsigned acc = 0;
	size_t cn = c / 3;

	if (s->tstamp[n] == stamp)
		return s->tmask[n];
	while (top < pe && s->tstamp[*top] != stamp)
		top++;
	if (top < pe)
		acc = s->tmask[*top];
	while (top > pp) {		/* back down, ancestors first */
		uint32_t k = *--top;
		const int64_t *l = s->lvl + 3 * (size_t)k;
		unsigned low = (unsigned)(l[0] <= ts) |
		    (unsigned)(l[1] <= ts) << 1 | (unsigned)(l[2] <= ts) << 2;

		if (k == cn)
			low &= ~(1u << (c % 3));
		acc |= low;
		s->tstamp[k] = stamp;
		s->tmask[k] = (uint8_t)acc;
	}
	return acc;
}

/*
 * Constraint c is full at level ts: stop every EVSE still growing (or
 * waiting at a floor) through it. The level is rounded down: what is left
 * of c (r, fewer steps than growing EVSEs) goes out in single steps now,
 * in depth-first order, while the EVSEs' other constraints still have
 * room, rather than to whoever fills up later. Returns 1 when room may be
 * left for spread_remainder().
 */
static int
stop_at(struct alloc_site *restrict s, size_t c, int64_t ts, size_t *ngrow)
{
	size_t n = c / 3, hi = s->ev_hi[n];
	unsigned bit = 1u << (c % 3);
	uint64_t rep = UINT64_C(0x0101010101010101) * bit;
	int64_t r;
	int any = 0;
	uint32_t stamp = ++s->tst;

	if (stamp == 0) {		/* wrapped: forget old stamps */
		memset(s->tstamp, 0, s->n_nodes * sizeof *s->tstamp);
		stamp = s->tst = 1;
	}
	commit(s, 0);
	r = s->avail[c] - s->load[c] - s->g[c] * ts;
	/*
	 * live[] holds the masks of the EVSEs still growing or at a floor:
	 * eight at a time are skipped when none of them crosses c, else the
	 * ones that do are picked out of a bit set, in order, without a
	 * branch per EVSE.
	 */
	for (size_t j0 = s->ev_lo[n]; j0 < hi; j0 += 8) {
		const uint8_t *lv = s->live + j0;
		uint64_t w;
		unsigned hits;

		memcpy(&w, lv, sizeof w);	/* padded: in bounds */
		if ((w & rep) == 0)
			continue;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* byte k (0 or 1 after the shift) to bit k: the products
		 * land on distinct bits, so nothing carries */
		hits = (unsigned)((((w & rep) >> (c % 3)) *
		    UINT64_C(0x0102040810204080)) >> 56);
#else
		hits = 0;
		for (unsigned k = 0; k < 8; k++)
			hits |= (unsigned)((lv[k] & bit) != 0) << k;
#endif
		if (hi - j0 < 8)
			hits &= (1u << (hi - j0)) - 1;
		for (; hits != 0; hits &= hits - 1) {
			size_t j = j0 + (size_t)__builtin_ctz(hits);
			struct ev_hot *e = &s->h[j];
			int up = 0;

			if (e->st == S_GROW) {
				any = 1;
				if (r > 0) {
					/* the node's answer is usually kept:
					 * no call then */
					unsigned t = s->tstamp[e->node] ==
					    stamp ? s->tmask[e->node] :
					    tight_phases(s, e->node, c, ts,
					    stamp);

					if (!(t & e->mask))
						up = 1;
					else {
						/* room_at_level reads it */
						commit(s, 0);
						up = room_at_level(s, e, ts);
					}
					r -= up;
				}
			}
			freeze(s, j, (int32_t)ts + up, ngrow);
			if (e->x == e->M) {	/* its own bound too */
				e->reason = e->max_reason;
				set_bound(s, j, -1);
				continue;
			}
			e->reason = n == 0 ? ALLOC_R_SITE_LIMIT :
			    ALLOC_R_CIRCUIT;
			set_bound(s, j, (int)c);
		}
	}
	commit(s, 0);
	/* a floor EVSE (above ts) can only gain at c if c has r left */
	return any && r > 0;
}

/*
 * Max-min fair water-filling of the admitted EVSEs of one tier, from their
 * minima up (see admit_tier). Levels only rise: releasing an EVSE at its
 * minimum, stopping one at its maximum or freezing a full constraint never
 * lowers any other constraint's fill level below the current one; so the
 * room a constraint has at the current level only shrinks, and an EVSE
 * stopped for want of room never gets room back within the tier.
 *
 * Returns 1 when room may be left that a stopped EVSE could take: a full
 * constraint whose remainder its EVSEs could not all take (they were
 * stopped elsewhere too; an EVSE waiting at a minimum above the level may
 * then take it). Then spread_remainder() has work; otherwise it would find
 * none, as the room at the current level only shrinks.
 */
static int
fill_tier(struct alloc_site *restrict s, size_t a0, size_t a1, size_t nf,
    size_t ngrow)
{
	size_t mp = a0;
	int gap = 0;

	for (;;) {
		int64_t tf = INF64, tm = INF64, ts;
		size_t k = 0, c;

		for (size_t f = 0; f < nf; f++) {	/* compact, find min */
			size_t i = s->floors[f];

			if (s->h[i].st != S_FLOOR)
				continue;
			s->floors[k++] = (uint32_t)i;
			if (s->h[i].m < tf)
				tf = s->h[i].m;
		}
		nf = k;
		while (mp < a1 && s->h[s->mord[mp]].st != S_FLOOR &&
		    s->h[s->mord[mp]].st != S_GROW)
			mp++;
		if (mp < a1)
			tm = s->h[s->mord[mp]].M;
		if (nf == 0 && ngrow == 0)
			break;
		/* (a tier that starts with nobody growing, e.g. all at their
		 * maxima, leaves its dirty nodes to the next tier's flush) */
		flush_levels(s);
		/* the next event: a minimum, a maximum, or a full constraint
		 * (below the other two) */
		ts = tf < tm ? tf : tm;
		if ((c = min_level(s, ts - 1)) != NO_C)
			ts = s->lvl[c];

		/* 1. minima reached: those EVSEs start to grow with the rest */
		for (size_t f = 0; f < nf; f++) {
			struct ev_hot *e = &s->h[s->floors[f]];

			if (e->st == S_FLOOR && e->m <= ts) {
				e->st = S_GROW;
				path_grow(s, e, -(int64_t)e->m, 1);
				ngrow++;
			}
		}
		/* 2. maxima reached */
		for (; mp < a1; mp++) {
			size_t i = s->mord[mp];
			struct ev_hot *e = &s->h[i];

			if (e->st != S_GROW && e->st != S_FLOOR)
				continue;
			if (e->M > ts)
				break;
			freeze(s, i, e->M, &ngrow);
			e->reason = e->max_reason;
			set_bound(s, i, -1);
		}
		commit(s, 0);
		/*
		 * 3. full constraints stop everyone crossing them, one at a
		 * time, the lowest level (then index) first. Once those at ts
		 * are done the next level is above ts.
		 */
		flush_levels(s);
		while ((c = min_level(s, ts)) != NO_C)
			gap |= stop_at(s, c, ts, &ngrow);
	}
	return gap;
}

/* Hand out any single 0.1 A steps still free, in admission order, so no
 * capacity is idle that someone below its maximum could take. */
static void
spread_remainder(struct alloc_site *restrict s, size_t a0, size_t a1)
{
	int changed;

	do {
		changed = 0;
		for (size_t pos = a0; pos < a1; pos++) {
			size_t i = s->adm[pos];
			struct ev_hot *e = &s->h[i];

			if (e->st != S_DONE || e->x >= e->M ||
			    !fits_load(s, e->node, e->mask, 1))
				continue;
			e->x++;
			path_load(s, e, 1);
			changed = 1;
			if (e->x == e->M) {
				e->reason = e->max_reason;
				set_bound(s, i, -1);
			}
		}
	} while (changed);
}

/* ------------------------------------------------------ per-EVSE rules */

/* Reset what the site remembers when an EVSE stops taking part. */
static void
forget(struct ev_mem *mm, uint8_t wired)
{
	mm->last = 0;
	mm->was_active = 0;
	mm->low = 0;
	mm->reclaimed = 0;
	mm->mode = wired;	/* last_switch is kept: it guards hardware */
}

/*
 * Reclaim. Returns the reclaim cap in dA, or -1 when not reclaimed. An EVSE
 * that was offered `last` and drew (max over its phases, rounded up) d with
 * d < last - margin for hold_ms is capped at max(m, d + margin); the cap
 * follows a faster draw upward at once and is lifted after retry_ms.
 */
static int32_t
reclaim(struct alloc_site *restrict s, struct ev_mem *mm, int32_t d, int32_t m,
    uint64_t now)
{
	int32_t want;

	want = d + s->margin_da;
	if (want < m)
		want = m;
	if (mm->reclaimed &&
	    elapsed(now, mm->reclaimed_at) >= s->set.reclaim_retry_ms) {
		mm->reclaimed = 0;	/* offer more again */
		mm->low = 0;
	}
	if (mm->reclaimed) {
		if (want > mm->reclaim_cap)
			mm->reclaim_cap = want;
		return mm->reclaim_cap;
	}
	if (mm->last > 0 && (int64_t)d + s->margin_da < mm->last) {
		if (!mm->low) {
			mm->low = 1;
			mm->low_since = now;
		}
		if (elapsed(now, mm->low_since) >= s->set.reclaim_hold_ms) {
			mm->low = 0;
			mm->reclaimed = 1;
			mm->reclaimed_at = now;
			mm->reclaim_cap = want;
			return want;
		}
	} else
		mm->low = 0;
	return -1;
}

/*
 * The admission sort key: tier, rotation group, a time. Without rotation
 * one group, earliest session first. With a rotation period P:
 *  0. running for less than P: its turn; earliest session first;
 *  1. waiting for at least P: longest-waiting first;
 *  2. running for P or more: its turn is over; longest-running last;
 *  3. waiting for less than P: longest-waiting first.
 * Group 2 before 3 keeps an EVSE that was not needed to make room running,
 * instead of swapping it out one call later.
 */
static uint64_t
adm_key(const struct alloc_site *restrict s, const struct ev_mem *mm,
    uint64_t prio, uint64_t tstart, uint64_t now, size_t ext)
{
	uint64_t period = s->set.rotation_period_ms, group = 0, t;

	t = tstart;
	if (period > 0) {
		int running = mm->was_active && mm->last > 0;

		if (running) {
			if (elapsed(now, mm->run_since) < period)
				group = 0;
			else {
				group = 2;
				t = TMAX - tkey(mm->run_since);
			}
		} else {
			group = elapsed(now, mm->waiting_since) >= period ?
			    1 : 3;
			t = tkey(mm->waiting_since);
		}
	}
	return prio << K_TIER | group << K_GROUP | t << K_LOW | ext;
}

/*
 * The six currents are checked two at a time with SSE2 vector compares
 * (GCC vector extension): the same ordered comparisons as ok_amp() per
 * element (-0.0 >= 0 holds, NaN fails both), at a third of the
 * instructions. This check runs for every EVSE on every call. A cap that
 * does not count is checked as 0, which passes.
 */
typedef double v2d __attribute__((vector_size(16)));
typedef int64_t v2l __attribute__((vector_size(16)));

static int
evse_in_ok(const struct alloc_evse_in *e)
{
	v2d a = { e->measured_a[0], e->measured_a[1] };
	v2d b = { e->measured_a[2], e->min_a };
	v2d c = { e->max_a, e->has_cap ? e->cap_a : 0.0 };
	v2l ok = (a >= 0) & (a <= ALLOC_MAX_A) & (b >= 0) &
	    (b <= ALLOC_MAX_A) & (c >= 0) & (c <= ALLOC_MAX_A);

	/* & rather than &&: no branches */
	return ((unsigned)e->state <= ALLOC_ST_UNCONTROLLABLE) &
	    ((ok[0] & ok[1]) != 0) &
	    (e->priority >= 0) & (e->priority <= ALLOC_PRIORITY_MAX);
}

/* evse_in_ok() for the readings alone. */
static int
readings_ok(const struct alloc_evse_in *e)
{
	return ok_amp(e->measured_a[0]) & ok_amp(e->measured_a[1]) &
	    ok_amp(e->measured_a[2]);
}

static void
zero_out(struct alloc_output *out)
{
	for (size_t i = 0; i < out->n_evse; i++) {
		memset(&out->evse[i], 0, sizeof out->evse[i]);
		out->evse[i].reason = ALLOC_R_IDLE;
		out->evse[i].node = -1;
		out->evse[i].phase = -1;
	}
}

/*
 * Is input a the same as b, bit for bit? Compared as two byte ranges that
 * together hold every field but none of the struct's padding (which may
 * hold anything: a checker such as valgrind would rightly complain about a
 * decision taken on it): state .. has_cap and cap_a .. the end. The static
 * assertions check that the ranges hold no padding. A -0.0 that was 0.0
 * only costs a new derive().
 */
typedef uint64_t v2u __attribute__((vector_size(16)));

#define IN_END(f) (offsetof(struct alloc_evse_in, f) + \
    sizeof(((struct alloc_evse_in *)0)->f))
#define IN_A_END IN_END(has_cap)
#define IN_B_OFF offsetof(struct alloc_evse_in, cap_a)
_Static_assert(offsetof(struct alloc_evse_in, state) == 0 &&
    IN_END(state) == offsetof(struct alloc_evse_in, has_session) &&
    IN_END(has_session) == offsetof(struct alloc_evse_in, measured_a) &&
    IN_END(measured_a) == offsetof(struct alloc_evse_in, session_start_ms) &&
    IN_END(session_start_ms) == offsetof(struct alloc_evse_in, min_a) &&
    IN_END(min_a) == offsetof(struct alloc_evse_in, max_a) &&
    IN_END(max_a) == offsetof(struct alloc_evse_in, has_cap),
    "alloc_evse_in: padding between state and has_cap");
_Static_assert(IN_END(cap_a) == offsetof(struct alloc_evse_in, priority) &&
    IN_END(priority) == offsetof(struct alloc_evse_in, can_switch_phases) &&
    IN_END(can_switch_phases) == sizeof(struct alloc_evse_in),
    "alloc_evse_in: padding after cap_a");

static inline __attribute__((always_inline)) v2u
diff_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
	v2u d = { 0, 0 };
	size_t k = 0;

#pragma GCC unroll 4
	for (; k + 16 <= n; k += 16) {
		v2u x, y;

		memcpy(&x, a + k, 16);
		memcpy(&y, b + k, 16);
		d |= x ^ y;
	}
	if (k + 8 <= n) {
		uint64_t x, y;

		memcpy(&x, a + k, 8);
		memcpy(&y, b + k, 8);
		d[0] |= x ^ y;
		k += 8;
	}
	if (k + 4 <= n) {
		uint32_t x, y;

		memcpy(&x, a + k, 4);
		memcpy(&y, b + k, 4);
		d[1] |= x ^ y;
		k += 4;
	}
	for (; k < n; k++)
		d[0] |= (uint64_t)(a[k] ^ b[k]);
	return d;
}

enum { IN_SAME, IN_READINGS, IN_OTHER };	/* what changed */

#define IN_M_OFF offsetof(struct alloc_evse_in, measured_a)
#define IN_M_END IN_END(measured_a)

/* IN_SAME, IN_READINGS when only measured_a[] differs (a meter value:
 * the usual change), or IN_OTHER. */
static int
input_change(const struct alloc_evse_in *a, const struct alloc_evse_in *b)
{
	const unsigned char *pa = (const unsigned char *)a;
	const unsigned char *pb = (const unsigned char *)b;
	v2u dm = diff_bytes(pa + IN_M_OFF, pb + IN_M_OFF, IN_M_END - IN_M_OFF);
	v2u d = diff_bytes(pa, pb, IN_M_OFF) |
	    diff_bytes(pa + IN_M_END, pb + IN_M_END, IN_A_END - IN_M_END) |
	    diff_bytes(pa + IN_B_OFF, pb + IN_B_OFF, sizeof *a - IN_B_OFF);

	if ((d[0] | d[1]) != 0)
		return IN_OTHER;
	return (dm[0] | dm[1]) != 0 ? IN_READINGS : IN_SAME;
}

#undef IN_M_OFF
#undef IN_M_END

#undef IN_END
#undef IN_A_END
#undef IN_B_OFF

/* The part of EVSE i's ev_in that the readings give (c->kind set). Inline:
 * when every EVSE reports a new meter value, this runs for each. */
static inline __attribute__((always_inline)) void
derive_readings(struct alloc_site *restrict s, size_t i,
    const struct alloc_evse_in *ei)
{
	struct ev_in *c = &s->cin[i];
	uint8_t wired = s->e_wired[i];
	double draw = ei->measured_a[0];

	if (c->kind == K_UNCTRL) {
		c->assumed[0] = c->assumed[1] = c->assumed[2] = 0;
		for (int k = 0; k < wired; k++)
			c->assumed[s->e_map[3 * i + k]] = ceil_da(
			    s->set.trust_measured ? ei->measured_a[k] :
			    ei->max_a);
	} else if (c->kind == K_ACTIVE) {
		/* the draw reclaim compares, by the phases in use */
		c->d1 = ceil_da(draw);
		if (ei->measured_a[1] > draw)
			draw = ei->measured_a[1];
		if (ei->measured_a[2] > draw)
			draw = ei->measured_a[2];
		c->d3 = ceil_da(draw);
	}
}

/* Fill EVSE i's ev_in from a new, valid input (EVSE ext in the desc). */
static void
derive(struct alloc_site *restrict s, size_t i, size_t ext,
    const struct alloc_evse_in *ei)
{
	struct ev_in *c = &s->cin[i];
	uint8_t wired = s->e_wired[i];
	int32_t cap;

	s->last_in[ext] = *ei;
	s->in_valid[ext] = 1;
	c->tstart = tkey(ei->session_start_ms);
	c->prio = (uint16_t)(ALLOC_PRIORITY_MAX - ei->priority);
	c->can_switch = wired == 3 && ei->can_switch_phases;
	switch (ei->state) {
	case ALLOC_ST_IDLE:
		c->kind = K_NONE;
		c->reason = ALLOC_R_IDLE;
		return;
	case ALLOC_ST_FAULTED:
	case ALLOC_ST_OFFLINE:
	case ALLOC_ST_UNCONTROLLABLE:
		if (!ei->has_session) {
			c->kind = K_NONE;
			c->reason = ALLOC_R_UNAVAILABLE;
			return;
		}
		c->kind = K_UNCTRL;
		derive_readings(s, i, ei);
		return;
	default:
		break;
	}
	c->kind = K_ACTIVE;
	c->m = ceil_da(ei->min_a);
	if (c->m < s->min_da)
		c->m = s->min_da;
	if (c->m < 1)		/* a running EVSE gets at least one step */
		c->m = 1;
	c->M = floor_da(ei->max_a);
	c->max_reason = ALLOC_R_EV_MAX;
	if (ei->has_cap && (cap = floor_da(ei->cap_a)) < c->M) {
		c->M = cap;
		c->max_reason = ALLOC_R_CAP;
	}
	derive_readings(s, i, ei);
}

/* Classify EVSE i from its ev_in and its memory (updated in place), fill
 * its work entries and its sort keys; counts the assumed draw of the
 * uncontrollable. */
static void
classify(struct alloc_site *restrict s, size_t i, uint64_t now)
{
	struct ev_hot *e = &s->h[i];
	struct ev_cold *cd = &s->cold[i];
	struct ev_mem *mm = &s->mem[i];
	const struct ev_in *c = &s->cin[i];
	uint8_t wired = s->e_wired[i];
	int32_t rc;

	e->x = 0;
	e->old = 0;
	e->st = S_OUT;
	s->live[i] = 0;
	e->mode = wired;
	e->mask = (uint8_t)phase_mask(wired == 3, e->one);
	e->flags = 0;
	e->kind = c->kind;
	cd->rnode = -1;
	cd->rphase = -1;
	s->kadm[i] = KEY_NONE;
	s->kmord[i] = KEY_NONE;
	if (c->kind != K_ACTIVE) {
		forget(mm, wired);
		if (c->kind == K_NONE) {
			e->reason = c->reason;
			return;
		}
		e->reason = ALLOC_R_UNCONTROLLABLE;
		for (int n = (int)e->node; n >= 0; n = s->parent[n])
			for (int p = 0; p < 3; p++)
				s->unc[3 * n + p] += c->assumed[p];
		return;
	}

	if (!mm->was_active) {
		uint64_t start = s->last_in[s->e_ext[i]].session_start_ms;

		forget(mm, wired);
		/* a new session has waited since it started */
		mm->waiting_since = start < now ? start : now;
	}
	e->old = mm->last;
	e->m = c->m;
	e->M = c->M;
	e->max_reason = c->max_reason;
	if (c->can_switch) {
		e->mode = mm->mode == 1 ? 1 : 3;
		if (!mm->switched_ever || elapsed(now, mm->last_switch) >=
		    s->set.phase_switch_interval_ms)
			e->flags |= F_MAY_SWITCH;
	}
	mm->mode = e->mode;	/* e.g. it can no longer switch */
	e->mask = (uint8_t)phase_mask(e->mode == 3, e->one);
	e->fmask = (uint8_t)phase_mask((e->mode == 3) |
	    (e->flags & F_MAY_SWITCH), e->one);
	rc = reclaim(s, mm, e->mode == 3 ? c->d3 : c->d1, e->m, now);
	if (rc >= 0 && rc < e->M) {
		e->M = rc;
		e->max_reason = ALLOC_R_EV_DRAWS_LESS;
	}
	if (e->M < e->m) {		/* cannot run at all */
		e->reason = e->max_reason;
		return;
	}
	e->st = S_DONE;			/* eligible; admission decides */
	s->kadm[i] = adm_key(s, mm, c->prio, c->tstart, now, s->e_ext[i]);
	s->kmord[i] = (uint64_t)c->prio << K_TIER | (uint64_t)e->M << K_LOW |
	    s->e_ext[i];
}

/* Hysteresis: skip small increases; keep small decreases when they are
 * not needed for safety (the old value fits every limit and bound). */
static void
hysteresis(struct alloc_site *restrict s, size_t n_elig)
{
	int32_t h = s->hyst_da;
	int any = 0;

	if (h <= 0)
		return;
	/* increases first, in any order: each only frees room; the small
	 * decreases are marked (F_DOWN) for the second pass. The tests are
	 * combined without branches: which EVSEs move is data. */
	for (size_t i = 0; i < s->n_evses; i++) {
		struct ev_hot *e = &s->h[i];
		int32_t d = e->x - e->old;
		unsigned ok;

		if (d == 0)		/* no change (and all but the active) */
			continue;
		ok = (unsigned)(e->kind == K_ACTIVE) &
		    (unsigned)(e->x != 0) & (unsigned)(e->old != 0) &
		    (unsigned)!(e->flags & F_SWITCHED) &
		    (unsigned)(e->old >= e->m) & (unsigned)(e->old <= e->M);
		unsigned down = ok & (unsigned)(d < 0) & (unsigned)(-d < h);

		e->flags |= (uint8_t)(F_DOWN & -down);
		any |= (int)down;
		if (ok & (unsigned)(d > 0) & (unsigned)(d < h)) {
			path_load(s, e, -(int64_t)d);
			e->x = e->old;
			e->flags |= F_HELD;
		}
	}
	if (!any)
		return;
	/* then the decreases it may skip, in admission order */
	for (size_t pos = 0; pos < n_elig; pos++) {
		struct ev_hot *e = &s->h[s->adm[pos]];

		if ((e->flags & F_DOWN) &&
		    fits_load(s, e->node, e->mask, e->old - e->x)) {
			path_load(s, e, e->old - e->x);
			e->x = e->old;
			e->flags |= F_HELD;
		}
	}
}

/* ------------------------------------------------------------- allocate */

/* The first position in adm[lo..hi) whose key is above k (hi if none):
 * the keys are sorted there. */
static size_t
first_above(const struct alloc_site *restrict s, size_t lo, size_t hi,
    uint64_t k)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->kadm[s->adm[mid]] > k)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int
alloc_allocate(struct alloc_site *s, const struct alloc_input *in,
    uint64_t now, struct alloc_output *out)
{
	int overloaded = 0;
	size_t ne, pos, n_elig;
	int64_t t0;

	if (out == NULL || out->evse == NULL)
		return ALLOC_EINVAL;
	if (s == NULL || in == NULL || out->n_evse != s->n_evses ||
	    in->n_evse != s->n_evses || (s->n_evses > 0 && in->evse == NULL) ||
	    (out->node != NULL && out->n_node != s->n_nodes))
		goto invalid;
	for (int p = 0; p < 3; p++)
		if (isnan(in->root_limit_a[p]) || in->root_limit_a[p] < 0)
			goto invalid;
	ne = s->n_evses;

	/* 1. limits, and who takes part */
	for (size_t c = 0; c < s->n_c; c++) {
		s->lim[c] = s->fuse[c];
		s->unc[c] = 0;
		s->load[c] = 0;
	}
	for (int p = 0; p < 3; p++) {
		double r = in->root_limit_a[p];

		if (r < ALLOC_MAX_A && floor_da(r) < s->lim[p])
			s->lim[p] = floor_da(r);
	}
	/* Inputs first: a new one is checked and derived, one seen before
	 * was valid then; a refused call has changed nothing but the
	 * derived values of inputs that were valid. */
	for (size_t x = 0; x < ne; x++) {
		const struct alloc_evse_in *ei = &in->evse[x];
		int ch = s->in_valid[x] ? input_change(&s->last_in[x], ei) :
		    IN_OTHER;

		if (ch == IN_SAME)
			continue;
		if (ch == IN_READINGS) {	/* a new meter value */
			if (!readings_ok(ei))
				goto invalid;
			memcpy(s->last_in[x].measured_a, ei->measured_a,
			    sizeof ei->measured_a);
			derive_readings(s, s->ext_int[x], ei);
			continue;
		}
		if (!evse_in_ok(ei))
			goto invalid;
		derive(s, s->ext_int[x], x, ei);
	}
	for (size_t i = 0; i < ne; i++)
		classify(s, i, now);
	for (size_t c = 0; c < s->n_c; c++) {
		s->avail[c] = s->lim[c] - s->unc[c];
		if (s->avail[c] < 0)
			overloaded = 1;
	}

	/* 2. orders (keys made by classify) */
	sort_idx(s->adm, s->tmp, ne, s->kadm);
	sort_idx(s->mord, s->tmp, ne, s->kmord);
	n_elig = first_above(s, 0, ne, KEY_NONE - 1);

	/* 3. tiers, highest priority first; both orders group them alike.
	 * Every minimum is at least t0. */
	t0 = s->min_da > 1 ? s->min_da : 1;
	for (pos = 0; pos < n_elig;) {
		uint64_t tier = s->kadm[s->adm[pos]] >> K_TIER;
		size_t end, nf, ngrow;

		end = first_above(s, pos, n_elig,
		    (tier << K_TIER) | ((UINT64_C(1) << K_TIER) - 1));
		nf = admit_tier(s, pos, end, t0, &ngrow);
		if (fill_tier(s, pos, end, nf, ngrow))
			spread_remainder(s, pos, end);
		pos = end;
	}

	/* 4. stability */
	hysteresis(s, n_elig);

	/* 5. outputs and memory */
	for (size_t i = 0; i < ne; i++) {
		struct ev_hot *e = &s->h[i];
		const struct ev_cold *cd = &s->cold[i];
		struct ev_mem *mm = &s->mem[i];
		struct alloc_evse_out *o = &out->evse[s->e_ext[i]];
		int32_t top = 0;

		memset(o, 0, sizeof *o);
		o->reason = e->reason;
		o->node = cd->rnode;
		o->phase = cd->rphase;
		o->phases = e->mode;
		if (e->kind == K_UNCTRL) {
			const int32_t *as = s->cin[i].assumed;

			for (int p = 0; p < 3; p++) {
				o->grid_a[p] = as[p] / 10.0;
				if (as[p] > top)
					top = as[p];
			}
			o->limit_a = top / 10.0;
			continue;
		}
		if (e->kind != K_ACTIVE)
			continue;
		o->limit_a = e->x / 10.0;
		o->max_a = e->M / 10.0;
		o->held = !!(e->flags & F_HELD);
		o->switched = !!(e->flags & F_SWITCHED);
		/* no branch per phase: the masks of mixed EVSEs are random
		 * (limit_a >= 0, so 0 * limit_a is +0.0) */
		for (int p = 0; p < 3; p++)
			o->grid_a[p] = o->limit_a * on_grid[e->mask][p];
		if (e->x > 0 && e->old == 0)
			mm->run_since = now;
		if (e->x == 0 && e->old > 0)
			mm->waiting_since = now;
		if (e->flags & F_SWITCHED) {
			mm->last_switch = now;
			mm->switched_ever = 1;
		}
		mm->mode = e->mode;
		mm->last = e->x;
		mm->was_active = 1;
	}
	if (out->node != NULL) {
		for (size_t n = 0; n < s->n_nodes; n++) {
			struct alloc_node_out *no = &out->node[n];

			no->overloaded = 0;
			for (int p = 0; p < 3; p++) {
				size_t c = 3 * n + (size_t)p;

				no->limit_a[p] = s->lim[c] / 10.0;
				no->assumed_a[p] = s->unc[c] / 10.0;
				no->allocated_a[p] = s->load[c] / 10.0;
				if (s->unc[c] > s->lim[c])
					no->overloaded |= 1u << p;
			}
		}
	}
	return overloaded ? ALLOC_OVERLOADED : ALLOC_OK;
invalid:
	zero_out(out);
	return ALLOC_EINVAL;
}

/* ---------------------------------------------------------------- texts */

static const char *const reason_codes[] = {
	[ALLOC_R_IDLE] = "idle",
	[ALLOC_R_EV_MAX] = "ev_max",
	[ALLOC_R_CAP] = "cap",
	[ALLOC_R_CIRCUIT] = "circuit",
	[ALLOC_R_SITE_LIMIT] = "site_limit",
	[ALLOC_R_BELOW_MIN] = "below_min",
	[ALLOC_R_PRIORITY] = "priority",
	[ALLOC_R_ROTATION] = "rotation",
	[ALLOC_R_EV_DRAWS_LESS] = "ev_draws_less",
	[ALLOC_R_UNCONTROLLABLE] = "uncontrollable",
	[ALLOC_R_UNAVAILABLE] = "unavailable",
};

const char *
alloc_reason_code(enum alloc_reason r)
{
	if ((unsigned)r >= sizeof reason_codes / sizeof reason_codes[0])
		return "unknown";
	return reason_codes[r];
}

struct tbuf {
	char *buf;
	size_t len, off;
	int trunc;
};

static void tb_add(struct tbuf *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tb_add(struct tbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->off >= t->len) {
		t->trunc = 1;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->off, t->len - t->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->len - t->off) {
		t->trunc = 1;
		t->off = t->len;
	} else
		t->off += (size_t)n;
}

/* "circuit row-a" / "circuit #3" / "the site limit" */
static void
tb_node(struct tbuf *t, const struct alloc_site *s, int node)
{
	const char *name;

	if (node == 0)
		tb_add(t, "the site limit");
	else if ((name = alloc_site_node_name(s, (size_t)node)) != NULL)
		tb_add(t, "circuit %s", name);
	else
		tb_add(t, "circuit #%d", node);
}

int
alloc_reason_text(const struct alloc_site *s, const struct alloc_evse_out *o,
    char *buf, size_t len)
{
	struct tbuf t = { buf, len, 0, 0 };
	int ph = o != NULL ? o->phase + 1 : 0;

	if (buf == NULL || len == 0 || o == NULL)
		return ALLOC_EINVAL;
	buf[0] = '\0';
	switch (o->reason) {
	case ALLOC_R_IDLE:
		tb_add(&t, "idle: no vehicle");
		break;
	case ALLOC_R_EV_MAX:
		if (o->limit_a > 0)
			tb_add(&t, "at its maximum (%.1f A)", o->limit_a);
		else
			tb_add(&t, "paused: its maximum is below the minimum");
		break;
	case ALLOC_R_CAP:
		if (o->limit_a > 0)
			tb_add(&t, "limited by its upstream cap (%.1f A)",
			    o->limit_a);
		else
			tb_add(&t, "paused: its upstream cap is below the "
			    "minimum");
		break;
	case ALLOC_R_CIRCUIT:
	case ALLOC_R_SITE_LIMIT:
		tb_add(&t, "limited by ");
		tb_node(&t, s, o->node);
		tb_add(&t, " on L%d", ph);
		break;
	case ALLOC_R_BELOW_MIN:
		tb_add(&t, "paused: less than the minimum is left on ");
		tb_node(&t, s, o->node);
		tb_add(&t, " L%d", ph);
		break;
	case ALLOC_R_PRIORITY:
		tb_add(&t, "paused: higher-priority sessions use ");
		tb_node(&t, s, o->node);
		tb_add(&t, " L%d", ph);
		break;
	case ALLOC_R_ROTATION:
		tb_add(&t, "paused for rotation: waiting for its turn on ");
		tb_node(&t, s, o->node);
		tb_add(&t, " L%d", ph);
		break;
	case ALLOC_R_EV_DRAWS_LESS:
		tb_add(&t, "capped near what the EV draws (%.1f A)",
		    o->limit_a);
		break;
	case ALLOC_R_UNCONTROLLABLE:
		tb_add(&t, "not controllable: assumed to draw %.1f A",
		    o->limit_a);
		break;
	case ALLOC_R_UNAVAILABLE:
		tb_add(&t, "unavailable: faulted or offline, no session");
		break;
	default:
		tb_add(&t, "unknown reason %d", (int)o->reason);
		break;
	}
	if (o->held)
		tb_add(&t, " (held: change below the hysteresis)");
	if (o->switched)
		tb_add(&t, " (switched to %d phase%s)", o->phases,
		    o->phases == 1 ? "" : "s");
	return t.trunc ? ALLOC_ENOSPC : 0;
}

const char *
alloc_rotation_name(enum alloc_rotation r)
{
	if ((unsigned)r > ALLOC_ROT_L3L2L1)
		return "unknown";
	return rot_names[r];
}

int
alloc_rotation_parse(const char *str, enum alloc_rotation *out)
{
	if (str == NULL || out == NULL)
		return ALLOC_EINVAL;
	for (int r = 0; r < 6; r++) {
		if (strcmp(str, rot_names[r]) == 0) {
			*out = (enum alloc_rotation)r;
			return 0;
		}
	}
	return ALLOC_EINVAL;
}

const char *
alloc_strerror(int rc)
{
	switch (rc) {
	case ALLOC_OK:
		return "ok";
	case ALLOC_OVERLOADED:
		return "uncontrollable load alone exceeds a limit";
	case ALLOC_EINVAL:
		return "invalid argument";
	case ALLOC_ENOMEM:
		return "out of memory";
	case ALLOC_ENOSPC:
		return "buffer too small";
	default:
		return "unknown error";
	}
}
