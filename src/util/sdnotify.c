/*
 * sdnotify — see sdnotify.h.
 */
#include "util/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Fill *sa from $NOTIFY_SOCKET's value; *len gets the address length to
 * pass to sendto. Returns 0, or -1 when the value is not an absolute path
 * or an '@' abstract name, or does not fit sun_path. */
static int
notify_addr(const char *e, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(e);

	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (e[0] != '/' && e[0] != '@')
		return -1;	/* e.g. systemd's "vsock:" form: not for us */
	if (n < 2 || n > sizeof sa->sun_path - (e[0] == '/'))
		return -1;	/* a path needs room for its NUL */
	memcpy(sa->sun_path, e, n);
	if (e[0] == '@') {
		/* Abstract: the name is exactly the bytes after the NUL,
		 * so the length counts no terminator. */
		sa->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return 0;
}

bool
sdnotify_enabled(void)
{
	const char *e = getenv("NOTIFY_SOCKET");

	return e != NULL && e[0] != '\0';
}

int
sdnotify_send(const char *state)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	size_t n = strlen(state);
	ssize_t sent;
	int fd, saved;

	if (e == NULL || e[0] == '\0')
		return SDNOTIFY_OK;
	if (notify_addr(e, &sa, &len) != 0) {
		errno = EINVAL;
		return SDNOTIFY_E_ADDR;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return SDNOTIFY_E_SOCKET;
	sent = sendto(fd, state, n, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	saved = errno;
	close(fd);
	if (sent < 0 || (size_t)sent != n) {
		errno = sent < 0 ? saved : EMSGSIZE;
		return SDNOTIFY_E_SEND;
	}
	return SDNOTIFY_OK;
}

int
sdnotify_sendf(const char *fmt, ...)
{
	char buf[SDNOTIFY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		errno = EMSGSIZE;
		return SDNOTIFY_E_SEND;
	}
	return sdnotify_send(buf);
}

uint64_t
sdnotify_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (pid != NULL && pid[0] != '\0') {
		long p;

		errno = 0;
		p = strtol(pid, &end, 10);
		if (errno != 0 || *end != '\0' || end == pid || p != (long)getpid())
			return 0;
	}
	if (usec == NULL || usec[0] < '0' || usec[0] > '9')
		return 0;	/* strtoull would take "-1" or " 5" */
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return 0;
	return (uint64_t)v;
}
