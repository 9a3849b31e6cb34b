/*
 * Unit tests for roles/uplink_settings: the values each setting takes,
 * read-only and unknown ones, what the state file keeps across a restart
 * and a reload, and the heartbeat interval in force after a boot. A real
 * state file in a temporary directory; no sockets, no event loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles/uplink_settings.h"
#include "site/store.h"
#include "tmpstore.h"

struct fixture {
	struct tmpstore t;
	struct store *st;		/* t.st */
};

static const struct uplink_settings_defaults dflt = { 60, 3, 10 };

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (f == NULL || tmpstore_open(&f->t, "ulset") != 0)
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

static struct up_key
key(int setting, bool component_known, const char *value)
{
	struct up_key k;

	memset(&k, 0, sizeof k);
	k.setting = setting;
	k.component_known = component_known;
	snprintf(k.key.value, sizeof k.key.value, "%s", value);
	k.key.has_value = true;
	return k;
}

static void
test_values_taken(void **state)
{
	static const struct {
		int setting;
		const char *value;
		enum ocpp_result want;
	} cases[] = {
		{ UP_SET_HEARTBEAT_INTERVAL, "30", OCPP_RESULT_ACCEPTED },
		{ UP_SET_HEARTBEAT_INTERVAL, "0", OCPP_RESULT_REJECTED },
		{ UP_SET_HEARTBEAT_INTERVAL, "86401", OCPP_RESULT_REJECTED },
		{ UP_SET_HEARTBEAT_INTERVAL, " 30", OCPP_RESULT_REJECTED },
		{ UP_SET_HEARTBEAT_INTERVAL, "30s", OCPP_RESULT_REJECTED },
		{ UP_SET_METER_INTERVAL, "0", OCPP_RESULT_ACCEPTED },
		{ UP_SET_METER_INTERVAL, "3601", OCPP_RESULT_REJECTED },
		{ UP_SET_MESSAGE_ATTEMPTS, "10", OCPP_RESULT_ACCEPTED },
		{ UP_SET_MESSAGE_ATTEMPTS, "11", OCPP_RESULT_REJECTED },
		{ UP_SET_RETRY_INTERVAL, "", OCPP_RESULT_REJECTED },
		{ UP_SET_RETRY_INTERVAL, "+5", OCPP_RESULT_REJECTED },
		{ UP_SET_RETRY_INTERVAL, "5", OCPP_RESULT_ACCEPTED },
		{ UP_SET_EVSE_COUNT, "4", OCPP_RESULT_REJECTED },	/* read-only */
		{ UP_SET_LOCAL_LIST_ENABLED, "false", OCPP_RESULT_REJECTED },
	};
	struct fixture *f = *state;
	struct uplink_settings *s = uplink_settings_new(f->st, &dflt);
	struct up_key k;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		k = key(cases[i].setting, true, cases[i].value);
		if (uplink_settings_set(s, &k) != cases[i].want)
			fail_msg("setting %d to \"%s\": want %s", cases[i].setting,
			    cases[i].value, ocpp_result_name(cases[i].want));
	}
	assert_int_equal(uplink_settings_get(s, UP_SET_HEARTBEAT_INTERVAL), 30);
	assert_int_equal(uplink_settings_get(s, UP_SET_METER_INTERVAL), 0);
	assert_int_equal(uplink_settings_get(s, UP_SET_MESSAGE_ATTEMPTS), 10);
	assert_int_equal(uplink_settings_get(s, UP_SET_RETRY_INTERVAL), 5);
	/* None of ours: the component decides which unknown it is. */
	k = key(-1, true, "1");
	assert_int_equal(uplink_settings_set(s, &k),
	    OCPP_RESULT_UNKNOWN_VARIABLE);
	k = key(-1, false, "1");
	assert_int_equal(uplink_settings_set(s, &k),
	    OCPP_RESULT_UNKNOWN_COMPONENT);
	uplink_settings_free(s);
}

static void
test_kept_across_restart_and_reload(void **state)
{
	struct fixture *f = *state;
	struct uplink_settings *s = uplink_settings_new(f->st, &dflt);
	struct uplink_settings_defaults other = { 120, 5, 20 };
	struct up_key k = key(UP_SET_METER_INTERVAL, true, "15");

	/* The configuration's defaults until the upstream sets one. */
	assert_int_equal(uplink_settings_get(s, UP_SET_METER_INTERVAL), 60);
	assert_int_equal(uplink_settings_get(s, UP_SET_HEARTBEAT_INTERVAL), 300);
	assert_int_equal(uplink_settings_set(s, &k), OCPP_RESULT_ACCEPTED);
	uplink_settings_free(s);
	/* A restart: what the upstream set wins over the defaults... */
	s = uplink_settings_new(f->st, &other);
	assert_int_equal(uplink_settings_get(s, UP_SET_METER_INTERVAL), 15);
	/* ...and so it does over a reload's; the rest follows the reload. */
	uplink_settings_defaults(s, &dflt);
	assert_int_equal(uplink_settings_get(s, UP_SET_METER_INTERVAL), 15);
	assert_int_equal(uplink_settings_get(s, UP_SET_MESSAGE_ATTEMPTS), 3);
	uplink_settings_free(s);
}

static void
test_heartbeat_in_force(void **state)
{
	struct fixture *f = *state;
	struct uplink_settings *s = uplink_settings_new(f->st, &dflt);
	struct up_key k = key(UP_SET_HEARTBEAT_INTERVAL, true, "45");
	struct up_setting_value v[UP_NSETTINGS];

	/* The boot's interval is in force, but not kept. */
	assert_int_equal(uplink_settings_boot(s, 90), 90);
	assert_int_equal(uplink_settings_get(s, UP_SET_HEARTBEAT_INTERVAL), 90);
	/* A boot without one: the kept one (the default here). */
	assert_int_equal(uplink_settings_boot(s, 0), 300);
	/* The upstream's is kept and in force at once. */
	assert_int_equal(uplink_settings_set(s, &k), OCPP_RESULT_ACCEPTED);
	assert_int_equal(uplink_settings_get(s, UP_SET_HEARTBEAT_INTERVAL), 45);
	assert_int_equal(uplink_settings_boot(s, 0), 45);
	uplink_settings_values(s, 7, v);
	assert_string_equal(v[UP_SET_HEARTBEAT_INTERVAL].text, "45");
	assert_false(v[UP_SET_HEARTBEAT_INTERVAL].readonly);
	assert_string_equal(v[UP_SET_EVSE_COUNT].text, "7");
	assert_true(v[UP_SET_EVSE_COUNT].readonly);
	assert_string_equal(v[UP_SET_LOCAL_LIST_ENABLED].text, "true");
	assert_string_equal(v[UP_SET_LOCAL_LIST_PER_MESSAGE].text, "1000");
	uplink_settings_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_values_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_across_restart_and_reload,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_in_force, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
