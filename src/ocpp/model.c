/*
 * model — see model.h. The one table of command result words: the codecs
 * read a charger's answer through it and write the gateway's answers to an
 * upstream through it, and the roles name a result in their logs with it.
 */
#include "ocpp/model.h"

#include <stdio.h>
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

bool
ocpp_cap_key(const struct ocpp_cap_name *table, enum ocpp_cap cap,
    const char *value, struct ocpp_key *k)
{
	for (; table->cap != OCPP_CAP_NONE; table++) {
		if (table->cap != cap)
			continue;
		memset(k, 0, sizeof *k);
		snprintf(k->component, sizeof k->component, "%s",
		    table->component);
		snprintf(k->variable, sizeof k->variable, "%s", table->variable);
		if (value != NULL) {
			snprintf(k->value, sizeof k->value, "%s", value);
			k->has_value = true;
		}
		return true;
	}
	return false;
}

enum ocpp_cap
ocpp_cap_of(const struct ocpp_cap_name *table, const struct ocpp_key *k)
{
	/* The variables of one version's table are unique on their own. */
	for (; table->cap != OCPP_CAP_NONE; table++)
		if (strcmp(table->variable, k->variable) == 0)
			return table->cap;
	return OCPP_CAP_NONE;
}

const char *
ocpp_measurands(enum ocpp_sampling s)
{
	return s == OCPP_SAMPLE_MIN ?
	    "Current.Import,Power.Active.Import,Energy.Active.Import.Register" :
	    "Current.Import,Current.Offered,Power.Active.Import,"
	    "Energy.Active.Import.Register,Voltage,SoC";
}

void
ocpp_rate_units(const char *value, bool *a, bool *w)
{
	*a = strstr(value, "Current") != NULL || strstr(value, "A") != NULL;
	*w = strstr(value, "Power") != NULL || strstr(value, "W") != NULL;
}

bool
ocpp_cap_true(const char *value)
{
	return strcmp(value, "true") == 0;
}
