/*
 * ems — the MQTT link to the site's Energy Management System.
 *
 * The EMS tells the gateway how much current the site may draw for
 * charging; the gateway tells the EMS (and anyone else on the broker) what
 * it is doing. All topics live under mqtt.prefix (default
 * "sitegate/<site_id>"):
 *
 *   <prefix>/limit              in   the grid limit for charging
 *   <prefix>/limit/error        out  why a limit was refused (not retained)
 *   <prefix>/status             out  retained site status; the last will
 *                                    sets it to {"online":false}
 *   <prefix>/evse/<n>           out  retained status of EVSE n
 *   <prefix>/evse/<n>/set       in   per-EVSE cap and priority
 *   <prefix>/evse/<n>/set/error out  why a set was refused (not retained)
 *
 * The limit, retained or not, is one JSON object with exactly one of
 *
 *   {"max_current_a": 32}                 every phase, amps
 *   {"max_current_a": [32, 25, 32]}       per phase [L1, L2, L3], amps
 *   {"max_power_w": 22000}                three-phase power; each phase gets
 *                                         max_power_w / (3 * site.voltage_v)
 *
 * and optionally "ttl_s": 60 (the limit lapses that long after it arrived).
 * Ranges: currents 0..10000 A, power 0..10 MW, ttl_s 1..86400 s; the
 * payload is at most 4096 bytes. Anything else (not JSON, not an object,
 * unknown or duplicate keys, both or neither limit key, wrong types, an
 * array of another length, out of range) is refused: logged at warn,
 * answered on <prefix>/limit/error with
 * {"error": "<why>", "payload": "<first 200 bytes, non-printable bytes as \xHH>"},
 * and the limit in force stays.
 *
 * Failsafe: the EMS limit in force is site.failsafe_current_a on every
 * phase until the first valid limit arrives, when a limit's ttl_s runs out,
 * when no valid limit arrived for mqtt.limit_timeout_s, and when the broker
 * has been unreachable for mqtt.limit_timeout_s. An EMS must therefore
 * republish its limit (an identical one is fine) more often than
 * limit_timeout_s. A retained limit counts from the moment it is received:
 * after a reconnect the broker's retained copy is in force again for up to
 * limit_timeout_s (or its ttl_s).
 *
 * The link: libmosquitto without its thread. Its socket sits in the caller's
 * libevent loop (one read event, one write event while libmosquitto has
 * bytes to send, a 1 s timer for keepalive), the connection is opened with
 * mosquitto_connect_async and retried with exponential backoff (1 s doubling
 * to 60 s, each delay drawn from [d/2, d]) after any failure. The last will
 * is {"online":false}, retained, on <prefix>/status; on every connect the
 * module publishes the status (retained, "online": true), subscribes to
 * <prefix>/limit and <prefix>/evse/+/set, and re-sends the latest document
 * of every retained topic it owns. A host name is resolved by libmosquitto
 * with the system resolver, which blocks the loop while it waits: configure
 * an address (or a name in /etc/hosts) on a site box.
 *
 * Outgoing documents are rate-limited per topic (at most one per 250 ms; in
 * between only the latest is kept), identical documents are not re-sent,
 * and while the broker is unreachable they are held: the latest of each is
 * sent after the reconnect.
 *
 * Ownership and callbacks: the owner passes callbacks at creation; they run
 * inside the event loop, never inside ems_new. A callback may call the
 * publishing functions, but must not call ems_reconfigure or ems_free (the
 * module would be freed under its own feet).
 */
#ifndef SITEGATE_EMS_H
#define SITEGATE_EMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "app/config.h"

struct ems;

enum ems_err {
	EMS_OK = 0,
	EMS_ERR_INVALID = -1,		/* a payload was refused; why says how */
	EMS_ERR_TOPIC = -2,		/* not one of our topics */
	EMS_ERR_RANGE = -3,		/* an argument out of range */
};

/* Limits on what the EMS may send. */
#define EMS_PAYLOAD_MAX 4096		/* bytes */
#define EMS_CURRENT_MAX_A 10000.0
#define EMS_POWER_MAX_W 10000000.0
#define EMS_TTL_MIN_S 1.0
#define EMS_TTL_MAX_S 86400.0
#define EMS_EVSE_MAX 10000		/* <n> in evse topics: 1..EMS_EVSE_MAX */
#define EMS_PRIORITY_MAX 100
#define EMS_WHY_LEN 160			/* a refusal reason, with its NUL */
#define EMS_EXCERPT_MAX 200		/* payload bytes quoted in an error */
#define EMS_PUBLISH_INTERVAL_MS 250	/* per retained topic */

enum ems_source {
	EMS_SOURCE_FAILSAFE = 0,	/* site.failsafe_current_a */
	EMS_SOURCE_EMS,			/* the EMS's last valid limit */
};

/* Why the source in force is in force. */
enum ems_reason {
	EMS_REASON_STARTUP = 0,		/* failsafe: no valid limit yet */
	EMS_REASON_LIMIT,		/* ems: a valid limit arrived */
	EMS_REASON_TTL_EXPIRED,		/* failsafe: the limit's ttl_s ran out */
	EMS_REASON_LIMIT_TIMEOUT,	/* failsafe: nothing valid for limit_timeout_s */
	EMS_REASON_BROKER_UNREACHABLE,	/* failsafe: no broker for limit_timeout_s */
};

/* The EMS limit in force, or one parsed from a payload. */
struct ems_limit {
	double current_a[3];		/* per grid phase L1, L2, L3, amps */
	enum ems_source source;
	enum ems_reason reason;
	bool from_power;		/* the EMS sent max_power_w ... */
	double power_w;			/* ... this much */
	double ttl_s;			/* 0: none */
	int64_t expires_ms;		/* wall clock (ms since the epoch); 0: never */
};

/* What an <prefix>/evse/<n>/set payload asks for. */
enum ems_cap {
	EMS_CAP_KEEP = 0,		/* max_current_a absent: leave the cap alone */
	EMS_CAP_SET,			/* a number: cap the EVSE at cap_a */
	EMS_CAP_CLEAR,			/* null: remove the cap */
};

struct ems_evse_set {
	int evse;			/* <n> from the topic */
	enum ems_cap cap;
	double cap_a;			/* EMS_CAP_SET only */
	bool has_priority;
	int priority;			/* 0..EMS_PRIORITY_MAX, higher first */
};

struct ems_callbacks {
	/* The effective EMS limit, its source or its reason changed (a limit
	 * that only refreshes the one in force does not call this). */
	void (*on_limit)(const struct ems_limit *limit, void *arg);
	/* A valid <prefix>/evse/<n>/set arrived. May be NULL. */
	void (*on_evse_set)(const struct ems_evse_set *set, void *arg);
	void *arg;
};

/* For the owner's status page. */
struct ems_state {
	bool connected;			/* CONNACK received, link up */
	struct ems_limit limit;		/* in force */
	char last_error[EMS_WHY_LEN];	/* "" when none yet */
	int64_t last_error_ms;		/* wall clock; 0 when none */
	unsigned connects;		/* successful connections so far */
};

/* Parse an EMS limit payload (len bytes, need not be NUL-terminated) for a
 * site at voltage_v (line to neutral) into *out: current_a, from_power,
 * power_w and ttl_s are set, source is EMS_SOURCE_EMS, reason
 * EMS_REASON_LIMIT, expires_ms 0 (the caller knows the clock). Pure.
 * Returns EMS_OK, or EMS_ERR_INVALID with the reason in why (whylen bytes,
 * always terminated; printable ASCII only) and *out zeroed. */
int ems_limit_parse(const char *payload, size_t len, double voltage_v,
    struct ems_limit *out, char *why, size_t whylen);

/* Parse an evse set payload into *out (evse is left 0: it comes from the
 * topic, see ems_evse_topic_parse). max_current_a is a number 0..10000 or
 * null; priority an integer 0..100; at least one of them. Pure. Returns
 * EMS_OK, or EMS_ERR_INVALID with the reason in why and *out zeroed. */
int ems_evse_set_parse(const char *payload, size_t len,
    struct ems_evse_set *out, char *why, size_t whylen);

/* If topic is "<prefix>/evse/<n>/set" with n a decimal 1..EMS_EVSE_MAX
 * (no sign, no leading zero), store n in *evse and return EMS_OK; else
 * return EMS_ERR_TOPIC and leave *evse alone. Pure. */
int ems_evse_topic_parse(const char *prefix, const char *topic, int *evse);

/* Copy at most EMS_EXCERPT_MAX bytes of payload into buf (len bytes, always
 * terminated) with every byte that is not printable ASCII, and '\', written
 * as \xHH; "..." marks a cut. Returns buf. Pure. */
char *ems_excerpt(char *buf, size_t len, const char *payload, size_t plen);

/* Create the link for cfg->mqtt (which must not be NULL) and start
 * connecting; the failsafe limit is in force until the EMS sends one.
 * cfg is not referenced after the call (what is needed is copied); cb is
 * copied. Returns NULL with a malloc'd *cause when libmosquitto refuses the
 * settings (e.g. TLS files that cannot be read). */
struct ems *ems_new(struct event_base *base, const struct config *cfg,
    const struct ems_callbacks *cb, char **cause);

/* Apply a new configuration. A new host, port, prefix, client id,
 * credentials, keepalive or TLS files close the connection (publishing
 * {"online":false} on the old status topic first) and reconnect at once;
 * new timeouts apply to the timers running (counted from when they
 * started); a new failsafe current applies at once when the failsafe is in
 * force; a new site voltage applies to the next max_power_w. cfg->mqtt must
 * not be NULL. on_limit may follow (from the loop, not from inside this
 * call). Returns EMS_OK, or EMS_ERR_INVALID with a malloc'd *cause when
 * libmosquitto refuses the new link settings (TLS files that cannot be
 * read): then nothing changes and the running link stays. */
int ems_reconfigure(struct ems *e, const struct config *cfg, char **cause);

/* Publish doc, retained, on <prefix>/status. doc is not modified nor kept
 * (it is copied). At send time the module adds, when doc lacks them,
 * "online": true and "ems": {"limit_a": [L1, L2, L3], "source", "reason",
 * "expires" (when the limit has a ttl), "power_w" (when it was given as
 * power), "connected", "last_error" (when there was one)}. Rate-limited,
 * deduplicated, held while disconnected (see the top of this file).
 * Returns EMS_OK, or EMS_ERR_RANGE when doc is not an object. */
int ems_publish_status(struct ems *e, const cJSON *doc);

/* Publish doc, retained, on <prefix>/evse/<n>, n in 1..EMS_EVSE_MAX. As
 * ems_publish_status, without the additions. Returns EMS_OK, or
 * EMS_ERR_RANGE for a bad n or a doc that is not an object. */
int ems_publish_evse(struct ems *e, int n, const cJSON *doc);

/* Fill *out with the link state and the limit in force. */
void ems_state(const struct ems *e, struct ems_state *out);

/* The limit in force (never NULL; valid until the next loop iteration). */
const struct ems_limit *ems_limit(const struct ems *e);

/* "failsafe" or "ems". */
const char *ems_source_name(enum ems_source s);

/* "startup", "limit", "ttl_expired", "limit_timeout", "broker_unreachable". */
const char *ems_reason_name(enum ems_reason r);

/* Publish {"online":false} retained on <prefix>/status when connected,
 * disconnect cleanly and free everything. NULL is a no-op. Must not be
 * called from one of the module's callbacks. */
void ems_free(struct ems *e);

#endif
