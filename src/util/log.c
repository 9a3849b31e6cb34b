/*
 * log — see log.h.
 *
 * Each line is formatted into one stack buffer and written with a single
 * write(2), so lines from this process never interleave mid-line even when
 * stderr is a pipe shared with children. A line longer than the buffer is
 * cut and marked with "...".
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

static enum log_level min_level = LOG_LEVEL_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_set_level(enum log_level level)
{
	min_level = level;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof level_names / sizeof level_names[0])
		return "?";
	return level_names[level];
}

bool
log_enabled(enum log_level level)
{
	return level >= min_level;
}

void
log_write(enum log_level level, const char *module, const char *fmt, ...)
{
	char line[LINE_MAX_BYTES];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof line - n, ".%03dZ %-5s %s: ",
	    (int)(tv.tv_usec / 1000), log_level_name(level), module);
	if (r > 0)
		n += (size_t)r < sizeof line - n ? (size_t)r : sizeof line - n - 1;

	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof line - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		r = 0;
	if ((size_t)r >= sizeof line - n) {
		n = sizeof line - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	} else {
		n += (size_t)r;
	}
	/* A newline inside the text would start a forged line: flatten it. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';

	/* Nothing sensible can be done when stderr is gone. */
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

const char *
log_esc(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	bool quote = false;
	size_t o = 0;

	if (len < 8) {		/* too small for a quoted "..." */
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	if (s == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (*s == '\0')
		quote = true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '=' || *p == '"' || *p == '\\')
			quote = true;

	/* Reserve room for the closing quote, "..." and the NUL. */
	size_t limit = len - 5;
	if (quote)
		buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[4];
		size_t tn;

		if (*p == '"' || *p == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)*p;
			tn = 2;
		} else if (*p < ' ' || *p >= 0x7f) {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex[*p >> 4];
			tmp[3] = hex[*p & 0xf];
			tn = 4;
		} else {
			tmp[0] = (char)*p;
			tn = 1;
		}
		if (o + tn > limit) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, tmp, tn);
		o += tn;
	}
	if (quote)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
