/*
 * isotime — RFC 3339 date-times, as OCPP carries them ("dateTime" fields).
 *
 * Parsing accepts what RFC 3339 allows: "2026-11-21T16:20:00Z",
 * "2026-11-21T16:20:00.123+01:00", lower-case 't'/'z' included; it rejects
 * anything else (missing zone, out-of-range fields, trailing text).
 * Formatting always writes UTC with milliseconds: "2026-11-21T16:20:00.123Z".
 */
#ifndef SITEGATE_ISOTIME_H
#define SITEGATE_ISOTIME_H

#include <stdint.h>

#define ISOTIME_LEN 32	/* buffer size that fits any formatted time */

/* Parse s into milliseconds since the Unix epoch. Returns 0, or -1 when s
 * is not an RFC 3339 date-time (then *ms_out is untouched). */
int isotime_parse(const char *s, int64_t *ms_out);

/* Format ms since the epoch as UTC with milliseconds into buf (at least
 * ISOTIME_LEN bytes). Returns buf. */
char *isotime_format(int64_t ms, char *buf);

/* The wall clock, in ms since the epoch. */
int64_t isotime_now_ms(void);

/* A monotonic clock in ms (for timeouts and rates; not a date). */
int64_t isotime_mono_ms(void);

#endif
