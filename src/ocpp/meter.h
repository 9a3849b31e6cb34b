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
 */
#ifndef SITEGATE_OCPP_METER_H
#define SITEGATE_OCPP_METER_H

#include <stdbool.h>

#include "site/site.h"

struct meter_sample {
	const char *measurand;	/* NULL: the default */
	const char *phase;	/* NULL: none */
	const char *unit;	/* NULL: the measurand's default unit */
	int multiplier;		/* 10^multiplier; 0 for 1.6 */
	double value;
};

/* Fold s into r (setting r->have bits). Returns true when the sample was
 * used, false when its measurand, unit or phase is not one we keep. */
bool meter_apply(struct site_reading *r, const struct meter_sample *s);

/* Per-phase Current.Import without a phase: call once after all samples of
 * a reading were applied. */
void meter_finish(struct site_reading *r);

#endif
