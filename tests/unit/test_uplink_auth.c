/*
 * Unit tests for roles/uplink_auth: who decides when the upstream cannot
 * be asked (the configuration's list, then the upstream's list, then the
 * cache of its answers while unexpired, then the offline policy), and how
 * the upstream's list is taken (versions, full and differential updates,
 * entries removed). A real state file in a temporary directory; no
 * sockets, no event loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles/uplink_auth.h"
#include "site/store.h"
#include "tmpstore.h"

#define NOW 1800000000000LL

struct fixture {
	struct tmpstore t;
	struct store *st;		/* t.st */
	struct up_down d;		/* a SendLocalList */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (f == NULL || tmpstore_open(&f->t, "ulauth") != 0)
		return -1;
	f->st = f->t.st;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc = tmpstore_close(&f->t);

	free(f);
	return rc;
}

/* Make f->d a SendLocalList of version with no entries yet. */
static struct up_down *
list(struct fixture *f, int version, bool full)
{
	memset(&f->d, 0, sizeof f->d);
	f->d.type = UP_DOWN_SEND_LOCAL_LIST;
	f->d.list_version = version;
	f->d.list_full = full;
	return &f->d;
}

static void
entry(struct up_down *d, const char *token, int status, int64_t expiry_ms)
{
	snprintf(d->entries[d->nentries].token, SITE_TOKEN_LEN, "%s", token);
	d->entries[d->nentries].status = status;
	d->entries[d->nentries].expiry_ms = expiry_ms;
	d->nentries++;
}

static enum ocpp_auth_status
decide(struct uplink_auth *a, const char *token)
{
	return uplink_auth_decide(a, token, NOW).status;
}

static void
test_order_of_decision(void **state)
{
	struct fixture *f = *state;
	char cfg_token[] = "CFG-1";
	struct auth_token cfg_list[] = {
		{ cfg_token, AUTH_TOKEN_BLOCKED, 0 },
	};
	struct auth_opts local = { AUTH_MODE_UPSTREAM, cfg_list, 1 };
	struct uplink_auth *a = uplink_auth_new(f->st);
	struct up_down *d = list(f, 1, true);
	struct auth_result r;

	uplink_auth_configure(a, &local, false);
	entry(d, "CFG-1", OCPP_AUTH_ACCEPTED, 0);
	entry(d, "UP-OLD", OCPP_AUTH_ACCEPTED, NOW - 1);
	entry(d, "UP-2", OCPP_AUTH_BLOCKED, 0);
	assert_int_equal(uplink_auth_update_list(a, d), OCPP_RESULT_ACCEPTED);
	r = (struct auth_result){ OCPP_AUTH_ACCEPTED, NOW + 60000 };
	uplink_auth_remember(a, "CACHED", &r, NOW - 1000);
	uplink_auth_remember(a, "UP-2", &r, NOW - 1000);
	r = (struct auth_result){ OCPP_AUTH_ACCEPTED, NOW - 1 };
	uplink_auth_remember(a, "STALE", &r, NOW - 100000);

	/* 1. the configuration's list, even over the upstream's */
	assert_int_equal(decide(a, "CFG-1"), OCPP_AUTH_BLOCKED);
	/* 2. the upstream's list: past its expiry Accepted is Expired, and
	 * it wins over the cache */
	assert_int_equal(decide(a, "UP-OLD"), OCPP_AUTH_EXPIRED);
	assert_int_equal(decide(a, "UP-2"), OCPP_AUTH_BLOCKED);
	/* 3. the cache while unexpired */
	r = uplink_auth_decide(a, "CACHED", NOW);
	assert_int_equal(r.status, OCPP_AUTH_ACCEPTED);
	assert_int_equal(r.expiry_ms, NOW + 60000);
	/* 4. the policy, for the unknown and the expired in the cache */
	assert_int_equal(decide(a, "STALE"), OCPP_AUTH_UNKNOWN);
	assert_int_equal(decide(a, "NOBODY"), OCPP_AUTH_UNKNOWN);
	uplink_auth_configure(a, &local, true);
	assert_int_equal(decide(a, "NOBODY"), OCPP_AUTH_ACCEPTED);
	/* Forgetting the answers leaves the lists. */
	assert_int_equal(uplink_auth_clear_cache(a), OCPP_RESULT_ACCEPTED);
	uplink_auth_configure(a, &local, false);
	assert_int_equal(decide(a, "CACHED"), OCPP_AUTH_UNKNOWN);
	assert_int_equal(decide(a, "UP-2"), OCPP_AUTH_BLOCKED);
	uplink_auth_free(a);
}

static void
test_list_versions(void **state)
{
	struct fixture *f = *state;
	struct uplink_auth *a = uplink_auth_new(f->st);
	struct up_down *d;

	uplink_auth_configure(a, NULL, false);
	assert_int_equal(uplink_auth_list_version(a), 0);
	d = list(f, 3, true);
	entry(d, "T1", OCPP_AUTH_ACCEPTED, 0);
	entry(d, "T2", OCPP_AUTH_ACCEPTED, 0);
	assert_int_equal(uplink_auth_update_list(a, d), OCPP_RESULT_ACCEPTED);
	/* A differential update must be newer than the list held. */
	d = list(f, 3, false);
	entry(d, "T3", OCPP_AUTH_ACCEPTED, 0);
	assert_int_equal(uplink_auth_update_list(a, d),
	    OCPP_RESULT_VERSION_MISMATCH);
	assert_int_equal(decide(a, "T3"), OCPP_AUTH_UNKNOWN);
	d = list(f, 4, false);
	entry(d, "T3", OCPP_AUTH_ACCEPTED, 0);
	entry(d, "T1", -1, 0);		/* removed */
	assert_int_equal(uplink_auth_update_list(a, d), OCPP_RESULT_ACCEPTED);
	assert_int_equal(decide(a, "T1"), OCPP_AUTH_UNKNOWN);
	assert_int_equal(decide(a, "T2"), OCPP_AUTH_ACCEPTED);
	assert_int_equal(decide(a, "T3"), OCPP_AUTH_ACCEPTED);
	uplink_auth_free(a);
	/* The version is kept; a full update replaces whatever it was. */
	a = uplink_auth_new(f->st);
	uplink_auth_configure(a, NULL, false);
	assert_int_equal(uplink_auth_list_version(a), 4);
	d = list(f, 2, true);
	entry(d, "T9", OCPP_AUTH_BLOCKED, 0);
	assert_int_equal(uplink_auth_update_list(a, d), OCPP_RESULT_ACCEPTED);
	assert_int_equal(uplink_auth_list_version(a), 2);
	assert_int_equal(decide(a, "T2"), OCPP_AUTH_UNKNOWN);
	assert_int_equal(decide(a, "T9"), OCPP_AUTH_BLOCKED);
	uplink_auth_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_of_decision, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_versions, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
