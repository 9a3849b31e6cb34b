/*
 * model — see model.h. The one table of command result words: the codecs
 * read a charger's answer through it and write the gateway's answers to an
 * upstream through it, and the roles name a result in their logs with it.
 */
#include "ocpp/model.h"

#include <string.h>

static const char *const result_names[OCPP_NRESULTS] = {
	[OCPP_RESULT_NONE] = "",
	[OCPP_RESULT_ACCEPTED] = "Accepted",
	[OCPP_RESULT_REJECTED] = "Rejected",
	[OCPP_RESULT_SCHEDULED] = "Scheduled",
	[OCPP_RESULT_REBOOT_REQUIRED] = "RebootRequired",
	[OCPP_RESULT_NOT_SUPPORTED] = "NotSupported",
	[OCPP_RESULT_NOT_IMPLEMENTED] = "NotImplemented",
	[OCPP_RESULT_UNKNOWN] = "Unknown",
	[OCPP_RESULT_NO_PROFILES] = "NoProfiles",
	[OCPP_RESULT_UNLOCKED] = "Unlocked",
	[OCPP_RESULT_UNLOCK_FAILED] = "UnlockFailed",
	[OCPP_RESULT_ONGOING_TX] = "OngoingAuthorizedTransaction",
	[OCPP_RESULT_UNKNOWN_CONNECTOR] = "UnknownConnector",
	[OCPP_RESULT_UNKNOWN_COMPONENT] = "UnknownComponent",
	[OCPP_RESULT_UNKNOWN_VARIABLE] = "UnknownVariable",
	[OCPP_RESULT_NOT_SUPPORTED_TYPE] = "NotSupportedAttributeType",
	[OCPP_RESULT_FAILED] = "Failed",
	[OCPP_RESULT_VERSION_MISMATCH] = "VersionMismatch",
	[OCPP_RESULT_UNKNOWN_VENDOR] = "UnknownVendorId",
	[OCPP_RESULT_UNKNOWN_MESSAGE] = "UnknownMessageId",
	[OCPP_RESULT_OTHER] = "Other",
};

const char *
ocpp_result_name(enum ocpp_result r)
{
	return (unsigned)r < OCPP_NRESULTS ? result_names[r] : "Other";
}

enum ocpp_result
ocpp_result_parse(const char *word)
{
	if (word == NULL || *word == '\0')
		return OCPP_RESULT_NONE;
	for (int r = OCPP_RESULT_NONE + 1; r < OCPP_RESULT_OTHER; r++)
		if (strcmp(word, result_names[r]) == 0)
			return (enum ocpp_result)r;
	return OCPP_RESULT_OTHER;
}

bool
ocpp_result_yes(enum ocpp_result r)
{
	return r == OCPP_RESULT_ACCEPTED || r == OCPP_RESULT_SCHEDULED ||
	    r == OCPP_RESULT_REBOOT_REQUIRED || r == OCPP_RESULT_UNLOCKED;
}
