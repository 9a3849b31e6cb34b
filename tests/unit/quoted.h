/*
 * quoted.h — JSON written with ' for ", to keep a test's table of
 * documents readable (none of them needs a real '). Header-only; include
 * after cmocka and cJSON.
 */
#ifndef SITEGATE_TEST_QUOTED_H
#define SITEGATE_TEST_QUOTED_H

#include <string.h>

/* Parse json with every ' read as "; NULL when it is not JSON. */
static inline cJSON *
parse_quoted(const char *json)
{
	char buf[4096];
	size_t n = strlen(json);

	assert_true(n < sizeof(buf));
	for (size_t i = 0; i <= n; i++)
		buf[i] = json[i] == '\'' ? '"' : json[i];
	return cJSON_Parse(buf);
}

#endif
