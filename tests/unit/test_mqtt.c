/*
 * Unit tests for transport/mqtt, each with a fresh event_base and a
 * resolver of the test's own (evdns with a hosts file the test writes, and
 * no name server unless the test adds one), so that a name can resolve to
 * several addresses in a chosen order:
 *
 *   - every address refused: each is tried, the reason names each one as
 *     refused, the kind is MQTT_DOWN_REFUSED, the retry is 0.5..1 s away;
 *   - the first address without a broker, the second with one (a small
 *     fake broker on 127.0.0.1 that answers CONNECT with CONNACK 0): the
 *     link comes up through the second, and a publish reaches the broker;
 *   - a name that does not resolve (a name server that refuses quickly);
 *   - TLS files that cannot be read are refused by mqtt_new;
 *   - freeing the link while its lookup is pending (a name server that
 *     never answers) leaves nothing behind (ASan's leak check).
 *
 * The link against a real mosquitto, with TLS, is covered through the
 * gateway in tests/integration/ems.test.js.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "transport/mqtt.h"

#define NAME "broker.sitegate.test"

struct fx {
	struct event_base *base;
	struct evdns_base *dns;
	char hosts[64];			/* the hosts file's path */
	int ups, downs;
	struct mqtt_down down;
	char why[MQTT_WHY_LEN];
	/* the fake broker */
	int lfd;
	uint16_t port;
	struct event *lev, *cev;
	int cfd;
	int accepts;
	unsigned char in[4096];
	size_t inlen;
	int packets[16];		/* types of the packets received */
	int npackets;
};

/* ------------------------------------------------------------ fixture */

/* A socket of type (SOCK_STREAM, SOCK_DGRAM) bound to 127.0.0.1:0; *port
 * receives its port. */
static int
bound_v4(int type, uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, type, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Resolve NAME through a hosts file holding lines. */
static void
use_hosts(struct fx *f, const char *lines)
{
	FILE *h = fopen(f->hosts, "w");

	assert_non_null(h);
	fputs(lines, h);
	fclose(h);
	assert_int_equal(evdns_base_load_hosts(f->dns, f->hosts), 0);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	int fd;

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->dns = evdns_base_new(f->base, 0);
	assert_non_null(f->dns);
	snprintf(f->hosts, sizeof f->hosts, "/tmp/test_mqtt_hosts.XXXXXX");
	fd = mkstemp(f->hosts);
	assert_true(fd >= 0);
	close(fd);
	f->lfd = f->cfd = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->cev != NULL)
		event_free(f->cev);
	if (f->lev != NULL)
		event_free(f->lev);
	if (f->cfd >= 0)
		close(f->cfd);
	if (f->lfd >= 0)
		close(f->lfd);
	evdns_base_free(f->dns, 0);
	event_base_free(f->base);
	unlink(f->hosts);
	free(f);
	return 0;
}

static void
on_up(void *arg)
{
	struct fx *f = arg;

	f->ups++;
	event_base_loopbreak(f->base);
}

static void
on_down(const struct mqtt_down *d, void *arg)
{
	struct fx *f = arg;

	f->downs++;
	f->down = *d;
	snprintf(f->why, sizeof f->why, "%s", d->why);
	f->down.why = f->why;
	event_base_loopbreak(f->base);
}

static const struct mqtt_handler handler = { on_up, on_down, NULL, NULL };

/* Options for NAME at port through the test's resolver. */
static struct mqtt_opts
opts_for(struct fx *f, const char *host, uint16_t port)
{
	struct mqtt_opts o;

	memset(&o, 0, sizeof o);
	o.log_name = "test";
	o.host = host;
	o.port = port;
	o.client_id = "sitegate-unit";
	o.keepalive_s = 30;
	o.dns = f->dns;
	return o;
}

/* Run the loop until a callback breaks it; 10 s at most. */
static void
run(struct fx *f)
{
	struct timeval bound = { 10, 0 };

	event_base_loopexit(f->base, &bound);
	event_base_dispatch(f->base);
}

/* ---------------------------------------------------- the fake broker */

/* Read what the client sent; answer CONNECT with CONNACK 0; note the
 * type of every whole packet. */
static void
broker_read(evutil_socket_t fd, short what, void *arg)
{
	static const unsigned char connack[] = { 0x20, 0x02, 0x00, 0x00 };
	struct fx *f = arg;
	ssize_t n;
	size_t off = 0;

	(void)what;
	n = recv(fd, f->in + f->inlen, sizeof f->in - f->inlen, 0);
	if (n <= 0) {
		event_del(f->cev);
		return;
	}
	f->inlen += (size_t)n;
	/* Whole packets: a type byte, a variable-length remaining length. */
	for (;;) {
		size_t rem = 0, i = off + 1;
		unsigned shift = 0;

		if (i >= f->inlen)
			break;
		while (i < f->inlen && (f->in[i] & 0x80)) {
			rem |= (size_t)(f->in[i] & 0x7f) << shift;
			shift += 7;
			i++;
		}
		if (i >= f->inlen)
			break;
		rem |= (size_t)f->in[i] << shift;
		if (i + 1 + rem > f->inlen)
			break;
		if (f->npackets < 16)
			f->packets[f->npackets++] = f->in[off] >> 4;
		if ((f->in[off] >> 4) == 1)		/* CONNECT */
			assert_int_equal(send(fd, connack, sizeof connack, 0),
			    (ssize_t)sizeof connack);
		if ((f->in[off] >> 4) == 3)		/* PUBLISH */
			event_base_loopbreak(f->base);
		off = i + 1 + rem;
	}
	memmove(f->in, f->in + off, f->inlen - off);
	f->inlen -= off;
}

static void
broker_accept(evutil_socket_t fd, short what, void *arg)
{
	struct fx *f = arg;
	int c = accept(fd, NULL, NULL);

	(void)what;
	assert_true(c >= 0);
	assert_int_equal(f->cfd, -1);	/* one connection only */
	f->accepts++;
	f->cfd = c;
	f->cev = event_new(f->base, c, EV_READ | EV_PERSIST, broker_read, f);
	assert_non_null(f->cev);
	event_add(f->cev, NULL);
}

/* A broker on 127.0.0.1 only; its port is f->port. */
static void
broker_start(struct fx *f)
{
	f->lfd = bound_v4(SOCK_STREAM, &f->port);
	assert_int_equal(listen(f->lfd, 4), 0);
	f->lev = event_new(f->base, f->lfd, EV_READ | EV_PERSIST, broker_accept,
	    f);
	assert_non_null(f->lev);
	event_add(f->lev, NULL);
}

/* -------------------------------------------------------------- tests */

static void
test_every_address_refused(void **state)
{
	struct fx *f = *state;
	struct mqtt_opts o;
	struct mqtt *m;
	char *cause = NULL, want[MQTT_WHY_LEN];
	uint16_t port;
	int fd = bound_v4(SOCK_STREAM, &port);

	close(fd);		/* nothing listens on that port now */
	/* Two IPv4 loopback addresses: both refuse on any machine. */
	use_hosts(f, "127.0.0.2 " NAME "\n127.0.0.1 " NAME "\n");
	o = opts_for(f, NAME, port);
	m = mqtt_new(f->base, &o, &handler, f, &cause);
	assert_non_null(m);
	assert_null(cause);
	assert_int_equal(f->downs, 0);	/* nothing from inside mqtt_new */
	run(f);
	assert_int_equal(f->downs, 1);
	assert_int_equal(f->ups, 0);
	assert_int_equal(f->down.kind, MQTT_DOWN_REFUSED);
	snprintf(want, sizeof want, "127.0.0.2:%u refused, 127.0.0.1:%u refused",
	    port, port);
	assert_string_equal(f->down.why, want);
	assert_false(f->down.was_up);
	assert_true(f->down.retry_in_ms >= 500 && f->down.retry_in_ms <= 1000);
	assert_false(mqtt_is_up(m));
	assert_int_equal(mqtt_publish(m, "t", "x", 1, 0, false), MQTT_E_DOWN);
	mqtt_free(m);
}

static void
test_next_address_has_the_broker(void **state)
{
	struct fx *f = *state;
	struct mqtt_opts o;
	struct mqtt *m;
	char *cause = NULL, hosts[128];

	broker_start(f);
	/* Debian's order for localhost: ::1 first, where no broker is. */
	snprintf(hosts, sizeof hosts, "::1 %s\n127.0.0.1 %s\n", NAME, NAME);
	use_hosts(f, hosts);
	o = opts_for(f, NAME, f->port);
	m = mqtt_new(f->base, &o, &handler, f, &cause);
	assert_non_null(m);
	run(f);
	assert_int_equal(f->downs, 0);
	assert_int_equal(f->ups, 1);
	assert_true(mqtt_is_up(m));
	assert_int_equal(f->accepts, 1);
	assert_int_equal(f->packets[0], 1);	/* CONNECT */
	/* The link carries: a publish reaches the broker. */
	assert_int_equal(mqtt_publish(m, "sitegate/t", "{}", 2, 0, false),
	    MQTT_OK);
	run(f);
	assert_int_equal(f->npackets, 2);
	assert_int_equal(f->packets[1], 3);	/* PUBLISH */
	mqtt_free(m);
}

static void
test_name_does_not_resolve(void **state)
{
	struct fx *f = *state;
	struct mqtt_opts o;
	struct mqtt *m;
	char *cause = NULL, ns[32];
	uint16_t port;
	int fd = bound_v4(SOCK_DGRAM, &port);

	/* A name server that is not there: each query is refused at once
	 * (ICMP), and evdns gives up after one short try. */
	close(fd);
	snprintf(ns, sizeof ns, "127.0.0.1:%u", port);
	assert_int_equal(evdns_base_nameserver_ip_add(f->dns, ns), 0);
	assert_int_equal(evdns_base_set_option(f->dns, "timeout:", "0.2"), 0);
	assert_int_equal(evdns_base_set_option(f->dns, "attempts:", "1"), 0);
	o = opts_for(f, "nothing.sitegate.test", 1883);
	m = mqtt_new(f->base, &o, &handler, f, &cause);
	assert_non_null(m);
	run(f);
	assert_int_equal(f->downs, 1);
	assert_int_equal(f->down.kind, MQTT_DOWN_RESOLVE);
	assert_non_null(strstr(f->down.why,
	    "cannot resolve nothing.sitegate.test: "));
	mqtt_free(m);
}

static void
test_tls_files_refused(void **state)
{
	struct fx *f = *state;
	struct mqtt_opts o = opts_for(f, NAME, 8883);
	char *cause = NULL;

	o.ca_file = "/nonexistent/ca.pem";
	assert_null(mqtt_new(f->base, &o, &handler, f, &cause));
	assert_non_null(cause);
	assert_string_equal(cause, "cannot read ca_file=/nonexistent/ca.pem: "
	    "No such file or directory");
	free(cause);
	/* A file that is no certificate. */
	o.ca_file = f->hosts;
	assert_null(mqtt_new(f->base, &o, &handler, f, &cause));
	assert_non_null(strstr(cause, "cannot load the CA file "));
	assert_non_null(strstr(cause, f->hosts));
	free(cause);
	/* No host. */
	o.host = NULL;
	assert_null(mqtt_new(f->base, &o, &handler, f, &cause));
	free(cause);
}

static void
test_free_while_resolving(void **state)
{
	struct fx *f = *state;
	struct timeval tick = { 0, 200000 };
	struct mqtt_opts o;
	struct mqtt *m;
	char *cause = NULL, ns[32];
	uint16_t port;
	int fd = bound_v4(SOCK_DGRAM, &port);	/* kept open: it never answers */

	snprintf(ns, sizeof ns, "127.0.0.1:%u", port);
	assert_int_equal(evdns_base_nameserver_ip_add(f->dns, ns), 0);
	o = opts_for(f, "slow.sitegate.test", 1883);
	m = mqtt_new(f->base, &o, &handler, f, &cause);
	assert_non_null(m);
	/* Long enough for the lookup to start, not to end. */
	event_base_loopexit(f->base, &tick);
	event_base_dispatch(f->base);
	assert_int_equal(f->downs + f->ups, 0);
	mqtt_free(m);
	/* The cancelled lookup reports from the loop, to nobody. */
	event_base_loopexit(f->base, &tick);
	event_base_dispatch(f->base);
	assert_int_equal(f->downs + f->ups, 0);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_address_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_next_address_has_the_broker,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_does_not_resolve, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tls_files_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_while_resolving, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
