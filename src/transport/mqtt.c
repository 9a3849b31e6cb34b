/*
 * mqtt — see mqtt.h.
 *
 * The link, as a small state machine driven by libevent:
 *
 *   IDLE ──retry timer──▶ RESOLVING      evdns lookup (none for a literal)
 *   RESOLVING ──addresses──▶ TCP         connect() to one address
 *   TCP ──writable, SO_ERROR 0──▶ CONNECTING   TLS handshake, CONNECT sent
 *   TCP ──refused, unreachable, 10 s──▶ TCP    the next address (via IDLE)
 *   CONNECTING ──CONNACK 0──▶ UP
 *   any ──failure──▶ IDLE   no address left, TLS, CONNACK refused, closed,
 *                           keepalive, no CONNACK within 10 s; a new round
 *                           (resolving again) after the backoff
 *
 * Why numeric addresses: libmosquitto's asynchronous connect resolves the
 * host with getaddrinfo() (which blocks) and tries only the first address
 * it gets. Debian's /etc/hosts maps localhost to ::1 before 127.0.0.1, so a
 * broker listening on 127.0.0.1 alone was never reached by the name
 * "localhost". Here evdns resolves, and each address becomes an attempt of
 * its own: mosquitto_connect_async() on a numeric address, which
 * getaddrinfo() parses without a lookup. Since libmosquitto then only knows
 * the number, TLS uses a context of ours (MOSQ_OPT_SSL_CTX, without
 * libmosquitto's defaults) whose verification parameters carry the
 * configured name, and a handshake-start callback puts that name in the
 * SNI (libmosquitto would send the number).
 *
 * Every attempt starts from a fresh struct mosquitto (try_address), so no
 * state of a failed connection leaks into the next one. libmosquitto's
 * socket gets one read and one write event per attempt; a failure only
 * disables them, because it is usually detected inside one of them: the
 * events and the old struct mosquitto are freed by the next attempt, from
 * the retry timer's callback (or the resolver's), never from their own.
 *
 * Two libmosquitto 2.0 habits shape the I/O callbacks:
 *   - During a TLS handshake, mosquitto_loop_read() reports success when
 *     the socket fails (SSL_ERROR_SYSCALL is taken for "try again"), so a
 *     refused or closed socket would be readable forever. Hence the TCP
 *     state, in which only writability is watched and SO_ERROR read, and
 *     the peek for EOF while CONNECTING.
 *   - Some failures (a TLS verification error) close the socket without
 *     calling on_disconnect. Hence io_sync() looks at the socket itself
 *     after every libmosquitto call.
 * The handshake itself is driven by mosquitto_loop_read(), which is where
 * libmosquitto continues SSL_connect().
 *
 * A pending lookup is never left behind on a freed resolver: its struct
 * resolve outlives the link (the callback frees it), and a resolver of our
 * own is freed with fail_requests, whose deferred callbacks no longer touch
 * it (evdns_getaddrinfo_cancel would lock it again from the loop).
 */
#include "transport/mqtt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "transport/tls.h"
#include "util/log.h"
#include "util/xalloc.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define ATTEMPT_TIMEOUT_MS 10000	/* one address: connect() → CONNACK */
#define RESOLVE_TIMEOUT_MS 30000	/* evdns gives up sooner on its own */
#define MISC_INTERVAL_MS 1000		/* mosquitto_loop_misc: keepalive */
#define HOSTS_FILE "/etc/hosts"
/* "[" v6 "%" scope "]:" port */
#define ADDR_LEN (INET6_ADDRSTRLEN + 24)

enum state {
	ST_IDLE = 0,		/* nothing watched; the retry timer is armed */
	ST_RESOLVING,		/* a lookup is pending */
	ST_TCP,			/* TCP connect in progress: writability only */
	ST_CONNECTING,		/* TCP up; TLS handshake, CONNECT sent */
	ST_UP,			/* CONNACK 0 received */
};

/* A pending lookup; outlives the link when the link goes first. */
struct resolve {
	struct mqtt *m;		/* NULL once abandoned */
	struct evdns_getaddrinfo_request *req;
};

struct mqtt {
	struct event_base *base;
	struct mqtt_handler h;
	void *arg;

	char *log_name, *host, *client_id, *username, *password;
	char *ca_file, *cert, *key, *will_topic, *will_payload;
	uint16_t port;
	int keepalive_s, will_qos;
	bool will_retain;
	bool literal;			/* host is an address literal */
	struct evdns_base *dns;		/* the caller's; NULL: own_dns */
	struct evdns_base *own_dns;	/* this round's */

	enum state st;
	struct resolve *resolve;	/* pending lookup */
	struct evutil_addrinfo *ai, *ai_next;	/* this round's addresses */
	SSL_CTX *ssl_ctx;		/* this round's; NULL: plain TCP */
	struct mosquitto *mosq;		/* this attempt's */
	struct event *rev, *wev;	/* its socket's; NULL when none */
	struct event *misc_ev, *retry_ev, *timer_ev, *check_ev;
	int backoff_ms;
	bool lost;			/* on_disconnect was called */
	bool connack_refused;
	int connect_errno;		/* errno after mosquitto_connect_async */
	char addr[ADDR_LEN];		/* this attempt's, for the log */
	char lib_error[MQTT_WHY_LEN];	/* libmosquitto's first error line */
	char tls_error[MQTT_WHY_LEN];	/* why verification failed */
	char round[MQTT_WHY_LEN];	/* what each address of the round did */
};

/* ------------------------------------------------------------ helpers */

static void
arm(struct event *ev, int ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static bool
is_literal(const char *host)
{
	unsigned char buf[16];

	return evutil_inet_pton(AF_INET, host, buf) == 1 ||
	    evutil_inet_pton(AF_INET6, host, buf) == 1;
}

/* The address as libmosquitto takes it ("::1") and as the log shows it
 * ("[::1]:1883"). */
static void
format_addr(const struct sockaddr *sa, uint16_t port, char *num, size_t nlen,
    char *shown, size_t slen)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		if (s6->sin6_scope_id != 0)
			snprintf(num, nlen, "%s%%%u", ip, s6->sin6_scope_id);
		else
			snprintf(num, nlen, "%s", ip);
		snprintf(shown, slen, "[%s]:%u", num, port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		evutil_inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		snprintf(num, nlen, "%s", ip);
		snprintf(shown, slen, "%s:%u", num, port);
	}
}

/* What a TCP connect that failed with err did, in a word or two (err < 0:
 * it failed, but the socket no longer says why). */
static void
tcp_outcome(char *buf, size_t len, int err)
{
	switch (err) {
	case -1:
		snprintf(buf, len, "failed (the connection did not open)");
		break;
	case ECONNREFUSED:
		snprintf(buf, len, "refused");
		break;
	case ETIMEDOUT:
		snprintf(buf, len, "timed out");
		break;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
		snprintf(buf, len, "unreachable (%s)", strerror(err));
		break;
	default:
		snprintf(buf, len, "failed (%s)", strerror(err));
		break;
	}
}

/* Why the connect of a socket that is writable but not connected failed.
 * With TLS, libmosquitto starts the handshake inside
 * mosquitto_connect_async(), before the TCP connect is done: when the
 * refusal is already there, that write takes the socket's error (SO_ERROR
 * then reads 0) and libmosquitto carries on, leaving it only in errno. */
static int
lost_connect_error(const struct mqtt *m)
{
	switch (m->connect_errno) {
	case ECONNREFUSED:
	case ETIMEDOUT:
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
	case EADDRNOTAVAIL:
		return m->connect_errno;
	default:
		return -1;
	}
}

static bool
is_connected(evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	return getpeername(fd, (struct sockaddr *)&ss, &len) == 0 ||
	    errno != ENOTCONN;
}

static void
describe(char *buf, size_t len, int rc, int err)
{
	if (rc == MOSQ_ERR_ERRNO)
		snprintf(buf, len, "%s", strerror(err));
	else
		snprintf(buf, len, "%s", mosquitto_strerror(rc));
}

/* ----------------------------------------------------------------- TLS */

/* Verification failures, in words, for the reason of the round. */
static int
on_verify(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct mqtt *m = ssl != NULL ?
	    SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
	int err;

	if (ok || m == NULL || m->tls_error[0] != '\0')
		return ok;
	err = X509_STORE_CTX_get_error(x);
	if (err == X509_V_ERR_HOSTNAME_MISMATCH ||
	    err == X509_V_ERR_IP_ADDRESS_MISMATCH)
		snprintf(m->tls_error, sizeof m->tls_error, "host name "
		    "verification failed: the broker's certificate is not for %s",
		    m->host);
	else
		snprintf(m->tls_error, sizeof m->tls_error, "certificate "
		    "verification failed: %s", X509_verify_cert_error_string(err));
	return ok;
}

/* libmosquitto sets the SNI to the address it was given; the broker
 * should see the name. Called before the ClientHello is built. */
static void
on_tls_info(const SSL *ssl, int where, int ret)
{
	struct mqtt *m;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_START))
		return;
	m = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	/* The callback type says const; the object is ours to change. */
	SSL_set_tlsext_host_name((SSL *)ssl, m->host);
}

/* One file of the TLS settings, named as the owner knows it. */
static bool
readable(const char *what, const char *path, char *why, size_t len)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(why, len, "cannot read %s=%s: %s", what, path,
		    strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

/* The TLS context of a round, built by transport/tls (its hardening, the
 * configured name verified whatever address is dialled) with what this
 * link adds: verification failures in words, the name as SNI. Returns NULL
 * with why filled. */
static SSL_CTX *
tls_ctx_new(struct mqtt *m, char *why, size_t len)
{
	struct tls_client_opts t = { m->ca_file, m->cert, m->key, m->host };
	char *cause = NULL;
	SSL_CTX *ctx;

	if (!readable("ca_file", m->ca_file, why, len) ||
	    (m->cert != NULL && !readable("cert", m->cert, why, len)) ||
	    (m->key != NULL && !readable("key", m->key, why, len)))
		return NULL;
	if ((ctx = tls_client_ctx(&t, &cause)) == NULL) {
		snprintf(why, len, "%s", cause);
		free(cause);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify);
	SSL_CTX_set_app_data(ctx, m);
	if (!m->literal)	/* no SNI for an address (RFC 6066) */
		SSL_CTX_set_info_callback(ctx, on_tls_info);
	return ctx;
}

/* ------------------------------------------------- libmosquitto callbacks */

static void
mq_on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	struct mqtt *m = arg;

	(void)mosq;
	if (rc != 0) {
		/* loop_read reports the failure next; remember why. */
		m->connack_refused = true;
		snprintf(m->lib_error, sizeof m->lib_error,
		    "connection refused: %s", mosquitto_connack_string(rc));
		return;
	}
	m->st = ST_UP;
	m->backoff_ms = BACKOFF_MIN_MS;
	evtimer_del(m->timer_ev);
	if (m->h.on_up != NULL)
		m->h.on_up(m->arg);
}

static void
mq_on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	struct mqtt *m = arg;

	(void)mosq;
	(void)rc;
	m->lost = true;
}

static void
mq_on_subscribe(struct mosquitto *mosq, void *arg, int mid, int n,
    const int *granted)
{
	struct mqtt *m = arg;

	(void)mosq;
	(void)mid;
	if (m->h.on_subscribed != NULL)
		m->h.on_subscribed(granted, n, m->arg);
}

static void
mq_on_message(struct mosquitto *mosq, void *arg,
    const struct mosquitto_message *msg)
{
	struct mqtt *m = arg;

	(void)mosq;
	if (msg->topic == NULL || msg->payloadlen < 0 || m->h.on_message == NULL)
		return;
	m->h.on_message(msg->topic, msg->payload, (size_t)msg->payloadlen,
	    msg->retain, m->arg);
}

static void
mq_on_log(struct mosquitto *mosq, void *arg, int level, const char *msg)
{
	struct mqtt *m = arg;
	char esc[LOG_ESC_LEN * 2];

	(void)mosq;
	if (level == MOSQ_LOG_ERR && m->lib_error[0] == '\0')
		snprintf(m->lib_error, sizeof m->lib_error, "%s", msg);
	if (level == MOSQ_LOG_ERR || level == MOSQ_LOG_WARNING) {
		log_warn(m->log_name, "libmosquitto msg=%s",
		    log_esc(esc, sizeof esc, msg));
	} else if (log_enabled(LOG_LEVEL_DEBUG)) {
		log_debug(m->log_name, "libmosquitto msg=%s",
		    log_esc(esc, sizeof esc, msg));
	}
}

/* A configured client, not connected. */
static struct mosquitto *
mosq_create(struct mqtt *m, SSL_CTX *ctx, char *why, size_t len)
{
	struct mosquitto *c;
	int rc;

	if ((c = mosquitto_new(m->client_id, true, m)) == NULL) {
		snprintf(why, len, "cannot create the client: %s",
		    strerror(errno));
		return NULL;
	}
	mosquitto_int_option(c, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(c, MOSQ_OPT_TCP_NODELAY, 1);
	if (m->will_topic != NULL &&
	    (rc = mosquitto_will_set(c, m->will_topic,
	    (int)strlen(m->will_payload), m->will_payload, m->will_qos,
	    m->will_retain)) != MOSQ_ERR_SUCCESS) {
		snprintf(why, len, "cannot set the last will: %s",
		    mosquitto_strerror(rc));
		goto fail;
	}
	if (m->username != NULL &&
	    (rc = mosquitto_username_pw_set(c, m->username, m->password)) !=
	    MOSQ_ERR_SUCCESS) {
		snprintf(why, len, "cannot set the credentials: %s",
		    mosquitto_strerror(rc));
		goto fail;
	}
	if (ctx != NULL) {
		/* Our context as it is: libmosquitto's defaults would verify
		 * the numeric address instead of the name. */
		mosquitto_int_option(c, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
		if ((rc = mosquitto_void_option(c, MOSQ_OPT_SSL_CTX, ctx)) !=
		    MOSQ_ERR_SUCCESS) {
			snprintf(why, len, "cannot use the TLS context: %s",
			    mosquitto_strerror(rc));
			goto fail;
		}
	}
	mosquitto_connect_callback_set(c, mq_on_connect);
	mosquitto_disconnect_callback_set(c, mq_on_disconnect);
	mosquitto_subscribe_callback_set(c, mq_on_subscribe);
	mosquitto_message_callback_set(c, mq_on_message);
	mosquitto_log_callback_set(c, mq_on_log);
	return c;
fail:
	mosquitto_destroy(c);
	return NULL;
}

/* ------------------------------------------------------------- the link */

/* Free the socket's events and the client (never from their callbacks). */
static void
drop_client(struct mqtt *m)
{
	if (m->rev != NULL)
		event_free(m->rev);
	if (m->wev != NULL)
		event_free(m->wev);
	m->rev = m->wev = NULL;
	if (m->mosq != NULL)
		mosquitto_destroy(m->mosq);
	m->mosq = NULL;
}

/* Give up a pending lookup; its callback frees the struct resolve. */
static void
abandon_lookup(struct mqtt *m)
{
	struct resolve *r = m->resolve;

	if (r == NULL)
		return;
	m->resolve = NULL;
	r->m = NULL;
	if (m->own_dns != NULL) {
		/* Answers the lookup with DNS_ERR_SHUTDOWN from the loop,
		 * without touching the freed resolver again. */
		evdns_base_free(m->own_dns, 1);
		m->own_dns = NULL;
	} else if (r->req != NULL) {
		evdns_getaddrinfo_cancel(r->req);
	}
}

static int
next_backoff(struct mqtt *m)
{
	uint32_t r;
	int d = m->backoff_ms, delay;

	evutil_secure_rng_get_bytes(&r, sizeof r);
	/* "Equal jitter": somewhere in [d/2, d], so that clients that lost
	 * the same broker do not all come back in the same second. */
	delay = d / 2 + (int)(r % (uint32_t)(d / 2 + 1));
	m->backoff_ms = d * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d * 2;
	return delay;
}

/* The round failed or the link was lost: stop watching the socket, tell
 * the owner, start the next round after the backoff. Safe inside the
 * socket's callbacks. */
static void
link_down(struct mqtt *m, enum mqtt_down_kind kind, const char *why)
{
	struct mqtt_down d;

	if (m->st == ST_IDLE)
		return;
	d.was_up = m->st == ST_UP;
	if (m->rev != NULL)
		event_del(m->rev);
	if (m->wev != NULL)
		event_del(m->wev);
	evtimer_del(m->timer_ev);
	abandon_lookup(m);
	m->st = ST_IDLE;
	m->ai_next = NULL;		/* the next round resolves again */
	if (!d.was_up && m->tls_error[0] != '\0') {
		kind = MQTT_DOWN_TLS;
		why = m->tls_error;
	} else if (!d.was_up && m->connack_refused) {
		kind = MQTT_DOWN_CONNACK;
		why = m->lib_error;
	} else if (!d.was_up && m->lib_error[0] != '\0' &&
	    kind != MQTT_DOWN_REFUSED && kind != MQTT_DOWN_UNREACHABLE) {
		why = m->lib_error;
		if (m->ssl_ctx != NULL && strncmp(why, "OpenSSL", 7) == 0)
			kind = MQTT_DOWN_TLS;
	}
	d.kind = kind;
	d.why = why;
	d.retry_in_ms = next_backoff(m);
	arm(m->retry_ev, d.retry_in_ms);
	if (m->h.on_down != NULL)
		m->h.on_down(&d, m->arg);
}

/* The current address failed at the TCP level (err: an errno): say so and
 * try the next one, or end the round. */
static void
address_failed(struct mqtt *m, int err)
{
	char outcome[96], next[ADDR_LEN], num[ADDR_LEN];
	size_t used = strlen(m->round);

	if (m->rev != NULL)
		event_del(m->rev);
	if (m->wev != NULL)
		event_del(m->wev);
	evtimer_del(m->timer_ev);
	tcp_outcome(outcome, sizeof outcome, err);
	snprintf(m->round + used, sizeof m->round - used, "%s%s %s",
	    used > 0 ? ", " : "", m->addr, outcome);
	if (m->ai_next == NULL) {
		link_down(m, err == ECONNREFUSED ? MQTT_DOWN_REFUSED :
		    MQTT_DOWN_UNREACHABLE, m->round);
		return;
	}
	format_addr(m->ai_next->ai_addr, m->port, num, sizeof num, next,
	    sizeof next);
	log_info(m->log_name, "%s %s, trying %s", m->addr, outcome, next);
	/* From the loop: this may run inside the socket's own callback. */
	m->st = ST_IDLE;
	arm(m->retry_ev, 0);
}

/* After any libmosquitto call: notice a dead socket, follow its wish to
 * write. */
static void
io_sync(struct mqtt *m, int rc)
{
	char why[MQTT_WHY_LEN];

	if (m->mosq == NULL || m->st < ST_TCP)
		return;
	if (rc != MOSQ_ERR_SUCCESS || m->lost ||
	    mosquitto_socket(m->mosq) == -1) {
		if (rc == MOSQ_ERR_SUCCESS)
			rc = MOSQ_ERR_CONN_LOST;
		describe(why, sizeof why, rc, errno);
		link_down(m, rc == MOSQ_ERR_TLS ? MQTT_DOWN_TLS :
		    MQTT_DOWN_CLOSED, why);
		return;
	}
	if (m->st == ST_TCP)
		return;		/* the write event waits for the connect */
	if (mosquitto_want_write(m->mosq))
		event_add(m->wev, NULL);
	else
		event_del(m->wev);
}

/* The peer closed or reset the socket (only looked at while connecting,
 * see the top of the file). */
static bool
peer_gone(evutil_socket_t fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct mqtt *m = arg;

	(void)what;
	if (m->st == ST_CONNECTING && peer_gone(fd)) {
		link_down(m, MQTT_DOWN_CLOSED,
		    "closed by the broker before CONNACK");
		return;
	}
	io_sync(m, mosquitto_loop_read(m->mosq, 1));
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct mqtt *m = arg;
	socklen_t len;
	int err = 0;

	(void)what;
	if (m->st == ST_TCP) {
		len = sizeof err;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0 && !is_connected(fd))
			err = lost_connect_error(m);
		if (err != 0) {
			address_failed(m, err);
			return;
		}
		m->st = ST_CONNECTING;
		event_add(m->rev, NULL);
	}
	if (m->st == ST_CONNECTING && m->ssl_ctx != NULL) {
		/* libmosquitto continues SSL_connect only from its read side. */
		int rc = mosquitto_loop_read(m->mosq, 1);

		if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m->mosq) == -1) {
			io_sync(m, rc);
			return;
		}
	}
	io_sync(m, mosquitto_loop_write(m->mosq, 1));
}

/* Connect to the next address of the round. */
static void
try_address(struct mqtt *m)
{
	struct evutil_addrinfo *ai = m->ai_next;
	char num[ADDR_LEN], why[MQTT_WHY_LEN];
	int rc, fd, err;

	m->ai_next = ai->ai_next;
	drop_client(m);
	m->lost = false;
	m->connack_refused = false;
	m->lib_error[0] = m->tls_error[0] = '\0';
	m->st = ST_TCP;
	format_addr(ai->ai_addr, m->port, num, sizeof num, m->addr,
	    sizeof m->addr);
	if ((m->mosq = mosq_create(m, m->ssl_ctx, why, sizeof why)) == NULL) {
		link_down(m, MQTT_DOWN_SETUP, why);
		return;
	}
	log_debug(m->log_name, "connecting broker=%s:%u addr=%s", m->host,
	    m->port, m->addr);
	errno = 0;
	rc = mosquitto_connect_async(m->mosq, num, m->port, m->keepalive_s);
	err = errno;
	if (rc == MOSQ_ERR_ERRNO && err != 0) {
		address_failed(m, err);
		return;
	}
	m->connect_errno = err;
	if (rc != MOSQ_ERR_SUCCESS || (fd = mosquitto_socket(m->mosq)) == -1) {
		describe(why, sizeof why, rc == MOSQ_ERR_SUCCESS ?
		    MOSQ_ERR_NO_CONN : rc, err);
		link_down(m, rc == MOSQ_ERR_TLS ? MQTT_DOWN_TLS :
		    MQTT_DOWN_CLOSED, why);
		return;
	}
	m->rev = event_new(m->base, fd, EV_READ | EV_PERSIST, on_read, m);
	m->wev = event_new(m->base, fd, EV_WRITE | EV_PERSIST, on_write, m);
	if (m->rev == NULL || m->wev == NULL)
		abort();
	event_add(m->wev, NULL);
	arm(m->timer_ev, ATTEMPT_TIMEOUT_MS);
}

static void
on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct resolve *r = arg;
	struct mqtt *m = r->m;
	char why[MQTT_WHY_LEN];

	free(r);
	if (m == NULL) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	m->resolve = NULL;
	evtimer_del(m->timer_ev);
	if (result != 0 || res == NULL) {
		snprintf(why, sizeof why, "cannot resolve %s: %s", m->host,
		    evutil_gai_strerror(result));
		if (res != NULL)
			evutil_freeaddrinfo(res);
		link_down(m, MQTT_DOWN_RESOLVE, why);
		return;
	}
	m->ai = m->ai_next = res;
	try_address(m);
}

/* This round's resolver: the caller's, or a fresh one of our own, so that
 * a changed resolv.conf or hosts file counts from the next round on. */
static struct evdns_base *
round_dns(struct mqtt *m)
{
	if (m->dns != NULL)
		return m->dns;
	if (m->own_dns != NULL)
		evdns_base_free(m->own_dns, 0);	/* no lookup is pending */
	m->own_dns = evdns_base_new(m->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (m->own_dns == NULL) {
		/* An unusable resolv.conf: the hosts file still answers. */
		m->own_dns = evdns_base_new(m->base,
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (m->own_dns == NULL)
			abort();
		evdns_base_load_hosts(m->own_dns, HOSTS_FILE);
	}
	return m->own_dns;
}

/* A round: fresh TLS files, the name resolved again, every address. */
static void
start_round(struct mqtt *m)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	struct resolve *r;
	char port[8], why[MQTT_WHY_LEN];

	drop_client(m);
	if (m->ai != NULL)
		evutil_freeaddrinfo(m->ai);
	m->ai = m->ai_next = NULL;
	m->round[0] = '\0';
	m->lib_error[0] = m->tls_error[0] = '\0';
	m->connack_refused = false;
	m->st = ST_RESOLVING;
	if (m->ssl_ctx != NULL)
		SSL_CTX_free(m->ssl_ctx);
	m->ssl_ctx = NULL;
	if (m->ca_file != NULL &&
	    (m->ssl_ctx = tls_ctx_new(m, why, sizeof why)) == NULL) {
		link_down(m, MQTT_DOWN_SETUP, why);
		return;
	}

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_NUMERICSERV;
	snprintf(port, sizeof port, "%u", m->port);
	if (m->literal) {
		hints.ai_flags |= EVUTIL_AI_NUMERICHOST;
		if (evutil_getaddrinfo(m->host, port, &hints, &m->ai) != 0 ||
		    m->ai == NULL) {
			snprintf(why, sizeof why, "not a usable address: %s",
			    m->host);
			link_down(m, MQTT_DOWN_RESOLVE, why);
			return;
		}
		m->ai_next = m->ai;
		try_address(m);
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->m = m;
	m->resolve = r;
	arm(m->timer_ev, RESOLVE_TIMEOUT_MS);
	/* The callback may run before this returns (hosts file): it then
	 * clears m->resolve and frees r, and the handle (NULL) is not kept. */
	req = evdns_getaddrinfo(round_dns(m), m->host, port, &hints,
	    on_resolved, r);
	if (m->resolve == r)
		r->req = req;
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct mqtt *m = arg;

	(void)fd;
	(void)what;
	if (m->ai_next != NULL)
		try_address(m);
	else
		start_round(m);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mqtt *m = arg;
	char why[MQTT_WHY_LEN];

	(void)fd;
	(void)what;
	switch (m->st) {
	case ST_RESOLVING:
		snprintf(why, sizeof why, "cannot resolve %s: no answer within "
		    "%d s", m->host, RESOLVE_TIMEOUT_MS / 1000);
		link_down(m, MQTT_DOWN_RESOLVE, why);
		break;
	case ST_TCP:
		address_failed(m, ETIMEDOUT);
		break;
	case ST_CONNECTING:
		link_down(m, MQTT_DOWN_TIMEOUT, "no CONNACK within 10 s");
		break;
	default:
		break;
	}
}

static void
on_misc(evutil_socket_t fd, short what, void *arg)
{
	struct mqtt *m = arg;

	(void)fd;
	(void)what;
	if (m->mosq != NULL && m->st >= ST_CONNECTING)
		io_sync(m, mosquitto_loop_misc(m->mosq));
}

/* A publish or subscribe found the link broken: tell the owner from the
 * loop, not from inside its own call. */
static void
on_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	io_sync(arg, MOSQ_ERR_SUCCESS);
}

/* After the owner's publish or subscribe: write when libmosquitto wants
 * to, notice a broken link later. */
static int
after_call(struct mqtt *m, int rc)
{
	switch (rc) {
	case MOSQ_ERR_SUCCESS:
		break;
	case MOSQ_ERR_NOMEM:
		abort();
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_MALFORMED_UTF8:
	case MOSQ_ERR_OVERSIZE_PACKET:
		return MQTT_E_ARG;
	default:
		event_active(m->check_ev, EV_TIMEOUT, 0);
		return MQTT_E_DOWN;
	}
	if (m->lost || mosquitto_socket(m->mosq) == -1)
		event_active(m->check_ev, EV_TIMEOUT, 0);
	else if (mosquitto_want_write(m->mosq))
		event_add(m->wev, NULL);
	return MQTT_OK;
}

/* --------------------------------------------------------------- the API */

static void
free_strings(struct mqtt *m)
{
	free(m->log_name);
	free(m->host);
	free(m->client_id);
	free(m->username);
	if (m->password != NULL) {
		explicit_bzero(m->password, strlen(m->password));
		free(m->password);
	}
	free(m->ca_file);
	free(m->cert);
	free(m->key);
	free(m->will_topic);
	free(m->will_payload);
}

struct mqtt *
mqtt_new(struct event_base *base, const struct mqtt_opts *o,
    const struct mqtt_handler *handler, void *arg, char **cause)
{
	struct timeval misc = { MISC_INTERVAL_MS / 1000,
	    (MISC_INTERVAL_MS % 1000) * 1000 };
	char why[512];
	struct mosquitto *probe;
	SSL_CTX *ctx = NULL;
	struct mqtt *m;

	*cause = NULL;
	if (o->host == NULL || o->host[0] == '\0') {
		*cause = xstrdup("no broker host");
		return NULL;
	}
	mosquitto_lib_init();
	m = xcalloc(1, sizeof *m);
	m->base = base;
	if (handler != NULL)
		m->h = *handler;
	m->arg = arg;
	m->log_name = xstrdup(o->log_name != NULL ? o->log_name : "mqtt");
	m->host = xstrdup(o->host);
	m->port = o->port;
	m->client_id = xstrdup(o->client_id);
	m->username = xstrdup(o->username);
	m->password = xstrdup(o->password);
	m->keepalive_s = o->keepalive_s;
	m->ca_file = xstrdup(o->ca_file);
	m->cert = xstrdup(o->cert);
	m->key = xstrdup(o->key);
	m->will_topic = xstrdup(o->will_topic);
	m->will_payload = xstrdup(o->will_payload != NULL ? o->will_payload :
	    "");
	m->will_qos = o->will_qos;
	m->will_retain = o->will_retain;
	m->literal = is_literal(o->host);
	m->dns = o->dns;
	m->backoff_ms = BACKOFF_MIN_MS;

	m->misc_ev = event_new(base, -1, EV_PERSIST, on_misc, m);
	m->retry_ev = evtimer_new(base, on_retry, m);
	m->timer_ev = evtimer_new(base, on_timer, m);
	m->check_ev = event_new(base, -1, 0, on_check, m);
	if (!m->misc_ev || !m->retry_ev || !m->timer_ev || !m->check_ev)
		abort();

	/* Refuse what would fail every round (TLS files, the will) now, not
	 * forever in the retry loop. */
	if (m->ca_file != NULL && (ctx = tls_ctx_new(m, why, sizeof why)) ==
	    NULL) {
		*cause = xstrdup(why);
		mqtt_free(m);
		return NULL;
	}
	probe = mosq_create(m, ctx, why, sizeof why);
	SSL_CTX_free(ctx);
	if (probe == NULL) {
		*cause = xstrdup(why);
		mqtt_free(m);
		return NULL;
	}
	mosquitto_destroy(probe);

	event_add(m->misc_ev, &misc);
	arm(m->retry_ev, 0);		/* connect from the loop */
	return m;
}

int
mqtt_publish(struct mqtt *m, const char *topic, const void *payload,
    size_t len, int qos, bool retain)
{
	if (m->st != ST_UP)
		return MQTT_E_DOWN;
	if (len > INT_MAX)
		return MQTT_E_ARG;
	return after_call(m, mosquitto_publish(m->mosq, NULL, topic, (int)len,
	    payload, qos, retain));
}

int
mqtt_subscribe(struct mqtt *m, const char *const *topics, int n, int qos)
{
	if (m->st != ST_UP)
		return MQTT_E_DOWN;
	/* libmosquitto does not write through the array. */
	return after_call(m, mosquitto_subscribe_multiple(m->mosq, NULL, n,
	    (char *const *)topics, qos, 0, NULL));
}

bool
mqtt_is_up(const struct mqtt *m)
{
	return m->st == ST_UP;
}

void
mqtt_free(struct mqtt *m)
{
	if (m == NULL)
		return;
	if (m->mosq != NULL && m->st == ST_UP) {
		mosquitto_disconnect(m->mosq);
		mosquitto_loop_write(m->mosq, 1);
	}
	abandon_lookup(m);
	drop_client(m);
	if (m->own_dns != NULL)
		evdns_base_free(m->own_dns, 0);
	if (m->ai != NULL)
		evutil_freeaddrinfo(m->ai);
	if (m->ssl_ctx != NULL)
		SSL_CTX_free(m->ssl_ctx);
	if (m->misc_ev)
		event_free(m->misc_ev);
	if (m->retry_ev)
		event_free(m->retry_ev);
	if (m->timer_ev)
		event_free(m->timer_ev);
	if (m->check_ev)
		event_free(m->check_ev);
	free_strings(m);
	free(m);
	mosquitto_lib_cleanup();
}
