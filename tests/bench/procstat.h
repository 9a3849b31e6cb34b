/*
 * procstat.h — what the benchmarks read about processes and the machine:
 * a monotonic clock in µs, a process's memory (VmRSS, VmHWM) and CPU time
 * from /proc, and the CPU model for the report. Header-only (static
 * inline): each benchmark is one .c file linked against the library.
 */
#ifndef SITEGATE_BENCH_PROCSTAT_H
#define SITEGATE_BENCH_PROCSTAT_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* "VmRSS" or "VmHWM" of pid, in kB; -1 when unknown. */
static inline long
proc_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			char *end;

			errno = 0;
			kb = strtol(line + klen + 1, &end, 10);
			if (errno != 0 || end == line + klen + 1)
				kb = -1;
			break;
		}
	fclose(f);
	return kb;
}

/* User + system CPU time of pid in ms (utime and stime, fields 14 and 15
 * of /proc/<pid>/stat, counted after the command name's closing paren);
 * -1 when unknown. */
static inline double
proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p, *end;
	unsigned long long v[2];
	ssize_t len;
	int fd, field;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	len = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	/* p is before field 3 (state); utime is field 14. */
	for (field = 3; field < 14; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return -1;
	}
	for (int i = 0; i < 2; i++) {
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (errno != 0 || end == p)
			return -1;
		p = end;
	}
	return (double)(v[0] + v[1]) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* The "model name" of /proc/cpuinfo, or "unknown". */
static inline void
cpu_model(char *out, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(out, size, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');

			if (v != NULL) {
				v += 2;
				v[strcspn(v, "\n")] = '\0';
				snprintf(out, size, "%s", v);
			}
			break;
		}
	fclose(f);
}

#endif
