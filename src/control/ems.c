/*
 * ems — see ems.h.
 *
 * The link, as a small state machine driven by libevent:
 *
 *   IDLE ──retry timer──▶ TCP            connect() in progress
 *   TCP ──writable, SO_ERROR 0──▶ CONNECTING   TLS handshake, CONNECT sent
 *   CONNECTING ──CONNACK 0──▶ UP
 *   any ──failure──▶ IDLE   refused, reset, TLS, CONNACK refused, keepalive,
 *                           no CONNACK within 10 s; retried after the backoff
 *
 * Every attempt starts from a fresh struct mosquitto (start_connect), so no
 * state of a failed connection leaks into the next one. libmosquitto's
 * socket gets one read and one write event per attempt; a failure only
 * disables them (link_down), because it is usually detected inside one of
 * them: the events and the old struct mosquitto are freed by the next
 * attempt, from the retry timer's callback, never from their own.
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
 * Limit changes are reported to the owner from a deferred event (notify),
 * never from inside libmosquitto or from inside one of the owner's calls,
 * so the owner may publish from on_limit without any reentrancy.
 */
#include "control/ems.h"

#include <errno.h>
#include <math.h>
#include <mosquitto.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/util.h>

#include "util/isotime.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define CONNECT_TIMEOUT_MS 10000	/* socket opened → CONNACK */
#define MISC_INTERVAL_MS 1000		/* mosquitto_loop_misc: keepalive */
#define QOS 1
#define REFUSAL_LOGS 10			/* refusal log lines per window ... */
#define REFUSAL_WINDOW_MS 10000		/* ... the rest are counted */
#define OFFLINE_DOC "{\"online\":false}"

enum link_state {
	LINK_IDLE = 0,		/* no socket watched; the retry timer is armed */
	LINK_TCP,		/* TCP connect in progress: writability only */
	LINK_CONNECTING,	/* TCP up; TLS handshake, CONNECT sent */
	LINK_UP,		/* CONNACK 0 received */
};

/* One retained topic we publish, with its rate limit. */
struct pub {
	struct ems *e;
	int n;			/* EVSE number; 0 for the status */
	char *topic;
	cJSON *doc;		/* the owner's latest document */
	char *sent;		/* the text last sent, for deduplication */
	bool dirty;		/* doc not sent yet */
	bool ever_sent;
	int64_t last_tx_ms;	/* monotonic */
	struct event *timer;
};

/* What the module keeps of the configuration. */
struct settings {
	char *host;
	int port;
	char *prefix;
	char *client_id;
	char *username;
	char *password;
	int keepalive_s;
	char *ca_file, *cert, *key;
	int limit_timeout_s;
	double voltage_v;
	double failsafe_a;
};

struct ems {
	struct event_base *base;
	struct ems_callbacks cb;
	struct settings set;
	char *t_status, *t_limit, *t_limit_error, *t_evse_set;

	struct mosquitto *mosq;
	enum link_state link;
	struct event *rev, *wev;	/* the current socket's; NULL when none */
	struct event *misc_ev, *retry_ev, *connect_ev;
	int backoff_ms;
	bool lost;			/* on_disconnect was called */
	char lib_error[EMS_WHY_LEN];	/* libmosquitto's first error line */
	unsigned connects;

	struct ems_limit limit;
	struct event *ttl_ev, *timeout_ev, *down_ev, *notify_ev;
	int64_t last_valid_ms;		/* monotonic; a valid limit arrived */
	int64_t down_since_ms;		/* monotonic; 0 while the link is up */

	char last_error[EMS_WHY_LEN];
	int64_t last_error_ms;
	int64_t refusal_window_ms;	/* monotonic start of the log window */
	int refusal_logs;		/* logged in this window */
	unsigned refusals_quiet;	/* not logged since the last line */

	struct pub status;
	struct pub **evse;		/* [n - 1], created on first use */
	size_t nevse;
};

/* ------------------------------------------------------------ helpers */





static struct timeval
tv_ms(int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

static void
arm(struct event *ev, int64_t ms)
{
	struct timeval tv = tv_ms(ms);

	evtimer_add(ev, &tv);
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* --------------------------------------------------------- pure parsers */

/* Copy at most max bytes of p, escaped, into buf. */
static char *
excerpt(char *buf, size_t len, const char *p, size_t plen, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (len == 0)
		return buf;
	for (i = 0; i < plen && i < max; i++) {
		unsigned char c = (unsigned char)p[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '\\';
		/* Keep room for "..." unless this is the last byte. */
		size_t need = (plain ? 1 : 4) + (i + 1 < plen ? 3 : 0);

		if (o + need > len - 1)
			break;
		if (plain) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (i < plen && o + 3 <= len - 1) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

char *
ems_excerpt(char *buf, size_t len, const char *payload, size_t plen)
{
	return excerpt(buf, len, payload, plen, EMS_EXCERPT_MAX);
}

static int
refuse(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return EMS_ERR_INVALID;
}


/*
 * The common part of both payloads: size, NUL bytes, JSON syntax, an
 * object, only the keys in keys[] and each at most once. Returns the
 * parsed object, or NULL with why filled.
 */
static cJSON *
parse_object(const char *payload, size_t len, const char *const *keys,
    char *why, size_t whylen)
{
	char buf[EMS_PAYLOAD_MAX + 1], key[64];
	const char *end = NULL;
	unsigned seen = 0;
	cJSON *obj, *it;

	if (len > EMS_PAYLOAD_MAX) {
		refuse(why, whylen, "payload of %zu bytes is larger than %d", len,
		    EMS_PAYLOAD_MAX);
		return NULL;
	}
	if (len > 0 && memchr(payload, '\0', len) != NULL) {
		refuse(why, whylen, "not JSON: contains a NUL byte");
		return NULL;
	}
	if (len > 0)
		memcpy(buf, payload, len);
	buf[len] = '\0';
	obj = cJSON_ParseWithOpts(buf, &end, true);
	if (obj == NULL) {
		refuse(why, whylen, "not JSON (error at byte %td)",
		    end != NULL ? end - buf : (ptrdiff_t)0);
		return NULL;
	}
	if (!cJSON_IsObject(obj)) {
		refuse(why, whylen, "not a JSON object, got %s", json_type_name(obj));
		cJSON_Delete(obj);
		return NULL;
	}
	cJSON_ArrayForEach(it, obj) {
		unsigned k;

		for (k = 0; keys[k] != NULL; k++)
			if (strcmp(it->string, keys[k]) == 0)
				break;
		excerpt(key, sizeof key, it->string, strlen(it->string), 40);
		if (keys[k] == NULL) {
			refuse(why, whylen, "unknown key \"%s\"", key);
			cJSON_Delete(obj);
			return NULL;
		}
		if (seen & (1u << k)) {
			refuse(why, whylen, "duplicate key \"%s\"", key);
			cJSON_Delete(obj);
			return NULL;
		}
		seen |= 1u << k;
	}
	return obj;
}

/* A finite number within [lo, hi]; name names it in why. */
static int
check_number(const cJSON *v, const char *name, double lo, double hi,
    const char *unit, double *out, char *why, size_t whylen)
{
	if (!cJSON_IsNumber(v))
		return refuse(why, whylen, "%s: expected a number, got %s", name,
		    json_type_name(v));
	if (!isfinite(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi)
		return refuse(why, whylen, "%s: %g is out of range %g..%g%s%s",
		    name, v->valuedouble, lo, hi, *unit ? " " : "", unit);
	*out = v->valuedouble;
	return EMS_OK;
}

int
ems_limit_parse(const char *payload, size_t len, double voltage_v,
    struct ems_limit *out, char *why, size_t whylen)
{
	static const char *const keys[] = { "max_current_a", "max_power_w",
		"ttl_s", NULL };
	struct ems_limit l;
	const cJSON *cur, *pow, *ttl;
	cJSON *obj;
	int rc = EMS_ERR_INVALID;

	memset(out, 0, sizeof *out);
	memset(&l, 0, sizeof l);
	if (whylen > 0)
		why[0] = '\0';
	if ((obj = parse_object(payload, len, keys, why, whylen)) == NULL)
		return EMS_ERR_INVALID;
	cur = cJSON_GetObjectItemCaseSensitive(obj, "max_current_a");
	pow = cJSON_GetObjectItemCaseSensitive(obj, "max_power_w");
	ttl = cJSON_GetObjectItemCaseSensitive(obj, "ttl_s");
	if (cur != NULL && pow != NULL) {
		refuse(why, whylen, "both max_current_a and max_power_w given; "
		    "expected exactly one");
		goto out;
	}
	if (cur == NULL && pow == NULL) {
		refuse(why, whylen, "neither max_current_a nor max_power_w given; "
		    "expected exactly one");
		goto out;
	}
	if (cur != NULL && cJSON_IsArray(cur)) {
		int n = cJSON_GetArraySize(cur);

		if (n != 3) {
			refuse(why, whylen, "max_current_a: expected 3 values "
			    "[L1, L2, L3], got %d", n);
			goto out;
		}
		for (int i = 0; i < 3; i++) {
			char name[32];

			snprintf(name, sizeof name, "max_current_a[%d]", i);
			if (check_number(cJSON_GetArrayItem(cur, i), name, 0,
			    EMS_CURRENT_MAX_A, "A", &l.current_a[i], why,
			    whylen) != EMS_OK)
				goto out;
		}
	} else if (cur != NULL) {
		if (!cJSON_IsNumber(cur)) {
			refuse(why, whylen, "max_current_a: expected a number or an "
			    "array of 3 numbers, got %s", json_type_name(cur));
			goto out;
		}
		if (check_number(cur, "max_current_a", 0, EMS_CURRENT_MAX_A, "A",
		    &l.current_a[0], why, whylen) != EMS_OK)
			goto out;
		l.current_a[1] = l.current_a[2] = l.current_a[0];
	} else {
		if (check_number(pow, "max_power_w", 0, EMS_POWER_MAX_W, "W",
		    &l.power_w, why, whylen) != EMS_OK)
			goto out;
		if (!(voltage_v > 0)) {
			refuse(why, whylen, "max_power_w: no site voltage to "
			    "convert with");
			goto out;
		}
		l.from_power = true;
		l.current_a[0] = l.power_w / (3.0 * voltage_v);
		l.current_a[1] = l.current_a[2] = l.current_a[0];
	}
	if (ttl != NULL && check_number(ttl, "ttl_s", EMS_TTL_MIN_S,
	    EMS_TTL_MAX_S, "s", &l.ttl_s, why, whylen) != EMS_OK)
		goto out;
	l.source = EMS_SOURCE_EMS;
	l.reason = EMS_REASON_LIMIT;
	*out = l;
	rc = EMS_OK;
out:
	cJSON_Delete(obj);
	return rc;
}

int
ems_evse_set_parse(const char *payload, size_t len, struct ems_evse_set *out,
    char *why, size_t whylen)
{
	static const char *const keys[] = { "max_current_a", "priority", NULL };
	struct ems_evse_set s;
	const cJSON *cap, *prio;
	cJSON *obj;
	double v;
	int rc = EMS_ERR_INVALID;

	memset(out, 0, sizeof *out);
	memset(&s, 0, sizeof s);
	if (whylen > 0)
		why[0] = '\0';
	if ((obj = parse_object(payload, len, keys, why, whylen)) == NULL)
		return EMS_ERR_INVALID;
	cap = cJSON_GetObjectItemCaseSensitive(obj, "max_current_a");
	prio = cJSON_GetObjectItemCaseSensitive(obj, "priority");
	if (cap == NULL && prio == NULL) {
		refuse(why, whylen, "neither max_current_a nor priority given");
		goto out;
	}
	if (cJSON_IsNull(cap)) {
		s.cap = EMS_CAP_CLEAR;
	} else if (cap != NULL) {
		if (!cJSON_IsNumber(cap)) {
			refuse(why, whylen, "max_current_a: expected a number or "
			    "null, got %s", json_type_name(cap));
			goto out;
		}
		if (check_number(cap, "max_current_a", 0, EMS_CURRENT_MAX_A, "A",
		    &s.cap_a, why, whylen) != EMS_OK)
			goto out;
		s.cap = EMS_CAP_SET;
	}
	if (prio != NULL) {
		if (check_number(prio, "priority", 0, EMS_PRIORITY_MAX, "",
		    &v, why, whylen) != EMS_OK)
			goto out;
		if (v != floor(v)) {
			refuse(why, whylen, "priority: expected an integer, got %g",
			    v);
			goto out;
		}
		s.has_priority = true;
		s.priority = (int)v;
	}
	*out = s;
	rc = EMS_OK;
out:
	cJSON_Delete(obj);
	return rc;
}

int
ems_evse_topic_parse(const char *prefix, const char *topic, int *evse)
{
	size_t pl = strlen(prefix);
	const char *p;
	char *end;
	long v;

	if (strncmp(topic, prefix, pl) != 0 ||
	    strncmp(topic + pl, "/evse/", 6) != 0)
		return EMS_ERR_TOPIC;
	p = topic + pl + 6;
	/* A leading digit 1-9 also rules out signs, spaces and "0". */
	if (*p < '1' || *p > '9')
		return EMS_ERR_TOPIC;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno != 0 || strcmp(end, "/set") != 0 || v < 1 || v > EMS_EVSE_MAX)
		return EMS_ERR_TOPIC;
	*evse = (int)v;
	return EMS_OK;
}

const char *
ems_source_name(enum ems_source s)
{
	return s == EMS_SOURCE_EMS ? "ems" : "failsafe";
}

const char *
ems_reason_name(enum ems_reason r)
{
	switch (r) {
	case EMS_REASON_STARTUP:
		return "startup";
	case EMS_REASON_LIMIT:
		return "limit";
	case EMS_REASON_TTL_EXPIRED:
		return "ttl_expired";
	case EMS_REASON_LIMIT_TIMEOUT:
		return "limit_timeout";
	case EMS_REASON_BROKER_UNREACHABLE:
		return "broker_unreachable";
	}
	return "?";
}

/* ------------------------------------------------------------- settings */

static void
settings_from(struct settings *s, const struct config *cfg)
{
	const struct config_mqtt *m = cfg->mqtt;

	memset(s, 0, sizeof *s);
	s->host = xstrdup(m->host);
	s->port = m->port;
	s->prefix = xstrdup(m->prefix);
	s->client_id = xstrdup(m->client_id);
	s->username = xstrdup(m->username);
	s->password = xstrdup(m->password);
	s->keepalive_s = m->keepalive_s;
	s->ca_file = xstrdup(m->ca_file);
	s->cert = xstrdup(m->cert);
	s->key = xstrdup(m->key);
	s->limit_timeout_s = m->limit_timeout_s;
	s->voltage_v = cfg->site.voltage_v;
	s->failsafe_a = cfg->site.failsafe_current_a;
}

static void
settings_clear(struct settings *s)
{
	free(s->host);
	free(s->prefix);
	free(s->client_id);
	free(s->username);
	free_secret(s->password);
	free(s->ca_file);
	free(s->cert);
	free(s->key);
	memset(s, 0, sizeof *s);
}

/* Whether the connection can stay when a changes into b. */
static bool
settings_same_link(const struct settings *a, const struct settings *b)
{
	return str_eq(a->host, b->host) && a->port == b->port &&
	    str_eq(a->prefix, b->prefix) && str_eq(a->client_id, b->client_id) &&
	    str_eq(a->username, b->username) &&
	    str_eq(a->password, b->password) &&
	    a->keepalive_s == b->keepalive_s &&
	    str_eq(a->ca_file, b->ca_file) && str_eq(a->cert, b->cert) &&
	    str_eq(a->key, b->key);
}

static void
set_error(struct ems *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_error(struct ems *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->last_error, sizeof e->last_error, fmt, ap);
	va_end(ap);
	e->last_error_ms = isotime_now_ms();
}

/* ------------------------------------------------------------- the limit */

static void
on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct ems *e = arg;

	(void)fd;
	(void)what;
	if (e->cb.on_limit != NULL)
		e->cb.on_limit(&e->limit, e->cb.arg);
}

static void
log_limit(const struct ems_limit *l, bool retained)
{
	if (l->source == EMS_SOURCE_EMS && l->from_power)
		log_info("ems", "limit source=ems reason=%s l1=%g l2=%g l3=%g "
		    "ttl_s=%g power_w=%g retained=%d", ems_reason_name(l->reason),
		    l->current_a[0], l->current_a[1], l->current_a[2], l->ttl_s,
		    l->power_w, retained);
	else if (l->source == EMS_SOURCE_EMS)
		log_info("ems", "limit source=ems reason=%s l1=%g l2=%g l3=%g "
		    "ttl_s=%g retained=%d", ems_reason_name(l->reason),
		    l->current_a[0], l->current_a[1], l->current_a[2], l->ttl_s,
		    retained);
	else
		log_info("ems", "limit source=failsafe reason=%s l1=%g l2=%g l3=%g",
		    ems_reason_name(l->reason), l->current_a[0], l->current_a[1],
		    l->current_a[2]);
}

/* Put l in force; tell the owner (deferred) when anything but the expiry
 * changed. */
static void
set_limit(struct ems *e, const struct ems_limit *l, bool retained)
{
	bool changed = l->source != e->limit.source ||
	    l->reason != e->limit.reason;

	for (int i = 0; i < 3; i++)
		if (l->current_a[i] != e->limit.current_a[i])
			changed = true;
	e->limit = *l;
	if (!changed) {
		log_debug("ems", "limit refreshed source=%s ttl_s=%g retained=%d",
		    ems_source_name(l->source), l->ttl_s, retained);
		return;
	}
	log_limit(l, retained);
	event_active(e->notify_ev, EV_TIMEOUT, 0);
}

static void
failsafe(struct ems *e, enum ems_reason reason)
{
	struct ems_limit l;

	memset(&l, 0, sizeof l);
	for (int i = 0; i < 3; i++)
		l.current_a[i] = e->set.failsafe_a;
	l.source = EMS_SOURCE_FAILSAFE;
	l.reason = reason;
	evtimer_del(e->ttl_ev);
	evtimer_del(e->timeout_ev);
	set_limit(e, &l, false);
}

static void
on_ttl(evutil_socket_t fd, short what, void *arg)
{
	struct ems *e = arg;

	(void)fd;
	(void)what;
	if (e->limit.source == EMS_SOURCE_EMS)
		failsafe(e, EMS_REASON_TTL_EXPIRED);
}

static void
on_limit_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ems *e = arg;

	(void)fd;
	(void)what;
	if (e->limit.source == EMS_SOURCE_EMS) {
		log_warn("ems", "no valid limit for limit_timeout_s=%d",
		    e->set.limit_timeout_s);
		failsafe(e, EMS_REASON_LIMIT_TIMEOUT);
	}
}

static void
on_down_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ems *e = arg;

	(void)fd;
	(void)what;
	log_warn("ems", "broker unreachable for limit_timeout_s=%d broker=%s:%d",
	    e->set.limit_timeout_s, e->set.host, e->set.port);
	/* Also replaces "startup": it says why no limit came. */
	if (e->limit.source == EMS_SOURCE_EMS ||
	    e->limit.reason == EMS_REASON_STARTUP)
		failsafe(e, EMS_REASON_BROKER_UNREACHABLE);
}

/* ------------------------------------------------------------ publishing */

static double
round2(double v)
{
	return round(v * 100.0) / 100.0;
}

static cJSON *
ems_json(const struct ems *e)
{
	const struct ems_limit *l = &e->limit;
	cJSON *o = cJSON_CreateObject(), *a;
	char ts[ISOTIME_LEN];

	if (o == NULL)
		abort();
	a = cJSON_AddArrayToObject(o, "limit_a");
	for (int i = 0; i < 3; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(round2(l->current_a[i])));
	cJSON_AddStringToObject(o, "source", ems_source_name(l->source));
	cJSON_AddStringToObject(o, "reason", ems_reason_name(l->reason));
	if (l->expires_ms != 0)
		cJSON_AddStringToObject(o, "expires",
		    isotime_format(l->expires_ms, ts));
	if (l->from_power)
		cJSON_AddNumberToObject(o, "power_w", l->power_w);
	cJSON_AddBoolToObject(o, "connected", e->link == LINK_UP);
	if (e->last_error[0] != '\0')
		cJSON_AddStringToObject(o, "last_error", e->last_error);
	return o;
}

static char *
render(const struct ems *e, const struct pub *p)
{
	cJSON *d = p->doc;
	char *text;

	if (p->n == 0) {
		if ((d = cJSON_Duplicate(p->doc, true)) == NULL)
			abort();
		if (!cJSON_HasObjectItem(d, "online"))
			cJSON_AddTrueToObject(d, "online");
		if (!cJSON_HasObjectItem(d, "ems"))
			cJSON_AddItemToObject(d, "ems", ems_json(e));
	}
	if ((text = json_print(d, NULL)) == NULL)
		abort();
	if (d != p->doc)
		cJSON_Delete(d);
	return text;
}

static void io_sync(struct ems *e, int rc);

/* Send p's document now (the caller checked the link and the rate). */
static void
pub_send(struct ems *e, struct pub *p, bool force)
{
	char *text;
	int rc;

	if (p->doc == NULL)
		return;
	text = render(e, p);
	p->dirty = false;
	if (!force && p->sent != NULL && strcmp(p->sent, text) == 0) {
		free(text);
		return;
	}
	rc = mosquitto_publish(e->mosq, NULL, p->topic, (int)strlen(text), text,
	    QOS, true);
	if (rc != MOSQ_ERR_SUCCESS) {
		/* Held: sent again after the reconnect. */
		log_debug("ems", "publish deferred topic=%s error=%s", p->topic,
		    mosquitto_strerror(rc));
		p->dirty = true;
		free(text);
		return;
	}
	log_debug("ems", "published topic=%s bytes=%zu", p->topic, strlen(text));
	free(p->sent);
	p->sent = text;
	p->ever_sent = true;
	p->last_tx_ms = isotime_mono_ms();
}

/* Send p now if its rate allows, else when it does. */
static void
pub_kick(struct ems *e, struct pub *p)
{
	int64_t now, due;

	if (e->link != LINK_UP || !p->dirty)
		return;
	now = isotime_mono_ms();
	due = p->last_tx_ms + EMS_PUBLISH_INTERVAL_MS;
	if (!p->ever_sent || now >= due) {
		pub_send(e, p, false);
		io_sync(e, MOSQ_ERR_SUCCESS);
	} else if (!evtimer_pending(p->timer, NULL)) {
		arm(p->timer, due - now);
	}
}

static void
on_pub_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pub *p = arg;

	(void)fd;
	(void)what;
	pub_kick(p->e, p);
}

static void
pub_init(struct ems *e, struct pub *p, int n)
{
	p->e = e;
	p->n = n;
	p->last_tx_ms = 0;
	p->timer = evtimer_new(e->base, on_pub_timer, p);
	if (p->timer == NULL)
		abort();
}

static void
pub_clear(struct pub *p)
{
	if (p->timer != NULL)
		event_free(p->timer);
	free(p->topic);
	free(p->sent);
	cJSON_Delete(p->doc);
	memset(p, 0, sizeof *p);
}

static int
pub_set(struct ems *e, struct pub *p, const cJSON *doc)
{
	cJSON *dup;

	if (!cJSON_IsObject(doc))
		return EMS_ERR_RANGE;
	if ((dup = cJSON_Duplicate(doc, true)) == NULL)
		abort();
	cJSON_Delete(p->doc);
	p->doc = dup;
	p->dirty = true;
	pub_kick(e, p);
	return EMS_OK;
}

int
ems_publish_status(struct ems *e, const cJSON *doc)
{
	return pub_set(e, &e->status, doc);
}

int
ems_publish_evse(struct ems *e, int n, const cJSON *doc)
{
	struct pub *p;

	if (n < 1 || n > EMS_EVSE_MAX || !cJSON_IsObject(doc))
		return EMS_ERR_RANGE;
	if ((size_t)n > e->nevse) {
		struct pub **v = realloc(e->evse, (size_t)n * sizeof *v);

		if (v == NULL)
			abort();
		memset(v + e->nevse, 0, ((size_t)n - e->nevse) * sizeof *v);
		e->evse = v;
		e->nevse = (size_t)n;
	}
	if ((p = e->evse[n - 1]) == NULL) {
		p = e->evse[n - 1] = xcalloc(1, sizeof *p);
		pub_init(e, p, n);
		p->topic = xasprintf("%s/evse/%d", e->set.prefix, n);
	}
	return pub_set(e, p, doc);
}

/* Publish a refusal on topic (QoS 0, not retained) and log it. */
static void
report_refusal(struct ems *e, const char *what, const char *in_topic,
    const char *err_topic, const char *why, const void *payload, size_t len,
    bool retained)
{
	char ex[EMS_EXCERPT_MAX * 4 + 8], esc_ex[sizeof ex * 2],
	    esc_why[EMS_WHY_LEN * 2], esc_topic[LOG_ESC_LEN];
	cJSON *doc;
	char *text;
	int64_t now;

	ems_excerpt(ex, sizeof ex, payload, len);
	/* An EMS gone wrong may repeat its mistake many times a second: log
	 * a few per window and count the rest (each is still answered). */
	now = isotime_mono_ms();
	if (now - e->refusal_window_ms >= REFUSAL_WINDOW_MS) {
		e->refusal_window_ms = now;
		e->refusal_logs = 0;
	}
	if (e->refusal_logs < REFUSAL_LOGS) {
		e->refusal_logs++;
		log_warn("ems", "%s refused topic=%s error=%s payload=%s "
		    "retained=%d not_logged=%u", what,
		    log_esc(esc_topic, sizeof esc_topic, in_topic),
		    log_esc(esc_why, sizeof esc_why, why),
		    log_esc(esc_ex, sizeof esc_ex, ex), retained,
		    e->refusals_quiet);
		e->refusals_quiet = 0;
	} else {
		e->refusals_quiet++;
	}
	set_error(e, "%s refused: %s", what, why);
	if ((doc = cJSON_CreateObject()) == NULL)
		abort();
	cJSON_AddStringToObject(doc, "error", why);
	cJSON_AddStringToObject(doc, "payload", ex);
	if ((text = json_print(doc, NULL)) == NULL)
		abort();
	cJSON_Delete(doc);
	mosquitto_publish(e->mosq, NULL, err_topic, (int)strlen(text), text, 0,
	    false);
	free(text);
}

/* ------------------------------------------------------------- incoming */

static void
handle_limit(struct ems *e, const struct mosquitto_message *m)
{
	char why[EMS_WHY_LEN];
	struct ems_limit l;
	int64_t now;

	if (ems_limit_parse(m->payload, (size_t)m->payloadlen, e->set.voltage_v,
	    &l, why, sizeof why) != EMS_OK) {
		report_refusal(e, "limit", m->topic, e->t_limit_error, why,
		    m->payload, (size_t)m->payloadlen, m->retain);
		return;
	}
	now = isotime_mono_ms();
	e->last_valid_ms = now;
	arm(e->timeout_ev, (int64_t)e->set.limit_timeout_s * 1000);
	if (l.ttl_s > 0) {
		int64_t ttl_ms = (int64_t)llround(l.ttl_s * 1000.0);

		arm(e->ttl_ev, ttl_ms);
		l.expires_ms = isotime_now_ms() + ttl_ms;
	} else {
		evtimer_del(e->ttl_ev);
	}
	set_limit(e, &l, m->retain);
}

static void
handle_evse_set(struct ems *e, const struct mosquitto_message *m)
{
	char why[EMS_WHY_LEN], *err_topic;
	struct ems_evse_set s;
	int n = 0;

	err_topic = xasprintf("%s/error", m->topic);
	if (ems_evse_topic_parse(e->set.prefix, m->topic, &n) != EMS_OK) {
		snprintf(why, sizeof why, "topic: expected <prefix>/evse/<n>/set "
		    "with n from 1 to %d", EMS_EVSE_MAX);
		report_refusal(e, "evse set", m->topic, err_topic, why, m->payload,
		    (size_t)m->payloadlen, m->retain);
	} else if (ems_evse_set_parse(m->payload, (size_t)m->payloadlen, &s, why,
	    sizeof why) != EMS_OK) {
		report_refusal(e, "evse set", m->topic, err_topic, why, m->payload,
		    (size_t)m->payloadlen, m->retain);
	} else {
		s.evse = n;
		log_info("ems", "evse set evse=%d cap=%s cap_a=%g priority=%d", n,
		    s.cap == EMS_CAP_SET ? "set" : s.cap == EMS_CAP_CLEAR ?
		    "clear" : "keep", s.cap_a, s.has_priority ? s.priority : -1);
		if (e->cb.on_evse_set != NULL)
			e->cb.on_evse_set(&s, e->cb.arg);
	}
	free(err_topic);
}

/* ------------------------------------------------- libmosquitto callbacks */

static void
mq_on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	struct ems *e = arg;
	char *subs[2];

	(void)mosq;
	if (rc != 0) {
		/* loop_read reports the failure next; remember why. */
		snprintf(e->lib_error, sizeof e->lib_error, "connection refused: %s",
		    mosquitto_connack_string(rc));
		return;
	}
	e->link = LINK_UP;
	e->connects++;
	e->backoff_ms = BACKOFF_MIN_MS;
	e->down_since_ms = 0;
	evtimer_del(e->connect_ev);
	evtimer_del(e->down_ev);
	log_info("ems", "connected broker=%s:%d tls=%s client_id=%s prefix=%s",
	    e->set.host, e->set.port, e->set.ca_file ? "yes" : "no",
	    e->set.client_id, e->set.prefix);
	subs[0] = e->t_limit;
	subs[1] = e->t_evse_set;
	rc = mosquitto_subscribe_multiple(e->mosq, NULL, 2, subs, QOS, 0, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		log_warn("ems", "subscribe failed error=%s", mosquitto_strerror(rc));
	/* The will may have replaced our status, and a broker restarted
	 * without persistence has lost every retained topic: send all. */
	pub_send(e, &e->status, true);
	for (size_t i = 0; i < e->nevse; i++)
		if (e->evse[i] != NULL)
			pub_send(e, e->evse[i], true);
}

/* SUBACK: a broker's ACL may refuse a subscription (granted 0x80), which
 * would otherwise go unnoticed: no limit would ever arrive. */
static void
mq_on_subscribe(struct mosquitto *mosq, void *arg, int mid, int n,
    const int *granted)
{
	struct ems *e = arg;
	const char *topics[2] = { e->t_limit, e->t_evse_set };

	(void)mosq;
	(void)mid;
	for (int i = 0; i < n && i < 2; i++) {
		if (granted[i] > 2) {
			log_warn("ems", "subscription refused by the broker topic=%s",
			    topics[i]);
			set_error(e, "subscription to %s refused by the broker",
			    topics[i]);
		}
	}
	log_info("ems", "subscribed topics=%s,%s", e->t_limit, e->t_evse_set);
}

static void
mq_on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	struct ems *e = arg;

	(void)mosq;
	(void)rc;
	e->lost = true;
}

static void
mq_on_message(struct mosquitto *mosq, void *arg,
    const struct mosquitto_message *m)
{
	struct ems *e = arg;

	(void)mosq;
	if (m->topic == NULL)
		return;
	if (strcmp(m->topic, e->t_limit) == 0)
		handle_limit(e, m);
	else
		handle_evse_set(e, m);
}

static void
mq_on_log(struct mosquitto *mosq, void *arg, int level, const char *msg)
{
	struct ems *e = arg;
	char esc[LOG_ESC_LEN * 2];

	(void)mosq;
	if (level == MOSQ_LOG_ERR && e->lib_error[0] == '\0')
		snprintf(e->lib_error, sizeof e->lib_error, "%s", msg);
	if (level == MOSQ_LOG_ERR || level == MOSQ_LOG_WARNING) {
		log_warn("ems", "libmosquitto msg=%s", log_esc(esc, sizeof esc, msg));
	} else if (log_enabled(LOG_LEVEL_DEBUG)) {
		log_debug("ems", "libmosquitto msg=%s",
		    log_esc(esc, sizeof esc, msg));
	}
}

/* A configured client, not connected. */
static struct mosquitto *
mosq_create(struct ems *e, const struct settings *s, const char *will_topic,
    char **cause)
{
	struct mosquitto *m;
	int rc;

	m = mosquitto_new(s->client_id, true, e);
	if (m == NULL) {
		*cause = xasprintf("mqtt: cannot create the client: %s",
		    strerror(errno));
		return NULL;
	}
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	rc = mosquitto_will_set(m, will_topic, (int)strlen(OFFLINE_DOC),
	    OFFLINE_DOC, QOS, true);
	if (rc != MOSQ_ERR_SUCCESS) {
		*cause = xasprintf("mqtt: cannot set the last will: %s",
		    mosquitto_strerror(rc));
		goto fail;
	}
	if (s->username != NULL &&
	    (rc = mosquitto_username_pw_set(m, s->username, s->password)) !=
	    MOSQ_ERR_SUCCESS) {
		*cause = xasprintf("mqtt: cannot set the credentials: %s",
		    mosquitto_strerror(rc));
		goto fail;
	}
	if (s->ca_file != NULL) {
		/* libmosquitto checks that each file can be opened. */
		rc = mosquitto_tls_set(m, s->ca_file, NULL, s->cert, s->key, NULL);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_tls_opts_set(m, 1, "tlsv1.2", NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			*cause = xasprintf("mqtt.tls: cannot use ca_file=%s cert=%s "
			    "key=%s: %s", s->ca_file, s->cert ? s->cert : "-",
			    s->key ? s->key : "-", mosquitto_strerror(rc));
			goto fail;
		}
	}
	mosquitto_connect_callback_set(m, mq_on_connect);
	mosquitto_disconnect_callback_set(m, mq_on_disconnect);
	mosquitto_subscribe_callback_set(m, mq_on_subscribe);
	mosquitto_message_callback_set(m, mq_on_message);
	mosquitto_log_callback_set(m, mq_on_log);
	return m;
fail:
	mosquitto_destroy(m);
	return NULL;
}

/* ------------------------------------------------------------- the link */

/* Free the socket's events and the client (never from their callbacks). */
static void
drop_client(struct ems *e)
{
	if (e->rev != NULL)
		event_free(e->rev);
	if (e->wev != NULL)
		event_free(e->wev);
	e->rev = e->wev = NULL;
	if (e->mosq != NULL)
		mosquitto_destroy(e->mosq);
	e->mosq = NULL;
}

static int
next_backoff(struct ems *e)
{
	uint32_t r;
	int d = e->backoff_ms, delay;

	evutil_secure_rng_get_bytes(&r, sizeof r);
	/* "Equal jitter": somewhere in [d/2, d], so that gateways that lost
	 * the same broker do not all come back in the same second. */
	delay = d / 2 + (int)(r % (uint32_t)(d / 2 + 1));
	e->backoff_ms = d * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d * 2;
	return delay;
}

/* The link failed or was lost: stop watching the socket, start the
 * failsafe clock when it was up, retry later. Safe inside callbacks. */
static void
link_down(struct ems *e, const char *why)
{
	bool was_up = e->link == LINK_UP;
	char esc[LOG_ESC_LEN * 2];
	int delay;

	if (e->link == LINK_IDLE)
		return;
	if (e->rev != NULL)
		event_del(e->rev);
	if (e->wev != NULL)
		event_del(e->wev);
	evtimer_del(e->connect_ev);
	e->link = LINK_IDLE;
	if (e->lib_error[0] != '\0' && !was_up)
		why = e->lib_error;
	set_error(e, "%s", why);
	if (e->down_since_ms == 0) {
		e->down_since_ms = isotime_mono_ms();
		arm(e->down_ev, (int64_t)e->set.limit_timeout_s * 1000);
	}
	delay = next_backoff(e);
	log_warn("ems", "%s broker=%s:%d error=%s retry_in_ms=%d",
	    was_up ? "disconnected" : "connect failed", e->set.host, e->set.port,
	    log_esc(esc, sizeof esc, why), delay);
	arm(e->retry_ev, delay);
}

static void
describe(char *buf, size_t len, int rc, int err)
{
	if (rc == MOSQ_ERR_ERRNO)
		snprintf(buf, len, "%s", strerror(err));
	else if (rc == MOSQ_ERR_EAI)
		snprintf(buf, len, "cannot resolve the host: %s", gai_strerror(err));
	else
		snprintf(buf, len, "%s", mosquitto_strerror(rc));
}

/* After any libmosquitto call: notice a dead socket, follow its wish to
 * write. */
static void
io_sync(struct ems *e, int rc)
{
	char why[EMS_WHY_LEN];

	if (e->mosq == NULL || e->link == LINK_IDLE)
		return;
	if (rc != MOSQ_ERR_SUCCESS || e->lost ||
	    mosquitto_socket(e->mosq) == -1) {
		if (rc == MOSQ_ERR_SUCCESS)
			rc = MOSQ_ERR_CONN_LOST;
		describe(why, sizeof why, rc, errno);
		link_down(e, why);
		return;
	}
	if (e->link == LINK_TCP)
		return;		/* the write event waits for the connect */
	if (mosquitto_want_write(e->mosq))
		event_add(e->wev, NULL);
	else
		event_del(e->wev);
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
	struct ems *e = arg;

	(void)what;
	if (e->link == LINK_CONNECTING && peer_gone(fd)) {
		link_down(e, "closed by the broker before CONNACK");
		return;
	}
	io_sync(e, mosquitto_loop_read(e->mosq, 1));
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct ems *e = arg;
	socklen_t len;
	int err = 0;

	(void)what;
	if (e->link == LINK_TCP) {
		len = sizeof err;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			link_down(e, strerror(err));
			return;
		}
		e->link = LINK_CONNECTING;
		event_add(e->rev, NULL);
	}
	if (e->link == LINK_CONNECTING && e->set.ca_file != NULL) {
		/* libmosquitto continues SSL_connect only from its read side. */
		int rc = mosquitto_loop_read(e->mosq, 1);

		if (rc != MOSQ_ERR_SUCCESS ||
		    mosquitto_socket(e->mosq) == -1) {
			io_sync(e, rc);
			return;
		}
	}
	io_sync(e, mosquitto_loop_write(e->mosq, 1));
}

static void
start_connect(struct ems *e)
{
	char why[EMS_WHY_LEN], *cause = NULL;
	int rc, fd;

	drop_client(e);
	e->lost = false;
	e->lib_error[0] = '\0';
	e->link = LINK_TCP;
	if ((e->mosq = mosq_create(e, &e->set, e->t_status, &cause)) == NULL) {
		link_down(e, cause);
		free(cause);
		return;
	}
	log_debug("ems", "connecting broker=%s:%d", e->set.host, e->set.port);
	errno = 0;
	rc = mosquitto_connect_async(e->mosq, e->set.host, e->set.port,
	    e->set.keepalive_s);
	if (rc != MOSQ_ERR_SUCCESS ||
	    (fd = mosquitto_socket(e->mosq)) == -1) {
		describe(why, sizeof why, rc == MOSQ_ERR_SUCCESS ?
		    MOSQ_ERR_NO_CONN : rc, errno);
		link_down(e, why);
		return;
	}
	e->rev = event_new(e->base, fd, EV_READ | EV_PERSIST, on_read, e);
	e->wev = event_new(e->base, fd, EV_WRITE | EV_PERSIST, on_write, e);
	if (e->rev == NULL || e->wev == NULL)
		abort();
	event_add(e->wev, NULL);
	arm(e->connect_ev, CONNECT_TIMEOUT_MS);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_connect(arg);
}

static void
on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	link_down(arg, "no CONNACK within 10 s");
}

static void
on_misc(evutil_socket_t fd, short what, void *arg)
{
	struct ems *e = arg;

	(void)fd;
	(void)what;
	if (e->mosq != NULL && e->link >= LINK_CONNECTING)
		io_sync(e, mosquitto_loop_misc(e->mosq));
}

/* Publish the offline document and disconnect cleanly, when up. If the
 * bytes cannot all be written now, closing the socket makes the broker
 * publish the will, which says the same. */
static void
say_goodbye(struct ems *e, const char *status_topic)
{
	if (e->mosq == NULL || e->link != LINK_UP)
		return;
	mosquitto_publish(e->mosq, NULL, status_topic, (int)strlen(OFFLINE_DOC),
	    OFFLINE_DOC, QOS, true);
	mosquitto_disconnect(e->mosq);
	mosquitto_loop_write(e->mosq, 1);
	log_info("ems", "disconnected broker=%s:%d", e->set.host, e->set.port);
}

static void
build_topics(struct ems *e)
{
	free(e->t_status);
	free(e->t_limit);
	free(e->t_limit_error);
	free(e->t_evse_set);
	e->t_status = xasprintf("%s/status", e->set.prefix);
	e->t_limit = xasprintf("%s/limit", e->set.prefix);
	e->t_limit_error = xasprintf("%s/limit/error", e->set.prefix);
	e->t_evse_set = xasprintf("%s/evse/+/set", e->set.prefix);
	free(e->status.topic);
	e->status.topic = xstrdup(e->t_status);
	for (size_t i = 0; i < e->nevse; i++) {
		struct pub *p = e->evse[i];

		if (p == NULL)
			continue;
		free(p->topic);
		p->topic = xasprintf("%s/evse/%d", e->set.prefix, p->n);
		free(p->sent);
		p->sent = NULL;
		p->dirty = p->doc != NULL;
	}
	free(e->status.sent);
	e->status.sent = NULL;
	e->status.dirty = true;
}

/* --------------------------------------------------------------- the API */

struct ems *
ems_new(struct event_base *base, const struct config *cfg,
    const struct ems_callbacks *cb, char **cause)
{
	struct ems *e;
	struct mosquitto *probe;
	struct timeval misc = tv_ms(MISC_INTERVAL_MS);

	*cause = NULL;
	if (cfg->mqtt == NULL) {
		*cause = xstrdup("mqtt: not configured");
		return NULL;
	}
	mosquitto_lib_init();
	e = xcalloc(1, sizeof *e);
	e->base = base;
	if (cb != NULL)
		e->cb = *cb;
	settings_from(&e->set, cfg);
	e->backoff_ms = BACKOFF_MIN_MS;
	pub_init(e, &e->status, 0);
	if ((e->status.doc = cJSON_CreateObject()) == NULL)
		abort();
	build_topics(e);

	e->misc_ev = event_new(base, -1, EV_PERSIST, on_misc, e);
	e->retry_ev = evtimer_new(base, on_retry, e);
	e->connect_ev = evtimer_new(base, on_connect_timeout, e);
	e->ttl_ev = evtimer_new(base, on_ttl, e);
	e->timeout_ev = evtimer_new(base, on_limit_timeout, e);
	e->down_ev = evtimer_new(base, on_down_timeout, e);
	e->notify_ev = event_new(base, -1, 0, on_notify, e);
	if (!e->misc_ev || !e->retry_ev || !e->connect_ev || !e->ttl_ev ||
	    !e->timeout_ev || !e->down_ev || !e->notify_ev)
		abort();

	/* Refuse settings libmosquitto refuses (TLS files) now, not forever
	 * in the retry loop. */
	if ((probe = mosq_create(e, &e->set, e->t_status, cause)) == NULL) {
		ems_free(e);
		return NULL;
	}
	mosquitto_destroy(probe);

	for (int i = 0; i < 3; i++)
		e->limit.current_a[i] = e->set.failsafe_a;
	e->limit.source = EMS_SOURCE_FAILSAFE;
	e->limit.reason = EMS_REASON_STARTUP;
	log_info("ems", "starting broker=%s:%d tls=%s prefix=%s "
	    "limit_timeout_s=%d", e->set.host, e->set.port,
	    e->set.ca_file ? "yes" : "no", e->set.prefix,
	    e->set.limit_timeout_s);
	log_limit(&e->limit, false);

	/* Unreachable until proven otherwise. */
	e->down_since_ms = isotime_mono_ms();
	arm(e->down_ev, (int64_t)e->set.limit_timeout_s * 1000);
	event_add(e->misc_ev, &misc);
	arm(e->retry_ev, 0);		/* connect from the loop */
	return e;
}

/* Re-arm a pending timer for a new length, counted from since_ms. */
static void
rearm_from(struct event *ev, int64_t since_ms, int timeout_s)
{
	if (!evtimer_pending(ev, NULL))
		return;
	arm(ev, since_ms + (int64_t)timeout_s * 1000 - isotime_mono_ms());
}

int
ems_reconfigure(struct ems *e, const struct config *cfg, char **cause)
{
	struct settings ns;
	bool relink;

	*cause = NULL;
	if (cfg->mqtt == NULL) {
		*cause = xstrdup("mqtt: not configured");
		return EMS_ERR_INVALID;
	}
	settings_from(&ns, cfg);
	relink = !settings_same_link(&e->set, &ns);
	if (relink) {
		char *will = xasprintf("%s/status", ns.prefix);
		struct mosquitto *probe = mosq_create(e, &ns, will, cause);

		free(will);
		if (probe == NULL) {
			settings_clear(&ns);
			return EMS_ERR_INVALID;
		}
		mosquitto_destroy(probe);
		say_goodbye(e, e->t_status);
	}

	if (ns.failsafe_a != e->set.failsafe_a &&
	    e->limit.source == EMS_SOURCE_FAILSAFE) {
		struct ems_limit l = e->limit;

		for (int i = 0; i < 3; i++)
			l.current_a[i] = ns.failsafe_a;
		e->set.failsafe_a = ns.failsafe_a;
		set_limit(e, &l, false);
	}
	if (ns.limit_timeout_s != e->set.limit_timeout_s) {
		rearm_from(e->timeout_ev, e->last_valid_ms, ns.limit_timeout_s);
		rearm_from(e->down_ev, e->down_since_ms, ns.limit_timeout_s);
	}
	settings_clear(&e->set);
	e->set = ns;

	if (relink) {
		drop_client(e);
		e->link = LINK_IDLE;
		evtimer_del(e->connect_ev);
		if (e->down_since_ms == 0) {
			e->down_since_ms = isotime_mono_ms();
			arm(e->down_ev, (int64_t)e->set.limit_timeout_s * 1000);
		}
		build_topics(e);
		e->backoff_ms = BACKOFF_MIN_MS;
		log_info("ems", "reconnecting for the new configuration "
		    "broker=%s:%d prefix=%s", e->set.host, e->set.port,
		    e->set.prefix);
		arm(e->retry_ev, 0);
	}
	return EMS_OK;
}

void
ems_state(const struct ems *e, struct ems_state *out)
{
	memset(out, 0, sizeof *out);
	out->connected = e->link == LINK_UP;
	out->limit = e->limit;
	snprintf(out->last_error, sizeof out->last_error, "%s", e->last_error);
	out->last_error_ms = e->last_error_ms;
	out->connects = e->connects;
}

const struct ems_limit *
ems_limit(const struct ems *e)
{
	return &e->limit;
}

void
ems_free(struct ems *e)
{
	if (e == NULL)
		return;
	say_goodbye(e, e->t_status);
	drop_client(e);
	if (e->misc_ev)
		event_free(e->misc_ev);
	if (e->retry_ev)
		event_free(e->retry_ev);
	if (e->connect_ev)
		event_free(e->connect_ev);
	if (e->ttl_ev)
		event_free(e->ttl_ev);
	if (e->timeout_ev)
		event_free(e->timeout_ev);
	if (e->down_ev)
		event_free(e->down_ev);
	if (e->notify_ev)
		event_free(e->notify_ev);
	pub_clear(&e->status);
	for (size_t i = 0; i < e->nevse; i++) {
		if (e->evse[i] != NULL) {
			pub_clear(e->evse[i]);
			free(e->evse[i]);
		}
	}
	free(e->evse);
	free(e->t_status);
	free(e->t_limit);
	free(e->t_limit_error);
	free(e->t_evse_set);
	settings_clear(&e->set);
	free(e);
	mosquitto_lib_cleanup();
}
