/*
 * Unit tests for roles/auth: every mode and list status, expiry, case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "roles/auth.h"

static char t0[] = "04A2B3C4D5", t1[] = "BLOCKED-1", t2[] = "OLD-1",
    t3[] = "BAD-1", t4[] = "TEMP-1";

static struct auth_token tokens[] = {
	{ t0, AUTH_TOKEN_ACCEPTED, 0 },
	{ t1, AUTH_TOKEN_BLOCKED, 0 },
	{ t2, AUTH_TOKEN_EXPIRED, 0 },
	{ t3, AUTH_TOKEN_INVALID, 0 },
	{ t4, AUTH_TOKEN_ACCEPTED, 1800000000 },
};

static void
test_local_list(void **state)
{
	struct auth_opts cfg = { AUTH_MODE_LOCAL_LIST, tokens, 5 };
	int64_t now = 1795278000000LL;		/* 2026-11-21 */
	struct auth_result r;

	(void)state;
	assert_int_equal(auth_decide(&cfg, "04A2B3C4D5", now).status,
	    OCPP_AUTH_ACCEPTED);
	assert_int_equal(auth_decide(&cfg, "04a2b3c4d5", now).status,
	    OCPP_AUTH_ACCEPTED);
	assert_int_equal(auth_decide(&cfg, "BLOCKED-1", now).status,
	    OCPP_AUTH_BLOCKED);
	assert_int_equal(auth_decide(&cfg, "OLD-1", now).status, OCPP_AUTH_EXPIRED);
	assert_int_equal(auth_decide(&cfg, "BAD-1", now).status, OCPP_AUTH_INVALID);
	assert_int_equal(auth_decide(&cfg, "STRANGER", now).status,
	    OCPP_AUTH_UNKNOWN);
	/* Accepted until its expiry, Expired after; the expiry is reported. */
	r = auth_decide(&cfg, "TEMP-1", now);
	assert_int_equal(r.status, OCPP_AUTH_ACCEPTED);
	assert_int_equal(r.expiry_ms, 1800000000000LL);
	assert_int_equal(auth_decide(&cfg, "TEMP-1", 1800000000000LL).status,
	    OCPP_AUTH_EXPIRED);
	/* Upstream mode falls back to the list until the uplink exists. */
	cfg.mode = AUTH_MODE_UPSTREAM;
	assert_int_equal(auth_decide(&cfg, "BLOCKED-1", now).status,
	    OCPP_AUTH_BLOCKED);
	assert_int_equal(auth_decide(&cfg, "STRANGER", now).status,
	    OCPP_AUTH_UNKNOWN);
}

static void
test_accept_all(void **state)
{
	struct auth_opts cfg = { AUTH_MODE_ACCEPT_ALL, tokens, 5 };

	(void)state;
	assert_int_equal(auth_decide(&cfg, "ANYONE", 0).status, OCPP_AUTH_ACCEPTED);
	assert_int_equal(auth_decide(&cfg, "BLOCKED-1", 0).status,
	    OCPP_AUTH_ACCEPTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_list),
		cmocka_unit_test(test_accept_all),
	};

	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
