/*
 * Unit tests for site/store: migrations from an empty file and from every
 * earlier schema version, persistence across reopen, and the files that
 * must be refused (corrupt, truncated, newer, unreadable).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "site/store.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/sg-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static int
user_version(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s,
	    NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void
test_fresh_file(void **state)
{
	struct fixture *f = *state;
	int err;
	char *cause;
	struct store *st = store_open(f->path, &err, &cause);
	char buf[16];

	assert_non_null(st);
	assert_int_equal(err, STORE_OK);
	assert_null(cause);
	assert_int_equal(store_version(st), STORE_SCHEMA_VERSION);
	assert_string_equal(store_path(st), f->path);
	assert_int_equal(store_meta_get(st, "nothing", buf, sizeof buf),
	    STORE_ERR_NOTFOUND);
	assert_string_equal(buf, "");
	store_close(st);
	assert_int_equal(user_version(f->path), STORE_SCHEMA_VERSION);
	store_close(NULL);
}

static void
test_persists_across_reopen(void **state)
{
	struct fixture *f = *state;
	int err;
	char *cause, buf[32];
	int64_t n = 0;
	struct store *st = store_open(f->path, &err, &cause);

	assert_non_null(st);
	assert_int_equal(store_meta_set(st, "greeting", "hello"), STORE_OK);
	assert_int_equal(store_meta_set(st, "greeting", "hello again"), STORE_OK);
	assert_int_equal(store_count_start(st, &n), STORE_OK);
	assert_int_equal(n, 1);
	store_close(st);

	st = store_open(f->path, &err, &cause);
	assert_non_null(st);
	assert_int_equal(store_meta_get(st, "greeting", buf, sizeof buf), STORE_OK);
	assert_string_equal(buf, "hello again");
	assert_int_equal(store_count_start(st, &n), STORE_OK);
	assert_int_equal(n, 2);
	/* A short buffer gets a terminated prefix. */
	assert_int_equal(store_meta_get(st, "greeting", buf, 4), STORE_OK);
	assert_string_equal(buf, "hel");
	store_close(st);
}

/* What store_sessions_list() handed out. */
struct listed {
	int n;
	int64_t id[8];
	int open[8];
	int64_t stop_ms[8];
	double meter_stop_wh[8];
	char token[8][40], reason[8][40], charger[8][40];
};

static void
on_listed(const struct store_session_row *r, void *arg)
{
	struct listed *l = arg;

	if (l->n < 8) {
		l->id[l->n] = r->id;
		l->open[l->n] = r->open;
		l->stop_ms[l->n] = r->stop_ms;
		l->meter_stop_wh[l->n] = r->meter_stop_wh;
		snprintf(l->token[l->n], sizeof l->token[0], "%s",
		    r->id_token ? r->id_token : "(null)");
		snprintf(l->reason[l->n], sizeof l->reason[0], "%s",
		    r->stop_reason ? r->stop_reason : "(null)");
		snprintf(l->charger[l->n], sizeof l->charger[0], "%s",
		    r->charger_id);
	}
	l->n++;
}

static void
test_sessions_list(void **state)
{
	struct fixture *f = *state;
	int err;
	char *cause, tx[40];
	struct store *st = store_open(f->path, &err, &cause);
	struct store_session_row r;
	struct listed l = { 0 };
	int64_t ids[3];

	assert_non_null(st);
	assert_int_equal(store_sessions_list(st, -1, on_listed, &l), STORE_OK);
	assert_int_equal(l.n, 0);
	for (int i = 0; i < 3; i++) {
		memset(&r, 0, sizeof r);
		r.charger_id = i == 1 ? "CP-02" : "CP-01";
		r.evse = 1;
		r.connector = 1;
		r.id_token = i == 0 ? "TOKEN-A" : NULL;
		r.start_ms = 1000 * (i + 1);
		r.meter_start_wh = 10 * i;
		r.open = 1;
		assert_int_equal(store_session_insert(st, &r, tx, sizeof tx),
		    STORE_OK);
		ids[i] = r.id;
	}
	/* The first two end; the third stays open. */
	for (int i = 0; i < 2; i++) {
		memset(&r, 0, sizeof r);
		r.id = ids[i];
		r.id_token = i == 0 ? "TOKEN-A" : NULL;
		r.stop_ms = 5000 + i;
		r.meter_stop_wh = i == 0 ? 1500 : -1;
		r.stop_reason = "EVDisconnected";
		r.last_seq_no = -1;
		r.open = 0;
		assert_int_equal(store_session_update(st, &r), STORE_OK);
	}
	store_close(st);

	st = store_open(f->path, &err, &cause);
	assert_non_null(st);
	assert_int_equal(store_sessions_list(st, -1, on_listed, &l), STORE_OK);
	assert_int_equal(l.n, 3);
	/* Newest first, open and ended alike. */
	assert_true(l.id[0] == ids[2] && l.id[1] == ids[1] && l.id[2] == ids[0]);
	assert_int_equal(l.open[0], 1);
	assert_int_equal(l.stop_ms[0], 0);
	assert_true(l.meter_stop_wh[0] < 0);
	assert_string_equal(l.charger[1], "CP-02");
	assert_int_equal(l.open[1], 0);
	assert_int_equal(l.stop_ms[1], 5001);
	assert_true(l.meter_stop_wh[1] < 0);
	assert_int_equal(l.open[2], 0);
	assert_string_equal(l.token[2], "TOKEN-A");
	assert_string_equal(l.reason[2], "EVDisconnected");
	assert_true(l.meter_stop_wh[2] == 1500);
	/* The limit keeps the newest. */
	memset(&l, 0, sizeof l);
	assert_int_equal(store_sessions_list(st, 2, on_listed, &l), STORE_OK);
	assert_int_equal(l.n, 2);
	assert_true(l.id[0] == ids[2] && l.id[1] == ids[1]);
	memset(&l, 0, sizeof l);
	assert_int_equal(store_sessions_list(st, 0, on_listed, &l), STORE_OK);
	assert_int_equal(l.n, 0);
	store_close(st);
}

static void
count_charger(const struct store_charger_row *r, void *arg)
{
	if (strcmp(r->id, "CP-GONE") == 0)
		++*(int *)arg;
}

static void
count_number(const char *charger_id, int evse, int number, void *arg)
{
	(void)evse;
	(void)number;
	if (strcmp(charger_id, "CP-GONE") == 0)
		++*(int *)arg;
}

static void
test_charger_delete(void **state)
{
	struct fixture *f = *state;
	int err, n = 0;
	char *cause;
	struct store *st = store_open(f->path, &err, &cause);
	struct store_charger_row c = { .id = "CP-GONE", .vendor = "V" };
	struct store_charger_row k = { .id = "CP-KEPT" };

	assert_non_null(st);
	assert_int_equal(store_charger_put(st, &c), STORE_OK);
	assert_int_equal(store_charger_put(st, &k), STORE_OK);
	assert_int_equal(store_evse_map_put(st, "CP-GONE", 1, 7), STORE_OK);
	assert_int_equal(store_charger_delete(st, "CP-GONE"), STORE_OK);
	assert_int_equal(store_charger_delete(st, "CP-GONE"), STORE_ERR_NOTFOUND);
	store_close(st);

	st = store_open(f->path, &err, &cause);
	assert_non_null(st);
	assert_int_equal(store_chargers_load(st, count_charger, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_evse_map_load(st, count_number, &n), STORE_OK);
	assert_int_equal(n, 0);
	store_close(st);
}

/* From every earlier version (0 = an empty file) to the current one. */
static void
test_migrates_from_each_version(void **state)
{
	struct fixture *f = *state;

	for (int from = 0; from < STORE_SCHEMA_VERSION; from++) {
		int err;
		char *cause;
		struct store *st;

		unlink(f->path);
		st = store_open_version(f->path, from, &err, &cause);
		assert_non_null(st);
		assert_int_equal(store_version(st), from);
		if (from >= 1)	/* the meta table exists from version 1 on */
			assert_int_equal(store_meta_set(st, "old", "kept"), STORE_OK);
		store_close(st);
		assert_int_equal(user_version(f->path), from);

		st = store_open(f->path, &err, &cause);
		assert_non_null(st);
		assert_int_equal(store_version(st), STORE_SCHEMA_VERSION);
		assert_int_equal(store_meta_set(st, "k", "v"), STORE_OK);
		if (from >= 1) {
			char buf[16];
			assert_int_equal(store_meta_get(st, "old", buf, sizeof buf),
			    STORE_OK);
			assert_string_equal(buf, "kept");
		}
		store_close(st);
		assert_int_equal(user_version(f->path), STORE_SCHEMA_VERSION);
	}
}

static void
test_newer_version_refused(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	int err;
	char *cause;
	struct store *st;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE future(x); "
	    "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	st = store_open(f->path, &err, &cause);
	assert_null(st);
	assert_int_equal(err, STORE_ERR_NEWER);
	assert_non_null(strstr(cause, "schema version 99"));
	assert_non_null(strstr(cause, "newer sitegate"));
	free(cause);
	/* Refusing must not touch the file. */
	assert_int_equal(user_version(f->path), 99);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
test_garbage_refused(void **state)
{
	struct fixture *f = *state;
	char junk[8192];
	int err;
	char *cause;
	struct store *st;

	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 7 + 3);
	write_file(f->path, junk, sizeof junk);
	st = store_open(f->path, &err, &cause);
	assert_null(st);
	assert_int_equal(err, STORE_ERR_CORRUPT);
	assert_non_null(strstr(cause, f->path));
	assert_non_null(strstr(cause, "damaged"));
	free(cause);
}

/* A real database cut in half: header fine, pages missing. */
static void
test_truncated_refused(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	struct stat sb;
	int err;
	char *cause;
	struct store *st;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x); "
	    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
	    "WHERE i < 5000) INSERT INTO t SELECT hex(randomblob(64)) FROM c; "
	    "CREATE INDEX ti ON t(x);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(truncate(f->path, sb.st_size / 2), 0);

	st = store_open(f->path, &err, &cause);
	assert_null(st);
	assert_int_equal(err, STORE_ERR_CORRUPT);
	free(cause);
}

static void
test_unreadable_refused(void **state)
{
	struct fixture *f = *state;
	char path[160];
	int err;
	char *cause;
	struct store *st;

	snprintf(path, sizeof path, "%s/no-such-dir/state.db", f->dir);
	st = store_open(path, &err, &cause);
	assert_null(st);
	assert_int_equal(err, STORE_ERR_IO);
	assert_non_null(strstr(cause, "no-such-dir"));
	free(cause);

	/* A directory where the file should be. */
	st = store_open(f->dir, &err, &cause);
	assert_null(st);
	assert_true(err == STORE_ERR_IO || err == STORE_ERR_CORRUPT);
	free(cause);
}

/* Rows of a table committed, as another process (or the next start)
 * would see them. */
static int64_t
committed(const char *path, const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char sql[96];
	int64_t n = -1;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void
test_samples_batched_and_pruned(void **state)
{
	struct fixture *f = *state;
	int err;
	char *cause;
	struct store *st = store_open(f->path, &err, &cause);
	struct store_reading_row r = { .charger_id = "CP-01", .evse = 1,
	    .have = 1, .current_a = { 10, 11, 12 } };
	int64_t n;

	assert_non_null(st);
	for (int i = 0; i < 3; i++) {
		r.ts_ms = 1000 * (i + 1);
		assert_int_equal(store_sample_add(st, &r, 7), STORE_OK);
	}
	/* Batched: nothing is on disk until the flush. */
	assert_int_equal(committed(f->path, "samples"), 0);
	assert_int_equal(store_flush(st), STORE_OK);
	assert_int_equal(committed(f->path, "samples"), 3);
	assert_int_equal(store_flush(st), STORE_OK);	/* nothing open: fine */

	/* A durable write commits the batch before itself. */
	r.ts_ms = 4000;
	assert_int_equal(store_sample_add(st, &r, 0), STORE_OK);
	assert_int_equal(committed(f->path, "samples"), 3);
	assert_int_equal(store_meta_set(st, "k", "v"), STORE_OK);
	assert_int_equal(committed(f->path, "samples"), 4);

	assert_int_equal(store_samples_count(st, "CP-01", 1, 2000, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(store_samples_prune(st, 2500, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_samples_count(st, "CP-01", 1, 0, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_samples_count(st, "CP-02", 1, 0, &n), STORE_OK);
	assert_int_equal(n, 0);

	/* Closing commits a batch still open. */
	r.ts_ms = 5000;
	assert_int_equal(store_sample_add(st, &r, 0), STORE_OK);
	store_close(st);
	assert_int_equal(committed(f->path, "samples"), 3);
}

/* A unit: a session and its outbox entry (and the reading the message
 * carried) are on disk together after the commit, and none of them after
 * a rollback; what was batched before the unit survives its rollback. */
static void
test_unit_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	int err, dropped;
	char *cause, tx[32], payload[] = "{}";
	struct store *st = store_open(f->path, &err, &cause);
	struct store_session_row s = { .charger_id = "CP-01", .evse = 1,
	    .connector = 1, .id_token = "T", .start_ms = 1, .open = 1 };
	struct store_outbox_row row = { .kind = STORE_OB_START, .action = "X",
	    .payload = payload };
	struct store_reading_row r = { .charger_id = "CP-01", .evse = 1,
	    .ts_ms = 5, .have = 1 };
	int64_t ms;

	assert_non_null(st);
	/* A reading batched before the unit. */
	assert_int_equal(store_sample_add(st, &r, 0), STORE_OK);

	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(store_begin(st), STORE_ERR_SQL);	/* no nesting */
	assert_int_equal(store_session_insert(st, &s, tx, sizeof tx), STORE_OK);
	row.session_id = s.id;
	assert_int_equal(store_outbox_add(st, &row, 0, 0, &dropped), STORE_OK);
	/* Durable writes inside a unit wait for its commit. */
	assert_int_equal(committed(f->path, "sessions"), 0);
	assert_int_equal(committed(f->path, "outbox"), 0);
	store_rollback(st);
	assert_int_equal(committed(f->path, "sessions"), 0);
	assert_int_equal(committed(f->path, "outbox"), 0);
	assert_int_equal(store_outbox_stats(st, &ms, &ms), STORE_OK);
	assert_int_equal(store_flush(st), STORE_OK);
	assert_int_equal(committed(f->path, "samples"), 1);

	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(store_session_insert(st, &s, tx, sizeof tx), STORE_OK);
	row.session_id = s.id;
	row.kind = STORE_OB_METER;
	row.reading_ms = 5;
	assert_int_equal(store_outbox_add(st, &row, 0, 0, &dropped), STORE_OK);
	assert_int_equal(store_sample_add(st, &r, s.id), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_commit(st), STORE_ERR_SQL);	/* none open */
	assert_int_equal(committed(f->path, "sessions"), 1);
	assert_int_equal(committed(f->path, "outbox"), 1);
	assert_int_equal(committed(f->path, "samples"), 2);
	/* The reading a meter entry carries is remembered per session. */
	assert_int_equal(store_uplink_meter_get(st, s.id, &ms), STORE_OK);
	assert_int_equal(ms, 5);
	assert_int_equal(store_uplink_meter_get(st, s.id + 1, &ms), STORE_OK);
	assert_int_equal(ms, 0);
	assert_int_equal(store_checkpoint(st), STORE_OK);
	store_close(st);
}

/* The uplink outbox: order, ack with the upstream's tx id, per-session
 * counters, the bound (meter rows dropped first, never a start or a stop),
 * and everything across a reopen. */
static void
test_outbox(void **state)
{
	struct fixture *f = *state;
	int err, dropped;
	char *cause, buf[32];
	struct store *st = store_open(f->path, &err, &cause);
	struct store_outbox_row r, got;
	int64_t count, oldest, sid;
	static const int kinds[] = { STORE_OB_START, STORE_OB_METER,
		STORE_OB_METER, STORE_OB_STOP };

	assert_non_null(st);
	for (int i = 0; i < 4; i++) {
		memset(&r, 0, sizeof r);
		r.kind = kinds[i];
		r.session_id = 7;
		snprintf(r.action, sizeof r.action, "A%d", i);
		r.payload = (char *)"{}";
		r.created_ms = 1000 + i;
		assert_int_equal(store_outbox_add(st, &r, 4, 0, &dropped), STORE_OK);
		assert_int_equal(dropped, 0);
		assert_int_equal(r.tx_seq, i);
	}
	/* Full: a new meter row pushes out the oldest meter row. */
	r.kind = STORE_OB_METER;
	snprintf(r.action, sizeof r.action, "A4");
	assert_int_equal(store_outbox_add(st, &r, 4, 0, &dropped), STORE_OK);
	assert_int_equal(dropped, 1);
	store_close(st);

	st = store_open(f->path, &err, &cause);
	assert_non_null(st);
	assert_int_equal(store_outbox_stats(st, &count, &oldest), STORE_OK);
	assert_int_equal(count, 4);
	assert_int_equal(oldest, 1000);
	assert_int_equal(store_outbox_next(st, 0, &got), STORE_OK);
	assert_string_equal(got.action, "A0");
	assert_int_equal(got.kind, STORE_OB_START);
	assert_int_equal(store_outbox_ack(st, got.seq, 7, "4711"), STORE_OK);
	free(got.payload);
	assert_int_equal(store_uplink_tx_get(st, 7, buf, sizeof buf), STORE_OK);
	assert_string_equal(buf, "4711");
	assert_int_equal(store_uplink_tx_find(st, "4711", &sid), STORE_OK);
	assert_int_equal(sid, 7);
	assert_int_equal(store_outbox_next(st, 0, &got), STORE_OK);
	assert_string_equal(got.action, "A2");
	assert_int_equal(store_outbox_attempts(st, got.seq, 2), STORE_OK);
	free(got.payload);
	assert_int_equal(store_outbox_next(st, 0, &got), STORE_OK);
	assert_int_equal(got.attempts, 2);
	free(got.payload);
	/* Only starts and stops left: a meter row is refused, a stop is kept
	 * beyond the bound. */
	assert_int_equal(store_outbox_ack(st, got.seq, 0, NULL), STORE_OK);
	assert_int_equal(store_outbox_next(st, 0, &got), STORE_OK);
	assert_int_equal(store_outbox_ack(st, got.seq, 0, NULL), STORE_OK);
	free(got.payload);
	for (int i = 0; i < 2; i++) {
		memset(&r, 0, sizeof r);
		r.kind = STORE_OB_STOP;
		snprintf(r.action, sizeof r.action, "S");
		r.payload = (char *)"{}";
		assert_int_equal(store_outbox_add(st, &r, 100, 0, &dropped), STORE_OK);
	}
	r.kind = STORE_OB_METER;
	assert_int_equal(store_outbox_add(st, &r, 3, 0, &dropped), STORE_OK);
	assert_int_equal(dropped, 1);
	/* The meter row that went in is dropped for a stop... */
	r.kind = STORE_OB_STOP;
	assert_int_equal(store_outbox_add(st, &r, 3, 0, &dropped), STORE_OK);
	assert_int_equal(dropped, 1);
	/* ...a new meter row is refused when only stops are left... */
	r.kind = STORE_OB_METER;
	assert_int_equal(store_outbox_add(st, &r, 3, 0, &dropped), STORE_OK);
	assert_int_equal(dropped, 1);
	/* ...and a stop goes in beyond the bound. */
	r.kind = STORE_OB_STOP;
	assert_int_equal(store_outbox_add(st, &r, 3, 0, &dropped), STORE_OK);
	assert_int_equal(dropped, 0);
	assert_int_equal(store_outbox_stats(st, &count, &oldest), STORE_OK);
	assert_int_equal(count, 4);

	/* Tokens. */
	assert_int_equal(store_auth_cache_put(st, "abc", 0, 5000, 1), STORE_OK);
	assert_int_equal(store_auth_cache_get(st, "ABC", &err, &oldest), STORE_OK);
	assert_int_equal(oldest, 5000);
	assert_int_equal(store_auth_cache_clear(st), STORE_OK);
	assert_int_equal(store_auth_cache_get(st, "abc", &err, &oldest),
	    STORE_ERR_NOTFOUND);
	assert_int_equal(store_local_list_put(st, "T1", 1, 0), STORE_OK);
	assert_int_equal(store_local_list_get(st, "t1", &err, &oldest), STORE_OK);
	assert_int_equal(err, 1);
	assert_int_equal(store_local_list_put(st, "T1", -1, 0), STORE_OK);
	assert_int_equal(store_local_list_get(st, "t1", &err, &oldest),
	    STORE_ERR_NOTFOUND);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persists_across_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_charger_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_from_each_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_version_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unit_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_samples_batched_and_pruned, setup, teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
