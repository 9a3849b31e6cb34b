/*
 * confedit — the configuration file as the installer's page edits it.
 *
 * The page never sees a secret and never writes one it was not given:
 *
 *   file ──confedit_public()──▶ document ──(page edits)──▶ document
 *     ▲                         "password" → "password_set": true/false
 *     └──confedit_write()◀── text ◀──confedit_apply(current file, document)
 *                                    "password_set": true → the file's value
 *
 * The secrets are chargers[].password, mqtt.password and upstream.password
 * (every secret key config.c reads; certificate and key *paths* are not
 * secrets). A charger's kept password is found by its "id" in the current
 * file, so reordering chargers keeps each one's password with it.
 *
 * confedit_apply() validates with config_parse(), the code behind
 * `sitegate --check-config`, and hands back its errors as [{path, expected,
 * got}] (confedit_errors()). The text it makes is cJSON_Print's: formatted,
 * without the previous file's comments (they stay in <file>.prev), numbers
 * as cJSON prints them — integers as integers, others with as many digits
 * as re-reading the same double needs — so the file re-parses identically.
 *
 * A version is the first half of the SHA-256 of the file's bytes, so a
 * change by hand is a change of version too (the page's If-Match).
 *
 * confedit_write() replaces the file so that at every instant, crash or
 * not, the path holds either the old or the new file, whole.
 *
 * Pure but for confedit_write() (the file system) and
 * confedit_add_charger() (OpenSSL's RNG); nothing logs. Not thread-safe
 * as a whole: the caller serializes writes of one path.
 */
#ifndef SITEGATE_CONFEDIT_H
#define SITEGATE_CONFEDIT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/config.h"

#define CONFEDIT_VERSION_LEN 33		/* 32 hex + NUL */
#define CONFEDIT_PASSWORD_LEN 24	/* a generated charger password */

/* confedit_write()'s failures. */
enum confedit_err {
	CONFEDIT_OK = 0,
	CONFEDIT_ERR_IO = -1,		/* nothing changed at path */
	CONFEDIT_ERR_UNSYNCED = -2,	/* path holds the new file, but its
					   folder could not be synced: a
					   power loss may bring the old back */
};

/* The version of a file's bytes text[0..len): the first 16 bytes of their
 * SHA-256 as 32 lower-case hex digits and a NUL, into out. */
void confedit_version(const char *text, size_t len,
    char out[CONFEDIT_VERSION_LEN]);

/* The configuration as the page sees it: text[0..len) (comments allowed,
 * as in the file) parsed, each secret replaced by "<key>_set": true or
 * false (false when absent) in the secret's place, in chargers[] objects
 * and in the mqtt and upstream objects when present. Nothing else is
 * checked: a file config_parse() refuses is shown as it is, so it can be
 * repaired. Returns a new tree (cJSON_Delete) that holds no secret; NULL
 * when the text is not a JSON object, with *cause (when cause is not
 * NULL) a malloc'd sentence; on success *cause is NULL. */
cJSON *confedit_public(const char *text, size_t len, char **cause);

/* The file text the page's document doc (in confedit_public()'s shape)
 * makes, with current[0..len) the file as it is (comments allowed):
 *
 *  - a secret given ("password": "...") sets it; "password_set": true
 *    without it keeps the current file's value (a charger's found by its
 *    "id"); neither leaves it out. "password_set": true where the current
 *    file has none is an error at that path (expected "a password (this
 *    charger has none yet)", got true). The "_set" keys never reach the
 *    file.
 *  - the result is validated by config_parse().
 *
 * Valid: returns the new text (malloc'd, free(); cJSON_Print formatted, a
 * trailing newline, no comments), *errors is NULL, and *cfg_out (when
 * cfg_out is not NULL) the parsed config (config_free()). Invalid: NULL,
 * *errors a new cJSON array of {"path", "expected", "got"} (every error of
 * the secret merge, then every line of config_parse()), *cfg_out NULL.
 * doc is not changed; errors must not be NULL. */
char *confedit_apply(const char *current, size_t len, const cJSON *doc,
    cJSON **errors, struct config **cfg_out);

/* config_parse()'s error text (one error per line; NULL or "" for none) as
 * a new cJSON array of {"path", "expected", "got"}:
 *
 *   chargers[1].max_current_a: expected a number from 6 to 80, got "32A"
 *   → {"path": "chargers[1].max_current_a",
 *      "expected": "a number from 6 to 80", "got": "\"32A\""}
 *
 * "(top level)" is path "". A missing key ("required key is missing",
 * "required when mqtt.password is set") is at the key's own path, with
 * expected "a value (...)" and got "nothing"; an unknown or repeated key
 * at its path with got "an unknown key" / "the key more than once". A
 * line of any other form keeps its text after the path in "expected",
 * with got "". Never NULL. */
cJSON *confedit_errors(const char *lines);

/* Write text[0..len) to path so that a crash at any point leaves path
 * holding either the old file or the new one, whole:
 * <path>.tmp in the same folder (a stale one removed first, then created
 * with O_EXCL, with the mode — and where allowed the owner — of the
 * existing file, or 0640), all written and fsync'ed; the current file kept
 * as <path>.prev (a hard link, or a copy where links are not possible; the
 * current file is never missing); the tmp renamed over path; the folder
 * fsync'ed. A symbolic link at path is followed: its target is replaced.
 * Returns CONFEDIT_OK; or CONFEDIT_ERR_IO with path untouched and no tmp
 * left; or CONFEDIT_ERR_UNSYNCED (see the enum). On failure *cause (when
 * cause is not NULL) is a malloc'd sentence naming the file and the
 * errno text; NULL on success. */
int confedit_write(const char *path, const char *text, size_t len,
    char **cause);

/* Add a charger to doc (confedit_public()'s shape; the approval of a
 * waiting charger): {"id", "circuit" (left out when NULL), "max_current_a",
 * "phases", "phase_rotation" (left out when NULL), "password"} appended to
 * chargers[] (created when absent). password NULL: 24 characters from
 * [A-Za-z0-9] drawn with RAND_bytes (without modulo bias) are written to
 * gen_password (NUL-terminated) and used; otherwise gen_password, when
 * not NULL, is set to "". Values are not validated here: confedit_apply()
 * does. Returns 0; or -1 with *cause (malloc'd; when cause is not NULL)
 * and doc unchanged when id is NULL or already in chargers[], chargers is
 * not an array, or the RNG fails. */
int confedit_add_charger(cJSON *doc, const char *id, const char *circuit,
    double max_current_a, int phases, const char *phase_rotation,
    const char *password, char gen_password[CONFEDIT_PASSWORD_LEN + 1],
    char **cause);

/* The keys that only take effect after a restart, as a new cJSON array of
 * JSON paths (["state_file", "ocpp.listen", ...]): config_restart_key()'s
 * table, the one config_restart_needed() compares. */
cJSON *confedit_restart_keys(void);

#endif
