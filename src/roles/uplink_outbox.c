/*
 * uplink_outbox — see uplink_outbox.h.
 *
 * States of the message at the head of the table:
 *
 *   queued --pump--> inflight --answer--> ack_pending --commit--> (gone)
 *                      |   \                  | the commit failed:
 *                      |    \--error/timeout  +--> retry_wait, recorded
 *                      |       (attempts++)        again after the retry
 *                      |       --> retry_wait      interval
 *                      +--link lost--> queued (sent again on replay)
 *
 * retry_wait holds the pump; its timer either records the kept answer
 * (ack_pending) or lets the pump try the head again.
 */
#include "roles/uplink_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ocpp/codec.h"
#include "ocpp/schema.h"
#include "roles/uplink_settings.h"
#include "site/site.h"
#include "site/store.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MOD "uplink"

struct uplink_outbox {
	struct store *store;
	const struct up_codec *c;
	const struct uplink_settings *settings;
	struct uplink_outbox_link link;
	int queue_max;
	struct event *retry_ev, *pump_ev;

	bool inflight;
	int64_t inflight_seq;
	int64_t inflight_session;
	int inflight_kind;		/* enum store_outbox_kind */
	char inflight_action[48];
	int inflight_attempts;
	bool retry_wait;
	bool ack_pending;		/* answered, the answer not recorded */
	char ack_tx_id[SITE_TOKEN_LEN];	/* its 1.6 transaction id, or "" */
	int64_t depth;
	int64_t oldest_ms;
};

static void pump(struct uplink_outbox *ob);

static void
arm(struct event *ev, int seconds)
{
	struct timeval tv = { seconds > 0 ? seconds : 0, 0 };

	event_add(ev, &tv);
}

static bool
up(const struct uplink_outbox *ob)
{
	return ob->link.up(ob->link.arg);
}

static void
changed(const struct uplink_outbox *ob)
{
	if (ob->link.changed != NULL)
		ob->link.changed(ob->link.arg);
}

static int
retry_interval(const struct uplink_outbox *ob)
{
	return uplink_settings_get(ob->settings, UP_SET_RETRY_INTERVAL);
}

static void
refresh_stats(struct uplink_outbox *ob)
{
	store_outbox_stats(ob->store, &ob->depth, &ob->oldest_ms);
}

int
uplink_outbox_add(struct uplink_outbox *ob, const struct site_session *x,
    enum ocpp_tx_kind kind, int64_t now_ms)
{
	struct store_outbox_row row;
	const char *action;
	const struct site_evse *e = x->evse;
	cJSON *p;
	int dropped = 0, rc;

	p = ob->c->tx(kind, x, e->number, x->connector,
	    kind == OCPP_TX_UPDATED ? &e->reading : NULL, !up(ob), now_ms,
	    &action);
	memset(&row, 0, sizeof row);
	row.kind = kind == OCPP_TX_STARTED ? STORE_OB_START :
	    kind == OCPP_TX_ENDED ? STORE_OB_STOP : STORE_OB_METER;
	row.session_id = x->id;
	row.version = ob->c->version;
	snprintf(row.action, sizeof row.action, "%s", action);
	row.payload = json_print(p, NULL);
	row.created_ms = now_ms;
	if (kind == OCPP_TX_UPDATED)
		row.reading_ms = e->reading.ts_ms;
	cJSON_Delete(p);
	if (row.payload == NULL)
		abort();
	rc = store_outbox_add(ob->store, &row, ob->queue_max,
	    ob->inflight ? ob->inflight_seq : 0, &dropped);
	free(row.payload);
	if (rc != STORE_OK) {
		log_debug(MOD, "outbox write failed session=%lld action=%s",
		    (long long)x->id, action);
		return -1;
	}
	if (dropped)
		log_warn(MOD, "outbox full max=%d: dropped a meter value",
		    ob->queue_max);
	refresh_stats(ob);
	log_debug(MOD, "queued seq=%lld action=%s session=%lld depth=%lld",
	    (long long)row.seq, action, (long long)x->id, (long long)ob->depth);
	/* Not pump(): the entry may not be committed yet. */
	event_active(ob->pump_ev, EV_TIMEOUT, 1);
	return 0;
}

/* The pump's turn: the entries queued since are committed by now. */
static void
on_pump_ev(evutil_socket_t fd, short what, void *arg)
{
	struct uplink_outbox *ob = arg;

	(void)fd;
	(void)what;
	refresh_stats(ob);
	changed(ob);
	pump(ob);
}

/* Drop entry seq. Returns 0, or -1 when the state file refused: then the
 * pump waits the retry interval instead of meeting the entry again at
 * once. */
static int
drop(struct uplink_outbox *ob, int64_t seq, const char *why)
{
	if (store_outbox_ack(ob->store, seq, 0, NULL) != STORE_OK) {
		ob->retry_wait = true;
		arm(ob->retry_ev, retry_interval(ob));
		return -1;
	}
	log_warn(MOD, "outbox message dropped seq=%lld why=%s", (long long)seq,
	    why);
	refresh_stats(ob);
	return 0;
}

static void on_done(struct rpc *rpc, const struct rpc_response *res,
    void *arg);

static void
pump(struct uplink_outbox *ob)
{
	struct store_outbox_row row;
	char txid[SITE_TOKEN_LEN];
	cJSON *p;
	int rc;

	while (up(ob) && !ob->inflight && !ob->retry_wait) {
		rc = store_outbox_next(ob->store, 0, &row);
		if (rc != STORE_OK)
			return;
		if (row.version != (int)ob->c->version) {
			free(row.payload);
			if (drop(ob, row.seq, "written for the other OCPP "
			    "version") != 0)
				return;
			continue;
		}
		p = cJSON_Parse(row.payload);
		free(row.payload);
		if (p == NULL) {
			if (drop(ob, row.seq, "unreadable payload") != 0)
				return;
			continue;
		}
		rc = row.session_id != 0 && ob->c->upstream_tx_ids ?
		    store_uplink_tx_get(ob->store, row.session_id, txid,
		    sizeof txid) : STORE_ERR_NOTFOUND;
		if (ob->c->patch_tx(p, rc == STORE_OK ? txid : NULL,
		    row.tx_seq) != 0) {
			cJSON_Delete(p);
			if (drop(ob, row.seq, "the upstream never gave this "
			    "session a transaction id") != 0)
				return;
			continue;
		}
		ob->inflight = true;
		ob->inflight_seq = row.seq;
		ob->inflight_session = row.session_id;
		ob->inflight_kind = row.kind;
		snprintf(ob->inflight_action, sizeof ob->inflight_action, "%s",
		    row.action);
		ob->inflight_attempts = row.attempts;
		if (ob->link.send(row.action, p, on_done, ob, ob->link.arg) !=
		    RPC_OK) {
			ob->inflight = false;
			return;
		}
		log_debug(MOD, "sending seq=%lld action=%s", (long long)row.seq,
		    row.action);
	}
}

/* The in-flight message was answered: delete its entry, with the 1.6
 * transaction id the answer gave, in one commit. When the state file
 * refuses (a full disk), the answer is kept and recorded again after the
 * retry interval; nothing is sent meanwhile, so the upstream does not hear
 * the message again. */
static void
record_answer(struct uplink_outbox *ob)
{
	int64_t seq = ob->inflight_seq;
	const char *tx = ob->ack_tx_id[0] ? ob->ack_tx_id : NULL;

	if (store_outbox_ack(ob->store, seq, tx ? ob->inflight_session : 0, tx)
	    != STORE_OK) {
		if (!ob->retry_wait)
			log_warn(MOD, "cannot record the answer seq=%lld: the state "
			    "file refused it; trying again in %d s", (long long)seq,
			    retry_interval(ob));
		ob->retry_wait = true;
		arm(ob->retry_ev, retry_interval(ob));
		return;
	}
	ob->ack_pending = false;
	ob->retry_wait = false;
	if (tx)
		log_info(MOD, "transaction mapped session=%lld upstream_tx=%s",
		    (long long)ob->inflight_session, tx);
	log_info(MOD, "acknowledged seq=%lld action=%s", (long long)seq,
	    ob->inflight_action);
	refresh_stats(ob);
	changed(ob);
	pump(ob);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct uplink_outbox *ob = arg;

	(void)fd;
	(void)what;
	if (ob->ack_pending) {
		record_answer(ob);
		return;
	}
	ob->retry_wait = false;
	pump(ob);
}

static void
on_done(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct uplink_outbox *ob = arg;
	struct schema_error serr;
	struct up_auth_result a;
	int64_t seq = ob->inflight_seq;
	int attempts = uplink_settings_get(ob->settings,
	    UP_SET_MESSAGE_ATTEMPTS);

	(void)rpc;
	ob->inflight = false;
	switch (res->outcome) {
	case RPC_OUTCOME_RESULT:
		if (schema_validate(ob->c->version, res->action, SCHEMA_RESPONSE,
		    res->payload, &serr) != SCHEMA_OK)
			log_warn(MOD, "invalid answer kept action=%s why=%s",
			    res->action, serr.description);
		ob->c->auth_result(res->action, res->payload, &a);
		ob->ack_tx_id[0] = '\0';
		/* The id the upstream gave a start (the codec reads one only
		 * where the version has the upstream issue them). */
		if (ob->inflight_kind == STORE_OB_START &&
		    strcmp(a.tx_id, "0") != 0 && a.tx_id[0] != '\0')
			snprintf(ob->ack_tx_id, sizeof ob->ack_tx_id, "%s", a.tx_id);
		if (a.has_auth && a.status != OCPP_AUTH_ACCEPTED)
			log_warn(MOD, "upstream refused the token of session=%lld "
			    "status=%s", (long long)ob->inflight_session,
			    codec_auth_name(a.status));
		ob->ack_pending = true;
		record_answer(ob);
		return;
	case RPC_OUTCOME_ERROR:
	case RPC_OUTCOME_TIMEOUT:
		ob->inflight_attempts++;
		log_warn(MOD, "outbox message failed seq=%lld action=%s attempt=%d "
		    "of %d why=%s", (long long)seq, res->action,
		    ob->inflight_attempts, attempts,
		    res->outcome == RPC_OUTCOME_TIMEOUT ? "timeout" : res->code_name);
		if (ob->inflight_attempts >= attempts) {
			drop(ob, seq, "attempts used up");
			changed(ob);
			pump(ob);
			return;
		}
		store_outbox_attempts(ob->store, seq, ob->inflight_attempts);
		ob->retry_wait = true;
		arm(ob->retry_ev, retry_interval(ob) * ob->inflight_attempts);
		return;
	case RPC_OUTCOME_CLOSED:
		/* Sent again after the reconnect. */
		return;
	}
}

void
uplink_outbox_replay(struct uplink_outbox *ob)
{
	refresh_stats(ob);
	log_info(MOD, "replaying outbox depth=%lld", (long long)ob->depth);
	pump(ob);
}

void
uplink_outbox_lost(struct uplink_outbox *ob)
{
	ob->inflight = false;
	if (!ob->ack_pending) {
		/* An answer still to be recorded keeps its timer: the
		 * message must not go out again after the reconnect. */
		event_del(ob->retry_ev);
		ob->retry_wait = false;
	}
}

void
uplink_outbox_stats(const struct uplink_outbox *ob, int64_t *depth,
    int64_t *oldest_ms)
{
	*depth = ob->depth;
	*oldest_ms = ob->oldest_ms;
}

void
uplink_outbox_set_max(struct uplink_outbox *ob, int queue_max)
{
	ob->queue_max = queue_max;
}

struct uplink_outbox *
uplink_outbox_new(struct event_base *base, struct store *store,
    const struct up_codec *codec, const struct uplink_settings *settings,
    const struct uplink_outbox_link *link, int queue_max)
{
	struct uplink_outbox *ob = xcalloc(1, sizeof *ob);

	ob->store = store;
	ob->c = codec;
	ob->settings = settings;
	ob->link = *link;
	ob->queue_max = queue_max;
	ob->retry_ev = evtimer_new(base, on_retry, ob);
	ob->pump_ev = evtimer_new(base, on_pump_ev, ob);
	if (ob->retry_ev == NULL || ob->pump_ev == NULL)
		abort();
	refresh_stats(ob);
	return ob;
}

void
uplink_outbox_free(struct uplink_outbox *ob)
{
	if (ob == NULL)
		return;
	event_free(ob->retry_ev);
	event_free(ob->pump_ev);
	free(ob);
}
