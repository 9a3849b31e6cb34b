/*
 * Unit tests for control/ems with a fresh event_base and no broker: the
 * failsafe when the broker stays unreachable (and the reason saying it
 * refused), and the refusal of unreadable TLS files. The payload parsers
 * are tested in test_emsmsg.c, the MQTT link in test_mqtt.c; the module
 * against a real broker in tests/integration/ems.test.js.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "control/ems.h"

/* ------------------------------------------ the module, without a broker */

/* Hand-made options (not validated: limit_timeout_s may be 1 here). */
struct fixture {
	struct event_base *base;
	struct ems_opts opts;
	char host[16], prefix[32], client_id[32];
	int nlimits;
	struct ems_limit last;
};

static int
closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);		/* nothing listens there now */
	return port;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	snprintf(f->host, sizeof f->host, "127.0.0.1");
	snprintf(f->prefix, sizeof f->prefix, "sitegate/unit");
	snprintf(f->client_id, sizeof f->client_id, "sitegate-unit");
	f->opts.host = f->host;
	f->opts.port = (uint16_t)closed_port();
	f->opts.prefix = f->prefix;
	f->opts.client_id = f->client_id;
	f->opts.limit_timeout_s = 1;
	f->opts.keepalive_s = 30;
	f->opts.voltage_v = 230;
	f->opts.failsafe_a = 13;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	event_base_free(f->base);
	free(f);
	return 0;
}

static void
record_limit(const struct ems_limit *l, void *arg)
{
	struct fixture *f = arg;

	f->nlimits++;
	f->last = *l;
	event_base_loopbreak(f->base);
}

static void
test_unreachable_failsafe(void **state)
{
	struct fixture *f = *state;
	struct ems_callbacks cb = { record_limit, NULL, f };
	struct timeval bound = { 10, 0 };
	struct ems_state st;
	char *cause = NULL;
	struct ems *e;
	cJSON *doc;

	e = ems_new(f->base, &f->opts, &cb, &cause);
	assert_non_null(e);
	assert_null(cause);
	/* Failsafe from the start, and no callback inside ems_new. */
	assert_int_equal(f->nlimits, 0);
	assert_int_equal(ems_limit(e)->source, EMS_SOURCE_FAILSAFE);
	assert_int_equal(ems_limit(e)->reason, EMS_REASON_STARTUP);
	assert_true(ems_limit(e)->current_a[1] == 13);
	/* Held while disconnected; a bad n or a non-object is refused. */
	doc = cJSON_CreateObject();
	assert_int_equal(ems_publish_status(e, doc), EMS_OK);
	assert_int_equal(ems_publish_evse(e, 3, doc), EMS_OK);
	assert_int_equal(ems_publish_evse(e, 0, doc), EMS_ERR_RANGE);
	assert_int_equal(ems_publish_evse(e, EMS_EVSE_MAX + 1, doc),
	    EMS_ERR_RANGE);
	cJSON_Delete(doc);
	doc = cJSON_CreateArray();
	assert_int_equal(ems_publish_status(e, doc), EMS_ERR_RANGE);
	cJSON_Delete(doc);

	/* After limit_timeout_s (1 s here) without a broker, the reason says
	 * so; bounded by a 10 s loop exit. */
	event_base_loopexit(f->base, &bound);
	event_base_dispatch(f->base);
	assert_int_equal(f->nlimits, 1);
	assert_int_equal(f->last.source, EMS_SOURCE_FAILSAFE);
	assert_int_equal(f->last.reason, EMS_REASON_BROKER_UNREACHABLE);
	assert_true(f->last.current_a[0] == 13 && f->last.current_a[2] == 13);
	ems_state(e, &st);
	assert_false(st.connected);
	assert_int_equal(st.connects, 0);
	assert_non_null(strstr(st.last_error, "refused"));
	assert_true(st.last_error_ms > 0);

	/* A new failsafe current applies at once (reported from the loop). */
	f->opts.failsafe_a = 10;
	assert_int_equal(ems_reconfigure(e, &f->opts, &cause), EMS_OK);
	assert_int_equal(f->nlimits, 1);
	event_base_loopexit(f->base, &bound);
	event_base_dispatch(f->base);
	assert_int_equal(f->nlimits, 2);
	assert_true(f->last.current_a[1] == 10);
	assert_int_equal(f->last.reason, EMS_REASON_BROKER_UNREACHABLE);
	ems_free(e);
	ems_free(NULL);
}

static void
test_tls_files_refused(void **state)
{
	struct fixture *f = *state;
	char ca[] = "/nonexistent/ca.pem", *cause = NULL;
	struct ems *e;

	f->opts.ca_file = ca;
	e = ems_new(f->base, &f->opts, NULL, &cause);
	assert_null(e);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "mqtt.tls"));
	free(cause);

	/* On reconfigure the running link stays. */
	f->opts.ca_file = NULL;
	e = ems_new(f->base, &f->opts, NULL, &cause);
	assert_non_null(e);
	f->opts.ca_file = ca;
	assert_int_equal(ems_reconfigure(e, &f->opts, &cause), EMS_ERR_INVALID);
	assert_non_null(strstr(cause, "mqtt.tls"));
	free(cause);
	ems_free(e);

	/* No broker: no link. */
	f->opts.host = NULL;
	assert_null(ems_new(f->base, &f->opts, NULL, &cause));
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unreachable_failsafe, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tls_files_refused, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
