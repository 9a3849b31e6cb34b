/*
 * Unit tests for roles/uplink_outbox, without sockets: a real state file
 * in a temporary directory and a real event base, and a fake link that
 * records what would be sent and lets the test answer it. What is checked:
 * one message in flight, in order; an answer deletes it (with the 1.6
 * transaction id it gave, patched into the later messages of that
 * session); a failure costs an attempt, and the last one drops the
 * message; after the link is lost the head goes again; entries the
 * version cannot send are dropped, not sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "roles/uplink_outbox.h"
#include "roles/uplink_settings.h"
#include "site/site.h"
#include "site/store.h"
#include "tmpstore.h"
#include "util/json.h"

#define T0 1800000000000LL

struct fixture {
	struct tmpstore t;
	struct event_base *base;
	struct store *st;		/* t.st */
	struct uplink_settings *settings;
	/* the fake link */
	bool up;
	int nsent;
	char action[48];
	cJSON *payload;			/* the last one sent */
	rpc_result_fn done;
	void *done_arg;
	int nchanged;
	/* a session on EVSE number 3 */
	struct site_evse evse;
	struct site_session x;
};

static bool
fake_up(void *arg)
{
	return ((struct fixture *)arg)->up;
}

static int
fake_send(const char *action, cJSON *payload, rpc_result_fn done,
    void *done_arg, void *arg)
{
	struct fixture *f = arg;

	f->nsent++;
	snprintf(f->action, sizeof f->action, "%s", action);
	cJSON_Delete(f->payload);
	f->payload = payload;
	f->done = done;
	f->done_arg = done_arg;
	return RPC_OK;
}

static void
fake_changed(void *arg)
{
	((struct fixture *)arg)->nchanged++;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct uplink_settings_defaults d = { 0, 1, 1 };

	if (tmpstore_open(&f->t, "ulob") != 0)
		return -1;
	f->st = f->t.st;
	f->base = event_base_new();
	if (f->base == NULL)
		return -1;
	f->settings = uplink_settings_new(f->st, &d);
	f->evse.id = 1;
	f->evse.number = 3;
	f->evse.reading.ts_ms = T0 + 60000;
	f->evse.reading.have = SITE_HAVE_ENERGY;
	f->evse.reading.energy_wh = 1500;
	f->x.id = 42;
	f->x.evse = &f->evse;
	f->x.connector = 1;
	snprintf(f->x.id_token, sizeof f->x.id_token, "TAG-1");
	f->x.start_ms = T0;
	f->x.stop_ms = T0 + 120000;
	f->x.meter_start_wh = 1000;
	f->x.meter_stop_wh = 2000;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc;

	cJSON_Delete(f->payload);
	uplink_settings_free(f->settings);
	event_base_free(f->base);
	rc = tmpstore_close(&f->t);
	free(f);
	return rc;
}

static struct uplink_outbox *
outbox(struct fixture *f, enum ocpp_version v)
{
	struct uplink_outbox_link l = { fake_up, fake_send, fake_changed, f };

	return uplink_outbox_new(f->base, f->st, up_codec(v), f->settings, &l,
	    100);
}

/* Let the scheduled pump run. */
static void
turn(struct fixture *f)
{
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Answer the message in flight with a CALLRESULT of json (or an error). */
static void
answer(struct fixture *f, const char *json, bool error)
{
	cJSON *p = json ? cJSON_Parse(json) : NULL;
	struct rpc_response res = { .outcome = error ? RPC_OUTCOME_ERROR :
		RPC_OUTCOME_RESULT, .action = f->action, .payload = p,
		.code = OCPP_ERR_INTERNAL, .code_name = "InternalError" };
	rpc_result_fn done = f->done;

	assert_non_null(done);
	f->done = NULL;
	done(NULL, &res, f->done_arg);
	cJSON_Delete(p);
}

static int64_t
depth(const struct uplink_outbox *ob)
{
	int64_t d, oldest;

	uplink_outbox_stats(ob, &d, &oldest);
	return d;
}

static void
test_in_order_with_the_upstreams_id(void **state)
{
	struct fixture *f = *state;
	struct uplink_outbox *ob = outbox(f, OCPP_V16);

	/* Queued while the link is down: nothing goes. */
	assert_int_equal(uplink_outbox_add(ob, &f->x, OCPP_TX_STARTED, T0), 0);
	assert_int_equal(uplink_outbox_add(ob, &f->x, OCPP_TX_UPDATED,
	    T0 + 60000), 0);
	assert_int_equal(uplink_outbox_add(ob, &f->x, OCPP_TX_ENDED,
	    T0 + 120000), 0);
	turn(f);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(depth(ob), 3);
	/* Accepted: the head only, then each after the previous answer. */
	f->up = true;
	uplink_outbox_replay(ob);
	assert_int_equal(f->nsent, 1);
	assert_string_equal(f->action, "StartTransaction");
	assert_string_equal(json_str(f->payload, "idTag"), "TAG-1");
	answer(f, "{\"idTagInfo\":{\"status\":\"Accepted\"},"
	    "\"transactionId\":77}", false);
	assert_int_equal(depth(ob), 2);
	assert_int_equal(f->nsent, 2);
	assert_string_equal(f->action, "MeterValues");
	assert_int_equal(json_int(f->payload, "transactionId", 0), 77);
	answer(f, "{}", false);
	assert_string_equal(f->action, "StopTransaction");
	assert_int_equal(json_int(f->payload, "transactionId", 0), 77);
	answer(f, "{\"idTagInfo\":{\"status\":\"Accepted\"}}", false);
	assert_int_equal(depth(ob), 0);
	assert_int_equal(f->nsent, 3);
	assert_true(f->nchanged > 0);
	uplink_outbox_free(ob);
}

static void
test_attempts_and_link_lost(void **state)
{
	struct fixture *f = *state;
	struct uplink_outbox *ob = outbox(f, OCPP_V201);
	int64_t seq0;

	f->up = true;
	assert_int_equal(uplink_outbox_add(ob, &f->x, OCPP_TX_STARTED, T0), 0);
	assert_int_equal(uplink_outbox_add(ob, &f->x, OCPP_TX_ENDED, T0), 0);
	turn(f);
	assert_int_equal(f->nsent, 1);
	assert_string_equal(json_str(f->payload, "eventType"), "Started");
	seq0 = json_int(f->payload, "seqNo", -1);
	/* The link goes: the head goes again after the reconnect. */
	uplink_outbox_lost(ob);
	uplink_outbox_replay(ob);
	assert_int_equal(f->nsent, 2);
	assert_string_equal(json_str(f->payload, "eventType"), "Started");
	assert_int_equal(json_int(f->payload, "seqNo", -1), seq0);
	/* One attempt (the settings' default here): an error drops it. */
	answer(f, NULL, true);
	assert_int_equal(depth(ob), 1);
	assert_int_equal(f->nsent, 3);
	assert_string_equal(json_str(f->payload, "eventType"), "Ended");
	assert_int_equal(json_int(f->payload, "seqNo", -1), seq0 + 1);
	answer(f, "{}", false);
	assert_int_equal(depth(ob), 0);
	uplink_outbox_free(ob);
}

static void
test_what_cannot_go_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct uplink_outbox *ob = outbox(f, OCPP_V201);

	/* Written for 2.0.1, read by a 1.6 uplink (a version change). */
	assert_int_equal(uplink_outbox_add(ob, &f->x, OCPP_TX_STARTED, T0), 0);
	uplink_outbox_free(ob);
	ob = outbox(f, OCPP_V16);
	/* A 1.6 stop of a session whose start the upstream never numbered. */
	f->x.id = 43;
	assert_int_equal(uplink_outbox_add(ob, &f->x, OCPP_TX_ENDED, T0), 0);
	assert_int_equal(depth(ob), 2);
	f->up = true;
	uplink_outbox_replay(ob);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(depth(ob), 0);
	uplink_outbox_free(ob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order_with_the_upstreams_id,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_attempts_and_link_lost, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_what_cannot_go_is_dropped,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
