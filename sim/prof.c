/*
 * prof — the profiles of one simulated charger (see prof.h). A flat array
 * of at most PROF_MAX profiles, each with its schedule's periods: the
 * offer is a scan of it, which at 32 entries is cheaper than any index.
 * Grown out of tests/integration/lib/charger.js, the JS charger the
 * control tests use (its "profiles" section), without the sharing of a
 * maximum profile among EVSEs by demand (even shares here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/prof.h"
#include "sim/spec.h"
#include "util/json.h"

#define DAY_MS (86400LL * 1000)

enum purpose { P_MAX = 0, P_TXDEFAULT, P_TX, P_OTHER };

static const char *const purpose_names[] = { "ChargePointMaxProfile",
	"TxDefaultProfile", "TxProfile", "?" };

struct profile {
	int id, evse, stack;
	enum purpose purpose;
	char tx[64];
	char kind;			/* 'A'bsolute, 'R'elative, 'C' recurring */
	bool weekly;
	int64_t received, start, valid_from, valid_to;	/* ms; 0: none */
	double duration_s;		/* < 0: none */
	bool watts;
	int nper;
	struct {
		double start_s, limit;
		int phases;		/* 0: not given */
	} per[PROF_PERIODS_MAX];
};

struct prof_set {
	struct prof_opts o;
	struct profile p[PROF_MAX];
	int n;
};

struct prof_set *
prof_set_new(const struct prof_opts *o)
{
	struct prof_set *s = calloc(1, sizeof *s);

	if (s != NULL)
		s->o = *o;
	return s;
}

void
prof_set_free(struct prof_set *s)
{
	free(s);
}

static int64_t
period_start(const struct profile *p, int64_t t, int64_t tx_start)
{
	int64_t base = p->start ? p->start : p->received;

	if (p->kind == 'R')
		return tx_start ? tx_start : p->received;
	if (p->kind == 'C' && t >= base) {
		int64_t len = p->weekly ? 7 * DAY_MS : DAY_MS;

		return base + (t - base) / len * len;
	}
	return base;
}

/* The period of p in force at t, or -1. */
static int
period_at(const struct profile *p, int64_t t, int64_t tx_start)
{
	int64_t start = period_start(p, t, tx_start);
	double sec;
	int cur = -1;

	if ((p->valid_from && t < p->valid_from) ||
	    (p->valid_to && t >= p->valid_to) || t < start)
		return -1;
	sec = (double)(t - start) / 1000.0;
	if (p->duration_s >= 0 && sec >= p->duration_s)
		return -1;
	for (int i = 0; i < p->nper; i++)
		if (p->per[i].start_s <= sec)
			cur = i;
	return cur;
}

/* The highest stack level with a period in force at t among the profiles
 * of purpose on evse (and of transaction tx, when not NULL): its index
 * and period, or -1. */
static int
pick(const struct prof_set *s, int64_t t, int64_t tx_start,
    enum purpose purpose, int evse, const char *tx, int *period)
{
	int best = -1;

	for (int i = 0; i < s->n; i++) {
		const struct profile *p = &s->p[i];
		int k;

		if (p->purpose != purpose || p->evse != evse ||
		    (tx != NULL && strcmp(p->tx, tx) != 0))
			continue;
		if (best >= 0 && p->stack <= s->p[best].stack)
			continue;
		if ((k = period_at(p, t, tx_start)) >= 0) {
			best = i;
			*period = k;
		}
	}
	return best;
}

/* Period k of p as A per phase on an EVSE with `have` phases. */
static double
to_amps(const struct prof_set *s, const struct profile *p, int k, int have,
    int *phases)
{
	int asked = (s->o.quirks & SPEC_Q_IGNORE_PHASES) ||
	    p->per[k].phases == 0 ? have : p->per[k].phases;
	int n = asked < have ? asked : have;

	*phases = n;
	return p->watts ? p->per[k].limit / (s->o.voltage_v * n) :
	    p->per[k].limit;
}

void
prof_set_offer(const struct prof_set *s, int evse, const struct prof_tx *tx,
    int64_t t, struct prof_offer *out)
{
	bool running = tx != NULL && tx->id != NULL && tx->id[0] != '\0';
	int64_t tx_start = running ? tx->start_ms : 0;
	int k = 0, mk = 0, i = -1;
	int mi = pick(s, t, 0, P_MAX, 0, NULL, &mk);

	out->a = s->o.max_a;
	out->phases = s->o.phases;
	if (running)
		i = pick(s, t, tx_start, P_TX, evse, tx->id, &k);
	if (i < 0)
		i = pick(s, t, tx_start, P_TXDEFAULT, evse, NULL, &k);
	if (i < 0)
		i = pick(s, t, tx_start, P_TXDEFAULT, 0, NULL, &k);
	out->limited = i >= 0 || mi >= 0;
	if (i >= 0) {
		out->a = to_amps(s, &s->p[i], k, s->o.phases, &out->phases);
		if (out->a > s->o.max_a)
			out->a = s->o.max_a;
	}
	if (mi >= 0) {
		int mph;
		double cap = to_amps(s, &s->p[mi], mk, s->o.phases, &mph) /
		    s->o.evses;

		if (out->a > cap)
			out->a = cap;
	}
}

static enum purpose
purpose_of(const char *name)
{
	if (name == NULL)
		return P_OTHER;
	if (!strcmp(name, "TxProfile"))
		return P_TX;
	if (!strcmp(name, "TxDefaultProfile"))
		return P_TXDEFAULT;
	if (!strcmp(name, "ChargePointMaxProfile") ||
	    !strcmp(name, "ChargingStationMaxProfile"))
		return P_MAX;
	return P_OTHER;
}

static int64_t
time_of(const cJSON *o, const char *key)
{
	int64_t ms = 0;

	return json_time(o, key, &ms) == 0 ? ms : 0;
}

/* Read the profile of a SetChargingProfile into p; NULL or why it is
 * refused. */
static const char *
read_profile(const struct prof_set *s, const cJSON *payload,
    const struct prof_tx *txs, int64_t now, struct profile *p)
{
	bool v16 = s->o.v == OCPP_V16;
	const cJSON *prof, *sched, *periods, *txj;
	const char *kind, *unit, *rk;

	memset(p, 0, sizeof *p);
	p->received = now;
	p->evse = json_int(payload, v16 ? "connectorId" : "evseId", -1);
	prof = cJSON_GetObjectItemCaseSensitive(payload, v16 ?
	    "csChargingProfiles" : "chargingProfile");
	sched = v16 ? cJSON_GetObjectItemCaseSensitive(prof, "chargingSchedule") :
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(prof,
	    "chargingSchedule"), 0);
	p->id = json_int(prof, v16 ? "chargingProfileId" : "id", 0);
	p->stack = json_int(prof, "stackLevel", 0);
	p->purpose = purpose_of(json_str(prof, "chargingProfilePurpose"));
	txj = cJSON_GetObjectItemCaseSensitive(prof, "transactionId");
	if (cJSON_IsNumber(txj))
		snprintf(p->tx, sizeof p->tx, "%d", txj->valueint);
	else
		json_copy(p->tx, sizeof p->tx, prof, "transactionId");
	kind = json_str(prof, "chargingProfileKind");
	p->kind = kind && !strcmp(kind, "Relative") ? 'R' :
	    kind && !strcmp(kind, "Recurring") ? 'C' : 'A';
	rk = json_str(prof, "recurrencyKind");
	p->weekly = rk != NULL && !strcmp(rk, "Weekly");
	p->valid_from = time_of(prof, "validFrom");
	p->valid_to = time_of(prof, "validTo");
	p->start = time_of(sched, "startSchedule");
	p->duration_s = json_num(sched, "duration", -1);
	unit = json_str(sched, "chargingRateUnit");
	p->watts = unit != NULL && !strcmp(unit, "W");
	periods = cJSON_GetObjectItemCaseSensitive(sched,
	    "chargingSchedulePeriod");
	for (const cJSON *q = periods ? periods->child : NULL; q != NULL;
	    q = q->next) {
		if (p->nper == PROF_PERIODS_MAX)
			return "InvalidSchedule";
		p->per[p->nper].start_s = json_num(q, "startPeriod", 0);
		p->per[p->nper].limit = json_num(q, "limit", 0);
		p->per[p->nper].phases = json_int(q, "numberPhases", 0);
		p->nper++;
	}
	if (p->evse < 0 || p->evse > s->o.evses)
		return "UnknownEVSE";
	if (p->nper == 0 || p->per[0].start_s != 0)
		return "InvalidSchedule";
	if (p->purpose == P_OTHER)
		return "InvalidProfile";
	if (p->purpose == P_TX && (s->o.quirks & SPEC_Q_REJECT_TX))
		return "TxProfileNotSupported";
	if (p->stack > ((s->o.quirks & SPEC_Q_STACK0) ? 0 : 3))
		return "InvalidStackLevel";
	if (!p->watts && (s->o.quirks & SPEC_Q_W_ONLY))
		return "UnsupportedRateUnit";
	if (p->purpose == P_TX) {
		const struct prof_tx *tx = p->evse > 0 ? &txs[p->evse - 1] : NULL;

		if (tx == NULL || tx->id == NULL || tx->id[0] == '\0')
			return "TxNotFound";
		/* A 1.6 TxProfile without transactionId is for the
		 * running one. */
		if (p->tx[0] == '\0')
			snprintf(p->tx, sizeof p->tx, "%s", tx->id);
		if (strcmp(p->tx, tx->id) != 0)
			return "TxNotFound";
	}
	return NULL;
}

const char *
prof_set_install(struct prof_set *s, const cJSON *payload,
    const struct prof_tx *txs, int64_t now, struct prof_read *r)
{
	struct profile p;
	const char *why = read_profile(s, payload, txs, now, &p);
	int k = 0;

	if (r != NULL) {
		r->id = p.id;
		r->evse = p.evse;
		r->stack = p.stack;
		r->purpose = purpose_names[p.purpose];
		r->limit = p.nper > 0 ? p.per[0].limit : 0;
		r->watts = p.watts;
		snprintf(r->tx, sizeof r->tx, "%s", p.tx);
	}
	if (why != NULL)
		return why;
	/* Checked before anything is removed: a refusal changes nothing. */
	for (int i = 0; i < s->n; i++) {
		const struct profile *q = &s->p[i];
		bool same_slot = q->stack == p.stack && q->purpose == p.purpose &&
		    q->evse == p.evse;

		if (q->id == p.id || (s->o.v == OCPP_V16 && same_slot))
			continue;
		if (same_slot)
			return "DuplicateProfile";
		k++;
	}
	if (k == PROF_MAX)
		return "TooManyProfiles";
	k = 0;
	for (int i = 0; i < s->n; i++) {
		const struct profile *q = &s->p[i];

		if (q->id == p.id || (s->o.v == OCPP_V16 && q->stack == p.stack &&
		    q->purpose == p.purpose && q->evse == p.evse))
			continue;
		s->p[k++] = *q;
	}
	s->p[k++] = p;
	s->n = k;
	return NULL;
}

int
prof_set_clear(struct prof_set *s, const cJSON *payload)
{
	bool v16 = s->o.v == OCPP_V16;
	const cJSON *crit = v16 ? payload :
	    cJSON_GetObjectItemCaseSensitive(payload, "chargingProfileCriteria");
	int id = json_int(payload, v16 ? "id" : "chargingProfileId", -1);
	int evse = json_int(crit, v16 ? "connectorId" : "evseId", -1);
	int stack = json_int(crit, "stackLevel", -1);
	const char *ps = json_str(crit, "chargingProfilePurpose");
	enum purpose purpose = purpose_of(ps);
	int k = 0, before = s->n;

	for (int i = 0; i < s->n; i++) {
		const struct profile *q = &s->p[i];
		bool match = id >= 0 ? q->id == id :
		    (evse < 0 || q->evse == evse) && (ps == NULL ||
		    q->purpose == purpose) && (stack < 0 || q->stack == stack);

		if (!match)
			s->p[k++] = *q;
	}
	s->n = k;
	return before - k;
}

void
prof_set_end_tx(struct prof_set *s, int evse)
{
	int k = 0;

	for (int i = 0; i < s->n; i++)
		if (!(s->p[i].purpose == P_TX && s->p[i].evse == evse))
			s->p[k++] = s->p[i];
	s->n = k;
}
