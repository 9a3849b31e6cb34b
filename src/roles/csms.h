/*
 * csms — the gateway as the CSMS of the site's chargers.
 *
 * It owns the OCPP WebSocket server built from cfg->ocpp, decides who may
 * connect (cfg->chargers, ocpp.allow_unknown_chargers), runs one rpc per
 * connection, and serves every charger request of OCPP 1.6J and 2.0.1
 * (2.1 chargers get the 2.0.1 message set) through one pipeline:
 *
 *   payload --schema_validate--> CallError naming the field, or
 *           --v16/v201 decode--> neutral message (ocpp/model.h)
 *           --bounds: EVSE/connector ids within the charger's
 *             (site_charger.max_evses, max_connectors)--> CallError, or
 *           --site model + auth--> reply --encode--> CALLRESULT
 *
 * so that no other module parses or builds OCPP JSON. The site model
 * (site/site.h) is the only state: this module adds connections.
 *
 * Boot: a configured or approved charger is Accepted; an unknown one
 * (allowed by ocpp.allow_unknown_chargers) is Pending until approved; one
 * no longer in the configuration is Rejected. Until a charger is Accepted,
 * requests other than BootNotification get SecurityError — except that a
 * configured charger reconnecting without a new BootNotification (OCPP
 * chargers boot once per power-up, not per connection) is served at once.
 *
 * After an Accepted boot the gateway learns the charger's smart-charging
 * capabilities (1.6 GetConfiguration, 2.0.1 GetVariables) and asks for
 * per-phase current sampling every ocpp.meter_interval_s; what a charger
 * refuses or does not know is recorded with defaults, once per boot.
 *
 * Auth policy, per connection (the handshake is refused with the status):
 *   unknown identity, ocpp.allow_unknown_chargers false      404
 *   a verified client certificate (profile 3): its subject CN must be the
 *     identity                                               401 otherwise
 *   else a charger with a password (profile 1/2): HTTP Basic with
 *     user = identity and the password (a 40-hex-digit AuthorizationKey
 *     also as the 20 bytes it encodes)                       401 otherwise
 *   else, when ocpp.tls.client_ca is set: a certificate is required  401
 *   else (no credentials configured for it): accepted
 * A certificate that does not verify against ocpp.tls.client_ca fails the
 * TLS handshake itself.
 */
#ifndef SITEGATE_CSMS_H
#define SITEGATE_CSMS_H

#include <stddef.h>

#include <event2/event.h>

#include "ocpp/model.h"
#include "roles/auth.h"
#include "types/ocpp.h"
#include "util/pwhash.h"

struct csms;
struct site;

/* One configured charger's credentials. */
struct csms_charger_opts {
	const char *id;
	struct pwhash password;		/* .set false: no Basic auth */
	struct pwhash password_raw;	/* 40-hex-digit keys: the raw bytes */
};

/* What the CSMS role takes from the configuration (its "ocpp" section,
 * the chargers' credentials, the authorization rules). The struct is
 * copied; what its pointers point to must stay valid until the next
 * csms_reconfigure() or csms_free(). */
struct csms_opts {
	const char *host;		/* listen address; NULL or "": any */
	uint16_t port;
	bool versions[OCPP_NVERSIONS];	/* which subprotocols are offered */
	const char *tls_cert;		/* NULL: plain ws:// */
	const char *tls_key;
	const char *tls_client_ca;	/* NULL: no client certificates */
	bool allow_unknown_chargers;
	int heartbeat_interval_s;
	int call_timeout_s;
	int ping_interval_s;		/* 0: no WebSocket pings */
	int max_message_bytes;
	int max_connections;
	int handshake_timeout_s;
	int idle_timeout_s;		/* 0: none */
	int meter_interval_s;		/* asked of chargers; 0: leave */
	const struct csms_charger_opts *chargers;
	size_t nchargers;
	const struct auth_opts *auth;
};

/* Start listening on o's address and log "ocpp: listening
 * addr=<host>:<port>" with the bound port. The site is not owned and must
 * outlive the csms. Returns NULL with a malloc'd *cause when the server
 * cannot start (port in use, TLS files). */
struct csms *csms_new(struct event_base *base, const struct csms_opts *o,
    struct site *site, char **cause);

/* Apply a new configuration: chargers, passwords, versions, limits and
 * allow_unknown_chargers take effect for new connections; open connections
 * are kept. Listen address and TLS files need a restart (the gateway says
 * so). o replaces the previous options (same lifetime rule). Returns 0. */
int csms_reconfigure(struct csms *cs, const struct csms_opts *o);

/* Connected chargers. */
size_t csms_count(const struct csms *cs);

/* The port the chargers' listener is bound to (the one chosen when the
 * configuration said 0). */
uint16_t csms_port(const struct csms *cs);

/* Close every connection of charger_id cleanly (1000, "disconnected by
 * the installer"): the site is told at once that it disconnected
 * (site_charger_disconnected, synchronously), commands to it fail from
 * now on, and the connection's own end, later from the loop, touches the
 * site no more. So site_charger_forget may follow this call directly.
 * Returns 0, or -1 when the charger is not connected. */
int csms_disconnect(struct csms *cs, const char *charger_id);

/* How a command ended: result when the charger answered with a valid
 * CALLRESULT; else NULL and error says why ("CALLERROR NotSupported: ...",
 * "timeout", "closed", "invalid answer: ..."). Both valid during the call. */
typedef void csms_command_cb(const struct ocpp_command_result *result,
    const char *error, void *arg);

/* Send cmd to the connected charger charger_id, in its OCPP version. cb
 * (may be NULL) runs exactly once, later, from the loop. Returns 0, or -1
 * when the charger is not connected, the command does not exist in its
 * version, or its queue is full (then cb never runs). */
int csms_command(struct csms *cs, const char *charger_id,
    const struct ocpp_command *cmd, csms_command_cb *cb, void *arg);

/* authorization.mode "upstream": who decides instead of the local list.
 * authorize() answers a charger's Authorize through done, exactly once,
 * now or later (the charger's CALLRESULT waits for it); local() decides at
 * once for the tokens in Start/StopTransaction and TransactionEvent,
 * which are answered without waiting. */
typedef void csms_auth_done(const struct auth_result *r, void *done_arg);
struct csms_authorizer {
	void (*authorize)(const struct ocpp_id_token *token, csms_auth_done *done,
	    void *done_arg, void *arg);
	struct auth_result (*local)(const char *token, int64_t now_ms, void *arg);
	void *arg;
};

/* Install a (copied), or remove with NULL. In other modes, or without one,
 * the local list decides (roles/auth). */
void csms_set_authorizer(struct csms *cs, const struct csms_authorizer *a);

/* Close every connection cleanly (1001) and free. NULL is a no-op. */
void csms_free(struct csms *cs);

#endif
