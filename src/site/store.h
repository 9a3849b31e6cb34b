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
 * Writes come in three kinds. Facts that must survive a power cut the
 * moment they are made (chargers, EVSE numbers, tokens) commit on their
 * own, one fsync each. Meter readings and samples that nobody was promised
 * are batched: they join an open transaction that store_flush() commits
 * (the gateway calls it once a second), so an SD card sees one sync per
 * second instead of one per reading. A durable write first commits the
 * open batch, keeping the order of events on disk.
 *
 * And a unit (store_begin() .. store_commit()) gathers every write one
 * acknowledged message causes — a session's change, its outbox entry, its
 * seqNo, the reading it carried — into one transaction, committed with one
 * fsync before the answer leaves, or not at all (store_rollback()). There
 * is no state on disk in which a session changed and its outbox entry is
 * missing, whatever the moment of a crash.
 *
 * A failed write is logged once per kind of failure (disk full, I/O,
 * other) until a commit succeeds again, then one line says so: a full disk
 * costs a few log lines, not one per message. The WAL is checkpointed by
 * size (1 MiB) and by the gateway's timer, and cut back after each
 * checkpoint, so that it cannot fill a small volume by itself.
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
#define STORE_SCHEMA_VERSION 6

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
	int ocpp_version;		/* enum ocpp_version */
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

/* Call cb for the sessions of the state file, open and ended, newest
 * first (by id: the order they started in), at most limit of them
 * (limit < 0: all). The row and its strings are valid during the call
 * only; cb must not write to the store. A session still open has open 1,
 * stop_ms 0 and meter_stop_wh -1; an ended one may have meter_stop_wh -1
 * too (the charger did not say, and no reading told). Returns STORE_OK or
 * a store_err. */
int store_sessions_list(struct store *st, int64_t limit, store_session_cb *cb,
    void *arg);

/* Delete the charger row id, with its latest readings and its EVSE
 * numbers; its sessions and samples stay (they are history). Durable:
 * committed when it returns STORE_OK (inside a unit: with the unit).
 * Returns STORE_OK, STORE_ERR_NOTFOUND when there was no such row (nothing
 * changed), or another store_err (nothing changed). */
int store_charger_delete(struct store *st, const char *id);

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

/* Commit the open batch, if any (inside a unit: nothing, the unit's
 * commit will). Returns STORE_OK or a store_err. */
int store_flush(struct store *st);

/* Open a unit: every write until store_commit() or store_rollback() is one
 * transaction (what was batched before joins it). Units do not nest.
 * Returns STORE_OK or a store_err (then no unit is open). */
int store_begin(struct store *st);

/* Commit the unit: on disk (fsync'd) when this returns STORE_OK. On any
 * failure — a write of the unit failed, or the commit itself — nothing of
 * the unit is on disk and a store_err is returned; the unit is closed
 * either way. */
int store_commit(struct store *st);

/* Undo every write of the open unit (writes batched before it stay
 * batched). No unit open: a no-op. */
void store_rollback(struct store *st);

/* Commit the batch and checkpoint the WAL into the database, truncating
 * it. Not inside a unit. Returns STORE_OK (also when a reader kept the
 * checkpoint from finishing) or a store_err. */
int store_checkpoint(struct store *st);

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

/*
 * The uplink's outbox (roles/uplink): transaction-related messages to the
 * upstream CSMS, durable from before they are sent until they are
 * answered. Every write here is durable (committed on return).
 */
enum store_outbox_kind {
	STORE_OB_START = 1,	/* StartTransaction / TransactionEvent Started */
	STORE_OB_UPDATE,	/* TransactionEvent Updated (not a meter value) */
	STORE_OB_METER,		/* periodic meter values: dropped first */
	STORE_OB_STOP,		/* StopTransaction / TransactionEvent Ended */
};

struct store_outbox_row {
	int64_t seq;			/* assigned on insert; the order */
	int kind;			/* enum store_outbox_kind */
	int64_t session_id;		/* 0: not about a session */
	int version;			/* enum ocpp_version of payload */
	char action[48];
	char *payload;			/* JSON; read: malloc'd, caller frees */
	int64_t created_ms;
	int tx_seq;			/* per-session counter at insert; -1 */
	int attempts;
	int64_t reading_ms;		/* add: the reading a meter row carries
					   (store_uplink_meter_get); 0 none */
};

/* Append row (seq, tx_seq assigned: tx_seq is the session's next
 * counter value when session_id != 0). When the outbox already holds
 * max_rows rows, the oldest STORE_OB_METER row other than keep_seq (the
 * one in flight) is deleted first; with none to delete, a new meter row is
 * refused (*dropped = 1, nothing written) while a start, update or stop is
 * written beyond the bound. *dropped counts rows dropped (0 or 1). */
int store_outbox_add(struct store *st, struct store_outbox_row *row,
    int64_t max_rows, int64_t keep_seq, int *dropped);

/* The first row with seq > after_seq into *row (payload malloc'd).
 * Returns STORE_OK, STORE_ERR_NOTFOUND when none, or a store_err. */
int store_outbox_next(struct store *st, int64_t after_seq,
    struct store_outbox_row *row);

/* The upstream answered row seq: delete it and, when up_tx_id is not
 * NULL, record session_id's upstream transaction id, in one commit. */
int store_outbox_ack(struct store *st, int64_t seq, int64_t session_id,
    const char *up_tx_id);

/* Record the attempts made for row seq. */
int store_outbox_attempts(struct store *st, int64_t seq, int attempts);

/* Rows in the outbox and the creation time of the oldest (0 when empty). */
int store_outbox_stats(struct store *st, int64_t *count, int64_t *oldest_ms);

/* The upstream transaction id of session_id into buf. Returns STORE_OK or
 * STORE_ERR_NOTFOUND (not answered yet). */
int store_uplink_tx_get(struct store *st, int64_t session_id, char *buf,
    size_t len);

/* The time of the latest reading queued for session_id (the largest
 * reading_ms of its rows ever added; 0 when none). */
int store_uplink_meter_get(struct store *st, int64_t session_id, int64_t *ms);

/* The session the upstream knows by up_tx_id. */
int store_uplink_tx_find(struct store *st, const char *up_tx_id,
    int64_t *session_id);

/* Authorization answers of the upstream (auth_cache) and its local list
 * (local_list): status is an enum ocpp_auth_status, expiry_ms 0 = none.
 * Tokens compare case-insensitively. */
int store_auth_cache_put(struct store *st, const char *token, int status,
    int64_t expiry_ms, int64_t now_ms);
int store_auth_cache_get(struct store *st, const char *token, int *status,
    int64_t *expiry_ms);
int store_auth_cache_clear(struct store *st);
/* status < 0 deletes the token. */
int store_local_list_put(struct store *st, const char *token, int status,
    int64_t expiry_ms);
int store_local_list_clear(struct store *st);
int store_local_list_get(struct store *st, const char *token, int *status,
    int64_t *expiry_ms);

#endif
