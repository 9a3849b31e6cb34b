/*
 * control — see control.h.
 *
 * The allocator's site mirrors the configuration's circuits (nodes, in
 * breadth-first order from the root, as the allocator wants parents
 * first) and the EVSEs the site model has for configured chargers, in the
 * site's charger order. The mirror is rebuilt when site_generation() moves
 * or the configuration changes; each EVSE's allocator memory is adopted
 * from the previous mirror by (charger id, EVSE id).
 *
 * A second, private allocator site computes the fallback shares for the
 * base profiles: the failsafe limit with every EVSE charging. It is
 * recomputed on every rebuild and when the failsafe current changes.
 *
 * Caps and priorities arrive by site-wide EVSE number and are kept in a
 * small table by number, so that a cap set before the EVSE appears (or
 * while its charger is away) applies when it does.
 *
 * For the page: every trigger adds its bit (enum runlog_trigger) to the
 * pending run's, and each run is recorded in the runlog with them; a
 * timer samples the trend every TREND_INTERVAL_S (and the first run does,
 * so that the page has a point at once). Sampling sums the EVSEs'
 * readings: a thousand additions every 10 s.
 */
#include "control/control.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/dispatch.h"
#include "control/ems.h"
#include "control/runlog.h"
#include "control/trend.h"
#include "policy/alloc.h"
#include "site/site.h"
#include "types/ocpp.h"
#include "util/isotime.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MOD "control"
#define READING_MS 1000			/* a meter reading waits this long */
#define PUBLISH_MS 250			/* the status document */
#define PUBLISH_EVSE_MS 1000		/* the EVSE documents, a thousand of them */
#define PUBLISH_DEFER_MS 50		/* while profiles are on their way */
#define PUBLISH_DEFER_MAX 20		/* ... but no longer than 1 s */
#define NO_LIMIT ALLOC_MAX_A
#define HISTORY_RUNS 32			/* GET /api/history */
#define TREND_INTERVAL_S 10		/* GET /api/trend: an hour of points */
#define TREND_POINTS 360
#define PENDING_LISTED 100		/* chargers in the state doc's pending */

enum source { SRC_FUSE = 0, SRC_EMS, SRC_FAILSAFE, SRC_UPSTREAM, SRC_NONE };

static const char *const source_names[] = { "fuse", "ems", "failsafe",
	"upstream", "none" };

/* Per site-wide EVSE number: what the EMS and the upstream asked. */
struct evse_input {
	int number;
	bool has_cap;
	double cap_a;
	bool has_priority;
	int priority;
	bool has_up_cap;
	double up_cap_a;
};

/* One EVSE of the allocator's mirror. */
struct cevse {
	struct site_evse *evse;
	bool unknown;			/* charging, profile not known yet */
	const struct control_charger *cc;
	char charger_id[SITE_ID_LEN];
	int evse_id;
};

struct control {
	struct event_base *base;
	const struct control_opts *o;
	struct site *site;
	struct csms *csms;
	struct ems *ems;
	struct dispatch *dispatch;

	/* the mirror */
	struct alloc_site *alloc, *fallback;
	struct cevse *evses;
	size_t nevses;
	struct alloc_evse_in *in;
	struct alloc_evse_out *out;
	struct alloc_node_out *nodes;
	size_t nnodes;
	int *node_of;			/* [circuit index]: its node */
	double *fallback_a;
	int *fallback_phases;
	unsigned gen;
	bool stale;			/* rebuild before the next run */
	double fallback_for;		/* failsafe current the shares are for */

	/* limits */
	bool has_ems;
	double ems_a[3];
	enum source ems_source;		/* SRC_EMS or SRC_FAILSAFE */
	bool has_upstream;
	double upstream_a[3];
	double root_a[3];		/* effective, last run */
	enum source root_source[3];

	struct evse_input *inputs;	/* indexed by EVSE number */
	size_t ninputs;
	struct dispatch_target *targets;	/* nevses, reused every run */

	struct event *coalesce, *publish;
	bool scheduled;			/* coalesce is active or pending */
	int deferred;			/* publishes put off in a row */
	int64_t evse_published_ms;	/* monotonic: last round of EVSE docs */
	bool evse_dirty;
	int64_t last_run_ms;		/* monotonic */
	int64_t lapse_ms;		/* an away EVSE's profile lapses */
	struct event *lapse;
	struct event *reading;		/* meter readings: a lazy trigger */
	bool dirty;
	uint64_t runs;
	control_status_fn *status_fn;
	void *status_arg;

	/* for the page */
	uint64_t changes;		/* inputs and status changes seen */
	unsigned why;			/* enum runlog_trigger: the next run's */
	struct runlog *runlog;
	struct trend *trend;
	struct event *trend_ev;
};

/* ------------------------------------------------------------- helpers */

/* The inputs for EVSE number (1..SITE_EVSE_NUMBER_MAX), by index: a
 * lookup per EVSE per run. NULL when there are none and create is false,
 * or the number is out of range. */
static struct evse_input *
input_of(struct control *c, int number, bool create)
{
	if (number < 1 || number > SITE_EVSE_NUMBER_MAX)
		return NULL;
	if ((size_t)number >= c->ninputs) {
		size_t n = (size_t)number + 1;

		if (!create)
			return NULL;
		c->inputs = xrealloc(c->inputs, n * sizeof *c->inputs);
		memset(c->inputs + c->ninputs, 0,
		    (n - c->ninputs) * sizeof *c->inputs);
		c->ninputs = n;
	}
	c->inputs[number].number = number;
	return &c->inputs[number];
}

/* Run at once (in this loop iteration's turn: what arrives in the same
 * iteration joins) unless a run happened less than coalesce_ms ago; then
 * run when that much time has passed. An isolated change costs no delay,
 * a burst at most one run per coalesce_ms. */
static void
trigger(struct control *c, unsigned why)
{
	int64_t since = isotime_mono_ms() - c->last_run_ms;
	int64_t wait = c->o->coalesce_ms - since;
	struct timeval tv;

	c->why |= why;
	c->changes++;
	if (c->scheduled)
		return;
	c->scheduled = true;
	if (wait <= 0) {
		event_active(c->coalesce, EV_TIMEOUT, 0);
		return;
	}
	tv.tv_sec = 0;
	tv.tv_usec = (suseconds_t)(wait * 1000);
	evtimer_add(c->coalesce, &tv);
}

static enum alloc_rotation
rotation_of(const struct control_charger *cc)
{
	char name[40];
	enum alloc_rotation r = ALLOC_ROT_L1L2L3;

	snprintf(name, sizeof name, "L%dL%dL%d", cc->grid_phase[0] + 1,
	    cc->grid_phase[1] + 1, cc->grid_phase[2] + 1);
	alloc_rotation_parse(name, &r);
	return r;
}

static enum alloc_state
state_of(const struct site_evse *e)
{
	bool sess = e->session != NULL;

	switch (e->status) {
	case SITE_STATUS_OCCUPIED:
	case SITE_STATUS_FINISHING:
	case SITE_STATUS_RESERVED:
		return sess ? ALLOC_ST_OCCUPIED : ALLOC_ST_IDLE;
	case SITE_STATUS_CHARGING:
		return ALLOC_ST_CHARGING;
	case SITE_STATUS_SUSPENDED_EV:
		return ALLOC_ST_SUSPENDED_EV;
	case SITE_STATUS_SUSPENDED_EVSE:
		return ALLOC_ST_SUSPENDED_EVSE;
	case SITE_STATUS_UNAVAILABLE:
	case SITE_STATUS_FAULTED:
		return ALLOC_ST_FAULTED;
	case SITE_STATUS_AVAILABLE:
	case SITE_STATUS_UNKNOWN:
	default:
		return sess ? ALLOC_ST_CHARGING : ALLOC_ST_IDLE;
	}
}

/* ------------------------------------------------------------- mirror */

/* Charger id as configured, or NULL (approved unknown chargers are not
 * controlled). */
static const struct control_charger *
charger_find(const struct control_opts *o, const char *id)
{
	for (size_t i = 0; i < o->nchargers; i++)
		if (strcmp(o->chargers[i].id, id) == 0)
			return &o->chargers[i];
	return NULL;
}

static void
settings_of(const struct control_opts *o, struct alloc_settings *s)
{
	alloc_settings_default(s);
	s->min_current_a = o->min_current_a;
	s->hysteresis_a = o->hysteresis_a;
}

/* Nodes in breadth-first order from the root: map[circuit] = node. */
static struct alloc_node_desc *
nodes_of(const struct control_opts *o, int *map)
{
	size_t n = o->ncircuits, k = 0;
	struct alloc_node_desc *nodes = xcalloc(n, sizeof *nodes);
	int *order = xcalloc(n, sizeof *order);

	for (size_t i = 0; i < n; i++)
		map[i] = -1;
	order[k++] = o->root_index;
	map[o->root_index] = 0;
	for (size_t at = 0; at < k; at++)
		for (size_t i = 0; i < n; i++)
			if (o->circuits[i].parent_index == order[at] &&
			    map[i] < 0) {
				map[i] = (int)k;
				order[k++] = (int)i;
			}
	for (size_t i = 0; i < k; i++) {
		const struct control_circuit *ci = &o->circuits[order[i]];

		nodes[i].parent = ci->parent_index < 0 ? -1 :
		    map[ci->parent_index];
		memcpy(nodes[i].limit_a, ci->max_current_a,
		    sizeof nodes[i].limit_a);
		nodes[i].name = ci->id;
	}
	free(order);
	return nodes;
}

/* The fallback shares: the failsafe limit, every EVSE charging. */
static void
compute_fallback(struct control *c)
{
	double failsafe = c->o->failsafe_current_a;
	struct alloc_evse_in *in = xcalloc(c->nevses ? c->nevses : 1, sizeof *in);
	struct alloc_evse_out *out = xcalloc(c->nevses ? c->nevses : 1,
	    sizeof *out);
	struct alloc_input ai = { { failsafe, failsafe, failsafe }, in,
		c->nevses };
	struct alloc_output ao = { out, c->nevses, NULL, 0 };

	for (size_t i = 0; i < c->nevses; i++) {
		in[i].state = ALLOC_ST_CHARGING;
		in[i].has_session = 1;
		in[i].min_a = c->o->min_current_a;
		in[i].max_a = c->evses[i].cc->max_current_a;
		in[i].priority = c->evses[i].cc->priority;
	}
	if (alloc_allocate(c->fallback, &ai, 0, &ao) < 0)
		memset(out, 0, c->nevses * sizeof *out);
	for (size_t i = 0; i < c->nevses; i++) {
		c->fallback_a[i] = out[i].limit_a;
		c->fallback_phases[i] = out[i].phases ? out[i].phases :
		    c->evses[i].cc->phases;
	}
	c->fallback_for = failsafe;
	free(in);
	free(out);
}

/* Rebuild the mirror from the configuration and the site. Returns 0, or
 * -1 when the allocator refuses the description (then nothing changes). */
static int
rebuild(struct control *c, const struct control_opts *o)
{
	size_t ncirc = o->ncircuits, n = 0, cap = 16;
	int *map = xcalloc(ncirc, sizeof *map);
	struct alloc_node_desc *nodes = nodes_of(o, map);
	struct alloc_evse_desc *descs = xcalloc(cap, sizeof *descs);
	struct cevse *evses = xcalloc(cap, sizeof *evses);
	struct alloc_site_desc desc;
	struct alloc_site *a, *fb;

	for (size_t i = 0; i < site_charger_count(c->site); i++) {
		struct site_charger *ch = site_charger_at(c->site, i);
		const struct control_charger *cc = charger_find(o, ch->id);

		if (cc == NULL)
			continue;
		for (int e = 0; e < ch->nevses; e++) {
			if (n == cap) {
				cap *= 2;
				descs = xrealloc(descs, cap * sizeof *descs);
				evses = xrealloc(evses, cap * sizeof *evses);
			}
			memset(&descs[n], 0, sizeof descs[n]);
			descs[n].node = map[cc->circuit_index];
			descs[n].phases = cc->phases;
			descs[n].rotation = rotation_of(cc);
			descs[n].grid_phase = cc->grid_phase[0];
			evses[n].evse = ch->evses[e];
			evses[n].cc = cc;
			snprintf(evses[n].charger_id, sizeof evses[n].charger_id,
			    "%s", ch->id);
			evses[n].evse_id = e + 1;
			n++;
		}
	}
	desc.nodes = nodes;
	desc.n_nodes = ncirc;
	desc.evses = descs;
	desc.n_evses = n;
	settings_of(o, &desc.settings);
	a = alloc_site_new(&desc);
	fb = alloc_site_new(&desc);
	free(nodes);
	free(descs);
	if (a == NULL || fb == NULL) {
		alloc_site_free(a);
		alloc_site_free(fb);
		free(evses);
		free(map);
		return -1;
	}
	free(c->node_of);
	c->node_of = map;
	/* Carry each EVSE's memory over. */
	if (c->alloc != NULL)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < c->nevses; j++)
				if (c->evses[j].evse_id == evses[i].evse_id &&
				    strcmp(c->evses[j].charger_id,
				    evses[i].charger_id) == 0) {
					alloc_site_adopt_state(a, i, c->alloc, j);
					break;
				}
	alloc_site_free(c->alloc);
	alloc_site_free(c->fallback);
	free(c->evses);
	free(c->in);
	free(c->out);
	free(c->nodes);
	free(c->fallback_a);
	free(c->fallback_phases);
	c->alloc = a;
	c->fallback = fb;
	c->evses = evses;
	c->nevses = n;
	c->in = xcalloc(n ? n : 1, sizeof *c->in);
	c->out = xcalloc(n ? n : 1, sizeof *c->out);
	free(c->targets);
	c->targets = xcalloc(n ? n : 1, sizeof *c->targets);
	c->nnodes = ncirc;
	c->nodes = xcalloc(ncirc, sizeof *c->nodes);
	c->fallback_a = xcalloc(n ? n : 1, sizeof *c->fallback_a);
	c->fallback_phases = xcalloc(n ? n : 1, sizeof *c->fallback_phases);
	c->o = o;
	compute_fallback(c);
	c->gen = site_generation(c->site);
	c->stale = false;
	log_info(MOD, "site built evses=%zu circuits=%zu", n, ncirc);
	return 0;
}

/* ------------------------------------------------------ for the page */

/* EVSE i's latest current on each grid phase (0 without a reading). */
static void
measured_grid(const struct control *c, size_t i, double *grid)
{
	const struct site_evse *e = c->evses[i].evse;
	const struct control_charger *cc = c->evses[i].cc;

	grid[0] = grid[1] = grid[2] = 0;
	if (e->reading.have & SITE_HAVE_CURRENT)
		for (int p = 0; p < cc->phases && p < 3; p++)
			grid[cc->grid_phase[p]] += e->reading.current_a[p];
}

/* What node n was given: controllable limits plus what uncontrollable
 * EVSEs are assumed to draw, per grid phase. */
static void
allocated_of(const struct control *c, int n, double *out)
{
	for (int p = 0; p < 3; p++)
		out[p] = n >= 0 && (size_t)n < c->nnodes ?
		    c->nodes[n].allocated_a[p] + c->nodes[n].assumed_a[p] : 0;
}

/* The site's sums per grid phase: allocated (at the root) and measured. */
static void
site_sums(const struct control *c, double *allocated, double *measured)
{
	measured[0] = measured[1] = measured[2] = 0;
	for (size_t i = 0; i < c->nevses; i++) {
		double g[3];

		measured_grid(c, i, g);
		for (int p = 0; p < 3; p++)
			measured[p] += g[p];
	}
	allocated_of(c, 0, allocated);
}

/* A point of the trend: now. */
static void
sample(struct control *c)
{
	struct trend_point pt;

	/* No limit is known before the first run; and EVSEs that came or
	 * went since the last one leave pointers the next run replaces. */
	if (c->runs == 0 || c->stale || c->gen != site_generation(c->site))
		return;
	pt.time_ms = isotime_now_ms();
	memcpy(pt.limit_a, c->root_a, sizeof pt.limit_a);
	site_sums(c, pt.allocated_a, pt.measured_a);
	trend_add(c->trend, &pt);
}

/* Record the run just made, with what made it (why) and what every
 * numbered EVSE was sent (the targets). */
static void
record(struct control *c, unsigned why)
{
	struct runlog_run r;
	char text[160];

	r.time_ms = isotime_now_ms();
	r.triggers = why;
	memcpy(r.limit_a, c->root_a, sizeof r.limit_a);
	for (int p = 0; p < 3; p++)
		r.source[p] = source_names[c->root_source[p]];
	runlog_begin(c->runlog, &r, c->nevses);
	for (size_t i = 0; i < c->nevses; i++) {
		const struct alloc_evse_out *o = &c->out[i];
		struct runlog_evse x;

		if (c->evses[i].evse->number <= 0)
			continue;
		x.number = c->evses[i].evse->number;
		x.charger = c->evses[i].charger_id;
		x.setpoint_a = c->targets[i].limit_a;
		x.phases = c->targets[i].phases;
		x.reason = alloc_reason_code(o->reason);
		x.reason_text = alloc_reason_text(c->alloc, o, text,
		    sizeof text) >= 0 ? text : NULL;
		runlog_put(c->runlog, &x);
	}
	runlog_end(c->runlog);
}

/* ---------------------------------------------------------------- run */

static void
effective_limit(struct control *c)
{
	const double *fuse = c->o->circuits[c->o->root_index].
	    max_current_a;

	for (int p = 0; p < 3; p++) {
		double v = fuse[p];
		enum source s = SRC_FUSE;

		if (c->has_ems && c->ems_a[p] < v) {
			v = c->ems_a[p];
			s = c->ems_source;
		}
		if (c->has_upstream && c->upstream_a[p] < v) {
			v = c->upstream_a[p];
			s = SRC_UPSTREAM;
		}
		c->root_a[p] = v;
		c->root_source[p] = s;
	}
}

static void
fill_inputs(struct control *c, int64_t now_mono)
{
	int64_t now_wall = isotime_now_ms();

	c->lapse_ms = 0;
	for (size_t i = 0; i < c->nevses; i++) {
		const struct site_evse *e = c->evses[i].evse;
		const struct site_charger *ch = e->charger;
		const struct control_charger *cc = c->evses[i].cc;
		struct alloc_evse_in *x = &c->in[i];
		const struct evse_input *ui = e->number > 0 ?
		    input_of(c, e->number, false) : NULL;

		bool known = false;
		enum dispatch_control dc = ch->connected ?
		    dispatch_control_of(c->dispatch, i, e, &known) : DISPATCH_PENDING;

		memset(x, 0, sizeof *x);
		c->evses[i].unknown = false;
		x->has_session = e->session != NULL;
		if (!ch->connected)
			x->state = ALLOC_ST_OFFLINE;
		else if (dc == DISPATCH_UNCONTROLLABLE ||
		    ch->boot == SITE_BOOT_PENDING ||
		    ch->boot == SITE_BOOT_REJECTED || !ch->caps.discovered ||
		    (c->evses[i].unknown = e->session != NULL && !known))
			/* Includes a charging EVSE whose profile is not known
			 * yet (just connected): it may draw its maximum. */
			x->state = ALLOC_ST_UNCONTROLLABLE;
		else
			x->state = state_of(e);
		if (e->reading.have & SITE_HAVE_CURRENT)
			for (int p = 0; p < 3; p++)
				x->measured_a[p] = e->reading.current_a[p] > 0 &&
				    isfinite(e->reading.current_a[p]) ?
				    fmin(e->reading.current_a[p], ALLOC_MAX_A) : 0;
		if (e->session != NULL) {
			int64_t age = now_wall - e->session->start_ms;
			int64_t start = now_mono - (age > 0 ? age : 0);

			x->session_start_ms = start > 0 ? (uint64_t)start : 0;
		}
		x->min_a = c->o->min_current_a;
		x->max_a = cc->max_current_a;
		/* Away mid-session, it goes on applying the profile it holds
		 * (until its validTo, then its base): that is what it draws
		 * at most, not its maximum. */
		if (!ch->connected && e->session != NULL) {
			int64_t until;
			double holds = dispatch_evse_holds(c->dispatch, e, &until);

			if (holds >= 0 && holds < x->max_a)
				x->max_a = holds;
			/* Run again when that profile lapses. */
			if (holds >= 0 && until > 0 &&
			    (c->lapse_ms == 0 || until < c->lapse_ms))
				c->lapse_ms = until;
		}
		x->priority = cc->priority;
		if (ui != NULL) {
			if (ui->has_priority)
				x->priority = ui->priority;
			if (ui->has_cap || ui->has_up_cap) {
				x->has_cap = 1;
				x->cap_a = ui->has_cap ? ui->cap_a : NO_LIMIT;
				if (ui->has_up_cap && ui->up_cap_a < x->cap_a)
					x->cap_a = ui->up_cap_a;
			}
		}
	}
}

static void
run(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;
	int64_t now = isotime_mono_ms();
	struct alloc_input in;
	struct alloc_output out;
	struct dispatch_target *t;
	double before[3];
	int rc, changed = 0;
	unsigned why = c->why;

	(void)fd;
	(void)what;
	c->why = 0;
	c->scheduled = false;
	c->last_run_ms = now;
	evtimer_del(c->reading);	/* this run takes them in */
	if ((c->stale || c->gen != site_generation(c->site)) &&
	    rebuild(c, c->o) != 0)
		log_error(MOD, "cannot build the allocator's site; the previous "
		    "one stays");
	if (c->fallback_for != c->o->failsafe_current_a)
		compute_fallback(c);
	memcpy(before, c->root_a, sizeof before);
	effective_limit(c);
	fill_inputs(c, now);
	if (c->lapse_ms > 0) {
		int64_t ms = c->lapse_ms - now + 1;
		struct timeval tv = { (time_t)(ms / 1000),
			(suseconds_t)(ms % 1000) * 1000 };

		evtimer_add(c->lapse, &tv);
	}
	memcpy(in.root_limit_a, c->root_a, sizeof in.root_limit_a);
	in.evse = c->in;
	in.n_evse = c->nevses;
	out.evse = c->out;
	out.n_evse = c->nevses;
	out.node = c->nodes;
	out.n_node = c->nnodes;
	t = c->targets;
	for (size_t i = 0; i < c->nevses; i++)
		t[i].limit_a = c->out[i].limit_a;	/* the previous run's */
	rc = alloc_allocate(c->alloc, &in, (uint64_t)now, &out);
	c->runs++;
	if (rc < 0) {
		log_error(MOD, "allocation failed: %s", alloc_strerror(rc));
		return;
	}
	for (size_t i = 0; i < c->nevses; i++) {
		if (fabs(t[i].limit_a - c->out[i].limit_a) > 1e-9)
			changed++;
		t[i].evse = c->evses[i].evse;
		t[i].limit_a = c->out[i].limit_a;
		/* Counted at its maximum, it is sent no more than its fallback
		 * share; once accepted it takes part like the others. */
		if (c->evses[i].unknown && c->fallback_a[i] < t[i].limit_a)
			t[i].limit_a = c->fallback_a[i];
		t[i].phases = c->out[i].phases ? c->out[i].phases :
		    c->evses[i].cc->phases;
		t[i].fallback_a = c->fallback_a[i];
		t[i].fallback_phases = c->fallback_phases[i];
		t[i].max_a = c->evses[i].cc->max_current_a;
	}
	if (changed > 0 || memcmp(before, c->root_a, sizeof before) != 0 ||
	    rc == ALLOC_OVERLOADED)
		log_info(MOD, "allocated run=%llu limit=%.1f/%.1f/%.1f "
		    "source=%s/%s/%s allocated=%.1f/%.1f/%.1f changed=%d%s",
		    (unsigned long long)c->runs, c->root_a[0], c->root_a[1],
		    c->root_a[2], source_names[c->root_source[0]],
		    source_names[c->root_source[1]],
		    source_names[c->root_source[2]],
		    c->nnodes ? c->nodes[0].allocated_a[0] : 0,
		    c->nnodes ? c->nodes[0].allocated_a[1] : 0,
		    c->nnodes ? c->nodes[0].allocated_a[2] : 0, changed,
		    rc == ALLOC_OVERLOADED ? " overloaded=1" : "");
	dispatch_apply(c->dispatch, t, c->nevses);
	record(c, why);
	if (trend_count(c->trend) == 0)
		sample(c);	/* the page's first point, at once */
	control_status_changed(c);
}

/* ------------------------------------------------------------- status */

static cJSON *
evse_doc(struct control *c, size_t i)
{
	const struct site_evse *e = c->evses[i].evse;
	const struct alloc_evse_out *o = &c->out[i];
	struct dispatch_evse_state ds;
	cJSON *doc = cJSON_CreateObject(), *conns, *ses;
	char text[160];
	const struct evse_input *ui = input_of(c, e->number, false);

	dispatch_evse_state(c->dispatch, e, &ds);
	cJSON_AddNumberToObject(doc, "evse", e->number);
	cJSON_AddStringToObject(doc, "charger", e->charger->id);
	cJSON_AddNumberToObject(doc, "charger_evse", e->id);
	cJSON_AddStringToObject(doc, "status", site_status_name(e->status));
	cJSON_AddBoolToObject(doc, "connected", e->charger->connected);
	if (!e->charger->connected && e->charger->last_seen_ms > 0)
		json_add_time(doc, "last_seen", e->charger->last_seen_ms);
	conns = cJSON_AddArrayToObject(doc, "connectors");
	for (int k = 0; k < e->nconnectors; k++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "id", k + 1);
		cJSON_AddStringToObject(x, "status",
		    site_status_name(e->connectors[k].status));
		cJSON_AddItemToArray(conns, x);
	}
	if (e->session != NULL) {
		ses = cJSON_AddObjectToObject(doc, "session");
		cJSON_AddNumberToObject(ses, "id", (double)e->session->id);
		cJSON_AddStringToObject(ses, "transaction_id",
		    e->session->charger_tx_id);
		if (e->session->id_token[0] != '\0')
			cJSON_AddStringToObject(ses, "id_token",
			    e->session->id_token);
		json_add_time(ses, "started", e->session->start_ms);
		cJSON_AddNumberToObject(ses, "meter_start_wh",
		    e->session->meter_start_wh);
	} else {
		cJSON_AddNullToObject(doc, "session");
	}
	cJSON_AddNumberToObject(doc, "offered_a", o->limit_a);
	cJSON_AddNumberToObject(doc, "phases", o->phases);
	cJSON_AddItemToObject(doc, "measured_a", json_tenths3(
	    e->reading.have & SITE_HAVE_CURRENT ? e->reading.current_a :
	    (const double[3]){ 0, 0, 0 }));
	if (e->reading.have & SITE_HAVE_POWER)
		cJSON_AddNumberToObject(doc, "power_w", e->reading.power_w);
	if (e->reading.have & SITE_HAVE_ENERGY)
		cJSON_AddNumberToObject(doc, "energy_wh", e->reading.energy_wh);
	cJSON_AddStringToObject(doc, "reason", alloc_reason_code(o->reason));
	if (alloc_reason_text(c->alloc, o, text, sizeof text) >= 0)
		cJSON_AddStringToObject(doc, "reason_text", text);
	cJSON_AddStringToObject(doc, "control", dispatch_control_name(ds.control));
	if (ds.control == DISPATCH_UNCONTROLLABLE) {
		cJSON_AddStringToObject(doc, "control_reason", ds.why);
		if (ds.retry_ms > 0)
			json_add_time(doc, "control_retry", ds.retry_ms);
	}
	if (ds.purpose[0])
		cJSON_AddStringToObject(doc, "profile", ds.purpose);
	if (ds.unit[0])
		cJSON_AddStringToObject(doc, "unit", ds.unit);
	if (ui != NULL && (ui->has_cap || ui->has_up_cap))
		cJSON_AddNumberToObject(doc, "cap_a", c->in[i].cap_a);
	cJSON_AddNumberToObject(doc, "priority", c->in[i].priority);
	return doc;
}

/* The site status document (<prefix>/status). */
static cJSON *
status_doc(struct control *c)
{
	cJSON *doc, *lim, *src, *ch, *ev, *dp;
	double measured[3] = { 0, 0, 0 }, allocated[3] = { 0, 0, 0 };
	size_t connected = 0, charging = 0, unctl = 0;
	uint64_t sent, acc, failed;

	for (size_t i = 0; i < site_charger_count(c->site); i++)
		connected += site_charger_at(c->site, i)->connected;
	for (size_t i = 0; i < c->nevses; i++) {
		charging += c->evses[i].evse->status == SITE_STATUS_CHARGING;
		unctl += c->in[i].state == ALLOC_ST_UNCONTROLLABLE;
	}
	site_sums(c, allocated, measured);
	doc = cJSON_CreateObject();
	cJSON_AddTrueToObject(doc, "online");
	lim = cJSON_AddObjectToObject(doc, "limit");
	cJSON_AddItemToObject(lim, "current_a", json_tenths3(c->root_a));
	src = cJSON_AddArrayToObject(lim, "source");
	for (int p = 0; p < 3; p++)
		cJSON_AddItemToArray(src, cJSON_CreateString(
		    source_names[c->root_source[p]]));
	cJSON_AddItemToObject(doc, "allocated_a", json_tenths3(allocated));
	cJSON_AddItemToObject(doc, "measured_a", json_tenths3(measured));
	ch = cJSON_AddObjectToObject(doc, "chargers");
	cJSON_AddNumberToObject(ch, "configured", (double)c->o->nchargers);
	cJSON_AddNumberToObject(ch, "connected", (double)connected);
	ev = cJSON_AddObjectToObject(doc, "evses");
	cJSON_AddNumberToObject(ev, "total", (double)c->nevses);
	cJSON_AddNumberToObject(ev, "charging", (double)charging);
	cJSON_AddNumberToObject(ev, "uncontrollable", (double)unctl);
	dispatch_counts(c->dispatch, &sent, &acc, &failed);
	dp = cJSON_AddObjectToObject(doc, "profiles");
	cJSON_AddNumberToObject(dp, "sent", (double)sent);
	cJSON_AddNumberToObject(dp, "accepted", (double)acc);
	cJSON_AddNumberToObject(dp, "failed", (double)failed);
	if (c->status_fn != NULL)
		c->status_fn(doc, c->status_arg);
	else
		cJSON_AddStringToObject(cJSON_AddObjectToObject(doc, "uplink"),
		    "state", "disabled");
	return doc;
}

/* Whether the mirror matches the site (EVSEs added or removed since the
 * last run leave pointers the next run replaces). */
static bool
mirror_current(struct control *c)
{
	return !c->stale && c->gen == site_generation(c->site);
}

static void
publish(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;
	cJSON *doc;
	bool evse_round;

	(void)fd;
	(void)what;
	if ((!c->dirty && !c->evse_dirty) || c->ems == NULL)
		return;
	if (!mirror_current(c)) {
		/* EVSEs changed: publish after the next run */
		trigger(c, RUNLOG_TRIG_RECONFIGURE);
		return;
	}
	/* A thousand status documents cost milliseconds: not while profiles
	 * are on their way, so that they leave first. */
	if (!dispatch_settled(c->dispatch) && c->deferred < PUBLISH_DEFER_MAX) {
		struct timeval tv = { 0, PUBLISH_DEFER_MS * 1000 };

		c->deferred++;
		evtimer_add(c->publish, &tv);
		return;
	}
	c->deferred = 0;
	c->dirty = false;
	c->evse_dirty = true;
	{
		int64_t now = isotime_mono_ms();

		evse_round = now - c->evse_published_ms >= PUBLISH_EVSE_MS;
		if (evse_round) {
			c->evse_published_ms = now;
			c->evse_dirty = false;
		}
	}
	for (size_t i = 0; evse_round && i < c->nevses; i++) {
		const struct site_evse *e = c->evses[i].evse;

		if (e->number <= 0)
			continue;
		doc = evse_doc(c, i);
		ems_publish_evse(c->ems, e->number, doc);
		cJSON_Delete(doc);
	}
	doc = status_doc(c);
	ems_publish_status(c->ems, doc);
	cJSON_Delete(doc);
	if (c->evse_dirty && !evtimer_pending(c->publish, NULL)) {
		int64_t left = c->evse_published_ms + PUBLISH_EVSE_MS -
		    isotime_mono_ms();
		struct timeval tv;

		if (left < 1)
			left = 1;
		tv.tv_sec = (time_t)(left / 1000);
		tv.tv_usec = (suseconds_t)(left % 1000) * 1000;

		evtimer_add(c->publish, &tv);
	}
}

/* The circuits of the configuration, each with its fuse, what is
 * allocated below it and what is measured below it, per grid phase. */
static cJSON *
circuits_json(struct control *c)
{
	const struct control_opts *o = c->o;
	cJSON *arr = cJSON_CreateArray();
	double (*meas)[3] = xcalloc(o->ncircuits ? o->ncircuits : 1,
	    sizeof *meas);

	/* Each EVSE's current counts in its circuit and every one above. */
	for (size_t i = 0; i < c->nevses; i++) {
		double g[3];
		int ci = c->evses[i].cc->circuit_index;

		measured_grid(c, i, g);
		for (size_t hops = 0; ci >= 0 && (size_t)ci < o->ncircuits &&
		    hops < o->ncircuits; hops++) {
			for (int p = 0; p < 3; p++)
				meas[ci][p] += g[p];
			ci = o->circuits[ci].parent_index;
		}
	}
	for (size_t k = 0; k < o->ncircuits; k++) {
		const struct control_circuit *ci = &o->circuits[k];
		cJSON *x = cJSON_CreateObject();
		double alloc[3];

		cJSON_AddStringToObject(x, "id", ci->id);
		if (ci->parent_index < 0)
			cJSON_AddNullToObject(x, "parent");
		else
			cJSON_AddStringToObject(x, "parent",
			    o->circuits[ci->parent_index].id);
		cJSON_AddItemToObject(x, "max_a", json_tenths3(ci->max_current_a));
		allocated_of(c, c->node_of != NULL ? c->node_of[k] : -1, alloc);
		cJSON_AddItemToObject(x, "allocated_a", json_tenths3(alloc));
		cJSON_AddItemToObject(x, "measured_a", json_tenths3(meas[k]));
		cJSON_AddItemToArray(arr, x);
	}
	free(meas);
	return arr;
}

/* Chargers that booted Pending and wait for the installer: "pending"
 * (at most PENDING_LISTED) and "pending_total" into doc. */
static void
pending_json(struct control *c, cJSON *doc)
{
	cJSON *arr = cJSON_AddArrayToObject(doc, "pending");
	size_t total = 0;

	for (size_t i = 0; i < site_charger_count(c->site); i++) {
		const struct site_charger *ch = site_charger_at(c->site, i);
		cJSON *x;

		if (ch->configured || ch->approved || ch->boot != SITE_BOOT_PENDING)
			continue;
		if (total++ >= PENDING_LISTED)
			continue;
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "id", ch->id);
		if (ch->addr[0] != '\0')
			cJSON_AddStringToObject(x, "address", ch->addr);
		else
			cJSON_AddNullToObject(x, "address");
		cJSON_AddStringToObject(x, "version",
		    ocpp_version_name(ch->version));
		cJSON_AddNumberToObject(x, "attempts", ch->boot_attempts);
		json_add_time(x, "last_seen", ch->last_seen_ms);
		cJSON_AddBoolToObject(x, "connected", ch->connected);
		cJSON_AddItemToArray(arr, x);
	}
	cJSON_AddNumberToObject(doc, "pending_total", (double)total);
}

cJSON *
control_state_doc(struct control *c)
{
	cJSON *doc, *evses, *status;

	if (!mirror_current(c)) {
		trigger(c, RUNLOG_TRIG_RECONFIGURE);
		return NULL;
	}
	doc = cJSON_CreateObject();
	status = status_doc(c);
	/* The page's status has the ems member with its age; the published
	 * one gets it from ems at send time, without the age (see ems.h). */
	if (c->ems != NULL)
		cJSON_AddItemToObject(status, "ems", ems_state_json(c->ems));
	cJSON_AddItemToObject(doc, "status", status);
	cJSON_AddItemToObject(doc, "circuits", circuits_json(c));
	evses = cJSON_AddArrayToObject(doc, "evses");
	for (size_t i = 0; i < c->nevses; i++)
		if (c->evses[i].evse->number > 0)
			cJSON_AddItemToArray(evses, evse_doc(c, i));
	pending_json(c, doc);
	return doc;
}

uint64_t
control_changes(const struct control *c)
{
	return c->changes + c->runs;
}

cJSON *
control_history_doc(struct control *c)
{
	return runlog_json(c->runlog);
}

cJSON *
control_trend_doc(struct control *c)
{
	return trend_json(c->trend);
}

/* ------------------------------------------------------------ triggers */

/* A meter reading matters to the allocator only over tens of seconds
 * (reclaiming from cars that draw less), and a thousand chargers send a
 * hundred a second: readings wait up to READING_MS for a run, which any
 * other trigger brings forward. */
static void
on_reading(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	trigger(arg, RUNLOG_TRIG_READING);
}

/* What a site event is, as a trigger. */
static unsigned
why_of(enum site_event_type type)
{
	switch (type) {
	case SITE_EV_CHARGER_CONNECTED:
		return RUNLOG_TRIG_CONNECT;
	case SITE_EV_CHARGER_DISCONNECTED:
		return RUNLOG_TRIG_DISCONNECT;
	case SITE_EV_CHARGER_BOOTED:
		return RUNLOG_TRIG_BOOT;
	case SITE_EV_STATUS:
		return RUNLOG_TRIG_STATUS;
	case SITE_EV_SESSION_STARTED:
	case SITE_EV_SESSION_ENDED:
		return RUNLOG_TRIG_SESSION;
	case SITE_EV_READING:
		return RUNLOG_TRIG_READING;
	case SITE_EV_CAPS:		/* its profiles can be sent now */
		return RUNLOG_TRIG_CONTROL;
	default:
		return 0;
	}
}

static void
on_site(const struct site_event *ev, void *arg)
{
	struct control *c = arg;

	if (ev->type == SITE_EV_READING) {
		struct timeval tv = { READING_MS / 1000, (READING_MS % 1000) * 1000 };

		if (!c->scheduled && !evtimer_pending(c->reading, NULL))
			evtimer_add(c->reading, &tv);
		c->why |= RUNLOG_TRIG_READING;
		c->dirty = true;
		c->changes++;
		return;
	}
	trigger(c, why_of(ev->type));
}

static void
on_dispatch(void *arg)
{
	trigger(arg, RUNLOG_TRIG_CONTROL);
}

static void
on_lapse(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	trigger(arg, RUNLOG_TRIG_PERIODIC);
}

static void
on_trend(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sample(arg);
}

/* ------------------------------------------------------------------ API */

struct control *
control_new(struct event_base *base, const struct control_opts *o,
    struct site *site, struct csms *cs, struct ems *ems, char **cause)
{
	struct control *c = xcalloc(1, sizeof *c);

	c->base = base;
	c->o = o;
	c->site = site;
	c->csms = cs;
	c->dispatch = dispatch_new(base, site, cs, &o->dispatch, on_dispatch, c);
	c->coalesce = evtimer_new(base, run, c);
	c->publish = evtimer_new(base, publish, c);
	c->lapse = evtimer_new(base, on_lapse, c);
	c->reading = evtimer_new(base, on_reading, c);
	c->trend_ev = event_new(base, -1, EV_PERSIST, on_trend, c);
	c->runlog = runlog_new(HISTORY_RUNS);
	c->trend = trend_new(TREND_POINTS, TREND_INTERVAL_S);
	if (c->coalesce == NULL || c->publish == NULL || c->lapse == NULL ||
	    c->reading == NULL || c->trend_ev == NULL ||
	    site_subscribe(site, SITE_EV_ALL, on_site, c) != 0)
		abort();
	{
		struct timeval tv = { TREND_INTERVAL_S, 0 };

		evtimer_add(c->trend_ev, &tv);
	}
	if (control_reconfigure(c, o, ems, cause) != 0) {
		control_free(c);
		return NULL;
	}
	return c;
}

static void
set_ems_limit(struct control *c, const struct ems_limit *limit)
{
	memcpy(c->ems_a, limit->current_a, sizeof c->ems_a);
	c->ems_source = limit->source == EMS_SOURCE_EMS ? SRC_EMS : SRC_FAILSAFE;
	c->has_ems = true;
}

int
control_reconfigure(struct control *c, const struct control_opts *o,
    struct ems *ems, char **cause)
{
	if (rebuild(c, o) != 0) {
		*cause = xstrdup("the allocator refused the site description");
		return -1;
	}
	c->ems = ems;
	c->has_ems = ems != NULL;
	if (ems != NULL)
		set_ems_limit(c, ems_limit(ems));
	dispatch_reconfigure(c->dispatch, &o->dispatch);
	c->dirty = true;
	trigger(c, RUNLOG_TRIG_RECONFIGURE);
	return 0;
}

void
control_ems_limit(struct control *c, const struct ems_limit *limit)
{
	set_ems_limit(c, limit);
	trigger(c, RUNLOG_TRIG_EMS_LIMIT);
}

void
control_evse_set(struct control *c, const struct ems_evse_set *set)
{
	struct evse_input *ui = input_of(c, set->evse, true);

	if (ui == NULL)
		return;		/* ems checked the range: not reached */
	if (set->cap == EMS_CAP_SET) {
		ui->has_cap = true;
		ui->cap_a = set->cap_a;
	} else if (set->cap == EMS_CAP_CLEAR) {
		ui->has_cap = false;
	}
	if (set->has_priority) {
		ui->has_priority = true;
		ui->priority = set->priority;
	}
	log_info(MOD, "evse set evse=%d cap=%s%.1f priority=%d", set->evse,
	    ui->has_cap ? "" : "none/", ui->has_cap ? ui->cap_a : 0,
	    ui->has_priority ? ui->priority : -1);
	trigger(c, RUNLOG_TRIG_CAP);
}

void
control_upstream_limit(struct control *c, const double *limit_a)
{
	c->has_upstream = limit_a != NULL;
	if (limit_a != NULL)
		memcpy(c->upstream_a, limit_a, sizeof c->upstream_a);
	trigger(c, RUNLOG_TRIG_UPSTREAM_LIMIT);
}

void
control_upstream_cap(struct control *c, int number, double cap_a)
{
	struct evse_input *ui = input_of(c, number, true);

	if (ui == NULL)
		return;
	ui->has_up_cap = cap_a >= 0;
	ui->up_cap_a = cap_a;
	trigger(c, RUNLOG_TRIG_CAP);
}

int
control_offer(struct control *c, int number, double *limit_a, int *phases)
{
	if (c->gen != site_generation(c->site))
		return -1;
	if (number == 0) {
		if (c->nnodes == 0)
			return -1;
		for (int p = 0; p < 3; p++)
			limit_a[p] = c->nodes[0].allocated_a[p];
		*phases = 3;
		return 0;
	}
	for (size_t i = 0; i < c->nevses; i++)
		if (c->evses[i].evse->number == number) {
			for (int p = 0; p < 3; p++)
				limit_a[p] = p < c->out[i].phases ?
				    c->out[i].limit_a : 0;
			*phases = c->out[i].phases;
			return 0;
		}
	return -1;
}

void
control_status_changed(struct control *c)
{
	c->dirty = true;
	c->changes++;
	if (c->ems != NULL && !evtimer_pending(c->publish, NULL)) {
		struct timeval tv = { 0, PUBLISH_MS * 1000 };

		evtimer_add(c->publish, &tv);
	}
}

void
control_set_status_fn(struct control *c, control_status_fn *fn, void *arg)
{
	c->status_fn = fn;
	c->status_arg = arg;
}

void
control_free(struct control *c)
{
	if (c == NULL)
		return;
	site_unsubscribe(c->site, on_site, c);
	dispatch_free(c->dispatch);
	if (c->coalesce)
		event_free(c->coalesce);
	if (c->publish)
		event_free(c->publish);
	if (c->lapse)
		event_free(c->lapse);
	if (c->reading)
		event_free(c->reading);
	if (c->trend_ev)
		event_free(c->trend_ev);
	runlog_free(c->runlog);
	trend_free(c->trend);
	free(c->node_of);
	alloc_site_free(c->alloc);
	alloc_site_free(c->fallback);
	free(c->evses);
	free(c->in);
	free(c->out);
	free(c->nodes);
	free(c->fallback_a);
	free(c->fallback_phases);
	free(c->inputs);
	free(c->targets);
	free(c);
}
