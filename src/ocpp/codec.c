/*
 * codec — see codec.h.
 */
#include "ocpp/codec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp/meter.h"
#include "util/json.h"

int
codec_refuse(struct ocpp_error *err, enum ocpp_errcode code, const char *fmt,
    ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof err->text, fmt, ap);
	va_end(ap);
	return -1;
}

int
codec_refuse_meter(struct ocpp_error *err, const char *name, int i, int j,
    double v, const char *unit)
{
	return codec_refuse(err, OCPP_ERR_PROPERTY, "%s[%d].sampledValue[%d]"
	    ".value: %.15g%s%s is out of range (at most %g in magnitude once "
	    "normalised; an energy register not below 0)", name, i, j, v,
	    unit[0] ? " " : "", unit, METER_MAX);
}

int
codec_refuse_negative(struct ocpp_error *err, const char *field, int v)
{
	return codec_refuse(err, OCPP_ERR_PROPERTY, "%s: %d is below 0",
	    field, v);
}

void
codec_schedule(const cJSON *sched, const char *start_key,
    struct ocpp_profile *p)
{
	const cJSON *periods = cJSON_GetObjectItemCaseSensitive(sched,
	    "chargingSchedulePeriod");
	const char *unit = json_str(sched, "chargingRateUnit");

	p->unit = unit && strcmp(unit, "W") == 0 ? OCPP_UNIT_W : OCPP_UNIT_A;
	p->duration_s = json_int(sched, "duration", 0);
	if (json_time(sched, start_key, &p->start_ms) != 0)
		p->start_ms = 0;
	for (const cJSON *pe = periods ? periods->child : NULL;
	    pe && p->nperiods < OCPP_MAX_PERIODS; pe = pe->next) {
		struct ocpp_period *x = &p->periods[p->nperiods++];
		x->start_s = json_int(pe, "startPeriod", 0);
		x->limit = json_num(pe, "limit", 0);
		x->phases = json_int(pe, "numberPhases", 0);
	}
}

void
codec_add_periods(cJSON *sched, const struct ocpp_profile *p, bool tenths)
{
	cJSON *periods;

	cJSON_AddStringToObject(sched, "chargingRateUnit",
	    p->unit == OCPP_UNIT_W ? "W" : "A");
	periods = cJSON_AddArrayToObject(sched, "chargingSchedulePeriod");
	for (int i = 0; i < p->nperiods; i++) {
		const struct ocpp_period *x = &p->periods[i];
		cJSON *pe = codec_object();

		cJSON_AddNumberToObject(pe, "startPeriod", x->start_s);
		cJSON_AddNumberToObject(pe, "limit", tenths ?
		    codec_tenths(x->limit) : x->limit);
		if (x->phases > 0)
			cJSON_AddNumberToObject(pe, "numberPhases", x->phases);
		cJSON_AddItemToArray(periods, pe);
	}
}

void
codec_add_limit(cJSON *sched, double limit_a, int phases)
{
	struct ocpp_profile p = { .unit = OCPP_UNIT_A, .nperiods = 1,
		.periods = { { 0, limit_a, phases } } };

	codec_add_periods(sched, &p, true);
}

double
codec_tenths(double v)
{
	return floor(v * 10 + 1e-9) / 10;
}

cJSON *
codec_object(void)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		abort();
	return o;
}

bool
codec_in_list(const char *const *list, const char *s)
{
	for (; s && *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

enum site_status
codec_status_parse(const char *const *names, const char *word)
{
	for (int i = SITE_STATUS_AVAILABLE; word && i < SITE_STATUS_COUNT; i++)
		if (names[i] && strcmp(names[i], word) == 0)
			return (enum site_status)i;
	return SITE_STATUS_UNKNOWN;
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

const char *
codec_auth_name(enum ocpp_auth_status s)
{
	/* The first entries are the model's own statuses, in its order. */
	for (size_t i = 0; i < sizeof auth_names / sizeof *auth_names; i++)
		if (auth_names[i].st == s)
			return auth_names[i].name;
	return "Invalid";
}

enum ocpp_auth_status
codec_auth_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof auth_names / sizeof *auth_names; i++)
		if (strcmp(auth_names[i].name, s) == 0)
			return auth_names[i].st;
	return OCPP_AUTH_INVALID;
}

/* ------------------------------------------------------------ upstream */

cJSON *
codec_meter_value(codec_sample_fn *sample, const struct site_reading *r,
    double energy_wh, int64_t ts_ms, bool begin, bool end)
{
	static const char *const phases[] = { "L1", "L2", "L3" };
	const char *ctx = begin ? "Transaction.Begin" : end ?
	    "Transaction.End" : "Sample.Periodic";
	cJSON *arr = cJSON_CreateArray(), *mv = codec_object(), *svs;

	if (arr == NULL)
		abort();
	json_add_time(mv, "timestamp", ts_ms);
	svs = cJSON_AddArrayToObject(mv, "sampledValue");
	sample(svs, energy_wh, "Energy.Active.Import.Register", "Wh", NULL, ctx);
	if (r != NULL) {
		if (r->have & SITE_HAVE_POWER)
			sample(svs, r->power_w, "Power.Active.Import", "W", NULL, ctx);
		if (r->have & SITE_HAVE_CURRENT)
			for (int i = 0; i < 3; i++)
				sample(svs, r->current_a[i], "Current.Import", "A",
				    phases[i], ctx);
		if (r->have & SITE_HAVE_SOC)
			sample(svs, r->soc_pct, "SoC", "Percent", NULL, ctx);
	}
	cJSON_AddItemToArray(arr, mv);
	return arr;
}

cJSON *
codec_heartbeat(const char **action)
{
	*action = "Heartbeat";
	return codec_object();
}

void
codec_boot_result(const cJSON *p, struct up_boot_result *out)
{
	const char *s = json_str(p, "status");

	out->status = s == NULL ? SITE_BOOT_REJECTED :
	    strcmp(s, "Accepted") == 0 ? SITE_BOOT_ACCEPTED :
	    strcmp(s, "Pending") == 0 ? SITE_BOOT_PENDING : SITE_BOOT_REJECTED;
	out->interval_s = json_int(p, "interval", 0);
}

void
codec_down_init(struct up_down *d, struct ocpp_error *err)
{
	memset(d, 0, sizeof *d);
	d->evse = -1;
	d->clear_id = -1;
	d->clear_purpose = OCPP_PURPOSE_ANY;
	d->clear_stack_level = -1;
	d->unit = OCPP_UNIT_ANY;
	err->code = OCPP_ERR_OTHER;
	err->text[0] = '\0';
}

struct up_key *
codec_down_key(struct up_down *d, const char *component, const char *variable,
    const char *value)
{
	struct up_key *k;

	if (d->nkeys >= OCPP_MAX_KEYS)
		return NULL;
	k = &d->keys[d->nkeys++];
	memset(k, 0, sizeof *k);
	k->setting = -1;
	snprintf(k->key.component, sizeof k->key.component, "%s", component ?
	    component : "");
	snprintf(k->key.variable, sizeof k->key.variable, "%s", variable ?
	    variable : "");
	if (value) {
		snprintf(k->key.value, sizeof k->key.value, "%s", value);
		k->key.has_value = true;
	}
	return k;
}

enum up_trigger
codec_trigger(const char *m)
{
	static const char *const names[] = { [UP_TRIGGER_BOOT] =
		"BootNotification", [UP_TRIGGER_HEARTBEAT] = "Heartbeat",
		[UP_TRIGGER_STATUS] = "StatusNotification", [UP_TRIGGER_METER] =
		"MeterValues" };

	for (size_t i = UP_TRIGGER_BOOT; m && i < sizeof names / sizeof *names;
	    i++)
		if (strcmp(names[i], m) == 0)
			return (enum up_trigger)i;
	return UP_TRIGGER_OTHER;
}

/* The status and expiry of an authorization info object. */
static void
auth_info(const cJSON *info, const char *expiry_key,
    enum ocpp_auth_status *status, int64_t *expiry_ms)
{
	*status = codec_auth_parse(json_str(info, "status"));
	if (json_time(info, expiry_key, expiry_ms) != 0)
		*expiry_ms = 0;
}

void
codec_auth_result(const cJSON *p, const struct codec_auth_words *w,
    struct up_auth_result *out)
{
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(p, w->info);

	memset(out, 0, sizeof *out);
	if (info == NULL)
		return;
	out->has_auth = true;
	auth_info(info, w->expiry, &out->status, &out->expiry_ms);
}

int
codec_down_list(const cJSON *p, const struct codec_auth_words *w,
    struct up_down *d, struct ocpp_error *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(p,
	    "localAuthorizationList");
	const char *type = json_str(p, "updateType");

	d->list_version = json_int(p, w->version, 0);
	d->list_full = type && strcmp(type, "Full") == 0;
	for (const cJSON *e = list ? list->child : NULL; e; e = e->next) {
		const cJSON *info = cJSON_GetObjectItemCaseSensitive(e, w->info);
		const cJSON *tok = w->token_object == NULL ? e :
		    cJSON_GetObjectItemCaseSensitive(e, w->token_object);
		enum ocpp_auth_status st;

		if (d->nentries >= UP_MAX_LIST)
			return codec_refuse(err, OCPP_ERR_OCCURRENCE,
			    "localAuthorizationList: more than %d entries in one "
			    "message", UP_MAX_LIST);
		json_copy(d->entries[d->nentries].token, SITE_TOKEN_LEN, tok,
		    w->token);
		d->entries[d->nentries].status = -1;
		d->entries[d->nentries].expiry_ms = 0;
		if (info != NULL) {
			auth_info(info, w->expiry, &st,
			    &d->entries[d->nentries].expiry_ms);
			d->entries[d->nentries].status = (int)st;
		}
		d->nentries++;
	}
	return 0;
}

int
codec_decode_down(const struct codec_down *table, size_t n,
    const char *action, const cJSON *p, struct up_down *d,
    struct ocpp_error *err)
{
	codec_down_init(d, err);
	for (size_t i = 0; i < n; i++)
		if (strcmp(action, table[i].action) == 0) {
			d->type = table[i].type;
			return table[i].decode(p, d, err);
		}
	return 0;
}

const char *
codec_down_action(const struct codec_down *table, size_t n, size_t i)
{
	return i < n ? table[i].action : NULL;
}

int
codec_down_nothing(const cJSON *p, struct up_down *d, struct ocpp_error *err)
{
	(void)p;
	(void)d;
	(void)err;
	return 0;
}

void
codec_down_composite(const cJSON *p, const char *evse_key, struct up_down *d)
{
	const char *u = json_str(p, "chargingRateUnit");

	d->evse = json_int(p, evse_key, 0);
	d->duration_s = json_int(p, "duration", 0);
	if (u)
		d->unit = strcmp(u, "W") == 0 ? OCPP_UNIT_W : OCPP_UNIT_A;
}

void
codec_down_clear(const cJSON *p, const char *id_key, const cJSON *c,
    const char *evse_key, const char *const *purposes, struct up_down *d)
{
	const char *pu = json_str(c, "chargingProfilePurpose");

	d->clear_id = json_int(p, id_key, -1);
	if (c == NULL)
		return;
	d->evse = json_int(c, evse_key, -1);
	if (pu)
		d->clear_purpose = (enum ocpp_purpose)codec_index(purposes, pu);
	d->clear_stack_level = json_int(c, "stackLevel", -1);
}

int
codec_index(const char *const *names, const char *s)
{
	for (int i = 0; s && names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}
