/*
 * types/ocpp — version names and the one table of CallError spellings.
 * See ocpp.h.
 */
#include "types/ocpp.h"

#include <string.h>

static const char *const version_names[OCPP_NVERSIONS] = {
	[OCPP_V16] = "ocpp1.6",
	[OCPP_V201] = "ocpp2.0.1",
	[OCPP_V21] = "ocpp2.1",
};

/* [code] = { 1.6 spelling, 2.x spelling } */
static const char *const errnames[OCPP_NERRCODES][2] = {
	[OCPP_ERR_OTHER] = { "GenericError", "GenericError" },
	[OCPP_ERR_NOT_IMPLEMENTED] = { "NotImplemented", "NotImplemented" },
	[OCPP_ERR_NOT_SUPPORTED] = { "NotSupported", "NotSupported" },
	[OCPP_ERR_INTERNAL] = { "InternalError", "InternalError" },
	[OCPP_ERR_PROTOCOL] = { "ProtocolError", "ProtocolError" },
	[OCPP_ERR_SECURITY] = { "SecurityError", "SecurityError" },
	[OCPP_ERR_FORMAT] = { "FormationViolation", "FormatViolation" },
	[OCPP_ERR_PROPERTY] = { "PropertyConstraintViolation",
		"PropertyConstraintViolation" },
	[OCPP_ERR_OCCURRENCE] = { "OccurenceConstraintViolation",
		"OccurrenceConstraintViolation" },
	[OCPP_ERR_TYPE] = { "TypeConstraintViolation",
		"TypeConstraintViolation" },
	[OCPP_ERR_GENERIC] = { "GenericError", "GenericError" },
	/* 1.6 has no word for a broken frame but FormationViolation. */
	[OCPP_ERR_FRAMEWORK] = { "FormationViolation", "RpcFrameworkError" },
	[OCPP_ERR_MESSAGE_TYPE] = { "GenericError", "MessageTypeNotSupported" },
};

const char *
ocpp_version_name(enum ocpp_version v)
{
	return (int)v >= 0 && v < OCPP_NVERSIONS ? version_names[v] : "?";
}

int
ocpp_version_parse(const char *subprotocol, enum ocpp_version *out)
{
	for (int v = 0; v < OCPP_NVERSIONS; v++)
		if (strcmp(subprotocol, version_names[v]) == 0) {
			*out = (enum ocpp_version)v;
			return 0;
		}
	return -1;
}

const char *
ocpp_errcode_name(enum ocpp_errcode code, enum ocpp_version v)
{
	if ((int)code < 0 || code >= OCPP_NERRCODES)
		code = OCPP_ERR_GENERIC;
	return errnames[code][v == OCPP_V16 ? 0 : 1];
}

enum ocpp_errcode
ocpp_errcode_parse(const char *name)
{
	for (int c = 1; c < OCPP_NERRCODES; c++) {
		/* The 1.6 spellings of these two belong to FORMAT and GENERIC:
		 * only the 2.x words read as them. */
		if (c == OCPP_ERR_FRAMEWORK || c == OCPP_ERR_MESSAGE_TYPE) {
			if (strcmp(name, errnames[c][1]) == 0)
				return (enum ocpp_errcode)c;
			continue;
		}
		if (strcmp(name, errnames[c][0]) == 0 ||
		    strcmp(name, errnames[c][1]) == 0)
			return (enum ocpp_errcode)c;
	}
	return OCPP_ERR_OTHER;
}
