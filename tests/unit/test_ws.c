/*
 * Unit tests for transport/ws.
 *
 * Framing: a ws_conn (server side) on one end of a socketpair, and raw
 * bytes written by the test on the other, one row per kind of bad frame
 * with the close code it must earn. Then timers (ping, idle), the output
 * bound, and the server and client over loopback TCP: subprotocols, auth
 * answers, duplicate identities, the connection limit, the handshake
 * bounds, and a clean shutdown. Sending: a frame leaves within
 * ws_conn_send(), and frames stay whole and in order when the socket is
 * full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "transport/ws.h"
#include "util/log.h"

/* ---------------------------------------------------------------- fixture */

struct side {			/* what a ws_conn's callbacks recorded */
	struct ws_conn *conn;
	char msgs[8][256];
	int nmsgs;
	bool opened, closed;
	struct ws_close_info info;
	char reason[128];
};

struct raw {			/* a socket the test reads and writes itself */
	int fd;
	struct event *ev;
	unsigned char in[1 << 16];
	size_t len;
	bool eof;
};

struct fx {
	struct event_base *base;
	struct side s, c;	/* server side, client side */
	struct side extra;
	struct raw raw;
	struct ws_server *srv;
	int connects;
	bool timed_out;
	const char *want_password;
};

static void
side_open(struct ws_conn *conn, void *arg)
{
	struct side *s = arg;

	s->conn = conn;
	s->opened = true;
}

static void
side_message(struct ws_conn *conn, const char *text, size_t len, void *arg)
{
	struct side *s = arg;

	(void)conn;
	if (s->nmsgs < 8)
		snprintf(s->msgs[s->nmsgs++], sizeof s->msgs[0], "%.*s", (int)len,
		    text);
}

static void
side_close(struct ws_conn *conn, const struct ws_close_info *info, void *arg)
{
	struct side *s = arg;

	(void)conn;
	s->closed = true;
	s->info = *info;
	snprintf(s->reason, sizeof s->reason, "%s", info->reason);
	s->info.reason = s->reason;
	s->conn = NULL;
}

static const struct ws_handler side_handler = { side_open, side_message,
	side_close };

static void
raw_read(evutil_socket_t fd, short what, void *arg)
{
	struct raw *r = arg;
	ssize_t n;

	(void)what;
	n = read(fd, r->in + r->len, sizeof r->in - r->len);
	if (n > 0)
		r->len += (size_t)n;
	else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		r->eof = true;
		event_del(r->ev);
	}
}

static void
raw_start(struct fx *fx, int fd)
{
	fx->raw.fd = fd;
	evutil_make_socket_nonblocking(fd);
	fx->raw.ev = event_new(fx->base, fd, EV_READ | EV_PERSIST, raw_read,
	    &fx->raw);
	event_add(fx->raw.ev, NULL);
}

static void
raw_write(struct fx *fx, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = write(fx->raw.fd, p, len);

		if (n < 0 && errno == EAGAIN) {
			event_base_loop(fx->base, EVLOOP_NONBLOCK);
			continue;
		}
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* A client frame: masked with a fixed key. */
static size_t
frame(unsigned char *out, int fin_rsv_op, const void *payload, size_t len,
    bool mask)
{
	static const unsigned char key[4] = { 0x11, 0x22, 0x33, 0x44 };
	size_t o = 0;

	out[o++] = (unsigned char)fin_rsv_op;
	if (len < 126) {
		out[o++] = (unsigned char)((mask ? 0x80 : 0) | len);
	} else if (len < 65536) {
		out[o++] = (unsigned char)((mask ? 0x80 : 0) | 126);
		out[o++] = (unsigned char)(len >> 8);
		out[o++] = (unsigned char)len;
	} else {
		out[o++] = (unsigned char)((mask ? 0x80 : 0) | 127);
		for (int i = 7; i >= 0; i--)
			out[o++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	if (mask) {
		memcpy(out + o, key, 4);
		o += 4;
	}
	for (size_t i = 0; i < len; i++)
		out[o + i] = ((const unsigned char *)payload)[i] ^
		    (mask ? key[i % 4] : 0);
	return o + len;
}

/* Find the first server frame with opcode op in what the raw side got.
 * Returns its payload length, or -1. */
static long
find_frame(const struct raw *r, int op, unsigned char *payload)
{
	size_t off = 0;

	while (off + 2 <= r->len) {
		int opcode = r->in[off] & 0x0f;
		size_t len = r->in[off + 1] & 0x7f, hdr = 2;

		if (r->in[off + 1] & 0x80)
			return -2;	/* a server must not mask */
		if (len == 126) {
			if (off + 4 > r->len)
				return -1;
			len = (size_t)r->in[off + 2] << 8 | r->in[off + 3];
			hdr = 4;
		} else if (len == 127) {
			return -1;
		}
		if (off + hdr + len > r->len)
			return -1;
		if (opcode == op) {
			memcpy(payload, r->in + off + hdr, len);
			return (long)len;
		}
		off += hdr + len;
	}
	return -1;
}

static int
close_code_seen(const struct raw *r)
{
	unsigned char p[128];
	long n = find_frame(r, 0x8, p);

	if (n < 0)
		return (int)n;
	return n >= 2 ? p[0] << 8 | p[1] : 0;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct fx *fx = arg;

	(void)fd;
	(void)what;
	fx->timed_out = true;
	event_base_loopbreak(fx->base);
}

static void
run_until(struct fx *fx, bool (*pred)(struct fx *), int ms, const char *what)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };
	struct event *t = evtimer_new(fx->base, on_deadline, fx);

	fx->timed_out = false;
	evtimer_add(t, &tv);
	while (!pred(fx) && !fx->timed_out)
		event_base_loop(fx->base, EVLOOP_ONCE);
	event_free(t);
	if (!pred(fx))
		fail_msg("timed out waiting for %s", what);
}

static bool
raw_eof(struct fx *fx)
{
	return fx->raw.eof;
}

static bool
raw_has_pong(struct fx *fx)
{
	unsigned char p[128];

	return find_frame(&fx->raw, 0xa, p) >= 0;
}

static bool
server_closed(struct fx *fx)
{
	return fx->s.closed;
}

static bool
client_closed(struct fx *fx)
{
	return fx->c.closed;
}

static bool
client_opened(struct fx *fx)
{
	return fx->c.opened || fx->c.closed;
}

static bool
server_has_msg(struct fx *fx)
{
	return fx->s.nmsgs > 0;
}

static bool
client_has_msg(struct fx *fx)
{
	return fx->c.nmsgs > 0;
}

/* A server-side conn on a socketpair, the other end raw. */
static void
fx_pair(struct fx *fx, const struct ws_limits *lim)
{
	int sv[2];

	memset(fx, 0, sizeof *fx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fx->base = event_base_new();
	fx->s.conn = ws_conn_adopt(fx->base, sv[0], true, lim, "CP-T", "ocpp1.6",
	    &side_handler, &fx->s);
	assert_non_null(fx->s.conn);
	raw_start(fx, sv[1]);
}

static void
fx_stop(struct fx *fx)
{
	if (fx->raw.ev != NULL) {
		event_free(fx->raw.ev);
		close(fx->raw.fd);
	}
	if (fx->c.conn != NULL && !fx->c.closed)
		ws_conn_free(fx->c.conn);
	if (fx->srv != NULL)
		ws_server_free(fx->srv);	/* also its connections */
	else if (fx->s.conn != NULL && !fx->s.closed)
		ws_conn_free(fx->s.conn);
	/* Let deferred frees run. */
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	event_base_free(fx->base);
}

/* ---------------------------------------------------------------- framing */

struct bad_frame {
	const char *name;
	int op;			/* first byte */
	const char *payload;
	size_t len;
	bool mask;
	int expect;		/* close code the server sends */
};

static void
test_bad_frames(void **state)
{
	static const struct bad_frame cases[] = {
		{ "unmasked", 0x81, "[]", 2, false, 1002 },
		{ "rsv1", 0xc1, "[]", 2, true, 1002 },
		{ "opcode 3", 0x83, "[]", 2, true, 1002 },
		{ "continuation first", 0x80, "[]", 2, true, 1002 },
		{ "fragmented ping", 0x09, "p", 1, true, 1002 },
		{ "control too long", 0x89, NULL, 126, true, 1002 },
		{ "bad close code", 0x88, "\x03\xed", 2, true, 1002 },
		{ "invalid utf-8", 0x81, "[\xff]", 3, true, 1007 },
		{ "truncated utf-8", 0x81, "\xc3", 1, true, 1007 },
		{ "utf-16 surrogate", 0x81, "\xed\xa0\x80", 3, true, 1007 },
		{ "binary", 0x82, "[]", 2, true, 1003 },
		{ "too big", 0x81, NULL, 2000, true, 1009 },
	};
	struct ws_limits lim = { .max_message_bytes = 1024,
		.close_timeout_ms = 200 };
	unsigned char *buf = malloc(4096), *pl = calloc(1, 2000);

	(void)state;
	memset(pl, 'a', 2000);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct fx fx;
		size_t n;

		fx_pair(&fx, &lim);
		n = frame(buf, cases[i].op, cases[i].payload ? cases[i].payload :
		    (const char *)pl, cases[i].len, cases[i].mask);
		raw_write(&fx, buf, n);
		run_until(&fx, raw_eof, 3000, cases[i].name);
		if (close_code_seen(&fx.raw) != cases[i].expect)
			fail_msg("%s: close code %d, expected %d", cases[i].name,
			    close_code_seen(&fx.raw), cases[i].expect);
		run_until(&fx, server_closed, 3000, "on_close");
		assert_int_equal(fx.s.info.code, cases[i].expect);
		assert_int_equal(fx.s.nmsgs, 0);
		fx_stop(&fx);
	}
	free(buf);
	free(pl);
}

static void
test_huge_length_header(void **state)
{
	/* A header announcing 2^40 bytes: refused with 1009 as soon as the
	 * payload starts, without allocating it. */
	static const unsigned char hdr[] = { 0x81, 0xff, 0, 0, 0x01, 0, 0, 0, 0,
		0, 1, 2, 3, 4, 'x', 'y' };
	struct fx fx;

	(void)state;
	fx_pair(&fx, NULL);
	raw_write(&fx, hdr, sizeof hdr);
	run_until(&fx, raw_eof, 3000, "the drop");
	assert_int_equal(close_code_seen(&fx.raw), 1009);
	fx_stop(&fx);
}

static void
test_fragments_ping_close(void **state)
{
	unsigned char buf[256], p[128];
	struct fx fx;
	size_t n;

	(void)state;
	fx_pair(&fx, NULL);
	/* "Hel" + ping + "lo" reassembled; the ping answered in between. */
	n = frame(buf, 0x01, "Hel", 3, true);
	n += frame(buf + n, 0x89, "pp", 2, true);
	n += frame(buf + n, 0x80, "lo", 2, true);
	raw_write(&fx, buf, n);
	run_until(&fx, server_has_msg, 3000, "the message");
	assert_string_equal(fx.s.msgs[0], "Hello");
	run_until(&fx, raw_has_pong, 3000, "the pong");
	assert_int_equal(find_frame(&fx.raw, 0xa, p), 2);
	assert_memory_equal(p, "pp", 2);
	/* The server sends unmasked text. */
	assert_int_equal(ws_conn_send(fx.s.conn, "hi", 2), WS_OK);
	assert_int_equal(ws_conn_send(fx.s.conn, "", 0), WS_E_ARG);
	/* Close from the peer: echoed, reported with code and reason. */
	n = frame(buf, 0x88, "\x0f\xa0" "bye", 5, true);
	raw_write(&fx, buf, n);
	run_until(&fx, raw_eof, 3000, "the drop");
	assert_int_equal(close_code_seen(&fx.raw), 4000);
	assert_int_equal(find_frame(&fx.raw, 0x1, p), 2);
	run_until(&fx, server_closed, 3000, "on_close");
	assert_int_equal(fx.s.info.code, 4000);
	assert_string_equal(fx.s.info.reason, "bye");
	fx_stop(&fx);
}

static void
test_ping_timeout(void **state)
{
	struct ws_limits lim = { .ping_interval_ms = 100 };
	unsigned char p[16];
	struct fx fx;

	(void)state;
	fx_pair(&fx, &lim);
	/* The raw side never answers: one ping, then the drop. */
	run_until(&fx, server_closed, 3000, "the ping timeout");
	assert_int_equal(find_frame(&fx.raw, 0x9, p), 0);
	assert_int_equal(fx.s.info.code, 1006);
	assert_string_equal(fx.s.info.reason, "ping timeout");
	fx_stop(&fx);
}

static void
test_pong_keeps_alive(void **state)
{
	struct ws_limits lim = { .ping_interval_ms = 60 };
	unsigned char buf[32], p[16];
	struct fx fx;
	int pongs = 0;

	(void)state;
	fx_pair(&fx, &lim);
	/* Answer five pings; the connection stays. */
	while (pongs < 5) {
		size_t n;

		fx.raw.len = 0;
		while (find_frame(&fx.raw, 0x9, p) < 0 && !fx.s.closed)
			event_base_loop(fx.base, EVLOOP_ONCE);
		assert_false(fx.s.closed);
		n = frame(buf, 0x8a, NULL, 0, true);
		raw_write(&fx, buf, n);
		pongs++;
	}
	assert_false(fx.s.closed);
	fx_stop(&fx);
}

static void
test_idle_timeout(void **state)
{
	struct ws_limits lim = { .idle_timeout_ms = 150,
		.close_timeout_ms = 200 };
	struct fx fx;

	(void)state;
	fx_pair(&fx, &lim);
	run_until(&fx, raw_eof, 3000, "the idle close");
	assert_int_equal(close_code_seen(&fx.raw), 1001);
	run_until(&fx, server_closed, 3000, "on_close");
	fx_stop(&fx);
}

static void
test_output_bound(void **state)
{
	struct ws_limits lim = { .max_output_bytes = 256 * 1024 };
	char *big = malloc(60000);
	struct fx fx;
	int sent = 0;

	(void)state;
	memset(big, 'x', 60000);
	fx_pair(&fx, &lim);
	/* The raw side stops reading: the kernel buffers fill, then ours,
	 * then the connection is dropped instead of growing without end. */
	event_del(fx.raw.ev);
	while (ws_conn_send(fx.s.conn, big, 60000) == WS_OK && sent < 1000) {
		sent++;
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
	}
	assert_true(sent < 1000);
	run_until(&fx, server_closed, 3000, "on_close");
	assert_string_equal(fx.s.info.reason, "peer does not read");
	free(big);
	fx_stop(&fx);
}

/* A frame leaves within ws_conn_send() on a plain socket: the peer reads
 * it before the loop runs again (a burst of profiles must not wait for
 * the sender to finish the burst). */
static void
test_send_writes_now(void **state)
{
	unsigned char buf[256], want[64];
	size_t n = frame(want, 0x81, "profile", 7, false);
	struct fx fx;
	ssize_t r;

	(void)state;
	fx_pair(&fx, NULL);
	assert_int_equal(ws_conn_send(fx.s.conn, "profile", 7), WS_OK);
	r = read(fx.raw.fd, buf, sizeof buf);
	assert_int_equal(r, (ssize_t)n);
	assert_memory_equal(buf, want, n);
	fx_stop(&fx);
}

/* Written at once while the socket takes them, queued when it does not,
 * and all of them delivered whole and in order. */
static void
test_send_order_under_backpressure(void **state)
{
	enum { N = 200, LEN = 4000 };	/* 800 kB: more than the socket takes */
	char *msg = malloc(LEN);
	struct fx fx;
	size_t off = 0;
	int next = 0;

	(void)state;
	fx_pair(&fx, NULL);
	event_del(fx.raw.ev);		/* not read until all are sent */
	for (int i = 0; i < N; i++) {
		/* Halfway, with frames queued behind a full socket, the peer
		 * makes room: the next frames must still wait their turn. */
		if (i == N / 2)
			raw_read(fx.raw.fd, EV_READ, &fx.raw);
		memset(msg, 'a' + i % 26, LEN);
		snprintf(msg, LEN, "%06d", i);
		msg[6] = '-';
		assert_int_equal(ws_conn_send(fx.s.conn, msg, LEN), WS_OK);
	}
	event_add(fx.raw.ev, NULL);
	while (next < N) {
		const unsigned char *f = fx.raw.in + off;
		size_t have = fx.raw.len - off, len;

		if (have < 4 || have < 4 + (size_t)(f[2] << 8 | f[3])) {
			if (fx.raw.len == sizeof fx.raw.in) {
				memmove(fx.raw.in, f, have);
				fx.raw.len = have;
				off = 0;
			}
			assert_false(fx.raw.eof);
			event_base_loop(fx.base, EVLOOP_ONCE);
			continue;
		}
		assert_int_equal(f[0], 0x81);
		assert_int_equal(f[1], 126);
		len = (size_t)(f[2] << 8 | f[3]);
		assert_int_equal(len, LEN);
		snprintf(msg, 12, "%06d", next);
		assert_memory_equal(f + 4, msg, 6);
		assert_int_equal(f[4 + LEN - 1], 'a' + next % 26);
		off += 4 + len;
		next++;
	}
	free(msg);
	fx_stop(&fx);
}

/* ---------------------------------------------------------------- server */

static enum ws_auth
auth_cb(const struct ws_auth_request *r, void *arg)
{
	struct fx *fx = arg;

	if (strcmp(r->id, "nobody") == 0)
		return WS_AUTH_NOT_FOUND;
	if (fx->want_password == NULL)
		return WS_AUTH_ACCEPT;
	if (!r->basic_ok || strcmp(r->user, r->id) != 0 ||
	    r->password_len != strlen(fx->want_password) ||
	    memcmp(r->password, fx->want_password, r->password_len) != 0)
		return WS_AUTH_UNAUTHORIZED;
	return WS_AUTH_ACCEPT;
}

/* Echo server: the first connection records into fx->s, later ones into
 * fx->extra. */
static void
on_connect(struct ws_conn *conn, void *arg)
{
	struct fx *fx = arg;
	struct side *s = fx->connects++ == 0 ? &fx->s : &fx->extra;

	s->conn = conn;
	s->opened = true;
	ws_conn_set_handler(conn, &side_handler, s);
}

static void
fx_server(struct fx *fx, const struct ws_limits *lim, const char *password)
{
	static const char *const protos[] = { "ocpp2.0.1", "ocpp1.6" };
	struct ws_server_opts o = { 0 };
	char *cause = NULL;

	memset(fx, 0, sizeof *fx);
	fx->base = event_base_new();
	fx->want_password = password;
	o.host = "127.0.0.1";
	o.port = 0;
	o.protocols = protos;
	o.nprotocols = 2;
	if (lim != NULL)
		o.limits = *lim;
	o.auth = auth_cb;
	o.on_connect = on_connect;
	o.arg = fx;
	fx->srv = ws_server_new(fx->base, &o, &cause);
	assert_null(cause);
	assert_non_null(fx->srv);
	assert_true(ws_server_port(fx->srv) > 0);
}

static struct ws_conn *
connect_client(struct fx *fx, struct side *side, const char *id,
    const char *proto, const char *password)
{
	struct ws_client_opts o = { 0 };
	char url[64], *cause = NULL;
	struct ws_conn *c;

	snprintf(url, sizeof url, "ws://127.0.0.1:%u/ocpp",
	    ws_server_port(fx->srv));
	o.url = url;
	o.id = id;
	o.protocol = proto;
	o.password = password;
	c = ws_connect(fx->base, &o, &side_handler, side, &cause);
	assert_null(cause);
	assert_non_null(c);
	side->conn = c;
	return c;
}

static void
test_client_server(void **state)
{
	struct fx fx;

	(void)state;
	fx_server(&fx, NULL, "pass:word-16chars");
	connect_client(&fx, &fx.c, "CP#01", "ocpp1.6", "pass:word-16chars");
	run_until(&fx, client_opened, 3000, "the handshake");
	assert_true(fx.c.opened);
	assert_string_equal(ws_conn_protocol(fx.c.conn), "ocpp1.6");
	assert_int_equal(ws_server_count(fx.srv), 1);
	/* The identity went through percent-encoding and back. */
	assert_string_equal(ws_conn_id(fx.s.conn), "CP#01");
	assert_string_equal(ws_conn_protocol(fx.s.conn), "ocpp1.6");
	assert_int_equal(ws_conn_send(fx.c.conn, "[2,\"1\",\"Heartbeat\",{}]",
	    22), WS_OK);
	run_until(&fx, server_has_msg, 3000, "the message");
	assert_string_equal(fx.s.msgs[0], "[2,\"1\",\"Heartbeat\",{}]");
	assert_int_equal(ws_conn_send(fx.s.conn, "[3,\"1\",{}]", 10), WS_OK);
	run_until(&fx, client_has_msg, 3000, "the answer");
	assert_string_equal(fx.c.msgs[0], "[3,\"1\",{}]");
	ws_conn_close(fx.c.conn, WS_CLOSE_NORMAL, "done");
	run_until(&fx, server_closed, 3000, "the server's on_close");
	run_until(&fx, client_closed, 3000, "the client's on_close");
	assert_int_equal(fx.s.info.code, 1000);
	assert_int_equal(fx.c.info.code, 1000);
	assert_true(fx.c.info.was_open);
	assert_int_equal(ws_server_count(fx.srv), 0);
	fx_stop(&fx);
}

static void
test_client_refused(void **state)
{
	static const struct {
		const char *id, *proto, *password;
		int status;
		const char *reason;
	} cases[] = {
		{ "CP-01", "ocpp1.6", "wrong-password-xx", 401, "HTTP 401" },
		{ "CP-01", "ocpp1.6", NULL, 401, "HTTP 401" },
		{ "nobody", "ocpp1.6", "pass-word-16chars", 404, "HTTP 404" },
		{ "CP-01", "ocpp9", "pass-word-16chars", 101,
		    "the server accepted no subprotocol" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct fx fx;

		fx_server(&fx, NULL, "pass-word-16chars");
		connect_client(&fx, &fx.c, cases[i].id, cases[i].proto,
		    cases[i].password);
		run_until(&fx, client_closed, 3000, "the refusal");
		assert_false(fx.c.opened);
		assert_false(fx.c.info.was_open);
		assert_int_equal(fx.c.info.code, 1006);
		assert_int_equal(fx.c.info.http_status, cases[i].status);
		if (strncmp(fx.c.info.reason, cases[i].reason,
		    strlen(cases[i].reason)) != 0)
			fail_msg("case %zu: reason %s", i, fx.c.info.reason);
		assert_int_equal(fx.connects, 0);
		fx_stop(&fx);
	}
}

static void
test_duplicate_replaces(void **state)
{
	struct fx fx;
	struct side second = { 0 };

	(void)state;
	fx_server(&fx, NULL, NULL);
	connect_client(&fx, &fx.c, "CP-01", "ocpp2.0.1", NULL);
	run_until(&fx, client_opened, 3000, "the first handshake");
	connect_client(&fx, &second, "CP-01", "ocpp2.0.1", NULL);
	while (!second.opened && !second.closed)
		event_base_loop(fx.base, EVLOOP_ONCE);
	assert_true(second.opened);
	run_until(&fx, client_closed, 3000, "the first to be replaced");
	assert_int_equal(fx.c.info.code, 1000);
	assert_string_equal(fx.c.info.reason, "replaced by a new connection");
	run_until(&fx, server_closed, 3000, "the server's old on_close");
	assert_int_equal(ws_server_count(fx.srv), 1);
	assert_false(second.closed);
	ws_conn_free(second.conn);
	fx_stop(&fx);
}

static void
test_connection_limit(void **state)
{
	struct ws_limits lim = { .max_connections = 1 };
	struct side second = { 0 };
	struct fx fx;

	(void)state;
	fx_server(&fx, &lim, NULL);
	connect_client(&fx, &fx.c, "CP-01", "ocpp1.6", NULL);
	run_until(&fx, client_opened, 3000, "the first handshake");
	connect_client(&fx, &second, "CP-02", "ocpp1.6", NULL);
	while (!second.closed)
		event_base_loop(fx.base, EVLOOP_ONCE);
	assert_false(second.opened);
	assert_false(fx.c.closed);
	assert_int_equal(ws_server_count(fx.srv), 1);
	fx_stop(&fx);
}

static int
tcp_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	return fd;
}

static void
test_handshake_bounds(void **state)
{
	struct ws_limits lim = { .handshake_timeout_ms = 200 };
	char *big = malloc(9000);
	struct fx fx;

	(void)state;
	/* Silence: dropped at the deadline. */
	fx_server(&fx, &lim, NULL);
	raw_start(&fx, tcp_connect(ws_server_port(fx.srv)));
	run_until(&fx, raw_eof, 3000, "the handshake timeout");
	assert_int_equal(fx.raw.len, 0);
	fx_stop(&fx);

	/* A header block that never ends: 431. */
	fx_server(&fx, NULL, NULL);
	raw_start(&fx, tcp_connect(ws_server_port(fx.srv)));
	memcpy(big, "GET /ocpp/A HTTP/1.1\r\nX: ", 25);
	memset(big + 25, 'a', 9000 - 25);
	raw_write(&fx, big, 9000);
	run_until(&fx, raw_eof, 3000, "the 431");
	assert_true(fx.raw.len > 12);
	assert_memory_equal(fx.raw.in, "HTTP/1.1 431", 12);
	fx_stop(&fx);

	/* A wrong version: 426 with the version we speak. */
	fx_server(&fx, NULL, NULL);
	raw_start(&fx, tcp_connect(ws_server_port(fx.srv)));
	snprintf(big, 9000, "GET /ocpp/A HTTP/1.1\r\nHost: x\r\nUpgrade: websocket"
	    "\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
	    "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
	raw_write(&fx, big, strlen(big));
	run_until(&fx, raw_eof, 3000, "the 426");
	fx.raw.in[fx.raw.len < sizeof fx.raw.in ? fx.raw.len : 0] = '\0';
	assert_memory_equal(fx.raw.in, "HTTP/1.1 426", 12);
	assert_non_null(strstr((char *)fx.raw.in, "Sec-WebSocket-Version: 13\r\n"));
	fx_stop(&fx);
	free(big);
}

static bool
got_101_and_close(struct fx *fx)
{
	const char *end = memmem(fx->raw.in, fx->raw.len, "\r\n\r\n", 4);

	/* Close frame: 2 header bytes and at least the 2-byte code. */
	return end != NULL && fx->raw.len >= (size_t)(end + 4 -
	    (const char *)fx->raw.in) + 4;
}

static void
test_no_common_subprotocol(void **state)
{
	static const char req[] = "GET /ocpp/CP-01 HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
	    "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: ocpp1.5\r\n\r\n";
	struct fx fx;
	char *end;

	(void)state;
	fx_server(&fx, NULL, NULL);
	raw_start(&fx, tcp_connect(ws_server_port(fx.srv)));
	raw_write(&fx, req, sizeof req - 1);
	/* 101 without the header, then a close frame 1002 at once. */
	run_until(&fx, got_101_and_close, 3000, "the 101 and the close");
	end = memmem(fx.raw.in, fx.raw.len, "\r\n\r\n", 4);
	assert_non_null(end);
	assert_memory_equal(fx.raw.in, "HTTP/1.1 101", 12);
	assert_null(memmem(fx.raw.in, (size_t)(end - (char *)fx.raw.in),
	    "Sec-WebSocket-Protocol", 22));
	{
		struct raw rest = { 0 };

		rest.len = fx.raw.len - (size_t)(end + 4 - (char *)fx.raw.in);
		memcpy(rest.in, end + 4, rest.len);
		assert_int_equal(close_code_seen(&rest), 1002);
	}
	assert_int_equal(fx.connects, 0);
	fx_stop(&fx);
}

static void
test_server_free_closes(void **state)
{
	struct fx fx;

	(void)state;
	fx_server(&fx, NULL, NULL);
	connect_client(&fx, &fx.c, "CP-01", "ocpp2.0.1", NULL);
	run_until(&fx, client_opened, 3000, "the handshake");
	assert_true(fx.s.opened);
	/* Outside the loop, as a daemon shutting down: the server sends
	 * 1001, waits for the answer, reports on_close. */
	ws_server_free(fx.srv);
	fx.srv = NULL;
	assert_true(fx.s.closed);
	assert_int_equal(fx.s.info.code, 1001);
	run_until(&fx, client_closed, 3000, "the client's on_close");
	assert_int_equal(fx.c.info.code, 1001);
	fx_stop(&fx);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_huge_length_header),
		cmocka_unit_test(test_fragments_ping_close),
		cmocka_unit_test(test_ping_timeout),
		cmocka_unit_test(test_pong_keeps_alive),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_output_bound),
		cmocka_unit_test(test_send_writes_now),
		cmocka_unit_test(test_send_order_under_backpressure),
		cmocka_unit_test(test_client_server),
		cmocka_unit_test(test_client_refused),
		cmocka_unit_test(test_duplicate_replaces),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_handshake_bounds),
		cmocka_unit_test(test_no_common_subprotocol),
		cmocka_unit_test(test_server_free_closes),
	};

	log_set_level(getenv("TEST_LOG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
