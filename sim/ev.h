/*
 * ev — the car on a simulated charger: a battery, what it may draw, how
 * it answers a change of the current offered. Pure: no I/O, no clock (the
 * caller passes the elapsed time), no randomness (the caller draws the
 * car's parameters).
 *
 * A real car does not follow its offer exactly:
 *   - it ramps up: after the offer rises it takes a few seconds to reach
 *     it (ramp_a_per_s; a car that was not drawing starts at 6 A), but it drops at once when the offer falls (a car
 *     must follow a lower PWM duty cycle within seconds; here within the
 *     step, so that the simulator never draws more than offered);
 *   - it tapers near full: above taper_soc the current falls linearly to
 *     the 6 A minimum at 100 %;
 *   - its own charger may take less than the EVSE offers (max_a);
 *   - a 1-phase car on a 3-phase EVSE draws on the first phase only;
 *   - below 6 A offered it pauses (IEC 61851-1: no charging below 6 A).
 */
#ifndef SITEGATE_SIM_EV_H
#define SITEGATE_SIM_EV_H

#include <stdbool.h>

#define EV_MIN_A 6.0

struct ev_params {
	double battery_kwh;	/* usable capacity */
	double soc, target_soc;	/* 0..1 at arrival; it leaves when reached */
	double max_a;		/* its on-board charger's maximum per phase */
	int phases;		/* 1 or 3 */
	double ramp_a_per_s;	/* how fast it follows a rising offer */
	double taper_soc;	/* the current falls from here on */
	double voltage_v;	/* phase voltage */
};

struct ev {
	struct ev_params p;
	double soc;
	double draw_a;		/* per phase it uses, right now */
	double energy_wh;	/* delivered since arrival */
};

/* Start a car with parameters p (copied; out-of-range values clamped). */
void ev_init(struct ev *ev, const struct ev_params *p);

/* What the car would draw per phase if offered `offered_a` forever: its
 * own maximum and its taper applied, 0 below EV_MIN_A. */
double ev_wants(const struct ev *ev, double offered_a);

/* Advance dt_s seconds under an offer of offered_a per phase on
 * `offered_phases` phases (the car uses min(its phases, those)): the
 * draw moves toward ev_wants() (up at the ramp rate, down at once) and
 * the battery fills. Returns the draw per phase afterwards. */
double ev_step(struct ev *ev, double offered_a, int offered_phases,
    double dt_s);

/* The phases the car draws on under an offer on offered_phases. */
int ev_phases(const struct ev *ev, int offered_phases);

/* The car has reached its target state of charge. */
bool ev_full(const struct ev *ev);

#endif
