/*
 * libFuzzer target: the bodies of the installer page's API. Any input goes
 * through what a request body meets: http_body_parse(), then, when it is
 * an object, every route's handling of it without the server — a
 * configuration change (confedit_apply against a small valid file), a cap
 * and priority (the evse/<n>/set parser on its printed text), and an
 * approval (confedit_add_charger with the body's fields). Never a crash,
 * a leak or a hang; an answer always either a result or its errors.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/confedit.h"
#include "app/config.h"
#include "control/emsmsg.h"
#include "http/http.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char current[] =
    "{\"site_id\": \"fz\", \"state_file\": \"/nonexistent/fz.db\",\n"
    " \"ocpp\": {\"listen\": \"127.0.0.1:0\"},\n"
    " \"chargers\": [{\"id\": \"CP-1\", \"password\": \"password-for-cp-1\",\n"
    "   \"max_current_a\": 32, \"phases\": 3, \"circuit\": \"main\"}],\n"
    " \"site\": {\"circuits\": [{\"id\": \"main\", \"max_current_a\": 63}]}}\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *body = NULL, *errors = NULL, *pub;
	struct config *cfg = NULL;
	struct ems_evse_set set;
	char why[256], gen[CONFEDIT_PASSWORD_LEN + 1], *text, *cause = NULL;
	size_t len = 0;

	if (http_body_parse((const char *)data, size, &body, why,
	    sizeof why) != 0) {
		if (body != NULL || why[0] == '\0')
			abort();	/* the contract of http_body_parse() */
		return 0;
	}
	/* PUT /api/config, POST /api/config/import */
	text = confedit_apply(current, sizeof current - 1, body, &errors, &cfg);
	if ((text == NULL) == (errors == NULL) || (text != NULL) != (cfg != NULL))
		abort();
	free(text);
	cJSON_Delete(errors);
	config_free(cfg);
	/* POST /api/evses/<n> */
	text = json_print(body, &len);
	if (text != NULL)
		emsmsg_evse_set_parse(text, len, &set, why, sizeof why);
	free(text);
	/* POST /api/pending/<id>/approve */
	pub = confedit_public(current, sizeof current - 1, &cause);
	if (pub == NULL)
		abort();
	if (json_str(body, "circuit") != NULL) {
		const cJSON *max = cJSON_GetObjectItemCaseSensitive(body,
		    "max_current_a");
		const cJSON *ph = cJSON_GetObjectItemCaseSensitive(body, "phases");

		if (cJSON_IsNumber(max) && cJSON_IsNumber(ph) &&
		    confedit_add_charger(pub, "CP-NEW", json_str(body, "circuit"),
		    max->valuedouble, (int)ph->valuedouble,
		    json_str(body, "phase_rotation"), json_str(body, "password"),
		    gen, &cause) == 0) {
			text = confedit_apply(current, sizeof current - 1, pub,
			    &errors, NULL);
			free(text);
			cJSON_Delete(errors);
		}
	}
	free(cause);
	cJSON_Delete(pub);
	cJSON_Delete(body);
	return 0;
}
