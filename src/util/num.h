/*
 * num — strict parsing of numbers written as text.
 *
 * One parser for every integer the gateway reads from text it did not
 * format itself a moment ago: configuration values a charger reports, the
 * values an upstream CSMS sets, transaction ids, settings kept in the state
 * file. strtol alone is too lenient for them: it skips leading blanks,
 * takes a '+', stops quietly at the first non-digit ("10abc" is 10) and
 * saturates on overflow. Here the whole string must be the number: an
 * optional '-', then decimal digits, nothing else; and the value must lie
 * in the caller's range. Leading zeros are allowed ("007" is 7), as every
 * OCPP peer writes integers in decimal.
 *
 * Pure: no allocation, no locale, no errno left behind.
 */
#ifndef SITEGATE_UTIL_NUM_H
#define SITEGATE_UTIL_NUM_H

#include <stdint.h>

/* Read s as a decimal integer in [min, max]. Returns 0 with *out set, or
 * -1 (*out untouched) when s is NULL or empty, holds anything beyond an
 * optional leading '-' and digits (blanks, '+', a fraction, trailing
 * text), or its value lies outside the range (overflow included). */
int num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
