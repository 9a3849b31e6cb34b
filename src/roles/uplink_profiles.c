/*
 * uplink_profiles — see uplink_profiles.h.
 *
 * A fixed table of slots: a profile is small and an upstream sets a few,
 * so a linear scan beats any index, and nothing is allocated per profile.
 * The saved form is the gateway's own (short member names, periods as
 * [start_s, limit, phases] triples), not OCPP: it only has to come back.
 */
#include "roles/uplink_profiles.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/json.h"
#include "util/xalloc.h"

struct prof {
	bool used;
	int number;			/* 0: the station */
	struct ocpp_profile p;
	int64_t start_ms;		/* the schedule's time zero */
};

struct uplink_profiles {
	struct uplink_profiles_sink sink;
	struct prof profs[UPLINK_MAX_PROFILES];
};

struct uplink_profiles *
uplink_profiles_new(const struct uplink_profiles_sink *sink)
{
	struct uplink_profiles *ps = xcalloc(1, sizeof *ps);

	if (sink != NULL)
		ps->sink = *sink;
	return ps;
}

void
uplink_profiles_free(struct uplink_profiles *ps)
{
	free(ps);
}

static void
cap(const struct uplink_profiles *ps, int number, double a)
{
	if (ps->sink.evse_cap != NULL)
		ps->sink.evse_cap(number, a, ps->sink.arg);
}

int
uplink_profiles_put(struct uplink_profiles *ps, int number,
    const struct ocpp_profile *p, int64_t now_ms)
{
	struct prof *slot = NULL;

	/* Same id, or same target and purpose: replaced. */
	for (int i = 0; i < UPLINK_MAX_PROFILES; i++) {
		struct prof *x = &ps->profs[i];
		if (x->used && (x->p.id == p->id || (x->number == number &&
		    x->p.purpose == p->purpose &&
		    x->p.stack_level == p->stack_level))) {
			slot = x;
			break;
		}
	}
	for (int i = 0; slot == NULL && i < UPLINK_MAX_PROFILES; i++)
		if (!ps->profs[i].used)
			slot = &ps->profs[i];
	if (slot == NULL)
		return -1;
	slot->used = true;
	slot->number = number;
	slot->p = *p;
	slot->start_ms = p->start_ms > 0 && !p->relative ? p->start_ms : now_ms;
	return 0;
}

int
uplink_profiles_clear(struct uplink_profiles *ps, int id, int number,
    enum ocpp_purpose purpose, int stack_level)
{
	int cleared = 0;

	for (int i = 0; i < UPLINK_MAX_PROFILES; i++) {
		struct prof *x = &ps->profs[i];
		if (!x->used)
			continue;
		if (id >= 0 && x->p.id != id)
			continue;
		if (number >= 0 && x->number != number)
			continue;
		if (purpose != OCPP_PURPOSE_ANY && x->p.purpose != purpose)
			continue;
		if (stack_level >= 0 && x->p.stack_level != stack_level)
			continue;
		if (x->number > 0)
			cap(ps, x->number, -1);
		x->used = false;
		cleared++;
	}
	return cleared;
}

static int
profile_phases(const struct ocpp_period *pe)
{
	return pe->phases > 0 ? pe->phases : 3;
}

/* The limit in A of profile x at now, or < 0 when none is in force; *next
 * gets the time of the next change (INT64_MAX when none). */
static double
profile_at(const struct prof *x, int64_t now, double voltage_v, int64_t *next)
{
	const struct ocpp_profile *p = &x->p;
	int64_t t = now - x->start_ms;
	int idx = -1;
	double lim;

	*next = INT64_MAX;
	if (p->valid_to_ms > 0 && now >= p->valid_to_ms)
		return -1;
	if (p->valid_to_ms > 0)
		*next = p->valid_to_ms;
	if (t < 0) {
		*next = x->start_ms;
		return -1;
	}
	if (p->duration_s > 0) {
		int64_t end = x->start_ms + (int64_t)p->duration_s * 1000;
		if (now >= end)
			return -1;
		if (end < *next)
			*next = end;
	}
	for (int i = 0; i < p->nperiods; i++) {
		int64_t at = x->start_ms + (int64_t)p->periods[i].start_s * 1000;
		if (at <= now)
			idx = i;
		else if (at < *next) {
			*next = at;
			break;
		}
	}
	if (idx < 0)
		return -1;
	lim = p->periods[idx].limit;
	if (p->unit == OCPP_UNIT_W)
		lim /= voltage_v * profile_phases(&p->periods[idx]);
	return lim < 0 ? 0 : lim;
}

int64_t
uplink_profiles_apply(struct uplink_profiles *ps, int64_t now,
    double voltage_v)
{
	int64_t next_all = INT64_MAX, next;
	double station = -1;
	bool has_station = false;

	for (int i = 0; i < UPLINK_MAX_PROFILES; i++) {
		struct prof *x = &ps->profs[i];
		double lim;

		if (!x->used)
			continue;
		lim = profile_at(x, now, voltage_v, &next);
		if (next < next_all)
			next_all = next;
		if (lim < 0 && next == INT64_MAX) {
			/* Over for good. */
			if (x->number > 0)
				cap(ps, x->number, -1);
			x->used = false;
			continue;
		}
		if (x->number == 0) {
			has_station = true;
			if (lim >= 0 && (station < 0 || lim < station))
				station = lim;
		} else {
			cap(ps, x->number, lim);
		}
	}
	if (ps->sink.station_limit != NULL) {
		double l[3] = { station, station, station };
		ps->sink.station_limit(has_station && station >= 0 ? l : NULL,
		    ps->sink.arg);
	}
	return next_all;
}

char *
uplink_profiles_save(const struct uplink_profiles *ps)
{
	cJSON *arr = cJSON_CreateArray();
	char *text;

	if (arr == NULL)
		abort();
	for (int i = 0; i < UPLINK_MAX_PROFILES; i++) {
		const struct prof *x = &ps->profs[i];
		cJSON *o, *pe;

		if (!x->used)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "n", x->number);
		cJSON_AddNumberToObject(o, "id", x->p.id);
		cJSON_AddNumberToObject(o, "sl", x->p.stack_level);
		cJSON_AddNumberToObject(o, "pu", x->p.purpose);
		cJSON_AddNumberToObject(o, "unit", x->p.unit);
		cJSON_AddNumberToObject(o, "start", (double)x->start_ms);
		cJSON_AddNumberToObject(o, "vto", (double)x->p.valid_to_ms);
		cJSON_AddNumberToObject(o, "dur", x->p.duration_s);
		pe = cJSON_AddArrayToObject(o, "periods");
		for (int k = 0; k < x->p.nperiods; k++) {
			cJSON *t = cJSON_CreateArray();
			cJSON_AddItemToArray(t, cJSON_CreateNumber(x->p.periods[k].start_s));
			cJSON_AddItemToArray(t, cJSON_CreateNumber(x->p.periods[k].limit));
			cJSON_AddItemToArray(t, cJSON_CreateNumber(x->p.periods[k].phases));
			cJSON_AddItemToArray(pe, t);
		}
		cJSON_AddItemToArray(arr, o);
	}
	text = json_print(arr, NULL);
	cJSON_Delete(arr);
	if (text == NULL)
		abort();
	return text;
}

int
uplink_profiles_load(struct uplink_profiles *ps, const char *text)
{
	cJSON *arr = cJSON_Parse(text), *o;
	int i = 0;

	if (arr == NULL)
		return 0;
	memset(ps->profs, 0, sizeof ps->profs);
	cJSON_ArrayForEach(o, arr) {
		struct prof *x;
		const cJSON *pe, *t;

		if (i >= UPLINK_MAX_PROFILES)
			break;
		x = &ps->profs[i++];
		x->used = true;
		x->number = json_int(o, "n", 0);
		x->p.id = json_int(o, "id", 0);
		x->p.stack_level = json_int(o, "sl", 0);
		x->p.purpose = (enum ocpp_purpose)json_int(o, "pu", 0);
		x->p.unit = (enum ocpp_unit)json_int(o, "unit", 0);
		x->start_ms = (int64_t)json_num(o, "start", 0);
		x->p.valid_to_ms = (int64_t)json_num(o, "vto", 0);
		x->p.duration_s = json_int(o, "dur", 0);
		pe = cJSON_GetObjectItemCaseSensitive(o, "periods");
		cJSON_ArrayForEach(t, pe) {
			struct ocpp_period *q;
			if (x->p.nperiods >= OCPP_MAX_PERIODS ||
			    cJSON_GetArraySize(t) != 3)
				break;
			q = &x->p.periods[x->p.nperiods++];
			q->start_s = cJSON_GetArrayItem(t, 0)->valueint;
			q->limit = cJSON_GetArrayItem(t, 1)->valuedouble;
			q->phases = cJSON_GetArrayItem(t, 2)->valueint;
		}
		if (x->p.nperiods == 0)
			x->used = false;
	}
	cJSON_Delete(arr);
	return i;
}
