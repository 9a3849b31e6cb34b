/*
 * store — see store.h.
 *
 * Migrations are a table of SQL scripts; migration i brings user_version
 * from i to i+1. A later schema change appends a script and bumps
 * STORE_SCHEMA_VERSION; it never edits an earlier one, because files in the
 * field are at every earlier version.
 *
 * Every statement the gateway runs repeatedly is prepared once at open and
 * kept; the migration scripts run once through sqlite3_exec.
 *
 * SQLite's own log messages (corruption warnings, recovered WAL files) are
 * routed into log.c once per process.
 */
#include "site/store.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"

/* The WAL is checkpointed into the database every STORE_WAL_PAGES pages
 * (1 MiB at SQLite's 4 KiB pages, a quarter of SQLite's default) and cut
 * back to STORE_WAL_LIMIT bytes afterwards, besides the gateway's timed
 * store_checkpoint(): on a small volume it cannot grow to fill it. */
#define STORE_WAL_PAGES 256
#define STORE_WAL_LIMIT 1048576
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const migrations[] = {
	/* 0 -> 1: the key/value table for small facts about this gateway. */
	"CREATE TABLE meta ("
	"  key   TEXT PRIMARY KEY NOT NULL,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;",

	/* 1 -> 2: the site model. Session ids come from AUTOINCREMENT so that
	 * a 1.6 transactionId is never handed out twice, even after rows are
	 * pruned. */
	"CREATE TABLE chargers ("
	"  id           TEXT PRIMARY KEY NOT NULL,"
	"  ocpp_version INTEGER NOT NULL,"
	"  boot         INTEGER NOT NULL,"
	"  approved     INTEGER NOT NULL DEFAULT 0,"
	"  vendor TEXT, model TEXT, serial TEXT, firmware TEXT,"
	"  last_seen_ms INTEGER NOT NULL DEFAULT 0,"
	"  caps_json    TEXT"
	") WITHOUT ROWID;"
	"CREATE TABLE sessions ("
	"  id             INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  charger_id     TEXT NOT NULL,"
	"  evse           INTEGER NOT NULL,"
	"  connector      INTEGER NOT NULL,"
	"  charger_tx_id  TEXT NOT NULL,"
	"  id_token       TEXT,"
	"  start_ms       INTEGER NOT NULL,"
	"  stop_ms        INTEGER NOT NULL DEFAULT 0,"
	"  meter_start_wh REAL NOT NULL,"
	"  meter_stop_wh  REAL NOT NULL DEFAULT -1,"
	"  stop_reason    TEXT,"
	"  last_seq_no    INTEGER NOT NULL DEFAULT -1,"
	"  offline        INTEGER NOT NULL DEFAULT 0,"
	"  open           INTEGER NOT NULL"
	");"
	"CREATE INDEX sessions_open ON sessions(open) WHERE open = 1;"
	"CREATE INDEX sessions_tx ON sessions(charger_id, charger_tx_id);"
	"CREATE TABLE readings ("
	"  charger_id TEXT NOT NULL,"
	"  evse       INTEGER NOT NULL,"
	"  ts_ms      INTEGER NOT NULL,"
	"  have       INTEGER NOT NULL,"
	"  i1 REAL, i2 REAL, i3 REAL, offered REAL, power REAL, energy REAL,"
	"  v1 REAL, v2 REAL, v3 REAL, soc REAL,"
	"  PRIMARY KEY (charger_id, evse)"
	") WITHOUT ROWID;",

	/* 2 -> 3: the meter history, kept for a retention period. */
	"CREATE TABLE samples ("
	"  charger_id TEXT NOT NULL,"
	"  evse       INTEGER NOT NULL,"
	"  ts_ms      INTEGER NOT NULL,"
	"  session_id INTEGER NOT NULL DEFAULT 0,"
	"  have       INTEGER NOT NULL,"
	"  i1 REAL, i2 REAL, i3 REAL, power REAL, energy REAL, soc REAL"
	");"
	"CREATE INDEX samples_ts ON samples(ts_ms);"
	"CREATE INDEX samples_evse ON samples(charger_id, evse, ts_ms);",

	/* 3 -> 4: the site-wide EVSE numbers, stable across restarts. */
	"CREATE TABLE evse_map ("
	"  charger_id TEXT NOT NULL,"
	"  evse       INTEGER NOT NULL,"
	"  number     INTEGER NOT NULL UNIQUE,"
	"  PRIMARY KEY (charger_id, evse)"
	") WITHOUT ROWID;",

	/* 4 -> 5: the uplink. The outbox holds every transaction-related
	 * message to the upstream CSMS from before it is sent until it is
	 * answered; seq gives the order (AUTOINCREMENT: never reused, so the
	 * order survives deletes). uplink_tx maps a session to the upstream's
	 * transaction id (1.6) and counts its TransactionEvent seqNo (2.0.1).
	 * auth_cache keeps the upstream's Authorize answers; local_list is the
	 * list the upstream sends with SendLocalList. */
	"CREATE TABLE outbox ("
	"  seq        INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  kind       INTEGER NOT NULL,"
	"  session_id INTEGER NOT NULL DEFAULT 0,"
	"  version    INTEGER NOT NULL,"
	"  action     TEXT NOT NULL,"
	"  payload    TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  tx_seq     INTEGER NOT NULL DEFAULT -1,"
	"  attempts   INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX outbox_kind ON outbox(kind, seq);"
	"CREATE TABLE uplink_tx ("
	"  session_id INTEGER PRIMARY KEY NOT NULL,"
	"  up_tx_id   TEXT,"
	"  seq_next   INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX uplink_tx_up ON uplink_tx(up_tx_id);"
	"CREATE TABLE auth_cache ("
	"  token     TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,"
	"  status    INTEGER NOT NULL,"
	"  expiry_ms INTEGER NOT NULL DEFAULT 0,"
	"  stored_ms INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE local_list ("
	"  token     TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,"
	"  status    INTEGER NOT NULL,"
	"  expiry_ms INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;",

	/* 5 -> 6: the time of the last reading queued for the upstream per
	 * session, so that a restart neither sends a reading twice nor skips
	 * one that was acknowledged to the charger but not queued yet. */
	"ALTER TABLE uplink_tx ADD COLUMN meter_ms INTEGER NOT NULL DEFAULT 0;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
    "one migration per schema version");

struct store {
	sqlite3 *db;
	char *path;
	int version;
	sqlite3_stmt *meta_get;
	sqlite3_stmt *meta_set;
	sqlite3_stmt *charger_put;
	sqlite3_stmt *chargers_load;
	sqlite3_stmt *session_insert;
	sqlite3_stmt *session_set_tx;
	sqlite3_stmt *session_update;
	sqlite3_stmt *sessions_open;
	sqlite3_stmt *sessions_list;
	sqlite3_stmt *charger_del;
	sqlite3_stmt *charger_del_readings;
	sqlite3_stmt *charger_del_numbers;
	sqlite3_stmt *reading_put;
	sqlite3_stmt *readings_load;
	sqlite3_stmt *sample_add;
	sqlite3_stmt *samples_prune;
	sqlite3_stmt *samples_count;
	sqlite3_stmt *evse_map_put;
	sqlite3_stmt *evse_map_load;
	sqlite3_stmt *ob_insert;
	sqlite3_stmt *ob_head;
	sqlite3_stmt *ob_delete;
	sqlite3_stmt *ob_attempt;
	sqlite3_stmt *ob_stats;
	sqlite3_stmt *ob_oldest;
	int64_t ob_rows;		/* outbox rows; -1: not counted yet */
	sqlite3_stmt *ob_drop_meter;
	sqlite3_stmt *utx_seq;
	sqlite3_stmt *utx_seq_get;
	sqlite3_stmt *utx_set;
	sqlite3_stmt *utx_get;
	sqlite3_stmt *utx_find;
	sqlite3_stmt *ac_put;
	sqlite3_stmt *ac_get;
	sqlite3_stmt *ac_clear;
	sqlite3_stmt *ll_put;
	sqlite3_stmt *ll_del;
	sqlite3_stmt *ll_clear;
	sqlite3_stmt *ll_get;
	sqlite3_stmt *utx_meter_set;
	sqlite3_stmt *utx_meter_get;
	int batch_open;			/* a BEGIN without its COMMIT yet */
	int unit;			/* store_begin() without its end */
	/* Failed writes: each class of failure (disk full, I/O, other) is
	 * logged once until a commit succeeds again; the rest are counted. */
	unsigned failing;		/* bit per class already logged */
	int64_t failed;			/* failures since the last success */
};

/* The statements prepared at open for each schema version: a statement
 * needs the tables of its version. */
struct prepared {
	int version;
	size_t offset;			/* of the sqlite3_stmt * in struct store */
	const char *sql;
};

#define STMT(v, field, sql) { v, offsetof(struct store, field), sql }

static const struct prepared statements[] = {
	STMT(1, meta_get, "SELECT value FROM meta WHERE key = ?1"),
	STMT(1, meta_set, "INSERT INTO meta(key, value) VALUES (?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
	STMT(2, charger_put, "INSERT OR REPLACE INTO chargers(id, ocpp_version, "
	    "boot, approved, vendor, model, serial, firmware, last_seen_ms, "
	    "caps_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
	STMT(2, chargers_load, "SELECT id, ocpp_version, boot, approved, vendor, "
	    "model, serial, firmware, last_seen_ms, caps_json FROM chargers "
	    "ORDER BY id"),
	STMT(2, session_insert, "INSERT INTO sessions(charger_id, evse, "
	    "connector, charger_tx_id, id_token, start_ms, meter_start_wh, "
	    "offline, open) VALUES (?1, ?2, ?3, coalesce(?4, ''), ?5, ?6, ?7, "
	    "?8, 1)"),
	STMT(2, session_set_tx, "UPDATE sessions SET charger_tx_id = ?2 "
	    "WHERE id = ?1"),
	STMT(2, session_update, "UPDATE sessions SET id_token = ?2, stop_ms = "
	    "?3, meter_stop_wh = ?4, stop_reason = ?5, last_seq_no = ?6, open = "
	    "?7 WHERE id = ?1"),
	STMT(2, sessions_open, "SELECT id, charger_id, evse, connector, "
	    "charger_tx_id, id_token, start_ms, stop_ms, meter_start_wh, "
	    "meter_stop_wh, stop_reason, last_seq_no, offline, open FROM "
	    "sessions WHERE open = 1 ORDER BY id"),
	STMT(2, sessions_list, "SELECT id, charger_id, evse, connector, "
	    "charger_tx_id, id_token, start_ms, stop_ms, meter_start_wh, "
	    "meter_stop_wh, stop_reason, last_seq_no, offline, open FROM "
	    "sessions ORDER BY id DESC LIMIT ?1"),
	STMT(2, charger_del, "DELETE FROM chargers WHERE id = ?1"),
	STMT(2, charger_del_readings, "DELETE FROM readings WHERE charger_id = "
	    "?1"),
	STMT(4, charger_del_numbers, "DELETE FROM evse_map WHERE charger_id = "
	    "?1"),
	STMT(2, reading_put, "INSERT OR REPLACE INTO readings(charger_id, evse, "
	    "ts_ms, have, i1, i2, i3, offered, power, energy, v1, v2, v3, soc) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
	STMT(2, readings_load, "SELECT charger_id, evse, ts_ms, have, i1, i2, i3, "
	    "offered, power, energy, v1, v2, v3, soc FROM readings"),
	STMT(3, sample_add, "INSERT INTO samples(charger_id, evse, ts_ms, "
	    "session_id, have, i1, i2, i3, power, energy, soc) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
	STMT(3, samples_prune, "DELETE FROM samples WHERE ts_ms < ?1"),
	STMT(3, samples_count, "SELECT count(*) FROM samples WHERE charger_id = "
	    "?1 AND evse = ?2 AND ts_ms >= ?3"),
	/* REPLACE also drops a row that held the number before. */
	STMT(4, evse_map_put, "INSERT OR REPLACE INTO evse_map(charger_id, evse, "
	    "number) VALUES (?1, ?2, ?3)"),
	STMT(4, evse_map_load, "SELECT charger_id, evse, number FROM evse_map "
	    "ORDER BY number"),
	STMT(5, ob_insert, "INSERT INTO outbox(kind, session_id, version, "
	    "action, payload, created_ms, tx_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7)"),
	STMT(5, ob_head, "SELECT seq, kind, session_id, version, action, "
	    "payload, created_ms, tx_seq, attempts FROM outbox WHERE seq > ?1 "
	    "ORDER BY seq LIMIT 1"),
	STMT(5, ob_delete, "DELETE FROM outbox WHERE seq = ?1"),
	STMT(5, ob_attempt, "UPDATE outbox SET attempts = ?2 WHERE seq = ?1"),
	STMT(5, ob_stats, "SELECT count(*) FROM outbox"),
	STMT(5, ob_oldest, "SELECT created_ms FROM outbox ORDER BY seq LIMIT 1"),
	STMT(5, ob_drop_meter, "DELETE FROM outbox WHERE seq = (SELECT seq FROM "
	    "outbox WHERE kind = ?1 AND seq <> ?2 ORDER BY seq LIMIT 1)"),
	STMT(5, utx_seq, "INSERT INTO uplink_tx(session_id, seq_next) VALUES "
	    "(?1, 1) ON CONFLICT(session_id) DO UPDATE SET seq_next = seq_next + 1"),
	STMT(5, utx_seq_get, "SELECT seq_next - 1 FROM uplink_tx WHERE "
	    "session_id = ?1"),
	STMT(5, utx_set, "INSERT INTO uplink_tx(session_id, up_tx_id) VALUES "
	    "(?1, ?2) ON CONFLICT(session_id) DO UPDATE SET up_tx_id = "
	    "excluded.up_tx_id"),
	STMT(5, utx_get, "SELECT up_tx_id FROM uplink_tx WHERE session_id = ?1 "
	    "AND up_tx_id IS NOT NULL"),
	STMT(5, utx_find, "SELECT session_id FROM uplink_tx WHERE up_tx_id = ?1 "
	    "ORDER BY session_id DESC LIMIT 1"),
	STMT(5, ac_put, "INSERT OR REPLACE INTO auth_cache(token, status, "
	    "expiry_ms, stored_ms) VALUES (?1, ?2, ?3, ?4)"),
	STMT(5, ac_get, "SELECT status, expiry_ms FROM auth_cache WHERE token = "
	    "?1"),
	STMT(5, ac_clear, "DELETE FROM auth_cache"),
	STMT(5, ll_put, "INSERT OR REPLACE INTO local_list(token, status, "
	    "expiry_ms) VALUES (?1, ?2, ?3)"),
	STMT(5, ll_del, "DELETE FROM local_list WHERE token = ?1"),
	STMT(5, ll_clear, "DELETE FROM local_list"),
	STMT(5, ll_get, "SELECT status, expiry_ms FROM local_list WHERE token = "
	    "?1"),
	STMT(6, utx_meter_set, "INSERT INTO uplink_tx(session_id, meter_ms) "
	    "VALUES (?1, ?2) ON CONFLICT(session_id) DO UPDATE SET meter_ms = "
	    "max(meter_ms, excluded.meter_ms)"),
	STMT(6, utx_meter_get, "SELECT meter_ms FROM uplink_tx WHERE "
	    "session_id = ?1"),
};

static sqlite3_stmt **
stmt_slot(struct store *st, const struct prepared *p)
{
	return (sqlite3_stmt **)(void *)((char *)st + p->offset);
}

static void
sqlite_log(void *arg, int code, const char *msg)
{
	char esc[LOG_ESC_LEN * 2];

	(void)arg;
	/* SQLITE_NOTICE/WARNING about WAL recovery are routine after a crash. */
	if ((code & 0xff) == SQLITE_NOTICE || (code & 0xff) == SQLITE_WARNING)
		log_info("sqlite", "code=%d msg=%s", code,
		    log_esc(esc, sizeof esc, msg));
	else
		log_warn("sqlite", "code=%d msg=%s", code,
		    log_esc(esc, sizeof esc, msg));
}

static void
route_sqlite_log(void)
{
	static int done;

	if (!done) {
		/* Must happen before SQLite initialises; harmless if too late. */
		sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, NULL);
		done = 1;
	}
}


/* Map an SQLite result code to a store_err. */
static int
classify(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return STORE_ERR_CORRUPT;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_FULL:
	case SQLITE_AUTH:
		return STORE_ERR_IO;
	default:
		return STORE_ERR_SQL;
	}
}

static int
fail(struct store *st, int rc, int *err, char **cause, const char *what)
{
	int e = classify(rc);
	const char *hint = "";

	if (e == STORE_ERR_CORRUPT)
		hint = "; it is not a sitegate state file or it is damaged: restore "
		    "it from a backup or move it away to start with an empty one";
	else if (e == STORE_ERR_IO)
		hint = "; check that the directory exists and is writable";
	*err = e;
	*cause = xasprintf("state file %s: %s: %s%s", st->path, what,
	    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), hint);
	return e;
}

/* Run one SQL statement that returns one integer (PRAGMAs). */
static int
query_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

static int
migrate(struct store *st, int target, int *err, char **cause)
{
	char sql[64];
	int rc;

	while (st->version < target) {
		rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(st->db, migrations[st->version], NULL, NULL,
			    NULL);
		if (rc == SQLITE_OK) {
			snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
			    st->version + 1);
			rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			char what[64];
			snprintf(what, sizeof what, "migration to schema %d failed",
			    st->version + 1);
			fail(st, rc, err, cause, what);
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		st->version++;
		log_info("store", "migrated path=%s schema=%d", st->path,
		    st->version);
	}
	return 0;
}

struct store *
store_open_version(const char *path, int target, int *err, char **cause)
{
	struct store *st = calloc(1, sizeof *st);
	int rc, ok = 0;

	if (st == NULL || (st->path = strdup(path)) == NULL)
		abort();
	st->ob_rows = -1;
	route_sqlite_log();
	*err = STORE_OK;
	*cause = NULL;
	if (target < 0 || target > STORE_SCHEMA_VERSION)
		target = STORE_SCHEMA_VERSION;

	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		fail(st, rc, err, cause, "cannot open");
		goto bad;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 2000);

	/* The first read of the header tells whether this is a database. */
	rc = query_int(st->db, "PRAGMA user_version", &st->version);
	if (rc != SQLITE_OK) {
		fail(st, rc, err, cause, "cannot read");
		goto bad;
	}
	if (st->version > STORE_SCHEMA_VERSION) {
		*err = STORE_ERR_NEWER;
		*cause = xasprintf("state file %s: schema version %d was written by a "
		    "newer sitegate (this one knows up to %d); upgrade sitegate or "
		    "use another state file", path, st->version,
		    STORE_SCHEMA_VERSION);
		goto bad;
	}
	rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(st->db, "PRAGMA synchronous = FULL; "
		    "PRAGMA foreign_keys = ON; "
		    "PRAGMA wal_autocheckpoint = " STR(STORE_WAL_PAGES) "; "
		    "PRAGMA journal_size_limit = " STR(STORE_WAL_LIMIT),
		    NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		fail(st, rc, err, cause, "cannot set up");
		goto bad;
	}
	/* A damaged page further in would otherwise surface in the middle of
	 * a session; find it now, when the message can be clear. */
	{
		sqlite3_stmt *s;
		rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check", -1, &s, NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(s);
			if (rc == SQLITE_ROW) {
				const char *res = (const char *)sqlite3_column_text(s, 0);
				rc = res && strcmp(res, "ok") == 0 ? SQLITE_OK :
				    SQLITE_CORRUPT;
			}
			sqlite3_finalize(s);
		}
		if (rc != SQLITE_OK) {
			fail(st, rc, err, cause, "integrity check failed");
			goto bad;
		}
	}
	/* A WAL left by a crash goes into the database now, and the file
	 * shrinks: on a small volume the WAL alone must not keep it full. A
	 * failure here (a full disk) is not fatal: the gateway still serves
	 * what it can and says what it cannot store. */
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);
	if (rc != SQLITE_OK)
		log_warn("store", "checkpoint at open failed path=%s err=%s", path,
		    sqlite3_errmsg(st->db));
	if (migrate(st, target, err, cause) != 0)
		goto bad;

	for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
		if (statements[i].version > st->version)
			continue;
		rc = sqlite3_prepare_v3(st->db, statements[i].sql, -1,
		    SQLITE_PREPARE_PERSISTENT, stmt_slot(st, &statements[i]), NULL);
		if (rc != SQLITE_OK) {
			fail(st, rc, err, cause, "cannot prepare statements");
			goto bad;
		}
	}
	ok = 1;
bad:
	if (!ok) {
		store_close(st);
		return NULL;
	}
	return st;
}

struct store *
store_open(const char *path, int *err, char **cause)
{
	return store_open_version(path, STORE_SCHEMA_VERSION, err, cause);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->db != NULL)
		store_flush(st);
	for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++)
		sqlite3_finalize(*stmt_slot(st, &statements[i]));
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warn("store", "close failed path=%s err=%s", st->path,
		    sqlite3_errmsg(st->db));
	free(st->path);
	free(st);
}

int
store_version(const struct store *st)
{
	return st->version;
}

const char *
store_path(const struct store *st)
{
	return st->path;
}

static int step_write(struct store *st, sqlite3_stmt *s, const char *what);

/* Which class of failure rc is, as a bit of st->failing. */
static unsigned
failure_class(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return 1u << 0;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		return 1u << 1;
	default:
		return 1u << 2;
	}
}

/* A write or commit failed with SQLite result rc. The first failure of
 * each class is logged with its detail; the rest only counted, so that a
 * full disk costs one log line, not one per message. */
static void
report(struct store *st, int rc, const char *what)
{
	unsigned cls = failure_class(rc);

	st->failed++;
	if (st->failing & cls) {
		log_debug("store", "write failed path=%s what=%s err=%s", st->path,
		    what, sqlite3_errstr(rc));
		return;
	}
	st->failing |= cls;
	log_error("store", "write failed path=%s what=%s err=%s%s (further "
	    "failures of this kind are not logged until a write succeeds)",
	    st->path, what, sqlite3_errmsg(st->db),
	    (rc & 0xff) == SQLITE_FULL ? ": the disk is full" : "");
}

/* A commit succeeded: the state file takes writes again. */
static void
recovered(struct store *st)
{
	if (st->failing == 0)
		return;
	log_info("store", "state file writable again path=%s failed_writes=%lld",
	    st->path, (long long)st->failed);
	st->failing = 0;
	st->failed = 0;
}

/* SQLite may roll a transaction back by itself after an I/O error or a
 * full disk; only issue a ROLLBACK when one is still open, so that the
 * log never says "cannot rollback - no transaction is active". */
static void
rollback_all(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->batch_open = 0;
	st->ob_rows = -1;
}

int
store_flush(struct store *st)
{
	int rc;

	if (st->unit)
		return STORE_OK;	/* store_commit() will */
	if (!st->batch_open)
		return STORE_OK;
	st->batch_open = 0;
	if (sqlite3_get_autocommit(st->db)) {
		/* SQLite already rolled the batch back after a failed write. */
		st->ob_rows = -1;
		return STORE_ERR_IO;
	}
	rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		report(st, rc, "commit");
		rollback_all(st);
		return classify(rc);
	}
	recovered(st);
	return STORE_OK;
}

/* Join (or open) the batch for a write that may wait for store_flush(). */
static int
batch(struct store *st)
{
	int rc;

	if (st->batch_open && !sqlite3_get_autocommit(st->db))
		return STORE_OK;
	rc = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		report(st, rc, "begin");
		return classify(rc);
	}
	st->batch_open = 1;
	return STORE_OK;
}

/* Before a write that must be on disk when it returns: commit what is
 * batched first, keeping the order of events on disk. Inside a unit the
 * write joins the unit and is on disk when store_commit() returns. */
static int
durable(struct store *st)
{
	if (st->unit) {
		/* SQLite rolled the unit back after an earlier failure: every
		 * later write of the unit must fail too, not autocommit. */
		return sqlite3_get_autocommit(st->db) ? STORE_ERR_IO : STORE_OK;
	}
	return store_flush(st);
}

int
store_begin(struct store *st)
{
	int rc;

	if (st->unit)
		return STORE_ERR_SQL;	/* units do not nest */
	if ((rc = batch(st)) != STORE_OK)
		return rc;
	rc = sqlite3_exec(st->db, "SAVEPOINT unit", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		report(st, rc, "begin");
		return classify(rc);
	}
	st->unit = 1;
	return STORE_OK;
}

int
store_commit(struct store *st)
{
	int rc;

	if (!st->unit)
		return STORE_ERR_SQL;
	st->unit = 0;
	if (sqlite3_get_autocommit(st->db)) {
		/* A write of the unit failed and SQLite rolled it all back. */
		rollback_all(st);
		return STORE_ERR_IO;
	}
	rc = sqlite3_exec(st->db, "RELEASE unit", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		report(st, rc, "commit");
		rollback_all(st);
		return classify(rc);
	}
	return store_flush(st);
}

void
store_rollback(struct store *st)
{
	if (!st->unit)
		return;
	st->unit = 0;
	st->ob_rows = -1;
	/* Undo the unit only; what was batched before it stays batched
	 * (unless SQLite already rolled everything back itself). */
	if (sqlite3_get_autocommit(st->db) || sqlite3_exec(st->db,
	    "ROLLBACK TO unit; RELEASE unit", NULL, NULL, NULL) != SQLITE_OK)
		rollback_all(st);
}

int
store_checkpoint(struct store *st)
{
	int rc = store_flush(st);

	if (rc != STORE_OK || st->unit)
		return rc;
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY) {
		report(st, rc, "checkpoint");
		return classify(rc);
	}
	return STORE_OK;
}

int
store_meta_get(struct store *st, const char *key, char *buf, size_t len)
{
	int rc, ret;

	if (len > 0)
		buf[0] = '\0';
	sqlite3_bind_text(st->meta_get, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st->meta_get);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st->meta_get, 0);
		snprintf(buf, len, "%s", v ? v : "");
		ret = STORE_OK;
	} else if (rc == SQLITE_DONE) {
		ret = STORE_ERR_NOTFOUND;
	} else {
		ret = classify(rc);
	}
	sqlite3_reset(st->meta_get);
	sqlite3_clear_bindings(st->meta_get);
	return ret;
}

int
store_meta_set(struct store *st, const char *key, const char *value)
{
	int rc = durable(st);

	if (rc != STORE_OK)
		return rc;
	sqlite3_bind_text(st->meta_set, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->meta_set, 2, value, -1, SQLITE_STATIC);
	return step_write(st, st->meta_set, key);
}

int
store_count_start(struct store *st, int64_t *count)
{
	char buf[32];
	int64_t n = 0;
	int rc;

	rc = store_meta_get(st, "start_count", buf, sizeof buf);
	if (rc == STORE_OK) {
		if (num_parse_i64(buf, 0, INT64_MAX - 1, &n) != 0)
			n = 0;
	} else if (rc != STORE_ERR_NOTFOUND) {
		return rc;
	}
	n++;
	snprintf(buf, sizeof buf, "%lld", (long long)n);
	rc = store_meta_set(st, "start_count", buf);
	if (rc == STORE_OK)
		*count = n;
	return rc;
}

/* ------------------------------------------------------------------ rows */


/* Bind a text that may be NULL. */
static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Step a write statement to completion and reset it. */
static int
step_write(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE) {
		report(st, rc, what);
		return classify(rc);
	}
	if (!st->unit && sqlite3_get_autocommit(st->db))
		recovered(st);	/* committed on its own */
	return STORE_OK;
}

/* A savepoint around statements that belong together: release()
 * commits them (or joins them to the transaction around), or undoes them
 * when rc says a statement failed. */
static int
savepoint(struct store *st, const char *name)
{
	char sql[64];

	snprintf(sql, sizeof sql, "SAVEPOINT %s", name);
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ?
	    STORE_OK : STORE_ERR_SQL;
}

static int
release(struct store *st, const char *name, int rc)
{
	char sql[96];

	if (rc == STORE_OK) {
		int src;

		snprintf(sql, sizeof sql, "RELEASE %s", name);
		if ((src = sqlite3_exec(st->db, sql, NULL, NULL, NULL)) ==
		    SQLITE_OK) {
			if (!st->unit && sqlite3_get_autocommit(st->db))
				recovered(st);
			return STORE_OK;
		}
		report(st, src, name);
		rc = classify(src);
	}
	/* After a full disk SQLite may have rolled everything back itself. */
	if (!sqlite3_get_autocommit(st->db)) {
		snprintf(sql, sizeof sql, "ROLLBACK TO %s; RELEASE %s", name,
		    name);
		sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	}
	return rc;
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

int
store_charger_put(struct store *st, const struct store_charger_row *r)
{
	sqlite3_stmt *s = st->charger_put;
	int rc = durable(st);

	if (rc != STORE_OK)
		return rc;
	bind_text(s, 1, r->id);
	sqlite3_bind_int(s, 2, r->ocpp_version);
	sqlite3_bind_int(s, 3, r->boot);
	sqlite3_bind_int(s, 4, r->approved);
	bind_text(s, 5, r->vendor);
	bind_text(s, 6, r->model);
	bind_text(s, 7, r->serial);
	bind_text(s, 8, r->firmware);
	sqlite3_bind_int64(s, 9, r->last_seen_ms);
	bind_text(s, 10, r->caps_json);
	return step_write(st, s, "charger");
}

int
store_chargers_load(struct store *st, store_charger_cb *cb, void *arg)
{
	sqlite3_stmt *s = st->chargers_load;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_charger_row r = {
			.id = col_text(s, 0),
			.ocpp_version = sqlite3_column_int(s, 1),
			.boot = sqlite3_column_int(s, 2),
			.approved = sqlite3_column_int(s, 3),
			.vendor = col_text(s, 4),
			.model = col_text(s, 5),
			.serial = col_text(s, 6),
			.firmware = col_text(s, 7),
			.last_seen_ms = sqlite3_column_int64(s, 8),
			.caps_json = col_text(s, 9),
		};
		cb(&r, arg);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? STORE_OK : classify(rc);
}

int
store_session_insert(struct store *st, struct store_session_row *r,
    char *txbuf, size_t txlen)
{
	sqlite3_stmt *s = st->session_insert;
	int rc = durable(st);

	if (rc != STORE_OK)
		return rc;
	if ((rc = savepoint(st, "session_insert")) != STORE_OK)
		return rc;
	bind_text(s, 1, r->charger_id);
	sqlite3_bind_int(s, 2, r->evse);
	sqlite3_bind_int(s, 3, r->connector);
	bind_text(s, 4, r->charger_tx_id);
	bind_text(s, 5, r->id_token);
	sqlite3_bind_int64(s, 6, r->start_ms);
	sqlite3_bind_double(s, 7, r->meter_start_wh);
	sqlite3_bind_int(s, 8, r->offline);
	rc = step_write(st, s, "session");
	if (rc == STORE_OK) {
		r->id = sqlite3_last_insert_rowid(st->db);
		if (r->charger_tx_id == NULL) {
			snprintf(txbuf, txlen, "%lld", (long long)r->id);
			sqlite3_bind_int64(st->session_set_tx, 1, r->id);
			sqlite3_bind_text(st->session_set_tx, 2, txbuf, -1,
			    SQLITE_STATIC);
			rc = step_write(st, st->session_set_tx, "session tx id");
		} else {
			snprintf(txbuf, txlen, "%s", r->charger_tx_id);
		}
	}
	/* One durable commit for both statements (or part of the unit). */
	if ((rc = release(st, "session_insert", rc)) != STORE_OK)
		r->id = 0;
	return rc;
}

int
store_session_update(struct store *st, const struct store_session_row *r)
{
	sqlite3_stmt *s = st->session_update;
	int rc = durable(st);

	if (rc != STORE_OK)
		return rc;
	sqlite3_bind_int64(s, 1, r->id);
	bind_text(s, 2, r->id_token);
	sqlite3_bind_int64(s, 3, r->stop_ms);
	sqlite3_bind_double(s, 4, r->meter_stop_wh);
	bind_text(s, 5, r->stop_reason);
	sqlite3_bind_int(s, 6, r->last_seq_no);
	sqlite3_bind_int(s, 7, r->open);
	return step_write(st, s, "session update");
}

/* The session row s stands on (the columns of sessions_open). */
static struct store_session_row
session_of(sqlite3_stmt *s)
{
	struct store_session_row r = {
		.id = sqlite3_column_int64(s, 0),
		.charger_id = col_text(s, 1),
		.evse = sqlite3_column_int(s, 2),
		.connector = sqlite3_column_int(s, 3),
		.charger_tx_id = col_text(s, 4),
		.id_token = col_text(s, 5),
		.start_ms = sqlite3_column_int64(s, 6),
		.stop_ms = sqlite3_column_int64(s, 7),
		.meter_start_wh = sqlite3_column_double(s, 8),
		.meter_stop_wh = sqlite3_column_double(s, 9),
		.stop_reason = col_text(s, 10),
		.last_seq_no = sqlite3_column_int(s, 11),
		.offline = sqlite3_column_int(s, 12),
		.open = sqlite3_column_int(s, 13),
	};
	return r;
}

int
store_sessions_load_open(struct store *st, store_session_cb *cb, void *arg)
{
	sqlite3_stmt *s = st->sessions_open;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_session_row r = session_of(s);

		cb(&r, arg);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? STORE_OK : classify(rc);
}

int
store_sessions_list(struct store *st, int64_t limit, store_session_cb *cb,
    void *arg)
{
	sqlite3_stmt *s = st->sessions_list;
	int rc;

	/* A negative LIMIT is none in SQLite. */
	sqlite3_bind_int64(s, 1, limit < 0 ? -1 : limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_session_row r = session_of(s);

		cb(&r, arg);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? STORE_OK : classify(rc);
}

int
store_charger_delete(struct store *st, const char *id)
{
	int rc = durable(st);

	if (rc != STORE_OK)
		return rc;
	if ((rc = savepoint(st, "charger_delete")) != STORE_OK)
		return rc;
	bind_text(st->charger_del, 1, id);
	rc = step_write(st, st->charger_del, "charger delete");
	if (rc == STORE_OK && sqlite3_changes(st->db) == 0)
		rc = STORE_ERR_NOTFOUND;
	if (rc == STORE_OK) {
		bind_text(st->charger_del_readings, 1, id);
		rc = step_write(st, st->charger_del_readings, "charger readings");
	}
	if (rc == STORE_OK) {
		bind_text(st->charger_del_numbers, 1, id);
		rc = step_write(st, st->charger_del_numbers, "charger numbers");
	}
	/* One durable commit for the three (or part of the unit). */
	return release(st, "charger_delete", rc);
}

int
store_reading_put(struct store *st, const struct store_reading_row *r)
{
	sqlite3_stmt *s = st->reading_put;
	int rc = batch(st);

	if (rc != STORE_OK)
		return rc;
	bind_text(s, 1, r->charger_id);
	sqlite3_bind_int(s, 2, r->evse);
	sqlite3_bind_int64(s, 3, r->ts_ms);
	sqlite3_bind_int(s, 4, (int)r->have);
	for (int i = 0; i < 3; i++)
		sqlite3_bind_double(s, 5 + i, r->current_a[i]);
	sqlite3_bind_double(s, 8, r->offered_a);
	sqlite3_bind_double(s, 9, r->power_w);
	sqlite3_bind_double(s, 10, r->energy_wh);
	for (int i = 0; i < 3; i++)
		sqlite3_bind_double(s, 11 + i, r->voltage_v[i]);
	sqlite3_bind_double(s, 14, r->soc_pct);
	return step_write(st, s, "reading");
}

int
store_readings_load(struct store *st, store_reading_cb *cb, void *arg)
{
	sqlite3_stmt *s = st->readings_load;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_reading_row r = {
			.charger_id = col_text(s, 0),
			.evse = sqlite3_column_int(s, 1),
			.ts_ms = sqlite3_column_int64(s, 2),
			.have = (unsigned)sqlite3_column_int(s, 3),
			.offered_a = sqlite3_column_double(s, 7),
			.power_w = sqlite3_column_double(s, 8),
			.energy_wh = sqlite3_column_double(s, 9),
			.soc_pct = sqlite3_column_double(s, 13),
		};
		for (int i = 0; i < 3; i++) {
			r.current_a[i] = sqlite3_column_double(s, 4 + i);
			r.voltage_v[i] = sqlite3_column_double(s, 10 + i);
		}
		cb(&r, arg);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? STORE_OK : classify(rc);
}

int
store_sample_add(struct store *st, const struct store_reading_row *r,
    int64_t session_id)
{
	sqlite3_stmt *s = st->sample_add;
	int rc = batch(st);

	if (rc != STORE_OK)
		return rc;
	bind_text(s, 1, r->charger_id);
	sqlite3_bind_int(s, 2, r->evse);
	sqlite3_bind_int64(s, 3, r->ts_ms);
	sqlite3_bind_int64(s, 4, session_id);
	sqlite3_bind_int(s, 5, (int)r->have);
	for (int i = 0; i < 3; i++)
		sqlite3_bind_double(s, 6 + i, r->current_a[i]);
	sqlite3_bind_double(s, 9, r->power_w);
	sqlite3_bind_double(s, 10, r->energy_wh);
	sqlite3_bind_double(s, 11, r->soc_pct);
	return step_write(st, s, "sample");
}

int
store_samples_prune(struct store *st, int64_t before_ms, int64_t *deleted)
{
	int rc = durable(st);

	if (rc != STORE_OK)
		return rc;
	sqlite3_bind_int64(st->samples_prune, 1, before_ms);
	rc = step_write(st, st->samples_prune, "prune");
	*deleted = rc == STORE_OK ? sqlite3_changes(st->db) : 0;
	return rc;
}

int
store_samples_count(struct store *st, const char *charger_id, int evse,
    int64_t since_ms, int64_t *count)
{
	sqlite3_stmt *s = st->samples_count;
	int rc;

	bind_text(s, 1, charger_id);
	sqlite3_bind_int(s, 2, evse);
	sqlite3_bind_int64(s, 3, since_ms);
	rc = sqlite3_step(s);
	*count = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_ROW ? STORE_OK : classify(rc);
}

int
store_evse_map_put(struct store *st, const char *charger_id, int evse,
    int number)
{
	sqlite3_stmt *s = st->evse_map_put;
	int rc = durable(st);

	if (rc != STORE_OK)
		return rc;
	bind_text(s, 1, charger_id);
	sqlite3_bind_int(s, 2, evse);
	sqlite3_bind_int(s, 3, number);
	return step_write(st, s, "evse number");
}

int
store_evse_map_load(struct store *st, store_evse_map_cb *cb, void *arg)
{
	sqlite3_stmt *s = st->evse_map_load;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cb(col_text(s, 0), sqlite3_column_int(s, 1),
		    sqlite3_column_int(s, 2), arg);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? STORE_OK : classify(rc);
}

/* ------------------------------------------------------------ outbox */

/* The outbox's row count, counted once and then kept up to date (a
 * count(*) per insert would make a deep outbox quadratic). */
static int
ob_count(struct store *st, int64_t *count)
{
	sqlite3_stmt *s = st->ob_stats;
	int rc;

	if (st->ob_rows >= 0) {
		*count = st->ob_rows;
		return STORE_OK;
	}
	rc = sqlite3_step(s);
	*count = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return classify(rc);
	st->ob_rows = *count;
	return STORE_OK;
}

int
store_outbox_add(struct store *st, struct store_outbox_row *r,
    int64_t max_rows, int64_t keep_seq, int *dropped)
{
	sqlite3_stmt *s;
	int64_t count = 0;
	int rc = durable(st);

	*dropped = 0;
	if (rc != STORE_OK)
		return rc;
	if ((rc = savepoint(st, "outbox_add")) != STORE_OK)
		return rc;
	r->tx_seq = -1;
	rc = ob_count(st, &count);
	if (rc == STORE_OK && max_rows > 0 && count >= max_rows) {
		sqlite3_bind_int(st->ob_drop_meter, 1, STORE_OB_METER);
		sqlite3_bind_int64(st->ob_drop_meter, 2, keep_seq);
		rc = step_write(st, st->ob_drop_meter, "outbox drop");
		if (rc == STORE_OK && sqlite3_changes(st->db) == 0 &&
		    r->kind == STORE_OB_METER) {
			*dropped = 1;
			return release(st, "outbox_add", STORE_OK);
		}
		if (rc == STORE_OK && sqlite3_changes(st->db) > 0) {
			*dropped = 1;
			count--;
		}
	}
	if (rc == STORE_OK && r->session_id != 0) {
		sqlite3_bind_int64(st->utx_seq, 1, r->session_id);
		rc = step_write(st, st->utx_seq, "uplink seq");
		if (rc == STORE_OK) {
			s = st->utx_seq_get;
			sqlite3_bind_int64(s, 1, r->session_id);
			if (sqlite3_step(s) == SQLITE_ROW)
				r->tx_seq = sqlite3_column_int(s, 0);
			else
				rc = STORE_ERR_SQL;
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
		}
	}
	if (rc == STORE_OK && r->session_id != 0 && r->reading_ms > 0) {
		sqlite3_bind_int64(st->utx_meter_set, 1, r->session_id);
		sqlite3_bind_int64(st->utx_meter_set, 2, r->reading_ms);
		rc = step_write(st, st->utx_meter_set, "uplink meter time");
	}
	if (rc == STORE_OK) {
		s = st->ob_insert;
		sqlite3_bind_int(s, 1, r->kind);
		sqlite3_bind_int64(s, 2, r->session_id);
		sqlite3_bind_int(s, 3, r->version);
		bind_text(s, 4, r->action);
		bind_text(s, 5, r->payload);
		sqlite3_bind_int64(s, 6, r->created_ms);
		sqlite3_bind_int(s, 7, r->tx_seq);
		rc = step_write(st, s, "outbox");
		if (rc == STORE_OK)
			r->seq = sqlite3_last_insert_rowid(st->db);
	}
	rc = release(st, "outbox_add", rc);
	st->ob_rows = rc == STORE_OK ? count + 1 : -1;
	return rc;
}

int
store_outbox_next(struct store *st, int64_t after_seq,
    struct store_outbox_row *r)
{
	sqlite3_stmt *s = st->ob_head;
	int rc, ret;

	memset(r, 0, sizeof *r);
	sqlite3_bind_int64(s, 1, after_seq);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *a = col_text(s, 4), *p = col_text(s, 5);

		r->seq = sqlite3_column_int64(s, 0);
		r->kind = sqlite3_column_int(s, 1);
		r->session_id = sqlite3_column_int64(s, 2);
		r->version = sqlite3_column_int(s, 3);
		snprintf(r->action, sizeof r->action, "%s", a ? a : "");
		r->payload = xstrdup(p ? p : "{}");
		r->created_ms = sqlite3_column_int64(s, 6);
		r->tx_seq = sqlite3_column_int(s, 7);
		r->attempts = sqlite3_column_int(s, 8);
		ret = STORE_OK;
	} else {
		ret = rc == SQLITE_DONE ? STORE_ERR_NOTFOUND : classify(rc);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int
store_outbox_ack(struct store *st, int64_t seq, int64_t session_id,
    const char *up_tx_id)
{
	int rc = durable(st), deleted = 0;

	if (rc != STORE_OK)
		return rc;
	if ((rc = savepoint(st, "outbox_ack")) != STORE_OK)
		return rc;
	sqlite3_bind_int64(st->ob_delete, 1, seq);
	rc = step_write(st, st->ob_delete, "outbox ack");
	deleted = rc == STORE_OK ? sqlite3_changes(st->db) : 0;
	if (rc == STORE_OK && up_tx_id != NULL) {
		sqlite3_bind_int64(st->utx_set, 1, session_id);
		bind_text(st->utx_set, 2, up_tx_id);
		rc = step_write(st, st->utx_set, "uplink tx id");
	}
	rc = release(st, "outbox_ack", rc);
	if (rc != STORE_OK)
		st->ob_rows = -1;
	else if (st->ob_rows > 0)
		st->ob_rows -= deleted;
	return rc;
}

int
store_outbox_attempts(struct store *st, int64_t seq, int attempts)
{
	int rc = durable(st);

	if (rc != STORE_OK)
		return rc;
	sqlite3_bind_int64(st->ob_attempt, 1, seq);
	sqlite3_bind_int(st->ob_attempt, 2, attempts);
	return step_write(st, st->ob_attempt, "outbox attempts");
}

int
store_outbox_stats(struct store *st, int64_t *count, int64_t *oldest_ms)
{
	sqlite3_stmt *s = st->ob_oldest;
	int rc = ob_count(st, count);

	*oldest_ms = 0;
	if (rc != STORE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*oldest_ms = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : classify(rc);
}

/* One-text-column lookup by an int64 or a text key. */
static int
lookup_text(sqlite3_stmt *s, char *buf, size_t len)
{
	int rc = sqlite3_step(s), ret;

	if (len > 0)
		buf[0] = '\0';
	if (rc == SQLITE_ROW) {
		const char *v = col_text(s, 0);
		snprintf(buf, len, "%s", v ? v : "");
		ret = STORE_OK;
	} else {
		ret = rc == SQLITE_DONE ? STORE_ERR_NOTFOUND : classify(rc);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int
store_uplink_tx_get(struct store *st, int64_t session_id, char *buf,
    size_t len)
{
	sqlite3_bind_int64(st->utx_get, 1, session_id);
	return lookup_text(st->utx_get, buf, len);
}

int
store_uplink_meter_get(struct store *st, int64_t session_id, int64_t *ms)
{
	sqlite3_stmt *s = st->utx_meter_get;
	int rc;

	*ms = 0;
	sqlite3_bind_int64(s, 1, session_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*ms = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : classify(rc);
}

int
store_uplink_tx_find(struct store *st, const char *up_tx_id,
    int64_t *session_id)
{
	char buf[32];
	int rc;

	bind_text(st->utx_find, 1, up_tx_id);
	rc = lookup_text(st->utx_find, buf, sizeof buf);
	*session_id = 0;
	if (rc == STORE_OK && num_parse_i64(buf, 1, INT64_MAX, session_id) != 0)
		rc = STORE_ERR_NOTFOUND;	/* not a row of ours */
	return rc;
}

static int
token_put(struct store *st, sqlite3_stmt *s, const char *token, int status,
    int64_t expiry_ms, int64_t now_ms, bool with_now)
{
	int rc = durable(st);

	if (rc != STORE_OK)
		return rc;
	bind_text(s, 1, token);
	sqlite3_bind_int(s, 2, status);
	sqlite3_bind_int64(s, 3, expiry_ms);
	if (with_now)
		sqlite3_bind_int64(s, 4, now_ms);
	return step_write(st, s, "token");
}

static int
token_get(sqlite3_stmt *s, const char *token, int *status, int64_t *expiry_ms)
{
	int rc, ret;

	bind_text(s, 1, token);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*status = sqlite3_column_int(s, 0);
		*expiry_ms = sqlite3_column_int64(s, 1);
		ret = STORE_OK;
	} else {
		ret = rc == SQLITE_DONE ? STORE_ERR_NOTFOUND : classify(rc);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

static int
exec_write(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = durable(st);

	return rc != STORE_OK ? rc : step_write(st, s, what);
}

int
store_auth_cache_put(struct store *st, const char *token, int status,
    int64_t expiry_ms, int64_t now_ms)
{
	return token_put(st, st->ac_put, token, status, expiry_ms, now_ms, true);
}

int
store_auth_cache_get(struct store *st, const char *token, int *status,
    int64_t *expiry_ms)
{
	return token_get(st->ac_get, token, status, expiry_ms);
}

int
store_auth_cache_clear(struct store *st)
{
	return exec_write(st, st->ac_clear, "auth cache clear");
}

int
store_local_list_put(struct store *st, const char *token, int status,
    int64_t expiry_ms)
{
	if (status < 0) {
		int rc = durable(st);
		if (rc != STORE_OK)
			return rc;
		bind_text(st->ll_del, 1, token);
		return step_write(st, st->ll_del, "local list delete");
	}
	return token_put(st, st->ll_put, token, status, expiry_ms, 0, false);
}

int
store_local_list_clear(struct store *st)
{
	return exec_write(st, st->ll_clear, "local list clear");
}

int
store_local_list_get(struct store *st, const char *token, int *status,
    int64_t *expiry_ms)
{
	return token_get(st->ll_get, token, status, expiry_ms);
}
