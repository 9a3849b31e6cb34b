/*
 * json — see json.h.
 */
#include "util/json.h"

#include <math.h>
#include <stdio.h>

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
