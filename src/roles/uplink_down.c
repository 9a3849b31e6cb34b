/*
 * uplink_down — see uplink_down.h.
 *
 * One function per command type, in a table indexed by enum
 * up_down_type; each answers the call itself, at once or through a
 * struct down when chargers must answer first.
 */
#include "roles/uplink_down.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp/schema.h"
#include "roles/csms.h"
#include "roles/uplink_auth.h"
#include "roles/uplink_profiles.h"
#include "roles/uplink_settings.h"
#include "site/site.h"
#include "site/store.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MOD "uplink"

struct down;

struct uplink_down {
	struct uplink_down_env env;
	unsigned gen;			/* upstream connection generation */
	struct down *downs;		/* waiting for chargers */
};

/* A command waiting for chargers' answers. */
struct down {
	struct uplink_down *dn;		/* NULL: the router is gone */
	struct down *next;
	struct rpc_call *call;
	unsigned gen;
	enum up_down_type type;
	char action[48];
	int outstanding;
	struct uplink_down_tally n;
};

typedef void down_fn(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d);

/* ------------------------------------------------------------ answers */

enum ocpp_result
uplink_down_result(enum up_down_type t, const struct uplink_down_tally *n)
{
	switch (t) {
	case UP_DOWN_UNLOCK:
		return n->failed ? OCPP_RESULT_UNLOCK_FAILED : n->last;
	case UP_DOWN_AVAILABILITY:
	case UP_DOWN_RESET:
		return n->no > 0 ? OCPP_RESULT_REJECTED : n->scheduled > 0 ?
		    OCPP_RESULT_SCHEDULED : OCPP_RESULT_ACCEPTED;
	case UP_DOWN_REMOTE_START:
		return n->yes ? OCPP_RESULT_ACCEPTED : OCPP_RESULT_REJECTED;
	default:
		return n->yes && !n->no ? OCPP_RESULT_ACCEPTED :
		    OCPP_RESULT_REJECTED;
	}
}

/* Answer call, a command of d's type, with r. */
static void
answer(struct uplink_down *dn, struct rpc_call *call, const struct up_down *d,
    enum ocpp_result r)
{
	rpc_reply(call, dn->env.codec->reply(d->type, r));
}

static struct down *
down_new(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	struct down *w = xcalloc(1, sizeof *w);

	w->dn = dn;
	w->call = call;
	w->gen = dn->gen;
	w->type = d->type;
	snprintf(w->action, sizeof w->action, "%s", rpc_call_action(call));
	w->next = dn->downs;
	dn->downs = w;
	return w;
}

static void
down_unlink(struct down *w)
{
	struct down **pp;

	if (w->dn == NULL)
		return;
	for (pp = &w->dn->downs; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

/* Answer w's call with r (when the connection it came on is still the
 * one open) and free w. */
static void
down_reply(struct down *w, enum ocpp_result r)
{
	if (w->dn != NULL && w->dn->gen == w->gen) {
		log_info(MOD, "answered action=%s status=%s", w->action,
		    ocpp_result_name(r));
		rpc_reply(w->call, w->dn->env.codec->reply(w->type, r));
	}
	down_unlink(w);
	free(w);
}

static void
on_charger_answer(const struct ocpp_command_result *res, const char *error,
    void *arg)
{
	struct down *w = arg;

	w->n.failed = res == NULL;
	if (res != NULL) {
		if (res->accepted)
			w->n.yes++;
		else
			w->n.no++;
		if (res->status == OCPP_RESULT_SCHEDULED)
			w->n.scheduled++;
		w->n.last = res->status;
	} else {
		w->n.no++;
		log_warn(MOD, "charger did not do action=%s why=%s", w->action,
		    error);
	}
	if (--w->outstanding > 0)
		return;
	if (w->dn == NULL) {
		free(w);
		return;
	}
	down_reply(w, uplink_down_result(w->type, &w->n));
}

/* Send cmd to the charger with id charger for w; counts it outstanding.
 * A charger it cannot be sent to counts as a no. */
static void
route(struct down *w, const char *charger, struct ocpp_command *cmd)
{
	w->outstanding++;
	if (csms_command(w->dn->env.csms, charger, cmd, on_charger_answer, w)
	    != 0) {
		w->outstanding--;
		w->n.no++;
	}
}

/* Finish a fan-out whose commands could not all be sent. */
static void
route_done(struct down *w)
{
	if (w->outstanding == 0) {
		w->outstanding = 1;
		on_charger_answer(NULL, "not connected", w);
	}
}

/* Route cmd to the charger of EVSE e for the upstream's call. */
static void
route_one(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d, const struct site_evse *e,
    struct ocpp_command *cmd)
{
	struct down *w = down_new(dn, call, d);

	route(w, e->charger->id, cmd);
	route_done(w);
}

/* Every connected charger (evse 0) or the charger of one EVSE gets cmd. */
static void
fan_out(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d, struct ocpp_command *cmd)
{
	struct down *w = down_new(dn, call, d);
	size_t n = site_charger_count(dn->env.site);

	if (d->evse > 0) {
		struct site_evse *e = site_evse_by_number(dn->env.site, d->evse);
		cmd->evse = e->id;
		route(w, e->charger->id, cmd);
	} else {
		for (size_t i = 0; i < n; i++) {
			struct site_charger *ch = site_charger_at(dn->env.site, i);
			if (!ch->connected || ch->nevses < 1)
				continue;
			cmd->evse = 0;
			route(w, ch->id, cmd);
		}
		if (w->outstanding == 0 && w->n.no == 0) {
			/* No charger at all: the site is what it is. */
			down_reply(w, OCPP_RESULT_ACCEPTED);
			return;
		}
	}
	route_done(w);
}

/* ------------------------------------------------------------ the site */

static struct site_evse *
evse_of(struct uplink_down *dn, int number)
{
	return number >= 1 ? site_evse_by_number(dn->env.site, number) : NULL;
}

/* The EVSE a command names and that must be connected; NULL when it names
 * none (number < 1). *e gets the EVSE whether connected or not. */
static bool
connected_evse(struct uplink_down *dn, int number, struct site_evse **e)
{
	*e = evse_of(dn, number);
	return *e != NULL && (*e)->charger->connected;
}

/* The open session the upstream names in d (by our id, or by its own id
 * mapped in the state file); NULL when none. */
static struct site_session *
session_of(struct uplink_down *dn, const struct up_down *d)
{
	int64_t sid = d->session_id;
	size_t n = site_charger_count(dn->env.site);

	if (sid == 0 && store_uplink_tx_find(dn->env.store, d->tx_id, &sid) !=
	    STORE_OK)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct site_charger *ch = site_charger_at(dn->env.site, i);
		for (int e = 0; e < ch->nevses; e++)
			if (ch->evses[e]->session && ch->evses[e]->session->id == sid)
				return ch->evses[e]->session;
	}
	return NULL;
}

/* The first EVSE free for a remote start without an EVSE. */
static struct site_evse *
free_evse(struct uplink_down *dn)
{
	size_t n = site_charger_count(dn->env.site);

	for (size_t i = 0; i < n; i++) {
		struct site_charger *ch = site_charger_at(dn->env.site, i);
		for (int e = 0; ch->connected && e < ch->nevses; e++) {
			struct site_evse *x = ch->evses[e];
			if (x->session == NULL &&
			    (x->status == SITE_STATUS_AVAILABLE ||
			    x->status == SITE_STATUS_OCCUPIED))
				return x;
		}
	}
	return NULL;
}

static int
evse_count(struct uplink_down *dn)
{
	size_t n = site_charger_count(dn->env.site);
	int nevse = 0;

	for (size_t i = 0; i < n; i++)
		nevse += site_charger_at(dn->env.site, i)->nevses;
	return nevse;
}

/* ------------------------------------------------------------ commands */

static void
down_remote_start(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	struct site_evse *e = d->evse > 0 ? evse_of(dn, d->evse) :
	    free_evse(dn);
	struct ocpp_command cmd = { .type = OCPP_CMD_REMOTE_START };

	if (e == NULL || !e->charger->connected || e->session != NULL) {
		answer(dn, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	cmd.evse = e->id;
	cmd.u.start.token = d->token;
	cmd.u.start.remote_start_id = d->remote_start_id;
	route_one(dn, call, d, e, &cmd);
}

static void
down_remote_stop(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	struct site_session *x = session_of(dn, d);
	struct ocpp_command cmd = { .type = OCPP_CMD_REMOTE_STOP };

	if (x == NULL || !x->open || !x->evse->charger->connected) {
		answer(dn, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	cmd.evse = x->evse->id;
	snprintf(cmd.u.stop.tx_id, sizeof cmd.u.stop.tx_id, "%s",
	    x->charger_tx_id);
	route_one(dn, call, d, x->evse, &cmd);
}

static void
down_unlock(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	struct site_evse *e;
	struct ocpp_command cmd = { .type = OCPP_CMD_UNLOCK };

	if (!connected_evse(dn, d->evse, &e)) {
		answer(dn, call, d, e ? OCPP_RESULT_UNLOCK_FAILED :
		    OCPP_RESULT_UNKNOWN_CONNECTOR);
		return;
	}
	cmd.connector = d->connector > 0 ? d->connector : 1;
	fan_out(dn, call, d, &cmd);
}

static void
down_availability(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	struct site_evse *e;
	struct ocpp_command cmd = { .type = OCPP_CMD_AVAILABILITY };

	if (d->evse > 0 && !connected_evse(dn, d->evse, &e)) {
		answer(dn, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	cmd.u.availability.operative = d->operative;
	fan_out(dn, call, d, &cmd);
}

static void
down_reset(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	struct site_evse *e;
	struct ocpp_command cmd = { .type = OCPP_CMD_RESET };

	if (d->evse > 0) {
		if (!connected_evse(dn, d->evse, &e)) {
			answer(dn, call, d, OCPP_RESULT_REJECTED);
			return;
		}
		/* A charger resets as a whole. */
		cmd.u.reset.hard = d->hard;
		route_one(dn, call, d, e, &cmd);
		return;
	}
	/* The gateway: it cannot reboot its host, but it restarts its own
	 * OCPP session: a new BootNotification on a new link. */
	answer(dn, call, d, OCPP_RESULT_ACCEPTED);
	log_info(MOD, "reset of the gateway: reconnecting");
	dn->env.reset(dn->env.arg);
}

static void
down_trigger(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	struct site_evse *e = d->evse > 0 ? evse_of(dn, d->evse) : NULL;

	if (d->trigger == UP_TRIGGER_OTHER) {
		answer(dn, call, d, OCPP_RESULT_NOT_IMPLEMENTED);
		return;
	}
	if (d->evse > 0 && e == NULL) {
		answer(dn, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	answer(dn, call, d, OCPP_RESULT_ACCEPTED);
	/* The triggered message follows the answer. */
	dn->env.trigger(d->trigger, e, dn->env.arg);
}

static void
down_get_config(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	struct up_setting_value v[UP_NSETTINGS];

	uplink_settings_values(dn->env.settings, evse_count(dn), v);
	rpc_reply(call, dn->env.codec->reply_get_config(d, v));
}

static void
down_set_config(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	enum ocpp_result r[OCPP_MAX_KEYS] = { OCPP_RESULT_REJECTED };

	for (int i = 0; i < d->nkeys; i++) {
		r[i] = uplink_settings_set(dn->env.settings, &d->keys[i]);
		if (r[i] == OCPP_RESULT_ACCEPTED)
			dn->env.setting_changed((enum up_setting)d->keys[i].setting,
			    dn->env.arg);
	}
	rpc_reply(call, dn->env.codec->reply_set_config(d, r));
}

static void
down_local_list(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	answer(dn, call, d, uplink_auth_update_list(dn->env.auth, d));
}

static void
down_list_version(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	(void)d;
	rpc_reply(call, dn->env.codec->reply_list_version(
	    uplink_auth_list_version(dn->env.auth)));
}

static void
down_set_profile(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	const struct ocpp_profile *p = &d->profile;
	struct site_evse *e = d->evse > 0 ? evse_of(dn, d->evse) : NULL;

	if (p->purpose == OCPP_PURPOSE_ANY || p->nperiods < 1 ||
	    (d->evse > 0 && e == NULL) ||
	    (d->evse == 0 && p->purpose == OCPP_PURPOSE_TX) ||
	    (p->purpose == OCPP_PURPOSE_TX && (e == NULL || e->session == NULL)) ||
	    uplink_profiles_put(dn->env.profiles, d->evse, p,
	    isotime_now_ms()) != 0) {
		answer(dn, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	log_info(MOD, "charging profile id=%d evse=%d purpose=%d periods=%d "
	    "first_limit=%.1f unit=%s", p->id, d->evse, p->purpose, p->nperiods,
	    p->periods[0].limit, p->unit == OCPP_UNIT_W ? "W" : "A");
	answer(dn, call, d, OCPP_RESULT_ACCEPTED);
	dn->env.profiles_changed(dn->env.arg);
}

static void
down_clear_profile(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	int cleared = uplink_profiles_clear(dn->env.profiles, d->clear_id,
	    d->evse, d->clear_purpose, d->clear_stack_level);

	answer(dn, call, d, cleared ? OCPP_RESULT_ACCEPTED :
	    OCPP_RESULT_UNKNOWN);
	if (cleared)
		dn->env.profiles_changed(dn->env.arg);
}

static void
down_composite(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	double lim[3] = { 0, 0, 0 };
	int phases = 0;
	bool ok = (d->evse == 0 || evse_of(dn, d->evse) != NULL) &&
	    dn->env.offer != NULL &&
	    dn->env.offer(d->evse, lim, &phases, dn->env.arg) == 0;
	double l = fmin(lim[0], phases == 1 ? lim[0] : fmin(lim[1], lim[2]));

	rpc_reply(call, dn->env.codec->reply_composite(d->evse, ok, l, phases,
	    d->duration_s, isotime_now_ms()));
}

static void
down_data_transfer(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	answer(dn, call, d, OCPP_RESULT_UNKNOWN_VENDOR);
}

static void
down_clear_cache(struct uplink_down *dn, struct rpc_call *call,
    const struct up_down *d)
{
	answer(dn, call, d, uplink_auth_clear_cache(dn->env.auth));
}

/* Who serves each command type. */
static down_fn *const down_fns[] = {
	[UP_DOWN_REMOTE_START] = down_remote_start,
	[UP_DOWN_REMOTE_STOP] = down_remote_stop,
	[UP_DOWN_UNLOCK] = down_unlock,
	[UP_DOWN_AVAILABILITY] = down_availability,
	[UP_DOWN_RESET] = down_reset,
	[UP_DOWN_TRIGGER] = down_trigger,
	[UP_DOWN_GET_CONFIG] = down_get_config,
	[UP_DOWN_SET_CONFIG] = down_set_config,
	[UP_DOWN_SEND_LOCAL_LIST] = down_local_list,
	[UP_DOWN_GET_LOCAL_LIST_VERSION] = down_list_version,
	[UP_DOWN_SET_PROFILE] = down_set_profile,
	[UP_DOWN_CLEAR_PROFILE] = down_clear_profile,
	[UP_DOWN_GET_COMPOSITE] = down_composite,
	[UP_DOWN_DATA_TRANSFER] = down_data_transfer,
	[UP_DOWN_CLEAR_CACHE] = down_clear_cache,
};

/* ------------------------------------------------------------ serving */

/* An upstream request: checked against its schema, decoded, served. */
static void
serve(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	struct uplink_down *dn = arg;
	const struct up_codec *c = dn->env.codec;
	const char *action = rpc_call_action(call);
	struct schema_error serr;
	struct ocpp_error err;
	struct up_down *d = xcalloc(1, sizeof *d);
	int rc;

	(void)rpc;
	rc = schema_validate(c->version, action, SCHEMA_REQUEST, payload, &serr);
	if (rc != SCHEMA_OK) {
		log_warn(MOD, "refused action=%s why=%s", action, serr.description);
		rpc_reply_error(call, schema_errcode(rc), serr.description, NULL);
	} else if (c->decode_down(action, payload, d, &err) != 0) {
		rpc_reply_error(call, err.code, err.text, NULL);
	} else {
		log_info(MOD, "request action=%s evse=%d", action, d->evse);
		if ((size_t)d->type < sizeof down_fns / sizeof *down_fns &&
		    down_fns[d->type] != NULL)
			down_fns[d->type](dn, call, d);
		else
			rpc_reply_error(call, OCPP_ERR_NOT_SUPPORTED, "not "
			    "supported by this charge point", NULL);
	}
	free(d);
}

void
uplink_down_register(struct uplink_down *dn, struct rpc_handlers *h)
{
	const struct up_codec *c = dn->env.codec;
	const char *a;

	for (size_t i = 0; (a = c->down_action(i)) != NULL; i++)
		if (schema_has_action(c->version, a))
			rpc_handlers_add(h, c->version, a, serve, dn);
}

struct uplink_down *
uplink_down_new(const struct uplink_down_env *env)
{
	struct uplink_down *dn = xcalloc(1, sizeof *dn);

	dn->env = *env;
	return dn;
}

void
uplink_down_link_changed(struct uplink_down *dn)
{
	dn->gen++;
}

void
uplink_down_free(struct uplink_down *dn)
{
	if (dn == NULL)
		return;
	for (struct down *w = dn->downs; w; w = w->next)
		w->dn = NULL;
	free(dn);
}
