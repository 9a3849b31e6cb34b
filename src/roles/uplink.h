/*
 * uplink — the whole site as ONE charge point toward the upstream CSMS.
 *
 * A WebSocket client to url + "/" + id speaking OCPP 1.6J or 2.0.1
 * (independent of the chargers'), security profiles 1-3 as a client
 * (transport/ws does Basic auth, certificate and host name checks, client
 * certificates). It reconnects with exponential backoff and jitter (1 s
 * doubling up to reconnect_max_s, each delay drawn from [d/2, d]), boots
 * as the gateway itself, honours Accepted / Pending / Rejected and the
 * interval, and sends Heartbeats.
 *
 * EVSEs: every charger EVSE has a site-wide number (site_evse->number); a
 * 1.6 upstream sees it as the connectorId, a 2.0.1 upstream as the evseId
 * (with the charger's connector id). 0 is the gateway itself.
 *
 * This module is the link and its state machine, and the composition of
 * the uplink's parts, each a module of its own:
 *   uplink_outbox    transactions and meter values up, durably (written
 *                    to the state file before they are sent, deleted only
 *                    when answered, replayed in order, retried, bounded)
 *   uplink_meter     which readings go up as periodic meter values
 *   uplink_down      the upstream's requests, routed to the chargers or
 *                    served here
 *   uplink_auth      the decision when the upstream cannot be asked
 *   uplink_profiles  the upstream's charging profiles over time
 *   uplink_settings  the settings the upstream reads and changes
 * and ocpp/up with the codec of the upstream's version for every word.
 *
 * Up: status of every EVSE on (re)connect and on change (not queued);
 * transactions (1.6 Start/StopTransaction with the upstream's transaction
 * ids mapped to our sessions; 2.0.1 TransactionEvent with our own seqNo
 * and offline:true for events produced while the link was down) and
 * periodic meter values every meter interval go through the outbox; a
 * 2.0.1 upstream hears of the EMS limit (NotifyChargingLimit).
 *
 * Authorization (authorization.mode "upstream"): uplink_authorize() asks
 * the upstream and caches its answers with their expiry; when the link is
 * down or the call fails, uplink_auth decides.
 */
#ifndef SITEGATE_UPLINK_H
#define SITEGATE_UPLINK_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "ocpp/model.h"
#include "roles/auth.h"
#include "types/neutral.h"

struct uplink;
struct site;
struct store;
struct csms;

/* What the uplink needs from the control loop. Any member may be NULL. */
struct uplink_hooks {
	/* The upstream's station limit in force now, per grid phase in A;
	 * NULL: none (cleared or expired). Called on every change, including
	 * the steps of its schedule. */
	void (*station_limit)(const double *limit_a, void *arg);
	/* A cap on site EVSE number in A, or < 0 to clear it. */
	void (*evse_cap)(int number, double cap_a, void *arg);
	/* The allocation for site EVSE number (0 = the whole site): current
	 * per phase and the phases, for GetCompositeSchedule. Returns 0, or -1
	 * when unknown. */
	int (*offer)(int number, double *limit_a, int *phases, void *arg);
	/* The link state or the outbox depth changed (for the MQTT status). */
	void (*state_changed)(void *arg);
	void *arg;
};

struct uplink_state {
	const char *link;		/* "connecting", "booting", "pending",
					 * "rejected", "accepted", "backoff" */
	bool connected;			/* the WebSocket is open */
	const char *boot;		/* site_boot_name of the last answer */
	int64_t depth;			/* messages in the outbox */
	int64_t oldest_age_ms;		/* age of the oldest; 0 when empty */
};

/* What the uplink is told (the configuration's upstream section and the
 * little else it needs). Strings and auth are referenced, not copied: they
 * must stay valid until the next uplink_reconfigure() or uplink_free(). */
struct uplink_opts {
	const char *url;		/* ws:// or wss://; the id is appended */
	const char *id;			/* the gateway's identity upstream */
	enum ocpp_version version;	/* OCPP_V16 or OCPP_V201 */
	const char *password;		/* Basic auth; NULL: none */
	const char *ca_file;		/* NULL: the system's CAs */
	const char *cert, *key;		/* client certificate; NULL: none */
	int meter_interval_s;		/* periodic meter values; 0: none */
	int queue_max;			/* outbox bound, in messages */
	bool offline_accept_unknown;	/* unknown tokens while offline */
	int message_attempts;		/* per transaction message */
	int retry_interval_s;		/* between attempts (times the attempt) */
	int reconnect_max_s;		/* backoff ceiling */
	int call_timeout_s;
	const char *site_id;		/* the serial number it boots with */
	double voltage_v;		/* the site's, for profiles in W */
	const struct auth_opts *auth;	/* the configuration's local list */
	const char *firmware;		/* the gateway's version, in the boot */
};

/* Start the uplink with opts (copied; see struct uplink_opts for what it
 * points to) and connect. site, store and csms are not owned and must
 * outlive the uplink. hooks is copied. Returns NULL with a malloc'd
 * *cause when the options are unusable (TLS files). */
struct uplink *uplink_new(struct event_base *base,
    const struct uplink_opts *opts, struct site *site, struct store *store,
    struct csms *csms, const struct uplink_hooks *hooks, char **cause);

/* Take new options. A change of url, id or credentials reconnects; a
 * change of version takes a restart; the rest applies at once. Returns
 * 0. */
int uplink_reconfigure(struct uplink *ul, const struct uplink_opts *opts);

/* Fill *st. Never fails. */
void uplink_state(struct uplink *ul, struct uplink_state *st);

/* The EMS limit changed (per grid phase in A; NULL: none). A 2.0.1
 * upstream gets NotifyChargingLimit (source EMS) when it moved by at least
 * 10% or 1 A since the last one, and ClearedChargingLimit when it is gone. */
void uplink_ems_limit(struct uplink *ul, const double *limit_a);

/* Ask the upstream whether token may charge. done runs exactly once, from
 * the loop or (link down: the offline decision) from inside this call. */
typedef void uplink_auth_cb(const struct auth_result *r, void *arg);
void uplink_authorize(struct uplink *ul, const struct ocpp_id_token *token,
    uplink_auth_cb *done, void *arg);

/* Close the link and free. Pending down commands are answered no more
 * (the connection is gone). NULL is a no-op. */
void uplink_free(struct uplink *ul);

/* For benchmarks and tests: queue a transaction message for session as if
 * the site had reported it (kind: OCPP_TX_STARTED, OCPP_TX_UPDATED with
 * the EVSE's reading, OCPP_TX_ENDED) with the creation time now_ms.
 * Returns 0, or -1 when the state file refused it. */
int uplink_enqueue(struct uplink *ul, const struct site_session *sess,
    enum ocpp_tx_kind kind, int64_t now_ms);

#endif
