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
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static const char *const migrations[] = {
	/* 0 -> 1: the key/value table for small facts about this gateway. */
	"CREATE TABLE meta ("
	"  key   TEXT PRIMARY KEY NOT NULL,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
    "one migration per schema version");

struct store {
	sqlite3 *db;
	char *path;
	int version;
	sqlite3_stmt *meta_get;
	sqlite3_stmt *meta_set;
};

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

static char *
fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
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
	*cause = fmt("state file %s: %s: %s%s", st->path, what,
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
		*cause = fmt("state file %s: schema version %d was written by a "
		    "newer sitegate (this one knows up to %d); upgrade sitegate or "
		    "use another state file", path, st->version,
		    STORE_SCHEMA_VERSION);
		goto bad;
	}
	rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(st->db, "PRAGMA synchronous = FULL; "
		    "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
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
	if (migrate(st, target, err, cause) != 0)
		goto bad;

	if (st->version >= 1) {
		rc = sqlite3_prepare_v3(st->db, "SELECT value FROM meta WHERE key = ?1",
		    -1, SQLITE_PREPARE_PERSISTENT, &st->meta_get, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_prepare_v3(st->db, "INSERT INTO meta(key, value) "
			    "VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
			    "excluded.value", -1, SQLITE_PREPARE_PERSISTENT,
			    &st->meta_set, NULL);
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
	sqlite3_finalize(st->meta_get);
	sqlite3_finalize(st->meta_set);
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
	int rc;

	sqlite3_bind_text(st->meta_set, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->meta_set, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st->meta_set);
	sqlite3_reset(st->meta_set);
	sqlite3_clear_bindings(st->meta_set);
	if (rc != SQLITE_DONE) {
		log_error("store", "write failed path=%s key=%s err=%s", st->path,
		    key, sqlite3_errmsg(st->db));
		return classify(rc);
	}
	return STORE_OK;
}

int
store_count_start(struct store *st, int64_t *count)
{
	char buf[32], *end;
	long long n = 0;
	int rc;

	rc = store_meta_get(st, "start_count", buf, sizeof buf);
	if (rc == STORE_OK) {
		errno = 0;
		n = strtoll(buf, &end, 10);
		if (errno || end == buf || *end != '\0' || n < 0)
			n = 0;
	} else if (rc != STORE_ERR_NOTFOUND) {
		return rc;
	}
	n++;
	snprintf(buf, sizeof buf, "%lld", n);
	rc = store_meta_set(st, "start_count", buf);
	if (rc == STORE_OK)
		*count = n;
	return rc;
}
