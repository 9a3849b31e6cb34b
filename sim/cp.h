/*
 * cp — one simulated charger on the gateway's own WebSocket client and
 * OCPP-J layer (transport/ws, transport/rpc), OCPP 1.6J or 2.0.1, as a
 * real one behaves:
 *
 *   connect (HTTP Basic when it has a password; again every few seconds
 *   when refused or dropped) -> BootNotification (again after the
 *   interval when Pending or Rejected; once Accepted, a Heartbeat at the
 *   interval) -> every EVSE Available ->
 *   capability discovery answered from its configuration store (its
 *   quirks show there) -> sessions as the owner plugs cars in:
 *
 *     1.6:   Preparing, Authorize, StartTransaction, Charging,
 *            MeterValues ..., StopTransaction, Finishing, Available
 *     2.0.1: Occupied, Authorize, TransactionEvent Started (Charging),
 *            TransactionEvent Updated (meter values, charging state) ...,
 *            TransactionEvent Ended, Available
 *
 * Charging profiles are installed as OCPP says (sim/prof) and give each
 * EVSE its offer; the car (sim/ev) follows it: a lower offer applies as
 * soon as the profile is accepted, a higher one ramps.
 *
 * Quirks (sim/spec.h): reject_tx_profile, w_only (discovery says W, A
 * schedules are rejected), stack_level_0 (maximum stack level 0),
 * ignore_number_phases.
 *
 * Every message this charger sends and every answer it gives is checked
 * against the OCPP schema first; a failure is a bug here, counted in
 * cp_stats.bugs and printed to stderr.
 *
 * Ownership: cp_new() copies the spec and the strings of its options;
 * the handler table and the event base must outlive every cp. cp_free()
 * closes the connection (never call it from the cp's own callbacks).
 */
#ifndef SITEGATE_SIM_CP_H
#define SITEGATE_SIM_CP_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>

#include "sim/ev.h"
#include "sim/spec.h"
#include "transport/rpc.h"

struct cp;

enum cp_err {
	CP_OK = 0,
	CP_E_ARG = -1,		/* no such EVSE */
	CP_E_STATE = -2,	/* not booted, or the EVSE is not free */
};

struct cp_opts {
	const char *url;		/* ws://host:port/path (no identity) */
	double voltage_v;		/* phase voltage (230) */
	const char *id_tag;		/* what the cars present */
	int reconnect_s;		/* after a refusal or a drop (5) */
	bool verbose;			/* print every SetChargingProfile */
};

/* What one EVSE is doing. */
enum cp_evse_state {
	CP_EVSE_FREE = 0,	/* no car */
	CP_EVSE_STARTING,	/* plugged, authorizing, starting */
	CP_EVSE_CHARGING,	/* transaction running, car drawing */
	CP_EVSE_SUSPENDED,	/* transaction running, car drawing nothing */
	CP_EVSE_STOPPING,	/* stopping the transaction, unplugging */
};

struct cp_evse_view {
	enum cp_evse_state state;
	double offered_a;	/* the limit in force, A per phase */
	bool has_limit;		/* some profile gave it (not hardware) */
	double amps[3];		/* drawn per charger phase */
	double soc;		/* of the car, 0..1 (0 without one) */
};

struct cp_stats {
	long profiles, rejected;	/* SetChargingProfile received, refused */
	long sessions, meters, bugs;
	long invalid;			/* CALLs from the gateway off-schema */
	long connects, drops;
};

/* The handler table every cp uses (one per program; rpc_handlers_free()
 * it after the last cp_free()). NULL when out of memory. */
struct rpc_handlers *cp_handlers_new(void);

/* A charger for spec (copied), not connected yet. */
struct cp *cp_new(struct event_base *base, const struct rpc_handlers *h,
    const struct spec_charger *spec, const struct cp_opts *opts);

/* Start connecting (and keep reconnecting until cp_free). */
void cp_start(struct cp *cp);

/* Close the connection and free everything. NULL is a no-op. */
void cp_free(struct cp *cp);

/* Plug a car into EVSE evse (1-based) when it is free and the charger is
 * booted: the session starts. Returns CP_OK, CP_E_ARG, or CP_E_STATE
 * (try again later). */
int cp_plug(struct cp *cp, int evse, const struct ev_params *car);

/* The car on evse leaves: the session ends (if any) and it unplugs. */
void cp_unplug(struct cp *cp, int evse);

/* Advance the cars by dt_s (drawing what their offers allow); ends the
 * session of a car that is full. Called by the owner's clock. */
void cp_tick(struct cp *cp, double dt_s);

bool cp_booted(const struct cp *cp);
const struct spec_charger *cp_spec(const struct cp *cp);
void cp_evse_view(const struct cp *cp, int evse, struct cp_evse_view *out);
const struct cp_stats *cp_stats(const struct cp *cp);

#endif
