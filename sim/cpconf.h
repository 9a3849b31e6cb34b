/*
 * cpconf — a simulated charger's configuration store, as the gateway's
 * capability discovery reads and writes it: the 1.6 keys (component "")
 * and the 2.0.1 component/variable pairs of SmartChargingCtrlr and
 * SampledDataCtrlr, the answers to GetConfiguration, ChangeConfiguration,
 * GetVariables and SetVariables built from it, and the sampled values of
 * a meter value in either version's shape.
 *
 * Shared by the simulator (sim/cp.c) and the load generator of
 * tests/bench/bench_control.c. Header-only (static inline), as
 * tests/bench/procstat.h is and for the same reason: a benchmark is one
 * .c file linked against the gateway's library, and the simulator's
 * objects are not in it.
 *
 * Writable: the meter value interval (1.6 MeterValueSampleInterval,
 * 2.0.1 SampledDataCtrlr.TxUpdatedInterval; 0, "no sampling", keeps a
 * 10 s interval, as a meter still reports) and the measurands
 * (MeterValuesSampledData, TxUpdatedMeasurands). Everything else is read
 * only; unknown names are reported as such. Two quirks show here: W only
 * (ChargingScheduleAllowedChargingRateUnit "Power", RateUnit "W") and
 * stack level 0 only (ChargeProfileMaxStackLevel, ProfileStackLevel 0).
 */
#ifndef SITEGATE_SIM_CPCONF_H
#define SITEGATE_SIM_CPCONF_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/json.h"

#define CPCONF_DEFAULT_INTERVAL_S 10

struct cpconf {
	int meter_interval_s;		/* as the gateway configured it */
	char measurands[256];
	int connectors;			/* NumberOfConnectors (1.6) */
	bool w_only, stack0;		/* quirks */
};

/* A store with the defaults: 10 s, Energy.Active.Import.Register. */
static inline void
cpconf_init(struct cpconf *c, int connectors, bool w_only, bool stack0)
{
	memset(c, 0, sizeof *c);
	c->meter_interval_s = CPCONF_DEFAULT_INTERVAL_S;
	snprintf(c->measurands, sizeof c->measurands,
	    "Energy.Active.Import.Register");
	c->connectors = connectors;
	c->w_only = w_only;
	c->stack0 = stack0;
}

static inline bool
cpconf_is(const char *component, const char *name, const char *c16,
    const char *n16, const char *c201, const char *n201)
{
	return (!strcmp(component, c16) && !strcmp(name, n16)) ||
	    (!strcmp(component, c201) && !strcmp(name, n201));
}

/* The value of (component, name) — component "" for a 1.6 key — or NULL
 * when unknown. buf (len bytes) may hold it. */
static inline const char *
cpconf_get(const struct cpconf *c, const char *component, const char *name,
    char *buf, size_t len)
{
	static const struct {
		const char *component, *name, *value;
	} fixed[] = {
		{ "", "SupportedFeatureProfiles", "Core,SmartCharging" },
		{ "", "ChargingScheduleMaxPeriods", "24" },
		{ "", "MaxChargingProfilesInstalled", "10" },
		{ "", "ConnectorSwitch3to1PhaseSupported", "false" },
		{ "SmartChargingCtrlr", "Enabled", "true" },
		{ "SmartChargingCtrlr", "Available", "true" },
		{ "SmartChargingCtrlr", "PeriodsPerSchedule", "24" },
		{ "SmartChargingCtrlr", "Entries", "10" },
		{ "SmartChargingCtrlr", "ACPhaseSwitchingSupported", "false" },
		{ "SampledDataCtrlr", "Enabled", "true" },
	};

	if (component == NULL || name == NULL)
		return NULL;
	if (cpconf_is(component, name, "", "MeterValueSampleInterval",
	    "SampledDataCtrlr", "TxUpdatedInterval")) {
		snprintf(buf, len, "%d", c->meter_interval_s);
		return buf;
	}
	if (cpconf_is(component, name, "", "MeterValuesSampledData",
	    "SampledDataCtrlr", "TxUpdatedMeasurands"))
		return c->measurands;
	if (!strcmp(component, "") && !strcmp(name, "NumberOfConnectors")) {
		snprintf(buf, len, "%d", c->connectors);
		return buf;
	}
	if (cpconf_is(component, name, "", "ChargeProfileMaxStackLevel",
	    "SmartChargingCtrlr", "ProfileStackLevel"))
		return c->stack0 ? "0" : "3";
	if (!strcmp(component, "") &&
	    !strcmp(name, "ChargingScheduleAllowedChargingRateUnit"))
		return c->w_only ? "Power" : "Current,Power";
	if (!strcmp(component, "SmartChargingCtrlr") && !strcmp(name, "RateUnit"))
		return c->w_only ? "W" : "A,W";
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		if (!strcmp(fixed[i].component, component) &&
		    !strcmp(fixed[i].name, name))
			return fixed[i].value;
	return NULL;
}

/* Write (component, name); an OCPP status word ("Accepted", "Rejected"),
 * or NULL when the name is unknown. */
static inline const char *
cpconf_set(struct cpconf *c, const char *component, const char *name,
    const char *value)
{
	char buf[16];

	if (component == NULL || name == NULL || value == NULL)
		return NULL;
	if (cpconf_is(component, name, "", "MeterValueSampleInterval",
	    "SampledDataCtrlr", "TxUpdatedInterval")) {
		char *end;
		long v;

		errno = 0;
		v = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < 0 ||
		    v > 86400)
			return "Rejected";
		c->meter_interval_s = v > 0 ? (int)v : CPCONF_DEFAULT_INTERVAL_S;
		return "Accepted";
	}
	if (cpconf_is(component, name, "", "MeterValuesSampledData",
	    "SampledDataCtrlr", "TxUpdatedMeasurands")) {
		snprintf(c->measurands, sizeof c->measurands, "%s", value);
		return "Accepted";
	}
	if (cpconf_get(c, component, name, buf, sizeof buf) != NULL)
		return "Rejected";	/* read-only */
	return NULL;
}

/* The answer to a 1.6 GetConfiguration (payload: its request). */
static inline cJSON *
cpconf_get_configuration(const struct cpconf *c, const cJSON *payload)
{
	static const char *const all[] = { "SupportedFeatureProfiles",
		"ChargeProfileMaxStackLevel",
		"ChargingScheduleAllowedChargingRateUnit",
		"ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled",
		"NumberOfConnectors", "ConnectorSwitch3to1PhaseSupported",
		"MeterValueSampleInterval", "MeterValuesSampledData" };
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(payload, "key");
	cJSON *res = cJSON_CreateObject();
	cJSON *known = cJSON_AddArrayToObject(res, "configurationKey");
	cJSON *unknown = cJSON_CreateArray();
	const char *names[64];
	int n = 0;

	if (cJSON_GetArraySize(keys) > 0) {
		for (const cJSON *k = keys->child; k && n < 64; k = k->next)
			if (cJSON_IsString(k))
				names[n++] = k->valuestring;
	} else {
		for (size_t i = 0; i < sizeof all / sizeof *all; i++)
			names[n++] = all[i];
	}
	for (int i = 0; i < n; i++) {
		char buf[32];
		const char *v = cpconf_get(c, "", names[i], buf, sizeof buf);
		cJSON *kv;

		if (v == NULL) {
			cJSON_AddItemToArray(unknown, cJSON_CreateString(names[i]));
			continue;
		}
		kv = cJSON_CreateObject();
		cJSON_AddStringToObject(kv, "key", names[i]);
		cJSON_AddBoolToObject(kv, "readonly", strcmp(names[i],
		    "MeterValueSampleInterval") != 0 && strcmp(names[i],
		    "MeterValuesSampledData") != 0);
		cJSON_AddStringToObject(kv, "value", v);
		cJSON_AddItemToArray(known, kv);
	}
	if (cJSON_GetArraySize(unknown) > 0)
		cJSON_AddItemToObject(res, "unknownKey", unknown);
	else
		cJSON_Delete(unknown);
	return res;
}

/* The answer to a 1.6 ChangeConfiguration. */
static inline cJSON *
cpconf_change_configuration(struct cpconf *c, const cJSON *payload)
{
	const char *st = cpconf_set(c, "", json_str(payload, "key"),
	    json_str(payload, "value"));
	cJSON *res = cJSON_CreateObject();

	cJSON_AddStringToObject(res, "status", st ? st : "NotSupported");
	return res;
}

/* The answer to a 2.0.1 GetVariables (set false) or SetVariables (set
 * true): one result per item, its component and variable echoed. */
static inline cJSON *
cpconf_variables(struct cpconf *c, bool set, const cJSON *payload)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(payload, set ?
	    "setVariableData" : "getVariableData");
	cJSON *res = cJSON_CreateObject();
	cJSON *out = cJSON_AddArrayToObject(res, set ? "setVariableResult" :
	    "getVariableResult");

	for (const cJSON *it = items ? items->child : NULL; it; it = it->next) {
		const cJSON *comp = cJSON_GetObjectItemCaseSensitive(it, "component");
		const cJSON *var = cJSON_GetObjectItemCaseSensitive(it, "variable");
		const char *cn = json_str(comp, "name"), *vn = json_str(var, "name");
		bool known = cn && (!strcmp(cn, "SmartChargingCtrlr") ||
		    !strcmp(cn, "SampledDataCtrlr"));
		cJSON *r = cJSON_CreateObject();
		const char *st, *v;
		char buf[32];

		if (set) {
			st = known ? cpconf_set(c, cn, vn, json_str(it,
			    "attributeValue")) : NULL;
			cJSON_AddStringToObject(r, "attributeStatus", st ? st :
			    known ? "UnknownVariable" : "UnknownComponent");
		} else {
			v = known ? cpconf_get(c, cn, vn, buf, sizeof buf) : NULL;
			cJSON_AddStringToObject(r, "attributeStatus", v ?
			    "Accepted" : known ? "UnknownVariable" :
			    "UnknownComponent");
			if (v != NULL)
				cJSON_AddStringToObject(r, "attributeValue", v);
		}
		cJSON_AddItemToObject(r, "component", cJSON_Duplicate(comp, true));
		cJSON_AddItemToObject(r, "variable", cJSON_Duplicate(var, true));
		cJSON_AddItemToArray(out, r);
	}
	return res;
}

/* Append one sampled value to arr: 1.6 (value a string with one decimal,
 * unit) or 2.0.1 (value a number, unitOfMeasure.unit). phase may be
 * NULL. */
static inline void
cpconf_add_sample(cJSON *arr, bool v16, double value, const char *measurand,
    const char *phase, const char *unit)
{
	cJSON *s = cJSON_CreateObject();

	if (v16) {
		char buf[32];

		snprintf(buf, sizeof buf, "%.1f", value);
		cJSON_AddStringToObject(s, "value", buf);
	} else {
		cJSON_AddNumberToObject(s, "value",
		    (double)(long long)(value * 10 + (value < 0 ? -0.5 : 0.5)) / 10);
	}
	cJSON_AddStringToObject(s, "measurand", measurand);
	if (phase)
		cJSON_AddStringToObject(s, "phase", phase);
	if (v16)
		cJSON_AddStringToObject(s, "unit", unit);
	else
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s,
		    "unitOfMeasure"), "unit", unit);
	cJSON_AddItemToArray(arr, s);
}

#endif
