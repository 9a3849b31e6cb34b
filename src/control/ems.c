/*
 * ems — see ems.h.
 *
 * Three parts around one struct ems: the limit in force and its failsafe
 * timers (ttl_s, limit_timeout_s, broker unreachable), the retained
 * documents we publish with their rate limit, and what arrives on our
 * topics. The payloads are read by control/emsmsg (pure); the broker is
 * reached through transport/mqtt, whose callbacks (link up, link down,
 * message, SUBACK) are the only way MQTT reaches this file.
 *
 * A change of link settings replaces the mqtt link as a whole: the new one
 * is created first (so unusable TLS files leave the running link alone),
 * then the old one says goodbye and is freed.
 *
 * Limit changes are reported to the owner from a deferred event (notify),
 * never from inside the link's callbacks or from inside one of the owner's
 * calls, so the owner may publish from on_limit without any reentrancy.
 */
#include "control/ems.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport/mqtt.h"
#include "util/isotime.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#define QOS 1
#define REFUSAL_LOGS 10			/* refusal log lines per window ... */
#define REFUSAL_WINDOW_MS 10000		/* ... the rest are counted */
#define OFFLINE_DOC "{\"online\":false}"

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

/* What the module keeps of its options. */
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

	struct mqtt *mq;
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

/* ------------------------------------------------------------- settings */

static void
settings_from(struct settings *s, const struct ems_opts *o)
{
	memset(s, 0, sizeof *s);
	s->host = xstrdup(o->host);
	s->port = o->port;
	s->prefix = xstrdup(o->prefix != NULL ? o->prefix : "");
	s->client_id = xstrdup(o->client_id);
	s->username = xstrdup(o->username);
	s->password = xstrdup(o->password);
	s->keepalive_s = o->keepalive_s;
	s->ca_file = xstrdup(o->ca_file);
	s->cert = xstrdup(o->cert);
	s->key = xstrdup(o->key);
	s->limit_timeout_s = o->limit_timeout_s;
	s->voltage_v = o->voltage_v;
	s->failsafe_a = o->failsafe_a;
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
		    "ttl_s=%g power_w=%g retained=%d", emsmsg_reason_name(l->reason),
		    l->current_a[0], l->current_a[1], l->current_a[2], l->ttl_s,
		    l->power_w, retained);
	else if (l->source == EMS_SOURCE_EMS)
		log_info("ems", "limit source=ems reason=%s l1=%g l2=%g l3=%g "
		    "ttl_s=%g retained=%d", emsmsg_reason_name(l->reason),
		    l->current_a[0], l->current_a[1], l->current_a[2], l->ttl_s,
		    retained);
	else
		log_info("ems", "limit source=failsafe reason=%s l1=%g l2=%g l3=%g",
		    emsmsg_reason_name(l->reason), l->current_a[0], l->current_a[1],
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
		    emsmsg_source_name(l->source), l->ttl_s, retained);
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
	cJSON_AddStringToObject(o, "source", emsmsg_source_name(l->source));
	cJSON_AddStringToObject(o, "reason", emsmsg_reason_name(l->reason));
	if (l->expires_ms != 0)
		cJSON_AddStringToObject(o, "expires",
		    isotime_format(l->expires_ms, ts));
	if (l->from_power)
		cJSON_AddNumberToObject(o, "power_w", l->power_w);
	cJSON_AddBoolToObject(o, "connected", e->mq != NULL && mqtt_is_up(e->mq));
	if (e->last_error[0] != '\0')
		cJSON_AddStringToObject(o, "last_error", e->last_error);
	return o;
}

cJSON *
ems_state_json(const struct ems *e)
{
	cJSON *o = ems_json(e);

	if (e->last_valid_ms != 0)
		cJSON_AddNumberToObject(o, "age_s",
		    (double)((isotime_mono_ms() - e->last_valid_ms) / 1000));
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
	rc = mqtt_publish(e->mq, p->topic, text, strlen(text), QOS, true);
	if (rc != MQTT_OK) {
		/* Held: sent again after the reconnect. */
		log_debug("ems", "publish deferred topic=%s error=%s", p->topic,
		    rc == MQTT_E_DOWN ? "link down" : "refused by libmosquitto");
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

	if (e->mq == NULL || !mqtt_is_up(e->mq) || !p->dirty)
		return;
	now = isotime_mono_ms();
	due = p->last_tx_ms + EMS_PUBLISH_INTERVAL_MS;
	if (!p->ever_sent || now >= due) {
		pub_send(e, p, false);
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

	emsmsg_excerpt(ex, sizeof ex, payload, len);
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
	mqtt_publish(e->mq, err_topic, text, strlen(text), 0, false);
	free(text);
}

/* ------------------------------------------------------------- incoming */

/* A message as the link hands it over. */
struct msg {
	const char *topic;
	const char *payload;
	size_t len;
	bool retain;
};

static void
handle_limit(struct ems *e, const struct msg *m)
{
	char why[EMS_WHY_LEN];
	struct ems_limit l;
	int64_t now;

	if (emsmsg_limit_parse(m->payload, m->len, e->set.voltage_v,
	    &l, why, sizeof why) != EMS_OK) {
		report_refusal(e, "limit", m->topic, e->t_limit_error, why,
		    m->payload, m->len, m->retain);
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
handle_evse_set(struct ems *e, const struct msg *m)
{
	char why[EMS_WHY_LEN], *err_topic;
	struct ems_evse_set s;
	int n = 0;

	err_topic = xasprintf("%s/error", m->topic);
	if (emsmsg_evse_topic_parse(e->set.prefix, m->topic, &n) != EMS_OK) {
		snprintf(why, sizeof why, "topic: expected <prefix>/evse/<n>/set "
		    "with n from 1 to %d", EMS_EVSE_MAX);
		report_refusal(e, "evse set", m->topic, err_topic, why, m->payload,
		    m->len, m->retain);
	} else if (emsmsg_evse_set_parse(m->payload, m->len, &s, why,
	    sizeof why) != EMS_OK) {
		report_refusal(e, "evse set", m->topic, err_topic, why, m->payload,
		    m->len, m->retain);
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


/* ---------------------------------------------------------- the link's side */

static void
link_up(void *arg)
{
	struct ems *e = arg;
	const char *subs[2];
	int rc;

	e->connects++;
	e->down_since_ms = 0;
	evtimer_del(e->down_ev);
	log_info("ems", "connected broker=%s:%d tls=%s client_id=%s prefix=%s",
	    e->set.host, e->set.port, e->set.ca_file ? "yes" : "no",
	    e->set.client_id, e->set.prefix);
	subs[0] = e->t_limit;
	subs[1] = e->t_evse_set;
	if ((rc = mqtt_subscribe(e->mq, subs, 2, QOS)) != MQTT_OK)
		log_warn("ems", "subscribe failed error=%s",
		    rc == MQTT_E_DOWN ? "link down" : "refused by libmosquitto");
	/* The will may have replaced our status, and a broker restarted
	 * without persistence has lost every retained topic: send all. */
	pub_send(e, &e->status, true);
	for (size_t i = 0; i < e->nevse; i++)
		if (e->evse[i] != NULL)
			pub_send(e, e->evse[i], true);
}

/* The broker is unreachable from now on (again): start the failsafe clock
 * unless it runs. */
static void
start_down_clock(struct ems *e)
{
	if (e->down_since_ms != 0)
		return;
	e->down_since_ms = isotime_mono_ms();
	arm(e->down_ev, (int64_t)e->set.limit_timeout_s * 1000);
}

static void
link_down(const struct mqtt_down *d, void *arg)
{
	struct ems *e = arg;
	char esc[LOG_ESC_LEN * 2];

	set_error(e, "%s", d->why);
	start_down_clock(e);
	log_warn("ems", "%s broker=%s:%d error=%s retry_in_ms=%d",
	    d->was_up ? "disconnected" : "connect failed", e->set.host,
	    e->set.port, log_esc(esc, sizeof esc, d->why), d->retry_in_ms);
}

static void
link_message(const char *topic, const void *payload, size_t len,
    bool retained, void *arg)
{
	struct ems *e = arg;
	struct msg m = { topic, payload, len, retained };

	if (strcmp(topic, e->t_limit) == 0)
		handle_limit(e, &m);
	else
		handle_evse_set(e, &m);
}

/* SUBACK: a broker's ACL may refuse a subscription (granted 0x80), which
 * would otherwise go unnoticed: no limit would ever arrive. */
static void
link_subscribed(const int *granted, int n, void *arg)
{
	struct ems *e = arg;
	const char *topics[2] = { e->t_limit, e->t_evse_set };

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

/* A link for the settings s; the last will goes to will_topic. */
static struct mqtt *
link_new(struct ems *e, const struct settings *s, const char *will_topic,
    char **cause)
{
	static const struct mqtt_handler h = { link_up, link_down,
		link_message, link_subscribed };
	struct mqtt_opts o;
	struct mqtt *mq;
	char *c = NULL;

	memset(&o, 0, sizeof o);
	o.log_name = "ems";
	o.host = s->host;
	o.port = (uint16_t)s->port;
	o.client_id = s->client_id;
	o.username = s->username;
	o.password = s->password;
	o.keepalive_s = s->keepalive_s;
	o.ca_file = s->ca_file;
	o.cert = s->cert;
	o.key = s->key;
	o.will_topic = will_topic;
	o.will_payload = OFFLINE_DOC;
	o.will_qos = QOS;
	o.will_retain = true;
	if ((mq = mqtt_new(e->base, &o, &h, e, &c)) == NULL) {
		/* With TLS configured, the TLS files are what can be wrong. */
		*cause = xasprintf("mqtt%s: %s", s->ca_file ? ".tls" : "", c);
		free(c);
	}
	return mq;
}

/* Publish the offline document and disconnect cleanly, when up. If the
 * bytes cannot all be written now, closing the socket makes the broker
 * publish the will, which says the same. */
static void
say_goodbye(struct ems *e, const char *status_topic)
{
	if (e->mq == NULL || !mqtt_is_up(e->mq))
		return;
	mqtt_publish(e->mq, status_topic, OFFLINE_DOC, strlen(OFFLINE_DOC), QOS,
	    true);
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
ems_new(struct event_base *base, const struct ems_opts *opts,
    const struct ems_callbacks *cb, char **cause)
{
	struct ems *e;

	*cause = NULL;
	if (opts->host == NULL) {
		*cause = xstrdup("mqtt: not configured");
		return NULL;
	}
	e = xcalloc(1, sizeof *e);
	e->base = base;
	if (cb != NULL)
		e->cb = *cb;
	settings_from(&e->set, opts);
	pub_init(e, &e->status, 0);
	if ((e->status.doc = cJSON_CreateObject()) == NULL)
		abort();
	build_topics(e);

	e->ttl_ev = evtimer_new(base, on_ttl, e);
	e->timeout_ev = evtimer_new(base, on_limit_timeout, e);
	e->down_ev = evtimer_new(base, on_down_timeout, e);
	e->notify_ev = event_new(base, -1, 0, on_notify, e);
	if (!e->ttl_ev || !e->timeout_ev || !e->down_ev || !e->notify_ev)
		abort();

	/* Settings the link refuses (TLS files) are refused now, not forever
	 * in the retry loop. It connects from the loop. */
	if ((e->mq = link_new(e, &e->set, e->t_status, cause)) == NULL) {
		ems_free(e);
		return NULL;
	}

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
	start_down_clock(e);
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
ems_reconfigure(struct ems *e, const struct ems_opts *opts, char **cause)
{
	struct settings ns;
	struct mqtt *mq = NULL;

	*cause = NULL;
	if (opts->host == NULL) {
		*cause = xstrdup("mqtt: not configured");
		return EMS_ERR_INVALID;
	}
	settings_from(&ns, opts);
	if (!settings_same_link(&e->set, &ns)) {
		char *will = xasprintf("%s/status", ns.prefix);

		mq = link_new(e, &ns, will, cause);
		free(will);
		if (mq == NULL) {
			settings_clear(&ns);
			return EMS_ERR_INVALID;
		}
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

	if (mq != NULL) {
		mqtt_free(e->mq);
		e->mq = mq;
		start_down_clock(e);
		build_topics(e);
		log_info("ems", "reconnecting for the new configuration "
		    "broker=%s:%d prefix=%s", e->set.host, e->set.port,
		    e->set.prefix);
	}
	return EMS_OK;
}

void
ems_state(const struct ems *e, struct ems_state *out)
{
	memset(out, 0, sizeof *out);
	out->connected = e->mq != NULL && mqtt_is_up(e->mq);
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
	mqtt_free(e->mq);
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
}
