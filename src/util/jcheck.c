/*
 * jcheck — see jcheck.h for the rules and the order they are checked in.
 *
 * The walk keeps where it is as a stack of steps (a member name or an array
 * index) and turns it into "a.b[2].c" only when a violation is recorded:
 * most documents are valid, and formatting every step cost more than
 * checking it. Each check returns whether its value passed; w->stop says
 * the walk is over (the first violation without an each() callback, or
 * each() asked for it), and every loop looks at it before going on.
 */
#include "util/jcheck.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/isotime.h"

/* Steps kept for the path; deeper ones are walked but not named. The
 * tables bound the depth, OCPP's well below this (2.0.1's deepest path,
 * down to a sales tariff cost's customData in a SetChargingProfile,
 * has 12 steps). */
#define WALK_DEPTH 32

struct walk {
	const struct jc_opts *o;
	struct jc_result *r;		/* NULL: nobody wants the details */
	int first;			/* rule of the first violation */
	bool stop;
	size_t depth;			/* steps pushed, kept or not */
	struct {
		const char *name;	/* NULL: an index */
		int index;
	} step[WALK_DEPTH];
};

char *
jc_quote(const char *s, char *buf, size_t n)
{
	size_t o = 0, limit = n - 4 < 40 ? n - 4 : 40;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[5];
		size_t k;

		if (*p == '"' || *p == '\\')
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		else {
			tmp[0] = (char)*p;
			k = 1;
		}
		/* stop before a character that does not fit, not inside */
		if (o + k > limit && (*p & 0xc0) != 0x80) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (o + k > n - 4)
			break;
		memcpy(buf + o, tmp, k);
		o += k;
	}
	buf[o] = '\0';
	return buf;
}

/* Enter member name, or array item index when name is NULL; returns the
 * depth before, for pop. */
static size_t
push(struct walk *w, const char *name, int index)
{
	size_t mark = w->depth;

	if (w->depth < WALK_DEPTH) {
		w->step[w->depth].name = name;
		w->step[w->depth].index = index;
	}
	w->depth++;
	return mark;
}

static void
pop(struct walk *w, size_t mark)
{
	w->depth = mark;
}

/* The run's prefix, then ".name" ("name" first) or "[i]" per step, names
 * quoted; cut short when it does not fit. */
static void
path_format(const struct walk *w, char *buf, size_t n)
{
	size_t depth = w->depth < WALK_DEPTH ? w->depth : WALK_DEPTH;
	int k = snprintf(buf, n, "%s", w->o->path != NULL ? w->o->path : "");
	size_t len;

	if (k < 0 || (size_t)k >= n)
		return;
	len = (size_t)k;
	for (size_t i = 0; i < depth; i++) {
		size_t room = n - len;
		char q[64];

		k = w->step[i].name != NULL ?
		    snprintf(buf + len, room, "%s%s", len > 0 ? "." : "",
		    jc_quote(w->step[i].name, q, sizeof(q))) :
		    snprintf(buf + len, room, "[%d]", w->step[i].index);
		if (k < 0 || (size_t)k >= room)
			return;
		len += (size_t)k;
	}
}

/* Record a violation at the current path; returns false (the value did
 * not pass) so that a check can end with it. */
static bool
fail(struct walk *w, enum jc_rule rule, enum jc_detail detail,
    const struct jc_field *f, const cJSON *got, int items)
{
	struct jc_result *r = w->r;

	if (w->first == JC_OK)
		w->first = rule;
	if (r != NULL) {
		r->rule = rule;
		r->detail = detail;
		r->field = f;
		r->got = got;
		r->items = items;
		path_format(w, r->path, sizeof(r->path));
	}
	if (w->o->each == NULL || w->o->each(w->o->arg, r) != 0)
		w->stop = true;
	return false;
}

/* Length in Unicode code points, as JSON Schema's maxLength counts. */
static size_t
utf8_length(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return n;
}

/* ----------------------------------------------------------- RFC 3986 uri */

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_unreserved(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '-' ||
	    c == '.' || c == '_' || c == '~';
}

static bool
is_sub_delim(int c)
{
	return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

static bool
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* Skip characters of the class unreserved / pct-encoded / sub-delims plus
 * those in extra; returns where it stopped, or NULL at a bad "%". */
static const char *
uri_span(const char *p, const char *extra)
{
	for (;;) {
		if (*p == '%') {
			if (!is_hex(p[1]) || !is_hex(p[2]))
				return NULL;
			p += 3;
		} else if (*p != '\0' && (is_unreserved(*p) ||
		    is_sub_delim(*p) || strchr(extra, *p) != NULL)) {
			p++;
		} else {
			return p;
		}
	}
}

/* RFC 3986 "URI": scheme ":" hier-part [ "?" query ] [ "#" fragment ]. */
static bool
uri_valid(const char *s)
{
	const char *p = s;

	if (!is_alpha(*p))		/* scheme */
		return false;
	while (is_alpha(*p) || (*p >= '0' && *p <= '9') || *p == '+' ||
	    *p == '-' || *p == '.')
		p++;
	if (*p++ != ':')
		return false;
	if (p[0] == '/' && p[1] == '/') {
		p += 2;
		const char *end = p + strcspn(p, "/?#");
		const char *at = memchr(p, '@', (size_t)(end - p));
		if (at != NULL) {	/* userinfo */
			if (uri_span(p, ":") != at)
				return false;
			p = at + 1;
		}
		if (*p == '[') {	/* IP-literal, loosely */
			const char *q = p + 1;
			while (is_hex(*q) || *q == ':' || *q == '.' ||
			    *q == 'v' || *q == 'V')
				q++;
			if (*q != ']' || q == p + 1)
				return false;
			p = q + 1;
		} else {		/* reg-name, IPv4 included */
			p = uri_span(p, "");
			if (p == NULL)
				return false;
		}
		if (*p == ':')		/* port */
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		if (p != end)
			return false;
	}
	p = uri_span(p, ":@/");		/* the path */
	if (p != NULL && *p == '?')
		p = uri_span(p + 1, ":@/?");
	if (p != NULL && *p == '#')
		p = uri_span(p + 1, ":@/?");
	return p != NULL && *p == '\0';
}

/* ---------------------------------------------------------------- checks */

static bool check_object(struct walk *w, const struct jc_field *fields,
    const cJSON *obj);

static bool
check_string(struct walk *w, const struct jc_field *f, const cJSON *v)
{
	const char *s = v->valuestring;

	if (f->nenums > 0) {
		uint16_t i;

		for (i = 0; i < f->nenums; i++)
			if (strcmp(f->enums[i], s) == 0)
				break;
		if (i == f->nenums)
			return fail(w, JC_VALUE, JC_D_ENUM, f, v, 0);
	}
	if (f->min_len > 0 || f->max_len > 0) {
		size_t n = f->flags & JC_BYTES ? strlen(s) : utf8_length(s);

		if (n < f->min_len || (f->max_len > 0 && n > f->max_len))
			return fail(w, JC_VALUE, JC_D_LENGTH, f, v, 0);
	}
	switch (f->format) {
	case JC_DATETIME: {
		int64_t ms;

		if (isotime_parse(s, &ms) != 0)
			return fail(w, JC_VALUE, JC_D_FORMAT, f, v, 0);
		return true;
	}
	case JC_URI:
		if (!uri_valid(s))
			return fail(w, JC_VALUE, JC_D_FORMAT, f, v, 0);
		return true;
	default:
		return true;
	}
}

static bool
check_number(struct walk *w, const struct jc_field *f, const cJSON *v)
{
	const struct jc_limits *l = w->o->limits;
	bool integer = f->type == JC_INTEGER;
	double d = v->valuedouble;

	/* cJSON reads a literal beyond a double as an infinity. */
	if (!isfinite(d))
		return fail(w, JC_VALUE, JC_D_LIMIT, f, v, 0);
	if (integer && floor(d) != d)
		return fail(w, JC_TYPE, JC_D_FRACTION, f, v, 0);
	if (l != NULL && !(f->flags & JC_OWN_LIMITS) && (integer ?
	    d < l->int_min || d > l->int_max :
	    d < l->num_min || d > l->num_max))
		return fail(w, JC_VALUE, JC_D_LIMIT, f, v, 0);
	if ((f->flags & JC_MIN) && d < f->min)
		return fail(w, JC_VALUE, JC_D_MIN, f, v, 0);
	if ((f->flags & JC_MAX) && d > f->max)
		return fail(w, JC_VALUE, JC_D_MAX, f, v, 0);
	if (f->multiple_of > 0) {
		double q = d / f->multiple_of;

		if (!(fabs(round(q) - q) < 1e-6))
			return fail(w, JC_VALUE, JC_D_MULTIPLE, f, v, 0);
	}
	return true;
}

/* One value (an array item, for lists) against f. */
static bool
check_value(struct walk *w, const struct jc_field *f, const cJSON *v)
{
	switch (f->type) {
	case JC_STRING:
		if (!cJSON_IsString(v) || v->valuestring == NULL)
			break;
		return check_string(w, f, v);
	case JC_INTEGER:
	case JC_NUMBER:
		if (!cJSON_IsNumber(v))
			break;
		return check_number(w, f, v);
	case JC_BOOL:
		if (!cJSON_IsBool(v))
			break;
		return true;
	case JC_OBJECT:
		if (!cJSON_IsObject(v))
			break;
		return f->fields == NULL || check_object(w, f->fields, v);
	default:			/* JC_ANY */
		return true;
	}
	return fail(w, JC_TYPE, JC_D_TYPE, f, v, 0);
}

/* A member's value against its row: the value itself or, for lists, an
 * array of them. */
static bool
check_field(struct walk *w, const struct jc_field *f, const cJSON *v)
{
	bool ok = true;
	int i = 0, n;

	if (!(f->flags & JC_LIST))
		return check_value(w, f, v);
	if (!cJSON_IsArray(v))
		return fail(w, JC_TYPE, JC_D_ARRAY, f, v, 0);
	n = cJSON_GetArraySize(v);
	if (n < f->min_items)
		return fail(w, JC_ITEMS, JC_D_FEW, f, v, n);
	if (f->max_items > 0 && n > f->max_items)
		return fail(w, JC_ITEMS, JC_D_MANY, f, v, n);
	for (const cJSON *e = v->child; e != NULL && !w->stop; e = e->next) {
		size_t mark = push(w, NULL, i++);

		ok &= check_value(w, f, e);
		pop(w, mark);
	}
	return ok;
}

static const struct jc_field *
find_field(const struct jc_field *fields, const char *name)
{
	for (const struct jc_field *f = fields; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* Whether member c may stand in obj: a name the table has (or an open
 * table), not seen before when names must be unique. Sets *f to its row
 * (NULL when the table is open and lacks it). */
static bool
check_name(struct walk *w, const struct jc_field *fields, bool open,
    const cJSON *obj, const cJSON *c, const struct jc_field **f)
{
	if ((*f = find_field(fields, c->string)) == NULL)
		return open || fail(w, JC_UNKNOWN, JC_D_NONE, NULL, c, 0);
	if (w->o->flags & JC_UNIQUE_KEYS)
		for (const cJSON *p = obj->child; p != c; p = p->next)
			if (strcmp(p->string, c->string) == 0)
				return fail(w, JC_DUPLICATE, JC_D_NONE, NULL,
				    c, 0);
	return true;
}

static bool
check_object(struct walk *w, const struct jc_field *fields, const cJSON *obj)
{
	const struct jc_field *f, *end;
	bool ok = true, keys_first = w->o->flags & JC_KEYS_FIRST;
	size_t mark;

	for (f = fields; f->name != NULL; f++)
		if ((f->flags & JC_REQUIRED) &&
		    cJSON_GetObjectItemCaseSensitive(obj, f->name) == NULL) {
			mark = push(w, f->name, 0);
			ok = fail(w, JC_MISSING, JC_D_NONE, f, NULL, 0);
			pop(w, mark);
			if (w->stop)
				return false;
		}
	end = f;
	if (keys_first)
		for (const cJSON *c = obj->child; c != NULL; c = c->next) {
			mark = push(w, c->string != NULL ? c->string : "", 0);
			ok &= check_name(w, fields, end->flags & JC_OPEN, obj,
			    c, &f);
			pop(w, mark);
			if (w->stop)
				return false;
		}
	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		mark = push(w, c->string != NULL ? c->string : "", 0);
		if (keys_first) {
			f = find_field(fields, c->string);
			if (f != NULL && (w->o->flags & JC_UNIQUE_KEYS) &&
			    cJSON_GetObjectItemCaseSensitive(obj, c->string) != c)
				f = NULL;	/* a duplicate, said above */
		} else if (!check_name(w, fields, end->flags & JC_OPEN, obj, c,
		    &f)) {
			ok = false;
			f = NULL;
		}
		if (f != NULL)
			ok &= check_field(w, f, c);
		pop(w, mark);
		if (w->stop)
			return false;
	}
	return ok;
}

/* ---------------------------------------------------------------- API */

static int
run(const struct jc_field *f, const struct jc_field *fields, const cJSON *v,
    const struct jc_opts *opts, struct jc_result *r)
{
	static const struct jc_opts none;
	struct jc_result scratch;
	struct walk w = { .o = opts != NULL ? opts : &none, .r = r };

	if (r != NULL) {
		r->rule = JC_OK;
		r->detail = JC_D_NONE;
		r->field = NULL;
		r->got = NULL;
		r->items = 0;
		r->path[0] = '\0';
	} else if (w.o->each != NULL) {
		w.r = &scratch;
	}
	if (f != NULL) {
		if (v != NULL)
			check_field(&w, f, v);
		else if (f->flags & JC_REQUIRED)
			fail(&w, JC_MISSING, JC_D_NONE, f, NULL, 0);
	} else if (!cJSON_IsObject(v)) {
		fail(&w, JC_NOT_OBJECT, JC_D_NONE, NULL, v, 0);
	} else {
		check_object(&w, fields, v);
	}
	return w.first;
}

int
jc_check(const struct jc_field *f, const cJSON *v, const struct jc_opts *opts,
    struct jc_result *r)
{
	return run(f, NULL, v, opts, r);
}

int
jc_check_object(const struct jc_field *fields, const cJSON *doc,
    const struct jc_opts *opts, struct jc_result *r)
{
	return run(NULL, fields, doc, opts, r);
}

/* ------------------------------------------------------------- expected */

/* Append to buf (n bytes) at *o, never past its end. */
static void
put(char *buf, size_t n, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
put(char *buf, size_t n, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*o >= n - 1)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *o, n - *o, fmt, ap);
	va_end(ap);
	if (k > 0)
		*o = *o + (size_t)k < n - 1 ? *o + (size_t)k : n - 1;
}

/* " from A to B" (" of A to B" with a unit), " of at least A", " of at
 * most B", or nothing; the unit ("item") takes an "s" unless its count
 * is one. */
static void
put_range(char *buf, size_t n, size_t *o, bool lo, double a, bool hi,
    double b, const char *unit)
{
	const char *s = (hi ? b : a) == 1 ? "" : "s";

	if (lo && hi)
		put(buf, n, o, " %s %.15g to %.15g%s%s%s", *unit ? "of" : "from",
		    a, b, *unit ? " " : "", unit, *unit ? "s" : "");
	else if (lo)
		put(buf, n, o, " of at least %.15g%s%s%s", a, *unit ? " " : "",
		    unit, *unit ? s : "");
	else if (hi)
		put(buf, n, o, " of at most %.15g%s%s%s", b, *unit ? " " : "",
		    unit, *unit ? s : "");
}

char *
jc_expected(const struct jc_result *r, char *buf, size_t n)
{
	const struct jc_field *f = r->field;
	size_t o = 0;

	buf[0] = '\0';
	if (f == NULL) {
		put(buf, n, &o, "%s", r->rule == JC_NOT_OBJECT ? "an object" :
		    "no such member");
		return buf;
	}
	if ((f->flags & JC_LIST) && (r->detail == JC_D_ARRAY ||
	    r->rule == JC_ITEMS || r->rule == JC_MISSING)) {
		put(buf, n, &o, "an array");
		put_range(buf, n, &o, f->min_items > 0, f->min_items,
		    f->max_items > 0, f->max_items, "item");
		return buf;
	}
	switch (f->type) {
	case JC_STRING:
		if (f->nenums > 0) {
			put(buf, n, &o, "one of ");
			for (uint16_t i = 0; i < f->nenums; i++)
				put(buf, n, &o, "%s\"%s\"", i > 0 ? ", " : "",
				    f->enums[i]);
		} else if (f->format == JC_DATETIME) {
			put(buf, n, &o, "an RFC 3339 date-time");
		} else if (f->format == JC_URI) {
			put(buf, n, &o, "a URI");
		} else {
			put(buf, n, &o, "a string");
			put_range(buf, n, &o, f->min_len > 0, f->min_len,
			    f->max_len > 0, f->max_len, "character");
		}
		break;
	case JC_INTEGER:
	case JC_NUMBER:
		put(buf, n, &o, "%s", f->type == JC_INTEGER ? "an integer" :
		    "a number");
		put_range(buf, n, &o, f->flags & JC_MIN, f->min,
		    f->flags & JC_MAX, f->max, "");
		if (f->multiple_of > 0)
			put(buf, n, &o, ", a multiple of %.15g", f->multiple_of);
		break;
	case JC_BOOL:
		put(buf, n, &o, "true or false");
		break;
	case JC_OBJECT:
		put(buf, n, &o, "an object");
		break;
	default:
		put(buf, n, &o, "any value");
		break;
	}
	return buf;
}
