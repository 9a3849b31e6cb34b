/*
 * emsmsg — what the EMS sends, read strictly: the limit payload, the
 * per-EVSE set payload and its topic, and the excerpt that quotes a refused
 * payload back. Pure: no I/O, no clock, no logging; tested without sockets
 * (tests/unit/test_emsmsg.c).
 *
 * The limit, retained or not, is one JSON object with exactly one of
 *
 *   {"max_current_a": 32}                 every phase, amps
 *   {"max_current_a": [32, 25, 32]}       per phase [L1, L2, L3], amps
 *   {"max_power_w": 22000}                three-phase power; each phase gets
 *                                         max_power_w / (3 * site voltage)
 *
 * and optionally "ttl_s": 60. Ranges: currents 0..10000 A, power 0..10 MW,
 * ttl_s 1..86400 s; the payload is at most 4096 bytes. Anything else (not
 * JSON, not an object, unknown or duplicate keys, both or neither limit
 * key, wrong types, an array of another length, out of range) is refused
 * with one printable line saying why. The set payload and the topic rules
 * are with their functions below.
 *
 * The types keep the ems_ / EMS_ names under which the control loop and
 * the composition root know them (control/ems.h includes this header);
 * the functions carry this module's prefix.
 */
#ifndef SITEGATE_EMSMSG_H
#define SITEGATE_EMSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Parse an EMS limit payload (len bytes, need not be NUL-terminated) for a
 * site at voltage_v (line to neutral) into *out: current_a, from_power,
 * power_w and ttl_s are set, source is EMS_SOURCE_EMS, reason
 * EMS_REASON_LIMIT, expires_ms 0 (the caller knows the clock). Returns
 * EMS_OK, or EMS_ERR_INVALID with the reason in why (whylen bytes, always
 * terminated; printable ASCII only) and *out zeroed. */
int emsmsg_limit_parse(const char *payload, size_t len, double voltage_v,
    struct ems_limit *out, char *why, size_t whylen);

/* Parse an evse set payload into *out (evse is left 0: it comes from the
 * topic, see emsmsg_evse_topic_parse). max_current_a is a number 0..10000
 * or null; priority an integer 0..100; at least one of them. Returns
 * EMS_OK, or EMS_ERR_INVALID with the reason in why and *out zeroed. */
int emsmsg_evse_set_parse(const char *payload, size_t len,
    struct ems_evse_set *out, char *why, size_t whylen);

/* If topic is "<prefix>/evse/<n>/set" with n a decimal 1..EMS_EVSE_MAX
 * (no sign, no leading zero), store n in *evse and return EMS_OK; else
 * return EMS_ERR_TOPIC and leave *evse alone. */
int emsmsg_evse_topic_parse(const char *prefix, const char *topic, int *evse);

/* Copy at most EMS_EXCERPT_MAX bytes of payload into buf (len bytes, always
 * terminated) with every byte that is not printable ASCII, and '\', written
 * as \xHH; "..." marks a cut. Returns buf. */
char *emsmsg_excerpt(char *buf, size_t len, const char *payload, size_t plen);

/* "failsafe" or "ems". */
const char *emsmsg_source_name(enum ems_source s);

/* "startup", "limit", "ttl_expired", "limit_timeout", "broker_unreachable". */
const char *emsmsg_reason_name(enum ems_reason r);

#endif
