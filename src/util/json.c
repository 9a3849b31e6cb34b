/*
 * json — see json.h.
 *
 * The printer writes into one growing buffer. Its output is defined as
 * libcjson's (the unit test compares the two over random trees): strings
 * escape '"', '\\' and the control characters, short forms for \b \f \n
 * \r \t and \u00XX for the others, and pass every other byte through;
 * numbers print as "%1.15g", or "%1.17g" when that does not read back as
 * the same double (within a relative DBL_EPSILON, as libcjson checks);
 * NaN and the infinities print as null. The fast paths produce exactly
 * those strings for whole numbers and tenths below 1e14.
 *
 * One deliberate difference: whole numbers. libcjson's epsilon lets
 * "%1.15g" drop digits from 1e15 on (9007199254740991 prints as
 * 9.00719925474099e+15), and a transaction id or a Wh register with a wrong
 * last digit is a wrong value. Here every whole number up to 2^53 (each
 * one exact in a double) prints with all its digits, and a larger one
 * prints so that it reads back as exactly the same double. Fractions keep
 * libcjson's rule: within an ulp is as good as exact for a measurement.
 */
#include "util/json.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/isotime.h"

const char *
json_type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "an invalid value";
}

const char *
json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool
json_copy(char *dst, size_t len, const cJSON *obj, const char *key)
{
	const char *s = json_str(obj, key);

	snprintf(dst, len, "%s", s ? s : "");
	return s != NULL;
}

double
json_num(const cJSON *obj, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble :
	    dflt;
}

int
json_int(const cJSON *obj, const char *key, int dflt)
{
	double d = json_num(obj, key, NAN);

	if (isnan(d) || d < -2147483648.0 || d > 2147483647.0)
		return dflt;
	return (int)d;
}

bool
json_bool(const cJSON *obj, const char *key, bool dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

int
json_time(const cJSON *obj, const char *key, int64_t *ms)
{
	const char *s = json_str(obj, key);

	if (s == NULL)
		return cJSON_GetObjectItemCaseSensitive(obj, key) ? -1 : 1;
	return isotime_parse(s, ms) == 0 ? 0 : -1;
}

void
json_add_time(cJSON *obj, const char *key, int64_t ms)
{
	char buf[ISOTIME_LEN];

	cJSON_AddStringToObject(obj, key, isotime_format(ms, buf));
}

/* ------------------------------------------------------ U+0000 in strings */

/* One level of nesting while scanning: an array and the index of the
 * current element, or an object and the raw text of the current member's
 * name (escapes as written). */
struct nul_step {
	const char *key;
	size_t keylen;
	int index;
	bool array;
};

static void
nul_path(const struct nul_step *st, size_t depth, char *path, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return;
	for (size_t d = 0; d < depth && o + 1 < cap; d++) {
		if (st[d].array) {
			int n = snprintf(path + o, cap - o, "[%d]", st[d].index);
			o = n < 0 ? o : (size_t)n >= cap - o ? cap - 1 : o + (size_t)n;
			continue;
		}
		if (st[d].key == NULL)
			break;			/* "{" and no member yet */
		if (o > 0)
			path[o++] = '.';
		/* A raw zero or control byte in a name would end or garble
		 * the text: '?' stands for it. */
		for (size_t k = 0; k < st[d].keylen && o + 1 < cap; k++) {
			unsigned char c = (unsigned char)st[d].key[k];
			path[o++] = c < 0x20 ? '?' : (char)c;
		}
	}
	path[o < cap ? o : cap - 1] = '\0';
}

/* The walk of json_find_nul(), for a text that may hold U+0000: it
 * follows the nesting (and nothing else of the grammar, the text being
 * valid JSON) to know the path of each string. */
static int
nul_scan(const char *text, size_t len, char *path, size_t cap)
{
	/* cJSON refuses deeper texts, so every level has its step. */
	struct nul_step st[CJSON_NESTING_LIMIT + 1];
	const char *p = text, *end = text + len;
	size_t depth = 0;
	bool want_key = false;		/* in an object, before a name */

	while (p < end) {
		char c = *p++;
		const char *start;
		bool nul = false;

		switch (c) {
		case '{':
		case '[':
			if (depth == sizeof st / sizeof st[0])
				return 0;	/* not a text cJSON parsed */
			st[depth++] = (struct nul_step){ .array = c == '[' };
			want_key = c == '{';
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			want_key = false;
			break;
		case ',':
			if (depth > 0 && st[depth - 1].array)
				st[depth - 1].index++;
			else if (depth > 0)
				want_key = true;
			break;
		case '"':
			/* Every escape is a backslash and one character; the
			 * four hex digits of \uXXXX are plain characters, and
			 * only \u0000 decodes to U+0000 (a surrogate pair
			 * never does). */
			for (start = p; p < end && *p != '"'; p++) {
				if (*p == '\0')
					nul = true;
				else if (*p == '\\') {
					if (end - p >= 6 && memcmp(p, "\\u0000", 6) == 0)
						nul = true;
					p++;
				}
			}
			if (want_key) {
				st[depth - 1].key = start;
				st[depth - 1].keylen = (size_t)(p - start);
				want_key = false;
			}
			p++;			/* the closing quote */
			if (nul) {
				nul_path(st, depth, path, cap);
				return 1;
			}
			break;
		default:
			break;			/* blanks, ':', numbers, literals */
		}
	}
	return 0;
}

int
json_find_nul(const char *text, size_t len, char *path, size_t cap)
{
	/* Nearly every text has neither: no walk. */
	if (memchr(text, '\0', len) == NULL &&
	    memmem(text, len, "\\u0000", 6) == NULL)
		return 0;
	return nul_scan(text, len, path, cap);
}

/* ------------------------------------------------------------ printing */

struct out {
	char *p;
	size_t len, cap;
};

static void
reserve(struct out *o, size_t n)
{
	if (o->len + n <= o->cap)
		return;
	while (o->len + n > o->cap)
		o->cap *= 2;
	if ((o->p = realloc(o->p, o->cap)) == NULL)
		abort();
}

static void
put(struct out *o, const char *s, size_t n)
{
	reserve(o, n);
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* Write the decimal digits of u so that they end just before end;
 * returns where they start. */
static char *
digits(char *end, unsigned long long u)
{
	do
		*--end = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	return end;
}

static void
put_number(struct out *o, double d)
{
	char buf[32], *s, *end = buf + sizeof buf;
	double back, big;
	int n;

	if (!isfinite(d)) {
		put(o, "null", 4);
		return;
	}
	/* Every whole number up to 2^53 is exact in a double and in a long
	 * long: all its digits (see the note at the top). -0 is left to
	 * "%1.15g", which prints it as libcjson does. */
	if (floor(d) == d && fabs(d) <= 9007199254740992.0 &&
	    !(d == 0 && signbit(d))) {
		long long k = (long long)d;
		unsigned long long u = k < 0 ? 0ULL - (unsigned long long)k :
		    (unsigned long long)k;

		s = digits(end, u);
		if (k < 0)
			*--s = '-';
		put(o, s, (size_t)(end - s));
		return;
	}
	/* Below 1e14 "%1.15g" shows a whole number in full and a tenth
	 * with its one decimal: k / 10.0 is the double nearest to k
	 * tenths, which 15 significant digits print as exactly that. */
	if (fabs(d) < 1e14 && !(d == 0 && signbit(d))) {
		double t = d * 10;
		long long k = (long long)t;

		if ((double)k == t && (double)k / 10.0 == d) {
			unsigned long long u = k < 0 ? 0ULL - (unsigned long long)k :
			    (unsigned long long)k;

			s = end;
			if (u % 10 != 0) {
				*--s = (char)('0' + u % 10);
				*--s = '.';
			}
			s = digits(s, u / 10);
			if (k < 0)
				*--s = '-';
			put(o, s, (size_t)(end - s));
			return;
		}
	}
	/* libcjson's test: does it read back within a relative epsilon;
	 * for a whole number (here: beyond 2^53), exactly. */
	n = snprintf(buf, sizeof buf, "%1.15g", d);
	back = strtod(buf, NULL);
	big = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
	if (floor(d) == d ? back != d : !(fabs(back - d) <= big * DBL_EPSILON))
		n = snprintf(buf, sizeof buf, "%1.17g", d);
	put(o, buf, (size_t)n);
}

static void
put_string(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	size_t run;

	reserve(o, 2);
	o->p[o->len++] = '"';
	for (;;) {
		for (run = 0; u[run] >= 32 && u[run] != '"' && u[run] != '\\';
		    run++)
			;
		put(o, (const char *)u, run);
		u += run;
		if (*u == '\0')
			break;
		reserve(o, 6);
		o->p[o->len++] = '\\';
		switch (*u) {
		case '"': o->p[o->len++] = '"'; break;
		case '\\': o->p[o->len++] = '\\'; break;
		case '\b': o->p[o->len++] = 'b'; break;
		case '\f': o->p[o->len++] = 'f'; break;
		case '\n': o->p[o->len++] = 'n'; break;
		case '\r': o->p[o->len++] = 'r'; break;
		case '\t': o->p[o->len++] = 't'; break;
		default:
			memcpy(o->p + o->len, "u00", 3);
			o->p[o->len + 3] = hex[*u >> 4];
			o->p[o->len + 4] = hex[*u & 15];
			o->len += 5;
		}
		u++;
	}
	reserve(o, 1);
	o->p[o->len++] = '"';
}

static int
put_value(struct out *o, const cJSON *v, int depth)
{
	const cJSON *c;
	char open, close;

	if (depth > CJSON_NESTING_LIMIT)
		return -1;
	switch (v->type & 0xff) {
	case cJSON_NULL:
		put(o, "null", 4);
		return 0;
	case cJSON_False:
		put(o, "false", 5);
		return 0;
	case cJSON_True:
		put(o, "true", 4);
		return 0;
	case cJSON_Number:
		put_number(o, v->valuedouble);
		return 0;
	case cJSON_String:
		put_string(o, v->valuestring);	/* NULL prints as "" */
		return 0;
	case cJSON_Raw:
		if (v->valuestring == NULL)
			return -1;
		put(o, v->valuestring, strlen(v->valuestring));
		return 0;
	case cJSON_Array:
		open = '[';
		close = ']';
		break;
	case cJSON_Object:
		open = '{';
		close = '}';
		break;
	default:
		return -1;
	}
	put(o, &open, 1);
	for (c = v->child; c != NULL; c = c->next) {
		if (c != v->child)
			put(o, ",", 1);
		if (open == '{') {
			put_string(o, c->string);
			put(o, ":", 1);
		}
		if (put_value(o, c, depth + 1) != 0)
			return -1;
	}
	put(o, &close, 1);
	return 0;
}

char *
json_print(const cJSON *v, size_t *len)
{
	struct out o = { .cap = 256 };

	if (v == NULL)
		return NULL;
	if ((o.p = malloc(o.cap)) == NULL)
		abort();
	if (put_value(&o, v, 0) != 0) {
		free(o.p);
		return NULL;
	}
	reserve(&o, 1);
	o.p[o.len] = '\0';
	if (len != NULL)
		*len = o.len;
	return o.p;
}

cJSON *
json_tenths3(const double *v)
{
	cJSON *a = cJSON_CreateArray();

	for (int p = 0; p < 3; p++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(round(v[p] * 10) / 10));
	return a;
}
