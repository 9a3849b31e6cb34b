/*
 * Unit tests for site/site: the neutral model over a real state file —
 * boot decisions, statuses, sessions across a restart, seqNo tracking,
 * readings, events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/config.h"
#include "app/opts.h"
#include "site/site.h"
#include "site/store.h"

/* The site's options from a parsed configuration, as the gateway builds
 * them; the site copies what it keeps. */
static struct site *
site_new_cfg(struct store *st, const struct config *cfg, char **cause)
{
	struct opts *o = opts_new(cfg);
	struct site *s = site_new(st, opts_site(o), cause);

	opts_free(o);
	return s;
}

static int
site_reconf(struct site *s, const struct config *cfg)
{
	struct opts *o = opts_new(cfg);
	int rc = site_reconfigure(s, opts_site(o));

	opts_free(o);
	return rc;
}

static const char cfg_json[] =
    "{ \"site_id\": \"t\", \"ocpp\": { \"listen\": \"127.0.0.1:0\" },"
    "  \"chargers\": [ { \"id\": \"CP-01\", \"max_current_a\": 32 },"
    "                  { \"id\": \"CP-02\", \"max_current_a\": 16, \"phases\": 1 } ],"
    "  \"site\": { \"circuits\": [ { \"id\": \"grid\", \"max_current_a\": 63 } ] } }";

struct fx {
	char dir[64], path[128];
	struct config *cfg;
	struct store *st;
	struct site *site;
	int events[9];			/* count per event bit */
	const struct site_session *last_session;
};

static void
on_event(const struct site_event *ev, void *arg)
{
	struct fx *f = arg;

	for (int b = 0; b < 8; b++)
		if (ev->type == 1u << b)
			f->events[b]++;
	if (ev->session)
		f->last_session = ev->session;
}

static void
open_site(struct fx *f)
{
	int err;
	char *cause = NULL;

	f->st = store_open(f->path, &err, &cause);
	assert_non_null(f->st);
	f->site = site_new_cfg(f->st, f->cfg, &cause);
	assert_non_null(f->site);
	assert_int_equal(site_subscribe(f->site, SITE_EV_ALL, on_event, f), 0);
}

static void
close_site(struct fx *f)
{
	site_free(f->site);
	store_close(f->st);
	f->site = NULL;
	f->st = NULL;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/sg-site-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
	f->cfg = config_parse(cfg_json, strlen(cfg_json), NULL, NULL);
	if (f->cfg == NULL)
		return -1;
	open_site(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	close_site(f);
	config_free(f->cfg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void
test_configured_chargers(void **state)
{
	struct fx *f = *state;

	assert_int_equal(site_charger_count(f->site), 2);
	assert_non_null(site_charger(f->site, "CP-01"));
	assert_true(site_charger(f->site, "CP-02")->configured);
	assert_null(site_charger(f->site, "CP-09"));
	assert_non_null(site_charger_at(f->site, 1));
	assert_null(site_charger_at(f->site, 2));
}

static void
test_boot_decisions(void **state)
{
	struct fx *f = *state;
	struct site_charger *known, *stranger;

	known = site_charger_connected(f->site, "CP-01", OCPP_V201, 1000);
	assert_true(known->connected);
	assert_int_equal(site_charger_booted(f->site, known, "ACME", "Wall",
	    "SN1", "1.0", false, 1001), SITE_BOOT_ACCEPTED);
	assert_string_equal(known->vendor, "ACME");

	stranger = site_charger_connected(f->site, "CP-99", OCPP_V16, 1002);
	assert_false(stranger->configured);
	assert_int_equal(site_charger_booted(f->site, stranger, "X", "Y", NULL,
	    NULL, true, 1003), SITE_BOOT_PENDING);
	/* Not allowed to wait for approval: refused. */
	assert_int_equal(site_charger_booted(f->site, stranger, "X", "Y", NULL,
	    NULL, false, 1003), SITE_BOOT_REJECTED);
	assert_string_equal(stranger->serial, "");
	assert_int_equal(site_charger_approve(f->site, "CP-99", true), SITE_OK);
	assert_int_equal(site_charger_booted(f->site, stranger, "X", "Y", NULL,
	    NULL, false, 1004), SITE_BOOT_ACCEPTED);
	assert_int_equal(site_charger_approve(f->site, "nobody", true),
	    SITE_ERR_UNKNOWN_CHARGER);
	assert_int_equal(f->events[0], 2);	/* connected */
	assert_int_equal(f->events[2], 4);	/* booted */

	/* The approval and identity survive a restart. */
	close_site(f);
	open_site(f);
	stranger = site_charger(f->site, "CP-99");
	assert_non_null(stranger);
	assert_true(stranger->approved);
	assert_string_equal(stranger->model, "Y");
	assert_int_equal(stranger->version, OCPP_V16);
	assert_int_equal(stranger->boot, SITE_BOOT_NONE);
}

static void
find_charger(const struct store_charger_row *r, void *arg)
{
	if (strcmp(r->id, "CP-99") == 0)
		++*(int *)arg;
}

static void
count_session(const struct store_session_row *r, void *arg)
{
	if (strcmp(r->charger_id, "CP-99") == 0)
		++*(int *)arg;
}

/* A waiting charger is forgotten, in memory and in the state file; one
 * that is configured, connected or in a session is not. */
static void
test_forget(void **state)
{
	struct fx *f = *state;
	struct site_charger *x;
	struct site_session *sess;
	unsigned gen;
	int err, rows = 0, sessions = 0;

	x = site_charger_connected(f->site, "CP-99", OCPP_V16, 1000);
	site_charger_address(f->site, x, "192.0.2.7");
	assert_string_equal(x->addr, "192.0.2.7");
	assert_int_equal(site_charger_booted(f->site, x, "X", "Y", NULL, NULL,
	    true, 1001), SITE_BOOT_PENDING);
	assert_int_equal(site_charger_booted(f->site, x, "X", "Y", NULL, NULL,
	    true, 1002), SITE_BOOT_PENDING);
	assert_int_equal(x->boot_attempts, 2);

	/* Configured (connected or not), connected, unknown: refused. */
	assert_int_equal(site_charger_forget(f->site, "CP-01"), -1);
	assert_non_null(site_charger(f->site, "CP-01"));
	assert_int_equal(site_charger_forget(f->site, "CP-99"), -1);
	assert_ptr_equal(site_charger(f->site, "CP-99"), x);
	assert_int_equal(site_charger_forget(f->site, "nobody"), -1);

	/* Approved and in a session, then away: still refused. */
	assert_int_equal(site_charger_approve(f->site, "CP-99", true), SITE_OK);
	assert_int_equal(site_charger_booted(f->site, x, "X", "Y", NULL, NULL,
	    true, 1003), SITE_BOOT_ACCEPTED);
	assert_int_equal(x->boot_attempts, 0);
	sess = site_session_start(f->site, x, 1, 1, NULL, "TAG", 0, 1004, false,
	    &err);
	assert_non_null(sess);
	site_charger_disconnected(f->site, x, 1005);
	assert_int_equal(site_charger_forget(f->site, "CP-99"), -1);
	assert_int_equal(site_session_stop(f->site, sess, 100, NULL, 1006),
	    SITE_OK);

	/* An approved charger survives a restart ... */
	close_site(f);
	open_site(f);
	assert_non_null(site_charger(f->site, "CP-99"));
	/* ... until it is forgotten. */
	gen = site_generation(f->site);
	assert_int_equal(site_charger_forget(f->site, "CP-99"), 0);
	assert_null(site_charger(f->site, "CP-99"));
	assert_true(site_generation(f->site) != gen);
	assert_int_equal(site_charger_forget(f->site, "CP-99"), -1);
	close_site(f);

	/* The row is gone from the state file; the session stays. */
	f->st = store_open(f->path, &err, &(char *){ NULL });
	assert_non_null(f->st);
	assert_int_equal(store_chargers_load(f->st, find_charger, &rows),
	    STORE_OK);
	assert_int_equal(rows, 0);
	assert_int_equal(store_sessions_list(f->st, -1, count_session,
	    &sessions), STORE_OK);
	assert_int_equal(sessions, 1);
	store_close(f->st);
	f->st = NULL;
	open_site(f);
	assert_null(site_charger(f->site, "CP-99"));
}

static void
test_status_and_connectors(void **state)
{
	struct fx *f = *state;
	struct site_charger *ch = site_charger(f->site, "CP-01");
	struct site_evse *e;

	assert_int_equal(site_status(f->site, ch, 1, 0, SITE_STATUS_AVAILABLE,
	    NULL, 5), SITE_OK);
	e = site_evse(ch, 1);
	assert_int_equal(e->status, SITE_STATUS_AVAILABLE);
	/* A second connector appears and has a vehicle: the EVSE is occupied. */
	assert_int_equal(site_status(f->site, ch, 1, 2, SITE_STATUS_OCCUPIED,
	    NULL, 6), SITE_OK);
	assert_int_equal(e->nconnectors, 2);
	assert_int_equal(e->status, SITE_STATUS_OCCUPIED);
	assert_int_equal(site_status(f->site, ch, 1, 2, SITE_STATUS_CHARGING,
	    NULL, 7), SITE_OK);
	assert_int_equal(e->status, SITE_STATUS_CHARGING);
	/* EVSE 0: every EVSE of the charger. */
	site_evse(ch, 2);
	assert_int_equal(site_status(f->site, ch, 0, 0, SITE_STATUS_UNAVAILABLE,
	    "NoError", 8), SITE_OK);
	assert_int_equal(site_evse(ch, 2)->status, SITE_STATUS_UNAVAILABLE);
	assert_int_equal(e->status, SITE_STATUS_UNAVAILABLE);
	assert_int_equal(site_status(f->site, ch, 33, 0, SITE_STATUS_AVAILABLE,
	    NULL, 9), SITE_ERR_BAD_EVSE);
	assert_int_equal(site_status(f->site, ch, 1, 5, SITE_STATUS_AVAILABLE,
	    NULL, 9), SITE_ERR_BAD_EVSE);
	assert_true(f->events[3] >= 4);
	assert_string_equal(site_status_name(SITE_STATUS_SUSPENDED_EV),
	    "suspended_ev");
}

static void
test_sessions_survive_restart(void **state)
{
	struct fx *f = *state;
	struct site_charger *ch = site_charger(f->site, "CP-01");
	struct site_session *a, *b, *found;
	int err;
	int64_t first_id;
	char tx[SITE_TOKEN_LEN];

	/* 1.6: the gateway issues the transaction id. */
	a = site_session_start(f->site, ch, 1, 1, NULL, "TOKEN-A", 1000.0, 100,
	    false, &err);
	assert_non_null(a);
	assert_int_equal(err, SITE_OK);
	first_id = a->id;
	snprintf(tx, sizeof tx, "%lld", (long long)a->id);
	assert_string_equal(a->charger_tx_id, tx);
	assert_ptr_equal(site_evse(ch, 1)->session, a);
	/* 2.0.1: the charger's id is kept. */
	b = site_session_start(f->site, ch, 2, 1, "uuid-b", "TOKEN-B", 50.0, 110,
	    true, &err);
	assert_non_null(b);
	assert_string_equal(b->charger_tx_id, "uuid-b");
	assert_true(b->id > a->id);
	assert_int_equal(f->events[4], 2);

	/* kill -9: the model comes back from the state file alone. */
	close_site(f);
	open_site(f);
	ch = site_charger(f->site, "CP-01");
	found = site_session_find(f->site, ch, tx);
	assert_non_null(found);
	assert_true(found->open);
	assert_string_equal(found->id_token, "TOKEN-A");
	assert_int_equal(found->start_ms, 100);
	assert_true(found->meter_start_wh == 1000.0);
	found = site_session_find(f->site, ch, "uuid-b");
	assert_non_null(found);
	assert_true(found->offline);
	assert_ptr_equal(site_evse(ch, 2)->session, found);

	/* A stop after the restart is matched and ends it. */
	assert_int_equal(site_session_stop(f->site, found, 2050.0, "EVDisconnected",
	    500), SITE_OK);
	assert_null(site_evse(ch, 2)->session);
	assert_false(found->open);
	assert_int_equal(f->events[5], 1);
	/* A repeated stop finds the ended session and is refused. */
	found = site_session_find(f->site, ch, "uuid-b");
	assert_non_null(found);
	assert_int_equal(site_session_stop(f->site, found, 2050.0, NULL, 600),
	    SITE_ERR_NO_SESSION);

	close_site(f);
	open_site(f);
	ch = site_charger(f->site, "CP-01");
	assert_null(site_evse(ch, 2)->session);
	assert_non_null(site_evse(ch, 1)->session);
	/* Ids are never reused, across restarts too. */
	a = site_session_start(f->site, ch, 2, 1, NULL, "TOKEN-C", 0, 700, false,
	    &err);
	assert_non_null(a);
	assert_true(a->id > first_id + 1);
}

static void
test_new_start_closes_stale_session(void **state)
{
	struct fx *f = *state;
	struct site_charger *ch = site_charger(f->site, "CP-02");
	struct site_session *a, *b;
	int err;

	a = site_session_start(f->site, ch, 1, 1, NULL, "T1", 0, 1, false, &err);
	assert_non_null(a);
	b = site_session_start(f->site, ch, 1, 1, NULL, "T2", 0, 2, false, &err);
	assert_non_null(b);
	assert_ptr_equal(site_evse(ch, 1)->session, b);
	assert_int_equal(f->events[5], 1);	/* a ended */
	assert_null(site_session_start(f->site, ch, 0, 1, NULL, "T3", 0, 3, false,
	    &err));
	assert_int_equal(err, SITE_ERR_BAD_EVSE);
}

static void
test_seq_numbers(void **state)
{
	struct fx *f = *state;
	struct site_charger *ch = site_charger(f->site, "CP-01");
	int err;
	struct site_session *x = site_session_start(f->site, ch, 1, 1, "tx-1",
	    NULL, 0, 1, false, &err);

	assert_non_null(x);
	assert_int_equal(site_session_seq(f->site, x, 0), 0);
	assert_int_equal(site_session_seq(f->site, x, 1), 0);
	assert_int_equal(site_session_seq(f->site, x, 4), 2);	/* 2, 3 missing */
	assert_int_equal(site_session_seq(f->site, x, 4), -1);	/* duplicate */
	assert_int_equal(site_session_seq(f->site, x, 3), -1);	/* late */
	assert_int_equal(x->last_seq_no, 4);
	site_session_token(f->site, x, "LATE-TOKEN");
	close_site(f);
	open_site(f);
	x = site_session_find(f->site, site_charger(f->site, "CP-01"), "tx-1");
	assert_non_null(x);
	assert_int_equal(x->last_seq_no, 4);
	assert_string_equal(x->id_token, "LATE-TOKEN");
	assert_int_equal(site_session_seq(f->site, x, 5), 0);
}

static void
test_readings(void **state)
{
	struct fx *f = *state;
	struct site_charger *ch = site_charger(f->site, "CP-01");
	struct site_reading r = { .ts_ms = 10, .have = SITE_HAVE_CURRENT |
	    SITE_HAVE_ENERGY, .current_a = { 10, 11, 12 }, .energy_wh = 5000 };
	struct site_reading p = { .ts_ms = 20, .have = SITE_HAVE_POWER,
	    .power_w = 7000 };
	struct site_evse *e;
	struct site_session *x;
	int err;

	x = site_session_start(f->site, ch, 1, 1, NULL, "T", 4000, 5, false, &err);
	assert_int_equal(site_reading(f->site, ch, 1, &r), SITE_OK);
	assert_int_equal(site_reading(f->site, ch, 1, &p), SITE_OK);
	e = site_evse(ch, 1);
	/* Merged: the power arrived later, the currents stay. */
	assert_true(e->reading.current_a[2] == 12);
	assert_true(e->reading.power_w == 7000);
	assert_int_equal(e->reading.have, SITE_HAVE_CURRENT | SITE_HAVE_ENERGY |
	    SITE_HAVE_POWER);
	assert_int_equal(e->reading.ts_ms, 20);
	assert_int_equal(f->events[6], 2);
	/* Each reading joined the history. */
	{
		int64_t n = 0;
		assert_int_equal(store_samples_count(f->st, "CP-01", 1, 0, &n),
		    STORE_OK);
		assert_int_equal(n, 2);
	}
	/* A stop without a meter value takes the register. */
	assert_int_equal(site_session_stop(f->site, x, -1, NULL, 30), SITE_OK);
	assert_true(x->meter_stop_wh == 5000);
	assert_string_equal(x->stop_reason, "Local");

	close_site(f);
	open_site(f);
	e = site_evse(site_charger(f->site, "CP-01"), 1);
	assert_true(e->reading.current_a[1] == 11);
	assert_true(e->reading.power_w == 7000);
	assert_int_equal(site_reading(f->site, site_charger(f->site, "CP-01"), 40,
	    &r), SITE_ERR_BAD_EVSE);
}

/* A writer that records every session event as an outbox row of the same
 * unit, or fails when told to: the uplink's part in a charger message. */
struct writer_fx {
	struct fx *f;
	unsigned fail_on;		/* event bits to refuse */
	int heard;
	int events_seen;		/* subscriber events when it was called */
};

static int
outbox_writer(const struct site_event *ev, void *arg)
{
	struct writer_fx *w = arg;
	char payload[] = "{}";
	struct store_outbox_row row = { .kind = ev->type ==
	    SITE_EV_SESSION_STARTED ? STORE_OB_START : STORE_OB_STOP,
	    .session_id = ev->session->id, .action = "X", .payload = payload };
	int dropped;

	w->heard++;
	w->events_seen = w->f->events[4] + w->f->events[5];
	if (w->fail_on & ev->type)
		return -1;
	return store_outbox_add(w->f->st, &row, 0, 0, &dropped) == STORE_OK ?
	    0 : -1;
}

static int64_t
outbox_rows(struct fx *f)
{
	int64_t n = -1, oldest;

	assert_int_equal(store_outbox_stats(f->st, &n, &oldest), STORE_OK);
	return n;
}

static int64_t
open_sessions(struct fx *f)
{
	int64_t n = 0;

	for (size_t i = 0; i < site_charger_count(f->site); i++) {
		struct site_charger *ch = site_charger_at(f->site, i);
		for (int e = 0; e < ch->nevses; e++)
			n += ch->evses[e]->session != NULL;
	}
	return n;
}

/* A session's start and what a writer derives from it are committed
 * together; subscribers hear of it only after the commit; a failed writer
 * undoes the whole start, in memory and on disk. */
static void
test_unit_start_all_or_nothing(void **state)
{
	struct fx *f = *state;
	struct writer_fx w = { .f = f };
	struct site_charger *ch = site_charger(f->site, "CP-01");
	struct site_session *x;
	int err;

	assert_int_equal(site_subscribe_writer(f->site, SITE_EV_SESSION_STARTED |
	    SITE_EV_SESSION_ENDED, outbox_writer, &w), SITE_OK);
	w.fail_on = SITE_EV_SESSION_STARTED;
	x = site_session_start(f->site, ch, 1, 1, NULL, "T1", 100, 1, false, &err);
	assert_null(x);
	assert_int_equal(err, SITE_ERR_STORE);
	assert_int_equal(w.heard, 1);
	assert_null(site_evse(ch, 1)->session);
	assert_int_equal(f->events[4], 0);	/* nobody was told */
	assert_int_equal(outbox_rows(f), 0);

	w.fail_on = 0;
	x = site_session_start(f->site, ch, 1, 1, NULL, "T1", 100, 2, false, &err);
	assert_non_null(x);
	assert_int_equal(w.events_seen, 0);	/* writer first, inside */
	assert_int_equal(f->events[4], 1);	/* then the subscribers */
	assert_int_equal(outbox_rows(f), 1);

	/* On disk: one open session (the refused one never was), one row. */
	site_unsubscribe_writer(f->site, outbox_writer, &w);
	close_site(f);
	open_site(f);
	assert_int_equal(open_sessions(f), 1);
	assert_int_equal(outbox_rows(f), 1);
}

/* A whole 2.0.1 Ended event as one unit: seqNo, reading and stop are
 * undone together when the outbox entry cannot be written. */
static void
test_unit_stop_undone(void **state)
{
	struct fx *f = *state;
	struct writer_fx w = { .f = f };
	struct site_charger *ch = site_charger(f->site, "CP-01");
	struct site_reading r = { .ts_ms = 50, .have = SITE_HAVE_ENERGY,
	    .energy_wh = 1500 };
	struct site_session *x;
	struct site_evse *e;
	int err;

	assert_int_equal(site_subscribe_writer(f->site, SITE_EV_SESSION_STARTED |
	    SITE_EV_SESSION_ENDED, outbox_writer, &w), SITE_OK);
	x = site_session_start(f->site, ch, 1, 1, "tx-9", "T", 1000, 10, false,
	    &err);
	assert_non_null(x);
	assert_int_equal(site_session_seq(f->site, x, 0), 0);
	e = site_evse(ch, 1);

	w.fail_on = SITE_EV_SESSION_ENDED;
	assert_int_equal(site_begin(f->site), SITE_OK);
	assert_int_equal(site_session_seq(f->site, x, 1), 0);
	assert_int_equal(site_reading(f->site, ch, 1, &r), SITE_OK);
	site_session_stop(f->site, x, 1500, "EVDisconnected", 60);
	assert_int_equal(site_commit(f->site), SITE_ERR_STORE);
	/* As before the unit began. */
	assert_ptr_equal(e->session, x);
	assert_true(x->open);
	assert_int_equal(x->last_seq_no, 0);
	assert_int_equal(x->stop_ms, 0);
	assert_int_equal(e->reading.have, 0);
	assert_int_equal(f->events[5], 0);
	assert_int_equal(f->events[6], 0);	/* the reading was not told */
	assert_int_equal(outbox_rows(f), 1);	/* the start only */
	/* A store that refused nothing is not left with an open unit. */
	assert_int_equal(store_flush(f->st), STORE_OK);

	/* The charger sends it again; now it is stored. */
	w.fail_on = 0;
	assert_int_equal(site_begin(f->site), SITE_OK);
	assert_int_equal(site_session_seq(f->site, x, 1), 0);
	assert_int_equal(site_reading(f->site, ch, 1, &r), SITE_OK);
	assert_int_equal(site_session_stop(f->site, x, 1500, "EVDisconnected",
	    60), SITE_OK);
	assert_int_equal(site_commit(f->site), SITE_OK);
	assert_false(x->open);
	assert_int_equal(outbox_rows(f), 2);
	site_unsubscribe_writer(f->site, outbox_writer, &w);
	close_site(f);
	open_site(f);
	assert_int_equal(open_sessions(f), 0);
	assert_int_equal(outbox_rows(f), 2);
}

/* Readings belong to their session: a new session starts with none, also
 * after a restart, so the last car's current or an older register is
 * never reported as the new session's. */
static void
test_reading_cleared_at_start(void **state)
{
	struct fx *f = *state;
	struct site_charger *ch = site_charger(f->site, "CP-02");
	struct site_reading r = { .ts_ms = 10, .have = SITE_HAVE_CURRENT |
	    SITE_HAVE_ENERGY, .current_a = { 16, 0, 0 }, .energy_wh = 9000 };
	struct site_session *x;
	int err;

	x = site_session_start(f->site, ch, 1, 1, NULL, "T1", 8000, 5, false,
	    &err);
	assert_int_equal(site_reading(f->site, ch, 1, &r), SITE_OK);
	assert_int_equal(site_session_stop(f->site, x, 9000, NULL, 20), SITE_OK);
	assert_non_null(site_session_start(f->site, ch, 1, 1, NULL, "T2", 9000,
	    30, false, &err));
	assert_int_equal(site_evse(ch, 1)->reading.have, 0);
	assert_int_equal(site_evse(ch, 1)->reading.ts_ms, 0);
	close_site(f);
	open_site(f);
	ch = site_charger(f->site, "CP-02");
	assert_int_equal(site_evse(ch, 1)->reading.have, 0);
}

static void
test_caps_persist(void **state)
{
	struct fx *f = *state;
	struct site_caps c = { .smart_charging = true, .rate_a = true,
	    .max_stack_level = 8, .max_periods = 24, .phase_switching = true,
	    .meter_interval_s = 10 };

	site_charger_caps(f->site, site_charger(f->site, "CP-02"), &c);
	assert_int_equal(f->events[7], 1);
	close_site(f);
	open_site(f);
	const struct site_caps *got = &site_charger(f->site, "CP-02")->caps;
	assert_true(got->discovered);
	assert_true(got->rate_a);
	assert_false(got->rate_w);
	assert_int_equal(got->max_stack_level, 8);
	assert_int_equal(got->max_periods, 24);
	assert_true(got->phase_switching);
	assert_int_equal(got->meter_interval_s, 10);
}

static void
test_reconfigure(void **state)
{
	struct fx *f = *state;
	static const char one[] =
	    "{ \"site_id\": \"t\", \"ocpp\": { \"listen\": \"127.0.0.1:0\" },"
	    "  \"chargers\": [ { \"id\": \"CP-03\", \"max_current_a\": 32 } ],"
	    "  \"site\": { \"circuits\": [ { \"id\": \"grid\", \"max_current_a\": 63 } ] } }";
	struct config *cfg = config_parse(one, strlen(one), NULL, NULL);
	int err;

	assert_non_null(cfg);
	/* CP-01 is busy (a session), CP-02 idle. */
	assert_non_null(site_session_start(f->site, site_charger(f->site, "CP-01"),
	    1, 1, NULL, "T", 0, 1, false, &err));
	assert_int_equal(site_reconf(f->site, cfg), SITE_OK);
	assert_non_null(site_charger(f->site, "CP-03"));
	assert_true(site_charger(f->site, "CP-03")->configured);
	assert_non_null(site_charger(f->site, "CP-01"));
	assert_false(site_charger(f->site, "CP-01")->configured);
	assert_null(site_charger(f->site, "CP-02"));
	config_free(cfg);
}

/* A charger creates EVSEs and connectors only up to its configured bound
 * (chargers[].evses / connectors_per_evse, else ocpp.max_evses /
 * max_connectors_per_evse, which also bound chargers not configured):
 * statuses for connector 1..32 used to make 32 EVSEs that the allocator
 * then counted. */
static void
test_evse_bounds(void **state)
{
	struct fx *f = *state;
	static const char bounded[] =
	    "{ \"site_id\": \"t\", \"ocpp\": { \"listen\": \"127.0.0.1:0\","
	    "    \"max_evses\": 1, \"max_connectors_per_evse\": 3 },"
	    "  \"chargers\": [ { \"id\": \"CP-01\", \"max_current_a\": 32,"
	    "                    \"evses\": 4, \"connectors_per_evse\": 1 },"
	    "                  { \"id\": \"CP-02\", \"max_current_a\": 16 } ],"
	    "  \"site\": { \"circuits\": [ { \"id\": \"grid\", \"max_current_a\": 63 } ] } }";
	struct site_charger *ch = site_charger(f->site, "CP-01"), *stranger;
	struct site_reading r = { .ts_ms = 1, .have = SITE_HAVE_POWER,
	    .power_w = 1 };
	struct config *cfg;
	int err;

	/* The defaults: 2 EVSEs of 2 connectors. */
	assert_int_equal(ch->max_evses, 2);
	assert_int_equal(ch->max_connectors, 2);
	for (int id = 1; id <= 32; id++)
		assert_int_equal(site_status(f->site, ch, id, 0,
		    SITE_STATUS_AVAILABLE, NULL, 5), id <= 2 ? SITE_OK :
		    SITE_ERR_BAD_EVSE);
	assert_int_equal(ch->nevses, 2);
	assert_null(site_evse(ch, 3));
	assert_null(site_evse(ch, 0));
	assert_int_equal(ch->nevses, 2);
	assert_int_equal(site_status(f->site, ch, 1, 2, SITE_STATUS_OCCUPIED,
	    NULL, 6), SITE_OK);
	assert_int_equal(site_status(f->site, ch, 1, 3, SITE_STATUS_OCCUPIED,
	    NULL, 6), SITE_ERR_BAD_EVSE);
	assert_int_equal(site_evse(ch, 1)->nconnectors, 2);
	assert_int_equal(site_reading(f->site, ch, 3, &r), SITE_ERR_BAD_EVSE);
	assert_null(site_session_start(f->site, ch, 3, 1, NULL, "T", 0, 7, false,
	    &err));
	assert_int_equal(err, SITE_ERR_BAD_EVSE);
	assert_int_equal(ch->nevses, 2);
	assert_null(site_evse_by_number(f->site, 3));
	/* A charger not configured takes the site-wide bound (approved, so
	 * that it is kept across the restart below). */
	stranger = site_charger_connected(f->site, "CP-99", OCPP_V16, 8);
	assert_int_equal(site_charger_approve(f->site, "CP-99", true), SITE_OK);
	assert_int_equal(stranger->max_evses, 2);
	assert_int_equal(stranger->max_connectors, 2);

	/* A new configuration moves every bound at once. */
	cfg = config_parse(bounded, strlen(bounded), NULL, NULL);
	assert_non_null(cfg);
	assert_int_equal(site_reconf(f->site, cfg), SITE_OK);
	assert_int_equal(ch->max_evses, 4);
	assert_int_equal(ch->max_connectors, 1);
	assert_int_equal(site_charger(f->site, "CP-02")->max_evses, 1);
	assert_int_equal(site_charger(f->site, "CP-02")->max_connectors, 3);
	assert_int_equal(stranger->max_evses, 1);
	assert_int_equal(stranger->max_connectors, 3);
	assert_non_null(site_evse(ch, 4));
	assert_null(site_evse(ch, 5));
	assert_int_equal(site_status(f->site, ch, 4, 1, SITE_STATUS_AVAILABLE,
	    NULL, 9), SITE_OK);
	assert_int_equal(site_status(f->site, ch, 4, 2, SITE_STATUS_AVAILABLE,
	    NULL, 9), SITE_ERR_BAD_EVSE);
	assert_null(site_evse(stranger, 2));
	assert_non_null(site_evse(stranger, 1));

	/* And after a restart, from the configuration again. */
	close_site(f);
	config_free(f->cfg);
	f->cfg = cfg;
	open_site(f);
	ch = site_charger(f->site, "CP-01");
	assert_int_equal(ch->max_evses, 4);
	stranger = site_charger(f->site, "CP-99");
	assert_non_null(stranger);
	assert_int_equal(stranger->max_evses, 1);
}

/* EVSE numbers: lowest free, stable across a restart, a configured
 * first_evse takes its numbers over and the loser is renumbered. */
static void
test_evse_numbers(void **state)
{
	struct fx *f = *state;
	static const char numbered[] =
	    "{ \"site_id\": \"t\", \"ocpp\": { \"listen\": \"127.0.0.1:0\" },"
	    "  \"chargers\": [ { \"id\": \"CP-01\", \"max_current_a\": 32 },"
	    "                  { \"id\": \"CP-02\", \"max_current_a\": 16,"
	    "                    \"phases\": 1, \"first_evse\": 2 } ],"
	    "  \"site\": { \"circuits\": [ { \"id\": \"grid\", \"max_current_a\": 63 } ] } }";
	struct site_charger *a = site_charger(f->site, "CP-01");
	struct site_charger *b = site_charger(f->site, "CP-02");
	struct config *cfg;
	unsigned gen = site_generation(f->site);

	assert_int_equal(site_evse(b, 1)->number, 1);
	assert_int_equal(site_evse(a, 2)->number, 3);	/* a1 = 2, a2 = 3 */
	assert_int_equal(site_evse(a, 1)->number, 2);
	assert_true(site_generation(f->site) != gen);
	assert_ptr_equal(site_evse_by_number(f->site, 3), a->evses[1]);
	assert_null(site_evse_by_number(f->site, 4));
	assert_null(site_evse_by_number(f->site, 0));

	/* The same numbers after a restart, whatever order EVSEs appear in. */
	close_site(f);
	open_site(f);
	a = site_charger(f->site, "CP-01");
	b = site_charger(f->site, "CP-02");
	assert_int_equal(site_evse(a, 2)->number, 3);
	assert_int_equal(site_evse(a, 1)->number, 2);
	assert_int_equal(site_evse(b, 1)->number, 1);

	/* CP-02 is configured to start at 2: it takes 2 from CP-01's EVSE 1,
	 * which gets the lowest free number (1, which CP-02 left). */
	cfg = config_parse(numbered, strlen(numbered), NULL, NULL);
	assert_non_null(cfg);
	assert_int_equal(site_reconf(f->site, cfg), SITE_OK);
	assert_int_equal(b->evses[0]->number, 2);
	assert_int_equal(a->evses[0]->number, 1);
	assert_int_equal(a->evses[1]->number, 3);
	assert_ptr_equal(site_evse_by_number(f->site, 2), b->evses[0]);
	assert_ptr_equal(site_evse_by_number(f->site, 1), a->evses[0]);
	close_site(f);
	config_free(f->cfg);
	f->cfg = cfg;
	open_site(f);
	a = site_charger(f->site, "CP-01");
	b = site_charger(f->site, "CP-02");
	assert_int_equal(site_evse(a, 1)->number, 1);
	assert_int_equal(site_evse(b, 1)->number, 2);
	/* A new EVSE of CP-02 (number 3 by its configuration) takes 3 from
	 * CP-01's EVSE 2, which moves to 4. */
	assert_int_equal(site_evse(a, 2)->number, 3);
	assert_int_equal(site_evse(b, 2)->number, 3);
	assert_int_equal(a->evses[1]->number, 4);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_configured_chargers),
		T(test_boot_decisions),
		T(test_forget),
		T(test_status_and_connectors),
		T(test_sessions_survive_restart),
		T(test_new_start_closes_stale_session),
		T(test_seq_numbers),
		T(test_readings),
		T(test_caps_persist),
		T(test_reconfigure),
		T(test_evse_bounds),
		T(test_evse_numbers),
		T(test_unit_start_all_or_nothing),
		T(test_unit_stop_undone),
		T(test_reading_cleared_at_start),
	};
#undef T
	return cmocka_run_group_tests_name("site", tests, NULL, NULL);
}
