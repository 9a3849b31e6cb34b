/*
 * hostsfile — an LD_PRELOAD shim that gives a process the hosts file of
 * the test's choosing: an open() of /etc/hosts opens the file named by
 * SITEGATE_HOSTS instead (unset or empty: /etc/hosts itself). Nothing else
 * is touched.
 *
 * What it is for: a broker name that resolves to an address with no
 * broker before one with a broker, the way Debian's /etc/hosts maps
 * localhost to ::1 and then 127.0.0.1, without root and without changing
 * the machine. It reaches what reads the hosts file through the C
 * library's open() (libevent's evdns, which the gateway resolves with);
 * glibc's own resolver opens the file internally and is not redirected,
 * so a name that only the test's file knows does not resolve at all
 * through getaddrinfo().
 *
 * Built as a plain shared object, without sanitizers (the ASan gateway
 * accepts it with ASAN_OPTIONS=verify_asan_link_order=0).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

typedef int open_fn(const char *, int, ...);

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);

static int
redirected(const char *name, const char *path, int flags, va_list ap)
{
	open_fn *real = (open_fn *)dlsym(RTLD_NEXT, name);
	const char *hosts = getenv("SITEGATE_HOSTS");
	mode_t mode = 0;

	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (flags & (O_CREAT | O_TMPFILE))
		mode = (mode_t)va_arg(ap, int);
	if (path != NULL && strcmp(path, "/etc/hosts") == 0 && hosts != NULL &&
	    *hosts != '\0')
		path = hosts;
	return real(path, flags, mode);
}

int
open(const char *path, int flags, ...)
{
	va_list ap;
	int rc;

	va_start(ap, flags);
	rc = redirected("open", path, flags, ap);
	va_end(ap);
	return rc;
}

int
open64(const char *path, int flags, ...)
{
	va_list ap;
	int rc;

	va_start(ap, flags);
	rc = redirected("open64", path, flags, ap);
	va_end(ap);
	return rc;
}
