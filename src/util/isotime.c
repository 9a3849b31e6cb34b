/*
 * isotime — see isotime.h. Written here rather than with strptime(3)
 * because strptime accepts too much (no zone, short fields) and nothing in
 * libc parses an RFC 3339 offset.
 */
#include "util/isotime.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
expect(const char **p, char a, char b)
{
	if (**p != a && **p != b)
		return -1;
	(*p)++;
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

int
isotime_parse(const char *s, int64_t *ms_out)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 0;

	if (s == NULL ||
	    digits(&p, 4, &y) || expect(&p, '-', '-') ||
	    digits(&p, 2, &mo) || expect(&p, '-', '-') ||
	    digits(&p, 2, &d) || expect(&p, 'T', 't') ||
	    digits(&p, 2, &h) || expect(&p, ':', ':') ||
	    digits(&p, 2, &mi) || expect(&p, ':', ':') ||
	    digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		int scale = 100, n = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			ms += (*p - '0') * scale;
			scale /= 10;
			p++;
			n++;
		}
		if (n == 0)
			return -1;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (digits(&p, 2, &oh) || expect(&p, ':', ':') || digits(&p, 2, &om))
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	if (sec == 60)		/* a leap second: the next second will do */
		sec = 59;

	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (oh * 3600 + om * 60);
	*ms_out = t * 1000 + ms;
	return 0;
}

char *
isotime_format(int64_t ms, char *buf)
{
	time_t t = (time_t)(ms / 1000);
	int frac = (int)(ms % 1000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000;
		t -= 1;
	}
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, ISOTIME_LEN - 6, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, ISOTIME_LEN - n, ".%03dZ", frac % 1000);
	return buf;
}

int64_t
isotime_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int64_t
isotime_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
