/*
 * uplink — the whole site as ONE charge point toward the upstream CSMS.
 *
 * A WebSocket client to upstream.url + "/" + upstream.id speaking OCPP 1.6J
 * or 2.0.1 (upstream.version, independent of the chargers'), security
 * profiles 1-3 as a client (transport/ws does Basic auth, certificate and
 * host name checks, client certificates). It reconnects with exponential
 * backoff and jitter (1 s doubling up to upstream.reconnect_max_s, each
 * delay drawn from [d/2, d]), boots as the gateway itself, honours
 * Accepted / Pending / Rejected and the interval, and sends Heartbeats.
 *
 * EVSEs: every charger EVSE has a site-wide number (site_evse->number); a
 * 1.6 upstream sees it as the connectorId, a 2.0.1 upstream as the evseId
 * (with the charger's connector id). 0 is the gateway itself.
 *
 * Up: status of every EVSE on (re)connect and on change (not queued);
 * transactions (1.6 Start/StopTransaction with the upstream's transaction
 * ids mapped to our sessions; 2.0.1 TransactionEvent with our own seqNo
 * and offline:true for events produced while the link was down) and
 * periodic meter values every upstream.meter_interval_s go through the
 * outbox: written to the state file before they are sent, deleted only
 * when the upstream answered, replayed in order after a reconnect, retried
 * per the attempts / retry interval settings (a CALLERROR or timeout costs
 * an attempt; when they are used up the message is dropped with a
 * warning). The outbox is bounded by upstream.queue_max: when full, the
 * oldest meter value is dropped; starts and stops never are.
 *
 * Down: the upstream's requests are checked with schema_validate first
 * (CALLERROR naming the field), decoded by ocpp/up, then routed to the
 * charger owning the EVSE through csms_command() and answered with what
 * the charger said; commands about the gateway itself are answered from
 * the site model and the gateway's settings. Charging profiles become
 * hook calls (a station limit with its schedule run here, or a cap per
 * EVSE). What cannot be honoured is answered NotSupported / Rejected /
 * NotImplemented, never left unanswered.
 *
 * Authorization (authorization.mode "upstream"): uplink_authorize() asks
 * the upstream and caches its answers with their expiry; when the link is
 * down or the call fails, the local list (configuration, then the list the
 * upstream sent with SendLocalList), then the cache, then
 * upstream.offline_unknown_tokens decide.
 */
#ifndef SITEGATE_UPLINK_H
#define SITEGATE_UPLINK_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "app/config.h"
#include "ocpp/model.h"
#include "roles/auth.h"
#include "site/site.h"

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

/* Start the uplink from cfg->upstream (must not be NULL) and connect. site,
 * store and csms are not owned and must outlive the uplink; cfg stays
 * referenced until the next uplink_reconfigure() or uplink_free(). hooks
 * is copied. Returns NULL with a malloc'd *cause when the options are
 * unusable (TLS files). */
struct uplink *uplink_new(struct event_base *base, const struct config *cfg,
    struct site *site, struct store *store, struct csms *csms,
    const struct uplink_hooks *hooks, char **cause);

/* Take a new configuration. A change of url, id, version or credentials
 * reconnects; the rest applies at once. Returns 0. */
int uplink_reconfigure(struct uplink *ul, const struct config *cfg);

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

/* The decision without asking: local lists, cache, offline policy. */
struct auth_result uplink_auth_offline(struct uplink *ul, const char *token,
    int64_t now_ms);

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
