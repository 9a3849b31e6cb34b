/*
 * store — the SQLite state file. All SQL of the gateway lives here.
 *
 * The configuration file is intent; this file holds runtime facts (what
 * the gateway learnt and must not forget across a restart or a power cut).
 * It is one SQLite database in WAL mode with synchronous=FULL: a committed
 * write survives kill -9 and power loss.
 *
 * The schema is versioned with PRAGMA user_version. store_open() applies
 * the forward migrations from whatever version the file has up to
 * STORE_SCHEMA_VERSION, each in its own transaction. A file that is not a
 * database, is damaged, cannot be read or written, or was written by a
 * newer sitegate is refused with one clear message — never repaired or
 * reset silently, because it may hold transactions nobody has billed yet.
 *
 * Writes come in two kinds. Facts that must survive a power cut the moment
 * the charger is answered (sessions, chargers) commit on their own, one
 * fsync each. Meter readings and samples, which arrive from every charger
 * every few seconds, are batched: they join an open transaction that
 * store_flush() commits (the gateway calls it once a second), so an SD card
 * sees one sync per second instead of one per reading. A durable write
 * first commits the open batch, keeping the order of events on disk.
 */
#ifndef SITEGATE_STORE_H
#define SITEGATE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

enum store_err {
	STORE_OK = 0,
	STORE_ERR_IO = -1,	/* cannot open, read or write the file */
	STORE_ERR_CORRUPT = -2,	/* not a database, or damaged */
	STORE_ERR_NEWER = -3,	/* schema newer than this build knows */
	STORE_ERR_NOTFOUND = -4,
	STORE_ERR_SQL = -5,	/* any other SQLite failure */
};

/* The schema version this build writes. */
#define STORE_SCHEMA_VERSION 4

/* Open (creating if needed) the state file at path and migrate it to
 * STORE_SCHEMA_VERSION. The directory must exist. Returns the store, or
 * NULL with *err set to a store_err and *cause to a malloc'd message that
 * names the file and says what to do. */
struct store *store_open(const char *path, int *err, char **cause);

/* Like store_open(), but migrate only up to version target (<=
 * STORE_SCHEMA_VERSION). For the migration tests and tooling. */
struct store *store_open_version(const char *path, int target, int *err,
    char **cause);

/* Close the store, finishing any statement. NULL is a no-op. */
void store_close(struct store *st);

/* The schema version of the open file. */
int store_version(const struct store *st);

/* The path the store was opened with (owned by the store). */
const char *store_path(const struct store *st);

/* Read a value of the small key/value table into buf (len bytes, always
 * NUL-terminated). Returns STORE_OK, STORE_ERR_NOTFOUND, or another
 * store_err. */
int store_meta_get(struct store *st, const char *key, char *buf, size_t len);

/* Set a key/value pair. Returns STORE_OK or a store_err. */
int store_meta_set(struct store *st, const char *key, const char *value);

/* Count this start of the gateway: increments and returns, through *count,
 * how many times the gateway has started on this state file. */
int store_count_start(struct store *st, int64_t *count);

/*
 * Rows of the site model (site/site.h). The store reads and writes plain
 * rows; the site turns them into its entities.
 */
struct store_charger_row {
	const char *id;
	int ocpp_version;		/* enum config_ocpp_version */
	int boot;			/* enum site_boot */
	int approved;
	const char *vendor, *model, *serial, *firmware;
	int64_t last_seen_ms;
	const char *caps_json;		/* NULL: not discovered */
};

struct store_session_row {
	int64_t id;			/* 0 on insert: assigned */
	const char *charger_id;
	int evse, connector;
	const char *charger_tx_id;	/* NULL on insert: the decimal of id */
	const char *id_token;
	int64_t start_ms, stop_ms;
	double meter_start_wh, meter_stop_wh;
	const char *stop_reason;
	int last_seq_no;
	int offline;
	int open;
};

struct store_reading_row {
	const char *charger_id;
	int evse;
	int64_t ts_ms;
	unsigned have;
	double current_a[3], offered_a, power_w, energy_wh, voltage_v[3], soc_pct;
};

typedef void store_charger_cb(const struct store_charger_row *row, void *arg);
typedef void store_session_cb(const struct store_session_row *row, void *arg);
typedef void store_reading_cb(const struct store_reading_row *row, void *arg);

/* Insert or replace a charger row. Returns STORE_OK or a store_err. */
int store_charger_put(struct store *st, const struct store_charger_row *row);

/* Call cb for every charger row. Returns STORE_OK or a store_err. */
int store_chargers_load(struct store *st, store_charger_cb *cb, void *arg);

/* Insert a new session; on success row->id holds its id, and the stored
 * charger_tx_id is row->charger_tx_id or, when NULL, the decimal of the id
 * (written to txbuf, txlen bytes, which the caller may then use). Ids are
 * never reused, even after the row is deleted. */
int store_session_insert(struct store *st, struct store_session_row *row,
    char *txbuf, size_t txlen);

/* Update a session's mutable fields (token, stop, seqNo, open). */
int store_session_update(struct store *st, const struct store_session_row *row);

/* Call cb for every open session, oldest first. */
int store_sessions_load_open(struct store *st, store_session_cb *cb, void *arg);

/* Insert or replace the latest reading of an EVSE (batched). */
int store_reading_put(struct store *st, const struct store_reading_row *row);

/* Append a reading to the sample history (batched); session_id 0 when no
 * session was open. */
int store_sample_add(struct store *st, const struct store_reading_row *row,
    int64_t session_id);

/* Delete samples older than before_ms; *deleted gets the count. */
int store_samples_prune(struct store *st, int64_t before_ms, int64_t *deleted);

/* Samples kept for an EVSE since since_ms (for tests and the web page). */
int store_samples_count(struct store *st, const char *charger_id, int evse,
    int64_t since_ms, int64_t *count);

/* Commit the open batch, if any. Returns STORE_OK or a store_err. */
int store_flush(struct store *st);

/* Call cb for every stored reading. */
int store_readings_load(struct store *st, store_reading_cb *cb, void *arg);

/* Site-wide EVSE numbers (site/site.h). put records that EVSE evse of
 * charger_id has number, dropping whatever row held that number or that
 * EVSE before (durable). load calls cb for every row, by number. */
typedef void store_evse_map_cb(const char *charger_id, int evse, int number,
    void *arg);
int store_evse_map_put(struct store *st, const char *charger_id, int evse,
    int number);
int store_evse_map_load(struct store *st, store_evse_map_cb *cb, void *arg);

#endif
