/*
 * meter — one sampled meter value, as both OCPP versions describe it,
 * folded into a site_reading in normalised units.
 *
 * Measurands used: Current.Import (A, per phase), Current.Offered (A),
 * Power.Active.Import (W), Energy.Active.Import.Register (Wh), Voltage (V,
 * per phase), SoC (%). Others are counted but not kept. Units are converted
 * (kW -> W, kWh -> Wh) with the 2.0.1 multiplier (a power of ten) applied.
 * Phases: L1, L2, L3, L1-N, L2-N, L3-N map to the charger's phase 1..3; N
 * and line-to-line voltages are ignored. A Current.Import without a phase
 * means "each phase" only when the same reading has no per-phase current.
 * The measurand defaults to Energy.Active.Import.Register, as OCPP says.
 *
 * Bounds: a value, once the multiplier and the unit are applied, must be
 * finite and at most METER_MAX in magnitude (1e15: A, W, Wh, V or % alike,
 * the bound the schema puts on every decimal number; for energy, a
 * terawatt-hour register a thousand times over), and an import energy
 * register must not be negative (the model reads a negative register as
 * "not given"). A sample out of these is refused, not skipped: the decoder
 * answers a property violation naming it.
 */
#ifndef SITEGATE_OCPP_METER_H
#define SITEGATE_OCPP_METER_H

#include <stdbool.h>

#include "types/neutral.h"

#define METER_MAX 1e15		/* see the bounds above */

struct meter_sample {
	const char *measurand;	/* NULL: the default */
	const char *phase;	/* NULL: none */
	const char *unit;	/* NULL: the measurand's default unit */
	int multiplier;		/* 10^multiplier; 0 for 1.6 */
	double value;
};

enum meter_use {
	METER_OUT_OF_RANGE = -1,	/* refused: see the bounds above */
	METER_SKIPPED = 0,		/* a measurand, unit or phase not kept */
	METER_USED = 1,
};

/* Fold s into r (setting r->have bits). Returns METER_USED, METER_SKIPPED
 * (r unchanged), or METER_OUT_OF_RANGE (r unchanged; *value, when value is
 * not NULL, receives the normalised value that broke the bounds, for the
 * refusal's text, and *unit its unit). */
enum meter_use meter_apply(struct site_reading *r, const struct meter_sample *s,
    double *value, const char **unit);

/* Read a 1.6 meter value, a string: a decimal number and nothing else,
 * [+-] digits [. digits] [(e|E) [+-] digits], with digits on at least one
 * side of the point. No spaces, no hexadecimal, no NaN or infinity, no
 * value beyond a double (a finite one that underflows reads as 0). Returns
 * 0 with *out set, or -1 (*out unchanged). */
int meter_parse_decimal(const char *text, double *out);

/* Per-phase Current.Import without a phase: call once after all samples of
 * a reading were applied. */
void meter_finish(struct site_reading *r);

#endif
