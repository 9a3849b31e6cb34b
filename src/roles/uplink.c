/*
 * uplink — see uplink.h.
 *
 * States of the link:
 *
 *   connecting --open--> booting --Accepted--> accepted
 *        ^                  |  \--Pending/Rejected--> pending/rejected
 *        |                  |          (BootNotification again after the
 *        |                  |           interval)
 *        +---- backoff <----+---- closed (from any state)
 *
 * Only "accepted" sends anything but BootNotification (and, in pending,
 * answers the upstream's requests).
 *
 * What rides on the link and is decided here: the status of the EVSEs
 * (not queued: on every accepted boot all of them, then each change), the
 * sessions' starts and ends into the outbox (a site writer, so that a
 * session's start or end and its outbox entry are one transaction), the
 * EMS limit, and the upstream's answer to a charger's Authorize. Status,
 * heartbeats, Authorize and charging limits bypass the outbox and queue
 * behind its message in flight in the rpc's own queue.
 */
#include "roles/uplink.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "ocpp/codec.h"
#include "ocpp/schema.h"
#include "ocpp/up.h"
#include "roles/csms.h"
#include "roles/uplink_auth.h"
#include "roles/uplink_down.h"
#include "roles/uplink_meter.h"
#include "roles/uplink_outbox.h"
#include "roles/uplink_profiles.h"
#include "roles/uplink_settings.h"
#include "site/site.h"
#include "site/store.h"
#include "transport/rpc.h"
#include "transport/ws.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MOD "uplink"
#define BOOT_RETRY_S 60		/* interval when the upstream gives none */
#define PROFILES_KEY "uplink.profiles"	/* in the meta table */
#define PROFILES_MAX_TEXT 65536

enum link {
	LINK_CONNECTING = 0,
	LINK_BOOTING,
	LINK_PENDING,
	LINK_REJECTED,
	LINK_ACCEPTED,
	LINK_BACKOFF,
};

static const char *const link_names[] = { "connecting", "booting", "pending",
	"rejected", "accepted", "backoff" };

struct uplink {
	struct event_base *base;
	struct uplink_opts o;
	const struct up_codec *c;	/* the upstream's version, for life */
	struct site *site;
	struct store *store;
	struct csms *csms;
	struct uplink_hooks hooks;
	struct rpc_handlers *handlers;

	struct uplink_settings *settings;
	struct uplink_auth *auth;
	struct uplink_profiles *profiles;
	struct uplink_outbox *outbox;
	struct uplink_meter *meter;
	struct uplink_down *down;

	struct ws_conn *conn;		/* connecting, not open yet */
	struct rpc *rpc;		/* open */
	enum link link;
	enum site_boot boot;
	int backoff_n;
	struct event *reconnect_ev, *boot_ev, *heartbeat_ev, *profile_ev;
	struct event *reset_ev;

	double ems_sent[3];
	bool ems_notified;
};

static void connect_now(struct uplink *ul);

/* ------------------------------------------------------------ helpers */

static double
rand_unit(void)
{
	uint32_t r;

	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		r = (uint32_t)isotime_mono_ms();
	return (double)r / 4294967296.0;
}

static void
arm(struct event *ev, double seconds)
{
	struct timeval tv;

	if (seconds < 0)
		seconds = 0;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	event_add(ev, &tv);
}

static void
notify_state(void *arg)
{
	struct uplink *ul = arg;

	if (ul->hooks.state_changed)
		ul->hooks.state_changed(ul->hooks.arg);
}

static void
set_link(struct uplink *ul, enum link l)
{
	if (ul->link == l)
		return;
	ul->link = l;
	log_info(MOD, "link state=%s", link_names[l]);
	notify_state(ul);
}

/* The status an EVSE shows upstream: its own, or Unavailable while its
 * charger is not connected. */
static enum site_status
shown_status(const struct site_evse *e)
{
	return e->charger->connected ? e->status : SITE_STATUS_UNAVAILABLE;
}

static bool
up_ok(const struct uplink *ul)
{
	return ul->rpc != NULL && ul->link == LINK_ACCEPTED;
}

/* Send a request that is not queued in the outbox. Takes payload (NULL:
 * nothing to send). */
static void
send_direct(struct uplink *ul, const char *action, cJSON *payload,
    rpc_result_fn cb, void *arg)
{
	if (payload == NULL)
		return;
	if (ul->rpc == NULL) {
		log_debug(MOD, "not sent action=%s", action);
		cJSON_Delete(payload);
	} else if (rpc_call(ul->rpc, action, payload, cb, arg) != RPC_OK) {
		log_debug(MOD, "not sent action=%s", action);
	}
}

/* ------------------------------------------------------------ status */

static void
send_status(struct uplink *ul, const struct site_evse *e)
{
	const struct site_connector *k = &e->connectors[0];
	const char *action;
	cJSON *p;

	if (!up_ok(ul) || e->number < 1)
		return;
	p = ul->c->status(e->number, 1, shown_status(e), k->error_code,
	    isotime_now_ms(), &action);
	send_direct(ul, action, p, NULL, NULL);
}

static void
send_all_status(struct uplink *ul)
{
	const char *action;
	size_t n = site_charger_count(ul->site);
	cJSON *p;

	if (!up_ok(ul))
		return;
	/* The gateway itself (1.6 connector 0; 2.0.1 has no such status). */
	p = ul->c->status(0, 0, SITE_STATUS_AVAILABLE, NULL, isotime_now_ms(),
	    &action);
	send_direct(ul, action, p, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		struct site_charger *ch = site_charger_at(ul->site, i);
		for (int e = 0; e < ch->nevses; e++)
			send_status(ul, ch->evses[e]);
	}
}

static void
on_site(const struct site_event *ev, void *arg)
{
	struct uplink *ul = arg;
	const struct site_charger *ch = ev->charger;

	switch (ev->type) {
	case SITE_EV_STATUS:
		send_status(ul, ev->evse);
		break;
	case SITE_EV_CHARGER_CONNECTED:
	case SITE_EV_CHARGER_DISCONNECTED:
		for (int e = 0; e < ch->nevses; e++)
			send_status(ul, ch->evses[e]);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------ outbox */

int
uplink_enqueue(struct uplink *ul, const struct site_session *x,
    enum ocpp_tx_kind kind, int64_t now_ms)
{
	if (uplink_outbox_add(ul->outbox, x, kind, now_ms) != 0) {
		/* The store said why, once per kind of failure; the sampler
		 * tries again at its next tick. */
		log_debug(MOD, "could not queue session=%lld: the state file "
		    "refused it", (long long)x->id);
		return -1;
	}
	notify_state(ul);
	return 0;
}

/* The writer: a session's start or end and its outbox entry are one
 * transaction. An entry is as old as the event it reports (a charger that
 * was offline itself reports late). */
static int
on_session_write(const struct site_event *ev, void *arg)
{
	struct uplink *ul = arg;
	const struct site_session *x = ev->session;
	int64_t now = isotime_now_ms(), at;
	enum ocpp_tx_kind kind;

	if (ev->type == SITE_EV_SESSION_STARTED) {
		kind = OCPP_TX_STARTED;
		at = x->start_ms;
	} else {
		kind = OCPP_TX_ENDED;
		at = x->stop_ms;
	}
	return uplink_outbox_add(ul->outbox, x, kind, at > 0 && at < now ? at :
	    now);
}

/* What the sampler queues. */
static int
meter_queue(const struct site_session *x, int64_t now_ms, void *arg)
{
	return uplink_enqueue(arg, x, OCPP_TX_UPDATED, now_ms);
}

static bool
outbox_up(void *arg)
{
	return up_ok(arg);
}

static int
outbox_send(const char *action, cJSON *payload, rpc_result_fn done,
    void *done_arg, void *arg)
{
	struct uplink *ul = arg;

	return rpc_call(ul->rpc, action, payload, done, done_arg);
}

/* ------------------------------------------------------------ boot */

static void
send_heartbeat(struct uplink *ul)
{
	const char *action;
	cJSON *p = ul->c->heartbeat(&action);

	send_direct(ul, action, p, NULL, NULL);
}

static void
arm_heartbeat(struct uplink *ul)
{
	int s = uplink_settings_get(ul->settings, UP_SET_HEARTBEAT_INTERVAL);

	if (s > 0)
		arm(ul->heartbeat_ev, s);
}

static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *ul = arg;

	(void)fd;
	(void)what;
	if (up_ok(ul))
		send_heartbeat(ul);
	arm_heartbeat(ul);
}

static void
on_boot_done(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct uplink *ul = arg;
	struct up_boot_result b;
	struct schema_error serr;
	int interval;

	(void)rpc;
	if (res->outcome == RPC_OUTCOME_CLOSED)
		return;
	if (res->outcome != RPC_OUTCOME_RESULT ||
	    schema_validate(ul->c->version, res->action, SCHEMA_RESPONSE,
	    res->payload, &serr) != SCHEMA_OK) {
		log_warn(MOD, "boot failed why=%s", res->outcome ==
		    RPC_OUTCOME_RESULT ? serr.description : res->outcome ==
		    RPC_OUTCOME_TIMEOUT ? "timeout" : res->code_name);
		arm(ul->boot_ev, BOOT_RETRY_S);
		return;
	}
	ul->c->boot_result(res->payload, &b);
	ul->boot = b.status;
	interval = b.interval_s > 0 ? b.interval_s : 0;
	log_info(MOD, "boot status=%s interval=%d", site_boot_name(b.status),
	    interval);
	switch (b.status) {
	case SITE_BOOT_ACCEPTED:
		ul->backoff_n = 0;
		set_link(ul, LINK_ACCEPTED);
		uplink_settings_boot(ul->settings, interval);
		arm_heartbeat(ul);
		send_all_status(ul);
		uplink_outbox_replay(ul->outbox);
		break;
	case SITE_BOOT_PENDING:
		set_link(ul, LINK_PENDING);
		arm(ul->boot_ev, interval > 0 ? interval : BOOT_RETRY_S);
		break;
	default:
		set_link(ul, LINK_REJECTED);
		arm(ul->boot_ev, interval > 0 ? interval : BOOT_RETRY_S);
		break;
	}
}

static void
send_boot(struct uplink *ul)
{
	const char *action;
	char serial[26];
	struct up_identity id = { "sitegate", "sitegate", serial,
		ul->o.firmware };
	cJSON *p;

	if (ul->rpc == NULL)
		return;
	snprintf(serial, sizeof serial, "%s", ul->o.site_id);
	if (ul->link != LINK_PENDING && ul->link != LINK_REJECTED)
		set_link(ul, LINK_BOOTING);
	p = ul->c->boot(&id, &action);
	if (rpc_call(ul->rpc, action, p, on_boot_done, ul) != RPC_OK)
		arm(ul->boot_ev, BOOT_RETRY_S);
}

static void
on_boot_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_boot(arg);
}

/* ------------------------------------------------------------ link */

static void
schedule_reconnect(struct uplink *ul)
{
	double d = 1.0;

	for (int i = 0; i < ul->backoff_n && d < ul->o.reconnect_max_s; i++)
		d *= 2;
	if (d > ul->o.reconnect_max_s)
		d = ul->o.reconnect_max_s;
	d = d / 2 + rand_unit() * d / 2;	/* jitter: [d/2, d] */
	ul->backoff_n++;
	set_link(ul, LINK_BACKOFF);
	log_info(MOD, "reconnect in_ms=%d", (int)(d * 1000));
	event_del(ul->heartbeat_ev);
	event_del(ul->boot_ev);
	uplink_outbox_lost(ul->outbox);
	arm(ul->reconnect_ev, d);
}

static void
on_disconnect(struct rpc *rpc, const struct ws_close_info *info, void *arg)
{
	struct uplink *ul = arg;
	char esc[LOG_ESC_LEN];

	(void)rpc;
	log_warn(MOD, "disconnected code=%u reason=%s", info->code,
	    log_esc(esc, sizeof esc, info->reason));
	ul->rpc = NULL;
	uplink_down_link_changed(ul->down);
	schedule_reconnect(ul);
}

static void
on_open(struct ws_conn *conn, void *arg)
{
	struct uplink *ul = arg;
	struct rpc_opts o;

	ul->conn = NULL;
	memset(&o, 0, sizeof o);
	o.version = ul->c->version;
	o.handlers = ul->handlers;
	o.action_known = schema_has_action;
	o.call_timeout_ms = ul->o.call_timeout_s * 1000;
	o.queue_max = 100000;
	o.max_inbound = 16;
	o.on_disconnect = on_disconnect;
	o.arg = ul;
	o.log_module = MOD;
	ul->rpc = rpc_new(ul->base, conn, &o);
	uplink_down_link_changed(ul->down);
	log_info(MOD, "connected url=%s id=%s protocol=%s tls=%s", ul->o.url,
	    ul->o.id, ws_conn_protocol(conn), ws_conn_is_tls(conn) ? "yes" :
	    "no");
	send_boot(ul);
}

static void
on_close(struct ws_conn *conn, const struct ws_close_info *info, void *arg)
{
	struct uplink *ul = arg;

	(void)conn;
	ul->conn = NULL;
	log_warn(MOD, "connect failed url=%s code=%u http_status=%d", ul->o.url,
	    info->code, info->http_status);
	schedule_reconnect(ul);
}

static void
connect_now(struct uplink *ul)
{
	struct ws_client_opts o;
	struct ws_handler h = { on_open, NULL, on_close };
	char *cause = NULL;

	memset(&o, 0, sizeof o);
	o.url = ul->o.url;
	o.id = ul->o.id;
	o.protocol = ocpp_version_name(ul->c->version);
	o.password = ul->o.password;
	o.ca_file = ul->o.ca_file;
	o.cert = ul->o.cert;
	o.key = ul->o.key;
	o.limits.ping_interval_ms = 30000;
	set_link(ul, LINK_CONNECTING);
	ul->conn = ws_connect(ul->base, &o, &h, ul, &cause);
	if (ul->conn == NULL) {
		log_error(MOD, "cannot connect: %s", cause ? cause : "?");
		free(cause);
		schedule_reconnect(ul);
	}
}

static void
on_reconnect(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_now(arg);
}

/* A reset of the gateway: the answer has had time to go. */
static void
on_reset_ev(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *ul = arg;

	(void)fd;
	(void)what;
	if (ul->rpc)
		rpc_close(ul->rpc, WS_CLOSE_NORMAL, "reset");
}

/* ------------------------------------------------------------ auth */

struct auth_ask {
	struct uplink *ul;
	char token[SITE_TOKEN_LEN];
	uplink_auth_cb *done;
	void *arg;
};

static void
on_authorize_done(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct auth_ask *a = arg;
	struct uplink *ul = a->ul;
	struct up_auth_result ar;
	struct auth_result r;
	struct schema_error serr;
	char esc[LOG_ESC_LEN];

	(void)rpc;
	if (res->outcome == RPC_OUTCOME_RESULT && schema_validate(ul->c->version,
	    res->action, SCHEMA_RESPONSE, res->payload, &serr) == SCHEMA_OK) {
		ul->c->auth_result(res->action, res->payload, &ar);
		r.status = ar.status;
		r.expiry_ms = ar.expiry_ms;
		uplink_auth_remember(ul->auth, a->token, &r, isotime_now_ms());
		log_info(MOD, "authorize token=%s status=%s via=upstream",
		    log_esc(esc, sizeof esc, a->token), codec_auth_name(r.status));
	} else {
		r = uplink_auth_decide(ul->auth, a->token, isotime_now_ms());
		log_info(MOD, "authorize token=%s status=%s via=offline",
		    log_esc(esc, sizeof esc, a->token), codec_auth_name(r.status));
	}
	a->done(&r, a->arg);
	free(a);
}

void
uplink_authorize(struct uplink *ul, const struct ocpp_id_token *t,
    uplink_auth_cb *done, void *arg)
{
	struct auth_ask *a;
	const char *action;
	struct auth_result r;
	char esc[LOG_ESC_LEN];
	cJSON *p;

	if (!up_ok(ul) || !up_token_fits(ul->c, t->id)) {
		r = uplink_auth_decide(ul->auth, t->id, isotime_now_ms());
		log_info(MOD, "authorize token=%s status=%s via=offline",
		    log_esc(esc, sizeof esc, t->id), codec_auth_name(r.status));
		done(&r, arg);
		return;
	}
	a = xcalloc(1, sizeof *a);
	a->ul = ul;
	snprintf(a->token, sizeof a->token, "%s", t->id);
	a->done = done;
	a->arg = arg;
	p = ul->c->authorize(t, &action);
	if (rpc_call(ul->rpc, action, p, on_authorize_done, a) != RPC_OK) {
		free(a);
		r = uplink_auth_decide(ul->auth, t->id, isotime_now_ms());
		done(&r, arg);
	}
}

static void
on_charger_authorize(const struct ocpp_id_token *t, csms_auth_done *done,
    void *done_arg, void *arg)
{
	uplink_authorize(arg, t, done, done_arg);
}

static struct auth_result
on_charger_local(const char *token, int64_t now, void *arg)
{
	struct uplink *ul = arg;

	return uplink_auth_decide(ul->auth, token, now);
}

/* ------------------------------------------------------------ profiles */

static void
profile_station_limit(const double *limit_a, void *arg)
{
	struct uplink *ul = arg;

	if (ul->hooks.station_limit)
		ul->hooks.station_limit(limit_a, ul->hooks.arg);
}

static void
profile_evse_cap(int number, double cap_a, void *arg)
{
	struct uplink *ul = arg;

	if (ul->hooks.evse_cap)
		ul->hooks.evse_cap(number, cap_a, ul->hooks.arg);
}

/* The limits in force now to the control loop, and the timer for the next
 * change. */
static void
apply_profiles(struct uplink *ul)
{
	int64_t now = isotime_now_ms();
	int64_t next = uplink_profiles_apply(ul->profiles, now, ul->o.voltage_v);

	event_del(ul->profile_ev);
	if (next != INT64_MAX)
		arm(ul->profile_ev, (double)(next - now) / 1000.0 + 0.001);
}

static void
on_profile_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	apply_profiles(arg);
}

static void
profiles_load(struct uplink *ul)
{
	char *buf = xcalloc(1, PROFILES_MAX_TEXT);
	int n = 0;

	if (store_meta_get(ul->store, PROFILES_KEY, buf, PROFILES_MAX_TEXT) ==
	    STORE_OK)
		n = uplink_profiles_load(ul->profiles, buf);
	free(buf);
	if (n > 0)
		log_info(MOD, "charging profiles restored count=%d", n);
}

/* ------------------------------------------------------------ down */

static void
down_trigger(enum up_trigger t, const struct site_evse *e, void *arg)
{
	struct uplink *ul = arg;

	switch (t) {
	case UP_TRIGGER_BOOT:
		send_boot(ul);
		break;
	case UP_TRIGGER_HEARTBEAT:
		send_heartbeat(ul);
		break;
	case UP_TRIGGER_STATUS:
		if (e)
			send_status(ul, e);
		else
			send_all_status(ul);
		break;
	case UP_TRIGGER_METER:
		uplink_meter_trigger(ul->meter, e);
		break;
	default:
		break;
	}
}

static void
down_reset(void *arg)
{
	struct uplink *ul = arg;

	/* Give the answer time to reach the upstream first. */
	arm(ul->reset_ev, 0.5);
}

static void
down_setting_changed(enum up_setting s, void *arg)
{
	struct uplink *ul = arg;

	switch (s) {
	case UP_SET_HEARTBEAT_INTERVAL:
		if (up_ok(ul))
			arm_heartbeat(ul);
		break;
	case UP_SET_METER_INTERVAL:
		uplink_meter_rearm(ul->meter);
		break;
	default:
		break;			/* read by the outbox when needed */
	}
}

/* The upstream's profiles survive a restart: kept in the meta table. */
static void
down_profiles_changed(void *arg)
{
	struct uplink *ul = arg;
	char *text = uplink_profiles_save(ul->profiles);

	if (store_meta_set(ul->store, PROFILES_KEY, text) != STORE_OK)
		log_error(MOD, "charging profiles not stored");
	free(text);
	apply_profiles(ul);
}

static int
down_offer(int number, double *limit_a, int *phases, void *arg)
{
	struct uplink *ul = arg;

	return ul->hooks.offer != NULL ? ul->hooks.offer(number, limit_a,
	    phases, ul->hooks.arg) : -1;
}

/* ------------------------------------------------------------ EMS */

void
uplink_ems_limit(struct uplink *ul, const double *limit_a)
{
	const char *action;
	bool moved = false;
	cJSON *p;

	if (ul->c->charging_limit == NULL)
		return;			/* the version has no such message */
	if (limit_a == NULL) {
		if (ul->ems_notified && up_ok(ul)) {
			p = ul->c->charging_limit_cleared(&action);
			send_direct(ul, action, p, NULL, NULL);
			ul->ems_notified = false;
		}
		return;
	}
	for (int i = 0; i < 3; i++) {
		double d = fabs(limit_a[i] - ul->ems_sent[i]);
		if (d >= 1.0 && d >= 0.1 * fabs(ul->ems_sent[i]))
			moved = true;
	}
	if ((ul->ems_notified && !moved) || !up_ok(ul))
		return;
	memcpy(ul->ems_sent, limit_a, sizeof ul->ems_sent);
	ul->ems_notified = true;
	p = ul->c->charging_limit(limit_a, isotime_now_ms(), &action);
	send_direct(ul, action, p, NULL, NULL);
}

/* ------------------------------------------------------------ life */

static void
take_opts(struct uplink *ul, const struct uplink_opts *o)
{
	struct uplink_settings_defaults d = { o->meter_interval_s,
		o->message_attempts, o->retry_interval_s };

	ul->o = *o;
	uplink_settings_defaults(ul->settings, &d);
	uplink_auth_configure(ul->auth, o->auth, o->offline_accept_unknown);
	uplink_outbox_set_max(ul->outbox, o->queue_max);
}

struct uplink *
uplink_new(struct event_base *base, const struct uplink_opts *opts,
    struct site *site, struct store *store, struct csms *csms,
    const struct uplink_hooks *hooks, char **cause)
{
	struct uplink *ul = xcalloc(1, sizeof *ul);
	struct csms_authorizer az = { on_charger_authorize, on_charger_local,
	    ul };
	struct uplink_settings_defaults sd = { opts->meter_interval_s,
		opts->message_attempts, opts->retry_interval_s };
	struct uplink_profiles_sink sink = { profile_station_limit,
		profile_evse_cap, ul };
	struct uplink_outbox_link ol = { outbox_up, outbox_send, notify_state,
		ul };
	struct uplink_down_env env;
	int64_t depth, oldest;

	*cause = NULL;
	ul->base = base;
	ul->site = site;
	ul->store = store;
	ul->csms = csms;
	if (hooks)
		ul->hooks = *hooks;
	/* The version is fixed for the life of the uplink: the handler
	 * table and the outbox's payloads are written for it. */
	ul->c = up_codec(opts->version);
	ul->settings = uplink_settings_new(store, &sd);
	ul->auth = uplink_auth_new(store);
	ul->profiles = uplink_profiles_new(&sink);
	ul->outbox = uplink_outbox_new(base, store, ul->c, ul->settings, &ol,
	    opts->queue_max);
	ul->meter = uplink_meter_new(base, site, store, ul->settings,
	    meter_queue, ul);
	take_opts(ul, opts);
	env = (struct uplink_down_env){ site, csms, store, ul->c, ul->auth,
		ul->settings, ul->profiles, down_trigger, down_reset,
		down_setting_changed, down_profiles_changed, down_offer, ul };
	ul->down = uplink_down_new(&env);
	if ((ul->handlers = rpc_handlers_new()) == NULL)
		abort();
	uplink_down_register(ul->down, ul->handlers);
	ul->reconnect_ev = evtimer_new(base, on_reconnect, ul);
	ul->boot_ev = evtimer_new(base, on_boot_ev, ul);
	ul->heartbeat_ev = evtimer_new(base, on_heartbeat, ul);
	ul->profile_ev = evtimer_new(base, on_profile_ev, ul);
	ul->reset_ev = evtimer_new(base, on_reset_ev, ul);
	if (!ul->reset_ev || !ul->reconnect_ev || !ul->boot_ev ||
	    !ul->heartbeat_ev || !ul->profile_ev)
		abort();
	if (site_subscribe(site, SITE_EV_STATUS | SITE_EV_CHARGER_CONNECTED |
	    SITE_EV_CHARGER_DISCONNECTED, on_site, ul) != 0 ||
	    site_subscribe_writer(site, SITE_EV_SESSION_STARTED |
	    SITE_EV_SESSION_ENDED, on_session_write, ul) != 0) {
		*cause = xstrdup("too many site subscribers");
		uplink_free(ul);
		return NULL;
	}
	csms_set_authorizer(csms, &az);
	profiles_load(ul);
	apply_profiles(ul);
	uplink_meter_rearm(ul->meter);
	uplink_outbox_stats(ul->outbox, &depth, &oldest);
	log_info(MOD, "starting url=%s id=%s version=%s outbox=%lld",
	    ul->o.url, ul->o.id, ocpp_version_name(ul->c->version),
	    (long long)depth);
	connect_now(ul);
	return ul;
}

static bool
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

int
uplink_reconfigure(struct uplink *ul, const struct uplink_opts *n)
{
	const struct uplink_opts *o = &ul->o;
	bool relink = !same(o->url, n->url) || !same(o->id, n->id) ||
	    o->version != n->version || !same(o->password, n->password) ||
	    !same(o->ca_file, n->ca_file) || !same(o->cert, n->cert) ||
	    !same(o->key, n->key);

	if (relink && o->version != n->version) {
		/* The handlers are per version: take the new table. */
		log_warn(MOD, "upstream.version changed: takes effect after a "
		    "restart");
		relink = false;
	}
	take_opts(ul, n);
	if (relink) {
		log_info(MOD, "upstream changed: reconnecting");
		if (ul->rpc)
			rpc_close(ul->rpc, WS_CLOSE_NORMAL, "reconfigured");
	}
	return 0;
}

void
uplink_state(struct uplink *ul, struct uplink_state *st)
{
	int64_t oldest;

	st->link = link_names[ul->link];
	st->connected = ul->rpc != NULL;
	st->boot = site_boot_name(ul->boot);
	uplink_outbox_stats(ul->outbox, &st->depth, &oldest);
	st->oldest_age_ms = st->depth > 0 && oldest > 0 ?
	    isotime_now_ms() - oldest : 0;
}

void
uplink_free(struct uplink *ul)
{
	if (ul == NULL)
		return;
	uplink_down_free(ul->down);
	csms_set_authorizer(ul->csms, NULL);
	site_unsubscribe(ul->site, on_site, ul);
	site_unsubscribe_writer(ul->site, on_session_write, ul);
	/* rpc_free completes our calls with CLOSED: nothing they do touches
	 * what is freed below. */
	if (ul->rpc) {
		struct rpc *r = ul->rpc;
		ul->rpc = NULL;
		rpc_free(r);
	}
	if (ul->conn)
		ws_conn_free(ul->conn);
	event_free(ul->reconnect_ev);
	event_free(ul->boot_ev);
	event_free(ul->heartbeat_ev);
	event_free(ul->profile_ev);
	event_free(ul->reset_ev);
	rpc_handlers_free(ul->handlers);
	uplink_meter_free(ul->meter);
	uplink_outbox_free(ul->outbox);
	uplink_profiles_free(ul->profiles);
	uplink_auth_free(ul->auth);
	uplink_settings_free(ul->settings);
	free(ul);
}
