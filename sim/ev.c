/*
 * ev — the car model (see ev.h). The taper is the shape of a typical AC
 * charge: constant current up to taper_soc, then a straight line down to
 * EV_MIN_A at 100 %. Real curves differ per car; what matters to a
 * gateway is that the draw falls below the offer without being asked.
 */
#include "sim/ev.h"

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

void
ev_init(struct ev *ev, const struct ev_params *p)
{
	ev->p = *p;
	ev->p.battery_kwh = clamp(p->battery_kwh, 1, 500);
	ev->p.soc = clamp(p->soc, 0, 1);
	ev->p.target_soc = clamp(p->target_soc, ev->p.soc, 1);
	ev->p.max_a = clamp(p->max_a, EV_MIN_A, 80);
	ev->p.phases = p->phases == 1 ? 1 : 3;
	ev->p.ramp_a_per_s = p->ramp_a_per_s > 0 ? p->ramp_a_per_s : 1000;
	ev->p.taper_soc = clamp(p->taper_soc, 0.5, 1);
	ev->p.voltage_v = p->voltage_v > 0 ? p->voltage_v : 230;
	ev->soc = ev->p.soc;
	ev->draw_a = 0;
	ev->energy_wh = 0;
}

double
ev_wants(const struct ev *ev, double offered_a)
{
	double cap = ev->p.max_a;

	if (ev_full(ev) || offered_a < EV_MIN_A - 1e-9)
		return 0;
	if (ev->soc > ev->p.taper_soc) {
		double f = (1.0 - ev->soc) / (1.0 - ev->p.taper_soc);

		cap = EV_MIN_A + (cap - EV_MIN_A) * clamp(f, 0, 1);
	}
	return offered_a < cap ? offered_a : cap;
}

int
ev_phases(const struct ev *ev, int offered_phases)
{
	return ev->p.phases < offered_phases ? ev->p.phases : offered_phases;
}

double
ev_step(struct ev *ev, double offered_a, int offered_phases, double dt_s)
{
	double want = ev_wants(ev, offered_a);
	double up;

	if (dt_s < 0)
		dt_s = 0;
	up = ev->p.ramp_a_per_s * dt_s;
	/* Energy at the draw held during the step, before it changes. */
	if (ev->draw_a > 0) {
		double wh = ev->draw_a * ev->p.voltage_v *
		    ev_phases(ev, offered_phases) * dt_s / 3600.0;

		ev->energy_wh += wh;
		ev->soc = clamp(ev->soc + wh / (ev->p.battery_kwh * 1000.0), 0,
		    1);
	}
	if (want <= ev->draw_a) {
		ev->draw_a = want;		/* down at once */
	} else {
		/* Up from where it is, or from the minimum it starts at. */
		double from = ev->draw_a < EV_MIN_A ? EV_MIN_A : ev->draw_a;

		ev->draw_a = from + up < want ? from + up : want;
	}
	return ev->draw_a;
}

bool
ev_full(const struct ev *ev)
{
	return ev->soc >= ev->p.target_soc - 1e-9;
}
