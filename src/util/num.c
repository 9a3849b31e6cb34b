/*
 * num — see num.h.
 *
 * The digits are accumulated as a negative number: INT64_MIN has no
 * positive counterpart, so counting down reaches every int64_t without
 * overflowing on the way.
 */
#include "util/num.h"

#include <stdbool.h>
#include <stddef.h>

int
num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	bool neg = false;
	int64_t v = 0;			/* minus the value read so far */

	if (s == NULL)
		return -1;
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -1;		/* empty, blank, '+' or no digit */
	for (; *s >= '0' && *s <= '9'; s++) {
		int d = *s - '0';

		if (v < (INT64_MIN + d) / 10)
			return -1;	/* beyond int64_t */
		v = v * 10 - d;
	}
	if (*s != '\0')
		return -1;
	if (!neg) {
		if (v == INT64_MIN)
			return -1;
		v = -v;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
