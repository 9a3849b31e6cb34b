/*
 * config — the one JSON configuration file: parse, validate, describe errors.
 *
 * The file is the operator's intent; runtime facts live in the state store.
 * Validation is strict and complete: every problem is reported (not only the
 * first), each as one line "<json path>: <what was expected>, got <what was
 * found>", e.g.
 *
 *   chargers[1].max_current_a: expected a number from 6 to 80, got "32A"
 *
 * Unknown keys are errors, so a typo never silently falls back to a default.
 * Cross-references are checked after the shapes: circuit parents exist and
 * form one tree with one root, every charger names an existing circuit, ids
 * are unique.
 *
 * Why struct config is not opaque: it is a plain value, read by every module,
 * with no invariant that a setter would protect — validation establishes
 * them all at once, and a loaded config is never modified afterwards (a
 * reload builds a new one and swaps it). Getters for forty keys would hide
 * nothing and only add noise. Treat every field as read-only.
 *
 * Charger passwords are hashed during parsing (util/pwhash.h) and the plain
 * text is wiped from the parse buffers; no struct here holds it.
 */
#ifndef SITEGATE_CONFIG_H
#define SITEGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "control/dispatch.h"
#include "roles/auth.h"
#include "types/neutral.h"
#include "types/ocpp.h"
#include "util/log.h"
#include "util/pwhash.h"

#define CONFIG_MAX_FILE_BYTES (1024 * 1024)
#define CONFIG_ID_MAX 48		/* charger, circuit, site and upstream ids */
#define CONFIG_TOKEN_MAX 36		/* id tokens (2.0.1 IdToken.idToken) */
#define CONFIG_EVSE_NUMBER_MAX SITE_EVSE_NUMBER_MAX
#define CONFIG_EVSES_MAX 32		/* chargers[].evses, ocpp.max_evses */
#define CONFIG_CONNECTORS_MAX 4		/* ...connectors_per_evse */

_Static_assert(CONFIG_EVSES_MAX <= SITE_MAX_EVSES &&
    CONFIG_CONNECTORS_MAX <= SITE_MAX_CONNECTORS,
    "the configuration may allow what the model cannot hold");

/* A host:port pair from "listen" keys. host is a literal address or name. */
struct config_endpoint {
	char *host;
	uint16_t port;
};

struct config_tls {
	char *cert;		/* PEM certificate chain */
	char *key;		/* PEM private key */
	char *client_ca;	/* NULL: no client certificates (profiles 1/2) */
};

struct config_ocpp {
	struct config_endpoint listen;
	bool versions[OCPP_NVERSIONS];	/* which subprotocols are enabled */
	struct config_tls *tls;			/* NULL: plain ws:// */
	bool allow_unknown_chargers;
	int heartbeat_interval_s;
	int call_timeout_s;
	int ping_interval_s;			/* 0: no WebSocket pings */
	int max_message_bytes;
	int max_connections;
	int handshake_timeout_s;
	int idle_timeout_s;			/* 0: no idle timeout */
	int meter_interval_s;			/* asked of chargers; 0: leave */
	/* How many EVSEs, and connectors per EVSE, a charger may report
	 * (and so create) unless chargers[] says otherwise; chargers not
	 * configured always take these. [2], [2] */
	int max_evses;
	int max_connectors_per_evse;
};

struct config_charger {
	char *id;
	struct pwhash password;		/* .set false: no Basic auth configured */
	struct pwhash password_raw;	/* 40-hex-digit keys: the 20 raw bytes */
	double max_current_a;
	int phases;			/* 1 or 3 */
	/* Grid phase (0 = L1 .. 2 = L3) that the charger's phase i lands on;
	 * for a 1-phase charger only grid_phase[0] is meaningful. */
	int grid_phase[3];
	char *circuit;
	int circuit_index;		/* index into config_site.circuits */
	int priority;			/* higher is served first */
	int first_evse;			/* site-wide number of its EVSE 1; its
					   EVSE k is first_evse + k - 1. 0:
					   numbered automatically */
	int evses;			/* EVSEs it may report: 1..32, the
					   ocpp.max_evses when not given */
	int connectors_per_evse;	/* 1..4, ocpp.max_connectors_per_evse
					   when not given */
	/* "smart_charging": what to send this charger, when what the
	 * gateway would learn from its answers must be overridden. */
	enum dispatch_purpose purpose;	/* DISPATCH_PURPOSE_AUTO: learn */
	enum dispatch_unit unit;	/* DISPATCH_UNIT_AUTO: learn */
	int max_stack_level;		/* -1: as the charger reports */
	bool number_phases;		/* send numberPhases [true] */
};

struct config_circuit {
	char *id;
	char *parent;			/* NULL for the grid connection */
	int parent_index;		/* -1 for the grid connection */
	double max_current_a[3];	/* per grid phase L1, L2, L3 */
};

struct config_site {
	double voltage_v;
	double min_current_a;
	double failsafe_current_a;
	struct config_circuit *circuits;
	size_t ncircuits;
	int root_index;			/* the circuit without a parent */
};

struct config_mqtt {
	char *host;
	uint16_t port;
	char *prefix;			/* default "sitegate/<site_id>" */
	int limit_timeout_s;
	char *client_id;		/* default "sitegate-<site_id>" */
	char *username;			/* NULL: no authentication */
	char *password;			/* we send it, so it is kept */
	int keepalive_s;
	/* TLS: ca_file set turns it on; cert and key for a client
	 * certificate (both or neither). */
	char *ca_file;
	char *cert;
	char *key;
};

struct config_upstream {
	char *url;			/* ws:// or wss:// */
	char *id;
	enum ocpp_version version;
	char *password;			/* we send it, so it is kept; NULL: none */
	char *ca_file;			/* NULL: system default CAs */
	char *cert;			/* client certificate (profile 3) */
	char *key;
	int meter_interval_s;		/* meter values up; 0: none */
	int queue_max;			/* outbox bound, in messages */
	bool offline_accept_unknown;	/* unknown tokens while the link is down */
	int message_attempts;		/* per transaction message */
	int retry_interval_s;		/* between attempts (times the attempt) */
	int reconnect_max_s;		/* backoff ceiling */
	int call_timeout_s;
};

/* The control loop: allocation and dispatch of charging profiles. */
struct config_control {
	int coalesce_ms;		/* [5] triggers this close make one run */
	double hysteresis_a;		/* [1] smaller moves are not sent */
	int profile_validity_s;		/* [300] validTo of dynamic profiles,
					   renewed when half has passed */
	int retry_min_s;		/* [10] first retry of an uncontrollable
					   charger, doubling up to ... */
	int retry_max_s;		/* [300] */
};

struct config_web {
	struct config_endpoint listen;
	char *root;			/* the page's folder ["web"] */
	char *tls_cert, *tls_key;	/* both or neither: https only */
	int max_clients;		/* [10] live-update streams at once */
};

struct config {
	char *site_id;
	char *state_file;
	int meter_retention_days;		/* meter samples kept this long */
	enum log_level log_level;
	struct config_ocpp ocpp;
	struct config_charger *chargers;
	size_t nchargers;
	struct config_site site;
	struct auth_opts auth;
	struct config_control control;
	struct config_mqtt *mqtt;		/* NULL: no EMS link */
	struct config_upstream *upstream;	/* NULL: no uplink */
	struct config_web *web;			/* NULL: no web page */
};

/* Parse and validate a configuration held in memory (len bytes, need not be
 * NUL-terminated). Returns a new config (free with config_free), or NULL when
 * anything is wrong; then *errors (when errors is not NULL) receives a
 * malloc'd string of one error per line, and *nerrors the count. */
struct config *config_parse(const char *text, size_t len, char **errors,
    int *nerrors);

/* Read the file at path (at most CONFIG_MAX_FILE_BYTES) and config_parse()
 * it. I/O problems are reported through *errors like validation errors. */
struct config *config_load(const char *path, char **errors, int *nerrors);

/* Free a config. NULL is a no-op. */
void config_free(struct config *cfg);

/* Find a charger by id. Returns NULL when it is not configured. */
const struct config_charger *config_charger_find(const struct config *cfg,
    const char *id);

/* Compare two valid configs and describe, one per line in a malloc'd string,
 * the keys that changed but only take effect after a restart (listen
 * addresses, TLS files, the state file: config_restart_key()'s list, in
 * its order). Returns NULL when none did. */
char *config_restart_needed(const struct config *old, const struct config *new);

/* The i-th key (a JSON path such as "ocpp.listen") of the list
 * config_restart_needed() compares, or NULL past the last: the same table,
 * so what the page announces and what a reload reports cannot disagree.
 * The strings are static. */
const char *config_restart_key(size_t i);

/* text[0..len) read as config_parse() reads it — JSON with // and block
 * comments, at most CONFIG_MAX_FILE_BYTES, only white space after the
 * value — into a tree (any JSON value; the caller frees it), or NULL with
 * *why (malloc'd, one line: "(top level): not valid JSON: unexpected text
 * at line 3, column 7"). The copy the comments were blanked in is wiped. */
cJSON *config_parse_json(const char *text, size_t len, char **why);


#endif
