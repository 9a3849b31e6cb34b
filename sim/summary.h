/*
 * summary — what the simulated site is doing, for people and programs:
 * the totals over every charger (summary_collect), a compact block that
 * refreshes in place on a terminal or one line per period elsewhere
 * (summary_print), and one JSON line with every EVSE (summary_json) that
 * a test reads.
 *
 * Grid phases: each charger's phases are put on the grid through its
 * phase rotation (spec_grid_phases: "L2L3L1", else L1L2L3, a 1-phase
 * charger on L1), as the gateway's configuration does, so grid_a is what
 * the site's meter would read for the cars.
 */
#ifndef SITEGATE_SIM_SUMMARY_H
#define SITEGATE_SIM_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "sim/cp.h"

struct summary {
	int chargers, v16, v201, booted;
	int evses, cars, charging, suspended;
	double grid_a[3];		/* drawn, per grid phase */
	int limited;			/* EVSEs with a car and a profile */
	double lim_min, lim_max, lim_sum;	/* their offers, A */
	long profiles, rejected, sessions, meters, bugs, invalid;
};

/* The totals over cps[0..n). */
void summary_collect(struct cp *const *cps, int n, struct summary *s);

/* Print the totals: on a terminal (tty true) a block that overwrites the
 * previous one; else one line. uptime_s and url head the block. */
void summary_print(FILE *f, bool tty, const struct summary *s,
    const char *url, double uptime_s);

/* One JSON line: the time, the totals and every EVSE (charger, evse,
 * state, amps on the charger's phases, grid phases, offer). */
void summary_json(FILE *f, struct cp *const *cps, int n,
    const struct summary *s);

#endif
