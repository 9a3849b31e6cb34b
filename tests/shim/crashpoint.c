/*
 * crashpoint — an LD_PRELOAD shim that kills its process right after a
 * chosen durable write, to test what survives kill -9 between two of them.
 *
 * It wraps fsync() and fdatasync() (SQLite's only ways to make a write
 * durable on Linux) and counts the calls that return successfully while
 * the file named by SITEGATE_CRASH_ARM exists: the test creates that file
 * just before the message it wants to cut, and removes it when the
 * message's effects are complete, so the background writes before and
 * after are not counted. Right after the SITEGATE_CRASH_AT-th counted call
 * has returned (the write is on disk), the process raises SIGKILL: the
 * state on disk is exactly "durable write k done, k+1 not started".
 * SITEGATE_CRASH_AT unset, empty or 0 counts without killing.
 *
 * Every counted call appends one line to the file named by
 * SITEGATE_CRASH_COUNT (when set), before any kill:
 *
 *   <n> <fsync|fdatasync> <unix time in ms> <path of the fd>
 *
 * so the test learns how many durable writes a message took, on what, and
 * when (to set beside the gateway's log).
 *
 * Built as a plain shared object, without sanitizers (the ASan gateway
 * accepts it with ASAN_OPTIONS=verify_asan_link_order=0). It allocates
 * nothing and keeps no locks: the count is atomic, each line is a single
 * write() with O_APPEND.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int sync_fn(int);

static long crash_at = -1;	/* -1: not read yet; 0: never */
static long counted;

/* SITEGATE_CRASH_AT as a non-negative decimal; anything else is 0. */
static long
crash_at_env(void)
{
	const char *s = getenv("SITEGATE_CRASH_AT");
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return 0;
	return v;
}

/* Armed from the first call that sees the arm file until the first call
 * that no longer sees it: one access() per call, cheap next to a sync. */
static int
is_armed(void)
{
	const char *arm = getenv("SITEGATE_CRASH_ARM");

	return arm != NULL && access(arm, F_OK) == 0;
}

static void
record(long n, const char *fn, int fd)
{
	const char *out = getenv("SITEGATE_CRASH_COUNT");
	char proc[64], target[PATH_MAX], line[PATH_MAX + 96];
	struct timespec ts;
	ssize_t len;
	int o, k;

	if (out == NULL || *out == '\0')
		return;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	len = readlink(proc, target, sizeof target - 1);
	if (len < 0)
		len = 0;
	target[len] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	k = snprintf(line, sizeof line, "%ld %s %lld %s\n", n, fn,
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, target);
	if (k < 0 || (size_t)k >= sizeof line)
		k = (int)strlen(line);
	o = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (o < 0)
		return;
	if (write(o, line, (size_t)k) < 0) {
		/* nothing to do: the count file is a diagnostic */
	}
	close(o);
}

static int
wrapped(const char *name, int fd)
{
	sync_fn *real = (sync_fn *)dlsym(RTLD_NEXT, name);
	int rc, saved;
	long n;

	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	rc = real(fd);
	if (rc != 0 || !is_armed())
		return rc;
	saved = errno;
	if (crash_at < 0)
		crash_at = crash_at_env();
	n = __atomic_add_fetch(&counted, 1, __ATOMIC_SEQ_CST);
	record(n, name, fd);
	if (crash_at > 0 && n == crash_at)
		raise(SIGKILL);
	errno = saved;
	return rc;
}

int fsync(int fd);
int fdatasync(int fd);

int
fsync(int fd)
{
	return wrapped("fsync", fd);
}

int
fdatasync(int fd)
{
	return wrapped("fdatasync", fd);
}
