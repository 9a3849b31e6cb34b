/*
 * libFuzzer target: the configuration parser and validator. Any input must
 * give either a config or an error list — never a crash, leak or hang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "app/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *errors = NULL;
	int n = 0;
	struct config *cfg = config_parse((const char *)data, size, &errors, &n);

	if ((cfg == NULL) != (n > 0) || (cfg == NULL) != (errors != NULL))
		abort();	/* the contract of config_parse() */
	config_free(cfg);
	free(errors);
	return 0;
}
