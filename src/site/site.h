/*
 * site — the version-neutral model of the depot: chargers, EVSEs and their
 * connectors, charging sessions, and the latest meter reading per EVSE.
 *
 * Everything here is in the gateway's own terms. The OCPP codecs translate
 * 1.6 and 2.0.1 messages into calls of this API; the allocator's control
 * loop, the uplink and the web page read it and subscribe to its events.
 * N OCPP versions therefore cost N codecs, not N x M translations.
 *
 * Terms:
 *   - A charger is one OCPP connection identity.
 *   - An EVSE is what can charge one vehicle at a time. 2.0.1 numbers them
 *     (evseId 1..n); in 1.6 every connectorId 1..n is its own EVSE with a
 *     single connector 1. Connector/EVSE 0 means "the whole charger".
 *   - A session is one charging transaction. It has our id (unique across
 *     restarts: the 1.6 transactionId we hand out) and the charger's id
 *     for it (2.0.1 transactionId; for 1.6 the decimal of ours).
 *
 * Ownership: the site owns every entity. The entity structs below are
 * visible so that readers need no getter per field, but they are read-only
 * outside site.c: change them only through the site_* verbs, which keep the
 * state file in step and fire the events. Pointers stay valid until the
 * entity is removed (chargers: site_free or a reload that drops them;
 * sessions: until the next call that ends them and an event has passed).
 *
 * EVSE numbers: every EVSE gets a site-wide number, used by the MQTT topics,
 * the uplink and the web page. A charger with chargers[].first_evse in the
 * configuration has its EVSE k numbered first_evse + k - 1; any other EVSE
 * gets the smallest number no other EVSE holds (nor a configured charger
 * claims) when it is first seen. Numbers are stored and kept across
 * restarts; a configured number takes precedence, and an EVSE that held it
 * is renumbered (logged).
 *
 * Persistence: chargers, open and ended sessions and each EVSE's latest
 * reading are written to the store as they change, so after kill -9 the
 * site is rebuilt from the store and a stop for a session opened before
 * the restart finds it.
 */
#ifndef SITEGATE_SITE_H
#define SITEGATE_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types/neutral.h"
#include "types/ocpp.h"

struct store;
struct site;

#define SITE_ADDR_LEN 48		/* an IPv6 address's text + NUL */

enum site_err {
	SITE_OK = 0,
	SITE_ERR_UNKNOWN_CHARGER = -1,
	SITE_ERR_BAD_EVSE = -2,		/* evse or connector out of range */
	SITE_ERR_NO_SESSION = -3,
	SITE_ERR_STORE = -4,		/* the state file refused a write */
};

/* Smart-charging capabilities, learnt after boot. */
struct site_caps {
	bool discovered;		/* the discovery round has finished */
	bool smart_charging;		/* the charger supports profiles at all */
	bool rate_a, rate_w;		/* accepted charging rate units */
	int max_stack_level;
	int max_periods;
	int max_profiles;
	bool phase_switching;
	int meter_interval_s;		/* the sampling interval configured */
};

struct site_connector {
	enum site_status status;
	char error_code[SITE_TEXT_LEN];	/* as reported; "" or "NoError" */
};

struct site_session;

struct site_evse {
	struct site_charger *charger;
	int id;				/* 1..n */
	int number;			/* site-wide, 1..SITE_EVSE_NUMBER_MAX;
					   0 when none was free */
	int nconnectors;
	struct site_connector connectors[SITE_MAX_CONNECTORS]; /* [0] = connector 1 */
	enum site_status status;	/* derived: connectors + charging state */
	int64_t status_ms;
	struct site_session *session;	/* the open session, or NULL */
	struct site_reading reading;	/* latest; .ts_ms 0 = none yet */
};

struct site_charger {
	struct site *site;		/* the owner */
	char id[SITE_ID_LEN];
	bool configured;		/* listed in the configuration */
	int first_evse;			/* configured number of EVSE 1; 0 none */
	bool approved;			/* unknown charger approved (web page) */
	bool connected;
	enum ocpp_version version;
	enum site_boot boot;
	char vendor[SITE_TEXT_LEN], model[SITE_TEXT_LEN];
	char serial[SITE_TEXT_LEN], firmware[SITE_TEXT_LEN];
	int64_t last_seen_ms;
	/* The address of its latest connection (IPv4 or IPv6 text, no port;
	 * "" before any), and the BootNotifications answered Pending in a row
	 * (0 once accepted). Both in memory only: not in the state file. */
	char addr[SITE_ADDR_LEN];
	int boot_attempts;
	struct site_caps caps;
	/* The most EVSEs and connectors per EVSE it may have: a report
	 * beyond them creates nothing (site_evse, site_status refuse it).
	 * chargers[].evses / connectors_per_evse, for a charger not
	 * configured ocpp.max_evses / max_connectors_per_evse; set whenever
	 * the site is built or reconfigured. */
	int max_evses;
	int max_connectors;
	int nevses;
	/* [0] = EVSE 1; the first nevses exist, each allocated when first
	 * seen, so a charger costs memory for the EVSEs it has, not for 32. */
	struct site_evse *evses[SITE_MAX_EVSES];
};

enum site_event_type {
	SITE_EV_CHARGER_CONNECTED = 1 << 0,
	SITE_EV_CHARGER_DISCONNECTED = 1 << 1,
	SITE_EV_CHARGER_BOOTED = 1 << 2,
	SITE_EV_STATUS = 1 << 3,
	SITE_EV_SESSION_STARTED = 1 << 4,
	SITE_EV_SESSION_ENDED = 1 << 5,
	SITE_EV_READING = 1 << 6,
	SITE_EV_CAPS = 1 << 7,
	SITE_EV_ALL = 0xff,
};

struct site_event {
	enum site_event_type type;
	const struct site_charger *charger;
	const struct site_evse *evse;		/* NULL for charger-wide events */
	const struct site_session *session;	/* session events */
};

typedef void site_event_cb(const struct site_event *ev, void *arg);

/* A writer: hears an event inside the unit that makes it (see
 * site_begin), adds its own store writes to it, and returns 0, or
 * non-zero when it could not (the unit then fails as a whole). A writer
 * must not do anything the outside world sees: nothing is committed yet. */
typedef int site_write_cb(const struct site_event *ev, void *arg);

/* One configured charger, as the site needs it. */
struct site_charger_opts {
	const char *id;
	int first_evse;			/* number of its EVSE 1; 0: automatic */
	int evses;			/* EVSEs it may report, 1..SITE_MAX_EVSES */
	int connectors_per_evse;	/* 1..SITE_MAX_CONNECTORS */
};

/* What the site takes from the configuration. The site copies what it
 * keeps: o need not outlive the call. */
struct site_opts {
	const struct site_charger_opts *chargers;
	size_t nchargers;
	int max_evses;			/* of chargers not configured */
	int max_connectors_per_evse;
};

/* Build the site from cfg and the state file: configured chargers, plus
 * every charger, open session and latest reading the store remembers.
 * Neither cfg nor st is owned; st must outlive the site, cfg is only read
 * during the call. Returns NULL with *cause (malloc'd) on a store error. */
struct site *site_new(struct store *st, const struct site_opts *o,
    char **cause);

/* Free the site and every entity. NULL is a no-op. */
void site_free(struct site *s);

/* Apply a new configuration: chargers added become known, chargers removed
 * stay while they are connected or have an open session (and are no longer
 * "configured"). Returns SITE_OK. */
int site_reconfigure(struct site *s, const struct site_opts *o);

/* Call cb for the events in mask (enum site_event_type bits), in the order
 * subscribed, synchronously, after the change is stored. At most 16
 * subscribers. Returns SITE_OK, or -1 when full. */
int site_subscribe(struct site *s, unsigned mask, site_event_cb *cb, void *arg);

/* Add a writer for the events in mask (at most 16). Writers hear an event
 * before any subscriber, inside its unit. Returns SITE_OK, or -1 when
 * full. */
int site_subscribe_writer(struct site *s, unsigned mask, site_write_cb *cb,
    void *arg);

/* Remove the writer (cb, arg). Returns SITE_OK, or -1 when there was
 * none. */
int site_unsubscribe_writer(struct site *s, site_write_cb *cb, void *arg);

/* Units: everything the site verbs change between site_begin() and the
 * matching site_commit() — in the state file, in memory, and what writers
 * add — is kept together or undone together. Units nest; the outermost
 * commit writes (one transaction, one fsync) and only then are ordinary
 * subscribers told, in order. Each session verb is a unit of its own when
 * no unit is open. site_begin returns SITE_OK or SITE_ERR_STORE (no unit
 * opened). site_commit returns SITE_OK, or SITE_ERR_STORE when a write of
 * the unit or the commit failed: then every EVSE and session is as it was
 * before site_begin, the events are dropped, and nothing is on disk. */
int site_begin(struct site *s);
int site_commit(struct site *s);

/* Make the open unit fail: its outermost site_commit() undoes it. No unit
 * open: a no-op. */
void site_fail(struct site *s);

/* Remove the subscription of (cb, arg). Returns SITE_OK, or -1 when there
 * was none. */
int site_unsubscribe(struct site *s, site_event_cb *cb, void *arg);

/* The charger with this id, or NULL. */
struct site_charger *site_charger(struct site *s, const char *id);

/* The n-th charger (0 <= n < site_charger_count()), in a stable order. */
size_t site_charger_count(const struct site *s);
struct site_charger *site_charger_at(struct site *s, size_t n);

/* The EVSE evse_id (1-based) of ch, creating it (and EVSEs below it) when
 * the charger reports one it had not mentioned; NULL when out of range:
 * below 1 or beyond ch->max_evses (an EVSE made before the bound was
 * lowered included). */
struct site_evse *site_evse(struct site_charger *ch, int evse_id);

/* The EVSE with site-wide number n, or NULL. */
struct site_evse *site_evse_by_number(struct site *s, int n);

/* Increments whenever an EVSE appears, a charger is dropped or numbers
 * change: readers that cache the set of EVSEs rebuild when it moves. */
unsigned site_generation(const struct site *s);

/* A charger connected with version v; an unknown id is added (configured
 * false) so that it can boot as Pending. Returns the charger. */
struct site_charger *site_charger_connected(struct site *s, const char *id,
    enum ocpp_version v, int64_t now_ms);

/* The address of ch's connection (text, no port; NULL: ""), kept in
 * ch->addr (cut to SITE_ADDR_LEN - 1 bytes). In memory only. */
void site_charger_address(struct site *s, struct site_charger *ch,
    const char *addr);

/* Forget the charger id: it leaves the site, and its row (with its latest
 * readings and EVSE numbers) leaves the state file, committed before this
 * returns 0; its sessions stay in the state file as history. Only for a
 * charger that is not configured, not connected and has no open session,
 * outside a unit (site_begin): returns -1 otherwise, or when the state
 * file refuses the delete (then nothing changed). Pointers to it and its
 * EVSEs become invalid, as when a reload drops a charger: the generation
 * moves (site_generation). A caller that must forget a connected charger
 * disconnects it first (roles/csms: csms_disconnect marks it disconnected
 * at once). */
int site_charger_forget(struct site *s, const char *id);

/* The connection of ch closed. */
void site_charger_disconnected(struct site *s, struct site_charger *ch,
    int64_t now_ms);

/* Any message from ch: updates last_seen (not stored on every call). */
void site_charger_seen(struct site *s, struct site_charger *ch, int64_t now_ms);

/* A BootNotification: records the identity strings (NULL = absent) and
 * decides: Accepted for configured or approved chargers; for others
 * Pending (waiting for approval) when allow_unknown, else Rejected (a
 * charger taken out of the configuration while connected). Returns the
 * decision, also kept in ch->boot; a Pending one counts in
 * ch->boot_attempts, any other sets it to 0. */
enum site_boot site_charger_booted(struct site *s, struct site_charger *ch,
    const char *vendor, const char *model, const char *serial,
    const char *firmware, bool allow_unknown, int64_t now_ms);

/* Approve (or revoke) an unknown charger. Returns SITE_OK or
 * SITE_ERR_UNKNOWN_CHARGER. */
int site_charger_approve(struct site *s, const char *id, bool approved);

/* Record capabilities learnt from the charger. */
void site_charger_caps(struct site *s, struct site_charger *ch,
    const struct site_caps *caps);

/* A status report for connector (1-based; 0 = the whole EVSE) of EVSE
 * evse_id; evse_id 0 means every EVSE of the charger. error_code may be
 * NULL. Returns SITE_OK, or SITE_ERR_BAD_EVSE for an EVSE site_evse()
 * refuses or a connector beyond ch->max_connectors. */
int site_status(struct site *s, struct site_charger *ch, int evse_id,
    int connector, enum site_status st, const char *error_code,
    int64_t ts_ms);

/* A session started on EVSE evse_id, connector. charger_tx_id NULL: the
 * gateway issues the id (1.6); it is then the decimal of our id. The EVSE's
 * reading is cleared: readings taken before the session are not its own.
 * Returns the session, or NULL with *err set (SITE_ERR_STORE: nothing
 * changed). */
struct site_session *site_session_start(struct site *s, struct site_charger *ch,
    int evse_id, int connector, const char *charger_tx_id,
    const char *id_token, double meter_start_wh, int64_t ts_ms, bool offline,
    int *err);

/* The session ch knows by charger_tx_id (open or recently ended), or
 * NULL. */
struct site_session *site_session_find(struct site *s,
    const struct site_charger *ch, const char *charger_tx_id);

/* Record a 2.0.1 seqNo for sess. Returns 0 when it is the next one,
 * the size of the gap (> 0) when some were skipped, or -1 for a duplicate
 * or an old one. The caller logs; the session is updated either way. */
int site_session_seq(struct site *s, struct site_session *sess, int seq_no);

/* Set or change the id token of an open session (2.0.1 sends it in a later
 * event when authorization happened after plug-in). */
void site_session_token(struct site *s, struct site_session *sess,
    const char *id_token);

/* End sess. meter_stop_wh < 0: unknown (the last reading's register is
 * used when there is one). reason may be NULL. Returns SITE_OK,
 * SITE_ERR_NO_SESSION (already ended) or SITE_ERR_STORE (outside a unit:
 * nothing changed; inside: the unit fails). */
int site_session_stop(struct site *s, struct site_session *sess,
    double meter_stop_wh, const char *reason, int64_t ts_ms);

/* A meter reading for EVSE evse_id (0: the charger's main meter, kept on
 * no EVSE). Fields not in r->have keep their previous values. The reading
 * is also appended to the sample history (store_sample_add), which the
 * gateway prunes after meter_retention_days. */
int site_reading(struct site *s, struct site_charger *ch, int evse_id,
    const struct site_reading *r);

/* Stable names for logs, MQTT and the web API. */
const char *site_status_name(enum site_status st);
const char *site_boot_name(enum site_boot b);

#endif
