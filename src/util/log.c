/*
 * log — see log.h.
 *
 * Each line is formatted into one stack buffer and written with a single
 * write(2), so lines from this process never interleave mid-line even when
 * stderr is a pipe shared with children. A line longer than the buffer is
 * cut and marked with "...".
 *
 * The recent ring is a static array of slots written round-robin: a line
 * costs one memcpy of its text (at most LOG_RECENT_TEXT bytes) besides the
 * write(2). Slots hold the text without the time/level/module prefix, so
 * that readers get the fields apart.
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

#define RECENT_MODULE 16

struct recent {
	int64_t ms;
	enum log_level level;
	char module[RECENT_MODULE];
	char text[LOG_RECENT_TEXT];
};

static struct recent recent[LOG_RECENT_LINES];
static size_t recent_next;		/* the slot the next line takes */
static size_t recent_count;		/* slots in use */

/* Keep a line in the ring: text is len bytes, not NUL-terminated. */
static void
recent_add(int64_t ms, enum log_level level, const char *module,
    const char *text, size_t len)
{
	struct recent *r = &recent[recent_next];

	r->ms = ms;
	r->level = level;
	snprintf(r->module, sizeof r->module, "%s", module);
	if (len >= sizeof r->text) {
		len = sizeof r->text - 4;
		memcpy(r->text + len, "...", 3);
		memcpy(r->text, text, len);
		len += 3;
	} else {
		memcpy(r->text, text, len);
	}
	r->text[len] = '\0';
	recent_next = (recent_next + 1) % LOG_RECENT_LINES;
	if (recent_count < LOG_RECENT_LINES)
		recent_count++;
}

void
log_recent(enum log_level min, size_t max, log_recent_cb *cb, void *arg)
{
	size_t at = recent_next, count = recent_count, seen = 0;

	for (size_t i = 0; i < count && seen < max; i++) {
		const struct recent *r;

		at = at == 0 ? LOG_RECENT_LINES - 1 : at - 1;
		r = &recent[at];
		if (r->level < min)
			continue;
		seen++;
		cb(r->ms, r->level, r->module, r->text, arg);
	}
}

void
log_recent_clear(void)
{
	recent_next = 0;
	recent_count = 0;
}

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
	size_t n, text;
	int r;
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof line - n, ".%03dZ %-5s %s: ",
	    (int)(tv.tv_usec / 1000), log_level_name(level), module);
	if (r > 0)
		n += (size_t)r < sizeof line - n ? (size_t)r : sizeof line - n - 1;
	text = n;

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
	recent_add((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, level, module,
	    line + text, n - text);
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
