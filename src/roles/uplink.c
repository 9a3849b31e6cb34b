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
 * The outbox is written by a site writer (site_subscribe_writer): a
 * session's start or end and its outbox entry are one transaction, so no
 * crash can leave one without the other. The pump never runs inside that
 * transaction (it is scheduled, not called): a message leaves only once
 * its entry is committed.
 *
 * The outbox pump keeps at most one outbox message in flight: the head of
 * the table (lowest seq). Its answer deletes it (one durable commit, with
 * the 1.6 transaction id of a StartTransaction in the same commit), then
 * the next one goes. When that commit fails (a full disk) the answer is
 * kept and recording it is tried again after retry_interval_s: the message
 * is not sent again while the gateway runs. Status, heartbeats, Authorize
 * and charging limits bypass the outbox and queue behind the in-flight
 * message in the rpc's own queue.
 *
 * Down commands routed to a charger wait for its answer; the context of
 * each (struct down) remembers the connection generation so that an answer
 * arriving after the upstream connection changed is dropped, not sent on a
 * freed call handle.
 */
#include "roles/uplink.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "ocpp/schema.h"
#include "ocpp/up.h"
#include "roles/csms.h"
#include "site/site.h"
#include "site/store.h"
#include "transport/rpc.h"
#include "transport/ws.h"
#include "core/gateway.h"
#include "util/isotime.h"
#include "util/json.h"
#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"

#define MOD "uplink"
#define BOOT_RETRY_S 60		/* interval when the upstream gives none */
#define MAX_PROFILES 64		/* EVSE caps with a schedule */

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

/* A charging profile from the upstream, evaluated over time. */
struct prof {
	bool used;
	int number;			/* 0: the station */
	struct ocpp_profile p;
	int64_t start_ms;		/* the schedule's time zero */
};

struct down;

struct uplink {
	struct event_base *base;
	const struct config *cfg;
	const struct config_upstream *up;
	const struct up_codec *c;	/* the upstream's version */
	enum ocpp_version v;
	struct site *site;
	struct store *store;
	struct csms *csms;
	struct uplink_hooks hooks;
	struct rpc_handlers *handlers;

	struct ws_conn *conn;		/* connecting, not open yet */
	struct rpc *rpc;		/* open */
	unsigned gen;			/* connection generation */
	enum link link;
	enum site_boot boot;
	int backoff_n;
	int heartbeat_s;
	struct event *reconnect_ev, *boot_ev, *heartbeat_ev, *meter_ev;
	struct event *retry_ev, *pump_ev, *profile_ev, *reset_ev;

	/* outbox */
	bool inflight;
	int64_t inflight_seq;
	int64_t inflight_session;
	int inflight_kind;
	char inflight_action[48];
	int inflight_attempts;
	bool retry_wait;
	bool ack_pending;		/* answered, the answer not recorded */
	char ack_tx_id[SITE_TOKEN_LEN];	/* its 1.6 transaction id, or "" */
	int64_t depth;
	int64_t oldest_ms;

	/* settings the upstream may change (persisted in the meta table) */
	int meter_interval_s;
	int attempts;
	int retry_interval_s;
	int list_version;

	/* per EVSE number: the session and the time of the reading last
	 * queued for it (store_uplink_meter_get after a restart) */
	struct meter_sent { int64_t session, ms; } *meter_sent;
	int nmeter;

	struct prof profs[MAX_PROFILES];

	double ems_sent[3];
	bool ems_notified;

	struct down *downs;		/* waiting for chargers */
};

/* A down command waiting for chargers' answers. */
struct down {
	struct uplink *ul;		/* NULL: the uplink is gone */
	struct down *next;
	struct rpc_call *call;
	unsigned gen;
	struct up_down d;
	char action[48];
	int outstanding;
	int yes, no, scheduled;
	enum ocpp_result status;	/* a single charger's answer */
};

static void pump(struct uplink *ul);
static void fan_out(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d, struct ocpp_command *cmd);
static void connect_now(struct uplink *ul);
static void send_boot(struct uplink *ul);
static void send_all_status(struct uplink *ul);

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
notify_state(struct uplink *ul)
{
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

static void
refresh_stats(struct uplink *ul)
{
	store_outbox_stats(ul->store, &ul->depth, &ul->oldest_ms);
}

/* A setting kept in the meta table: 0 .. a week, else dflt. */
static int
meta_int(struct uplink *ul, const char *key, int dflt)
{
	char buf[32];
	int64_t v;

	if (store_meta_get(ul->store, key, buf, sizeof buf) != STORE_OK ||
	    num_parse_i64(buf, 0, 86400 * 7, &v) != 0)
		return dflt;
	return (int)v;
}

static void
meta_put_int(struct uplink *ul, const char *key, int v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%d", v);
	store_meta_set(ul->store, key, buf);
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
	if (ul->rpc == NULL || rpc_call(ul->rpc, action, payload, cb, arg) !=
	    RPC_OK)
		log_debug(MOD, "not sent action=%s", action);
}

/* ------------------------------------------------------------ status */

static void
send_status(struct uplink *ul, const struct site_evse *e)
{
	const char *action;
	const struct site_connector *k = &e->connectors[0];

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

/* ------------------------------------------------------------ outbox */

/* Queue a message for x; inside a site unit when one is open. The pump
 * is scheduled, never called: the entry may not be committed yet. */
static int
enqueue(struct uplink *ul, const struct site_session *x,
    enum ocpp_tx_kind kind, int64_t now_ms)
{
	struct store_outbox_row row;
	const char *action;
	const struct site_evse *e = x->evse;
	cJSON *p;
	int dropped = 0, rc;

	p = ul->c->tx(kind, x, e->number, x->connector,
	    kind == OCPP_TX_UPDATED ? &e->reading : NULL, !up_ok(ul), now_ms,
	    &action);
	memset(&row, 0, sizeof row);
	row.kind = kind == OCPP_TX_STARTED ? STORE_OB_START :
	    kind == OCPP_TX_ENDED ? STORE_OB_STOP : STORE_OB_METER;
	row.session_id = x->id;
	row.version = ul->v;
	snprintf(row.action, sizeof row.action, "%s", action);
	row.payload = json_print(p, NULL);
	row.created_ms = now_ms;
	if (kind == OCPP_TX_UPDATED)
		row.reading_ms = e->reading.ts_ms;
	cJSON_Delete(p);
	if (row.payload == NULL)
		abort();
	rc = store_outbox_add(ul->store, &row, ul->up->queue_max,
	    ul->inflight ? ul->inflight_seq : 0, &dropped);
	free(row.payload);
	if (rc != STORE_OK) {
		log_debug(MOD, "outbox write failed session=%lld action=%s",
		    (long long)x->id, action);
		return -1;
	}
	if (dropped)
		log_warn(MOD, "outbox full max=%d: dropped a meter value",
		    ul->up->queue_max);
	refresh_stats(ul);
	log_debug(MOD, "queued seq=%lld action=%s session=%lld depth=%lld",
	    (long long)row.seq, action, (long long)x->id, (long long)ul->depth);
	event_active(ul->pump_ev, EV_TIMEOUT, 1);
	return 0;
}

int
uplink_enqueue(struct uplink *ul, const struct site_session *x,
    enum ocpp_tx_kind kind, int64_t now_ms)
{
	if (enqueue(ul, x, kind, now_ms) != 0) {
		/* The store said why, once per kind of failure; the sampler
		 * tries again at its next tick. */
		log_debug(MOD, "could not queue session=%lld: the state file "
		    "refused it", (long long)x->id);
		return -1;
	}
	notify_state(ul);
	return 0;
}

/* The pump's turn: the entries queued since are committed by now. */
static void
on_pump_ev(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *ul = arg;

	(void)fd;
	(void)what;
	refresh_stats(ul);
	notify_state(ul);
	pump(ul);
}

/* Drop entry seq. Returns 0, or -1 when the state file refused: then the
 * pump waits retry_interval_s instead of meeting the entry again at once. */
static int
outbox_drop(struct uplink *ul, int64_t seq, const char *why)
{
	if (store_outbox_ack(ul->store, seq, 0, NULL) != STORE_OK) {
		ul->retry_wait = true;
		arm(ul->retry_ev, ul->retry_interval_s);
		return -1;
	}
	log_warn(MOD, "outbox message dropped seq=%lld why=%s", (long long)seq,
	    why);
	refresh_stats(ul);
	return 0;
}

static void on_outbox_done(struct rpc *rpc, const struct rpc_response *res,
    void *arg);

static void
pump(struct uplink *ul)
{
	struct store_outbox_row row;
	char txid[SITE_TOKEN_LEN];
	cJSON *p;
	int rc;

	while (up_ok(ul) && !ul->inflight && !ul->retry_wait) {
		rc = store_outbox_next(ul->store, 0, &row);
		if (rc != STORE_OK)
			return;
		if (row.version != (int)ul->v) {
			free(row.payload);
			if (outbox_drop(ul, row.seq, "written for the other OCPP "
			    "version") != 0)
				return;
			continue;
		}
		p = cJSON_Parse(row.payload);
		free(row.payload);
		if (p == NULL) {
			if (outbox_drop(ul, row.seq, "unreadable payload") != 0)
				return;
			continue;
		}
		rc = row.session_id != 0 && ul->c->upstream_tx_ids ?
		    store_uplink_tx_get(ul->store, row.session_id, txid,
		    sizeof txid) : STORE_ERR_NOTFOUND;
		if (ul->c->patch_tx(p, rc == STORE_OK ? txid : NULL,
		    row.tx_seq) != 0) {
			cJSON_Delete(p);
			if (outbox_drop(ul, row.seq, "the upstream never gave "
			    "this session a transaction id") != 0)
				return;
			continue;
		}
		ul->inflight = true;
		ul->inflight_seq = row.seq;
		ul->inflight_session = row.session_id;
		ul->inflight_kind = row.kind;
		snprintf(ul->inflight_action, sizeof ul->inflight_action, "%s",
		    row.action);
		ul->inflight_attempts = row.attempts;
		if (rpc_call(ul->rpc, row.action, p, on_outbox_done, ul) !=
		    RPC_OK) {
			ul->inflight = false;
			return;
		}
		log_debug(MOD, "sending seq=%lld action=%s", (long long)row.seq,
		    row.action);
	}
}

/* The in-flight message was answered: delete its entry, with the 1.6
 * transaction id the answer gave, in one commit. When the state file
 * refuses (a full disk), the answer is kept and recorded again after
 * retry_interval_s; nothing is sent meanwhile, so the upstream does not
 * hear the message again. */
static void
record_answer(struct uplink *ul)
{
	int64_t seq = ul->inflight_seq;
	const char *tx = ul->ack_tx_id[0] ? ul->ack_tx_id : NULL;

	if (store_outbox_ack(ul->store, seq, tx ? ul->inflight_session : 0, tx) !=
	    STORE_OK) {
		if (!ul->retry_wait)
			log_warn(MOD, "cannot record the answer seq=%lld: the state "
			    "file refused it; trying again in %d s", (long long)seq,
			    ul->retry_interval_s);
		ul->retry_wait = true;
		arm(ul->retry_ev, ul->retry_interval_s);
		return;
	}
	ul->ack_pending = false;
	ul->retry_wait = false;
	if (tx)
		log_info(MOD, "transaction mapped session=%lld upstream_tx=%s",
		    (long long)ul->inflight_session, tx);
	log_info(MOD, "acknowledged seq=%lld action=%s", (long long)seq,
	    ul->inflight_action);
	refresh_stats(ul);
	notify_state(ul);
	pump(ul);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *ul = arg;

	(void)fd;
	(void)what;
	if (ul->ack_pending) {
		record_answer(ul);
		return;
	}
	ul->retry_wait = false;
	pump(ul);
}

static void
on_outbox_done(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct uplink *ul = arg;
	struct schema_error serr;
	struct up_auth_result a;
	int64_t seq = ul->inflight_seq;

	(void)rpc;
	ul->inflight = false;
	switch (res->outcome) {
	case RPC_OUTCOME_RESULT:
		if (schema_validate(ul->v, res->action, SCHEMA_RESPONSE,
		    res->payload, &serr) != SCHEMA_OK)
			log_warn(MOD, "invalid answer kept action=%s why=%s",
			    res->action, serr.description);
		ul->c->auth_result(res->action, res->payload, &a);
		ul->ack_tx_id[0] = '\0';
		/* The id the upstream gave a start (the codec reads one only
		 * where the version has the upstream issue them). */
		if (ul->inflight_kind == STORE_OB_START &&
		    strcmp(a.tx_id, "0") != 0 && a.tx_id[0] != '\0')
			snprintf(ul->ack_tx_id, sizeof ul->ack_tx_id, "%s", a.tx_id);
		if (a.has_auth && a.status != OCPP_AUTH_ACCEPTED)
			log_warn(MOD, "upstream refused the token of session=%lld "
			    "status=%d", (long long)ul->inflight_session, a.status);
		ul->ack_pending = true;
		record_answer(ul);
		return;
	case RPC_OUTCOME_ERROR:
	case RPC_OUTCOME_TIMEOUT:
		ul->inflight_attempts++;
		log_warn(MOD, "outbox message failed seq=%lld action=%s attempt=%d "
		    "of %d why=%s", (long long)seq, res->action,
		    ul->inflight_attempts, ul->attempts,
		    res->outcome == RPC_OUTCOME_TIMEOUT ? "timeout" : res->code_name);
		if (ul->inflight_attempts >= ul->attempts) {
			outbox_drop(ul, seq, "attempts used up");
			notify_state(ul);
			pump(ul);
			return;
		}
		store_outbox_attempts(ul->store, seq, ul->inflight_attempts);
		ul->retry_wait = true;
		arm(ul->retry_ev, (double)ul->retry_interval_s *
		    ul->inflight_attempts);
		return;
	case RPC_OUTCOME_CLOSED:
		/* Sent again after the reconnect. */
		return;
	}
}

/* The time of the reading last queued for EVSE number num's session x:
 * remembered per EVSE, read from the state file when the session is new
 * to this process (a restart neither repeats nor skips a reading). NULL
 * when the state file cannot say. */
static struct meter_sent *
meter_sent(struct uplink *ul, int num, const struct site_session *x)
{
	struct meter_sent *m;

	if (num >= ul->nmeter) {
		int nn = num + 16;

		ul->meter_sent = xrealloc(ul->meter_sent, (size_t)nn *
		    sizeof *ul->meter_sent);
		memset(ul->meter_sent + ul->nmeter, 0, (size_t)(nn - ul->nmeter) *
		    sizeof *ul->meter_sent);
		ul->nmeter = nn;
	}
	m = &ul->meter_sent[num];
	if (m->session != x->id) {
		if (store_uplink_meter_get(ul->store, x->id, &m->ms) != STORE_OK)
			return NULL;	/* unknown: asked again next time */
		m->session = x->id;
	}
	return m;
}

/* Periodic meter values of every EVSE with an open session and a newer
 * reading than the last one queued. */
static void
on_meter(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *ul = arg;
	size_t n = site_charger_count(ul->site);
	int64_t now = isotime_now_ms();

	(void)fd;
	(void)what;
	for (size_t i = 0; i < n; i++) {
		struct site_charger *ch = site_charger_at(ul->site, i);
		for (int k = 0; k < ch->nevses; k++) {
			struct site_evse *e = ch->evses[k];
			struct meter_sent *m;

			if (e->session == NULL || !e->session->open ||
			    e->reading.ts_ms == 0 || e->number < 1)
				continue;
			m = meter_sent(ul, e->number, e->session);
			if (m == NULL || e->reading.ts_ms <= m->ms)
				continue;
			if (uplink_enqueue(ul, e->session, OCPP_TX_UPDATED, now) == 0)
				m->ms = e->reading.ts_ms;
		}
	}
	if (ul->meter_interval_s > 0)
		arm(ul->meter_ev, ul->meter_interval_s);
}

/* The writer: a session's start or end and its outbox entry are one
 * transaction (see the design note). An entry is as old as the event it
 * reports (a charger that was offline itself reports late). */
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
	return enqueue(ul, x, kind, at > 0 && at < now ? at : now);
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

/* ------------------------------------------------------------ boot */

static void
send_heartbeat(struct uplink *ul)
{
	const char *action;
	cJSON *p = ul->c->heartbeat(&action);

	send_direct(ul, action, p, NULL, NULL);
}

static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *ul = arg;

	(void)fd;
	(void)what;
	if (up_ok(ul))
		send_heartbeat(ul);
	if (ul->heartbeat_s > 0)
		arm(ul->heartbeat_ev, ul->heartbeat_s);
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
	    schema_validate(ul->v, res->action, SCHEMA_RESPONSE,
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
		ul->heartbeat_s = interval > 0 ? interval :
		    meta_int(ul, "uplink.HeartbeatInterval", 300);
		arm(ul->heartbeat_ev, ul->heartbeat_s);
		send_all_status(ul);
		refresh_stats(ul);
		log_info(MOD, "replaying outbox depth=%lld", (long long)ul->depth);
		pump(ul);
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
		SITEGATE_VERSION };
	cJSON *p;

	if (ul->rpc == NULL)
		return;
	snprintf(serial, sizeof serial, "%s", ul->cfg->site_id);
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

	for (int i = 0; i < ul->backoff_n && d < ul->up->reconnect_max_s; i++)
		d *= 2;
	if (d > ul->up->reconnect_max_s)
		d = ul->up->reconnect_max_s;
	d = d / 2 + rand_unit() * d / 2;	/* jitter: [d/2, d] */
	ul->backoff_n++;
	set_link(ul, LINK_BACKOFF);
	log_info(MOD, "reconnect in_ms=%d", (int)(d * 1000));
	event_del(ul->heartbeat_ev);
	event_del(ul->boot_ev);
	if (!ul->ack_pending) {
		/* An answer still to be recorded keeps its timer: the
		 * message must not go out again after the reconnect. */
		event_del(ul->retry_ev);
		ul->retry_wait = false;
	}
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
	ul->inflight = false;
	ul->gen++;
	schedule_reconnect(ul);
}

static void handle_down(struct rpc *rpc, struct rpc_call *call,
    const cJSON *payload, void *arg);

static void
on_open(struct ws_conn *conn, void *arg)
{
	struct uplink *ul = arg;
	struct rpc_opts o;

	ul->conn = NULL;
	memset(&o, 0, sizeof o);
	o.version = ul->v;
	o.handlers = ul->handlers;
	o.action_known = schema_has_action;
	o.call_timeout_ms = ul->up->call_timeout_s * 1000;
	o.queue_max = 100000;
	o.max_inbound = 16;
	o.on_disconnect = on_disconnect;
	o.arg = ul;
	o.log_module = MOD;
	ul->rpc = rpc_new(ul->base, conn, &o);
	ul->gen++;
	log_info(MOD, "connected url=%s id=%s protocol=%s tls=%s", ul->up->url,
	    ul->up->id, ws_conn_protocol(conn), ws_conn_is_tls(conn) ? "yes" :
	    "no");
	send_boot(ul);
}

static void
on_close(struct ws_conn *conn, const struct ws_close_info *info, void *arg)
{
	struct uplink *ul = arg;

	(void)conn;
	ul->conn = NULL;
	log_warn(MOD, "connect failed url=%s code=%u http_status=%d", ul->up->url,
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
	o.url = ul->up->url;
	o.id = ul->up->id;
	o.protocol = ocpp_version_name(ul->v);
	o.password = ul->up->password;
	o.ca_file = ul->up->ca_file;
	o.cert = ul->up->cert;
	o.key = ul->up->key;
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

/* ------------------------------------------------------------ auth */

static bool
token_decision(int status, int64_t expiry_ms, int64_t now,
    struct auth_result *r)
{
	r->status = (enum ocpp_auth_status)status;
	r->expiry_ms = expiry_ms;
	if (r->status == OCPP_AUTH_ACCEPTED && expiry_ms != 0 && expiry_ms <= now)
		r->status = OCPP_AUTH_EXPIRED;
	return true;
}

struct auth_result
uplink_auth_offline(struct uplink *ul, const char *token, int64_t now)
{
	struct auth_opts local = ul->cfg->auth;
	struct auth_result r;
	int64_t exp;
	int st;

	/* 1. the local list of the configuration */
	local.mode = AUTH_MODE_LOCAL_LIST;
	r = auth_decide(&local, token, now);
	if (r.status != OCPP_AUTH_UNKNOWN)
		return r;
	/* 2. the list the upstream sent (SendLocalList) */
	if (store_local_list_get(ul->store, token, &st, &exp) == STORE_OK &&
	    token_decision(st, exp, now, &r))
		return r;
	/* 3. the cache of the upstream's answers (an expired entry is not
	 * an answer any more) */
	if (store_auth_cache_get(ul->store, token, &st, &exp) == STORE_OK &&
	    (exp == 0 || exp > now))
		return (struct auth_result){ (enum ocpp_auth_status)st, exp };
	/* 4. the offline policy */
	r.status = ul->up->offline_accept_unknown ? OCPP_AUTH_ACCEPTED :
	    OCPP_AUTH_UNKNOWN;
	r.expiry_ms = 0;
	return r;
}

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
	if (res->outcome == RPC_OUTCOME_RESULT && schema_validate(ul->v,
	    res->action, SCHEMA_RESPONSE, res->payload, &serr) == SCHEMA_OK) {
		ul->c->auth_result(res->action, res->payload, &ar);
		r.status = ar.status;
		r.expiry_ms = ar.expiry_ms;
		store_auth_cache_put(ul->store, a->token, (int)ar.status,
		    ar.expiry_ms, isotime_now_ms());
		log_info(MOD, "authorize token=%s status=%d via=upstream",
		    log_esc(esc, sizeof esc, a->token), r.status);
	} else {
		r = uplink_auth_offline(ul, a->token, isotime_now_ms());
		log_info(MOD, "authorize token=%s status=%d via=offline",
		    log_esc(esc, sizeof esc, a->token), r.status);
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
		r = uplink_auth_offline(ul, t->id, isotime_now_ms());
		log_info(MOD, "authorize token=%s status=%d via=offline",
		    log_esc(esc, sizeof esc, t->id), r.status);
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
		r = uplink_auth_offline(ul, t->id, isotime_now_ms());
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

	return uplink_auth_offline(ul, token, now);
}

/* ------------------------------------------------------------ profiles */

static int
profile_phases(const struct ocpp_period *pe)
{
	return pe->phases > 0 ? pe->phases : 3;
}

/* The limit in A of profile x at now, or < 0 when none is in force; *next
 * gets the time of the next change (INT64_MAX when none). */
static double
profile_at(const struct uplink *ul, const struct prof *x, int64_t now,
    int64_t *next)
{
	const struct ocpp_profile *p = &x->p;
	int64_t t = now - x->start_ms;
	int idx = -1;
	double lim;

	*next = INT64_MAX;
	if (p->valid_to_ms > 0 && now >= p->valid_to_ms)
		return -1;
	if (p->valid_to_ms > 0)
		*next = p->valid_to_ms;
	if (t < 0) {
		*next = x->start_ms;
		return -1;
	}
	if (p->duration_s > 0) {
		int64_t end = x->start_ms + (int64_t)p->duration_s * 1000;
		if (now >= end)
			return -1;
		if (end < *next)
			*next = end;
	}
	for (int i = 0; i < p->nperiods; i++) {
		int64_t at = x->start_ms + (int64_t)p->periods[i].start_s * 1000;
		if (at <= now)
			idx = i;
		else if (at < *next) {
			*next = at;
			break;
		}
	}
	if (idx < 0)
		return -1;
	lim = p->periods[idx].limit;
	if (p->unit == OCPP_UNIT_W)
		lim /= ul->cfg->site.voltage_v * profile_phases(&p->periods[idx]);
	return lim < 0 ? 0 : lim;
}

static void
apply_profiles(struct uplink *ul)
{
	int64_t now = isotime_now_ms(), next_all = INT64_MAX, next;
	double station = -1;
	int has_station = 0;

	for (int i = 0; i < MAX_PROFILES; i++) {
		struct prof *x = &ul->profs[i];
		double lim;

		if (!x->used)
			continue;
		lim = profile_at(ul, x, now, &next);
		if (next < next_all)
			next_all = next;
		if (lim < 0 && next == INT64_MAX) {
			/* Over for good. */
			if (x->number > 0 && ul->hooks.evse_cap)
				ul->hooks.evse_cap(x->number, -1, ul->hooks.arg);
			x->used = false;
			continue;
		}
		if (x->number == 0) {
			has_station = 1;
			if (lim >= 0 && (station < 0 || lim < station))
				station = lim;
		} else if (ul->hooks.evse_cap) {
			ul->hooks.evse_cap(x->number, lim, ul->hooks.arg);
		}
	}
	if (ul->hooks.station_limit) {
		double l[3] = { station, station, station };
		ul->hooks.station_limit(has_station && station >= 0 ? l : NULL,
		    ul->hooks.arg);
	}
	event_del(ul->profile_ev);
	if (next_all != INT64_MAX)
		arm(ul->profile_ev, (double)(next_all - now) / 1000.0 + 0.001);
}


/* The upstream's profiles survive a restart (OCPP asks charge points to
 * keep them): kept as one JSON document in the meta table. */
static void
profiles_save(struct uplink *ul)
{
	cJSON *arr = cJSON_CreateArray();
	char *text;

	for (int i = 0; i < MAX_PROFILES; i++) {
		const struct prof *x = &ul->profs[i];
		cJSON *o, *pe;

		if (!x->used)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "n", x->number);
		cJSON_AddNumberToObject(o, "id", x->p.id);
		cJSON_AddNumberToObject(o, "sl", x->p.stack_level);
		cJSON_AddNumberToObject(o, "pu", x->p.purpose);
		cJSON_AddNumberToObject(o, "unit", x->p.unit);
		cJSON_AddNumberToObject(o, "start", (double)x->start_ms);
		cJSON_AddNumberToObject(o, "vto", (double)x->p.valid_to_ms);
		cJSON_AddNumberToObject(o, "dur", x->p.duration_s);
		pe = cJSON_AddArrayToObject(o, "periods");
		for (int k = 0; k < x->p.nperiods; k++) {
			cJSON *t = cJSON_CreateArray();
			cJSON_AddItemToArray(t, cJSON_CreateNumber(x->p.periods[k].start_s));
			cJSON_AddItemToArray(t, cJSON_CreateNumber(x->p.periods[k].limit));
			cJSON_AddItemToArray(t, cJSON_CreateNumber(x->p.periods[k].phases));
			cJSON_AddItemToArray(pe, t);
		}
		cJSON_AddItemToArray(arr, o);
	}
	text = json_print(arr, NULL);
	cJSON_Delete(arr);
	if (text == NULL)
		abort();
	if (store_meta_set(ul->store, "uplink.profiles", text) != STORE_OK)
		log_error(MOD, "charging profiles not stored");
	free(text);
}

static void
profiles_load(struct uplink *ul)
{
	char *buf = xcalloc(1, 65536);
	cJSON *arr, *o;
	int i = 0;

	if (store_meta_get(ul->store, "uplink.profiles", buf, 65536) != STORE_OK ||
	    (arr = cJSON_Parse(buf)) == NULL) {
		free(buf);
		return;
	}
	free(buf);
	cJSON_ArrayForEach(o, arr) {
		struct prof *x;
		const cJSON *pe, *t;

		if (i >= MAX_PROFILES)
			break;
		x = &ul->profs[i++];
		memset(x, 0, sizeof *x);
		x->used = true;
		x->number = json_int(o, "n", 0);
		x->p.id = json_int(o, "id", 0);
		x->p.stack_level = json_int(o, "sl", 0);
		x->p.purpose = (enum ocpp_purpose)json_int(o, "pu", 0);
		x->p.unit = (enum ocpp_unit)json_int(o, "unit", 0);
		x->start_ms = (int64_t)json_num(o, "start", 0);
		x->p.valid_to_ms = (int64_t)json_num(o, "vto", 0);
		x->p.duration_s = json_int(o, "dur", 0);
		pe = cJSON_GetObjectItemCaseSensitive(o, "periods");
		cJSON_ArrayForEach(t, pe) {
			struct ocpp_period *q;
			if (x->p.nperiods >= OCPP_MAX_PERIODS ||
			    cJSON_GetArraySize(t) != 3)
				break;
			q = &x->p.periods[x->p.nperiods++];
			q->start_s = cJSON_GetArrayItem(t, 0)->valueint;
			q->limit = cJSON_GetArrayItem(t, 1)->valuedouble;
			q->phases = cJSON_GetArrayItem(t, 2)->valueint;
		}
		if (x->p.nperiods == 0)
			x->used = false;
	}
	cJSON_Delete(arr);
	if (i > 0)
		log_info(MOD, "charging profiles restored count=%d", i);
}

static void
on_reset_ev(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *ul = arg;

	(void)fd;
	(void)what;
	if (ul->rpc)
		rpc_close(ul->rpc, WS_CLOSE_NORMAL, "reset");
}

static void
on_profile_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	apply_profiles(arg);
}

/* ------------------------------------------------------------ down */

static struct site_evse *
evse_of(struct uplink *ul, int number)
{
	return number >= 1 ? site_evse_by_number(ul->site, number) : NULL;
}

static struct down *
down_new(struct uplink *ul, struct rpc_call *call, const struct up_down *d)
{
	struct down *w = xcalloc(1, sizeof *w);

	w->ul = ul;
	w->call = call;
	w->gen = ul->gen;
	w->d = *d;
	snprintf(w->action, sizeof w->action, "%s", rpc_call_action(call));
	w->next = ul->downs;
	ul->downs = w;
	return w;
}

static void
down_unlink(struct down *w)
{
	struct down **pp;

	if (w->ul == NULL)
		return;
	for (pp = &w->ul->downs; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

/* The call can still be answered: same connection as when it came. */
static bool
down_live(const struct down *w)
{
	return w->ul != NULL && w->ul->rpc != NULL && w->ul->gen == w->gen;
}

/* Answer w's call with r (when the connection it came on is still up)
 * and free w. */
static void
down_reply(struct down *w, enum ocpp_result r)
{
	if (down_live(w)) {
		log_info(MOD, "answered action=%s status=%s", w->action,
		    ocpp_result_name(r));
		rpc_reply(w->call, w->ul->c->reply(w->d.type, r));
	}
	down_unlink(w);
	free(w);
}

/* One result for the fan-out of w: any refusal refuses; Scheduled when
 * any will act later (Reset, ChangeAvailability); unlocking keeps what
 * the charger said (the codec spells it). */
static enum ocpp_result
down_result(const struct down *w, bool failed)
{
	switch (w->d.type) {
	case UP_DOWN_UNLOCK:
		return failed ? OCPP_RESULT_UNLOCK_FAILED : w->status;
	case UP_DOWN_AVAILABILITY:
	case UP_DOWN_RESET:
		return w->no > 0 ? OCPP_RESULT_REJECTED : w->scheduled > 0 ?
		    OCPP_RESULT_SCHEDULED : OCPP_RESULT_ACCEPTED;
	case UP_DOWN_REMOTE_START:
		return w->yes ? OCPP_RESULT_ACCEPTED : OCPP_RESULT_REJECTED;
	default:
		return w->yes && !w->no ? OCPP_RESULT_ACCEPTED :
		    OCPP_RESULT_REJECTED;
	}
}

static void
on_charger_answer(const struct ocpp_command_result *res, const char *error,
    void *arg)
{
	struct down *w = arg;

	if (res != NULL) {
		if (res->accepted)
			w->yes++;
		else
			w->no++;
		if (res->status == OCPP_RESULT_SCHEDULED)
			w->scheduled++;
		w->status = res->status;
	} else {
		w->no++;
		log_warn(MOD, "charger did not do action=%s why=%s", w->action,
		    error);
	}
	if (--w->outstanding > 0)
		return;
	if (w->ul == NULL) {
		free(w);
		return;
	}
	down_reply(w, down_result(w, res == NULL));
}

/* Send cmd to the charger of e for w; counts it outstanding. */
static void
route(struct uplink *ul, struct down *w, const struct site_evse *e,
    struct ocpp_command *cmd)
{
	w->outstanding++;
	if (csms_command(ul->csms, e->charger->id, cmd, on_charger_answer, w)
	    != 0) {
		w->outstanding--;
		w->no++;
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

/* The open session the upstream names in d (by our id, or by its own
 * id mapped in the state file); NULL when none. */
static struct site_session *
session_of_down(struct uplink *ul, const struct up_down *d)
{
	int64_t sid = d->session_id;
	size_t n = site_charger_count(ul->site);

	if (sid == 0 && store_uplink_tx_find(ul->store, d->tx_id, &sid) !=
	    STORE_OK)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct site_charger *ch = site_charger_at(ul->site, i);
		for (int e = 0; e < ch->nevses; e++)
			if (ch->evses[e]->session && ch->evses[e]->session->id == sid)
				return ch->evses[e]->session;
	}
	return NULL;
}

/* The first EVSE free for a remote start without an EVSE. */
static struct site_evse *
free_evse(struct uplink *ul)
{
	size_t n = site_charger_count(ul->site);

	for (size_t i = 0; i < n; i++) {
		struct site_charger *ch = site_charger_at(ul->site, i);
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

/* ------------------------------------------------------------ settings */

/* Where each setting the upstream may change is kept (the meta table of
 * the state file) and the values it takes; meta NULL: read-only. */
static const struct {
	const char *meta;
	int min, max;
} writable[UP_NSETTINGS] = {
	[UP_SET_HEARTBEAT_INTERVAL] = { "uplink.HeartbeatInterval", 1, 86400 },
	[UP_SET_METER_INTERVAL] = { "uplink.MeterInterval", 0, 3600 },
	[UP_SET_MESSAGE_ATTEMPTS] = { "uplink.MessageAttempts", 1, 10 },
	[UP_SET_RETRY_INTERVAL] = { "uplink.RetryInterval", 1, 3600 },
};

/* The values of the gateway's settings, by enum up_setting. */
static void
setting_values(struct uplink *ul, struct up_setting_value *v)
{
	size_t nevse = 0, nch = site_charger_count(ul->site);
	const int ints[UP_NSETTINGS] = {
		[UP_SET_HEARTBEAT_INTERVAL] = ul->heartbeat_s > 0 ?
		    ul->heartbeat_s : meta_int(ul, "uplink.HeartbeatInterval", 300),
		[UP_SET_METER_INTERVAL] = ul->meter_interval_s,
		[UP_SET_MESSAGE_ATTEMPTS] = ul->attempts,
		[UP_SET_RETRY_INTERVAL] = ul->retry_interval_s,
		[UP_SET_LOCAL_LIST_ENTRIES] = 100000,
		[UP_SET_LOCAL_LIST_PER_MESSAGE] = UP_MAX_LIST,
	};

	for (size_t i = 0; i < nch; i++)
		nevse += (size_t)site_charger_at(ul->site, i)->nevses;
	for (int i = 0; i < UP_NSETTINGS; i++) {
		snprintf(v[i].text, sizeof v[i].text, "%d", ints[i]);
		v[i].readonly = writable[i].meta == NULL;
	}
	snprintf(v[UP_SET_LOCAL_LIST_ENABLED].text, sizeof v->text, "true");
	snprintf(v[UP_SET_EVSE_COUNT].text, sizeof v->text, "%zu", nevse);
}

/* Set the setting k names to its value; the timers it drives follow. */
static enum ocpp_result
set_setting(struct uplink *ul, const struct up_key *k)
{
	int64_t val;

	if (k->setting < 0)
		return k->component_known ? OCPP_RESULT_UNKNOWN_VARIABLE :
		    OCPP_RESULT_UNKNOWN_COMPONENT;
	if (writable[k->setting].meta == NULL ||
	    num_parse_i64(k->key.value, writable[k->setting].min,
	    writable[k->setting].max, &val) != 0)
		return OCPP_RESULT_REJECTED;
	meta_put_int(ul, writable[k->setting].meta, (int)val);
	switch ((enum up_setting)k->setting) {
	case UP_SET_HEARTBEAT_INTERVAL:
		ul->heartbeat_s = (int)val;
		if (up_ok(ul))
			arm(ul->heartbeat_ev, ul->heartbeat_s);
		break;
	case UP_SET_METER_INTERVAL:
		ul->meter_interval_s = (int)val;
		event_del(ul->meter_ev);
		if (val > 0)
			arm(ul->meter_ev, (double)val);
		break;
	case UP_SET_MESSAGE_ATTEMPTS:
		ul->attempts = (int)val;
		break;
	case UP_SET_RETRY_INTERVAL:
		ul->retry_interval_s = (int)val;
		break;
	default:
		break;
	}
	return OCPP_RESULT_ACCEPTED;
}

/* ------------------------------------------------------------ down */

/* Answer call, a command of d's type, with r. */
static void
answer(struct uplink *ul, struct rpc_call *call, const struct up_down *d,
    enum ocpp_result r)
{
	rpc_reply(call, ul->c->reply(d->type, r));
}

/* Route cmd to the charger of EVSE e for the upstream's call. */
static void
route_one(struct uplink *ul, struct rpc_call *call, const struct up_down *d,
    const struct site_evse *e, struct ocpp_command *cmd)
{
	struct down *w = down_new(ul, call, d);

	route(ul, w, e, cmd);
	route_done(w);
}

static void
down_remote_start(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	struct site_evse *e = d->evse > 0 ? evse_of(ul, d->evse) :
	    free_evse(ul);
	struct ocpp_command cmd = { .type = OCPP_CMD_REMOTE_START };

	if (e == NULL || !e->charger->connected || e->session != NULL) {
		answer(ul, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	cmd.evse = e->id;
	cmd.u.start.token = d->token;
	cmd.u.start.remote_start_id = d->remote_start_id;
	route_one(ul, call, d, e, &cmd);
}

static void
down_remote_stop(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	struct site_session *x = session_of_down(ul, d);
	struct ocpp_command cmd = { .type = OCPP_CMD_REMOTE_STOP };

	if (x == NULL || !x->open || !x->evse->charger->connected) {
		answer(ul, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	cmd.evse = x->evse->id;
	snprintf(cmd.u.stop.tx_id, sizeof cmd.u.stop.tx_id, "%s",
	    x->charger_tx_id);
	route_one(ul, call, d, x->evse, &cmd);
}

static void
down_unlock(struct uplink *ul, struct rpc_call *call, const struct up_down *d)
{
	struct site_evse *e = evse_of(ul, d->evse);
	struct ocpp_command cmd = { .type = OCPP_CMD_UNLOCK };

	if (e == NULL || !e->charger->connected) {
		answer(ul, call, d, e ? OCPP_RESULT_UNLOCK_FAILED :
		    OCPP_RESULT_UNKNOWN_CONNECTOR);
		return;
	}
	cmd.connector = d->connector > 0 ? d->connector : 1;
	fan_out(ul, call, d, &cmd);
}

static void
down_availability(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	struct site_evse *e = d->evse > 0 ? evse_of(ul, d->evse) : NULL;
	struct ocpp_command cmd = { .type = OCPP_CMD_AVAILABILITY };

	if (d->evse > 0 && (e == NULL || !e->charger->connected)) {
		answer(ul, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	cmd.u.availability.operative = d->operative;
	fan_out(ul, call, d, &cmd);
}

static void
down_reset(struct uplink *ul, struct rpc_call *call, const struct up_down *d)
{
	struct site_evse *e = d->evse > 0 ? evse_of(ul, d->evse) : NULL;
	struct ocpp_command cmd = { .type = OCPP_CMD_RESET };

	if (d->evse > 0) {
		if (e == NULL || !e->charger->connected) {
			answer(ul, call, d, OCPP_RESULT_REJECTED);
			return;
		}
		/* A charger resets as a whole. */
		cmd.u.reset.hard = d->hard;
		route_one(ul, call, d, e, &cmd);
		return;
	}
	/* The gateway: it cannot reboot its host, but it restarts its own
	 * OCPP session: a new BootNotification on a new link. */
	answer(ul, call, d, OCPP_RESULT_ACCEPTED);
	log_info(MOD, "reset of the gateway: reconnecting");
	/* Give the answer time to reach the upstream first. */
	arm(ul->reset_ev, 0.5);
}

/* MeterValues triggered: the latest reading of sessions (of e, or of
 * all), as the periodic ones (through the outbox). */
static void
trigger_meter(struct uplink *ul, const struct site_evse *e)
{
	size_t n = site_charger_count(ul->site);

	for (size_t i = 0; i < n; i++) {
		struct site_charger *ch = site_charger_at(ul->site, i);
		for (int k = 0; k < ch->nevses; k++) {
			struct site_evse *x = ch->evses[k];
			/* A session with no reading of its own yet has
			 * nothing to report (readings belong to it). */
			if ((e == NULL || e == x) && x->session &&
			    x->session->open && x->reading.ts_ms != 0)
				uplink_enqueue(ul, x->session, OCPP_TX_UPDATED,
				    isotime_now_ms());
		}
	}
}

static void
down_trigger(struct uplink *ul, struct rpc_call *call, const struct up_down *d)
{
	struct site_evse *e = d->evse > 0 ? evse_of(ul, d->evse) : NULL;

	if (d->trigger == UP_TRIGGER_OTHER) {
		answer(ul, call, d, OCPP_RESULT_NOT_IMPLEMENTED);
		return;
	}
	if (d->evse > 0 && e == NULL) {
		answer(ul, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	answer(ul, call, d, OCPP_RESULT_ACCEPTED);
	/* The triggered message follows the answer. */
	switch (d->trigger) {
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
	default:
		trigger_meter(ul, e);
		break;
	}
}

static void
down_get_config(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	struct up_setting_value v[UP_NSETTINGS];

	setting_values(ul, v);
	rpc_reply(call, ul->c->reply_get_config(d, v));
}

static void
down_set_config(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	enum ocpp_result r[OCPP_MAX_KEYS] = { OCPP_RESULT_REJECTED };

	for (int i = 0; i < d->nkeys; i++)
		r[i] = set_setting(ul, &d->keys[i]);
	rpc_reply(call, ul->c->reply_set_config(d, r));
}

static void
down_set_profile(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	const struct ocpp_profile *p = &d->profile;
	struct prof *slot = NULL;
	struct site_evse *e = d->evse > 0 ? evse_of(ul, d->evse) : NULL;

	if (p->purpose == OCPP_PURPOSE_ANY || p->nperiods < 1 ||
	    (d->evse > 0 && e == NULL) ||
	    (d->evse == 0 && p->purpose == OCPP_PURPOSE_TX) ||
	    (p->purpose == OCPP_PURPOSE_TX && (e == NULL || e->session == NULL))) {
		answer(ul, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	/* Same id, or same target and purpose: replaced. */
	for (int i = 0; i < MAX_PROFILES; i++) {
		struct prof *x = &ul->profs[i];
		if (x->used && (x->p.id == p->id || (x->number == d->evse &&
		    x->p.purpose == p->purpose &&
		    x->p.stack_level == p->stack_level))) {
			slot = x;
			break;
		}
	}
	for (int i = 0; slot == NULL && i < MAX_PROFILES; i++)
		if (!ul->profs[i].used)
			slot = &ul->profs[i];
	if (slot == NULL) {
		answer(ul, call, d, OCPP_RESULT_REJECTED);
		return;
	}
	slot->used = true;
	slot->number = d->evse;
	slot->p = *p;
	slot->start_ms = p->start_ms > 0 && !p->relative ? p->start_ms :
	    isotime_now_ms();
	log_info(MOD, "charging profile id=%d evse=%d purpose=%d periods=%d "
	    "first_limit=%.1f unit=%s", p->id, d->evse, p->purpose, p->nperiods,
	    p->periods[0].limit, p->unit == OCPP_UNIT_W ? "W" : "A");
	answer(ul, call, d, OCPP_RESULT_ACCEPTED);
	profiles_save(ul);
	apply_profiles(ul);
}

static void
down_clear_profile(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	int cleared = 0;

	for (int i = 0; i < MAX_PROFILES; i++) {
		struct prof *x = &ul->profs[i];
		if (!x->used)
			continue;
		if (d->clear_id >= 0 && x->p.id != d->clear_id)
			continue;
		if (d->evse >= 0 && x->number != d->evse)
			continue;
		if (d->clear_purpose != OCPP_PURPOSE_ANY &&
		    x->p.purpose != d->clear_purpose)
			continue;
		if (d->clear_stack_level >= 0 &&
		    x->p.stack_level != d->clear_stack_level)
			continue;
		if (x->number > 0 && ul->hooks.evse_cap)
			ul->hooks.evse_cap(x->number, -1, ul->hooks.arg);
		x->used = false;
		cleared++;
	}
	answer(ul, call, d, cleared ? OCPP_RESULT_ACCEPTED :
	    OCPP_RESULT_UNKNOWN);
	if (cleared) {
		profiles_save(ul);
		apply_profiles(ul);
	}
}

static void
down_composite(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	double lim[3] = { 0, 0, 0 };
	int phases = 0;
	bool ok = (d->evse == 0 || evse_of(ul, d->evse) != NULL) &&
	    ul->hooks.offer != NULL &&
	    ul->hooks.offer(d->evse, lim, &phases, ul->hooks.arg) == 0;
	double l = fmin(lim[0], phases == 1 ? lim[0] : fmin(lim[1], lim[2]));

	rpc_reply(call, ul->c->reply_composite(d->evse, ok, l, phases,
	    d->duration_s, isotime_now_ms()));
}

static void
down_local_list(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	if (!d->list_full && d->list_version <= ul->list_version &&
	    ul->list_version > 0) {
		answer(ul, call, d, OCPP_RESULT_VERSION_MISMATCH);
		return;
	}
	if (d->list_full)
		store_local_list_clear(ul->store);
	for (int i = 0; i < d->nentries; i++)
		if (store_local_list_put(ul->store, d->entries[i].token,
		    d->entries[i].status, d->entries[i].expiry_ms) != STORE_OK) {
			answer(ul, call, d, OCPP_RESULT_FAILED);
			return;
		}
	ul->list_version = d->list_version;
	meta_put_int(ul, "uplink.LocalListVersion", d->list_version);
	log_info(MOD, "local list version=%d entries=%d full=%d",
	    d->list_version, d->nentries, d->list_full);
	answer(ul, call, d, OCPP_RESULT_ACCEPTED);
}

static void
down_list_version(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	(void)d;
	rpc_reply(call, ul->c->reply_list_version(ul->list_version));
}

static void
down_data_transfer(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	answer(ul, call, d, OCPP_RESULT_UNKNOWN_VENDOR);
}

static void
down_clear_cache(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d)
{
	answer(ul, call, d, store_auth_cache_clear(ul->store) == STORE_OK ?
	    OCPP_RESULT_ACCEPTED : OCPP_RESULT_REJECTED);
}

/* Every charger (evse 0) or the charger of one EVSE gets cmd. */
static void
fan_out(struct uplink *ul, struct rpc_call *call, const struct up_down *d,
    struct ocpp_command *cmd)
{
	struct down *w = down_new(ul, call, d);
	size_t n = site_charger_count(ul->site);

	if (d->evse > 0) {
		struct site_evse *e = evse_of(ul, d->evse);
		cmd->evse = e->id;
		route(ul, w, e, cmd);
	} else {
		for (size_t i = 0; i < n; i++) {
			struct site_charger *ch = site_charger_at(ul->site, i);
			if (!ch->connected || ch->nevses < 1)
				continue;
			cmd->evse = 0;
			w->outstanding++;
			if (csms_command(ul->csms, ch->id, cmd, on_charger_answer, w)
			    != 0) {
				w->outstanding--;
				w->no++;
			}
		}
		if (w->outstanding == 0 && w->no == 0) {
			/* No charger at all: the site is what it is. */
			down_reply(w, OCPP_RESULT_ACCEPTED);
			return;
		}
	}
	route_done(w);
}

typedef void down_fn(struct uplink *ul, struct rpc_call *call,
    const struct up_down *d);

/* Who serves each command. */
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

/* An upstream request: checked against its schema (a CALLERROR naming
 * the field), decoded, served. */
static void
handle_down(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	struct uplink *ul = arg;
	const char *action = rpc_call_action(call);
	struct schema_error serr;
	struct ocpp_error err;
	struct up_down *d = xcalloc(1, sizeof *d);
	int rc;

	(void)rpc;
	rc = schema_validate(ul->v, action, SCHEMA_REQUEST, payload, &serr);
	if (rc != SCHEMA_OK) {
		log_warn(MOD, "refused action=%s why=%s", action, serr.description);
		rpc_reply_error(call, schema_errcode(rc), serr.description, NULL);
	} else if (ul->c->decode_down(action, payload, d, &err) != 0) {
		rpc_reply_error(call, err.code, err.text, NULL);
	} else {
		log_info(MOD, "request action=%s evse=%d", action, d->evse);
		if ((size_t)d->type < sizeof down_fns / sizeof *down_fns &&
		    down_fns[d->type] != NULL)
			down_fns[d->type](ul, call, d);
		else
			rpc_reply_error(call, OCPP_ERR_NOT_SUPPORTED, "not "
			    "supported by this charge point", NULL);
	}
	free(d);
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
take_config(struct uplink *ul, const struct config *cfg)
{
	ul->cfg = cfg;
	ul->up = cfg->upstream;
	/* The version is fixed for the life of the uplink: the handler
	 * table and the outbox's payloads are written for it. */
	if (ul->handlers == NULL) {
		ul->c = up_codec(ul->up->version);
		ul->v = ul->c->version;
	}
	ul->meter_interval_s = meta_int(ul, "uplink.MeterInterval",
	    ul->up->meter_interval_s);
	ul->attempts = meta_int(ul, "uplink.MessageAttempts",
	    ul->up->message_attempts);
	ul->retry_interval_s = meta_int(ul, "uplink.RetryInterval",
	    ul->up->retry_interval_s);
}

struct uplink *
uplink_new(struct event_base *base, const struct config *cfg,
    struct site *site, struct store *store, struct csms *csms,
    const struct uplink_hooks *hooks, char **cause)
{
	struct uplink *ul = xcalloc(1, sizeof *ul);
	struct csms_authorizer az = { on_charger_authorize, on_charger_local,
	    ul };
	const char *a;

	*cause = NULL;
	ul->base = base;
	ul->site = site;
	ul->store = store;
	ul->csms = csms;
	if (hooks)
		ul->hooks = *hooks;
	take_config(ul, cfg);
	ul->list_version = meta_int(ul, "uplink.LocalListVersion", 0);
	if ((ul->handlers = rpc_handlers_new()) == NULL)
		abort();
	/* The upstream's requests the gateway serves. Anything else OCPP
	 * defines is answered NotSupported by the rpc layer; unknown actions
	 * NotImplemented. */
	for (size_t i = 0; (a = ul->c->down_action(i)) != NULL; i++)
		if (schema_has_action(ul->v, a))
			rpc_handlers_add(ul->handlers, ul->v, a, handle_down, ul);
	ul->reconnect_ev = evtimer_new(base, on_reconnect, ul);
	ul->boot_ev = evtimer_new(base, on_boot_ev, ul);
	ul->heartbeat_ev = evtimer_new(base, on_heartbeat, ul);
	ul->meter_ev = evtimer_new(base, on_meter, ul);
	ul->retry_ev = evtimer_new(base, on_retry, ul);
	ul->pump_ev = evtimer_new(base, on_pump_ev, ul);
	ul->profile_ev = evtimer_new(base, on_profile_ev, ul);
	ul->reset_ev = evtimer_new(base, on_reset_ev, ul);
	if (!ul->reset_ev || !ul->reconnect_ev || !ul->boot_ev || !ul->heartbeat_ev ||
	    !ul->meter_ev || !ul->retry_ev || !ul->pump_ev || !ul->profile_ev)
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
	refresh_stats(ul);
	if (ul->meter_interval_s > 0)
		arm(ul->meter_ev, ul->meter_interval_s);
	log_info(MOD, "starting url=%s id=%s version=%s outbox=%lld",
	    ul->up->url, ul->up->id, ocpp_version_name(ul->v),
	    (long long)ul->depth);
	connect_now(ul);
	return ul;
}

static bool
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

int
uplink_reconfigure(struct uplink *ul, const struct config *cfg)
{
	const struct config_upstream *o = ul->up, *n = cfg->upstream;
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
	take_config(ul, cfg);
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
	st->link = link_names[ul->link];
	st->connected = ul->rpc != NULL;
	st->boot = site_boot_name(ul->boot);
	st->depth = ul->depth;
	st->oldest_age_ms = ul->depth > 0 && ul->oldest_ms > 0 ?
	    isotime_now_ms() - ul->oldest_ms : 0;
}

void
uplink_free(struct uplink *ul)
{
	if (ul == NULL)
		return;
	for (struct down *w = ul->downs; w; w = w->next)
		w->ul = NULL;
	ul->downs = NULL;
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
	event_free(ul->meter_ev);
	event_free(ul->retry_ev);
	event_free(ul->pump_ev);
	event_free(ul->profile_ev);
	event_free(ul->reset_ev);
	rpc_handlers_free(ul->handlers);
	free(ul->meter_sent);
	free(ul);
}
