/*
 * webauth — see webauth.h.
 *
 * Threads. The loop's thread owns everything but the queue: a job is made,
 * answered and freed there. The worker only takes a job from a->queue,
 * hashes with the job's own inputs into the job's own outputs, and puts it
 * on a->done; a->queue, a->done, a->stop and every job's state move under
 * a->mu only. While a job is JOB_RUNNING the loop does not touch its
 * inputs or outputs (webauth_cancel() only marks it, under the mutex); the
 * mutex taken at both hand-overs orders the worker's writes before the
 * loop's reads. The worker writes a byte to a pipe after each job; the
 * loop drains the pipe first and then takes the whole done list, so a wake
 * is never lost (an extra one finds an empty list).
 *
 * A job's life:
 *
 *   IMMEDIATE  answered without hashing (refused, throttled, busy...):
 *              its own event is made active and answers on the next loop
 *              turn
 *   QUEUED  -> RUNNING -> DONE -> answered on the loop by pipe_cb
 *
 * Cancel frees IMMEDIATE and QUEUED jobs at once; RUNNING and DONE ones
 * are marked and freed by pipe_cb without their callback.
 */
#include "http/webauth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "site/store.h"
#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"

#define MOD "web"

#define DEFAULT_IDLE_S 1800
#define DEFAULT_ABSOLUTE_S 43200
#define DEFAULT_MAX_SESSIONS 16

/* The parameters new hashes get. */
#define SCRYPT_LN 14			/* N = 2^14 */
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16
#define KEY_LEN 32
/* Stored hashes with other parameters are still checked, up to this much
 * memory (128 * r * N bytes): a tampered file cannot make us allocate
 * gigabytes. */
#define SCRYPT_MAX_MEM ((uint64_t)64 << 20)
/* "scrypt$14$8$1$" + 32 + "$" + 64 = 111 characters: room to spare, and a
 * value that fills the buffer (truncated by store_meta_get) is refused. */
#define STORED_LEN 256

#define PASSWORD_MAX_BYTES 512		/* 128 characters of 4 bytes */
#define FREE_FAILURES 3
#define MAX_WAIT_S 60
#define ADDR_LEN 64			/* an IPv6 address with a zone fits */
#define CODE_DIGITS 12
#define CODE_LEN 15			/* "dddd-dddd-dddd" + NUL */
#define CODE_INPUT_MAX 64
#define TOKEN_BYTES 16

/* A password hash as stored. */
struct scrypt_hash {
	int ln, r, p;
	unsigned char salt[SALT_LEN];
	unsigned char key[KEY_LEN];
};

enum job_kind { JOB_LOGIN, JOB_SETUP };
enum job_state { JOB_IMMEDIATE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct webauth_job {
	struct webauth *a;
	enum job_kind kind;
	webauth_cb *cb;
	void *arg;
	char addr[ADDR_LEN];

	/* Loop only. */
	struct webauth_job *prev, *next;	/* a->jobs: every live job */
	struct event *ev;			/* IMMEDIATE: its answer */
	struct webauth_result res;		/* IMMEDIATE: the answer */

	/* Under a->mu. */
	enum job_state state;
	bool cancelled;
	struct webauth_job *qnext;		/* a->queue or a->done */

	/* The worker's input and output (see the note at the top). */
	char *pw;
	size_t pwlen;
	struct scrypt_hash hash;	/* login: the stored one; setup: made */
	bool match;			/* login: pw hashes to hash */
	bool err;			/* no randomness or no scrypt */
};

/* An address that failed: throttling and its log lines. */
struct addr_entry {
	bool used;
	char addr[ADDR_LEN];
	int failures;
	int refused;			/* throttled since the last log line */
	int64_t last_failure_ms, seen_ms;
};

struct session {
	bool used;
	char id[WEBAUTH_TOKEN_LEN];
	char csrf[WEBAUTH_TOKEN_LEN];
	int64_t created_ms, used_ms;
};

struct webauth {
	struct event_base *base;
	struct store *st;
	int64_t idle_ms, absolute_ms;
	int max_sessions;
	int64_t (*now_ms)(void *);
	void *now_arg;

	bool have_code;
	char code[CODE_LEN];			/* "dddd-dddd-dddd" */
	unsigned char digits[CODE_DIGITS];	/* its digits, '0'..'9' */

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;				/* under mu */
	struct webauth_job *queue, *queue_tail;	/* under mu */
	struct webauth_job *done, *done_tail;	/* under mu */
	int pipe[2];
	struct event *pipe_ev;

	struct webauth_job *jobs;		/* loop only, as below */
	int inflight;				/* QUEUED, RUNNING, DONE */
	struct addr_entry addrs[WEBAUTH_MAX_ADDRS];
	struct session *sessions;		/* max_sessions of them */
};

/* ------------------------------------------------------------ helpers */

static int64_t
monotonic_ms(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
now(struct webauth *a)
{
	return a->now_ms(a->now_arg);
}

static void
hex(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
unhex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2n lowercase hex digits from s into out. Returns 0 or -1. */
static int
unhex(unsigned char *out, const char *s, size_t slen, size_t n)
{
	if (slen != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = unhex_digit(s[2 * i]), lo = unhex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* A random token of TOKEN_BYTES in hex. Returns 0, or -1 without
 * randomness. */
static int
token(char out[WEBAUTH_TOKEN_LEN])
{
	unsigned char b[TOKEN_BYTES];

	if (RAND_bytes(b, sizeof b) != 1) {
		out[0] = '\0';
		return -1;
	}
	hex(out, b, sizeof b);
	OPENSSL_cleanse(b, sizeof b);
	return 0;
}

/* Within the bounds of a password: 10 to 128 characters, counted as UTF-8
 * code points (bytes other than continuation bytes), at most 512 bytes. */
static bool
password_fits(const char *pw, size_t len)
{
	size_t chars = 0;

	if (len > PASSWORD_MAX_BYTES)
		return false;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)pw[i] & 0xc0) != 0x80)
			chars++;
	return chars >= WEBAUTH_PASSWORD_MIN && chars <= WEBAUTH_PASSWORD_MAX;
}

/* ------------------------------------------------------------ hashes */

static int
derive(const char *pw, size_t len, const struct scrypt_hash *h,
    unsigned char out[KEY_LEN])
{
	return EVP_PBE_scrypt(pw, len, h->salt, SALT_LEN, (uint64_t)1 << h->ln,
	    (uint64_t)h->r, (uint64_t)h->p, SCRYPT_MAX_MEM + ((uint64_t)1 << 20),
	    out, KEY_LEN) == 1 ? 0 : -1;
}

/* A new hash of pw with a fresh salt. Returns 0, or -1. */
static int
hash_new(const char *pw, size_t len, struct scrypt_hash *h)
{
	h->ln = SCRYPT_LN;
	h->r = SCRYPT_R;
	h->p = SCRYPT_P;
	if (RAND_bytes(h->salt, SALT_LEN) != 1 || derive(pw, len, h, h->key) != 0) {
		OPENSSL_cleanse(h, sizeof *h);
		return -1;
	}
	return 0;
}

/* True when pw hashes to h; in constant time in the key. */
static bool
hash_check(const char *pw, size_t len, const struct scrypt_hash *h, bool *err)
{
	unsigned char got[KEY_LEN];
	bool ok;

	*err = derive(pw, len, h, got) != 0;
	ok = !*err && CRYPTO_memcmp(got, h->key, KEY_LEN) == 0;
	OPENSSL_cleanse(got, sizeof got);
	return ok;
}

static void
hash_format(const struct scrypt_hash *h, char out[STORED_LEN])
{
	char salt[2 * SALT_LEN + 1], key[2 * KEY_LEN + 1];

	hex(salt, h->salt, SALT_LEN);
	hex(key, h->key, KEY_LEN);
	snprintf(out, STORED_LEN, "scrypt$%d$%d$%d$%s$%s", h->ln, h->r, h->p,
	    salt, key);
}

/* Parse "scrypt$<ln>$<r>$<p>$<salt hex>$<key hex>". Returns 0, or -1 for
 * anything else, parameters out of bounds included. */
static int
hash_parse(const char *s, struct scrypt_hash *h)
{
	char buf[STORED_LEN];
	char *f[6], *p = buf;
	int64_t ln, r, par;

	if (strlen(s) >= sizeof buf - 1)
		return -1;		/* possibly truncated */
	memcpy(buf, s, strlen(s) + 1);
	for (int i = 0; i < 6; i++) {
		f[i] = p;
		p = strchr(p, '$');
		if ((p == NULL) != (i == 5))
			return -1;
		if (p != NULL)
			*p++ = '\0';
	}
	if (strcmp(f[0], "scrypt") != 0 ||
	    num_parse_i64(f[1], 1, 30, &ln) != 0 ||
	    num_parse_i64(f[2], 1, 64, &r) != 0 ||
	    num_parse_i64(f[3], 1, 16, &par) != 0 ||
	    (uint64_t)128 * (uint64_t)r * ((uint64_t)1 << ln) > SCRYPT_MAX_MEM ||
	    unhex(h->salt, f[4], strlen(f[4]), SALT_LEN) != 0 ||
	    unhex(h->key, f[5], strlen(f[5]), KEY_LEN) != 0)
		return -1;
	h->ln = (int)ln;
	h->r = (int)r;
	h->p = (int)par;
	return 0;
}

/* The stored hash into *h. Returns STORE_OK, STORE_ERR_NOTFOUND (none
 * set), STORE_ERR_CORRUPT (a value we cannot read) or another store_err. */
static int
stored_hash(struct store *st, struct scrypt_hash *h)
{
	char buf[STORED_LEN];
	int rc = store_meta_get(st, WEBAUTH_META_KEY, buf, sizeof buf);

	if (rc == STORE_OK && hash_parse(buf, h) != 0)
		rc = STORE_ERR_CORRUPT;
	OPENSSL_cleanse(buf, sizeof buf);
	return rc;
}

/* Write the hash durably: in a unit of its own, so that it is fsync'd when
 * this returns STORE_OK. Inside somebody else's unit store_begin() fails
 * (units do not nest) and nothing is written, rather than a write that
 * would only be durable later. */
static int
store_hash(struct store *st, const struct scrypt_hash *h)
{
	char value[STORED_LEN];
	int rc;

	hash_format(h, value);
	if ((rc = store_begin(st)) == STORE_OK) {
		rc = store_meta_set(st, WEBAUTH_META_KEY, value);
		if (rc == STORE_OK)
			rc = store_commit(st);
		else
			store_rollback(st);
	}
	OPENSSL_cleanse(value, sizeof value);
	return rc;
}

/* ------------------------------------------------------------ throttle */

static struct addr_entry *
addr_find(struct webauth *a, const char *addr)
{
	for (size_t i = 0; i < WEBAUTH_MAX_ADDRS; i++)
		if (a->addrs[i].used && strcmp(a->addrs[i].addr, addr) == 0)
			return &a->addrs[i];
	return NULL;
}

/* The entry of addr, made when missing: in a free slot, or in place of the
 * least recently seen. */
static struct addr_entry *
addr_get(struct webauth *a, const char *addr)
{
	struct addr_entry *e = addr_find(a, addr);

	if (e != NULL)
		return e;
	for (size_t i = 0; i < WEBAUTH_MAX_ADDRS; i++) {
		struct addr_entry *c = &a->addrs[i];

		if (!c->used) {
			e = c;
			break;
		}
		if (e == NULL || c->seen_ms < e->seen_ms)
			e = c;
	}
	memset(e, 0, sizeof *e);
	e->used = true;
	snprintf(e->addr, sizeof e->addr, "%s", addr);
	return e;
}

/* Milliseconds e must still wait at t (0: none). */
static int64_t
addr_wait_ms(const struct addr_entry *e, int64_t t)
{
	int64_t wait_s, until;

	if (e->failures < FREE_FAILURES)
		return 0;
	wait_s = e->failures - FREE_FAILURES >= 6 ? MAX_WAIT_S :
	    (int64_t)1 << (e->failures - FREE_FAILURES);
	if (wait_s > MAX_WAIT_S)
		wait_s = MAX_WAIT_S;
	until = e->last_failure_ms + wait_s * 1000;
	return until > t ? until - t : 0;
}

/* True when addr must wait; *retry_s gets the seconds, rounded up. The
 * refusal is counted for the next log line. */
static bool
throttled(struct webauth *a, const char *addr, int *retry_s)
{
	struct addr_entry *e = addr_find(a, addr);
	int64_t t = now(a), wait;

	*retry_s = 0;
	if (e == NULL)
		return false;
	e->seen_ms = t;
	if ((wait = addr_wait_ms(e, t)) == 0)
		return false;
	if (e->refused < INT32_MAX)
		e->refused++;
	*retry_s = (int)((wait + 999) / 1000);
	if (*retry_s < 1)
		*retry_s = 1;
	return true;
}

/* addr failed (what: "login" or "setup"). Logged, unless the waiting
 * period of the previous failure still runs (checks that were in flight
 * together): then the next line's failures= includes this one. */
static void
addr_failed(struct webauth *a, const char *addr, const char *what)
{
	struct addr_entry *e = addr_get(a, addr);
	int64_t t = now(a);
	bool quiet = addr_wait_ms(e, t) > 0;
	char esc[LOG_ESC_LEN], more[48] = "";

	if (e->failures < INT32_MAX)
		e->failures++;
	e->last_failure_ms = t;
	e->seen_ms = t;
	if (quiet)
		return;
	if (e->refused > 0)
		snprintf(more, sizeof more, " refused_meanwhile=%d", e->refused);
	e->refused = 0;
	log_warn(MOD, "%s failed addr=%s failures=%d%s", what,
	    log_esc(esc, sizeof esc, addr), e->failures, more);
}

static void
addr_succeeded(struct webauth *a, const char *addr)
{
	struct addr_entry *e = addr_find(a, addr);

	if (e != NULL)
		memset(e, 0, sizeof *e);
}

/* ------------------------------------------------------------ sessions */

static bool
session_expired(const struct webauth *a, const struct session *s, int64_t t)
{
	return t - s->used_ms >= a->idle_ms || t - s->created_ms >= a->absolute_ms;
}

static void
session_drop(struct session *s)
{
	OPENSSL_cleanse(s, sizeof *s);
	s->used = false;
}

/* The live session whose id is the 32 characters at id. Every slot is
 * compared, in constant time each: how long this takes does not depend on
 * which id, if any, matched. Expired sessions are dropped on the way. */
static struct session *
session_by_id(struct webauth *a, const char *id)
{
	struct session *found = NULL;
	int64_t t = now(a);

	for (int i = 0; i < a->max_sessions; i++) {
		struct session *s = &a->sessions[i];

		if (!s->used)
			continue;
		if (session_expired(a, s, t)) {
			session_drop(s);
			continue;
		}
		if (CRYPTO_memcmp(s->id, id, WEBAUTH_TOKEN_LEN - 1) == 0)
			found = s;
	}
	return found;
}

/* The session a Cookie header names: every sitegate_session=<32 hex> pair
 * is tried (a browser may send an old one first). */
static struct session *
session_find(struct webauth *a, const char *cookie)
{
	static const char name[] = WEBAUTH_COOKIE "=";
	const char *p = cookie;

	if (cookie == NULL)
		return NULL;
	while (*p != '\0') {
		const char *v, *end;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		if (strncmp(p, name, sizeof name - 1) == 0) {
			v = p + sizeof name - 1;
			n = (size_t)(end - v);
			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			if (n == WEBAUTH_TOKEN_LEN - 1) {
				bool ok = true;
				struct session *s;

				for (size_t i = 0; i < n; i++)
					ok = ok && unhex_digit(v[i]) >= 0;
				if (ok && (s = session_by_id(a, v)) != NULL)
					return s;
			}
		}
		p = end;
	}
	return NULL;
}

/* A new session into r (verdict OK), in a free slot or in place of the
 * least recently used; verdict FAILED without randomness. */
static void
session_new(struct webauth *a, struct webauth_result *r)
{
	struct session *s = NULL;
	int64_t t = now(a);

	for (int i = 0; i < a->max_sessions; i++) {
		struct session *c = &a->sessions[i];

		if (c->used && session_expired(a, c, t))
			session_drop(c);
		if (!c->used) {
			s = c;
			break;
		}
		if (s == NULL || c->used_ms < s->used_ms)
			s = c;
	}
	session_drop(s);
	if (token(s->id) != 0 || token(s->csrf) != 0) {
		session_drop(s);
		r->verdict = WEBAUTH_FAILED;
		return;
	}
	s->used = true;
	s->created_ms = s->used_ms = t;
	r->verdict = WEBAUTH_OK;
	memcpy(r->session, s->id, WEBAUTH_TOKEN_LEN);
	memcpy(r->csrf, s->csrf, WEBAUTH_TOKEN_LEN);
}

/* ------------------------------------------------------------ worker */

static void
job_compute(struct webauth_job *j)
{
	if (j->kind == JOB_LOGIN)
		j->match = hash_check(j->pw, j->pwlen, &j->hash, &j->err);
	else
		j->err = hash_new(j->pw, j->pwlen, &j->hash) != 0;
}

static void *
worker(void *arg)
{
	struct webauth *a = arg;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		struct webauth_job *j;

		while (!a->stop && a->queue == NULL)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop)
			break;
		j = a->queue;
		a->queue = j->qnext;
		if (a->queue == NULL)
			a->queue_tail = NULL;
		j->qnext = NULL;
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&a->mu);

		job_compute(j);

		pthread_mutex_lock(&a->mu);
		j->state = JOB_DONE;
		if (a->done_tail != NULL)
			a->done_tail->qnext = j;
		else
			a->done = j;
		a->done_tail = j;
		pthread_mutex_unlock(&a->mu);
		/* A full pipe already holds a wake for this job. */
		while (write(a->pipe[1], "", 1) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ------------------------------------------------------------ jobs */

static struct webauth_job *
job_new(struct webauth *a, enum job_kind kind, const char *addr,
    webauth_cb *cb, void *arg)
{
	struct webauth_job *j = xcalloc(1, sizeof *j);

	j->a = a;
	j->kind = kind;
	j->cb = cb;
	j->arg = arg;
	/* The server's own text of the peer's address; a longer one (none
	 * is) would be cut and share an entry. */
	snprintf(j->addr, sizeof j->addr, "%s", addr != NULL ? addr : "-");
	j->next = a->jobs;
	if (a->jobs != NULL)
		a->jobs->prev = j;
	a->jobs = j;
	return j;
}

static void
job_free(struct webauth *a, struct webauth_job *j)
{
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		a->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	if (j->ev != NULL)
		event_free(j->ev);
	if (j->pw != NULL) {
		OPENSSL_cleanse(j->pw, j->pwlen);
		free(j->pw);
	}
	OPENSSL_cleanse(j, sizeof *j);
	free(j);
}

/* Call j's callback with r and free j. */
static void
job_answer(struct webauth *a, struct webauth_job *j,
    const struct webauth_result *r)
{
	struct webauth_result copy = *r;

	j->cb(&copy, j->arg);
	OPENSSL_cleanse(&copy, sizeof copy);
	job_free(a, j);
}

static void
immediate_cb(evutil_socket_t fd, short what, void *arg)
{
	struct webauth_job *j = arg;

	(void)fd;
	(void)what;
	job_answer(j->a, j, &j->res);
}

/* Answer j with verdict on the next turn of the loop, without hashing. */
static struct webauth_job *
job_refuse(struct webauth *a, struct webauth_job *j, enum webauth_verdict v,
    int retry_s)
{
	j->state = JOB_IMMEDIATE;
	j->res.verdict = v;
	j->res.retry_after_s = retry_s;
	j->ev = event_new(a->base, -1, 0, immediate_cb, j);
	if (j->ev == NULL)
		abort();	/* out of memory, like xmalloc */
	event_active(j->ev, EV_TIMEOUT, 1);
	return j;
}

/* Hand j to the worker with a copy of the password. */
static struct webauth_job *
job_queue(struct webauth *a, struct webauth_job *j, const char *pw, size_t len)
{
	j->pw = xmalloc(len + 1);
	memcpy(j->pw, pw, len);
	j->pwlen = len;
	a->inflight++;
	pthread_mutex_lock(&a->mu);
	j->state = JOB_QUEUED;
	if (a->queue_tail != NULL)
		a->queue_tail->qnext = j;
	else
		a->queue = j;
	a->queue_tail = j;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return j;
}

/* A login the worker checked: the throttle learns its outcome whether or
 * not anyone still waits for it. */
static void
login_done(struct webauth *a, struct webauth_job *j, bool cancelled,
    struct webauth_result *r)
{
	char esc[LOG_ESC_LEN];

	if (j->err) {
		log_error(MOD, "password check failed: no scrypt");
		r->verdict = WEBAUTH_FAILED;
	} else if (!j->match) {
		addr_failed(a, j->addr, "login");
		r->verdict = WEBAUTH_WRONG;
	} else {
		addr_succeeded(a, j->addr);
		if (!cancelled) {
			session_new(a, r);
			if (r->verdict == WEBAUTH_OK)
				log_info(MOD, "login addr=%s",
				    log_esc(esc, sizeof esc, j->addr));
		}
	}
}

/* A setup whose hash the worker made: written now, on the loop, if the
 * setup is still wanted. */
static void
setup_done(struct webauth *a, struct webauth_job *j, struct webauth_result *r)
{
	struct scrypt_hash h;
	char esc[LOG_ESC_LEN];
	int rc;

	if (j->err) {
		log_error(MOD, "password hash failed: no randomness or no scrypt");
		r->verdict = WEBAUTH_FAILED;
		return;
	}
	/* Another setup, or a shell, may have set one meanwhile. */
	rc = stored_hash(a->st, &h);
	OPENSSL_cleanse(&h, sizeof h);
	if (rc == STORE_OK || rc == STORE_ERR_CORRUPT || !a->have_code) {
		r->verdict = WEBAUTH_ALREADY_SET;
		return;
	}
	if (rc != STORE_ERR_NOTFOUND) {
		r->verdict = WEBAUTH_FAILED;
		return;
	}
	if ((rc = store_hash(a->st, &j->hash)) != STORE_OK) {
		log_error(MOD, "cannot store the password path=%s err=%d",
		    store_path(a->st), rc);
		r->verdict = WEBAUTH_FAILED;
		return;
	}
	a->have_code = false;
	OPENSSL_cleanse(a->code, sizeof a->code);
	OPENSSL_cleanse(a->digits, sizeof a->digits);
	addr_succeeded(a, j->addr);
	log_info(MOD, "password set addr=%s", log_esc(esc, sizeof esc, j->addr));
	session_new(a, r);
}

/* What the worker finished: answer each job (or just free a cancelled
 * one). A callback may cancel a job further down the taken list: that
 * only marks it, so the list stays whole. */
static void
pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct webauth *a = arg;
	struct webauth_job *j, *next;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&a->mu);
	j = a->done;
	a->done = a->done_tail = NULL;
	pthread_mutex_unlock(&a->mu);
	for (; j != NULL; j = next) {
		struct webauth_result r;
		bool cancelled;

		pthread_mutex_lock(&a->mu);
		next = j->qnext;
		cancelled = j->cancelled;
		pthread_mutex_unlock(&a->mu);
		a->inflight--;
		memset(&r, 0, sizeof r);
		if (j->kind == JOB_LOGIN)
			login_done(a, j, cancelled, &r);
		else if (!cancelled)
			setup_done(a, j, &r);
		OPENSSL_cleanse(&j->hash, sizeof j->hash);
		if (cancelled)
			job_free(a, j);
		else
			job_answer(a, j, &r);
		OPENSSL_cleanse(&r, sizeof r);
	}
}

/* ------------------------------------------------------------ setup code */

/* 12 uniform random digits. Returns 0, or -1 without randomness. */
static int
code_new(struct webauth *a)
{
	size_t n = 0;

	while (n < CODE_DIGITS) {
		unsigned char b[32];

		if (RAND_bytes(b, sizeof b) != 1)
			return -1;
		/* 250 = 25 * 10: below it every digit is equally likely. */
		for (size_t i = 0; i < sizeof b && n < CODE_DIGITS; i++)
			if (b[i] < 250)
				a->digits[n++] = (unsigned char)('0' + b[i] % 10);
		OPENSSL_cleanse(b, sizeof b);
	}
	snprintf(a->code, sizeof a->code, "%.4s-%.4s-%.4s", a->digits,
	    a->digits + 4, a->digits + 8);
	a->have_code = true;
	return 0;
}

/* True when code, without its dashes and spaces, is the setup code. */
static bool
code_ok(struct webauth *a, const char *code)
{
	unsigned char got[CODE_DIGITS];
	size_t n = 0;
	bool ok = a->have_code && code != NULL;

	for (size_t i = 0; ok && code[i] != '\0'; i++) {
		if (i >= CODE_INPUT_MAX)
			ok = false;
		else if (code[i] == '-' || code[i] == ' ')
			continue;
		else if (code[i] < '0' || code[i] > '9' || n == CODE_DIGITS)
			ok = false;
		else
			got[n++] = (unsigned char)code[i];
	}
	ok = ok && n == CODE_DIGITS &&
	    CRYPTO_memcmp(got, a->digits, CODE_DIGITS) == 0;
	OPENSSL_cleanse(got, sizeof got);
	return ok;
}

/* ------------------------------------------------------------ API */

struct webauth *
webauth_new(struct event_base *base, struct store *st,
    const struct webauth_opts *o, char **cause)
{
	struct webauth *a = xcalloc(1, sizeof *a);
	struct scrypt_hash h;
	sigset_t all, old;
	int rc;

	*cause = NULL;
	a->base = base;
	a->st = st;
	a->pipe[0] = a->pipe[1] = -1;
	a->idle_ms = 1000LL * (o != NULL && o->idle_s > 0 ? o->idle_s :
	    DEFAULT_IDLE_S);
	a->absolute_ms = 1000LL * (o != NULL && o->absolute_s > 0 ?
	    o->absolute_s : DEFAULT_ABSOLUTE_S);
	a->max_sessions = o != NULL && o->max_sessions > 0 ? o->max_sessions :
	    DEFAULT_MAX_SESSIONS;
	a->sessions = xcalloc((size_t)a->max_sessions, sizeof *a->sessions);
	a->now_ms = monotonic_ms;

	rc = stored_hash(st, &h);
	OPENSSL_cleanse(&h, sizeof h);
	if (rc == STORE_ERR_NOTFOUND) {
		if (code_new(a) != 0) {
			*cause = xasprintf("no randomness for the setup code");
			goto fail;
		}
	} else if (rc == STORE_ERR_CORRUPT) {
		/* Logins will fail until it is set again; say so now. */
		log_error(MOD, "stored web password unreadable path=%s (set it "
		    "again: sitegate --set-web-password)", store_path(st));
	} else if (rc != STORE_OK) {
		*cause = xasprintf("state file %s: cannot read the web password "
		    "(error %d)", store_path(st), rc);
		goto fail;
	}

	if (pipe2(a->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		*cause = xasprintf("web: cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	a->pipe_ev = event_new(base, a->pipe[0], EV_READ | EV_PERSIST, pipe_cb,
	    a);
	if (a->pipe_ev == NULL || event_add(a->pipe_ev, NULL) != 0) {
		*cause = xasprintf("web: cannot watch the worker's pipe");
		goto fail;
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	/* The worker takes no signal: they belong to the loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&a->thread, NULL, worker, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		*cause = xasprintf("web: cannot start the password worker: %s",
		    strerror(rc));
		goto fail;
	}
	return a;

fail:
	if (a->pipe_ev != NULL)
		event_free(a->pipe_ev);
	if (a->pipe[0] >= 0) {
		close(a->pipe[0]);
		close(a->pipe[1]);
	}
	OPENSSL_cleanse(a->code, sizeof a->code);
	OPENSSL_cleanse(a->digits, sizeof a->digits);
	free(a->sessions);
	free(a);
	return NULL;
}

void
webauth_free(struct webauth *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	while (a->jobs != NULL)
		job_free(a, a->jobs);
	event_free(a->pipe_ev);
	close(a->pipe[0]);
	close(a->pipe[1]);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	OPENSSL_cleanse(a->sessions, (size_t)a->max_sessions *
	    sizeof *a->sessions);
	free(a->sessions);
	OPENSSL_cleanse(a, sizeof *a);
	free(a);
}

void
webauth_set_clock(struct webauth *a, int64_t (*now_ms)(void *), void *arg)
{
	a->now_ms = now_ms != NULL ? now_ms : monotonic_ms;
	a->now_arg = now_ms != NULL ? arg : NULL;
}

bool
webauth_setup_needed(struct webauth *a)
{
	struct scrypt_hash h;
	int rc = stored_hash(a->st, &h);

	OPENSSL_cleanse(&h, sizeof h);
	return rc == STORE_ERR_NOTFOUND;
}

const char *
webauth_setup_code(struct webauth *a)
{
	struct scrypt_hash h;
	int rc;

	if (!a->have_code)
		return NULL;
	rc = stored_hash(a->st, &h);
	OPENSSL_cleanse(&h, sizeof h);
	if (rc == STORE_OK || rc == STORE_ERR_CORRUPT) {
		/* Set from a shell meanwhile: the code is of no use now. */
		a->have_code = false;
		OPENSSL_cleanse(a->code, sizeof a->code);
		OPENSSL_cleanse(a->digits, sizeof a->digits);
		return NULL;
	}
	return a->code;
}

/* Whether addr already has a password being hashed: one at a time per
 * address, so that a storm from one address holds one of the worker's
 * WEBAUTH_MAX_JOBS places and the others stay free for everyone else.
 * Queued and running jobs are the live ones without an immediate answer
 * (j->ev is the loop's own field). */
static bool
addr_hashing(const struct webauth *a, const struct webauth_job *self)
{
	for (const struct webauth_job *j = a->jobs; j != NULL; j = j->next)
		if (j != self && j->ev == NULL && strcmp(j->addr, self->addr) == 0)
			return true;
	return false;
}

struct webauth_job *
webauth_login(struct webauth *a, const char *addr, const char *password,
    webauth_cb *cb, void *arg)
{
	struct webauth_job *j = job_new(a, JOB_LOGIN, addr, cb, arg);
	size_t len = password != NULL ?
	    strnlen(password, PASSWORD_MAX_BYTES + 1) : 0;
	int retry_s, rc;

	if (throttled(a, j->addr, &retry_s))
		return job_refuse(a, j, WEBAUTH_THROTTLED, retry_s);
	rc = stored_hash(a->st, &j->hash);
	if (rc == STORE_ERR_CORRUPT) {
		log_error(MOD, "stored web password unreadable path=%s (set it "
		    "again: sitegate --set-web-password)", store_path(a->st));
		return job_refuse(a, j, WEBAUTH_FAILED, 0);
	}
	if (rc != STORE_OK && rc != STORE_ERR_NOTFOUND)
		return job_refuse(a, j, WEBAUTH_FAILED, 0);
	/* No password set, or one no password can be: a failure, without
	 * the cost of a hash. */
	if (rc == STORE_ERR_NOTFOUND || password == NULL ||
	    len > PASSWORD_MAX_BYTES) {
		addr_failed(a, j->addr, "login");
		return job_refuse(a, j, WEBAUTH_WRONG, 0);
	}
	if (addr_hashing(a, j))
		return job_refuse(a, j, WEBAUTH_THROTTLED, 1);
	if (a->inflight >= WEBAUTH_MAX_JOBS)
		return job_refuse(a, j, WEBAUTH_BUSY, 0);
	return job_queue(a, j, password, len);
}

struct webauth_job *
webauth_setup(struct webauth *a, const char *addr, const char *code,
    const char *password, webauth_cb *cb, void *arg)
{
	struct webauth_job *j = job_new(a, JOB_SETUP, addr, cb, arg);
	size_t len = password != NULL ?
	    strnlen(password, PASSWORD_MAX_BYTES + 1) : 0;
	struct scrypt_hash h;
	int retry_s, rc;

	rc = stored_hash(a->st, &h);
	OPENSSL_cleanse(&h, sizeof h);
	if (rc == STORE_OK || rc == STORE_ERR_CORRUPT)
		return job_refuse(a, j, WEBAUTH_ALREADY_SET, 0);
	if (rc != STORE_ERR_NOTFOUND)
		return job_refuse(a, j, WEBAUTH_FAILED, 0);
	if (throttled(a, j->addr, &retry_s))
		return job_refuse(a, j, WEBAUTH_THROTTLED, retry_s);
	if (!code_ok(a, code)) {
		addr_failed(a, j->addr, "setup");
		return job_refuse(a, j, WEBAUTH_WRONG, 0);
	}
	if (password == NULL || !password_fits(password, len))
		return job_refuse(a, j, WEBAUTH_WEAK, 0);
	if (addr_hashing(a, j))
		return job_refuse(a, j, WEBAUTH_THROTTLED, 1);
	if (a->inflight >= WEBAUTH_MAX_JOBS)
		return job_refuse(a, j, WEBAUTH_BUSY, 0);
	return job_queue(a, j, password, len);
}

void
webauth_cancel(struct webauth *a, struct webauth_job *j)
{
	struct webauth_job **pp, *prev = NULL;

	if (j == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	switch (j->state) {
	case JOB_QUEUED:
		/* The worker has not seen it: take it off the queue. */
		for (pp = &a->queue; *pp != j; pp = &(*pp)->qnext)
			prev = *pp;
		*pp = j->qnext;
		if (a->queue_tail == j)
			a->queue_tail = prev;
		pthread_mutex_unlock(&a->mu);
		a->inflight--;
		job_free(a, j);
		return;
	case JOB_RUNNING:
	case JOB_DONE:
		/* pipe_cb frees it when the worker is done with it. */
		j->cancelled = true;
		pthread_mutex_unlock(&a->mu);
		return;
	case JOB_IMMEDIATE:
		break;
	}
	pthread_mutex_unlock(&a->mu);
	job_free(a, j);
}

bool
webauth_session(struct webauth *a, const char *cookie_header,
    char csrf[WEBAUTH_TOKEN_LEN])
{
	struct session *s = session_find(a, cookie_header);

	if (s == NULL) {
		if (csrf != NULL)
			csrf[0] = '\0';
		return false;
	}
	s->used_ms = now(a);
	if (csrf != NULL)
		memcpy(csrf, s->csrf, WEBAUTH_TOKEN_LEN);
	return true;
}

bool
webauth_csrf_ok(struct webauth *a, const char *cookie_header,
    const char *token)
{
	struct session *s = session_find(a, cookie_header);

	if (s == NULL || token == NULL ||
	    strnlen(token, WEBAUTH_TOKEN_LEN) != WEBAUTH_TOKEN_LEN - 1)
		return false;
	return CRYPTO_memcmp(s->csrf, token, WEBAUTH_TOKEN_LEN - 1) == 0;
}

void
webauth_logout(struct webauth *a, const char *cookie_header)
{
	struct session *s = session_find(a, cookie_header);

	if (s != NULL)
		session_drop(s);
}

bool
webauth_password_ok(const char *password, size_t len)
{
	return password != NULL && memchr(password, '\0', len) == NULL &&
	    password_fits(password, len);
}

int
webauth_set_password(struct store *st, const char *password, size_t len,
    char **cause)
{
	struct scrypt_hash h;
	int rc;

	*cause = NULL;
	if (memchr(password, '\0', len) != NULL) {
		*cause = xasprintf("the password contains a NUL byte");
		return -1;
	}
	if (!password_fits(password, len)) {
		*cause = xasprintf("the password must be %d to %d characters",
		    WEBAUTH_PASSWORD_MIN, WEBAUTH_PASSWORD_MAX);
		return -1;
	}
	if (hash_new(password, len, &h) != 0) {
		*cause = xasprintf("cannot hash the password (no randomness or "
		    "no scrypt)");
		return -1;
	}
	rc = store_hash(st, &h);
	OPENSSL_cleanse(&h, sizeof h);
	if (rc != STORE_OK) {
		*cause = xasprintf("state file %s: cannot write the password "
		    "(error %d)", store_path(st), rc);
		return -1;
	}
	return 0;
}
