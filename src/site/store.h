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
#define STORE_SCHEMA_VERSION 1

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

#endif
