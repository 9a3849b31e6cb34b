/*
 * bench_uplink — the uplink's outbox: how deep it gets offline, how fast
 * it drains.
 *
 * Everything runs in this process on one libevent loop: the real store
 * (a state file in a temporary directory, WAL, synchronous=FULL), site,
 * csms and uplink modules, and a minimal upstream CSMS built on our own
 * ws server and rpc layer (OCPP 2.0.1; it answers every request at once).
 *
 *   0. What one acknowledged transaction message stores: NMSG session
 *      starts and ends (StartTransaction / StopTransaction, TransactionEvent
 *      Started / Ended), each with its outbox entry, as the gateway commits
 *      them before answering the charger. `bench_uplink messages` runs only
 *      this part (to compare builds whole-process).
 *   1. A simulated hour offline: 100 EVSEs, each with an open session,
 *      meter every 10 s. The hour is simulated with a fake clock: readings
 *      and outbox entries carry the simulated times and are written through
 *      the module's own API (site_reading, uplink_enqueue) as fast as the
 *      state file takes them, while the upstream refuses the connection.
 *      Reported: the outbox depth and the oldest entry's age afterwards,
 *      and how fast entries were written (one fsync each).
 *   2. The upstream starts accepting: the replay rate until the outbox is
 *      empty (one message in flight at a time, one durable delete per
 *      answer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "app/config.h"
#include "app/opts.h"
#include "roles/csms.h"
#include "roles/uplink.h"
#include "site/site.h"
#include "site/store.h"
#include "transport/rpc.h"
#include "transport/ws.h"
#include "util/isotime.h"
#include "util/log.h"

#define NEVSE 100
#define HOUR_S 3600
#define STEP_S 10
#define NMSG 2000

struct bench {
	struct event_base *base;
	struct ws_server *srv;
	struct rpc_handlers *h;
	struct uplink *ul;
	int accepting;
	int64_t t_first, t_last;
	int64_t answered;
	struct event *poll;
};

static enum ws_auth
on_auth(const struct ws_auth_request *r, void *arg)
{
	struct bench *b = arg;

	(void)r;
	return b->accepting ? WS_AUTH_ACCEPT : WS_AUTH_NOT_FOUND;
}

static void
answer(struct rpc *rpc, struct rpc_call *call, const cJSON *payload, void *arg)
{
	struct bench *b = arg;
	const char *a = rpc_call_action(call);
	cJSON *o = cJSON_CreateObject();
	char now[ISOTIME_LEN];

	(void)rpc;
	(void)payload;
	if (strcmp(a, "BootNotification") == 0) {
		cJSON_AddStringToObject(o, "currentTime",
		    isotime_format(isotime_now_ms(), now));
		cJSON_AddNumberToObject(o, "interval", 300);
		cJSON_AddStringToObject(o, "status", "Accepted");
	} else if (strcmp(a, "TransactionEvent") == 0) {
		if (b->answered++ == 0)
			b->t_first = isotime_mono_ms();
		b->t_last = isotime_mono_ms();
	}
	rpc_reply(call, o);
}

static void
on_connect(struct ws_conn *conn, void *arg)
{
	struct bench *b = arg;
	struct rpc_opts o;

	memset(&o, 0, sizeof o);
	o.version = OCPP_V201;
	o.handlers = b->h;
	o.arg = b;
	rpc_new(b->base, conn, &o);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	struct uplink_state st;
	struct timeval tv = { 0, 20000 };

	(void)fd;
	(void)what;
	uplink_state(b->ul, &st);
	if (st.depth == 0) {
		event_base_loopbreak(b->base);
		return;
	}
	event_add(b->poll, &tv);
}

static char *
make_config(const char *dir, int port)
{
	size_t cap = 64 * 1024, n = 0;
	char *s = malloc(cap);

	n += (size_t)snprintf(s + n, cap - n, "{\"site_id\":\"bench\","
	    "\"state_file\":\"%s/state.db\",\"log_level\":\"error\","
	    "\"ocpp\":{\"listen\":\"127.0.0.1:0\"},\"chargers\":[", dir);
	for (int i = 0; i < NEVSE; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s{\"id\":\"CP-%03d\","
		    "\"max_current_a\":32,\"phases\":3,\"circuit\":\"main\"}",
		    i ? "," : "", i);
	n += (size_t)snprintf(s + n, cap - n, "],\"site\":{\"voltage_v\":230,"
	    "\"min_current_a\":6,\"failsafe_current_a\":16,\"circuits\":[{\"id\":"
	    "\"main\",\"max_current_a\":4000}]},\"upstream\":{\"url\":"
	    "\"ws://127.0.0.1:%d/ocpp\",\"id\":\"BENCH\",\"version\":"
	    "\"ocpp2.0.1\",\"meter_interval_s\":0,\"reconnect_max_s\":1}}", port);
	return s;
}

int
main(int argc, char **argv)
{
	struct bench b;
	char dir[] = "/tmp/sg-bench-uplink-XXXXXX", *text, *errors = NULL;
	char *cause = NULL, cmd[128];
	struct ws_server_opts so;
	const char *protos[] = { "ocpp2.0.1" };
	struct config *cfg;
	struct opts *opts = NULL;
	struct store *st;
	struct site *site;
	struct csms *cs;
	struct site_session *sess[NEVSE];
	struct uplink_state us;
	int nerr, err;
	int64_t t0, w0, w1, writes = 0;
	struct timeval tv = { 0, 20000 };
	int only_messages = argc > 1 && strcmp(argv[1], "messages") == 0;

	memset(&b, 0, sizeof b);
	log_set_level(LOG_LEVEL_ERROR);
	if (mkdtemp(dir) == NULL)
		return 1;
	b.base = event_base_new();
	b.h = rpc_handlers_new();
	rpc_handlers_add(b.h, OCPP_V201, "BootNotification", answer, &b);
	rpc_handlers_add(b.h, OCPP_V201, "StatusNotification", answer, &b);
	rpc_handlers_add(b.h, OCPP_V201, "Heartbeat", answer, &b);
	rpc_handlers_add(b.h, OCPP_V201, "TransactionEvent", answer, &b);
	memset(&so, 0, sizeof so);
	so.host = "127.0.0.1";
	so.path_prefix = "/ocpp/";
	so.protocols = protos;
	so.nprotocols = 1;
	so.auth = on_auth;
	so.on_connect = on_connect;
	so.arg = &b;
	b.srv = ws_server_new(b.base, &so, &cause);
	if (b.srv == NULL) {
		fprintf(stderr, "server: %s\n", cause);
		return 1;
	}
	text = make_config(dir, ws_server_port(b.srv));
	cfg = config_parse(text, strlen(text), &errors, &nerr);
	free(text);
	if (cfg == NULL) {
		fprintf(stderr, "config: %s\n", errors);
		return 1;
	}
	st = store_open(cfg->state_file, &err, &cause);
	site = st ? site_new(st, opts_site(opts = opts_new(cfg)), &cause) : NULL;
	cs = site ? csms_new(b.base, opts_csms(opts), site, &cause) : NULL;
	b.ul = cs ? uplink_new(b.base, opts_uplink(opts), site, st, cs, NULL,
	    &cause) : NULL;
	if (b.ul == NULL) {
		fprintf(stderr, "start: %s\n", cause);
		return 1;
	}

	/* 0. Transaction messages: a session's start or end and its outbox
	 * entry, on EVSE 2 of the last charger (the hour uses EVSE 1), as
	 * old as the hour's first entries. */
	t0 = isotime_now_ms() - (int64_t)HOUR_S * 1000;
	w0 = isotime_mono_ms();
	{
		struct site_charger *ch = site_charger_connected(site, "CP-099",
		    OCPP_V201, t0);

		for (int i = 0; i < NMSG / 2; i++) {
			char tx[16];
			struct site_session *x;

			snprintf(tx, sizeof tx, "M%d", i);
			x = site_session_start(site, ch, 2, 1, tx, "TOKEN", 0,
			    t0 + i, false, &err);
			if (x == NULL || site_session_stop(site, x, 100, NULL,
			    t0 + i) != SITE_OK) {
				fprintf(stderr, "messages: the store refused\n");
				return 1;
			}
		}
	}
	w1 = isotime_mono_ms();
	printf("transaction messages: %d session starts and ends with their "
	    "outbox entries in %.2f s (%.0f /s)\n", NMSG,
	    (double)(w1 - w0) / 1000.0,
	    (double)NMSG * 1000.0 / (double)(w1 - w0 > 0 ? w1 - w0 : 1));
	if (only_messages)
		goto out;

	/* 1. The hour offline, on a fake clock that started an hour ago. */
	t0 = isotime_now_ms() - (int64_t)HOUR_S * 1000;
	w0 = isotime_mono_ms();
	for (int i = 0; i < NEVSE; i++) {
		char id[16], tx[16];
		struct site_charger *ch;

		snprintf(id, sizeof id, "CP-%03d", i);
		snprintf(tx, sizeof tx, "T%d", i);
		ch = site_charger_connected(site, id, OCPP_V201, t0);
		sess[i] = site_session_start(site, ch, 1, 1, tx, "TOKEN", 0, t0,
		    false, &err);
		writes++;
	}
	for (int t = STEP_S; t <= HOUR_S; t += STEP_S) {
		for (int i = 0; i < NEVSE; i++) {
			struct site_reading r;
			int64_t ts = t0 + (int64_t)t * 1000;

			memset(&r, 0, sizeof r);
			r.ts_ms = ts;
			r.have = SITE_HAVE_ENERGY | SITE_HAVE_POWER |
			    SITE_HAVE_CURRENT;
			r.energy_wh = (double)t * 11000 / 3600;
			r.power_w = 11000;
			r.current_a[0] = r.current_a[1] = r.current_a[2] = 16;
			site_reading(site, sess[i]->evse->charger, 1, &r);
			uplink_enqueue(b.ul, sess[i], OCPP_TX_UPDATED, ts);
			writes++;
		}
		store_flush(st);
	}
	w1 = isotime_mono_ms();
	uplink_state(b.ul, &us);
	printf("offline hour: %d EVSEs metering every %d s -> outbox depth %lld "
	    "(bound %d), oldest entry %.1f min old\n", NEVSE, STEP_S,
	    (long long)us.depth, cfg->upstream->queue_max,
	    (double)us.oldest_age_ms / 60000.0);
	printf("offline hour: %lld entries written in %.1f s (%.0f /s, one "
	    "durable commit each)\n", (long long)writes,
	    (double)(w1 - w0) / 1000.0,
	    (double)writes * 1000.0 / (double)(w1 - w0 > 0 ? w1 - w0 : 1));

	/* 2. The upstream comes back: replay until the outbox is empty. */
	b.accepting = 1;
	b.poll = evtimer_new(b.base, on_poll, &b);
	event_add(b.poll, &tv);
	event_base_dispatch(b.base);
	printf("replay: %lld messages in %.1f s -> %.0f messages/s to a local "
	    "upstream\n", (long long)b.answered,
	    (double)(b.t_last - b.t_first) / 1000.0,
	    (double)b.answered * 1000.0 /
	    (double)(b.t_last - b.t_first > 0 ? b.t_last - b.t_first : 1));

out:
	uplink_free(b.ul);
	csms_free(cs);
	site_free(site);
	store_close(st);
	opts_free(opts);
	config_free(cfg);
	if (b.poll)
		event_free(b.poll);
	ws_server_free(b.srv);
	rpc_handlers_free(b.h);
	event_base_free(b.base);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
