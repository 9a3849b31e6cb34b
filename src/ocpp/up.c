/*
 * up — see up.h.
 */
#include "ocpp/up.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ocpp/codec.h"
#include "ocpp/schema.h"
#include "util/isotime.h"
#include "util/json.h"

#define V16(v) ((v) == OCPP_V16)

static cJSON *
obj(void)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		abort();
	return o;
}

/* A 1.6 Wh register as the integer meterStart / meterStop carry. The
 * charger side refuses registers outside 0..SCHEMA_NUM_MAX (ocpp/schema),
 * so a value out of it means a bug; it is clamped rather than cast, since
 * converting a double beyond int64 (1e308, NaN) is undefined behaviour and
 * gave -9223372036854775808. Truncated toward zero, as before. */
static double
register_wh(double wh)
{
	if (!(wh > 0))			/* NaN too */
		return 0;
	if (wh > SCHEMA_NUM_MAX)
		return SCHEMA_NUM_MAX;
	return trunc(wh);
}

/* ------------------------------------------------------------ requests */

cJSON *
up_boot(enum ocpp_version v, const struct up_identity *id,
    const char **action)
{
	cJSON *o = obj();

	*action = "BootNotification";
	if (V16(v)) {
		cJSON_AddStringToObject(o, "chargePointVendor", id->vendor);
		cJSON_AddStringToObject(o, "chargePointModel", id->model);
		cJSON_AddStringToObject(o, "chargePointSerialNumber", id->serial);
		cJSON_AddStringToObject(o, "firmwareVersion", id->firmware);
	} else {
		cJSON *cs = cJSON_AddObjectToObject(o, "chargingStation");
		cJSON_AddStringToObject(cs, "serialNumber", id->serial);
		cJSON_AddStringToObject(cs, "model", id->model);
		cJSON_AddStringToObject(cs, "vendorName", id->vendor);
		cJSON_AddStringToObject(cs, "firmwareVersion", id->firmware);
		cJSON_AddStringToObject(o, "reason", "PowerUp");
	}
	return o;
}

cJSON *
up_heartbeat(enum ocpp_version v, const char **action)
{
	(void)v;
	*action = "Heartbeat";
	return obj();
}

static const char *const status16[SITE_STATUS_COUNT] = {
	[SITE_STATUS_UNKNOWN] = "Available",
	[SITE_STATUS_AVAILABLE] = "Available",
	[SITE_STATUS_OCCUPIED] = "Preparing",
	[SITE_STATUS_CHARGING] = "Charging",
	[SITE_STATUS_SUSPENDED_EV] = "SuspendedEV",
	[SITE_STATUS_SUSPENDED_EVSE] = "SuspendedEVSE",
	[SITE_STATUS_FINISHING] = "Finishing",
	[SITE_STATUS_RESERVED] = "Reserved",
	[SITE_STATUS_UNAVAILABLE] = "Unavailable",
	[SITE_STATUS_FAULTED] = "Faulted",
};

static const char *const status201[SITE_STATUS_COUNT] = {
	[SITE_STATUS_UNKNOWN] = "Available",
	[SITE_STATUS_AVAILABLE] = "Available",
	[SITE_STATUS_OCCUPIED] = "Occupied",
	[SITE_STATUS_CHARGING] = "Occupied",
	[SITE_STATUS_SUSPENDED_EV] = "Occupied",
	[SITE_STATUS_SUSPENDED_EVSE] = "Occupied",
	[SITE_STATUS_FINISHING] = "Occupied",
	[SITE_STATUS_RESERVED] = "Reserved",
	[SITE_STATUS_UNAVAILABLE] = "Unavailable",
	[SITE_STATUS_FAULTED] = "Faulted",
};

static const char *const errors16[] = { "ConnectorLockFailure",
	"EVCommunicationError", "GroundFailure", "HighTemperature",
	"InternalError", "LocalListConflict", "NoError", "OtherError",
	"OverCurrentFailure", "PowerMeterFailure", "PowerSwitchFailure",
	"ReaderFailure", "ResetFailure", "UnderVoltage", "OverVoltage",
	"WeakSignal", NULL };

static bool
in_list(const char *const *list, const char *s)
{
	for (; s && *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

cJSON *
up_status(enum ocpp_version v, int number, int connector,
    enum site_status st, const char *error_code, int64_t ts_ms,
    const char **action)
{
	cJSON *o;

	if ((unsigned)st >= SITE_STATUS_COUNT)
		st = SITE_STATUS_UNKNOWN;
	*action = "StatusNotification";
	if (!V16(v) && number < 1)
		return NULL;
	o = obj();
	if (V16(v)) {
		const char *ec = in_list(errors16, error_code) ? error_code :
		    st == SITE_STATUS_FAULTED ? "OtherError" : "NoError";
		cJSON_AddNumberToObject(o, "connectorId", number);
		cJSON_AddStringToObject(o, "errorCode", ec);
		cJSON_AddStringToObject(o, "status", status16[st]);
		json_add_time(o, "timestamp", ts_ms);
	} else {
		json_add_time(o, "timestamp", ts_ms);
		cJSON_AddStringToObject(o, "connectorStatus", status201[st]);
		cJSON_AddNumberToObject(o, "evseId", number);
		cJSON_AddNumberToObject(o, "connectorId", connector > 0 ?
		    connector : 1);
	}
	return o;
}

bool
up_token_fits(enum ocpp_version v, const char *token)
{
	size_t n = strlen(token);

	return n > 0 && n <= (V16(v) ? 20u : 36u);
}

static void
add_id_token(cJSON *o, const char *key, const char *id, const char *type)
{
	cJSON *t = cJSON_AddObjectToObject(o, key);

	cJSON_AddStringToObject(t, "idToken", id);
	cJSON_AddStringToObject(t, "type", type && *type ? type : "ISO14443");
}

cJSON *
up_authorize(enum ocpp_version v, const struct ocpp_id_token *t,
    const char **action)
{
	cJSON *o = obj();

	*action = "Authorize";
	if (V16(v))
		cJSON_AddStringToObject(o, "idTag", t->id);
	else
		add_id_token(o, "idToken", t->id, t->type);
	return o;
}

/* Stop reasons: the charger's word in the other version's vocabulary. */
static const char *const reasons16[] = { "EmergencyStop", "EVDisconnected",
	"HardReset", "Local", "Other", "PowerLoss", "Reboot", "Remote",
	"SoftReset", "UnlockCommand", "DeAuthorized", NULL };
static const char *const reasons201[] = { "DeAuthorized", "EmergencyStop",
	"EnergyLimitReached", "EVDisconnected", "GroundFault", "ImmediateReset",
	"Local", "LocalOutOfCredit", "MasterPass", "Other", "OvercurrentFault",
	"PowerLoss", "PowerQuality", "Reboot", "Remote", "SOCLimitReached",
	"StoppedByEV", "TimeLimitReached", "Timeout", NULL };

static const char *
stop_reason(enum ocpp_version v, const char *r)
{
	if (r == NULL || *r == '\0')
		return "Local";
	if (V16(v)) {
		if (in_list(reasons16, r))
			return r;
		if (strcmp(r, "ImmediateReset") == 0)
			return "HardReset";
		return "Other";
	}
	if (in_list(reasons201, r))
		return r;
	if (strcmp(r, "HardReset") == 0 || strcmp(r, "SoftReset") == 0)
		return "ImmediateReset";
	if (strcmp(r, "UnlockCommand") == 0)
		return "Remote";
	return "Other";
}

static const char *
trigger_for_stop(const char *reason)
{
	if (strcmp(reason, "EVDisconnected") == 0)
		return "EVDeparted";
	if (strcmp(reason, "Remote") == 0)
		return "RemoteStop";
	if (strcmp(reason, "Local") == 0)
		return "StopAuthorized";
	if (strcmp(reason, "DeAuthorized") == 0)
		return "Deauthorized";
	if (strcmp(reason, "ImmediateReset") == 0)
		return "ResetCommand";
	return "AbnormalCondition";
}

static void
sample(cJSON *arr, enum ocpp_version v, double value,
    const char *measurand, const char *unit, const char *phase, bool begin,
    bool end)
{
	cJSON *s = obj();
	char buf[32];

	if (V16(v)) {
		snprintf(buf, sizeof buf, "%.1f", value);
		cJSON_AddStringToObject(s, "value", buf);
		cJSON_AddStringToObject(s, "context", begin ? "Transaction.Begin" :
		    end ? "Transaction.End" : "Sample.Periodic");
		cJSON_AddStringToObject(s, "measurand", measurand);
		if (phase)
			cJSON_AddStringToObject(s, "phase", phase);
		cJSON_AddStringToObject(s, "unit", unit);
	} else {
		cJSON *u;
		cJSON_AddNumberToObject(s, "value", round(value * 10) / 10);
		cJSON_AddStringToObject(s, "context", begin ? "Transaction.Begin" :
		    end ? "Transaction.End" : "Sample.Periodic");
		cJSON_AddStringToObject(s, "measurand", measurand);
		if (phase)
			cJSON_AddStringToObject(s, "phase", phase);
		u = cJSON_AddObjectToObject(s, "unitOfMeasure");
		cJSON_AddStringToObject(u, "unit", unit);
	}
	cJSON_AddItemToArray(arr, s);
}

/* meterValue: [{timestamp, sampledValue: [...]}] from a reading. */
static cJSON *
meter_value(enum ocpp_version v, const struct site_reading *r,
    double energy_wh, int64_t ts_ms, bool begin, bool end)
{
	static const char *const phases[] = { "L1", "L2", "L3" };
	cJSON *arr = cJSON_CreateArray(), *mv = obj(), *svs;

	json_add_time(mv, "timestamp", ts_ms);
	svs = cJSON_AddArrayToObject(mv, "sampledValue");
	sample(svs, v, energy_wh, "Energy.Active.Import.Register", "Wh", NULL,
	    begin, end);
	if (r != NULL) {
		if (r->have & SITE_HAVE_POWER)
			sample(svs, v, r->power_w, "Power.Active.Import", "W", NULL,
			    begin, end);
		if (r->have & SITE_HAVE_CURRENT)
			for (int i = 0; i < 3; i++)
				sample(svs, v, r->current_a[i], "Current.Import", "A",
				    phases[i], begin, end);
		if (r->have & SITE_HAVE_SOC)
			sample(svs, v, r->soc_pct, "SoC", "Percent", NULL, begin, end);
	}
	cJSON_AddItemToArray(arr, mv);
	return arr;
}

cJSON *
up_tx(enum ocpp_version v, enum ocpp_tx_kind kind,
    const struct site_session *x, int number, int connector,
    const struct site_reading *r, bool offline, int64_t ts_ms,
    const char **action)
{
	cJSON *o = obj();
	const bool has_token = x->id_token[0] != '\0';

	if (V16(v)) {
		switch (kind) {
		case OCPP_TX_STARTED:
			*action = "StartTransaction";
			cJSON_AddNumberToObject(o, "connectorId", number);
			/* 1.6 needs an idTag; a session started by plug-in
			 * without one is reported under the gateway's name. */
			cJSON_AddStringToObject(o, "idTag", has_token &&
			    up_token_fits(v, x->id_token) ? x->id_token :
			    "sitegate");
			cJSON_AddNumberToObject(o, "meterStart",
			    register_wh(x->meter_start_wh));
			json_add_time(o, "timestamp", x->start_ms);
			break;
		case OCPP_TX_UPDATED:
			*action = "MeterValues";
			cJSON_AddNumberToObject(o, "connectorId", number);
			cJSON_AddNumberToObject(o, "transactionId", 0);
			cJSON_AddItemToObject(o, "meterValue", meter_value(v, r,
			    r && (r->have & SITE_HAVE_ENERGY) ? r->energy_wh :
			    x->meter_start_wh, ts_ms, false, false));
			break;
		case OCPP_TX_ENDED:
			*action = "StopTransaction";
			if (has_token && up_token_fits(v, x->id_token))
				cJSON_AddStringToObject(o, "idTag", x->id_token);
			cJSON_AddNumberToObject(o, "meterStop", register_wh(
			    x->meter_stop_wh >= 0 ? x->meter_stop_wh :
			    x->meter_start_wh));
			json_add_time(o, "timestamp", x->stop_ms);
			cJSON_AddNumberToObject(o, "transactionId", 0);
			cJSON_AddStringToObject(o, "reason", stop_reason(v,
			    x->stop_reason));
			break;
		}
		return o;
	}

	*action = "TransactionEvent";
	{
		char txid[32];
		const char *reason = stop_reason(v, x->stop_reason);
		cJSON *ti, *e;
		double wh;

		snprintf(txid, sizeof txid, "%lld", (long long)x->id);
		cJSON_AddStringToObject(o, "eventType", kind == OCPP_TX_STARTED ?
		    "Started" : kind == OCPP_TX_ENDED ? "Ended" : "Updated");
		json_add_time(o, "timestamp", kind == OCPP_TX_STARTED ?
		    x->start_ms : kind == OCPP_TX_ENDED ? x->stop_ms : ts_ms);
		cJSON_AddStringToObject(o, "triggerReason",
		    kind == OCPP_TX_STARTED ? (has_token ? "Authorized" :
		    "CablePluggedIn") : kind == OCPP_TX_ENDED ?
		    trigger_for_stop(reason) : "MeterValuePeriodic");
		cJSON_AddNumberToObject(o, "seqNo", 0);
		if (offline)
			cJSON_AddTrueToObject(o, "offline");
		ti = cJSON_AddObjectToObject(o, "transactionInfo");
		cJSON_AddStringToObject(ti, "transactionId", txid);
		if (kind == OCPP_TX_ENDED)
			cJSON_AddStringToObject(ti, "stoppedReason", reason);
		if (kind == OCPP_TX_STARTED) {
			cJSON_AddStringToObject(ti, "chargingState", "EVConnected");
			e = cJSON_AddObjectToObject(o, "evse");
			cJSON_AddNumberToObject(e, "id", number);
			cJSON_AddNumberToObject(e, "connectorId", connector > 0 ?
			    connector : 1);
			if (has_token)
				add_id_token(o, "idToken", x->id_token, NULL);
		}
		if (kind == OCPP_TX_ENDED && has_token)
			add_id_token(o, "idToken", x->id_token, NULL);
		wh = kind == OCPP_TX_STARTED ? x->meter_start_wh :
		    kind == OCPP_TX_ENDED ? (x->meter_stop_wh >= 0 ?
		    x->meter_stop_wh : x->meter_start_wh) :
		    r && (r->have & SITE_HAVE_ENERGY) ? r->energy_wh :
		    x->meter_start_wh;
		cJSON_AddItemToObject(o, "meterValue", meter_value(v,
		    kind == OCPP_TX_UPDATED ? r : NULL, wh,
		    kind == OCPP_TX_STARTED ? x->start_ms : kind == OCPP_TX_ENDED ?
		    x->stop_ms : ts_ms, kind == OCPP_TX_STARTED,
		    kind == OCPP_TX_ENDED));
	}
	return o;
}

int
up_patch_tx(enum ocpp_version v, cJSON *p, const char *up_tx_id,
    int seq_no)
{
	if (V16(v)) {
		char *end;
		long long id;

		if (!cJSON_HasObjectItem(p, "transactionId"))
			return 0;
		if (up_tx_id == NULL)
			return -1;
		id = strtoll(up_tx_id, &end, 10);
		if (end == up_tx_id || *end != '\0')
			return -1;
		cJSON_ReplaceItemInObjectCaseSensitive(p, "transactionId",
		    cJSON_CreateNumber((double)id));
		return 0;
	}
	if (cJSON_HasObjectItem(p, "seqNo"))
		cJSON_ReplaceItemInObjectCaseSensitive(p, "seqNo",
		    cJSON_CreateNumber(seq_no < 0 ? 0 : seq_no));
	return 0;
}

cJSON *
up_charging_limit(const double limit_a[3], int64_t now_ms,
    const char **action)
{
	cJSON *o = obj(), *cl, *scheds, *s, *periods, *pe;
	double lim = fmin(limit_a[0], fmin(limit_a[1], limit_a[2]));

	*action = "NotifyChargingLimit";
	cl = cJSON_AddObjectToObject(o, "chargingLimit");
	cJSON_AddStringToObject(cl, "chargingLimitSource", "EMS");
	scheds = cJSON_AddArrayToObject(o, "chargingSchedule");
	s = obj();
	cJSON_AddNumberToObject(s, "id", 1);
	json_add_time(s, "startSchedule", now_ms);
	cJSON_AddStringToObject(s, "chargingRateUnit", "A");
	periods = cJSON_AddArrayToObject(s, "chargingSchedulePeriod");
	pe = obj();
	cJSON_AddNumberToObject(pe, "startPeriod", 0);
	cJSON_AddNumberToObject(pe, "limit", floor(lim * 10) / 10);
	cJSON_AddNumberToObject(pe, "numberPhases", 3);
	cJSON_AddItemToArray(periods, pe);
	cJSON_AddItemToArray(scheds, s);
	return o;
}

cJSON *
up_charging_limit_cleared(const char **action)
{
	cJSON *o = obj();

	*action = "ClearedChargingLimit";
	cJSON_AddStringToObject(o, "chargingLimitSource", "EMS");
	return o;
}

/* ------------------------------------------------------------ answers */

void
up_boot_result(const cJSON *p, struct up_boot_result *out)
{
	const char *s = json_str(p, "status");

	out->status = s == NULL ? SITE_BOOT_REJECTED :
	    strcmp(s, "Accepted") == 0 ? SITE_BOOT_ACCEPTED :
	    strcmp(s, "Pending") == 0 ? SITE_BOOT_PENDING : SITE_BOOT_REJECTED;
	out->interval_s = json_int(p, "interval", 0);
}

static const struct {
	const char *name;
	enum ocpp_auth_status st;
} auth_names[] = {
	{ "Accepted", OCPP_AUTH_ACCEPTED }, { "Blocked", OCPP_AUTH_BLOCKED },
	{ "Expired", OCPP_AUTH_EXPIRED }, { "Invalid", OCPP_AUTH_INVALID },
	{ "Unknown", OCPP_AUTH_UNKNOWN },
	{ "ConcurrentTx", OCPP_AUTH_CONCURRENT_TX },
	/* 2.0.1 words 1.6 does not have: the nearest meaning */
	{ "NoCredit", OCPP_AUTH_BLOCKED }, { "NotAllowedTypeEVSE",
	  OCPP_AUTH_INVALID }, { "NotAtThisLocation", OCPP_AUTH_INVALID },
	{ "NotAtThisTime", OCPP_AUTH_INVALID },
};

static enum ocpp_auth_status
auth_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof auth_names / sizeof *auth_names; i++)
		if (strcmp(auth_names[i].name, s) == 0)
			return auth_names[i].st;
	return OCPP_AUTH_INVALID;
}

const char *
up_auth_name(enum ocpp_version v, enum ocpp_auth_status s)
{
	switch (s) {
	case OCPP_AUTH_ACCEPTED:
		return "Accepted";
	case OCPP_AUTH_BLOCKED:
		return "Blocked";
	case OCPP_AUTH_EXPIRED:
		return "Expired";
	case OCPP_AUTH_CONCURRENT_TX:
		return "ConcurrentTx";
	case OCPP_AUTH_UNKNOWN:
		return V16(v) ? "Invalid" : "Unknown";
	case OCPP_AUTH_INVALID:
	default:
		return "Invalid";
	}
}

void
up_auth_result(enum ocpp_version v, const char *action,
    const cJSON *p, struct up_auth_result *out)
{
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(p,
	    V16(v) ? "idTagInfo" : "idTokenInfo");

	memset(out, 0, sizeof *out);
	if (V16(v) && strcmp(action, "StartTransaction") == 0)
		snprintf(out->tx_id, sizeof out->tx_id, "%d",
		    json_int(p, "transactionId", 0));
	if (info == NULL)
		return;
	out->has_auth = true;
	out->status = auth_parse(json_str(info, "status"));
	if (json_time(info, V16(v) ? "expiryDate" : "cacheExpiryDateTime",
	    &out->expiry_ms) != 0)
		out->expiry_ms = 0;
}

/* ------------------------------------------------------------ down */

static const char *const purposes16[] = { "ChargePointMaxProfile",
	"TxDefaultProfile", "TxProfile", NULL };
static const char *const purposes201[] = { "ChargingStationMaxProfile",
	"TxDefaultProfile", "TxProfile", NULL };

static enum ocpp_purpose
purpose_parse(enum ocpp_version v, const char *s)
{
	const char *const *names = V16(v) ? purposes16 : purposes201;

	for (int i = 0; s && names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return (enum ocpp_purpose)i;
	/* ChargingStationExternalConstraints: not ours to set. */
	return OCPP_PURPOSE_ANY;
}

static void
decode_profile(enum ocpp_version v, const cJSON *cp,
    struct ocpp_profile *p)
{
	const cJSON *sched = cJSON_GetObjectItemCaseSensitive(cp,
	    "chargingSchedule");
	const char *kind = json_str(cp, "chargingProfileKind");

	memset(p, 0, sizeof *p);
	p->id = json_int(cp, V16(v) ? "chargingProfileId" : "id", 0);
	p->stack_level = json_int(cp, "stackLevel", 0);
	p->purpose = purpose_parse(v, json_str(cp, "chargingProfilePurpose"));
	p->relative = kind && strcmp(kind, "Relative") == 0;
	if (!V16(v))
		sched = sched ? sched->child : NULL;	/* the first schedule */
	if (sched)
		codec_schedule(sched, "startSchedule", p);
	if (json_time(cp, "validTo", &p->valid_to_ms) != 0)
		p->valid_to_ms = 0;
	if (V16(v) && cJSON_HasObjectItem(cp, "transactionId"))
		snprintf(p->tx_id, sizeof p->tx_id, "%d",
		    json_int(cp, "transactionId", 0));
	else
		json_copy(p->tx_id, sizeof p->tx_id, cp, "transactionId");
}

static int
decode_list(enum ocpp_version v, const cJSON *p, struct up_down *d,
    struct ocpp_error *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(p,
	    "localAuthorizationList");
	const char *type = json_str(p, "updateType");

	d->list_version = json_int(p, V16(v) ? "listVersion" : "versionNumber",
	    0);
	d->list_full = type && strcmp(type, "Full") == 0;
	for (const cJSON *e = list ? list->child : NULL; e; e = e->next) {
		const cJSON *info = cJSON_GetObjectItemCaseSensitive(e,
		    V16(v) ? "idTagInfo" : "idTokenInfo");
		const cJSON *tok = V16(v) ? e :
		    cJSON_GetObjectItemCaseSensitive(e, "idToken");

		if (d->nentries >= UP_MAX_LIST)
			return codec_refuse(err, OCPP_ERR_OCCURRENCE,
			    "localAuthorizationList: more than %d entries in one "
			    "message", UP_MAX_LIST);
		json_copy(d->entries[d->nentries].token, SITE_TOKEN_LEN, tok,
		    V16(v) ? "idTag" : "idToken");
		d->entries[d->nentries].status = info ?
		    (int)auth_parse(json_str(info, "status")) : -1;
		if (info == NULL || json_time(info, V16(v) ? "expiryDate" :
		    "cacheExpiryDateTime", &d->entries[d->nentries].expiry_ms) != 0)
			d->entries[d->nentries].expiry_ms = 0;
		d->nentries++;
	}
	return 0;
}

static void
add_key(struct up_down *d, const char *component, const char *variable,
    const char *value)
{
	struct ocpp_key *k;

	if (d->nkeys >= OCPP_MAX_KEYS)
		return;
	k = &d->keys[d->nkeys++];
	snprintf(k->component, sizeof k->component, "%s", component ?
	    component : "");
	snprintf(k->variable, sizeof k->variable, "%s", variable ? variable : "");
	if (value) {
		snprintf(k->value, sizeof k->value, "%s", value);
		k->has_value = true;
	}
}

static int
decode_vars(const cJSON *arr, struct up_down *d, bool set,
    struct ocpp_error *err)
{
	for (const cJSON *it = arr ? arr->child : NULL; it; it = it->next) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "component");
		const cJSON *var = cJSON_GetObjectItemCaseSensitive(it, "variable");

		if (d->nkeys >= OCPP_MAX_KEYS)
			return codec_refuse(err, OCPP_ERR_OCCURRENCE,
			    "%s: more than %d variables in one request", set ?
			    "setVariableData" : "getVariableData", OCPP_MAX_KEYS);
		add_key(d, json_str(c, "name"), json_str(var, "name"), set ?
		    json_str(it, "attributeValue") : NULL);
	}
	return 0;
}

int
up_decode_down(enum ocpp_version v, const char *a, const cJSON *p,
    struct up_down *d, struct ocpp_error *err)
{
	memset(d, 0, sizeof *d);
	d->evse = -1;
	d->clear_id = -1;
	d->clear_purpose = OCPP_PURPOSE_ANY;
	d->clear_stack_level = -1;
	d->unit = OCPP_UNIT_ANY;
	err->code = OCPP_ERR_OTHER;
	err->text[0] = '\0';

	if (!strcmp(a, "RemoteStartTransaction") ||
	    !strcmp(a, "RequestStartTransaction")) {
		d->type = UP_DOWN_REMOTE_START;
		d->evse = json_int(p, V16(v) ? "connectorId" : "evseId", -1);
		if (V16(v)) {
			json_copy(d->token.id, sizeof d->token.id, p, "idTag");
		} else {
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "idToken");
			json_copy(d->token.id, sizeof d->token.id, t, "idToken");
			json_copy(d->token.type, sizeof d->token.type, t, "type");
			d->remote_start_id = json_int(p, "remoteStartId", 0);
		}
	} else if (!strcmp(a, "RemoteStopTransaction") ||
	    !strcmp(a, "RequestStopTransaction")) {
		d->type = UP_DOWN_REMOTE_STOP;
		if (V16(v))
			snprintf(d->tx_id, sizeof d->tx_id, "%d",
			    json_int(p, "transactionId", 0));
		else
			json_copy(d->tx_id, sizeof d->tx_id, p, "transactionId");
	} else if (!strcmp(a, "UnlockConnector")) {
		d->type = UP_DOWN_UNLOCK;
		d->evse = json_int(p, V16(v) ? "connectorId" : "evseId", -1);
		d->connector = V16(v) ? 1 : json_int(p, "connectorId", 1);
	} else if (!strcmp(a, "ChangeAvailability")) {
		const char *s = json_str(p, V16(v) ? "type" : "operationalStatus");
		d->type = UP_DOWN_AVAILABILITY;
		d->operative = s && strcmp(s, "Operative") == 0;
		if (V16(v)) {
			d->evse = json_int(p, "connectorId", 0);
		} else {
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(p, "evse");
			d->evse = e ? json_int(e, "id", 0) : 0;
		}
	} else if (!strcmp(a, "Reset")) {
		const char *s = json_str(p, "type");
		d->type = UP_DOWN_RESET;
		d->hard = s && (!strcmp(s, "Hard") || !strcmp(s, "Immediate"));
		d->evse = V16(v) ? 0 : json_int(p, "evseId", 0);
	} else if (!strcmp(a, "TriggerMessage")) {
		d->type = UP_DOWN_TRIGGER;
		json_copy(d->trigger, sizeof d->trigger, p, "requestedMessage");
		if (V16(v)) {
			d->evse = json_int(p, "connectorId", -1);
		} else {
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(p, "evse");
			d->evse = e ? json_int(e, "id", -1) : -1;
		}
	} else if (!strcmp(a, "GetConfiguration")) {
		const cJSON *keys = cJSON_GetObjectItemCaseSensitive(p, "key");
		d->type = UP_DOWN_GET_CONFIG;
		for (const cJSON *k = keys ? keys->child : NULL; k; k = k->next) {
			if (d->nkeys >= OCPP_MAX_KEYS)
				return codec_refuse(err, OCPP_ERR_OCCURRENCE,
				    "key: more than %d keys in one request",
				    OCPP_MAX_KEYS);
			add_key(d, NULL, cJSON_IsString(k) ? k->valuestring : "",
			    NULL);
		}
	} else if (!strcmp(a, "ChangeConfiguration")) {
		d->type = UP_DOWN_SET_CONFIG;
		add_key(d, NULL, json_str(p, "key"), json_str(p, "value"));
	} else if (!strcmp(a, "GetVariables")) {
		d->type = UP_DOWN_GET_CONFIG;
		if (decode_vars(cJSON_GetObjectItemCaseSensitive(p,
		    "getVariableData"), d, false, err) != 0)
			return -1;
	} else if (!strcmp(a, "SetVariables")) {
		d->type = UP_DOWN_SET_CONFIG;
		if (decode_vars(cJSON_GetObjectItemCaseSensitive(p,
		    "setVariableData"), d, true, err) != 0)
			return -1;
	} else if (!strcmp(a, "SendLocalList")) {
		d->type = UP_DOWN_SEND_LOCAL_LIST;
		if (decode_list(v, p, d, err) != 0)
			return -1;
	} else if (!strcmp(a, "GetLocalListVersion")) {
		d->type = UP_DOWN_GET_LOCAL_LIST_VERSION;
	} else if (!strcmp(a, "SetChargingProfile")) {
		d->type = UP_DOWN_SET_PROFILE;
		d->evse = json_int(p, V16(v) ? "connectorId" : "evseId", 0);
		decode_profile(v, cJSON_GetObjectItemCaseSensitive(p, V16(v) ?
		    "csChargingProfiles" : "chargingProfile"), &d->profile);
	} else if (!strcmp(a, "ClearChargingProfile")) {
		const cJSON *c = V16(v) ? p :
		    cJSON_GetObjectItemCaseSensitive(p, "chargingProfileCriteria");
		d->type = UP_DOWN_CLEAR_PROFILE;
		d->clear_id = json_int(p, V16(v) ? "id" : "chargingProfileId", -1);
		if (c) {
			const char *pu = json_str(c, "chargingProfilePurpose");
			d->evse = json_int(c, V16(v) ? "connectorId" : "evseId", -1);
			if (pu)
				d->clear_purpose = purpose_parse(v, pu);
			d->clear_stack_level = json_int(c, "stackLevel", -1);
		}
	} else if (!strcmp(a, "GetCompositeSchedule")) {
		const char *u = json_str(p, "chargingRateUnit");
		d->type = UP_DOWN_GET_COMPOSITE;
		d->evse = json_int(p, V16(v) ? "connectorId" : "evseId", 0);
		d->duration_s = json_int(p, "duration", 0);
		if (u)
			d->unit = strcmp(u, "W") == 0 ? OCPP_UNIT_W : OCPP_UNIT_A;
	} else if (!strcmp(a, "DataTransfer")) {
		d->type = UP_DOWN_DATA_TRANSFER;
	} else if (!strcmp(a, "ClearCache")) {
		d->type = UP_DOWN_CLEAR_CACHE;
	}
	return 0;
}

cJSON *
up_reply_status(const char *status)
{
	cJSON *o = obj();

	cJSON_AddStringToObject(o, "status", status);
	return o;
}

cJSON *
up_reply_start(const char *status, const char *tx_id)
{
	cJSON *o = up_reply_status(status);

	if (tx_id && *tx_id)
		cJSON_AddStringToObject(o, "transactionId", tx_id);
	return o;
}

cJSON *
up_reply_list_version(enum ocpp_version v, int version)
{
	cJSON *o = obj();

	cJSON_AddNumberToObject(o, V16(v) ? "listVersion" : "versionNumber",
	    version);
	return o;
}

static const struct up_setting *
setting_find(enum ocpp_version v, const struct ocpp_key *k,
    const struct up_setting *s, int n)
{
	for (int i = 0; i < n; i++) {
		if (V16(v) ? strcmp(s[i].key, k->variable) == 0 :
		    strcmp(s[i].component, k->component) == 0 &&
		    strcmp(s[i].variable, k->variable) == 0)
			return &s[i];
	}
	return NULL;
}

static bool
component_known(const struct ocpp_key *k, const struct up_setting *s, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s[i].component, k->component) == 0)
			return true;
	return false;
}

static cJSON *
named(const char *name)
{
	cJSON *o = obj();

	cJSON_AddStringToObject(o, "name", name);
	return o;
}

cJSON *
up_reply_get_config(enum ocpp_version v, const struct up_down *d,
    const struct up_setting *s, int n)
{
	cJSON *o = obj();

	if (V16(v)) {
		cJSON *keys = cJSON_AddArrayToObject(o, "configurationKey");
		cJSON *unknown = cJSON_CreateArray();

		for (int i = 0; i < (d->nkeys ? d->nkeys : n); i++) {
			const struct up_setting *x = d->nkeys ?
			    setting_find(v, &d->keys[i], s, n) : &s[i];
			cJSON *k;

			if (x == NULL) {
				cJSON_AddItemToArray(unknown, cJSON_CreateString(
				    d->keys[i].variable));
				continue;
			}
			k = obj();
			cJSON_AddStringToObject(k, "key", x->key);
			cJSON_AddBoolToObject(k, "readonly", x->readonly);
			cJSON_AddStringToObject(k, "value", x->value);
			cJSON_AddItemToArray(keys, k);
		}
		if (cJSON_GetArraySize(unknown) > 0)
			cJSON_AddItemToObject(o, "unknownKey", unknown);
		else
			cJSON_Delete(unknown);
		return o;
	}
	{
		cJSON *arr = cJSON_AddArrayToObject(o, "getVariableResult");

		for (int i = 0; i < d->nkeys; i++) {
			const struct ocpp_key *k = &d->keys[i];
			const struct up_setting *x = setting_find(v, k, s, n);
			cJSON *r = obj();

			cJSON_AddStringToObject(r, "attributeStatus", x ? "Accepted" :
			    component_known(k, s, n) ? "UnknownVariable" :
			    "UnknownComponent");
			if (x)
				cJSON_AddStringToObject(r, "attributeValue", x->value);
			cJSON_AddItemToObject(r, "component", named(k->component));
			cJSON_AddItemToObject(r, "variable", named(k->variable));
			cJSON_AddItemToArray(arr, r);
		}
	}
	return o;
}

cJSON *
up_reply_set_config(enum ocpp_version v, const struct up_down *d,
    const char *const *status)
{
	cJSON *o, *arr;

	if (V16(v))
		return up_reply_status(status[0]);
	o = obj();
	arr = cJSON_AddArrayToObject(o, "setVariableResult");
	for (int i = 0; i < d->nkeys; i++) {
		cJSON *r = obj();

		cJSON_AddStringToObject(r, "attributeStatus", status[i]);
		cJSON_AddItemToObject(r, "component", named(d->keys[i].component));
		cJSON_AddItemToObject(r, "variable", named(d->keys[i].variable));
		cJSON_AddItemToArray(arr, r);
	}
	return o;
}

cJSON *
up_reply_composite(enum ocpp_version v, int number, bool accepted,
    double limit_a, int phases, int duration_s, int64_t start_ms)
{
	cJSON *o = up_reply_status(accepted ? "Accepted" : "Rejected");
	cJSON *s, *periods, *pe;

	if (!accepted)
		return o;
	if (V16(v)) {
		cJSON_AddNumberToObject(o, "connectorId", number);
		json_add_time(o, "scheduleStart", start_ms);
		s = cJSON_AddObjectToObject(o, "chargingSchedule");
		cJSON_AddNumberToObject(s, "duration", duration_s);
		json_add_time(s, "startSchedule", start_ms);
	} else {
		s = cJSON_AddObjectToObject(o, "schedule");
		cJSON_AddNumberToObject(s, "evseId", number);
		cJSON_AddNumberToObject(s, "duration", duration_s);
		json_add_time(s, "scheduleStart", start_ms);
	}
	cJSON_AddStringToObject(s, "chargingRateUnit", "A");
	periods = cJSON_AddArrayToObject(s, "chargingSchedulePeriod");
	pe = obj();
	cJSON_AddNumberToObject(pe, "startPeriod", 0);
	cJSON_AddNumberToObject(pe, "limit", floor(limit_a * 10) / 10);
	if (phases > 0)
		cJSON_AddNumberToObject(pe, "numberPhases", phases);
	cJSON_AddItemToArray(periods, pe);
	return o;
}
