/*
 * csms — see csms.h.
 *
 * One struct conn per connected charger; the rpc layer frees the rpc, and
 * on_disconnect frees the conn. A charger that connects again while its
 * old connection is still closing has two conns for a moment: the site is
 * told it disconnected only when the last one goes.
 *
 * Every request goes through handle_request(): the schema check first (so
 * the codecs only see well-formed payloads), then the codec of the
 * connection's version, then the site model. The answer is built by the
 * codec from a struct ocpp_reply. Replies are synchronous: nothing here
 * waits on I/O before answering a charger (the state file write happens
 * inside the site call, batched or committed as its durability needs).
 */
#include "roles/csms.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ocpp/codec.h"
#include "ocpp/schema.h"
#include "ocpp/v16.h"
#include "ocpp/v201.h"
#include "roles/auth.h"
#include "site/site.h"
#include "transport/rpc.h"
#include "transport/ws.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"

#define MOD "ocpp"
#define RETRY_INTERVAL_S 60	/* BootNotification interval when not accepted */

struct csms_auth {
	char *id;
	struct pwhash password;
	struct pwhash password_raw;
};

struct auth_wait;

struct conn {
	struct auth_wait *waits;	/* Authorize calls waiting upstream */
	struct csms *cs;
	struct conn *prev, *next;
	struct conn *hnext;		/* chain of its bucket in cs->hash */
	struct rpc *rpc;
	enum ocpp_version version;
	struct site_charger *ch;	/* NULL once csms_disconnect let go */
	char id[SITE_ID_LEN];
};

struct csms {
	struct event_base *base;
	struct site *site;
	struct csms_opts o;
	struct ws_server *srv;
	struct rpc_handlers *handlers;
	struct csms_auth *auth;
	size_t nauth;
	bool allow_unknown;
	bool client_ca;
	struct conn *conns;		/* newest first */
	size_t nconns;
	struct conn **hash;		/* by id, newest first per bucket */
	size_t nhash;			/* a power of two */
	struct csms_authorizer authz;
	bool has_authz;
	long long unstored;		/* messages refused in a row: not stored */
	/* Chargers whose report beyond their bound check_bounds() logged at
	 * warn; emptied when the configuration (and so the bounds) change.
	 * Only accepted chargers get that far, so it holds at most those. */
	char (*bound_warned)[SITE_ID_LEN];
	size_t nbound_warned;
};

/* A charger's Authorize waiting for the authorizer. When the connection
 * goes first, c becomes NULL and the answer is dropped. */
struct auth_wait {
	struct conn *c;
	struct auth_wait *next;
	struct rpc_call *call;
	struct ocpp_request_msg m;
};

/* A command on its way: freed when its rpc callback has run. */
/* A command waiting for its answer. The decoders read the command's
 * keys only for configuration commands; for the others (a profile per
 * EVSE per allocation) only the part up to the profile is kept, not the
 * 10 kB of the whole union. cmd is therefore the last member. */
struct pending {
	struct csms *cs;
	enum ocpp_version version;
	csms_command_cb *cb;
	void *arg;
	struct ocpp_command cmd;
};

/* The codec of a connection's version. 2.1 chargers are served with the
 * 2.0.1 message set. */
struct codec {
	enum ocpp_version schema;
	int (*decode)(const char *, const cJSON *, struct ocpp_request_msg *,
	    struct ocpp_error *);
	cJSON *(*encode)(const struct ocpp_request_msg *,
	    const struct ocpp_reply *);
	int (*encode_command)(const struct ocpp_command *, const char **,
	    cJSON **);
	int (*decode_result)(const struct ocpp_command *, const cJSON *,
	    struct ocpp_command_result *, struct ocpp_error *);
	const struct ocpp_cap_name *caps;	/* capability discovery */
	bool set_one_key;		/* one setting per set command */
};

static const struct codec codec16 = { OCPP_V16, v16_decode_request,
	v16_encode_reply, v16_encode_command, v16_decode_result, v16_caps,
	true };
static const struct codec codec201 = { OCPP_V201, v201_decode_request,
	v201_encode_reply, v201_encode_command, v201_decode_result, v201_caps,
	false };

static const struct codec *
codec_of(enum ocpp_version v)
{
	return v == OCPP_V16 ? &codec16 : &codec201;
}

/* The charger requests the codecs translate (both versions' names). */
static const char *const actions[] = {
	"BootNotification", "Heartbeat", "StatusNotification", "Authorize",
	"StartTransaction", "StopTransaction", "TransactionEvent",
	"MeterValues", "DataTransfer", "DiagnosticsStatusNotification",
	"FirmwareStatusNotification", "SecurityEventNotification",
	"LogStatusNotification", "SignedFirmwareStatusNotification",
	"NotifyReport", "NotifyEvent", "NotifyChargingLimit",
	"ClearedChargingLimit", "ReportChargingProfiles",
};

static void
auth_free(struct csms_auth *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].id);
		explicit_bzero(&a[i].password, sizeof a[i].password);
		explicit_bzero(&a[i].password_raw, sizeof a[i].password_raw);
	}
	free(a);
}

static const struct csms_auth *
auth_find(const struct csms *cs, const char *id)
{
	for (size_t i = 0; i < cs->nauth; i++)
		if (strcmp(cs->auth[i].id, id) == 0)
			return &cs->auth[i];
	return NULL;
}

static enum ws_auth
on_auth(const struct ws_auth_request *r, void *arg)
{
	struct csms *cs = arg;
	const struct csms_auth *a = auth_find(cs, r->id);
	char esc[LOG_ESC_LEN], cesc[LOG_ESC_LEN];

	if (a == NULL && !cs->allow_unknown)
		return WS_AUTH_NOT_FOUND;
	if (r->cert != NULL) {
		if (r->cert_cn != NULL && strcmp(r->cert_cn, r->id) == 0)
			return WS_AUTH_ACCEPT;
		log_warn(MOD, "certificate names another charger peer=%s "
		    "charger=%s cn=%s", r->peer, log_esc(esc, sizeof esc, r->id),
		    log_esc(cesc, sizeof cesc, r->cert_cn));
		return WS_AUTH_UNAUTHORIZED;
	}
	if (a != NULL && a->password.set) {
		if (!r->basic_ok || strcmp(r->user, r->id) != 0)
			return WS_AUTH_UNAUTHORIZED;
		if (pwhash_check(&a->password, r->password, r->password_len) ||
		    (a->password_raw.set && pwhash_check(&a->password_raw,
		    r->password, r->password_len)))
			return WS_AUTH_ACCEPT;
		return WS_AUTH_UNAUTHORIZED;
	}
	if (cs->client_ca)
		return WS_AUTH_UNAUTHORIZED;
	return WS_AUTH_ACCEPT;
}

/* Copy what this module needs from o; what o points to stays referenced
 * until the next reconfigure. */
static void
take_opts(struct csms *cs, const struct csms_opts *o)
{
	struct csms_auth *a = calloc(o->nchargers + 1, sizeof *a);

	if (a == NULL)
		abort();
	for (size_t i = 0; i < o->nchargers; i++) {
		if ((a[i].id = strdup(o->chargers[i].id)) == NULL)
			abort();
		a[i].password = o->chargers[i].password;
		a[i].password_raw = o->chargers[i].password_raw;
	}
	auth_free(cs->auth, cs->nauth);
	cs->auth = a;
	cs->nauth = o->nchargers;
	cs->o = *o;
	cs->o.chargers = NULL;		/* copied above, not kept */
	cs->allow_unknown = o->allow_unknown_chargers;
	cs->client_ca = o->tls_client_ca != NULL;
	/* New bounds: a charger still beyond them is worth a line again. */
	free(cs->bound_warned);
	cs->bound_warned = NULL;
	cs->nbound_warned = 0;
}

/* ------------------------------------------------------------ requests */

static void
refuse(struct conn *c, struct rpc_call *call, enum ocpp_errcode code,
    const char *why)
{
	char esc[LOG_ESC_LEN], wesc[LOG_ESC_LEN * 2];

	log_warn(MOD, "refused charger=%s action=%s code=%s why=%s",
	    log_esc(esc, sizeof esc, c->id), rpc_call_action(call),
	    ocpp_errcode_name(code, c->version), log_esc(wesc, sizeof wesc, why));
	rpc_reply_error(call, code, why, NULL);
}

static int64_t
ts_or_now(int64_t ts_ms, int64_t now)
{
	return ts_ms > 0 ? ts_ms : now;
}

static bool
upstream_auth(const struct csms *cs)
{
	return cs->has_authz && cs->o.auth->mode == AUTH_MODE_UPSTREAM;
}

static void
set_auth(struct csms *cs, struct ocpp_reply *r, const char *token, int64_t now)
{
	struct auth_result a = upstream_auth(cs) ?
	    cs->authz.local(token, now, cs->authz.arg) :
	    auth_decide(cs->o.auth, token, now);

	r->has_auth = true;
	r->auth = a.status;
	r->auth_expiry_ms = a.expiry_ms;
}

static void discover(struct conn *c);

/* 1.6 StartTransaction / StopTransaction. */
static int
handle_tx16(struct conn *c, struct ocpp_tx *t, struct ocpp_reply *r,
    int64_t now)
{
	struct csms *cs = c->cs;
	struct site_session *x;
	char esc[LOG_ESC_LEN];
	int err;

	if (t->kind == OCPP_TX_STARTED) {
		struct site_evse *e = site_evse(c->ch, t->evse);
		double wh = t->meter_wh < 0 ? 0 : t->meter_wh;

		set_auth(cs, r, t->token.id, now);
		x = e != NULL ? e->session : NULL;
		if (x != NULL && x->open && x->start_ms == ts_or_now(t->ts_ms, now) &&
		    x->meter_start_wh == wh && strcmp(x->id_token, t->token.id) == 0 &&
		    x->connector == (t->connector ? t->connector : 1)) {
			/* The same StartTransaction again: its answer was lost (a
			 * crash, a dropped connection) after everything it caused
			 * was stored. The same transaction id, nothing new. */
			r->tx_id = x->id;
			log_info(MOD, "start repeated charger=%s evse=%d tx=%s: "
			    "answered again", c->id, e->id, x->charger_tx_id);
			return 0;
		}
		x = site_session_start(cs->site, c->ch, t->evse, t->connector, NULL,
		    t->token.id, t->meter_wh < 0 ? 0 : t->meter_wh,
		    ts_or_now(t->ts_ms, now), false, &err);
		if (x == NULL)
			return -1;
		r->tx_id = x->id;
		log_info(MOD, "session started charger=%s evse=%d tx=%s token=%s",
		    c->id, x->evse->id, x->charger_tx_id,
		    log_esc(esc, sizeof esc, x->id_token));
		return 0;
	}
	if (t->has_token)
		set_auth(cs, r, t->token.id, now);
	x = site_session_find(cs->site, c->ch, t->tx_id);
	if (x == NULL || !x->open) {
		/* Also a stop sent again whose answer was lost: what it caused
		 * was stored with the session's end. */
		log_warn(MOD, "stop for an unknown or ended session charger=%s "
		    "tx=%s: answered, nothing changed", c->id, t->tx_id);
		return 0;
	}
	if (t->meter.reading.have)
		site_reading(cs->site, c->ch, x->evse->id, &t->meter.reading);
	site_session_stop(cs->site, x, t->meter_wh, t->stop_reason[0] ?
	    t->stop_reason : NULL, ts_or_now(t->ts_ms, now));
	log_info(MOD, "session ended charger=%s evse=%d tx=%s reason=%s",
	    c->id, x->evse->id, x->charger_tx_id, x->stop_reason);
	return 0;
}

/* 2.0.1 TransactionEvent: every event of a transaction lands in one
 * session; one that arrives for a transaction we never saw start (lost
 * with a previous state file) opens it. */
static int
handle_tx201(struct conn *c, struct ocpp_tx *t, struct ocpp_reply *r,
    int64_t now)
{
	struct csms *cs = c->cs;
	struct site_session *x = site_session_find(cs->site, c->ch, t->tx_id);
	int64_t ts = ts_or_now(t->ts_ms, now);
	int evse, gap, err;

	if (x == NULL) {
		if (t->evse < 1) {
			log_warn(MOD, "event for an unknown transaction without an "
			    "evse charger=%s tx=%s", c->id, t->tx_id);
			return 0;
		}
		x = site_session_start(cs->site, c->ch, t->evse, t->connector,
		    t->tx_id, t->has_token ? t->token.id : NULL,
		    t->meter_wh < 0 ? 0 : t->meter_wh, ts, t->offline, &err);
		if (x == NULL)
			return -1;
		log_info(MOD, "session started charger=%s evse=%d tx=%s offline=%d",
		    c->id, x->evse->id, x->charger_tx_id, t->offline);
	}
	gap = site_session_seq(cs->site, x, t->seq_no);
	if (gap < 0) {
		/* Already seen: answer again, change nothing. */
		log_warn(MOD, "duplicate event charger=%s tx=%s seq=%d: answered "
		    "again, nothing changed", c->id, t->tx_id, t->seq_no);
		if (t->has_token)
			set_auth(cs, r, t->token.id, now);
		return 0;
	}
	if (gap > 0)
		log_warn(MOD, "events missing charger=%s tx=%s before_seq=%d "
		    "missing=%d", c->id, t->tx_id, t->seq_no, gap);
	evse = x->evse->id;
	if (t->has_token) {
		set_auth(cs, r, t->token.id, now);
		site_session_token(cs->site, x, t->token.id);
	}
	if (t->meter.reading.have)
		site_reading(cs->site, c->ch, evse, &t->meter.reading);
	if (t->charging_state != SITE_STATUS_UNKNOWN && x->open)
		site_status(cs->site, c->ch, evse, t->connector > 0 ? t->connector :
		    x->connector, t->charging_state, NULL, ts);
	if (t->kind == OCPP_TX_ENDED && x->open) {
		site_session_stop(cs->site, x, t->meter_wh, t->stop_reason[0] ?
		    t->stop_reason : NULL, ts);
		log_info(MOD, "session ended charger=%s evse=%d tx=%s reason=%s",
		    c->id, evse, x->charger_tx_id, x->stop_reason);
	}
	return 0;
}

/* Apply a decoded request to the site and fill the reply. Returns 0, or
 * -1 when the state file refused a write the answer depends on. */
static int
apply(struct conn *c, struct ocpp_request_msg *m, struct ocpp_reply *r,
    int64_t now)
{
	struct csms *cs = c->cs;
	char esc[LOG_ESC_LEN], e2[LOG_ESC_LEN];

	r->now_ms = now;
	switch (m->type) {
	case OCPP_REQ_BOOT:
		r->boot = site_charger_booted(cs->site, c->ch, m->u.boot.vendor,
		    m->u.boot.model, m->u.boot.serial, m->u.boot.firmware,
		    cs->allow_unknown, now);
		r->interval_s = r->boot == SITE_BOOT_ACCEPTED ?
		    cs->o.heartbeat_interval_s : RETRY_INTERVAL_S;
		log_info(MOD, "boot charger=%s vendor=%s model=%s status=%s", c->id,
		    log_esc(esc, sizeof esc, m->u.boot.vendor),
		    log_esc(e2, sizeof e2, m->u.boot.model),
		    site_boot_name(r->boot));
		return 0;
	case OCPP_REQ_HEARTBEAT:
		return 0;
	case OCPP_REQ_STATUS:
		if (m->u.status.evse < 1)
			return 0;	/* the charger as a whole: nothing per EVSE */
		if (site_status(cs->site, c->ch, m->u.status.evse,
		    m->u.status.connector, m->u.status.status,
		    m->u.status.error_code, ts_or_now(m->u.status.ts_ms, now)) !=
		    SITE_OK)
			log_warn(MOD, "status for an evse out of range charger=%s "
			    "evse=%d connector=%d", c->id, m->u.status.evse,
			    m->u.status.connector);
		return 0;
	case OCPP_REQ_AUTHORIZE:
		set_auth(cs, r, m->u.authorize.id, now);
		log_info(MOD, "authorize charger=%s token=%s status=%s", c->id,
		    log_esc(esc, sizeof esc, m->u.authorize.id),
		    codec_auth_name(r->auth));
		return 0;
	case OCPP_REQ_TX:
		return c->version == OCPP_V16 ? handle_tx16(c, &m->u.tx, r, now) :
		    handle_tx201(c, &m->u.tx, r, now);
	case OCPP_REQ_METER:
		if (m->u.meter.evse >= 1 && m->u.meter.reading.have)
			site_reading(cs->site, c->ch, m->u.meter.evse,
			    &m->u.meter.reading);
		return 0;
	case OCPP_REQ_DATA_TRANSFER:
		/* No vendor extension is configured: say so. */
		r->data_transfer = OCPP_RESULT_UNKNOWN_VENDOR;
		return 0;
	case OCPP_REQ_NOTICE:
		log_info(MOD, "notice charger=%s action=%s summary=%s", c->id,
		    m->u.notice.action, log_esc(esc, sizeof esc, m->u.notice.summary));
		return 0;
	case OCPP_REQ_NONE:
		break;
	}
	return 0;
}

/* A message the charger will send again until it is answered — a
 * transaction message — is applied as one unit of the site (site_begin):
 * the session's change, the uplink's outbox entry, the seqNo and the
 * reading it carries are committed together before the answer leaves, or
 * none of them is. Returns 0, or -1 when nothing was stored. */
static int
apply_durably(struct conn *c, struct ocpp_request_msg *m, struct ocpp_reply *r,
    int64_t now)
{
	struct site *site = c->cs->site;
	int evse, rc;

	if (m->type == OCPP_REQ_TX)
		evse = m->u.tx.evse;
	else if (m->type == OCPP_REQ_METER && m->u.meter.tx_id[0] != '\0')
		evse = m->u.meter.evse;
	else
		return apply(c, m, r, now);
	/* An EVSE seen for the first time gets its number outside the unit:
	 * the undo journal keeps EVSEs as they were, not whether they were. */
	if (evse > 0)
		site_evse(c->ch, evse);
	if (site_begin(site) != SITE_OK)
		return -1;
	rc = apply(c, m, r, now);
	if (rc != 0)
		site_fail(site);
	if (site_commit(site) != SITE_OK)
		return -1;
	if (rc == 0)
		c->cs->unstored = 0;
	return rc;
}

/* Answer a message that could not be stored. A full disk refuses every
 * such message: the first is logged, the rest counted until one is
 * stored again. */
static void
refuse_unstored(struct conn *c, struct rpc_call *call)
{
	static const char why[] = "the gateway could not store this message "
	    "(its state file refused the write); send it again";

	if (c->cs->unstored++ == 0) {
		refuse(c, call, OCPP_ERR_INTERNAL, why);
		return;
	}
	log_debug(MOD, "refused charger=%s action=%s: not stored (%lld in a "
	    "row)", c->id, rpc_call_action(call), (long long)c->cs->unstored);
	rpc_reply_error(call, OCPP_ERR_INTERNAL, why, NULL);
}

/* The EVSE and connector ids a decoded request reports, with the names
 * of their fields on the wire; 0 when it names none. A 1.6 request names
 * no connector: each connectorId is an EVSE with the one connector 1. */
struct reported_ids {
	int evse, connector;
	const char *evse_field, *connector_field;
};

static struct reported_ids
reported_ids(enum ocpp_version v, const struct ocpp_request_msg *m)
{
	bool v16 = v == OCPP_V16;

	switch (m->type) {
	case OCPP_REQ_STATUS:
		return (struct reported_ids){ m->u.status.evse, v16 ? 0 :
		    m->u.status.connector, v16 ? "connectorId" : "evseId",
		    "connectorId" };
	case OCPP_REQ_TX:
		return (struct reported_ids){ m->u.tx.evse, v16 ? 0 :
		    m->u.tx.connector, v16 ? "connectorId" : "evse.id",
		    "evse.connectorId" };
	case OCPP_REQ_METER:
		return (struct reported_ids){ m->u.meter.evse, 0,
		    v16 ? "connectorId" : "evseId", NULL };
	default:
		return (struct reported_ids){ 0, 0, NULL, NULL };
	}
}

/* Refuse a request that reports an EVSE or a connector beyond what the
 * charger may have (site_charger.max_evses / max_connectors, from the
 * configuration): the site would refuse to create it, so a status would be
 * dropped and a transaction answered InternalError, which the charger
 * retries for ever. Answers PropertyConstraintViolation naming the field
 * and the key that raises the bound, and returns -1; returns 0 when the
 * request is within bounds. The first refusal for a charger is logged at
 * warn, with the key; later ones (on this connection or the next, until
 * the configuration changes) at debug, so that a charger that reports its
 * 32 connectors every minute does not flood the log. */
static bool
first_bound_warning(struct csms *cs, const char *id)
{
	for (size_t i = 0; i < cs->nbound_warned; i++)
		if (strcmp(cs->bound_warned[i], id) == 0)
			return false;
	cs->bound_warned = xrealloc(cs->bound_warned,
	    (cs->nbound_warned + 1) * sizeof *cs->bound_warned);
	snprintf(cs->bound_warned[cs->nbound_warned++],
	    sizeof *cs->bound_warned, "%s", id);
	return true;
}

static int
check_bounds(struct conn *c, struct rpc_call *call,
    const struct ocpp_request_msg *m)
{
	struct reported_ids r = reported_ids(c->version, m);
	const struct site_charger *ch = c->ch;
	const char *field, *key;
	char why[200], esc[LOG_ESC_LEN], wesc[LOG_ESC_LEN * 2];
	int value, max;

	if (r.evse > ch->max_evses) {
		field = r.evse_field;
		value = r.evse;
		max = ch->max_evses;
		key = ch->configured ? "chargers[].evses" : "ocpp.max_evses";
		snprintf(why, sizeof why, "%s: %d is beyond what this charger may "
		    "report (at most %d %s; raise %s)", field, value, max,
		    c->version == OCPP_V16 ? "connectors" : "EVSEs", key);
	} else if (r.connector > ch->max_connectors) {
		field = r.connector_field;
		value = r.connector;
		max = ch->max_connectors;
		key = ch->configured ? "chargers[].connectors_per_evse" :
		    "ocpp.max_connectors_per_evse";
		snprintf(why, sizeof why, "%s: %d is beyond what an EVSE of this "
		    "charger may report (at most %d connectors; raise %s)", field,
		    value, max, key);
	} else {
		return 0;
	}
	if (first_bound_warning(c->cs, c->id)) {
		log_warn(MOD, "report beyond the charger's bound charger=%s "
		    "action=%s field=%s value=%d max=%d key=%s (refused; further "
		    "ones from this charger are logged at debug)",
		    log_esc(esc, sizeof esc, c->id), rpc_call_action(call), field,
		    value, max, key);
	} else {
		log_debug(MOD, "refused charger=%s action=%s code=%s why=%s",
		    log_esc(esc, sizeof esc, c->id), rpc_call_action(call),
		    ocpp_errcode_name(OCPP_ERR_PROPERTY, c->version),
		    log_esc(wesc, sizeof wesc, why));
	}
	rpc_reply_error(call, OCPP_ERR_PROPERTY, why, NULL);
	return -1;
}

/* May this charger send action now? See the boot rules in csms.h. */
static bool
boot_allows(const struct conn *c, const char *action)
{
	const struct site_charger *ch = c->ch;

	if (strcmp(action, "BootNotification") == 0)
		return true;
	if (ch->boot == SITE_BOOT_ACCEPTED)
		return true;
	return ch->boot == SITE_BOOT_NONE && (ch->configured || ch->approved);
}

static void
on_auth_done(const struct auth_result *a, void *arg)
{
	struct auth_wait *w = arg, **pp;
	struct conn *c = w->c;
	struct ocpp_reply r;
	char esc[LOG_ESC_LEN];

	if (c != NULL) {
		for (pp = &c->waits; *pp; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		memset(&r, 0, sizeof r);
		r.now_ms = isotime_now_ms();
		r.has_auth = true;
		r.auth = a->status;
		r.auth_expiry_ms = a->expiry_ms;
		log_info(MOD, "authorize charger=%s token=%s status=%s via=upstream",
		    c->id, log_esc(esc, sizeof esc, w->m.u.authorize.id),
		    codec_auth_name(r.auth));
		rpc_reply(w->call, codec_of(c->version)->encode(&w->m, &r));
	}
	free(w);
}

static void
ask_upstream(struct conn *c, struct rpc_call *call,
    const struct ocpp_request_msg *m)
{
	struct auth_wait *w = calloc(1, sizeof *w);

	if (w == NULL)
		abort();
	w->c = c;
	w->call = call;
	w->m = *m;
	w->next = c->waits;
	c->waits = w;
	c->cs->authz.authorize(&m->u.authorize, on_auth_done, w,
	    c->cs->authz.arg);
}

static void
handle_request(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	struct conn *c = rpc_arg(rpc);
	const struct codec *k = codec_of(c->version);
	const char *action = rpc_call_action(call);
	struct ocpp_request_msg m;
	struct ocpp_reply r;
	struct ocpp_error err;
	struct schema_error serr;
	int64_t now = isotime_now_ms();
	int rc;

	(void)arg;
	if (c->ch == NULL) {
		/* Closing after csms_disconnect: the charger may be forgotten. */
		rpc_reply_error(call, OCPP_ERR_SECURITY, "the connection is closing",
		    NULL);
		return;
	}
	site_charger_seen(c->cs->site, c->ch, now);
	rc = schema_validate(k->schema, action, SCHEMA_REQUEST, payload, &serr);
	if (rc != SCHEMA_OK) {
		refuse(c, call, schema_errcode(rc), serr.description);
		return;
	}
	if (!boot_allows(c, action)) {
		refuse(c, call, OCPP_ERR_SECURITY, "the charger is not accepted "
		    "yet: send BootNotification first");
		return;
	}
	if (k->decode(action, payload, &m, &err) != 0) {
		refuse(c, call, err.code, err.text);
		return;
	}
	if (m.type == OCPP_REQ_NONE) {
		refuse(c, call, OCPP_ERR_NOT_SUPPORTED, "not supported by this CSMS");
		return;
	}
	if (check_bounds(c, call, &m) != 0)
		return;
	if (m.type == OCPP_REQ_AUTHORIZE && upstream_auth(c->cs)) {
		ask_upstream(c, call, &m);
		return;
	}
	memset(&r, 0, sizeof r);
	if (apply_durably(c, &m, &r, now) != 0) {
		/* The charger keeps the message and sends it again. */
		refuse_unstored(c, call);
		return;
	}
	rpc_reply(call, k->encode(&m, &r));
	if (m.type == OCPP_REQ_BOOT && r.boot == SITE_BOOT_ACCEPTED)
		discover(c);
}

/* ------------------------------------------------------------ commands */

static const char *
describe_failure(const struct rpc_response *res, char *buf, size_t len)
{
	switch (res->outcome) {
	case RPC_OUTCOME_ERROR:
		snprintf(buf, len, "CALLERROR %s: %.120s", res->code_name,
		    res->description ? res->description : "");
		return buf;
	case RPC_OUTCOME_TIMEOUT:
		return "timeout";
	case RPC_OUTCOME_CLOSED:
		return "closed";
	default:
		return "?";
	}
}

static void
on_command_done(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct pending *p = arg;
	const struct codec *k = codec_of(p->version);
	struct ocpp_command_result out;
	struct schema_error serr;
	struct ocpp_error err;
	char buf[256];

	(void)rpc;
	if (res->outcome != RPC_OUTCOME_RESULT) {
		if (p->cb)
			p->cb(NULL, describe_failure(res, buf, sizeof buf), p->arg);
	} else if (schema_validate(k->schema, res->action, SCHEMA_RESPONSE,
	    res->payload, &serr) != SCHEMA_OK) {
		snprintf(buf, sizeof buf, "invalid answer: %.200s", serr.description);
		if (p->cb)
			p->cb(NULL, buf, p->arg);
	} else if (k->decode_result(&p->cmd, res->payload, &out, &err) != 0) {
		snprintf(buf, sizeof buf, "invalid answer: %.200s", err.text);
		if (p->cb)
			p->cb(NULL, buf, p->arg);
	} else if (p->cb) {
		p->cb(&out, NULL, p->arg);
	}
	free(p);
}

/* Connections by id: a command per charger per allocation must not scan
 * a thousand connections. FNV-1a over the id. */
static size_t
conn_hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

static void
conn_hash_add(struct csms *cs, struct conn *c)
{
	size_t b;

	if (cs->nconns + 1 > cs->nhash) {
		size_t n = cs->nhash ? cs->nhash * 2 : 256;
		struct conn **h = xcalloc(n, sizeof *h);
		struct conn *last = cs->conns;

		/* Oldest first, so that the newest ends up in front. */
		while (last && last->next)
			last = last->next;
		for (struct conn *x = last; x; x = x->prev) {
			if (x->ch == NULL)
				continue;	/* let go: csms_disconnect */
			b = conn_hash(x->id) & (n - 1);
			x->hnext = h[b];
			h[b] = x;
		}
		free(cs->hash);
		cs->hash = h;
		cs->nhash = n;
	}
	b = conn_hash(c->id) & (cs->nhash - 1);
	c->hnext = cs->hash[b];
	cs->hash[b] = c;
}

static void
conn_hash_remove(struct csms *cs, struct conn *c)
{
	struct conn **pp = &cs->hash[conn_hash(c->id) & (cs->nhash - 1)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
}

static struct conn *
conn_find(struct csms *cs, const char *id)
{
	/* Newest first: after a replacement the new connection is in front. */
	for (struct conn *c = cs->hash ? cs->hash[conn_hash(id) &
	    (cs->nhash - 1)] : NULL; c; c = c->hnext)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static int
send_command(struct conn *c, const struct ocpp_command *cmd,
    csms_command_cb *cb, void *arg)
{
	const struct codec *k = codec_of(c->version);
	const char *action;
	cJSON *payload;
	struct pending *p;
	size_t need;

	if (k->encode_command(cmd, &action, &payload) != 0)
		return -1;
	need = cmd->type == OCPP_CMD_GET_CONFIG ||
	    cmd->type == OCPP_CMD_SET_CONFIG ? sizeof *cmd :
	    offsetof(struct ocpp_command, u) + sizeof cmd->u.profile;
	if ((p = calloc(1, offsetof(struct pending, cmd) + need)) == NULL)
		abort();
	p->cs = c->cs;
	memcpy(&p->cmd, cmd, need);
	p->version = c->version;
	p->cb = cb;
	p->arg = arg;
	if (rpc_call(c->rpc, action, payload, on_command_done, p) != RPC_OK) {
		free(p);
		return -1;
	}
	return 0;
}

int
csms_command(struct csms *cs, const char *charger_id,
    const struct ocpp_command *cmd, csms_command_cb *cb, void *arg)
{
	struct conn *c = conn_find(cs, charger_id);

	return c == NULL ? -1 : send_command(c, cmd, cb, arg);
}

/* ------------------------------------------------------------ discovery
 *
 * Read the charger's smart-charging and metering settings (the codec's
 * table names them: 1.6 GetConfiguration keys, 2.0.1 GetVariables of
 * SmartChargingCtrlr and SampledDataCtrlr), then, when asked for, set the
 * sampled measurands and their interval (1.6 one key per
 * ChangeConfiguration). The rpc layer queues the calls one after another.
 * A setting the charger does not know leaves the default; nothing is asked
 * twice, but a refused measurand list is asked again shorter (an AC
 * charger may not sample SoC or Voltage).
 */

/* What a discovery round is collecting. The connection may go away while
 * the calls are out: the conn pointer is checked against the live list by
 * charger id before use. */
struct discovery {
	bool retried;			/* the short measurand list was sent */
	const struct ocpp_cap_name *names; /* the charger's version's */
	struct csms *cs;
	char id[SITE_ID_LEN];
	struct site_caps caps;
	int outstanding;
};

static void
discovery_finish(struct discovery *d)
{
	struct site_charger *ch;

	if (--d->outstanding > 0)
		return;
	ch = site_charger(d->cs->site, d->id);
	if (ch != NULL) {
		site_charger_caps(d->cs->site, ch, &d->caps);
		log_info(MOD, "capabilities charger=%s smart_charging=%d rate=%s%s "
		    "stack_levels=%d periods=%d phase_switching=%d "
		    "meter_interval_s=%d", d->id, d->caps.smart_charging,
		    d->caps.rate_a ? "A" : "", d->caps.rate_w ? "W" : "",
		    d->caps.max_stack_level, d->caps.max_periods,
		    d->caps.phase_switching, d->caps.meter_interval_s);
	}
	free(d);
}

/* A configuration value the charger reported: an integer 0..1000000,
 * else dflt. */
static int
int_value(const char *s, int dflt)
{
	int64_t v;

	return num_parse_i64(s, 0, 1000000, &v) == 0 ? (int)v : dflt;
}

static void
on_caps(const struct ocpp_command_result *res, const char *error, void *arg)
{
	struct discovery *d = arg;
	struct site_caps *c = &d->caps;

	if (res == NULL) {
		log_warn(MOD, "capability discovery failed charger=%s error=%s",
		    d->id, error);
		discovery_finish(d);
		return;
	}
	for (int i = 0; i < res->nkeys; i++) {
		const char *val = res->keys[i].key.value;

		if (!res->keys[i].known || !res->keys[i].key.has_value)
			continue;
		switch (ocpp_cap_of(d->names, &res->keys[i].key)) {
		case OCPP_CAP_STACK_LEVEL:
			c->max_stack_level = int_value(val, c->max_stack_level);
			break;
		case OCPP_CAP_PERIODS:
			c->max_periods = int_value(val, c->max_periods);
			break;
		case OCPP_CAP_PROFILES:
			c->max_profiles = int_value(val, c->max_profiles);
			break;
		case OCPP_CAP_RATE_UNIT:
			ocpp_rate_units(val, &c->rate_a, &c->rate_w);
			break;
		case OCPP_CAP_PHASE_SWITCHING:
			c->phase_switching = ocpp_cap_true(val);
			break;
		case OCPP_CAP_SMART_CHARGING:
			c->smart_charging = ocpp_cap_true(val);
			break;
		case OCPP_CAP_METER_INTERVAL:
			c->meter_interval_s = int_value(val, c->meter_interval_s);
			break;
		default:		/* read for the log only, or unknown */
			break;
		}
	}
	discovery_finish(d);
}

static int send_sampling(struct conn *c, struct discovery *d,
    enum ocpp_sampling sampling, const char *interval);

static void
on_configured(const struct ocpp_command_result *res, const char *error,
    void *arg)
{
	struct discovery *d = arg;
	bool ok = res != NULL, measurands_refused = false;

	for (int i = 0; res && i < res->nkeys; i++)
		if (res->keys[i].status != OCPP_RESULT_ACCEPTED &&
		    res->keys[i].status != OCPP_RESULT_REBOOT_REQUIRED) {
			ok = false;
			if (ocpp_cap_of(d->names, &res->keys[i].key) ==
			    OCPP_CAP_MEASURANDS)
				measurands_refused = true;
		}
	if (measurands_refused && !d->retried) {
		struct conn *c = conn_find(d->cs, d->id);

		d->retried = true;
		if (c != NULL) {
			log_info(MOD, "meter sampling: asking for fewer measurands "
			    "charger=%s", d->id);
			if (send_sampling(c, d, OCPP_SAMPLE_MIN, NULL) > 0) {
				discovery_finish(d);
				return;
			}
		}
	}
	if (ok && d->cs->o.meter_interval_s > 0)
		d->caps.meter_interval_s = d->cs->o.meter_interval_s;
	else
		log_warn(MOD, "meter sampling not configured charger=%s why=%s",
		    d->id, error ? error : res && res->nkeys ?
		    ocpp_result_name(res->keys[0].status) :
		    "refused");
	discovery_finish(d);
}

/* Add cap (with value, when not NULL) to cmd, as names call it; nothing
 * when the version has no such setting. */
static void
add_cap(struct ocpp_command *cmd, const struct ocpp_cap_name *names,
    enum ocpp_cap cap, const char *value)
{
	if (ocpp_cap_key(names, cap, value,
	    &cmd->u.config.keys[cmd->u.config.nkeys]))
		cmd->u.config.nkeys++;
}

/* Ask c to sample the measurands of sampling and, when interval is not
 * NULL, at that interval (seconds): one set command, or one per setting
 * where the version sets one key at a time. Each call sent counts in
 * d->outstanding. Returns how many were sent. */
static int
send_sampling(struct conn *c, struct discovery *d, enum ocpp_sampling sampling,
    const char *interval)
{
	const struct codec *k = codec_of(c->version);
	struct ocpp_command set = { .type = OCPP_CMD_SET_CONFIG };
	int sent = 0;

	add_cap(&set, k->caps, OCPP_CAP_MEASURANDS, ocpp_measurands(sampling));
	if (k->set_one_key && interval != NULL) {
		sent += send_command(c, &set, on_configured, d) == 0;
		set.u.config.nkeys = 0;
	}
	if (interval != NULL)
		add_cap(&set, k->caps, OCPP_CAP_METER_INTERVAL, interval);
	sent += send_command(c, &set, on_configured, d) == 0;
	d->outstanding += sent;
	return sent;
}

static void
discover(struct conn *c)
{
	struct discovery *d = calloc(1, sizeof *d);
	struct ocpp_command get = { .type = OCPP_CMD_GET_CONFIG };
	const struct ocpp_cap_name *n;
	int interval = c->cs->o.meter_interval_s;
	char ival[16];

	if (d == NULL)
		abort();
	d->cs = c->cs;
	d->names = codec_of(c->version)->caps;
	snprintf(d->id, sizeof d->id, "%s", c->id);
	/* Defaults for whatever the charger does not tell. */
	d->caps.smart_charging = true;
	d->caps.rate_a = true;
	d->caps.max_stack_level = 1;
	d->caps.max_periods = 1;
	d->caps.max_profiles = 0;	/* not reported */
	for (n = d->names; n->cap != OCPP_CAP_NONE; n++)
		add_cap(&get, d->names, n->cap, NULL);
	d->outstanding = 1;
	if (send_command(c, &get, on_caps, d) != 0) {
		free(d);
		return;
	}
	if (interval <= 0)
		return;
	snprintf(ival, sizeof ival, "%d", interval);
	send_sampling(c, d, OCPP_SAMPLE_FULL, ival);
}

/* ------------------------------------------------------------ connections */

static void
on_disconnect(struct rpc *rpc, const struct ws_close_info *info, void *arg)
{
	struct conn *c = arg;
	struct csms *cs = c->cs;
	char esc[LOG_ESC_LEN], resc[LOG_ESC_LEN];

	(void)rpc;
	log_info(MOD, "charger disconnected charger=%s code=%u reason=%s",
	    log_esc(esc, sizeof esc, c->id), info->code,
	    log_esc(resc, sizeof resc, info->reason));
	conn_hash_remove(cs, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cs->nconns--;
	/* Answers still on their way upstream have nobody to go to. */
	for (struct auth_wait *w = c->waits; w; w = w->next)
		w->c = NULL;
	c->waits = NULL;
	/* A replacement connection may already be up; csms_disconnect has
	 * told the site already (c->ch NULL). */
	if (c->ch != NULL && conn_find(cs, c->id) == NULL)
		site_charger_disconnected(cs->site, c->ch, isotime_now_ms());
	free(c);
}

/* "192.0.2.7:5555" or "[2001:db8::1]:5555" into the address alone. */
static void
peer_address(const char *peer, char *out, size_t len)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon != NULL ? (size_t)(colon - peer) : strlen(peer);

	if (n >= 2 && peer[0] == '[' && peer[n - 1] == ']') {
		peer++;
		n -= 2;
	}
	snprintf(out, len, "%.*s", (int)n, peer);
}

int
csms_disconnect(struct csms *cs, const char *charger_id)
{
	struct conn *c;
	struct site_charger *ch = NULL;
	char esc[LOG_ESC_LEN];
	int n = 0;

	/* Every connection of the id (a replaced one may still be closing):
	 * out of the hash so that no command reaches it, let go of the
	 * charger so that on_disconnect does not touch it. */
	while ((c = conn_find(cs, charger_id)) != NULL) {
		conn_hash_remove(cs, c);
		if (c->ch != NULL)
			ch = c->ch;
		c->ch = NULL;
		rpc_close(c->rpc, WS_CLOSE_NORMAL, "disconnected by the installer");
		n++;
	}
	if (n == 0)
		return -1;
	log_info(MOD, "disconnecting charger=%s connections=%d",
	    log_esc(esc, sizeof esc, charger_id), n);
	if (ch != NULL && ch->connected)
		site_charger_disconnected(cs->site, ch, isotime_now_ms());
	return 0;
}

static void
on_connect(struct ws_conn *conn, void *arg)
{
	struct csms *cs = arg;
	struct conn *c;
	struct rpc_opts o;
	enum ocpp_version v;
	char esc[LOG_ESC_LEN];

	if (ocpp_version_parse(ws_conn_protocol(conn), &v) != 0) {
		ws_conn_close(conn, WS_CLOSE_PROTOCOL_ERROR, "unknown subprotocol");
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL)
		abort();
	c->cs = cs;
	c->version = v;
	snprintf(c->id, sizeof c->id, "%s", ws_conn_id(conn));
	c->ch = site_charger_connected(cs->site, c->id, v,
	    isotime_now_ms());
	{
		char addr[SITE_ADDR_LEN];

		peer_address(ws_conn_peer(conn), addr, sizeof addr);
		site_charger_address(cs->site, c->ch, addr);
	}
	memset(&o, 0, sizeof o);
	o.version = v;
	o.handlers = cs->handlers;
	o.action_known = schema_has_action;
	o.call_timeout_ms = cs->o.call_timeout_s * 1000;
	o.on_disconnect = on_disconnect;
	o.arg = c;
	o.log_module = MOD;
	c->rpc = rpc_new(cs->base, conn, &o);
	conn_hash_add(cs, c);
	c->next = cs->conns;
	if (cs->conns)
		cs->conns->prev = c;
	cs->conns = c;
	cs->nconns++;
	log_info(MOD, "charger connected charger=%s protocol=%s peer=%s tls=%s",
	    log_esc(esc, sizeof esc, c->id), ws_conn_protocol(conn),
	    ws_conn_peer(conn), ws_conn_is_tls(conn) ? "yes" : "no");
}

/* ------------------------------------------------------------ server */

static void
server_opts(struct csms *cs, const struct csms_opts *oc,
    struct ws_server_opts *o, const char **protos)
{
	size_t n = 0;

	memset(o, 0, sizeof *o);
	/* Newest first: the server picks the first the charger offers. */
	for (int v = OCPP_NVERSIONS - 1; v >= 0; v--)
		if (oc->versions[v])
			protos[n++] = ocpp_version_name((enum ocpp_version)v);
	o->host = oc->host;
	o->port = oc->port;
	o->path_prefix = "/ocpp/";
	o->protocols = protos;
	o->nprotocols = n;
	o->tls_cert = oc->tls_cert;
	o->tls_key = oc->tls_key;
	o->tls_client_ca = oc->tls_client_ca;
	o->limits.max_message_bytes = (size_t)oc->max_message_bytes;
	o->limits.max_connections = oc->max_connections;
	o->limits.handshake_timeout_ms = oc->handshake_timeout_s * 1000;
	o->limits.ping_interval_ms = oc->ping_interval_s * 1000;
	o->limits.idle_timeout_ms = oc->idle_timeout_s * 1000;
	o->auth = on_auth;
	o->on_connect = on_connect;
	o->arg = cs;
	o->log_module = MOD;
}

struct csms *
csms_new(struct event_base *base, const struct csms_opts *opts,
    struct site *site, char **cause)
{
	struct csms *cs = calloc(1, sizeof *cs);
	const char *protos[OCPP_NVERSIONS];
	struct ws_server_opts o;
	const char *host = opts->host ? opts->host : "";
	bool v6 = strchr(host, ':') != NULL;

	*cause = NULL;
	if (cs == NULL || (cs->handlers = rpc_handlers_new()) == NULL)
		abort();
	cs->base = base;
	cs->site = site;
	take_opts(cs, opts);
	for (int v = 0; v < OCPP_NVERSIONS; v++) {
		enum ocpp_version sv = v == OCPP_V16 ? OCPP_V16 :
		    OCPP_V201;
		for (size_t i = 0; i < sizeof actions / sizeof *actions; i++)
			if (schema_has_action(sv, actions[i]))
				rpc_handlers_add(cs->handlers, (enum ocpp_version)v,
				    actions[i], handle_request, cs);
	}
	server_opts(cs, opts, &o, protos);
	cs->srv = ws_server_new(base, &o, cause);
	if (cs->srv == NULL) {
		csms_free(cs);
		return NULL;
	}
	log_info(MOD, "listening addr=%s%s%s:%u", v6 ? "[" : "", host,
	    v6 ? "]" : "", ws_server_port(cs->srv));
	return cs;
}

int
csms_reconfigure(struct csms *cs, const struct csms_opts *opts)
{
	const char *protos[OCPP_NVERSIONS];
	struct ws_server_opts o;

	take_opts(cs, opts);
	server_opts(cs, opts, &o, protos);
	ws_server_reconfigure(cs->srv, &o);
	log_info(MOD, "reconfigured chargers=%zu connected=%zu", cs->nauth,
	    cs->nconns);
	return 0;
}

void
csms_set_authorizer(struct csms *cs, const struct csms_authorizer *a)
{
	cs->has_authz = a != NULL;
	if (a != NULL)
		cs->authz = *a;
}

size_t
csms_count(const struct csms *cs)
{
	return cs->nconns;
}

uint16_t
csms_port(const struct csms *cs)
{
	return ws_server_port(cs->srv);
}

void
csms_free(struct csms *cs)
{
	if (cs == NULL)
		return;
	/* Closes every connection; their on_disconnect frees the conns. */
	ws_server_free(cs->srv);
	while (cs->conns != NULL) {
		struct conn *c = cs->conns;

		cs->conns = c->next;
		for (struct auth_wait *w = c->waits; w; w = w->next)
			w->c = NULL;
		free(c);
	}
	rpc_handlers_free(cs->handlers);
	auth_free(cs->auth, cs->nauth);
	free(cs->hash);
	free(cs->bound_warned);
	free(cs);
}
