/*
 * codec — see codec.h.
 */
#include "ocpp/codec.h"

#include <stdarg.h>
#include <stdio.h>
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
