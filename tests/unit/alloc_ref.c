/*
 * The allocator as of commit 1ca46a6 (policy/alloc.c before the work on
 * issue #5's speed target), kept as a reference for test_alloc_diff.c:
 * the entry points are static and renamed ref_*, the text helpers are
 * left out; the algorithm is untouched. Not part of the library: only
 * test_alloc_diff.c includes it. Do not change it to follow alloc.c:
 * the point is that alloc.c must keep answering exactly like this.
 */
#include <math.h>
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
	uint8_t pad[4];
};

/* Per call: the rest. */
struct ev_cold {
	int32_t assumed[3];	/* uncontrollable: per grid phase (dA) */
	int32_t rnode;		/* binding node or -1 */
	int32_t rphase;		/* binding phase or -1 */
};

struct ref_site {
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
	struct ev_mem *next;	/* being written; swapped in on success */
	struct ev_hot *h;
	struct ev_cold *cold;

	/* per constraint */
	int64_t *lim, *unc, *avail, *load, *hi_load;
	int64_t *lvl;		/* fill level while water-filling */
	int32_t *g;		/* EVSEs growing through it */

	/* stale fill levels: the leaves touched, their ancestors follow */
	uint8_t *ndirty;
	uint32_t *dlist, *flist, *seen, stamp;
	size_t nd;
	uint8_t *stale;		/* per node: levels are only lower bounds */
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

	/* admission: demand of a tier's minima per constraint, and per node
	 * the phases over-subscribed on the way to the root */
	int64_t *dem;
	uint8_t *pover;
	uint8_t *seq;		/* per EVSE: needs the sequential pass */

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

static const uint8_t rot_map[6][3] = {
	{ 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 },
	{ 0, 2, 1 }, { 1, 0, 2 }, { 2, 1, 0 },
};

static const char *const rot_names[6] = {
	"L1L2L3", "L2L3L1", "L3L1L2", "L1L3L2", "L2L1L3", "L3L2L1",
};

/* --------------------------------------------------------- settings */

static int
settings_ok(const struct alloc_settings *s)
{
	return s != NULL && ok_amp(s->min_current_a) &&
	    ok_amp(s->hysteresis_a) && ok_amp(s->reclaim_margin_a);
}

static void
settings_apply(struct ref_site *site, const struct alloc_settings *s)
{
	site->set = *s;
	site->min_da = ceil_da(s->min_current_a);
	site->hyst_da = ceil_da(s->hysteresis_a);
	site->margin_da = ceil_da(s->reclaim_margin_a);
}

static int
ref_site_set_settings(struct ref_site *site, const struct alloc_settings *s)
{
	if (site == NULL || !settings_ok(s))
		return ALLOC_EINVAL;
	settings_apply(site, s);
	return 0;
}

/* ------------------------------------------------------ build, free */

static void
ref_site_free(struct ref_site *site)
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
	free(site->next);
	free(site->h);
	free(site->pv);
	free(site->pg);
	free(site->ptouched);
	free(site->plist);
	free(site->dem);
	free(site->pover);
	free(site->seq);
	free(site->cold);
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

static struct ref_site *
ref_site_new(const struct alloc_site_desc *d)
{
	struct ref_site *s;
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
	ALLOC_N(s->next, ne);
	ALLOC_N(s->pv, nc);
	ALLOC_N(s->pg, nc);
	ALLOC_N(s->ptouched, nn);
	ALLOC_N(s->plist, nn);
	ALLOC_N(s->dem, nc);
	ALLOC_N(s->pover, nn);
	ALLOC_N(s->seq, ne);
	ALLOC_N(s->h, ne);
	ALLOC_N(s->cold, ne);
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

	/* Every fill level starts (and, after each tier, ends) infinite. */
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
	ref_site_free(s);
	return NULL;
}

static int
ref_site_adopt_state(struct ref_site *dst, size_t dst_i,
    const struct ref_site *src, size_t src_i)
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
fits(const struct ref_site *s, uint32_t node, unsigned mask, int64_t x,
    const int64_t *used, int *fail)
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

/* The same while EVSEs grow at level t: load[] + g[] * t is taken. */
static int
fits_at(const struct ref_site *s, uint32_t node, unsigned mask, int64_t x,
    int64_t t, int *fail)
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
path_load(struct ref_site *s, const struct ev_hot *e, int64_t v)
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
path_grow(struct ref_site *s, const struct ev_hot *e, int64_t v,
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
defer(struct ref_site *s, const struct ev_hot *e, int64_t v, int32_t dg)
{
	size_t c = 3 * (size_t)e->node;

	if (e->mask == 7) {
		s->pv[c] += v;
		s->pv[c + 1] += v;
		s->pv[c + 2] += v;
		s->pg[c] += dg;
		s->pg[c + 1] += dg;
		s->pg[c + 2] += dg;
	} else {
		c += (size_t)__builtin_ctz(e->mask);
		s->pv[c] += v;
		s->pg[c] += dg;
	}
	s->plist[s->np] = e->node;
	s->np += !s->ptouched[e->node];
	s->ptouched[e->node] = 1;
}

static void
commit(struct ref_site *s, int eager)
{
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
room_at_level(const struct ref_site *s, const struct ev_hot *e, int64_t t)
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
node_levels(struct ref_site *s, size_t n)
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
tt_fix(struct ref_site *s, size_t j)
{
	size_t l = 2 * j, w = s->tv[l + 1] < s->tv[l] ? l + 1 : l;

	s->tv[j] = s->tv[w];
	s->tn[j] = s->tn[w];
}

static void
refresh(struct ref_site *s, size_t n)
{
	node_levels(s, n);
	for (size_t j = (s->tt_size + n) >> 1; j >= 1; j >>= 1)
		tt_fix(s, j);
}

/* Recompute the dirty nodes and their ancestors, each once (the stamp
 * marks those done), then their places in the tree. */
static void
flush_levels(struct ref_site *s)
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

/* The constraint with the lowest fill level (lowest index on ties),
 * recomputing stale nodes as they come up. */
static size_t
min_level(struct ref_site *s)
{
	for (;;) {
		size_t n = s->tn[1], c = 3 * n, best;

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
set_bound(struct ref_site *s, size_t i, int c)
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
	return e->mode == 3 || (e->flags & F_MAY_SWITCH) ? 7u : e->one;
}

/* Admit EVSE i in mode (1 or 3): reserve its minimum. Deferred (commit()
 * follows) or at once. */
static inline __attribute__((always_inline)) void
admit_one(struct ref_site *s, size_t i, unsigned mode, int64_t t0,
    int deferred, size_t *nf, size_t *ngrow)
{
	struct ev_hot *e = &s->h[i];

	if (mode != e->mode) {
		e->mode = (uint8_t)mode;
		e->flags |= F_SWITCHED;
	}
	e->mask = (uint8_t)(mode == 3 ? 7 : e->one);
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
 */
static size_t
admit_tier(struct ref_site *s, size_t a0, size_t a1, int64_t t0,
    size_t *ngrow)
{
	size_t nf = 0, nn = s->n_nodes;

	memcpy(s->hi_load, s->load, s->n_c * sizeof *s->load);
	*ngrow = 0;

	/* demand of the minima, per node own, then per subtree */
	memset(s->dem, 0, s->n_c * sizeof *s->dem);
	for (size_t pos = a0; pos < a1; pos++) {
		const struct ev_hot *e = &s->h[s->adm[pos]];
		unsigned mask = first_mask(e);
		size_t c = 3 * (size_t)e->node;

		s->dem[c] += mask & 1 ? e->m : 0;
		s->dem[c + 1] += mask & 2 ? e->m : 0;
		s->dem[c + 2] += mask & 4 ? e->m : 0;
	}
	for (size_t n = nn - 1; n > 0; n--) {
		size_t c = 3 * n, pc = 3 * (size_t)s->parent[n];

		s->dem[pc] += s->dem[c];
		s->dem[pc + 1] += s->dem[c + 1];
		s->dem[pc + 2] += s->dem[c + 2];
	}
	for (size_t n = 0; n < nn; n++) {	/* parents first */
		size_t c = 3 * n;
		unsigned ov = (unsigned)(s->dem[c] > s->avail[c] -
		    s->load[c]) | (unsigned)(s->dem[c + 1] > s->avail[c + 1] -
		    s->load[c + 1]) << 1 | (unsigned)(s->dem[c + 2] >
		    s->avail[c + 2] - s->load[c + 2]) << 2;

		s->pover[n] = (uint8_t)(ov | (n > 0 ?
		    s->pover[s->parent[n]] : 0));
	}
	for (size_t pos = a0; pos < a1; pos++) {
		size_t i = s->adm[pos];
		struct ev_hot *e = &s->h[i];
		unsigned mask = first_mask(e);

		s->seq[i] = (s->pover[e->node] & mask) != 0;
		if (!s->seq[i])
			admit_one(s, i, mask == 7 ? 3 : 1, t0, 1, &nf, ngrow);
	}
	commit(s, 1);

	/* the sequential pass, for the rest */
	for (size_t pos = a0; pos < a1; pos++) {
		size_t i = s->adm[pos];
		struct ev_hot *e = &s->h[i];
		unsigned tried, mode;
		int can_sw, fail = -1, ok, c2;

		if (!s->seq[i])		/* admitted above */
			continue;
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

/* Stop an EVSE at v (deferred: commit() follows). */
static inline __attribute__((always_inline)) void
freeze(struct ref_site *s, struct ev_hot *e, int32_t v, size_t *ngrow)
{
	if (e->st == S_GROW) {
		e->x = v;
		defer(s, e, v, -1);
		(*ngrow)--;
	}
	/* a FLOOR EVSE stays at its minimum, already in load[] */
	e->st = S_DONE;
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
stop_at(struct ref_site *s, size_t c, int64_t ts, size_t *ngrow)
{
	size_t n = c / 3;
	unsigned bit = 1u << (c % 3);
	int64_t r;
	int any = 0;

	commit(s, 0);
	r = s->avail[c] - s->load[c] - s->g[c] * ts;
	for (size_t j = s->ev_lo[n]; j < s->ev_hi[n]; j++) {
		struct ev_hot *e = &s->h[j];
		int up = 0;

		if ((e->st != S_GROW && e->st != S_FLOOR) || !(e->mask & bit))
			continue;
		if (e->st == S_GROW) {
			any = 1;
			if (r > 0) {
				commit(s, 0);	/* room_at_level reads it */
				up = room_at_level(s, e, ts);
				r -= up;
			}
		}
		freeze(s, e, (int32_t)ts + up, ngrow);
		if (e->x == e->M) {		/* its own bound too */
			e->reason = e->max_reason;
			set_bound(s, j, -1);
			continue;
		}
		e->reason = n == 0 ? ALLOC_R_SITE_LIMIT : ALLOC_R_CIRCUIT;
		set_bound(s, j, (int)c);
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
fill_tier(struct ref_site *s, size_t a0, size_t a1, size_t nf,
    size_t ngrow)
{
	size_t mp = a0;
	int gap = 0;

	for (;;) {
		int64_t tf = INF64, tm = INF64, tc, ts;
		size_t k = 0;

		flush_levels(s);
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
		tc = s->lvl[min_level(s)];
		if (nf == 0 && ngrow == 0)
			break;
		ts = tf < tm ? tf : tm;
		if (tc < ts)
			ts = tc;

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
			freeze(s, e, e->M, &ngrow);
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
		for (;;) {
			size_t c = min_level(s);

			if (s->lvl[c] > ts)
				break;
			gap |= stop_at(s, c, ts, &ngrow);
		}
	}
	return gap;
}

/* Hand out any single 0.1 A steps still free, in admission order, so no
 * capacity is idle that someone below its maximum could take. */
static void
spread_remainder(struct ref_site *s, size_t a0, size_t a1)
{
	int changed;

	do {
		changed = 0;
		for (size_t pos = a0; pos < a1; pos++) {
			size_t i = s->adm[pos];
			struct ev_hot *e = &s->h[i];

			if (e->st != S_DONE || e->x >= e->M ||
			    !fits(s, e->node, e->mask, 1, s->load, NULL))
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
reclaim(struct ref_site *s, struct ev_mem *mm,
    const struct alloc_evse_in *ei, unsigned mode, int32_t m, uint64_t now)
{
	double draw = ei->measured_a[0];
	int32_t d, want;

	if (mode == 3) {
		if (ei->measured_a[1] > draw)
			draw = ei->measured_a[1];
		if (ei->measured_a[2] > draw)
			draw = ei->measured_a[2];
	}
	d = ceil_da(draw);
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
adm_key(const struct ref_site *s, const struct ev_mem *mm, int prio,
    uint64_t session_start, uint64_t now, size_t ext)
{
	uint64_t period = s->set.rotation_period_ms, group = 0, t;

	t = tkey(session_start);
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
	return (uint64_t)(ALLOC_PRIORITY_MAX - prio) << K_TIER |
	    group << K_GROUP | t << K_LOW | ext;
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

/* Classify EVSE i, fill its work entries and its sort keys; counts the
 * assumed draw of the uncontrollable. */
static void
classify(struct ref_site *s, size_t i, const struct alloc_evse_in *ei,
    uint64_t now)
{
	struct ev_hot *e = &s->h[i];
	struct ev_cold *cd = &s->cold[i];
	struct ev_mem *mm = &s->next[i];
	uint8_t wired = s->e_wired[i];
	int32_t cap, rc;

	*mm = s->mem[i];

	e->x = 0;
	e->old = 0;
	e->st = S_OUT;
	e->mode = wired;
	e->mask = wired == 3 ? 7 : e->one;
	e->flags = 0;
	cd->rnode = -1;
	cd->rphase = -1;
	s->kadm[i] = KEY_NONE;
	s->kmord[i] = KEY_NONE;
	switch (ei->state) {
	case ALLOC_ST_IDLE:
		e->kind = K_NONE;
		e->reason = ALLOC_R_IDLE;
		forget(mm, wired);
		return;
	case ALLOC_ST_FAULTED:
	case ALLOC_ST_OFFLINE:
	case ALLOC_ST_UNCONTROLLABLE:
		forget(mm, wired);
		if (!ei->has_session) {
			e->kind = K_NONE;
			e->reason = ALLOC_R_UNAVAILABLE;
			return;
		}
		e->kind = K_UNCTRL;
		e->reason = ALLOC_R_UNCONTROLLABLE;
		cd->assumed[0] = cd->assumed[1] = cd->assumed[2] = 0;
		for (int k = 0; k < wired; k++)
			cd->assumed[s->e_map[3 * i + k]] = ceil_da(
			    s->set.trust_measured ? ei->measured_a[k] :
			    ei->max_a);
		for (int n = (int)e->node; n >= 0; n = s->parent[n])
			for (int p = 0; p < 3; p++)
				s->unc[3 * n + p] += cd->assumed[p];
		return;
	default:
		break;
	}

	e->kind = K_ACTIVE;
	if (!mm->was_active) {
		forget(mm, wired);
		/* a new session has waited since it started */
		mm->waiting_since = ei->session_start_ms < now ?
		    ei->session_start_ms : now;
	}
	e->old = mm->last;
	e->m = ceil_da(ei->min_a);
	if (e->m < s->min_da)
		e->m = s->min_da;
	if (e->m < 1)		/* a running EVSE gets at least one step */
		e->m = 1;
	e->M = floor_da(ei->max_a);
	e->max_reason = ALLOC_R_EV_MAX;
	if (ei->has_cap && (cap = floor_da(ei->cap_a)) < e->M) {
		e->M = cap;
		e->max_reason = ALLOC_R_CAP;
	}
	if (wired == 3 && ei->can_switch_phases) {
		e->mode = mm->mode == 1 ? 1 : 3;
		if (!mm->switched_ever || elapsed(now, mm->last_switch) >=
		    s->set.phase_switch_interval_ms)
			e->flags |= F_MAY_SWITCH;
	}
	mm->mode = e->mode;	/* e.g. it can no longer switch */
	e->mask = e->mode == 3 ? 7 : e->one;
	rc = reclaim(s, mm, ei, e->mode, e->m, now);
	if (rc >= 0 && rc < e->M) {
		e->M = rc;
		e->max_reason = ALLOC_R_EV_DRAWS_LESS;
	}
	if (e->M < e->m) {		/* cannot run at all */
		e->reason = e->max_reason;
		return;
	}
	e->st = S_DONE;			/* eligible; admission decides */
	s->kadm[i] = adm_key(s, mm, ei->priority, ei->session_start_ms, now,
	    s->e_ext[i]);
	s->kmord[i] = (uint64_t)(ALLOC_PRIORITY_MAX - ei->priority) << K_TIER |
	    (uint64_t)e->M << K_LOW | s->e_ext[i];
}

/* Hysteresis: skip small increases; keep small decreases when they are
 * not needed for safety (the old value fits every limit and bound). */
static void
hysteresis(struct ref_site *s, size_t n_elig)
{
	int32_t h = s->hyst_da;
	int any = 0;

	if (h <= 0)
		return;
	/* increases first, in any order: each only frees room */
	for (size_t i = 0; i < s->n_evses; i++) {
		struct ev_hot *e = &s->h[i];

		if (e->kind != K_ACTIVE || e->x == 0 || e->old == 0 ||
		    (e->flags & F_SWITCHED) || e->old < e->m || e->old > e->M)
			continue;
		if (e->x > e->old && e->x - e->old < h) {
			path_load(s, e, e->old - e->x);
			e->x = e->old;
			e->flags |= F_HELD;
		} else if (e->x < e->old && e->old - e->x < h)
			any = 1;
	}
	if (!any)
		return;
	/* then the decreases it may skip, in admission order */
	for (size_t pos = 0; pos < n_elig; pos++) {
		struct ev_hot *e = &s->h[s->adm[pos]];

		if (e->x == 0 || e->old == 0 || (e->flags & F_SWITCHED) ||
		    e->old < e->m || e->old > e->M)
			continue;
		if (e->x < e->old && e->old - e->x < h &&
		    fits(s, e->node, e->mask, e->old - e->x, s->load, NULL)) {
			path_load(s, e, e->old - e->x);
			e->x = e->old;
			e->flags |= F_HELD;
		}
	}
}

/* ------------------------------------------------------------- allocate */

static int
ref_allocate(struct ref_site *s, const struct alloc_input *in,
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
	/* Each EVSE's input is checked as it is read; the memory is written
	 * to s->next and only swapped in at the end, so a refused call
	 * changes nothing. */
	for (size_t i = 0; i < ne; i++) {
		const struct alloc_evse_in *ei = &in->evse[s->e_ext[i]];

		if (!evse_in_ok(ei))
			goto invalid;
		classify(s, i, ei, now);
	}
	for (size_t c = 0; c < s->n_c; c++) {
		s->avail[c] = s->lim[c] - s->unc[c];
		if (s->avail[c] < 0)
			overloaded = 1;
	}

	/* 2. orders (keys made by classify) */
	sort_idx(s->adm, s->tmp, ne, s->kadm);
	sort_idx(s->mord, s->tmp, ne, s->kmord);
	for (n_elig = 0; n_elig < ne && s->kadm[s->adm[n_elig]] != KEY_NONE;)
		n_elig++;

	/* 3. tiers, highest priority first; both orders group them alike.
	 * Every minimum is at least t0. */
	t0 = s->min_da > 1 ? s->min_da : 1;
	for (pos = 0; pos < n_elig;) {
		uint64_t tier = s->kadm[s->adm[pos]] >> K_TIER;
		size_t end = pos, nf, ngrow;

		while (end < n_elig && s->kadm[s->adm[end]] >> K_TIER == tier)
			end++;
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
		struct ev_mem *mm = &s->next[i];
		struct alloc_evse_out *o = &out->evse[s->e_ext[i]];
		int32_t top = 0;

		memset(o, 0, sizeof *o);
		o->reason = e->reason;
		o->node = cd->rnode;
		o->phase = cd->rphase;
		o->phases = e->mode;
		if (e->kind == K_UNCTRL) {
			for (int p = 0; p < 3; p++) {
				o->grid_a[p] = cd->assumed[p] / 10.0;
				if (cd->assumed[p] > top)
					top = cd->assumed[p];
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
		/* no branch per phase: the masks of mixed EVSEs are random */
		for (int p = 0; p < 3; p++)
			o->grid_a[p] = e->mask >> p & 1 ? o->limit_a : 0.0;
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
	{
		struct ev_mem *t = s->mem;

		s->mem = s->next;
		s->next = t;
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
