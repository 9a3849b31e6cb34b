/*
 * sse: streams over a real evhttp server on loopback — the first event
 * goes whole to a new stream and partial ones to the others, at most max
 * streams, a browser that stops reading is cut off once its backlog passes
 * SSE_BACKLOG_MAX (and only it: a reading stream goes on), a browser that
 * goes away frees its stream.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "http/sse.h"

struct fixture {
	struct event_base *base;
	struct evhttp *http;
	struct sse *sse;
	int port;
	int refused;
};

static void
on_req(struct evhttp_request *req, void *arg)
{
	struct fixture *f = arg;

	if (sse_open(f->sse, req) != 0) {
		f->refused++;
		evhttp_send_error(req, 503, NULL);
	}
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;

	f->base = event_base_new();
	f->http = evhttp_new(f->base);
	f->sse = sse_new(f->base, 2);
	evhttp_set_gencb(f->http, on_req, f);
	bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
	assert_non_null(bs);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
	f->port = ntohs(sa.sin_port);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	sse_free(f->sse);
	evhttp_free(f->http);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* A client that asks for a stream; rcvbuf small when it will not read. */
static int
client(struct fixture *f, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)f->port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	static const char req[] = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";

	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Run the loop until cond(f) or 5 s. */
static void
run_until(struct fixture *f, int (*cond)(struct fixture *))
{
	for (int i = 0; i < 5000 && !cond(f); i++) {
		struct timeval tv = { 0, 1000 };

		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
}

static int
two_open(struct fixture *f)
{
	return sse_count(f->sse) == 2;
}

static int
one_open(struct fixture *f)
{
	return sse_count(f->sse) == 1;
}

static int
one_refused(struct fixture *f)
{
	return f->refused == 1;
}

/* Read what the client has (non-blocking) into buf. */
static size_t
drain(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return n;
}

static void
test_full_then_partial_and_max(void **state)
{
	struct fixture *f = *state;
	char buf[4096];
	int a = client(f, 0), b, c;

	run_until(f, one_open);
	assert_int_equal(sse_count(f->sse), 1);
	assert_true(sse_want_full(f->sse));
	sse_send(f->sse, "state", "{\"full\":true}", "{\"full\":false}");
	assert_false(sse_want_full(f->sse));
	b = client(f, 0);
	run_until(f, two_open);
	assert_true(sse_want_full(f->sse));
	sse_send(f->sse, "state", "{\"full\":true,\"n\":2}", "{\"full\":false,\"n\":2}");
	/* A third is refused: max is 2. */
	c = client(f, 0);
	run_until(f, one_refused);
	assert_int_equal(f->refused, 1);
	run_until(f, two_open);
	drain(a, buf, sizeof buf);
	assert_non_null(strstr(buf, "text/event-stream"));
	assert_non_null(strstr(buf, "event: state\ndata: {\"full\":true}\n\n"));
	assert_non_null(strstr(buf, "data: {\"full\":false,\"n\":2}\n\n"));
	assert_null(strstr(buf, "\"full\":true,\"n\":2"));
	drain(b, buf, sizeof buf);
	assert_non_null(strstr(buf, "data: {\"full\":true,\"n\":2}\n\n"));
	assert_null(strstr(buf, "{\"full\":false"));
	/* A browser that goes away frees its place. */
	close(a);
	run_until(f, one_open);
	assert_int_equal(sse_count(f->sse), 1);
	close(b);
	close(c);
}

static void
test_stalled_reader_cut_off(void **state)
{
	struct fixture *f = *state;
	size_t big = 256 * 1024, got = 0;
	char *event = malloc(big + 1), buf[65536];
	int stalled = client(f, 4096), reader = client(f, 0), rounds = 0;

	memset(event, 'x', big);
	event[big] = '\0';
	run_until(f, two_open);
	/* Far more than the backlog bound; the reader keeps reading. */
	while (sse_count(f->sse) == 2 && rounds < 200) {
		sse_send(f->sse, "state", event, event);
		for (int i = 0; i < 20; i++) {
			struct timeval tv = { 0, 1000 };

			event_base_loopexit(f->base, &tv);
			event_base_dispatch(f->base);
			got += drain(reader, buf, sizeof buf);
		}
		rounds++;
	}
	assert_int_equal(sse_count(f->sse), 1);
	assert_true(rounds < 200);
	/* The one left is the reader: it still gets events. */
	sse_send(f->sse, "state", "{\"after\":1}", "{\"after\":1}");
	for (int i = 0; i < 200; i++) {
		struct timeval tv = { 0, 1000 };

		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
		got += drain(reader, buf, sizeof buf);
		if (strstr(buf, "{\"after\":1}") != NULL)
			break;
	}
	assert_non_null(strstr(buf, "{\"after\":1}"));
	assert_true(got > SSE_BACKLOG_MAX);
	close(stalled);
	close(reader);
	free(event);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_then_partial_and_max,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_reader_cut_off,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
