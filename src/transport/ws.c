/*
 * ws — see ws.h for the contract. How it is built:
 *
 * One struct ws_conn per TCP connection, with one bufferevent (a socket one
 * for ws://, an OpenSSL one for wss://), one wslay event context once the
 * upgrade is done, and one timer event. wslay never touches a socket: its
 * recv callback takes bytes from the bufferevent's input buffer and its
 * send callback appends to a staging buffer, so wslay_event_send() never
 * blocks. flush() then writes the staged frames to a plain socket at once
 * when nothing is queued before them (one sendmsg, no write event armed and
 * no loop turn: a burst of profiles reaches a thousand chargers while it
 * is being built), and leaves whatever the socket does not take, and all
 * of a TLS connection's output, to the bufferevent.
 *
 * The timer serves three purposes, by state: the deadline of the handshake,
 * of the close handshake or of the last flush; pings and the idle check
 * while open (re-armed lazily: it fires at the earliest time anything could
 * be due and recomputes); and, with event_active(), the reaper. Every way a
 * connection can end goes through mark_dead(), which only stops its I/O and
 * activates the timer; the timer callback, which runs from the loop and
 * never inside a callback of this connection, calls on_close and frees.
 *
 * State machine:
 *
 *   RESOLVING -> CONNECTING -> HANDSHAKE -> OPEN -> CLOSING -> DRAIN -> DEAD
 *   (client)     (client)        ^ server starts here    \---------^
 *
 * CLOSING: we sent a close frame and wait for the peer's. DRAIN: nothing
 * more to read or say; the output is flushed, then the socket is dropped
 * (the server closes TCP first, as RFC 6455 says). A refused handshake
 * (HTTP 4xx) also goes through DRAIN.
 */
#include "transport/ws.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <wslay/wslay.h>

#include "transport/tls.h"
#include "transport/wshs.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/xalloc.h"

#define PEER_LEN 64
#define REASON_MAX 123

enum conn_state {
	CS_RESOLVING,
	CS_CONNECTING,
	CS_HANDSHAKE,
	CS_OPEN,
	CS_CLOSING,
	CS_DRAIN,
	CS_DEAD,
};

/* A pending DNS lookup. It outlives a connection freed meanwhile: evdns
 * reports a cancelled lookup later, from the loop, and then frees it. */
struct resolve {
	struct ws_conn *conn;	/* NULL once the connection is gone */
	struct evdns_getaddrinfo_request *req;
};

struct client {
	SSL_CTX *ssl_ctx;
	struct evdns_base *dns;
	bool own_dns;
	struct resolve *resolve;
	struct evutil_addrinfo *ai, *ai_next;
	struct wshs_url url;
	char *request;
	char accept[WSHS_ACCEPT_LEN];
	char error[160];	/* why the last connect attempt failed */
};

struct ws_conn {
	struct ws_server *srv;		/* NULL for a client connection */
	struct ws_conn *prev, *next;	/* in srv->conns */
	struct event_base *base;
	struct bufferevent *bev;
	struct event *timer;
	wslay_event_context_ptr ws;
	struct evbuffer *stage;	/* wslay's output until flush() hands it on */
	struct client *cl;
	enum conn_state state;
	bool tls;
	bool server_role;	/* masking side: server frames are unmasked */
	bool announced;		/* the owner knows it: on_close is due */
	bool in_recv;		/* inside wslay_event_recv() */
	bool awaiting_pong;
	struct ws_limits lim;
	int64_t deadline;	/* ms: handshake, close or flush deadline */
	int64_t last_rx, next_ping;
	struct ws_handler h;
	void *harg;
	const char *logmod;
	char peer[PEER_LEN];
	char id[WSHS_ID_MAX + 1];
	char protocol[WSHS_PROTOCOL_MAX + 1];
	/* How it ended, for on_close. */
	uint16_t close_code;
	char close_reason[REASON_MAX + 1];
	int http_status;
	bool was_open;
};

struct ws_server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *relisten;
	SSL_CTX *ssl_ctx;
	uint16_t port;
	char *prefix;
	char **protocols;
	size_t nprotocols;
	struct ws_limits lim;
	ws_auth_fn auth;
	void (*on_connect)(struct ws_conn *, void *);
	void *arg;
	char *logmod;
	struct ws_conn *conns;
	size_t nconns;		/* all, handshaking ones included */
	bool draining;
};

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);
static void flush(struct ws_conn *c);





static void
limits_defaults(struct ws_limits *l)
{
	if (l->max_message_bytes == 0)
		l->max_message_bytes = 65536;
	if (l->max_output_bytes == 0)
		l->max_output_bytes = 1024 * 1024 + l->max_message_bytes;
	if (l->max_connections <= 0)
		l->max_connections = 1000;
	if (l->handshake_timeout_ms <= 0)
		l->handshake_timeout_ms = 10000;
	if (l->close_timeout_ms <= 0)
		l->close_timeout_ms = 3000;
	if (l->ping_interval_ms < 0)
		l->ping_interval_ms = 0;
	if (l->idle_timeout_ms < 0)
		l->idle_timeout_ms = 0;
}

static void
format_peer(const struct sockaddr *sa, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(out, size, "?");
	}
}

static const char *
esc_id(char *buf, size_t len, const struct ws_conn *c)
{
	return log_esc(buf, len, c->id[0] ? c->id : NULL);
}

/* Record why the connection ends, unless a reason is already known. */
static void
set_close(struct ws_conn *c, uint16_t code, const char *reason)
{
	if (c->close_code != 0)
		return;
	c->close_code = code;
	snprintf(c->close_reason, sizeof c->close_reason, "%s",
	    reason ? reason : "");
}

/* ---------------------------------------------------------------- timer */

static void
arm(struct ws_conn *c)
{
	int64_t due = -1, now = isotime_mono_ms();
	struct timeval tv;

	switch (c->state) {
	case CS_OPEN:
		if (c->lim.ping_interval_ms > 0)
			due = c->next_ping;
		if (c->lim.idle_timeout_ms > 0) {
			int64_t idle = c->last_rx + c->lim.idle_timeout_ms;

			if (due < 0 || idle < due)
				due = idle;
		}
		break;
	case CS_DEAD:
		return;
	default:
		due = c->deadline;
		break;
	}
	if (due < 0) {
		evtimer_del(c->timer);
		return;
	}
	if (due < now)
		due = now;
	tv.tv_sec = (time_t)((due - now) / 1000);
	tv.tv_usec = (suseconds_t)((due - now) % 1000 * 1000);
	evtimer_add(c->timer, &tv);
}

/* The one way a connection ends: stop its I/O and let the reaper (the
 * timer callback, from the loop) call on_close and free it. */
static void
mark_dead(struct ws_conn *c)
{
	if (c->state == CS_DEAD)
		return;
	c->state = CS_DEAD;
	set_close(c, WS_CLOSE_ABNORMAL, "connection lost");
	if (c->bev != NULL) {
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	}
	evtimer_del(c->timer);
	event_active(c->timer, EV_TIMEOUT, 1);
}

static void
abort_conn(struct ws_conn *c, uint16_t code, const char *reason)
{
	set_close(c, code, reason);
	mark_dead(c);
}

/* No more reading or talking: flush what is queued, then drop. */
static void
enter_drain(struct ws_conn *c)
{
	if (c->state == CS_DEAD || c->state == CS_DRAIN)
		return;
	if (c->bev == NULL ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		mark_dead(c);
		return;
	}
	c->state = CS_DRAIN;
	c->deadline = isotime_mono_ms() + c->lim.close_timeout_ms;
	arm(c);
}

static void
unlink_conn(struct ws_conn *c)
{
	struct ws_server *srv = c->srv;

	if (srv == NULL)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	srv->nconns--;
	c->srv = NULL;
}

static void
client_free(struct client *cl)
{
	if (cl == NULL)
		return;
	if (cl->resolve != NULL) {
		/* evdns calls back later with EVUTIL_EAI_CANCEL and the
		 * callback frees the resolve struct. */
		cl->resolve->conn = NULL;
		evdns_getaddrinfo_cancel(cl->resolve->req);
		cl->resolve = NULL;
	}
	if (cl->ai != NULL)
		evutil_freeaddrinfo(cl->ai);
	if (cl->own_dns && cl->dns != NULL)
		evdns_base_free(cl->dns, 0);
	if (cl->ssl_ctx != NULL)
		SSL_CTX_free(cl->ssl_ctx);
	free(cl->request);
	free(cl);
}

static void
conn_destroy(struct ws_conn *c)
{
	unlink_conn(c);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->ws != NULL)
		wslay_event_context_free(c->ws);
	if (c->stage != NULL)
		evbuffer_free(c->stage);
	client_free(c->cl);
	event_free(c->timer);
	free(c);
}

static void
reap(struct ws_conn *c)
{
	struct ws_server *srv = c->srv;

	unlink_conn(c);
	if (c->announced && c->h.on_close != NULL) {
		struct ws_close_info info = {
			.code = c->close_code ? c->close_code : WS_CLOSE_ABNORMAL,
			.reason = c->close_reason,
			.http_status = c->http_status,
			.was_open = c->was_open,
		};

		c->announced = false;
		c->h.on_close(c, &info, c->harg);
	}
	conn_destroy(c);
	if (srv != NULL && srv->draining && srv->nconns == 0)
		event_base_loopbreak(srv->base);
}

static void
close_frame_now(struct ws_conn *c, uint16_t code, const char *reason)
{
	size_t n = reason ? strlen(reason) : 0;

	if (n > REASON_MAX)
		n = REASON_MAX;
	if (wslay_event_queue_close(c->ws, code, (const uint8_t *)reason, n) ==
	    0)
		set_close(c, code, reason);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ws_conn *c = arg;
	int64_t now;
	char esc[LOG_ESC_LEN];

	(void)fd;
	(void)what;
	if (c->state == CS_DEAD) {
		reap(c);
		return;
	}
	now = isotime_mono_ms();
	if (c->state == CS_OPEN) {
		if (c->lim.idle_timeout_ms > 0 &&
		    now >= c->last_rx + c->lim.idle_timeout_ms) {
			log_info(c->logmod, "idle timeout peer=%s charger=%s "
			    "idle_ms=%d", c->peer, esc_id(esc, sizeof esc, c),
			    c->lim.idle_timeout_ms);
			ws_conn_close(c, WS_CLOSE_GOING_AWAY, "idle timeout");
			return;
		}
		if (c->lim.ping_interval_ms > 0 && now >= c->next_ping) {
			struct wslay_event_msg ping = { WSLAY_PING, NULL, 0 };

			if (c->awaiting_pong) {
				log_warn(c->logmod, "ping timeout peer=%s charger=%s",
				    c->peer, esc_id(esc, sizeof esc, c));
				abort_conn(c, WS_CLOSE_ABNORMAL, "ping timeout");
				return;
			}
			if (wslay_event_queue_msg(c->ws, &ping) == 0)
				c->awaiting_pong = true;
			c->next_ping = now + c->lim.ping_interval_ms;
			flush(c);
			if (c->state == CS_DEAD)
				return;
		}
		arm(c);
		return;
	}
	if (now < c->deadline) {
		arm(c);
		return;
	}
	switch (c->state) {
	case CS_RESOLVING:
	case CS_CONNECTING:
	case CS_HANDSHAKE:
		log_warn(c->logmod, "handshake timeout peer=%s charger=%s "
		    "timeout_ms=%d", c->peer, esc_id(esc, sizeof esc, c),
		    c->lim.handshake_timeout_ms);
		abort_conn(c, WS_CLOSE_ABNORMAL, "handshake timeout");
		break;
	case CS_CLOSING:
		log_debug(c->logmod, "close timeout peer=%s charger=%s", c->peer,
		    esc_id(esc, sizeof esc, c));
		abort_conn(c, WS_CLOSE_ABNORMAL, "close timeout");
		break;
	default:
		mark_dead(c);
		break;
	}
}

static struct ws_conn *
conn_new(struct event_base *base, const struct ws_limits *lim,
    const char *logmod)
{
	struct ws_conn *c = xcalloc(1, sizeof *c);

	c->base = base;
	c->lim = *lim;
	c->logmod = logmod;
	c->timer = evtimer_new(base, on_timer, c);
	if (c->timer == NULL)
		abort();
	return c;
}

/* ---------------------------------------------------------------- wslay */

static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct ws_conn *c = arg;
	int n;

	(void)flags;
	n = evbuffer_remove(bufferevent_get_input(c->bev), buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return n;
}

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct ws_conn *c = arg;

	(void)flags;
	if (evbuffer_add(c->stage, data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

static int
ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    void *arg)
{
	(void)ctx;
	(void)arg;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void
ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg
    *m, void *arg)
{
	struct ws_conn *c = arg;
	char esc[LOG_ESC_LEN];

	(void)ctx;
	if (c->state == CS_DEAD)
		return;
	/* Any frame shows the peer is alive. */
	c->awaiting_pong = false;
	switch (m->opcode) {
	case WSLAY_TEXT_FRAME:
		c->last_rx = isotime_mono_ms();
		if (c->state == CS_OPEN && c->h.on_message != NULL)
			c->h.on_message(c, (const char *)m->msg, m->msg_length,
			    c->harg);
		break;
	case WSLAY_BINARY_FRAME:
		if (c->state != CS_OPEN)
			break;
		log_warn(c->logmod, "binary frame peer=%s charger=%s bytes=%zu",
		    c->peer, esc_id(esc, sizeof esc, c), m->msg_length);
		ws_conn_close(c, WS_CLOSE_UNSUPPORTED_DATA,
		    "OCPP-J uses text frames only");
		break;
	case WSLAY_CONNECTION_CLOSE: {
		char reason[REASON_MAX + 1];
		size_t n = m->msg_length > 2 ? m->msg_length - 2 : 0;

		if (n > REASON_MAX)
			n = REASON_MAX;
		memcpy(reason, m->msg_length > 2 ? (const char *)m->msg + 2 : "",
		    n);
		reason[n] = '\0';
		/* The peer's code wins over ours: it is what both agreed. */
		c->close_code = 0;
		set_close(c, m->status_code ? m->status_code : 1005, reason);
		break;
	}
	default:
		break;
	}
}

static const struct wslay_event_callbacks ws_callbacks = {
	ws_recv_cb, ws_send_cb, ws_genmask_cb, NULL, NULL, NULL, ws_msg_cb,
};

/* Write a close frame by hand: used when wslay has given up on the input
 * (its own close frame would carry no code). Client frames are masked. */
static void
raw_close(struct ws_conn *c, uint16_t code)
{
	uint8_t f[8] = { 0x88, 0x02 };
	uint8_t payload[2] = { (uint8_t)(code >> 8), (uint8_t)code };
	size_t n = 2;

	if (!c->server_role) {
		uint8_t mask[4] = { 0 };

		(void)RAND_bytes(mask, sizeof mask);
		f[1] |= 0x80;
		memcpy(f + 2, mask, 4);
		n = 6;
		for (int i = 0; i < 2; i++)
			payload[i] ^= mask[i];
	}
	memcpy(f + n, payload, 2);
	evbuffer_add(bufferevent_get_output(c->bev), f, n + 2);
}

/* Write what is staged to the plain socket, as much as it takes now.
 * MSG_NOSIGNAL: a peer that is gone shows as an error (met again by the
 * bufferevent), never as SIGPIPE. */
static void
write_plain(struct ws_conn *c)
{
	struct evbuffer_iovec v[8];
	struct iovec iov[8];
	struct msghdr m = { .msg_iov = iov };
	int n = evbuffer_peek(c->stage, -1, NULL, v, 8);
	ssize_t r;

	if (n > 8)
		n = 8;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	m.msg_iovlen = (size_t)n;
	r = sendmsg(bufferevent_getfd(c->bev), &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r > 0)
		evbuffer_drain(c->stage, (size_t)r);
}

/* Hand the staged frames on, in order: straight to a plain socket when
 * its output buffer is empty, the rest (all of it for TLS) appended to
 * that buffer. A socket error is not handled here: the bytes stay queued
 * and the bufferevent meets the error on its own write. Returns 0, or -1
 * when out of memory. */
static int
hand_over(struct ws_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (evbuffer_get_length(c->stage) == 0)
		return 0;
	if (!c->tls && evbuffer_get_length(out) == 0)
		write_plain(c);
	if (evbuffer_get_length(c->stage) == 0)
		return 0;
	return evbuffer_add_buffer(out, c->stage);
}

/* Send what wslay has queued; drop a peer that lets too much pile up. */
static void
flush(struct ws_conn *c)
{
	char esc[LOG_ESC_LEN];
	size_t pending;

	if (c->ws == NULL || c->bev == NULL || c->state == CS_DEAD)
		return;
	if ((wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) ||
	    hand_over(c) != 0) {
		abort_conn(c, WS_CLOSE_INTERNAL, "cannot queue output");
		return;
	}
	pending = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (pending > c->lim.max_output_bytes) {
		log_warn(c->logmod, "peer does not read peer=%s charger=%s "
		    "pending_bytes=%zu", c->peer, esc_id(esc, sizeof esc, c),
		    pending);
		abort_conn(c, WS_CLOSE_ABNORMAL, "peer does not read");
	}
}

static const char *
close_why(uint16_t code)
{
	switch (code) {
	case WS_CLOSE_TOO_BIG:
		return "message too big";
	case WS_CLOSE_INVALID_DATA:
		return "text frame is not UTF-8";
	case WS_CLOSE_PROTOCOL_ERROR:
		return "WebSocket protocol error";
	default:
		return "closed";
	}
}

/* After wslay has read or written: see where the close handshake is. */
static void
after_io(struct ws_conn *c)
{
	char esc[LOG_ESC_LEN];
	bool rcvd, sent;

	if (c->state != CS_OPEN && c->state != CS_CLOSING)
		return;
	rcvd = wslay_event_get_close_received(c->ws);
	sent = wslay_event_get_close_sent(c->ws);
	if (rcvd && sent) {
		enter_drain(c);
	} else if (sent && !wslay_event_get_read_enabled(c->ws)) {
		/* wslay failed the connection on bad input (1002, 1007,
		 * 1009) and sent the close frame itself. */
		uint16_t code = wslay_event_get_status_code_sent(c->ws);

		log_warn(c->logmod, "closing peer=%s charger=%s code=%u "
		    "reason=\"%s\"", c->peer, esc_id(esc, sizeof esc, c), code,
		    close_why(code));
		set_close(c, code, close_why(code));
		enter_drain(c);
	}
}

static void
process_input(struct ws_conn *c)
{
	char esc[LOG_ESC_LEN];
	int r;

	c->in_recv = true;
	r = wslay_event_recv(c->ws);
	c->in_recv = false;
	if (c->state == CS_DEAD)
		return;
	if (r == WSLAY_ERR_CALLBACK_FAILURE) {
		/* A framing error (control frame too long or fragmented, bad
		 * length encoding): wslay queued a close without a code;
		 * send 1002 instead, and stop. */
		log_warn(c->logmod, "closing peer=%s charger=%s code=1002 "
		    "reason=\"malformed frame\"", c->peer,
		    esc_id(esc, sizeof esc, c));
		if (!wslay_event_get_close_sent(c->ws))
			raw_close(c, WS_CLOSE_PROTOCOL_ERROR);
		wslay_event_shutdown_write(c->ws);
		set_close(c, WS_CLOSE_PROTOCOL_ERROR, "malformed frame");
		enter_drain(c);
		return;
	}
	if (r != 0) {
		abort_conn(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	flush(c);
	after_io(c);
}

static void
start_ws(struct ws_conn *c, bool server)
{
	int r = server ?
	    wslay_event_context_server_init(&c->ws, &ws_callbacks, c) :
	    wslay_event_context_client_init(&c->ws, &ws_callbacks, c);

	if (r != 0 || (c->stage = evbuffer_new()) == NULL)
		abort();
	wslay_event_config_set_max_recv_msg_length(c->ws,
	    c->lim.max_message_bytes);
	c->state = CS_OPEN;
	c->was_open = true;
	c->last_rx = isotime_mono_ms();
	c->next_ping = c->last_rx + c->lim.ping_interval_ms;
	arm(c);
}

/* ---------------------------------------------------------------- server */

static const char *
status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static void
refuse_http(struct ws_conn *c, int status, const char *why)
{
	const char *extra = "";
	char esc[LOG_ESC_LEN];

	if (status == 401)
		extra = "WWW-Authenticate: Basic realm=\"OCPP\"\r\n";
	else if (status == 426)
		extra = "Sec-WebSocket-Version: 13\r\n";
	else if (status == 405)
		extra = "Allow: GET\r\n";
	log_warn(c->logmod, "handshake refused peer=%s charger=%s status=%d "
	    "reason=\"%s\"", c->peer, esc_id(esc, sizeof esc, c), status, why);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: 0\r\n"
	    "%s\r\n", status, status_text(status), extra);
	set_close(c, WS_CLOSE_ABNORMAL, why);
	c->http_status = status;
	enter_drain(c);
}

static void
peer_cert(struct ws_conn *c, X509 **cert, char *cn, size_t cnlen)
{
	SSL *ssl;
	X509 *x;

	*cert = NULL;
	cn[0] = '\0';
	if (!c->tls || (ssl = bufferevent_openssl_get_ssl(c->bev)) == NULL)
		return;
	x = SSL_get0_peer_certificate(ssl);
	if (x == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return;
	*cert = x;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, (int)cnlen) < 0)
		cn[0] = '\0';
}

static void
replace_duplicates(struct ws_conn *c)
{
	char esc[LOG_ESC_LEN];

	for (struct ws_conn *o = c->srv->conns; o != NULL; o = o->next) {
		if (o == c || !o->announced || o->state != CS_OPEN ||
		    strcmp(o->id, c->id) != 0)
			continue;
		log_info(c->logmod, "replacing connection charger=%s old_peer=%s "
		    "new_peer=%s", esc_id(esc, sizeof esc, c), o->peer, c->peer);
		ws_conn_close(o, WS_CLOSE_NORMAL, "replaced by a new connection");
	}
}

static void
server_handshake(struct ws_conn *c)
{
	struct ws_server *srv = c->srv;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct wshs_request req;
	struct ws_auth_request ar;
	char accept[WSHS_ACCEPT_LEN], cn[WSHS_ID_MAX * 2 + 1];
	char esc[LOG_ESC_LEN];
	enum ws_auth verdict = WS_AUTH_ACCEPT;
	const char *hdr;
	size_t hlen;
	int idx;

	if (p.pos < 0) {
		if (evbuffer_get_length(in) >= WSHS_MAX_HEADER_BYTES)
			refuse_http(c, 431, "request header block too large");
		return;
	}
	hlen = (size_t)p.pos + 4;
	if (hlen > WSHS_MAX_HEADER_BYTES) {
		refuse_http(c, 431, "request header block too large");
		return;
	}
	hdr = (const char *)evbuffer_pullup(in, (ev_ssize_t)hlen);
	if (wshs_parse_request(hdr, hlen, srv->prefix, &req) != WSHS_OK) {
		evbuffer_drain(in, hlen);
		snprintf(c->id, sizeof c->id, "%s", req.id);
		refuse_http(c, req.http_status, req.error);
		return;
	}
	evbuffer_drain(in, hlen);
	snprintf(c->id, sizeof c->id, "%s", req.id);

	memset(&ar, 0, sizeof ar);
	ar.peer = c->peer;
	ar.id = c->id;
	ar.has_basic = req.has_basic;
	ar.basic_ok = req.has_basic && !req.basic_malformed &&
	    !req.password_too_long;
	if (ar.basic_ok) {
		ar.user = req.user;
		ar.password = req.password;
		ar.password_len = req.password_len;
	}
	peer_cert(c, &ar.cert, cn, sizeof cn);
	ar.cert_cn = ar.cert && cn[0] ? cn : NULL;
	if (srv->auth != NULL)
		verdict = srv->auth(&ar, srv->arg);
	explicit_bzero(req.password, sizeof req.password);
	if (verdict == WS_AUTH_NOT_FOUND) {
		refuse_http(c, 404, "unknown charging station");
		return;
	}
	if (verdict != WS_AUTH_ACCEPT) {
		refuse_http(c, 401, ar.cert ? "certificate does not match the "
		    "identity" : req.has_basic ? "wrong credentials" :
		    "credentials required");
		return;
	}

	idx = wshs_select_protocol(&req, (const char *const *)srv->protocols,
	    srv->nprotocols);
	if (wshs_accept_key(req.key, accept) != WSHS_OK)
		abort();
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
	    accept, idx >= 0 ? "Sec-WebSocket-Protocol: " : "",
	    idx >= 0 ? srv->protocols[idx] : "", idx >= 0 ? "\r\n" : "");
	start_ws(c, true);
	if (idx < 0) {
		char offered[WSHS_MAX_PROTOCOLS * (WSHS_PROTOCOL_MAX + 1)] = "";

		for (size_t i = 0; i < req.nprotocols; i++) {
			if (i > 0)
				strcat(offered, ",");
			strcat(offered, req.protocols[i]);
		}
		log_warn(c->logmod, "no common subprotocol peer=%s charger=%s "
		    "offered=%s", c->peer, esc_id(esc, sizeof esc, c),
		    log_esc(cn, sizeof cn, offered));
		ws_conn_close(c, WS_CLOSE_PROTOCOL_ERROR,
		    "no common subprotocol");
		return;
	}
	snprintf(c->protocol, sizeof c->protocol, "%s", srv->protocols[idx]);
	replace_duplicates(c);
	c->announced = true;
	log_debug(c->logmod, "websocket open peer=%s charger=%s protocol=%s",
	    c->peer, esc_id(esc, sizeof esc, c), c->protocol);
	if (srv->on_connect != NULL)
		srv->on_connect(c, srv->arg);
	if (c->state != CS_OPEN)
		return;
	if (c->h.on_message == NULL && c->h.on_close == NULL) {
		ws_conn_close(c, WS_CLOSE_INTERNAL, "no handler");
		return;
	}
	if (evbuffer_get_length(in) > 0)
		process_input(c);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	struct ws_server *srv = arg;
	struct ws_conn *c;
	char peer[PEER_LEN];
	int one = 1;

	(void)l;
	(void)socklen;
	format_peer(sa, peer, sizeof peer);
	if (srv->nconns >= (size_t)srv->lim.max_connections) {
		log_warn(srv->logmod, "connection refused peer=%s "
		    "reason=\"too many connections\" max=%d", peer,
		    srv->lim.max_connections);
		evutil_closesocket(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c = conn_new(srv->base, &srv->lim, srv->logmod);
	c->srv = srv;
	c->server_role = true;
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	if (srv->ssl_ctx != NULL) {
		SSL *ssl = SSL_new(srv->ssl_ctx);

		if (ssl == NULL)
			abort();
		c->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		c->tls = true;
	} else {
		c->bev = bufferevent_socket_new(srv->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	}
	if (c->bev == NULL)
		abort();
	if (c->tls)
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	c->state = CS_HANDSHAKE;
	c->deadline = isotime_mono_ms() + c->lim.handshake_timeout_ms;
	arm(c);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
}

static void
on_relisten(evutil_socket_t fd, short what, void *arg)
{
	struct ws_server *srv = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(srv->listener);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct ws_server *srv = arg;
	struct timeval tv = { 1, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	/* Typically EMFILE: pause instead of spinning on a readable
	 * listener we cannot accept from. */
	log_warn(srv->logmod, "accept failed error=\"%s\"; pausing 1 s",
	    evutil_socket_error_to_string(err));
	evconnlistener_disable(l);
	evtimer_add(srv->relisten, &tv);
}

/* ---------------------------------------------------------------- client */

static void client_fail(struct ws_conn *c, const char *why);
static void connect_next(struct ws_conn *c);

static void
client_handshake(struct ws_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct wshs_response res;
	char why[REASON_MAX + 1], esc[LOG_ESC_LEN];
	size_t hlen;
	const char *hdr;

	if (p.pos < 0) {
		if (evbuffer_get_length(in) >= WSHS_MAX_HEADER_BYTES)
			client_fail(c, "response header block too large");
		return;
	}
	hlen = (size_t)p.pos + 4;
	hdr = (const char *)evbuffer_pullup(in, (ev_ssize_t)hlen);
	if (wshs_parse_response(hdr, hlen, c->cl->accept, c->protocol, &res) !=
	    WSHS_OK) {
		evbuffer_drain(in, hlen);
		c->http_status = res.http_status;
		if (res.http_status != 101 && res.http_status != 0)
			snprintf(why, sizeof why, "HTTP %d %s", res.http_status,
			    status_text(res.http_status));
		else
			snprintf(why, sizeof why, "%s", res.error);
		client_fail(c, why);
		return;
	}
	evbuffer_drain(in, hlen);
	c->http_status = 101;
	start_ws(c, false);
	log_info(c->logmod, "connected url=%s charger=%s protocol=%s peer=%s",
	    log_esc(why, sizeof why, c->cl->url.host), esc_id(esc, sizeof esc, c),
	    c->protocol, c->peer);
	if (c->h.on_open != NULL)
		c->h.on_open(c, c->harg);
	if (c->state == CS_OPEN && evbuffer_get_length(in) > 0)
		process_input(c);
}

static void
client_fail(struct ws_conn *c, const char *why)
{
	char esc[LOG_ESC_LEN], hesc[LOG_ESC_LEN];

	log_warn(c->logmod, "connect failed host=%s port=%u charger=%s "
	    "error=\"%s\"", log_esc(hesc, sizeof hesc, c->cl->url.host),
	    c->cl->url.port, esc_id(esc, sizeof esc, c), why);
	abort_conn(c, WS_CLOSE_ABNORMAL, why);
}

static void
tls_error(struct ws_conn *c, char *out, size_t size)
{
	unsigned long e = c->bev ? bufferevent_get_openssl_error(c->bev) : 0;
	SSL *ssl = c->bev ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	char buf[120];

	if (vr != X509_V_OK && c->srv == NULL) {
		snprintf(out, size, "TLS: %s", X509_verify_cert_error_string(vr));
	} else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		snprintf(out, size, "TLS: %.100s", buf);
	} else {
		snprintf(out, size, "%s", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	}
	/* Clear what is left so it is not blamed on the next peer. */
	while (c->bev && bufferevent_get_openssl_error(c->bev) != 0)
		;
}

static void
on_connected(struct ws_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (c->cl->ai != NULL) {
		evutil_freeaddrinfo(c->cl->ai);
		c->cl->ai = c->cl->ai_next = NULL;
	}
	c->state = CS_HANDSHAKE;
	evbuffer_add(out, c->cl->request, strlen(c->cl->request));
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static bool
is_ip_literal(const char *host)
{
	unsigned char buf[16];

	return evutil_inet_pton(AF_INET, host, buf) == 1 ||
	    evutil_inet_pton(AF_INET6, host, buf) == 1;
}

static void
connect_next(struct ws_conn *c)
{
	struct client *cl = c->cl;

	while (cl->ai_next != NULL) {
		struct evutil_addrinfo *ai = cl->ai_next;

		cl->ai_next = ai->ai_next;
		if (c->bev != NULL) {
			bufferevent_free(c->bev);
			c->bev = NULL;
		}
		format_peer(ai->ai_addr, c->peer, sizeof c->peer);
		if (cl->ssl_ctx != NULL) {
			SSL *ssl = SSL_new(cl->ssl_ctx);

			if (ssl == NULL)
				abort();
			if (is_ip_literal(cl->url.host)) {
				X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
				    cl->url.host);
			} else {
				SSL_set_tlsext_host_name(ssl, cl->url.host);
				SSL_set_hostflags(ssl,
				    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
				SSL_set1_host(ssl, cl->url.host);
			}
			c->bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
			    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
			if (c->bev != NULL)
				bufferevent_openssl_set_allow_dirty_shutdown(c->bev,
				    1);
		} else {
			c->bev = bufferevent_socket_new(c->base, -1,
			    BEV_OPT_CLOSE_ON_FREE);
		}
		if (c->bev == NULL)
			abort();
		bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
		c->state = CS_CONNECTING;
		if (bufferevent_socket_connect(c->bev, ai->ai_addr,
		    (int)ai->ai_addrlen) == 0) {
			int one = 1;
			evutil_socket_t fd = bufferevent_getfd(c->bev);

			if (fd >= 0)
				(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof one);
			return;
		}
		snprintf(cl->error, sizeof cl->error, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	client_fail(c, cl->error[0] ? cl->error : "no address to connect to");
}

static void
on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct resolve *r = arg;
	struct ws_conn *c = r->conn;
	char why[REASON_MAX + 1];

	free(r);
	if (c == NULL) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	c->cl->resolve = NULL;
	if (result != 0 || res == NULL) {
		snprintf(why, sizeof why, "cannot resolve: %s",
		    evutil_gai_strerror(result));
		if (res != NULL)
			evutil_freeaddrinfo(res);
		client_fail(c, why);
		return;
	}
	c->cl->ai = c->cl->ai_next = res;
	connect_next(c);
}

static SSL_CTX *
client_ssl_ctx(const struct ws_client_opts *o, char **cause)
{
	struct tls_client_opts t = { o->ca_file, o->cert, o->key, NULL };

	return tls_client_ctx(&t, cause);
}

static char *
b64(const unsigned char *in, size_t len)
{
	char *out = xcalloc(1, 4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

struct ws_conn *
ws_connect(struct event_base *base, const struct ws_client_opts *o,
    const struct ws_handler *handler, void *arg, char **cause)
{
	struct ws_conn *c;
	struct client *cl;
	struct evutil_addrinfo hints;
	char key[WSHS_KEY_LEN + 1], path[WSHS_PATH_MAX + 3 * WSHS_ID_MAX + 2];
	char hostport[WSHS_HOST_MAX + 16], portstr[8], *auth = NULL;
	struct ws_limits lim;
	struct resolve *r;
	struct evdns_getaddrinfo_request *req;
	bool v6;

	*cause = NULL;
	if (o->protocol == NULL || o->protocol[0] == '\0' ||
	    strlen(o->protocol) > WSHS_PROTOCOL_MAX) {
		*cause = xstrdup("no usable subprotocol to offer");
		return NULL;
	}
	if (o->id != NULL && strlen(o->id) > WSHS_ID_MAX) {
		*cause = xstrdup("identity longer than 48 characters");
		return NULL;
	}
	lim = o->limits;
	limits_defaults(&lim);
	c = conn_new(base, &lim, "ws");
	cl = c->cl = xcalloc(1, sizeof *cl);
	c->announced = true;
	snprintf(c->id, sizeof c->id, "%s", o->id ? o->id : "");
	snprintf(c->protocol, sizeof c->protocol, "%s", o->protocol);
	if (handler != NULL)
		c->h = *handler;
	c->harg = arg;
	if (wshs_parse_url(o->url, &cl->url) != WSHS_OK) {
		*cause = xstrdup("not a usable ws:// or wss:// URL");
		goto fail;
	}
	snprintf(c->peer, sizeof c->peer, "%.48s:%u", cl->url.host,
	    cl->url.port);
	if (cl->url.tls) {
		c->tls = true;
		if ((cl->ssl_ctx = client_ssl_ctx(o, cause)) == NULL)
			goto fail;
	}

	/* The request: URL path, then "/<id>" before any query. */
	{
		const char *q = strchr(cl->url.path, '?');
		size_t plen = q ? (size_t)(q - cl->url.path) : strlen(cl->url.path);
		char enc[3 * WSHS_ID_MAX + 1] = "";

		if (o->id != NULL && wshs_pct_encode(o->id, enc, sizeof enc) !=
		    WSHS_OK)
			abort();
		snprintf(path, sizeof path, "%.*s%s%s%s", (int)plen, cl->url.path,
		    o->id && (plen == 0 || cl->url.path[plen - 1] != '/') ? "/" :
		    "", enc, q ? q : "");
	}
	v6 = strchr(cl->url.host, ':') != NULL;
	if (cl->url.port == (cl->url.tls ? 443 : 80))
		snprintf(hostport, sizeof hostport, "%s%s%s", v6 ? "[" : "",
		    cl->url.host, v6 ? "]" : "");
	else
		snprintf(hostport, sizeof hostport, "%s%s%s:%u", v6 ? "[" : "",
		    cl->url.host, v6 ? "]" : "", cl->url.port);
	if (wshs_make_key(key) != WSHS_OK ||
	    wshs_accept_key(key, cl->accept) != WSHS_OK) {
		*cause = xstrdup("no randomness for the WebSocket key");
		goto fail;
	}
	if (o->password != NULL) {
		size_t ulen = strlen(c->id), plen = strlen(o->password);
		unsigned char *up = xcalloc(1, ulen + plen + 2);
		char *enc;

		memcpy(up, c->id, ulen);
		up[ulen] = ':';
		memcpy(up + ulen + 1, o->password, plen);
		enc = b64(up, ulen + plen + 1);
		auth = xasprintf("Authorization: Basic %s\r\n", enc);
		explicit_bzero(up, ulen + plen + 1);
		explicit_bzero(enc, strlen(enc));
		free(up);
		free(enc);
	}
	cl->request = xasprintf("GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: %s\r\n%s\r\n", path, hostport, key,
	    o->protocol, auth ? auth : "");
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}

	if (o->dns != NULL) {
		cl->dns = o->dns;
	} else if (!is_ip_literal(cl->url.host)) {
		cl->own_dns = true;
		cl->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (cl->dns == NULL) {
			/* No resolv.conf: still try the hosts file. */
			cl->dns = evdns_base_new(base,
			    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
			if (cl->dns == NULL)
				abort();
			evdns_base_load_hosts(cl->dns, NULL);
		}
	}
	c->state = CS_RESOLVING;
	c->deadline = isotime_mono_ms() + lim.handshake_timeout_ms;
	arm(c);

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%u", cl->url.port);
	if (cl->dns == NULL) {
		/* An address literal: no lookup, no waiting. */
		struct evutil_addrinfo *res = NULL;

		hints.ai_flags |= EVUTIL_AI_NUMERICHOST;
		if (evutil_getaddrinfo(cl->url.host, portstr, &hints, &res) != 0) {
			client_fail(c, "bad address");
			return c;
		}
		cl->ai = cl->ai_next = res;
		connect_next(c);
		return c;
	}
	r = xcalloc(1, sizeof *r);
	r->conn = c;
	cl->resolve = r;
	/* The callback may run before this returns (hosts file, cache): it
	 * then clears cl->resolve and frees r, and the request handle (NULL)
	 * must not be stored. */
	req = evdns_getaddrinfo(cl->dns, cl->url.host, portstr, &hints,
	    on_resolved, r);
	if (cl->resolve == r)
		r->req = req;
	return c;
fail:
	conn_destroy(c);
	return NULL;
}

struct ws_conn *
ws_conn_adopt(struct event_base *base, evutil_socket_t fd, bool server,
    const struct ws_limits *limits, const char *id, const char *protocol,
    const struct ws_handler *handler, void *arg)
{
	struct ws_limits lim = limits ? *limits : (struct ws_limits){ 0 };
	struct ws_conn *c;

	if (fd < 0 || (id && strlen(id) > WSHS_ID_MAX) ||
	    (protocol && strlen(protocol) > WSHS_PROTOCOL_MAX))
		return NULL;
	limits_defaults(&lim);
	c = conn_new(base, &lim, "ws");
	c->announced = true;
	snprintf(c->id, sizeof c->id, "%s", id ? id : "");
	snprintf(c->protocol, sizeof c->protocol, "%s", protocol ? protocol : "");
	snprintf(c->peer, sizeof c->peer, "fd:%d", (int)fd);
	if (handler != NULL)
		c->h = *handler;
	c->harg = arg;
	c->server_role = server;
	evutil_make_socket_nonblocking(fd);
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		abort();
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	start_ws(c, server);
	return c;
}

/* ---------------------------------------------------------------- I/O */

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct ws_conn *c = arg;

	switch (c->state) {
	case CS_HANDSHAKE:
		if (c->srv != NULL)
			server_handshake(c);
		else
			client_handshake(c);
		break;
	case CS_OPEN:
	case CS_CLOSING:
		process_input(c);
		break;
	default:
		/* Draining: what the peer still says does not matter, but
		 * reading it keeps the kernel from answering with a reset
		 * that could overtake our last bytes. */
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		break;
	}
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct ws_conn *c = arg;

	(void)bev;
	if (c->state == CS_DRAIN)
		mark_dead(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ws_conn *c = arg;
	char why[REASON_MAX + 1], esc[LOG_ESC_LEN];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->srv == NULL && c->state == CS_CONNECTING)
			on_connected(c);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	if (what & BEV_EVENT_ERROR) {
		if (c->tls)
			tls_error(c, why, sizeof why);
		else
			snprintf(why, sizeof why, "%s",
			    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	} else {
		snprintf(why, sizeof why, "connection closed by the peer");
	}
	switch (c->state) {
	case CS_CONNECTING:
		snprintf(c->cl->error, sizeof c->cl->error, "%s", why);
		/* A TLS failure will not get better on another address. */
		if (c->tls && strncmp(why, "TLS:", 4) == 0)
			client_fail(c, why);
		else
			connect_next(c);
		return;
	case CS_HANDSHAKE:
		if (c->srv != NULL) {
			if (c->tls && (what & BEV_EVENT_ERROR))
				log_warn(c->logmod, "tls handshake failed peer=%s "
				    "error=\"%s\"", c->peer, why);
			else
				log_debug(c->logmod, "closed during handshake "
				    "peer=%s", c->peer);
			abort_conn(c, WS_CLOSE_ABNORMAL, why);
		} else {
			client_fail(c, why);
		}
		return;
	case CS_OPEN:
		log_info(c->logmod, "connection lost peer=%s charger=%s "
		    "error=\"%s\"", c->peer, esc_id(esc, sizeof esc, c), why);
		abort_conn(c, WS_CLOSE_ABNORMAL, why);
		return;
	default:
		mark_dead(c);
		return;
	}
}

/* ---------------------------------------------------------------- API */

void
ws_conn_set_handler(struct ws_conn *c, const struct ws_handler *h, void *arg)
{
	if (h != NULL)
		c->h = *h;
	else
		memset(&c->h, 0, sizeof c->h);
	c->harg = arg;
}

int
ws_conn_send(struct ws_conn *c, const char *text, size_t len)
{
	struct wslay_event_msg m = { WSLAY_TEXT_FRAME, (const uint8_t *)text,
		len };

	if (c->state != CS_OPEN)
		return WS_E_CLOSED;
	if (len == 0 || len > c->lim.max_output_bytes)
		return WS_E_ARG;
	if (wslay_event_queue_msg(c->ws, &m) != 0)
		return WS_E_CLOSED;
	/* Inside wslay_event_recv() the frame waits for the flush after it;
	 * otherwise it leaves now, so that the peer starts on it while the
	 * caller prepares the next (a profile per charger per allocation). */
	if (!c->in_recv)
		flush(c);
	return c->state == CS_DEAD ? WS_E_CLOSED : WS_OK;
}

void
ws_conn_close(struct ws_conn *c, uint16_t code, const char *reason)
{
	switch (c->state) {
	case CS_OPEN:
		break;
	case CS_CLOSING:
	case CS_DRAIN:
	case CS_DEAD:
		return;
	default:
		abort_conn(c, code, reason);
		return;
	}
	close_frame_now(c, code, reason);
	c->state = CS_CLOSING;
	c->deadline = isotime_mono_ms() + c->lim.close_timeout_ms;
	arm(c);
	if (!c->in_recv) {
		flush(c);
		after_io(c);
	}
}

void
ws_conn_free(struct ws_conn *c)
{
	if (c == NULL)
		return;
	if (c->state == CS_OPEN && c->ws != NULL && c->bev != NULL) {
		close_frame_now(c, WS_CLOSE_GOING_AWAY, "going away");
		(void)wslay_event_send(c->ws);
		(void)hand_over(c);	/* a plain socket gets it now */
	}
	conn_destroy(c);
}

const char *
ws_conn_id(const struct ws_conn *c)
{
	return c->id;
}

const char *
ws_conn_peer(const struct ws_conn *c)
{
	return c->peer;
}

const char *
ws_conn_protocol(const struct ws_conn *c)
{
	return c->state >= CS_OPEN && c->was_open ? c->protocol : "";
}

bool
ws_conn_is_tls(const struct ws_conn *c)
{
	return c->tls;
}

static SSL_CTX *
server_ssl_ctx(const struct ws_server_opts *o, char **cause)
{
	struct tls_server_opts t = { o->tls_cert, o->tls_key, o->tls_client_ca };

	return tls_server_ctx(&t, cause);
}

static void
raise_nofile(size_t need, const char *logmod)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		need = rl.rlim_max;
	if (need <= rl.rlim_cur)
		return;
	log_info(logmod, "raising the open file limit from=%llu to=%llu",
	    (unsigned long long)rl.rlim_cur, (unsigned long long)need);
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn(logmod, "cannot raise the open file limit error=\"%s\"",
		    strerror(errno));
}

static void
set_options(struct ws_server *srv, const struct ws_server_opts *o)
{
	for (size_t i = 0; i < srv->nprotocols; i++)
		free(srv->protocols[i]);
	free(srv->protocols);
	srv->protocols = xcalloc(o->nprotocols + 1, sizeof *srv->protocols);
	for (size_t i = 0; i < o->nprotocols; i++)
		srv->protocols[i] = xstrdup(o->protocols[i]);
	srv->nprotocols = o->nprotocols;
	srv->lim = o->limits;
	limits_defaults(&srv->lim);
	srv->auth = o->auth;
	srv->on_connect = o->on_connect;
	srv->arg = o->arg;
	raise_nofile((size_t)srv->lim.max_connections + 64, srv->logmod);
}

struct ws_server *
ws_server_new(struct event_base *base, const struct ws_server_opts *o,
    char **cause)
{
	struct ws_server *srv = xcalloc(1, sizeof *srv);
	struct evutil_addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;
	char portstr[8];
	int r;

	*cause = NULL;
	srv->base = base;
	srv->logmod = xstrdup(o->log_module ? o->log_module : "ws");
	srv->prefix = xstrdup(o->path_prefix ? o->path_prefix : "/ocpp/");
	set_options(srv, o);
	if (o->tls_cert != NULL &&
	    (srv->ssl_ctx = server_ssl_ctx(o, cause)) == NULL)
		goto fail;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%u", o->port);
	/* Startup only, before the loop runs: a blocking lookup is fine. */
	r = evutil_getaddrinfo(o->host && o->host[0] ? o->host : NULL, portstr,
	    &hints, &ai);
	if (r != 0) {
		*cause = xasprintf("cannot resolve listen address %s: %s",
		    o->host ? o->host : "", evutil_gai_strerror(r));
		goto fail;
	}
	srv->listener = evconnlistener_new_bind(base, on_accept, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    511, ai->ai_addr, (int)ai->ai_addrlen);
	if (srv->listener == NULL) {
		*cause = xasprintf("cannot listen on %s:%u: %s",
		    o->host ? o->host : "", o->port, strerror(errno));
		evutil_freeaddrinfo(ai);
		goto fail;
	}
	evutil_freeaddrinfo(ai);
	evconnlistener_set_error_cb(srv->listener, on_accept_error);
	srv->relisten = evtimer_new(base, on_relisten, srv);
	if (srv->relisten == NULL)
		abort();
	if (getsockname(evconnlistener_get_fd(srv->listener),
	    (struct sockaddr *)&ss, &sslen) != 0)
		abort();
	srv->port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return srv;
fail:
	ws_server_free(srv);
	return NULL;
}

uint16_t
ws_server_port(const struct ws_server *srv)
{
	return srv->port;
}

int
ws_server_reconfigure(struct ws_server *srv, const struct ws_server_opts *o)
{
	if (o->nprotocols > 0 && o->protocols == NULL)
		return WS_E_ARG;
	set_options(srv, o);
	return WS_OK;
}

size_t
ws_server_count(const struct ws_server *srv)
{
	size_t n = 0;

	for (const struct ws_conn *c = srv->conns; c != NULL; c = c->next)
		if (c->announced && c->state != CS_DEAD)
			n++;
	return n;
}

static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ws_server *srv = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(srv->base);
}

void
ws_server_free(struct ws_server *srv)
{
	struct ws_conn *c, *next;

	if (srv == NULL)
		return;
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	srv->listener = NULL;
	if (srv->relisten != NULL)
		event_free(srv->relisten);
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == CS_OPEN)
			ws_conn_close(c, WS_CLOSE_GOING_AWAY,
			    "server shutting down");
		else if (c->state < CS_OPEN)
			mark_dead(c);
	}
	/* Let the peers answer. From inside a callback of the loop this
	 * nested loop is refused by libevent (it returns -1 at once) and
	 * what is left is dropped below. */
	if (srv->conns != NULL) {
		struct timeval tv = { srv->lim.close_timeout_ms / 1000,
			srv->lim.close_timeout_ms % 1000 * 1000 };
		struct event *t = evtimer_new(srv->base, on_drain_timeout, srv);

		if (t == NULL)
			abort();
		srv->draining = true;
		evtimer_add(t, &tv);
		event_base_loop(srv->base, 0);
		event_free(t);
		srv->draining = false;
	}
	while ((c = srv->conns) != NULL) {
		set_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
		reap(c);
	}
	for (size_t i = 0; i < srv->nprotocols; i++)
		free(srv->protocols[i]);
	free(srv->protocols);
	if (srv->ssl_ctx != NULL)
		SSL_CTX_free(srv->ssl_ctx);
	free(srv->prefix);
	free(srv->logmod);
	free(srv);
}
