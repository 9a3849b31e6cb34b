/*
 * dispatch — see dispatch.h.
 *
 * State lives per charger id (struct dch), created when a charger first
 * appears among the targets and kept until dispatch_free, so that what a
 * charger's dialect is survives its reconnections. Each EVSE (struct dev)
 * tracks three profiles: the dynamic TxDefaultProfile, the TxProfile of the
 * running transaction and the base profile, each as "acknowledged value,
 * or unknown". An epoch per charger, bumped on every (re)connection,
 * makes answers from an earlier connection count for nothing.
 *
 * What the charger applies now ("effective") is the TxProfile's value
 * while its transaction runs, else the dynamic TxDefaultProfile's, else
 * the base's, else its maximum. The increase gate compares, for every
 * controllable EVSE, the highest value it may be applying (effective, or
 * a value in flight) with its target.
 *
 * Work happens in one pump (an event activated by apply, by every answer
 * and by the 1 s tick), so a burst of answers costs one pass. A pass is
 * O(EVSEs); site chargers are looked up again only when the site's
 * generation moved.
 */
#include "control/dispatch.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp/model.h"
#include "roles/csms.h"
#include "site/site.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MOD "dispatch"
#define EPS 1e-6
#define ID_BASE 1000
#define ID_TX 2000
#define ID_DEFAULT 3000
#define SCHEDULE_BACKDATE_MS (3600 * 1000)

enum kind { K_DEFAULT = 0, K_TX, K_BASE, K_COUNT };

static const char *const kind_names[K_COUNT] = { "TxDefaultProfile",
	"TxProfile", "base" };

/* One profile slot on one EVSE. */
struct slot {
	bool known;			/* value is what the charger holds */
	double a;
	int phases;
	char tx_id[SITE_TOKEN_LEN];	/* K_TX: the transaction it is bound to */
	int64_t renew_mono;		/* 0: no validity to renew */
	int64_t expires_mono;		/* its validTo; 0: none */
};

struct dev {
	int id;
	struct slot slot[K_COUNT];
	bool inflight;
	double fly_a;
	bool blocking;			/* may be above its target: no increases */
	bool waiting;			/* an increase waits for the gate */
	/* the latest target */
	bool has_target;
	struct dispatch_target t;	/* .evse is not kept: see site lookup */
};

struct dch {
	char id[SITE_ID_LEN];
	struct site_charger *sch;	/* resolved at d->gen; may be NULL */
	const struct dispatch_charger *cc;/* in d->o; NULL when not listed */
	int nev;			/* evses[0..nev) may be set */
	unsigned epoch;
	bool ready_seen;		/* ready at the last pass */
	int choice;			/* index into the dialect ladder */
	bool unctl;
	bool permanent;			/* no smart charging: until reconnect */
	bool no_base;			/* it refused the base profile */
	char why[96];
	int backoff_s;
	int64_t retry_mono, retry_wall;
	struct dev *evses[SITE_MAX_EVSES];
	/* the overrides the choice was learnt under */
	enum dispatch_purpose o_purpose;
	enum dispatch_unit o_unit;
	int o_level;
	struct dch *next;		/* all chargers */
	struct dch *hnext;		/* hash chain */
};

struct cmd {
	struct dispatch *d;		/* NULL once dispatch is freed */
	struct cmd *prev, *next;
	struct dch *ch;
	int evse;
	unsigned epoch;
	enum kind kind;
	int choice;
	double a;
	int phases;
	char tx_id[SITE_TOKEN_LEN];
	int64_t renew_mono, expires_mono;
};

struct dispatch {
	struct event_base *base;
	struct site *site;
	struct csms *csms;
	const struct dispatch_opts *o;
	dispatch_change_cb *cb;
	void *arg;
	struct dch *chargers;
	struct dch **hash;		/* by id; nhash buckets, a power of 2 */
	size_t nhash, ncharger;
	struct dch **last;		/* dch of each target of the last apply */
	size_t nlast;
	unsigned gen;
	bool gen_valid;
	struct event *pump, *tick;
	struct cmd *cmds;		/* in flight */
	uint64_t sent, accepted, failed;
	size_t inflight;		/* profiles sent, not answered */
	size_t blocking;		/* EVSEs with dev.blocking */
	size_t waiting;			/* EVSEs with dev.waiting */
	bool settled;
};

static const char *const control_names[] = { "ok", "pending",
	"uncontrollable" };

const char *
dispatch_control_name(enum dispatch_control c)
{
	return (unsigned)c < 3 ? control_names[c] : "unknown";
}

/* The overrides of charger id, or NULL when it is not configured. */
static const struct dispatch_charger *
charger_find(const struct dispatch_opts *o, const char *id)
{
	for (size_t i = 0; i < o->nchargers; i++)
		if (strcmp(o->chargers[i].id, id) == 0)
			return &o->chargers[i];
	return NULL;
}

/* ------------------------------------------------------------ chargers */

/* FNV-1a: charger ids are short; lookups happen per EVSE per run. */
static size_t
hash_id(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

static struct dch *
dch_find(struct dispatch *d, const char *id)
{
	for (struct dch *c = d->hash[hash_id(id) & (d->nhash - 1)]; c;
	    c = c->hnext)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static void
hash_grow(struct dispatch *d)
{
	size_t n = d->nhash * 2;
	struct dch **h = xcalloc(n, sizeof *h);

	for (struct dch *c = d->chargers; c; c = c->next) {
		size_t b = hash_id(c->id) & (n - 1);

		c->hnext = h[b];
		h[b] = c;
	}
	free(d->hash);
	d->hash = h;
	d->nhash = n;
}

static struct dch *
dch_get(struct dispatch *d, struct site_charger *sch)
{
	struct dch *c = dch_find(d, sch->id);

	if (c == NULL) {
		const struct dispatch_charger *cc = charger_find(d->o,
		    sch->id);
		size_t b;

		c = xcalloc(1, sizeof *c);
		snprintf(c->id, sizeof c->id, "%s", sch->id);
		c->cc = cc;
		c->o_level = -1;
		if (cc != NULL) {
			c->o_purpose = cc->purpose;
			c->o_unit = cc->unit;
			c->o_level = cc->max_stack_level;
		}
		if (++d->ncharger > d->nhash)
			hash_grow(d);	/* rehashes the others: c is not listed yet */
		c->next = d->chargers;
		d->chargers = c;
		b = hash_id(c->id) & (d->nhash - 1);
		c->hnext = d->hash[b];
		d->hash[b] = c;
	}
	c->sch = sch;
	return c;
}

static struct dev *
dev_get(struct dch *c, int evse)
{
	if (c->evses[evse - 1] == NULL) {
		c->evses[evse - 1] = xcalloc(1, sizeof *c->evses[0]);
		c->evses[evse - 1]->id = evse;
		if (evse > c->nev)
			c->nev = evse;
	}
	return c->evses[evse - 1];
}

/* Set flag *f to v, keeping *count (how many are set) right. */
static void
flag(size_t *count, bool *f, bool v)
{
	if (*f != v) {
		*f = v;
		if (v)
			(*count)++;
		else
			(*count)--;
	}
}

static void
dev_idle(struct dispatch *d, struct dev *v)
{
	flag(&d->blocking, &v->blocking, false);
	flag(&d->waiting, &v->waiting, false);
}

/* Forget what the charger holds: a new connection. Answers still on their
 * way from the old one will not count (the epoch moved). */
static void
dch_reset(struct dispatch *d, struct dch *c)
{
	c->epoch++;
	for (int e = 0; e < c->nev; e++)
		if (c->evses[e] != NULL) {
			struct dev *v = c->evses[e];

			memset(v->slot, 0, sizeof v->slot);
			if (v->inflight)
				d->inflight--;
			v->inflight = false;
			dev_idle(d, v);
		}
	if (c->permanent) {
		c->permanent = false;
		c->unctl = false;
	}
}

/* Re-resolve site charger pointers after the site changed shape. */
static void
resolve(struct dispatch *d)
{
	unsigned gen = site_generation(d->site);

	if (d->gen_valid && gen == d->gen)
		return;
	for (struct dch *c = d->chargers; c; c = c->next)
		c->sch = site_charger(d->site, c->id);
	d->gen = gen;
	d->gen_valid = true;
}

/* ------------------------------------------------------------- dialect */

struct dialect {
	enum ocpp_purpose purpose;	/* preferred while a transaction runs */
	enum ocpp_unit unit;
	int level;			/* of the dynamic profiles */
	bool base;			/* a base profile sits beneath */
	bool phases;			/* send numberPhases */
};

/* The choices this charger may be offered, in order: purposes vary
 * fastest, then units, then stack levels. Returns how many. */
static int
ladder(const struct dch *c,
    enum ocpp_purpose *p, int *np, enum ocpp_unit *u, int *nu, int *l, int *nl)
{
	const struct dispatch_charger *cc = c->cc;
	const struct site_caps *caps = c->sch ? &c->sch->caps : NULL;
	int maxlevel = caps && caps->discovered ? caps->max_stack_level : 1;

	*np = *nu = *nl = 0;
	if (cc && cc->purpose == DISPATCH_PURPOSE_TX)
		p[(*np)++] = OCPP_PURPOSE_TX;
	else if (cc && cc->purpose == DISPATCH_PURPOSE_TX_DEFAULT)
		p[(*np)++] = OCPP_PURPOSE_TX_DEFAULT;
	else {
		p[(*np)++] = OCPP_PURPOSE_TX;
		p[(*np)++] = OCPP_PURPOSE_TX_DEFAULT;
	}
	if (cc && cc->unit == DISPATCH_UNIT_A)
		u[(*nu)++] = OCPP_UNIT_A;
	else if (cc && cc->unit == DISPATCH_UNIT_W)
		u[(*nu)++] = OCPP_UNIT_W;
	else if (caps && caps->discovered && caps->rate_w && !caps->rate_a) {
		u[(*nu)++] = OCPP_UNIT_W;
		u[(*nu)++] = OCPP_UNIT_A;
	} else {
		u[(*nu)++] = OCPP_UNIT_A;
		u[(*nu)++] = OCPP_UNIT_W;
	}
	if (cc && cc->max_stack_level >= 0)
		maxlevel = cc->max_stack_level;
	if (maxlevel >= 1)
		l[(*nl)++] = 1;
	l[(*nl)++] = 0;
	return *np * *nu * *nl;
}

static struct dialect
dialect_of(const struct dch *c)
{
	enum ocpp_purpose p[2];
	enum ocpp_unit u[2];
	int l[2], np, nu, nl;
	int n = ladder(c, p, &np, u, &nu, l, &nl);
	int k = c->choice < n ? c->choice : 0;
	const struct dispatch_charger *cc = c->cc;
	struct dialect x = {
		.purpose = p[k % np],
		.unit = u[(k / np) % nu],
		.level = l[k / (np * nu)],
		.phases = cc == NULL || cc->number_phases,
	};

	/* The dynamic TxDefaultProfile (sent whenever no transaction runs)
	 * at level 0 would replace the base profile: no base then. */
	/* 1.6 MaxChargingProfilesInstalled is a maximum: a base needs room
	 * for three profiles per EVSE. (2.0.1's Entries counts what is
	 * installed now, not a maximum.) */
	x.base = x.level > 0 && !c->no_base && (c->sch == NULL ||
	    c->sch->version != OCPP_V16 || c->sch->caps.max_profiles <= 0 ||
	    c->sch->caps.max_profiles >= 3 * (c->nev > 0 ? c->nev : 1));
	return x;
}

/* ------------------------------------------------------------- helpers */

/* The charger's EVSE, if the charger is there and can take profiles. */
static bool
ready(const struct dch *c)
{
	const struct site_charger *s = c->sch;

	return s != NULL && s->connected && s->boot != SITE_BOOT_PENDING &&
	    s->boot != SITE_BOOT_REJECTED && s->caps.discovered;
}

static const struct site_session *
session_of(const struct dch *c, int evse)
{
	if (c->sch == NULL || evse > c->sch->nevses)
		return NULL;
	return c->sch->evses[evse - 1]->session;
}

/* Whether what the EVSE applies now is known. */
static bool
dev_known(const struct dev *v, const struct site_session *sess)
{
	const struct slot *s = v->slot;

	return (sess != NULL && s[K_TX].known &&
	    strcmp(s[K_TX].tx_id, sess->charger_tx_id) == 0) ||
	    s[K_DEFAULT].known || s[K_BASE].known;
}

/* What the EVSE may be applying now. */
static double
effective(const struct dev *v, const struct site_session *sess)
{
	const struct slot *s = v->slot;

	if (sess != NULL && s[K_TX].known &&
	    strcmp(s[K_TX].tx_id, sess->charger_tx_id) == 0)
		return s[K_TX].a;
	if (s[K_DEFAULT].known)
		return s[K_DEFAULT].a;
	if (s[K_BASE].known)
		return s[K_BASE].a;
	return v->t.max_a;
}

static double
highest(const struct dev *v, const struct site_session *sess)
{
	double e = effective(v, sess);

	return v->inflight && v->fly_a > e ? v->fly_a : e;
}

static void
schedule(struct dispatch *d)
{
	event_active(d->pump, 0, 0);
}

static void
set_unctl(struct dispatch *d, struct dch *c, bool permanent, const char *why)
{
	int64_t delay;

	/* Doubling from one failure to the next until a profile is accepted
	 * (a retry clears unctl, not the backoff). */
	if (c->backoff_s == 0) {
		c->backoff_s = d->o->retry_min_s;
	} else {
		c->backoff_s *= 2;
		if (c->backoff_s > d->o->retry_max_s)
			c->backoff_s = d->o->retry_max_s;
	}
	delay = (int64_t)c->backoff_s * 1000;
	c->unctl = true;
	c->permanent = permanent;
	c->retry_mono = isotime_mono_ms() + delay;
	c->retry_wall = isotime_now_ms() + delay;
	snprintf(c->why, sizeof c->why, "%s", why);
	{
		char esc[LOG_ESC_LEN];

		log_warn(MOD, "uncontrollable charger=%s why=%s retry_s=%s%d",
		    c->id, log_esc(esc, sizeof esc, why), permanent ? "reconnect:" :
		    "", permanent ? 0 : c->backoff_s);
	}
	if (d->cb)
		d->cb(d->arg);
}

/* ------------------------------------------------------------ sending */

static void on_done(const struct ocpp_command_result *r, const char *error,
    void *arg);

static void
cmd_unlink(struct dispatch *d, struct cmd *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		d->cmds = k->next;
	if (k->next)
		k->next->prev = k->prev;
}

/* Send one profile of kind to EVSE v of c. */
static void
send_profile(struct dispatch *d, struct dch *c, struct dev *v, enum kind kind,
    double a, int phases, const struct site_session *sess)
{
	struct dialect x = dialect_of(c);
	struct ocpp_command cmd;
	struct ocpp_profile *p = &cmd.u.profile;
	struct cmd *k = xcalloc(1, sizeof *k);
	int64_t now = isotime_now_ms();
	int validity_ms = d->o->profile_validity_s * 1000;
	double limit = a;

	/* Only the profile of the union is used: not 10 kB of zeroes. */
	memset(&cmd, 0, offsetof(struct ocpp_command, u) + sizeof cmd.u.profile);
	cmd.type = OCPP_CMD_SET_PROFILE;
	cmd.evse = v->id;
	p->purpose = kind == K_TX ? OCPP_PURPOSE_TX : OCPP_PURPOSE_TX_DEFAULT;
	p->id = (kind == K_BASE ? ID_BASE : kind == K_TX ? ID_TX : ID_DEFAULT) +
	    v->id;
	p->stack_level = kind == K_BASE ? 0 : x.level;
	p->unit = x.unit;
	if (kind == K_TX)
		snprintf(p->tx_id, sizeof p->tx_id, "%s", sess->charger_tx_id);
	p->start_ms = now - SCHEDULE_BACKDATE_MS;
	if (kind != K_BASE && x.base)
		p->valid_to_ms = now + validity_ms;
	if (x.unit == OCPP_UNIT_W)
		limit = floor(a * d->o->voltage_v * phases);
	p->nperiods = 1;
	p->periods[0].start_s = 0;
	p->periods[0].limit = limit;
	p->periods[0].phases = x.phases ? phases : 0;

	k->d = d;
	k->ch = c;
	k->evse = v->id;
	k->epoch = c->epoch;
	k->kind = kind;
	k->choice = c->choice;
	k->a = a;
	k->phases = phases;
	snprintf(k->tx_id, sizeof k->tx_id, "%s", p->tx_id);
	k->renew_mono = p->valid_to_ms ? isotime_mono_ms() + validity_ms / 2 : 0;
	k->expires_mono = p->valid_to_ms ? isotime_mono_ms() + validity_ms : 0;
	if (csms_command(d->csms, c->id, &cmd, on_done, k) != 0) {
		log_warn(MOD, "cannot send charger=%s evse=%d: not connected or "
		    "queue full", c->id, v->id);
		free(k);
		return;
	}
	k->next = d->cmds;
	if (d->cmds)
		d->cmds->prev = k;
	d->cmds = k;
	v->inflight = true;
	d->inflight++;
	v->fly_a = kind == K_BASE ? 0 : a;
	d->sent++;
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug(MOD, "send charger=%s evse=%d profile=%s limit=%.1f "
		    "unit=%s level=%d phases=%d", c->id, v->id, kind_names[kind],
		    limit, x.unit == OCPP_UNIT_W ? "W" : "A", p->stack_level,
		    phases);
}

/* Log once each time every profile has been answered and no increase
 * waits. */
static void
settled_check(struct dispatch *d)
{
	bool settled = d->inflight == 0 && d->waiting == 0;

	if (settled && !d->settled)
		log_info(MOD, "settled sent=%llu accepted=%llu failed=%llu",
		    (unsigned long long)d->sent, (unsigned long long)d->accepted,
		    (unsigned long long)d->failed);
	d->settled = settled;
}

/* Whether slot s holds exactly what we want to be there. */
static bool
holds(const struct slot *s, double a, int phases, const char *tx_id,
    int64_t now)
{
	return s->known && fabs(s->a - a) < EPS && s->phases == phases &&
	    (tx_id == NULL || strcmp(s->tx_id, tx_id) == 0) &&
	    (s->renew_mono == 0 || now < s->renew_mono);
}

/* Decide for EVSE v of c (ready, controllable): send a decrease, a
 * refresh or the base at once, an increase only when allow_up (the gate
 * is open), and keep the blocking/waiting flags true. */
static void
step(struct dispatch *d, struct dch *c, struct dev *v,
    const struct dialect *x, int64_t now, bool allow_up)
{
	const struct site_session *sess;
	enum kind kind;
	const char *tx;
	double hi;

	if (!v->has_target) {
		dev_idle(d, v);
		return;
	}
	sess = session_of(c, v->id);
	hi = highest(v, sess);
	if (v->inflight) {
		/* Until it is answered, the EVSE may apply the old value or
		 * the new one. */
		flag(&d->blocking, &v->blocking, hi > v->t.limit_a + EPS);
		flag(&d->waiting, &v->waiting, false);
		return;
	}
	kind = sess && x->purpose == OCPP_PURPOSE_TX ? K_TX : K_DEFAULT;
	tx = kind == K_TX ? sess->charger_tx_id : NULL;
	if (!holds(&v->slot[kind], v->t.limit_a, v->t.phases, tx, now)) {
		bool up = v->t.limit_a > hi + EPS;

		if (!up || allow_up)
			send_profile(d, c, v, kind, v->t.limit_a, v->t.phases,
			    sess);
		flag(&d->blocking, &v->blocking, hi > v->t.limit_a + EPS);
		flag(&d->waiting, &v->waiting, up && !allow_up);
		return;
	}
	dev_idle(d, v);
	/* The dynamic layer is in place: the base beneath. */
	if (x->base && !holds(&v->slot[K_BASE], v->t.fallback_a,
	    v->t.fallback_phases, NULL, 0))
		send_profile(d, c, v, K_BASE, v->t.fallback_a,
		    v->t.fallback_phases, sess);
}

static void
on_done(const struct ocpp_command_result *r, const char *error, void *arg)
{
	struct cmd *k = arg;
	struct dispatch *d = k->d;
	struct dch *c = k->ch;
	struct dev *v;
	char esc[LOG_ESC_LEN];

	if (d == NULL) {		/* dispatch is gone */
		free(k);
		return;
	}
	cmd_unlink(d, k);
	if (k->epoch != c->epoch) {	/* an answer from an old connection */
		free(k);
		return;
	}
	v = dev_get(c, k->evse);
	v->inflight = false;
	d->inflight--;
	flag(&d->blocking, &v->blocking, false);
	if (r != NULL && r->accepted) {
		struct slot *s = &v->slot[k->kind];
		bool was_known;

		resolve(d);
		was_known = dev_known(v, session_of(c, v->id));
		d->accepted++;
		s->known = true;
		s->a = k->a;
		s->phases = k->phases;
		s->renew_mono = k->renew_mono;
		s->expires_mono = k->expires_mono;
		snprintf(s->tx_id, sizeof s->tx_id, "%s", k->tx_id);
		if (c->unctl && !c->permanent) {
			c->unctl = false;
			log_info(MOD, "controllable again charger=%s", c->id);
			if (d->cb)
				d->cb(d->arg);
		}
		c->backoff_s = 0;
		/* The allocator counted it at its maximum until now. */
		if (!was_known && d->cb)
			d->cb(d->arg);
		/* The common case, one answer among many: decide for this EVSE
		 * alone; a full pass only when the gate opens for waiters. */
		if (ready(c) && !c->unctl) {
			struct dialect x = dialect_of(c);

			step(d, c, v, &x, isotime_mono_ms(), d->blocking == 0);
		}
		if (d->blocking == 0 && d->waiting > 0)
			schedule(d);
		settled_check(d);
		free(k);
		return;
	}
	if (r != NULL) {
		enum ocpp_purpose p[2];
		enum ocpp_unit u[2];
		int l[2], np, nu, nl;
		int n = ladder(c, p, &np, u, &nu, l, &nl);

		d->failed++;
		log_warn(MOD, "profile rejected charger=%s evse=%d profile=%s "
		    "status=%s reason=%s choice=%d/%d", c->id, k->evse,
		    kind_names[k->kind], ocpp_result_name(r->status),
		    r->reason[0] ? r->reason : "-", k->choice + 1, n);
		if (k->kind == K_BASE) {
			/* The base is optional: go without it (and, since nothing
			 * lies beneath, without validity on the dynamic ones). */
			c->no_base = true;
			for (int e = 0; e < c->nev; e++)
				if (c->evses[e] != NULL) {
					c->evses[e]->slot[K_DEFAULT].renew_mono = 1;
					c->evses[e]->slot[K_TX].renew_mono = 1;
				}
			log_warn(MOD, "no base profile charger=%s: refused",
			    c->id);
		} else if (k->choice == c->choice) {
			/* A TxDefaultProfile sent because no transaction ran says
			 * nothing about TxProfile: skip to the next unit/level. */
			if (k->kind != K_TX && p[c->choice % np] == OCPP_PURPOSE_TX)
				c->choice = (c->choice / np + 1) * np;
			else
				c->choice++;
			if (c->choice >= n) {
				c->choice = 0;
				set_unctl(d, c, false, "rejected every kind of "
				    "profile");
			}
		}
	} else {
		d->failed++;
		log_warn(MOD, "profile failed charger=%s evse=%d profile=%s "
		    "error=%s", c->id, k->evse, kind_names[k->kind],
		    log_esc(esc, sizeof esc, error));
		if (strcmp(error, "closed") != 0) {
			char why[96];

			snprintf(why, sizeof why, "SetChargingProfile %s", error);
			set_unctl(d, c, false, why);
		}
	}
	free(k);
	schedule(d);
}

/* ---------------------------------------------------------------- pump */

/* A full pass: readiness, retries, then every EVSE's step; the waiting
 * increases in a second pass when nothing blocks any more. */
static void
pump(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch *d = arg;
	int64_t now = isotime_mono_ms();

	(void)fd;
	(void)what;
	resolve(d);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && (d->blocking > 0 || d->waiting == 0))
			break;
		for (struct dch *c = d->chargers; c; c = c->next) {
			bool ok = ready(c);
			struct dialect x;

			if (pass == 0) {
				if (ok != c->ready_seen) {
					c->ready_seen = ok;
					if (ok)
						dch_reset(d, c);
				}
				if (ok && c->unctl && !c->permanent &&
				    now >= c->retry_mono) {
					c->unctl = false;
					log_info(MOD, "retrying charger=%s", c->id);
					if (d->cb)
						d->cb(d->arg);
				}
				if (ok && !c->unctl &&
				    !c->sch->caps.smart_charging &&
				    (c->cc == NULL ||
				    c->cc->purpose == DISPATCH_PURPOSE_AUTO))
					set_unctl(d, c, true, "reports no smart "
					    "charging");
			}
			if (!ok || c->unctl) {
				/* Counted at its maximum by the allocator: it
				 * neither blocks nor waits. */
				for (int e = 0; e < c->nev; e++)
					if (c->evses[e] != NULL)
						dev_idle(d, c->evses[e]);
				continue;
			}
			x = dialect_of(c);
			for (int e = 0; e < c->nev; e++) {
				struct dev *v = c->evses[e];

				if (v != NULL && (pass == 0 || v->waiting))
					step(d, c, v, &x, now, pass == 1);
			}
		}
	}
	settled_check(d);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(-1, 0, arg);
}

/* A charger (re)connected: whatever it held is unknown now. */
static void
on_site(const struct site_event *ev, void *arg)
{
	struct dispatch *d = arg;
	struct dch *c = dch_find(d, ev->charger->id);

	if (c != NULL) {
		dch_reset(d, c);
		c->ready_seen = false;
	}
}

/* ------------------------------------------------------------------ API */

struct dispatch *
dispatch_new(struct event_base *base, struct site *site, struct csms *cs,
    const struct dispatch_opts *o, dispatch_change_cb *cb, void *arg)
{
	struct dispatch *d = xcalloc(1, sizeof *d);
	struct timeval second = { 1, 0 };

	d->base = base;
	d->site = site;
	d->csms = cs;
	d->o = o;
	d->cb = cb;
	d->arg = arg;
	d->settled = true;
	d->nhash = 64;
	d->hash = xcalloc(d->nhash, sizeof *d->hash);
	d->pump = event_new(base, -1, 0, pump, d);
	d->tick = event_new(base, -1, EV_PERSIST, on_tick, d);
	if (d->pump == NULL || d->tick == NULL || event_add(d->tick, &second) ||
	    site_subscribe(site, SITE_EV_CHARGER_CONNECTED, on_site, d) != 0)
		abort();
	return d;
}

void
dispatch_reconfigure(struct dispatch *d, const struct dispatch_opts *o)
{
	d->o = o;
	/* What was learnt stays, unless the charger's overrides changed. */
	for (struct dch *c = d->chargers; c; c = c->next) {
		const struct dispatch_charger *cc = charger_find(o, c->id);

		c->cc = cc;
		enum dispatch_purpose p = cc ? cc->purpose : DISPATCH_PURPOSE_AUTO;
		enum dispatch_unit u = cc ? cc->unit : DISPATCH_UNIT_AUTO;
		int l = cc ? cc->max_stack_level : -1;

		if (p != c->o_purpose || u != c->o_unit || l != c->o_level) {
			c->choice = 0;
			c->o_purpose = p;
			c->o_unit = u;
			c->o_level = l;
			if (c->unctl && !c->permanent)
				c->retry_mono = 0;	/* try the new choice now */
		}
	}
	schedule(d);
}

void
dispatch_apply(struct dispatch *d, const struct dispatch_target *t, size_t n)
{
	for (struct dch *c = d->chargers; c; c = c->next)
		for (int e = 0; e < c->nev; e++)
			if (c->evses[e] != NULL)
				c->evses[e]->has_target = false;
	if (n > d->nlast) {
		d->last = xrealloc(d->last, n * sizeof *d->last);
		memset(d->last + d->nlast, 0, (n - d->nlast) * sizeof *d->last);
		d->nlast = n;
	}
	for (size_t i = 0; i < n; i++) {
		struct site_charger *sch = t[i].evse->charger;
		struct dch *c = d->last[i];
		struct dev *v;

		/* Targets come in the same order run after run. */
		if (c == NULL || strcmp(c->id, sch->id) != 0)
			c = d->last[i] = dch_get(d, sch);
		c->sch = sch;
		v = dev_get(c, t[i].evse->id);

		v->t = t[i];
		v->t.evse = NULL;
		v->has_target = true;
	}
	/* The targets came from the site as it is now. */
	d->gen = site_generation(d->site);
	d->gen_valid = true;
	pump(-1, 0, d);
}

enum dispatch_control
dispatch_control_of(struct dispatch *d, size_t hint,
    const struct site_evse *evse, bool *known)
{
	/* The owner's EVSEs come in the order of the last apply: the charger
	 * at that position, when it is this one, spares the lookup. */
	struct dch *c = hint < d->nlast && d->last[hint] != NULL &&
	    d->last[hint]->sch == evse->charger ? d->last[hint] :
	    dch_find(d, evse->charger->id);
	const struct dev *v = c && evse->id <= c->nev ? c->evses[evse->id - 1] :
	    NULL;

	if (known != NULL)
		*known = v != NULL && dev_known(v, evse->session);
	if (c == NULL)
		return DISPATCH_PENDING;
	if (c->unctl)
		return DISPATCH_UNCONTROLLABLE;
	return v != NULL && !v->inflight ? DISPATCH_OK : DISPATCH_PENDING;
}

double
dispatch_evse_holds(struct dispatch *d, const struct site_evse *evse,
    int64_t *until_mono)
{
	struct dch *c = dch_find(d, evse->charger->id);
	const struct dev *v = c && evse->id <= c->nev ? c->evses[evse->id - 1] :
	    NULL;
	const struct site_session *sess = evse->session;
	int64_t now = isotime_mono_ms();

	*until_mono = 0;
	if (v == NULL || c->unctl)
		return -1;
	for (int k = K_TX; ; k = k == K_TX ? K_DEFAULT : K_BASE) {
		const struct slot *s = &v->slot[k];

		if (s->known && (s->expires_mono == 0 || now < s->expires_mono) &&
		    (k != K_TX || (sess != NULL &&
		    strcmp(s->tx_id, sess->charger_tx_id) == 0))) {
			*until_mono = s->expires_mono;
			return s->a;
		}
		if (k == K_BASE)
			return -1;
	}
}

void
dispatch_evse_state(struct dispatch *d, const struct site_evse *evse,
    struct dispatch_evse_state *out)
{
	struct dch *c = dch_find(d, evse->charger->id);
	struct dev *v = c ? c->evses[evse->id - 1] : NULL;

	memset(out, 0, sizeof *out);
	out->purpose = out->unit = "";
	out->control = dispatch_control_of(d, SIZE_MAX, evse, NULL);
	if (c == NULL)
		return;
	if (c->unctl) {
		snprintf(out->why, sizeof out->why, "%s", c->why);
		out->retry_ms = c->permanent ? 0 : c->retry_wall;
	}
	if (v != NULL) {
		const struct site_session *sess = evse->session;
		struct dialect x = dialect_of(c);
		enum kind kind = sess && x.purpose == OCPP_PURPOSE_TX ? K_TX :
		    K_DEFAULT;

		out->known = v->slot[kind].known;
		out->installed_a = effective(v, sess);
		out->phases = v->slot[kind].phases;
		out->purpose = kind_names[kind];
		out->unit = x.unit == OCPP_UNIT_W ? "W" : "A";
	}
}

bool
dispatch_settled(const struct dispatch *d)
{
	return d->settled;
}

void
dispatch_counts(const struct dispatch *d, uint64_t *sent, uint64_t *accepted,
    uint64_t *failed)
{
	*sent = d->sent;
	*accepted = d->accepted;
	*failed = d->failed;
}

void
dispatch_free(struct dispatch *d)
{
	if (d == NULL)
		return;
	site_unsubscribe(d->site, on_site, d);
	for (struct cmd *k = d->cmds; k; k = k->next)
		k->d = NULL;	/* their answers, if any, free only themselves */
	while (d->chargers) {
		struct dch *c = d->chargers;

		d->chargers = c->next;
		for (int e = 0; e < SITE_MAX_EVSES; e++)
			free(c->evses[e]);
		free(c);
	}
	event_free(d->pump);
	event_free(d->tick);
	free(d->hash);
	free(d->last);
	free(d);
}
