/*
 * site — see site.h.
 *
 * Chargers live in a growable array of pointers (a charger's address never
 * changes, so EVSE back-pointers and callers' pointers stay valid when the
 * array grows). Lookup by id is a linear scan: at the thousand chargers a
 * depot gateway serves, it costs about a microsecond per message, well
 * below the JSON parse of that message; a hash can replace it behind
 * site_charger() without touching a caller.
 *
 * Sessions are heap objects owned by their EVSE while open. An ended
 * session stays readable until the next session starts on that EVSE (the
 * "recently ended" slot), so a late or repeated stop still finds it.
 *
 * Every change is written through to the store before the event fires:
 * subscribers can rely on the state file agreeing with what they are told.
 *
 * Units. A session's change and what others derive from it (the uplink's
 * outbox entry, its seqNo) must reach the disk together or not at all, so
 * every session verb runs as a unit, and a caller can make one unit of
 * several verbs (site_begin .. site_commit: the whole of one charger
 * message). Inside a unit:
 *   - every store write joins one transaction (store_begin);
 *   - writers (site_subscribe_writer) hear each event at once and add
 *     their own writes to it; a writer that fails fails the unit;
 *   - ordinary subscribers hear the events only after the commit, in
 *     order, so nobody acts on a change that may still be undone;
 *   - before an EVSE or a session is first changed its contents are saved
 *     (the undo journal), sessions made are remembered, and sessions that
 *     would be freed are kept until the commit.
 * When the commit fails (a full disk), the journal puts every EVSE and
 * session back as it was, the queued events are dropped, and the caller
 * is told: the charger gets an error and sends the message again.
 */
#include "site/site.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "site/store.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MAX_SUBSCRIBERS 16

struct subscriber {
	unsigned mask;
	site_event_cb *cb;
	void *arg;
};

struct writer {
	unsigned mask;
	site_write_cb *cb;
	void *arg;
};

/* The undo journal of a unit: contents before the first change. */
struct undo_evse {
	struct site_evse *e;
	struct site_evse saved;
	struct site_session *ended;	/* its recently-ended slot */
};

struct undo_session {
	struct site_session *x;
	struct site_session saved;
};

/* A growable array of T. */
#define VEC(T) struct { T *v; size_t n, cap; }
#define VEC_PUSH(a, x) do {						\
	if ((a).n == (a).cap) {						\
		(a).cap = (a).cap ? (a).cap * 2 : 4;			\
		(a).v = xrealloc((a).v, (a).cap * sizeof *(a).v);	\
	}								\
	(a).v[(a).n++] = (x);						\
} while (0)

/* One stored EVSE number, of a live EVSE or of one not seen since. */
struct evse_num {
	char charger_id[SITE_ID_LEN];
	int evse;
	int number;
};

struct site {
	struct store *store;
	struct evse_num *nums;		/* every number handed out */
	size_t nnums, capnums;
	struct site_evse **by_number;	/* live EVSEs by number */
	size_t nby;
	unsigned generation;
	struct site_charger **chargers;
	size_t nchargers, cap;
	/* the last ended session per (charger, evse): see the design note */
	struct site_session **ended;	/* parallel to chargers: SITE_MAX_EVSES each */
	struct subscriber subs[MAX_SUBSCRIBERS];
	size_t nsubs;
	struct writer writers[MAX_SUBSCRIBERS];
	size_t nwriters;

	/* the unit in progress (see the design note) */
	int depth;			/* site_begin() nesting */
	bool failed;			/* a write of the unit failed */
	VEC(struct undo_evse) uevse;
	VEC(struct undo_session) usess;
	VEC(struct site_session *) made;	/* sessions new in the unit */
	VEC(struct site_session *) dead;	/* to free at the commit */
	VEC(struct site_event) queued;		/* for subscribers */

	/* ocpp.max_evses / max_connectors_per_evse of the configuration:
	 * the bounds of chargers not configured. */
	int max_evses, max_connectors;
};

static const char *const status_names[SITE_STATUS_COUNT] = {
	"unknown", "available", "occupied", "charging", "suspended_ev",
	"suspended_evse", "finishing", "reserved", "unavailable", "faulted",
};

/* Which connector status wins when an EVSE's connectors disagree: the one
 * that says most about a vehicle. */
static const int status_rank[SITE_STATUS_COUNT] = {
	[SITE_STATUS_UNKNOWN] = 0,
	[SITE_STATUS_AVAILABLE] = 1,
	[SITE_STATUS_UNAVAILABLE] = 2,
	[SITE_STATUS_FAULTED] = 3,
	[SITE_STATUS_RESERVED] = 4,
	[SITE_STATUS_OCCUPIED] = 5,
	[SITE_STATUS_FINISHING] = 6,
	[SITE_STATUS_SUSPENDED_EV] = 7,
	[SITE_STATUS_SUSPENDED_EVSE] = 8,
	[SITE_STATUS_CHARGING] = 9,
};

static void
copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static void
deliver(struct site *s, const struct site_event *ev)
{
	for (size_t i = 0; i < s->nsubs; i++)
		if (s->subs[i].mask & ev->type)
			s->subs[i].cb(ev, s->subs[i].arg);
}

/* Writers hear the event now; subscribers at once, or after the commit of
 * the unit in progress. */
static void
emit(struct site *s, enum site_event_type type, const struct site_charger *ch,
    const struct site_evse *evse, const struct site_session *sess)
{
	struct site_event ev = { type, ch, evse, sess };

	for (size_t i = 0; i < s->nwriters; i++)
		if ((s->writers[i].mask & type) &&
		    s->writers[i].cb(&ev, s->writers[i].arg) != 0)
			s->failed = true;
	if (s->depth > 0) {
		VEC_PUSH(s->queued, ev);
		return;
	}
	deliver(s, &ev);
}

static struct site_session **ended_slot(struct site *s,
    const struct site_evse *evse);

/* Before the first change of e in a unit: keep what it was. */
static void
touch_evse(struct site *s, struct site_evse *e)
{
	struct undo_evse u;

	if (s->depth == 0)
		return;
	for (size_t i = 0; i < s->uevse.n; i++)
		if (s->uevse.v[i].e == e)
			return;
	u.e = e;
	u.saved = *e;
	u.ended = *ended_slot(s, e);
	VEC_PUSH(s->uevse, u);
}

/* Before the first change of x in a unit: keep what it was. */
static void
touch_session(struct site *s, struct site_session *x)
{
	struct undo_session u;

	if (s->depth == 0)
		return;
	for (size_t i = 0; i < s->made.n; i++)
		if (s->made.v[i] == x)
			return;		/* new in this unit: undone by freeing */
	for (size_t i = 0; i < s->usess.n; i++)
		if (s->usess.v[i].x == x)
			return;
	u.x = x;
	u.saved = *x;
	VEC_PUSH(s->usess, u);
}

/* Free x now, or at the commit when a unit may still need it back. */
static void
session_free(struct site *s, struct site_session *x)
{
	if (x == NULL)
		return;
	if (s->depth > 0)
		VEC_PUSH(s->dead, x);
	else
		free(x);
}

static void
unit_clear(struct site *s)
{
	s->uevse.n = s->usess.n = s->made.n = s->dead.n = s->queued.n = 0;
	s->failed = false;
}

/* Put back every EVSE and session the unit changed. */
static void
unit_undo(struct site *s)
{
	for (size_t i = s->usess.n; i-- > 0;)
		*s->usess.v[i].x = s->usess.v[i].saved;
	for (size_t i = s->uevse.n; i-- > 0;) {
		struct undo_evse *u = &s->uevse.v[i];

		*u->e = u->saved;
		*ended_slot(s, u->e) = u->ended;
	}
	for (size_t i = 0; i < s->made.n; i++)
		free(s->made.v[i]);
	/* Debug only: the store logged the failure, the caller refuses the
	 * message; a full disk must not cost a line per message here. */
	log_debug("site", "change undone: the state file refused it "
	    "evses=%zu sessions=%zu", s->uevse.n, s->usess.n + s->made.n);
}

static size_t
charger_index(const struct site *s, const struct site_charger *ch)
{
	for (size_t i = 0; i < s->nchargers; i++)
		if (s->chargers[i] == ch)
			return i;
	return SIZE_MAX;
}

static struct site_session **
ended_slot(struct site *s, const struct site_evse *evse)
{
	size_t i = charger_index(s, evse->charger);

	return &s->ended[i * SITE_MAX_EVSES + (size_t)(evse->id - 1)];
}

static struct site_charger *
charger_add(struct site *s, const char *id)
{
	struct site_charger *ch;

	if (s->nchargers == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		s->chargers = realloc(s->chargers, ncap * sizeof *s->chargers);
		s->ended = realloc(s->ended, ncap * SITE_MAX_EVSES * sizeof *s->ended);
		if (s->chargers == NULL || s->ended == NULL)
			abort();
		memset(s->ended + s->cap * SITE_MAX_EVSES, 0,
		    (ncap - s->cap) * SITE_MAX_EVSES * sizeof *s->ended);
		s->cap = ncap;
	}
	ch = calloc(1, sizeof *ch);
	if (ch == NULL)
		abort();
	copy(ch->id, sizeof ch->id, id);
	ch->site = s;
	ch->version = OCPP_V16;
	ch->max_evses = s->max_evses;
	ch->max_connectors = s->max_connectors;
	s->chargers[s->nchargers++] = ch;
	return ch;
}

static void
charger_drop(struct site *s, size_t i)
{
	struct site_charger *ch = s->chargers[i];

	for (int e = 0; e < SITE_MAX_EVSES; e++) {
		free(s->ended[i * SITE_MAX_EVSES + (size_t)e]);
		if (e < ch->nevses) {
			struct site_evse *x = ch->evses[e];

			if (x->number > 0 && (size_t)x->number < s->nby)
				s->by_number[x->number] = NULL;
			free(x->session);
			free(x);
		}
	}
	memmove(&s->chargers[i], &s->chargers[i + 1],
	    (s->nchargers - i - 1) * sizeof *s->chargers);
	memmove(&s->ended[i * SITE_MAX_EVSES], &s->ended[(i + 1) * SITE_MAX_EVSES],
	    (s->nchargers - i - 1) * SITE_MAX_EVSES * sizeof *s->ended);
	s->nchargers--;
	memset(&s->ended[s->nchargers * SITE_MAX_EVSES], 0,
	    SITE_MAX_EVSES * sizeof *s->ended);
	free(ch);
	s->generation++;
}

/* ---------------------------------------------------------- EVSE numbers */

static struct evse_num *
num_by_key(struct site *s, const char *charger_id, int evse)
{
	for (size_t i = 0; i < s->nnums; i++)
		if (s->nums[i].evse == evse &&
		    strcmp(s->nums[i].charger_id, charger_id) == 0)
			return &s->nums[i];
	return NULL;
}

static struct evse_num *
num_by_number(struct site *s, int number)
{
	for (size_t i = 0; i < s->nnums; i++)
		if (s->nums[i].number == number)
			return &s->nums[i];
	return NULL;
}

static void
num_remove(struct site *s, struct evse_num *n)
{
	*n = s->nums[--s->nnums];
}

static void
num_add(struct site *s, const char *charger_id, int evse, int number)
{
	struct evse_num *n = num_by_key(s, charger_id, evse);

	if (n == NULL) {
		if (s->nnums == s->capnums) {
			s->capnums = s->capnums ? s->capnums * 2 : 64;
			s->nums = xrealloc(s->nums, s->capnums * sizeof *s->nums);
		}
		n = &s->nums[s->nnums++];
		copy(n->charger_id, sizeof n->charger_id, charger_id);
		n->evse = evse;
	}
	n->number = number;
}

/* Whether a configured charger other than ch claims number. */
static bool
num_claimed(const struct site *s, const struct site_charger *ch, int number)
{
	for (size_t i = 0; i < s->nchargers; i++) {
		const struct site_charger *o = s->chargers[i];
		int span = o->nevses > 0 ? o->nevses : 1;

		if (o != ch && o->first_evse > 0 && number >= o->first_evse &&
		    number < o->first_evse + span)
			return true;
	}
	return false;
}

static void evse_number(struct site *s, struct site_evse *e);

/* Give e the number n (0: none), taking it from any EVSE that had it. */
static void
evse_set_number(struct site *s, struct site_evse *e, int n)
{
	struct evse_num *held = n > 0 ? num_by_number(s, n) : NULL;
	struct site_evse *loser = NULL;

	if (e->number > 0 && (size_t)e->number < s->nby &&
	    s->by_number[e->number] == e)
		s->by_number[e->number] = NULL;
	e->number = n;
	s->generation++;
	if (n == 0)
		return;
	if (held != NULL && (held->evse != e->id ||
	    strcmp(held->charger_id, e->charger->id) != 0)) {
		struct site_charger *o = site_charger(s, held->charger_id);

		if (o != NULL && held->evse <= o->nevses)
			loser = o->evses[held->evse - 1];
		log_warn("site", "evse number taken over number=%d charger=%s "
		    "evse=%d from_charger=%s from_evse=%d", n, e->charger->id,
		    e->id, held->charger_id, held->evse);
		num_remove(s, held);
	}
	num_add(s, e->charger->id, e->id, n);
	if ((size_t)n >= s->nby) {
		size_t nby = (size_t)n + 64;

		s->by_number = xrealloc(s->by_number, nby * sizeof *s->by_number);
		memset(s->by_number + s->nby, 0,
		    (nby - s->nby) * sizeof *s->by_number);
		s->nby = nby;
	}
	s->by_number[n] = e;
	if (store_evse_map_put(s->store, e->charger->id, e->id, n) != STORE_OK)
		log_error("site", "cannot store evse number charger=%s evse=%d "
		    "number=%d", e->charger->id, e->id, n);
	if (loser != NULL && loser != e) {
		loser->number = 0;
		evse_number(s, loser);
	}
}

/* Number e: its configured number, else the one it had, else the lowest
 * free one. */
static void
evse_number(struct site *s, struct site_evse *e)
{
	struct site_charger *ch = e->charger;
	struct evse_num *had = num_by_key(s, ch->id, e->id);
	int n = 0;

	if (ch->first_evse > 0)
		n = ch->first_evse + e->id - 1;
	else if (had != NULL && !num_claimed(s, ch, had->number))
		n = had->number;
	else
		for (n = 1; n <= SITE_EVSE_NUMBER_MAX; n++)
			if (num_by_number(s, n) == NULL && !num_claimed(s, ch, n))
				break;
	if (n > SITE_EVSE_NUMBER_MAX) {
		log_error("site", "no evse number left charger=%s evse=%d",
		    ch->id, e->id);
		n = 0;
	}
	if (n != e->number || had == NULL || had->number != n)
		evse_set_number(s, e, n);
}

static void
load_number(const char *charger_id, int evse, int number, void *arg)
{
	struct site *s = arg;

	if (charger_id != NULL && evse >= 1 && number >= 1)
		num_add(s, charger_id, evse, number);
}

/* ------------------------------------------------------------- persistence */

static char *
caps_to_json(const struct site_caps *c)
{
	cJSON *o = cJSON_CreateObject();
	char *out;

	cJSON_AddBoolToObject(o, "smart_charging", c->smart_charging);
	cJSON_AddBoolToObject(o, "rate_a", c->rate_a);
	cJSON_AddBoolToObject(o, "rate_w", c->rate_w);
	cJSON_AddNumberToObject(o, "max_stack_level", c->max_stack_level);
	cJSON_AddNumberToObject(o, "max_periods", c->max_periods);
	cJSON_AddNumberToObject(o, "max_profiles", c->max_profiles);
	cJSON_AddBoolToObject(o, "phase_switching", c->phase_switching);
	cJSON_AddNumberToObject(o, "meter_interval_s", c->meter_interval_s);
	out = json_print(o, NULL);
	cJSON_Delete(o);
	if (out == NULL)
		abort();
	return out;
}

static void
caps_from_json(struct site_caps *c, const char *json)
{
	cJSON *o = json ? cJSON_Parse(json) : NULL;
	const cJSON *v;

	if (o == NULL)
		return;
	c->discovered = true;
#define B(k) if ((v = cJSON_GetObjectItemCaseSensitive(o, #k))) c->k = cJSON_IsTrue(v)
#define N(k) if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, #k))) c->k = v->valueint
	B(smart_charging);
	B(rate_a);
	B(rate_w);
	N(max_stack_level);
	N(max_periods);
	N(max_profiles);
	B(phase_switching);
	N(meter_interval_s);
#undef B
#undef N
	cJSON_Delete(o);
}

static int
save_charger(struct site *s, const struct site_charger *ch)
{
	char *caps = ch->caps.discovered ? caps_to_json(&ch->caps) : NULL;
	struct store_charger_row r = {
		.id = ch->id, .ocpp_version = (int)ch->version, .boot = (int)ch->boot,
		.approved = ch->approved, .vendor = ch->vendor, .model = ch->model,
		.serial = ch->serial, .firmware = ch->firmware,
		.last_seen_ms = ch->last_seen_ms, .caps_json = caps,
	};
	int rc = store_charger_put(s->store, &r);

	cJSON_free(caps);
	return rc == STORE_OK ? SITE_OK : SITE_ERR_STORE;
}

static struct store_session_row
session_row(const struct site_session *x)
{
	struct store_session_row r = {
		.id = x->id, .charger_id = x->evse->charger->id,
		.evse = x->evse->id, .connector = x->connector,
		.charger_tx_id = x->charger_tx_id, .id_token = x->id_token,
		.start_ms = x->start_ms, .stop_ms = x->stop_ms,
		.meter_start_wh = x->meter_start_wh,
		.meter_stop_wh = x->meter_stop_wh, .stop_reason = x->stop_reason,
		.last_seq_no = x->last_seq_no, .offline = x->offline,
		.open = x->open,
	};
	return r;
}

static int
save_session(struct site *s, const struct site_session *x)
{
	struct store_session_row r = session_row(x);

	if (store_session_update(s->store, &r) == STORE_OK)
		return SITE_OK;
	s->failed = true;
	return SITE_ERR_STORE;
}

static void
load_charger(const struct store_charger_row *r, void *arg)
{
	struct site *s = arg;
	struct site_charger *ch = site_charger(s, r->id);

	if (ch == NULL)
		ch = charger_add(s, r->id);
	if (r->ocpp_version >= 0 && r->ocpp_version < OCPP_NVERSIONS)
		ch->version = (enum ocpp_version)r->ocpp_version;
	/* A restart is a new connection: the charger boots again. */
	ch->boot = SITE_BOOT_NONE;
	ch->approved = r->approved != 0;
	copy(ch->vendor, sizeof ch->vendor, r->vendor);
	copy(ch->model, sizeof ch->model, r->model);
	copy(ch->serial, sizeof ch->serial, r->serial);
	copy(ch->firmware, sizeof ch->firmware, r->firmware);
	ch->last_seen_ms = r->last_seen_ms;
	caps_from_json(&ch->caps, r->caps_json);
}

static void
load_session(const struct store_session_row *r, void *arg)
{
	struct site *s = arg;
	struct site_charger *ch = site_charger(s, r->charger_id);
	struct site_evse *evse;
	struct site_session *x;

	if (ch == NULL)
		ch = charger_add(s, r->charger_id);
	evse = site_evse(ch, r->evse);
	if (evse == NULL)
		return;		/* an EVSE number this build cannot hold */
	x = calloc(1, sizeof *x);
	if (x == NULL)
		abort();
	x->id = r->id;
	x->evse = evse;
	x->connector = r->connector;
	copy(x->charger_tx_id, sizeof x->charger_tx_id, r->charger_tx_id);
	copy(x->id_token, sizeof x->id_token, r->id_token);
	x->start_ms = r->start_ms;
	x->meter_start_wh = r->meter_start_wh;
	x->meter_stop_wh = r->meter_stop_wh;
	x->last_seq_no = r->last_seq_no;
	x->offline = r->offline != 0;
	x->open = true;
	/* Two open sessions on one EVSE cannot both be true; keep the newer
	 * one open (rows come oldest first). */
	if (evse->session != NULL) {
		struct site_session *old = evse->session;
		log_warn("site", "two open sessions on one evse charger=%s evse=%d "
		    "kept=%lld closed=%lld", ch->id, evse->id, (long long)x->id,
		    (long long)old->id);
		old->open = false;
		copy(old->stop_reason, sizeof old->stop_reason, "Other");
		save_session(s, old);
		free(*ended_slot(s, evse));
		*ended_slot(s, evse) = old;
	}
	evse->session = x;
}

static void
load_reading(const struct store_reading_row *r, void *arg)
{
	struct site *s = arg;
	struct site_charger *ch = site_charger(s, r->charger_id);
	struct site_evse *evse = ch ? site_evse(ch, r->evse) : NULL;

	if (evse == NULL)
		return;
	evse->reading.ts_ms = r->ts_ms;
	evse->reading.have = r->have;
	memcpy(evse->reading.current_a, r->current_a, sizeof r->current_a);
	evse->reading.offered_a = r->offered_a;
	evse->reading.power_w = r->power_w;
	evse->reading.energy_wh = r->energy_wh;
	memcpy(evse->reading.voltage_v, r->voltage_v, sizeof r->voltage_v);
	evse->reading.soc_pct = r->soc_pct;
}

/* ------------------------------------------------------------------ API */

struct site *
site_new(struct store *st, const struct site_opts *o, char **cause)
{
	struct site *s = calloc(1, sizeof *s);

	if (s == NULL)
		abort();
	s->store = st;
	*cause = NULL;
	site_reconfigure(s, o);
	if (store_evse_map_load(st, load_number, s) != STORE_OK ||
	    store_chargers_load(st, load_charger, s) != STORE_OK ||
	    store_sessions_load_open(st, load_session, s) != STORE_OK ||
	    store_readings_load(st, load_reading, s) != STORE_OK) {
		if (asprintf(cause, "cannot read the site from %s",
		    store_path(st)) < 0)
			abort();
		site_free(s);
		return NULL;
	}
	/* Chargers the store remembers but the configuration no longer lists
	 * are dropped unless something is still going on with them. */
	site_reconfigure(s, o);
	{
		size_t open = 0;
		for (size_t i = 0; i < s->nchargers; i++)
			for (int e = 0; e < s->chargers[i]->nevses; e++)
				open += s->chargers[i]->evses[e]->session != NULL;
		log_info("site", "loaded chargers=%zu open_sessions=%zu",
		    s->nchargers, open);
	}
	return s;
}

void
site_free(struct site *s)
{
	if (s == NULL)
		return;
	while (s->nchargers > 0)
		charger_drop(s, s->nchargers - 1);
	free(s->chargers);
	free(s->ended);
	free(s->nums);
	free(s->by_number);
	free(s->uevse.v);
	free(s->usess.v);
	free(s->made.v);
	for (size_t i = 0; i < s->dead.n; i++)
		free(s->dead.v[i]);
	free(s->dead.v);
	free(s->queued.v);
	free(s);
}

int
site_reconfigure(struct site *s, const struct site_opts *o)
{
	s->max_evses = o->max_evses;
	s->max_connectors = o->max_connectors_per_evse;
	for (size_t i = 0; i < s->nchargers; i++) {
		s->chargers[i]->configured = false;
		s->chargers[i]->max_evses = s->max_evses;
		s->chargers[i]->max_connectors = s->max_connectors;
	}
	for (size_t i = 0; i < o->nchargers; i++) {
		const struct site_charger_opts *co = &o->chargers[i];
		struct site_charger *ch = site_charger(s, co->id);

		if (ch == NULL)
			ch = charger_add(s, co->id);
		ch->configured = true;
		ch->first_evse = co->first_evse;
		ch->max_evses = co->evses;
		ch->max_connectors = co->connectors_per_evse;
	}
	/* Forget chargers that left the configuration and have nothing going
	 * on; keep the others until they do. */
	for (size_t i = s->nchargers; i-- > 0;) {
		struct site_charger *ch = s->chargers[i];
		bool busy = ch->connected || ch->approved;

		for (int e = 0; e < ch->nevses; e++)
			busy |= ch->evses[e]->session != NULL;
		if (!ch->configured && !busy)
			charger_drop(s, i);
		else if (!ch->configured)
			ch->first_evse = 0;
	}
	/* Numbers the new configuration sets (or frees) apply at once:
	 * configured numbers first, so that the EVSEs they displace find the
	 * numbers those chargers leave. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->nchargers; i++) {
			struct site_charger *ch = s->chargers[i];

			if ((ch->first_evse > 0) == (pass == 0))
				for (int e = 0; e < ch->nevses; e++)
					evse_number(s, ch->evses[e]);
		}
	return SITE_OK;
}

int
site_begin(struct site *s)
{
	if (s->depth == 0) {
		unit_clear(s);
		if (store_begin(s->store) != STORE_OK)
			return SITE_ERR_STORE;
	}
	s->depth++;
	return SITE_OK;
}

int
site_commit(struct site *s)
{
	struct site_event *ev;
	struct site_session **dead;
	size_t nev, ndead;
	int rc;

	if (s->depth <= 0)
		return SITE_OK;
	if (--s->depth > 0)
		return s->failed ? SITE_ERR_STORE : SITE_OK;
	if (s->failed) {
		store_rollback(s->store);
		rc = SITE_ERR_STORE;
	} else {
		rc = store_commit(s->store) == STORE_OK ? SITE_OK :
		    SITE_ERR_STORE;
	}
	if (rc != SITE_OK) {
		unit_undo(s);
		unit_clear(s);
		return rc;
	}
	/* Subscribers may start units of their own: hand them the queue of
	 * this one, and free what died only after they have heard of it. */
	ev = s->queued.v;
	nev = s->queued.n;
	dead = s->dead.v;
	ndead = s->dead.n;
	s->queued = (typeof(s->queued)){ 0 };
	s->dead = (typeof(s->dead)){ 0 };
	unit_clear(s);
	for (size_t i = 0; i < nev; i++)
		deliver(s, &ev[i]);
	for (size_t i = 0; i < ndead; i++)
		free(dead[i]);
	free(ev);
	free(dead);
	return SITE_OK;
}

void
site_fail(struct site *s)
{
	if (s->depth > 0)
		s->failed = true;
}

int
site_subscribe_writer(struct site *s, unsigned mask, site_write_cb *cb,
    void *arg)
{
	if (s->nwriters == MAX_SUBSCRIBERS)
		return -1;
	s->writers[s->nwriters++] = (struct writer){ mask, cb, arg };
	return SITE_OK;
}

int
site_unsubscribe_writer(struct site *s, site_write_cb *cb, void *arg)
{
	for (size_t i = 0; i < s->nwriters; i++)
		if (s->writers[i].cb == cb && s->writers[i].arg == arg) {
			memmove(&s->writers[i], &s->writers[i + 1],
			    (s->nwriters - i - 1) * sizeof s->writers[0]);
			s->nwriters--;
			return SITE_OK;
		}
	return -1;
}

int
site_subscribe(struct site *s, unsigned mask, site_event_cb *cb, void *arg)
{
	if (s->nsubs == MAX_SUBSCRIBERS)
		return -1;
	s->subs[s->nsubs++] = (struct subscriber){ mask, cb, arg };
	return SITE_OK;
}

int
site_unsubscribe(struct site *s, site_event_cb *cb, void *arg)
{
	for (size_t i = 0; i < s->nsubs; i++)
		if (s->subs[i].cb == cb && s->subs[i].arg == arg) {
			memmove(&s->subs[i], &s->subs[i + 1],
			    (s->nsubs - i - 1) * sizeof s->subs[0]);
			s->nsubs--;
			return SITE_OK;
		}
	return -1;
}

struct site_charger *
site_charger(struct site *s, const char *id)
{
	for (size_t i = 0; i < s->nchargers; i++)
		if (strcmp(s->chargers[i]->id, id) == 0)
			return s->chargers[i];
	return NULL;
}

size_t
site_charger_count(const struct site *s)
{
	return s->nchargers;
}

struct site_charger *
site_charger_at(struct site *s, size_t n)
{
	return n < s->nchargers ? s->chargers[n] : NULL;
}

struct site_evse *
site_evse(struct site_charger *ch, int evse_id)
{
	/* max_evses is at most SITE_MAX_EVSES (site.h); the second test
	 * only keeps a zeroed charger from writing past evses[]. */
	if (evse_id < 1 || evse_id > ch->max_evses || evse_id > SITE_MAX_EVSES)
		return NULL;
	while (ch->nevses < evse_id) {
		struct site_evse *e = xcalloc(1, sizeof *e);

		ch->evses[ch->nevses] = e;
		e->charger = ch;
		e->id = ++ch->nevses;
		e->nconnectors = 1;
		evse_number(ch->site, e);
	}
	return ch->evses[evse_id - 1];
}

struct site_evse *
site_evse_by_number(struct site *s, int n)
{
	return n > 0 && (size_t)n < s->nby ? s->by_number[n] : NULL;
}

unsigned
site_generation(const struct site *s)
{
	return s->generation;
}

struct site_charger *
site_charger_connected(struct site *s, const char *id,
    enum ocpp_version v, int64_t now_ms)
{
	struct site_charger *ch = site_charger(s, id);

	if (ch == NULL)
		ch = charger_add(s, id);
	ch->connected = true;
	ch->version = v;
	ch->boot = SITE_BOOT_NONE;
	ch->last_seen_ms = now_ms;
	save_charger(s, ch);
	emit(s, SITE_EV_CHARGER_CONNECTED, ch, NULL, NULL);
	return ch;
}

void
site_charger_address(struct site *s, struct site_charger *ch, const char *addr)
{
	(void)s;
	copy(ch->addr, sizeof ch->addr, addr);
}

int
site_charger_forget(struct site *s, const char *id)
{
	struct site_charger *ch = site_charger(s, id);
	char esc[LOG_ESC_LEN];
	size_t i;
	int rc;

	if (ch == NULL || ch->configured || ch->connected || s->depth > 0)
		return -1;
	for (int e = 0; e < ch->nevses; e++)
		if (ch->evses[e]->session != NULL)
			return -1;
	/* A row never written (the store refused it) is forgotten all the
	 * same. */
	rc = store_charger_delete(s->store, ch->id);
	if (rc != STORE_OK && rc != STORE_ERR_NOTFOUND)
		return -1;
	for (size_t k = s->nnums; k-- > 0;)
		if (strcmp(s->nums[k].charger_id, ch->id) == 0)
			num_remove(s, &s->nums[k]);
	i = charger_index(s, ch);
	log_info("site", "charger forgotten charger=%s",
	    log_esc(esc, sizeof esc, ch->id));
	charger_drop(s, i);
	return SITE_OK;
}

void
site_charger_disconnected(struct site *s, struct site_charger *ch,
    int64_t now_ms)
{
	ch->connected = false;
	ch->last_seen_ms = now_ms;
	save_charger(s, ch);
	emit(s, SITE_EV_CHARGER_DISCONNECTED, ch, NULL, NULL);
}

void
site_charger_seen(struct site *s, struct site_charger *ch, int64_t now_ms)
{
	(void)s;
	ch->last_seen_ms = now_ms;
}

enum site_boot
site_charger_booted(struct site *s, struct site_charger *ch,
    const char *vendor, const char *model, const char *serial,
    const char *firmware, bool allow_unknown, int64_t now_ms)
{
	copy(ch->vendor, sizeof ch->vendor, vendor);
	copy(ch->model, sizeof ch->model, model);
	copy(ch->serial, sizeof ch->serial, serial);
	copy(ch->firmware, sizeof ch->firmware, firmware);
	ch->last_seen_ms = now_ms;
	if (ch->configured || ch->approved)
		ch->boot = SITE_BOOT_ACCEPTED;
	else
		ch->boot = allow_unknown ? SITE_BOOT_PENDING : SITE_BOOT_REJECTED;
	ch->boot_attempts = ch->boot == SITE_BOOT_PENDING ?
	    ch->boot_attempts + 1 : 0;
	save_charger(s, ch);
	emit(s, SITE_EV_CHARGER_BOOTED, ch, NULL, NULL);
	return ch->boot;
}

int
site_charger_approve(struct site *s, const char *id, bool approved)
{
	struct site_charger *ch = site_charger(s, id);

	if (ch == NULL)
		return SITE_ERR_UNKNOWN_CHARGER;
	ch->approved = approved;
	return save_charger(s, ch);
}

void
site_charger_caps(struct site *s, struct site_charger *ch,
    const struct site_caps *caps)
{
	ch->caps = *caps;
	ch->caps.discovered = true;
	save_charger(s, ch);
	emit(s, SITE_EV_CAPS, ch, NULL, NULL);
}

static void
derive_status(struct site_evse *e)
{
	enum site_status best = SITE_STATUS_UNKNOWN;

	for (int i = 0; i < e->nconnectors; i++)
		if (status_rank[e->connectors[i].status] > status_rank[best])
			best = e->connectors[i].status;
	e->status = best;
}

static void
set_status(struct site *s, struct site_evse *e, int connector,
    enum site_status st, const char *error_code, int64_t ts_ms)
{
	enum site_status before = e->status;

	touch_evse(s, e);
	if (connector == 0) {
		for (int i = 0; i < e->nconnectors; i++) {
			e->connectors[i].status = st;
			copy(e->connectors[i].error_code, SITE_TEXT_LEN, error_code);
		}
	} else {
		e->connectors[connector - 1].status = st;
		copy(e->connectors[connector - 1].error_code, SITE_TEXT_LEN,
		    error_code);
	}
	derive_status(e);
	e->status_ms = ts_ms;
	if (e->status != before || connector != 0 || st == SITE_STATUS_FAULTED)
		emit(s, SITE_EV_STATUS, e->charger, e, e->session);
}

int
site_status(struct site *s, struct site_charger *ch, int evse_id,
    int connector, enum site_status st, const char *error_code, int64_t ts_ms)
{
	struct site_evse *e;

	if ((unsigned)st >= SITE_STATUS_COUNT || connector < 0 ||
	    connector > ch->max_connectors || connector > SITE_MAX_CONNECTORS)
		return SITE_ERR_BAD_EVSE;
	if (evse_id == 0) {
		for (int i = 0; i < ch->nevses; i++)
			set_status(s, ch->evses[i], 0, st, error_code, ts_ms);
		return SITE_OK;
	}
	if ((e = site_evse(ch, evse_id)) == NULL)
		return SITE_ERR_BAD_EVSE;
	if (connector > e->nconnectors) {
		/* A connector we had not heard of: it exists now. */
		for (int i = e->nconnectors; i < connector; i++)
			e->connectors[i].status = SITE_STATUS_UNKNOWN;
		e->nconnectors = connector;
	}
	set_status(s, e, connector, st, error_code, ts_ms);
	return SITE_OK;
}

struct site_session *
site_session_start(struct site *s, struct site_charger *ch, int evse_id,
    int connector, const char *charger_tx_id, const char *id_token,
    double meter_start_wh, int64_t ts_ms, bool offline, int *err)
{
	struct site_evse *e = site_evse(ch, evse_id);
	struct site_session *x;
	struct store_session_row r;
	struct store_reading_row none;
	char tx[SITE_TOKEN_LEN];

	if (e == NULL || connector < 0 || connector > SITE_MAX_CONNECTORS) {
		*err = SITE_ERR_BAD_EVSE;
		return NULL;
	}
	if (site_begin(s) != SITE_OK) {
		*err = SITE_ERR_STORE;
		return NULL;
	}
	touch_evse(s, e);
	/* A new start on an EVSE that still has an open session means the
	 * charger lost the old one (a reboot mid-session): close it. */
	if (e->session != NULL) {
		log_warn("site", "session replaced charger=%s evse=%d old=%lld",
		    ch->id, e->id, (long long)e->session->id);
		site_session_stop(s, e->session, -1, "Other", ts_ms);
	}
	x = xcalloc(1, sizeof *x);
	x->evse = e;
	x->connector = connector ? connector : 1;
	copy(x->id_token, sizeof x->id_token, id_token);
	x->start_ms = ts_ms;
	x->meter_start_wh = meter_start_wh;
	x->meter_stop_wh = -1;
	x->last_seq_no = -1;
	x->offline = offline;
	x->open = true;

	r = session_row(x);
	r.charger_tx_id = charger_tx_id;
	if (store_session_insert(s->store, &r, tx, sizeof tx) != STORE_OK) {
		free(x);
		s->failed = true;
		site_commit(s);
		*err = SITE_ERR_STORE;
		return NULL;
	}
	VEC_PUSH(s->made, x);
	x->id = r.id;
	copy(x->charger_tx_id, sizeof x->charger_tx_id, tx);
	e->session = x;
	/* Readings belong to their session: what the meter said before this
	 * one started (the last car's current, an older register) is never
	 * reported as this session's. */
	memset(&e->reading, 0, sizeof e->reading);
	none = (struct store_reading_row){ .charger_id = ch->id, .evse = e->id };
	if (store_reading_put(s->store, &none) != STORE_OK)
		s->failed = true;
	emit(s, SITE_EV_SESSION_STARTED, ch, e, x);
	if (site_commit(s) != SITE_OK) {
		*err = SITE_ERR_STORE;
		return NULL;
	}
	*err = SITE_OK;
	return x;
}

struct site_session *
site_session_find(struct site *s, const struct site_charger *ch,
    const char *charger_tx_id)
{
	size_t i = charger_index(s, ch);

	if (i == SIZE_MAX)
		return NULL;
	for (int e = 0; e < ch->nevses; e++) {
		struct site_session *open = ch->evses[e]->session;
		struct site_session *ended = s->ended[i * SITE_MAX_EVSES + (size_t)e];

		if (open && strcmp(open->charger_tx_id, charger_tx_id) == 0)
			return open;
		if (ended && strcmp(ended->charger_tx_id, charger_tx_id) == 0)
			return ended;
	}
	return NULL;
}

int
site_session_seq(struct site *s, struct site_session *x, int seq_no)
{
	int gap;

	if (x->last_seq_no < 0)
		gap = 0;	/* the first we see: nothing to compare */
	else if (seq_no <= x->last_seq_no)
		return -1;
	else
		gap = seq_no - x->last_seq_no - 1;
	touch_session(s, x);
	x->last_seq_no = seq_no;
	save_session(s, x);
	return gap;
}

void
site_session_token(struct site *s, struct site_session *x, const char *id_token)
{
	if (id_token == NULL || strcmp(x->id_token, id_token) == 0)
		return;
	touch_session(s, x);
	copy(x->id_token, sizeof x->id_token, id_token);
	save_session(s, x);
}

int
site_session_stop(struct site *s, struct site_session *x, double meter_stop_wh,
    const char *reason, int64_t ts_ms)
{
	struct site_evse *e = x->evse;
	struct site_session **slot;

	if (!x->open)
		return SITE_ERR_NO_SESSION;
	if (site_begin(s) != SITE_OK)
		return SITE_ERR_STORE;
	touch_evse(s, e);
	touch_session(s, x);
	if (meter_stop_wh < 0 && (e->reading.have & SITE_HAVE_ENERGY) &&
	    e->reading.energy_wh >= x->meter_start_wh)
		meter_stop_wh = e->reading.energy_wh;
	x->meter_stop_wh = meter_stop_wh;
	x->stop_ms = ts_ms;
	copy(x->stop_reason, sizeof x->stop_reason, reason ? reason : "Local");
	x->open = false;
	save_session(s, x);
	if (e->session == x)
		e->session = NULL;
	slot = ended_slot(s, e);
	if (*slot != x) {
		session_free(s, *slot);
		*slot = x;
	}
	emit(s, SITE_EV_SESSION_ENDED, e->charger, e, x);
	return site_commit(s);
}

int
site_reading(struct site *s, struct site_charger *ch, int evse_id,
    const struct site_reading *r)
{
	struct site_evse *e;
	struct site_reading *m;
	struct store_reading_row row;

	if (evse_id == 0)
		return SITE_OK;		/* the main meter is not modelled yet */
	if ((e = site_evse(ch, evse_id)) == NULL)
		return SITE_ERR_BAD_EVSE;
	touch_evse(s, e);
	m = &e->reading;
	if (r->have & SITE_HAVE_CURRENT)
		memcpy(m->current_a, r->current_a, sizeof m->current_a);
	if (r->have & SITE_HAVE_OFFERED)
		m->offered_a = r->offered_a;
	if (r->have & SITE_HAVE_POWER)
		m->power_w = r->power_w;
	if (r->have & SITE_HAVE_ENERGY)
		m->energy_wh = r->energy_wh;
	if (r->have & SITE_HAVE_VOLTAGE)
		memcpy(m->voltage_v, r->voltage_v, sizeof m->voltage_v);
	if (r->have & SITE_HAVE_SOC)
		m->soc_pct = r->soc_pct;
	m->have |= r->have;
	m->ts_ms = r->ts_ms;

	row = (struct store_reading_row){
		.charger_id = ch->id, .evse = e->id, .ts_ms = m->ts_ms,
		.have = m->have, .offered_a = m->offered_a, .power_w = m->power_w,
		.energy_wh = m->energy_wh, .soc_pct = m->soc_pct,
	};
	memcpy(row.current_a, m->current_a, sizeof row.current_a);
	memcpy(row.voltage_v, m->voltage_v, sizeof row.voltage_v);
	if (store_reading_put(s->store, &row) != STORE_OK) {
		s->failed = true;
		return SITE_ERR_STORE;
	}
	/* The history keeps what this reading said, not the merged state. */
	row.have = r->have;
	memcpy(row.current_a, r->current_a, sizeof row.current_a);
	row.power_w = r->power_w;
	row.energy_wh = r->energy_wh;
	row.soc_pct = r->soc_pct;
	if (store_sample_add(s->store, &row, e->session ? e->session->id : 0) !=
	    STORE_OK) {
		s->failed = true;
		return SITE_ERR_STORE;
	}
	emit(s, SITE_EV_READING, ch, e, e->session);
	return SITE_OK;
}

const char *
site_status_name(enum site_status st)
{
	return (unsigned)st < SITE_STATUS_COUNT ? status_names[st] : "?";
}

const char *
site_boot_name(enum site_boot b)
{
	static const char *const names[] = { "none", "accepted", "pending",
		"rejected" };

	return (unsigned)b < sizeof names / sizeof names[0] ? names[b] : "?";
}
