/*
 * meter — see meter.h.
 */
#include "ocpp/meter.h"

#include <math.h>
#include <string.h>

/* Charger phase index (0..2) for L1..L3 and L1-N..L3-N, else -1. */
static int
phase_index(const char *p)
{
	if (p == NULL || p[0] != 'L' || p[1] < '1' || p[1] > '3')
		return -1;
	if (p[2] == '\0' || strcmp(p + 2, "-N") == 0)
		return p[1] - '1';
	return -1;
}

static bool
unit_is(const char *unit, const char *want, const char *dflt)
{
	return strcmp(unit ? unit : dflt, want) == 0;
}

/* A reading holds an unphased Current.Import until meter_finish(). */
#define HAVE_UNPHASED_CURRENT (1u << 15)

bool
meter_apply(struct site_reading *r, const struct meter_sample *s)
{
	const char *m = s->measurand ? s->measurand :
	    "Energy.Active.Import.Register";
	double v = s->value * pow(10, s->multiplier);
	int ph = phase_index(s->phase);

	if (!isfinite(v))
		return false;
	if (strcmp(m, "Current.Import") == 0 && unit_is(s->unit, "A", "A")) {
		if (s->phase == NULL) {
			/* Stands for every phase unless a per-phase value
			 * comes too; see meter_finish(). */
			if (!(r->have & SITE_HAVE_CURRENT))
				r->current_a[0] = r->current_a[1] =
				    r->current_a[2] = v;
			r->have |= HAVE_UNPHASED_CURRENT;
			return true;
		}
		if (ph < 0)
			return false;
		if (!(r->have & SITE_HAVE_CURRENT))
			r->current_a[0] = r->current_a[1] = r->current_a[2] = 0;
		r->current_a[ph] = v;
		r->have |= SITE_HAVE_CURRENT;
		return true;
	}
	if (strcmp(m, "Current.Offered") == 0 && unit_is(s->unit, "A", "A")) {
		r->offered_a = v;
		r->have |= SITE_HAVE_OFFERED;
		return true;
	}
	if (strcmp(m, "Power.Active.Import") == 0 && s->phase == NULL) {
		if (unit_is(s->unit, "kW", "W"))
			v *= 1000;
		else if (!unit_is(s->unit, "W", "W"))
			return false;
		r->power_w = v;
		r->have |= SITE_HAVE_POWER;
		return true;
	}
	if (strcmp(m, "Energy.Active.Import.Register") == 0 && s->phase == NULL) {
		if (unit_is(s->unit, "kWh", "Wh"))
			v *= 1000;
		else if (!unit_is(s->unit, "Wh", "Wh"))
			return false;
		r->energy_wh = v;
		r->have |= SITE_HAVE_ENERGY;
		return true;
	}
	if (strcmp(m, "Voltage") == 0 && unit_is(s->unit, "V", "V")) {
		if (ph < 0)
			return false;
		r->voltage_v[ph] = v;
		r->have |= SITE_HAVE_VOLTAGE;
		return true;
	}
	if (strcmp(m, "SoC") == 0 && unit_is(s->unit, "Percent", "Percent")) {
		r->soc_pct = v;
		r->have |= SITE_HAVE_SOC;
		return true;
	}
	return false;
}

void
meter_finish(struct site_reading *r)
{
	/* Per-phase values won over an unphased one if both came; an unphased
	 * one alone stands for every phase (already copied). */
	if (r->have & HAVE_UNPHASED_CURRENT)
		r->have |= SITE_HAVE_CURRENT;
	r->have &= ~HAVE_UNPHASED_CURRENT;
}
