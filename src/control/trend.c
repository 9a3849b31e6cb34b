/*
 * trend — see trend.h. A plain ring of points.
 */
#include "control/trend.h"

#include <stdlib.h>

#include "util/json.h"
#include "util/xalloc.h"

struct trend {
	struct trend_point *p;
	size_t cap, count, next;	/* next: the slot the next point takes */
	int interval_s;
};

struct trend *
trend_new(size_t capacity, int interval_s)
{
	struct trend *t = xcalloc(1, sizeof *t);

	t->cap = capacity ? capacity : 1;
	t->p = xcalloc(t->cap, sizeof *t->p);
	t->interval_s = interval_s;
	return t;
}

void
trend_free(struct trend *t)
{
	if (t == NULL)
		return;
	free(t->p);
	free(t);
}

void
trend_add(struct trend *t, const struct trend_point *p)
{
	t->p[t->next] = *p;
	t->next = (t->next + 1) % t->cap;
	if (t->count < t->cap)
		t->count++;
}

size_t
trend_count(const struct trend *t)
{
	return t->count;
}

cJSON *
trend_json(const struct trend *t)
{
	cJSON *doc = cJSON_CreateObject(), *pts;
	size_t at = (t->next + t->cap - t->count) % t->cap;

	cJSON_AddNumberToObject(doc, "interval_s", t->interval_s);
	pts = cJSON_AddArrayToObject(doc, "points");
	for (size_t i = 0; i < t->count; i++, at = (at + 1) % t->cap) {
		const struct trend_point *p = &t->p[at];
		cJSON *o = cJSON_CreateObject();

		json_add_time(o, "time", p->time_ms);
		cJSON_AddItemToObject(o, "limit_a", json_tenths3(p->limit_a));
		cJSON_AddItemToObject(o, "allocated_a", json_tenths3(p->allocated_a));
		cJSON_AddItemToObject(o, "measured_a", json_tenths3(p->measured_a));
		cJSON_AddItemToArray(pts, o);
	}
	return doc;
}
