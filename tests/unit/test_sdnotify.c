/*
 * Unit tests for util/sdnotify: a real AF_UNIX datagram socket bound in a
 * temporary folder (and one in the abstract namespace) plays systemd;
 * NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are set with setenv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/sdnotify.h"

/* The receiving end: a folder, and a socket bound in it (or abstract). */
struct rx {
	char dir[64];
	char env[128];		/* what NOTIFY_SOCKET is set to */
	int fd;
};

static int
rx_bind(struct rx *rx, bool abstract)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;

	strcpy(rx->dir, "/tmp/sdnotify-XXXXXX");
	assert_non_null(mkdtemp(rx->dir));
	rx->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(rx->fd >= 0);
	if (abstract) {
		/* Unique per run: the folder's random name. */
		snprintf(rx->env, sizeof rx->env, "@sitegate-test-%s",
		    rx->dir + strlen("/tmp/"));
		memcpy(sa.sun_path + 1, rx->env + 1, strlen(rx->env) - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    strlen(rx->env));
	} else {
		snprintf(rx->env, sizeof rx->env, "%s/notify", rx->dir);
		strcpy(sa.sun_path, rx->env);
		len = sizeof sa;
	}
	assert_int_equal(bind(rx->fd, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", rx->env, 1), 0);
	return 0;
}

static void
rx_close(struct rx *rx)
{
	char path[96];

	close(rx->fd);
	snprintf(path, sizeof path, "%s/notify", rx->dir);
	unlink(path);
	rmdir(rx->dir);
	unsetenv("NOTIFY_SOCKET");
}

/* The next datagram is exactly want. */
static void
rx_next(struct rx *rx, const char *want)
{
	char buf[SDNOTIFY_MAX + 16];
	ssize_t n = recv(rx->fd, buf, sizeof buf, MSG_DONTWAIT);

	assert_int_equal(n, (ssize_t)strlen(want));
	assert_memory_equal(buf, want, strlen(want));
}

/* The next datagram is exactly want, and nothing follows it. */
static void
rx_expect(struct rx *rx, const char *want)
{
	char buf[16];

	rx_next(rx, want);
	assert_int_equal(recv(rx->fd, buf, sizeof buf, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

static void
test_path_and_abstract(void **state)
{
	(void)state;
	for (int abstract = 0; abstract < 2; abstract++) {
		struct rx rx;

		rx_bind(&rx, abstract);
		assert_true(sdnotify_enabled());
		assert_int_equal(sdnotify_send("READY=1\nSTATUS=ready"), SDNOTIFY_OK);
		rx_expect(&rx, "READY=1\nSTATUS=ready");
		assert_int_equal(sdnotify_send("WATCHDOG=1"), SDNOTIFY_OK);
		assert_int_equal(sdnotify_send("STOPPING=1"), SDNOTIFY_OK);
		/* In order, one datagram each, never merged. */
		rx_next(&rx, "WATCHDOG=1");
		rx_expect(&rx, "STOPPING=1");
		assert_int_equal(sdnotify_sendf("RELOADING=1\nMONOTONIC_USEC=%d",
		    42), SDNOTIFY_OK);
		rx_expect(&rx, "RELOADING=1\nMONOTONIC_USEC=42");
		rx_close(&rx);
	}
}

static void
test_unset_is_noop(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_false(sdnotify_enabled());
	assert_int_equal(sdnotify_send("READY=1"), SDNOTIFY_OK);
	assert_int_equal(sdnotify_sendf("STATUS=%s", "x"), SDNOTIFY_OK);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_false(sdnotify_enabled());
	assert_int_equal(sdnotify_send("READY=1"), SDNOTIFY_OK);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_bad_address(void **state)
{
	static const struct { const char *env; int err, eno; } cases[] = {
		{ "/nonexistent/sitegate/notify", SDNOTIFY_E_SEND, ENOENT },
		{ "relative/notify", SDNOTIFY_E_ADDR, EINVAL },
		{ "vsock:2:1234", SDNOTIFY_E_ADDR, EINVAL },
		{ "@", SDNOTIFY_E_ADDR, EINVAL },
		{ "/", SDNOTIFY_E_ADDR, EINVAL },
		/* No one bound this abstract name. */
		{ "@sitegate-test-nobody-listens-here", SDNOTIFY_E_SEND,
		    ECONNREFUSED },
	};
	char longpath[200];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		setenv("NOTIFY_SOCKET", cases[i].env, 1);
		errno = 0;
		assert_int_equal(sdnotify_send("READY=1"), cases[i].err);
		assert_int_equal(errno, cases[i].eno);
	}
	/* Longer than sun_path holds. */
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[0] = '/';
	longpath[sizeof longpath - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	assert_int_equal(sdnotify_send("READY=1"), SDNOTIFY_E_ADDR);
	longpath[0] = '@';
	setenv("NOTIFY_SOCKET", longpath, 1);
	assert_int_equal(sdnotify_send("READY=1"), SDNOTIFY_E_ADDR);
	unsetenv("NOTIFY_SOCKET");
}

/* A receiver that reads nothing: the sends fail with EAGAIN once its queue
 * is full, instead of blocking the caller. */
static void
test_full_receiver_never_blocks(void **state)
{
	struct rx rx;
	int rc = SDNOTIFY_OK, i;

	(void)state;
	rx_bind(&rx, false);
	for (i = 0; i < 100000 && rc == SDNOTIFY_OK; i++)
		rc = sdnotify_send("WATCHDOG=1");
	assert_int_equal(rc, SDNOTIFY_E_SEND);
	assert_int_equal(errno, EAGAIN);
	assert_true(i > 1);
	rx_close(&rx);
}

static void
test_too_long(void **state)
{
	static char big[SDNOTIFY_MAX + 1];
	struct rx rx;
	char buf[16];

	(void)state;
	rx_bind(&rx, false);
	memset(big, 'x', sizeof big - 1);
	assert_int_equal(sdnotify_sendf("STATUS=%s", big), SDNOTIFY_E_SEND);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(recv(rx.fd, buf, sizeof buf, MSG_DONTWAIT), -1);
	rx_close(&rx);
}

static void
test_watchdog_usec(void **state)
{
	char self[32], other[32];
	const struct { const char *usec, *pid; uint64_t want; } cases[] = {
		{ NULL, NULL, 0 },
		{ "200000", NULL, 200000 },
		{ "200000", "", 200000 },
		{ "200000", self, 200000 },
		{ "200000", other, 0 },
		{ "200000", "12abc", 0 },
		{ "0", NULL, 0 },
		{ "", NULL, 0 },
		{ "-1", NULL, 0 },
		{ " 5", NULL, 0 },
		{ "10s", NULL, 0 },
		{ "99999999999999999999999", NULL, 0 },
		{ "18446744073709551615", NULL, UINT64_MAX },
	};

	(void)state;
	snprintf(self, sizeof self, "%ld", (long)getpid());
	snprintf(other, sizeof other, "%ld", (long)getpid() + 1);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		if (cases[i].usec)
			setenv("WATCHDOG_USEC", cases[i].usec, 1);
		else
			unsetenv("WATCHDOG_USEC");
		if (cases[i].pid)
			setenv("WATCHDOG_PID", cases[i].pid, 1);
		else
			unsetenv("WATCHDOG_PID");
		assert_true(sdnotify_watchdog_usec() == cases[i].want);
	}
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_and_abstract),
		cmocka_unit_test(test_unset_is_noop),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_full_receiver_never_blocks),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_watchdog_usec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
