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
 * The limit payload is described in control/emsmsg.h. A refused payload
 * is logged at warn and answered on <prefix>/limit/error with
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
 * The link is transport/mqtt (libmosquitto inside the caller's loop; the
 * broker's name resolved without blocking, every address tried, TLS
 * verified against the configured name; reconnect with backoff). The last
 * will is {"online":false}, retained, on <prefix>/status; on every connect
 * the module publishes the status (retained, "online": true), subscribes
 * to <prefix>/limit and <prefix>/evse/+/set, and re-sends the latest
 * document of every retained topic it owns.
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

#include "control/emsmsg.h"

struct ems;

#define EMS_PUBLISH_INTERVAL_MS 250	/* per retained topic */

/* What the module needs, filled by the composition root. Strings are
 * copied. */
struct ems_opts {
	const char *host;		/* the broker: a name or an address */
	uint16_t port;
	const char *prefix;		/* of every topic */
	const char *client_id;
	const char *username;		/* NULL: no authentication */
	const char *password;
	int keepalive_s;
	const char *ca_file;		/* NULL: plain TCP; else TLS */
	const char *cert, *key;		/* client certificate; NULL: none */
	int limit_timeout_s;
	double voltage_v;		/* line to neutral, for max_power_w */
	double failsafe_a;		/* on every phase while in force */
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

/* Create the link for opts (host must be set) and start connecting; the
 * failsafe limit is in force until the EMS sends one. opts and cb are
 * copied. Returns NULL with a malloc'd *cause when the link settings are
 * unusable (e.g. TLS files that cannot be read). */
struct ems *ems_new(struct event_base *base, const struct ems_opts *opts,
    const struct ems_callbacks *cb, char **cause);

/* Apply new options. A new host, port, prefix, client id, credentials,
 * keepalive or TLS files close the connection (publishing
 * {"online":false} on the old status topic first) and reconnect at once;
 * new timeouts apply to the timers running (counted from when they
 * started); a new failsafe current applies at once when the failsafe is in
 * force; a new site voltage applies to the next max_power_w. on_limit may
 * follow (from the loop, not from inside this call). Returns EMS_OK, or
 * EMS_ERR_INVALID with a malloc'd *cause when the new link settings are
 * unusable (TLS files that cannot be read): then nothing changes and the
 * running link stays. */
int ems_reconfigure(struct ems *e, const struct ems_opts *opts, char **cause);

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

/* The status document's "ems" member as ems_publish_status adds it, plus
 * "age_s": whole seconds since the latest valid limit arrived (absent
 * while none has since the start). For the installer's page: the
 * published document goes without age_s, which would make every one
 * differ from the last and defeat the deduplication. The caller owns the
 * tree. */
cJSON *ems_state_json(const struct ems *e);

/* Fill *out with the link state and the limit in force. */
void ems_state(const struct ems *e, struct ems_state *out);

/* The limit in force (never NULL; valid until the next loop iteration). */
const struct ems_limit *ems_limit(const struct ems *e);

/* Publish {"online":false} retained on <prefix>/status when connected,
 * disconnect cleanly and free everything. NULL is a no-op. Must not be
 * called from one of the module's callbacks. */
void ems_free(struct ems *e);

#endif
