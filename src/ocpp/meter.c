/*
 * meter — see meter.h.
 */
#include "ocpp/meter.h"

#include <math.h>
#include <stdlib.h>
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

/* Where a sample goes in a reading. */
enum what {
	W_SKIP = 0,
	W_CURRENT_ALL,		/* Current.Import without a phase */
	W_CURRENT,		/* ... of phase ph */
	W_OFFERED,
	W_POWER,
	W_ENERGY,
	W_VOLTAGE,
	W_SOC,
};

/* Which part of a reading s is, its value normalised into *v and the unit
 * of that into *unit (the sample's own when skipped). */
static enum what
classify(const struct meter_sample *s, int ph, double *v, const char **unit)
{
	const char *m = s->measurand ? s->measurand :
	    "Energy.Active.Import.Register";

	*unit = s->unit ? s->unit : "";
	if (strcmp(m, "Current.Import") == 0 && unit_is(s->unit, "A", "A")) {
		*unit = "A";
		return s->phase == NULL ? W_CURRENT_ALL : ph >= 0 ? W_CURRENT :
		    W_SKIP;
	}
	if (strcmp(m, "Current.Offered") == 0 && unit_is(s->unit, "A", "A")) {
		*unit = "A";
		return W_OFFERED;
	}
	if (strcmp(m, "Power.Active.Import") == 0 && s->phase == NULL) {
		if (unit_is(s->unit, "kW", "W"))
			*v *= 1000;
		else if (!unit_is(s->unit, "W", "W"))
			return W_SKIP;
		*unit = "W";
		return W_POWER;
	}
	if (strcmp(m, "Energy.Active.Import.Register") == 0 && s->phase == NULL) {
		if (unit_is(s->unit, "kWh", "Wh"))
			*v *= 1000;
		else if (!unit_is(s->unit, "Wh", "Wh"))
			return W_SKIP;
		*unit = "Wh";
		return W_ENERGY;
	}
	if (strcmp(m, "Voltage") == 0 && unit_is(s->unit, "V", "V")) {
		*unit = "V";
		return ph >= 0 ? W_VOLTAGE : W_SKIP;
	}
	if (strcmp(m, "SoC") == 0 && unit_is(s->unit, "Percent", "Percent")) {
		*unit = "Percent";
		return W_SOC;
	}
	return W_SKIP;
}

enum meter_use
meter_apply(struct site_reading *r, const struct meter_sample *s,
    double *value, const char **unit)
{
	double v = s->value * pow(10, s->multiplier);
	int ph = phase_index(s->phase);
	const char *u;
	enum what w = classify(s, ph, &v, &u);

	/* Every sample, kept or not: a meter that reports 1e300 of anything
	 * is not to be believed about the rest of the message. A multiplier
	 * of 400 gives an infinity (or NaN for 0) and lands here too. */
	if (!isfinite(v) || fabs(v) > METER_MAX || (w == W_ENERGY && v < 0)) {
		if (value != NULL)
			*value = v;
		if (unit != NULL)
			*unit = u;
		return METER_OUT_OF_RANGE;
	}
	switch (w) {
	case W_CURRENT_ALL:
		/* Stands for every phase unless a per-phase value comes too;
		 * see meter_finish(). */
		if (!(r->have & SITE_HAVE_CURRENT))
			r->current_a[0] = r->current_a[1] = r->current_a[2] = v;
		r->have |= HAVE_UNPHASED_CURRENT;
		return METER_USED;
	case W_CURRENT:
		if (!(r->have & SITE_HAVE_CURRENT))
			r->current_a[0] = r->current_a[1] = r->current_a[2] = 0;
		r->current_a[ph] = v;
		r->have |= SITE_HAVE_CURRENT;
		return METER_USED;
	case W_OFFERED:
		r->offered_a = v;
		r->have |= SITE_HAVE_OFFERED;
		return METER_USED;
	case W_POWER:
		r->power_w = v;
		r->have |= SITE_HAVE_POWER;
		return METER_USED;
	case W_ENERGY:
		r->energy_wh = v;
		r->have |= SITE_HAVE_ENERGY;
		return METER_USED;
	case W_VOLTAGE:
		r->voltage_v[ph] = v;
		r->have |= SITE_HAVE_VOLTAGE;
		return METER_USED;
	case W_SOC:
		r->soc_pct = v;
		r->have |= SITE_HAVE_SOC;
		return METER_USED;
	case W_SKIP:
	default:
		return METER_SKIPPED;
	}
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
meter_parse_decimal(const char *text, double *out)
{
	const char *p = text;
	size_t digits = 0;
	double v;

	if (*p == '+' || *p == '-')
		p++;
	for (; is_digit(*p); p++)
		digits++;
	if (*p == '.')
		for (p++; is_digit(*p); p++)
			digits++;
	if (digits == 0)
		return -1;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return -1;
		while (is_digit(*p))
			p++;
	}
	if (*p != '\0')
		return -1;
	/* Only a decimal number reaches strtod, so its hexadecimal, "inf"
	 * and "nan" forms and its leading blanks cannot; the gateway never
	 * sets a locale, so the point is '.'. What is left to go wrong is a
	 * magnitude no double holds. */
	v = strtod(text, NULL);
	if (!isfinite(v))
		return -1;
	*out = v;
	return 0;
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
