/*
 * spec — reading and generating the simulated chargers (see spec.h). The
 * file is read with the gateway's own reader (config_parse_json: comments,
 * size limit, trailing text), so a configuration that the gateway takes
 * is read here the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/config.h"
#include "sim/spec.h"
#include "util/json.h"
#include "util/xalloc.h"

static const struct {
	const char *name;
	unsigned bit;
} quirks[] = {
	{ "reject_tx_profile", SPEC_Q_REJECT_TX },
	{ "w_only", SPEC_Q_W_ONLY },
	{ "stack_level_0", SPEC_Q_STACK0 },
	{ "ignore_number_phases", SPEC_Q_IGNORE_PHASES },
};

unsigned
spec_quirk_parse(const char *name)
{
	for (size_t i = 0; i < sizeof quirks / sizeof *quirks; i++)
		if (name != NULL && strcmp(name, quirks[i].name) == 0)
			return quirks[i].bit;
	return 0;
}

int
spec_grid_phases(const struct spec_charger *s, int grid[3])
{
	const char *r = s->rotation[0] ? s->rotation : s->phases == 1 ? "L1" :
	    "L1L2L3";
	int n = 0;

	for (; r[0] == 'L' && r[1] >= '1' && r[1] <= '3' && n < 3; r += 2)
		grid[n++] = r[1] - '1';
	return n;
}

struct spec_charger *
spec_generate(int n)
{
	struct spec_charger *v = calloc((size_t)(n > 0 ? n : 1), sizeof *v);

	if (v == NULL)
		return NULL;
	for (int i = 0; i < n; i++) {
		snprintf(v[i].id, sizeof v[i].id, "SIM-%03d", i + 1);
		v[i].v = i % 2 == 0 ? OCPP_V16 : OCPP_V201;
		v[i].phases = i % 4 == 3 ? 1 : 3;
		v[i].max_a = 32;
		v[i].evses = 1;
	}
	return v;
}

/* *cause = "a: b"; returns rc. */
static int
fail(char **cause, int rc, const char *a, const char *b)
{
	*cause = xasprintf("%s: %s", a, b);
	return rc;
}

/* One entry of chargers[] into s; NULL or the reason it is refused. */
static const char *
read_one(const cJSON *it, int i, struct spec_charger *s)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(it, "quirks");
	const char *ver = json_str(it, "version");

	if (!cJSON_IsObject(it))
		return "not an object";
	if (!json_copy(s->id, sizeof s->id, it, "id") || s->id[0] == '\0')
		return "id: missing (a string of at most 48 characters)";
	if (ver == NULL)
		s->v = i % 2 == 0 ? OCPP_V16 : OCPP_V201;
	else if (strcmp(ver, "1.6") == 0 || strcmp(ver, "ocpp1.6") == 0)
		s->v = OCPP_V16;
	else if (strcmp(ver, "2.0.1") == 0 || strcmp(ver, "ocpp2.0.1") == 0)
		s->v = OCPP_V201;
	else
		return "version: expected \"1.6\" or \"2.0.1\"";
	s->phases = json_int(it, "phases", 3);
	if (s->phases != 1 && s->phases != 3)
		return "phases: expected 1 or 3";
	s->max_a = json_num(it, "max_current_a", 32);
	if (!(s->max_a >= 6 && s->max_a <= 80))
		return "max_current_a: expected 6-80";
	s->evses = json_int(it, "evses", 1);
	if (s->evses < 1 || s->evses > SPEC_EVSES_MAX)
		return "evses: expected 1-8";
	json_copy(s->rotation, sizeof s->rotation, it, "phase_rotation");
	json_copy(s->password, sizeof s->password, it, "password");
	if (q != NULL && !cJSON_IsArray(q))
		return "quirks: expected an array of names";
	for (const cJSON *e = q ? q->child : NULL; e != NULL; e = e->next) {
		unsigned b = spec_quirk_parse(cJSON_GetStringValue(e));

		if (b == 0)
			return "quirks: unknown name (reject_tx_profile, w_only, "
			    "stack_level_0, ignore_number_phases)";
		s->quirks |= b;
	}
	return NULL;
}

int
spec_load(const char *path, struct spec_charger **out, int *n, char **cause)
{
	FILE *f = fopen(path, "r");
	char *text = NULL, *why = NULL;
	size_t len = 0, cap = 0;
	cJSON *root = NULL;
	const cJSON *list;
	struct spec_charger *v = NULL;
	int rc, count;

	*out = NULL;
	*n = 0;
	if (f == NULL)
		return fail(cause, SPEC_E_FILE, path, strerror(errno));
	for (;;) {
		size_t got;

		if (len + 4096 + 1 > cap) {
			char *t = realloc(text, cap = cap * 2 + 8192);

			if (t == NULL) {
				fclose(f);
				free(text);
				return fail(cause, SPEC_E_NOMEM, path,
				    "out of memory");
			}
			text = t;
		}
		got = fread(text + len, 1, 4096, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	root = config_parse_json(text, len, &why);
	free(text);
	if (root == NULL) {
		rc = fail(cause, SPEC_E_PARSE, path, why);
		free(why);
		return rc;
	}
	list = cJSON_GetObjectItemCaseSensitive(root, "chargers");
	count = cJSON_GetArraySize(list);
	if (!cJSON_IsArray(list) || count == 0) {
		rc = fail(cause, SPEC_E_PARSE, path,
		    "expected an object with a non-empty array \"chargers\"");
		goto out;
	}
	v = calloc((size_t)count, sizeof *v);
	if (v == NULL) {
		rc = fail(cause, SPEC_E_NOMEM, path, "out of memory");
		goto out;
	}
	for (int i = 0; i < count; i++) {
		const char *bad = read_one(cJSON_GetArrayItem(list, i), i, &v[i]);

		if (bad != NULL) {
			char where[32];

			snprintf(where, sizeof where, "chargers[%d]", i);
			*cause = xasprintf("%s: %s: %s", path, where, bad);
			rc = SPEC_E_PARSE;
			free(v);
			goto out;
		}
	}
	*out = v;
	*n = count;
	rc = SPEC_OK;
out:
	cJSON_Delete(root);
	return rc;
}
