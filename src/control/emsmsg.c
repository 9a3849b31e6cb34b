/*
 * emsmsg — see emsmsg.h.
 *
 * Both payloads go through one reader (parse_object: size, NUL bytes, JSON
 * syntax, an object, only known keys, each once) and one number check
 * (check_number: a finite number within a range), so that every refusal
 * is worded the same way. The reasons quote keys from the payload through
 * the same escaping as the excerpt: a reason is always printable ASCII.
 */
#include "control/emsmsg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/jcheck.h"
#include "util/json.h"
#include "util/num.h"

/* Copy at most max bytes of p, escaped, into buf. */
static char *
excerpt(char *buf, size_t len, const char *p, size_t plen, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (len == 0)
		return buf;
	for (i = 0; i < plen && i < max; i++) {
		unsigned char c = (unsigned char)p[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '\\';
		/* Keep room for "..." unless this is the last byte. */
		size_t need = (plain ? 1 : 4) + (i + 1 < plen ? 3 : 0);

		if (o + need > len - 1)
			break;
		if (plain) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (i < plen && o + 3 <= len - 1) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

char *
emsmsg_excerpt(char *buf, size_t len, const char *payload, size_t plen)
{
	return excerpt(buf, len, payload, plen, EMS_EXCERPT_MAX);
}

static int
refuse(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return EMS_ERR_INVALID;
}


/*
 * The common part of both payloads: size, NUL bytes, JSON syntax, then the
 * engine (util/jcheck): an object, only the members keys[] names (JC_ANY
 * rows: their values are checked by each parser), each at most once, names
 * before values. Returns the parsed object, or NULL with
 * why filled.
 */
static cJSON *
parse_object(const char *payload, size_t len, const struct jc_field *keys,
    char *why, size_t whylen)
{
	static const struct jc_opts shape = {
		.flags = JC_UNIQUE_KEYS | JC_KEYS_FIRST };
	char buf[EMS_PAYLOAD_MAX + 1], key[64];
	const char *end = NULL;
	struct jc_result r;
	cJSON *obj;

	if (len > EMS_PAYLOAD_MAX) {
		refuse(why, whylen, "payload of %zu bytes is larger than %d", len,
		    EMS_PAYLOAD_MAX);
		return NULL;
	}
	if (len > 0 && memchr(payload, '\0', len) != NULL) {
		refuse(why, whylen, "not JSON: contains a NUL byte");
		return NULL;
	}
	if (len > 0)
		memcpy(buf, payload, len);
	buf[len] = '\0';
	obj = cJSON_ParseWithOpts(buf, &end, true);
	if (obj == NULL) {
		refuse(why, whylen, "not JSON (error at byte %td)",
		    end != NULL ? end - buf : (ptrdiff_t)0);
		return NULL;
	}
	switch (jc_check_object(keys, obj, &shape, &r)) {
	case JC_OK:
		return obj;
	case JC_NOT_OBJECT:
		refuse(why, whylen, "not a JSON object, got %s", json_type_name(obj));
		break;
	default:			/* JC_UNKNOWN, JC_DUPLICATE */
		excerpt(key, sizeof key, r.got->string, strlen(r.got->string), 40);
		refuse(why, whylen, "%s key \"%s\"", r.rule == JC_DUPLICATE ?
		    "duplicate" : "unknown", key);
		break;
	}
	cJSON_Delete(obj);
	return NULL;
}

/* A finite number within [lo, hi], checked by the engine; name names it in
 * why, with the unit of the range. */
static int
check_number(const cJSON *v, const char *name, double lo, double hi,
    const char *unit, double *out, char *why, size_t whylen)
{
	const struct jc_field row = { .name = name, .type = JC_NUMBER,
		.flags = JC_REQUIRED | JC_MIN | JC_MAX, .min = lo, .max = hi };

	switch (jc_check(&row, v, NULL, NULL)) {
	case JC_OK:
		*out = v->valuedouble;
		return EMS_OK;
	case JC_VALUE:
		return refuse(why, whylen, "%s: %g is out of range %g..%g%s%s",
		    name, v->valuedouble, lo, hi, *unit ? " " : "", unit);
	default:			/* JC_TYPE, JC_MISSING */
		return refuse(why, whylen, "%s: expected a number, got %s", name,
		    json_type_name(v));
	}
}

int
emsmsg_limit_parse(const char *payload, size_t len, double voltage_v,
    struct ems_limit *out, char *why, size_t whylen)
{
	static const struct jc_field keys[] = {
		{ .name = "max_current_a" }, { .name = "max_power_w" },
		{ .name = "ttl_s" }, { .name = NULL } };
	struct ems_limit l;
	const cJSON *cur, *pow, *ttl;
	cJSON *obj;
	int rc = EMS_ERR_INVALID;

	memset(out, 0, sizeof *out);
	memset(&l, 0, sizeof l);
	if (whylen > 0)
		why[0] = '\0';
	if ((obj = parse_object(payload, len, keys, why, whylen)) == NULL)
		return EMS_ERR_INVALID;
	cur = cJSON_GetObjectItemCaseSensitive(obj, "max_current_a");
	pow = cJSON_GetObjectItemCaseSensitive(obj, "max_power_w");
	ttl = cJSON_GetObjectItemCaseSensitive(obj, "ttl_s");
	if (cur != NULL && pow != NULL) {
		refuse(why, whylen, "both max_current_a and max_power_w given; "
		    "expected exactly one");
		goto out;
	}
	if (cur == NULL && pow == NULL) {
		refuse(why, whylen, "neither max_current_a nor max_power_w given; "
		    "expected exactly one");
		goto out;
	}
	if (cur != NULL && cJSON_IsArray(cur)) {
		int n = cJSON_GetArraySize(cur);

		if (n != 3) {
			refuse(why, whylen, "max_current_a: expected 3 values "
			    "[L1, L2, L3], got %d", n);
			goto out;
		}
		for (int i = 0; i < 3; i++) {
			char name[32];

			snprintf(name, sizeof name, "max_current_a[%d]", i);
			if (check_number(cJSON_GetArrayItem(cur, i), name, 0,
			    EMS_CURRENT_MAX_A, "A", &l.current_a[i], why,
			    whylen) != EMS_OK)
				goto out;
		}
	} else if (cur != NULL) {
		if (!cJSON_IsNumber(cur)) {
			refuse(why, whylen, "max_current_a: expected a number or an "
			    "array of 3 numbers, got %s", json_type_name(cur));
			goto out;
		}
		if (check_number(cur, "max_current_a", 0, EMS_CURRENT_MAX_A, "A",
		    &l.current_a[0], why, whylen) != EMS_OK)
			goto out;
		l.current_a[1] = l.current_a[2] = l.current_a[0];
	} else {
		if (check_number(pow, "max_power_w", 0, EMS_POWER_MAX_W, "W",
		    &l.power_w, why, whylen) != EMS_OK)
			goto out;
		if (!(voltage_v > 0)) {
			refuse(why, whylen, "max_power_w: no site voltage to "
			    "convert with");
			goto out;
		}
		l.from_power = true;
		l.current_a[0] = l.power_w / (3.0 * voltage_v);
		l.current_a[1] = l.current_a[2] = l.current_a[0];
	}
	if (ttl != NULL && check_number(ttl, "ttl_s", EMS_TTL_MIN_S,
	    EMS_TTL_MAX_S, "s", &l.ttl_s, why, whylen) != EMS_OK)
		goto out;
	l.source = EMS_SOURCE_EMS;
	l.reason = EMS_REASON_LIMIT;
	*out = l;
	rc = EMS_OK;
out:
	cJSON_Delete(obj);
	return rc;
}

int
emsmsg_evse_set_parse(const char *payload, size_t len, struct ems_evse_set *out,
    char *why, size_t whylen)
{
	static const struct jc_field keys[] = {
		{ .name = "max_current_a" }, { .name = "priority" },
		{ .name = NULL } };
	struct ems_evse_set s;
	const cJSON *cap, *prio;
	cJSON *obj;
	double v;
	int rc = EMS_ERR_INVALID;

	memset(out, 0, sizeof *out);
	memset(&s, 0, sizeof s);
	if (whylen > 0)
		why[0] = '\0';
	if ((obj = parse_object(payload, len, keys, why, whylen)) == NULL)
		return EMS_ERR_INVALID;
	cap = cJSON_GetObjectItemCaseSensitive(obj, "max_current_a");
	prio = cJSON_GetObjectItemCaseSensitive(obj, "priority");
	if (cap == NULL && prio == NULL) {
		refuse(why, whylen, "neither max_current_a nor priority given");
		goto out;
	}
	if (cJSON_IsNull(cap)) {
		s.cap = EMS_CAP_CLEAR;
	} else if (cap != NULL) {
		if (!cJSON_IsNumber(cap)) {
			refuse(why, whylen, "max_current_a: expected a number or "
			    "null, got %s", json_type_name(cap));
			goto out;
		}
		if (check_number(cap, "max_current_a", 0, EMS_CURRENT_MAX_A, "A",
		    &s.cap_a, why, whylen) != EMS_OK)
			goto out;
		s.cap = EMS_CAP_SET;
	}
	if (prio != NULL) {
		if (check_number(prio, "priority", 0, EMS_PRIORITY_MAX, "",
		    &v, why, whylen) != EMS_OK)
			goto out;
		if (v != floor(v)) {
			refuse(why, whylen, "priority: expected an integer, got %g",
			    v);
			goto out;
		}
		s.has_priority = true;
		s.priority = (int)v;
	}
	*out = s;
	rc = EMS_OK;
out:
	cJSON_Delete(obj);
	return rc;
}

int
emsmsg_evse_topic_parse(const char *prefix, const char *topic, int *evse)
{
	size_t pl = strlen(prefix);
	const char *p, *end;
	char num[16];
	int64_t v;

	if (strncmp(topic, prefix, pl) != 0 ||
	    strncmp(topic + pl, "/evse/", 6) != 0)
		return EMS_ERR_TOPIC;
	p = topic + pl + 6;
	/* A leading digit 1-9 also rules out signs, spaces and "0". */
	if (*p < '1' || *p > '9')
		return EMS_ERR_TOPIC;
	end = strchr(p, '/');
	if (end == NULL || strcmp(end, "/set") != 0 ||
	    (size_t)(end - p) >= sizeof num)
		return EMS_ERR_TOPIC;
	memcpy(num, p, (size_t)(end - p));
	num[end - p] = '\0';
	if (num_parse_i64(num, 1, EMS_EVSE_MAX, &v) != 0)
		return EMS_ERR_TOPIC;
	*evse = (int)v;
	return EMS_OK;
}

const char *
emsmsg_source_name(enum ems_source s)
{
	return s == EMS_SOURCE_EMS ? "ems" : "failsafe";
}

const char *
emsmsg_reason_name(enum ems_reason r)
{
	switch (r) {
	case EMS_REASON_STARTUP:
		return "startup";
	case EMS_REASON_LIMIT:
		return "limit";
	case EMS_REASON_TTL_EXPIRED:
		return "ttl_expired";
	case EMS_REASON_LIMIT_TIMEOUT:
		return "limit_timeout";
	case EMS_REASON_BROKER_UNREACHABLE:
		return "broker_unreachable";
	}
	return "?";
}
