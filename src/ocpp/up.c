/*
 * up — see up.h. The version switch: the OCPP of each version is in its
 * own codec (ocpp/v16, ocpp/v201), which fills the table for this side.
 */
#include "ocpp/up.h"

#include <string.h>

#include "ocpp/v16.h"
#include "ocpp/v201.h"

const struct up_codec *
up_codec(enum ocpp_version v)
{
	return v == OCPP_V16 ? &v16_up : &v201_up;
}

bool
up_token_fits(const struct up_codec *c, const char *token)
{
	size_t n = strlen(token);

	return n > 0 && n <= c->token_max;
}
