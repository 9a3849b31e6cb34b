/*
 * trend — the site's current per grid phase over the last hour, for the
 * installer's page (GET /api/trend in docs/web.md): one point per
 * interval with the effective limit, what was allocated and what was
 * measured.
 *
 * A ring of a fixed number of points (360 at 10 s: an hour), 80 bytes
 * each, allocated once. Pure bookkeeping: the caller samples (control
 * does, on a timer, and at its first allocation so that the page has a
 * point at once) and passes the time.
 */
#ifndef SITEGATE_TREND_H
#define SITEGATE_TREND_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct trend;

struct trend_point {
	int64_t time_ms;		/* wall clock, ms since the epoch */
	double limit_a[3];		/* per grid phase */
	double allocated_a[3];
	double measured_a[3];
};

/* A ring of capacity points (at least 1), sampled every interval_s (for
 * the document). Never NULL. */
struct trend *trend_new(size_t capacity, int interval_s);

/* Free. NULL is a no-op. */
void trend_free(struct trend *t);

/* Add a point (copied), dropping the oldest when full. */
void trend_add(struct trend *t, const struct trend_point *p);

/* Points held. */
size_t trend_count(const struct trend *t);

/* {"interval_s": n, "points": [{"time", "limit_a", "allocated_a",
 * "measured_a"}]}, oldest first (a chart's order), values rounded to
 * 0.1 A. The caller owns the tree. */
cJSON *trend_json(const struct trend *t);

#endif
