/*
 * webauth — who may use the installer's page: its password, the one-time
 * setup code, login throttling and the sessions (docs/web.md, "Session").
 *
 * The password. One installer password, kept in the state file under the
 * meta key "web_password" as
 *
 *   scrypt$14$8$1$<salt: 32 hex>$<key: 64 hex>
 *
 * (OpenSSL's scrypt, N = 2^14, r = 8, p = 1: about 16 MiB and a few tens of
 * milliseconds per check, which is the point). It is read from the file on
 * every login, so `sitegate --set-web-password` from a shell takes effect
 * in a running gateway at the next login. A password is 10 to 128
 * characters (UTF-8 code points) and at most 512 bytes.
 *
 * The slow hash never runs on the event loop. One worker thread takes jobs
 * from a queue (mutex + condition variable) and hands results back through a
 * pipe the loop reads. The state file is only touched on the loop: the
 * stored hash is read before a job is queued, and a new hash is written
 * after the worker made it. At most 4 jobs are in flight (queued or
 * running), and one per address (a second one from the same address is
 * WEBAUTH_THROTTLED for 1 s); beyond that the answer is WEBAUTH_BUSY.
 * Every answer, refusals included, comes through the job's callback from the loop, later than the
 * call that made the job, exactly once unless the job is cancelled.
 *
 * Setup. While no password is set, webauth_new() makes a setup code of 12
 * random digits ("4821-0937-5512"; the caller logs it). webauth_setup()
 * with that code sets the first password and logs the installer in; the
 * code is then gone. Dashes and spaces in the code as typed are ignored.
 *
 * Throttling, per client address, in a table of 256 addresses (the least
 * recently seen is forgotten beyond). The first 3 failures (wrong password
 * or wrong setup code) are free; after f >= 3 failures an attempt before
 * last failure + min(2^(f-3), 60) s is refused with WEBAUTH_THROTTLED and
 * the seconds to wait, without hashing. A success forgets the address.
 * Each failure is logged (warn), but at most one line per address per
 * waiting period: refused attempts are counted into the next line
 * (refused_meanwhile=N). A job cancelled after its check was made still
 * counts: closing the connection does not buy free guesses.
 *
 * Sessions live in memory: at most opts.max_sessions (the least recently
 * used is dropped beyond), each ends 30 min after its last request and 12 h
 * after login (by default), or at logout. A session id and its CSRF token
 * are 16 bytes of RAND_bytes each, in lowercase hex; ids and tokens are
 * compared in constant time. Time is the monotonic clock, replaceable for
 * tests (webauth_set_clock).
 *
 * Everything here is called from the loop's thread only.
 */
#ifndef SITEGATE_WEBAUTH_H
#define SITEGATE_WEBAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct store;

/* 32 hex chars + NUL: session ids and CSRF tokens (128 random bits). */
#define WEBAUTH_TOKEN_LEN 33
/* The cookie that carries the session id. */
#define WEBAUTH_COOKIE "sitegate_session"
/* The meta key of the state file that holds the password's hash. */
#define WEBAUTH_META_KEY "web_password"
/* Bounds of a password, in characters (UTF-8 code points). */
#define WEBAUTH_PASSWORD_MIN 10
#define WEBAUTH_PASSWORD_MAX 128
/* Jobs in flight (queued or being hashed) before WEBAUTH_BUSY. */
#define WEBAUTH_MAX_JOBS 4
/* Client addresses the throttle remembers. */
#define WEBAUTH_MAX_ADDRS 256

struct webauth;

struct webauth_opts {
	int idle_s;		/* [1800] a session ends this long after its
				   last request */
	int absolute_s;		/* [43200] and this long after login */
	int max_sessions;	/* [16] the least recently used is dropped
				   beyond */
};

enum webauth_verdict {
	WEBAUTH_OK,		/* session made: result.session, result.csrf */
	WEBAUTH_WRONG,		/* wrong password / wrong setup code */
	WEBAUTH_THROTTLED,	/* this address must wait result.retry_after_s */
	WEBAUTH_BUSY,		/* too many checks in flight */
	WEBAUTH_ALREADY_SET,	/* setup asked but a password exists */
	WEBAUTH_WEAK,		/* password shorter than 10 or longer than 128 */
	WEBAUTH_FAILED,		/* the state file refused the read or write,
				   or no randomness */
};

struct webauth_result {
	enum webauth_verdict verdict;
	int retry_after_s;			/* THROTTLED: >= 1; else 0 */
	char session[WEBAUTH_TOKEN_LEN];	/* OK: the session id; else "" */
	char csrf[WEBAUTH_TOKEN_LEN];		/* OK: its CSRF token; else "" */
};

/* A job's answer. r is valid during the call only. The job is freed after
 * the call returns: do not cancel it from here or later. The callback may
 * call any webauth function except webauth_free(). */
typedef void webauth_cb(const struct webauth_result *r, void *arg);

struct webauth_job;

/* Make the authority on base, with the state file st (both borrowed; they
 * must outlive it). o may be NULL; fields <= 0 take the defaults. Reads
 * whether a password is set and, when not, makes the setup code. Starts the
 * worker thread. Returns NULL with a malloc'd *cause when the state file
 * cannot be read, no randomness is available, or the thread or its pipe
 * cannot be made. */
struct webauth *webauth_new(struct event_base *base, struct store *st,
    const struct webauth_opts *o, char **cause);

/* Stop and join the worker (a hash being made is finished first, at most a
 * fraction of a second), free every pending job without calling its
 * callback, forget every session. NULL is a no-op. Not from a callback. */
void webauth_free(struct webauth *a);

/* Replace the clock (milliseconds, monotonic: only differences matter) by
 * now_ms(arg); NULL restores CLOCK_MONOTONIC. For tests. Sessions and
 * throttle entries made under the old clock keep their times. */
void webauth_set_clock(struct webauth *a, int64_t (*now_ms)(void *),
    void *arg);

/* True while the state file holds no password hash (read now). */
bool webauth_setup_needed(struct webauth *a);

/* The one-time setup code ("4821-0937-5512") while no password is set;
 * NULL once one is (also when set from a shell meanwhile). Owned by a,
 * valid until the next webauth call. */
const char *webauth_setup_code(struct webauth *a);

/* Check password for a login from client address addr (as text; used for
 * throttling and logs only). cb(r, arg) runs later from the loop with
 * WEBAUTH_OK (a new session), WRONG, THROTTLED, BUSY or FAILED. The
 * arguments are copied. Returns the job, for webauth_cancel(); it is valid
 * until cb has returned. Never NULL. */
struct webauth_job *webauth_login(struct webauth *a, const char *addr,
    const char *password, webauth_cb *cb, void *arg);

/* Set the first password with the setup code and log in: cb gets OK (the
 * password is on disk, fsync'd, and a session is made), WRONG (the code;
 * counts as a failure), ALREADY_SET, WEAK, THROTTLED, BUSY or FAILED (the
 * state file refused the write: nothing set, the code stays). Otherwise as
 * webauth_login(). */
struct webauth_job *webauth_setup(struct webauth *a, const char *addr,
    const char *code, const char *password, webauth_cb *cb, void *arg);

/* The request went away: j's callback will not run and j is freed (now, or
 * when the worker is done with it). j must be a job of a whose callback
 * has not run yet. A check already made still counts for throttling; a
 * setup not yet written is not written. */
void webauth_cancel(struct webauth *a, struct webauth_job *j);

/* The session named by a Cookie header's sitegate_session=<id>
 * (cookie_header NULL: none). True while it is valid; then its idle clock
 * restarts and, when csrf is not NULL, its CSRF token is copied there
 * (otherwise csrf, when not NULL, is set to ""). An expired session is
 * forgotten. */
bool webauth_session(struct webauth *a, const char *cookie_header,
    char csrf[WEBAUTH_TOKEN_LEN]);

/* True when cookie_header names a valid session and token (NULL: missing)
 * is its CSRF token. Compared in constant time. Does not restart the idle
 * clock (webauth_session() does). */
bool webauth_csrf_ok(struct webauth *a, const char *cookie_header,
    const char *token);

/* End the session cookie_header names, if any. */
void webauth_logout(struct webauth *a, const char *cookie_header);

/* True when password (len bytes) may be set: 10 to 128 characters, at
 * most 512 bytes, no NUL byte. What webauth_setup() calls WEAK. */
bool webauth_password_ok(const char *password, size_t len);

/* For `sitegate --set-web-password`: hash password (len bytes) and store
 * it, durably, in st, replacing any password. Runs on the caller's thread
 * (no loop, no worker). Returns 0, or -1 with a malloc'd *cause (a
 * password out of bounds or with a NUL byte, no randomness, the state file
 * refused the write). Sessions of a running gateway stay; its old password
 * stops working at once. */
int webauth_set_password(struct store *st, const char *password, size_t len,
    char **cause);

#endif
