/*
 * summary — the live summary and the JSON lines (see summary.h). The
 * terminal block is redrawn by moving the cursor up over the previous one
 * (ANSI CSI n A, then erase to the end of the screen): no curses, and a
 * scrolled-back terminal keeps what was there before the simulator ran.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sim/summary.h"
#include "util/isotime.h"
#include "util/json.h"

#define BLOCK_LINES 5

void
summary_collect(struct cp *const *cps, int n, struct summary *s)
{
	memset(s, 0, sizeof *s);
	for (int i = 0; i < n; i++) {
		const struct spec_charger *sp = cp_spec(cps[i]);
		const struct cp_stats *st = cp_stats(cps[i]);
		int grid[3], ng = spec_grid_phases(sp, grid);

		s->chargers++;
		if (sp->v == OCPP_V16)
			s->v16++;
		else
			s->v201++;
		s->booted += cp_booted(cps[i]);
		s->profiles += st->profiles;
		s->rejected += st->rejected;
		s->sessions += st->sessions;
		s->meters += st->meters;
		s->bugs += st->bugs;
		s->invalid += st->invalid;
		for (int e = 1; e <= sp->evses; e++) {
			struct cp_evse_view v;

			cp_evse_view(cps[i], e, &v);
			s->evses++;
			if (v.state == CP_EVSE_FREE)
				continue;
			s->cars++;
			s->charging += v.state == CP_EVSE_CHARGING;
			s->suspended += v.state == CP_EVSE_SUSPENDED;
			for (int p = 0; p < ng; p++)
				s->grid_a[grid[p]] += v.amps[p];
			if (v.has_limit) {
				if (s->limited == 0 || v.offered_a < s->lim_min)
					s->lim_min = v.offered_a;
				if (s->limited == 0 || v.offered_a > s->lim_max)
					s->lim_max = v.offered_a;
				s->lim_sum += v.offered_a;
				s->limited++;
			}
		}
	}
}

void
summary_print(FILE *f, bool tty, const struct summary *s, const char *url,
    double uptime_s)
{
	static bool drawn;
	char ts[ISOTIME_LEN];
	double kw = (s->grid_a[0] + s->grid_a[1] + s->grid_a[2]) * 230 / 1000;

	isotime_format(isotime_now_ms(), ts);
	if (!tty) {
		char lim[48] = "-";

		if (s->limited > 0)
			snprintf(lim, sizeof lim, "%.1f-%.1f A", s->lim_min,
			    s->lim_max);
		fprintf(f, "%.19s connected %d/%d charging %d suspended %d "
		    "L1 %.1f L2 %.1f L3 %.1f A limits %s profiles %ld "
		    "rejected %ld sessions %ld%s\n", ts, s->booted, s->chargers,
		    s->charging, s->suspended, s->grid_a[0], s->grid_a[1],
		    s->grid_a[2], lim, s->profiles, s->rejected, s->sessions,
		    s->invalid ? " INVALID-CALLS (see stderr)" : "");
		fflush(f);
		return;
	}
	if (drawn)
		fprintf(f, "\033[%dA\033[J", BLOCK_LINES);
	drawn = true;
	fprintf(f, "sitegate-sim  %s  %.8s UTC  up %.0f s\n", url, ts + 11,
	    uptime_s);
	fprintf(f, "  chargers  %d of %d connected (%d x 1.6, %d x 2.0.1); "
	    "%d cars: %d charging, %d suspended\n", s->booted, s->chargers,
	    s->v16, s->v201, s->cars, s->charging, s->suspended);
	fprintf(f, "  drawn     L1 %6.1f A   L2 %6.1f A   L3 %6.1f A   "
	    "(%.1f kW)\n", s->grid_a[0], s->grid_a[1], s->grid_a[2], kw);
	if (s->limited > 0)
		fprintf(f, "  limits    %d EVSEs with a profile: %.1f-%.1f A, "
		    "mean %.1f A\n", s->limited, s->lim_min, s->lim_max,
		    s->lim_sum / s->limited);
	else
		fprintf(f, "  limits    no EVSE with a car has a profile yet\n");
	fprintf(f, "  profiles  %ld received, %ld rejected; %ld sessions, "
	    "%ld meter values", s->profiles, s->rejected, s->sessions,
	    s->meters);
	if (s->invalid > 0)
		fprintf(f, "; %ld invalid CALLs from the gateway", s->invalid);
	fprintf(f, "%s\n", s->bugs ? "; BUGS (see stderr)" : "");
	fflush(f);
}

/* Amperes per phase, cut (not rounded) to hundredths: a draw at its
 * limit must not print above it. */
static cJSON *
amps3(const double *a)
{
	double v[3];

	for (int i = 0; i < 3; i++)
		v[i] = floor(a[i] * 100 + 1e-6) / 100;
	return cJSON_CreateDoubleArray(v, 3);
}

static const char *
state_name(enum cp_evse_state s)
{
	static const char *const n[] = { "free", "starting", "charging",
		"suspended", "stopping" };

	return n[s];
}

void
summary_json(FILE *f, struct cp *const *cps, int n, const struct summary *s)
{
	cJSON *o = cJSON_CreateObject(), *list;
	char *text;

	json_add_time(o, "t", isotime_now_ms());
	cJSON_AddNumberToObject(o, "ms", (double)isotime_now_ms());
	cJSON_AddNumberToObject(o, "chargers", s->chargers);
	cJSON_AddNumberToObject(o, "connected", s->booted);
	cJSON_AddNumberToObject(o, "charging", s->charging);
	cJSON_AddNumberToObject(o, "suspended", s->suspended);
	cJSON_AddItemToObject(o, "grid_a", amps3(s->grid_a));
	cJSON_AddNumberToObject(o, "profiles", (double)s->profiles);
	cJSON_AddNumberToObject(o, "rejected", (double)s->rejected);
	cJSON_AddNumberToObject(o, "sessions", (double)s->sessions);
	cJSON_AddNumberToObject(o, "bugs", (double)s->bugs);
	cJSON_AddNumberToObject(o, "invalid", (double)s->invalid);
	list = cJSON_AddArrayToObject(o, "evses");
	for (int i = 0; i < n; i++) {
		const struct spec_charger *sp = cp_spec(cps[i]);

		for (int e = 1; e <= sp->evses; e++) {
			struct cp_evse_view v;
			cJSON *j = cJSON_CreateObject();

			cp_evse_view(cps[i], e, &v);
			cJSON_AddStringToObject(j, "charger", sp->id);
			cJSON_AddNumberToObject(j, "evse", e);
			cJSON_AddStringToObject(j, "state", state_name(v.state));
			cJSON_AddItemToObject(j, "amps", amps3(v.amps));
			cJSON_AddNumberToObject(j, "phases", sp->phases);
			cJSON_AddNumberToObject(j, "offered_a",
			    (double)(long)(v.offered_a * 10 + 0.5) / 10);
			cJSON_AddItemToArray(list, j);
		}
	}
	text = json_print(o, NULL);
	if (text != NULL)
		fprintf(f, "%s\n", text);
	fflush(f);
	free(text);
	cJSON_Delete(o);
}
