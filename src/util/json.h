/*
 * json — small readers over cJSON for payloads that were already
 * validated (absent or mistyped members read as "not there"), and the
 * printer every outgoing message goes through.
 */
#ifndef SITEGATE_JSON_H
#define SITEGATE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "a string", "a number", "a boolean", "null", "an array", "an object"
 * (or "an invalid value"): for messages that say what was found. */
const char *json_type_name(const cJSON *v);

/* The string member key of obj, or NULL. */
const char *json_str(const cJSON *obj, const char *key);

/* Copy the string member key into dst (len bytes, always terminated; ""
 * when absent). Returns true when it was there. */
bool json_copy(char *dst, size_t len, const cJSON *obj, const char *key);

/* The number member key as an int (truncated toward zero), or dflt. */
int json_int(const cJSON *obj, const char *key, int dflt);

/* The number member key, or dflt. */
double json_num(const cJSON *obj, const char *key, double dflt);

/* The boolean member key, or dflt. */
bool json_bool(const cJSON *obj, const char *key, bool dflt);

/* Parse the RFC 3339 member key into *ms. Returns 0, 1 when absent, or -1
 * when present but not a date-time. */
int json_time(const cJSON *obj, const char *key, int64_t *ms);

/* Add an RFC 3339 time member (UTC, milliseconds). */
void json_add_time(cJSON *obj, const char *key, int64_t ms);

/* Whether a string of the JSON text (len bytes, which cJSON has parsed)
 * holds U+0000, written "\u0000" or as a raw zero byte: cJSON's strings
 * end at the first NUL, so such a string reaches its reader cut short.
 * Returns 1 and writes the JSON path of the first one (as the schema
 * writes paths: "b[2].d", "[3].idTag"; "" for the root; a member name that
 * holds it gives its member's path) into path (cap bytes, cut short when
 * longer, always terminated); returns 0 when there is none. */
int json_find_nul(const char *text, size_t len, char *path, size_t cap);

/* A new array of the three values of v (per phase), each rounded to a
 * tenth (amperes as the documents show them). */
cJSON *json_tenths3(const double *v);

/* Print v without whitespace, byte for byte as cJSON_PrintUnformatted()
 * of libcjson 1.7 would, only faster: whole numbers and tenths (every
 * current and power the gateway sends) skip the printf/scanf round trip
 * libcjson makes for every number. Except: a whole number prints with all
 * its digits up to 2^53 (libcjson rounds 16-digit ones, 9007199254740991
 * to 9.00719925474099e+15), and beyond so that it reads back as the same
 * double. Returns a malloc'd string (free()),
 * its length in *len when len is not NULL; NULL for an invalid item (a
 * raw one without text, an unknown type, or nesting deeper than
 * CJSON_NESTING_LIMIT). */
char *json_print(const cJSON *v, size_t *len);

#endif
