/*
 * Unit tests for http/webauth: setup with the one-time code, login,
 * throttling (with a fake clock) and its log lines, the in-flight bound,
 * cancelling, sessions and their expiry, CSRF tokens, and the stored hash.
 * A real state file, a real event_base and the real worker thread: every
 * answer is awaited through the loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "http/webauth.h"
#include "site/store.h"
#include "util/log.h"
#include "tests/unit/tmpstore.h"

#define PW "a long installer password"
#define PW2 "another long password"
#define T0 1000000000LL

struct fixture {
	struct tmpstore t;
	struct event_base *base;
	struct event *tick;		/* keeps EVLOOP_ONCE from blocking */
	struct webauth *a;
	int64_t now_ms;
};

/* One job's answers. */
struct rec {
	int calls;
	struct webauth_result r;
};

static int64_t
fake_now(void *arg)
{
	return *(int64_t *)arg;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static struct webauth *
auth_new(struct fixture *f, const struct webauth_opts *o)
{
	char *cause = NULL;
	struct webauth *a = webauth_new(f->base, f->t.st, o, &cause);

	assert_non_null(a);
	assert_null(cause);
	webauth_set_clock(a, fake_now, &f->now_ms);
	return a;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct timeval tv = { 0, 50000 };

	if (f == NULL || tmpstore_open(&f->t, "webauth") != 0)
		return -1;
	f->base = event_base_new();
	f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
	event_add(f->tick, &tv);
	f->now_ms = T0;
	f->a = auth_new(f, NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc;

	webauth_free(f->a);
	event_free(f->tick);
	event_base_free(f->base);
	rc = tmpstore_close(&f->t);
	free(f);
	return rc;
}

static void
record(const struct webauth_result *r, void *arg)
{
	struct rec *rec = arg;

	rec->calls++;
	rec->r = *r;
}

/* Turn the loop until rec has an answer (10 s at most, real time). */
static void
await(struct fixture *f, struct rec *rec)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (rec->calls == 0) {
		event_base_loop(f->base, EVLOOP_ONCE);
		clock_gettime(CLOCK_MONOTONIC, &t);
		assert_true(t.tv_sec - t0.tv_sec < 10);
	}
}

/* Turn the loop for ms of real time. */
static void
spin(struct fixture *f, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		event_base_loop(f->base, EVLOOP_ONCE);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 +
	    (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static void
await_calls(struct fixture *f, int *calls)
{
	/* Turns of 50 ms at most (the tick): 10 s. */
	for (int turns = 0; *calls == 0 && turns < 200; turns++)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_true(*calls > 0);
}

/* Microseconds to wait for n hashes to be surely done: five times what
 * one took here just now, at least half a second. */
static useconds_t
hash_wait_us(struct fixture *f, int n)
{
	struct timespec t0, t;
	struct rec rec = { 0 };
	int64_t us;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	webauth_login(f->a, "192.0.2.250", "a password to time", record, &rec);
	await(f, &rec);
	clock_gettime(CLOCK_MONOTONIC, &t);
	us = (t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000;
	us = 5 * n * us;
	return (useconds_t)(us < 500000 ? 500000 : us);
}

/* A login, answered; checks it was not answered inside the call. */
static struct webauth_result
login(struct fixture *f, const char *addr, const char *pw)
{
	struct rec rec = { 0 };

	webauth_login(f->a, addr, pw, record, &rec);
	assert_int_equal(rec.calls, 0);
	await(f, &rec);
	assert_int_equal(rec.calls, 1);
	return rec.r;
}

static struct webauth_result
setup_with(struct fixture *f, const char *addr, const char *code,
    const char *pw)
{
	struct rec rec = { 0 };

	webauth_setup(f->a, addr, code, pw, record, &rec);
	assert_int_equal(rec.calls, 0);
	await(f, &rec);
	assert_int_equal(rec.calls, 1);
	return rec.r;
}

static void
set_password(struct fixture *f, const char *pw)
{
	char *cause = NULL;

	assert_int_equal(webauth_set_password(f->t.st, pw, strlen(pw), &cause),
	    0);
	assert_null(cause);
}

static void
cookie(char *buf, size_t len, const char *session)
{
	snprintf(buf, len, "theme=dark; sitegate_session=%s; lang=de", session);
}

static void
assert_token(const char *s)
{
	assert_int_equal(strlen(s), 32);
	for (int i = 0; i < 32; i++)
		assert_true(isxdigit((unsigned char)s[i]) &&
		    !isupper((unsigned char)s[i]));
}

/* ------------------------------------------------------------ setup */

static void
test_setup_code(void **state)
{
	struct fixture *f = *state;
	const char *code = webauth_setup_code(f->a);

	assert_true(webauth_setup_needed(f->a));
	assert_non_null(code);
	assert_int_equal(strlen(code), 14);
	for (int i = 0; i < 14; i++) {
		if (i == 4 || i == 9)
			assert_int_equal(code[i], '-');
		else
			assert_true(isdigit((unsigned char)code[i]));
	}
}

static void
test_setup_wrong_then_right(void **state)
{
	struct fixture *f = *state;
	char code[16], wrong[16], ck[128], csrf[WEBAUTH_TOKEN_LEN];
	struct webauth_result r;

	snprintf(code, sizeof code, "%s", webauth_setup_code(f->a));
	snprintf(wrong, sizeof wrong, "%s", code);
	wrong[0] = wrong[0] == '9' ? '0' : (char)(wrong[0] + 1);

	r = setup_with(f, "192.0.2.1", wrong, PW);
	assert_int_equal(r.verdict, WEBAUTH_WRONG);
	assert_string_equal(r.session, "");
	assert_true(webauth_setup_needed(f->a));
	r = setup_with(f, "192.0.2.1", NULL, PW);
	assert_int_equal(r.verdict, WEBAUTH_WRONG);
	r = setup_with(f, "192.0.2.1", "", PW);
	assert_int_equal(r.verdict, WEBAUTH_WRONG);
	assert_true(webauth_setup_needed(f->a));
	assert_string_equal(webauth_setup_code(f->a), code);

	/* 192.0.2.1 must wait now; another address may go on. */
	r = setup_with(f, "192.0.2.1", code, PW);
	assert_int_equal(r.verdict, WEBAUTH_THROTTLED);
	r = setup_with(f, "192.0.2.2", code, PW);
	assert_int_equal(r.verdict, WEBAUTH_OK);
	assert_token(r.session);
	assert_token(r.csrf);
	assert_string_not_equal(r.session, r.csrf);
	assert_false(webauth_setup_needed(f->a));
	assert_null(webauth_setup_code(f->a));

	cookie(ck, sizeof ck, r.session);
	assert_true(webauth_session(f->a, ck, csrf));
	assert_string_equal(csrf, r.csrf);
	/* The password set is the one that logs in. */
	assert_int_equal(login(f, "192.0.2.2", PW).verdict, WEBAUTH_OK);
	assert_int_equal(login(f, "192.0.2.2", PW2).verdict, WEBAUTH_WRONG);
}

static void
test_setup_code_as_typed(void **state)
{
	struct fixture *f = *state;
	char digits[16];
	const char *code = webauth_setup_code(f->a);

	/* "4821 0937 5512" and "482109375512" are the same code. */
	snprintf(digits, sizeof digits, "%.4s%.4s%.4s", code, code + 5,
	    code + 10);
	assert_int_equal(setup_with(f, "192.0.2.1", digits, PW).verdict,
	    WEBAUTH_OK);
}

static void
test_setup_already_set(void **state)
{
	struct fixture *f = *state;
	char code[16];
	struct webauth_result r;

	snprintf(code, sizeof code, "%s", webauth_setup_code(f->a));
	assert_int_equal(setup_with(f, "192.0.2.1", code, PW).verdict,
	    WEBAUTH_OK);
	r = setup_with(f, "192.0.2.1", code, PW2);
	assert_int_equal(r.verdict, WEBAUTH_ALREADY_SET);
	assert_string_equal(r.session, "");
	/* The first password still holds. */
	assert_int_equal(login(f, "192.0.2.1", PW).verdict, WEBAUTH_OK);
	assert_int_equal(login(f, "192.0.2.3", PW2).verdict, WEBAUTH_WRONG);
}

static void
test_setup_after_shell(void **state)
{
	struct fixture *f = *state;
	char code[16];

	/* --set-web-password from a shell while the gateway waits for
	 * setup: the code is of no use any more. */
	snprintf(code, sizeof code, "%s", webauth_setup_code(f->a));
	set_password(f, PW2);
	assert_false(webauth_setup_needed(f->a));
	assert_null(webauth_setup_code(f->a));
	assert_int_equal(setup_with(f, "192.0.2.1", code, PW).verdict,
	    WEBAUTH_ALREADY_SET);
	assert_int_equal(login(f, "192.0.2.1", PW2).verdict, WEBAUTH_OK);

	/* A gateway started on a file with a password has no code. */
	webauth_free(f->a);
	f->a = auth_new(f, NULL);
	assert_null(webauth_setup_code(f->a));
	assert_false(webauth_setup_needed(f->a));
}

static void
test_setup_weak(void **state)
{
	struct fixture *f = *state;
	char code[16], longpw[200];

	snprintf(code, sizeof code, "%s", webauth_setup_code(f->a));
	memset(longpw, 'x', 129);
	longpw[129] = '\0';
	assert_int_equal(setup_with(f, "192.0.2.1", code, "123456789").verdict,
	    WEBAUTH_WEAK);
	assert_int_equal(setup_with(f, "192.0.2.1", code, longpw).verdict,
	    WEBAUTH_WEAK);
	/* Nine characters in eighteen bytes are nine characters. */
	assert_int_equal(setup_with(f, "192.0.2.1", code,
	    "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	    "\xc3\xa4").verdict, WEBAUTH_WEAK);
	assert_int_equal(setup_with(f, "192.0.2.1", code, NULL).verdict,
	    WEBAUTH_WEAK);
	assert_true(webauth_setup_needed(f->a));
	assert_non_null(webauth_setup_code(f->a));
	/* Weak is not a failure: the address is not slowed down. */
	assert_int_equal(setup_with(f, "192.0.2.1", code, "1234567890").verdict,
	    WEBAUTH_OK);
}

static void
test_setup_wrong_code_throttled(void **state)
{
	struct fixture *f = *state;
	char code[16];
	struct webauth_result r;

	snprintf(code, sizeof code, "%s", webauth_setup_code(f->a));
	for (int i = 0; i < 3; i++)
		assert_int_equal(setup_with(f, "192.0.2.9", "0000-0000-000",
		    PW).verdict, WEBAUTH_WRONG);
	r = setup_with(f, "192.0.2.9", code, PW);
	assert_int_equal(r.verdict, WEBAUTH_THROTTLED);
	assert_int_equal(r.retry_after_s, 1);
	assert_true(webauth_setup_needed(f->a));
	f->now_ms += 1000;
	assert_int_equal(setup_with(f, "192.0.2.9", code, PW).verdict,
	    WEBAUTH_OK);
}

/* ------------------------------------------------------------ login */

static void
test_login(void **state)
{
	struct fixture *f = *state;
	struct webauth_result r;
	char ck[128];

	/* Before any password: nothing logs in. */
	assert_int_equal(login(f, "192.0.2.1", PW).verdict, WEBAUTH_WRONG);
	set_password(f, PW);
	assert_false(webauth_setup_needed(f->a));
	r = login(f, "192.0.2.1", PW2);
	assert_int_equal(r.verdict, WEBAUTH_WRONG);
	assert_string_equal(r.session, "");
	assert_int_equal(login(f, "192.0.2.1", "").verdict, WEBAUTH_WRONG);
	assert_int_equal(login(f, "192.0.2.5", NULL).verdict, WEBAUTH_WRONG);
	assert_int_equal(login(f, "192.0.2.5", PW " ").verdict, WEBAUTH_WRONG);
	/* Three failures at 192.0.2.1: it waits a second. */
	assert_int_equal(login(f, "192.0.2.1", PW).verdict, WEBAUTH_THROTTLED);
	f->now_ms += 1000;
	r = login(f, "192.0.2.1", PW);
	assert_int_equal(r.verdict, WEBAUTH_OK);
	assert_token(r.session);
	assert_token(r.csrf);
	cookie(ck, sizeof ck, r.session);
	assert_true(webauth_session(f->a, ck, NULL));
}

static void
test_password_from_another_process(void **state)
{
	struct fixture *f = *state;
	struct store *other;
	char *cause = NULL;
	int err;

	set_password(f, PW);
	assert_int_equal(login(f, "192.0.2.1", PW).verdict, WEBAUTH_OK);
	/* A shell's `sitegate --set-web-password` has a connection of its
	 * own; the running gateway checks the next login against it. */
	other = store_open(f->t.path, &err, &cause);
	assert_non_null(other);
	assert_int_equal(webauth_set_password(other, PW2, strlen(PW2), &cause),
	    0);
	store_close(other);
	assert_int_equal(login(f, "192.0.2.1", PW).verdict, WEBAUTH_WRONG);
	assert_int_equal(login(f, "192.0.2.1", PW2).verdict, WEBAUTH_OK);
}

/* Standard error into a file while the throttle writes its lines. */
struct capture {
	char path[160];
	int saved;
};

static void
capture_start(struct fixture *f, struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof c->path, "%s/stderr.txt", f->t.dir);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

/* Stop capturing; the captured text into buf. */
static void
capture_stop(struct capture *c, char *buf, size_t len)
{
	FILE *fp;
	size_t n;

	fflush(stderr);
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	fp = fopen(c->path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

static int
count(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

static void
test_throttle(void **state)
{
	struct fixture *f = *state;
	const char *addr = "198.51.100.7";
	struct webauth_result r;
	struct capture c;
	char log[8192];
	int expect_wait = 1;

	set_password(f, PW);
	capture_start(f, &c);
	/* Three failures are free. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(login(f, addr, PW2).verdict, WEBAUTH_WRONG);
	/* Then each attempt waits 1, 2, 4, ... 60 s after the last failure;
	 * before that it is refused, the right password included. */
	for (int failures = 3; failures < 12; failures++) {
		r = login(f, addr, PW);
		assert_int_equal(r.verdict, WEBAUTH_THROTTLED);
		assert_int_equal(r.retry_after_s, expect_wait);
		assert_string_equal(r.session, "");
		f->now_ms += expect_wait * 1000 - 1;
		r = login(f, addr, PW2);
		assert_int_equal(r.verdict, WEBAUTH_THROTTLED);
		assert_int_equal(r.retry_after_s, 1);	/* 1 ms, rounded up */
		f->now_ms += 1;
		assert_int_equal(login(f, addr, PW2).verdict, WEBAUTH_WRONG);
		expect_wait = expect_wait * 2 > 60 ? 60 : expect_wait * 2;
	}
	assert_int_equal(expect_wait, 60);
	/* Another address is not slowed down by this one. */
	assert_int_equal(login(f, "198.51.100.8", PW2).verdict, WEBAUTH_WRONG);
	/* Half a second into a 60 s wait: 59.5 s, rounded up. */
	f->now_ms += 500;
	r = login(f, addr, PW);
	assert_int_equal(r.verdict, WEBAUTH_THROTTLED);
	assert_int_equal(r.retry_after_s, 60);
	/* Once the wait is over the right password logs in and the
	 * address starts afresh. */
	f->now_ms += 59500;
	assert_int_equal(login(f, addr, PW).verdict, WEBAUTH_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(login(f, addr, PW2).verdict, WEBAUTH_WRONG);
	r = login(f, addr, PW2);
	assert_int_equal(r.verdict, WEBAUTH_THROTTLED);
	assert_int_equal(r.retry_after_s, 1);
	capture_stop(&c, log, sizeof log);

	/* One line per failure that was checked (3 + 9 + 3 here, one per
	 * waiting period at most), none for a refusal; refusals are summed
	 * into the next line. */
	assert_int_equal(count(log, "login failed addr=198.51.100.7 "), 15);
	assert_int_equal(count(log, "login failed addr=198.51.100.8 "), 1);
	assert_int_equal(count(log, "refused_meanwhile=2"), 9);
	assert_non_null(strstr(log, "failures=12 refused_meanwhile=2"));
	assert_non_null(strstr(log, "failures=3\n"));
	assert_int_equal(count(log, "refused_meanwhile=1"), 0);
}

static void
test_throttle_address_escaped(void **state)
{
	struct fixture *f = *state;
	struct capture c;
	char log[4096];

	set_password(f, PW);
	capture_start(f, &c);
	assert_int_equal(login(f, "evil\nwarn  web: forged", PW2).verdict,
	    WEBAUTH_WRONG);
	capture_stop(&c, log, sizeof log);
	assert_int_equal(count(log, "\n"), 1);
	assert_non_null(strstr(log, "\\x0a"));
}

static void
test_throttle_table_bounded(void **state)
{
	struct fixture *f = *state;
	char addr[32], huge[600];
	struct webauth_result r;

	/* X and then Y fail three times each; X tries again (refused, but
	 * seen); 254 others fill the table and one more makes room by
	 * forgetting the least recently seen address: Y, not X. */
	memset(huge, 'h', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	set_password(f, PW);
	log_set_level(LOG_LEVEL_ERROR);
	for (int i = 0; i < 3; i++)
		assert_int_equal(login(f, "203.0.113.1", huge).verdict,
		    WEBAUTH_WRONG);
	f->now_ms += 1;
	for (int i = 0; i < 3; i++)
		assert_int_equal(login(f, "203.0.113.2", huge).verdict,
		    WEBAUTH_WRONG);
	f->now_ms += 1;
	assert_int_equal(login(f, "203.0.113.1", huge).verdict,
	    WEBAUTH_THROTTLED);
	for (int i = 0; i < WEBAUTH_MAX_ADDRS - 1; i++) {
		f->now_ms += 1;
		snprintf(addr, sizeof addr, "2001:db8::%x", i);
		/* Too long to be anybody's password: a failure without a
		 * hash (255 hashes would take a while). */
		assert_int_equal(login(f, addr, huge).verdict, WEBAUTH_WRONG);
	}
	log_set_level(LOG_LEVEL_INFO);
	r = login(f, "203.0.113.1", PW);
	assert_int_equal(r.verdict, WEBAUTH_THROTTLED);
	assert_int_equal(login(f, "203.0.113.2", PW).verdict, WEBAUTH_OK);
}

/* ------------------------------------------------------------ jobs */

static void
test_busy(void **state)
{
	struct fixture *f = *state;
	struct rec rec[6] = { { 0 } };

	char addr[32];

	set_password(f, PW);
	for (int i = 0; i < 5; i++) {
		snprintf(addr, sizeof addr, "192.0.2.%d", i + 1);
		webauth_login(f->a, addr, PW, record, &rec[i]);
	}
	for (int i = 0; i < 5; i++)
		assert_int_equal(rec[i].calls, 0);
	await(f, &rec[4]);
	assert_int_equal(rec[4].r.verdict, WEBAUTH_BUSY);
	for (int i = 0; i < 4; i++) {
		await(f, &rec[i]);
		assert_int_equal(rec[i].calls, 1);
		assert_int_equal(rec[i].r.verdict, WEBAUTH_OK);
	}
	assert_int_equal(rec[4].calls, 1);
	/* Once answered, the slots are free again. */
	webauth_login(f->a, "192.0.2.1", PW, record, &rec[5]);
	await(f, &rec[5]);
	assert_int_equal(rec[5].r.verdict, WEBAUTH_OK);
}

static void
test_one_per_address(void **state)
{
	struct fixture *f = *state;
	struct rec rec[3] = { { 0 } };

	/* A second password from an address whose first is being hashed
	 * waits (THROTTLED, 1 s) without taking a worker place; another
	 * address is served. */
	set_password(f, PW);
	webauth_login(f->a, "192.0.2.7", PW, record, &rec[0]);
	webauth_login(f->a, "192.0.2.7", PW, record, &rec[1]);
	webauth_login(f->a, "192.0.2.8", PW, record, &rec[2]);
	await(f, &rec[1]);
	assert_int_equal(rec[1].r.verdict, WEBAUTH_THROTTLED);
	assert_int_equal(rec[1].r.retry_after_s, 1);
	await(f, &rec[0]);
	await(f, &rec[2]);
	assert_int_equal(rec[0].r.verdict, WEBAUTH_OK);
	assert_int_equal(rec[2].r.verdict, WEBAUTH_OK);
}

static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct rec rec[8] = { { 0 } };
	struct webauth_job *j[8];
	char addr[32];

	set_password(f, PW);
	/* Queued behind others, running, done but not yet answered, and
	 * answered without a hash (busy): none of them calls back. */
	for (int i = 0; i < 5; i++) {
		snprintf(addr, sizeof addr, "192.0.2.%d", i + 1);
		j[i] = webauth_login(f->a, addr, PW, record, &rec[i]);
	}
	webauth_cancel(f->a, j[2]);	/* surely still queued */
	webauth_cancel(f->a, j[0]);	/* queued or running */
	webauth_cancel(f->a, j[4]);	/* busy, answer pending */
	usleep(300000);			/* the worker finishes j[1] */
	webauth_cancel(f->a, j[1]);
	await(f, &rec[3]);
	assert_int_equal(rec[3].r.verdict, WEBAUTH_OK);
	spin(f, 200);
	assert_int_equal(rec[0].calls + rec[1].calls + rec[2].calls +
	    rec[4].calls, 0);
	/* Cancelled jobs gave their slots back: four fit again. */
	for (int i = 4; i < 8; i++) {
		snprintf(addr, sizeof addr, "192.0.2.%d", i + 11);
		j[i] = webauth_login(f->a, addr, PW, record, &rec[i]);
	}
	for (int i = 5; i < 8; i++) {
		await(f, &rec[i]);
		assert_int_equal(rec[i].r.verdict, WEBAUTH_OK);
	}
	await(f, &rec[4]);
	assert_int_equal(rec[4].r.verdict, WEBAUTH_OK);
	/* Jobs still pending when the authority goes are freed without a
	 * call (ASan finds a leak or a late call otherwise). */
	for (int i = 0; i < 4; i++) {
		rec[i].calls = 0;
		snprintf(addr, sizeof addr, "192.0.2.%d", i + 21);
		webauth_login(f->a, addr, PW, record, &rec[i]);
	}
	webauth_free(f->a);
	f->a = NULL;
	spin(f, 100);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rec[i].calls, 0);
}

static void
test_cancelled_failures_count(void **state)
{
	struct fixture *f = *state;
	struct rec rec[4] = { { 0 } };
	struct webauth_job *j[4];
	struct webauth_result r;
	useconds_t wait;

	/* Closing the connection after guessing buys nothing: a check that
	 * was made counts as a failure. */
	set_password(f, PW);
	wait = hash_wait_us(f, 1);
	/* One at a time from an address: check, cancel, let it go. */
	for (int i = 0; i < 4; i++) {
		j[i] = webauth_login(f->a, "192.0.2.66", PW2, record, &rec[i]);
		usleep(wait);		/* checked */
		webauth_cancel(f->a, j[i]);
		spin(f, 100);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(rec[i].calls, 0);
	r = login(f, "192.0.2.66", PW);
	assert_int_equal(r.verdict, WEBAUTH_THROTTLED);
}

static void
test_cancel_setup(void **state)
{
	struct fixture *f = *state;
	struct rec rec = { 0 };
	struct webauth_job *j;
	char code[16];

	/* A setup cancelled before its answer sets nothing. */
	snprintf(code, sizeof code, "%s", webauth_setup_code(f->a));
	j = webauth_setup(f->a, "192.0.2.1", code, PW, record, &rec);
	usleep(500000);
	webauth_cancel(f->a, j);
	spin(f, 200);
	assert_int_equal(rec.calls, 0);
	assert_true(webauth_setup_needed(f->a));
	assert_string_equal(webauth_setup_code(f->a), code);
}

struct cancel_ctx {
	struct webauth *a;
	struct webauth_job *other;
	int calls;
};

static void
cancel_other(const struct webauth_result *r, void *arg)
{
	struct cancel_ctx *c = arg;

	assert_int_equal(r->verdict, WEBAUTH_OK);
	c->calls++;
	webauth_cancel(c->a, c->other);
}

static void
test_cancel_from_callback(void **state)
{
	struct fixture *f = *state;
	struct cancel_ctx c = { f->a, NULL, 0 };
	struct rec rec = { 0 };

	/* The first job's callback cancels the second, which the worker has
	 * finished too (most likely answered in the same turn). */
	set_password(f, PW);
	webauth_login(f->a, "192.0.2.1", PW, cancel_other, &c);
	c.other = webauth_login(f->a, "192.0.2.2", PW, record, &rec);
	usleep(hash_wait_us(f, 2));
	await_calls(f, &c.calls);
	spin(f, 200);
	assert_int_equal(c.calls, 1);
	assert_int_equal(rec.calls, 0);
}

/* ------------------------------------------------------------ sessions */

static struct webauth_result
new_session(struct fixture *f, char *ck, size_t len)
{
	struct webauth_result r = login(f, "192.0.2.1", PW);

	assert_int_equal(r.verdict, WEBAUTH_OK);
	cookie(ck, len, r.session);
	return r;
}

static void
test_session_idle(void **state)
{
	struct fixture *f = *state;
	struct webauth_opts o = { .idle_s = 10, .absolute_s = 100,
	    .max_sessions = 4 };
	char ck[128], csrf[WEBAUTH_TOKEN_LEN];

	webauth_free(f->a);
	f->a = auth_new(f, &o);
	set_password(f, PW);
	new_session(f, ck, sizeof ck);
	/* Each request restarts the idle clock. */
	for (int i = 0; i < 3; i++) {
		f->now_ms += 9999;
		assert_true(webauth_session(f->a, ck, NULL));
	}
	f->now_ms += 10000;
	assert_false(webauth_session(f->a, ck, csrf));
	assert_string_equal(csrf, "");
	/* Gone, not just stale: coming back in time does not revive it. */
	f->now_ms -= 5000;
	assert_false(webauth_session(f->a, ck, NULL));
}

static void
test_session_absolute(void **state)
{
	struct fixture *f = *state;
	struct webauth_opts o = { .idle_s = 10, .absolute_s = 25,
	    .max_sessions = 4 };
	char ck[128];

	webauth_free(f->a);
	f->a = auth_new(f, &o);
	set_password(f, PW);
	new_session(f, ck, sizeof ck);
	f->now_ms += 8000;
	assert_true(webauth_session(f->a, ck, NULL));
	f->now_ms += 8000;
	assert_true(webauth_session(f->a, ck, NULL));
	f->now_ms += 8999;
	assert_true(webauth_session(f->a, ck, NULL));
	f->now_ms += 1;		/* 25 s after login, 1 s after the last use */
	assert_false(webauth_session(f->a, ck, NULL));
}

static void
test_session_defaults(void **state)
{
	struct fixture *f = *state;
	char ck[128];

	/* 30 minutes idle by default. */
	set_password(f, PW);
	new_session(f, ck, sizeof ck);
	f->now_ms += 1800 * 1000 - 1;
	assert_true(webauth_session(f->a, ck, NULL));
	f->now_ms += 1800 * 1000;
	assert_false(webauth_session(f->a, ck, NULL));
	/* 12 hours after login by default, however busy. */
	new_session(f, ck, sizeof ck);
	for (int i = 0; i < 43; i++) {
		f->now_ms += 1000 * 1000;
		assert_true(webauth_session(f->a, ck, NULL));
	}
	f->now_ms += 200 * 1000;
	assert_false(webauth_session(f->a, ck, NULL));
}

static void
test_logout(void **state)
{
	struct fixture *f = *state;
	char ck1[128], ck2[128];

	set_password(f, PW);
	new_session(f, ck1, sizeof ck1);
	new_session(f, ck2, sizeof ck2);
	assert_true(webauth_session(f->a, ck1, NULL));
	webauth_logout(f->a, ck1);
	assert_false(webauth_session(f->a, ck1, NULL));
	assert_true(webauth_session(f->a, ck2, NULL));
	webauth_logout(f->a, NULL);
	webauth_logout(f->a, "sitegate_session=nothing");
	assert_true(webauth_session(f->a, ck2, NULL));
}

static void
test_max_sessions(void **state)
{
	struct fixture *f = *state;
	struct webauth_opts o = { .max_sessions = 2 };
	char ck1[128], ck2[128], ck3[128];

	webauth_free(f->a);
	f->a = auth_new(f, &o);
	set_password(f, PW);
	new_session(f, ck1, sizeof ck1);
	f->now_ms += 1000;
	new_session(f, ck2, sizeof ck2);
	f->now_ms += 1000;
	assert_true(webauth_session(f->a, ck1, NULL));	/* 1 used last */
	f->now_ms += 1000;
	new_session(f, ck3, sizeof ck3);
	assert_true(webauth_session(f->a, ck1, NULL));
	assert_false(webauth_session(f->a, ck2, NULL));
	assert_true(webauth_session(f->a, ck3, NULL));
}

static void
test_cookie_header(void **state)
{
	struct fixture *f = *state;
	struct webauth_result r;
	char ck[160], up[WEBAUTH_TOKEN_LEN];

	set_password(f, PW);
	r = login(f, "192.0.2.1", PW);
	assert_int_equal(r.verdict, WEBAUTH_OK);
	assert_false(webauth_session(f->a, NULL, NULL));
	assert_false(webauth_session(f->a, "", NULL));
	snprintf(ck, sizeof ck, "sitegate_session=%s", r.session);
	assert_true(webauth_session(f->a, ck, NULL));
	/* An old cookie of the same name before the live one. */
	snprintf(ck, sizeof ck, "sitegate_session=%032d;sitegate_session=%s",
	    0, r.session);
	assert_true(webauth_session(f->a, ck, NULL));
	/* Only that cookie's value counts, all of it. */
	snprintf(ck, sizeof ck, "other_sitegate_session=%s", r.session);
	assert_false(webauth_session(f->a, ck, NULL));
	snprintf(ck, sizeof ck, "sitegate_session=%sx", r.session);
	assert_false(webauth_session(f->a, ck, NULL));
	snprintf(ck, sizeof ck, "sitegate_session=%.31s", r.session);
	assert_false(webauth_session(f->a, ck, NULL));
	for (int i = 0; i < 33; i++)
		up[i] = (char)toupper((unsigned char)r.session[i]);
	if (strcmp(up, r.session) != 0) {
		snprintf(ck, sizeof ck, "sitegate_session=%s", up);
		assert_false(webauth_session(f->a, ck, NULL));
	}
}

static void
test_csrf(void **state)
{
	struct fixture *f = *state;
	struct webauth_result r1, r2;
	char ck1[128], ck2[128], bad[WEBAUTH_TOKEN_LEN];

	set_password(f, PW);
	r1 = new_session(f, ck1, sizeof ck1);
	r2 = new_session(f, ck2, sizeof ck2);
	assert_true(webauth_csrf_ok(f->a, ck1, r1.csrf));
	assert_true(webauth_csrf_ok(f->a, ck2, r2.csrf));
	memcpy(bad, r1.csrf, sizeof bad);
	bad[31] = bad[31] == '0' ? '1' : '0';
	assert_false(webauth_csrf_ok(f->a, ck1, bad));
	assert_false(webauth_csrf_ok(f->a, ck1, NULL));
	assert_false(webauth_csrf_ok(f->a, ck1, ""));
	bad[31] = '\0';
	memcpy(bad, r1.csrf, 31);
	assert_false(webauth_csrf_ok(f->a, ck1, bad));	/* a prefix */
	assert_false(webauth_csrf_ok(f->a, ck1, r2.csrf));	/* another's */
	assert_false(webauth_csrf_ok(f->a, NULL, r1.csrf));
	webauth_logout(f->a, ck1);
	assert_false(webauth_csrf_ok(f->a, ck1, r1.csrf));
}

/* ------------------------------------------------------------ storage */

static void
test_set_password(void **state)
{
	struct fixture *f = *state;
	char *cause = NULL;
	char pw128[129];
	static const char nul[] = "0123456789\0abc";

	assert_int_equal(webauth_set_password(f->t.st, "short", 5, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "10 to 128"));
	free(cause);
	assert_int_equal(webauth_set_password(f->t.st, nul, sizeof nul - 1,
	    &cause), -1);
	assert_non_null(strstr(cause, "NUL"));
	free(cause);
	assert_true(webauth_setup_needed(f->a));
	assert_false(webauth_password_ok(nul, sizeof nul - 1));
	assert_false(webauth_password_ok("123456789", 9));
	assert_true(webauth_password_ok("1234567890", 10));
	assert_false(webauth_password_ok(NULL, 0));

	memset(pw128, 'p', 128);
	pw128[128] = '\0';
	assert_true(webauth_password_ok(pw128, 128));
	pw128[128] = 'p';
	assert_false(webauth_password_ok(pw128, 129));
	pw128[128] = '\0';
	assert_int_equal(webauth_set_password(f->t.st, pw128, 128, &cause), 0);
	assert_int_equal(login(f, "192.0.2.1", pw128).verdict, WEBAUTH_OK);
	pw128[127] = '\0';
	assert_int_equal(login(f, "192.0.2.1", pw128).verdict, WEBAUTH_WRONG);
	assert_int_equal(webauth_set_password(f->t.st, PW, 10, &cause), 0);
	assert_int_equal(login(f, "192.0.2.1", "a long ins").verdict,
	    WEBAUTH_OK);
}

/* True when the file at path holds needle anywhere (a missing file holds
 * nothing). */
static bool
file_holds(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	size_t n, cap = 16 << 20;
	bool found = false;

	if (fp == NULL)
		return false;
	buf = malloc(cap);
	assert_non_null(buf);
	n = fread(buf, 1, cap, fp);
	fclose(fp);
	found = memmem(buf, n, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

static void
test_stored_value(void **state)
{
	struct fixture *f = *state;
	char v[256], path[200], code[16];

	snprintf(code, sizeof code, "%s", webauth_setup_code(f->a));
	assert_int_equal(setup_with(f, "192.0.2.1", code, PW).verdict,
	    WEBAUTH_OK);
	assert_int_equal(store_meta_get(f->t.st, "web_password", v, sizeof v),
	    STORE_OK);
	/* scrypt$14$8$1$<32 hex>$<64 hex> */
	assert_int_equal(strlen(v), 111);
	assert_memory_equal(v, "scrypt$14$8$1$", 14);
	for (int i = 14; i < 111; i++)
		if (i == 46)
			assert_int_equal(v[i], '$');
		else
			assert_non_null(strchr("0123456789abcdef", v[i]));
	assert_null(strstr(v, PW));
	/* On disk: no plain text anywhere in the file or its log. */
	assert_true(file_holds(f->t.path, "web_password") ||
	    (snprintf(path, sizeof path, "%s-wal", f->t.path),
	    file_holds(path, "web_password")));
	assert_false(file_holds(f->t.path, PW));
	snprintf(path, sizeof path, "%s-wal", f->t.path);
	assert_false(file_holds(path, PW));
	/* Two hashes of one password differ (a fresh salt each). */
	set_password(f, PW);
	assert_int_equal(store_meta_get(f->t.st, "web_password", path,
	    sizeof path), STORE_OK);
	assert_string_not_equal(path, v);
	assert_int_equal(login(f, "192.0.2.1", PW).verdict, WEBAUTH_OK);
}

static void
test_stored_value_damaged(void **state)
{
	struct fixture *f = *state;
	struct webauth_result r;

	/* A value nobody can check against: an error, not a way in. */
	assert_int_equal(store_meta_set(f->t.st, "web_password",
	    "scrypt$14$8$1$zz$00"), STORE_OK);
	assert_false(webauth_setup_needed(f->a));
	r = login(f, "192.0.2.1", PW);
	assert_int_equal(r.verdict, WEBAUTH_FAILED);
	assert_string_equal(r.session, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_setup_code),
		T(test_setup_wrong_then_right),
		T(test_setup_code_as_typed),
		T(test_setup_already_set),
		T(test_setup_after_shell),
		T(test_setup_weak),
		T(test_setup_wrong_code_throttled),
		T(test_login),
		T(test_password_from_another_process),
		T(test_throttle),
		T(test_throttle_address_escaped),
		T(test_throttle_table_bounded),
		T(test_one_per_address),
		T(test_busy),
		T(test_cancel),
		T(test_cancelled_failures_count),
		T(test_cancel_setup),
		T(test_cancel_from_callback),
		T(test_session_idle),
		T(test_session_absolute),
		T(test_session_defaults),
		T(test_logout),
		T(test_max_sessions),
		T(test_cookie_header),
		T(test_csrf),
		T(test_set_password),
		T(test_stored_value),
		T(test_stored_value_damaged),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
