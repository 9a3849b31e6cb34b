/*
 * Unit tests for roles/uplink_down: the one answer the upstream gets for
 * a command that went to one or more chargers, from what they said.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "roles/uplink_down.h"

static void
test_one_answer_from_many(void **state)
{
	static const struct {
		enum up_down_type t;
		struct uplink_down_tally n;
		enum ocpp_result want;
	} cases[] = {
		/* any refusal refuses; a failure is a refusal */
		{ UP_DOWN_AVAILABILITY, { 2, 0, 0, OCPP_RESULT_ACCEPTED, false },
		  OCPP_RESULT_ACCEPTED },
		{ UP_DOWN_AVAILABILITY, { 2, 1, 1, OCPP_RESULT_SCHEDULED, false },
		  OCPP_RESULT_REJECTED },
		{ UP_DOWN_AVAILABILITY, { 2, 1, 0, OCPP_RESULT_NONE, true },
		  OCPP_RESULT_REJECTED },
		/* one acting later makes the whole later */
		{ UP_DOWN_AVAILABILITY, { 3, 0, 1, OCPP_RESULT_ACCEPTED, false },
		  OCPP_RESULT_SCHEDULED },
		{ UP_DOWN_RESET, { 1, 0, 1, OCPP_RESULT_SCHEDULED, false },
		  OCPP_RESULT_SCHEDULED },
		{ UP_DOWN_RESET, { 0, 1, 0, OCPP_RESULT_REJECTED, false },
		  OCPP_RESULT_REJECTED },
		/* unlocking: the charger's own word, or a failure */
		{ UP_DOWN_UNLOCK, { 1, 0, 0, OCPP_RESULT_UNLOCKED, false },
		  OCPP_RESULT_UNLOCKED },
		{ UP_DOWN_UNLOCK, { 0, 1, 0, OCPP_RESULT_ONGOING_TX, false },
		  OCPP_RESULT_ONGOING_TX },
		{ UP_DOWN_UNLOCK, { 0, 1, 0, OCPP_RESULT_NONE, true },
		  OCPP_RESULT_UNLOCK_FAILED },
		/* a remote start needs one yes */
		{ UP_DOWN_REMOTE_START, { 1, 0, 0, OCPP_RESULT_ACCEPTED, false },
		  OCPP_RESULT_ACCEPTED },
		{ UP_DOWN_REMOTE_START, { 0, 1, 0, OCPP_RESULT_REJECTED, false },
		  OCPP_RESULT_REJECTED },
		/* anything else: all yes */
		{ UP_DOWN_REMOTE_STOP, { 1, 0, 0, OCPP_RESULT_ACCEPTED, false },
		  OCPP_RESULT_ACCEPTED },
		{ UP_DOWN_REMOTE_STOP, { 0, 1, 0, OCPP_RESULT_NONE, true },
		  OCPP_RESULT_REJECTED },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum ocpp_result r = uplink_down_result(cases[i].t, &cases[i].n);

		if (r != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, ocpp_result_name(r),
			    ocpp_result_name(cases[i].want));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_answer_from_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
