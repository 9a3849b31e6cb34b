/*
 * Unit tests for the small helpers in src/util: log escaping, the recent
 * log ring, RFC 3339 times, password hashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/isotime.h"
#include "util/log.h"
#include "util/pwhash.h"

static void
test_log_esc(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "CP-01", "CP-01" },
		{ "", "\"\"" },
		{ "a b", "\"a b\"" },
		{ "k=v", "\"k=v\"" },
		{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "line\nforged level=error", "\"line\\x0aforged level=error\"" },
		{ "\x1b[31mred", "\"\\x1b[31mred\"" },
		{ "caf\xc3\xa9", "\"caf\\xc3\\xa9\"" },
	};
	char buf[LOG_ESC_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_string_equal(log_esc(buf, sizeof buf, cases[i].in),
		    cases[i].out);
	assert_string_equal(log_esc(buf, sizeof buf, NULL), "-");
}

static void
test_log_esc_truncates(void **state)
{
	char big[1000], buf[16], tiny[4] = "xyz";

	(void)state;
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	log_esc(buf, sizeof buf, big);
	assert_true(strlen(buf) < sizeof buf);
	assert_non_null(strstr(buf, "..."));
	/* Every escape is whole, never cut in the middle. */
	memset(big, '\x01', 40);
	big[40] = '\0';
	log_esc(buf, sizeof buf, big);
	assert_true(strlen(buf) < sizeof buf);
	assert_int_equal(buf[0], '"');
	assert_int_equal(buf[strlen(buf) - 1], '"');
	/* Too small for anything: an empty string, no overflow. */
	log_esc(tiny, sizeof tiny, "hello");
	assert_string_equal(tiny, "");
}

static void
test_log_levels(void **state)
{
	enum log_level l = LOG_LEVEL_ERROR;

	(void)state;
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("loud", &l), -1);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	log_set_level(LOG_LEVEL_WARN);
	assert_false(log_enabled(LOG_LEVEL_INFO));
	assert_true(log_enabled(LOG_LEVEL_ERROR));
	log_set_level(LOG_LEVEL_INFO);
	assert_string_equal(log_level_name(LOG_LEVEL_WARN), "warn");
}

/* What log_recent() handed out, in order. */
struct seen {
	int n;
	char text[8][LOG_RECENT_TEXT];
	enum log_level level[8];
	char module[8][32];
	int64_t ms[8];
};

static void
on_recent(int64_t ms, enum log_level level, const char *module,
    const char *text, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->text[s->n], sizeof s->text[0], "%s", text);
		snprintf(s->module[s->n], sizeof s->module[0], "%s", module);
		s->level[s->n] = level;
		s->ms[s->n] = ms;
	}
	s->n++;
}

/* Run the log with stderr sent to /dev/null; returns the saved fd. */
static int
quiet(void)
{
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);

	assert_true(saved >= 0 && null >= 0);
	dup2(null, STDERR_FILENO);
	close(null);
	return saved;
}

static void
loud(int saved)
{
	dup2(saved, STDERR_FILENO);
	close(saved);
}

static void
test_log_recent(void **state)
{
	struct seen s = { 0 };
	char big[1000];
	int saved = quiet();
	int64_t before = isotime_now_ms();

	(void)state;
	log_recent_clear();
	log_set_level(LOG_LEVEL_INFO);
	/* Below the filter: neither written nor kept. */
	log_debug("t", "hidden");
	log_info("mod", "first n=%d", 1);
	log_warn("other", "second");
	log_error("mod", "third");
	log_recent(LOG_LEVEL_DEBUG, 100, on_recent, &s);
	assert_int_equal(s.n, 3);
	/* Newest first, fields apart, the time of the line. */
	assert_string_equal(s.text[0], "third");
	assert_int_equal(s.level[0], LOG_LEVEL_ERROR);
	assert_string_equal(s.text[1], "second");
	assert_string_equal(s.module[1], "other");
	assert_string_equal(s.text[2], "first n=1");
	assert_string_equal(s.module[2], "mod");
	assert_int_equal(s.level[2], LOG_LEVEL_INFO);
	assert_true(s.ms[2] >= before - 1000 && s.ms[2] <= isotime_now_ms() + 1000);

	/* The level filter of the reader, and max. */
	memset(&s, 0, sizeof s);
	log_recent(LOG_LEVEL_WARN, 100, on_recent, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[1], "second");
	memset(&s, 0, sizeof s);
	log_recent(LOG_LEVEL_DEBUG, 1, on_recent, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.text[0], "third");
	memset(&s, 0, sizeof s);
	log_recent(LOG_LEVEL_DEBUG, 0, on_recent, &s);
	assert_int_equal(s.n, 0);

	/* Debug lines are kept when debug is written. */
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("t", "shown");
	log_set_level(LOG_LEVEL_INFO);
	memset(&s, 0, sizeof s);
	log_recent(LOG_LEVEL_DEBUG, 1, on_recent, &s);
	assert_string_equal(s.text[0], "shown");
	assert_int_equal(s.level[0], LOG_LEVEL_DEBUG);

	/* Truncation: at most LOG_RECENT_TEXT - 1 bytes, ending in "...". */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	log_info("t", "%s", big);
	memset(&s, 0, sizeof s);
	log_recent(LOG_LEVEL_DEBUG, 1, on_recent, &s);
	assert_int_equal(strlen(s.text[0]), LOG_RECENT_TEXT - 1);
	assert_string_equal(s.text[0] + LOG_RECENT_TEXT - 4, "...");
	assert_int_equal(s.text[0][0], 'x');

	/* Wrap: only the last LOG_RECENT_LINES stay, newest first. */
	for (int i = 0; i < LOG_RECENT_LINES + 7; i++)
		log_info("t", "line %d", i);
	memset(&s, 0, sizeof s);
	log_recent(LOG_LEVEL_DEBUG, 100000, on_recent, &s);
	assert_int_equal(s.n, LOG_RECENT_LINES);
	{
		char want[32];

		snprintf(want, sizeof want, "line %d", LOG_RECENT_LINES + 6);
		assert_string_equal(s.text[0], want);
		snprintf(want, sizeof want, "line %d", LOG_RECENT_LINES + 5);
		assert_string_equal(s.text[1], want);
	}
	loud(saved);
	log_recent_clear();
}

/* The oldest line kept after a wrap is the 8th of 507 (index 7). */
static void
last_of(int64_t ms, enum log_level level, const char *module,
    const char *text, void *arg)
{
	(void)ms;
	(void)level;
	(void)module;
	snprintf(arg, 32, "%s", text);
}

static void
test_log_recent_oldest(void **state)
{
	char last[32] = "";
	int saved = quiet();

	(void)state;
	log_recent_clear();
	for (int i = 0; i < LOG_RECENT_LINES + 7; i++)
		log_info("t", "line %d", i);
	log_recent(LOG_LEVEL_DEBUG, LOG_RECENT_LINES + 100, last_of, last);
	loud(saved);
	assert_string_equal(last, "line 7");
	log_recent_clear();
}

static void
test_isotime_parse(void **state)
{
	static const struct { const char *in; int64_t ms; } good[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-11-21T16:20:00Z", 1795278000000LL },
		{ "2026-11-21T16:20:00.5Z", 1795278000500LL },
		{ "2026-11-21T16:20:00.123456Z", 1795278000123LL },
		{ "2026-11-21T17:20:00+01:00", 1795278000000LL },
		{ "2026-11-21t16:20:00z", 1795278000000LL },
		{ "2024-02-29T00:00:00Z", 1709164800000LL },
		{ "2026-11-21T10:50:00-05:30", 1795278000000LL },
	};
	static const char *const bad[] = {
		"", "2026-11-21", "2026-11-21T16:20:00", "2026-11-21 16:20:00Z",
		"2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-21T24:00:00Z",
		"2026-11-21T16:20:00.Z", "2026-11-21T16:20:00Zjunk", "26-11-21T16:20:00Z",
		"2026-11-21T16:20:00+0100", "tomorrow",
	};
	int64_t ms = 42;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(isotime_parse(good[i].in, &ms), 0);
		assert_int_equal(ms, good[i].ms);
	}
	ms = 42;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(isotime_parse(bad[i], &ms), -1);
		assert_int_equal(ms, 42);
	}
	assert_int_equal(isotime_parse(NULL, &ms), -1);
}

static void
test_isotime_format(void **state)
{
	char buf[ISOTIME_LEN];
	int64_t back;

	(void)state;
	assert_string_equal(isotime_format(1795278000123LL, buf),
	    "2026-11-21T16:20:00.123Z");
	assert_string_equal(isotime_format(0, buf), "1970-01-01T00:00:00.000Z");
	assert_int_equal(isotime_parse(isotime_format(1234567890123LL, buf), &back), 0);
	assert_int_equal(back, 1234567890123LL);
	assert_true(isotime_now_ms() > 1795278000000LL - 86400000LL * 365);
}

static void
test_pwhash(void **state)
{
	struct pwhash a, b;

	(void)state;
	assert_int_equal(pwhash_set(&a, "secret-password-1", 17), 0);
	assert_int_equal(pwhash_set(&b, "secret-password-1", 17), 0);
	assert_true(a.set);
	assert_true(pwhash_check(&a, "secret-password-1", 17));
	assert_false(pwhash_check(&a, "secret-password-2", 17));
	assert_false(pwhash_check(&a, "secret-password-1", 16));
	/* Salted: the same secret hashes differently each time. */
	assert_memory_not_equal(a.hash, b.hash, PWHASH_LEN);
	memset(&a, 0, sizeof a);
	assert_false(pwhash_check(&a, "", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_esc),
		cmocka_unit_test(test_log_esc_truncates),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_log_recent),
		cmocka_unit_test(test_log_recent_oldest),
		cmocka_unit_test(test_isotime_parse),
		cmocka_unit_test(test_isotime_format),
		cmocka_unit_test(test_pwhash),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
