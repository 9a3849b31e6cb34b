/*
 * schema_check — src/ocpp/schema for the conformance test
 * (tests/integration/schema.test.js), which compares its verdicts with
 * ajv's on thousands of generated payloads in one process.
 *
 * Reads lines "<version> <Action> <req|conf> <json>" on stdin, version
 * being "1.6" or "2.0.1", and writes one line per input line:
 *
 *	ok
 *	<CallError code> <path>		path "-" for the payload itself
 *	error <what>			a line it could not read
 *
 * With -v a violation line also carries a tab and the description.
 * Exits 0 when every line was read, 1 otherwise, 2 on bad usage.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ocpp/schema.h"

static int
check_line(char *line, bool verbose)
{
	enum ocpp_version v;
	enum schema_kind kind;
	struct schema_error err;
	char *ver, *action, *k, *json, *save = NULL;
	cJSON *payload;
	int rc;

	line[strcspn(line, "\r\n")] = '\0';
	ver = strtok_r(line, " ", &save);
	action = strtok_r(NULL, " ", &save);
	k = strtok_r(NULL, " ", &save);
	json = save;
	if (ver == NULL || action == NULL || k == NULL || json == NULL) {
		printf("error expected: <version> <Action> <req|conf> <json>\n");
		return -1;
	}
	if (strcmp(ver, "1.6") == 0)
		v = OCPP_V16;
	else if (strcmp(ver, "2.0.1") == 0)
		v = OCPP_V201;
	else {
		printf("error unknown version\n");
		return -1;
	}
	if (strcmp(k, "req") == 0)
		kind = SCHEMA_REQUEST;
	else if (strcmp(k, "conf") == 0)
		kind = SCHEMA_RESPONSE;
	else {
		printf("error expected req or conf\n");
		return -1;
	}
	if ((payload = cJSON_Parse(json)) == NULL) {
		printf("error payload is not JSON\n");
		return -1;
	}
	rc = schema_validate(v, action, kind, payload, &err);
	cJSON_Delete(payload);
	if (rc == SCHEMA_OK)
		printf("ok\n");
	else if (verbose)
		printf("%s %s\t%s\n", ocpp_errcode_name(schema_errcode(rc), v),
		    err.path[0] != '\0' ? err.path : "-", err.description);
	else
		printf("%s %s\n", ocpp_errcode_name(schema_errcode(rc), v),
		    err.path[0] != '\0' ? err.path : "-");
	return 0;
}

int
main(int argc, char **argv)
{
	bool verbose = false;
	char *line = NULL;
	size_t cap = 0;
	int status = 0;

	if (argc == 2 && strcmp(argv[1], "-v") == 0)
		verbose = true;
	else if (argc != 1) {
		fprintf(stderr, "usage: schema_check [-v] < lines\n");
		return 2;
	}
	while (getline(&line, &cap, stdin) != -1)
		if (check_line(line, verbose) != 0)
			status = 1;
	free(line);
	return status;
}
